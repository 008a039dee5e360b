/* inv.h — the state-invariant checker: public API (view, levels, report).
 *
 * The checker reads an obmalloc heap through a read-only *view* made of the
 * pointers CPython keeps (usedpools, the arenas vector and its lists,
 * nfp2lasta, the counters, the radix root), so it can walk any heap laid out
 * like CPython's.  It checks the catalogue of CATALOGUE.md (IDs of
 * ../shared/reference/obmalloc-facts.md §5 plus a few derived ones).
 *
 * Contract: inv_check() never aborts, never repairs, never allocates, and
 * never follows a pointer it has not first placed inside a validated arena,
 * the arenas vector or the usedpools table; a damaged heap gives
 * violations, not a fault or a hang.  Trusted without proof: the view's own
 * pointers, the arenas vector pointer, the radix tree's node pointers, and
 * the memory of an arena whose record passes A6 (and, with a radix tree,
 * O2).  Not thread-safe: the caller serialises it with the allocator.
 *
 * Who may include this: anyone.  It includes obm.h for the layout structs.
 */
#ifndef INV_H
#define INV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "obm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- Knobs ----------------------------------------------------------------
 */

#define INV_MAX_KEPT 32     /* violations kept in a report */
#define INV_MESSAGE_LEN 112 /* bytes of one violation's text */
#define INV_STACK_SLOTS 512 /* arena index on the stack when no scratch */
#define INV_LOCAL_CHAIN 4   /* freeblock links INV_LOCAL reads per pool */

/* --- The catalogue --------------------------------------------------------
 */

enum inv_kind {
    INV_KIND_STATE,     /* checked by inv_check() */
    INV_KIND_BEHAVIOUR, /* about transitions: the behavioural module */
    INV_KIND_DEBUG      /* needs the debug layer: not checked yet */
};

enum inv_cost {
    INV_COST_O1,   /* a few fields */
    INV_COST_POOL, /* one pool or one arena: bounded by NUMBLOCKS or 64 */
    INV_COST_HEAP  /* proportional to the heap */
};

#define INV_PROFILE(p) (1u << (p))
#define INV_ALL_PROFILES ((1u << OBM_NPROFILES) - 1)

struct inv_entry {
    const char *id; /* "P4" */
    enum inv_kind kind;
    enum inv_cost cost;
    unsigned profiles;     /* INV_PROFILE() bits it applies to */
    bool needs_live;       /* only with the caller's live set */
    bool local;            /* also checked (restricted) at INV_LOCAL */
    const char *statement; /* one line */
};

/* Return the catalogue and store its length in *n. */
const struct inv_entry *inv_catalogue(size_t *n);

/* Return the entry with this ID, or NULL. */
const struct inv_entry *inv_catalogue_find(const char *id);

/* Print the catalogue, one line per ID: ID, profiles, cost, statement. */
void inv_catalogue_print(FILE *out);

/* Write the profile names of a mask ("py38 py39 ...") into buf. */
const char *inv_profiles_str(unsigned profiles, char *buf, size_t len);

/* --- The view -------------------------------------------------------------
 */

/* Optional caller-owned memory that makes pointer validation O(log #arenas)
 * and enables the per-pool live-set checks.  It holds a sorted index of the
 * arenas (rebuilt only when the set of arenas changes) followed by a
 * sorted copy of the live set.  Zero it before first use.
 *
 * With scratch, INV_FULL also remembers the arena set and node counts of
 * its last clean walk of the whole radix tree (O3, O4: 640 KiB in py311)
 * and skips that walk while they are unchanged, since only a change of
 * arenas may change the tree; the per-arena probes (O2, O5) still run.  A
 * stray write into the tree is then found by the next walk: after the
 * arena set changes, or after inv_scratch_forget(). */
struct inv_scratch {
    void *mem;   /* pointer-aligned */
    size_t size; /* bytes */
    /* private to the checker */
    uintptr_t key[5];
    size_t nslots;
    uint64_t radix_key[4];
};

/* Make the next check with sc do all its work, as if sc were new: the
 * memory stays. */
void inv_scratch_forget(struct inv_scratch *sc);

struct inv_view {
    struct obm_geometry g; /* a copy: the checker trusts no stored size */
    struct obm_pool *const *usedpools;
    struct obm_arena *const *arenas; /* pointer to the vector pointer */
    const unsigned *maxarenas;
    struct obm_arena *const *unused_arena_objects;
    struct obm_arena *const *usable_arenas;
    struct obm_arena *const *nfp2lasta; /* NULL before 3.8 */
    const size_t *narenas_currently_allocated;
    const size_t *ntimes_arena_allocated;
    const size_t *narenas_highwater;
    const ptrdiff_t *raw_allocated_blocks; /* NULL if not kept */
    void *const *radix_root;               /* NULL without a radix tree */
    const int *arena_map_mid_count;
    const int *arena_map_bot_count;
    /* Optional: every live block the heap's pools handed out (no raw ones);
     * enables C5, P8 and P10 at FULL, and P9. */
    const void *const *live;
    size_t nlive;
    size_t nraw; /* live raw-fallback blocks the caller knows of, or
                  * SIZE_MAX if unknown (C4) */
    struct inv_scratch *scratch; /* optional, see above */
};

/* Fill *v from a heap of the reference core (no live set, no scratch). */
void inv_view_from_heap(struct inv_view *v, const obm_heap *h);

/* Fill *v from the state pointers of any obmalloc laid out like CPython. */
void inv_view_from_state(struct inv_view *v, const struct obm_state *s);

