/* obm.h — the reference obmalloc core: public API.
 *
 * A clean-room implementation of CPython's small-object allocator ("obmalloc",
 * "pymalloc"), selectable per CPython generation.  Heaps are values: every
 * piece of allocator state lives in one obm_heap, and several heaps coexist
 * in one process.  A heap is not thread-safe; like CPython's allocator under
 * the GIL, its caller serialises every call on it.
 *
 * Error convention (CPython's): the allocator returns NULL for what it cannot
 * serve; it never prints, aborts or sets errno on those paths.
 *
 * The layout structs below (pool header, arena record, radix-tree leaf entry)
 * are part of the contract: on LP64 they have CPython's field order, widths
 * and offsets, so code that reads our heap can read a live CPython heap too.
 * The design essay is at the top of obm_internal.h; the facts it follows are
 * ../shared/reference/obmalloc-facts.md.
 *
 * Who may include this: anyone.  It includes only standard headers.
 */
#ifndef OBM_H
#define OBM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct obm_heap obm_heap;

/* --- Profiles: one per CPython generation ------------------------------- */

enum obm_profile {
    OBM_PY27,  /* 2.7 up to 2.7.16 */
    OBM_PY35,  /* 3.3 - 3.7.3 */
    OBM_PY38,  /* 3.7.4+ alignment, 3.8 nfp2lasta */
    OBM_PY39,  /* 3.9: the wholly free tail arena is kept */
    OBM_PY310, /* 3.10: radix tree over 48 address bits, 16 KiB pools */
    OBM_PY311, /* 3.11 - 3.13 GIL build: radix tree over 64 bits */
    OBM_NPROFILES
};
#define OBM_PROFILE_DEFAULT OBM_PY311

enum obm_sort {
    OBM_SORT_LINEAR,   /* <= 3.7: walk right to re-sort usable_arenas */
    OBM_SORT_NFP2LASTA /* 3.8+: O(1) search fingers */
};

enum obm_ownership {
    OBM_OWN_LEGACY, /* read arenaindex from the pool header at POOL_ADDR(p) */
    OBM_OWN_RADIX   /* query the arena map; never reads memory near p */
};

/* Everything a profile fixes.  Values are for LP64 (the only target). */
struct obm_geometry {
    enum obm_profile profile;
    const char *name;     /* "py311" */
    const char *versions; /* "3.11-3.13" */
    unsigned alignment;   /* ALIGNMENT */
    unsigned alignment_shift;
    unsigned threshold;     /* SMALL_REQUEST_THRESHOLD */
    unsigned nclasses;      /* NB_SMALL_SIZE_CLASSES */
    unsigned usedpools_len; /* pointers in the usedpools table */
    unsigned pool_size;
    unsigned pool_bits;
    unsigned pool_overhead; /* sizeof pool header rounded to ALIGNMENT */
    size_t arena_size;
    unsigned arena_bits;
    unsigned max_pools_in_arena;
    enum obm_sort sort;
    bool keep_tail_arena; /* 3.9+ (bpo-37257) */
    enum obm_ownership ownership;
    /* Radix tree geometry (OBM_OWN_RADIX only): address bits ignored at the
     * top, then the bits indexing the top, mid and bottom (leaf) nodes. */
    unsigned radix_ignore_bits;
    unsigned radix_top_bits, radix_mid_bits, radix_bot_bits;
    bool has_calloc; /* 3.5+; earlier profiles emulate it */
    /* 2.7: a raw realloc(p, 0) returns p when realloc(p, 1) fails */
    bool raw_realloc_keeps;
};

/* Return the geometry of a profile, or NULL for an out-of-range value. */
const struct obm_geometry *obm_geometry(enum obm_profile profile);

/* Parse a profile name ("py27" ... "py311"); return 0, or -1 if unknown. */
int obm_profile_parse(const char *name, enum obm_profile *out);

/* Return the block size of size class szidx: (szidx + 1) * ALIGNMENT. */
static inline unsigned
obm_blocksize(const struct obm_geometry *g, unsigned szidx)
{
    return (szidx + 1u) << g->alignment_shift;
}

/* Return NUMBLOCKS(szidx): how many blocks of that class fit in one pool. */
static inline unsigned
obm_numblocks(const struct obm_geometry *g, unsigned szidx)
{
    return (g->pool_size - g->pool_overhead) / obm_blocksize(g, szidx);
}

/* --- The layout contract (CPython's, LP64) ------------------------------ */

/* szidx of a pool carved but not yet set up for a class */
#define OBM_DUMMY_SIZE_IDX 0xffffu
#define OBM_MAX_POOLS_IN_ARENA 64u
#define OBM_MAX_USEDPOOLS 128u

