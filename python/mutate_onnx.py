#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (torch 1.13, onnx).
"""mutate_onnx.py — broken ONNX files from valid ones: octcl must load each or refuse it
with one line naming the problem, and run what it loads, never crash.

    mutate_onnx.py --octcl BIN --out DIR [--count N] [--seed S] [--device cpu]

The valid files: a few networks of random_dags.py (multi-reader graphs, F.pad chains,
pools, slices, heads) exported by PyTorch. Each mutant changes one thing in one of them,
with the onnx package on the parsed model (not bytes: the reader has its own fuzzer):
an INT / INTS attribute set to an extreme (0, -1, 2^31 - 1, 2^63 - 1, -2^63, 4097 ...),
an attribute dropped, an int64 constant's element set to an extreme, an initializer's
dims changed under its data, a node's input rewired to another value, a node dropped,
a node's op swapped for another that octcl imports, the input's dims changed. With
--systematic, first every (op, INT / INTS attribute) pair of the sources, each element
set to each extreme in turn. Then
`octcl info --model F` and, when that loads, `octcl run --model F --batch 2`:

  - exit 0, or exit 1 with the last line of stderr "octcl: error: ..." (one line);
  - never a signal, another exit status, a sanitizer's report or a second error line.

Prints one line per failing mutant (what was changed, the exit status, stderr's tail)
and a summary; exit 1 when any mutant fails.
"""
import argparse
import copy
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

EXTREMES = [0, -1, 1, 2, 3, 7, 4097, 65536, 2 ** 31 - 1, -2 ** 31, 2 ** 63 - 1, -2 ** 63]
OPS = ['Conv', 'Relu', 'Add', 'AveragePool', 'MaxPool', 'GlobalAveragePool', 'Concat', 'Slice', 'Pad', 'Resize',
       'BatchNormalization', 'Flatten', 'Gemm', 'Reshape', 'Transpose', 'Mul', 'Identity']


def sources(out, count, seed):
    """Export `count` random_dags networks; returns [(path, h, w)]."""
    import numpy as np
    import random_dags
    files = []
    for s in range(seed, seed + count):
        model, _, h, w = random_dags.make_net(s, 10)
        path = os.path.join(out, f'src{s}.onnx')
        random_dags.export(model, np.zeros((1, 3, h, w), dtype=np.float32), path)
        files.append((path, h, w))
    return files


def mutate(m, rng):
    """Change one thing in model m (in place); returns what, as text."""
    import onnx
    from onnx import numpy_helper
    g = m.graph
    kind = rng.choice(['attr', 'attr', 'drop_attr', 'const', 'const', 'dims', 'rewire', 'rewire', 'drop_node',
                       'op', 'input'])
    nodes = list(g.node)
    if kind in ('attr', 'drop_attr'):
        cands = [(n, a) for n in nodes for a in n.attribute if a.type in (onnx.AttributeProto.INT,
                                                                          onnx.AttributeProto.INTS)]
        if not cands:
            kind = 'rewire'
        else:
            n, a = rng.choice(cands)
            if kind == 'drop_attr':
                n.attribute.remove(a)
                return f'{n.name}: attribute {a.name} dropped'
            v = rng.choice(EXTREMES)
            if a.type == onnx.AttributeProto.INT:
                a.i = v
            elif a.ints:
                a.ints[rng.randrange(len(a.ints))] = v
            else:
                a.ints.append(v)
            return f'{n.name}: attribute {a.name} = {list(a.ints) if a.type == onnx.AttributeProto.INTS else a.i}'
    if kind == 'const':
        inits = [t for t in g.initializer if t.data_type == onnx.TensorProto.INT64]
        consts = [n for n in nodes if n.op_type == 'Constant' and n.attribute and
                  n.attribute[0].t.data_type == onnx.TensorProto.INT64]
        if inits or consts:
            if consts and (not inits or rng.random() < 0.5):
                n = rng.choice(consts)
                t = n.attribute[0].t
                where = n.name
            else:
                t = rng.choice(inits)
                where = t.name
            arr = numpy_helper.to_array(t).copy()
            if arr.size:
                arr.flat[rng.randrange(arr.size)] = rng.choice(EXTREMES)
                t.CopyFrom(numpy_helper.from_array(arr, t.name))
                return f'{where}: an element set, now {arr.flatten().tolist()[:8]}'
        kind = 'dims'
    if kind == 'dims':
        t = rng.choice(list(g.initializer)) if len(g.initializer) else None
        if t is not None and len(t.dims):
            k = rng.randrange(len(t.dims))
            t.dims[k] = rng.choice([0, 1, t.dims[k] * 2, t.dims[k] + 1])
            return f'{t.name}: dims now {list(t.dims)} (data unchanged)'
        kind = 'rewire'
    if kind == 'rewire':
        n = rng.choice(nodes)
        produced = [o for q in nodes[:nodes.index(n)] for o in q.output] + [i.name for i in g.input]
        if n.input and produced:
            k = rng.randrange(len(n.input))
            old = n.input[k]
            n.input[k] = rng.choice(produced)
            return f'{n.name}: input {k} {old} -> {n.input[k]}'
        kind = 'drop_node'
    if kind == 'drop_node':
        n = rng.choice(nodes)
        g.node.remove(n)
        return f'{n.name} ({n.op_type}) dropped'
    if kind == 'op':
        n = rng.choice(nodes)
        old = n.op_type
        n.op_type = rng.choice(OPS)
        return f'{n.name}: op {old} -> {n.op_type}'
    d = g.input[0].type.tensor_type.shape.dim
    k = rng.randrange(len(d))
    d[k].dim_value = rng.choice([0, 1, 2, 5, 4097, 2 ** 31 - 1])
    return f'input dim {k} = {d[k].dim_value}'


