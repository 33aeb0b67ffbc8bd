/* test_ops.c — the op-level conformance suite: the graph ops (general convolution,
 * pooling, add, affine: internal.h) and the OctConv plan's ops (conv2d, conv2d_pair,
 * avgpool2, resize, gap, linear) on every backend, through the dispatcher (dispatch.c). The reference first against small cases whose values come from the
 * definitions (worked by hand in the comments); then the native CPU backend and every
 * OpenCL device against the reference over a grid of groups (1, 2, depthwise), kernel
 * shapes (1, 3, 5, 7, 1x3, 3x1), strides, asymmetric padding, dilation, odd sizes,
 * batches, channel-slice views at odd offsets, accumulate / residual / ReLU; pools in
 * both modes with ceil-mode windows and both divisor rules; add and affine in place.
 * Everything in an output buffer outside the op's view (other channels, the floats
 * before the view and a tail after the buffer) is a canary that must come back
 * unchanged.
 *
 *   test_ops                 the suites on ref, cpu and every OpenCL device found, each
 *                            op also with every fallible call failing in turn;
 *                            OCTCL_CPU_PATH=gemm|im2col forces the CPU backend's paths
 *                            (ctest: ops_cpu_gemm_*, ops_cpu_im2col)
 *   test_ops --backend NAME  only that backend's suites (ref, cpu, opencl; 77 when it has
 *                            no device): OpenCL's forced paths (ctest: ops_opencl_*)
 *   test_ops --torch DIR     the reference against PyTorch in float64 (test_ops_torch.py
 *                            writes the cases into DIR; exit 77 without torch)
 *   OCTCL_OPS_GRID=full      the large grid (seconds on PoCL, minutes under oclgrind)
 *   OCTCL_OPS_GRID=tiny      the grids without the network-size shapes (oclgrind)
 *   test_ops --perf [--reps R] [--batch N] [--device SPEC] [--shape TEXT]
 *                            GFLOP/s of ResNet-50 layer shapes (names containing
 *                            TEXT) on the CPU backend or SPEC; OCTCL_THREADS sets threads
 */
#include "gemm.h"
#include "internal.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static oct_context *g_ref, *g_dut;
static const char *g_dut_name = "";
static int g_full, g_tiny;

/* Floats after every buffer's last element: canaries. */
#define TAIL 7

/* ------------------------------------------------------------------------------------ */
/* Views                                                                                  */

/* Channels [c0, c0 + c) of an (n, ctot, h, w) tensor that starts `lead` floats into its
 * buffer; the buffer ends TAIL floats after the tensor. */
typedef struct {
    int n, c, h, w;
    int ctot, c0, lead;
} vspec;

static size_t vs_count(const vspec *v) { return (size_t)v->lead + (size_t)v->n * v->ctot * v->h * v->w + TAIL; }

static oct__view vs_view(const oct__buf *b, const vspec *v)
{
    size_t plane = (size_t)v->h * v->w;
    oct__view r = {b, (size_t)v->lead + (size_t)v->c0 * plane, (size_t)v->ctot * plane, v->n, v->c, v->h, v->w};
    return r;
}

/* 1 when buffer index i lies inside the view. */
static int vs_inside(const vspec *v, size_t i)
{
    size_t plane = (size_t)v->h * v->w, img = (size_t)v->ctot * plane;
    if (i < (size_t)v->lead) return 0;
    i -= (size_t)v->lead;
    if (i >= (size_t)v->n * img) return 0;
    size_t c = (i % img) / plane;
    return c >= (size_t)v->c0 && c < (size_t)(v->c0 + v->c);
}

/* ------------------------------------------------------------------------------------ */
/* One op case                                                                            */

enum { OP_CONV, OP_POOL, OP_ADD, OP_AFFINE, OP_CONV2D, OP_PAIR, OP_POOL2, OP_RESIZE, OP_GAP, OP_LINEAR };

typedef struct {
    int kind;
    vspec x, y, res;          /* conv: x, y, res (res.n == 0: none); pool / affine: x, y */
    vspec a, b;               /* add: inputs (y is a or b when inplace is 1 or 2); pair: a is x2 */
    /* The OctConv plan's ops: conv2d and pair use kh (K), sh (stride), pt (padding),
     * bias, acc, relu; resize acc, relu; gap and linear take y as (n, C, 1, 1) with lead
     * 0 (gap writes channels [c0, c0 + C) of ctot; linear x (n, in, 1, 1), y (n, out, 1, 1)). */
    int inplace;              /* add: y is a (1) or b (2); affine: y is x (1) */
    /* conv */
    int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups, bias, acc;
    /* pool */
    int max, cip;
    /* affine */
    int scale, shift;
    int relu;
    int nonfinite;            /* NaN, +inf and -inf planted in the inputs (test_nonfinite) */
} ocase;

/* Host data of a case: every buffer's initial contents. */
typedef struct {
    float *x, *y, *res, *a, *b, *w, *bias, *scale, *shift, *w2, *bias2;
    size_t nx, ny, nres, na, nb, nw, nc, nw2;
} odata;

static void odata_free(odata *d)
{
    free(d->x), free(d->y), free(d->res), free(d->a), free(d->b), free(d->w), free(d->bias), free(d->scale);
    free(d->shift), free(d->w2), free(d->bias2);
    memset(d, 0, sizeof *d);
}

/* Seeded data in [-2, 2] (weights in [-0.5, 0.5]); 0 when out of memory. */
static int odata_make(const ocase *c, uint64_t seed, odata *d)
{
    rng_t r = {seed};
    memset(d, 0, sizeof *d);
    if (c->kind == OP_ADD) {
        d->na = vs_count(&c->a), d->nb = vs_count(&c->b);
        d->a = rng_array(&r, d->na, -2, 2), d->b = rng_array(&r, d->nb, -2, 2);
        d->ny = vs_count(&c->y);
        d->y = rng_array(&r, d->ny, -2, 2);
        return d->a && d->b && d->y;
    }
    d->nx = vs_count(&c->x), d->ny = vs_count(&c->y);
    d->x = rng_array(&r, d->nx, -2, 2), d->y = rng_array(&r, d->ny, -2, 2);
    if (!d->x || !d->y) return 0;
    if (c->kind == OP_LINEAR) {
        d->nw = (size_t)c->y.c * c->x.c, d->nc = (size_t)c->y.c;
        d->w = rng_array(&r, d->nw, -0.5f, 0.5f), d->bias = rng_array(&r, d->nc, -2, 2);
        return d->w && d->bias;
    }
    if (c->kind == OP_PAIR) {
        d->na = vs_count(&c->a), d->nw2 = (size_t)c->y.c * c->a.c * c->kh * c->kh;
        d->a = rng_array(&r, d->na, -2, 2), d->w2 = rng_array(&r, d->nw2, -0.5f, 0.5f);
        d->bias2 = rng_array(&r, (size_t)c->y.c, -2, 2);
        if (!d->a || !d->w2 || !d->bias2) return 0;
    }
    if (c->kind == OP_CONV || c->kind == OP_CONV2D || c->kind == OP_PAIR) {
        d->nw = (size_t)c->y.c * (c->x.c / c->groups) * c->kh * c->kw;
        d->nc = (size_t)c->y.c;
        d->w = rng_array(&r, d->nw, -0.5f, 0.5f), d->bias = rng_array(&r, d->nc, -2, 2);
        if (!d->w || !d->bias) return 0;
        if (c->res.n) {
            d->nres = vs_count(&c->res);
            if (!(d->res = rng_array(&r, d->nres, -2, 2))) return 0;
        }
    } else if (c->kind == OP_AFFINE) {
        d->nc = (size_t)c->x.c;
        d->scale = rng_array(&r, d->nc, -2, 2), d->shift = rng_array(&r, d->nc, -2, 2);
        if (!d->scale || !d->shift) return 0;
    }
    if (c->nonfinite) { /* every 211th input value, in turn NaN, +inf, -inf */
        static const float odd[3] = {NAN, INFINITY, -INFINITY};
        float *in[2] = {d->x, d->a};
        size_t nin[2] = {d->nx, d->na};
        for (int k = 0; k < 2; k++)
            for (size_t i = 5; in[k] && i < nin[k]; i += 211) in[k][i] = odd[(i / 211) % 3];
    }
    return 1;
}

/* |v| of every element: the magnitudes a float32 result's rounding error scales with. */
static float *abs_copy(const float *v, size_t n)
{
    if (!v || !n) return NULL;
    float *a = malloc(n * sizeof *a);
    if (a)
        for (size_t i = 0; i < n; i++) a[i] = fabsf(v[i]);
    return a;
}

static int odata_abs(const odata *d, odata *m)
{
    *m = *d;
    m->x = abs_copy(d->x, d->nx), m->y = abs_copy(d->y, d->ny), m->res = abs_copy(d->res, d->nres);
    m->a = abs_copy(d->a, d->na), m->b = abs_copy(d->b, d->nb), m->w = abs_copy(d->w, d->nw);
    m->bias = abs_copy(d->bias, d->nc), m->scale = abs_copy(d->scale, d->nc), m->shift = abs_copy(d->shift, d->nc);
    m->w2 = abs_copy(d->w2, d->nw2), m->bias2 = abs_copy(d->bias2, d->nc);
    if ((d->w2 && !m->w2) || (d->bias2 && !m->bias2)) return 0;
    return (!d->x || m->x) && (!d->y || m->y) && (!d->res || m->res) && (!d->a || m->a) && (!d->b || m->b) &&
           (!d->w || m->w) && (!d->bias || m->bias) && (!d->scale || m->scale) && (!d->shift || m->shift);
}

/* The output buffer's spec (y, or a / b / x when in place). */
static const vspec *out_spec(const ocase *c) { return &c->y; }

/* Run the case on ctx; *out receives the output buffer (the caller frees). With
 * `magnitude` ReLU is off: the run over |data| gives the size of each result's terms. */
