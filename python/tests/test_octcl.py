"""Tests of the octcl Python package (python/octcl) over the C library.

    OCTCL_LIBRARY=build/liboctcl.so OCTCL_CLI=build/octcl /usr/bin/python3 -m pytest python/tests

ctest runs them through tests/test_python.sh on a pip-installed copy in a venv. The CLI
parity checks need $OCTCL_CLI (else build/octcl of the source tree); the PyTorch ones
need torch (python/octnet.py); each is skipped with the reason when its part is absent.
"""
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import octcl  # the installed package first: python/ is appended to sys.path below, not prepended
from octcl import _lib

SRC = os.environ.get("OCTCL_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(SRC, "models", "octnet_fmnist_a0.50.safetensors")
# float32 against float64 PyTorch, as tests/test_model.c: |got - want| <= 1e-3 + 1e-3 |want|.
TORCH_ABS, TORCH_REL = 1e-3, 1e-3


def cli_path():
    p = os.environ.get("OCTCL_CLI") or os.path.join(SRC, "build", "octcl")
    return p if os.path.isfile(p) and os.access(p, os.X_OK) else None


def batch(n, c, h, w, seed):
    """Inputs in [-2, 2] from a fixed seed."""
    return np.random.default_rng(seed).uniform(-2.0, 2.0, size=(n, c, h, w)).astype(np.float32)


def assert_close(got, want, abs_tol, rel_tol, what):
    bad = np.abs(got.astype(np.float64) - want) > abs_tol + rel_tol * np.abs(want)
    if bad.any():
        idx = np.argwhere(bad)[:5]
        lines = [f"  {tuple(i)}: want {want[tuple(i)]:.7g} got {got[tuple(i)]:.7g}" for i in idx]
        pytest.fail(f"{what}: {int(bad.sum())} of {bad.size} values off (first ones):\n" + "\n".join(lines))


@pytest.fixture(scope="module")
def model():
    return octcl.Model(MODEL, device="cpu")


# ------------------------------------------------------------------------------------------
# Loading and the installed package

def test_installed_copy_is_used():
    venv = os.environ.get("OCTCL_EXPECT_INSTALLED")
    if not venv:
        pytest.skip("not run from the installed venv (tests/test_python.sh sets OCTCL_EXPECT_INSTALLED)")
    assert os.path.realpath(octcl.__file__).startswith(os.path.realpath(venv)), octcl.__file__


def test_library_from_env_when_set():
    want = os.environ.get("OCTCL_LIBRARY")
    if not want:
        pytest.skip("OCTCL_LIBRARY not set")
    assert octcl.library_path() == want


def test_info(model):
    i = model.info
    assert (i.in_channels, i.num_classes, i.alpha, i.stem_channels) == (1, 10, 0.5, 64)
    assert i.mean == pytest.approx(0.2860, abs=1e-3) and i.std == pytest.approx(0.3530, abs=1e-3)
    assert i.parameters > 0
    assert model.device.spec == "cpu" and model.device.backend == "cpu"
    assert "alpha 0.5" in repr(model)


def test_macs_grow_with_area(model):
    m28, m56 = model.macs(28, 28), model.macs(56, 56)
    assert m28 > 0
    # Every layer but the head scales with the area; the head is small.
    assert 3.9 * m28 < m56 <= 4 * m28


def test_trace(model):
    t = model.trace((2, 1, 28, 28))
    labels = [lab for lab, _ in t]
    assert labels[0] == "Stem out" and labels[-1] == "Logits"
    assert t[0][1] == (2, 64, 28, 28)
    assert t[-1][1] == (2, 10)


def test_devices():
    d = octcl.devices()
    specs = [x.spec for x in d]
    assert specs[-2:] == ["cpu", "ref"]
    for x in d[:-2]:
        assert x.backend == "opencl" and x.spec.startswith("opencl:") and x.name
    # Every listed spec opens (the OpenCL ones too, when present; kept to the first).
    for x in d[:1] + d[-2:]:
        m = octcl.Model.random(1, 10, 0.5, seed=1, device=x.spec)
        assert m.device.backend == x.backend
        m.close()


# ------------------------------------------------------------------------------------------
# Forward passes against the CLI and PyTorch

def test_forward_shape_dtype_and_conversion(model):
    x = batch(3, 1, 28, 28, seed=11)
    y = model(x)
    assert y.shape == (3, 10) and y.dtype == np.float32 and np.isfinite(y).all()
    # float64 and non-contiguous inputs are converted, with the same result.
    y64 = model(x.astype(np.float64))
    xt = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    assert not xt.flags.c_contiguous
    np.testing.assert_array_equal(y64, y)
    np.testing.assert_array_equal(model(xt), y)
    # One image at a time gives the batch's rows.
    for i in range(3):
        assert_close(model(x[i:i + 1])[0], y[i].astype(np.float64), 1e-5, 1e-5, f"image {i} alone")


def test_forward_equals_cli_run(model, tmp_path):
    cli = cli_path()
    if not cli:
        pytest.skip("no octcl program (set OCTCL_CLI)")
    x = batch(4, 1, 28, 28, seed=5)
    np.save(tmp_path / "x.npy", x)
    args = [cli, "run", "--model", MODEL, "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"),
            "--device", "cpu"]
    r = subprocess.run(args + ["--raw"], capture_output=True, text=True)
    if r.returncode == 2 and "--raw" in r.stderr:   # a CLI from before --raw (it did not normalise then)
        r = subprocess.run(args, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    want = np.load(tmp_path / "y.npy")
    # Same library, same device, same batch: the same arithmetic.
    assert_close(model(x), want.astype(np.float64), 1e-6, 1e-6, "Python vs octcl run")


def torch_model():
    try:
        import torch  # noqa: F401
    except ImportError:
        pytest.skip("torch is not importable here")
    sys.path.append(os.path.join(SRC, "python"))
    from eval import load_model
    m, _, _ = load_model(MODEL)
    return m.double()


@pytest.mark.parametrize("device", ["cpu", "ref"])
def test_forward_equals_pytorch(device):
    import torch
    tm = torch_model()
    x = batch(3, 1, 28, 28, seed=7)
    with torch.no_grad():
        want = tm(torch.from_numpy(x.astype(np.float64))).numpy()
    m = octcl.Model(MODEL, device=device)
    assert_close(m(x), want, TORCH_ABS, TORCH_REL, f"octcl ({device}) vs PyTorch float64")


def test_forward_equals_pytorch_odd_size_opencl():
    d = [x for x in octcl.devices() if x.backend == "opencl"]
    if not d:
        pytest.skip("no OpenCL device")
    import torch
    tm = torch_model()
    x = batch(2, 1, 19, 23, seed=9)
    with torch.no_grad():
        want = tm(torch.from_numpy(x.astype(np.float64))).numpy()
    m = octcl.Model(MODEL, device=d[0].spec)
    assert_close(m(x), want, TORCH_ABS, TORCH_REL, f"octcl ({d[0].spec}) vs PyTorch float64")


# ------------------------------------------------------------------------------------------
# Errors carry the library's status and message

def test_missing_file_raises_file_error(tmp_path):
    path = str(tmp_path / "no-such-model.safetensors")
    with pytest.raises(octcl.FileError) as e:
        octcl.Model(path, device="cpu")
    assert path in e.value.message and e.value.status_name == "OCT_ERR_IO"
    assert isinstance(e.value, OSError) and isinstance(e.value, octcl.Error)


def test_malformed_file_raises_format_error(tmp_path):
    p = tmp_path / "junk.safetensors"
    p.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(octcl.Error) as e:
        octcl.Model(str(p), device="cpu")
    assert e.value.status_name in ("OCT_ERR_FORMAT", "OCT_ERR_MODEL"), e.value
    assert e.value.message and e.value.status == octcl.errors.STATUS_NUMBER[e.value.status_name]


def test_bad_device_raises():
    with pytest.raises(octcl.BadDeviceSpecError) as e:
        octcl.Model(MODEL, device="warp-drive")
    assert "warp-drive" in e.value.message


def test_bad_input_shapes(model):
    with pytest.raises(octcl.ShapeMismatchError, match="3 channel|1 channel"):
        model(np.zeros((1, 3, 28, 28), np.float32))
    with pytest.raises(octcl.ShapeMismatchError):
        model(np.zeros((28, 28), np.float32))
    with pytest.raises(octcl.BadSizeError):
        model(np.zeros((0, 1, 28, 28), np.float32))


def test_library_error_from_forward(model):
    # An image too small for the network: the library's own check, its message.
    with pytest.raises(octcl.Error) as e:
        model(np.zeros((1, 1, 1, 1), np.float32))
    assert e.value.status not in (None, 0) and e.value.message


def test_closed_model_raises():
    m = octcl.Model(MODEL, device="cpu")
    m.close()
    m.close()  # twice is fine
    with pytest.raises(octcl.Error, match="closed"):
        m(np.zeros((1, 1, 28, 28), np.float32))


def test_random_model_bad_alpha():
    with pytest.raises(octcl.BadAlphaError):
        octcl.Model.random(1, 10, alpha=1.5, device="cpu")


# ------------------------------------------------------------------------------------------
# The GIL is released during a forward pass

def test_gil_released_during_forward():
    m = octcl.Model.random(3, 10, 0.5, seed=3, device="ref")
    x = batch(1, 3, 48, 48, seed=4)
    m(x)                                     # warm-up
    t0 = time.perf_counter()
    m(x)
    one = time.perf_counter() - t0
    reps = max(1, int(0.6 / max(one, 1e-3)))

    def threaded_pass(reps):
        xb = np.repeat(x, reps, axis=0)
        window, stamps = {}, []

        def worker():
            window["enter"] = time.perf_counter()
            m(xb)
            window["exit"] = time.perf_counter()

        th = threading.Thread(target=worker)
        th.start()
        while th.is_alive():
            stamps.append(time.perf_counter())   # pure Python work on the main thread
            sum(range(200))
        th.join()
        return window["enter"], window["exit"], stamps

    # The pass must last long enough to tell (a loaded machine can make the one-image
    # estimate too high): longer batches until it does, else the test cannot say.
    for _ in range(4):
        enter, exit_, stamps = threaded_pass(reps)
        if exit_ - enter > 0.3:
            break
        reps *= 2
    else:
        pytest.skip(f"a pass of {reps // 2} images took {exit_ - enter:.3f} s: too short to tell")
    # With the GIL held, the main thread could run only in the interpreter's switch
    # interval before the call starts: nothing in the middle of the pass.
    margin = 0.05 + sys.getswitchinterval() * 4
    inside = [s for s in stamps if enter + margin < s < exit_ - margin]
    assert len(inside) > 100, (f"the main thread ran {len(inside)} times during a {exit_ - enter:.3f} s forward "
                               "pass: the GIL is not released")


# ------------------------------------------------------------------------------------------
# Library lookup order

class FakeLoader:
    """Loads only the names in `ok`; records the order asked."""

    def __init__(self, ok):
        self.ok, self.asked = set(ok), []

    def __call__(self, name):
        self.asked.append(name)
        if name in self.ok:
            return f"handle:{name}"
        raise OSError(f"{name}: cannot open shared object file")


def test_lookup_env_first_and_only():
    ld = FakeLoader({"/x/liboctcl.so", "liboctcl.so.0"})
    h, path = _lib.find_library({"OCTCL_LIBRARY": "/x/liboctcl.so"}, ["liboctcl.so.0"], ["/t/liboctcl.so"], ld)
    assert path == "/x/liboctcl.so" and ld.asked == ["/x/liboctcl.so"]
    ld = FakeLoader({"liboctcl.so.0"})
    with pytest.raises(octcl.LibraryNotFoundError) as e:
        _lib.find_library({"OCTCL_LIBRARY": "/nope/liboctcl.so"}, ["liboctcl.so.0"], [], ld)
    assert "/nope/liboctcl.so" in str(e.value) and "OCTCL_LIBRARY" in str(e.value)
    assert ld.asked == ["/nope/liboctcl.so"]   # no fallback when the variable names a file


def test_lookup_installed_before_source_tree():
    ld = FakeLoader({"liboctcl.so.0", "/t/build/liboctcl.so.0"})
    _, path = _lib.find_library({}, ["liboctcl.so.0"], ["/t/build/liboctcl.so.0"], ld)
    assert path == "liboctcl.so.0"
    ld = FakeLoader({"/t/build/liboctcl.so.0"})
    _, path = _lib.find_library({"OCTCL_LIBRARY": ""}, ["liboctcl.so.0"], ["/t/build/liboctcl.so.0"], ld)
    assert path == "/t/build/liboctcl.so.0" and ld.asked == ["liboctcl.so.0", "/t/build/liboctcl.so.0"]


def test_lookup_error_names_every_candidate():
    with pytest.raises(octcl.LibraryNotFoundError) as e:
        _lib.find_library({}, ["liboctcl.so.0"], ["/t/build/liboctcl.so"], FakeLoader(()))
    msg = str(e.value)
    for part in ("$OCTCL_LIBRARY", "liboctcl.so.0", "/t/build/liboctcl.so", "set OCTCL_LIBRARY"):
        assert part in msg, msg
    assert isinstance(e.value, OSError)


def test_lookup_end_to_end_in_a_subprocess(tmp_path):
    """A fresh interpreter: a bad $OCTCL_LIBRARY fails at first use with the path named;
    unset, with the library on LD_LIBRARY_PATH as liboctcl.so.0, the loader finds it."""
    lib = octcl.library_path()
    if not os.path.isabs(lib):
        pytest.skip("the library came from the loader path; nothing to copy")
    code = "import octcl\ntry:\n    octcl.devices()\nexcept octcl.LibraryNotFoundError as e:\n" \
           "    print('ERR', e)\nelse:\n    print('OK', octcl.library_path())\n"
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(octcl.__file__)))
    base = dict(os.environ, PYTHONPATH=os.pathsep.join([pkg_parent] + [os.environ.get("PYTHONPATH", "")]))
    env = dict(base, OCTCL_LIBRARY=str(tmp_path / "missing.so"))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("ERR") and "missing.so" in r.stdout, r.stdout + r.stderr
    (tmp_path / "liboctcl.so.0").symlink_to(os.path.realpath(lib))
    env = {k: v for k, v in base.items() if k != "OCTCL_LIBRARY"}
    env["LD_LIBRARY_PATH"] = str(tmp_path)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.stdout.strip() == "OK liboctcl.so.0", r.stdout + r.stderr


