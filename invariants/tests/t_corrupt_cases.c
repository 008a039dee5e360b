/* t_corrupt_cases.c — one deliberate corruption per state invariant.  Each
 * function damages one field or link (two writes where a link has two
 * ends) of the standard heap built by tb_build(), and names the touched
 * address for the INV_LOCAL half of the case. */
#include "t_corrupt.h"

#define ALL INV_ALL_PROFILES
#define LEGACY 0x0fu
#define RADIX 0x30u
#define NFP 0x3cu
#define PRE39 0x07u
#define POST39 0x38u

static unsigned
nb_of(const struct tb *t, const struct obm_pool *q)
{
    return obm_numblocks(t->g, q->szidx);
}

/* A live block inside pool q. */
static const void *
block_in(const struct tb *t, const struct obm_pool *q)
{
    for (size_t k = 0; k < t->nlive; k++)
        if (tb_pool_of(t, t->live[k]) == q)
            return t->live[k];
    ck_abort_msg("no live block in pool %p", (void *)q);
    return NULL;
}

/* The live-set index of a block inside pool q. */
static size_t
live_index_in(const struct tb *t, const struct obm_pool *q)
{
    const void *b = block_in(t, q);
    for (size_t k = 0;; k++)
        if (t->live[k] == b)
            return k;
}

/* --- arenas ----------------------------------------------------------------
 */

static void
c_a1(struct tb *t)
{
    TB_POKE(t, *(unsigned *)t->s.maxarenas, 0u);
}

static void
c_a13(struct tb *t)
{
    TB_POKE(t, *(unsigned *)t->s.maxarenas, 64u);
}

static void
c_a2(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 0);
    TB_POKE(t, a->nfreepools, 0u);
    t->touched = block_in(t, t->full_pool);
}

static void
c_a3(struct tb *t)
{
    struct obm_arena *u = *(struct obm_arena **)t->s.unused_arena_objects;
    TB_POKE(t, u->nextarena, u);
}

static void
c_a4(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 2);
    TB_POKE(t, a->prevarena, (struct obm_arena *)NULL);
    t->touched = block_in(t, t->full_pool);
}

static void
c_a5(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 0);
    TB_POKE(t, a->nfreepools, tb_arena(t, 2)->nfreepools + 1);
    t->touched = block_in(t, t->full_pool);
}

static void
c_a6(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 2);
    TB_POKE(t, a->ntotalpools, a->ntotalpools - 2);
    t->touched = block_in(
        t, (struct obm_pool *)((uintptr_t)a->pool_address - t->g->pool_size));
}

static void
c_a7(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 2);
    TB_POKE(t, a->nfreepools, a->nfreepools - 1);
    t->touched =
        block_in(t, (struct obm_pool *)((uintptr_t)tb_arena(t, 2)->pool_address
                                        - t->g->pool_size));
}

/* A7 one too high on an arena with a nonempty freepools list: LOCAL on
 * the last block freed from a pool must walk the list, since the emptied
 * pool says the free changed it. */
static void
c_a7_walked(struct tb *t)
{
    const void *last = block_in(t, t->used_pool);
    tb_free_pool(t, t->used_pool, 0);
    struct obm_arena *a = tb_arena(t, 0);
    TB_POKE(t, a->nfreepools, a->nfreepools + 1);
    t->touched = last;
}

/* The same after a malloc that took a pool for an empty ring (class 9:
 * the standard heap leaves its ring empty). */
static void
c_a7_taken(struct tb *t)
{
    const void *b = obm_malloc(t->heap, 10 * t->g->alignment);
    tb_live_add(t, b);
    struct obm_arena *a = tb_arena(t, tb_pool_of(t, b)->arenaindex);
    TB_POKE(t, a->nfreepools, a->nfreepools + 1);
    t->touched = b;
}

static void
c_a8(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 0);
    TB_POKE(t, a->freepools, (struct obm_pool *)NULL);
    t->touched = block_in(t, t->full_pool);
}

static void
c_a9(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 2);
    TB_POKE(t, a->freepools, (struct obm_pool *)a->pool_address);
    t->touched = block_in(
        t, (struct obm_pool *)((uintptr_t)a->pool_address - t->g->pool_size));
}

static void
c_a10(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 0);
    TB_POKE(t, a->nfreepools, a->ntotalpools);
    t->touched = block_in(t, t->full_pool);
}

static void
c_a12(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 1), *b = tb_arena(t, 0);
    TB_POKE(t, a->address, b->address);
    TB_POKE(t, a->pool_address, b->pool_address);
}

/* --- nfp2lasta -------------------------------------------------------------
 */

static struct obm_arena **
fingers(struct tb *t)
{
    return (struct obm_arena **)t->s.nfp2lasta;
}

static void
c_n1(struct tb *t)
{
    TB_POKE(t, fingers(t)[0], tb_arena(t, 0));
    t->touched = block_in(t, t->full_pool);
}

