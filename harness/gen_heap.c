/* gen_heap.c — generators about size classes and pools: size-classes,
 * pool-churn, realloc-chains and threshold.
 *
 * Pool states and transitions are the facts' §3.2, §4.2 and §4.5; the
 * realloc rule (in place while the block's class fits and the shrink is
 * by less than a quarter) is §4.7.
 */
#include "gen.h"

#include <stdlib.h>

/* Return the blocks per pool summed over the classes of geo. */
static unsigned long
sum_numblocks(const struct obm_geometry *geo)
{
    unsigned long n = 0;
    for (unsigned c = 0; c < geo->nclasses; c++)
        n += obm_numblocks(geo, c);
    return n;
}

/* The blocks size-classes allocates for one class. */
struct class_run {
    uint32_t *slots;
    size_t n;
};

/* Allocate n blocks of class c: smallest, largest, then either at random. */
static void
fill_class(struct hx_gen *g, struct class_run *r, unsigned c, size_t n)
{
    r->slots = malloc(n * sizeof *r->slots);
    r->n = r->slots != NULL ? n : 0;
    if (r->slots == NULL)
        g->err = -1;
    for (size_t k = 0; k < r->n; k++) {
        unsigned size = k % 4 == 0   ? hx_gen_lo(g, c)
                        : k % 4 == 1 ? hx_gen_hi(g, c)
                                     : hx_gen_in_class(g, c);
        r->slots[k] = hx_gen_malloc(g, size);
    }
}

/* Free class c's blocks pool by pool so each pool ends empty; the order
 * depends on c so that pools drain forward, backward and all at once. */
static void
drain_class(struct hx_gen *g, const struct class_run *r, unsigned c)
{
    size_t nb = obm_numblocks(g->g, c);
    size_t npools = (r->n + nb - 1) / nb;
    if (c % 3 == 2) {
        for (size_t j = 0; j < nb; j++)
            for (size_t q = 0; q < npools; q++)
                if (q * nb + j < r->n)
                    hx_gen_free(g, r->slots[q * nb + j]);
        return;
    }
    for (size_t k = 0; k < r->n; k++)
        hx_gen_free(g, r->slots[c % 3 == 0 ? k : r->n - 1 - k]);
}

/* Append size-classes: each class filled over several pools at its
 * smallest and largest request, pools drained full->used->empty. */
int
hx_gen_size_classes(struct hx_trace *t, const struct hx_gen_options *o)
{
    const struct obm_geometry *geo = obm_geometry(o->profile);
    struct hx_gen g;
    if (geo == NULL)
        return -1;
    unsigned long per = sum_numblocks(geo);
    // five pools per class, each block allocated and freed once
    if (hx_gen_begin(&g, t, o, "size-classes", 10 * per + 8) != 0)
        return -1;
    unsigned long tenths = g.ops * 10 / (2 * per);
    tenths = tenths > 100 ? 100 : tenths;
    hx_gen_note(&g,
                " gen size-classes: every size class of %s (%u classes, "
                "%u-byte pools, threshold %u) at its smallest and largest "
                "request, %lu.%lu pools per class; seed %llu, ops %lu",
                geo->name, geo->nclasses, geo->pool_size, geo->threshold,
                tenths / 10, tenths % 10, (unsigned long long)g.seed, g.ops);
    struct class_run run[OBM_MAX_USEDPOOLS / 2] = {{0}};
    for (unsigned c = 0; c < geo->nclasses; c++) {
        size_t nb = obm_numblocks(geo, c);
        size_t n = nb * tenths / 10;
        n = n < 2 ? 2 : n;
        hx_gen_note(&g, " class %u: %zu blocks of %u..%u bytes (%zu a pool)",
                    c, n, hx_gen_lo(&g, c), hx_gen_hi(&g, c), nb);
        fill_class(&g, &run[c], c, n);
    }
    hx_gen_note(&g, " edges (after the fills, so pools stay exact): 0 and "
                    "threshold+1 bytes go raw, 1 and "
                    "threshold to the first and last class");
    uint32_t edge[4] = {hx_gen_malloc(&g, 0), hx_gen_malloc(&g, 1),
                        hx_gen_malloc(&g, geo->threshold),
                        hx_gen_malloc(&g, geo->threshold + 1)};
    hx_gen_note(&g, " full->used: free the middle block of every full pool");
    for (unsigned c = 0; c < geo->nclasses; c++) {
        size_t nb = obm_numblocks(geo, c);
        for (size_t q = 0; (q + 1) * nb <= run[c].n; q++)
            hx_gen_free(&g, run[c].slots[q * nb + nb / 2]);
    }
    hx_gen_note(&g, " used->empty: drain every pool, forward, backward or "
                    "all pools of a class at once");
    for (unsigned c = 0; c < geo->nclasses; c++) {
        drain_class(&g, &run[c], c);
        free(run[c].slots);
    }
    for (int k = 0; k < 4; k++)
        hx_gen_free(&g, edge[k]);
    return hx_gen_end(&g);
}