# ------------------------------------------------------------------------------------------
# What the model declares (the graph library's queries when present, else from the info)

def test_inputs_outputs_layers(model):
    (i,) = model.inputs
    assert i.shape == (None, 1, None, None), i
    (o,) = model.outputs
    assert o.shape == (None, 10), o
    for layer in model.layers():   # [] for OctNetMini
        assert layer.kind and layer.macs >= 0


def test_status_numbers_map_to_classes():
    from octcl import errors
    for number, (name, cls) in enumerate(errors.STATUS):
        if cls is None:
            continue
        e = errors.make_error(number, "m")
        assert type(e) is cls and e.status == number and e.status_name == name and str(e) == f"m [{name}]"
    e = errors.make_error(999, "from a newer library")
    assert type(e) is octcl.Error and e.status == 999
    assert issubclass(octcl.UnsupportedError, NotImplementedError)


# ------------------------------------------------------------------------------------------
# The library's events: an OpenCL program compiled from source

def test_build_events(tmp_path, monkeypatch):
    d = [x for x in octcl.devices() if x.backend == "opencl"]
    if not d:
        pytest.skip("no OpenCL device")
    seen = []
    monkeypatch.setenv("OCTCL_CACHE_DIR", str(tmp_path / "cache"))
    octcl.on_event(lambda kind, dev, cached, s: seen.append((kind, dev, cached, s)))
    try:
        octcl.Model.random(1, 10, 0.5, seed=0, device=d[0].spec).close()      # compiles: a fresh cache
        first = list(seen)
        octcl.Model.random(1, 10, 0.5, seed=0, device=d[0].spec).close()      # from the cache: silent
    finally:
        octcl.on_event(None)
    assert [k for k, *_ in first] == ["build_start", "build_done"], first
    assert first[0][1] == d[0].name and first[0][2] is True and first[1][3] >= 0
    assert seen == first, seen


