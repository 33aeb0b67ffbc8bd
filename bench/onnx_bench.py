#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (torch 1.13, onnx, matplotlib); onnxruntime
# comes from PyPI in a virtual environment this script makes (--system-site-packages, numpy<2).
"""onnx_bench.py — octcl, onnxruntime and PyTorch on the same ONNX files and shapes (issue 14).

    bench/onnx_bench.py [--nets oct_resnet50:0:224x224,oct_resnet50:0.5:224x224,...]
                        [--batch 1,8] [--threads 2] [--repeat 20] [--warmup 3] [--rounds 1]
                        [--engines ort,pytorch,octcl] [--octcl build/octcl] [--octcl-tune] [--paired]
                        [--work DIR] [--venv DIR] [--json FILE] [--png FILE]
    bench/onnx_bench.py --from-json FILE [--png FILE]     table (and plot) of earlier rows

For each network NAME:ALPHA:HxW[:WIDTH] (python/make_onnx.py's names; default: Oct-ResNet-50
at alpha 0 and 0.5 at 224x224, OctNetMini at alpha 0, 0.25, 0.5, 0.75 at 32x32) the ONNX
file is exported once (seeded random weights, WORK/models) together with its PyTorch
state_dict; then, for each batch and engine, ONE CHILD PROCESS loads the model, runs
--warmup untimed passes and --repeat timed passes of one seeded batch and reports the
minimum and median wall time of a pass.  Each child is its own process so that its peak
resident memory (ru_maxrss from os.wait4) is that engine's alone; the Python children also
report their resident memory after the imports and before the model (base_rss_mb), since
their peak includes the interpreter, numpy and the engine's libraries.

engines
  ort      onnxruntime (PyPI, in --venv, default WORK/ort-venv), CPU provider, all graph optimisations,
           intra_op_num_threads = --threads, inter_op_num_threads = 1, sequential
  pytorch  the zoo.py module itself (the same weights, loaded from the state_dict) in
           eval() under torch.inference_mode(), torch.set_num_threads(--threads)
  octcl    `OCTCL --octcl bench --model F.onnx --batch B --device cpu --repeat R --warmup W
           --json -` with OCTCL_THREADS=--threads; its ms_min / ms_median.  When that fails
           (the option is new) the row says why and carries no time.  With --octcl-tune,
           `octcl tune --device cpu --model F --shapes BxHxW` first runs once per (network,
           batch), before any row is timed, into its own tuning folder (OCTCL_CACHE_DIR=
           WORK/tune/<model>_b<B>), and that row's octcl children run with it: the
           parameters tuned for that CPU, thread count, model and batch (the tuner's time
           is the row's tune_s, not part of its passes; the row's tuning field says what
           ran).  onnxruntime and PyTorch have no such step on the CPU.

Rows (a JSON array, --json, default WORK/onnx_bench.json): engine, engine_version, net,
alpha, batch, size, min_ms, median_ms, images_per_second, macs (per image, forward hooks
on every Conv2d/Linear), macs_executed (octcl: the multiply-adds it ran per image, from
`octcl bench`'s macs_executed_per_image; fewer than macs where Winograd serves 3x3 layers), gflops (2 x macs x batch / min time), peak_rss_mb, base_rss_mb,
threads, repeat, warmup, cpu (/proc/cpuinfo model name), model_file, error, and for a net
measured at alpha 0 and at alpha a by the same engine and batch: speedup (t0 / ta),
theoretical (macs0 / macsa) and realised (speedup / theoretical).  A PNG (--png, default
WORK/onnx_bench.png) plots min ms per engine and the peak memory; stdout gets a markdown
table of min ms and realised per engine (README's table).

--paired also times octcl on each alpha and its alpha 0 in ONE child per (network, batch),
passes alternated, --rounds times: the row gets paired_alpha0_ms / paired_ms (minima over
the rounds) and paired_realised: the ratio of two models' passes taken in the same
seconds, not by two children minutes apart (see pair_worker for why onnxruntime is not
paired, and for the bias pairing has).

--rounds R runs every (network, batch) R times, round after round over all of them (a
row's rounds spread over the whole run), alternating the engines (ort, pytorch, octcl,
ort, ...), and keeps each engine's minimum over the rounds
(median_ms: the median of the rounds' medians; peak_rss_mb: the largest; round_min_ms:
every round's minimum): on a shared VM a second core can vanish for seconds, and one
child's block of passes falling in such a spell no longer decides a ratio alone.

On a loaded machine PyTorch's two OpenMP threads stall at every barrier when a core is
taken away (seen here: OctNetMini alpha 0.25, batch 1: 90 ms with 2 threads, 8.2 ms with
--threads 1, onnxruntime 3.0 ms); the minimum over --repeat passes only partly hides it.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = os.path.join(ROOT, 'python')
sys.path.insert(0, PY)

DEFAULT_NETS = ('oct_resnet50:0:224x224,oct_resnet50:0.5:224x224,'
                'octnetmini:0:32x32,octnetmini:0.25:32x32,octnetmini:0.5:32x32,octnetmini:0.75:32x32')


def write_json(path, obj):
    """obj as JSON at path, written beside it first and then renamed over it: a failure
    leaves the old file as it was."""
    with open(path + '.part', 'w') as f:
        json.dump(obj, f, indent=1)
    os.replace(path + '.part', path)


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return None


def rss_mb():
    """This process's resident memory now (VmRSS), MB."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def make_input(batch, h, w, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    return np.clip(rng.standard_normal((batch, 3, h, w)), -2, 2).astype(np.float32)


