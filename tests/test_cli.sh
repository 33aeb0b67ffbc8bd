#!/bin/sh
# test_cli.sh — checks of the `octcl` program: exit codes, usage errors, the shape trace,
# output files, bad inputs, device choice without OpenCL, and Fashion-MNIST accuracy.
#
#   sh tests/test_cli.sh path/to/octcl [scratch-dir]
#
# Stops at the first failed check with a message and exit status 1; prints
# "N passed, 0 failed" when every check passes. Needs only POSIX sh tools (no python).
# The classify accuracy check needs the shipped model ($OCTCL_MODELS, else models/ beside
# tests/) and the data set; it is skipped with a message when either is absent.

OCTCL=$1
SCRATCH=${2:-}
if [ -z "$OCTCL" ] || [ ! -x "$OCTCL" ]; then
    echo "usage: test_cli.sh path/to/octcl [scratch-dir]" >&2
    exit 1
fi
if [ -z "$SCRATCH" ]; then
    SCRATCH=$(mktemp -d) || exit 1
fi
mkdir -p "$SCRATCH" || exit 1
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
MODELS=${OCTCL_MODELS:-$SRC_DIR/models}
MODEL=$MODELS/octnet_fmnist_a0.50.safetensors
DATA=/usr/share/datasets/fashion-mnist
FIXTURES=$SRC_DIR/tests/fixtures
unset OCTCL_DEVICE OCTCL_MODELS

OUT=$SCRATCH/stdout
ERR=$SCRATCH/stderr
. "$(dirname "$0")/checks.sh"

# run ARGS...: the program with ARGS; sets RC, stdout in $OUT, stderr in $ERR.
run() { run_cmd "$OCTCL" "$@"; }
# expect_size FILE BYTES
expect_size() {
    [ -f "$1" ] || fail "no file $1"
    size=$(wc -c <"$1" | tr -d ' ')
    [ "$size" -eq "$2" ] || fail "$1 has $size bytes, expected $2"
    pass
}
# A usage error of subcommand $1 (none: the program itself): exit 2 and one line on
# stderr, "octcl CMD: <problem> (see octcl CMD --help)".
expect_usage() {
    expect_usage_rc
    expect_err "octcl${1:+ $1}: "
    expect_err " (see octcl${1:+ $1} --help)"
}

# npy_fixture FILE "SHAPE" DATA_BYTES: a float32 .npy (version 1, 128-byte header)
# holding zeros, written byte by byte.
npy_fixture() {
    printf '\223NUMPY\001\000\166\000' >"$1"
    printf "%-117s\n" "{'descr': '<f4', 'fortran_order': False, 'shape': ($2), }" >>"$1"
    if [ "$3" -gt 0 ]; then dd if=/dev/zero bs="$3" count=1 2>/dev/null >>"$1"; fi
}

# ---- version, help, unknown commands ----------------------------------------------
run --version
expect_rc 0
expect_out "octcl 0."
run --help
expect_rc 0
expect_out "usage: octcl <command>"
for cmd in info run classify; do
    run "$cmd" --help
    expect_rc 0
    expect_out "usage: octcl $cmd"
done
run help run
expect_rc 0
expect_out "usage: octcl run"
run
expect_rc 2
run frobnicate
expect_usage
expect_err "unknown command 'frobnicate'"
run --frobnicate
expect_usage
run help run extra
expect_usage

# ---- usage errors -------------------------------------------------------------------
run run --batch 0
expect_usage run
expect_err "--batch"
run run --batch abc
expect_usage run
run run --batch 2x
expect_usage run
run run --batch " 2"
expect_usage run
run run --size 32
expect_usage run
expect_err "HxW"
run run --size 0x32
expect_usage run
run run --alpha 1.5
expect_usage run
run run --alpha abc
expect_usage run
run run --seed -1
expect_usage run
run run --in-channels 0
expect_usage run
run run --classes ""
expect_usage run
run run --bogus
expect_usage run
expect_err "unknown option '--bogus'"
run run extra
expect_usage run
expect_err "unexpected argument 'extra'"
run run --
expect_usage run
run run -x
expect_usage run
expect_err "unknown option '-x'"
run run --output
expect_usage run
expect_err "needs a value"
run run --verbose=yes
expect_usage run
run run --model "$SCRATCH/x.safetensors" --alpha 0.5
expect_usage run
run run --input "$SCRATCH/x.npy" --batch 4
expect_usage run
run classify --batch 0
expect_usage classify
run classify --limit -3
expect_usage classify
run classify --limit ten
expect_usage classify
run classify extra
expect_usage classify
run info --bogus
expect_usage info

