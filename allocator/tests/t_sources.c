/* t_sources.c — arena sources: the deterministic region, the offset mmap
 * source (63- vs 64-pool arenas, facts §2.1 notes, §4.4 step 5, A6) and the
 * faulty wrapper (new_arena failure falls back to raw, §4.2 step 6, §4.4).
 */
#include "testutil.h"

/* Allocate arenas 0..2 full, release arena 1, allocate it again; record
 * each arena's offset from the region base at each stage. */
static void
region_offsets(enum obm_profile p, uintptr_t *base, uintptr_t off[4])
{
    struct th t;
    th_open(&t, p);
    *base = obm_region_base(t.region);
    struct fill f;
    fill_arenas(&t, &f, 3, 64);
    void *keep = obm_malloc(t.heap, 8); /* arena 3 */
    ck_assert_uint_eq(pool_of(&t, keep)->arenaindex, 3);
    for (unsigned a = 0; a < 4; a++)
        off[a] = arena_at(&t, a)->address - *base;
    ck_assert_uint_eq(obm_region_live(t.region), 4);
    uintptr_t old1 = arena_at(&t, 1)->address;
    for (unsigned q = 0; q < 64; q++)
        free_pool(&t, &f, 1, q); /* not the tail: released */
    ck_assert_uint_eq(arena_at(&t, 1)->address, 0);
    ck_assert_uint_eq(obm_region_live(t.region), 3);
    /* fill arena 3 (the head), then the next arena takes record 1 back
     * (LIFO) in the lowest free slot, where arena 1 was */
    size_t n = 63 * (size_t)f.nb + 1;
    void **more = calloc(n, sizeof(void *));
    ck_assert_ptr_nonnull(more);
    for (size_t k = 0; k < n; k++)
        more[k] = obm_malloc(t.heap, t.g->threshold);
    ck_assert_uint_eq(pool_of(&t, more[n - 2])->arenaindex, 3);
    ck_assert_uint_eq(pool_of(&t, more[n - 1])->arenaindex, 1);
    ck_assert_uint_eq(arena_at(&t, 1)->address, old1);
    ck_assert_uint_eq(obm_region_live(t.region), 4);
    for (size_t k = 0; k < n; k++)
        obm_free(t.heap, more[k]);
    free(more);
    obm_free(t.heap, keep);
    fill_release(&t, &f);
    th_close(&t);
}

START_TEST(t_sources_region_determinism)
{
    enum obm_profile p = (enum obm_profile)_i;
    uintptr_t base1, base2, off1[4], off2[4];
    region_offsets(p, &base1, off1);
    region_offsets(p, &base2, off2);
    ck_assert_uint_eq(base1, base2); /* re-created after free: same base */
    for (int a = 0; a < 4; a++) {
        ck_assert_uint_eq(off1[a], off2[a]);
        ck_assert_uint_eq(off1[a] % (1u << 20), 0); /* default 1 MiB slots */
    }
    ck_assert_uint_lt(off1[0], off1[1]); /* lowest free slot first */
    ck_assert_uint_lt(off1[1], off1[2]);
    ck_assert_uint_lt(off1[2], off1[3]);
    /* two regions alive at once serve the same offsets */
    struct obm_region_config cfg = {0};
    struct obm_region *r1 = obm_region_new(&cfg), *r2 = obm_region_new(&cfg);
    ck_assert_ptr_nonnull(r1);
    ck_assert_ptr_nonnull(r2);
    ck_assert_uint_ne(obm_region_base(r1), obm_region_base(r2));
    struct obm_arena_source s1 = obm_region_source(r1);
    struct obm_arena_source s2 = obm_region_source(r2);
    size_t as = obm_geometry(p)->arena_size;
    void *x1[3], *x2[3];
    for (int k = 0; k < 3; k++) {
        x1[k] = s1.alloc(s1.ctx, as);
        x2[k] = s2.alloc(s2.ctx, as);
        ck_assert_ptr_nonnull(x1[k]);
        ck_assert_ptr_nonnull(x2[k]);
        ck_assert_uint_eq((uintptr_t)x1[k] - obm_region_base(r1),
                          (uintptr_t)x2[k] - obm_region_base(r2));
        memset(x1[k], 0xcc, 4096); /* usable memory */
    }
    ck_assert_uint_eq(obm_region_live(r1), 3);
    s1.free(s1.ctx, x1[1], as);
    ck_assert_uint_eq(obm_region_live(r1), 2);
    void *again = s1.alloc(s1.ctx, as);
    ck_assert_ptr_eq(again, x1[1]);
    obm_region_free(r1);
    obm_region_free(r2);
}
END_TEST

