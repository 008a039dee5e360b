/* emit_c.c — a trace as a standalone C program: the reproducer a bug
 * report can carry without obcheck.
 *
 * The program replays each operation as the call it is (obm_malloc,
 * obm_calloc, obm_realloc, obm_free on b[slot]), with the runner's
 * arena and raw sources around the heap so fault operations mean the
 * same.  Misuse is written out as what the runner's op_misuse does: a
 * second obm_free of the freed pointer, or bytes complemented in place,
 * only inside an allocated arena.  After each operation it verifies the
 * behaviour prediction, runs inv_check() at INV_FULL with the live set,
 * and checks each block's bytes against a pattern (the shadow model's K
 * family, in small); at the first violation it prints the report and
 * exits 1.  At the end it frees what is left, as the runner's drain does,
 * and checks that no arena leaked (K9); then it exits 0.
 *
 * Most of this file is the program's own text: a prelude every program
 * carries, then helpers written only when an operation calls them, since
 * the program must build with -Werror (no unused static function).
 */
#include "hx.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

/* Helpers the program needs only for some kinds of operation. */
#define NEED_PLACE 1u /* an allocation or realloc: a new block */
#define NEED_GOT 2u
#define NEED_RESIZED 4u
#define NEED_REFUSED 8u /* an overflowing calloc, a size > PTRDIFF_MAX */
#define NEED_MISUSE 16u
#define NEED_FLIP 32u
#define NEED_HOLDS 64u     /* a realloc or free */
#define NEED_RELEASED 128u /* a double free */

#include "emit_c_text.h"

/* Print s inside a comment: no slash beside a star opens or ends one. */
static void
put_comment(FILE *out, const char *s)
{
    for (const char *c = s; *c != '\0'; c++) {
        // '?' before '/' too: "??/" is a trigraph for a backslash
        bool pair =
            c[0] == '/' && (c[1] == '*' || (c > s && strchr("*?", c[-1])));
        fputc(!isprint((unsigned char)*c) || pair ? '?' : *c, out);
    }
}

/* Print s inside a string literal, escaped (a '?' too: no trigraphs). */
static void
put_string(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\' || *s == '?')
            fprintf(out, "\\%c", *s);
        else if (!isprint((unsigned char)*s))
            fprintf(out, "\\%03o", (unsigned char)*s);
        else
            fputc(*s, out);
    }
}

/* Fields each kind prints: 0 none, 1 a, 2 a and b. */
static const uint8_t nfields[HX_NKINDS] = {1, 2, 1, 0, 1, 1, 0, 0, 2, 1, 2, 1};

/* Write op as its trace line ("malloc 17 100") into buf. */
static void
describe(const struct hx_trace *t, const struct hx_op *op, char *buf,
         size_t len)
{
    char l[72];
    size_t n = (size_t)snprintf(buf, len, "%s", hx_kind_name(op->kind));
    if (op->slot != HX_NO_SLOT && n < len)
        n += (size_t)snprintf(buf + n, len - n, " %s",
                              hx_label_str(t, op->slot, l, sizeof l));
    if (op->flags != 0 && n < len)
        snprintf(buf + n, len - n, " %s",
                 op->flags & HX_F_ALWAYS ? "always" : "off");
    else if (nfields[op->kind] == 1 && n < len)
        snprintf(buf + n, len - n, " %" PRIu64, op->a);
    else if (nfields[op->kind] == 2 && n < len)
        snprintf(buf + n, len - n, " %" PRIu64 " %" PRIu64, op->a, op->b);
}

/* Write v as a C constant of an unsigned type wide enough. */
static const char *
num(uint64_t v, char *buf)
{
    snprintf(buf, 24, "%" PRIu64 "%s", v, v > INT32_MAX ? "u" : "");
    return buf;
}

static bool
calloc_overflows(const struct hx_op *op)
{
    return op->b != 0 && op->a > SIZE_MAX / op->b;
}

/* The ID a malloc or calloc that must fail breaks by returning a block
 * (K8: an overflowing product, K11: above PTRDIFF_MAX), or NULL. */
static const char *
refused(const struct hx_op *op)
{
    if (op->kind == HX_CALLOC && calloc_overflows(op))
        return "K8";
    uint64_t n = op->kind == HX_CALLOC ? op->a * op->b : op->a;
    return n >= HX_HUGE ? "K11" : NULL;
}

/* Return the NEED_* bits of t's operations, or 0 with *bad set if one
 * is malformed (an unknown kind, or a slot the trace does not have). */
