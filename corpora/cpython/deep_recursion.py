# Deep recursion: 3.11's frame data stack grows in chunks that it gets from
# the arena allocator (_PyObject_VirtualAlloc) between MEM/OBJ calls.  Those
# are not obmalloc arenas; a recorder that took them for arenas reported a
# spurious "arena events differ" divergence (the first one `mirror` found).
import sys

sys.setrecursionlimit(20000)


def depth(n):
    return depth(n - 1) + 1 if n else 0


for k in range(3):
    print(depth(5000 + 1000 * k))
