/* t_pools.c — pool states and their transitions (facts §3.2, §4.2, §4.3,
 * §4.5): fresh pool, used, full, back to used at the ring's front, empty on
 * its arena's freepools, re-use for the same or another size class.
 */
#include "testutil.h"

/* The size class whose blocks are 64 bytes (a middle class everywhere). */
static unsigned
class64(const struct th *t)
{
    return 63u >> t->g->alignment_shift;
}

/* facts §4.3 steps 5 and 7: a fresh class takes a fresh pool that becomes
 * the only ring member; only the first two blocks are set up. */
START_TEST(t_pools_fresh_pool)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    unsigned i = class64(&t), bs = obm_blocksize(t.g, i);
    void *p = obm_malloc(t.heap, bs);
    ck_assert_ptr_nonnull(p);
    const struct obm_arena *a = arena_at(&t, 0);
    struct obm_pool *pool = pool_of(&t, p);
    ck_assert_uint_eq((uintptr_t)pool, arena_first_pool(&t, a));
    ck_assert_ptr_eq(p, (uint8_t *)pool + t.g->pool_overhead);
    ck_assert_uint_eq(pool->ref.count, 1);
    ck_assert_uint_eq(pool->szidx, i);
    ck_assert_uint_eq(pool->arenaindex, 0);
    ck_assert_uint_eq(pool->nextoffset, t.g->pool_overhead + 2 * bs);
    ck_assert_uint_eq(pool->maxnextoffset, t.g->pool_size - bs);
    ck_assert_ptr_eq(pool->freeblock, (uint8_t *)p + bs);
    ck_assert_ptr_null(*(void **)pool->freeblock);
    /* the only ring member */
    const struct obm_pool *h = sentinel(&t, i);
    ck_assert_ptr_eq(t.s.usedpools[2 * i], pool);
    ck_assert_ptr_eq(t.s.usedpools[2 * i + 1], pool);
    ck_assert_ptr_eq(pool->nextpool, h);
    ck_assert_ptr_eq(pool->prevpool, h);
    /* the arena gave up one pool by carving */
    ck_assert_uint_eq(a->nfreepools, 63);
    ck_assert_uint_eq(a->ntotalpools, 64);
    ck_assert_ptr_eq(a->pool_address, (uint8_t *)pool + t.g->pool_size);
    ck_assert_ptr_null(a->freepools);
    ck_assert_ptr_eq(*t.s.usable_arenas, a);
    check_usable_links(&t);
    obm_free(t.heap, p);
    th_close(&t);
}
END_TEST

/* facts §4.2 step 4: virgin blocks are carved in address order until the
 * pool is full; a full pool leaves its ring with freeblock NULL. */
START_TEST(t_pools_fill_to_full)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    unsigned i = class64(&t), bs = obm_blocksize(t.g, i);
    unsigned nb = obm_numblocks(t.g, i);
    void **held = calloc(nb, sizeof(void *));
    ck_assert_ptr_nonnull(held);
    struct obm_pool *pool = NULL;
    for (unsigned k = 0; k < nb; k++) {
        held[k] = obm_malloc(t.heap, bs - 1);
        if (k == 0)
            pool = pool_of(&t, held[0]);
        ck_assert_ptr_eq(held[k],
                         (uint8_t *)pool + t.g->pool_overhead + k * bs);
        ck_assert_uint_eq(pool->ref.count, k + 1);
        if (k + 1 < nb) {
            ck_assert_int_eq(ring_pos(&t, i, pool), 0);
            ck_assert_ptr_nonnull(pool->freeblock);
        }
    }
    ck_assert_ptr_null(pool->freeblock);
    ck_assert_int_eq(ring_pos(&t, i, pool), -1);
    ck_assert_int_eq(ring_len(&t, i), 0);
    ck_assert_ptr_eq(t.s.usedpools[2 * i], sentinel(&t, i));
    ck_assert_uint_gt(pool->nextoffset, pool->maxnextoffset);
    ck_assert_uint_eq(pool->ref.count, nb);
    /* the next block of the class comes from a second, fresh pool */
    void *q = obm_malloc(t.heap, bs);
    struct obm_pool *pool2 = pool_of(&t, q);
    ck_assert_ptr_eq(pool2, (uint8_t *)pool + t.g->pool_size);
    ck_assert_ptr_eq(t.s.usedpools[2 * i], pool2);
    obm_free(t.heap, q);
    for (unsigned k = 0; k < nb; k++)
        obm_free(t.heap, held[k]);
    free(held);
    th_close(&t);
}
END_TEST

