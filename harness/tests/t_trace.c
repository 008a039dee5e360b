/* t_trace.c — the trace formats: text and binary round trips, malformed
 * input with its exact message, the binary reader on every truncation and
 * on random mutations (which must fail cleanly or read back canonically),
 * validation of traces built in memory, and hx_load.
 *
 *   t_trace [SEED]   seed of the mutation tests (default: the time)
 */
#include "hx.h"
#include "t_trace.h"
#include "tu_run.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A passing check costs nothing in hot loops (unlike ck_assert). */
#define CHECK_MSG(expr, ...)                                                  \
    do {                                                                      \
        if (!(expr))                                                          \
            ck_abort_msg(__VA_ARGS__);                                        \
    } while (0)

#define MUTATIONS 100000

static uint64_t seed;

static uint64_t
rng(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Every kind and flag, named and numeric ids, comments, expect lines
 * (one late), hex, tabs, CRLF, and the defaults of write-after-free. */
static const char rich[] = "# a trace with everything\n"
                           "expect P4 K5   # on the expect line\n"
                           "malloc 1 8            # first\n"
                           "calloc buf 4 0x10\r\n"
                           "\trealloc  1\t100  \n"
                           "  #   indented, blanks kept  \n"
                           "\n"
                           "free 1\n"
                           "malloc 1 0\n"
                           "malloc 18446744073709551615 0x400\n"
                           "malloc 0 1\n"
                           "malloc B.x-9_ 512\n"
                           "fault arenas 3\n"
                           "fault arenas always\n"
                           "fault arenas off\n"
                           "fault raw 0X1f\n"
                           "fault raw always\n"
                           "fault raw off\n"
                           "check #\n"
                           "free buf\n"
                           "double-free buf\n"
                           "write-after-free buf\n"
                           "write-after-free buf 8\n"
                           "write-after-free buf 0 16\n"
                           "write-after-free buf 4000 96\n"
                           "overflow 1 3\n"
                           "calloc c 0x100000000 0x100000000\n"
                           "expect B10\n"
                           "#end";

static const char rich_canonical[] = "expect P4 K5 B10\n"
                                     "# a trace with everything\n"
                                     "# on the expect line\n"
                                     "malloc 1 8  # first\n"
                                     "calloc buf 4 16\n"
                                     "realloc 1 100\n"
                                     "#   indented, blanks kept\n"
                                     "free 1\n"
                                     "malloc 1 0\n"
                                     "malloc 18446744073709551615 1024\n"
                                     "malloc 0 1\n"
                                     "malloc B.x-9_ 512\n"
                                     "fault arenas 3\n"
                                     "fault arenas always\n"
                                     "fault arenas off\n"
                                     "fault raw 31\n"
                                     "fault raw always\n"
                                     "fault raw off\n"
                                     "check  #\n"
                                     "free buf\n"
                                     "double-free buf\n"
                                     "write-after-free buf\n"
                                     "write-after-free buf 8\n"
                                     "write-after-free buf 0 16\n"
                                     "write-after-free buf 4000 96\n"
                                     "overflow 1 3\n"
                                     "calloc c 4294967296 4294967296\n"
                                     "#end\n";

static char *
text_of(const struct hx_trace *t)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    ck_assert_ptr_nonnull(f);
    CHECK_MSG(hx_write_text(t, f) == 0, "hx_write_text failed");
    fclose(f);
    return s;
}

static uint8_t *
binary_of(const struct hx_trace *t, size_t *len)
{
    char *s = NULL;
    FILE *f = open_memstream(&s, len);
    ck_assert_ptr_nonnull(f);
    CHECK_MSG(hx_write_binary(t, f) == 0, "hx_write_binary failed");
    fclose(f);
    return (uint8_t *)s;
}

/* Read text that must be valid. */
static void
must_read(struct hx_trace *t, const char *text)
{
    char err[256] = "";
    int rc = hx_read_text(t, "t", text, strlen(text), err, sizeof err);
    ck_assert_msg(rc == 0, "unexpected error: %s", err);
}

START_TEST(text_canonical)
{
    struct hx_trace t;
    must_read(&t, rich);
    ck_assert_uint_eq(t.nops, 23);
    ck_assert_uint_eq(t.nexpect, 3);
    ck_assert_ptr_nonnull(t.lines);
    ck_assert_uint_eq(t.lines[0], 3);
    ck_assert_uint_eq(t.lines[2], 5);
    char *s = text_of(&t);
    ck_assert_str_eq(s, rich_canonical);
    hx_trace_free(&t);
    // canonical text is a fixed point
    must_read(&t, s);
    char *s2 = text_of(&t);
    ck_assert_str_eq(s2, s);
    free(s);
    free(s2);
    hx_trace_free(&t);
}
END_TEST

