/* testutil.h — shared helpers for the obm unit tests (Check suites).
 *
 * A test heap ("struct th") draws its arenas from a deterministic region, so
 * arena addresses are reproducible; the helpers read the heap only through
 * obm_heap_state(), the way the invariant checker does.  Everything here is
 * static inline so that each test program takes only what it uses.
 */
#ifndef OBM_TESTUTIL_H
#define OBM_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obm.h"
#include "tu_run.h"

/* Assertions for hot loops: unlike ck_assert, a passing check costs
 * nothing (Check records the location of every passing ck_assert). */
#define TU_CHECK(expr)                                                        \
    do {                                                                      \
        if (!(expr))                                                          \
            ck_abort_msg("Assertion '%s' failed", #expr);                     \
    } while (0)
#define TU_CHECK_MSG(expr, ...)                                               \
    do {                                                                      \
        if (!(expr))                                                          \
            ck_abort_msg(__VA_ARGS__);                                        \
    } while (0)

/* Every profile's name, in enum order. */
static const char *const tu_profile_names[OBM_NPROFILES] = {
    "py27", "py35", "py38", "py39", "py310", "py311"};

/* A heap on a deterministic region, with its state pointers. */
struct th {
    struct obm_region *region;
    struct obm_arena_source src;
    obm_heap *heap;
    const struct obm_geometry *g;
    struct obm_state s;
};

/* Open a heap of profile p on a fresh region built from cfg. */
static inline void
th_open_cfg(struct th *t, enum obm_profile p,
            const struct obm_region_config *cfg)
{
    memset(t, 0, sizeof *t);
    t->region = obm_region_new(cfg);
    ck_assert_msg(t->region != NULL, "obm_region_new failed");
    t->src = obm_region_source(t->region);
    t->heap = obm_heap_new(p, &t->src);
    ck_assert_msg(t->heap != NULL, "obm_heap_new(%s) failed",
                  tu_profile_names[p]);
    t->g = obm_heap_geometry(t->heap);
    ck_assert_ptr_nonnull(t->g);
    obm_heap_state(t->heap, &t->s);
}

/* Open a heap of profile p on a default region (1 MiB slots, offset 0). */
static inline void
th_open(struct th *t, enum obm_profile p)
{
    struct obm_region_config cfg = {0};
    th_open_cfg(t, p, &cfg);
}

/* Open a heap whose arenas start offset bytes past a 1 MiB boundary. */
static inline void
th_open_offset(struct th *t, enum obm_profile p, size_t offset)
{
    struct obm_region_config cfg = {0};
    cfg.offset = offset;
    th_open_cfg(t, p, &cfg);
}

/* Free the heap, then its region. */
static inline void
th_close(struct th *t)
{
    obm_heap_free(t->heap);
    obm_region_free(t->region);
    t->heap = NULL;
    t->region = NULL;
}

/* --- Arenas -------------------------------------------------------------- */

static inline struct obm_arena *
arena_at(const struct th *t, unsigned i)
{
    TU_CHECK_MSG(i < *t->s.maxarenas, "arena %u beyond maxarenas %u", i,
                 *t->s.maxarenas);
    return &(*t->s.arenas)[i];
}

static inline unsigned
arena_idx(const struct th *t, const struct obm_arena *a)
{
    return (unsigned)(a - *t->s.arenas);
}

static inline size_t
narenas(const struct th *t)
{
    return *t->s.narenas_currently_allocated;
}

static inline ptrdiff_t
raw_live(const struct th *t)
{
    ck_assert_msg(t->s.raw_allocated_blocks != NULL,
                  "obm_state.raw_allocated_blocks is NULL");
    return *t->s.raw_allocated_blocks;
}

/* Return the first pool-aligned address at or after a's base. */
static inline uintptr_t
arena_first_pool(const struct th *t, const struct obm_arena *a)
{
    uintptr_t ps = t->g->pool_size;
    return (a->address + ps - 1) & ~(ps - 1);
}

/* Write "idx:nfreepools idx:nfreepools ..." for usable_arenas into buf;
 * a cycle or an over-long list shows as a trailing "!". */
static inline const char *
usable_str(const struct th *t, char *buf, size_t len)
{
    size_t used = 0, bound = *t->s.maxarenas + 1;
    buf[0] = '\0';
    for (const struct obm_arena *a = *t->s.usable_arenas; a;
         a = a->nextarena) {
        if (bound-- == 0) {
            snprintf(buf + used, len - used, "!");
            break;
        }
        int k = snprintf(buf + used, len - used, "%s%u:%u", used ? " " : "",
                         arena_idx(t, a), a->nfreepools);
        if (k < 0 || (size_t)k >= len - used)
            break;
        used += (size_t)k;
    }
    return buf;
}

/* Check usable_arenas' back links and, for nfp2lasta profiles, that every
 * nfp2lasta[k] is the right-most arena with k free pools (facts §3.6). */
static inline void
check_usable_links(const struct th *t)
{
    const struct obm_arena *prev = NULL, *last[OBM_MAX_POOLS_IN_ARENA + 1];
    memset(last, 0, sizeof last);
    size_t bound = *t->s.maxarenas + 1;
    for (const struct obm_arena *a = *t->s.usable_arenas; a;
         a = a->nextarena) {
        TU_CHECK_MSG(bound-- > 0, "usable_arenas is cyclic");
        TU_CHECK(a->prevarena == prev);
        TU_CHECK(a->nfreepools <= OBM_MAX_POOLS_IN_ARENA);
        last[a->nfreepools] = a;
        prev = a;
    }
    if (t->g->sort != OBM_SORT_NFP2LASTA) {
        ck_assert_ptr_null(t->s.nfp2lasta);
        return;
    }
    ck_assert_ptr_nonnull(t->s.nfp2lasta);
    for (unsigned k = 0; k <= OBM_MAX_POOLS_IN_ARENA; k++)
        TU_CHECK_MSG(t->s.nfp2lasta[k] == last[k],
                     "nfp2lasta[%u] = arena %d, expected arena %d", k,
                     t->s.nfp2lasta[k] ? (int)arena_idx(t, t->s.nfp2lasta[k])
                                       : -1,
                     last[k] ? (int)arena_idx(t, last[k]) : -1);
}

/* Return the length of unused_arena_objects after checking every member
 * has address 0 (bounded walk). */
static inline size_t
unused_len(const struct th *t)
{
    size_t n = 0, bound = *t->s.maxarenas;
    for (const struct obm_arena *a = *t->s.unused_arena_objects; a;
         a = a->nextarena) {
        TU_CHECK_MSG(n < bound, "unused_arena_objects longer than maxarenas");
        TU_CHECK_MSG(a->address == 0, "unused arena %u has an address",
                     arena_idx(t, a));
        n++;
    }
    return n;
}

/* Check the arena counters against the vector and the region (C1, A3). */
static inline void
check_arena_accounting(const struct th *t)
{
    size_t live = 0;
    for (unsigned i = 0; i < *t->s.maxarenas; i++)
        live += (*t->s.arenas)[i].address != 0;
    ck_assert_uint_eq(narenas(t), live);
    ck_assert_uint_eq(unused_len(t), *t->s.maxarenas - live);
    if (t->region)
        ck_assert_uint_eq(obm_region_live(t->region), live);
}

/* --- Pools --------------------------------------------------------------- */

static inline struct obm_pool *
pool_of(const struct th *t, const void *p)
{
    return (struct obm_pool *)((uintptr_t)p
                               & ~(uintptr_t)(t->g->pool_size - 1));
}

static inline const struct obm_pool *
sentinel(const struct th *t, unsigned szidx)
{
    return obm_ring_sentinel(&t->s, szidx);
}

/* Return the position of pool in ring szidx (0 = first), or -1; the ring's
 * back links are checked on the way. */
static inline int
ring_pos(const struct th *t, unsigned szidx, const struct obm_pool *pool)
{
    const struct obm_pool *h = sentinel(t, szidx), *x = h->nextpool;
    int pos = 0, found = -1;
    for (size_t bound = 100000; x != h; x = x->nextpool, pos++) {
        TU_CHECK_MSG(bound-- > 0, "ring %u does not return", szidx);
        TU_CHECK(x->nextpool->prevpool == x);
        if (x == pool)
            found = pos;
    }
    return found;
}

static inline int
ring_len(const struct th *t, unsigned szidx)
{
    const struct obm_pool *h = sentinel(t, szidx), *x = h->nextpool;
    int n = 0;
    for (; x != h; x = x->nextpool)
        TU_CHECK_MSG(++n < 100000, "ring %u does not return", szidx);
    return n;
}

/* Return the position of pool in its arena's freepools (0 = head), or -1. */
static inline int
freepools_pos(const struct obm_arena *a, const struct obm_pool *pool)
{
    int pos = 0;
    for (const struct obm_pool *q = a->freepools; q; q = q->nextpool, pos++) {
        TU_CHECK_MSG(pos <= (int)OBM_MAX_POOLS_IN_ARENA, "freepools cyclic");
        if (q == pool)
            return pos;
    }
    return -1;
}

/* Run body with q bound to every carved pool of every allocated arena. */
#define FOR_EACH_CARVED_POOL(t, q, body)                                      \
    for (unsigned ai_ = 0; ai_ < *(t)->s.maxarenas; ai_++) {                  \
        const struct obm_arena *a_ = &(*(t)->s.arenas)[ai_];                  \
        if (a_->address == 0)                                                 \
            continue;                                                         \
        for (uintptr_t u_ = arena_first_pool((t), a_);                        \
             u_ < (uintptr_t)a_->pool_address; u_ += (t)->g->pool_size) {     \
            const struct obm_pool *q = (const struct obm_pool *)u_;           \
            body                                                              \
        }                                                                     \
    }

/* Return the sum of count over every carved pool. */
static inline size_t
sum_counts(const struct th *t)
{
    size_t sum = 0;
    FOR_EACH_CARVED_POOL(t, q, { sum += q->ref.count; })
    return sum;
}

/* --- Radix tree ---------------------------------------------------------- */

/* Return the leaf entry covering address a, or NULL if a node is missing. */
static inline const struct obm_arena_coverage *
leaf_of(const struct th *t, uintptr_t a)
{
    const struct obm_geometry *g = t->g;
    unsigned ab = g->arena_bits, bb = g->radix_bot_bits;
    unsigned mb = g->radix_mid_bits, tb = g->radix_top_bits;
    uintptr_t ti = (a >> (ab + bb + mb)) & (((uintptr_t)1 << tb) - 1);
    uintptr_t mi = (a >> (ab + bb)) & (((uintptr_t)1 << mb) - 1);
    uintptr_t bi = (a >> ab) & (((uintptr_t)1 << bb) - 1);
    void *const *root = t->s.radix_root;
    ck_assert_ptr_nonnull(root);
    void *const *mid = root[ti];
    if (mid == NULL)
        return NULL;
    const struct obm_arena_coverage *bot = mid[mi];
    return bot ? &bot[bi] : NULL;
}

/* --- Bulk allocation: whole pools of the largest class ------------------ */

/* Blocks of the largest class, indexed by (arena, pool, block) in the
 * order they were handed out. */
struct fill {
    void **blk;
    unsigned nb;      /* blocks per pool */
    unsigned npools;  /* pools per arena in this fill */
    unsigned narenas; /* arenas filled */
};

static inline void **
fill_slot(struct fill *f, unsigned a, unsigned p, unsigned b)
{
    return &f->blk[((size_t)a * f->npools + p) * f->nb + b];
}

/* Fill narenas fresh arenas of npools pools each with threshold-sized
 * blocks, checking that each lands in arena a, pool p, block b. */
static inline void
fill_arenas(struct th *t, struct fill *f, unsigned nar, unsigned npools)
{
    unsigned cls = t->g->nclasses - 1;
    f->nb = obm_numblocks(t->g, cls);
    f->npools = npools;
    f->narenas = nar;
    f->blk = calloc((size_t)nar * npools * f->nb, sizeof(void *));
    ck_assert_ptr_nonnull(f->blk);
    for (unsigned a = 0; a < nar; a++)
        for (unsigned p = 0; p < npools; p++)
            for (unsigned b = 0; b < f->nb; b++) {
                void *x = obm_malloc(t->heap, t->g->threshold);
                TU_CHECK(x != NULL);
                struct obm_pool *pool = pool_of(t, x);
                const struct obm_arena *ar = arena_at(t, a);
                TU_CHECK_MSG(
                    pool->arenaindex == a && pool->szidx == cls
                        && (uintptr_t)pool
                               == arena_first_pool(t, ar)
                                      + (uintptr_t)p * t->g->pool_size,
                    "block %u of pool %u of arena %u: in pool %p "
                    "(arena %u, class %u)",
                    b, p, a, (void *)pool, pool->arenaindex, pool->szidx);
                *fill_slot(f, a, p, b) = x;
            }
}

/* Free every block of pool p of arena a (the pool becomes empty). */
static inline void
free_pool(struct th *t, struct fill *f, unsigned a, unsigned p)
{
    for (unsigned b = 0; b < f->nb; b++) {
        void **slot = fill_slot(f, a, p, b);
        TU_CHECK(*slot != NULL);
        obm_free(t->heap, *slot);
        *slot = NULL;
    }
}

/* Free every block still held, arena by arena, then the index. */
static inline void
fill_release(struct th *t, struct fill *f)
{
    size_t n = (size_t)f->narenas * f->npools * f->nb;
    for (size_t i = 0; i < n; i++)
        if (f->blk[i]) {
            obm_free(t->heap, f->blk[i]);
            f->blk[i] = NULL;
        }
    free(f->blk);
    f->blk = NULL;
}

#endif /* OBM_TESTUTIL_H */
