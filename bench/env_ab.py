#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (numpy); the octcl package from python/.
"""env_ab.py — one ONNX model under two environments, in one process, passes alternated.

    bench/env_ab.py MODEL --a "VAR=V ..." --b "VAR=V ..." [--batch 1] [--threads 2]
                    [--rounds 40] [--filter REGEX] [--size HxW] [--lib build/liboctcl.so]
                    [--json FILE]

The cpu backend reads its switches ($OCTCL_CPU_WINO_TILE, $OCTCL_CPU_WINOGRAD, ...)
when a context is made, so two models opened under two environments run two variants of
one build side by side. Each round times one `profile` pass (per layer) and one plain
pass of A, then of B; the table gives each layer's minimum over the rounds for A and B
and their ratio, and the whole passes' minima and medians. Passes alternated within one
process share the machine's slow spells, where separate processes (or runs) do not: on
the shared 2-core VM a layer repeated alike in both models reads the same to a few per
cent here, against 10-40% between alternated processes. Rows that differ only because
the layer before them differs (its cache footprint) show up too: read the whole pass.

The two outputs are compared (largest absolute difference) so that a variant which does
not take effect (a switch read once per process, a misspelt name) shows as 0.
"""
import argparse
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from onnx_bench import write_json  # noqa: E402  (the harness beside this script)


def parse_env(text):
    env = {}
    for item in text.split():
        if '=' not in item:
            raise argparse.ArgumentTypeError(f'"{item}": expected VAR=VALUE')
        k, v = item.split('=', 1)
        env[k] = v
    return env


def parse_size(text):
    m = re.fullmatch(r'(\d+)x(\d+)', text)
    if not m:
        raise argparse.ArgumentTypeError(f'"{text}": expected HxW')
    return int(m.group(1)), int(m.group(2))


def open_model(octcl, path, threads, env):
    """The model opened with OCTCL_THREADS and env set, the environment restored after."""
    saved = dict(os.environ)
    try:
        os.environ['OCTCL_THREADS'] = str(threads)
        os.environ.update(env)
        return octcl.Model(path, device='cpu')
    finally:
        os.environ.clear()
        os.environ.update(saved)


def input_shape(model, size):
    dims = list(model.inputs[0].shape)
    if len(dims) != 4:
        sys.exit(f'env_ab: the model input has rank {len(dims)}, expected 4 (N, C, H, W)')
    c, h, w = dims[1], dims[2], dims[3]
    if size:
        h, w = size
    if not h or not w:
        sys.exit('env_ab: the model input has no fixed H x W; give --size HxW')
    return c, h, w


def main(argv):
    ap = argparse.ArgumentParser(description='One ONNX model under two environments, passes alternated.')
    ap.add_argument('model')
    ap.add_argument('--a', type=parse_env, default={}, help='variant A: "VAR=V ..." (default: none)')
    ap.add_argument('--b', type=parse_env, required=True, help='variant B: "VAR=V ..."')
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--rounds', type=int, default=40)
    ap.add_argument('--filter', default='.', help='layers whose kind or name matches (regex) in the table')
    ap.add_argument('--size', type=parse_size, help='input HxW where the model leaves it open')
    ap.add_argument('--lib', default=os.path.join(HERE, '..', 'build', 'liboctcl.so'), help='liboctcl.so to load')
    ap.add_argument('--json', help='write the rows here')
    args = ap.parse_args(argv)
    if args.batch < 1 or args.threads < 1 or args.rounds < 1:
        ap.error('--batch, --threads and --rounds take integers >= 1')

    os.environ['OCTCL_LIBRARY'] = os.path.abspath(args.lib)
    sys.path.insert(0, os.path.join(HERE, '..', 'python'))
    import numpy as np
    import octcl

    models = {'A': open_model(octcl, args.model, args.threads, args.a),
              'B': open_model(octcl, args.model, args.threads, args.b)}
    c, h, w = input_shape(models['A'], args.size)
    x = np.random.default_rng(1).standard_normal((args.batch, c, h, w)).astype(np.float32)
    out = {k: m(x) for k, m in models.items()}  # warm-up: weights packed, scratch grown
    # Layers are matched by name: a variant may run them in another order (a graph pass
    # moving a node), so position would pair unrelated rows. B's order is the table's.
    layers = None
    best = {k: {} for k in models}
    whole = {k: [] for k in models}
    for _ in range(args.rounds):
        for k, m in models.items():
            _, timed = m.profile(x)
            t0 = time.perf_counter()
            m(x)
            whole[k].append(time.perf_counter() - t0)
            for layer, s in timed:
                key = (layer.name, layer.kind)
                best[k][key] = min(best[k].get(key, s), s)
            if k == 'B':
                layers = [layer for layer, _ in timed]

    rows, sa, sb = [], 0.0, 0.0
    print(f'{os.path.basename(args.model)}: batch {args.batch}, {args.threads} thread(s), {args.rounds} rounds; '
          f'A {args.a or "(as is)"}, B {args.b}; minima in ms')
    for layer in layers:
        if not re.search(args.filter, f'{layer.kind} {layer.name}'):
            continue
        key = (layer.name, layer.kind)
        if key not in best['A']:
            print(f'{layer.name[-48:]:48s} {layer.kind[:18]:18s}    (not in A)')
            continue
        a, b = best['A'][key] * 1e3, best['B'][key] * 1e3
        sa, sb = sa + a, sb + b
        rows.append({'layer': layer.name, 'kind': layer.kind, 'a_ms': a, 'b_ms': b})
        print(f'{layer.name[-48:]:48s} {layer.kind[:18]:18s} {a:9.3f} {b:9.3f}  {a / b if b else 0:.2f}x')
    diff = float(np.max(np.abs(out['A'] - out['B'])))
    wa, wb = min(whole['A']) * 1e3, min(whole['B']) * 1e3
    ma, mb = statistics.median(whole['A']) * 1e3, statistics.median(whole['B']) * 1e3
    print(f'layers shown: A {sa:.3f}  B {sb:.3f} ms ({sa / sb if sb else 0:.3f}x); whole pass min A {wa:.3f} '
          f'B {wb:.3f} ms ({wa / wb:.3f}x), median A {ma:.3f} B {mb:.3f}; largest |A - B| output {diff:.2e}')
    if diff == 0:
        print('note: A and B gave the same bits: the variant may not have taken effect')
    if args.json:
        write_json(args.json, {'model': args.model, 'batch': args.batch, 'threads': args.threads,
                               'rounds': args.rounds, 'a': args.a, 'b': args.b, 'layers': rows,
                               'whole_min_ms': [wa, wb], 'whole_median_ms': [ma, mb], 'max_abs_diff': diff})


if __name__ == '__main__':
    main(sys.argv[1:])
