"""octcl: Octave Convolution networks on OpenCL devices or the CPU, from Python.

    import numpy as np, octcl
    m = octcl.Model("models/octnet_fmnist_a0.50.safetensors", device="auto")
    logits = m(x)                      # x: float32 (N, C, H, W) -> (N, num_classes)
    m.info, m.macs(28, 28), m.trace((1, 1, 28, 28)), octcl.devices()

    s = octcl.Model(path, device="all")      # or "cpu,opencl:0:0": a device set
    logits = s(x); s.device_of; s.stats()  # who computed each row; images/s per device

A thin ctypes layer over the C library liboctcl (no compiled extension). The library is
found through $OCTCL_LIBRARY, else the installed liboctcl.so.0, else a build in the
source tree (see octcl._lib). Failures raise octcl.Error subclasses carrying the
library's status and message. A forward pass releases the GIL (ctypes.CDLL drops it
around every foreign call), so other Python threads run meanwhile; calls on one Model
are serialised by a lock, distinct Models run in parallel.
"""
import ctypes
import inspect
import os
import threading
from collections import namedtuple

import numpy as np

from . import _lib
from ._lib import LibraryNotFoundError, library_path
from .errors import (STATUS, BadAlphaError, BadDeviceSpecError, BadSizeError, BuildError, CLBlastError,  # noqa: F401
                     ContextMismatchError, DeviceMemoryError, Error, FileError, FormatError, HostMemoryError,
                     KernelTooLargeError, ModelError, NoDeviceError, NoOpenCLError, NotReadyError, NullArgError,
                     OpenCLError, ShapeMismatchError, UnsupportedError, error_for, make_error)

__version__ = "0.2.0"
__all__ = ["Model", "Device", "DeviceStats", "is_device_set", "devices", "library_path", "read_image", "on_event", "Error", "LibraryNotFoundError"] + \
    [cls.__name__ for _, cls in STATUS if cls is not None]

_BACKENDS = {0: "ref", 1: "cpu", 2: "opencl"}


def _check(status):
    """Raise the exception for a non-zero status with the library's message."""
    if status != 0:
        lib = _lib.lib()
        msg = (lib.oct_last_error() or b"").decode("utf-8", "replace")
        if not msg:
            msg = (lib.oct_status_string(status) or b"").decode("utf-8", "replace")
        raise make_error(status, msg)


def oct_status_string(status):
    return (_lib.lib().oct_status_string(status) or b"").decode("utf-8", "replace")


def _text(b):
    return bytes(b).split(b"\0", 1)[0].decode("utf-8", "replace")


Device = namedtuple("Device", "spec backend name platform driver is_gpu reason")
Device.__doc__ = """A device octcl can run on; pass .spec as Model(..., device=spec)."""


def _device(info):
    backend = _BACKENDS.get(info.backend, str(info.backend))
    spec = f"opencl:{info.platform_index}:{info.device_index}" if backend == "opencl" else backend
    return Device(spec, backend, _text(info.name), _text(info.platform), _text(info.driver), bool(info.is_gpu),
                  _text(info.reason))


def _info_buffer(struct):
    """A zeroed buffer the size of `struct` plus slack, and the struct viewed over it."""
    buf = ctypes.create_string_buffer(ctypes.sizeof(struct) + _lib.SLACK)
    return buf, struct.from_buffer(buf)


def devices():
    """Every OpenCL device found (platform, device order), then the native `cpu` and
    `ref` paths, which always exist. An OpenCL runtime that is missing gives just the two."""
    lib = _lib.lib()
    count = ctypes.c_int(0)
    _check(lib.oct_list_devices(None, 0, ctypes.byref(count)))
    out = []
    if count.value > 0:
        size = ctypes.sizeof(_lib.DeviceInfo)
        buf = ctypes.create_string_buffer(size * count.value + _lib.SLACK)
        _check(lib.oct_list_devices(buf, count.value, ctypes.byref(count)))
        for i in range(count.value):
            out.append(_device(_lib.DeviceInfo.from_buffer(buf, i * size)))
    out.append(Device("cpu", "cpu", "native CPU path", "", "", False, "always available"))
    out.append(Device("ref", "ref", "reference path (plain loops, double accumulation)", "", "", False,
                      "always available"))
    return out


_event_cb = None   # the ctypes callback the library holds; kept alive here


