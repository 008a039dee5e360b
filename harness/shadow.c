/* shadow.c — the shadow model: every live block, its bytes, its contract.
 *
 * Byte i of the block of slot s is byte i % 8 of the word
 * seed(s) + (i / 8) * STEP, so blocks differ from each other and a block's
 * words differ from each other: a copy that lost, shifted or mixed bytes
 * shows.  The pattern covers the usable size, so an overflow into the
 * slack past the requested size shows too (K10).
 */
#include "hx_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define STEP UINT64_C(0xd1b54a32d192ed03)

static const struct hx_k_entry k_entries[] = {
    {"K1", "a block handed out overlaps a live block"},
    {"K2", "a block handed out is misaligned for the profile (ALIGNMENT), "
           "or for a loaded allocator's declared alignment"},
    {"K3", "realloc kept fewer than min(old size, new size) bytes"},
    {"K4", "a calloc block is not zeroed"},
    {"K5", "a live block's bytes changed without its owner writing them"},
    {"K6", "a pointer was handed out while it was still live"},
    {"K7", "a block's usable size (a pool block's, or what a loaded "
           "allocator reports) is below the size asked for"},
    {"K8", "NULL where the allocation must succeed (the raw allocator did "
           "not fail), or a block where it must fail (calloc overflow)"},
    {"K9", "arenas remain once every block is freed (beyond the 3.9+ "
           "wholly free tail arena)"},
    {"K10", "the slack between a block's requested and usable size changed"},
    {"K11", "malloc, calloc or realloc of a huge size (>= PTRDIFF_MAX) "
            "returned a block"},
    {"K12", "free(NULL) was not harmless (it crashed, or the heap failed "
            "after it)"},
    {"K13", "realloc(NULL, n) did not act as malloc(n), or realloc(p, 0) "
            "did not act as the allocator declares"},
    {"K14", "memory is not reused after free: pages touched keep growing "
            "under a steady churn"},
    {"K15", "the allocator under test crashed (a signal, an early exit) or "
            "hung past the deadline"},
};

const struct hx_k_entry *
hx_k_catalogue(size_t *n)
{
    *n = sizeof k_entries / sizeof k_entries[0];
    return k_entries;
}

#define HUGE_PAGE ((size_t)2 << 20)

/* Return n zeroed block records.  A large trace's records are read in the
 * trace's order, which for frees is random: on 2 MiB pages (when the
 * kernel grants them) those reads miss the TLB far less. */
static struct hx_block *
records_new(size_t n)
{
    size_t bytes = n * sizeof(struct hx_block);
    if (bytes < 2 * HUGE_PAGE)
        return calloc(n, sizeof(struct hx_block));
    void *p = NULL;
    bytes = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0)
        return NULL;
    madvise(p, bytes, MADV_HUGEPAGE);
    memset(p, 0, bytes);
    return p;
}

int
hx_shadow_open(struct hx_shadow *s, obm_heap *h, const struct hx_trace *t,
               struct inv_report *out)
{
    memset(s, 0, sizeof *s);
    s->h = h;
    s->g = h != NULL ? obm_heap_geometry(h) : NULL;
    s->t = t;
    s->out = out;
    s->nslots = t->nslots;
    size_t n = t->nslots > 0 ? t->nslots : 1;
    s->blocks = records_new(n);
    s->live = malloc(n * sizeof *s->live);
    s->map = hx_granules_new();
    if (s->blocks == NULL || s->live == NULL || s->map == NULL) {
        hx_shadow_close(s);
        return -1;
    }
    return 0;
}

void
hx_shadow_close(struct hx_shadow *s)
{
    free(s->blocks);
    free(s->live);
    free(s->live_slot);
    free(s->added);
    free(s->gone);
    hx_granules_free(s->map);
    s->blocks = NULL;
    s->live = NULL;
    s->live_slot = NULL;
    s->added = NULL;
    s->gone = NULL;
    s->map = NULL;
}

void
hx_report_add(struct inv_report *r, const struct inv_violation *v)
{
    if (r->nkept < INV_MAX_KEPT)
        r->kept[r->nkept++] = *v;
    r->total++;
    if (r->on_violation != NULL)
        r->on_violation(r->ctx, v);
    inv_on_violation(v);
}

