/* test_conv_cl.c — the OpenCL convolution kernels against the reference, op by op: the
 * implicit GEMM and the direct kernel each forced ($OCTCL_CONV), and the automatic
 * choice, over odd shapes (kernel 1/3/5, stride 2, padding 0-2, 7x7, 9x5, 33x33,
 * 1x1), channel views with offsets, accumulate / ReLU / bias, partial tiles in every
 * dimension (channels, pixels, K), both row orders of the GEMM, and the fused pair op;
 * the linear layer's own kernel and CLBlast, each forced ($OCTCL_LINEAR) and automatic.
 * Outputs outside the view are canaries that must come back unchanged.
 *
 *   test_conv_cl            the CUnit suite (exit 77 when there is no OpenCL device)
 *   test_conv_cl --quick    one case in seven of the grid, the GEMM and direct kernels
 *                           only, the linear layer on its own kernel only (slow devices:
 *                           oclgrind; reruns under every tile set). $OCTCL_TEST_QUICK=1
 *                           does the same.
 *   test_conv_cl --case I   only case I of the shape grid (and no other test)
 * The device is "opencl" (the best one, GPUs first), or $OCTCL_TEST_DEVICE (opencl:P:D).
 *   test_conv_cl --perf     device GFLOP/s of OctNetMini's convolutions, direct vs GEMM
 */
#include "internal.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static oct_context *g_ref, *g_gemm, *g_direct, *g_auto;
static int g_quick;     /* a shrunk grid */
static int g_case = -1; /* only this case of the shape grid */
static const char *g_spec = "opencl"; /* the device under test: $OCTCL_TEST_DEVICE, else "opencl" */
#define QUICK_STRIDE 2
#define QUICK_MACS 160000 /* the largest case of a quick run, in multiply-adds */

/* ------------------------------------------------------------------------------------ */
/* One convolution case                                                                   */

typedef struct {
    int n, h, w, co, k, stride, pad;
    int ci, cx_total, cx0;     /* x: channels [cx0, cx0 + ci) of (n, cx_total, h, w) */
    int ci2, cx2_total, cx20;  /* pair only (pair = 1): the second input */
    int cy_total, cy0;         /* y: channels [cy0, cy0 + co) of (n, cy_total, ho, wo) */
    int bias, bias2, acc, relu, pair;
} conv_case;

typedef struct {
    float *x, *x2, *w, *w2, *b, *b2, *y0; /* host data; y0: y's contents before the op */
    size_t nx, nx2, nw, nw2, ny;
    int ho, wo;
} case_data;

static void data_free(case_data *d)
{
    free(d->x), free(d->x2), free(d->w), free(d->w2), free(d->b), free(d->b2), free(d->y0);
    memset(d, 0, sizeof *d);
}

static int data_make(const conv_case *c, uint64_t seed, case_data *d)
{
    rng_t r = {seed};
    memset(d, 0, sizeof *d);
    d->ho = oct__conv_out(c->h, c->k, c->stride, c->pad);
    d->wo = oct__conv_out(c->w, c->k, c->stride, c->pad);
    if (d->ho <= 0 || d->wo <= 0) return 0;
    d->nx = (size_t)c->n * c->cx_total * c->h * c->w;
    d->nx2 = c->pair ? (size_t)c->n * c->cx2_total * c->h * c->w : 0;
    d->nw = (size_t)c->co * c->ci * c->k * c->k;
    d->nw2 = c->pair ? (size_t)c->co * c->ci2 * c->k * c->k : 0;
    d->ny = (size_t)c->n * c->cy_total * d->ho * d->wo;
    d->x = rng_array(&r, d->nx + 1, -2, 2);
    d->x2 = rng_array(&r, d->nx2 + 1, -2, 2);
    d->w = rng_array(&r, d->nw + 1, -0.5f, 0.5f);
    d->w2 = rng_array(&r, d->nw2 + 1, -0.5f, 0.5f);
    d->b = rng_array(&r, (size_t)c->co, -2, 2);
    d->b2 = rng_array(&r, (size_t)c->co, -2, 2);
    d->y0 = rng_array(&r, d->ny, -2, 2);
    return d->x && d->x2 && d->w && d->w2 && d->b && d->b2 && d->y0;
}

