#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (it has torch 1.13 CPU and numpy);
# the `python3` first on PATH may be another interpreter that cannot import torch.
"""Train OctNetMini(in_channels=1, num_classes=10, alpha) on Fashion-MNIST.

SGD (momentum 0.9, Nesterov, weight decay 5e-4), OneCycleLR, batch 128, random
horizontal flip and random shift of up to 2 pixels (zero padding in pixel space),
x = (pixel/255 - mean)/std with mean/std measured on the training set (rounded to
4 decimals: 0.2860 / 0.3530), fixed seed.

Time budget: --max-minutes bounds the whole run (training + evaluation).  The first
--probe-steps steps measure the speed and size the schedule to the number of steps
that fit (never more than --epochs epochs).  The schedule is OneCycleLR's (cosine,
pct_start 0.3, div_factor 25, final_div_factor 1e3, momentum cycled 0.95 -> 0.85 ->
0.95, mean 0.9), computed here from progress = max(step / total_steps,
train_time / train_budget), so that it still anneals fully by the deadline when the
shared CPU slows down; training ends when progress reaches 1.

After training: model.eval(), top-1 accuracy on all 10,000 test images, export to
--out (safetensors, metadata alpha/mean/std/test_accuracy/epochs/seed/steps/...),
PyTorch top-1 predictions to tests/fixtures/fmnist_<alpha>_pytorch_top1.npy
(float32), and models/README.md regenerated from all models' metadata.

Example:
  nice -n 10 /usr/bin/python3 python/train.py --alpha 0.5 --max-minutes 12 \
      --out models/octnet_fmnist_a0.50.safetensors
"""
import argparse
import datetime
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from export import export  # noqa: E402
from fmnist import (ROOT, alpha_tag, evaluate, load_split, measure_mean_std,  # noqa: E402
                    top1_fixture_path, write_models_readme)
from octnet import OctNetMini, count_params  # noqa: E402


def augment(xb, gen, shift=2):
    """xb: float (B,1,28,28) in pixel/255 space -> random hflip + random shift."""
    B, _, H, W = xb.shape
    flip = torch.rand(B, generator=gen) < 0.5
    xb = torch.where(flip.view(B, 1, 1, 1), xb.flip(-1), xb)
    if shift > 0:
        pad = F.pad(xb, (shift, shift, shift, shift))
        d = torch.randint(0, 2 * shift + 1, (B, 2), generator=gen)
        out = torch.empty_like(xb)
        for i in range(B):
            dy, dx = int(d[i, 0]), int(d[i, 1])
            out[i] = pad[i, :, dy:dy + H, dx:dx + W]
        xb = out
    return xb


def _cos(start, end, pct):
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)


