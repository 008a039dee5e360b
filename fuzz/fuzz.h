/* fuzz.h — the entry point every fuzz target defines (libFuzzer's), and
 * the plain replay main (fuzz_replay.c) calls.  One target per file:
 * fuzz_<property>.c, with fuzz_<property>.dict and .options beside it and
 * its corpus in corpora/fuzz_<property>/.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Run one input; return 0 (clang-14's libFuzzer ignores anything else).
 * A finding traps. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* FUZZ_H */
