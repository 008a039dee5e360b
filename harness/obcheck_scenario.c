/* obcheck_scenario.c — the obcheck command line and its built-in scenario.
 *
 * Until the trace runner lands, obcheck has one verb.  `obcheck scenario`
 * replays a seeded mix of malloc, calloc, realloc and free through the core
 * in every profile, across every size class and the threshold, then fills
 * several arenas and frees them all.  A shadow table keeps each live
 * block's pointer, size and id; a block's bytes are a pattern of its id,
 * checked on every realloc and free.  Once all is freed the heap must be
 * drained: no block allocated, and no arena left but the 3.9+ tail arena.
 *
 * Exit status: 0 clean, 1 a problem was found, 2 usage error.
 */
#include "obm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIX_OPS 50000 /* operations in the mixed phase, by default */
#define MIX_LIVE 1000 /* blocks the mixed phase keeps live, on average */
#define FILL_ARENAS 4 /* arenas the fill phase adds to the mix's */

struct block {
    uint8_t *p;
    size_t n;
    uint64_t id;
};

struct run {
    obm_heap *h;
    const struct obm_geometry *g;
    uint64_t rng;
    struct block *live; /* the shadow table, unordered */
    size_t nlive, cap;
    uint64_t nextid;
    unsigned long ops;         /* operations replayed so far */
    unsigned long pool_blocks; /* allocations served from a pool */
    unsigned long raw_blocks;  /* allocations served by the raw allocator */
    unsigned long problems;
    FILE *stats; /* gets obm_print_stats at the peak, or NULL */
};

static const char usage_text[] =
    "usage: obcheck scenario [--profile P] [--seed S] [--ops N]\n"
    "       obcheck --help\n\n"
    "scenario: replay a seeded mix of malloc/calloc/realloc/free through the\n"
    "core in every profile (or profile P: py27 py35 py38 py39 py310 py311),\n"
    "fill several arenas, free everything and check the heap drained.\n"
    "Exit status: 0 clean, 1 a problem was found, 2 usage error.\n";

