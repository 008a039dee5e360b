/* minimize.c — shrink a failing trace by delta debugging.
 *
 * The property kept is "the runner stops with the same first violation
 * ID".  Since the runner stops at the first failing operation, whatever
 * follows it never runs: every trace that passes is cut just after the
 * operation that failed, which alone turns a long trace into a prefix.
 *
 * Then rounds of three passes until a round gains nothing:
 *   1. remove whole block lifetimes (malloc .. the next malloc of the
 *      slot) in chunks of half, a quarter, ... down to one (ddmin's
 *      complements, resumed in place after each success);
 *   2. the same over single operations;
 *   3. simplify values: the sizes of each size class moved together,
 *      once to the largest class (whose pools fill with the fewest
 *      blocks) or else rounded to the class's block size; then each size,
 *      count and reach shrunk to the least value of a short ladder that
 *      keeps the ID.
 * A candidate is a subset of the current operations made valid by one
 * forward pass that drops every operation whose block is not in the state
 * it needs (removing a malloc drops its block's later operations; removing
 * a free leaves the block live for the runner's drain).
 */
#include "hx.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ROUNDS 8
// bytes of the source name the note quotes
#define NOTE_SOURCE_MAX 1024

enum {
    S_NEW,
    S_LIVE,
    S_FREED
};

struct mini {
    const struct hx_trace *src; /* the original: labels */
    const struct hx_min_options *o;
    char *source; /* "<original>.min" */
    char id[8];   /* the ID kept */
    struct hx_op *ops, *cand;
    size_t nops, ncand;
    uint8_t *drop;  /* per op: removed from the candidate */
    uint32_t *unit; /* per op: its unit in the current pass */
    size_t nunits;
    uint8_t *state; /* per original slot: S_* while repairing */
    uint32_t *map;  /* per original slot: slot in a built trace */
    uint32_t *life; /* per original slot: its current lifetime unit */
    uint64_t moved; /* size classes moved up already */
    unsigned long runs;
    bool oom;
};

static bool
has_slot(unsigned kind)
{
    return kind != HX_FAULT_ARENAS && kind != HX_FAULT_RAW && kind != HX_CHECK
           && kind != HX_ARENA_NEW && kind != HX_ARENA_FREE;
}

static bool
is_alloc(unsigned kind)
{
    return kind == HX_MALLOC || kind == HX_CALLOC;
}

static bool
out_of_runs(const struct mini *m)
{
    return m->oom || (m->o->max_runs != 0 && m->runs >= m->o->max_runs);
}

/* Push ops into t (initialised), giving each original slot the label it
 * had; return 0, or -1 if out of memory. */
static int
build(struct mini *m, const struct hx_op *ops, size_t n, struct hx_trace *t)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint32_t s = ops[i].slot;
        if (has_slot(ops[i].kind) && m->map[s] == HX_NO_SLOT) {
            const struct hx_label *l = &m->src->labels[s];
            m->map[s] = l->name != NULL ? hx_slot_name(t, l->name)
                                        : hx_slot_num(t, l->num);
            if (m->map[s] == HX_NO_SLOT)
                rc = -1;
        }
        if (rc == 0)
            rc = hx_push(t, (enum hx_kind)ops[i].kind, ops[i].flags,
                         has_slot(ops[i].kind) ? m->map[s] : HX_NO_SLOT,
                         ops[i].a, ops[i].b, 0);
    }
    for (size_t i = 0; i < n; i++)
        if (has_slot(ops[i].kind))
            m->map[ops[i].slot] = HX_NO_SLOT;
    return rc;
}

