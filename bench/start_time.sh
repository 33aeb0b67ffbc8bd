#!/bin/sh
# start_time.sh — how long a new process takes to its first result, with the on-disk
# OpenCL program-binary cache cold (an empty cache folder: every kernel is compiled) and
# warm (the same folder again: programs are loaded from their binaries).
#
#   bench/start_time.sh [OCTCL] [DEVICE] [RUNS]
#     OCTCL   the octcl program (default build/octcl)
#     DEVICE  its --device (default auto)
#     RUNS    warm runs, the minimum is reported (default 5)
#
# A run is the whole process: `octcl run --device DEVICE --batch 1 --size 32x32` (a
# random alpha-0.5 model: context, kernels, model, one image's logits, exit). The
# drivers' own compile caches (PoCL's POCL_CACHE_DIR, NVIDIA's CUDA_CACHE_PATH) start
# empty in the same fresh folder, so the cold run compiles everything, as on a new
# machine. After the warm runs, RUNS more with octcl's cache off (OCTCL_CACHE_DIR=off)
# but the drivers' caches warm show what octcl's own cache adds. One JSON object on
# stdout: {"device", "cold_ms", "warm_ms", "octcl_cache_off_ms", "warm_runs", "cache_dir"}
# (the last two figures are minima).
set -eu
OCTCL=${1:-build/octcl}
DEVICE=${2:-auto}
RUNS=${3:-5}
[ -x "$OCTCL" ] || { echo "start_time.sh: $OCTCL is not an executable (build first)" >&2; exit 2; }
case $RUNS in '' | *[!0-9]* | 0) echo "start_time.sh: RUNS '$RUNS' must be a positive integer" >&2; exit 2 ;; esac

CACHE=$(mktemp -d "${TMPDIR:-/tmp}/octcl-start-XXXXXX")
trap 'rm -rf "$CACHE"' EXIT INT TERM

export POCL_CACHE_DIR="$CACHE/pocl" CUDA_CACHE_PATH="$CACHE/nv"

# Milliseconds of one run with OCTCL_CACHE_DIR=$1 (the program's exit status must be 0).
one_run() {
    t0=$(date +%s%N)
    OCTCL_CACHE_DIR=$1 "$OCTCL" run --device "$DEVICE" --batch 1 --size 32x32 >/dev/null 2>"$CACHE/err" ||
        { echo "start_time.sh: $OCTCL run --device $DEVICE failed: $(tail -n 1 "$CACHE/err")" >&2; exit 1; }
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}

# The minimum of RUNS runs with OCTCL_CACHE_DIR=$1.
best_of() {
    best=
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        t=$(one_run "$1")
        if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
        i=$((i + 1))
    done
    echo "$best"
}

cold=$(one_run "$CACHE/octcl")
warm=$(best_of "$CACHE/octcl")
off=$(best_of off)
name=$(sed -n 's/^device: //p' "$CACHE/err" | head -n 1 | sed 's/\\/\\\\/g; s/"/\\"/g')
printf '{"device": "%s", "cold_ms": %s, "warm_ms": %s, "octcl_cache_off_ms": %s, "warm_runs": %s, %s}\n' \
    "$name" "$cold" "$warm" "$off" "$RUNS" '"cache_dir": "fresh (OCTCL_CACHE_DIR, POCL_CACHE_DIR, CUDA_CACHE_PATH)"'