/* Run the case on ctx; *y receives y's whole buffer (ny floats, the caller frees). */
static oct_status case_run(oct_context *ctx, const conv_case *c, const case_data *d, float **y)
{
    oct__buf x = {0}, x2 = {0}, w = {0}, w2 = {0}, b = {0}, b2 = {0}, yb = {0};
    oct_status s = OCT_OK;
    *y = malloc(d->ny * sizeof(float));
    if (!*y) return OCT_ERR_HOST_MEMORY;
    if ((s = oct__buf_upload(ctx, &x, d->x, d->nx)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &x2, d->x2, d->nx2)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &w, d->w, d->nw)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &w2, d->w2, d->nw2)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &b, d->b, (size_t)c->co)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &b2, d->b2, (size_t)c->co)) != OCT_OK) goto done;
    if ((s = oct__buf_upload(ctx, &yb, d->y0, d->ny)) != OCT_OK) goto done;
    oct__view xv = oct__view_channels(&x, c->n, c->cx_total, c->cx0, c->ci, c->h, c->w);
    oct__view yv = oct__view_channels(&yb, c->n, c->cy_total, c->cy0, c->co, d->ho, d->wo);
    if (!c->pair) {
        oct__conv_op op = {xv, yv, &w, c->bias ? &b : NULL, c->k, c->stride, c->pad, c->acc, c->relu};
        s = oct__op_conv2d(ctx, &op);
    } else {
        oct__view xv2 = oct__view_channels(&x2, c->n, c->cx2_total, c->cx20, c->ci2, c->h, c->w);
        if (ctx->info.backend == OCT_BACKEND_OPENCL) {
            oct__conv_pair_op op = {xv, xv2, yv, &w, &w2, c->bias ? &b : NULL, c->bias2 ? &b2 : NULL,
                                    c->k, c->stride, c->pad, c->acc, c->relu, {0}, NULL, 0};
            s = oct__op_conv2d_pair(ctx, &op);
        } else {
            oct__conv_op op1 = {xv, yv, &w, c->bias ? &b : NULL, c->k, c->stride, c->pad, c->acc, 0};
            oct__conv_op op2 = {xv2, yv, &w2, c->bias2 ? &b2 : NULL, c->k, c->stride, c->pad, 1, c->relu};
            s = oct__op_conv2d(ctx, &op1);
            if (s == OCT_OK) s = oct__op_conv2d(ctx, &op2);
        }
    }
    if (s == OCT_OK) s = ctx->be->read(ctx, &yb, *y);
done:
    oct__buf_free(ctx, &yb), oct__buf_free(ctx, &b2), oct__buf_free(ctx, &b);
    oct__buf_free(ctx, &w2), oct__buf_free(ctx, &w), oct__buf_free(ctx, &x2), oct__buf_free(ctx, &x);
    if (s != OCT_OK) {
        free(*y);
        *y = NULL;
    }
    return s;
}

static void describe(char *buf, size_t len, const conv_case *c, const char *dev)
{
    snprintf(buf, len,
             "%s: n%d %dx%d ci%d[%d/%d]%s co%d[%d/%d] k%d s%d p%d%s%s%s", dev, c->n, c->h, c->w, c->ci, c->cx0,
             c->cx_total, c->pair ? "+pair" : "", c->co, c->cy0, c->cy_total, c->k, c->stride, c->pad,
             c->bias ? " bias" : "", c->acc ? " acc" : "", c->relu ? " relu" : "");
}

/* The case on every OpenCL context against the reference; 0 mismatches expected, and
 * every value outside y's view exactly as it was. */
