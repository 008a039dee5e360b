/* inv_pool.c — one carved pool: its header, its freeblock chain and its
 * state (P1-P7), and the live blocks inside it (P9, P10, C5 per pool). */
#include "inv_internal.h"

#include <string.h>

#define PTR(x) ((uint64_t)(uintptr_t)(x))

/* P1-P3 on the header; return whether nextoffset can bound the chain. */
static bool
check_header(struct inv_ctx *c, unsigned ai, uintptr_t q,
             struct inv_pool_facts *pf, bool *carved_all)
{
    const struct obm_geometry *g = c->g;
    const struct obm_pool *p = (const struct obm_pool *)q;
    long cls = pf->szidx;
    if (p->arenaindex != ai)
        inv_fail(c, "P1", ai, cls, q, 0, INV_VAL_UNSIGNED, ai, p->arenaindex,
                 "arenaindex does not name the pool's arena");
    if (!pf->szidx_ok) {
        inv_fail(c, "P1", ai, -1, q, 0, INV_VAL_UNSIGNED, g->nclasses - 1,
                 p->szidx, "szidx is not a size class");
        return false;
    }
    if (p->ref.count > pf->numblocks)
        inv_fail(c, "P2", ai, cls, q, 0, INV_VAL_UNSIGNED, pf->numblocks,
                 p->ref.count, "count exceeds NUMBLOCKS");
    unsigned bs = pf->blocksize, off = p->nextoffset;
    if (p->maxnextoffset != g->pool_size - bs)
        inv_fail(c, "P3", ai, cls, q, 0, INV_VAL_UNSIGNED, g->pool_size - bs,
                 p->maxnextoffset, "maxnextoffset != POOL_SIZE - blocksize");
    if (off < g->pool_overhead + 2 * bs || off > g->pool_size
        || (off - g->pool_overhead) % bs != 0) {
        inv_fail(c, "P3", ai, cls, q, 0, INV_VAL_UNSIGNED,
                 g->pool_overhead + 2 * bs, off,
                 "nextoffset is not a block boundary in the pool");
        return false;
    }
    unsigned carved = (off - g->pool_overhead) / bs;
    *carved_all = off > g->pool_size - bs;
    if ((carved == pf->numblocks) != *carved_all)
        inv_fail(c, "P3", ai, cls, q, 0, INV_VAL_UNSIGNED, pf->numblocks,
                 carved, "blocks carved disagrees with maxnextoffset");
    return true;
}

/* P4: walk the freeblock chain, bounded; return its length or SIZE_MAX. */
static size_t
walk_chain(struct inv_ctx *c, unsigned ai, uintptr_t q,
           struct inv_pool_facts *pf, uintptr_t end, size_t bound, bool prefix)
{
    const struct obm_geometry *g = c->g;
    const uint8_t *e = ((const struct obm_pool *)q)->freeblock;
    long cls = pf->szidx;
    uintptr_t lo = q + g->pool_overhead;
    size_t n = 0;
    for (; e != NULL; n++) {
        uintptr_t x = (uintptr_t)e;
        if (n == bound) { // a prefix stops here; a whole chain must not
            if (!prefix)
                inv_fail(c, "P4", ai, cls, q, x, INV_VAL_UNSIGNED, bound,
                         bound + 1, "freeblock chain does not end (cycle)");
            return SIZE_MAX;
        }
        // a whole block must fit: the link is read from its first word
        size_t k = 0;
        if (x < lo || x >= end || !inv_block_at(pf, x - lo, &k)
            || x > q + g->pool_size - pf->blocksize) {
            inv_fail(c, "P4", ai, cls, q, x, INV_VAL_PTR, lo, x,
                     "freeblock chain leaves the pool's carved blocks "
                     "(expected within [0x%llx, 0x%llx) on a boundary)",
                     (unsigned long long)lo, (unsigned long long)end);
            return SIZE_MAX;
        }
        if (pf->chain[k / 64] & (1ull << (k % 64))) {
            inv_fail(c, "P4", ai, cls, q, x, INV_VAL_UNSIGNED, 1, 2,
                     "block appears twice on the freeblock chain");
            return SIZE_MAX;
        }
        pf->chain[k / 64] |= 1ull << (k % 64);
        e = *(const uint8_t *const *)e;
    }
    return n;
}

/* P4 on the first INV_LOCAL_CHAIN links only; return SIZE_MAX (length
 * unknown) unless the chain ended within them. */
static size_t
walk_prefix(struct inv_ctx *c, unsigned ai, uintptr_t q,
            struct inv_pool_facts *pf, uintptr_t end)
{
    return walk_chain(c, ai, q, pf, end, INV_LOCAL_CHAIN, true);
}

