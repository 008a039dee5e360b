/* mirror.c — our core beside a recording of CPython's obmalloc.
 *
 * A recorded trace says, for every pool block, where the real allocator
 * put it, and where in the stream it asked for and handed back arenas.  The
 * mirror replays the same operations through a py311 heap and compares.
 * Placements are compared as (arena ordinal, pool index, block offset), not
 * addresses: only the arena's start modulo POOL_SIZE shapes obmalloc's
 * decisions (63 or 64 pools), so the mirror's arena source gives its Nth
 * arena the Nth recorded arena's residue, and everything else must follow.
 * Arena events are compared per operation: those recorded just before an
 * op against those our heap made while doing it.
 */
#include "hx.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS 8 /* arena events one op may cause (1-2 in practice) */

struct event {
    uint8_t kind; /* HX_ARENA_NEW or HX_ARENA_FREE */
    uint64_t id;  /* request number */
};

struct events {
    struct event e[MAX_EVENTS];
    unsigned n;
    bool overflow;
};

struct our_arena {
    uintptr_t base;
    uint64_t id;
};

struct hx_mirror {
    const struct hx_trace *t;
    obm_heap *h;
    struct obm_region *region;
    struct obm_arena_source src, inner;
    struct obm_state st;
    size_t pool_size;
    void **ptr; /* slot -> our block */
    size_t nptr;
    uint64_t *offsets; /* recorded arena id - 1 -> start mod POOL_SIZE */
    size_t noffsets, offcap;
    struct our_arena *mine; /* our arenas out, with their request number */
    size_t nmine, minecap;
    uint64_t nrequests;
    struct events rec, ours;
    struct hx_mirror_result res;
};

static void
log_event(struct events *ev, unsigned kind, uint64_t id)
{
    if (ev->n == MAX_EVENTS) {
        ev->overflow = true;
        return;
    }
    ev->e[ev->n].kind = (uint8_t)kind;
    ev->e[ev->n++].id = id;
}

/* Our heap's arena source: the region, each arena at the residue of the
 * recorded arena with the same request number (0 past the recording). */
static void *
arena_alloc(void *ctx, size_t size)
{
    struct hx_mirror *m = ctx;
    uint64_t id = ++m->nrequests;
    size_t off = id <= m->noffsets ? (size_t)m->offsets[id - 1] : 0;
    if (obm_region_set_offset(m->region, off) != 0)
        obm_region_set_offset(m->region, 0);
    void *p = m->inner.alloc(m->inner.ctx, size);
    if (p == NULL)
        return NULL;
    if (m->nmine == m->minecap) {
        size_t cap = m->minecap == 0 ? 64 : m->minecap * 2;
        struct our_arena *v = realloc(m->mine, cap * sizeof *v);
        if (v == NULL) {
            m->inner.free(m->inner.ctx, p, size);
            return NULL;
        }
        m->mine = v;
        m->minecap = cap;
    }
    m->mine[m->nmine++] = (struct our_arena){(uintptr_t)p, id};
    log_event(&m->ours, HX_ARENA_NEW, id);
    return p;
}

static void
arena_free(void *ctx, void *p, size_t size)
{
    struct hx_mirror *m = ctx;
    for (size_t k = 0; k < m->nmine; k++) {
        if (m->mine[k].base != (uintptr_t)p)
            continue;
        log_event(&m->ours, HX_ARENA_FREE, m->mine[k].id);
        m->mine[k] = m->mine[--m->nmine];
        break;
    }
    m->inner.free(m->inner.ctx, p, size);
}

struct hx_mirror *
hx_mirror_new(const struct hx_trace *t)
{
    struct hx_mirror *m = calloc(1, sizeof *m);
    struct obm_region_config cfg = {0};
    if (m == NULL || (m->region = obm_region_new(&cfg)) == NULL) {
        free(m);
        return NULL;
    }
    m->t = t;
    m->inner = obm_region_source(m->region);
    m->src = (struct obm_arena_source){m, arena_alloc, arena_free};
    m->h = obm_heap_new(OBM_PY311, &m->src);
    if (m->h == NULL) {
        hx_mirror_free(m);
        return NULL;
    }
    obm_heap_state(m->h, &m->st);
    m->pool_size = obm_heap_geometry(m->h)->pool_size;
    return m;
}