static void check_case(const conv_case *c, uint64_t seed)
{
    case_data d;
    if (!data_make(c, seed, &d)) {
        CU_FAIL("case data");
        data_free(&d);
        return;
    }
    float *want = NULL;
    CU_ASSERT_EQUAL_FATAL(case_run(g_ref, c, &d, &want), OCT_OK);
    oct_context *duts[3] = {g_gemm, g_direct, g_auto};
    const char *names[3] = {"gemm", "direct", "auto"};
    for (int i = 0; i < 3; i++) {
        if (!duts[i]) continue; /* auto is left out of quick runs */
        float *got = NULL;
        char what[200];
        describe(what, sizeof what, c, names[i]);
        oct_status s = case_run(duts[i], c, &d, &got);
        if (s != OCT_OK) printf("\n    %s: %s", what, oct_last_error());
        CU_ASSERT_EQUAL(s, OCT_OK);
        if (s != OCT_OK) continue;
        CU_ASSERT_EQUAL(compare_floats(what, want, got, d.ny, TOL_ABS, TOL_REL), 0);
        /* Canaries: channels outside [cy0, cy0 + co) are untouched. */
        size_t plane = (size_t)d.ho * d.wo, bad = 0;
        for (int b = 0; b < c->n; b++)
            for (int ch = 0; ch < c->cy_total; ch++) {
                if (ch >= c->cy0 && ch < c->cy0 + c->co) continue;
                size_t o = ((size_t)b * c->cy_total + ch) * plane;
                bad += memcmp(got + o, d.y0 + o, plane * sizeof(float)) != 0;
            }
        if (bad) printf("\n    %s: %zu planes outside the view were written", what, bad);
        CU_ASSERT_EQUAL(bad, 0);
        free(got);
    }
    free(want);
    data_free(&d);
}

/* ------------------------------------------------------------------------------------ */
/* Tests                                                                                  */

/* Multiply-adds of a case (its cost on a simulator). */
static double case_macs(const conv_case *c)
{
    int ho = oct__conv_out(c->h, c->k, c->stride, c->pad), wo = oct__conv_out(c->w, c->k, c->stride, c->pad);
    return (double)c->n * c->co * ho * wo * (c->ci + c->ci2) * c->k * c->k;
}

/* Kernel x stride x padding x size, channels rotating through counts that leave partial
 * tiles in M, in K (both row orders) and in pixels, views with offsets, flags rotating. */
static void test_shapes(void)
{
    static const int ks[] = {1, 3, 5}, strides[] = {1, 2}, pads[] = {0, 1, 2};
    static const int hw[][2] = {{7, 7}, {9, 5}, {33, 33}, {5, 9}, {1, 1}};
    static const int ch[][2] = {{3, 64}, {13, 5}, {16, 70}, {17, 65}, {31, 33}, {1, 1}, {32, 64}, {33, 7}};
    int i = 0;
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 2; b++)
            for (size_t p = 0; p < 3; p++)
                for (size_t s = 0; s < sizeof hw / sizeof hw[0]; s++, i++) {
                    conv_case c = {0};
                    c.k = ks[a], c.stride = strides[b], c.pad = pads[p];
                    c.h = hw[s][0], c.w = hw[s][1];
                    if (oct__conv_out(c.h, c.k, c.stride, c.pad) <= 0 || oct__conv_out(c.w, c.k, c.stride, c.pad) <= 0)
                        continue;
                    int j = i % (int)(sizeof ch / sizeof ch[0]);
                    c.n = 1 + i % 3;
                    c.ci = ch[j][0], c.co = ch[j][1];
                    c.cx0 = i % 4, c.cx_total = c.ci + c.cx0 + (i % 2);
                    c.cy0 = (i / 2) % 3, c.cy_total = c.co + c.cy0 + (i % 3 == 1);
                    c.bias = i % 2, c.acc = (i / 2) % 2, c.relu = (i / 4) % 2;
                    if (g_case >= 0 ? i != g_case : g_quick && (i % QUICK_STRIDE != 0 || case_macs(&c) > QUICK_MACS))
                        continue;
                    check_case(&c, 1000 + (uint64_t)i);
                }
}