START_TEST(text_binary_text)
{
    struct hx_trace t, u, v;
    char err[256] = "";
    must_read(&t, rich_canonical);
    size_t n, n2;
    uint8_t *b = binary_of(&t, &n);
    ck_assert_int_eq(memcmp(b, "OBCT\001", 5), 0);
    ck_assert_msg(hx_read_binary(&u, "b", b, n, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_ptr_null(u.lines);
    ck_assert_uint_eq(u.nops, t.nops);
    ck_assert_uint_eq(u.nslots, t.nslots);
    ck_assert_int_eq(memcmp(u.ops, t.ops, t.nops * sizeof *t.ops), 0);
    for (uint32_t s = 0; s < t.nslots; s++) {
        ck_assert_uint_eq(u.labels[s].num, t.labels[s].num);
        ck_assert_int_eq(u.labels[s].name == NULL, t.labels[s].name == NULL);
    }
    char *s = text_of(&u);
    ck_assert_str_eq(s, rich_canonical);
    // binary -> text -> binary is byte-identical
    must_read(&v, s);
    uint8_t *b2 = binary_of(&v, &n2);
    ck_assert_uint_eq(n2, n);
    ck_assert_int_eq(memcmp(b, b2, n), 0);
    free(s);
    free(b);
    free(b2);
    hx_trace_free(&t);
    hx_trace_free(&u);
    hx_trace_free(&v);
}
END_TEST

/* A recording's extras: arena events, the OBJ domain, placements. */
static const char recorded[] = "arena new 1 4096\n"
                               "malloc 0 24 @0:0:48\n"
                               "malloc big 600 obj @raw\n"
                               "calloc 2 3 8 obj @0:1:48\n"
                               "realloc 0 40 @0:2:48  # moved\n"
                               "free big obj\n"
                               "arena new 2 0\n"
                               "free 2\n"
                               "arena free 1\n";

START_TEST(recorded_round_trip)
{
    struct hx_trace t, u;
    char err[256] = "";
    must_read(&t, recorded);
    ck_assert_ptr_nonnull(t.place);
    ck_assert_uint_eq(t.ops[2].flags, HX_F_OBJ);
    ck_assert_uint_eq(t.place[2], HX_PLACE_RAW);
    ck_assert_uint_eq(hx_place_pool_index(t.place[4]), 2);
    char *s = text_of(&t);
    ck_assert_str_eq(s, recorded);
    size_t n;
    uint8_t *b = binary_of(&t, &n);
    ck_assert_msg(hx_read_binary(&u, "b", b, n, err, sizeof err) == 0, "%s",
                  err);
    char *s2 = text_of(&u);
    ck_assert_str_eq(s2, recorded);
    ck_assert_int_eq(memcmp(u.place, t.place, t.nops * sizeof *t.place), 0);
    free(s);
    free(s2);
    free(b);
    hx_trace_free(&t);
    hx_trace_free(&u);
}
END_TEST

/* Generated traces (numeric label == slot) carry no label records, and
 * recent blocks cost one byte of distance. */
START_TEST(binary_compact)
{
    struct hx_trace t, u;
    char err[256];
    hx_trace_init(&t, "gen:test");
    for (int k = 0; k < 1000; k++)
        hx_push(&t, HX_MALLOC, 0, hx_slot_fresh(&t), 16 + k % 1000, 0, 0);
    for (int k = 0; k < 1000; k++)
        hx_push(&t, HX_FREE, 0, (uint32_t)(999 - k), 0, 0, 0);
    size_t n;
    uint8_t *b = binary_of(&t, &n);
    // header, 1000 x (tag, size/8 < 128), 1000 x (tag, distance/8 < 128)
    ck_assert_uint_eq(n, 5 + 2000 + 2000 + 1);
    ck_assert_int_eq(hx_read_binary(&u, "b", b, n, err, sizeof err), 0);
    ck_assert_uint_eq(u.nslots, 1000);
    ck_assert_uint_eq(u.labels[999].num, 999);
    ck_assert_int_eq(memcmp(u.ops, t.ops, t.nops * sizeof *t.ops), 0);
    free(b);
    hx_trace_free(&t);
    hx_trace_free(&u);
}
END_TEST

/* Slots are numbered by first use; unused slots and the order in which a
 * generator created them do not reach the file. */
START_TEST(binary_renumbers)
{
    struct hx_trace t, u;
    char err[256];
    hx_trace_init(&t, "gen:test");
    uint32_t unused = hx_slot_name(&t, "unused");
    uint32_t x = hx_slot_num(&t, 7), y = hx_slot_name(&t, "y");
    (void)unused;
    hx_push(&t, HX_MALLOC, 0, y, 5, 0, 0);
    hx_push(&t, HX_MALLOC, 0, x, 1u << 30, 0, 0);
    hx_push(&t, HX_FREE, 0, y, 0, 0, 0);
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), 0);
    size_t n;
    uint8_t *b = binary_of(&t, &n);
    ck_assert_int_eq(hx_read_binary(&u, "b", b, n, err, sizeof err), 0);
    ck_assert_uint_eq(u.nslots, 2);
    ck_assert_str_eq(u.labels[0].name, "y");
    ck_assert_uint_eq(u.labels[1].num, 7);
    char *s1 = text_of(&t), *s2 = text_of(&u);
    ck_assert_str_eq(s1, "malloc y 5\nmalloc 7 1073741824\nfree y\n");
    ck_assert_str_eq(s2, s1);
    free(s1);
    free(s2);
    free(b);
    hx_trace_free(&t);
    hx_trace_free(&u);
}
END_TEST

