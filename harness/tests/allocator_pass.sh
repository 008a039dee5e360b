#!/bin/sh
# allocator_pass.sh OBCHECK SPEC [OPTIONS]: the battery must pass (exit 0).
# A library that is not installed skips (exit 77, ctest's SKIP_RETURN_CODE)
# with the reason; so does one that cannot run inside a sanitizer build.
obcheck=$1
shift
out=$("$obcheck" allocator "$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ $rc -eq 2 ] && printf '%s\n' "$out" | grep -q "cannot load"; then
    echo "SKIP: $1 is not installed"
    exit 77
fi
exit $rc
