#!/bin/sh
# oclgrind.sh — octcl's OpenCL kernels on oclgrind, a simulated GPU that reports
# out-of-bounds accesses, data races, barrier divergence and API misuse, with GPU tile
# sets and GPU-like limits; and the host's build fallbacks on a GPU device whose builds
# fail or whose work-groups are small. A run passes only when every command exits as
# expected AND every oclgrind log is empty (oclgrind itself exits 0 on errors).
#
#   sh tests/oclgrind.sh BUILD_DIR [SCRATCH]              the quick run ctest does (~2 min)
#   sh tests/oclgrind.sh --full BUILD_DIR [SCRATCH]       the whole op grids under every
#                                                         tile set, more model runs (an hour)
#   sh tests/oclgrind.sh --self-test BUILD_DIR [SCRATCH]  inject a removed barrier and an
#                                                         out-of-bounds read into copies of
#                                                         the kernels: oclgrind must report both
#
# oclgrind installs no ICD file: this script registers /usr/lib/oclgrind/liboclgrind-rt-icd.so
# in a private vendors folder, so it is the only OpenCL platform these runs see, and uses
# its own program cache (OCLGRIND_BUILD_OPTIONS is not part of octcl's cache key).
# Exit status: 0 pass, 1 fail, 77 oclgrind not installed (skipped).

MODE=quick
case "$1" in
--full) MODE=full; shift ;;
--self-test) MODE=self; shift ;;
esac
BUILD=$1
SCRATCH=${2:-}
if [ -z "$BUILD" ] || [ ! -x "$BUILD/octcl" ]; then
    echo "usage: oclgrind.sh [--full | --self-test] BUILD_DIR [SCRATCH]" >&2
    exit 1
fi
BUILD=$(cd "$BUILD" && pwd)
ICD=${OCLGRIND_ICD:-/usr/lib/oclgrind/liboclgrind-rt-icd.so}
if [ ! -f "$ICD" ]; then
    echo "oclgrind not installed ($ICD missing): skipped"
    exit 77
fi
[ -n "$SCRATCH" ] || SCRATCH=$(mktemp -d) || exit 1
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH/vendors" || exit 1
SCRATCH=$(cd "$SCRATCH" && pwd)
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
echo "$ICD" > "$SCRATCH/vendors/oclgrind.icd"

OCTCL=$BUILD/octcl
CONV_CL=$BUILD/tests/test_conv_cl
OCTCONV=$BUILD/tests/test_octconv
OPS=$BUILD/tests/test_ops
export OCL_ICD_VENDORS="$SCRATCH/vendors" OCTCL_CACHE_DIR="$SCRATCH/cache"
unset OCL_ICD_FILENAMES OCTCL_DEVICE OCTCL_GEMM_TILES OCTCL_CONV OCTCL_LINEAR OCTCL_KERNEL_DIR OCTCL_FMA \
    OCTCL_KERNEL_WG_LIMIT OCTCL_EXPECT_TILES OCTCL_TEST_QUICK OCLGRIND_BUILD_OPTIONS OCLGRIND_MAX_WGSIZE \
    OCLGRIND_LOCAL_MEM_SIZE OCLGRIND_QUICK
# A GPU: 256 work-items, 16 KiB of local memory (the gpu tiles need 12 KiB). The small
# GPU: 128 work-items and 4 KiB (the small tiles need 64 and exactly 4 KiB).
GPU_LIMITS="OCLGRIND_MAX_WGSIZE=256 OCLGRIND_LOCAL_MEM_SIZE=16384"
SMALL_LIMITS="OCLGRIND_MAX_WGSIZE=128 OCLGRIND_LOCAL_MEM_SIZE=4096"

PASSED=0
FAILED=0
NL='
'
T0=$(date +%s)

if ! "$OCTCL" info 2>/dev/null | grep -q "Oclgrind"; then
    echo "FAIL: octcl does not see the oclgrind device through $SCRATCH/vendors" >&2
    "$OCTCL" info >&2
    exit 1
