/* decode_pokes.c — split a fuzz_checker_robust input into the program that
 * builds a heap and the pokes that then damage it (harness/TRACES.md,
 * "Fuzz inputs").  The pokes sit at the end so that the program keeps
 * its meaning when a mutation changes how many there are. */
#include "hx.h"

#include <stdio.h>

void
hx_decode_pokes(const uint8_t *data, size_t len, struct hx_pokes *out)
{
    out->n = 0;
    out->offset = 0;
    out->prog_len = len;
    if (len == 0)
        return;
    uint8_t last = data[len - 1];
    unsigned n = last & 15;
    if (n > HX_POKE_MAX)
        n = HX_POKE_MAX;
    // a short input has room for fewer pokes; the program may be empty
    if ((size_t)n * HX_POKE_BYTES > len - 1)
        n = (unsigned)((len - 1) / HX_POKE_BYTES);
    out->offset = (size_t)(last >> 4 & 3) * 4096;
    out->prog_len = len - 1 - (size_t)n * HX_POKE_BYTES;
    for (unsigned k = 0; k < n; k++) {
        const uint8_t *b = data + out->prog_len + (size_t)k * HX_POKE_BYTES;
        out->poke[k] = (struct hx_poke){b[0] % HX_POKE_NTARGETS,
                                        b[1] % HX_POKE_NOPS, b[2], b[3], b[4]};
    }
    out->n = n;
}

void
hx_poke_str(const struct hx_poke *pk, char *buf, size_t len)
{
    static const char *const targets[HX_POKE_NTARGETS] = {
        "pool header",     "arena record",    "freeblock link",
        "usedpools entry", "nfp2lasta entry", "arena list head",
        "counter",         "radix leaf entry"};
    static const char *const steps[4] = {"1", "16", "POOL_SIZE", "ARENA_SIZE"};
    static const char *const aims[HX_POKE_AIMS] = {
        "NULL",          "itself",       "pool header",
        "pool interior", "arena record", "ring sentinel"};
    const char *t = pk->target < HX_POKE_NTARGETS ? targets[pk->target] : "?";
    switch (pk->op) {
    case HX_POKE_XOR:
        snprintf(buf, len, "%s #%u byte %u ^= 0x%02x", t, pk->index,
                 pk->offset, pk->value ? pk->value : 0x80);
        break;
    case HX_POKE_SET:
        snprintf(buf, len, "%s #%u byte %u = 0x%02x", t, pk->index, pk->offset,
                 pk->value);
        break;
    case HX_POKE_ADD:
        snprintf(buf, len, "%s #%u word at byte %u += %d * %s", t, pk->index,
                 pk->offset & 63, (int8_t)pk->value, steps[pk->offset >> 6]);
        break;
    default:
        snprintf(buf, len, "%s #%u word at byte %u = %s #%u", t, pk->index,
                 pk->offset, aims[pk->value % HX_POKE_AIMS], pk->value >> 3);
        break;
    }
}
