/* backend_cl.c — the OpenCL backend: one cl_context, an in-order queue with profiling,
 * and ONE program built from every embedded kernel file (common.cl first, then the
 * others in the generated table's sorted order); CLBlast's SGEMM for the linear layer.
 * A context is not thread-safe: ops set arguments on kernels the context shares. */
#include "internal.h"
#include "octcl_kernels.h"

#include <CL/cl.h>
#include <clblast_c.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No fast-math: results must agree with the reference backend. */
#define OCT__BUILD_OPTIONS "-cl-std=CL1.2"
/* Preferred work-group sizes (capped by what the device and kernel allow). */
#define OCT__LOCAL_1D 64
#define OCT__LOCAL_GAP 256
/* How much of a failed build's log goes into the message. */
#define OCT__LOG_CHARS 300

enum { OCT__K_CONV, OCT__K_POOL, OCT__K_RESIZE, OCT__K_GAP, OCT__K_BIAS, OCT__K_COUNT };

static const struct {
    const char *name;
    size_t preferred_local;
} oct__kernels[OCT__K_COUNT] = {
    [OCT__K_CONV] = {"oct_conv2d_direct", OCT__LOCAL_1D},
    [OCT__K_POOL] = {"oct_avgpool2", OCT__LOCAL_1D},
    [OCT__K_RESIZE] = {"oct_resize_nearest", OCT__LOCAL_1D},
    [OCT__K_GAP] = {"oct_gap", OCT__LOCAL_GAP},
    [OCT__K_BIAS] = {"oct_linear_bias", OCT__LOCAL_1D},
};

/* What a context owns (ctx->state). */
typedef struct {
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernel[OCT__K_COUNT];
    size_t local[OCT__K_COUNT]; /* work-group size used for each kernel, a power of two */
    int used_clblast;           /* CLBlast holds programs of this context in its cache */
} oct__cl;

/* ------------------------------------------------------------------------------------ */
/* Errors                                                                                 */

static const char *oct__cl_errstr(cl_int e)
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

/* A failed cl* call as a status; an allocation failure is out of device memory (buffers
 * may be allocated lazily, at their first use). */
static oct_status oct__cl_fail(const char *call, cl_int err)
{
    oct_status s = err == CL_MEM_OBJECT_ALLOCATION_FAILURE ? OCT_ERR_DEVICE_MEMORY : OCT_ERR_OPENCL;
    return oct__fail(s, "%s failed: %d (%s)", call, (int)err, oct__cl_errstr(err));
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

/* A view as the kernels take it: int offset and batch stride, with every index of the
 * view inside its buffer and below INT_MAX. `items` is n * c * h * w. */
typedef struct {
    cl_mem mem;
    int off, nstride;
    size_t items;
} oct__kview;

static oct_status oct__check_view(const char *op, const char *name, const oct__view *v, oct__kview *kv)
{
    if (!v->buf) return oct__fail(OCT_ERR_NULL_ARG, "%s: view %s has no buffer", op, name);
    size_t plane = oct__count4(1, v->c, v->h, v->w);
    size_t items = oct__count4(v->n, v->c, v->h, v->w);
    if (plane == SIZE_MAX || items == SIZE_MAX || items > (size_t)INT_MAX)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: view %s (%d, %d, %d, %d) is negative or exceeds INT_MAX elements",
                         op, name, v->n, v->c, v->h, v->w);
    kv->mem = v->buf->mem;
    kv->off = 0;
    kv->nstride = 0;
    kv->items = items;
    if (items == 0) return OCT_OK;
    /* Last element + 1: off + (n - 1) * nstride + plane. */
    size_t end;
    if (!oct__mul((size_t)(v->n - 1), v->nstride, &end) || v->off > SIZE_MAX - plane ||
        end > SIZE_MAX - v->off - plane)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: view %s offset %zu / batch stride %zu overflow", op, name,
                         v->off, v->nstride);
    end += v->off + plane;
    if (end > v->buf->count || end > (size_t)INT_MAX || !v->buf->mem)
        return oct__fail(OCT_ERR_BAD_SIZE,
                         "%s: view %s (%d, %d, %d, %d) at offset %zu, batch stride %zu ends at %zu, "
                         "past its buffer of %zu floats (or INT_MAX)",
                         op, name, v->n, v->c, v->h, v->w, v->off, v->nstride, end, v->buf->count);
    kv->off = (int)v->off;
    kv->nstride = v->n > 1 ? (int)v->nstride : 0;
    return OCT_OK;
}

