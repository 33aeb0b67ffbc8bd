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

/* The program cache's folder into dir (cache_dir.c); 0 when there is none, *why says
 * which rule decided (static text). */
int oct__cache_dir(char *dir, size_t len, const char **why);
/* Record the program cache's first refusal in this process for oct_cache_warning()
 * (cache_dir.c; fmt takes two strings). The library never prints it; the CLI does. */
void oct__cache_refuse(const char *fmt, const char *a, const char *b)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 0)))
#endif
    ;
/* Hand an event to the program's callback, if it set one (notify.c). */
void oct__event(const oct_event *e);

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


/* ------------------------------------------------------------------------------------ */
/* Graph ops: what any imported network (ONNX) needs beyond the OctConv plan               */

/* General 2-D convolution (ONNX Conv; PyTorch nn.Conv2d):
 *   y (=|+=) conv2d(x, weight, groups) + bias, then + res (when res.buf), then ReLU.
 *   x (N, Ci, H, W), weight (Co, Ci / groups, KH, KW), bias (Co) or NULL,
 *   res and y (N, Co, Ho, Wo), Ho = (H + pad_t + pad_b - dil_h * (KH - 1) - 1) / stride_h + 1
 *   (likewise Wo); cross-correlation, zero padding. groups divides Ci and Co
 *   (groups == Ci == Co is depthwise). Order of the epilogue: sum of products, + bias,
 *   + old y (accumulate), + res, then ReLU. */
typedef struct {
    oct__view x;
    oct__view y;
    oct__view res;              /* residual added before ReLU; res.buf NULL: none */
    const oct__buf *weight;
    const oct__buf *bias;
    int kh, kw;
    int stride_h, stride_w;
    int pad_t, pad_l, pad_b, pad_r;
    int dil_h, dil_w;
    int groups;
    int accumulate;
    int relu;
} oct__convg_op;

/* General 2-D pooling (ONNX MaxPool / AveragePool; nn.MaxPool2d / nn.AvgPool2d):
 *   x (N, C, H, W), y (N, C, Ho, Wo) with Ho, Wo chosen by the caller (floor or ceil
 *   mode). Window of output (oy, ox): rows oy * stride_h - pad_t + [0, kh), likewise
 *   columns. Max: the largest in-bounds element (padding is never a candidate).
 *   Average: the sum of in-bounds elements divided by
 *     count_include_pad ? (min(y0 + kh, H + pad_b) - y0) * (min(x0 + kw, W + pad_r) - x0)
 *                       : the number of in-bounds elements
 *   with y0 = oy * stride_h - pad_t (PyTorch's rule; in ceil mode a window may reach past
 *   H + pad_b). A window with no in-bounds element gives 0 (average) or -inf (max).
 *   Then ReLU if asked. */
typedef struct {
    oct__view x;
    oct__view y;
    int max;                    /* 1: max pool, 0: average pool */
    int kh, kw;
    int stride_h, stride_w;
    int pad_t, pad_l, pad_b, pad_r;
    int count_include_pad;
    int relu;
} oct__poolg_op;

/* y = a + b, then ReLU if asked: a, b, y (N, C, H, W) views of one shape. y may be the
 * same view as a or b (in place). */
typedef struct {
    oct__view a, b;
    oct__view y;
    int relu;
} oct__add_op;

/* y = x * scale[c] + shift[c], then ReLU if asked: x, y (N, C, H, W) views of one shape
 * (y may be x); scale, shift (C) or NULL for 1 and 0 (both NULL: a copy or a ReLU).
 * Runs a BatchNorm that follows no convolution, a standalone ReLU, and copies. */
typedef struct {
    oct__view x;
    oct__view y;
    const oct__buf *scale;
    const oct__buf *shift;
    int relu;
} oct__affine_op;

/* ------------------------------------------------------------------------------------ */
/* OpenCL backend extras (backend_cl.c, program_cache.c)                                  */

/* y (=|+=) conv2d(x1, weight1) + conv2d(x2, weight2) + bias1 + bias2, then ReLU if asked
 * (after the sum), as ONE implicit GEMM over the stacked input [x1; x2]:
 *   x1 (N, C1, H, W), x2 (N, C2, H, W), weight1 (Co, C1, K, K), weight2 (Co, C2, K, K),
 *   bias1, bias2 (Co) or NULL, y (N, Co, Ho, Wo); one kernel size, stride and padding.
 * The OctConv low band HL(Down(x_h)) + LL(x_l) is this op with x1 = Down(x_h). */
