/* t_inv_robust.c — random corruptions never crash or hang the checker.
 * Each trial damages a few random bytes of the standard heap (tinv.h): a
 * pool header, an arena record, a free link, a usedpools slot, a radix
 * leaf entry or a counter; runs INV_FULL and INV_LOCAL; and restores them.
 *
 *   t_inv_robust [TRIALS [SEED]]   TRIALS in all (default 100000, or
 *                                  $INV_ROBUST_TRIALS)
 *
 * Not damaged, by contract (inv.h): maxarenas and the vector pointer, radix
 * node pointers, and, without a radix tree to confirm it, an arena's
 * address (a wrong address that still passes A6 would be believed). */
#include "tinv.h"

#include <time.h>

static uint64_t rng_state;
static unsigned long ntrials = 100000;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A random carved pool of a random allocated arena. */
static struct obm_pool *
random_pool(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, (unsigned)(rng() % 3));
    uintptr_t first =
        (a->address + t->g->pool_size - 1) & ~(uintptr_t)(t->g->pool_size - 1);
    unsigned n =
        (unsigned)(((uintptr_t)a->pool_address - first) / t->g->pool_size);
    return (struct obm_pool *)(first + (rng() % n) * t->g->pool_size);
}

/* Pick the bytes to damage: fill *addr and *len. */
static void
pick_target(struct tb *t, uint8_t **addr, size_t *len)
{
    const struct obm_geometry *g = t->g;
    bool radix = t->s.radix_root != NULL;
    switch (rng() % 6) {
    case 0: // a pool header
        *addr = (uint8_t *)random_pool(t) + rng() % 48;
        break;
    case 1: { // an arena record, allocated or not
        unsigned i = (unsigned)(rng() % 5);
        size_t off = rng() % sizeof(struct obm_arena);
        if (!radix && off < sizeof(uintptr_t))
            off += sizeof(uintptr_t);
        *addr = (uint8_t *)tb_arena(t, i) + off;
        break;
    }
    case 2: { // a free link (or the freeblock head)
        struct obm_pool *q = rng() % 2 ? t->small_pool : t->used_pool;
        *addr = q->freeblock ? q->freeblock : (uint8_t *)&q->freeblock;
        break;
    }
    case 3: // a usedpools slot
        *addr = (uint8_t *)&t->s.usedpools[rng() % (2 * g->nclasses)];
        break;
    case 4: { // a radix leaf entry, else a counter
        if (radix) {
            void **mid = NULL;
            for (size_t k = 0; mid == NULL; k++)
                mid = t->s.radix_root[k];
            struct obm_arena_coverage *bot = NULL;
            for (size_t k = 0; bot == NULL; k++)
                bot = mid[k];
            uintptr_t a = tb_arena(t, (unsigned)(rng() % 3))->address;
            unsigned bb = g->radix_bot_bits, ab = g->arena_bits;
            size_t bi = ((a >> ab) + rng() % 3) & (((size_t)1 << bb) - 1);
            *addr = (uint8_t *)&bot[bi] + rng() % 8;
            break;
        }
    }
    /* fall through */
    default: { // a counter
        void *ctr[] = {(void *)t->s.narenas_currently_allocated,
                       (void *)t->s.ntimes_arena_allocated,
                       (void *)t->s.narenas_highwater,
                       (void *)t->s.raw_allocated_blocks,
                       (void *)t->s.arena_map_mid_count,
                       (void *)t->s.arena_map_bot_count};
        size_t n = radix ? 6 : 4;
        *addr = (uint8_t *)ctr[rng() % n];
        break;
    }
    }
    *len = 1 + rng() % 8;
}

/* Damage len bytes at addr: random bytes, a bit flip, or a nearby value. */
static void
damage(struct tb *t, uint8_t *addr, size_t len)
{
    uint8_t val[8];
    memcpy(val, addr, len);
    switch (rng() % 3) {
    case 0:
        for (size_t k = 0; k < len; k++)
            val[k] = (uint8_t)rng();
        break;
    case 1:
        val[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
        break;
    default: // small arithmetic on the low bytes: plausible pointers
        val[0] = (uint8_t)(val[0] + (rng() % 2 ? 16 : -16));
        if (len > 1)
            val[1] = (uint8_t)(val[1] + rng() % 3 - 1);
        break;
    }
    tb_poke(t, addr, val, len);
}

START_TEST(random_corruptions)
{
    enum obm_profile p = (enum obm_profile)_i;
    struct tb t;
    struct inv_report r;
    struct idset s;
    tb_build(&t, p, p >= OBM_PY310 ? 4096 : 0);
    ck_assert_uint_eq(tb_check(&t, INV_FULL, NULL, &s, &r), 0);
    unsigned long n = ntrials / OBM_NPROFILES, fired = 0;
    for (unsigned long k = 0; k < n; k++) {
        uint8_t *addr;
        size_t len;
        pick_target(&t, &addr, &len);
        damage(&t, addr, len);
        const void *touched = rng() % 8 ? t.live[rng() % t.nlive] : NULL;
        fired += tb_check(&t, INV_FULL, NULL, &s, &r) != 0;
        tb_check(&t, INV_LOCAL, touched, &s, &r);
        tb_restore(&t);
    }
    ck_assert_uint_eq(tb_check(&t, INV_FULL, NULL, &s, &r), 0);
    printf("%s: %lu trials, %lu reported\n", obm_geometry(p)->name, n, fired);
    tb_close(&t);
}
END_TEST

int
main(int argc, char **argv)
{
    const char *env = getenv("INV_ROBUST_TRIALS");
    ntrials = argc > 1 ? strtoul(argv[1], NULL, 0)
              : env    ? strtoul(env, NULL, 0)
                       : 100000ul;
    uint64_t seed =
        argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)time(NULL);
    printf("seed %llu, %lu trials\n", (unsigned long long)seed, ntrials);
    rng_state = seed | 1;
    Suite *su = suite_create("inv_robust");
    TCase *tc = tcase_create("robust");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, random_corruptions, 0, OBM_NPROFILES);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int nfailed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
