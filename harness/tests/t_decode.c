/* t_decode.c — fuzz input decoding and the runner options fuzz_ops uses:
 * group fills and thinnings (labels, the batch flag on all but their last
 * operation), FULL checks only where a batch ends, a region kept across
 * runs, the pokes' trailer, the shadow's verify budget, which delays a
 * finding but never loses it, the neighbours of touched blocks verified
 * first, and sizes above PTRDIFF_MAX (K11).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hx.h"
#include "tu_run.h"

/* fill group 0 with 512 blocks (selector 180), thin it with stride 2 from
 * 0, then free one single slot that was never live (dropped) */
static const uint8_t fill_thin[] = {2, 7, 0, 0xfe, 180, 7, 0, 0x1f, 0, 5, 9};

static void
decode(struct hx_trace *t, const uint8_t *data, size_t len,
       enum obm_profile *p)
{
    hx_trace_init(t, "t_decode");
    ck_assert_int_eq(hx_decode_ops(data, len, t, p), 0);
}

/* Set o for a run of profile p with INV_FULL after every operation, as
 * fuzz_ops asks (the drain left to each test); return a result to fill. */
static struct hx_run_result *
full_run(struct hx_run_options *o, enum obm_profile p)
{
    hx_run_options_default(o);
    o->profile = p;
    o->check = HX_CHECK_FULL | HX_CHECK_END;
    struct hx_run_result *res = malloc(sizeof *res);
    ck_assert_ptr_nonnull(res);
    return res;
}

START_TEST(fill_and_thin)
{
    struct hx_trace t;
    enum obm_profile p;
    decode(&t, fill_thin, sizeof fill_thin, &p);
    ck_assert_int_eq(p, OBM_PY38);
    ck_assert_uint_eq(t.nops, 512 + 256);
    char label[32];
    for (size_t i = 0; i < t.nops; i++) {
        const struct hx_op *op = &t.ops[i];
        ck_assert_int_eq(op->kind, i < 512 ? HX_MALLOC : HX_FREE);
        // the last operation of each group op ends the batch
        bool last = i == 511 || i == t.nops - 1;
        ck_assert_uint_eq(op->flags, last ? 0 : HX_F_BATCH);
        size_t j = i < 512 ? i : 2 * (i - 512);
        hx_label_str(&t, op->slot, label, sizeof label);
        ck_assert_uint_eq(strtoul(label, NULL, 10), HX_DECODE_SLOTS + j);
    }
    char err[256];
    ck_assert_msg(hx_validate(&t, err, sizeof err) == 0, "%s", err);
    hx_trace_free(&t);
}
END_TEST

/* fuzz_ops shares one region (keep_pages) between inputs: a run through
 * it gives the result a run alone gives, and leaves every arena's bytes
 * as a fresh mapping has them, so the next input cannot tell. */
START_TEST(kept_region_runs_alike)
{
    // py311: fill 512 blocks of 512 bytes, thin every other one
    static const uint8_t in[] = {5, 7, 0, 0xfe, 192, 7, 0, 0x1f, 0, 0, 9, 40};
    struct hx_trace t;
    enum obm_profile p;
    decode(&t, in, sizeof in, &p);
    struct hx_run_options o;
    struct hx_run_result *alone = full_run(&o, p);
    struct hx_run_result *kept = malloc(sizeof *kept);
    ck_assert_ptr_nonnull(kept);
    ck_assert_int_eq(hx_run(&t, &o, alone), 0);
    struct obm_region_config cfg = {0};
    cfg.keep_pages = true;
    o.region = obm_region_new(&cfg);
    ck_assert_ptr_nonnull(o.region);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(hx_run(&t, &o, kept), 0);
        ck_assert_uint_eq(obm_region_live(o.region), 0);
        ck_assert_uint_eq(kept->peak_arenas, alone->peak_arenas);
        ck_assert_uint_eq(kept->full_checks, alone->full_checks);
        const uint8_t *arena = (const uint8_t *)obm_region_base(o.region);
        size_t size = obm_geometry(p)->arena_size;
        // zeroed in place, not dropped: the next run takes no page fault
        // (asked before the reads below map any page)
        unsigned char resident = 0;
        ck_assert_int_eq(mincore((void *)arena, 4096, &resident), 0);
        ck_assert_uint_eq(resident & 1, 1);
        size_t i = 0;
        while (i < size && arena[i] == 0)
            i++;
        ck_assert_msg(i == size, "byte %zu of the kept arena is not 0", i);
    }
    obm_region_free(o.region);
    free(alone);
    free(kept);
    hx_trace_free(&t);
}
END_TEST