def on_event(fn):
    """Call fn(kind, device, cached, seconds) on the library's notes about slow one-off
    work: kind "build_start" when an OpenCL program is compiled from source (seconds;
    tens on PoCL), "build_done" after it. cached says whether the build goes to the
    on-disk program cache. None turns it off. Process-wide, like the library's callback.
    kind "device_dropped": a device of a device set failed a pass and was dropped; a fn
    that takes a fifth parameter gets the library's one-line message there (None for the
    other kinds). It is called on the set's worker thread.
    A print-to-stderr example: octcl.on_event(lambda k, d, c, s: print(k, d, file=sys.stderr))."""
    global _event_cb
    set_cb = _need("oct_set_event_callback")
    if fn is None:
        set_cb(_lib.EVENT_FN(), None)
        _event_cb = None
        return
    kinds = {0: "build_start", 1: "build_done", 2: "device_dropped"}
    try:
        params = inspect.signature(fn).parameters.values()
        five = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) >= 5 or \
            any(p.kind == p.VAR_POSITIONAL for p in params)
    except (TypeError, ValueError):
        five = False

    def relay(_user, ev):
        e = ev.contents
        args = [kinds.get(e.kind, str(e.kind)), (e.device or b"").decode("utf-8", "replace"), bool(e.cached),
                float(e.seconds)]
        if five:  # the message field exists only in libraries that send device_dropped
            args.append((e.message or b"").decode("utf-8", "replace") if e.kind == 2 else None)
        fn(*args)

    cb = _lib.EVENT_FN(relay)
    set_cb(cb, None)
    _event_cb = cb


def _need(name):
    if not _lib.has(name):
        raise error_for("OCT_ERR_UNSUPPORTED", f"{library_path()} has no {name}(): a library older than this package")
    return getattr(_lib.lib(), name)


def read_image(path):
    """Decode a PNG or JPEG file as the library does: uint8 array (H, W, C), C 1 or 3."""
    _need("oct_image_load")
    img = _lib.Image()
    _check(_lib.lib().oct_image_load(str(path).encode(), ctypes.byref(img)))
    try:
        n = img.h * img.w * img.channels
        return np.ctypeslib.as_array(img.data, shape=(n,)).copy().reshape(img.h, img.w, img.channels)
    finally:
        _lib.lib().oct_image_release(ctypes.byref(img))


ModelInfo = namedtuple("ModelInfo", "in_channels num_classes alpha stem_channels c_l c_h parameters mean std")
ModelInfo.__doc__ = """What the library reports about a model; mean/std are None when the file declares
none; alpha is None for a model that is not OctNetMini (an ONNX graph)."""

Tensor = namedtuple("Tensor", "name shape")
Tensor.__doc__ = """A model input or output as the file declares it; None for a free size (the batch)."""

Layer = namedtuple("Layer", "kind name fused macs")

DeviceStats = namedtuple("DeviceStats", "device name active images chunks seconds images_per_second error")
DeviceStats.__doc__ = """What one device of a set did (Model.stats()): device is its spec ("cpu",
"opencl:0:0"; "all" for the totals), images / chunks it computed, seconds of its passes (the
totals: of the whole passes), error the message it was dropped with (None while active)."""


def is_device_set(device):
    """Whether a device string names several devices: "all" or a comma list (None: $OCTCL_DEVICE)."""
    if device is None:
        device = os.environ.get("OCTCL_DEVICE") or ""
    return device == "all" or "," in device


def _tensor(t):
    dims = tuple(None if d < 0 else int(d) for d in list(t.dims)[:max(0, min(t.rank, 4))])
    return Tensor(_text(t.name), dims)


