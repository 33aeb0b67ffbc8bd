#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (it has torch 1.13, torchvision and onnx);
# the `python3` first on PATH may be another interpreter that cannot import torch.
"""make_onnx.py — export a python/zoo.py network to ONNX with its input and PyTorch's logits.

    make_onnx.py --net NAME [--alpha A] [--size HxW] [--batch N] [--opset K] [--seed S]
                 [--classes K] [--width W] [--tag BASENAME] --out DIR
    make_onnx.py --list
    make_onnx.py --all DIR        the small default set the tests use (cached, see below)

Writes, for BASENAME (default NAME):
    DIR/BASENAME.onnx          torch.onnx.export of the float32 model in eval(): input "input"
                               (N, 3, H, W), output "logits", axis 0 dynamic ("batch")
    DIR/BASENAME_input.npy     float32 (N, 3, H, W), N(0, 1) clipped to [-2, 2]
    DIR/BASENAME_logits.npy    PyTorch's output computed in float64 (model.double()), as float32
    DIR/BASENAME_logits64.npy  the same in float64 (compare against this one)
    DIR/BASENAME.json          what was exported: net, alpha, size, batch, opset, seed, width,
                               classes, parameters, MACs per image, output shape, and
                               torch_fp32_rel_err: PyTorch float32 vs its own float64 logits

Weights: zoo.randomize (Kaiming-scaled convs, non-trivial BatchNorm statistics, a head on
the features' scale), seeded by --seed.  Rel. error everywhere: max|a - b| / max(1e-6, max|b|).

--all DIR writes the set in ALL_SET below plus DIR/manifest.json, after removing every
model file of an older set from DIR (the tests take every DIR/*.onnx).  It is cached: when the
manifest's stamp (a hash of this file, zoo.py, octnet.py, the torch and onnx versions)
matches and every file exists, nothing is regenerated.  Concurrent runs on one DIR
serialise on DIR/.lock (flock), so ctest -j can share the folder.
"""
import argparse
import copy
import fcntl
import hashlib
import inspect
import json
import os
import re
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402