static void
c_n2(struct tb *t)
{
    TB_POKE(t, fingers(t)[tb_arena(t, 0)->nfreepools],
            (struct obm_arena *)NULL);
    t->touched = block_in(t, t->full_pool);
}

static void
c_n3(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 2);
    TB_POKE(t, fingers(t)[a->nfreepools], tb_arena(t, 0));
    t->touched = block_in(
        t, (struct obm_pool *)((uintptr_t)a->pool_address - t->g->pool_size));
}

/* --- pools -----------------------------------------------------------------
 */

static void
c_p1(struct tb *t)
{
    TB_POKE(t, t->full_pool->arenaindex, 2u);
    t->touched = block_in(t, t->full_pool);
}

static void
c_p2(struct tb *t)
{
    TB_POKE(t, t->full_pool->ref.count, nb_of(t, t->full_pool) + 1);
    t->touched = block_in(t, t->full_pool);
}

static void
c_p3(struct tb *t)
{
    TB_POKE(t, t->used_pool->maxnextoffset, t->used_pool->maxnextoffset + 1);
    t->touched = block_in(t, t->used_pool);
}

static void
c_p4(struct tb *t)
{
    uint8_t **link = (uint8_t **)t->small_pool->freeblock;
    TB_POKE(t, *link, (uint8_t *)t->full_pool + 16);
    t->touched = block_in(t, t->small_pool);
}

static void
c_p5(struct tb *t)
{
    TB_POKE(t, t->small_pool->ref.count, t->small_pool->ref.count - 1);
    t->touched = block_in(t, t->small_pool);
}

static void
c_p6(struct tb *t)
{
    unsigned bs = obm_blocksize(t->g, t->full_pool->szidx);
    TB_POKE(t, t->full_pool->nextoffset, t->full_pool->nextoffset - bs);
    t->touched = block_in(t, t->full_pool);
}

static void
c_p7(struct tb *t)
{
    TB_POKE(t, t->full_pool->freeblock,
            (uint8_t *)t->full_pool + t->g->pool_overhead);
    t->touched = block_in(t, t->full_pool);
}

static void
c_p8(struct tb *t)
{
    size_t k = live_index_in(t, t->small_pool);
    TB_POKE(t, t->live[k], (const void *)((const uint8_t *)t->live[k] + 4));
}

static void
c_p9(struct tb *t)
{
    // push a live block onto the chain: the chain stays well formed
    uint8_t *b = (uint8_t *)block_in(t, t->small_pool);
    TB_POKE(t, *(uint8_t **)b, t->small_pool->freeblock);
    TB_POKE(t, t->small_pool->freeblock, b);
}

static void
c_p10(struct tb *t)
{
    size_t k = live_index_in(t, t->small_pool);
    TB_POKE(t, t->live[k], (const void *)tb_arena(t, 2)->pool_address);
}

/* --- usedpools -------------------------------------------------------------
 */

static void
c_u1(struct tb *t)
{
    TB_POKE(t, t->used_pool->prevpool, t->used_pool);
    t->touched = block_in(t, t->used_pool);
}

static void
c_u2(struct tb *t)
{
    // unlink the used pool from its ring, both ends
    struct obm_pool *p = t->used_pool;
    TB_POKE(t, p->prevpool->nextpool, p->nextpool);
    TB_POKE(t, p->nextpool->prevpool, p->prevpool);
}

static void
c_u3(struct tb *t)
{
    struct obm_pool **up = (struct obm_pool **)t->s.usedpools;
    TB_POKE(t, up[2 * 1 + 1], t->used_pool);
    t->touched = block_in(t, t->small_pool);
}

static void
c_u5(struct tb *t)
{
    const struct obm_pool *other = obm_ring_sentinel(&t->s, 1);
    TB_POKE(t, t->used_pool->nextpool, (struct obm_pool *)other);
    t->touched = block_in(t, t->used_pool);
}

/* --- accounting ------------------------------------------------------------
 */

static void
c_c1(struct tb *t)
{
    size_t *n = (size_t *)t->s.narenas_currently_allocated;
    TB_POKE(t, *n, *n - 1);
}

static void
c_c2(struct tb *t)
{
    TB_POKE(t, *(size_t *)t->s.ntimes_arena_allocated, (size_t)1);
}

static void
c_c3(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 2);
    TB_POKE(t, a->nfreepools, a->nfreepools + 1);
}

static void
c_c4(struct tb *t)
{
    TB_POKE(t, *(ptrdiff_t *)t->s.raw_allocated_blocks, (ptrdiff_t)1);
}

static void
c_c5(struct tb *t)
{
    TB_POKE(t, t->nlive, t->nlive - 1);
}

static void
c_c6(struct tb *t)
{
    c_u2(t);
}

/* --- ownership -------------------------------------------------------------
 */

static void
c_o1(struct tb *t)
{
    TB_POKE(t, t->full_pool->arenaindex, 1000u);
    t->touched = block_in(t, t->full_pool);
}

