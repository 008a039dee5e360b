/* inv_internal.h — what the checker's families share: the per-call context,
 * violation reporting, and pointer validation.  Included only by
 * the files of invariants/.
 *
 * Walk discipline.  A pointer read from the heap is followed only after
 * inv_find_arena() (or inv_is_sentinel()) placed it: inside the carved part
 * of an arena whose record is trusted (inv_arena_trusted: A6 holds, and
 * with a radix tree O2 confirms the address), or on a usedpools sentinel,
 * of which only nextpool and prevpool are ever read.  Arena records are
 * placed inside the vector, which is trusted only after A1 and A13.  Every
 * list walk is bounded by the largest length the list can have.
 */
#ifndef INV_INTERNAL_H
#define INV_INTERNAL_H

#include "inv.h"

#include <stdarg.h>

#define INV_MAX_CLASSES (OBM_MAX_USEDPOOLS / 2)
#define INV_MAX_BLOCKS 1024 /* NUMBLOCKS of class 0 is at most 1021 */

/* One allocated, trusted arena in the address-sorted index. */
struct inv_slot {
    uintptr_t lo;   /* first(A): the first pool */
    uintptr_t hi;   /* pool_address: the end of the carved part */
    uintptr_t base; /* address */
    unsigned idx;   /* index in the arenas vector */
};

/* What lookups learned during one call, filled through a const ctx: the
 * heap does not change under a call, so a record that passed the trust
 * gate stays trusted until the call returns.  A LOCAL check meets a few
 * arenas (the touched one, its ring neighbours', the list head): a few
 * entries, replaced round robin. */
#define INV_MEMO_SLOTS 4
struct inv_memo {
    unsigned n;                       /* entries filled */
    unsigned next;                    /* the entry replaced next */
    unsigned trusted[INV_MEMO_SLOTS]; /* record indices that passed */
    uintptr_t lo[INV_MEMO_SLOTS];     /* their first pool */
    uintptr_t hi[INV_MEMO_SLOTS];     /* their pool_address */
    uintptr_t end[INV_MEMO_SLOTS];    /* their address + ARENA_SIZE */
};

/* Per-call state; inv_ctx_init() sets each field (a new one too). */
/* Marks a pure scanning loop: under a coverage-guided fuzzer its
 * comparisons carry no signal, only a callback each (and it is not
 * inlined, or the caller's instrumentation would cover it). */
#if defined(__clang__)
#define INV_SCAN __attribute__((no_sanitize("coverage"), noinline))
#else
#define INV_SCAN
#endif

/* A word of node memory, read whatever the node's entries are. */
typedef uint64_t __attribute__((may_alias)) inv_word;

struct inv_ctx {
    const struct inv_view *v;
    const struct obm_geometry *g;
    struct inv_report *out;
    unsigned long opno;
    enum inv_level level;
    uintptr_t ring0; /* the usedpools sentinel of class 0 */
    /* the radix tree's index shifts and masks: top, mid, bottom */
    unsigned radix_shift[3];
    uintptr_t radix_mask[3];
    /* the arenas vector, once A1 and A13 let it be trusted */
    const struct obm_arena *arenas;
    unsigned maxarenas;
    bool vector_ok;
    /* sorted index of trusted arenas (NULL: linear lookups) */
    const struct inv_slot *slots;
    size_t nslots;
    /* the live set, sorted (NULL when unavailable) */
    const void *const *live_sorted;
    size_t nlive;
    size_t nlive_seen;        /* live blocks found inside some carved pool */
    size_t live_next;         /* where the last pool's live blocks ended ... */
    uintptr_t live_next_pool; /* ... and the pool that may start there */
    struct inv_memo memo;
};

/* What one pool's check learned (P1-P8). */
enum inv_pool_state {
    POOL_EMPTY,
    POOL_USED,
    POOL_FULL,
    POOL_BAD
};
struct inv_pool_facts {
    enum inv_pool_state state;
    unsigned count, szidx, numblocks, blocksize;
    uint64_t recip; /* 2^32 / blocksize, rounded up: see inv_block_at() */
    size_t chained; /* freeblock chain length, if it ended */
    bool szidx_ok;  /* szidx < NB_SMALL_SIZE_CLASSES */
    uint64_t chain[INV_MAX_BLOCKS / 64]; /* chained blocks, by number */
};

/* Store in *k the number of the block at offset off from a pool's first
 * block and return whether off is that block's start.  A multiply by the
 * rounded-up reciprocal, not a divide: the FULL walk does this for every
 * free and live block.  Exact because off < 2^16 and blocksize <= 2^10. */
static inline bool
inv_block_at(const struct inv_pool_facts *pf, uintptr_t off, size_t *k)
{
    *k = (size_t)((off * pf->recip) >> 32);
    return (uintptr_t)*k * pf->blocksize == off;
}

