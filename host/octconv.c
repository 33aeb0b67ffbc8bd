/* octconv.c — the OctConv layer plan (channel split, output shapes, the four paths and
 * their fusions) and split / merge between one tensor and two bands. Backends only run
 * the ops this file queues. */
#include "octconv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OCT__MAX_CHANNELS (1 << 20)
#define OCT__MAX_KERNEL 63
#define OCT__MAX_STRIDE 64
#define OCT__MAX_PAD 1024

static const char *const oct__path_names[OCT_PATH_COUNT] = {"hh", "hl", "ll", "lh"};

int oct_low_channels(int c, double alpha)
{
    if (c < 0 || !(alpha >= 0.0 && alpha <= 1.0)) return -1;
    /* Python's round(): nearest, halves to even — rint in the default rounding mode. */
    return (int)rint((double)c * alpha);
}

static oct_status oct__check_alpha(const char *what, const char *name, double alpha)
{
    if (!(alpha >= 0.0 && alpha <= 1.0))
        return oct__fail(OCT_ERR_BAD_ALPHA, "%s: %s = %g is outside [0, 1]", what, name, alpha);
    return OCT_OK;
}

const char *oct__path_name(oct_path p) { return (unsigned)p < OCT_PATH_COUNT ? oct__path_names[p] : "?"; }

/* ------------------------------------------------------------------------------------ */
/* Layer                                                                                  */

oct_octconv_params oct_octconv_defaults(int cin, int cout)
{
    oct_octconv_params p = {cin, cout, 3, 1, 1, 0.5, 0.5, 0};
    return p;
}

static oct_status oct__check_params(const oct_octconv_params *p)
{
    const char *what = "oct_octconv_create";
    if (p->cin < 1 || p->cin > OCT__MAX_CHANNELS)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: cin = %d (must be 1..%d)", what, p->cin, OCT__MAX_CHANNELS);
    if (p->cout < 1 || p->cout > OCT__MAX_CHANNELS)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: cout = %d (must be 1..%d)", what, p->cout, OCT__MAX_CHANNELS);
    if (p->kernel_size < 1 || p->kernel_size > OCT__MAX_KERNEL)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: kernel_size = %d (must be 1..%d)", what, p->kernel_size,
                         OCT__MAX_KERNEL);
    if (p->stride < 1 || p->stride > OCT__MAX_STRIDE)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: stride = %d (must be 1..%d)", what, p->stride, OCT__MAX_STRIDE);
    if (p->padding < 0 || p->padding > OCT__MAX_PAD)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: padding = %d (must be 0..%d)", what, p->padding, OCT__MAX_PAD);
    OCT__TRY(oct__check_alpha(what, "alpha_in", p->alpha_in));
    OCT__TRY(oct__check_alpha(what, "alpha_out", p->alpha_out));
    return OCT_OK;
}

oct_status oct_octconv_create(oct_context *ctx, const oct_octconv_params *p, oct_octconv **out)
{
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "oct_octconv_create: out is NULL");
    *out = NULL;
    if (!ctx || !p)
        return oct__fail(OCT_ERR_NULL_ARG, "oct_octconv_create: %s is NULL", !ctx ? "context" : "params");
    OCT__TRY(oct__check_params(p));

    oct_octconv *l = oct__calloc(1, sizeof *l);
    if (!l) return oct__fail(OCT_ERR_HOST_MEMORY, "oct_octconv_create: out of host memory");
    l->ctx = ctx;
    l->p = *p;
    l->cin_l = oct_low_channels(p->cin, p->alpha_in);
    l->cin_h = p->cin - l->cin_l;
    l->cout_l = oct_low_channels(p->cout, p->alpha_out);
    l->cout_h = p->cout - l->cout_l;
    *out = l;
    return OCT_OK;
}

void oct_octconv_free(oct_octconv *l)
{
    if (!l) return;
    for (int i = 0; i < OCT_PATH_COUNT; i++) {
        oct__buf_free(l->ctx, &l->bias[i]);
        oct__buf_free(l->ctx, &l->weight[i]);
    }
    oct__buf_free(l->ctx, &l->tmp);
    oct__buf_free(l->ctx, &l->down);
    free(l);
}