/* Replay ops; return whether they fail with the kept ID, and where. */
static bool
test(struct mini *m, const struct hx_op *ops, size_t n,
     unsigned long *first_op)
{
    if (out_of_runs(m))
        return false;
    struct hx_trace t;
    hx_trace_init(&t, m->source);
    if (t.source == NULL || build(m, ops, n, &t) != 0) {
        m->oom = true;
        hx_trace_free(&t);
        return false;
    }
    struct hx_run_result *res = malloc(sizeof *res);
    if (res == NULL) {
        m->oom = true;
        hx_trace_free(&t);
        return false;
    }
    int rc = hx_run(&t, &m->o->run, res);
    m->runs++;
    // the run could not start: out of memory or address space
    m->oom |= rc == 2;
    bool same = rc == 1 && res->report.nkept > 0
                && strcmp(res->report.kept[0].id, m->id) == 0;
    *first_op = res->first_op;
    free(res);
    hx_trace_free(&t);
    return same;
}

/* Make the candidate the current trace, cut after the op that failed (a
 * drain finding has first_op past the end: nothing to cut). */
static void
adopt(struct mini *m, unsigned long first_op)
{
    size_t n = first_op != 0 && first_op < m->ncand ? first_op : m->ncand;
    struct hx_op *tmp = m->ops;
    m->ops = m->cand;
    m->cand = tmp;
    m->nops = n;
}

/* Copy the ops not dropped into the candidate, dropping as well each op
 * whose block is not in the state it needs there. */
static void
repair(struct mini *m)
{
    for (size_t i = 0; i < m->nops; i++)
        if (has_slot(m->ops[i].kind))
            m->state[m->ops[i].slot] = S_NEW;
    m->ncand = 0;
    for (size_t i = 0; i < m->nops; i++) {
        const struct hx_op *op = &m->ops[i];
        if (m->drop[i])
            continue;
        if (has_slot(op->kind)) {
            uint8_t *st = &m->state[op->slot];
            bool ok =
                is_alloc(op->kind) ? *st != S_LIVE
                : op->kind == HX_DOUBLE_FREE || op->kind == HX_WRITE_AFTER_FREE
                    ? *st == S_FREED
                    : *st == S_LIVE;
            if (!ok)
                continue;
            if (is_alloc(op->kind))
                *st = S_LIVE;
            else if (op->kind == HX_FREE)
                *st = S_FREED;
        }
        m->cand[m->ncand++] = *op;
    }
}

/* Number the units of the current ops: block lifetimes, or single ops. */
static void
number_units(struct mini *m, bool lifetimes)
{
    m->nunits = 0;
    for (size_t i = 0; i < m->nops; i++) {
        const struct hx_op *op = &m->ops[i];
        if (!lifetimes || !has_slot(op->kind))
            m->unit[i] = (uint32_t)m->nunits++;
        else if (is_alloc(op->kind))
            m->unit[i] = m->life[op->slot] = (uint32_t)m->nunits++;
        else
            m->unit[i] = m->life[op->slot];
    }
}

/* Try the current ops without units [lo, hi); keep the result if it
 * still fails with the ID. */
static bool
try_without(struct mini *m, size_t lo, size_t hi)
{
    for (size_t i = 0; i < m->nops; i++)
        m->drop[i] = m->unit[i] >= lo && m->unit[i] < hi;
    repair(m);
    unsigned long first_op;
    if (!test(m, m->cand, m->ncand, &first_op))
        return false;
    adopt(m, first_op);
    return true;
}

static void
log_pass(const struct mini *m, const char *pass)
{
    if (m->o->log != NULL)
        fprintf(m->o->log, "minimize: %-10s %8zu ops  %6lu replays\n", pass,
                m->nops, m->runs);
}

/* ddmin's complement steps: remove chunks of units, halving the chunk
 * when a sweep is done; resume in place after each success, since the
 * units before the chunk are unchanged.  Return whether anything went. */
static bool
reduce(struct mini *m, bool lifetimes)
{
    size_t before = m->nops;
    number_units(m, lifetimes);
    size_t chunk = m->nunits > 1 ? m->nunits / 2 : 1;
    for (;;) {
        bool gained = false;
        for (size_t lo = 0; lo < m->nunits && !out_of_runs(m);) {
            if (try_without(m, lo, lo + chunk)) {
                gained = true;
                number_units(m, lifetimes);
            } else {
                lo += chunk;
            }
        }
        if (out_of_runs(m) || (chunk == 1 && !gained))
            break;
        // a success at one op may free another: sweep singles again
        chunk = chunk > 1 ? chunk / 2 : 1;
    }
    log_pass(m, lifetimes ? "lifetimes" : "ops");
    return m->nops < before;
}