def one_cycle(progress, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e3,
              base_momentum=0.85, max_momentum=0.95):
    """(lr, momentum) of torch's OneCycleLR (cos annealing) at progress in [0, 1]."""
    p = min(max(progress, 0.0), 1.0)
    initial = max_lr / div_factor
    final = initial / final_div_factor
    if p < pct_start:
        q = p / pct_start
        return _cos(initial, max_lr, q), _cos(max_momentum, base_momentum, q)
    q = (p - pct_start) / (1.0 - pct_start)
    return _cos(max_lr, final, q), _cos(base_momentum, max_momentum, q)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--alpha', type=float, default=0.5)
    ap.add_argument('--epochs', type=float, default=10.0, help='planned epochs (upper bound on steps)')
    ap.add_argument('--max-minutes', type=float, default=12.0, help='wall-clock budget for the whole run')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--max-lr', type=float, default=0.1)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--probe-steps', type=int, default=20)
    ap.add_argument('--out', default=None, help='default models/octnet_fmnist_a<alpha>.safetensors')
    ap.add_argument('--top1-out', default=None, help='default tests/fixtures/fmnist_<alpha>_pytorch_top1.npy; "none" to skip')
    ap.add_argument('--no-readme', action='store_true', help='do not regenerate models/README.md')
    ap.add_argument('--eval-limit', type=int, default=0, help='evaluate only the first N test images (smoke runs)')
    args = ap.parse_args(argv)

    t0 = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)
    if args.out is None:
        args.out = os.path.join(ROOT, 'models', f'octnet_fmnist_a{alpha_tag(args.alpha)}.safetensors')
    if args.top1_out is None:
        args.top1_out = top1_fixture_path(args.alpha)

    xtr, ytr = load_split('train')
    xte, yte = load_split('t10k')
    m_meas, s_meas = measure_mean_std(xtr)
    mean, std = round(m_meas, 4), round(s_meas, 4)
    print(f'train mean/std measured {m_meas:.6f}/{s_meas:.6f} -> using {mean:.4f}/{std:.4f}', flush=True)

    Xtr = torch.from_numpy(xtr.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    Ytr = torch.from_numpy(ytr)
    n = Xtr.shape[0]
    steps_per_epoch = n // args.batch            # drop_last
    planned = max(1, int(round(args.epochs * steps_per_epoch)))

    model = OctNetMini(in_channels=1, num_classes=10, alpha=args.alpha)
    print(f'alpha {args.alpha}: {count_params(model)} params, {steps_per_epoch} steps/epoch, '
          f'planned <= {planned} steps, budget {args.max_minutes} min, {args.threads} thread(s)', flush=True)
    opt = torch.optim.SGD(model.parameters(), lr=args.max_lr / 25.0, momentum=0.9,
                          nesterov=True, weight_decay=5e-4)
    crit = nn.CrossEntropyLoss()

    perm = torch.randperm(n, generator=gen)
    pos = 0
    step = 0
    total = None
    budget_s = args.max_minutes * 60.0
    train_budget = None
    t_probe0 = None
    loss_ema = None
    correct = seen = 0
    progress = 0.0
    lr, mom = one_cycle(0.0, args.max_lr)
    model.train()
    while progress < 1.0:
        for g in opt.param_groups:
            g['lr'] = lr
            g['momentum'] = mom
        if pos + args.batch > n:
            perm = torch.randperm(n, generator=gen)
            pos = 0
        idx = perm[pos:pos + args.batch]
        pos += args.batch
        xb = augment(Xtr[idx], gen)
        xb = (xb - mean) / std
        yb = Ytr[idx]
        out = model(xb)
        loss = crit(out, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        lv = float(loss)
        loss_ema = lv if loss_ema is None else 0.95 * loss_ema + 0.05 * lv
        correct += int((out.argmax(1) == yb).sum())
        seen += yb.shape[0]

        if step == 3:
            t_probe0 = time.time()
        if total is None and step == max(args.probe_steps, 4):
            per_step = (time.time() - t_probe0) / (step - 3)
            elapsed = time.time() - t0
            # evaluation of 10k images ~ 10000/batch forward passes ~ 1/3 of a train step each
            eval_s = (10000 / args.batch) * per_step / 3.0 + 20.0
            train_budget = budget_s - eval_s
            fit = step + int(max(0.0, train_budget - elapsed) / per_step * 0.95)
            total = max(step + 1, min(planned, fit))
            print(f'probe: {per_step:.3f} s/step -> one-cycle over {total} steps '
                  f'({total / steps_per_epoch:.2f} epochs), training budget {train_budget:.0f} s', flush=True)
        if total is not None:
            progress = max(step / total, (time.time() - t0) / train_budget)
        elif step >= planned:
            progress = 1.0
        lr, mom = one_cycle(progress, args.max_lr)
        if step % 25 == 0 or progress >= 1.0:
            print(f'step {step}/{total if total else "?"} progress {progress:.3f} loss(ema) {loss_ema:.4f} '
                  f'train acc {correct / max(1, seen):.4f} lr {opt.param_groups[0]["lr"]:.4f} '
                  f'{time.time() - t0:.0f}s', flush=True)
            correct = seen = 0
    steps_done = step
    train_s = time.time() - t0

    model.eval()
    if args.eval_limit:
        xte, yte = xte[:args.eval_limit], yte[:args.eval_limit]
    acc, preds = evaluate(model, xte, yte, mean, std)
    print(f'test accuracy {acc:.4f} on {len(yte)} images ({steps_done} steps, '
          f'{steps_done / steps_per_epoch:.3f} epochs, train {train_s / 60:.1f} min)', flush=True)

    md = {
        'alpha': str(float(args.alpha)),
        'mean': f'{mean:.4f}',
        'std': f'{std:.4f}',
        'test_accuracy': f'{acc:.4f}',
        'test_images': str(len(yte)),
        'epochs': f'{steps_done / steps_per_epoch:.3f}',
        'steps': str(steps_done),
        'schedule_steps': str(total),
        'schedule': 'one-cycle over max(step/schedule_steps, time/budget)',
        'batch': str(args.batch),
        'max_lr': str(args.max_lr),
        'seed': str(args.seed),
        'in_channels': '1',
        'num_classes': '10',
        'dataset': 'Fashion-MNIST',
        'optimizer': 'SGD momentum 0.9 nesterov wd 5e-4, OneCycleLR, hflip + shift<=2px',
        'trained_on': '{} CPU, {} thread(s), torch {}, {:.1f} min, {}'.format(
            platform.machine(), args.threads, torch.__version__, train_s / 60.0,
            datetime.date.today().isoformat()),
    }
    export(model, args.out, md)
    print(f'wrote {args.out}', flush=True)
    if args.top1_out and args.top1_out != 'none':
        os.makedirs(os.path.dirname(os.path.abspath(args.top1_out)), exist_ok=True)
        np.save(args.top1_out, preds.astype(np.float32))
        print(f'wrote {args.top1_out}', flush=True)
    if not args.no_readme:
        write_models_readme(os.path.dirname(os.path.abspath(args.out)))
        print('updated models/README.md', flush=True)
    print(f'done in {(time.time() - t0) / 60:.1f} min', flush=True)


if __name__ == '__main__':
    main()
