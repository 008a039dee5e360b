#!/bin/sh
# decode_run.sh OBCHECK TARGET DIR: every input of DIR decodes (`obcheck
# decode --target TARGET`) to a trace that `obcheck run` takes as it is,
# in the profile the decoded trace's first comment names, and runs clean.
set -eu
obcheck=$1 target=$2 dir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for f in "$dir"/*; do
    [ -f "$f" ] || continue
    "$obcheck" decode --target "$target" "$f" -o "$tmp/t.trace"
    profile=$(sed -n '1s/.*: profile \(py[0-9]*\).*/\1/p' "$tmp/t.trace")
    if [ -z "$profile" ]; then
        echo "decode_run: $f: no profile in the first comment" >&2
        exit 1
    fi
    if ! "$obcheck" run --profile "$profile" "$tmp/t.trace" >"$tmp/out" 2>&1
    then
        cat "$tmp/out"
        echo "decode_run: $f: obcheck run failed (profile $profile)" >&2
        exit 1
    fi
    n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
    echo "decode_run: no inputs in $dir" >&2
    exit 1
fi
echo "decode_run: $n $target inputs decoded and ran clean"
