/* bench_glibc.c — the C library's malloc and free under obm_bench.
 *
 * Plain malloc/free with no tunables set by us; glibc keeps its heap between
 * runs, as a long-running process would.
 */
#include "bench.h"

#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>

#define GLIBC_MALLOC(h, n) malloc(n)
#define GLIBC_FREE(h, p) free(p)

BENCH_DEFINE_REPLAY(glibc, void *, GLIBC_MALLOC, GLIBC_FREE)

static int
open_glibc(void)
{
    return 0;
}

static void
close_glibc(void)
{
}

static const char *
describe_glibc(void)
{
    static char buf[96];
    snprintf(buf, sizeof buf, "glibc %s malloc/free, heap kept between runs",
             gnu_get_libc_version());
    return buf;
}

static double
run_glibc(const struct bench_workload *w, void **live)
{
    return replay_glibc(NULL, live, w);
}

const struct bench_allocator bench_glibc = {
    .name = "glibc",
    .open = open_glibc,
    .close = close_glibc,
    .describe = describe_glibc,
    .run = run_glibc,
};