def rel_err(a, b):
    """max|a - b| / max(1e-6, max|b|): the error relative to the output's own scale."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1e-6, float(np.max(np.abs(b)))))


# ----------------------------------------------------------------------------------------------
# The networks: NAME -> how to build it and which sizes and alphas it takes

def _nets():
    import zoo
    nets = {}

    def add(name, build, about, alpha=0.5, alphas=(0.0, 1.0), classes=None, width=None, valid=None):
        nets[name] = dict(build=build, about=about, alpha=alpha, alphas=alphas, classes=classes, width=width,
                          valid=valid or (lambda h, w, a: h >= 1 and w >= 1))

    add('octnetmini', lambda a, k, w: zoo.OctNetMini(in_channels=3, num_classes=k, alpha=a),
        "seed OctNetMini (octnet.py): stem, split, 2 OctaveConvBlocks, merge, GAP, Linear; any size, alpha 0..1",
        classes=10)
    add('seed_block', lambda a, k, w: zoo.SeedBlockNet(in_channels=3, alpha=a),
        'seed OctaveConvBlocks (3x3/2, 5x5 alpha->alpha/2, 1x1), merged feature map out; any size, alpha 0..1')
    add('seed_splitmerge', lambda a, k, w: zoo.SeedSplitMergeNet(in_channels=3, alpha=a),
        'seed SplitMergeHL: conv, split, per-band ops, merge, 1x1 conv, feature map out; any size, alpha 0..1')
    add('fanout', lambda a, k, w: zoo.FanOutNet(in_channels=3),
        'values read by several nodes (zoo.FanOutNet): no fusion past an earlier reader, shared pools; '
        'feature map out; any size, alpha 0 only', alpha=0.0, alphas=(0.0, 0.0))
    for depth in (26, 50, 101, 152, 200):
        ctor = getattr(zoo, f'oct_resnet{depth}')
        add(f'oct_resnet{depth}', lambda a, k, w, ctor=ctor: ctor(alpha=a, num_classes=k, width=w),
            f"d-li14 Oct-ResNet-{depth} (Bottleneck); --width = stem channels (64); alpha in [0, 1); "
            "alpha > 0: ceil(H/4), ceil(W/4) multiples of 8 (224, 64, 63, 61, 32 ...)",
            alphas=(0.0, 0.999), classes=1000, width=64, valid=lambda h, w, a: zoo.OctResNet.valid_size(h, w, a))
    add('oct_mobilenet', lambda a, k, w: zoo.oct_mobilenet(alpha=a, num_classes=k, width_mult=w / 32),
        "d-li14 Oct-MobileNet v1, depthwise OctConv; --width = stem channels (32); alpha in [0, 1); "
        "alpha > 0: ceil(H/2) % 16 in {0, 1}, >= 16 (224, 64, 63, 65, 33 ...)",
        alphas=(0.0, 0.999), classes=1000, width=32, valid=lambda h, w, a: zoo.OctMobileNet.valid_size(h, w, a))
    for depth in (18, 34, 50, 101, 152):
        add(f'tv_resnet{depth}', lambda a, k, w, d=depth: zoo.tv_resnet(d, num_classes=k, width=w),
            f'torchvision resnet{depth} (weights=None); --width = stem channels (64: torchvision\'s own class); '
            'alpha 0 only; any size', alpha=0.0, alphas=(0.0, 0.0), classes=1000, width=64)
    return nets


# The --all set: (basename, net, alpha, (H, W), batch, opset, width, classes).  Small widths
# keep each file under ~2 MB; opsets 11, 13 and 17 all appear; odd sizes wherever the
# network allows them (OctResNet at alpha 0.5 cannot take 65x57, so 63x61).
ALL_SET = [
    ('octnetmini_a0_33x29', 'octnetmini', 0.0, (33, 29), 2, 17, None, 10),
    ('octnetmini_a05_33x29', 'octnetmini', 0.5, (33, 29), 2, 11, None, 10),
    ('octnetmini_a1_33x29', 'octnetmini', 1.0, (33, 29), 2, 13, None, 10),
    ('octnetmini_a025_32x32', 'octnetmini', 0.25, (32, 32), 3, 17, None, 10),
    ('seed_block_a05_33x29', 'seed_block', 0.5, (33, 29), 2, 17, None, None),
    ('seed_block_a1_20x17', 'seed_block', 1.0, (20, 17), 1, 11, None, None),
    ('seed_splitmerge_a05_33x29', 'seed_splitmerge', 0.5, (33, 29), 2, 11, None, None),
    ('fanout_33x29', 'fanout', 0.0, (33, 29), 2, 13, None, None),
    ('oct_resnet26_w16_a05_64x64', 'oct_resnet26', 0.5, (64, 64), 2, 11, 16, 100),
    ('oct_resnet26_w16_a05_63x61', 'oct_resnet26', 0.5, (63, 61), 1, 17, 16, 100),
    ('oct_resnet50_w8_a05_64x64', 'oct_resnet50', 0.5, (64, 64), 2, 17, 8, 100),
    ('oct_resnet50_w8_a0_65x57', 'oct_resnet50', 0.0, (65, 57), 2, 13, 8, 100),
    ('oct_resnet101_w8_a05_64x64', 'oct_resnet101', 0.5, (64, 64), 1, 13, 8, 100),
    ('oct_resnet152_w8_a05_61x63', 'oct_resnet152', 0.5, (61, 63), 1, 11, 8, 100),
    ('oct_resnet152_w8_a0_57x65', 'oct_resnet152', 0.0, (57, 65), 1, 17, 8, 100),
    ('oct_mobilenet_w8_a05_64x64', 'oct_mobilenet', 0.5, (64, 64), 2, 11, 8, 100),
    ('oct_mobilenet_w8_a0_64x64', 'oct_mobilenet', 0.0, (64, 64), 2, 17, 8, 100),
    ('oct_mobilenet_w8_a05_65x63', 'oct_mobilenet', 0.5, (65, 63), 1, 13, 8, 100),
    ('tv_resnet18_w16_64x64', 'tv_resnet18', 0.0, (64, 64), 2, 17, 16, 100),
    ('tv_resnet18_w16_65x57', 'tv_resnet18', 0.0, (65, 57), 1, 11, 16, 100),
    ('tv_resnet50_w8_64x64', 'tv_resnet50', 0.0, (64, 64), 2, 13, 8, 100),
]


# ----------------------------------------------------------------------------------------------
# Building and exporting one network

def build(net, alpha, classes, width, seed, x):
    """The randomised float32 model in eval(), its convs calibrated on x (float32 numpy
    (N, 3, H, W)) to unit-rms outputs; deterministic for the arguments."""
    import torch
    import zoo
    spec = _nets()[net]
    torch.manual_seed(seed)
    model = zoo.randomize(spec['build'](alpha, classes, width), seed)
    zoo.calibrate(model, torch.from_numpy(x).double().float())
    return zoo.make_traceable(model)


def make_input(batch, h, w, seed):
    """float32 (batch, 3, h, w): N(0, 1) clipped to [-2, 2], from numpy's PCG64(seed)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.standard_normal((batch, 3, h, w)), -2, 2).astype(np.float32)