/* Limits that need long input: lines and comments. */
START_TEST(text_long_lines)
{
    struct hx_trace t;
    char err[512];
    size_t len = 5000;
    char *s = malloc(len);
    memset(s, ' ', len);
    memcpy(s, "check", 5);
    ck_assert_int_eq(hx_read_text(&t, "t", s, len, err, sizeof err), -1);
    ck_assert_str_eq(err, "t:1: expected a line of at most 4096 bytes, "
                          "found 5000");
    hx_trace_free(&t);
    // 4096 bytes is fine; so is a comment of 2048
    s[4095] = '\n';
    ck_assert_int_eq(hx_read_text(&t, "t", s, 4096, err, sizeof err), 0);
    hx_trace_free(&t);
    memset(s, 'c', len);
    s[0] = '#';
    ck_assert_int_eq(hx_read_text(&t, "t", s, 2049, err, sizeof err), 0);
    ck_assert_uint_eq(strlen(t.notes[0].text), 2048);
    hx_trace_free(&t);
    ck_assert_int_eq(hx_read_text(&t, "t", s, 2050, err, sizeof err), -1);
    ck_assert_str_eq(err, "t:1: expected a comment of at most 2048 bytes, "
                          "found 2049");
    hx_trace_free(&t);
    free(s);
}
END_TEST

/* A trace built in memory has no lines: messages name op numbers. */
START_TEST(validate_ops)
{
    struct hx_trace t;
    char err[256];
    hx_trace_init(&t, "gen:x");
    uint32_t a = hx_slot_fresh(&t);
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), 0);
    hx_push(&t, HX_MALLOC, 0, a, 8, 0, 0);
    hx_push(&t, HX_FREE, 0, a, 0, 0, 0);
    hx_push(&t, HX_FREE, 0, a, 0, 0, 0);
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_str_eq(err, "gen:x: op #3: free of block '0', which is not "
                          "live (freed at op #2)");
    t.ops[2].kind = HX_NKINDS;
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_str_eq(err, "gen:x: op #3: expected an operation kind below "
                          "12, found 12");
    t.ops[2] = (struct hx_op){.kind = HX_CHECK, .slot = a};
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_str_eq(err, "gen:x: op #3: check names slot 0; expected none");
    t.ops[2] = (struct hx_op){.kind = HX_FREE, .slot = 5};
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_str_eq(err, "gen:x: op #3: free of slot 5; expected a slot "
                          "below 1");
    t.ops[2] = (struct hx_op){.kind = HX_MALLOC, .flags = HX_F_OFF, .a = 1};
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_str_eq(err, "gen:x: op #3: malloc carries flags 0x2; expected "
                          "none");
    t.ops[2] = (struct hx_op){.kind = HX_FAULT_RAW,
                              .slot = HX_NO_SLOT,
                              .flags = HX_F_ALWAYS,
                              .a = 2};
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "always with a count of 2"));
    t.ops[2] = (struct hx_op){.kind = HX_DOUBLE_FREE, .slot = a, .b = 1};
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "double-free carries b = 1"));
    t.ops[2].b = 0;
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), 0);
    hx_trace_free(&t);
}
END_TEST

