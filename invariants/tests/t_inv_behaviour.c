/* t_inv_behaviour.c — the B family against real and planted cores.
 *
 * One workload drives a heap through every transition the B IDs speak of:
 * filling more than 16 arenas, emptying whole runs of pools across them,
 * churn of malloc, calloc, realloc (in place,
 * moved, across the threshold, raw blocks shrunk to small sizes) and free,
 * draining every block in random order, and churn again from a near-empty
 * heap.  inv_predict() runs before every operation, inv_verify() after.
 *
 * Built without PLANT (the real core): no B and no state violation may
 * appear in any profile, and every B ID of the catalogue must have a
 * planted case below.  Built with -DPLANT=n against obm_plant_n: the case's
 * ID must fire in every profile the bug applies to. */
#include "inv.h"
#include "tu_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#ifndef PLANT
#define PLANT 0
#endif

#define NFP                                                                   \
    (INV_PROFILE(OBM_PY38) | INV_PROFILE(OBM_PY39) | INV_PROFILE(OBM_PY310)   \
     | INV_PROFILE(OBM_PY311))
#define TAIL                                                                  \
    (INV_PROFILE(OBM_PY39) | INV_PROFILE(OBM_PY310) | INV_PROFILE(OBM_PY311))

/* Each B ID and the planted bug (OBM_PLANT_* in obm_internal.h) it needs. */
static const struct plant_case {
    const char *id;
    int plant;
    unsigned profiles;
} cases[] = {
    {"B1", 10, INV_ALL_PROFILES},
    {"B2", 11, INV_ALL_PROFILES},
    {"B3", 3, INV_ALL_PROFILES},
    {"B4", 12, INV_ALL_PROFILES},
    {"B5", 13, INV_ALL_PROFILES},
    {"B6", 1, INV_ALL_PROFILES},
    {"B7", 6, INV_ALL_PROFILES},
    {"B8", 9, NFP},
    {"B9", 2, TAIL},
    {"B10", 4, INV_ALL_PROFILES},
    {"B11", 14, INV_ALL_PROFILES},
};
#define NCASES (sizeof cases / sizeof cases[0])

#define MAX_SLOTS (1u << 20)
#define MAX_IDS 64
#define FILL_ARENAS 18
#define SCRATCH_BYTES (1u << 20)

struct workload {
    obm_heap *h;
    struct inv_view v;
    struct inv_scratch scratch;
    void **slot;
    size_t *size;
    size_t nslots;
    uint64_t rng;
    unsigned long opno;
    bool state_checks;   /* LOCAL after every op, FULL after every phase */
    const char *stop_at; /* stop once this ID fired (planted runs) */
    struct inv_report rep;
    const char *ids[MAX_IDS]; /* IDs seen, with counts */
    unsigned long counts[MAX_IDS];
    size_t nids;
    struct inv_violation first; /* the first violation, for messages */
};