def systematic(models):
    """Every (op, INT / INTS attribute) pair of the models, once, set to each extreme (each
    element of an INTS in turn): [(model, h, w, node index, attribute name, element, value)]."""
    import onnx
    seen, out = set(), []
    for m, h, w in models:
        for k, n in enumerate(m.graph.node):
            for a in n.attribute:
                if a.type not in (onnx.AttributeProto.INT, onnx.AttributeProto.INTS) or (n.op_type, a.name) in seen:
                    continue
                seen.add((n.op_type, a.name))
                elems = [None] if a.type == onnx.AttributeProto.INT else range(len(a.ints))
                for e in elems:
                    for v in EXTREMES:
                        out.append((m, h, w, k, a.name, e, v))
    return out


def set_attr(m, k, name, e, v):
    """Node k's attribute `name` (element e of an INTS) = v, in place; returns what, as text."""
    n = m.graph.node[k]
    a = next(a for a in n.attribute if a.name == name)
    if e is None:
        a.i = v
    else:
        a.ints[e] = v
    return f'{n.name}: attribute {name}{"" if e is None else f"[{e}]"} = {v}'


def check(cmd, what, fails, log):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        fails.append(f'{what}: {" ".join(cmd[1:3])} timed out')
        return None
    err = r.stderr.strip().splitlines()
    errors = [ln for ln in err if 'error' in ln.lower() or 'Sanitizer' in ln or 'runtime error' in ln]
    ok = r.returncode == 0 and not errors or r.returncode == 1 and len(errors) == 1 and \
        err and err[-1].startswith('octcl: error: ')
    log.write(f'{what} | {" ".join(os.path.basename(c) for c in cmd[1:3])}: exit {r.returncode}; '
              f'{err[-1] if err else ""}\n')
    if not ok:
        tail = ' / '.join(err[-3:]) if err else '(no stderr)'
        fails.append(f'{what}: {cmd[1]} exit {r.returncode}: {tail}')
    return r.returncode


def main(argv):
    ap = argparse.ArgumentParser(description='Broken ONNX files: octcl refuses them in one line or runs them.')
    ap.add_argument('--octcl', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--count', type=int, default=300, help='mutants (default 300)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--systematic', action='store_true',
                    help='first every (op, INT / INTS attribute) of the sources set to each extreme')
    a = ap.parse_args(argv)
    import onnx
    os.makedirs(a.out, exist_ok=True)
    srcs = sources(a.out, 6, a.seed)
    models = [(onnx.load(p), h, w) for p, h, w in srcs]
    rng = random.Random(a.seed)
    fails, loaded = [], 0
    plan = systematic(models) if a.systematic else []
    total = len(plan) + a.count
    with open(os.path.join(a.out, 'mutants.log'), 'w') as log:
        for i in range(total):
            if i < len(plan):
                src, h, w, k, name, e, v = plan[i]
                m = copy.deepcopy(src)
                what = f'mutant {i}: ' + set_attr(m, k, name, e, v)
            else:
                src, h, w = rng.choice(models)
                m = copy.deepcopy(src)
                what = f'mutant {i}: ' + mutate(m, rng)
            path = os.path.join(a.out, f'mutant{i}.onnx')
            with open(path, 'wb') as f:
                f.write(m.SerializeToString())
            rc = check([a.octcl, 'info', '--model', path, '--device', a.device], what, fails, log)
            if rc == 0:
                loaded += 1
                check([a.octcl, 'run', '--model', path, '--batch', '2', '--size', f'{h}x{w}', '--device', a.device,
                       '--output', os.path.join(a.out, 'y.npy')], what, fails, log)
            if not any(f.startswith(what) for f in fails):
                os.remove(path)
    for f in fails:
        print(f)
    print(f'mutate_onnx: {total} mutants ({len(plan)} systematic), {loaded} loaded, {len(fails)} failures')
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
