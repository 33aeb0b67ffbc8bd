/* backend_cpu.c — the native CPU backend: host memory, float32 ops. Convolution is
 * im2col + OpenBLAS sgemm with bias, accumulate and ReLU fused into one pass over the
 * output; pooling, resize and GAP are plain vectorisable loops over contiguous rows.
 * Checked op by op against the reference backend (backend_ref.c). */
#include "internal.h"

#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Buffers and scratch are aligned to a cache line (and any AVX-512 vector). */
#define OCT__CPU_ALIGN 64
/* Convolutions whose output plane has fewer pixels than this are grouped over the batch
 * so one GEMM sees at least this many columns (small planes make thin, slow GEMMs). */
#ifndef OCT__CPU_MIN_COLS
#define OCT__CPU_MIN_COLS 1024
#endif
/* Most floats the im2col scratch may hold before the output is done in row bands
 * (16 MiB: large enough for whole planes of the usual shapes, bounded for huge ones). */
#ifndef OCT__CPU_SCRATCH_FLOATS
#define OCT__CPU_SCRATCH_FLOATS ((size_t)4 << 20)
#endif

/* The backend's state, one per context (ctx->state). */
typedef struct {
    float *scratch;        /* im2col columns, and grouped GEMM output (floats) */
    size_t scratch_count;
    int *index;            /* resize source-index tables (ints) */
    size_t index_count;
} oct__cpu_state;

/* ------------------------------------------------------------------------------------ */
/* Memory                                                                                 */

/* 64-byte aligned storage for `count` floats, or NULL. */
static float *cpu__alloc_floats(size_t count)
{
    if (count == 0 || count > SIZE_MAX / sizeof(float)) return NULL;
    void *p = NULL;
    if (oct__fault_hit() || posix_memalign(&p, OCT__CPU_ALIGN, count * sizeof(float)) != 0) return NULL;
    return p;
}

/* Grow the float scratch to at least `count` floats (contents are not kept). */
static oct_status cpu__scratch(oct__cpu_state *st, size_t count, const char *what)
{
    if (st->scratch_count >= count) return OCT_OK;
    free(st->scratch);
    st->scratch_count = 0;
    st->scratch = cpu__alloc_floats(count);
    if (!st->scratch)
        return oct__fail(OCT_ERR_HOST_MEMORY, "cpu %s: out of host memory for %zu floats of scratch", what, count);
    st->scratch_count = count;
    return OCT_OK;
}

/* Grow the index scratch to at least `count` ints. */
static oct_status cpu__index(oct__cpu_state *st, size_t count)
{
    if (st->index_count >= count) return OCT_OK;
    free(st->index);
    st->index_count = 0;
    st->index = count <= SIZE_MAX / sizeof(int) ? oct__malloc(count * sizeof(int)) : NULL;
    if (!st->index)
        return oct__fail(OCT_ERR_HOST_MEMORY, "cpu resize: out of host memory for %zu index entries", count);
    st->index_count = count;
    return OCT_OK;
}

/* First float of image b of a view: a (c, h, w) block, contiguous. */
static float *cpu__image(const oct__view *v, int b)
{
    return v->buf->host + v->off + (size_t)b * v->nstride;
}

/* ------------------------------------------------------------------------------------ */
/* Context and buffers                                                                    */

static oct_status cpu_init(oct_context *ctx)
{
    /* OCTCL_THREADS caps OpenBLAS's threads (process-wide); unset or empty leaves
     * OpenBLAS's own choice (OPENBLAS_NUM_THREADS, else the core count). */
    const char *env = getenv("OCTCL_THREADS");
    if (env && *env) {
        char *end = NULL;
        errno = 0;
        long n = strtol(env, &end, 10);
        if (errno != 0 || *end != '\0' || n < 1 || n > 4096)
            return oct__fail(OCT_ERR_BAD_SIZE, "cpu: OCTCL_THREADS = '%s' (must be an integer 1..4096)", env);
        openblas_set_num_threads((int)n);
    }
    oct__cpu_state *st = oct__calloc(1, sizeof *st);
    if (!st) return oct__fail(OCT_ERR_HOST_MEMORY, "cpu: out of host memory for the backend state");
    ctx->state = st;
    return OCT_OK;
}

static void cpu_release(oct_context *ctx)
{
    oct__cpu_state *st = ctx->state;
    if (!st) return;
    free(st->index);
    free(st->scratch);
    free(st);
    ctx->state = NULL;
}

