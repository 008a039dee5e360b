# Damage the real heap the way a bug in obmalloc would: raise the count of
# the pool that holds a small object by 1000, past NUMBLOCKS.  `obcheck
# cpython walk` must report it (P2 first) at its next check; nothing else
# reads the count until the pool would empty, which it no longer can.
import ctypes

POOL_SIZE = 16384  # CPython 3.11 on x86-64
x = b"obcheck" * 3  # a small object: its pool is pymalloc's
pool = id(x) & ~(POOL_SIZE - 1)
ctypes.c_uint.from_address(pool).value += 1000
