/* t_ownership.c — the ownership test (facts §4.10) and the radix tree's
 * leaf fields (§3.8, O2/O3/O5).
 */
#include "testutil.h"

/* Legacy and radix alike: live pool blocks are owned, raw blocks are not. */
START_TEST(t_ownership_blocks_and_raw)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    enum {
        N = 200
    };
    void *small[N], *raw[3];
    for (size_t k = 0; k < N; k++) {
        small[k] = obm_malloc(t.heap, 1 + (k * 29) % 512);
        ck_assert(obm_owns(t.heap, small[k]));
    }
    raw[0] = obm_malloc(t.heap, 0);
    raw[1] = obm_malloc(t.heap, 513);
    raw[2] = obm_malloc(t.heap, 100000);
    for (int k = 0; k < 3; k++)
        ck_assert_msg(!obm_owns(t.heap, raw[k]), "raw block %d owned", k);
    for (size_t k = 0; k < N; k++)
        obm_free(t.heap, small[k]);
    for (int k = 0; k < 3; k++)
        obm_free(t.heap, raw[k]);
    ck_assert_int_eq(raw_live(&t), 0);
    th_close(&t);
}
END_TEST

/* Radix profiles x arena start offset within its 1 MiB ideal region. */
struct radix_case {
    enum obm_profile profile;
    size_t offset;
};
static const struct radix_case radix_cases[] = {
    {OBM_PY310, 0},    {OBM_PY311, 0},     {OBM_PY310, 4096},
    {OBM_PY311, 4096}, {OBM_PY311, 16384}, {OBM_PY310, 512 * 1024},
};
#define NRADIX_CASES (int)(sizeof radix_cases / sizeof radix_cases[0])

/* Check O2 for arena a: the leaf fields that mark it. */
static void
check_marked(const struct th *t, const struct obm_arena *a)
{
    uintptr_t as = t->g->arena_size, tail = a->address % as;
    const struct obm_arena_coverage *c = leaf_of(t, a->address);
    ck_assert_ptr_nonnull(c);
    if (tail == 0) {
        ck_assert_int_eq(c->tail_hi, -1);
        return;
    }
    ck_assert_int_eq(c->tail_hi, (int32_t)tail);
    const struct obm_arena_coverage *n = leaf_of(t, a->address + as);
    ck_assert_ptr_nonnull(n);
    ck_assert_int_eq(n->tail_lo, (int32_t)tail);
}

/* facts §3.8, O5: any address of [address, address + ARENA_SIZE) is owned,
 * padding and never-carved pools included; just outside is not. */
START_TEST(t_ownership_radix_range)
{
    const struct radix_case *rc = &radix_cases[_i];
    struct th t;
    th_open_offset(&t, rc->profile, rc->offset);
    void *p = obm_malloc(t.heap, 64);
    const struct obm_arena *a = arena_at(&t, 0);
    uintptr_t base = a->address, as = t.g->arena_size;
    ck_assert_uint_eq(base % as, rc->offset);
    ck_assert_uint_eq(a->ntotalpools, rc->offset % t.g->pool_size ? 63 : 64);
    check_marked(&t, a);
    ck_assert(obm_owns(t.heap, (void *)base));
    ck_assert(obm_owns(t.heap, (void *)(base + 1)));
    ck_assert(obm_owns(t.heap, (void *)(base + as / 2 + 24))); /* uncarved */
    ck_assert(obm_owns(t.heap, (void *)(base + as - 1)));
    ck_assert(!obm_owns(t.heap, (void *)(base - 1)));
    ck_assert(!obm_owns(t.heap, (void *)(base + as)));
    ck_assert(!obm_owns(t.heap, (void *)(base - as)));
    ck_assert(!obm_owns(t.heap, (void *)(base + 2 * as)));
    ck_assert(!obm_owns(t.heap, NULL));
    if (rc->offset % t.g->pool_size) /* padding below the first pool */
        ck_assert(obm_owns(t.heap, (void *)(arena_first_pool(&t, a) - 1)));
    ck_assert_int_ge(*t.s.arena_map_mid_count, 1);
    ck_assert_int_ge(*t.s.arena_map_bot_count, 1);
    ck_assert_int_le(*t.s.arena_map_bot_count, 2);
    obm_free(t.heap, p);
    th_close(&t);
}
END_TEST

