#!/usr/bin/python3
# Run with the onnxruntime virtual environment's python (tests/test_onnx_ort.sh makes it):
# onnxruntime comes from PyPI, numpy < 2; no torch needed.
"""check_ort.py — run every exported ONNX file in onnxruntime and compare with PyTorch.

    check_ort.py DIR [--tol 1e-4] [--threads 2]

For each DIR/*.onnx written by make_onnx.py (with its _input.npy and _logits64.npy):
  1. the whole input batch through onnxruntime (CPU provider, all graph optimisations),
     compared with PyTorch's float64 logits (compare_npy.rel_err, <= --tol);
  2. when the batch is > 1, its first image alone, compared with the first row of the
     logits: the batch axis really is dynamic.
One line per check (PASS/FAIL); exit status 1 when any fails or no file is found.
compare_npy.py says why 1e-4 holds for float32 against float64.
"""
import argparse
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_npy import TOL, compare  # noqa: E402


def main(argv):
    ap = argparse.ArgumentParser(description='Check exported ONNX files in onnxruntime against PyTorch logits.')
    ap.add_argument('dir')
    ap.add_argument('--tol', type=float, default=TOL, help='max rel. error (default %(default)g)')
    ap.add_argument('--threads', type=int, default=2, help='onnxruntime intra-op threads (default 2)')
    a = ap.parse_args(argv)
    import onnxruntime as ort
    files = sorted(glob.glob(os.path.join(a.dir, '*.onnx')))
    if not files:
        print(f'check_ort.py: no .onnx file in {a.dir}', file=sys.stderr)
        return 1
    print(f'onnxruntime {ort.__version__}, numpy {np.__version__}, {len(files)} files, tol {a.tol:g}')
    failed = 0
    for f in files:
        base = f[:-len('.onnx')]
        name = os.path.basename(base)
        try:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = a.threads
            sess = ort.InferenceSession(f, opts, providers=['CPUExecutionProvider'])
            x = np.load(base + '_input.npy')
            exp = np.load(base + '_logits64.npy')
            y = sess.run(['logits'], {'input': x})[0]
            ok = compare(y, exp, a.tol, f'{name} batch {x.shape[0]}')
            if x.shape[0] > 1:
                y1 = sess.run(['logits'], {'input': x[:1]})[0]
                ok = compare(y1, exp[:1], a.tol, f'{name} batch 1 of the same file') and ok
        except Exception as e:  # an engine error is a failure of this file, not of the run
            print(f'{name}: onnxruntime failed: {type(e).__name__}: {e} FAIL')
            ok = False
        failed += not ok
    print(f'check_ort.py: {len(files) - failed} of {len(files)} files match')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
