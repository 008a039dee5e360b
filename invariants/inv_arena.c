/* inv_arena.c — the arenas vector, arena records and their two lists
 * (A1-A10, A12, A13). */
#include "inv_internal.h"

#define PTR(x) ((uint64_t)(uintptr_t)(x))
#define SANE_MAXARENAS (1u << 26) /* 3 GiB of records: beyond any test */

void
inv_check_vector(struct inv_ctx *c)
{
    const struct inv_view *v = c->v;
    const struct obm_arena *vec = *v->arenas;
    unsigned max = *v->maxarenas;
    bool ok = true;
    if ((max == 0) != (vec == NULL)) {
        inv_fail(c, "A1", -1, -1, 0, 0, INV_VAL_UNSIGNED, vec ? 16 : 0, max,
                 "maxarenas and the arenas vector disagree on its presence");
        ok = false;
    } else if (max != 0
               && (max < 16 || (max & (max - 1)) != 0
                   || max > SANE_MAXARENAS)) {
        inv_fail(c, "A1", -1, -1, 0, 0, INV_VAL_UNSIGNED, 16, max,
                 "maxarenas is not 16 * 2^k (within the sane bound)");
        ok = false;
    } else if ((uintptr_t)vec % sizeof(void *) != 0) {
        inv_fail(c, "A1", -1, -1, 0, 0, INV_VAL_PTR, 0, PTR(vec),
                 "the arenas vector is misaligned");
        ok = false;
    }
    size_t hw = *v->narenas_highwater;
    if (max > 16 && hw < max / 2) {
        inv_fail(c, "A13", -1, -1, 0, 0, INV_VAL_UNSIGNED, 2 * (uint64_t)hw,
                 max, "maxarenas exceeds twice the highwater mark");
        ok = false;
    }
    c->vector_ok = ok;
    c->arenas = ok ? vec : NULL;
    c->maxarenas = ok ? max : 0;
    if (!ok)
        c->out->skipped |= INV_SKIP_VECTOR;
}

/* A6 for an allocated record: report the first broken clause; return
 * whether the record is coherent. */
static bool
check_record(struct inv_ctx *c, unsigned i)
{
    const struct obm_geometry *g = c->g;
    const struct obm_arena *a = &c->arenas[i];
    uintptr_t ps = g->pool_size, address = a->address;
    if (address > UINTPTR_MAX - 2 * g->arena_size) {
        inv_fail(c, "A6", i, -1, 0, 0, INV_VAL_PTR, 0, address,
                 "arena address wraps the address space");
        return false;
    }
    unsigned ntotal = g->max_pools_in_arena - ((address & (ps - 1)) != 0);
    uintptr_t first = inv_first_pool(g, address);
    uintptr_t pa = (uintptr_t)a->pool_address;
    if (a->ntotalpools != ntotal) {
        inv_fail(c, "A6", i, -1, 0, 0, INV_VAL_UNSIGNED, ntotal,
                 a->ntotalpools, "ntotalpools does not match the alignment");
        return false;
    }
    if ((pa & (ps - 1)) != 0 || pa < first
        || pa > first + (uintptr_t)ntotal * ps) {
        inv_fail(c, "A6", i, -1, 0, 0, INV_VAL_PTR, first, pa,
                 "pool_address is misaligned or outside the arena's pools");
        return false;
    }
    return true;
}

/* A9, A8: place x, an element of record i's freepools, in a carved pool
 * of that arena; return whether it is one (its header is readable). */
static bool
place_freepool(struct inv_ctx *c, unsigned i, uintptr_t x, bool report)
{
    const struct obm_arena *a = &c->arenas[i];
    uintptr_t first = inv_first_pool(c->g, a->address);
    uintptr_t end = a->address + c->g->arena_size;
    bool aligned = (x & (c->g->pool_size - 1)) == 0;
    if (aligned && x >= first && x < end && x >= (uintptr_t)a->pool_address) {
        if (report)
            inv_fail(c, "A9", i, -1, x, 0, INV_VAL_PTR, PTR(a->pool_address),
                     x, "freepools holds a pool never carved");
        return false;
    }
    if (!aligned || x < first || x >= end || inv_find_arena(c, x) != i) {
        if (report)
            inv_fail(c, "A8", i, -1, 0, 0, INV_VAL_PTR, first, x,
                     "freepools leaves the arena's carved pools");
        return false;
    }
    return true;
}

