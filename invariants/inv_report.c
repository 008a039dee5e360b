/* inv_report.c — recording violations in fixed storage, the breakpoint
 * hook, and the two printed forms (house line, JSON). */
#include "inv_internal.h"

#include <string.h>

__attribute__((noinline)) void
inv_on_violation(const struct inv_violation *viol)
{
    // an empty body the compiler must keep: a place for a breakpoint
    __asm__ volatile("" : : "r"(viol) : "memory");
}

void
inv_fail(struct inv_ctx *c, const char *id, long arena, long szidx,
         uintptr_t pool, uintptr_t block, enum inv_value kind,
         uint64_t expected, uint64_t found, const char *fmt, ...)
{
    struct inv_violation viol = {id,   arena,    szidx, pool,    block,
                                 kind, expected, found, c->opno, {0}};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(viol.message, sizeof viol.message, fmt, ap);
    va_end(ap);
    struct inv_report *r = c->out;
    if (r->nkept < INV_MAX_KEPT)
        r->kept[r->nkept++] = viol;
    r->total++;
    inv_on_violation(&viol);
    if (r->on_violation != NULL)
        r->on_violation(r->ctx, &viol);
}

static void
print_value(FILE *out, enum inv_value kind, uint64_t x)
{
    switch (kind) {
    case INV_VAL_SIGNED:
        fprintf(out, "%lld", (long long)x);
        break;
    case INV_VAL_PTR:
        fprintf(out, "0x%llx", (unsigned long long)x);
        break;
    default:
        fprintf(out, "%llu", (unsigned long long)x);
        break;
    }
}

/* Print the object the violation is about: pool, block, arena or heap. */
static void
print_object(const struct inv_violation *v, FILE *out)
{
    if (v->pool != 0) {
        fprintf(out, "pool 0x%llx", (unsigned long long)v->pool);
        if (v->arena >= 0 && v->szidx >= 0)
            fprintf(out, " (arena %ld, class %ld)", v->arena, v->szidx);
        else if (v->arena >= 0)
            fprintf(out, " (arena %ld)", v->arena);
        else if (v->szidx >= 0)
            fprintf(out, " (class %ld)", v->szidx);
    } else if (v->arena >= 0) {
        fprintf(out, "arena %ld", v->arena);
    } else if (v->szidx >= 0) {
        fprintf(out, "class %ld", v->szidx);
    } else {
        fputs("heap", out);
    }
    if (v->block != 0)
        fprintf(out, " block 0x%llx", (unsigned long long)v->block);
}

void
inv_violation_print(const struct inv_violation *v, FILE *out)
{
    fprintf(out, "INV %s ", v->id);
    print_object(v, out);
    fprintf(out, ": %s", v->message);
    if (v->kind != INV_VAL_NONE) {
        fputs(" (expected ", out);
        print_value(out, v->kind, v->expected);
        fputs(", found ", out);
        print_value(out, v->kind, v->found);
        fputc(')', out);
    }
    fprintf(out, " after op #%lu", v->opno);
}

void
inv_report_print(const struct inv_report *r, FILE *out)
{
    for (size_t i = 0; i < r->nkept; i++) {
        inv_violation_print(&r->kept[i], out);
        fputc('\n', out);
    }
    if (r->total > r->nkept)
        fprintf(out, "INV ... %zu more violations not kept\n",
                r->total - r->nkept);
    if (r->skipped & INV_SKIP_NO_LIVE)
        fputs("INV note: no live set: C5, P8, P9 and P10 not checked\n", out);
    if (r->skipped & INV_SKIP_LIVE_ORDER)
        fputs("INV note: live set unsorted and no scratch: C5 per pool and "
              "P9 not checked\n",
              out);
    if (r->skipped & INV_SKIP_VECTOR)
        fputs("INV note: arenas vector untrusted: arenas and pools not "
              "walked\n",
              out);
}

/* Print s as a JSON string. */
static void
json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void
json_value(FILE *out, enum inv_value kind, uint64_t x)
{
    if (kind == INV_VAL_NONE)
        fputs("null", out);
    else if (kind == INV_VAL_PTR)
        fprintf(out, "\"0x%llx\"", (unsigned long long)x);
    else
        print_value(out, kind, x);
}

void
inv_report_json(const struct inv_report *r, FILE *out)
{
    fputs("{\"violations\":[", out);
    for (size_t i = 0; i < r->nkept; i++) {
        const struct inv_violation *v = &r->kept[i];
        fprintf(out, "%s{\"id\":\"%s\",\"arena\":", i ? "," : "", v->id);
        if (v->arena >= 0)
            fprintf(out, "%ld", v->arena);
        else
            fputs("null", out);
        fprintf(out, ",\"class\":");
        if (v->szidx >= 0)
            fprintf(out, "%ld", v->szidx);
        else
            fputs("null", out);
        fprintf(out, ",\"pool\":\"0x%llx\",\"block\":\"0x%llx\",",
                (unsigned long long)v->pool, (unsigned long long)v->block);
        fputs("\"expected\":", out);
        json_value(out, v->kind, v->expected);
        fputs(",\"found\":", out);
        json_value(out, v->kind, v->found);
        fputs(",\"message\":", out);
        json_string(out, v->message);
        fprintf(out, ",\"op\":%lu}", v->opno);
    }
    fprintf(out, "],\"total\":%zu}\n", r->total);
}

bool
inv_report_has(const struct inv_report *r, const char *id)
{
    for (size_t i = 0; i < r->nkept; i++)
        if (strcmp(r->kept[i].id, id) == 0)
            return true;
    return false;
}
