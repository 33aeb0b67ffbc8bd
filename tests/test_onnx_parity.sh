#!/bin/sh
# test_onnx_parity.sh — octcl's logits match PyTorch's (float64) on every network
# make_onnx.py exports, on every backend: ref, cpu and each OpenCL device (issue 10).
# usage: test_onnx_parity.sh OCTCL SCRATCH_DIR
#
# SCRATCH_DIR/models   make_onnx.py --all (cached; shared with test_onnx_ort.sh)
# SCRATCH_DIR/parity   octcl's outputs
# $OCTCL_PARITY_FILTER (optional): a grep -E pattern; only the models whose name matches run.
# One line per (model, device) with the rel. error and PASS/FAIL (compare_npy.py defines the
# error and says why the tolerance, 1e-4, holds); exit 1 when any fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
py=$here/../python
octcl=${1:?usage: test_onnx_parity.sh OCTCL SCRATCH_DIR}
scratch=${2:?usage: test_onnx_parity.sh OCTCL SCRATCH_DIR}
models=$scratch/models
outdir=$scratch/parity
mkdir -p "$outdir" || exit 1
if ! /usr/bin/python3 -c 'import torch, torchvision, onnx' 2>/dev/null; then
    echo "SKIP: /usr/bin/python3 cannot import torch, torchvision and onnx (scripts/install-deps.sh --python)"
    exit 77
fi

/usr/bin/python3 "$py/make_onnx.py" --all "$models" || { echo "FAIL: make_onnx.py --all"; exit 1; }

# ref, cpu, then every OpenCL device `octcl info` lists ("  P:D  name  [kind]")
devices="ref cpu $("$octcl" info 2>/dev/null | sed -n 's/^  \([0-9][0-9]*:[0-9][0-9]*\)  .*/opencl:\1/p' | tr '\n' ' ')"
echo "devices: $devices"

pass=0
fail=0
for f in "$models"/*.onnx; do
    [ -e "$f" ] || { echo "FAIL: no .onnx file in $models"; exit 1; }
    name=$(basename "$f" .onnx)
    if [ -n "${OCTCL_PARITY_FILTER:-}" ] && ! echo "$name" | grep -Eq "$OCTCL_PARITY_FILTER"; then
        continue
    fi
    for d in $devices; do
        tag=$(echo "$d" | tr ':' '_')
        out=$outdir/${name}_$tag.npy
        log=$outdir/${name}_$tag.log
        rm -f "$out"
        "$octcl" run --model "$f" --input "$models/${name}_input.npy" --output "$out" --device "$d" >"$log" 2>&1
        rc=$?
        if [ "$rc" -ne 0 ]; then
            echo "$name $d: octcl run failed (exit $rc): $(tail -n 1 "$log") FAIL"
            fail=$((fail + 1))
            continue
        fi
        if /usr/bin/python3 "$py/compare_npy.py" "$out" "$models/${name}_logits64.npy" --label "$name $d"; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
        fi
    done
done
echo "test_onnx_parity: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
