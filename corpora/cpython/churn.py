# A heavy workload for `obcheck cpython mirror` (not bundled as a trace):
# waves of objects of many size classes, freed in shuffled order, so that
# pools empty, arenas fill, drain and are released, and usable_arenas is
# re-sorted all the time.  Usage: churn.py [ROUNDS [WAVE]] (default 40
# rounds of 60000 objects).
import random
import sys

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
size = int(sys.argv[2]) if len(sys.argv) > 2 else 60000
rng = random.Random(1234)
keep = []
for r in range(rounds):
    wave = []
    for i in range(size):
        k = rng.randrange(6)
        if k == 0:
            wave.append("x" * rng.randrange(1, 400))
        elif k == 1:
            wave.append(list(range(rng.randrange(0, 60))))
        elif k == 2:
            wave.append({i: i, "r": r})
        elif k == 3:
            wave.append((i, r, str(i)))
        elif k == 4:
            wave.append(bytearray(rng.randrange(1, 512)))
        else:
            wave.append(float(i) * 1.5)
    rng.shuffle(wave)
    # most of a wave dies at once, a little survives a few rounds
    keep.extend(wave[: size // 30])
    del wave
    if len(keep) > size // 3:
        rng.shuffle(keep)
        del keep[: size // 4]
print(len(keep))
