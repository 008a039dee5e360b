#!/bin/sh
# minimize_cli.sh OBCHECK PLANTED DIR PROFILE ID: end to end through the
# command line.  A 100K-operation random trace replays clean on the real
# core and fails with ID on a core with a planted bug; `obcheck minimize`
# shrinks it to at most 20 operations that still fail with ID.  (The C
# reproducer is checked by t_minimize.)
set -eu
ob=$1 planted=$2 dir=$3 profile=$4 id=$5
mkdir -p "$dir"
"$ob" gen random --ops 100000 --seed 3 -o "$dir/big.obt"
"$ob" run --quiet --profile "$profile" "$dir/big.obt"
if "$planted" run --quiet --profile "$profile" "$dir/big.obt" >"$dir/big.out"; then
    echo "minimize_cli: the planted core ran the big trace clean" >&2
    exit 1
fi
grep -q "INV $id " "$dir/big.out"
"$planted" minimize --profile "$profile" "$dir/big.obt" -o "$dir/small.trace"
ops=$(grep -cv '^\(#\|expect\)' "$dir/small.trace")
cat "$dir/small.trace"
if [ "$ops" -gt 20 ]; then
    echo "minimize_cli: $ops operations left, expected at most 20" >&2
    exit 1
fi
grep -q "^expect $id\$" "$dir/small.trace"
"$planted" run --expect --quiet --profile "$profile" "$dir/small.trace"
echo "minimize_cli: 100000 -> $ops operations, $id kept"
