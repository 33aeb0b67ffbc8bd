#!/bin/sh
# test_tune.sh — per-device tuning (`octcl tune`, oct_context_tuning): a short tune on a
# device (2 variants, 2 passes; its time is printed, not asserted: speed belongs to
# benchmarks, and the ctest TIMEOUT bounds it) writes its file beside the program cache, and later
# contexts load it and say so (`octcl info`, `octcl bench` text and JSON); the tuned
# parameters are the ones that run (a hand-written file with unusual values shows up in
# info, and bench's reference check passes with them); a corrupt, truncated, other-device
# or out-of-range file is ignored with the reason, and the defaults run; with
# OCTCL_CACHE_DIR=off there is no file and tuning says so; OCTCL_TUNE=1 tunes on first use.
#
#   sh tests/test_tune.sh path/to/octcl SCRATCH DEVICE
#
# DEVICE is cpu or opencl (PoCL here). Stops at the first failed check (exit 1); prints
# "N passed, 0 failed" otherwise.
OCTCL=$1
SCRATCH=$2
DEV=${3:-cpu}
mkdir -p "$SCRATCH" || exit 1
case "$OCTCL" in /*) ;; *) OCTCL=$(pwd)/$OCTCL ;; esac
# PoCL's own kernel cache where it is now (warmed by the other suites): tuning builds one
# program per tile set, and those builds are what this suite times.
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pocl/kcache}"
cd "$SCRATCH" || exit 1
OUT=$SCRATCH/stdout
ERR=$SCRATCH/stderr
unset OCTCL_DEVICE OCTCL_TUNE OCTCL_GEMM_TILES OCTCL_GEMM XDG_CACHE_HOME
# The program cache persists between runs of this suite (compiles are slow on PoCL); the
# tuning files are removed before each case.
CACHE=$SCRATCH/cache
export OCTCL_CACHE_DIR=$CACHE

FAIL_TAG=$DEV
. "$(dirname "$0")/checks.sh"
run() { run_cmd "$@"; }
has() { grep -q -e "$1" "$OUT" || fail "stdout lacks: $1"; pass; }
tuning_line() { grep '^  tuning: ' "$OUT" | tail -n 1; }
clear_tuning() { rm -f "$CACHE"/tune-*.json; }
the_file() { ls "$CACHE"/tune-*.json 2>/dev/null | head -n 1; }

# A short tune: 2 variants (the default and one more), 2 timed passes each.
clear_tuning
START=$(date +%s)
run "$OCTCL" tune --device "$DEV" --max-variants 2 --repeat 2
END=$(date +%s)
expect_rc 0
echo "a 2-variant tune took $((END - START)) s"
pass
grep -q 'checked against the reference' "$ERR" || fail "no progress lines on stderr"
pass
has '^tuning: tuned ('
FILE=$(the_file)
[ -n "$FILE" ] && [ -s "$FILE" ] || fail "no tuning file in $CACHE"
pass
grep -q '"format":[[:space:]]*"octcl-tune 1"' "$FILE" || fail "$FILE has no format line"
pass
[ "$(stat -c %a "$FILE")" = 600 ] || fail "$FILE is not private (mode $(stat -c %a "$FILE"))"
pass
ls -a "$CACHE" | grep -q '\.tmp' && fail "a temporary was left in $CACHE"
pass

# Reloaded by a later context: info and bench (text and JSON) say tuned, with the file.
run "$OCTCL" info --device "$DEV"
expect_rc 0
tuning_line | grep -q "tuning: tuned ($FILE, 20" || fail "info does not report the tuned file"
pass
run "$OCTCL" bench --device "$DEV" --alphas 0.5 --batch 2 --repeat 1 --warmup 0 --json "$SCRATCH/b.json"
expect_rc 0
grep -q "  tuning: tuned ($FILE" "$OUT" || fail "bench's table does not report the tuned file"
pass
grep -q "\"tuning\": \"tuned ($FILE" "$SCRATCH/b.json" || fail "bench's JSON has no tuned tuning field"
pass
grep -q '"matched_reference": true' "$SCRATCH/b.json" || fail "bench's reference check failed with tuned parameters"
pass

# The parameters in the file are the ones that run: unusual values, written by hand, show
# up in info, and the model still matches the reference with them (bench's check).
cp "$FILE" "$SCRATCH/good.json"
if [ "$DEV" = cpu ]; then
    sed -e 's/"band_kfloats":[^,]*,/"band_kfloats": 24,/' -e 's/"min_cols":[^,]*,/"min_cols": 128,/' \
        -e 's/"chunks":[^,]*,/"chunks": 3,/' -e 's/"kc":[^,]*,/"kc": 40,/' -e 's/"mc":[^,]*,/"mc": 24,/' \
        -e 's/"nc":[^,}]*/"nc": 64/' -e 's/"gemm":[^,]*,/"gemm": "scalar",/' \
        -e 's/"wino4_min":[^,}]*/"wino4_min": 48/' "$SCRATCH/good.json" >"$FILE"
    WANT='band 24K floats, 128 cols, 3 chunks/thread, gemm scalar 40/24/64, F(4x4) small planes from 48 ch'
else
    # PoCL: the "small" set (32,32,16,4,4,0), not the cpu device's default.
    sed -e 's/"tiles":[[:space:]]*\[[0-9, ]*\]/"tiles": [32,32,16,4,4,0]/' "$SCRATCH/good.json" >"$FILE"
    WANT='conv tiles tuned (32,32,16,4,4,0)'
