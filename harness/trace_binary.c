/* trace_binary.c — the binary trace format: "OBCT", a version, records.
 *
 * Each record opens with a tag byte; numbers are LEB128 varints.  Slots
 * are numbered in order of first use, so a malloc of a block never seen
 * names it with one tag bit, and a later reference is its distance back
 * from the newest slot, which is small for the recent blocks most
 * workloads touch.  A slot's label costs nothing when it is the number of
 * the slot itself (what generators make).  Notes and labels ride in the
 * record stream beside the operations they belong to.
 *
 * The reader takes arbitrary bytes: it checks every length against the
 * bytes left before using it, and accepts only the canonical encoding, so
 * whatever it accepts the writer gives back byte for byte.
 * Layout: harness/TRACES.md.
 */
#include "hx.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "OBCT"
#define VERSION 1
#define HEADER 5
#define MAX_NAME 63
#define MAX_NOTE 2048

/* Tag byte: an operation is its kind (bits 0-3) | T_NEW | x << 5, where
 * x is what low_use() says; code 15 in bits 0-3 is a meta record, told
 * apart by bits 4-7. */
#define T_NEW 0x10u
#define T_X_SHIFT 5
enum {
    M_END = 0x0f,
    M_EXPECT = 0x1f,
    M_NOTE = 0x2f,
    M_TRAILING = 0x3f,
    M_LABEL_NUM = 0x4f,
    M_LABEL_NAME = 0x5f,
    M_ATTR = 0x6f, /* a recorded op's domain and placement */
};

static bool
has_slot(unsigned kind)
{
    return kind != HX_FAULT_ARENAS && kind != HX_FAULT_RAW && kind != HX_CHECK
           && kind != HX_ARENA_NEW && kind != HX_ARENA_FREE;
}

/* What an operation tag's bits 5-7 carry: nothing, fault flags, the low
 * three bits of the size, or of the block distance.  Sizes below 1024 and
 * distances below 1024 thus take one varint byte. */
enum {
    X_NONE,
    X_FLAGS,
    X_SIZE,
    X_DISTANCE
};

static int
low_use(unsigned kind)
{
    switch (kind) {
    case HX_MALLOC:
    case HX_REALLOC:
        return X_SIZE;
    case HX_FAULT_ARENAS:
    case HX_FAULT_RAW:
        return X_FLAGS;
    case HX_FREE:
    case HX_DOUBLE_FREE:
    case HX_WRITE_AFTER_FREE:
    case HX_OVERFLOW:
        return X_DISTANCE;
    default:
        return X_NONE;
    }
}

