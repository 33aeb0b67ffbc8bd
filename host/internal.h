/* internal.h — what the host files share and users never see: the context, buffers,
 * tensor views, the backend contract (the op structs, the op table every backend fills
 * in, the dispatcher that checks every op, the backend registry) and the error helpers.
 * Nothing here is one backend's: those live in backend_X.h (docs/BACKENDS.md).
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
 * goes through oct__malloc / oct__calloc / oct__realloc, and every device call that can
 * fail (backend_cl.c: every OpenCL call) asks oct__fault_hit first. */
int oct__fault_hit(void);
void *oct__malloc(size_t n);
void *oct__calloc(size_t n, size_t size);
void *oct__realloc(void *p, size_t n);

/* ------------------------------------------------------------------------------------ */
/* Buffers and views                                                                      */

/* Storage of `count` floats: host memory for the CPU backends, a cl_mem for OpenCL. */
typedef struct {
    float *host;   /* CPU backends */
    void *mem;     /* a device backend's handle (OpenCL: cl_mem) */
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

/* y[yoff + b * Ctotal + c0 + c] = mean over (h, w) of x[b, c], for c in [0, C): x (N, C,
 * H, W), y an (N, Ctotal) tensor yoff floats into its buffer, written at channel offset
 * c0 (global average pool per band; yoff: the graph's depth-first groups, from an image
 * on). */
typedef struct {
    oct__view x;
    const oct__buf *y;
    int ctotal, c0;
    size_t yoff;
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
/* The OctConv low band as one op                                                         */

/* y (=|+=) conv2d(x1, weight1) + conv2d(x2, weight2) + bias1 + bias2 (+ res), then ReLU
 * if asked (after the sum), as ONE pass over the stacked input [x1; x2] where the backend
 * has it:
 *   x1 (N, C1, H, W), x2 (N, C2, H, W), weight1 (Co, C1, K, K), weight2 (Co, C2, K, K),
 *   bias1, bias2 (Co) or NULL, y and res (N, Co, Ho, Wo); one kernel size, stride and
 *   padding. res.buf NULL: no residual (a bottleneck's last layer has one); res must
 *   not overlap y (oct__pair_split writes y before it reads res).
 * The OctConv low band HL(Down(x_h)) + LL(x_l) is this op with x1 = Down(x_h). */
typedef struct {
    oct__view x1, x2;
    oct__view y;
    const oct__buf *weight1, *weight2;
    const oct__buf *bias1, *bias2;
    int k, stride, pad;
    int accumulate;
    int relu;
    oct__view res;
    /* Optional (NULL: none): a second output over one of the two inputs, side->x the
     * same view as x1 (side_x 1) or x2 (side_x 2), one kernel, stride and padding with
     * the pair, no accumulate, its own bias and ReLU; side->y must not overlap the pair's
     * views. The OctConv L->H path conv_lh(x_l) beside the low band, so a backend can
     * transform x_l once for both (its 3x3 Winograd on the CPU). The dispatcher hands
     * it on only to a backend whose pair_side says it takes it, else runs it as conv2d
     * after the pair. */
    const oct__conv_op *side;
    int side_x;
} oct__conv_pair_op;

/* A backend's budgets for the graph's depth-first groups: `group`, the bytes of a node's
 * inputs and outputs a group may hold (0: no groups); `batch`, the bytes beyond which a
 * whole batch's go out to memory; `images`, the most images a group takes. */
typedef struct {
    size_t group, batch;
    int images;
} oct__depth_budget;

/* ------------------------------------------------------------------------------------ */
/* The op table                                                                           */

/* The table a backend fills in, by label. Ops are queued in order; read waits for them.
 *
 * The contract:
 * - Nothing calls an op slot directly: every caller goes through the dispatcher below
 *   (dispatch.c), which checks the op once (views inside their buffers, every index an
 *   int, sizes positive, shapes consistent with the op's definition, weight and bias
 *   counts exact) and never hands a backend an op whose output is empty. Backends trust
 *   it and check only what is theirs (e.g. a BLAS int range of one of their paths).
 * - Out of memory: an allocation of the backend's own storage (alloc, scratch, packed
 *   weights, device buffers, a launch that runs out of resources) is
 *   OCT_ERR_DEVICE_MEMORY on every backend, the CPU ones included (their "device
 *   memory" is host memory): it is what a forward pass retries in halves.
 *   OCT_ERR_HOST_MEMORY is the library's own bookkeeping, never retried.
 * - What a backend cannot do is OCT_ERR_UNSUPPORTED (a missing optional slot, a probe
 *   this machine lacks); OCT_ERR_NOT_READY only means an object used before complete.
 * - Slots marked optional may be NULL; the rest are required. */
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
    /* Optional benchmark support (NULL: OCT_ERR_UNSUPPORTED): start/stop summing device
     * time, read the sum (waiting for queued work), measure the FP32 peak (GFLOP/s). */
    oct_status (*profile)(oct_context *ctx, int enable);
    oct_status (*device_ms)(oct_context *ctx, double *ms);
    oct_status (*peak_gflops)(oct_context *ctx, double *gflops);
    /* Optional (NULL: the dispatcher runs two conv2d ops instead): the OctConv low band
     * HL(Down(x_h)) + LL(x_l) as one op over the stacked input. */
    oct_status (*conv2d_pair)(oct_context *ctx, const oct__conv_pair_op *op);
    /* Optional (NULL: no): whether this context's conv2d_pair takes a side output (see
     * oct__conv_pair_op). The graph runs L->H as one only where it says so. */
    int (*pair_side)(oct_context *ctx);
    /* Optional (NULL: the dispatcher runs the convolution without its ReLU, then a
     * resize of `up` onto y with accumulate and the ReLU): a conv2d (convg NULL) or a
     * convg (conv NULL) whose output takes the nearest resize of `up` to y's size added
     * after the convolution's own epilogue and before its ReLU -- the OctConv high band
     * HH(x_h) + Up(LH(x_l)) -- with the same float operations in the same order, so a
     * backend can add it in its output stores instead of a second pass over y. */
    oct_status (*conv_up)(oct_context *ctx, const oct__conv_op *conv, const oct__convg_op *convg,
                          const oct__view *up);
    /* Optional (NULL: the graph runs the two nodes apart): conv2d into conv->y, then the
     * pooling `pool` of that output (pool->x is conv->y) into pool->y, as one op, with the
     * same float operations as conv2d then poolg, so that a backend can pool each part of
     * the convolution's output while it is still in its caches (ResNet's stem and its
     * 3x3 stride-2 max pool). */
    oct_status (*conv2d_pool)(oct_context *ctx, const oct__conv_op *conv, const oct__poolg_op *pool);
    /* Optional (NULL: never): the budgets of the graph's depth-first groups (see
     * oct__depth_budget): where a pass's leading nodes need more than `batch` bytes for
     * the whole batch and their weights are small, the graph runs them in groups of
     * images, each group through all of them before the next (graph.c, depth_plan). */
    void (*depth)(oct_context *ctx, oct__depth_budget *budget);
    /* Optional (NULL: the calling thread alone, untimed): the host threads the ops run on
     * (the calling one counted), and their times for profiles (oct_model_profile_threads):
     * timing(ctx, 1) zeroes the sums and starts them, timing(ctx, 0) stops them; times()
     * gives each thread's seconds inside its shares of the ops, run[t] for t in [0, n),
     * and *wait the calling thread's seconds spent waiting at the end of an op for the
     * others (threadpool.h). */
    int (*threads)(const oct_context *ctx);
    void (*timing)(oct_context *ctx, int on);
    void (*times)(const oct_context *ctx, double *run, int n, double *wait);
    /* The graph ops (see above); required. */
    oct_status (*convg)(oct_context *ctx, const oct__convg_op *op);
    oct_status (*poolg)(oct_context *ctx, const oct__poolg_op *op);
    oct_status (*add)(oct_context *ctx, const oct__add_op *op);
    oct_status (*affine)(oct_context *ctx, const oct__affine_op *op);
} oct__backend;

/* ------------------------------------------------------------------------------------ */
/* The dispatcher (dispatch.c): the one validation layer                                   */

/* Check the op (messages name the op and the value at fault; OCT_ERR_BAD_SIZE for a
 * size out of range or a view past its buffer, OCT_ERR_SHAPE_MISMATCH for shapes that
 * disagree, OCT_ERR_NULL_ARG for a missing buffer), return OCT_OK at once when its output
 * is empty, else run it on ctx's backend. */
oct_status oct__op_conv2d(oct_context *ctx, const oct__conv_op *op);
/* Runs the backend's conv2d_pair, or oct__pair_split where the backend has none. */
oct_status oct__op_conv2d_pair(oct_context *ctx, const oct__conv_pair_op *op);
/* A checked conv2d_pair as two of the backend's ops: conv2d over x1 (bias1, the op's
 * accumulate, no ReLU), then conv2d over x2 onto it (bias2, the ReLU), or convg when
 * there is a residual (added before the ReLU). For a backend's cases without one pass. */
oct_status oct__pair_split(oct_context *ctx, const oct__conv_pair_op *op);
oct_status oct__op_avgpool2(oct_context *ctx, const oct__pool_op *op);
oct_status oct__op_resize(oct_context *ctx, const oct__resize_op *op);
oct_status oct__op_gap(oct_context *ctx, const oct__gap_op *op);
oct_status oct__op_linear(oct_context *ctx, const oct__linear_op *op);
oct_status oct__op_convg(oct_context *ctx, const oct__convg_op *op);
/* conv (or convg, the other NULL), then y += nearest resize of up to y's size, then the
 * op's ReLU: the backend's conv_up, or the two ops. */
oct_status oct__op_conv_up(oct_context *ctx, const oct__conv_op *conv, const oct__convg_op *convg,
                           const oct__view *up);
oct_status oct__op_poolg(oct_context *ctx, const oct__poolg_op *op);
/* conv, then pool over conv->y (pool->x must be that view; pool->y apart from both of
 * conv's views): the backend's conv2d_pool, or the two ops. */
oct_status oct__op_conv2d_pool(oct_context *ctx, const oct__conv_op *conv, const oct__poolg_op *pool);
oct_status oct__op_add(oct_context *ctx, const oct__add_op *op);
oct_status oct__op_affine(oct_context *ctx, const oct__affine_op *op);

/* ------------------------------------------------------------------------------------ */
/* The backend registry (registry.c)                                                      */

/* The device a backend's choose / auto_pick found: what oct_context_info reports, and
 * the device as the backend knows it (OpenCL: cl_platform_id, cl_device_id), which its
 * init reads from ctx->device. */
typedef struct {
    oct_device_info info;
    void *device[2];
} oct__choice;

/* One line per backend. Adding a backend is its files, one line in registry.c and a
 * value of the public oct_backend enum. */
typedef struct {
    const char *name;          /* the device spec's word: "ref", "cpu", "opencl" */
    oct_backend id;            /* its public enum value */
    const oct__backend *ops;   /* the op table */
    const char *forms;         /* the specs it takes, for messages: "opencl, opencl:P:D" */
    /* OCT_OK when the spec (`name` or `name:...`) is well formed, else
     * OCT_ERR_BAD_DEVICE_SPEC with a message; opens no device. */
    oct_status (*parse)(const char *spec);
    /* The device for a spec parse accepted; fails with OCT_ERR_NO_DEVICE,
     * OCT_ERR_NO_OPENCL ... */
    oct_status (*choose)(const char *spec, oct__choice *out);
    /* "auto": 1 and the device this backend offers (the entries are asked in table
     * order; out->info.reason gets a phrase that follows "auto: "), or 0 with the
     * reason in why. NULL: never picked by auto. */
    int (*auto_pick)(oct__choice *out, char *why, size_t why_len);
    /* oct_list_devices: devices written (at most max) and found, or -1 with why. NULL:
     * this backend lists none. */
    int (*list)(oct_device_info *out, int max, char *why, size_t why_len);
} oct__backend_entry;

/* The entries, in "auto" preference order, and their count. */
extern const oct__backend_entry oct__backends[];
extern const int oct__backend_count;
/* The entry whose name is spec or spec's word before ':', or NULL. */
const oct__backend_entry *oct__backend_find(const char *spec);
/* The entry of a public enum value, or NULL. */
const oct__backend_entry *oct__backend_of(oct_backend id);
/* The device a spec names, found without starting its backend (nothing is built):
 * *known = 1 and *info filled; "auto" is known only once started (*known = 0). A bad or
 * absent device fails as oct_context_create would. */
oct_status oct__device_identify(const char *spec, oct_device_info *info, int *known);

/* ------------------------------------------------------------------------------------ */
/* Context and tensors                                                                     */

struct oct_context {
    oct_device_info info;
    const oct__backend *be;
    void *device[2];     /* the chosen device as its backend knows it (oct__choice) */
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

/* A monotonic clock in milliseconds (cpu_probe.c). */
double oct__now_ms(void);

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
