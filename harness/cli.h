/* cli.h — what the obcheck command line's files share: verbs, result rows
 * and their reports (table, JSON, JUnit), progress, loading many traces.
 *
 * Exit status of every verb: 0 clean, 1 violations found, 2 usage or
 * input error.  Included only by the obcheck program's files.
 */
#ifndef CLI_H
#define CLI_H

#include "hx.h"

#define CLI_CLEAN 0
#define CLI_VIOLATION 1
#define CLI_USAGE 2

/* The verbs; argv[0] is the verb's name. */
int cmd_run(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_invariants(int argc, char **argv);
int cmd_minimize(int argc, char **argv);
int cmd_campaign(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_cpython(int argc, char **argv);

/* Mirror each of n recorded traces (`run --mirror`): print the counts and
 * the first divergence, writing the ops up to it to prefix.  Stop at the
 * first divergence of a trace unless keep_going.  Return a CLI_ status. */
int cli_mirror_traces(const struct hx_trace *t, size_t n, bool keep_going,
                      const char *prefix);
int cmd_allocator(int argc, char **argv);

/* One run's outcome, as tables and reports show it. */
struct cli_row {
    char trace[160];
    const char *profile;
    char mode[40]; /* "replay", "sweep transient", ... */
    unsigned long ops, trials, local_checks, full_checks;
    double seconds;
    size_t peak_live, peak_arenas;
    int status;    /* CLI_CLEAN or CLI_VIOLATION */
    bool expected; /* the outcome the trace's `expect` line asks for */
    unsigned long first_op;
    uint32_t first_line;
    char what[96];
    struct inv_violation first; /* valid when status != CLI_CLEAN */
    size_t nviolations;
};

struct cli_rows {
    struct cli_row *v;
    size_t n, cap;
};

/* Fill row from one run of t (named name) in profile p. */
void cli_row_fill(struct cli_row *row, const char *name, enum obm_profile p,
                  const char *mode, const struct hx_trace *t,
                  const struct hx_run_result *res, int status);

/* Append a row; return 0, or -1 if out of memory. */
int cli_rows_push(struct cli_rows *rows, const struct cli_row *row);

/* Print the summary table, then a totals line. */
void cli_table(const struct cli_rows *rows, FILE *out);

/* Write the rows as a JSON report / a JUnit XML file; return 0 or -1
 * (with a message on stderr). */
int cli_json(const struct cli_rows *rows, const char *path);
int cli_junit(const struct cli_rows *rows, const char *path);

/* Print a failed run's violations in the house format, with the trace
 * position (file:line) of the operation. */
void cli_print_failure(const char *name, const struct hx_run_result *res,
                       FILE *out);

/* Progress on stderr: only on a terminal and when CI is not set. */
struct cli_progress {
    bool on;
    double t0;
    const char *label;
};
void cli_progress_start(struct cli_progress *p, const char *label);
void cli_progress_tick(void *ctx, unsigned long done, unsigned long total);
void cli_progress_end(struct cli_progress *p);

/* Parse "py311", "py38,py39" or "all" into a mask of profiles; 0 or -1. */
int cli_profiles(const char *arg, unsigned *mask);

/* Load every path (a directory means its *.trace and *.obt files, sorted)
 * into *out; all are loaded and validated before anything runs.  Return
 * 0, or CLI_USAGE after printing each error. */
int cli_load_all(char *const *paths, int n, struct hx_trace **out,
                 size_t *nout);

/* Free what cli_load_all made. */
void cli_free_all(struct hx_trace *t, size_t n);

/* Fault sweep of t: fail arena request 1, 2, ... (each trial a fresh run;
 * persistent: every request from N on) until a trial injects no failure
 * or max trials ran (0 = no limit).  Fill row with the first failing
 * trial, or the totals.  Return CLI_CLEAN or CLI_VIOLATION. */
int cli_sweep(const struct hx_trace *t, const struct hx_run_options *base,
              bool persistent, unsigned long max, struct cli_row *row);

/* Open path for writing ("-" = stdout); NULL with a message on stderr. */
FILE *cli_open_out(const char *path);

/* Flush and close what cli_open_out gave; 0, or -1 with a message. */
int cli_close_out(FILE *f, const char *path);

/* Write t to path, binary or text; CLI_CLEAN, or CLI_USAGE with a
 * message. */
int cli_write_trace(const struct hx_trace *t, const char *path, bool binary);

/* Load one trace; CLI_CLEAN, or CLI_USAGE with the error printed (t is
 * freed then). */
int cli_load_one(struct hx_trace *t, const char *path);

/* Return whether s ends with suffix (".obt": the binary format). */
bool cli_ends_with(const char *s, const char *suffix);

#endif /* CLI_H */
