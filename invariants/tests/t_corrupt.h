/* t_corrupt.h — the table of corruption cases shared by t_inv_corrupt.c
 * (which runs them and checks coverage) and t_corrupt_cases.c. */
#ifndef T_CORRUPT_H
#define T_CORRUPT_H

#include "tinv.h"

struct corrupt_case {
    const char *id;    /* the ID that must fire */
    unsigned profiles; /* where to run (and'ed with the ID's profiles) */
    size_t offset;     /* region offset: arena start mod 1 MiB */
    void (*corrupt)(struct tb *t); /* pokes; may set t->touched */
    const char *allowed;           /* IDs that may legitimately fire with it */
    bool local; /* the ID must fire at INV_LOCAL on t->touched */
};

extern const struct corrupt_case corrupt_cases[];
extern const size_t ncorrupt_cases;

/* Return the radix leaf entry covering address a (both nodes must exist). */
struct obm_arena_coverage *leaf(struct tb *t, uintptr_t a);

/* Return whether id is a word of the space-separated list. */
static inline bool
allowed_has(const char *list, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = list; (p = strstr(p, id)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

#endif /* T_CORRUPT_H */
