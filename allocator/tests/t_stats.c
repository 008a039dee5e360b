/* t_stats.c — obm_print_stats, CPython's pymalloc report (facts §7):
 * exact text for fixed heaps, and for every profile a report checked
 * against the heap state walked independently (C3 byte ledger).
 */
#include "testutil.h"

/* Capture obm_print_stats(h) in a malloc'd string. */
static char *
capture_stats(const obm_heap *h)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
    obm_print_stats(h, out);
    ck_assert_int_eq(fclose(out), 0);
    ck_assert_ptr_nonnull(buf);
    return buf;
}

/* Split text into at most max lines (in place); every line must end in
 * a newline. */
static size_t
split_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    char *p = text;
    while (*p) {
        char *nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "last line \"%s\" has no newline", p);
        ck_assert_uint_lt(n, max);
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

/* The underline: as long as the header, dashes under every letter. */
static void
check_underline(const char *header, const char *dashes)
{
    ck_assert_uint_eq(strlen(dashes), strlen(header));
    for (size_t k = 0; dashes[k]; k++) {
        ck_assert_msg(dashes[k] == '-' || dashes[k] == ' ',
                      "underline \"%s\" has '%c'", dashes, dashes[k]);
        if (header[k] != ' ')
            ck_assert_msg(dashes[k] == '-', "underline \"%s\" col %zu", dashes,
                          k);
    }
}

/* Compare the report line by line; a NULL expected line is the dashed
 * underline of the line before it. */
static void
check_exact(char *text, const char *const *want, size_t nwant)
{
    char *lines[128];
    size_t n = split_lines(text, lines, 128);
    for (size_t k = 0; k < nwant && k < n; k++) {
        if (want[k] == NULL)
            check_underline(want[k - 1], lines[k]);
        else
            ck_assert_msg(strcmp(lines[k], want[k]) == 0,
                          "line %zu:\n  got  \"%s\"\n  want \"%s\"", k + 1,
                          lines[k], want[k]);
    }
    ck_assert_uint_eq(n, nwant);
}

/* 22 blocks of 16 bytes and 3 of 500 in one fresh heap. */
static void
small_scenario(struct th *t, void **held)
{
    for (int k = 0; k < 22; k++)
        held[k] = obm_malloc(t->heap, 16);
    for (int k = 22; k < 25; k++)
        held[k] = obm_malloc(t->heap, 500);
}

static const char *const want_py311[] = {
    "Small block threshold = 512, in 32 size classes.",
    "",
    "class   size   num pools   blocks in use  avail blocks",
    NULL,
    "    0     16           1              22           999",
    "   31    512           1               3            28",
    "",
    "# arenas allocated total           =                    1",
    "# arenas reclaimed                 =                    0",
    "# arenas highwater mark            =                    1",
    "# arenas allocated current         =                    1",
    "1 arenas * 1048576 bytes/arena     =            1,048,576",
    "",
    "# bytes in allocated blocks        =                1,888",
    "# bytes in available blocks        =               30,320",
    "62 unused pools * 16384 bytes      =            1,015,808",
    "# bytes lost to pool headers       =                   96",
    "# bytes lost to quantization       =                  464",
    "# bytes lost to arena alignment    =                    0",
    "Total                              =            1,048,576",
    "",
    "arena map counts",
    "# arena map mid nodes              =                    1",
    "# arena map bot nodes              =                    1",
    "",
    "# bytes lost to arena map root     =              262,144",
    "# bytes lost to arena map mid      =              262,144",
    "# bytes lost to arena map bot      =              131,072",
    "Total                              =              655,360",
};

static const char *const want_py38[] = {
    "Small block threshold = 512, in 32 size classes.",
    "",
    "class   size   num pools   blocks in use  avail blocks",
    NULL,
    "    0     16           1              22           231",
    "   31    512           1               3             4",
    "",
    "# arenas allocated total           =                    1",
    "# arenas reclaimed                 =                    0",
    "# arenas highwater mark            =                    1",
    "# arenas allocated current         =                    1",
    "1 arenas * 262144 bytes/arena      =              262,144",
    "",
    "# bytes in allocated blocks        =                1,888",
    "# bytes in available blocks        =                5,744",
    "62 unused pools * 4096 bytes       =              253,952",
    "# bytes lost to pool headers       =                   96",
    "# bytes lost to quantization       =                  464",
    "# bytes lost to arena alignment    =                    0",
    "Total                              =              262,144",
};