/* --- inv_report.c ---------------------------------------------------------
 */

/* Record one violation of id about (arena, szidx, pool, block). */
void inv_fail(struct inv_ctx *c, const char *id, long arena, long szidx,
              uintptr_t pool, uintptr_t block, enum inv_value kind,
              uint64_t expected, uint64_t found, const char *fmt, ...)
    __attribute__((format(printf, 10, 11)));

/* --- inv_view.c: placing pointers ---------------------------------------- */

/* Set up c for one call over v at level (vector not yet checked). */
void inv_ctx_init(struct inv_ctx *c, const struct inv_view *v,
                  struct inv_report *out, enum inv_level level,
                  unsigned long opno);

/* Return the sentinel of ring i: the sentinels lie 2 pointers apart, as
 * the usedpools slots they are made of. */
static inline const struct obm_pool *
inv_sentinel(const struct inv_ctx *c, unsigned i)
{
    return (const struct obm_pool *)(c->ring0
                                     + i * 2 * sizeof(struct obm_pool *));
}

/* Return whether record i passed the trust gate earlier in this call. */
static inline bool
inv_memo_trusted(const struct inv_ctx *c, unsigned i)
{
    for (unsigned k = 0; k < c->memo.n; k++)
        if (c->memo.trusted[k] == i)
            return true;
    return false;
}

/* Return whether record i passes the trust gate (address, A6, O2). */
bool inv_arena_trusted(const struct inv_ctx *c, unsigned i);

/* Return the first pool of the arena starting at address. */
static inline uintptr_t
inv_first_pool(const struct obm_geometry *g, uintptr_t address)
{
    uintptr_t ps = g->pool_size;
    return (address + ps - 1) & ~(ps - 1);
}

/* Return the last slot of the arena index starting at or below p, or
 * NULL (the index must exist: c->slots). */
const struct inv_slot *inv_slot_below(const struct inv_ctx *c, uintptr_t p);

/* Return the index of the trusted arena whose carved part holds p, or -1;
 * with whole set, anywhere in [first pool, address + ARENA_SIZE). */
long inv_find_arena_in(const struct inv_ctx *c, uintptr_t p, bool whole);
#define inv_find_arena(c, p) inv_find_arena_in((c), (p), false)

/* Return the record index of arena pointer a inside the vector, or -1. */
static inline long
inv_record_index(const struct inv_ctx *c, const struct obm_arena *a)
{
    uintptr_t p = (uintptr_t)a, lo = (uintptr_t)c->arenas;
    uintptr_t sz = sizeof(struct obm_arena);
    // an untrusted vector has maxarenas 0: nothing is inside it
    if (p - lo >= (uintptr_t)c->maxarenas * sz || (p - lo) % sz != 0)
        return -1;
    return (long)((p - lo) / sz);
}

/* Return the class whose usedpools sentinel is p, or -1. */
static inline long
inv_is_sentinel(const struct inv_ctx *c, const struct obm_pool *p)
{
    uintptr_t step = 2 * sizeof(struct obm_pool *);
    uintptr_t x = (uintptr_t)p - c->ring0;
    if (x % step != 0 || x / step >= c->g->nclasses)
        return -1;
    return (long)(x / step);
}

/* A6, O2 for the indexed arena around p that failed the trust gate. */
void inv_check_suspect(struct inv_ctx *c, uintptr_t p);

/* Build the sorted arena index into scratch (or stack) if it fits. */
void inv_build_index(struct inv_ctx *c, struct inv_slot *stack, size_t nstack);

/* Return the number of carved pools of trusted record a. */
static inline unsigned
inv_carved(const struct obm_geometry *g, const struct obm_arena *a)
{
    uintptr_t first = inv_first_pool(g, a->address);
    return (unsigned)(((uintptr_t)a->pool_address - first) >> g->pool_bits);
}

/* --- inv_arena.c -----------------------------------------------------------
 */

/* A1, A13: decide whether the arenas vector can be trusted. */
void inv_check_vector(struct inv_ctx *c);
/* A2-A8, A10, A12 over every record and list (FULL). */
struct inv_tally;
void inv_check_arenas_full(struct inv_ctx *c, struct inv_tally *t);
/* A6-A10 and list neighbours of record i (LOCAL); walk: the operation may
 * have pushed or popped a pool of freepools, walk it all (else the head). */
void inv_check_arena_local(struct inv_ctx *c, unsigned i, bool walk);
/* Heads of usable_arenas and unused_arena_objects (LOCAL). */
void inv_check_list_heads(struct inv_ctx *c);
/* A8 for record i: walk freepools; return its length or SIZE_MAX. */
size_t inv_walk_freepools(struct inv_ctx *c, unsigned i, bool report);