/* With --check full, a FULL check runs after each operation that ends a
 * batch (and after the single operations), LOCAL inside; a batched drain
 * is one more batch. */
START_TEST(full_where_batches_end)
{
    struct hx_trace t;
    enum obm_profile p;
    decode(&t, fill_thin, sizeof fill_thin, &p);
    struct hx_run_options o;
    struct hx_run_result *res = full_run(&o, p);
    ck_assert_int_eq(hx_run(&t, &o, res), 0);
    // two batch ends, the drain's 256 frees, the end check
    ck_assert_uint_eq(res->full_checks, 2 + 256 + 1);
    ck_assert_uint_eq(res->local_checks, t.nops - 2);
    // fuzz_ops's drain is one batch: LOCAL after each free, then the end
    o.drain_batched = true;
    ck_assert_int_eq(hx_run(&t, &o, res), 0);
    ck_assert_uint_eq(res->drained, 256);
    ck_assert_uint_eq(res->full_checks, 2 + 1);
    ck_assert_uint_eq(res->local_checks, t.nops - 2 + 256);
    // without the end check, the batched drain still ends with a full one
    o.check = HX_CHECK_FULL;
    ck_assert_int_eq(hx_run(&t, &o, res), 0);
    ck_assert_uint_eq(res->full_checks, 2 + 1);
    free(res);
    hx_trace_free(&t);
}
END_TEST

START_TEST(pokes_trailer)
{
    struct hx_pokes pk;
    // two pokes, arenas 4096 bytes off: 3 program bytes, 10 poke bytes
    const uint8_t in[] = {5, 0, 0, 3, 3, 0, 0, 0, 9, 10, 11, 12, 13, 0x12};
    hx_decode_pokes(in, sizeof in, &pk);
    ck_assert_uint_eq(pk.n, 2);
    ck_assert_uint_eq(pk.offset, 4096);
    ck_assert_uint_eq(pk.prog_len, 3);
    ck_assert_uint_eq(pk.poke[0].target, HX_POKE_USEDPOOLS);
    ck_assert_uint_eq(pk.poke[0].op, HX_POKE_AIM);
    ck_assert_uint_eq(pk.poke[1].target, 9 % HX_POKE_NTARGETS);
    ck_assert_uint_eq(pk.poke[1].op, 10 % HX_POKE_NOPS);
    ck_assert_uint_eq(pk.poke[1].value, 13);
    // too short for the pokes the trailer asks: as many as fit
    const uint8_t shortin[] = {1, 2, 3, 4, 5, 6, 7, 0x0f};
    hx_decode_pokes(shortin, sizeof shortin, &pk);
    ck_assert_uint_eq(pk.n, 1);
    ck_assert_uint_eq(pk.prog_len, 2);
    hx_decode_pokes(NULL, 0, &pk);
    ck_assert_uint_eq(pk.n, 0);
    ck_assert_uint_eq(pk.prog_len, 0);
}
END_TEST

/* An overflow into a live neighbour: found at the check after it when
 * every live block is verified, one check later with a 1-byte budget
 * (the neighbour's turn comes next), never lost. */
