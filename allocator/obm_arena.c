/* obm_arena.c — arena records: the vector, new arenas, and keeping
 * usable_arenas sorted when an arena gains a free pool (facts §4.4, §4.6). */
#include "obm_internal.h"

#include <string.h>

#define INITIAL_ARENA_OBJECTS 16u

/* Grow the vector (16 records, then doubling) and chain the new records,
 * in index order, as the unused list; return false if it cannot grow. */
bool
obm_grow_arena_vector(obm_heap *h)
{
    // growth moves the records: only legal with both lists empty (A11)
    OBM_ASSERT(
        OBM_PLANTED(OBM_PLANT_EAGER_GROWTH)
        || (h->unused_arena_objects == NULL && h->usable_arenas == NULL));
    unsigned n = h->maxarenas ? h->maxarenas << 1 : INITIAL_ARENA_OBJECTS;
    // doubling wraps to 0 at 2^32 records; the byte count cannot on LP64
    if (n <= h->maxarenas)
        return false;
    struct obm_arena *v = h->raw.realloc(h->raw.ctx, h->arenas,
                                         (size_t)n * sizeof(struct obm_arena));
    if (v == NULL)
        return false;
    h->arenas = v;
    for (unsigned i = h->maxarenas; i < n; i++) {
        v[i] = (struct obm_arena){0};
        v[i].nextarena = i + 1 < n ? &v[i + 1] : NULL;
    }
    h->unused_arena_objects = &v[h->maxarenas];
    h->maxarenas = n;
    return true;
}

/* Return a record holding a fresh arena, its list links left to the
 * caller; NULL if the vector cannot grow or the source has no arena. */
struct obm_arena *
obm_new_arena(obm_heap *h)
{
    if (OBM_PLANTED(OBM_PLANT_EAGER_GROWTH) && !obm_planted_grow_early(h))
        return NULL;
    if (h->unused_arena_objects == NULL && !obm_grow_arena_vector(h))
        return NULL;
    struct obm_arena *ao = h->unused_arena_objects;
    void *address = h->source.alloc(h->source.ctx, h->arena_size);
    if (address != NULL && h->g->ownership == OBM_OWN_RADIX
        && !obm_radix_mark(h, (uintptr_t)address, true)) {
        h->source.free(h->source.ctx, address, h->arena_size);
        address = NULL;
    }
    if (address == NULL)
        return NULL; // the record stays at the head of the unused list
    h->unused_arena_objects = ao->nextarena;
    ao->address = (uintptr_t)address;
    h->narenas_currently_allocated++;
    h->ntimes_arena_allocated++;
    if (h->narenas_currently_allocated > h->narenas_highwater)
        h->narenas_highwater = h->narenas_currently_allocated;

    // the first pool is at the first pool boundary; a ragged start costs one
    unsigned pool_size = h->g->pool_size;
    uintptr_t excess = ao->address & (pool_size - 1);
    ao->freepools = NULL;
    ao->pool_address = (uint8_t *)ao->address;
    ao->nfreepools = h->g->max_pools_in_arena;
    if (excess != 0) {
        ao->nfreepools--;
        ao->pool_address += pool_size - excess;
    }
    ao->ntotalpools = ao->nfreepools;
    return ao;
}

static void
unlink_usable(obm_heap *h, struct obm_arena *ao)
{
    if (ao->prevarena != NULL)
        ao->prevarena->nextarena = ao->nextarena;
    else
        h->usable_arenas = ao->nextarena;
    if (ao->nextarena != NULL)
        ao->nextarena->prevarena = ao->prevarena;
}

static void
insert_after(struct obm_arena *ao, struct obm_arena *prev)
{
    ao->prevarena = prev;
    ao->nextarena = prev->nextarena;
    if (ao->nextarena != NULL)
        ao->nextarena->prevarena = ao;
    prev->nextarena = ao;
}

/* Give a wholly free arena back to the source and its record to the
 * unused list. */
