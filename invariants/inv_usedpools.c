/* inv_usedpools.c — the rings of used pools (U1-U3, U5) and, at INV_LOCAL,
 * the ring or list a pool's state says it is on (P6). */
#include "inv_internal.h"

#define PTR(x) ((uint64_t)(uintptr_t)(x))

/* Place a ring link y: 1 = a carved pool (header readable), 0 = the
 * sentinel of class i, -1 = anything else (reported). */
static int
place_link(struct inv_ctx *c, unsigned i, const struct obm_pool *y,
           uintptr_t from)
{
    long j = inv_is_sentinel(c, y);
    if (j == (long)i)
        return 0;
    if (j >= 0) {
        inv_fail(c, "U5", -1, i, from, 0, INV_VAL_PTR, PTR(inv_sentinel(c, i)),
                 PTR(y), "ring %u runs into the sentinel of ring %ld", i, j);
        return -1;
    }
    uintptr_t x = (uintptr_t)y;
    if ((x & (c->g->pool_size - 1)) == 0 && inv_find_arena(c, x) >= 0)
        return 1;
    long a = inv_find_arena_in(c, x, true);
    if (a >= 0 && (x & (c->g->pool_size - 1)) == 0)
        inv_fail(c, "A9", a, i, from, 0, INV_VAL_PTR,
                 PTR(c->arenas[a].pool_address), x,
                 "ring %u links a pool never carved", i);
    else
        inv_fail(c, "U1", a, i, from, 0, INV_VAL_PTR, 0, x,
                 "ring %u link leaves the carved pools", i);
    return -1;
}

/* U2 by the member's own header: a used pool of class i. */
static void
check_member(struct inv_ctx *c, unsigned i, const struct obm_pool *x)
{
    unsigned nb = obm_numblocks(c->g, i);
    if (x->szidx != i || x->ref.count == 0 || x->ref.count >= nb)
        inv_fail(c, "U2", x->arenaindex, i, (uintptr_t)x, 0, INV_VAL_UNSIGNED,
                 i, x->szidx,
                 "ring %u holds a pool that is not a used pool of its class "
                 "(count %u)",
                 i, x->ref.count);
}

/* Walk ring i; return its length, or SIZE_MAX if it did not return. */
static size_t
walk_ring(struct inv_ctx *c, unsigned i, size_t bound)
{
    const struct obm_pool *h = inv_sentinel(c, i), *prev = h;
    const struct obm_pool *x = c->v->usedpools[2 * i];
    size_t n = 0;
    for (;; n++) {
        int kind = place_link(c, i, x, (uintptr_t)prev);
        if (kind < 0)
            return SIZE_MAX;
        // the sentinel's own fields are the usedpools slots
        const struct obm_pool *back =
            kind == 0 ? c->v->usedpools[2 * i + 1] : x->prevpool;
        if (back != prev)
            inv_fail(c, "U1", kind ? (long)x->arenaindex : -1, i,
                     kind ? (uintptr_t)x : 0, 0, INV_VAL_PTR, PTR(prev),
                     PTR(back), "nextpool.prevpool != pool in ring %u", i);
        if (kind == 0)
            return n;
        if (n == bound) {
            inv_fail(c, "U1", -1, i, 0, 0, INV_VAL_UNSIGNED, bound, bound + 1,
                     "ring %u does not return (cycle)", i);
            return SIZE_MAX;
        }
        check_member(c, i, x);
        prev = x;
        x = x->nextpool;
    }
}

/* U3: an empty ring has both slots on the sentinel. */
static void
check_ends(struct inv_ctx *c, unsigned i)
{
    const struct obm_pool *h = inv_sentinel(c, i);
    const struct obm_pool *first = c->v->usedpools[2 * i];
    const struct obm_pool *last = c->v->usedpools[2 * i + 1];
    if ((first == h) != (last == h))
        inv_fail(c, "U3", -1, i, 0, 0, INV_VAL_PTR, PTR(h),
                 PTR(first == h ? last : first),
                 "ring %u is empty at one end only", i);
}

