/* hx_internal.h — what the runner's files share: the shadow model.
 *
 * The shadow keeps, per slot of the trace, the block the allocator handed
 * out: pointer, requested size, usable size, and whether it came from a
 * pool or the raw allocator.  A block's bytes, slack included, hold a
 * pattern derived from its slot, so any change by anyone but its owner
 * shows (K5, K10), and a granule map of every live byte finds a block
 * handed out over another (K1, K6) in O(size) per operation.  Pool blocks
 * are also kept in a dense array, the live set the checker's view reads.
 *
 * Included only by the files of harness/.
 */
#ifndef HX_INTERNAL_H
#define HX_INTERNAL_H

#include "hx.h"

/* Marks a pure scanning loop: under a coverage-guided fuzzer its
 * comparisons carry no signal, only a callback each (and it is not
 * inlined, or the caller's instrumentation would cover it). */
#if defined(__clang__)
#define HX_SCAN __attribute__((no_sanitize("coverage"), noinline))
#else
#define HX_SCAN
#endif

enum sh_state {
    SH_NEW,   /* not allocated yet */
    SH_LIVE,  /* handed out, not freed */
    SH_FREED, /* freed (p kept for misuse operations) */
    SH_FAILED /* the allocation returned NULL; later ops are skipped */
};

struct hx_block {
    uint8_t *p;
    uint64_t size;   /* requested */
    uint32_t usable; /* bytes the pattern covers (>= size for pool blocks) */
    uint8_t state;   /* enum sh_state */
    bool raw;        /* served by the raw allocator */
    bool listed;     /* this block is on the sorted live list */
};

/* A block freed while on the sorted live list: where it was listed. */
struct hx_gone {
    const void *p;
    uint32_t slot;
};

struct hx_granules; /* granule map: which 8-byte granules live blocks cover */

#define HX_NEAR_MAX 16 /* blocks whose neighbours a full check verifies */

/* Make and free a granule map (shadow_map.c). */
struct hx_granules *hx_granules_new(void);
void hx_granules_free(struct hx_granules *m);

/* Set (or clear) the granules of [p, p + n); when setting, return the
 * address of the first granule already set, or 0. */
uintptr_t hx_granules_mark(struct hx_granules *m, uintptr_t p, size_t n,
                           bool set);

struct hx_shadow {
    obm_heap *h;                  /* NULL when a is set */
    const struct hx_allocator *a; /* a loaded allocator, or NULL */
    const struct obm_geometry *g; /* NULL for a black box */
    struct hx_block *blocks;      /* one per slot */
    uint32_t nslots;
    const void **live; /* live pool blocks, by address (full checks) */
    size_t nlive, nraw;
    /* the sorted live list behind live (shadow_live.c): its slots; the
     * slots allocated since it was made (then scratch for sorting) and
     * the listed blocks freed since */
    uint32_t *live_slot;
    size_t nsorted;
    uint32_t *added;
    size_t nadded, added_cap;
    struct hx_gone *gone;
    size_t ngone, gone_cap;
    bool live_kept; /* the list is kept up to date (else: rebuild) */
    /* where blocks came or went since the list before (at most
     * HX_NEAR_MAX; more and near_lost is set): their live neighbours are
     * what a stray write of the allocator most likely hit */
    uintptr_t near[HX_NEAR_MAX];
    unsigned nnear;
    bool near_lost;
    struct hx_granules *map;
    const struct hx_trace *t; /* for labels in messages */
    /* where findings go; the runner owns it */
    struct inv_report *out;
    unsigned long opno;
    uint32_t verify_next; /* where hx_shadow_verify_some() goes on */
};

/* Set up a shadow for t's slots over heap h, or over allocator a when h
 * is NULL (g: its geometry when it has a view); return 0 or -1. */
int hx_shadow_open(struct hx_shadow *s, obm_heap *h, const struct hx_trace *t,
                   struct inv_report *out);

/* Release the shadow's memory (not the blocks). */
void hx_shadow_close(struct hx_shadow *s);

/* Record that slot now owns p (size bytes asked; calloc: zeroed expected):
 * K1, K2, K4, K6, K7 on the way in, then fill the pattern. */
void hx_shadow_alloc(struct hx_shadow *s, uint32_t slot, void *p,
                     uint64_t size, bool zeroed);

/* Verify slot's bytes (K5, K10) before it is freed or resized. */
void hx_shadow_verify(struct hx_shadow *s, uint32_t slot);

