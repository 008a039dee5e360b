/* cli_minimize.c — `obcheck minimize`: shrink a failing trace by delta
 * debugging, keeping its first violation ID; optionally a C reproducer.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char minimize_usage[] =
    "usage: obcheck minimize TRACE -o OUT [--profile P] [--check SPEC]\n"
    "                        [--id ID] [--max-runs N] [--emit-c [FILE]]\n"
    "\n"
    "Shrink TRACE to a small trace that still fails, in profile P (default\n"
    "py311) under --check (default local,every=4096), with the same first\n"
    "violation ID (or ID).  OUT is text, or binary when it ends in .obt.\n"
    "--emit-c also writes a standalone C program that replays the result\n"
    "through the public allocator API (to FILE, default stdout).\n"
    "Exit status: 0 minimized, 1 TRACE does not fail, 2 usage or input\n"
    "error.\n";

struct min_cli {
    struct hx_min_options mo;
    const char *out, *emit;
    bool emit_c;
};

static int
parse_minimize(int argc, char **argv, struct min_cli *c)
{
    static const struct option longs[] = {
        {"profile", required_argument, 0, 'p'},
        {"check", required_argument, 0, 'c'},
        {"id", required_argument, 0, 'i'},
        {"max-runs", required_argument, 0, 'm'},
        {"emit-c", optional_argument, 0, 'e'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(c, 0, sizeof *c);
    hx_run_options_default(&c->mo.run);
    c->mo.log = stderr;
    for (int ch; (ch = getopt_long(argc, argv, "o:h", longs, NULL)) != -1;) {
        int bad = 0;
        char *end;
        switch (ch) {
        case 'p':
            bad = obm_profile_parse(optarg, &c->mo.run.profile);
            break;
        case 'c':
            bad = hx_check_parse(optarg, &c->mo.run.check, &c->mo.run.every);
            break;
        case 'i':
            c->mo.id = optarg;
            break;
        case 'm':
            c->mo.max_runs = strtoul(optarg, &end, 10);
            bad = *end != '\0' || end == optarg;
            break;
        case 'e':
            c->emit_c = true;
            c->emit = optarg;
            break;
        case 'o':
            c->out = optarg;
            break;
        case 'h':
            fputs(minimize_usage, stdout);
            exit(CLI_CLEAN);
        default:
            bad = 1;
        }
        if (bad) {
            fputs(minimize_usage, stderr);
            return CLI_USAGE;
        }
    }
    if (optind + 1 != argc || c->out == NULL) {
        fputs(minimize_usage, stderr);
        return CLI_USAGE;
    }
    return 0;
}

static int
emit(const struct hx_trace *t, const struct min_cli *c)
{
    const char *path = c->emit != NULL ? c->emit : "-";
    FILE *f = cli_open_out(path);
    if (f == NULL)
        return CLI_USAGE;
    int rc = hx_emit_c(t, c->mo.run.profile, f);
    rc |= cli_close_out(f, path);
    return rc != 0 ? CLI_USAGE : CLI_CLEAN;
}

int
cmd_minimize(int argc, char **argv)
{
    struct min_cli c;
    int rc = parse_minimize(argc, argv, &c);
    if (rc != 0)
        return rc;
    struct hx_trace t, out;
    if (cli_load_one(&t, argv[optind]) != 0)
        return CLI_USAGE;
    struct hx_min_stats st;
    rc = hx_minimize(&t, &c.mo, &out, &st);
    if (rc == 1) {
        fprintf(stderr, "obcheck minimize: %s does not fail in %s\n", t.source,
                obm_geometry(c.mo.run.profile)->name);
        hx_trace_free(&t);
        return CLI_VIOLATION;
    }
    if (rc != 0) {
        fprintf(stderr, "obcheck minimize: out of memory\n");
        hx_trace_free(&t);
        return CLI_USAGE;
    }
    fprintf(stderr,
            "obcheck minimize: %zu -> %zu operations, first violation %s "
            "kept, %lu replays\n",
            st.ops_before, st.ops_after, st.id, st.runs);
    rc = cli_write_trace(&out, c.out, cli_ends_with(c.out, ".obt"));
    if (rc == CLI_CLEAN && c.emit_c)
        rc = emit(&out, &c);
    hx_trace_free(&out);
    hx_trace_free(&t);
    return rc;
}
