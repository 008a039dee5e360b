/* obcheck.c — the obcheck command line: verb dispatch and `obcheck run`.
 *
 * Exit status of every verb: 0 clean, 1 violations found, 2 usage or
 * input error.  Every input is loaded and validated before anything runs,
 * so a bad trace never leaves a run half done.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: obcheck VERB [OPTIONS] ...   (obcheck VERB --help for more)\n"
    "\n"
    "  run        replay traces through the reference core, checking\n"
    "  gen        write a generated workload trace\n"
    "  minimize   shrink a failing trace, keeping its first violation ID\n"
    "  convert    convert traces between the text and binary formats\n"
    "  stats      replay a trace, then print CPython-style statistics\n"
    "  invariants print the catalogue of invariant and contract IDs\n"
    "  campaign   the main job: every bundled trace in every profile,\n"
    "             generated workloads, fault sweeps, a JSON report\n"
    "  decode     print the program a fuzz input encodes, as a trace\n"
    "  cpython    record, mirror or walk a live CPython 3.11 (runs\n"
    "             obcheck-cpython; obcheck cpython --help)\n"
    "  allocator  check any malloc family (a library, by SPEC) on the C\n"
    "             allocator contract, with the same workloads\n"
    "\n"
    "Exit status: 0 clean, 1 violations found, 2 usage or input error.\n";

static const char run_usage[] =
    "usage: obcheck run [OPTIONS] TRACE|DIR...\n"
    "\n"
    "Replay each trace (text or binary; a directory means its *.trace and\n"
    "*.obt files) through a fresh heap of each profile, with the shadow\n"
    "model on every operation and the invariant checker as --check says.\n"
    "Blocks still live at the end are freed, then no arena may remain.\n"
    "\n"
    "  --profile P      py27 py35 py38 py39 py310 py311, a comma list, or\n"
    "                   all (default py311)\n"
    "  --check SPEC     comma list of: local (INV_LOCAL after every op),\n"
    "                   full (INV_FULL after every op), every=N (INV_FULL\n"
    "                   every N ops), end, none; default local,every=4096\n"
    "  --no-behaviour   skip the behavioural B checks\n"
    "  --fault-sweep    also fail arena request 1, 2, ... (transient, then\n"
    "                   persistent) until no failure is injected\n"
    "  --sweep-max N    at most N trials per sweep (default: no limit)\n"
    "  --expect         honour `expect` lines: exit 0 when every trace\n"
    "                   fails (or stays clean) as it says\n"
    "  --json F         write a JSON report to F (- = stdout)\n"
    "  --junit F        write a JUnit XML report to F\n"
    "  --quiet          no table; failures only\n"
    "  --mirror         compare with a recording instead (obcheck cpython\n"
    "                   record): placements and arena events, op by op\n"
    "  --continue       with --mirror: count every divergence\n"
    "  --prefix F       with --mirror: where the ops up to the first\n"
    "                   divergence go (default mirror-divergence.obt)\n"
    "\n"
    "Exit status: 0 clean, 1 violations found, 2 usage or input error.\n";

struct run_cli {
    unsigned profiles;
    struct hx_run_options o;
    bool sweep, expect, quiet, mirror, keep_going;
    const char *prefix;
    unsigned long sweep_max;
    const char *json, *junit;
};

static int
parse_run(int argc, char **argv, struct run_cli *c)
{
    static const struct option longs[] = {
        {"profile", required_argument, 0, 'p'},
        {"check", required_argument, 0, 'c'},
        {"no-behaviour", no_argument, 0, 'B'},
        {"fault-sweep", no_argument, 0, 'f'},
        {"sweep-max", required_argument, 0, 'm'},
        {"expect", no_argument, 0, 'e'},
        {"json", required_argument, 0, 'j'},
        {"junit", required_argument, 0, 'u'},
        {"quiet", no_argument, 0, 'q'},
        {"mirror", no_argument, 0, 'M'},
        {"continue", no_argument, 0, 'C'},
        {"prefix", required_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(c, 0, sizeof *c);
    hx_run_options_default(&c->o);
    c->profiles = 1u << OBM_PROFILE_DEFAULT;
    c->prefix = "mirror-divergence.obt";
    int idx = 0;
    for (int ch; (ch = getopt_long(argc, argv, "h", longs, &idx)) != -1;) {
        char *end;
        switch (ch) {
        case 'p':
            if (cli_profiles(optarg, &c->profiles) != 0)
                goto bad;
            break;
        case 'c':
            if (hx_check_parse(optarg, &c->o.check, &c->o.every) != 0)
                goto bad;
            break;
        case 'B':
            c->o.behaviour = false;
            break;
        case 'f':
            c->sweep = true;
            break;
        case 'm':
            c->sweep_max = strtoul(optarg, &end, 10);
            if (*end != '\0' || c->sweep_max == 0)
                goto bad;
            break;
        case 'e':
            c->expect = true;
            break;
        case 'j':
            c->json = optarg;
            break;
        case 'u':
            c->junit = optarg;
            break;
        case 'q':
            c->quiet = true;
            break;
        case 'M':
            c->mirror = true;
            break;
        case 'C':
            c->keep_going = true;
            break;
        case 'P':
            c->prefix = optarg;
            break;
        case 'h':
            fputs(run_usage, stdout);
            exit(CLI_CLEAN);
        default:
            goto bad_quiet;
        }
    }
    if (optind < argc)
        return 0;
    fputs("obcheck run: no trace given\n", stderr);
    goto bad_quiet;
bad:
    fprintf(stderr, "obcheck run: bad value '%s' for --%s\n", optarg,
            longs[idx].name);
bad_quiet:
    fputs(run_usage, stderr);
    return CLI_USAGE;
}

/* Replay t in profile p (and sweep it); add rows; print failures. */
static void
run_one(const struct run_cli *c, const struct hx_trace *t, enum obm_profile p,
        struct cli_rows *rows, struct hx_run_result *res)
{
    struct hx_run_options o = c->o;
    o.profile = p;
    struct cli_progress prog;
    cli_progress_start(&prog, t->source);
    o.progress = cli_progress_tick;
    o.progress_ctx = &prog;
    int status = hx_run(t, &o, res);
    cli_progress_end(&prog);
    struct cli_row row;
    cli_row_fill(&row, t->source, p, "replay", t, res, status);
    // without --expect every violation fails the run, `expect` or not
    if (!c->expect)
        row.expected = status == CLI_CLEAN;
    if (!row.expected)
        cli_print_failure(t->source, res, stdout);
    cli_rows_push(rows, &row);
    // a trace that fails on purpose has nothing to teach a sweep
    if (!c->sweep || t->nexpect > 0)
        return;
    o.progress = NULL;
    for (int persistent = 0; persistent < 2; persistent++) {
        if (cli_sweep(t, &o, persistent, c->sweep_max, &row) != CLI_CLEAN)
            printf("%s: %s: trial %lu: %s at op %lu (%s): %s\n", t->source,
                   row.mode, row.trials, row.first.id, row.first_op, row.what,
                   row.first.message);
        cli_rows_push(rows, &row);
    }
}

