/* gen_arena.c — generators about arenas: arena-reuse, tail-arena and
 * sort-order.
 *
 * They work in pools' worth of one class (struct hx_gen_batch).  An arena
 * holds M = max_pools_in_arena pools, or M - 1 when its start is not
 * pool-aligned, so "arena j" below means pools [jM, jM + M) of a batch
 * allocated on an empty heap: exact for aligned arenas, off by j pools
 * otherwise.  Where a claim must hold either way the generators free
 * windows of 2M pools or more: such a window holds at least one arena.
 * Arena management is the facts' §4.3, §4.6 and §3.6 (nfp2lasta).
 */
#include "gen.h"

/* Return the class with the biggest blocks but k (fewest blocks a pool,
 * so arenas fill in the fewest operations). */
static unsigned
big_class(const struct hx_gen *g, unsigned k)
{
    return g->g->nclasses - 1 - k;
}

/* Return about how many operations filling and freeing npools pools of
 * the biggest class take. */
static unsigned long
pool_ops(const struct hx_gen *g, size_t npools)
{
    return 2 * (unsigned long)npools * obm_numblocks(g->g, big_class(g, 0));
}

/* Append arena-reuse: cycles of six arenas filled, a window of them
 * wholly freed, a refill on reused arena records, everything freed. */
int
hx_gen_arena_reuse(struct hx_trace *t, const struct hx_gen_options *o)
{
    struct hx_gen g;
    if (hx_gen_begin(&g, t, o, "arena-reuse", 0) != 0)
        return -1;
    size_t m = g.g->max_pools_in_arena;
    g.ops = o->ops != 0 ? o->ops : 3 * pool_ops(&g, 10 * m);
    hx_gen_note(&g,
                " gen arena-reuse: in %s (arenas of %zu pools), fill six "
                "arenas, wholly free two or three in the middle, refill so "
                "their records come back from unused_arena_objects, free "
                "all; repeat; seed %llu, ops %lu",
                g.g->name, m, (unsigned long long)g.seed, g.ops);
    for (unsigned cycle = 0; cycle == 0 || hx_gen_more(&g); cycle++) {
        unsigned c = cycle == 0 ? big_class(&g, 0)
                                : big_class(&g, (unsigned)hx_gen_below(&g, 4));
        unsigned c2 = big_class(&g, (unsigned)hx_gen_below(&g, 4));
        struct hx_gen_batch a, b;
        hx_gen_note(&g,
                    " cycle %u: fill %zu pools (six arenas) of class %u "
                    "(%u..%u bytes)",
                    cycle, 6 * m, c, hx_gen_lo(&g, c), hx_gen_hi(&g, c));
        hx_gen_batch_fill(&g, &a, c, 6 * m);
        hx_gen_note(&g,
                    " free pools [%zu, %zu): at least two arenas wholly "
                    "free; all released, or (3.9+) the first kept at the "
                    "tail of usable_arenas",
                    m, 4 * m);
        for (size_t q = m; q < 4 * m; q++)
            hx_gen_batch_free_pool(&g, &a, q, q % 2 != 0);
        hx_gen_note(&g,
                    " refill %zu pools of class %u: the usable arenas "
                    "first, then new arenas on reused records",
                    4 * m, c2);
        hx_gen_batch_fill(&g, &b, c2, 4 * m);
        hx_gen_note(&g, " free all: the refill from its last pool, then the "
                        "rest pool by pool in random order");
        for (size_t q = b.npools; q-- > 0;)
            hx_gen_batch_free_pool(&g, &b, q, true);
        hx_gen_batch_free_shuffled(&g, &a);
        hx_gen_batch_done(&a);
        hx_gen_batch_done(&b);
    }
    return hx_gen_end(&g);
}

/* Allocate and free one block of the first class: it lands in the head
 * of usable_arenas, or in a new arena if there is none. */
