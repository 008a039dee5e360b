/* obm_alloc.c — malloc and calloc: the fast path through usedpools, and
 * the raw fallback for everything pools do not serve (facts §4.1-§4.3,
 * §4.8, §4.9). */
#include "obm_internal.h"

#include <string.h>

/* Hand out the first free block of a used pool.  Extending the pool is a
 * tail call, so the common case needs no stack frame. */
static inline void *
take_block(obm_heap *h, struct obm_pool *pool, unsigned szidx)
{
#if OBM_PLANT == OBM_PLANT_MALLOC_SECOND || OBM_PLANT == OBM_PLANT_RING_ROTATES
    void *planted = obm_planted_take_block(h, pool, szidx);
    if (planted != NULL)
        return planted;
#endif
    ++pool->ref.count;
    uint8_t *bp = pool->freeblock;
    OBM_ASSERT_LOCAL(bp != NULL);
    if (OBM_UNLIKELY((pool->freeblock = *(uint8_t **)bp) == NULL))
        return pool_extend(h, pool, szidx, bp);
    return bp;
}

/* Return a block for 1 <= n <= threshold: from the first pool of its ring,
 * else from a fresh pool; NULL if no arena can be had. */
static inline void *
pool_alloc(obm_heap *h, size_t n)
{
    unsigned szidx = (unsigned)((n - 1) >> h->alignment_shift);
    struct obm_pool *pool = h->usedpools[szidx + szidx];
    // a real pool is never its own successor; an empty ring's sentinel is
    if (OBM_LIKELY(pool != pool->nextpool))
        return take_block(h, pool, szidx);
    return obm_alloc_from_new_pool(h, szidx);
}

/* Serve n bytes from the raw allocator and count the block. */
void *
obm_raw_malloc(obm_heap *h, size_t n)
{
    void *p = h->raw.malloc(h->raw.ctx, n);
    if (p != NULL)
        h->raw_allocated_blocks++;
    return p;
}

/* Everything but a non-empty ring: a fresh pool, then the raw allocator. */
static __attribute__((noinline)) void *
malloc_slow(obm_heap *h, size_t n)
{
    if (n - 1 < h->threshold) {
        void *bp = obm_alloc_from_new_pool(
            h, (unsigned)((n - 1) >> h->alignment_shift));
        if (bp != NULL)
            return bp;
    }
    if (n > PTRDIFF_MAX) // CPython's public wrappers refuse these
        return NULL;
    return obm_raw_malloc(h, n);
}

void *
obm_malloc(obm_heap *h, size_t n)
{
    // n - 1 wraps for 0, so one compare routes both 0 and large sizes away
    if (OBM_LIKELY(n - 1 < h->threshold)) {
        unsigned szidx = (unsigned)((n - 1) >> h->alignment_shift);
        struct obm_pool *pool = h->usedpools[szidx + szidx];
        if (OBM_LIKELY(pool != pool->nextpool))
            return take_block(h, pool, szidx);
    }
    return malloc_slow(h, n);
}

void *
obm_calloc(obm_heap *h, size_t nelem, size_t elsize)
{
    if (elsize != 0 && nelem > (size_t)PTRDIFF_MAX / elsize)
        return NULL;
    size_t n = nelem * elsize;
    if (n - 1 < h->threshold) {
        void *bp = pool_alloc(h, n);
        if (bp != NULL)
            return memset(bp, 0, n); // exactly the bytes asked for
    }
    void *p = h->raw.calloc(h->raw.ctx, nelem, elsize);
    if (p != NULL)
        h->raw_allocated_blocks++;
    return p;
}
