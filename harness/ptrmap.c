/* ptrmap.c — addresses to values: open addressing, linear probing.
 *
 * Deletion shifts the following entries of the probe run back instead of
 * leaving tombstones, so a map that sees millions of allocate/free pairs
 * never degrades.  Key 0 marks an empty cell.
 */
#include "cpython.h"

#include <stdlib.h>

static size_t
cell_of(uintptr_t key, size_t mask)
{
    uint64_t x = (uint64_t)key;
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return (size_t)x & mask;
}

static int
grow(struct hx_ptrmap *m)
{
    size_t ncells = m->keys == NULL ? 1024 : (m->mask + 1) * 2;
    uintptr_t *keys = calloc(ncells, sizeof *keys);
    uint64_t *vals = malloc(ncells * sizeof *vals);
    if (keys == NULL || vals == NULL) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; m->keys != NULL && i <= m->mask; i++) {
        if (m->keys[i] == 0)
            continue;
        size_t c = cell_of(m->keys[i], ncells - 1);
        while (keys[c] != 0)
            c = (c + 1) & (ncells - 1);
        keys[c] = m->keys[i];
        vals[c] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->mask = ncells - 1;
    return 0;
}

int
hx_ptrmap_put(struct hx_ptrmap *m, uintptr_t key, uint64_t val)
{
    // at most half full
    if ((m->keys == NULL || (m->n + 1) * 2 > m->mask + 1) && grow(m) != 0)
        return -1;
    size_t c = cell_of(key, m->mask);
    while (m->keys[c] != 0 && m->keys[c] != key)
        c = (c + 1) & m->mask;
    if (m->keys[c] == 0)
        m->n++;
    m->keys[c] = key;
    m->vals[c] = val;
    return 0;
}

bool
hx_ptrmap_get(const struct hx_ptrmap *m, uintptr_t key, uint64_t *val)
{
    if (m->keys == NULL)
        return false;
    for (size_t c = cell_of(key, m->mask); m->keys[c] != 0;
         c = (c + 1) & m->mask)
        if (m->keys[c] == key) {
            *val = m->vals[c];
            return true;
        }
    return false;
}

bool
hx_ptrmap_del(struct hx_ptrmap *m, uintptr_t key, uint64_t *val)
{
    if (m->keys == NULL)
        return false;
    size_t c = cell_of(key, m->mask);
    while (m->keys[c] != key) {
        if (m->keys[c] == 0)
            return false;
        c = (c + 1) & m->mask;
    }
    if (val != NULL)
        *val = m->vals[c];
    // shift back every later entry of the run that may live in the hole
    for (size_t j = (c + 1) & m->mask; m->keys[j] != 0;
         j = (j + 1) & m->mask) {
        size_t home = cell_of(m->keys[j], m->mask);
        bool movable =
            c <= j ? (home <= c || home > j) : (home <= c && home > j);
        if (!movable)
            continue;
        m->keys[c] = m->keys[j];
        m->vals[c] = m->vals[j];
        c = j;
    }
    m->keys[c] = 0;
    m->n--;
    return true;
}

void
hx_ptrmap_free(struct hx_ptrmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->mask = m->n = 0;
}
