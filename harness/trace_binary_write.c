/* trace_binary_write.c — the binary trace writer (format:
 * trace_binary.h): the canonical encoding, which the reader accepts and
 * gives back byte for byte.
 */
#include "trace_binary.h"

#include <stdlib.h>
#include <string.h>

struct sink {
    FILE *f;
    size_t n;
    bool failed;
    uint8_t buf[16384];
};

static void
drain(struct sink *s)
{
    if (s->n > 0 && fwrite(s->buf, 1, s->n, s->f) != s->n)
        s->failed = true;
    s->n = 0;
}

static void
put_bytes(struct sink *s, const void *p, size_t n)
{
    if (s->n + n > sizeof s->buf)
        drain(s);
    if (n > sizeof s->buf) {
        if (fwrite(p, 1, n, s->f) != n)
            s->failed = true;
        return;
    }
    memcpy(s->buf + s->n, p, n);
    s->n += n;
}

static void
put_varint(struct sink *s, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    for (; v >= 0x80; v >>= 7)
        b[n++] = (uint8_t)(v | 0x80);
    b[n++] = (uint8_t)v;
    put_bytes(s, b, n);
}

static void
put_text(struct sink *s, uint8_t tag, const char *text)
{
    size_t n = strlen(text);
    put_bytes(s, &tag, 1);
    put_varint(s, n);
    put_bytes(s, text, n);
}

/* Write a new slot's label record, unless the label is its number. */
static void
write_label(struct sink *s, const struct hx_trace *t, uint32_t slot,
            uint32_t seen)
{
    const struct hx_label *l = slot < t->nslots ? &t->labels[slot] : NULL;
    if (l != NULL && l->name != NULL) {
        put_text(s, M_LABEL_NAME, l->name);
    } else if (l != NULL && l->num != seen) {
        put_bytes(s, &(uint8_t){M_LABEL_NUM}, 1);
        put_varint(s, l->num);
    }
}

/* Write op; map gives each slot its number in order of first use. */
static void
write_op(struct sink *s, const struct hx_trace *t, const struct hx_op *op,
         uint32_t *map, uint32_t *seen)
{
    uint32_t slot = op->slot;
    if (op->kind >= HX_NKINDS)
        return;
    int use = hx_bin_low_use(op->kind);
    bool ref = hx_bin_has_slot(op->kind) && slot < t->nslots
               && map[slot] != HX_NO_SLOT;
    uint64_t d = ref ? *seen - 1 - map[slot] : 0;
    unsigned x = use == X_FLAGS      ? op->flags & 3u
                 : use == X_SIZE     ? (unsigned)(op->a & 7)
                 : use == X_DISTANCE ? (unsigned)(d & 7)
                                     : 0;
    uint64_t pl = t->place != NULL ? t->place[op - t->ops] : HX_PLACE_NONE;
    uint64_t v = (op->kind <= HX_FREE && (op->flags & HX_F_OBJ) ? 1u : 0u)
                 | (hx_place_is_pool(pl) ? 4u
                    : pl == HX_PLACE_RAW ? 2u
                                         : 0u);
    if (v != 0) {
        put_bytes(s, &(uint8_t){M_ATTR}, 1);
        put_varint(s, v);
    }
    if (v >= 4) {
        put_varint(s, hx_place_arena(pl));
        put_varint(s, hx_place_pool_index(pl));
        put_varint(s, hx_place_offset(pl));
    }
    if (hx_bin_has_slot(op->kind) && !ref) {
        write_label(s, t, slot, *seen);
        if (slot < t->nslots)
            map[slot] = *seen;
        ++*seen;
    }
    uint8_t tag =
        (uint8_t)(op->kind | (!ref && hx_bin_has_slot(op->kind) ? T_NEW : 0)
                  | x << T_X_SHIFT);
    put_bytes(s, &tag, 1);
    if (ref)
        put_varint(s, use == X_DISTANCE ? d >> 3 : d);
    if (use == X_SIZE)
        put_varint(s, op->a >> 3);
    else if (op->kind == HX_OVERFLOW || (use == X_FLAGS && x == 0))
        put_varint(s, op->a);
    else if (op->kind == HX_CALLOC || op->kind == HX_WRITE_AFTER_FREE
             || op->kind == HX_ARENA_NEW) {
        put_varint(s, op->a);
        put_varint(s, op->b);
    } else if (op->kind == HX_ARENA_FREE)
        put_varint(s, op->a);
}

static void
write_expect(struct sink *s, const struct hx_trace *t)
{
    unsigned n = t->nexpect < HX_MAX_EXPECT ? t->nexpect : HX_MAX_EXPECT;
    if (n == 0)
        return;
    put_bytes(s, &(uint8_t){M_EXPECT}, 1);
    put_bytes(s, &(uint8_t){(uint8_t)n}, 1);
    for (unsigned k = 0; k < n; k++) {
        uint8_t len = (uint8_t)strnlen(t->expect[k], 7);
        put_bytes(s, &len, 1);
        put_bytes(s, t->expect[k], len);
    }
}

/* Write t in the canonical binary form; return 0, or -1 on a write error
 * or out of memory. */
int
hx_write_binary(const struct hx_trace *t, FILE *out)
{
    struct sink *s = malloc(sizeof *s);
    uint32_t *map = malloc((t->nslots + (size_t)1) * sizeof *map);
    if (s == NULL || map == NULL) {
        free(s);
        free(map);
        return -1;
    }
    s->f = out;
    s->n = 0;
    s->failed = false;
    memset(map, 0xff, (t->nslots + (size_t)1) * sizeof *map);
    put_bytes(s, BIN_MAGIC, 4);
    put_bytes(s, &(uint8_t){BIN_VERSION}, 1);
    write_expect(s, t);
    // notes as the text writer places them (sorted in a valid trace)
    size_t c = 0;
    uint32_t seen = 0;
    for (size_t i = 0; i < t->nops; i++) {
        for (; c < t->nnotes && t->notes[c].at == i && !t->notes[c].trailing;
             c++)
            put_text(s, M_NOTE, t->notes[c].text);
        write_op(s, t, &t->ops[i], map, &seen);
        for (; c < t->nnotes && t->notes[c].at == i && t->notes[c].trailing;
             c++)
            put_text(s, M_TRAILING, t->notes[c].text);
    }
    for (; c < t->nnotes; c++)
        put_text(s, M_NOTE, t->notes[c].text);
    put_bytes(s, &(uint8_t){M_END}, 1);
    drain(s);
    int rc = s->failed || fflush(out) != 0 || ferror(out) ? -1 : 0;
    free(s);
    free(map);
    return rc;
}