/* What the writers rely on: notes in order, printable; expect IDs. */
START_TEST(validate_notes)
{
    struct hx_trace t;
    char err[256];
    hx_trace_init(&t, "gen:x");
    hx_push(&t, HX_CHECK, 0, HX_NO_SLOT, 0, 0, 0);
    hx_note_add(&t, false, "after");
    hx_note_add(&t, true, "trailing op 1");
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_str_eq(err, "gen:x: note #2: out of order (op #1 after op #2)");
    t.notes[1].at = 1;
    t.notes[1].trailing = false;
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), 0);
    t.notes[1].text[2] = '\n';
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_str_eq(err, "gen:x: note #2: its text holds a line break");
    t.notes[1].text[2] = ' ';
    t.notes[1].text[12] = ' ';
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "ends in a blank"));
    t.notes[1].text[12] = '1';
    t.notes[1].trailing = true;
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "note #2: at op #2; expected at most"));
    t.notes[1].trailing = false;
    strcpy(t.expect[0], "P4");
    strcpy(t.expect[1], "p4");
    t.nexpect = 2;
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "expected ID #2 is malformed"));
    t.nexpect = 1;
    hx_slot_name(&t, "a b");
    ck_assert_int_eq(hx_validate(&t, err, sizeof err), -1);
    ck_assert_str_eq(err, "gen:x: slot 0: label 'a b' is not a block name "
                          "such as buf_1");
    hx_trace_free(&t);
}
END_TEST

/* Check that an accepted file is canonical: written back byte for byte,
 * and the same through text. */
static void
check_canonical(const struct hx_trace *t, const uint8_t *data, size_t len)
{
    size_t n;
    uint8_t *b = binary_of(t, &n);
    CHECK_MSG(n == len && memcmp(b, data, n) == 0,
              "accepted a non-canonical file of %zu bytes", len);
    char *s = text_of(t);
    struct hx_trace u;
    char err[512];
    CHECK_MSG(hx_read_text(&u, "t", s, strlen(s), err, sizeof err) == 0,
              "its text does not read back: %s", err);
    free(b);
    b = binary_of(&u, &n);
    CHECK_MSG(n == len && memcmp(b, data, n) == 0,
              "binary -> text -> binary differs");
    hx_trace_free(&u);
    free(b);
    free(s);
}

START_TEST(binary_truncated)
{
    struct hx_trace t;
    char err[512];
    must_read(&t, rich);
    size_t n;
    uint8_t *b = binary_of(&t, &n);
    hx_trace_free(&t);
    for (size_t k = 0; k < n; k++) {
        uint8_t *p = malloc(k); /* exact size for ASan */
        memcpy(p, b, k);
        CHECK_MSG(hx_read_binary(&t, "b", p, k, err, sizeof err) == -1,
                  "prefix of %zu bytes accepted", k);
        CHECK_MSG(strncmp(err, "b: byte ", 8) == 0, "odd message: %s", err);
        hx_trace_free(&t);
        free(p);
    }
    ck_assert_int_eq(hx_read_binary(&t, "b", b, n, err, sizeof err), 0);
    check_canonical(&t, b, n);
    hx_trace_free(&t);
    free(b);
}
END_TEST

/* Apply 1..4 random edits (set, flip, insert, delete) to d[0..*n). */
static void
mutate(uint64_t *s, uint8_t *d, size_t *n, size_t cap)
{
    for (int e = 1 + (int)(rng(s) % 4); e > 0; e--) {
        size_t at = *n ? rng(s) % *n : 0;
        switch (rng(s) % 4) {
        case 0:
            if (*n)
                d[at] = (uint8_t)rng(s);
            break;
        case 1:
            if (*n)
                d[at] ^= (uint8_t)(1u << rng(s) % 8);
            break;
        case 2:
            if (*n < cap) {
                memmove(d + at + 1, d + at, *n - at);
                d[at] = (uint8_t)rng(s);
                ++*n;
            }
            break;
        default:
            if (*n) {
                memmove(d + at, d + at + 1, *n - at - 1);
                --*n;
            }
        }
    }
}

START_TEST(binary_mutations)
{
    struct hx_trace t;
    char err[512];
    must_read(&t, rich);
    size_t n;
    uint8_t *b = binary_of(&t, &n);
    hx_trace_free(&t);
    uint64_t s = seed;
    unsigned long accepted = 0;
    for (unsigned long k = 0; k < MUTATIONS; k++) {
        size_t len = n;
        uint8_t *p = malloc(n + 8);
        memcpy(p, b, n);
        mutate(&s, p, &len, n + 8);
        uint8_t *q = malloc(len); /* exact size for ASan */
        memcpy(q, p, len);
        int rc = hx_read_binary(&t, "b", q, len, err, sizeof err);
        CHECK_MSG(rc == 0 || (rc == -1 && strncmp(err, "b: ", 3) == 0),
                  "rc %d, message '%s'", rc, err);
        if (rc == 0) {
            accepted++;
            check_canonical(&t, q, len);
        }
        hx_trace_free(&t);
        free(p);
        free(q);
    }
    printf("binary mutations: %d, %lu accepted\n", MUTATIONS, accepted);
    free(b);
}
END_TEST