fi
chmod 600 "$FILE"
run "$OCTCL" info --device "$DEV"
tuning_line | grep -q "tuning: tuned (.*): $WANT" || fail "info does not show the hand-written parameters ($WANT)"
pass
run "$OCTCL" bench --device "$DEV" --alphas 0,0.5 --batch 3 --size 20x28 --repeat 1 --warmup 0 --json "$SCRATCH/b2.json"
expect_rc 0
[ "$(grep -c '"matched_reference": true' "$SCRATCH/b2.json")" -eq 2 ] ||
    fail "the hand-written parameters do not match the reference"
pass

# Files that must be ignored, each with its reason, the defaults running instead.
ignored() { # $1: what, $2: expected reason
    run "$OCTCL" info --device "$DEV"
    expect_rc 0
    tuning_line | grep -q "tuning: default (tuning file $FILE ignored: $2" ||
        fail "$1: info does not say the file was ignored because '$2'"
    pass
}
printf 'garbage \001\002 not json' >"$FILE"
ignored corrupt 'not a JSON object (corrupt or truncated)'
head -c 120 "$SCRATCH/good.json" >"$FILE"
ignored truncated 'not a JSON object (corrupt or truncated)'
sed -e 's/\(identity":[[:space:]]*"[^"]*\)/\1 another/' "$SCRATCH/good.json" >"$FILE"
ignored 'other device' 'written for another device or driver'
sed -e 's/"format":[[:space:]]*"octcl-tune 1"/"format": "octcl-tune 9"/' "$SCRATCH/good.json" >"$FILE"
ignored 'other format' 'not an "octcl-tune 1" file'
if [ "$DEV" = cpu ]; then
    sed -e 's/"band_kfloats":[^,]*,/"band_kfloats": 100000,/' "$SCRATCH/good.json" >"$FILE"
    ignored 'out of range' 'band_kfloats out of range'
    sed -e 's/"wino4_min":[^,}]*/"wino4_min": 8/' "$SCRATCH/good.json" >"$FILE"
    ignored 'wino4_min out of range' 'wino4_min out of range'
    sed -e 's/"wino4_min":[^,}]*/"wino4_min": "many"/' "$SCRATCH/good.json" >"$FILE"
    ignored 'wino4_min not a number' 'params.wino4_min is not an integer'
else
    sed -e 's/"tiles":[[:space:]]*\[[0-9, ]*\]/"tiles": [64,16,32,16]/' "$SCRATCH/good.json" >"$FILE"
    ignored 'short tiles' 'params.tiles is not 6 numbers'
    # Valid for the file, not for the kernel: passed over, said, and the default runs.
    sed -e 's/"tiles":[[:space:]]*\[[0-9, ]*\]/"tiles": [64,16,32,16,3,1]/' "$SCRATCH/good.json" >"$FILE"
    run "$OCTCL" info --device "$DEV"
    tuning_line | grep -q "tuning: default (the tuned (.*) holds tiles that do not run here)" ||
        fail "tiles conv_gemm.cl cannot take are not reported"
    pass
fi
chmod 644 "$FILE"
chmod g+w "$FILE"
ignored 'group-writable' 'tuning file .* is writable by group or others\|refused\|not private\|writable'
clear_tuning
run "$OCTCL" info --device "$DEV"
tuning_line | grep -q 'tuning: default (no tuning file for this device)' || fail "no file: not reported as default"
pass
run "$OCTCL" bench --device "$DEV" --alphas 0.5 --batch 1 --repeat 1 --warmup 0 --json "$SCRATCH/b3.json"
grep -q '"tuning": "default (no tuning file for this device)' "$SCRATCH/b3.json" || fail "bench JSON: no default tuning"
pass

# OCTCL_CACHE_DIR=off: no file is written and contexts say why they run the defaults.
OCTCL_CACHE_DIR=off run "$OCTCL" tune --device "$DEV" --max-variants 1 --repeat 1
expect_rc 1
grep -q 'nowhere to store the result: \$OCTCL_CACHE_DIR turns it off' "$ERR" || fail "tune with the cache off: no reason"
pass
[ -z "$(the_file)" ] || fail "a tuning file was written with OCTCL_CACHE_DIR=off"
pass
OCTCL_CACHE_DIR=off run "$OCTCL" info --device "$DEV"
tuning_line | grep -q 'tuning: default (no tuning file: \$OCTCL_CACHE_DIR turns it off)' || fail "cache off: info"
pass

# OCTCL_TUNE=1: the first context of a device without a file tunes it (cpu only: on
# PoCL that is a program build per tile set).
if [ "$DEV" = cpu ]; then
    OCTCL_TUNE=1 run "$OCTCL" info --device cpu
    tuning_line | grep -q 'tuning: tuned (' || fail "OCTCL_TUNE=1 did not tune on first use"
    pass
    [ -n "$(the_file)" ] || fail "OCTCL_TUNE=1 wrote no file"
    pass
fi

# OpenCL: a set whose built kernel allows fewer work-items than its work-group (a
# register-limited GPU, simulated) steps down at init, so the tuner skips it, said; with
# every set so limited nothing is stored.
if [ "$DEV" = opencl ]; then
    clear_tuning
    OCTCL_KERNEL_WG_LIMIT=2 run "$OCTCL" tune --device opencl --max-variants 2 --repeat 1
    expect_rc 1
    grep -q 'skipped: did not run as asked' "$ERR" || fail "a set that steps down is not reported as skipped"
    pass
    grep -q 'none of 2 tile sets ran correctly' "$ERR" || fail "no error when no set runs"
    pass
    [ -z "$(the_file)" ] || fail "a tuning file was stored though no set ran"
    pass
fi

# ref has nothing to tune.
run "$OCTCL" tune --device ref
expect_rc 2
run "$OCTCL" tune --device cpu --shapes 1x32
expect_rc 2

echo "$PASSED passed, 0 failed"
