/* inv_check.c — the entry point: which families run at each level.
 *
 * INV_FULL makes two independent traversals and compares their counts:
 *   1. the vector walk: every carved pool of every trusted arena, classed
 *      by its own header (used by class, full, empty);
 *   2. the list walk: every usedpools ring from its sentinel and every
 *      arena's freepools list; full pools are what is left.
 * Each list element is checked against its own header as it is met (a
 * ring member must be a used pool of that class, a freepools member an
 * empty pool of that arena), and a walk that ends within its bound holds
 * no duplicates; so equal counts mean equal sets, with no per-pool marks
 * and no memory beyond the stack.
 *
 * INV_LOCAL checks what one operation can have changed: the touched pool
 * (header, chain, state against ring or freepools), its ring neighbours,
 * its arena record, that arena's list neighbours and the nfp2lasta entries
 * around its count, the list heads, the ring ends and the counters.  Of
 * the lists an operation changes only the heads: LOCAL reads the first
 * INV_LOCAL_CHAIN links of the touched pool's freeblock chain, and walks
 * its arena's freepools only when the pool says the operation may have
 * pushed, popped or carved a pool (empty, or alone in its ring with one
 * block handed out).  Pointer placement uses the scratch index (O(log
 * #arenas)) behind a per-call memo of the few arenas that passed the trust
 * gate; without scratch it is a scan of the arena records. */
#include "inv_internal.h"

#include <string.h>

static void
check_full(struct inv_ctx *c)
{
    struct inv_slot stack[INV_STACK_SLOTS];
    inv_build_index(c, stack, INV_STACK_SLOTS);
    inv_check_live(c);
    struct inv_tally t;
    memset(&t, 0, sizeof t);
    inv_check_arenas_full(c, &t);
    inv_check_live_placed(c);
    inv_check_nfp2lasta_full(c);
    inv_check_rings(c, t.ring_len);
    inv_check_ledger(c, &t);
    inv_check_radix_full(c);
}

/* P8, P10 for the touched address itself: a block boundary. */
static void
check_touched_block(struct inv_ctx *c, unsigned ai, uintptr_t q, uintptr_t x,
                    const struct inv_pool_facts *pf)
{
    const struct obm_pool *p = (const struct obm_pool *)q;
    uintptr_t mis = x & (c->g->alignment - 1);
    if (mis != 0)
        inv_fail(c, "P8", ai, pf->szidx, q, x, INV_VAL_UNSIGNED, 0, mis,
                 "block is misaligned");
    uintptr_t lo = q + c->g->pool_overhead;
    if (pf->szidx_ok
        && (x < lo || x >= q + p->nextoffset || (x - lo) % pf->blocksize != 0))
        inv_fail(c, "P10", ai, pf->szidx, q, x, INV_VAL_PTR, lo, x,
                 "touched address is not a carved block boundary");
}

/* Return whether the operation that left pool q so may have changed its
 * arena's freepools or nfreepools: only a free that empties a pool (count
 * 0) and a malloc that takes or carves one for an empty ring (count 1, the
 * ring's only member) do; only then is the whole list worth its cold
 * headers. */
static bool
may_change_freepools(const struct inv_ctx *c, uintptr_t q,
                     const struct inv_pool_facts *pf)
{
    if (pf->count == 0 || !pf->szidx_ok)
        return true;
    struct obm_pool *const *ends = &c->v->usedpools[2 * pf->szidx];
    return pf->count == 1 && (uintptr_t)ends[0] == q
           && (uintptr_t)ends[1] == q;
}

static void
check_local(struct inv_ctx *c, const void *touched)
{
    inv_build_index(c, NULL, 0);
    inv_check_list_heads(c);
    inv_check_ring_ends(c);
    long head = inv_record_index(c, *c->v->usable_arenas);
    if (head >= 0)
        inv_check_nfp2lasta_local(c, (unsigned)head);
    if (touched == NULL)
        return;
    uintptr_t x = (uintptr_t)touched;
    long ai = inv_find_arena(c, x);
    // not in a trusted carved pool: a raw block, its arena went with the
    // free, or the record (or its radix mark) is damaged: ask the index
    if (ai < 0) {
        inv_check_suspect(c, x);
        return;
    }
    uintptr_t q = x & ~(uintptr_t)(c->g->pool_size - 1);
    struct inv_pool_facts pf;
    inv_check_pool(c, (unsigned)ai, q, &pf);
    if (c->g->ownership == OBM_OWN_LEGACY)
        inv_check_legacy_owner(c, (unsigned)ai, q);
    check_touched_block(c, (unsigned)ai, q, x, &pf);
    inv_check_ring_neighbours(c, (unsigned)ai, q, &pf);
    inv_check_arena_local(c, (unsigned)ai, may_change_freepools(c, q, &pf));
    if (ai != head)
        inv_check_nfp2lasta_local(c, (unsigned)ai);
}

size_t
inv_check(const struct inv_view *v, enum inv_level level, const void *touched,
          unsigned long opno, struct inv_report *out)
{
    inv_report_reset(out);
    struct inv_ctx c;
    inv_ctx_init(&c, v, out, level, opno);
    inv_check_vector(&c);
    inv_check_counters(&c, level == INV_FULL);
    // nothing past the counters can be placed without the vector
    if (!c.vector_ok)
        return out->total;
    if (level == INV_FULL)
        check_full(&c);
    else
        check_local(&c, touched);
    return out->total;
}
