/* cli_allocator_threads.c — `obcheck allocator --threads N`. */
#include "cli_allocator.h"

int
acli_threads(const struct acli *c, const struct hx_allocator *a,
             const struct hx_trace *t, size_t n, struct acli_outcome *out)
{
    fprintf(stderr, "obcheck allocator: --threads is not implemented yet\n");
    return CLI_USAGE;
}