static oct_status case_run(oct_context *ctx, const ocase *c, const odata *d, int magnitude, float **out,
                           size_t *nout)
{
    oct__buf x = {0}, y = {0}, res = {0}, a = {0}, b = {0}, w = {0}, bias = {0}, scale = {0}, shift = {0};
    oct__buf w2 = {0}, bias2 = {0};
    oct_status s = OCT_OK;
    int relu = magnitude ? 0 : c->relu;
    const oct__buf *yb = &y;
    size_t ny = d->ny;
    *out = NULL;
    if ((s = oct__buf_upload(ctx, &x, d->x, d->nx)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &res, d->res, d->nres)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &a, d->a, d->na)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &b, d->b, d->nb)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &w, d->w, d->nw)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &bias, d->bias, d->bias ? d->nc : 0)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &scale, d->scale, d->scale ? d->nc : 0)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &shift, d->shift, d->shift ? d->nc : 0)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &w2, d->w2, d->nw2)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &bias2, d->bias2, d->bias2 ? d->nc : 0)) != OCT_OK) goto done;
    if (c->kind == OP_ADD && c->inplace)
        yb = c->inplace == 1 ? &a : &b, ny = c->inplace == 1 ? d->na : d->nb;
    else if (c->kind == OP_AFFINE && c->inplace)
        yb = &x, ny = d->nx;
    else if ((s = oct__buf_upload(ctx, &y, d->y, d->ny)) != OCT_OK)
        goto done;
    oct__view yv = vs_view(yb, out_spec(c));
    switch (c->kind) {
    case OP_CONV: {
        oct__convg_op op = {vs_view(&x, &c->x), yv, {0}, &w, c->bias ? &bias : NULL, c->kh, c->kw, c->sh, c->sw,
                            c->pt, c->pl, c->pb, c->pr, c->dh, c->dw, c->groups, c->acc, relu};
        if (c->res.n) op.res = vs_view(&res, &c->res);
        s = oct__op_convg(ctx, &op);
        break;
    }
    case OP_POOL: {
        oct__poolg_op op = {vs_view(&x, &c->x), yv, c->max, c->kh, c->kw, c->sh, c->sw, c->pt, c->pl, c->pb, c->pr,
                            c->cip, relu};
        if (magnitude) op.max = 0; /* the mean of |x| bounds the terms of both kinds */
        s = oct__op_poolg(ctx, &op);
        break;
    }
    case OP_ADD: {
        oct__add_op op = {vs_view(&a, &c->a), vs_view(&b, &c->b), yv, relu};
        s = oct__op_add(ctx, &op);
        break;
    }
    case OP_AFFINE: {
        oct__affine_op op = {vs_view(&x, &c->x), yv, c->scale ? &scale : NULL, c->shift ? &shift : NULL, relu};
        s = oct__op_affine(ctx, &op);
        break;
    }
    case OP_CONV2D: {
        oct__conv_op op = {vs_view(&x, &c->x), yv, &w, c->bias ? &bias : NULL, c->kh, c->sh, c->pt, c->acc, relu};
        s = oct__op_conv2d(ctx, &op);
        break;
    }
    case OP_PAIR: {
        oct__conv_pair_op op = {vs_view(&x, &c->x), vs_view(&a, &c->a), yv, &w, &w2, c->bias ? &bias : NULL,
                                c->bias ? &bias2 : NULL, c->kh, c->sh, c->pt, c->acc, relu, {0}, NULL, 0};
        if (c->res.n) op.res = vs_view(&res, &c->res);
        s = oct__op_conv2d_pair(ctx, &op);
        break;
    }
    case OP_POOL2: {
        oct__pool_op op = {vs_view(&x, &c->x), yv};
        s = oct__op_avgpool2(ctx, &op);
        break;
    }
    case OP_RESIZE: {
        oct__resize_op op = {vs_view(&x, &c->x), yv, c->acc, relu};
        s = oct__op_resize(ctx, &op);
        break;
    }
    case OP_GAP: {
        oct__gap_op op = {vs_view(&x, &c->x), yb, c->y.ctot, c->y.c0, (size_t)c->y.lead};
        s = oct__op_gap(ctx, &op);
        break;
    }
    default: {
        oct__linear_op op = {&x, &w, c->bias ? &bias : NULL, yb, c->y.n, c->x.c, c->y.c};
        s = oct__op_linear(ctx, &op);
        break;
    }
    }
    if (s != OCT_OK) goto done;
    if (!(*out = malloc(ny * sizeof(float)))) {
        s = OCT_ERR_HOST_MEMORY;
        goto done;
    }
    *nout = ny;
    s = ctx->be->read(ctx, yb, *out);
done:
    oct__buf_free(ctx, &bias2), oct__buf_free(ctx, &w2);
    oct__buf_free(ctx, &shift), oct__buf_free(ctx, &scale), oct__buf_free(ctx, &bias), oct__buf_free(ctx, &w);
    oct__buf_free(ctx, &b), oct__buf_free(ctx, &a), oct__buf_free(ctx, &res), oct__buf_free(ctx, &y);
    oct__buf_free(ctx, &x);
    if (s != OCT_OK) {
        free(*out);
        *out = NULL;
    }
    return s;
}

static void describe(char *buf, size_t len, const ocase *c)
{
    const vspec *y = &c->y;
    int k = 0;
    switch (c->kind) {
    case OP_CONV:
        k = snprintf(buf, len, "%s convg n%d x(%d[%d/%d]+%d,%dx%d) y(%d[%d/%d]+%d,%dx%d) k%dx%d s%d,%d p%d,%d,%d,%d d%d,%d g%d",
                     g_dut_name, c->x.n, c->x.c, c->x.c0, c->x.ctot, c->x.lead, c->x.h, c->x.w, y->c, y->c0, y->ctot,
                     y->lead, y->h, y->w, c->kh, c->kw, c->sh, c->sw, c->pt, c->pl, c->pb, c->pr, c->dh, c->dw,
                     c->groups);
        break;
    case OP_POOL:
        k = snprintf(buf, len, "%s %s n%d c%d[%d/%d]+%d %dx%d -> %dx%d k%dx%d s%d,%d p%d,%d,%d,%d%s", g_dut_name,
                     c->max ? "maxpool" : "avgpool", c->x.n, c->x.c, c->x.c0, c->x.ctot, c->x.lead, c->x.h, c->x.w,
                     y->h, y->w, c->kh, c->kw, c->sh, c->sw, c->pt, c->pl, c->pb, c->pr,
                     c->max ? "" : c->cip ? " cip" : " nocip");
        break;
    case OP_ADD:
        k = snprintf(buf, len, "%s add n%d c%d %dx%d a[%d/%d]+%d b[%d/%d]+%d y[%d/%d]+%d%s", g_dut_name, y->n, y->c,
                     y->h, y->w, c->a.c0, c->a.ctot, c->a.lead, c->b.c0, c->b.ctot, c->b.lead, y->c0, y->ctot,
                     y->lead, c->inplace == 1 ? " y=a" : c->inplace == 2 ? " y=b" : "");
        break;
    case OP_CONV2D:
    case OP_PAIR:
        k = snprintf(buf, len, "%s %s n%d x(%d[%d/%d]+%d,%dx%d)%s y(%d[%d/%d]+%d,%dx%d) k%d s%d p%d", g_dut_name,
                     c->kind == OP_PAIR ? "conv2d_pair" : "conv2d", c->x.n, c->x.c, c->x.c0, c->x.ctot, c->x.lead,
                     c->x.h, c->x.w, c->kind == OP_PAIR ? " +x2" : "", y->c, y->c0, y->ctot, y->lead, y->h, y->w, c->kh,
                     c->sh, c->pt);
        if (k > 0 && c->kind == OP_PAIR && (size_t)k < len)
            k += snprintf(buf + k, len - (size_t)k, " x2(%d[%d/%d]+%d)", c->a.c, c->a.c0, c->a.ctot, c->a.lead);
        break;
    case OP_POOL2:
    case OP_RESIZE:
    case OP_GAP:
        k = snprintf(buf, len, "%s %s n%d c%d x[%d/%d]+%d %dx%d -> y[%d/%d]+%d %dx%d", g_dut_name,
                     c->kind == OP_POOL2 ? "avgpool2" : c->kind == OP_RESIZE ? "resize" : "gap", c->x.n, c->x.c,
                     c->x.c0, c->x.ctot, c->x.lead, c->x.h, c->x.w, y->c0, y->ctot, y->lead, y->h, y->w);
        break;
    case OP_LINEAR:
        k = snprintf(buf, len, "%s linear n%d in%d out%d", g_dut_name, y->n, c->x.c, y->c);
        break;
    default:
        k = snprintf(buf, len, "%s affine n%d c%d %dx%d x[%d/%d]+%d y[%d/%d]+%d%s%s%s", g_dut_name, y->n, y->c, y->h,
                     y->w, c->x.c0, c->x.ctot, c->x.lead, y->c0, y->ctot, y->lead, c->scale ? " scale" : "",
                     c->shift ? " shift" : "", c->inplace ? " y=x" : "");
        break;
    }
    if (k > 0 && (size_t)k < len)
        snprintf(buf + k, len - (size_t)k, "%s%s%s%s", c->bias ? " bias" : "", c->acc ? " acc" : "",
                 c->res.n ? " res" : "", c->relu ? " relu" : "");
}

/* The case on g_dut against the reference: inside the view |got - want| <= 1e-5 +
 * 1e-5 * m, m the same result over |every input| (the sum of |products| and |terms|:
 * float32 sums of up to ~10^3 such terms round well within that); outside the view (the
 * canaries) every float exactly as it was. Returns the number of failures. */
static int check_case(const ocase *c, uint64_t seed)
{
    odata d, m;
    float *want = NULL, *mag = NULL, *got = NULL;
    size_t nwant = 0, nmag = 0, ngot = 0;
    char what[400];
    int fails = 0;
    describe(what, sizeof what, c);
    if (!odata_make(c, seed, &d) || !odata_abs(&d, &m)) {
        CU_FAIL("case data");
        odata_free(&d);
        return 1;
    }
    oct_status s = case_run(g_ref, c, &d, 0, &want, &nwant);
    if (s == OCT_OK) s = case_run(g_ref, c, &m, 1, &mag, &nmag);
    if (s != OCT_OK) printf("\n    ref %s: %s", what, oct_last_error());
    CU_ASSERT_EQUAL(s, OCT_OK);
    if (s == OCT_OK) {
        s = case_run(g_dut, c, &d, 0, &got, &ngot);
        if (s != OCT_OK) printf("\n    %s: %s", what, oct_last_error());
        CU_ASSERT_EQUAL(s, OCT_OK);
    }
    if (s != OCT_OK) {
        fails = 1;
        goto done;
    }
    /* The input the output buffer started from. */
    const float *init = d.y;
    if (c->kind == OP_ADD && c->inplace) init = c->inplace == 1 ? d.a : d.b;
    if (c->kind == OP_AFFINE && c->inplace) init = d.x;
    size_t bad = 0, canary = 0;
    double worst = 0;
    for (size_t i = 0; i < ngot; i++) {
        if (!vs_inside(&c->y, i)) {
            if (memcmp(&got[i], &init[i], sizeof(float)) != 0) {
                if (canary < 3)
                    printf("\n    %s: canary at index %zu changed: %.9g -> %.9g", what, i, init[i], got[i]);
                canary++;
            }
            continue;
        }
        double e = want[i], g = got[i], tol = 1e-5 + 1e-5 * fabs(mag[i]);
        int ok = e == g || (isnan(e) && isnan(g)) || fabs(g - e) <= tol;
        if (!isnan(e) && !isnan(g) && e != g && fabs(g - e) > worst) worst = fabs(g - e);
        if (!ok) {
            if (bad < 5)
                printf("\n    %s: mismatch at index %zu: expected %.9g, got %.9g (tolerance %.3g)", what, i, e, g,
                       tol);
            bad++;
        }
    }
    if (bad) printf("\n    %s: %zu values out of tolerance (max abs error %.3g)\n", what, bad, worst);
    if (canary) printf("\n    %s: %zu canaries changed\n", what, canary);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(canary, 0);
    fails = bad || canary;
done:
    free(got), free(mag), free(want);
    odata_free(&m);
    odata_free(&d);
    return fails;
}

/* ------------------------------------------------------------------------------------ */
/* The reference against values worked from the definitions                              */

/* Run one op on the reference over plain host arrays: x (xn floats), weights, bias and y
 * (yn floats, its initial contents in y); the result replaces y. */
static void ref_expect(const char *what, const float *got, const float *want, size_t n)
{
    CU_ASSERT_EQUAL(compare_floats(what, want, got, n, 1e-6, 1e-6), 0);
}

static oct_status ref_conv(const float *x, int n, int ci, int h, int w, const float *wt, const float *bias,
                           const float *res, float *y, int co, int ho, int wo, oct__convg_op op)
{
    oct__buf xb = {0}, wb = {0}, bb = {0}, rb = {0}, yb = {0};
    size_t ny = (size_t)n * co * ho * wo;
    oct_status s;
    if ((s = oct__buf_upload(g_ref, &xb, x, (size_t)n * ci * h * w)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(g_ref, &wb, wt, (size_t)co * (ci / op.groups) * op.kh * op.kw)) != OCT_OK) goto done;
    if (bias && (s = oct__buf_upload(g_ref, &bb, bias, (size_t)co)) != OCT_OK) goto done;
    if (res && (s = oct__buf_upload(g_ref, &rb, res, ny)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(g_ref, &yb, y, ny)) != OCT_OK) goto done;
    op.x = oct__view_of(&xb, n, ci, h, w);
    op.y = oct__view_of(&yb, n, co, ho, wo);
    if (res) op.res = oct__view_of(&rb, n, co, ho, wo);
    op.weight = &wb;
    op.bias = bias ? &bb : NULL;
    if ((s = oct__op_convg(g_ref, &op)) == OCT_OK) s = g_ref->be->read(g_ref, &yb, y);
done:
    oct__buf_free(g_ref, &yb), oct__buf_free(g_ref, &rb), oct__buf_free(g_ref, &bb), oct__buf_free(g_ref, &wb);
    oct__buf_free(g_ref, &xb);
    return s;
}

