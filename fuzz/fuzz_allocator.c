/* fuzz_allocator.c — property: no program breaks the allocator named by
 * OBCHECK_ALLOCATOR (a SPEC as for `obcheck allocator`: glibc, mimalloc,
 * reference:py38, libfoo.so:foo_ ...; default glibc).
 *
 * The input decodes as for fuzz_ops (hx_decode_ops; the profile byte only
 * aims the sizes), and the runner replays it through the loaded allocator
 * with the shadow model: the K family on every operation, all live bytes
 * verified every 64 operations and at the end, and for an allocator with
 * PREFIXobcheck_view the checker and the behavioural predictions after
 * every operation, as fuzz_ops does for the reference.  Faults and misuse
 * are skipped (a loaded allocator has no fault seam).  The run frees every
 * block it made, so one allocator serves every input.  Any violation is a
 * finding: the report and the program go to stderr, then a trap.
 * jemalloc needs GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536.
 */
#include "fuzz.h"
#include "hx.h"

#include <stdlib.h>

// opened once: a library's heap lives as long as the process
static struct hx_allocator *alloc;

static void
open_allocator(void)
{
    const char *spec = getenv("OBCHECK_ALLOCATOR");
    char err[512];
    alloc = hx_allocator_open(spec != NULL ? spec : "glibc", NULL, err,
                              sizeof err);
    if (alloc == NULL) {
        fprintf(stderr, "fuzz_allocator: OBCHECK_ALLOCATOR=%s: %s\n",
                spec != NULL ? spec : "glibc", err);
        exit(2);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (alloc == NULL)
        open_allocator();
    struct hx_run_options o;
    hx_run_options_default(&o);
    o.alloc = alloc;
    o.check = alloc->view != NULL ? HX_CHECK_FULL | HX_CHECK_END
                                  : HX_CHECK_EVERY | HX_CHECK_END;
    o.every = 64;
    o.verify_budget = alloc->view != NULL ? 8 << 10 : 0; // as fuzz_ops
    // as fuzz_ops: a FULL after each drain free is quadratic
    o.drain_batched = true;
    fuzz_run_program("fuzz_allocator", data, size, &o);
    return 0;
}
