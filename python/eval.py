#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (it has torch 1.13 CPU and numpy);
# the `python3` first on PATH may be another interpreter that cannot import torch.
"""Test accuracy and top-1 predictions of a trained OctNetMini safetensors model.

  /usr/bin/python3 python/eval.py models/octnet_fmnist_a0.50.safetensors [--write-top1]

alpha, mean and std come from the file's metadata (override with --alpha/--mean/--std).
--write-top1 writes tests/fixtures/fmnist_<alpha>_pytorch_top1.npy (float32 labels of
all 10,000 test images; or --top1-out PATH).
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from export import load  # noqa: E402
from fmnist import evaluate, load_split, top1_fixture_path  # noqa: E402
from octnet import OctNetMini  # noqa: E402


def load_model(path, alpha=None):
    sd, md = load(path)
    a = float(md['alpha']) if alpha is None else alpha
    cin = sd['stem.0.weight'].shape[1]
    ncls = sd['fc.weight'].shape[0]
    model = OctNetMini(in_channels=cin, num_classes=ncls, alpha=a)
    model.load_state_dict(sd, strict=True)
    return model.eval(), md, a


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('model')
    ap.add_argument('--alpha', type=float, default=None)
    ap.add_argument('--mean', type=float, default=None)
    ap.add_argument('--std', type=float, default=None)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--write-top1', action='store_true')
    ap.add_argument('--top1-out', default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    model, md, alpha = load_model(args.model, args.alpha)
    mean = args.mean if args.mean is not None else float(md.get('mean', '0.2860'))
    std = args.std if args.std is not None else float(md.get('std', '0.3530'))
    x, y = load_split('t10k')
    acc, preds = evaluate(model, x, y, mean, std)
    print(f'{args.model}: alpha {alpha} mean {mean} std {std}: test accuracy {acc:.4f} '
          f'({int((preds == y).sum())}/{len(y)}); metadata says {md.get("test_accuracy", "?")}')
    if args.write_top1 or args.top1_out:
        out = args.top1_out or top1_fixture_path(alpha)
        np.save(out, preds.astype(np.float32))
        print(f'wrote {out}')


if __name__ == '__main__':
    main()