/* facts §4.5 step 5, U4: a full pool that gets a block back goes to the
 * FRONT of its ring, so the next malloc returns the block just freed. */
START_TEST(t_pools_full_relinks_at_front)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    unsigned i = class64(&t), bs = obm_blocksize(t.g, i);
    unsigned nb = obm_numblocks(t.g, i);
    void **held = calloc(2 * nb, sizeof(void *));
    ck_assert_ptr_nonnull(held);
    /* pools P1, P2 full; P3 used (one block) */
    for (unsigned k = 0; k < 2 * nb; k++)
        held[k] = obm_malloc(t.heap, bs);
    void *x = obm_malloc(t.heap, bs);
    struct obm_pool *p1 = pool_of(&t, held[0]);
    struct obm_pool *p2 = pool_of(&t, held[nb]);
    struct obm_pool *p3 = pool_of(&t, x);
    ck_assert_ptr_ne(p1, p2);
    ck_assert_ptr_ne(p2, p3);
    ck_assert_int_eq(ring_len(&t, i), 1);
    obm_free(t.heap, held[5]); /* P1 full -> used, at the front */
    ck_assert_ptr_eq(t.s.usedpools[2 * i], p1);
    ck_assert_ptr_eq(p1->nextpool, p3);
    ck_assert_ptr_eq(t.s.usedpools[2 * i + 1], p3);
    ck_assert_ptr_eq(p1->freeblock, held[5]);
    ck_assert_ptr_null(*(void **)held[5]);
    obm_free(t.heap, held[nb + 1]); /* P2 full -> used, now first */
    ck_assert_int_eq(ring_pos(&t, i, p2), 0);
    ck_assert_int_eq(ring_pos(&t, i, p1), 1);
    ck_assert_int_eq(ring_pos(&t, i, p3), 2);
    /* malloc serves the first pool's freeblock head */
    void *y = obm_malloc(t.heap, bs);
    ck_assert_ptr_eq(y, held[nb + 1]);
    ck_assert_int_eq(ring_pos(&t, i, p2), -1); /* full again */
    ck_assert_int_eq(ring_pos(&t, i, p1), 0);
    held[nb + 1] = y;
    held[5] = NULL;
    obm_free(t.heap, x);
    for (unsigned k = 0; k < 2 * nb; k++)
        obm_free(t.heap, held[k]);
    free(held);
    th_close(&t);
}
END_TEST

/* facts §4.5 step 4: block reuse is LIFO within a pool. */
START_TEST(t_pools_lifo_block_reuse)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    unsigned bs = obm_blocksize(t.g, class64(&t));
    void *b[6];
    for (int k = 0; k < 6; k++)
        b[k] = obm_malloc(t.heap, bs);
    struct obm_pool *pool = pool_of(&t, b[0]);
    obm_free(t.heap, b[3]);
    obm_free(t.heap, b[1]);
    ck_assert_ptr_eq(pool->freeblock, b[1]);
    ck_assert_ptr_eq(*(void **)b[1], b[3]);
    ck_assert_uint_eq(pool->ref.count, 4);
    ck_assert_ptr_eq(obm_malloc(t.heap, bs), b[1]);
    ck_assert_ptr_eq(obm_malloc(t.heap, bs), b[3]);
    /* then virgin blocks again */
    void *v = obm_malloc(t.heap, bs);
    ck_assert_ptr_eq(v, (uint8_t *)b[5] + bs);
    obm_free(t.heap, v);
    for (int k = 0; k < 6; k++)
        obm_free(t.heap, b[k]);
    th_close(&t);
}
END_TEST

