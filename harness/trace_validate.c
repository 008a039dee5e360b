/* trace_validate.c — a trace's block discipline, checked without running.
 *
 * One pass over the operations keeps each slot's state (new, live, freed)
 * and the operation that put it there, packed in one word per slot, so a
 * message can say where the block was allocated or freed.  The same pass
 * checks the fields each kind may carry; a last pass checks what the
 * writers rely on: notes in order and printable, expect IDs well formed.
 */
#include "hx.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REACH 4096 /* overflow K, write-after-free's offset + length */
#define MAX_NOTE 2048  /* bytes of one note (harness/TRACES.md) */
#define ARENA_OFFSET_LIMIT (1 << 20) /* an arena's start mod POOL_SIZE */
#define NAME_FIRST "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
#define NAME_REST "0123456789.-"

/* A slot's word: the state in the low two bits, the op index above. */
enum {
    S_NEW,
    S_LIVE,
    S_FREED
};
#define STATE(w) ((unsigned)((w)&3))
#define WHERE(w) ((size_t)((w) >> 2))

struct checker {
    const struct hx_trace *t;
    uint64_t *slot;
    uint64_t narenas; /* `arena new` ops seen */
    char *err;
    size_t errlen;
};

/* Fields each kind uses: 0 none, 1 a, 2 a and b. */
static const uint8_t nfields[HX_NKINDS] = {1, 2, 1, 0, 1, 1, 0, 0, 2, 1, 2, 1};

static bool
has_slot(unsigned kind)
{
    return kind != HX_FAULT_ARENAS && kind != HX_FAULT_RAW && kind != HX_CHECK
           && kind != HX_ARENA_NEW && kind != HX_ARENA_FREE;
}

/* The block operations a recording marks with a domain. */
static bool
recorded_kind(unsigned kind)
{
    return kind == HX_MALLOC || kind == HX_CALLOC || kind == HX_REALLOC
           || kind == HX_FREE;
}

static const char *
source_of(const struct hx_trace *t)
{
    return t->source != NULL ? t->source : "-";
}

/* "line 9" for text traces, "op #10" (1-based) otherwise. */
static const char *
place(const struct hx_trace *t, size_t i, char *buf, size_t len)
{
    if (t->lines != NULL && t->lines[i] != 0)
        snprintf(buf, len, "line %" PRIu32, t->lines[i]);
    else
        snprintf(buf, len, "op #%zu", i + 1);
    return buf;
}

/* Print "SOURCE:LINE: " or "SOURCE: op #N: ", then "VERB of block 'L'"
 * if block, then the message; return -1. */
static int
vfail(struct checker *c, size_t i, bool block, const char *fmt, va_list ap)
{
    const struct hx_trace *t = c->t;
    const struct hx_op *op = &t->ops[i];
    char label[72];
    int n;
    if (t->lines != NULL && t->lines[i] != 0)
        n = snprintf(c->err, c->errlen, "%s:%" PRIu32 ": ", source_of(t),
                     t->lines[i]);
    else
        n = snprintf(c->err, c->errlen, "%s: op #%zu: ", source_of(t), i + 1);
    if (block && n >= 0 && (size_t)n < c->errlen)
        n += snprintf(c->err + n, c->errlen - (size_t)n, "%s of block '%s'",
                      hx_kind_name(op->kind),
                      hx_label_str(t, op->slot, label, sizeof label));
    if (n >= 0 && (size_t)n < c->errlen)
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    return -1;
}

static int
fail(struct checker *c, size_t i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(c, i, false, fmt, ap);
    va_end(ap);
    return -1;
}

/* As fail(), naming op i's verb and block first. */
static int
fail_block(struct checker *c, size_t i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(c, i, true, fmt, ap);
    va_end(ap);
    return -1;
}

