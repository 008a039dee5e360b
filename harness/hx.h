/* hx.h — traces, the shadow model and the runner: public API.
 *
 * A trace is a program of allocator operations on named blocks.  It lives
 * in memory as an array of fixed-size operations whose blocks are *slots*:
 * dense indices 0..nslots-1 that the loader assigns, so the runner keeps
 * per-block state in flat arrays.  Each slot remembers the label the user
 * wrote (a number or a name), and whole-line or trailing comments are kept
 * beside the operations, so text -> binary -> text loses nothing.
 *
 * The runner replays a trace through the reference core, keeps a shadow of
 * every live block (pointer, requested size, a byte pattern derived from
 * its id), and runs the invariant checker at the chosen points.  Findings
 * are inv_violation records: the catalogue's IDs plus the shadow model's K
 * family (harness/TRACES.md, `obcheck invariants`).
 *
 * Who may include this: fuzz/ and the obcheck command line.
 */
#ifndef HX_H
#define HX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "inv.h"
#include "obm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- Traces ---------------------------------------------------------------
 */

/* Largest size one operation may ask for (a bigger one is an input error):
 * the shadow model writes every byte it hands out.  Sizes above
 * PTRDIFF_MAX are allowed too: every allocator must refuse them (K11). */
#define HX_MAX_SIZE ((uint64_t)1 << 30)
#define HX_HUGE ((uint64_t)PTRDIFF_MAX + 1) /* the least refused size */
#define HX_MAX_EXPECT 8 /* IDs on one trace's `expect` line */
#define HX_NO_SLOT UINT32_MAX
#define HX_WAF_DEFAULT_LEN                                                    \
    8 /* bytes a write-after-free changes by default                          \
       */

enum hx_kind {
    HX_MALLOC,           /* slot; a = size */
    HX_CALLOC,           /* slot; a = nelem, b = elsize */
    HX_REALLOC,          /* slot (live); a = new size */
    HX_FREE,             /* slot (live) */
    HX_FAULT_ARENAS,     /* a = N: the next N arena requests fail;
                          * HX_F_ALWAYS: all fail; HX_F_OFF: stop failing */
    HX_FAULT_RAW,        /* the same for raw-allocator calls */
    HX_CHECK,            /* a full check here */
    HX_DOUBLE_FREE,      /* misuse: free slot (freed) again */
    HX_WRITE_AFTER_FREE, /* misuse: slot (freed); a = offset, b = length */
    HX_OVERFLOW,         /* misuse: slot (live); a = bytes written past
                          * its requested size */
    HX_ARENA_NEW,        /* recorded: the allocator got an arena; a = its
                          * id (1, 2, ... in request order), b = its start
                          * address mod POOL_SIZE */
    HX_ARENA_FREE,       /* recorded: arena a was handed back */
    HX_NKINDS
};

#define HX_F_ALWAYS 1u /* fault: every request fails until `off` */
#define HX_F_OFF 2u    /* fault: requests succeed again */
#define HX_F_BATCH                                                            \
    4u /* malloc, free: inside a fuzz input's group op, so a                  \
        * FULL check waits for the op that ends it (LOCAL                     \
        * here); kept in memory only, never written */
#define HX_F_OBJ                                                              \
    8u /* malloc, calloc, realloc, free: a recorded op of CPython's OBJ       \
        * domain (else MEM); the runner ignores it */

struct hx_op {
    uint8_t kind;  /* enum hx_kind */
    uint8_t flags; /* HX_F_* */
    uint16_t pad;
    uint32_t slot; /* the block, or HX_NO_SLOT */
    uint64_t a, b;
};

/* Return the text format's verb for kind ("fault arenas" for faults), or
 * "?" if kind is out of range. */
const char *hx_kind_name(unsigned kind);

/* What the user called a block: a number, or a name when name != NULL. */
struct hx_label {
    uint64_t num;
    char *name;
};

/* A comment: before operation `at` (whole line), or trailing it. */
struct hx_note {
    size_t at;
    bool trailing;
    char *text; /* without the '#', leading blank kept */
};

