/* alloc_threads.c — a thread-safe allocator under several threads at once.
 *
 * Each thread replays a workload through its own runner and shadow (its
 * own live set: hx_run keeps no shared state), then trades blocks with
 * the others through an exchange: it allocates and fills blocks, puts them
 * in, takes out blocks other threads put in, verifies their bytes and
 * frees them, so blocks are freed by a thread other than the one that
 * allocated them.  A block handed out twice, or written by the allocator
 * while another thread owns it, shows as a changed byte (K5).
 */
#include "hx_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define XCHG_CAP 1024    /* blocks in the exchange at most */
#define XCHG_STEPS 20000 /* blocks each thread puts in */
#define XCHG_MAX 2048    /* their largest size */
#define XCHG_HEAD 16     /* size and seed, in the block's first bytes */

struct xblock {
    uint8_t *p;
};

struct shared {
    const struct hx_allocator *a;
    const struct hx_trace *t;
    size_t nt;
    const struct hx_run_options *o;
    pthread_mutex_t lock; /* the exchange and the first finding */
    struct xblock ring[XCHG_CAP];
    size_t head, count;
    struct hx_run_result *res; /* the first finding */
    unsigned long ops;
};

struct worker {
    struct shared *sh;
    unsigned id;
    pthread_t tid;
    struct hx_run_result res;
};

static uint8_t
byte_at(uint64_t seed, size_t i)
{
    return (uint8_t)((seed >> (8 * (i % 8))) + i / 8);
}

/* Keep res as the run's finding if it is the first. */
static void
keep_finding(struct shared *sh, const struct hx_run_result *res)
{
    pthread_mutex_lock(&sh->lock);
    if (sh->res->first_op == 0)
        *sh->res = *res;
    pthread_mutex_unlock(&sh->lock);
}

static void
handoff_fail(struct worker *w, const char *id, uintptr_t at, const char *what)
{
    struct hx_run_result *r = &w->res;
    memset(r, 0, sizeof *r);
    r->first_op = 1;
    snprintf(r->what, sizeof r->what, "exchange, thread %u", w->id);
    struct inv_violation v;
    memset(&v, 0, sizeof v);
    v.id = id;
    v.arena = v.szidx = -1;
    v.block = at;
    v.opno = 1;
    snprintf(v.message, sizeof v.message, "%s", what);
    hx_report_add(&r->report, &v);
    keep_finding(w->sh, r);
}

/* Verify and free a block another thread filled; return false if bad. */
static bool
take_back(struct worker *w, uint8_t *p)
{
    const struct hx_allocator *a = w->sh->a;
    uint64_t n, seed;
    memcpy(&n, p, 8);
    memcpy(&seed, p + 8, 8);
    for (size_t i = XCHG_HEAD; i < n; i++) {
        if (p[i] != byte_at(seed, i)) {
            handoff_fail(w, "K5", (uintptr_t)p + i,
                         "a block in the exchange changed before its free "
                         "by another thread");
            return false;
        }
    }
    a->free(a->ctx, p);
    return true;
}

/* Put a new block in the exchange and take one out (another thread's,
 * mostly); return false once a finding was made. */
static bool
trade(struct worker *w, uint64_t *rng)
{
    const struct hx_allocator *a = w->sh->a;
    uint64_t z = (*rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 31)) * UINT64_C(0xbf58476d1ce4e5b9);
    uint64_t n = XCHG_HEAD + z % XCHG_MAX;
    uint8_t *p = a->malloc(a->ctx, n);
    if (p == NULL) {
        handoff_fail(w, "K8", 0, "malloc returned NULL in the exchange");
        return false;
    }
    memcpy(p, &n, 8);
    memcpy(p + 8, &z, 8);
    for (size_t i = XCHG_HEAD; i < n; i++)
        p[i] = byte_at(z, i);
    struct shared *sh = w->sh;
    uint8_t *out = NULL;
    pthread_mutex_lock(&sh->lock);
    if (sh->count == XCHG_CAP) {
        out = sh->ring[sh->head].p;
        sh->head = (sh->head + 1) % XCHG_CAP;
        sh->count--;
    }
    sh->ring[(sh->head + sh->count++) % XCHG_CAP].p = p;
    // half the time take the oldest block out now, so blocks cross
    if (out == NULL && sh->count > XCHG_CAP / 2 && (z >> 40) % 2 == 0) {
        out = sh->ring[sh->head].p;
        sh->head = (sh->head + 1) % XCHG_CAP;
        sh->count--;
    }
    pthread_mutex_unlock(&sh->lock);
    return out == NULL || take_back(w, out);
}

static void *
work(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    struct hx_run_options o = *sh->o;
    o.last_op = NULL;
    int rc = hx_run(&sh->t[w->id % sh->nt], &o, &w->res);
    if (rc == 1)
        keep_finding(sh, &w->res);
    unsigned long ops = w->res.ops;
    uint64_t rng = w->id + 1;
    for (unsigned long s = 0; rc == 0 && s < XCHG_STEPS; s++, ops++)
        if (!trade(w, &rng))
            break;
    pthread_mutex_lock(&sh->lock);
    sh->ops += ops;
    pthread_mutex_unlock(&sh->lock);
    return NULL;
}

int
hx_threads_run(const struct hx_allocator *a, const struct hx_trace *t,
               size_t nt, unsigned threads, const struct hx_run_options *o,
               struct hx_run_result *res)
{
    memset(res, 0, sizeof *res);
    struct shared *sh = calloc(1, sizeof *sh);
    struct worker *w = calloc(threads, sizeof *w);
    if (sh == NULL || w == NULL || nt == 0) {
        free(sh);
        free(w);
        return 2;
    }
    *sh = (struct shared){.a = a, .t = t, .nt = nt, .o = o, .res = res};
    pthread_mutex_init(&sh->lock, NULL);
    // a program mallocs on its main thread before it starts others, and
    // glibc counts on it: under ASan nothing had called glibc's malloc, so
    // two workers racing through its lazy init both took the main arena
    // with one count, and the second to exit aborted in its freeres
    a->free(a->ctx, a->malloc(a->ctx, 1));
    double t0 = hx_now();
    unsigned started = 0;
    for (; started < threads; started++) {
        w[started] = (struct worker){.sh = sh, .id = started};
        if (pthread_create(&w[started].tid, NULL, work, &w[started]) != 0)
            break;
    }
    for (unsigned k = 0; k < started; k++)
        pthread_join(w[k].tid, NULL);
    // what is left in the exchange is freed here, by yet another thread
    for (size_t k = 0; k < sh->count && res->first_op == 0; k++)
        take_back(&w[0], sh->ring[(sh->head + k) % XCHG_CAP].p);
    res->seconds = hx_now() - t0;
    res->ops = sh->ops;
    pthread_mutex_destroy(&sh->lock);
    int rc = res->first_op != 0 ? 1 : started < threads ? 2 : 0;
    free(sh);
    free(w);
    return rc;
}
