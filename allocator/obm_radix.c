/* obm_radix.c — the arena map (3.10+): which ARENA_SIZE regions arenas
 * cover, kept in a three-level radix tree keyed by the high address bits
 * (facts §3.8).  Nodes are created zeroed on demand and live as long as the
 * heap. */
#include "obm_internal.h"

/* Return the leaf entry for address p, creating missing nodes; NULL if a
 * node cannot be had. */
static struct obm_arena_coverage *
leaf_for_marking(obm_heap *h, uintptr_t p)
{
    const struct obm_geometry *g = h->g;
    void **slot =
        &h->radix_root[(p >> h->radix_top_shift) & h->radix_top_mask];
    if (*slot == NULL) {
        *slot = h->raw.calloc(h->raw.ctx, (size_t)1 << g->radix_mid_bits,
                              sizeof(void *));
        if (*slot == NULL)
            return NULL;
        h->arena_map_mid_count++;
    }
    void **mid = *slot;
    slot = &mid[(p >> h->radix_mid_shift) & h->radix_mid_mask];
    if (*slot == NULL) {
        *slot = h->raw.calloc(h->raw.ctx, (size_t)1 << g->radix_bot_bits,
                              sizeof(struct obm_arena_coverage));
        if (*slot == NULL)
            return NULL;
        h->arena_map_bot_count++;
    }
    struct obm_arena_coverage *bot = *slot;
    return &bot[(p >> h->arena_bits) & h->radix_bot_mask];
}

/* Mark (used) or unmark the arena at base; return false if a node could not
 * be created, leaving nothing marked. */
bool
obm_radix_mark(obm_heap *h, uintptr_t base, bool used)
{
    struct obm_arena_coverage *hi = leaf_for_marking(h, base);
    if (hi == NULL)
        return false;
    int32_t tail = (int32_t)(base & (h->arena_size - 1));
    if (tail == 0) { // the arena covers its region exactly
        hi->tail_hi = used ? -1 : 0;
        return true;
    }
    // it straddles two regions: it starts in base's and ends in the next
    hi->tail_hi = used ? tail : 0;
    struct obm_arena_coverage *lo = leaf_for_marking(h, base + h->arena_size);
    if (lo == NULL) {
        hi->tail_hi = 0;
        return false;
    }
    lo->tail_lo = used ? tail : 0;
    return true;
}

void
obm_radix_free(obm_heap *h)
{
    size_t ntop = (size_t)1 << h->g->radix_top_bits;
    size_t nmid = (size_t)1 << h->g->radix_mid_bits;
    // the counters say how many nodes exist, so the scan stops at the last
    // one: a heap is made and freed per fuzz input
    for (size_t i = 0; i < ntop && h->arena_map_mid_count > 0; i++) {
        void **mid = h->radix_root[i];
        if (mid == NULL)
            continue;
        for (size_t j = 0; j < nmid && h->arena_map_bot_count > 0; j++)
            if (mid[j] != NULL) {
                h->raw.free(h->raw.ctx, mid[j]);
                h->arena_map_bot_count--;
            }
        h->raw.free(h->raw.ctx, mid);
        h->radix_root[i] = NULL;
        h->arena_map_mid_count--;
    }
}
