#!/bin/sh
# test_onnx_mutants.sh — broken ONNX files (python/mutate_onnx.py): octcl loads and runs
# each or refuses it with one line, never crashes.  usage: test_onnx_mutants.sh OCTCL SCRATCH_DIR [COUNT]
set -u
here=$(cd "$(dirname "$0")" && pwd)
octcl=${1:?usage: test_onnx_mutants.sh OCTCL SCRATCH_DIR [COUNT]}
scratch=${2:?usage: test_onnx_mutants.sh OCTCL SCRATCH_DIR [COUNT]}
count=${3:-300}
if ! /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null; then
    echo "SKIP: /usr/bin/python3 cannot import torch and onnx (scripts/install-deps.sh --python)"
    exit 77
fi
rm -rf "$scratch/mutants"
exec /usr/bin/python3 "$here/../python/mutate_onnx.py" --octcl "$octcl" --out "$scratch/mutants" --count "$count" \
    --systematic
