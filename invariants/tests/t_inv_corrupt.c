/* t_inv_corrupt.c — every state invariant fires on a deliberate
 * corruption: build the standard heap (tinv.h) in a profile where the ID
 * applies, damage one field or link, and check that the ID fires at
 * INV_FULL (and at INV_LOCAL where the case says so) and that nothing
 * outside the case's allowed list fires with it.  Cases live in the table
 * of t_corrupt_cases.c; coverage is checked against the catalogue. */
#include "t_corrupt.h"
#include "tu_run.h"

#include <stdbool.h>

/* Check t at level: case cs's ID fires, and nothing outside its allowed
 * list fires with it. */
static void
expect_fired(struct tb *t, const struct corrupt_case *cs, enum obm_profile p,
             enum inv_level level, const void *touched)
{
    struct inv_report r;
    struct idset s;
    char buf[512];
    tb_check(t, level, touched, &s, &r);
    bool ok = idset_has(&s, cs->id);
    for (size_t i = 0; i < s.n; i++)
        ok = ok
             && (strcmp(s.ids[i], cs->id) == 0
                 || allowed_has(cs->allowed, s.ids[i]));
    if (!ok)
        inv_report_print(&r, stderr);
    ck_assert_msg(ok, "%s/%s %s fired {%s}, allowed {%s}", cs->id,
                  obm_geometry(p)->name, level == INV_FULL ? "FULL" : "LOCAL",
                  idset_str(&s, buf, sizeof buf), cs->allowed);
}

/* Run case cs in profile p: corrupt, expect its ID, restore, expect
 * nothing. */
static void
run_case(const struct corrupt_case *cs, enum obm_profile p)
{
    struct tb t;
    struct inv_report r;
    struct idset s;
    char buf[512];
    tb_build(&t, p, cs->offset);
    size_t n = tb_check(&t, INV_FULL, NULL, &s, &r);
    ck_assert_msg(n == 0, "%s/%s: clean heap reports %s", cs->id,
                  obm_geometry(p)->name, idset_str(&s, buf, sizeof buf));
    t.touched = NULL;
    cs->corrupt(&t);
    // no corruption changes the arena set: drop the radix memo (tested
    // on its own in radix_memo)
    inv_scratch_forget(&t.sc);
    expect_fired(&t, cs, p, INV_FULL, NULL);
    if (cs->local)
        expect_fired(&t, cs, p, INV_LOCAL, t.touched);
    tb_restore(&t);
    n = tb_check(&t, INV_FULL, NULL, &s, &r);
    ck_assert_msg(n == 0, "%s: restored heap reports %s", cs->id,
                  idset_str(&s, buf, sizeof buf));
    tb_close(&t);
}

START_TEST(corrupt_each_case)
{
    const struct corrupt_case *cs = &corrupt_cases[_i];
    unsigned prof = cs->profiles & inv_catalogue_find(cs->id)->profiles;
    ck_assert_msg(prof != 0, "case %s runs in no profile", cs->id);
    for (unsigned p = 0; p < OBM_NPROFILES; p++)
        if (prof & INV_PROFILE(p))
            run_case(cs, (enum obm_profile)p);
}
END_TEST

/* Every state ID of the catalogue has a corruption case. */
START_TEST(coverage)
{
    size_t n;
    const struct inv_entry *cat = inv_catalogue(&n);
    for (size_t i = 0; i < n; i++) {
        if (cat[i].kind != INV_KIND_STATE)
            continue;
        bool found = false;
        for (size_t k = 0; k < ncorrupt_cases; k++)
            found = found || strcmp(corrupt_cases[k].id, cat[i].id) == 0;
        ck_assert_msg(found, "state invariant %s has no corruption test",
                      cat[i].id);
    }
    for (size_t k = 0; k < ncorrupt_cases; k++)
        ck_assert_msg(inv_catalogue_find(corrupt_cases[k].id) != NULL,
                      "case %s is not in the catalogue", corrupt_cases[k].id);
}
END_TEST

/* CATALOGUE.md lists every ID of the table, in a "| ID |" row. */
START_TEST(catalogue_md)
{
    FILE *f = fopen(INV_CATALOGUE_MD, "r");
    ck_assert_msg(f != NULL, "cannot open %s", INV_CATALOGUE_MD);
    static char text[1 << 17];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    size_t n;
    const struct inv_entry *cat = inv_catalogue(&n);
    for (size_t i = 0; i < n; i++) {
        char row[16];
        snprintf(row, sizeof row, "| %s |", cat[i].id);
        ck_assert_msg(strstr(text, row) != NULL,
                      "CATALOGUE.md has no row for %s", cat[i].id);
    }
}
END_TEST

