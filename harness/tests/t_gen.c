/* t_gen.c — the trace generators (`obcheck gen KIND`): every kind in every
 * profile keeps the block discipline, is deterministic, and, replayed
 * straight through the core (t_gen_replay.h), reaches the allocator states
 * it claims.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hx.h"
#include "tu_run.h"
#include "t_gen_replay.h"

/* --- Block discipline --------------------------------------------------- */

/* Check t the way a runner needs it; return NULL or what is wrong (op
 * number in *at). */
static const char *
discipline(const struct hx_trace *t, size_t *at)
{
    uint8_t *state = calloc(t->nslots + 1, 1); /* 0 new, 1 live, 2 dead */
    const char *why = NULL;
    size_t live = 0, k;
    ck_assert_ptr_nonnull(state);
    for (k = 0; k < t->nops && why == NULL; k++) {
        const struct hx_op *op = &t->ops[k];
        bool fault = op->kind == HX_FAULT_ARENAS || op->kind == HX_FAULT_RAW;
        bool overflow = op->b != 0 && op->a > UINT64_MAX / op->b;
        if (fault) {
            if (op->slot != HX_NO_SLOT)
                why = "a fault names a slot";
            else if (op->flags == 0 ? op->a == 0 : op->a != 0)
                why = "a fault's count does not fit its flags";
            continue;
        }
        if (op->kind > HX_FREE)
            why = "an operation a generator must not emit";
        else if (op->slot >= t->nslots)
            why = "a slot out of range";
        else if (op->kind <= HX_CALLOC && state[op->slot] == 1)
            why = "an allocation on a live slot";
        else if (op->kind >= HX_REALLOC && state[op->slot] != 1)
            why = "a realloc or free of a slot not live";
        else if (op->kind == HX_CALLOC && !overflow
                 && op->a * op->b > HX_MAX_SIZE)
            why = "a calloc over HX_MAX_SIZE";
        else if (op->kind != HX_CALLOC && op->a > HX_MAX_SIZE)
            why = "a size over HX_MAX_SIZE";
        if (why != NULL)
            break;
        if (op->kind <= HX_CALLOC)
            live++, state[op->slot] = 1;
        else if (op->kind == HX_FREE)
            live--, state[op->slot] = 2;
    }
    *at = k;
    if (why == NULL && live != 0)
        why = "blocks still live at the end";
    free(state);
    return why;
}

static void
generate(struct hx_trace *t, const struct hx_generator *gen,
         enum obm_profile p, unsigned long ops, uint64_t seed)
{
    struct hx_gen_options o = {.ops = ops, .seed = seed, .profile = p};
    hx_trace_init(t, gen->name);
    ck_assert_int_eq(gen->generate(t, &o), 0);
    size_t at;
    const char *why = discipline(t, &at);
    ck_assert_msg(why == NULL, "%s %s: op #%zu: %s", gen->name,
                  obm_geometry(p)->name, at + 1, why);
    // the first note says what this is, with its seed
    ck_assert_uint_ge(t->nnotes, 2);
    ck_assert_uint_eq(t->notes[0].at, 0);
    ck_assert(!t->notes[0].trailing);
    ck_assert_ptr_nonnull(strstr(t->notes[0].text, gen->name));
    ck_assert_ptr_nonnull(strstr(t->notes[0].text, "seed"));
}

static bool
same_trace(const struct hx_trace *a, const struct hx_trace *b)
{
    if (a->nops != b->nops || a->nslots != b->nslots || a->nnotes != b->nnotes)
        return false;
    for (size_t k = 0; k < a->nnotes; k++)
        if (a->notes[k].at != b->notes[k].at
            || strcmp(a->notes[k].text, b->notes[k].text) != 0)
            return false;
    return memcmp(a->ops, b->ops, a->nops * sizeof *a->ops) == 0;
}

/* --- What each kind claims ---------------------------------------------- */

typedef void claim_fn(const struct seen *w, const struct hx_trace *t,
                      const struct obm_geometry *g);

static void
claim_size_classes(const struct seen *w, const struct hx_trace *t,
                   const struct obm_geometry *g)
{
    (void)t;
    for (unsigned c = 0; c < g->nclasses; c++)
        ck_assert_msg(w->classes[c / 64] >> c % 64 & 1, "class %u unused", c);
    ck_assert_uint_gt(w->full_pools, 0);
    ck_assert_uint_gt(w->full_to_used, 0);
    ck_assert_uint_ge(w->used_to_empty, g->nclasses);
    ck_assert_uint_ge(w->raw_allocs, 2); /* 0 and threshold + 1 */
}

static void
claim_pool_churn(const struct seen *w, const struct hx_trace *t,
                 const struct obm_geometry *g)
{
    (void)t, (void)g;
    ck_assert_uint_gt(w->full_pools, 0);
    ck_assert_uint_gt(w->full_to_used, 0);
    ck_assert_uint_gt(w->used_to_empty, 0);
    ck_assert_uint_gt(w->pool_reuse, 0);
    ck_assert_uint_gt(w->pool_reuse_other, 0);
}

