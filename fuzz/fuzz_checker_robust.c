/* fuzz_checker_robust.c — property: the checker survives any damage to the
 * metadata it does not trust, and is silent on an undamaged heap.
 *
 * The input (hx_decode_pokes) is a program that builds a heap of any shape
 * (hx_decode_ops; faults and misuse left out) and up to 15 pokes: bytes
 * flipped or set, words moved or aimed at plausible pointers, in pool
 * headers, arena records, freeblock links, usedpools, nfp2lasta, the
 * arena list heads, the counters and the radix leaves.  Before the pokes
 * every check must report nothing (a report is a false positive: trap);
 * after them FULL (with and without scratch), LOCAL at every live block and
 * inv_predict must return, whatever they find, without a fault, an ASan
 * report or a hang (libFuzzer's -timeout); once the pokes are undone the
 * heap must be clean again.  Not poked, by contract (inv.h): maxarenas,
 * the vector pointer, radix node pointers and, in the legacy profiles, an
 * arena's address.
 * `obcheck decode --target fuzz_checker_robust FILE` prints the program
 * and the pokes.
 */
#include "fuzz.h"
#include "hx.h"
#include "inv.h"

#include <stdlib.h>
#include <string.h>

/* The heap under test, its view and the undo log of the pokes. */
struct robust {
    struct obm_region *region;
    struct obm_arena_source src;
    obm_heap *heap;
    const struct obm_geometry *g;
    struct obm_state s;
    struct inv_view v;
    struct inv_scratch sc;
    void **slot; /* per trace slot: the live block, or NULL */
    void **live; /* live pool blocks, for the view */
    size_t nlive;
    /* the pokes, planned on the undamaged heap, with the bytes they
     * replace */
    struct {
        uint8_t *at;
        size_t len;
        uint8_t old[8], new[8];
    } plan[HX_POKE_MAX];
    unsigned nplan;
};

/* Trap with a message: a finding. */
static void
finding(const struct robust *r, const struct inv_report *rep, const char *what)
{
    fprintf(stderr, "fuzz_checker_robust: %s (%s)\n", what, r->g->name);
    if (rep != NULL)
        inv_report_print(rep, stderr);
    __builtin_trap();
}

/* Run the heap-building program; faults, checks and misuse are left out,
 * an allocation that fails leaves its slot empty. */
static void
build(struct robust *r, const struct hx_trace *t)
{
    for (size_t i = 0; i < t->nops; i++) {
        const struct hx_op *op = &t->ops[i];
        void **sl = op->slot < t->nslots ? &r->slot[op->slot] : NULL;
        switch (op->kind) {
        case HX_MALLOC:
            *sl = obm_malloc(r->heap, (size_t)op->a);
            break;
        case HX_CALLOC:
            *sl = obm_calloc(r->heap, (size_t)op->a, (size_t)op->b);
            break;
        case HX_REALLOC:
            if (*sl != NULL) {
                void *p = obm_realloc(r->heap, *sl, (size_t)op->a);
                if (p != NULL)
                    *sl = p;
            }
            break;
        case HX_FREE:
            obm_free(r->heap, *sl);
            *sl = NULL;
            break;
        default:
            break;
        }
    }
}

