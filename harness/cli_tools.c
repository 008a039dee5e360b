/* cli_tools.c — the small verbs: gen, convert, stats, invariants.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char gen_usage[] =
    "usage: obcheck gen KIND [--ops N] [--seed S] [--profile P] [-o FILE]\n"
    "       obcheck gen --list\n"
    "\n"
    "Write a generated workload trace: text, or binary when FILE ends in\n"
    ".obt.  --ops is approximate (default: the kind's own); --profile picks\n"
    "the geometry aimed at (default py311); the seed is printed first on\n"
    "stderr (default: from the clock), and the same seed gives the same\n"
    "trace.\n";

static const char convert_usage[] =
    "usage: obcheck convert IN -o OUT [--to text|binary]\n"
    "\n"
    "Convert a trace between the text and binary formats, losing nothing:\n"
    "labels, comments and `expect` lines carry over.  The output format is\n"
    "--to, else binary when OUT ends in .obt, else text.  - is stdin or\n"
    "stdout.\n";

static const char stats_usage[] =
    "usage: obcheck stats [--profile P] [--check SPEC] TRACE\n"
    "\n"
    "Replay TRACE (checked as `obcheck run` does), then print the heap's\n"
    "statistics in the format of CPython's sys._debugmallocstats().\n";

static void
list_generators(FILE *out)
{
    size_t n;
    const struct hx_generator *g = hx_generators(&n);
    for (size_t k = 0; k < n; k++)
        fprintf(out, "  %-16s %s\n", g[k].name, g[k].summary);
}

int
cmd_gen(int argc, char **argv)
{
    static const struct option longs[] = {
        {"ops", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'},
        {"profile", required_argument, 0, 'p'},
        {"list", no_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    struct hx_gen_options o = {0, (uint64_t)time(NULL), OBM_PROFILE_DEFAULT};
    const char *out = "-";
    for (int ch; (ch = getopt_long(argc, argv, "o:h", longs, NULL)) != -1;) {
        char *end = NULL;
        switch (ch) {
        case 'n':
            o.ops = strtoul(optarg, &end, 10);
            break;
        case 's':
            o.seed = strtoull(optarg, &end, 0);
            break;
        case 'p':
            if (obm_profile_parse(optarg, &o.profile) != 0)
                end = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'l':
            list_generators(stdout);
            return CLI_CLEAN;
        case 'h':
            fputs(gen_usage, stdout);
            list_generators(stdout);
            return CLI_CLEAN;
        default:
            fputs(gen_usage, stderr);
            return CLI_USAGE;
        }
        if (end != NULL && (*end != '\0' || end == optarg)) {
            fprintf(stderr, "obcheck gen: bad value '%s'\n", optarg);
            return CLI_USAGE;
        }
    }
    const struct hx_generator *g =
        optind + 1 == argc ? hx_generator_find(argv[optind]) : NULL;
    if (g == NULL) {
        fprintf(stderr, "obcheck gen: name one KIND of:\n");
        list_generators(stderr);
        return CLI_USAGE;
    }
    fprintf(stderr, "obcheck gen: %s --seed %llu --ops %lu --profile %s\n",
            g->name, (unsigned long long)o.seed, o.ops,
            obm_geometry(o.profile)->name);
    struct hx_trace t;
    char src[64];
    snprintf(src, sizeof src, "gen:%s", g->name);
    hx_trace_init(&t, src);
    int rc = g->generate(&t, &o) == 0 ? CLI_CLEAN : CLI_USAGE;
    if (rc == CLI_CLEAN)
        rc = cli_write_trace(&t, out, cli_ends_with(out, ".obt"));
    else
        fprintf(stderr, "obcheck gen: out of memory\n");
    hx_trace_free(&t);
    return rc;
}

int
cmd_convert(int argc, char **argv)
{
    static const struct option longs[] = {{"to", required_argument, 0, 't'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *out = NULL, *to = NULL;
    for (int ch; (ch = getopt_long(argc, argv, "o:h", longs, NULL)) != -1;) {
        switch (ch) {
        case 'o':
            out = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'h':
            fputs(convert_usage, stdout);
            return CLI_CLEAN;
        default:
            fputs(convert_usage, stderr);
            return CLI_USAGE;
        }
    }
    if (optind + 1 != argc || out == NULL
        || (to != NULL && strcmp(to, "text") != 0
            && strcmp(to, "binary") != 0)) {
        fputs(convert_usage, stderr);
        return CLI_USAGE;
    }
    struct hx_trace t;
    if (cli_load_one(&t, argv[optind]) != 0)
        return CLI_USAGE;
    bool binary =
        to != NULL ? strcmp(to, "binary") == 0 : cli_ends_with(out, ".obt");
    int rc = cli_write_trace(&t, out, binary);
    hx_trace_free(&t);
    return rc;
}

int
cmd_stats(int argc, char **argv)
{
    static const struct option longs[] = {
        {"profile", required_argument, 0, 'p'},
        {"check", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    struct hx_run_options o;
    hx_run_options_default(&o);
    for (int ch; (ch = getopt_long(argc, argv, "h", longs, NULL)) != -1;) {
        int bad = 0;
        switch (ch) {
        case 'p':
            bad = obm_profile_parse(optarg, &o.profile);
            break;
        case 'c':
            bad = hx_check_parse(optarg, &o.check, &o.every);
            break;
        case 'h':
            fputs(stats_usage, stdout);
            return CLI_CLEAN;
        default:
            bad = 1;
        }
        if (bad) {
            fputs(stats_usage, stderr);
            return CLI_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fputs(stats_usage, stderr);
        return CLI_USAGE;
    }
    struct hx_trace t;
    if (cli_load_one(&t, argv[optind]) != 0)
        return CLI_USAGE;
    o.stats = stdout;
    struct hx_run_result *res = malloc(sizeof *res);
    int rc = res != NULL ? hx_run(&t, &o, res) : CLI_USAGE;
    if (rc == CLI_VIOLATION)
        cli_print_failure(t.source, res, stdout);
    free(res);
    hx_trace_free(&t);
    return rc;
}

int
cmd_invariants(int argc, char **argv)
{
    if (argc > 1) {
        bool help = strcmp(argv[1], "--help") == 0;
        fputs("usage: obcheck invariants\n\nPrint every ID the checker and "
              "the shadow model report: ID, profiles,\ncost, statement.\n",
              help ? stdout : stderr);
        return help ? CLI_CLEAN : CLI_USAGE;
    }
    inv_catalogue_print(stdout);
    size_t n;
    const struct hx_k_entry *k = hx_k_catalogue(&n);
    printf("\n# The shadow model's contract checks (obcheck run, obcheck "
           "allocator)\n");
    for (size_t i = 0; i < n; i++)
        printf("%-4s %-24s %-11s %s\n", k[i].id, "all", "O(op)",
               k[i].statement);
    return CLI_CLEAN;
}

static const char decode_usage[] =
    "usage: obcheck decode --target T FILE [-o OUT]\n"
    "\n"
    "Print the program a fuzz input encodes, as a text trace that `obcheck\n"
    "run` and `obcheck minimize` take as it is (run it in the profile the\n"
    "first comment names).  Targets: fuzz_ops (hx_decode_ops);\n"
    "fuzz_checker_robust (the program that builds the heap, then the pokes\n"
    "as comments: replay the input with fuzz_checker_robust_replay); and\n"
    "fuzz_trace_parse (the input is itself a trace: its canonical text, or\n"
    "the reader's error).  OUT ends in .obt: binary.\n";

/* Decode fuzz input file path for target into *t: its program, a first
 * comment naming the profile and, for fuzz_checker_robust, the pokes as
 * closing comments.  Return 0, or -1 after printing why. */
