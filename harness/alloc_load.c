/* alloc_load.c — allocators under test: the reference core behind the
 * seam, and any malloc family loaded from a library by SPEC.
 *
 * SPEC is a built-in name or LIBRARY[:PREFIX].  The library is opened
 * RTLD_LOCAL, so loading it replaces nothing in obcheck itself; its
 * functions are looked up by PREFIX + malloc, calloc, realloc, free (or
 * the capitalised forms: PyObject_Malloc), and optionally a usable-size
 * query and PREFIX + obcheck_view (inv.h).  The handle is never closed:
 * several allocators refuse dlclose, and nothing is gained by it.
 */
#include "hx_internal.h"

#include <ctype.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ALIGNMENT 16 /* alignof(max_align_t) on x86-64 */

struct builtin {
    const char *name;
    const char *library; /* a soname, so the -dev package is not needed */
    const char *prefix;
    enum hx_realloc_zero realloc_zero;
    bool thread_safe;
    const char *init; /* called once after loading, or NULL */
};

// pymalloc is not thread-safe without the GIL, which obcheck's threads
// do not take; Py_InitializeEx(0) leaves the GIL with the loading thread
static const struct builtin builtins[] = {
    {"glibc", "libc.so.6", "", HX_RZ_FREES, true, NULL},
    {"mimalloc", "libmimalloc.so.2", "mi_", HX_RZ_ANY, true, NULL},
    {"jemalloc", "libjemalloc.so.2", "", HX_RZ_ANY, true, NULL},
    {"tcmalloc", "libtcmalloc_minimal.so.4", "tc_", HX_RZ_ANY, true, NULL},
    {"pymalloc", "libpython3.11.so.1.0", "PyObject_", HX_RZ_BLOCK, false,
     "Py_InitializeEx"},
};

static const char *const builtin_names[] = {
    "glibc", "reference", "mimalloc", "jemalloc", "tcmalloc", "pymalloc"};

const char *const *
hx_allocator_builtins(size_t *n)
{
    *n = sizeof builtin_names / sizeof builtin_names[0];
    return builtin_names;
}

/* A loaded library's functions: the context of the trampolines below. */
struct loaded {
    void *handle;
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    size_t (*usable)(void *);
    void (*view)(struct obm_state *);
};

static void *
dl_malloc(void *ctx, size_t n)
{
    return ((struct loaded *)ctx)->malloc(n);
}

static void *
dl_calloc(void *ctx, size_t nelem, size_t elsize)
{
    return ((struct loaded *)ctx)->calloc(nelem, elsize);
}

static void *
dl_realloc(void *ctx, void *p, size_t n)
{
    return ((struct loaded *)ctx)->realloc(p, n);
}

static void
dl_free(void *ctx, void *p)
{
    ((struct loaded *)ctx)->free(p);
}

static size_t
dl_usable(void *ctx, const void *p)
{
    return ((struct loaded *)ctx)->usable((void *)p);
}

static void
dl_view(void *ctx, struct obm_state *out)
{
    ((struct loaded *)ctx)->view(out);
}

/* Return prefix + name, then prefix + Name, from the library; NULL if
 * neither is there. */
static void *
lookup(void *handle, const char *prefix, const char *name)
{
    char sym[256];
    snprintf(sym, sizeof sym, "%s%s", prefix, name);
    void *f = dlsym(handle, sym);
    if (f == NULL) {
        size_t k = strlen(prefix);
        sym[k] = (char)toupper((unsigned char)sym[k]);
        f = dlsym(handle, sym);
    }
    return f;
}

/* Store a symbol into a function pointer (POSIX lets dlsym's result be
 * one; ISO C has no cast between the two). */
#define SET_FN(dst, sym) memcpy(&(dst), &(sym), sizeof(dst))

static int
find_family(struct loaded *l, const char *prefix, char *err, size_t errlen)
{
    static const char *const names[] = {"malloc", "calloc", "realloc", "free"};
    void *f[4];
    for (int k = 0; k < 4; k++) {
        f[k] = lookup(l->handle, prefix, names[k]);
        if (f[k] == NULL) {
            snprintf(err, errlen, "no symbol %s%s (nor %s%c%s) in the library",
                     prefix, names[k], prefix,
                     toupper((unsigned char)names[k][0]), names[k] + 1);
            return -1;
        }
    }
    SET_FN(l->malloc, f[0]);
    SET_FN(l->calloc, f[1]);
    SET_FN(l->realloc, f[2]);
    SET_FN(l->free, f[3]);
    static const char *const sizes[] = {"usable_size", "malloc_usable_size",
                                        "malloc_size"};
    for (int k = 0; k < 3 && l->usable == NULL; k++) {
        void *u = lookup(l->handle, prefix, sizes[k]);
        if (u != NULL)
            SET_FN(l->usable, u);
    }
    void *v = lookup(l->handle, prefix, "obcheck_view");
    if (v != NULL)
        SET_FN(l->view, v);
    return 0;
}

static int
call_init(void *handle, const char *init, char *err, size_t errlen)
{
    void *f = dlsym(handle, init);
    if (f == NULL) {
        snprintf(err, errlen, "no init symbol %s in the library", init);
        return -1;
    }
    // Py_InitializeEx takes an int (0: no signal handlers); a void(void)
    // init ignores the argument under the x86-64 calling convention
    void (*fn)(int);
    SET_FN(fn, f);
    fn(0);
    return 0;
}

