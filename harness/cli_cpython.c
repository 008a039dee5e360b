/* cli_cpython.c — `obcheck run --mirror` and the `obcheck cpython` verb.
 *
 * The verbs that embed CPython live in a program of their own,
 * obcheck-cpython, linked against libpython3.11 (statically, so that
 * `walk` can find obmalloc's statics in its symbol table): obcheck itself
 * stays free of libpython, and `obcheck cpython ...` execs that program
 * from obcheck's own directory.  `run --mirror` needs no interpreter: it
 * replays a recording through the mirror (harness/mirror.c).
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

int
cli_mirror_traces(const struct hx_trace *t, size_t n, bool keep_going,
                  const char *prefix)
{
    int rc = CLI_CLEAN;
    for (size_t i = 0; i < n; i++) {
        struct hx_mirror *m = hx_mirror_new(&t[i]);
        if (m == NULL) {
            fprintf(stderr, "obcheck run --mirror: %s: no heap: %s\n",
                    t[i].source, strerror(errno));
            return CLI_USAGE;
        }
        double t0 = hx_now();
        for (size_t k = 0; k < t[i].nops; k++)
            if (hx_mirror_step(m, k) != 0 && !keep_going)
                break;
        struct hx_mirror_result r;
        hx_mirror_result(m, &r);
        if (r.divergences == 0 && hx_mirror_finish(m) != 0)
            hx_mirror_result(m, &r);
        hx_mirror_print(&r, t[i].source, hx_now() - t0, stdout);
        hx_mirror_free(m);
        if (r.divergences == 0)
            continue;
        rc = CLI_VIOLATION;
        if (hx_write_prefix(&t[i], r.first + 1, prefix) != 0)
            fprintf(stderr, "obcheck run --mirror: %s: %s\n", prefix,
                    strerror(errno));
        else
            printf("%s: the first %zu ops are in %s\n", t[i].source,
                   r.first + 1, prefix);
    }
    return rc;
}

int
cmd_cpython(int argc, char **argv)
{
    char self[PATH_MAX], prog[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "obcheck cpython: /proc/self/exe: %s\n",
                strerror(errno));
        return CLI_USAGE;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(prog, sizeof prog, "%s/obcheck-cpython", self);
    argv[0] = prog;
    execv(prog, argv);
    fprintf(stderr,
            "obcheck cpython: %s: %s (it is built when CMake finds "
            "libpython3.11.a: see README, \"CPython conformance\")\n",
            prog, strerror(errno));
    return CLI_USAGE;
}
