/* cpython_hooks.c — hooks around a live CPython 3.11's allocators.
 *
 * PyMem_SetAllocator wraps the MEM and OBJ domains (both pymalloc in 3.11)
 * and PyObject_SetArenaAllocator wraps the arena allocator.  Each hook
 * calls the original first and records after it returns, so an arena
 * event lands in the trace before the op that caused it, and a mirror step
 * or a walk of CPython's heap never runs while obmalloc is mid-operation.
 * The arena allocator also serves 3.11's frame data stack
 * (_PyObject_VirtualAlloc); only the ARENA_SIZE requests made inside a
 * MEM or OBJ call are obmalloc's arenas.  Real pointers map to trace slots; a
 * freed slot's label is reused, so the trace names as many blocks as were ever
 * live at once.  A walk keeps the same map of live blocks, and hands the
 * checker those inside arenas as its live set.
 *
 * All state is in `cpy`, the one global context the CPython hooks need.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "cpython.h"

#include <stdlib.h>
#include <string.h>

#define POOL_SIZE ((uintptr_t)16384)
#define ARENA_SIZE ((uintptr_t)1 << 20)

struct domain {
    PyMemAllocatorEx orig;
    unsigned flags; /* HX_F_OBJ or 0 */
};

static struct {
    bool on;
    struct hx_cpy_options o;
    struct domain mem, obj;
    PyMemAllocatorEx mem_hook, obj_hook;
    PyObjectArenaAllocator arena_orig, arena_hook;
    struct hx_ptrmap blocks; /* real block -> slot */
    struct hx_ptrmap starts; /* real arena base >> 20 -> base */
    struct hx_ptrmap ids;    /* real arena base -> arena id */
    uint64_t nrequests;
    unsigned depth;  /* inside a wrapped MEM or OBJ call */
    uint32_t *spare; /* slots free for reuse */
    size_t nspare, sparecap;
    size_t stepped; /* ops fed to the mirror */
    bool mirror_done;
    unsigned long since_walk;
    const void **live; /* the walk's live set, made for each walk */
    size_t livecap;
    struct hx_cpy_counts n;
} cpy;

/* Return the real arena holding p, or 0 (an arena starts in at most one
 * 1 MiB chunk, and covers that chunk's tail and the next one's head). */
static uintptr_t
arena_of(uintptr_t p)
{
    uint64_t base;
    uintptr_t c = p / ARENA_SIZE;
    if (hx_ptrmap_get(&cpy.starts, c + 1, &base) && base <= p)
        return (uintptr_t)base;
    if (c > 0 && hx_ptrmap_get(&cpy.starts, c, &base) && p < base + ARENA_SIZE)
        return (uintptr_t)base;
    return 0;
}

/* Where CPython put p: (arenaindex, pool in its arena, offset), or raw. */
static uint64_t
real_place(const void *p)
{
    uintptr_t a = arena_of((uintptr_t)p);
    if (a == 0)
        return HX_PLACE_RAW;
    uintptr_t pool = (uintptr_t)p & ~(POOL_SIZE - 1);
    uintptr_t first = (a + POOL_SIZE - 1) & ~(POOL_SIZE - 1);
    const struct obm_pool *hdr = (const struct obm_pool *)pool;
    return hx_place_pool(hdr->arenaindex,
                         (unsigned)((pool - first) / POOL_SIZE),
                         (unsigned)((uintptr_t)p - pool));
}

/* Feed the ops recorded since the last call to the mirror. */
static void
mirror_catch_up(void)
{
    struct hx_trace *t = cpy.o.record;
    while (cpy.o.mirror != NULL && !cpy.mirror_done && cpy.stepped < t->nops)
        if (hx_mirror_step(cpy.o.mirror, cpy.stepped++) != 0
            && !cpy.o.keep_going)
            cpy.mirror_done = true;
}

static int
by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (const void *const *)a;
    uintptr_t y = (uintptr_t) * (const void *const *)b;
    return (x > y) - (x < y);
}

/* Fill cpy.live with the live blocks inside arenas (pool blocks), sorted;
 * return how many, or SIZE_MAX without the memory. */
static size_t
live_pool_blocks(void)
{
    const struct hx_ptrmap *m = &cpy.blocks;
    if (cpy.livecap < m->n) {
        size_t cap = m->n + m->n / 2 + 1024;
        const void **v = realloc(cpy.live, cap * sizeof *v);
        if (v == NULL)
            return SIZE_MAX;
        cpy.live = v;
        cpy.livecap = cap;
    }
    size_t n = 0;
    for (size_t i = 0; m->keys != NULL && i <= m->mask; i++)
        if (m->keys[i] != 0 && arena_of(m->keys[i]) != 0)
            cpy.live[n++] = (const void *)m->keys[i];
    qsort(cpy.live, n, sizeof *cpy.live, by_address);
    return n;
}