size_t
inv_walk_freepools(struct inv_ctx *c, unsigned i, bool report)
{
    const struct obm_arena *a = &c->arenas[i];
    size_t n = 0, bound = inv_carved(c->g, a);
    for (const struct obm_pool *q = a->freepools; q != NULL; n++) {
        uintptr_t x = (uintptr_t)q;
        if (n == bound) {
            if (report)
                inv_fail(c, "A8", i, -1, x, 0, INV_VAL_UNSIGNED, bound,
                         bound + 1,
                         "freepools does not end within the "
                         "carved pools (cycle)");
            return SIZE_MAX;
        }
        if (!place_freepool(c, i, x, report))
            return SIZE_MAX;
        if (q->ref.count != 0 && report)
            inv_fail(c, "A8", i, q->szidx, x, 0, INV_VAL_UNSIGNED, 0,
                     q->ref.count, "pool on freepools is not empty");
        q = q->nextpool;
    }
    return n;
}

/* A7 and A8's count: nfreepools against the walks. */
static void
check_nfreepools(struct inv_ctx *c, unsigned i, size_t nfree, size_t empty)
{
    const struct obm_arena *a = &c->arenas[i];
    unsigned carved = inv_carved(c->g, a);
    if (a->nfreepools > a->ntotalpools)
        inv_fail(c, "A7", i, -1, 0, 0, INV_VAL_UNSIGNED, a->ntotalpools,
                 a->nfreepools, "nfreepools exceeds ntotalpools");
    else if (nfree != SIZE_MAX
             && a->nfreepools != nfree + (a->ntotalpools - carved))
        inv_fail(c, "A7", i, -1, 0, 0, INV_VAL_UNSIGNED,
                 nfree + (a->ntotalpools - carved), a->nfreepools,
                 "nfreepools != freepools + never-carved pools");
    if (nfree != SIZE_MAX && empty != SIZE_MAX && nfree != empty)
        inv_fail(c, "A8", i, -1, 0, 0, INV_VAL_UNSIGNED, empty, nfree,
                 "freepools length != carved pools with count 0");
}

/* Walk record i's carved pools (FULL): P*, O1, live set; tally them. */
static void
walk_arena(struct inv_ctx *c, unsigned i, struct inv_tally *t)
{
    const struct obm_arena *a = &c->arenas[i];
    const struct obm_geometry *g = c->g;
    uintptr_t first = inv_first_pool(g, a->address);
    size_t empty = 0;
    struct inv_pool_facts pf;
    t->ntrusted++;
    if (a->address & (g->pool_size - 1))
        t->misaligned++;
    for (uintptr_t q = first; q < (uintptr_t)a->pool_address;
         q += g->pool_size) {
        inv_check_pool(c, i, q, &pf);
        if (g->ownership == OBM_OWN_LEGACY)
            inv_check_legacy_owner(c, i, q);
        inv_check_pool_live(c, i, q, &pf);
        t->carved++;
        t->counts += pf.count;
        switch (pf.state) {
        case POOL_EMPTY:
            t->empty++, empty++;
            break;
        case POOL_USED:
            t->used++;
            t->used_by_class[pf.szidx]++;
            break;
        case POOL_FULL:
            t->full++;
            break;
        default:
            t->bad++;
            break;
        }
        if (pf.state == POOL_USED || pf.state == POOL_FULL) {
            t->handed += (uint64_t)pf.count * pf.blocksize;
            t->avail += (uint64_t)(pf.numblocks - pf.count) * pf.blocksize;
            t->headers += g->pool_overhead;
            t->quant += (g->pool_size - g->pool_overhead) % pf.blocksize;
        }
    }
    size_t nfree = inv_walk_freepools(c, i, true);
    if (nfree != SIZE_MAX)
        t->freepools += nfree;
    else
        t->fp_broken = true;
    t->unused_pools += a->nfreepools;
    check_nfreepools(c, i, nfree, empty);
}