/* A plain buffer that must hold `need` floats, every index below INT_MAX. */
static oct_status oct__check_buf(const char *op, const char *name, const oct__buf *b, size_t need)
{
    if (need == 0) return OCT_OK;
    if (!b) return oct__fail(OCT_ERR_NULL_ARG, "%s: buffer %s is NULL", op, name);
    if (need == SIZE_MAX || need > (size_t)INT_MAX)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: %s needs more than INT_MAX floats", op, name);
    if (b->count < need || !b->mem)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: buffer %s holds %zu floats, needs %zu", op, name, b->count,
                         need);
    return OCT_OK;
}

/* A buffer's cl_mem, or `fallback` where the buffer is empty (a kernel then never reads
 * it, but every __global argument needs a valid buffer). */
static cl_mem oct__mem_or(cl_mem mem, cl_mem fallback) { return mem ? mem : fallback; }

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
        a->err = clSetKernelArg(a->k, a->i, size, value);
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

/* Queue kernel k over `items` work-items in groups of `local` (global size rounded up to
 * a multiple; the kernels check bounds), after checking its arguments were set. */
static oct_status oct__launch(oct__cl *st, int k, const oct__args *a, size_t items, size_t local)
{
    if (a->err != CL_SUCCESS)
        return oct__fail(OCT_ERR_OPENCL, "clSetKernelArg failed: %d (%s) (kernel %s, argument %u)", (int)a->err,
                         oct__cl_errstr(a->err), oct__kernels[k].name, (unsigned)a->bad);
    size_t global = (items + local - 1) / local * local;
    cl_int err = clEnqueueNDRangeKernel(st->queue, st->kernel[k], 1, NULL, &global, &local, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return oct__fail(err == CL_MEM_OBJECT_ALLOCATION_FAILURE ? OCT_ERR_DEVICE_MEMORY : OCT_ERR_OPENCL,
                         "clEnqueueNDRangeKernel failed: %d (%s) (kernel %s, global %zu, local %zu)", (int)err,
                         oct__cl_errstr(err), oct__kernels[k].name, global, local);
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Init and release                                                                       */

/* Read a whole text file into a NUL-terminated string (NULL on failure). */
static char *oct__read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            size_t ncap = cap ? 2 * cap : 16384;
            char *p = realloc(text, ncap);
            if (!p) goto fail;
            text = p;
            cap = ncap;
        }
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) goto fail;
    fclose(f);
    text[len] = '\0';
    return text;
fail:
    free(text);
    fclose(f);
    return NULL;
}

/* The program's sources in build order: common first, then the rest in table order.
 * With $OCTCL_KERNEL_DIR set, the same names are read from <dir>/<name>.cl instead
 * (a development aid; owned[] holds what was read, for the caller to free). */
static oct_status oct__sources(const char **src, char **owned)
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
    }
    if (!dir || !*dir) return OCT_OK;
    for (int j = 0; j < OCT__KERNEL_SOURCE_COUNT; j++) {
        char path[4096];
        int len = snprintf(path, sizeof path, "%s/%s.cl", dir, oct__kernel_sources[order[j]].name);
        if (len < 0 || (size_t)len >= sizeof path)
            return oct__fail(OCT_ERR_IO, "OCTCL_KERNEL_DIR: path too long for %s.cl",
                             oct__kernel_sources[order[j]].name);
        owned[j] = oct__read_text(path);
        if (!owned[j]) return oct__fail(OCT_ERR_IO, "OCTCL_KERNEL_DIR: cannot read %s", path);
        src[j] = owned[j];
    }
    return OCT_OK;
}

/* The status for a failed clBuildProgram: code, options and the head of the log. */
static oct_status oct__build_fail(cl_program program, cl_device_id dev, cl_int err)
{
    char head[OCT__LOG_CHARS + 1] = "";
    size_t size = 0;
    if (clGetProgramBuildInfo(program, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) == CL_SUCCESS && size > 0) {
        char *log = malloc(size + 1);
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
                     oct__cl_errstr(err), OCT__BUILD_OPTIONS, head[0] ? head : "(empty)");
}