/* Forget slot's block (after a free): granules and live set. */
void hx_shadow_release(struct hx_shadow *s, uint32_t slot);

/* After realloc moved or resized slot's block to p (size bytes): K3 over
 * the bytes kept, then the K checks of a new block. */
void hx_shadow_realloc(struct hx_shadow *s, uint32_t slot, void *p,
                       uint64_t size);

/* Fill s->live with the live pool blocks in address order (the checker's
 * live set, made only for a full check); return how many. */
size_t hx_shadow_live_set(struct hx_shadow *s);

/* Note that slot holds a new block, not yet on the sorted live list. */
void hx_shadow_listed(struct hx_shadow *s, uint32_t slot);

/* Note that slot's block is gone (freed or moved) from the list. */
void hx_shadow_unlisted(struct hx_shadow *s, uint32_t slot);

/* Verify every live block's bytes (a full check). */
void hx_shadow_verify_all(struct hx_shadow *s);

/* Verify the live neighbours, in address order, of the blocks that came
 * or went before the last hx_shadow_live_set() (when they were few). */
void hx_shadow_verify_near(struct hx_shadow *s);

/* Verify live blocks in turn, from where the last call stopped, until
 * budget bytes are verified or every slot was looked at. */
void hx_shadow_verify_some(struct hx_shadow *s, size_t budget);

/* Append one violation to a report (kept if there is room), and call the
 * report's hook and inv_on_violation(). */
void hx_report_add(struct inv_report *r, const struct inv_violation *v);

/* Report a K violation about slot's block. */
void hx_shadow_fail(struct hx_shadow *s, const char *id, uint32_t slot,
                    uintptr_t at, uint64_t expected, uint64_t found,
                    const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* --- The runner's sources (run_sources.c) ------------------------------- */

/* Faults on one kind of request: from the trace, and a sweep's plan. */
struct hx_faults {
    unsigned long fail_next; /* trace: the next N requests fail */
    bool always;             /* trace: every request fails */
    unsigned long fail_at;   /* plan: request number fail_at fails */
    bool persistent;         /* plan: and every one after it */
    unsigned long nrequests, nfailed;
    unsigned long nplanned; /* of nfailed, failed by the plan */
};

/* The arena source the runner gives the heap. */
struct hx_arenas {
    struct obm_arena_source source; /* what the heap calls */
    struct obm_arena_source inner;  /* a region, or mmap */
    struct obm_region *region;
    bool borrowed;              /* region is the caller's: scrub, don't free */
    const struct obm_state *st; /* the heap's, to find a record's extent */
    struct hx_faults faults;
    size_t live, peak; /* arenas out now, and at most */
};

/* Set up the arena source: the caller's region if given, else a
 * deterministic region of its own when it can be had, else mmap. */
int hx_arenas_open(struct hx_arenas *a, struct obm_region *region);
void hx_arenas_close(struct hx_arenas *a);

/* Return a raw allocator over libc that fails as f says. */
struct obm_raw_allocator hx_raw_faulty(struct hx_faults *f);

/* Apply a trace's fault operation to f. */
void hx_fault_set(struct hx_faults *f, const struct hx_op *op);

/* --- The runner (run.c, run_ops.c) -------------------------------------- */

struct hx_runner {
    const struct hx_trace *t;
    const struct hx_run_options *o;
    struct hx_run_result *res;
    const struct hx_allocator *a; /* o->alloc: NULL for the reference heap */
    bool viewed;                  /* the state can be checked (r->v) */
    obm_heap *h;
    const struct obm_geometry *g;
    struct obm_state st;
    struct hx_arenas arenas;
    struct hx_faults rawf;
    struct obm_raw_allocator raw;
    struct hx_shadow sh;
    struct inv_view v;
    struct inv_scratch scratch;
    struct inv_report found; /* this operation's findings */
    struct inv_report state; /* what inv_check() wrote */
    struct inv_prediction pred;
    bool predicted, force_full, per_op;
    const void *touched[2]; /* addresses the operation changed */
    unsigned long faults_before;
};

/* Execute one operation with its shadow checks and behaviour prediction;
 * findings go to r->found. */
void hx_execute(struct hx_runner *r, const struct hx_op *op);

/* Report a heap-level K violation (no block). */
void hx_fail_heap(struct hx_runner *r, const char *id, uint64_t expected,
                  uint64_t found, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Copy what inv_check() wrote to r->state into r->found. */
void hx_merge_state(struct hx_runner *r);

#endif /* HX_INTERNAL_H */
