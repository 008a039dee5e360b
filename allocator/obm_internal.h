/* obm_internal.h — the design of the reference obmalloc core, and its structs.
 *
 * Included only by the allocator's own .c files.  Everything outside reads
 * a heap through obm.h: the layout structs and obm_heap_state().
 *
 * ---------------------------------------------------------------------------
 * The design
 * ---------------------------------------------------------------------------
 * Layers.  A request of 1..SMALL_REQUEST_THRESHOLD (512) bytes is served from
 * a *block* of its *size class*: class i holds blocks of (i+1)*ALIGNMENT
 * bytes, so a request of n bytes goes to class (n-1) >> ALIGNMENT_SHIFT.
 * Blocks live in *pools* of POOL_SIZE bytes, one class per pool; pools live
 * in *arenas* of ARENA_SIZE bytes that come from the arena source.  Every
 * other request (0 bytes, more than the threshold, or one arriving when no
 * arena can be had) goes to the raw allocator, and the heap counts those
 * blocks in raw_allocated_blocks (C4).
 *
 * Geometry.  A profile fixes ALIGNMENT, POOL_SIZE and ARENA_SIZE (the
 * facts' §2 tables; obm_profile.c).  A pool starts with a 48-byte header
 * (POOL_OVERHEAD) and its blocks follow at POOL_OVERHEAD + k*blocksize.  An
 * arena's first pool is at its first POOL_SIZE boundary, so an arena whose
 * start is not pool-aligned loses one pool: ntotalpools is 64 or 63 (A6).
 *
 * Pools.  Pools are carved from an arena by a bump pointer, pool_address,
 * only when the arena has no empty pool to give back (A9).  A carved pool is
 * in exactly one of three states (P6):
 *   used  0 < count < NUMBLOCKS: in the ring of its class, freeblock != NULL;
 *   full  count == NUMBLOCKS: in no list, freeblock == NULL;
 *   empty count == 0: on its arena's freepools list (A8).
 * Inside a pool, free blocks form the freeblock chain through their first
 * word (P4); blocks past nextoffset are *virgin* and never written until
 * carved one at a time, so handed out + chained + virgin = NUMBLOCKS (P5).
 *
 * usedpools.  Ring i is circular and doubly linked through nextpool and
 * prevpool, with a sentinel that is not a pool: the pair usedpools[2i],
 * usedpools[2i+1] sits where nextpool and prevpool would sit in a header
 * starting two pointers earlier, so the ring code never tests for the
 * sentinel (U1, U3).  malloc takes the first pool of ring i and its first
 * free block; a full pool that gets a block back goes to the front of its
 * ring, so the next malloc of that class reuses the block (U4).  The heap
 * struct puts two words before usedpools so the first sentinel still lies
 * inside the struct; only a sentinel's nextpool and prevpool are touched.
 *
 * Arenas.  Arena records live in one vector, grown (16, then doubling) only
 * when no record is unused, which is also when usable_arenas is empty, so no
 * pointer into the vector survives a move (A1, A11).  A record is unused
 * (address 0, on the LIFO unused_arena_objects list; A3), usable (on
 * usable_arenas; A4) or full (nfreepools 0, on no list; A2).  usable_arenas
 * is sorted by ascending nfreepools (A5): pools are always taken from its
 * head, the most used arena, so nearly empty arenas can drain and go back to
 * the source.  When a pool becomes empty its arena gains one free pool and
 * moves right, just past the last arena with its old count (obm_arena.c,
 * cases 1-4).  From 3.8 nfp2lasta[k] names the right-most arena with k free
 * pools, making that move O(1) (N1-N3); before, it is a linear walk that
 * lands in the same place.  A wholly free arena is released (A10), except
 * from 3.9 on when it is the tail of usable_arenas (anti-thrashing).
 *
 * Ownership.  free and realloc must tell our blocks from raw ones.  Up to
 * 3.9 the pool header at POOL_ADDR(p) is read and its arenaindex checked
 * against the arena records (O1); from 3.10 a radix tree keyed by the high
 * address bits records which ARENA_SIZE regions arenas cover (O2-O5), and no
 * memory near p is read.
 *
 * Everything is in one obm_heap: no global mutable state, so several heaps
 * coexist.  The fast paths of malloc and free touch the heap's first cache
 * lines, one pool header and one block.
 *
 * Room left: Valgrind client requests and ASan poisoning of free and virgin
 * blocks belong where blocks change hands (obm_alloc.c, obm_free.c,
 * obm_pool.c), behind macros that compile to nothing by default.
 */
