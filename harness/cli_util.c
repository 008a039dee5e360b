/* cli_util.c — what several verbs need: the clock, progress, profile
 * lists, loading many traces before running any, and fault sweeps.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

FILE *
cli_open_out(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (f == NULL)
        fprintf(stderr, "obcheck: %s: %s\n", path, strerror(errno));
    return f;
}

int
cli_close_out(FILE *f, const char *path)
{
    int bad = ferror(f);
    bad |= f != stdout ? fclose(f) != 0 : fflush(f) != 0;
    if (bad)
        fprintf(stderr, "obcheck: %s: write error\n", path);
    return bad ? -1 : 0;
}

int
cli_write_trace(const struct hx_trace *t, const char *path, bool binary)
{
    FILE *f = cli_open_out(path);
    if (f == NULL)
        return CLI_USAGE;
    int rc = binary ? hx_write_binary(t, f) : hx_write_text(t, f);
    rc |= cli_close_out(f, path);
    return rc != 0 ? CLI_USAGE : CLI_CLEAN;
}

int
cli_load_one(struct hx_trace *t, const char *path)
{
    char err[512];
    if (hx_load(t, path, err, sizeof err) == 0)
        return CLI_CLEAN;
    fprintf(stderr, "%s\n", err);
    hx_trace_free(t);
    return CLI_USAGE;
}

bool
cli_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

void
cli_progress_start(struct cli_progress *p, const char *label)
{
    // a bar in a log file or a CI console is noise, not help
    p->on = isatty(STDERR_FILENO) && getenv("CI") == NULL;
    p->t0 = hx_now();
    p->label = label;
}

void
cli_progress_tick(void *ctx, unsigned long done, unsigned long total)
{
    struct cli_progress *p = ctx;
    if (!p->on || total == 0)
        return;
    double dt = hx_now() - p->t0;
    double rate = dt > 0 ? (double)done / dt : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    int width = 30, fill = (int)((double)width * (double)done / (double)total);
    fprintf(stderr, "\r%.28s [%.*s%*s] %lu/%lu ops %.2fM ops/s ETA %.0fs ",
            p->label, fill, "##############################", width - fill, "",
            done, total, rate / 1e6, eta);
    fflush(stderr);
}

void
cli_progress_end(struct cli_progress *p)
{
    if (p->on)
        fprintf(stderr, "\r%*s\r", 110, "");
}

int
cli_profiles(const char *arg, unsigned *mask)
{
    if (strcmp(arg, "all") == 0) {
        *mask = (1u << OBM_NPROFILES) - 1;
        return 0;
    }
    unsigned m = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w != NULL;
         w = strtok_r(NULL, ",", &save)) {
        enum obm_profile p;
        if (obm_profile_parse(w, &p) != 0)
            return -1;
        m |= 1u << p;
    }
    *mask = m;
    return m != 0 ? 0 : -1;
}

static bool
is_trace_name(const char *name)
{
    size_t n = strlen(name);
    return (n > 6 && strcmp(name + n - 6, ".trace") == 0)
           || (n > 4 && strcmp(name + n - 4, ".obt") == 0);
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append path, or a directory's trace files in name order, to *list. */
static int
expand(const char *path, char ***list, size_t *n, size_t *cap)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *list = realloc(*list, *cap * sizeof **list);
        }
        (*list)[(*n)++] = strdup(path);
        return 0;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "obcheck: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t first = *n;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!is_trace_name(e->d_name))
            continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        expand(full, list, n, cap);
    }
    closedir(d);
    qsort(*list + first, *n - first, sizeof **list, by_name);
    return 0;
}

int
cli_load_all(char *const *paths, int n, struct hx_trace **out, size_t *nout)
{
    char **list = NULL;
    size_t count = 0, cap = 0;
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad |= expand(paths[i], &list, &count, &cap) != 0;
    struct hx_trace *t = calloc(count ? count : 1, sizeof *t);
    for (size_t i = 0; i < count; i++) {
        char err[512];
        // hx_load leaves t[i] initialised either way
        if (hx_load(&t[i], list[i], err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            bad = 1;
        }
        free(list[i]);
    }
    free(list);
    if (count == 0 && !bad) {
        fprintf(stderr, "obcheck: no traces found\n");
        bad = 1;
    }
    if (bad) {
        cli_free_all(t, count);
        return CLI_USAGE;
    }
    *out = t;
    *nout = count;
    return 0;
}

void
cli_free_all(struct hx_trace *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hx_trace_free(&t[i]);
    free(t);
}

int
cli_sweep(const struct hx_trace *t, const struct hx_run_options *base,
          bool persistent, unsigned long max, struct cli_row *row)
{
    struct hx_run_options o = *base;
    o.persistent = persistent;
    o.drain = true;
    const char *mode = persistent ? "sweep persistent" : "sweep transient";
    struct hx_run_result *res = malloc(sizeof *res);
    if (res == NULL)
        return CLI_USAGE;
    struct cli_row total;
    memset(&total, 0, sizeof total);
    int status = CLI_CLEAN;
    unsigned long n = 1;
    for (; max == 0 || n <= max; n++) {
        o.fail_at = n;
        status = hx_run(t, &o, res);
        cli_row_fill(row, t->source, o.profile, mode, t, res, status);
        total.ops += res->ops;
        total.seconds += res->seconds;
        total.local_checks += res->local_checks;
        total.full_checks += res->full_checks;
        if (status != CLI_CLEAN || res->planned_faults == 0)
            break;
    }
    // a sweep passes when every trial ends clean, whatever `expect` says
    row->expected = status == CLI_CLEAN;
    row->trials = n;
    snprintf(row->mode, sizeof row->mode, "%s x%lu", mode, n);
    if (status == CLI_CLEAN) {
        row->ops = total.ops;
        row->seconds = total.seconds;
        row->local_checks = total.local_checks;
        row->full_checks = total.full_checks;
    }
    free(res);
    return status;
}