oct_status oct_octconv_channels(const oct_octconv *l, int *cin_h, int *cin_l, int *cout_h, int *cout_l)
{
    if (!l) return oct__fail(OCT_ERR_NULL_ARG, "oct_octconv_channels: layer is NULL");
    if (cin_h) *cin_h = l->cin_h;
    if (cin_l) *cin_l = l->cin_l;
    if (cout_h) *cout_h = l->cout_h;
    if (cout_l) *cout_l = l->cout_l;
    return OCT_OK;
}

/* Input and output channels of a path. */
static void oct__path_channels(const oct_octconv *l, oct_path p, int *ci, int *co)
{
    *ci = (p == OCT_PATH_HH || p == OCT_PATH_HL) ? l->cin_h : l->cin_l;
    *co = (p == OCT_PATH_HH || p == OCT_PATH_LH) ? l->cout_h : l->cout_l;
}

int oct_octconv_has_path(const oct_octconv *l, oct_path p)
{
    if (!l || (unsigned)p >= OCT_PATH_COUNT) return 0;
    int ci, co;
    oct__path_channels(l, p, &ci, &co);
    return ci > 0 && co > 0;
}

oct_status oct_octconv_set_path(oct_octconv *l, oct_path p, const float *weight, size_t weight_count,
                                const float *bias, size_t bias_count)
{
    const char *what = "oct_octconv_set_path";
    if (!l || !weight)
        return oct__fail(OCT_ERR_NULL_ARG, "%s: %s is NULL", what, !l ? "layer" : "weight");
    if ((unsigned)p >= OCT_PATH_COUNT)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: path %d is not one of hh, hl, ll, lh", what, (int)p);
    if (!oct_octconv_has_path(l, p))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: path %s does not exist (cin_h=%d cin_l=%d cout_h=%d cout_l=%d)",
                         what, oct__path_name(p), l->cin_h, l->cin_l, l->cout_h, l->cout_l);
    int ci, co, k = l->p.kernel_size;
    oct__path_channels(l, p, &ci, &co);
    size_t want = (size_t)co * ci * k * k;
    if (weight_count != want)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: %s weight has %zu values, expected %zu = (%d, %d, %d, %d)",
                         what, oct__path_name(p), weight_count, want, co, ci, k, k);
    if (l->p.bias && !bias)
        return oct__fail(OCT_ERR_NULL_ARG, "%s: %s bias is NULL but the layer has bias", what, oct__path_name(p));
    if (!l->p.bias && bias)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: %s bias given but the layer has no bias", what,
                         oct__path_name(p));
    if (bias && bias_count != (size_t)co)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: %s bias has %zu values, expected %d", what,
                         oct__path_name(p), bias_count, co);

    oct__buf w, b = {0};
    OCT__TRY(oct__buf_upload(l->ctx, &w, weight, want));
    if (bias) {
        oct_status s = oct__buf_upload(l->ctx, &b, bias, (size_t)co);
        if (s != OCT_OK) {
            oct__buf_free(l->ctx, &w);
            return s;
        }
    }
    oct__buf_free(l->ctx, &l->weight[p]);
    oct__buf_free(l->ctx, &l->bias[p]);
    l->weight[p] = w;
    l->bias[p] = b;
    l->ready[p] = 1;
    return OCT_OK;
}

/* Replace a path's bias with `bias` (co values) even on a layer created without bias:
 * how the model attaches folded BatchNorm. */
oct_status oct__octconv_set_bias(oct_octconv *l, oct_path p, const float *bias)
{
    int ci, co;
    oct__path_channels(l, p, &ci, &co);
    oct__buf b;
    OCT__TRY(oct__buf_upload(l->ctx, &b, bias, (size_t)co));
    oct__buf_free(l->ctx, &l->bias[p]);
    l->bias[p] = b;
    return OCT_OK;
}

