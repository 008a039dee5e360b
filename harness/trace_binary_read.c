/* trace_binary_read.c — the binary trace reader (format: trace_binary.h).
 *
 * The reader takes arbitrary bytes: it checks every length against the
 * bytes left before using it, and accepts only the canonical encoding, so
 * whatever it accepts the writer gives back byte for byte.
 */
#include "trace_binary.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct bin {
    struct hx_trace *t;
    const char *source;
    const uint8_t *p;
    size_t len, off;
    char *err;
    size_t errlen;
    int label; /* the pending label: 0 none, 1 num, 2 name */
    bool attr; /* an attribute record waits for its op */
    unsigned attr_flags;
    uint64_t place;
    uint64_t num;
    char name[BIN_MAX_NAME + 1];
};

/* Print "SOURCE: byte AT: " and the message; return -1. */
static int
bad(struct bin *b, size_t at, const char *fmt, ...)
{
    int n = snprintf(b->err, b->errlen, "%s: byte %zu: ", b->source, at);
    if (n >= 0 && (size_t)n < b->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->err + n, b->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int
get_byte(struct bin *b, const char *what, uint8_t *v)
{
    if (b->off == b->len)
        return bad(b, b->off, "expected %s, found end of data", what);
    *v = b->p[b->off++];
    return 0;
}

/* Read a LEB128 varint of at most 64 bits in its shortest encoding. */
static int
get_varint(struct bin *b, const char *what, uint64_t *v)
{
    size_t at = b->off;
    *v = 0;
    for (unsigned k = 0;; k++) {
        if (b->off == b->len)
            return bad(b, b->off, "expected %s, found end of data", what);
        uint8_t byte = b->p[b->off++];
        if (k == 9 && byte > 1)
            return bad(b, at, "expected %s, found a varint over 64 bits",
                       what);
        *v |= (uint64_t)(byte & 0x7f) << (7 * k);
        if (byte & 0x80)
            continue;
        if (byte == 0 && k > 0)
            return bad(b, at, "expected %s, found an overlong varint", what);
        return 0;
    }
}

/* Read a length-prefixed string of at most max bytes into buf. */
static int
get_text(struct bin *b, const char *what, size_t max, char *buf)
{
    size_t at = b->off;
    uint64_t n;
    if (get_varint(b, what, &n) != 0)
        return -1;
    if (n > max)
        return bad(b, at, "expected %s of at most %zu bytes, found %" PRIu64,
                   what, max, n);
    if (n > b->len - b->off)
        return bad(b, at, "expected %s of %" PRIu64 " bytes, found %zu left",
                   what, n, b->len - b->off);
    memcpy(buf, b->p + b->off, (size_t)n);
    buf[n] = '\0';
    b->off += (size_t)n;
    if (strlen(buf) != n)
        return bad(b, at, "expected %s, found a NUL byte in it", what);
    return 0;
}

/* The expect record: a count byte, then each ID as a length byte and its
 * characters; only right after the header. */
static int
read_expect(struct bin *b, size_t at)
{
    struct hx_trace *t = b->t;
    uint8_t n = 0, len = 0;
    if (at != BIN_HEADER)
        return bad(b, at, "expected the expect record first, found it later");
    if (get_byte(b, "a count of expected IDs", &n) != 0)
        return -1;
    if (n < 1 || n > HX_MAX_EXPECT)
        return bad(b, b->off - 1, "expected 1..%d expected IDs, found %u",
                   HX_MAX_EXPECT, n);
    for (unsigned k = 0; k < n; k++) {
        size_t id_at = b->off;
        if (get_byte(b, "the length of an expected ID", &len) != 0)
            return -1;
        if (len < 2 || len > 7 || len > b->len - b->off)
            return bad(b, id_at, "expected an ID of 2..7 bytes, found %u%s",
                       len, len > b->len - b->off ? " past the end" : "");
        const char *s = (const char *)b->p + b->off;
        bool ok = s[0] >= 'A' && s[0] <= 'Z';
        for (unsigned j = 1; ok && j < len; j++)
            ok = s[j] >= '0' && s[j] <= '9';
        if (!ok)
            return bad(b, id_at + 1, "expected an ID such as P4");
        memcpy(t->expect[t->nexpect], s, len);
        t->expect[t->nexpect++][len] = '\0';
        b->off += len;
    }
    return 0;
}

/* A label record: it names the next operation's new slot. */
static int
read_label(struct bin *b, uint8_t tag, size_t at)
{
    if (b->label != 0)
        return bad(b, at,
                   "expected an operation after a label, found "
                   "another label");
    if (tag == M_LABEL_NAME) {
        // hx_validate() checks the name's characters
        if (get_text(b, "a block name", BIN_MAX_NAME, b->name) != 0)
            return -1;
        b->label = 2;
        return 0;
    }
    if (get_varint(b, "a block number", &b->num) != 0)
        return -1;
    // the default label has no record: one would not be canonical
    if (b->num == b->t->nslots)
        return bad(b, at + 1,
                   "expected a label other than the default %" PRIu64
                   ", found it",
                   b->num);
    b->label = 1;
    return 0;
}

/* Give the next slot its label (the pending one, or its own number). */
static int
new_slot(struct bin *b, size_t at, uint32_t *slot)
{
    struct hx_trace *t = b->t;
    uint32_t want = t->nslots;
    if (want == HX_NO_SLOT - 1)
        return bad(b, at, "expected fewer blocks, found %" PRIu32, want);
    if (b->label == 2)
        *slot = hx_slot_name(t, b->name);
    else
        *slot = hx_slot_num(t, b->label == 1 ? b->num : want);
    b->label = 0;
    if (*slot == HX_NO_SLOT)
        return bad(b, at, "out of memory");
    if (*slot != want) {
        char l[72];
        return bad(b, at, "expected a new block, found label '%s' again",
                   hx_label_str(t, *slot, l, sizeof l));
    }
    return 0;
}

/* Read the distance back from the newest slot to an old one; x holds its
 * low three bits if shifted. */
static int
read_distance(struct bin *b, unsigned x, bool shifted, uint32_t *slot)
{
    size_t at = b->off;
    uint64_t v, d;
    if (get_varint(b, "a block distance", &v) != 0)
        return -1;
    d = shifted ? (v < UINT32_MAX ? v << 3 | x : UINT64_MAX) : v;
    if (d >= b->t->nslots)
        return bad(b, at,
                   "expected a block distance below %" PRIu32
                   ", found %" PRIu64 "%s",
                   b->t->nslots, d, d == UINT64_MAX ? " or more" : "");
    *slot = b->t->nslots - 1 - (uint32_t)d;
    return 0;
}

/* Read the numbers of an operation of kind; x: its tag's bits 5-7. */
static int
read_numbers(struct bin *b, unsigned kind, unsigned x, uint64_t *a,
             uint64_t *bb)
{
    size_t at = b->off;
    switch (kind) {
    case HX_MALLOC:
    case HX_REALLOC:
        if (get_varint(b, "a size", a) != 0)
            return -1;
        if (*a > UINT64_MAX >> 3)
            return bad(b, at, "expected a size, found one over 64 bits");
        *a = *a << 3 | x;
        return 0;
    case HX_OVERFLOW:
        return get_varint(b, "a byte count", a);
    case HX_FAULT_ARENAS:
    case HX_FAULT_RAW:
        return x != 0 ? 0 : get_varint(b, "a fault count", a);
    case HX_CALLOC:
        if (get_varint(b, "an element count", a) != 0)
            return -1;
        return get_varint(b, "an element size", bb);
    case HX_WRITE_AFTER_FREE:
        if (get_varint(b, "an offset", a) != 0)
            return -1;
        return get_varint(b, "a length", bb);
    case HX_ARENA_NEW:
        if (get_varint(b, "an arena id", a) != 0)
            return -1;
        return get_varint(b, "an arena offset", bb);
    case HX_ARENA_FREE:
        return get_varint(b, "an arena id", a);
    default:
        return 0;
    }
}

/* An operation record: its slot, then its numbers. */
static int
read_op(struct bin *b, uint8_t tag, size_t at)
{
    unsigned kind = tag & 0x0f, x = tag >> T_X_SHIFT,
             use = hx_bin_low_use(kind);
    bool fresh = (tag & T_NEW) != 0;
    uint32_t slot = HX_NO_SLOT;
    uint64_t a = 0, bb = 0;
    // one encoding per operation: unused bits must be zero
    if ((fresh && !hx_bin_has_slot(kind)) || (use == X_FLAGS && x > 2)
        || (x != 0 && (use == X_NONE || (use == X_DISTANCE && fresh))))
        return bad(b, at, "expected a record tag, found 0x%02x", tag);
    if (b->label != 0 && !fresh)
        return bad(b, at,
                   "expected an operation on a new block after a "
                   "label, found tag 0x%02x",
                   tag);
    if (fresh && new_slot(b, at, &slot) != 0)
        return -1;
    if (!fresh && hx_bin_has_slot(kind)
        && read_distance(b, x, use == X_DISTANCE, &slot) != 0)
        return -1;
    if (read_numbers(b, kind, x, &a, &bb) != 0)
        return -1;
    bool placed = kind == HX_MALLOC || kind == HX_CALLOC || kind == HX_REALLOC;
    if (b->attr && !placed && (kind != HX_FREE || b->place != HX_PLACE_NONE))
        return bad(b, at, "expected an operation the attribute fits, found %s",
                   hx_kind_name(kind));
    unsigned flags = (use == X_FLAGS ? x : 0) | (b->attr ? b->attr_flags : 0);
    if (hx_push(b->t, kind, flags, slot, a, bb, 0) != 0
        || hx_set_place(b->t, b->t->nops - 1, b->attr ? b->place : 0) != 0)
        return bad(b, at, "out of memory");
    b->attr = false;
    return 0;
}

/* An attribute record: varint v = OBJ bit | placement kind << 1 (1 raw,
 * 2 pool: arena, pool and offset varints follow); names the next op. */
static int
read_attr(struct bin *b, size_t at)
{
    uint64_t v, f[3] = {0, 0, 0};
    if (b->attr || b->label != 0)
        return bad(b, at, "expected an operation, found another attribute");
    if (get_varint(b, "an attribute", &v) != 0)
        return -1;
    if (v == 0 || v > 5)
        return bad(b, at + 1, "expected an attribute 1..5, found %" PRIu64, v);
    for (unsigned k = 0; v >> 1 == 2 && k < 3; k++)
        if (get_varint(b, "a placement field", &f[k]) != 0)
            return -1;
    if (f[0] > HX_PLACE_MAX_ARENA || f[1] > 0xff || f[2] > 0xffff)
        return bad(b, at, "expected a placement in range");
    b->attr = true;
    b->attr_flags = v & 1 ? HX_F_OBJ : 0;
    b->place = v >> 1 == 2
                   ? hx_place_pool(f[0], (unsigned)f[1], (unsigned)f[2])
               : v >> 1 == 1 ? HX_PLACE_RAW
                             : HX_PLACE_NONE;
    return 0;
}

/* A note record: its text, before (M_NOTE) or trailing the operation. */
static int
read_note(struct bin *b, uint8_t tag, size_t at)
{
    char text[BIN_MAX_NOTE + 1];
    if (tag == M_TRAILING && b->t->nops == 0)
        return bad(b, at, "expected an operation before a trailing note");
    if (get_text(b, "a note", BIN_MAX_NOTE, text) != 0)
        return -1;
    if (hx_note_add(b->t, tag == M_TRAILING, text) != 0)
        return bad(b, at, "out of memory");
    return 0;
}

/* Read one record; set *end at the end record. */
static int
read_record(struct bin *b, bool *end)
{
    size_t at = b->off;
    uint8_t tag = 0;
    if (get_byte(b, "a record (or the end record)", &tag) != 0)
        return -1;
    if ((tag & 0x0f) < HX_NKINDS)
        return read_op(b, tag, at);
    if ((b->label != 0 || b->attr) && tag != M_LABEL_NUM && tag != M_LABEL_NAME
        && tag != M_ATTR)
        return bad(b, at,
                   "expected an operation on a new block after a "
                   "label, found tag 0x%02x",
                   tag);
    switch (tag) {
    case M_END:
        if (b->off != b->len)
            return bad(b, b->off,
                       "expected end of data after the end "
                       "record, found %zu more bytes",
                       b->len - b->off);
        *end = true;
        return 0;
    case M_EXPECT:
        return read_expect(b, at);
    case M_NOTE:
    case M_TRAILING:
        return read_note(b, tag, at);
    case M_LABEL_NUM:
    case M_LABEL_NAME:
        return read_label(b, tag, at);
    case M_ATTR:
        return read_attr(b, at);
    default:
        return bad(b, at, "expected a record tag, found 0x%02x", tag);
    }
}

/* Decode len bytes of the binary format into t (initialised here) and
 * validate it; return 0, or -1 with "SOURCE: byte N: ..." in err and t
 * left empty. */
int
hx_read_binary(struct hx_trace *t, const char *source, const uint8_t *data,
               size_t len, char *err, size_t errlen)
{
    hx_trace_init(t, source);
    struct bin b = {.t = t,
                    .source = t->source != NULL ? t->source : "-",
                    .p = data,
                    .len = len,
                    .err = err,
                    .errlen = errlen};
    int rc = 0;
    if (len < 4 || memcmp(data, BIN_MAGIC, 4) != 0)
        rc = bad(&b, 0, "expected the magic \"OBCT\"");
    else if (len == 4 || data[4] != BIN_VERSION)
        rc = len == 4 ? bad(&b, 4, "expected version %d, found end of data",
                            BIN_VERSION)
                      : bad(&b, 4, "expected version %d, found %u",
                            BIN_VERSION, data[4]);
    b.off = BIN_HEADER;
    for (bool end = false; rc == 0 && !end;)
        rc = read_record(&b, &end);
    if (rc == 0)
        rc = hx_validate(t, err, errlen);
    if (rc != 0) {
        hx_trace_free(t);
        hx_trace_init(t, source);
    }
    return rc;
}
