/* cpython_main.c — obcheck-cpython: record, mirror or walk a live CPython.
 *
 * Embeds Debian's CPython 3.11 (libpython3.11.a, linked statically and
 * non-PIE so `walk` finds obmalloc's statics), installs the hooks of
 * cpython_hooks.c before the interpreter starts, runs the script like
 * `python3.11 SCRIPT ARGS`, and reports.  Exit status: 0 clean, 1
 * divergence or violation, 2 usage or input error.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "cpython.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#ifndef OBCHECK_PYTHON_HOME
#define OBCHECK_PYTHON_HOME "/usr"
#endif

static const char usage[] =
    "usage: obcheck cpython record [-o TRACE] SCRIPT.py [ARGS...] [-o TRACE]\n"
    "       obcheck cpython mirror [--continue] [--prefix F] [-o TRACE]\n"
    "                              SCRIPT.py [ARGS...]\n"
    "       obcheck cpython walk [--every N] SCRIPT.py [ARGS...]\n"
    "\n"
    "Run SCRIPT.py in an embedded CPython 3.11 (home " OBCHECK_PYTHON_HOME
    ") with hooks\n"
    "on its MEM, OBJ and arena allocators.\n"
    "  record  write every MEM/OBJ op and arena event to TRACE (.obt:\n"
    "          binary, else text)\n"
    "  mirror  feed every op, as it happens, to a py311 reference heap and\n"
    "          compare placements and arena events; the ops up to the first\n"
    "          divergence go to --prefix (default mirror-divergence.obt);\n"
    "          --continue counts every divergence\n"
    "  walk    run the full invariant checker on CPython's own heap every\n"
    "          N ops (--every, default 100000) and at the end\n"
    "\n"
    "Exit status: 0 clean, 1 divergence or violation, 2 usage or input "
    "error.\n";

struct args {
    const char *verb, *out, *prefix, *script;
    bool keep_going;
    unsigned long every;
    int argc; /* the script and its arguments */
    char **argv;
};

static int
bad_usage(const char *why, const char *what)
{
    fprintf(stderr, "obcheck cpython: %s%s\n\n%s", why, what, usage);
    return 2;
}

