/* shadow_live.c — the checker's live set, kept sorted by address between
 * full checks.
 *
 * A full check needs every live pool block in address order.  Sorting all
 * of them for each check made a check after every operation cost
 * O(n log n) in the blocks alive; instead the set is the last check's
 * sorted list, less the entries of the blocks that went since (freed, or
 * moved by realloc: a new incarnation is a new entry), each found by
 * binary search at the address it was listed at, merged with the blocks
 * allocated since, which are few and sorted alone.  No step reads the
 * block records of entries that stayed.  hx_block.listed says the slot's
 * current block is on the list, so a slot freed and allocated again
 * between two checks is listed once.  Until the first full check, and
 * when more blocks came or went than there are slots, the set is built
 * again from every slot.
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

/* Make room in a list of n entries of size bytes (times twice: the
 * other half is scratch for sorting) for one more; return whether there
 * is.  More changes than slots between two checks: building the list
 * again costs no more. */
static bool
reserve(const struct hx_shadow *s, void **list, size_t *cap, size_t n,
        size_t size)
{
    if (n < *cap)
        return true;
    if (n >= s->nslots)
        return false;
    size_t c = *cap > 0 ? *cap * 2 : 256;
    void *a = realloc(*list, c * 2 * size);
    if (a == NULL)
        return false;
    *list = a;
    *cap = c;
    return true;
}

void
hx_shadow_listed(struct hx_shadow *s, uint32_t slot)
{
    struct hx_block *b = &s->blocks[slot];
    b->listed = false;
    if (!s->live_kept || b->raw)
        return;
    if (!reserve(s, (void **)&s->added, &s->added_cap, s->nadded,
                 sizeof *s->added)) {
        s->live_kept = false;
        return;
    }
    s->added[s->nadded++] = slot;
}

void
hx_shadow_unlisted(struct hx_shadow *s, uint32_t slot)
{
    struct hx_block *b = &s->blocks[slot];
    if (!b->listed)
        return;
    b->listed = false;
    if (!s->live_kept)
        return;
    if (!reserve(s, (void **)&s->gone, &s->gone_cap, s->ngone,
                 sizeof *s->gone)) {
        s->live_kept = false;
        return;
    }
    s->gone[s->ngone++] = (struct hx_gone){b->p, slot};
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

/* Return the first index in live[0, n) whose address is above p. */
static size_t
upper_bound(const void *const *live, size_t n, uintptr_t p)
{
    size_t lo = 0;
    while (n > 0) {
        size_t half = n / 2;
        if ((uintptr_t)live[lo + half] <= p) {
            lo += half + 1;
            n -= half + 1;
        } else {
            n = half;
        }
    }
    return lo;
}

/* Drop from the list the entries of the blocks that went, each found by
 * its address; return the entries left. */
/* Note that a block came or went at p, for hx_shadow_verify_near(). */
static void
near(struct hx_shadow *s, uintptr_t p)
{
    if (s->nnear < HX_NEAR_MAX)
        s->near[s->nnear++] = p;
    else
        s->near_lost = true;
}

static size_t
remove_gone(struct hx_shadow *s, size_t n)
{
    size_t first = n;
    for (size_t g = 0; g < s->ngone; g++) {
        uintptr_t p = (uintptr_t)s->gone[g].p;
        near(s, p);
        size_t at = upper_bound(s->live, n, p);
        // the slot's entry among those at p (more than one only after K6)
        while (at > 0 && (uintptr_t)s->live[at - 1] == p
               && s->live_slot[at - 1] != s->gone[g].slot)
            at--;
        if (at == 0 || (uintptr_t)s->live[at - 1] != p)
            continue;
        s->live_slot[at - 1] = HX_NO_SLOT;
        first = at - 1 < first ? at - 1 : first;
    }
    size_t kept = first;
    for (size_t i = first; i < n; i++) {
        if (s->live_slot[i] == HX_NO_SLOT)
            continue;
        s->live[kept] = s->live[i];
        s->live_slot[kept++] = s->live_slot[i];
    }
    return kept;
}

/* Merge the blocks that came into the list of n; return its length. */
static size_t
insert_added(struct hx_shadow *s, size_t n)
{
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
    // from the back, each new entry moves the entries above it once: the
    // list has room for every slot
    size_t end = n;
    for (size_t j = d; j-- > 0;) {
        const void *p = s->blocks[fresh[j]].p;
        near(s, (uintptr_t)p);
        size_t at = upper_bound(s->live, end, (uintptr_t)p);
        memmove(s->live + at + j + 1, s->live + at,
                (end - at) * sizeof *s->live);
        memmove(s->live_slot + at + j + 1, s->live_slot + at,
                (end - at) * sizeof *s->live_slot);
        s->live[at + j] = p;
        s->live_slot[at + j] = fresh[j];
        end = at;
    }
    return n + d;
}

/* The last list less what went, merged with what came; s->live follows
 * s->live_slot entry for entry. */
static size_t
update(struct hx_shadow *s)
{
    size_t n = remove_gone(s, s->nsorted);
    return s->nadded > 0 ? insert_added(s, n) : n;
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
    s->nnear = 0;
    s->near_lost = !s->live_kept;
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
    s->nadded = s->ngone = 0;
    return n;
}

void
hx_shadow_verify_near(struct hx_shadow *s)
{
    if (s->near_lost || !s->live_kept)
        return;
    for (unsigned i = 0; i < s->nnear; i++) {
        // the entry at the address itself (a block that came) is its own
        // business: verified when freed; its neighbours are below and above
        size_t at = upper_bound(s->live, s->nsorted, s->near[i]);
        size_t below = at, above = at;
        if (below > 0 && (uintptr_t)s->live[below - 1] == s->near[i])
            below--;
        if (below > 0)
            hx_shadow_verify(s, s->live_slot[below - 1]);
        if (above < s->nsorted)
            hx_shadow_verify(s, s->live_slot[above]);
    }
}
