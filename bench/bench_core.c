/* bench_core.c — the reference core (profile py311) under obm_bench.
 *
 * A fresh heap per run, drawing arenas from the default mmap source, as
 * CPython does on Linux; the heap is released after the run.
 */
#include "bench.h"

#include "obm.h"

#define CORE_MALLOC(h, n) obm_malloc((h), (n))
#define CORE_FREE(h, p) obm_free((h), (p))

BENCH_DEFINE_REPLAY(core, obm_heap *, CORE_MALLOC, CORE_FREE)

static int
open_core(void)
{
    return 0;
}

static void
close_core(void)
{
}

#define STR(x) #x
#define XSTR(x) STR(x)
#define DEBUG_LEVEL XSTR(OBM_DEBUG)

static const char *
describe_core(void)
{
    return "obm core, profile py311, OBM_DEBUG=" DEBUG_LEVEL
           ", static library, direct calls, fresh heap per run";
}

static double
run_core(const struct bench_workload *w, void **live)
{
    obm_heap *h = obm_heap_new(OBM_PY311, NULL);
    if (h == NULL)
        bench_die("core: obm_heap_new(OBM_PY311) failed");
    double ns = replay_core(h, live, w);
    obm_heap_free(h);
    return ns;
}

const struct bench_allocator bench_core = {
    .name = "core",
    .open = open_core,
    .close = close_core,
    .describe = describe_core,
    .run = run_core,
};
