#!/bin/sh
# test_onnx_ort.sh — onnxruntime agrees with PyTorch on every network make_onnx.py exports
# (issue 10's parity set).  usage: test_onnx_ort.sh SCRATCH_DIR
#
# SCRATCH_DIR/ort-venv  a virtual environment (--system-site-packages) with onnxruntime and
#                       numpy<2 from PyPI, made once and reused
# SCRATCH_DIR/models    make_onnx.py --all (cached; shared with test_onnx_parity.sh)
# Exit 77 (skipped) when PyPI cannot be reached and the environment does not exist yet.
set -u
here=$(cd "$(dirname "$0")" && pwd)
py=$here/../python
scratch=${1:?usage: test_onnx_ort.sh SCRATCH_DIR}
venv=$scratch/ort-venv
mkdir -p "$scratch" || exit 1
if ! /usr/bin/python3 -c 'import torch, torchvision, onnx' 2>/dev/null; then
    echo "SKIP: /usr/bin/python3 cannot import torch, torchvision and onnx (scripts/install-deps.sh --python)"
    exit 77
fi

# ---- the virtual environment (serialised: ctest -j may start two tests that want it)
exec 9>"$scratch/ort-venv.lock"
flock 9
if ! "$venv/bin/python" -c 'import onnxruntime' 2>/dev/null; then
    rm -rf "$venv"
    /usr/bin/python3 -m venv --system-site-packages "$venv" || { echo "FAIL: python3 -m venv"; exit 1; }
    if ! timeout 60 "$venv/bin/pip" index versions onnxruntime >"$scratch/pip-probe.log" 2>&1; then
        echo "SKIP: PyPI unreachable (pip index versions onnxruntime failed):"
        tail -n 3 "$scratch/pip-probe.log"
        rm -rf "$venv"
        exit 77
    fi
    if ! timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check onnxruntime 'numpy<2' \
            >"$scratch/pip-install.log" 2>&1; then
        echo "FAIL: pip install onnxruntime 'numpy<2':"
        tail -n 20 "$scratch/pip-install.log"
        rm -rf "$venv"
        exit 1
    fi
fi
flock -u 9

# ---- the models, then onnxruntime on each
/usr/bin/python3 "$py/make_onnx.py" --all "$scratch/models" || { echo "FAIL: make_onnx.py --all"; exit 1; }
# ---- bench/ort_classes.py on one of them: onnxruntime's convolutions by kernel and width,
# beside a two-layer octcl profile JSON (its classes counted the same way); a missing
# model is one line and a non-zero exit.
classes=$scratch/ort-classes
mkdir -p "$classes" || exit 1
cat >"$classes/octcl.json" <<'JSON'
{"layers": [{"kind": "Conv 3x3", "output": "(1, 16, 8, 8)", "ms": 0.5}, {"kind": "Pool", "output": "(1, 16, 4, 4)", "ms": 0.25}]}
JSON
if ! "$venv/bin/python" "$here/../bench/ort_classes.py" "$scratch/models/octnetmini_a0_33x29.onnx" --repeat 2 \
    --warmup 1 --threads 1 --octcl "$classes/octcl.json" --json "$classes/out.json" >"$classes/out.txt" \
    2>"$classes/err.txt"; then
    echo "FAIL: bench/ort_classes.py:"; cat "$classes/err.txt"; exit 1
fi
if ! "$venv/bin/python" - "$classes/out.json" <<'PY'; then
import json, sys
d = json.load(open(sys.argv[1]))
conv = [c for c in d["ort"] if c.startswith("conv3x3 @")]
assert conv and all(d["ort"][c][1] > 0 for c in conv), d["ort"]
assert d["octcl"] == {"conv3x3 @8": [1, 0.5], "Pool": [1, 0.25]}, d["octcl"]
PY
    echo "FAIL: bench/ort_classes.py's JSON:"; cat "$classes/out.txt"; exit 1
fi
if "$venv/bin/python" "$here/../bench/ort_classes.py" "$scratch/models/missing.onnx" >"$classes/out.txt" \
    2>"$classes/err.txt" || [ "$(wc -l <"$classes/err.txt")" -ne 1 ] ||
    ! grep -q 'missing.onnx: no such file' "$classes/err.txt"; then
    echo "FAIL: bench/ort_classes.py on a missing model:"; cat "$classes/err.txt"; exit 1
fi
echo "ok: bench/ort_classes.py"

exec "$venv/bin/python" "$py/check_ort.py" "$scratch/models"
