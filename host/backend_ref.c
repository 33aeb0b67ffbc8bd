/* backend_ref.c — the reference backend: the oracle every other backend is tested
 * against. Plain loops over host memory, double accumulation, written to be obviously
 * right before fast. Ops arrive checked by the dispatcher (dispatch.c). */
#include "backend_ref.h"
#include "backend_cpu.h" /* the host backends' benchmark support */

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Element (b, c, y, x) of a view. */
static float *oct__at(const oct__view *v, int b, int c, int y, int x)
{
    return v->buf->host + v->off + (size_t)b * v->nstride + ((size_t)c * v->h + y) * v->w + x;
}

static oct_status ref_init(oct_context *ctx)
{
    (void)ctx;
    return OCT_OK;
}

static void ref_release(oct_context *ctx) { (void)ctx; }

static oct_status ref_alloc(oct_context *ctx, oct__buf *b, size_t count)
{
    (void)ctx;
    b->host = oct__malloc(count * sizeof(float));
    if (!b->host) return oct__fail(OCT_ERR_DEVICE_MEMORY, "ref: out of memory allocating %zu floats", count);
    b->count = count;
    return OCT_OK;
}

static void ref_free(oct_context *ctx, oct__buf *b)
{
    (void)ctx;
    free(b->host);
    b->host = NULL;
}

static oct_status ref_write(oct_context *ctx, oct__buf *b, const float *src)
{
    (void)ctx;
    memcpy(b->host, src, b->count * sizeof(float));
    return OCT_OK;
}

static oct_status ref_read(oct_context *ctx, const oct__buf *b, float *dst)
{
    (void)ctx;
    memcpy(dst, b->host, b->count * sizeof(float));
    return OCT_OK;
}

static float oct__finish(double v, const float *old, int relu)
{
    if (old) v += *old;
    if (relu && v < 0) v = 0;
    return (float)v;
}

/* Outputs o in [*lo, *hi) (of n_out) whose input o * stride - pad + kk lies in [0, n_in). */
static void oct__valid_range(int n_out, int n_in, int stride, int pad, int kk, int *lo, int *hi)
{
    int first = pad - kk, end = n_in + pad - kk; /* need first <= o * stride < end */
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    *hi = end <= 0 ? 0 : (end + stride - 1) / stride;
    if (*hi > n_out) *hi = n_out;
}

/* Each output is bias + sum over (ci, ky, kx), in that order, of w * x in double, then
 * the old value when accumulating, then ReLU. The sums of one output plane are carried
 * together in a row of doubles, so the loops skip the zero padding instead of testing
 * every tap; the order of every single sum is unchanged. */
static oct_status ref_conv2d(oct_context *ctx, const oct__conv_op *op)
{
    (void)ctx;
    const oct__view *x = &op->x, *y = &op->y;
    const float *w = op->weight->host;
    int k = op->k, s = op->stride, pad = op->pad;
    size_t plane = (size_t)y->h * y->w;
    double *acc = oct__malloc(plane * sizeof *acc);
    if (!acc) return oct__fail(OCT_ERR_DEVICE_MEMORY, "ref: out of memory for a %dx%d conv plane", y->h, y->w);
    for (int b = 0; b < y->n; b++)
        for (int co = 0; co < y->c; co++) {
            double bias = op->bias ? op->bias->host[co] : 0.0;
            for (size_t i = 0; i < plane; i++) acc[i] = bias;
            for (int ci = 0; ci < x->c; ci++)
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        double wv = w[(((size_t)co * x->c + ci) * k + ky) * k + kx];
                        int oy0, oy1, ox0, ox1;
                        oct__valid_range(y->h, x->h, s, pad, ky, &oy0, &oy1);
                        oct__valid_range(y->w, x->w, s, pad, kx, &ox0, &ox1);
                        for (int oy = oy0; oy < oy1; oy++) {
                            const float *row = oct__at(x, b, ci, oy * s - pad + ky, 0);
                            double *a = acc + (size_t)oy * y->w;
                            for (int ox = ox0; ox < ox1; ox++) a[ox] += wv * row[ox * s - pad + kx];
                        }
                    }
            for (int oy = 0; oy < y->h; oy++)
                for (int ox = 0; ox < y->w; ox++) {
                    float *out = oct__at(y, b, co, oy, ox);
                    *out = oct__finish(acc[(size_t)oy * y->w + ox], op->accumulate ? out : NULL, op->relu);
                }
        }
    free(acc);
    return OCT_OK;
}

