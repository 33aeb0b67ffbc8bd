/* backend_cl.c — the OpenCL backend: one cl_context, an in-order queue with profiling,
 * and ONE program built from every embedded kernel file (common.cl first, then the
 * others in the generated table's sorted order), through the on-disk binary cache
 * (program_cache.c); CLBlast's SGEMM for the linear layer.
 *
 * Convolutions run as a tiled implicit GEMM (conv_gemm.cl) whose tile sizes are -D knobs
 * picked per device at init, or as the direct kernel (conv.cl) for tiny ops. Init steps
 * down (gpu -> small -> cpu tiles -> direct kernel alone) when a set does not fit the
 * device, fails to build, or builds into a kernel allowing fewer work-items than its
 * work-group, and says why in the context's reason. The graph ops (graph.cl) send
 * one-group square convolutions to those kernels and the rest (groups, depthwise,
 * dilation, asymmetric padding) to a direct kernel. While profiling is on,
 * every kernel's event is kept and its device time summed.
 * A context is not thread-safe: ops set arguments on kernels the context shares.
 * Ops arrive checked by the dispatcher (dispatch.c); every failed OpenCL call maps to a
 * status through oct__cl_status. */
#include "backend_cl.h"
#include "io.h"
#include "octcl_kernels.h"
#include "tune.h"

#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#include <clblast_c.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* No fast-math: results must agree with the reference backend. The language version
 * (-cl-std=CL1.1 or CL1.2) follows the device's CL_DEVICE_OPENCL_C_VERSION; every
 * kernel compiles as OpenCL C 1.1. */
/* Preferred work-group sizes (capped by what the device and kernel allow). */
#define OCT__LOCAL_1D 64
#define OCT__LOCAL_GAP 256
#define OCT__LOCAL_PROBE 256
/* How much of a failed build's log goes into the message. */
#define OCT__LOG_CHARS 300
/* Kernel events kept while profiling before they are folded into the total. */
#define OCT__MAX_EVENTS 1024
/* Convolutions with fewer multiply-adds per image than this run the direct kernel: the
 * GEMM's packing launch and its mostly empty tiles cost more than they save. */
#define OCT__GEMM_MIN_MACS (1LL << 16)

enum {
    OCT__K_CONV,
    OCT__K_GEMM,
    OCT__K_PACK,
    OCT__K_POOL,
    OCT__K_RESIZE,
    OCT__K_GAP,
    OCT__K_BIAS,
    OCT__K_LINEAR,
    OCT__K_PROBE,
    OCT__K_CONVG,
    OCT__K_CONVG_DW,
    OCT__K_POOLG,
    OCT__K_ADD,
    OCT__K_AFFINE,
    OCT__K_COUNT
};

static const struct {
    const char *name;
    size_t preferred_local; /* 0: fixed by the kernel (reqd_work_group_size) */
} oct__kernels[OCT__K_COUNT] = {
    [OCT__K_CONV] = {"oct_conv2d_direct", OCT__LOCAL_1D},
    [OCT__K_GEMM] = {"oct_conv2d_gemm", 0},
    [OCT__K_PACK] = {"oct_conv_pack", OCT__LOCAL_1D},
    [OCT__K_POOL] = {"oct_avgpool2", OCT__LOCAL_1D},
    [OCT__K_RESIZE] = {"oct_resize_nearest", OCT__LOCAL_1D},
    [OCT__K_GAP] = {"oct_gap", OCT__LOCAL_GAP},
    [OCT__K_BIAS] = {"oct_linear_bias", OCT__LOCAL_1D},
    [OCT__K_LINEAR] = {"oct_linear", OCT__LOCAL_1D},
    [OCT__K_PROBE] = {"oct_probe_fma", OCT__LOCAL_PROBE},
    [OCT__K_CONVG] = {"oct_convg_direct", OCT__LOCAL_1D},
    [OCT__K_CONVG_DW] = {"oct_convg_dw", OCT__LOCAL_1D},
    [OCT__K_POOLG] = {"oct_poolg", OCT__LOCAL_1D},
    [OCT__K_ADD] = {"oct_add", OCT__LOCAL_1D},
    [OCT__K_AFFINE] = {"oct_affine", OCT__LOCAL_1D},
};

/* Tile sizes of the implicit GEMM (conv_gemm.cl's OCT_TM ... OCT_RN). */
typedef struct {
    int tm, tn, tk, rm, rn;
    int wglobal; /* OCT_WGLOBAL: weights read from global memory, no local tile */
} oct__tiles;

/* GPUs: 256 work-items (32 x 8) of 8 channels x a float4 of pixels, 12 KiB of local
 * memory; a warp shares its weights (broadcast) and reads 128 contiguous pixels. */
static const oct__tiles oct__tiles_gpu = {64, 128, 16, 8, 4, 0};
/* CPU devices (PoCL): work-groups of 4 work-items, each 16 channels x a float16 of
 * pixels (16 AVX-512 accumulators), weights straight from the cache. Measured on PoCL
 * 3.1 (2 cores, AVX-512) against 30 other sets: larger work-groups cost PoCL more in
 * its per-work-item state around barriers than they save in loads. */
static const oct__tiles oct__tiles_cpu = {64, 16, 32, 16, 16, 1};
/* Devices with small work-groups or local memory: 64 work-items, 4 KiB. */
static const oct__tiles oct__tiles_small = {32, 32, 16, 4, 4, 0};

/* How convolutions are run: by size (auto), or forced ($OCTCL_CONV=direct|gemm). */
enum { OCT__CONV_AUTO, OCT__CONV_DIRECT, OCT__CONV_GEMM };
/* How the linear layer is run: by size (auto), or forced ($OCTCL_LINEAR=kernel|clblast). */
enum { OCT__LINEAR_AUTO, OCT__LINEAR_KERNEL, OCT__LINEAR_CLBLAST };
/* Below this many multiply-adds a linear layer runs in oct_linear: CLBlast builds its
 * SGEMM program in every new process (about 10 s on PoCL with a cold cache, 18 of 35 s
 * of a cold start there), which a head like OctNetMini's (N x 128 x 10) never repays. */
#define OCT__CLBLAST_MIN_MACS (1LL << 22)

/* What a context owns (ctx->state). */
typedef struct {
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernel[OCT__K_COUNT];
    size_t local[OCT__K_COUNT]; /* work-group size used for each 1-D kernel, a power of two */
    int used_clblast;           /* CLBlast holds programs of this context in its cache */
    int cache_hit;              /* the program came from the on-disk cache */
    char options[256];          /* build options, knobs included */
    /* Convolution */
    oct__tiles tiles;
    int gemm_ok;                /* the GEMM kernel fits this device */
    int conv_mode;              /* OCT__CONV_* */
    int linear_mode;            /* OCT__LINEAR_* */
    cl_mem wpack;               /* packed weights of the GEMM, grown as needed */
    size_t wpack_count;
    int probe_vec, probe_chains; /* probe.cl's OCT_PROBE_VEC, OCT_PROBE_CHAINS */
    /* Profiling: events of kernels queued while on, and the device time of those folded */
    int prof_on;
    cl_event events[OCT__MAX_EVENTS];
    int nevents;
    double prof_ms;
} oct__cl;

/* ------------------------------------------------------------------------------------ */
/* Errors                                                                                 */

const char *oct__cl_errstr(int e)
{
    switch (e) {
    case CL_SUCCESS: return "CL_SUCCESS";
    case CL_DEVICE_NOT_FOUND: return "CL_DEVICE_NOT_FOUND";
    case CL_DEVICE_NOT_AVAILABLE: return "CL_DEVICE_NOT_AVAILABLE";
    case CL_COMPILER_NOT_AVAILABLE: return "CL_COMPILER_NOT_AVAILABLE";
    case CL_MEM_OBJECT_ALLOCATION_FAILURE: return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
    case CL_OUT_OF_RESOURCES: return "CL_OUT_OF_RESOURCES";
    case CL_OUT_OF_HOST_MEMORY: return "CL_OUT_OF_HOST_MEMORY";
    case CL_PROFILING_INFO_NOT_AVAILABLE: return "CL_PROFILING_INFO_NOT_AVAILABLE";
    case CL_BUILD_PROGRAM_FAILURE: return "CL_BUILD_PROGRAM_FAILURE";
    case CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST:
        return "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST";
    case CL_INVALID_VALUE: return "CL_INVALID_VALUE";
    case CL_INVALID_DEVICE_TYPE: return "CL_INVALID_DEVICE_TYPE";
    case CL_INVALID_PLATFORM: return "CL_INVALID_PLATFORM";
    case CL_INVALID_DEVICE: return "CL_INVALID_DEVICE";
    case CL_INVALID_CONTEXT: return "CL_INVALID_CONTEXT";
    case CL_INVALID_QUEUE_PROPERTIES: return "CL_INVALID_QUEUE_PROPERTIES";
    case CL_INVALID_COMMAND_QUEUE: return "CL_INVALID_COMMAND_QUEUE";
    case CL_INVALID_MEM_OBJECT: return "CL_INVALID_MEM_OBJECT";
    case CL_INVALID_BINARY: return "CL_INVALID_BINARY";
    case CL_INVALID_BUILD_OPTIONS: return "CL_INVALID_BUILD_OPTIONS";
    case CL_INVALID_PROGRAM: return "CL_INVALID_PROGRAM";
    case CL_INVALID_PROGRAM_EXECUTABLE: return "CL_INVALID_PROGRAM_EXECUTABLE";
    case CL_INVALID_KERNEL_NAME: return "CL_INVALID_KERNEL_NAME";
    case CL_INVALID_KERNEL: return "CL_INVALID_KERNEL";
    case CL_INVALID_ARG_INDEX: return "CL_INVALID_ARG_INDEX";
    case CL_INVALID_ARG_VALUE: return "CL_INVALID_ARG_VALUE";
    case CL_INVALID_ARG_SIZE: return "CL_INVALID_ARG_SIZE";
    case CL_INVALID_KERNEL_ARGS: return "CL_INVALID_KERNEL_ARGS";
    case CL_INVALID_WORK_DIMENSION: return "CL_INVALID_WORK_DIMENSION";
    case CL_INVALID_WORK_GROUP_SIZE: return "CL_INVALID_WORK_GROUP_SIZE";
    case CL_INVALID_WORK_ITEM_SIZE: return "CL_INVALID_WORK_ITEM_SIZE";
    case CL_INVALID_GLOBAL_OFFSET: return "CL_INVALID_GLOBAL_OFFSET";
    case CL_INVALID_EVENT_WAIT_LIST: return "CL_INVALID_EVENT_WAIT_LIST";
    case CL_INVALID_OPERATION: return "CL_INVALID_OPERATION";
    case CL_INVALID_BUFFER_SIZE: return "CL_INVALID_BUFFER_SIZE";
    case CL_INVALID_GLOBAL_WORK_SIZE: return "CL_INVALID_GLOBAL_WORK_SIZE";
    default: return "unknown OpenCL error";
    }
}

/* The one cl_int -> status mapping (backend_cl.h). Buffers may be allocated lazily, at
 * their first use, so any call may run out of device memory; CL_OUT_OF_RESOURCES at a
 * launch is the device's resources exhausted, retried in halves like an allocation. */