void
hx_shadow_fail(struct hx_shadow *s, const char *id, uint32_t slot,
               uintptr_t at, uint64_t expected, uint64_t found,
               const char *fmt, ...)
{
    struct inv_violation v;
    memset(&v, 0, sizeof v);
    v.id = id;
    v.arena = -1;
    v.szidx = -1;
    v.block = at;
    v.kind = INV_VAL_UNSIGNED;
    v.expected = expected;
    v.found = found;
    v.opno = s->opno;
    char label[72];
    int k =
        snprintf(v.message, sizeof v.message,
                 "block %s: ", hx_label_str(s->t, slot, label, sizeof label));
    if (k > 0 && (size_t)k < sizeof v.message) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v.message + k, sizeof v.message - (size_t)k, fmt, ap);
        va_end(ap);
    }
    hx_report_add(s->out, &v);
}

static uint64_t
seed_of(uint32_t slot)
{
    uint64_t z = ((uint64_t)slot + 1) * UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 31)) * UINT64_C(0xbf58476d1ce4e5b9);
    return z ^ (z >> 29);
}

static void
fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t w = seed;
    size_t i = 0;
    for (; i + 8 <= n; i += 8, w += STEP)
        memcpy(p + i, &w, 8);
    if (i < n)
        memcpy(p + i, &w, n - i);
}

/* Return the first offset in [0, n) whose byte differs from the pattern,
 * or n; *want gets the byte expected there. */
// the blocks are the allocator's (its region, or libc's for raw ones),
// read within their usable size: ASan's checks would only cost
HX_SCAN __attribute__((no_sanitize("address"))) static size_t
mismatch(const uint8_t *p, size_t n, uint64_t seed, uint8_t *want)
{
    uint64_t w = seed;
    size_t i = 0;
    // four words a test, without a branch each: this loop reads every
    // byte a FULL check verifies
    for (; i + 32 <= n; i += 32, w += 4 * STEP) {
        uint64_t got[4];
        memcpy(got, p + i, 32);
        if (((got[0] ^ w) | (got[1] ^ (w + STEP)) | (got[2] ^ (w + 2 * STEP))
             | (got[3] ^ (w + 3 * STEP)))
            != 0)
            break;
    }
    for (; i + 8 <= n; i += 8, w += STEP) {
        uint64_t got;
        memcpy(&got, p + i, 8);
        if (got != w)
            break;
    }
    uint8_t bytes[8];
    for (; i < n; i++) {
        if (i % 8 == 0) {
            memcpy(bytes, &w, 8);
            w += STEP;
        }
        if (p[i] != bytes[i % 8]) {
            *want = bytes[i % 8];
            return i;
        }
    }
    return n;
}

/* Return the slot other than self whose live block covers address a. */
static uint32_t
owner_of(const struct hx_shadow *s, uintptr_t a, uint32_t self)
{
    for (uint32_t k = 0; k < s->nslots; k++) {
        const struct hx_block *b = &s->blocks[k];
        uintptr_t lo = (uintptr_t)b->p;
        uint64_t n = b->usable > 0 ? b->usable : 1;
        if (k != self && b->state == SH_LIVE && lo <= a && a - lo < n)
            return k;
    }
    return HX_NO_SLOT;
}

static void
check_overlap(struct hx_shadow *s, uint32_t slot, uint8_t *p, size_t n)
{
    uintptr_t hit = hx_granules_mark(s->map, (uintptr_t)p, n, true);
    if (hit == 0)
        return;
    uint32_t other = owner_of(s, hit, slot);
    char label[72];
    hx_label_str(s->t, other, label, sizeof label);
    if (other != HX_NO_SLOT && s->blocks[other].p == p)
        hx_shadow_fail(s, "K6", slot, (uintptr_t)p, 0, (uintptr_t)p,
                       "%p handed out again while block %s holds it",
                       (void *)p, label);
    else
        hx_shadow_fail(s, "K1", slot, hit, 0, hit,
                       "[%p, +%zu) overlaps live block %s at %p", (void *)p, n,
                       label, (void *)hit);
}

