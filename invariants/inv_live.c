/* inv_live.c — the caller's live set: sorted once per check (in scratch,
 * or accepted as given when already sorted), then P8 per block and
 * duplicate entries (C5), and after the pool walks P10 for blocks they
 * did not meet.  The per-pool half (P9, C5 per pool) runs in
 * the pool walk (inv_pool.c). */
#include "inv_internal.h"

#include <string.h>

/* Heap sort of pointers by address: no allocation, no recursion. */
INV_SCAN static void
sift(const void **a, size_t root, size_t n)
{
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && (uintptr_t)a[child] < (uintptr_t)a[child + 1])
            child++;
        if ((uintptr_t)a[root] >= (uintptr_t)a[child])
            return;
        const void *tmp = a[root];
        a[root] = a[child];
        a[child] = tmp;
    }
}

INV_SCAN static void
sort_ptrs(const void **a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift(a, i, n);
    for (size_t end = n; end-- > 1;) {
        const void *tmp = a[0];
        a[0] = a[end];
        a[end] = tmp;
        sift(a, 0, end);
    }
}

/* One branch-free pass over the caller's array: whether it is sorted,
 * and whether any entry is misaligned or equal to the one before it (the
 * reporting pass below runs only then, or when a sorted copy was made). */
INV_SCAN static bool
scan_live(const void *const *a, size_t n, uintptr_t align_mask, bool *suspect)
{
    uintptr_t mis = 0;
    bool unsorted = false, repeated = false;
    for (size_t i = 0; i < n; i++) {
        uintptr_t x = (uintptr_t)a[i],
                  before = i > 0 ? (uintptr_t)a[i - 1] : 0;
        mis |= x & align_mask;
        unsorted |= before > x;
        repeated |= i > 0 && before == x;
    }
    *suspect = mis != 0 || repeated;
    return !unsorted;
}

/* Point c->live_sorted at a sorted live set, if one can be had; return
 * whether the entries need the reporting pass. */
static bool
sort_live(struct inv_ctx *c)
{
    const struct inv_view *v = c->v;
    struct inv_scratch *sc = v->scratch;
    bool suspect = true;
    if (scan_live(v->live, v->nlive, c->g->alignment - 1, &suspect)) {
        c->live_sorted = v->live;
        return suspect;
    }
    size_t used = sc != NULL && c->slots == sc->mem
                      ? c->nslots * sizeof(struct inv_slot)
                      : 0;
    if (sc != NULL && sc->mem != NULL && sc->size >= used
        && (sc->size - used) / sizeof(void *) >= v->nlive) {
        const void **copy = (const void **)((uint8_t *)sc->mem + used);
        memcpy(copy, v->live, v->nlive * sizeof(void *));
        sort_ptrs(copy, v->nlive);
        c->live_sorted = copy;
    } else {
        c->out->skipped |= INV_SKIP_LIVE_ORDER;
    }
    return true;
}

void
inv_check_live(struct inv_ctx *c)
{
    const struct inv_view *v = c->v;
    if (v->live == NULL) {
        c->out->skipped |= INV_SKIP_NO_LIVE;
        return;
    }
    c->nlive = v->nlive;
    if (c->vector_ok && !sort_live(c))
        return;
    const void *const *live = c->live_sorted ? c->live_sorted : v->live;
    for (size_t k = 0; k < v->nlive; k++) {
        uintptr_t x = (uintptr_t)live[k];
        if (x % c->g->alignment != 0)
            inv_fail(c, "P8", -1, -1, 0, x, INV_VAL_UNSIGNED, 0,
                     x % c->g->alignment, "live block is misaligned");
        if (c->live_sorted != NULL && k > 0 && live[k - 1] == live[k])
            inv_fail(c, "C5", -1, -1, 0, x, INV_VAL_UNSIGNED, 1, 2,
                     "live block listed twice");
    }
}

void
inv_check_live_placed(struct inv_ctx *c)
{
    const struct inv_view *v = c->v;
    if (v->live == NULL || !c->vector_ok)
        return;
    // the pool walks met each sorted entry at most once (pools are
    // disjoint): if they met all, none lies outside a carved pool
    if (c->live_sorted != NULL && c->nlive_seen == v->nlive)
        return;
    const void *const *live = c->live_sorted ? c->live_sorted : v->live;
    for (size_t k = 0; k < v->nlive; k++) {
        uintptr_t x = (uintptr_t)live[k];
        if (inv_find_arena(c, x) < 0)
            inv_fail(c, "P10", -1, -1, 0, x, INV_VAL_PTR, 0, x,
                     "live block is in no carved pool of an arena");
    }
}
