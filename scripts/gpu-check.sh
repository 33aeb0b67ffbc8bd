#!/bin/sh
# gpu-check.sh — the GPU acceptance run, in under 10 minutes on a machine with an NVIDIA
# GPU (see /work/shared/device/README.md): build, the test suite on every OpenCL device
# (including every conv tile set forced on the GPU), `octcl tune`, OctNetMini across alphas
# at batch 1 and 256 on `auto` beside PyTorch + cuDNN (eager, and torch.compile for alpha
# 0.5 at batch 256, the target row) on the same GPU, the target row under each conv tile
# set, Oct-ResNet-50 at alpha 0 and 0.5 (224x224, batch 1 and 64) beside PyTorch + cuDNN,
# then JSON + PNG.
#
#   sh scripts/gpu-check.sh [--cpu-dry-run] [--build DIR] [--deadline S] [--tar FILE] [OUT_DIR]
#
# OUT_DIR: $OUT when set (the device machine's folder that comes back), else
# ./gpu-check-out. --deadline S (default 540): a step that would start with under 20 s of
# S left is skipped, and each step's limit is cut to what is left, so the summary is
# always written inside S. --tar FILE: pack OUT_DIR into FILE at the end (the device
# machine returns at most 8 files). Writes there: summary.json (every step, its status and seconds, the
# devices), octcl.json/.csv, pytorch_cuda.json, pytorch_compile.json, tiles_*.json, *.png, and each
# step's log (NAME.log). With --cpu-dry-run, or when no OpenCL GPU is found, the same
# steps run on PoCL with tiny sizes and PyTorch on the CPU (a rehearsal of the script,
# not a measurement). Exit status: 0 every step passed, 1 some step failed (the others
# still ran).
#
# On the device machine: carry .device-deps/ (sh ../shared/device/pack-deps.sh with the
# extra packages README.md lists, plus onnx-testdata.tgz in it), then
#   sh scripts/gpu-check.sh --tar "$OUT/gpu-check.tgz" /tmp/gpu-check
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
DRY=0
BUILD=build-gpu
DEADLINE=540
TAR=
while [ $# -gt 0 ]; do
    case "$1" in
    --cpu-dry-run) DRY=1; shift ;;
    --build) BUILD=$2; shift 2 ;;
    --deadline) DEADLINE=$2; shift 2 ;;
    --tar) TAR=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "gpu-check.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
OUTDIR=${1:-${OUT:-gpu-check-out}}
mkdir -p "$OUTDIR" || exit 1
OUTDIR=$(cd "$OUTDIR" && pwd)
T0=$(date +%s)
STEPS=""
FAILED=0

# The packed Debian files (device/README.md): their programs (protoc-c, pkg-config) on
# PATH, their onnx.proto for cmake, and ONNX's test data where the conformance and
# device-set suites look for it.
CMAKE_EXTRA=""
if [ -f .device-deps/setup.sh ]; then
    . ./.device-deps/setup.sh
    PATH=$ROOT/.device-deps/usr/bin:$PATH
    export PATH
    CMAKE_EXTRA="-DOCTCL_ONNX_PROTO=$ROOT/.device-deps/usr/include/onnx/onnx.proto"
    if [ -f .device-deps/onnx-testdata.tgz ] && [ ! -d /usr/share/libonnx-testdata/data/node ]; then
        tar xzf .device-deps/onnx-testdata.tgz -C /usr/share 2>/dev/null ||
            echo "gpu-check.sh: could not unpack ONNX's node tests into /usr/share (not root?)" >&2
    fi
fi
NPROC=$(nproc 2>/dev/null || echo 2)
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    for p in python3 /usr/bin/python3; do
        if "$p" -c 'import torch' 2>/dev/null; then PY=$p; break; fi
    done
fi