/* Full tiles and many K steps: OctNetMini's layer shapes at a small batch. */
static void test_network_shapes(void)
{
    static const conv_case cases[] = {
        {.n = 2, .h = 16, .w = 16, .co = 128, .k = 3, .stride = 1, .pad = 1, .ci = 64, .cx_total = 64, .cy_total = 128},
        {.n = 2, .h = 32, .w = 32, .co = 64, .k = 3, .stride = 1, .pad = 1, .ci = 3, .cx_total = 3, .cy_total = 64,
         .bias = 1, .relu = 1},
        {.n = 3, .h = 16, .w = 16, .co = 64, .k = 3, .stride = 1, .pad = 1, .ci = 32, .cx_total = 64, .cx0 = 32,
         .cy_total = 128, .cy0 = 64, .acc = 1, .relu = 1, .bias = 1},
        {.n = 1, .h = 20, .w = 12, .co = 96, .k = 3, .stride = 2, .pad = 1, .ci = 48, .cx_total = 50, .cx0 = 1,
         .cy_total = 96},
        {.n = 2, .h = 8, .w = 8, .co = 40, .k = 1, .stride = 1, .pad = 0, .ci = 200, .cx_total = 200, .cy_total = 40},
    };
    /* Quick runs: one case with two tiles of every GPU size in M (65 > 64) and in pixels
     * (144 > 128), partial ones, and two partial K steps per tap (17 channels). */
    static const conv_case quick = {.n = 1, .h = 12, .w = 12, .co = 65, .k = 3, .stride = 1, .pad = 1, .ci = 17,
                                    .cx_total = 19, .cx0 = 1, .cy_total = 66, .cy0 = 1, .bias = 1, .relu = 1};
    if (g_quick) {
        check_case(&quick, 2100);
        return;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], 2000 + i);
}

