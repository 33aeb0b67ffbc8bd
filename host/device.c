/* device.c — finding devices and creating contexts: auto / opencl / opencl:P:D / cpu /
 * ref. Platform order is not stable between machine starts, so every search walks all
 * platforms. */
#include "internal.h"

#if OCTCL_HAVE_OPENCL
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OCT__MAX_PLATFORMS 16
#define OCT__MAX_DEVICES 64

static void oct__cpu_describe(oct_backend be, oct_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->backend = be;
    info->platform_index = info->device_index = -1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (be == OCT_BACKEND_REF)
        snprintf(info->name, sizeof info->name, "reference (plain loops, double accumulation)");
    else
        snprintf(info->name, sizeof info->name, "native CPU (%ld cores)", cores);
    snprintf(info->driver, sizeof info->driver, "octcl %s", OCTCL_VERSION);
}

#if OCTCL_HAVE_OPENCL
typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    int p, d;
    cl_device_type type;
} oct__cl_dev;

/* All OpenCL devices in platform, device order. Returns the count, or -1 with the
 * reason in `why` when no platform can be listed. */
static int oct__cl_enumerate(oct__cl_dev *out, int max, char *why, size_t why_len)
{
    cl_platform_id plats[OCT__MAX_PLATFORMS];
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(OCT__MAX_PLATFORMS, plats, &np);
    if (err != CL_SUCCESS || np == 0) {
        snprintf(why, why_len, "no OpenCL platform found (clGetPlatformIDs returned %d, %u platforms)", (int)err,
                 (unsigned)np);
        return -1;
    }
    if (np > OCT__MAX_PLATFORMS) np = OCT__MAX_PLATFORMS;
    int count = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id devs[OCT__MAX_DEVICES];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, OCT__MAX_DEVICES, devs, &nd) != CL_SUCCESS) continue;
        if (nd > OCT__MAX_DEVICES) nd = OCT__MAX_DEVICES;
        for (cl_uint d = 0; d < nd && count < max; d++) {
            oct__cl_dev *e = &out[count++];
            e->platform = plats[p];
            e->device = devs[d];
            e->p = (int)p;
            e->d = (int)d;
            e->type = 0;
            clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof e->type, &e->type, NULL);
        }
    }
    if (count == 0) snprintf(why, why_len, "%u OpenCL platform(s) but no devices", (unsigned)np);
    return count;
}

static void oct__cl_describe(const oct__cl_dev *e, oct_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->backend = OCT_BACKEND_OPENCL;
    info->platform_index = e->p;
    info->device_index = e->d;
    info->is_gpu = (e->type & CL_DEVICE_TYPE_GPU) != 0;
    clGetDeviceInfo(e->device, CL_DEVICE_NAME, sizeof info->name - 1, info->name, NULL);
    clGetPlatformInfo(e->platform, CL_PLATFORM_NAME, sizeof info->platform - 1, info->platform, NULL);
    clGetDeviceInfo(e->device, CL_DRIVER_VERSION, sizeof info->driver - 1, info->driver, NULL);
}

/* Rank for "opencl": GPUs first, then accelerators, then CPUs, then the rest. */
static int oct__type_rank(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU) return 0;
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return 1;
    if (t & CL_DEVICE_TYPE_CPU) return 2;
    return 3;
}
#else
/* Built with -DOCTCL_OPENCL=OFF: no OpenCL platform is ever found, so every OpenCL branch
 * below stops at the enumeration; the stand-ins only let those branches compile. */
typedef struct {
    void *platform, *device;
    int p, d;
    int type;
} oct__cl_dev;
#define CL_DEVICE_TYPE_GPU 1

static int oct__cl_enumerate(oct__cl_dev *out, int max, char *why, size_t why_len)
{
    (void)out;
    (void)max;
    snprintf(why, why_len,
             "no OpenCL platform found: OpenCL is not built into this octcl (configured with -DOCTCL_OPENCL=OFF)");
    return -1;
}

static void oct__cl_describe(const oct__cl_dev *e, oct_device_info *info)
{
    (void)e;
    memset(info, 0, sizeof *info);
}

static int oct__type_rank(int t) { return t; }
#endif