fi

# run_og NAME [VAR=VALUE ...] -- COMMAND ...
# Runs COMMAND under oclgrind's checks (races, API) with the given environment, its
# output in $SCRATCH/NAME.out, oclgrind's log in $SCRATCH/NAME.log; sets rc and dt.
run_og() {
    name=$1
    shift
    envs=""
    while [ "$1" != "--" ]; do envs="$envs$NL$1"; shift; done
    shift
    log=$SCRATCH/$name.log
    rm -f "$log"
    t=$(date +%s)
    # One assignment a line: values may hold spaces.
    # shellcheck disable=SC2086
    (IFS=$NL && exec env OCLGRIND_DATA_RACES=1 OCLGRIND_CHECK_API=1 OCLGRIND_LOG="$log" $envs "$@") \
        > "$SCRATCH/$name.out" 2>&1
    rc=$?
    dt=$(($(date +%s) - t))
}

# check NAME EXPECTED_RC [VAR=VALUE ...] -- COMMAND ...
# run_og, passing when COMMAND exits with EXPECTED_RC and oclgrind's log is empty.
check() {
    want=$2
    n=$1
    shift 2
    run_og "$n" "$@"
    if [ "$want" != any ] && [ "$rc" -ne "$want" ]; then
        echo "FAIL: $name: exit status $rc, expected $want (${dt} s)"
        echo "  env:$(echo "$envs" | tr '\n' ' ')"
        echo "  command: $*"
        tail -n 30 "$SCRATCH/$name.out" | sed 's/^/    /'
        FAILED=$((FAILED + 1))
        return 1
    fi
    if [ -s "$log" ]; then
        echo "FAIL: $name: oclgrind reported errors (${dt} s), $log:"
        head -n 40 "$log" | sed 's/^/    /'
        FAILED=$((FAILED + 1))
        return 1
    fi
    echo "ok: $name (${dt} s)"
    PASSED=$((PASSED + 1))
    return 0
}

# expect NAME PATTERN: the output of check NAME holds PATTERN (grep -E).
expect() {
    if grep -Eq -- "$2" "$SCRATCH/$1.out"; then
        PASSED=$((PASSED + 1))
    else
        echo "FAIL: $1: output lacks /$2/:"
        head -n 30 "$SCRATCH/$1.out" | sed 's/^/    /'
        FAILED=$((FAILED + 1))
    fi
}

# A copy of the kernels with one file changed by a sed script; fails when the script
# changed nothing (the kernel moved on and the injection must be updated).
inject() {
    dir=$SCRATCH/$1 file=$2 script=$3
    rm -rf "$dir" && cp -r "$SRC_DIR/kernels" "$dir" || exit 1
    sed "$script" "$SRC_DIR/kernels/$file" > "$dir/$file" || exit 1
    if cmp -s "$SRC_DIR/kernels/$file" "$dir/$file"; then
        echo "FAIL: injection into $file changed nothing: update tests/oclgrind.sh"
        exit 1
    fi
}

# must_report NAME: check NAME ran and oclgrind's log is NOT empty (a planted bug).
must_report() {
    if [ -s "$SCRATCH/$1.log" ]; then
        echo "ok: $1: oclgrind reported the planted bug (${dt} s): $(grep -m1 -E 'race|Invalid' "$SCRATCH/$1.log")"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL: $1: oclgrind reported nothing for a planted bug"
        FAILED=$((FAILED + 1))
    fi
}

