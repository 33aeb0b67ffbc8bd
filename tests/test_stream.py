#!/usr/bin/python3
"""test_stream.py — inputs larger than memory stream in chunks.

    python3 tests/test_stream.py path/to/octcl scratch-dir [megabytes]

`octcl run` reads a generated 200 MB .npy (default) through a tiny ONNX model (a 1x1
Conv, GlobalAveragePool, Flatten: almost no compute, so the test is about the input) and
writes the output .npy as it goes. Checked:
  - the peak resident memory of the streamed run stays far below the input size (under a
    quarter of it with --chunk 64; under half with the default chunk of 16 MiB of input
    and the conv's activations for it), while the same run as one chunk (--chunk N: the whole input in
    memory, as octcl read it before streaming) holds more than the input — so the
    measurement can tell the two apart;
  - the streamed output is byte-identical to the one-chunk output, and equals the model
    computed by numpy in float64 within float32 rounding;
  - a run that fails half-way (an input whose last rows hold a NaN) leaves no output and
    an existing output file untouched.
Exit 77 (skipped) without numpy or onnx.
"""
import os
import resource
import subprocess
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e}")
    sys.exit(77)

OCTCL, SCRATCH = sys.argv[1], sys.argv[2]
MB = int(sys.argv[3]) if len(sys.argv) > 3 else 200
# Under AddressSanitizer (shadow memory, quarantine) peak RSS says nothing about streaming:
# the build sets OCTCL_TEST_NO_RSS=1 there and only the outputs are compared.
NO_RSS = os.environ.get("OCTCL_TEST_NO_RSS") == "1"
os.makedirs(SCRATCH, exist_ok=True)
C, H, W, K = 3, 64, 64, 4
ROW = C * H * W * 4
N = MB * (1 << 20) // ROW
INPUT = os.path.join(SCRATCH, "big.npy")
MODEL = os.path.join(SCRATCH, "tiny.onnx")
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures += 1


def make_model(w, b):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", C, H, W])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", K])
    inits = [helper.make_tensor("w", TensorProto.FLOAT, [K, C, 1, 1], w.ravel().tolist()),
             helper.make_tensor("b", TensorProto.FLOAT, [K], b.tolist())]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[1, 1]),
             helper.make_node("GlobalAveragePool", ["c"], ["g"]),
             helper.make_node("Flatten", ["g"], ["y"], axis=1)]
    graph = helper.make_graph(nodes, "tiny", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.save(model, MODEL)


def peak_rss(args):
    """Peak RSS of one octcl run measured in a fresh child interpreter (ru_maxrss of the
    children of a process is a running maximum, so each measurement gets its own)."""
    code = ("import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
            "sys.stderr.write(p.stderr)\n"
            "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)\n")
    p = subprocess.run([sys.executable, "-c", code, OCTCL] + args, capture_output=True, text=True)
    rc, rss = p.stdout.split()
    return int(rc), p.stderr, int(rss)


rng = np.random.default_rng(2026)
w = rng.uniform(-2, 2, (K, C)).astype(np.float32)
b = rng.uniform(-2, 2, K).astype(np.float32)
make_model(w, b)
# The input, written a block at a time (this script never holds it either).
x = np.lib.format.open_memmap(INPUT, mode="w+", dtype=np.float32, shape=(N, C, H, W))
means = np.empty((N, C), dtype=np.float64)
for a in range(0, N, 256):
    blk = rng.uniform(-2, 2, (min(256, N - a), C, H, W)).astype(np.float32)
    x[a:a + len(blk)] = blk
    means[a:a + len(blk)] = blk.astype(np.float64).mean(axis=(2, 3))
x.flush()
del x
size = os.path.getsize(INPUT)
print(f"input {INPUT}: ({N}, {C}, {H}, {W}) float32, {size / 2**20:.0f} MiB", flush=True)

streamed = os.path.join(SCRATCH, "y_streamed.npy")
whole = os.path.join(SCRATCH, "y_whole.npy")
base = ["run", "--device", "cpu", "--raw", "--model", MODEL, "--input", INPUT]
rc, err, rss_s = peak_rss(base + ["--output", streamed, "--chunk", "64"])
check(rc == 0, f"streamed run (--chunk 64) exits 0 ({err.strip()[-300:]})")
check(NO_RSS or rss_s < size / 4, f"streamed peak RSS {rss_s / 2**20:.1f} MiB < a quarter of the input {size / 2**20:.0f} MiB")
default = os.path.join(SCRATCH, "y_default.npy")
rc, err, rss_d = peak_rss(base + ["--output", default])
check(rc == 0, f"streamed run (default chunk, 16 MiB of input) exits 0 ({err.strip()[-300:]})")
check(NO_RSS or rss_d < size / 2, f"its peak RSS {rss_d / 2**20:.1f} MiB < half the input {size / 2**20:.0f} MiB")
rc, err, rss_w = peak_rss(base + ["--output", whole, "--chunk", str(N)])
check(rc == 0, f"one-chunk run exits 0 ({err.strip()[-300:]})")
check(NO_RSS or rss_w > size, f"one-chunk peak RSS {rss_w / 2**20:.1f} MiB > the input (the measurement sees a whole read)")
with open(streamed, "rb") as f1, open(whole, "rb") as f2:
    check(f1.read() == f2.read(), "streamed output is byte-identical to the one-chunk output")
with open(default, "rb") as f1, open(whole, "rb") as f2:
    check(f1.read() == f2.read(), "so is the default-chunk output")
if NO_RSS:
    print("peak-RSS checks skipped (OCTCL_TEST_NO_RSS=1: a sanitizer build)", flush=True)
y = np.load(streamed)
ref = means @ w.astype(np.float64).T + b.astype(np.float64)
err = np.abs(y - ref)
# float32 sums of 4096 products (|w x| <= 4) per channel: rounding well under 1e-4.
tol = 1e-4 + 1e-5 * np.abs(ref)
bad = np.argwhere(err > tol)
check(y.shape == (N, K) and len(bad) == 0,
      f"output {y.shape} equals numpy's float64 model (max error {err.max():.2e})"
      + ("" if not len(bad) else f"; first mismatch at {tuple(bad[0])}: {y[tuple(bad[0])]} vs {ref[tuple(bad[0])]}"))

# A failure half-way: a NaN in the last row; no output, an existing file untouched.
with open(INPUT, "r+b") as f:
    f.seek(-4, os.SEEK_END)
    f.write(np.array([np.nan], dtype="<f4").tobytes())
keep = os.path.join(SCRATCH, "keep.npy")
with open(keep, "wb") as f:
    f.write(b"keep me\n")
new = os.path.join(SCRATCH, "new.npy")
if os.path.exists(new):
    os.remove(new)
rc, err, _ = peak_rss(base + ["--output", keep])
check(rc == 1 and "input holds NaN" in err, f"a NaN in the last row fails the run ({err.strip()[-200:]})")
check(open(keep, "rb").read() == b"keep me\n", "the existing output file is untouched")
rc, err, _ = peak_rss(base + ["--output", new])
check(rc == 1 and not os.path.exists(new), "no new output file")
left = [n for n in os.listdir(SCRATCH) if ".tmp" in n]
check(not left, f"no temporaries left ({left})")
os.remove(INPUT)
print(f"{'all passed' if not failures else f'{failures} failed'}")
sys.exit(1 if failures else 0)