static oct_status ref_pool(const float *x, int n, int c, int h, int w, float *y, int ho, int wo, oct__poolg_op op)
{
    oct__buf xb = {0}, yb = {0};
    oct_status s;
    if ((s = oct__buf_upload(g_ref, &xb, x, (size_t)n * c * h * w)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(g_ref, &yb, y, (size_t)n * c * ho * wo)) != OCT_OK) goto done;
    op.x = oct__view_of(&xb, n, c, h, w);
    op.y = oct__view_of(&yb, n, c, ho, wo);
    if ((s = oct__op_poolg(g_ref, &op)) == OCT_OK) s = g_ref->be->read(g_ref, &yb, y);
done:
    oct__buf_free(g_ref, &yb), oct__buf_free(g_ref, &xb);
    return s;
}

/* x = [[1 2 3] [4 5 6] [7 8 9]]. */
static const float g_x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static void test_ref_conv_hand(void)
{
    /* The Laplacian [[0 1 0] [1 -4 1] [0 1 0]], padding 1: y(0,0) = -4*1 + 2 + 4 = 2,
     * y(0,1) = -8 + 1 + 3 + 5 = 1, y(0,2) = -12 + 2 + 6 = -4, y(1,0) = -16 + 1 + 7 + 5 = -3,
     * y(1,1) = -20 + 2 + 4 + 6 + 8 = 0, y(1,2) = -24 + 3 + 5 + 9 = -7,
     * y(2,0) = -28 + 4 + 8 = -16, y(2,1) = -32 + 5 + 7 + 9 = -11, y(2,2) = -36 + 6 + 8 = -22. */
    static const float lap[9] = {0, 1, 0, 1, -4, 1, 0, 1, 0};
    float y[9] = {0};
    oct__convg_op op = {.kh = 3, .kw = 3, .stride_h = 1, .stride_w = 1, .pad_t = 1, .pad_l = 1, .pad_b = 1,
                        .pad_r = 1, .dil_h = 1, .dil_w = 1, .groups = 1};
    static const float lap_want[9] = {2, 1, -4, -3, 0, -7, -16, -11, -22};
    CU_ASSERT_EQUAL_FATAL(ref_conv(g_x9, 1, 1, 3, 3, lap, NULL, NULL, y, 1, 3, 3, op), OCT_OK);
    ref_expect("laplacian", y, lap_want, 9);

    /* The same + bias 3, + old y (accumulate; y held 1..9), + residual 10 - 2i, ReLU:
     * 2+3+1+10 = 16, 1+3+2+8 = 14, -4+3+3+6 = 8, -3+3+4+4 = 8, 0+3+5+2 = 10,
     * -7+3+6+0 = 2, -16+3+7-2 = -8 -> 0, -11+3+8-4 = -4 -> 0, -22+3+9-6 = -16 -> 0. */
    static const float bias3 = 3, res[9] = {10, 8, 6, 4, 2, 0, -2, -4, -6};
    static const float epi_want[9] = {16, 14, 8, 8, 10, 2, 0, 0, 0};
    memcpy(y, g_x9, sizeof y);
    op.accumulate = 1, op.relu = 1;
    CU_ASSERT_EQUAL_FATAL(ref_conv(g_x9, 1, 1, 3, 3, lap, &bias3, res, y, 1, 3, 3, op), OCT_OK);
    ref_expect("laplacian + bias + old y + residual, relu", y, epi_want, 9);

    /* A 2x2 kernel of ones at dilation 2, no padding: one output, the four corners
     * 1 + 3 + 7 + 9 = 20. */
    static const float ones4[4] = {1, 1, 1, 1}, dil_want[1] = {20};
    oct__convg_op dil = {.kh = 2, .kw = 2, .stride_h = 1, .stride_w = 1, .dil_h = 2, .dil_w = 2, .groups = 1};
    float y1[1] = {0};
    CU_ASSERT_EQUAL_FATAL(ref_conv(g_x9, 1, 1, 3, 3, ones4, NULL, NULL, y1, 1, 1, 1, dil), OCT_OK);
    ref_expect("dilation 2", y1, dil_want, 1);

    /* 1x1 kernel of 1, stride 2, pads top 1, left 0, bottom 0, right 1: Ho = (3+1-1)/2+1 = 2,
     * Wo = (3+0+1-1)/2+1 = 2, y(oy, ox) = x(2 oy - 1, 2 ox): row -1 is padding (0, 0), then
     * x(1, 0) = 4, x(1, 2) = 6. */
    static const float one = 1, asym_want[4] = {0, 0, 4, 6};
    oct__convg_op asym = {.kh = 1, .kw = 1, .stride_h = 2, .stride_w = 2, .pad_t = 1, .pad_r = 1, .dil_h = 1,
                          .dil_w = 1, .groups = 1};
    float y4[4] = {0};
    CU_ASSERT_EQUAL_FATAL(ref_conv(g_x9, 1, 1, 3, 3, &one, NULL, NULL, y4, 1, 2, 2, asym), OCT_OK);
    ref_expect("asymmetric padding, stride 2", y4, asym_want, 4);

    /* A 1x3 kernel [1 0 -1] (horizontal difference), pads left/right 1, stride (1, 2):
     * Wo = (3+2-3)/2+1 = 2; y(r, 0) = 0 - x(r, 1), y(r, 1) = x(r, 1) - 0:
     * rows -2 2 / -5 5 / -8 8. */
    static const float diff[3] = {1, 0, -1}, diff_want[6] = {-2, 2, -5, 5, -8, 8};
    oct__convg_op hk = {.kh = 1, .kw = 3, .stride_h = 1, .stride_w = 2, .pad_l = 1, .pad_r = 1, .dil_h = 1,
                        .dil_w = 1, .groups = 1};
    float y6[6] = {0};
    CU_ASSERT_EQUAL_FATAL(ref_conv(g_x9, 1, 1, 3, 3, diff, NULL, NULL, y6, 1, 3, 2, hk), OCT_OK);
    ref_expect("1x3 kernel, stride (1, 2)", y6, diff_want, 6);
}

static void test_ref_groups_hand(void)
{
    /* Depthwise, 2 channels: channel 0 = 1..9 with a 3x3 kernel of ones -> 45; channel 1
     * = 9..1 with a kernel of 2 at the centre only -> 2 * 5 = 10; bias (1, -1); residual
     * (10, -50), ReLU: 45 + 1 + 10 = 56 and 10 - 1 - 50 = -41 -> 0. */
    float x[18], wdw[18] = {0};
    for (int i = 0; i < 9; i++) x[i] = g_x9[i], x[9 + i] = g_x9[8 - i], wdw[i] = 1;
    wdw[9 + 4] = 2;
    static const float bias[2] = {1, -1}, res[2] = {10, -50}, dw_want[2] = {56, 0};
    oct__convg_op op = {.kh = 3, .kw = 3, .stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1, .groups = 2,
                        .relu = 1};
    float y[4] = {0};
    CU_ASSERT_EQUAL_FATAL(ref_conv(x, 1, 2, 3, 3, wdw, bias, res, y, 2, 1, 1, op), OCT_OK);
    ref_expect("depthwise 3x3", y, dw_want, 2);

    /* Groups 2, 2 inputs -> 4 outputs, 1x1 kernels (1, 2, 3, 4): outputs 0 and 1 see
     * channel 0 only, 2 and 3 channel 1 only. At pixel 0: 1*1, 2*1, 3*9, 4*9. */
    static const float w4[4] = {1, 2, 3, 4};
    oct__convg_op g2 = {.kh = 1, .kw = 1, .stride_h = 3, .stride_w = 3, .dil_h = 1, .dil_w = 1, .groups = 2};
    static const float g2_want[4] = {1, 2, 27, 36};
    CU_ASSERT_EQUAL_FATAL(ref_conv(x, 1, 2, 3, 3, w4, NULL, NULL, y, 4, 1, 1, g2), OCT_OK);
    ref_expect("groups 2, 1x1, stride 3", y, g2_want, 4);
}

static void test_ref_pool_hand(void)
{
    /* Max 3x3 stride 2 padding 1 over -(1..9): windows rows/cols {0,1} and {1,2}; the
     * padding is never a candidate, so the maxima are -1, -2, -4, -5 (not 0). */
    float xn[9];
    for (int i = 0; i < 9; i++) xn[i] = -g_x9[i];
    static const float max_want[4] = {-1, -2, -4, -5};
    oct__poolg_op mp = {.max = 1, .kh = 3, .kw = 3, .stride_h = 2, .stride_w = 2, .pad_t = 1, .pad_l = 1,
                        .pad_b = 1, .pad_r = 1};
    float y[9] = {0};
    CU_ASSERT_EQUAL_FATAL(ref_pool(xn, 1, 1, 3, 3, y, 2, 2, mp), OCT_OK);
    ref_expect("max 3x3 s2 p1", y, max_want, 4);

    /* Average 3x3 stride 2 padding 1 in ceil mode over a 4x4 x(r, c) = 4r + c + 1:
     * Ho = ceil((4 + 2 - 3) / 2) + 1 = 3, windows start at -1, 1, 3. In-bounds rows (and
     * columns) {0,1}, {1,2,3}, {3}; sums 14 30 12 / 57 99 36 / 27 45 16.
     * count_include_pad: rows counted min(y0 + 3, 4 + 1) - y0 = 3, 3, 2 (the last window
     * reaches past H + pad), so divisors 9 9 6 / 9 9 6 / 6 6 4;
     * without: in-bounds counts 4 6 2 / 6 9 3 / 2 3 1. */
    float x16[16];
    for (int i = 0; i < 16; i++) x16[i] = (float)(i + 1);
    const float cip_want[9] = {14.f / 9, 30.f / 9, 12.f / 6, 57.f / 9, 99.f / 9, 36.f / 6, 27.f / 6, 45.f / 6, 16.f / 4};
    const float exc_want[9] = {14.f / 4, 30.f / 6, 12.f / 2, 57.f / 6, 99.f / 9, 36.f / 3, 27.f / 2, 45.f / 3, 16.f / 1};
    oct__poolg_op ap = {.kh = 3, .kw = 3, .stride_h = 2, .stride_w = 2, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1,
                        .count_include_pad = 1};
    CU_ASSERT_EQUAL_FATAL(ref_pool(x16, 1, 1, 4, 4, y, 3, 3, ap), OCT_OK);
    ref_expect("avg ceil mode, count_include_pad", y, cip_want, 9);
    ap.count_include_pad = 0;
    CU_ASSERT_EQUAL_FATAL(ref_pool(x16, 1, 1, 4, 4, y, 3, 3, ap), OCT_OK);
    ref_expect("avg ceil mode, padding not counted", y, exc_want, 9);

    /* Windows with nothing in bounds: x = [5] (1x1), kernel 1, pads top and bottom 1,
     * Ho = 3: rows -1, 0, 1 -> average 0, 5, 0; max -inf, 5, -inf; max + ReLU 0, 5, 0. */
    static const float five = 5, avg_want[3] = {0, 5, 0}, maxr_want[3] = {0, 5, 0};
    oct__poolg_op e = {.kh = 1, .kw = 1, .stride_h = 1, .stride_w = 1, .pad_t = 1, .pad_b = 1, .count_include_pad = 1};
    CU_ASSERT_EQUAL_FATAL(ref_pool(&five, 1, 1, 1, 1, y, 3, 1, e), OCT_OK);
    ref_expect("avg, empty windows", y, avg_want, 3);
    e.max = 1;
    CU_ASSERT_EQUAL_FATAL(ref_pool(&five, 1, 1, 1, 1, y, 3, 1, e), OCT_OK);
    CU_ASSERT(isinf(y[0]) && y[0] < 0 && y[1] == 5 && isinf(y[2]) && y[2] < 0);
    e.relu = 1;
    CU_ASSERT_EQUAL_FATAL(ref_pool(&five, 1, 1, 1, 1, y, 3, 1, e), OCT_OK);
    ref_expect("max + relu, empty windows", y, maxr_want, 3);
}