static int
open_heap(struct robust *r, enum obm_profile p, const struct hx_trace *t,
          size_t offset)
{
    memset(r, 0, sizeof *r);
    struct obm_region_config cfg = {0};
    cfg.offset = offset;
    if ((r->region = obm_region_new(&cfg)) == NULL)
        return -1;
    r->src = obm_region_source(r->region);
    if ((r->heap = obm_heap_new(p, &r->src)) == NULL)
        return -1;
    r->g = obm_heap_geometry(r->heap);
    r->slot = calloc(t->nslots + 1, sizeof *r->slot);
    r->live = calloc(t->nslots + 1, sizeof *r->live);
    if (r->slot == NULL || r->live == NULL)
        return -1;
    build(r, t);
    size_t nraw = 0;
    for (uint32_t k = 0; k < t->nslots; k++) {
        if (r->slot[k] == NULL)
            continue;
        if (obm_owns(r->heap, r->slot[k]))
            r->live[r->nlive++] = r->slot[k];
        else
            nraw++;
    }
    obm_heap_state(r->heap, &r->s);
    inv_view_from_heap(&r->v, r->heap);
    r->v.live = (const void *const *)r->live;
    r->v.nlive = r->nlive;
    r->v.nraw = nraw;
    size_t maxarenas = *r->s.maxarenas;
    r->sc.size = (maxarenas + r->nlive + 16) * 4 * sizeof(void *);
    if ((r->sc.mem = malloc(r->sc.size)) == NULL)
        return -1;
    r->v.scratch = &r->sc;
    return 0;
}

static void
close_heap(struct robust *r, const struct hx_trace *t)
{
    if (r->heap != NULL) {
        for (uint32_t k = 0; r->slot != NULL && k < t->nslots; k++)
            obm_free(r->heap, r->slot[k]);
        obm_heap_free(r->heap);
    }
    if (r->region != NULL)
        obm_region_free(r->region);
    free(r->slot);
    free(r->live);
    free(r->sc.mem);
}

/* --- Choosing what to poke ------------------------------------------------
 */

/* Return carved pool number k (modulo their number), or NULL if none. */
static struct obm_pool *
pool_nr(const struct robust *r, unsigned k)
{
    size_t n = 0, ps = r->g->pool_size;
    const struct obm_arena *a = *r->s.arenas;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < *r->s.maxarenas; i++) {
            if (a[i].address == 0)
                continue;
            uintptr_t first = (a[i].address + ps - 1) & ~(uintptr_t)(ps - 1);
            size_t m = ((uintptr_t)a[i].pool_address - first) / ps;
            if (pass == 1 && k < m)
                return (struct obm_pool *)(first + k * ps);
            if (pass == 1)
                k -= (unsigned)m;
            n += m;
        }
        if (n == 0)
            return NULL;
        k %= n;
    }
    return NULL;
}

/* The radix leaf entry k regions around arena (index mod allocated). */
static struct obm_arena_coverage *
leaf_nr(const struct robust *r, unsigned index)
{
    const struct obm_geometry *g = r->g;
    const struct obm_arena *a = *r->s.arenas;
    unsigned n = 0;
    for (unsigned i = 0; i < *r->s.maxarenas; i++)
        n += a[i].address != 0;
    if (n == 0)
        return NULL;
    uintptr_t base = 0;
    for (unsigned i = 0, want = index / 4 % n; base == 0; i++)
        if (a[i].address != 0 && want-- == 0)
            base = a[i].address;
    uintptr_t at = base + (uintptr_t)(index % 4) * g->arena_size;
    unsigned ab = g->arena_bits, bb = g->radix_bot_bits;
    unsigned mb = g->radix_mid_bits;
    void *const *mid =
        r->s.radix_root[(at >> (ab + bb + mb))
                        & (((uintptr_t)1 << g->radix_top_bits) - 1)];
    if (mid == NULL)
        return NULL;
    struct obm_arena_coverage *bot =
        mid[(at >> (ab + bb)) & (((uintptr_t)1 << mb) - 1)];
    if (bot == NULL)
        return NULL;
    return &bot[(at >> ab) & (((uintptr_t)1 << bb) - 1)];
}

/* Find the object a poke damages: fill *at and *size; return -1 if the
 * heap has none of that kind. */