/* The largest power of two <= min(preferred, kernel's and device's limits). */
static oct_status oct__pick_local(cl_kernel k, cl_device_id dev, size_t preferred, size_t *out)
{
    size_t kmax = 0, items[16] = {0};
    cl_uint dims = 0;
    cl_int err = clGetKernelWorkGroupInfo(k, dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax, NULL);
    if (err != CL_SUCCESS) return oct__cl_fail("clGetKernelWorkGroupInfo", err);
    err = clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, sizeof dims, &dims, NULL);
    if (err != CL_SUCCESS) return oct__cl_fail("clGetDeviceInfo", err);
    if (dims < 1 || dims > 16)
        return oct__fail(OCT_ERR_OPENCL, "clGetDeviceInfo: %u work-item dimensions", (unsigned)dims);
    err = clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_ITEM_SIZES, dims * sizeof(size_t), items, NULL);
    if (err != CL_SUCCESS) return oct__cl_fail("clGetDeviceInfo", err);
    size_t cap = preferred;
    if (kmax < cap) cap = kmax;
    if (items[0] < cap) cap = items[0];
    size_t l = 1;
    while (l * 2 <= cap) l *= 2;
    *out = l;
    return OCT_OK;
}

static void cl_release(oct_context *ctx);

static oct_status cl_init(oct_context *ctx)
{
    cl_platform_id platform = (cl_platform_id)ctx->cl_platform;
    cl_device_id dev = (cl_device_id)ctx->cl_device;
    const char *src[OCT__KERNEL_SOURCE_COUNT];
    char *owned[OCT__KERNEL_SOURCE_COUNT] = {0};
    oct_status s = OCT_OK;
    cl_int err;

    ctx->state = NULL;
    if (!dev) return oct__fail(OCT_ERR_NO_DEVICE, "OpenCL backend: no device selected");
    oct__cl *st = calloc(1, sizeof *st);
    if (!st) return oct__fail(OCT_ERR_HOST_MEMORY, "OpenCL backend: out of host memory");
    ctx->state = st;

    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
    st->context = clCreateContext(platform ? props : NULL, 1, &dev, NULL, NULL, &err);
    if (!st->context || err != CL_SUCCESS) {
        s = oct__cl_fail("clCreateContext", err);
        goto fail;
    }
    st->queue = clCreateCommandQueue(st->context, dev, CL_QUEUE_PROFILING_ENABLE, &err);
    if (!st->queue || err != CL_SUCCESS) {
        s = oct__cl_fail("clCreateCommandQueue", err);
        goto fail;
    }

    s = oct__sources(src, owned);
    if (s != OCT_OK) goto fail;
    st->program = clCreateProgramWithSource(st->context, OCT__KERNEL_SOURCE_COUNT, src, NULL, &err);
    if (!st->program || err != CL_SUCCESS) {
        s = oct__cl_fail("clCreateProgramWithSource", err);
        goto fail;
    }
    err = clBuildProgram(st->program, 1, &dev, OCT__BUILD_OPTIONS, NULL, NULL);
    if (err != CL_SUCCESS) {
        s = oct__build_fail(st->program, dev, err);
        goto fail;
    }

    for (int k = 0; k < OCT__K_COUNT; k++) {
        st->kernel[k] = clCreateKernel(st->program, oct__kernels[k].name, &err);
        if (!st->kernel[k] || err != CL_SUCCESS) {
            s = oct__fail(OCT_ERR_OPENCL, "clCreateKernel failed: %d (%s) (kernel %s)", (int)err,
                          oct__cl_errstr(err), oct__kernels[k].name);
            goto fail;
        }
        s = oct__pick_local(st->kernel[k], dev, oct__kernels[k].preferred_local, &st->local[k]);
        if (s != OCT_OK) goto fail;
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
    /* CLBlast caches its programs per context, process-wide, and they keep our context
     * alive; clearing drops them (other live contexts recompile on their next call). */
    if (st->used_clblast) CLBlastClearCache();
    for (int k = OCT__K_COUNT - 1; k >= 0; k--)
        if (st->kernel[k]) clReleaseKernel(st->kernel[k]);
    if (st->program) clReleaseProgram(st->program);
    if (st->queue) clReleaseCommandQueue(st->queue);
    if (st->context) clReleaseContext(st->context);
    free(st);
    ctx->state = NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Buffers                                                                                */

static oct_status cl_alloc(oct_context *ctx, oct__buf *b, size_t count)
{
    oct__cl *st = ctx->state;
    b->host = NULL;
    b->mem = NULL;
    b->count = 0;
    if (count == 0) return OCT_OK;
    if (count > SIZE_MAX / sizeof(float))
        return oct__fail(OCT_ERR_BAD_SIZE, "clCreateBuffer: %zu floats overflow a byte count", count);
    cl_int err = CL_SUCCESS;
    cl_mem m = clCreateBuffer(st->context, CL_MEM_READ_WRITE, count * sizeof(float), NULL, &err);
    if (!m || err != CL_SUCCESS) {
        if (m) clReleaseMemObject(m);
        oct_status s = err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
                               err == CL_INVALID_BUFFER_SIZE
                           ? OCT_ERR_DEVICE_MEMORY
                           : OCT_ERR_OPENCL;
        return oct__fail(s, "clCreateBuffer failed: %d (%s) (%zu floats)", (int)err, oct__cl_errstr(err), count);
    }
    b->mem = m;
    b->count = count;
    return OCT_OK;
}

static void cl_free(oct_context *ctx, oct__buf *b)
{
    (void)ctx;
    if (b->mem) clReleaseMemObject((cl_mem)b->mem);
    b->mem = NULL;
    b->count = 0;
}

static oct_status cl_write(oct_context *ctx, oct__buf *b, const float *src)
{
    oct__cl *st = ctx->state;
    if (b->count == 0) return OCT_OK;
    cl_int err = clEnqueueWriteBuffer(st->queue, (cl_mem)b->mem, CL_TRUE, 0, b->count * sizeof(float), src, 0,
                                      NULL, NULL);
    if (err != CL_SUCCESS) {
        oct_status s = err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES
                           ? OCT_ERR_DEVICE_MEMORY
                           : OCT_ERR_OPENCL;
        return oct__fail(s, "clEnqueueWriteBuffer failed: %d (%s) (%zu floats)", (int)err, oct__cl_errstr(err),
                         b->count);
    }
    return OCT_OK;
}

/* Blocking, on the in-order queue: every op queued before has finished when it returns. */
static oct_status cl_read(oct_context *ctx, const oct__buf *b, float *dst)
{
    oct__cl *st = ctx->state;
    if (b->count == 0) return OCT_OK;
    cl_int err = clEnqueueReadBuffer(st->queue, (cl_mem)b->mem, CL_TRUE, 0, b->count * sizeof(float), dst, 0,
                                     NULL, NULL);
    if (err != CL_SUCCESS) return oct__cl_fail("clEnqueueReadBuffer", err);
    return OCT_OK;
}

static oct_status cl_finish(oct_context *ctx)
{
    oct__cl *st = ctx->state;
    cl_int err = clFinish(st->queue);
    if (err != CL_SUCCESS) return oct__cl_fail("clFinish", err);
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Ops                                                                                    */

/* y (N, Co, Ho, Wo) (=|+=) conv2d(x (N, Ci, H, W), weight (Co, Ci, K, K)) + bias (Co). */
static oct_status cl_conv2d(oct_context *ctx, const oct__conv_op *op)
{
    static const char *what = "conv2d";
    oct__cl *st = ctx->state;
    oct__kview x = {0}, y = {0};
    OCT__TRY(oct__check_view(what, "x", &op->x, &x));
    OCT__TRY(oct__check_view(what, "y", &op->y, &y));
    if (op->k < 1 || op->stride < 1 || op->pad < 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: kernel %d, stride %d, padding %d", what, op->k, op->stride,
                         op->pad);
    if (op->y.n != op->x.n)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: batch of x (%d) and y (%d) differ", what, op->x.n,
                         op->y.n);
    if (y.items == 0) return OCT_OK;
    size_t wcount = oct__count4(op->y.c, op->x.c, op->k, op->k);
    OCT__TRY(oct__check_buf(what, "weight", op->weight, wcount));
    if (op->bias) OCT__TRY(oct__check_buf(what, "bias", op->bias, (size_t)op->y.c));
    /* The window's corner (oy * stride - pad) and its clipping (H + pad, K + pad) in int. */
    long long hw_max = op->x.h > op->x.w ? op->x.h : op->x.w;
    if ((long long)op->y.h * op->stride > INT_MAX || (long long)op->y.w * op->stride > INT_MAX ||
        hw_max + op->pad + op->k > INT_MAX || op->y.c > INT_MAX - 3)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: output %dx%d at stride %d, padding %d exceeds int indices", what,
                         op->y.h, op->y.w, op->stride, op->pad);

    cl_mem wmem = oct__mem_or(wcount ? op->weight->mem : NULL, y.mem);
    cl_mem bmem = oct__mem_or(op->bias ? op->bias->mem : NULL, y.mem);
    oct__args a = oct__args_start(st, OCT__K_CONV);
    oct__arg_mem(&a, oct__mem_or(x.mem, y.mem));
    oct__arg_int(&a, x.off);
    oct__arg_int(&a, x.nstride);
    oct__arg_int(&a, op->x.c);
    oct__arg_int(&a, op->x.h);
    oct__arg_int(&a, op->x.w);
    oct__arg_mem(&a, wmem);
    oct__arg_mem(&a, bmem);
    oct__arg_int(&a, op->bias != NULL);
    oct__arg_mem(&a, y.mem);
    oct__arg_int(&a, y.off);
    oct__arg_int(&a, y.nstride);
    oct__arg_int(&a, op->y.n);
    oct__arg_int(&a, op->y.c);
    oct__arg_int(&a, op->y.h);
    oct__arg_int(&a, op->y.w);
    oct__arg_int(&a, op->k);
    oct__arg_int(&a, op->stride);
    oct__arg_int(&a, op->pad);
    oct__arg_int(&a, op->accumulate != 0);
    oct__arg_int(&a, op->relu != 0);
    /* One work-item per output pixel and block of 4 output channels (conv.cl). */
    size_t items = (size_t)op->y.n * (size_t)((op->y.c + 3) / 4) * (size_t)op->y.h * (size_t)op->y.w;
    return oct__launch(st, OCT__K_CONV, &a, items, st->local[OCT__K_CONV]);
}

/* y (N, C, Ho, Wo) = AvgPool2d(2)(x (N, C, H, W)), 2 Ho <= H, 2 Wo <= W. */
static oct_status cl_avgpool2(oct_context *ctx, const oct__pool_op *op)
{
    static const char *what = "avgpool2";
    oct__cl *st = ctx->state;
    oct__kview x = {0}, y = {0};
    OCT__TRY(oct__check_view(what, "x", &op->x, &x));
    OCT__TRY(oct__check_view(what, "y", &op->y, &y));
    if (y.items == 0) return OCT_OK;
    if (op->y.n != op->x.n || op->y.c != op->x.c || 2LL * op->y.h > op->x.h || 2LL * op->y.w > op->x.w)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: y (%d, %d, %d, %d) does not pool x (%d, %d, %d, %d)", what,
                         op->y.n, op->y.c, op->y.h, op->y.w, op->x.n, op->x.c, op->x.h, op->x.w);

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
    if (op->y.n != op->x.n || op->y.c != op->x.c || x.items == 0)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: y (%d, %d, %d, %d) cannot be resized from x (%d, %d, %d, %d)",
                         what, op->y.n, op->y.c, op->y.h, op->y.w, op->x.n, op->x.c, op->x.h, op->x.w);
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
    if (op->c0 < 0 || op->ctotal < 0 || (long long)op->c0 + op->x.c > op->ctotal)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: channels [%d, %d) outside the %d of y", what, op->c0,
                         op->c0 + op->x.c, op->ctotal);
    OCT__TRY(oct__check_buf(what, "y", op->y, oct__count4(op->x.n, op->ctotal, 1, 1)));
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
    oct__arg_int(&a, op->c0);
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
    return oct__fail(OCT_ERR_CLBLAST, "%s failed: %d (%s)", call, (int)c, name);
}

