/* t_minimize.c — the minimizer (hx_minimize) and the C reproducer
 * (hx_emit_c).
 *
 * Built against the real core (PLANT 0): a double free hidden in a long
 * random trace shrinks to a few operations with the same first ID, labels
 * kept, `expect` and the provenance note added; a clean trace, or an ID
 * the trace does not show first, is refused; max_runs is a hard cap.
 * Built with -DPLANT=n against obm_plant_n (n = 1, 2, 4 or 11, see
 * plants[] below): a 100K-operation random trace that trips bug n shrinks
 * to at most 20 operations with the same first ID, in well under a minute.
 * Built with HX_TEST_CC (a compiler command with -I for obm.h and inv.h)
 * and HX_TEST_LIBS (libinv.a and the core's library, planted or not), the
 * C emitted for the minimized trace compiles and, run, exits 1 with the
 * same ID on stdout.
 *
 * The random traces come from a small generator here, seeded from
 * T_MINIMIZE_SEED (printed first), so the test needs no other generator.
 */
#include "hx.h"
#include "tu_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PLANT
#define PLANT 0
#endif

#define BIG_TRACE 100000
#define MAX_AFTER 20 /* operations a minimized trace may keep */

static uint64_t seed = 20240611;

/* --- A random trace -------------------------------------------------------
 */

struct rng {
    uint64_t s;
};

