/* inv_accounting.c — counters and conservation laws (C1-C6): the arena
 * counters, the byte ledger, the live-block count, and the agreement of the
 * two traversals (pools by header vs pools by list). */
#include "inv_internal.h"

void
inv_check_counters(struct inv_ctx *c, bool full)
{
    const struct inv_view *v = c->v;
    size_t ntimes = *v->ntimes_arena_allocated;
    size_t hw = *v->narenas_highwater, cur = *v->narenas_currently_allocated;
    if (ntimes < hw)
        inv_fail(c, "C2", -1, -1, 0, 0, INV_VAL_UNSIGNED, hw, ntimes,
                 "ntimes_arena_allocated < narenas_highwater");
    if (hw < cur)
        inv_fail(c, "C2", -1, -1, 0, 0, INV_VAL_UNSIGNED, cur, hw,
                 "narenas_highwater < narenas_currently_allocated");
    if (v->raw_allocated_blocks == NULL)
        return;
    ptrdiff_t raw = *v->raw_allocated_blocks;
    if (raw < 0)
        inv_fail(c, "C4", -1, -1, 0, 0, INV_VAL_SIGNED, 0, (uint64_t)raw,
                 "raw_allocated_blocks is negative");
    else if (v->nraw != SIZE_MAX && (size_t)raw != v->nraw)
        inv_fail(c, "C4", -1, -1, 0, 0, INV_VAL_UNSIGNED, v->nraw,
                 (uint64_t)raw,
                 "raw_allocated_blocks != live raw blocks the caller holds");
    (void)full;
}

/* C3: the arenas' bytes are all accounted for. */
static void
check_bytes(struct inv_ctx *c, const struct inv_tally *t)
{
    uint64_t ps = c->g->pool_size;
    uint64_t want = (uint64_t)t->ntrusted * c->g->arena_size;
    uint64_t got = t->handed + t->avail + t->unused_pools * ps + t->headers
                   + t->quant + t->misaligned * ps;
    if (want != got)
        inv_fail(c, "C3", -1, -1, 0, 0, INV_VAL_UNSIGNED, want, got,
                 "byte ledger does not add up to the arenas' size");
}

/* U2 and C6: ring lengths and list lengths against the header counts. */
static void
check_agreement(struct inv_ctx *c, const struct inv_tally *t)
{
    size_t ring_total = 0;
    bool rings_ok = true;
    for (unsigned i = 0; i < c->g->nclasses; i++) {
        if (t->ring_len[i] == SIZE_MAX) {
            rings_ok = false;
            continue;
        }
        ring_total += t->ring_len[i];
        if (t->ring_len[i] != t->used_by_class[i])
            inv_fail(c, "U2", -1, i, 0, 0, INV_VAL_UNSIGNED,
                     t->used_by_class[i], t->ring_len[i],
                     "ring length != used pools of the class");
    }
    if (rings_ok && ring_total != t->used)
        inv_fail(c, "C6", -1, -1, 0, 0, INV_VAL_UNSIGNED, t->used, ring_total,
                 "used pools: vector walk vs rings");
    if (!t->fp_broken && t->freepools != t->empty)
        inv_fail(c, "C6", -1, -1, 0, 0, INV_VAL_UNSIGNED, t->empty,
                 t->freepools, "empty pools: vector walk vs freepools");
    // full pools are on no list: they are what the lists leave over
    if (rings_ok && !t->fp_broken
        && t->carved >= ring_total + t->freepools + t->bad
        && t->carved - ring_total - t->freepools - t->bad != t->full)
        inv_fail(c, "C6", -1, -1, 0, 0, INV_VAL_UNSIGNED, t->full,
                 t->carved - ring_total - t->freepools - t->bad,
                 "full pools: vector walk vs carved minus listed");
}

void
inv_check_ledger(struct inv_ctx *c, const struct inv_tally *t)
{
    if (!c->vector_ok)
        return;
    size_t cur = *c->v->narenas_currently_allocated;
    if (cur != t->narenas)
        inv_fail(c, "C1", -1, -1, 0, 0, INV_VAL_UNSIGNED, t->narenas, cur,
                 "narenas_currently_allocated != records with an arena");
    check_bytes(c, t);
    check_agreement(c, t);
    if (c->v->live != NULL && t->ntrusted == t->narenas
        && t->counts != c->v->nlive)
        inv_fail(c, "C5", -1, -1, 0, 0, INV_VAL_UNSIGNED, c->v->nlive,
                 t->counts, "sum of count != live blocks");
}
