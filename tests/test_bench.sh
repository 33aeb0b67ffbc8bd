#!/bin/sh
# test_bench.sh — smoke test of `octcl bench`: usage errors, a tiny run on OpenCL (PoCL in
# CI) and the CPU path, every JSON row holding every field with matched_reference true,
# the CSV header, '-' for stdout, failure exits, and (when Debian's python3 has torch)
# that bench/pytorch_bench.py counts the same MACs per image as octcl, and that
# bench/start_time.sh reports cold and warm start as JSON.
#
#   sh tests/test_bench.sh path/to/octcl [scratch-dir]
#
# Stops at the first failed check with a message and exit status 1; prints
# "N passed, 0 failed" when every check passes. Needs only POSIX sh tools.

OCTCL=$1
SCRATCH=${2:-}
if [ -z "$OCTCL" ] || [ ! -x "$OCTCL" ]; then
    echo "usage: test_bench.sh path/to/octcl [scratch-dir]" >&2
    exit 1
fi
if [ -z "$SCRATCH" ]; then
    SCRATCH=$(mktemp -d) || exit 1
fi
mkdir -p "$SCRATCH" || exit 1
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
unset OCTCL_DEVICE

OUT=$SCRATCH/stdout
ERR=$SCRATCH/stderr
LAST=
RC=0

. "$(dirname "$0")/checks.sh"

# run ARGS...: octcl bench ARGS; sets RC, stdout in $OUT, stderr in $ERR.
run() { run_cmd "$OCTCL" bench "$@"; }
# A usage error: status 2 and one line on stderr, "octcl bench: <problem> (see octcl bench --help)".
expect_usage() {
    expect_usage_rc
    grep -q '^octcl bench: .* (see octcl bench --help)$' "$ERR" || fail "not 'octcl bench: ... (see octcl bench --help)'"
    pass
}

FIELDS="device backend platform driver alpha batch size in_channels classes model macs_per_image parameters
activation_bytes warmup repeat ms_min ms_median device_ms_min device_ms_median images_per_second gflops
peak_gflops peak_fraction speedup theoretical_speedup realised matched_reference max_abs_error check_size
accuracy accuracy_images first_result_ms octcl_version command timestamp tuning macs_executed_per_image"

# check_json FILE ROWS: an array of ROWS one-line objects, each with every field and
# matched_reference true.
check_json() {
    head -n 1 "$1" | grep -q '^\[$' || fail "$1 does not open with ["
    tail -n 1 "$1" | grep -q '^\]$' || fail "$1 does not close with ]"
    n=$(grep -c '^  {' "$1")
    [ "$n" -eq "$2" ] || fail "$1 has $n rows, expected $2"
    pass
    for f in $FIELDS; do
        c=$(grep '^  {' "$1" | grep -c "\"$f\": ")
        [ "$c" -eq "$2" ] || fail "field $f is in $c of $2 rows of $1"
    done
    pass
    c=$(grep -c '"matched_reference": true' "$1")
    [ "$c" -eq "$2" ] || fail "matched_reference is true in $c of $2 rows of $1"
    pass
}

# ---- help and usage errors ----------------------------------------------------------------
run --help
expect_rc 0
grep -q "^usage: octcl bench" "$OUT" || fail "--help prints no usage line"
pass
for bad in "--batch 0" "--batch 2,x" "--alphas 0,1.5" "--alphas 0,,1" "--alphas 0.5,0.5" "--size 8" \
    "--size 8x0" "--repeat -1" "--warmup 1.5" "--device gpu" "--in-channels 0" "--bogus" "stray" \
    "--json same --csv same" "--repeat" "--seed -1" "--seed +5" "--" "-x" "--no-check=1" \
    "--models m --classes 3" "--alphas 0x"; do
    # shellcheck disable=SC2086
    run $bad
    expect_usage
done

# ---- failures: a missing device, an unwritable output, missing model files -----------------
run --device opencl:99:0 --alphas 0 --batch 1 --size 4x4 --repeat 1 --warmup 0 --no-check
expect_rc 1
run --device cpu --json "$SCRATCH/no/such/dir/out.json"
expect_rc 1
expect_err "out.json"
run --device cpu --alphas 0.5 --models "$SCRATCH/no-models"
expect_rc 1
expect_err "no-models: cannot open the folder"
mkdir -p "$SCRATCH/empty-models"
run --device cpu --alphas 0.5 --models "$SCRATCH/empty-models"
expect_rc 1
expect_err "no model file"