/* Parse a non-negative decimal integer that spans [s, end). */
static int oct__parse_index(const char *s, const char *end, int *out)
{
    if (s == end || end - s > 6) return 0;
    int v = 0;
    for (const char *p = s; p < end; p++) {
        if (!isdigit((unsigned char)*p)) return 0;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 1;
}

/* Choose the device for `spec`; fills info (and *dev for OpenCL). */
static oct_status oct__choose(const char *spec, oct_device_info *info, oct__cl_dev *dev)
{
    oct__cl_dev devs[OCT__MAX_DEVICES];
    char why[200] = "";

    if (strcmp(spec, "ref") == 0) {
        oct__cpu_describe(OCT_BACKEND_REF, info);
        snprintf(info->reason, sizeof info->reason, "requested \"ref\"");
        return OCT_OK;
    }
    if (strcmp(spec, "cpu") == 0) {
        oct__cpu_describe(OCT_BACKEND_CPU, info);
        snprintf(info->reason, sizeof info->reason, "requested \"cpu\"");
        return OCT_OK;
    }
    if (strcmp(spec, "auto") == 0) {
        int n = oct__cl_enumerate(devs, OCT__MAX_DEVICES, why, sizeof why);
        for (int i = 0; i < n; i++)
            if (devs[i].type & CL_DEVICE_TYPE_GPU) {
                *dev = devs[i];
                oct__cl_describe(dev, info);
                snprintf(info->reason, sizeof info->reason, "auto: first GPU over all OpenCL platforms (%d:%d)",
                         dev->p, dev->d);
                return OCT_OK;
            }
        oct__cpu_describe(OCT_BACKEND_CPU, info);
        if (n < 0)
            snprintf(info->reason, sizeof info->reason, "auto: %s; using the native CPU path", why);
        else
            snprintf(info->reason, sizeof info->reason,
                     "auto: no OpenCL GPU among %d OpenCL device(s); using the native CPU path", n);
        return OCT_OK;
    }
    if (strcmp(spec, "opencl") == 0) {
        int n = oct__cl_enumerate(devs, OCT__MAX_DEVICES, why, sizeof why);
        if (n < 0) return oct__fail(OCT_ERR_NO_OPENCL, "device \"opencl\": %s", why);
        if (n == 0) return oct__fail(OCT_ERR_NO_DEVICE, "device \"opencl\": %s", why);
        int best = 0;
        for (int i = 1; i < n; i++)
            if (oct__type_rank(devs[i].type) < oct__type_rank(devs[best].type)) best = i;
        *dev = devs[best];
        oct__cl_describe(dev, info);
        snprintf(info->reason, sizeof info->reason, "opencl: best of %d OpenCL device(s), GPUs first (%d:%d)", n,
                 dev->p, dev->d);
        return OCT_OK;
    }
    if (strncmp(spec, "opencl:", 7) == 0) {
        const char *a = spec + 7, *colon = strchr(a, ':');
        int p, d;
        if (!colon || !oct__parse_index(a, colon, &p) || !oct__parse_index(colon + 1, colon + 1 + strlen(colon + 1), &d))
            return oct__fail(OCT_ERR_BAD_DEVICE_SPEC,
                             "device \"%s\" not understood: expected opencl:P:D with platform and device numbers", spec);
        int n = oct__cl_enumerate(devs, OCT__MAX_DEVICES, why, sizeof why);
        if (n < 0) return oct__fail(OCT_ERR_NO_OPENCL, "device \"%s\": %s", spec, why);
        for (int i = 0; i < n; i++)
            if (devs[i].p == p && devs[i].d == d) {
                *dev = devs[i];
                oct__cl_describe(dev, info);
                snprintf(info->reason, sizeof info->reason, "requested \"%s\"", spec);
                return OCT_OK;
            }
        return oct__fail(OCT_ERR_NO_DEVICE, "device \"%s\": no OpenCL platform %d device %d (%d device(s) found; see `octcl info`)",
                         spec, p, d, n);
    }
    return oct__fail(OCT_ERR_BAD_DEVICE_SPEC,
                     "device \"%s\" not understood: use auto, opencl, opencl:P:D, cpu or ref", spec);
}

oct_status oct_context_create(const char *device, oct_context **out)
{
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "oct_context_create: out is NULL");
    *out = NULL;
    const char *spec = device;
    if (!spec) {
        spec = getenv("OCTCL_DEVICE");
        if (!spec || !*spec) spec = "auto";
    }
    oct_context *ctx = oct__calloc(1, sizeof *ctx);
    if (!ctx) return oct__fail(OCT_ERR_HOST_MEMORY, "oct_context_create: out of host memory");
    oct__cl_dev dev = {0};
    oct_status s = oct__choose(spec, &ctx->info, &dev);
    if (s != OCT_OK) {
        free(ctx);
        return s;
    }
    switch (ctx->info.backend) {
    case OCT_BACKEND_REF: ctx->be = &oct__backend_ref; break;
    case OCT_BACKEND_CPU: ctx->be = &oct__backend_cpu; break;
    default:
#if OCTCL_HAVE_OPENCL
        ctx->be = &oct__backend_cl;
        ctx->cl_platform = dev.platform;
        ctx->cl_device = dev.device;
        break;
#else
        free(ctx);
        return oct__fail(OCT_ERR_NO_OPENCL, "device \"%s\": OpenCL is not built into this octcl", spec);
#endif
    }
    s = ctx->be->init(ctx);
#if OCTCL_HAVE_OPENCL
    if (s != OCT_OK && strcmp(spec, "auto") == 0 && ctx->be == &oct__backend_cl && s != OCT_ERR_HOST_MEMORY) {
        /* auto: a GPU that cannot run (no program builds, no context) leaves the native
         * CPU path, and the reason says why. */
        char why[256];
        snprintf(why, sizeof why, "%s", oct_last_error());
        oct_device_info gpu = ctx->info;
        oct__cpu_describe(OCT_BACKEND_CPU, &ctx->info);
        snprintf(ctx->info.reason, sizeof ctx->info.reason, "auto: GPU %.32s (%d:%d) unusable: %.140s; using the native CPU path",
                 gpu.name, gpu.platform_index, gpu.device_index, why);
        ctx->be = &oct__backend_cpu;
        ctx->cl_platform = ctx->cl_device = NULL;
        s = ctx->be->init(ctx);
    }
#endif
    if (s != OCT_OK) {
        free(ctx);
        return s;
    }
    *out = ctx;
    return OCT_OK;
}

