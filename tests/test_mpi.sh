#!/bin/sh
# test_mpi.sh — `mpirun -n 2 octcl classify|run` on this host against one process:
# the same predictions and byte-identical outputs; a rank made to fail (the test hook
# $OCTCL_TEST_FAIL_RANK) fails the job with that rank's error on stderr, no output file,
# an existing output file untouched, no temporaries left, and no hang. Image folders
# (classify|run --images, with files that do not decode) give the same bytes as one process.
#
#   sh tests/test_mpi.sh path/to/octcl MPI_BUILT(0|1) [scratch-dir] [mpirun]
#
# Exit 77 (skipped) when octcl was built without MPI or mpirun is missing. Stops at the
# first failed check with exit status 1; prints "N passed, 0 failed" otherwise. The run
# checks need /usr/bin/python3 with numpy (to write a random .npy input); the classify
# checks the shipped model and the Fashion-MNIST test set; each part is skipped with a
# note when what it needs is absent.

OCTCL=$1
BUILT=${2:-0}
SCRATCH=${3:-}
MPIRUN=${4:-mpirun}
if [ -z "$OCTCL" ] || [ ! -x "$OCTCL" ]; then
    echo "usage: test_mpi.sh path/to/octcl MPI_BUILT [scratch-dir] [mpirun]" >&2
    exit 1
fi
if [ "$BUILT" != 1 ]; then
    echo "skipped: octcl was built without MPI (OCTCL_MPI=OFF)"
    exit 77
fi
if ! command -v "$MPIRUN" >/dev/null 2>&1; then
    echo "skipped: no $MPIRUN"
    exit 77
fi
[ -n "$SCRATCH" ] || SCRATCH=$(mktemp -d) || exit 1
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH" || exit 1
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
MODEL=${OCTCL_MODELS:-$SRC_DIR/models}/octnet_fmnist_a0.50.safetensors
DATA=/usr/share/datasets/fashion-mnist
unset OCTCL_DEVICE OCTCL_MODELS OCTCL_TEST_FAIL_RANK OCTCL_TEST_FAIL_AT

# Open MPI in a container, one host: shared memory and self only (no network probing),
# no single-copy (CMA needs ptrace rights containers often lack), more ranks than cores
# allowed, no binding; root allowed (CI runs as root).
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
export OMPI_MCA_orte_base_help_aggregate=0
MPIFLAGS="--oversubscribe"
if [ "$(id -u)" -eq 0 ]; then MPIFLAGS="$MPIFLAGS --allow-run-as-root"; fi

OUT=$SCRATCH/stdout
ERR=$SCRATCH/stderr
. "$(dirname "$0")/checks.sh"
# one ARGS...: octcl as one plain process. mpi K ARGS...: octcl under mpirun -n K, with
# a time limit (a rank left waiting in a collective would hang the job: exit 124).
one() { run_cmd "$OCTCL" "$@"; }
mpi() {
    k=$1
    shift
    LAST="mpirun -n $k octcl $*"
    # shellcheck disable=SC2086
    timeout 300 "$MPIRUN" $MPIFLAGS -x OCTCL_TEST_FAIL_RANK -x OCTCL_TEST_FAIL_AT -n "$k" "$OCTCL" "$@" \
        >"$OUT" 2>"$ERR"
    RC=$?
    OCTCL_TEST_FAIL_RANK=""
    OCTCL_TEST_FAIL_AT=""
    [ "$RC" -ne 124 ] || fail "the job hung (killed after 300 s)"
}
expect_rc() { [ "$RC" -eq "$1" ] || fail "expected exit status $1"; pass; }
expect_fail() { [ "$RC" -ne 0 ] || fail "expected a non-zero exit status"; pass; }
expect_out() { grep -F -q -- "$1" "$OUT" || fail "stdout lacks: $1"; pass; }
expect_err() { grep -F -q -- "$1" "$ERR" || fail "stderr lacks: $1"; pass; }
same() { cmp -s "$1" "$2" || fail "$1 and $2 differ"; pass; }
no_temporaries() {
    left=$(find "$SCRATCH" -name '.*.tmp*' | head -n 3)
    [ -z "$left" ] || fail "temporaries left: $left"
    pass
}
# fail_at RANK AT: the test hook makes RANK fail at agreement AT in the next job only.
export OCTCL_TEST_FAIL_RANK="" OCTCL_TEST_FAIL_AT=""
fail_at() {
    OCTCL_TEST_FAIL_RANK=$1
    OCTCL_TEST_FAIL_AT=$2
}
printf 'keep me\n' >"$SCRATCH/keep.npy"
cp "$SCRATCH/keep.npy" "$SCRATCH/keep.orig"

