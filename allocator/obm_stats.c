/* obm_stats.c — the pymalloc report of sys._debugmallocstats() (facts §7):
 * one walk over every carved pool, then the byte ledger, whose lines must
 * add up to the arenas' total size (C3).  The "# times object malloc
 * called" line is left out: it prints the debug layer's serial number, and
 * this core has no debug layer (2.7 printed it only in debug builds). */
#include "obm_internal.h"

#include <string.h>

struct class_stats {
    size_t npools; /* pools with count > 0 */
    size_t inuse;  /* blocks handed out */
    size_t avail;  /* NUMBLOCKS - count, summed */
};

/* Print "label = value": label padded to 35 columns, value right-aligned in
 * 21 with thousands separators; return value so ledgers can sum it. */
static size_t
printone(FILE *out, const char *label, size_t value)
{
    char digits[32], grouped[48];
    int n = snprintf(digits, sizeof digits, "%zu", value);
    int j = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            grouped[j++] = ',';
        grouped[j++] = digits[i];
    }
    grouped[j] = '\0';
    fprintf(out, "%-35s=%21s\n", label, grouped);
    return value;
}

static void
walk_pools(const obm_heap *h, struct class_stats *cs, size_t *misaligned)
{
    const struct obm_geometry *g = h->g;
    for (unsigned i = 0; i < h->maxarenas; i++) {
        const struct obm_arena *a = &h->arenas[i];
        if (a->address == 0)
            continue;
        if (a->address & (g->pool_size - 1))
            ++*misaligned;
        uintptr_t first = (a->address + g->pool_size - 1) & h->pool_mask;
        for (uintptr_t q = first; q < (uintptr_t)a->pool_address;
             q += g->pool_size) {
            const struct obm_pool *pool = (const struct obm_pool *)q;
            if (pool->ref.count == 0 || pool->szidx >= g->nclasses)
                continue;
            struct class_stats *c = &cs[pool->szidx];
            c->npools++;
            c->inuse += pool->ref.count;
            c->avail += obm_numblocks(g, pool->szidx) - pool->ref.count;
        }
    }
}

static void
print_arena_map(const obm_heap *h, FILE *out)
{
    const struct obm_geometry *g = h->g;
    size_t root = ((size_t)1 << g->radix_top_bits) * sizeof(void *);
    size_t mid = (size_t)h->arena_map_mid_count
                 * ((size_t)1 << g->radix_mid_bits) * sizeof(void *);
    size_t bot = (size_t)h->arena_map_bot_count
                 * ((size_t)1 << g->radix_bot_bits)
                 * sizeof(struct obm_arena_coverage);
    fputs("\narena map counts\n", out);
    printone(out, "# arena map mid nodes", (size_t)h->arena_map_mid_count);
    printone(out, "# arena map bot nodes", (size_t)h->arena_map_bot_count);
    fputc('\n', out);
    printone(out, "# bytes lost to arena map root", root);
    printone(out, "# bytes lost to arena map mid", mid);
    printone(out, "# bytes lost to arena map bot", bot);
    printone(out, "Total", root + mid + bot);
}

void
obm_print_stats(const obm_heap *h, FILE *out)
{
    const struct obm_geometry *g = h->g;
    struct class_stats cs[OBM_MAX_USEDPOOLS / 2];
    memset(cs, 0, sizeof cs);
    size_t misaligned = 0;
    walk_pools(h, cs, &misaligned);

    fprintf(out, "Small block threshold = %u, in %u size classes.\n\n",
            g->threshold, g->nclasses);
    fputs("class   size   num pools   blocks in use  avail blocks\n"
          "-----   ----   ---------   -------------  ------------\n",
          out);
    size_t allocated = 0, available = 0, npools = 0, quantization = 0;
    for (unsigned i = 0; i < g->nclasses; i++) {
        const struct class_stats *c = &cs[i];
        if (c->npools == 0)
            continue;
        unsigned size = obm_blocksize(g, i);
        fprintf(out, "%5u %6u %11zu %15zu %13zu\n", i, size, c->npools,
                c->inuse, c->avail);
        allocated += c->inuse * size;
        available += c->avail * size;
        npools += c->npools;
        quantization += c->npools * ((g->pool_size - g->pool_overhead) % size);
    }
    fputc('\n', out);

    char label[64];
    size_t narenas = h->narenas_currently_allocated;
    printone(out, "# arenas allocated total", h->ntimes_arena_allocated);
    printone(out, "# arenas reclaimed", h->ntimes_arena_allocated - narenas);
    printone(out, "# arenas highwater mark", h->narenas_highwater);
    printone(out, "# arenas allocated current", narenas);
    snprintf(label, sizeof label, "%zu arenas * %zu bytes/arena", narenas,
             h->arena_size);
    printone(out, label, narenas * h->arena_size);
    fputc('\n', out);

    size_t unused = 0;
    for (unsigned i = 0; i < h->maxarenas; i++)
        if (h->arenas[i].address != 0)
            unused += h->arenas[i].nfreepools;
    size_t total = printone(out, "# bytes in allocated blocks", allocated);
    total += printone(out, "# bytes in available blocks", available);
    snprintf(label, sizeof label, "%zu unused pools * %u bytes", unused,
             g->pool_size);
    total += printone(out, label, unused * g->pool_size);
    total += printone(out, "# bytes lost to pool headers",
                      npools * g->pool_overhead);
    total += printone(out, "# bytes lost to quantization", quantization);
    total += printone(out, "# bytes lost to arena alignment",
                      misaligned * g->pool_size);
    printone(out, "Total", total);
    if (g->ownership == OBM_OWN_RADIX)
        print_arena_map(h, out);
}
