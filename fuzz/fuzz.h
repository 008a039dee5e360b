/* fuzz.h — the entry point every fuzz target defines (libFuzzer's), and
 * the plain replay main (fuzz_replay.c) calls.  One target per file:
 * fuzz_<property>.c, with fuzz_<property>.dict and .options beside it and
 * its corpus in corpora/fuzz_<property>/.  fuzz_program.c holds what the
 * targets that replay a decoded program share.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Run one input; return 0 (clang-14's libFuzzer ignores anything else).
 * A finding traps. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct hx_run_options;

/* Decode data as a fuzz_ops program (hx_decode_ops) and replay it with
 * options o, whose profile the input's first byte sets; on a violation
 * print the report and the program to stderr under the target's name,
 * then trap.  Inputs that cannot be decoded (out of memory) are dropped. */
void fuzz_run_program(const char *target, const uint8_t *data, size_t size,
                      struct hx_run_options *o);

#endif /* FUZZ_H */