/* Check the fields op i carries: kind, slot, flags, unused a and b. */
static int
check_fields(struct checker *c, size_t i)
{
    const struct hx_trace *t = c->t;
    const struct hx_op *op = &t->ops[i];
    if (op->kind >= HX_NKINDS)
        return fail(c, i, "expected an operation kind below %d, found %u",
                    HX_NKINDS, op->kind);
    const char *verb = hx_kind_name(op->kind);
    if (has_slot(op->kind) && op->slot >= t->nslots)
        return fail(c, i,
                    "%s of slot %" PRIu32 "; expected a slot below %" PRIu32,
                    verb, op->slot, t->nslots);
    if (!has_slot(op->kind) && op->slot != HX_NO_SLOT)
        return fail(c, i, "%s names slot %" PRIu32 "; expected none", verb,
                    op->slot);
    if (nfields[op->kind] < 1 && op->a != 0)
        return fail(c, i, "%s carries a = %" PRIu64 "; expected 0", verb,
                    op->a);
    if (nfields[op->kind] < 2 && op->b != 0)
        return fail(c, i, "%s carries b = %" PRIu64 "; expected 0", verb,
                    op->b);
    bool fault = op->kind == HX_FAULT_ARENAS || op->kind == HX_FAULT_RAW;
    bool batch = op->kind == HX_MALLOC || op->kind == HX_FREE;
    unsigned flags = op->flags & (batch ? ~HX_F_BATCH : ~0u);
    if (recorded_kind(op->kind))
        flags &= ~HX_F_OBJ;
    uint64_t pl = t->place != NULL ? t->place[i] : HX_PLACE_NONE;
    if (pl != HX_PLACE_NONE
        && ((op->kind != HX_MALLOC && op->kind != HX_CALLOC
             && op->kind != HX_REALLOC)
            || (pl != HX_PLACE_RAW && !hx_place_is_pool(pl))))
        return fail(c, i,
                    "%s carries placement 0x%" PRIx64
                    "; expected one only on malloc, calloc and realloc",
                    verb, pl);
    if (!fault && flags != 0)
        return fail(c, i, "%s carries flags 0x%x; expected none", verb,
                    op->flags);
    if (!fault)
        return 0;
    if (op->flags != 0 && op->flags != HX_F_ALWAYS && op->flags != HX_F_OFF)
        return fail(c, i, "%s with flags 0x%x; expected always or off", verb,
                    op->flags);
    if (op->flags != 0 && op->a != 0)
        return fail(c, i, "%s %s with a count of %" PRIu64 "; expected none",
                    verb, op->flags == HX_F_OFF ? "off" : "always", op->a);
    if (op->flags == 0 && op->a == 0)
        return fail(c, i,
                    "%s with a count of 0; expected at least 1, "
                    "'always' or 'off'",
                    verb);
    return 0;
}

/* Check the sizes and reaches of op i, whose slot is valid. */
static int
check_values(struct checker *c, size_t i)
{
    const struct hx_op *op = &c->t->ops[i];
    switch (op->kind) {
    case HX_MALLOC:
    case HX_REALLOC:
        if (op->a > HX_MAX_SIZE && op->a < HX_HUGE)
            return fail_block(c, i,
                              ": size %" PRIu64 " is too large; expected at "
                              "most %" PRIu64 " (or at least %" PRIu64
                              ", which must fail)",
                              op->a, HX_MAX_SIZE, HX_HUGE);
        return 0;
    case HX_CALLOC:
        // an overflowing product is allowed: the allocator must say NULL
        if (op->b != 0 && op->a > UINT64_MAX / op->b)
            return 0;
        if (op->a * op->b > HX_MAX_SIZE && op->a * op->b < HX_HUGE)
            return fail_block(c, i,
                              ": %" PRIu64 " x %" PRIu64 " bytes is too "
                              "large; expected at most %" PRIu64
                              " (or at least %" PRIu64 ", or a product over "
                              "64 bits: they must fail)",
                              op->a, op->b, HX_MAX_SIZE, HX_HUGE);
        return 0;
    case HX_OVERFLOW:
        if (op->a < 1 || op->a > MAX_REACH)
            return fail_block(c, i, " by %" PRIu64 " bytes; expected 1..%d",
                              op->a, MAX_REACH);
        return 0;
    case HX_ARENA_NEW:
        // ids count the requests, so a release can name its arena
        if (op->a != ++c->narenas)
            return fail(c, i, "arena new %" PRIu64 "; expected id %" PRIu64,
                        op->a, c->narenas);
        if (op->b >= ARENA_OFFSET_LIMIT || op->b % 4096 != 0)
            return fail(c, i,
                        "arena new %" PRIu64 " at offset %" PRIu64
                        "; expected a page multiple below %d",
                        op->a, op->b, ARENA_OFFSET_LIMIT);
        return 0;
    case HX_ARENA_FREE:
        if (op->a < 1 || op->a > c->narenas)
            return fail(c, i,
                        "arena free %" PRIu64 "; expected an id 1..%" PRIu64,
                        op->a, c->narenas);
        return 0;
    case HX_WRITE_AFTER_FREE:
        if (op->b < 1)
            return fail_block(c, i, " with length 0; expected at least 1");
        if (op->a > MAX_REACH || op->b > MAX_REACH - op->a)
            return fail_block(c, i,
                              " at offset %" PRIu64 " length %" PRIu64
                              "; expected offset + length <= %d",
                              op->a, op->b, MAX_REACH);
        return 0;
    default:
        return 0;
    }
}