/* Walk unused_arena_objects (A2, A3). */
static void
check_unused_list(struct inv_ctx *c, size_t nzero)
{
    size_t n = 0;
    for (const struct obm_arena *a = *c->v->unused_arena_objects; a != NULL;
         a = a->nextarena, n++) {
        long i = inv_record_index(c, a);
        if (i < 0 || n == c->maxarenas) {
            inv_fail(c, "A3", i, -1, 0, 0, INV_VAL_PTR, 0, PTR(a),
                     i < 0 ? "unused_arena_objects leaves the vector"
                           : "unused_arena_objects does not end (cycle)");
            return;
        }
        if (a->address != 0)
            inv_fail(c, "A2", i, -1, 0, 0, INV_VAL_PTR, 0, a->address,
                     "record on unused_arena_objects has an arena");
    }
    if (n != nzero)
        inv_fail(c, "A3", -1, -1, 0, 0, INV_VAL_UNSIGNED, nzero, n,
                 "unused_arena_objects length != records with address 0");
    size_t expect = c->maxarenas - *c->v->narenas_currently_allocated;
    if (n != expect && nzero == expect)
        inv_fail(c, "A3", -1, -1, 0, 0, INV_VAL_UNSIGNED, expect, n,
                 "length != maxarenas - narenas_currently_allocated");
}

/* Check one step of usable_arenas, x following prev (A2, A4, A5, A10). */
static void
check_usable_step(struct inv_ctx *c, long i, const struct obm_arena *x,
                  const struct obm_arena *prev)
{
    if (x->prevarena != prev)
        inv_fail(c, "A4", i, -1, 0, 0, INV_VAL_PTR, PTR(prev),
                 PTR(x->prevarena),
                 "prevarena does not name the "
                 "predecessor in usable_arenas");
    if (x->address == 0 || x->nfreepools == 0)
        inv_fail(c, "A2", i, -1, 0, 0, INV_VAL_UNSIGNED, 1, x->nfreepools,
                 x->address == 0 ? "record on usable_arenas has no arena"
                                 : "full arena on usable_arenas");
    if (prev != NULL && prev->nfreepools > x->nfreepools)
        inv_fail(c, "A5", i, -1, 0, 0, INV_VAL_UNSIGNED, prev->nfreepools,
                 x->nfreepools, "usable_arenas out of order");
    if (x->address != 0 && x->nfreepools == x->ntotalpools
        && c->g->keep_tail_arena && x->nextarena != NULL)
        inv_fail(c, "A10", i, -1, 0, 0, INV_VAL_PTR, 0, PTR(x->nextarena),
                 "wholly free arena is not the tail of usable_arenas");
}

/* Walk usable_arenas (A2, A4, A5, A10). */
static void
check_usable_list(struct inv_ctx *c, size_t nusable)
{
    size_t n = 0;
    const struct obm_arena *prev = NULL;
    for (const struct obm_arena *a = *c->v->usable_arenas; a != NULL;
         prev = a, a = a->nextarena, n++) {
        long i = inv_record_index(c, a);
        if (i < 0 || n == c->maxarenas) {
            inv_fail(c, "A4", i, -1, 0, 0, INV_VAL_PTR, 0, PTR(a),
                     i < 0 ? "usable_arenas leaves the vector"
                           : "usable_arenas does not end (cycle)");
            return;
        }
        check_usable_step(c, i, a, prev);
    }
    if (n != nusable)
        inv_fail(c, "A4", -1, -1, 0, 0, INV_VAL_UNSIGNED, nusable, n,
                 "usable_arenas length != allocated arenas with "
                 "nfreepools > 0");
}

