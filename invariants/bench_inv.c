/* bench_inv.c — inv_bench: what the checker costs.
 *
 *   1. INV_LOCAL at 10K and 1M live blocks (with the pool in cache the two
 *      must be within 2x: LOCAL does not grow with the heap; cold, the big
 *      heap adds the cache misses of its memory): per call on a random
 *      block, cold or with its pool in cache; then what LOCAL,
 *      inv_predict() + inv_verify(), and all three together add to each
 *      operation of a steady free/malloc workload (the trace runner's
 *      loop), checking the block each touched, as the median of a few
 *      runs, on heaps aged until empty pools fill their freepools lists
 *      (and at 1M also fresh);
 *   2. INV_FULL throughput in pools per second at 1M live blocks, with and
 *      without the live set;
 *   3. replay of a 1M-operation random workload with INV_LOCAL after every
 *      operation and INV_FULL every 4096, against the bare workload.
 *
 * Single calls are timed in wall time, whole runs in the process's CPU
 * time.
 *
 *   inv_bench [PROFILE]   (default py311) */
#include "inv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state = 88172645463325252ull;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Return seconds of wall time: cheap enough to wrap one call. */
static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Return seconds of the process's CPU time, for whole runs: on a shared
 * machine the time other processes take is not charged to the checker
 * (each reading is a system call: too dear around one call). */
static double
cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct bheap {
    obm_heap *h;
    struct inv_view v;
    struct inv_scratch sc;
    const void **live;
    size_t nlive;
};

static void
bheap_open(struct bheap *b, enum obm_profile p, size_t n)
{
    memset(b, 0, sizeof *b);
    b->h = obm_heap_new(p, NULL);
    inv_view_from_heap(&b->v, b->h);
    b->sc.size = (size_t)64 << 20;
    b->sc.mem = malloc(b->sc.size);
    b->v.scratch = &b->sc;
    b->live = malloc(n * sizeof *b->live);
    for (size_t k = 0; k < n; k++)
        b->live[b->nlive++] = obm_malloc(b->h, 16 + rng() % 113);
    // free a third at random so pools hold chains of free blocks
    for (size_t k = 0; k < n / 3; k++) {
        size_t i = rng() % b->nlive;
        obm_free(b->h, (void *)b->live[i]);
        b->live[i] = b->live[--b->nlive];
    }
    b->v.live = b->live;
    b->v.nlive = b->nlive;
    b->v.nraw = 0;
}

static void
bheap_close(struct bheap *b)
{
    for (size_t k = 0; k < b->nlive; k++)
        obm_free(b->h, (void *)b->live[k]);
    obm_heap_free(b->h);
    free(b->live);
    free(b->sc.mem);
}

/* Return ns per INV_LOCAL call on random live blocks; with warm set,
 * each timed call follows an untimed one on the same block, so the pool
 * is in cache as right after the operation that touched it. */
static double
local_cost(struct bheap *b, size_t calls, bool warm)
{
    struct inv_report r = {0};
    inv_check(&b->v, INV_FULL, NULL, 0, &r); // builds the arena index
    size_t bad = r.total;
    double dt = 0;
    for (size_t k = 0; k < calls; k++) {
        const void *x = b->live[rng() % b->nlive];
        if (warm)
            inv_check(&b->v, INV_LOCAL, x, k, &r);
        double t0 = now();
        bad += inv_check(&b->v, INV_LOCAL, x, k, &r);
        dt += now() - t0;
    }
    if (bad)
        printf("  (unexpected: %zu violations)\n", bad);
    return dt * 1e9 / (double)calls;
}

static void
full_rate(struct bheap *b)
{
    struct inv_report r = {0};
    size_t pools = 0;
    unsigned max = *b->v.maxarenas;
    const struct obm_geometry *g = &b->v.g;
    for (unsigned i = 0; i < max; i++) {
        const struct obm_arena *a = &(*b->v.arenas)[i];
        if (a->address != 0)
            pools += ((uintptr_t)a->pool_address
                      - ((a->address + g->pool_size - 1)
                         & ~(uintptr_t)(g->pool_size - 1)))
                     / g->pool_size;
    }
    for (int with_live = 1; with_live >= 0; with_live--) {
        b->v.live = with_live ? b->live : NULL;
        int reps = 5;
        double t0 = cpu_now();
        for (int k = 0; k < reps; k++)
            inv_check(&b->v, INV_FULL, NULL, 0, &r);
        double dt = (cpu_now() - t0) / reps;
        printf("FULL %s live set: %zu pools in %.1f ms = %.2f M pools/s "
               "(%zu violations)\n",
               with_live ? "with" : "without", pools, dt * 1e3,
               (double)pools / dt / 1e6, r.total);
    }
    b->v.live = b->live;
}