/* --- Reader ---------------------------------------------------------------
 */

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
    char name[MAX_NAME + 1];
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
    if (at != HEADER)
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
        if (get_text(b, "a block name", MAX_NAME, b->name) != 0)
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
    unsigned kind = tag & 0x0f, x = tag >> T_X_SHIFT, use = low_use(kind);
    bool fresh = (tag & T_NEW) != 0;
    uint32_t slot = HX_NO_SLOT;
    uint64_t a = 0, bb = 0;
    // one encoding per operation: unused bits must be zero
    if ((fresh && !has_slot(kind)) || (use == X_FLAGS && x > 2)
        || (x != 0 && (use == X_NONE || (use == X_DISTANCE && fresh))))
        return bad(b, at, "expected a record tag, found 0x%02x", tag);
    if (b->label != 0 && !fresh)
        return bad(b, at,
                   "expected an operation on a new block after a "
                   "label, found tag 0x%02x",
                   tag);
    if (fresh && new_slot(b, at, &slot) != 0)
        return -1;
    if (!fresh && has_slot(kind)
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
    char text[MAX_NOTE + 1];
    if (tag == M_TRAILING && b->t->nops == 0)
        return bad(b, at, "expected an operation before a trailing note");
    if (get_text(b, "a note", MAX_NOTE, text) != 0)
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
    if (len < 4 || memcmp(data, MAGIC, 4) != 0)
        rc = bad(&b, 0, "expected the magic \"OBCT\"");
    else if (len == 4 || data[4] != VERSION)
        rc = len == 4 ? bad(&b, 4, "expected version %d, found end of data",
                            VERSION)
                      : bad(&b, 4, "expected version %d, found %u", VERSION,
                            data[4]);
    b.off = HEADER;
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

/* --- Writer ---------------------------------------------------------------
 */

struct sink {
    FILE *f;
    size_t n;
    bool failed;
    uint8_t buf[16384];
};

static void
drain(struct sink *s)
{
    if (s->n > 0 && fwrite(s->buf, 1, s->n, s->f) != s->n)
        s->failed = true;
    s->n = 0;
}

static void
put_bytes(struct sink *s, const void *p, size_t n)
{
    if (s->n + n > sizeof s->buf)
        drain(s);
    if (n > sizeof s->buf) {
        if (fwrite(p, 1, n, s->f) != n)
            s->failed = true;
        return;
    }
    memcpy(s->buf + s->n, p, n);
    s->n += n;
}

static void
put_varint(struct sink *s, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    for (; v >= 0x80; v >>= 7)
        b[n++] = (uint8_t)(v | 0x80);
    b[n++] = (uint8_t)v;
    put_bytes(s, b, n);
}

static void
put_text(struct sink *s, uint8_t tag, const char *text)
{
    size_t n = strlen(text);
    put_bytes(s, &tag, 1);
    put_varint(s, n);
    put_bytes(s, text, n);
}

/* Write a new slot's label record, unless the label is its number. */
static void
write_label(struct sink *s, const struct hx_trace *t, uint32_t slot,
            uint32_t seen)
{
    const struct hx_label *l = slot < t->nslots ? &t->labels[slot] : NULL;
    if (l != NULL && l->name != NULL) {
        put_text(s, M_LABEL_NAME, l->name);
    } else if (l != NULL && l->num != seen) {
        put_bytes(s, &(uint8_t){M_LABEL_NUM}, 1);
        put_varint(s, l->num);
    }
}

/* Write op; map gives each slot its number in order of first use. */
static void
write_op(struct sink *s, const struct hx_trace *t, const struct hx_op *op,
         uint32_t *map, uint32_t *seen)
{
    uint32_t slot = op->slot;
    if (op->kind >= HX_NKINDS)
        return;
    int use = low_use(op->kind);
    bool ref =
        has_slot(op->kind) && slot < t->nslots && map[slot] != HX_NO_SLOT;
    uint64_t d = ref ? *seen - 1 - map[slot] : 0;
    unsigned x = use == X_FLAGS      ? op->flags & 3u
                 : use == X_SIZE     ? (unsigned)(op->a & 7)
                 : use == X_DISTANCE ? (unsigned)(d & 7)
                                     : 0;
    uint64_t pl = t->place != NULL ? t->place[op - t->ops] : HX_PLACE_NONE;
    uint64_t v = (op->kind <= HX_FREE && (op->flags & HX_F_OBJ) ? 1u : 0u)
                 | (hx_place_is_pool(pl) ? 4u
                    : pl == HX_PLACE_RAW ? 2u
                                         : 0u);
    if (v != 0) {
        put_bytes(s, &(uint8_t){M_ATTR}, 1);
        put_varint(s, v);
    }
    if (v >= 4) {
        put_varint(s, hx_place_arena(pl));
        put_varint(s, hx_place_pool_index(pl));
        put_varint(s, hx_place_offset(pl));
    }
    if (has_slot(op->kind) && !ref) {
        write_label(s, t, slot, *seen);
        if (slot < t->nslots)
            map[slot] = *seen;
        ++*seen;
    }
    uint8_t tag = (uint8_t)(op->kind | (!ref && has_slot(op->kind) ? T_NEW : 0)
                            | x << T_X_SHIFT);
    put_bytes(s, &tag, 1);
    if (ref)
        put_varint(s, use == X_DISTANCE ? d >> 3 : d);
    if (use == X_SIZE)
        put_varint(s, op->a >> 3);
    else if (op->kind == HX_OVERFLOW || (use == X_FLAGS && x == 0))
        put_varint(s, op->a);
    else if (op->kind == HX_CALLOC || op->kind == HX_WRITE_AFTER_FREE
             || op->kind == HX_ARENA_NEW) {
        put_varint(s, op->a);
        put_varint(s, op->b);
    } else if (op->kind == HX_ARENA_FREE)
        put_varint(s, op->a);
}

static void
write_expect(struct sink *s, const struct hx_trace *t)
{
    unsigned n = t->nexpect < HX_MAX_EXPECT ? t->nexpect : HX_MAX_EXPECT;
    if (n == 0)
        return;
    put_bytes(s, &(uint8_t){M_EXPECT}, 1);
    put_bytes(s, &(uint8_t){(uint8_t)n}, 1);
    for (unsigned k = 0; k < n; k++) {
        uint8_t len = (uint8_t)strnlen(t->expect[k], 7);
        put_bytes(s, &len, 1);
        put_bytes(s, t->expect[k], len);
    }
}

/* Write t in the canonical binary form; return 0, or -1 on a write error
 * or out of memory. */
int
hx_write_binary(const struct hx_trace *t, FILE *out)
{
    struct sink *s = malloc(sizeof *s);
    uint32_t *map = malloc((t->nslots + (size_t)1) * sizeof *map);
    if (s == NULL || map == NULL) {
        free(s);
        free(map);
        return -1;
    }
    s->f = out;
    s->n = 0;
    s->failed = false;
    memset(map, 0xff, (t->nslots + (size_t)1) * sizeof *map);
    put_bytes(s, MAGIC, 4);
    put_bytes(s, &(uint8_t){VERSION}, 1);
    write_expect(s, t);
    // notes as the text writer places them (sorted in a valid trace)
    size_t c = 0;
    uint32_t seen = 0;
    for (size_t i = 0; i < t->nops; i++) {
        for (; c < t->nnotes && t->notes[c].at == i && !t->notes[c].trailing;
             c++)
            put_text(s, M_NOTE, t->notes[c].text);
        write_op(s, t, &t->ops[i], map, &seen);
        for (; c < t->nnotes && t->notes[c].at == i && t->notes[c].trailing;
             c++)
            put_text(s, M_TRAILING, t->notes[c].text);
    }
    for (; c < t->nnotes; c++)
        put_text(s, M_NOTE, t->notes[c].text);
    put_bytes(s, &(uint8_t){M_END}, 1);
    drain(s);
    int rc = s->failed || fflush(out) != 0 || ferror(out) ? -1 : 0;
    free(s);
    free(map);
    return rc;
}
