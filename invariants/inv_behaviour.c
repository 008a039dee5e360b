/* inv_behaviour.c — the B family: predict obmalloc's decision before an
 * operation, verify it after (facts §4.2-§4.7).
 *
 * A prediction is a handful of expectations, each tied to one B ID:
 *   B1  malloc from a non-empty ring returns its first pool's chain head;
 *   B2  ring order is kept, but for a pool that changes state;
 *   B3  a pool for an empty ring comes from the head of usable_arenas:
 *       its freepools head, else its next virgin pool;
 *   B4  that pool becomes the ring's only member and hands out its chain
 *       head (same class as before) or its first block (re-initialised);
 *   B5  the arenas vector grows only with both arena lists empty;
 *   B6  a free into a full pool puts the pool first in its ring;
 *   B7  a pool emptied by a free goes first on its arena's freepools;
 *   B8  the arena that gained a pool follows the last other arena with at
 *       most its old nfreepools (the head if none);
 *   B9  a wholly free arena is released: always up to 3.8, from 3.9 on
 *       unless it is the tail of usable_arenas;
 *   B10 realloc stays in place iff n <= blocksize and 4n > 3*blocksize;
 *   B11 sizes 0 and above the threshold, and realloc of a raw block, give
 *       raw blocks: pools never adopt a foreign block.
 * Every pointer is placed with the state checker's discipline before it is
 * read; what cannot be placed is not predicted. */
#include "inv_internal.h"

#include <string.h>

bool
inv_open_ctx(struct inv_ctx *c, const struct inv_view *v,
             struct inv_report *sink)
{
    inv_ctx_init(c, v, sink, INV_LOCAL, 0);
    inv_check_vector(c);
    if (!c->vector_ok)
        return false;
    inv_build_index(c, NULL, 0);
    return true;
}

static uintptr_t
pool_base(const struct inv_ctx *c, uintptr_t p)
{
    return p & ~(uintptr_t)(c->g->pool_size - 1);
}

/* Return the carved pool holding p, or 0. */
static uintptr_t
place_pool(const struct inv_ctx *c, const void *p, long *arena)
{
    long ai = inv_find_arena(c, (uintptr_t)p);
    if (arena != NULL)
        *arena = ai;
    return ai < 0 ? 0 : pool_base(c, (uintptr_t)p);
}

/* Return pool q's chain head if it is a block of q, else 0. */
static uintptr_t
chain_head(const struct inv_ctx *c, uintptr_t q)
{
    const struct obm_pool *p = (const struct obm_pool *)q;
    uintptr_t fb = (uintptr_t)p->freeblock;
    if (fb < q + c->g->pool_overhead || fb >= q + c->g->pool_size
        || (fb & (c->g->alignment - 1)) != 0)
        return 0;
    return fb;
}

/* B1, B2: the ring is not empty. */
static void
predict_ring_malloc(const struct inv_ctx *c, uintptr_t first,
                    struct inv_prediction *pred)
{
    const struct obm_pool *p = (const struct obm_pool *)first;
    uintptr_t fb = chain_head(c, first);
    if (fb == 0)
        return;
    pred->pool = p;
    pred->block = (const void *)fb;
    pred->expect |= EXPECT_BLOCK | EXPECT_RING_FIRST;
    // the pool leaves the ring only if its chain and virgin blocks run out
    bool fills = *(const uint8_t *const *)fb == NULL
                 && p->nextoffset > p->maxnextoffset;
    pred->ring_first = fills ? p->nextpool : p;
}

/* B3, B4, B5: the ring is empty, so a pool is taken. */
static void
predict_new_pool(const struct inv_ctx *c, struct inv_prediction *pred)
{
    const struct inv_view *v = c->v;
    pred->maxarenas = *v->maxarenas;
    pred->lists_empty =
        *v->usable_arenas == NULL && *v->unused_arena_objects == NULL;
    pred->expect |= EXPECT_GROWTH | EXPECT_ONLY_MEMBER;
    const struct obm_arena *head = *v->usable_arenas;
    if (head == NULL) { // a new arena: its first pool, set up afresh
        pred->expect |= EXPECT_FRESH;
        return;
    }
    long ai = inv_record_index(c, head);
    if (ai < 0 || !inv_arena_trusted(c, (unsigned)ai))
        return;
    pred->arena = ai;
    uintptr_t q = (uintptr_t)head->freepools;
    if (q == 0) {
        q = (uintptr_t)head->pool_address;
        pred->block = (const void *)(q + c->g->pool_overhead);
    } else {
        if (place_pool(c, (const void *)q, NULL) != q)
            return;
        const struct obm_pool *p = (const struct obm_pool *)q;
        uintptr_t fb = chain_head(c, q);
        if (p->szidx == pred->szidx && fb == 0)
            return;
        pred->block =
            (const void *)(p->szidx == pred->szidx ? fb
                                                   : q + c->g->pool_overhead);
    }
    pred->pool = (const struct obm_pool *)q;
    pred->expect |= EXPECT_POOL | EXPECT_BLOCK;
}