size_t
hx_cpy_walk_now(void)
{
    size_t n = live_pool_blocks();
    return cpy.o.walk(cpy.o.walk_ctx, cpy.n.ops,
                      n != SIZE_MAX ? cpy.live : NULL, n);
}

/* Everything after an op's wrapped call returned. */
static void
after_op(void)
{
    cpy.n.ops++;
    if (cpy.o.record != NULL)
        mirror_catch_up();
    if (cpy.o.walk_every != 0 && ++cpy.since_walk >= cpy.o.walk_every) {
        cpy.since_walk = 0;
        hx_cpy_walk_now();
    }
}

/* A walk's live set: block p came (q NULL) or went, or moved to q. */
static void
track(void *p, void *q, bool came)
{
    if (cpy.o.walk == NULL)
        return;
    if (!came)
        hx_ptrmap_del(&cpy.blocks, (uintptr_t)p, NULL);
    void *now = came ? p : q;
    if (now != NULL && hx_ptrmap_put(&cpy.blocks, (uintptr_t)now, 0) != 0) {
        fputs("obcheck-cpython: out of memory while walking\n", stderr);
        abort();
    }
}

static uint32_t
take_slot(void)
{
    if (cpy.nspare > 0)
        return cpy.spare[--cpy.nspare];
    return hx_slot_fresh(cpy.o.record);
}

static void
give_slot(uint32_t s)
{
    if (cpy.nspare == cpy.sparecap) {
        size_t cap = cpy.sparecap == 0 ? 4096 : cpy.sparecap * 2;
        uint32_t *v = realloc(cpy.spare, cap * sizeof *v);
        if (v == NULL)
            return; // the label is not reused: the trace only grows
        cpy.spare = v;
        cpy.sparecap = cap;
    }
    cpy.spare[cpy.nspare++] = s;
}

/* Record op kind of a new block p (malloc, calloc, a realloc of NULL). */
static void
record_new(unsigned flags, enum hx_kind kind, void *p, uint64_t a, uint64_t b)
{
    struct hx_trace *t = cpy.o.record;
    uint64_t bytes = kind == HX_CALLOC ? a * b : a;
    if (t == NULL || p == NULL)
        return;
    if (bytes > HX_MAX_SIZE) {
        cpy.n.unrecorded++;
        return;
    }
    uint64_t old;
    if (hx_ptrmap_get(&cpy.blocks, (uintptr_t)p, &old))
        cpy.n.reused++;
    uint32_t s = take_slot();
    if (s == HX_NO_SLOT || hx_push(t, kind, flags, s, a, b, 0) != 0
        || hx_set_place(t, t->nops - 1, real_place(p)) != 0
        || hx_ptrmap_put(&cpy.blocks, (uintptr_t)p, s) != 0) {
        fputs("obcheck-cpython: out of memory while recording\n", stderr);
        abort();
    }
}

static void *
hook_malloc(void *ctx, size_t n)
{
    struct domain *d = ctx;
    cpy.depth++;
    void *p = d->orig.malloc(d->orig.ctx, n);
    cpy.depth--;
    if (cpy.on) {
        track(p, NULL, true);
        record_new(d->flags, HX_MALLOC, p, n, 0);
        after_op();
    }
    return p;
}

static void *
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    struct domain *d = ctx;
    cpy.depth++;
    void *p = d->orig.calloc(d->orig.ctx, nelem, elsize);
    cpy.depth--;
    if (cpy.on) {
        track(p, NULL, true);
        record_new(d->flags, HX_CALLOC, p, nelem, elsize);
        after_op();
    }
    return p;
}

/* Record a realloc of known block slot s from p to q (q != NULL). */
static void
record_realloc(unsigned flags, uint32_t s, void *p, void *q, size_t n)
{
    struct hx_trace *t = cpy.o.record;
    hx_ptrmap_del(&cpy.blocks, (uintptr_t)p, NULL);
    if (n > HX_MAX_SIZE) {
        // the block leaves the trace live at its old size
        cpy.n.unrecorded++;
        return;
    }
    if (hx_push(t, HX_REALLOC, flags, s, n, 0, 0) != 0
        || hx_set_place(t, t->nops - 1, real_place(q)) != 0
        || hx_ptrmap_put(&cpy.blocks, (uintptr_t)q, s) != 0) {
        fputs("obcheck-cpython: out of memory while recording\n", stderr);
        abort();
    }
}

