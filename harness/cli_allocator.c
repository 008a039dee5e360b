/* cli_allocator.c — `obcheck allocator`: check any malloc family on the
 * contract, with the same workloads, traces and checker as the reference.
 *
 * Each job of the battery (a probe, a workload) runs in a child process
 * with a deadline, so a crash or a hang of the allocator under test is a
 * finding with an ID (the probe's, or K15) and a trace prefix that
 * reproduces it, not the end of obcheck.
 */
#include "cli_allocator.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room glibc keeps for the static TLS of libraries loaded later: jemalloc
 * uses initial-exec TLS, more than the default surplus leaves. */
#define TLS_TUNABLE "glibc.rtld.optional_static_tls=65536"

static const char allocator_usage[] =
    "usage: obcheck allocator SPEC [OPTIONS] [TRACE...]\n"
    "       obcheck allocator --all-known [OPTIONS]\n"
    "\n"
    "Check an allocator on the contract of a C malloc family (K IDs of\n"
    "`obcheck invariants`): the probes (huge sizes, free(NULL), realloc of\n"
    "NULL and to 0, calloc overflow, reuse under churn), then each\n"
    "workload through the shadow model, each in a child process.\n"
    "\n"
    "SPEC: a built-in (glibc mimalloc jemalloc tcmalloc pymalloc, or\n"
    "reference[:PROFILE]) or LIBRARY[:PREFIX]: PREFIX + malloc, calloc,\n"
    "realloc, free (or PREFIX + Malloc ...), optionally + usable_size,\n"
    "malloc_usable_size or malloc_size, and + obcheck_view (inv.h).\n"
    "\n"
    "  --all-known      every built-in that is installed: a report card\n"
    "  --init SYMBOL    call SYMBOL() once after loading\n"
    "  --align N        the declared minimum alignment (default 16)\n"
    "  --realloc-zero W what realloc(p, 0) does: free, block, any\n"
    "  --thread-safe    the library claims thread safety (--threads)\n"
    "  --gen KIND       a generated workload (repeatable; default random,\n"
    "                   realloc-chains, calloc-heavy, python-mix)\n"
    "  --ops N          operations per generated workload (default 20000)\n"
    "  --seed S         generator seed (default 1)\n"
    "  --profile P      the geometry generators aim at (default py311)\n"
    "  --check SPEC     as for `obcheck run`; default full with a view,\n"
    "                   every=1024 for a black box\n"
    "  --threads N      also N threads at once, with cross-thread frees\n"
    "  --timeout SEC    deadline of each job (default 60)\n"
    "  --out DIR        where crash trace prefixes go (default .)\n"
    "  --no-fork        run jobs in obcheck itself (for a debugger)\n"
    "  --quiet          print failures only\n"
    "\n"
    "Exit status: 0 clean, 1 violations found, 2 usage or input error.\n";

static const char *const default_gens[] = {"random", "realloc-chains",
                                           "calloc-heavy", "python-mix"};

static int
bad_value(const char *opt)
{
    fprintf(stderr, "obcheck allocator: bad value '%s' for --%s\n", optarg,
            opt);
    return CLI_USAGE;
}