/* The pool header at the start of every carved pool (48 bytes). */
struct obm_pool {
    union {
        uint8_t *padding; /* gives count a pointer-wide slot */
        unsigned count;   /* blocks handed out */
    } ref;
    uint8_t *freeblock;        /* head of the freeblock chain */
    struct obm_pool *nextpool; /* ring of class szidx, or arena freepools */
    struct obm_pool *prevpool; /* ring of class szidx (used state only) */
    unsigned arenaindex;       /* index of the owning arena record */
    unsigned szidx;            /* size class index */
    unsigned nextoffset;       /* offset of the first virgin block */
    unsigned maxnextoffset;    /* largest offset where a block still fits */
};

/* An arena record in the arenas vector (48 bytes). */
struct obm_arena {
    uintptr_t address;          /* base from the arena source; 0 = unused */
    uint8_t *pool_address;      /* next pool to carve (bump pointer) */
    unsigned nfreepools;        /* empty pools + never-carved pools */
    unsigned ntotalpools;       /* 64, or 63 if address is not pool-aligned */
    struct obm_pool *freepools; /* empty pools, LIFO through nextpool */
    struct obm_arena *nextarena;
    struct obm_arena *prevarena;
};

/* One leaf entry of the radix tree ("arena coverage", 8 bytes). */
struct obm_arena_coverage {
    int32_t tail_hi; /* -1: an arena starts at the region; t: starts at t */
    int32_t tail_lo; /* t: an arena from the previous region ends at t */
};

/* --- Sources: where arenas and raw blocks come from --------------------- */

/* The arena source seam, shaped like CPython's PyObjectArenaAllocator. */
struct obm_arena_source {
    void *ctx;
    void *(*alloc)(void *ctx, size_t size); /* NULL on failure */
    void (*free)(void *ctx, void *ptr, size_t size);
};

/* The raw allocator (CPython's RAW domain) that serves what the arenas do
 * not: sizes 0 and above the threshold, and everything once an arena cannot
 * be had.  Also used for the arenas vector and radix-tree nodes. */
struct obm_raw_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
};

/* Return the default arena source: anonymous mmap of each arena, as CPython
 * does on Linux. */
struct obm_arena_source obm_source_mmap(void);

/* Return the default raw allocator: libc malloc/calloc/realloc/free. */
struct obm_raw_allocator obm_raw_libc(void);

/* A deterministic region: one reserved range of address space, from which
 * arenas are served lowest free slot first, so the same operations give the
 * same addresses on every run.  Each arena starts offset bytes past an
 * align-aligned slot boundary, so offset picks the arena start's residue
 * modulo POOL_SIZE or ARENA_SIZE.  Released arenas become inaccessible. */
struct obm_region_config {
    uintptr_t base;  /* preferred address; 0 = the built-in default */
    size_t capacity; /* bytes of address space; 0 = 16 GiB */
    size_t align;    /* slot alignment, power of two >= page; 0 = 1 MiB */
    size_t offset;   /* arena start mod align (page multiple, < align) */
    /* Released arenas stay mapped, with whatever they hold, and serve the
     * next request of their slot without a new mapping or a page fault per
     * page: for callers that run many short heaps and scrub what they
     * dirtied themselves (the fuzz targets). */
    bool keep_pages;
};
struct obm_region;

/* Reserve a region; return NULL (and set errno) if it cannot be mapped. */
struct obm_region *obm_region_new(const struct obm_region_config *cfg);

/* Release a region and everything in it; arenas still out become invalid. */
void obm_region_free(struct obm_region *r);

/* Return an arena source served by region r. */
struct obm_arena_source obm_region_source(struct obm_region *r);

/* Set the start offset (mod align) of the next arenas served by r; return
 * 0, or -1 if offset is not a page multiple below align. */
int obm_region_set_offset(struct obm_region *r, size_t offset);

/* Return the region's actual base address (equal to the requested one when
 * the address space there was free, which makes runs reproducible). */
uintptr_t obm_region_base(const struct obm_region *r);

/* Return how many arenas r currently has out. */
size_t obm_region_live(const struct obm_region *r);

/* An mmap source that forces every arena to start at offset (mod align),
 * reproducing the pool misalignment real mmap gives (63- vs 64-pool
 * arenas).  The struct is the source's context: keep it alive. */
struct obm_offset_mmap {
    size_t align; /* power of two >= page size, e.g. the profile's POOL_SIZE */
    size_t offset; /* page multiple below align */
};
struct obm_arena_source obm_source_offset_mmap(struct obm_offset_mmap *om);

/* Fault injection around another arena source: request number fail_at
 * (1-based; 0 = never) fails, and with persistent set every later request
 * fails too.  The struct is the source's context: keep it alive. */
