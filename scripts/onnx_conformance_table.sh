#!/bin/sh
# onnx_conformance_table.sh — rewrite the table in README.md's "ONNX conformance" section
# (between its begin / end markers) from a run of tests/test_onnx_conformance on ref, cpu
# and every OpenCL device. Usage: scripts/onnx_conformance_table.sh [BUILD_DIR]
# (default: build). Fails, leaving README.md as it was, when the run fails.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bin=$build/tests/test_onnx_conformance
[ -x "$bin" ] || { echo "$bin: not built (cmake --build $build --target test_onnx_conformance)" >&2; exit 1; }
table=$(mktemp)
readme=$(mktemp)
trap 'rm -f "$table" "$readme"' EXIT
if ! "$bin" --expected "$root/tests/onnx_conformance_expected.txt" --markdown "$table" >"$readme.log" 2>&1; then
    tail -n 20 "$readme.log" >&2
    rm -f "$readme.log"
    echo "the conformance run failed; README.md left as it was" >&2
    exit 1
fi
rm -f "$readme.log"
grep -q '^<!-- onnx-conformance:begin -->$' "$root/README.md" &&
    grep -q '^<!-- onnx-conformance:end -->$' "$root/README.md" ||
    { echo "README.md has no onnx-conformance begin / end markers" >&2; exit 1; }
awk -v table="$table" '
    $0 == "<!-- onnx-conformance:begin -->" { print; while ((getline line < table) > 0) print line; skip = 1; next }
    $0 == "<!-- onnx-conformance:end -->" { skip = 0 }
    !skip { print }' "$root/README.md" >"$readme"
cat "$readme" >"$root/README.md"
echo "README.md: table rewritten"