/* Apply one option; return 0 or CLI_USAGE. */
static int
apply_option(struct acli *c, int ch, const char *name)
{
    char *end = NULL;
    switch (ch) {
    case 'A':
        c->all_known = true;
        return 0;
    case 'i':
        c->ao.init = optarg;
        return 0;
    case 'a':
        c->ao.alignment = strtoul(optarg, &end, 10);
        if (*end != '\0' || c->ao.alignment == 0
            || (c->ao.alignment & (c->ao.alignment - 1)) != 0)
            return bad_value(name);
        return 0;
    case 'z':
        c->ao.realloc_zero = strcmp(optarg, "any") == 0     ? HX_RZ_ANY
                             : strcmp(optarg, "free") == 0  ? HX_RZ_FREES
                             : strcmp(optarg, "block") == 0 ? HX_RZ_BLOCK
                                                            : -2;
        return c->ao.realloc_zero == -2 ? bad_value(name) : 0;
    case 'T':
        c->ao.thread_safe = true;
        return 0;
    case 'g':
        if (hx_generator_find(optarg) == NULL || c->ngens == ACLI_MAX_GENS)
            return bad_value(name);
        c->gens[c->ngens++] = optarg;
        return 0;
    case 'n':
        c->ops = strtoul(optarg, &end, 10);
        return *end != '\0' || c->ops == 0 ? bad_value(name) : 0;
    case 'P':
        return obm_profile_parse(optarg, &c->profile) ? bad_value(name) : 0;
    case 's':
        c->seed = strtoull(optarg, &end, 0);
        return *end != '\0' || end == optarg ? bad_value(name) : 0;
    case 'c':
        c->check_set = true;
        return hx_check_parse(optarg, &c->check, &c->every) ? bad_value(name)
                                                            : 0;
    case 't':
        c->threads = (unsigned)strtoul(optarg, &end, 10);
        return *end != '\0' || c->threads == 0 || c->threads > 64
                   ? bad_value(name)
                   : 0;
    case 'd':
        c->timeout = strtod(optarg, &end);
        return *end != '\0' || c->timeout <= 0 ? bad_value(name) : 0;
    case 'o':
        c->out_dir = optarg;
        return 0;
    case 'F':
        c->no_fork = true;
        return 0;
    case 'q':
        c->quiet = true;
        return 0;
    default:
        return CLI_USAGE;
    }
}