static void *
hook_realloc(void *ctx, void *p, size_t n)
{
    struct domain *d = ctx;
    cpy.depth++;
    void *q = d->orig.realloc(d->orig.ctx, p, n);
    cpy.depth--;
    if (!cpy.on)
        return q;
    if (p == NULL || q != NULL) // a failed realloc leaves p as it was
        track(p == NULL ? q : p, p == NULL ? NULL : q, p == NULL);
    uint64_t s;
    if (p == NULL)
        record_new(d->flags, HX_MALLOC, q, n, 0);
    else if (cpy.o.record == NULL || q == NULL)
        ; // nothing to record: the block stays as it was
    else if (!hx_ptrmap_get(&cpy.blocks, (uintptr_t)p, &s))
        cpy.n.unknown++;
    else
        record_realloc(d->flags, (uint32_t)s, p, q, n);
    after_op();
    return q;
}

static void
hook_free(void *ctx, void *p)
{
    struct domain *d = ctx;
    cpy.depth++;
    d->orig.free(d->orig.ctx, p);
    cpy.depth--;
    if (!cpy.on || p == NULL)
        return;
    track(p, NULL, false);
    uint64_t s;
    struct hx_trace *t = cpy.o.record;
    if (t == NULL)
        ;
    else if (!hx_ptrmap_del(&cpy.blocks, (uintptr_t)p, &s))
        cpy.n.unknown++;
    else if (hx_push(t, HX_FREE, d->flags, (uint32_t)s, 0, 0, 0) != 0) {
        fputs("obcheck-cpython: out of memory while recording\n", stderr);
        abort();
    } else {
        give_slot((uint32_t)s);
    }
    after_op();
}

static void
push_arena_event(enum hx_kind kind, uint64_t id, uint64_t offset)
{
    if (cpy.o.record != NULL
        && hx_push(cpy.o.record, kind, 0, HX_NO_SLOT, id, offset, 0) != 0) {
        fputs("obcheck-cpython: out of memory while recording\n", stderr);
        abort();
    }
}

static void *
hook_arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    void *p = cpy.arena_orig.alloc(cpy.arena_orig.ctx, size);
    if (!cpy.on || p == NULL || cpy.depth == 0 || size != ARENA_SIZE)
        return p;
    uintptr_t a = (uintptr_t)p;
    uint64_t id = ++cpy.nrequests;
    cpy.n.arenas_new++;
    if (hx_ptrmap_put(&cpy.starts, a / ARENA_SIZE + 1, a) != 0
        || hx_ptrmap_put(&cpy.ids, a, id) != 0) {
        fputs("obcheck-cpython: out of memory while recording\n", stderr);
        abort();
    }
    push_arena_event(HX_ARENA_NEW, id, a % POOL_SIZE);
    return p;
}

static void
hook_arena_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    uint64_t id;
    if (cpy.on && hx_ptrmap_del(&cpy.ids, (uintptr_t)p, &id)) {
        hx_ptrmap_del(&cpy.starts, (uintptr_t)p / ARENA_SIZE + 1, NULL);
        cpy.n.arenas_free++;
        push_arena_event(HX_ARENA_FREE, id, 0);
    }
    cpy.arena_orig.free(cpy.arena_orig.ctx, p, size);
}

void
hx_cpy_install(const struct hx_cpy_options *o)
{
    cpy.o = *o;
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &cpy.mem.orig);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &cpy.obj.orig);
    cpy.obj.flags = HX_F_OBJ;
    cpy.mem_hook = (PyMemAllocatorEx){&cpy.mem, hook_malloc, hook_calloc,
                                      hook_realloc, hook_free};
    cpy.obj_hook = (PyMemAllocatorEx){&cpy.obj, hook_malloc, hook_calloc,
                                      hook_realloc, hook_free};
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &cpy.mem_hook);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &cpy.obj_hook);
    PyObject_GetArenaAllocator(&cpy.arena_orig);
    cpy.arena_hook =
        (PyObjectArenaAllocator){NULL, hook_arena_alloc, hook_arena_free};
    PyObject_SetArenaAllocator(&cpy.arena_hook);
    cpy.on = true;
}

bool
hx_cpy_stop(void)
{
    if (cpy.o.record != NULL)
        mirror_catch_up();
    cpy.on = false;
    PyMemAllocatorEx mem, obj;
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &mem);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &obj);
    return mem.malloc == hook_malloc && obj.malloc == hook_malloc;
}

void
hx_cpy_counts(struct hx_cpy_counts *c)
{
    *c = cpy.n;
}