void
hx_mirror_free(struct hx_mirror *m)
{
    if (m == NULL)
        return;
    // raw blocks still out are the caller's: ours are libc's, free them
    for (size_t s = 0; m->h != NULL && s < m->nptr; s++)
        if (m->ptr[s] != NULL)
            obm_free(m->h, m->ptr[s]);
    if (m->h != NULL)
        obm_heap_free(m->h);
    obm_region_free(m->region);
    free(m->ptr);
    free(m->offsets);
    free(m->mine);
    free(m);
}

/* Where our heap put p, packed as a recording packs it. */
static uint64_t
our_place(const struct hx_mirror *m, const void *p)
{
    if (p == NULL)
        return HX_PLACE_NONE;
    if (!obm_owns(m->h, p))
        return HX_PLACE_RAW;
    uintptr_t pool = (uintptr_t)p & ~(uintptr_t)(m->pool_size - 1);
    const struct obm_pool *hdr = (const struct obm_pool *)pool;
    const struct obm_arena *a = &(*m->st.arenas)[hdr->arenaindex];
    uintptr_t first = (a->address + m->pool_size - 1) & ~(m->pool_size - 1);
    return hx_place_pool(hdr->arenaindex,
                         (unsigned)((pool - first) / m->pool_size),
                         (unsigned)((uintptr_t)p - pool));
}

static size_t
events_str(const struct events *ev, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "[");
    for (unsigned k = 0; k < ev->n && n < len; k++)
        n += (size_t)snprintf(
            buf + n, len - n, "%s%s %" PRIu64, k > 0 ? ", " : "",
            ev->e[k].kind == HX_ARENA_NEW ? "new" : "free", ev->e[k].id);
    if (n < len)
        n += (size_t)snprintf(buf + n, len - n, "%s]",
                              ev->overflow ? ", ..." : "");
    return n;
}

/* Count a divergence at op i; describe the first. */
static int
diverge(struct hx_mirror *m, size_t i, const char *fmt, const char *x,
        const char *y)
{
    const struct hx_op *op = &m->t->ops[i];
    if (m->res.divergences++ == 0) {
        char l[72];
        int n = snprintf(m->res.what, sizeof m->res.what, "op #%zu %s %s",
                         i + 1, hx_kind_name(op->kind),
                         hx_label_str(m->t, op->slot, l, sizeof l));
        // the size too, so the message reads like the trace's line
        if (n >= 0 && op->kind != HX_FREE && (size_t)n < sizeof m->res.what)
            n += snprintf(m->res.what + n, sizeof m->res.what - (size_t)n,
                          op->kind == HX_CALLOC ? " %" PRIu64 " %" PRIu64
                                                : " %" PRIu64,
                          op->a, op->b);
        if (n >= 0 && (size_t)n < sizeof m->res.what)
            snprintf(m->res.what + n, sizeof m->res.what - (size_t)n, fmt, x,
                     y);
        m->res.first = i;
    }
    return 1;
}

/* Compare the arena events recorded before op i with ours during it. */
static int
compare_events(struct hx_mirror *m, size_t i)
{
    bool same = m->rec.n == m->ours.n && !m->rec.overflow && !m->ours.overflow;
    for (unsigned k = 0; same && k < m->rec.n; k++)
        same = m->rec.e[k].kind == m->ours.e[k].kind
               && m->rec.e[k].id == m->ours.e[k].id;
    char a[96], b[96];
    if (!same) {
        events_str(&m->rec, a, sizeof a);
        events_str(&m->ours, b, sizeof b);
    }
    m->rec.n = m->ours.n = 0;
    m->rec.overflow = m->ours.overflow = false;
    if (same)
        return 0;
    return diverge(m, i, ": arena events differ: CPython %s, the core %s", a,
                   b);
}

static int
note_arena(struct hx_mirror *m, const struct hx_op *op)
{
    if (op->kind == HX_ARENA_NEW) {
        if (m->noffsets == m->offcap) {
            size_t cap = m->offcap == 0 ? 64 : m->offcap * 2;
            uint64_t *v = realloc(m->offsets, cap * sizeof *v);
            if (v == NULL)
                return -1;
            m->offsets = v;
            m->offcap = cap;
        }
        // ids are 1, 2, ... in order (hx_validate), so the index is the id
        m->offsets[m->noffsets++] = op->b;
        m->res.arenas_new++;
    } else {
        m->res.arenas_free++;
    }
    log_event(&m->rec, op->kind, op->a);
    return 0;
}

