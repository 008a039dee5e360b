/* t_geometry.c — profile geometry, blocks per pool, the layout contract.
 *
 * Expected values are the facts file's: §2.1 constants, §2.2 NUMBLOCKS
 * tables, §3.2/§3.3/§3.8 layouts, §13 profiles.
 */
#include <stddef.h>

#include "testutil.h"

/* facts §2.2, "64-bit <=3.7.3" (align 8, pool 4096): py27, py35. */
static const unsigned nb_py35[64] = {
    506, 253, 168, 126, 101, 84, 72, 63, 56, 50, 46, 42, 38, 36, 33, 31,
    29,  28,  26,  25,  24,  23, 22, 21, 20, 19, 18, 18, 17, 16, 16, 15,
    15,  14,  14,  14,  13,  13, 12, 12, 12, 12, 11, 11, 11, 11, 10, 10,
    10,  10,  9,   9,   9,   9,  9,  9,  8,  8,  8,  8,  8,  8,  8,  7};

/* facts §2.2, "3.7.4+/3.8/3.9" (align 16, pool 4096): py38, py39. */
static const unsigned nb_py38[32] = {
    253, 126, 84, 63, 50, 42, 36, 31, 28, 25, 23, 21, 19, 18, 16, 15,
    14,  14,  13, 12, 12, 11, 11, 10, 10, 9,  9,  9,  8,  8,  8,  7};

/* facts §2.2, "3.10+" (align 16, pool 16384): py310, py311. */
static const unsigned nb_py310[32] = {
    1021, 510, 340, 255, 204, 170, 145, 127, 113, 102, 92, 85, 78, 72, 68, 63,
    60,   56,  53,  51,  48,  46,  44,  42,  40,  39,  37, 36, 35, 34, 32, 31};

static const unsigned *
nb_table(enum obm_profile p)
{
    switch (p) {
    case OBM_PY27:
    case OBM_PY35:
        return nb_py35;
    case OBM_PY38:
    case OBM_PY39:
        return nb_py38;
    default:
        return nb_py310;
    }
}

/* The §13 profile table, one row per profile. */
struct want_geom {
    unsigned alignment, shift, nclasses, usedpools_len, pool_size, pool_bits;
    size_t arena_size;
    unsigned arena_bits;
    enum obm_sort sort;
    bool keep_tail;
    enum obm_ownership own;
    unsigned ignore, top, mid, bot;
    bool has_calloc, raw_realloc_keeps;
};

#define KIB ((size_t)1024)
static const struct want_geom want[OBM_NPROFILES] = {
    [OBM_PY27] = {8, 3, 64, 128, 4096, 12, 256 * KIB, 18, OBM_SORT_LINEAR,
                  false, OBM_OWN_LEGACY, 0, 0, 0, 0, false, true},
    [OBM_PY35] = {8, 3, 64, 128, 4096, 12, 256 * KIB, 18, OBM_SORT_LINEAR,
                  false, OBM_OWN_LEGACY, 0, 0, 0, 0, true, false},
    [OBM_PY38] = {16, 4, 32, 64, 4096, 12, 256 * KIB, 18, OBM_SORT_NFP2LASTA,
                  false, OBM_OWN_LEGACY, 0, 0, 0, 0, true, false},
    [OBM_PY39] = {16, 4, 32, 64, 4096, 12, 256 * KIB, 18, OBM_SORT_NFP2LASTA,
                  true, OBM_OWN_LEGACY, 0, 0, 0, 0, true, false},
    [OBM_PY310] = {16, 4, 32, 64, 16384, 14, 1024 * KIB, 20,
                   OBM_SORT_NFP2LASTA, true, OBM_OWN_RADIX, 16, 10, 10, 8,
                   true, false},
    [OBM_PY311] = {16, 4, 32, 64, 16384, 14, 1024 * KIB, 20,
                   OBM_SORT_NFP2LASTA, true, OBM_OWN_RADIX, 0, 15, 15, 14,
                   true, false},
};

START_TEST(t_geometry_profile_constants)
{
    enum obm_profile p = (enum obm_profile)_i;
    const struct obm_geometry *g = obm_geometry(p);
    const struct want_geom *w = &want[p];
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(g->profile, p);
    ck_assert_str_eq(g->name, tu_profile_names[p]);
    ck_assert_ptr_nonnull(g->versions);
    ck_assert_uint_gt(strlen(g->versions), 0);
    ck_assert_uint_eq(g->alignment, w->alignment);
    ck_assert_uint_eq(g->alignment_shift, w->shift);
    ck_assert_uint_eq(g->threshold, 512);
    ck_assert_uint_eq(g->nclasses, w->nclasses);
    ck_assert_uint_eq(g->usedpools_len, w->usedpools_len);
    ck_assert_uint_eq(g->pool_size, w->pool_size);
    ck_assert_uint_eq(g->pool_bits, w->pool_bits);
    ck_assert_uint_eq(g->pool_overhead, 48);
    ck_assert_uint_eq(g->arena_size, w->arena_size);
    ck_assert_uint_eq(g->arena_bits, w->arena_bits);
    ck_assert_uint_eq(g->max_pools_in_arena, 64);
    ck_assert_int_eq(g->sort, w->sort);
    ck_assert_int_eq(g->keep_tail_arena, w->keep_tail);
    ck_assert_int_eq(g->ownership, w->own);
    ck_assert_int_eq(g->has_calloc, w->has_calloc);
    ck_assert_int_eq(g->raw_realloc_keeps, w->raw_realloc_keeps);
    if (w->own == OBM_OWN_RADIX) {
        ck_assert_uint_eq(g->radix_ignore_bits, w->ignore);
        ck_assert_uint_eq(g->radix_top_bits, w->top);
        ck_assert_uint_eq(g->radix_mid_bits, w->mid);
        ck_assert_uint_eq(g->radix_bot_bits, w->bot);
        ck_assert_uint_eq(g->radix_ignore_bits + g->radix_top_bits
                              + g->radix_mid_bits + g->radix_bot_bits
                              + g->arena_bits,
                          64);
    }
}
END_TEST

