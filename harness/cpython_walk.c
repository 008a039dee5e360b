/* cpython_walk.c — the invariant checker on a live CPython's own heap.
 *
 * obmalloc's state is file-static in Objects/obmalloc.c (3.11), so no API
 * reaches it; but an executable linked with the static libpython3.11.a
 * keeps those statics in its ELF symbol table.  We read our own
 * /proc/self/exe, take the local symbols that follow the STT_FILE entry
 * "obmalloc.c" or "obmalloc.o" (tolerating the ".lto_priv.N" or ".N" suffixes
 * compilers give statics), relocate them by our own load bias, and hand their
 * addresses to the checker as an obm_state: the layout contract of obm.h
 * is CPython's, so the checker reads the real heap as it reads ours.
 */
#include "cpython.h"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    S_USEDPOOLS,
    S_ARENAS,
    S_MAXARENAS,
    S_UNUSED,
    S_USABLE,
    S_NFP2LASTA,
    S_NCURRENT,
    S_NTIMES,
    S_HIGHWATER,
    S_RAW,
    S_ROOT,
    S_MID,
    S_BOT,
    S_ANCHOR, /* one of ours, for the load bias */
    S_COUNT
};

static const char *const wanted[S_COUNT] = {
    "usedpools",
    "arenas",
    "maxarenas",
    "unused_arena_objects",
    "usable_arenas",
    "nfp2lasta",
    "narenas_currently_allocated",
    "ntimes_arena_allocated",
    "narenas_highwater",
    "raw_allocated_blocks",
    "arena_map_root",
    "arena_map_mid_count",
    "arena_map_bot_count",
    "hx_cpy_walk_init",
};

/* Return whether sym is name, or name plus ".lto_priv.N" or ".N". */
static bool
same_name(const char *sym, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(sym, name, n) != 0)
        return false;
    const char *rest = sym + n;
    if (*rest == '\0')
        return true;
    if (strncmp(rest, ".lto_priv", 9) == 0)
        rest += 9;
    if (*rest != '.' || rest[1] == '\0')
        return false;
    return strspn(rest + 1, "0123456789") == strlen(rest + 1);
}

/* Scan the symbol table for the wanted names; fill addr. */
static void
scan_symbols(const Elf64_Sym *sym, size_t nsym, const char *str,
             size_t strsize, uintptr_t *addr)
{
    bool in_obmalloc = false;
    for (size_t i = 0; i < nsym; i++) {
        if (sym[i].st_name >= strsize)
            continue;
        const char *name = str + sym[i].st_name;
        if (ELF64_ST_TYPE(sym[i].st_info) == STT_FILE) {
            // the source's name, or the object's (Debian: obmalloc.o)
            const char *base = strrchr(name, '/');
            base = base != NULL ? base + 1 : name;
            in_obmalloc = strcmp(base, "obmalloc.c") == 0
                          || strcmp(base, "obmalloc.o") == 0;
            continue;
        }
        bool local = ELF64_ST_BIND(sym[i].st_info) == STB_LOCAL;
        for (int k = 0; k < S_COUNT; k++) {
            // a static of another file may share a name (`arenas`)
            if ((k == S_ANCHOR) == local || (local && !in_obmalloc))
                continue;
            if (addr[k] == 0 && same_name(name, wanted[k]))
                addr[k] = (uintptr_t)sym[i].st_value;
        }
    }
}

/* Read /proc/self/exe's .symtab into addr; 0, or -1 with err. */
static int
read_symtab(uintptr_t *addr, char *err, size_t errlen)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "/proc/self/exe: cannot open");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    const uint8_t *f =
        mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f == MAP_FAILED)
        return snprintf(err, errlen, "/proc/self/exe: cannot map"), -1;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
    size_t size = (size_t)sb.st_size;
    int rc = -1;
    if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0
        || eh->e_ident[EI_CLASS] != ELFCLASS64
        || eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size) {
        snprintf(err, errlen, "/proc/self/exe: not a 64-bit ELF file");
        goto out;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const Elf64_Shdr *ss = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > size
            || ss->sh_offset + ss->sh_size > size)
            break;
        scan_symbols((const Elf64_Sym *)(f + sh[i].sh_offset),
                     sh[i].sh_size / sizeof(Elf64_Sym),
                     (const char *)f + ss->sh_offset, ss->sh_size, addr);
        rc = 0;
    }
    if (rc != 0)
        snprintf(err, errlen,
                 "/proc/self/exe: no .symtab (stripped?): the walk needs "
                 "obmalloc's static symbols");