struct obm_faulty_source {
    struct obm_arena_source inner;
    unsigned long fail_at;
    bool persistent;
    unsigned long nrequests; /* requests seen */
    unsigned long nfailed;   /* requests failed by injection */
    unsigned long nreleased; /* arenas handed back */
};
struct obm_arena_source obm_source_faulty(struct obm_faulty_source *f);

/* --- Heaps -------------------------------------------------------------- */

struct obm_heap_config {
    enum obm_profile profile;
    const struct obm_arena_source *arenas; /* NULL = obm_source_mmap() */
    const struct obm_raw_allocator *raw;   /* NULL = obm_raw_libc() */
};

/* Create an empty heap of a profile drawing arenas from src (NULL = mmap);
 * return NULL if out of memory or the profile is invalid. */
obm_heap *obm_heap_new(enum obm_profile profile,
                       const struct obm_arena_source *src);

/* Create a heap with a raw allocator of its own as well. */
obm_heap *obm_heap_new_ex(const struct obm_heap_config *cfg);

/* Release every arena, the arenas vector, the radix nodes and the heap.
 * Raw-fallback blocks still live are the caller's to free. */
void obm_heap_free(obm_heap *h);

/* Return the geometry of the heap's profile. */
const struct obm_geometry *obm_heap_geometry(const obm_heap *h);

/* Return the OBM_DEBUG level the core was built with (0 none, 1 slow
 * paths, 2 every mutation, 3 whole-heap walks): from 2 on, misuse such as
 * a double free that empties a pool trips a self-check and aborts. */
int obm_debug_level(void);

/* --- Allocation (CPython's _PyObject_Malloc family plus public wrappers) ---
 */

/* Return a block of at least n bytes: from a pool if 1 <= n <= threshold
 * and an arena can be had, else from the raw allocator (0 becomes 1).
 * NULL if n > PTRDIFF_MAX or the raw allocator fails. */
void *obm_malloc(obm_heap *h, size_t n);

/* Return a zeroed block of nelem * elsize bytes; NULL on overflow. */
void *obm_calloc(obm_heap *h, size_t nelem, size_t elsize);

/* Resize p to n bytes with obmalloc's rules: in place while n fits the
 * block's class and shrinks it by less than a quarter, else move. */
void *obm_realloc(obm_heap *h, void *p, size_t n);

/* Free p (NULL is a no-op): into its pool if the heap owns it, else to the
 * raw allocator. */
void obm_free(obm_heap *h, void *p);

/* Return whether p lies in one of the heap's arenas, by the profile's own
 * ownership test (legacy: p must be a block this heap or the raw allocator
 * handed out, as in CPython; radix: any address). */
bool obm_owns(const obm_heap *h, const void *p);

/* Return the usable size of block p: its class's block size if the heap owns
 * it, else 0 (the raw allocator's size is not known). */
size_t obm_usable_size(const obm_heap *h, const void *p);

/* --- Introspection: read-only access for the invariant checker ---------- */

/* Pointers to the live state, laid out as CPython keeps it.  The pointers
 * stay valid for the heap's lifetime; what they point to changes with every
 * operation.  Fields CPython lacks in a generation are NULL there
 * (nfp2lasta before 3.8, the radix root before 3.10). */
struct obm_state {
    const struct obm_geometry *geometry;
    struct obm_pool *const *usedpools; /* usedpools_len pointers */
    struct obm_arena *const *arenas;   /* the vector (may move) */
    const unsigned *maxarenas;
    struct obm_arena *const *unused_arena_objects;
    struct obm_arena *const *usable_arenas;
    struct obm_arena *const *nfp2lasta; /* max_pools_in_arena + 1 */
    const size_t *narenas_currently_allocated;
    const size_t *ntimes_arena_allocated;
    const size_t *narenas_highwater;
    const ptrdiff_t *raw_allocated_blocks; /* live raw-fallback blocks */
    void *const *radix_root;               /* 2^top_bits node pointers */
    const int *arena_map_mid_count;
    const int *arena_map_bot_count;
};

/* Fill *out with pointers into h's state. */
void obm_heap_state(const obm_heap *h, struct obm_state *out);

/* Return the sentinel "pool" of ring szidx: the fake header whose nextpool
 * and prevpool are usedpools[2*szidx] and usedpools[2*szidx + 1]. */
const struct obm_pool *obm_ring_sentinel(const struct obm_state *s,
                                         unsigned szidx);

/* Return sys.getallocatedblocks(): raw-fallback blocks plus the sum of
 * every carved pool's count (3.9+ style; equal to the 3.4-3.8 counter). */
size_t obm_allocated_blocks(const obm_heap *h);

/* Print CPython's sys._debugmallocstats() pymalloc report for h. */
void obm_print_stats(const obm_heap *h, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* OBM_H */