static uint64_t
next(struct rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Fill t with n operations: mallocs (1 in 20 above the threshold), a few
 * callocs, reallocs and frees of random live blocks, each block on a new
 * numeric label; frees wait while fewer than min_live blocks are live. */
static void
random_trace(struct hx_trace *t, size_t n, uint64_t s, size_t min_live)
{
    struct rng r = {s};
    uint32_t *live = malloc(n * sizeof *live);
    ck_assert_ptr_nonnull(live);
    size_t nlive = 0;
    uint64_t label = 1000;
    hx_trace_init(t, "random");
    while (t->nops < n) {
        // one draw per statement: argument order is unspecified, and the
        // seed must give the same trace whatever the compiler
        unsigned dice = (unsigned)(next(&r) % 100);
        uint64_t x = next(&r), y = next(&r);
        int rc;
        if (nlive < min_live || nlive == 0 || dice < 45) {
            uint32_t slot = hx_slot_num(t, label++);
            uint64_t size = x % 20 == 0 ? 513 + y % 2048 : 1 + y % 512;
            rc = dice < 5 ? hx_push(t, HX_CALLOC, 0, slot, 1 + x % 16,
                                    1 + y % 32, 0)
                          : hx_push(t, HX_MALLOC, 0, slot, size, 0, 0);
            live[nlive++] = slot;
        } else if (dice < 60) {
            rc = hx_push(t, HX_REALLOC, 0, live[x % nlive], 1 + y % 600, 0, 0);
        } else {
            size_t k = x % nlive;
            rc = hx_push(t, HX_FREE, 0, live[k], 0, 0, 0);
            live[k] = live[--nlive];
        }
        ck_assert_int_eq(rc, 0);
    }
    free(live);
}

/* --- Helpers --------------------------------------------------------------
 */

static void
options(struct hx_min_options *o, enum obm_profile p)
{
    memset(o, 0, sizeof *o);
    hx_run_options_default(&o->run);
    o->run.profile = p;
}

/* Return the first violation ID t shows under o (NULL if clean). */
static const char *
first_id(const struct hx_trace *t, const struct hx_run_options *o, char id[8])
{
    struct hx_run_result *res = malloc(sizeof *res);
    ck_assert_ptr_nonnull(res);
    int rc = hx_run(t, o, res);
    ck_assert_int_ne(rc, 2);
    snprintf(id, 8, "%s", rc == 1 ? res->report.kept[0].id : "");
    free(res);
    return rc == 1 ? id : NULL;
}

/* Check what every minimized trace must be: valid, failing under o with
 * the kept ID first, `expect` naming it, the note first, source .min. */
static void
check_result(const struct hx_trace *out, const struct hx_min_stats *st,
             const struct hx_run_options *o, const char *id)
{
    char err[256], got[8];
    ck_assert_msg(hx_validate(out, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(st->id, id);
    ck_assert_uint_eq(st->ops_after, out->nops);
    ck_assert_ptr_nonnull(first_id(out, o, got));
    ck_assert_str_eq(got, id);
    ck_assert_uint_eq(out->nexpect, 1);
    ck_assert_str_eq(out->expect[0], id);
    ck_assert_uint_ge(out->nnotes, 1);
    ck_assert_uint_eq(out->notes[0].at, 0);
    ck_assert_ptr_nonnull(strstr(out->notes[0].text, "minimized from"));
    ck_assert_ptr_nonnull(strstr(out->notes[0].text, id));
    size_t n = strlen(out->source);
    ck_assert(n > 4 && strcmp(out->source + n - 4, ".min") == 0);
}

/* Write out as C, build it with HX_TEST_CC and HX_TEST_LIBS, run it:
 * it must exit 1 and name id.  Skipped when the build gave no compiler. */
static void
check_emitted(const struct hx_trace *out, enum obm_profile p, const char *id)
{
#if defined(HX_TEST_CC) && defined(HX_TEST_LIBS)
    char dir[] = "/tmp/t_minimize.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char src[64], bin[64], log[64], cmd[1024], text[4096] = "";
    snprintf(src, sizeof src, "%s/repro.c", dir);
    snprintf(bin, sizeof bin, "%s/repro", dir);
    snprintf(log, sizeof log, "%s/out", dir);
    FILE *f = fopen(src, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(hx_emit_c(out, p, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "%s -o %s %s %s", HX_TEST_CC, bin, src,
             HX_TEST_LIBS);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "could not build the reproducer: %s", cmd);
    snprintf(cmd, sizeof cmd, "%s > %s", bin, log);
    rc = system(cmd);
    ck_assert(WIFEXITED(rc));
    ck_assert_int_eq(WEXITSTATUS(rc), 1);
    f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    char want[16];
    snprintf(want, sizeof want, "INV %s ", id);
    ck_assert_msg(strstr(text, want) != NULL, "no %s in:\n%s", id, text);
    unlink(src);
    unlink(bin);
    unlink(log);
    rmdir(dir);
#else
    (void)out;
    (void)p;
    (void)id;
#endif
}

#if PLANT == 0

/* --- Misuse and the contract (the real core) -----------------------------
 */

/* Copy r into t with a double free right after the skip-th free at or
 * after op `at` (labels equal slots in both). */
static void
copy_with_double_free(struct hx_trace *t, const struct hx_trace *r, size_t at,
                      unsigned skip)
{
    hx_trace_init(t, "random+double-free");
    for (uint32_t s = 0; s < r->nslots; s++)
        ck_assert_uint_eq(hx_slot_num(t, r->labels[s].num), s);
    for (size_t i = 0; i < r->nops; i++) {
        const struct hx_op *op = &r->ops[i];
        ck_assert_int_eq(
            hx_push(t, op->kind, op->flags, op->slot, op->a, op->b, 0), 0);
        if (i >= at && op->kind == HX_FREE && skip-- == 0)
            ck_assert_int_eq(hx_push(t, HX_DOUBLE_FREE, 0, op->slot, 0, 0, 0),
                             0);
    }
}

/* A random trace of n ops with a double free after op `at` that the
 * runner sees under o: not of a raw block, nor in a released arena, where
 * the runner declines it. */
static void
trace_with_double_free(struct hx_trace *t, size_t n, size_t at,
                       const struct hx_run_options *o)
{
    struct hx_trace r;
    random_trace(&r, n, seed, 1);
    char id[8];
    for (unsigned skip = 0;; skip++) {
        ck_assert_uint_lt(skip, 100);
        copy_with_double_free(t, &r, at, skip);
        if (first_id(t, o, id) != NULL)
            break;
        hx_trace_free(t);
    }
    hx_trace_free(&r);
}

START_TEST(double_free_in_a_crowd)
{
    struct hx_trace t, out;
    struct hx_min_options o;
    options(&o, OBM_PY311);
    trace_with_double_free(&t, BIG_TRACE, BIG_TRACE / 2, &o.run);
    char id[8];
    ck_assert_ptr_nonnull(first_id(&t, &o.run, id));
    struct hx_min_stats st;
    ck_assert_int_eq(hx_minimize(&t, &o, &out, &st), 0);
    printf("double free: %zu -> %zu operations, %s, %lu replays\n",
           st.ops_before, st.ops_after, st.id, st.runs);
    check_result(&out, &st, &o.run, id);
    ck_assert_uint_le(out.nops, MAX_AFTER);
    ck_assert_uint_eq(st.ops_before, t.nops);
    bool has = false;
    for (size_t i = 0; i < out.nops; i++)
        has |= out.ops[i].kind == HX_DOUBLE_FREE;
    ck_assert(has);
    check_emitted(&out, OBM_PY311, id);
    hx_trace_free(&out);
    hx_trace_free(&t);
}
END_TEST

/* A named double free among noise: labels survive, noise goes. */
START_TEST(labels_kept)
{
    struct hx_trace t, out;
    hx_trace_init(&t, "named");
    uint32_t a = hx_slot_name(&t, "alpha"), b = hx_slot_name(&t, "beta");
    uint32_t c = hx_slot_name(&t, "gamma"), d = hx_slot_num(&t, 7);
    ck_assert_int_eq(hx_note_add(&t, false, " a note to drop"), 0);
    hx_push(&t, HX_MALLOC, 0, d, 700, 0, 0);
    hx_push(&t, HX_MALLOC, 0, a, 24, 0, 0);
    hx_push(&t, HX_MALLOC, 0, b, 24, 0, 0);
    hx_push(&t, HX_REALLOC, 0, d, 40, 0, 0);
    hx_push(&t, HX_MALLOC, 0, c, 24, 0, 0);
    hx_push(&t, HX_FAULT_ARENAS, 0, HX_NO_SLOT, 1, 0, 0);
    hx_push(&t, HX_FREE, 0, b, 0, 0, 0);
    hx_push(&t, HX_FREE, 0, a, 0, 0, 0);
    hx_push(&t, HX_DOUBLE_FREE, 0, a, 0, 0, 0);
    hx_push(&t, HX_FREE, 0, c, 0, 0, 0);
    hx_push(&t, HX_FREE, 0, d, 0, 0, 0);
    struct hx_min_options o;
    // py39 keeps the wholly free tail arena: the double free that empties
    // the pool under gamma releases nothing (see run_ops.c op_misuse)
    options(&o, OBM_PY39);
    char id[8];
    ck_assert_ptr_nonnull(first_id(&t, &o.run, id));
    struct hx_min_stats st;
    ck_assert_int_eq(hx_minimize(&t, &o, &out, &st), 0);
    check_result(&out, &st, &o.run, id);
    ck_assert_uint_lt(out.nops, t.nops);
    ck_assert_uint_eq(out.nnotes, 1);
    ck_assert_str_eq(out.source, "named.min");
    char l[72];
    for (size_t i = 0; i < out.nops; i++) {
        if (out.ops[i].kind == HX_DOUBLE_FREE)
            ck_assert_str_eq(hx_label_str(&out, out.ops[i].slot, l, sizeof l),
                             "alpha");
    }
    check_emitted(&out, OBM_PY39, id);
    hx_trace_free(&out);
    hx_trace_free(&t);
}
END_TEST

START_TEST(clean_trace_refused)
{
    struct hx_trace t, out;
    random_trace(&t, 2000, seed, 1);
    struct hx_min_options o;
    options(&o, OBM_PY311);
    struct hx_min_stats st;
    ck_assert_int_eq(hx_minimize(&t, &o, &out, &st), 1);
    ck_assert_uint_eq(st.runs, 1);
    hx_trace_free(&out); // safe: left empty
    hx_trace_free(&t);
}
END_TEST

START_TEST(other_id_refused)
{
    struct hx_trace t, out;
    struct hx_min_options o;
    options(&o, OBM_PY311);
    trace_with_double_free(&t, 2000, 1000, &o.run);
    o.id = "A99";
    struct hx_min_stats st;
    ck_assert_int_eq(hx_minimize(&t, &o, &out, &st), 1);
    hx_trace_free(&out);
    hx_trace_free(&t);
}
END_TEST

START_TEST(max_runs_honoured)
{
    struct hx_trace t, out;
    struct hx_min_options o;
    options(&o, OBM_PY311);
    trace_with_double_free(&t, 5000, 2500, &o.run);
    o.max_runs = 6;
    char id[8];
    ck_assert_ptr_nonnull(first_id(&t, &o.run, id));
    struct hx_min_stats st;
    ck_assert_int_eq(hx_minimize(&t, &o, &out, &st), 0);
    ck_assert_uint_le(st.runs, 6);
    check_result(&out, &st, &o.run, id);
    hx_trace_free(&out);
    hx_trace_free(&t);
}
END_TEST

#else

/* --- A planted bug in a long trace ---------------------------------------
 */

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Where each planted bug shows in a random trace: the profile, the live
 * blocks kept (so the heap never empties before the drain), the ID. */
static const struct plant {
    int plant;
    enum obm_profile profile;
    size_t min_live;
    const char *id;
} plants[] = {
    // py38: its 4 KiB pools fill with 7 blocks (py311 needs 31 or more)
    {1, OBM_PY38, 1, "B6"},
    {2, OBM_PY311, 256, "B9"}, /* only in the drain: nothing to cut */
    {4, OBM_PY311, 1, "B10"},
    {11, OBM_PY39, 1, "B2"},
};

START_TEST(planted_bug_shrinks)
{
    const struct plant *p = NULL;
    for (size_t k = 0; k < sizeof plants / sizeof plants[0]; k++)
        if (plants[k].plant == PLANT)
            p = &plants[k];
    ck_assert_msg(p != NULL, "no case for planted bug %d", PLANT);
    struct hx_trace t, out;
    random_trace(&t, BIG_TRACE, seed, p->min_live);
    struct hx_min_options o;
    options(&o, p->profile);
    char id[8];
    ck_assert_ptr_nonnull(first_id(&t, &o.run, id));
    ck_assert_str_eq(id, p->id);
    struct hx_min_stats st;
    double t0 = now();
    ck_assert_int_eq(hx_minimize(&t, &o, &out, &st), 0);
    double secs = now() - t0;
    printf("plant %d (%s): %zu -> %zu operations, %s, %lu replays, "
           "%.2f s\n",
           PLANT, obm_geometry(p->profile)->name, st.ops_before, st.ops_after,
           st.id, st.runs, secs);
    check_result(&out, &st, &o.run, id);
    ck_assert_uint_le(out.nops, MAX_AFTER);
    ck_assert(secs < 60);
    check_emitted(&out, p->profile, id);
    hx_trace_free(&out);
    hx_trace_free(&t);
}
END_TEST

#endif

static Suite *
minimize_suite(void)
{
    Suite *s = suite_create("minimize");
    TCase *tc = tcase_create("minimize");
    tcase_set_timeout(tc, 600);
#if PLANT == 0
    tcase_add_test(tc, double_free_in_a_crowd);
    tcase_add_test(tc, labels_kept);
    tcase_add_test(tc, clean_trace_refused);
    tcase_add_test(tc, other_id_refused);
    tcase_add_test(tc, max_runs_honoured);
#else
    tcase_add_test(tc, planted_bug_shrinks);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    const char *env = getenv("T_MINIMIZE_SEED");
    if (env != NULL)
        seed = strtoull(env, NULL, 0);
    printf("t_minimize: seed %llu (T_MINIMIZE_SEED), plant %d\n",
           (unsigned long long)seed, PLANT);
    fflush(stdout);
    return tu_run(minimize_suite());
}