static oct_status cpu_alloc(oct_context *ctx, oct__buf *b, size_t count)
{
    (void)ctx;
    b->host = cpu__alloc_floats(count);
    if (!b->host) return oct__fail(OCT_ERR_HOST_MEMORY, "cpu: out of host memory allocating %zu floats", count);
    b->count = count;
    return OCT_OK;
}

static void cpu_free(oct_context *ctx, oct__buf *b)
{
    (void)ctx;
    free(b->host);
    b->host = NULL;
}

static oct_status cpu_write(oct_context *ctx, oct__buf *b, const float *src)
{
    (void)ctx;
    if (b->count) memcpy(b->host, src, b->count * sizeof(float));
    return OCT_OK;
}

static oct_status cpu_read(oct_context *ctx, const oct__buf *b, float *dst)
{
    (void)ctx;
    if (b->count) memcpy(dst, b->host, b->count * sizeof(float));
    return OCT_OK;
}

static oct_status cpu_finish(oct_context *ctx)
{
    (void)ctx;
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Convolution                                                                            */

/* Output columns ox in [*lo, *hi) whose input column ox * s - pad + kx lies in [0, w). */
static void cpu__valid_cols(int w, int wo, int kx, int s, int pad, int *lo, int *hi)
{
    int first = pad - kx;                  /* ox * s >= first */
    int l = first <= 0 ? 0 : (first + s - 1) / s;
    int last = w - 1 + pad - kx;           /* ox * s <= last */
    int h = last < 0 ? 0 : last / s + 1;
    if (l > wo) l = wo;
    if (h > wo) h = wo;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* im2col of output rows [oy0, oy1) of one image.
 *   x (ci, h, w) -> col (ci * k * k, ldc), row (c, ky, kx), column (oy - oy0) * wo + ox. */
static void cpu__im2col(const float *restrict x, int ci, int h, int w, int k, int s, int pad, int wo, int oy0,
                        int oy1, float *restrict col, size_t ldc)
{
    for (int c = 0; c < ci; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *restrict row = col + ((size_t)(c * k + ky) * k + kx) * ldc;
                int lo, hi;
                cpu__valid_cols(w, wo, kx, s, pad, &lo, &hi);
                for (int oy = oy0; oy < oy1; oy++) {
                    float *restrict dst = row + (size_t)(oy - oy0) * wo;
                    int iy = oy * s - pad + ky;
                    if (iy < 0 || iy >= h) {
                        memset(dst, 0, (size_t)wo * sizeof(float));
                        continue;
                    }
                    const float *restrict src = x + ((size_t)c * h + iy) * w + kx - pad;
                    if (lo > 0) memset(dst, 0, (size_t)lo * sizeof(float));
                    if (s == 1) {
                        if (hi > lo) memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
                    } else {
                        for (int ox = lo; ox < hi; ox++) dst[ox] = src[(size_t)ox * s];
                    }
                    if (hi < wo) memset(dst + hi, 0, (size_t)(wo - hi) * sizeof(float));
                }
            }
}

/* y (co, hw) = relu(y + bias), in place; either part may be off. */
static void cpu__bias_relu(float *restrict y, int co, size_t hw, const float *restrict bias, int relu)
{
    for (int c = 0; c < co; c++) {
        float *restrict row = y + (size_t)c * hw;
        float bv = bias ? bias[c] : 0.0f;
        if (relu)
            for (size_t i = 0; i < hw; i++) {
                float v = row[i] + bv;
                row[i] = v < 0.0f ? 0.0f : v;
            }
        else
            for (size_t i = 0; i < hw; i++) row[i] += bv;
    }
}

/* y (co, hw) (=|+=) src (co, ld) + bias, then ReLU: the epilogue of a grouped GEMM. */
static void cpu__store(float *restrict y, const float *restrict src, size_t ld, int co, size_t hw,
                       const float *restrict bias, int accumulate, int relu)
{
    for (int c = 0; c < co; c++) {
        float *restrict out = y + (size_t)c * hw;
        const float *restrict in = src + (size_t)c * ld;
        float bv = bias ? bias[c] : 0.0f;
        if (accumulate && relu)
            for (size_t i = 0; i < hw; i++) {
                float v = in[i] + bv + out[i];
                out[i] = v < 0.0f ? 0.0f : v;
            }
        else if (accumulate)
            for (size_t i = 0; i < hw; i++) out[i] += in[i] + bv;
        else if (relu)
            for (size_t i = 0; i < hw; i++) {
                float v = in[i] + bv;
                out[i] = v < 0.0f ? 0.0f : v;
            }
        else
            for (size_t i = 0; i < hw; i++) out[i] = in[i] + bv;
    }
}

/* Floats rounded up to a whole cache line, so a second scratch region stays aligned. */
static size_t cpu__round_line(size_t n)
{
    size_t q = OCT__CPU_ALIGN / sizeof(float);
    return (n + q - 1) / q * q;
}

static oct_status cpu_conv2d(oct_context *ctx, const oct__conv_op *op)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x, *y = &op->y;
    int k = op->k, s = op->stride, pad = op->pad;
    int n = y->n, ci = x->c, co = y->c, ho = y->h, wo = y->w;
    if (k < 1 || s < 1 || pad < 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu conv2d: kernel %d, stride %d, padding %d", k, s, pad);
    if (x->n != n || ho != oct__conv_out(x->h, k, s, pad) || wo != oct__conv_out(x->w, k, s, pad))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH,
                         "cpu conv2d: output (%d, %d, %d, %d) does not fit input (%d, %d, %d, %d), k %d s %d p %d",
                         n, co, ho, wo, x->n, ci, x->h, x->w, k, s, pad);
    size_t kdim = (size_t)ci * k * k; /* GEMM inner dimension */
    if (op->weight->count != (size_t)co * kdim)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "cpu conv2d: weight has %zu values, expected (%d, %d, %d, %d)",
                         op->weight->count, co, ci, k, k);
    if (op->bias && op->bias->count != (size_t)co)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "cpu conv2d: bias has %zu values, expected %d", op->bias->count, co);
    if (n <= 0 || co <= 0 || ho <= 0 || wo <= 0) return OCT_OK;
    size_t hw = (size_t)ho * wo;
    const float *bias = op->bias ? op->bias->host : NULL;
    if (ci <= 0) { /* an empty sum: y (=|+=) bias, then ReLU */
        for (int b = 0; b < n; b++) {
            float *yb = cpu__image(y, b);
            if (!op->accumulate) memset(yb, 0, (size_t)co * hw * sizeof(float));
            cpu__bias_relu(yb, co, hw, bias, op->relu);
        }
        return OCT_OK;
    }
    if (kdim > INT_MAX || hw > INT_MAX)
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu conv2d: GEMM of %zu x %zu exceeds the BLAS int range", kdim, hw);

    const float *wt = op->weight->host;            /* (co, kdim) */
    int direct = k == 1 && s == 1 && pad == 0;    /* x itself is the column matrix */
    oct_status status = OCT_OK;

    /* Images per GEMM: enough to reach OCT__CPU_MIN_COLS columns, within the scratch cap. */
    size_t group = 1;
    if (hw < OCT__CPU_MIN_COLS && n > 1) {
        group = (OCT__CPU_MIN_COLS + hw - 1) / hw;
        if (group > (size_t)n) group = (size_t)n;
        while (group > 1 && (kdim + co) * group * hw > OCT__CPU_SCRATCH_FLOATS) group--;
        if (group * hw > INT_MAX) group = 1;
    }

    if (group == 1) {
        /* One image at a time, GEMM straight into y; im2col in bands of output rows so
         * the scratch stays within OCT__CPU_SCRATCH_FLOATS (at least one row). */
        int rows = ho;
        if (!direct) {
            size_t per_row = kdim * (size_t)wo;
            size_t fit = OCT__CPU_SCRATCH_FLOATS / per_row;
            if (fit < (size_t)ho) rows = fit ? (int)fit : 1;
            status = cpu__scratch(st, per_row * (size_t)rows, "conv2d");
            if (status != OCT_OK) return status;
        }
        float beta = op->accumulate ? 1.0f : 0.0f;
        for (int b = 0; b < n; b++) {
            const float *xb = cpu__image(x, b);
            float *yb = cpu__image(y, b);
            if (direct) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, co, (int)hw, (int)kdim, 1.0f, wt,
                            (int)kdim, xb, (int)hw, beta, yb, (int)hw);
            } else {
                for (int oy0 = 0; oy0 < ho; oy0 += rows) {
                    int oy1 = oy0 + rows < ho ? oy0 + rows : ho;
                    size_t cols = (size_t)(oy1 - oy0) * wo;
                    cpu__im2col(xb, ci, x->h, x->w, k, s, pad, wo, oy0, oy1, st->scratch, cols);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, co, (int)cols, (int)kdim, 1.0f, wt,
                                (int)kdim, st->scratch, (int)cols, beta, yb + (size_t)oy0 * wo, (int)hw);
                }
            }
            if (bias || op->relu) cpu__bias_relu(yb, co, hw, bias, op->relu);
        }
        return OCT_OK;
    }

    /* Small planes: im2col `group` images side by side, one GEMM into scratch, then the
     * epilogue scatters each image's (co, hw) block into y with bias/accumulate/ReLU. */
    size_t ld = group * hw;
    size_t col_floats = cpu__round_line(kdim * ld);
    status = cpu__scratch(st, col_floats + (size_t)co * ld, "conv2d");
    if (status != OCT_OK) return status;
    float *col = st->scratch, *out = st->scratch + col_floats;
    for (int b0 = 0; b0 < n; b0 += (int)group) {
        int gn = n - b0 < (int)group ? n - b0 : (int)group;
        for (int j = 0; j < gn; j++)
            cpu__im2col(cpu__image(x, b0 + j), ci, x->h, x->w, k, s, pad, wo, 0, ho, col + (size_t)j * hw, ld);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, co, (int)((size_t)gn * hw), (int)kdim, 1.0f, wt,
                    (int)kdim, col, (int)ld, 0.0f, out, (int)ld);
        for (int j = 0; j < gn; j++)
            cpu__store(cpu__image(y, b0 + j), out + (size_t)j * hw, ld, co, hw, bias, op->accumulate, op->relu);
    }
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Pooling, resize, GAP, linear                                                           */