/* facts §4.5 step 7: an emptied pool leaves its ring and goes to the head
 * of its arena's freepools (LIFO); nfreepools counts it. */
START_TEST(t_pools_empty_to_freepools)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    unsigned i = class64(&t), bs = obm_blocksize(t.g, i);
    unsigned nb = obm_numblocks(t.g, i);
    /* keeper: a block of another class keeps the arena alive */
    void *keep = obm_malloc(t.heap, 8);
    void **held = calloc(3 * nb, sizeof(void *));
    ck_assert_ptr_nonnull(held);
    for (unsigned k = 0; k < 3 * nb - 1; k++) /* pa, pb full; pc used */
        held[k] = obm_malloc(t.heap, bs);
    const struct obm_arena *a = arena_at(&t, 0);
    struct obm_pool *pa = pool_of(&t, held[0]);
    struct obm_pool *pb = pool_of(&t, held[nb]);
    struct obm_pool *pc = pool_of(&t, held[2 * nb]);
    ck_assert_uint_eq(a->nfreepools, 60);  /* 64 - keeper - 3 */
    for (unsigned k = nb; k < 2 * nb; k++) /* empty pb */
        obm_free(t.heap, held[k]);
    ck_assert_uint_eq(pb->ref.count, 0);
    ck_assert_int_eq(ring_pos(&t, i, pb), -1);
    ck_assert_ptr_eq(a->freepools, pb);
    ck_assert_ptr_null(pb->nextpool);
    ck_assert_uint_eq(a->nfreepools, 61);
    for (unsigned k = 0; k < nb; k++) /* empty pa: now the head */
        obm_free(t.heap, held[k]);
    ck_assert_ptr_eq(a->freepools, pa);
    ck_assert_ptr_eq(pa->nextpool, pb);
    ck_assert_uint_eq(a->nfreepools, 62);
    ck_assert_int_eq(ring_len(&t, i), 1); /* pc, used */
    ck_assert_int_eq(ring_pos(&t, i, pc), 0);
    /* a pool carved later is not carved while freepools is non-empty:
     * the next fresh pool is pa again (head of freepools) */
    void *z = obm_malloc(t.heap, 3 * bs); /* another empty class */
    ck_assert_ptr_eq(pool_of(&t, z), pa);
    ck_assert_ptr_eq(a->freepools, pb);
    ck_assert_uint_eq(a->nfreepools, 61);
    obm_free(t.heap, z);
    for (unsigned k = 2 * nb; k < 3 * nb - 1; k++)
        obm_free(t.heap, held[k]);
    obm_free(t.heap, keep);
    free(held);
    th_close(&t);
}
END_TEST

/* facts §4.3 step 6: an emptied pool re-used for its previous class keeps
 * its free list and offsets. */
START_TEST(t_pools_reuse_same_class)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    unsigned i = class64(&t), bs = obm_blocksize(t.g, i);
    void *keep = obm_malloc(t.heap, 8);
    void *x = obm_malloc(t.heap, bs), *y = obm_malloc(t.heap, bs);
    struct obm_pool *pool = pool_of(&t, x);
    ck_assert_ptr_ne(pool, pool_of(&t, keep));
    ck_assert_uint_eq(pool->nextoffset, t.g->pool_overhead + 3 * bs);
    obm_free(t.heap, y);
    obm_free(t.heap, x); /* empty: free list x -> y -> virgin third */
    ck_assert_ptr_eq(arena_at(&t, 0)->freepools, pool);
    ck_assert_uint_eq(pool->szidx, i);
    void *x2 = obm_malloc(t.heap, bs);
    ck_assert_ptr_eq(x2, x);
    ck_assert_ptr_eq(pool->freeblock, y);
    ck_assert_uint_eq(pool->nextoffset, t.g->pool_overhead + 3 * bs);
    ck_assert_uint_eq(pool->ref.count, 1);
    ck_assert_ptr_eq(t.s.usedpools[2 * i], pool);
    ck_assert_ptr_null(arena_at(&t, 0)->freepools);
    void *y2 = obm_malloc(t.heap, bs);
    ck_assert_ptr_eq(y2, y);
    void *z = obm_malloc(t.heap, bs);
    ck_assert_ptr_eq(z, (uint8_t *)y + bs);
    obm_free(t.heap, x2);
    obm_free(t.heap, y2);
    obm_free(t.heap, z);
    obm_free(t.heap, keep);
    th_close(&t);
}
END_TEST

