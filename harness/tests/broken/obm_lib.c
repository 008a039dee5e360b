/* obm_lib.c — the reference core as a shared library with a malloc
 * family of its own (refbug_malloc ...) and refbug_obcheck_view (the ABI
 * of inv.h), for the tests only: built with a planted bug, it must be
 * caught through the view exactly as the reference is.
 *
 * One heap per process, made on first use: the library is what a third
 * party's obmalloc looks like from outside.
 */
#include "obm.h"

#include "prefix.h"

void PFX(obcheck_view)(struct obm_state *out);

static obm_heap *heap;

static obm_heap *
the_heap(void)
{
    if (heap == NULL)
        heap = obm_heap_new(LIB_PROFILE, NULL);
    return heap;
}

void *
PFX(malloc)(size_t n)
{
    return obm_malloc(the_heap(), n);
}

void *
PFX(calloc)(size_t nelem, size_t elsize)
{
    return obm_calloc(the_heap(), nelem, elsize);
}

void *
PFX(realloc)(void *p, size_t n)
{
    return obm_realloc(the_heap(), p, n);
}

void
PFX(free)(void *p)
{
    obm_free(the_heap(), p);
}

size_t
PFX(usable_size)(void *p)
{
    return obm_usable_size(the_heap(), p);
}

void
PFX(obcheck_view)(struct obm_state *out)
{
    obm_heap_state(the_heap(), out);
}
