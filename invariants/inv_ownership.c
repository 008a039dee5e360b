/* inv_ownership.c — the ownership test's state: the legacy arenaindex
 * test (O1), the radix tree (O2-O5), and the caller's live set (P8, P10,
 * C5 duplicates).  Radix node pointers are trusted once non-NULL and
 * aligned: only the counters (O4) can tell a damaged node pointer. */
#include "inv_internal.h"

#include <string.h>

#define PTR(x) ((uint64_t)(uintptr_t)(x))

void
inv_check_legacy_owner(struct inv_ctx *c, unsigned ai, uintptr_t q)
{
    unsigned idx = ((const struct obm_pool *)q)->arenaindex;
    uintptr_t address = idx < c->maxarenas ? c->arenas[idx].address : 0;
    if (idx >= c->maxarenas || address == 0 || q - address >= c->g->arena_size)
        inv_fail(c, "O1", ai, -1, q, 0, INV_VAL_UNSIGNED, ai, idx,
                 "the legacy ownership test rejects the pool");
}

/* --- The radix tree -------------------------------------------------------
 */

static uintptr_t
mask(unsigned bits)
{
    return ((uintptr_t)1 << bits) - 1;
}

static bool
node_ok(const void *node)
{
    return node != NULL && (uintptr_t)node % sizeof(void *) == 0;
}

/* Return the leaf entry covering p, or NULL if a node is missing. */
static const struct obm_arena_coverage *
leaf_of(const struct inv_ctx *c, uintptr_t p)
{
    const unsigned *sh = c->radix_shift;
    const uintptr_t *m = c->radix_mask;
    const void *const *mid = c->v->radix_root[(p >> sh[0]) & m[0]];
    if (!node_ok(mid))
        return NULL;
    const struct obm_arena_coverage *bot = mid[(p >> sh[1]) & m[1]];
    if (!node_ok(bot))
        return NULL;
    return &bot[(p >> sh[2]) & m[2]];
}

/* The radix query: does the map say p is in an arena? */
static bool
radix_owns(const struct inv_ctx *c, uintptr_t p)
{
    const struct obm_arena_coverage *e = leaf_of(c, p);
    if (e == NULL)
        return false;
    int32_t t = (int32_t)(p & (c->g->arena_size - 1));
    return t < e->tail_lo || (e->tail_hi != 0 && t >= e->tail_hi);
}

bool
inv_check_radix_arena(struct inv_ctx *c, unsigned i, bool report)
{
    uintptr_t address = c->arenas[i].address;
    int32_t t = (int32_t)(address & (c->g->arena_size - 1));
    const struct obm_arena_coverage *hi = leaf_of(c, address);
    int32_t want = t == 0 ? -1 : t;
    if (hi == NULL || hi->tail_hi != want) {
        if (report)
            inv_fail(c, "O2", i, -1, 0, 0, INV_VAL_SIGNED, (uint64_t)want,
                     (uint64_t)(hi ? hi->tail_hi : 0),
                     "tail_hi at the arena's region is not its mark");
        return false;
    }
    if (t == 0)
        return true;
    const struct obm_arena_coverage *lo =
        leaf_of(c, address + c->g->arena_size);
    if (lo == NULL || lo->tail_lo != t) {
        if (report)
            inv_fail(c, "O2", i, -1, 0, 0, INV_VAL_SIGNED, (uint64_t)t,
                     (uint64_t)(lo ? lo->tail_lo : 0),
                     "tail_lo at the next region is not the arena's mark");
        return false;
    }
    return true;
}

/* Return the index of the allocated record whose address is x, or -1. */
static long
arena_at(const struct inv_ctx *c, uintptr_t x)
{
    size_t lo = 0, hi = c->nslots;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->slots[mid].base < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < c->nslots && c->slots[lo].base == x
        && c->arenas[c->slots[lo].idx].address == x)
        return c->slots[lo].idx;
    // a miss costs a scan: untrusted arenas are not in the index
    for (unsigned i = 0; i < c->maxarenas; i++)
        if (c->arenas[i].address == x)
            return i;
    return -1;
}