static void test_ref_add_affine_hand(void)
{
    /* add: (1..4) + (-3, 1, -5, 0) = (-2, 3, -2, 4), ReLU (0, 3, 0, 4), in place on a.
     * affine: x (2 channels of 2) = (1, -2 | 3, 4), scale (2, -1), shift (1, 0.5):
     * (3, -3 | -2.5, -3.5); scale only: (2, -4 | -3, -4); neither + ReLU: (1, 0 | 3, 4). */
    static const float a[4] = {1, 2, 3, 4}, b[4] = {-3, 1, -5, 0}, add_want[4] = {0, 3, 0, 4};
    static const float sc[2] = {2, -1}, sh[2] = {1, 0.5f};
    static const float aff_want[4] = {3, -3, -2.5f, -3.5f}, sc_want[4] = {2, -4, -3, -4}, relu_want[4] = {1, 0, 3, 4};
    static const float ax[4] = {1, -2, 3, 4};
    oct__buf ab = {0}, bb = {0}, xb = {0}, yb = {0}, scb = {0}, shb = {0};
    float y[4];
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(g_ref, &ab, a, 4), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(g_ref, &bb, b, 4), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(g_ref, &xb, ax, 4), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(g_ref, &yb, ax, 4), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(g_ref, &scb, sc, 2), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(g_ref, &shb, sh, 2), OCT_OK);
    oct__add_op add = {oct__view_of(&ab, 1, 1, 2, 2), oct__view_of(&bb, 1, 1, 2, 2), oct__view_of(&ab, 1, 1, 2, 2), 1};
    CU_ASSERT_EQUAL(oct__op_add(g_ref, &add), OCT_OK);
    CU_ASSERT_EQUAL(g_ref->be->read(g_ref, &ab, y), OCT_OK);
    ref_expect("add in place, relu", y, add_want, 4);
    oct__affine_op aff = {oct__view_of(&xb, 1, 2, 1, 2), oct__view_of(&yb, 1, 2, 1, 2), &scb, &shb, 0};
    CU_ASSERT_EQUAL(oct__op_affine(g_ref, &aff), OCT_OK);
    CU_ASSERT_EQUAL(g_ref->be->read(g_ref, &yb, y), OCT_OK);
    ref_expect("affine", y, aff_want, 4);
    aff.shift = NULL;
    CU_ASSERT_EQUAL(oct__op_affine(g_ref, &aff), OCT_OK);
    CU_ASSERT_EQUAL(g_ref->be->read(g_ref, &yb, y), OCT_OK);
    ref_expect("affine, scale only", y, sc_want, 4);
    aff.scale = NULL, aff.relu = 1, aff.y = aff.x;
    CU_ASSERT_EQUAL(oct__op_affine(g_ref, &aff), OCT_OK);
    CU_ASSERT_EQUAL(g_ref->be->read(g_ref, &xb, y), OCT_OK);
    ref_expect("affine in place, relu only", y, relu_want, 4);
    oct__buf_free(g_ref, &shb), oct__buf_free(g_ref, &scb), oct__buf_free(g_ref, &yb);
    oct__buf_free(g_ref, &xb), oct__buf_free(g_ref, &bb), oct__buf_free(g_ref, &ab);
}

/* ------------------------------------------------------------------------------------ */
/* The reference against PyTorch (float64), cases written by test_ops_torch.py           */

static const char *g_torch_dir;
#ifndef OCT_OPS_TORCH_SCRIPT /* set by tests/CMakeLists.txt */
#define OCT_OPS_TORCH_SCRIPT "tests/test_ops_torch.py"
#endif
static int conv_out(int in, int k, int s, int p0, int p1, int d);

/* Load OUTDIR/case<i>_<name>.npy into a new buffer of the reference context; *count
 * receives its length. 0 on failure (reported). */
static int torch_load(int i, const char *name, oct__buf *b, float **host, size_t *count)
{
    char path[4096];
    oct_array a = {0};
    snprintf(path, sizeof path, "%s/case%03d_%s.npy", g_torch_dir, i, name);
    if (oct_npy_load(path, &a) != OCT_OK) {
        printf("\n    %s: %s", path, oct_last_error());
        return 0;
    }
    *count = oct_array_count(&a);
    int ok = oct__buf_upload(g_ref, b, a.data, *count) == OCT_OK;
    if (host) {
        *host = a.data;
        a.data = NULL;
    }
    oct_array_release(&a);
    return ok;
}

static void test_ref_torch(void)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/manifest.txt", g_torch_dir);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        int v[21] = {0}, i = -1;
        char kind[8] = "";
        oct__buf x = {0}, w = {0}, b = {0}, y0 = {0}, res = {0}, yw = {0};
        float *want = NULL, *got = NULL;
        size_t nx = 0, nw = 0, nb = 0, ny = 0, nres = 0, nwant = 0;
        if (sscanf(line, "%7s %d", kind, &i) != 2) continue;
        int ok = 1;
        oct_status s = OCT_OK;
        if (strcmp(kind, "conv") == 0) {
            ok = sscanf(line, "conv %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d", &i, &v[0], &v[1],
                        &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13],
                        &v[14], &v[15], &v[16], &v[17], &v[18], &v[19]) == 21;
            ok = ok && torch_load(i, "x", &x, NULL, &nx) && torch_load(i, "w", &w, NULL, &nw) &&
                 torch_load(i, "b", &b, NULL, &nb) && torch_load(i, "y0", &y0, NULL, &ny) &&
                 torch_load(i, "res", &res, NULL, &nres) && torch_load(i, "y", &yw, &want, &nwant);
            if (ok) {
                int n = v[0], ci = v[1], h = v[2], wd = v[3], co = v[4];
                /* Output size from the definition, checked against the file's. */
                int ho = conv_out(h, v[5], v[7], v[9], v[11], v[13]), wo = conv_out(wd, v[6], v[8], v[10], v[12], v[14]);
                CU_ASSERT_EQUAL(ny, (size_t)n * co * ho * wo);
                oct__convg_op op = {oct__view_of(&x, n, ci, h, wd), oct__view_of(&y0, n, co, ho, wo), {0}, &w,
                                    v[16] ? &b : NULL, v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13],
                                    v[14], v[15], v[17], v[19]};
                if (v[18]) op.res = oct__view_of(&res, n, co, ho, wo);
                s = oct__op_convg(g_ref, &op);
            }
        } else if (strcmp(kind, "pool") == 0) {
            ok = sscanf(line, "pool %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d", &i, &v[0], &v[1], &v[2],
                        &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14],
                        &v[15], &v[16]) == 18;
            ok = ok && torch_load(i, "x", &x, NULL, &nx) && torch_load(i, "y", &yw, &want, &nwant);
            ny = nwant;
            ok = ok && oct__buf_alloc(g_ref, &y0, ny) == OCT_OK;
            if (ok) {
                oct__poolg_op op = {oct__view_of(&x, v[0], v[1], v[2], v[3]), oct__view_of(&y0, v[0], v[1], v[4], v[5]),
                                    v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16]};
                s = oct__op_poolg(g_ref, &op);
            }
        } else {
            ok = 0;
        }
        CU_ASSERT(ok);
        CU_ASSERT_EQUAL(s, OCT_OK);
        if (ok && s == OCT_OK && ny == nwant && (got = malloc(ny * sizeof(float)))) {
            CU_ASSERT_EQUAL(g_ref->be->read(g_ref, &y0, got), OCT_OK);
            char what[600];
            snprintf(what, sizeof what, "ref vs torch: %.*s", (int)strcspn(line, "\n"), line);
            /* Both sum in double and round once: only float32 rounding of the result. */
            CU_ASSERT_EQUAL(compare_floats(what, want, got, ny, 1e-6, 1e-6), 0);
            cases++;
        } else {
            CU_FAIL("case");
        }
        free(got), free(want);
        oct__buf_free(g_ref, &yw), oct__buf_free(g_ref, &res), oct__buf_free(g_ref, &y0);
        oct__buf_free(g_ref, &b), oct__buf_free(g_ref, &w), oct__buf_free(g_ref, &x);
    }
    fclose(f);
    printf("\n    %d cases: ", cases);
    CU_ASSERT(cases >= 16);
}

/* ------------------------------------------------------------------------------------ */
/* The grids                                                                              */

/* A channel slice: c channels at c0 of c + c0 + extra, `lead` floats into the buffer. */
static vspec vs(int n, int c, int h, int w, int c0, int extra, int lead)
{
    vspec v = {n, c, h, w, c + c0 + extra, c0, lead};
    return v;
}

static int conv_out(int in, int k, int s, int p0, int p1, int d)
{
    int span = in + p0 + p1 - d * (k - 1) - 1;
    return span < 0 ? 0 : span / s + 1;
}

/* One convolution case from its parameters; 0 when the kernel does not fit. */
static int make_conv(ocase *c, int n, int ci, int co, int h, int w, int kh, int kw, int sh, int sw, const int pad[4],
                     int dh, int dw, int groups, int i)
{
    memset(c, 0, sizeof *c);
    c->kind = OP_CONV;
    c->kh = kh, c->kw = kw, c->sh = sh, c->sw = sw, c->dh = dh, c->dw = dw, c->groups = groups;
    c->pt = pad[0], c->pl = pad[1], c->pb = pad[2], c->pr = pad[3];
    int ho = conv_out(h, kh, sh, c->pt, c->pb, dh), wo = conv_out(w, kw, sw, c->pl, c->pr, dw);
    if (ho <= 0 || wo <= 0) return 0;
    c->x = vs(n, ci, h, w, i % 3, i % 2, (i / 3) % 2 ? 3 : 0);
    c->y = vs(n, co, ho, wo, (i / 2) % 3, i % 3 == 1, (i / 5) % 2 ? 5 : 0);
    c->bias = i % 2, c->acc = (i / 2) % 2, c->relu = (i / 4) % 2;
    if ((i / 3) % 2) c->res = vs(n, co, ho, wo, i % 2, 1, i % 4 == 1 ? 1 : 0);
    return 1;
}

static void test_convg_grid(void)
{
    static const int ks[][2] = {{1, 1}, {3, 3}, {5, 5}, {7, 7}, {1, 3}, {3, 1}};
    static const int pads[][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 1, 0}, {2, 0, 1, 3}, {3, 3, 3, 3}};
    static const int sizes[][2] = {{7, 7}, {9, 5}, {5, 11}, {13, 13}, {1, 1}, {6, 8}};
    static const int ch1[][2] = {{3, 5}, {16, 8}, {17, 33}, {1, 1}, {8, 16}};
    static const int ch2[][2] = {{4, 6}, {6, 2}, {18, 34}, {2, 2}};
    static const int chdw[] = {1, 5, 16, 17, 32};
    int i = 0, fails = 0, run = 0;
    int npads = g_full ? 5 : 1, nsizes = g_full ? 6 : 1, nbatch = g_full ? 2 : 1;
    for (int kk = 0; kk < 6; kk++)
        for (int s = 1; s <= 2; s++)
            for (int gm = 0; gm < 3; gm++)
                for (int d = 1; d <= 2; d++)
                    for (int pp = 0; pp < npads; pp++)
                        for (int ss = 0; ss < nsizes; ss++)
                            for (int bb = 0; bb < nbatch; bb++, i++) {
                                /* The small grid rotates padding, size and batch with i. */
                                const int *pad = pads[g_full ? pp : i % 5];
                                const int *hw = sizes[g_full ? ss : i % 6];
                                int n = g_full ? 1 + 2 * bb : 1 + 2 * (i % 2);
                                int ci, co, groups;
                                if (gm == 0)
                                    ci = ch1[i % 5][0], co = ch1[i % 5][1], groups = 1;
                                else if (gm == 1)
                                    ci = ch2[i % 4][0], co = ch2[i % 4][1], groups = 2;
                                else
                                    ci = co = groups = chdw[i % 5];
                                /* Now and then unequal strides and dilations. */
                                int sw = i % 7 == 3 ? 3 - s : i % 11 == 5 ? 3 : s, dw = i % 5 == 2 ? 3 - d : d;
                                ocase c;
                                if (!make_conv(&c, n, ci, co, hw[0], hw[1], ks[kk][0], ks[kk][1], s, sw, pad, d, dw,
                                               groups, i))
                                    continue;
                                fails += check_case(&c, 5000 + (uint64_t)i);
                                run++;
                                if (fails > 10) {
                                    printf("\n    (stopping the grid after 10 failing cases)");
                                    return;
                                }
                            }
    printf("\n    %d convolution cases: ", run);
}

