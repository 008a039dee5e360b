/* obm_realloc.c — realloc with obmalloc's in-place rule (facts §4.7). */
#include "obm_internal.h"

#include <string.h>

/* Resize a block the raw allocator owns; pools never adopt it (SF
 * #1185883: copying n bytes out of a foreign block can fault). */
static void *
raw_realloc(obm_heap *h, void *p, size_t n)
{
    void *q = h->raw.realloc(h->raw.ctx, p, n);
    // 2.7 asked for 1 byte when given 0, and kept p if even that failed
    if (q == NULL && n == 0 && h->g->raw_realloc_keeps)
        return p;
    return q;
}

void *
obm_realloc(obm_heap *h, void *p, size_t n)
{
    if (p == NULL)
        return obm_malloc(h, n);
    if (n > PTRDIFF_MAX)
        return NULL;
    if (!heap_owns(h, p)) {
        if (OBM_PLANTED(OBM_PLANT_REALLOC_ADOPTS) && n - 1 < h->threshold)
            return obm_planted_adopt(h, p, n);
        return raw_realloc(h, p, n);
    }
    size_t size = obm_blocksize(h->g, pool_of(h, p)->szidx);
    if (n <= size) {
        // shrinking by less than a quarter is not worth a copy
        if (4 * n > 3 * size && !OBM_PLANTED(OBM_PLANT_REALLOC_MOVES))
            return p;
        size = n;
    }
    // the requested size is unknown: growth copies the whole old block
    void *bp = obm_malloc(h, n);
    if (bp != NULL) {
        memcpy(bp, p, size);
        obm_free(h, p);
    }
    return bp;
}