/* facts §4.3 step 7: re-used for another class, the pool is set up anew. */
START_TEST(t_pools_reuse_other_class)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    unsigned i = class64(&t), bs = obm_blocksize(t.g, i);
    unsigned j = t.g->nclasses - 1, bsj = obm_blocksize(t.g, j);
    void *keep = obm_malloc(t.heap, 8);
    void *x = obm_malloc(t.heap, bs), *y = obm_malloc(t.heap, bs);
    struct obm_pool *pool = pool_of(&t, x);
    obm_free(t.heap, x);
    obm_free(t.heap, y);
    void *w = obm_malloc(t.heap, bsj);
    ck_assert_ptr_eq(pool_of(&t, w), pool);
    ck_assert_ptr_eq(w, (uint8_t *)pool + t.g->pool_overhead);
    ck_assert_uint_eq(pool->szidx, j);
    ck_assert_uint_eq(pool->ref.count, 1);
    ck_assert_uint_eq(pool->nextoffset, t.g->pool_overhead + 2 * bsj);
    ck_assert_uint_eq(pool->maxnextoffset, t.g->pool_size - bsj);
    ck_assert_ptr_eq(pool->freeblock, (uint8_t *)w + bsj);
    ck_assert_ptr_null(*(void **)pool->freeblock);
    ck_assert_ptr_eq(t.s.usedpools[2 * j], pool);
    ck_assert_int_eq(ring_len(&t, i), 0);
    obm_free(t.heap, w);
    obm_free(t.heap, keep);
    th_close(&t);
}
END_TEST

/* Several classes share an arena, each with its own ring. */
START_TEST(t_pools_classes_have_own_rings)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    void *b[32];
    unsigned n = t.g->nclasses < 32 ? t.g->nclasses : 32;
    for (unsigned i = 0; i < n; i++) {
        unsigned cls = (i * 7) % t.g->nclasses;
        b[i] = obm_malloc(t.heap, obm_blocksize(t.g, cls));
        struct obm_pool *pool = pool_of(&t, b[i]);
        ck_assert_uint_eq(pool->szidx, cls);
        ck_assert_int_eq(ring_pos(&t, cls, pool), 0);
        ck_assert_int_eq(ring_len(&t, cls), 1);
    }
    ck_assert_uint_eq(arena_at(&t, 0)->nfreepools, 64 - n);
    ck_assert_uint_eq(sum_counts(&t), n);
    for (unsigned i = 0; i < n; i++)
        obm_free(t.heap, b[i]);
    ck_assert_uint_eq(sum_counts(&t), 0);
    th_close(&t);
}
END_TEST

static Suite *
pools_suite(void)
{
    Suite *s = suite_create("pools");
    TCase *tc = tcase_create("transitions");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, t_pools_fresh_pool, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_pools_fill_to_full, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_pools_full_relinks_at_front, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_pools_lifo_block_reuse, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_pools_empty_to_freepools, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_pools_reuse_same_class, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_pools_reuse_other_class, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_pools_classes_have_own_rings, 0, OBM_NPROFILES);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return tu_run(pools_suite());
}
