/* trace.c — a trace in memory: operations, slots and their labels, notes.
 *
 * Labels map to slots through one open-addressing table keyed by a hash
 * of the label (numeric or name), so loading 10M operations stays linear.
 */
#include "hx.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[HX_NKINDS] = {
    "malloc",           "calloc",    "realloc",   "free",
    "fault arenas",     "fault raw", "check",     "double-free",
    "write-after-free", "overflow",  "arena new", "arena free",
};

const char *
hx_kind_name(unsigned kind)
{
    return kind < HX_NKINDS ? kind_names[kind] : "?";
}

struct label_index {
    uint32_t *cells; /* slot + 1; 0 = empty */
    size_t mask;     /* cells - 1 (a power of two) */
};

void
hx_trace_init(struct hx_trace *t, const char *source)
{
    memset(t, 0, sizeof *t);
    t->source = strdup(source != NULL ? source : "-");
}

void
hx_trace_free(struct hx_trace *t)
{
    for (uint32_t s = 0; s < t->nslots; s++)
        free(t->labels[s].name);
    for (size_t k = 0; k < t->nnotes; k++)
        free(t->notes[k].text);
    struct label_index *ix = t->index;
    if (ix != NULL)
        free(ix->cells);
    free(ix);
    free(t->source);
    free(t->ops);
    free(t->lines);
    free(t->place);
    free(t->labels);
    free(t->notes);
    memset(t, 0, sizeof *t);
}

static uint64_t
hash_num(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

static uint64_t
hash_name(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325); // FNV-1a
    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
    return h ^ UINT64_C(0x5bd1e995); // keep names off the numeric stream
}

static uint64_t
label_hash(const struct hx_label *l)
{
    return l->name != NULL ? hash_name(l->name) : hash_num(l->num);
}

static bool
label_equal(const struct hx_label *l, uint64_t num, const char *name)
{
    if (name == NULL)
        return l->name == NULL && l->num == num;
    return l->name != NULL && strcmp(l->name, name) == 0;
}

static int
index_grow(struct hx_trace *t)
{
    struct label_index *ix = t->index;
    if (ix == NULL) {
        ix = calloc(1, sizeof *ix);
        if (ix == NULL)
            return -1;
        t->index = ix;
    }
    size_t ncells = ix->cells == NULL ? 64 : (ix->mask + 1) * 2;
    uint32_t *cells = calloc(ncells, sizeof *cells);
    if (cells == NULL)
        return -1;
    for (uint32_t s = 0; s < t->nslots; s++) {
        size_t i = label_hash(&t->labels[s]) & (ncells - 1);
        while (cells[i] != 0)
            i = (i + 1) & (ncells - 1);
        cells[i] = s + 1;
    }
    free(ix->cells);
    ix->cells = cells;
    ix->mask = ncells - 1;
    return 0;
}

static uint32_t
slot_lookup(struct hx_trace *t, uint64_t num, const char *name, bool create)
{
    struct label_index *ix = t->index;
    // keep the table at most half full
    if (ix == NULL || (size_t)(t->nslots + 1) * 2 > ix->mask + 1) {
        if (index_grow(t) != 0)
            return HX_NO_SLOT;
        ix = t->index;
    }
    uint64_t h = name != NULL ? hash_name(name) : hash_num(num);
    size_t i = h & ix->mask;
    for (; ix->cells[i] != 0; i = (i + 1) & ix->mask) {
        uint32_t s = ix->cells[i] - 1;
        if (label_equal(&t->labels[s], num, name))
            return s;
    }
    if (!create || t->nslots == HX_NO_SLOT - 1)
        return HX_NO_SLOT;
    if (t->nslots == t->slotcap) {
        // doubling a uint32_t past 2^31 would wrap to 0
        uint32_t cap = t->slotcap == 0               ? 256
                       : t->slotcap > UINT32_MAX / 2 ? UINT32_MAX
                                                     : t->slotcap * 2;
        struct hx_label *l = realloc(t->labels, (size_t)cap * sizeof *l);
        if (l == NULL)
            return HX_NO_SLOT;
        t->labels = l;
        t->slotcap = cap;
    }
    char *copy = NULL;
    if (name != NULL && (copy = strdup(name)) == NULL)
        return HX_NO_SLOT;
    uint32_t s = t->nslots++;
    t->labels[s].num = num;
    t->labels[s].name = copy;
    ix->cells[i] = s + 1;
    return s;
}

