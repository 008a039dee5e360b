/* fuzz_program.c — what fuzz_ops and fuzz_allocator share: decode the
 * input into a program, replay it, and turn a violation into a crash that
 * carries the report and the program.
 */
#include "fuzz.h"
#include "hx.h"

#include <stdlib.h>

void
fuzz_run_program(const char *target, const uint8_t *data, size_t size,
                 struct hx_run_options *o)
{
    struct hx_trace t;
    hx_trace_init(&t, target);
    struct hx_run_result *res = malloc(sizeof *res);
    if (res == NULL || hx_decode_ops(data, size, &t, &o->profile) != 0) {
        free(res);
        hx_trace_free(&t);
        return;
    }
    if (hx_run(&t, o, res) == 1) {
        fprintf(stderr, "%s: violation in %s after op #%lu %s\n", target,
                o->alloc != NULL ? o->alloc->name
                                 : obm_geometry(o->profile)->name,
                res->first_op, res->what);
        inv_report_print(&res->report, stderr);
        hx_write_text(&t, stderr);
        __builtin_trap();
    }
    free(res);
    hx_trace_free(&t);
}
