/* obm_free.c — free: push the block on its pool's chain, and handle the
 * two transitions a free can cause (facts §4.5). */
#include "obm_internal.h"

void
obm_free(obm_heap *h, void *p)
{
    if (p == NULL)
        return;
    if (OBM_UNLIKELY(!heap_owns(h, p))) {
        h->raw.free(h->raw.ctx, p);
        h->raw_allocated_blocks--;
        return;
    }
    struct obm_pool *pool = pool_of(h, p);
    OBM_ASSERT_LOCAL(pool->ref.count > 0);
    uint8_t *lastfree = pool->freeblock;
    *(uint8_t **)p = lastfree;
    pool->freeblock = p;
    if (!OBM_PLANTED(OBM_PLANT_COUNT_LEAK) || lastfree != NULL)
        pool->ref.count--;
    // the pool was full: it becomes used again, at the front of its ring
    if (OBM_UNLIKELY(lastfree == NULL)) {
        obm_pool_unfull(h, pool);
        return;
    }
    if (OBM_LIKELY(pool->ref.count != 0))
        return;
    obm_pool_empty(h, pool);
}
