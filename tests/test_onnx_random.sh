#!/bin/sh
# test_onnx_random.sh — random networks whose values have several readers (python/random_dags.py):
# octcl's output against PyTorch's float64 one on ref, cpu and each OpenCL device.
# usage: test_onnx_random.sh OCTCL SCRATCH_DIR [COUNT]
set -u
here=$(cd "$(dirname "$0")" && pwd)
octcl=${1:?usage: test_onnx_random.sh OCTCL SCRATCH_DIR [COUNT]}
scratch=${2:?usage: test_onnx_random.sh OCTCL SCRATCH_DIR [COUNT]}
count=${3:-60}
if ! /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null; then
    echo "SKIP: /usr/bin/python3 cannot import torch and onnx (scripts/install-deps.sh --python)"
    exit 77
fi
devices="ref,cpu$("$octcl" info 2>/dev/null | sed -n 's/^  \([0-9][0-9]*:[0-9][0-9]*\)  .*/,opencl:\1/p' | tr -d '\n')"
echo "devices: $devices"
rm -rf "$scratch/random_dags"
/usr/bin/python3 "$here/../python/random_dags.py" --octcl "$octcl" --out "$scratch/random_dags" \
    --count "$count" --devices "$devices" || exit 1
# Ten larger ones (24 ops): seed 2270 has over 256 names by a Shape node, the point where
# the importer's symbol table grows (a use after free there until 2026-12-02; ASan in CI).
exec /usr/bin/python3 "$here/../python/random_dags.py" --octcl "$octcl" --out "$scratch/random_dags" \
    --count 10 --seed 2261 --ops 24 --devices "$devices"