out:
    munmap((void *)f, size);
    return rc;
}

int
hx_cpy_walk_init(struct hx_cpy_walk *w, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    uintptr_t addr[S_COUNT] = {0};
    if (read_symtab(addr, err, errlen) != 0)
        return -1;
    for (int k = 0; k < S_COUNT; k++)
        if (addr[k] == 0) {
            snprintf(err, errlen,
                     "symbol '%s' of obmalloc.c not found in "
                     "/proc/self/exe: is libpython3.11 linked statically?",
                     wanted[k]);
            return -1;
        }
    // PIE or not: the bias is what our own function moved by
    uintptr_t bias = (uintptr_t)hx_cpy_walk_init - addr[S_ANCHOR];
    struct obm_state *s = &w->st;
    s->geometry = obm_geometry(OBM_PY311);
    s->usedpools = (struct obm_pool *const *)(addr[S_USEDPOOLS] + bias);
    s->arenas = (struct obm_arena *const *)(addr[S_ARENAS] + bias);
    s->maxarenas = (const unsigned *)(addr[S_MAXARENAS] + bias);
    s->unused_arena_objects =
        (struct obm_arena *const *)(addr[S_UNUSED] + bias);
    s->usable_arenas = (struct obm_arena *const *)(addr[S_USABLE] + bias);
    s->nfp2lasta = (struct obm_arena *const *)(addr[S_NFP2LASTA] + bias);
    s->narenas_currently_allocated = (const size_t *)(addr[S_NCURRENT] + bias);
    s->ntimes_arena_allocated = (const size_t *)(addr[S_NTIMES] + bias);
    s->narenas_highwater = (const size_t *)(addr[S_HIGHWATER] + bias);
    s->raw_allocated_blocks = (const ptrdiff_t *)(addr[S_RAW] + bias);
    // arena_map_root is a struct whose only member is the pointer array
    s->radix_root = (void *const *)(addr[S_ROOT] + bias);
    s->arena_map_mid_count = (const int *)(addr[S_MID] + bias);
    s->arena_map_bot_count = (const int *)(addr[S_BOT] + bias);
    return 0;
}

size_t
hx_cpy_walk_check(void *ctx, unsigned long opno, const void *const *live,
                  size_t nlive)
{
    struct hx_cpy_walk *w = ctx;
    struct inv_view v;
    inv_view_from_state(&v, &w->st);
    v.live = live;
    v.nlive = live != NULL ? nlive : 0;
    w->last_live = v.nlive;
    size_t want = (*w->st.maxarenas + 16) * 4 * sizeof(uintptr_t) + 4096;
    if (w->scratch.size < want) {
        // the checker never allocates: it gets its index memory from us
        free(w->scratch.mem);
        memset(&w->scratch, 0, sizeof w->scratch);
        w->scratch.mem = malloc(want * 2);
        w->scratch.size = w->scratch.mem != NULL ? want * 2 : 0;
    }
    v.scratch = w->scratch.mem != NULL ? &w->scratch : NULL;
    size_t n = inv_check(&v, INV_FULL, NULL, opno, &w->rep);
    w->checks++;
    if (n > 0 && w->violations == 0) {
        fprintf(stdout, "walk: check #%lu after op %lu: %zu violations\n",
                w->checks, opno, n);
        inv_report_print(&w->rep, stdout);
    }
    w->violations += n;
    return n;
}

void
hx_cpy_walk_free(struct hx_cpy_walk *w)
{
    free(w->scratch.mem);
    memset(w, 0, sizeof *w);
}
