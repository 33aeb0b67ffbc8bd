#!/bin/sh
# test_profile.sh — `octcl profile`: usage errors (exit 2, one line on stderr), bad model
# files (exit 1, one error line), and the JSON and table of a run on the shipped
# OctNetMini and on an Oct-ResNet-26 exported to ONNX here (python/make_onnx.py; that
# part is skipped with a note when Debian's python3 lacks torch or onnx): as many layers
# as `octcl info --model` counts, shares summing to 100, layer minima summing to
# total_ms, the layers' MACs summing to the model's, each host thread's busy time within its
# layer's and their mean the layer's busy, executed multiply-adds counted on cpu (at most
# the MACs; -1 on ref), --top K listing K layers, and the
# OctConv labels of Oct-ResNet's layer4.0 (alpha_out 0) in the profile and info tables.
#
#   sh tests/test_profile.sh path/to/octcl SCRATCH
#
# Stops at the first failed check (exit 1); prints "N passed, 0 failed" otherwise; exit 77
# (skipped) without python3 to read the JSON.
OCTCL=$1
SCRATCH=$2
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
if [ -z "$PY" ]; then
    echo "skipped: no python3 to read the JSON"
    exit 77
fi
mkdir -p "$SCRATCH" || exit 1
OUT=$SCRATCH/stdout
ERR=$SCRATCH/stderr
MODEL=${OCTCL_MODELS:-$SRC_DIR/models}/octnet_fmnist_a0.50.safetensors
unset OCTCL_DEVICE OCTCL_MODELS
. "$(dirname "$0")/checks.sh"
run() { run_cmd "$OCTCL" "$@"; }

# A usage error: exit 2 and one line, "octcl profile: <problem> (see octcl profile --help)".
expect_usage() {
    expect_usage_rc
    expect_err "octcl profile: "
    expect_err " (see octcl profile --help)"
}

# check_json FILE LAYERS MACS TOL: LAYERS layers, shares summing to 100 +- 0.5, layer ms
# summing to total_ms, layer MACs summing to MACS within TOL (a fraction), every ms finite
# and >= 0, the groups holding every layer.
check_json() {
    "$PY" - "$1" "$2" "$3" "$4" <<'EOF' || fail "JSON check: see above"
import json, math, sys
path, layers, macs, tol = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
d = json.load(sys.stdin if path == "-" else open(path))
bad = []
for k in ("model", "device", "batch", "size", "repeat", "layers", "groups", "total_ms", "forward_ms"):
    if k not in d: bad.append("no key %s" % k)
L = d.get("layers", [])
if len(L) != layers: bad.append("%d layers, info counts %d" % (len(L), layers))
share = sum(l["share"] for l in L)
if abs(share - 100) > 0.5: bad.append("layer shares sum to %g" % share)
if any(not math.isfinite(l["ms"]) or l["ms"] < 0 for l in L): bad.append("a layer time is not finite and >= 0")
if abs(sum(l["ms"] for l in L) - d["total_ms"]) > 1e-3 * max(1, d["total_ms"]): bad.append("total_ms is not the sum")
m = sum(l["macs"] for l in L)
if abs(m - macs) > tol * macs: bad.append("layer MACs sum to %d, the model has %d" % (m, macs))
if [l["index"] for l in L] != list(range(len(L))): bad.append("layers out of order")
G = d.get("groups", [])
if sum(g["layers"] for g in G) != len(L): bad.append("groups hold %d layers" % sum(g["layers"] for g in G))
if abs(sum(g["share"] for g in G) - 100) > 0.5: bad.append("group shares do not sum to 100")
if not d["forward_ms"] > 0: bad.append("forward_ms %r" % d["forward_ms"])
# The host threads' busy times: one a thread, each within its layer's time; busy their
# mean over it (0..1), the groups' weighted by time.
nt = d.get("threads", 0)
if not (isinstance(nt, int) and nt >= 1): bad.append("threads %r" % nt)
for l in L:
    tm = l.get("thread_ms", [])
    if len(tm) != nt: bad.append("layer %d: %d thread times for %r threads" % (l["index"], len(tm), nt)); break
    if any(not math.isfinite(t) or t < 0 or t > l["ms"] * (1 + 1e-6) + 2e-6 for t in tm):
        bad.append("layer %d: thread times %r beyond its %r ms" % (l["index"], tm, l["ms"])); break
    want = sum(tm) / nt / l["ms"] if l["ms"] > 0 else 0
    if abs(l.get("busy", -1) - want) > 1e-4 + 1e-3 * want: bad.append("layer %d: busy %r, its thread times give %r" % (l["index"], l.get("busy"), want)); break
for g in G:
    if not (0 <= g.get("busy", -1) <= 1 + 1e-6): bad.append("group %s: busy %r" % (g["group"], g.get("busy")))
# Executed multiply-adds: counted on cpu (each at most its layer's MACs where those are
# exact, tol 0; the sum at most the model's; with a share of the probed peak), -1 on ref;
# the groups' sum the layers'.
counted = d.get("backend") == "cpu"
if counted and not sum(l.get("macs_executed", 0) for l in L) <= macs * (1 + tol): bad.append("executed > the model's MACs")
for l in L + G:
    e, p = l.get("macs_executed"), l.get("peak_share")
    if not isinstance(e, int) or not isinstance(p, (int, float)): bad.append("no macs_executed / peak_share: %r" % l); break
    if counted and not (0 <= e and (tol > 0 or e <= l["macs"]) and p >= 0):
        bad.append("%r executed %d of %d MACs, %r%% of the peak" % (l.get("kind", l.get("group")), e, l["macs"], p)); break
    if not counted and (e != -1 or p != -1): bad.append("%s counts executed MACs: %r" % (d.get("backend"), l)); break
if counted and sum(g["macs_executed"] for g in G) != sum(l["macs_executed"] for l in L): bad.append("group executed sums")
if (d.get("peak_gflops", 0) > 0) != counted: bad.append("peak_gflops %r on %s" % (d.get("peak_gflops"), d.get("backend")))
for b in bad: print("test_profile: " + b)
sys.exit(1 if bad else 0)
EOF
    pass
}

