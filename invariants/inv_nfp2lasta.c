/* inv_nfp2lasta.c — the search fingers of 3.8+ (N1-N3): nfp2lasta[k] names
 * the right-most arena of usable_arenas with k free pools. */
#include "inv_internal.h"

#define PTR(x) ((uint64_t)(uintptr_t)(x))
#define NENTRIES (OBM_MAX_POOLS_IN_ARENA + 1)

/* N3 for entry k: it names a listed arena with k free pools that is the
 * right-most such; return whether it does. */
static bool
check_entry(struct inv_ctx *c, unsigned k)
{
    const struct obm_arena *x = c->v->nfp2lasta[k];
    if (x == NULL)
        return true;
    long i = inv_record_index(c, x);
    if (i < 0) {
        inv_fail(c, "N3", -1, -1, 0, 0, INV_VAL_PTR, 0, PTR(x),
                 "nfp2lasta[%u] leaves the arenas vector", k);
        return false;
    }
    if (x->address == 0 || x->nfreepools != k) {
        inv_fail(c, "N3", i, -1, 0, 0, INV_VAL_UNSIGNED, k, x->nfreepools,
                 "nfp2lasta[%u] names an arena with another count", k);
        return false;
    }
    const struct obm_arena *next = x->nextarena;
    if (next != NULL && inv_record_index(c, next) >= 0
        && next->nfreepools <= k) {
        inv_fail(c, "N3", i, -1, 0, 0, INV_VAL_UNSIGNED, k + 1,
                 next->nfreepools,
                 "nfp2lasta[%u] is not the right-most arena with %u", k, k);
        return false;
    }
    return true;
}

static void
check_n1(struct inv_ctx *c)
{
    if (c->v->nfp2lasta[0] != NULL)
        inv_fail(c, "N1", -1, -1, 0, 0, INV_VAL_PTR, 0,
                 PTR(c->v->nfp2lasta[0]), "nfp2lasta[0] is set");
}

void
inv_check_nfp2lasta_full(struct inv_ctx *c)
{
    if (c->v->nfp2lasta == NULL)
        return;
    check_n1(c);
    // the right-most arena of each count, by walking the list
    const struct obm_arena *last[NENTRIES] = {0};
    size_t n = 0;
    for (const struct obm_arena *a = *c->v->usable_arenas;
         a != NULL && n < c->maxarenas && inv_record_index(c, a) >= 0;
         a = a->nextarena, n++)
        if (a->nfreepools < NENTRIES)
            last[a->nfreepools] = a;
    for (unsigned k = 1; k < NENTRIES; k++) {
        const struct obm_arena *x = c->v->nfp2lasta[k];
        if ((x == NULL) != (last[k] == NULL)) {
            inv_fail(c, "N2", inv_record_index(c, last[k] ? last[k] : x), -1,
                     0, 0, INV_VAL_PTR, PTR(last[k]), PTR(x),
                     x ? "nfp2lasta[%u] set but no usable arena has %u"
                       : "nfp2lasta[%u] NULL but a usable arena has %u",
                     k, k);
            continue;
        }
        if (x != last[k] && check_entry(c, k))
            inv_fail(c, "N3", inv_record_index(c, x), -1, 0, 0, INV_VAL_PTR,
                     PTR(last[k]), PTR(x),
                     "nfp2lasta[%u] is not the right-most arena with %u", k,
                     k);
    }
}

void
inv_check_nfp2lasta_local(struct inv_ctx *c, unsigned i)
{
    if (c->v->nfp2lasta == NULL)
        return;
    check_n1(c);
    const struct obm_arena *a = &c->arenas[i];
    unsigned k = a->nfreepools;
    if (a->address == 0 || k == 0 || k >= NENTRIES)
        return;
    for (unsigned j = k - 1; j <= k + 1 && j < NENTRIES; j++)
        if (j > 0)
            check_entry(c, j);
    const struct obm_arena *x = c->v->nfp2lasta[k];
    if (x == NULL) {
        inv_fail(c, "N2", i, -1, 0, 0, INV_VAL_PTR, PTR(a), 0,
                 "nfp2lasta[%u] NULL but a usable arena has %u", k, k);
        return;
    }
    const struct obm_arena *next = a->nextarena;
    bool rightmost =
        next == NULL
        || (inv_record_index(c, next) >= 0 && next->nfreepools > k);
    if (rightmost && x != a)
        inv_fail(c, "N3", i, -1, 0, 0, INV_VAL_PTR, PTR(a), PTR(x),
                 "nfp2lasta[%u] is not the right-most arena with %u", k, k);
}
