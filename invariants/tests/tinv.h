/* tinv.h — shared helpers for the checker's tests: a reproducible test
 * heap with a known shape, an undo log for corruptions, and the set of IDs
 * a check fired.  Everything is static inline. */
#ifndef TINV_H
#define TINV_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv.h"

#define TB_UNDO 16
#define TB_SCRATCH ((size_t)1 << 24)

struct tb_undo {
    void *addr;
    size_t len;
    uint8_t saved[16];
};

/* A heap on a deterministic region, its view and live set. */
struct tb {
    struct obm_region *region;
    struct obm_arena_source src;
    obm_heap *heap;
    const struct obm_geometry *g;
    struct obm_state s;
    struct inv_view v;
    struct inv_scratch sc;
    const void **live;
    size_t nlive, cap;
    void *raw[2];
    /* landmarks of the built heap */
    struct obm_pool *full_pool, *used_pool, *empty_pool, *small_pool;
    const void *touched;
    struct tb_undo undo[TB_UNDO];
    size_t nundo;
};

static inline void
tb_live_add(struct tb *t, const void *p)
{
    if (t->nlive == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->live = realloc(t->live, t->cap * sizeof *t->live);
        ck_assert_ptr_nonnull(t->live);
    }
    t->live[t->nlive++] = p;
}

/* Remove live entry k (order is not kept). */
static inline void
tb_live_del(struct tb *t, size_t k)
{
    t->live[k] = t->live[--t->nlive];
}

static inline void
tb_sync_view(struct tb *t)
{
    t->v.live = t->live;
    t->v.nlive = t->nlive;
}

/* Open an empty heap of profile p on a fresh region. */
static inline void
tb_open(struct tb *t, enum obm_profile p, size_t offset)
{
    memset(t, 0, sizeof *t);
    struct obm_region_config cfg = {0};
    cfg.offset = offset;
    t->region = obm_region_new(&cfg);
    ck_assert_ptr_nonnull(t->region);
    t->src = obm_region_source(t->region);
    t->heap = obm_heap_new(p, &t->src);
    ck_assert_ptr_nonnull(t->heap);
    t->g = obm_heap_geometry(t->heap);
    obm_heap_state(t->heap, &t->s);
    inv_view_from_heap(&t->v, t->heap);
    t->sc.size = TB_SCRATCH;
    t->sc.mem = malloc(t->sc.size);
    ck_assert_ptr_nonnull(t->sc.mem);
    t->v.scratch = &t->sc;
    t->v.nraw = 0;
    tb_sync_view(t);
}

static inline struct obm_arena *
tb_arena(const struct tb *t, unsigned i)
{
    return &(*t->s.arenas)[i];
}

static inline struct obm_pool *
tb_pool_of(const struct tb *t, const void *p)
{
    return (struct obm_pool *)((uintptr_t)p
                               & ~(uintptr_t)(t->g->pool_size - 1));
}

/* Free the live block at index k and forget it. */
static inline void
tb_free_at(struct tb *t, size_t k)
{
    obm_free(t->heap, (void *)t->live[k]);
    tb_live_del(t, k);
}

/* Free every live block inside pool q. */
static inline void
tb_free_pool(struct tb *t, const struct obm_pool *q, size_t keep)
{
    size_t n = 0;
    for (size_t k = t->nlive; k-- > 0;)
        if (tb_pool_of(t, t->live[k]) == q && n++ >= keep)
            tb_free_at(t, k);
}

/* Build the standard heap: three arenas of the largest class with empty,
 * used and full pools, then used pools of classes 0 and 3, 2 raw blocks.
 * usable_arenas ends sorted 0 (3 free pools), 2 (ntotalpools - 3). */
