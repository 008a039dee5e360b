/* run_ops.c — the runner's operations: allocate, resize and free with the
 * shadow's K checks around each, the behaviour prediction before and its
 * verification after, faults, and deliberate misuse.
 */
#include "hx_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static unsigned long
faults_now(const struct hx_runner *r)
{
    return r->arenas.faults.nfailed + r->rawf.nfailed;
}

void
hx_fail_heap(struct hx_runner *r, const char *id, uint64_t expected,
             uint64_t found, const char *fmt, ...)
{
    struct inv_violation v;
    memset(&v, 0, sizeof v);
    v.id = id;
    v.arena = v.szidx = -1;
    v.kind = INV_VAL_UNSIGNED;
    v.expected = expected;
    v.found = found;
    v.opno = r->sh.opno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v.message, sizeof v.message, fmt, ap);
    va_end(ap);
    hx_report_add(&r->found, &v);
}

void
hx_merge_state(struct hx_runner *r)
{
    struct inv_report *s = &r->state;
    for (size_t k = 0; k < s->nkept; k++)
        if (r->found.nkept < INV_MAX_KEPT)
            r->found.kept[r->found.nkept++] = s->kept[k];
    r->found.total += s->total;
    r->found.skipped |= s->skipped;
}

static void
predict(struct hx_runner *r, enum inv_op_kind kind, const void *p, size_t n)
{
    r->predicted = false;
    if (!r->per_op || !r->o->behaviour)
        return;
    struct inv_op op = {kind, n, p};
    inv_predict(&r->v, &op, &r->pred);
    r->predicted = true;
    r->faults_before = faults_now(r);
}

static void
verify(struct hx_runner *r, const void *result)
{
    // an injected fault changes obmalloc's course on purpose
    if (r->predicted && faults_now(r) == r->faults_before)
        inv_verify(&r->v, &r->pred, result, r->sh.opno, &r->found);
}

/* Note that slot's allocation returned NULL: later ops on it are skipped. */
static void
mark_failed(struct hx_runner *r, uint32_t slot)
{
    r->sh.blocks[slot].state = SH_FAILED;
    r->sh.blocks[slot].p = NULL;
}

/* K8 for a NULL result when no raw request failed during the op. */
static void
null_result(struct hx_runner *r, const struct hx_op *op,
            unsigned long raw_before)
{
    r->res->nulls++;
    mark_failed(r, op->slot);
    if (r->rawf.nfailed == raw_before)
        hx_fail_heap(r, "K8", 1, 0,
                     r->a != NULL ? "%s of %llu bytes returned NULL"
                                  : "%s of %llu bytes returned NULL, yet the "
                                    "raw allocator did not fail",
                     op->kind == HX_CALLOC ? "calloc" : "malloc",
                     (unsigned long long)(op->kind == HX_CALLOC ? op->a * op->b
                                                                : op->a));
}

static void
count_block(struct hx_runner *r, uint32_t slot)
{
    struct hx_run_result *res = r->res;
    if (r->sh.blocks[slot].raw)
        res->raw_blocks++;
    else
        res->pool_blocks++;
    size_t live = r->sh.nlive + r->sh.nraw;
    if (live > res->peak_live)
        res->peak_live = live;
}