struct hx_trace {
    char *source; /* file name, or "gen:KIND" */
    struct hx_op *ops;
    size_t nops, opcap;
    uint32_t *lines; /* source line of each op (text traces), or NULL */
    struct hx_label *labels;
    uint32_t nslots, slotcap;
    struct hx_note *notes;
    size_t nnotes, notecap;
    /* Where a recording saw each op's block land (hx_place_*), or NULL
     * when no op carries one: parallel to ops, 0 = nothing recorded. */
    uint64_t *place;
    /* `expect ID...`: the first violation must carry one of these IDs */
    char expect[HX_MAX_EXPECT][8];
    unsigned nexpect;
    void *index; /* label -> slot lookup, private */
};

/* Start an empty trace; source is copied (NULL = "-"). */
void hx_trace_init(struct hx_trace *t, const char *source);

/* Release everything t owns (t may be reused after hx_trace_init). */
void hx_trace_free(struct hx_trace *t);

/* Return the slot labelled num (numeric) or name, creating it if new;
 * HX_NO_SLOT if out of memory. */
uint32_t hx_slot_num(struct hx_trace *t, uint64_t num);
uint32_t hx_slot_name(struct hx_trace *t, const char *name);

/* Return a new slot whose numeric label no slot has used yet. */
uint32_t hx_slot_fresh(struct hx_trace *t);

/* Append an operation (line 0 = none); return 0, or -1 if out of memory. */
int hx_push(struct hx_trace *t, enum hx_kind kind, unsigned flags,
            uint32_t slot, uint64_t a, uint64_t b, uint32_t line);

/* A recorded placement, packed in 64 bits: a raw (non-pool) block, or a
 * pool block as (arena ordinal = the pool's arenaindex, pool index within
 * the arena, byte offset within the pool). */
#define HX_PLACE_NONE 0u
#define HX_PLACE_RAW 1u
static inline uint64_t
hx_place_pool(uint64_t arena, unsigned pool, unsigned offset)
{
    return 2u | (uint64_t)(offset & 0xffffu) << 2
           | (uint64_t)(pool & 0xffu) << 18 | arena << 26;
}
static inline bool
hx_place_is_pool(uint64_t p)
{
    return (p & 3u) == 2u;
}
static inline uint64_t
hx_place_arena(uint64_t p)
{
    return p >> 26;
}
static inline unsigned
hx_place_pool_index(uint64_t p)
{
    return (unsigned)(p >> 18) & 0xffu;
}
static inline unsigned
hx_place_offset(uint64_t p)
{
    return (unsigned)(p >> 2) & 0xffffu;
}
#define HX_PLACE_MAX_ARENA ((UINT64_C(1) << 38) - 1)

/* Record where op i's block landed (hx_place_*); return 0, or -1 if out
 * of memory. */
int hx_set_place(struct hx_trace *t, size_t i, uint64_t place);

/* Write place as text: "raw", "3:12:64" (arena:pool:offset) or "-". */
const char *hx_place_str(uint64_t place, char *buf, size_t len);

/* Append a comment before the next operation (or trailing the last). */
int hx_note_add(struct hx_trace *t, bool trailing, const char *text);

/* Write slot's label into buf ("17" or "buf"); return buf. */
const char *hx_label_str(const struct hx_trace *t, uint32_t slot, char *buf,
                         size_t len);

/* Check the block discipline without running anything: malloc/calloc of a
 * dead or new id, realloc/free/overflow of a live one, double-free and
 * write-after-free of a freed one, sizes within HX_MAX_SIZE.  Return 0, or
 * -1 with "source:line: what was expected" (op number when no lines) in
 * err. */
int hx_validate(const struct hx_trace *t, char *err, size_t errlen);

/* Parse/print the text format (harness/TRACES.md).  Readers return 0, or
 * -1 with "file:line: what was expected" in err and t left empty. */
int hx_read_text(struct hx_trace *t, const char *source, const char *text,
                 size_t len, char *err, size_t errlen);
int hx_write_text(const struct hx_trace *t, FILE *out);

/* The binary format: varint records, magic "OBCT". */
int hx_read_binary(struct hx_trace *t, const char *source, const uint8_t *data,
                   size_t len, char *err, size_t errlen);
int hx_write_binary(const struct hx_trace *t, FILE *out);

/* Read the whole file at path ("-" = standard input) into *data
 * (malloc'd) and *len; return 0, or -1 with "path: reason" in err. */
int hx_read_file(const char *path, uint8_t **data, size_t *len, char *err,
                 size_t errlen);

/* Load a file in either format (told apart by the magic) and validate it;
 * "-" is standard input.  Return 0, or -1 with the message in err. */
