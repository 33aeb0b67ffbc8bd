#!/usr/bin/python3
# Needs only numpy: runs under /usr/bin/python3 or the tests' onnxruntime virtual environment.
"""compare_npy.py — does an engine's output match PyTorch's float64 logits?

    compare_npy.py GOT.npy EXPECTED.npy [--tol 1e-4] [--label TEXT]

Prints one line "LABEL: rel err E (max |got - exp| A, max |exp| M) PASS|FAIL" and, on a
failure, the first mismatches (flat index, multi-index, expected, got); exit status 0 when
it matches, 1 when it does not (or the shapes differ), 2 on a usage or file error.

The error measure (the parity suite's, issue 10):

    rel = max|got - exp| / max(1e-6, max|exp|)

i.e. the worst absolute error relative to the output's own scale (not element by element:
a logit near zero carries the rounding error of the large terms that cancelled in it).

Why 1e-4 holds for a float32 engine against float64 logits.  Every float32 product and
sum rounds with unit roundoff u = 2^-24 = 6e-8.  A dot product of K terms accumulates
about sqrt(K) u of its terms' scale when the roundings are independent (K u in the worst
case; blocked and pairwise summation, as GEMM kernels do, do better).  The exported
networks are calibrated to unit-scale activations (zoo.calibrate), so each layer adds
about sqrt(K) u relative error: K <= 4608 (3x3x512) gives 4e-6.  Over L layers in series
those errors add at worst linearly and typically as sqrt(L); Oct-ResNet-50 (L ~ 50)
gives 3e-5 typically, 2e-4 in the pessimistic linear sum of worst-case-K layers -- but
most of its layers are 1x1 convs with K <= 2048.  Measured: PyTorch's own float32 pass
is 1e-7 to 4e-6 from its float64 pass on every network of the test set (make_onnx.py
records it as torch_fp32_rel_err) and 8.6e-6 on the full Oct-ResNet-50 at 224x224;
onnxruntime 1.32 is 1e-7 to 5e-6 on the test set and 9.7e-6 on that Oct-ResNet-50.  So
1e-4 leaves a margin of 10 on the deepest, widest net and 20 or more on the test set,
while the bugs the suite is for move the output by more: a BatchNorm mean or bias (~0.1
on unit activations) dropped or applied twice, one row of a nearest resize off by one, a
wrong pad or pool window.  Checked by planting two: one channel of one of the 82
BatchNorm means of the test set's Oct-ResNet-50 (width 8) moved by 0.01 gives rel err
1.4e-3; nearest_mode 'ceil' instead of 'floor' in OctNetMini's first Resize gives 0.21.
"""
import argparse
import sys

import numpy as np

TOL = 1e-4


def rel_err(got, exp):
    """max|got - exp| / max(1e-6, max|exp|); 0 for empty arrays."""
    got = np.asarray(got, dtype=np.float64)
    exp = np.asarray(exp, dtype=np.float64)
    if exp.size == 0:
        return 0.0
    return float(np.max(np.abs(got - exp)) / max(1e-6, float(np.max(np.abs(exp)))))


def compare(got, exp, tol=TOL, label='', out=sys.stdout, show=5):
    """True when got matches exp within tol (rel_err); prints the verdict line and, on a
    failure, the first `show` mismatches."""
    got = np.asarray(got)
    exp = np.asarray(exp)
    if got.shape != exp.shape:
        print(f'{label}: shape {got.shape}, expected {exp.shape} FAIL', file=out)
        return False
    g64, e64 = got.astype(np.float64), exp.astype(np.float64)
    if not np.all(np.isfinite(g64)):
        bad = np.flatnonzero(~np.isfinite(g64))
        print(f'{label}: {bad.size} non-finite values, first at {np.unravel_index(bad[0], got.shape)} FAIL', file=out)
        return False
    err = rel_err(g64, e64)
    scale = max(1e-6, float(np.max(np.abs(e64)))) if e64.size else 1e-6
    abs_max = float(np.max(np.abs(g64 - e64))) if e64.size else 0.0
    ok = err <= tol
    print(f'{label}: rel err {err:.2e} (max |got - exp| {abs_max:.3g}, max |exp| {scale:.3g}, tol {tol:g}) '
          f'{"PASS" if ok else "FAIL"}', file=out)
    if not ok:
        diff = np.abs(g64 - e64).ravel()
        for i in np.flatnonzero(diff > tol * scale)[:show]:
            idx = np.unravel_index(i, got.shape)
            print(f'    [{i}] {tuple(int(v) for v in idx)}: expected {e64.ravel()[i]:.9g}, got {g64.ravel()[i]:.9g}',
                  file=out)
    return ok


def main(argv):
    ap = argparse.ArgumentParser(description="Compare an engine's output with PyTorch's logits.")
    ap.add_argument('got')
    ap.add_argument('expected')
    ap.add_argument('--tol', type=float, default=TOL, help='max rel. error (default %(default)g)')
    ap.add_argument('--label', help='name printed on the verdict line (default: GOT)')
    a = ap.parse_args(argv)
    try:
        got = np.load(a.got, allow_pickle=False)
        exp = np.load(a.expected, allow_pickle=False)
    except (OSError, ValueError) as e:
        print(f'compare_npy.py: {e}', file=sys.stderr)
        return 2
    return 0 if compare(got, exp, a.tol, a.label or a.got) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