static void
op_alloc(struct hx_runner *r, const struct hx_op *op)
{
    bool is_calloc = op->kind == HX_CALLOC;
    bool overflow = is_calloc && op->b != 0 && op->a > SIZE_MAX / op->b;
    uint64_t n = is_calloc ? op->a * op->b : op->a;
    // K8 for an overflowing product, K11 above PTRDIFF_MAX: NULL or else
    const char *refuse = overflow ? "K8" : n >= HX_HUGE ? "K11" : NULL;
    unsigned long raw_before = r->rawf.nfailed;
    if (refuse == NULL)
        predict(r, is_calloc ? INV_OP_CALLOC : INV_OP_MALLOC, NULL, n);
    void *p;
    if (r->a == NULL)
        p = is_calloc ? obm_calloc(r->h, op->a, op->b)
                      : obm_malloc(r->h, op->a);
    else
        p = is_calloc ? r->a->calloc(r->a->ctx, op->a, op->b)
                      : r->a->malloc(r->a->ctx, op->a);
    if (refuse != NULL) {
        mark_failed(r, op->slot);
        r->res->nulls += p == NULL;
        if (p != NULL && overflow)
            hx_fail_heap(r, refuse, 0, (uintptr_t)p,
                         "calloc(%llu, %llu) overflows, yet returned %p",
                         (unsigned long long)op->a, (unsigned long long)op->b,
                         p);
        else if (p != NULL)
            hx_fail_heap(r, refuse, 0, (uintptr_t)p,
                         "%s of %llu bytes (above PTRDIFF_MAX) returned %p",
                         is_calloc ? "calloc" : "malloc",
                         (unsigned long long)n, p);
        if (p != NULL)
            hx_shadow_alloc(&r->sh, op->slot, p, 0, false);
        return;
    }
    if (p == NULL) {
        null_result(r, op, raw_before);
        return;
    }
    hx_shadow_alloc(&r->sh, op->slot, p, n, is_calloc);
    count_block(r, op->slot);
    r->touched[0] = p;
    verify(r, p);
}

/* K13: realloc(p, 0) of a loaded allocator acts as it declares.  Return
 * whether p was freed (NULL), so the block is gone. */
static bool
realloc_zero(struct hx_runner *r, const struct hx_op *op, void *p)
{
    enum hx_realloc_zero rz = r->a->realloc_zero;
    if (p == NULL && rz == HX_RZ_BLOCK)
        hx_fail_heap(r, "K13", 1, 0,
                     "realloc(p, 0) returned NULL; declared: a block");
    if (p != NULL && rz == HX_RZ_FREES)
        hx_fail_heap(r, "K13", 0, (uintptr_t)p,
                     "realloc(p, 0) returned %p; declared: frees p, NULL", p);
    if (p != NULL || rz == HX_RZ_BLOCK)
        return false;
    hx_shadow_release(&r->sh, op->slot);
    return true;
}

static void
op_realloc(struct hx_runner *r, const struct hx_op *op)
{
    struct hx_block *b = &r->sh.blocks[op->slot];
    if (b->state != SH_LIVE) {
        r->res->skipped++;
        return;
    }
    hx_shadow_verify(&r->sh, op->slot);
    unsigned long raw_before = r->rawf.nfailed;
    void *old = b->p;
    predict(r, INV_OP_REALLOC, old, op->a);
    void *p = r->a == NULL ? obm_realloc(r->h, old, op->a)
                           : r->a->realloc(r->a->ctx, old, op->a);
    if (r->a != NULL && op->a == 0 && realloc_zero(r, op, p))
        return;
    if (p == NULL) {
        // the block stays as it was, which the next check confirms
        r->res->nulls++;
        if (r->rawf.nfailed == raw_before && op->a < HX_HUGE)
            hx_fail_heap(r, "K8", 1, 0,
                         "realloc to %llu bytes returned NULL, yet the raw "
                         "allocator did not fail",
                         (unsigned long long)op->a);
        return;
    }
    if (op->a >= HX_HUGE) {
        hx_fail_heap(r, "K11", 0, (uintptr_t)p,
                     "realloc to %llu bytes (above PTRDIFF_MAX) returned %p",
                     (unsigned long long)op->a, p);
        hx_shadow_release(&r->sh, op->slot);
        hx_shadow_alloc(&r->sh, op->slot, p, 0, false);
        return;
    }
    hx_shadow_realloc(&r->sh, op->slot, p, op->a);
    count_block(r, op->slot);
    r->touched[0] = p;
    if (p != old)
        r->touched[1] = old;
    verify(r, p);
}

static void
op_free(struct hx_runner *r, const struct hx_op *op)
{
    struct hx_block *b = &r->sh.blocks[op->slot];
    if (b->state != SH_LIVE) {
        b->state = SH_NEW;
        r->res->skipped++;
        return;
    }
    hx_shadow_verify(&r->sh, op->slot);
    predict(r, INV_OP_FREE, b->p, 0);
    if (r->a == NULL)
        obm_free(r->h, b->p);
    else
        r->a->free(r->a->ctx, b->p);
    hx_shadow_release(&r->sh, op->slot);
    r->touched[0] = b->p;
    verify(r, NULL);
}