int
cmd_run(int argc, char **argv)
{
    struct run_cli c;
    int rc = parse_run(argc, argv, &c);
    if (rc != 0)
        return rc;
    struct hx_trace *t;
    size_t n;
    if ((rc = cli_load_all(argv + optind, argc - optind, &t, &n)) != 0)
        return rc;
    if (c.mirror) {
        rc = cli_mirror_traces(t, n, c.keep_going, c.prefix);
        cli_free_all(t, n);
        return rc;
    }
    struct cli_rows rows = {0};
    struct hx_run_result *res = malloc(sizeof *res);
    for (size_t i = 0; i < n && res != NULL; i++)
        for (int p = 0; p < OBM_NPROFILES; p++)
            if (c.profiles & (1u << p))
                run_one(&c, &t[i], (enum obm_profile)p, &rows, res);
    free(res);
    if (!c.quiet)
        cli_table(&rows, stdout);
    rc = CLI_CLEAN;
    for (size_t i = 0; i < rows.n; i++)
        if (!rows.v[i].expected)
            rc = CLI_VIOLATION;
    if ((c.json != NULL && cli_json(&rows, c.json) != 0)
        || (c.junit != NULL && cli_junit(&rows, c.junit) != 0))
        rc = CLI_USAGE;
    free(rows.v);
    cli_free_all(t, n);
    return rc;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
} verbs[] = {{"run", cmd_run},
             {"gen", cmd_gen},
             {"minimize", cmd_minimize},
             {"convert", cmd_convert},
             {"stats", cmd_stats},
             {"invariants", cmd_invariants},
             {"campaign", cmd_campaign},
             {"decode", cmd_decode},
             {"allocator", cmd_allocator},
             {"cpython", cmd_cpython}};

int
main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0
        || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_CLEAN;
    }
    for (size_t k = 0; k < sizeof verbs / sizeof verbs[0]; k++)
        if (strcmp(argv[1], verbs[k].name) == 0)
            return verbs[k].fn(argc - 1, argv + 1);
    fprintf(stderr, "obcheck: unknown verb '%s'\n\n%s", argv[1], usage_text);
    return CLI_USAGE;
}
