#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (it has torch 1.13 CPU and numpy);
# the `python3` first on PATH may be another interpreter that cannot import torch.
"""Regenerate the parity fixtures in tests/fixtures/.

  /usr/bin/python3 python/make_fixtures.py [--out tests/fixtures]

Whole-network cases (listed in nets.txt: `case alpha N C H W classes`):
  <case>.safetensors   random OctNetMini (fixed seed, randomised BN affine + running
                       stats), state_dict as safetensors.torch.save_file writes it
                       (pure writer, sorted metadata, so the bytes are reproducible)
  <case>_input.npy     float32 (N,C,H,W), uniform in [-2,2), fixed seed
  <case>_logits.npy    float32 (N,classes): model.eval().double() on the float64 input
Layer cases (layers.txt: `i cin cout k stride pad alpha_in alpha_out bias N H W`):
  layer_<i>_{xh,xl,w_hh,w_hl,w_ll,w_lh,b_hh,b_hl,b_ll,b_lh,yh,yl}.npy, float32,
  absent bands/paths/biases omitted.  xh (N,cin_h,H,W), xl (N,cin_l,H//2,W//2),
  outputs computed in float64 by OctaveConv2d, then cast to float32.
Everything is deterministic: running it again rewrites identical files.
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from export import export  # noqa: E402
from octnet import OctaveConv2d, conv_out, count_params, random_model  # noqa: E402

# (alpha, N, C, H, W, classes)
NET_CASES = [
    (0.0, 1, 3, 8, 8, 10),
    (0.25, 1, 1, 5, 9, 10),
    (0.5, 3, 3, 9, 7, 10),
    (0.75, 1, 3, 33, 33, 10),
    (1.0, 2, 1, 7, 7, 7),
]

# (cin, cout, k, stride, pad, alpha_in, alpha_out, bias, N, H, W)
LAYER_CASES = [
    (5, 7, 3, 1, 1, 0.5, 0.25, 0, 2, 7, 7),    # round(2.5)=2 (half to even), round(1.75)=2
    (4, 5, 1, 2, 0, 0.5, 0.5, 1, 1, 9, 5),     # 1x1 stride 2, odd sizes; cout_l=round(2.5)=2
    (3, 4, 3, 1, 1, 1.0, 0.5, 0, 2, 8, 8),     # alpha_in=1: no high input, xh omitted
    (6, 5, 3, 1, 1, 0.5, 0.0, 1, 1, 9, 7),     # alpha_out=0: no low output, yl omitted
    (4, 4, 3, 1, 0, 0.5, 0.5, 0, 1, 8, 8),     # pad 0: low out 2x2 resized to high 6x6
    (4, 6, 3, 1, 0, 0.5, 0.5, 1, 2, 10, 10),   # low out 3x3 resized to 8x8 (ratio 8/3)
    (8, 8, 3, 2, 1, 0.25, 0.75, 1, 1, 9, 9),   # stride 2: low 4x4 -> 2x2 resized to 5x5
    (3, 6, 3, 1, 1, 0.0, 0.5, 0, 1, 7, 9),     # alpha_in=0: no low input, xl omitted
    (4, 4, 3, 1, 1, 1.0, 1.0, 1, 2, 6, 6),     # only L->L; yh has 0 channels (omitted)
]


def fmt_alpha(a):
    return f'{float(a):.2f}'


def net_case_name(alpha, n, c, h, w, k):
    return f'net_a{fmt_alpha(alpha)}_n{n}_c{c}_{h}x{w}_k{k}'


def uniform(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g, dtype=torch.float64) * 4.0 - 2.0).float()


def save(path, t):
    np.save(path, np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32)))


def make_nets(out):
    lines = []
    for i, (alpha, n, c, h, w, k) in enumerate(NET_CASES):
        name = net_case_name(alpha, n, c, h, w, k)
        seed = 1000 + i
        model = random_model(alpha, seed, in_channels=c, num_classes=k)
        assert count_params(model) == 224842 - (3 - c) * 64 * 9 - (10 - k) * 129
        md = {'alpha': str(float(alpha)), 'seed': str(seed), 'in_channels': str(c),
              'num_classes': str(k), 'kind': 'parity fixture: random init, randomised BN statistics'}
        export(model, os.path.join(out, name + '.safetensors'), md, writer='pure')
        x = uniform((n, c, h, w), 2000 + i)
        with torch.no_grad():
            y64 = model.double()(x.double())
            y32 = model.float()(x)
        save(os.path.join(out, name + '_input.npy'), x)
        save(os.path.join(out, name + '_logits.npy'), y64)
        err = (y32.double() - y64).abs().max().item()
        spread = y64.std().item()
        dep = y64.std(0).mean().item() if n > 1 else float('nan')
        print(f'{name}: input {tuple(x.shape)} logits {tuple(y64.shape)} '
              f'|logit| max {y64.abs().max().item():.3f} std {spread:.3f} across-batch std {dep:.3f}, '
              f'float32 torch vs float64 max err {err:.2e}')
        assert spread > 1e-2, 'degenerate logits'
        lines.append(f'{name} {float(alpha)} {n} {c} {h} {w} {k}')
    with open(os.path.join(out, 'nets.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def make_layers(out):
    lines = []
    for i, (cin, cout, k, s, p, ai, ao, bias, n, h, w) in enumerate(LAYER_CASES):
        torch.manual_seed(3000 + i)
        layer = OctaveConv2d(cin, cout, k, s, p, ai, ao, bias=bool(bias))
        if bias:  # default bias init is tiny; make it visible
            g = torch.Generator().manual_seed(3500 + i)
            with torch.no_grad():
                for path in ('hh', 'hl', 'll', 'lh'):
                    conv = getattr(layer, path)
                    if conv is not None:
                        conv.bias.copy_(torch.rand(conv.bias.shape, generator=g) - 0.5)
        xh = uniform((n, layer.cin_h, h, w), 4000 + i)
        xl = uniform((n, layer.cin_l, h // 2, w // 2), 5000 + i) if layer.cin_l > 0 else None
        with torch.no_grad():
            yh, yl = layer.double()(xh.double(), None if xl is None else xl.double())
        pre = os.path.join(out, f'layer_{i}_')
        if layer.cin_h > 0:
            save(pre + 'xh.npy', xh)
        if xl is not None:
            save(pre + 'xl.npy', xl)
        for path in ('hh', 'hl', 'll', 'lh'):
            conv = getattr(layer, path)
            if conv is not None:
                save(pre + f'w_{path}.npy', conv.weight)
                if bias:
                    save(pre + f'b_{path}.npy', conv.bias)
        ho, wo = conv_out(h, k, s, p), conv_out(w, k, s, p)
        if layer.cout_h > 0:
            assert yh.shape == (n, layer.cout_h, ho, wo)
            save(pre + 'yh.npy', yh)
        else:
            assert yh.shape == (n, 0, ho, wo)
        if layer.cout_l > 0:
            assert yl.shape == (n, layer.cout_l, conv_out(h // 2, k, s, p), conv_out(w // 2, k, s, p))
            save(pre + 'yl.npy', yl)
        else:
            assert yl is None
        paths = [q for q in ('hh', 'hl', 'll', 'lh') if getattr(layer, q) is not None]
        print(f'layer_{i}: cin {cin} ({layer.cin_h}h/{layer.cin_l}l) cout {cout} '
              f'({layer.cout_h}h/{layer.cout_l}l) k{k} s{s} p{p} bias {bias} x {n}x{h}x{w} '
              f'paths {paths} yh {tuple(yh.shape)} yl {None if yl is None else tuple(yl.shape)}')
        lines.append(f'{i} {cin} {cout} {k} {s} {p} {ai} {ao} {bias} {n} {h} {w}')
    with open(os.path.join(out, 'layers.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(ROOT, 'tests', 'fixtures'))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    make_nets(args.out)
    make_layers(args.out)


if __name__ == '__main__':
    main()