/* --- inv_nfp2lasta.c ------------------------------------------------------
 */

/* N1-N3 over the whole usable list (FULL). */
void inv_check_nfp2lasta_full(struct inv_ctx *c);
/* N1, N3 for entries k-1..k+1 and the record i (LOCAL). */
void inv_check_nfp2lasta_local(struct inv_ctx *c, unsigned i);

/* --- inv_pool.c ------------------------------------------------------------
 */

/* P1-P8 on the carved pool q of arena ai; fill *pf. */
void inv_check_pool(struct inv_ctx *c, unsigned ai, uintptr_t q,
                    struct inv_pool_facts *pf);
/* P9, P10, C5 per pool: the live blocks inside pool q. */
void inv_check_pool_live(struct inv_ctx *c, unsigned ai, uintptr_t q,
                         const struct inv_pool_facts *pf);

/* --- inv_usedpools.c -------------------------------------------------------
 */

/* U1-U3, U5 for every ring; ring_len[i] gets ring i's length. */
void inv_check_rings(struct inv_ctx *c, size_t *ring_len);
/* U3 for every class (LOCAL: O(classes)). */
void inv_check_ring_ends(struct inv_ctx *c);
/* U1/U2/P6 around the pool q (LOCAL). */
void inv_check_ring_neighbours(struct inv_ctx *c, unsigned ai, uintptr_t q,
                               const struct inv_pool_facts *pf);

/* --- inv_accounting.c ------------------------------------------------------
 */

/* What the walks counted, for C1-C6. */
struct inv_tally {
    size_t narenas;                /* records with address != 0 */
    size_t ntrusted;               /* of which walked */
    bool fp_broken;                /* some freepools walk did not end */
    size_t carved;                 /* carved pools of trusted arenas */
    size_t used, full, empty, bad; /* by header */
    size_t used_by_class[INV_MAX_CLASSES];
    size_t ring_len[INV_MAX_CLASSES];
    size_t freepools; /* pools on freepools lists */
    size_t counts;    /* sum of count */
    /* the byte ledger (C3) */
    uint64_t handed, avail, headers, quant, unused_pools, misaligned;
};
/* C1, C2, C4 (O(1) parts: always). */
void inv_check_counters(struct inv_ctx *c, bool full);
/* C1, C3-C6 from a FULL walk's tally. */
void inv_check_ledger(struct inv_ctx *c, const struct inv_tally *t);

/* --- inv_ownership.c -------------------------------------------------------
 */

/* O1 on carved pool q's header (legacy profiles). */
void inv_check_legacy_owner(struct inv_ctx *c, unsigned ai, uintptr_t q);
/* O2 for record i. */
bool inv_check_radix_arena(struct inv_ctx *c, unsigned i, bool report);
/* O3-O5 over the whole tree (FULL). */
void inv_check_radix_full(struct inv_ctx *c);
/* Live set: sort it (or accept it sorted) and check P8 and C5 (listed
 * twice) per block. */
void inv_check_live(struct inv_ctx *c);
/* P10 per block, after the pool walks: only when they did not find every
 * live block inside a carved pool. */
void inv_check_live_placed(struct inv_ctx *c);

/* --- inv_behaviour.c, inv_verify.c ----------------------------------------
 */

/* What a prediction expects (struct inv_prediction.expect bits). */
#define EXPECT_BLOCK 0x001u       /* B1 or B4: result == block */
#define EXPECT_RING_FIRST 0x002u  /* B2 or B6: usedpools[2i] == ring_first */
#define EXPECT_NEIGHBOURS 0x004u  /* B2: pool keeps ring_next, ring_prev */
#define EXPECT_POOL 0x008u        /* B3: the result lies in pool */
#define EXPECT_ONLY_MEMBER 0x010u /* B4: the result's pool is alone */
#define EXPECT_GROWTH 0x020u      /* B5 */
#define EXPECT_FREEPOOLS 0x040u   /* B7 */
#define EXPECT_ARENA_PREV 0x080u  /* B8 */
#define EXPECT_RELEASE 0x100u     /* B9: arena released */
#define EXPECT_KEEP 0x200u        /* B9: arena kept */
#define EXPECT_IN_PLACE 0x400u    /* B10 */
#define EXPECT_MOVED 0x800u       /* B10 */
#define EXPECT_RAW 0x1000u        /* B11 */
#define EXPECT_FRESH 0x2000u      /* B3 with a new arena: a virgin pool */

/* Set up c over v for a behavioural read: vector checks, arena index;
 * state damage found on the way goes to sink, which no caller sees (that
 * is inv_check's job).  Return whether the vector can be trusted. */
bool inv_open_ctx(struct inv_ctx *c, const struct inv_view *v,
                  struct inv_report *sink);

#endif /* INV_INTERNAL_H */
