#!/bin/sh
# test_safety.sh — issue 13 through the `octcl` program: outputs that never delete what
# octcl did not create and are replaced atomically (device nodes, FIFOs, /dev/stdout, a
# full disk, a file-size limit, an interrupted or failed bench, two writers), readers that
# refuse devices and FIFOs at once, sizes refused before any work, no hang under an
# address-space limit, and the program cache's refusals (OpenCL only).
#
#   sh tests/test_safety.sh path/to/octcl [scratch-dir]
#
# Device nodes are made with mknod in the scratch folder and a full disk is a small tmpfs
# in a private mount namespace (unshare -m): both need root and are skipped with a note
# otherwise. Nothing in /dev is ever written to except /dev/stdout.

OCTCL=$1
SCRATCH=${2:-}
if [ -z "$OCTCL" ] || [ ! -x "$OCTCL" ]; then
    echo "usage: test_safety.sh path/to/octcl [scratch-dir]" >&2
    exit 1
fi
[ -n "$SCRATCH" ] || SCRATCH=$(mktemp -d) || exit 1
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH" || exit 1
SCRATCH=$(cd "$SCRATCH" && pwd)
OCTCL=$(cd "$(dirname "$OCTCL")" && pwd)/$(basename "$OCTCL")
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
MODEL=${OCTCL_MODELS:-$SRC_DIR/models}/octnet_fmnist_a0.50.safetensors
DATA=/usr/share/datasets/fashion-mnist
unset OCTCL_DEVICE OCTCL_THREADS OCTCL_GEMM
OCTCL_CACHE_DIR=off
export OCTCL_CACHE_DIR

OUT=$SCRATCH/stdout
ERR=$SCRATCH/stderr
W=$SCRATCH/w   # the folder outputs go to
mkdir -p "$W"

list_w() { echo "  files in $W:"; ls -la "$W" | sed 's/^/    /'; }
FAIL_MORE=list_w
. "$(dirname "$0")/checks.sh"
note() { echo "  note: $*"; }

# run ARGS...: the program; RC, $OUT, $ERR.
run() { run_cmd "$OCTCL" "$@"; }
# no_temporaries: nothing of ours half-written left in $W
no_temporaries() {
    [ -z "$(ls -A "$W" | grep '\.tmp')" ] || fail "a temporary file was left behind"
    pass
}
# same FILE1 FILE2
same() { cmp -s "$1" "$2" || fail "$1 differs from $2"; pass; }
# elapsed_under SECONDS START: the run took less than SECONDS (whole seconds)
elapsed_under() { [ $(($(date +%s) - $2)) -lt "$1" ] || fail "took more than $1 s"; pass; }

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

# ---- 1. never delete a path octcl did not create -----------------------------------------
if [ $IS_ROOT -eq 1 ] && mknod "$W/full" c 1 7 && mknod "$W/null" c 1 3; then
    run run --device cpu --output "$W/full"
    expect_rc 1
    expect_err "No space left on device"
    [ -c "$W/full" ] || fail "the device node $W/full was removed"
    pass
    run run --device cpu --output "$W/null"
    expect_rc 0
    [ -c "$W/null" ] || fail "the device node $W/null was replaced"
    pass
    ln -s "$W/full" "$W/to_full"
    run run --device cpu --output "$W/to_full"
    expect_rc 1
    [ -L "$W/to_full" ] && [ -c "$W/full" ] || fail "the link or its device was removed"
    pass
    if [ -f "$MODEL" ] && [ -d "$DATA" ]; then
        run classify --device cpu --model "$MODEL" --limit 20 --predictions "$W/full"
        expect_rc 1
        [ -c "$W/full" ] || fail "classify --predictions removed the device node"
        pass
    else
        note "no model or data set: classify --predictions to a device skipped"
    fi
    rm -f "$W/full" "$W/null" "$W/to_full"
else
    note "not root or no mknod: device-node cases skipped"
fi

# /dev/stdout into a pipe and into a file: written in place.
LAST="octcl run --output /dev/stdout | wc -c"
n=$("$OCTCL" run --device cpu --output /dev/stdout 2>"$ERR" | wc -c | tr -d ' ')
[ "$n" -eq 208 ] || fail "/dev/stdout into a pipe gave $n bytes, expected 208"
pass
"$OCTCL" run --device cpu --output /dev/stdout >"$W/via_stdout.npy" 2>"$ERR"
RC=$?
expect_rc 0
[ "$(wc -c <"$W/via_stdout.npy" | tr -d ' ')" -eq 208 ] || fail "/dev/stdout into a file"
pass
rm -f "$W/via_stdout.npy"

