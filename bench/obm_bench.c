/* obm_bench.c — one small-object workload replayed against the core (py311),
 * CPython's own pymalloc and glibc malloc; prints ns/op per allocator and
 * the ratio core/pymalloc.
 *
 * The workload, per live-set size L (default 1K, 100K and 1M blocks), is
 * generated once from the seed before anything is timed:
 *   warm-up  L allocations in order (untimed), filling the live set;
 *   steady   --ops ops (default 10M), each freeing a uniformly random live
 *            block and allocating a new one into its slot, so exactly L
 *            blocks stay live; only this phase is timed (CLOCK_MONOTONIC).
 * Sizes, fixed and Python-like: 70% 16-64 bytes, 25% 65-256, 5% 257-512,
 * uniform within each band (mean about 87 bytes); all served by pools.
 * Every new block gets one word written, for every allocator alike.
 * One op = one free + one malloc; ns/op is per such pair.
 *
 * Each allocator replays the identical sequence --runs times (default 5),
 * interleaved core, pymalloc, glibc, core, ...; the table gives the median
 * and [min-max] of ns/op, and core/pymalloc is the ratio of the medians.
 *
 *   build/default/bin/obm_bench [--seed N] [--ops N] [--runs N]
 *       [--sizes 1K,100K,1M] [--only core|pymalloc|glibc[,...]] [--json FILE]
 *   ci/bench [args]    builds if needed, pins to CPU 1, runs the above
 *
 * Time on this 2-core VM drifts by 10-30% between runs, mostly for all
 * allocators at once; "paired" is therefore also given: the median over runs
 * of core/pymalloc within the same run, which cancels drift slower than one
 * round.  The verdict uses the ratio of the medians.
 *
 * Instruction counts (exact and repeatable, unlike time on a shared VM):
 * replay one allocator at one size under callgrind, counting only its
 * steady phase, then divide the Ir total by --ops.  The trailing * matters:
 * gcc may emit the loop as a clone (steady_glibc.constprop.0).
 *   valgrind --tool=callgrind --collect-atstart=no \
 *       '--toggle-collect=steady_core*' --callgrind-out-file=cg.core \
 *       build/default/bin/obm_bench --only core --sizes 100K --runs 1 \
 *       --ops 1000000
 *   callgrind_annotate --inclusive=yes cg.core | head -30
 * (steady_pymalloc* and steady_glibc* likewise, --only pymalloc|glibc).
 * Add --cache-sim=yes --D1=32768,8,64 --LL=33554432,16,64 for simulated
 * cache misses (valgrind misreads this VM's L3 on its own).
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_SEED UINT64_C(0x0b5e11c0ffee)
#define DEFAULT_OPS 10000000u
#define DEFAULT_RUNS 5u
#define DEFAULT_SIZES "1K,100K,1M"
#define MAX_SIZES 16
#define MAX_RUNS 101

static const struct bench_allocator *const all_allocators[] = {
    &bench_core, &bench_pymalloc, &bench_glibc};
#define NALLOCATORS (sizeof all_allocators / sizeof all_allocators[0])

struct options {
    uint64_t seed;
    size_t nops;
    unsigned runs;
    size_t nsizes;
    size_t live[MAX_SIZES];
    char label[MAX_SIZES][16];
    bool only[NALLOCATORS]; /* all false: every allocator */
    const char *json;
};

/* Samples and summary of one allocator at one size, in ns per op. */
struct result {
    bool ran;
    double ns_per_op[MAX_RUNS];
    double median, min, max;
};

void
bench_die(const char *msg)
{
    fprintf(stderr, "obm_bench: %s\n", msg);
    exit(1);
}

/* --- The generator: splitmix64, seeded per live-set size ---------------- */

