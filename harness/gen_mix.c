/* gen_mix.c — generators of mixed workloads: calloc-heavy, large-heap,
 * python-mix, faults and random.
 *
 * calloc is the facts' §4.8 (an overflowing product gives NULL, a zero
 * product a raw block); faults follow §4.2 step 6 and §4.4: a failed arena
 * request sends the block to the raw allocator.
 */
#include "gen.h"

#include <stdlib.h>

/* Split product p into (nelem, elsize) through a small divisor. */
static void
split(struct hx_gen *g, uint64_t p, uint64_t *nelem, uint64_t *elsize)
{
    static const uint64_t divisors[] = {1, 2, 3, 4, 8, 12, 16, 24, 32};
    uint64_t d = p;
    if (p == 0) {
        uint64_t k = hx_gen_below(g, 3);
        *nelem = k == 1 ? hx_gen_range(g, 1, 64) : 0;
        *elsize = k == 0 ? hx_gen_range(g, 1, 64) : 0;
        return;
    }
    for (int tries = 0; tries < 4; tries++) {
        uint64_t x = divisors[hx_gen_below(g, 9)];
        if (p % x == 0) {
            d = x;
            break;
        }
    }
    bool swap = hx_gen_below(g, 2) != 0;
    *nelem = swap ? d : p / d;
    *elsize = swap ? p / d : d;
}

static uint32_t
calloc_of(struct hx_gen *g, uint64_t p)
{
    uint64_t n, e;
    split(g, p, &n, &e);
    return hx_gen_calloc(g, n, e);
}

/* Append a calloc whose product overflows 64 bits, form k of four. */
static void
calloc_overflow(struct hx_gen *g, unsigned k)
{
    const uint64_t two32 = UINT64_C(1) << 32;
    switch (k % 4) {
    case 0:
        hx_gen_calloc(g, two32 + hx_gen_below(g, 1u << 16),
                      two32 + hx_gen_below(g, 1u << 16));
        break;
    case 1:
        hx_gen_calloc(g, UINT64_MAX, 2);
        break;
    case 2: // wraps to exactly 0
        hx_gen_calloc(g, UINT64_C(1) << 63, 2);
        break;
    default: // wraps to 16, a small class
        hx_gen_calloc(g, (UINT64_C(1) << 60) + 1, 16);
        break;
    }
}

/* Pick a product: a class boundary, the threshold, 0, or any size. */
static uint64_t
product(struct hx_gen *g)
{
    const struct obm_geometry *geo = g->g;
    unsigned c = (unsigned)hx_gen_below(g, geo->nclasses);
    switch (hx_gen_below(g, 10)) {
    case 0:
        return hx_gen_lo(g, c);
    case 1:
        return hx_gen_hi(g, c);
    case 2:
        return hx_gen_hi(g, c) + 1;
    case 3:
        return geo->threshold + hx_gen_below(g, 3) - 1;
    case 4:
        return 0;
    case 5:
    case 6:
    case 7:
        return hx_gen_range(g, 1, geo->threshold);
    default:
        return hx_gen_range(g, geo->threshold + 1, 8 * geo->threshold);
    }
}

/* Append calloc-heavy: boundary products and overflow forms first,
 * then a mix that is mostly calloc. */
int
hx_gen_calloc_heavy(struct hx_trace *t, const struct hx_gen_options *o)
{
    struct hx_gen g;
    if (hx_gen_begin(&g, t, o, "calloc-heavy", 30000) != 0)
        return -1;
    hx_gen_note(&g,
                " gen calloc-heavy: mostly calloc in %s, products at class "
                "boundaries, at threshold %u and past it, zero products and "
                "a few that overflow 64 bits; seed %llu, ops %lu",
                g.g->name, g.g->threshold, (unsigned long long)g.seed, g.ops);
    hx_gen_note(&g, " boundaries: every class's smallest and largest "
                    "product, then each overflow form (NULL expected)");
    for (unsigned c = 0; c < g.g->nclasses; c++) {
        calloc_of(&g, hx_gen_lo(&g, c));
        calloc_of(&g, hx_gen_hi(&g, c));
    }
    calloc_of(&g, g.g->threshold + 1);
    calloc_of(&g, 0);
    for (unsigned k = 0; k < 4; k++)
        calloc_overflow(&g, k);
    hx_gen_note(&g, " mix: calloc, some malloc and realloc, random frees; "
                    "one overflow in about 200 allocations");
    while (hx_gen_more(&g)) {
        uint64_t r = hx_gen_below(&g, 200);
        if (g.nlive >= 512 || (g.nlive > 0 && hx_gen_below(&g, 100) < 42))
            hx_gen_free_random(&g);
        else if (r == 0)
            calloc_overflow(&g, (unsigned)hx_gen_below(&g, 4));
        else if (r < 160 || g.nlive == 0)
            calloc_of(&g, product(&g));
        else if (r < 180)
            hx_gen_malloc(&g, product(&g));
        else
            hx_gen_realloc(&g, hx_gen_pick(&g), product(&g));
    }
    return hx_gen_end(&g);
}

