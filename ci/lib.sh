# shellcheck shell=bash
# ci/lib.sh: helpers shared by the ci/ scripts.  Source it; don't run it.
#
# Every helper fails loudly: the scripts run under `set -euo pipefail` and a
# failing step stops the run with a line saying which step it was.

# Packages a fresh Debian 12 machine needs to build and test obcheck.
# clang-format checks the style, git lists the tracked sources, valgrind
# is for the Valgrind step.  libpython3.11-dev gives the static
# libpython3.11.a that obcheck-cpython links, which needs libexpat1-dev and
# zlib1g-dev too; libpython3.11-testsuite holds the stdlib tests that
# ci/cpython-mirror runs as its heavy workload.
OBCHECK_PACKAGES=(
    gcc make cmake pkg-config git
    clang libclang-rt-14-dev clang-format
    check valgrind libpython3.11-dev libexpat1-dev zlib1g-dev
    libpython3.11-testsuite zip
    # allocators `obcheck allocator --all-known` checks besides glibc,
    # pymalloc (libpython3.11) and the reference core
    libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4
)

# Start time of the script that sourced this file, for elapsed times.
CI_T0=${CI_T0:-$(date +%s)}
export CI_T0

ci_name=$(basename "$0")

# Print a step header: "==> [12s] ci/test: build default".
step()
{
    local now
    now=$(date +%s)
    printf '\n==> [%ss] %s: %s\n' "$((now - CI_T0))" "ci/$ci_name" "$*"
}

# Print a message to stderr and exit 1.
die()
{
    printf '%s: error: %s\n' "ci/$ci_name" "$*" >&2
    exit 1
}

# On any failing command, name the step that failed (set -e then exits);
# errtrace carries the trap into functions.
set -o errtrace
on_error()
{
    local rc=$? line=$1
    printf '\n%s: FAILED (exit %s) at line %s: %s\n' \
        "ci/$ci_name" "$rc" "$line" "$BASH_COMMAND" >&2
}
trap 'on_error $LINENO' ERR

# Change to the repository root (the parent of ci/).
cd_repo_root()
{
    cd "$(dirname "${BASH_SOURCE[0]}")/.." ||
        die "cannot cd to the repository root"
}

# Return 0 if Debian package $1 is installed.
have_package()
{
    dpkg-query -W -f='${db:Status-Status}\n' "$1" 2>/dev/null |
        grep -qx installed
}

# Install whatever of OBCHECK_PACKAGES is missing; do nothing if all are
# there.  Needs root (or sudo) only when something is missing.
ensure_packages()
{
    local missing=() p sudo=()
    command -v dpkg-query >/dev/null ||
        die "dpkg-query not found: this script expects Debian 12"
    for p in "${OBCHECK_PACKAGES[@]}"; do
        have_package "$p" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        step "packages: all ${#OBCHECK_PACKAGES[@]} present"
        return 0
    fi
    step "packages: installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null ||
            die "missing packages (${missing[*]}) and not root; rerun as root"
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq ||
        die "apt-get update failed"
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
    for p in "${missing[@]}"; do
        have_package "$p" || die "package $p still missing after install"
    done
}

# Install whatever of the packages named as arguments is missing, as
# ensure_packages does, for a step that needs more than OBCHECK_PACKAGES.
ensure_extra_packages()
{
    local OBCHECK_PACKAGES=("$@")
    ensure_packages
}

# Configure and build preset $1.
build_preset()
{
    step "configure $1"
    cmake --preset "$1" ||
        die "cmake --preset $1 failed"
    step "build $1"
    cmake --build --preset "$1" ||
        die "cmake --build --preset $1 failed"
}

# Run the tests of preset $1 (already built).
test_preset()
{
    step "test $1"
    ctest --preset "$1" --no-label-summary ||
        die "ctest --preset $1 failed"
}

# Run the tests of preset $1 as the run's last step, then repeat ctest's
# summary line ("100% tests passed, 0 tests failed out of N") so that it is
# the last line printed; ctest itself closes with "Total Test time".
final_test_preset()
{
    local log rc summary
    step "test $1"
    log=$(mktemp)
    ctest --preset "$1" --no-label-summary 2>&1 | tee "$log" &&
        rc=0 || rc=$?
    summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of' \
        "$log" | tail -n 1 || true)
    rm -f "$log"
    [ "$rc" -eq 0 ] || die "ctest --preset $1 failed"
    [ -n "$summary" ] || die "ctest --preset $1 printed no summary line"
    printf '\n%s\n' "$summary"
}

# List the C sources git tracks (plus new files not ignored, so a developer
# checks what they are about to commit); fall back to find outside git.
c_sources()
{
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files --cached --others --exclude-standard -- '*.c' '*.h' |
            while IFS= read -r f; do
                if [ -f "$f" ]; then printf '%s\n' "$f"; fi
            done
    else
        find . -path ./build -prune -o -path ./out -prune -o \
            -type f \( -name '*.c' -o -name '*.h' \) -print |
            sed 's|^\./||'
    fi | sort
}

# Check every C source against .clang-format; print the offending files and
# how many lines each would change, then fail if any would.
format_check()
{
    local files=() bad=() f n
    step "format check (clang-format $(clang-format --version |
        sed -n 's/.*version \([0-9.]*\).*/\1/p'))"
    mapfile -t files < <(c_sources)
    if [ ${#files[@]} -eq 0 ]; then
        echo "no C sources to check"
        return 0
    fi
    for f in "${files[@]}"; do
        if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
            bad+=("$f")
        fi
    done
    echo "checked ${#files[@]} files, ${#bad[@]} not formatted"
    if [ ${#bad[@]} -gt 0 ]; then
        for f in "${bad[@]}"; do
            n=$({ clang-format "$f" | diff "$f" - || true; } |
                grep -c '^[<>]' || true)
            if [ "$n" -gt 0 ]; then
                printf '  %s: %s lines differ\n' "$f" "$n"
            else
                printf '  %s: clang-format failed: %s\n' "$f" \
                    "$(clang-format --dry-run "$f" 2>&1 | head -n 1)"
            fi
        done
        echo "first differences (fix with: clang-format -i FILE):"
        for f in "${bad[@]}"; do
            { clang-format "$f" | diff -u "$f" - || true; } |
                sed -n '3,14p' | sed "s|^|  $f: |"
        done
        die "format check failed: ${#bad[@]} files not clang-format clean"
    fi
}