/* One pool-churn round on class c: npools pools filled to full, passes
 * of free-one-refill-one, then every pool emptied. */
static void
churn_round(struct hx_gen *g, unsigned c, size_t npools, unsigned passes)
{
    struct hx_gen_batch b;
    hx_gen_note(g,
                " round: class %u (%u..%u bytes), pools filled exactly to "
                "full: %zu x %u blocks; passes of free-one-per-pool "
                "(full->used, to the ring front) and refill: %u",
                c, hx_gen_lo(g, c), hx_gen_hi(g, c), npools,
                obm_numblocks(g->g, c), passes);
    hx_gen_batch_fill(g, &b, c, npools);
    size_t hole[8];
    for (unsigned p = 0; p < passes && b.npools == npools; p++) {
        for (size_t q = 0; q < npools; q++) {
            hole[q] = q * b.nb + (size_t)hx_gen_below(g, b.nb);
            hx_gen_free(g, b.slots[hole[q]]);
        }
        // the ring runs from the pool freed into last back to the first
        for (size_t k = 0; k < npools; k++) {
            size_t q = npools - 1 - k;
            b.slots[hole[q]] = hx_gen_malloc(g, hx_gen_in_class(g, c));
        }
    }
    hx_gen_note(g, " empty every pool (used->empty, onto its arena's "
                   "freepools)");
    hx_gen_batch_free_shuffled(g, &b);
    hx_gen_batch_done(&b);
}

/* Append pool-churn: rounds of pools filled to full, churned and
 * emptied onto freepools, the next round reusing them. */
int
hx_gen_pool_churn(struct hx_trace *t, const struct hx_gen_options *o)
{
    struct hx_gen g;
    if (hx_gen_begin(&g, t, o, "pool-churn", 60000) != 0)
        return -1;
    const struct obm_geometry *geo = g.g;
    hx_gen_note(&g,
                " gen pool-churn: pools of %s filled to full, churned "
                "full->used->full and emptied, then reused by another "
                "class (or the same one); seed %llu, ops %lu",
                geo->name, (unsigned long long)g.seed, g.ops);
    hx_gen_note(&g, " anchor: one block of the last class keeps arena 0 "
                    "allocated, so emptied pools stay on its freepools");
    uint32_t anchor = hx_gen_malloc(&g, geo->threshold);
    unsigned c = 0;
    for (unsigned round = 0; round < 2 || hx_gen_more(&g); round++) {
        // a quarter of the rounds reuse pools for the class they last had;
        // the second always moves them to another class
        if (round == 1)
            c = (unsigned)hx_gen_range(&g, 1, geo->nclasses - 2);
        else if (round > 1 && hx_gen_below(&g, 4) != 0)
            c = (unsigned)hx_gen_below(&g, geo->nclasses - 1);
        churn_round(&g, c, 1 + (size_t)hx_gen_below(&g, 4),
                    1 + (unsigned)hx_gen_below(&g, 3));
    }
    hx_gen_free(&g, anchor);
    return hx_gen_end(&g);
}

/* A realloc chain: one block, its requested size, and the block size it
 * sits in (0 once it went to the raw allocator, which it never leaves). */
struct chain {
    uint32_t slot;
    uint64_t size;
    unsigned bsize;
    unsigned left; /* reallocs to go */
};

static unsigned
block_for(const struct obm_geometry *geo, uint64_t n)
{
    if (n == 0 || n > geo->threshold)
        return 0;
    unsigned a = geo->alignment;
    return (unsigned)((n + a - 1) / a * a);
}

/* Pick the next size for a block sitting in a pool block of bsize b. */
static uint64_t
next_pool_size(struct hx_gen *g, unsigned b)
{
    unsigned thr = g->g->threshold, a = g->g->alignment, q = 3 * b / 4;
    uint64_t r = hx_gen_below(g, 100);
    if (r < 20) // shrink by less than a quarter: in place
        return hx_gen_range(g, q + 1, b);
    if (r < 30) // exactly a quarter: 4n == 3b, moves
        return q;
    if (r < 42) // shrink by more than a quarter: moves down
        return hx_gen_range(g, 1, q);
    if (r < 62) // into the next class (or over the threshold)
        return b + hx_gen_range(g, 1, a);
    if (r < 77)
        return thr + hx_gen_range(g, 1, thr);
    if (r < 87)
        return b < thr ? hx_gen_range(g, b + 1, thr) : thr + 1;
    if (r < 93)
        return 0;
    return b;
}

/* Pick the next size for a raw block of size s. */
static uint64_t
next_raw_size(struct hx_gen *g, uint64_t s)
{
    unsigned thr = g->g->threshold;
    uint64_t r = hx_gen_below(g, 100);
    if (r < 35) {
        uint64_t n = 2 * s + hx_gen_range(g, 1, 64);
        return n > 65536 ? 65536 : n;
    }
    if (r < 65) // back under the threshold: pymalloc never adopts it
        return hx_gen_range(g, 1, thr);
    if (r < 75)
        return thr;
    if (r < 85)
        return 0;
    return hx_gen_range(g, thr + 1, 2 * thr);
}