/* y (=|+=) conv(x1, w1) + conv(x2, w2) + b1 + b2 as one op. */
static void test_pair(void)
{
    static const int cfg[][9] = {
        /* ci, ci2, co, h, w, k, stride, pad, n */
        {32, 32, 64, 16, 16, 3, 1, 1, 2}, {5, 13, 7, 9, 5, 3, 1, 1, 3}, {17, 3, 65, 11, 11, 5, 2, 2, 1},
        {0, 16, 8, 8, 8, 3, 1, 1, 2},     {16, 0, 8, 8, 8, 3, 1, 1, 2}, {64, 64, 64, 16, 16, 3, 1, 1, 1},
        {1, 1, 1, 1, 1, 1, 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        if (g_quick && (i == 0 || i == 2 || i == 5)) continue; /* the large ones */
        const int *f = cfg[i];
        conv_case c = {0};
        c.pair = 1;
        c.ci = f[0], c.ci2 = f[1], c.co = f[2], c.h = f[3], c.w = f[4], c.k = f[5], c.stride = f[6], c.pad = f[7];
        c.n = f[8];
        c.cx0 = (int)i % 2, c.cx_total = c.ci + c.cx0;
        c.cx20 = 3, c.cx2_total = c.ci2 + 5;
        c.cy0 = (int)i % 3, c.cy_total = c.co + 2 * c.cy0;
        c.bias = i % 2 == 0, c.bias2 = i % 3 != 1, c.acc = i % 2, c.relu = i % 3 == 0;
        check_case(&c, 3000 + i);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Performance: device GFLOP/s of OctNetMini's convolutions at batch 32, 32x32 input     */

typedef struct {
    const char *name;
    int ci, ci2, co, hw;
} perf_shape;

static const perf_shape g_perf[] = {
    {"stem 3->64 @32", 3, 0, 64, 32},
    {"b1 HH 32->64 @32 (a.5)", 32, 0, 64, 32},
    {"b1 LL/HL/LH 32->64 @16", 32, 0, 64, 16},
    {"b2 HH 64->64 @32 (a.5)", 64, 0, 64, 32},
    {"b2 LL/HL/LH 64->64 @16", 64, 0, 64, 16},
    {"b1 64->128 @32 (a0)", 64, 0, 128, 32},
    {"b2 128->128 @32 (a0)", 128, 0, 128, 32},
    {"b1 HL+LL pair 32+32->64 @16", 32, 32, 64, 16},
    {"b2 HL+LL pair 64+64->64 @16", 64, 64, 64, 16},
    {"b1 HH 48->96 @32 (a.25)", 48, 0, 96, 32},
    {"b1 LH 16->96 @16 (a.25)", 16, 0, 96, 16},
    {"b1 HL+LL pair 48+16->32 @16", 48, 16, 32, 16},
    {"b2 HH 96->96 @32 (a.25)", 96, 0, 96, 32},
    {"b2 LH 32->96 @16 (a.25)", 32, 0, 96, 16},
    {"b2 HL+LL pair 96+32->32 @16", 96, 32, 32, 16},
};

/* Minimum device time (ms) of `reps` runs of the case on ctx (-1 on failure). */
static double perf_run(oct_context *ctx, const conv_case *c, const case_data *d, int reps, int split_pair)
{
    oct__buf x = {0}, x2 = {0}, w = {0}, w2 = {0}, yb = {0};
    double best = -1;
    if (oct__buf_upload(ctx, &x, d->x, d->nx) != OCT_OK || oct__buf_upload(ctx, &x2, d->x2, d->nx2) != OCT_OK ||
        oct__buf_upload(ctx, &w, d->w, d->nw) != OCT_OK || oct__buf_upload(ctx, &w2, d->w2, d->nw2) != OCT_OK ||
        oct__buf_upload(ctx, &yb, d->y0, d->ny) != OCT_OK)
        goto done;
    oct__view xv = oct__view_of(&x, c->n, c->ci, c->h, c->w);
    oct__view xv2 = oct__view_of(&x2, c->n, c->ci2, c->h, c->w);
    oct__view yv = oct__view_of(&yb, c->n, c->co, d->ho, d->wo);
    for (int r = 0; r <= reps; r++) { /* r = 0: warm-up */
        double ms = 0;
        oct_status s = oct_context_profile(ctx, 1);
        if (!c->pair) {
            oct__conv_op op = {xv, yv, &w, NULL, c->k, c->stride, c->pad, 0, 1};
            if (s == OCT_OK) s = oct__op_conv2d(ctx, &op);
        } else if (split_pair) {
            oct__conv_op op1 = {xv, yv, &w, NULL, c->k, c->stride, c->pad, 0, 0};
            oct__conv_op op2 = {xv2, yv, &w2, NULL, c->k, c->stride, c->pad, 1, 1};
            if (s == OCT_OK) s = oct__op_conv2d(ctx, &op1);
            if (s == OCT_OK) s = oct__op_conv2d(ctx, &op2);
        } else {
            oct__conv_pair_op op = {xv, xv2, yv, &w, &w2, NULL, NULL, c->k, c->stride, c->pad, 0, 1, {0}, NULL, 0};
            if (s == OCT_OK) s = oct__op_conv2d_pair(ctx, &op);
        }
        if (s == OCT_OK) s = oct_context_device_ms(ctx, &ms);
        if (s != OCT_OK) {
            printf("perf: %s\n", oct_last_error());
            best = -1;
            goto done;
        }
        if (r > 0 && (best < 0 || ms < best)) best = ms;
    }
done:
    oct_context_profile(ctx, 0);
    oct__buf_free(ctx, &yb), oct__buf_free(ctx, &w2), oct__buf_free(ctx, &w), oct__buf_free(ctx, &x2);
    oct__buf_free(ctx, &x);
    return best;
}

static int run_perf(int reps, int only)
{
    oct_device_info info;
    oct_context_info(g_gemm, &info);
    double peak = 0;
    oct_context_peak_gflops(g_gemm, &peak);
    printf("device: %s | %s | %s; probe peak %.1f GFLOP/s; batch 32, k3 s1 p1, min of %d runs (device time)\n",
           info.name, info.platform, info.driver, peak, reps);
    printf("%-30s %12s %12s %12s %8s\n", "shape", "GFLOP", "direct GF/s", "gemm GF/s", "speedup");
    for (size_t i = 0; i < sizeof g_perf / sizeof g_perf[0]; i++) {
        if (only >= 0 && (size_t)only != i) continue;
        const perf_shape *p = &g_perf[i];
        conv_case c = {.n = 32, .h = p->hw, .w = p->hw, .co = p->co, .k = 3, .stride = 1, .pad = 1, .ci = p->ci,
                       .cx_total = p->ci, .ci2 = p->ci2, .cx2_total = p->ci2, .cy_total = p->co, .pair = p->ci2 > 0};
        case_data d;
        if (!data_make(&c, 7, &d)) return 1;
        double flop = 2.0 * c.n * c.co * (double)d.ho * d.wo * (c.ci + c.ci2) * c.k * c.k;
        double md = perf_run(g_direct, &c, &d, reps, 1);
        double mg = perf_run(g_gemm, &c, &d, reps, 0);
        printf("%-30s %12.3f %12.2f %12.2f %7.2fx", p->name, flop * 1e-9, flop / (md * 1e6), flop / (mg * 1e6),
               md / mg);
        if (c.pair) { /* the same two convolutions as two GEMM ops */
            double ms = perf_run(g_gemm, &c, &d, reps, 1);
            printf("   (two GEMM ops: %.2f GF/s)", flop / (ms * 1e6));
        }
        printf("\n");
        fflush(stdout);
        data_free(&d);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */

/* An OpenCL context with the environment variable var set to mode (NULL: unset). */
static oct_context *make_ctx_env(const char *var, const char *mode)
{
    oct_context *ctx = NULL;
    if (mode)
        setenv(var, mode, 1);
    else
        unsetenv(var);
    if (oct_context_create(g_spec, &ctx) != OCT_OK)
        printf("%s context (%s=%s): %s\n", g_spec, var, mode ? mode : "auto", oct_last_error());
    unsetenv(var);
    return ctx;
}

static oct_context *make_ctx(const char *mode) { return make_ctx_env("OCTCL_CONV", mode); }

/* Whether a context's reason says it runs tile set `name` ("direct": the direct kernel
 * alone). */
static int reason_has_tiles(const char *reason, const char *name)
{
    char key[64];
    if (strcmp(name, "direct") == 0) return strstr(reason, "conv direct only") != NULL;
    snprintf(key, sizeof key, "conv tiles %s (", name);
    return strstr(reason, key) != NULL;
}

/* ------------------------------------------------------------------------------------ */
/* The linear layer                                                                       */

/* y = x W^T + b on ctx against the reference, for the shapes of OctNetMini's head and
 * one large enough that the automatic choice is CLBlast. */
static void check_linear(oct_context *ctx, const char *name)
{
    static const int shapes[][4] = {{1, 128, 10, 1}, {256, 128, 10, 1}, {3, 1, 7, 0}, {7, 33, 5, 0},
                                    {64, 300, 1000, 1}};
    rng_t r = {11};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int n = shapes[i][0], in = shapes[i][1], out = shapes[i][2], has_bias = shapes[i][3];
        if (g_quick && (double)n * in * out > QUICK_MACS) continue;
        float *x = rng_array(&r, (size_t)n * in, -1, 1), *w = rng_array(&r, (size_t)out * in, -1, 1);
        float *b = rng_array(&r, (size_t)out, -1, 1), *y[2] = {NULL, NULL};
        oct_context *c[2] = {g_ref, ctx};
        for (int k = 0; k < 2; k++) {
            oct__buf xb = {0}, wb = {0}, bb = {0}, yb = {0};
            y[k] = malloc((size_t)n * out * sizeof(float));
            /* y starts as NaN: the op must overwrite it. */
            for (size_t j = 0; y[k] && j < (size_t)n * out; j++) y[k][j] = NAN;
            CU_ASSERT_PTR_NOT_NULL_FATAL(y[k]);
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &xb, x, (size_t)n * in), OCT_OK);
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &wb, w, (size_t)out * in), OCT_OK);
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &bb, b, (size_t)out), OCT_OK);
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &yb, y[k], (size_t)n * out), OCT_OK);
            oct__linear_op op = {&xb, &wb, has_bias ? &bb : NULL, &yb, n, in, out};
            CU_ASSERT_EQUAL(oct__op_linear(c[k], &op), OCT_OK);
            CU_ASSERT_EQUAL(c[k]->be->read(c[k], &yb, y[k]), OCT_OK);
            oct__buf_free(c[k], &yb), oct__buf_free(c[k], &bb), oct__buf_free(c[k], &wb), oct__buf_free(c[k], &xb);
        }
        char what[96];
        snprintf(what, sizeof what, "linear %s (%d x %d -> %d)%s", name, n, in, out, has_bias ? " + bias" : "");
        CU_ASSERT_EQUAL(compare_floats(what, y[0], y[1], (size_t)n * out, TOL_ABS, TOL_REL), 0);
        free(y[1]), free(y[0]), free(b), free(w), free(x);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Init's step down                                                                       */