# ------------------------------------------------------------------------------------
# Injected bugs: the gate must catch them (a removed barrier in the GEMM's K loop, and
# an off-by-one read past the input in pool.cl). The barrier one is cheap and runs in
# the quick mode too, so the gate proves itself on every CI run.
self_test_barrier() {
    inject bad-barrier conv_gemm.cl '0,/barrier(CLK_LOCAL_MEM_FENCE);/s//\/* barrier removed *\//'
    # Case 6 of the shape grid: 9x5, 32 -> 64 channels, two K steps per work-group.
    run_og planted_barrier OCTCL_KERNEL_DIR="$SCRATCH/bad-barrier" OCTCL_GEMM_TILES=gpu $GPU_LIMITS -- \
        "$CONV_CL" --case 6
    must_report planted_barrier
}
self_test_oob() {
    inject bad-oob pool.cl 's/x\[xi + w + 1\]);/x[xi + w + 1]) + 0.0f * x[xi + 2 * w];/'
    # A read of the row below each window, its value multiplied by 0 (results stay
    # right): the split's pooling reads a whole input tensor, whose buffer ends at its
    # last element, so the last row's windows read past it.
    run_og planted_oob OCTCL_KERNEL_DIR="$SCRATCH/bad-oob" $GPU_LIMITS -- "$OCTCONV" --quick --opencl-only
    must_report planted_oob
}

if [ "$MODE" = self ]; then
    self_test_barrier
    self_test_oob
    echo "$PASSED passed, $FAILED failed ($(($(date +%s) - T0)) s)"
    [ "$FAILED" -eq 0 ]
    exit $?
fi

# ------------------------------------------------------------------------------------
# The op suites with the GPU tile set under GPU limits, and the small set under small
# limits (chosen by the device's limits, not forced).
if [ "$MODE" = full ]; then
    for set in gpu small cpu direct; do
        check "conv_cl_$set" 0 OCTCL_GEMM_TILES=$set OCTCL_EXPECT_TILES=$set $GPU_LIMITS -- "$CONV_CL"
        check "octconv_$set" 0 OCTCL_GEMM_TILES=$set OCTCL_EXPECT_TILES=$set OCTCL_CONV=gemm $GPU_LIMITS -- \
            "$OCTCONV" --opencl-only
    done
    check conv_cl_nofma 0 OCTCL_FMA=off OCTCL_EXPECT_TILES=gpu $GPU_LIMITS -- "$CONV_CL"
    check ops_gpu 0 $GPU_LIMITS -- "$OPS"
else
    check conv_cl_gpu 0 OCTCL_GEMM_TILES=gpu OCTCL_EXPECT_TILES=gpu $GPU_LIMITS -- "$CONV_CL" --quick
    check octconv_gpu 0 OCTCL_GEMM_TILES=gpu OCTCL_EXPECT_TILES=gpu OCTCL_CONV=gemm $GPU_LIMITS -- \
        "$OCTCONV" --quick --opencl-only
    check octconv_small_limits 0 OCTCL_EXPECT_TILES=small OCTCL_CONV=gemm $SMALL_LIMITS -- \
        "$OCTCONV" --quick --opencl-only
    # The graph ops (kernels/graph.cl: general and depthwise convolution, pooling, add,
    # affine) over the grid without its network-size shapes.
    check ops_gpu 0 OCTCL_OPS_GRID=tiny $GPU_LIMITS -- "$OPS"
fi

# ------------------------------------------------------------------------------------
# Tiny model runs (stem, OctConv blocks, pooling, resize, GAP, the head).
if [ "$MODE" = full ]; then
    ALPHAS="0 0.25 0.5 0.75 1"
else
    ALPHAS="0.5"
fi
for a in $ALPHAS; do
    check "model_a${a}_gpu" 0 OCTCL_CONV=gemm $GPU_LIMITS -- \
        "$OCTCL" run --device opencl --batch 1 --size 8x8 --alpha "$a" --seed 3
done
check model_a0.25_small 0 $SMALL_LIMITS -- "$OCTCL" run --device opencl --batch 2 --size 8x8 --alpha 0.25 --seed 4
expect model_a0.25_small "conv tiles small \("