START_TEST(t_stats_exact_py311)
{
    struct th t;
    void *held[25];
    th_open(&t, OBM_PY311);
    small_scenario(&t, held);
    char *text = capture_stats(t.heap);
    check_exact(text, want_py311, sizeof want_py311 / sizeof want_py311[0]);
    free(text);
    for (int k = 0; k < 25; k++)
        obm_free(t.heap, held[k]);
    th_close(&t);
}
END_TEST

/* py38 and py39 print the same report (no arena map section). */
START_TEST(t_stats_exact_py38)
{
    struct th t;
    void *held[25];
    th_open(&t, _i ? OBM_PY39 : OBM_PY38);
    small_scenario(&t, held);
    char *text = capture_stats(t.heap);
    check_exact(text, want_py38, sizeof want_py38 / sizeof want_py38[0]);
    free(text);
    for (int k = 0; k < 25; k++)
        obm_free(t.heap, held[k]);
    th_close(&t);
}
END_TEST

/* --- The report against the heap state ----------------------------------- */

/* Return the value of the first printone line labelled label at or after
 * line *from (which is moved past it); check the line's layout. */
static size_t
value_of(char **lines, size_t n, size_t *from, const char *label)
{
    for (size_t k = *from; k < n; k++) {
        const char *l = lines[k];
        size_t ll = strlen(label);
        if (strncmp(l, label, ll) != 0 || strlen(l) != 57 || l[35] != '=')
            continue;
        if (strspn(l + ll, " ") != 35 - ll)
            continue;
        char digits[32];
        size_t nd = 0;
        for (const char *c = l + 36; *c; c++) {
            if (*c >= '0' && *c <= '9')
                digits[nd++] = *c;
            else
                ck_assert_msg(*c == ' ' || *c == ',', "bad value \"%s\"", l);
        }
        ck_assert_uint_gt(nd, 0);
        digits[nd] = '\0';
        *from = k + 1;
        return strtoull(digits, NULL, 10);
    }
    ck_abort_msg("no line \"%s ... = value\" in the report", label);
    return 0;
}

/* The facts §7 ledger, walked from the state. */
struct ledger {
    size_t npools[64], inuse[64], avail[64];
    size_t alloc, availb, nfree, headers, quant, align;
};

static void
walk_ledger(const struct th *t, struct ledger *lg)
{
    const struct obm_geometry *g = t->g;
    memset(lg, 0, sizeof *lg);
    FOR_EACH_CARVED_POOL(t, q, {
        if (q->ref.count == 0)
            continue;
        size_t bs = obm_blocksize(g, q->szidx);
        size_t nb = obm_numblocks(g, q->szidx);
        lg->npools[q->szidx]++;
        lg->inuse[q->szidx] += q->ref.count;
        lg->avail[q->szidx] += nb - q->ref.count;
        lg->alloc += q->ref.count * bs;
        lg->availb += (nb - q->ref.count) * bs;
        lg->headers += g->pool_overhead;
        lg->quant += (g->pool_size - g->pool_overhead) % bs;
    })
    for (unsigned i = 0; i < *t->s.maxarenas; i++) {
        const struct obm_arena *a = &(*t->s.arenas)[i];
        if (a->address == 0)
            continue;
        lg->nfree += a->nfreepools;
        if (a->address % g->pool_size)
            lg->align += g->pool_size;
    }
}

/* Check the class table rows against the ledger. */
static void
check_rows(const struct th *t, char **lines, size_t n, const struct ledger *lg)
{
    size_t k = 4;
    for (unsigned i = 0; i < t->g->nclasses; i++) {
        if (lg->npools[i] == 0)
            continue;
        char want[128];
        snprintf(want, sizeof want, "%5u %6u %11zu %15zu %13zu", i,
                 obm_blocksize(t->g, i), lg->npools[i], lg->inuse[i],
                 lg->avail[i]);
        ck_assert_uint_lt(k, n);
        ck_assert_str_eq(lines[k], want);
        k++;
    }
    ck_assert_str_eq(lines[k], ""); /* no other rows */
}