/* The obcheck_view ABI: how a third-party obmalloc lets `obcheck allocator
 * LIBRARY:PREFIX` run this checker on it.  Besides PREFIX + malloc, calloc,
 * realloc and free, the library exports
 *
 *     void PREFIXobcheck_view(struct obm_state *out);
 *
 * which fills *out as obm_heap_state() does, with pointers into the one
 * heap the library's functions serve: the geometry (a struct obm_geometry
 * the library keeps, describing its constants), usedpools, the arenas
 * vector and the rest, laid out as CPython keeps them (the structs of
 * obm.h).  obcheck calls it once, after loading, and reads through the
 * pointers after every operation, so they must stay valid while the
 * library is loaded.  The library also exports PREFIX + usable_size
 * (size_t f(void *p)): a block's usable size if a pool holds it, else 0,
 * as obm_usable_size() does; that is how obcheck tells pool blocks (the
 * checker's live set) from the raw fallback's.  Only obm.h and inv.h are
 * needed to implement it. */

/* --- Reports --------------------------------------------------------------
 */

enum inv_level {
    INV_LOCAL, /* what one operation can have changed; cost independent of
                * heap size */
    INV_FULL   /* the whole heap, two traversals, conservation laws */
};

enum inv_value {
    INV_VAL_NONE,
    INV_VAL_UNSIGNED,
    INV_VAL_SIGNED,
    INV_VAL_PTR
};

struct inv_violation {
    const char *id;        /* catalogue ID */
    long arena;            /* arena index, -1 if none */
    long szidx;            /* size class, -1 if none */
    uintptr_t pool, block; /* 0 if none */
    enum inv_value kind;   /* how expected and found print */
    uint64_t expected, found;
    unsigned long opno;
    char message[INV_MESSAGE_LEN];
};

/* Why a check was skipped (inv_report.skipped bits). */
#define INV_SKIP_NO_LIVE 1u /* no live set: C5, P8-P10 at FULL */
#define INV_SKIP_LIVE_ORDER                                                   \
    2u                     /* live set unsorted and no scratch: C5 per        \
                            * pool and P9 */
#define INV_SKIP_VECTOR 4u /* arenas vector untrusted (A1/A13) */
#define INV_SKIP_LINEAR_INDEX                                                 \
    8u /* too many arenas for the index: lookups                              \
        * were linear scans */

struct inv_report {
    size_t total; /* violations found by the last inv_check() */
    size_t nkept; /* min(total, INV_MAX_KEPT) */
    unsigned skipped;
    struct inv_violation kept[INV_MAX_KEPT];
    /* Optional, called on every violation (kept or not). */
    void (*on_violation)(void *ctx, const struct inv_violation *viol);
    void *ctx;
};

/* Check v at level; touched is the address the last operation handed out or
 * freed (INV_LOCAL; NULL = heap-level O(1) checks only), opno is copied
 * into each violation.  Reset *out, fill it, return the violation count. */
size_t inv_check(const struct inv_view *v, enum inv_level level,
                 const void *touched, unsigned long opno,
                 struct inv_report *out);

/* Called on every violation; does nothing.  Set a breakpoint here. */
void inv_on_violation(const struct inv_violation *viol);

/* Print one line per kept violation, then a summary if some were dropped
 * or checks were skipped. */
void inv_report_print(const struct inv_report *r, FILE *out);

/* Print one violation in the house format (no newline). */
void inv_violation_print(const struct inv_violation *viol, FILE *out);

/* Print the report as one JSON object {"violations":[...],"total":N}. */
void inv_report_json(const struct inv_report *r, FILE *out);

/* Return whether the report holds a violation with this ID. */
bool inv_report_has(const struct inv_report *r, const char *id);

/* --- Behaviour: predict obmalloc's decision, then verify it -------------
 * Some bugs leave a heap that passes every state invariant yet behaves
 * unlike obmalloc.  Before an operation, inv_predict() reads the state and
 * writes down what obmalloc would do (the B family of the catalogue);
 * after it, inv_verify() compares.  Both read through the view with the
 * same walk discipline as inv_check(), and never allocate. */

enum inv_op_kind {
    INV_OP_MALLOC,  /* size: bytes asked for */
    INV_OP_CALLOC,  /* size: nelem * elsize (the caller checks overflow) */
    INV_OP_REALLOC, /* ptr: the block (NULL = malloc), size: new size */
    INV_OP_FREE     /* ptr: the block (NULL = no-op) */
};

struct inv_op {
    enum inv_op_kind kind;
    size_t size;
    const void *ptr;
};

/* What inv_predict() expects; filled by it, read by inv_verify(). */
struct inv_prediction {
    struct inv_op op;
    unsigned expect;                   /* INV_EXPECT_* bits (private) */
    unsigned szidx;                    /* the size class involved */
    const void *block;                 /* B1, B4: the block malloc returns */
    const struct obm_pool *pool;       /* the pool the operation uses */
    const struct obm_pool *ring_first; /* B2, B6 */
    const struct obm_pool *ring_next, *ring_prev; /* B2: kept neighbours */
    long arena;         /* record index, -1 if none */
    long arena_prev;    /* B8: its predecessor after, -1 = head */
    unsigned maxarenas; /* B5 */
    bool lists_empty;   /* B5: both arena lists empty before */
};

/* Write down obmalloc's decision for op on the heap v views, as it is now.
 * Decisions that depend on damaged state are left out (inv_check reports
 * the damage). */
void inv_predict(const struct inv_view *v, const struct inv_op *op,
                 struct inv_prediction *pred);

/* Compare the heap after the operation (result: what it returned) with
 * pred; add each mismatch to *out as a B violation and return how many. */
size_t inv_verify(const struct inv_view *v, const struct inv_prediction *pred,
                  const void *result, unsigned long opno,
                  struct inv_report *out);

/* Reset a report to hold nothing (inv_check does this itself). */
void inv_report_reset(struct inv_report *r);

#ifdef __cplusplus
}
#endif

#endif /* INV_H */