def export(net, alpha, size, batch, opset, seed, out, classes=None, width=None, tag=None, quiet=False):
    """Write BASENAME.onnx / _input.npy / _logits.npy / _logits64.npy / .json in out; returns the metadata."""
    import torch
    import onnx
    import zoo
    nets = _nets()
    if net not in nets:
        raise ValueError(f'unknown net "{net}" (make_onnx.py --list names them)')
    spec = nets[net]
    alpha = spec['alpha'] if alpha is None else float(alpha)
    lo, hi = spec['alphas']
    if not lo <= alpha <= hi:
        raise ValueError(f'{net}: alpha {alpha} outside [{lo}, {hi}]')
    classes = spec['classes'] if classes is None else classes
    width = spec['width'] if width is None else width
    h, w = size
    if not spec['valid'](h, w, alpha):
        raise ValueError(f'{net}: input size {h}x{w} does not run at alpha {alpha}: {spec["about"]}')
    tag = tag or net
    os.makedirs(out, exist_ok=True)
    t0 = time.perf_counter()

    x = make_input(batch, h, w, seed + 1)
    model = build(net, alpha, classes, width, seed, make_input(max(batch, 2), h, w, seed + 2))
    xt = torch.from_numpy(x)
    with torch.no_grad():
        y32 = model(xt).numpy()
        m64 = copy.deepcopy(model).double()
        y64 = m64(xt.double()).numpy()
        # how much the output depends on the input: another input's output, rel. to this one
        y64_other = m64(torch.from_numpy(make_input(batch, h, w, seed + 3)).double()).numpy()
    if not np.all(np.isfinite(y64)):
        raise RuntimeError(f'{tag}: non-finite logits')
    macs = zoo.count_macs(model, xt[:1])
    params = sum(p.numel() for p in model.parameters())

    path = os.path.join(out, tag + '.onnx')
    tmp = path + '.tmp'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        kw = dict(opset_version=opset, input_names=['input'], output_names=['logits'],
                  dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, do_constant_folding=True)
        # PyTorch >= 2.9 exports through dynamo unless told otherwise; the graphs octcl's
        # tests and tables describe are the TorchScript exporter's (PyTorch 1.13 here).
        if 'dynamo' in inspect.signature(torch.onnx.export).parameters:
            kw['dynamo'] = False
        try:
            torch.onnx.export(model, xt, tmp, **kw)
        except Exception as e:  # a PyTorch whose TorchScript exporter is gone: dynamo's graph
            if not kw.pop('dynamo', True):
                print(f'{tag}: the TorchScript exporter failed ({e}); exporting with dynamo', file=sys.stderr)
                torch.onnx.export(model, xt, tmp, **kw)
            else:
                raise
    onnx.checker.check_model(onnx.load(tmp))
    os.replace(tmp, path)
    np.save(os.path.join(out, tag + '_input.npy'), x)
    np.save(os.path.join(out, tag + '_logits.npy'), y64.astype(np.float32))
    np.save(os.path.join(out, tag + '_logits64.npy'), y64)
    meta = dict(name=tag, net=net, alpha=alpha, size=[h, w], batch=batch, opset=opset, seed=seed, width=width,
                classes=classes, parameters=params, macs_per_image=macs, output_shape=list(y64.shape),
                onnx_bytes=os.path.getsize(path), torch_fp32_rel_err=rel_err(y32, y64),
                logits_abs_max=float(np.max(np.abs(y64))), input_sensitivity=rel_err(y64_other, y64), torch=torch.__version__, onnx=onnx.__version__)
    with open(os.path.join(out, tag + '.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    if not quiet:
        print(f'{tag}: {net} alpha {alpha} {h}x{w} batch {batch} opset {opset}: {params} params, '
              f'{macs / 1e6:.1f} MMACs/image, {meta["onnx_bytes"] / 1e6:.2f} MB, out {tuple(y64.shape)}, '
              f'|y|max {meta["logits_abs_max"]:.3g}, other input {meta["input_sensitivity"]:.2f}, torch fp32 rel err {meta["torch_fp32_rel_err"]:.2e} '
              f'({time.perf_counter() - t0:.1f} s)', flush=True)
    return meta


def stamp():
    """A hash of what the --all set depends on."""
    import torch
    import onnx
    hsh = hashlib.sha256()
    for fn in ('make_onnx.py', 'zoo.py', 'octnet.py'):
        with open(os.path.join(HERE, fn), 'rb') as f:
            hsh.update(f.read())
    hsh.update(f'{torch.__version__} {onnx.__version__} {ALL_SET!r}'.encode())
    return hsh.hexdigest()


def make_all(out, seed=1234):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        st = stamp()
        man_path = os.path.join(out, 'manifest.json')
        try:
            with open(man_path) as f:
                man = json.load(f)
            if man.get('stamp') == st and all(
                    os.path.exists(os.path.join(out, e['name'] + sfx))
                    for e in man['models'] for sfx in ('.onnx', '_input.npy', '_logits.npy', '_logits64.npy')):
                print(f'make_onnx.py: {out}: {len(man["models"])} models up to date')
                return 0
        except (OSError, ValueError, KeyError):
            pass
        t0 = time.perf_counter()
        import glob
        import torch
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        # the folder holds this set only: files of an older set would be tested too
        for pat in ('*.onnx', '*.onnx.tmp', '*_input.npy', '*_logits.npy', '*_logits64.npy', '*.json'):
            for f in glob.glob(os.path.join(out, pat)):
                os.remove(f)
        models = []
        for i, (tag, net, alpha, size, batch, opset, width, classes) in enumerate(ALL_SET):
            models.append(export(net, alpha, size, batch, opset, seed + 101 * i, out, classes, width, tag))
        tmp = man_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(dict(stamp=st, models=models), f, indent=1)
        os.replace(tmp, man_path)
        print(f'make_onnx.py: {out}: {len(models)} models in {time.perf_counter() - t0:.1f} s')
    return 0


def parse_size(s):
    m = re.fullmatch(r'([0-9]+)[xX]([0-9]+)', s)
    if not m or not (1 <= int(m.group(1)) <= 4096 and 1 <= int(m.group(2)) <= 4096):
        raise argparse.ArgumentTypeError(f'"{s}": expected HxW, both in 1..4096')
    return int(m.group(1)), int(m.group(2))


def main(argv):
    ap = argparse.ArgumentParser(description='Export a zoo.py network to ONNX with its input and PyTorch logits.')
    ap.add_argument('--net', help='network name (--list)')
    ap.add_argument('--alpha', type=float, help="low-band fraction (default: the net's, 0.5 or 0)")
    ap.add_argument('--size', type=parse_size, default=(224, 224), help='input HxW (default 224x224)')
    ap.add_argument('--batch', type=int, default=1, help='batch of the input and logits files (default 1)')
    ap.add_argument('--opset', type=int, default=17, choices=range(11, 18), metavar='11..17',
                    help='ONNX opset (default 17)')
    ap.add_argument('--seed', type=int, default=1234, help='seed of weights and input (default 1234)')
    ap.add_argument('--classes', type=int, help="output classes (default: the net's)")
    ap.add_argument('--width', type=int, help="stem channels, to shrink a net (default: the net's)")
    ap.add_argument('--tag', help='basename of the files (default NAME)')
    ap.add_argument('--out', help='output folder')
    ap.add_argument('--list', action='store_true', help='list the networks')
    ap.add_argument('--all', metavar='DIR', help='write the default test set to DIR (cached)')
    a = ap.parse_args(argv)
    if a.list:
        for name, spec in _nets().items():
            print(f'{name:16s} {spec["about"]}')
        return 0
    if a.all:
        return make_all(a.all, a.seed)
    if not a.net or not a.out:
        ap.error('--net and --out are required (or --list / --all DIR)')
    if a.batch < 1:
        ap.error('--batch must be >= 1')
    import torch
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    try:
        export(a.net, a.alpha, a.size, a.batch, a.opset, a.seed, a.out, a.classes, a.width, a.tag)
    except ValueError as e:
        print(f'make_onnx.py: {e}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
