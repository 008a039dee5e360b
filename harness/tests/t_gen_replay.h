/* t_gen_replay.h — t_gen's replay of a trace straight through the core.
 *
 * The replay watches the core through obm_heap_state() and the pool
 * headers of the blocks it holds, and draws arenas and raw blocks through
 * wrappers that carry out the trace's fault operations and count them;
 * what it saw ends in a struct seen.  Only t_gen.c includes this.
 */
#ifndef T_GEN_REPLAY_H
#define T_GEN_REPLAY_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hx.h"

/* Assert without Check recording every passing location (hot loops). */
#define CHECK_MSG(expr, ...)                                                  \
    do {                                                                      \
        if (!(expr))                                                          \
            ck_abort_msg(__VA_ARGS__);                                        \
    } while (0)

/* A fault plan as the trace's fault operations set it, and its counts. */
struct faults {
    unsigned long fail_next;
    bool always;
    unsigned long requests, failed, served_after_failure;
};

/* Decide whether this request fails, and count it. */
static bool
should_fail(struct faults *f)
{
    f->requests++;
    bool fail = f->always || f->fail_next > 0;
    if (!f->always && f->fail_next > 0)
        f->fail_next--;
    if (fail)
        f->failed++;
    else if (f->failed > 0)
        f->served_after_failure++;
    return fail;
}

static void
fault_set(struct faults *f, const struct hx_op *op)
{
    if (op->flags & HX_F_OFF)
        f->always = false, f->fail_next = 0;
    else if (op->flags & HX_F_ALWAYS)
        f->always = true;
    else
        f->fail_next = op->a;
}

struct arena_src {
    struct obm_arena_source inner;
    struct faults f;
};

static void *
arena_alloc(void *ctx, size_t size)
{
    struct arena_src *a = ctx;
    return should_fail(&a->f) ? NULL : a->inner.alloc(a->inner.ctx, size);
}

static void
arena_free(void *ctx, void *p, size_t size)
{
    struct arena_src *a = ctx;
    a->inner.free(a->inner.ctx, p, size);
}

/* The raw allocator: libc through the core's own RAW wrappers (which
 * never pass 0 to libc), failing as the trace asks. */
struct raw_src {
    struct obm_raw_allocator inner;
    struct faults f;
};

static void *
raw_malloc(void *ctx, size_t n)
{
    struct raw_src *r = ctx;
    return should_fail(&r->f) ? NULL : r->inner.malloc(r->inner.ctx, n);
}

static void *
raw_calloc(void *ctx, size_t n, size_t el)
{
    struct raw_src *r = ctx;
    return should_fail(&r->f) ? NULL : r->inner.calloc(r->inner.ctx, n, el);
}

static void *
raw_realloc(void *ctx, void *p, size_t n)
{
    struct raw_src *r = ctx;
    return should_fail(&r->f) ? NULL : r->inner.realloc(r->inner.ctx, p, n);
}

static void
raw_free(void *ctx, void *p)
{
    struct raw_src *r = ctx;
    r->inner.free(r->inner.ctx, p);
}

/* What a replay saw. */
struct seen {
    uint64_t classes[2]; /* bit per size class a block came from */
    unsigned long pool_allocs, raw_allocs, nulls, callocs, mallocs;
    unsigned long overflow_nulls, fallbacks, raw_fault_nulls;
    unsigned long full_pools, full_to_used, used_to_empty;
    unsigned long pool_reuse, pool_reuse_other;
    unsigned long in_place, moved, up_threshold, to_zero;
    unsigned long shrunk_in_place, shrunk_moved, raw_under_threshold;
    unsigned long moves, long_moves, middle_releases, tail_kept;
    unsigned long frees, young_frees; /* frees of blocks under 64 ops old */
    unsigned long arenas_after_fault; /* arenas served after a failure */
    size_t max_age, peak_live, max_arenas, ntimes, highwater;
    bool empty_seen;
    size_t empty_min_arenas, empty_max_arenas;
};

struct replay {
    const struct obm_geometry *g;
    obm_heap *h;
    struct obm_state s;
    struct arena_src as;
    struct raw_src rs;
    void **ptr;      /* per slot */
    size_t *born;    /* per slot: op index of its allocation */
    size_t live, op; /* blocks live; the op being replayed */
    struct seen w;
};