static void
claim_arena_reuse(const struct seen *w, const struct hx_trace *t,
                  const struct obm_geometry *g)
{
    (void)t, (void)g;
    ck_assert_uint_ge(w->max_arenas, 6);
    ck_assert_uint_gt(w->ntimes, w->highwater);
}

static void
claim_tail_arena(const struct seen *w, const struct hx_trace *t,
                 const struct obm_geometry *g)
{
    (void)t;
    ck_assert(w->empty_seen);
    if (g->keep_tail_arena) {
        // no block live, yet the tail arena stays; few arenas ever made
        ck_assert_uint_eq(w->empty_min_arenas, 1);
        ck_assert_uint_eq(w->empty_max_arenas, 1);
        ck_assert_uint_gt(w->tail_kept, 0);
        ck_assert_uint_gt(w->middle_releases, 0);
        ck_assert_uint_lt(w->ntimes, 32);
    } else {
        // every bounce makes and releases an arena
        ck_assert_uint_eq(w->empty_max_arenas, 0);
        ck_assert_uint_ge(w->ntimes, 64);
    }
}

static void
claim_sort_order(const struct seen *w, const struct hx_trace *t,
                 const struct obm_geometry *g)
{
    (void)t, (void)g;
    ck_assert_uint_ge(w->max_arenas, 8);
    ck_assert_uint_gt(w->moves, 0);
    ck_assert_uint_gt(w->long_moves, 0);
    ck_assert_uint_gt(w->middle_releases, 0);
}

static void
claim_realloc_chains(const struct seen *w, const struct hx_trace *t,
                     const struct obm_geometry *g)
{
    (void)t, (void)g;
    ck_assert_uint_gt(w->in_place, 0);
    ck_assert_uint_gt(w->moved, 0);
    ck_assert_uint_gt(w->up_threshold, 0);
    ck_assert_uint_gt(w->raw_under_threshold, 0);
    ck_assert_uint_gt(w->to_zero, 0);
    ck_assert_uint_gt(w->shrunk_in_place, 0);
    ck_assert_uint_gt(w->shrunk_moved, 0);
}

static void
claim_calloc_heavy(const struct seen *w, const struct hx_trace *t,
                   const struct obm_geometry *g)
{
    (void)t, (void)g;
    ck_assert_uint_ge(10 * w->callocs, 7 * (w->callocs + w->mallocs));
    ck_assert_uint_ge(w->overflow_nulls, 4);
    ck_assert_uint_gt(w->pool_allocs, 0);
    ck_assert_uint_gt(w->raw_allocs, 0);
}

static void
claim_large_heap(const struct seen *w, const struct hx_trace *t,
                 const struct obm_geometry *g)
{
    (void)g;
    ck_assert_uint_ge(5 * w->peak_live, 2 * t->nops);
}

static void
claim_python_mix(const struct seen *w, const struct hx_trace *t,
                 const struct obm_geometry *g)
{
    (void)g;
    ck_assert_uint_gt(w->moved, 0); /* containers grew */
    ck_assert_uint_gt(w->raw_allocs, 0);
    ck_assert_uint_gt(2 * w->young_frees, w->frees); /* most die young */
    ck_assert_uint_ge(2 * w->max_age, t->nops);      /* a few live long */
}

static void
claim_faults(const struct seen *w, const struct hx_trace *t,
             const struct obm_geometry *g)
{
    (void)t, (void)g;
    ck_assert_uint_gt(w->fallbacks, 0);
    ck_assert_uint_gt(w->raw_fault_nulls, 0);
    ck_assert_uint_gt(w->arenas_after_fault, 0);
}

static void
claim_random(const struct seen *w, const struct hx_trace *t,
             const struct obm_geometry *g)
{
    unsigned kinds = 0;
    uint64_t least = UINT64_MAX, most = 0;
    for (size_t k = 0; k < t->nops; k++) {
        const struct hx_op *op = &t->ops[k];
        uint64_t n = op->kind == HX_CALLOC ? op->a * op->b : op->a;
        kinds |= 1u << op->kind;
        if (op->kind != HX_FREE) {
            least = n < least ? n : least;
            most = n > most ? n : most;
        }
    }
    ck_assert_uint_eq(kinds, 0xf);
    ck_assert_uint_lt(least, g->alignment); /* down at the first class */
    ck_assert_uint_gt(most, g->threshold);
    ck_assert_uint_le(most, 2 * g->threshold);
    ck_assert_uint_gt(w->pool_allocs, 0);
    ck_assert_uint_gt(w->raw_allocs, 0);
}

static void
claim_threshold(const struct seen *w, const struct hx_trace *t,
                const struct obm_geometry *g)
{
    (void)t, (void)g;
    ck_assert_uint_gt(w->pool_allocs, 0);
    ck_assert_uint_gt(w->raw_allocs, 0);
    ck_assert_uint_gt(w->up_threshold, 0);
}