static int
target_of(const struct robust *r, const struct hx_poke *pk, uint8_t **at,
          size_t *size)
{
    const struct obm_geometry *g = r->g;
    const struct obm_state *s = &r->s;
    unsigned target = pk->target;
    if (target == HX_POKE_NFP2LASTA && s->nfp2lasta == NULL)
        target = HX_POKE_HEAD;
    if (target == HX_POKE_LEAF && s->radix_root == NULL)
        target = HX_POKE_COUNTER;
    switch (target) {
    case HX_POKE_POOL:
        *at = (uint8_t *)pool_nr(r, pk->index);
        *size = sizeof(struct obm_pool);
        break;
    case HX_POKE_ARENA: {
        if (*s->maxarenas == 0)
            return -1;
        struct obm_arena *a = &(*s->arenas)[pk->index % *s->maxarenas];
        *at = (uint8_t *)a;
        *size = sizeof *a;
        if (s->radix_root == NULL) { // the legacy address is trusted
            *at += sizeof a->address;
            *size -= sizeof a->address;
        }
        break;
    }
    case HX_POKE_LINK: {
        struct obm_pool *q = pool_nr(r, pk->index);
        if (q == NULL)
            return -1;
        uint8_t **link = &q->freeblock;
        for (unsigned k = pk->value % 4; k > 0 && *link != NULL; k--)
            link = (uint8_t **)*link;
        *at = (uint8_t *)link;
        *size = sizeof *link;
        break;
    }
    case HX_POKE_USEDPOOLS:
        *at = (uint8_t *)&s->usedpools[pk->index % g->usedpools_len];
        *size = sizeof(void *);
        break;
    case HX_POKE_NFP2LASTA:
        *at =
            (uint8_t *)&s->nfp2lasta[pk->index % (g->max_pools_in_arena + 1)];
        *size = sizeof(void *);
        break;
    case HX_POKE_HEAD:
        *at = (uint8_t *)(pk->index % 2 ? s->usable_arenas
                                        : s->unused_arena_objects);
        *size = sizeof(void *);
        break;
    case HX_POKE_COUNTER: {
        const void *ctr[6] = {
            s->narenas_currently_allocated, s->ntimes_arena_allocated,
            s->narenas_highwater,           s->raw_allocated_blocks,
            s->arena_map_mid_count,         s->arena_map_bot_count};
        unsigned k = pk->index % (s->radix_root != NULL ? 6 : 4);
        *at = (uint8_t *)ctr[k];
        *size = k < 4 ? sizeof(size_t) : sizeof(int);
        if (ctr[k] == NULL)
            return -1;
        break;
    }
    default:
        *at = (uint8_t *)leaf_nr(r, pk->index);
        *size = sizeof(struct obm_arena_coverage);
        break;
    }
    return *at != NULL ? 0 : -1;
}

/* The plausible pointer HX_POKE_AIM writes. */
static uintptr_t
aim(const struct robust *r, const uint8_t *self, uint8_t value)
{
    unsigned k = value >> 3;
    struct obm_pool *q = pool_nr(r, k);
    switch (value % HX_POKE_AIMS) {
    case 0:
        return 0;
    case 1:
        return (uintptr_t)self;
    case 2:
        return (uintptr_t)q;
    case 3:
        return q == NULL ? 0 : (uintptr_t)q + r->g->pool_overhead + 8 * k;
    case 4:
        if (*r->s.maxarenas == 0)
            return 0;
        return (uintptr_t) & (*r->s.arenas)[k % *r->s.maxarenas];
    default:
        return (uintptr_t)obm_ring_sentinel(&r->s, k % r->g->nclasses);
    }
}

/* Plan one poke: where it writes and what, worked out before any poke is
 * applied, since a damaged record would send later pokes astray. */
