/* bench.h — obm_bench: the workload, and the one replay loop every allocator
 * runs.
 *
 * The workload is data generated before any timing (see obm_bench.c): a
 * warm-up list of sizes that fills the live set, then a steady phase of
 * packed ops, each "free the block in slot s, then allocate n bytes into
 * slot s".  BENCH_DEFINE_REPLAY instantiates the same loop once per
 * allocator, in that allocator's own translation unit, so every malloc and
 * free in the loop is a direct call to the allocator's public function;
 * nothing of ours sits between the loop and the allocator.
 *
 * Who may include this: the bench/ translation units only.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A steady-phase op packs the slot above the size: n = (op & SIZE_MASK) + 1,
 * slot = op >> SIZE_BITS.  Sizes are 1..512, so 23 bits remain for slots. */
#define BENCH_SIZE_BITS 9u
#define BENCH_SIZE_MASK ((1u << BENCH_SIZE_BITS) - 1u)
#define BENCH_MAX_SIZE (1u << BENCH_SIZE_BITS)
#define BENCH_MAX_LIVE (1u << (32u - BENCH_SIZE_BITS))

struct bench_workload {
    size_t live;          /* blocks live throughout the steady phase */
    const uint16_t *fill; /* live sizes, allocated in order before timing */
    size_t nops;          /* steady-phase ops (one free + one malloc each) */
    const uint32_t *ops;  /* packed slot and size, see BENCH_SIZE_BITS */
};

/* One allocator under test.  run replays w into live[0 .. w->live) and
 * returns the nanoseconds of the steady phase alone, or -1 on failure. */
struct bench_allocator {
    const char *name;
    const char *missing;           /* non-NULL: not built in, and why */
    const char *(*describe)(void); /* one line: what exactly runs */
    int (*open)(void);             /* once per process; 0 on success */
    void (*close)(void);
    double (*run)(const struct bench_workload *w, void **live);
};

extern const struct bench_allocator bench_core;
extern const struct bench_allocator bench_pymalloc;
extern const struct bench_allocator bench_glibc;

/* Print "obm_bench: <msg>" to stderr and exit with status 1. */
void bench_die(const char *msg);

/* Return CLOCK_MONOTONIC in nanoseconds. */
static inline double
bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Define static double replay_TAG(HEAP_T h, void **live, w): fill the live
 * set (untimed), time the steady phase, free every live block (untimed).
 * MALLOC(h, n) and FREE(h, p) are the allocator's own calls.  Every new
 * block gets one word written, the same for every allocator, so none is
 * measured on memory it never had to hand out.  steady_TAG is kept out of
 * line so that callgrind can count it alone (--toggle-collect=steady_TAG*). */
#define BENCH_DEFINE_REPLAY(TAG, HEAP_T, MALLOC, FREE)                        \
    static void fill_##TAG(HEAP_T h, void **live,                             \
                           const struct bench_workload *w)                    \
    {                                                                         \
        for (size_t i = 0; i < w->live; i++) {                                \
            void *p = MALLOC(h, (size_t)w->fill[i]);                          \
            if (p == NULL)                                                    \
                bench_die(#TAG ": out of memory in the warm-up");             \
            *(volatile uintptr_t *)p = (uintptr_t)i;                          \
            live[i] = p;                                                      \
        }                                                                     \
    }                                                                         \
                                                                              \
    __attribute__((noinline)) static void steady_##TAG(                       \
        HEAP_T h, void **live, const uint32_t *ops, size_t nops)              \
    {                                                                         \
        for (size_t i = 0; i < nops; i++) {                                   \
            uint32_t op = ops[i];                                             \
            size_t slot = op >> BENCH_SIZE_BITS;                              \
            FREE(h, live[slot]);                                              \
            void *p = MALLOC(h, (size_t)(op & BENCH_SIZE_MASK) + 1u);         \
            if (p == NULL)                                                    \
                bench_die(#TAG ": out of memory in the steady phase");        \
            *(volatile uintptr_t *)p = (uintptr_t)i;                          \
            live[slot] = p;                                                   \
        }                                                                     \
    }                                                                         \
                                                                              \
    static double replay_##TAG(HEAP_T h, void **live,                         \
                               const struct bench_workload *w)                \
    {                                                                         \
        fill_##TAG(h, live, w);                                               \
        double t0 = bench_now_ns();                                           \
        steady_##TAG(h, live, w->ops, w->nops);                               \
        double t1 = bench_now_ns();                                           \
        for (size_t i = 0; i < w->live; i++)                                  \
            FREE(h, live[i]);                                                 \
        return t1 - t0;                                                       \
    }

#endif /* BENCH_H */