# ------------------------------------------------------------------------------------------
# ONNX models through oct_model_load (libraries with the graph engine)

def test_onnx_model_matches_pytorch(tmp_path):
    if not octcl._lib.has("oct_model_input"):
        pytest.skip("this library has no ONNX models (no oct_model_input)")
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5)).eval()
    with torch.no_grad():   # BatchNorm statistics that are not the identity
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    path = tmp_path / "small.onnx"
    torch.onnx.export(net, torch.zeros(1, 3, 20, 20), str(path), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=13)
    m = octcl.Model(str(path), device="cpu")
    assert (m.info.in_channels, m.info.num_classes, m.info.alpha) == (3, 5, None)
    assert m.inputs[0].shape[1:] == (3, 20, 20) and m.outputs[0].shape[-1] == 5
    assert m.layers() and all(layer.macs >= 0 for layer in m.layers())
    x = batch(3, 3, 20, 20, seed=12)
    with torch.no_grad():
        want = net.double()(torch.from_numpy(x.astype(np.float64))).numpy()
    got = m(x)
    assert got.shape == (3, 5)
    assert_close(got, want, TORCH_ABS, TORCH_REL, "ONNX model vs PyTorch float64")
    # One pass timed per layer: the same logits, one time per layer, each finite and >= 0.
    logits, times = m.profile(x)
    assert np.array_equal(logits, got)
    assert [layer for layer, _ in times] == m.layers()
    assert all(np.isfinite(t) and t >= 0 for _, t in times) and sum(t for _, t in times) > 0
    # With each host thread's busy time: one a thread, each within its layer's time.
    logits, rows = m.profile(x, threads=True)
    assert np.array_equal(logits, got) and m.threads >= 1
    assert [row[0] for row in rows] == m.layers()
    assert all(len(b) == m.threads and all(np.isfinite(v) and 0 <= v <= t * (1 + 1e-9) + 1e-6 for v in b)
               for _, t, b in rows)
    # Each layer's executed multiply-adds on the cpu path: the same logits, each count at
    # most the layer's MACs for the batch (the model's declared 20x20), some > 0.
    logits, counts = m.macs_executed(x)
    assert np.array_equal(logits, got) and [layer for layer, _ in counts] == m.layers()
    assert all(0 <= c <= layer.macs * 3 for layer, c in counts) and sum(c for _, c in counts) > 0
    t = m.trace((2, 3, 20, 20))
    assert t and t[-1][1][0] == 2
    assert m.macs(20, 20) > 0