static void
bounce(struct hx_gen *g)
{
    hx_gen_free(g, hx_gen_malloc(g, hx_gen_in_class(g, 0)));
}

/* Fill npools pools of class c, then free them last pool first (or first
 * pool first), bouncing a block after each pool. */
static void
drain(struct hx_gen *g, unsigned c, size_t npools, bool from_end)
{
    struct hx_gen_batch b;
    hx_gen_batch_fill(g, &b, c, npools);
    hx_gen_note(g, " free them %s pool first, one block bouncing after each",
                from_end ? "last" : "first");
    for (size_t k = 0; k < b.npools; k++) {
        size_t q = from_end ? b.npools - 1 - k : k;
        hx_gen_batch_free_pool(g, &b, q, from_end);
        bounce(g);
    }
    hx_gen_batch_done(&b);
}

/* Append tail-arena: bounces on an empty heap, then cycles of arenas
 * drained from the end and from the start, bouncing in between. */
int
hx_gen_tail_arena(struct hx_trace *t, const struct hx_gen_options *o)
{
    struct hx_gen g;
    if (hx_gen_begin(&g, t, o, "tail-arena", 0) != 0)
        return -1;
    size_t m = g.g->max_pools_in_arena, npools = 3 * m + m / 2;
    unsigned long cycle_ops = 2 * pool_ops(&g, npools) + 4 * npools;
    g.ops = o->ops != 0 ? o->ops : 4000 + cycle_ops;
    unsigned long nbounce = g.ops / 8 < 64 ? 64 : g.ops / 8;
    hx_gen_note(&g,
                " gen tail-arena: the 3.9+ tail rule (bpo-37257) in %s: "
                "%lu malloc/free bounces on an empty heap, then arenas "
                "drained from either end; seed %llu, ops %lu",
                g.g->name, nbounce, (unsigned long long)g.seed, g.ops);
    hx_gen_note(&g, " bounce: one block of every class in turn, allocated and "
                    "freed on an empty heap (3.9+ keeps its arena, older "
                    "versions release it each time)");
    for (unsigned long k = 0; k < nbounce; k++) {
        unsigned c = (unsigned)(k % g.g->nclasses);
        hx_gen_free(&g, hx_gen_malloc(&g, hx_gen_in_class(&g, c)));
    }
    for (unsigned cycle = 0; cycle == 0 || hx_gen_more(&g); cycle++) {
        unsigned c = big_class(&g, cycle % 2);
        hx_gen_note(&g,
                    " cycle %u: fill %zu pools of class %u (four arenas, "
                    "the last part-carved); the last arena drains first "
                    "and is kept at the tail (3.9+), the others are "
                    "released in front of it",
                    cycle, npools, c);
        drain(&g, c, npools, true);
        c = big_class(&g, 1 - cycle % 2);
        hx_gen_note(&g,
                    " fill %zu pools of class %u again, on the tail arena "
                    "first; now the first arena drains alone and is kept",
                    npools, c);
        drain(&g, c, npools, false);
    }
    return hx_gen_end(&g);
}

/* Free the r-th pool picked in arena j of b: r walks the arena's pools
 * with an odd stride, so consecutive picks are far apart. */
static void
free_pick(struct hx_gen *g, const struct hx_gen_batch *b, size_t m, size_t j,
          size_t r)
{
    hx_gen_batch_free_pool(g, b, j * m + (r * 37) % m, r % 2 != 0);
}

/* The sort-order phases that free single pools across all na arenas. */
static void
spread_frees(struct hx_gen *g, const struct hx_gen_batch *b, size_t m,
             size_t na)
{
    size_t ties = na + 2;
    hx_gen_note(g, " distinct nfreepools: arena j gets j+1 free pools, one "
                   "round over the arenas at a time");
    for (size_t r = 0; r < na; r++)
        for (size_t j = r; j < na; j++)
            free_pick(g, b, m, j, r);
    hx_gen_note(g,
                " ties: bring every arena to %zu free pools, the last "
                "arena first",
                ties);
    for (size_t j = na; j-- > 0;)
        for (size_t r = j + 1; r < ties; r++)
            free_pick(g, b, m, j, r);
    hx_gen_note(g, " long moves right: one more free pool in each arena, "
                   "left to right (each passes all its ties)");
    for (size_t j = 0; j < na; j++)
        free_pick(g, b, m, j, ties);
    hx_gen_note(g, " and again right to left");
    for (size_t j = na; j-- > 0;)
        free_pick(g, b, m, j, ties + 1);
}