# ---- a tiny run ----------------------------------------------------------------------------
"$OCTCL" info >"$OUT" 2>"$ERR"
if grep -q "^OpenCL devices: none (" "$OUT"; then
    echo "note: no OpenCL device here; benchmarking the cpu path only"
    DEVICES=cpu
    NDEV=1
else
    DEVICES=opencl,cpu
    NDEV=2
fi
ROWS=$((NDEV * 2))
run --device $DEVICES --alphas 0,0.5 --batch 2 --size 8x8 --repeat 2 --warmup 1 \
    --json "$SCRATCH/out.json" --csv "$SCRATCH/out.csv"
expect_rc 0
check_json "$SCRATCH/out.json" $ROWS
# The table is on stdout: a header per device and one line per row.
c=$(grep -c '^  0\.[05]0 ' "$OUT")
[ "$c" -eq $ROWS ] || fail "the table has $c rows, expected $ROWS"
pass
# alpha 0 is its own baseline; alpha 0.5 has fewer MACs.
grep '^  {' "$SCRATCH/out.json" | grep '"alpha": 0,' | grep -q '"speedup": 1, "theoretical_speedup": 1, "realised": 1,' ||
    fail "alpha 0 rows should have speedup, theoretical_speedup and realised 1"
pass
grep '^  {' "$SCRATCH/out.json" | grep '"alpha": 0.5,' | grep -q '"theoretical_speedup": 2.263,' ||
    fail "alpha 0.5 at 8x8 should have theoretical_speedup 2.263 (14267648 / 6305024 MACs)"
pass
# CSV: the same columns, a header and one line per row.
header=$(echo $FIELDS | tr ' ' ',')
[ "$(head -n 1 "$SCRATCH/out.csv")" = "$header" ] || fail "CSV header differs from: $header"
pass
[ "$(wc -l <"$SCRATCH/out.csv" | tr -d ' ')" -eq $((ROWS + 1)) ] || fail "CSV should have $((ROWS + 1)) lines"
pass

# '-': the JSON on stdout, the table moves to stderr; a device listed twice runs once.
run --device cpu,cpu --alphas 0.25 --batch 1 --size 6x6 --repeat 1 --warmup 0 --json -
expect_rc 0
cp "$OUT" "$SCRATCH/stdout.json"
check_json "$SCRATCH/stdout.json" 1
expect_err "already measured; skipped"
expect_err "ms_min"

# Without alpha 0 in the run there is no measured speedup; the MAC ratio is still there.
grep -q '"speedup": null, "theoretical_speedup": 1.4' "$SCRATCH/stdout.json" ||
    fail "alpha 0.25 alone: speedup null, theoretical_speedup 1.4..."
pass

# Several sizes in one run, alpha 0 run first whatever the order given, so every
# streamed row has its speed-up; rows on stdout before the footnote, one per (alpha, size).
run --device cpu --alphas 0.5,0 --batch 1 --size 8x8,12x10 --repeat 1 --warmup 0 --json "$SCRATCH/sizes.json"
expect_rc 0
check_json "$SCRATCH/sizes.json" 4
[ "$(grep -c '^  0\.00      1 ' "$OUT")" -eq 2 ] && [ "$(grep -c '^  0\.50      1 ' "$OUT")" -eq 2 ] ||
    fail "a row per alpha and size"
