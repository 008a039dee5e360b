/* trace_text.c — the text trace format: one operation per line.
 *
 * The reader never reads past len, so text need not end in NUL.  It
 * splits a line at its first '#' into tokens and a comment, parses the
 * tokens by verb, and remembers the tokens taken so far so that an error
 * can name the operation and the position ("a size after 'malloc b1'").
 * Comments become notes; hx_validate() then checks the block discipline.
 * The writer prints the canonical form, which reads back to itself.
 */
#include "hx.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#define MAX_LINE 4096 /* bytes of one line, without its line break */
#define MAX_NOTE 2048 /* bytes of one comment, so canonical lines fit */
#define MAX_NAME 63

struct reader {
    struct hx_trace *t;
    const char *source;
    size_t line;
    const char *p, *end;           /* the rest of the line's tokens */
    const char *taken, *taken_end; /* the tokens taken: "malloc b1" */
    char *err;
    size_t errlen;
};

/* Copy a token for a message: at most 40 bytes, control bytes as '?'. */
static const char *
quote(const char *s, size_t n, char *buf, size_t len)
{
    size_t k = 0, max = n > 40 ? 37 : n;
    for (; k < max && k + 4 < len; k++) {
        unsigned char ch = (unsigned char)s[k];
        buf[k] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (max < n) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

/* Print "SOURCE:LINE: " and the message; return -1. */
static int
fail(struct reader *r, const char *fmt, ...)
{
    int n = snprintf(r->err, r->errlen, "%s:%zu: ", r->source, r->line);
    if (n >= 0 && (size_t)n < r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool
blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Take the next token of the line; return false at its end. */
static bool
next_token(struct reader *r, const char **tok, size_t *n)
{
    while (r->p < r->end && blank(*r->p))
        r->p++;
    if (r->p == r->end)
        return false;
    const char *s = r->p;
    while (r->p < r->end && !blank(*r->p))
        r->p++;
    *tok = s;
    *n = (size_t)(r->p - s);
    return true;
}

/* Add a taken token to the context of later messages. */
static void
took(struct reader *r, const char *tok, size_t n)
{
    if (r->taken == NULL)
        r->taken = tok;
    r->taken_end = tok + n;
}

/* Report that the token at hand is not `what` (hint: why, or ""). */
static int
expected(struct reader *r, const char *what, const char *tok, size_t n,
         const char *hint)
{
    char q[48] = "end of line", ctx[64] = "";
    if (tok != NULL) {
        char b[44];
        snprintf(q, sizeof q, "'%s'", quote(tok, n, b, sizeof b));
    }
    // the tokens taken, one space apart, as the message's context
    size_t k = 0;
    for (const char *p = r->taken; p != NULL && p < r->taken_end; p++) {
        bool gap = blank(*p);
        if (gap && blank(p[-1]))
            continue;
        if (k + 4 >= sizeof ctx) {
            memcpy(ctx + k, "...", 3);
            k += 3;
            break;
        }
        ctx[k++] = gap ? ' ' : (unsigned char)*p < 0x20 ? '?' : *p;
    }
    ctx[k] = '\0';
    return fail(r, "expected %s after '%s', found %s%s", what, ctx, q, hint);
}

/* Parse a decimal (no leading zeros) or 0x-hex number; return NULL, or
 * why it is not one. */
static const char *
parse_number(const char *s, size_t n, bool hex_ok, uint64_t *v)
{
    bool hex = hex_ok && n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    unsigned base = hex ? 16 : 10;
    *v = 0;
    if (n == 0)
        return "";
    for (size_t k = hex ? 2 : 0; k < n; k++) {
        unsigned d;
        if (s[k] >= '0' && s[k] <= '9')
            d = (unsigned)(s[k] - '0');
        else if (hex && s[k] >= 'a' && s[k] <= 'f')
            d = (unsigned)(s[k] - 'a' + 10);
        else if (hex && s[k] >= 'A' && s[k] <= 'F')
            d = (unsigned)(s[k] - 'A' + 10);
        else
            return "";
        if (*v > (UINT64_MAX - d) / base)
            return " (more than 64 bits)";
        *v = *v * base + d;
    }
    // decimal only: a leading zero reads as octal elsewhere
    return !hex && n > 1 && s[0] == '0' ? " (no leading zeros)" : NULL;
}

static bool
is_name_char(char ch, bool first)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_'
           || (!first && ((ch >= '0' && ch <= '9') || ch == '.' || ch == '-'));
}

/* Take a number; `what` says which for the message. */
static int
take_number(struct reader *r, const char *what, uint64_t *v)
{
    const char *tok = NULL;
    size_t n = 0;
    if (!next_token(r, &tok, &n))
        return expected(r, what, NULL, 0, "");
    const char *why = parse_number(tok, n, true, v);
    if (why != NULL)
        return expected(r, what, tok, n, why);
    took(r, tok, n);
    return 0;
}

/* Take a block id: a canonical decimal number or a name. */
static int
take_id(struct reader *r, uint32_t *slot)
{
    const char *tok = NULL;
    size_t n = 0;
    uint64_t num;
    if (!next_token(r, &tok, &n))
        return expected(r, "a block id", NULL, 0, "");
    const char *why = parse_number(tok, n, false, &num);
    if (why == NULL) {
        *slot = hx_slot_num(r->t, num);
    } else if (is_name_char(tok[0], true)) {
        char name[MAX_NAME + 1];
        for (size_t k = 1; k < n; k++)
            if (!is_name_char(tok[k], false))
                return expected(r, "a block id", tok, n, "");
        if (n > MAX_NAME)
            return expected(r, "a block id", tok, n,
                            " (names hold at most 63 characters)");
        memcpy(name, tok, n);
        name[n] = '\0';
        *slot = hx_slot_name(r->t, name);
    } else {
        return expected(r, "a block id", tok, n, why);
    }
    if (*slot == HX_NO_SLOT)
        return fail(r, "out of memory");
    took(r, tok, n);
    return 0;
}

/* Check nothing is left on the line. */
static int
take_end(struct reader *r)
{
    const char *tok;
    size_t n;
    if (next_token(r, &tok, &n))
        return expected(r, "end of line", tok, n, "");
    return 0;
}

/* Return whether a token remains on the line. */
static bool
more(struct reader *r)
{
    const char *p = r->p;
    while (p < r->end && blank(*p))
        p++;
    return p < r->end;
}

/* fault arenas|raw N|always|off */
static int
parse_fault(struct reader *r, enum hx_kind *kind, unsigned *flags, uint64_t *a)
{
    const char *tok = NULL;
    size_t n = 0;
    const char *what = "'arenas' or 'raw'";
    if (!next_token(r, &tok, &n))
        return expected(r, what, NULL, 0, "");
    if (n == 6 && memcmp(tok, "arenas", 6) == 0)
        *kind = HX_FAULT_ARENAS;
    else if (n == 3 && memcmp(tok, "raw", 3) == 0)
        *kind = HX_FAULT_RAW;
    else
        return expected(r, what, tok, n, "");
    took(r, tok, n);
    what = "a count, 'always' or 'off'";
    if (!next_token(r, &tok, &n))
        return expected(r, what, NULL, 0, "");
    const char *why = "";
    if (n == 6 && memcmp(tok, "always", 6) == 0)
        *flags = HX_F_ALWAYS;
    else if (n == 3 && memcmp(tok, "off", 3) == 0)
        *flags = HX_F_OFF;
    else if ((why = parse_number(tok, n, true, a)) != NULL)
        return expected(r, what, tok, n, why);
    took(r, tok, n);
    return take_end(r);
}

/* expect ID [ID ...] */
static int
parse_expect(struct reader *r)
{
    struct hx_trace *t = r->t;
    const char *tok = NULL;
    size_t n = 0;
    const char *what = "an invariant ID such as P4";
    if (!more(r))
        return expected(r, what, NULL, 0, "");
    while (next_token(r, &tok, &n)) {
        bool ok = n >= 2 && n <= 7 && tok[0] >= 'A' && tok[0] <= 'Z';
        for (size_t k = 1; ok && k < n; k++)
            ok = tok[k] >= '0' && tok[k] <= '9';
        if (!ok)
            return expected(r, what, tok, n, "");
        if (t->nexpect == HX_MAX_EXPECT)
            return expected(r, "at most 8 expected IDs in the file", tok, n,
                            "");
        memcpy(t->expect[t->nexpect], tok, n);
        t->expect[t->nexpect++][n] = '\0';
        took(r, tok, n);
    }
    return 0;
}

/* Parse "A:P:B" (arena ordinal, pool index, block offset) or "raw". */
static const char *
parse_place(const char *s, size_t n, uint64_t *place)
{
    uint64_t v[3];
    size_t k = 0;
    if (n == 3 && memcmp(s, "raw", 3) == 0) {
        *place = HX_PLACE_RAW;
        return NULL;
    }
    for (unsigned f = 0; f < 3; f++) {
        size_t start = k;
        while (k < n && s[k] != ':')
            k++;
        if (parse_number(s + start, k - start, false, &v[f]) != NULL
            || (f < 2) != (k < n))
            return "";
        k++;
    }
    if (v[0] > HX_PLACE_MAX_ARENA || v[1] > 0xff || v[2] > 0xffff)
        return " (out of range)";
    *place = hx_place_pool(v[0], (unsigned)v[1], (unsigned)v[2]);
    return NULL;
}

/* Take a recorded op's attributes: `obj` (the OBJ domain), then
 * `@A:P:B` or `@raw` (where the recording saw the block land). */
static int
take_attrs(struct reader *r, enum hx_kind kind, unsigned *flags,
           uint64_t *place)
{
    const char *tok = NULL;
    size_t n = 0;
    const char *p = r->p;
    if (next_token(r, &tok, &n) && n == 3 && memcmp(tok, "obj", 3) == 0) {
        *flags |= HX_F_OBJ;
        took(r, tok, n);
        p = r->p;
    }
    r->p = p;
    bool placed = kind != HX_FREE;
    if (!placed || !next_token(r, &tok, &n) || tok[0] != '@') {
        r->p = p;
        return 0;
    }
    const char *why = parse_place(tok + 1, n - 1, place);
    if (why != NULL)
        return expected(r, "a placement @ARENA:POOL:OFFSET or @raw", tok, n,
                        why);
    took(r, tok, n);
    return 0;
}

/* arena new ID OFFSET | arena free ID */
static int
parse_arena(struct reader *r, enum hx_kind *kind, uint64_t *a, uint64_t *b)
{
    const char *tok = NULL;
    size_t n = 0;
    const char *what = "'new' or 'free'";
    if (!next_token(r, &tok, &n))
        return expected(r, what, NULL, 0, "");
    if (n == 3 && memcmp(tok, "new", 3) == 0)
        *kind = HX_ARENA_NEW;
    else if (n == 4 && memcmp(tok, "free", 4) == 0)
        *kind = HX_ARENA_FREE;
    else
        return expected(r, what, tok, n, "");
    took(r, tok, n);
    int rc = take_number(r, "an arena id", a);
    if (rc == 0 && *kind == HX_ARENA_NEW)
        rc = take_number(r, "an offset", b);
    return rc != 0 ? rc : take_end(r);
}

/* Take the operands of kind (a slot op or check) and the line's end. */
static int
parse_operands(struct reader *r, enum hx_kind kind, uint32_t *slot,
               uint64_t *a, uint64_t *b, unsigned *flags, uint64_t *place)
{
    int rc = 0;
    if (kind != HX_CHECK)
        rc = take_id(r, slot);
    if (rc == 0 && kind == HX_MALLOC)
        rc = take_number(r, "a size", a);
    else if (rc == 0 && kind == HX_REALLOC)
        rc = take_number(r, "a new size", a);
    else if (rc == 0 && kind == HX_CALLOC) {
        rc = take_number(r, "an element count", a);
        if (rc == 0)
            rc = take_number(r, "an element size", b);
    } else if (rc == 0 && kind == HX_OVERFLOW)
        rc = take_number(r, "a byte count", a);
    else if (rc == 0 && kind == HX_WRITE_AFTER_FREE) {
        *b = HX_WAF_DEFAULT_LEN;
        if (more(r))
            rc = take_number(r, "an offset", a);
        if (rc == 0 && more(r))
            rc = take_number(r, "a length", b);
    }
    if (rc == 0 && kind <= HX_FREE)
        rc = take_attrs(r, kind, flags, place);
    return rc != 0 ? rc : take_end(r);
}

/* Parse the operation whose verb is tok and push it. */
static int
parse_op(struct reader *r, const char *tok, size_t n)
{
    enum hx_kind kind = HX_NKINDS;
    unsigned flags = 0;
    uint32_t slot = HX_NO_SLOT;
    uint64_t a = 0, b = 0, place = HX_PLACE_NONE;
    int rc;
    for (unsigned k = 0; k <= HX_OVERFLOW; k++) {
        // faults take two words and are parsed on their own
        const char *v = hx_kind_name(k);
        if (k != HX_FAULT_ARENAS && k != HX_FAULT_RAW && strlen(v) == n
            && memcmp(v, tok, n) == 0)
            kind = (enum hx_kind)k;
    }
    bool fault = kind == HX_NKINDS && n == 5 && memcmp(tok, "fault", 5) == 0;
    bool arena = kind == HX_NKINDS && n == 5 && memcmp(tok, "arena", 5) == 0;
    if (kind == HX_NKINDS && !fault && !arena) {
        char q[48];
        return fail(r,
                    "expected an operation (malloc, calloc, realloc, "
                    "free, fault, check, double-free, write-after-free, "
                    "overflow, arena or expect), found '%s'",
                    quote(tok, n, q, sizeof q));
    }
    took(r, tok, n);
    if (fault)
        rc = parse_fault(r, &kind, &flags, &a);
    else if (arena)
        rc = parse_arena(r, &kind, &a, &b);
    else
        rc = parse_operands(r, kind, &slot, &a, &b, &flags, &place);
    if (rc == 0
        && (hx_push(r->t, kind, flags, slot, a, b, (uint32_t)r->line) != 0
            || hx_set_place(r->t, r->t->nops - 1, place) != 0))
        return fail(r, "out of memory");
    return rc;
}

/* Parse one line (without its line break); add its op and comment. */
static int
parse_line(struct reader *r, const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (memchr(s, '\0', n) != NULL)
        return fail(r, "expected text, found a NUL byte");
    if (n > MAX_LINE)
        return fail(r, "expected a line of at most %d bytes, found %zu",
                    MAX_LINE, n);
    const char *hash = memchr(s, '#', n);
    const char *c = NULL;
    size_t cn = 0;
    if (hash != NULL) {
        c = hash + 1;
        cn = (size_t)(s + n - c);
        while (cn > 0 && blank(c[cn - 1]))
            cn--;
        if (cn > MAX_NOTE)
            return fail(r, "expected a comment of at most %d bytes, found %zu",
                        MAX_NOTE, cn);
        if (memchr(c, '\r', cn) != NULL)
            return fail(r, "expected a comment without carriage returns");
    }
    r->p = s;
    r->end = hash != NULL ? hash : s + n;
    r->taken = r->taken_end = NULL;
    const char *tok;
    size_t tn;
    bool op = next_token(r, &tok, &tn);
    bool expect = op && tn == 6 && memcmp(tok, "expect", 6) == 0;
    int rc = 0;
    if (expect) {
        took(r, tok, tn);
        rc = parse_expect(r);
    } else if (op) {
        rc = parse_op(r, tok, tn);
    }
    if (rc != 0 || c == NULL)
        return rc;
    char text[MAX_NOTE + 1];
    memcpy(text, c, cn);
    text[cn] = '\0';
    // a comment on an expect line goes before the next operation
    if (hx_note_add(r->t, op && !expect, text) != 0)
        return fail(r, "out of memory");
    return 0;
}

/* Parse len bytes of text into t (initialised here) and validate it;
 * return 0, or -1 with "SOURCE:LINE: ..." in err and t left empty. */
int
hx_read_text(struct hx_trace *t, const char *source, const char *text,
             size_t len, char *err, size_t errlen)
{
    hx_trace_init(t, source);
    struct reader r = {.t = t,
                       .source = t->source != NULL ? t->source : "-",
                       .err = err,
                       .errlen = errlen};
    size_t off = 0;
    int rc = 0;
    while (off < len && rc == 0) {
        const char *s = text + off;
        const char *nl = memchr(s, '\n', len - off);
        size_t n = nl != NULL ? (size_t)(nl - s) : len - off;
        off += n + (nl != NULL);
        if (++r.line > UINT32_MAX)
            rc = fail(&r, "expected at most %" PRIu32 " lines", UINT32_MAX);
        else
            rc = parse_line(&r, s, n);
    }
    if (rc == 0)
        rc = hx_validate(t, err, errlen);
    if (rc != 0) {
        hx_trace_free(t);
        hx_trace_init(t, source);
    }
    return rc;
}

/* Print op's line, without its line break. */
static void
write_op(const struct hx_trace *t, const struct hx_op *op, FILE *out)
{
    char l[72];
    if (op->kind >= HX_NKINDS)
        return;
    if (op->kind == HX_FAULT_ARENAS || op->kind == HX_FAULT_RAW) {
        fprintf(out, "fault %s ", op->kind == HX_FAULT_RAW ? "raw" : "arenas");
        if (op->flags & HX_F_ALWAYS)
            fputs("always", out);
        else if (op->flags & HX_F_OFF)
            fputs("off", out);
        else
            fprintf(out, "%" PRIu64, op->a);
        return;
    }
    fputs(hx_kind_name(op->kind), out);
    if (op->kind == HX_ARENA_NEW || op->kind == HX_ARENA_FREE)
        fprintf(out, " %" PRIu64, op->a);
    if (op->kind == HX_ARENA_NEW)
        fprintf(out, " %" PRIu64, op->b);
    if (op->kind == HX_CHECK || op->kind >= HX_ARENA_NEW)
        return;
    fprintf(out, " %s", hx_label_str(t, op->slot, l, sizeof l));
    switch (op->kind) {
    case HX_MALLOC:
    case HX_REALLOC:
    case HX_OVERFLOW:
        fprintf(out, " %" PRIu64, op->a);
        break;
    case HX_CALLOC:
        fprintf(out, " %" PRIu64 " %" PRIu64, op->a, op->b);
        break;
    case HX_WRITE_AFTER_FREE:
        // the shortest form: defaults left out
        if (op->a != 0 || op->b != HX_WAF_DEFAULT_LEN)
            fprintf(out, " %" PRIu64, op->a);
        if (op->b != HX_WAF_DEFAULT_LEN)
            fprintf(out, " %" PRIu64, op->b);
        break;
    default:
        break;
    }
    if (op->kind <= HX_FREE && (op->flags & HX_F_OBJ))
        fputs(" obj", out);
    uint64_t pl = t->place != NULL ? t->place[op - t->ops] : HX_PLACE_NONE;
    if (pl != HX_PLACE_NONE)
        fprintf(out, " @%s", hx_place_str(pl, l, sizeof l));
}

/* Print t in canonical text; return 0, or -1 on a write error. */
int
hx_write_text(const struct hx_trace *t, FILE *out)
{
    if (t->nexpect > 0) {
        fputs("expect", out);
        for (unsigned k = 0; k < t->nexpect && k < HX_MAX_EXPECT; k++)
            fprintf(out, " %.7s", t->expect[k]);
        fputc('\n', out);
    }
    // notes are sorted by (at, trailing) in a valid trace; any left
    // behind in an invalid one are printed at the end
    size_t c = 0;
    for (size_t i = 0; i < t->nops; i++) {
        for (; c < t->nnotes && t->notes[c].at == i && !t->notes[c].trailing;
             c++)
            fprintf(out, "#%s\n", t->notes[c].text);
        write_op(t, &t->ops[i], out);
        for (; c < t->nnotes && t->notes[c].at == i && t->notes[c].trailing;
             c++)
            fprintf(out, "  #%s", t->notes[c].text);
        fputc('\n', out);
    }
    for (; c < t->nnotes; c++)
        fprintf(out, "#%s\n", t->notes[c].text);
    return fflush(out) != 0 || ferror(out) ? -1 : 0;
}