/* Each kind with the budget the suite gives it (1 = its smallest run). */
static const struct {
    const char *name;
    unsigned long ops;
    claim_fn *claim;
} kinds[] = {
    {"size-classes", 0, claim_size_classes},
    {"pool-churn", 15000, claim_pool_churn},
    {"arena-reuse", 1, claim_arena_reuse},
    {"tail-arena", 1, claim_tail_arena},
    {"sort-order", 1, claim_sort_order},
    {"realloc-chains", 5000, claim_realloc_chains},
    {"calloc-heavy", 5000, claim_calloc_heavy},
    {"large-heap", 20000, claim_large_heap},
    {"python-mix", 20000, claim_python_mix},
    {"faults", 1, claim_faults},
    {"random", 5000, claim_random},
    {"threshold", 5000, claim_threshold},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* --- Tests -------------------------------------------------------------- */

START_TEST(t_gen_kind)
{
    const char *name = kinds[_i / OBM_NPROFILES].name;
    enum obm_profile p = (enum obm_profile)(_i % OBM_NPROFILES);
    unsigned long ops = kinds[_i / OBM_NPROFILES].ops;
    const struct hx_generator *gen = hx_generator_find(name);
    ck_assert_msg(gen != NULL, "no generator %s", name);
    uint64_t seed = 11 + (uint64_t)_i;
    struct hx_trace a, b;
    generate(&a, gen, p, ops, seed);
    generate(&b, gen, p, ops, seed);
    ck_assert_msg(same_trace(&a, &b), "%s: same seed, other trace", name);
    hx_trace_free(&b);
    generate(&b, gen, p, ops, seed + 1);
    ck_assert_msg(!same_trace(&a, &b), "%s: the seed changes nothing", name);
    hx_trace_free(&b);
    struct seen w;
    replay(&a, p, &w);
    kinds[_i / OBM_NPROFILES].claim(&w, &a, obm_geometry(p));
    hx_trace_free(&a);
}
END_TEST

/* The table: the kinds asked for, each once, each findable. */
START_TEST(t_gen_table)
{
    size_t n;
    const struct hx_generator *v = hx_generators(&n);
    ck_assert_uint_eq(n, NKINDS);
    for (size_t k = 0; k < NKINDS; k++)
        ck_assert_ptr_eq(hx_generator_find(kinds[k].name),
                         &v[k]); /* same order as the list above */
    for (size_t k = 0; k < n; k++) {
        ck_assert_ptr_nonnull(v[k].generate);
        ck_assert_uint_gt(strlen(v[k].summary), 20);
        ck_assert_ptr_null(strchr(v[k].summary, '\n'));
    }
    ck_assert_ptr_null(hx_generator_find("no-such-kind"));
    ck_assert_ptr_null(hx_generator_find(""));
}
END_TEST

/* An unknown profile is refused before anything is written. */
START_TEST(t_gen_bad_profile)
{
    struct hx_gen_options o = {
        .ops = 100, .seed = 1, .profile = OBM_NPROFILES};
    const struct hx_generator *gen = &hx_generators(&(size_t){0})[_i];
    struct hx_trace t;
    hx_trace_init(&t, gen->name);
    ck_assert_int_eq(gen->generate(&t, &o), -1);
    ck_assert_uint_eq(t.nops, 0);
    hx_trace_free(&t);
}
END_TEST

/* The budget is honoured: within a factor of what was asked. */
START_TEST(t_gen_budget)
{
    const struct hx_generator *gen = hx_generator_find(kinds[_i].name);
    struct hx_trace t;
    generate(&t, gen, OBM_PY311, 60000, 5);
    ck_assert_msg(t.nops >= 40000 && t.nops <= 100000,
                  "%s: %zu ops for a budget of 60000", gen->name, t.nops);
    hx_trace_free(&t);
}
END_TEST

/* large-heap at its default size: over a million blocks live at once. */
START_TEST(t_gen_large_default)
{
    struct hx_trace t;
    generate(&t, hx_generator_find("large-heap"), OBM_PY311, 0, 3);
    struct seen w;
    replay(&t, OBM_PY311, &w);
    ck_assert_uint_ge(w.peak_live, 1000000);
    ck_assert_uint_le(t.nops, 2500000);
    hx_trace_free(&t);
}
END_TEST

static Suite *
gen_suite(void)
{
    Suite *s = suite_create("gen");
    TCase *tc = tcase_create("gen");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_gen_table);
    tcase_add_loop_test(tc, t_gen_bad_profile, 0, NKINDS);
    tcase_add_loop_test(tc, t_gen_budget, 0, NKINDS);
    tcase_add_loop_test(tc, t_gen_kind, 0, NKINDS * OBM_NPROFILES);
    tcase_add_test(tc, t_gen_large_default);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return tu_run(gen_suite());
}