# info_count FILE SIZE BATCH: sets LAYERS and MACS (per pass) from `octcl info --model`.
info_count() {
    run info --model "$1" --size "$2"
    expect_rc 0
    LAYERS=$(sed -n 's/^Layers: \([0-9]*\) nodes run.*/\1/p' "$OUT")
    MACS=$(sed -n 's/^MACs per image at [0-9x]*: \([0-9]*\)$/\1/p' "$OUT")
    [ -n "$LAYERS" ] && [ -n "$MACS" ] || fail "octcl info gives no layer count or MACs"
    MACS=$((MACS * $3))
    pass
}

# kind NAME: the kind ("OctConv 3 hl") of the layer from source node NAME in a table of
# `octcl profile` (the name last) or `octcl info --verbose` (the name before the MACs).
kind() { awk -v n="$1" '$1 ~ /^[0-9]+$/ && $2 == "OctConv" && ($NF == n || $5 == n) { print $2, $3, $4 }' "$OUT"; }

# check_layer4: d-li14's layer4.0 has alpha_out 0. conv1 is OctConv K hh + lh; the stride-2
# downsample, y_h = HH(AvgPool(x_h)) + LH(x_l), is hh + lh of a layer N of its own, not
# conv1's hl + ll (the same shape as the low band's pair).
check_layer4() {
    c1=$(kind /layer4/layer4.0/conv1/conv/conv_h2h/Conv)
    dh=$(kind /layer4/layer4.0/downsample/downsample.0/conv/conv_h2h/Conv)
    dl=$(kind /layer4/layer4.0/downsample/downsample.0/conv/conv_l2h/Conv)
    k=$(echo "$c1" | sed -n 's/^OctConv \([0-9]*\) hh$/\1/p')
    n=$(echo "$dh" | sed -n 's/^OctConv \([0-9]*\) hh$/\1/p')
    [ -n "$k" ] && [ -n "$n" ] && [ "$k" != "$n" ] && [ "$dl" = "OctConv $n lh" ] ||
        fail "layer4.0: conv1 is '$c1', the downsample '$dh' + '$dl' (want OctConv K hh; N hh + N lh, N != K)"
    pass
}