static void
predict_malloc(const struct inv_ctx *c, size_t n, struct inv_prediction *pred)
{
    if (n == 0 || n > c->g->threshold) {
        if (n <= PTRDIFF_MAX)
            pred->expect |= EXPECT_RAW;
        return;
    }
    unsigned i = (unsigned)((n - 1) >> c->g->alignment_shift);
    pred->szidx = i;
    const struct obm_pool *first = c->v->usedpools[2 * i];
    if (first == inv_sentinel(c, i)) {
        predict_new_pool(c, pred);
        return;
    }
    uintptr_t q = place_pool(c, first, NULL);
    if (q != 0 && q == (uintptr_t)first)
        predict_ring_malloc(c, q, pred);
}

/* B8: the last arena other than ao with at most nf_old free pools, walking
 * usable_arenas from its head; -1 for none, -2 if the list is damaged. */
static long
predecessor_after(const struct inv_ctx *c, const struct obm_arena *ao,
                  unsigned nf_old)
{
    long prev = -1;
    const struct obm_arena *x = *c->v->usable_arenas;
    for (unsigned steps = 0; x != NULL; steps++, x = x->nextarena) {
        long xi = inv_record_index(c, x);
        if (xi < 0 || steps > c->maxarenas)
            return -2;
        if (x->nfreepools > nf_old)
            break; // sorted: nothing further qualifies
        if (x != ao)
            prev = xi;
    }
    return prev;
}

/* B7, B8, B9: the pool of record ai becomes empty. */
static void
predict_pool_empties(const struct inv_ctx *c, long ai,
                     struct inv_prediction *pred)
{
    const struct obm_arena *ao = &c->arenas[ai];
    unsigned nf = ao->nfreepools + 1;
    pred->arena = ai;
    bool tail = ao->nextarena == NULL;
    if (nf == ao->ntotalpools && !(c->g->keep_tail_arena && tail)) {
        pred->expect |= EXPECT_RELEASE;
        return;
    }
    if (nf == ao->ntotalpools)
        pred->expect |= EXPECT_KEEP;
    pred->expect |= EXPECT_FREEPOOLS;
    // a full arena is on no list; its stale links must not be walked
    long prev = nf == 1 ? -1 : predecessor_after(c, ao, nf - 1);
    if (prev >= -1) {
        pred->arena_prev = prev;
        pred->expect |= EXPECT_ARENA_PREV;
    }
}

static void
predict_free(const struct inv_ctx *c, const void *ptr,
             struct inv_prediction *pred)
{
    long ai;
    uintptr_t q = place_pool(c, ptr, &ai);
    if (q == 0)
        return; // a raw block: nothing of the pools changes
    const struct obm_pool *p = (const struct obm_pool *)q;
    if (p->szidx >= c->g->nclasses || p->ref.count == 0)
        return;
    pred->pool = p;
    pred->szidx = p->szidx;
    if (p->freeblock == NULL) { // full: becomes used, first in its ring
        pred->ring_first = p;
        pred->expect |= EXPECT_RING_FIRST;
    } else if (p->ref.count > 1) { // stays used where it is
        pred->ring_next = p->nextpool;
        pred->ring_prev = p->prevpool;
        pred->expect |= EXPECT_NEIGHBOURS;
    } else {
        predict_pool_empties(c, ai, pred);
    }
}

static void
predict_realloc(const struct inv_ctx *c, const void *ptr, size_t n,
                struct inv_prediction *pred)
{
    if (ptr == NULL) {
        predict_malloc(c, n, pred);
        return;
    }
    if (n > PTRDIFF_MAX)
        return;
    uintptr_t q = place_pool(c, ptr, NULL);
    if (q == 0) {
        pred->expect |= EXPECT_RAW;
        return;
    }
    const struct obm_pool *p = (const struct obm_pool *)q;
    if (p->szidx >= c->g->nclasses)
        return;
    size_t size = obm_blocksize(c->g, p->szidx);
    bool in_place = n <= size && 4 * n > 3 * size;
    pred->expect |= in_place ? EXPECT_IN_PLACE : EXPECT_MOVED;
}

void
inv_predict(const struct inv_view *v, const struct inv_op *op,
            struct inv_prediction *pred)
{
    // field by field (a new field needs its line): a memset of the whole
    // struct costs more than the prediction of a simple operation
    pred->op = *op;
    pred->expect = pred->szidx = pred->maxarenas = 0;
    pred->block = NULL;
    pred->pool = pred->ring_first = pred->ring_next = pred->ring_prev = NULL;
    pred->arena = pred->arena_prev = -1;
    pred->lists_empty = false;
    struct inv_report sink;
    struct inv_ctx c;
    if (!inv_open_ctx(&c, v, &sink))
        return;
    switch (op->kind) {
    case INV_OP_MALLOC:
    case INV_OP_CALLOC:
        predict_malloc(&c, op->size, pred);
        break;
    case INV_OP_REALLOC:
        predict_realloc(&c, op->ptr, op->size, pred);
        break;
    case INV_OP_FREE:
        if (op->ptr != NULL)
            predict_free(&c, op->ptr, pred);
        break;
    }
}
