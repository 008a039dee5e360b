/* bench_pymalloc.c — CPython's own pymalloc (PyObject_Malloc/PyObject_Free
 * from the system libpython) under obm_bench.
 *
 * Built only when CMake found pkg-config's python3-embed (Debian package
 * libpython3.11-dev); otherwise the allocator reports itself missing and
 * obm_bench leaves its column out.  The interpreter is initialised once per
 * process with the object domain forced to pymalloc, whatever PYTHONMALLOC
 * says, and without site or signal handlers; the main thread then holds the
 * GIL, which is all PyObject_Malloc asks of its caller.
 */
#if BENCH_HAVE_PYMALLOC
/* Python.h must come first: it sets feature macros for the C library. */
#include <Python.h>
#endif

#include "bench.h"

#if BENCH_HAVE_PYMALLOC

#include <stdio.h>
#include <string.h>

#define PY_MALLOC(h, n) PyObject_Malloc(n)
#define PY_FREE(h, p) PyObject_Free(p)

BENCH_DEFINE_REPLAY(pymalloc, void *, PY_MALLOC, PY_FREE)

static int
open_pymalloc(void)
{
    PyPreConfig pre;
    PyPreConfig_InitIsolatedConfig(&pre);
    pre.allocator = PYMEM_ALLOCATOR_PYMALLOC;
    PyStatus st = Py_PreInitialize(&pre);
    if (PyStatus_Exception(st))
        return -1;

    PyConfig cfg;
    PyConfig_InitIsolatedConfig(&cfg);
    cfg.install_signal_handlers = 0;
    cfg.site_import = 0;
    st = Py_InitializeFromConfig(&cfg);
    PyConfig_Clear(&cfg);
    return PyStatus_Exception(st) ? -1 : 0;
}

static void
close_pymalloc(void)
{
    if (Py_IsInitialized())
        Py_FinalizeEx();
}

static const char *
describe_pymalloc(void)
{
    static char buf[160];
    const char *v = Py_GetVersion();
    size_t n = strcspn(v, "\n");
    snprintf(buf, sizeof buf,
             "CPython %.*s PyObject_Malloc/Free (pymalloc forced), shared "
             "libpython",
             (int)(n < 100 ? n : 100), v);
    return buf;
}

static double
run_pymalloc(const struct bench_workload *w, void **live)
{
    return replay_pymalloc(NULL, live, w);
}

const struct bench_allocator bench_pymalloc = {
    .name = "pymalloc",
    .open = open_pymalloc,
    .close = close_pymalloc,
    .describe = describe_pymalloc,
    .run = run_pymalloc,
};

#else

const struct bench_allocator bench_pymalloc = {
    .name = "pymalloc",
    .missing = "not built: pkg-config found no python3-embed at configure "
               "time (install libpython3.11-dev and reconfigure)",
};

#endif
