/* t_arenas.c — arena management (facts §3.5, §3.6, §4.3, §4.4, §4.6):
 * the order of usable_arenas and nfp2lasta after each of the four cases,
 * the 3.9+ tail-arena rule, release to unused_arena_objects, and growth of
 * the arenas vector.
 *
 * Arenas are filled with whole pools of the largest class from a
 * deterministic region, then pools are emptied one at a time, so every
 * arena's nfreepools is known exactly.  Lists are written "idx:nfreepools"
 * from the head of usable_arenas.
 */
#include "testutil.h"

/* One step of the scenario: empty npools more pools of arena `arena`, then
 * expect usable_arenas to read `want` (profiles that release a wholly free
 * tail arena) or `want_keep` (3.9+, which keep it); `rel` / `rel_keep` name
 * the arena released by the step, or -1. */
struct step {
    unsigned arena, npools;
    const char *want, *want_keep;
    int rel, rel_keep;
};

static const struct step scenario[] = {
    {2, 1, "2:1", NULL, -1, -1},                       /* case 2 */
    {0, 1, "0:1 2:1", NULL, -1, -1},                   /* case 2: head */
    {2, 1, "0:1 2:2", NULL, -1, -1},                   /* case 4 */
    {0, 1, "0:2 2:2", NULL, -1, -1},                   /* case 4 */
    {1, 1, "1:1 0:2 2:2", NULL, -1, -1},               /* case 2 */
    {1, 1, "1:2 0:2 2:2", NULL, -1, -1},               /* case 4 */
    {1, 1, "0:2 2:2 1:3", NULL, -1, -1},               /* case 3 */
    {0, 1, "2:2 0:3 1:3", NULL, -1, -1},               /* case 3, ties */
    {3, 1, "3:1 2:2 0:3 1:3", NULL, -1, -1},           /* case 2 */
    {3, 1, "3:2 2:2 0:3 1:3", NULL, -1, -1},           /* case 4 */
    {3, 1, "2:2 3:3 0:3 1:3", NULL, -1, -1},           /* case 3 */
    {0, 1, "2:2 3:3 1:3 0:4", NULL, -1, -1},           /* case 3: tail */
    {0, 60, "2:2 3:3 1:3", "2:2 3:3 1:3 0:64", 0, -1}, /* case 1 / kept */
    {1, 1, "2:2 3:3 1:4", "2:2 3:3 1:4 0:64", -1, -1},
    {1, 60, "2:2 3:3", "2:2 3:3 0:64", 1, 1}, /* case 1 */
    {3, 61, "2:2", "2:2 0:64", 3, 3},         /* case 1 */
};
#define NSTEPS (sizeof scenario / sizeof scenario[0])

/* Check that unused_arena_objects starts with the released arenas, most
 * recent first (LIFO, facts §3.5). */
static void
check_unused_prefix(const struct th *t, const int *rel, size_t nrel)
{
    const struct obm_arena *a = *t->s.unused_arena_objects;
    for (size_t k = nrel; k-- > 0; a = a->nextarena) {
        ck_assert_ptr_nonnull(a);
        ck_assert_uint_eq(arena_idx(t, a), (unsigned)rel[k]);
        ck_assert_uint_eq(a->address, 0);
    }
}

/* Run the scenario on profile p, writing the list after each step into
 * trace[step], and checking every step against the table. */