/* Try the current ops with op i's fields set to a and b. */
static bool
try_fields(struct mini *m, size_t i, uint64_t a, uint64_t b)
{
    memcpy(m->cand, m->ops, m->nops * sizeof *m->ops);
    m->ncand = m->nops;
    m->cand[i].a = a;
    m->cand[i].b = b;
    unsigned long first_op;
    if (!test(m, m->cand, m->ncand, &first_op))
        return false;
    adopt(m, first_op);
    return true;
}

static bool
try_value(struct mini *m, size_t i, bool field_b, uint64_t v)
{
    const struct hx_op *op = &m->ops[i];
    return try_fields(m, i, field_b ? op->a : v, field_b ? v : op->b);
}

#define NLADDER 11

/* Fill v with the values sizes, counts and reaches shrink to, ascending
 * from min. */
static void
ladder(const struct obm_geometry *g, uint64_t min, uint64_t v[NLADDER])
{
    uint64_t t = g->threshold;
    uint64_t l[] = {min, 8, 16, 32, 64, 128, 256, t, t + 1, 4096, 1u << 20};
    _Static_assert(sizeof l / sizeof l[0] == NLADDER, "ladder length");
    memcpy(v, l, sizeof l);
}

/* Return whether size v is already round: aligned, or on the ladder.
 * Only sizes that are not get rounded up, so rounding and shrinking (to
 * the ladder) cannot take turns forever. */
static bool
is_round(const struct obm_geometry *g, uint64_t v)
{
    uint64_t l[NLADDER];
    ladder(g, 1, l);
    bool on = v % g->alignment == 0 || v > g->threshold;
    for (size_t k = 0; k < NLADDER; k++)
        on |= l[k] == v;
    return on;
}

/* Shrink op i's field to the smallest ladder value below it that keeps
 * the ID; a pool size that shrinks to none is rounded up to its block
 * size instead.  Return whether the value changed. */
static bool
shrink_value(struct mini *m, size_t i, bool field_b, uint64_t min)
{
    const struct obm_geometry *g = obm_geometry(m->o->run.profile);
    uint64_t v = field_b ? m->ops[i].b : m->ops[i].a;
    uint64_t l[NLADDER];
    ladder(g, min, l);
    for (size_t k = 0; k < NLADDER; k++) {
        if (l[k] < min || l[k] >= v || (k > 0 && l[k] == l[k - 1]))
            continue;
        if (try_value(m, i, field_b, l[k]))
            return true;
        if (out_of_runs(m))
            return false;
    }
    bool size = m->ops[i].kind == HX_MALLOC || m->ops[i].kind == HX_REALLOC;
    uint64_t round = (v + g->alignment - 1) & ~(uint64_t)(g->alignment - 1);
    if (size && !is_round(g, v))
        return try_value(m, i, false, round);
    return false;
}

/* Which fields of op i carry a size, count or reach worth shrinking, and
 * the least value each may take. */
static unsigned
fields_of(const struct hx_op *op, uint64_t *min_a, uint64_t *min_b)
{
    *min_a = *min_b = 1;
    switch (op->kind) {
    case HX_MALLOC:
    case HX_REALLOC:
    case HX_OVERFLOW:
        return 1;
    case HX_CALLOC:
        // an overflowing product is the point of such an op: keep it
        return op->b != 0 && op->a > SIZE_MAX / op->b ? 0 : 3;
    case HX_FAULT_ARENAS:
    case HX_FAULT_RAW:
        return op->flags == 0 ? 1 : 0;
    case HX_WRITE_AFTER_FREE:
        *min_a = 0;
        return 3;
    default:
        return 0;
    }
}

