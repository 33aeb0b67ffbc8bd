/* device_cl.c — the OpenCL backend's device choice for the registry: "opencl" (the best
 * device of any type, GPUs first), "opencl:P:D", auto's pick (the first GPU) and the
 * device list. Platform order is not stable between machine starts, so every search
 * walks all platforms. Built without OpenCL, no platform is ever found. */
#include "backend_cl.h"

#if OCTCL_HAVE_OPENCL
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#endif
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define OCT__MAX_PLATFORMS 16
#define OCT__MAX_DEVICES 64

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
/* Built with -DOCTCL_OPENCL=OFF: no OpenCL platform is ever found, so every branch
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

static void oct__cl_fill(const oct__cl_dev *e, oct__choice *out)
{
    oct__cl_describe(e, &out->info);
    out->device[0] = (void *)e->platform;
    out->device[1] = (void *)e->device;
}

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

/* "opencl" (*p = -1) or "opencl:P:D". */
static int oct__cl_parse_spec(const char *spec, int *p, int *d)
{
    *p = *d = -1;
    if (strcmp(spec, "opencl") == 0) return 1;
    if (strncmp(spec, "opencl:", 7) != 0) return 0;
    const char *a = spec + 7, *colon = strchr(a, ':');
    return colon && oct__parse_index(a, colon, p) && oct__parse_index(colon + 1, colon + 1 + strlen(colon + 1), d);
}

oct_status oct__cl_parse(const char *spec)
{
    int p, d;
    if (!oct__cl_parse_spec(spec, &p, &d))
        return oct__fail(OCT_ERR_BAD_DEVICE_SPEC,
                         "device \"%s\" not understood: expected opencl:P:D with platform and device numbers", spec);
    return OCT_OK;
}

oct_status oct__cl_choose(const char *spec, oct__choice *out)
{
    oct__cl_dev devs[OCT__MAX_DEVICES];
    char why[200] = "";
    int p, d;
    OCT__TRY(oct__cl_parse(spec));
    oct__cl_parse_spec(spec, &p, &d);
    int n = oct__cl_enumerate(devs, OCT__MAX_DEVICES, why, sizeof why);
    if (n < 0) return oct__fail(OCT_ERR_NO_OPENCL, "device \"%s\": %s", spec, why);
    if (p < 0) {
        if (n == 0) return oct__fail(OCT_ERR_NO_DEVICE, "device \"opencl\": %s", why);
        int best = 0;
        for (int i = 1; i < n; i++)
            if (oct__type_rank(devs[i].type) < oct__type_rank(devs[best].type)) best = i;
        oct__cl_fill(&devs[best], out);
        snprintf(out->info.reason, sizeof out->info.reason, "opencl: best of %d OpenCL device(s), GPUs first (%d:%d)",
                 n, devs[best].p, devs[best].d);
        return OCT_OK;
    }
    for (int i = 0; i < n; i++)
        if (devs[i].p == p && devs[i].d == d) {
            oct__cl_fill(&devs[i], out);
            snprintf(out->info.reason, sizeof out->info.reason, "requested \"%s\"", spec);
            return OCT_OK;
        }
    return oct__fail(OCT_ERR_NO_DEVICE,
                     "device \"%s\": no OpenCL platform %d device %d (%d device(s) found; see `octcl info`)", spec, p,
                     d, n);
}

int oct__cl_auto_pick(oct__choice *out, char *why, size_t why_len)
{
    oct__cl_dev devs[OCT__MAX_DEVICES];
    char w[200] = "";
    int n = oct__cl_enumerate(devs, OCT__MAX_DEVICES, w, sizeof w);
    for (int i = 0; i < n; i++)
        if (devs[i].type & CL_DEVICE_TYPE_GPU) {
            oct__cl_fill(&devs[i], out);
            snprintf(out->info.reason, sizeof out->info.reason, "first GPU over all OpenCL platforms (%d:%d)",
                     devs[i].p, devs[i].d);
            return 1;
        }
    if (n < 0)
        snprintf(why, why_len, "%s", w);
    else
        snprintf(why, why_len, "no OpenCL GPU among %d OpenCL device(s)", n);
    return 0;
}

int oct__cl_list(oct_device_info *out, int max, char *why, size_t why_len)
{
    oct__cl_dev devs[OCT__MAX_DEVICES];
    int n = oct__cl_enumerate(devs, OCT__MAX_DEVICES, why, why_len);
    for (int i = 0; i < n && i < max; i++) oct__cl_describe(&devs[i], &out[i]);
    return n;
}