static void
run_scenario(enum obm_profile p, char trace[][128])
{
    struct th t;
    th_open(&t, p);
    bool keep = t.g->keep_tail_arena;
    struct fill f;
    fill_arenas(&t, &f, 4, 64);
    ck_assert_ptr_null(*t.s.usable_arenas);
    ck_assert_uint_eq(narenas(&t), 4);
    unsigned freed[4] = {0};
    int rel[4];
    size_t nrel = 0;
    for (size_t k = 0; k < NSTEPS; k++) {
        const struct step *st = &scenario[k];
        for (unsigned n = 0; n < st->npools; n++)
            free_pool(&t, &f, st->arena, freed[st->arena]++);
        const char *want = keep && st->want_keep ? st->want_keep : st->want;
        int r = keep ? st->rel_keep : st->rel;
        usable_str(&t, trace[k], 128);
        ck_assert_msg(strcmp(trace[k], want) == 0,
                      "%s step %zu: usable_arenas \"%s\", expected \"%s\"",
                      t.g->name, k + 1, trace[k], want);
        check_usable_links(&t);
        check_arena_accounting(&t);
        if (r >= 0) {
            ck_assert_uint_eq(arena_at(&t, (unsigned)r)->address, 0);
            rel[nrel++] = r;
        }
        check_unused_prefix(&t, rel, nrel);
        ck_assert_uint_eq(narenas(&t), 4 - nrel);
        ck_assert_uint_eq(*t.s.ntimes_arena_allocated, 4);
        ck_assert_uint_eq(*t.s.narenas_highwater, 4);
    }
    /* New pools come from the head arena's most recently emptied pool. */
    const struct obm_arena *a2 = arena_at(&t, 2);
    void *x = obm_malloc(t.heap, t.g->threshold);
    ck_assert_uint_eq((uintptr_t)pool_of(&t, x),
                      arena_first_pool(&t, a2) + t.g->pool_size);
    ck_assert_str_eq(usable_str(&t, trace[NSTEPS], 128),
                     keep ? "2:1 0:64" : "2:1");
    check_usable_links(&t);
    obm_free(t.heap, x);
    ck_assert_str_eq(usable_str(&t, trace[NSTEPS], 128),
                     keep ? "2:2 0:64" : "2:2");
    fill_release(&t, &f);
    /* Everything freed: at most the kept tail arena remains. */
    ck_assert_uint_eq(narenas(&t), keep ? 1 : 0);
    char buf[128];
    ck_assert_str_eq(usable_str(&t, buf, sizeof buf), keep ? "0:64" : "");
    check_arena_accounting(&t);
    check_usable_links(&t);
    th_close(&t);
}

START_TEST(t_arenas_management_cases)
{
    char trace[NSTEPS + 1][128];
    run_scenario((enum obm_profile)_i, trace);
}
END_TEST

/* facts §3.6, §13: the linear walk (py27, py35) and nfp2lasta (py38) give
 * the same list after every step. */
START_TEST(t_arenas_linear_equals_nfp2lasta)
{
    static char lin[NSTEPS + 1][128], fast[NSTEPS + 1][128];
    run_scenario((enum obm_profile)_i, lin); /* py27 or py35 */
    run_scenario(OBM_PY38, fast);
    for (size_t k = 0; k <= NSTEPS; k++)
        ck_assert_str_eq(lin[k], fast[k]);
}
END_TEST

/* facts §4.6 case 1 and bpo-37257: a wholly free arena that is the last of
 * usable_arenas is kept from 3.9 on, released before. */
START_TEST(t_arenas_tail_rule)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    bool keep = t.g->keep_tail_arena;
    struct fill f;
    fill_arenas(&t, &f, 1, 64);
    uintptr_t base = arena_at(&t, 0)->address;
    for (unsigned p = 0; p < 64; p++)
        free_pool(&t, &f, 0, p);
    char buf[128];
    ck_assert_str_eq(usable_str(&t, buf, sizeof buf), keep ? "0:64" : "");
    ck_assert_uint_eq(narenas(&t), keep ? 1 : 0);
    ck_assert_uint_eq(obm_region_live(t.region), keep ? 1 : 0);
    check_arena_accounting(&t);
    check_usable_links(&t);
    const struct obm_arena *a0 = arena_at(&t, 0);
    if (keep) {
        ck_assert_uint_eq(a0->address, base);
        /* emptied in address order, so LIFO puts pool 0 last */
        uintptr_t first = arena_first_pool(&t, a0);
        ck_assert_uint_eq((uintptr_t)a0->freepools,
                          first + 63 * (uintptr_t)t.g->pool_size);
        ck_assert_int_eq(freepools_pos(a0, (struct obm_pool *)first), 63);
        ck_assert_uint_eq(a0->nfreepools, 64);
    } else {
        ck_assert_uint_eq(a0->address, 0);
        ck_assert_ptr_eq(*t.s.unused_arena_objects, a0);
    }
    /* the next pool comes from the kept arena, or from a new arena in the
     * same record and (lowest free slot) at the same address */
    void *x = obm_malloc(t.heap, 32);
    ck_assert_uint_eq(pool_of(&t, x)->arenaindex, 0);
    ck_assert_uint_eq(arena_at(&t, 0)->address, base);
    ck_assert_uint_eq(*t.s.ntimes_arena_allocated, keep ? 1 : 2);
    ck_assert_uint_eq(*t.s.narenas_highwater, 1);
    obm_free(t.heap, x);
    fill_release(&t, &f);
    th_close(&t);
}
END_TEST

