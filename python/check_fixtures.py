#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (it has torch 1.13 CPU and numpy).
"""Independent check of tests/fixtures: a plain-numpy float64 OctConv / OctNetMini
(BN folded into the conv weights, as the C library does; nearest index computed with
the float32 formula PyTorch uses) must reproduce every fixture output.

  /usr/bin/python3 python/check_fixtures.py [--dir tests/fixtures]
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from export import load_file_pure  # noqa: E402


def conv2d(x, w, b, s, p):
    """x (N,C,H,W), w (O,C,k,k) -> (N,O,Ho,Wo), float64 direct loops over taps."""
    N, C, H, W = x.shape
    O, _, k, _ = w.shape
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    xp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    xp[:, :, p:p + H, p:p + W] = x
    y = np.zeros((N, O, Ho, Wo))
    for dy in range(k):
        for dx in range(k):
            patch = xp[:, :, dy:dy + s * (Ho - 1) + 1:s, dx:dx + s * (Wo - 1) + 1:s]
            y += np.einsum('nchw,oc->nohw', patch, w[:, :, dy, dx])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def avgpool2(x):
    H2, W2 = x.shape[2] // 2, x.shape[3] // 2
    x = x[:, :, :2 * H2, :2 * W2]
    return 0.25 * (x[:, :, 0::2, 0::2] + x[:, :, 1::2, 0::2] + x[:, :, 0::2, 1::2] + x[:, :, 1::2, 1::2])


def near_idx(o, i):
    if o == i:
        return np.arange(o)
    if o == 2 * i:
        return np.arange(o) >> 1
    sc = np.float32(np.float32(i) / np.float32(o))
    return np.minimum(np.floor(np.arange(o, dtype=np.float32) * sc).astype(np.int64), i - 1)


def up_to(x, H, W):
    return x[:, :, near_idx(H, x.shape[2])][:, :, :, near_idx(W, x.shape[3])]


def split_ch(c, a):
    lo = int(round(c * a))   # Python round: half to even
    return c - lo, lo


def octconv(xh, xl, H, W, w, b, k, s, p):
    """w, b: dicts path -> array (absent paths missing). Returns (yh, yl) or None."""
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    yh = yl = None
    if 'hh' in w:
        yh = conv2d(xh, w['hh'], b.get('hh'), s, p)
    if 'lh' in w:
        t = up_to(conv2d(xl, w['lh'], b.get('lh'), s, p), Ho, Wo)
        yh = t if yh is None else yh + t
    if 'hl' in w:
        yl = conv2d(avgpool2(xh), w['hl'], b.get('hl'), s, p)
    if 'll' in w:
        t = conv2d(xl, w['ll'], b.get('ll'), s, p)
        yl = t if yl is None else yl + t
    return yh, yl, Ho, Wo


def check(name, got, ref, tol=2e-5):
    err = np.abs(got - ref).max() / max(1.0, np.abs(ref).max())
    ok = got.shape == ref.shape and err < tol
    print(f'{"ok  " if ok else "FAIL"} {name}: shape {ref.shape} rel err {err:.2e}')
    return ok


def check_layers(d):
    ok = True
    for line in open(os.path.join(d, 'layers.txt')):
        f = line.split()
        i, cin, cout, k, s, p = map(int, f[:6])
        ai, ao = float(f[6]), float(f[7])
        bias, N, H, W = map(int, f[8:12])
        pre = os.path.join(d, f'layer_{i}_')
        ld = lambda n: np.load(pre + n + '.npy').astype(np.float64) if os.path.exists(pre + n + '.npy') else None  # noqa: E731
        cin_h, cin_l = split_ch(cin, ai)
        cout_h, cout_l = split_ch(cout, ao)
        xh, xl = ld('xh'), ld('xl')
        w = {q: ld('w_' + q) for q in ('hh', 'hl', 'll', 'lh') if ld('w_' + q) is not None}
        b = {q: ld('b_' + q) for q in ('hh', 'hl', 'll', 'lh') if ld('b_' + q) is not None}
        exp = {q for q, (a, c) in {'hh': (cin_h, cout_h), 'hl': (cin_h, cout_l),
                                   'll': (cin_l, cout_l), 'lh': (cin_l, cout_h)}.items() if a and c}
        assert set(w) == exp, (i, set(w), exp)
        yh, yl, _, _ = octconv(xh, xl, H, W, w, b, k, s, p)
        if cout_h:
            ok &= check(f'layer_{i} yh', yh, ld('yh'))
        if cout_l:
            ok &= check(f'layer_{i} yl', yl, ld('yl'))
    return ok


def fold(sd, conv_key, bn_prefix, eps=1e-5):
    g, beta = sd[bn_prefix + '.weight'], sd[bn_prefix + '.bias']
    mu, var = sd[bn_prefix + '.running_mean'], sd[bn_prefix + '.running_var']
    sc = g / np.sqrt(var + eps)
    return sd[conv_key] * sc.reshape(-1, 1, 1, 1), beta - mu * sc


def block(sd, pre, xh, xl, H, W):
    """OctaveConvBlock with BN folded per output band: scale both paths into a band."""
    w, b = {}, {}
    for q, band in (('hh', 'h'), ('lh', 'h'), ('hl', 'l'), ('ll', 'l')):
        key = f'{pre}.oct.{q}.weight'
        if key in sd:
            w[q], bb = fold(sd, key, f'{pre}.bn_{band}')
            # the folded bias goes once per band: on hh/ll if present, else on the other path
            first = {'h': 'hh' if f'{pre}.oct.hh.weight' in sd else 'lh',
                     'l': 'll' if f'{pre}.oct.ll.weight' in sd else 'hl'}[band]
            if q == first:
                b[q] = bb
    yh, yl, Ho, Wo = octconv(xh, xl, H, W, w, b, 3, 1, 1)
    relu = lambda t: None if t is None else np.maximum(t, 0.0)  # noqa: E731
    return relu(yh), relu(yl), Ho, Wo


def check_nets(d):
    ok = True
    for line in open(os.path.join(d, 'nets.txt')):
        name, alpha, N, C, H, W, K = line.split()
        alpha = float(alpha)
        t, md = load_file_pure(os.path.join(d, name + '.safetensors'))
        sd = {k: v.numpy().astype(np.float64) for k, v in t.items() if not k.endswith('num_batches_tracked')}
        x = np.load(os.path.join(d, name + '_input.npy')).astype(np.float64)
        H, W = int(H), int(W)
        ws, bs = fold(sd, 'stem.0.weight', 'stem.1')
        s = np.maximum(conv2d(x, ws, bs, 1, 1), 0.0)
        ch, cl = split_ch(64, alpha)
        xh = s[:, :ch] if ch else None
        xl = avgpool2(s[:, ch:]) if cl else None
        xh, xl, H1, W1 = block(sd, 'b1', xh, xl, H, W)
        xh, xl, H2, W2 = block(sd, 'b2', xh, xl, H1, W1)
        feats = []
        if xh is not None:
            feats.append(xh.mean((2, 3)))
        if xl is not None:
            feats.append(up_to(xl, H2, W2).mean((2, 3)))
        f = np.concatenate(feats, 1)
        logits = f @ sd['fc.weight'].T + sd['fc.bias']
        ok &= check(name + ' logits', logits, np.load(os.path.join(d, name + '_logits.npy')).astype(np.float64))
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', default=os.path.join(ROOT, 'tests', 'fixtures'))
    args = ap.parse_args()
    ok = check_layers(args.dir) & check_nets(args.dir)
    print('fixtures check ' + ('passed' if ok else 'FAILED'))
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