/* What runs around each operation of the steady workload. */
enum mode {
    MODE_BARE,  /* the allocator alone */
    MODE_LOCAL, /* INV_LOCAL on the block the operation touched */
    MODE_PV,    /* inv_predict() before, inv_verify() after */
    MODE_BOTH,  /* predict, operate, verify, INV_LOCAL: the runner's loop */
    NMODES
};

/* Run iters pairs (free a random block, allocate one) on b in mode m, as
 * the trace runner will; return seconds. */
static double
steady_run(struct bheap *b, enum mode m, size_t iters)
{
    bool local = m == MODE_LOCAL || m == MODE_BOTH;
    bool pv = m == MODE_PV || m == MODE_BOTH;
    struct inv_report r = {0};
    struct inv_prediction pred;
    size_t bad = 0;
    unsigned long opno = 0;
    double t0 = cpu_now();
    for (size_t k = 0; k < iters; k++) {
        size_t i = rng() % b->nlive;
        struct inv_op op = {INV_OP_FREE, 0, b->live[i]};
        if (pv)
            inv_predict(&b->v, &op, &pred);
        obm_free(b->h, (void *)b->live[i]);
        opno++;
        if (pv)
            bad += inv_verify(&b->v, &pred, NULL, opno, &r);
        if (local)
            bad += inv_check(&b->v, INV_LOCAL, b->live[i], opno, &r);
        op = (struct inv_op){INV_OP_MALLOC, 16 + rng() % 113, NULL};
        if (pv)
            inv_predict(&b->v, &op, &pred);
        b->live[i] = obm_malloc(b->h, op.size);
        opno++;
        if (pv)
            bad += inv_verify(&b->v, &pred, b->live[i], opno, &r);
        if (local)
            bad += inv_check(&b->v, INV_LOCAL, b->live[i], opno, &r);
    }
    double dt = cpu_now() - t0;
    if (bad)
        printf("  (unexpected: %zu violations)\n", bad);
    return dt;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define STEADY_REPS 5

/* Fill added[m] with the median over STEADY_REPS repetitions of the ns
 * mode m adds to each operation of the steady workload on b (bare: the
 * bare ns/op itself).  Modes alternate within a repetition, so drift in
 * the machine's speed falls on all of them alike. */
static void
steady_cost(struct bheap *b, size_t iters, double added[NMODES])
{
    double t[STEADY_REPS][NMODES];
    steady_run(b, MODE_BOTH, iters / 8); // warm up caches and the index
    for (int rep = 0; rep < STEADY_REPS; rep++)
        for (int m = 0; m < NMODES; m++)
            t[rep][m] = steady_run(b, (enum mode)m, iters);
    for (int m = 0; m < NMODES; m++) {
        double d[STEADY_REPS];
        for (int rep = 0; rep < STEADY_REPS; rep++)
            d[rep] = (t[rep][m] - (m ? t[rep][MODE_BARE] : 0)) * 1e9
                     / (double)(2 * iters);
        qsort(d, STEADY_REPS, sizeof d[0], cmp_double);
        added[m] = d[STEADY_REPS / 2];
    }
}

/* Return the empty pools on b's freepools lists (each walk bounded). */
static size_t
empty_pools(const struct bheap *b)
{
    size_t n = 0;
    for (unsigned i = 0; i < *b->v.maxarenas; i++) {
        const struct obm_pool *q = (*b->v.arenas)[i].freepools;
        for (unsigned k = 0; q != NULL && k < OBM_MAX_POOLS_IN_ARENA;
             q = q->nextpool, k++)
            n++;
    }
    return n;
}

/* Print one row of the steady table for b (empty: when it starts); fill
 * a with the figures. */
static void
steady_row(struct bheap *b, const char *age, size_t iters, double *a)
{
    size_t empty = empty_pools(b);
    steady_cost(b, iters, a);
    printf("  %9zu %-5s %8zu %8.0f %+8.0f %+14.0f %+8.0f\n", b->nlive, age,
           empty, a[MODE_BARE], a[MODE_LOCAL], a[MODE_PV], a[MODE_BOTH]);
}

/* Print what LOCAL, predict+verify and both add per operation at the two
 * heap sizes, aged by 16 operations per live block (by then the older
 * pools have drained onto the freepools lists, where a long-running heap
 * keeps them), and the big heap also fresh. */
static void
steady_table(struct bheap *small, struct bheap *big, size_t iters)
{
    printf("steady free/malloc, ns/op added over the bare workload "
           "(median of %d runs of %zu ops):\n",
           STEADY_REPS, 2 * iters);
    printf("  %9s %-5s %8s %8s %8s %14s %8s\n", "live", "heap", "empty",
           "bare", "LOCAL", "predict+verify", "both");
    double a[3][NMODES];
    steady_run(small, MODE_BARE, 8 * small->nlive);
    steady_row(small, "aged", iters, a[0]);
    steady_row(big, "fresh", iters, a[1]);
    steady_run(big, MODE_BARE, 8 * big->nlive);
    steady_row(big, "aged", iters, a[2]);
    printf("LOCAL in a workload: +%.0f ns/op at ~10K live, +%.0f ns/op at "
           "~1M live aged (ratio %.2f)\n",
           a[0][MODE_LOCAL], a[2][MODE_LOCAL],
           a[2][MODE_LOCAL] / a[0][MODE_LOCAL]);
}

/* Run nops random operations; with check set, LOCAL after each and FULL
 * every 4096.  Return seconds. */
static double
replay(enum obm_profile p, size_t nops, bool check)
{
    struct bheap b;
    bheap_open(&b, p, 0);
    b.live = malloc(nops * sizeof *b.live);
    b.v.live = NULL; // FULL without the live set, as a harness would
    struct inv_report r = {0};
    size_t bad = 0;
    rng_state = 12345;
    double t0 = cpu_now();
    for (size_t op = 1; op <= nops; op++) {
        const void *touched;
        if (b.nlive == 0 || rng() % 100 < 52) {
            touched = b.live[b.nlive++] = obm_malloc(b.h, 1 + rng() % 512);
        } else {
            size_t i = rng() % b.nlive;
            touched = b.live[i];
            obm_free(b.h, (void *)touched);
            b.live[i] = b.live[--b.nlive];
        }
        if (!check)
            continue;
        bad += inv_check(&b.v, INV_LOCAL, touched, op, &r);
        if (op % 4096 == 0)
            bad += inv_check(&b.v, INV_FULL, NULL, op, &r);
    }
    double dt = cpu_now() - t0;
    if (bad)
        printf("  (unexpected: %zu violations)\n", bad);
    bheap_close(&b);
    return dt;
}

int
main(int argc, char **argv)
{
    enum obm_profile p = OBM_PY311;
    if (argc > 1 && obm_profile_parse(argv[1], &p) != 0) {
        fprintf(stderr, "unknown profile %s\n", argv[1]);
        return 2;
    }
    printf("inv_bench, profile %s\n", obm_geometry(p)->name);
    struct bheap small, big;
    bheap_open(&small, p, 15000);
    bheap_open(&big, p, 1500000);
    for (int warm = 0; warm <= 1; warm++) {
        double ls = local_cost(&small, 300000, warm);
        double lb = local_cost(&big, 300000, warm);
        printf("LOCAL %s: %.0f ns/call at %zu live, %.0f ns/call at %zu "
               "live (ratio %.2f)\n",
               warm ? "pool in cache" : "cold pool   ", ls, small.nlive, lb,
               big.nlive, lb / ls);
    }
    steady_table(&small, &big, 200000);
    full_rate(&big);
    bheap_close(&small);
    bheap_close(&big);
    size_t nops = 1000000;
    double bare = replay(p, nops, false), checked = replay(p, nops, true);
    printf("replay %zu ops: bare %.2f s, with LOCAL every op + FULL every "
           "4096: %.2f s (%.2f M ops/s)\n",
           nops, bare, checked, (double)nops / checked / 1e6);
    return 0;
}