/* Return whether op is a malloc or realloc of a size in class c. */
static bool
in_class(const struct obm_geometry *g, const struct hx_op *op, unsigned c)
{
    bool size = op->kind == HX_MALLOC || op->kind == HX_REALLOC;
    return size && op->a >= 1 && op->a <= g->threshold
           && (op->a - 1) >> g->alignment_shift == c;
}

/* Set every size of class c to `to` at once (only sizes not yet round if
 * rounding); return whether that changed two or more and kept the ID. */
static bool
move_class(struct mini *m, unsigned c, uint64_t to, bool rounding)
{
    const struct obm_geometry *g = obm_geometry(m->o->run.profile);
    size_t n = 0;
    memcpy(m->cand, m->ops, m->nops * sizeof *m->ops);
    m->ncand = m->nops;
    for (size_t i = 0; i < m->nops; i++) {
        struct hx_op *op = &m->cand[i];
        if (in_class(g, op, c) && op->a != to
            && (!rounding || !is_round(g, op->a))) {
            op->a = to;
            n++;
        }
    }
    unsigned long first_op;
    if (n < 2 || !test(m, m->cand, m->ncand, &first_op))
        return false;
    adopt(m, first_op);
    return true;
}

/* Move the sizes of each size class together: to the smallest class; or,
 * once, to the largest when the class has more blocks than a pool of the
 * largest holds (a pool to fill then needs fewer); else round them to the
 * class's block size, which keeps every block in its class. */
static bool
move_classes(struct mini *m)
{
    const struct obm_geometry *g = obm_geometry(m->o->run.profile);
    unsigned top = g->nclasses - 1;
    bool gained = false;
    for (unsigned c = 0; c < g->nclasses && !out_of_runs(m); c++) {
        size_t n = 0;
        for (size_t i = 0; i < m->nops; i++)
            n += in_class(g, &m->ops[i], c);
        // once per class: shrinking single sizes may undo it
        bool up = c < top && n > obm_numblocks(g, top)
                  && !(m->moved & (UINT64_C(1) << c));
        if (up)
            m->moved |= UINT64_C(1) << c;
        if (n < 2)
            continue;
        if ((c > 0 && move_class(m, c, obm_blocksize(g, 0), false))
            || (up && move_class(m, c, g->threshold, false)))
            gained = true;
        else
            gained |= move_class(m, c, obm_blocksize(g, c), true);
    }
    return gained;
}

/* Simplify values: classes moved together, then each field shrunk. */
static bool
simplify(struct mini *m)
{
    bool gained = move_classes(m);
    for (size_t i = 0; i < m->nops && !out_of_runs(m); i++) {
        uint64_t min_a, min_b;
        unsigned f = fields_of(&m->ops[i], &min_a, &min_b);
        // calloc: one element of the whole size first
        if (m->ops[i].kind == HX_CALLOC && f != 0 && m->ops[i].a != 1)
            gained |= try_fields(m, i, 1, m->ops[i].a * m->ops[i].b);
        if (i < m->nops && (f & 1))
            gained |= shrink_value(m, i, false, min_a);
        if (i < m->nops && (f & 2))
            gained |= shrink_value(m, i, true, min_b);
    }
    log_pass(m, "values");
    return gained;
}

static void
close_mini(struct mini *m)
{
    free(m->source);
    free(m->ops);
    free(m->cand);
    free(m->drop);
    free(m->unit);
    free(m->state);
    free(m->map);
    free(m->life);
}