# A FIFO with a reader gets the bytes and stays a FIFO.
mkfifo "$W/fifo"
cat "$W/fifo" >"$SCRATCH/from_fifo" &
reader=$!
run run --device cpu --output "$W/fifo"
expect_rc 0
wait $reader
[ -p "$W/fifo" ] || fail "the FIFO was replaced"
pass
[ "$(wc -c <"$SCRATCH/from_fifo" | tr -d ' ')" -eq 208 ] || fail "the FIFO's reader got the wrong byte count"
pass
rm -f "$W/fifo"

# ---- 2. atomic replacement ---------------------------------------------------------------
run run --device cpu --batch 3 --output "$W/old.npy"
expect_rc 0
cp "$W/old.npy" "$SCRATCH/old.copy"
chmod 640 "$W/old.npy"

# A file-size limit mid-write: the old file intact, no temporary.
LAST="ulimit -f 1; octcl run --batch 40 --output old.npy"
(ulimit -f 1 && exec "$OCTCL" run --device cpu --batch 40 --output "$W/old.npy") >"$OUT" 2>"$ERR"
RC=$?
expect_rc 1
expect_err "File too large"
same "$W/old.npy" "$SCRATCH/old.copy"
no_temporaries

# A full disk while overwriting: a 64 KB tmpfs in a private mount namespace.
if [ $IS_ROOT -eq 1 ] && unshare -m true 2>/dev/null; then
    mkdir -p "$SCRATCH/small"
    LAST="full tmpfs: octcl run --batch 40 --output small/old.npy"
    unshare -m sh -c '
        mount -t tmpfs -o size=64k tmpfs "$1" || exit 9
        cp "$2" "$1/old.npy"
        dd if=/dev/zero of="$1/filler" bs=1k count=1000 2>/dev/null
        "$3" run --device cpu --batch 40 --output "$1/old.npy" 2>"$4"
        rc=$?
        cmp -s "$1/old.npy" "$2" || exit 7
        ls -A "$1" | grep -q "\.tmp" && exit 8
        exit $rc' sh "$SCRATCH/small" "$SCRATCH/old.copy" "$OCTCL" "$ERR"
    RC=$?
    [ $RC -ne 9 ] || fail "could not mount a tmpfs"
    [ $RC -ne 7 ] || fail "a full disk changed the old file"
    [ $RC -ne 8 ] || fail "a full disk left a temporary"
    expect_rc 1
    expect_err "No space left on device"
else
    note "not root or no unshare -m: full-disk case skipped"
fi

# Overwriting keeps the old file's mode.
run run --device cpu --batch 2 --output "$W/old.npy"
expect_rc 0
[ "$(stat -c %a "$W/old.npy")" = 640 ] || fail "overwriting changed the mode to $(stat -c %a "$W/old.npy")"
pass

# Two writers of one output: one whole file of the two.
"$OCTCL" run --device cpu --batch 100 --output "$W/two.npy" 2>/dev/null &
a=$!
"$OCTCL" run --device cpu --batch 7 --output "$W/two.npy" 2>/dev/null &
b=$!
wait $a
wait $b
size=$(wc -c <"$W/two.npy" | tr -d ' ')
LAST="two writers"
[ "$size" -eq $((128 + 100 * 40)) ] || [ "$size" -eq $((128 + 7 * 40)) ] || fail "two writers left $size bytes"
pass
no_temporaries
rm -f "$W/two.npy" "$W/old.npy"

# bench --json / --csv: a failed run and an interrupted one keep the old files.
echo '["old"]' >"$W/old.json"
echo 'old' >"$W/old.csv"
cp "$W/old.json" "$SCRATCH/json.copy"
cp "$W/old.csv" "$SCRATCH/csv.copy"
run bench --device opencl:9:0 --alphas 0 --batch 1 --size 8x8 --repeat 1 --warmup 0 --no-check \
    --json "$W/old.json" --csv "$W/old.csv"
expect_rc 1
same "$W/old.json" "$SCRATCH/json.copy"
same "$W/old.csv" "$SCRATCH/csv.copy"
# (SIGINT is tested in test_safety.c: a background job of a script starts with SIGINT
# ignored, and an ignored signal stays ignored.)
for sig in TERM HUP; do
    LAST="octcl bench --json old.json, SIG$sig while measuring"
    "$OCTCL" bench --device ref --alphas 0,0.5 --batch 2 --size 32x32 --repeat 100 --warmup 0 --no-check \
        --json "$W/old.json" --csv "$W/old.csv" >/dev/null 2>"$ERR" &
    pid=$!
    sleep 1
    kill -s $sig $pid
    wait $pid
    RC=$?
    [ $RC -gt 128 ] || fail "bench was not stopped by SIG$sig (exit $RC)"
    pass
    same "$W/old.json" "$SCRATCH/json.copy"
    same "$W/old.csv" "$SCRATCH/csv.copy"
    no_temporaries