# ---- devices ------------------------------------------------------------------------
run run --device bogus
expect_usage run
expect_err 'device "bogus"'
run classify --device bogus
expect_usage classify
run run --device opencl:x:0
expect_usage run
# (Variables are exported and unset around calls: POSIX leaves `VAR=x function` unclear.)
export OCTCL_DEVICE=bogus
run run
unset OCTCL_DEVICE
expect_usage run
expect_err "OCTCL_DEVICE"
export OCTCL_DEVICE=cpu
run run --batch 1 --size 4x4
unset OCTCL_DEVICE
expect_rc 0
expect_err 'device: native CPU'
expect_err 'requested "cpu"'
run run --device opencl:99:0 --batch 1 --size 4x4
expect_rc 1
expect_err "octcl: error:"

run info
expect_rc 0
expect_out "OpenCL devices"
expect_out "auto picks:"
if grep -q "^OpenCL devices: none (" "$OUT"; then
    echo "note: no OpenCL device here: $(grep '^OpenCL devices' "$OUT")"
else
    grep -q "^  [0-9][0-9]*:[0-9][0-9]*  " "$OUT" || fail "info lists no device as P:D"
    pass
fi
export OCTCL_DEVICE=ref
run info
unset OCTCL_DEVICE
expect_rc 0
expect_out 'OCTCL_DEVICE="ref"'

# Without any OpenCL platform, auto falls back to the native CPU path and says why.
mkdir -p "$SCRATCH/no-icd"
export OCL_ICD_VENDORS="$SCRATCH/no-icd" OCL_ICD_FILENAMES=
run run --batch 1 --size 8x8
expect_rc 0
expect_err "no OpenCL platform found"
expect_err "using the native CPU path"
run info
expect_rc 0
expect_out "OpenCL devices: none (no OpenCL platform found"
run run --device opencl --batch 1 --size 4x4
expect_rc 1
expect_err "octcl: error:"
unset OCL_ICD_VENDORS OCL_ICD_FILENAMES

# ---- run: the seed's shape trace ------------------------------------------------------
run run --verbose --device cpu
expect_rc 0
expect_err "device: "
expect_out "Stem out: (2, 64, 32, 32)"
expect_out "Split x_h: (2, 32, 32, 32)"
expect_out "Split x_l: (2, 32, 16, 16)"
expect_out "After b1 x_h: (2, 64, 32, 32)"
expect_out "After b1 x_l: (2, 64, 16, 16)"
expect_out "After b2 x_h: (2, 64, 32, 32)"
expect_out "After b2 x_l: (2, 64, 16, 16)"
expect_out "Merged x: (2, 128, 32, 32)"
expect_out "Logits: (2, 10)"
expect_out "Trainable params: 224842"
expect_out "Device: "

run run --verbose --alpha 0 --in-channels 3 --classes 10 --device cpu
expect_rc 0
expect_out "Split x_h: (2, 64, 32, 32)"
expect_out "Split x_l: None"
expect_out "After b1 x_h: (2, 128, 32, 32)"
expect_out "After b1 x_l: None"
expect_out "After b2 x_l: None"
expect_out "Merged x: (2, 128, 32, 32)"
expect_out "Trainable params: 224842"

run run --verbose --alpha 1 --in-channels 3 --classes 10 --device cpu
expect_rc 0
expect_out "Split x_h: None"
expect_out "Split x_l: (2, 64, 16, 16)"
expect_out "After b1 x_l: (2, 128, 16, 16)"
expect_out "After b2 x_h: None"
expect_out "Merged x: (2, 128, 32, 32)"
expect_out "Trainable params: 224842"

