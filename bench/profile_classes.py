#!/usr/bin/python3
"""profile_classes.py — where a network's time goes, by class of layer, and what realised
would be if one alpha's layers ran at another's rates.

    bench/profile_classes.py --octcl build/octcl --model A0.onnx --model A05.onnx \\
        [--batch 1,8] [--runs 3] [--repeat 40] [--repeat-big 6] [--threads 2] [--json FILE]

`octcl profile --json -` runs once for every model and batch, and that round repeats
--runs times, so that the machine's slow minutes fall on every model alike (OCTCL_THREADS
= --threads; --repeat passes a run at batch 1, --repeat-big above it). Every layer keeps
its minimum over the runs. Each layer is put in a class by its source ONNX node (read
with Debian's python3-onnx): a convolution by its kernel and stride ("1x1", "3x3",
"7x7/2"), a Gemm or MatMul as "linear", and the layers without multiply-adds (pools,
slices, ...) as "no MACs". The table gives each class's summed minima and GFLOP/s (2 x the
model's MACs / time: Winograd's 3x3 layers read above the FMA peak).

With two or more models, the first is the baseline (alpha 0): for every other model and
batch it prints realised = (t0 / t) / (MACs0 / MACs) from the sums, then the realised it
would have if each of its classes ran at the baseline's GFLOP/s for that class and its
"no MACs" layers took the baseline's time, and each class's share of the time that
would save (a class already faster than the baseline's rate is listed apart). A class
the baseline lacks keeps its own rate.
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_bench import write_json  # noqa: E402  (the harness beside this script)

try:
    import onnx
except ImportError:  # Debian's python3-onnx belongs to /usr/bin/python3
    sys.exit('profile_classes.py: needs python3-onnx (run it with /usr/bin/python3)')


def node_classes(path):
    """{ONNX node name: class} for the convolutions and linear layers of the model."""
    g = onnx.load(path, load_external_data=False).graph
    dims = {t.name: list(t.dims) for t in g.initializer}
    out = {}
    for n in g.node:
        if n.op_type == 'Conv':
            a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
            k = a.get('kernel_shape') or dims.get(n.input[1], [0, 0, 0, 0])[2:]
            s = a.get('strides') or [1, 1]
            c = '%dx%d' % (k[0], k[1]) if len(k) == 2 else 'conv'
            out[n.name] = c + ('/%d' % s[0] if max(s) > 1 else '')
        elif n.op_type in ('Gemm', 'MatMul'):
            out[n.name] = 'linear'
    return out


def profile_once(octcl, model, batch, repeat, threads):
    """The layers of one `octcl profile --json -` run."""
    env = dict(os.environ, OCTCL_THREADS=str(threads))
    r = subprocess.run([octcl, 'profile', '--model', model, '--device', 'cpu', '--batch', str(batch),
                        '--repeat', str(repeat), '--json', '-'], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit('profile_classes.py: octcl profile failed on %s: %s' % (model, r.stderr.strip()))
    return json.loads(r.stdout)['layers']


def classes(layers, names):
    """{class: [MACs, ms]}, in order of first appearance."""
    g = {}
    for l in layers:
        c = 'no MACs' if l['macs'] == 0 else names.get(l['name'], l['kind'].split(' ')[0])
        e = g.setdefault(c, [0, 0.0])
        e[0] += l['macs']
        e[1] += l['ms']
    return g


def gflops(macs, ms):
    return 2.0 * macs / ms / 1e6 if ms > 0 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--octcl', default='build/octcl')
    ap.add_argument('--model', action='append', required=True, help='an ONNX file; the first is the baseline')
    ap.add_argument('--batch', default='1,8')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--repeat', type=int, default=40, help='passes a run at batch 1')
    ap.add_argument('--repeat-big', type=int, default=6, help='passes a run above batch 1')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--json', help='write the classes of every model and batch here')
    a = ap.parse_args()
    batches = [int(b) for b in a.batch.split(',')]
    names = {m: node_classes(m) for m in a.model}
    best = {}
    for _ in range(a.runs):  # round after round over every model and batch: a slow spell hits them alike
        for m in a.model:
            for b in batches:
                layers = profile_once(a.octcl, m, b, a.repeat if b == 1 else a.repeat_big, a.threads)
                if (m, b) not in best:
                    best[(m, b)] = layers
                else:
                    for k, l in zip(best[(m, b)], layers):
                        k['ms'] = min(k['ms'], l['ms'])
    rows = {(m, b): classes(best[(m, b)], names[m]) for m in a.model for b in batches}
    order = []
    for g in rows.values():
        order += [c for c in g if c not in order]
    print('| model | batch | ' + ' | '.join(order) + ' | sum |')
    print('|---|---|' + '---|' * (len(order) + 1))
    for (m, b), g in rows.items():
        cells = []
        for c in order:
            if c not in g:
                cells.append('')
            elif g[c][0]:
                cells.append('%.2f ms, %.0f GFLOP/s' % (g[c][1], gflops(*g[c])))
            else:
                cells.append('%.2f ms' % g[c][1])
        print('| %s | %d | %s | %.2f ms |' % (os.path.basename(m), b, ' | '.join(cells), sum(v[1] for v in g.values())))
    base = a.model[0]
    for m in a.model[1:]:
        for b in batches:
            g0, g = rows[(base, b)], rows[(m, b)]
            t0, t = sum(v[1] for v in g0.values()), sum(v[1] for v in g.values())
            m0, mm = sum(v[0] for v in g0.values()), sum(v[0] for v in g.values())
            gap = {}
            for c, (macs, ms) in g.items():
                if c == 'no MACs':
                    at = g0[c][1] if c in g0 else ms
                elif c in g0 and g0[c][0]:
                    at = 2.0 * macs / gflops(*g0[c]) / 1e6
                else:
                    at = ms
                gap[c] = ms - at
            ideal = t - sum(gap.values())
            real, real_ideal = (t0 / t) / (m0 / mm), (t0 / ideal) / (m0 / mm)
            pos = sum(d for d in gap.values() if d > 0)
            shares = ', '.join('%s %.0f%%' % (c, 100 * d / pos) for c, d in gap.items() if d > 0)
            faster = ['%s %.2f ms' % (c, -d) for c, d in gap.items() if d < 0]
            if faster:
                shares += '; faster than the baseline\'s rate: ' + ', '.join(faster)
            print('%s against %s, batch %d: realised %.2f; at the baseline\'s class rates %.2f (the gap: %s)'
                  % (os.path.basename(m), os.path.basename(base), b, real, real_ideal, shares))
    if a.json:
        write_json(a.json, [{'model': m, 'batch': b, 'classes': {c: {'macs': v[0], 'ms': v[1]} for c, v in g.items()}}
                            for (m, b), g in rows.items()])


if __name__ == '__main__':
    main()
