/* fuzz_replay.c — the plain main every fuzz target also links with: feed
 * each file named on the command line (a directory: each file in it) to
 * LLVMFuzzerTestOneInput, so CI replays corpora and findings without
 * libFuzzer, with gcc as well as clang.
 *
 *   fuzz_<target>_replay FILE|DIR...   exit 0, or 2 if a path cannot be read
 * A finding aborts (the target traps), which ctest reports as a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "hx.h"

/* Feed one file to the target; return 0, or -1 if it cannot be read. */
static int
replay_file(const char *path)
{
    uint8_t *data = NULL;
    size_t n = 0;
    char err[512];
    if (hx_read_file(path, &data, &n, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_replay: %s\n", err);
        return -1;
    }
    // an exact-size copy, so ASan sees any read past the input
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, data, n);
    free(data);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

/* Replay path, or every regular file in it; return the files replayed, or
 * -1 on a read error. */
static long
replay(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path) == 0 ? 1 : -1;
    DIR *d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    long count = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        long k = replay(full);
        if (k < 0) {
            count = -1;
            break;
        }
        count += k;
    }
    closedir(d);
    return count;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: fuzz_<target>_replay FILE|DIR...\n", stderr);
        return 2;
    }
    long total = 0;
    for (int i = 1; i < argc; i++) {
        long k = replay(argv[i]);
        if (k < 0)
            return 2;
        total += k;
    }
    printf("fuzz_replay: %ld inputs replayed, no finding\n", total);
    return 0;
}