# The default device (auto: an OpenCL GPU where there is one) runs the same trace.
run run --verbose --batch 3 --size 20x12 --alpha 0.25 --classes 7
expect_rc 0
expect_out "Stem out: (3, 64, 20, 12)"
expect_out "Split x_l: (3, 16, 10, 6)"
expect_out "Logits: (3, 7)"

# Logits as text rows without --output; as a .npy of (N, classes) with it.
run run --batch 3 --device cpu
expect_rc 0
[ "$(wc -l <"$OUT" | tr -d ' ')" -eq 3 ] || fail "expected 3 rows of logits on stdout"
pass
rm -f "$SCRATCH/y.npy"
run run --output "$SCRATCH/y.npy" --device cpu
expect_rc 0
expect_size "$SCRATCH/y.npy" $((128 + 2 * 10 * 4))
run run --output "$SCRATCH/y7.npy" --batch 5 --classes 7 --size 9x13
expect_rc 0
expect_size "$SCRATCH/y7.npy" $((128 + 5 * 7 * 4))
run run --output "$SCRATCH/no-such-dir/y.npy" --device cpu
expect_rc 1
expect_err "octcl: error:"

# ---- run --input: good and bad .npy files -----------------------------------------------
npy_fixture "$SCRATCH/good.npy" "1, 3, 4, 4" $((1 * 3 * 4 * 4 * 4))
run run --input "$SCRATCH/good.npy" --output "$SCRATCH/good_y.npy" --device cpu
expect_rc 0
expect_size "$SCRATCH/good_y.npy" $((128 + 1 * 10 * 4))

npy_fixture "$SCRATCH/rank2.npy" "2, 3" $((2 * 3 * 4))
run run --input "$SCRATCH/rank2.npy" --device cpu
expect_rc 1
expect_err "octcl: error:"
expect_err "(2, 3)"
expect_err "(N, 3, H, W)"

npy_fixture "$SCRATCH/chan2.npy" "1, 2, 4, 4" $((1 * 2 * 4 * 4 * 4))
run run --input "$SCRATCH/chan2.npy" --device cpu
expect_rc 1
expect_err "(1, 2, 4, 4)"
expect_err "(N, 3, H, W)"
run run --input "$SCRATCH/chan2.npy" --in-channels 2 --output "$SCRATCH/chan2_y.npy" --device cpu
expect_rc 0
expect_size "$SCRATCH/chan2_y.npy" $((128 + 1 * 10 * 4))

npy_fixture "$SCRATCH/short.npy" "1, 3, 4, 4" 20
run run --input "$SCRATCH/short.npy" --device cpu
expect_rc 1
expect_err "octcl: error:"

printf 'this is not a .npy file\n' >"$SCRATCH/junk.npy"
run run --input "$SCRATCH/junk.npy" --device cpu
expect_rc 1
expect_err "octcl: error:"

run run --input "$SCRATCH/missing.npy" --device cpu
expect_rc 1
expect_err "octcl: error:"
expect_err "missing.npy"

run run --model "$SCRATCH/missing.safetensors" --device cpu
expect_rc 1
expect_err "missing.safetensors"
run run --model "$SCRATCH/junk.npy" --device cpu
expect_rc 1
expect_err "octcl: error:"

