/* fuzz_ops.c — property: no program breaks the reference core.
 *
 * The input decodes (hx_decode_ops: total, byte 0 picks the profile) into
 * a program of malloc/calloc/realloc/free on 64 slots with sizes skewed
 * toward class boundaries and the threshold, group fills and thinnings of
 * up to 8 x 512 blocks (so that a few bytes reach full pools, several
 * arenas and their release), plus arena and raw faults and checks.  The
 * runner replays it with the shadow model and the behavioural checks,
 * INV_FULL after every operation of the program (a fill or thinning is
 * one: LOCAL after each malloc or free inside it, FULL after its last),
 * then frees what is left as one more such batch and checks no arena
 * remains.  Each FULL check verifies the patterns of the live neighbours
 * of the blocks allocated or freed since the last one, and 8 KiB of live
 * blocks in turn; each block is also verified when freed, and all at the
 * end.  Any violation is a finding: the report and the decoded program go
 * to stderr, then a trap.
 * `obcheck decode --target fuzz_ops FILE` prints the same program.
 */
#include "fuzz.h"
#include "hx.h"

#include <stdbool.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* One region for every input, with its pages kept, and a libc heap that
 * keeps its top: page faults on memory the last input had already
 * touched were a fifth of the time.  The runner scrubs each arena as it
 * goes back, so an input sees the same bytes and addresses as it would
 * alone; a run that leaves an arena out gets a new region next. */
static struct obm_region *
shared_region(void)
{
    static struct obm_region *region;
#ifdef __GLIBC__
    static bool tuned;
    if (!tuned) { // raw blocks and the runner's arrays: never trim the top
        mallopt(M_TRIM_THRESHOLD, 256 << 20);
        mallopt(M_TOP_PAD, 16 << 20);
        tuned = true;
    }
#endif
    if (region != NULL && obm_region_live(region) != 0) {
        obm_region_free(region);
        region = NULL;
    }
    if (region == NULL) {
        struct obm_region_config cfg = {0};
        cfg.keep_pages = true;
        region = obm_region_new(&cfg);
    }
    return region;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hx_run_options o;
    hx_run_options_default(&o);
    o.check = HX_CHECK_FULL | HX_CHECK_END;
    // all live bytes after every op would make a fill quadratic; the
    // touched blocks' neighbours are verified besides, so the round robin
    // is the backstop for stray writes farther off
    o.verify_budget = 8 << 10;
    // a FULL after each drain free is quadratic in what the program left
    o.drain_batched = true;
    o.region = shared_region();
    fuzz_run_program("fuzz_ops", data, size, &o);
    return 0;
}
