/* cli_allocator_run.c — the battery of `obcheck allocator`: each probe and
 * each workload a job in a child process, a crash turned into a finding
 * with a reproducing trace prefix, and the report card of many batteries.
 */
#include "cli_allocator.h"

#include <ctype.h>
#include <string.h>

struct job {
    const struct hx_allocator *a;
    const struct hx_trace *t; /* NULL for a probe */
    struct hx_run_options o;
    size_t probe;
};

static int
job_probe(void *ctx, struct hx_run_result *res,
          volatile unsigned long *last_op)
{
    const struct job *j = ctx;
    memset(res, 0, sizeof *res);
    *last_op = j->probe + 1;
    return hx_probe_run(j->a, j->probe, res);
}

static int
job_trace(void *ctx, struct hx_run_result *res,
          volatile unsigned long *last_op)
{
    struct job *j = ctx;
    j->o.last_op = last_op;
    return hx_run(j->t, &j->o, res);
}

/* Copy s into buf with everything but letters, digits, '.' and '-' as
 * '_' (a file name part). */
static const char *
file_part(const char *s, char *buf, size_t len)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < len; i++)
        buf[i] = isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'
                     ? s[i]
                     : '_';
    buf[i] = '\0';
    return buf;
}

/* Write the first nops operations of t to path: they reproduce a crash
 * at the last of them.  Return 0 or -1. */
static int
write_prefix(const struct hx_trace *t, unsigned long nops, const char *path)
{
    struct hx_trace pre = *t;
    pre.nops = nops < t->nops ? nops : t->nops;
    pre.nnotes = 0;
    while (pre.nnotes < t->nnotes && t->notes[pre.nnotes].at <= pre.nops)
        pre.nnotes++;
    pre.nexpect = 0;
    FILE *f = cli_open_out(path);
    if (f == NULL)
        return -1;
    hx_write_text(&pre, f);
    return cli_close_out(f, path);
}

/* Turn a crash of job j into a violation in res: the probe's ID, or K15
 * for a workload, whose trace prefix goes into c->out_dir. */
static void
crash_finding(const struct acli *c, const struct job *j,
              const struct hx_crash *cr, struct hx_run_result *res)
{
    size_t np;
    const struct hx_probe *probes = hx_probes(&np);
    struct inv_violation v;
    memset(&v, 0, sizeof v);
    v.id = j->t == NULL ? probes[j->probe].crash_id : "K15";
    v.arena = v.szidx = -1;
    v.opno = cr->last_op;
    res->first_op = cr->last_op;
    res->first_line = 0;
    if (j->t == NULL) {
        snprintf(res->what, sizeof res->what, "probe %s",
                 probes[j->probe].name);
        snprintf(v.message, sizeof v.message, "%s in probe %s", cr->how,
                 probes[j->probe].name);
    } else {
        const struct hx_op *op =
            cr->last_op > 0 ? &j->t->ops[cr->last_op - 1] : NULL;
        char label[48] = "", a[48], b[64], path[512];
        const char *slash = strrchr(j->a->name, '/');
        if (op != NULL && op->slot != HX_NO_SLOT)
            hx_label_str(j->t, op->slot, label, sizeof label);
        snprintf(res->what, sizeof res->what, "%s %s",
                 op != NULL ? hx_kind_name(op->kind) : "start", label);
        snprintf(
            path, sizeof path, "%s/crash-%s-%s.trace", c->out_dir,
            file_part(slash != NULL ? slash + 1 : j->a->name, a, sizeof a),
            file_part(j->t->source, b, sizeof b));
        bool saved = write_prefix(j->t, cr->last_op, path) == 0;
        // the message has INV_MESSAGE_LEN bytes: the path is printed apart
        snprintf(v.message, sizeof v.message, "%.40s in op #%lu %.40s",
                 cr->how, cr->last_op, res->what);
        printf("%s: trace prefix %s %s\n", j->a->name,
               saved ? "written to" : "not written:", path);
    }
    res->report.kept[0] = v;
    res->report.nkept = 1;
    res->report.total = 1;
}

/* Run one job (in a child unless --no-fork); return its status. */
static int
run_job(const struct acli *c, struct job *j, struct hx_run_result *res)
{
    hx_job_fn *fn = j->t != NULL ? job_trace : job_probe;
    if (c->no_fork) {
        volatile unsigned long last = 0;
        return fn(j, res, &last);
    }
    struct hx_crash cr;
    int rc = hx_isolated(fn, j, c->timeout, res, &cr);
    if (rc == 3) {
        crash_finding(c, j, &cr, res);
        rc = CLI_VIOLATION;
    } else if (rc < 0) {
        fprintf(stderr, "obcheck allocator: cannot fork\n");
        rc = CLI_USAGE;
    }
    return rc;
}

/* Note res's violations in out, each ID's first one only. */
static void
record(struct acli_outcome *out, const struct hx_run_result *res,
       const char *where)
{
    for (size_t k = 0; k < res->report.nkept; k++) {
        const char *id = res->report.kept[k].id;
        size_t row = 0;
        while (row + 1 < out->nids && strcmp(out->ids[row], id) != 0)
            row++;
        // any catalogue ID (state, behaviour) goes to the checker's row
        if (strcmp(out->ids[row], id) != 0)
            row = out->nids - 1;
        if (out->first_op[row] == 0) {
            out->first_op[row] = res->first_op;
            snprintf(out->where[row], sizeof out->where[row], "%s", where);
        }
    }
    out->failed = true;
}