/* splitmix64: small, fast, and every seed gives a full-period stream. */
static uint64_t
next_random(struct run *r)
{
    uint64_t z = (r->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static size_t
below(struct run *r, size_t n)
{
    return (size_t)(next_random(r) % n);
}

static uint8_t
pattern(uint64_t id, size_t i)
{
    return (uint8_t)((id ^ (id >> 8)) * 131u + i * 7u + 1u);
}

static void
problem(struct run *r, const char *what, const struct block *b,
        const char *detail, size_t at)
{
    fflush(stdout); /* keep the report in order with the table */
    fprintf(stderr, "obcheck: scenario: %s: op #%lu %s", r->g->name, r->ops,
            what);
    if (b != NULL)
        fprintf(stderr, " id=%" PRIu64 " (%zu bytes at %p)", b->id, b->n,
                (void *)b->p);
    fprintf(stderr, ": %s %zu\n", detail, at);
    r->problems++;
}

/* Check the first n bytes of b against its pattern; false on a mismatch. */
static bool
verify(struct run *r, const struct block *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (b->p[i] != pattern(b->id, i)) {
            problem(r, what, b, "pattern broken at byte", i);
            return false;
        }
    }
    return true;
}

static void
fill(struct block *b, size_t from)
{
    for (size_t i = from; i < b->n; i++)
        b->p[i] = pattern(b->id, i);
}

/* Take a fresh block of n bytes into the shadow table, after checking
 * where the core put it: requests of 1..threshold bytes come from a pool
 * (arenas come from mmap here), at ALIGNMENT, with the class's size. */
static void
adopt(struct run *r, void *p, size_t n, const char *what, bool zeroed)
{
    struct block b = {p, n, r->nextid++};
    r->ops++;
    if (p == NULL) {
        problem(r, what, NULL, "returned NULL for bytes", n);
        return;
    }
    bool small = n >= 1 && n <= r->g->threshold;
    size_t want =
        small
            ? obm_blocksize(r->g, (unsigned)((n - 1) >> r->g->alignment_shift))
            : 0;
    if (obm_owns(r->h, p) != small)
        problem(r, what, &b, "pool ownership wrong for size", n);
    else if ((uintptr_t)p % r->g->alignment != 0)
        problem(r, what, &b, "misaligned for ALIGNMENT", r->g->alignment);
    else if (obm_usable_size(r->h, p) != want)
        problem(r, what, &b, "usable size is", obm_usable_size(r->h, p));
    for (size_t i = 0; zeroed && i < n && !r->problems; i++)
        if (b.p[i] != 0)
            problem(r, what, &b, "not zeroed at byte", i);
    if (small)
        r->pool_blocks++;
    else
        r->raw_blocks++;
    if (r->nlive == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        r->live = realloc(r->live, r->cap * sizeof *r->live);
        if (r->live == NULL) {
            fprintf(stderr, "obcheck: out of memory for the shadow table\n");
            exit(1);
        }
    }
    fill(&b, 0);
    r->live[r->nlive++] = b;
}

/* Draw a request size: mostly small, some around the threshold, some raw
 * (above it, or 0, which the core serves as 1 raw byte). */
static size_t
random_size(struct run *r)
{
    unsigned t = r->g->threshold;
    switch (below(r, 16)) {
    case 0:
        return t - 8 + below(r, 17);
    case 1:
        return t + 1 + below(r, 3 * t);
    case 2:
        return below(r, 2);
    default:
        return 1 + below(r, t);
    }
}

static void
do_alloc(struct run *r)
{
    size_t n = random_size(r), el = (size_t)1 << below(r, 5);
    switch (below(r, 8)) {
    case 0:
        n = (n + el - 1) / el;
        adopt(r, obm_calloc(r->h, n, el), n * el, "calloc", true);
        break;
    case 1:
        adopt(r, obm_realloc(r->h, NULL, n), n, "realloc(NULL)", false);
        break;
    default:
        adopt(r, obm_malloc(r->h, n), n, "malloc", false);
    }
}

static void
do_free(struct run *r, size_t i)
{
    struct block *b = &r->live[i];
    r->ops++;
    if (!verify(r, b, b->n, "free"))
        return;
    obm_free(r->h, b->p);
    *b = r->live[--r->nlive];
}

/* Resize block i: a slight shrink (kept in place by the 3/4 rule), a deep
 * shrink, or any new size; the common prefix must survive. */
static void
do_realloc(struct run *r, size_t i)
{
    struct block *b = &r->live[i];
    size_t k = below(r, 3);
    size_t n = k == 0 ? b->n - b->n / 8 : k == 1 ? b->n / 3 : random_size(r);
    r->ops++;
    if (!verify(r, b, b->n, "realloc"))
        return;
    n = n ? n : 1; /* realloc(p, 0) differs between generations */
    uint8_t *q = obm_realloc(r->h, b->p, n);
    if (q == NULL) {
        problem(r, "realloc", b, "returned NULL for bytes", n);
        return;
    }
    size_t keep = n < b->n ? n : b->n;
    b->p = q;
    if (verify(r, b, keep, "realloc (moved prefix)")) {
        b->n = n;
        fill(b, keep);
    }
}

/* Fill FILL_ARENAS more arenas with blocks of every class in turn, then
 * free those blocks in random order. */
static void
fill_arenas(struct run *r)
{
    struct obm_state s;
    obm_heap_state(r->h, &s);
    size_t first = r->nlive;
    size_t target = *s.narenas_currently_allocated + FILL_ARENAS;
    for (unsigned k = 0; *s.narenas_currently_allocated < target; k++) {
        size_t n = obm_blocksize(r->g, k % r->g->nclasses);
        adopt(r, obm_malloc(r->h, n), n, "malloc (fill)", false);
        if (r->problems)
            return;
    }
    if (r->stats != NULL)
        obm_print_stats(r->h, r->stats);
    while (r->nlive > first && !r->problems)
        do_free(r, first + below(r, r->nlive - first));
}

/* Run the scenario in one profile and print its row of the summary. */
static bool
run_profile(enum obm_profile profile, uint64_t seed, unsigned long long nops,
            FILE *stats)
{
    struct run r = {.rng = seed, .stats = stats};
    r.h = obm_heap_new(profile, NULL);
    if (r.h == NULL) {
        fprintf(stderr, "obcheck: cannot create a heap for profile %d\n",
                (int)profile);
        return false;
    }
    r.g = obm_heap_geometry(r.h);
    // one block of every class, and each side of the threshold
    for (unsigned k = 0; k < r.g->nclasses; k++)
        adopt(&r, obm_malloc(r.h, obm_blocksize(r.g, k)),
              obm_blocksize(r.g, k), "malloc (classes)", false);
    adopt(&r, obm_malloc(r.h, r.g->threshold + 1), r.g->threshold + 1,
          "malloc (threshold + 1)", false);
    while (r.ops < nops && !r.problems) {
        size_t k = r.nlive ? below(&r, r.nlive) : 0;
        if (r.nlive == 0 || below(&r, 2 * MIX_LIVE) >= r.nlive)
            do_alloc(&r);
        else if (below(&r, 3) == 0)
            do_realloc(&r, k);
        else
            do_free(&r, k);
    }
    if (!r.problems)
        fill_arenas(&r);
    while (r.nlive > 0 && !r.problems)
        do_free(&r, r.nlive - 1);

    struct obm_state s;
    obm_heap_state(r.h, &s);
    size_t left = obm_allocated_blocks(r.h);
    size_t kept = *s.narenas_currently_allocated;
    if (!r.problems && left != 0)
        problem(&r, "after freeing all", NULL, "allocated blocks:", left);
    if (!r.problems && kept > (r.g->keep_tail_arena ? 1u : 0u))
        problem(&r, "after freeing all", NULL,
                "arenas still allocated:", kept);
    printf("%-7s %8lu %7zu %9zu %11lu %10lu  %s\n", r.g->name, r.ops,
           *s.ntimes_arena_allocated, *s.narenas_highwater, r.pool_blocks,
           r.raw_blocks, r.problems ? "FAIL" : "ok");
    fflush(stdout);
    // after a problem the heap may be broken: release it, not the blocks
    obm_heap_free(r.h);
    free(r.live);
    return r.problems == 0;
}

static int
usage_error(const char *fmt, const char *arg)
{
    fputs("obcheck: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (try obcheck --help)\n", stderr);
    return 2;
}

static bool
parse_number(const char *s, unsigned long long *out)
{
    char *end;
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return *end == '\0' && errno == 0;
}

static int
scenario(int argc, char **argv)
{
    int first = 0, last = OBM_NPROFILES - 1;
    unsigned long long seed = (uint64_t)time(NULL) ^ (uint64_t)clock() << 32;
    unsigned long long nops = MIX_OPS;
    for (int i = 0; i < argc; i += 2) {
        const char *opt = argv[i], *arg = argv[i + 1];
        enum obm_profile p;
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (strcmp(opt, "--profile") == 0 && arg != NULL) {
            if (obm_profile_parse(arg, &p) != 0)
                return usage_error("unknown profile '%s': use one of py27 "
                                   "py35 py38 py39 py310 py311",
                                   arg);
            first = last = (int)p;
        } else if (strcmp(opt, "--seed") == 0) {
            if (!parse_number(arg, &seed))
                return usage_error("--seed wants a number, not '%s'",
                                   arg ? arg : "");
        } else if (strcmp(opt, "--ops") == 0) {
            if (!parse_number(arg, &nops) || nops == 0)
                return usage_error("--ops wants a positive number, not '%s'",
                                   arg ? arg : "");
        } else {
            return usage_error("scenario: unknown or incomplete option '%s'",
                               opt);
        }
    }

    printf("obcheck scenario: seed %llu (rerun with --seed %llu)\n", seed,
           seed);
    printf("%-7s %8s %7s %9s %11s %10s  %s\n", "profile", "ops", "arenas",
           "highwater", "pool blocks", "raw blocks", "result");
    // obm_print_stats at py311's peak (or the one profile's) goes last
    enum obm_profile peak =
        first == last ? (enum obm_profile)first : OBM_PY311;
    FILE *stats = tmpfile();
    int nfailed = 0;
    for (int p = first; p <= last; p++)
        nfailed += !run_profile((enum obm_profile)p, seed, nops,
                                p == (int)peak ? stats : NULL);
    if (stats != NULL) {
        char buf[4096];
        size_t n;
        printf("\nobm_print_stats at the peak (%s):\n",
               obm_geometry(peak)->name);
        rewind(stats);
        while ((n = fread(buf, 1, sizeof buf, stats)) > 0)
            fwrite(buf, 1, n, stdout);
        fclose(stats);
    }
    printf("\nscenario: %d profiles, %d failed: %s\n", last - first + 1,
           nfailed, nfailed ? "PROBLEM FOUND" : "all clean");
    return nfailed ? 1 : 0;
}

int
main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "missing verb");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "scenario") == 0)
        return scenario(argc - 2, argv + 2);
    return usage_error("unknown verb '%s'", argv[1]);
}
