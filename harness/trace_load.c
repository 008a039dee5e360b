/* trace_load.c — load a trace file in either format.
 *
 * The whole file is read into memory first (traces are read once, and
 * both readers want random access to the bytes); the magic "OBCT" picks
 * the binary reader, anything else is text.
 */
#include "hx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Read all of f into *data (malloc'd) and *len; return 0, or errno. */
static int
read_all(FILE *f, uint8_t **data, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return ENOMEM;
    for (;;) {
        if (n == cap) {
            uint8_t *more = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (more == NULL) {
                free(buf);
                return ENOMEM;
            }
            buf = more;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno != 0 ? errno : EIO;
        free(buf);
        return e;
    }
    *data = buf;
    *len = n;
    return 0;
}

int
hx_read_file(const char *path, uint8_t **data, size_t *len, char *err,
             size_t errlen)
{
    bool std = strcmp(path, "-") == 0;
    errno = 0;
    FILE *f = std ? stdin : fopen(path, "rb");
    int e = f == NULL ? errno : read_all(f, data, len);
    if (f != NULL && !std)
        fclose(f);
    if (e == 0)
        return 0;
    snprintf(err, errlen, "%s: %s", std ? "<stdin>" : path, strerror(e));
    return -1;
}

/* Read the file at path ("-": standard input) and parse it in the format
 * its first bytes name; return 0, or -1 with the message in err (t is
 * initialised here either way). */
int
hx_load(struct hx_trace *t, const char *path, char *err, size_t errlen)
{
    const char *source = strcmp(path, "-") == 0 ? "<stdin>" : path;
    uint8_t *data = NULL;
    size_t len = 0;
    if (hx_read_file(path, &data, &len, err, errlen) != 0) {
        hx_trace_init(t, source);
        return -1;
    }
    int rc;
    if (len >= 4 && memcmp(data, "OBCT", 4) == 0)
        rc = hx_read_binary(t, source, data, len, err, errlen);
    else
        rc = hx_read_text(t, source, (const char *)data, len, err, errlen);
    free(data);
    return rc;
}