/* The shapes the fast paths take (1x1 GEMM, the square-kernel conv paths, depthwise,
 * grouped) at network sizes, with views and every epilogue. */
static void test_convg_paths(void)
{
    static const int p0[4] = {0, 0, 0, 0}, p1[4] = {1, 1, 1, 1}, p2[4] = {2, 2, 2, 2}, p3[4] = {3, 3, 3, 3};
    static const int pa[4] = {0, 0, 1, 1}; /* TF-style SAME padding at stride 2 */
    static const struct {
        int n, ci, co, h, w, k, s;
        const int *pad;
        int groups, i;
    } cfg[] = {
        {1, 64, 256, 14, 14, 1, 1, p0, 1, 9},    /* 1x1 expand, residual + ReLU */
        {2, 256, 64, 28, 28, 1, 1, p0, 1, 0},    /* 1x1 reduce */
        {1, 64, 64, 56, 56, 3, 1, p1, 1, 11},    /* 3x3, residual */
        {3, 32, 48, 17, 19, 3, 1, p1, 1, 14},    /* 3x3, odd size, views, batch 3 */
        {2, 16, 24, 15, 13, 5, 1, p2, 1, 4},     /* 5x5 direct kernel, residual without accumulate */
        {1, 64, 128, 28, 28, 3, 2, p1, 1, 7},    /* 3x3 stride 2 */
        {1, 128, 256, 28, 28, 1, 2, p0, 1, 12},  /* 1x1 stride 2 (downsample shortcut) */
        {1, 3, 64, 64, 64, 7, 2, p3, 1, 5},      /* the stem */
        {2, 32, 32, 28, 28, 3, 1, p1, 32, 9},    /* depthwise 3x3 */
        {1, 48, 48, 29, 27, 3, 2, p1, 48, 15},   /* depthwise 3x3 stride 2 */
        {1, 24, 24, 15, 15, 5, 1, p2, 24, 4},    /* depthwise 5x5 */
        {1, 16, 16, 16, 16, 3, 2, pa, 16, 10},   /* depthwise, asymmetric padding */
        {1, 64, 64, 14, 14, 3, 1, p1, 32, 13},   /* grouped (ResNeXt), 2 channels a group */
        {1, 64, 128, 14, 14, 1, 1, p0, 4, 3},    /* grouped 1x1 */
        {1, 33, 65, 9, 9, 3, 1, pa, 1, 6},       /* groups 1, asymmetric padding */
        {1, 8, 16, 13, 13, 3, 3, p1, 8, 2},      /* channel multiplier 2, stride 3 */
        {1, 128, 128, 7, 7, 3, 1, p1, 1, 8},     /* small plane: the shared im2col */
        {1, 64, 64, 9, 7, 5, 1, pa, 1, 1},       /* shared im2col, asymmetric padding */
        /* 1x1 on the packed-weight GEMM with the epilogue in its tile stores */
        {1, 64, 256, 56, 56, 1, 1, p0, 1, 15},   /* residual, bias, accumulate, ReLU at 56x56 */
        {2, 17, 33, 15, 15, 1, 1, p0, 1, 11},    /* odd channels, batch 2, residual + bias + accumulate */
        {3, 300, 70, 16, 16, 1, 1, p0, 1, 13},   /* two k blocks, batch 3, bias + ReLU */
        {1, 520, 90, 7, 7, 1, 1, p0, 1, 6},      /* three k blocks, 7x7, channels cut, accumulate + ReLU */
        {1, 200, 1030, 9, 9, 1, 1, p0, 1, 4},    /* wide co, residual + ReLU, small plane */
    };
    if (g_tiny) return;
    for (size_t j = 0; j < sizeof cfg / sizeof cfg[0]; j++) {
        ocase c;
        if (!make_conv(&c, cfg[j].n, cfg[j].ci, cfg[j].co, cfg[j].h, cfg[j].w, cfg[j].k, cfg[j].k, cfg[j].s,
                       cfg[j].s, cfg[j].pad, 1, 1, cfg[j].groups, cfg[j].i)) {
            CU_FAIL("shape");
            continue;
        }
        check_case(&c, 6000 + j);
    }
}

/* Output size of a pooling window sweep: floor or ceil mode, PyTorch's rule that the
 * last window must start inside the input or the left padding (`clip`). */
static int pool_out(int in, int k, int s, int p0, int p1, int ceil, int clip)
{
    int span = in + p0 + p1 - k;
    if (span < 0) return 0;
    int o = (ceil ? (span + s - 1) / s : span / s) + 1;
    if (ceil && clip && (o - 1) * s >= in + p0) o--;
    return o;
}

static void test_poolg_grid(void)
{
    static const int ks[][2] = {{1, 1}, {2, 2}, {3, 3}, {5, 5}, {3, 2}};
    static const int pads[][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 1, 0}, {1, 0, 0, 1}, {2, 2, 2, 2}};
    static const int sizes[][2] = {{7, 7}, {8, 5}, {1, 1}, {12, 12}, {6, 9}};
    int i = 0, fails = 0, run = 0;
    int nsz = g_full ? 5 : 1, npad = g_full ? 5 : 1;
    for (int mx = 0; mx < 2; mx++)
        for (int kk = 0; kk < 5; kk++)
            for (int s = 1; s <= 3; s++)
                for (int mode = 0; mode < 3; mode++) /* floor, ceil, ceil without the clip */
                    for (int pp = 0; pp < npad; pp++)
                        for (int ss = 0; ss < nsz; ss++, i++) {
                            const int *pad = pads[g_full ? pp : i % 5];
                            const int *hw = sizes[g_full ? ss : i % 5];
                            ocase c;
                            memset(&c, 0, sizeof c);
                            c.kind = OP_POOL, c.max = mx, c.kh = ks[kk][0], c.kw = ks[kk][1], c.sh = s;
                            c.sw = i % 4 == 1 ? 1 + s % 3 : s;
                            c.pt = pad[0], c.pl = pad[1], c.pb = pad[2], c.pr = pad[3];
                            c.cip = (i / 2) % 2, c.relu = (i / 3) % 2 == 1;
                            int ho = pool_out(hw[0], c.kh, c.sh, c.pt, c.pb, mode > 0, mode == 1);
                            int wo = pool_out(hw[1], c.kw, c.sw, c.pl, c.pr, mode > 0, mode == 1);
                            if (ho <= 0 || wo <= 0) continue;
                            int n = 1 + 2 * (i % 2), ch = 1 + (i * 7) % 19;
                            c.x = vs(n, ch, hw[0], hw[1], i % 3, (i / 2) % 2, i % 5 == 0 ? 1 : 0);
                            c.y = vs(n, ch, ho, wo, (i / 3) % 2, i % 2, i % 3 == 2 ? 2 : 0);
                            fails += check_case(&c, 7000 + (uint64_t)i);
                            run++;
                            if (fails > 10) return;
                        }
    printf("\n    %d pooling cases: ", run);
    if (g_tiny) return;
    /* ResNet's max pool at network size: 3x3 stride 2 padding 1 of 112x112 -> 56x56. */
    ocase c;
    memset(&c, 0, sizeof c);
    c.kind = OP_POOL, c.max = 1, c.kh = c.kw = 3, c.sh = c.sw = 2, c.pt = c.pl = c.pb = c.pr = 1;
    c.x = vs(1, 64, 112, 112, 0, 0, 0), c.y = vs(1, 64, 56, 56, 0, 0, 0);
    check_case(&c, 7999);
    c.max = 0, c.cip = 0, c.x = vs(2, 30, 56, 56, 2, 1, 0), c.y = vs(2, 30, 28, 28, 1, 1, 3);
    check_case(&c, 7998);
}

static void test_add_affine(void)
{
    static const int shapes[][4] = {{1, 1, 1, 1}, {3, 5, 7, 9}, {2, 17, 13, 3}, {1, 64, 56, 56}, {2, 3, 1, 33}};
    int i = 0;
    for (size_t j = 0; j < sizeof shapes / sizeof shapes[0]; j++)
        for (int mode = 0; mode < (g_full ? 12 : 6) && !(g_tiny && shapes[j][1] > 32); mode++, i++) {
            const int *s = shapes[j];
            ocase c;
            memset(&c, 0, sizeof c);
            c.kind = OP_ADD, c.relu = mode % 2, c.inplace = (mode / 2) % 3;
            c.a = vs(s[0], s[1], s[2], s[3], i % 3, i % 2, i % 4 == 1 ? 3 : 0);
            c.b = vs(s[0], s[1], s[2], s[3], (i / 2) % 2, 1, i % 5 == 2 ? 1 : 0);
            c.y = c.inplace == 1 ? c.a : c.inplace == 2 ? c.b : vs(s[0], s[1], s[2], s[3], i % 2, 2, 0);
            check_case(&c, 8000 + (uint64_t)i);
            memset(&c, 0, sizeof c);
            c.kind = OP_AFFINE, c.relu = mode % 2, c.scale = (mode / 2) % 2, c.shift = (mode / 4) % 2;
            c.inplace = (i / 3) % 2;
            if (mode >= 8) c.scale = c.shift = 1; /* full grid: both again with other views */
            c.x = vs(s[0], s[1], s[2], s[3], i % 2, i % 3, i % 4 == 3 ? 5 : 0);
            c.y = c.inplace ? c.x : vs(s[0], s[1], s[2], s[3], (i / 2) % 3, 0, i % 2);
            check_case(&c, 9000 + (uint64_t)i);
        }
}

/* The OctConv plan's ops (conv2d, conv2d_pair, avgpool2, resize, gap, linear) with
 * channel-slice views at odd offsets, batches 1 and 3, every epilogue: the CPU's direct
 * kernel (stride 1), its 1x1 planes as rows, im2col + SGEMM (stride 2, or forced), the
 * OpenCL GEMM and direct kernels. */
