/* shadow_live.c — the checker's live set, kept sorted by address between
 * full checks.
 *
 * A full check needs every live pool block in address order.  Sorting all
 * of them for each check made a check after every operation cost
 * O(n log n) in the blocks alive; instead the set is the last check's
 * sorted list, less the entries whose block has since gone (freed, or
 * reallocated: a new incarnation is a new entry), merged with the blocks
 * allocated since, which are few and sorted alone.  Each entry is a slot;
 * hx_block.listed says the slot's current block is on the list, so a slot
 * freed and allocated again between two checks is listed once.  Until the
 * first full check, and when more blocks came than the list of new ones
 * holds, the set is built again from every slot.
 */
#include "hx_internal.h"

#include <stdlib.h>
#include <string.h>

static uintptr_t
addr(const struct hx_shadow *s, uint32_t slot)
{
    return (uintptr_t)s->blocks[slot].p;
}

/* Sort n slots by their blocks' addresses: a bottom-up merge sort through
 * tmp (n entries), stable and without recursion; runs the allocator
 * handed out in order (a fill) merge at the cost of a compare each. */
HX_SCAN static void
sort_slots(const struct hx_shadow *s, uint32_t *a, uint32_t *tmp, size_t n)
{
    uint32_t *from = a, *to = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            // already in order: one compare, then a copy
            if (mid < hi && addr(s, from[mid - 1]) <= addr(s, from[mid])) {
                memcpy(to + lo, from + lo, (hi - lo) * sizeof *to);
                continue;
            }
            while (i < mid && j < hi)
                to[k++] = addr(s, from[j]) < addr(s, from[i]) ? from[j++]
                                                              : from[i++];
            while (i < mid)
                to[k++] = from[i++];
            while (j < hi)
                to[k++] = from[j++];
        }
        uint32_t *t = from;
        from = to;
        to = t;
    }
    if (from != a)
        memcpy(a, from, n * sizeof *a);
}

/* Grow the list of new slots to hold n; return whether it does. */
static bool
reserve_added(struct hx_shadow *s, size_t n)
{
    if (n <= s->added_cap)
        return true;
    size_t cap = s->added_cap > 0 ? s->added_cap : 256;
    while (cap < n)
        cap *= 2;
    uint32_t *a = realloc(s->added, cap * 2 * sizeof *a);
    if (a == NULL)
        return false;
    s->added = a;
    s->added_cap = cap;
    return true;
}

void
hx_shadow_listed(struct hx_shadow *s, uint32_t slot)
{
    struct hx_block *b = &s->blocks[slot];
    b->listed = false;
    if (!s->live_kept || b->raw)
        return;
    // more new blocks than live ones: building again costs no more
    if (s->nadded >= s->nslots || !reserve_added(s, s->nadded + 1)) {
        s->live_kept = false;
        return;
    }
    s->added[s->nadded++] = slot;
}

/* Whether slot's current block is a live pool block. */
static bool
is_live(const struct hx_block *b)
{
    return b->state == SH_LIVE && !b->raw;
}

/* Every live pool block's slot into s->live_slot, sorted: from nothing. */
static size_t
rebuild(struct hx_shadow *s, uint32_t *tmp)
{
    size_t n = 0;
    for (uint32_t k = 0; k < s->nslots; k++) {
        struct hx_block *b = &s->blocks[k];
        b->listed = is_live(b);
        if (b->listed)
            s->live_slot[n++] = k;
    }
    sort_slots(s, s->live_slot, tmp, n);
    return n;
}

/* The last list less what went, merged with what came; s->live follows
 * s->live_slot entry for entry. */
static size_t
update(struct hx_shadow *s)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->nsorted; i++) {
        uint32_t k = s->live_slot[i];
        if (is_live(&s->blocks[k]) && s->blocks[k].listed) {
            s->live[kept] = s->live[i];
            s->live_slot[kept++] = k;
        }
    }
    if (s->nadded == 0) // nothing came (and the list may not exist yet)
        return kept;
    uint32_t *fresh = s->added, *tmp = s->added + s->added_cap;
    size_t d = 0;
    for (size_t i = 0; i < s->nadded; i++) {
        struct hx_block *b = &s->blocks[s->added[i]];
        if (is_live(b) && !b->listed) {
            b->listed = true;
            fresh[d++] = s->added[i];
        }
    }
    sort_slots(s, fresh, tmp, d);
    // merge from the back: the list has room for every slot
    size_t i = kept, j = d, out = kept + d;
    while (j > 0) {
        const void *p = s->blocks[fresh[j - 1]].p;
        --out;
        if (i > 0 && (uintptr_t)s->live[i - 1] > (uintptr_t)p) {
            s->live[out] = s->live[--i];
            s->live_slot[out] = s->live_slot[i];
        } else {
            s->live[out] = p;
            s->live_slot[out] = fresh[--j];
        }
    }
    return kept + d;
}

/* Without memory for the list: the live blocks in slot order, which the
 * checker sorts itself. */
static size_t
unsorted(struct hx_shadow *s)
{
    size_t n = 0;
    for (uint32_t k = 0; k < s->nslots; k++) {
        struct hx_block *b = &s->blocks[k];
        b->listed = false;
        if (is_live(b))
            s->live[n++] = b->p;
    }
    s->live_kept = false;
    return n;
}

HX_SCAN size_t
hx_shadow_live_set(struct hx_shadow *s)
{
    if (s->live_slot == NULL)
        s->live_slot = malloc((size_t)s->nslots * sizeof *s->live_slot);
    if (s->live_slot == NULL)
        return unsorted(s);
    size_t n;
    if (s->live_kept) {
        n = update(s);
    } else {
        uint32_t *tmp = malloc((size_t)s->nslots * sizeof *tmp);
        if (tmp == NULL)
            return unsorted(s);
        n = rebuild(s, tmp);
        free(tmp);
        for (size_t i = 0; i < n; i++)
            s->live[i] = s->blocks[s->live_slot[i]].p;
        s->live_kept = true;
    }
    s->nsorted = n;
    s->nadded = 0;
    return n;
}