static void
outcome_init(struct acli_outcome *out, const struct hx_allocator *a)
{
    memset(out, 0, sizeof *out);
    size_t nk;
    const struct hx_k_entry *k = hx_k_catalogue(&nk);
    for (size_t i = 0; i < nk && out->nids + 1 < ACLI_MAX_IDS; i++)
        out->ids[out->nids++] = k[i].id;
    out->ids[out->nids++] = "INV";
    out->viewed = a->view != NULL;
    out->usable = a->usable_size != NULL;
}

/* Print a job's outcome: a pass line, or the violations. */
static void
report_job(const struct acli *c, const char *name, int rc,
           const struct hx_run_result *res)
{
    if (rc == CLI_VIOLATION) {
        cli_print_failure(name, res, stdout);
    } else if (!c->quiet && res->seconds > 0) {
        printf("%s: pass (%lu ops, %.0f ops/s)\n", name, res->ops,
               (double)res->ops / res->seconds);
    } else if (!c->quiet) {
        printf("%s: pass\n", name);
    }
}

int
acli_battery(const struct acli *c, const struct hx_allocator *a,
             const struct hx_trace *t, size_t n, struct acli_outcome *out)
{
    outcome_init(out, a);
    struct job j = {.a = a};
    hx_run_options_default(&j.o);
    j.o.alloc = a;
    j.o.check = a->view != NULL ? HX_CHECK_FULL | HX_CHECK_END
                                : HX_CHECK_EVERY | HX_CHECK_END;
    j.o.every = 1024;
    j.o.verify_budget = a->view != NULL ? 32 << 10 : 0;
    if (c->check_set) {
        j.o.check = c->check;
        j.o.every = c->every;
    }
    struct hx_run_result res;
    char name[160];
    size_t np;
    const struct hx_probe *probes = hx_probes(&np);
    int worst = CLI_CLEAN;
    for (size_t i = 0; i < np + n; i++) {
        j.t = i < np ? NULL : &t[i - np];
        j.probe = i;
        snprintf(name, sizeof name, "%s: %s%s", a->name,
                 i < np ? "probe " : "",
                 i < np ? probes[i].name : j.t->source);
        int rc = run_job(c, &j, &res);
        report_job(c, name, rc, &res);
        if (rc == CLI_VIOLATION)
            record(out, &res, i < np ? "probe" : j.t->source + 4);
        if (i == np && rc == CLI_CLEAN && res.seconds > 0)
            out->ops_per_s = (double)res.ops / res.seconds;
        worst = rc > worst ? rc : worst;
    }
    return worst;
}

/* Write the card's cell for row r of outcome o into cell. */
static void
card_cell(const struct acli_outcome *o, size_t r, char *cell, size_t len)
{
    const char *id = o->ids[r];
    bool sized = strcmp(id, "K7") == 0 || strcmp(id, "K10") == 0;
    // K9 counts the arenas of the reference's own source only
    if (strcmp(id, "K9") == 0 || (strcmp(id, "INV") == 0 && !o->viewed)
        || (sized && !o->usable))
        snprintf(cell, len, "n/a");
    else if (o->first_op[r] == 0)
        snprintf(cell, len, "pass");
    else
        snprintf(cell, len, "FAIL@op %lu", o->first_op[r]);
}

static void
card_notes(const char *const *names, const struct acli_outcome *o, size_t n,
           FILE *out)
{
    fputs("\npass; FAIL@op N: the op (or probe) where the first job that "
          "failed saw it;\nn/a: K9 is about the reference's arena source, "
          "K7 and K10 need a usable-size\nquery, INV/B needs "
          "PREFIXobcheck_view.  ops/s: the first workload, shadow model\n"
          "included.  The IDs: obcheck invariants.\n",
          out);
    for (size_t c = 0; c < n; c++)
        for (size_t r = 0; r < o[c].nids; r++)
            if (o[c].first_op[r] != 0)
                fprintf(out, "  %s %s: first in %s\n", names[c], o[c].ids[r],
                        o[c].where[r]);
}

void
acli_card(const char *const *names, const struct acli_outcome *o, size_t n,
          FILE *out)
{
    if (n == 0)
        return;
    fprintf(out, "\n%-22s", "check");
    for (size_t c = 0; c < n; c++)
        fprintf(out, c + 1 < n ? " %-12s" : " %s", names[c]);
    fputc('\n', out);
    for (size_t r = 0; r < o[0].nids; r++) {
        bool inv = strcmp(o[0].ids[r], "INV") == 0;
        fprintf(out, "%-22s", inv ? "INV/B (obcheck_view)" : o[0].ids[r]);
        for (size_t c = 0; c < n; c++) {
            char cell[32];
            card_cell(&o[c], r, cell, sizeof cell);
            fprintf(out, c + 1 < n ? " %-12s" : " %s", cell);
        }
        fputc('\n', out);
    }
    fprintf(out, "%-22s", "ops/s");
    for (size_t c = 0; c < n; c++)
        fprintf(out, c + 1 < n ? " %-12.0f" : " %.0f", o[c].ops_per_s);
    fputc('\n', out);
    card_notes(names, o, n, out);
}