# ---- help and usage errors --------------------------------------------------------------
run --help
expect_out "  profile "
run profile --help
expect_rc 0
expect_out "usage: octcl profile --model FILE"
run profile
expect_usage
expect_err "--model FILE is required"
run profile --model "$MODEL" --repeat 0
expect_usage
run profile --model "$MODEL" --warmup -1
expect_usage
run profile --model "$MODEL" --top x
expect_usage
run profile --model "$MODEL" --size 0x4
expect_usage
run profile --model "$MODEL" --batch 0
expect_usage
run profile --model "$MODEL" --json ""
expect_usage
run profile --model "$MODEL" --frobnicate
expect_usage
run profile --model "$MODEL" --device nosuch
expect_usage

# ---- bad files: exit 1, one error line after the device line ------------------------------
printf 'not a model' >"$SCRATCH/bad.onnx"
for f in "$SCRATCH/missing.onnx" "$SCRATCH/bad.onnx"; do
    run profile --model "$f" --device cpu
    expect_rc 1
    [ "$(grep -c '^octcl: error: ' "$ERR")" -eq 1 ] && [ "$(grep -vc '^device: ' "$ERR")" -eq 1 ] ||
        fail "a bad file is one error line"
    pass
done
run profile --model "$MODEL" --device cpu --size 1x1
expect_rc 1
expect_err "octcl: error: "
run profile --model "$MODEL" --device cpu --repeat 1 --json "$SCRATCH/no/such/dir/p.json"
expect_rc 1
expect_err "octcl: error: "

# ---- OctNetMini (its MACs at 28x28 scaled from the 32x32 count: within 0.1%) -------------
info_count "$MODEL" 28x28 2
for dev in cpu ref; do
    run profile --model "$MODEL" --device $dev --size 28x28 --batch 2 --repeat 2 --warmup 1 --json -
    expect_rc 0
    check_json "$OUT" "$LAYERS" "$MACS" 0.001
done
run profile --model "$MODEL" --device cpu --size 28x28 --repeat 2 --warmup 0 --json "$SCRATCH/p.json" --top 3
expect_rc 0
expect_out "the 3 slowest of $LAYERS layers:"
expect_out "sum of the layer minima: "
[ "$(sed -n '/^layer  kind/,/^$/p' "$OUT" | grep -c '^ *[0-9]')" -eq 3 ] || fail "--top 3 lists 3 layers"
pass
info_count "$MODEL" 28x28 1
check_json "$SCRATCH/p.json" "$LAYERS" "$MACS" 0.001

# ---- an ONNX Oct-ResNet-26 (exact MACs per layer from the shape traces) ---------------------
if ! "$PY" -c 'import torch, torchvision, onnx' 2>/dev/null; then
    echo "note: python3 lacks torch, torchvision or onnx; the ONNX checks are skipped"
    echo "$PASSED passed, 0 failed"
    exit 0
fi
ONNX=$SCRATCH/oct_resnet26.onnx
if [ ! -f "$ONNX" ]; then
    run_cmd "$PY" "$SRC_DIR/python/make_onnx.py" --net oct_resnet26 --width 8 --size 32x32 --classes 10 \
        --out "$SCRATCH"
    expect_rc 0
fi
for size in 32x32 64x64; do
    info_count "$ONNX" $size 2
    # gemm: cpu on the path of a CPU without AVX-512 (OCTCL_CPU_PATH=gemm), whose Winograd
    # rule is its own (it once took 1x1 planes, executing 16 / 9 of their MACs)
    for dev in cpu ref gemm; do
        d=$dev
        if [ $dev = gemm ]; then d=cpu; export OCTCL_CPU_PATH=gemm; fi
        run profile --model "$ONNX" --device $d --size $size --batch 2 --repeat 2 --warmup 1 --json -
        unset OCTCL_CPU_PATH
        expect_rc 0
        check_json "$OUT" "$LAYERS" "$MACS" 0
    done
done
run profile --model "$ONNX" --device cpu --repeat 2
expect_rc 0
expect_out "OctConv hh"
expect_out "Conv 7x7"
expect_out "(1, 8, 16, 16)"
check_layer4
run info --model "$ONNX" --verbose
expect_rc 0
check_layer4
echo "$PASSED passed, 0 failed"
