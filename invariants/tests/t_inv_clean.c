/* t_inv_clean.c — random operations in every profile report nothing:
 * INV_LOCAL after every operation, INV_FULL (with the live set) every 1000.
 *
 *   t_inv_clean [OPS [SEED]]     OPS per profile (default 1000000, or
 *                                $INV_CLEAN_OPS); the seed is printed first
 *
 * The live target swings between empty and 20000 blocks, so arenas are
 * carved, emptied and released over and over. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inv.h"

static uint64_t rng_state;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

struct ptrs {
    const void **p;
    size_t n, cap;
};

static void
push(struct ptrs *a, const void *x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 4096;
        a->p = realloc(a->p, a->cap * sizeof *a->p);
        if (a->p == NULL)
            abort();
    }
    a->p[a->n++] = x;
}

static size_t
random_size(void)
{
    uint64_t r = rng() % 100;
    if (r < 3)
        return 513 + rng() % 2000; // raw fallback
    if (r < 60)
        return 1 + rng() % 64;
    return 1 + rng() % 512;
}

struct run {
    obm_heap *h;
    struct inv_view v;
    struct ptrs live, raw;
    struct inv_report rep;
    unsigned long op;
    size_t fails;
};

static void
check(struct run *r, enum inv_level lvl, const void *touched)
{
    r->v.live = r->live.p;
    r->v.nlive = r->live.n;
    r->v.nraw = r->raw.n;
    if (inv_check(&r->v, lvl, touched, r->op, &r->rep) != 0) {
        inv_report_print(&r->rep, stderr);
        r->fails++;
    }
}

/* One random operation; return the address it touched. */
static const void *
step(struct run *r, size_t target)
{
    bool grow = r->live.n + r->raw.n < target;
    if ((rng() % 100) < (grow ? 70u : 30u) || r->live.n + r->raw.n == 0) {
        void *p = obm_malloc(r->h, random_size());
        push(obm_owns(r->h, p) ? &r->live : &r->raw, p);
        return p;
    }
    struct ptrs *a = r->raw.n && rng() % 30 == 0 ? &r->raw : &r->live;
    if (a->n == 0)
        a = &r->raw;
    size_t k = rng() % a->n;
    void *p = (void *)a->p[k];
    a->p[k] = a->p[--a->n];
    if (rng() % 10 == 0) {
        void *q = obm_realloc(r->h, p, random_size());
        push(obm_owns(r->h, q) ? &r->live : &r->raw, q);
        return q;
    }
    obm_free(r->h, p);
    return p;
}

static size_t
run_profile(enum obm_profile prof, unsigned long nops)
{
    struct obm_region_config cfg = {0};
    cfg.offset = prof >= OBM_PY310 ? 4096 : 0; // 63-pool, straddling arenas
    struct obm_region *region = obm_region_new(&cfg);
    struct obm_arena_source src = obm_region_source(region);
    struct run r;
    memset(&r, 0, sizeof r);
    r.h = obm_heap_new(prof, &src);
    inv_view_from_heap(&r.v, r.h);
    struct inv_scratch sc = {0};
    sc.size = (size_t)1 << 20;
    sc.mem = malloc(sc.size);
    r.v.scratch = &sc;
    for (r.op = 1; r.op <= nops; r.op++) {
        // the target swings: 0 .. 20000 live blocks over 100000 ops
        size_t phase = r.op % 100000;
        size_t target = phase < 50000 ? phase * 2 / 5 : (100000 - phase) / 3;
        const void *touched = step(&r, target);
        check(&r, INV_LOCAL, touched);
        if (r.op % 1000 == 0)
            check(&r, INV_FULL, NULL);
        if (r.fails > 5)
            break;
    }
    for (size_t k = 0; k < r.live.n; k++)
        obm_free(r.h, (void *)r.live.p[k]);
    for (size_t k = 0; k < r.raw.n; k++)
        obm_free(r.h, (void *)r.raw.p[k]);
    r.live.n = r.raw.n = 0;
    check(&r, INV_FULL, NULL);
    obm_heap_free(r.h);
    obm_region_free(region);
    free(r.live.p);
    free(r.raw.p);
    free(sc.mem);
    return r.fails;
}

int
main(int argc, char **argv)
{
    const char *env = getenv("INV_CLEAN_OPS");
    unsigned long nops = argc > 1 ? strtoul(argv[1], NULL, 0)
                         : env    ? strtoul(env, NULL, 0)
                                  : 1000000ul;
    uint64_t seed =
        argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)time(NULL);
    printf("seed %llu, %lu ops per profile\n", (unsigned long long)seed, nops);
    size_t fails = 0;
    for (unsigned p = 0; p < OBM_NPROFILES; p++) {
        rng_state = seed * 2654435761u + p + 1;
        clock_t t0 = clock();
        size_t f = run_profile((enum obm_profile)p, nops);
        printf("%-6s %s  %.2f s\n", obm_geometry((enum obm_profile)p)->name,
               f ? "FAILED" : "clean",
               (double)(clock() - t0) / CLOCKS_PER_SEC);
        fails += f;
    }
    return fails ? EXIT_FAILURE : EXIT_SUCCESS;
}
