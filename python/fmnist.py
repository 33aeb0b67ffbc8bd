#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (it has torch 1.13 CPU and numpy).
"""Fashion-MNIST from Debian's IDX files, normalisation, evaluation, models/README.md.

Files: /usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
(read with gzip + numpy; no torchvision).
Normalisation: x = (pixel / 255 - mean) / std.
"""
import glob
import gzip
import os
import struct
import sys

import numpy as np
import torch

DATA_DIR = '/usr/share/datasets/fashion-mnist'
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    magic = struct.unpack('>I', raw[:4])[0]
    ndim = magic & 0xFF
    assert (magic >> 8) == 0x08, 'expected unsigned byte IDX data'
    dims = struct.unpack('>' + 'I' * ndim, raw[4:4 + 4 * ndim])
    a = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    assert a.size == int(np.prod(dims))
    return a.reshape(dims)


def load_split(split, data_dir=DATA_DIR):
    """split: 'train' or 't10k' -> (images uint8 (N,28,28), labels int64 (N,))"""
    x = read_idx(os.path.join(data_dir, f'{split}-images-idx3-ubyte.gz'))
    y = read_idx(os.path.join(data_dir, f'{split}-labels-idx1-ubyte.gz')).astype(np.int64)
    assert x.shape[0] == y.shape[0]
    return x, y


def measure_mean_std(images_u8):
    """Mean and (population) std of pixel/255 over all pixels, exact integer sums."""
    v = images_u8.astype(np.int64).ravel()
    n = v.size
    s1 = int(v.sum())
    s2 = int((v * v).sum())
    mean = s1 / n / 255.0
    var = s2 / n / (255.0 ** 2) - mean ** 2
    return mean, var ** 0.5


def normalise(images_u8, mean, std):
    """uint8 (N,28,28) -> float32 (N,1,28,28) tensor."""
    x = torch.from_numpy(images_u8.astype(np.float32) / np.float32(255.0))
    return ((x - mean) / std).unsqueeze(1)


@torch.no_grad()
def evaluate(model, images_u8, labels, mean, std, batch=500):
    """Top-1 accuracy and predicted labels (float32 eval forward)."""
    model.eval()
    preds = []
    for i in range(0, images_u8.shape[0], batch):
        x = normalise(images_u8[i:i + batch], mean, std)
        preds.append(model(x).argmax(1).numpy())
    preds = np.concatenate(preds).astype(np.int64)
    acc = float((preds == labels[:preds.shape[0]]).mean())
    return acc, preds


def alpha_tag(alpha):
    return f'{float(alpha):.2f}'


def top1_fixture_path(alpha):
    return os.path.join(ROOT, 'tests', 'fixtures', f'fmnist_{alpha_tag(alpha)}_pytorch_top1.npy')


def write_models_readme(models_dir=os.path.join(ROOT, 'models')):
    """Regenerate models/README.md from the metadata of models/*.safetensors."""
    sys.path.insert(0, HERE)
    from export import load_file_pure
    rows = []
    for p in sorted(glob.glob(os.path.join(models_dir, '*.safetensors'))):
        _, md = load_file_pure(p)
        rows.append((os.path.basename(p), md))
    lines = [
        '# Trained OctNetMini models (Fashion-MNIST)',
        '',
        'OctNetMini(in_channels=1, num_classes=10, alpha) from `python/octnet.py`, trained by',
        '`/usr/bin/python3 python/train.py --alpha A --epochs E --max-minutes M --threads T` on',
        'the Fashion-MNIST training set (60,000 images, Debian package files in',
        '/usr/share/datasets/fashion-mnist) on a shared 2-core CPU (no GPU was lent).  SGD with',
        'a OneCycle schedule sized to the steps that fit the time budget, flips and 2-pixel',
        'shifts, batch 128.',
    ]
    # Which models trained as long as the longest: only those compare alpha against alpha.
    def epochs(md):
        try:
            return float(md.get('epochs', '0'))
        except ValueError:
            return 0.0
    most = max((epochs(md) for _, md in rows), default=0.0)
    full = [md.get('alpha', '?') for _, md in rows if epochs(md) >= most - 1e-6]
    short = [(md.get('alpha', '?'), epochs(md)) for _, md in rows if epochs(md) < most - 1e-6]
    lines.append('Alpha {} had the full {:g} epochs (`python/train_all.sh` trains them alike).'.format(
        ', '.join(full), most))
    if short:
        lines += ['**Not comparable yet:** alpha {} trained {} only, so {} accuracy says how long it'.format(
                      ', '.join(a for a, _ in short), ', '.join('{:.2f} epochs'.format(e) for _, e in short),
                      'its' if len(short) == 1 else 'their'),
                  'trained, not what the alpha can reach; compare alphas only at equal epochs.']
    lines += [
        '',
        'Input: 1x28x28, x = (pixel/255 - mean)/std with the mean/std in the metadata.',
        'Accuracy: top-1 on all 10,000 test images, PyTorch float32, model.eval().',
        'PyTorch top-1 predictions for the C side to compare: tests/fixtures/fmnist_<alpha>_pytorch_top1.npy',
        '(float32 labels, regenerate with `python/eval.py MODEL --write-top1`).',
        '',
        '| file | alpha | test accuracy | steps | epochs | batch | max_lr | seed | trained_on |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ]
    for name, md in rows:
        lines.append('| {} | {} | {} | {} | {} | {} | {} | {} | {} |'.format(
            name, md.get('alpha', '?'), md.get('test_accuracy', '?'), md.get('steps', '?'),
            md.get('epochs', '?'), md.get('batch', '?'), md.get('max_lr', '?'),
            md.get('seed', '?'), md.get('trained_on', '?')))
    lines.append('')
    lines.append('Every file\'s full metadata is in its safetensors header (`__metadata__`).')
    lines.append('')
    with open(os.path.join(models_dir, 'README.md'), 'w') as f:
        f.write('\n'.join(lines))


if __name__ == '__main__':
    x, y = load_split('train')
    m, s = measure_mean_std(x)
    print(f'train images {x.shape}, mean {m:.6f} std {s:.6f} -> {m:.4f} / {s:.4f}')