static int
parse_allocator(int argc, char **argv, struct acli *c)
{
    static const struct option longs[] = {
        {"all-known", no_argument, 0, 'A'},
        {"init", required_argument, 0, 'i'},
        {"align", required_argument, 0, 'a'},
        {"realloc-zero", required_argument, 0, 'z'},
        {"thread-safe", no_argument, 0, 'T'},
        {"gen", required_argument, 0, 'g'},
        {"ops", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'},
        {"profile", required_argument, 0, 'P'},
        {"check", required_argument, 0, 'c'},
        {"threads", required_argument, 0, 't'},
        {"timeout", required_argument, 0, 'd'},
        {"out", required_argument, 0, 'o'},
        {"no-fork", no_argument, 0, 'F'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(c, 0, sizeof *c);
    c->ao.realloc_zero = -1;
    c->ops = 20000;
    c->seed = 1;
    c->profile = OBM_PROFILE_DEFAULT;
    c->timeout = 60;
    c->out_dir = ".";
    int idx = 0;
    for (int ch; (ch = getopt_long(argc, argv, "h", longs, &idx)) != -1;) {
        if (ch == 'h') {
            fputs(allocator_usage, stdout);
            exit(CLI_CLEAN);
        }
        if (apply_option(c, ch, longs[idx].name) != 0) {
            fputs(allocator_usage, stderr);
            return CLI_USAGE;
        }
    }
    if (!c->all_known && optind < argc)
        c->spec = argv[optind++];
    // the verbs get main's argv from its second element on
    c->argv = argv - 1;
    c->paths = argv + optind;
    c->npaths = argc - optind;
    if (c->spec == NULL && !c->all_known) {
        fputs("obcheck allocator: no SPEC given\n", stderr);
        fputs(allocator_usage, stderr);
        return CLI_USAGE;
    }
    return 0;
}

/* Generate the workloads (c->gens, or the defaults) after the trace files
 * already in t[0..*n); return 0 or CLI_USAGE. */
static int
generate(const struct acli *c, struct hx_trace *t, size_t *n)
{
    const char *const *kinds = c->ngens > 0 ? c->gens : default_gens;
    size_t nk =
        c->ngens > 0 ? c->ngens : sizeof default_gens / sizeof default_gens[0];
    for (size_t k = 0; k < nk; k++) {
        const struct hx_generator *g = hx_generator_find(kinds[k]);
        struct hx_gen_options go = {c->ops, c->seed, c->profile};
        char src[64];
        snprintf(src, sizeof src, "gen:%s", g->name);
        hx_trace_init(&t[*n], src);
        if (g->generate(&t[(*n)++], &go) != 0) {
            fprintf(stderr, "obcheck allocator: out of memory\n");
            return CLI_USAGE;
        }
    }
    return 0;
}

/* Load the trace files, then generate the workloads into *t. */
static int
workloads(const struct acli *c, struct hx_trace **t, size_t *n)
{
    struct hx_trace *files = NULL;
    size_t nfiles = 0;
    int rc;
    if (c->npaths > 0
        && (rc = cli_load_all(c->paths, c->npaths, &files, &nfiles)) != 0)
        return rc;
    size_t ngen = c->npaths > 0 && c->ngens == 0 ? 0
                  : c->ngens > 0
                      ? c->ngens
                      : sizeof default_gens / sizeof default_gens[0];
    *t = calloc(nfiles + ngen + 1, sizeof **t);
    if (*t == NULL)
        return CLI_USAGE;
    if (nfiles > 0)
        memcpy(*t, files, nfiles * sizeof *files);
    free(files);
    *n = nfiles;
    return ngen > 0 ? generate(c, *t, n) : 0;
}

/* A library that wants more static TLS than the process has left (err
 * says so; NULL: assume it) loads once obcheck starts again with a larger
 * surplus: the tunable is read only at startup.  Return only if that was
 * done already or cannot be done. */
static void
restart_for_tls(const struct acli *c, const char *err)
{
    const char *had = getenv("GLIBC_TUNABLES");
    if ((err != NULL && strstr(err, "static TLS") == NULL)
        || (had != NULL && strstr(had, "optional_static_tls") != NULL))
        return;
    char tun[512];
    snprintf(tun, sizeof tun, "%s%s%s", had != NULL ? had : "",
             had != NULL ? ":" : "", TLS_TUNABLE);
    setenv("GLIBC_TUNABLES", tun, 1);
    fflush(NULL);
    execv("/proc/self/exe", c->argv);
}

static int
open_allocator(const struct acli *c, const char *spec, struct hx_allocator **a)
{
    char err[512];
    *a = hx_allocator_open(spec, &c->ao, err, sizeof err);
    if (*a == NULL)
        restart_for_tls(c, err);
    if (*a != NULL)
        return 0;
    fprintf(stderr, "obcheck allocator: %s: %s\n", spec, err);
    return CLI_USAGE;
}

/* --all-known: the battery on every built-in that loads; a report card. */
static int
all_known(const struct acli *c, const struct hx_trace *t, size_t n)
{
    // jemalloc's TLS: start again now rather than after half the card
    restart_for_tls(c, NULL);
    size_t nb;
    const char *const *names = hx_allocator_builtins(&nb);
    struct acli_outcome *out = calloc(nb, sizeof *out);
    const char *cols[16];
    size_t ncols = 0;
    int rc = CLI_CLEAN;
    for (size_t k = 0; k < nb && out != NULL; k++) {
        struct hx_allocator *a;
        char err[512];
        if ((a = hx_allocator_open(names[k], &c->ao, err, sizeof err))
            == NULL) {
            printf("%s: not installed (%s)\n", names[k], err);
            continue;
        }
        if (acli_battery(c, a, t, n, &out[ncols]) != CLI_CLEAN)
            rc = CLI_VIOLATION;
        cols[ncols++] = names[k];
        hx_allocator_close(a);
    }
    if (out != NULL)
        acli_card(cols, out, ncols, stdout);
    free(out);
    return out != NULL ? rc : CLI_USAGE;
}

int
cmd_allocator(int argc, char **argv)
{
    struct acli c;
    int rc = parse_allocator(argc, argv, &c);
    if (rc != 0)
        return rc;
    struct hx_trace *t = NULL;
    size_t n = 0;
    struct hx_allocator *a = NULL;
    if ((rc = workloads(&c, &t, &n)) != 0)
        return rc;
    if (c.all_known) {
        rc = all_known(&c, t, n);
    } else if ((rc = open_allocator(&c, c.spec, &a)) == 0 && c.threads > 0
               && !a->thread_safe) {
        fprintf(stderr,
                "obcheck allocator: %s is not thread-safe (declare it with "
                "--thread-safe if it is); --threads refused\n",
                a->name);
        rc = CLI_USAGE;
    } else if (rc == 0) {
        struct acli_outcome out;
        rc = acli_battery(&c, a, t, n, &out);
        if (c.threads > 0 && rc != CLI_USAGE) {
            int trc = acli_threads(&c, a, t, n, &out);
            rc = trc > rc ? trc : rc;
        }
    }
    hx_allocator_close(a);
    cli_free_all(t, n);
    return rc;
}