static void test_octconv_ops(void)
{
    static const struct {
        int ci, co, h, w, k, s, p;
    } conv[] = {{3, 5, 7, 7, 3, 1, 1},   {16, 8, 9, 5, 3, 1, 1}, {8, 16, 14, 14, 1, 1, 0}, {5, 7, 7, 9, 1, 1, 0},
                {6, 4, 11, 13, 5, 1, 2}, {4, 6, 9, 9, 3, 2, 1}, {7, 3, 8, 8, 1, 2, 0},    {17, 33, 6, 6, 3, 1, 0},
                {2, 3, 5, 4, 3, 1, 2},   {32, 32, 16, 16, 3, 1, 1}};
    int run = 0, fails = 0;
    for (int i = 0; i < (int)(sizeof conv / sizeof conv[0]) * (g_full ? 4 : 2); i++) {
        int j = i % (int)(sizeof conv / sizeof conv[0]);
        int n = 1 + 2 * ((i / 3) % 2);
        int ho = conv_out(conv[j].h, conv[j].k, conv[j].s, conv[j].p, conv[j].p, 1);
        int wo = conv_out(conv[j].w, conv[j].k, conv[j].s, conv[j].p, conv[j].p, 1);
        ocase c;
        memset(&c, 0, sizeof c);
        c.kind = OP_CONV2D, c.groups = 1, c.kh = c.kw = conv[j].k, c.sh = c.sw = conv[j].s, c.pt = conv[j].p;
        c.bias = i % 2, c.acc = (i / 2) % 2, c.relu = (i / 4) % 2;
        c.x = vs(n, conv[j].ci, conv[j].h, conv[j].w, i % 3, i % 2, (i / 3) % 2 ? 3 : 0);
        c.y = vs(n, conv[j].co, ho, wo, (i / 2) % 3, i % 3 == 1, (i / 5) % 2 ? 5 : 0);
        fails += check_case(&c, 11000 + (uint64_t)i), run++;
        /* The low band's pair: x2 of other channels beside x. */
        c.kind = OP_PAIR;
        c.a = vs(n, 1 + (conv[j].ci * 2 + i) % 9, conv[j].h, conv[j].w, (i / 2) % 2, 1, i % 2 ? 1 : 0);
        fails += check_case(&c, 12000 + (uint64_t)i), run++;
        /* With a residual (a bottleneck's last low band), at odd channel offsets. */
        c.res = vs(n, conv[j].co, ho, wo, (i + 1) % 2, i % 3 == 2, i % 2 ? 0 : 2);
        fails += check_case(&c, 13000 + (uint64_t)i), run++;
        if (fails > 10) return;
    }
    /* 1x1 convolutions and pairs on the packed-weight GEMM (cpu): k blocks past the
     * first (more than 256 channels), channel counts no tile divides, batches 1 and 3,
     * every epilogue. */
    static const int one[][5] = {{300, 70, 9, 9, 260}, {64, 96, 14, 14, 40}, {17, 33, 15, 15, 5},
                                 {130, 200, 7, 7, 300}, {33, 17, 28, 28, 65}, {8, 264, 6, 10, 3}};
    for (int i = 0; i < 12; i++) {
        const int *o = one[i % 6];
        int n = 1 + 2 * (i % 2);
        ocase c;
        memset(&c, 0, sizeof c);
        c.kind = OP_CONV2D, c.groups = 1, c.kh = c.kw = 1, c.sh = c.sw = 1, c.pt = 0;
        c.bias = (i / 2) % 2, c.acc = (i / 3) % 2, c.relu = (i + 1) % 2;
        c.x = vs(n, o[0], o[2], o[3], i % 3, i % 2, (i / 3) % 2 ? 3 : 0);
        c.y = vs(n, o[1], o[2], o[3], (i / 2) % 3, i % 3 == 1, (i / 5) % 2 ? 5 : 0);
        fails += check_case(&c, 17000 + (uint64_t)i), run++;
        c.kind = OP_PAIR;
        c.a = vs(n, o[4], o[2], o[3], (i / 2) % 2, 1, i % 2 ? 1 : 0);
        fails += check_case(&c, 18000 + (uint64_t)i), run++;
        c.res = vs(n, o[1], o[2], o[3], i % 2, (i / 2) % 2, i % 3 ? 1 : 0);
        fails += check_case(&c, 19000 + (uint64_t)i), run++;
        if (fails > 10) return;
    }
    static const int sizes[][4] = {{8, 8, 16, 16}, {7, 5, 14, 10}, {5, 5, 5, 5}, {4, 6, 9, 13},
                                   {1, 1, 3, 2},   {16, 17, 32, 34}, {9, 9, 18, 18}};
    for (int i = 0; i < (int)(sizeof sizes / sizeof sizes[0]) * 2; i++) {
        const int *hw = sizes[i % 7];
        int n = 1 + 2 * (i % 2), ch = 1 + (i * 5) % 13;
        ocase c;
        memset(&c, 0, sizeof c);
        /* avgpool2 of the larger plane: y is exactly half (floors odd sizes). */
        c.kind = OP_POOL2;
        c.x = vs(n, ch, hw[2] + i % 2, hw[3], i % 3, i % 2, i % 4 == 1 ? 3 : 0);
        c.y = vs(n, ch, (hw[2] + i % 2) / 2, hw[3] / 2, (i / 2) % 2, 1, i % 3 == 2 ? 2 : 0);
        fails += check_case(&c, 13000 + (uint64_t)i), run++;
        /* resize from the small plane up (an exact 2x where sizes say so), or a copy. */
        memset(&c, 0, sizeof c);
        c.kind = OP_RESIZE, c.acc = (i / 2) % 2, c.relu = (i / 3) % 2;
        c.x = vs(n, ch, hw[0], hw[1], i % 2, 2, i % 3 ? 1 : 0);
        c.y = vs(n, ch, hw[2], hw[3], (i / 3) % 3, i % 2, i % 5 == 1 ? 4 : 0);
        fails += check_case(&c, 14000 + (uint64_t)i), run++;
        /* gap into channels [c0, c0 + ch) of ctot. */
        memset(&c, 0, sizeof c);
        c.kind = OP_GAP;
        c.x = vs(n, ch, hw[2], hw[3], i % 3, i % 2, i % 4 == 3 ? 5 : 0);
        c.y = vs(n, ch, 1, 1, i % 4, (i / 2) % 3, i % 3 == 1 ? 2 * ch + 1 : 0); /* lead: y from an image on */
        fails += check_case(&c, 15000 + (uint64_t)i), run++;
        /* linear (n, in) -> (n, out). */
        memset(&c, 0, sizeof c);
        c.kind = OP_LINEAR, c.bias = i % 3 != 0;
        /* 1-9 images: the CPU backend's groups of 4 and the rest, over 1-12 outputs. */
        int in = 1 + (i * 37) % 130, out = 1 + (i * 7) % 12, ln = 1 + (i * 5) % 9;
        c.x = vs(ln, in, 1, 1, 0, 0, 0);
        c.y = vs(ln, out, 1, 1, 0, 0, 0);
        fails += check_case(&c, 16000 + (uint64_t)i), run++;
        if (fails > 10) return;
    }
    printf("\n    %d cases: ", run);
}

/* NaN and infinities through every op kind, with ReLU: outputs must be NaN exactly where
 * the reference's are (ReLU keeps a NaN, as PyTorch does; max pooling propagates it), and
 * infinite where its are. The shapes keep to the paths that compute each output from its
 * own window (direct kernels, GEMMs, channel lanes, pools; 3x3 layers under 16 channels
 * one way, which no path runs as Winograd): Winograd spreads a NaN to the
 * other outputs of its 2x2 tile (its transforms mix the tile's 4x4 patch), as README's
 * "Semantics decided beyond the seed" says; test_winograd's transform tests run NaN. */
static void test_nonfinite(void)
{
    static const int p0[4] = {0, 0, 0, 0}, p1[4] = {1, 1, 1, 1}, p2[4] = {2, 2, 2, 2}, p3[4] = {3, 3, 3, 3};
    static const struct {
        int ci, co, h, w, k, s;
        const int *pad;
        int groups;
    } conv[] = {
        {8, 8, 12, 12, 3, 1, p1, 1},   /* 3x3, 8 channels: the direct kernel (no Winograd) */
        {4, 6, 11, 9, 5, 1, p2, 1},    /* 5x5 direct */
        {64, 32, 14, 14, 1, 1, p0, 1}, /* 1x1 on the packed GEMM, epilogue in the tile stores */
        {16, 16, 15, 15, 3, 1, p1, 16}, /* depthwise */
        {3, 16, 32, 32, 7, 2, p3, 1},  /* stem: im2col + GEMM */
        {15, 8, 7, 7, 3, 1, p1, 1},    /* 7x7 plane: channel lanes (kdim 135) */
    };
    int fails = 0;
    for (size_t j = 0; j < sizeof conv / sizeof conv[0]; j++)
        for (int acc = 0; acc < 2; acc++) {
            ocase c;
            int i = (int)j * 2 + acc;
            if (!make_conv(&c, 1 + acc, conv[j].ci, conv[j].co, conv[j].h, conv[j].w, conv[j].k, conv[j].k, conv[j].s,
                           conv[j].s, conv[j].pad, 1, 1, conv[j].groups, i)) {
                CU_FAIL("shape");
                continue;
            }
            c.relu = 1, c.acc = acc, c.bias = 1, c.nonfinite = 1;
            fails += check_case(&c, 21000 + (uint64_t)i);
            if (conv[j].groups == 1 && conv[j].s == 1) { /* the OctConv plan's conv2d and pair */
                c.kind = OP_CONV2D;
                memset(&c.res, 0, sizeof c.res);
                fails += check_case(&c, 22000 + (uint64_t)i);
                c.kind = OP_PAIR;
                c.a = vs(c.x.n, 5, conv[j].h, conv[j].w, 1, 1, 0);
                fails += check_case(&c, 23000 + (uint64_t)i);
            }
        }
    for (int i = 0; i < 4; i++) {
        int n = 1 + i % 2, ch = 5 + 3 * i;
        ocase c;
        memset(&c, 0, sizeof c);
        c.nonfinite = 1, c.relu = 1;
        c.kind = OP_RESIZE, c.acc = i % 2; /* an exact 2x upsample (vector rows), then not */
        c.x = vs(n, ch, 8 + i, 9, i % 2, 1, 0);
        c.y = vs(n, ch, i < 2 ? 16 + 2 * i : 19, i < 2 ? 18 : 20, 0, i % 3, 0);
        fails += check_case(&c, 24000 + (uint64_t)i);
        memset(&c, 0, sizeof c);
        c.nonfinite = 1, c.kind = OP_POOL2;
        c.x = vs(n, ch, 16 + i, 34, i % 2, 1, 0);
        c.y = vs(n, ch, (16 + i) / 2, 17, 0, 1, 0);
        fails += check_case(&c, 25000 + (uint64_t)i);
        static const int pads[4] = {1, 1, 1, 1};
        if (make_conv(&c, n, ch, ch, 17, 16, 3, 3, 2, 2, pads, 1, 1, 1, i)) { /* max and average pools */
            c.kind = OP_POOL, c.max = i % 2 == 0, c.cip = i / 2, c.nonfinite = 1, c.relu = 1;
            fails += check_case(&c, 26000 + (uint64_t)i);
        }
        memset(&c, 0, sizeof c);
        c.nonfinite = 1, c.kind = OP_GAP;
        c.x = vs(n, ch, 7 + i, 7, 0, 1, 0);
        c.y = vs(n, ch, 1, 1, i, 1, 0);
        fails += check_case(&c, 27000 + (uint64_t)i);
        memset(&c, 0, sizeof c);
        c.nonfinite = 1, c.kind = OP_LINEAR, c.bias = 1;
        c.x = vs(n, 40 + 37 * i, 1, 1, 0, 0, 0);
        c.y = vs(n, 10, 1, 1, 0, 0, 0);
        fails += check_case(&c, 28000 + (uint64_t)i);
        memset(&c, 0, sizeof c);
        c.nonfinite = 1, c.relu = 1, c.kind = OP_ADD;
        c.a = vs(n, ch, 9, 33, 0, 1, 0);
        c.b = vs(n, ch, 9, 33, 1, 0, 0);
        c.y = vs(n, ch, 9, 33, 0, 0, 0);
        fails += check_case(&c, 29000 + (uint64_t)i);
        memset(&c, 0, sizeof c);
        c.nonfinite = 1, c.relu = 1, c.kind = OP_AFFINE, c.scale = 1, c.shift = i % 2;
        c.x = vs(n, ch, 9, 33, 0, 1, 0);
        c.y = vs(n, ch, 9, 33, 0, 0, 0);
        fails += check_case(&c, 30000 + (uint64_t)i);
    }
    CU_ASSERT_EQUAL(fails, 0);
}

/* ------------------------------------------------------------------------------------ */
/* Failures: every fallible call of an op (allocation, OpenCL call) fails in turn         */

/* For k = 1, 2, ...: a fresh context of the suite's device, the k-th fallible call from
 * the first upload on made to fail; the op must then return an error with a message (or
 * OCT_OK with the unfaulted bits when it made fewer calls), and freeing the context must
 * leave no OpenCL object behind. Ends when a run made fewer than k calls. */
