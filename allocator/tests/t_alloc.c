/* t_alloc.c — routing by size (facts §4.1, §4.2, §4.9), calloc (§4.8),
 * block accounting (§3.7, C4) and several heaps in one process.
 */
#include "testutil.h"

/* facts §4.2: 1..512 comes from a pool of class (n-1) >> shift, aligned. */
START_TEST(t_alloc_small_sizes_from_pools)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    void **held = calloc(513, sizeof(void *));
    ck_assert_ptr_nonnull(held);
    for (size_t n = 1; n <= 512; n++) {
        void *p = obm_malloc(t.heap, n);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(obm_owns(t.heap, p), "%s: malloc(%zu) not owned",
                      t.g->name, n);
        unsigned want = (unsigned)((n - 1) >> t.g->alignment_shift);
        ck_assert_msg(pool_of(&t, p)->szidx == want,
                      "%s: malloc(%zu) in class %u, expected %u", t.g->name, n,
                      pool_of(&t, p)->szidx, want);
        ck_assert_uint_eq(obm_usable_size(t.heap, p),
                          obm_blocksize(t.g, want));
        ck_assert_uint_eq((uintptr_t)p % t.g->alignment, 0);
        memset(p, 0x5a, n);
        held[n] = p;
    }
    ck_assert_int_eq(raw_live(&t), 0);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 512);
    ck_assert_uint_eq(sum_counts(&t), 512);
    for (size_t n = 1; n <= 512; n++)
        obm_free(t.heap, held[n]);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 0);
    free(held);
    th_close(&t);
}
END_TEST

/* facts §4.2 step 2, §4.9: 513 and 0 go to the raw allocator. */
START_TEST(t_alloc_raw_boundary)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    void *small = obm_malloc(t.heap, 512);
    void *big = obm_malloc(t.heap, 513);
    void *zero = obm_malloc(t.heap, 0);
    void *zero2 = obm_malloc(t.heap, 0);
    ck_assert_ptr_nonnull(big);
    ck_assert_ptr_nonnull(zero);
    ck_assert_ptr_nonnull(zero2);
    ck_assert_ptr_ne(zero, zero2);
    ck_assert(obm_owns(t.heap, small));
    ck_assert(!obm_owns(t.heap, big));
    ck_assert(!obm_owns(t.heap, zero));
    ck_assert_uint_eq(obm_usable_size(t.heap, big), 0);
    ck_assert_uint_eq(obm_usable_size(t.heap, zero), 0);
    ck_assert_int_eq(raw_live(&t), 3);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 4);
    ck_assert_uint_eq(sum_counts(&t), 1);
    memset(big, 1, 513);
    obm_free(t.heap, big);
    ck_assert_int_eq(raw_live(&t), 2);
    obm_free(t.heap, zero);
    obm_free(t.heap, zero2);
    ck_assert_int_eq(raw_live(&t), 0);
    obm_free(t.heap, NULL); /* no-op */
    ck_assert_int_eq(raw_live(&t), 0);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 1);
    obm_free(t.heap, small);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 0);
    th_close(&t);
}
END_TEST

/* facts §4.2 step 2: sizes above PTRDIFF_MAX give NULL. */
START_TEST(t_alloc_huge_is_null)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    ck_assert_ptr_null(obm_malloc(t.heap, SIZE_MAX));
    ck_assert_ptr_null(obm_malloc(t.heap, (size_t)PTRDIFF_MAX + 1));
    ck_assert_int_eq(raw_live(&t), 0);
    ck_assert_uint_eq(narenas(&t), 0);
    th_close(&t);
}
END_TEST