/* Check the arena counter lines; return the line after them. */
static size_t
check_arena_lines(const struct th *t, char **lines, size_t n, size_t at)
{
    size_t na = narenas(t), nt = *t->s.ntimes_arena_allocated;
    ck_assert_uint_eq(value_of(lines, n, &at, "# arenas allocated total"), nt);
    ck_assert_uint_eq(value_of(lines, n, &at, "# arenas reclaimed"), nt - na);
    ck_assert_uint_eq(value_of(lines, n, &at, "# arenas highwater mark"),
                      *t->s.narenas_highwater);
    ck_assert_uint_eq(value_of(lines, n, &at, "# arenas allocated current"),
                      na);
    char label[64];
    snprintf(label, sizeof label, "%zu arenas * %zu bytes/arena", na,
             t->g->arena_size);
    ck_assert_uint_eq(value_of(lines, n, &at, label), na * t->g->arena_size);
    return at;
}

/* Check the byte ledger against lg and C3; return the line after it. */
static size_t
check_ledger_lines(const struct th *t, char **lines, size_t n, size_t at,
                   const struct ledger *lg)
{
    size_t sum = 0, v;
    sum += v = value_of(lines, n, &at, "# bytes in allocated blocks");
    ck_assert_uint_eq(v, lg->alloc);
    sum += v = value_of(lines, n, &at, "# bytes in available blocks");
    ck_assert_uint_eq(v, lg->availb);
    char label[64];
    snprintf(label, sizeof label, "%zu unused pools * %u bytes", lg->nfree,
             t->g->pool_size);
    sum += v = value_of(lines, n, &at, label);
    ck_assert_uint_eq(v, lg->nfree * t->g->pool_size);
    sum += v = value_of(lines, n, &at, "# bytes lost to pool headers");
    ck_assert_uint_eq(v, lg->headers);
    sum += v = value_of(lines, n, &at, "# bytes lost to quantization");
    ck_assert_uint_eq(v, lg->quant);
    sum += v = value_of(lines, n, &at, "# bytes lost to arena alignment");
    ck_assert_uint_eq(v, lg->align);
    ck_assert_uint_eq(value_of(lines, n, &at, "Total"), sum);
    ck_assert_uint_eq(sum, narenas(t) * t->g->arena_size); /* C3 */
    return at;
}

/* Check the arena map section (3.10+); return the line after it. */
static size_t
check_arena_map_lines(const struct th *t, char **lines, size_t n, size_t at)
{
    ck_assert_uint_lt(at + 1, n);
    ck_assert_str_eq(lines[at], "");
    ck_assert_str_eq(lines[at + 1], "arena map counts");
    size_t mid = value_of(lines, n, &at, "# arena map mid nodes");
    size_t bot = value_of(lines, n, &at, "# arena map bot nodes");
    ck_assert_uint_eq(mid, (size_t)*t->s.arena_map_mid_count);
    ck_assert_uint_eq(bot, (size_t)*t->s.arena_map_bot_count);
    size_t root_b = sizeof(void *) << t->g->radix_top_bits;
    size_t mid_b = sizeof(void *) << t->g->radix_mid_bits;
    size_t bot_b = sizeof(struct obm_arena_coverage) << t->g->radix_bot_bits;
    ck_assert_uint_eq(
        value_of(lines, n, &at, "# bytes lost to arena map root"), root_b);
    ck_assert_uint_eq(value_of(lines, n, &at, "# bytes lost to arena map mid"),
                      mid * mid_b);
    ck_assert_uint_eq(value_of(lines, n, &at, "# bytes lost to arena map bot"),
                      bot * bot_b);
    ck_assert_uint_eq(value_of(lines, n, &at, "Total"),
                      root_b + mid * mid_b + bot * bot_b);
    return at;
}

/* A mixed heap: several arenas (misaligned for 16 KiB pools), full, used
 * and empty pools of many classes, some raw blocks. */
