#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (it has torch and numpy); the
# `python3` first on PATH may be another interpreter that cannot import torch.
"""pytorch_bench.py — the PyTorch side of `octcl bench`: python/octnet.py's OctNetMini
timed on the same shapes, written as the same JSON rows (and CSV columns).

    bench/pytorch_bench.py --alphas 0,0.25,0.5,0.75 --batch 1,32 --size 32x32 \
        --repeat 20 --warmup 3 --threads 2 --json pytorch.json

CUDA when available (TF32 off, cudnn.benchmark on, torch.cuda.synchronize() around
each timed pass), else the CPU with torch.set_num_threads(--threads). Each pass is
timed as octcl times oct_model_forward: host input -> device, forward, logits -> host.
MACs are counted by forward hooks on every Conv2d and Linear (the count octcl's
oct_model_macs gives; tests/test_bench.sh checks the two agree). activation_bytes is
PyTorch's peak memory for one pass (see peak_activation_bytes). Fields octcl fills
from its own machinery (device time, peak, the reference check) are null here. bench/README.md defines every field.
"""
import argparse
import csv
import datetime
import json
import math
import os
import re
import shlex
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'python'))

# The column order of octcl bench (bench/bench.c field_names).
FIELDS = [
    'device', 'backend', 'platform', 'driver', 'alpha', 'batch', 'size', 'in_channels', 'classes', 'model',
    'macs_per_image', 'parameters', 'activation_bytes', 'warmup', 'repeat', 'ms_min', 'ms_median',
    'device_ms_min', 'device_ms_median', 'images_per_second', 'gflops', 'peak_gflops', 'peak_fraction',
    'speedup', 'theoretical_speedup', 'realised', 'matched_reference', 'max_abs_error', 'check_size',
    'accuracy', 'accuracy_images', 'first_result_ms', 'octcl_version', 'command', 'timestamp',
]


def usage_error(msg):
    print(f'pytorch_bench.py: {msg} (see --help)', file=sys.stderr)
    sys.exit(2)


def parse_list(text, conv, name):
    items = text.split(',')
    if any(not s for s in items):
        usage_error(f'--{name}: empty item in the list')
    out = [conv(s, name) for s in items]
    if len(set(out)) != len(out):
        usage_error(f'--{name}: an item is listed twice')
    return out


def strict_int(s, name, lo=1, hi=65536):
    if not re.fullmatch(r'[+-]?[0-9]+', s) or not lo <= int(s) <= hi:
        usage_error(f'--{name} "{s}": expected an integer in {lo}..{hi}')
    return int(s)


def strict_alpha(s, name):
    if not re.fullmatch(r'[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?', s) or not 0 <= float(s) <= 1:
        usage_error(f'--{name} "{s}": expected a number in [0, 1]')
    return float(s)


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Time python/octnet.py's OctNetMini like `octcl bench` does and write the same rows.")
    ap.add_argument('--alphas', default='0,0.25,0.5,0.75', help='alphas in [0, 1] (default %(default)s)')
    ap.add_argument('--batch', default='1,256', help='batch sizes (default %(default)s)')
    ap.add_argument('--size', default='32x32', help='input HxW (default %(default)s)')
    ap.add_argument('--in-channels', default='3', help='input channels (default %(default)s)')
    ap.add_argument('--classes', default='10', help='classes (default %(default)s)')
    ap.add_argument('--device', default='auto', choices=('auto', 'cpu', 'cuda'),
                    help='auto: CUDA when available, else the CPU (default %(default)s)')
    ap.add_argument('--threads', default=str(os.cpu_count() or 1),
                    help='CPU threads, torch.set_num_threads (default os.cpu_count(): %(default)s)')
    ap.add_argument('--repeat', default='20', help='timed passes per row (default %(default)s)')
    ap.add_argument('--warmup', default='3', help='untimed passes before them (default %(default)s)')
    ap.add_argument('--seed', default='1234', help='seed of the random weights and inputs (default %(default)s)')
    ap.add_argument('--compile', action='store_true', help='torch.compile the model when this torch has it')
    ap.add_argument('--json', help="write the rows as a JSON array ('-': stdout)")
    ap.add_argument('--csv', help="write the rows as CSV ('-': stdout)")
    a = ap.parse_args(argv)
    a.alphas = parse_list(a.alphas, strict_alpha, 'alphas')
    a.batch = parse_list(a.batch, strict_int, 'batch')
    m = re.fullmatch(r'([0-9]+)[xX]([0-9]+)', a.size)
    if not m or not (1 <= int(m.group(1)) <= 16384 and 1 <= int(m.group(2)) <= 16384):
        usage_error(f'--size "{a.size}": expected HxW with both in 1..16384, e.g. 32x32')
    a.h, a.w = int(m.group(1)), int(m.group(2))
    a.in_channels = strict_int(a.in_channels, 'in-channels', 1, 4096)
    a.classes = strict_int(a.classes, 'classes', 1, 1000000)
    a.threads = strict_int(a.threads, 'threads', 1, 4096)
    a.repeat = strict_int(a.repeat, 'repeat', 1, 1000000)
    a.warmup = strict_int(a.warmup, 'warmup', 0, 1000000)
    a.seed = strict_int(a.seed, 'seed', 0, 2**63 - 1)
    if a.json and a.csv and a.json == a.csv:
        usage_error(f"--json and --csv both name '{a.json}'")
    return a