static uint64_t
next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Return a number in [0, n), n < 2^32 (Lemire's multiply-shift). */
static uint32_t
random_below(uint64_t *state, uint32_t n)
{
    return (uint32_t)(((next_random(state) >> 32) * (uint64_t)n) >> 32);
}

/* Return a size from the fixed Python-like mix described at the top. */
static uint32_t
random_size(uint64_t *state)
{
    uint32_t band = random_below(state, 100);
    if (band < 70)
        return 16 + random_below(state, 64 - 16 + 1);
    if (band < 95)
        return 65 + random_below(state, 256 - 65 + 1);
    return 257 + random_below(state, 512 - 257 + 1);
}

/* Generate the workload for live-set size live; the sequence depends only
 * on the seed and live, so --sizes 100K alone replays the same ops. */
static void
make_workload(struct bench_workload *w, uint64_t seed, size_t live,
              size_t nops)
{
    uint64_t state = seed ^ ((uint64_t)live * UINT64_C(0xd1b54a32d192ed03));
    uint16_t *fill = malloc(live * sizeof *fill);
    uint32_t *ops = malloc(nops * sizeof *ops);
    if (fill == NULL || ops == NULL)
        bench_die("out of memory for the workload");
    for (size_t i = 0; i < live; i++)
        fill[i] = (uint16_t)random_size(&state);
    for (size_t i = 0; i < nops; i++) {
        uint32_t slot = random_below(&state, (uint32_t)live);
        ops[i] = slot << BENCH_SIZE_BITS | (random_size(&state) - 1u);
    }
    *w = (struct bench_workload){
        .live = live, .fill = fill, .nops = nops, .ops = ops};
}

static void
free_workload(struct bench_workload *w)
{
    free((void *)w->fill);
    free((void *)w->ops);
}

/* --- Options ------------------------------------------------------------ */

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: obm_bench [--seed N] [--ops N] [--runs N] [--sizes LIST]\n"
            "                 [--only NAME[,NAME...]] [--json FILE]\n"
            "  --seed N    workload seed (default 0x%" PRIx64 ")\n"
            "  --ops N     timed ops per run, one op = free + malloc "
            "(default %u)\n"
            "  --runs N    runs per allocator, interleaved (default %u)\n"
            "  --sizes L   live-set sizes, K = 1000, M = 1000000 "
            "(default %s)\n"
            "  --only A    allocators to run: core, pymalloc, glibc\n"
            "  --json F    also write the results as JSON to F\n",
            DEFAULT_SEED, DEFAULT_OPS, DEFAULT_RUNS, DEFAULT_SIZES);
}

/* Parse an unsigned number with an optional K or M suffix (x1000). */
static bool
parse_count(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *s == '-')
        return false;
    if (*end == 'K' || *end == 'k')
        v *= 1000u, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1000000u, end++;
    *out = v;
    return *end == '\0';
}

static void
parse_sizes(struct options *o, const char *list)
{
    char buf[256];
    if (strlen(list) >= sizeof buf)
        bench_die("--sizes: list too long");
    strcpy(buf, list);
    o->nsizes = 0;
    for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
        uint64_t v;
        if (o->nsizes == MAX_SIZES)
            bench_die("--sizes: too many sizes");
        if (!parse_count(tok, &v) || v == 0 || v > BENCH_MAX_LIVE
            || strlen(tok) >= sizeof o->label[0])
            bench_die(
                "--sizes: each size must be 1 .. 8388608 (K, M allowed)");
        o->live[o->nsizes] = (size_t)v;
        strcpy(o->label[o->nsizes], tok);
        o->nsizes++;
    }
    if (o->nsizes == 0)
        bench_die("--sizes: empty list");
}

static void
parse_only(struct options *o, const char *list)
{
    char buf[64];
    if (strlen(list) >= sizeof buf)
        bench_die("--only: list too long");
    strcpy(buf, list);
    for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
        size_t k = 0;
        while (k < NALLOCATORS && strcmp(tok, all_allocators[k]->name) != 0)
            k++;
        if (k == NALLOCATORS)
            bench_die("--only: allocators are core, pymalloc, glibc");
        o->only[k] = true;
    }
}

static void
parse_options(struct options *o, int argc, char **argv)
{
    *o = (struct options){
        .seed = DEFAULT_SEED, .nops = DEFAULT_OPS, .runs = DEFAULT_RUNS};
    parse_sizes(o, DEFAULT_SIZES);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (v == NULL) {
            usage(stderr);
            fprintf(stderr, "obm_bench: %s: unknown or missing its value\n",
                    a);
            exit(1);
        }
        i++;
        if (strcmp(a, "--seed") == 0 && parse_count(v, &n))
            o->seed = n;
        else if (strcmp(a, "--ops") == 0 && parse_count(v, &n) && n > 0
                 && n <= SIZE_MAX / sizeof(uint32_t))
            o->nops = (size_t)n;
        else if (strcmp(a, "--runs") == 0 && parse_count(v, &n) && n > 0
                 && n <= MAX_RUNS)
            o->runs = (unsigned)n;
        else if (strcmp(a, "--sizes") == 0)
            parse_sizes(o, v);
        else if (strcmp(a, "--only") == 0)
            parse_only(o, v);
        else if (strcmp(a, "--json") == 0)
            o->json = v;
        else {
            usage(stderr);
            fprintf(stderr, "obm_bench: %s %s: unknown option or bad value\n",
                    a, v);
            exit(1);
        }
    }
}

