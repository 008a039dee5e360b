/* t_trace_bad.c — malformed traces, text and binary: each must be refused
 * with its exact "SOURCE:LINE:" (or "SOURCE: byte N:") prefix and a phrase
 * saying what was expected, leaving the trace empty. */
#include "hx.h"
#include "t_trace.h"

#include <stdlib.h>
#include <string.h>

struct bad_text {
    const char *text;
    size_t len; /* 0: strlen(text) */
    const char *prefix, *phrase;
};

static const struct bad_text bad_texts[] = {
    {"mallok 1 8\n", 0, "t:1: ", "expected an operation (malloc,"},
    {"\nmalloc 1\n", 0,
     "t:2: ", "expected a size after 'malloc 1', found end of line"},
    {"malloc b1 abc\n", 0,
     "t:1: ", "expected a size after 'malloc b1', found 'abc'"},
    {"malloc 1 0x\n", 0, "t:1: ", "found '0x'"},
    {"malloc 1 0x1g\n", 0, "t:1: ", "found '0x1g'"},
    {"malloc 1 -1\n", 0, "t:1: ", "expected a size after 'malloc 1'"},
    {"malloc 1 2000000000\n", 0,
     "t:1: ", "malloc of block '1': size 2000000000 is too large"},
    {"malloc 1 8\nrealloc 1 0x40000001\n", 0,
     "t:2: ", "realloc of block '1': size 1073741825 is too large"},
    {"malloc 1 18446744073709551616\n", 0, "t:1: ", "(more than 64 bits)"},
    {"malloc 1 0x10000000000000000\n", 0, "t:1: ", "(more than 64 bits)"},
    {"malloc 007 8\n", 0, "t:1: ",
     "expected a block id after 'malloc', found '007' (no leading zeros)"},
    {"malloc 1 08\n", 0, "t:1: ", "found '08' (no leading zeros)"},
    {"malloc 1 8\nfree 2\n", 0,
     "t:2: ", "free of block '2', which is not live (never allocated)"},
    {"malloc 1 8\nrealloc x 9\n", 0,
     "t:2: ", "realloc of block 'x', which is not live (never allocated)"},
    {"malloc 1 8\nfree 1\nfree 1\n", 0,
     "t:3: ", "free of block '1', which is not live (freed at line 2)"},
    {"malloc 1 8\ndouble-free 1\n", 0, "t:2: ",
     "double-free of block '1', which is live, not freed (allocated at "
     "line 1)"},
    {"double-free q\n", 0, "t:1: ", "which is not freed (never allocated)"},
    {"malloc a 8\nmalloc a 8\n", 0, "t:2: ",
     "malloc of block 'a', which is still live (allocated at line 1)"},
    {"calloc a 1 1\nfree a\nmalloc a 1\ncalloc a 1 1\n", 0,
     "t:4: ", "still live (allocated at line 3)"},
    {"fault arenas 0\n", 0, "t:1: ", "fault arenas with a count of 0"},
    {"fault heap 3\n", 0,
     "t:1: ", "expected 'arenas' or 'raw' after 'fault', found 'heap'"},
    {"fault raw sometimes\n", 0,
     "t:1: ", "expected a count, 'always' or 'off' after 'fault raw'"},
    {"fault arenas\n", 0, "t:1: ", "found end of line"},
    {"fault raw off now\n", 0,
     "t:1: ", "expected end of line after 'fault raw off', found 'now'"},
    {"expect p4\n", 0, "t:1: ",
     "expected an invariant ID such as P4 after 'expect', found 'p4'"},
    {"expect\n", 0, "t:1: ", "after 'expect', found end of line"},
    {"expect P12345678\n", 0, "t:1: ", "found 'P12345678'"},
    {"expect P4x\n", 0, "t:1: ", "found 'P4x'"},
    {"expect P1 P2 P3 P4 P5\n# c\nexpect A1 A2 A3 A4\n", 0,
     "t:3: ", "expected at most 8 expected IDs in the file"},
    {"malloc 1 8\0\n", 11, "t:1: ", "found a NUL byte"},
    {"calloc a 65536 65536\n", 0,
     "t:1: ", "calloc of block 'a': 65536 x 65536 bytes is too large"},
    {"malloc 1 8\nfree 1 2\n", 0,
     "t:2: ", "expected end of line after 'free 1', found '2'"},
    {"check now\n", 0, "t:1: ", "after 'check', found 'now'"},
    {"malloc 1 8\noverflow 1 0\n", 0,
     "t:2: ", "overflow of block '1' by 0 bytes; expected 1..4096"},
    {"malloc 1 8\noverflow 1 4097\n", 0, "t:2: ", "by 4097 bytes"},
    {"malloc 1 8\nfree 1\noverflow 1 3\n", 0,
     "t:3: ", "overflow of block '1', which is not live (freed at line 2)"},
    {"malloc 1 8\nfree 1\nwrite-after-free 1 4090 8\n", 0,
     "t:3: ", "offset + length <= 4096"},
    {"malloc 1 8\nfree 1\nwrite-after-free 1 0 0\n", 0,
     "t:3: ", "with length 0"},
    {"malloc 1 8\nwrite-after-free 1\n", 0,
     "t:2: ", "write-after-free of block '1', which is live, not freed"},
    {"malloc 1 8\nfree 1\nwrite-after-free 1 x\n", 0,
     "t:3: ", "expected an offset after 'write-after-free 1', found 'x'"},
    {"malloc 1 8\nfree 1\nwrite-after-free 1 0 y\n", 0,
     "t:3: ", "expected a length after 'write-after-free 1 0', found 'y'"},
    {"calloc q 4\n", 0, "t:1: ",
     "expected an element size after 'calloc q 4', found end of line"},
    {"malloc a$b 8\n", 0,
     "t:1: ", "expected a block id after 'malloc', found 'a$b'"},
    {"malloc "
     "a234567890123456789012345678901234567890123456789012345678901234 1\n",
     0, "t:1: ", "(names hold at most 63 characters)"},
    {"free\n", 0, "t:1: ", "expected a block id after 'free', found end"},
    {"\r\nmalloc 1 8\r\nfree 1\r\nfree 1\r\n", 0, "t:4: ", "freed at line 3"},
    {"malloc 1 8\n \t\nmalloc\t2   x\n", 0,
     "t:3: ", "expected a size after 'malloc 2', found 'x'"},
    {"malloc 1 8 # a\rb\n", 0, "t:1: ", "without carriage returns"},
    {"calloc buf 4 00", 0, "t:1: ", "found '00' (no leading zeros)"},
    {"malloc 1 8\nfree 1\nfree 1", 0, "t:3: ", "(freed at line 2)"},
    {"expect K1 q", 0, "t:1: ", "after 'expect K1', found 'q'"},
    {"fault raw 0x", 0, "t:1: ", "found '0x'"},
};