START_TEST(t_geometry_derived_relations)
{
    const struct obm_geometry *g = obm_geometry((enum obm_profile)_i);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq((size_t)1 << g->pool_bits, g->pool_size);
    ck_assert_uint_eq((size_t)1 << g->arena_bits, g->arena_size);
    ck_assert_uint_eq(1u << g->alignment_shift, g->alignment);
    ck_assert_uint_eq(g->arena_size / g->pool_size, g->max_pools_in_arena);
    ck_assert_uint_eq(g->threshold / g->alignment, g->nclasses);
    /* facts §3.4: 2 * ceil(nclasses / 8) * 8 pointers. */
    ck_assert_uint_eq(g->usedpools_len, 2 * ((g->nclasses + 7) / 8) * 8);
    ck_assert_uint_le(g->usedpools_len, OBM_MAX_USEDPOOLS);
    for (unsigned i = 0; i < g->nclasses; i++)
        ck_assert_uint_eq(obm_blocksize(g, i), (i + 1) * g->alignment);
}
END_TEST

START_TEST(t_geometry_numblocks_table)
{
    enum obm_profile p = (enum obm_profile)_i;
    const struct obm_geometry *g = obm_geometry(p);
    const unsigned *tab = nb_table(p);
    for (unsigned i = 0; i < g->nclasses; i++)
        ck_assert_msg(obm_numblocks(g, i) == tab[i],
                      "%s class %u: NUMBLOCKS %u, facts §2.2 say %u", g->name,
                      i, obm_numblocks(g, i), tab[i]);
}
END_TEST

/* Fill one pool of every class and count the blocks it actually serves. */
START_TEST(t_geometry_numblocks_served)
{
    enum obm_profile p = (enum obm_profile)_i;
    const unsigned *tab = nb_table(p);
    struct th t;
    th_open(&t, p);
    for (unsigned i = 0; i < t.g->nclasses; i++) {
        size_t n = obm_blocksize(t.g, i);
        void **held = calloc(tab[i] + 1, sizeof(void *));
        ck_assert_ptr_nonnull(held);
        held[0] = obm_malloc(t.heap, n);
        struct obm_pool *pool = pool_of(&t, held[0]);
        unsigned k = 1;
        while (ring_pos(&t, i, pool) == 0) {
            TU_CHECK_MSG(k <= tab[i], "class %u: pool not full after %u", i,
                         k);
            held[k] = obm_malloc(t.heap, n);
            TU_CHECK(pool_of(&t, held[k]) == pool);
            k++;
        }
        ck_assert_msg(k == tab[i],
                      "%s class %u: pool full after %u blocks,"
                      " expected %u",
                      t.g->name, i, k, tab[i]);
        ck_assert_uint_eq(pool->ref.count, tab[i]);
        for (unsigned j = 0; j < k; j++)
            obm_free(t.heap, held[j]);
        free(held);
    }
    th_close(&t);
}
END_TEST

START_TEST(t_geometry_out_of_range)
{
    ck_assert_ptr_null(obm_geometry(OBM_NPROFILES));
    ck_assert_ptr_null(obm_geometry((enum obm_profile)99));
    ck_assert_ptr_eq(obm_geometry(OBM_PROFILE_DEFAULT),
                     obm_geometry(OBM_PY311));
    ck_assert_ptr_null(obm_heap_new(OBM_NPROFILES, NULL));
}
END_TEST

START_TEST(t_geometry_profile_parse)
{
    for (int p = 0; p < OBM_NPROFILES; p++) {
        enum obm_profile out = (enum obm_profile)((p + 1) % OBM_NPROFILES);
        ck_assert_int_eq(obm_profile_parse(tu_profile_names[p], &out), 0);
        ck_assert_int_eq(out, p);
    }
    static const char *const bad[] = {"py312",  "py3",        "",   "py2",
                                      "py311x", "python3.11", "311"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum obm_profile out = OBM_PY27;
        ck_assert_msg(obm_profile_parse(bad[i], &out) == -1, "\"%s\" parsed",
                      bad[i]);
    }
}
END_TEST

