/* obm_os.c — the seam to the OS: arena sources, the raw allocator, and the
 * fault-injection point.  Nothing else in the core maps memory. */
#include "obm_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE_SIZE_ASSUMED 4096u

/* --- mmap: one anonymous mapping per arena, as CPython does on Linux ---- */

static void *
mmap_alloc(void *ctx, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void
mmap_free(void *ctx, void *ptr, size_t size)
{
    munmap(ptr, size);
}

struct obm_arena_source
obm_source_mmap(void)
{
    return (struct obm_arena_source){NULL, mmap_alloc, mmap_free};
}

/* --- offset mmap: a chosen start residue, trimmed to exactly size ------- */

static bool
valid_offset(size_t align, size_t offset)
{
    return align >= PAGE_SIZE_ASSUMED && (align & (align - 1)) == 0
           && offset < align && offset % PAGE_SIZE_ASSUMED == 0;
}

static void *
offset_mmap_alloc(void *ctx, size_t size)
{
    const struct obm_offset_mmap *om = ctx;
    if (!valid_offset(om->align, om->offset))
        return NULL;
    // over-reserve so an align boundary plus the offset always fits
    size_t span = size + 2 * om->align;
    uint8_t *base = mmap(NULL, span, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    uintptr_t aligned = ((uintptr_t)base + om->align - 1) & ~(om->align - 1);
    uint8_t *start = (uint8_t *)aligned + om->offset;
    uint8_t *end = start + size;
    if (start > base)
        munmap(base, (size_t)(start - base));
    if (end < base + span)
        munmap(end, (size_t)(base + span - end));
    return start;
}

struct obm_arena_source
obm_source_offset_mmap(struct obm_offset_mmap *om)
{
    return (struct obm_arena_source){om, offset_mmap_alloc, mmap_free};
}

/* --- the deterministic region ---------------------------------------------
 * One PROT_NONE reservation at a fixed address, cut into equal slots; the
 * lowest free slot serves the next arena, so addresses depend only on the
 * sequence of requests and releases. */

#define REGION_DEFAULT_BASE ((uintptr_t)0x5a0000000000u)
#define REGION_DEFAULT_CAPACITY ((size_t)16 << 30)
#define REGION_DEFAULT_ALIGN ((size_t)1 << 20)
#define REGION_TRIES 64

struct obm_region {
    uint8_t *base;
    size_t capacity, align, offset;
    size_t stride; /* slot size, fixed by the first request */
    size_t nslots;
    uint64_t *used; /* one bit per slot */
    size_t *kept;   /* keep_pages: bytes still mapped at each free slot */
    bool keep_pages;
    size_t live;
};

static uint8_t *
reserve_at(uintptr_t want, size_t capacity)
{
    void *p =
        mmap((void *)want, capacity, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
             -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if ((uintptr_t)p != want) { // a kernel without NOREPLACE took a hint
        munmap(p, capacity);
        return NULL;
    }
    return p;
}

struct obm_region *
obm_region_new(const struct obm_region_config *cfg)
{
    struct obm_region_config c = cfg ? *cfg : (struct obm_region_config){0};
    if (c.capacity == 0)
        c.capacity = REGION_DEFAULT_CAPACITY;
    if (c.align == 0)
        c.align = REGION_DEFAULT_ALIGN;
    if (!valid_offset(c.align, c.offset) || c.capacity % c.align != 0) {
        errno = EINVAL;
        return NULL;
    }
    struct obm_region *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    uintptr_t want = c.base ? c.base : REGION_DEFAULT_BASE;
    // the first free stretch at or after the wanted base, in steps of the
    // capacity: regions created in the same order land in the same places
    for (int i = 0; i < REGION_TRIES && r->base == NULL; i++)
        r->base = reserve_at(want + (uintptr_t)i * c.capacity, c.capacity);
    if (r->base == NULL) {
        free(r);
        errno = ENOMEM;
        return NULL;
    }
    r->capacity = c.capacity;
    r->align = c.align;
    r->offset = c.offset;
    r->keep_pages = c.keep_pages;
    return r;
}

void
obm_region_free(struct obm_region *r)
{
    if (r == NULL)
        return;
    munmap(r->base, r->capacity);
    free(r->used);
    free(r->kept);
    free(r);
}

static bool
region_set_stride(struct obm_region *r, size_t size)
{
    size_t stride = ((size + r->align - 1) & ~(r->align - 1)) + r->align;
    size_t nslots = r->capacity / stride;
    if (nslots == 0)
        return false;
    r->used = calloc((nslots + 63) / 64, sizeof *r->used);
    r->kept = r->keep_pages ? calloc(nslots, sizeof *r->kept) : NULL;
    if (r->used == NULL || (r->keep_pages && r->kept == NULL)) {
        free(r->used);
        free(r->kept);
        r->used = NULL;
        r->kept = NULL;
        return false;
    }
    r->stride = stride;
    r->nslots = nslots;
    return true;
}

static void
unmap_slot(void *start, size_t size)
{
    mmap(start, size, PROT_NONE,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

static void *
region_alloc(void *ctx, size_t size)
{
    struct obm_region *r = ctx;
    if (r->stride == 0 && !region_set_stride(r, size))
        return NULL;
    if (size + r->offset > r->stride)
        return NULL;
    for (size_t w = 0; w < (r->nslots + 63) / 64; w++) {
        if (r->used[w] == UINT64_MAX)
            continue;
        size_t slot = w * 64 + (size_t)__builtin_ctzll(~r->used[w]);
        if (slot >= r->nslots)
            return NULL;
        uint64_t bit = (uint64_t)1 << (slot % 64);
        uint8_t *start = r->base + slot * r->stride + r->offset;
        size_t kept = r->kept != NULL ? r->kept[slot] : 0;
        if (kept != size) {
            if (kept != 0) // kept for another size: start afresh
                unmap_slot(start, kept);
            void *p = mmap(start, size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            if (p == MAP_FAILED)
                return NULL;
        }
        r->used[w] |= bit;
        if (r->kept != NULL)
            r->kept[slot] = 0;
        r->live++;
        return start;
    }
    return NULL;
}

static void
region_release(void *ctx, void *ptr, size_t size)
{
    struct obm_region *r = ctx;
    size_t slot = (size_t)((uint8_t *)ptr - r->base) / r->stride;
    // put the pages back as an inaccessible reservation, unless kept (and
    // still at the offset the next request of the slot will want)
    if (r->kept != NULL
        && (uint8_t *)ptr == r->base + slot * r->stride + r->offset)
        r->kept[slot] = size;
    else
        unmap_slot(ptr, size);
    r->used[slot / 64] &= ~((uint64_t)1 << (slot % 64));
    r->live--;
}

struct obm_arena_source
obm_region_source(struct obm_region *r)
{
    return (struct obm_arena_source){r, region_alloc, region_release};
}

int
obm_region_set_offset(struct obm_region *r, size_t offset)
{
    // any valid residue fits: a slot is the arena rounded up plus align
    if (!valid_offset(r->align, offset))
        return -1;
    // kept slots are mapped at the old offset: map them afresh when used
    for (size_t slot = 0;
         r->kept != NULL && offset != r->offset && slot < r->nslots; slot++) {
        if (r->kept[slot] != 0)
            unmap_slot(r->base + slot * r->stride + r->offset, r->kept[slot]);
        r->kept[slot] = 0;
    }
    r->offset = offset;
    return 0;
}

uintptr_t
obm_region_base(const struct obm_region *r)
{
    return (uintptr_t)r->base;
}

size_t
obm_region_live(const struct obm_region *r)
{
    return r->live;
}

/* --- fault injection ---------------------------------------------------- */

static void *
faulty_alloc(void *ctx, size_t size)
{
    struct obm_faulty_source *f = ctx;
    f->nrequests++;
    if (f->fail_at != 0
        && (f->nrequests == f->fail_at
            || (f->persistent && f->nrequests > f->fail_at))) {
        f->nfailed++;
        return NULL;
    }
    return f->inner.alloc(f->inner.ctx, size);
}

static void
faulty_free(void *ctx, void *ptr, size_t size)
{
    struct obm_faulty_source *f = ctx;
    f->nreleased++;
    f->inner.free(f->inner.ctx, ptr, size);
}

struct obm_arena_source
obm_source_faulty(struct obm_faulty_source *f)
{
    return (struct obm_arena_source){f, faulty_alloc, faulty_free};
}

/* --- the raw allocator: CPython's RAW domain over libc ------------------ */

static void *
raw_malloc(void *ctx, size_t n)
{
    return malloc(n ? n : 1); // the RAW domain never asks libc for 0
}

static void *
raw_calloc(void *ctx, size_t nelem, size_t elsize)
{
    if (nelem == 0 || elsize == 0)
        nelem = elsize = 1;
    return calloc(nelem, elsize);
}

static void *
raw_realloc(void *ctx, void *p, size_t n)
{
    return realloc(p, n ? n : 1);
}

static void
raw_free(void *ctx, void *p)
{
    free(p);
}

struct obm_raw_allocator
obm_raw_libc(void)
{
    return (struct obm_raw_allocator){NULL, raw_malloc, raw_calloc,
                                      raw_realloc, raw_free};
}