int hx_load(struct hx_trace *t, const char *path, char *err, size_t errlen);

/* --- Generators -----------------------------------------------------------
 */

struct hx_gen_options {
    unsigned long ops; /* about how many operations; 0 = the kind's own */
    uint64_t seed;
    enum obm_profile profile; /* geometry the generator aims at */
};

struct hx_generator {
    const char *name;    /* "size-classes" */
    const char *summary; /* one line */
    int (*generate)(struct hx_trace *t, const struct hx_gen_options *o);
};

/* Return the generators and store their number in *n. */
const struct hx_generator *hx_generators(size_t *n);

/* Return the generator called name, or NULL. */
const struct hx_generator *hx_generator_find(const char *name);

/* --- Decoding fuzz inputs -------------------------------------------------
 */

#define HX_DECODE_MAX_OPS 4096 /* operations one input may encode */
#define HX_DECODE_SLOTS 64     /* blocks one input names (labels 0..63) */
#define HX_DECODE_GROUPS 8     /* groups of blocks made by fills */
#define HX_DECODE_GROUP_CAP                                                   \
    512 /* blocks a group holds (labels 64 +                                  \
         * 512 g + j) */

/* Decode any bytes into a valid program, appended to t (initialised by
 * the caller): byte 0 picks the profile (stored in *profile), then each
 * operation is an opcode byte, a slot byte and its arguments, missing
 * bytes reading as 0 (harness/TRACES.md, "Fuzz inputs").  Never fails
 * but for memory: return 0, or -1. */
int hx_decode_ops(const uint8_t *data, size_t len, struct hx_trace *t,
                  enum obm_profile *profile);

/* fuzz_checker_robust: a heap-building program (hx_decode_ops) followed by
 * up to HX_POKE_MAX pokes into the built heap's metadata.  The last byte
 * says how many pokes (low 4 bits) and the region offset (bits 4-5); each
 * poke is the HX_POKE_BYTES bytes before it.  Only metadata the checker
 * does not trust by contract (inv.h) is a target. */
#define HX_POKE_MAX 15
#define HX_POKE_BYTES 5

enum hx_poke_target {
    HX_POKE_POOL,      /* a carved pool's header */
    HX_POKE_ARENA,     /* an arena record (not a legacy address) */
    HX_POKE_LINK,      /* a link of a pool's freeblock chain */
    HX_POKE_USEDPOOLS, /* a usedpools entry */
    HX_POKE_NFP2LASTA, /* an nfp2lasta entry (3.8+; else a list head) */
    HX_POKE_HEAD,      /* usable_arenas or unused_arena_objects */
    HX_POKE_COUNTER,   /* a heap counter */
    HX_POKE_LEAF,      /* a radix leaf entry (3.10+; else a counter) */
    HX_POKE_NTARGETS
};

enum hx_poke_op {
    HX_POKE_XOR, /* the byte ^= value (0 flips bit 7) */
    HX_POKE_SET, /* the byte = value */
    HX_POKE_ADD, /* the word += (int8_t)value * step */
    HX_POKE_AIM, /* the word = a plausible pointer: by value mod
                  * HX_POKE_AIMS, NULL, the object itself, pool header
                  * #(value >> 3), an address inside it, arena record
                  * #(value >> 3) or ring sentinel #(value >> 3) */
    HX_POKE_NOPS
};
#define HX_POKE_AIMS 6

struct hx_poke {
    uint8_t target; /* enum hx_poke_target */
    uint8_t op;     /* enum hx_poke_op */
    uint8_t index;  /* which object of the target's kind, modulo */
    uint8_t offset; /* byte within it, modulo; for ADD bits 6-7: step */
    uint8_t value;
};

struct hx_pokes {
    struct hx_poke poke[HX_POKE_MAX];
    unsigned n;
    size_t offset;   /* region offset: where arenas start mod 1 MiB */
    size_t prog_len; /* bytes of the input that are the program */
};

/* Split a fuzz_checker_robust input: fill *out; total, never fails. */
void hx_decode_pokes(const uint8_t *data, size_t len, struct hx_pokes *out);

/* Describe a poke in words, e.g. "pool header #3 byte 17 ^= 0x40". */
void hx_poke_str(const struct hx_poke *pk, char *buf, size_t len);

/* --- The K family: the shadow model's contract checks --------------------
 */

struct hx_k_entry {
    const char *id;
    const char *statement;
};

