/* run_sources.c — the runner's arena source and raw allocator: the real
 * ones wrapped with the faults a trace or a fault sweep asks for, and
 * with counts of what is out, so a leak of an arena shows (K9).
 */
#include "hx_internal.h"

#include <string.h>
#include <sys/mman.h>

/* Decide whether this request fails: trace faults first, then the plan. */
static bool
should_fail(struct hx_faults *f)
{
    f->nrequests++;
    bool fail = f->always;
    if (!fail && f->fail_next > 0) {
        f->fail_next--;
        fail = true;
    }
    // the plan's failures are counted apart: a sweep ends when it made none
    if (!fail && f->fail_at != 0
        && (f->nrequests == f->fail_at
            || (f->persistent && f->nrequests > f->fail_at))) {
        f->nplanned++;
        fail = true;
    }
    if (fail)
        f->nfailed++;
    return fail;
}

static void *
arena_alloc(void *ctx, size_t size)
{
    struct hx_arenas *a = ctx;
    if (should_fail(&a->faults))
        return NULL;
    void *p = a->inner.alloc(a->inner.ctx, size);
    if (p != NULL && ++a->live > a->peak)
        a->peak = a->live;
    return p;
}

/* Return the end of what the heap may have written in arena p: its
 * record's carved pools rounded up to a page, or p itself if no record
 * holds p (an arena given back before it was used). */
static uint8_t *
dirty_end(const struct hx_arenas *a, uint8_t *p, size_t size)
{
    const struct obm_arena *v = *a->st->arenas;
    for (unsigned i = 0; v != NULL && i < *a->st->maxarenas; i++) {
        if (v[i].address != (uintptr_t)p)
            continue;
        uintptr_t end =
            ((uintptr_t)v[i].pool_address + 4095) & ~(uintptr_t)4095;
        // a damaged record may say anything: the whole arena then
        return end >= (uintptr_t)p && end <= (uintptr_t)p + size
                   ? (uint8_t *)end
                   : p + size;
    }
    return p;
}

/* Make a kept arena read as a fresh mapping does, so the next run sees the
 * same bytes as the first: zero the carved pools (their pages stay) and
 * drop the rest, where only a bug writes. */
static void
scrub(const struct hx_arenas *a, uint8_t *p, size_t size)
{
    uint8_t *end = dirty_end(a, p, size);
    memset(p, 0, (size_t)(end - p));
    if (end < p + size)
        madvise(end, (size_t)(p + size - end), MADV_DONTNEED);
}

static void
arena_free(void *ctx, void *p, size_t size)
{
    struct hx_arenas *a = ctx;
    a->live--;
    if (a->borrowed && a->st != NULL)
        scrub(a, p, size);
    a->inner.free(a->inner.ctx, p, size);
}

int
hx_arenas_open(struct hx_arenas *a, struct obm_region *region)
{
    memset(a, 0, sizeof *a);
    a->region = region;
    a->borrowed = region != NULL;
    // a region gives the same addresses on every run of the same trace,
    // so reports and reproducers can be compared; plain mmap if it is taken
    struct obm_region_config cfg = {0};
    if (a->region == NULL)
        a->region = obm_region_new(&cfg);
    a->inner =
        a->region != NULL ? obm_region_source(a->region) : obm_source_mmap();
    a->source = (struct obm_arena_source){a, arena_alloc, arena_free};
    return 0;
}

void
hx_arenas_close(struct hx_arenas *a)
{
    if (a->region != NULL && !a->borrowed)
        obm_region_free(a->region);
    a->region = NULL;
}

/* The RAW domain's own contract (0 bytes become 1) comes from the core's
 * libc allocator; only the failures are ours. */
static void *
raw_malloc(void *ctx, size_t n)
{
    struct obm_raw_allocator in = obm_raw_libc();
    return should_fail(ctx) ? NULL : in.malloc(in.ctx, n);
}

static void *
raw_calloc(void *ctx, size_t nelem, size_t elsize)
{
    struct obm_raw_allocator in = obm_raw_libc();
    return should_fail(ctx) ? NULL : in.calloc(in.ctx, nelem, elsize);
}

static void *
raw_realloc(void *ctx, void *p, size_t n)
{
    struct obm_raw_allocator in = obm_raw_libc();
    return should_fail(ctx) ? NULL : in.realloc(in.ctx, p, n);
}

static void
raw_free(void *ctx, void *p)
{
    struct obm_raw_allocator in = obm_raw_libc();
    in.free(in.ctx, p);
}

struct obm_raw_allocator
hx_raw_faulty(struct hx_faults *f)
{
    return (struct obm_raw_allocator){f, raw_malloc, raw_calloc, raw_realloc,
                                      raw_free};
}

void
hx_fault_set(struct hx_faults *f, const struct hx_op *op)
{
    if (op->flags & HX_F_OFF) {
        f->always = false;
        f->fail_next = 0;
    } else if (op->flags & HX_F_ALWAYS) {
        f->always = true;
    } else {
        f->fail_next = op->a;
    }
}