/* The case on ctx against the reference (values only). */
static void check_on(oct_context *ctx, const char *label, const conv_case *c, uint64_t seed)
{
    case_data d;
    float *want = NULL, *got = NULL;
    char what[200];
    CU_ASSERT_FATAL(data_make(c, seed, &d));
    describe(what, sizeof what, c, label);
    CU_ASSERT_EQUAL(case_run(g_ref, c, &d, &want), OCT_OK);
    oct_status s = case_run(ctx, c, &d, &got);
    if (s != OCT_OK) printf("\n    %s: %s", what, oct_last_error());
    CU_ASSERT_EQUAL(s, OCT_OK);
    if (want && got) CU_ASSERT_EQUAL(compare_floats(what, want, got, d.ny, TOL_ABS, TOL_REL), 0);
    free(got), free(want);
    data_free(&d);
}

/* Compiled kernels allowing fewer work-items than a tile set's work-group (as on
 * register-limited GPUs; $OCTCL_KERNEL_WG_LIMIT pretends it): init rebuilds with the
 * next set, or the direct kernel alone, says so in the reason, and the convolutions
 * still match the reference. */
static void test_init_step_down(void)
{
    static const struct {
        const char *tiles, *limit, *want, *unwanted;
    } runs[] = {
        {"gpu", "100", "[gpu: the built kernel allows 100 of 256 work-items", "conv tiles gpu ("},
        {NULL, "3", "conv direct only [", "conv tiles"},
    };
    static const conv_case c1 = {.n = 1, .h = 9, .w = 7, .co = 33, .k = 3, .stride = 1, .pad = 1, .ci = 17,
                                 .cx_total = 17, .cy_total = 33, .bias = 1, .relu = 1};
    static const conv_case c2 = {.n = 1, .h = 8, .w = 8, .co = 20, .k = 3, .stride = 1, .pad = 1, .ci = 9,
                                 .cx_total = 9, .ci2 = 7, .cx2_total = 7, .cy_total = 20, .bias = 1, .bias2 = 1,
                                 .pair = 1};
    /* What the run was started with (the tile-set reruns set OCTCL_GEMM_TILES), restored
     * after each context. */
    static const char *const vars[] = {"OCTCL_GEMM_TILES", "OCTCL_KERNEL_WG_LIMIT", "OCTCL_CONV"};
    char *saved[3];
    for (int v = 0; v < 3; v++) saved[v] = env_save(vars[v]);
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        oct_context *ctx = NULL;
        oct_device_info info;
        /* The second run steps down through the small set (a CPU device's list is cpu,
         * small), which PoCL 5 aborts on as when it is forced. */
        if (skip_forced_tiles(g_spec, runs[i].tiles ? runs[i].tiles : "small")) continue;
        if (runs[i].tiles) setenv("OCTCL_GEMM_TILES", runs[i].tiles, 1);
        setenv("OCTCL_KERNEL_WG_LIMIT", runs[i].limit, 1);
        setenv("OCTCL_CONV", "gemm", 1);
        oct_status s = oct_context_create(g_spec, &ctx);
        for (int v = 0; v < 3; v++) env_put(vars[v], saved[v]);
        if (s != OCT_OK) printf("\n    %s: %s", g_spec, oct_last_error());
        CU_ASSERT_EQUAL_FATAL(s, OCT_OK);
        CU_ASSERT_EQUAL(oct_context_info(ctx, &info), OCT_OK);
        printf("\n    kernel work-group limit %s: %s", runs[i].limit, info.reason);
        CU_ASSERT_PTR_NOT_NULL(strstr(info.reason, runs[i].want));
        CU_ASSERT_PTR_NULL(strstr(info.reason, runs[i].unwanted));
        check_on(ctx, runs[i].limit, &c1, 4000 + i);
        check_on(ctx, runs[i].limit, &c2, 4100 + i);
        oct_context_free(ctx);
    }
    for (int v = 0; v < 3; v++) free(saved[v]);
}