void oct_context_free(oct_context *ctx)
{
    if (!ctx) return;
    ctx->be->release(ctx);
    free(ctx);
}

oct_status oct_context_info(const oct_context *ctx, oct_device_info *out)
{
    if (!ctx || !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_context_info: %s is NULL", !ctx ? "context" : "out");
    *out = ctx->info;
    return OCT_OK;
}

oct_status oct_context_finish(oct_context *ctx)
{
    if (!ctx) return oct__fail(OCT_ERR_NULL_ARG, "oct_context_finish: context is NULL");
    return ctx->be->finish(ctx);
}

oct_status oct_list_devices(oct_device_info *out, int max, int *count)
{
    if (!count) return oct__fail(OCT_ERR_NULL_ARG, "oct_list_devices: count is NULL");
    if (max > 0 && !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_list_devices: out is NULL");
    oct__cl_dev devs[OCT__MAX_DEVICES];
    char why[200] = "";
    int n = oct__cl_enumerate(devs, OCT__MAX_DEVICES, why, sizeof why);
    *count = n < 0 ? 0 : n;
    if (n <= 0) {
        oct__fail(OCT_OK, "%s", why);
        return OCT_OK;
    }
    for (int i = 0; i < n && i < max; i++) oct__cl_describe(&devs[i], &out[i]);
    oct__clear_error();
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Benchmark support                                                                      */

oct_status oct_context_profile(oct_context *ctx, int enable)
{
    if (!ctx) return oct__fail(OCT_ERR_NULL_ARG, "oct_context_profile: context is NULL");
    if (!ctx->be->profile) return oct__fail(OCT_ERR_NOT_READY, "profiling is not available on %s", ctx->be->name);
    return ctx->be->profile(ctx, enable);
}

oct_status oct_context_device_ms(oct_context *ctx, double *ms)
{
    if (!ctx || !ms) return oct__fail(OCT_ERR_NULL_ARG, "oct_context_device_ms: %s is NULL", !ctx ? "context" : "ms");
    if (!ctx->be->device_ms) return oct__fail(OCT_ERR_NOT_READY, "profiling is not available on %s", ctx->be->name);
    return ctx->be->device_ms(ctx, ms);
}

oct_status oct_context_peak_gflops(oct_context *ctx, double *gflops)
{
    if (!ctx || !gflops)
        return oct__fail(OCT_ERR_NULL_ARG, "oct_context_peak_gflops: %s is NULL", !ctx ? "context" : "gflops");
    if (!ctx->be->peak_gflops) return oct__fail(OCT_ERR_NOT_READY, "no peak probe on %s", ctx->be->name);
    if (ctx->peak_gflops <= 0) OCT__TRY(ctx->be->peak_gflops(ctx, &ctx->peak_gflops));
    *gflops = ctx->peak_gflops;
    return OCT_OK;
}