/* facts §3.8 "Unmarking writes 0 to the same fields", O3: after the arena
 * is released its marks are gone and nothing in its range is owned. */
START_TEST(t_ownership_radix_unmark)
{
    const struct radix_case *rc = &radix_cases[_i];
    struct th t;
    th_open_offset(&t, rc->profile, rc->offset);
    struct fill f;
    unsigned npools = rc->offset % t.g->pool_size ? 63 : 64;
    fill_arenas(&t, &f, 1, npools);
    void *keep = obm_malloc(t.heap, 16); /* arena 1: keeps it the tail */
    const struct obm_arena *a0 = arena_at(&t, 0), *a1 = arena_at(&t, 1);
    uintptr_t b0 = a0->address, as = t.g->arena_size, tail = b0 % as;
    ck_assert_uint_ne(a1->address, 0);
    check_marked(&t, a0);
    check_marked(&t, a1);
    for (unsigned p = 0; p < npools; p++)
        free_pool(&t, &f, 0, p);
    ck_assert_uint_eq(a0->address, 0); /* released: not the tail */
    ck_assert_uint_eq(narenas(&t), 1);
    const struct obm_arena_coverage *c = leaf_of(&t, b0);
    ck_assert_ptr_nonnull(c); /* nodes are never freed */
    ck_assert_int_eq(c->tail_hi, 0);
    if (tail) {
        const struct obm_arena_coverage *n = leaf_of(&t, b0 + as);
        ck_assert_ptr_nonnull(n);
        ck_assert_int_eq(n->tail_lo, 0);
    } else {
        ck_assert_int_eq(c->tail_lo, 0);
    }
    check_marked(&t, a1); /* the neighbour keeps its marks */
    ck_assert(!obm_owns(t.heap, (void *)b0));
    ck_assert(!obm_owns(t.heap, (void *)(b0 + as / 2)));
    ck_assert(obm_owns(t.heap, keep));
    obm_free(t.heap, keep);
    fill_release(&t, &f);
    th_close(&t);
}
END_TEST

/* O4: node counters equal the non-NULL pointers under the root. */
START_TEST(t_ownership_radix_node_counts)
{
    const struct radix_case *rc = &radix_cases[_i];
    struct th t;
    th_open_offset(&t, rc->profile, rc->offset);
    struct fill f;
    unsigned npools = rc->offset % t.g->pool_size ? 63 : 64;
    fill_arenas(&t, &f, 3, npools);
    int mids = 0, bots = 0;
    size_t ntop = (size_t)1 << t.g->radix_top_bits;
    size_t nmid = (size_t)1 << t.g->radix_mid_bits;
    for (size_t i = 0; i < ntop; i++) {
        void *const *mid = t.s.radix_root[i];
        if (!mid)
            continue;
        mids++;
        for (size_t j = 0; j < nmid; j++)
            bots += mid[j] != NULL;
    }
    ck_assert_int_eq(*t.s.arena_map_mid_count, mids);
    ck_assert_int_eq(*t.s.arena_map_bot_count, bots);
    ck_assert_int_ge(mids, 1);
    for (unsigned a = 0; a < 3; a++)
        check_marked(&t, arena_at(&t, a));
    fill_release(&t, &f);
    th_close(&t);
}
END_TEST

static Suite *
ownership_suite(void)
{
    Suite *s = suite_create("ownership");
    TCase *tc = tcase_create("ownership");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, t_ownership_blocks_and_raw, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_ownership_radix_range, 0, NRADIX_CASES);
    tcase_add_loop_test(tc, t_ownership_radix_unmark, 0, NRADIX_CASES);
    tcase_add_loop_test(tc, t_ownership_radix_node_counts, 0, NRADIX_CASES);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return tu_run(ownership_suite());
}
