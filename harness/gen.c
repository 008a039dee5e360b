/* gen.c — the generator table and what every generator shares: the seeded
 * stream, the live set, the operation writers and pool batches (gen.h).
 *
 * Writers never fail half-way: the first out-of-memory sets g->err and
 * every later call does nothing, so generators need not check each push.
 */
#include "gen.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct hx_generator generators[] = {
    {"size-classes",
     "every size class at its smallest and largest request, over more "
     "than one pool each, freed so pools go full->used->empty",
     hx_gen_size_classes},
    {"pool-churn",
     "pools filled exactly to full, one block freed and refilled, emptied "
     "to freepools and reused by another class",
     hx_gen_pool_churn},
    {"arena-reuse",
     "several arenas filled, one wholly freed (released, or kept as the "
     "tail) and its record reused by the next arena",
     hx_gen_arena_reuse},
    {"tail-arena",
     "the 3.9+ tail rule: one block bouncing on an empty heap, and arenas "
     "drained from either end with a block bouncing in between",
     hx_gen_tail_arena},
    {"sort-order",
     "many arenas with distinct nfreepools, freed in orders that move "
     "arenas far right, past ties, and free them in the list's middle",
     hx_gen_sort_order},
    {"realloc-chains",
     "realloc chains across classes and the threshold both ways, shrinks "
     "either side of the 3/4 rule, realloc to 0",
     hx_gen_realloc_chains},
    {"calloc-heavy",
     "mostly calloc: products at class boundaries and the threshold, zero "
     "products, and products that overflow 64 bits",
     hx_gen_calloc_heavy},
    {"large-heap",
     "over a million live blocks at the peak, some churn, then all freed",
     hx_gen_large_heap},
    {"python-mix",
     "Python-like: short-lived small objects, containers growing by "
     "realloc, a few long-lived ones, occasional big buffers",
     hx_gen_python_mix},
    {"faults",
     "arena and raw-allocator faults (counted, always, off) in a mix that "
     "needs new arenas, so blocks fall back to raw and recover",
     hx_gen_faults},
    {"random",
     "uniform mix of malloc/calloc/realloc/free over sizes 0..2*threshold",
     hx_gen_random},
    {"threshold",
     "malloc, calloc and realloc hammering threshold-1, threshold and "
     "threshold+1",
     hx_gen_threshold},
};

const struct hx_generator *
hx_generators(size_t *n)
{
    *n = sizeof generators / sizeof generators[0];
    return generators;
}

const struct hx_generator *
hx_generator_find(const char *name)
{
    size_t n;
    const struct hx_generator *v = hx_generators(&n);
    for (size_t k = 0; k < n; k++)
        if (strcmp(v[k].name, name) == 0)
            return &v[k];
    return NULL;
}

static uint64_t
mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

int
hx_gen_begin(struct hx_gen *g, struct hx_trace *t,
             const struct hx_gen_options *o, const char *kind,
             unsigned long def_ops)
{
    memset(g, 0, sizeof *g);
    g->t = t;
    g->g = obm_geometry(o->profile);
    if (g->g == NULL)
        return -1;
    g->seed = o->seed;
    g->ops = o->ops != 0 ? o->ops : def_ops;
    // each kind draws its own stream from the same seed
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const char *c = kind; *c != '\0'; c++)
        h = (h ^ (uint8_t)*c) * UINT64_C(0x100000001b3);
    g->rng = mix64(o->seed ^ h);
    return 0;
}

int
hx_gen_end(struct hx_gen *g)
{
    if (g->nlive > 0)
        hx_gen_note(g,
                    " teardown: free the %zu blocks still live, in "
                    "random order",
                    g->nlive);
    while (g->nlive > 0 && g->err == 0)
        hx_gen_free_random(g);
    free(g->live);
    free(g->pos);
    free(g->size);
    int err = g->err;
    memset(g, 0, sizeof *g);
    return err;
}

void
hx_gen_note(struct hx_gen *g, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (g->err == 0 && hx_note_add(g->t, false, buf) != 0)
        g->err = -1;
}

bool
hx_gen_more(const struct hx_gen *g)
{
    return g->err == 0 && g->t->nops < g->ops;
}

uint64_t
hx_gen_rand(struct hx_gen *g)
{
    g->rng += UINT64_C(0x9e3779b97f4a7c15);
    return mix64(g->rng);
}

uint64_t
hx_gen_below(struct hx_gen *g, uint64_t n)
{
    return hx_gen_rand(g) % n;
}

uint64_t
hx_gen_range(struct hx_gen *g, uint64_t lo, uint64_t hi)
{
    return lo + hx_gen_below(g, hi - lo + 1);
}

void
hx_gen_shuffle(struct hx_gen *g, uint32_t *v, size_t n)
{
    for (size_t k = n; k > 1; k--) {
        size_t j = (size_t)hx_gen_below(g, k);
        uint32_t x = v[k - 1];
        v[k - 1] = v[j];
        v[j] = x;
    }
}

unsigned
hx_gen_lo(const struct hx_gen *g, unsigned szidx)
{
    return obm_blocksize(g->g, szidx) - g->g->alignment + 1;
}

unsigned
hx_gen_hi(const struct hx_gen *g, unsigned szidx)
{
    return obm_blocksize(g->g, szidx);
}

unsigned
hx_gen_in_class(struct hx_gen *g, unsigned szidx)
{
    return (unsigned)hx_gen_range(g, hx_gen_lo(g, szidx), hx_gen_hi(g, szidx));
}