/* Return the K catalogue and store its length in *n. */
const struct hx_k_entry *hx_k_catalogue(size_t *n);

/* --- Allocators under test -----------------------------------------------
 * The seam between the runner and the allocator it checks.  The reference
 * core is one implementation (ctx is its heap); a library loaded by SPEC
 * is another.  Every call gets ctx first, so a wrapper needs no global.
 */

/* What realloc(p, 0) does, as the allocator declares it (K13). */
enum hx_realloc_zero {
    HX_RZ_ANY,   /* either of the two below */
    HX_RZ_FREES, /* frees p, returns NULL (glibc) */
    HX_RZ_BLOCK  /* returns a block (C23 leaves it to the implementation) */
};

struct hx_allocator {
    char name[64]; /* "glibc", "libfoo.so:foo_" */
    void *ctx;
    void *(*malloc)(void *ctx, size_t n);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *p, size_t n);
    void (*free)(void *ctx, void *p);
    /* Bytes usable at p, or 0 when unknown (and, with view, for a block
     * no pool holds); NULL if the allocator does not say. */
    size_t (*usable_size)(void *ctx, const void *p);
    /* An obmalloc laid out like CPython's: fill *out with pointers into
     * its state (the PREFIXobcheck_view ABI of inv.h); NULL = black box. */
    void (*view)(void *ctx, struct obm_state *out);
    size_t alignment; /* declared minimum (K2) */
    enum hx_realloc_zero realloc_zero;
    bool thread_safe; /* may be called from several threads at once */
    void *priv;       /* the loader's (library handle, symbols) */
};

struct hx_allocator_options {
    const char *init; /* symbol to call once after loading, or NULL */
    size_t alignment; /* 0 = the allocator's default (16) */
    int realloc_zero; /* -1 = the allocator's default, else enum */
    bool thread_safe; /* claim thread safety for a library */
};

/* Open the allocator SPEC names: a built-in (glibc, mimalloc, jemalloc,
 * tcmalloc, pymalloc, reference[:PROFILE]) or LIBRARY[:PREFIX].  Return
 * it, or NULL with the reason in err (missing library or symbol). */
struct hx_allocator *hx_allocator_open(const char *spec,
                                       const struct hx_allocator_options *o,
                                       char *err, size_t errlen);

/* Return the alignment a block of n bytes from a must have: a's declared
 * alignment, or for a smaller block the largest power of two <= n (C17's
 * rule after DR 445: aligned for any object that fits). */
size_t hx_alignment_for(const struct hx_allocator *a, size_t n);

/* Close what hx_allocator_open gave (the library stays mapped: blocks
 * handed out may still be referenced). */
void hx_allocator_close(struct hx_allocator *a);

/* The built-in names, in report-card order, and their number in *n. */
const char *const *hx_allocator_builtins(size_t *n);

struct hx_run_result;

/* The contract probes the battery runs besides workloads (K8, K11-K14):
 * each is one numbered step, so a crash inside one is attributed to it. */
struct hx_probe {
    const char *id;       /* the K ID it checks */
    const char *crash_id; /* the ID of a crash inside it */
    const char *name;
};

/* Return the probes and store their number in *n. */
const struct hx_probe *hx_probes(size_t *n);

/* Run probe k against a; a finding goes to res (first_op = k + 1).
 * Return 0 clean, 1 violation. */
int hx_probe_run(const struct hx_allocator *a, size_t k,
                 struct hx_run_result *res);

/* --- The runner -----------------------------------------------------------
 */

/* When to check (bits; HX_CHECK_EVERY uses every). */
#define HX_CHECK_LOCAL 1u /* INV_LOCAL after each operation */
#define HX_CHECK_FULL 2u  /* INV_FULL after each operation */
#define HX_CHECK_EVERY 4u /* INV_FULL every `every` operations */
#define HX_CHECK_END 8u   /* INV_FULL after the last operation */
#define HX_CHECK_DEFAULT (HX_CHECK_LOCAL | HX_CHECK_EVERY | HX_CHECK_END)
#define HX_EVERY_DEFAULT 4096

/* Parse "full", "local", "every=N", "end", "none" or a comma list of them;
 * return 0, or -1 if malformed. */
int hx_check_parse(const char *spec, unsigned *check, unsigned long *every);