/* keep_pages: a released slot is served again, mapped and as it was left
 * (the caller scrubs), unless the size or the offset changed since. */
START_TEST(t_sources_region_keep_pages)
{
    struct obm_region_config cfg = {0};
    cfg.keep_pages = true;
    struct obm_region *r = obm_region_new(&cfg);
    ck_assert_ptr_nonnull(r);
    struct obm_arena_source s = obm_region_source(r);
    size_t big = 1u << 20, small = 256u << 10;
    uint8_t *a = s.alloc(s.ctx, big);
    ck_assert_ptr_nonnull(a);
    a[0] = a[big - 1] = 0xab;
    s.free(s.ctx, a, big);
    ck_assert_uint_eq(obm_region_live(r), 0);
    uint8_t *b = s.alloc(s.ctx, big);
    ck_assert_ptr_eq(b, a);
    ck_assert_uint_eq(b[0], 0xab);
    ck_assert_uint_eq(b[big - 1], 0xab);
    /* another size: mapped afresh */
    s.free(s.ctx, b, big);
    b = s.alloc(s.ctx, small);
    ck_assert_ptr_eq(b, a);
    ck_assert_uint_eq(b[0], 0);
    b[0] = 0xcd;
    s.free(s.ctx, b, small);
    /* another offset: mapped afresh at it */
    ck_assert_int_eq(obm_region_set_offset(r, 4096), 0);
    b = s.alloc(s.ctx, small);
    ck_assert_ptr_eq(b, a + 4096);
    ck_assert_uint_eq(b[0], 0);
    s.free(s.ctx, b, small);
    obm_region_free(r);
}
END_TEST

START_TEST(t_sources_region_offset)
{
    struct th t;
    th_open_offset(&t, OBM_PY311, 4096);
    void *p = obm_malloc(t.heap, 16);
    const struct obm_arena *a0 = arena_at(&t, 0);
    ck_assert_uint_eq(a0->address % (1u << 20), 4096);
    ck_assert_uint_eq(a0->ntotalpools, 63);
    ck_assert_uint_eq(a0->nfreepools, 62);
    ck_assert_uint_eq((uintptr_t)pool_of(&t, p), a0->address + 16384 - 4096);
    ck_assert_int_eq(obm_region_set_offset(t.region, 100), -1);
    ck_assert_int_eq(obm_region_set_offset(t.region, 1u << 20), -1);
    ck_assert_int_eq(obm_region_set_offset(t.region, 0), 0);
    /* use up arena 0, then the next one is pool-aligned */
    size_t nb = obm_numblocks(t.g, 31), n = 62 * nb + 1;
    void **held = calloc(n, sizeof(void *));
    ck_assert_ptr_nonnull(held);
    for (size_t k = 0; k < n; k++)
        held[k] = obm_malloc(t.heap, 512);
    ck_assert_uint_eq(pool_of(&t, held[n - 2])->arenaindex, 0);
    ck_assert_uint_eq(pool_of(&t, held[n - 1])->arenaindex, 1);
    const struct obm_arena *a1 = arena_at(&t, 1);
    ck_assert_uint_eq(a1->address % (1u << 20), 0);
    ck_assert_uint_eq(a1->ntotalpools, 64);
    for (size_t k = 0; k < n; k++)
        obm_free(t.heap, held[k]);
    free(held);
    obm_free(t.heap, p);
    th_close(&t);
}
END_TEST

/* Offset mmap cases: profile, align, offset, expected ntotalpools. */
struct offset_case {
    enum obm_profile profile;
    size_t align, offset;
    unsigned ntotalpools;
};
static const struct offset_case offset_cases[] = {
    {OBM_PY311, 16384, 4096, 63},  {OBM_PY311, 16384, 0, 64},
    {OBM_PY311, 16384, 8192, 63},  {OBM_PY310, 16384, 12288, 63},
    {OBM_PY310, 65536, 16384, 64}, {OBM_PY38, 8192, 4096, 64},
    {OBM_PY27, 4096, 0, 64},       {OBM_PY39, 65536, 4096, 64},
};
#define NOFFSET_CASES (int)(sizeof offset_cases / sizeof offset_cases[0])

/* An arena of ntotalpools pools keeps every pool inside its range, and
 * the next block after the last pool comes from a new arena. */