typedef struct {
    oct__view x1, x2;
    oct__view y;
    const oct__buf *weight1, *weight2;
    const oct__buf *bias1, *bias2;
    int k, stride, pad;
    int accumulate;
    int relu;
} oct__conv_pair_op;
/* The OpenCL implementation of that op (ctx must be an OpenCL context). */
oct_status oct__cl_conv2d_pair(oct_context *ctx, const oct__conv_pair_op *op);
/* 1 when an OpenCL context's program came from the on-disk binary cache, 0 when it was
 * compiled from source, -1 for a context of another backend. */
int oct__cl_cache_hit(const oct_context *ctx);

/* The on-disk program-binary cache. A key is the text of (sources, build options,
 * platform, device, device version, driver version); the file is named by its 64-bit
 * FNV-1a hash and holds the whole key, which is compared on load. The folder is
 * $OCTCL_CACHE_DIR ("off" disables the cache), else $XDG_CACHE_HOME/octcl, else
 * $HOME/.cache/octcl. Nothing here ever fails a build: every problem is a miss.
 * OpenCL handles are passed as void * (cl_device_id, cl_context, cl_program). */
typedef struct oct__pcache oct__pcache;
/* NULL when the cache is off or the key cannot be made. */
oct__pcache *oct__pcache_open(void *device, const char *const *src, int nsrc, const char *options);
/* A program built from the cached binary, or NULL (missing, truncated, corrupt, other
 * key, CL_INVALID_BINARY, build failure). */
void *oct__pcache_load(oct__pcache *c, void *context);
/* Store a program built from source: a temp file in the folder renamed into place. */
void oct__pcache_store(oct__pcache *c, void *program);
/* The cache file's path ("" when c is NULL). */
const char *oct__pcache_path(const oct__pcache *c);
void oct__pcache_close(oct__pcache *c);

/* ------------------------------------------------------------------------------------ */
/* The op table                                                                           */

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
    /* Optional (NULL: the plan queues two conv2d ops instead): the OctConv low band
     * HL(Down(x_h)) + LL(x_l) as one op over the stacked input. */
    oct_status (*conv2d_pair)(oct_context *ctx, const oct__conv_pair_op *op);
    /* The graph ops (see above); every backend has them. */
    oct_status (*convg)(oct_context *ctx, const oct__convg_op *op);
    oct_status (*poolg)(oct_context *ctx, const oct__poolg_op *op);
    oct_status (*add)(oct_context *ctx, const oct__add_op *op);
    oct_status (*affine)(oct_context *ctx, const oct__affine_op *op);
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
    size_t buf_bytes;    /* bytes held in buffers allocated through this context */
    /* Per-device tuning (tune.c): 1 tuned parameters run, 0 defaults, 2 the tuner's
     * variant; the text oct_context_tuning returns. */
    int tuned;
    char tuning[512];
};

struct oct_tensor {
    oct_context *ctx;
    oct_shape shape;
    oct__buf high;  /* (n, c_h, h, w) */
    oct__buf low;   /* (n, c_l, hl, wl) */
    int borrowed;   /* the bands are another owner's storage: freeing leaves them */
};

/* Benchmark support of the CPU backends (cpu_probe.c). */
double oct__now_ms(void);
oct_status oct__cpu_peak_gflops(oct_context *ctx, double *gflops);
oct_status oct__cpu_profile(oct_context *ctx, int enable);
oct_status oct__cpu_device_ms(oct_context *ctx, double *ms);

/* Allocate / free a buffer through the context's backend; count 0 allocates nothing.
 * ctx->buf_bytes follows what they hold. */
oct_status oct__buf_alloc(oct_context *ctx, oct__buf *b, size_t count);
void oct__buf_free(oct_context *ctx, oct__buf *b);
/* A tensor of `shape` whose bands are the first elements of `high` and `low`, storage
 * owned elsewhere and large enough (a model's ping-pong slots); oct_tensor_free frees
 * only the tensor. */
oct_status oct__tensor_borrow(oct_context *ctx, const oct_shape *shape, const oct__buf *high, const oct__buf *low,
                              oct_tensor **out);
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
