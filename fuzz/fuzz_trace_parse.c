/* fuzz_trace_parse.c — property: the trace readers take any bytes.
 *
 * Each input goes to the text reader and to the binary reader (with and
 * without the magic in front, so mutations reach past the header).  A
 * reader either refuses it with a message, leaving the trace empty, or
 * accepts it; an accepted trace must write back and read back to the same
 * trace, in both formats (text canonical form, binary byte for byte).
 * Anything else traps.  ASan catches reads past the input.
 */
#include "fuzz.h"
#include "hx.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC "OBCT"

/* Trap unless cond: a finding. */
#define REQUIRE(cond)                                                         \
    do {                                                                      \
        if (!(cond))                                                          \
            __builtin_trap();                                                 \
    } while (0)

static uint8_t *
written(const struct hx_trace *t, bool binary, size_t *len)
{
    char *s = NULL;
    FILE *f = open_memstream(&s, len);
    REQUIRE(f != NULL);
    REQUIRE((binary ? hx_write_binary(t, f) : hx_write_text(t, f)) == 0);
    fclose(f);
    return (uint8_t *)s;
}

static bool
same_ops(const struct hx_trace *a, const struct hx_trace *b)
{
    return a->nops == b->nops && a->nslots == b->nslots
           && a->nexpect == b->nexpect
           // an empty trace has no ops array: memcmp(NULL, ...) is UB
           && (a->nops == 0
               || memcmp(a->ops, b->ops, a->nops * sizeof *a->ops) == 0);
}

/* An accepted trace: both formats must round-trip. */
static void
round_trip(const struct hx_trace *t)
{
    char err[256];
    for (int binary = 0; binary < 2; binary++) {
        size_t n;
        uint8_t *out = written(t, binary, &n);
        struct hx_trace back;
        int rc = binary ? hx_read_binary(&back, "w", out, n, err, sizeof err)
                        : hx_read_text(&back, "w", (const char *)out, n, err,
                                       sizeof err);
        REQUIRE(rc == 0);
        REQUIRE(same_ops(t, &back));
        size_t m;
        uint8_t *again = written(&back, binary, &m);
        REQUIRE(m == n && memcmp(again, out, n) == 0);
        free(again);
        free(out);
        hx_trace_free(&back);
    }
}

static void
try_reader(bool binary, const uint8_t *data, size_t size)
{
    struct hx_trace t;
    char err[256] = "";
    int rc = binary ? hx_read_binary(&t, "f", data, size, err, sizeof err)
                    : hx_read_text(&t, "f", (const char *)data, size, err,
                                   sizeof err);
    if (rc == 0)
        round_trip(&t);
    else
        REQUIRE(err[0] != '\0' && t.nops == 0 && t.nslots == 0);
    hx_trace_free(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_reader(false, data, size);
    try_reader(true, data, size);
    uint8_t *framed = malloc(size + 5);
    if (framed == NULL)
        return 0;
    memcpy(framed, MAGIC "\x01", 5);
    memcpy(framed + 5, data, size);
    try_reader(true, framed, size + 5);
    free(framed);
    return 0;
}