def time_passes(run, warmup, repeat):
    """(min ms, median ms) of `repeat` calls of run() after `warmup` untimed ones."""
    for _ in range(warmup):
        run()
    ms = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        ms.append((time.perf_counter() - t0) * 1e3)
    return min(ms), statistics.median(ms)


# ----------------------------------------------------------------------------------------------
# Workers: one engine, one model, one batch, in a child process; one JSON line on stdout

def worker(a):
    h, w = a.size
    if a.worker == 'ort':
        import numpy as np  # noqa: F401
        import onnxruntime as ort
        base = rss_mb()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = a.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(a.model, opts, providers=['CPUExecutionProvider'])
        x = make_input(a.batch, h, w, a.seed)
        mn, md = time_passes(lambda: sess.run(['logits'], {'input': x}), a.warmup, a.repeat)
        version = f'onnxruntime {ort.__version__}'
    else:
        import torch
        import make_onnx
        torch.set_num_threads(a.threads)
        torch.set_num_interop_threads(1)
        base = rss_mb()
        spec = make_onnx._nets()[a.net]
        model = spec['build'](a.alpha, a.classes, a.width or None)
        model.load_state_dict(torch.load(a.state))
        model.eval()
        x = torch.from_numpy(make_input(a.batch, h, w, a.seed))

        def run():
            with torch.inference_mode():
                model(x)
        mn, md = time_passes(run, a.warmup, a.repeat)
        version = f'torch {torch.__version__}'
    print(json.dumps(dict(min_ms=mn, median_ms=md, base_rss_mb=base, engine_version=version)))
    return 0


def pair_worker(a):
    """--paired: the alpha-0 model (--model) and another alpha's (--model2) of one net in ONE
    process, passes alternated (A, B, A, B, ...) after --warmup of each: both sample the same
    seconds of the machine, so their ratio holds through a slow spell that separate children
    each catch or miss. octcl only: onnxruntime's two sessions would each keep a pool
    whose threads spin after a pass and take the cores from the other session's next pass
    (OctNetMini alpha 0, batch 1, 2 threads, AMD EPYC Zen 4: 4.2-4.5 ms paired against 2.0
    alone), and a pause before each pass to let them settle slowed both engines (octcl's
    alpha 0 0.7 -> 1.7 ms: cold caches, sleeping threads). Pairing has a bias of its own: a
    pass starts with the other model's data in the caches (OctNetMini alpha 0.5, batch 8:
    3.59 ms paired, 3.17 alone); Oct-ResNet-50's weights (~100 MB) stream from memory in
    every pass either way."""
    h, w = a.size
    x = make_input(a.batch, h, w, a.seed)
    os.environ['OCTCL_THREADS'] = str(a.threads)
    import octcl
    models = [octcl.Model(f, device='cpu') for f in (a.model, a.model2)]
    runs = [lambda m=m: m(x) for m in models]
    version = f'octcl {octcl.__version__}'
    for _ in range(a.warmup):
        for run in runs:
            run()
    ms = [[], []]
    for _ in range(a.repeat):
        for k, run in enumerate(runs):
            t0 = time.perf_counter()
            run()
            ms[k].append((time.perf_counter() - t0) * 1e3)
    print(json.dumps(dict(min_ms=[min(m) for m in ms], median_ms=[statistics.median(m) for m in ms],
                          engine_version=version)))
    return 0