START_TEST(t_sources_offset_mmap)
{
    const struct offset_case *oc = &offset_cases[_i];
    struct obm_offset_mmap om = {oc->align, oc->offset};
    struct obm_arena_source src = obm_source_offset_mmap(&om);
    obm_heap *h = obm_heap_new(oc->profile, &src);
    ck_assert_ptr_nonnull(h);
    struct th t;
    memset(&t, 0, sizeof t);
    t.heap = h;
    t.g = obm_heap_geometry(h);
    obm_heap_state(h, &t.s);
    struct fill f;
    fill_arenas(&t, &f, 1, oc->ntotalpools);
    const struct obm_arena *a0 = arena_at(&t, 0);
    ck_assert_uint_eq(a0->address % oc->align, oc->offset);
    ck_assert_uint_eq(a0->ntotalpools, oc->ntotalpools);
    ck_assert_uint_eq(a0->nfreepools, 0);
    ck_assert_uint_eq((uintptr_t)a0->pool_address,
                      arena_first_pool(&t, a0)
                          + (uintptr_t)oc->ntotalpools * t.g->pool_size);
    ck_assert_uint_le((uintptr_t)a0->pool_address,
                      a0->address + t.g->arena_size);
    void *x = obm_malloc(t.heap, t.g->threshold);
    ck_assert_uint_eq(pool_of(&t, x)->arenaindex, 1);
    ck_assert_uint_eq(arena_at(&t, 1)->address % oc->align, oc->offset);
    obm_free(t.heap, x);
    fill_release(&t, &f);
    obm_heap_free(h);
}
END_TEST

/* Open a heap of profile p on a faulty wrapper around a fresh region. */
static void
open_faulty(struct th *t, struct obm_faulty_source *fs, enum obm_profile p)
{
    struct obm_region_config cfg = {0};
    memset(t, 0, sizeof *t);
    t->region = obm_region_new(&cfg);
    ck_assert_ptr_nonnull(t->region);
    fs->inner = obm_region_source(t->region);
    t->src = obm_source_faulty(fs);
    t->heap = obm_heap_new(p, &t->src);
    ck_assert_ptr_nonnull(t->heap);
    t->g = obm_heap_geometry(t->heap);
    obm_heap_state(t->heap, &t->s);
}

/* fail_at = 1, transient: the first request fails (raw fallback, record
 * back on the unused list), the second succeeds in record 0. */
START_TEST(t_sources_faulty_transient)
{
    struct obm_faulty_source fs = {.fail_at = 1, .persistent = false};
    struct th t;
    open_faulty(&t, &fs, (enum obm_profile)_i);
    void *p = obm_malloc(t.heap, 16);
    ck_assert_ptr_nonnull(p);
    ck_assert(!obm_owns(t.heap, p));
    ck_assert_int_eq(raw_live(&t), 1);
    ck_assert_uint_eq(fs.nrequests, 1);
    ck_assert_uint_eq(fs.nfailed, 1);
    ck_assert_uint_eq(narenas(&t), 0);
    ck_assert_uint_eq(*t.s.ntimes_arena_allocated, 0);
    ck_assert_uint_eq(*t.s.maxarenas, 16);
    ck_assert_ptr_eq(*t.s.unused_arena_objects, arena_at(&t, 0));
    ck_assert_ptr_null(*t.s.usable_arenas);
    check_arena_accounting(&t);
    void *q = obm_malloc(t.heap, 16);
    ck_assert(obm_owns(t.heap, q));
    ck_assert_uint_eq(pool_of(&t, q)->arenaindex, 0);
    ck_assert_uint_eq(fs.nrequests, 2);
    ck_assert_uint_eq(fs.nfailed, 1);
    ck_assert_uint_eq(narenas(&t), 1);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 2);
    check_arena_accounting(&t);
    obm_free(t.heap, p);
    ck_assert_int_eq(raw_live(&t), 0);
    obm_free(t.heap, q);
    bool keep = t.g->keep_tail_arena;
    ck_assert_uint_eq(narenas(&t), keep ? 1 : 0);
    ck_assert_uint_eq(fs.nreleased, keep ? 0 : 1);
    check_arena_accounting(&t);
    th_close(&t);
}
END_TEST

/* fail_at = 3, transient, in the middle: the record popped for the failed
 * request is the one used by the next. */