oct_status oct_octconv_output_shape(const oct_octconv *l, const oct_shape *in, oct_shape *out)
{
    const char *what = "oct_octconv_output_shape";
    if (!l || !in || !out)
        return oct__fail(OCT_ERR_NULL_ARG, "%s: %s is NULL", what, !l ? "layer" : !in ? "input shape" : "out");
    OCT__TRY(oct__check_shape(in, "OctConv input"));
    if (in->c_h != l->cin_h || in->c_l != l->cin_l)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH,
                         "OctConv input has %d high + %d low channels, the layer expects %d + %d (cin=%d, alpha_in=%g)",
                         in->c_h, in->c_l, l->cin_h, l->cin_l, l->p.cin, l->p.alpha_in);
    if (in->c_l > 0 && (in->hl != in->h / 2 || in->wl != in->w / 2))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH,
                         "OctConv input low band is %dx%d, expected %dx%d (half of the high band %dx%d, rounded down)",
                         in->hl, in->wl, in->h / 2, in->w / 2, in->h, in->w);
    int k = l->p.kernel_size, s = l->p.stride, pad = l->p.padding;
    int ho = oct__conv_out(in->h, k, s, pad), wo = oct__conv_out(in->w, k, s, pad);
    if (ho <= 0 || wo <= 0)
        return oct__fail(OCT_ERR_KERNEL_TOO_LARGE, "OctConv: kernel %d does not fit the high band %dx%d padded by %d",
                         k, in->h, in->w, pad);
    int need_low = l->cout_l > 0 || (l->cin_l > 0 && l->cout_h > 0);
    int hl = in->h / 2, wl = in->w / 2, hlo = 0, wlo = 0;
    if (need_low) {
        if (hl < 1 || wl < 1)
            return oct__fail(OCT_ERR_BAD_SIZE, "OctConv: high band %dx%d is too small for a low band (needs 2x2)",
                             in->h, in->w);
        hlo = oct__conv_out(hl, k, s, pad);
        wlo = oct__conv_out(wl, k, s, pad);
        if (hlo <= 0 || wlo <= 0)
            return oct__fail(OCT_ERR_KERNEL_TOO_LARGE, "OctConv: kernel %d does not fit the low band %dx%d padded by %d",
                             k, hl, wl, pad);
    }
    oct_shape o = {in->n, l->cout_h, ho, wo, l->cout_l, hlo, wlo};
    if (l->cout_l == 0) {
        o.hl = ho / 2;
        o.wl = wo / 2;
    }
    *out = o;
    return OCT_OK;
}

/* Grow a scratch buffer to at least `count` floats. */
static oct_status oct__scratch(oct_context *ctx, oct__buf *b, size_t count)
{
    if (b->count >= count) return OCT_OK;
    oct__buf_free(ctx, b);
    return oct__buf_alloc(ctx, b, count);
}

void oct__octconv_scratch(const oct_octconv *l, const oct_shape *in, oct_shape *down, oct_shape *lh)
{
    int k = l->p.kernel_size, s = l->p.stride, pad = l->p.padding;
    *down = oct_shape_plain(in->n, oct_octconv_has_path(l, OCT_PATH_HL) ? in->c_h : 0, in->h / 2, in->w / 2);
    *lh = oct_shape_plain(in->n, oct_octconv_has_path(l, OCT_PATH_LH) ? l->cout_h : 0,
                          oct__conv_out(in->hl, k, s, pad), oct__conv_out(in->wl, k, s, pad));
}

static oct__conv_op oct__conv_for(const oct_octconv *l, oct_path p, oct__view x, oct__view y, int acc, int relu)
{
    oct__conv_op op = {x, y, &l->weight[p], l->bias[p].count ? &l->bias[p] : NULL,
                       l->p.kernel_size, l->p.stride, l->p.padding, acc, relu};
    return op;
}