static void check_faults(const ocase *c, uint64_t seed)
{
    odata d;
    float *want = NULL;
    size_t nwant = 0;
    char what[400];
    describe(what, sizeof what, c);
    if (!odata_make(c, seed, &d)) {
        CU_FAIL("case data");
        odata_free(&d);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(case_run(g_dut, c, &d, 0, &want, &nwant), OCT_OK);
    long live = oct_debug_live_cl_objects();
    int failed = 0;
    for (long k = 1; k < 10000; k = fault_next(k)) {
        oct_context *ctx = NULL;
        if (oct_context_create(g_dut_name, &ctx) != OCT_OK) {
            CU_FAIL("context");
            break;
        }
        float *got = NULL;
        size_t ngot = 0;
        oct_debug_fail_at(k);
        oct_status s = case_run(ctx, c, &d, 0, &got, &ngot);
        long calls = oct_debug_fault_calls();
        oct_debug_fail_at(0);
        if (s == OCT_OK) {
            int same = ngot == nwant && memcmp(got, want, nwant * sizeof(float)) == 0;
            if (!same) printf("\n    %s: fault at call %ld: OCT_OK but other results", what, k);
            CU_ASSERT(same);
        } else {
            int ok = (s == OCT_ERR_HOST_MEMORY || s == OCT_ERR_DEVICE_MEMORY || s == OCT_ERR_OPENCL) &&
                     oct_last_error()[0] != '\0';
            if (!ok) printf("\n    %s: fault at call %ld: status %d, '%s'", what, k, (int)s, oct_last_error());
            CU_ASSERT(ok);
            failed++;
        }
        free(got);
        oct_context_free(ctx);
        if (oct_debug_live_cl_objects() != live) {
            printf("\n    %s: fault at call %ld: %ld OpenCL objects left", what, k,
                   oct_debug_live_cl_objects() - live);
            CU_FAIL("OpenCL objects left");
        }
        if (calls < k) break;
    }
    CU_ASSERT(failed > 0);
    free(want);
    odata_free(&d);
}

static void test_faults(void)
{
    static const int p0[4] = {0, 0, 0, 0}, p1[4] = {1, 1, 1, 1}, pa[4] = {0, 1, 1, 0};
    ocase c;
    /* 1x1 GEMM; the conv2d direct kernel (packing, scratch); im2col blocks; shared im2col;
     * depthwise. */
    const struct {
        int n, ci, co, h, w, k, s;
        const int *pad;
        int groups, i;
    } cfg[] = {{1, 16, 32, 9, 9, 1, 1, p0, 1, 3}, {1, 16, 16, 14, 14, 3, 1, p1, 1, 9},
               {2, 8, 12, 11, 9, 3, 2, pa, 2, 4}, {1, 64, 64, 7, 7, 3, 1, p1, 1, 1},
               {1, 16, 16, 12, 12, 3, 1, p1, 16, 5}};
    for (size_t j = 0; j < sizeof cfg / sizeof cfg[0]; j++) {
        if (!make_conv(&c, cfg[j].n, cfg[j].ci, cfg[j].co, cfg[j].h, cfg[j].w, cfg[j].k, cfg[j].k, cfg[j].s, cfg[j].s,
                       cfg[j].pad, 1, 1, cfg[j].groups, cfg[j].i))
            continue;
        check_faults(&c, 9500 + j);
    }
    memset(&c, 0, sizeof c);
    c.kind = OP_POOL, c.max = 1, c.kh = c.kw = 3, c.sh = c.sw = 2, c.pt = c.pl = c.pb = c.pr = 1;
    c.x = vs(2, 5, 12, 12, 1, 1, 0), c.y = vs(2, 5, 6, 6, 0, 1, 2);
    check_faults(&c, 9600);
    memset(&c, 0, sizeof c);
    c.kind = OP_ADD, c.relu = 1, c.a = vs(2, 3, 5, 5, 0, 1, 0), c.b = vs(2, 3, 5, 5, 1, 0, 1), c.y = c.a, c.inplace = 1;
    check_faults(&c, 9601);
    memset(&c, 0, sizeof c);
    c.kind = OP_AFFINE, c.scale = 1, c.x = vs(1, 4, 6, 6, 1, 0, 0), c.y = vs(1, 4, 6, 6, 0, 2, 3);
    check_faults(&c, 9602);
    memset(&c, 0, sizeof c);
    c.kind = OP_PAIR, c.groups = 1, c.kh = c.kw = 3, c.sh = c.sw = 1, c.pt = 1, c.bias = 1, c.relu = 1;
    c.x = vs(2, 8, 9, 9, 1, 1, 2), c.a = vs(2, 5, 9, 9, 0, 2, 0), c.y = vs(2, 6, 9, 9, 2, 0, 1);
    check_faults(&c, 9603);
    memset(&c, 0, sizeof c);
    c.kind = OP_RESIZE, c.acc = 1, c.relu = 1, c.x = vs(2, 3, 4, 5, 1, 0, 1), c.y = vs(2, 3, 8, 10, 0, 1, 0);
    check_faults(&c, 9604);
    memset(&c, 0, sizeof c);
    c.kind = OP_LINEAR, c.bias = 1, c.x = vs(3, 40, 1, 1, 0, 0, 0), c.y = vs(3, 10, 1, 1, 0, 0, 0);
    check_faults(&c, 9605);
}

/* ------------------------------------------------------------------------------------ */
/* Misuse: shapes that do not fit are errors with a message, on every backend            */

#define CHECK_BAD(ctx, call, want)                                                                         \
    do {                                                                                                   \
        oct__clear_error();                                                                                \
        oct_status s_ = (call);                                                                            \
        if (s_ != (want)) printf("\n    %s: %s: status %d, expected %d (%s)", name, #call, (int)s_, (int)(want), \
                                 oct_last_error());                                                        \
        CU_ASSERT_EQUAL(s_, (want));                                                                       \
        if ((want) != OCT_OK) CU_ASSERT(oct_last_error()[0] != '\0');                                     \
    } while (0)

static void check_misuse(oct_context *ctx, const char *name)
{
    oct__buf x = {0}, y = {0}, w = {0}, b = {0};
    float z[512] = {0};
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(ctx, &x, z, 2 * 4 * 5 * 5), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(ctx, &y, z, 2 * 6 * 5 * 5), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(ctx, &w, z, 6 * 4 * 3 * 3), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(ctx, &b, z, 6), OCT_OK);
    oct__convg_op ok = {oct__view_of(&x, 2, 4, 5, 5), oct__view_of(&y, 2, 6, 5, 5), {0}, &w, &b, 3, 3, 1, 1, 1, 1,
                        1, 1, 1, 1, 1, 0, 0};
    CHECK_BAD(ctx, oct__op_convg(ctx, &ok), OCT_OK);
    oct__convg_op c = ok;
    c.y.h = 4; /* Ho must be (5 + 2 - 3) / 1 + 1 = 5 */
    CHECK_BAD(ctx, oct__op_convg(ctx, &c), OCT_ERR_SHAPE_MISMATCH);
    c = ok, c.groups = 4; /* does not divide Co = 6 */
    CHECK_BAD(ctx, oct__op_convg(ctx, &c), OCT_ERR_BAD_SIZE);
    c = ok, c.groups = 2; /* weight then holds twice what (6, 2, 3, 3) needs */
    CHECK_BAD(ctx, oct__op_convg(ctx, &c), OCT_ERR_SHAPE_MISMATCH);
    c = ok, c.res = oct__view_of(&y, 2, 6, 4, 5); /* not y's shape */
    CHECK_BAD(ctx, oct__op_convg(ctx, &c), OCT_ERR_SHAPE_MISMATCH);
    c = ok, c.dil_h = 0;
    CHECK_BAD(ctx, oct__op_convg(ctx, &c), OCT_ERR_BAD_SIZE);
    /* conv2d_pair's residual: y's shape, inside its buffer. */
    oct__buf w2 = {0}, r = {0};
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(ctx, &w2, z, 6 * 2 * 3 * 3), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(ctx, &r, z, 2 * 6 * 5 * 5), OCT_OK);
    oct__conv_pair_op q = {oct__view_of(&x, 2, 2, 5, 5), oct__view_of(&x, 2, 2, 5, 5), oct__view_of(&y, 2, 6, 5, 5),
                           &w2, &w2, &b, NULL, 3, 1, 1, 0, 1, oct__view_of(&r, 2, 6, 5, 5), NULL, 0};
    q.x2.off = 100; /* the second half of x */
    CHECK_BAD(ctx, oct__op_conv2d_pair(ctx, &q), OCT_OK);
    q.res = oct__view_of(&r, 2, 6, 5, 4); /* not y's shape */
    CHECK_BAD(ctx, oct__op_conv2d_pair(ctx, &q), OCT_ERR_SHAPE_MISMATCH);
    q.res = oct__view_of(&r, 2, 6, 5, 5), q.res.off = 1; /* past its buffer */
    CHECK_BAD(ctx, oct__op_conv2d_pair(ctx, &q), OCT_ERR_BAD_SIZE);
    oct__buf_free(ctx, &r), oct__buf_free(ctx, &w2);
    oct__poolg_op p = {oct__view_of(&x, 2, 4, 5, 5), oct__view_of(&y, 2, 3, 3, 3), 1, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0};
    CHECK_BAD(ctx, oct__op_poolg(ctx, &p), OCT_ERR_SHAPE_MISMATCH);
    p.y.c = 4, p.stride_w = 0;
    CHECK_BAD(ctx, oct__op_poolg(ctx, &p), OCT_ERR_BAD_SIZE);
    oct__add_op a = {oct__view_of(&x, 2, 4, 5, 5), oct__view_of(&y, 2, 4, 5, 4), oct__view_of(&y, 2, 4, 5, 5), 0};
    CHECK_BAD(ctx, oct__op_add(ctx, &a), OCT_ERR_SHAPE_MISMATCH);
    oct__affine_op f = {oct__view_of(&x, 2, 4, 5, 5), oct__view_of(&y, 2, 4, 5, 5), &b, NULL, 0};
    /* scale holds 6 values for 4 channels: every backend wants exactly C (dispatch.c) */
    CHECK_BAD(ctx, oct__op_affine(ctx, &f), OCT_ERR_SHAPE_MISMATCH);
    f.y = oct__view_of(&y, 1, 4, 5, 5);
    CHECK_BAD(ctx, oct__op_affine(ctx, &f), OCT_ERR_SHAPE_MISMATCH);
    oct__buf_free(ctx, &b), oct__buf_free(ctx, &w), oct__buf_free(ctx, &y), oct__buf_free(ctx, &x);
}

static void test_misuse(void)
{
    check_misuse(g_ref, "ref");
    check_misuse(g_dut, g_dut_name);
}

/* ------------------------------------------------------------------------------------ */
/* Performance: ResNet-50 layer shapes at 224, batch 1, on the CPU backend                */

typedef struct {
    const char *name;
    int ci, co, hw, k, s, groups;
} perf_shape;

static const perf_shape g_perf[] = {
    {"stem 7x7 s2 3->64 @224", 3, 64, 224, 7, 2, 1},
    {"1x1 64->64 @56", 64, 64, 56, 1, 1, 1},
    {"3x3 64->64 @56", 64, 64, 56, 3, 1, 1},
    {"1x1 64->256 @56", 64, 256, 56, 1, 1, 1},
    {"1x1 256->64 @56", 256, 64, 56, 1, 1, 1},
    {"3x3 s2 128->128 @56", 128, 128, 56, 3, 2, 1},
    {"1x1 s2 256->512 @56", 256, 512, 56, 1, 2, 1},
    {"3x3 128->128 @28", 128, 128, 28, 3, 1, 1},
    {"1x1 512->128 @28", 512, 128, 28, 1, 1, 1},
    {"3x3 256->256 @14", 256, 256, 14, 3, 1, 1},
    {"1x1 1024->256 @14", 1024, 256, 14, 1, 1, 1},
    {"3x3 512->512 @7", 512, 512, 7, 3, 1, 1},
    {"1x1 512->2048 @7", 512, 2048, 7, 1, 1, 1},
    {"dw 3x3 144 @56", 144, 144, 56, 3, 1, 144},
    {"dw 3x3 s2 144 @56", 144, 144, 56, 3, 2, 144},
    {"dw 3x3 576 @14", 576, 576, 14, 3, 1, 576},
    {"grouped 3x3 32g 128 @56", 128, 128, 56, 3, 1, 32},
};