static uint64_t
next_rand(struct workload *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

static void
tally(struct workload *w, const struct inv_report *r)
{
    for (size_t k = 0; k < r->nkept; k++) {
        const char *id = r->kept[k].id;
        size_t i = 0;
        while (i < w->nids && strcmp(w->ids[i], id) != 0)
            i++;
        if (i == w->nids && w->nids < MAX_IDS)
            w->ids[w->nids++] = id;
        if (i < w->nids)
            w->counts[i]++;
        if (w->nids == 1 && w->counts[0] == 1 && i == 0)
            w->first = r->kept[k];
    }
}

static unsigned long
seen(const struct workload *w, const char *id)
{
    for (size_t i = 0; i < w->nids; i++)
        if (strcmp(w->ids[i], id) == 0)
            return w->counts[i];
    return 0;
}

static bool
done(const struct workload *w)
{
    return w->stop_at != NULL && seen(w, w->stop_at) > 0;
}

/* Run one operation between a prediction and its verification. */
static void *
run_op(struct workload *w, enum inv_op_kind kind, void *ptr, size_t n)
{
    struct inv_op op = {kind, n, ptr};
    struct inv_prediction pred;
    inv_predict(&w->v, &op, &pred);
    void *r = NULL;
    switch (kind) {
    case INV_OP_MALLOC:
        r = obm_malloc(w->h, n);
        break;
    case INV_OP_CALLOC:
        r = obm_calloc(w->h, n, 1);
        break;
    case INV_OP_REALLOC:
        r = obm_realloc(w->h, ptr, n);
        break;
    case INV_OP_FREE:
        obm_free(w->h, ptr);
        break;
    }
    w->opno++;
    inv_report_reset(&w->rep);
    inv_verify(&w->v, &pred, r, w->opno, &w->rep);
    tally(w, &w->rep);
    if (w->state_checks) {
        inv_check(&w->v, INV_LOCAL, kind == INV_OP_FREE ? ptr : r, w->opno,
                  &w->rep);
        tally(w, &w->rep);
    }
    return r;
}

/* Python-like sizes, a few raw ones (0 and above the threshold). */
static size_t
pick_size(struct workload *w)
{
    unsigned roll = (unsigned)(next_rand(w) % 100);
    if (roll < 70)
        return 1 + next_rand(w) % 64;
    if (roll < 90)
        return 65 + next_rand(w) % 448;
    if (roll < 97)
        return 513 + next_rand(w) % 1500;
    return 0;
}

/* A new size for block s: often near its class (the 3/4 rule), raw blocks
 * of 513 bytes and more are shrunk to pool sizes (B11). */
static size_t
pick_resize(struct workload *w, size_t s)
{
    unsigned roll = (unsigned)(next_rand(w) % 100);
    size_t align = w->v.g.alignment;
    size_t bs = (s + align - 1) / align * align;
    if (s > w->v.g.threshold && roll < 50)
        return 1 + next_rand(w) % w->v.g.threshold;
    if (s >= 1 && s <= w->v.g.threshold && roll < 40)
        return bs - next_rand(w) % (bs / 2 + 1);
    return pick_size(w);
}

static void
fill_slot(struct workload *w, size_t i, size_t n)
{
    void *p =
        run_op(w, next_rand(w) % 8 ? INV_OP_MALLOC : INV_OP_CALLOC, NULL, n);
    ck_assert_ptr_nonnull(p);
    memset(p, (int)(i & 0xff), n);
    w->slot[i] = p;
    w->size[i] = n;
}

static void
churn(struct workload *w, size_t nops)
{
    for (size_t k = 0; k < nops && !done(w); k++) {
        size_t i = next_rand(w) % w->nslots;
        if (w->slot[i] == NULL) {
            fill_slot(w, i, pick_size(w));
        } else if (next_rand(w) % 3 == 0 && w->size[i] != 0) {
            size_t n = pick_resize(w, w->size[i]);
            void *p = run_op(w, INV_OP_REALLOC, w->slot[i], n);
            ck_assert_ptr_nonnull(p);
            w->slot[i] = p;
            w->size[i] = n;
        } else {
            run_op(w, INV_OP_FREE, w->slot[i], 0);
            w->slot[i] = NULL;
        }
    }
}

static void
drain(struct workload *w)
{
    // a random permutation of the slots: arenas drain in no fixed order
    size_t n = w->nslots;
    for (size_t k = 0; k < n && !done(w); k++) {
        size_t j = k + next_rand(w) % (n - k);
        void *p = w->slot[j];
        size_t s = w->size[j];
        w->slot[j] = w->slot[k];
        w->size[j] = w->size[k];
        w->slot[k] = p;
        w->size[k] = s;
        if (p != NULL)
            run_op(w, INV_OP_FREE, p, 0);
        w->slot[k] = NULL;
    }
}

/* Free every block of a random 40% of the runs of consecutive slots:
 * blocks filled in order sit together, so whole pools empty across many
 * arenas and the arenas end with many different nfreepools. */
static void
free_runs(struct workload *w, size_t run)
{
    for (size_t lo = 0; lo < w->nslots && !done(w); lo += run) {
        if (next_rand(w) % 10 >= 4)
            continue;
        for (size_t i = lo; i < lo + run && i < w->nslots && !done(w); i++) {
            if (w->slot[i] != NULL)
                run_op(w, INV_OP_FREE, w->slot[i], 0);
            w->slot[i] = NULL;
        }
    }
}

static void
full_check(struct workload *w)
{
    if (!w->state_checks)
        return;
    inv_check(&w->v, INV_FULL, NULL, w->opno, &w->rep);
    tally(w, &w->rep);
}

static unsigned
arena_of(const struct workload *w, const void *p)
{
    uintptr_t q = (uintptr_t)p & ~(uintptr_t)(w->v.g.pool_size - 1);
    return ((const struct obm_pool *)q)->arenaindex;
}

/* Free every block of the first npools pools (in fill order) of arena a,
 * among slots [lo, hi). */
static void
empty_pools(struct workload *w, size_t lo, size_t hi, unsigned a,
            size_t npools)
{
    uintptr_t mask = ~(uintptr_t)(w->v.g.pool_size - 1), last = 0;
    size_t seen_pools = 0;
    for (size_t i = lo; i < hi && !done(w); i++) {
        if (w->slot[i] == NULL || arena_of(w, w->slot[i]) != a)
            continue;
        uintptr_t q = (uintptr_t)w->slot[i] & mask;
        if (q != last && ++seen_pools > npools)
            break;
        last = q;
        run_op(w, INV_OP_FREE, w->slot[i], 0);
        w->slot[i] = NULL;
    }
}

/* On a drained heap, set up what random churn rarely does: usable arenas
 * with different nfreepools and an empty ring (B3), then an emptied pool
 * whose chain head is not its first block, reused for its class (B4). */
static void
transitions(struct workload *w)
{
    const struct obm_geometry *g = &w->v.g;
    size_t lo = w->nslots, n = 3 * 64 * obm_numblocks(g, g->nclasses - 1);
    for (size_t i = 0; i < n && !done(w); i++)
        fill_slot(w, w->nslots++, g->threshold);
    if (done(w))
        return;
    unsigned first = arena_of(w, w->slot[lo]);
    unsigned second = arena_of(w, w->slot[lo + n / 2]);
    empty_pools(w, lo, lo + n, first, 5);
    empty_pools(w, lo, lo + n, second, 10);
    size_t small = 4 * g->alignment; // class 3: its ring is empty
    void *b[3];
    for (int k = 0; k < 3 && !done(w); k++)
        b[k] = run_op(w, INV_OP_MALLOC, NULL, small);
    for (int k = 0; k < 3 && !done(w); k++)
        run_op(w, INV_OP_FREE, b[k], 0);
    if (!done(w))
        fill_slot(w, w->nslots++, small);
}

/* The phases, in order; a planted run stops once its ID fired, keeping
 * every slot it filled so close_workload can give them back. */
static void
run_workload(struct workload *w)
{
    struct obm_state s;
    obm_heap_state(w->h, &s);
    while (*s.narenas_currently_allocated < FILL_ARENAS && !done(w)) {
        ck_assert_uint_lt(w->nslots, MAX_SLOTS);
        fill_slot(w, w->nslots++, pick_size(w));
    }
    full_check(w);
    free_runs(w, 2000);
    full_check(w);
    churn(w, 150000);
    full_check(w);
    drain(w);
    full_check(w);
    if (done(w))
        return;
    w->nslots = 20000; // all empty after the drain
    churn(w, 60000);
    full_check(w);
    drain(w);
    full_check(w);
    if (done(w))
        return;
    w->nslots = 0;
    transitions(w);
    full_check(w);
    drain(w);
    full_check(w);
}

static void
open_workload(struct workload *w, enum obm_profile p, struct obm_region **r)
{
    memset(w, 0, sizeof *w);
    *r = obm_region_new(NULL);
    ck_assert_ptr_nonnull(*r);
    struct obm_arena_source src = obm_region_source(*r);
    w->h = obm_heap_new(p, &src);
    ck_assert_ptr_nonnull(w->h);
    inv_view_from_heap(&w->v, w->h);
    w->scratch.mem = malloc(SCRATCH_BYTES);
    w->scratch.size = SCRATCH_BYTES;
    w->v.scratch = &w->scratch;
    w->slot = calloc(MAX_SLOTS, sizeof *w->slot);
    w->size = calloc(MAX_SLOTS, sizeof *w->size);
    ck_assert(w->scratch.mem && w->slot && w->size);
    w->rng = 0x9e3779b97f4a7c15u ^ (uint64_t)p;
}

static void
close_workload(struct workload *w, struct obm_region *r)
{
    // a planted bug may have broken the lists: pool blocks go with the
    // region, raw blocks straight back to libc (the default raw allocator)
    for (size_t i = 0; i < w->nslots; i++) {
        if (w->stop_at == NULL)
            obm_free(w->h, w->slot[i]);
        else if (w->slot[i] != NULL && !obm_owns(w->h, w->slot[i]))
            free(w->slot[i]);
    }
    obm_heap_free(w->h);
    obm_region_free(r);
    free(w->scratch.mem);
    free(w->slot);
    free(w->size);
}

#if PLANT == 0

/* The real core: nothing fires, behavioural or state, in any profile. */
START_TEST(t_real_core_is_clean)
{
    struct workload w;
    struct obm_region *r;
    open_workload(&w, (enum obm_profile)_i, &r);
    w.state_checks = true;
    run_workload(&w);
    if (w.nids > 0) {
        inv_violation_print(&w.first, stderr);
        fputc('\n', stderr);
    }
    ck_assert_msg(w.nids == 0, "%s: %zu IDs fired, first %s (%lu times)",
                  obm_geometry((enum obm_profile)_i)->name, w.nids,
                  w.nids ? w.ids[0] : "-", w.nids ? w.counts[0] : 0ul);
    ck_assert_uint_gt(w.opno, 250000);
    close_workload(&w, r);
}
END_TEST

/* Every B ID has a planted case, and CMake built every case's plant. */
START_TEST(t_every_b_id_has_a_planted_case)
{
    size_t n;
    const struct inv_entry *cat = inv_catalogue(&n);
    size_t nb = 0;
    for (size_t k = 0; k < n; k++) {
        if (cat[k].id[0] != 'B')
            continue;
        nb++;
        bool found = false;
        for (size_t c = 0; c < NCASES; c++)
            found |= strcmp(cases[c].id, cat[k].id) == 0;
        ck_assert_msg(found, "%s has no planted case", cat[k].id);
    }
    ck_assert_uint_eq(nb, NCASES);
    for (size_t c = 0; c < NCASES; c++) {
        char want[16];
        snprintf(want, sizeof want, ",%d,", cases[c].plant);
        ck_assert_msg(strstr("," PLANTS_BUILT ",", want) != NULL,
                      "plant %d (%s) is not built by CMake", cases[c].plant,
                      cases[c].id);
    }
}
END_TEST

static Suite *
make_suite(void)
{
    Suite *s = suite_create("behaviour");
    TCase *tc = tcase_create("real");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, t_real_core_is_clean, 0, OBM_NPROFILES);
    tcase_add_test(tc, t_every_b_id_has_a_planted_case);
    suite_add_tcase(s, tc);
    return s;
}

#else /* a planted core */

static const struct plant_case *
this_case(void)
{
    for (size_t c = 0; c < NCASES; c++)
        if (cases[c].plant == PLANT)
            return &cases[c];
    return NULL;
}

/* The planted bug's B ID fires in every profile it applies to. */
START_TEST(t_planted_bug_is_caught)
{
    const struct plant_case *pc = this_case();
    ck_assert_ptr_nonnull(pc);
    enum obm_profile p = (enum obm_profile)_i;
    if (!(pc->profiles & INV_PROFILE(p)))
        return;
    struct workload w;
    struct obm_region *r;
    open_workload(&w, p, &r);
    w.stop_at = pc->id;
    run_workload(&w);
    ck_assert_msg(seen(&w, pc->id) > 0, "plant %d, %s: %s never fired", PLANT,
                  obm_geometry(p)->name, pc->id);
    close_workload(&w, r);
}
END_TEST

static Suite *
make_suite(void)
{
    Suite *s = suite_create("planted");
    TCase *tc = tcase_create("planted");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, t_planted_bug_is_caught, 0, OBM_NPROFILES);
    suite_add_tcase(s, tc);
    return s;
}

#endif

int
main(void)
{
    return tu_run(make_suite());
}
