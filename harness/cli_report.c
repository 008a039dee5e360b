/* cli_report.c — what obcheck prints about runs: the summary table for a
 * person, a JSON report and a JUnit file for CI systems, and a failed
 * run's violations in the house format.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void
cli_row_fill(struct cli_row *row, const char *name, enum obm_profile p,
             const char *mode, const struct hx_trace *t,
             const struct hx_run_result *res, int status)
{
    memset(row, 0, sizeof *row);
    snprintf(row->trace, sizeof row->trace, "%s", name);
    row->profile = obm_geometry(p)->name;
    snprintf(row->mode, sizeof row->mode, "%s", mode);
    row->ops = res->ops;
    row->trials = 1;
    row->local_checks = res->local_checks;
    row->full_checks = res->full_checks;
    row->seconds = res->seconds;
    row->peak_live = res->peak_live;
    row->peak_arenas = res->peak_arenas;
    row->status = status;
    row->expected = hx_as_expected(t, res);
    row->first_op = res->first_op;
    row->first_line = res->first_line;
    snprintf(row->what, sizeof row->what, "%s", res->what);
    if (res->report.nkept > 0)
        row->first = res->report.kept[0];
    row->nviolations = res->report.total;
}

int
cli_rows_push(struct cli_rows *rows, const struct cli_row *row)
{
    if (rows->n == rows->cap) {
        size_t cap = rows->cap == 0 ? 64 : rows->cap * 2;
        struct cli_row *v = realloc(rows->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        rows->v = v;
        rows->cap = cap;
    }
    rows->v[rows->n++] = *row;
    return 0;
}

/* Write n as 1234, 12.3K, 4.56M. */
static const char *
human(double n, char *buf, size_t len)
{
    if (n >= 1e6)
        snprintf(buf, len, "%.2fM", n / 1e6);
    else if (n >= 1e4)
        snprintf(buf, len, "%.1fK", n / 1e3);
    else
        snprintf(buf, len, "%.0f", n);
    return buf;
}

static const char *
outcome(const struct cli_row *row)
{
    if (row->status == CLI_CLEAN)
        return row->expected ? "clean" : "CLEAN, expected a violation";
    return row->expected ? "expected" : "VIOLATION";
}

/* Write s, or "..." and its tail when it is wider than width. */
static const char *
fit(const char *s, size_t width, char *buf, size_t len)
{
    size_t n = strlen(s);
    if (n <= width)
        return s;
    snprintf(buf, len, "...%s", s + n - (width - 3));
    return buf;
}

void
cli_table(const struct cli_rows *rows, FILE *out)
{
    fprintf(out, "%-34s %-6s %-16s %8s %8s %8s %6s  %s\n", "trace", "prof",
            "mode", "ops", "ops/s", "live", "arenas", "result");
    size_t bad = 0, expected = 0;
    unsigned long ops = 0;
    double secs = 0;
    for (size_t i = 0; i < rows->n; i++) {
        const struct cli_row *r = &rows->v[i];
        char a[16], b[16], c[16], name[40];
        fprintf(out, "%-34s %-6s %-16s %8s %8s %8s %6zu  %s",
                fit(r->trace, 34, name, sizeof name), r->profile, r->mode,
                human((double)r->ops, a, sizeof a),
                human(r->seconds > 0 ? (double)r->ops / r->seconds : 0, b,
                      sizeof b),
                human((double)r->peak_live, c, sizeof c), r->peak_arenas,
                outcome(r));
        if (r->status != CLI_CLEAN)
            fprintf(out, " %s at op %lu (%s)", r->first.id, r->first_op,
                    r->what);
        fputc('\n', out);
        bad += !r->expected;
        expected += r->expected && r->status != CLI_CLEAN;
        ops += r->ops;
        secs += r->seconds;
    }
    fprintf(out,
            "obcheck: %zu runs, %zu as expected (%zu of them expected "
            "violations), %zu not; %lu operations in %.2f s\n",
            rows->n, rows->n - bad, expected, bad, ops, secs);
}