START_TEST(t_sources_faulty_middle)
{
    struct obm_faulty_source fs = {.fail_at = 3, .persistent = false};
    struct th t;
    open_faulty(&t, &fs, (enum obm_profile)_i);
    struct fill f;
    fill_arenas(&t, &f, 2, 64);
    void *r = obm_malloc(t.heap, 100); /* request 3 fails */
    ck_assert(!obm_owns(t.heap, r));
    ck_assert_uint_eq(fs.nfailed, 1);
    ck_assert_uint_eq(narenas(&t), 2);
    ck_assert_uint_eq(arena_at(&t, 2)->address, 0);
    ck_assert_ptr_eq(*t.s.unused_arena_objects, arena_at(&t, 2));
    check_arena_accounting(&t);
    void *s = obm_malloc(t.heap, 100); /* request 4 succeeds */
    ck_assert(obm_owns(t.heap, s));
    ck_assert_uint_eq(pool_of(&t, s)->arenaindex, 2);
    ck_assert_uint_eq(fs.nrequests, 4);
    ck_assert_uint_eq(*t.s.ntimes_arena_allocated, 3);
    obm_free(t.heap, r);
    obm_free(t.heap, s);
    fill_release(&t, &f);
    bool keep = t.g->keep_tail_arena;
    ck_assert_uint_eq(narenas(&t), keep ? 1 : 0);
    ck_assert_uint_eq(fs.nreleased, keep ? 2 : 3);
    ck_assert_int_eq(raw_live(&t), 0);
    check_arena_accounting(&t);
    th_close(&t);
}
END_TEST

/* fail_at = 2, persistent: every request from the second on fails, each
 * small malloc that needs an arena retries and falls back to raw. */
START_TEST(t_sources_faulty_persistent)
{
    struct obm_faulty_source fs = {.fail_at = 2, .persistent = true};
    struct th t;
    open_faulty(&t, &fs, (enum obm_profile)_i);
    struct fill f;
    fill_arenas(&t, &f, 1, 64);
    void *r[3];
    for (int k = 0; k < 3; k++) {
        r[k] = obm_malloc(t.heap, 1 + 100 * (size_t)k);
        ck_assert_ptr_nonnull(r[k]);
        ck_assert(!obm_owns(t.heap, r[k]));
    }
    ck_assert_uint_eq(fs.nrequests, 4);
    ck_assert_uint_eq(fs.nfailed, 3);
    ck_assert_int_eq(raw_live(&t), 3);
    ck_assert_uint_eq(narenas(&t), 1);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 64 * f.nb + 3);
    check_arena_accounting(&t);
    /* a freed block is re-used without asking the source */
    obm_free(t.heap, *fill_slot(&f, 0, 7, 0));
    *fill_slot(&f, 0, 7, 0) = obm_malloc(t.heap, t.g->threshold);
    ck_assert(obm_owns(t.heap, *fill_slot(&f, 0, 7, 0)));
    ck_assert_uint_eq(fs.nrequests, 4);
    for (int k = 0; k < 3; k++)
        obm_free(t.heap, r[k]);
    fill_release(&t, &f);
    bool keep = t.g->keep_tail_arena;
    ck_assert_uint_eq(narenas(&t), keep ? 1 : 0);
    ck_assert_uint_eq(fs.nreleased, keep ? 0 : 1);
    ck_assert_int_eq(raw_live(&t), 0);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 0);
    check_arena_accounting(&t);
    th_close(&t);
}
END_TEST

/* fail_at = 0 never fails. */
START_TEST(t_sources_faulty_never)
{
    struct obm_faulty_source fs = {.fail_at = 0, .persistent = true};
    struct th t;
    open_faulty(&t, &fs, (enum obm_profile)_i);
    struct fill f;
    fill_arenas(&t, &f, 3, 64);
    ck_assert_uint_eq(fs.nrequests, 3);
    ck_assert_uint_eq(fs.nfailed, 0);
    ck_assert_int_eq(raw_live(&t), 0);
    fill_release(&t, &f);
    ck_assert_uint_eq(fs.nreleased, t.g->keep_tail_arena ? 2 : 3);
    th_close(&t);
}
END_TEST

static Suite *
sources_suite(void)
{
    Suite *s = suite_create("sources");
    TCase *tc = tcase_create("sources");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, t_sources_region_determinism, 0, OBM_NPROFILES);
    tcase_add_test(tc, t_sources_region_offset);
    tcase_add_test(tc, t_sources_region_keep_pages);
    tcase_add_loop_test(tc, t_sources_offset_mmap, 0, NOFFSET_CASES);
    tcase_add_loop_test(tc, t_sources_faulty_transient, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_sources_faulty_middle, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_sources_faulty_persistent, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_sources_faulty_never, 0, OBM_NPROFILES);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return tu_run(sources_suite());
}
