#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (torch 1.13, onnx).
"""random_dags.py — random small networks whose values are read by several nodes,
exported with torch.onnx.export and run by octcl: every output must match PyTorch's
float64 one within the parity tolerance (compare_npy.py, rel. error <= 1e-4).

    random_dags.py --octcl BIN --out DIR [--count N] [--seed S] [--devices ref,cpu]

Each network is a seeded random sequence of ops on a growing list of values: conv 1x1
or 3x3 (3x3 also with stride 2), BatchNorm, ReLU, Add of two values of one shape, 2x2
average or max pool, nearest 2x upsample, channel Concat, channel Slice, depthwise 3x3,
x * 0.5 + 0.25, a zero Pad then a 3x3 stride-2 average pool, ResNet's 3x3 stride-2 max
pool, a grouped and a dilated 3x3 conv, per-channel x * s + t, the second part of a
channel Split, a 3x3 stride-2 average pool in ceil mode without the pads in its count,
an asymmetric F.pad before an unpadded 3x3 conv; every other network ends in
GlobalAveragePool, Flatten and a Linear layer. Every op reads values picked from the whole list (recent
ones more often), so a value often has several readers, in any order: what the
importer's fusions (BatchNorm or ReLU folded into a producer, an Add turned into a conv's
residual or a pair, a resize into an epilogue), its sharing of identical pools and the
memory planner's reuse of buffers must get right. Values no op read are brought to the
last value's shape (2x2 pools, then a nearest resize to its size; a 1x1 conv) and added
to it, so all of them reach
the output. Weights: zoo.randomize, then zoo.calibrate to unit-scale activations.

One line per (network, device); exit 1 when any fails or octcl fails to run, 0 when all
pass. Each network's ops are printed with a failure (and kept in DIR) to reproduce it.
"""
import argparse
import copy
import os
import random
import subprocess
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def make_spec(rng, n_ops, c0, h0, w0):
    """A list of (op, args...) over values 0.. (value 0 is the input (c0, h0, w0)); the
    shape of every value alongside."""
    shapes = [(c0, h0, w0)]
    spec = []

    def pick(cond=lambda s: True):
        ok = [i for i, s in enumerate(shapes) if cond(s)]
        if not ok:
            return None
        # recent values more often, but any may be read again
        weights = [1.0 + 2.0 * (i / max(1, len(shapes) - 1)) for i in ok]
        return rng.choices(ok, weights)[0]

    while len(spec) < n_ops:
        op = rng.choice(['conv', 'conv', 'conv', 'bn', 'relu', 'relu', 'add', 'add', 'avgpool', 'maxpool', 'up',
                         'cat', 'slice', 'conv2', 'dw', 'affine', 'padpool', 'mp3', 'grp', 'dil', 'perch',
                         'split', 'avgceil', 'asympad'])
        i = pick()
        c, h, w = shapes[i]
        if op == 'conv':
            k = rng.choice([1, 3])
            co = rng.choice([4, 6, 8])
            spec.append(('conv', i, k, co))
            shapes.append((co, h, w))
        elif op == 'conv2':  # 3x3, stride 2, pad 1
            if h < 4 or w < 4:
                continue
            co = rng.choice([4, 8])
            spec.append(('conv2', i, 3, co))
            shapes.append((co, (h + 1) // 2, (w + 1) // 2))
        elif op in ('grp', 'dil', 'perch'):  # groups 2 (3x3), dilation 2 (3x3, pad 2), x * s_c + t_c
            if op == 'grp' and c % 2:
                continue
            spec.append((op, i))
            shapes.append((c, h, w))
        elif op == 'split':  # the second part of torch.split(x, [n, c - n], 1)
            if c < 2:
                continue
            n = rng.randrange(1, c)
            spec.append(('split', i, n))
            shapes.append((c - n, h, w))
        elif op == 'avgceil':  # 3x3/2 average pool, pads 1, ceil_mode, count_include_pad False
            if h < 3 or w < 3:
                continue
            spec.append((op, i))
            ho, wo = -(-(h + 2 - 3) // 2) + 1, -(-(w + 2 - 3) // 2) + 1
            ho -= (ho - 1) * 2 >= h + 1  # ceil mode: a last window starting in the padding is dropped
            wo -= (wo - 1) * 2 >= w + 1
            shapes.append((c, ho, wo))
        elif op == 'asympad':  # F.pad (left 0, right 1, top 2, bottom 0), then a 3x3 conv without pads
            if w < 3:
                continue
            spec.append((op, i))
            shapes.append((c, h, w - 1))
        elif op in ('dw', 'affine'):  # depthwise 3x3 pad 1; x * 0.5 + 0.25
            spec.append((op, i))
            shapes.append((c, h, w))
        elif op in ('padpool', 'mp3'):  # zero Pad 1 then 3x3/2 average pool; 3x3/2 max pool, pads 1
            if h < 3 or w < 3:
                continue
            spec.append((op, i))
            shapes.append((c, (h - 1) // 2 + 1, (w - 1) // 2 + 1))
        elif op == 'slice':  # channels [c0, c0 + n)
            if c < 2:
                continue
            n = rng.randrange(1, c)
            c0 = rng.randrange(0, c - n + 1)
            spec.append(('slice', i, c0, n))
            shapes.append((n, h, w))
        elif op in ('bn', 'relu'):
            spec.append((op, i))
            shapes.append((c, h, w))
        elif op == 'add':
            j = pick(lambda s: s == (c, h, w))
            spec.append(('add', i, j))
            shapes.append((c, h, w))
        elif op in ('avgpool', 'maxpool'):
            if h < 4 or w < 4 or h % 2 or w % 2:
                continue
            spec.append((op, i))
            shapes.append((c, h // 2, w // 2))
        elif op == 'up':
            if h > 16 or w > 16:
                continue
            spec.append(('up', i))
            shapes.append((c, 2 * h, 2 * w))
        elif op == 'cat':
            j = pick(lambda s: s[1:] == (h, w))
            if c + shapes[j][0] > 24:
                continue
            spec.append(('cat', i, j))
            shapes.append((c + shapes[j][0], h, w))
    return spec, shapes


def operands(s):
    """The values op s reads."""
    return [s[1], s[2]] if s[0] in ('add', 'cat') else [s[1]]


def build(spec, shapes, head):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    read = set()
    for s in spec:
        read.update(operands(s))
    last = len(shapes) - 1
    unread = [v for v in range(1, last) if v not in read]

    class Dag(nn.Module):
        def __init__(self):
            super().__init__()
            self.mods = nn.ModuleList()
            for s in spec:
                if s[0] in ('conv', 'conv2'):
                    self.mods.append(nn.Conv2d(shapes[s[1]][0], s[3], s[2], padding=s[2] // 2,
                                               stride=2 if s[0] == 'conv2' else 1))
                elif s[0] == 'bn':
                    self.mods.append(nn.BatchNorm2d(shapes[s[1]][0]))
                elif s[0] == 'dw':
                    c = shapes[s[1]][0]
                    self.mods.append(nn.Conv2d(c, c, 3, padding=1, groups=c))
                elif s[0] == 'grp':
                    c = shapes[s[1]][0]
                    self.mods.append(nn.Conv2d(c, c, 3, padding=1, groups=2))
                elif s[0] == 'dil':
                    c = shapes[s[1]][0]
                    self.mods.append(nn.Conv2d(c, c, 3, padding=2, dilation=2))
                elif s[0] == 'asympad':
                    c = shapes[s[1]][0]
                    self.mods.append(nn.Conv2d(c, c, 3, padding=0))
                elif s[0] == 'perch':
                    c = shapes[s[1]][0]
                    m = nn.Module()
                    m.register_buffer('s', torch.linspace(-1.5, 2.0, c).reshape(1, c, 1, 1))
                    m.register_buffer('t', torch.linspace(0.3, -0.4, c).reshape(1, c, 1, 1))
                    self.mods.append(m)
                else:
                    self.mods.append(nn.Identity())
            # the unread values, each brought to the last one's shape and added to it
            self.tails = nn.ModuleList(nn.Conv2d(shapes[v][0], shapes[last][0], 1) for v in unread)
            self.head = nn.Linear(shapes[last][0], 5) if head else None

        def forward(self, x):
            vals = [x]
            for s, m in zip(spec, self.mods):
                a = vals[s[1]]
                if s[0] in ('conv', 'conv2', 'bn', 'dw', 'grp', 'dil'):
                    y = m(a)
                elif s[0] == 'asympad':
                    y = m(F.pad(a, (0, 1, 2, 0)))
                elif s[0] == 'perch':
                    y = a * m.s + m.t
                elif s[0] == 'split':
                    y = torch.split(a, [s[2], a.shape[1] - s[2]], 1)[1]
                elif s[0] == 'avgceil':
                    y = F.avg_pool2d(a, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
                elif s[0] == 'affine':
                    y = a * 0.5 + 0.25
                elif s[0] == 'padpool':
                    y = F.avg_pool2d(F.pad(a, (1, 1, 1, 1)), 3, stride=2)
                elif s[0] == 'mp3':
                    y = F.max_pool2d(a, 3, stride=2, padding=1)
                elif s[0] == 'slice':
                    y = a[:, s[2]:s[2] + s[3]]
                elif s[0] == 'relu':
                    y = torch.relu(a)
                elif s[0] == 'add':
                    y = a + vals[s[2]]
                elif s[0] == 'avgpool':
                    y = F.avg_pool2d(a, 2)
                elif s[0] == 'maxpool':
                    y = F.max_pool2d(a, 2)
                elif s[0] == 'up':
                    y = F.interpolate(a, scale_factor=2.0, mode='nearest')
                else:
                    y = torch.cat([a, vals[s[2]]], 1)
                vals.append(y)
            out = vals[last]
            for v, conv in zip(unread, self.tails):
                t = vals[v]
                while t.shape[2] >= 2 * out.shape[2] and t.shape[3] >= 2 * out.shape[3]:
                    t = F.avg_pool2d(t, 2)
                if t.shape[2:] != out.shape[2:]:  # a nearest resize to the size
                    t = F.interpolate(t, size=(int(out.shape[2]), int(out.shape[3])), mode='nearest')
                out = out + conv(t)
            if self.head is not None:
                out = self.head(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))
            return out

    return Dag()


def describe(spec):
    """The ops as text: v3 = conv(v1, k 3, 8); v4 = add(v3, v2) ..."""
    def one(k, s):
        args = [f'v{v}' for v in operands(s)] + ([f'k {s[2]}', str(s[3])] if s[0] in ('conv', 'conv2') else
                                                 [f'from {s[2]}', str(s[3])] if s[0] == 'slice' else
                                                 [f'at {s[2]}'] if s[0] == 'split' else [])
        return f'v{k + 1} = {s[0]}({", ".join(args)})'
    return '; '.join(one(k, s) for k, s in enumerate(spec))


def make_net(seed, ops):
    """Network `seed` of `ops` ops with zoo.randomize's weights, in eval(): (model, spec,
    h, w), the input 3 x h x w."""
    import torch
    import zoo
    rng = random.Random(seed)
    h, w = rng.choice([(16, 12), (8, 8), (16, 16), (12, 8)])
    spec, shapes = make_spec(rng, ops, 3, h, w)
    torch.manual_seed(seed)
    return zoo.randomize(build(spec, shapes, seed % 2 == 0), seed), spec, h, w


def export(model, x, path):
    """torch.onnx.export of model on x (float32 numpy) to path, opset 13, checked."""
    import torch
    import onnx
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(model, torch.from_numpy(x), path, opset_version=13, input_names=['input'],
                          output_names=['y'], do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def main(argv):
    ap = argparse.ArgumentParser(description='Random multi-reader networks: octcl against PyTorch float64.')
    ap.add_argument('--octcl', required=True, help='the octcl binary')
    ap.add_argument('--out', required=True, help='scratch folder')
    ap.add_argument('--count', type=int, default=40, help='networks (default 40)')
    ap.add_argument('--seed', type=int, default=1, help='seed of the first network (default 1)')
    ap.add_argument('--ops', type=int, default=14, help='ops a network (default 14)')
    ap.add_argument('--devices', default='ref,cpu', help='octcl devices, comma-separated (default ref,cpu)')
    a = ap.parse_args(argv)
    import torch
    import zoo
    from compare_npy import compare
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    fails = runs = 0
    for seed in range(a.seed, a.seed + a.count):
        model, spec, h, w = make_net(seed, a.ops)
        nprng = np.random.default_rng(seed)
        x = np.clip(nprng.standard_normal((2, 3, h, w)), -2, 2).astype(np.float32)
        zoo.calibrate(model, torch.from_numpy(np.clip(nprng.standard_normal((2, 3, h, w)), -2, 2).astype(np.float32)))
        with torch.no_grad():
            y64 = copy.deepcopy(model).double()(torch.from_numpy(x).double()).numpy()
        tag = f'dag{seed}'
        path = os.path.join(a.out, tag + '.onnx')
        export(model, x, path)
        xin = os.path.join(a.out, tag + '_input.npy')
        np.save(xin, x)
        bad = False
        for dev in a.devices.split(','):
            out = os.path.join(a.out, f'{tag}_{dev.replace(":", "_")}.npy')
            if os.path.exists(out):
                os.remove(out)
            r = subprocess.run([a.octcl, 'run', '--model', path, '--input', xin, '--output', out, '--device', dev],
                               capture_output=True, text=True)
            runs += 1
            if r.returncode != 0:
                last = (r.stderr.strip().splitlines() or ['(no message)'])[-1]
                print(f'{tag} {dev}: octcl run failed (exit {r.returncode}): {last} FAIL')
                bad = True
                continue
            if not compare(np.load(out), y64, label=f'{tag} {dev}'):
                bad = True
        if bad:
            fails += 1
            print(f'{tag}: input {h}x{w}; {describe(spec)}')
    print(f'random_dags: {a.count} networks, {runs} runs, {fails} networks failed')
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