static int run_perf(const char *spec, int reps, const char *only, int batch)
{
    oct_context *ctx = NULL;
    if (oct_context_create(spec, &ctx) != OCT_OK) {
        printf("context %s: %s\n", spec, oct_last_error());
        return 1;
    }
    oct_device_info info;
    double peak = 0;
    oct_context_info(ctx, &info);
    oct_context_peak_gflops(ctx, &peak);
    printf("device: %s (%s); probe peak %.1f GFLOP/s; batch %d, bias and ReLU on, min of %d runs\n", info.name,
           spec, peak, batch, reps);
    printf("%-28s %10s %10s %10s %8s\n", "shape", "MFLOP", "ms", "GFLOP/s", "of peak");
    int rc = 0;
    for (size_t i = 0; i < sizeof g_perf / sizeof g_perf[0] && rc == 0; i++) {
        const perf_shape *p = &g_perf[i];
        if (only && !strstr(p->name, only)) continue;
        int pad = p->k / 2, ho = (p->hw + 2 * pad - p->k) / p->s + 1;
        size_t nx = (size_t)batch * p->ci * p->hw * p->hw, ny = (size_t)batch * p->co * ho * ho;
        size_t nw = (size_t)p->co * (p->ci / p->groups) * p->k * p->k;
        rng_t r = {42};
        float *x = rng_array(&r, nx, -2, 2), *w = rng_array(&r, nw, -0.5f, 0.5f), *bias = rng_array(&r, p->co, -1, 1);
        oct__buf xb = {0}, wb = {0}, bb = {0}, yb = {0};
        double best = -1;
        if (!x || !w || !bias || oct__buf_upload(ctx, &xb, x, nx) != OCT_OK ||
            oct__buf_upload(ctx, &wb, w, nw) != OCT_OK || oct__buf_upload(ctx, &bb, bias, p->co) != OCT_OK ||
            oct__buf_alloc(ctx, &yb, ny) != OCT_OK) {
            rc = 1;
        } else {
            oct__convg_op op = {oct__view_of(&xb, batch, p->ci, p->hw, p->hw), oct__view_of(&yb, batch, p->co, ho, ho), {0},
                                &wb, &bb, p->k, p->k, p->s, p->s, pad, pad, pad, pad, 1, 1, p->groups, 0, 1};
            for (int rep = 0; rep <= reps && rc == 0; rep++) {
                double t0 = oct__now_ms();
                if (oct__op_convg(ctx, &op) != OCT_OK || ctx->be->finish(ctx) != OCT_OK) {
                    printf("%s: %s\n", p->name, oct_last_error());
                    rc = 1;
                }
                double ms = oct__now_ms() - t0;
                if (rep > 0 && (best < 0 || ms < best)) best = ms;
            }
        }
        double flop = 2.0 * ny * (p->ci / p->groups) * p->k * p->k;
        if (rc == 0)
            printf("%-28s %10.1f %10.3f %10.1f %7.1f%%\n", p->name, flop * 1e-6, best, flop / (best * 1e6),
                   100.0 * flop / (best * 1e6) / peak);
        fflush(stdout);
        oct__buf_free(ctx, &yb), oct__buf_free(ctx, &bb), oct__buf_free(ctx, &wb), oct__buf_free(ctx, &xb);
        free(bias), free(w), free(x);
    }
    /* The stem's max pool: 3x3 stride 2 padding 1, (1, 64, 112, 112) -> (1, 64, 56, 56). */
    if (rc == 0 && (!only || strstr("maxpool 3x3 s2 64 @112", only))) {
        size_t nx = (size_t)batch * 64 * 112 * 112, ny = (size_t)batch * 64 * 56 * 56;
        rng_t r = {43};
        float *x = rng_array(&r, nx, -2, 2);
        oct__buf xb = {0}, yb = {0};
        double best = -1;
        if (x && oct__buf_upload(ctx, &xb, x, nx) == OCT_OK && oct__buf_alloc(ctx, &yb, ny) == OCT_OK) {
            oct__poolg_op op = {oct__view_of(&xb, batch, 64, 112, 112), oct__view_of(&yb, batch, 64, 56, 56), 1, 3, 3,
                                2, 2, 1, 1, 1, 1, 0, 0};
            for (int rep = 0; rep <= reps; rep++) {
                double t0 = oct__now_ms();
                if (oct__op_poolg(ctx, &op) != OCT_OK || ctx->be->finish(ctx) != OCT_OK) break;
                double ms = oct__now_ms() - t0;
                if (rep > 0 && (best < 0 || ms < best)) best = ms;
            }
        }
        if (best > 0)
            printf("%-28s %10s %10.3f %10.1f GB/s (input + output)\n", "maxpool 3x3 s2 64 @112", "-", best,
                   (double)(nx + ny) * 4 / (best * 1e6));
        oct__buf_free(ctx, &yb), oct__buf_free(ctx, &xb);
        free(x);
    }
    oct_context_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------------------------ */

#define MAX_DUTS 8

/* A CPU context under $OCTCL_CPU_PATH says in its reason that the path was forced, an
 * OpenCL one under $OCTCL_EXPECT_TILES which tile set it runs: a forced-path run that
 * silently ran the default path would test nothing new. */
static int check_forced_path(const oct_context *ctx)
{
    const char *tiles = getenv("OCTCL_EXPECT_TILES");
    if (ctx->info.backend == OCT_BACKEND_OPENCL && tiles && *tiles) {
        char key[64];
        snprintf(key, sizeof key, strcmp(tiles, "direct") == 0 ? "conv direct only" : "conv tiles %s (", tiles);
        printf("\n    %s", ctx->info.reason);
        if (strstr(ctx->info.reason, key)) return 0;
        printf("\n    expected \"%s\" in the context's reason\n", key);
        return 1;
    }
    const char *path = getenv("OCTCL_CPU_PATH");
    if (ctx->info.backend != OCT_BACKEND_CPU || !path || !*path || strcmp(path, "auto") == 0) return 0;
    char want[64];
    snprintf(want, sizeof want, "cpu code path forced: %s", path);
    printf("\n    cpu: %s", ctx->info.reason);
    if (strstr(ctx->info.reason, want)) return 0;
    printf("\n    OCTCL_CPU_PATH=%s but the context's reason lacks \"%s\"\n", path, want);
    return 1;
}
static char g_specs[MAX_DUTS][64];
static oct_context *g_ctxs[MAX_DUTS];
static int g_ndut;

/* Suite init/cleanup: the suite's context becomes g_dut. */
#define DUT_SUITE(i)                                                                                  \
    static int suite_init_##i(void)                                                                   \
    {                                                                                                 \
        if (oct_context_create(g_specs[i], &g_ctxs[i]) != OCT_OK) {                                   \
            printf("cannot create context %s: %s\n", g_specs[i], oct_last_error());                  \
            return 1;                                                                                 \
        }                                                                                             \
        g_dut = g_ctxs[i], g_dut_name = g_specs[i];                                                   \
        return check_forced_path(g_dut);                                                              \
    }                                                                                                 \
    static int suite_clean_##i(void)                                                                  \
    {                                                                                                 \
        oct_context_free(g_ctxs[i]);                                                                  \
        g_ctxs[i] = NULL, g_dut = NULL;                                                               \
        return 0;                                                                                     \
    }
DUT_SUITE(0)
DUT_SUITE(1)
DUT_SUITE(2)
DUT_SUITE(3)
DUT_SUITE(4)
DUT_SUITE(5)
DUT_SUITE(6)
DUT_SUITE(7)
static int (*const g_inits[MAX_DUTS])(void) = {suite_init_0, suite_init_1, suite_init_2, suite_init_3,
                                               suite_init_4, suite_init_5, suite_init_6, suite_init_7};
static int (*const g_cleans[MAX_DUTS])(void) = {suite_clean_0, suite_clean_1, suite_clean_2, suite_clean_3,
                                                suite_clean_4, suite_clean_5, suite_clean_6, suite_clean_7};

int main(int argc, char **argv)
{
    int perf = 0, reps = 5, batch = 1;
    const char *perf_spec = "cpu", *only = NULL, *only_backend = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--perf") == 0) perf = 1;
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) perf_spec = argv[++i];
        if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc) only = argv[++i];
        if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) batch = atoi(argv[++i]);
        if (strcmp(argv[i], "--torch") == 0 && i + 1 < argc) g_torch_dir = argv[++i];
        if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) only_backend = argv[++i];
    }
    if (perf) return run_perf(perf_spec, reps < 1 ? 1 : reps, only, batch < 1 ? 1 : batch);
    /* $OCTCL_GEMM naming a kernel this CPU lacks (gemm.c then runs the best it has): the
     * forced suite would pass without running what its name says, so it is skipped (77). */
    int want = oct__sgemm_isa_named(getenv("OCTCL_GEMM"));
    if (want >= 0 && !oct__sgemm_supported(want)) {
        printf("skipped: OCTCL_GEMM=%s, which this CPU does not have\n", getenv("OCTCL_GEMM"));
        return 77;
    }
    const char *grid = getenv("OCTCL_OPS_GRID");
    g_full = grid && strcmp(grid, "full") == 0;
    g_tiny = grid && strcmp(grid, "tiny") == 0;
    if (oct_context_create("ref", &g_ref) != OCT_OK) {
        printf("cannot create the reference context: %s\n", oct_last_error());
        return 1;
    }
    /* Every backend: the reference too (its views, canaries, faults and misuse), the
     * CPU backend (its code path as $OCTCL_CPU_PATH forces it), every OpenCL device. */
    int rc = 1;
    /* --backend NAME: that backend's suites only (a forced path of one backend). */
    if (!only_backend || strcmp(only_backend, "ref") == 0) snprintf(g_specs[g_ndut++], sizeof g_specs[0], "ref");
    if (!only_backend || strcmp(only_backend, "cpu") == 0) snprintf(g_specs[g_ndut++], sizeof g_specs[0], "cpu");
    oct_device_info devs[MAX_DUTS - 2];
    int n = 0;
    if (!only_backend || strcmp(only_backend, "opencl") == 0) {
        oct_list_devices(devs, MAX_DUTS - 2, &n);
        if (n == 0) printf("OpenCL suites skipped: %s\n", oct_last_error());
        if (n == 0 && only_backend) {
            rc = 77;
            goto done;
        }
    }
    for (int i = 0; i < n && i < MAX_DUTS - 2; i++) {
        snprintf(g_specs[g_ndut], sizeof g_specs[0], "opencl:%d:%d", devs[i].platform_index, devs[i].device_index);
        if (!skip_forced_tiles(g_specs[g_ndut], NULL)) g_ndut++;
    }
    if (only_backend && strcmp(only_backend, "opencl") == 0 && n > 0 && g_ndut == 0) {
        rc = 77;
        goto done;
    }
    if (g_torch_dir) { /* only the PyTorch comparison: its cases come from test_ops_torch.py */
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", OCT_OPS_TORCH_SCRIPT, g_torch_dir);
        int st = system(cmd);
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            int code = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            printf("%s: exit %d%s\n", cmd, code, code == 77 ? " (no torch: skipped)" : "");
            rc = code == 77 ? 77 : 1;
            goto done;
        }
        if (CU_initialize_registry() != CUE_SUCCESS) goto done;
        CU_pSuite t = CU_add_suite("reference vs PyTorch (float64)", NULL, NULL);
        CU_add_test(t, "convolutions and pools", test_ref_torch);
        rc = run_cunit();
        goto done;
    }
    if (CU_initialize_registry() != CUE_SUCCESS) goto done;
    CU_pSuite s = CU_add_suite("reference vs values from the definitions", NULL, NULL);
    CU_add_test(s, "convolution: kernel, epilogue, dilation, padding, 1x3", test_ref_conv_hand);
    CU_add_test(s, "convolution: depthwise, groups", test_ref_groups_hand);
    CU_add_test(s, "pooling: max with padding, ceil-mode average, empty windows", test_ref_pool_hand);
    CU_add_test(s, "add, affine", test_ref_add_affine_hand);
    for (int i = 0; i < g_ndut; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s vs ref%s", g_specs[i], g_full ? " (full grid)" : "");
        s = CU_add_suite(name, g_inits[i], g_cleans[i]);
        CU_add_test(s, "convg grid", test_convg_grid);
        CU_add_test(s, "convg network shapes", test_convg_paths);
        CU_add_test(s, "poolg grid", test_poolg_grid);
        CU_add_test(s, "add and affine", test_add_affine);
        CU_add_test(s, "conv2d, conv2d_pair, avgpool2, resize, gap, linear", test_octconv_ops);
        CU_add_test(s, "NaN and infinities, ReLU, max pooling", test_nonfinite);
        CU_add_test(s, "every fallible call failing in turn", test_faults);
        CU_add_test(s, "shapes that do not fit", test_misuse);
    }
    rc = run_cunit();
done:
    oct_context_free(g_ref);
    return rc;
}
