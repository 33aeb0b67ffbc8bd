#!/usr/bin/env python3
# Run with the interpreter of the harness's onnxruntime environment (bench/onnx_bench.py
# makes it): build/onnx-bench/ort-venv/bin/python bench/ort_classes.py ...
"""ort_classes.py — where onnxruntime's time goes on a model, by class of node, beside octcl's.

    ort-venv/bin/python bench/ort_classes.py MODEL.onnx [--batch 1] [--threads 2]
                        [--repeat 30] [--warmup 3] [--octcl PROFILE.json] [--json FILE]

onnxruntime (CPU provider, all graph optimisations, intra_op_num_threads = --threads,
inter_op_num_threads = 1: bench/onnx_bench.py's settings) runs --warmup and then --repeat
passes of one seeded batch in [-1, 1] with its profiler on. Each node keeps its minimum
over the timed passes; the nodes are summed by class: a convolution by its kernel and its
output width ("conv1x1 @14"; the NCHWc layout's fused convolutions included), every other
node by its op type. With --octcl, the JSON of `octcl profile --json` on the same model
and batch is summed the same way (its "Conv KxK" layers by kernel and output width, its
other layers by kind) and printed beside, with the ratio: the classes where one engine
spends its time and the other does not (a ratio only where both count the same nodes:
an OctConv model's layers are octcl's OctConv ops, onnxruntime's convolutions, adds,
resizes and reshapes). The minima of one pass each are not a pass's
time (onnxruntime's nodes do not wait for each other's threads as octcl's layers do).
"""
import argparse
import collections
import json
import os
import re
import sys
import tempfile


def ort_classes(model, batch, threads, repeat, warmup):
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(tempfile.mkdtemp(prefix='ort_classes_'), 'profile')
    sess = ort.InferenceSession(model, so, providers=['CPUExecutionProvider'])
    inp = sess.get_inputs()[0]
    x = np.random.default_rng(1).uniform(-1, 1, [batch] + list(inp.shape[1:])).astype(np.float32)
    for _ in range(warmup + repeat):
        sess.run(None, {inp.name: x})
    path = sess.end_profiling()
    with open(path) as f:
        events = json.load(f)
    os.remove(path)
    times, args = collections.defaultdict(list), {}
    for e in events:
        if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time'):
            times[e['name']].append(e['dur'] / 1000.0)
            args[e['name']] = e['args']
    sums, counts = collections.defaultdict(float), collections.Counter()
    for name, t in times.items():
        a = args[name]
        op = a.get('op_name', '?')
        cls = op
        if op in ('Conv', 'FusedConv'):
            shapes = [list(d.values())[0] for d in a.get('input_type_shape', [])]
            out = [list(d.values())[0] for d in a.get('output_type_shape', [])]
            w = shapes[1] if len(shapes) > 1 else []
            kh, kw = (w[2], w[3]) if len(w) == 6 else (w[-2], w[-1]) if len(w) >= 2 else (0, 0)
            cls = 'conv%dx%d @%s' % (kh, kw, out[0][-1] if out else '?')
        sums[cls] += min(t[-repeat:])
        counts[cls] += 1
    return sums, counts


def octcl_classes(path):
    with open(path) as f:
        d = json.load(f)
    sums, counts = collections.defaultdict(float), collections.Counter()
    for layer in d['layers']:
        m = re.match(r'Conv (\d+)x(\d+)', layer['kind'])
        width = layer['output'].strip('()').split(', ')[-1]
        cls = 'conv%sx%s @%s' % (m.group(1), m.group(2), width) if m else re.sub(r' \d+ (hh|hl|lh|ll)$', r' \1',
                                                                                    layer['kind'])
        sums[cls] += layer['ms']
        counts[cls] += 1
    return sums, counts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('model')
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeat', type=int, default=30)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--octcl', help='`octcl profile --json` of the same model and batch')
    ap.add_argument('--json', help='write the classes as JSON')
    a = ap.parse_args()
    if a.batch < 1 or a.threads < 1 or a.repeat < 1 or a.warmup < 0:
        sys.exit('ort_classes.py: --batch, --threads and --repeat must be positive, --warmup not negative')
    for path in (a.model, a.octcl):
        if path and not os.path.isfile(path):
            sys.exit('ort_classes.py: %s: no such file' % path)
    try:
        ort_sums, ort_counts = ort_classes(a.model, a.batch, a.threads, a.repeat, a.warmup)
    except ImportError as e:
        sys.exit('ort_classes.py: %s (run it with the onnxruntime environment bench/onnx_bench.py makes)' % e)
    except Exception as e:  # onnxruntime's own errors (a model it cannot load or run)
        sys.exit('ort_classes.py: onnxruntime on %s: %s' % (a.model, str(e).splitlines()[0] if str(e) else e))
    try:
        oct_sums, oct_counts = octcl_classes(a.octcl) if a.octcl else ({}, {})
    except (OSError, ValueError, KeyError) as e:
        sys.exit('ort_classes.py: %s is not `octcl profile --json` output: %s' % (a.octcl, e))
    classes = sorted(set(ort_sums) | set(oct_sums), key=lambda c: -max(ort_sums.get(c, 0), oct_sums.get(c, 0)))
    print('| class | ort nodes | ort ms | octcl layers | octcl ms | octcl / ort |')
    print('|---|---|---|---|---|---|')
    for c in classes:
        o, t = ort_sums.get(c), oct_sums.get(c)
        print('| %s | %s | %s | %s | %s | %s |' % (c, ort_counts.get(c, ''), '%.3f' % o if o is not None else '',
                                                 oct_counts.get(c, ''), '%.3f' % t if t is not None else '',
                                                 '%.2f' % (t / o) if o and t is not None and
                                                 ort_counts.get(c) == oct_counts.get(c) else ''))
    print('| sum | %d | %.3f | %d | %.3f | |' % (sum(ort_counts.values()), sum(ort_sums.values()),
                                                sum(oct_counts.values()), sum(oct_sums.values())))
    if a.json:
        with open(a.json, 'w') as f:
            json.dump({'model': a.model, 'batch': a.batch, 'threads': a.threads,
                       'ort': {c: [ort_counts[c], ort_sums[c]] for c in ort_sums},
                       'octcl': {c: [oct_counts[c], oct_sums[c]] for c in oct_sums}}, f, indent=1)


if __name__ == '__main__':
    main()
