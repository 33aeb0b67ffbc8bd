"""octcl.errors: the library's status codes as Python exceptions.

Every failure of a library call raises a subclass of octcl.Error carrying .status (the
oct_status number), .status_name ("OCT_ERR_IO") and .message (oct_last_error(), the
library's one-line message naming the value at fault). Some also derive from the
built-in exception a Python user would catch (OSError, ValueError, MemoryError).
"""


class Error(Exception):
    """A failed octcl call."""

    status = None
    status_name = None

    def __init__(self, message, status=None, status_name=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if status_name is not None:
            self.status_name = status_name

    def __str__(self):
        name = f" [{self.status_name}]" if self.status_name else ""
        return f"{self.message}{name}"


class NullArgError(Error, ValueError): pass
class BadAlphaError(Error, ValueError): pass
class BadSizeError(Error, ValueError): pass
class KernelTooLargeError(Error, ValueError): pass
class ShapeMismatchError(Error, ValueError): pass
class ContextMismatchError(Error, ValueError): pass
class BadDeviceSpecError(Error, ValueError): pass
class NoDeviceError(Error): pass
class NoOpenCLError(Error): pass
class OpenCLError(Error): pass
class BuildError(Error): pass
class CLBlastError(Error): pass
class HostMemoryError(Error, MemoryError): pass
class DeviceMemoryError(Error): pass
class FileError(Error, OSError): pass          # OCT_ERR_IO
class FormatError(Error, ValueError): pass
class ModelError(Error, ValueError): pass
class NotReadyError(Error): pass
class UnsupportedError(Error, NotImplementedError): pass   # an op, attribute or feature octcl (or a backend) lacks


# In the order of the oct_status enum in include/octcl.h (OCT_OK = 0 first).
STATUS = [
    ("OCT_OK", None),
    ("OCT_ERR_NULL_ARG", NullArgError),
    ("OCT_ERR_BAD_ALPHA", BadAlphaError),
    ("OCT_ERR_BAD_SIZE", BadSizeError),
    ("OCT_ERR_KERNEL_TOO_LARGE", KernelTooLargeError),
    ("OCT_ERR_SHAPE_MISMATCH", ShapeMismatchError),
    ("OCT_ERR_CONTEXT_MISMATCH", ContextMismatchError),
    ("OCT_ERR_BAD_DEVICE_SPEC", BadDeviceSpecError),
    ("OCT_ERR_NO_DEVICE", NoDeviceError),
    ("OCT_ERR_NO_OPENCL", NoOpenCLError),
    ("OCT_ERR_OPENCL", OpenCLError),
    ("OCT_ERR_BUILD", BuildError),
    ("OCT_ERR_CLBLAST", CLBlastError),
    ("OCT_ERR_HOST_MEMORY", HostMemoryError),
    ("OCT_ERR_DEVICE_MEMORY", DeviceMemoryError),
    ("OCT_ERR_IO", FileError),
    ("OCT_ERR_FORMAT", FormatError),
    ("OCT_ERR_MODEL", ModelError),
    ("OCT_ERR_NOT_READY", NotReadyError),
    ("OCT_ERR_UNSUPPORTED", UnsupportedError),   # libraries with ONNX models
]
STATUS_NUMBER = {name: i for i, (name, _) in enumerate(STATUS)}


def make_error(status, message):
    """The exception for a status number (a newer code than this package knows: Error)."""
    if 0 < status < len(STATUS):
        name, cls = STATUS[status]
    else:
        name, cls = f"status {status}", Error
    return cls(message, status=status, status_name=name)


def error_for(name, message):
    """An exception of the class for a status name, raised by Python-side checks."""
    return make_error(STATUS_NUMBER[name], message)