def octcl_version():
    try:
        with open(os.path.join(ROOT, 'include', 'octcl.h')) as f:
            m = re.search(r'#define OCTCL_VERSION "([^"]+)"', f.read())
        return m.group(1) if m else None
    except OSError:
        return None


def count_macs(model, x):
    """Multiply-accumulates of one forward pass over x, per image: every Conv2d
    (output elements x in/groups x kh x kw) and Linear (in x out), via forward hooks."""
    import torch
    import torch.nn as nn
    total = [0]

    def conv_hook(mod, inp, out):
        kh, kw = mod.kernel_size
        total[0] += out.numel() * (mod.in_channels // mod.groups) * kh * kw

    def linear_hook(mod, inp, out):
        total[0] += out.numel() * mod.in_features

    hooks = []
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(linear_hook))
    with torch.inference_mode():
        model(x)
    for h in hooks:
        h.remove()
    return total[0] // x.shape[0]


def peak_activation_bytes(forward, model, n, use_cuda):
    """PyTorch's peak memory for one pass beyond what was held before it (weights):
    on CUDA the caching allocator's own peak (torch.cuda.max_memory_allocated, cuDNN
    workspaces included); on the CPU the highest running sum, in time order, of every
    profiled op's allocations minus frees (torch.profiler, profile_memory=True), so the
    input copy, every intermediate tensor and the logits are counted while they live."""
    import torch
    if use_cuda:
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        forward(model, n)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        forward(model, n)
    live = peak = 0
    for e in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += e.self_cpu_memory_usage
        peak = max(peak, live)
    return peak