static struct hx_allocator *
open_library(const char *library, const char *prefix, const char *init,
             char *err, size_t errlen)
{
    struct hx_allocator *a = calloc(1, sizeof *a);
    struct loaded *l = calloc(1, sizeof *l);
    if (a == NULL || l == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    l->handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (l->handle == NULL) {
        snprintf(err, errlen, "cannot load %s: %s", library, dlerror());
        goto fail;
    }
    if (find_family(l, prefix, err, errlen) != 0
        || (init != NULL && call_init(l->handle, init, err, errlen) != 0))
        goto fail;
    *a = (struct hx_allocator){.ctx = l,
                               .malloc = dl_malloc,
                               .calloc = dl_calloc,
                               .realloc = dl_realloc,
                               .free = dl_free,
                               .usable_size = l->usable ? dl_usable : NULL,
                               .view = l->view ? dl_view : NULL,
                               .alignment = DEFAULT_ALIGNMENT,
                               .priv = l};
    return a;
fail:
    free(l);
    free(a);
    return NULL;
}

/* --- The reference core behind the seam ---------------------------------
 */

static void *
ref_malloc(void *ctx, size_t n)
{
    return obm_malloc(ctx, n);
}

static void *
ref_calloc(void *ctx, size_t nelem, size_t elsize)
{
    return obm_calloc(ctx, nelem, elsize);
}

static void *
ref_realloc(void *ctx, void *p, size_t n)
{
    return obm_realloc(ctx, p, n);
}

static void
ref_free(void *ctx, void *p)
{
    obm_free(ctx, p);
}

static size_t
ref_usable(void *ctx, const void *p)
{
    return obm_usable_size(ctx, p);
}

static void
ref_view(void *ctx, struct obm_state *out)
{
    obm_heap_state(ctx, out);
}

static struct hx_allocator *
open_reference(const char *profile, char *err, size_t errlen)
{
    enum obm_profile p = OBM_PROFILE_DEFAULT;
    if (profile != NULL && obm_profile_parse(profile, &p) != 0) {
        snprintf(err, errlen, "unknown profile '%s' for reference", profile);
        return NULL;
    }
    struct hx_allocator *a = calloc(1, sizeof *a);
    obm_heap *h = obm_heap_new(p, NULL);
    if (a == NULL || h == NULL) {
        snprintf(err, errlen, "cannot make a heap");
        free(a);
        if (h != NULL)
            obm_heap_free(h);
        return NULL;
    }
    *a = (struct hx_allocator){.ctx = h,
                               .malloc = ref_malloc,
                               .calloc = ref_calloc,
                               .realloc = ref_realloc,
                               .free = ref_free,
                               .usable_size = ref_usable,
                               .view = ref_view,
                               .alignment = obm_heap_geometry(h)->alignment,
                               .realloc_zero = HX_RZ_BLOCK};
    return a;
}

struct hx_allocator *
hx_allocator_open(const char *spec, const struct hx_allocator_options *o,
                  char *err, size_t errlen)
{
    char lib[256];
    // the last colon splits: a path may hold one, a prefix never does
    const char *colon = strrchr(spec, ':');
    size_t n = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0 || n >= sizeof lib) {
        snprintf(err, errlen, "bad allocator SPEC '%s' (LIBRARY[:PREFIX])",
                 spec);
        return NULL;
    }
    memcpy(lib, spec, n);
    lib[n] = '\0';
    const char *prefix = colon != NULL ? colon + 1 : "";
    struct hx_allocator *a = NULL;
    const struct builtin *b = NULL;
    for (size_t k = 0; k < sizeof builtins / sizeof builtins[0]; k++)
        if (colon == NULL && strcmp(spec, builtins[k].name) == 0)
            b = &builtins[k];
    const char *init = o != NULL ? o->init : NULL;
    if (strcmp(lib, "reference") == 0)
        a = open_reference(colon != NULL ? prefix : NULL, err, errlen);
    else if (b != NULL)
        a = open_library(b->library, b->prefix, init ? init : b->init, err,
                         errlen);
    else
        a = open_library(lib, prefix, init, err, errlen);
    if (a == NULL)
        return NULL;
    snprintf(a->name, sizeof a->name, "%s", spec);
    if (b != NULL) {
        a->realloc_zero = b->realloc_zero;
        a->thread_safe = b->thread_safe;
    }
    if (o != NULL && o->alignment != 0)
        a->alignment = o->alignment;
    if (o != NULL && o->realloc_zero >= 0)
        a->realloc_zero = (enum hx_realloc_zero)o->realloc_zero;
    if (o != NULL && o->thread_safe)
        a->thread_safe = true;
    return a;
}

size_t
hx_alignment_for(const struct hx_allocator *a, size_t n)
{
    size_t align = a->alignment;
    while (align > 1 && align > n)
        align >>= 1;
    return align;
}

void
hx_allocator_close(struct hx_allocator *a)
{
    if (a == NULL)
        return;
    if (a->malloc == ref_malloc)
        obm_heap_free(a->ctx);
    free(a->priv);
    free(a);
}
