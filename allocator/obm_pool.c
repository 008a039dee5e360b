/* obm_pool.c — pools: taking one for an empty ring, carving virgin blocks,
 * and the transitions full -> used and used -> empty (facts §4.2-§4.5). */
#include "obm_internal.h"

/* Link pool as the only member of ring szidx. */
static void
link_only_used_pool(obm_heap *h, struct obm_pool *pool, unsigned szidx)
{
    struct obm_pool *sentinel = ring_sentinel(h, szidx);
    pool->nextpool = pool->prevpool = sentinel;
    sentinel->nextpool = sentinel->prevpool = pool;
}

/* Take a pool from the head arena: its freepools first, else carve the
 * next one.  The head has the fewest free pools, so removing it when it
 * runs out keeps the list sorted. */
static struct obm_pool *
take_pool(obm_heap *h)
{
    struct obm_arena *ao = h->usable_arenas;
    if (OBM_PLANTED(OBM_PLANT_WRONG_ARENA)) {
        while (ao->nextarena != NULL)
            ao = ao->nextarena;
    }
    unsigned nf = ao->nfreepools;
    if (h->g->sort == OBM_SORT_NFP2LASTA) {
        // ao is the last arena with count nf only if nothing follows it
        // with nf; after this call it is the first (and last) with nf-1
        if (h->nfp2lasta[nf] == ao)
            h->nfp2lasta[nf] = NULL;
        if (nf > 1)
            h->nfp2lasta[nf - 1] = ao;
    }
    struct obm_pool *pool = ao->freepools;
    if (pool != NULL) {
        ao->freepools = pool->nextpool;
    } else {
        // carving happens only when no empty pool is left (A9)
        OBM_ASSERT(ao->pool_address + h->g->pool_size
                   <= (uint8_t *)ao->address + h->arena_size);
        pool = (struct obm_pool *)ao->pool_address;
        pool->arenaindex = (unsigned)(ao - h->arenas);
        pool->szidx = OBM_DUMMY_SIZE_IDX;
        ao->pool_address += h->g->pool_size;
    }
    if (--ao->nfreepools == 0) {
        OBM_ASSERT(ao->freepools == NULL);
        if (ao->prevarena != NULL) // only a planted bug takes a non-head
            ao->prevarena->nextarena = ao->nextarena;
        else
            h->usable_arenas = ao->nextarena;
        if (ao->nextarena != NULL)
            ao->nextarena->prevarena = ao->prevarena;
    }
    return pool;
}

/* Return the first block of a pool newly given to the empty ring szidx;
 * NULL if no arena can be had. */
void *
obm_alloc_from_new_pool(obm_heap *h, unsigned szidx)
{
    if (h->usable_arenas == NULL) {
        struct obm_arena *ao = obm_new_arena(h);
        if (ao == NULL)
            return NULL;
        ao->nextarena = ao->prevarena = NULL;
        h->usable_arenas = ao;
        if (h->g->sort == OBM_SORT_NFP2LASTA)
            h->nfp2lasta[ao->nfreepools] = ao;
    }
    struct obm_pool *pool = take_pool(h);
    link_only_used_pool(h, pool, szidx);
    pool->ref.count = 1;
    uint8_t *bp;
    if (pool->szidx == szidx && !OBM_PLANTED(OBM_PLANT_REINIT_SAME)) {
        // an emptied pool of the same class: its chain is ready
        bp = pool->freeblock;
        OBM_ASSERT(bp != NULL);
        pool->freeblock = *(uint8_t **)bp;
        return bp;
    }
    // set up for this class; write only the two blocks needed now
    unsigned size = obm_blocksize(h->g, szidx);
    pool->szidx = szidx;
    bp = (uint8_t *)pool + h->g->pool_overhead;
    pool->nextoffset = h->g->pool_overhead + (size << 1);
    pool->maxnextoffset = h->g->pool_size - size;
    pool->freeblock = bp + size;
    *(uint8_t **)pool->freeblock = NULL;
    return bp;
}

/* A used pool became empty: out of its ring, onto the front of its arena's
 * freepools (the most recently emptied is reused first), then arena
 * management. */
void
obm_pool_empty(obm_heap *h, struct obm_pool *pool)
{
    struct obm_pool *next = pool->nextpool, *prev = pool->prevpool;
    next->prevpool = prev;
    prev->nextpool = next;
    struct obm_arena *ao = &h->arenas[pool->arenaindex];
    if (OBM_PLANTED(OBM_PLANT_FREEPOOLS_FIFO) && ao->freepools != NULL) {
        struct obm_pool *last = ao->freepools;
        while (last->nextpool != NULL)
            last = last->nextpool;
        last->nextpool = pool;
        pool->nextpool = NULL;
    } else {
        pool->nextpool = ao->freepools;
        ao->freepools = pool;
    }
    obm_arena_gained_pool(h, ao);
}