static oct_status cpu_avgpool2(oct_context *ctx, const oct__pool_op *op)
{
    (void)ctx;
    const oct__view *x = &op->x, *y = &op->y;
    if (x->n != y->n || x->c != y->c || y->h != x->h / 2 || y->w != x->w / 2)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH,
                         "cpu avgpool2: output (%d, %d, %d, %d) is not half of (%d, %d, %d, %d)", y->n, y->c, y->h,
                         y->w, x->n, x->c, x->h, x->w);
    size_t wi = (size_t)x->w, wo = (size_t)y->w;
    for (int b = 0; b < y->n; b++)
        for (int c = 0; c < y->c; c++) {
            const float *xp = cpu__image(x, b) + (size_t)c * x->h * wi;
            float *yp = cpu__image(y, b) + (size_t)c * y->h * wo;
            for (int oy = 0; oy < y->h; oy++) {
                const float *restrict r0 = xp + (size_t)(2 * oy) * wi;
                const float *restrict r1 = r0 + wi;
                float *restrict dst = yp + (size_t)oy * wo;
                for (size_t ox = 0; ox < wo; ox++)
                    dst[ox] = ((r0[2 * ox] + r0[2 * ox + 1]) + (r1[2 * ox] + r1[2 * ox + 1])) * 0.25f;
            }
        }
    return OCT_OK;
}