oct_status oct__octconv_run(oct_octconv *l, const oct_tensor *x, oct_tensor *y, int relu)
{
    const char *what = "oct_octconv_forward";
    if (!l || !x || !y)
        return oct__fail(OCT_ERR_NULL_ARG, "%s: %s is NULL", what, !l ? "layer" : !x ? "input" : "output");
    oct_context *ctx = l->ctx;
    if (x->ctx != ctx || y->ctx != ctx)
        return oct__fail(OCT_ERR_CONTEXT_MISMATCH, "%s: the %s tensor belongs to another context", what,
                         x->ctx != ctx ? "input" : "output");
    for (int p = 0; p < OCT_PATH_COUNT; p++)
        if (oct_octconv_has_path(l, (oct_path)p) && !l->ready[p])
            return oct__fail(OCT_ERR_NOT_READY, "%s: weights of path %s were not set", what,
                             oct__path_name((oct_path)p));
    oct_shape os;
    OCT__TRY(oct_octconv_output_shape(l, &x->shape, &os));
    if (!oct__shape_equal(&os, &y->shape)) {
        const oct_shape *g = &y->shape;
        return oct__fail(OCT_ERR_SHAPE_MISMATCH,
                         "%s: output tensor is high (%d, %d, %d, %d) + low (%d, %d, %d, %d), expected "
                         "high (%d, %d, %d, %d) + low (%d, %d, %d, %d)",
                         what, g->n, g->c_h, g->h, g->w, g->n, g->c_l, g->hl, g->wl, os.n, os.c_h, os.h, os.w,
                         os.n, os.c_l, os.hl, os.wl);
    }
    if (x == y) return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: input and output are the same tensor", what);

    const oct_shape *xs = &x->shape;
    int n = xs->n;
    oct__view xh = oct__view_of(&x->high, n, xs->c_h, xs->h, xs->w);
    oct__view xl = oct__view_of(&x->low, n, xs->c_l, xs->hl, xs->wl);
    oct__view yh = oct__view_of(&y->high, n, os.c_h, os.h, os.w);
    oct__view yl = oct__view_of(&y->low, n, os.c_l, os.hl, os.wl);
    int hh = oct_octconv_has_path(l, OCT_PATH_HH), lh = oct_octconv_has_path(l, OCT_PATH_LH);
    int hl = oct_octconv_has_path(l, OCT_PATH_HL), ll = oct_octconv_has_path(l, OCT_PATH_LL);
    oct_shape ds, ts;
    oct__octconv_scratch(l, xs, &ds, &ts);

    /* High output: y_h = HH(x_h) + Up(LH(x_l)); the LH result stays at low resolution and
     * is added by the resize op, so it is never written at full size. */
    if (hh) {
        oct__conv_op op = oct__conv_for(l, OCT_PATH_HH, xh, yh, 0, relu && !lh);
        OCT__TRY(oct__op_conv2d(ctx, &op));
    }
    if (lh) {
        OCT__TRY(oct__scratch(ctx, &l->tmp, oct_shape_high_count(&ts)));
        oct__view t = oct__view_of(&l->tmp, n, ts.c_h, ts.h, ts.w);
        oct__conv_op op = oct__conv_for(l, OCT_PATH_LH, xl, t, 0, 0);
        OCT__TRY(oct__op_conv2d(ctx, &op));
        oct__resize_op up = {t, yh, hh, relu};
        OCT__TRY(oct__op_resize(ctx, &up));
    }
    /* Low output: y_l = HL(Down(x_h)) + LL(x_l); one op over the stacked input
     * [Down(x_h); x_l] where the backend has it. */
    if (hl) {
        OCT__TRY(oct__scratch(ctx, &l->down, oct_shape_high_count(&ds)));
        oct__view d = oct__view_of(&l->down, n, ds.c_h, ds.h, ds.w);
        oct__pool_op pool = {xh, d};
        OCT__TRY(oct__op_avgpool2(ctx, &pool));
        if (ll) { /* the dispatcher runs it as two conv2d ops where the backend has no pair op */
            oct__conv_op a = oct__conv_for(l, OCT_PATH_HL, d, yl, 0, 0);
            oct__conv_op b = oct__conv_for(l, OCT_PATH_LL, xl, yl, 0, 0);
            oct__conv_pair_op op = {d, xl, yl, a.weight, b.weight, a.bias, b.bias, a.k, a.stride, a.pad, 0, relu, {0}, NULL, 0};
            return oct__op_conv2d_pair(ctx, &op);
        }
        oct__conv_op op = oct__conv_for(l, OCT_PATH_HL, d, yl, 0, relu);
        OCT__TRY(oct__op_conv2d(ctx, &op));
    }
    if (ll) {
        oct__conv_op op = oct__conv_for(l, OCT_PATH_LL, xl, yl, hl, relu);
        OCT__TRY(oct__op_conv2d(ctx, &op));
    }
    return OCT_OK;
}

oct_status oct_octconv_forward(oct_octconv *l, const oct_tensor *x, oct_tensor *y)
{
    return oct__octconv_run(l, x, y, 0);
}

/* ------------------------------------------------------------------------------------ */
/* Split / merge                                                                          */