static unsigned
needs(const struct hx_trace *t, bool *bad)
{
    static const unsigned by_kind[HX_NKINDS] = {
        [HX_MALLOC] = NEED_PLACE | NEED_GOT,
        [HX_CALLOC] = NEED_PLACE | NEED_GOT,
        [HX_REALLOC] = NEED_PLACE | NEED_RESIZED | NEED_HOLDS,
        [HX_FREE] = NEED_HOLDS,
        [HX_DOUBLE_FREE] = NEED_MISUSE | NEED_RELEASED,
        [HX_WRITE_AFTER_FREE] = NEED_MISUSE | NEED_FLIP,
        [HX_OVERFLOW] = NEED_MISUSE | NEED_FLIP,
    };
    unsigned need = 0;
    *bad = false;
    for (size_t i = 0; i < t->nops && !*bad; i++) {
        const struct hx_op *op = &t->ops[i];
        *bad = op->kind >= HX_NKINDS
               || (op->slot != HX_NO_SLOT && op->slot >= t->nslots);
        if (!*bad && (op->kind == HX_MALLOC || op->kind == HX_CALLOC)
            && refused(op) != NULL)
            need |= NEED_PLACE | NEED_REFUSED;
        else if (!*bad)
            need |= by_kind[op->kind];
    }
    return need;
}

/* Write the calls of an allocation, realloc or free of slot s. */
static void
emit_block_op(const struct hx_op *op, FILE *out)
{
    uint32_t s = op->slot;
    char a[24], b[24], n[24];
    if ((op->kind == HX_MALLOC || op->kind == HX_CALLOC)
        && refused(op) != NULL) {
        num(op->a, a);
        if (op->kind == HX_MALLOC)
            fprintf(out, "    b[%" PRIu32 "] = obm_malloc(h, %s);\n", s, a);
        else
            fprintf(out, "    b[%" PRIu32 "] = obm_calloc(h, %s, %s);\n", s, a,
                    num(op->b, b));
        fprintf(out, "    refused(%" PRIu32 ", \"%s\");\n", s, refused(op));
        return;
    }
    switch (op->kind) {
    case HX_MALLOC:
        fprintf(out,
                "    before(INV_OP_MALLOC, NULL, %s);\n"
                "    b[%" PRIu32 "] = obm_malloc(h, %s);\n"
                "    got(%" PRIu32 ", %s, false);\n",
                num(op->a, a), s, a, s, a);
        break;
    case HX_CALLOC:
        num(op->a, a);
        num(op->b, b);
        fprintf(out,
                "    before(INV_OP_CALLOC, NULL, %s);\n"
                "    b[%" PRIu32 "] = obm_calloc(h, %s, %s);\n"
                "    got(%" PRIu32 ", %s, true);\n",
                num(op->a * op->b, n), s, a, b, s, n);
        break;
    case HX_REALLOC:
        fprintf(out,
                "    if (holds(%" PRIu32 ")) {\n"
                "        before(INV_OP_REALLOC, b[%" PRIu32 "], %s);\n"
                "        resized(%" PRIu32 ", obm_realloc(h, b[%" PRIu32
                "], %s), %s);\n"
                "    }\n",
                s, s, num(op->a, a), s, s, a, a);
        break;
    default: // HX_FREE
        fprintf(out,
                "    if (holds(%" PRIu32 ")) {\n"
                "        before(INV_OP_FREE, b[%" PRIu32 "], 0);\n"
                "        obm_free(h, b[%" PRIu32 "]);\n"
                "        freed(%" PRIu32 ");\n"
                "    }\n",
                s, s, s, s);
        break;
    }
}