static struct obm_pool *
pool_of(const struct replay *r, const void *p)
{
    return (struct obm_pool *)((uintptr_t)p
                               & ~(uintptr_t)(r->g->pool_size - 1));
}

static size_t
list_index(const struct replay *r, const struct obm_arena *ao)
{
    size_t k = 0;
    for (const struct obm_arena *a = *r->s.usable_arenas; a != NULL;
         a = a->nextarena, k++)
        if (a == ao)
            return k;
    return SIZE_MAX;
}

/* Before allocating n bytes: note a pool about to come off freepools. */
static void
before_alloc(struct replay *r, uint64_t n)
{
    if (n == 0 || n > r->g->threshold)
        return;
    unsigned c = (unsigned)((n - 1) >> r->g->alignment_shift);
    const struct obm_arena *head = *r->s.usable_arenas;
    if ((const void *)r->s.usedpools[2 * c] != obm_ring_sentinel(&r->s, c)
        || head == NULL || head->freepools == NULL)
        return;
    r->w.pool_reuse++;
    r->w.pool_reuse_other += head->freepools->szidx != c;
}

static void
after_alloc(struct replay *r, uint32_t slot, void *p, uint64_t n,
            unsigned long arena_failed, unsigned long raw_failed)
{
    r->ptr[slot] = p;
    r->born[slot] = r->op;
    if (p == NULL) {
        r->w.nulls++;
        r->w.raw_fault_nulls += r->rs.f.failed > raw_failed;
        return;
    }
    if (++r->live > r->w.peak_live)
        r->w.peak_live = r->live;
    if (!obm_owns(r->h, p)) {
        r->w.raw_allocs++;
        r->w.fallbacks +=
            n >= 1 && n <= r->g->threshold && r->as.f.failed > arena_failed;
        return;
    }
    struct obm_pool *pool = pool_of(r, p);
    r->w.pool_allocs++;
    r->w.classes[pool->szidx / 64] |= UINT64_C(1) << pool->szidx % 64;
    r->w.full_pools += pool->ref.count == obm_numblocks(r->g, pool->szidx);
}

static void
replay_realloc(struct replay *r, uint32_t slot, uint64_t n)
{
    void *old = r->ptr[slot];
    if (old == NULL) // its allocation failed: the runner skips it too
        return;
    size_t b = obm_usable_size(r->h, old);
    unsigned long raw_failed = r->rs.f.failed;
    void *q = obm_realloc(r->h, old, n);
    if (q == NULL) {
        r->w.nulls++;
        r->w.raw_fault_nulls += r->rs.f.failed > raw_failed;
        return;
    }
    r->ptr[slot] = q;
    r->w.in_place += q == old && b != 0;
    r->w.moved += q != old;
    r->w.up_threshold += b != 0 && n > r->g->threshold;
    r->w.to_zero += n == 0;
    // the 3/4 rule from both sides, and a raw block asked to come back
    r->w.shrunk_in_place += q == old && n < b;
    r->w.shrunk_moved += q != old && n > 0 && 4 * n <= 3 * (uint64_t)b;
    r->w.raw_under_threshold += b == 0 && n > 0 && n <= r->g->threshold;
}

/* Watch a pool about to become empty and its arena's move in the list. */
static void
watch_empty(struct replay *r, struct obm_pool *pool, void *p)
{
    struct obm_arena *ao = &(*r->s.arenas)[pool->arenaindex];
    unsigned nf_old = ao->nfreepools, total = ao->ntotalpools;
    bool listed = nf_old > 0, had_next = listed && ao->nextarena != NULL;
    size_t before = listed ? list_index(r, ao) : SIZE_MAX;
    obm_free(r->h, p);
    r->w.used_to_empty++;
    if (ao->address == 0) {
        r->w.middle_releases += had_next;
        return;
    }
    r->w.tail_kept += nf_old + 1 == total;
    size_t after = listed ? list_index(r, ao) : SIZE_MAX;
    if (listed && after > before) {
        r->w.moves++;
        r->w.long_moves += after - before >= 2;
    }
}

