#!/bin/sh
# test_cli_info.sh — `octcl info` (device details, the program cache folder and the rules
# that choose it), the note a first OpenCL run prints while it compiles kernels, and
# that every environment variable the sources read is in `octcl --help` and README.md.
#
#   sh tests/test_cli_info.sh path/to/octcl SCRATCH
#
# Stops at the first failed check (exit 1); prints "N passed, 0 failed" otherwise.
OCTCL=$1
SCRATCH=$2
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$SCRATCH" || exit 1
case "$OCTCL" in /*) ;; *) OCTCL=$(pwd)/$OCTCL ;; esac
# PoCL keeps its own kernel cache under $XDG_CACHE_HOME or $HOME, which the checks below
# point at made-up places: pin it to where it is now (PoCL's default, warmed by the other
# suites), so PoCL does not compile from cold here -- its compiler's own leaks would fail a
# LeakSanitizer build (see README, "Sanitizers"); octcl's cache is what these checks empty.
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pocl/kcache}"
cd "$SCRATCH" || exit 1
OUT=$SCRATCH/stdout
ERR=$SCRATCH/stderr
unset OCTCL_DEVICE OCTCL_CACHE_DIR XDG_CACHE_HOME

. "$(dirname "$0")/checks.sh"
run() { run_cmd "$@"; }

# ---- the program cache folder -------------------------------------------------------------
run env OCTCL_CACHE_DIR="$SCRATCH/c1" XDG_CACHE_HOME=/xdg "$OCTCL" info
[ $RC -eq 0 ] && grep -q "^OpenCL program cache: $SCRATCH/c1 (from \$OCTCL_CACHE_DIR)" "$OUT" ||
    fail "OCTCL_CACHE_DIR decides first"
pass
run env XDG_CACHE_HOME=/xdg HOME=/home/u "$OCTCL" info
grep -q "^OpenCL program cache: /xdg/octcl (from \$XDG_CACHE_HOME/octcl)" "$OUT" || fail "then XDG_CACHE_HOME"
pass
run env XDG_CACHE_HOME=relative HOME=/home/u "$OCTCL" info
grep -q "^OpenCL program cache: /home/u/.cache/octcl (from \$HOME/.cache/octcl)" "$OUT" ||
    fail "a relative XDG_CACHE_HOME is ignored; then HOME"
pass
run env OCTCL_CACHE_DIR=off "$OCTCL" info
grep -q "^OpenCL program cache: off" "$OUT" || fail "OCTCL_CACHE_DIR=off"
pass

# ---- device details and the first-build note (OpenCL only) -----------------------------------
run "$OCTCL" info
if grep -q "^OpenCL devices: none" "$OUT"; then
    echo "note: no OpenCL device here; device details and the build note are not checked"
else
    n=$(grep -c '^  [0-9]*:[0-9]*  ' "$OUT")
    [ "$(grep -c '^       memory: .* GiB global .* compute units' "$OUT")" -eq "$n" ] || fail "memory line per device"
    pass
    [ "$(grep -c '^       version: OpenCL .*; FP16 \(yes\|no\), FP64 \(yes\|no\)$' "$OUT")" -eq "$n" ] ||
        fail "version / FP16 / FP64 line per device"
    pass
    rm -rf "$SCRATCH/cache"
    run env OCTCL_CACHE_DIR="$SCRATCH/cache" "$OCTCL" run --device opencl --batch 1 --size 8x8
    [ $RC -eq 0 ] && grep -q "^building OpenCL kernels for .*, cached for next time$" "$ERR" ||
        fail "a first run says it builds the kernels"
    grep -q "^built OpenCL kernels for .* in [0-9.]* s$" "$ERR" || fail "and how long it took"
    pass
    run env OCTCL_CACHE_DIR="$SCRATCH/cache" "$OCTCL" run --device opencl --batch 1 --size 8x8
    [ $RC -eq 0 ] && ! grep -q "building OpenCL kernels" "$ERR" || fail "a second run uses the cache, silently"
    pass
    run env OCTCL_CACHE_DIR=off "$OCTCL" run --device opencl --batch 1 --size 8x8
    grep -q "^building OpenCL kernels for .*, not cached (the program cache is off)$" "$ERR" ||
        fail "with the cache off the note says so"
    pass
fi

# ---- every environment variable read is documented --------------------------------------------
"$OCTCL" --help >"$SCRATCH/help" 2>&1
vars=$(cat "$SRC_DIR"/host/*.c "$SRC_DIR"/host/*/*.c "$SRC_DIR"/cli/*.c "$SRC_DIR"/bench/*.c 2>/dev/null |
    grep -o 'getenv("[A-Za-z_0-9]*")' | sed 's/getenv("\(.*\)")/\1/' | sort -u)
[ -n "$vars" ] || fail "no getenv calls found under $SRC_DIR"
for v in $vars; do
    LAST="grep $v in octcl --help and README.md"
    grep -q "^  $v " "$SCRATCH/help" || fail "$v is read but not listed in octcl --help"
    grep -q "\`$v\`" "$SRC_DIR/README.md" || fail "$v is read but not listed in README.md"
    pass
done

echo "$PASSED passed, 0 failed"