/* Write the statements of op (everything but the check after it). */
static void
emit_op(const struct hx_op *op, FILE *out)
{
    const char *f = op->kind == HX_FAULT_RAW ? "raw_faults" : "arena_faults";
    uint32_t s = op->slot;
    char a[24], b[24];
    switch (op->kind) {
    case HX_FAULT_ARENAS:
    case HX_FAULT_RAW:
        if (op->flags & HX_F_OFF)
            fprintf(out, "    %s.always = false;\n    %s.next = 0;\n", f, f);
        else if (op->flags & HX_F_ALWAYS)
            fprintf(out, "    %s.always = true;\n", f);
        else
            fprintf(out, "    %s.next = %s;\n", f, num(op->a, a));
        break;
    case HX_CHECK:
    case HX_ARENA_NEW:
    case HX_ARENA_FREE:
        break;
    case HX_DOUBLE_FREE:
        fprintf(out,
                "    if (misusable(%" PRIu32 ", FREED)) {\n"
                "        uintptr_t end = arena_end(b[%" PRIu32 "]);\n"
                "        obm_free(h, b[%" PRIu32 "]);\n"
                "        released(%" PRIu32 ", end);\n"
                "    }\n",
                s, s, s, s);
        break;
    case HX_WRITE_AFTER_FREE:
        fprintf(out,
                "    if (misusable(%" PRIu32 ", FREED))\n"
                "        flip(%" PRIu32 ", %s, %s, usable[%" PRIu32 "]);\n",
                s, s, num(op->a, a), num(op->b, b), s);
        break;
    case HX_OVERFLOW:
        fprintf(out,
                "    if (misusable(%" PRIu32 ", LIVE))\n"
                "        flip(%" PRIu32 ", size[%" PRIu32
                "], %s, UINT64_MAX);\n",
                s, s, s, num(op->a, a));
        break;
    default:
        emit_block_op(op, out);
        break;
    }
}

/* Write the opening comment, the slot count and the labels. */
static void
emit_head(const struct hx_trace *t, const struct obm_geometry *g, FILE *out)
{
    fputs("/* A reproducer emitted by obcheck from\n *   ", out);
    put_comment(out, t->source != NULL ? t->source : "-");
    fprintf(out,
            "\n * %zu operations replayed through the public allocator API "
            "in\n * profile %s (%s), checked after each one",
            t->nops, g->name, g->versions);
    for (unsigned k = 0; k < t->nexpect && k < HX_MAX_EXPECT; k++) {
        fputs(k == 0 ? "; it should fail\n * with " : " or ", out);
        put_comment(out, t->expect[k]);
    }
    fputs(".\n"
          " * Build: cc -std=c11 -I allocator -I invariants this.c libinv.a "
          "libobm.a\n"
          " * Exit status: 1 at the first violation (reported on stdout), "
          "0 if none. */\n",
          out);
    fputs(includes, out);
    uint32_t n = t->nslots > 0 ? t->nslots : 1;
    fprintf(out,
            "#define NSLOTS %" PRIu32 "u\n"
            "\n/* What the trace calls each slot's block. */\n"
            "static const char *const label[NSLOTS] = {",
            n);
    for (uint32_t s = 0; s < n; s++) {
        char l[72] = "-";
        if (s < t->nslots)
            hx_label_str(t, s, l, sizeof l);
        fputs(s % 8 == 0 ? "\n    \"" : " \"", out);
        put_string(out, l);
        fputs("\",", out);
    }
    fputs("\n};\n", out);
}

/* Write main(): the heap, each operation and the check after it, and the
 * runner's drain. */
static void
emit_main(const struct hx_trace *t, const struct obm_geometry *g, FILE *out)
{
    char profile[16];
    snprintf(profile, sizeof profile, "OBM_%s", g->name);
    for (char *c = profile; *c != '\0'; c++)
        *c = (char)toupper((unsigned char)*c);
    fprintf(out, main_open, profile);
    for (size_t i = 0; i < t->nops; i++) {
        char line[160];
        describe(t, &t->ops[i], line, sizeof line);
        fputs("\n    /* ", out);
        put_comment(out, line);
        fprintf(out, " */\n    opno = %zu;\n", i + 1);
        emit_op(&t->ops[i], out);
        fputs("    check(\"", out);
        put_string(out, line);
        fputs("\");\n", out);
    }
    fputs(main_close, out);
}

/* Print t as a standalone C program for profile p; return 0, or -1 on a
 * write error or a malformed trace (unknown kind, slot out of range). */
int
hx_emit_c(const struct hx_trace *t, enum obm_profile p, FILE *out)
{
    static const struct {
        unsigned need;
        const char *text;
    } parts[] = {
        {NEED_HOLDS, holds_fn},       {NEED_PLACE, place_fn},
        {NEED_GOT, got_fn},           {NEED_RESIZED, resized_fn},
        {NEED_REFUSED, refused_fn},   {NEED_MISUSE, misuse_fn},
        {NEED_RELEASED, released_fn}, {NEED_FLIP, flip_fn},
    };
    const struct obm_geometry *g = obm_geometry(p);
    bool bad;
    unsigned need = needs(t, &bad);
    if (g == NULL || bad)
        return -1;
    emit_head(t, g, out);
    fputs(prelude, out);
    // only the helpers the operations call: the program builds with -Werror
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
        if (need & parts[k].need)
            fputs(parts[k].text, out);
    emit_main(t, g, out);
    return ferror(out) ? -1 : 0;
}