# ---- the README's table of bad inputs (each row is checked here) -----------------------
# npy_typed FILE DESCR ORDER "SHAPE" DATA_BYTES: like npy_fixture with another dtype/order.
npy_typed() {
    printf '\223NUMPY\001\000\166\000' >"$1"
    printf "%-117s\n" "{'descr': '$2', 'fortran_order': $3, 'shape': ($4), }" >>"$1"
    dd if=/dev/zero bs="$5" count=1 2>/dev/null >>"$1"
}
npy_typed "$SCRATCH/f8.npy" '<f8' False "1, 3, 4, 4" 384
run run --input "$SCRATCH/f8.npy" --device cpu
expect_rc 1
expect_err "dtype '<f8' is not float32"
npy_typed "$SCRATCH/fortran.npy" '<f4' True "1, 3, 4, 4" 192
run run --input "$SCRATCH/fortran.npy" --device cpu
expect_rc 1
expect_err "fortran_order True"
# (1, 3, 2, 2) float32: eleven zeros and a NaN / an Inf (little-endian bytes).
npy_fixture "$SCRATCH/nan.npy" "1, 3, 2, 2" 44
printf '\000\000\300\177' >>"$SCRATCH/nan.npy"
run run --input "$SCRATCH/nan.npy" --device cpu
expect_rc 1
expect_err "input holds NaN at index 11"
npy_fixture "$SCRATCH/inf.npy" "1, 3, 2, 2" 44
printf '\000\000\200\177' >>"$SCRATCH/inf.npy"
run run --input "$SCRATCH/inf.npy" --device cpu
expect_rc 1
expect_err "input holds Inf at index 11"
npy_fixture "$SCRATCH/huge.npy" "100000, 3, 100000, 100000" 64
run run --input "$SCRATCH/huge.npy" --device cpu
expect_rc 1
expect_err "huge.npy"
run run --size 100000x100000 --device cpu
expect_usage run
run run --batch 1000000 --device cpu
expect_usage run
head -c 100 "$FIXTURES/net_a0.50_n3_c3_9x7_k10.safetensors" >"$SCRATCH/truncated.safetensors"
run run --model "$SCRATCH/truncated.safetensors" --device cpu
expect_rc 1
expect_err "past the end of the file"
# A batch over the device memory limit runs in chunks with the same logits; a limit
# too small for one image is a clear error.
run run --batch 7 --size 12x12 --output "$SCRATCH/whole.npy" --device opencl
if [ "$RC" -eq 0 ]; then
    run run --batch 7 --size 12x12 --output "$SCRATCH/chunked.npy" --device opencl --max-device-mem 300K
    expect_rc 0
    expect_err "in chunks of"
    cmp -s "$SCRATCH/whole.npy" "$SCRATCH/chunked.npy" || fail "chunked logits differ from one pass"
    pass
fi
run run --batch 7 --size 12x12 --device cpu --max-device-mem 10K
expect_rc 1
expect_err "over the limit of 10240 bytes"
run run --device cpu --max-device-mem lots
expect_usage run

# ---- classify -------------------------------------------------------------------------
run classify --data "$SCRATCH/no-icd" --device cpu
expect_rc 1
expect_err "t10k-images-idx3-ubyte"
if [ -d "$DATA" ]; then
    export OCTCL_MODELS="$SCRATCH/no-icd"
    run classify --device cpu --limit 10
    unset OCTCL_MODELS
    expect_rc 1
    expect_err "$SCRATCH/no-icd/octnet_fmnist_a0.50.safetensors"
fi
if [ -f "$MODEL" ] && [ -d "$DATA" ]; then
    rm -f "$SCRATCH/pred.npy"
    run classify --model "$MODEL" --data "$DATA" --limit 300 --json --device cpu --predictions "$SCRATCH/pred.npy"
    expect_rc 0
    expect_out '"images": 300'
    expect_out '"backend": "cpu"'
    expect_out '"per_class_accuracy": ['
    acc=$(sed -n 's/.*"accuracy": \([0-9.]*\).*/\1/p' "$OUT")
    [ -n "$acc" ] || fail "no accuracy in the JSON"
    awk -v a="$acc" 'BEGIN { exit !(a > 0.5) }' || fail "accuracy $acc is not above 0.5"
    pass
    expect_size "$SCRATCH/pred.npy" $((128 + 300 * 4))
    [ "$(grep -c '^device: ' "$ERR")" -eq 1 ] || fail "--json: the device once on stderr"
    pass
    run classify --model "$MODEL" --data "$DATA" --limit 100 --batch 64
    expect_rc 0
    expect_out "accuracy: "
    expect_out "images/s"
    expect_out "Ankle boot"
    expect_out "most frequent confusions"
    # The report names the device; stderr does not repeat it.
    [ "$(cat "$OUT" "$ERR" | grep -c '^device: ')" -eq 1 ] || fail "the device line once in stdout and stderr"
    pass
else
    echo "note: skipping the classify accuracy checks: $([ -f "$MODEL" ] || echo "no model $MODEL")$([ -d "$DATA" ] || echo " no data set $DATA")"
fi

echo "$PASSED passed, 0 failed"
exit 0
