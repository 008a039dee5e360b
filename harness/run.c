/* run.c — the runner: replay a trace through the core, with the shadow
 * model on every operation and the checker where the options say.
 *
 * Each operation goes through four steps: predict (the B family, when a
 * per-operation check is on), execute with the shadow's K checks, verify
 * the prediction, and check the state (LOCAL on the touched addresses, or
 * FULL).  Findings of one operation collect in one report, K first, then
 * B, then state IDs; the run stops after the first operation that has any,
 * since a damaged heap can send the next operation anywhere.  Misuse
 * operations are followed by a FULL check for the same reason.
 */
#include "hx_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROGRESS_EVERY 65536ul

void
hx_run_options_default(struct hx_run_options *o)
{
    memset(o, 0, sizeof *o);
    o->profile = OBM_PROFILE_DEFAULT;
    o->check = HX_CHECK_DEFAULT;
    o->every = HX_EVERY_DEFAULT;
    o->behaviour = true;
    o->drain = true;
}

/* Make the scratch hold the arena index and a copy of the live set. */
static void
size_scratch(struct hx_runner *r)
{
    size_t want = (*r->st.maxarenas + 16) * 4 * sizeof(uintptr_t)
                  + (r->sh.nlive + 1024) * sizeof(void *);
    if (r->scratch.size >= want)
        return;
    free(r->scratch.mem);
    memset(&r->scratch, 0, sizeof r->scratch);
    want += want / 2;
    r->scratch.mem = malloc(want);
    r->scratch.size = r->scratch.mem != NULL ? want : 0;
}

static void
full_check(struct hx_runner *r, bool end)
{
    if (r->viewed) {
        size_scratch(r);
        r->v.live = r->sh.live;
        r->v.nlive = hx_shadow_live_set(&r->sh);
        r->v.nraw = r->sh.nraw;
        inv_check(&r->v, INV_FULL, NULL, r->sh.opno, &r->state);
        hx_merge_state(r);
    }
    if (end || r->o->verify_budget == 0) {
        hx_shadow_verify_all(&r->sh);
    } else {
        if (r->viewed)
            hx_shadow_verify_near(&r->sh);
        hx_shadow_verify_some(&r->sh, r->o->verify_budget);
    }
    r->res->full_checks++;
}

static void
local_check(struct hx_runner *r)
{
    if (!r->viewed)
        return;
    if (r->scratch.mem == NULL)
        size_scratch(r);
    r->v.live = NULL;
    r->v.nlive = 0;
    r->v.nraw = r->sh.nraw;
    for (int k = 0; k < 2; k++) {
        if (k > 0 && r->touched[k] == NULL)
            break;
        inv_check(&r->v, INV_LOCAL, r->touched[k], r->sh.opno, &r->state);
        hx_merge_state(r);
    }
    r->res->local_checks++;
}

/* Run one operation and the checks after it; return whether it showed a
 * violation. */
static bool
step(struct hx_runner *r, const struct hx_op *op, unsigned long opno)
{
    r->sh.opno = opno;
    r->found.total = r->found.nkept = 0;
    r->touched[0] = r->touched[1] = NULL;
    r->force_full = false;
    hx_execute(r, op);
    unsigned c = r->o->check;
    // validation admits HX_F_BATCH on malloc and free only
    bool batched = op->flags & HX_F_BATCH;
    if (((c & HX_CHECK_FULL) && !batched) || r->force_full
        || ((c & HX_CHECK_EVERY) && opno % r->o->every == 0))
        full_check(r, false);
    else if (c & (HX_CHECK_LOCAL | HX_CHECK_FULL))
        local_check(r);
    r->res->ops++;
    return r->found.total > 0;
}

/* Say which operation showed the first violation, e.g. "free 77". */
static void
describe(struct hx_runner *r, const struct hx_op *op, bool drain)
{
    char label[72] = "";
    if (op->slot != HX_NO_SLOT)
        hx_label_str(r->t, op->slot, label, sizeof label);
    snprintf(r->res->what, sizeof r->res->what, "%s%s%s%s",
             drain ? "drain: " : "", hx_kind_name(op->kind),
             label[0] != '\0' ? " " : "", label);
}

static void
stop_at(struct hx_runner *r, const struct hx_op *op, unsigned long opno,
        bool drain)
{
    struct hx_run_result *res = r->res;
    res->first_op = opno;
    if (!drain && r->t->lines != NULL)
        res->first_line = r->t->lines[opno - 1];
    describe(r, op, drain);
    res->report = r->found;
}

