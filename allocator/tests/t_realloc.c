/* t_realloc.c — realloc (facts §4.7): in place while n fits the class and
 * shrinks it by less than a quarter, else move with min(block, n) bytes;
 * small to large goes raw; realloc(p, 0) moves to a raw block; a raw block
 * stays raw.
 */
#include "testutil.h"

static void
pattern_fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t k = 0; k < n; k++)
        p[k] = (uint8_t)(k * 7 + seed);
}

static void
pattern_check(const uint8_t *p, size_t n, unsigned seed)
{
    for (size_t k = 0; k < n; k++)
        TU_CHECK_MSG(p[k] == (uint8_t)(k * 7 + seed),
                     "byte %zu of %zu lost: %#x", k, n, p[k]);
}

/* Realloc a fresh block of class cls to every n in 1 .. bs + 16 and check
 * in-place versus move against 4n > 3bs, and the contents. */
static void
sweep_class(struct th *t, unsigned cls)
{
    size_t bs = obm_blocksize(t->g, cls);
    void *keep = obm_malloc(t->heap, bs); /* keeps the pool alive */
    for (size_t n = 1; n <= bs + 16; n++) {
        uint8_t *p = obm_malloc(t->heap, bs);
        pattern_fill(p, bs, (unsigned)n);
        ptrdiff_t raw0 = raw_live(t);
        unsigned count0 = pool_of(t, p)->ref.count;
        uint8_t *q = obm_realloc(t->heap, p, n);
        TU_CHECK(q != NULL);
        bool in_place = n <= bs && 4 * n > 3 * bs;
        if (in_place) {
            TU_CHECK_MSG(q == p, "%s class %u: realloc(%zu) moved", t->g->name,
                         cls, n);
            pattern_check(q, bs, (unsigned)n);
            TU_CHECK(pool_of(t, p)->ref.count == count0);
        } else {
            TU_CHECK_MSG(q != p, "%s class %u: realloc(%zu) stayed",
                         t->g->name, cls, n);
            pattern_check(q, n < bs ? n : bs, (unsigned)n);
            bool small = n <= t->g->threshold;
            TU_CHECK_MSG(obm_owns(t->heap, q) == small,
                         "%s: realloc(%zu) owned %d", t->g->name, n, !small);
            TU_CHECK(raw_live(t) == raw0 + (small ? 0 : 1));
            if (small)
                TU_CHECK(pool_of(t, q)->szidx
                         == (n - 1) >> t->g->alignment_shift);
            /* the old block went back to its pool (LIFO head) */
            if (pool_of(t, p) != pool_of(t, q))
                TU_CHECK(pool_of(t, p)->freeblock == (uint8_t *)p);
        }
        obm_free(t->heap, q);
    }
    obm_free(t->heap, keep);
    ck_assert_int_eq(raw_live(t), 0);
    ck_assert_uint_eq(obm_allocated_blocks(t->heap), 0);
}

START_TEST(t_realloc_in_place_rule)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    unsigned last = t.g->nclasses - 1;
    unsigned classes[] = {0, 1, 63u >> t.g->alignment_shift, last / 2, last};
    for (size_t k = 0; k < sizeof classes / sizeof classes[0]; k++)
        sweep_class(&t, classes[k]);
    th_close(&t);
}
END_TEST

START_TEST(t_realloc_null_is_malloc)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    void *p = obm_realloc(t.heap, NULL, 100);
    ck_assert_ptr_nonnull(p);
    ck_assert(obm_owns(t.heap, p));
    ck_assert_uint_eq(pool_of(&t, p)->szidx, 99u >> t.g->alignment_shift);
    void *r = obm_realloc(t.heap, NULL, 1000);
    ck_assert_ptr_nonnull(r);
    ck_assert(!obm_owns(t.heap, r));
    void *z = obm_realloc(t.heap, NULL, 0);
    ck_assert_ptr_nonnull(z);
    ck_assert(!obm_owns(t.heap, z));
    ck_assert_int_eq(raw_live(&t), 2);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 3);
    obm_free(t.heap, p);
    obm_free(t.heap, r);
    obm_free(t.heap, z);
    ck_assert_int_eq(raw_live(&t), 0);
    th_close(&t);
}
END_TEST