/* facts §4.8: calloc zeroes a dirty re-used block. */
START_TEST(t_alloc_calloc_zeroes)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    static const size_t sizes[] = {1, 8, 24, 64, 100, 511, 512};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        size_t bs =
            obm_blocksize(t.g, (unsigned)((n - 1) >> t.g->alignment_shift));
        void *keep = obm_malloc(t.heap, n); /* keeps the pool used */
        uint8_t *p = obm_malloc(t.heap, n);
        memset(p, 0xa5, bs);
        obm_free(t.heap, p);
        uint8_t *q = obm_calloc(t.heap, 1, n);
        ck_assert_ptr_eq(q, p); /* LIFO: the dirty block */
        for (size_t j = 0; j < n; j++)
            TU_CHECK_MSG(q[j] == 0, "calloc(1, %zu) byte %zu = %#x", n, j,
                         q[j]);
        obm_free(t.heap, q);
        /* nelem * elsize form */
        uint8_t *r = obm_malloc(t.heap, n);
        memset(r, 0xff, bs);
        obm_free(t.heap, r);
        if (n % 4 == 0) {
            uint8_t *c = obm_calloc(t.heap, 4, n / 4);
            ck_assert_ptr_eq(c, r);
            for (size_t j = 0; j < n; j++)
                TU_CHECK(c[j] == 0);
            obm_free(t.heap, c);
        }
        obm_free(t.heap, keep);
    }
    /* large calloc goes raw and is zeroed */
    uint8_t *big = obm_calloc(t.heap, 100, 10);
    ck_assert_ptr_nonnull(big);
    ck_assert(!obm_owns(t.heap, big));
    for (size_t j = 0; j < 1000; j++)
        TU_CHECK(big[j] == 0);
    ck_assert_int_eq(raw_live(&t), 1);
    obm_free(t.heap, big);
    ck_assert_int_eq(raw_live(&t), 0);
    th_close(&t);
}
END_TEST

/* facts §4.8, §4.9: overflow gives NULL; zero size gives a raw block. */
START_TEST(t_alloc_calloc_edges)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    ck_assert_ptr_null(obm_calloc(t.heap, SIZE_MAX / 2 + 1, 2));
    ck_assert_ptr_null(obm_calloc(t.heap, 2, SIZE_MAX / 2 + 1));
    ck_assert_ptr_null(obm_calloc(t.heap, SIZE_MAX, SIZE_MAX));
    ck_assert_ptr_null(obm_calloc(t.heap, 1, (size_t)PTRDIFF_MAX + 1));
    ck_assert_int_eq(raw_live(&t), 0);
    void *z1 = obm_calloc(t.heap, 0, 16);
    void *z2 = obm_calloc(t.heap, 16, 0);
    ck_assert_ptr_nonnull(z1);
    ck_assert_ptr_nonnull(z2);
    ck_assert(!obm_owns(t.heap, z1));
    ck_assert(!obm_owns(t.heap, z2));
    ck_assert_int_eq(raw_live(&t), 2);
    ck_assert_uint_eq(sum_counts(&t), 0);
    obm_free(t.heap, z1);
    obm_free(t.heap, z2);
    ck_assert_int_eq(raw_live(&t), 0);
    /* small calloc comes from a pool */
    void *c = obm_calloc(t.heap, 3, 5);
    ck_assert(obm_owns(t.heap, c));
    ck_assert_uint_eq(pool_of(&t, c)->szidx, 14u >> t.g->alignment_shift);
    obm_free(t.heap, c);
    th_close(&t);
}
END_TEST

/* facts C4: allocated blocks == raw-fallback blocks + sum of counts. */
START_TEST(t_alloc_allocated_blocks)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    enum {
        N = 400
    };
    void *b[N];
    size_t nraw = 0;
    for (size_t k = 0; k < N; k++) {
        size_t n = (k * 37) % 700; /* 0 and > 512 go raw */
        b[k] = obm_malloc(t.heap, n);
        ck_assert_ptr_nonnull(b[k]);
        nraw += (n == 0 || n > 512);
    }
    ck_assert_int_eq(raw_live(&t), (ptrdiff_t)nraw);
    ck_assert_uint_eq(sum_counts(&t), N - nraw);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), N);
    size_t live = N;
    for (size_t k = 0; k < N; k += 3) {
        obm_free(t.heap, b[k]);
        b[k] = NULL;
        live--;
    }
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), live);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap),
                      (size_t)raw_live(&t) + sum_counts(&t));
    for (size_t k = 0; k < N; k++)
        obm_free(t.heap, b[k]);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 0);
    ck_assert_int_eq(raw_live(&t), 0);
    th_close(&t);
}
END_TEST

