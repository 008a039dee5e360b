/* shadow_map.c — the granule map: one bit per 8 bytes of every live block.
 *
 * Address space is cut into 64 KiB chunks; a chunk that ever held a live
 * byte gets a 1 KiB bitmap, found through an open-addressing table keyed
 * by the chunk number.  Marking a block tests and sets its granules in
 * one pass, so overlap detection costs O(size / 512) words, independent
 * of how many blocks are live.  Bitmaps are kept once made: a run touches
 * a bounded span of addresses.
 */
#include "hx_internal.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_BITS 16
#define GRANULE_BITS 3
#define CHUNK_WORDS ((1u << (CHUNK_BITS - GRANULE_BITS)) / 64)

struct sh_cell {
    uintptr_t key; /* chunk number + 1; 0 = empty */
    uint64_t *bits;
};

struct hx_granules {
    struct sh_cell *cells;
    size_t mask, used;
    struct sh_cell *last; /* the chunk found last: runs are local */
};

struct hx_granules *
hx_granules_new(void)
{
    struct hx_granules *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->mask = 1023;
    m->cells = calloc(m->mask + 1, sizeof *m->cells);
    if (m->cells == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void
hx_granules_free(struct hx_granules *m)
{
    if (m == NULL)
        return;
    // a map is made and freed per fuzz input: stop at the last used cell
    for (size_t i = 0, left = m->used; i <= m->mask && left > 0; i++)
        if (m->cells[i].key != 0) {
            free(m->cells[i].bits);
            left--;
        }
    free(m->cells);
    free(m);
}

static size_t
cell_of(uintptr_t key, size_t mask)
{
    return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 20) & mask;
}

static int
grow(struct hx_granules *m)
{
    size_t mask = m->mask * 2 + 1;
    struct sh_cell *cells = calloc(mask + 1, sizeof *cells);
    if (cells == NULL)
        return -1;
    for (size_t i = 0; i <= m->mask; i++) {
        if (m->cells[i].key == 0)
            continue;
        size_t j = cell_of(m->cells[i].key, mask);
        while (cells[j].key != 0)
            j = (j + 1) & mask;
        cells[j] = m->cells[i];
    }
    free(m->cells);
    m->cells = cells;
    m->mask = mask;
    m->last = NULL;
    return 0;
}

/* Return chunk's bitmap, making it if create is set; NULL if absent. */
static uint64_t *
chunk_bits(struct hx_granules *m, uintptr_t chunk, bool create)
{
    uintptr_t key = chunk + 1;
    if (m->last != NULL && m->last->key == key)
        return m->last->bits;
    size_t i = cell_of(key, m->mask);
    for (; m->cells[i].key != 0; i = (i + 1) & m->mask) {
        if (m->cells[i].key == key) {
            m->last = &m->cells[i];
            return m->last->bits;
        }
    }
    if (!create)
        return NULL;
    if ((m->used + 1) * 2 > m->mask + 1) {
        if (grow(m) != 0)
            return NULL;
        return chunk_bits(m, chunk, true);
    }
    uint64_t *bits = calloc(CHUNK_WORDS, sizeof *bits);
    if (bits == NULL)
        return NULL;
    m->cells[i].key = key;
    m->cells[i].bits = bits;
    m->used++;
    m->last = &m->cells[i];
    return bits;
}

/* Apply op to granules [g0, g1) of one bitmap; return the first granule
 * that was already set (op: 1 test+set, 0 clear), or g1. */
static size_t
apply(uint64_t *bits, size_t g0, size_t g1, int op)
{
    size_t hit = g1;
    while (g0 < g1) {
        size_t w = g0 / 64, lo = g0 % 64;
        size_t n = g1 - g0 < 64 - lo ? g1 - g0 : 64 - lo;
        uint64_t mask = (n == 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1)
                        << lo;
        if (op) {
            if ((bits[w] & mask) != 0 && hit == g1)
                hit = w * 64 + (size_t)__builtin_ctzll(bits[w] & mask);
            bits[w] |= mask;
        } else {
            bits[w] &= ~mask;
        }
        g0 += n;
    }
    return hit;
}

/* Mark (set) or unmark the granules of [p, p + n); when marking, return
 * the address of the first granule some live block already covered, or
 * 0.  Out of memory: the bytes are simply not tracked. */
uintptr_t
hx_granules_mark(struct hx_granules *m, uintptr_t p, size_t n, bool set)
{
    if (n == 0)
        n = 1;
    uintptr_t g = p >> GRANULE_BITS;
    uintptr_t gend = (p + n - 1) >> GRANULE_BITS;
    uintptr_t first = 0;
    const uintptr_t per = (uintptr_t)1 << (CHUNK_BITS - GRANULE_BITS);
    while (g <= gend) {
        uintptr_t chunk = g / per;
        size_t g0 = (size_t)(g % per);
        size_t g1 = chunk == gend / per ? (size_t)(gend % per) + 1 : per;
        uint64_t *bits = chunk_bits(m, chunk, set);
        if (bits != NULL) {
            size_t hit = apply(bits, g0, g1, set);
            if (set && hit != g1 && first == 0)
                first = (chunk * per + hit) << GRANULE_BITS;
        }
        g = chunk * per + g1;
    }
    return first;
}