/* Check that op i finds its slot in the state it needs, and move it on. */
static int
check_state(struct checker *c, size_t i)
{
    const struct hx_op *op = &c->t->ops[i];
    if (!has_slot(op->kind))
        return 0;
    uint64_t *w = &c->slot[op->slot];
    unsigned need =
        op->kind == HX_MALLOC || op->kind == HX_CALLOC ? S_NEW
        : op->kind == HX_DOUBLE_FREE || op->kind == HX_WRITE_AFTER_FREE
            ? S_FREED
            : S_LIVE;
    unsigned state = STATE(*w);
    // a freed block may be allocated again, like a new one
    bool ok = need == S_NEW ? state != S_LIVE : state == need;
    if (!ok) {
        char at[48] = "never allocated", pl[32];
        if (state != S_NEW)
            snprintf(at, sizeof at, "%s at %s",
                     state == S_LIVE ? "allocated" : "freed",
                     place(c->t, WHERE(*w), pl, sizeof pl));
        const char *what = need == S_NEW     ? "is still live"
                           : need == S_LIVE  ? "is not live"
                           : state == S_LIVE ? "is live, not freed"
                                             : "is not freed";
        return fail_block(c, i, ", which %s (%s)", what, at);
    }
    if (op->kind == HX_MALLOC || op->kind == HX_CALLOC)
        *w = S_LIVE | (uint64_t)i << 2;
    else if (op->kind == HX_FREE)
        *w = S_FREED | (uint64_t)i << 2;
    return 0;
}

/* Print "SOURCE: " and the message; return -1. */
static int
fail_whole(struct checker *c, const char *fmt, ...)
{
    int n = snprintf(c->err, c->errlen, "%s: ", source_of(c->t));
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Check a note's text: what a text line can hold and give back. */
static const char *
bad_note_text(const char *s)
{
    size_t n = strlen(s);
    if (n > MAX_NOTE)
        return "is longer than 2048 bytes";
    if (strpbrk(s, "\r\n") != NULL)
        return "holds a line break";
    if (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        return "ends in a blank, which text would drop";
    return NULL;
}

/* Check notes: sorted by position, whole-line before trailing, one
 * trailing note per op, text that a line can hold. */
static int
check_notes(struct checker *c)
{
    const struct hx_trace *t = c->t;
    for (size_t k = 0; k < t->nnotes; k++) {
        const struct hx_note *n = &t->notes[k];
        const struct hx_note *p = k > 0 ? &t->notes[k - 1] : NULL;
        const char *why = bad_note_text(n->text);
        if (n->at > t->nops || (n->trailing && n->at == t->nops))
            return fail_whole(c, "note #%zu: at op #%zu; expected at most %zu",
                              k + 1, n->at + 1, t->nops + !n->trailing);
        if (p != NULL
            && (p->at > n->at
                || (p->at == n->at && p->trailing && !n->trailing)))
            return fail_whole(c,
                              "note #%zu: out of order (op #%zu after "
                              "op #%zu)",
                              k + 1, n->at + 1, p->at + 1);
        if (p != NULL && p->at == n->at && p->trailing && n->trailing)
            return fail_whole(c,
                              "note #%zu: a second trailing note on op #%zu",
                              k + 1, n->at + 1);
        if (why != NULL)
            return fail_whole(c, "note #%zu: its text %s", k + 1, why);
    }
    return 0;
}

/* Check that names are block names and expect IDs catalogue IDs. */
static int
check_names(struct checker *c)
{
    const struct hx_trace *t = c->t;
    for (uint32_t s = 0; s < t->nslots; s++) {
        const char *name = t->labels[s].name;
        size_t n = name != NULL ? strlen(name) : 0;
        if (name == NULL)
            continue;
        // [A-Za-z_][A-Za-z0-9_.-]*, as the text format reads them
        bool ok = n >= 1 && n <= 63 && strchr(NAME_FIRST, name[0]) != NULL
                  && strspn(name, NAME_FIRST NAME_REST) == n;
        if (!ok)
            return fail_whole(c,
                              "slot %" PRIu32 ": label '%.63s' is not a "
                              "block name such as buf_1",
                              s, name);
    }
    if (t->nexpect > HX_MAX_EXPECT)
        return fail_whole(c, "%u expected IDs; expected at most %d",
                          t->nexpect, HX_MAX_EXPECT);
    for (unsigned k = 0; k < t->nexpect; k++) {
        const char *id = t->expect[k];
        size_t n = strnlen(id, sizeof t->expect[k]);
        bool ok = n >= 2 && n <= 7 && id[0] >= 'A' && id[0] <= 'Z'
                  && strspn(id + 1, "0123456789") == n - 1;
        if (!ok)
            return fail_whole(c,
                              "expected ID #%u is malformed; expected a "
                              "capital and 1..6 digits such as P4",
                              k + 1);
    }
    return 0;
}

/* Check t's block discipline, fields, notes and names (TRACES.md); return
 * 0, or -1 with the first problem in err. */
int
hx_validate(const struct hx_trace *t, char *err, size_t errlen)
{
    struct checker c = {.t = t, .err = err, .errlen = errlen};
    if (t->nslots > 0 && (c.slot = calloc(t->nslots, sizeof *c.slot)) == NULL)
        return fail_whole(&c, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < t->nops && rc == 0; i++) {
        rc = check_fields(&c, i);
        if (rc == 0)
            rc = check_values(&c, i);
        if (rc == 0)
            rc = check_state(&c, i);
    }
    free(c.slot);
    if (rc == 0)
        rc = check_notes(&c);
    return rc != 0 ? rc : check_names(&c);
}
