/* alloc_probe.c — the contract probes a trace cannot express: huge sizes,
 * free(NULL), realloc's NULL and 0 cases, calloc overflow, and whether
 * memory is reused after free under a steady churn (K8, K11-K14).
 *
 * Each probe is one numbered step, so that when the allocator crashes
 * inside one the parent process can name the probe's own ID.
 */
#include "hx_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* K14: a live set of CHURN_LIVE blocks of 1..CHURN_MAX bytes, one block
 * replaced per step.  After CHURN_WARM steps the pages touched so far are
 * counted; after CHURN_STEPS they may be at most twice as many plus
 * CHURN_SLACK.  An allocator that never reuses a freed block touches about
 * ten times as many by then (steps x mean size / page), one that reuses
 * them touches hardly any new page after the warm-up. */
#define CHURN_LIVE 512
#define CHURN_MAX 512
#define CHURN_WARM 20000
#define CHURN_STEPS 200000
#define CHURN_SLACK 256
#define PAGE_SHIFT 12
#define PAGESET_CAP (1u << 17) /* distinct pages counted at most */

// a crash in a probe of one call is that call's finding; the churn is a
// workload like any other
static const struct hx_probe probes[] = {
    {"K12", "K12", "free(NULL)"},    {"K11", "K11", "huge sizes"},
    {"K8", "K8", "calloc overflow"}, {"K13", "K13", "realloc(NULL, n)"},
    {"K13", "K13", "realloc(p, 0)"}, {"K14", "K15", "steady churn"},
};

const struct hx_probe *
hx_probes(size_t *n)
{
    *n = sizeof probes / sizeof probes[0];
    return probes;
}

struct probe {
    const struct hx_allocator *a;
    struct hx_run_result *res;
    size_t k;
};

/* Record probe pr's finding; return 1. */
__attribute__((format(printf, 4, 5))) static int
fail(struct probe *pr, uint64_t expected, uint64_t found, const char *fmt, ...)
{
    struct inv_violation v;
    memset(&v, 0, sizeof v);
    v.id = probes[pr->k].id;
    v.arena = v.szidx = -1;
    v.kind = INV_VAL_UNSIGNED;
    v.expected = expected;
    v.found = found;
    v.opno = pr->k + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v.message, sizeof v.message, fmt, ap);
    va_end(ap);
    struct hx_run_result *res = pr->res;
    if (res->first_op == 0) {
        res->first_op = pr->k + 1;
        snprintf(res->what, sizeof res->what, "probe %s", probes[pr->k].name);
    }
    hx_report_add(&res->report, &v);
    return 1;
}

/* Return a block of n bytes filled with a known byte, or NULL. */
static uint8_t *
filled(const struct hx_allocator *a, size_t n, uint8_t byte)
{
    uint8_t *p = a->malloc(a->ctx, n);
    if (p != NULL)
        memset(p, byte, n);
    return p;
}

static bool
holds(const uint8_t *p, size_t n, uint8_t byte)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != byte)
            return false;
    return true;
}

static int
probe_free_null(struct probe *pr)
{
    const struct hx_allocator *a = pr->a;
    uint8_t *keep = filled(a, 48, 0x5a);
    for (int i = 0; i < 3; i++)
        a->free(a->ctx, NULL);
    uint8_t *p = filled(a, 64, 0x33);
    int bad = 0;
    if (keep == NULL || p == NULL)
        bad = fail(pr, 1, 0, "malloc failed after free(NULL)");
    else if (!holds(keep, 48, 0x5a))
        bad = fail(pr, 0x5a, keep[0], "free(NULL) changed a live block");
    a->free(a->ctx, p);
    a->free(a->ctx, keep);
    return bad;
}

/* Fail if q, the result of a huge request, is a block (and give it back). */
static int
huge_result(struct probe *pr, void *q, const char *call, size_t n)
{
    if (q == NULL)
        return 0;
    pr->a->free(pr->a->ctx, q);
    return fail(pr, 0, (uintptr_t)q, "%s(%zu) returned %p", call, n, q);
}

static int
probe_huge(struct probe *pr)
{
    const struct hx_allocator *a = pr->a;
    const size_t sizes[] = {PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1,
                            SIZE_MAX - 4095, SIZE_MAX};
    uint8_t *keep = filled(a, 64, 0xc3);
    if (keep == NULL)
        return fail(pr, 1, 0, "malloc(64) returned NULL");
    int bad = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0] && !bad; i++) {
        size_t n = sizes[i];
        bad = huge_result(pr, a->malloc(a->ctx, n), "malloc", n);
        if (!bad)
            bad = huge_result(pr, a->calloc(a->ctx, 1, n), "calloc 1,", n);
        void *q = bad ? NULL : a->realloc(a->ctx, keep, n);
        if (q != NULL)
            keep = NULL; // realloc gave it up; huge_result frees q
        if (!bad)
            bad = huge_result(pr, q, "realloc", n);
        if (!bad && !holds(keep, 64, 0xc3))
            bad = fail(pr, 0xc3, keep[0],
                       "a failed realloc(p, %zu) changed the block", n);
    }
    if (keep != NULL)
        a->free(a->ctx, keep);
    return bad;
}