struct hx_run_options {
    enum obm_profile profile;
    unsigned check;      /* HX_CHECK_* bits */
    unsigned long every; /* period of HX_CHECK_EVERY */
    bool behaviour;      /* predict/verify the B family at each check */
    /* Fault plan for fault sweeps: the fail_at-th arena request fails
     * (0 = none), and every later one if persistent. */
    unsigned long fail_at;
    bool persistent;
    bool drain; /* free every block still live after the trace, then
                 * check that no arena is left (K9) */
    /* Check the drain as one batched operation, as a fill is: LOCAL after
     * each free, the end check after the last.  A FULL after every drain
     * free is quadratic in the blocks left, which a fuzzer cannot afford;
     * a replay of the decoded program without it names the exact free. */
    bool drain_batched;
    /* Bytes of live blocks a FULL check verifies against their patterns
     * (K5, K10), taking blocks in turn from where the last one stopped;
     * 0 = every live block.  With a budget, a FULL check also verifies
     * the live neighbours (by address) of up to 16 pool blocks allocated
     * or freed since the last one, where a stray write most likely
     * landed.  The end-of-run check verifies all, and every block is
     * verified when it is freed or reallocated. */
    size_t verify_budget;
    /* Where arenas come from: a region the caller keeps across runs
     * (made with keep_pages, so that a run reuses the pages the last one
     * mapped; the runner scrubs what each arena dirtied as it goes back),
     * or NULL for a region of the run's own.  Every arena must be back by
     * the end of a run for the next one to get the same addresses. */
    struct obm_region *region;
    FILE *stats; /* gets obm_print_stats() after the trace's last
                  * operation, or NULL */
    /* The allocator to replay through; NULL = a fresh reference heap of
     * profile.  A loaded allocator gets no faults and no misuse (both are
     * skipped and counted); it is checked by the K family, and also by
     * the checker when it has a view. */
    const struct hx_allocator *alloc;
    /* If set, the number of the operation about to run is stored here
     * (shared memory, so a parent learns it after the child crashed). */
    volatile unsigned long *last_op;
    /* Called every ~65536 operations with ops done (NULL = none). */
    void (*progress)(void *ctx, unsigned long done, unsigned long total);
    void *progress_ctx;
};

/* Fill o with the defaults (py311, HX_CHECK_DEFAULT, behaviour on). */
void hx_run_options_default(struct hx_run_options *o);

struct hx_run_result {
    unsigned long ops; /* operations executed */
    unsigned long local_checks, full_checks;
    size_t peak_live;                      /* most blocks live at once */
    size_t peak_arenas;                    /* most arenas allocated at once */
    unsigned long pool_blocks, raw_blocks; /* allocations by origin */
    unsigned long nulls;                   /* allocations that returned NULL */
    unsigned long skipped;  /* ops on blocks whose allocation failed */
    unsigned long declined; /* misuse not done: it would fault outside
                             * the heap (raw block, released arena) */
    unsigned long drained;  /* blocks the runner freed after the trace */
    unsigned long arena_faults, raw_faults; /* requests failed on purpose */
    unsigned long planned_faults;           /* of arena_faults, by fail_at */
    size_t leaked_arenas; /* arenas left once every block was freed */
    double seconds;
    /* The first operation that showed a violation, and what it showed. */
    unsigned long first_op;   /* 1-based; 0 = clean */
    uint32_t first_line;      /* its text line, 0 if none */
    char what[96];            /* the operation, e.g. "free 77" */
    struct inv_report report; /* violations found at first_op */
};

/* Replay t through a new heap of o->profile; stop after the first
 * operation that shows a violation.  Return 0 clean, 1 violations, 2 if
 * the run could not start (out of memory, no address space). */
int hx_run(const struct hx_trace *t, const struct hx_run_options *o,
           struct hx_run_result *res);

/* Return seconds on the monotonic clock. */
double hx_now(void);

/* Return whether res's first violation carries one of t's expected IDs
 * (false for a clean run); a trace without `expect` expects a clean run. */
bool hx_as_expected(const struct hx_trace *t, const struct hx_run_result *res);

/* --- Mirroring: our core op by op beside a recording ----------------------
 */

/* A mirror replays a recorded trace's operations, one at a time as they
 * are recorded or read, through a py311 heap whose Nth arena starts at the
 * Nth recorded arena's offset mod POOL_SIZE, and compares each pool
 * block's placement and the arena requests and releases of each op. */
struct hx_mirror;

