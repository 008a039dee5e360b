/* inv_catalogue.c — every invariant ID, its profiles, cost and statement.
 * The IDs are those of obmalloc-facts.md §5 plus derived ones (A12, A13,
 * C6, P9, P10, U5); CATALOGUE.md lists the same table in prose and a test
 * keeps the two in sync.  The B family (behavioural: one operation's
 * effect) is checked by inv_predict()/inv_verify(); A11 and U4 name the
 * same rules in the facts' terms and point at their B IDs. */
#include "inv_internal.h"

#include <string.h>

#define ALL INV_ALL_PROFILES
#define LEGACY                                                                \
    (INV_PROFILE(OBM_PY27) | INV_PROFILE(OBM_PY35) | INV_PROFILE(OBM_PY38)    \
     | INV_PROFILE(OBM_PY39))
#define NFP                                                                   \
    (INV_PROFILE(OBM_PY38) | INV_PROFILE(OBM_PY39) | INV_PROFILE(OBM_PY310)   \
     | INV_PROFILE(OBM_PY311))
#define RADIX (INV_PROFILE(OBM_PY310) | INV_PROFILE(OBM_PY311))

#define STATE(id, cost, prof, local, stmt)                                    \
    {                                                                         \
        id, INV_KIND_STATE, INV_COST_##cost, prof, false, local, stmt         \
    }
#define LIVE(id, cost, prof, stmt)                                            \
    {                                                                         \
        id, INV_KIND_STATE, INV_COST_##cost, prof, true, false, stmt          \
    }
#define BEHAV(id, stmt)                                                       \
    {                                                                         \
        id, INV_KIND_BEHAVIOUR, INV_COST_O1, ALL, false, false, stmt          \
    }
#define BEHAV_WALK(id, stmt)                                                  \
    {                                                                         \
        id, INV_KIND_BEHAVIOUR, INV_COST_HEAP, ALL, false, false, stmt        \
    }
#define DEBUG(id, stmt)                                                       \
    {                                                                         \
        id, INV_KIND_DEBUG, INV_COST_POOL, ALL, false, false, stmt            \
    }

