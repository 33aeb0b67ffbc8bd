#!/bin/sh
# test_onnx_generated.sh — ONNX files made by a script, run by octcl.
# usage: test_onnx_generated.sh random|mutants OCTCL SCRATCH_DIR [COUNT]
#   random   python/random_dags.py: random networks whose values have several readers;
#            octcl's output against PyTorch's float64 one on ref, cpu and each OpenCL device
#   mutants  python/mutate_onnx.py: broken files; octcl loads and runs each or refuses it
#            with one line, never crashes
set -u
here=$(cd "$(dirname "$0")" && pwd)
usage="usage: test_onnx_generated.sh random|mutants OCTCL SCRATCH_DIR [COUNT]"
kind=${1:?$usage}
octcl=${2:?$usage}
scratch=${3:?$usage}
if ! /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null; then
    echo "SKIP: /usr/bin/python3 cannot import torch and onnx (scripts/install-deps.sh --python)"
    exit 77
fi
py=$here/../python
case $kind in
random)
    devices="ref,cpu$("$octcl" info 2>/dev/null | sed -n 's/^  \([0-9][0-9]*:[0-9][0-9]*\)  .*/,opencl:\1/p' | tr -d '\n')"
    echo "devices: $devices"
    out=$scratch/random_dags
    rm -rf "$out"
    /usr/bin/python3 "$py/random_dags.py" --octcl "$octcl" --out "$out" --count "${4:-60}" --devices "$devices" ||
        exit 1
    # Ten larger ones (24 ops): seed 2270 has over 256 names by a Shape node, the point where
    # the importer's symbol table grows (a use after free there until 2026-12-02; ASan in CI).
    exec /usr/bin/python3 "$py/random_dags.py" --octcl "$octcl" --out "$out" --count 10 --seed 2261 --ops 24 \
        --devices "$devices"
    ;;
mutants)
    rm -rf "$scratch/mutants"
    exec /usr/bin/python3 "$py/mutate_onnx.py" --octcl "$octcl" --out "$scratch/mutants" --count "${4:-300}" \
        --systematic
    ;;
*)
    echo "$usage" >&2
    exit 2
    ;;
esac