START_TEST(t_geometry_pool_header_layout)
{
    ck_assert_uint_eq(sizeof(struct obm_pool), 48);
    ck_assert_uint_eq(offsetof(struct obm_pool, ref), 0);
    ck_assert_uint_eq(offsetof(struct obm_pool, freeblock), 8);
    ck_assert_uint_eq(offsetof(struct obm_pool, nextpool), 16);
    ck_assert_uint_eq(offsetof(struct obm_pool, prevpool), 24);
    ck_assert_uint_eq(offsetof(struct obm_pool, arenaindex), 32);
    ck_assert_uint_eq(offsetof(struct obm_pool, szidx), 36);
    ck_assert_uint_eq(offsetof(struct obm_pool, nextoffset), 40);
    ck_assert_uint_eq(offsetof(struct obm_pool, maxnextoffset), 44);
    ck_assert_uint_eq(sizeof(((struct obm_pool *)0)->ref), 8);
}
END_TEST

START_TEST(t_geometry_arena_layout)
{
    ck_assert_uint_eq(sizeof(struct obm_arena), 48);
    ck_assert_uint_eq(offsetof(struct obm_arena, address), 0);
    ck_assert_uint_eq(offsetof(struct obm_arena, pool_address), 8);
    ck_assert_uint_eq(offsetof(struct obm_arena, nfreepools), 16);
    ck_assert_uint_eq(offsetof(struct obm_arena, ntotalpools), 20);
    ck_assert_uint_eq(offsetof(struct obm_arena, freepools), 24);
    ck_assert_uint_eq(offsetof(struct obm_arena, nextarena), 32);
    ck_assert_uint_eq(offsetof(struct obm_arena, prevarena), 40);
    ck_assert_uint_eq(sizeof(struct obm_arena_coverage), 8);
    ck_assert_uint_eq(offsetof(struct obm_arena_coverage, tail_hi), 0);
    ck_assert_uint_eq(offsetof(struct obm_arena_coverage, tail_lo), 4);
}
END_TEST

/* facts §3.4: an empty heap's rings are their own sentinels, and sentinel i
 * sits 2 pointers before usedpools[2i]. */
START_TEST(t_geometry_usedpools_initial)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    ck_assert_ptr_eq(t.s.geometry, t.g);
    ck_assert_ptr_nonnull(t.s.usedpools);
    for (unsigned i = 0; i < t.g->nclasses; i++) {
        const struct obm_pool *h = sentinel(&t, i);
        ck_assert_ptr_eq((const void *)&h->nextpool,
                         (const void *)&t.s.usedpools[2 * i]);
        ck_assert_ptr_eq((const void *)&h->prevpool,
                         (const void *)&t.s.usedpools[2 * i + 1]);
        ck_assert_ptr_eq(t.s.usedpools[2 * i], h);
        ck_assert_ptr_eq(t.s.usedpools[2 * i + 1], h);
        ck_assert_int_eq(ring_len(&t, i), 0);
    }
    ck_assert_uint_eq(*t.s.maxarenas, 0);
    ck_assert_ptr_null(*t.s.usable_arenas);
    ck_assert_ptr_null(*t.s.unused_arena_objects);
    ck_assert_uint_eq(narenas(&t), 0);
    ck_assert_uint_eq(*t.s.ntimes_arena_allocated, 0);
    ck_assert_uint_eq(*t.s.narenas_highwater, 0);
    ck_assert_int_eq(raw_live(&t), 0);
    ck_assert_uint_eq(obm_allocated_blocks(t.heap), 0);
    if (t.g->sort == OBM_SORT_NFP2LASTA)
        ck_assert_ptr_nonnull(t.s.nfp2lasta);
    else
        ck_assert_ptr_null(t.s.nfp2lasta);
    if (t.g->ownership == OBM_OWN_RADIX) {
        ck_assert_ptr_nonnull(t.s.radix_root);
        ck_assert_int_eq(*t.s.arena_map_mid_count, 0);
        ck_assert_int_eq(*t.s.arena_map_bot_count, 0);
    } else {
        ck_assert_ptr_null(t.s.radix_root);
    }
    th_close(&t);
}
END_TEST

static Suite *
geometry_suite(void)
{
    Suite *s = suite_create("geometry");
    TCase *tc = tcase_create("profiles");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, t_geometry_profile_constants, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_geometry_derived_relations, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_geometry_numblocks_table, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_geometry_numblocks_served, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_geometry_usedpools_initial, 0, OBM_NPROFILES);
    tcase_add_test(tc, t_geometry_out_of_range);
    tcase_add_test(tc, t_geometry_profile_parse);
    suite_add_tcase(s, tc);
    TCase *lay = tcase_create("layout");
    tcase_add_test(lay, t_geometry_pool_header_layout);
    tcase_add_test(lay, t_geometry_arena_layout);
    suite_add_tcase(s, lay);
    return s;
}

int
main(void)
{
    return tu_run(geometry_suite());
}
