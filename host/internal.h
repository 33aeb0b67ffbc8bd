/* internal.h — what the host files share and users never see: the context, buffers,
 * tensor views, the op table every backend fills in, and the error helpers.
 * Private names carry the oct__ prefix.
 */
#ifndef OCT_INTERNAL_H
#define OCT_INTERNAL_H

#include "octcl.h"

#include <stdarg.h>
#include <stddef.h>

/* ------------------------------------------------------------------------------------ */
/* Errors                                                                                 */

/* Record a one-line message for oct_last_error() and return `s`. */
oct_status oct__fail(oct_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void oct__clear_error(void);

#define OCT__TRY(expr)                   \
    do {                                 \
        oct_status oct__s_ = (expr);     \
        if (oct__s_ != OCT_OK) return oct__s_; \
    } while (0)

/* ------------------------------------------------------------------------------------ */
/* Fault injection (fault.c)                                                              */

/* 1 when this fallible call must fail (see oct_debug_fail_at). Every host allocation
 * goes through oct__malloc / oct__calloc / oct__realloc, and every OpenCL call that can
 * fail asks oct__fault_hit first. */
int oct__fault_hit(void);
void *oct__malloc(size_t n);
void *oct__calloc(size_t n, size_t size);
void *oct__realloc(void *p, size_t n);
/* Live OpenCL objects (contexts, queues, programs, kernels, buffers, events). */
void oct__cl_object_created(void);
void oct__cl_object_released(void);

/* ------------------------------------------------------------------------------------ */
/* Buffers and views                                                                      */

/* Storage of `count` floats: host memory for the CPU backends, a cl_mem for OpenCL. */
typedef struct {
    float *host;   /* CPU backends */
    void *mem;     /* cl_mem for OpenCL */
    size_t count;  /* floats */
} oct__buf;

/* A 4-D window into a buffer: element (b, c, y, x) lives at
 * off + b * nstride + (c * h + y) * w + x. Channel slices of an NCHW tensor are views
 * with an offset and the whole tensor's batch stride. */
typedef struct {
    const oct__buf *buf;
    size_t off;
    size_t nstride;
    int n, c, h, w;
} oct__view;

/* A whole contiguous NCHW buffer as a view. */
oct__view oct__view_of(const oct__buf *buf, int n, int c, int h, int w);
/* Channels [c0, c0 + c) of a contiguous (n, ctotal, h, w) buffer. */
oct__view oct__view_channels(const oct__buf *buf, int n, int ctotal, int c0, int c, int h, int w);

/* ------------------------------------------------------------------------------------ */
/* Ops                                                                                    */

/* y (=|+=) conv2d(x, weight) + bias, then ReLU if asked (after the sum).
 *   x (N, Ci, H, W), weight (Co, Ci, K, K), bias (Co) or NULL, y (N, Co, Ho, Wo)
 *   with Ho = (H + 2 pad - K) / stride + 1 (cross-correlation, like PyTorch). */
typedef struct {
    oct__view x;
    oct__view y;
    const oct__buf *weight;
    const oct__buf *bias;
    int k, stride, pad;
    int accumulate;
    int relu;
} oct__conv_op;

/* y = AvgPool2d(2)(x): x (N, C, H, W), y (N, C, ⌊H/2⌋, ⌊W/2⌋). */
typedef struct {
    oct__view x;
    oct__view y;
} oct__pool_op;

/* y (=|+=) nearest_resize(x) to y's size, then ReLU if asked.
 *   x (N, C, Hi, Wi), y (N, C, Ho, Wo); source index floor(dst * (float)Hi / Ho),
 *   exactly as PyTorch's F.interpolate(mode='nearest', size=...) computes it.
 *   Equal sizes make it a copy. */
typedef struct {
    oct__view x;
    oct__view y;
    int accumulate;
    int relu;
} oct__resize_op;

/* y[b, c0 + c] = mean over (h, w) of x[b, c], for c in [0, C): x (N, C, H, W),
 * y a (N, Ctotal) buffer written at channel offset c0 (global average pool per band). */
typedef struct {
    oct__view x;
    const oct__buf *y;
    int ctotal, c0;
} oct__gap_op;

/* y = x W^T + b: x (N, In), weight (Out, In), bias (Out), y (N, Out). */
typedef struct {
    const oct__buf *x;
    const oct__buf *weight;
    const oct__buf *bias;
    const oct__buf *y;
    int n, in, out;
} oct__linear_op;

/* The table a backend fills in. Ops are queued in order; read waits for them. */
typedef struct oct__backend {
    const char *name;
    oct_status (*init)(oct_context *ctx);
    void (*release)(oct_context *ctx);
    oct_status (*alloc)(oct_context *ctx, oct__buf *b, size_t count);
    void (*free)(oct_context *ctx, oct__buf *b);
    oct_status (*write)(oct_context *ctx, oct__buf *b, const float *src);
    oct_status (*read)(oct_context *ctx, const oct__buf *b, float *dst);
    oct_status (*conv2d)(oct_context *ctx, const oct__conv_op *op);
    oct_status (*avgpool2)(oct_context *ctx, const oct__pool_op *op);
    oct_status (*resize)(oct_context *ctx, const oct__resize_op *op);
    oct_status (*gap)(oct_context *ctx, const oct__gap_op *op);
    oct_status (*linear)(oct_context *ctx, const oct__linear_op *op);
    oct_status (*finish)(oct_context *ctx);
    /* Benchmark support: start/stop summing device time, read the sum (waiting for
     * queued work), measure the FP32 peak (GFLOP/s). */
    oct_status (*profile)(oct_context *ctx, int enable);
    oct_status (*device_ms)(oct_context *ctx, double *ms);
    oct_status (*peak_gflops)(oct_context *ctx, double *gflops);
} oct__backend;

extern const oct__backend oct__backend_ref;
extern const oct__backend oct__backend_cpu;
extern const oct__backend oct__backend_cl;

/* ------------------------------------------------------------------------------------ */
/* Context and tensors                                                                     */

struct oct_context {
    oct_device_info info;
    const oct__backend *be;
    void *cl_platform;   /* cl_platform_id when OpenCL */
    void *cl_device;     /* cl_device_id when OpenCL */
    void *state;         /* the backend's own state */
    int prof_on;         /* profiling enabled (CPU paths: wall time since prof_start_ms) */
    double prof_start_ms;
    double peak_gflops;  /* measured once, 0 until then */
};

struct oct_tensor {
    oct_context *ctx;
    oct_shape shape;
    oct__buf high;  /* (n, c_h, h, w) */
    oct__buf low;   /* (n, c_l, hl, wl) */
};

/* Benchmark support of the CPU backends (cpu_probe.c). */
double oct__now_ms(void);
oct_status oct__cpu_peak_gflops(oct_context *ctx, double *gflops);
oct_status oct__cpu_profile(oct_context *ctx, int enable);
oct_status oct__cpu_device_ms(oct_context *ctx, double *ms);

/* Allocate / free a buffer through the context's backend; count 0 allocates nothing. */
oct_status oct__buf_alloc(oct_context *ctx, oct__buf *b, size_t count);
void oct__buf_free(oct_context *ctx, oct__buf *b);
/* Allocate a buffer and fill it from host memory. */
oct_status oct__buf_upload(oct_context *ctx, oct__buf *b, const float *src, size_t count);

/* Size of a convolution output along one axis, or a value <= 0 when the kernel does
 * not fit the padded input. */
int oct__conv_out(int in, int k, int stride, int pad);

/* Nearest source index of PyTorch's F.interpolate(mode='nearest', size=out). */
int oct__nearest_src(int dst, int in, int out);

/* Check a shape's fields: all sizes positive where a band has channels. */
oct_status oct__check_shape(const oct_shape *s, const char *what);
/* Same shape, field by field. */
int oct__shape_equal(const oct_shape *a, const oct_shape *b);
/* "(n, c, h, w)" into buf for messages. */
const char *oct__fmt4(char *buf, size_t len, int n, int c, int h, int w);

#endif /* OCT_INTERNAL_H */
