/* obm_profile.c — the geometry of every CPython generation (facts §2, §13). */
#include "obm_internal.h"

#include <string.h>

/* Pools of 4 KiB in 256 KiB arenas up to 3.9; 16 KiB in 1 MiB from 3.10. */
#define SMALL_GEOMETRY(align, shift)                                          \
    .alignment = (align), .alignment_shift = (shift), .threshold = 512,       \
    .nclasses = 512 / (align),                                                \
    .usedpools_len = 2 * ((512 / (align) + 7) / 8) * 8, .pool_size = 4096,    \
    .pool_bits = 12, .pool_overhead = 48, .arena_size = 256u << 10,           \
    .arena_bits = 18, .max_pools_in_arena = 64
#define LARGE_GEOMETRY                                                        \
    .alignment = 16, .alignment_shift = 4, .threshold = 512, .nclasses = 32,  \
    .usedpools_len = 64, .pool_size = 16384, .pool_bits = 14,                 \
    .pool_overhead = 48, .arena_size = 1u << 20, .arena_bits = 20,            \
    .max_pools_in_arena = 64

static const struct obm_geometry geometries[OBM_NPROFILES] = {
    [OBM_PY27] = {OBM_PY27, "py27", "2.7-2.7.16", SMALL_GEOMETRY(8, 3),
                  .sort = OBM_SORT_LINEAR, .keep_tail_arena = false,
                  .ownership = OBM_OWN_LEGACY, .has_calloc = false,
                  .raw_realloc_keeps = true},
    [OBM_PY35] = {OBM_PY35, "py35", "3.3-3.7.3", SMALL_GEOMETRY(8, 3),
                  .sort = OBM_SORT_LINEAR, .keep_tail_arena = false,
                  .ownership = OBM_OWN_LEGACY, .has_calloc = true},
    [OBM_PY38] = {OBM_PY38, "py38", "3.7.4-3.8", SMALL_GEOMETRY(16, 4),
                  .sort = OBM_SORT_NFP2LASTA, .keep_tail_arena = false,
                  .ownership = OBM_OWN_LEGACY, .has_calloc = true},
    [OBM_PY39] = {OBM_PY39, "py39", "3.9", SMALL_GEOMETRY(16, 4),
                  .sort = OBM_SORT_NFP2LASTA, .keep_tail_arena = true,
                  .ownership = OBM_OWN_LEGACY, .has_calloc = true},
    [OBM_PY310] = {OBM_PY310, "py310", "3.10", LARGE_GEOMETRY,
                   .sort = OBM_SORT_NFP2LASTA, .keep_tail_arena = true,
                   .ownership = OBM_OWN_RADIX, .radix_ignore_bits = 16,
                   .radix_top_bits = 10, .radix_mid_bits = 10,
                   .radix_bot_bits = 8, .has_calloc = true},
    [OBM_PY311] = {OBM_PY311, "py311", "3.11-3.13", LARGE_GEOMETRY,
                   .sort = OBM_SORT_NFP2LASTA, .keep_tail_arena = true,
                   .ownership = OBM_OWN_RADIX, .radix_ignore_bits = 0,
                   .radix_top_bits = 15, .radix_mid_bits = 15,
                   .radix_bot_bits = 14, .has_calloc = true},
};

const struct obm_geometry *
obm_geometry(enum obm_profile profile)
{
    if ((unsigned)profile >= OBM_NPROFILES)
        return NULL;
    return &geometries[profile];
}

int
obm_profile_parse(const char *name, enum obm_profile *out)
{
    for (unsigned i = 0; i < OBM_NPROFILES; i++) {
        if (strcmp(name, geometries[i].name) == 0) {
            *out = (enum obm_profile)i;
            return 0;
        }
    }
    return -1;
}
