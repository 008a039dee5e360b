/* obm_alloc.c — malloc and calloc: the fast path through usedpools, and
 * the raw fallback for everything pools do not serve (facts §4.1-§4.3,
 * §4.8, §4.9). */
#include "obm_internal.h"

#include <string.h>

/* Return a block of class (n-1) >> ALIGNMENT_SHIFT for 1 <= n <= 512, or
 * NULL if no arena can be had. */
static inline void *
pool_alloc(obm_heap *h, size_t n)
{
    unsigned szidx = (unsigned)((n - 1) >> h->alignment_shift);
    struct obm_pool *pool = h->usedpools[szidx + szidx];
    // a real pool is never its own successor; the sentinel of an empty
    // ring is
    if (OBM_LIKELY(pool != pool->nextpool)) {
        ++pool->ref.count;
        uint8_t *bp = pool->freeblock;
        OBM_ASSERT_LOCAL(bp != NULL);
        if (OBM_UNLIKELY((pool->freeblock = *(uint8_t **)bp) == NULL))
            obm_pool_extend(h, pool, szidx);
        return bp;
    }
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

void *
obm_malloc(obm_heap *h, size_t n)
{
    // n - 1 wraps for 0, so one compare routes both 0 and large sizes away
    if (OBM_LIKELY(n - 1 < h->threshold)) {
        void *bp = pool_alloc(h, n);
        if (OBM_LIKELY(bp != NULL))
            return bp;
    }
    if (n > PTRDIFF_MAX) // CPython's public wrappers refuse these
        return NULL;
    return obm_raw_malloc(h, n);
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