# A child's ru_maxrss starts at its parent's peak: exec() keeps the old address space's
# high-water mark (Linux exec_mmap), and this parent holds torch and the exported models.
# So each engine starts from a small launcher (a fresh python -S, ~10 MB) that forks it,
# reaps it with os.wait4 and writes that one child's ru_maxrss (KB) to a file.
LAUNCHER = r"""
import os, sys
out, cmd = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    except OSError as e:
        sys.stderr.write(f'{cmd[0]}: {e.strerror}\n')
        sys.stderr.flush()
    os._exit(127)
_, status, ru = os.wait4(pid, 0)
with open(out, 'w') as f:
    f.write(str(ru.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
"""


def run_child(cmd, env=None):
    """(return code, stdout, stderr, peak RSS MB of the command's own process)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = os.path.join(tmp, 'maxrss')
        try:
            p = subprocess.run(['/usr/bin/python3', '-S', '-c', LAUNCHER, rss_file] + cmd, env=env, text=True,
                               capture_output=True)
        except OSError as e:
            return 127, '', str(e), None
        try:
            with open(rss_file) as f:
                peak = int(f.read()) / 1024
        except (OSError, ValueError):
            peak = None
        return p.returncode, p.stdout, p.stderr, peak


# ----------------------------------------------------------------------------------------------
# The parent

def ensure_venv(venv):
    """The onnxruntime virtual environment's python, made once; None (with a note) offline."""
    py = os.path.join(venv, 'bin', 'python')
    if os.path.exists(py) and subprocess.run([py, '-c', 'import onnxruntime'], capture_output=True).returncode == 0:
        return py
    subprocess.run(['rm', '-rf', venv], check=True)
    subprocess.run(['/usr/bin/python3', '-m', 'venv', '--system-site-packages', venv], check=True)
    pip = os.path.join(venv, 'bin', 'pip')
    try:
        probe = subprocess.run([pip, 'index', 'versions', 'onnxruntime'], capture_output=True, text=True, timeout=60)
        ok = probe.returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    if not ok:
        print('onnx_bench.py: PyPI unreachable; no onnxruntime rows', file=sys.stderr)
        return None
    r = subprocess.run([pip, 'install', '--quiet', '--disable-pip-version-check', 'onnxruntime', 'numpy<2'],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f'onnx_bench.py: pip install onnxruntime failed; no onnxruntime rows:\n{r.stderr[-2000:]}',
              file=sys.stderr)
        return None
    return py


def parse_nets(text):
    nets = []
    for item in text.split(','):
        m = re.fullmatch(r'([a-z0-9_]+):([0-9.]+):([0-9]+)x([0-9]+)(?::([0-9]+))?', item.strip())
        if not m:
            raise SystemExit(f'onnx_bench.py: --nets "{item}": expected NAME:ALPHA:HxW[:WIDTH]')
        nets.append(dict(net=m.group(1), alpha=float(m.group(2)), size=(int(m.group(3)), int(m.group(4))),
                         width=int(m.group(5)) if m.group(5) else None))
    return nets


def octcl_tune_dir(a, f, batch):
    """The tuning folder of (model file f, batch) under --octcl-tune, else None."""
    if not a.octcl_tune:
        return None
    return os.path.join(a.work, 'tune', os.path.splitext(os.path.basename(f))[0] + f'_b{batch}')