static int
parse(int argc, char **argv, struct args *a)
{
    static const struct option longs[] = {
        {"continue", no_argument, 0, 'C'},
        {"prefix", required_argument, 0, 'P'},
        {"every", required_argument, 0, 'e'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->verb = argc > 1 ? argv[1] : "";
    a->prefix = "mirror-divergence.obt";
    a->every = 100000;
    if (strcmp(a->verb, "--help") == 0 || strcmp(a->verb, "-h") == 0) {
        fputs(usage, stdout);
        exit(0);
    }
    if (strcmp(a->verb, "record") != 0 && strcmp(a->verb, "mirror") != 0
        && strcmp(a->verb, "walk") != 0)
        return bad_usage("expected a verb (record, mirror or walk), found ",
                         argc > 1 ? argv[1] : "nothing");
    optind = 2;
    for (int ch; (ch = getopt_long(argc, argv, "+o:h", longs, NULL)) != -1;) {
        char *end;
        if (ch == 'o')
            a->out = optarg;
        else if (ch == 'C')
            a->keep_going = true;
        else if (ch == 'P')
            a->prefix = optarg;
        else if (ch == 'e'
                 && ((a->every = strtoul(optarg, &end, 10)) == 0
                     || *end != '\0'))
            return bad_usage("expected a count >= 1 after --every, found ",
                             optarg);
        else if (ch == 'h') {
            fputs(usage, stdout);
            exit(0);
        } else if (ch != 'e')
            return bad_usage("bad option", "");
    }
    if (optind >= argc)
        return bad_usage("no script given", "");
    a->argc = argc - optind;
    a->argv = argv + optind;
    // `record SCRIPT ARGS -o TRACE`: the last two words may name the trace
    if (a->argc >= 3 && strcmp(a->argv[a->argc - 2], "-o") == 0) {
        a->out = a->argv[a->argc - 1];
        a->argc -= 2;
    }
    a->script = a->argv[0];
    if (strcmp(a->verb, "record") == 0 && a->out == NULL)
        return bad_usage("record needs -o TRACE", "");
    FILE *f = fopen(a->script, "r");
    if (f == NULL) {
        fprintf(stderr, "obcheck cpython: %s: %s\n", a->script,
                strerror(errno));
        return 2;
    }
    fclose(f);
    return 0;
}

/* Run sys.argv[0] as __main__ and keep its exit status: a SystemExit
 * would otherwise end the process inside PyErr_Print(), before the report
 * (and the recording) could be written. */
static const char runner[] =
    "import os, runpy, sys, traceback\n"
    "sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))\n"
    "_obcheck_status = 0\n"
    "try:\n"
    "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
    "except SystemExit as e:\n"
    "    if isinstance(e.code, int):\n"
    "        _obcheck_status = e.code\n"
    "    elif e.code is not None:\n"
    "        print(e.code, file=sys.stderr)\n"
    "        _obcheck_status = 1\n"
    "except BaseException:\n"
    "    traceback.print_exc()\n"
    "    _obcheck_status = 1\n";

/* Start the interpreter on the script, run it and finalize; return the
 * script's exit status, or -1 if Python did not start. */
static int
run_python(const struct args *a)
{
    PyConfig c;
    PyConfig_InitPythonConfig(&c);
    c.parse_argv = 0;
    PyStatus st = PyConfig_SetBytesString(&c, &c.home, OBCHECK_PYTHON_HOME);
    if (!PyStatus_Exception(st))
        st = PyConfig_SetBytesArgv(&c, a->argc, a->argv);
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&c);
    PyConfig_Clear(&c);
    if (PyStatus_Exception(st)) {
        fprintf(stderr, "obcheck cpython: cannot start Python: %s\n",
                st.err_msg != NULL ? st.err_msg : "?");
        return -1;
    }
    long status = 1;
    PyObject *main = PyImport_AddModule("__main__");
    if (PyRun_SimpleString(runner) == 0 && main != NULL) {
        PyObject *v = PyObject_GetAttrString(main, "_obcheck_status");
        status = v != NULL ? PyLong_AsLong(v) : 1;
        Py_XDECREF(v);
    }
    if (Py_FinalizeEx() < 0)
        status = 120;
    return (int)(status & 0xff);
}

static void
print_counts(const char *script, int status, double secs)
{
    struct hx_cpy_counts n;
    hx_cpy_counts(&n);
    printf("%s: python exit %d; %lu MEM/OBJ ops hooked, %lu arena requests, "
           "%lu releases, %.2f s; unknown pointers %lu, left out %lu, "
           "reused while live %lu\n",
           script, status, n.ops, n.arenas_new, n.arenas_free, secs, n.unknown,
           n.unrecorded, n.reused);
}

/* After the script: the mirror's verdict, and the prefix if it diverged. */
static int
mirror_report(const struct args *a, struct hx_trace *t, struct hx_mirror *m,
              double secs)
{
    struct hx_mirror_result r;
    hx_mirror_result(m, &r);
    if (r.divergences == 0 && hx_mirror_finish(m) != 0)
        hx_mirror_result(m, &r);
    hx_mirror_print(&r, a->script, secs, stdout);
    if (r.divergences == 0)
        return 0;
    if (hx_write_prefix(t, r.first + 1, a->prefix) != 0) {
        fprintf(stderr, "obcheck cpython: %s: %s\n", a->prefix,
                strerror(errno));
        return 2;
    }
    printf("%s: the first %zu ops are in %s (obcheck run --mirror %s)\n",
           a->script, r.first + 1, a->prefix, a->prefix);
    return 1;
}

static int
write_trace(const struct hx_trace *t, const char *path)
{
    if (hx_write_prefix(t, t->nops, path) != 0) {
        fprintf(stderr, "obcheck cpython: %s: %s\n", path, strerror(errno));
        return 2;
    }
    return 0;
}

/* Say what the hooks do for verb a->verb; 0, or 2 with a message. */
static int
set_up(const struct args *a, struct hx_trace *t, struct hx_cpy_walk *w,
       struct hx_cpy_options *o)
{
    char err[256];
    memset(o, 0, sizeof *o);
    o->keep_going = a->keep_going;
    if (strcmp(a->verb, "walk") == 0) {
        if (hx_cpy_walk_init(w, err, sizeof err) != 0) {
            fprintf(stderr, "obcheck cpython walk: %s\n", err);
            return 2;
        }
        o->walk_every = a->every;
        o->walk = hx_cpy_walk_check;
        o->walk_ctx = w;
        return 0;
    }
    o->record = t;
    if (strcmp(a->verb, "mirror") == 0
        && (o->mirror = hx_mirror_new(t)) == NULL) {
        fprintf(stderr, "obcheck cpython mirror: no reference heap: %s\n",
                strerror(errno));
        return 2;
    }
    return 0;
}

/* The walk's verdict: one last check now that the script has ended. */
static int
walk_report(const struct args *a, struct hx_cpy_walk *w)
{
    struct hx_cpy_counts n;
    hx_cpy_counts(&n);
    hx_cpy_walk_now();
    printf("%s: walk: %lu full checks of CPython's heap (every %lu ops and "
           "at the end), the last with %zu live pool blocks: %lu "
           "violations\n",
           a->script, w->checks, a->every, w->last_live, w->violations);
    int rc = w->violations > 0 ? 1 : 0;
    hx_cpy_walk_free(w);
    return rc;
}

int
main(int argc, char **argv)
{
    struct args a;
    int rc = parse(argc, argv, &a);
    if (rc != 0)
        return rc;
    // these would replace the hooks (PYTHONMALLOC) or wrap them (dev mode)
    unsetenv("PYTHONMALLOC");
    unsetenv("PYTHONDEVMODE");
    unsetenv("PYTHONHOME");
    struct hx_trace t;
    hx_trace_init(&t, a.script);
    struct hx_cpy_options o;
    struct hx_cpy_walk w;
    if ((rc = set_up(&a, &t, &w, &o)) != 0) {
        hx_trace_free(&t);
        return rc;
    }
    hx_cpy_install(&o);
    double t0 = hx_now();
    int status = run_python(&a);
    bool hooked = hx_cpy_stop();
    double secs = hx_now() - t0;
    print_counts(a.script, status, secs);
    if (!hooked)
        fputs("obcheck cpython: the hooks were replaced during start-up\n",
              stderr);
    if (status < 0 || !hooked)
        rc = 2;
    else if (o.walk != NULL)
        rc = walk_report(&a, &w);
    else if (o.mirror != NULL)
        rc = mirror_report(&a, &t, o.mirror, secs);
    if (a.out != NULL && rc != 2 && o.record != NULL) {
        int wrc = write_trace(&t, a.out);
        if (wrc == 0)
            printf("%s: %zu ops, %" PRIu32 " blocks written to %s\n", a.script,
                   t.nops, t.nslots, a.out);
        rc = wrc != 0 ? wrc : rc;
    }
    hx_mirror_free(o.mirror);
    hx_trace_free(&t);
    return rc;
}