uint32_t
hx_slot_num(struct hx_trace *t, uint64_t num)
{
    return slot_lookup(t, num, NULL, true);
}

uint32_t
hx_slot_name(struct hx_trace *t, const char *name)
{
    return slot_lookup(t, 0, name, true);
}

uint32_t
hx_slot_fresh(struct hx_trace *t)
{
    // numeric labels equal to the slot number are the common case; a
    // clash with a label the user chose moves on to the next free number
    for (uint64_t num = t->nslots;; num++) {
        if (slot_lookup(t, num, NULL, false) == HX_NO_SLOT)
            return hx_slot_num(t, num);
    }
}

int
hx_push(struct hx_trace *t, enum hx_kind kind, unsigned flags, uint32_t slot,
        uint64_t a, uint64_t b, uint32_t line)
{
    if (t->nops == t->opcap) {
        size_t cap = t->opcap == 0 ? 1024 : t->opcap * 2;
        struct hx_op *ops = realloc(t->ops, cap * sizeof *ops);
        if (ops == NULL)
            return -1;
        t->ops = ops;
        if (t->lines != NULL || line != 0) {
            uint32_t *lines = realloc(t->lines, cap * sizeof *lines);
            if (lines == NULL)
                return -1;
            if (t->lines == NULL)
                memset(lines, 0, t->nops * sizeof *lines);
            t->lines = lines;
        }
        if (t->place != NULL) {
            uint64_t *place = realloc(t->place, cap * sizeof *place);
            if (place == NULL)
                return -1;
            t->place = place;
        }
        t->opcap = cap;
    } else if (t->lines == NULL && line != 0) {
        t->lines = calloc(t->opcap, sizeof *t->lines);
        if (t->lines == NULL)
            return -1;
    }
    struct hx_op *op = &t->ops[t->nops];
    op->kind = (uint8_t)kind;
    op->flags = (uint8_t)flags;
    op->pad = 0;
    op->slot = slot;
    op->a = a;
    op->b = b;
    if (t->lines != NULL)
        t->lines[t->nops] = line;
    if (t->place != NULL)
        t->place[t->nops] = HX_PLACE_NONE;
    t->nops++;
    return 0;
}

int
hx_set_place(struct hx_trace *t, size_t i, uint64_t place)
{
    // most traces carry no placement at all: the array comes with the first
    if (t->place == NULL && place == HX_PLACE_NONE)
        return 0;
    if (t->place == NULL
        && (t->place = calloc(t->opcap, sizeof *t->place)) == NULL)
        return -1;
    if (i < t->nops)
        t->place[i] = place;
    return 0;
}

const char *
hx_place_str(uint64_t place, char *buf, size_t len)
{
    if (hx_place_is_pool(place))
        snprintf(buf, len, "%" PRIu64 ":%u:%u", hx_place_arena(place),
                 hx_place_pool_index(place), hx_place_offset(place));
    else
        snprintf(buf, len, "%s", place == HX_PLACE_RAW ? "raw" : "-");
    return buf;
}

int
hx_note_add(struct hx_trace *t, bool trailing, const char *text)
{
    if (t->nnotes == t->notecap) {
        size_t cap = t->notecap == 0 ? 16 : t->notecap * 2;
        struct hx_note *n = realloc(t->notes, cap * sizeof *n);
        if (n == NULL)
            return -1;
        t->notes = n;
        t->notecap = cap;
    }
    char *copy = strdup(text);
    if (copy == NULL)
        return -1;
    struct hx_note *n = &t->notes[t->nnotes++];
    n->at = trailing && t->nops > 0 ? t->nops - 1 : t->nops;
    n->trailing = trailing && t->nops > 0;
    n->text = copy;
    return 0;
}

const char *
hx_label_str(const struct hx_trace *t, uint32_t slot, char *buf, size_t len)
{
    if (slot >= t->nslots)
        snprintf(buf, len, "?");
    else if (t->labels[slot].name != NULL)
        snprintf(buf, len, "%s", t->labels[slot].name);
    else
        snprintf(buf, len, "%llu", (unsigned long long)t->labels[slot].num);
    return buf;
}