/* dst[i] (=|+=) src[sx[i]], then ReLU, for i < wo. */
static void cpu__resize_row(float *restrict dst, const float *restrict src, const int *restrict sx, size_t wo,
                            int accumulate, int relu)
{
    if (accumulate && relu)
        for (size_t i = 0; i < wo; i++) {
            float v = dst[i] + src[sx[i]];
            dst[i] = v < 0.0f ? 0.0f : v;
        }
    else if (accumulate)
        for (size_t i = 0; i < wo; i++) dst[i] += src[sx[i]];
    else if (relu)
        for (size_t i = 0; i < wo; i++) {
            float v = src[sx[i]];
            dst[i] = v < 0.0f ? 0.0f : v;
        }
    else
        for (size_t i = 0; i < wo; i++) dst[i] = src[sx[i]];
}

static oct_status cpu_resize(oct_context *ctx, const oct__resize_op *op)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x, *y = &op->y;
    if (x->n != y->n || x->c != y->c)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "cpu resize: input (%d, %d, ...) and output (%d, %d, ...) differ",
                         x->n, x->c, y->n, y->c);
    if (y->n <= 0 || y->c <= 0 || y->h <= 0 || y->w <= 0) return OCT_OK;
    if (x->h <= 0 || x->w <= 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu resize: empty input plane %dx%d", x->h, x->w);
    size_t plane = (size_t)y->c * y->h * y->w;

    /* Same size, plain copy: one memcpy per image. */
    if (x->h == y->h && x->w == y->w && !op->accumulate && !op->relu) {
        for (int b = 0; b < y->n; b++) memcpy(cpu__image(y, b), cpu__image(x, b), plane * sizeof(float));
        return OCT_OK;
    }

    /* Source row and column of each output row and column, once per op. */
    OCT__TRY(cpu__index(st, (size_t)y->h + y->w));
    int *sy = st->index, *sx = st->index + y->h;
    for (int i = 0; i < y->h; i++) sy[i] = oct__nearest_src(i, x->h, y->h);
    for (int i = 0; i < y->w; i++) sx[i] = oct__nearest_src(i, x->w, y->w);

    size_t wi = (size_t)x->w, wo = (size_t)y->w;
    for (int b = 0; b < y->n; b++)
        for (int c = 0; c < y->c; c++) {
            const float *xp = cpu__image(x, b) + (size_t)c * x->h * wi;
            float *yp = cpu__image(y, b) + (size_t)c * y->h * wo;
            for (int oy = 0; oy < y->h; oy++) {
                float *dst = yp + (size_t)oy * wo;
                /* Without accumulation a repeated source row repeats the row above. */
                if (!op->accumulate && oy > 0 && sy[oy] == sy[oy - 1])
                    memcpy(dst, dst - wo, wo * sizeof(float));
                else
                    cpu__resize_row(dst, xp + (size_t)sy[oy] * wi, sx, wo, op->accumulate, op->relu);
            }
        }
    return OCT_OK;
}

