#!/bin/bash -eu
# .clusterfuzzlite/build.sh: build obcheck's fuzz targets for
# ClusterFuzzLite (and OSS-Fuzz) and put them in $OUT.
#
# The builder sets CC and CFLAGS (sanitizers plus coverage for every
# object), LIB_FUZZING_ENGINE (the engine's main: -fsanitize=fuzzer or a
# library), SRC, WORK and OUT.  So CMake gets OBM_FUZZ_INSTRUMENT="" (CFLAGS
# instrument), OBM_FUZZ_ENGINE=$LIB_FUZZING_ENGINE, OBM_SANITIZE="" (CFLAGS
# choose the sanitizer), OBM_WERROR=OFF (a newer clang may warn), and
# BUILD_TESTING=OFF (the image has no Check); OBM_DEBUG=2 as the fuzz
# preset.  No CMAKE_BUILD_TYPE, so CFLAGS alone set the optimisation.
#
# For each fuzz_<t> in FUZZ_TARGETS (fuzz/CMakeLists.txt, read back from
# CMake) $OUT gets: the binary, fuzz_<t>_seed_corpus.zip (corpora/fuzz_<t>/,
# flat), fuzz_<t>.dict, and fuzz_<t>.options with its dict line naming that
# dict.  ci/cflite runs this script without Docker and checks $OUT.
set -o pipefail

cd "$SRC/obcheck"
build=$WORK/obcheck-build

cmake -S . -B "$build" \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" \
    -DOBM_FUZZ=ON -DOBM_FUZZ_INSTRUMENT= \
    -DOBM_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
    -DOBM_SANITIZE= -DOBM_DEBUG=2 -DOBM_WERROR=OFF -DBUILD_TESTING=OFF

# Every fuzz_<name> target with a fuzz_<name>_replay beside it: the
# entries of FUZZ_TARGETS (Makefile and Ninja help formats alike).
names=$(cmake --build "$build" --target help | sed -n \
    's/^\.\.\. \([A-Za-z0-9_-]*\).*/\1/p; s/^\([A-Za-z0-9_-]*\): .*/\1/p')
targets=()
for t in $(grep -x 'fuzz_[A-Za-z0-9_]*' <<<"$names" |
    grep -v '_replay$' || true); do
    if grep -qx "${t}_replay" <<<"$names"; then targets+=("$t"); fi
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "build.sh: no fuzz targets found in $build" >&2
    exit 1
fi

cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

for t in "${targets[@]}"; do
    cp "$build/bin/$t" "$OUT/"
    # A flat zip of the seeds, hidden files left out (zip's -x does not
    # work together with -j, so find lists them).
    rm -f "$OUT/${t}_seed_corpus.zip"
    seeds=$(find "corpora/$t" -name '.*' -prune -o -type f -print \
        2>/dev/null || true)
    if [ -n "$seeds" ]; then
        printf '%s\n' "$seeds" | zip -q -j "$OUT/${t}_seed_corpus.zip" -@
    fi
    if [ -f "fuzz/$t.dict" ]; then
        cp "fuzz/$t.dict" "$OUT/"
    fi
    if [ -f "fuzz/$t.options" ]; then
        # The dict sits beside the binary in $OUT, whatever path the
        # source tree's options file gives.
        sed "s|^\([[:space:]]*dict[[:space:]]*=[[:space:]]*\).*|\1$t.dict|" \
            "fuzz/$t.options" >"$OUT/$t.options"
    fi
done