static const struct inv_entry catalogue[] = {
    /* arenas vector and lists */
    STATE("A1", O1, ALL, true,
          "maxarenas == 0 iff the arenas vector is absent; otherwise "
          "maxarenas == 16 * 2^k"),
    STATE("A2", HEAP, ALL, true,
          "every record found on a list has that list's category: unused "
          "(address 0) or usable (address != 0, nfreepools > 0)"),
    STATE("A3", HEAP, ALL, true,
          "unused_arena_objects is acyclic, NULL-terminated, and holds "
          "exactly the records with address 0 "
          "(maxarenas - narenas_currently_allocated)"),
    STATE("A4", HEAP, ALL, true,
          "usable_arenas is doubly linked (head.prevarena NULL, x.next.prev "
          "== x), acyclic, and holds exactly the allocated arenas with "
          "nfreepools > 0"),
    STATE("A5", HEAP, ALL, true,
          "usable_arenas is sorted by nfreepools, non-decreasing from head "
          "to tail"),
    STATE("A6", POOL, ALL, true,
          "an allocated arena has ntotalpools == 64 - (address not "
          "pool-aligned) and first <= pool_address <= first + "
          "ntotalpools*POOL_SIZE <= address + ARENA_SIZE, pool-aligned"),
    STATE("A7", POOL, ALL, true,
          "nfreepools == length(freepools) + (ntotalpools - carved pools) "
          "and 0 <= nfreepools <= ntotalpools (LOCAL: an unwalked nonempty "
          "list counts as length >= 1)"),
    STATE("A8", POOL, ALL, true,
          "freepools is acyclic and NULL-terminated; its elements are "
          "exactly the carved pools of the arena with count 0 (LOCAL: "
          "after an operation that can change it, else its head)"),
    STATE("A9", POOL, ALL, true,
          "carving is a bump pointer: every pool reached through a list "
          "lies below its arena's pool_address (the behavioural half, "
          "carve only when freepools is empty, is a B check)"),
    STATE("A10", HEAP, ALL, true,
          "<= 3.8: no allocated arena is wholly free (nfreepools == "
          "ntotalpools); 3.9+: at most one is, and it is the tail of "
          "usable_arenas"),
    BEHAV("A11", "the arenas vector grows only while usable_arenas and "
                 "unused_arena_objects are both empty (checked as B5)"),
    STATE("A12", HEAP, ALL, false, "no two allocated arenas overlap"),
    STATE("A13", O1, ALL, true,
          "maxarenas <= max(16, 2 * narenas_highwater): the vector doubles "
          "only when every record holds an arena"),
    /* nfp2lasta */
    STATE("N1", O1, NFP, true, "nfp2lasta[0] == NULL"),
    STATE("N2", HEAP, NFP, true,
          "nfp2lasta[k] == NULL iff no arena in usable_arenas has "
          "nfreepools == k (1 <= k <= 64)"),
    STATE("N3", O1, NFP, true,
          "nfp2lasta[k] == X != NULL: X is in usable_arenas, X.nfreepools "
          "== k, and X is the right-most arena with k"),
    /* pools */
    STATE("P1", POOL, ALL, true,
          "a carved pool of arena a has arenaindex == a and szidx < "
          "NB_SMALL_SIZE_CLASSES"),
    STATE("P2", O1, ALL, true, "0 <= count <= NUMBLOCKS(szidx)"),
    STATE("P3", O1, ALL, true,
          "maxnextoffset == POOL_SIZE - blocksize; POOL_OVERHEAD + "
          "2*blocksize <= nextoffset <= POOL_SIZE on a block boundary"),
    STATE("P4", POOL, ALL, true,
          "the freeblock chain is acyclic, NULL-terminated, without "
          "duplicates, each element a block boundary below nextoffset "
          "(LOCAL: its first links, which an operation changes)"),
    STATE("P5", POOL, ALL, false,
          "length(freeblock chain) == blocks carved - count (handed out + "
          "chained + virgin == NUMBLOCKS)"),
    STATE("P6", POOL, ALL, true,
          "state by count: 0 => on freepools, in no ring; used => in ring "
          "szidx, freeblock != NULL; full => freeblock NULL, all carved, on "
          "no list"),
    STATE("P7", O1, ALL, true,
          "a full pool never has freeblock != NULL; a pool in a ring never "
          "has freeblock == NULL with every block carved"),
    LIVE("P8", O1, ALL,
         "handed-out block addresses are multiples of ALIGNMENT"),
    LIVE("P9", POOL, ALL,
         "a pool's freeblock chain holds no block that is handed out"),
    LIVE("P10", O1, ALL,
         "every handed-out block lies in a carved pool of an allocated "
         "arena, on a block boundary below nextoffset"),
    /* usedpools */
    STATE("U1", HEAP, ALL, true,
          "ring i returns to its sentinel and x.nextpool.prevpool == x for "
          "every element, sentinel included"),
    STATE("U2", HEAP, ALL, true,
          "ring i holds exactly the carved pools with szidx i and 0 < "
          "count < NUMBLOCKS(i), each once"),
    STATE("U3", O1, ALL, true,
          "ring i is empty iff usedpools[2i] == usedpools[2i+1] == its "
          "sentinel"),
    BEHAV("U4", "a pool turned from full to used is first in its ring; "
                "malloc keeps ring order; a new pool is its ring's only "
                "member (checked as B6, B2, B4)"),
    STATE("U5", HEAP, ALL, true,
          "no ring runs into another ring's sentinel (a pool is in at most "
          "one ring)"),
    /* accounting */
    STATE("C1", HEAP, ALL, false,
          "narenas_currently_allocated == number of records with address "
          "!= 0"),
    STATE("C2", O1, ALL, true,
          "ntimes_arena_allocated >= narenas_highwater >= "
          "narenas_currently_allocated"),
    STATE("C3", HEAP, ALL, false,
          "byte ledger: narenas*ARENA_SIZE == handed out + available + "
          "unused pools + headers + quantization + alignment"),
    STATE("C4", O1, ALL, true,
          "raw_allocated_blocks >= 0, and == the caller's count of live "
          "raw blocks when given"),
    LIVE("C5", HEAP, ALL,
         "sum of count == number of live blocks, per pool and in total; "
         "each live block is in a pool with count > 0"),
    STATE("C6", HEAP, ALL, false,
          "two traversals agree: pools by header (vector walk) vs pools on "
          "rings, freepools and neither (full), per state"),
    /* ownership */
    STATE("O1", POOL, LEGACY, true,
          "legacy test: every carved pool's arenaindex < maxarenas, names "
          "an allocated arena, and the pool lies within ARENA_SIZE of it"),
    STATE("O2", O1, RADIX, true,
          "every allocated arena is marked: tail_hi == -1 (aligned) or "
          "tail_hi == t at its region and tail_lo == t at the next"),
    STATE("O3", HEAP, RADIX, false,
          "every non-zero leaf field is explained by one allocated arena; "
          "tail_hi == -1 => tail_lo == 0; both > 0 => tail_lo <= tail_hi"),
    STATE("O4", HEAP, RADIX, false,
          "arena_map_mid_count / arena_map_bot_count == non-NULL root / "
          "mid entries"),
    STATE("O5", HEAP, RADIX, false,
          "the radix query is true exactly on [address, address + "
          "ARENA_SIZE) of allocated arenas (checked at each arena's ends)"),
    /* behaviour: predicted before an operation, verified after it */
    BEHAV("B1", "malloc from a non-empty ring returns the freeblock chain "
                "head of the ring's first pool"),
    BEHAV("B2", "ring order is kept by malloc and free, but for a pool that "
                "changes state (a pool that fills leaves its ring)"),
    BEHAV("B3", "a pool for an empty ring comes from the head of "
                "usable_arenas: its freepools head, else its next virgin "
                "pool (a new arena: its first pool)"),
    BEHAV("B4", "that pool becomes its ring's only member and hands out its "
                "chain head (same class as before) or its first block"),
    BEHAV("B5", "the arenas vector grows only while usable_arenas and "
                "unused_arena_objects are both empty (A11)"),
    BEHAV("B6", "a free into a full pool puts the pool first in its ring "
                "(U4)"),
    BEHAV("B7", "a pool emptied by a free goes first on its arena's "
                "freepools (LIFO)"),
    BEHAV_WALK("B8", "an arena that gained a free pool follows the last "
                     "other arena with at most its old nfreepools (the head "
                     "if none)"),
    BEHAV("B9", "a wholly free arena is released: always up to 3.8, from "
                "3.9 on unless it is the tail of usable_arenas"),
    BEHAV("B10", "realloc keeps a pool block in place iff n <= blocksize and "
                 "4n > 3*blocksize"),
    BEHAV("B11", "sizes 0 and above the threshold, and realloc of a raw "
                 "block, give raw blocks: pools never adopt a foreign "
                 "block"),
    /* debug layer */
    DEBUG("D1", "not checked: needs the debug layer (header, pads, API id)"),
    DEBUG("D2", "not checked: needs the debug layer (underlying size)"),
    DEBUG("D3", "not checked: needs the debug layer (DEADBYTE fill)"),
};

