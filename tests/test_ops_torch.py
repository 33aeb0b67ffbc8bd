#!/usr/bin/python3
"""test_ops_torch.py - PyTorch (float64) results for the graph ops' reference check.

Writes OUTDIR/manifest.txt (one case a line) and case<i>_<name>.npy arrays (float32
inputs, the expected output y computed by PyTorch in float64 from those float32 values);
test_ops --torch OUTDIR runs each case on the reference backend and compares.
Exit status 77 when torch cannot be imported (the ctest is then skipped).

  conv i n ci h w co kh kw sh sw pt pl pb pr dh dw groups bias acc res relu
  pool i n c h w ho wo max kh kw sh sw pt pl pb pr cip relu
"""
import os
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover
    print("torch or numpy missing: %s" % e)
    sys.exit(77)


def save(outdir, i, name, t):
    np.save(os.path.join(outdir, "case%03d_%s.npy" % (i, name)), np.ascontiguousarray(t, dtype=np.float32))


def conv_cases():
    # n, ci, h, w, co, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups, bias, acc, res, relu
    return [
        (1, 3, 9, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0),
        (2, 4, 11, 10, 6, 3, 3, 2, 2, 0, 1, 1, 0, 1, 1, 2, 1, 1, 1, 1),   # groups 2, asymmetric pads
        (1, 8, 12, 12, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 8, 0, 0, 1, 1),   # depthwise, dilation 2
        (1, 6, 13, 9, 12, 5, 3, 2, 1, 2, 1, 2, 1, 1, 2, 3, 1, 0, 0, 1),   # 5x3, strides (2, 1), dilation (1, 2)
        (3, 5, 8, 8, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0),     # 1x1, batch 3
        (1, 3, 30, 30, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 0, 0, 1),  # a stem
        (1, 4, 10, 10, 8, 1, 3, 1, 1, 0, 1, 0, 1, 1, 1, 4, 0, 1, 0, 0),   # 1x3, multiplier 2
        (1, 6, 9, 9, 6, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 6, 1, 0, 1, 1),     # depthwise stride 3
    ]


def pool_cases():
    # n, c, h, w, max, k, s, p, ceil, cip, relu
    return [
        (1, 3, 9, 9, 1, 3, 2, 1, 0, 0, 0),
        (2, 2, 8, 7, 1, 3, 2, 1, 1, 0, 1),
        (1, 4, 4, 4, 0, 3, 2, 1, 1, 1, 0),
        (1, 4, 4, 4, 0, 3, 2, 1, 1, 0, 0),
        (1, 3, 11, 10, 0, 2, 2, 0, 1, 1, 1),
        (2, 3, 7, 9, 0, 5, 3, 2, 1, 1, 0),
        (2, 3, 7, 9, 0, 5, 3, 2, 1, 0, 0),
        (1, 5, 13, 13, 1, 2, 3, 1, 1, 0, 0),
    ]


def main():
    if len(sys.argv) != 2:
        print("usage: test_ops_torch.py OUTDIR")
        return 2
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    g = torch.Generator().manual_seed(20261129)

    def rand(*shape, lo=-2.0, hi=2.0):
        return (torch.rand(*shape, generator=g, dtype=torch.float64) * (hi - lo) + lo).float()

    lines = []
    i = 0
    for (n, ci, h, w, co, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups, bias, acc, res, relu) in conv_cases():
        x = rand(n, ci, h, w)
        wt = rand(co, ci // groups, kh, kw, lo=-0.5, hi=0.5)
        b = rand(co)
        xp = F.pad(x.double(), (pl, pr, pt, pb))
        y = F.conv2d(xp, wt.double(), b.double() if bias else None, stride=(sh, sw), dilation=(dh, dw), groups=groups)
        y0 = rand(*y.shape)
        r = rand(*y.shape)
        if acc:
            y = y + y0.double()
        if res:
            y = y + r.double()
        if relu:
            y = torch.relu(y)
        for name, t in (("x", x), ("w", wt), ("b", b), ("y0", y0), ("res", r), ("y", y)):
            save(outdir, i, name, t.numpy())
        lines.append("conv %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d" %
                     (i, n, ci, h, w, co, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups, bias, acc, res, relu))
        i += 1
    for (n, c, h, w, mx, k, s, p, ceil, cip, relu) in pool_cases():
        x = rand(n, c, h, w)
        if mx:
            y = F.max_pool2d(x.double(), k, s, p, ceil_mode=bool(ceil))
        else:
            y = F.avg_pool2d(x.double(), k, s, p, ceil_mode=bool(ceil), count_include_pad=bool(cip))
        if relu:
            y = torch.relu(y)
        save(outdir, i, "x", x.numpy())
        save(outdir, i, "y", y.numpy())
        lines.append("pool %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d" %
                     (i, n, c, h, w, y.shape[2], y.shape[3], mx, k, k, s, s, p, p, p, p, cip, relu))
        i += 1
    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
