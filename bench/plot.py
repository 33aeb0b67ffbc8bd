#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 with python3-matplotlib installed
# (apt-get install -y python3-matplotlib); the `python3` first on PATH may lack it.
"""plot.py — figures from the JSON rows of `octcl bench` and bench/pytorch_bench.py.

    bench/plot.py octcl.json pytorch.json --out plots/

writes, into --out:
  latency_vs_alpha.png   ms_min against alpha, one panel per (size, batch), one line
                         per device (log y); the band reaches up to ms_median
  speedup_vs_alpha.png   measured speedup (ms_min at alpha 0 / ms_min) against alpha,
                         one panel per (size, batch), beside the MAC ratio
                         (theoretical_speedup, dashed)
  accuracy_vs_macs.png   accuracy against MACs per image, one point per (device, alpha)
                         (only when some row has an accuracy, i.e. octcl bench --models)
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402


def load(paths):
    rows = []
    for p in paths:
        try:
            with open(p) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f'plot.py: error: {p}: {e}')
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            sys.exit(f'plot.py: error: {p}: expected a JSON array of row objects')
        for r in data:
            missing = [k for k in ('device', 'backend', 'alpha', 'batch', 'size', 'ms_min') if k not in r]
            if missing:
                sys.exit(f'plot.py: error: {p}: a row lacks {", ".join(missing)}')
            rows.append(r)
    return rows


def label(r):
    return f'{r["device"]} [{r["backend"]}]'


def panels(rows):
    """(size, batch) -> device label -> rows sorted by alpha."""
    out = OrderedDict()
    keys = sorted({(r['size'], r['batch']) for r in rows},
                  key=lambda k: (tuple(int(v) for v in k[0].split('x')), k[1]))
    for k in keys:
        devs = OrderedDict()
        for r in rows:
            if (r['size'], r['batch']) == k:
                devs.setdefault(label(r), []).append(r)
        for v in devs.values():
            v.sort(key=lambda r: r['alpha'])
        out[k] = devs
    return out


def grid(n):
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def note(fig, rows):
    reps = sorted({(r.get('warmup'), r.get('repeat')) for r in rows})
    text = '; '.join(f'{w} warm-up, {n} timed passes' for w, n in reps)
    stamps = sorted({r.get('timestamp') for r in rows if r.get('timestamp')})
    fig.text(0.01, 0.005, f'ms_min of the timed passes ({text}). Runs: {", ".join(stamps)}', fontsize=7,
             color='0.35')


def plot_latency(rows, path):
    ps = panels(rows)
    fig, axes = grid(len(ps))
    for ax, ((size, batch), devs) in zip(axes, ps.items()):
        for name, rs in devs.items():
            a = [r['alpha'] for r in rs]
            lo = [r['ms_min'] for r in rs]
            hi = [r.get('ms_median') or r['ms_min'] for r in rs]
            line, = ax.plot(a, lo, 'o-', label=name)
            ax.fill_between(a, lo, hi, color=line.get_color(), alpha=0.15)
        ax.set_yscale('log')
        ax.set_xlabel('alpha (fraction of low-frequency channels)')
        ax.set_ylabel('ms per forward pass (min; band to median)')
        ax.set_title(f'OctNetMini latency, {size}, batch {batch}')
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize=7)
    note(fig, rows)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_speedup(rows, path):
    ps = panels(rows)
    fig, axes = grid(len(ps))
    for ax, ((size, batch), devs) in zip(axes, ps.items()):
        theory = {}
        for name, rs in devs.items():
            pts = [(r['alpha'], r['speedup']) for r in rs if r.get('speedup') is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], 'o-', label=name)
            for r in rs:
                if r.get('theoretical_speedup') is not None:
                    theory[r['alpha']] = r['theoretical_speedup']
        if theory:
            a = sorted(theory)
            ax.plot(a, [theory[x] for x in a], 'k--', lw=1.5, label='MAC ratio (theoretical)')
        ax.axhline(1.0, color='0.6', lw=0.8)
        measured = [r['speedup'] for rs in devs.values() for r in rs if r.get('speedup')]
        if measured and theory and (max(measured) > 2 * max(theory.values()) or min(measured) < 0.5):
            ax.set_yscale('log', base=2)   # an outlier would flatten every other line
            ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_xlabel('alpha (fraction of low-frequency channels)')
        ax.set_ylabel('speedup over alpha 0 (ms_min ratio)')
        ax.set_title(f'OctNetMini speedup, {size}, batch {batch}')
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    note(fig, rows)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_accuracy(rows, path):
    pts = OrderedDict()
    for r in rows:
        if r.get('accuracy') is not None:
            pts.setdefault(label(r), {})[r['alpha']] = (r['macs_per_image'], r['accuracy'], r.get('accuracy_images'))
    if not pts:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for name, by_alpha in pts.items():
        a = sorted(by_alpha)
        ax.plot([by_alpha[x][0] / 1e6 for x in a], [100 * by_alpha[x][1] for x in a], 'o-', label=name)
        for x in a:
            ax.annotate(f'a={x:g}', (by_alpha[x][0] / 1e6, 100 * by_alpha[x][1]), textcoords='offset points',
                        xytext=(4, 4), fontsize=7)
    n = sorted({v[2] for d in pts.values() for v in d.values() if v[2]})
    ax.set_xlabel('MMACs per image')
    ax.set_ylabel(f'accuracy, % of the first {"/".join(map(str, n))} Fashion-MNIST test images')
    ax.set_title('OctNetMini accuracy against compute')
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv):
    ap = argparse.ArgumentParser(description='Plot the JSON rows of octcl bench and bench/pytorch_bench.py.')
    ap.add_argument('json', nargs='+', help='JSON files written with --json')
    ap.add_argument('--out', default='.', help='folder for the PNG files (default: the current one)')
    a = ap.parse_args(argv)
    rows = load(a.json)
    if not rows:
        sys.exit('plot.py: error: the files hold no rows')
    os.makedirs(a.out, exist_ok=True)
    written = []
    for name, fn in (('latency_vs_alpha.png', plot_latency), ('speedup_vs_alpha.png', plot_speedup),
                     ('accuracy_vs_macs.png', plot_accuracy)):
        path = os.path.join(a.out, name)
        if fn(rows, path) is not False:
            written.append(path)
    for p in written:
        print(p)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