/* Make room for slot s in the per-slot arrays. */
static int
track_slot(struct hx_gen *g, uint32_t s)
{
    if (s >= g->slotcap) {
        size_t cap = g->slotcap == 0 ? 1024 : g->slotcap;
        while (cap <= s)
            cap *= 2;
        uint32_t *pos = realloc(g->pos, cap * sizeof *pos);
        if (pos == NULL)
            return -1;
        g->pos = pos;
        uint32_t *size = realloc(g->size, cap * sizeof *size);
        if (size == NULL)
            return -1;
        g->size = size;
        for (size_t k = g->slotcap; k < cap; k++)
            g->pos[k] = HX_NO_SLOT;
        g->slotcap = cap;
    }
    if (g->nlive == g->livecap) {
        size_t cap = g->livecap == 0 ? 1024 : g->livecap * 2;
        uint32_t *live = realloc(g->live, cap * sizeof *live);
        if (live == NULL)
            return -1;
        g->live = live;
        g->livecap = cap;
    }
    return 0;
}

static void
push(struct hx_gen *g, enum hx_kind kind, unsigned flags, uint32_t s,
     uint64_t a, uint64_t b)
{
    if (g->err == 0 && hx_push(g->t, kind, flags, s, a, b, 0) != 0)
        g->err = -1;
}

/* Push an allocation on a fresh slot, recording it as live. */
static uint32_t
allocate(struct hx_gen *g, enum hx_kind kind, uint64_t a, uint64_t b,
         uint64_t size)
{
    if (g->err != 0)
        return HX_NO_SLOT;
    uint32_t s = hx_slot_fresh(g->t);
    if (s == HX_NO_SLOT || track_slot(g, s) != 0) {
        g->err = -1;
        return HX_NO_SLOT;
    }
    push(g, kind, 0, s, a, b);
    g->pos[s] = (uint32_t)g->nlive;
    g->live[g->nlive++] = s;
    g->size[s] = (uint32_t)size;
    return s;
}

uint32_t
hx_gen_malloc(struct hx_gen *g, uint64_t size)
{
    return allocate(g, HX_MALLOC, size, 0, size);
}

uint32_t
hx_gen_calloc(struct hx_gen *g, uint64_t nelem, uint64_t elsize)
{
    bool overflow = elsize != 0 && nelem > UINT64_MAX / elsize;
    return allocate(g, HX_CALLOC, nelem, elsize,
                    overflow ? 0 : nelem * elsize);
}

bool
hx_gen_live(const struct hx_gen *g, uint32_t s)
{
    return s < g->slotcap && g->pos[s] != HX_NO_SLOT;
}

void
hx_gen_realloc(struct hx_gen *g, uint32_t s, uint64_t size)
{
    if (g->err != 0 || !hx_gen_live(g, s))
        return;
    push(g, HX_REALLOC, 0, s, size, 0);
    g->size[s] = (uint32_t)size;
}

void
hx_gen_free(struct hx_gen *g, uint32_t s)
{
    if (g->err != 0 || !hx_gen_live(g, s))
        return;
    push(g, HX_FREE, 0, s, 0, 0);
    uint32_t k = g->pos[s];
    uint32_t last = g->live[--g->nlive];
    g->live[k] = last;
    g->pos[last] = k;
    g->pos[s] = HX_NO_SLOT;
}

uint32_t
hx_gen_pick(struct hx_gen *g)
{
    if (g->nlive == 0)
        return HX_NO_SLOT;
    return g->live[hx_gen_below(g, g->nlive)];
}

void
hx_gen_free_random(struct hx_gen *g)
{
    uint32_t s = hx_gen_pick(g);
    if (s != HX_NO_SLOT)
        hx_gen_free(g, s);
}

void
hx_gen_fault(struct hx_gen *g, enum hx_kind kind, unsigned flags, uint64_t n)
{
    push(g, kind, flags, HX_NO_SLOT, n, 0);
}

void
hx_gen_batch_fill(struct hx_gen *g, struct hx_gen_batch *b, unsigned szidx,
                  size_t npools)
{
    b->szidx = szidx;
    b->nb = obm_numblocks(g->g, szidx);
    b->npools = npools;
    b->slots = malloc(npools * b->nb * sizeof *b->slots);
    if (b->slots == NULL) {
        b->npools = 0;
        g->err = -1;
        return;
    }
    for (size_t k = 0; k < npools * b->nb; k++)
        b->slots[k] = hx_gen_malloc(g, hx_gen_in_class(g, szidx));
}

void
hx_gen_batch_free_pool(struct hx_gen *g, const struct hx_gen_batch *b,
                       size_t k, bool reverse)
{
    if (k >= b->npools)
        return;
    const uint32_t *s = b->slots + k * b->nb;
    for (unsigned j = 0; j < b->nb; j++)
        hx_gen_free(g, s[reverse ? b->nb - 1 - j : j]);
}

void
hx_gen_batch_free_shuffled(struct hx_gen *g, const struct hx_gen_batch *b)
{
    uint32_t *order = malloc((b->npools + 1) * sizeof *order);
    if (order == NULL) {
        g->err = -1;
        return;
    }
    for (size_t k = 0; k < b->npools; k++)
        order[k] = (uint32_t)k;
    hx_gen_shuffle(g, order, b->npools);
    for (size_t k = 0; k < b->npools; k++)
        hx_gen_batch_free_pool(g, b, order[k], k % 2 != 0);
    free(order);
}

void
hx_gen_batch_done(struct hx_gen_batch *b)
{
    free(b->slots);
    memset(b, 0, sizeof *b);
}
