/* run_sources.c — the runner's arena source and raw allocator: the real
 * ones wrapped with the faults a trace or a fault sweep asks for, and
 * with counts of what is out, so a leak of an arena shows (K9).
 */
#include "hx_internal.h"

#include <string.h>

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

static void
arena_free(void *ctx, void *p, size_t size)
{
    struct hx_arenas *a = ctx;
    a->live--;
    a->inner.free(a->inner.ctx, p, size);
}

int
hx_arenas_open(struct hx_arenas *a)
{
    memset(a, 0, sizeof *a);
    // a region gives the same addresses on every run of the same trace,
    // so reports and reproducers can be compared; plain mmap if it is taken
    struct obm_region_config cfg = {0};
    a->region = obm_region_new(&cfg);
    a->inner =
        a->region != NULL ? obm_region_source(a->region) : obm_source_mmap();
    a->source = (struct obm_arena_source){a, arena_alloc, arena_free};
    return 0;
}

void
hx_arenas_close(struct hx_arenas *a)
{
    if (a->region != NULL)
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