/* The text reader on mutated text: clean errors, or a canonical form that
 * reads back to itself. */
START_TEST(text_mutations)
{
    uint64_t s = seed ^ 0x5eed;
    size_t n = strlen(rich);
    for (unsigned long k = 0; k < MUTATIONS / 10; k++) {
        size_t len = n;
        uint8_t *p = malloc(n + 8);
        memcpy(p, rich, n);
        mutate(&s, p, &len, n + 8);
        struct hx_trace t;
        char err[512];
        char *q = malloc(len); /* exact size for ASan */
        memcpy(q, p, len);
        int rc = hx_read_text(&t, "t", q, len, err, sizeof err);
        CHECK_MSG(rc == 0 || (rc == -1 && strncmp(err, "t:", 2) == 0),
                  "rc %d, message '%s'", rc, err);
        if (rc == 0) {
            char *s1 = text_of(&t);
            struct hx_trace u;
            CHECK_MSG(hx_read_text(&u, "t", s1, strlen(s1), err, sizeof err)
                          == 0,
                      "canonical text does not read back: %s", err);
            char *s2 = text_of(&u);
            CHECK_MSG(strcmp(s1, s2) == 0, "canonical text not a fixed point");
            hx_trace_free(&u);
            free(s1);
            free(s2);
        }
        hx_trace_free(&t);
        free(p);
        free(q);
    }
}
END_TEST

static void
write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

START_TEST(load_files)
{
    char dir[] = "/tmp/t_trace.XXXXXX", path[64], err[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct hx_trace t;
    must_read(&t, rich);
    size_t n;
    uint8_t *b = binary_of(&t, &n);
    hx_trace_free(&t);
    snprintf(path, sizeof path, "%s/a.obct", dir);
    write_file(path, b, n);
    ck_assert_msg(hx_load(&t, path, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(t.nops, 23);
    ck_assert_str_eq(t.source, path);
    hx_trace_free(&t);
    unlink(path);
    snprintf(path, sizeof path, "%s/a.trace", dir);
    write_file(path, rich, strlen(rich));
    ck_assert_int_eq(hx_load(&t, path, err, sizeof err), 0);
    ck_assert_uint_eq(t.nops, 23);
    hx_trace_free(&t);
    write_file(path, "malloc 1 8\nfree 2\n", 18);
    ck_assert_int_eq(hx_load(&t, path, err, sizeof err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:2: free of block '2'", path);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    hx_trace_free(&t);
    write_file(path, "", 0);
    ck_assert_int_eq(hx_load(&t, path, err, sizeof err), 0);
    ck_assert_uint_eq(t.nops, 0);
    hx_trace_free(&t);
    // "-" reads standard input
    write_file(path, b, n);
    int saved = dup(0), fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 0);
    close(fd);
    int rc = hx_load(&t, "-", err, sizeof err);
    dup2(saved, 0);
    close(saved);
    clearerr(stdin);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_str_eq(t.source, "<stdin>");
    ck_assert_uint_eq(t.nops, 23);
    hx_trace_free(&t);
    unlink(path);
    ck_assert_int_eq(hx_load(&t, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    ck_assert_str_eq(err, want);
    hx_trace_free(&t);
    ck_assert_int_eq(hx_load(&t, dir, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: Is a directory", dir);
    ck_assert_str_eq(err, want);
    hx_trace_free(&t);
    rmdir(dir);
    free(b);
}
END_TEST

int
main(int argc, char **argv)
{
    seed = argc > 1 ? strtoull(argv[1], NULL, 0) : (uint64_t)time(NULL);
    printf("seed %llu\n", (unsigned long long)seed);
    Suite *su = suite_create("trace");
    TCase *tc = tcase_create("formats");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, text_canonical);
    tcase_add_test(tc, text_binary_text);
    tcase_add_test(tc, binary_compact);
    tcase_add_test(tc, recorded_round_trip);
    tcase_add_test(tc, binary_renumbers);
    tcase_add_test(tc, text_long_lines);
    tcase_add_test(tc, validate_ops);
    tcase_add_test(tc, validate_notes);
    t_trace_add_malformed(tc);
    tcase_add_test(tc, binary_truncated);
    tcase_add_test(tc, binary_mutations);
    tcase_add_test(tc, text_mutations);
    tcase_add_test(tc, load_files);
    suite_add_tcase(su, tc);
    return tu_run(su);
}
