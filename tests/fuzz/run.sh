#!/usr/bin/env bash
# run.sh — build the libFuzzer harnesses (clang, ASan + UBSan) into build-fuzz/, run each for
# SECONDS on a scratch copy of its seeds, write build-fuzz/fuzz-summary.txt; exit 1 on any crash,
# leak, timeout or OOM (inputs kept in build-fuzz/findings/<harness>/).
# Usage: tests/fuzz/run.sh [SECONDS=60]      (FUZZ_CC overrides the compiler, default clang)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
build=build-fuzz
harnesses="fuzz_safetensors fuzz_npy fuzz_idx fuzz_onnx"

cmake -S . -B "$build" -DCMAKE_C_COMPILER="${FUZZ_CC:-clang}" -DCMAKE_BUILD_TYPE=Debug \
      -DOCTCL_FUZZ=ON >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $harnesses onnx_seeds
# The ONNX seeds are written by a program (protobuf-c pack), not committed.
rm -rf "$build/corpus-seeds/onnx"
mkdir -p "$build/corpus-seeds/onnx"
"$build/tests/fuzz/onnx_seeds" "$build/corpus-seeds/onnx"
# ... plus a few small real models and tensors from ONNX's backend test data (libonnx-testdata).
td=/usr/share/libonnx-testdata/data
for t in node/test_conv_with_strides_padding node/test_constant node/test_averagepool_2d_pads_count_include_pad \
         node/test_batchnorm_example node/test_resize_upsample_scales_nearest node/test_reshape_negative_dim \
         node/test_maxpool_2d_ceil node/test_if node/test_slice pytorch-converted/test_Conv2d_groups \
         pytorch-operator/test_operator_flatten; do
  for f in model.onnx test_data_set_0/input_0.pb; do
    if [ -f "$td/$t/$f" ]; then cp "$td/$t/$f" "$build/corpus-seeds/onnx/$(basename "$t")_$(basename "$f")"; fi
  done
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
summary="$build/fuzz-summary.txt"
: > "$summary.tmp"
failed=0
for h in $harnesses; do
  name=${h#fuzz_}
  work="$build/corpus-work/$name" findings="$build/findings/$h" log="$build/$h.log"
  rm -rf "$work" "$findings"
  mkdir -p "$work" "$findings"
  seeds=tests/fuzz/corpus/$name
  [ -d "$seeds" ] || seeds=$build/corpus-seeds/$name
  cp "$seeds"/* "$work"/
  dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  echo "== $h: ${secs}s (log: $log)"
  rc=0
  "$build/tests/fuzz/$h" "$work" "${dict[@]}" -max_total_time="$secs" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  found=$(find "$findings" -type f | wc -l)
  line="$h: ${execs:-?} execs, cov ${cov:-?}, ft ${ft:-?}, $found crashes"
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    failed=1
    line="$line (exit $rc; inputs in $findings/)"
    echo "-- $h FAILED; end of $log:"
    tail -n 40 "$log"
  fi
  echo "$line" | tee -a "$summary.tmp"
done
mv "$summary.tmp" "$summary"
echo "== fuzz summary (${secs}s each)"
cat "$summary"
exit "$failed"
