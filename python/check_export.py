#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (it has torch 1.13 CPU and numpy).
"""Check the pure-Python safetensors writer against the official package.

For every alpha: the pure writer's file must be byte-identical to
safetensors.torch.save_file's when metadata has at most one key (the official
writer orders metadata keys by hash), and must load with safetensors.torch.load_file
to the same keys, dtypes, shapes and values as model.state_dict() otherwise.
The pure reader is checked on the official writer's output too.
"""
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import export, have_official, load_file_pure, save_file_pure  # noqa: E402
from octnet import random_model  # noqa: E402


def same(a, b):
    assert list(sorted(a)) == list(sorted(b)), (sorted(a), sorted(b))
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert torch.equal(a[k], b[k]), k


def main():
    torch.set_num_threads(1)
    if not have_official():
        print('official safetensors package not importable: checking the pure writer against its own reader only')
    d = tempfile.mkdtemp()
    for i, a in enumerate((0.0, 0.25, 0.5, 0.75, 1.0)):
        m = random_model(a, 100 + i, in_channels=1 + 2 * (i % 2), num_classes=10)
        sd = m.state_dict()
        p_pure = os.path.join(d, 'pure.safetensors')
        p_off = os.path.join(d, 'off.safetensors')
        md = {'alpha': str(a), 'mean': '0.2860', 'std': '0.3530', 'seed': '1'}
        export(m, p_pure, md, writer='pure')
        t, meta = load_file_pure(p_pure)
        same(t, sd)
        assert meta == md
        if have_official():
            from safetensors import safe_open
            from safetensors.torch import load_file, save_file
            same(load_file(p_pure), sd)
            with safe_open(p_pure, framework='pt') as f:
                assert f.metadata() == md
            for one in (None, {'alpha': str(a)}):
                save_file({k: v.contiguous() for k, v in sd.items()}, p_off, one)
                save_file_pure(sd, p_pure, one)
                b1, b2 = open(p_off, 'rb').read(), open(p_pure, 'rb').read()
                assert b1 == b2, f'alpha {a}: pure writer bytes differ from official (metadata {one})'
            export(m, p_off, md, writer='official')
            t, meta = load_file_pure(p_off)
            same(t, sd)
            assert meta == md
        print(f'alpha {a}: ok ({len(sd)} tensors)')
    print('export check passed' + ('' if have_official() else ' (pure only)'))


if __name__ == '__main__':
    main()