# ---- a plain run under mpirun -n 1, and MPI not started without mpirun ------------------
mpi 1 run --device cpu --batch 3 --size 9x9 --output "$SCRATCH/r1.npy"
expect_rc 0
expect_err "over 1 MPI rank(s)"
one run --device cpu --batch 3 --size 9x9 --output "$SCRATCH/r0.npy"
expect_rc 0
grep -q "MPI rank" "$ERR" && fail "a plain run reports MPI ranks"
same "$SCRATCH/r0.npy" "$SCRATCH/r1.npy"

# ---- run: .npy in, .npy out, byte-identical over 2 and 3 ranks ---------------------------
if /usr/bin/python3 -c "import numpy" 2>/dev/null; then
    /usr/bin/python3 - "$SCRATCH/x.npy" <<'EOF' || fail "cannot write the input"
import sys
import numpy as np
rng = np.random.default_rng(15)
np.save(sys.argv[1], rng.uniform(-2, 2, (23, 3, 17, 13)).astype(np.float32))
EOF
    one run --device cpu --seed 7 --input "$SCRATCH/x.npy" --output "$SCRATCH/y_one.npy"
    expect_rc 0
    one run --device cpu --seed 7 --input "$SCRATCH/x.npy"
    cp "$OUT" "$SCRATCH/y_one.txt"
    mpi 2 run --device cpu --seed 7 --input "$SCRATCH/x.npy" --output "$SCRATCH/y_two.npy" --chunk 4
    expect_rc 0
    expect_err "over 2 MPI rank(s)"
    expect_err "rank 1: "
    same "$SCRATCH/y_one.npy" "$SCRATCH/y_two.npy"
    mpi 3 run --device cpu --seed 7 --input "$SCRATCH/x.npy" --chunk 3
    expect_rc 0
    same "$SCRATCH/y_one.txt" "$OUT"

    # Each rank on its own device set (--device cpu,opencl: the node-local devices take
    # chunks as they finish): every row within the logits tolerance of one cpu process.
    if "$OCTCL" run --device opencl --batch 1 --size 8x8 >/dev/null 2>&1; then
        mpi 2 run --device cpu,opencl --seed 7 --input "$SCRATCH/x.npy" --output "$SCRATCH/y_set.npy" --chunk 4
        expect_rc 0
        expect_err "ran cpu"
        /usr/bin/python3 - "$SCRATCH/y_one.npy" "$SCRATCH/y_set.npy" <<'EOF' || fail "device-set rows differ from one cpu process"
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
tol = 1e-3 + 1e-3 * np.abs(a)  # the logits tolerance of the test suites (README, Tests)
bad = np.argwhere(np.abs(a - b) > tol)
if a.shape != b.shape or len(bad):
    print(f"shapes {a.shape} {b.shape}; first mismatch {bad[:1]}", file=sys.stderr)
    sys.exit(1)