static void
release_arena(obm_heap *h, struct obm_arena *ao)
{
    unlink_usable(h, ao);
    ao->nextarena = h->unused_arena_objects;
    h->unused_arena_objects = ao;
    if (h->g->ownership == OBM_OWN_RADIX
        && !OBM_PLANTED(OBM_PLANT_RADIX_STALE))
        obm_radix_mark(h, ao->address, false);
    h->source.free(h->source.ctx, (void *)ao->address, h->arena_size);
    ao->address = 0;
    h->narenas_currently_allocated--;
}

/* Re-sort after ao's count rose by one (<= 3.7): walk right past every
 * arena with fewer free pools. */
static void
resort_linear(obm_heap *h, struct obm_arena *ao)
{
    unsigned nf = ao->nfreepools;
    // case 4: already in order
    if (ao->nextarena == NULL || nf <= ao->nextarena->nfreepools)
        return;
    // case 3: unlink, walk, re-insert before the first with >= nf
    struct obm_arena *prev = ao->nextarena;
    unlink_usable(h, ao);
    while (prev->nextarena != NULL && nf > prev->nextarena->nfreepools)
        prev = prev->nextarena;
    insert_after(ao, prev);
}

/* Called after ao.nfreepools went from nf-1 to nf (3.8+), lastnf being
 * the right-most arena that had nf-1 before: cases 3 and 4 by fingers. */
static void
resort_by_fingers(obm_heap *h, struct obm_arena *ao, struct obm_arena *lastnf)
{
    unsigned nf = ao->nfreepools;
    if (h->nfp2lasta[nf] == NULL)
        h->nfp2lasta[nf] = ao;
    // case 4: ao was the last with its old count, so it is in order
    if (ao == lastnf)
        return;
    // case 3: move ao right behind the last arena with its old count
    unlink_usable(h, ao);
    if (OBM_PLANTED(OBM_PLANT_CASE3_BEFORE) && lastnf->prevarena != NULL)
        lastnf = lastnf->prevarena;
    insert_after(ao, lastnf);
}

/* Arena management after one of ao's pools became empty (facts §4.6):
 *   1. the arena is wholly free: release it (3.9+: unless it is the tail);
 *   2. it was full (now one free pool): insert it at the head;
 *   3. it is out of order: move it right, behind the last arena that has
 *      its old count;
 *   4. it is still in order: nothing moves. */
void
obm_arena_gained_pool(obm_heap *h, struct obm_arena *ao)
{
    bool fingers = h->g->sort == OBM_SORT_NFP2LASTA;
    unsigned nf = ao->nfreepools;
    struct obm_arena *lastnf = NULL;
    if (fingers) {
        // ao leaves the group of its old count: fix that group's finger
        lastnf = h->nfp2lasta[nf];
        if (lastnf == ao) {
            struct obm_arena *p = ao->prevarena;
            h->nfp2lasta[nf] = p != NULL && p->nfreepools == nf ? p : NULL;
        }
    }
    ao->nfreepools = ++nf;

    // 1.
    bool keep_tail = h->g->keep_tail_arena && ao->nextarena == NULL
                     && !OBM_PLANTED(OBM_PLANT_RELEASE_TAIL);
    if (nf == ao->ntotalpools && !keep_tail) {
        release_arena(h, ao);
        return;
    }
    // 2.
    if (nf == 1) {
        ao->nextarena = h->usable_arenas;
        ao->prevarena = NULL;
        if (h->usable_arenas != NULL)
            h->usable_arenas->prevarena = ao;
        h->usable_arenas = ao;
        if (fingers && h->nfp2lasta[1] == NULL
            && !OBM_PLANTED(OBM_PLANT_NFP2LASTA_CASE2))
            h->nfp2lasta[1] = ao;
        return;
    }
    // 3. and 4.
    if (fingers)
        resort_by_fingers(h, ao, lastnf);
    else
        resort_linear(h, ao);
}

/* Release every allocated arena: the end of a heap's life. */
void
obm_release_all_arenas(obm_heap *h)
{
    for (unsigned i = 0; i < h->maxarenas; i++) {
        struct obm_arena *ao = &h->arenas[i];
        if (ao->address == 0)
            continue;
        h->source.free(h->source.ctx, (void *)ao->address, h->arena_size);
        ao->address = 0;
    }
    h->narenas_currently_allocated = 0;
}
