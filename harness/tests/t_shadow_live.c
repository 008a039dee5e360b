/* t_shadow_live.c — the sorted live set the shadow keeps between full
 * checks equals, at every check, the live pool blocks found by a scan of
 * every slot, sorted: through mallocs, frees, reallocs that stay in place
 * or move, raw blocks, slots freed and taken again between two checks
 * (listed once), and more new blocks between two checks than the list of
 * new ones holds (built again from the slots).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hx_internal.h"
#include "tu_run.h"

static int
by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (const void *const *)a;
    uintptr_t y = (uintptr_t) * (const void *const *)b;
    return (x > y) - (x < y);
}

/* Compare the shadow's live set with a scan of its slots. */
static void
expect_live_set(struct hx_shadow *sh, const void **want)
{
    size_t n = 0;
    for (uint32_t k = 0; k < sh->nslots; k++)
        if (sh->blocks[k].state == SH_LIVE && !sh->blocks[k].raw)
            want[n++] = sh->blocks[k].p;
    qsort(want, n, sizeof *want, by_address);
    size_t got = hx_shadow_live_set(sh);
    ck_assert_uint_eq(got, n);
    ck_assert_uint_eq(got, sh->nlive);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(sh->live[i] == want[i], "entry %zu: %p, expected %p", i,
                      sh->live[i], want[i]);
}

/* Run ops random operations on nslots slots of a py311 heap, with a live
 * set asked every 1..period operations. */
static void
churn(uint32_t nslots, unsigned long ops, unsigned period, unsigned seed)
{
    struct hx_trace t;
    hx_trace_init(&t, "t_shadow_live");
    for (uint32_t s = 0; s < nslots; s++)
        ck_assert_uint_eq(hx_slot_num(&t, s), s);
    obm_heap *h = obm_heap_new(OBM_PY311, NULL);
    ck_assert_ptr_nonnull(h);
    struct inv_report out;
    memset(&out, 0, sizeof out);
    struct hx_shadow sh;
    ck_assert_int_eq(hx_shadow_open(&sh, h, &t, &out), 0);
    const void **want = malloc(nslots * sizeof *want);
    ck_assert_ptr_nonnull(want);
    srand(seed);
    unsigned long next_check = 1;
    for (unsigned long i = 0; i < ops; i++) {
        uint32_t s = (uint32_t)rand() % nslots;
        struct hx_block *b = &sh.blocks[s];
        // mostly pool blocks; one in 16 a raw one
        size_t n = rand() % 16 == 0 ? 600 + rand() % 4000 : 1 + rand() % 512;
        if (b->state != SH_LIVE) {
            void *p = obm_malloc(h, n);
            ck_assert_ptr_nonnull(p);
            hx_shadow_alloc(&sh, s, p, n, false);
        } else if (rand() % 2 == 0) {
            obm_free(h, b->p);
            hx_shadow_release(&sh, s);
        } else {
            // same class or below: stays in place; else it moves
            void *p = obm_realloc(h, b->p, n);
            ck_assert_ptr_nonnull(p);
            hx_shadow_realloc(&sh, s, p, n);
        }
        if (i + 1 == next_check) {
            expect_live_set(&sh, want);
            next_check += 1 + (unsigned)rand() % period;
        }
    }
    ck_assert_uint_eq(out.total, 0);
    for (uint32_t s = 0; s < nslots; s++)
        if (sh.blocks[s].state == SH_LIVE)
            obm_free(h, sh.blocks[s].p);
    free(want);
    hx_shadow_close(&sh);
    obm_heap_free(h);
    hx_trace_free(&t);
}

START_TEST(matches_a_scan)
{
    churn(2000, 60000, 40, 1);
}
END_TEST

/* A slot freed and taken again, at the same address, between two checks:
 * one entry, not two. */
START_TEST(retaken_slot_listed_once)
{
    churn(4, 20000, 6, 2);
}
END_TEST

/* Between two checks more new blocks than slots: the list of new ones
 * gives up and the set is built again. */
START_TEST(overflow_rebuilds)
{
    churn(64, 50000, 400, 3);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("shadow_live");
    TCase *tc = tcase_create("shadow_live");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, matches_a_scan);
    tcase_add_test(tc, retaken_slot_listed_once);
    tcase_add_test(tc, overflow_rebuilds);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
