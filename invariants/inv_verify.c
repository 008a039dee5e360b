/* inv_verify.c — the second half of the B family: compare the heap after
 * an operation with what inv_predict() wrote down before it (the list of
 * IDs is at the top of inv_behaviour.c). */
#include "inv_internal.h"

#include <string.h>

#define PTR(x) ((uint64_t)(uintptr_t)(x))

static uintptr_t
pool_of(const struct inv_ctx *c, const void *p)
{
    return (uintptr_t)p & ~(uintptr_t)(c->g->pool_size - 1);
}

/* B3, B4 for a malloc that needed a new arena: its first pool, set up
 * afresh.  A raw result means the arena source failed: allowed. */
static void
verify_fresh(struct inv_ctx *c, const struct inv_prediction *pred,
             const void *result)
{
    long ai = inv_find_arena(c, (uintptr_t)result);
    if (ai < 0)
        return;
    uintptr_t q = pool_of(c, result);
    uintptr_t first = inv_first_pool(c->g, c->arenas[ai].address);
    if (q != first)
        inv_fail(c, "B3", ai, pred->szidx, q, PTR(result), INV_VAL_PTR, first,
                 q, "a new arena's pool is not its first pool");
    else if ((uintptr_t)result != q + c->g->pool_overhead)
        inv_fail(c, "B4", ai, pred->szidx, q, (uintptr_t)result, INV_VAL_PTR,
                 q + c->g->pool_overhead, PTR(result),
                 "a fresh pool did not hand out its first block");
}

/* B1, B3, B4: the block and pool malloc chose. */
static void
verify_block(struct inv_ctx *c, const struct inv_prediction *pred,
             const void *result)
{
    unsigned e = pred->expect;
    uintptr_t q = (uintptr_t)pred->pool;
    if ((e & EXPECT_POOL) && pool_of(c, result) != q) {
        inv_fail(c, "B3", pred->arena, pred->szidx, q, PTR(result),
                 INV_VAL_PTR, q, pool_of(c, result),
                 "the pool for an empty ring is not the head arena's "
                 "freepools head or next virgin pool");
        return;
    }
    if ((e & EXPECT_BLOCK) && result != pred->block)
        inv_fail(c, (e & EXPECT_ONLY_MEMBER) ? "B4" : "B1", pred->arena,
                 pred->szidx, q, PTR(result), INV_VAL_PTR, PTR(pred->block),
                 PTR(result),
                 (e & EXPECT_ONLY_MEMBER)
                     ? "a pool taken for an empty ring handed out another "
                       "block"
                     : "malloc did not return its ring's first chain head");
}

/* B2, B4, B6: the ring of the class involved. */
static void
verify_ring(struct inv_ctx *c, const struct inv_prediction *pred,
            const void *result)
{
    unsigned e = pred->expect, i = pred->szidx;
    const struct obm_pool *first = c->v->usedpools[2 * i];
    const struct obm_pool *last = c->v->usedpools[2 * i + 1];
    bool is_free = pred->op.kind == INV_OP_FREE;
    if ((e & EXPECT_RING_FIRST) && first != pred->ring_first)
        inv_fail(c, is_free ? "B6" : "B2", -1, i, PTR(pred->pool), 0,
                 INV_VAL_PTR, PTR(pred->ring_first), PTR(first),
                 is_free ? "a pool that stopped being full is not first in "
                           "its ring"
                         : "malloc changed the order of its ring");
    if ((e & EXPECT_NEIGHBOURS)
        && (pred->pool->nextpool != pred->ring_next
            || pred->pool->prevpool != pred->ring_prev))
        inv_fail(c, "B2", -1, i, PTR(pred->pool), 0, INV_VAL_PTR,
                 PTR(pred->ring_next), PTR(pred->pool->nextpool),
                 "a free that kept its pool used moved it in its ring");
    if ((e & EXPECT_ONLY_MEMBER) && inv_find_arena(c, PTR(result)) >= 0) {
        uintptr_t q = pool_of(c, result);
        if ((uintptr_t)first != q || (uintptr_t)last != q)
            inv_fail(c, "B4", -1, i, q, PTR(result), INV_VAL_PTR, q,
                     PTR(first),
                     "a pool taken for an empty ring is not "
                     "its only member");
    }
}