# ------------------------------------------------------------------------------------------
# Device sets: one model on several devices at once (device="all" or a comma list)

def set_list():
    """cpu, ref and the first OpenCL device when there is one."""
    cl = [x.spec for x in octcl.devices() if x.backend == "opencl"]
    return ",".join(["cpu", "ref"] + cl[:1])


def check_rows_alone(m, x, got, make):
    """Every row of got is, bit for bit, that row of its device (m.device_of) alone."""
    assert m.device_of is not None and m.device_of.shape == (x.shape[0],)
    alone = []
    for d in m.devices:
        one = make(d.spec)
        alone.append(one(x))
        one.close()
    for i, d in enumerate(m.device_of):
        assert 0 <= d < len(m.devices), (i, d)
        if not np.array_equal(got[i], alone[d][i]):
            j = int(np.argmax(got[i] != alone[d][i]))
            pytest.fail(f"row {i} (device {m.devices[d].spec}) output {j}: alone {alone[d][i][j]!r}, "
                        f"in the set {got[i][j]!r}")


def test_device_set_rows_equal_each_device_alone():
    spec = set_list()
    m = octcl.Model.random(3, 10, 0.5, seed=5, device=spec)
    assert [d.spec for d in m.devices] == spec.split(",") and m.device.backend == "set"
    m.set_chunk(3)
    x = batch(17, 3, 9, 8, seed=21)   # 6 chunks, the last of 2
    got = m(x)
    assert got.shape == (17, 10) and got.dtype == np.float32
    check_rows_alone(m, x, got, lambda d: octcl.Model.random(3, 10, 0.5, seed=5, device=d))
    per, total = m.stats()
    assert sum(s.images for s in per) == 17 and total.images == 17 and total.active == len(m.devices)
    assert all(s.active and s.error is None for s in per)
    assert total.images_per_second and total.images_per_second > 0
    m.reset_stats()
    assert m.stats()[1].images == 0
    m.close()