/* A clean heap stays clean at both levels wherever the check starts. */
START_TEST(clean_built_heap)
{
    struct tb t;
    struct inv_report r;
    struct idset s;
    char buf[256];
    tb_build(&t, (enum obm_profile)_i, 0);
    ck_assert_uint_eq(tb_check(&t, INV_FULL, NULL, &s, &r), 0);
    ck_assert_uint_eq(r.skipped, 0);
    for (size_t k = 0; k < t.nlive; k += 7) {
        size_t n = tb_check(&t, INV_LOCAL, t.live[k], &s, &r);
        ck_assert_msg(n == 0, "LOCAL at %p: %s", t.live[k],
                      idset_str(&s, buf, sizeof buf));
    }
    ck_assert_uint_eq(tb_check(&t, INV_LOCAL, t.raw[0], &s, &r), 0);
    // no scratch, live set unsorted: same verdict, fewer checks
    t.v.scratch = NULL;
    ck_assert_uint_eq(tb_check(&t, INV_FULL, NULL, &s, &r), 0);
    ck_assert(r.skipped & INV_SKIP_LIVE_ORDER);
    ck_assert_uint_eq(tb_check(&t, INV_LOCAL, t.live[0], &s, &r), 0);
    tb_close(&t);
}
END_TEST

/* The radix memo: a FULL with scratch skips the whole-tree walk while the
 * arena set and node counts match its last clean walk, walks again when
 * they change or after inv_scratch_forget(), and never remembers a walk
 * that found something. */
START_TEST(radix_memo)
{
    struct tb t;
    struct inv_report r;
    struct idset s;
    tb_build(&t, (enum obm_profile)_i, 0);
    ck_assert_uint_eq(tb_check(&t, INV_FULL, NULL, &s, &r), 0);
    // a stale mark three regions past arena 2, no arena changed
    uintptr_t reg = tb_arena(&t, 2)->address + 3 * t.g->arena_size;
    struct obm_arena_coverage *e = leaf(&t, reg);
    TB_POKE(&t, e->tail_hi, (int32_t)-1);
    ck_assert_uint_eq(tb_check(&t, INV_FULL, NULL, &s, &r), 0);
    inv_scratch_forget(&t.sc);
    tb_check(&t, INV_FULL, NULL, &s, &r);
    ck_assert(idset_has(&s, "O3"));
    // the failed walk left no memo: the next FULL walks and fires again
    tb_check(&t, INV_FULL, NULL, &s, &r);
    ck_assert(idset_has(&s, "O3"));
    tb_restore(&t);
    ck_assert_uint_eq(tb_check(&t, INV_FULL, NULL, &s, &r), 0);
    // a new arena changes the set: the walk runs and sees the mark
    TB_POKE(&t, e->tail_hi, (int32_t)-1);
    unsigned before = (unsigned)*t.s.narenas_currently_allocated;
    const struct obm_geometry *g = t.g;
    while (*t.s.narenas_currently_allocated == before)
        tb_live_add(&t, obm_malloc(t.heap, g->threshold));
    tb_check(&t, INV_FULL, NULL, &s, &r);
    ck_assert(idset_has(&s, "O3"));
    tb_restore(&t);
    tb_close(&t);
}
END_TEST

/* The printed and JSON forms of a report. */
START_TEST(report_forms)
{
    struct tb t;
    struct inv_report r;
    struct idset s;
    tb_build(&t, OBM_PY311, 0);
    TB_POKE(&t, t.used_pool->ref.count, t.used_pool->ref.count - 1);
    ck_assert_uint_gt(tb_check(&t, INV_FULL, NULL, &s, &r), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    inv_report_print(&r, f);
    inv_report_json(&r, f);
    fclose(f);
    ck_assert_msg(strstr(text, "INV P5 pool 0x") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "(arena 0, class 31)") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "after op #1") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "{\"violations\":[{\"id\":\"P5\"") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "\"total\":") != NULL, "%s", text);
    free(text);
    tb_close(&t);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("inv_corrupt");
    TCase *tc = tcase_create("corrupt");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, corrupt_each_case, 0, (int)ncorrupt_cases);
    tcase_add_test(tc, coverage);
    tcase_add_test(tc, catalogue_md);
    tcase_add_loop_test(tc, clean_built_heap, 0, OBM_NPROFILES);
    tcase_add_test(tc, report_forms);
    tcase_add_loop_test(tc, radix_memo, OBM_PY310, OBM_PY311 + 1);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