START_TEST(verify_budget_delays_not_loses)
{
    static const char text[] = "expect K5\n"
                               "malloc a 32\n"
                               "malloc b 32\n"
                               "overflow a 8\n"
                               "malloc c 32\n"
                               "malloc d 32\n";
    struct hx_trace t;
    char err[256]; // the reader initialises t itself
    ck_assert_msg(
        hx_read_text(&t, "budget", text, sizeof text - 1, err, sizeof err)
            == 0,
        "%s", err);
    struct hx_run_options o;
    struct hx_run_result *res = full_run(&o, OBM_PROFILE_DEFAULT);
    unsigned long first[2];
    for (int k = 0; k < 2; k++) {
        o.verify_budget = k == 0 ? 0 : 1;
        ck_assert_int_eq(hx_run(&t, &o, res), 1);
        ck_assert(hx_as_expected(&t, res));
        first[k] = res->first_op;
    }
    ck_assert_uint_eq(first[0], 3);
    ck_assert_uint_eq(first[1], 4);
    free(res);
    hx_trace_free(&t);
}
END_TEST

/* With a budget, the check after an op verifies the live neighbours of
 * the blocks it allocated or freed first: b's overflow into c shows when
 * d (above c) is freed, not when the round robin comes round to c. */
START_TEST(neighbours_verified_first)
{
    static const char text[] = "expect K5\n"
                               "malloc a 32\n"
                               "malloc b 32\n"
                               "malloc c 32\n"
                               "malloc d 32\n"
                               "malloc e 32\n"
                               "overflow b 8\n"
                               "free d\n"
                               "free a\n"
                               "free e\n";
    struct hx_trace t;
    char err[256];
    ck_assert_msg(
        hx_read_text(&t, "near", text, sizeof text - 1, err, sizeof err) == 0,
        "%s", err);
    struct hx_run_options o;
    struct hx_run_result *res = full_run(&o, OBM_PROFILE_DEFAULT);
    o.verify_budget = 1;
    ck_assert_int_eq(hx_run(&t, &o, res), 1);
    ck_assert(hx_as_expected(&t, res));
    ck_assert_uint_eq(res->first_op, 7);
    free(res);
    hx_trace_free(&t);
}
END_TEST

/* A size selector of 248 with 0xffff asks for HX_HUGE (above
 * PTRDIFF_MAX): malloc, calloc (kept whole, not split) and realloc of it
 * must return NULL, which the reference does without a K8; an allocator
 * that hands out a block for one breaks K11. */
START_TEST(huge_sizes_refused)
{
    static const uint8_t in[] = {5,    0,   1,   248,  0xff, 0xff, // malloc
                                 3,    2,   248, 0xff, 0xff, 0,    // calloc
                                 0,    3,   16,  4,    3,    248,
                                 0xff, 0xff}; // realloc
    struct hx_trace t;
    enum obm_profile p;
    decode(&t, in, sizeof in, &p);
    ck_assert_uint_eq(t.nops, 4);
    ck_assert_uint_eq(t.ops[0].a, HX_HUGE);
    ck_assert_uint_eq(t.ops[1].a, 1);
    ck_assert_uint_eq(t.ops[1].b, HX_HUGE);
    ck_assert_uint_eq(t.ops[3].kind, HX_REALLOC);
    ck_assert_uint_eq(t.ops[3].a, HX_HUGE);
    char err[256];
    ck_assert_msg(hx_validate(&t, err, sizeof err) == 0, "%s", err);
    struct hx_run_options o;
    struct hx_run_result *res = full_run(&o, p);
    ck_assert_int_eq(hx_run(&t, &o, res), 0);
    ck_assert_uint_eq(res->nulls, 3);
    o.alloc = hx_allocator_open(T_BAD_HUGE, NULL, err, sizeof err);
    ck_assert_msg(o.alloc != NULL, "%s", err);
    ck_assert_int_eq(hx_run(&t, &o, res), 1);
    ck_assert_uint_eq(res->first_op, 1);
    ck_assert_str_eq(res->report.kept[0].id, "K11");
    hx_allocator_close((struct hx_allocator *)o.alloc);
    free(res);
    hx_trace_free(&t);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, fill_and_thin);
    tcase_add_test(tc, full_where_batches_end);
    tcase_add_test(tc, kept_region_runs_alike);
    tcase_add_test(tc, pokes_trailer);
    tcase_add_test(tc, verify_budget_delays_not_loses);
    tcase_add_test(tc, huge_sizes_refused);
    tcase_add_test(tc, neighbours_verified_first);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