# step NAME LIMIT_S COMMAND ...: run with a time limit (cut to what is left of the
# deadline; skipped under 20 s), log in NAME.log, record status.
step() {
    name=$1 limit=$2
    shift 2
    t=$(date +%s)
    left=$((DEADLINE - (t - T0)))
    if [ "$left" -lt 20 ]; then
        skip "$name" "deadline: ${left} s of ${DEADLINE} left"
        return 1
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name (limit ${limit} s): $*"
    timeout "$limit" "$@" > "$OUTDIR/$name.log" 2>&1
    rc=$?
    dt=$(($(date +%s) - t))
    tail -n 5 "$OUTDIR/$name.log" | sed 's/^/   /'
    if [ "$rc" -eq 0 ]; then st=ok; else st="failed ($rc)"; FAILED=1; fi
    [ "$rc" -eq 124 ] && st="timed out"
    echo "   -> $st, ${dt} s"
    STEPS="$STEPS${STEPS:+,}
    {\"step\": \"$name\", \"status\": \"$st\", \"seconds\": $dt}"
    return "$rc"
}
skip() {
    echo "== $1: skipped ($2)"
    STEPS="$STEPS${STEPS:+,}
    {\"step\": \"$1\", \"status\": \"skipped: $2\", \"seconds\": 0}"
}

# ------------------------------------------------------------------------------------
# Build (Release; the same flags as CI).
step build 240 sh -c "cmake -S . -B '$BUILD' -DCMAKE_BUILD_TYPE=Release -DOCTCL_WERROR=ON $CMAKE_EXTRA && \
    cmake --build '$BUILD' -j$NPROC" ||
    # Another compiler's new warning must not cost the lease: the log above keeps it.
    step build_no_werror 200 sh -c "cmake -S . -B '$BUILD' -DOCTCL_WERROR=OFF && cmake --build '$BUILD' -j$NPROC" ||
    echo "build failed: nothing else can run"
OCTCL=$ROOT/$BUILD/octcl
"$OCTCL" info > "$OUTDIR/info.txt" 2>&1
cat "$OUTDIR/info.txt"
command -v nvidia-smi > /dev/null && nvidia-smi -L > "$OUTDIR/nvidia-smi.txt" 2>&1

# A GPU, unless told to rehearse: an OpenCL device listed as [GPU] that is not oclgrind.
GPU_NAME=$(grep -B0 '\[GPU\]' "$OUTDIR/info.txt" | grep -v Oclgrind | head -n 1 | sed 's/^ *[0-9]*:[0-9]*  //; s/  \[GPU\]$//')
if [ "$DRY" -eq 0 ] && [ -z "$GPU_NAME" ]; then
    echo "no OpenCL GPU found: a dry run on PoCL with tiny sizes"
    DRY=1
fi
if [ "$DRY" -eq 1 ]; then
    MODE=dry-run
    ALPHAS=0,0.5
    BATCH=1,4
    SIZE=16x16
    REPEAT="--repeat 2 --warmup 1"
    TORCH_DEV=cpu
    BENCH_DEV=opencl # PoCL: auto would pick the native CPU
    CTEST_ARGS="-R '^(conv_cl|octconv)'"
else
    MODE=gpu
    ALPHAS=0,0.25,0.5,0.75
    BATCH=1,256
    SIZE=32x32
    REPEAT="--repeat 20 --warmup 3"
    TORCH_DEV=cuda
    BENCH_DEV=auto
    # The suites that run OpenCL (every device: the GPU, and PoCL where present); the CPU
    # and Python suites are CI's.
    CTEST_ARGS="-R '^(octconv|octconv_gemm|octconv_tiles_.*|conv_cl|conv_cl_tiles_.*|conv_cl_no_fma|ops|ops_opencl_.*|onnx_conformance_opencl.*|devset|cli_devset|cli|faults|tune_opencl|safety)\$'"
fi

# ------------------------------------------------------------------------------------
# In order of what a short lease must not miss: the suite, tuning, the OctNetMini and
# Oct-ResNet-50 comparisons; then the tile sets, each device's own test_conv_cl run and
# torch.compile, which the deadline may skip.
#
# The suite on every OpenCL device: the CUnit suites run one suite per device found,
# the tile-set reruns force each set on "opencl" (the GPU first).
# On a GPU each fault-injection step makes a context (about a second there while the
# suites share the GPU): every 16th call is swept (tests/testutil.h); CI sweeps all.
step ctest 200 sh -c "cd '$BUILD' && OCTCL_TEST_FAULT_STRIDE=16 ctest --output-on-failure -j$NPROC --timeout 180 $CTEST_ARGS"

# Per-device tuning (issue 12): its winners are what the benchmarks below run (`bench`
# says "tuning: tuned (...)" in its header and JSON).
if [ "$DRY" -eq 1 ]; then TUNE_ARGS="--device $BENCH_DEV --max-variants 2 --repeat 2"; else TUNE_ARGS="--device auto"; fi
step tune 120 "$OCTCL" tune $TUNE_ARGS

# OctNetMini: octcl on auto, PyTorch on the same device (cuDNN, FP32: TF32 off).
step bench_octcl 150 "$OCTCL" bench --device "$BENCH_DEV" --alphas "$ALPHAS" --batch "$BATCH" --size "$SIZE" $REPEAT \
    --json "$OUTDIR/octcl.json" --csv "$OUTDIR/octcl.csv"
if [ -n "$PY" ]; then
    step bench_pytorch 120 "$PY" bench/pytorch_bench.py --device "$TORCH_DEV" --alphas "$ALPHAS" --batch "$BATCH" \
        --size "$SIZE" $REPEAT --json "$OUTDIR/pytorch_$TORCH_DEV.json"
else
    skip bench_pytorch "no python with torch"
fi

# Oct-ResNet-50 across alphas (issue 10's ONNX path): bench/resnet_gpu.py exports the
# networks (make_onnx.py, d-li14's definition) and times them in PyTorch on the same GPU
# (cuDNN, FP32); octcl runs the exported ONNX files. $OCTCL_RESNET50 (one file) skips the
# export and PyTorch, timing only that file.
if [ "$DRY" -eq 1 ]; then RB=1; RS=32x32; else RB=1,64; RS=224x224; fi
RESNETS=""
if [ -n "${OCTCL_RESNET50:-}" ]; then
    RESNETS=$OCTCL_RESNET50
elif [ -n "$PY" ]; then
    if [ "$DRY" -eq 1 ]; then RDEV=cpu; RREP="--repeat 2 --warmup 1"; else RDEV=cuda; RREP="--repeat 20 --warmup 3"; fi
    # The models stay in the build folder: $OUTDIR comes back from the device machine.
    RMODELS=$ROOT/$BUILD/resnet50-models
    step resnet50_pytorch 200 "$PY" bench/resnet_gpu.py --out "$RMODELS" --alphas 0,0.5 --size "$RS" \
        --batch "$RB" --device "$RDEV" $RREP
    cp "$RMODELS/pytorch_resnet50_$RDEV.json" "$RMODELS"/*.json "$OUTDIR/" 2>/dev/null
    RESNETS=$(ls "$RMODELS"/oct_resnet50_a*_"$RS".onnx 2>/dev/null)
else
    skip resnet50_pytorch "no python with torch to export Oct-ResNet-50"
fi
for f in $RESNETS; do
    name=bench_$(basename "$f" .onnx)
    step "$name" 150 "$OCTCL" bench --device "$BENCH_DEV" --model "$f" --batch "$RB" --size "$RS" $REPEAT \
        --json "$OUTDIR/octcl_$(basename "$f" .onnx).json"
done

# The target row under each tile set forced, beside what `octcl tune` chose above: the
# first GPU run says which set wins on it (the default is "gpu").
if [ "$DRY" -eq 1 ]; then TB=4; TS=16x16; else TB=256; TS=32x32; fi
for set in gpu small cpu; do
    step "tiles_$set" 60 env OCTCL_GEMM_TILES=$set "$OCTCL" bench --device "$BENCH_DEV" --alphas 0.5 --batch "$TB" \
        --size "$TS" --repeat 10 --warmup 2 --no-check --json "$OUTDIR/tiles_$set.json"
done

# test_conv_cl once more on each OpenCL device by its P:D.
for spec in $(sed -n 's/^  \([0-9]*:[0-9]*\)  .*/\1/p' "$OUTDIR/info.txt"); do
    name=conv_cl_$(echo "$spec" | tr : _)
    step "$name" 90 env OCTCL_TEST_DEVICE="opencl:$spec" "$BUILD/tests/test_conv_cl" $([ "$DRY" -eq 1 ] && echo --quick)
done

# The target row: alpha 0.5 at batch 256 against torch.compile FP32.
if [ -n "$PY" ] && [ "$DRY" -eq 0 ]; then
    step bench_pytorch_compile 180 "$PY" bench/pytorch_bench.py --device cuda --compile --alphas 0.5 \
        --batch 256 --size 32x32 $REPEAT --json "$OUTDIR/pytorch_compile.json"
fi

# ------------------------------------------------------------------------------------
# Figures (bench/plot.py needs matplotlib).
PLOTPY=$PY
for p in "$PY" /usr/bin/python3 python3; do
    if [ -n "$p" ] && "$p" -c 'import matplotlib' 2>/dev/null; then PLOTPY=$p; break; fi
done
if [ -n "$PLOTPY" ] && [ -f "$OUTDIR/octcl.json" ]; then
    step plot 60 "$PLOTPY" bench/plot.py "$OUTDIR"/octcl.json $(ls "$OUTDIR"/pytorch_cpu.json "$OUTDIR"/pytorch_cuda.json "$OUTDIR"/pytorch_compile.json 2>/dev/null) --out "$OUTDIR"
else
    skip plot "no python with matplotlib, or no octcl.json"
fi

# ------------------------------------------------------------------------------------
AUTO=$(sed -n 's/^  why: //p' "$OUTDIR/info.txt" | head -n 1 | sed 's/\\/\\\\/g; s/"/\\"/g')
cat > "$OUTDIR/summary.json" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "mode": "$MODE",
  "gpu": "$(echo "$GPU_NAME" | sed 's/"/\\"/g')",
  "auto_reason": "$AUTO",
  "host_cpu": "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)",
  "seconds": $(($(date +%s) - T0)),
  "steps": [$STEPS
  ]
}
EOF
echo "== summary: $OUTDIR/summary.json ($MODE, $(($(date +%s) - T0)) s)"
cat "$OUTDIR/summary.json"
if [ -n "$TAR" ]; then
    tar czf "$TAR" -C "$(dirname "$OUTDIR")" "$(basename "$OUTDIR")" && echo "== packed: $TAR ($(du -k "$TAR" | cut -f1) KiB)"
fi
exit "$FAILED"