def octcl_tune(a, f, batch, size):
    """`octcl tune` for (f, batch) into its folder: (seconds, None) or (seconds, error)."""
    d = octcl_tune_dir(a, f, batch)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    env = dict(os.environ, OCTCL_THREADS=str(a.threads), OCTCL_CACHE_DIR=d)
    cmd = [a.octcl, 'tune', '--device', 'cpu', '--model', f, '--shapes', f'{batch}x{size[0]}x{size[1]}',
           '--repeat', str(max(1, min(10, a.repeat))), '--quiet']
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, text=True, capture_output=True)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        return dt, f'octcl tune exit {p.returncode}: ' + (p.stderr.strip().splitlines() or ['(no message)'])[-1]
    return dt, None


def octcl_row(a, f, batch, env):
    cmd = [a.octcl, 'bench', '--model', f, '--batch', str(batch), '--device', 'cpu', '--repeat', str(a.repeat),
           '--warmup', str(a.warmup), '--json', '-']
    d = octcl_tune_dir(a, f, batch)
    if d:
        env = dict(env, OCTCL_CACHE_DIR=d)
    rc, out, err, peak = run_child(cmd, env)
    row = dict(peak_rss_mb=peak, base_rss_mb=None, engine_version=None, min_ms=None, median_ms=None)
    if rc != 0:
        row['error'] = f'octcl bench exit {rc}: ' + (err.strip().splitlines() or ['(no message)'])[-1]
        return row
    try:
        data = json.loads(out)
        rows = data if isinstance(data, list) else [data]
        r = next(r for r in rows if int(r.get('batch', batch)) == batch)
        row.update(min_ms=float(r['ms_min']), median_ms=float(r['ms_median']),
                   engine_version=f"octcl {r.get('octcl_version')}",
                   macs_executed=r.get('macs_executed_per_image'), tuning=r.get('tuning'))
    except (ValueError, KeyError, StopIteration, TypeError) as e:
        row['error'] = f'octcl bench output not understood ({type(e).__name__}: {e}): {out[:200]!r}'
    return row