/* --- Statistics and reporting ------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void
summarise(struct result *r, unsigned runs)
{
    double s[MAX_RUNS];
    memcpy(s, r->ns_per_op, runs * sizeof s[0]);
    qsort(s, runs, sizeof s[0], cmp_double);
    r->min = s[0];
    r->max = s[runs - 1];
    r->median = runs % 2 ? s[runs / 2] : (s[runs / 2 - 1] + s[runs / 2]) / 2;
}

/* Return the median over runs of core/pymalloc within the same run. */
static double
paired_ratio(const struct result *core, const struct result *py, unsigned runs)
{
    struct result r = {.ran = true};
    for (unsigned i = 0; i < runs; i++)
        r.ns_per_op[i] = core->ns_per_op[i] / py->ns_per_op[i];
    summarise(&r, runs);
    return r.median;
}

static void
print_cpus(void)
{
    cpu_set_t set;
    printf("cpus: ");
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        printf("unknown\n");
        return;
    }
    const char *sep = "";
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
            printf("%s%d", sep, c);
            sep = ",";
        }
    printf(" of %ld online%s\n", sysconf(_SC_NPROCESSORS_ONLN),
           CPU_COUNT(&set) > 1 ? " (not pinned; taskset -c 1 is steadier)"
                               : "");
}

static void
print_cell(const struct result *r)
{
    char buf[48];
    if (r->ran)
        snprintf(buf, sizeof buf, "%.2f [%.2f-%.2f]", r->median, r->min,
                 r->max);
    else
        snprintf(buf, sizeof buf, "-");
    printf("  %-22s", buf);
}

static void
write_json(const struct options *o, const bool *sel,
           struct result (*res)[NALLOCATORS], const char *verdict)
{
    FILE *f = fopen(o->json, "w");
    if (f == NULL)
        bench_die("--json: cannot open the file");
    fprintf(f, "{\n  \"seed\": %" PRIu64 ",\n  \"ops\": %zu,\n", o->seed,
            o->nops);
    fprintf(f,
            "  \"runs\": %u,\n  \"unit\": \"ns per op, op = one free + "
            "one malloc\",\n  \"sizes\": [\n",
            o->runs);
    for (size_t s = 0; s < o->nsizes; s++) {
        fprintf(f, "    {\"label\": \"%s\", \"live\": %zu, \"allocators\": {",
                o->label[s], o->live[s]);
        const char *sep = "";
        for (size_t k = 0; k < NALLOCATORS; k++) {
            const struct result *r = &res[s][k];
            if (!sel[k] || !r->ran)
                continue;
            fprintf(f,
                    "%s\n      \"%s\": {\"median\": %.4f, \"min\": %.4f, "
                    "\"max\": %.4f, \"samples\": [",
                    sep, all_allocators[k]->name, r->median, r->min, r->max);
            for (unsigned i = 0; i < o->runs; i++)
                fprintf(f, "%s%.4f", i ? ", " : "", r->ns_per_op[i]);
            fprintf(f, "]}");
            sep = ",";
        }
        fprintf(f, "}");
        if (res[s][0].ran && res[s][1].ran)
            fprintf(f,
                    ",\n      \"core_over_pymalloc\": %.4f, "
                    "\"paired\": %.4f",
                    res[s][0].median / res[s][1].median,
                    paired_ratio(&res[s][0], &res[s][1], o->runs));
        fprintf(f, "}%s\n", s + 1 < o->nsizes ? "," : "");
    }
    fprintf(f, "  ],\n  \"verdict\": \"%s\"\n}\n", verdict);
    if (fclose(f) != 0)
        bench_die("--json: write failed");
}