oct_status oct__cl_status(int err)
{
    switch (err) {
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
    case CL_OUT_OF_RESOURCES:
    case CL_INVALID_BUFFER_SIZE: return OCT_ERR_DEVICE_MEMORY;
    case CL_OUT_OF_HOST_MEMORY: return OCT_ERR_HOST_MEMORY;
    case CL_BUILD_PROGRAM_FAILURE: return OCT_ERR_BUILD;
    default: return OCT_ERR_OPENCL;
    }
}

/* A failed cl* call as a status and a message naming the call and the code. */
static oct_status oct__cl_fail(const char *call, cl_int err)
{
    return oct__fail(oct__cl_status(err), "%s failed: %d (%s)", call, (int)err, oct__cl_errstr(err));
}

/* Fault injection (fault.c): CL_OUT_OF_HOST_MEMORY (or the code a test chose with
 * oct__fault_set_cl_code) when this call's turn has come, so
 * `err = oct__inject(); if (err == CL_SUCCESS) err = clXxx(...)` fails on purpose. */
static cl_int oct__inject(void) { return oct__fault_hit() ? (cl_int)oct__fault_cl_code() : CL_SUCCESS; }

/* Release helpers that keep fault.c's count of live OpenCL objects. */
static void oct__release_mem(cl_mem m)
{
    if (!m) return;
    clReleaseMemObject(m);
    oct__cl_object_released();
}
static void oct__release_event(cl_event e)
{
    if (!e) return;
    clReleaseEvent(e);
    oct__cl_object_released();
}

/* ------------------------------------------------------------------------------------ */
/* Sizes and views                                                                        */

/* *r = a * b, or 0 when it overflows size_t. */
static int oct__mul(size_t a, size_t b, size_t *r)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *r = a * b;
    return 1;
}

/* Elements of an (n, c, h, w) block, or SIZE_MAX when negative or overflowing. */
static size_t oct__count4(int n, int c, int h, int w)
{
    size_t r = 1;
    if (n < 0 || c < 0 || h < 0 || w < 0) return SIZE_MAX;
    if (!oct__mul(r, (size_t)n, &r) || !oct__mul(r, (size_t)c, &r) || !oct__mul(r, (size_t)h, &r) ||
        !oct__mul(r, (size_t)w, &r))
        return SIZE_MAX;
    return r;
}

/* A view as the kernels take it: int offset and batch stride. The dispatcher checked
 * that every index of the view is inside its buffer and below INT_MAX. `items` is
 * n * c * h * w. */
typedef struct {
    cl_mem mem;
    int off, nstride;
    size_t items;
} oct__kview;

/* The kernel's form of a checked view (the `op` and `name` arguments are the op's and
 * the view's names, kept for the call sites). */
static oct_status oct__check_view(const char *op, const char *name, const oct__view *v, oct__kview *kv)
{
    (void)op, (void)name;
    kv->mem = v->buf->mem;
    kv->items = oct__count4(v->n, v->c, v->h, v->w);
    kv->off = kv->items ? (int)v->off : 0;
    kv->nstride = kv->items && v->n > 1 ? (int)v->nstride : 0;
    return OCT_OK;
}

/* A buffer's cl_mem, or `fallback` where the buffer is empty (a kernel then never reads
 * it, but every __global argument needs a valid buffer). */
static cl_mem oct__mem_or(cl_mem mem, cl_mem fallback) { return mem ? mem : fallback; }

/* ------------------------------------------------------------------------------------ */
/* Profiling                                                                              */

/* Wait for the kept events, add their device time (END - START) to the total and
 * release them all, whatever fails. */
static oct_status oct__prof_fold(oct__cl *st)
{
    oct_status s = OCT_OK;
    if (st->nevents == 0) return OCT_OK;
    cl_int err = oct__inject();
    if (err == CL_SUCCESS) err = clWaitForEvents((cl_uint)st->nevents, st->events);
    if (err != CL_SUCCESS) s = oct__cl_fail("clWaitForEvents", err);
    for (int i = 0; i < st->nevents; i++) {
        cl_ulong t0 = 0, t1 = 0;
        if (s == OCT_OK) {
            err = oct__inject();
            if (err == CL_SUCCESS)
                err = clGetEventProfilingInfo(st->events[i], CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
            if (err == CL_SUCCESS)
                err = clGetEventProfilingInfo(st->events[i], CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
            if (err != CL_SUCCESS)
                s = oct__cl_fail("clGetEventProfilingInfo", err);
            else if (t1 > t0)
                st->prof_ms += (double)(t1 - t0) * 1e-6;
        }
        oct__release_event(st->events[i]);
        st->events[i] = NULL;
    }
    st->nevents = 0;
    return s;
}

/* Drop the kept events without counting them. */
static void oct__prof_drop(oct__cl *st)
{
    for (int i = 0; i < st->nevents; i++) oct__release_event(st->events[i]);
    st->nevents = 0;
}

/* Keep the event of a kernel just queued (folding the kept ones first when full). */
static oct_status oct__prof_keep(oct__cl *st, cl_event ev)
{
    oct_status s = OCT_OK;
    oct__cl_object_created();
    if (st->nevents == OCT__MAX_EVENTS) s = oct__prof_fold(st);
    st->events[st->nevents++] = ev;
    return s;
}

/* Where an enqueue should put its event: somewhere only while profiling. */
static cl_event *oct__prof_slot(oct__cl *st, cl_event *ev)
{
    *ev = NULL;
    return st->prof_on ? ev : NULL;
}

static oct_status cl_profile(oct_context *ctx, int enable)
{
    oct__cl *st = ctx->state;
    if (enable) {
        /* A new period: what was kept belongs to the last one. */
        oct__prof_drop(st);
        st->prof_ms = 0;
    }
    st->prof_on = enable != 0;
    ctx->prof_on = st->prof_on;
    return OCT_OK;
}

static oct_status cl_device_ms(oct_context *ctx, double *ms)
{
    oct__cl *st = ctx->state;
    cl_int err = oct__inject();
    if (err == CL_SUCCESS) err = clFinish(st->queue);
    oct_status s = err == CL_SUCCESS ? OCT_OK : oct__cl_fail("clFinish", err);
    oct_status f = oct__prof_fold(st);
    *ms = st->prof_ms;
    return s != OCT_OK ? s : f;
}

/* ------------------------------------------------------------------------------------ */
/* Kernel arguments and launches                                                         */

/* Sets arguments 0, 1, 2, ... in turn and remembers the first failure. */
typedef struct {
    cl_kernel k;
    cl_uint i;
    cl_int err;
    cl_uint bad; /* index of the first failed argument */
} oct__args;

static void oct__arg(oct__args *a, size_t size, const void *value)
{
    if (a->err == CL_SUCCESS) {
        a->err = oct__inject();
        if (a->err == CL_SUCCESS) a->err = clSetKernelArg(a->k, a->i, size, value);
        if (a->err != CL_SUCCESS) a->bad = a->i;
    }
    a->i++;
}
static void oct__arg_mem(oct__args *a, cl_mem m) { oct__arg(a, sizeof m, &m); }
static void oct__arg_int(oct__args *a, int v) { oct__arg(a, sizeof v, &v); }
static void oct__arg_float(oct__args *a, float v) { oct__arg(a, sizeof v, &v); }

static oct__args oct__args_start(const oct__cl *st, int k)
{
    oct__args a = {st->kernel[k], 0, CL_SUCCESS, 0};
    return a;
}

/* Queue kernel k over a `dims`-D range (global already a multiple of local), after
 * checking its arguments were set; keeps the event while profiling. */
static oct_status oct__enqueue(oct__cl *st, int k, const oct__args *a, cl_uint dims, const size_t *global,
                               const size_t *local)
{
    if (a->err != CL_SUCCESS)
        return oct__fail(oct__cl_status(a->err), "clSetKernelArg failed: %d (%s) (kernel %s, argument %u)",
                         (int)a->err, oct__cl_errstr(a->err), oct__kernels[k].name, (unsigned)a->bad);
    cl_event ev;
    cl_int err = oct__inject();
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(st->queue, st->kernel[k], dims, NULL, global, local, 0, NULL,
                                     oct__prof_slot(st, &ev));
    if (err != CL_SUCCESS)
        return oct__fail(oct__cl_status(err),
                         "clEnqueueNDRangeKernel failed: %d (%s) (kernel %s, global %zu x %zu, local %zu x %zu)",
                         (int)err, oct__cl_errstr(err), oct__kernels[k].name, global[0], dims > 1 ? global[1] : 1,
                         local[0], dims > 1 ? local[1] : 1);
    return st->prof_on && ev ? oct__prof_keep(st, ev) : OCT_OK;
}

/* Queue 1-D kernel k over `items` work-items in groups of `local` (global size rounded
 * up to a multiple; the kernels check bounds). */
static oct_status oct__launch(oct__cl *st, int k, const oct__args *a, size_t items, size_t local)
{
    size_t global = (items + local - 1) / local * local;
    return oct__enqueue(st, k, a, 1, &global, &local);
}

/* ------------------------------------------------------------------------------------ */
/* Init and release                                                                       */

/* Read a whole kernel source into a NUL-terminated string, through io_file.c's bounded
 * reader: a regular file of at most 64 MiB (a FIFO or a device cannot hang or flood it). */
static oct_status oct__read_text(const char *path, char **text)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    *text = NULL;
    OCT__TRY(oct__read_file(path, (size_t)64 << 20, &bytes, &len));
    char *t = oct__realloc(bytes, len + 1);
    if (!t) {
        free(bytes);
        return oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of host memory for %zu bytes", path, len + 1);
    }
    t[len] = '\0';
    *text = t;
    return OCT_OK;
}

/* The program's sources in build order: common first, then the rest in table order.
 * With $OCTCL_KERNEL_DIR set, the same names are read from <dir>/<name>.cl instead
 * (a development aid; owned[] holds what was read, for the caller to free). */
static oct_status oct__sources(const char **src, const char **names, char **owned)
{
    int order[OCT__KERNEL_SOURCE_COUNT], n = 0;
    for (int i = 0; i < OCT__KERNEL_SOURCE_COUNT; i++)
        if (strcmp(oct__kernel_sources[i].name, "common") == 0) order[n++] = i;
    for (int i = 0; i < OCT__KERNEL_SOURCE_COUNT; i++)
        if (strcmp(oct__kernel_sources[i].name, "common") != 0) order[n++] = i;

    const char *dir = getenv("OCTCL_KERNEL_DIR");
    for (int j = 0; j < OCT__KERNEL_SOURCE_COUNT; j++) {
        owned[j] = NULL;
        src[j] = oct__kernel_sources[order[j]].source;
        names[j] = oct__kernel_sources[order[j]].name;
    }
    if (!dir || !*dir) return OCT_OK;
    for (int j = 0; j < OCT__KERNEL_SOURCE_COUNT; j++) {
        char path[4096];
        int len = snprintf(path, sizeof path, "%s/%s.cl", dir, oct__kernel_sources[order[j]].name);
        if (len < 0 || (size_t)len >= sizeof path)
            return oct__fail(OCT_ERR_IO, "OCTCL_KERNEL_DIR: path too long for %s.cl",
                             oct__kernel_sources[order[j]].name);
        OCT__TRY(oct__read_text(path, &owned[j])); /* the message names the path */
        src[j] = owned[j];
    }
    return OCT_OK;
}

/* The status for a failed clBuildProgram: code, options and the head of the log. */
static oct_status oct__build_fail(cl_program program, cl_device_id dev, cl_int err, const char *options)
{
    char head[OCT__LOG_CHARS + 1] = "";
    size_t size = 0;
    if (clGetProgramBuildInfo(program, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) == CL_SUCCESS && size > 0) {
        char *log = oct__malloc(size + 1);
        if (log && clGetProgramBuildInfo(program, dev, CL_PROGRAM_BUILD_LOG, size, log, NULL) == CL_SUCCESS) {
            log[size] = '\0';
            const char *p = log;
            while (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t') p++;
            snprintf(head, sizeof head, "%s", p);
            for (char *q = head; *q; q++)
                if (*q == '\n' || *q == '\r' || *q == '\t') *q = ' ';
        }
        free(log);
    }
    return oct__fail(OCT_ERR_BUILD, "clBuildProgram failed: %d (%s), options \"%s\", log: %s", (int)err,
                     oct__cl_errstr(err), options, head[0] ? head : "(empty)");
}

/* What the device allows a work-group: its size, per-dimension sizes, local memory; and
 * the OpenCL C version its compiler takes. */
typedef struct {
    size_t max_group;
    size_t items[3];
    cl_ulong local_mem;
    cl_uint units;
    cl_device_type type;
    int fma;              /* single-precision fused multiply-add in hardware */
    int c_major, c_minor; /* CL_DEVICE_OPENCL_C_VERSION; 1.0 when the device does not say */
} oct__limits;

static oct_status oct__device_limits(cl_device_id dev, oct__limits *lim)
{
    size_t items[16] = {0};
    cl_uint dims = 0;
    cl_int err = oct__inject();
    if (err == CL_SUCCESS) err = clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, sizeof dims, &dims, NULL);
    if (err == CL_SUCCESS && (dims < 1 || dims > 16))
        return oct__fail(OCT_ERR_OPENCL, "clGetDeviceInfo: %u work-item dimensions", (unsigned)dims);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_ITEM_SIZES, dims * sizeof(size_t), items, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof lim->max_group, &lim->max_group, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(dev, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lim->local_mem, &lim->local_mem, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof lim->units, &lim->units, NULL);
    if (err == CL_SUCCESS) err = clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof lim->type, &lim->type, NULL);
    cl_device_fp_config fp = 0;
    if (err == CL_SUCCESS) err = clGetDeviceInfo(dev, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    if (err != CL_SUCCESS) return oct__cl_fail("clGetDeviceInfo", err);
    lim->fma = (fp & CL_FP_FMA) != 0;
    for (int i = 0; i < 3; i++) lim->items[i] = i < (int)dims ? items[i] : 1;
    if (lim->units < 1) lim->units = 1;
    /* "OpenCL C <major>.<minor> <vendor text>"; OpenCL 1.0 devices lack the query. */
    char ver[128] = "";
    lim->c_major = 1, lim->c_minor = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_OPENCL_C_VERSION, sizeof ver - 1, ver, NULL) == CL_SUCCESS &&
        sscanf(ver, "OpenCL C %d.%d", &lim->c_major, &lim->c_minor) != 2)
        lim->c_major = 1, lim->c_minor = 0;
    return OCT_OK;
}