/* Return the end of the allocated arena holding p, or 0: misuse is done
 * only inside one, since anywhere else it would fault (as in CPython). */
static uintptr_t
arena_end(const struct hx_runner *r, const void *p)
{
    const struct obm_arena *arenas = *r->st.arenas;
    uintptr_t x = (uintptr_t)p;
    for (unsigned i = 0; i < *r->st.maxarenas; i++) {
        uintptr_t base = arenas[i].address;
        if (base != 0 && x >= base && x - base < r->g->arena_size)
            return base + r->g->arena_size;
    }
    return 0;
}

/* Return the count of the pool holding pool block p (in a live arena). */
static unsigned
pool_count(const struct hx_runner *r, const void *p)
{
    uintptr_t q = (uintptr_t)p & ~(uintptr_t)(r->g->pool_size - 1);
    return ((const struct obm_pool *)q)->ref.count;
}

/* Change n bytes at p (each to its complement, so each surely changes). */
static void
scribble(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)~p[i];
}

/* Let the shadow read none of the live pool blocks in [lo, hi). */
static void
forget_bytes(struct hx_runner *r, uintptr_t lo, uintptr_t hi)
{
    for (uint32_t s = 0; s < r->sh.nslots; s++) {
        struct hx_block *k = &r->sh.blocks[s];
        uintptr_t p = (uintptr_t)k->p;
        if (k->state == SH_LIVE && !k->raw && p >= lo && p < hi)
            k->usable = 0;
    }
}

static void
op_misuse(struct hx_runner *r, const struct hx_op *op)
{
    struct hx_block *b = &r->sh.blocks[op->slot];
    int want = op->kind == HX_OVERFLOW ? SH_LIVE : SH_FREED;
    if (b->state != want) {
        r->res->skipped++;
        return;
    }
    r->force_full = true;
    // a loaded allocator is checked on the contract, not on misuse
    uintptr_t end =
        r->a == NULL && b->p != NULL && !b->raw ? arena_end(r, b->p) : 0;
    if (end == 0) {
        r->res->declined++;
        return;
    }
    uintptr_t at = (uintptr_t)b->p;
    size_t n = 0;
    switch (op->kind) {
    case HX_DOUBLE_FREE:
        // a core built to check every mutation aborts on a free into an
        // empty pool, where CPython's release build lets the count wrap
        if (pool_count(r, b->p) == 0 && obm_debug_level() >= 2) {
            r->res->declined++;
            return;
        }
        obm_free(r->h, b->p);
        r->touched[0] = b->p;
        // the second free can empty the pool and release its arena while
        // blocks in it are live: their bytes are gone, so the shadow stops
        // reading them (the check reports the live set that lost them)
        if (arena_end(r, b->p) == 0)
            forget_bytes(r, end - r->g->arena_size, end);
        return;
    case HX_WRITE_AFTER_FREE:
        at += op->a;
        n = op->a < b->usable ? b->usable - op->a : 0;
        n = op->b < n ? op->b : n;
        break;
    default: // HX_OVERFLOW
        at += b->size;
        n = op->a;
        break;
    }
    if (n == 0 || at + n > end) {
        r->res->declined++;
        return;
    }
    scribble((uint8_t *)at, n);
}

void
hx_execute(struct hx_runner *r, const struct hx_op *op)
{
    switch (op->kind) {
    case HX_MALLOC:
    case HX_CALLOC:
        op_alloc(r, op);
        break;
    case HX_REALLOC:
        op_realloc(r, op);
        break;
    case HX_FREE:
        op_free(r, op);
        break;
    case HX_FAULT_ARENAS:
    case HX_FAULT_RAW:
        // a loaded allocator has no fault seam
        if (r->a != NULL)
            r->res->declined++;
        else
            hx_fault_set(
                op->kind == HX_FAULT_RAW ? &r->rawf : &r->arenas.faults, op);
        break;
    case HX_CHECK:
        r->force_full = true;
        break;
    case HX_ARENA_NEW:
        // a recorded arena's start residue, for the arena requested next
        if (r->arenas.region != NULL)
            obm_region_set_offset(r->arenas.region, (size_t)op->b);
        break;
    case HX_ARENA_FREE:
        break;
    default:
        op_misuse(r, op);
        break;
    }
}