/* P6, P7: the state the count implies against freeblock and carving. */
static void
classify(struct inv_ctx *c, unsigned ai, uintptr_t q,
         struct inv_pool_facts *pf, bool carved_all)
{
    const struct obm_pool *p = (const struct obm_pool *)q;
    long cls = pf->szidx;
    if (pf->count == 0) {
        pf->state = POOL_EMPTY;
    } else if (pf->count < pf->numblocks) {
        pf->state = POOL_USED;
        if (p->freeblock == NULL)
            inv_fail(c, carved_all ? "P7" : "P6", ai, cls, q, 0, INV_VAL_PTR,
                     1, 0, "used pool has no free block");
    } else if (pf->count == pf->numblocks) {
        pf->state = POOL_FULL;
        if (p->freeblock != NULL)
            inv_fail(c, "P7", ai, cls, q, 0, INV_VAL_PTR, 0, PTR(p->freeblock),
                     "full pool has a free block");
        else if (!carved_all)
            inv_fail(c, "P6", ai, cls, q, 0, INV_VAL_UNSIGNED,
                     p->maxnextoffset + 1, p->nextoffset,
                     "full pool still has virgin blocks");
    }
}

void
inv_check_pool(struct inv_ctx *c, unsigned ai, uintptr_t q,
               struct inv_pool_facts *pf)
{
    const struct obm_geometry *g = c->g;
    const struct obm_pool *p = (const struct obm_pool *)q;
    pf->state = POOL_BAD;
    pf->count = p->ref.count;
    pf->szidx = p->szidx;
    pf->szidx_ok = p->szidx < g->nclasses;
    pf->blocksize = pf->numblocks = 0;
    pf->recip = 0;
    pf->chained = 0;
    if (pf->szidx_ok) {
        pf->blocksize = obm_blocksize(g, p->szidx);
        pf->numblocks = obm_numblocks(g, p->szidx);
        pf->recip = (((uint64_t)1 << 32) + pf->blocksize - 1) / pf->blocksize;
    }
    // the chain bitmap is read only up to bit numblocks: a pool of large
    // blocks clears a word or two, not the whole map
    memset(pf->chain, 0, (pf->numblocks / 64 + 1) * sizeof pf->chain[0]);
    bool carved_all = false;
    bool off_ok = check_header(c, ai, q, pf, &carved_all);
    if (!pf->szidx_ok)
        return;
    uintptr_t end = off_ok ? q + p->nextoffset : q + g->pool_size;
    size_t carved = off_ok ? (p->nextoffset - g->pool_overhead) / pf->blocksize
                           : pf->numblocks;
    // an operation changes only the head of a chain: LOCAL reads the first
    // links, so its cost does not grow with cold memory (FULL walks it all)
    size_t n = c->level == INV_LOCAL && carved > INV_LOCAL_CHAIN
                   ? walk_prefix(c, ai, q, pf, end)
                   : walk_chain(c, ai, q, pf, end, carved, false);
    pf->chained = n;
    if (n != SIZE_MAX && off_ok && pf->count <= pf->numblocks
        && n + pf->count != carved)
        inv_fail(c, "P5", ai, pf->szidx, q, 0, INV_VAL_UNSIGNED,
                 carved >= pf->count ? carved - pf->count : 0, n,
                 "freeblock chain length != blocks carved - count");
    if (pf->count <= pf->numblocks)
        classify(c, ai, q, pf, carved_all);
}

/* Return the first live index whose pointer is >= x. */
static size_t
live_lower_bound(const struct inv_ctx *c, uintptr_t x)
{
    size_t lo = 0, hi = c->nlive;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)c->live_sorted[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void
inv_check_pool_live(struct inv_ctx *c, unsigned ai, uintptr_t q,
                    const struct inv_pool_facts *pf)
{
    if (c->live_sorted == NULL)
        return;
    const struct obm_geometry *g = c->g;
    uintptr_t lo = q + g->pool_overhead;
    uintptr_t end = q + ((const struct obm_pool *)q)->nextoffset;
    // the walk goes up an arena pool by pool: where the last pool's blocks
    // ended is where this one's begin, with no search
    size_t k = q == c->live_next_pool ? c->live_next : live_lower_bound(c, q);
    size_t n = 0;
    for (; k < c->nlive && (uintptr_t)c->live_sorted[k] < q + g->pool_size;
         k++, n++) {
        uintptr_t x = (uintptr_t)c->live_sorted[k];
        if (!pf->szidx_ok)
            continue;
        size_t b = 0;
        if (x < lo || x >= end || !inv_block_at(pf, x - lo, &b)) {
            inv_fail(c, "P10", ai, pf->szidx, q, x, INV_VAL_PTR, lo, x,
                     "live block is not a carved block boundary");
            continue;
        }
        if (pf->chain[b / 64] & (1ull << (b % 64)))
            inv_fail(c, "P9", ai, pf->szidx, q, x, INV_VAL_UNSIGNED, 0, 1,
                     "live block is on the freeblock chain");
    }
    c->nlive_seen += n;
    c->live_next = k;
    c->live_next_pool = q + g->pool_size;
    if (n != pf->count)
        inv_fail(c, "C5", ai, pf->szidx_ok ? (long)pf->szidx : -1, q, 0,
                 INV_VAL_UNSIGNED, n, pf->count,
                 "count != live blocks in the pool");
}