done
run bench --device cpu --alphas 0 --batch 1 --size 8x8 --repeat 1 --warmup 0 --no-check --json "$W/old.json"
expect_rc 0
grep -q '"alpha": 0' "$W/old.json" || fail "a complete bench run did not replace the JSON"
pass
rm -f "$W/old.json" "$W/old.csv"

# ---- 6. sizes and readers: refused before any work --------------------------------------
start=$(date +%s)
run run --device cpu --model /dev/zero
expect_rc 1
expect_err "/dev/zero: not a regular file (a character device)"
mkfifo "$SCRATCH/in.fifo"
run run --device cpu --input "$SCRATCH/in.fifo"
expect_rc 1
expect_err "not a regular file (a FIFO)"
# The model loader's ONNX-or-safetensors sniff must not block on a FIFO either (timeout: a
# hang fails here instead of at ctest's limit), whatever the name says.
LAST="octcl run --device cpu --model $SCRATCH/in.fifo"
timeout 30 "$OCTCL" run --device cpu --model "$SCRATCH/in.fifo" >"$OUT" 2>"$ERR"
RC=$?
expect_rc 1
expect_err "not a regular file (a FIFO)"
mkfifo "$SCRATCH/m.onnx"
LAST="octcl run --device cpu --model $SCRATCH/m.onnx"
timeout 30 "$OCTCL" run --device cpu --model "$SCRATCH/m.onnx" >"$OUT" 2>"$ERR"
RC=$?
expect_rc 1
expect_err "m.onnx: not a regular file (a FIFO)"
rm -f "$SCRATCH/in.fifo" "$SCRATCH/m.onnx"
run run --device cpu --size 16384x16384
expect_rc 1
expect_err "too large for one pass"
elapsed_under 5 "$start"
if [ -n "${OCTCL_TEST_NO_ASLIMIT:-}" ]; then
    note "sanitizer build: address-space-limit cases skipped"
else
start=$(date +%s)
LAST="prlimit --as=300000000 octcl run --batch 65536 --size 32x32"
prlimit --as=300000000 "$OCTCL" run --device cpu --batch 65536 --size 32x32 >"$OUT" 2>"$ERR"
RC=$?
expect_rc 1
expect_err "out of host memory"
elapsed_under 5 "$start"

# ---- 4. no hang under an address-space limit --------------------------------------------
LAST="prlimit --as=100000000 octcl --version"
timeout 30 prlimit --as=100000000 "$OCTCL" --version >"$OUT" 2>"$ERR"
RC=$?
expect_rc 0
for mb in 30 40 60 100 300; do
    LAST="prlimit --as=${mb}000000 octcl run --device cpu --batch 8"
    timeout 60 prlimit --as=${mb}000000 "$OCTCL" run --device cpu --batch 8 >"$OUT" 2>"$ERR"
    RC=$?
    [ $RC -eq 0 ] || [ $RC -eq 1 ] || fail "under ${mb} MB: exit $RC (124: it hung)"
    pass
    if [ $RC -eq 1 ]; then expect_err "out of host memory"; fi
done
LAST="OCTCL_THREADS=600 prlimit --as=4000000000 octcl run --device cpu"
OCTCL_THREADS=600 timeout 60 prlimit --as=4000000000 "$OCTCL" run --device cpu >"$OUT" 2>"$ERR"
RC=$?
expect_rc 0 # 2 MB worker stacks: 600 threads fit in 4 GB (and before, it spun inside OpenBLAS)
fi

# ---- 7. lenient parsing closed ------------------------------------------------------------
LAST='OCTCL_THREADS=" 2" octcl run --device cpu'
OCTCL_THREADS=" 2" "$OCTCL" run --device cpu >"$OUT" 2>"$ERR"
RC=$?
expect_rc 1
expect_err "OCTCL_THREADS = ' 2'"