/* Small to large goes raw with the whole block copied; a raw block stays
 * raw whatever its new size (SF #1185883); freeing it returns it raw. */
START_TEST(t_realloc_small_large_small)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    void *keep = obm_malloc(t.heap, 200);
    uint8_t *p = obm_malloc(t.heap, 200);
    size_t bs = obm_usable_size(t.heap, p);
    ck_assert_uint_ge(bs, 200);
    pattern_fill(p, bs, 3);
    struct obm_pool *pool = pool_of(&t, p);
    uint8_t *big = obm_realloc(t.heap, p, 5000);
    ck_assert_ptr_nonnull(big);
    ck_assert(!obm_owns(t.heap, big));
    pattern_check(big, bs, 3);
    ck_assert_int_eq(raw_live(&t), 1);
    ck_assert_uint_eq(pool->ref.count, 1);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 2);
    memset(big + bs, 0x11, 5000 - bs);
    uint8_t *back = obm_realloc(t.heap, big, 64);
    ck_assert_ptr_nonnull(back);
    ck_assert(!obm_owns(t.heap, back)); /* never adopted by a pool */
    pattern_check(back, 64, 3);
    ck_assert_int_eq(raw_live(&t), 1);
    uint8_t *back0 = obm_realloc(t.heap, back, 0);
    ck_assert_ptr_nonnull(back0);
    ck_assert(!obm_owns(t.heap, back0));
    ck_assert_int_eq(raw_live(&t), 1);
    obm_free(t.heap, back0);
    ck_assert_int_eq(raw_live(&t), 0);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 1);
    obm_free(t.heap, keep);
    th_close(&t);
}
END_TEST

/* realloc(p, 0) moves a pool block to a raw (non-NULL) block. */
START_TEST(t_realloc_to_zero)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    void *keep = obm_malloc(t.heap, 48);
    void *p = obm_malloc(t.heap, 48);
    struct obm_pool *pool = pool_of(&t, p);
    void *q = obm_realloc(t.heap, p, 0);
    ck_assert_ptr_nonnull(q);
    ck_assert_ptr_ne(q, p);
    ck_assert(!obm_owns(t.heap, q));
    ck_assert_int_eq(raw_live(&t), 1);
    ck_assert_uint_eq(pool->ref.count, 1);
    ck_assert_ptr_eq(pool->freeblock, p);
    obm_free(t.heap, q);
    obm_free(t.heap, keep);
    ck_assert_int_eq(raw_live(&t), 0);
    th_close(&t);
}
END_TEST

/* A realloc that would need more than PTRDIFF_MAX fails and leaves p. */
START_TEST(t_realloc_huge_fails_keeps_block)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    uint8_t *p = obm_malloc(t.heap, 40);
    pattern_fill(p, 40, 9);
    ck_assert_ptr_null(obm_realloc(t.heap, p, (size_t)PTRDIFF_MAX + 1));
    ck_assert(obm_owns(t.heap, p));
    ck_assert_uint_eq(pool_of(&t, p)->ref.count, 1);
    pattern_check(p, 40, 9);
    ck_assert_int_eq(raw_live(&t), 0);
    obm_free(t.heap, p);
    th_close(&t);
}
END_TEST

static Suite *
realloc_suite(void)
{
    Suite *s = suite_create("realloc");
    TCase *tc = tcase_create("realloc");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, t_realloc_in_place_rule, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_realloc_null_is_malloc, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_realloc_small_large_small, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_realloc_to_zero, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_realloc_huge_fails_keeps_block, 0,
                        OBM_NPROFILES);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return tu_run(realloc_suite());
}
