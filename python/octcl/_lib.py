"""octcl._lib: find and load liboctcl, and declare the C functions the package calls.

Lookup order (the first that loads wins; the error names every one tried):
  1. $OCTCL_LIBRARY, when set and not empty: that file only, no fallback.
  2. the installed liboctcl.so.0 through the dynamic loader's search path
     (LD_LIBRARY_PATH, /etc/ld.so.cache, the default folders), then whatever
     ctypes.util.find_library("octcl") names.
  3. a library built in the source tree this package sits in: build*/liboctcl.so*
     beside python/ (for running the tests from a checkout without installing).
"""
import ctypes
import ctypes.util
import glob
import os
import threading

SONAME = "liboctcl.so.0"

_lock = threading.Lock()
_lib = None
_lib_path = None


class LibraryNotFoundError(OSError):
    """No liboctcl could be loaded; .tried lists (candidate, why it failed)."""

    def __init__(self, tried):
        self.tried = list(tried)
        lines = ["octcl: could not load the octcl C library; tried:"]
        for cand, why in self.tried:
            lines.append(f"  {cand}: {why}")
        lines.append("set OCTCL_LIBRARY to the path of liboctcl.so, or install octcl")
        super().__init__("\n".join(lines))


def source_tree_candidates(pkg_dir=None):
    """build*/liboctcl.so* in the checkout holding this package (python/octcl/..)."""
    pkg_dir = pkg_dir or os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(pkg_dir))
    if not os.path.isfile(os.path.join(root, "include", "octcl.h")):
        return []
    found = []
    for d in sorted(glob.glob(os.path.join(root, "build*"))):
        # liboctcl.so.0 first (the soname), then any other versioned name.
        names = sorted(glob.glob(os.path.join(d, "liboctcl.so*")), key=lambda p: (not p.endswith(".so.0"), p))
        found.extend(names)
    return found


def find_library(environ=None, loader_names=None, tree=None, loader=ctypes.CDLL):
    """Load the library by the lookup order; returns (CDLL, path or name it came from).

    The arguments replace the process environment, the loader names and the source-tree
    candidates (the tests use them); `loader` is what opens a file or name."""
    environ = os.environ if environ is None else environ
    tried = []
    explicit = environ.get("OCTCL_LIBRARY", "")
    if explicit:
        try:
            return loader(explicit), explicit
        except OSError as e:
            tried.append((f"$OCTCL_LIBRARY={explicit}", str(e)))
            raise LibraryNotFoundError(tried) from None
    tried.append(("$OCTCL_LIBRARY", "not set"))
    if loader_names is None:
        loader_names = [SONAME]
        found = ctypes.util.find_library("octcl")
        if found and found != SONAME:
            loader_names.append(found)
    for name in loader_names:
        try:
            return loader(name), name
        except OSError as e:
            tried.append((f"{name} (the loader's search path)", str(e)))
    cands = source_tree_candidates() if tree is None else tree
    if not cands:
        tried.append(("build*/liboctcl.so* in the source tree", "none found"))
    for path in cands:
        try:
            return loader(path), path
        except OSError as e:
            tried.append((path, str(e)))
    raise LibraryNotFoundError(tried)


# ------------------------------------------------------------------------------------------
# C declarations (include/octcl.h)

class DeviceInfo(ctypes.Structure):
    _fields_ = [
        ("backend", ctypes.c_int),
        ("platform_index", ctypes.c_int),
        ("device_index", ctypes.c_int),
        ("is_gpu", ctypes.c_int),
        ("name", ctypes.c_char * 256),
        ("platform", ctypes.c_char * 256),
        ("driver", ctypes.c_char * 128),
        ("reason", ctypes.c_char * 256),
    ]


class ModelInfo(ctypes.Structure):
    _fields_ = [
        ("in_channels", ctypes.c_int),
        ("num_classes", ctypes.c_int),
        ("alpha", ctypes.c_double),
        ("stem_channels", ctypes.c_int),
        ("c_l", ctypes.c_int * 3),
        ("c_h", ctypes.c_int * 3),
        ("parameters", ctypes.c_longlong),
        ("has_norm", ctypes.c_int),
        ("mean", ctypes.c_double),
        ("std", ctypes.c_double),
    ]


class Image(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_uint8)), ("h", ctypes.c_int), ("w", ctypes.c_int),
                ("channels", ctypes.c_int)]


class ImagePrep(ctypes.Structure):
    _fields_ = [("channels", ctypes.c_int), ("resize", ctypes.c_int), ("crop_h", ctypes.c_int),
                ("crop_w", ctypes.c_int), ("mean", ctypes.c_double * 3), ("std", ctypes.c_double * 3)]


class ModelTensor(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 128), ("rank", ctypes.c_int), ("dims", ctypes.c_int64 * 4)]


class ModelLayer(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_char * 32), ("name", ctypes.c_char * 128), ("fused", ctypes.c_char * 1024),
                ("macs", ctypes.c_longlong)]


# Slack after each struct the library fills, so that a newer library that appends fields
# never writes past what Python allocated.
SLACK = 4096

class Event(ctypes.Structure):
    # `message` (DEVICE_DROPPED) is read only from libraries that have device sets.
    _fields_ = [("kind", ctypes.c_int), ("device", ctypes.c_char_p), ("cached", ctypes.c_int),
                ("seconds", ctypes.c_double), ("message", ctypes.c_char_p)]


class DevsetStats(ctypes.Structure):
    _fields_ = [("device", ctypes.c_char * 64), ("active", ctypes.c_int), ("images", ctypes.c_longlong),
                ("chunks", ctypes.c_longlong), ("seconds", ctypes.c_double), ("error", ctypes.c_int),
                ("message", ctypes.c_char * 256)]


EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(Event))

TRACE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int))

_c = ctypes
_P = ctypes.c_void_p
_SIGNATURES = {
    # name: (restype, argtypes)
    "oct_status_string": (_c.c_char_p, [_c.c_int]),
    "oct_last_error": (_c.c_char_p, []),
    "oct_context_create": (_c.c_int, [_c.c_char_p, _c.POINTER(_P)]),
    "oct_context_free": (None, [_P]),
    "oct_context_info": (_c.c_int, [_P, _P]),
    "oct_list_devices": (_c.c_int, [_P, _c.c_int, _c.POINTER(_c.c_int)]),
    "oct_model_load": (_c.c_int, [_P, _c.c_char_p, _c.POINTER(_P)]),
    "oct_model_create_random": (_c.c_int, [_P, _c.c_int, _c.c_int, _c.c_double, _c.c_uint64, _c.POINTER(_P)]),
    "oct_model_free": (None, [_P]),
    "oct_model_info_get": (_c.c_int, [_P, _P]),
    "oct_model_forward": (_c.c_int, [_P, _P, _c.c_int, _c.c_int, _c.c_int, _P, TRACE_FN, _P]),
    "oct_model_set_memory_limit": (_c.c_int, [_P, _c.c_size_t]),
    "oct_model_last_chunk": (_c.c_int, [_P]),
    "oct_model_macs": (_c.c_longlong, [_P, _c.c_int, _c.c_int]),
    "oct_model_activation_bytes": (_c.c_size_t, [_P, _c.c_int, _c.c_int, _c.c_int]),
}
# Declared when the library has them (older libraries lack them; the calls that need
# them say so).
_OPTIONAL = {
    "oct_image_load": (_c.c_int, [_c.c_char_p, _P]),
    "oct_image_release": (None, [_P]),
    "oct_image_prep_default": (_c.c_int, [_P, _P]),
    "oct_image_prep_shape": (_c.c_int, [_P, _P, _c.POINTER(_c.c_int), _c.POINTER(_c.c_int)]),
    "oct_image_preprocess": (_c.c_int, [_P, _P, _P, _c.c_size_t]),
    "oct_image_prep_for_input": (_c.c_int, [_P, _c.c_int, _c.c_int, _P]),
    "oct_set_event_callback": (None, [EVENT_FN, _P]),
    # Any network (ONNX): model inputs / outputs, a shape-only trace, the layers.
    "oct_model_io": (_c.c_int, [_P, _c.POINTER(_c.c_int), _c.POINTER(_c.c_int)]),
    "oct_model_input": (_c.c_int, [_P, _c.c_int, _P]),
    "oct_model_output": (_c.c_int, [_P, _c.c_int, _P]),
    "oct_model_output_shape": (_c.c_int, [_P, _c.c_int, _c.c_int, _c.c_int, _P]),
    "oct_model_trace": (_c.c_int, [_P, _c.c_int, _c.c_int, _c.c_int, TRACE_FN, _P]),
    "oct_model_layer_count": (_c.c_int, [_P]),
    "oct_model_layer_get": (_c.c_int, [_P, _c.c_int, _P]),
    "oct_model_profile": (_c.c_int, [_P, _P, _c.c_int, _c.c_int, _c.c_int, _P, _P]),
    "oct_model_threads": (_c.c_int, [_P]),
    "oct_model_profile_threads": (_c.c_int, [_P, _P, _c.c_int, _c.c_int, _c.c_int, _P, _P, _P]),
    "oct_model_layer_macs_executed": (_c.c_int, [_P, _P, _c.c_int, _c.c_int, _c.c_int, _P, _P]),
    # Device sets: one model on several devices at once.
    "oct_devset_create": (_c.c_int, [_c.c_char_p, _c.c_char_p, _c.POINTER(_P)]),
    "oct_devset_create_random": (_c.c_int, [_c.c_char_p, _c.c_int, _c.c_int, _c.c_double, _c.c_uint64,
                                            _c.POINTER(_P)]),
    "oct_devset_free": (None, [_P]),
    "oct_devset_count": (_c.c_int, [_P]),
    "oct_devset_device": (_c.c_int, [_P, _c.c_int, _P]),
    "oct_devset_model": (_P, [_P, _c.c_int]),
    "oct_devset_set_chunk": (_c.c_int, [_P, _c.c_int]),
    "oct_devset_forward": (_c.c_int, [_P, _P, _c.c_int, _c.c_int, _c.c_int, _P, _P]),
    "oct_devset_stats_get": (_c.c_int, [_P, _c.c_int, _P]),
    "oct_devset_reset_stats": (None, [_P]),
}


def lib():
    """The loaded library (loaded on first use)."""
    global _lib, _lib_path
    with _lock:
        if _lib is None:
            handle, path = find_library()
            for name, (res, args) in _SIGNATURES.items():
                try:
                    fn = getattr(handle, name)
                except AttributeError:
                    raise LibraryNotFoundError([(path, f"loaded, but it has no {name}(): not liboctcl, or too old")]) from None
                fn.restype = res
                fn.argtypes = args
            for name, (res, args) in _OPTIONAL.items():
                if hasattr(handle, name):
                    fn = getattr(handle, name)
                    fn.restype = res
                    fn.argtypes = args
            _lib, _lib_path = handle, path
        return _lib


def library_path():
    """Where the loaded library came from (a path or the loader name); loads it if needed."""
    lib()
    return _lib_path


def has(name):
    """Whether the loaded library exports `name` (newer calls are used only when present)."""
    return hasattr(lib(), name)