class Model:
    """A network loaded by the library, bound to one device.

    Model(path, device="auto"): a model file the library reads (the seed's OctNetMini
    state_dict as .safetensors; ONNX where the library supports it). device is "auto",
    "opencl", "opencl:P:D", "cpu", "ref", or None for $OCTCL_DEVICE (else auto).

    Several devices at once: device="all" (every OpenCL device and cpu) or a comma list
    ("cpu,opencl:0:0") makes a device set: the model on each device, a batch cut into
    chunks the devices take as they finish, rows in input order, each row what its device
    gives alone. Then .devices lists them, .device_of says which one computed each row of
    the last pass, .stats() gives images per second per device, set_chunk() the chunk
    size; a device that fails is dropped (see on_event) and a pass fails only when none
    is left."""

    def __init__(self, path, device="auto", *, _random=None):
        lib = _lib.lib()
        self._ctx = ctypes.c_void_p()
        self._model = ctypes.c_void_p()
        self._set = ctypes.c_void_p()
        self._lock = threading.Lock()
        self.path = None if path is None else str(path)
        self.devices = None
        self.device_of = None
        dev = None if device is None else str(device).encode()
        if is_device_set(None if device is None else str(device)):
            self._open_set(dev, _random)
            return
        _check(lib.oct_context_create(dev, ctypes.byref(self._ctx)))
        try:
            if _random is not None:
                cin, classes, alpha, seed = _random
                _check(lib.oct_model_create_random(self._ctx, cin, classes, alpha, seed, ctypes.byref(self._model)))
            else:
                _check(lib.oct_model_load(self._ctx, self.path.encode(), ctypes.byref(self._model)))
            buf, dinfo = _info_buffer(_lib.DeviceInfo)
            _check(lib.oct_context_info(self._ctx, buf))
            self.device = _device(dinfo)
            buf, mi = _info_buffer(_lib.ModelInfo)
            _check(lib.oct_model_info_get(self._model, buf))
            self.info = ModelInfo(mi.in_channels, mi.num_classes, mi.alpha if mi.alpha >= 0 else None,
                                  mi.stem_channels, tuple(mi.c_l),
                                  tuple(mi.c_h), mi.parameters, mi.mean if mi.has_norm else None,
                                  mi.std if mi.has_norm else None)
        except BaseException:
            self.close()
            raise

    def _open_set(self, dev, random):
        """The model on every device of the list `dev` (bytes or None) as one device set."""
        _need("oct_devset_create")
        lib = _lib.lib()
        try:
            if random is not None:
                cin, classes, alpha, seed = random
                _check(lib.oct_devset_create_random(dev, cin, classes, alpha, seed, ctypes.byref(self._set)))
            else:
                _check(lib.oct_devset_create(dev, self.path.encode(), ctypes.byref(self._set)))
            self.devices = []
            for i in range(lib.oct_devset_count(self._set)):
                buf, dinfo = _info_buffer(_lib.DeviceInfo)
                _check(lib.oct_devset_device(self._set, i, buf))
                self.devices.append(_device(dinfo))
            self._model = ctypes.c_void_p(lib.oct_devset_model(self._set, 0))  # borrowed: the set frees it
            spec = ",".join(d.spec for d in self.devices)
            self.device = Device(spec, "set", f"device set of {len(self.devices)}: {spec}", "", "",
                                 any(d.is_gpu for d in self.devices), "chunks from a shared queue")
            buf, mi = _info_buffer(_lib.ModelInfo)
            _check(lib.oct_model_info_get(self._model, buf))
            self.info = ModelInfo(mi.in_channels, mi.num_classes, mi.alpha if mi.alpha >= 0 else None,
                                  mi.stem_channels, tuple(mi.c_l), tuple(mi.c_h), mi.parameters,
                                  mi.mean if mi.has_norm else None, mi.std if mi.has_norm else None)
        except BaseException:
            self.close()
            raise

    def _need_set(self, what):
        self._live()
        if not self._set:
            raise error_for("OCT_ERR_BAD_DEVICE_SPEC", f"{what}: this model runs on one device, not a device set "
                            "(give device=\"all\" or a comma list)")

    def stats(self):
        """(per-device list of DeviceStats, totals as DeviceStats) since the set was made or
        reset_stats(); device sets only."""
        self._need_set("stats")
        lib = _lib.lib()
        out = []
        for i in range(-1, len(self.devices)):
            buf, st = _info_buffer(_lib.DevsetStats)
            _check(lib.oct_devset_stats_get(self._set, i, buf))
            name = "device set" if i < 0 else self.devices[i].name
            active = int(st.active) if i < 0 else bool(st.active)  # the totals: devices left
            error = (_text(st.message) or oct_status_string(st.error)) if not st.active else None
            rate = st.images / st.seconds if st.seconds > 0 else None
            out.append(DeviceStats(_text(st.device), name, active, int(st.images), int(st.chunks),
                                   float(st.seconds), rate, error))
        return out[1:], out[0]

    def reset_stats(self):
        """Zero the images, chunks and seconds of stats() (dropped devices stay dropped)."""
        self._need_set("reset_stats")
        _lib.lib().oct_devset_reset_stats(self._set)

    def set_chunk(self, images):
        """Images per chunk of a device set's passes (0: chosen per pass)."""
        self._need_set("set_chunk")
        _check(_lib.lib().oct_devset_set_chunk(self._set, int(images)))

    @classmethod
    def random(cls, in_channels=3, num_classes=10, alpha=0.5, seed=0, device="auto"):
        """An OctNetMini with deterministic weights from `seed` (the CLI's `run` without --model)."""
        return cls(None, device, _random=(int(in_channels), int(num_classes), float(alpha), int(seed)))

    # -- lifetime ---------------------------------------------------------------------------
    def close(self):
        """Free the model and its context now (also done when the object is collected)."""
        lib = _lib._lib
        if lib is None:
            return
        if getattr(self, "_set", None):
            lib.oct_devset_free(self._set)  # its models and contexts with it
            self._set = ctypes.c_void_p()
            self._model = ctypes.c_void_p()
        if getattr(self, "_model", None):
            lib.oct_model_free(self._model)
            self._model = ctypes.c_void_p()
        if getattr(self, "_ctx", None):
            lib.oct_context_free(self._ctx)
            self._ctx = ctypes.c_void_p()

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if not self._model:
            raise error_for("OCT_ERR_NULL_ARG", "the model was closed")

    def __repr__(self):
        i = getattr(self, "info", None)
        if i is None:
            return "<octcl.Model (not loaded)>"
        return (f"<octcl.Model {self.path or 'random'}: alpha {i.alpha}, in_channels {i.in_channels}, "
                f"classes {i.num_classes} on {self.device.spec} ({self.device.name})>")

    # -- running ----------------------------------------------------------------------------
    # -- what the model declares (libraries with ONNX support; else from the info) --------
    @property
    def inputs(self):
        """The inputs as the file declares them: [Tensor(name, (None, C, H, W))]; H and W are
        None where any size runs (OctNetMini)."""
        if not _lib.has("oct_model_input"):
            return [Tensor("x", (None, self.info.in_channels, None, None))]
        return self._io("oct_model_input", 0)

    @property
    def outputs(self):
        """The outputs as the file declares them: [Tensor(name, (None, F))] or rank 4."""
        if not _lib.has("oct_model_output"):
            return [Tensor("logits", (None, self.info.num_classes))]
        return self._io("oct_model_output", 1)

    def _io(self, fn, which):
        self._live()
        lib = _lib.lib()
        n_in, n_out = ctypes.c_int(), ctypes.c_int()
        _check(lib.oct_model_io(self._model, ctypes.byref(n_in), ctypes.byref(n_out)))
        out = []
        for i in range((n_in, n_out)[which].value):
            buf, t = _info_buffer(_lib.ModelTensor)
            _check(getattr(lib, fn)(self._model, i, buf))
            out.append(_tensor(t))
        return out

    def layers(self):
        """The layers the library runs, with the source nodes fused into each (ONNX models;
        [] for OctNetMini or a library without the call)."""
        self._live()
        if not _lib.has("oct_model_layer_count"):
            return []
        lib = _lib.lib()
        out = []
        for i in range(lib.oct_model_layer_count(self._model)):
            buf, l = _info_buffer(_lib.ModelLayer)
            _check(lib.oct_model_layer_get(self._model, i, buf))
            out.append(Layer(_text(l.kind), _text(l.name), _text(l.fused), int(l.macs)))
        return out

    def profile(self, x, threads=False):
        """One forward pass timed layer by layer (oct_model_profile): (logits, [(Layer,
        seconds), ...]) in the order of layers(). The device is waited for after every
        layer, so the times add up to a little more than a plain pass; the logits are
        model(x)'s. With threads=True (oct_model_profile_threads) each row also holds a
        tuple of every host thread's busy seconds in that layer (self.threads of them; the
        calling thread first): (Layer, seconds, (busy, ...))."""
        name = "oct_model_profile_threads" if threads else "oct_model_profile"
        layers, x, (n, h, w), logits = self._layer_pass(name, "profile", x)
        secs = np.zeros(max(1, len(layers)), dtype=np.float64)
        if not threads:
            with self._lock:
                _check(_lib.lib().oct_model_profile(self._model, x.ctypes.data, n, h, w, logits.ctypes.data,
                                                    secs.ctypes.data))
            return logits, list(zip(layers, (float(v) for v in secs)))
        nt = self.threads
        busy = np.zeros(max(1, len(layers)) * nt, dtype=np.float64)
        with self._lock:
            _check(_lib.lib().oct_model_profile_threads(self._model, x.ctypes.data, n, h, w, logits.ctypes.data,
                                                        secs.ctypes.data, busy.ctypes.data))
        return logits, [(layer, float(secs[i]), tuple(float(v) for v in busy[i * nt:(i + 1) * nt]))
                        for i, layer in enumerate(layers)]

    def _layer_pass(self, name, what, x):
        """For a pass of C call `name` (Python method `what`) that reports per layer: the
        layers, the input as the library takes it, its (n, h, w) and the logits' array."""
        self._live()
        if not _lib.has(name):
            raise error_for("OCT_ERR_UNSUPPORTED", f"this octcl library has no {name}")
        if self._set:
            raise error_for("OCT_ERR_UNSUPPORTED", f"{what} runs on one device, not a device set")
        layers = self.layers()
        x = self._input(x)
        n, _, h, w = x.shape
        buf, t = _info_buffer(_lib.ModelTensor)
        with self._lock:
            _check(_lib.lib().oct_model_output_shape(self._model, n, h, w, buf))
        return layers, x, (n, h, w), np.empty(tuple(int(d) for d in list(t.dims)[:t.rank]), dtype=np.float32)

    def macs_executed(self, x):
        """One forward pass that counts the multiply-adds the backend runs in each layer
        (oct_model_layer_macs_executed): (logits, [(Layer, count), ...]) in the order of
        layers(), batch included: a layer's MACs where it runs as written, fewer where
        Winograd serves a 3x3 layer, -1 each on a backend that counts none (ref, OpenCL).
        The logits are model(x)'s."""
        layers, x, (n, h, w), logits = self._layer_pass("oct_model_layer_macs_executed", "macs_executed", x)
        counts = np.zeros(max(1, len(layers)), dtype=np.int64)
        with self._lock:
            _check(_lib.lib().oct_model_layer_macs_executed(self._model, x.ctypes.data, n, h, w, logits.ctypes.data,
                                                            counts.ctypes.data))
        return logits, list(zip(layers, (int(v) for v in counts)))

    @property
    def threads(self):
        """Host threads the model's ops run on (oct_model_threads): the cpu backend's pool,
        1 on ref and OpenCL (and for a library without the call)."""
        self._live()
        if self._set or not _lib.has("oct_model_threads"):
            return 1
        return int(_lib.lib().oct_model_threads(self._model))

    def _input(self, x):
        x = np.asarray(x)
        if x.ndim != 4:
            raise error_for("OCT_ERR_SHAPE_MISMATCH",
                            f"input has shape {x.shape}; the model expects (N, {self.info.in_channels}, H, W)")
        if x.shape[1] != self.info.in_channels:
            raise error_for("OCT_ERR_SHAPE_MISMATCH",
                            f"input has shape {x.shape}; the model expects {self.info.in_channels} channel(s)")
        if min(x.shape) < 1 or max(x.shape) > 2**31 - 1:
            raise error_for("OCT_ERR_BAD_SIZE", f"input has shape {x.shape}; every dimension must be in 1..2^31-1")
        return np.ascontiguousarray(x, dtype=np.float32)

    def _forward(self, x, trace=None):
        self._live()
        x = self._input(x)
        n, _, h, w = x.shape
        shape = (n, self.info.num_classes)
        if _lib.has("oct_model_output_shape"):
            # A graph may end in (N, C, H, W): the library writes it flat, we give it its shape.
            buf, t = _info_buffer(_lib.ModelTensor)
            with self._lock:
                _check(_lib.lib().oct_model_output_shape(self._model, n, h, w, buf))
            shape = tuple(int(d) for d in list(t.dims)[:t.rank]) if t.rank >= 2 else shape
        logits = np.empty(shape, dtype=np.float32)
        cb = _lib.TRACE_FN(trace) if trace else _lib.TRACE_FN()
        if self._set:
            who = np.empty(n, dtype=np.intc)
            with self._lock:
                if trace:
                    _check(_lib.lib().oct_model_trace(self._model, n, h, w, cb, None))
                _check(_lib.lib().oct_devset_forward(self._set, x.ctypes.data, n, h, w, logits.ctypes.data,
                                                     who.ctypes.data))
                self.device_of = who
            return logits
        with self._lock:
            # ctypes drops the GIL for the whole call: other Python threads run meanwhile.
            _check(_lib.lib().oct_model_forward(self._model, x.ctypes.data, n, h, w, logits.ctypes.data, cb, None))
        return logits

    def __call__(self, x):
        """logits (N, num_classes) float32 = model(x (N, C, H, W)); x is converted to
        C-contiguous float32 when it is not already."""
        return self._forward(x)

    forward = __call__

    def trace(self, shape):
        """The seed's shape trace for an input of `shape` (N, C, H, W): a list of
        (label, shape tuple or None for an absent band), from a pass over zeros."""
        stages = []

        def record(_user, label, rank, dims):
            stages.append((label.decode(), tuple(dims[i] for i in range(rank)) if rank > 0 else None))

        if _lib.has("oct_model_trace"):
            n, c, h, w = shape
            if c != self.info.in_channels:
                raise error_for("OCT_ERR_SHAPE_MISMATCH", f"trace shape {tuple(shape)}: the model expects "
                                f"{self.info.in_channels} channel(s)")
            self._live()
            with self._lock:
                _check(_lib.lib().oct_model_trace(self._model, int(n), int(h), int(w), _lib.TRACE_FN(record), None))
        else:
            self._forward(np.zeros(shape, dtype=np.float32), trace=record)
        return stages

    def macs(self, h, w):
        """Multiply-accumulates of one image of size h x w."""
        self._live()
        return int(_lib.lib().oct_model_macs(self._model, int(h), int(w)))

    def activation_bytes(self, n, h, w):
        """Device memory a forward pass holds for activations at batch n, size h x w."""
        self._live()
        return int(_lib.lib().oct_model_activation_bytes(self._model, int(n), int(h), int(w)))

    def preprocess(self, path, resize=None, crop=None, mean=None, std=None):
        """An image file as this model's input x (C, H, W) float32, the way `octcl
        classify --images` makes it: the model's default preprocessing (see
        oct_image_prep_default), each part replaceable (crop: (h, w); mean/std: per channel)."""
        self._live()
        lib = _lib.lib()
        _need("oct_image_preprocess")
        buf, mi = _info_buffer(_lib.ModelInfo)
        _check(lib.oct_model_info_get(self._model, buf))
        prep = _lib.ImagePrep()
        declared = self.inputs[0].shape
        if _lib.has("oct_image_prep_for_input"):
            h, w = (declared[2] or 0, declared[3] or 0) if len(declared) == 4 else (0, 0)
            _check(lib.oct_image_prep_for_input(buf, h, w, ctypes.byref(prep)))
        else:
            _check(lib.oct_image_prep_default(buf, ctypes.byref(prep)))
        if resize is not None:
            prep.resize = int(resize)
        if crop is not None:
            prep.crop_h, prep.crop_w = (int(crop), int(crop)) if np.isscalar(crop) else map(int, crop)
        for field, v in (("mean", mean), ("std", std)):
            if v is not None:
                vals = [float(v)] * 3 if np.isscalar(v) else [float(a) for a in v]
                getattr(prep, field)[:len(vals)] = vals
        img = _lib.Image()
        _check(lib.oct_image_load(str(path).encode(), ctypes.byref(img)))
        try:
            h, w = ctypes.c_int(), ctypes.c_int()
            _check(lib.oct_image_prep_shape(ctypes.byref(prep), ctypes.byref(img), ctypes.byref(h), ctypes.byref(w)))
            x = np.empty((prep.channels, h.value, w.value), np.float32)
            _check(lib.oct_image_preprocess(ctypes.byref(img), ctypes.byref(prep), x.ctypes.data, x.size))
        finally:
            lib.oct_image_release(ctypes.byref(img))
        return x

    def set_memory_limit(self, nbytes):
        """Cap the activation memory of a pass (0: none); larger batches run in chunks.
        On a device set: on every device."""
        self._live()
        lib = _lib.lib()
        if self._set:
            for i in range(len(self.devices)):
                _check(lib.oct_model_set_memory_limit(lib.oct_devset_model(self._set, i), int(nbytes)))
            return
        _check(lib.oct_model_set_memory_limit(self._model, int(nbytes)))
