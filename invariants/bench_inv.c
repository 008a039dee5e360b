/* bench_inv.c — inv_bench: what the checker costs.
 *
 *   1. INV_LOCAL at 10K and 1M live blocks (the two must be within 2x:
 *      LOCAL does not grow with the heap): per call on a random block,
 *      cold or with its pool in cache, and what it adds to each operation
 *      of a steady free/malloc workload, checking the block each touched;
 *   2. INV_FULL throughput in pools per second at 1M live blocks, with and
 *      without the live set;
 *   3. replay of a 1M-operation random workload with INV_LOCAL after every
 *      operation and INV_FULL every 4096, against the bare workload.
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

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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
        double t0 = now();
        for (int k = 0; k < reps; k++)
            inv_check(&b->v, INV_FULL, NULL, 0, &r);
        double dt = (now() - t0) / reps;
        printf("FULL %s live set: %zu pools in %.1f ms = %.2f M pools/s "
               "(%zu violations)\n",
               with_live ? "with" : "without", pools, dt * 1e3,
               (double)pools / dt / 1e6, r.total);
    }
    b->v.live = b->live;
}

/* Return the ns INV_LOCAL adds to each operation of a steady workload at
 * about `live` blocks: nops times free a random block and allocate one,
 * once bare and once with LOCAL on the block each operation touched. */
static double
local_per_op(enum obm_profile p, size_t live, size_t nops)
{
    double dt[2];
    for (int check = 0; check <= 1; check++) {
        rng_state = 777;
        struct bheap b;
        bheap_open(&b, p, live);
        struct inv_report r = {0};
        inv_check(&b.v, INV_FULL, NULL, 0, &r); // builds the arena index
        size_t bad = 0;
        double t0 = now();
        for (size_t op = 0; op < nops; op++) {
            size_t i = rng() % b.nlive;
            obm_free(b.h, (void *)b.live[i]);
            if (check)
                bad += inv_check(&b.v, INV_LOCAL, b.live[i], op, &r);
            b.live[i] = obm_malloc(b.h, 16 + rng() % 113);
            if (check)
                bad += inv_check(&b.v, INV_LOCAL, b.live[i], op, &r);
        }
        dt[check] = now() - t0;
        if (bad)
            printf("  (unexpected: %zu violations)\n", bad);
        bheap_close(&b);
    }
    return (dt[1] - dt[0]) * 1e9 / (double)(2 * nops);
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
    double t0 = now();
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
    double dt = now() - t0;
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
    double ws = local_per_op(p, 15000, 1000000);
    double wb = local_per_op(p, 1500000, 1000000);
    printf("LOCAL in a workload: +%.0f ns/op at ~10K live, +%.0f ns/op at "
           "~1M live (ratio %.2f)\n",
           ws, wb, wb / ws);
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
