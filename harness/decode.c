/* decode.c — fuzz input bytes to a valid program (fuzz_ops, obcheck
 * decode).
 *
 * Decoding is total: every byte string is a program, so mutations stay
 * meaningful.  Records have a fixed small shape (opcode, slot, arguments)
 * so a mutation changes one operation; blocks are 64 slots, never
 * pointers, and the decoder keeps the block discipline itself: a malloc
 * into a live slot frees it first, a free of a dead slot is dropped, a
 * realloc of a dead slot is a malloc.  Sizes come from a selector byte
 * skewed toward class boundaries and the threshold.
 */
#include "hx.h"

#include <stdlib.h>
#include <string.h>

struct reader {
    const uint8_t *p;
    size_t n, at;
};

/* Return the next byte, 0 past the end. */
static uint8_t
next(struct reader *r)
{
    return r->at < r->n ? r->p[r->at++] : 0;
}

/* Decode a size: tiny, around a class boundary, around the threshold,
 * medium raw, (rarely) up to 64 KiB, or (one in 2^16 of those) above
 * PTRDIFF_MAX, which every allocator must refuse. */
static uint64_t
size_of(struct reader *r, const struct obm_geometry *g)
{
    unsigned s = next(r);
    if (s < 64)
        return s;
    if (s < 160) {
        unsigned c = (s - 64) / 3 % g->nclasses;
        return obm_blocksize(g, c) + (s - 64) % 3 - 1;
    }
    if (s < 224)
        return g->threshold + s - 192;
    if (s < 248)
        return g->threshold + 1 + (uint64_t)next(r) * 16;
    // two statements: the order of two calls in one expression is the
    // compiler's, and gcc and clang builds must decode alike
    uint64_t v = (uint64_t)next(r) << 8;
    v |= next(r);
    return v == 0xffff ? HX_HUGE : v + 1;
}

/* Blocks made by fills, freed only by thinnings. */
struct group {
    uint32_t slot[HX_DECODE_GROUP_CAP];
    bool live[HX_DECODE_GROUP_CAP];
    unsigned n; /* blocks made so far */
};

struct decoder {
    struct hx_trace *t;
    const struct obm_geometry *g;
    uint32_t slot[HX_DECODE_SLOTS];
    bool live[HX_DECODE_SLOTS];
    struct group group[HX_DECODE_GROUPS];
};

static int
push(struct decoder *d, enum hx_kind kind, unsigned flags, unsigned s,
     uint64_t a, uint64_t b)
{
    uint32_t slot = s < HX_DECODE_SLOTS ? d->slot[s] : HX_NO_SLOT;
    return hx_push(d->t, kind, flags, slot, a, b, 0);
}

/* Group g's block j: its slot, made on first use. */
static uint32_t
group_slot(struct decoder *d, unsigned g, unsigned j)
{
    struct group *gr = &d->group[g];
    if (gr->slot[j] == HX_NO_SLOT)
        gr->slot[j] = hx_slot_num(
            d->t, HX_DECODE_SLOTS + (uint64_t)g * HX_DECODE_GROUP_CAP + j);
    return gr->slot[j];
}

/* The last operation of a group op, from first on, ends its batch. */
static void
end_batch(struct hx_trace *t, size_t first)
{
    if (t->nops > first)
        t->ops[t->nops - 1].flags &= (uint8_t)~HX_F_BATCH;
}

/* A fill: up to n mallocs of one pool size, appended to group g (until
 * it holds HX_DECODE_GROUP_CAP blocks), so that a few bytes fill a pool
 * or an arena. */
static int
fill(struct decoder *d, struct reader *r, unsigned g, unsigned n)
{
    struct group *gr = &d->group[g];
    uint64_t size = size_of(r, d->g);
    // above the threshold a fill fills no pool, only megabytes of libc's
    // blocks for the shadow to write and read: the threshold instead
    if (size > d->g->threshold)
        size = d->g->threshold;
    size_t first = d->t->nops;
    for (unsigned k = 0; k < n && gr->n < HX_DECODE_GROUP_CAP; k++) {
        uint32_t slot = group_slot(d, g, gr->n);
        if (slot == HX_NO_SLOT
            || hx_push(d->t, HX_MALLOC, HX_F_BATCH, slot, size, 0, 0) != 0)
            return -1;
        gr->live[gr->n++] = true;
    }
    end_batch(d->t, first);
    return 0;
}

/* A thinning: free every stride-th live block of group g from phase, so
 * that pools and arenas empty in patterns. */