const struct inv_entry *
inv_catalogue(size_t *n)
{
    *n = sizeof catalogue / sizeof catalogue[0];
    return catalogue;
}

const struct inv_entry *
inv_catalogue_find(const char *id)
{
    for (size_t i = 0; i < sizeof catalogue / sizeof catalogue[0]; i++)
        if (strcmp(catalogue[i].id, id) == 0)
            return &catalogue[i];
    return NULL;
}

const char *
inv_profiles_str(unsigned profiles, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (profiles == ALL) {
        snprintf(buf, len, "all");
        return buf;
    }
    for (unsigned p = 0; p < OBM_NPROFILES; p++) {
        if (!(profiles & INV_PROFILE(p)))
            continue;
        int k = snprintf(buf + used, len - used, "%s%s", used ? "," : "",
                         obm_geometry((enum obm_profile)p)->name);
        if (k < 0 || (size_t)k >= len - used)
            break;
        used += (size_t)k;
    }
    return buf;
}

static const char *
cost_name(const struct inv_entry *e)
{
    static const char *const names[] = {"O(1)", "O(pool)", "O(heap)"};
    if (e->kind == INV_KIND_BEHAVIOUR)
        return "behavioural";
    if (e->kind == INV_KIND_DEBUG)
        return "debug";
    return names[e->cost];
}

void
inv_catalogue_print(FILE *out)
{
    char prof[64];
    fprintf(out, "%-4s %-24s %-11s %s\n", "ID", "profiles", "cost",
            "statement");
    for (size_t i = 0; i < sizeof catalogue / sizeof catalogue[0]; i++) {
        const struct inv_entry *e = &catalogue[i];
        fprintf(out, "%-4s %-24s %-11s %s%s%s\n", e->id,
                inv_profiles_str(e->profiles, prof, sizeof prof), cost_name(e),
                e->needs_live ? "[live set] " : "",
                e->kind == INV_KIND_STATE && !e->local ? "[FULL only] " : "",
                e->statement);
    }
}