/* The -cl-std option for the device: 1.2 where it has it (2.x and 3.0 compilers take
 * 1.2 too), 1.1 on 1.1-only drivers, none for 1.0. The kernels are OpenCL C 1.1. */
static const char *oct__cl_std(const oct__limits *lim)
{
    if (lim->c_major > 1 || (lim->c_major == 1 && lim->c_minor >= 2)) return "-cl-std=CL1.2";
    if (lim->c_major == 1 && lim->c_minor == 1) return "-cl-std=CL1.1";
    return "";
}

/* Test aid: $OCTCL_KERNEL_WG_LIMIT=N makes every compiled kernel look limited to N
 * work-items (as a register-limited GPU reports), so the step down to smaller tiles
 * runs on any device. */
static size_t oct__wg_limit_override(size_t kmax)
{
    const char *env = getenv("OCTCL_KERNEL_WG_LIMIT");
    long v = env ? strtol(env, NULL, 10) : 0;
    return v > 0 && (size_t)v < kmax ? (size_t)v : kmax;
}

/* The compiled kernel's CL_KERNEL_WORK_GROUP_SIZE. */
static oct_status oct__kernel_wg(cl_kernel k, cl_device_id dev, size_t *kmax)
{
    *kmax = 0;
    cl_int err = oct__inject();
    if (err == CL_SUCCESS) err = clGetKernelWorkGroupInfo(k, dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof *kmax, kmax, NULL);
    if (err != CL_SUCCESS) return oct__cl_fail("clGetKernelWorkGroupInfo", err);
    *kmax = oct__wg_limit_override(*kmax);
    return OCT_OK;
}

/* The largest power of two <= min(preferred, kernel's and device's limits). */
static oct_status oct__pick_local(cl_kernel k, cl_device_id dev, const oct__limits *lim, size_t preferred,
                                  size_t *out)
{
    size_t kmax = 0;
    OCT__TRY(oct__kernel_wg(k, dev, &kmax));
    size_t cap = preferred;
    if (kmax < cap) cap = kmax;
    if (lim->items[0] < cap) cap = lim->items[0];
    size_t l = 1;
    while (l * 2 <= cap) l *= 2;
    *out = l;
    return OCT_OK;
}

/* One loader's rule in conv_gemm.cl: wg work-items fill tiles `cols` wide, tk deep. */
static int oct__loader_valid(int wg, int cols, int tk)
{
    return wg >= cols ? wg % cols == 0 && tk % (wg / cols) == 0 : cols % wg == 0;
}

/* conv_gemm.cl's compile-time rules for a set of tiles. */
static int oct__tiles_valid(const oct__tiles *t)
{
    if (t->tm < 1 || t->tn < 1 || t->tk < 1 || t->rm < 1 || t->tm > 1024 || t->tn > 1024 || t->tk > 256 ||
        t->rm > 32 || (t->rn != 1 && t->rn != 2 && t->rn != 4 && t->rn != 8 && t->rn != 16) || t->tm % t->rm ||
        t->tn % t->rn || t->wglobal < 0 || t->wglobal > 1)
        return 0;
    int wg = (t->tm / t->rm) * (t->tn / t->rn);
    return oct__loader_valid(wg, t->tn, t->tk) && oct__loader_valid(wg, t->tm, t->tk);
}

/* Work-items of the tiles' work-group. */
static size_t oct__tiles_wg(const oct__tiles *t) { return (size_t)(t->tn / t->rn) * (size_t)(t->tm / t->rm); }

/* Whether the tiles' work-group and local memory fit the device. */
static int oct__tiles_fit(const oct__tiles *t, const oct__limits *lim)
{
    size_t wx = (size_t)(t->tn / t->rn), wy = (size_t)(t->tm / t->rm);
    cl_ulong lmem = (cl_ulong)((t->wglobal ? 0 : t->tm) + t->tn) * (cl_ulong)t->tk * sizeof(float);
    return wx * wy <= lim->max_group && wx <= lim->items[0] && wy <= lim->items[1] && lmem <= lim->local_mem;
}