oct_status oct_split_shape(const oct_shape *in, double alpha, oct_shape *out)
{
    if (!in || !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_split_shape: %s is NULL", !in ? "input shape" : "out");
    OCT__TRY(oct__check_alpha("split", "alpha", alpha));
    OCT__TRY(oct__check_shape(in, "split input"));
    if (in->c_l != 0)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "split: input must be a plain tensor, it has %d low channels",
                         in->c_l);
    int c_l = oct_low_channels(in->c_h, alpha);
    if (c_l > 0 && (in->h < 2 || in->w < 2))
        return oct__fail(OCT_ERR_BAD_SIZE, "split: input %dx%d is too small to pool into a low band (needs 2x2)",
                         in->h, in->w);
    *out = oct_shape_bands(in->n, in->c_h - c_l, c_l, in->h, in->w);
    return OCT_OK;
}

static oct_status oct__check_pair(const char *what, oct_context *ctx, const oct_tensor *x, const oct_tensor *y)
{
    if (!ctx || !x || !y)
        return oct__fail(OCT_ERR_NULL_ARG, "%s: %s is NULL", what, !ctx ? "context" : !x ? "input" : "output");
    if (x->ctx != ctx || y->ctx != ctx)
        return oct__fail(OCT_ERR_CONTEXT_MISMATCH, "%s: the %s tensor belongs to another context", what,
                         x->ctx != ctx ? "input" : "output");
    if (x == y) return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: input and output are the same tensor", what);
    return OCT_OK;
}

static oct_status oct__check_out(const char *what, const oct_shape *want, const oct_shape *got)
{
    if (oct__shape_equal(want, got)) return OCT_OK;
    return oct__fail(OCT_ERR_SHAPE_MISMATCH,
                     "%s: output is high (%d, %d, %d, %d) + low %d channels %dx%d, expected high (%d, %d, %d, %d) "
                     "+ low %d channels %dx%d",
                     what, got->n, got->c_h, got->h, got->w, got->c_l, got->hl, got->wl, want->n, want->c_h,
                     want->h, want->w, want->c_l, want->hl, want->wl);
}

oct_status oct_split(oct_context *ctx, const oct_tensor *x, double alpha, oct_tensor *y)
{
    OCT__TRY(oct__check_pair("oct_split", ctx, x, y));
    oct_shape os;
    OCT__TRY(oct_split_shape(&x->shape, alpha, &os));
    OCT__TRY(oct__check_out("oct_split", &os, &y->shape));
    const oct_shape *xs = &x->shape;
    int c = xs->c_h;
    if (os.c_h > 0) {
        oct__resize_op copy = {oct__view_channels(&x->high, xs->n, c, 0, os.c_h, xs->h, xs->w),
                               oct__view_of(&y->high, os.n, os.c_h, os.h, os.w), 0, 0};
        OCT__TRY(oct__op_resize(ctx, &copy));
    }
    if (os.c_l > 0) {
        oct__pool_op pool = {oct__view_channels(&x->high, xs->n, c, os.c_h, os.c_l, xs->h, xs->w),
                             oct__view_of(&y->low, os.n, os.c_l, os.hl, os.wl)};
        OCT__TRY(oct__op_avgpool2(ctx, &pool));
    }
    return OCT_OK;
}

oct_status oct_merge_shape(const oct_shape *in, oct_shape *out)
{
    if (!in || !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_merge_shape: %s is NULL", !in ? "input shape" : "out");
    OCT__TRY(oct__check_shape(in, "merge input"));
    *out = oct_shape_plain(in->n, in->c_h + in->c_l, in->h, in->w);
    return OCT_OK;
}

oct_status oct_merge(oct_context *ctx, const oct_tensor *x, oct_tensor *y)
{
    OCT__TRY(oct__check_pair("oct_merge", ctx, x, y));
    oct_shape os;
    OCT__TRY(oct_merge_shape(&x->shape, &os));
    OCT__TRY(oct__check_out("oct_merge", &os, &y->shape));
    const oct_shape *xs = &x->shape;
    int c = os.c_h;
    if (xs->c_h > 0) {
        oct__resize_op copy = {oct__view_of(&x->high, xs->n, xs->c_h, xs->h, xs->w),
                               oct__view_channels(&y->high, os.n, c, 0, xs->c_h, os.h, os.w), 0, 0};
        OCT__TRY(oct__op_resize(ctx, &copy));
    }
    if (xs->c_l > 0) {
        oct__resize_op up = {oct__view_of(&x->low, xs->n, xs->c_l, xs->hl, xs->wl),
                             oct__view_channels(&y->high, os.n, c, xs->c_h, xs->c_l, os.h, os.w), 0, 0};
        OCT__TRY(oct__op_resize(ctx, &up));
    }
    return OCT_OK;
}