static int
decode_input(const char *target, const char *path, struct hx_trace *t)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char err[512];
    if (hx_read_file(path, &data, &len, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    bool robust = strcmp(target, "fuzz_checker_robust") == 0;
    struct hx_pokes pk = {.n = 0, .offset = 0, .prog_len = len};
    if (robust)
        hx_decode_pokes(data, len, &pk);
    hx_trace_init(t, path);
    enum obm_profile p;
    char note[200];
    int rc = hx_decode_ops(data, pk.prog_len, t, &p);
    free(data);
    if (robust) { // the target builds its heap without faults or checks
        size_t kept = 0;
        for (size_t i = 0; i < t->nops; i++)
            if (t->ops[i].kind <= HX_FREE)
                t->ops[kept++] = t->ops[i];
        t->nops = kept;
    }
    int k = snprintf(note, sizeof note,
                     " decoded for %s from %s (%zu bytes): profile %s", target,
                     path, len, obm_geometry(p)->name);
    if (robust)
        snprintf(note + k, sizeof note - (size_t)k,
                 ", arenas %zu bytes past alignment", pk.offset);
    // the note goes first: it names the profile the program was for
    rc = rc != 0 ? rc : hx_note_add(t, false, note);
    if (rc == 0)
        t->notes[t->nnotes - 1].at = 0;
    for (unsigned i = 0; rc == 0 && i < pk.n; i++) {
        char what[120];
        hx_poke_str(&pk.poke[i], what, sizeof what);
        snprintf(note, sizeof note, " then poke %u: %s", i + 1, what);
        rc = hx_note_add(t, false, note);
    }
    if (rc != 0) {
        fprintf(stderr, "obcheck decode: out of memory\n");
        hx_trace_free(t);
        return -1;
    }
    return 0;
}

int
cmd_decode(int argc, char **argv)
{
    static const struct option longs[] = {
        {"target", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *target = NULL, *out = "-";
    for (int ch; (ch = getopt_long(argc, argv, "o:h", longs, NULL)) != -1;) {
        switch (ch) {
        case 't':
            target = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(decode_usage, stdout);
            return CLI_CLEAN;
        default:
            fputs(decode_usage, stderr);
            return CLI_USAGE;
        }
    }
    if (optind + 1 != argc || target == NULL) {
        fputs(decode_usage, stderr);
        return CLI_USAGE;
    }
    struct hx_trace t;
    if (strcmp(target, "fuzz_trace_parse") == 0) {
        if (cli_load_one(&t, argv[optind]) != 0)
            return CLI_USAGE;
    } else if (strcmp(target, "fuzz_ops") == 0
               || strcmp(target, "fuzz_checker_robust") == 0) {
        if (decode_input(target, argv[optind], &t) != 0)
            return CLI_USAGE;
    } else {
        fprintf(stderr,
                "obcheck decode: unknown target '%s' (fuzz_ops, "
                "fuzz_checker_robust, fuzz_trace_parse)\n",
                target);
        return CLI_USAGE;
    }
    int rc = cli_write_trace(&t, out, cli_ends_with(out, ".obt"));
    hx_trace_free(&t);
    return rc;
}