/* Pick an object size the way a Python heap spreads them. */
static uint64_t
py_size(struct hx_gen *g)
{
    unsigned thr = g->g->threshold;
    uint64_t r = hx_gen_below(g, 1000);
    if (r < 700)
        return hx_gen_range(g, 16, 64);
    if (r < 900)
        return hx_gen_range(g, 65, 256);
    if (r < 999)
        return hx_gen_range(g, 257, thr);
    return hx_gen_range(g, thr + 1, 4 * thr);
}

/* Append large-heap: build 10/21 of the budget live, churn a little,
 * free everything in random order. */
int
hx_gen_large_heap(struct hx_trace *t, const struct hx_gen_options *o)
{
    struct hx_gen g;
    if (hx_gen_begin(&g, t, o, "large-heap", 2205000) != 0)
        return -1;
    // build n, churn n/20 (a free and a malloc each), free n: 2.1 n ops
    unsigned long n = g.ops * 10 / 21, churn = n / 20;
    n = n < 16 ? 16 : n;
    hx_gen_note(&g,
                " gen large-heap: %lu live blocks at the peak in %s "
                "(Python-like sizes), %lu churned, all freed; seed %llu, "
                "ops %lu",
                n, g.g->name, churn, (unsigned long long)g.seed, g.ops);
    hx_gen_note(&g, " build: allocate %lu blocks", n);
    for (unsigned long k = 0; k < n && g.err == 0; k++)
        hx_gen_malloc(&g, py_size(&g));
    hx_gen_note(&g,
                " churn: %lu times free a random block, allocate "
                "another",
                churn);
    for (unsigned long k = 0; k < churn && g.err == 0; k++) {
        hx_gen_free_random(&g);
        hx_gen_malloc(&g, py_size(&g));
    }
    return hx_gen_end(&g);
}

/* A growable set of slots (python-mix's generations). */
struct vec {
    uint32_t *v;
    size_t n, cap;
};

static void
vec_push(struct hx_gen *g, struct vec *s, uint32_t slot)
{
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 256 : 2 * s->cap;
        uint32_t *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL) {
            g->err = -1;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = slot;
}

/* Remove and return element k (swapping the last one in). */
static uint32_t
vec_take(struct vec *s, size_t k)
{
    uint32_t slot = s->v[k];
    s->v[k] = s->v[--s->n];
    return slot;
}

struct pymix {
    struct hx_gen g;
    struct vec young;  /* a stack: temporaries die last-in first-out */
    struct vec mid;    /* survivors */
    struct vec box[2]; /* containers' storage: lists, dicts */
};

/* Retire a young object: mostly the newest; a few survive into mid. */
static void
kill_young(struct pymix *p)
{
    struct hx_gen *g = &p->g;
    size_t k = hx_gen_below(g, 10) == 0 ? (size_t)hx_gen_below(g, p->young.n)
                                        : p->young.n - 1;
    uint32_t s = vec_take(&p->young, k);
    if (hx_gen_below(g, 100) < 3)
        vec_push(g, &p->mid, s);
    else
        hx_gen_free(g, s);
}

/* Grow a container's storage: a list over-allocates (n + n/8 + 6 items),
 * a dict doubles its table; past 256 KiB it dies instead. */
static void
grow_box(struct pymix *p, int kind)
{
    struct hx_gen *g = &p->g;
    struct vec *v = &p->box[kind];
    size_t k = (size_t)hx_gen_below(g, v->n);
    uint32_t s = v->v[k];
    if (!hx_gen_live(g, s))
        return;
    uint64_t bytes = g->size[s], want = 2 * bytes;
    if (kind == 0) {
        uint64_t items = bytes / 8 + 1;
        want = ((items + (items >> 3) + 6) & ~(uint64_t)3) * 8;
    }
    if (want > (1u << 18))
        hx_gen_free(g, vec_take(v, k));
    else
        hx_gen_realloc(g, s, want);
}

static void
new_box(struct pymix *p)
{
    int kind = (int)hx_gen_below(&p->g, 2);
    vec_push(&p->g, &p->box[kind], hx_gen_malloc(&p->g, kind ? 8 * 24 : 32));
}

/* Free a container at random, if there are more than a few. */
static void
drop_box(struct pymix *p)
{
    struct vec *v = &p->box[hx_gen_below(&p->g, 2)];
    if (v->n > 8)
        hx_gen_free(&p->g, vec_take(v, (size_t)hx_gen_below(&p->g, v->n)));
}