struct hx_mirror_result {
    unsigned long ops;         /* operations stepped */
    unsigned long compared;    /* placements compared (pool or raw) */
    unsigned long arenas_new;  /* arena requests recorded */
    unsigned long arenas_free; /* arena releases recorded */
    unsigned long divergences; /* ops where we and the recording differ */
    size_t first;              /* index of the first divergent op */
    char what[256];            /* what differed there, in words */
};

/* Start mirroring trace t (which may still grow); NULL if out of memory
 * or no address space for the region. */
struct hx_mirror *hx_mirror_new(const struct hx_trace *t);

/* Replay op i of the trace (ops are stepped in order, each once); return
 * 0, or 1 if it diverged (counted, the first one described). */
int hx_mirror_step(struct hx_mirror *m, size_t i);

/* Compare arena events recorded after the last op; return 0 or 1. */
int hx_mirror_finish(struct hx_mirror *m);

/* Copy out the counts and the first divergence. */
void hx_mirror_result(const struct hx_mirror *m, struct hx_mirror_result *r);

/* Free the mirror, its heap and its blocks. */
void hx_mirror_free(struct hx_mirror *m);

/* Print the counts (one line) and the first divergence, if any. */
void hx_mirror_print(const struct hx_mirror_result *r, const char *name,
                     double seconds, FILE *out);

/* Write the first n ops of t (their notes and labels too) to path, binary
 * when it ends in ".obt"; return 0, or -1 with errno set. */
int hx_write_prefix(const struct hx_trace *t, size_t n, const char *path);

/* Run threads threads at once over allocator a (which must be
 * thread-safe): thread k replays t[k % nt] with its own shadow (options
 * o), then all trade blocks through an exchange, each freeing blocks
 * other threads allocated and verifying their bytes first.  Return 0
 * clean, 1 violation (the first one in res), 2 if it could not start. */
int hx_threads_run(const struct hx_allocator *a, const struct hx_trace *t,
                   size_t nt, unsigned threads, const struct hx_run_options *o,
                   struct hx_run_result *res);

/* --- Isolation: a run in a child process --------------------------------
 * An allocator under test may crash or hang; the run happens in a forked
 * child whose progress and result live in shared memory, so the parent
 * still knows the last operation started after a SIGSEGV.
 */

struct hx_crash {
    int signal;            /* the signal that ended the child, or 0 */
    int exit_status;       /* its exit status if it exited early */
    bool hung;             /* killed at the deadline */
    unsigned long last_op; /* the operation (or probe) last started */
    char how[64];          /* "SIGSEGV", "hung past 60 s", "exit 1" */
};

/* A job the child runs: fill res, storing each operation's number in
 * *last_op as it starts; return 0 clean, 1 violation, 2 not started. */
typedef int hx_job_fn(void *ctx, struct hx_run_result *res,
                      volatile unsigned long *last_op);

/* Run job(ctx, ...) in a child, killed after timeout seconds (0 = none).
 * Return its status with *res copied back, or 3 if it crashed or hung
 * (*crash says how; res holds what it had found), -1 if fork failed. */
int hx_isolated(hx_job_fn *job, void *ctx, double timeout,
                struct hx_run_result *res, struct hx_crash *crash);

/* --- Minimizing -----------------------------------------------------------
 */

struct hx_min_options {
    struct hx_run_options run; /* how each candidate is replayed */
    const char *id;            /* keep this first violation ID; NULL = the
                                * one the whole trace shows */
    unsigned long max_runs;    /* give up after this many replays; 0 = no
                                * limit */
    FILE *log;                 /* progress lines, or NULL */
};

struct hx_min_stats {
    unsigned long runs; /* candidates replayed */
    size_t ops_before, ops_after;
    char id[8]; /* the violation ID kept */
};

/* Shrink t by delta debugging into out (initialised here): a valid trace
 * that still fails, under o->run, with the same first violation ID.
 * Return 0, 1 if t does not fail at all, or -1 if out of memory. */
int hx_minimize(const struct hx_trace *t, const struct hx_min_options *o,
                struct hx_trace *out, struct hx_min_stats *st);

/* Print a standalone C program that replays t through the public
 * allocator API (obm.h) in profile p and reports the first violation's
 * symptom; return 0, or -1 on a write error. */
int hx_emit_c(const struct hx_trace *t, enum obm_profile p, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* HX_H */