static void
check_new_block(struct hx_shadow *s, uint32_t slot, uint8_t *p, uint64_t size)
{
    struct hx_block *b = &s->blocks[slot];
    const struct hx_allocator *a = s->a;
    size_t align = a != NULL ? hx_alignment_for(a, size) : s->g->alignment;
    if ((uintptr_t)p % align != 0)
        hx_shadow_fail(s, "K2", slot, (uintptr_t)p, 0, (uintptr_t)p % align,
                       "%p is not a multiple of ALIGNMENT %zu", (void *)p,
                       align);
    // a loaded allocator's usable size is 0 when it does not say; with a
    // view, 0 also marks a block no pool holds, as obm_usable_size does
    size_t usable = a == NULL        ? obm_usable_size(s->h, p)
                    : a->usable_size ? a->usable_size(a->ctx, p)
                                     : 0;
    b->raw = usable == 0;
    b->usable = (uint32_t)(b->raw ? size : usable);
    if (!b->raw && usable < size)
        hx_shadow_fail(s, "K7", slot, (uintptr_t)p, size, usable,
                       "usable size %zu below the %llu bytes asked", usable,
                       (unsigned long long)size);
    check_overlap(s, slot, p, b->usable);
    hx_shadow_unlisted(s, slot); // the block before, if it was never freed
    b->p = p;
    b->size = size;
    b->state = SH_LIVE;
    hx_shadow_listed(s, slot);
    if (b->raw)
        s->nraw++;
    else
        s->nlive++;
}

void
hx_shadow_alloc(struct hx_shadow *s, uint32_t slot, void *p, uint64_t size,
                bool zeroed)
{
    uint8_t *q = p;
    if (zeroed) {
        for (uint64_t i = 0; i < size; i++) {
            if (q[i] != 0) {
                hx_shadow_fail(
                    s, "K4", slot, (uintptr_t)q + i, 0, q[i],
                    "calloc block has a non-zero byte at offset %llu",
                    (unsigned long long)i);
                break;
            }
        }
    }
    check_new_block(s, slot, q, size);
    fill(q, s->blocks[slot].usable, seed_of(slot));
}

void
hx_shadow_verify(struct hx_shadow *s, uint32_t slot)
{
    const struct hx_block *b = &s->blocks[slot];
    uint8_t want = 0;
    size_t at = mismatch(b->p, b->usable, seed_of(slot), &want);
    if (at == b->usable)
        return;
    if (at < b->size)
        hx_shadow_fail(s, "K5", slot, (uintptr_t)b->p + at, want, b->p[at],
                       "byte %zu of %llu changed", at,
                       (unsigned long long)b->size);
    else
        hx_shadow_fail(s, "K10", slot, (uintptr_t)b->p + at, want, b->p[at],
                       "slack byte %zu changed (asked %llu, usable %u)", at,
                       (unsigned long long)b->size, b->usable);
}

void
hx_shadow_release(struct hx_shadow *s, uint32_t slot)
{
    struct hx_block *b = &s->blocks[slot];
    hx_granules_mark(s->map, (uintptr_t)b->p, b->usable, false);
    hx_shadow_unlisted(s, slot);
    if (b->raw)
        s->nraw--;
    else
        s->nlive--;
    b->state = SH_FREED;
}

void
hx_shadow_realloc(struct hx_shadow *s, uint32_t slot, void *p, uint64_t size)
{
    struct hx_block *b = &s->blocks[slot];
    uint64_t kept = b->size < size ? b->size : size;
    uint8_t want = 0;
    size_t at = mismatch(p, (size_t)kept, seed_of(slot), &want);
    if (at < kept)
        hx_shadow_fail(s, "K3", slot, (uintptr_t)p + at, want,
                       ((uint8_t *)p)[at],
                       "realloc to %llu lost byte %zu of the %llu kept",
                       (unsigned long long)size, at, (unsigned long long)kept);
    hx_shadow_release(s, slot);
    check_new_block(s, slot, p, size);
    fill(p, s->blocks[slot].usable, seed_of(slot));
}

void
hx_shadow_verify_all(struct hx_shadow *s)
{
    for (uint32_t k = 0; k < s->nslots; k++)
        if (s->blocks[k].state == SH_LIVE)
            hx_shadow_verify(s, k);
}

void
hx_shadow_verify_some(struct hx_shadow *s, size_t budget)
{
    size_t done = 0;
    for (uint32_t n = 0; n < s->nslots && done < budget; n++) {
        uint32_t k = s->verify_next;
        s->verify_next = k + 1 < s->nslots ? k + 1 : 0;
        if (s->blocks[k].state == SH_LIVE) {
            hx_shadow_verify(s, k);
            done += s->blocks[k].usable;
        }
    }
}