#ifndef OBM_INTERNAL_H
#define OBM_INTERNAL_H

#include "obm.h"

#include <stddef.h>
#include <stdint.h>

#ifndef OBM_DEBUG
#define OBM_DEBUG 1
#endif

/* --- Self-checks: OBM_DEBUG 0 none, 1 slow paths, 2 every mutation ------ */

/* Report a failed self-check with write(2), never allocating, and abort. */
_Noreturn void obm_assert_fail(const char *file, int line, const char *what);

#define OBM_ASSERT_AT(level, cond)                                            \
    do {                                                                      \
        if (OBM_DEBUG >= (level) && !(cond))                                  \
            obm_assert_fail(__FILE__, __LINE__, #cond);                       \
    } while (0)
#define OBM_ASSERT(cond) OBM_ASSERT_AT(1, cond)       /* slow paths */
#define OBM_ASSERT_LOCAL(cond) OBM_ASSERT_AT(2, cond) /* every mutation */

#define OBM_LIKELY(x) __builtin_expect(!!(x), 1)
#define OBM_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* --- Planted bugs: test-only builds of the core ---------------------------
 * A library built with OBM_PLANT=n carries bug n, so tests can show that the
 * checker and the harness catch it.  Production builds have OBM_PLANT 0. */
#ifndef OBM_PLANT
#define OBM_PLANT 0
#endif
#define OBM_PLANT_FULL_POOL_AT_BACK 1 /* relinked full pool goes last (U4) */
#define OBM_PLANT_RELEASE_TAIL 2      /* 3.9+ tail arena released anyway */
#define OBM_PLANT_WRONG_ARENA 3       /* pools taken from the last arena */
#define OBM_PLANT_REALLOC_MOVES 4     /* realloc ignores the 3/4 rule */
#define OBM_PLANT_NFP2LASTA_CASE2 5   /* case 2 forgets nfp2lasta[1] */
#define OBM_PLANT_FREEPOOLS_FIFO 6    /* emptied pool appended, not pushed */
#define OBM_PLANT_COUNT_LEAK 7        /* free from a full pool keeps count */
#define OBM_PLANT_RADIX_STALE 8       /* released arenas stay marked */
#define OBM_PLANT_CASE3_BEFORE 9      /* case 3 inserts before lastnf */
#define OBM_PLANT_MALLOC_SECOND 10    /* malloc takes the chain's 2nd block */
#define OBM_PLANT_RING_ROTATES 11     /* a used pool moves last on malloc */
#define OBM_PLANT_REINIT_SAME 12      /* same-class reuse re-initialises */
#define OBM_PLANT_EAGER_GROWTH 13     /* vector grows with a record unused */
#define OBM_PLANT_REALLOC_ADOPTS 14   /* realloc moves raw blocks to pools */
#define OBM_PLANT_LAST 14
#define OBM_PLANTED(bug) (OBM_PLANT == (bug))

/* --- The heap ----------------------------------------------------------- */

/* Which ownership test the fast paths run.  The default profile's radix
 * geometry is compiled in as constants, as CPython's own is. */
enum obm_fastpath {
    OBM_FAST_RADIX_PY311, /* constants below */
    OBM_FAST_RADIX,       /* geometry read from the heap */
    OBM_FAST_LEGACY       /* pool-header read */
};
#define PY311_ARENA_BITS 20
#define PY311_BOT_BITS 14
#define PY311_MID_BITS 15
#define PY311_TOP_BITS 15
#define PY311_POOL_BITS 14

struct obm_heap {
    /* Everything the fast paths of malloc and free read, in the first
     * cache line.  The two words just before usedpools double as the
     * first usedpools sentinel's ref and freeblock fields (it starts two
     * pointers before usedpools[0]); the sentinel code only ever touches
     * a sentinel's nextpool and prevpool, i.e. usedpools[2i] and [2i+1]. */
    void **radix_root; /* 2^top_bits pointers to mid nodes */
    enum obm_fastpath fastpath;
    unsigned alignment_shift;
    unsigned threshold;
    unsigned pad;
    uintptr_t pool_mask; /* ~(POOL_SIZE - 1) */

    struct obm_pool *usedpools[OBM_MAX_USEDPOOLS];

    /* Ownership test (free, realloc). */
    unsigned arena_bits;
    size_t arena_size;
    unsigned radix_top_shift, radix_mid_shift;
    uintptr_t radix_top_mask, radix_mid_mask, radix_bot_mask;

    /* Arena records and their lists. */
    struct obm_arena *arenas;
    unsigned maxarenas;
    struct obm_arena *unused_arena_objects;
    struct obm_arena *usable_arenas;
    struct obm_arena *nfp2lasta[OBM_MAX_POOLS_IN_ARENA + 1];

    /* Counters (facts §3.7). */
    size_t narenas_currently_allocated;
    size_t ntimes_arena_allocated;
    size_t narenas_highwater;
    ptrdiff_t raw_allocated_blocks;
    int arena_map_mid_count;
    int arena_map_bot_count;

    const struct obm_geometry *g;
    struct obm_arena_source source;
    struct obm_raw_allocator raw;
};

/* --- Shared inline helpers ---------------------------------------------- */

static inline struct obm_pool *
pool_of(const obm_heap *h, const void *p)
{
    return (struct obm_pool *)((uintptr_t)p & h->pool_mask);
}

static inline struct obm_pool *
ring_sentinel(obm_heap *h, unsigned szidx)
{
    return (struct obm_pool *)((uint8_t *)&h->usedpools[2 * szidx]
                               - 2 * sizeof(struct obm_pool *));
}

/* Return the leaf entry covering address p, or NULL if no node exists. */
static inline struct obm_arena_coverage *
radix_leaf(const obm_heap *h, uintptr_t p)
{
    void **mid = h->radix_root[(p >> h->radix_top_shift) & h->radix_top_mask];
    if (mid == NULL)
        return NULL;
    struct obm_arena_coverage *bot =
        mid[(p >> h->radix_mid_shift) & h->radix_mid_mask];
    if (bot == NULL)
        return NULL;
    return &bot[(p >> h->arena_bits) & h->radix_bot_mask];
}

/* The radix query (facts §3.8): p is in an arena that starts in its own
 * ARENA_SIZE region at or below p, or in one that started in the previous
 * region and ends above p. */
static inline bool
radix_owns(const obm_heap *h, uintptr_t p)
{
    const struct obm_arena_coverage *c = radix_leaf(h, p);
    if (c == NULL)
        return false;
    int32_t tail = (int32_t)(p & (h->arena_size - 1));
    return tail < c->tail_lo || (c->tail_hi != 0 && tail >= c->tail_hi);
}

/* The radix query with the default profile's geometry as constants. */
static inline bool
radix_owns_py311(const obm_heap *h, uintptr_t p)
{
    void **mid = h->radix_root[p >> (64 - PY311_TOP_BITS)];
    if (mid == NULL)
        return false;
    struct obm_arena_coverage *bot =
        mid[(p >> (PY311_ARENA_BITS + PY311_BOT_BITS))
            & ((1u << PY311_MID_BITS) - 1)];
    if (bot == NULL)
        return false;
    const struct obm_arena_coverage *c =
        &bot[(p >> PY311_ARENA_BITS) & ((1u << PY311_BOT_BITS) - 1)];
    int32_t tail = (int32_t)(p & ((1u << PY311_ARENA_BITS) - 1));
    return tail < c->tail_lo || (c->tail_hi != 0 && tail >= c->tail_hi);
}

/* The legacy test reads a pool header that may not be ours, as CPython
 * does; the read is deliberate, so sanitizers are told to look away. */
bool obm_legacy_owns(const obm_heap *h, const void *p);

static inline bool
heap_owns(const obm_heap *h, const void *p)
{
    if (OBM_LIKELY(h->fastpath == OBM_FAST_RADIX_PY311))
        return radix_owns_py311(h, (uintptr_t)p);
    if (h->fastpath == OBM_FAST_RADIX)
        return radix_owns(h, (uintptr_t)p);
    return obm_legacy_owns(h, p);
}

/* --- Pool transitions on the fast paths ----------------------------------
 * Inline because in steady state they are the common case: a free lands in
 * a full pool, and the malloc after it fills that pool again. */

/* The freeblock chain of a used pool ran dry as bp was handed out: carve
 * one virgin block, or, if none is left, the pool is full and leaves its
 * ring.  Return bp, so the caller can tail-call this. */
static inline void *
pool_extend(obm_heap *h, struct obm_pool *pool, unsigned szidx, void *bp)
{
    if (OBM_LIKELY(pool->nextoffset <= pool->maxnextoffset)) {
        pool->freeblock = (uint8_t *)pool + pool->nextoffset;
        pool->nextoffset += (szidx + 1) << h->alignment_shift;
        *(uint8_t **)pool->freeblock = NULL;
        return bp;
    }
    struct obm_pool *next = pool->nextpool, *prev = pool->prevpool;
    next->prevpool = prev;
    prev->nextpool = next;
    return bp;
}

/* A full pool got a block back: put it at the front of its ring, so the
 * next malloc of its class reuses that block (U4). */
static inline void
pool_unfull(obm_heap *h, struct obm_pool *pool)
{
    struct obm_pool *sentinel = ring_sentinel(h, pool->szidx);
    struct obm_pool *next = sentinel->nextpool;
    if (OBM_PLANTED(OBM_PLANT_FULL_POOL_AT_BACK))
        next = sentinel;
    struct obm_pool *prev = next->prevpool;
    pool->nextpool = next;
    pool->prevpool = prev;
    next->prevpool = pool;
    prev->nextpool = pool;
}

/* --- Cross-file internals ----------------------------------------------- */

/* obm_pool.c */
void *obm_alloc_from_new_pool(obm_heap *h, unsigned szidx);
void obm_pool_empty(obm_heap *h, struct obm_pool *pool);

/* obm_arena.c */
bool obm_grow_arena_vector(obm_heap *h);
struct obm_arena *obm_new_arena(obm_heap *h);
void obm_arena_gained_pool(obm_heap *h, struct obm_arena *ao);
void obm_release_all_arenas(obm_heap *h);

/* obm_radix.c */
bool obm_radix_mark(obm_heap *h, uintptr_t base, bool used);
void obm_radix_free(obm_heap *h);

/* obm_alloc.c */
void *obm_raw_malloc(obm_heap *h, size_t n);

/* obm_planted.c: behavioural bugs for test-only builds (OBM_PLANT 10-14) */
void *obm_planted_take_block(obm_heap *h, struct obm_pool *pool,
                             unsigned szidx);
bool obm_planted_grow_early(obm_heap *h);
void *obm_planted_adopt(obm_heap *h, void *p, size_t n);

#endif /* OBM_INTERNAL_H */
