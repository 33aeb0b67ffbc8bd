#!/usr/bin/env python3
"""Oct-ResNet-50 (d-li14's definition, python/zoo.py) for the GPU acceptance run: export
the ONNX files octcl runs (one per alpha, through python/make_onnx.py) and time the same
networks, same weights, in PyTorch on a device (cuDNN on "cuda", FP32: TF32 off).

  resnet_gpu.py --out DIR [--alphas 0,0.5] [--size 224x224] [--batch 1,64]
                [--device cuda|cpu] [--repeat 20] [--warmup 3] [--export-only]

Writes DIR/oct_resnet50_a<alpha>_<H>x<W>.onnx (+ make_onnx's side files) and, unless
--export-only, DIR/pytorch_resnet50_<device>.json: one row per (alpha, batch) with
min_ms, median_ms, macs (per image), device and torch version. Exit 0 on success.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'python'))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True)
    ap.add_argument('--alphas', default='0,0.5')
    ap.add_argument('--size', default='224x224')
    ap.add_argument('--batch', default='1,64')
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--repeat', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--export-only', action='store_true')
    a = ap.parse_args(argv)
    import torch
    import make_onnx
    h, w = (int(v) for v in a.size.lower().split('x'))
    alphas = [float(v) for v in a.alphas.split(',')]
    batches = [int(v) for v in a.batch.split(',')]
    os.makedirs(a.out, exist_ok=True)
    if a.device == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    rows = []
    for alpha in alphas:
        tag = f'oct_resnet50_a{alpha:g}_{h}x{w}'
        meta = make_onnx.export('oct_resnet50', alpha, (h, w), 1, 17, a.seed, a.out, tag=tag, quiet=True)
        print(f'{tag}.onnx: {meta["macs_per_image"] / 1e9:.3f} GMACs/image', file=sys.stderr)
        if a.export_only:
            continue
        model = make_onnx.build('oct_resnet50', meta['alpha'], meta['classes'], meta['width'], a.seed,
                                make_onnx.make_input(2, h, w, a.seed + 2)).to(a.device).eval()
        for b in batches:
            x = torch.from_numpy(make_onnx.make_input(b, h, w, a.seed)).to(a.device)
            times = []
            with torch.inference_mode():
                for i in range(a.warmup + a.repeat):
                    if a.device == 'cuda':
                        torch.cuda.synchronize()
                    t = time.perf_counter()
                    model(x)
                    if a.device == 'cuda':
                        torch.cuda.synchronize()
                    if i >= a.warmup:
                        times.append((time.perf_counter() - t) * 1e3)
            times.sort()
            row = dict(engine='pytorch', net='oct_resnet50', alpha=alpha, batch=b, size=f'{h}x{w}',
                       device=a.device, macs=meta['macs_per_image'], min_ms=times[0],
                       median_ms=times[len(times) // 2], torch=torch.__version__,
                       gpu=torch.cuda.get_device_name(0) if a.device == 'cuda' else '')
            rows.append(row)
            print(f'pytorch {a.device} alpha {alpha:g} batch {b}: {times[0]:.3f} ms', file=sys.stderr)
        del model
    if not a.export_only:
        path = os.path.join(a.out, f'pytorch_resnet50_{a.device}.json')
        with open(path + '.tmp', 'w') as f:
            json.dump(rows, f, indent=1)
        os.replace(path + '.tmp', path)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