static int
thin(struct decoder *d, struct reader *r, unsigned g, unsigned stride)
{
    struct group *gr = &d->group[g];
    size_t first = d->t->nops;
    for (unsigned j = next(r) % stride; j < gr->n; j += stride) {
        if (!gr->live[j])
            continue;
        gr->live[j] = false;
        if (hx_push(d->t, HX_FREE, HX_F_BATCH, gr->slot[j], 0, 0, 0) != 0)
            return -1;
    }
    end_batch(d->t, first);
    return 0;
}

/* Opcode 7: faults, checks and the group operations, chosen by the next
 * byte. */
static int
special(struct decoder *d, struct reader *r, unsigned s)
{
    unsigned v = next(r);
    enum hx_kind kind = v & 1 ? HX_FAULT_RAW : HX_FAULT_ARENAS;
    switch (v >> 1 & 3) {
    case 0:
        return push(d, kind, 0, HX_DECODE_SLOTS, 1 + (v >> 3) % 4, 0);
    case 1:
        return push(d, kind, HX_F_ALWAYS, HX_DECODE_SLOTS, 0, 0);
    case 2:
        return push(d, kind, HX_F_OFF, HX_DECODE_SLOTS, 0, 0);
    default:
        if (!(v & 8))
            return push(d, HX_CHECK, 0, HX_DECODE_SLOTS, 0, 0);
        if (v & 1)
            return thin(d, r, s % HX_DECODE_GROUPS, 1 + (v >> 4));
        return fill(d, r, s % HX_DECODE_GROUPS, 2 + (v >> 4) * 34);
    }
}

/* Make slot s free for a new block (freeing what it held) and live. */
static int
take(struct decoder *d, unsigned s)
{
    if (d->live[s] && push(d, HX_FREE, 0, s, 0, 0) != 0)
        return -1;
    d->live[s] = true;
    return 0;
}

/* Malloc n bytes into slot s, freeing what it held first. */
static int
allocated(struct decoder *d, unsigned s, uint64_t n)
{
    return take(d, s) != 0 ? -1 : push(d, HX_MALLOC, 0, s, n, 0);
}

static int
allocate(struct decoder *d, struct reader *r, unsigned s, bool zeroed)
{
    uint64_t n = size_of(r, d->g);
    if (!zeroed)
        return allocated(d, s, n);
    if (take(d, s) != 0)
        return -1;
    unsigned k = next(r);
    // one calloc in 256 asks for a product that overflows; a huge size
    // stays huge (split, it could fall below PTRDIFF_MAX)
    if (k == 255)
        return push(d, HX_CALLOC, 0, s, UINT64_C(1) << 62, 8);
    if (n >= HX_HUGE)
        return push(d, HX_CALLOC, 0, s, 1, n);
    uint64_t nelem = 1 + k % 16;
    return push(d, HX_CALLOC, 0, s, nelem, n / nelem);
}

/* Decode one operation. */
static int
one(struct decoder *d, struct reader *r)
{
    unsigned op = next(r) % 8, s = next(r) % HX_DECODE_SLOTS;
    switch (op) {
    case 0:
    case 1:
    case 2:
        return allocate(d, r, s, false);
    case 3:
        return allocate(d, r, s, true);
    case 4:
        if (!d->live[s])
            return allocate(d, r, s, false);
        return push(d, HX_REALLOC, 0, s, size_of(r, d->g), 0);
    case 5:
    case 6:
        if (!d->live[s])
            return 0;
        d->live[s] = false;
        return push(d, HX_FREE, 0, s, 0, 0);
    default:
        return special(d, r, s);
    }
}

int
hx_decode_ops(const uint8_t *data, size_t len, struct hx_trace *t,
              enum obm_profile *profile)
{
    struct reader r = {data, len, 0};
    *profile = (enum obm_profile)(next(&r) % OBM_NPROFILES);
    struct decoder *d = calloc(1, sizeof *d); // 20 KiB of groups
    if (d == NULL)
        return -1;
    d->t = t;
    d->g = obm_geometry(*profile);
    for (unsigned g = 0; g < HX_DECODE_GROUPS; g++)
        for (unsigned j = 0; j < HX_DECODE_GROUP_CAP; j++)
            d->group[g].slot[j] = HX_NO_SLOT;
    int rc = 0;
    for (unsigned s = 0; s < HX_DECODE_SLOTS && rc == 0; s++)
        if ((d->slot[s] = hx_slot_num(t, s)) == HX_NO_SLOT)
            rc = -1;
    while (rc == 0 && r.at < r.n && t->nops < HX_DECODE_MAX_OPS)
        rc = one(d, &r);
    free(d);
    return rc;
}