EOF
        pass
        if [ -f "$MODEL" ] && [ -d "$DATA" ]; then
            mpi 2 classify --device cpu,opencl --model "$MODEL" --data "$DATA" --limit 600 --chunk 150 --json
            expect_rc 0
            expect_out '"ranks": 2'
            expect_out '"devices": ['
        fi
    else
        echo "note: skipping the device-set checks: no OpenCL device"
    fi
    # A usage error inside the job (a device list naming cpu twice) is reported per rank.
    mpi 2 run --device cpu,cpu --input "$SCRATCH/x.npy"
    expect_rc 2
    expect_err "octcl: error: rank 1: octcl run: device list"

    # A rank that fails, when the inputs are opened and mid-run (after rank 0 wrote part
    # of the output): the job fails naming the rank, an existing file is untouched, a new
    # one is never created.
    for at in open same alloc round write; do
        fail_at 1 $at
        mpi 2 run --device cpu --seed 7 --input "$SCRATCH/x.npy" --output "$SCRATCH/keep.npy" --chunk 4
        expect_fail
        expect_err "octcl: error: rank 1: rank 1 failed on purpose"
        expect_err "at '$at'"
        same "$SCRATCH/keep.npy" "$SCRATCH/keep.orig"
        fail_at 1 $at
        mpi 2 run --device cpu --seed 7 --input "$SCRATCH/x.npy" --output "$SCRATCH/new.npy" --chunk 4
        expect_fail
        [ ! -e "$SCRATCH/new.npy" ] || fail "a failed job created new.npy"
        no_temporaries
    done
    # Rank 0 failing too (its error line, not another rank's).
    fail_at 0 round
        mpi 2 run --device cpu --seed 7 --input "$SCRATCH/x.npy" --output "$SCRATCH/new.npy" --chunk 4
    expect_fail
    expect_err "octcl: error: rank 0: rank 0 failed on purpose"
    [ ! -e "$SCRATCH/new.npy" ] || fail "a failed job created new.npy"
    # A real error on every rank (the input is missing): each named once, by rank 0.
    mpi 2 run --device cpu --input "$SCRATCH/missing.npy"
    expect_fail
    expect_err "octcl: error: rank 0: $SCRATCH/missing.npy"
    expect_err "octcl: error: rank 1: $SCRATCH/missing.npy"
else
    echo "note: skipping the run checks: /usr/bin/python3 has no numpy"
fi

# ---- classify: the Fashion-MNIST test set, predictions identical --------------------------
# $OCTCL_TEST_MPI_IMAGES images (default 3000; the sanitizer build sets 600), in chunks of
# 7/30 of them: four whole chunks and a short last one.
IMAGES=${OCTCL_TEST_MPI_IMAGES:-3000}
CHUNK=$((IMAGES * 7 / 30))
if [ -f "$MODEL" ] && [ -d "$DATA" ]; then
    one classify --device cpu --model "$MODEL" --data "$DATA" --limit "$IMAGES" --predictions "$SCRATCH/p_one.npy"
    expect_rc 0
    grep '^accuracy: ' "$OUT" >"$SCRATCH/acc_one" || fail "no accuracy line"
    mpi 2 classify --device cpu --model "$MODEL" --data "$DATA" --limit "$IMAGES" --chunk "$CHUNK" \
        --predictions "$SCRATCH/p_two.npy"
    expect_rc 0
    grep '^accuracy: ' "$OUT" >"$SCRATCH/acc_two" || fail "no accuracy line under mpirun"
    same "$SCRATCH/acc_one" "$SCRATCH/acc_two"
    same "$SCRATCH/p_one.npy" "$SCRATCH/p_two.npy"
    expect_out "over 2 MPI rank(s)"
    expect_out "  rank 1: "
    [ "$(grep -c '^accuracy: ' "$OUT")" -eq 1 ] || fail "the report was printed more than once"
    pass
    mpi 2 classify --device cpu --model "$MODEL" --data "$DATA" --limit 500 --json
    expect_rc 0
    expect_out '"ranks": 2'
    expect_out '"per_rank": [{"rank": 0, "images": 250'
    fail_at 1 round
    mpi 2 classify --device cpu --model "$MODEL" --data "$DATA" --limit "$IMAGES" --chunk "$CHUNK" \
        --predictions "$SCRATCH/keep.npy"
    expect_fail
    expect_err "octcl: error: rank 1: rank 1 failed on purpose"
    same "$SCRATCH/keep.npy" "$SCRATCH/keep.orig"
    grep -q '^accuracy' "$OUT" && fail "a failed job printed a report"
    no_temporaries
    fail_at 1 warmup
    mpi 2 classify --device cpu --model "$MODEL" --data "$DATA" --limit 300
    expect_fail
    expect_err "octcl: error: rank 1: rank 1 failed on purpose (test hook OCTCL_TEST_FAIL_RANK, at 'warmup')"