static int
open_mini(struct mini *m, const struct hx_trace *t,
          const struct hx_min_options *o)
{
    memset(m, 0, sizeof *m);
    m->src = t;
    m->o = o;
    size_t n = t->nops > 0 ? t->nops : 1;
    size_t ns = t->nslots > 0 ? t->nslots : 1;
    const char *src = t->source != NULL ? t->source : "-";
    m->source = malloc(strlen(src) + sizeof ".min");
    m->ops = malloc(n * sizeof *m->ops);
    m->cand = malloc(n * sizeof *m->cand);
    m->drop = malloc(n);
    m->unit = malloc(n * sizeof *m->unit);
    m->state = malloc(ns);
    m->map = malloc(ns * sizeof *m->map);
    m->life = malloc(ns * sizeof *m->life);
    if (m->source == NULL || m->ops == NULL || m->cand == NULL
        || m->drop == NULL || m->unit == NULL || m->state == NULL
        || m->map == NULL || m->life == NULL)
        return -1;
    sprintf(m->source, "%s.min", src);
    memset(m->map, 0xff, ns * sizeof *m->map); // HX_NO_SLOT everywhere
    return 0;
}

/* Run the whole trace: take its first ID (or check it is o->id) and keep
 * the ops up to the one that showed it.  Return 0, 1 if it does not fail
 * so, or -1. */
static int
first_run(struct mini *m)
{
    struct hx_run_result *res = malloc(sizeof *res);
    if (res == NULL)
        return -1;
    int rc = hx_run(m->src, &m->o->run, res);
    m->runs++;
    const char *id = res->report.nkept > 0 ? res->report.kept[0].id : "";
    if (rc == 1 && m->o->id != NULL && strcmp(id, m->o->id) != 0)
        rc = 0;
    if (rc == 1) {
        snprintf(m->id, sizeof m->id, "%s", id);
        m->ncand = m->src->nops;
        memcpy(m->cand, m->src->ops, m->ncand * sizeof *m->cand);
        adopt(m, res->first_op);
        char at[48] = "in the drain";
        if (res->first_op <= m->src->nops)
            snprintf(at, sizeof at, "at op %lu", res->first_op);
        if (m->o->log != NULL)
            fprintf(m->o->log,
                    "minimize: %s: %zu ops, first violation %s %s\n",
                    m->src->source != NULL ? m->src->source : "-",
                    m->src->nops, m->id, at);
    }
    free(res);
    return rc == 2 ? -1 : rc == 1 ? 0 : 1;
}

/* Write the result: a note on where it came from, the ops, `expect`. */
static int
write_out(struct mini *m, struct hx_trace *out)
{
    char note[NOTE_SOURCE_MAX + 96];
    snprintf(note, sizeof note,
             " minimized from %.*s (%zu operations), first violation %s",
             NOTE_SOURCE_MAX, m->src->source != NULL ? m->src->source : "-",
             m->src->nops, m->id);
    // a note is one line
    for (char *c = note; *c != '\0'; c++)
        if (*c == '\n' || *c == '\r')
            *c = '?';
    hx_trace_init(out, m->source);
    if (out->source == NULL || hx_note_add(out, false, note) != 0
        || build(m, m->ops, m->nops, out) != 0)
        return -1;
    memcpy(out->expect[0], m->id, sizeof out->expect[0]);
    out->nexpect = 1;
    return 0;
}

/* Shrink t into out (see hx.h): truncate after the first failing op, then
 * rounds of lifetime, op and value passes until a round gains nothing. */
int
hx_minimize(const struct hx_trace *t, const struct hx_min_options *o,
            struct hx_trace *out, struct hx_min_stats *st)
{
    memset(st, 0, sizeof *st);
    memset(out, 0, sizeof *out);
    st->ops_before = t->nops;
    struct mini m;
    int rc = open_mini(&m, t, o);
    if (rc == 0)
        rc = first_run(&m);
    for (unsigned round = 0; rc == 0 && round < MAX_ROUNDS; round++) {
        bool gained = reduce(&m, true);
        gained |= reduce(&m, false);
        gained |= simplify(&m);
        if (!gained || out_of_runs(&m))
            break;
    }
    if (rc == 0 && (m.oom || write_out(&m, out) != 0))
        rc = -1;
    if (rc != 0)
        hx_trace_free(out);
    st->runs = m.runs;
    st->ops_after = out->nops;
    memcpy(st->id, m.id, sizeof st->id);
    close_mini(&m);
    return rc;
}
