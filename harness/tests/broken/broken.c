/* broken.c — a deliberately broken malloc family, for the tests only.
 *
 * Built once per rule as its own shared library (bad_NAME, symbols
 * bad_NAME_malloc ...), with BREAK_<RULE> selecting the one contract rule
 * it breaks; the tests expect `obcheck allocator` to exit 1 with that
 * rule's K ID.  Underneath: libc's malloc with a header in front of each
 * block, so every variant is otherwise a correct allocator.
 *
 * Its state is a few globals: a test allocator is single-threaded and
 * lives in one process.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prefix.h"

#define HDR 32 /* header bytes before a block (keeps 16 alignment) */
#define LIMIT (1ul << 32) /* larger requests fail (before ASan's limit) */
#define EVERY 50          /* how often a periodic break strikes */

struct hdr {
    void *raw;
    size_t size;
};

static void *last;          /* the block handed out last, while live */
static unsigned long calls; /* mallocs so far */
static unsigned char huge_block[4096];

static struct hdr
header(const void *p)
{
    struct hdr h;
    memcpy(&h, (const unsigned char *)p - HDR, sizeof h);
    return h;
}

/* Hand out a fake block over a live one when the break says so. */
static void *
fake_block(size_t n)
{
#if defined(BREAK_OVERLAP) || defined(BREAK_REUSE)
    if (last != NULL && calls % EVERY == 0 && header(last).size >= n + 48) {
#ifdef BREAK_OVERLAP
        // inside the live block, with a header of its own there
        unsigned char *p = (unsigned char *)last + 48;
        struct hdr h = {NULL, n};
        memcpy(p - HDR, &h, sizeof h);
        return p;
#else
        return last;
#endif
    }
#endif
    (void)n;
    return NULL;
}

/* Change a live block behind its owner's back when the break says so. */
static void
scribble(void)
{
#if defined(BREAK_CONTENT) || defined(BREAK_SLACK)
    if (last != NULL && calls % EVERY == 0) {
        struct hdr h = header(last);
#ifdef BREAK_CONTENT
        if (h.size > 0)
            ((unsigned char *)last)[0] ^= 1;
#else
        ((unsigned char *)last)[h.size] ^= 1;
#endif
    }
#endif
}

void *
PFX(malloc)(size_t n)
{
    calls++;
#ifdef BREAK_HUGE
    if (n >= (size_t)PTRDIFF_MAX)
        return huge_block;
#endif
#ifdef BREAK_HANG
    for (volatile int spin = 1; calls == 1000 && spin;)
        ;
#endif
#ifdef BREAK_ABORT
    if (calls == 1000)
        abort();
#endif
    if (n > LIMIT)
        return NULL;
    void *f = fake_block(n);
    if (f != NULL)
        return f;
    scribble();
    unsigned char *raw = malloc(n + HDR + 16);
    if (raw == NULL)
        return NULL;
    unsigned char *p = raw + HDR;
#ifdef BREAK_ALIGN
    if (n >= 16)
        p += 8;
#endif
    struct hdr h = {raw, n};
    memcpy(p - HDR, &h, sizeof h);
    last = p;
    return p;
}

void
PFX(free)(void *p)
{
#ifdef BREAK_FREENULL
    // reads the block before looking at it: free(NULL) faults, the crash
    // K12 is about (volatile, or the optimiser moves the read past the
    // test below)
    (void)*(volatile const char *)p;
    if (p == NULL || p == huge_block)
        return;
#else
    if (p == NULL || p == huge_block)
        return;
#endif
    if (p == last)
        last = NULL;
#ifndef BREAK_LEAK
    free(header(p).raw);
#endif
}

void *
PFX(calloc)(size_t nelem, size_t elsize)
{
#ifdef BREAK_CALLOC_OVERFLOW
    size_t n = nelem * elsize; // wraps: the bug
#else
    if (elsize != 0 && nelem > SIZE_MAX / elsize)
        return NULL;
    size_t n = nelem * elsize;
#endif
    unsigned char *p = PFX(malloc)(n);
    if (p != NULL && p != huge_block)
#ifdef BREAK_CALLOC
        memset(p, 0xa5, n);
#else
        memset(p, 0, n);
#endif
    return p;
}

void *
PFX(realloc)(void *p, size_t n)
{
#ifdef BREAK_REALLOC_NULL
    if (p == NULL)
        return NULL;
#endif
    if (p == NULL)
        return PFX(malloc)(n);
    unsigned char *q = PFX(malloc)(n);
    if (q == NULL)
        return NULL;
    size_t old = header(p).size, keep = old < n ? old : n;
#ifdef BREAK_REALLOC
    keep /= 2;
#endif
    memcpy(q, p, keep);
    PFX(free)(p);
    return q;
}

size_t
PFX(usable_size)(void *p)
{
    if (p == huge_block) // no header: the size is not known
        return 0;
    size_t n = header(p).size;
#ifdef BREAK_USABLE
    return n > 0 ? n - 1 : 0;
#elif defined(BREAK_SLACK)
    return n + 8;
#else
    return n;
#endif
}