/* O3 for one leaf entry covering the region at r. */
static void
check_leaf_entry(struct inv_ctx *c, uintptr_t r,
                 const struct obm_arena_coverage *e)
{
    int32_t hi = e->tail_hi, lo = e->tail_lo;
    int32_t size = (int32_t)c->g->arena_size;
    const char *bad = NULL;
    if (hi < -1 || hi >= size || lo < 0 || lo >= size)
        bad = "leaf field out of range";
    else if (hi == -1 && lo != 0)
        bad = "tail_hi == -1 with tail_lo != 0";
    else if (hi > 0 && lo > 0 && lo > hi)
        bad = "tail_lo > tail_hi";
    else if (hi != 0 && arena_at(c, hi == -1 ? r : r + (uintptr_t)hi) < 0)
        bad = "tail_hi mark has no allocated arena (stale)";
    else if (lo > 0 && arena_at(c, r - c->g->arena_size + (uintptr_t)lo) < 0)
        bad = "tail_lo mark has no allocated arena (stale)";
    if (bad != NULL)
        inv_fail(c, "O3", -1, -1, r, 0, INV_VAL_SIGNED, (uint64_t)hi,
                 (uint64_t)lo,
                 "%s (region 0x%llx; values: tail_hi, "
                 "tail_lo)",
                 bad, (unsigned long long)r);
}

/* Return the first index >= i below n whose 8-byte entry in base is not
 * all zero, or n.  Radix nodes are mostly zero and FULL may run after
 * every op in a fuzz campaign, so eight entries are tested with one
 * branch, and the loop carries no coverage callbacks. */
INV_SCAN static size_t
next_nonzero(const void *base, size_t i, size_t n)
{
    const inv_word *w = base;
    for (; i + 8 <= n; i += 8)
        if ((w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5]
             | w[i + 6] | w[i + 7])
            != 0)
            break;
    for (; i < n; i++)
        if (w[i] != 0)
            return i;
    return n;
}

/* Walk every node: O4 counts, O3 leaf entries. */
static void
walk_tree(struct inv_ctx *c)
{
    _Static_assert(sizeof(void *) == 8, "nodes hold 8-byte pointers");
    _Static_assert(sizeof(struct obm_arena_coverage) == 8,
                   "leaf entries are 8 bytes");
    const struct obm_geometry *g = c->g;
    unsigned ab = g->arena_bits, bb = g->radix_bot_bits;
    unsigned mb = g->radix_mid_bits;
    size_t ntop = (size_t)mask(g->radix_top_bits) + 1;
    size_t nmidn = (size_t)mask(mb) + 1, nbotn = (size_t)mask(bb) + 1;
    size_t nmid = 0, nbot = 0;
    void *const *root = c->v->radix_root;
    for (size_t ti = next_nonzero(root, 0, ntop); ti < ntop;
         ti = next_nonzero(root, ti + 1, ntop)) {
        const void *const *mid = root[ti];
        if (!node_ok(mid))
            continue;
        nmid++;
        for (size_t mi = next_nonzero(mid, 0, nmidn); mi < nmidn;
             mi = next_nonzero(mid, mi + 1, nmidn)) {
            const struct obm_arena_coverage *bot = mid[mi];
            if (!node_ok(bot))
                continue;
            nbot++;
            for (size_t bi = next_nonzero(bot, 0, nbotn); bi < nbotn;
                 bi = next_nonzero(bot, bi + 1, nbotn))
                check_leaf_entry(c,
                                 (uintptr_t)ti << (ab + bb + mb)
                                     | (uintptr_t)mi << (ab + bb)
                                     | (uintptr_t)bi << ab,
                                 &bot[bi]);
        }
    }
    if (nmid != (size_t)*c->v->arena_map_mid_count)
        inv_fail(c, "O4", -1, -1, 0, 0, INV_VAL_SIGNED, nmid,
                 (uint64_t)(int64_t)*c->v->arena_map_mid_count,
                 "arena_map_mid_count != mid nodes");
    if (nbot != (size_t)*c->v->arena_map_bot_count)
        inv_fail(c, "O4", -1, -1, 0, 0, INV_VAL_SIGNED, nbot,
                 (uint64_t)(int64_t)*c->v->arena_map_bot_count,
                 "arena_map_bot_count != bottom nodes");
}