/* Wholly free arenas in the middle of usable_arenas: first nearly empty
 * the last two arenas (one block stays), then drain two windows of
 * 2M pools, each holding a whole arena. */
static void
middle_frees(struct hx_gen *g, const struct hx_gen_batch *b, size_t m,
             size_t na)
{
    hx_gen_note(g, " nearly empty the last two arenas: their last live "
                   "block stays");
    size_t lo = (na - 2) * m * b->nb, hi = na * m * b->nb, stay = hi;
    for (size_t k = hi; k-- > lo;) {
        if (hx_gen_live(g, b->slots[k])) {
            stay = k;
            break;
        }
    }
    for (size_t k = lo; k < hi; k++)
        if (k != stay)
            hx_gen_free(g, b->slots[k]);
    size_t starts[2] = {1, na / 2};
    for (int k = 0; k < 2; k++) {
        hx_gen_note(g,
                    " wholly free an arena in the middle: drain pools "
                    "[%zu, %zu)",
                    starts[k] * m, (starts[k] + 2) * m);
        for (size_t q = starts[k] * m; q < (starts[k] + 2) * m; q++)
            hx_gen_batch_free_pool(g, b, q, q % 2 != 0);
    }
}

/* Append sort-order: ten or more arenas given distinct nfreepools,
 * ties, long moves and middle releases, a refill, then all freed. */
int
hx_gen_sort_order(struct hx_trace *t, const struct hx_gen_options *o)
{
    struct hx_gen g;
    if (hx_gen_begin(&g, t, o, "sort-order", 0) != 0)
        return -1;
    size_t m = g.g->max_pools_in_arena;
    unsigned long per_arena = pool_ops(&g, m);
    g.ops = o->ops != 0 ? o->ops : 15 * per_arena;
    // the budget buys na arenas plus a refill of three; at least ten
    size_t na = g.ops / per_arena > 3 ? g.ops / per_arena - 3 : 0;
    na = na < 10 ? 10 : na > 48 ? 48 : na;
    unsigned c = big_class(&g, 0);
    hx_gen_note(&g,
                " gen sort-order: %zu arenas of %s given distinct "
                "nfreepools, then frees that re-sort usable_arenas: ties, "
                "long moves, arenas wholly free in the middle (nfp2lasta "
                "3.8+); seed %llu, ops %lu",
                na, g.g->name, (unsigned long long)g.seed, g.ops);
    hx_gen_note(&g, " fill %zu pools of class %u (%u..%u bytes)", na * m, c,
                hx_gen_lo(&g, c), hx_gen_hi(&g, c));
    struct hx_gen_batch b, refill;
    hx_gen_batch_fill(&g, &b, c, na * m);
    if (b.npools == na * m) {
        spread_frees(&g, &b, m, na);
        middle_frees(&g, &b, m, na);
    }
    hx_gen_note(&g,
                " refill %zu pools of class %u: new pools come from the "
                "head (most used arena) first",
                3 * m, big_class(&g, 1));
    hx_gen_batch_fill(&g, &refill, big_class(&g, 1), 3 * m);
    hx_gen_note(&g, " drain both batches, pool by pool in random order");
    hx_gen_batch_free_shuffled(&g, &b);
    hx_gen_batch_free_shuffled(&g, &refill);
    hx_gen_batch_done(&b);
    hx_gen_batch_done(&refill);
    return hx_gen_end(&g);
}