/* Two heaps of different profiles interleaved: each owns its blocks, and
 * frees into one heap leave the other's state untouched. */
START_TEST(t_alloc_two_heaps)
{
    enum obm_profile pa = (enum obm_profile)_i;
    enum obm_profile pb = (enum obm_profile)((_i + 3) % OBM_NPROFILES);
    struct th a, b;
    th_open(&a, pa);
    th_open(&b, pb);
    ck_assert_uint_ne(obm_region_base(a.region), obm_region_base(b.region));
    enum {
        N = 300
    };
    void *xa[N], *xb[N];
    for (size_t k = 0; k < N; k++) {
        size_t n = 1 + (k * 13) % 512;
        xa[k] = obm_malloc(a.heap, n);
        xb[k] = obm_malloc(b.heap, n);
        ck_assert(obm_owns(a.heap, xa[k]));
        ck_assert(obm_owns(b.heap, xb[k]));
        ck_assert_uint_eq(pool_of(&a, xa[k])->szidx,
                          (n - 1) >> a.g->alignment_shift);
        ck_assert_uint_eq(pool_of(&b, xb[k])->szidx,
                          (n - 1) >> b.g->alignment_shift);
    }
    if (b.g->ownership == OBM_OWN_RADIX)
        for (size_t k = 0; k < N; k++)
            ck_assert(!obm_owns(b.heap, xa[k]));
    ck_assert_uint_eq(obm_allocated_blocks(a.heap), N);
    ck_assert_uint_eq(obm_allocated_blocks(b.heap), N);
    size_t b_arenas = narenas(&b), b_sum = sum_counts(&b);
    for (size_t k = 0; k < N; k++)
        obm_free(a.heap, xa[k]);
    ck_assert_uint_eq(obm_allocated_blocks(a.heap), 0);
    ck_assert_uint_eq(sum_counts(&a), 0);
    ck_assert_uint_eq(narenas(&b), b_arenas);
    ck_assert_uint_eq(sum_counts(&b), b_sum);
    ck_assert_uint_eq(obm_allocated_blocks(b.heap), N);
    for (size_t k = 0; k < N; k++)
        obm_free(b.heap, xb[k]);
    ck_assert_uint_eq(obm_allocated_blocks(b.heap), 0);
    check_arena_accounting(&a);
    check_arena_accounting(&b);
    th_close(&a);
    th_close(&b);
}
END_TEST

/* A heap with the default sources (mmap arenas, libc raw) works too, and
 * its arenas follow A6 (ntotalpools by the base's pool alignment). */
START_TEST(t_alloc_default_sources)
{
    obm_heap *h = obm_heap_new((enum obm_profile)_i, NULL);
    ck_assert_ptr_nonnull(h);
    struct obm_state s;
    obm_heap_state(h, &s);
    const struct obm_geometry *g = obm_heap_geometry(h);
    void *p = obm_malloc(h, 100);
    ck_assert(obm_owns(h, p));
    const struct obm_arena *a = &(*s.arenas)[0];
    ck_assert_uint_ne(a->address, 0);
    ck_assert_uint_eq(a->ntotalpools,
                      64 - (a->address % g->pool_size != 0 ? 1 : 0));
    ck_assert_uint_le((uintptr_t)p - a->address, g->arena_size - 1);
    obm_free(h, p);
    obm_heap_free(h);
}
END_TEST

static Suite *
alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("routing");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, t_alloc_small_sizes_from_pools, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_alloc_raw_boundary, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_alloc_huge_is_null, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_alloc_calloc_zeroes, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_alloc_calloc_edges, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_alloc_allocated_blocks, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_alloc_two_heaps, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_alloc_default_sources, 0, OBM_NPROFILES);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return tu_run(alloc_suite());
}