# ---- 3. the program cache (OpenCL only) -------------------------------------------------
run info
expect_rc 0
unset OCTCL_CACHE_DIR
HOME=$SCRATCH/home XDG_CACHE_HOME= "$OCTCL" info >"$OUT" 2>"$ERR"
grep -F -q "OpenCL program cache: $SCRATCH/home/.cache/octcl" "$OUT" || fail "octcl info does not say where the cache lives"
pass
if "$OCTCL" run --device opencl >"$SCRATCH/uncached" 2>/dev/null; then
    C=$SCRATCH/cache
    # A folder others can write: refused with one warning, the run still right.
    mkdir -p "$C" && chmod 777 "$C"
    OCTCL_CACHE_DIR=$C "$OCTCL" run --device opencl >"$OUT" 2>"$ERR"
    RC=$?
    LAST="OCTCL_CACHE_DIR=<mode 777> octcl run --device opencl"
    expect_rc 0
    expect_err "writable by group or others; running uncached"
    [ "$(grep -c warning "$ERR")" -eq 1 ] || fail "more than one warning"
    pass
    same "$OUT" "$SCRATCH/uncached"
    [ -z "$(ls -A "$C")" ] || fail "a refused cache folder was written to"
    pass
    # Our own folder: an entry is written, private.
    chmod 700 "$C"
    OCTCL_CACHE_DIR=$C "$OCTCL" run --device opencl >"$OUT" 2>"$ERR"
    entry=$(ls "$C"/*.bin 2>/dev/null | head -n 1)
    LAST="OCTCL_CACHE_DIR=<ours> octcl run --device opencl"
    [ -n "$entry" ] || fail "no cache entry written"
    pass
    [ "$(stat -c %a "$entry")" = 600 ] || fail "cache entry mode $(stat -c %a "$entry"), expected 600"
    pass
    # An entry planted by another user (or writable by others): refused, results unchanged.
    if [ $IS_ROOT -eq 1 ]; then
        chown 12345:12345 "$entry"
        OCTCL_CACHE_DIR=$C "$OCTCL" run --device opencl >"$OUT" 2>"$ERR"
        RC=$?
        LAST="cache entry owned by uid 12345"
        expect_rc 0
        expect_err "owned by another user"
        same "$OUT" "$SCRATCH/uncached"
        chown 0:0 "$entry"
    fi
    chmod 666 "$entry"
    OCTCL_CACHE_DIR=$C "$OCTCL" run --device opencl >"$OUT" 2>"$ERR"
    RC=$?
    LAST="cache entry of mode 666"
    expect_rc 0
    expect_err "writable by group or others"
    # A FIFO at the entry's path: no hang, a warning, right results.
    rm -f "$entry"
    mkfifo "$entry"
    LAST="a FIFO at the cache entry's path"
    OCTCL_CACHE_DIR=$C timeout 120 "$OCTCL" run --device opencl >"$OUT" 2>"$ERR"
    RC=$?
    expect_rc 0
    expect_err "not a regular file (a FIFO)"
    same "$OUT" "$SCRATCH/uncached"
    rm -f "$entry"
    # Stale temporaries (a killed writer's) are removed; fresh ones are left alone.
    base=$(basename "$entry")
    : >"$C/.$base.tmpSTALE1"
    touch -d '20 minutes ago' "$C/.$base.tmpSTALE1"
    : >"$C/$base.OLDST1"
    touch -d '2 hours ago' "$C/$base.OLDST1"
    : >"$C/.$base.tmpFRESH1"
    OCTCL_CACHE_DIR=$C "$OCTCL" run --device opencl >"$OUT" 2>"$ERR"
    LAST="stale cache temporaries"
    [ ! -e "$C/.$base.tmpSTALE1" ] && [ ! -e "$C/$base.OLDST1" ] || fail "a stale temporary was left"
    pass
    [ -e "$C/.$base.tmpFRESH1" ] || fail "a fresh temporary (another writer's, maybe) was removed"
    pass
    # $OCTCL_KERNEL_DIR's sources go through the same bounded reader: a FIFO is refused.
    K=$SCRATCH/kernels
    mkdir -p "$K" && cp "$SRC_DIR"/kernels/*.cl "$K"/ && rm -f "$K/common.cl" && mkfifo "$K/common.cl"
    LAST="OCTCL_KERNEL_DIR with a FIFO for common.cl"
    OCTCL_CACHE_DIR=off OCTCL_KERNEL_DIR=$K timeout 60 "$OCTCL" run --device opencl >"$OUT" 2>"$ERR"
    RC=$?
    expect_rc 1
    expect_err "common.cl: not a regular file (a FIFO)"
else
    note "no OpenCL device: program-cache cases skipped"
fi

echo "$PASSED passed, 0 failed"