/* K9: once every block is freed no arena may be left but the kept tail,
 * and the source must have out exactly the arenas the heap records. */
static void
check_arenas_left(struct hx_runner *r)
{
    size_t recorded = *r->st.narenas_currently_allocated;
    size_t allowed = r->g->keep_tail_arena ? 1 : 0;
    if (r->sh.nlive + r->sh.nraw == 0 && recorded > allowed)
        hx_fail_heap(r, "K9", allowed, recorded,
                     "%zu arenas remain once every block is freed", recorded);
    if (r->arenas.live != recorded)
        hx_fail_heap(r, "K9", recorded, r->arenas.live,
                     "the arena source has %zu arenas out, the heap records "
                     "%zu",
                     r->arenas.live, recorded);
    r->res->leaked_arenas = r->sh.nlive + r->sh.nraw == 0 ? recorded : 0;
}

/* Free what the trace left live, then the end checks; return whether a
 * violation showed. */
static bool
finish(struct hx_runner *r, unsigned long opno)
{
    if (r->o->stats != NULL && r->h != NULL)
        obm_print_stats(r->h, r->o->stats);
    if (r->o->drain) {
        for (uint32_t s = 0; s < r->sh.nslots; s++) {
            if (r->sh.blocks[s].state != SH_LIVE)
                continue;
            uint8_t flags = r->o->drain_batched ? HX_F_BATCH : 0;
            struct hx_op op = {HX_FREE, flags, 0, s, 0, 0};
            r->res->drained++;
            if (step(r, &op, ++opno)) {
                r->res->ops--;
                stop_at(r, &op, opno, true);
                return true;
            }
            r->res->ops--;
        }
    }
    r->found.total = r->found.nkept = 0;
    r->sh.opno = opno;
    // a batched drain ends, as every batch does, with a full check
    bool batch_end = r->o->drain_batched && r->res->drained > 0
                     && (r->o->check & HX_CHECK_FULL);
    if ((r->o->check & HX_CHECK_END) || batch_end) {
        // the end check trusts no memo: it walks the whole radix tree
        inv_scratch_forget(&r->scratch);
        full_check(r, true);
    }
    if (r->o->drain && r->a == NULL)
        check_arenas_left(r);
    if (r->found.total == 0)
        return false;
    struct hx_op end = {HX_CHECK, 0, 0, HX_NO_SLOT, 0, 0};
    stop_at(r, &end, opno, true);
    snprintf(r->res->what, sizeof r->res->what, "end of trace");
    return true;
}

/* Set up a run over a loaded allocator: the checker too if it has a
 * view, the shadow alone if it is a black box. */
static int
open_loaded(struct hx_runner *r, const struct hx_trace *t)
{
    r->a = r->o->alloc;
    if (r->a->view != NULL) {
        r->a->view(r->a->ctx, &r->st);
        r->g = r->st.geometry;
        inv_view_from_state(&r->v, &r->st);
        r->v.scratch = &r->scratch;
        r->viewed = true;
        r->per_op = (r->o->check & (HX_CHECK_LOCAL | HX_CHECK_FULL)) != 0;
    }
    if (hx_shadow_open(&r->sh, NULL, t, &r->found) != 0)
        return -1;
    r->sh.a = r->a;
    r->sh.g = r->g;
    return 0;
}

static int
open_run(struct hx_runner *r, const struct hx_trace *t,
         const struct hx_run_options *o, struct hx_run_result *res)
{
    memset(r, 0, sizeof *r);
    r->t = t;
    r->o = o;
    r->res = res;
    if (o->alloc != NULL)
        return open_loaded(r, t);
    r->viewed = true;
    r->per_op = (o->check & (HX_CHECK_LOCAL | HX_CHECK_FULL)) != 0;
    hx_arenas_open(&r->arenas, o->region);
    r->arenas.faults.fail_at = o->fail_at;
    r->arenas.faults.persistent = o->persistent;
    r->raw = hx_raw_faulty(&r->rawf);
    struct obm_heap_config cfg = {o->profile, &r->arenas.source, &r->raw};
    r->h = obm_heap_new_ex(&cfg);
    if (r->h == NULL)
        return -1;
    r->g = obm_heap_geometry(r->h);
    obm_heap_state(r->h, &r->st);
    r->arenas.st = &r->st;
    inv_view_from_heap(&r->v, r->h);
    r->v.scratch = &r->scratch;
    return hx_shadow_open(&r->sh, r->h, t, &r->found);
}