/* 3.9+ keeps only the tail: a wholly free arena with a successor goes. */
START_TEST(t_arenas_free_nontail_released)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    struct fill f;
    fill_arenas(&t, &f, 2, 64);
    free_pool(&t, &f, 1, 0); /* A1 usable with 1 */
    for (unsigned p = 0; p < 63; p++)
        free_pool(&t, &f, 0, p);
    char buf[128];
    ck_assert_str_eq(usable_str(&t, buf, sizeof buf), "1:1 0:63");
    free_pool(&t, &f, 0, 63); /* A0 wholly free but the tail */
    bool keep = t.g->keep_tail_arena;
    ck_assert_str_eq(usable_str(&t, buf, sizeof buf),
                     keep ? "1:1 0:64" : "1:1");
    for (unsigned p = 1; p < 64; p++)
        free_pool(&t, &f, 1, p); /* A1 passes A0's 63 ... */
    /* ... and, wholly free with A0 behind it (3.9+), is released */
    ck_assert_str_eq(usable_str(&t, buf, sizeof buf), keep ? "0:64" : "");
    ck_assert_uint_eq(arena_at(&t, 1)->address, 0);
    ck_assert_ptr_eq(*t.s.unused_arena_objects, arena_at(&t, 1));
    check_arena_accounting(&t);
    check_usable_links(&t);
    fill_release(&t, &f);
    th_close(&t);
}
END_TEST

/* facts §3.5, §4.4: the vector starts with 16 records chained in index
 * order, and doubles only when both lists are empty. */
START_TEST(t_arenas_vector_growth)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    bool keep = t.g->keep_tail_arena;
    void *first = obm_malloc(t.heap, 1);
    ck_assert_uint_eq(*t.s.maxarenas, 16);
    const struct obm_arena *u = *t.s.unused_arena_objects;
    for (unsigned i = 1; i < 16; i++, u = u->nextarena)
        ck_assert_uint_eq(arena_idx(&t, u), i);
    ck_assert_ptr_null(u);
    obm_free(t.heap, first);
    struct fill f;
    fill_arenas(&t, &f, 16, 64);
    ck_assert_uint_eq(*t.s.maxarenas, 16);
    ck_assert_ptr_null(*t.s.unused_arena_objects);
    for (unsigned p = 0; p < 64; p++)
        free_pool(&t, &f, 5, p);
    ck_assert_uint_eq(arena_at(&t, 5)->address != 0, keep);
    /* refilling one arena's worth of pools re-uses record 5 */
    size_t nb = f.nb, nextra = 64 * nb + 1;
    void **extra = calloc(nextra, sizeof(void *));
    ck_assert_ptr_nonnull(extra);
    for (size_t k = 0; k < 64 * nb; k++) {
        extra[k] = obm_malloc(t.heap, t.g->threshold);
        TU_CHECK(pool_of(&t, extra[k])->arenaindex == 5);
    }
    ck_assert_uint_eq(*t.s.maxarenas, 16);
    ck_assert_uint_eq(narenas(&t), 16);
    ck_assert_ptr_null(*t.s.usable_arenas);
    ck_assert_ptr_null(*t.s.unused_arena_objects);
    /* both lists empty: the 17th arena doubles the vector */
    extra[64 * nb] = obm_malloc(t.heap, t.g->threshold);
    ck_assert_uint_eq(pool_of(&t, extra[64 * nb])->arenaindex, 16);
    ck_assert_uint_eq(*t.s.maxarenas, 32);
    u = *t.s.unused_arena_objects;
    for (unsigned i = 17; i < 32; i++, u = u->nextarena) {
        ck_assert_ptr_nonnull(u);
        ck_assert_uint_eq(arena_idx(&t, u), i);
    }
    ck_assert_ptr_null(u);
    ck_assert_uint_eq(narenas(&t), 17);
    ck_assert_uint_eq(*t.s.narenas_highwater, 17);
    ck_assert_uint_eq(*t.s.ntimes_arena_allocated, keep ? 17 : 19);
    check_arena_accounting(&t);
    for (size_t k = 0; k < nextra; k++)
        obm_free(t.heap, extra[k]);
    free(extra);
    fill_release(&t, &f);
    ck_assert_uint_eq(narenas(&t), keep ? 1 : 0);
    check_arena_accounting(&t);
    th_close(&t);
}
END_TEST

static Suite *
arenas_suite(void)
{
    Suite *s = suite_create("arenas");
    TCase *tc = tcase_create("management");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, t_arenas_management_cases, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_arenas_linear_equals_nfp2lasta, OBM_PY27,
                        OBM_PY35 + 1);
    tcase_add_loop_test(tc, t_arenas_tail_rule, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_arenas_free_nontail_released, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_arenas_vector_growth, 0, OBM_NPROFILES);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return tu_run(arenas_suite());
}
