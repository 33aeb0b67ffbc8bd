#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (torch 1.13, onnx).
"""layer_ab.py — one layer shape, alone, through `octcl bench`, and builds compared on it.

    bench/layer_ab.py --conv K:CIN:COUT:HW [--conv ...] [--count 10] [--threads 2]
                      [--batch 1] [--rounds 6] [--repeat 50] [--octcl build/octcl]
                      [--lib DIR ...] [--work DIR] [--json FILE]

Each --conv is a chain of --count convolutions K x K (stride 1, padding K // 2, bias,
ReLU), CIN -> COUT -> CIN -> ... on HW x HW planes, exported once to ONNX (seeded random
weights, WORK/conv_K_CIN_COUT_HW.onnx). Whole networks are too noisy on a shared VM to
resolve a change to a few of their layers; a chain of one shape is not.

Every --lib is a folder holding a liboctcl.so.0 (another build's; `--lib build` is this
tree's): the same `octcl` program runs with each in turn through LD_LIBRARY_PATH, round
after round, alternated, so that the machine's slow minutes fall on every variant alike.
Without --lib the program runs with its own library. A round is one `octcl bench --model
F --device cpu --batch B --repeat R --no-check` with OCTCL_THREADS = --threads; its
ms_min is the round's figure; the table gives each variant's minimum over rounds, its
median, and every round's figure. --json writes the rows.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_bench import cpu_model, write_json  # noqa: E402  (the harness beside this script)


def cpu_name():
    return cpu_model() or platform.processor() or 'unknown CPU'


def parse_conv(text):
    parts = text.split(':')
    if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts) or int(parts[0]) % 2 == 0:
        raise SystemExit(f'layer_ab.py: --conv "{text}": expected K:CIN:COUT:HW, positive, K odd')
    return tuple(int(p) for p in parts)


def export(conv, count, work):
    k, cin, cout, hw = conv
    path = os.path.join(work, f'conv_{k}_{cin}_{cout}_{hw}_x{count}.onnx')
    if os.path.exists(path):
        return path
    import torch
    import torch.nn as nn
    torch.manual_seed(1234)
    layers, c = [], cin
    for i in range(count):
        o = cout if i % 2 == 0 else cin
        layers += [nn.Conv2d(c, o, k, padding=k // 2), nn.ReLU()]
        c = o
    model = nn.Sequential(*layers).eval()
    tmp = path + '.part'
    torch.onnx.export(model, torch.randn(1, cin, hw, hw), tmp, opset_version=13, input_names=['x'],
                      output_names=['y'], dynamic_axes={'x': {0: 'n'}, 'y': {0: 'n'}})
    os.replace(tmp, path)
    return path


def run_once(octcl, model, lib, threads, batch, repeat):
    env = dict(os.environ, OCTCL_THREADS=str(threads))
    if lib:
        env['LD_LIBRARY_PATH'] = os.path.abspath(lib) + (':' + env['LD_LIBRARY_PATH'] if env.get('LD_LIBRARY_PATH') else '')
    cmd = [octcl, 'bench', '--model', model, '--device', 'cpu', '--batch', str(batch), '--repeat', str(repeat),
           '--no-check', '--json', '-']
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f'layer_ab.py: {" ".join(cmd)}: exit {p.returncode}: '
                         + ((p.stderr.strip().splitlines() or ['(no message)'])[-1]))
    rows = json.loads(p.stdout)
    rows = rows if isinstance(rows, list) else [rows]
    return float(next(r for r in rows if int(r.get('batch', batch)) == batch)['ms_min'])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--conv', action='append', type=parse_conv, required=True)
    ap.add_argument('--count', type=int, default=10)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--rounds', type=int, default=6)
    ap.add_argument('--repeat', type=int, default=50)
    ap.add_argument('--octcl', default='build/octcl')
    ap.add_argument('--lib', action='append', default=[])
    ap.add_argument('--work', default='build/layer-ab')
    ap.add_argument('--json')
    a = ap.parse_args()
    if min(a.count, a.threads, a.batch, a.rounds, a.repeat) < 1:
        raise SystemExit('layer_ab.py: --count, --threads, --batch, --rounds and --repeat must be positive')
    for lib in a.lib:
        if not os.path.exists(os.path.join(lib, 'liboctcl.so.0')):
            raise SystemExit(f'layer_ab.py: --lib {lib}: no liboctcl.so.0 there')
    os.makedirs(a.work, exist_ok=True)
    variants = a.lib or ['']
    rows = []
    print(f'layer_ab.py: {cpu_name()}, {a.threads} thread(s), batch {a.batch}, min of {a.repeat} passes a round, '
          f'{a.rounds} rounds alternated')
    for conv in a.conv:
        model = export(conv, a.count, a.work)
        times = {v: [] for v in variants}
        for _ in range(a.rounds):
            for v in variants:
                times[v].append(run_once(a.octcl, model, v, a.threads, a.batch, a.repeat))
        k, cin, cout, hw = conv
        for v in variants:
            t = times[v]
            row = dict(conv=f'{k}x{k} {cin}->{cout} at {hw}x{hw}', count=a.count, variant=v or '(own)',
                       min_ms=min(t), median_ms=statistics.median(t), rounds_ms=t, threads=a.threads,
                       batch=a.batch, cpu=cpu_name())
            rows.append(row)
            print(f'  {row["conv"]:<26} x{a.count}  {row["variant"]:<24} min {min(t):8.3f} ms  median '
                  f'{row["median_ms"]:8.3f}  rounds ' + ' '.join(f'{x:.3f}' for x in t))
        sys.stdout.flush()
    if a.json:
        write_json(a.json, rows)


if __name__ == '__main__':
    main()