/* Do a block op on our heap; return the block it handed out, or NULL. */
static void *
execute(struct hx_mirror *m, const struct hx_op *op)
{
    void **slot = &m->ptr[op->slot];
    void *p = NULL;
    switch (op->kind) {
    case HX_MALLOC:
        p = *slot = obm_malloc(m->h, (size_t)op->a);
        break;
    case HX_CALLOC:
        p = *slot = obm_calloc(m->h, (size_t)op->a, (size_t)op->b);
        break;
    case HX_REALLOC:
        // a failed realloc leaves the block as it was
        p = obm_realloc(m->h, *slot, (size_t)op->a);
        if (p != NULL)
            *slot = p;
        break;
    default:
        obm_free(m->h, *slot);
        *slot = NULL;
        break;
    }
    return p;
}

static int
grow_slots(struct hx_mirror *m)
{
    size_t n = m->t->nslots;
    if (n <= m->nptr)
        return 0;
    size_t cap = m->nptr == 0 ? 1024 : m->nptr;
    while (cap < n)
        cap *= 2;
    void **v = realloc(m->ptr, cap * sizeof *v);
    if (v == NULL)
        return -1;
    memset(v + m->nptr, 0, (cap - m->nptr) * sizeof *v);
    m->ptr = v;
    m->nptr = cap;
    return 0;
}

int
hx_mirror_step(struct hx_mirror *m, size_t i)
{
    const struct hx_op *op = &m->t->ops[i];
    m->res.ops++;
    if (op->kind == HX_ARENA_NEW || op->kind == HX_ARENA_FREE)
        return note_arena(m, op) != 0
                   ? diverge(m, i, ": out of memory%s%s", "", "")
                   : 0;
    if (op->kind > HX_FREE)
        return 0;
    if (grow_slots(m) != 0)
        return diverge(m, i, ": out of memory%s%s", "", "");
    void *p = execute(m, op);
    int rc = compare_events(m, i);
    uint64_t real = m->t->place != NULL ? m->t->place[i] : HX_PLACE_NONE;
    if (op->kind == HX_FREE || real == HX_PLACE_NONE)
        return rc;
    m->res.compared++;
    uint64_t ours = our_place(m, p);
    if (ours == real || rc != 0)
        return rc;
    char a[48], b[48];
    return diverge(m, i, ": placed at %s by CPython, at %s by the core",
                   hx_place_str(real, a, sizeof a),
                   hx_place_str(ours, b, sizeof b));
}

int
hx_mirror_finish(struct hx_mirror *m)
{
    if (m->rec.n == 0 && m->ours.n == 0)
        return 0;
    size_t last = m->t->nops > 0 ? m->t->nops - 1 : 0;
    return m->t->nops > 0 ? compare_events(m, last) : 0;
}

void
hx_mirror_result(const struct hx_mirror *m, struct hx_mirror_result *r)
{
    *r = m->res;
}

int
hx_write_prefix(const struct hx_trace *t, size_t n, const char *path)
{
    struct hx_trace p = *t;
    p.nops = n < t->nops ? n : t->nops;
    // notes after the last op kept would print at the end: drop them
    p.nnotes = 0;
    while (p.nnotes < t->nnotes && t->notes[p.nnotes].at < p.nops)
        p.nnotes++;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    size_t len = strlen(path);
    bool binary = len >= 4 && strcmp(path + len - 4, ".obt") == 0;
    int rc = binary ? hx_write_binary(&p, f) : hx_write_text(&p, f);
    if (fclose(f) != 0 || rc != 0) {
        errno = errno != 0 ? errno : EIO;
        return -1;
    }
    return 0;
}

void
hx_mirror_print(const struct hx_mirror_result *r, const char *name,
                double seconds, FILE *out)
{
    fprintf(out,
            "%s: mirror py311: %lu ops, %lu placements compared, %lu arena "
            "requests, %lu releases, %.2f s: %lu divergence%s\n",
            name, r->ops, r->compared, r->arenas_new, r->arenas_free, seconds,
            r->divergences, r->divergences == 1 ? "" : "s");
    if (r->divergences > 0)
        fprintf(out, "%s: first divergence: %s\n", name, r->what);
}