START_TEST(t_stats_matches_state)
{
    enum obm_profile p = (enum obm_profile)_i;
    struct th t;
    th_open_offset(&t, p, p >= OBM_PY310 ? 4096 : 0);
    struct fill f;
    unsigned npools = p >= OBM_PY310 ? 63 : 64;
    fill_arenas(&t, &f, 2, npools);
    enum {
        N = 3000
    };
    void **b = calloc(N, sizeof(void *));
    ck_assert_ptr_nonnull(b);
    for (size_t k = 0; k < N; k++)
        b[k] = obm_malloc(t.heap, (k * 53) % 600);
    for (size_t k = 0; k < N; k += 2)
        obm_free(t.heap, b[k]);
    for (unsigned q = 0; q < 20; q++)
        free_pool(&t, &f, 0, q);
    free_pool(&t, &f, 1, 5);
    struct ledger lg;
    walk_ledger(&t, &lg);
    char *text = capture_stats(t.heap);
    char *lines[256];
    size_t n = split_lines(text, lines, 256), at = 0;
    char head[64];
    snprintf(head, sizeof head,
             "Small block threshold = 512, in %u size "
             "classes.",
             t.g->nclasses);
    ck_assert_str_eq(lines[0], head);
    ck_assert_str_eq(lines[2],
                     "class   size   num pools   blocks in use  avail blocks");
    check_underline(lines[2], lines[3]);
    check_rows(&t, lines, n, &lg);
    ck_assert_uint_eq(lg.align,
                      p >= OBM_PY310 ? narenas(&t) * t.g->pool_size : 0);
    at = check_arena_lines(&t, lines, n, at);
    at = check_ledger_lines(&t, lines, n, at, &lg);
    if (t.g->ownership == OBM_OWN_RADIX)
        at = check_arena_map_lines(&t, lines, n, at);
    ck_assert_uint_eq(at, n); /* nothing after the last section */
    free(text);
    for (size_t k = 1; k < N; k += 2)
        obm_free(t.heap, b[k]);
    free(b);
    fill_release(&t, &f);
    th_close(&t);
}
END_TEST

/* facts §7: "# times object malloc called" prints the debug layer's serial
 * number (2.7 reports only exist in debug builds; 3.x prints it only with
 * debug hooks).  This core has no debug layer, so no profile prints it. */
START_TEST(t_stats_malloc_called_line)
{
    enum obm_profile p = (enum obm_profile)_i;
    struct th t;
    th_open(&t, p);
    void *x = obm_malloc(t.heap, 10);
    char *text = capture_stats(t.heap);
    ck_assert_msg(strstr(text, "# times object malloc called") == NULL,
                  "%s: a serial-number line without a debug layer", t.g->name);
    free(text);
    obm_free(t.heap, x);
    th_close(&t);
}
END_TEST

/* An empty heap reports zeros; the two-arena literal of the brief. */
START_TEST(t_stats_empty_and_two_arenas)
{
    struct th t;
    th_open(&t, (enum obm_profile)_i);
    char *text = capture_stats(t.heap);
    char *lines[128];
    size_t n = split_lines(text, lines, 128), at = 0;
    ck_assert_str_eq(lines[4], ""); /* no class rows */
    ck_assert_uint_eq(value_of(lines, n, &at, "# arenas allocated current"),
                      0);
    char label[64];
    snprintf(label, sizeof label, "0 arenas * %zu bytes/arena",
             t.g->arena_size);
    ck_assert_uint_eq(value_of(lines, n, &at, label), 0);
    ck_assert_uint_eq(value_of(lines, n, &at, "Total"), 0);
    free(text);
    struct fill f;
    fill_arenas(&t, &f, 2, 64);
    text = capture_stats(t.heap);
    ck_assert_ptr_nonnull(strstr(
        text,
        "\n# arenas allocated total           =                    2\n"));
    ck_assert_ptr_nonnull(strstr(
        text,
        "\n# arenas allocated current         =                    2\n"));
    ck_assert_ptr_nonnull(strstr(text, "\n0 unused pools * "));
    free(text);
    fill_release(&t, &f);
    th_close(&t);
}
END_TEST

static Suite *
stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, t_stats_exact_py311);
    tcase_add_loop_test(tc, t_stats_exact_py38, 0, 2);
    tcase_add_loop_test(tc, t_stats_matches_state, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_stats_malloc_called_line, 0, OBM_NPROFILES);
    tcase_add_loop_test(tc, t_stats_empty_and_two_arenas, 0, OBM_NPROFILES);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return tu_run(stats_suite());
}