/* One step of the steady mix. */
static void
py_step(struct pymix *p)
{
    struct hx_gen *g = &p->g;
    unsigned thr = g->g->threshold;
    uint64_t r = hx_gen_below(g, 1000);
    if ((r < 430 && p->young.n > 0) || p->young.n > 4096)
        kill_young(p);
    else if (r < 830)
        vec_push(g, &p->young, hx_gen_malloc(g, hx_gen_range(g, 16, 64)));
    else if (r < 880 && p->box[r % 2].n > 0)
        grow_box(p, (int)(r % 2));
    else if (r < 905)
        new_box(p);
    else if (r < 935)
        drop_box(p);
    else if ((r < 965 && p->mid.n < 3000) || p->mid.n == 0)
        vec_push(g, &p->mid, hx_gen_malloc(g, hx_gen_range(g, 32, thr)));
    else if (r < 985)
        hx_gen_free(g, vec_take(&p->mid, (size_t)hx_gen_below(g, p->mid.n)));
    else if (r < 997) // a short-lived buffer past the threshold
        vec_push(g, &p->young,
                 hx_gen_malloc(g, hx_gen_range(g, thr + 1, 65536)));
    else // long-lived: only the teardown frees it
        hx_gen_malloc(g, hx_gen_range(g, 32, thr));
}

/* Append python-mix: warmup, a steady Python-like mix, a teardown. */
int
hx_gen_python_mix(struct hx_trace *t, const struct hx_gen_options *o)
{
    struct pymix p = {0};
    struct hx_gen *g = &p.g;
    if (hx_gen_begin(g, t, o, "python-mix", 60000) != 0)
        return -1;
    unsigned thr = g->g->threshold, nlong = g->ops / 200 + 8;
    hx_gen_note(g,
                " gen python-mix: Python-like sizes and lifetimes in %s: "
                "16..64-byte temporaries dying young, containers grown by "
                "realloc, %u long-lived objects, buffers past %u; "
                "seed %llu, ops %lu",
                g->g->name, nlong, thr, (unsigned long long)g->seed, g->ops);
    hx_gen_note(g, " warmup: long-lived objects (modules, classes, "
                   "functions) and the first containers");
    for (unsigned k = 0; k < nlong; k++)
        hx_gen_malloc(g, k % 10 == 9 ? hx_gen_range(g, thr + 1, 16384)
                                     : hx_gen_range(g, 32, thr));
    for (int k = 0; k < 32; k++)
        new_box(&p);
    hx_gen_note(g, " steady: temporaries, containers growing, survivors");
    while (hx_gen_more(g) && g->t->nops + g->nlive < g->ops)
        py_step(&p);
    hx_gen_note(g, " teardown: temporaries newest first, then containers");
    while (p.young.n > 0 && g->err == 0)
        hx_gen_free(g, vec_take(&p.young, p.young.n - 1));
    for (int kind = 0; kind < 2; kind++) {
        while (p.box[kind].n > 0 && g->err == 0)
            hx_gen_free(g, vec_take(&p.box[kind], p.box[kind].n - 1));
        free(p.box[kind].v);
    }
    free(p.young.v);
    free(p.mid.v);
    return hx_gen_end(g);
}

/* Run a small mix (sizes 1..threshold, about 300 live) for at least n
 * steps, and on until the trace has `until` operations. */
static void
small_mix(struct hx_gen *g, unsigned long n, unsigned long until)
{
    for (unsigned long k = 0; (k < n || g->t->nops < until) && g->err == 0;
         k++) {
        if (g->nlive >= 300 || (g->nlive > 0 && hx_gen_below(g, 2) == 0))
            hx_gen_free_random(g);
        else
            hx_gen_malloc(g, hx_gen_range(g, 1, g->g->threshold));
    }
}

/* Allocate npools pools' worth of class c, a mix step every pool. */
static void
ramp(struct hx_gen *g, unsigned c, size_t npools)
{
    size_t nb = obm_numblocks(g->g, c);
    for (size_t k = 0; k < npools * nb && g->err == 0; k++) {
        hx_gen_malloc(g, hx_gen_in_class(g, c));
        if (k % nb == 0)
            hx_gen_free(g, hx_gen_malloc(g, hx_gen_range(g, 1, 64)));
    }
}