static void
chain_start(struct hx_gen *g, struct chain *ch)
{
    const struct obm_geometry *geo = g->g;
    uint64_t r = hx_gen_below(g, 100), n;
    if (r < 40)
        n = hx_gen_range(g, 1, geo->threshold);
    else if (r < 55)
        n = geo->threshold;
    else if (r < 65)
        n = hx_gen_range(g, geo->threshold + 1, 2 * geo->threshold);
    else if (r < 75)
        n = 0;
    else
        n = hx_gen_lo(g, (unsigned)hx_gen_below(g, geo->nclasses));
    ch->slot = hx_gen_malloc(g, n);
    ch->size = n;
    ch->bsize = block_for(geo, n);
    ch->left = (unsigned)hx_gen_range(g, 3, 12);
}

static void
chain_step(struct hx_gen *g, struct chain *ch)
{
    unsigned b = ch->bsize;
    uint64_t n = b != 0 ? next_pool_size(g, b) : next_raw_size(g, ch->size);
    hx_gen_realloc(g, ch->slot, n);
    bool in_place = b != 0 && n <= b && 4 * n > 3 * (uint64_t)b;
    if (b != 0 && !in_place)
        ch->bsize = block_for(g->g, n);
    ch->size = n;
    ch->left--;
}

/* Append realloc-chains: chains of reallocs whose sizes a model of the
 * in-place rule picks to land on either side of it. */
int
hx_gen_realloc_chains(struct hx_trace *t, const struct hx_gen_options *o)
{
    enum {
        NCHAINS = 32
    };
    struct hx_gen g;
    if (hx_gen_begin(&g, t, o, "realloc-chains", 30000) != 0)
        return -1;
    hx_gen_note(&g,
                " gen realloc-chains: %d chains at once in %s, 3..12 "
                "reallocs each: within and across classes, over threshold "
                "%u and back, shrinks either side of 3/4, realloc to 0; "
                "seed %llu, ops %lu",
                NCHAINS, g.g->name, g.g->threshold, (unsigned long long)g.seed,
                g.ops);
    struct chain ch[NCHAINS];
    for (int k = 0; k < NCHAINS; k++)
        chain_start(&g, &ch[k]);
    while (hx_gen_more(&g)) {
        struct chain *c = &ch[hx_gen_below(&g, NCHAINS)];
        if (c->left > 0) {
            chain_step(&g, c);
            continue;
        }
        hx_gen_free(&g, c->slot);
        chain_start(&g, c);
    }
    return hx_gen_end(&g);
}

/* Pick one of the sizes around the threshold. */
static uint64_t
near_threshold(struct hx_gen *g)
{
    const struct obm_geometry *geo = g->g;
    unsigned thr = geo->threshold;
    const uint64_t sizes[] = {thr - 1,
                              thr,
                              thr + 1,
                              hx_gen_lo(g, geo->nclasses - 1),
                              3 * thr / 4,
                              3 * thr / 4 + 1,
                              thr + geo->alignment,
                              2 * thr};
    return sizes[hx_gen_below(g, sizeof sizes / sizeof sizes[0])];
}

/* Append a calloc whose product sits at the threshold. */
static void
calloc_near_threshold(struct hx_gen *g)
{
    uint64_t thr = g->g->threshold;
    switch (hx_gen_below(g, 5)) {
    case 0:
        hx_gen_calloc(g, 1, thr);
        break;
    case 1:
        hx_gen_calloc(g, thr, 1);
        break;
    case 2:
        hx_gen_calloc(g, 2, thr / 2);
        break;
    case 3:
        hx_gen_calloc(g, thr + 1, 1);
        break;
    default:
        hx_gen_calloc(g, 2, thr / 2 + 1);
        break;
    }
}

/* Append threshold: every operation at sizes around the threshold. */
int
hx_gen_threshold(struct hx_trace *t, const struct hx_gen_options *o)
{
    struct hx_gen g;
    if (hx_gen_begin(&g, t, o, "threshold", 20000) != 0)
        return -1;
    hx_gen_note(&g,
                " gen threshold: malloc, calloc and realloc at %u-1, %u "
                "and %u+1 (the last class and the raw allocator) in %s; "
                "seed %llu, ops %lu",
                g.g->threshold, g.g->threshold, g.g->threshold, g.g->name,
                (unsigned long long)g.seed, g.ops);
    while (hx_gen_more(&g)) {
        uint64_t r = hx_gen_below(&g, 10);
        if (g.nlive >= 128 || (r >= 7 && g.nlive > 0))
            hx_gen_free_random(&g);
        else if (r < 3 || g.nlive == 0)
            hx_gen_malloc(&g, near_threshold(&g));
        else if (r < 4)
            calloc_near_threshold(&g);
        else
            hx_gen_realloc(&g, hx_gen_pick(&g), near_threshold(&g));
    }
    return hx_gen_end(&g);
}