def main(argv):
    a = parse_args(argv)
    t_start = time.perf_counter()
    import torch
    from octnet import random_model, count_params

    use_cuda = a.device == 'cuda' or (a.device == 'auto' and torch.cuda.is_available())
    if a.device == 'cuda' and not torch.cuda.is_available():
        print('pytorch_bench.py: error: --device cuda but torch.cuda.is_available() is False', file=sys.stderr)
        return 1
    if use_cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        dev = torch.device('cuda')
        torch.cuda.init()
        name = f'pytorch-cuda {torch.cuda.get_device_name(dev)}'
        driver = f'torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}'
        sync = torch.cuda.synchronize
    else:
        torch.set_num_threads(a.threads)
        dev = torch.device('cpu')
        name = f'pytorch-cpu ({torch.get_num_threads()} threads)'
        driver = f'torch {torch.__version__}'
        sync = lambda: None  # noqa: E731
    compiled = a.compile and hasattr(torch, 'compile')
    if a.compile and not compiled:
        print(f'pytorch_bench.py: note: torch {torch.__version__} has no torch.compile; running eagerly',
              file=sys.stderr)
    print(f'pytorch_bench.py: {name} ({driver})', file=sys.stderr)

    gen = torch.Generator().manual_seed(a.seed + 1)
    max_batch = max(a.batch)
    x_host = torch.rand((max_batch, a.in_channels, a.h, a.w), generator=gen) * 4 - 2   # (B, C, H, W) in [-2, 2]

    def prepare(alpha):
        model = random_model(alpha, a.seed, a.in_channels, a.classes).to(dev)
        return torch.compile(model) if compiled else model

    def forward(model, n):
        """One timed pass: input to the device, forward, logits back to the host."""
        with torch.inference_mode():
            return model(x_host[:n].to(dev)).cpu()

    # Cold start: (CUDA init above,) the first alpha's model and one image's logits.
    forward(prepare(a.alphas[0]), 1)
    sync()
    first_ms = (time.perf_counter() - t_start) * 1e3

    macs0 = count_macs(random_model(0.0, a.seed, a.in_channels, a.classes), x_host[:1])
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    command = shlex.join(['bench/pytorch_bench.py'] + list(argv))
    rows = []
    for alpha in a.alphas:
        plain = random_model(alpha, a.seed, a.in_channels, a.classes)
        macs = count_macs(plain, x_host[:1])
        model = prepare(alpha)
        for n in a.batch:
            for _ in range(a.warmup):
                forward(model, n)
            sync()
            times = []
            for _ in range(a.repeat):
                sync()
                t0 = time.perf_counter()
                forward(model, n)
                sync()
                times.append((time.perf_counter() - t0) * 1e3)
            ms_min, ms_med = min(times), statistics.median(times)
            act_bytes = peak_activation_bytes(forward, model, n, use_cuda)
            rows.append({
                'device': name, 'backend': 'pytorch', 'platform': 'PyTorch', 'driver': driver,
                'alpha': alpha, 'batch': n, 'size': f'{a.h}x{a.w}', 'in_channels': a.in_channels,
                'classes': a.classes,
                'model': f'random seed {a.seed}' + (', torch.compile' if compiled else ''),
                'macs_per_image': macs, 'parameters': count_params(plain), 'activation_bytes': act_bytes,
                'warmup': a.warmup, 'repeat': a.repeat, 'ms_min': ms_min, 'ms_median': ms_med,
                'device_ms_min': None, 'device_ms_median': None,
                'images_per_second': n / (ms_min * 1e-3), 'gflops': 2.0 * macs * n / (ms_min * 1e6),
                'peak_gflops': None, 'peak_fraction': None,
                'speedup': None, 'theoretical_speedup': macs0 / macs, 'realised': None,
                'matched_reference': None, 'max_abs_error': None, 'check_size': None,
                'accuracy': None, 'accuracy_images': None, 'first_result_ms': first_ms,
                'octcl_version': octcl_version(), 'command': command, 'timestamp': stamp,
            })
            if sys.stderr.isatty():
                print(f'\r\033[K{name} alpha {alpha:.2f} batch {n}: {ms_min:.3f} ms', end='', file=sys.stderr)
    if sys.stderr.isatty():
        print('\r\033[K', end='', file=sys.stderr)

    # Speed-up over alpha 0 at the same batch, from ms_min (null when alpha 0 was not run).
    for r in rows:
        base = [z for z in rows if z['batch'] == r['batch'] and z['alpha'] == 0.0]
        if base:
            r['speedup'] = base[0]['ms_min'] / r['ms_min']
            r['realised'] = r['speedup'] / r['theoretical_speedup']

    table = sys.stderr if '-' in (a.json, a.csv) else sys.stdout
    print_table(table, rows, a)
    if a.json:
        write(a.json, lambda f: write_json(f, rows))
    if a.csv:
        write(a.csv, lambda f: write_csv(f, rows))
    return 0


def write(path, fn):
    if path == '-':
        fn(sys.stdout)
        sys.stdout.flush()
    else:
        with open(path, 'w', newline='') as f:
            fn(f)


def write_json(f, rows):
    f.write('[' + ','.join('\n  ' + json.dumps({k: r[k] for k in FIELDS}) for r in rows) + ('\n]\n' if rows else ']\n'))


def write_csv(f, rows):
    w = csv.writer(f, lineterminator='\n')
    w.writerow(FIELDS)
    for r in rows:
        w.writerow(['' if r[k] is None else str(r[k]).lower() if isinstance(r[k], bool) else r[k] for k in FIELDS])


def print_table(f, rows, a):
    if not rows:
        return
    fmt = lambda v, s: '-' if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, s)  # noqa
    print(f'{rows[0]["device"]} [{rows[0]["driver"]}], first result {rows[0]["first_result_ms"]:.1f} ms', file=f)
    print(f'  {"alpha":<5} {"batch":>5} {"size":>5} {"ms_min":>10} {"ms_median":>10} {"img/s":>10} '
          f'{"GFLOP/s":>9} {"speedup":>7} {"theory":>6} {"realised":>8}', file=f)
    for r in rows:
        print(f'  {r["alpha"]:<5.2f} {r["batch"]:>5} {r["size"]:>5} {r["ms_min"]:>10.3f} {r["ms_median"]:>10.3f} '
              f'{r["images_per_second"]:>10.1f} {r["gflops"]:>9.2f} {fmt(r["speedup"], ".2f"):>7} '
              f'{r["theoretical_speedup"]:>6.2f} {fmt(r["realised"], ".2f"):>8}', file=f)
    print(f'\nms: wall clock of input to device + forward + logits to host, min / median of {a.repeat} passes '
          f'after {a.warmup} warm-up; img/s, GFLOP/s (2 x MACs) and speedup from ms_min', file=f)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
