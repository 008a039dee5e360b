/* obm_planted.c — behavioural bugs for test-only builds of the core.
 *
 * Each leaves every state invariant intact, so only the checker's
 * behavioural predictions (the B family) can tell these builds from the
 * real thing.  Compiled into every build; reached only when OBM_PLANT
 * selects them. */
#include "obm_internal.h"

#include <string.h>

/* OBM_PLANT_MALLOC_SECOND: hand out the chain's second block when there is
 * one.  OBM_PLANT_RING_ROTATES: after a malloc that leaves the pool used,
 * move it to the back of its ring.  Return NULL to take the normal path. */
void *
obm_planted_take_block(obm_heap *h, struct obm_pool *pool, unsigned szidx)
{
    uint8_t *first = pool->freeblock;
    uint8_t *second = *(uint8_t **)first;
    if (OBM_PLANTED(OBM_PLANT_MALLOC_SECOND) && second != NULL) {
        *(uint8_t **)first = *(uint8_t **)second;
        ++pool->ref.count;
        return second;
    }
    struct obm_pool *sentinel = ring_sentinel(h, szidx);
    if (!OBM_PLANTED(OBM_PLANT_RING_ROTATES) || second == NULL
        || pool->nextpool == sentinel)
        return NULL;
    ++pool->ref.count;
    pool->freeblock = second;
    // unlink, then insert just before the sentinel
    pool->nextpool->prevpool = pool->prevpool;
    pool->prevpool->nextpool = pool->nextpool;
    pool->nextpool = sentinel;
    pool->prevpool = sentinel->prevpool;
    sentinel->prevpool->nextpool = pool;
    sentinel->prevpool = pool;
    return first;
}

/* OBM_PLANT_EAGER_GROWTH: grow the vector while one record is still unused,
 * then chain every record without an arena as the unused list again (the
 * move made the old links stale).  Return false if growth failed. */
bool
obm_planted_grow_early(obm_heap *h)
{
    struct obm_arena *u = h->unused_arena_objects;
    if (u == NULL || u->nextarena != NULL || h->usable_arenas != NULL)
        return true;
    h->unused_arena_objects = NULL;
    if (!obm_grow_arena_vector(h))
        return false;
    struct obm_arena *head = NULL;
    for (unsigned i = h->maxarenas; i-- > 0;) {
        if (h->arenas[i].address != 0)
            continue;
        h->arenas[i].nextarena = head;
        head = &h->arenas[i];
    }
    h->unused_arena_objects = head;
    return true;
}

/* OBM_PLANT_REALLOC_ADOPTS: move a raw block into a pool, copying n bytes
 * as obmalloc did before SF #1185883 (callers only shrink, so the copy
 * stays inside the old block). */
void *
obm_planted_adopt(obm_heap *h, void *p, size_t n)
{
    void *bp = obm_malloc(h, n);
    if (bp == NULL)
        return NULL;
    memcpy(bp, p, n);
    h->raw.free(h->raw.ctx, p);
    h->raw_allocated_blocks--;
    return bp;
}