static void test_linear(void)
{
    static const char *const modes[] = {"kernel", "clblast", NULL};
    for (int i = 0; i < 3; i++) {
        if (g_quick && i != 0) continue;
        oct_context *ctx = make_ctx_env("OCTCL_LINEAR", modes[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
        check_linear(ctx, modes[i] ? modes[i] : "auto");
        oct_context_free(ctx);
    }
}

int main(int argc, char **argv)
{
    int perf = 0, reps = 5, only = -1;
    const char *quick_env = getenv("OCTCL_TEST_QUICK"), *spec_env = getenv("OCTCL_TEST_DEVICE");
    g_quick = quick_env && *quick_env && strcmp(quick_env, "0") != 0;
    if (spec_env && *spec_env) g_spec = spec_env;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) g_quick = 1;
        if (strcmp(argv[i], "--case") == 0 && i + 1 < argc) g_case = atoi(argv[++i]);
        if (strcmp(argv[i], "--perf") == 0) perf = 1;
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc) only = atoi(argv[++i]);
    }
    oct_device_info devs[1];
    int count = 0;
    oct_list_devices(devs, 1, &count);
    if (count == 0) {
        printf("no OpenCL device: %s (skipped)\n", oct_last_error());
        return 77;
    }
    if (skip_forced_tiles(g_spec, NULL)) return 77;
    int rc = 1;
    if (oct_context_create("ref", &g_ref) != OCT_OK) goto done;
    if (!(g_gemm = make_ctx("gemm")) || !(g_direct = make_ctx("direct"))) goto done;
    if (!g_quick && g_case < 0 && !(g_auto = make_ctx(NULL))) goto done;
    {
        oct_device_info info;
        oct_context_info(g_gemm, &info);
        printf("device: %s (%s)\n", info.name, info.reason);
        /* $OCTCL_EXPECT_TILES=NAME: the run is void unless that tile set (or "direct
         * only") is what the context built, so a forced set that silently fell back
         * fails instead of testing another one. */
        const char *want = getenv("OCTCL_EXPECT_TILES");
        if (want && *want && !reason_has_tiles(info.reason, want)) {
            printf("error: expected conv tiles \"%s\", the context says: %s\n", want, info.reason);
            goto done;
        }
    }
    if (perf) {
        rc = run_perf(reps < 1 ? 1 : reps, only);
        goto done;
    }
    if (CU_initialize_registry() != CUE_SUCCESS) goto done;
    CU_pSuite s = CU_add_suite("OpenCL convolution vs ref", NULL, NULL);
    CU_add_test(s, "kernel x stride x padding x size, views", test_shapes);
    if (g_case < 0) {
        CU_add_test(s, "network shapes", test_network_shapes);
        CU_add_test(s, "fused pair", test_pair);
        CU_add_test(s, "linear: own kernel, CLBlast, automatic choice", test_linear);
        CU_add_test(s, "init steps down on a kernel work-group limit", test_init_step_down);
    }
    rc = run_cunit();
done:
    oct_context_free(g_auto);
    oct_context_free(g_direct);
    oct_context_free(g_gemm);
    oct_context_free(g_ref);
    if (oct_debug_live_cl_objects() != 0) {
        printf("error: %ld OpenCL objects left after freeing every context\n", oct_debug_live_cl_objects());
        rc = 1;
    }
    return rc;
}
