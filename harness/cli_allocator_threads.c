/* cli_allocator_threads.c — `obcheck allocator --threads N`: the
 * workloads in N threads at once with cross-thread frees, in a child
 * process like every job of the battery.
 */
#include "cli_allocator.h"

#include <string.h>

struct threads_job {
    const struct hx_allocator *a;
    const struct hx_trace *t;
    size_t n;
    unsigned threads;
    struct hx_run_options o;
};

static int
job_threads(void *ctx, struct hx_run_result *res,
            volatile unsigned long *last_op)
{
    const struct threads_job *j = ctx;
    *last_op = 0;
    return hx_threads_run(j->a, j->t, j->n, j->threads, &j->o, res);
}

int
acli_threads(const struct acli *c, const struct hx_allocator *a,
             const struct hx_trace *t, size_t n, struct acli_outcome *out)
{
    struct threads_job j = {a, t, n, c->threads, {0}};
    hx_run_options_default(&j.o);
    j.o.alloc = a;
    j.o.check = HX_CHECK_EVERY | HX_CHECK_END;
    j.o.every = 1024;
    struct hx_run_result res;
    struct hx_crash cr;
    char name[96];
    snprintf(name, sizeof name, "%s: %u threads", a->name, c->threads);
    int rc;
    if (c->no_fork) {
        volatile unsigned long last = 0;
        rc = job_threads(&j, &res, &last);
    } else {
        rc = hx_isolated(job_threads, &j, c->timeout, &res, &cr);
    }
    if (rc == 3) {
        memset(&res.report, 0, sizeof res.report);
        struct inv_violation *v = &res.report.kept[0];
        v->id = "K15";
        v->arena = v->szidx = -1;
        snprintf(v->message, sizeof v->message, "%s with %u threads", cr.how,
                 c->threads);
        res.report.nkept = res.report.total = 1;
        res.first_op = 1;
        snprintf(res.what, sizeof res.what, "threads");
        rc = CLI_VIOLATION;
    }
    if (rc == CLI_VIOLATION) {
        cli_print_failure(name, &res, stdout);
        out->failed = true;
    } else if (rc == CLI_CLEAN && !c->quiet) {
        printf("%s: pass (%lu ops, %.0f ops/s)\n", name, res.ops,
               res.seconds > 0 ? (double)res.ops / res.seconds : 0.0);
    } else if (rc != CLI_CLEAN) {
        fprintf(stderr, "obcheck allocator: threads could not start\n");
        rc = CLI_USAGE;
    }
    return rc;
}