def test_device_set_from_file_and_all():
    m = octcl.Model(MODEL, device="all")
    assert m.devices[-1].spec == "cpu" and all(d.backend == "opencl" for d in m.devices[:-1])
    assert m.info.in_channels == 1 and m.info.num_classes == 10
    x = batch(10, 1, 28, 28, seed=3)
    got = m(x)
    check_rows_alone(m, x, got, lambda d: octcl.Model(MODEL, device=d))
    m.close()


def test_device_set_drops_a_failing_device(monkeypatch):
    monkeypatch.setenv("OCTCL_FAULT_DEVSET", "0:1")     # cpu fails its first chunk
    m = octcl.Model.random(3, 10, 0.5, seed=5, device="cpu,ref")
    monkeypatch.delenv("OCTCL_FAULT_DEVSET")
    seen = []
    octcl.on_event(lambda kind, dev, cached, s, msg: seen.append((kind, dev, msg)))
    try:
        m.set_chunk(1)
        x = batch(6, 3, 8, 8, seed=4)
        got = m(x)
    finally:
        octcl.on_event(None)
    assert [k for k, *_ in seen] == ["device_dropped"], seen
    assert "device 0 (cpu" in seen[0][2] and "goes back to the queue" in seen[0][2]
    ref = octcl.Model.random(3, 10, 0.5, seed=5, device="ref")
    assert np.array_equal(got, ref(x)) and list(m.device_of) == [1] * 6
    per, total = m.stats()
    assert not per[0].active and "OCTCL_FAULT_DEVSET" in per[0].error and total.active == 1
    ref.close()
    m.close()


def test_device_set_every_device_failing(monkeypatch):
    monkeypatch.setenv("OCTCL_FAULT_DEVSET", "0:1,1:1")
    m = octcl.Model.random(3, 10, 0.5, seed=5, device="cpu,ref")
    monkeypatch.delenv("OCTCL_FAULT_DEVSET")
    with pytest.raises(octcl.DeviceMemoryError, match="no device left"):
        m(batch(4, 3, 8, 8, seed=4))
    m.close()


@pytest.mark.parametrize("spec,part", [("cpu,,ref", "item 2 is empty"), ("cpu,", "item 2 is empty"),
                                       ("cpu,cpu", "names the same device"), ("cpu,gpu", "item 2")])
def test_device_set_bad_lists(spec, part):
    with pytest.raises(octcl.BadDeviceSpecError, match=part):
        octcl.Model.random(1, 10, 0.5, device=spec)


def test_device_set_calls_on_one_device(model):
    assert not octcl.is_device_set("cpu") and octcl.is_device_set("all") and octcl.is_device_set("cpu,ref")
    with pytest.raises(octcl.BadDeviceSpecError):
        model.stats()
