/* error.c — status strings and the per-thread message behind oct_last_error(). */
#include "internal.h"

#include <stdio.h>

static _Thread_local char oct__message[512];

static const char *const oct__status_strings[OCT_STATUS_COUNT] = {
    [OCT_OK] = "success",
    [OCT_ERR_NULL_ARG] = "a required pointer or handle is NULL",
    [OCT_ERR_BAD_ALPHA] = "alpha is outside [0, 1] or NaN",
    [OCT_ERR_BAD_SIZE] = "a size, channel count, kernel, stride or padding is out of range",
    [OCT_ERR_KERNEL_TOO_LARGE] = "the kernel is larger than the padded input",
    [OCT_ERR_SHAPE_MISMATCH] = "a tensor's shape does not match",
    [OCT_ERR_CONTEXT_MISMATCH] = "objects belong to different contexts",
    [OCT_ERR_BAD_DEVICE_SPEC] = "the device name is not understood",
    [OCT_ERR_NO_DEVICE] = "the requested device does not exist",
    [OCT_ERR_NO_OPENCL] = "no OpenCL platform is available",
    [OCT_ERR_OPENCL] = "an OpenCL call failed",
    [OCT_ERR_BUILD] = "an OpenCL program failed to build",
    [OCT_ERR_CLBLAST] = "a CLBlast call failed",
    [OCT_ERR_HOST_MEMORY] = "out of host memory",
    [OCT_ERR_DEVICE_MEMORY] = "out of device memory (the backend's memory: host memory on cpu and ref)",
    [OCT_ERR_IO] = "a file could not be opened, read or written",
    [OCT_ERR_FORMAT] = "a file is malformed",
    [OCT_ERR_MODEL] = "a model file does not hold the expected tensors",
    [OCT_ERR_NOT_READY] = "an object was used before it was complete",
    [OCT_ERR_UNSUPPORTED] = "an op, attribute value or feature is not supported (by octcl or this backend)",
};

const char *oct_status_string(oct_status s)
{
    if ((int)s < 0 || s >= OCT_STATUS_COUNT || !oct__status_strings[s])
        return "unknown status";
    return oct__status_strings[s];
}

const char *oct_last_error(void) { return oct__message; }

void oct__clear_error(void) { oct__message[0] = '\0'; }

oct_status oct__fail(oct_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(oct__message, sizeof oct__message, fmt, ap);
    va_end(ap);
    /* Keep it one line. */
    for (char *p = oct__message; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return s;
}