static oct_status ref_avgpool2(oct_context *ctx, const oct__pool_op *op)
{
    (void)ctx;
    const oct__view *x = &op->x, *y = &op->y;
    for (int b = 0; b < y->n; b++)
        for (int c = 0; c < y->c; c++)
            for (int oy = 0; oy < y->h; oy++)
                for (int ox = 0; ox < y->w; ox++) {
                    double s = 0;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++) s += *oct__at(x, b, c, 2 * oy + dy, 2 * ox + dx);
                    *oct__at(y, b, c, oy, ox) = (float)(s / 4.0);
                }
    return OCT_OK;
}

static oct_status ref_resize(oct_context *ctx, const oct__resize_op *op)
{
    (void)ctx;
    const oct__view *x = &op->x, *y = &op->y;
    for (int b = 0; b < y->n; b++)
        for (int c = 0; c < y->c; c++)
            for (int oy = 0; oy < y->h; oy++)
                for (int ox = 0; ox < y->w; ox++) {
                    int iy = oct__nearest_src(oy, x->h, y->h), ix = oct__nearest_src(ox, x->w, y->w);
                    float *out = oct__at(y, b, c, oy, ox);
                    *out = oct__finish(*oct__at(x, b, c, iy, ix), op->accumulate ? out : NULL, op->relu);
                }
    return OCT_OK;
}

static oct_status ref_gap(oct_context *ctx, const oct__gap_op *op)
{
    (void)ctx;
    const oct__view *x = &op->x;
    for (int b = 0; b < x->n; b++)
        for (int c = 0; c < x->c; c++) {
            double s = 0;
            for (int iy = 0; iy < x->h; iy++)
                for (int ix = 0; ix < x->w; ix++) s += *oct__at(x, b, c, iy, ix);
            op->y->host[op->yoff + (size_t)b * op->ctotal + op->c0 + c] = (float)(s / ((double)x->h * x->w));
        }
    return OCT_OK;
}

static oct_status ref_linear(oct_context *ctx, const oct__linear_op *op)
{
    (void)ctx;
    for (int b = 0; b < op->n; b++)
        for (int o = 0; o < op->out; o++) {
            double acc = op->bias ? op->bias->host[o] : 0.0;
            for (int i = 0; i < op->in; i++)
                acc += (double)op->weight->host[(size_t)o * op->in + i] * op->x->host[(size_t)b * op->in + i];
            op->y->host[(size_t)b * op->out + o] = (float)acc;
        }
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Graph ops                                                                              */

/* Outputs o in [*lo, *hi) (of n_out) whose input o * stride + off lies in [0, n_in). */
static void oct__valid_range_off(int n_out, int n_in, int stride, int off, int *lo, int *hi)
{
    int first = -off, end = n_in - off; /* need first <= o * stride < end */
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    *hi = end <= 0 ? 0 : (end + stride - 1) / stride;
    if (*hi > n_out) *hi = n_out;
    if (*lo > *hi) *lo = *hi;
}

/* Each output is bias + the sum over (ci of its group, ky, kx), in that order, of w * x
 * in double; then the old value when accumulating, then the residual, then ReLU. As in
 * ref_conv2d the sums of an output plane are carried together and the loops skip the
 * zero padding; the order of every single sum is the plain loop's. */
/* Same (n, c, h, w). */
static oct_status ref_convg(oct_context *ctx, const oct__convg_op *op)
{
    (void)ctx;
    const oct__view *x = &op->x, *y = &op->y, *res = &op->res;
    int kh = op->kh, kw = op->kw, g = op->groups;
    if (y->n <= 0 || y->c <= 0 || y->h <= 0 || y->w <= 0) return OCT_OK;
    const float *w = op->weight->host;
    int cig = x->c / g, cog = y->c / g; /* channels per group */
    size_t plane = (size_t)y->h * y->w;
    double *acc = oct__malloc(plane * sizeof *acc);
    if (!acc) return oct__fail(OCT_ERR_DEVICE_MEMORY, "ref: out of memory for a %dx%d conv plane", y->h, y->w);
    for (int b = 0; b < y->n; b++)
        for (int co = 0; co < y->c; co++) {
            int c0 = (co / cog) * cig; /* first input channel of co's group */
            double bias = op->bias ? op->bias->host[co] : 0.0;
            for (size_t i = 0; i < plane; i++) acc[i] = bias;
            for (int ci = 0; ci < cig; ci++)
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++) {
                        double wv = w[(((size_t)co * cig + ci) * kh + ky) * kw + kx];
                        int offy = ky * op->dil_h - op->pad_t, offx = kx * op->dil_w - op->pad_l;
                        int oy0, oy1, ox0, ox1;
                        oct__valid_range_off(y->h, x->h, op->stride_h, offy, &oy0, &oy1);
                        oct__valid_range_off(y->w, x->w, op->stride_w, offx, &ox0, &ox1);
                        for (int oy = oy0; oy < oy1; oy++) {
                            const float *row = oct__at(x, b, c0 + ci, oy * op->stride_h + offy, 0);
                            double *a = acc + (size_t)oy * y->w;
                            for (int ox = ox0; ox < ox1; ox++) a[ox] += wv * row[ox * op->stride_w + offx];
                        }
                    }
            for (int oy = 0; oy < y->h; oy++)
                for (int ox = 0; ox < y->w; ox++) {
                    float *out = oct__at(y, b, co, oy, ox);
                    double v = acc[(size_t)oy * y->w + ox];
                    if (op->accumulate) v += *out;
                    if (res->buf) v += *oct__at(res, b, co, oy, ox);
                    if (op->relu && v < 0) v = 0;
                    *out = (float)v;
                }
        }
    free(acc);
    return OCT_OK;
}