static void
plan(struct robust *r, const struct hx_poke *pk)
{
    uint8_t *obj;
    size_t size;
    if (target_of(r, pk, &obj, &size) != 0)
        return;
    size_t width = size < 8 ? size : 8;
    size_t off = pk->offset % size, len = 1;
    if (pk->op == HX_POKE_ADD || pk->op == HX_POKE_AIM) {
        off = (pk->op == HX_POKE_ADD ? pk->offset & 63u : pk->offset) % size;
        off -= off % width;
        len = width;
    }
    uint8_t *at = obj + off;
    uint64_t w = 0;
    memcpy(&w, at, len);
    switch (pk->op) {
    case HX_POKE_XOR:
        w ^= pk->value ? pk->value : 0x80;
        break;
    case HX_POKE_SET:
        w = pk->value;
        break;
    case HX_POKE_ADD: {
        const uint64_t steps[4] = {1, 16, r->g->pool_size, r->g->arena_size};
        w += (uint64_t)(int64_t)(int8_t)pk->value * steps[pk->offset >> 6];
        break;
    }
    default:
        w = aim(r, obj, pk->value);
        break;
    }
    unsigned k = r->nplan++;
    r->plan[k].at = at;
    r->plan[k].len = len;
    memcpy(r->plan[k].new, &w, len);
}

/* Apply the planned pokes in order (damage == true), or undo them in
 * reverse. */
static void
apply(struct robust *r, bool damage)
{
    if (damage)
        for (unsigned k = 0; k < r->nplan; k++) {
            memcpy(r->plan[k].old, r->plan[k].at, r->plan[k].len);
            memcpy(r->plan[k].at, r->plan[k].new, r->plan[k].len);
        }
    else
        for (unsigned k = r->nplan; k-- > 0;)
            memcpy(r->plan[k].at, r->plan[k].old, r->plan[k].len);
}

/* --- The property ---------------------------------------------------------
 */

/* Every check on the undamaged heap: FULL, LOCAL at each live block. */
static void
expect_clean(struct robust *r, struct inv_report *rep, const char *when)
{
    inv_scratch_forget(&r->sc);
    if (inv_check(&r->v, INV_FULL, NULL, 1, rep) != 0)
        finding(r, rep, when);
    for (size_t k = 0; k < r->nlive; k++)
        if (inv_check(&r->v, INV_LOCAL, r->live[k], 1, rep) != 0)
            finding(r, rep, when);
}

/* Every check on the damaged heap; what they find is not the point. */
static void
check_damaged(struct robust *r, struct inv_report *rep)
{
    inv_scratch_forget(&r->sc);
    inv_check(&r->v, INV_FULL, NULL, 1, rep);
    inv_check(&r->v, INV_FULL, NULL, 1, rep); // with the index kept
    r->v.scratch = NULL;
    inv_check(&r->v, INV_FULL, NULL, 1, rep);
    inv_check(&r->v, INV_LOCAL, NULL, 1, rep);
    for (size_t k = 0; k < r->nlive; k++)
        inv_check(&r->v, INV_LOCAL, r->live[k], 1, rep);
    r->v.scratch = &r->sc;
    struct inv_prediction pred;
    for (unsigned c = 0; c < r->g->nclasses; c += 3) {
        struct inv_op op = {INV_OP_MALLOC, obm_blocksize(r->g, c), NULL};
        inv_predict(&r->v, &op, &pred);
    }
    for (size_t k = 0; k < r->nlive; k++) {
        struct inv_op op = {INV_OP_FREE, 0, r->live[k]};
        inv_predict(&r->v, &op, &pred);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hx_pokes pk;
    hx_decode_pokes(data, size, &pk);
    struct hx_trace t;
    hx_trace_init(&t, "fuzz_checker_robust");
    enum obm_profile profile;
    struct robust r;
    struct inv_report *rep = malloc(sizeof *rep);
    memset(&r, 0, sizeof r);
    if (rep != NULL && hx_decode_ops(data, pk.prog_len, &t, &profile) == 0
        && open_heap(&r, profile, &t, pk.offset) == 0) {
        memset(rep, 0, sizeof *rep);
        expect_clean(&r, rep, "a report on the undamaged heap");
        for (unsigned k = 0; k < pk.n; k++)
            plan(&r, &pk.poke[k]);
        apply(&r, true);
        check_damaged(&r, rep);
        apply(&r, false);
        expect_clean(&r, rep, "a report once the pokes are undone");
    }
    close_heap(&r, &t);
    free(rep);
    hx_trace_free(&t);
    return 0;
}
