/* cpython.h — what the obcheck-cpython program's files share: the hooks
 * around a live CPython 3.11's MEM, OBJ and arena allocators, and the
 * walk of its own obmalloc state.
 *
 * The hooks are the one place in the project with global state: CPython
 * calls them without a context we choose, so their context is one struct
 * in cpython_hooks.c.  Included only by the obcheck-cpython program.
 */
#ifndef CPYTHON_H
#define CPYTHON_H

#include "hx.h"

/* What the hooks do with each operation. */
struct hx_cpy_options {
    struct hx_trace *record;  /* append each op here, or NULL */
    struct hx_mirror *mirror; /* step each recorded op through it */
    bool keep_going;          /* mirror: go on after a divergence */
    unsigned long walk_every; /* walk CPython's heap every N ops; 0 no */
    /* the walk; live: every pool block CPython handed out through the
     * hooks and has not taken back, sorted by address (NULL: unknown) */
    size_t (*walk)(void *ctx, unsigned long opno, const void *const *live,
                   size_t nlive);
    void *walk_ctx;
};

/* What the hooks saw besides the ops they recorded. */
struct hx_cpy_counts {
    unsigned long ops;        /* MEM and OBJ calls hooked */
    unsigned long unknown;    /* free/realloc of a pointer never seen */
    unsigned long unrecorded; /* ops over HX_MAX_SIZE, left out */
    unsigned long reused;     /* a pointer handed out while still live */
    unsigned long arenas_new, arenas_free;
};

/* Install the hooks on the MEM and OBJ domains and the arena allocator,
 * wrapping the current ones; call before Py_Initialize. */
void hx_cpy_install(const struct hx_cpy_options *o);

/* Stop recording, mirroring and walking (the hooks keep forwarding);
 * return whether CPython still has our hooks installed. */
bool hx_cpy_stop(void);

/* Copy out the counts. */
void hx_cpy_counts(struct hx_cpy_counts *c);

/* Walk now, as the hooks do every walk_every ops (with the live set). */
size_t hx_cpy_walk_now(void);

/* A map from addresses to 64-bit values (open addressing, linear
 * probing, deletion by backward shift); keys must not be 0. */
struct hx_ptrmap {
    uintptr_t *keys;
    uint64_t *vals;
    size_t mask, n;
};
int hx_ptrmap_put(struct hx_ptrmap *m, uintptr_t key, uint64_t val);
bool hx_ptrmap_get(const struct hx_ptrmap *m, uintptr_t key, uint64_t *val);
bool hx_ptrmap_del(struct hx_ptrmap *m, uintptr_t key, uint64_t *val);
void hx_ptrmap_free(struct hx_ptrmap *m);

/* A walk of CPython's own obmalloc state with the checker. */
struct hx_cpy_walk {
    struct obm_state st; /* pointers to CPython's statics */
    struct inv_scratch scratch;
    struct inv_report rep;
    unsigned long checks, violations;
    size_t last_live; /* live pool blocks given to the last check */
};

/* Find obmalloc's statics in the executable's symbol table and fill w;
 * return 0, or -1 with the reason in err. */
int hx_cpy_walk_init(struct hx_cpy_walk *w, char *err, size_t errlen);

/* Run INV_FULL on CPython's heap (ctx: the walk) with its live pool
 * blocks, sorted (C5, P8-P10; NULL skips them); return the violations
 * found, printing the first failing check's. */
size_t hx_cpy_walk_check(void *ctx, unsigned long opno,
                         const void *const *live, size_t nlive);

/* Free the walk's scratch memory. */
void hx_cpy_walk_free(struct hx_cpy_walk *w);

#endif /* CPYTHON_H */