static void
json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void
json_row(FILE *f, const struct cli_row *r)
{
    fputs("{\"trace\":", f);
    json_str(f, r->trace);
    fprintf(f, ",\"profile\":\"%s\",\"mode\":", r->profile);
    json_str(f, r->mode);
    fprintf(f,
            ",\"ops\":%lu,\"trials\":%lu,\"seconds\":%.6f,\"peak_live\":%zu,"
            "\"peak_arenas\":%zu,\"local_checks\":%lu,\"full_checks\":%lu,"
            "\"result\":\"%s\",\"as_expected\":%s",
            r->ops, r->trials, r->seconds, r->peak_live, r->peak_arenas,
            r->local_checks, r->full_checks,
            r->status == CLI_CLEAN ? "clean" : "violation",
            r->expected ? "true" : "false");
    if (r->status != CLI_CLEAN) {
        fprintf(f, ",\"first\":{\"op\":%lu,\"line\":%u,\"what\":", r->first_op,
                r->first_line);
        json_str(f, r->what);
        fprintf(f, ",\"id\":\"%s\",\"message\":", r->first.id);
        json_str(f, r->first.message);
        fprintf(f, ",\"violations\":%zu}", r->nviolations);
    }
    fputc('}', f);
}

int
cli_json(const struct cli_rows *rows, const char *path)
{
    FILE *f = cli_open_out(path);
    if (f == NULL)
        return -1;
    size_t bad = 0;
    fputs("{\"tool\":\"obcheck\",\"runs\":[", f);
    for (size_t i = 0; i < rows->n; i++) {
        fputs(i > 0 ? ",\n" : "\n", f);
        json_row(f, &rows->v[i]);
        bad += !rows->v[i].expected;
    }
    fprintf(f,
            "\n],\"summary\":{\"runs\":%zu,\"as_expected\":%zu,"
            "\"not_as_expected\":%zu}}\n",
            rows->n, rows->n - bad, bad);
    return cli_close_out(f, path);
}

static void
xml_str(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

int
cli_junit(const struct cli_rows *rows, const char *path)
{
    FILE *f = cli_open_out(path);
    if (f == NULL)
        return -1;
    size_t bad = 0;
    double secs = 0;
    for (size_t i = 0; i < rows->n; i++) {
        bad += !rows->v[i].expected;
        secs += rows->v[i].seconds;
    }
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuite name=\"obcheck\" tests=\"%zu\" failures=\"%zu\" "
            "time=\"%.3f\">\n",
            rows->n, bad, secs);
    for (size_t i = 0; i < rows->n; i++) {
        const struct cli_row *r = &rows->v[i];
        fprintf(f, "  <testcase classname=\"%s.", r->profile);
        xml_str(f, r->mode);
        fputs("\" name=\"", f);
        xml_str(f, r->trace);
        fprintf(f, "\" time=\"%.3f\"", r->seconds);
        if (r->expected) {
            fputs("/>\n", f);
            continue;
        }
        fputs(">\n    <failure message=\"", f);
        if (r->status == CLI_CLEAN)
            fputs("clean, but the trace expects a violation", f);
        else {
            fprintf(f, "%s at op %lu (", r->first.id, r->first_op);
            xml_str(f, r->what);
            fputs("): ", f);
            xml_str(f, r->first.message);
        }
        fputs("\"/>\n  </testcase>\n", f);
    }
    fputs("</testsuite>\n", f);
    return cli_close_out(f, path);
}

void
cli_print_failure(const char *name, const struct hx_run_result *res, FILE *out)
{
    if (res->first_line != 0)
        fprintf(out, "%s:%u: ", name, res->first_line);
    else
        fprintf(out, "%s: ", name);
    fprintf(out, "%zu violation%s after op #%lu %s\n", res->report.total,
            res->report.total == 1 ? "" : "s", res->first_op, res->what);
    for (size_t k = 0; k < res->report.nkept; k++) {
        fputs("  ", out);
        inv_violation_print(&res->report.kept[k], out);
        fputc('\n', out);
    }
    if (res->report.total > res->report.nkept)
        fprintf(out, "  ... and %zu more\n",
                res->report.total - res->report.nkept);
}