static int
probe_calloc_overflow(struct probe *pr)
{
    const struct hx_allocator *a = pr->a;
    const size_t pairs[][2] = {{SIZE_MAX / 2 + 1, 2},
                               {(size_t)1 << 32, (size_t)1 << 32},
                               {SIZE_MAX, SIZE_MAX},
                               {3, SIZE_MAX / 3 + 1}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        void *q = a->calloc(a->ctx, pairs[i][0], pairs[i][1]);
        if (q != NULL) {
            a->free(a->ctx, q);
            return fail(pr, 0, (uintptr_t)q,
                        "calloc(%zu, %zu) overflows, yet returned %p",
                        pairs[i][0], pairs[i][1], q);
        }
    }
    return 0;
}

static int
probe_realloc_null(struct probe *pr)
{
    const struct hx_allocator *a = pr->a;
    const size_t sizes[] = {1, 24, 100, 1000, 70000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *p = a->realloc(a->ctx, NULL, sizes[i]);
        if (p == NULL)
            return fail(pr, 1, 0, "realloc(NULL, %zu) returned NULL",
                        sizes[i]);
        size_t align = hx_alignment_for(a, sizes[i]);
        if ((uintptr_t)p % align != 0) {
            a->free(a->ctx, p);
            return fail(pr, 0, (uintptr_t)p % align,
                        "realloc(NULL, %zu) returned misaligned %p", sizes[i],
                        (void *)p);
        }
        memset(p, 0x77, sizes[i]);
        a->free(a->ctx, p);
    }
    return 0;
}

static int
probe_realloc_zero(struct probe *pr)
{
    const struct hx_allocator *a = pr->a;
    for (int i = 0; i < 4; i++) {
        uint8_t *p = filled(pr->a, 40 + 300 * (size_t)i, 0x11);
        if (p == NULL)
            return fail(pr, 1, 0, "malloc returned NULL");
        void *q = a->realloc(a->ctx, p, 0);
        if (q == NULL && a->realloc_zero == HX_RZ_BLOCK)
            return fail(pr, 1, 0,
                        "realloc(p, 0) returned NULL; declared: a block");
        if (q != NULL)
            a->free(a->ctx, q);
        if (q != NULL && a->realloc_zero == HX_RZ_FREES)
            return fail(pr, 0, (uintptr_t)q,
                        "realloc(p, 0) returned %p; declared: frees p, NULL",
                        q);
    }
    return 0;
}

/* Count p's page in set (open addressing); return false once it is full. */
static bool
touch(uint64_t *set, size_t *n, uintptr_t p)
{
    uint64_t page = (uint64_t)(p >> PAGE_SHIFT) + 1;
    size_t i = (size_t)(page * UINT64_C(0x9e3779b97f4a7c15) >> 47)
               & (PAGESET_CAP - 1);
    while (set[i] != 0 && set[i] != page)
        i = (i + 1) & (PAGESET_CAP - 1);
    if (set[i] == 0) {
        set[i] = page;
        ++*n;
    }
    return *n < PAGESET_CAP / 2;
}

static int
probe_churn(struct probe *pr)
{
    const struct hx_allocator *a = pr->a;
    uint64_t *set = calloc(PAGESET_CAP, sizeof *set);
    uint8_t **live = calloc(CHURN_LIVE, sizeof *live);
    size_t pages = 0, warm = 0;
    uint64_t rng = 1;
    bool room = set != NULL && live != NULL, nulled = false;
    for (unsigned long s = 0; s < CHURN_STEPS + CHURN_LIVE && room; s++) {
        // splitmix64: the same churn for every allocator
        uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z ^= z >> 27;
        size_t slot = s < CHURN_LIVE ? s : (size_t)(z % CHURN_LIVE);
        size_t n = 1 + (size_t)((z >> 32) % CHURN_MAX);
        a->free(a->ctx, live[slot]);
        live[slot] = a->malloc(a->ctx, n);
        if ((nulled = live[slot] == NULL))
            break;
        live[slot][0] = live[slot][n - 1] = (uint8_t)s;
        room = touch(set, &pages, (uintptr_t)live[slot])
               && touch(set, &pages, (uintptr_t)live[slot] + n - 1);
        if (s == CHURN_WARM + CHURN_LIVE)
            warm = pages;
    }
    for (size_t i = 0; live != NULL && i < CHURN_LIVE; i++)
        a->free(a->ctx, live[i]);
    int bad = 0;
    // no memory for the page set is the harness's problem, not a finding
    if (set == NULL || live == NULL)
        bad = 0;
    else if (nulled)
        bad = fail(pr, 1, 0, "malloc returned NULL during the churn");
    else if (!room || pages > 2 * warm + CHURN_SLACK)
        bad = fail(pr, 2 * warm + CHURN_SLACK, pages,
                   "%zu pages touched after %d churn steps, %zu after %d",
                   pages, CHURN_STEPS, warm, CHURN_WARM);
    free(set);
    free(live);
    return bad;
}

int
hx_probe_run(const struct hx_allocator *a, size_t k, struct hx_run_result *res)
{
    static int (*const fns[])(struct probe *) = {
        probe_free_null,    probe_huge,         probe_calloc_overflow,
        probe_realloc_null, probe_realloc_zero, probe_churn};
    struct probe pr = {a, res, k};
    return fns[k](&pr);
}