/* B7, B8, B9: what happened to the arena of a pool that became empty. */
static void
verify_arena(struct inv_ctx *c, const struct inv_prediction *pred)
{
    unsigned e = pred->expect;
    long ai = pred->arena;
    if (ai < 0 || (unsigned)ai >= c->maxarenas)
        return;
    const struct obm_arena *ao = &c->arenas[ai];
    if ((e & EXPECT_RELEASE) && ao->address != 0) {
        inv_fail(c, "B9", ai, -1, 0, 0, INV_VAL_UNSIGNED, 0, 1,
                 "a wholly free arena was kept");
        return;
    }
    if ((e & EXPECT_KEEP) && ao->address == 0) {
        inv_fail(c, "B9", ai, -1, 0, 0, INV_VAL_UNSIGNED, 1, 0,
                 "the wholly free tail arena was released (3.9+ keeps it)");
        return;
    }
    if (ao->address == 0)
        return;
    if ((e & EXPECT_FREEPOOLS) && ao->freepools != pred->pool)
        inv_fail(c, "B7", ai, pred->szidx, PTR(pred->pool), 0, INV_VAL_PTR,
                 PTR(pred->pool), PTR(ao->freepools),
                 "an emptied pool is not first on its arena's freepools");
    if (e & EXPECT_ARENA_PREV) {
        const struct obm_arena *want =
            pred->arena_prev < 0 ? NULL : &c->arenas[pred->arena_prev];
        bool head_ok = want != NULL || *c->v->usable_arenas == ao;
        if (ao->prevarena != want || !head_ok)
            inv_fail(c, "B8", ai, -1, 0, 0, INV_VAL_SIGNED,
                     (uint64_t)pred->arena_prev,
                     (uint64_t)inv_record_index(c, ao->prevarena),
                     "the arena is not just after the last arena with at "
                     "most its old nfreepools (record index; -1 = head)");
    }
}

/* B10, B11: realloc's choice, and routing to the raw allocator. */
static void
verify_route(struct inv_ctx *c, const struct inv_prediction *pred,
             const void *result)
{
    unsigned e = pred->expect;
    if ((e & EXPECT_RAW) && inv_find_arena_in(c, PTR(result), true) >= 0)
        inv_fail(c, "B11", -1, -1, pool_of(c, result), PTR(result),
                 INV_VAL_UNSIGNED, pred->op.size, pred->op.size,
                 "a block that belongs to the raw allocator came from a "
                 "pool (size %zu)",
                 pred->op.size);
    if ((e & EXPECT_IN_PLACE) && result != pred->op.ptr)
        inv_fail(c, "B10", -1, -1, pool_of(c, pred->op.ptr), PTR(result),
                 INV_VAL_PTR, PTR(pred->op.ptr), PTR(result),
                 "realloc to %zu bytes moved a block it should keep",
                 pred->op.size);
    if ((e & EXPECT_MOVED) && result == pred->op.ptr)
        inv_fail(c, "B10", -1, -1, pool_of(c, result), PTR(result),
                 INV_VAL_NONE, 0, 0,
                 "realloc to %zu bytes kept a block it should move",
                 pred->op.size);
}

size_t
inv_verify(const struct inv_view *v, const struct inv_prediction *pred,
           const void *result, unsigned long opno, struct inv_report *out)
{
    size_t before = out->total;
    struct inv_report sink;
    struct inv_ctx c;
    if (!inv_open_ctx(&c, v, &sink))
        return 0;
    c.out = out;
    c.opno = opno;
    unsigned e = pred->expect;
    // B5 holds whatever the result; the rest needs a block to look at
    if ((e & EXPECT_GROWTH) && *v->maxarenas != pred->maxarenas
        && !pred->lists_empty)
        inv_fail(&c, "B5", -1, -1, 0, 0, INV_VAL_UNSIGNED, pred->maxarenas,
                 *v->maxarenas,
                 "the arenas vector grew while an arena list was not "
                 "empty");
    if (pred->op.kind == INV_OP_FREE) {
        verify_ring(&c, pred, NULL);
        verify_arena(&c, pred);
    } else if (result != NULL) {
        if (e & EXPECT_FRESH)
            verify_fresh(&c, pred, result);
        verify_block(&c, pred, result);
        verify_ring(&c, pred, result);
        verify_route(&c, pred, result);
    }
    return out->total - before;
}

void
inv_report_reset(struct inv_report *r)
{
    r->total = r->nkept = 0;
    r->skipped = 0;
}