pass
first=$(grep -n '^  0\.' "$OUT" | head -n 1)
case "$first" in *" 0.00 "*) pass ;; *) fail "alpha 0 should run first: $first" ;; esac
[ -z "$(grep '^  0\.50 ' "$OUT" | awk '$10 == "-"')" ] || fail "a streamed alpha 0.5 row lacks its speed-up"
pass
grep -q '"size": "12x10"' "$SCRATCH/sizes.json" || fail "JSON rows for 12x10"
pass
# --models takes any file names; alpha comes from each file's metadata; --alphas picks.
MODELS_SRC=${OCTCL_MODELS:-$SRC_DIR/models}
if [ -f "$MODELS_SRC/octnet_fmnist_a0.50.safetensors" ] && [ -d /usr/share/datasets/fashion-mnist ]; then
    mkdir -p "$SCRATCH/any-names"
    cp "$MODELS_SRC/octnet_fmnist_a0.50.safetensors" "$SCRATCH/any-names/mine.safetensors"
    cp "$MODELS_SRC/octnet_fmnist_a0.00.safetensors" "$SCRATCH/any-names/baseline.safetensors"
    echo "not a model" >"$SCRATCH/any-names/notes.txt"
    run --device cpu --models "$SCRATCH/any-names" --batch 2 --repeat 1 --warmup 0 --accuracy-images 50 \
        --json "$SCRATCH/models.json"
    expect_rc 0
    check_json "$SCRATCH/models.json" 2
    grep -q '"alpha": 0.5, .*"model": "[^"]*/mine.safetensors"' "$SCRATCH/models.json" || fail "alpha 0.5 from mine.safetensors"
    pass
    run --device cpu --models "$SCRATCH/any-names" --alphas 0.25 --batch 2 --repeat 1 --warmup 0
    expect_rc 1
    expect_err "no model file"
else
    echo "note: no shipped models or data set; --models with any names is not checked"
fi

# ---- PyTorch counts the same MACs -------------------------------------------------------------
if /usr/bin/python3 -c "import torch" >/dev/null 2>&1; then
    LAST="bench/pytorch_bench.py --alphas 0,0.5 --batch 2 --size 8x8 --repeat 1 --warmup 0 --threads 1"
    /usr/bin/python3 "$SRC_DIR/bench/pytorch_bench.py" --alphas 0,0.5 --batch 2 --size 8x8 --repeat 1 \
        --warmup 0 --threads 1 --device cpu --json "$SCRATCH/pt.json" >"$OUT" 2>"$ERR"
    RC=$?
    expect_rc 0
    for a in 0 0.5; do
        o=$(grep '"backend": "cpu"' "$SCRATCH/out.json" | grep "\"alpha\": $a," |
            sed 's/.*"macs_per_image": \([0-9]*\),.*/\1/')
        p=$(grep "\"alpha\": $a[.0]*," "$SCRATCH/pt.json" | sed 's/.*"macs_per_image": \([0-9]*\),.*/\1/')
        [ -n "$o" ] && [ "$o" = "$p" ] || fail "alpha $a: octcl counts '$o' MACs per image, PyTorch '$p'"
        pass
        # PyTorch's peak memory for the pass is measured: at least its input and logits.
        m=$(grep "\"alpha\": $a[.0]*," "$SCRATCH/pt.json" | sed -n 's/.*"activation_bytes": \([0-9]*\),.*/\1/p')
        [ -n "$m" ] && [ "$m" -ge $((4 * (2 * 3 * 8 * 8 + 2 * 10))) ] || fail "alpha $a: PyTorch activation_bytes '$m'"
        pass
    done
    # bench/layer_ab.py: a chain of one conv shape through this octcl with its own library
    # (the folder it sits in), one JSON row per shape and variant with a time; bad
    # arguments exit non-zero with one line naming them.
    LAST="bench/layer_ab.py --conv 3:4:6:7 --count 2 --rounds 2 --repeat 1 --lib DIR"
    /usr/bin/python3 "$SRC_DIR/bench/layer_ab.py" --conv 3:4:6:7 --count 2 --rounds 2 --repeat 1 --threads 1 \
        --octcl "$OCTCL" --lib "$(dirname "$OCTCL")" --work "$SCRATCH/layer-ab" --json "$SCRATCH/lab.json" \
        >"$OUT" 2>"$ERR"
    RC=$?
    expect_rc 0
    n=$(grep -cE '"min_ms": ([1-9]|0\.[0-9]*[1-9])' "$SCRATCH/lab.json")
    [ "$n" -eq 1 ] || fail "layer_ab.py: $n rows with a positive min_ms in lab.json, expected 1"
    grep -q '"conv": "3x3 4->6 at 7x7"' "$SCRATCH/lab.json" || fail "layer_ab.py: no 3x3 4->6 at 7x7 row"
    pass
    # bench/env_ab.py on that chain's ONNX file: Winograd forced on (A) and off (B) in one
    # process, a row per conv with both times, and outputs that differ (the variant took).
    # Not in a sanitizer build: python3 cannot load an ASan-instrumented liboctcl through
    # ctypes (the ASan runtime must come first in the process), as for ctest `python`.
    LIBOCTCL="$(dirname "$OCTCL")/liboctcl.so"
    if ldd "$LIBOCTCL" 2>/dev/null | grep -q 'libasan'; then
        echo "note: $LIBOCTCL is built with AddressSanitizer; bench/env_ab.py is not run"
    else
        LAST="bench/env_ab.py conv_3_4_6_7_x2.onnx --a OCTCL_CPU_WINOGRAD=1 --b OCTCL_CPU_WINOGRAD=0"
        /usr/bin/python3 "$SRC_DIR/bench/env_ab.py" "$SCRATCH/layer-ab/conv_3_4_6_7_x2.onnx" --a OCTCL_CPU_WINOGRAD=1 \
            --b OCTCL_CPU_WINOGRAD=0 --threads 1 --rounds 2 --filter Conv --lib "$LIBOCTCL" \
            --json "$SCRATCH/envab.json" >"$OUT" 2>"$ERR"
        RC=$?
        expect_rc 0
        /usr/bin/python3 - "$SCRATCH/envab.json" <<'PY' || fail "env_ab.py: envab.json"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["layers"]) == 2 and all(r["a_ms"] > 0 and r["b_ms"] > 0 for r in d["layers"]), d["layers"]