START_TEST(text_malformed)
{
    const struct bad_text *c = &bad_texts[_i];
    size_t len = c->len ? c->len : strlen(c->text);
    // an exact-size copy: the reader must not look past len
    char *text = malloc(len);
    memcpy(text, c->text, len);
    struct hx_trace t;
    char err[512] = "";
    ck_assert_int_eq(hx_read_text(&t, "t", text, len, err, sizeof err), -1);
    ck_assert_msg(strncmp(err, c->prefix, strlen(c->prefix)) == 0,
                  "case %d: '%s' lacks the prefix '%s'", _i, err, c->prefix);
    ck_assert_msg(strstr(err, c->phrase) != NULL, "case %d: '%s' lacks '%s'",
                  _i, err, c->phrase);
    // t is left empty and reusable
    ck_assert_uint_eq(t.nops, 0);
    ck_assert_uint_eq(t.nslots, 0);
    ck_assert_uint_eq(t.nnotes, 0);
    ck_assert_uint_eq(t.nexpect, 0);
    ck_assert_str_eq(t.source, "t");
    hx_trace_free(&t);
    free(text);
}
END_TEST

struct bad_binary {
    const char *bytes;
    size_t len;
    const char *message;
};

#define B(s) s, sizeof s - 1

static const struct bad_binary bad_binaries[] = {
    {B(""), "b: byte 0: expected the magic \"OBCT\""},
    {B("OBCX\001\017"), "b: byte 0: expected the magic \"OBCT\""},
    {B("OBCT"), "b: byte 4: expected version 1, found end of data"},
    {B("OBCT\002\017"), "b: byte 4: expected version 1, found 2"},
    {B("OBCT\001"),
     "b: byte 5: expected a record (or the end record), found end of data"},
    {B("OBCT\001\017\017"),
     "b: byte 6: expected end of data after the end record, found 1 more "
     "bytes"},
    {B("OBCT\001\020"), "b: byte 6: expected a size, found end of data"},
    {B("OBCT\001\020\201\000\017"),
     "b: byte 6: expected a size, found an overlong varint"},
    {B("OBCT\001\020\377\377\377\377\377\377\377\377\377\002\017"),
     "b: byte 6: expected a size, found a varint over 64 bits"},
    {B("OBCT\001\020\377\377\377\377\377\377\377\377\377\001\017"),
     "b: byte 6: expected a size, found one over 64 bits"},
    {B("OBCT\001\020\001\003\001\017"),
     "b: byte 8: expected a block distance below 1, found 8"},
    {B("OBCT\001\046\017"), "b: byte 5: expected a record tag, found 0x26"},
    {B("OBCT\001\205\017"), "b: byte 5: expected a record tag, found 0x85"},
    {B("OBCT\001\112\017"), "b: byte 5: expected a record tag, found 0x4a"},
    {B("OBCT\001\005\000\017"), "b: op #1: fault raw with a count of 0"},
    {B("OBCT\001\145\017"), "b: byte 5: expected a record tag, found 0x65"},
    {B("OBCT\001\026\017"), "b: byte 5: expected a record tag, found 0x16"},
    {B("OBCT\001\117\000\020\001\017"),
     "b: byte 6: expected a label other than the default 0, found it"},
    {B("OBCT\001\020\001\117\000\020\001\017"),
     "b: byte 9: expected a new block, found label '0' again"},
    {B("OBCT\001\117\005\017"),
     "b: byte 7: expected an operation on a new block after a label, "
     "found tag 0x0f"},
    {B("OBCT\001\137\0019\020\001\017"),
     "b: slot 0: label '9' is not a block name such as buf_1"},
    {B("OBCT\001\137\100"), "b: byte 6: expected a block name of at most "
                            "63 bytes, found 64"},
    {B("OBCT\001\057\005ab\017"),
     "b: byte 6: expected a note of 5 bytes, found 3 left"},
    {B("OBCT\001\057\002a\000\017"),
     "b: byte 6: expected a note, found a NUL byte in it"},
    {B("OBCT\001\077\001a\017"),
     "b: byte 5: expected an operation before a trailing note"},
    {B("OBCT\001\006\037\001\002P4\017"),
     "b: byte 6: expected the expect record first, found it later"},
    {B("OBCT\001\037\011"), "b: byte 6: expected 1..8 expected IDs, found 9"},
    {B("OBCT\001\037\001\002p4\017"), "b: byte 8: expected an ID such as P4"},
    {B("OBCT\001\037\001\007P4\017"),
     "b: byte 7: expected an ID of 2..7 bytes, found 7 past the end"},
    {B("OBCT\001\003\017"), "b: byte 6: expected a block distance below 0"},
    {B("OBCT\001\023\017"),
     "b: op #1: free of block '0', which is not live (never allocated)"},
    {B("OBCT\001\020\001\003\000\003\000\017"),
     "b: op #3: free of block '0', which is not live (freed at op #2)"},
    {B("OBCT\001\057\002a \017"), "b: note #1: its text ends in a blank"},
};

START_TEST(binary_malformed)
{
    const struct bad_binary *c = &bad_binaries[_i];
    uint8_t *data = malloc(c->len);
    memcpy(data, c->bytes, c->len);
    struct hx_trace t;
    char err[512] = "";
    int rc = hx_read_binary(&t, "b", data, c->len, err, sizeof err);
    ck_assert_msg(rc == -1, "case %d: accepted", _i);
    ck_assert_msg(strncmp(err, c->message, strlen(c->message)) == 0,
                  "case %d: '%s', not '%s'", _i, err, c->message);
    ck_assert_uint_eq(t.nops, 0);
    hx_trace_free(&t);
    free(data);
}
END_TEST

void
t_trace_add_malformed(TCase *tc)
{
    tcase_add_loop_test(tc, text_malformed, 0,
                        (int)(sizeof bad_texts / sizeof bad_texts[0]));
    tcase_add_loop_test(tc, binary_malformed, 0,
                        (int)(sizeof bad_binaries / sizeof bad_binaries[0]));
}
