/* cli_allocator.h — what `obcheck allocator` and its report card share:
 * the options, one battery run against one allocator, and its outcome
 * per contract ID.  Included only by cli_allocator*.c.
 */
#ifndef CLI_ALLOCATOR_H
#define CLI_ALLOCATOR_H

#include "cli.h"

#define ACLI_MAX_GENS 16
#define ACLI_MAX_IDS 24 /* rows a report card can have */

struct acli {
    const char *spec; /* NULL with --all-known */
    bool all_known, no_fork, quiet;
    struct hx_allocator_options ao;
    const char *gens[ACLI_MAX_GENS];
    size_t ngens;
    unsigned long ops;
    uint64_t seed;
    enum obm_profile profile; /* geometry the generators aim at */
    unsigned check;
    unsigned long every;
    bool check_set;
    double timeout;
    const char *out_dir;
    unsigned threads;
    char **argv;  /* obcheck's own, to start again (static TLS) */
    char **paths; /* trace files */
    int npaths;
};

/* One allocator's battery: per ID, the first failure (0 = pass). */
struct acli_outcome {
    const char *ids[ACLI_MAX_IDS];
    unsigned long first_op[ACLI_MAX_IDS]; /* 0 pass, else op number */
    char where[ACLI_MAX_IDS][24];         /* the job it failed in */
    size_t nids;
    bool viewed;      /* the checker ran on its state */
    bool usable;      /* the allocator reports usable sizes (K7, K10) */
    double ops_per_s; /* on the first workload */
    bool failed;
};

/* Run the battery (probes, then every workload in t[0..n)) against a,
 * printing each job's outcome unless quiet; fill out.  Return CLI_CLEAN
 * or CLI_VIOLATION. */
int acli_battery(const struct acli *c, const struct hx_allocator *a,
                 const struct hx_trace *t, size_t n, struct acli_outcome *out);

/* Run t through a in c->threads threads (cli_allocator_threads.c);
 * return CLI_CLEAN, CLI_VIOLATION, or CLI_USAGE if a is not thread-safe. */
int acli_threads(const struct acli *c, const struct hx_allocator *a,
                 const struct hx_trace *t, size_t n, struct acli_outcome *out);

/* Print the report card: one column per outcome (names[i]). */
void acli_card(const char *const *names, const struct acli_outcome *o,
               size_t n, FILE *out);

#endif /* CLI_ALLOCATOR_H */