/* Give back the heap and every raw block still out (a run that stopped
 * early leaves blocks behind; the heap may be damaged, so raw blocks go
 * straight to libc, which served them). */
static void
close_run(struct hx_runner *r)
{
    // a loaded allocator's blocks stay: after a violation it is not to be
    // trusted with them
    for (uint32_t s = 0; s < r->sh.nslots && r->sh.blocks != NULL && !r->a;
         s++)
        if (r->sh.blocks[s].state == SH_LIVE && r->sh.blocks[s].raw)
            free(r->sh.blocks[s].p);
    hx_shadow_close(&r->sh);
    if (r->h != NULL)
        obm_heap_free(r->h);
    hx_arenas_close(&r->arenas);
    free(r->scratch.mem);
}

double
hx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
hx_run(const struct hx_trace *t, const struct hx_run_options *o,
       struct hx_run_result *res)
{
    memset(res, 0, sizeof *res);
    struct hx_runner *r = malloc(sizeof *r);
    if (r == NULL)
        return 2;
    if (open_run(r, t, o, res) != 0) {
        close_run(r);
        free(r);
        return 2;
    }
    double t0 = hx_now();
    bool bad = false;
    for (size_t i = 0; i < t->nops && !bad; i++) {
        if (o->last_op != NULL)
            *o->last_op = i + 1;
        if (step(r, &t->ops[i], i + 1)) {
            stop_at(r, &t->ops[i], i + 1, false);
            bad = true;
        }
        if (o->progress != NULL && (i + 1) % PROGRESS_EVERY == 0)
            o->progress(o->progress_ctx, i + 1, t->nops);
    }
    if (!bad)
        bad = finish(r, t->nops);
    res->seconds = hx_now() - t0;
    res->peak_arenas = r->arenas.peak;
    res->arena_faults = r->arenas.faults.nfailed;
    res->planned_faults = r->arenas.faults.nplanned;
    res->raw_faults = r->rawf.nfailed;
    close_run(r);
    free(r);
    return bad ? 1 : 0;
}

bool
hx_as_expected(const struct hx_trace *t, const struct hx_run_result *res)
{
    if (t->nexpect == 0)
        return res->first_op == 0;
    if (res->first_op == 0 || res->report.nkept == 0)
        return false;
    for (unsigned k = 0; k < t->nexpect; k++)
        if (strcmp(t->expect[k], res->report.kept[0].id) == 0)
            return true;
    return false;
}

/* Parse one word of a --check list into *check and *every. */
static int
parse_word(const char *w, size_t n, unsigned *check, unsigned long *every)
{
    static const struct {
        const char *name;
        unsigned bits;
    } words[] = {{"full", HX_CHECK_FULL | HX_CHECK_END},
                 {"local", HX_CHECK_LOCAL | HX_CHECK_END},
                 {"end", HX_CHECK_END},
                 {"none", 0},
                 {"default", HX_CHECK_DEFAULT}};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        if (strlen(words[k].name) == n && memcmp(w, words[k].name, n) == 0) {
            *check |= words[k].bits;
            return 0;
        }
    }
    if (n > 6 && memcmp(w, "every=", 6) == 0) {
        unsigned long v = 0;
        for (size_t i = 6; i < n; i++) {
            if (w[i] < '0' || w[i] > '9' || v > (ULONG_MAX - 9) / 10)
                return -1;
            v = v * 10 + (unsigned long)(w[i] - '0');
        }
        if (v == 0)
            return -1;
        *check |= HX_CHECK_EVERY | HX_CHECK_END;
        *every = v;
        return 0;
    }
    return -1;
}

int
hx_check_parse(const char *spec, unsigned *check, unsigned long *every)
{
    unsigned c = 0;
    unsigned long e = HX_EVERY_DEFAULT;
    for (const char *w = spec;;) {
        const char *comma = strchr(w, ',');
        size_t n = comma != NULL ? (size_t)(comma - w) : strlen(w);
        if (parse_word(w, n, &c, &e) != 0)
            return -1;
        if (comma == NULL)
            break;
        w = comma + 1;
    }
    *check = c;
    *every = e;
    return 0;
}
