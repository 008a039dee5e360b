/* cli_campaign.c — `obcheck campaign`, the main job: every bundled trace
 * in every profile, every generator in every profile, a large heap, fault
 * sweeps over the bundled scenarios; then a table and a JSON report.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#ifndef OBCHECK_CORPORA
#define OBCHECK_CORPORA "corpora"
#endif

#define GEN_OPS 20000 /* operations per generated workload */

static const char campaign_usage[] =
    "usage: obcheck campaign [--corpora DIR] [--seed S] [--json F]\n"
    "                        [--junit F] [--no-large] [--sweep-max N]\n"
    "\n"
    "The main job.  In every profile: replay every bundled trace of\n"
    "DIR/workloads and DIR/misuse (default: the source tree's corpora),\n"
    "honouring `expect` lines; run every generator (seed S, printed\n"
    "first); fault-sweep every bundled workload (transient and persistent);\n"
    "and replay a heap of 1M live blocks in py311 (unless --no-large).\n"
    "Prints a table; writes a JSON report (default obcheck-campaign.json).\n"
    "Exit status: 0 when every run ends as expected, 1 if not, 2 usage or\n"
    "input error.\n";

struct campaign {
    const char *corpora, *json, *junit;
    uint64_t seed;
    bool large;
    unsigned long sweep_max;
    struct cli_rows rows;
    struct hx_run_result *res;
};

static int
parse_campaign(int argc, char **argv, struct campaign *c)
{
    static const struct option longs[] = {
        {"corpora", required_argument, 0, 'c'},
        {"seed", required_argument, 0, 's'},
        {"json", required_argument, 0, 'j'},
        {"junit", required_argument, 0, 'u'},
        {"no-large", no_argument, 0, 'L'},
        {"sweep-max", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(c, 0, sizeof *c);
    c->corpora = OBCHECK_CORPORA;
    c->json = "obcheck-campaign.json";
    c->seed = 1;
    c->large = true;
    for (int ch; (ch = getopt_long(argc, argv, "h", longs, NULL)) != -1;) {
        char *end = NULL;
        switch (ch) {
        case 'c':
            c->corpora = optarg;
            break;
        case 's':
            c->seed = strtoull(optarg, &end, 0);
            break;
        case 'j':
            c->json = optarg;
            break;
        case 'u':
            c->junit = optarg;
            break;
        case 'L':
            c->large = false;
            break;
        case 'm':
            c->sweep_max = strtoul(optarg, &end, 10);
            break;
        case 'h':
            fputs(campaign_usage, stdout);
            exit(CLI_CLEAN);
        default:
            fputs(campaign_usage, stderr);
            return CLI_USAGE;
        }
        if (end != NULL && (*end != '\0' || end == optarg)) {
            fprintf(stderr, "obcheck campaign: bad value '%s'\n", optarg);
            return CLI_USAGE;
        }
    }
    if (optind != argc) {
        fputs(campaign_usage, stderr);
        return CLI_USAGE;
    }
    return 0;
}

/* Replay t once in profile p with options o; add a row. */
static void
replay(struct campaign *c, const struct hx_trace *t, enum obm_profile p,
       const struct hx_run_options *base, const char *mode)
{
    struct hx_run_options o = *base;
    o.profile = p;
    struct cli_progress prog;
    cli_progress_start(&prog, t->source);
    o.progress = cli_progress_tick;
    o.progress_ctx = &prog;
    int status = hx_run(t, &o, c->res);
    cli_progress_end(&prog);
    struct cli_row row;
    cli_row_fill(&row, t->source, p, mode, t, c->res, status);
    if (!row.expected)
        cli_print_failure(t->source, c->res, stdout);
    cli_rows_push(&c->rows, &row);
}

static void
bundled(struct campaign *c, const struct hx_trace *t, size_t n)
{
    struct hx_run_options o;
    hx_run_options_default(&o);
    for (size_t i = 0; i < n; i++) {
        for (int p = 0; p < OBM_NPROFILES; p++) {
            replay(c, &t[i], (enum obm_profile)p, &o, "replay");
            if (t[i].nexpect > 0)
                continue;
            o.profile = (enum obm_profile)p;
            for (int persistent = 0; persistent < 2; persistent++) {
                struct cli_row row;
                cli_sweep(&t[i], &o, persistent, c->sweep_max, &row);
                if (!row.expected)
                    printf("%s: %s: %s at op %lu (%s): %s\n", row.trace,
                           row.mode, row.first.id, row.first_op, row.what,
                           row.first.message);
                cli_rows_push(&c->rows, &row);
            }
        }
    }
}

static int
generated(struct campaign *c)
{
    size_t n;
    const struct hx_generator *g = hx_generators(&n);
    struct hx_run_options o;
    hx_run_options_default(&o);
    for (size_t k = 0; k < n; k++) {
        bool large = strcmp(g[k].name, "large-heap") == 0;
        for (int p = 0; p < OBM_NPROFILES; p++) {
            // the large heap costs seconds per profile: one is enough
            if (large && (!c->large || p != OBM_PY311))
                continue;
            struct hx_gen_options go = {large ? 0 : GEN_OPS, c->seed,
                                        (enum obm_profile)p};
            struct hx_trace t;
            char src[64];
            snprintf(src, sizeof src, "gen:%s", g[k].name);
            hx_trace_init(&t, src);
            if (g[k].generate(&t, &go) != 0) {
                fprintf(stderr, "obcheck campaign: %s: out of memory\n", src);
                hx_trace_free(&t);
                return CLI_USAGE;
            }
            struct hx_run_options lo = o;
            // FULL on a 1M-block heap costs ~0.1 s: a few, not hundreds
            if (large)
                lo.every = 1ul << 20;
            replay(c, &t, (enum obm_profile)p, &lo, "generated");
            hx_trace_free(&t);
        }
    }
    return 0;
}

int
cmd_campaign(int argc, char **argv)
{
    struct campaign c;
    int rc = parse_campaign(argc, argv, &c);
    if (rc != 0)
        return rc;
    printf("obcheck campaign: --seed %llu --corpora %s\n",
           (unsigned long long)c.seed, c.corpora);
    char dirs[2][4096];
    snprintf(dirs[0], sizeof dirs[0], "%s/workloads", c.corpora);
    snprintf(dirs[1], sizeof dirs[1], "%s/misuse", c.corpora);
    char *paths[2] = {dirs[0], dirs[1]};
    struct hx_trace *t;
    size_t n;
    if ((rc = cli_load_all(paths, 2, &t, &n)) != 0)
        return rc;
    c.res = malloc(sizeof *c.res);
    if (c.res == NULL) {
        cli_free_all(t, n);
        return CLI_USAGE;
    }
    double t0 = hx_now();
    bundled(&c, t, n);
    rc = generated(&c);
    cli_table(&c.rows, stdout);
    printf("obcheck campaign: %.1f s\n", hx_now() - t0);
    for (size_t i = 0; i < c.rows.n && rc == 0; i++)
        if (!c.rows.v[i].expected)
            rc = CLI_VIOLATION;
    if (cli_json(&c.rows, c.json) != 0
        || (c.junit != NULL && cli_junit(&c.rows, c.junit) != 0))
        rc = CLI_USAGE;
    else if (strcmp(c.json, "-") != 0)
        printf("obcheck campaign: JSON report in %s\n", c.json);
    free(c.rows.v);
    free(c.res);
    cli_free_all(t, n);
    return rc;
}
