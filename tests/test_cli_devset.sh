#!/bin/sh
# test_cli_devset.sh — `--device all` and device lists on `octcl run` and `classify`:
# every row equals what the device that computed it gives alone, a device made to fail
# (OCTCL_FAULT_DEVSET) is dropped with a warning and the result stays right, every device
# failing is a clean error with no output file, bad lists are usage errors, and the
# reports give each device's images per second.
#
#   sh tests/test_cli_devset.sh path/to/octcl [scratch-dir]
#
# Stops at the first failed check; prints "N passed, 0 failed" when every check passes.
# Works with or without OpenCL ("all" is then cpu alone).

OCTCL=$1
SCRATCH=${2:-}
if [ -z "$OCTCL" ] || [ ! -x "$OCTCL" ]; then
    echo "usage: test_cli_devset.sh path/to/octcl [scratch-dir]" >&2
    exit 1
fi
if [ -z "$SCRATCH" ]; then
    SCRATCH=$(mktemp -d) || exit 1
fi
mkdir -p "$SCRATCH" || exit 1
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
MODEL=${OCTCL_MODELS:-$SRC_DIR/models}/octnet_fmnist_a0.50.safetensors
DATA=/usr/share/datasets/fashion-mnist
ONNX=/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d_strided/model.onnx
unset OCTCL_DEVICE OCTCL_MODELS OCTCL_FAULT_DEVSET

OUT=$SCRATCH/stdout
ERR=$SCRATCH/stderr
. "$(dirname "$0")/checks.sh"

run() { run_cmd "$OCTCL" "$@"; }
expect_usage() {
    expect_usage_rc
    expect_err "octcl $1: "
}

# check_rows SET_OUTPUT ARGS...: the set's logits (text rows, in $SET_OUTPUT) against each
# device of the set (the "device I: SPEC = ..." lines of $ERR) alone with ARGS: every row
# must be, character for character, that row of one of them; at least one row must come
# from each device that reported images.
check_rows() {
    set_out=$1
    shift
    specs=$(sed -n 's/^device [0-9]*: \([^ ]*\) = .*/\1/p' "$ERR")
    [ -n "$specs" ] || fail "no 'device I: SPEC = NAME' lines on stderr"
    i=0
    for spec in $specs; do
        "$OCTCL" "$@" --device "$spec" >"$SCRATCH/alone.$i" 2>/dev/null || fail "$spec alone failed"
        i=$((i + 1))
    done
    rows=$(wc -l <"$set_out" | tr -d ' ')
    [ "$rows" -gt 0 ] || fail "no rows"
    r=1
    while [ "$r" -le "$rows" ]; do
        line=$(sed -n "${r}p" "$set_out")
        found=0
        j=0
        while [ "$j" -lt "$i" ]; do
            [ "$(sed -n "${r}p" "$SCRATCH/alone.$j")" = "$line" ] && found=1
            j=$((j + 1))
        done
        [ "$found" -eq 1 ] || fail "row $r of the set's output is no device's row alone: $line"
        r=$((r + 1))
    done
    pass
}

# ---- bad lists: usage errors, one line -----------------------------------------------
# With an empty program cache: a list found bad only after its OpenCL devices started
# would first print their kernel builds (seen on the GPU machine, where "all,cpu" built
# PoCL's kernels for 13 s before the error).
for bad in "cpu,,ref" "cpu," ",ref" "cpu,cpu" "cpu,bogus" "all,cpu" "all,bogus" "all,all"; do
    rm -rf "$SCRATCH/cold-cache"
    run_cmd env OCTCL_CACHE_DIR="$SCRATCH/cold-cache" "$OCTCL" run --device "$bad" --batch 2 --size 8x8
    expect_usage run
    expect_err "device list \"$bad\""