# ------------------------------------------------------------------------------------
# Fallbacks, each compiling from source (OCLGRIND_BUILD_OPTIONS is not in the cache key).
# The kernels compile as OpenCL C 1.1 (the last -cl-std wins), without a warning.
OFF=OCTCL_CACHE_DIR=off
check build_cl11 0 $OFF OCLGRIND_BUILD_OPTIONS="-cl-std=CL1.1 -Werror" -- "$OCTCL" info --device opencl
expect build_cl11 "why: opencl: .*conv tiles gpu \("
# Every build fails: auto falls back to the native CPU and says why; opencl asked for
# explicitly is a one-line error and exit status 1.
check build_fails_auto 0 $OFF OCLGRIND_BUILD_OPTIONS=-cl-std=CL9.9 -- \
    "$OCTCL" run --device auto --batch 1 --size 8x8
expect build_fails_auto "device: native CPU .*auto: GPU Oclgrind Simulator \(0:0\) unusable: no OpenCL program builds"
check build_fails_info 0 $OFF OCLGRIND_BUILD_OPTIONS=-cl-std=CL9.9 -- "$OCTCL" info
expect build_fails_info "auto picks: native CPU"
check build_fails_opencl 1 $OFF OCLGRIND_BUILD_OPTIONS=-cl-std=CL9.9 -- \
    "$OCTCL" run --device opencl --batch 1 --size 8x8
expect build_fails_opencl "^octcl: error: no OpenCL program builds for this device \(tried gpu, small, cpu, direct-only\)"
if [ "$(grep -c '^octcl' "$SCRATCH/build_fails_opencl.out")" -ne 1 ]; then
    echo "FAIL: build_fails_opencl: octcl printed more than one line"
    FAILED=$((FAILED + 1))
fi
# Small work-groups: the device's limit picks a smaller set, or the direct kernel alone.
check wg64 0 $OFF OCLGRIND_MAX_WGSIZE=64 -- "$OCTCL" info --device opencl
expect wg64 "conv tiles small \(32,32,16,4,4,0\) default \[gpu: 256 work-items > device's 64\]"
check wg2 0 $OFF OCLGRIND_MAX_WGSIZE=2 -- "$OCTCL" info --device opencl
expect wg2 "conv direct only \[gpu: .*small: .*cpu: 4 work-items > device's 2\]"
# A built kernel allowing fewer work-items than the tiles (a register-limited GPU).
check kernel_wg 0 $OFF OCTCL_KERNEL_WG_LIMIT=100 -- "$OCTCL" info --device opencl
expect kernel_wg "conv tiles small \(.*\[gpu: the built kernel allows 100 of 256 work-items\]"
# The gpu set fails to compile (a compiler that rejects it): the small set is built.
inject big-wg-fails conv_gemm.cl '1i #if (OCT_TM / OCT_RM) * (OCT_TN / OCT_RN) > 64\n#error "injected: this compiler takes 64 work-items at most"\n#endif'
check gpu_build_fails 0 $OFF OCTCL_KERNEL_DIR="$SCRATCH/big-wg-fails" -- "$OCTCL" info --device opencl
expect gpu_build_fails "why: opencl: .*conv tiles small \(.*\[gpu: CL_BUILD_PROGRAM_FAILURE\]"
# The GEMM fails to compile at every size: the direct kernel alone.
inject gemm-fails conv_gemm.cl '1i #error "injected: no GEMM"'
check gemm_build_fails 0 $OFF OCTCL_KERNEL_DIR="$SCRATCH/gemm-fails" -- \
    "$OCTCL" run --device opencl --batch 1 --size 8x8 --alpha 0.5 --seed 3
expect gemm_build_fails "conv direct only \[gpu: CL_BUILD_PROGRAM_FAILURE; small: CL_BUILD_PROGRAM_FAILURE; cpu: CL_BUILD_PROGRAM_FAILURE\]"

self_test_barrier
[ "$MODE" = full ] && self_test_oob

echo "$PASSED passed, $FAILED failed ($(($(date +%s) - T0)) s)"
[ "$FAILED" -eq 0 ]