/* A10 over all records, A12 over the sorted index. */
static void
check_wholly_free(struct inv_ctx *c)
{
    size_t nwhole = 0;
    for (unsigned i = 0; i < c->maxarenas; i++) {
        const struct obm_arena *a = &c->arenas[i];
        if (a->address == 0 || a->nfreepools != a->ntotalpools)
            continue;
        if (!c->g->keep_tail_arena || ++nwhole > 1)
            inv_fail(c, "A10", i, -1, 0, 0, INV_VAL_UNSIGNED,
                     c->g->keep_tail_arena, nwhole ? nwhole : 1,
                     "wholly free arena kept");
    }
    for (size_t k = 1; k < c->nslots; k++)
        if (c->slots[k - 1].base + c->g->arena_size > c->slots[k].base)
            inv_fail(c, "A12", c->slots[k].idx, -1, 0, 0, INV_VAL_PTR,
                     c->slots[k - 1].base + c->g->arena_size, c->slots[k].base,
                     "arena overlaps arena %u", c->slots[k - 1].idx);
}

void
inv_check_arenas_full(struct inv_ctx *c, struct inv_tally *t)
{
    size_t nzero = 0, nusable = 0;
    for (unsigned i = 0; i < c->maxarenas; i++) {
        const struct obm_arena *a = &c->arenas[i];
        if (a->address == 0) {
            nzero++;
            continue;
        }
        t->narenas++;
        nusable += a->nfreepools > 0;
        if (!check_record(c, i))
            continue;
        if (c->v->radix_root != NULL && !inv_check_radix_arena(c, i, true))
            continue;
        walk_arena(c, i, t);
    }
    check_unused_list(c, nzero);
    check_usable_list(c, nusable);
    check_wholly_free(c);
}

/* --- INV_LOCAL: one record and the list heads -----------------------------
 */

/* Check x's neighbours in usable_arenas, x being record i (A2, A4, A5). */
static void
check_usable_neighbours(struct inv_ctx *c, unsigned i)
{
    const struct obm_arena *x = &c->arenas[i];
    const struct obm_arena *prev = x->prevarena, *next = x->nextarena;
    if (x->nfreepools == 0) {
        // a full arena is on no list: nothing may name it as head
        if (*c->v->usable_arenas == x)
            inv_fail(c, "A2", i, -1, 0, 0, INV_VAL_UNSIGNED, 1, 0,
                     "full arena at the head of usable_arenas");
        return;
    }
    if (prev == NULL) {
        if (*c->v->usable_arenas != x)
            inv_fail(c, "A4", i, -1, 0, 0, INV_VAL_PTR, PTR(x),
                     PTR(*c->v->usable_arenas),
                     "arena without prevarena is not the head");
    } else if (inv_record_index(c, prev) < 0) {
        inv_fail(c, "A4", i, -1, 0, 0, INV_VAL_PTR, 0, PTR(prev),
                 "prevarena leaves the vector");
    } else {
        if (prev->nextarena != x)
            inv_fail(c, "A4", i, -1, 0, 0, INV_VAL_PTR, PTR(x),
                     PTR(prev->nextarena), "prevarena.nextarena != arena");
        if (prev->nfreepools > x->nfreepools)
            inv_fail(c, "A5", i, -1, 0, 0, INV_VAL_UNSIGNED, prev->nfreepools,
                     x->nfreepools, "usable_arenas out of order");
    }
    if (next == NULL)
        return;
    if (inv_record_index(c, next) < 0) {
        inv_fail(c, "A4", i, -1, 0, 0, INV_VAL_PTR, 0, PTR(next),
                 "nextarena leaves the vector");
        return;
    }
    if (next->prevarena != x)
        inv_fail(c, "A4", i, -1, 0, 0, INV_VAL_PTR, PTR(x),
                 PTR(next->prevarena), "nextarena.prevarena != arena");
    if (x->nfreepools > next->nfreepools)
        inv_fail(c, "A5", i, -1, 0, 0, INV_VAL_UNSIGNED, x->nfreepools,
                 next->nfreepools, "usable_arenas out of order");
}

