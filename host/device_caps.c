/* device_caps.c — what an OpenCL device offers (memory, compute units, OpenCL C version,
 * FP16 / FP64), by the platform:device indices oct_list_devices gives, for `octcl info`.
 * Without the OpenCL backend every query is OCT_ERR_NO_OPENCL.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#ifndef OCTCL_HAVE_OPENCL
#define OCTCL_HAVE_OPENCL 1
#endif

#if OCTCL_HAVE_OPENCL
#include <CL/cl.h>

#define OCT__CAPS_MAX_PLATFORMS 16
#define OCT__CAPS_MAX_DEVICES 64

/* The device at P:D, counted as oct_list_devices counts (all types, platform order). */
static oct_status oct__find_device(int p, int d, cl_device_id *out)
{
    cl_platform_id plats[OCT__CAPS_MAX_PLATFORMS];
    cl_device_id devs[OCT__CAPS_MAX_DEVICES];
    cl_uint np = 0, nd = 0;
    cl_int err = oct__fault_hit() ? CL_OUT_OF_HOST_MEMORY : clGetPlatformIDs(OCT__CAPS_MAX_PLATFORMS, plats, &np);
    if (err != CL_SUCCESS || np == 0)
        return oct__fail(OCT_ERR_NO_OPENCL, "no OpenCL platform found (clGetPlatformIDs returned %d)", (int)err);
    if (np > OCT__CAPS_MAX_PLATFORMS) np = OCT__CAPS_MAX_PLATFORMS;
    if (p < 0 || (cl_uint)p >= np) return oct__fail(OCT_ERR_NO_DEVICE, "no OpenCL platform %d (%u found)", p, np);
    err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, OCT__CAPS_MAX_DEVICES, devs, &nd);
    if (err != CL_SUCCESS) nd = 0;
    if (nd > OCT__CAPS_MAX_DEVICES) nd = OCT__CAPS_MAX_DEVICES;
    if (d < 0 || (cl_uint)d >= nd)
        return oct__fail(OCT_ERR_NO_DEVICE, "no OpenCL device %d:%d (platform %d has %u)", p, d, p, nd);
    *out = devs[d];
    return OCT_OK;
}

static void oct__info_text(cl_device_id dev, cl_device_info what, char *buf, size_t len)
{
    size_t got = 0;
    buf[0] = '\0';
    if (clGetDeviceInfo(dev, what, len - 1, buf, &got) != CL_SUCCESS) got = 0;
    buf[got < len ? got : len - 1] = '\0';
}

oct_status oct_device_caps_get(int platform_index, int device_index, oct_device_caps *out)
{
    cl_device_id dev = NULL;
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "oct_device_caps_get: out is NULL");
    memset(out, 0, sizeof *out);
    OCT__TRY(oct__find_device(platform_index, device_index, &dev));
    cl_ulong mem = 0, alloc = 0, local = 0;
    cl_uint units = 0, clock = 0;
    cl_device_fp_config fp64 = 0;
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc, &alloc, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL);
    if (clGetDeviceInfo(dev, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL) != CL_SUCCESS) fp64 = 0;
    out->global_mem_bytes = mem;
    out->max_alloc_bytes = alloc;
    out->local_mem_bytes = local;
    out->compute_units = (int)units;
    out->max_clock_mhz = (int)clock;
    oct__info_text(dev, CL_DEVICE_VERSION, out->opencl_version, sizeof out->opencl_version);
    oct__info_text(dev, CL_DEVICE_OPENCL_C_VERSION, out->opencl_c_version, sizeof out->opencl_c_version);
    char ext[8192];
    oct__info_text(dev, CL_DEVICE_EXTENSIONS, ext, sizeof ext);
    out->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
    out->fp64 = fp64 != 0 || strstr(ext, "cl_khr_fp64") != NULL;
    return OCT_OK;
}

#else

oct_status oct_device_caps_get(int platform_index, int device_index, oct_device_caps *out)
{
    if (out) memset(out, 0, sizeof *out);
    return oct__fail(OCT_ERR_NO_OPENCL, "no OpenCL device %d:%d: octcl was built without OpenCL", platform_index,
                     device_index);
}

#endif