/* Straight from the definition in internal.h, one output at a time. */
static oct_status ref_poolg(oct_context *ctx, const oct__poolg_op *op)
{
    (void)ctx;
    const oct__view *x = &op->x, *y = &op->y;
    for (int b = 0; b < y->n; b++)
        for (int c = 0; c < y->c; c++)
            for (int oy = 0; oy < y->h; oy++)
                for (int ox = 0; ox < y->w; ox++) {
                    int y0 = oy * op->stride_h - op->pad_t, x0 = ox * op->stride_w - op->pad_l;
                    double sum = 0, best = -INFINITY;
                    long inb = 0;
                    for (int iy = y0; iy < y0 + op->kh; iy++)
                        for (int ix = x0; ix < x0 + op->kw; ix++) {
                            if (iy < 0 || iy >= x->h || ix < 0 || ix >= x->w) continue;
                            double v = *oct__at(x, b, c, iy, ix);
                            sum += v;
                            if (v > best || (isnan(v) && !isnan(best))) best = v; /* NaN wins, like PyTorch */
                            inb++;
                        }
                    double v;
                    if (op->max)
                        v = best;
                    else if (inb == 0)
                        v = 0;
                    else {
                        int ye = y0 + op->kh < x->h + op->pad_b ? y0 + op->kh : x->h + op->pad_b;
                        int xe = x0 + op->kw < x->w + op->pad_r ? x0 + op->kw : x->w + op->pad_r;
                        double div = op->count_include_pad ? (double)(ye - y0) * (xe - x0) : (double)inb;
                        v = sum / div;
                    }
                    if (op->relu && v < 0) v = 0;
                    *oct__at(y, b, c, oy, ox) = (float)v;
                }
    return OCT_OK;
}

static oct_status ref_add(oct_context *ctx, const oct__add_op *op)
{
    (void)ctx;
    const oct__view *y = &op->y;
    for (int b = 0; b < y->n; b++)
        for (int c = 0; c < y->c; c++)
            for (int iy = 0; iy < y->h; iy++)
                for (int ix = 0; ix < y->w; ix++) {
                    double v = (double)*oct__at(&op->a, b, c, iy, ix) + *oct__at(&op->b, b, c, iy, ix);
                    if (op->relu && v < 0) v = 0;
                    *oct__at(y, b, c, iy, ix) = (float)v;
                }
    return OCT_OK;
}

static oct_status ref_affine(oct_context *ctx, const oct__affine_op *op)
{
    (void)ctx;
    const oct__view *y = &op->y;
    for (int b = 0; b < y->n; b++)
        for (int c = 0; c < y->c; c++) {
            double sc = op->scale ? op->scale->host[c] : 1.0, sh = op->shift ? op->shift->host[c] : 0.0;
            for (int iy = 0; iy < y->h; iy++)
                for (int ix = 0; ix < y->w; ix++) {
                    double v = *oct__at(&op->x, b, c, iy, ix) * sc + sh;
                    if (op->relu && v < 0) v = 0;
                    *oct__at(y, b, c, iy, ix) = (float)v;
                }
        }
    return OCT_OK;
}

static oct_status ref_finish(oct_context *ctx)
{
    (void)ctx;
    return OCT_OK;
}

const oct__backend oct__backend_ref = {
    .name = "ref",
    .init = ref_init,
    .release = ref_release,
    .alloc = ref_alloc,
    .free = ref_free,
    .write = ref_write,
    .read = ref_read,
    .conv2d = ref_conv2d,
    .avgpool2 = ref_avgpool2,
    .resize = ref_resize,
    .gap = ref_gap,
    .linear = ref_linear,
    .finish = ref_finish,
    .profile = oct__cpu_profile,
    .device_ms = oct__cpu_device_ms,
    .peak_gflops = oct__cpu_peak_gflops,
    .conv2d_pair = NULL, /* the oracle runs the two convolutions as separate ops */
    .convg = ref_convg,
    .poolg = ref_poolg,
    .add = ref_add,
    .affine = ref_affine,
};