struct obm_arena_coverage *
leaf(struct tb *t, uintptr_t a)
{
    const struct obm_geometry *g = t->g;
    unsigned ab = g->arena_bits, bb = g->radix_bot_bits;
    unsigned mb = g->radix_mid_bits;
    uintptr_t tm = ((uintptr_t)1 << g->radix_top_bits) - 1;
    void **mid = t->s.radix_root[(a >> (ab + bb + mb)) & tm];
    ck_assert_ptr_nonnull(mid);
    struct obm_arena_coverage *bot =
        mid[(a >> (ab + bb)) & (((uintptr_t)1 << mb) - 1)];
    ck_assert_ptr_nonnull(bot);
    return &bot[(a >> ab) & (((uintptr_t)1 << bb) - 1)];
}

static void
c_o2(struct tb *t)
{
    struct obm_arena *a = tb_arena(t, 2);
    TB_POKE(t, leaf(t, a->address)->tail_hi, (int32_t)0);
    t->touched = block_in(
        t, (struct obm_pool *)((uintptr_t)a->pool_address - t->g->pool_size));
}

static void
c_o3(struct tb *t)
{
    uintptr_t r = tb_arena(t, 2)->address + 3 * t->g->arena_size;
    TB_POKE(t, leaf(t, r)->tail_hi, (int32_t)-1);
}

static void
c_o4(struct tb *t)
{
    int *n = (int *)t->s.arena_map_bot_count;
    TB_POKE(t, *n, *n + 1);
}

static void
c_o5(struct tb *t)
{
    // the region after aligned arena 0 claims an arena ending inside it
    uintptr_t r = tb_arena(t, 0)->address + t->g->arena_size;
    TB_POKE(t, leaf(t, r)->tail_lo, (int32_t)4096);
}

#define UNTRUSTED "U1 U2 C3 C5 C6 P10 A8 A7 A5 N2 N3 O5 A4"

const struct corrupt_case corrupt_cases[] = {
    {"A1", ALL, 0, c_a1, "", true},
    {"A13", ALL, 0, c_a13, "", true},
    {"A2", ALL, 0, c_a2, "A4 A5 A7 C3 N2 N3", true},
    {"A3", ALL, 0, c_a3, "", false},
    {"A4", ALL, 0, c_a4, "", true},
    {"A5", ALL, 0, c_a5, "A7 C3 N2 N3 A10", true},
    {"A6", ALL, 0, c_a6, UNTRUSTED, true},
    {"A7", ALL, 0, c_a7, "C3 N2 N3 A5", true},
    {"A7", ALL, 0, c_a7_walked, "C3 N2 N3 A5", true},
    {"A7", ALL, 0, c_a7_taken, "C3 N2 N3 A5", true},
    {"A8", ALL, 0, c_a8, "A7 C6 P6", false},
    {"A9", ALL, 0, c_a9, "", true},
    {"A10", ALL, 0, c_a10, "A5 A7 C3 N2 N3", true},
    {"A12", ALL, 0, c_a12, "P1 O1 C1 C3 C6 U1 U2 A7 A8 A10 C5 P9 P10 O2 O3 O5",
     false},
    {"N1", NFP, 0, c_n1, "", true},
    {"N2", NFP, 0, c_n2, "", true},
    {"N3", NFP, 0, c_n3, "", true},
    {"P1", ALL, 0, c_p1, "O1", true},
    {"P2", ALL, 0, c_p2, "C3 C5 C6", true},
    {"P3", ALL, 0, c_p3, "", true},
    {"P4", ALL, 0, c_p4, "", true},
    {"P5", ALL, 0, c_p5, "C5", false},
    {"P6", ALL, 0, c_p6, "P5 P10", true},
    {"P7", ALL, 0, c_p7, "P5 P9", true},
    {"P8", ALL, 0, c_p8, "P10 C5", false},
    {"P9", ALL, 0, c_p9, "P5", false},
    {"P10", ALL, 0, c_p10, "C5", false},
    {"U1", ALL, 0, c_u1, "", true},
    {"U2", ALL, 0, c_u2, "C6", false},
    {"U3", ALL, 0, c_u3, "U1", true},
    {"U5", ALL, 0, c_u5, "U1 U2 C6", true},
    {"C1", ALL, 0, c_c1, "A3", false},
    {"C2", ALL, 0, c_c2, "", true},
    {"C3", ALL, 0, c_c3, "A7 A5 N2 N3 A10", false},
    {"C4", ALL, 0, c_c4, "", true},
    {"C5", ALL, 0, c_c5, "", false},
    {"C6", ALL, 0, c_c6, "U2", false},
    {"O1", LEGACY, 0, c_o1, "P1", true},
    {"O2", RADIX, 0, c_o2, UNTRUSTED, true},
    {"O3", RADIX, 0, c_o3, "", false},
    {"O4", RADIX, 0, c_o4, "", false},
    {"O5", RADIX, 0, c_o5, "O3", false},
};
const size_t ncorrupt_cases = sizeof corrupt_cases / sizeof corrupt_cases[0];