static inline void
tb_build(struct tb *t, enum obm_profile p, size_t offset)
{
    tb_open(t, p, offset);
    const struct obm_geometry *g = t->g;
    unsigned nb = obm_numblocks(g, g->nclasses - 1);
    void *first = obm_malloc(t->heap, g->threshold);
    tb_live_add(t, first);
    unsigned ntot = tb_arena(t, 0)->ntotalpools;
    for (size_t k = 1; k < (size_t)(2 * ntot + 3) * nb; k++)
        tb_live_add(t, obm_malloc(t->heap, g->threshold));
    uintptr_t a0 = (uintptr_t)tb_pool_of(t, first);
    uintptr_t a1 = tb_arena(t, 1)->address + g->pool_size - 1;
    a1 &= ~(uintptr_t)(g->pool_size - 1);
    uintptr_t ps = g->pool_size;
    for (unsigned j = 1; j <= 3; j++)
        tb_free_pool(t, (struct obm_pool *)(a0 + j * ps), 0);
    tb_free_pool(t, (struct obm_pool *)(a0 + 5 * ps), nb - 1);
    tb_free_pool(t, (struct obm_pool *)a1, 0);
    tb_free_pool(t, (struct obm_pool *)(a1 + ps), 0);
    tb_free_pool(t, (struct obm_pool *)(a1 + 4 * ps), nb - 2);
    t->full_pool = (struct obm_pool *)a0;
    t->used_pool = (struct obm_pool *)(a0 + 5 * ps);
    t->empty_pool = (struct obm_pool *)(a0 + 3 * ps);
    size_t mark = t->nlive;
    for (int k = 0; k < 60; k++)
        tb_live_add(t, obm_malloc(t->heap, 1));
    for (int k = 0; k < 30; k++)
        tb_live_add(t, obm_malloc(t->heap, 4 * g->alignment));
    t->small_pool = tb_pool_of(t, t->live[mark]);
    for (size_t k = t->nlive - 1; k > mark; k -= 2)
        tb_free_at(t, k);
    t->raw[0] = obm_malloc(t->heap, 1000);
    t->raw[1] = obm_malloc(t->heap, 1000);
    t->v.nraw = 2;
    tb_sync_view(t);
}

/* Overwrite len bytes at addr with val, keeping the old bytes. */
static inline void
tb_poke(struct tb *t, void *addr, const void *val, size_t len)
{
    ck_assert_uint_lt(t->nundo, TB_UNDO);
    ck_assert_uint_le(len, 16);
    struct tb_undo *u = &t->undo[t->nundo++];
    u->addr = addr;
    u->len = len;
    memcpy(u->saved, addr, len);
    memcpy(addr, val, len);
}

#define TB_POKE(t, lvalue, value)                                             \
    do {                                                                      \
        __typeof__(lvalue) v_ = (value);                                      \
        tb_poke((t), (void *)&(lvalue), &v_, sizeof v_);                      \
    } while (0)

/* Undo every poke, last first. */
static inline void
tb_restore(struct tb *t)
{
    while (t->nundo > 0) {
        struct tb_undo *u = &t->undo[--t->nundo];
        memcpy(u->addr, u->saved, u->len);
    }
}

static inline void
tb_close(struct tb *t)
{
    tb_restore(t);
    obm_free(t->heap, t->raw[0]);
    obm_free(t->heap, t->raw[1]);
    obm_heap_free(t->heap);
    obm_region_free(t->region);
    free(t->live);
    free(t->sc.mem);
    memset(t, 0, sizeof *t);
}

/* --- IDs a check fired -----------------------------------------------------
 */

struct idset {
    char ids[64][8];
    size_t n;
    size_t total;
};

static inline void
idset_add(void *ctx, const struct inv_violation *viol)
{
    struct idset *s = ctx;
    s->total++;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], viol->id) == 0)
            return;
    if (s->n < 64)
        snprintf(s->ids[s->n++], sizeof s->ids[0], "%s", viol->id);
}

static inline bool
idset_has(const struct idset *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return true;
    return false;
}

static inline const char *
idset_str(const struct idset *s, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < s->n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " " : "",
                                 s->ids[i]);
    return buf;
}

/* Run one check and collect the IDs it fired. */
static inline size_t
tb_check(struct tb *t, enum inv_level level, const void *touched,
         struct idset *s, struct inv_report *r)
{
    memset(s, 0, sizeof *s);
    r->on_violation = idset_add;
    r->ctx = s;
    tb_sync_view(t);
    return inv_check(&t->v, level, touched, 1, r);
}

#endif /* TINV_H */
