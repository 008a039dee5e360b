/* trace_binary.h — the binary trace format the reader
 * (trace_binary_read.c) and the writer (trace_binary_write.c) share:
 * "OBCT", a version, records.
 *
 * Each record opens with a tag byte; numbers are LEB128 varints.  Slots
 * are numbered in order of first use, so a malloc of a block never seen
 * names it with one tag bit, and a later reference is its distance back
 * from the newest slot, which is small for the recent blocks most
 * workloads touch.  A slot's label costs nothing when it is the number of
 * the slot itself (what generators make).  Notes and labels ride in the
 * record stream beside the operations they belong to.  Layout:
 * harness/TRACES.md.
 */
#ifndef HX_TRACE_BINARY_H
#define HX_TRACE_BINARY_H

#include "hx.h"

#define BIN_MAGIC "OBCT"
#define BIN_VERSION 1
#define BIN_HEADER 5
#define BIN_MAX_NAME 63
#define BIN_MAX_NOTE 2048

/* Tag byte: an operation is its kind (bits 0-3) | T_NEW | x << 5, where
 * x is what hx_bin_low_use() says; code 15 in bits 0-3 is a meta record, told
 * apart by bits 4-7. */
#define T_NEW 0x10u
#define T_X_SHIFT 5
enum {
    M_END = 0x0f,
    M_EXPECT = 0x1f,
    M_NOTE = 0x2f,
    M_TRAILING = 0x3f,
    M_LABEL_NUM = 0x4f,
    M_LABEL_NAME = 0x5f,
    M_ATTR = 0x6f, /* a recorded op's domain and placement */
};

static inline bool
hx_bin_has_slot(unsigned kind)
{
    return kind != HX_FAULT_ARENAS && kind != HX_FAULT_RAW && kind != HX_CHECK
           && kind != HX_ARENA_NEW && kind != HX_ARENA_FREE;
}

/* What an operation tag's bits 5-7 carry: nothing, fault flags, the low
 * three bits of the size, or of the block distance.  Sizes below 1024 and
 * distances below 1024 thus take one varint byte. */
enum {
    X_NONE,
    X_FLAGS,
    X_SIZE,
    X_DISTANCE
};

static inline int
hx_bin_low_use(unsigned kind)
{
    switch (kind) {
    case HX_MALLOC:
    case HX_REALLOC:
        return X_SIZE;
    case HX_FAULT_ARENAS:
    case HX_FAULT_RAW:
        return X_FLAGS;
    case HX_FREE:
    case HX_DOUBLE_FREE:
    case HX_WRITE_AFTER_FREE:
    case HX_OVERFLOW:
        return X_DISTANCE;
    default:
        return X_NONE;
    }
}

#endif /* HX_TRACE_BINARY_H */