/* Append to a note: "; " between parts, truncated at the buffer's end. */
static void oct__note(char *note, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void oct__note(char *note, size_t len, const char *fmt, ...)
{
    size_t used = strlen(note);
    if (used + 3 >= len) return;
    if (used) {
        memcpy(note + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note + used, len - used, fmt, ap);
    va_end(ap);
}

/* A tile set to try, with its name for messages. */
typedef struct {
    oct__tiles t;
    char name[40];
    const char *origin; /* "forced" ($OCTCL_GEMM_TILES), "tuned" / "tuning" (tune.c) or "default" */
} oct__tile_try;

#define OCT__MAX_TRIES 5

/* The tile sets to try, best first (the direct kernel alone comes after them):
 * $OCTCL_GEMM_TILES when it names a set ("gpu", "small", "cpu"; "direct": none) or spells
 * one ("TM,TN,TK,RM,RN,WGLOBAL") that is valid and fits, then the device type's list
 * (GPUs: gpu, small, cpu; other devices: cpu, small) less the sets whose work-group or
 * local memory the device does not have; each set left out is said in `note`. */
static int oct__tile_tries(const oct__limits *lim, const int *tuned, const char *tuned_origin, oct__tile_try *out,
                           char *note, size_t note_len)
{
    static const struct {
        const char *name;
        const oct__tiles *t;
    } named[] = {{"gpu", &oct__tiles_gpu}, {"small", &oct__tiles_small}, {"cpu", &oct__tiles_cpu}};
    const oct__tiles *list[3];
    int nlist = 0, n = 0;
    if (lim->type & CL_DEVICE_TYPE_GPU) {
        list[nlist++] = &oct__tiles_gpu, list[nlist++] = &oct__tiles_small, list[nlist++] = &oct__tiles_cpu;
    } else {
        list[nlist++] = &oct__tiles_cpu, list[nlist++] = &oct__tiles_small;
    }

    const char *env = getenv("OCTCL_GEMM_TILES");
    if (env && *env) {
        oct__tile_try f;
        int known = 0;
        for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
            if (strcmp(env, named[i].name) == 0) f.t = *named[i].t, known = 1;
        if (strcmp(env, "direct") == 0) {
            oct__note(note, note_len, "OCTCL_GEMM_TILES=direct");
            return 0;
        }
        if (!known && sscanf(env, "%d,%d,%d,%d,%d,%d", &f.t.tm, &f.t.tn, &f.t.tk, &f.t.rm, &f.t.rn, &f.t.wglobal) == 6)
            known = oct__tiles_valid(&f.t);
        if (!known)
            oct__note(note, note_len, "OCTCL_GEMM_TILES=%.40s not understood", env);
        else if (!oct__tiles_fit(&f.t, lim))
            oct__note(note, note_len, "OCTCL_GEMM_TILES=%.40s does not fit the device", env);
        else {
            snprintf(f.name, sizeof f.name, "%.39s", env);
            f.origin = "forced";
            out[n++] = f;
        }
    }
    /* Tuning hook (tune.c): this device's tuned set (or the tuner's variant) next. */
    if (tuned) {
        oct__tile_try f;
        f.t = (oct__tiles){tuned[0], tuned[1], tuned[2], tuned[3], tuned[4], tuned[5]};
        if (!oct__tiles_valid(&f.t) || !oct__tiles_fit(&f.t, lim)) {
            oct__note(note, note_len, "%s tiles %d,%d,%d,%d,%d,%d %s", tuned_origin, tuned[0], tuned[1], tuned[2],
                      tuned[3], tuned[4], tuned[5], oct__tiles_valid(&f.t) ? "do not fit the device" : "not valid");
        } else if (n == 0 || memcmp(&out[0].t, &f.t, sizeof f.t) != 0) {
            snprintf(f.name, sizeof f.name, "%s", tuned_origin);
            f.origin = tuned_origin;
            out[n++] = f;
        }
    }
    for (int i = 0; i < nlist && n < OCT__MAX_TRIES; i++) {
        const oct__tiles *t = list[i];
        const char *name = t == &oct__tiles_gpu ? "gpu" : t == &oct__tiles_small ? "small" : "cpu";
        int dup = 0;
        for (int j = 0; j < n; j++) dup |= memcmp(&out[j].t, t, sizeof *t) == 0;
        if (dup) continue;
        if (!oct__tiles_fit(t, lim)) {
            cl_ulong lmem = (cl_ulong)((t->wglobal ? 0 : t->tm) + t->tn) * (cl_ulong)t->tk * sizeof(float);
            if (n > 0) continue; /* only a set passed over before the first one tried is news */
            if (oct__tiles_wg(t) > lim->max_group)
                oct__note(note, note_len, "%s: %zu work-items > device's %zu", name, oct__tiles_wg(t), lim->max_group);
            else if (lmem > lim->local_mem)
                oct__note(note, note_len, "%s: %lu B local memory > device's %lu B", name, (unsigned long)lmem,
                          (unsigned long)lim->local_mem);
            else
                oct__note(note, note_len, "%s: work-group shape exceeds the device's", name);
            continue;
        }
        out[n].t = *t;
        out[n].origin = "default";
        snprintf(out[n].name, sizeof out[n].name, "%s", name);
        n++;
    }
    return n;
}

/* Build the program from src[0..nsrc): from the on-disk cache when it holds this exact
 * build, else from source (then stored for next time). *build_err: clBuildProgram's
 * code when that is what failed. */
static oct_status oct__build(oct__cl *st, cl_device_id dev, const char **src, int nsrc, cl_int *build_err)
{
    oct_status s = OCT_OK;
    cl_int err;
    *build_err = CL_SUCCESS;
    oct__pcache *cache = oct__pcache_open(dev, src, nsrc, st->options);
    st->program = oct__pcache_load(cache, st->context); /* counted as created there */
    if (st->program) {
        st->cache_hit = 1;
        goto done;
    }
    /* A compile from source takes seconds (tens on PoCL): tell the program first. */
    char name[256] = "";
    if (clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name - 1, name, NULL) != CL_SUCCESS) name[0] = '\0';
    oct_event ev = {OCT_EVENT_BUILD_START, name, cache != NULL, 0.0, NULL};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    oct__event(&ev);
    err = oct__inject();
    st->program = err == CL_SUCCESS ? clCreateProgramWithSource(st->context, (cl_uint)nsrc, src, NULL, &err) : NULL;
    if (st->program) oct__cl_object_created();
    if (!st->program || err != CL_SUCCESS) {
        s = oct__cl_fail("clCreateProgramWithSource", err);
        goto done;
    }
    err = oct__inject();
    if (err == CL_SUCCESS) err = clBuildProgram(st->program, 1, &dev, st->options, NULL, NULL);
    if (err != CL_SUCCESS) {
        *build_err = err;
        s = oct__build_fail(st->program, dev, err, st->options);
        goto done;
    }
    oct__pcache_store(cache, st->program);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ev.kind = OCT_EVENT_BUILD_DONE;
    ev.seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    oct__event(&ev);
done:
    oct__pcache_close(cache);
    return s;
}

/* The kernels of the built program (the GEMM's two only when it is used) and the
 * work-group size of each 1-D kernel. */
static oct_status oct__make_kernels(oct__cl *st, cl_device_id dev, const oct__limits *lim)
{
    for (int k = 0; k < OCT__K_COUNT; k++) {
        if (!st->gemm_ok && (k == OCT__K_GEMM || k == OCT__K_PACK)) continue;
        cl_int err = oct__inject();
        st->kernel[k] = err == CL_SUCCESS ? clCreateKernel(st->program, oct__kernels[k].name, &err) : NULL;
        if (st->kernel[k]) oct__cl_object_created();
        if (!st->kernel[k] || err != CL_SUCCESS)
            return oct__fail(oct__cl_status(err), "clCreateKernel failed: %d (%s) (kernel %s)", (int)err,
                             oct__cl_errstr(err), oct__kernels[k].name);
        if (oct__kernels[k].preferred_local)
            OCT__TRY(oct__pick_local(st->kernel[k], dev, lim, oct__kernels[k].preferred_local, &st->local[k]));
    }
    return OCT_OK;
}

/* Release the program and its kernels (before building another). */
static void oct__drop_program(oct__cl *st)
{
    for (int k = OCT__K_COUNT - 1; k >= 0; k--)
        if (st->kernel[k]) {
            clReleaseKernel(st->kernel[k]);
            oct__cl_object_released();
            st->kernel[k] = NULL;
        }
    if (st->program) {
        clReleaseProgram(st->program);
        oct__cl_object_released();
        st->program = NULL;
    }
    st->cache_hit = 0;
}

static void cl_release(oct_context *ctx);

/* Append "; <text>" to the context's reason (what `octcl info` and the CLI's device
 * line show), truncated to fit. */
static void oct__reason_add(oct_context *ctx, const char *text)
{
    oct__note(ctx->info.reason, sizeof ctx->info.reason, "%s", text);
}

/* Context and queue, then the program: the tile sets of oct__tile_tries in turn, then
 * the direct kernel alone (conv_gemm.cl left out), until one builds and its GEMM kernel
 * allows the tiles' work-group. A step down happens only for a failed compile
 * (CL_BUILD_PROGRAM_FAILURE, CL_INVALID_BUILD_OPTIONS) or a work-group limit; every
 * other failure ends init. What ran and why goes into the context's reason. */
static oct_status cl_init(oct_context *ctx)
{
    cl_platform_id platform = (cl_platform_id)ctx->device[0];
    cl_device_id dev = (cl_device_id)ctx->device[1];
    const char *src[OCT__KERNEL_SOURCE_COUNT], *names[OCT__KERNEL_SOURCE_COUNT];
    const char *dsrc[OCT__KERNEL_SOURCE_COUNT]; /* without conv_gemm.cl */
    char *owned[OCT__KERNEL_SOURCE_COUNT] = {0};
    oct__tile_try tries[OCT__MAX_TRIES];
    char note[256] = "", last[320] = "", tried[64] = "";
    oct__limits lim;
    oct_status s = OCT_OK;
    cl_int err;

    ctx->state = NULL;
    if (!dev) return oct__fail(OCT_ERR_NO_DEVICE, "OpenCL backend: no device selected");
    oct__cl *st = oct__calloc(1, sizeof *st);
    if (!st) return oct__fail(OCT_ERR_HOST_MEMORY, "OpenCL backend: out of host memory");
    ctx->state = st;

    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
    err = oct__inject();
    st->context = err == CL_SUCCESS ? clCreateContext(platform ? props : NULL, 1, &dev, NULL, NULL, &err) : NULL;
    if (st->context) oct__cl_object_created();
    if (!st->context || err != CL_SUCCESS) {
        s = oct__cl_fail("clCreateContext", err);
        goto fail;
    }
    err = oct__inject();
    st->queue = err == CL_SUCCESS ? clCreateCommandQueue(st->context, dev, CL_QUEUE_PROFILING_ENABLE, &err) : NULL;
    if (st->queue) oct__cl_object_created();
    if (!st->queue || err != CL_SUCCESS) {
        s = oct__cl_fail("clCreateCommandQueue", err);
        goto fail;
    }

    s = oct__device_limits(dev, &lim);
    if (s != OCT_OK) goto fail;
    const char *mode = getenv("OCTCL_CONV");
    st->conv_mode = !mode                       ? OCT__CONV_AUTO
                    : strcmp(mode, "direct") == 0 ? OCT__CONV_DIRECT
                    : strcmp(mode, "gemm") == 0   ? OCT__CONV_GEMM
                                                  : OCT__CONV_AUTO;
    mode = getenv("OCTCL_LINEAR");
    st->linear_mode = !mode                        ? OCT__LINEAR_AUTO
                      : strcmp(mode, "kernel") == 0  ? OCT__LINEAR_KERNEL
                      : strcmp(mode, "clblast") == 0 ? OCT__LINEAR_CLBLAST
                                                     : OCT__LINEAR_AUTO;
    /* Multiply-adds: fma where the device has it in hardware; elsewhere a multiply and an
     * add, each correctly rounded (never mad, whose precision is implementation-defined),
     * so the error bound is that of any float32 dot product: the tests' tolerance holds
     * either way. $OCTCL_FMA=off forces the second form (a test aid). */
    const char *fma_env = getenv("OCTCL_FMA");
    int hw_fma = lim.fma && !(fma_env && strcmp(fma_env, "off") == 0);
    /* The probe fills a CPU's SIMD lanes from one work-item (wide vectors), a GPU's from
     * many (float4 chains). */
    int cpu = (lim.type & CL_DEVICE_TYPE_GPU) == 0;
    st->probe_vec = cpu ? 16 : 4;
    st->probe_chains = cpu ? 4 : 8;

    s = oct__sources(src, names, owned);
    if (s != OCT_OK) goto fail;
    int ndirect = 0;
    for (int j = 0; j < OCT__KERNEL_SOURCE_COUNT; j++)
        if (strcmp(names[j], "conv_gemm") != 0) dsrc[ndirect++] = src[j];

    int tuned[6];
    const char *tuned_origin = NULL;
    int have_tuned = oct__tune_cl(ctx, tuned, &tuned_origin); /* tuning hook: tune.c */
    int ntries = oct__tile_tries(&lim, have_tuned ? tuned : NULL, tuned_origin, tries, note, sizeof note);
    int built = 0, chosen = -1;
    for (int i = 0; i <= ntries && !built; i++) {
        const char *what = i < ntries ? tries[i].name : "direct-only";
        st->gemm_ok = i < ntries;
        if (st->gemm_ok) st->tiles = tries[i].t;
        snprintf(st->options, sizeof st->options,
                 "%s -DOCT_HW_FMA=%d -DOCT_TM=%d -DOCT_TN=%d -DOCT_TK=%d -DOCT_RM=%d -DOCT_RN=%d -DOCT_WGLOBAL=%d "
                 "-DOCT_PROBE_VEC=%d -DOCT_PROBE_CHAINS=%d",
                 oct__cl_std(&lim), hw_fma, st->tiles.tm, st->tiles.tn, st->tiles.tk, st->tiles.rm, st->tiles.rn,
                 st->tiles.wglobal != 0, st->probe_vec, st->probe_chains);
        cl_int berr = CL_SUCCESS;
        s = st->gemm_ok ? oct__build(st, dev, src, OCT__KERNEL_SOURCE_COUNT, &berr)
                        : oct__build(st, dev, dsrc, ndirect, &berr);
        if (s == OCT_OK) s = oct__make_kernels(st, dev, &lim);
        if (s == OCT_OK && st->gemm_ok) {
            /* The GEMM's fixed work-group must fit what the compiled kernel allows. */
            size_t kmax = 0, wg = oct__tiles_wg(&st->tiles);
            s = oct__kernel_wg(st->kernel[OCT__K_GEMM], dev, &kmax);
            if (s == OCT_OK && kmax < wg) {
                oct__note(note, sizeof note, "%s: the built kernel allows %zu of %zu work-items", what,
                          kmax, wg);
                oct__drop_program(st);
                continue;
            }
        }
        if (s == OCT_OK) {
            built = 1, chosen = i;
            break;
        }
        if (berr != CL_BUILD_PROGRAM_FAILURE && berr != CL_INVALID_BUILD_OPTIONS) goto fail;
        snprintf(last, sizeof last, "%s", oct_last_error());
        snprintf(tried + strlen(tried), sizeof tried - strlen(tried), "%s%s", tried[0] ? ", " : "", what);
        oct__note(note, sizeof note, "%s: %s", what, oct__cl_errstr(berr));
        oct__drop_program(st);
    }
    if (!built) {
        s = oct__fail(OCT_ERR_BUILD, "no OpenCL program builds for this device (tried %s); last: %s", tried, last);
        goto fail;
    }
    {
        char text[320], conv[96];
        if (st->gemm_ok)
            snprintf(conv, sizeof conv, "conv tiles %.20s (%d,%d,%d,%d,%d,%d) %s", tries[chosen].name, st->tiles.tm,
                     st->tiles.tn, st->tiles.tk, st->tiles.rm, st->tiles.rn, st->tiles.wglobal, tries[chosen].origin);
        else
            snprintf(conv, sizeof conv, "conv direct only");
        snprintf(text, sizeof text, "OpenCL C %d.%d, %s; %s%s%.160s%s", lim.c_major, lim.c_minor,
                 hw_fma ? "fma" : "mul+add", conv, note[0] ? " [" : "", note, note[0] ? "]" : "");
        oct__reason_add(ctx, text);
        const oct__tiles *t = &st->tiles;
        int used[6] = {t->tm, t->tn, t->tk, t->rm, t->rn, t->wglobal};
        oct__tune_cl_chosen(ctx, st->gemm_ok ? used : NULL, st->gemm_ok ? tries[chosen].origin : NULL,
                            st->gemm_ok ? tries[chosen].name : NULL); /* tuning hook: tune.c */
    }

    for (int j = 0; j < OCT__KERNEL_SOURCE_COUNT; j++) free(owned[j]);
    return OCT_OK;

fail:
    for (int j = 0; j < OCT__KERNEL_SOURCE_COUNT; j++) free(owned[j]);
    cl_release(ctx); /* releases whatever was made, in reverse order */
    return s;
}

/* Accepts a partially initialised state (NULL handles are skipped). */
static void cl_release(oct_context *ctx)
{
    oct__cl *st = ctx->state;
    if (!st) return;
    if (st->queue) clFinish(st->queue);
    oct__prof_drop(st);
    /* CLBlast caches its programs per context, process-wide, and they keep our context
     * alive; clearing drops them (other live contexts recompile on their next call). */
    if (st->used_clblast) CLBlastClearCache();
    oct__release_mem(st->wpack);
    for (int k = OCT__K_COUNT - 1; k >= 0; k--)
        if (st->kernel[k]) {
            clReleaseKernel(st->kernel[k]);
            oct__cl_object_released();
        }
    if (st->program) {
        clReleaseProgram(st->program);
        oct__cl_object_released();
    }
    if (st->queue) {
        clReleaseCommandQueue(st->queue);
        oct__cl_object_released();
    }
    if (st->context) {
        clReleaseContext(st->context);
        oct__cl_object_released();
    }
    free(st);
    ctx->state = NULL;
}

int oct__cl_cache_hit(const oct_context *ctx)
{
    if (!ctx || ctx->be != &oct__backend_cl || !ctx->state) return -1;
    return ((const oct__cl *)ctx->state)->cache_hit;
}

/* ------------------------------------------------------------------------------------ */
/* Buffers                                                                                */

/* A new buffer of `count` floats (count > 0), counted as a live object. */
static oct_status oct__create_buffer(oct__cl *st, size_t count, cl_mem *out)
{
    *out = NULL;
    if (count > SIZE_MAX / sizeof(float))
        return oct__fail(OCT_ERR_BAD_SIZE, "clCreateBuffer: %zu floats overflow a byte count", count);
    cl_int err = oct__inject();
    cl_mem m = err == CL_SUCCESS ? clCreateBuffer(st->context, CL_MEM_READ_WRITE, count * sizeof(float), NULL, &err)
                                 : NULL;
    if (m) oct__cl_object_created();
    if (!m || err != CL_SUCCESS) {
        oct__release_mem(m);
        return oct__fail(oct__cl_status(err), "clCreateBuffer failed: %d (%s) (%zu floats)", (int)err,
                         oct__cl_errstr(err), count);
    }
    *out = m;
    return OCT_OK;
}

static oct_status cl_alloc(oct_context *ctx, oct__buf *b, size_t count)
{
    b->host = NULL;
    b->mem = NULL;
    b->count = 0;
    if (count == 0) return OCT_OK;
    cl_mem m;
    OCT__TRY(oct__create_buffer(ctx->state, count, &m));
    b->mem = m;
    b->count = count;
    return OCT_OK;
}

static void cl_free(oct_context *ctx, oct__buf *b)
{
    (void)ctx;
    oct__release_mem((cl_mem)b->mem);
    b->mem = NULL;
    b->count = 0;
}

static oct_status cl_write(oct_context *ctx, oct__buf *b, const float *src)
{
    oct__cl *st = ctx->state;
    if (b->count == 0) return OCT_OK;
    cl_int err = oct__inject();
    if (err == CL_SUCCESS)
        err = clEnqueueWriteBuffer(st->queue, (cl_mem)b->mem, CL_TRUE, 0, b->count * sizeof(float), src, 0, NULL,
                                   NULL);
    if (err != CL_SUCCESS)
        return oct__fail(oct__cl_status(err), "clEnqueueWriteBuffer failed: %d (%s) (%zu floats)", (int)err,
                         oct__cl_errstr(err), b->count);
    return OCT_OK;
}

/* Blocking, on the in-order queue: every op queued before has finished when it returns. */
static oct_status cl_read(oct_context *ctx, const oct__buf *b, float *dst)
{
    oct__cl *st = ctx->state;
    if (b->count == 0) return OCT_OK;
    cl_int err = oct__inject();
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(st->queue, (cl_mem)b->mem, CL_TRUE, 0, b->count * sizeof(float), dst, 0, NULL,
                                  NULL);
    if (err != CL_SUCCESS) return oct__cl_fail("clEnqueueReadBuffer", err);
    return OCT_OK;
}

static oct_status cl_finish(oct_context *ctx)
{
    oct__cl *st = ctx->state;
    cl_int err = oct__inject();
    if (err == CL_SUCCESS) err = clFinish(st->queue);
    if (err != CL_SUCCESS) return oct__cl_fail("clFinish", err);
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Convolution                                                                            */

/* One input of a convolution, checked: its view, weights (Co, Ci, K, K) and bias. */
typedef struct {
    const oct__view *v;
    oct__kview x;
    const oct__buf *weight;
    const oct__buf *bias;
    size_t wcount;
} oct__conv_in;

/* One input of a convolution in the kernels' form: its view and the weights' count
 * (the dispatcher checked both). */
static oct_status oct__conv_check(const char *what, const char *xname, oct__conv_in *in, const oct__view *yv,
                                  const oct__kview *y, int k, int stride, int pad)
{
    (void)y, (void)stride, (void)pad;
    OCT__TRY(oct__check_view(what, xname, in->v, &in->x));
    in->wcount = oct__count4(yv->c, in->v->c, k, k);
    return OCT_OK;
}

/* The direct kernel: one work-item per output pixel and block of 4 channels (conv.cl). */
static oct_status oct__conv_direct(oct__cl *st, const oct__conv_in *in, const oct__view *yv, const oct__kview *y,
                                   int k, int stride, int pad, int accumulate, int relu)
{
    const oct__view *xv = in->v;
    cl_mem wmem = oct__mem_or(in->wcount ? in->weight->mem : NULL, y->mem);
    cl_mem bmem = oct__mem_or(in->bias ? in->bias->mem : NULL, y->mem);
    oct__args a = oct__args_start(st, OCT__K_CONV);
    oct__arg_mem(&a, oct__mem_or(in->x.mem, y->mem));
    oct__arg_int(&a, in->x.off);
    oct__arg_int(&a, in->x.nstride);
    oct__arg_int(&a, xv->c);
    oct__arg_int(&a, xv->h);
    oct__arg_int(&a, xv->w);
    oct__arg_mem(&a, wmem);
    oct__arg_mem(&a, bmem);
    oct__arg_int(&a, in->bias != NULL);
    oct__arg_mem(&a, y->mem);
    oct__arg_int(&a, y->off);
    oct__arg_int(&a, y->nstride);
    oct__arg_int(&a, yv->n);
    oct__arg_int(&a, yv->c);
    oct__arg_int(&a, yv->h);
    oct__arg_int(&a, yv->w);
    oct__arg_int(&a, k);
    oct__arg_int(&a, stride);
    oct__arg_int(&a, pad);
    oct__arg_int(&a, accumulate != 0);
    oct__arg_int(&a, relu != 0);
    size_t items = (size_t)yv->n * (size_t)((yv->c + 3) / 4) * (size_t)yv->h * (size_t)yv->w;
    return oct__launch(st, OCT__K_CONV, &a, items, st->local[OCT__K_CONV]);
}

/* Rows of the packed weights of an input with ci channels, in either order. */
static long long oct__rows(const oct__tiles *t, int ci, int k, int flat)
{
    long long tk = t->tk, kk = (long long)k * k;
    if (ci <= 0) return 0;
    return flat ? (ci * kk + tk - 1) / tk * tk : kk * ((ci + tk - 1) / tk * tk);
}

/* Whether a convolution of co outputs, ho x wo pixels per image and K = sum of
 * ci * k * k runs on the GEMM. The rule: the kernel fits and the op is not tiny. It
 * never looks at the batch, so an image's result does not depend on the batch it came
 * in (both kernels sum in a fixed order: chunked runs are bitwise equal to whole ones).
 * (A per-shape choice by measurement would replace this function.) */
static int oct__use_gemm(const oct__cl *st, int co, int ho, int wo, long long kdim)
{
    if (!st->gemm_ok || kdim <= 0) return 0;
    if (st->conv_mode != OCT__CONV_AUTO) return st->conv_mode == OCT__CONV_GEMM;
    return (double)co * (double)ho * (double)wo * (double)kdim >= (double)OCT__GEMM_MIN_MACS;
}

/* The implicit GEMM over one or two inputs (in[1].v->c may be 0): pack each input's
 * weights into st->wpack, then one oct_conv2d_gemm launch. */
static oct_status oct__conv_gemm(oct__cl *st, const char *what, const oct__conv_in *in, int nin,
                                 const oct__view *yv, const oct__kview *y, int k, int stride, int pad,
                                 int accumulate, int relu)
{
    const oct__tiles *t = &st->tiles;
    int ci[2] = {in[0].v->c, nin > 1 ? in[1].v->c : 0};
    /* Flat row order when the tap order would pad K by more than 1/8. */
    long long tap_rows = oct__rows(t, ci[0], k, 0) + oct__rows(t, ci[1], k, 0);
    long long flat_rows = oct__rows(t, ci[0], k, 1) + oct__rows(t, ci[1], k, 1);
    int flat = tap_rows * 8 > flat_rows * 9;
    long long rows[2] = {oct__rows(t, ci[0], k, flat), oct__rows(t, ci[1], k, flat)};
    long long mp = ((long long)yv->c + t->tm - 1) / t->tm * t->tm;
    long long need = (rows[0] + rows[1]) * mp;
    if (need > INT_MAX || (rows[0] + rows[1]) / t->tk > INT_MAX)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: packed weights of %lld x %lld exceed int indices", what,
                         rows[0] + rows[1], mp);
    if (st->wpack_count < (size_t)need) {
        oct__release_mem(st->wpack);
        st->wpack = NULL;
        st->wpack_count = 0;
        OCT__TRY(oct__create_buffer(st, (size_t)need, &st->wpack));
        st->wpack_count = (size_t)need;
    }
    for (int i = 0; i < nin; i++) {
        if (rows[i] == 0) continue;
        oct__args a = oct__args_start(st, OCT__K_PACK);
        oct__arg_mem(&a, in[i].weight->mem);
        oct__arg_int(&a, yv->c);
        oct__arg_int(&a, ci[i]);
        oct__arg_int(&a, k);
        oct__arg_int(&a, flat);
        oct__arg_mem(&a, st->wpack);
        oct__arg_int(&a, i == 0 ? 0 : (int)rows[0]);
        oct__arg_int(&a, (int)rows[i]);
        oct__arg_int(&a, (int)mp);
        OCT__TRY(oct__launch(st, OCT__K_PACK, &a, (size_t)(rows[i] * mp), st->local[OCT__K_PACK]));
    }

    const oct__conv_in *in2 = nin > 1 ? &in[1] : &in[0]; /* x2 = x1 when absent: never read */
    int nbias = in[0].bias ? 1 : 0;
    cl_mem b1 = in[0].bias ? in[0].bias->mem : NULL, b2 = NULL;
    if (nin > 1 && in[1].bias) {
        if (b1) b2 = in[1].bias->mem, nbias = 2;
        else b1 = in[1].bias->mem, nbias = 1;
    }
    oct__args a = oct__args_start(st, OCT__K_GEMM);
    oct__arg_mem(&a, oct__mem_or(in[0].x.mem, y->mem));
    oct__arg_int(&a, in[0].x.off);
    oct__arg_int(&a, in[0].x.nstride);
    oct__arg_int(&a, ci[0]);
    oct__arg_mem(&a, oct__mem_or(in2->x.mem, y->mem));
    oct__arg_int(&a, in2->x.off);
    oct__arg_int(&a, in2->x.nstride);
    oct__arg_int(&a, ci[1]);
    oct__arg_int(&a, in[0].v->h);
    oct__arg_int(&a, in[0].v->w);
    oct__arg_mem(&a, st->wpack);
    oct__arg_int(&a, (int)mp);
    oct__arg_mem(&a, oct__mem_or(b1, y->mem));
    oct__arg_mem(&a, oct__mem_or(b2, y->mem));
    oct__arg_int(&a, nbias);
    oct__arg_mem(&a, y->mem);
    oct__arg_int(&a, y->off);
    oct__arg_int(&a, y->nstride);
    oct__arg_int(&a, yv->n);
    oct__arg_int(&a, yv->c);
    oct__arg_int(&a, yv->h);
    oct__arg_int(&a, yv->w);
    oct__arg_int(&a, k);
    oct__arg_int(&a, stride);
    oct__arg_int(&a, pad);
    oct__arg_int(&a, flat);
    oct__arg_int(&a, (int)(rows[0] / t->tk));
    oct__arg_int(&a, (int)((rows[0] + rows[1]) / t->tk));
    oct__arg_int(&a, accumulate != 0);
    oct__arg_int(&a, relu != 0);
    size_t pixels = (size_t)yv->n * (size_t)yv->h * (size_t)yv->w;
    size_t local[2] = {(size_t)(t->tn / t->rn), (size_t)(t->tm / t->rm)};
    size_t global[2] = {(pixels + (size_t)t->tn - 1) / (size_t)t->tn * local[0],
                        ((size_t)yv->c + (size_t)t->tm - 1) / (size_t)t->tm * local[1]};
    return oct__enqueue(st, OCT__K_GEMM, &a, 2, global, local);
}

/* y (N, Co, Ho, Wo) (=|+=) conv2d(x (N, Ci, H, W), weight (Co, Ci, K, K)) + bias (Co). */
static oct_status cl_conv2d(oct_context *ctx, const oct__conv_op *op)
{
    static const char *what = "conv2d";
    oct__cl *st = ctx->state;
    oct__kview y = {0};
    oct__conv_in in = {&op->x, {0}, op->weight, op->bias, 0};
    OCT__TRY(oct__check_view(what, "y", &op->y, &y));
    OCT__TRY(oct__conv_check(what, "x", &in, &op->y, &y, op->k, op->stride, op->pad));
    if (y.items == 0) return OCT_OK;
    if (oct__use_gemm(st, op->y.c, op->y.h, op->y.w, (long long)op->x.c * op->k * op->k))
        return oct__conv_gemm(st, what, &in, 1, &op->y, &y, op->k, op->stride, op->pad, op->accumulate, op->relu);
    return oct__conv_direct(st, &in, &op->y, &y, op->k, op->stride, op->pad, op->accumulate, op->relu);
}

/* y (=|+=) conv2d(x1, w1) + conv2d(x2, w2) + bias1 + bias2, then ReLU if asked: one
 * GEMM over the stacked input, or two direct convolutions where the GEMM is not used.
 * With a residual, two ops (oct__pair_split: conv2d, then convg with the residual). */
static oct_status cl_conv2d_pair(oct_context *ctx, const oct__conv_pair_op *op)
{
    static const char *what = "conv2d_pair";
    if (op->res.buf) return oct__pair_split(ctx, op);
    oct__cl *st = ctx->state;
    oct__kview y = {0};
    oct__conv_in in[2] = {{&op->x1, {0}, op->weight1, op->bias1, 0}, {&op->x2, {0}, op->weight2, op->bias2, 0}};
    OCT__TRY(oct__check_view(what, "y", &op->y, &y));
    OCT__TRY(oct__conv_check(what, "x1", &in[0], &op->y, &y, op->k, op->stride, op->pad));
    OCT__TRY(oct__conv_check(what, "x2", &in[1], &op->y, &y, op->k, op->stride, op->pad));
    if (y.items == 0) return OCT_OK;
    long long kdim = ((long long)op->x1.c + op->x2.c) * op->k * op->k;
    if (oct__use_gemm(st, op->y.c, op->y.h, op->y.w, kdim))
        return oct__conv_gemm(st, what, in, 2, &op->y, &y, op->k, op->stride, op->pad, op->accumulate, op->relu);
    OCT__TRY(oct__conv_direct(st, &in[0], &op->y, &y, op->k, op->stride, op->pad, op->accumulate, 0));
    return oct__conv_direct(st, &in[1], &op->y, &y, op->k, op->stride, op->pad, 1, op->relu);
}

/* ------------------------------------------------------------------------------------ */
/* Other ops                                                                              */

/* y (N, C, Ho, Wo) = AvgPool2d(2)(x (N, C, H, W)), 2 Ho <= H, 2 Wo <= W. */
static oct_status cl_avgpool2(oct_context *ctx, const oct__pool_op *op)
{
    static const char *what = "avgpool2";
    oct__cl *st = ctx->state;
    oct__kview x = {0}, y = {0};
    OCT__TRY(oct__check_view(what, "x", &op->x, &x));
    OCT__TRY(oct__check_view(what, "y", &op->y, &y));
    if (y.items == 0) return OCT_OK;

    oct__args a = oct__args_start(st, OCT__K_POOL);
    oct__arg_mem(&a, x.mem);
    oct__arg_int(&a, x.off);
    oct__arg_int(&a, x.nstride);
    oct__arg_int(&a, op->x.h);
    oct__arg_int(&a, op->x.w);
    oct__arg_mem(&a, y.mem);
    oct__arg_int(&a, y.off);
    oct__arg_int(&a, y.nstride);
    oct__arg_int(&a, op->y.n);
    oct__arg_int(&a, op->y.c);
    oct__arg_int(&a, op->y.h);
    oct__arg_int(&a, op->y.w);
    return oct__launch(st, OCT__K_POOL, &a, y.items, st->local[OCT__K_POOL]);
}

/* y (N, C, Ho, Wo) (=|+=) nearest(x (N, C, Hi, Wi)), then ReLU if asked. */
static oct_status cl_resize(oct_context *ctx, const oct__resize_op *op)
{
    static const char *what = "resize";
    oct__cl *st = ctx->state;
    oct__kview x = {0}, y = {0};
    OCT__TRY(oct__check_view(what, "x", &op->x, &x));
    OCT__TRY(oct__check_view(what, "y", &op->y, &y));
    if (y.items == 0) return OCT_OK;
    /* The scales in correctly rounded host float division, as oct__nearest_src has them;
     * the kernel only multiplies (exact rounding in OpenCL C too). */
    float scale_h = (float)op->x.h / (float)op->y.h;
    float scale_w = (float)op->x.w / (float)op->y.w;

    oct__args a = oct__args_start(st, OCT__K_RESIZE);
    oct__arg_mem(&a, x.mem);
    oct__arg_int(&a, x.off);
    oct__arg_int(&a, x.nstride);
    oct__arg_int(&a, op->x.h);
    oct__arg_int(&a, op->x.w);
    oct__arg_mem(&a, y.mem);
    oct__arg_int(&a, y.off);
    oct__arg_int(&a, y.nstride);
    oct__arg_int(&a, op->y.n);
    oct__arg_int(&a, op->y.c);
    oct__arg_int(&a, op->y.h);
    oct__arg_int(&a, op->y.w);
    oct__arg_float(&a, scale_h);
    oct__arg_float(&a, scale_w);
    oct__arg_int(&a, op->accumulate != 0);
    oct__arg_int(&a, op->relu != 0);
    return oct__launch(st, OCT__K_RESIZE, &a, y.items, st->local[OCT__K_RESIZE]);
}

/* y (N, ctotal)[:, c0 + c] = mean over (H, W) of x (N, C, H, W). */
static oct_status cl_gap(oct_context *ctx, const oct__gap_op *op)
{
    static const char *what = "gap";
    oct__cl *st = ctx->state;
    oct__kview x = {0};
    OCT__TRY(oct__check_view(what, "x", &op->x, &x));
    size_t groups = oct__count4(op->x.n, op->x.c, 1, 1);
    if (groups == 0) return OCT_OK;
    size_t hw = (size_t)op->x.h * (size_t)op->x.w; /* <= INT_MAX: x fits an int */

    /* One work-group per (b, c): a power of two no larger than the plane needs. */
    size_t local = st->local[OCT__K_GAP];
    while (local > 1 && local / 2 >= hw) local /= 2;
    oct__args a = oct__args_start(st, OCT__K_GAP);
    oct__arg_mem(&a, oct__mem_or(x.mem, op->y->mem));
    oct__arg_int(&a, x.off);
    oct__arg_int(&a, x.nstride);
    oct__arg_int(&a, op->x.c);
    oct__arg_int(&a, (int)hw);
    oct__arg_mem(&a, op->y->mem);
    oct__arg_int(&a, op->ctotal);
    /* The kernel's y index is b * ctotal + c0 + c: yoff folds into c0 (< INT_MAX, dispatch.c). */
    oct__arg_int(&a, (int)(op->yoff + (size_t)op->c0));
    oct__arg(&a, local * sizeof(float), NULL);
    return oct__launch(st, OCT__K_GAP, &a, groups * local, local);
}

static oct_status oct__clblast_fail(const char *call, CLBlastStatusCode c)
{
    const char *name = c > -1000 ? oct__cl_errstr((cl_int)c) : "CLBlast status";
    switch (c) {
    case CLBlastNotImplemented: name = "CLBlastNotImplemented"; break;
    case CLBlastInvalidLocalMemUsage: name = "CLBlastInvalidLocalMemUsage"; break;
    case CLBlastDatabaseError: name = "CLBlastDatabaseError"; break;
    case CLBlastUnknownError: name = "CLBlastUnknownError"; break;
    case CLBlastUnexpectedError: name = "CLBlastUnexpectedError"; break;
    default: break;
    }
    /* CLBlast passes OpenCL's codes through: out of memory stays out of memory. */
    oct_status s = c > -1000 ? oct__cl_status((int)c) : OCT_ERR_CLBLAST;
    if (s != OCT_ERR_DEVICE_MEMORY && s != OCT_ERR_HOST_MEMORY) s = OCT_ERR_CLBLAST;
    return oct__fail(s, "%s failed: %d (%s)", call, (int)c, name);
}

/* y (N, Out) = x (N, In) W^T (W: (Out, In)) + bias (Out). A small head: oct_linear. A
 * large one: y = bias first, then CLBlast's SGEMM with beta = 1 (so y's old contents,
 * possibly NaN, never matter); while profiling, the SGEMM's event (its last kernel) is
 * kept like ours. */
static oct_status cl_linear(oct_context *ctx, const oct__linear_op *op)
{
    static const char *what = "linear";
    oct__cl *st = ctx->state;
    (void)what;
    size_t ycount = oct__count4(op->n, op->out, 1, 1);
    if (ycount == 0) return OCT_OK;

    cl_mem ymem = op->y->mem;
    long long macs = (long long)op->n * op->in * op->out;
    if (st->linear_mode == OCT__LINEAR_KERNEL ||
        (st->linear_mode == OCT__LINEAR_AUTO && macs < OCT__CLBLAST_MIN_MACS)) {
        oct__args a = oct__args_start(st, OCT__K_LINEAR);
        oct__arg_mem(&a, oct__mem_or(op->in ? op->x->mem : NULL, ymem));
        oct__arg_mem(&a, oct__mem_or(op->in ? op->weight->mem : NULL, ymem));
        oct__arg_mem(&a, oct__mem_or(op->bias ? op->bias->mem : NULL, ymem));
        oct__arg_int(&a, op->bias != NULL);
        oct__arg_mem(&a, ymem);
        oct__arg_int(&a, op->n);
        oct__arg_int(&a, op->in);
        oct__arg_int(&a, op->out);
        return oct__launch(st, OCT__K_LINEAR, &a, ycount, st->local[OCT__K_LINEAR]);
    }
    oct__args a = oct__args_start(st, OCT__K_BIAS);
    oct__arg_mem(&a, ymem);
    oct__arg_int(&a, op->n);
    oct__arg_int(&a, op->out);
    oct__arg_mem(&a, oct__mem_or(op->bias ? op->bias->mem : NULL, ymem));
    oct__arg_int(&a, op->bias != NULL);
    oct__arg_int(&a, 1); /* overwrite */
    OCT__TRY(oct__launch(st, OCT__K_BIAS, &a, ycount, st->local[OCT__K_BIAS]));
    if (op->in == 0) return OCT_OK;

    st->used_clblast = 1;
    cl_event ev;
    CLBlastStatusCode c = oct__fault_hit()
                              ? CLBlastOpenCLOutOfHostMemory
                              : CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes,
                                             (size_t)op->n, (size_t)op->out, (size_t)op->in, 1.0f,
                                             (cl_mem)op->x->mem, 0, (size_t)op->in, (cl_mem)op->weight->mem, 0,
                                             (size_t)op->in, 1.0f, ymem, 0, (size_t)op->out, &st->queue,
                                             oct__prof_slot(st, &ev));
    if (c != CLBlastSuccess) return oct__clblast_fail("CLBlastSgemm", c);
    return st->prof_on && ev ? oct__prof_keep(st, ev) : OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Peak probe                                                                             */

#define OCT__PROBE_GROUPS_PER_UNIT 8
#define OCT__PROBE_TARGET_MS 20.0   /* each timed run */
#define OCT__PROBE_MAX_ITERS (1 << 24)

/* Run the probe once with `iters` and return its device time (ms). */
static oct_status oct__probe_run(oct__cl *st, cl_mem out, int iters, size_t global, size_t local, double *ms)
{
    oct__args a = oct__args_start(st, OCT__K_PROBE);
    oct__arg_mem(&a, out);
    oct__arg_int(&a, iters);
    oct__arg_float(&a, 0.999999f);
    oct__arg_float(&a, 1e-6f);
    if (a.err != CL_SUCCESS)
        return oct__fail(oct__cl_status(a.err), "clSetKernelArg failed: %d (%s) (kernel %s, argument %u)", (int)a.err,
                         oct__cl_errstr(a.err), oct__kernels[OCT__K_PROBE].name, (unsigned)a.bad);
    cl_event ev = NULL;
    cl_ulong t0 = 0, t1 = 0;
    cl_int err = oct__inject();
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(st->queue, st->kernel[OCT__K_PROBE], 1, NULL, &global, &local, 0, NULL, &ev);
    if (err != CL_SUCCESS) return oct__cl_fail("clEnqueueNDRangeKernel", err);
    oct__cl_object_created();
    const char *call = "clWaitForEvents";
    err = oct__inject();
    if (err == CL_SUCCESS) err = clWaitForEvents(1, &ev);
    if (err == CL_SUCCESS) {
        call = "clGetEventProfilingInfo";
        err = oct__inject();
        if (err == CL_SUCCESS) err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
        if (err == CL_SUCCESS) err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
    }
    oct__release_event(ev);
    if (err != CL_SUCCESS) return oct__cl_fail(call, err);
    *ms = t1 > t0 ? (double)(t1 - t0) * 1e-6 : 1e-6;
    return OCT_OK;
}

/* FP32 peak: compute units x work-group x 8 work-items, each a few vector chains of fma;
 * the iteration count grows until one run takes ~20 ms, then the best of 3 runs. */
static oct_status cl_peak_gflops(oct_context *ctx, double *gflops)
{
    oct__cl *st = ctx->state;
    oct__limits lim;
    cl_mem out = NULL;
    OCT__TRY(oct__device_limits((cl_device_id)ctx->device[1], &lim));
    size_t local = st->local[OCT__K_PROBE];
    size_t global = (size_t)lim.units * local * OCT__PROBE_GROUPS_PER_UNIT;
    OCT__TRY(oct__create_buffer(st, 1, &out));
    oct_status s = OCT_OK;
    double ms = 0, best = 0;
    int iters = 1;
    for (;;) {
        s = oct__probe_run(st, out, iters, global, local, &ms);
        if (s != OCT_OK) goto done;
        if (ms >= OCT__PROBE_TARGET_MS / 2 || iters >= OCT__PROBE_MAX_ITERS) break;
        double grow = ms > 0 ? OCT__PROBE_TARGET_MS / ms : 64;
        if (grow > 64) grow = 64;
        if (grow < 2) grow = 2;
        double next = iters * grow;
        iters = next > OCT__PROBE_MAX_ITERS ? OCT__PROBE_MAX_ITERS : (int)next;
    }
    double flop = (double)global * iters * 16.0 * st->probe_chains * st->probe_vec * 2.0;
    for (int rep = 0; rep < 3; rep++) {
        s = oct__probe_run(st, out, iters, global, local, &ms);
        if (s != OCT_OK) goto done;
        double g = flop / (ms * 1e6);
        if (g > best) best = g;
    }
    *gflops = best;
done:
    oct__release_mem(out);
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* Graph ops: general convolution, pooling, add, affine (graph.cl)                        */

/* Queue kernel k over a dims-D range of at least global[] work-items (the kernels check
 * bounds) in work-groups that span rows: up to st->local[k] work-items (a power of two),
 * dim 0 first, then dim 1. Larger groups let PoCL vectorise across work-items. */
static oct_status oct__launch_nd(oct__cl *st, int k, const oct__args *a, cl_uint dims, const size_t *global)
{
    size_t cap = st->local[k] ? st->local[k] : 1, local[3] = {1, 1, 1}, g[3] = {1, 1, 1};
    while (local[0] < cap && local[0] < global[0]) local[0] *= 2;
    if (dims > 1)
        while (local[0] * local[1] < cap && local[1] < global[1]) local[1] *= 2;
    for (cl_uint d = 0; d < dims; d++) g[d] = (global[d] + local[d] - 1) / local[d] * local[d];
    return oct__enqueue(st, k, a, dims, g, local);
}

/* y = a + b, then ReLU (views checked by the caller). */
static oct_status oct__add_launch(oct__cl *st, const oct__kview *a, const oct__kview *b, const oct__kview *y,
                                  const oct__view *yv, int relu)
{
    oct__args k = oct__args_start(st, OCT__K_ADD);
    oct__arg_mem(&k, a->mem);
    oct__arg_int(&k, a->off);
    oct__arg_int(&k, a->nstride);
    oct__arg_mem(&k, b->mem);
    oct__arg_int(&k, b->off);
    oct__arg_int(&k, b->nstride);
    oct__arg_mem(&k, y->mem);
    oct__arg_int(&k, y->off);
    oct__arg_int(&k, y->nstride);
    oct__arg_int(&k, yv->n);
    oct__arg_int(&k, yv->c * yv->h * yv->w);
    oct__arg_int(&k, relu != 0);
    size_t global[2] = {(size_t)yv->c * yv->h * yv->w, (size_t)yv->n};
    return oct__launch_nd(st, OCT__K_ADD, &k, 2, global);
}

/* y = x * scale + shift, then ReLU (either may be NULL; views checked by the caller). */
static oct_status oct__affine_launch(oct__cl *st, const oct__kview *x, const oct__kview *y, const oct__view *yv,
                                     const oct__buf *scale, const oct__buf *shift, int relu)
{
    oct__args k = oct__args_start(st, OCT__K_AFFINE);
    oct__arg_mem(&k, x->mem);
    oct__arg_int(&k, x->off);
    oct__arg_int(&k, x->nstride);
    oct__arg_mem(&k, y->mem);
    oct__arg_int(&k, y->off);
    oct__arg_int(&k, y->nstride);
    oct__arg_mem(&k, oct__mem_or(scale ? scale->mem : NULL, y->mem));
    oct__arg_int(&k, scale != NULL);
    oct__arg_mem(&k, oct__mem_or(shift ? shift->mem : NULL, y->mem));
    oct__arg_int(&k, shift != NULL);
    oct__arg_int(&k, yv->n);
    oct__arg_int(&k, yv->c);
    oct__arg_int(&k, yv->h * yv->w);
    oct__arg_int(&k, relu != 0);
    size_t global[3] = {(size_t)yv->h * yv->w, (size_t)yv->c, (size_t)yv->n};
    return oct__launch_nd(st, OCT__K_AFFINE, &k, 3, global);
}

/* y (=|+=) conv2d(x, weight, groups) + bias, + res, then ReLU. One group with a square
 * kernel, one padding, one stride and no dilation runs the convolution kernels of
 * conv2d (the implicit GEMM where it is chosen) after the residual was added to y
 * (sum + bias + old + res, in that order of terms); one input channel per group
 * (depthwise) runs oct_convg_dw; everything else oct_convg_direct. */
static oct_status cl_convg(oct_context *ctx, const oct__convg_op *op)
{
    static const char *what = "convg";
    oct__cl *st = ctx->state;
    const oct__view *xv = &op->x, *yv = &op->y;
    oct__kview x = {0}, y = {0}, r = {0};
    int g = op->groups;
    OCT__TRY(oct__check_view(what, "y", yv, &y));
    OCT__TRY(oct__check_view(what, "x", xv, &x));
    if (op->res.buf) OCT__TRY(oct__check_view(what, "res", &op->res, &r));
    if (y.items == 0) return OCT_OK;
    size_t cig = (size_t)(xv->c / g), wcount = oct__count4(yv->c, (int)cig, op->kh, op->kw);

    if (g == 1 && op->kh == op->kw && op->stride_h == op->stride_w && op->dil_h == 1 && op->dil_w == 1 &&
        op->pad_t == op->pad_l && op->pad_t == op->pad_b && op->pad_t == op->pad_r && cig > 0) {
        if (op->res.buf) {
            if (op->accumulate)
                OCT__TRY(oct__add_launch(st, &y, &r, &y, yv, 0));
            else
                OCT__TRY(oct__affine_launch(st, &r, &y, yv, NULL, NULL, 0));
        }
        oct__conv_op c = {*xv, *yv, op->weight, op->bias, op->kh, op->stride_h, op->pad_t,
                          op->accumulate || op->res.buf != NULL, op->relu};
        return cl_conv2d(ctx, &c);
    }
    /* Both kernels take the same arguments; the last group argument is the output
     * channels per group for the depthwise kernel and the group count for the other. */
    int dw = cig == 1 && g > 1; /* depthwise, channel multipliers */
    int kernel = dw ? OCT__K_CONVG_DW : OCT__K_CONVG;
    oct__args a = oct__args_start(st, kernel);
    oct__arg_mem(&a, oct__mem_or(x.mem, y.mem));
    oct__arg_int(&a, x.off);
    oct__arg_int(&a, x.nstride);
    oct__arg_int(&a, xv->c);
    oct__arg_int(&a, xv->h);
    oct__arg_int(&a, xv->w);
    oct__arg_mem(&a, oct__mem_or(wcount ? op->weight->mem : NULL, y.mem));
    oct__arg_mem(&a, oct__mem_or(op->bias ? op->bias->mem : NULL, y.mem));
    oct__arg_int(&a, op->bias != NULL);
    oct__arg_mem(&a, oct__mem_or(op->res.buf ? r.mem : NULL, y.mem));
    oct__arg_int(&a, r.off);
    oct__arg_int(&a, r.nstride);
    oct__arg_int(&a, op->res.buf != NULL);
    oct__arg_mem(&a, y.mem);
    oct__arg_int(&a, y.off);
    oct__arg_int(&a, y.nstride);
    oct__arg_int(&a, yv->n);
    oct__arg_int(&a, yv->c);
    oct__arg_int(&a, yv->h);
    oct__arg_int(&a, yv->w);
    oct__arg_int(&a, op->kh);
    oct__arg_int(&a, op->kw);
    oct__arg_int(&a, op->stride_h);
    oct__arg_int(&a, op->stride_w);
    oct__arg_int(&a, op->pad_t);
    oct__arg_int(&a, op->pad_l);
    oct__arg_int(&a, op->dil_h);
    oct__arg_int(&a, op->dil_w);
    oct__arg_int(&a, dw ? yv->c / g : g);
    oct__arg_int(&a, op->accumulate != 0);
    oct__arg_int(&a, op->relu != 0);
    size_t planes = dw ? (size_t)yv->c : (size_t)g * (size_t)((yv->c / g + 3) / 4);
    size_t global[3] = {(size_t)yv->w, (size_t)yv->h, (size_t)yv->n * planes};
    return oct__launch_nd(st, kernel, &a, 3, global);
}

static oct_status cl_poolg(oct_context *ctx, const oct__poolg_op *op)
{
    static const char *what = "poolg";
    oct__cl *st = ctx->state;
    oct__kview x = {0}, y = {0};
    OCT__TRY(oct__check_view(what, "x", &op->x, &x));
    OCT__TRY(oct__check_view(what, "y", &op->y, &y));
    if (y.items == 0) return OCT_OK;
    oct__args a = oct__args_start(st, OCT__K_POOLG);
    oct__arg_mem(&a, oct__mem_or(x.mem, y.mem));
    oct__arg_int(&a, x.off);
    oct__arg_int(&a, x.nstride);
    oct__arg_int(&a, op->x.h);
    oct__arg_int(&a, op->x.w);
    oct__arg_mem(&a, y.mem);
    oct__arg_int(&a, y.off);
    oct__arg_int(&a, y.nstride);
    oct__arg_int(&a, op->y.n);
    oct__arg_int(&a, op->y.c);
    oct__arg_int(&a, op->y.h);
    oct__arg_int(&a, op->y.w);
    oct__arg_int(&a, op->max != 0);
    oct__arg_int(&a, op->kh);
    oct__arg_int(&a, op->kw);
    oct__arg_int(&a, op->stride_h);
    oct__arg_int(&a, op->stride_w);
    oct__arg_int(&a, op->pad_t);
    oct__arg_int(&a, op->pad_l);
    oct__arg_int(&a, op->pad_b);
    oct__arg_int(&a, op->pad_r);
    oct__arg_int(&a, op->count_include_pad != 0);
    oct__arg_int(&a, op->relu != 0);
    size_t global[3] = {(size_t)op->y.w, (size_t)op->y.h, (size_t)op->y.n * (size_t)op->y.c};
    return oct__launch_nd(st, OCT__K_POOLG, &a, 3, global);
}

static oct_status cl_add(oct_context *ctx, const oct__add_op *op)
{
    static const char *what = "add";
    oct__kview a = {0}, b = {0}, y = {0};
    OCT__TRY(oct__check_view(what, "a", &op->a, &a));
    OCT__TRY(oct__check_view(what, "b", &op->b, &b));
    OCT__TRY(oct__check_view(what, "y", &op->y, &y));
    if (y.items == 0) return OCT_OK;
    return oct__add_launch(ctx->state, &a, &b, &y, &op->y, op->relu);
}

static oct_status cl_affine(oct_context *ctx, const oct__affine_op *op)
{
    static const char *what = "affine";
    oct__kview x = {0}, y = {0};
    OCT__TRY(oct__check_view(what, "x", &op->x, &x));
    OCT__TRY(oct__check_view(what, "y", &op->y, &y));
    if (y.items == 0) return OCT_OK;
    return oct__affine_launch(ctx->state, &x, &y, &op->y, op->scale, op->shift, op->relu);
}

const oct__backend oct__backend_cl = {
    .name = "opencl",
    .init = cl_init,
    .release = cl_release,
    .alloc = cl_alloc,
    .free = cl_free,
    .write = cl_write,
    .read = cl_read,
    .conv2d = cl_conv2d,
    .avgpool2 = cl_avgpool2,
    .resize = cl_resize,
    .gap = cl_gap,
    .linear = cl_linear,
    .finish = cl_finish,
    .profile = cl_profile,
    .device_ms = cl_device_ms,
    .peak_gflops = cl_peak_gflops,
    .conv2d_pair = cl_conv2d_pair,
    .convg = cl_convg,
    .poolg = cl_poolg,
    .add = cl_add,
    .affine = cl_affine,
};

/* ------------------------------------------------------------------------------------ */
/* Tuning hook (tune.c): the tile sets worth timing on a device                          */

int oct__cl_tile_variants(void *device, int (*out)[6], char (*names)[24], int max)
{
    oct__limits lim;
    oct__tile_try tries[OCT__MAX_TRIES];
    char note[256] = "";
    if (!device || max < 1 || oct__device_limits((cl_device_id)device, &lim) != OCT_OK) {
        oct__clear_error();
        return 0;
    }
    /* The device's own list (its default first), then neighbours of each: half and double
     * the depth TK, of the work-group's width TN / RN and height TM / RM, the register
     * tile RM, and weights from global or local memory. */
    const char *env = getenv("OCTCL_GEMM_TILES");
    int nt = env && *env ? 0 : oct__tile_tries(&lim, NULL, NULL, tries, note, sizeof note);
    oct__tiles cand[64];
    char cname[64][24];
    int nc = 0;
    for (int i = 0; i < nt && nc < 64; i++) {
        cand[nc] = tries[i].t;
        snprintf(cname[nc++], sizeof cname[0], "%.23s", tries[i].name);
    }
    static const oct__tiles named[] = {{64, 128, 16, 8, 4, 0}, {32, 32, 16, 4, 4, 0}, {64, 16, 32, 16, 16, 1}};
    static const char *const named_name[] = {"gpu", "small", "cpu"};
    for (int i = 0; i < 3 && nc < 64; i++) { /* the named sets that fit, whatever the type */
        cand[nc] = named[i];
        snprintf(cname[nc++], sizeof cname[0], "%s", named_name[i]);
    }
    for (int i = 0; i < nt && nc + 8 <= 64; i++) {
        const oct__tiles b = tries[i].t;
        const oct__tiles nb[8] = {
            {b.tm, b.tn, b.tk * 2, b.rm, b.rn, b.wglobal}, {b.tm, b.tn, b.tk / 2, b.rm, b.rn, b.wglobal},
            {b.tm, b.tn * 2, b.tk, b.rm, b.rn, b.wglobal}, {b.tm, b.tn / 2, b.tk, b.rm, b.rn, b.wglobal},
            {b.tm * 2, b.tn, b.tk, b.rm, b.rn, b.wglobal}, {b.tm / 2, b.tn, b.tk, b.rm, b.rn, b.wglobal},
            {b.tm, b.tn, b.tk, b.rm / 2, b.rn, b.wglobal}, {b.tm, b.tn, b.tk, b.rm, b.rn, !b.wglobal},
        };
        static const char *const nn[8] = {"TKx2", "TK/2", "TNx2", "TN/2", "TMx2", "TM/2", "RM/2", "WGLOBAL!"};
        for (int j = 0; j < 8; j++) {
            cand[nc] = nb[j];
            snprintf(cname[nc++], sizeof cname[0], "%.12s %s", tries[i].name, nn[j]);
        }
    }
    int n = 0;
    for (int i = 0; i < nc && n < max; i++) {
        const oct__tiles *t = &cand[i];
        if (!oct__tiles_valid(t) || !oct__tiles_fit(t, &lim)) continue;
        int dup = 0;
        for (int j = 0; j < n; j++)
            dup |= out[j][0] == t->tm && out[j][1] == t->tn && out[j][2] == t->tk && out[j][3] == t->rm &&
                   out[j][4] == t->rn && out[j][5] == t->wglobal;
        if (dup) continue;
        int v[6] = {t->tm, t->tn, t->tk, t->rm, t->rn, t->wglobal};
        memcpy(out[n], v, sizeof v);
        snprintf(names[n], 24, "%.23s", cname[i]);
        n++;
    }
    return n;
}