/* Print the table and the verdict; return the verdict word. */
static const char *
report(const struct options *o, struct result (*res)[NALLOCATORS])
{
    printf("\nns/op, op = one free + one malloc; median [min-max] of %u "
           "runs of %zu ops;\ncore/pymalloc = ratio of the medians; paired = "
           "median of the per-run ratios\n",
           o->runs, o->nops);
    printf("%-8s  %-22s  %-22s  %-22s  %-13s  %s\n", "live", "core ns/op",
           "pymalloc ns/op", "glibc ns/op", "core/pymalloc", "paired");
    bool compared = false, slower = false;
    double worst = 0;
    for (size_t s = 0; s < o->nsizes; s++) {
        printf("%-8s", o->label[s]);
        for (size_t k = 0; k < NALLOCATORS; k++)
            print_cell(&res[s][k]);
        if (res[s][0].ran && res[s][1].ran) {
            double ratio = res[s][0].median / res[s][1].median;
            printf("  %-13.3f  %.3f\n", ratio,
                   paired_ratio(&res[s][0], &res[s][1], o->runs));
            compared = true;
            slower |= ratio > 1.0;
            worst = ratio > worst ? ratio : worst;
        } else {
            printf("  %-13s  n/a\n", "n/a");
        }
    }
    if (!compared) {
        printf("verdict: n/a (core and pymalloc were not both run)\n");
        return "n/a";
    }
    printf("verdict: %s (largest core/pymalloc ratio %.3f)\n",
           slower ? "FAIL: the core is slower than pymalloc at some size"
                  : "PASS: the core is at least as fast as pymalloc at "
                    "every size",
           worst);
    return slower ? "fail" : "pass";
}

int
main(int argc, char **argv)
{
    struct options o;
    parse_options(&o, argc, argv);
    bool any_only = false, sel[NALLOCATORS];
    for (size_t k = 0; k < NALLOCATORS; k++)
        any_only |= o.only[k];
    printf("seed: 0x%" PRIx64 " (--seed to replay)\n", o.seed);
    printf("workload: %zu timed ops per run after a warm-up fill; "
           "sizes 70%% 16-64 B, 25%% 65-256 B, 5%% 257-512 B\n",
           o.nops);
    print_cpus();

    for (size_t k = 0; k < NALLOCATORS; k++) {
        const struct bench_allocator *a = all_allocators[k];
        sel[k] = !any_only || o.only[k];
        if (!sel[k])
            continue;
        if (a->missing != NULL) {
            printf("%-9s %s\n", a->name, a->missing);
            sel[k] = false;
        } else if (a->open() != 0) {
            printf("%-9s failed to initialise; left out\n", a->name);
            sel[k] = false;
        } else {
            printf("%-9s %s\n", a->name, a->describe());
        }
    }

    struct result(*res)[NALLOCATORS] = calloc(o.nsizes, sizeof *res);
    void **live = NULL;
    if (res == NULL)
        bench_die("out of memory");
    for (size_t s = 0; s < o.nsizes; s++) {
        struct bench_workload w;
        make_workload(&w, o.seed, o.live[s], o.nops);
        free(live);
        live = calloc(w.live, sizeof *live);
        if (live == NULL)
            bench_die("out of memory for the live set");
        printf("\nlive %s:", o.label[s]);
        for (unsigned r = 0; r < o.runs; r++) {
            printf("\n  run %u:", r + 1);
            for (size_t k = 0; k < NALLOCATORS; k++) {
                if (!sel[k])
                    continue;
                fflush(stdout);
                double ns = all_allocators[k]->run(&w, live);
                res[s][k].ns_per_op[r] = ns / (double)w.nops;
                res[s][k].ran = true;
                printf("  %s %.2f", all_allocators[k]->name,
                       res[s][k].ns_per_op[r]);
            }
        }
        printf("\n");
        for (size_t k = 0; k < NALLOCATORS; k++)
            if (res[s][k].ran)
                summarise(&res[s][k], o.runs);
        free_workload(&w);
    }
    free(live);

    const char *verdict = report(&o, res);
    if (o.json != NULL)
        write_json(&o, sel, res, verdict);
    for (size_t k = 0; k < NALLOCATORS; k++)
        if (sel[k])
            all_allocators[k]->close();
    free(res);
    return 0;
}
