/* inv_view.c — building a view, and placing pointers before they are
 * followed: the trust gate for arena records, the arena index, and the
 * usedpools sentinels. */
#include "inv_internal.h"

#include <string.h>

void
inv_view_from_state(struct inv_view *v, const struct obm_state *s)
{
    memset(v, 0, sizeof *v);
    v->g = *s->geometry;
    v->usedpools = s->usedpools;
    v->arenas = s->arenas;
    v->maxarenas = s->maxarenas;
    v->unused_arena_objects = s->unused_arena_objects;
    v->usable_arenas = s->usable_arenas;
    v->nfp2lasta = s->nfp2lasta;
    v->narenas_currently_allocated = s->narenas_currently_allocated;
    v->ntimes_arena_allocated = s->ntimes_arena_allocated;
    v->narenas_highwater = s->narenas_highwater;
    v->raw_allocated_blocks = s->raw_allocated_blocks;
    v->radix_root = s->radix_root;
    v->arena_map_mid_count = s->arena_map_mid_count;
    v->arena_map_bot_count = s->arena_map_bot_count;
    v->nraw = SIZE_MAX;
}

void
inv_view_from_heap(struct inv_view *v, const obm_heap *h)
{
    struct obm_state s;
    obm_heap_state(h, &s);
    inv_view_from_state(v, &s);
}

void
inv_ctx_init(struct inv_ctx *c, const struct inv_view *v,
             struct inv_report *out, enum inv_level level, unsigned long opno)
{
    // every call pays this: field by field, leaving the memo's entries
    // (read only below memo.n) and the unused radix fields unwritten
    c->v = v;
    c->g = &v->g;
    c->out = out;
    c->opno = opno;
    c->level = level;
    // obm_ring_sentinel()'s layout: nextpool and prevpool of ring 0's
    // sentinel are the first two usedpools slots
    c->ring0 = (uintptr_t)v->usedpools - offsetof(struct obm_pool, nextpool);
    c->arenas = NULL;
    c->maxarenas = 0;
    c->vector_ok = false;
    c->slots = NULL;
    c->nslots = 0;
    c->live_sorted = NULL;
    c->nlive = c->nlive_seen = 0;
    c->live_next = 0;
    c->live_next_pool = 0;
    c->memo.n = c->memo.next = 0;
    if (v->radix_root != NULL) {
        const struct obm_geometry *g = &v->g;
        unsigned ab = g->arena_bits, mb = g->radix_mid_bits;
        unsigned bb = g->radix_bot_bits, tb = g->radix_top_bits;
        c->radix_shift[0] = ab + bb + mb;
        c->radix_shift[1] = ab + bb;
        c->radix_shift[2] = ab;
        c->radix_mask[0] = ((uintptr_t)1 << tb) - 1;
        c->radix_mask[1] = ((uintptr_t)1 << mb) - 1;
        c->radix_mask[2] = ((uintptr_t)1 << bb) - 1;
    }
}

/* Lookups fill the memo through a const ctx: it caches facts about a heap
 * that does not change during the call (every ctx is a caller's local). */
static struct inv_memo *
memo_of(const struct inv_ctx *c)
{
    return (struct inv_memo *)&c->memo;
}

/* Return whether the record's own fields are coherent enough to read the
 * arena's carved pools: A6, without which first(A)..pool_address could lie
 * outside the arena's memory. */
static bool
record_coherent(const struct obm_geometry *g, const struct obm_arena *a)
{
    uintptr_t address = a->address, ps = g->pool_size;
    if (address == 0 || address > UINTPTR_MAX - 2 * g->arena_size)
        return false;
    unsigned ntotal = g->max_pools_in_arena - ((address & (ps - 1)) != 0);
    uintptr_t first = inv_first_pool(g, address);
    uintptr_t pa = (uintptr_t)a->pool_address;
    return a->ntotalpools == ntotal && (pa & (ps - 1)) == 0 && pa >= first
           && pa <= first + (uintptr_t)ntotal * ps
           && first + (uintptr_t)ntotal * ps <= address + g->arena_size;
}

/* The trust gate for record i < maxarenas, not in the memo yet. */
static bool
pass_gate(const struct inv_ctx *c, unsigned i)
{
    const struct obm_arena *a = &c->arenas[i];
    if (!record_coherent(c->g, a))
        return false;
    // with a radix tree the map is a second witness of the address: a
    // damaged address that still passes A6 would otherwise be read
    if (c->v->radix_root != NULL
        && !inv_check_radix_arena((struct inv_ctx *)c, i, false))
        return false;
    struct inv_memo *m = memo_of(c);
    unsigned k = m->next++ % INV_MEMO_SLOTS;
    m->n += m->n < INV_MEMO_SLOTS;
    m->trusted[k] = i;
    m->lo[k] = inv_first_pool(c->g, a->address);
    m->hi[k] = (uintptr_t)a->pool_address;
    m->end[k] = a->address + c->g->arena_size;
    return true;
}

bool
inv_arena_trusted(const struct inv_ctx *c, unsigned i)
{
    if (!c->vector_ok || i >= c->maxarenas)
        return false;
    return inv_memo_trusted(c, i) || pass_gate(c, i);
}

/* Return whether p is in the carved part (whole: the pools' span) of
 * record i < maxarenas and the record is trusted; for a p the memo had no
 * arena for. */
