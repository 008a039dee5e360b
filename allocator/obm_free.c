/* obm_free.c — free: push the block on its pool's chain, and handle the
 * two transitions a free can cause (facts §4.5). */
#include "obm_internal.h"

/* Give a block the pools do not own back to the raw allocator. */
static __attribute__((noinline)) void
free_raw(obm_heap *h, void *p)
{
    h->raw.free(h->raw.ctx, p);
    h->raw_allocated_blocks--;
}

/* Push p on its pool's freeblock chain.  Both transitions are tail calls,
 * so the common case needs no stack frame. */
static inline void
free_to_pool(obm_heap *h, void *p)
{
    struct obm_pool *pool = pool_of(h, p);
    OBM_ASSERT_LOCAL(pool->ref.count > 0);
    uint8_t *lastfree = pool->freeblock;
    *(uint8_t **)p = lastfree;
    pool->freeblock = p;
    if (!OBM_PLANTED(OBM_PLANT_COUNT_LEAK) || lastfree != NULL)
        pool->ref.count--;
    // the pool was full: it becomes used again, at the front of its ring
    if (OBM_UNLIKELY(lastfree == NULL)) {
        pool_unfull(h, pool);
        return;
    }
    if (OBM_LIKELY(pool->ref.count != 0))
        return;
    obm_pool_empty(h, pool);
}

/* Other geometries: the same steps, with the ownership test they need. */
static __attribute__((noinline)) void
free_other(obm_heap *h, void *p)
{
    if (!heap_owns(h, p)) {
        free_raw(h, p);
        return;
    }
    free_to_pool(h, p);
}

void
obm_free(obm_heap *h, void *p)
{
    if (p == NULL)
        return;
    if (OBM_UNLIKELY(h->fastpath != OBM_FAST_RADIX_PY311)) {
        free_other(h, p);
        return;
    }
    if (OBM_UNLIKELY(!radix_owns_py311(h, (uintptr_t)p))) {
        free_raw(h, p);
        return;
    }
    free_to_pool(h, p);
}