/* A7, A8, A9 at LOCAL for record i when the operation left freepools as
 * it was: the head is placed but not read, and the count bounded. */
static void
check_freepools_head(struct inv_ctx *c, unsigned i)
{
    const struct obm_arena *a = &c->arenas[i];
    unsigned carved = inv_carved(c->g, a);
    if (a->freepools == NULL) {
        check_nfreepools(c, i, 0, SIZE_MAX);
        return;
    }
    check_nfreepools(c, i, SIZE_MAX, SIZE_MAX);
    if (place_freepool(c, i, (uintptr_t)a->freepools, true)
        && a->nfreepools <= a->ntotalpools
        && a->nfreepools < 1 + (a->ntotalpools - carved))
        inv_fail(c, "A7", i, -1, 0, 0, INV_VAL_UNSIGNED,
                 1 + (a->ntotalpools - carved), a->nfreepools,
                 "nfreepools < freepools (at least its head) + "
                 "never-carved pools");
}

void
inv_check_arena_local(struct inv_ctx *c, unsigned i, bool walk)
{
    const struct obm_arena *a = &c->arenas[i];
    if (a->address == 0)
        return;
    // a record that passed the trust gate in this call passes A6 and O2:
    // the gate asks the same questions
    if (!inv_memo_trusted(c, i)) {
        if (!check_record(c, i))
            return;
        if (c->v->radix_root != NULL && !inv_check_radix_arena(c, i, true))
            return;
    }
    if (walk)
        check_nfreepools(c, i, inv_walk_freepools(c, i, true), SIZE_MAX);
    else
        check_freepools_head(c, i);
    check_usable_neighbours(c, i);
    if (a->nfreepools == a->ntotalpools
        && (!c->g->keep_tail_arena || a->nextarena != NULL))
        inv_fail(c, "A10", i, -1, 0, 0, INV_VAL_UNSIGNED, a->ntotalpools - 1,
                 a->nfreepools, "wholly free arena kept");
}

void
inv_check_list_heads(struct inv_ctx *c)
{
    const struct obm_arena *u = *c->v->unused_arena_objects;
    long i = inv_record_index(c, u);
    if (u != NULL && i < 0)
        inv_fail(c, "A3", -1, -1, 0, 0, INV_VAL_PTR, 0, PTR(u),
                 "unused_arena_objects leaves the vector");
    else if (u != NULL && u->address != 0)
        inv_fail(c, "A2", i, -1, 0, 0, INV_VAL_PTR, 0, u->address,
                 "record on unused_arena_objects has an arena");
    const struct obm_arena *h = *c->v->usable_arenas;
    i = inv_record_index(c, h);
    if (h == NULL)
        return;
    if (i < 0) {
        inv_fail(c, "A4", -1, -1, 0, 0, INV_VAL_PTR, 0, PTR(h),
                 "usable_arenas leaves the vector");
        return;
    }
    if (h->prevarena != NULL)
        inv_fail(c, "A4", i, -1, 0, 0, INV_VAL_PTR, 0, PTR(h->prevarena),
                 "head of usable_arenas has a prevarena");
    if (h->address == 0 || h->nfreepools == 0)
        inv_fail(c, "A2", i, -1, 0, 0, INV_VAL_UNSIGNED, 1, h->nfreepools,
                 h->address == 0 ? "record on usable_arenas has no arena"
                                 : "full arena on usable_arenas");
    else
        check_usable_neighbours(c, (unsigned)i);
}

void
inv_check_suspect(struct inv_ctx *c, uintptr_t p)
{
    // the index remembers arenas that were trusted when it was built
    const struct inv_slot *s = inv_slot_below(c, p);
    if (s == NULL)
        return;
    if (s->idx >= c->maxarenas || p - s->base >= c->g->arena_size)
        return;
    const struct obm_arena *a = &c->arenas[s->idx];
    if (a->address == 0 || !check_record(c, s->idx))
        return;
    if (c->v->radix_root != NULL)
        inv_check_radix_arena(c, s->idx, true);
}