/* y (N, Out) = x (N, In) W^T (W: (Out, In)) + bias (Out): y = bias first, then SGEMM
 * with beta = 1 (so y's old contents, possibly NaN, never matter). */
static oct_status cl_linear(oct_context *ctx, const oct__linear_op *op)
{
    static const char *what = "linear";
    oct__cl *st = ctx->state;
    if (op->n < 0 || op->in < 0 || op->out < 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: n %d, in %d, out %d", what, op->n, op->in, op->out);
    size_t ycount = oct__count4(op->n, op->out, 1, 1);
    if (ycount == 0) return OCT_OK;
    OCT__TRY(oct__check_buf(what, "y", op->y, ycount));
    OCT__TRY(oct__check_buf(what, "x", op->x, oct__count4(op->n, op->in, 1, 1)));
    OCT__TRY(oct__check_buf(what, "weight", op->weight, oct__count4(op->out, op->in, 1, 1)));
    if (op->bias) OCT__TRY(oct__check_buf(what, "bias", op->bias, (size_t)op->out));

    cl_mem ymem = op->y->mem;
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
    CLBlastStatusCode c = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes,
                                       (size_t)op->n, (size_t)op->out, (size_t)op->in, 1.0f,
                                       (cl_mem)op->x->mem, 0, (size_t)op->in,
                                       (cl_mem)op->weight->mem, 0, (size_t)op->in, 1.0f,
                                       ymem, 0, (size_t)op->out, &st->queue, NULL);
    if (c != CLBlastSuccess) return oct__clblast_fail("CLBlastSgemm", c);
    return OCT_OK;
}

const oct__backend oct__backend_cl = {
    "opencl", cl_init, cl_release, cl_alloc, cl_free, cl_write, cl_read,
    cl_conv2d, cl_avgpool2, cl_resize, cl_gap, cl_linear, cl_finish,
};