else
    echo "note: skipping the classify checks: no model $MODEL or no data set $DATA"
fi

# ---- image folders: classify --images and run --images, streamed and sharded -------------
# A flat folder of PNG and JPEG files (two that do not decode and a text file among them)
# and a class folder; under mpirun each rank decodes only its files, rank 0 prints every
# file's line and every skip notice once, in file order: the same bytes as one process.
if [ -f "$MODEL" ] && /usr/bin/python3 -c "import numpy, PIL" 2>/dev/null; then
    /usr/bin/python3 - "$SCRATCH/img" <<'EOF' || fail "cannot write the images"
import os
import sys
import numpy as np
from PIL import Image
root = sys.argv[1]
rng = np.random.default_rng(15)
for sub in ("flat", "cls/coat", "cls/shirt"):
    os.makedirs(os.path.join(root, sub), exist_ok=True)
for i in range(13):
    a = (rng.random((28 + i % 3, 28 + i % 2)) * 255).astype(np.uint8)
    Image.fromarray(a).save(os.path.join(root, "flat", f"img{i:02d}." + ("png" if i % 2 else "jpg")))
    Image.fromarray(a).save(os.path.join(root, "cls", ("coat", "shirt")[i % 2], f"f{i:02d}.png"))
# img05 (in rank 1's block with --chunk 3 over 2 ranks) and img09 (cut in half) do not
# decode, nor does cls/shirt/f20.jpg; notes.txt is no image at all.
with open(os.path.join(root, "flat", "img05.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + bytes(40))
with open(os.path.join(root, "flat", "img09.png"), "rb") as f:
    cut = f.read()
with open(os.path.join(root, "flat", "img09.png"), "wb") as f:
    f.write(cut[: len(cut) // 2])
with open(os.path.join(root, "flat", "notes.txt"), "w") as f:
    f.write("not an image\n")
with open(os.path.join(root, "cls", "shirt", "f20.jpg"), "wb") as f:
    f.write(b"\xff\xd8\xff\xe0" + bytes(30))
EOF
    IMG=$SCRATCH/img
    skips() { grep 'skipped' "$ERR" >"$1"; }
    one classify --device cpu --model "$MODEL" --images "$IMG/flat" --batch 2
    expect_rc 0
    cp "$OUT" "$SCRATCH/ic_one.txt"
    skips "$SCRATCH/ic_one.skip"
    [ "$(wc -l <"$SCRATCH/ic_one.skip")" -eq 4 ] || fail "one process: expected 3 skip notices and a count"
    pass
    for k in 2 3; do
        mpi $k classify --device cpu --model "$MODEL" --images "$IMG/flat" --batch 2 --chunk 3
        expect_rc 0
        same "$SCRATCH/ic_one.txt" "$OUT"
        skips "$SCRATCH/ic_mpi.skip"
        same "$SCRATCH/ic_one.skip" "$SCRATCH/ic_mpi.skip"
    done
    one classify --device cpu --model "$MODEL" --images "$IMG/flat" --json --top 2
    cp "$OUT" "$SCRATCH/ij_one.txt"
    mpi 2 classify --device cpu --model "$MODEL" --images "$IMG/flat" --json --top 2 --chunk 1
    expect_rc 0
    same "$SCRATCH/ij_one.txt" "$OUT"
    # Class folders: the accuracy report (all but its timings) as one process gives.
    one classify --device cpu --model "$MODEL" --images "$IMG/cls" --batch 3 --json
    expect_rc 0
    sed 's/"seconds": [0-9.]*, "forward_seconds": [0-9.]*//' "$OUT" >"$SCRATCH/il_one.txt"
    mpi 2 classify --device cpu --model "$MODEL" --images "$IMG/cls" --batch 3 --chunk 2 --json
    expect_rc 0
    sed 's/"seconds": [0-9.]*, "forward_seconds": [0-9.]*//' "$OUT" >"$SCRATCH/il_two.txt"
    same "$SCRATCH/il_one.txt" "$SCRATCH/il_two.txt"
    expect_out '"images": 13, "skipped": 1'
    mpi 2 classify --device cpu --model "$MODEL" --images "$IMG/cls" --batch 3 --chunk 2
    expect_rc 0
    expect_out "accuracy: "
    expect_out "  rank 1: "

    # run --images: the output file byte for byte, the rows and skip notices once each.
    one run --device cpu --model "$MODEL" --images "$IMG/flat" --output "$SCRATCH/ir_one.npy"
    expect_rc 0
    grep -e '^row ' -e 'skipped' "$ERR" >"$SCRATCH/ir_one.err"
    one run --device cpu --model "$MODEL" --images "$IMG/flat"
    cp "$OUT" "$SCRATCH/ir_one.txt"
    mpi 2 run --device cpu --model "$MODEL" --images "$IMG/flat" --chunk 2 --output "$SCRATCH/ir_two.npy"
    expect_rc 0
    same "$SCRATCH/ir_one.npy" "$SCRATCH/ir_two.npy"
    grep -e '^row ' -e 'skipped' "$ERR" >"$SCRATCH/ir_two.err"
    same "$SCRATCH/ir_one.err" "$SCRATCH/ir_two.err"
    expect_err "  rank 1: "
    mpi 3 run --device cpu --model "$MODEL" --images "$IMG/flat" --chunk 1
    expect_rc 0
    same "$SCRATCH/ir_one.txt" "$OUT"

    # --strict: the broken file in rank 1's block fails the job, named by rank 1.
    mpi 2 classify --device cpu --model "$MODEL" --images "$IMG/flat" --chunk 3 --strict
    expect_fail
    expect_err "octcl: error: rank 1: "
    expect_err "img05.png"
    expect_err "(--strict)"
    # A rank that fails while the files are listed and checked (run), or in the image
    # rounds: the job fails naming the rank, and no output file is made or touched.
    for at in list images rows round write; do
        fail_at 1 $at
        mpi 2 run --device cpu --model "$MODEL" --images "$IMG/flat" --chunk 2 --output "$SCRATCH/inew.npy"
        expect_fail
        expect_err "octcl: error: rank 1: rank 1 failed on purpose (test hook OCTCL_TEST_FAIL_RANK, at '$at')"
        [ ! -e "$SCRATCH/inew.npy" ] || fail "a failed job created inew.npy"
        no_temporaries
    done
    fail_at 1 round
    mpi 2 run --device cpu --model "$MODEL" --images "$IMG/flat" --chunk 2 --output "$SCRATCH/keep.npy"
    expect_fail
    same "$SCRATCH/keep.npy" "$SCRATCH/keep.orig"
    for at in list round; do
        fail_at 1 $at
        mpi 2 classify --device cpu --model "$MODEL" --images "$IMG/cls" --chunk 2 --batch 3
        expect_fail
        expect_err "octcl: error: rank 1: rank 1 failed on purpose (test hook OCTCL_TEST_FAIL_RANK, at '$at')"
        grep -q '^accuracy' "$OUT" && fail "a failed job printed a report"
        pass
    done
else
    echo "note: skipping the image-folder checks: no model $MODEL or no numpy/PIL in /usr/bin/python3"
fi

echo "$PASSED passed, 0 failed"
exit 0
