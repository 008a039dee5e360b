/* gen.h — what the trace generators (harness/gen*.c) share.
 *
 * A generator run is a struct hx_gen: the trace being written, the
 * geometry it aims at, a splitmix64 stream seeded from (seed, kind) and
 * the set of live slots, so any generator can pick a live block at random
 * and end with every block freed.  Every block gets a fresh slot.
 *
 * A batch is the generators' one piece of allocator knowledge: blocks of
 * one size class allocated back to back while that class's usedpools ring
 * is empty fill pools in order, NUMBLOCKS at a time, so "pool k" of a
 * batch is exact.  Which arena a pool lands in is not: an arena holds 64
 * pools, or 63 when its start is not pool-aligned.
 */
#ifndef HX_GEN_H
#define HX_GEN_H

#include "hx.h"

struct hx_gen {
    struct hx_trace *t;
    const struct obm_geometry *g;
    uint64_t seed;
    unsigned long ops; /* the budget: o->ops, or the kind's default */
    uint64_t rng;      /* splitmix64 state */
    int err;           /* -1 once out of memory; then nothing is pushed */
    uint32_t *live;    /* live slots, unordered */
    size_t nlive, livecap;
    uint32_t *pos;  /* slot -> index in live, or HX_NO_SLOT */
    uint32_t *size; /* slot -> requested size (0 for an overflowing calloc) */
    size_t slotcap;
};

/* Pools' worth of blocks of one class; pool k holds slots[k*nb ...]. */
struct hx_gen_batch {
    unsigned szidx;
    unsigned nb; /* NUMBLOCKS(szidx) */
    size_t npools;
    uint32_t *slots; /* npools * nb */
};

/* Start a run of kind on t (initialised by the caller) with def_ops as
 * the default budget; return 0, or -1 for an unknown profile. */
int hx_gen_begin(struct hx_gen *g, struct hx_trace *t,
                 const struct hx_gen_options *o, const char *kind,
                 unsigned long def_ops);

/* Free every block still live (in random order, after a note), release
 * g's memory and return 0, or -1 if anything ran out of memory. */
int hx_gen_end(struct hx_gen *g);

/* Add a whole-line note before the next operation. */
void hx_gen_note(struct hx_gen *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Return whether the budget still has room. */
bool hx_gen_more(const struct hx_gen *g);

/* Return the next number of the stream; one below n (n > 0); one in
 * lo..hi inclusive. */
uint64_t hx_gen_rand(struct hx_gen *g);
uint64_t hx_gen_below(struct hx_gen *g, uint64_t n);
uint64_t hx_gen_range(struct hx_gen *g, uint64_t lo, uint64_t hi);

/* Shuffle n slots or indices in place. */
void hx_gen_shuffle(struct hx_gen *g, uint32_t *v, size_t n);

/* Return the smallest / largest request served by class szidx, or a
 * random one in between. */
unsigned hx_gen_lo(const struct hx_gen *g, unsigned szidx);
unsigned hx_gen_hi(const struct hx_gen *g, unsigned szidx);
unsigned hx_gen_in_class(struct hx_gen *g, unsigned szidx);

/* Append an allocation on a fresh slot and return the slot. */
uint32_t hx_gen_malloc(struct hx_gen *g, uint64_t size);
uint32_t hx_gen_calloc(struct hx_gen *g, uint64_t nelem, uint64_t elsize);

/* Append a realloc / free of live slot s. */
void hx_gen_realloc(struct hx_gen *g, uint32_t s, uint64_t size);
void hx_gen_free(struct hx_gen *g, uint32_t s);

/* Return whether slot s is live. */
bool hx_gen_live(const struct hx_gen *g, uint32_t s);

/* Return a live slot at random (HX_NO_SLOT if none); free one. */
uint32_t hx_gen_pick(struct hx_gen *g);
void hx_gen_free_random(struct hx_gen *g);

/* Append a fault operation (HX_FAULT_ARENAS or HX_FAULT_RAW). */
void hx_gen_fault(struct hx_gen *g, enum hx_kind kind, unsigned flags,
                  uint64_t n);

/* Allocate npools pools' worth of class szidx (sizes at random within the
 * class) into b; the class's ring must be empty. */
void hx_gen_batch_fill(struct hx_gen *g, struct hx_gen_batch *b,
                       unsigned szidx, size_t npools);

/* Free the live blocks of pool k of b, last first if reverse. */
void hx_gen_batch_free_pool(struct hx_gen *g, const struct hx_gen_batch *b,
                            size_t k, bool reverse);

/* Free b's live blocks pool by pool, pools in random order. */
void hx_gen_batch_free_shuffled(struct hx_gen *g,
                                const struct hx_gen_batch *b);

/* Release b's memory (not its blocks). */
void hx_gen_batch_done(struct hx_gen_batch *b);

/* The generators, one per kind (gen_heap.c, gen_arena.c, gen_mix.c). */
int hx_gen_size_classes(struct hx_trace *t, const struct hx_gen_options *o);
int hx_gen_pool_churn(struct hx_trace *t, const struct hx_gen_options *o);
int hx_gen_realloc_chains(struct hx_trace *t, const struct hx_gen_options *o);
int hx_gen_threshold(struct hx_trace *t, const struct hx_gen_options *o);
int hx_gen_arena_reuse(struct hx_trace *t, const struct hx_gen_options *o);
int hx_gen_tail_arena(struct hx_trace *t, const struct hx_gen_options *o);
int hx_gen_sort_order(struct hx_trace *t, const struct hx_gen_options *o);
int hx_gen_calloc_heavy(struct hx_trace *t, const struct hx_gen_options *o);
int hx_gen_large_heap(struct hx_trace *t, const struct hx_gen_options *o);
int hx_gen_python_mix(struct hx_trace *t, const struct hx_gen_options *o);
int hx_gen_faults(struct hx_trace *t, const struct hx_gen_options *o);
int hx_gen_random(struct hx_trace *t, const struct hx_gen_options *o);

#endif /* HX_GEN_H */
