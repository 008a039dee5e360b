/* obm_heap.c — a heap's birth and death, ownership, and introspection. */
#include "obm_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Noreturn void
obm_assert_fail(const char *file, int line, const char *what)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "obm: %s:%d: self-check failed: %s\n",
                     file, line, what);
    if (n > 0)
        (void)!write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf);
    abort();
}

// the first sentinel starts two pointers before usedpools[0]: keep it inside
_Static_assert(offsetof(struct obm_heap, usedpools)
                   >= 2 * sizeof(struct obm_pool *),
               "usedpools needs two words before it for its first sentinel");

/* Return whether g is the geometry the constant fast path assumes. */
static bool
py311_geometry(const struct obm_geometry *g)
{
    return g->ownership == OBM_OWN_RADIX && g->radix_ignore_bits == 0
           && g->arena_bits == PY311_ARENA_BITS
           && g->radix_bot_bits == PY311_BOT_BITS
           && g->radix_mid_bits == PY311_MID_BITS
           && g->radix_top_bits == PY311_TOP_BITS
           && g->pool_bits == PY311_POOL_BITS;
}

static void
init_geometry(obm_heap *h, const struct obm_geometry *g)
{
    h->g = g;
    h->alignment_shift = g->alignment_shift;
    h->threshold = g->threshold;
    h->pool_mask = ~(uintptr_t)(g->pool_size - 1);
    h->arena_bits = g->arena_bits;
    h->arena_size = g->arena_size;
    h->fastpath = g->ownership == OBM_OWN_LEGACY ? OBM_FAST_LEGACY
                  : py311_geometry(g)            ? OBM_FAST_RADIX_PY311
                                                 : OBM_FAST_RADIX;
    if (g->ownership == OBM_OWN_RADIX) {
        h->radix_mid_shift = g->arena_bits + g->radix_bot_bits;
        h->radix_top_shift = h->radix_mid_shift + g->radix_mid_bits;
        h->radix_top_mask = ((uintptr_t)1 << g->radix_top_bits) - 1;
        h->radix_mid_mask = ((uintptr_t)1 << g->radix_mid_bits) - 1;
        h->radix_bot_mask = ((uintptr_t)1 << g->radix_bot_bits) - 1;
    }
    // every ring starts empty: both slots of a pair point at its sentinel
    for (unsigned i = 0; i < g->usedpools_len / 2; i++) {
        struct obm_pool *sentinel = ring_sentinel(h, i);
        h->usedpools[2 * i] = h->usedpools[2 * i + 1] = sentinel;
    }
}

obm_heap *
obm_heap_new_ex(const struct obm_heap_config *cfg)
{
    const struct obm_geometry *g = obm_geometry(cfg->profile);
    if (g == NULL)
        return NULL;
    struct obm_raw_allocator raw = cfg->raw ? *cfg->raw : obm_raw_libc();
    obm_heap *h = raw.calloc(raw.ctx, 1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->raw = raw;
    h->source = cfg->arenas ? *cfg->arenas : obm_source_mmap();
    init_geometry(h, g);
    if (g->ownership == OBM_OWN_RADIX) {
        // CPython keeps the root in BSS; calloc gives the same lazily
        // touched zero pages
        size_t nroot = (size_t)1 << g->radix_top_bits;
        h->radix_root = raw.calloc(raw.ctx, nroot, sizeof(void *));
        if (h->radix_root == NULL) {
            raw.free(raw.ctx, h);
            return NULL;
        }
    }
    return h;
}

obm_heap *
obm_heap_new(enum obm_profile profile, const struct obm_arena_source *src)
{
    struct obm_heap_config cfg = {profile, src, NULL};
    return obm_heap_new_ex(&cfg);
}

void
obm_heap_free(obm_heap *h)
{
    if (h == NULL)
        return;
    obm_release_all_arenas(h);
    if (h->radix_root != NULL) {
        obm_radix_free(h);
        h->raw.free(h->raw.ctx, h->radix_root);
    }
    h->raw.free(h->raw.ctx, h->arenas);
    h->raw.free(h->raw.ctx, h);
}

int
obm_debug_level(void)
{
    return OBM_DEBUG;
}

const struct obm_geometry *
obm_heap_geometry(const obm_heap *h)
{
    return h->g;
}

/* The legacy test (facts §4.10): read arenaindex once from the would-be
 * pool header; the three clauses reject foreign memory whatever it holds. */
#if defined(__clang__)
__attribute__((no_sanitize("address", "memory", "thread")))
#elif defined(__GNUC__)
__attribute__((no_sanitize_address))
#endif
bool
obm_legacy_owns(const obm_heap *h, const void *p)
{
    const struct obm_pool *pool = pool_of(h, p);
    unsigned arenaindex = *(const volatile unsigned *)&pool->arenaindex;
    if (arenaindex >= h->maxarenas)
        return false;
    uintptr_t address = h->arenas[arenaindex].address;
    return (uintptr_t)p - address < h->arena_size && address != 0;
}

bool
obm_owns(const obm_heap *h, const void *p)
{
    return heap_owns(h, p);
}

size_t
obm_usable_size(const obm_heap *h, const void *p)
{
    if (p == NULL || !heap_owns(h, p))
        return 0;
    return obm_blocksize(h->g, pool_of(h, p)->szidx);
}

void
obm_heap_state(const obm_heap *h, struct obm_state *out)
{
    bool radix = h->g->ownership == OBM_OWN_RADIX;
    *out = (struct obm_state){
        .geometry = h->g,
        .usedpools = h->usedpools,
        .arenas = &h->arenas,
        .maxarenas = &h->maxarenas,
        .unused_arena_objects = &h->unused_arena_objects,
        .usable_arenas = &h->usable_arenas,
        .nfp2lasta = h->g->sort == OBM_SORT_NFP2LASTA ? h->nfp2lasta : NULL,
        .narenas_currently_allocated = &h->narenas_currently_allocated,
        .ntimes_arena_allocated = &h->ntimes_arena_allocated,
        .narenas_highwater = &h->narenas_highwater,
        .raw_allocated_blocks = &h->raw_allocated_blocks,
        .radix_root = radix ? h->radix_root : NULL,
        .arena_map_mid_count = radix ? &h->arena_map_mid_count : NULL,
        .arena_map_bot_count = radix ? &h->arena_map_bot_count : NULL,
    };
}

const struct obm_pool *
obm_ring_sentinel(const struct obm_state *s, unsigned szidx)
{
    return (const struct obm_pool *)((const uint8_t *)&s->usedpools[2 * szidx]
                                     - 2 * sizeof(struct obm_pool *));
}

size_t
obm_allocated_blocks(const obm_heap *h)
{
    size_t n = (size_t)h->raw_allocated_blocks;
    for (unsigned i = 0; i < h->maxarenas; i++) {
        const struct obm_arena *a = &h->arenas[i];
        if (a->address == 0)
            continue;
        uintptr_t first = (a->address + h->g->pool_size - 1) & h->pool_mask;
        for (uintptr_t q = first; q < (uintptr_t)a->pool_address;
             q += h->g->pool_size)
            n += ((const struct obm_pool *)q)->ref.count;
    }
    return n;
}