/* Sum of p[0..count) in eight float lanes (vectorisable), combined in double. */
static double cpu__sum(const float *restrict p, size_t count)
{
    float lane[8] = {0};
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        for (int j = 0; j < 8; j++) lane[j] += p[i + j];
    double s = 0.0;
    for (int j = 0; j < 8; j++) s += lane[j];
    for (; i < count; i++) s += p[i];
    return s;
}

static oct_status cpu_gap(oct_context *ctx, const oct__gap_op *op)
{
    (void)ctx;
    const oct__view *x = &op->x;
    if (op->c0 < 0 || op->c0 + x->c > op->ctotal || op->y->count < (size_t)x->n * op->ctotal)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "cpu gap: channels [%d, %d) do not fit %d (output holds %zu)",
                         op->c0, op->c0 + x->c, op->ctotal, op->y->count);
    size_t hw = (size_t)x->h * x->w;
    double inv = 1.0 / ((double)x->h * x->w);
    for (int b = 0; b < x->n; b++) {
        const float *xb = cpu__image(x, b);
        float *yb = op->y->host + (size_t)b * op->ctotal + op->c0;
        for (int c = 0; c < x->c; c++) yb[c] = (float)(cpu__sum(xb + (size_t)c * hw, hw) * inv);
    }
    return OCT_OK;
}

static oct_status cpu_linear(oct_context *ctx, const oct__linear_op *op)
{
    (void)ctx;
    int n = op->n, in = op->in, out = op->out;
    if (n < 0 || in < 0 || out < 0 || op->x->count < (size_t)n * in || op->weight->count < (size_t)out * in ||
        op->y->count < (size_t)n * out || (op->bias && op->bias->count < (size_t)out))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "cpu linear: buffers too small for n %d, in %d, out %d", n, in, out);
    if (n == 0 || out == 0) return OCT_OK;
    float *y = op->y->host; /* (n, out) */
    float beta = 0.0f;
    if (op->bias) {
        for (int b = 0; b < n; b++) memcpy(y + (size_t)b * out, op->bias->host, (size_t)out * sizeof(float));
        beta = 1.0f;
    }
    if (in == 0) {
        if (!op->bias) memset(y, 0, (size_t)n * out * sizeof(float));
        return OCT_OK;
    }
    /* y (n, out) = x (n, in) W^T, W (out, in) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, op->x->host, in, op->weight->host, in,
                beta, y, out);
    return OCT_OK;
}

const oct__backend oct__backend_cpu = {
    "cpu", cpu_init, cpu_release, cpu_alloc, cpu_free, cpu_write, cpu_read,
    cpu_conv2d, cpu_avgpool2, cpu_resize, cpu_gap, cpu_linear, cpu_finish,
    oct__cpu_profile, oct__cpu_device_ms, oct__cpu_peak_gflops,
};
