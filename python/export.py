#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (it has torch 1.13 CPU and numpy);
# the `python3` first on PATH may be another interpreter that cannot import torch.
"""Write an OctNetMini state_dict as safetensors.

export(model, path, metadata) writes what
    safetensors.torch.save_file(model.state_dict(), path, metadata)
writes.  The official package is used when it can be imported (writer='auto');
otherwise a pure-Python writer produces the same layout:

    8 bytes   little-endian u64 N
    N bytes   JSON header, compact, padded with spaces so that N % 8 == 0:
              {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [...],
               "data_offsets": [begin, end]}, ...}
    data      raw little-endian tensors, contiguous, offsets relative to the data start

Tensor order (official package, checked against safetensors 0.8.0): by dtype,
descending in the library's enum order (I64 before F64 before F32 ...), then by name;
the header lists tensors in data order.  The official writer emits "__metadata__"
keys in hash order (not reproducible between runs); the pure writer sorts them, so
files it writes are byte-reproducible.  Readers must not depend on either order.

CLI:  python/export.py --alpha A --seed S --out file.safetensors [--in-channels 3]
      [--num-classes 10]    -> random-init model with randomised BN statistics.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

# dtype -> (safetensors name, rank in the library's Dtype enum)
_DTYPES = {
    torch.bool: ('BOOL', 0),
    torch.uint8: ('U8', 4),
    torch.int8: ('I8', 5),
    torch.int16: ('I16', 9),
    torch.float16: ('F16', 11),
    torch.bfloat16: ('BF16', 12),
    torch.int32: ('I32', 13),
    torch.float32: ('F32', 15),
    torch.float64: ('F64', 16),
    torch.int64: ('I64', 17),
}
_NP = {'BOOL': np.bool_, 'U8': np.uint8, 'I8': np.int8, 'I16': np.int16,
       'F16': np.float16, 'I32': np.int32, 'F32': np.float32, 'F64': np.float64,
       'I64': np.int64}


def have_official():
    try:
        import safetensors.torch  # noqa: F401
        return True
    except ImportError:
        return False


def _tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype('<i2').tobytes()
    a = t.numpy()
    return a.astype(a.dtype.newbyteorder('<'), copy=False).tobytes()


def save_file_pure(tensors, path, metadata=None):
    """Pure-Python safetensors writer (same layout as the official package)."""
    items = []
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError('tensor names must be str')
        dt, rank = _DTYPES[t.dtype]
        items.append((rank, name, dt, list(t.shape), _tensor_bytes(t)))
    items.sort(key=lambda it: (-it[0], it[1]))

    header = {}
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in sorted(metadata.items())}
    off = 0
    for _, name, dt, shape, data in items:
        header[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + len(data)]}
        off += len(data)
    hjson = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    hjson += b' ' * ((8 - len(hjson) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(hjson)))
        f.write(hjson)
        for it in items:
            f.write(it[4])
    os.replace(tmp, path)


def load_file_pure(path):
    """Pure-Python reader: returns (dict name -> torch tensor, metadata dict)."""
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', {}) or {}
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info['data_offsets']
        a = np.frombuffer(raw[base + b:base + e], dtype=np.dtype(_NP[info['dtype']]).newbyteorder('<'))
        out[name] = torch.from_numpy(a.astype(_NP[info['dtype']]).reshape(info['shape']).copy())
    return out, meta


def load(path):
    """(state_dict, metadata) of a safetensors file; official package when present."""
    if have_official():
        from safetensors import safe_open
        from safetensors.torch import load_file
        with safe_open(path, framework='pt') as f:
            meta = f.metadata() or {}
        return load_file(path), meta
    return load_file_pure(path)


def export(model, path, metadata=None, writer='auto'):
    """Write model.state_dict() to path as safetensors with string metadata.

    writer: 'auto' (official package if importable, else pure), 'official', 'pure'.
    """
    sd = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    md = {str(k): str(v) for k, v in (metadata or {}).items()}
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    if writer == 'official' or (writer == 'auto' and have_official()):
        from safetensors.torch import save_file
        save_file(sd, path, md or None)
    else:
        save_file_pure(sd, path, md or None)
    os.chmod(path, 0o644)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description='Export a random-init OctNetMini (randomised BN stats).')
    ap.add_argument('--alpha', type=float, required=True)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--in-channels', type=int, default=3)
    ap.add_argument('--num-classes', type=int, default=10)
    ap.add_argument('--out', required=True)
    ap.add_argument('--writer', choices=('auto', 'official', 'pure'), default='auto')
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from octnet import random_model
    model = random_model(args.alpha, args.seed, args.in_channels, args.num_classes)
    md = {'alpha': str(args.alpha), 'seed': str(args.seed), 'in_channels': str(args.in_channels),
          'num_classes': str(args.num_classes), 'kind': 'random-init, randomised BN statistics'}
    export(model, args.out, md, writer=args.writer)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