/* The raw-fault phase: counted raw faults, then everything failing. */
static void
raw_faults(struct hx_gen *g)
{
    unsigned thr = g->g->threshold, c = g->g->nclasses - 3;
    hx_gen_note(g, " fault raw 3: the next three raw requests fail (big "
                   "blocks, a realloc over the threshold), then they work");
    hx_gen_fault(g, HX_FAULT_RAW, 0, 3);
    hx_gen_malloc(g, thr + 1 + hx_gen_below(g, thr));
    hx_gen_calloc(g, 2, thr);
    hx_gen_realloc(g, hx_gen_malloc(g, hx_gen_range(g, 1, thr)), 4 * thr);
    hx_gen_malloc(g, 3 * thr);
    hx_gen_malloc(g, 0);
    hx_gen_note(g, " fault raw always, fault arenas always: a new pool, a "
                   "big block or a realloc over the threshold gets NULL");
    hx_gen_fault(g, HX_FAULT_RAW, HX_F_ALWAYS, 0);
    hx_gen_fault(g, HX_FAULT_ARENAS, HX_F_ALWAYS, 0);
    hx_gen_malloc(g, thr + 1);
    hx_gen_calloc(g, 4, thr);
    hx_gen_realloc(g, hx_gen_pick(g), 2 * thr);
    ramp(g, c, 2);
    hx_gen_note(g, " fault raw off, fault arenas off");
    hx_gen_fault(g, HX_FAULT_RAW, HX_F_OFF, 0);
    hx_gen_fault(g, HX_FAULT_ARENAS, HX_F_OFF, 0);
}

/* Append faults: a mix, counted and persistent arena faults while
 * pools run out, raw faults, recovery. */
int
hx_gen_faults(struct hx_trace *t, const struct hx_gen_options *o)
{
    struct hx_gen g;
    if (hx_gen_begin(&g, t, o, "faults", 40000) != 0)
        return -1;
    size_t m = g.g->max_pools_in_arena;
    unsigned c = g.g->nclasses - 1;
    unsigned long mixn = g.ops / 5 < 500 ? 500 : g.ops / 5;
    hx_gen_note(&g,
                " gen faults: arena and raw faults in %s in a mix that needs "
                "new arenas: counted, always, off; seed %llu, ops %lu",
                g.g->name, (unsigned long long)g.seed, g.ops);
    hx_gen_note(&g, " mix of small blocks, then all freed: at most the "
                    "tail arena is left");
    small_mix(&g, mixn, 0);
    while (g.nlive > 0 && g.err == 0)
        hx_gen_free_random(&g);
    hx_gen_note(&g,
                " fault arenas 2, then %zu pools of class %u: the next two "
                "arena requests fail, their blocks go raw",
                2 * m, c);
    hx_gen_fault(&g, HX_FAULT_ARENAS, 0, 2);
    ramp(&g, c, 2 * m);
    hx_gen_note(&g,
                " fault arenas always, then %zu pools of class %u: once the "
                "free pools run out every block goes raw",
                m + m / 2, c - 1);
    hx_gen_fault(&g, HX_FAULT_ARENAS, HX_F_ALWAYS, 0);
    ramp(&g, c - 1, m + m / 2);
    hx_gen_note(&g, " fault arenas off: %zu pools more, on new arenas", m / 2);
    hx_gen_fault(&g, HX_FAULT_ARENAS, HX_F_OFF, 0);
    ramp(&g, c - 1, m / 2);
    raw_faults(&g);
    hx_gen_note(&g, " recover: the mix again, freeing as it goes");
    small_mix(&g, 500, g.ops > g.nlive ? g.ops - g.nlive : 0);
    return hx_gen_end(&g);
}

/* Append random: malloc, calloc, realloc and free with equal odds. */
int
hx_gen_random(struct hx_trace *t, const struct hx_gen_options *o)
{
    struct hx_gen g;
    if (hx_gen_begin(&g, t, o, "random", 20000) != 0)
        return -1;
    uint64_t most = 2 * (uint64_t)g.g->threshold;
    size_t cap = g.ops / 16 < 16 ? 16 : g.ops / 16 > 1024 ? 1024 : g.ops / 16;
    hx_gen_note(&g,
                " gen random: malloc, calloc, realloc and free alike, sizes "
                "0..%llu in %s, at most %zu live; seed %llu, ops %lu",
                (unsigned long long)most, g.g->name, cap,
                (unsigned long long)g.seed, g.ops);
    while (hx_gen_more(&g)) {
        uint64_t r = hx_gen_below(&g, 4);
        if (g.nlive == 0)
            r &= 1;
        if (g.nlive >= cap)
            r = 3;
        uint64_t size = hx_gen_below(&g, most + 1);
        if (r == 0)
            hx_gen_malloc(&g, size);
        else if (r == 1)
            calloc_of(&g, size);
        else if (r == 2)
            hx_gen_realloc(&g, hx_gen_pick(&g), size);
        else
            hx_gen_free_random(&g);
    }
    return hx_gen_end(&g);
}