/* Return whether some allocated record's [address, +ARENA_SIZE) holds p. */
static bool
in_some_arena(const struct inv_ctx *c, uintptr_t p)
{
    for (unsigned i = 0; i < c->maxarenas; i++) {
        uintptr_t a = c->arenas[i].address;
        if (a != 0 && p - a < c->g->arena_size)
            return true;
    }
    return false;
}

/* O5 at the ends of arena i: owned inside, not owned just outside. */
static void
check_query(struct inv_ctx *c, unsigned i)
{
    uintptr_t a = c->arenas[i].address, size = c->g->arena_size;
    uintptr_t probes[4] = {a, a + size - 1, a - 1, a + size};
    for (int k = 0; k < 4; k++) {
        bool owned = radix_owns(c, probes[k]);
        // outside, a neighbouring arena may own the byte: ask only then
        if (owned != (k < 2) && (k < 2 || !in_some_arena(c, probes[k])))
            inv_fail(c, "O5", i, -1, 0, probes[k], INV_VAL_UNSIGNED, k < 2,
                     owned, "the radix query is wrong %s the arena",
                     k < 2 ? "inside" : "just outside");
    }
}

/* The memo of the last clean tree walk: the arena set (a hash of the
 * sorted bases, their number and ntimes_arena_allocated), the node
 * counts and the root.  Zero means none. */
static void
radix_key(const struct inv_ctx *c, uint64_t key[4])
{
    uint64_t h = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < c->nslots; i++) {
        h ^= c->arenas[c->slots[i].idx].address;
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 33;
    }
    key[0] = h | 1;
    key[1] = (uint64_t)c->nslots << 32 ^ *c->v->ntimes_arena_allocated;
    key[2] = (uint64_t)(uint32_t)*c->v->arena_map_mid_count << 32
             | (uint32_t)*c->v->arena_map_bot_count;
    key[3] = (uint64_t)(uintptr_t)c->v->radix_root;
}

/* Return the scratch that holds the memo: only when this check indexed
 * the arenas in it, so that c->slots is the arena set; else NULL. */
static struct inv_scratch *
radix_memo(const struct inv_ctx *c)
{
    struct inv_scratch *sc = c->v->scratch;
    return sc != NULL && c->slots != NULL && c->slots == sc->mem ? sc : NULL;
}

/* Return whether the tree walk can be skipped: the memo matches. */
static bool
radix_unchanged(const struct inv_ctx *c)
{
    const struct inv_scratch *sc = radix_memo(c);
    if (sc == NULL)
        return false;
    uint64_t key[4];
    radix_key(c, key);
    return memcmp(key, sc->radix_key, sizeof key) == 0;
}

/* Remember a walk that found nothing, for radix_unchanged(). */
static void
radix_remember(const struct inv_ctx *c, size_t before)
{
    struct inv_scratch *sc = radix_memo(c);
    if (sc == NULL)
        return;
    memset(sc->radix_key, 0, sizeof sc->radix_key);
    if (c->out->total == before)
        radix_key(c, sc->radix_key);
}

void
inv_check_radix_full(struct inv_ctx *c)
{
    if (c->v->radix_root == NULL || !c->vector_ok)
        return;
    if (!radix_unchanged(c)) {
        size_t before = c->out->total;
        walk_tree(c);
        radix_remember(c, before);
    }
    for (unsigned i = 0; i < c->maxarenas; i++)
        if (c->arenas[i].address != 0
            && c->arenas[i].address <= UINTPTR_MAX - 2 * c->g->arena_size)
            check_query(c, i);
}