assert d["max_abs_diff"] > 0, "Winograd on and off gave the same bits"
PY
        pass
        LAST="bench/env_ab.py --b NOEQUALS"
        /usr/bin/python3 "$SRC_DIR/bench/env_ab.py" "$SCRATCH/layer-ab/conv_3_4_6_7_x2.onnx" --b NOEQUALS >"$OUT" 2>"$ERR"
        RC=$?
        [ "$RC" -ne 0 ] && grep -q 'expected VAR=VALUE' "$ERR" || fail "env_ab.py took --b without VAR=VALUE (rc $RC)"
        pass
    fi
    # bench/onnx_bench.py, octcl alone (no onnxruntime venv), with --octcl-tune: the row
    # was timed with the tuning file that `octcl tune --shapes 2x16x16` wrote into the
    # row's own folder, and says so; without the flag, that folder is not used.
    for tune in --octcl-tune ""; do
        LAST="bench/onnx_bench.py --engines octcl $tune"
        /usr/bin/python3 "$SRC_DIR/bench/onnx_bench.py" --engines octcl --nets octnetmini:0.5:16x16 --batch 2 \
            --repeat 1 --warmup 0 --threads 1 --octcl "$OCTCL" $tune --work "$SCRATCH/onnx-bench" \
            --json "$SCRATCH/ob.json" >"$OUT" 2>"$ERR"
        RC=$?
        expect_rc 0
        /usr/bin/python3 - "$SCRATCH/ob.json" "$SCRATCH/onnx-bench/tune/" "$tune" <<'PY' || fail "onnx_bench.py $tune: ob.json"
import json, sys
rows, folder, tuned = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3] != ""
assert len(rows) == 1 and rows[0]["engine"] == "octcl" and not rows[0]["error"], rows
r = rows[0]
assert r["min_ms"] > 0 and r["batch"] == 2, r
if tuned:
    assert r["tune_s"] > 0 and r["tuning"].startswith("tuned (" + folder + "octnetmini_a0.5_16x16_b2/"), r
else:
    assert "tune_s" not in r and folder not in r["tuning"], r