static void
replay_free(struct replay *r, uint32_t slot)
{
    void *p = r->ptr[slot];
    r->ptr[slot] = NULL;
    if (p == NULL)
        return;
    size_t age = r->op - r->born[slot];
    r->w.frees++;
    r->w.young_frees += age < 64;
    r->w.max_age = age > r->w.max_age ? age : r->w.max_age;
    r->live--;
    if (!obm_owns(r->h, p)) {
        obm_free(r->h, p);
        return;
    }
    struct obm_pool *pool = pool_of(r, p);
    r->w.full_to_used += pool->ref.count == obm_numblocks(r->g, pool->szidx);
    if (pool->ref.count == 1)
        watch_empty(r, pool, p);
    else
        obm_free(r->h, p);
}

static void
replay_op(struct replay *r, const struct hx_op *op)
{
    unsigned long af = r->as.f.failed, rf = r->rs.f.failed;
    bool overflow = op->b != 0 && op->a > UINT64_MAX / op->b;
    switch (op->kind) {
    case HX_MALLOC:
        r->w.mallocs++;
        before_alloc(r, op->a);
        after_alloc(r, op->slot, obm_malloc(r->h, op->a), op->a, af, rf);
        break;
    case HX_CALLOC:
        r->w.callocs++;
        if (!overflow)
            before_alloc(r, op->a * op->b);
        after_alloc(r, op->slot, obm_calloc(r->h, op->a, op->b),
                    overflow ? 0 : op->a * op->b, af, rf);
        CHECK_MSG(!overflow || r->ptr[op->slot] == NULL,
                  "op #%zu: calloc overflow not NULL", r->op + 1);
        r->w.overflow_nulls += overflow;
        break;
    case HX_REALLOC:
        replay_realloc(r, op->slot, op->a);
        break;
    case HX_FREE:
        replay_free(r, op->slot);
        break;
    case HX_FAULT_ARENAS:
        fault_set(&r->as.f, op);
        break;
    case HX_FAULT_RAW:
        fault_set(&r->rs.f, op);
        break;
    default:
        ck_abort_msg("op #%zu: kind %u", r->op + 1, op->kind);
    }
}

/* Replay t in profile p; every block is freed by the end, so the heap
 * must be drained: no block, no arena but the 3.9+ tail one. */
static void
replay(const struct hx_trace *t, enum obm_profile p, struct seen *w)
{
    struct replay *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    r->as.inner = obm_source_mmap();
    struct obm_arena_source src = {&r->as, arena_alloc, arena_free};
    r->rs.inner = obm_raw_libc();
    struct obm_raw_allocator raw = {&r->rs, raw_malloc, raw_calloc,
                                    raw_realloc, raw_free};
    struct obm_heap_config cfg = {.profile = p, .arenas = &src, .raw = &raw};
    r->h = obm_heap_new_ex(&cfg);
    ck_assert_ptr_nonnull(r->h);
    r->g = obm_heap_geometry(r->h);
    obm_heap_state(r->h, &r->s);
    r->ptr = calloc(t->nslots + 1, sizeof *r->ptr);
    r->born = calloc(t->nslots + 1, sizeof *r->born);
    ck_assert(r->ptr != NULL && r->born != NULL);
    r->w.empty_min_arenas = SIZE_MAX;
    for (r->op = 0; r->op < t->nops; r->op++) {
        replay_op(r, &t->ops[r->op]);
        size_t na = *r->s.narenas_currently_allocated;
        r->w.max_arenas = na > r->w.max_arenas ? na : r->w.max_arenas;
        if (r->live == 0 && r->w.pool_allocs > 0) {
            r->w.empty_seen = true;
            if (na < r->w.empty_min_arenas)
                r->w.empty_min_arenas = na;
            if (na > r->w.empty_max_arenas)
                r->w.empty_max_arenas = na;
        }
    }
    r->w.ntimes = *r->s.ntimes_arena_allocated;
    r->w.highwater = *r->s.narenas_highwater;
    r->w.arenas_after_fault = r->as.f.served_after_failure;
    *w = r->w;
    ck_assert_uint_eq(obm_allocated_blocks(r->h), 0);
    ck_assert_int_eq(*r->s.raw_allocated_blocks, 0);
    size_t left = *r->s.narenas_currently_allocated;
    if (r->g->keep_tail_arena)
        ck_assert_uint_le(left, 1);
    else
        ck_assert_uint_eq(left, 0);
    obm_heap_free(r->h);
    free(r->ptr);
    free(r->born);
    free(r);
}

#endif /* T_GEN_REPLAY_H */
