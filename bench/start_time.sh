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
# random alpha-0.5 model: context, kernels, model, one image's logits, exit). One JSON
# object on stdout: {"device", "cold_ms", "warm_ms", "warm_runs", "cache_dir"}.
set -eu
OCTCL=${1:-build/octcl}
DEVICE=${2:-auto}
RUNS=${3:-5}
[ -x "$OCTCL" ] || { echo "start_time.sh: $OCTCL is not an executable (build first)" >&2; exit 2; }
case $RUNS in '' | *[!0-9]* | 0) echo "start_time.sh: RUNS '$RUNS' must be a positive integer" >&2; exit 2 ;; esac

CACHE=$(mktemp -d "${TMPDIR:-/tmp}/octcl-start-XXXXXX")
trap 'rm -rf "$CACHE"' EXIT INT TERM

# Milliseconds of one run (the program's exit status must be 0).
one_run() {
    t0=$(date +%s%N)
    OCTCL_CACHE_DIR=$CACHE "$OCTCL" run --device "$DEVICE" --batch 1 --size 32x32 >/dev/null 2>"$CACHE/err" ||
        { echo "start_time.sh: $OCTCL run --device $DEVICE failed: $(tail -n 1 "$CACHE/err")" >&2; exit 1; }
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}

cold=$(one_run)
warm=
i=0
while [ "$i" -lt "$RUNS" ]; do
    t=$(one_run)
    if [ -z "$warm" ] || [ "$t" -lt "$warm" ]; then warm=$t; fi
    i=$((i + 1))
done
name=$(sed -n 's/^device: //p' "$CACHE/err" | head -n 1 | sed 's/\\/\\\\/g; s/"/\\"/g')
printf '{"device": "%s", "cold_ms": %s, "warm_ms": %s, "warm_runs": %s, "cache_dir": "fresh (OCTCL_CACHE_DIR)"}\n' \
    "$name" "$cold" "$warm" "$RUNS"