def add_realised(rows):
    """speedup / theoretical / realised against the same engine, net and batch at alpha 0."""
    base = {(r['engine'], r['net'], r['size'], r['batch']): r for r in rows if r['alpha'] == 0 and r['min_ms']}
    for r in rows:
        b = base.get((r['engine'], r['net'], r['size'], r['batch']))
        if b and r['min_ms'] and r['macs']:
            r['speedup'] = b['min_ms'] / r['min_ms']
            r['theoretical'] = b['macs'] / r['macs']
            r['realised'] = r['speedup'] / r['theoretical']


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print('onnx_bench.py: no matplotlib (apt-get install python3-matplotlib); no PNG', file=sys.stderr)
        return
    engines = sorted({r['engine'] for r in rows})
    keys = []
    for r in rows:
        k = (r['net'], r['alpha'], r['size'], r['batch'])
        if k not in keys:
            keys.append(k)
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.1 * len(keys) + 2), 9))
    width = 0.8 / max(1, len(engines))
    for i, e in enumerate(engines):
        by = {(r['net'], r['alpha'], r['size'], r['batch']): r for r in rows if r['engine'] == e}
        xs = [j + (i - (len(engines) - 1) / 2) * width for j in range(len(keys))]
        axes[0].bar(xs, [(by.get(k) or {}).get('min_ms') or 0 for k in keys], width, label=e)
        axes[1].bar(xs, [(by.get(k) or {}).get('peak_rss_mb') or 0 for k in keys], width, label=e)
        for x, k in zip(xs, keys):   # a row that ran no pass: say so instead of a bar
            if k in by and not by[k].get('min_ms'):
                axes[0].text(x, 1, 'failed', rotation=90, ha='center', va='bottom', fontsize=7)
    labels = [f'{n}\na={al:g} {s} b={b}' for (n, al, s, b) in keys]
    for ax, yl in zip(axes, ('min ms per pass (log)', 'peak RSS MB (own process)')):
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_ylabel(yl)
        ax.legend()
    axes[0].set_yscale('log')
    r0 = rows[0]
    fig.suptitle(f"{r0['cpu']}, {r0['threads']} threads, min of {r0['repeat']} passes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f'onnx_bench.py: wrote {path}', file=sys.stderr)


def table(rows):
    """A markdown table: one line per (net, alpha, size, batch), min ms per engine, and each
    engine's realised fraction of the MAC saving against its own alpha 0."""
    engines = [e for e in ('octcl', 'ort', 'pytorch') if any(r['engine'] == e for r in rows)]
    by = {(r['engine'], r['net'], r['alpha'], r['size'], r['batch']): r for r in rows}
    keys = []
    for r in rows:
        k = (r['net'], r['alpha'], r['size'], r['batch'])
        if k not in keys:
            keys.append(k)
    executed = any(r.get('macs_executed') for r in rows if r['engine'] == 'octcl')
    paired = [e for e in engines if any(r.get('paired_ms') for r in rows if r['engine'] == e)]
    head = ['net', 'alpha', 'size', 'batch', 'GMACs'] + (['octcl GMACs executed'] if executed else []) + \
        [f'{e} ms' for e in engines] + [f'{e} realised' for e in engines] + \
        [f'{e} paired ms (alpha 0 / alpha)' for e in paired] + [f'{e} realised, paired' for e in paired]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for (n, al, sz, b) in keys:
        cells = [n, f'{al:g}', sz, str(b)]
        rs = [by.get((e, n, al, sz, b)) or {} for e in engines]
        macs = next((r['macs'] for r in rs if r.get('macs')), None)
        cells.append(f'{macs / 1e9:.3f}' if macs else '')
        if executed:
            ex = (by.get(('octcl', n, al, sz, b)) or {}).get('macs_executed')
            cells.append(f'{ex / 1e9:.3f}' if ex else '')
        cells += [f"{r['min_ms']:.2f}" if r.get('min_ms') else ('failed' if r else '') for r in rs]
        cells += [f"{r['realised']:.2f}" if r.get('realised') is not None else '' for r in rs]
        ps = [by.get((e, n, al, sz, b)) or {} for e in paired]
        cells += [f"{r['paired_alpha0_ms']:.2f} / {r['paired_ms']:.2f}" if r.get('paired_ms') else
                  r.get('paired_error', '') and 'failed' for r in ps]
        cells += [f"{r['paired_realised']:.2f}" if r.get('paired_realised') is not None else '' for r in ps]
        lines.append('| ' + ' | '.join(cells) + ' |')
    r0 = rows[0]
    rounds = f" (best of {r0['rounds']} rounds, engines alternated)" if r0.get('rounds', 1) > 1 else ''
    lines.append(f"\n{r0['cpu']}, {r0['threads']} threads, min of {r0['repeat']} passes after {r0['warmup']}{rounds}; "
                 'realised = (t at alpha 0 / t) / (MACs at alpha 0 / MACs), same engine and batch'
                 + (' (the model\'s MACs; "octcl GMACs executed" counts the multiply-adds octcl ran, '
                    'fewer where Winograd serves 3x3 layers).' if executed else '.'))
    if paired:
        lines.append('Paired (--paired): octcl on each alpha and its alpha 0 in one process, passes '
                     'alternated, minima over the rounds; realised from those two minima.')
    if any(r.get('tune_s') is not None for r in rows if r['engine'] == 'octcl'):
        lines.append('octcl: tuned for each row first (`octcl tune --shapes BxHxW`, --octcl-tune); '
                     'each row\'s JSON "tuning" says what ran.')
    return '\n'.join(lines)


def measure(a, e, n, meta, f, state, b, cpu, ort_py):
    """One child of engine e on (net n, batch b): its row, or None when e cannot run here."""
    row = dict(engine=e, net=n['net'], alpha=meta['alpha'], batch=b, size=f"{n['size'][0]}x{n['size'][1]}",
               width=meta['width'], macs=meta['macs_per_image'], threads=a.threads, repeat=a.repeat,
               warmup=a.warmup, rounds=a.rounds, cpu=cpu, model_file=f, error=None,
               timestamp=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
    if e == 'octcl':
        if not a.octcl:
            return None
        env = dict(os.environ, OCTCL_THREADS=str(a.threads))
        row.update(octcl_row(a, f, b, env))
    else:
        if e == 'ort' and not ort_py:
            return None
        py = ort_py if e == 'ort' else '/usr/bin/python3'
        cmd = [py, os.path.abspath(__file__), '--worker', e, '--model', f, '--state', state,
               '--net', n['net'], '--alpha', str(meta['alpha']), '--classes', str(meta['classes']),
               '--width', str(meta['width'] or 0), '--size', row['size'], '--batch1', str(b),
               '--threads', str(a.threads), '--repeat', str(a.repeat), '--warmup', str(a.warmup),
               '--seed', str(a.seed)]
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
        rc, out, err, peak = run_child(cmd, env)
        row.update(peak_rss_mb=peak, min_ms=None, median_ms=None, base_rss_mb=None, engine_version=None)
        if rc == 0:
            row.update(json.loads(out.strip().splitlines()[-1]))
        else:
            row['error'] = f'{e} worker exit {rc}: ' + (err.strip().splitlines() or ['?'])[-1]
    if row['error']:
        row['peak_rss_mb'] = None   # the peak of a run that failed says nothing
    if row.get('min_ms'):
        row['images_per_second'] = b * 1e3 / row['min_ms']
        row['gflops'] = 2 * row['macs'] * b / row['min_ms'] / 1e6
    return row


def measure_pair(a, n, f0, f, b):
    """One --paired octcl child: (alpha-0 ms, alpha ms, error) minima of its alternated passes."""
    env = dict(os.environ, OCTCL_LIBRARY=os.path.join(os.path.dirname(a.octcl), 'liboctcl.so'), PYTHONPATH=PY)
    cmd = ['/usr/bin/python3', os.path.abspath(__file__), '--worker', 'pair-octcl', '--model', f0, '--model2', f,
           '--size', f"{n['size'][0]}x{n['size'][1]}", '--batch1', str(b), '--threads', str(a.threads),
           '--repeat', str(a.repeat), '--warmup', str(a.warmup), '--seed', str(a.seed)]
    rc, out, err, _ = run_child(cmd, env)
    if rc != 0:
        return None, None, f'octcl pair worker exit {rc}: ' + (err.strip().splitlines() or ['?'])[-1]
    d = json.loads(out.strip().splitlines()[-1])
    return d['min_ms'][0], d['min_ms'][1], None


def paired_rounds(a, prepared, batches, rows):
    """--paired: for every net measured at alpha 0 and at another alpha (same size and width),
    each batch, --rounds octcl pair children (pair_worker); the alpha row gets
    paired_ms / paired_alpha0_ms (minima over the rounds) and paired_realised."""
    zero = {(n['net'], n['size'], n['width']): f for n, meta, f, _ in prepared if meta['alpha'] == 0}
    pairs = [(n, meta, zero[(n['net'], n['size'], n['width'])], f) for n, meta, f, _ in prepared
             if meta['alpha'] != 0 and (n['net'], n['size'], n['width']) in zero]
    best = {}
    for rnd in range(a.rounds):
        for n, meta, f0, f in pairs:
            for b in batches:
                t0, t, err = measure_pair(a, n, f0, f, b)
                r = best.setdefault(('octcl', n['net'], meta['alpha'], b), dict(t0=[], t=[], error=None))
                tag = f"  octcl    {n['net']:13s} a=0|{meta['alpha']:<5g} b={b:<3d}"
                if err:
                    r['error'] = err
                    print(f'{tag}    -- {err}', file=sys.stderr)
                    continue
                r['t0'].append(t0)
                r['t'].append(t)
                print(f'{tag} {t0:9.2f} | {t:.2f} ms paired, round {rnd + 1}/{a.rounds}', file=sys.stderr)
    for row in rows:
        r = best.get((row['engine'], row['net'], row['alpha'], row['batch']))
        if not r:
            continue
        if r['error'] or not r['t']:
            row['paired_error'] = r['error']
            continue
        row['paired_ms'], row['paired_alpha0_ms'] = min(r['t']), min(r['t0'])
        row['paired_round_ms'] = list(zip(r['t0'], r['t']))
        if row.get('theoretical'):
            row['paired_realised'] = row['paired_alpha0_ms'] / row['paired_ms'] / row['theoretical']


def merge_rounds(rs):
    """One engine's rows of the rounds as one: the fastest round's row, with the median of the
    rounds' medians, the largest peak memory and every round's minimum; a failed round makes the
    row failed (its error kept)."""
    bad = [r for r in rs if r['error'] or not r.get('min_ms')]
    if bad:
        return bad[0]
    row = dict(min(rs, key=lambda r: r['min_ms']))
    row['median_ms'] = statistics.median(r['median_ms'] for r in rs)
    peaks = [r['peak_rss_mb'] for r in rs if r.get('peak_rss_mb')]
    row['peak_rss_mb'] = max(peaks) if peaks else None
    row['round_min_ms'] = [r['min_ms'] for r in rs]
    return row


def main(argv):
    ap = argparse.ArgumentParser(description='octcl vs onnxruntime vs PyTorch on the same ONNX files.')
    ap.add_argument('--nets', default=DEFAULT_NETS, help='NAME:ALPHA:HxW[:WIDTH],... (default %(default)s)')
    ap.add_argument('--batch', default='1,8', help='batch sizes (default %(default)s)')
    ap.add_argument('--threads', type=int, default=2, help='threads of every engine (default 2)')
    ap.add_argument('--repeat', type=int, default=20, help='timed passes (default 20)')
    ap.add_argument('--warmup', type=int, default=3, help='untimed passes first (default 3)')
    ap.add_argument('--rounds', type=int, default=1,
                    help='children per engine, alternated; each engine keeps its best (default 1)')
    ap.add_argument('--engines', default='ort,pytorch,octcl', help='subset of ort,pytorch,octcl')
    ap.add_argument('--octcl', help='the octcl binary (no octcl rows without it)')
    ap.add_argument('--octcl-tune', action='store_true',
                    help='run `octcl tune` once per (network, batch) first; octcl rows run its winners')
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--work', default=os.path.join(ROOT, 'build', 'onnx-bench'),
                    help='models, venv and results (default %(default)s)')
    ap.add_argument('--venv', help='the onnxruntime virtual environment, made there when missing '
                    '(default WORK/ort-venv)')
    ap.add_argument('--json', help='rows (default WORK/onnx_bench.json)')
    ap.add_argument('--png', help='plot (default WORK/onnx_bench.png)')
    ap.add_argument('--paired', action='store_true',
                    help='also time octcl on each alpha and its alpha 0 in one process, passes '
                    'alternated (paired_realised; see pair_worker)')
    ap.add_argument('--from-json', metavar='FILE', help='measure nothing: the table and PNG of earlier rows')
    # worker mode (internal)
    ap.add_argument('--worker', choices=('ort', 'pytorch', 'pair-octcl'), help=argparse.SUPPRESS)
    ap.add_argument('--model', help=argparse.SUPPRESS)
    ap.add_argument('--model2', help=argparse.SUPPRESS)
    ap.add_argument('--state', help=argparse.SUPPRESS)
    ap.add_argument('--net', help=argparse.SUPPRESS)
    ap.add_argument('--alpha', type=float, help=argparse.SUPPRESS)
    ap.add_argument('--width', type=int, help=argparse.SUPPRESS)
    ap.add_argument('--classes', type=int, help=argparse.SUPPRESS)
    ap.add_argument('--size', help=argparse.SUPPRESS)
    ap.add_argument('--batch1', type=int, dest='batch_one', help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        a.size = tuple(int(v) for v in a.size.split('x'))
        a.batch = a.batch_one
        return pair_worker(a) if a.worker.startswith('pair-') else worker(a)

    if a.from_json:
        with open(a.from_json) as f:
            rows = json.load(f)
        print(table(rows))
        if a.png:
            plot(rows, a.png)
        return 0

    if a.rounds < 1:
        ap.error(f'--rounds {a.rounds}: must be 1 or more')
    engines = [e for e in a.engines.split(',') if e]
    if any(e not in ('ort', 'pytorch', 'octcl') for e in engines):
        ap.error(f'--engines {a.engines}: expected a subset of ort,pytorch,octcl')
    batches = [int(b) for b in a.batch.split(',')]
    nets = parse_nets(a.nets)
    os.makedirs(a.work, exist_ok=True)
    json_path = a.json or os.path.join(a.work, 'onnx_bench.json')
    png_path = a.png or os.path.join(a.work, 'onnx_bench.png')
    cpu = cpu_model()
    print(f'onnx_bench.py: CPU {cpu}, {a.threads} threads, min/median of {a.repeat} passes after {a.warmup}',
          file=sys.stderr)

    ort_py = ensure_venv(a.venv or os.path.join(a.work, 'ort-venv')) if 'ort' in engines else None
    if 'octcl' in engines and not a.octcl:
        print('onnx_bench.py: no --octcl: no octcl rows', file=sys.stderr)
    if a.octcl and not os.access(a.octcl, os.X_OK):
        ap.error(f'--octcl {a.octcl}: not an executable file')
    if a.octcl:
        a.octcl = os.path.abspath(a.octcl)

    import torch
    import make_onnx
    torch.set_num_threads(a.threads)
    models = os.path.join(a.work, 'models')
    rows = []
    prepared = []
    for n in nets:
        tag = f"{n['net']}_a{n['alpha']:g}_{n['size'][0]}x{n['size'][1]}" + (f"_w{n['width']}" if n['width'] else '')
        meta = make_onnx.export(n['net'], n['alpha'], n['size'], 1, 17, a.seed, models, width=n['width'], tag=tag,
                                quiet=True)
        f = os.path.join(models, tag + '.onnx')
        state = os.path.join(models, tag + '.pt')
        # the same weights make_onnx exported (build is deterministic for these arguments)
        model = make_onnx.build(n['net'], meta['alpha'], meta['classes'], meta['width'], a.seed,
                                make_onnx.make_input(2, n['size'][0], n['size'][1], a.seed + 2))
        torch.save(model.state_dict(), state)
        del model
        print(f"{tag}: {meta['macs_per_image'] / 1e9:.3f} GMACs/image, {meta['parameters'] / 1e6:.2f} M params",
              file=sys.stderr)
        prepared.append((n, meta, f, state))
    # Round after round over every row (not a row's rounds back to back), so a spell in
    # which the VM loses a core hits one round of many rows instead of every round of one
    # row, and a row and its alpha-0 row (realised) are sampled across the same minutes.
    tuned = {}
    if a.octcl_tune and a.octcl and 'octcl' in engines:
        for n, meta, f, state in prepared:
            for b in batches:
                tuned[(f, b)] = octcl_tune(a, f, b, n['size'])
                dt, err = tuned[(f, b)]
                print(f"  octcl tune {os.path.basename(f)} b={b}: {dt:.1f} s" + (f' -- {err}' if err else ''),
                      file=sys.stderr)
    best = {}
    for rnd in range(a.rounds):
        for i, (n, meta, f, state) in enumerate(prepared):
            for b in batches:
                for e in engines:
                    row = measure(a, e, n, meta, f, state, b, cpu, ort_py)
                    if row is None:
                        continue
                    if e == 'octcl' and (f, b) in tuned:
                        row['tune_s'], err = tuned[(f, b)]
                        if err and not row['error']:
                            row['error'], row['min_ms'], row['peak_rss_mb'] = err, None, None
                    t = f"{row['min_ms']:9.2f} ms (median {row['median_ms']:.2f})" if row.get('min_ms') else \
                        f"   -- {row['error']}"
                    pk = f"{row['peak_rss_mb']:.0f} MB" if row.get('peak_rss_mb') else '--'
                    rd = f' round {rnd + 1}/{a.rounds}' if a.rounds > 1 else ''
                    print(f"  {e:8s} {n['net']:13s} a={meta['alpha']:<5g} b={b:<3d} {t}  peak {pk}{rd}",
                          file=sys.stderr)
                    best.setdefault((i, b), {}).setdefault(e, []).append(row)
    for i in range(len(prepared)):
        for b in batches:
            rows += [merge_rounds(rs) for rs in best.get((i, b), {}).values()]
    add_realised(rows)
    if a.paired and a.octcl and 'octcl' in engines:
        paired_rounds(a, prepared, batches, rows)
    write_json(json_path, rows)
    print(f'onnx_bench.py: wrote {json_path}', file=sys.stderr)
    if rows:
        plot(rows, png_path)
        print(table(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