done
run classify --device "cpu,,ref" --limit 5
expect_usage classify
OCTCL_DEVICE="ref,ref" "$OCTCL" run --batch 1 --size 8x8 >"$OUT" 2>"$ERR"
RC=$?
LAST="OCTCL_DEVICE=ref,ref octcl run"
expect_usage run
expect_err "(from \$OCTCL_DEVICE)"

# ---- run: rows of every device, random OctNetMini and an ONNX file ----------------------
ARGS="run --batch 11 --size 9x8 --seed 4"
run $ARGS --device all,ref
expect_rc 0
expect_err "device 0: "
expect_err "ran cpu "
expect_err "ran ref "
expect_err " images/s"
cp "$OUT" "$SCRATCH/set.txt"
check_rows "$SCRATCH/set.txt" $ARGS
run $ARGS --device cpu,ref --verbose
expect_rc 0
expect_out "Device: device set of 2: cpu,ref"
expect_out "Logits: (11, 10)"
if [ -f "$ONNX" ]; then
    OARGS="run --model $ONNX --batch 13 --seed 2"
    run $OARGS --device ref,all
    expect_rc 0
    cp "$OUT" "$SCRATCH/set.txt"
    check_rows "$SCRATCH/set.txt" $OARGS
fi

# ---- a device that fails mid-run, every device failing ------------------------------------
OCTCL_FAULT_DEVSET=0:1 "$OCTCL" $ARGS --device cpu,ref >"$OUT" 2>"$ERR"
RC=$?
LAST="OCTCL_FAULT_DEVSET=0:1 octcl $ARGS --device cpu,ref"
expect_rc 0
expect_err "octcl: warning: device 0 (cpu, "
expect_err "goes back to the queue"
expect_err "dropped: fault injected"
cp "$OUT" "$SCRATCH/set.txt"
"$OCTCL" $ARGS --device ref >"$SCRATCH/ref.txt" 2>/dev/null
cmp -s "$SCRATCH/set.txt" "$SCRATCH/ref.txt" || fail "with cpu dropped at once, the rows are not ref's"
pass
rm -f "$SCRATCH/y.npy"
OCTCL_FAULT_DEVSET=0:1,1:1 "$OCTCL" $ARGS --device cpu,ref --output "$SCRATCH/y.npy" >"$OUT" 2>"$ERR"
RC=$?
LAST="OCTCL_FAULT_DEVSET=0:1,1:1 octcl $ARGS --device cpu,ref --output y.npy"
expect_rc 1
expect_err "octcl: error: device set \"cpu,ref\": no device left"
[ ! -e "$SCRATCH/y.npy" ] || fail "an output file was written by a failed run"
pass

# ---- classify: per-device report, predictions as on one device ----------------------------
if [ -f "$MODEL" ] && [ -d "$DATA" ]; then
    run classify --model "$MODEL" --data "$DATA" --limit 120 --batch 8 --device cpu,ref --json \
        --predictions "$SCRATCH/set.npy"
    expect_rc 0
    expect_out '"images": 120'
    expect_out '"devices": [{"device": "cpu"'
    expect_out '{"device": "ref"'
    n=$(grep -o '"images_per_second"' "$OUT" | wc -l | tr -d ' ')
    [ "$n" -eq 3 ] || fail "expected images_per_second in total and for each of 2 devices, found $n"
    pass
    run classify --model "$MODEL" --data "$DATA" --limit 120 --batch 8 --device cpu --predictions "$SCRATCH/one.npy"
    expect_rc 0
    cmp -s "$SCRATCH/set.npy" "$SCRATCH/one.npy" || fail "predictions on cpu,ref differ from cpu alone"
    pass
    run classify --model "$MODEL" --data "$DATA" --limit 64 --batch 8 --device all
    expect_rc 0
    expect_out "device: device set of"
    expect_out "  cpu "
    expect_out " images/s ("
else
    echo "note: skipping the classify checks: no model $MODEL or no data set $DATA"
fi

echo "$PASSED passed, 0 failed"
exit 0