void
inv_check_ring_ends(struct inv_ctx *c)
{
    // a branch-free pass first: every class, every call, costs no more
    // than a few loads each; the reporting pass runs only on a mismatch
    struct obm_pool *const *up = c->v->usedpools;
    struct obm_pool *const *end = up + 2 * c->g->nclasses;
    uintptr_t h = c->ring0;
    bool bad = false;
#pragma GCC unroll 4
    for (; up < end; up += 2, h += 2 * sizeof *up)
        bad |= ((uintptr_t)up[0] == h) != ((uintptr_t)up[1] == h);
    for (unsigned i = 0; bad && i < c->g->nclasses; i++)
        check_ends(c, i);
}

void
inv_check_rings(struct inv_ctx *c, size_t *ring_len)
{
    size_t bound = (size_t)c->maxarenas * c->g->max_pools_in_arena;
    for (unsigned i = 0; i < c->g->nclasses; i++) {
        check_ends(c, i);
        ring_len[i] = walk_ring(c, i, bound);
    }
}

/* Return whether q is on arena ai's freepools (bounded walk). */
static bool
on_freepools(const struct inv_ctx *c, unsigned ai, uintptr_t q)
{
    const struct obm_arena *a = &c->arenas[ai];
    size_t n = 0, bound = inv_carved(c->g, a);
    for (const struct obm_pool *x = a->freepools; x != NULL && n < bound;
         x = x->nextpool, n++) {
        if ((uintptr_t)x == q)
            return true;
        // read the next link only from a pool header of this arena
        if (((uintptr_t)x & (c->g->pool_size - 1)) != 0
            || inv_find_arena(c, (uintptr_t)x) != (long)ai)
            return false;
    }
    return false;
}

/* A used pool: both links lead back to it, through members of its ring. */
static void
check_used_links(struct inv_ctx *c, unsigned ai, uintptr_t q, unsigned i)
{
    const struct obm_pool *p = (const struct obm_pool *)q;
    const struct obm_pool *next = p->nextpool, *prev = p->prevpool;
    int kn = place_link(c, i, next, q), kp = place_link(c, i, prev, q);
    if (kn >= 0) {
        const struct obm_pool *back =
            kn ? next->prevpool : c->v->usedpools[2 * i + 1];
        if (back != p)
            inv_fail(c, "U1", ai, i, q, 0, INV_VAL_PTR, q, PTR(back),
                     "nextpool.prevpool != pool");
        if (kn)
            check_member(c, i, next);
    }
    if (kp >= 0) {
        const struct obm_pool *fwd =
            kp ? prev->nextpool : c->v->usedpools[2 * i];
        if (fwd != p)
            inv_fail(c, "U1", ai, i, q, 0, INV_VAL_PTR, q, PTR(fwd),
                     "prevpool.nextpool != pool");
        if (kp)
            check_member(c, i, prev);
    }
}

void
inv_check_ring_neighbours(struct inv_ctx *c, unsigned ai, uintptr_t q,
                          const struct inv_pool_facts *pf)
{
    if (!pf->szidx_ok)
        return;
    unsigned i = pf->szidx;
    check_ends(c, i);
    const struct obm_pool *first = c->v->usedpools[2 * i];
    const struct obm_pool *last = c->v->usedpools[2 * i + 1];
    bool at_end = (uintptr_t)first == q || (uintptr_t)last == q;
    switch (pf->state) {
    case POOL_USED:
        check_used_links(c, ai, q, i);
        break;
    case POOL_FULL:
        if (at_end)
            inv_fail(c, "P6", ai, i, q, 0, INV_VAL_PTR, 0, q,
                     "full pool is still in ring %u", i);
        break;
    case POOL_EMPTY:
        if (at_end)
            inv_fail(c, "P6", ai, i, q, 0, INV_VAL_PTR, 0, q,
                     "empty pool is still in ring %u", i);
        if (!on_freepools(c, ai, q))
            inv_fail(c, "P6", ai, i, q, 0, INV_VAL_UNSIGNED, 1, 0,
                     "empty pool is not on its arena's freepools");
        break;
    default:
        break;
    }
}