static bool
in_carved(const struct inv_ctx *c, unsigned i, uintptr_t p, bool whole)
{
    const struct obm_arena *a = &c->arenas[i];
    uintptr_t end =
        whole ? a->address + c->g->arena_size : (uintptr_t)a->pool_address;
    // had the memo held record i, its range would have answered for p:
    // the gate is not passed twice
    return p >= inv_first_pool(c->g, a->address) && p < end && pass_gate(c, i);
}

const struct inv_slot *
inv_slot_below(const struct inv_ctx *c, uintptr_t p)
{
    // branch-free: the steps do not depend on p, so an address that is
    // random to the branch predictor costs no mispredictions
    const struct inv_slot *s = c->slots;
    size_t n = c->nslots;
    if (n == 0 || s[0].base > p)
        return NULL;
    while (n > 1) {
        size_t half = n / 2;
        s = s[half].base <= p ? s + half : s;
        n -= half;
    }
    return s;
}

long
inv_find_arena_in(const struct inv_ctx *c, uintptr_t p, bool whole)
{
    if (!c->vector_ok || p == 0)
        return -1;
    // most lookups of a call fall in an arena an earlier one trusted
    const struct inv_memo *m = &c->memo;
    for (unsigned k = 0; k < m->n; k++)
        if (p >= m->lo[k] && p < (whole ? m->end[k] : m->hi[k]))
            return m->trusted[k];
    if (c->slots == NULL) {
        for (unsigned i = 0; i < c->maxarenas; i++)
            if (c->arenas[i].address != 0 && in_carved(c, i, p, whole))
                return i;
        return -1;
    }
    // the record, not the slot, is the truth: a stale index costs a miss
    const struct inv_slot *s = inv_slot_below(c, p);
    if (s == NULL)
        return -1;
    if (s->idx >= c->maxarenas || c->arenas[s->idx].address != s->base)
        return -1;
    return in_carved(c, s->idx, p, whole) ? (long)s->idx : -1;
}

/* Sort slots by base (shell sort: no allocation, no recursion). */
static void
sort_slots(struct inv_slot *s, size_t n)
{
    static const size_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t k = 0; k < sizeof gaps / sizeof gaps[0]; k++) {
        size_t gap = gaps[k];
        for (size_t i = gap; i < n; i++) {
            struct inv_slot tmp = s[i];
            size_t j = i;
            for (; j >= gap && s[j - gap].base > tmp.base; j -= gap)
                s[j] = s[j - gap];
            s[j] = tmp;
        }
    }
}

/* Fill slots with the allocated arenas; return how many, or SIZE_MAX if
 * more than cap. */
static size_t
fill_slots(const struct inv_ctx *c, struct inv_slot *slots, size_t cap)
{
    size_t n = 0;
    for (unsigned i = 0; i < c->maxarenas; i++) {
        // untrusted records stay in: lookups verify trust, and INV_LOCAL
        // uses the entry to report what is wrong with the record
        if (c->arenas[i].address == 0
            || c->arenas[i].address > UINTPTR_MAX - 2 * c->g->arena_size)
            continue;
        if (n == cap)
            return SIZE_MAX;
        const struct obm_arena *a = &c->arenas[i];
        slots[n++] =
            (struct inv_slot){inv_first_pool(c->g, a->address),
                              (uintptr_t)a->pool_address, a->address, i};
    }
    sort_slots(slots, n);
    return n;
}

/* Whether the arena set is the one the index was built for: inline, as
 * every LOCAL check and prediction asks (a libc memcmp call cost more). */
static bool
same_key(const uintptr_t *a, const uintptr_t *b)
{
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])
            | (a[4] ^ b[4]))
           == 0;
}

void
inv_build_index(struct inv_ctx *c, struct inv_slot *stack, size_t nstack)
{
    c->slots = NULL;
    c->nslots = 0;
    if (!c->vector_ok)
        return;
    struct inv_scratch *sc = c->v->scratch;
    const struct inv_view *v = c->v;
    if (sc != NULL && sc->mem != NULL) {
        uintptr_t key[5] = {(uintptr_t)c->arenas, c->maxarenas,
                            *v->ntimes_arena_allocated,
                            *v->narenas_currently_allocated, 1};
        size_t cap = sc->size / sizeof(struct inv_slot);
        // LOCAL reuses the index while the arena set is unchanged; FULL
        // always rebuilds, since it is O(heap) anyway
        if (c->level == INV_LOCAL && same_key(key, sc->key)) {
            c->slots = sc->mem;
            c->nslots = sc->nslots;
            return;
        }
        size_t n = fill_slots(c, sc->mem, cap);
        memset(sc->key, 0, sizeof sc->key);
        if (n != SIZE_MAX) {
            sc->nslots = n;
            memcpy(sc->key, key, sizeof key);
            c->slots = sc->mem;
            c->nslots = n;
            return;
        }
    } else if (stack != NULL) {
        size_t n = fill_slots(c, stack, nstack);
        if (n != SIZE_MAX) {
            c->slots = stack;
            c->nslots = n;
            return;
        }
    }
    c->out->skipped |= INV_SKIP_LINEAR_INDEX;
}

void
inv_scratch_forget(struct inv_scratch *sc)
{
    memset(sc->key, 0, sizeof sc->key);
    sc->nslots = 0;
    memset(sc->radix_key, 0, sizeof sc->radix_key);
}