PY
        pass
    done
    # --paired: the alpha row carries the alpha-0 / alpha minima of one process that ran
    # both models alternately (through the Python package), and realised from them; the
    # alpha-0 row carries none. In a sanitizer build the pair child cannot load liboctcl
    # (see env_ab above): the row says why, the other rows stand, the exit status is 0.
    ASAN=0
    ldd "$LIBOCTCL" 2>/dev/null | grep -q 'libasan' && ASAN=1
    LAST="bench/onnx_bench.py --engines octcl --paired"
    /usr/bin/python3 "$SRC_DIR/bench/onnx_bench.py" --engines octcl --nets octnetmini:0:16x16,octnetmini:0.5:16x16 \
        --batch 2 --repeat 2 --warmup 0 --threads 1 --rounds 2 --octcl "$OCTCL" --paired --work "$SCRATCH/onnx-bench" \
        --json "$SCRATCH/ob.json" >"$OUT" 2>"$ERR"
    RC=$?
    expect_rc 0
    /usr/bin/python3 - "$SCRATCH/ob.json" "$ASAN" <<'PY' || fail "onnx_bench.py --paired: ob.json"
import json, sys
rows = {r["alpha"]: r for r in json.load(open(sys.argv[1]))}
assert set(rows) == {0.0, 0.5} and not any(r["error"] for r in rows.values()), rows
r, r0 = rows[0.5], rows[0.0]
assert "paired_ms" not in r0 and "paired_error" not in r0, r0
if sys.argv[2] == "1":
    assert "paired_ms" not in r and r["paired_error"].startswith("octcl pair worker exit "), r
else:
    assert r["paired_ms"] > 0 and r["paired_alpha0_ms"] > 0, r
    assert len(r["paired_round_ms"]) == 2 and r["paired_ms"] == min(t for _, t in r["paired_round_ms"]), r
    assert abs(r["paired_realised"] - r["paired_alpha0_ms"] / r["paired_ms"] / r["theoretical"]) < 1e-12, r
PY
    if [ "$ASAN" = 0 ]; then
        grep -q 'octcl realised, paired' "$OUT" || fail "onnx_bench.py --paired: no paired column in the table"
    else
        grep -q 'octcl realised, paired' "$OUT" && fail "onnx_bench.py --paired: a paired column without figures"
        grep -q -- '-- octcl pair worker exit' "$ERR" || fail "onnx_bench.py --paired: the failed pair child not said"
    fi
    pass
    LAST="bench/layer_ab.py --conv 2:4:6:7"
    /usr/bin/python3 "$SRC_DIR/bench/layer_ab.py" --conv 2:4:6:7 --octcl "$OCTCL" >"$OUT" 2>"$ERR"
    RC=$?
    [ "$RC" -ne 0 ] && grep -q 'expected K:CIN:COUT:HW, positive, K odd' "$ERR" || fail "layer_ab.py took an even kernel (rc $RC)"
    pass
    LAST="bench/layer_ab.py --lib (no library there)"
    /usr/bin/python3 "$SRC_DIR/bench/layer_ab.py" --conv 1:4:6:7 --octcl "$OCTCL" --lib "$SCRATCH" >"$OUT" 2>"$ERR"
    RC=$?
    [ "$RC" -ne 0 ] && grep -q 'no liboctcl.so.0 there' "$ERR" || fail "layer_ab.py took a --lib without a library (rc $RC)"
    pass
else
    echo "note: /usr/bin/python3 cannot import torch; the PyTorch MAC comparison is skipped"
fi

# ---- start-up time, cold and warm program cache -------------------------------------------------
LAST="bench/start_time.sh OCTCL cpu 1"
sh "$SRC_DIR/bench/start_time.sh" "$OCTCL" cpu 1 >"$OUT" 2>"$ERR"
RC=$?
expect_rc 0
grep -q '^{"device": "native CPU.*", "cold_ms": [0-9][0-9]*, "warm_ms": [0-9][0-9]*, "octcl_cache_off_ms": [0-9][0-9]*, "warm_runs": 1,' "$OUT" ||
    fail "start_time.sh: not one JSON object with device, cold_ms, warm_ms, octcl_cache_off_ms"
pass
LAST="bench/start_time.sh OCTCL nosuchdevice 1"
sh "$SRC_DIR/bench/start_time.sh" "$OCTCL" nosuchdevice 1 >"$OUT" 2>"$ERR"
RC=$?
expect_rc 1
expect_err "failed"
pass

echo "$PASSED passed, 0 failed"
exit 0
