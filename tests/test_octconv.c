/* test_octconv.c — the OctConv layer, split and merge on every backend against the
 * reference, the reference against PyTorch fixtures, and every error status.
 *
 * One suite per device under test: the native CPU path and each OpenCL device found
 * (PoCL here and in CI, the H100 on the GPU machine). Run with --expect-no-opencl when
 * the ICD loader is pointed at an empty folder: the CPU suites still run and the OpenCL
 * ones are reported as skipped, with the reason.
 *
 * --quick (or $OCTCL_TEST_QUICK=1) runs about one case in five of each grid, for slow
 * devices (oclgrind) and reruns under every tile set; --opencl-only leaves out the native
 * CPU suite.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef OCT_FIXTURE_DIR
#define OCT_FIXTURE_DIR "tests/fixtures"
#endif

#define MAX_DUTS 8

static oct_context *g_ref;                /* the oracle */
static oct_context *g_dut;                /* the device under test of the running suite */
static char g_dut_spec[MAX_DUTS][32];
static int g_dut_count;
static int g_dut_next;
static int g_expect_no_opencl;
static int g_quick; /* run one grid case in QUICK_STRIDE */
#define QUICK_STRIDE 5

/* Whether the grid's case number i is left out of a quick run. */
static int quick_skip(int i) { return g_quick && i % QUICK_STRIDE != 0; }

static const double ALPHAS[] = {0, 0.25, 0.5, 0.75, 1};
#define N_ALPHAS (int)(sizeof ALPHAS / sizeof ALPHAS[0])

/* ------------------------------------------------------------------------------------ */
/* A layer case: weights, inputs, and running it on one context                          */

typedef struct {
    oct_octconv_params p;
    int n, h, w;
    float *weight[OCT_PATH_COUNT];
    size_t weight_count[OCT_PATH_COUNT];
    float *bias[OCT_PATH_COUNT];
    size_t bias_count[OCT_PATH_COUNT];
    oct_shape in;
    float *xh, *xl;  /* (n, cin_h, h, w), (n, cin_l, h/2, w/2) */
} layer_case;

static void case_free(layer_case *c)
{
    for (int i = 0; i < OCT_PATH_COUNT; i++) {
        free(c->weight[i]);
        free(c->bias[i]);
    }
    free(c->xh);
    free(c->xl);
    memset(c, 0, sizeof *c);
}

/* Channel split without a context: the same rule the layer uses. */
static void split_channels(const oct_octconv_params *p, int *cin_h, int *cin_l, int *cout_h, int *cout_l)
{
    *cin_l = oct_low_channels(p->cin, p->alpha_in);
    *cin_h = p->cin - *cin_l;
    *cout_l = oct_low_channels(p->cout, p->alpha_out);
    *cout_h = p->cout - *cout_l;
}

/* Weights uniform in ±1/sqrt(fan_in) (PyTorch's default bound), inputs in [-2, 2]. */
static void case_make(layer_case *c, const oct_octconv_params *p, int n, int h, int w, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->p = *p;
    c->n = n;
    c->h = h;
    c->w = w;
    rng_t r = {seed};
    int ci_h, ci_l, co_h, co_l, k = p->kernel_size;
    split_channels(p, &ci_h, &ci_l, &co_h, &co_l);
    int ci[OCT_PATH_COUNT] = {ci_h, ci_h, ci_l, ci_l}, co[OCT_PATH_COUNT] = {co_h, co_l, co_l, co_h};
    for (int i = 0; i < OCT_PATH_COUNT; i++) {
        if (ci[i] == 0 || co[i] == 0) continue;
        float bound = 1.0f / sqrtf((float)(ci[i] * k * k));
        c->weight_count[i] = (size_t)co[i] * ci[i] * k * k;
        c->weight[i] = rng_array(&r, c->weight_count[i], -bound, bound);
        if (p->bias) {
            c->bias_count[i] = (size_t)co[i];
            c->bias[i] = rng_array(&r, c->bias_count[i], -bound, bound);
        }
    }
    c->in = oct_shape_bands(n, ci_h, ci_l, h, w);
    c->xh = rng_array(&r, oct_shape_high_count(&c->in), -2, 2);
    c->xl = rng_array(&r, oct_shape_low_count(&c->in), -2, 2);
}

/* Run the case on ctx. On OCT_OK, *yh / *yl hold the output bands (NULL when absent)
 * and *os their shape. */
static oct_status case_run(oct_context *ctx, const layer_case *c, float **yh, float **yl, oct_shape *os)
{
    oct_octconv *layer = NULL;
    oct_tensor *x = NULL, *y = NULL;
    *yh = *yl = NULL;
    oct_status s = oct_octconv_create(ctx, &c->p, &layer);
    if (s != OCT_OK) goto done;
    for (int i = 0; i < OCT_PATH_COUNT; i++) {
        if (!c->weight[i]) continue;
        s = oct_octconv_set_path(layer, (oct_path)i, c->weight[i], c->weight_count[i], c->bias[i], c->bias_count[i]);
        if (s != OCT_OK) goto done;
    }
    s = oct_tensor_create(ctx, &c->in, &x);
    if (s != OCT_OK) goto done;
    s = oct_tensor_write(x, c->xh, c->xl);
    if (s != OCT_OK) goto done;
    s = oct_octconv_output_shape(layer, &c->in, os);
    if (s != OCT_OK) goto done;
    s = oct_tensor_create(ctx, os, &y);
    if (s != OCT_OK) goto done;
    s = oct_octconv_forward(layer, x, y);
    if (s != OCT_OK) goto done;
    size_t nh = oct_shape_high_count(os), nl = oct_shape_low_count(os);
    *yh = nh ? malloc(nh * sizeof(float)) : NULL;
    *yl = nl ? malloc(nl * sizeof(float)) : NULL;
    s = oct_tensor_read(y, *yh, *yl);
done:
    if (s != OCT_OK) {
        free(*yh);
        free(*yl);
        *yh = *yl = NULL;
    }
    oct_tensor_free(y);
    oct_tensor_free(x);
    oct_octconv_free(layer);
    return s;
}

static void describe(char *buf, size_t len, const layer_case *c)
{
    snprintf(buf, len, "cin=%d cout=%d k=%d s=%d p=%d a_in=%g a_out=%g bias=%d n=%d %dx%d", c->p.cin, c->p.cout,
             c->p.kernel_size, c->p.stride, c->p.padding, c->p.alpha_in, c->p.alpha_out, c->p.bias, c->n, c->h,
             c->w);
}

/* Run on the reference and the device under test; both must agree on the status and,
 * on success, on every output value. Returns the status the reference gave. */
static oct_status check_case(const oct_octconv_params *p, int n, int h, int w, uint64_t seed)
{
    layer_case c;
    case_make(&c, p, n, h, w, seed);
    char what[160];
    describe(what, sizeof what, &c);
    float *rh, *rl, *dh, *dl;
    oct_shape rs, ds;
    oct_status sr = case_run(g_ref, &c, &rh, &rl, &rs);
    oct_status sd = case_run(g_dut, &c, &dh, &dl, &ds);
    if (sr != sd) printf("\n    %s: reference says %s, device says %s (%s)", what, oct_status_string(sr),
                         oct_status_string(sd), oct_last_error());
    CU_ASSERT_EQUAL(sr, sd);
    if (sr == OCT_OK && sd == OCT_OK) {
        CU_ASSERT_EQUAL(memcmp(&rs, &ds, sizeof rs), 0);
        char band[200];
        snprintf(band, sizeof band, "%s y_h", what);
        CU_ASSERT_EQUAL(compare_floats(band, rh, dh, oct_shape_high_count(&rs), TOL_ABS, TOL_REL), 0);
        snprintf(band, sizeof band, "%s y_l", what);
        CU_ASSERT_EQUAL(compare_floats(band, rl, dl, oct_shape_low_count(&rs), TOL_ABS, TOL_REL), 0);
    }
    free(rh);
    free(rl);
    free(dh);
    free(dl);
    case_free(&c);
    return sr;
}

static oct_octconv_params params(int cin, int cout, int k, int s, int pad, double ai, double ao, int bias)
{
    oct_octconv_params p = {cin, cout, k, s, pad, ai, ao, bias};
    return p;
}

/* ------------------------------------------------------------------------------------ */
/* The grid                                                                               */

/* Every (alpha_in, alpha_out) pair, uneven channel counts, odd non-square input. */
static void test_alpha_pairs(void)
{
    uint64_t seed = 100;
    for (int i = 0; i < N_ALPHAS; i++)
        for (int j = 0; j < N_ALPHAS; j++) {
            if (quick_skip(i * N_ALPHAS + j + i)) {
                seed += 2;
                continue;
            }
            CU_ASSERT_EQUAL(check_case(&(oct_octconv_params){7, 13, 3, 1, 1, ALPHAS[i], ALPHAS[j], j % 2}, 3, 9, 5,
                                       seed++),
                            OCT_OK);
            CU_ASSERT_EQUAL(check_case(&(oct_octconv_params){5, 7, 3, 2, 1, ALPHAS[i], ALPHAS[j], i % 2}, 1, 8, 8,
                                       seed++),
                            OCT_OK);
        }
}

/* Kernel 1/3/5 x stride 1/2 x padding 0/1/2 on 7x7 (batch 3) and 33x33 (batch 1). Where
 * the kernel does not fit a band both backends must say so. */
static void test_kernel_stride_padding(void)
{
    static const int ks[] = {1, 3, 5};
    uint64_t seed = 200;
    int ran = 0, too_large = 0;
    for (int ki = 0; ki < 3; ki++)
        for (int s = 1; s <= 2; s++)
            for (int pad = 0; pad <= 2; pad++) {
                if (quick_skip(ki * 6 + (s - 1) * 3 + pad)) {
                    seed += 2;
                    continue;
                }
                oct_octconv_params p = params(5, 7, ks[ki], s, pad, 0.5, 0.25, pad == 1);
                oct_status st = check_case(&p, 3, 7, 7, seed++);
                CU_ASSERT(st == OCT_OK || st == OCT_ERR_KERNEL_TOO_LARGE);
                ran += st == OCT_OK;
                too_large += st == OCT_ERR_KERNEL_TOO_LARGE;
                /* The low band of 7x7 is 3x3: only a 5x5 kernel with no padding misses it. */
                CU_ASSERT_EQUAL(st == OCT_ERR_KERNEL_TOO_LARGE, ks[ki] == 5 && pad == 0);
                CU_ASSERT_EQUAL(check_case(&p, 1, 33, 33, seed++), OCT_OK);
            }
    if (!g_quick) {
        CU_ASSERT_EQUAL(ran, 16);
        CU_ASSERT_EQUAL(too_large, 2);
    }
}

/* 1x1 stride-1 unpadded layers, whose planes the cpu direct kernel cuts into rows of its
 * own width (a multiple of 16 dividing h * w: 28x28 -> 7 x 112, 32x32 -> 4 x 256,
 * 12x20 -> 1 x 240; else one row: 14x14, 5x9) or keeps (33x33): every output the same sum. */
static void test_flat_1x1(void)
{
    static const int hw[][2] = {{28, 28}, {32, 32}, {12, 20}, {14, 14}, {5, 9}, {33, 33}};
    uint64_t seed = 250;
    for (size_t i = 0; i < sizeof hw / sizeof hw[0]; i++) {
        int h = hw[i][0], w = hw[i][1];
        CU_ASSERT_EQUAL(check_case(&(oct_octconv_params){24, 20, 1, 1, 0, 0.5, 0.5, 1}, 2, h, w, seed++), OCT_OK);
        CU_ASSERT_EQUAL(check_case(&(oct_octconv_params){9, 6, 1, 1, 0, 0.25, 0.75, 0}, 1, h, w, seed++), OCT_OK);
    }
}

/* Odd, even and non-square sizes, with and without bias. */
static void test_sizes(void)
{
    static const int hw[][2] = {{7, 7}, {9, 5}, {5, 9}, {33, 33}, {8, 8}, {16, 12}, {2, 2}, {3, 2}};
    uint64_t seed = 300;
    for (size_t i = 0; i < sizeof hw / sizeof hw[0]; i++) {
        if (g_quick && i % 3 != 0) {
            seed += 2;
            continue;
        }
        int h = hw[i][0], w = hw[i][1];
        int pad = (h < 4 || w < 4) ? 1 : (int)(i % 3);
        CU_ASSERT_EQUAL(check_case(&(oct_octconv_params){13, 5, 3, 1, 1, 0.5, 0.5, 1}, 3, h, w, seed++), OCT_OK);
        oct_status st = check_case(&(oct_octconv_params){13, 7, 3, 1 + (int)(i % 2), pad, 0.75, 0.5, 0}, 1, h, w,
                                   seed++);
        CU_ASSERT(st == OCT_OK || st == OCT_ERR_KERNEL_TOO_LARGE);
    }
}

/* round() halves to even: c = 5, alpha = 0.5 gives 2 low channels, not 3. */
static void test_round_half_even(void)
{
    oct_octconv *l = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_octconv_create(g_dut, &(oct_octconv_params){5, 13, 3, 1, 1, 0.5, 0.5, 0}, &l), OCT_OK);
    int ci_h, ci_l, co_h, co_l;
    CU_ASSERT_EQUAL(oct_octconv_channels(l, &ci_h, &ci_l, &co_h, &co_l), OCT_OK);
    CU_ASSERT_EQUAL(ci_l, 2);
    CU_ASSERT_EQUAL(ci_h, 3);
    CU_ASSERT_EQUAL(co_l, 6); /* 6.5 -> 6 */
    CU_ASSERT_EQUAL(co_h, 7);
    oct_octconv_free(l);
    CU_ASSERT_EQUAL(check_case(&(oct_octconv_params){5, 13, 3, 1, 1, 0.5, 0.5, 1}, 3, 7, 7, 400), OCT_OK);
    CU_ASSERT_EQUAL(check_case(&(oct_octconv_params){7, 5, 1, 1, 0, 0.5, 0.5, 0}, 1, 9, 5, 401), OCT_OK);
}

/* ------------------------------------------------------------------------------------ */
/* Split and merge                                                                        */

/* Split then merge x (n, c, h, w) at alpha on ctx. Returns split bands and merged tensor. */
static oct_status split_merge(oct_context *ctx, const float *x, int n, int c, int h, int w, double alpha,
                              oct_shape *ss, float **sh, float **sl, float **merged)
{
    oct_tensor *tx = NULL, *ts = NULL, *tm = NULL;
    oct_shape xs = oct_shape_plain(n, c, h, w), ms;
    *sh = *sl = *merged = NULL;
    oct_status s = oct_tensor_create(ctx, &xs, &tx);
    if (s == OCT_OK) s = oct_tensor_write(tx, x, NULL);
    if (s == OCT_OK) s = oct_split_shape(&xs, alpha, ss);
    if (s == OCT_OK) s = oct_tensor_create(ctx, ss, &ts);
    if (s == OCT_OK) s = oct_split(ctx, tx, alpha, ts);
    if (s == OCT_OK) s = oct_merge_shape(ss, &ms);
    if (s == OCT_OK) s = oct_tensor_create(ctx, &ms, &tm);
    if (s == OCT_OK) s = oct_merge(ctx, ts, tm);
    if (s == OCT_OK) {
        *sh = calloc(oct_shape_high_count(ss) + 1, sizeof(float));
        *sl = calloc(oct_shape_low_count(ss) + 1, sizeof(float));
        *merged = calloc(oct_shape_high_count(&ms) + 1, sizeof(float));
        s = oct_tensor_read(ts, *sh, *sl);
        if (s == OCT_OK) s = oct_tensor_read(tm, *merged, NULL);
    }
    oct_tensor_free(tm);
    oct_tensor_free(ts);
    oct_tensor_free(tx);
    return s;
}

/* The device against the reference, and the reference against the definition
 * computed here directly: high = first c - c_l channels, low = 2x2 means, merge =
 * high then low resized by nearest to (h, w). */
static void test_split_merge(void)
{
    static const int hw[][2] = {{8, 8}, {7, 7}, {9, 5}, {33, 33}, {2, 3}};
    rng_t r = {500};
    for (int a = 0; a < N_ALPHAS; a++)
        for (size_t i = 0; i < sizeof hw / sizeof hw[0]; i++) {
            if (quick_skip(a * 5 + (int)i + a)) continue;
            int n = 3, c = 13, h = hw[i][0], w = hw[i][1];
            float *x = rng_array(&r, (size_t)n * c * h * w, -2, 2);
            oct_shape rs, ds;
            float *rh, *rl, *rm, *dh, *dl, *dm;
            CU_ASSERT_EQUAL(split_merge(g_ref, x, n, c, h, w, ALPHAS[a], &rs, &rh, &rl, &rm), OCT_OK);
            CU_ASSERT_EQUAL(split_merge(g_dut, x, n, c, h, w, ALPHAS[a], &ds, &dh, &dl, &dm), OCT_OK);
            int c_l = oct_low_channels(c, ALPHAS[a]), c_h = c - c_l, hl = h / 2, wl = w / 2;
            CU_ASSERT_EQUAL(rs.c_l, c_l);
            CU_ASSERT_EQUAL(rs.c_h, c_h);
            if (rh && dh) {
                char what[64];
                snprintf(what, sizeof what, "split alpha=%g %dx%d", ALPHAS[a], h, w);
                CU_ASSERT_EQUAL(compare_floats(what, rh, dh, oct_shape_high_count(&rs), 0, 0), 0);
                CU_ASSERT_EQUAL(compare_floats(what, rl, dl, oct_shape_low_count(&rs), TOL_ABS, TOL_REL), 0);
                CU_ASSERT_EQUAL(compare_floats(what, rm, dm, (size_t)n * c * h * w, TOL_ABS, TOL_REL), 0);
                size_t bad = 0;
                for (int b = 0; b < n; b++)
                    for (int ch = 0; ch < c; ch++)
                        for (int y = 0; y < h; y++)
                            for (int xx = 0; xx < w; xx++) {
                                float v = x[(((size_t)b * c + ch) * h + y) * w + xx];
                                float m = rm[(((size_t)b * c + ch) * h + y) * w + xx];
                                if (ch < c_h) {
                                    bad += rh[(((size_t)b * c_h + ch) * h + y) * w + xx] != v;
                                    bad += m != v;
                                } else {
                                    int lc = ch - c_h;
                                    int sy = (int)floorf((float)y * ((float)hl / (float)h));
                                    int sx = (int)floorf((float)xx * ((float)wl / (float)w));
                                    if (sy > hl - 1) sy = hl - 1;
                                    if (sx > wl - 1) sx = wl - 1;
                                    const float *xc = x + ((size_t)b * c + ch) * h * w;
                                    double mean = ((double)xc[2 * sy * w + 2 * sx] + xc[2 * sy * w + 2 * sx + 1] +
                                                   xc[(2 * sy + 1) * w + 2 * sx] + xc[(2 * sy + 1) * w + 2 * sx + 1]) /
                                                  4;
                                    bad += fabs(rl[(((size_t)b * c_l + lc) * hl + sy) * wl + sx] - mean) > 1e-6;
                                    bad += fabs(m - mean) > 1e-6;
                                }
                            }
                CU_ASSERT_EQUAL(bad, 0);
            }
            free(rh), free(rl), free(rm), free(dh), free(dl), free(dm), free(x);
        }
}

/* ------------------------------------------------------------------------------------ */
/* The reference and the device against PyTorch (fixtures made by python/make_fixtures.py) */

static float *load_npy(const char *dir, int i, const char *part, size_t *count)
{
    char path[512];
    snprintf(path, sizeof path, "%s/layer_%d_%s.npy", dir, i, part);
    oct_array a;
    if (oct_npy_load(path, &a) != OCT_OK) {
        *count = 0;
        return NULL;
    }
    *count = oct_array_count(&a);
    return a.data; /* ownership moves to the caller */
}

static void check_pytorch_on(oct_context *ctx, const char *label)
{
    char path[512];
    snprintf(path, sizeof path, "%s/layers.txt", OCT_FIXTURE_DIR);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[256];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        layer_case c;
        memset(&c, 0, sizeof c);
        int i, bias;
        if (line[0] == '#') continue;
        if (sscanf(line, "%d %d %d %d %d %d %lf %lf %d %d %d %d", &i, &c.p.cin, &c.p.cout, &c.p.kernel_size,
                   &c.p.stride, &c.p.padding, &c.p.alpha_in, &c.p.alpha_out, &bias, &c.n, &c.h, &c.w) != 12)
            continue;
        c.p.bias = bias;
        int ci_h, ci_l, co_h, co_l;
        split_channels(&c.p, &ci_h, &ci_l, &co_h, &co_l);
        c.in = oct_shape_bands(c.n, ci_h, ci_l, c.h, c.w);
        size_t cnt;
        c.xh = load_npy(OCT_FIXTURE_DIR, i, "xh", &cnt);
        CU_ASSERT_EQUAL(cnt, oct_shape_high_count(&c.in));
        c.xl = load_npy(OCT_FIXTURE_DIR, i, "xl", &cnt);
        CU_ASSERT_EQUAL(cnt, oct_shape_low_count(&c.in));
        static const char *wn[] = {"w_hh", "w_hl", "w_ll", "w_lh"}, *bn[] = {"b_hh", "b_hl", "b_ll", "b_lh"};
        for (int pth = 0; pth < OCT_PATH_COUNT; pth++) {
            c.weight[pth] = load_npy(OCT_FIXTURE_DIR, i, wn[pth], &c.weight_count[pth]);
            if (bias) c.bias[pth] = load_npy(OCT_FIXTURE_DIR, i, bn[pth], &c.bias_count[pth]);
        }
        size_t nh, nl;
        float *wh = load_npy(OCT_FIXTURE_DIR, i, "yh", &nh), *wl = load_npy(OCT_FIXTURE_DIR, i, "yl", &nl);
        float *gh, *gl;
        oct_shape os;
        oct_status s = case_run(ctx, &c, &gh, &gl, &os);
        char what[200];
        snprintf(what, sizeof what, "%s vs PyTorch, layer fixture %d", label, i);
        if (s != OCT_OK) printf("\n    %s: %s (%s)", what, oct_status_string(s), oct_last_error());
        CU_ASSERT_EQUAL(s, OCT_OK);
        if (s == OCT_OK) {
            CU_ASSERT_EQUAL(nh, oct_shape_high_count(&os));
            CU_ASSERT_EQUAL(nl, oct_shape_low_count(&os));
            if (nh == oct_shape_high_count(&os))
                CU_ASSERT_EQUAL(compare_floats(what, wh, gh, nh, TOL_ABS, TOL_REL), 0);
            if (nl == oct_shape_low_count(&os))
                CU_ASSERT_EQUAL(compare_floats(what, wl, gl, nl, TOL_ABS, TOL_REL), 0);
        }
        free(gh), free(gl), free(wh), free(wl);
        case_free(&c);
        cases++;
    }
    fclose(f);
    CU_ASSERT(cases >= 4);
}

static void test_pytorch_fixtures(void) { check_pytorch_on(g_dut, g_dut_spec[g_dut_next - 1]); }
static void test_ref_pytorch_fixtures(void) { check_pytorch_on(g_ref, "ref"); }

/* ------------------------------------------------------------------------------------ */
/* Errors                                                                                 */

static void test_status_strings(void)
{
    for (int s = 0; s < OCT_STATUS_COUNT; s++) {
        const char *str = oct_status_string((oct_status)s);
        CU_ASSERT_PTR_NOT_NULL(str);
        CU_ASSERT_STRING_NOT_EQUAL(str, "unknown status");
        for (int t = 0; t < s; t++) CU_ASSERT_STRING_NOT_EQUAL(str, oct_status_string((oct_status)t));
    }
    CU_ASSERT_STRING_EQUAL(oct_status_string(OCT_STATUS_COUNT), "unknown status");
    CU_ASSERT_STRING_EQUAL(oct_status_string((oct_status)-1), "unknown status");
}

/* The status and that the message names the value. */
#define CHECK_ERR(call, status, needle)                                                      \
    do {                                                                                     \
        oct_status s_ = (call);                                                              \
        CU_ASSERT_EQUAL(s_, status);                                                         \
        if (s_ != (status) || !strstr(oct_last_error(), needle))                             \
            printf("\n    %s -> %s: \"%s\" (wanted %s naming \"%s\")", #call, oct_status_string(s_), \
                   oct_last_error(), oct_status_string(status), needle);                     \
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), needle));                            \
    } while (0)

static void test_bad_params(void)
{
    oct_octconv *l = (oct_octconv *)0x1;
    oct_octconv_params p = oct_octconv_defaults(8, 8);
    CHECK_ERR(oct_octconv_create(g_dut, &p, NULL), OCT_ERR_NULL_ARG, "out");
    CHECK_ERR(oct_octconv_create(NULL, &p, &l), OCT_ERR_NULL_ARG, "context");
    CU_ASSERT_PTR_NULL(l);
    CHECK_ERR(oct_octconv_create(g_dut, NULL, &l), OCT_ERR_NULL_ARG, "params");
    p.alpha_in = NAN;
    CHECK_ERR(oct_octconv_create(g_dut, &p, &l), OCT_ERR_BAD_ALPHA, "alpha_in = nan");
    p.alpha_in = -0.25;
    CHECK_ERR(oct_octconv_create(g_dut, &p, &l), OCT_ERR_BAD_ALPHA, "alpha_in = -0.25");
    p.alpha_in = 0.5;
    p.alpha_out = 1.5;
    CHECK_ERR(oct_octconv_create(g_dut, &p, &l), OCT_ERR_BAD_ALPHA, "alpha_out = 1.5");
    p = oct_octconv_defaults(0, 8);
    CHECK_ERR(oct_octconv_create(g_dut, &p, &l), OCT_ERR_BAD_SIZE, "cin = 0");
    p = oct_octconv_defaults(8, -3);
    CHECK_ERR(oct_octconv_create(g_dut, &p, &l), OCT_ERR_BAD_SIZE, "cout = -3");
    p = oct_octconv_defaults(8, 8);
    p.kernel_size = 0;
    CHECK_ERR(oct_octconv_create(g_dut, &p, &l), OCT_ERR_BAD_SIZE, "kernel_size = 0");
    p.kernel_size = 3;
    p.stride = 0;
    CHECK_ERR(oct_octconv_create(g_dut, &p, &l), OCT_ERR_BAD_SIZE, "stride = 0");
    p.stride = 1;
    p.padding = -1;
    CHECK_ERR(oct_octconv_create(g_dut, &p, &l), OCT_ERR_BAD_SIZE, "padding = -1");
    CU_ASSERT_EQUAL(oct_low_channels(8, NAN), -1);
    CU_ASSERT_EQUAL(oct_low_channels(-1, 0.5), -1);
    oct_shape sh;
    oct_shape plain = oct_shape_plain(1, 8, 4, 4);
    CHECK_ERR(oct_split_shape(&plain, 2.0, &sh), OCT_ERR_BAD_ALPHA, "alpha = 2");
}

static void test_bad_tensors(void)
{
    oct_tensor *t = (oct_tensor *)0x1;
    oct_shape s = oct_shape_bands(0, 4, 4, 8, 8);
    CHECK_ERR(oct_tensor_create(g_dut, &s, &t), OCT_ERR_BAD_SIZE, "n=0");
    CU_ASSERT_PTR_NULL(t);
    s = oct_shape_bands(1, 4, 4, -8, 8);
    CHECK_ERR(oct_tensor_create(g_dut, &s, &t), OCT_ERR_BAD_SIZE, "-8x8");
    s = oct_shape_bands(1, -1, 4, 8, 8);
    CHECK_ERR(oct_tensor_create(g_dut, &s, &t), OCT_ERR_BAD_SIZE, "-1 channels");
    s = oct_shape_bands(1, 0, 0, 8, 8);
    CHECK_ERR(oct_tensor_create(g_dut, &s, &t), OCT_ERR_BAD_SIZE, "zero channels");
    s = oct_shape_bands(1, 4, 4, 1, 8); /* low band would be 0x4 */
    CHECK_ERR(oct_tensor_create(g_dut, &s, &t), OCT_ERR_BAD_SIZE, "low band");
    s = oct_shape_bands(65536, 65536, 0, 64, 64);
    CHECK_ERR(oct_tensor_create(g_dut, &s, &t), OCT_ERR_BAD_SIZE, "elements");
    CHECK_ERR(oct_tensor_create(NULL, &s, &t), OCT_ERR_NULL_ARG, "context");
    CHECK_ERR(oct_tensor_create(g_dut, NULL, &t), OCT_ERR_NULL_ARG, "shape");
    CHECK_ERR(oct_tensor_write(NULL, NULL, NULL), OCT_ERR_NULL_ARG, "tensor");
    CHECK_ERR(oct_tensor_read(NULL, NULL, NULL), OCT_ERR_NULL_ARG, "tensor");
    s = oct_shape_bands(1, 2, 2, 4, 4);
    CU_ASSERT_EQUAL_FATAL(oct_tensor_create(g_dut, &s, &t), OCT_OK);
    float buf[32] = {0};
    CHECK_ERR(oct_tensor_write(t, buf, NULL), OCT_ERR_NULL_ARG, "low");
    CHECK_ERR(oct_tensor_read(t, NULL, buf), OCT_ERR_NULL_ARG, "high");
    oct_tensor_free(t);
    oct_tensor_free(NULL);
    oct_octconv_free(NULL);
    oct_context_free(NULL);
}

/* A failing forward writes nothing: the output keeps the values it held. */
static void test_forward_errors(void)
{
    oct_octconv_params p = params(8, 6, 3, 1, 1, 0.5, 0.5, 0);
    oct_octconv *l = NULL;
    oct_tensor *x = NULL, *y = NULL, *x2 = NULL, *other = NULL;
    oct_context *ctx2 = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_octconv_create(g_dut, &p, &l), OCT_OK);
    oct_shape xs = oct_shape_bands(2, 4, 4, 6, 6), ys;
    CU_ASSERT_EQUAL(oct_octconv_output_shape(l, &xs, &ys), OCT_OK);
    CU_ASSERT_EQUAL(oct_tensor_create(g_dut, &xs, &x), OCT_OK);
    CU_ASSERT_EQUAL(oct_tensor_create(g_dut, &ys, &y), OCT_OK);
    size_t nh = oct_shape_high_count(&ys), nl = oct_shape_low_count(&ys);
    float *sent_h = malloc(nh * sizeof(float)), *sent_l = malloc(nl * sizeof(float));
    float *back_h = malloc(nh * sizeof(float)), *back_l = malloc(nl * sizeof(float));
    for (size_t i = 0; i < nh; i++) sent_h[i] = 7.0f + (float)i;
    for (size_t i = 0; i < nl; i++) sent_l[i] = -7.0f - (float)i;
    CU_ASSERT_EQUAL(oct_tensor_write(y, sent_h, sent_l), OCT_OK);
    float *zeros = calloc(oct_shape_high_count(&xs), sizeof(float));
    CU_ASSERT_EQUAL(oct_tensor_write(x, zeros, zeros), OCT_OK);

    /* No weights yet. */
    CHECK_ERR(oct_octconv_forward(l, x, y), OCT_ERR_NOT_READY, "hh");
    size_t wc = 3 * 4 * 9;
    float *w = calloc(wc + 1, sizeof(float));
    CHECK_ERR(oct_octconv_set_path(l, OCT_PATH_HH, w, wc + 1, NULL, 0), OCT_ERR_SHAPE_MISMATCH, "109 values");
    float bias[3] = {0};
    CHECK_ERR(oct_octconv_set_path(l, OCT_PATH_HH, w, wc, bias, 3), OCT_ERR_SHAPE_MISMATCH, "no bias");
    CHECK_ERR(oct_octconv_set_path(l, (oct_path)9, w, wc, NULL, 0), OCT_ERR_BAD_SIZE, "path 9");
    CHECK_ERR(oct_octconv_set_path(NULL, OCT_PATH_HH, w, wc, NULL, 0), OCT_ERR_NULL_ARG, "layer");
    for (int i = 0; i < OCT_PATH_COUNT; i++)
        CU_ASSERT_EQUAL(oct_octconv_set_path(l, (oct_path)i, w, wc, NULL, 0), OCT_OK);

    /* Wrong input split, wrong output shape, kernel too large, other context, aliasing. */
    oct_shape bad = oct_shape_bands(2, 5, 3, 6, 6);
    CU_ASSERT_EQUAL(oct_tensor_create(g_dut, &bad, &x2), OCT_OK);
    CHECK_ERR(oct_octconv_forward(l, x2, y), OCT_ERR_SHAPE_MISMATCH, "5 high + 3 low");
    CHECK_ERR(oct_octconv_forward(l, x, x), OCT_ERR_SHAPE_MISMATCH, "output tensor");
    CHECK_ERR(oct_octconv_forward(l, y, x), OCT_ERR_SHAPE_MISMATCH, "3 high + 3 low");
    CHECK_ERR(oct_octconv_forward(NULL, x, y), OCT_ERR_NULL_ARG, "layer");
    CHECK_ERR(oct_octconv_forward(l, NULL, y), OCT_ERR_NULL_ARG, "input");
    CHECK_ERR(oct_octconv_forward(l, x, NULL), OCT_ERR_NULL_ARG, "output");
    oct_shape lowbad = {2, 4, 6, 6, 4, 2, 3};
    CHECK_ERR(oct_octconv_output_shape(l, &lowbad, &ys), OCT_ERR_SHAPE_MISMATCH, "low band is 2x3");
    oct_octconv *big = NULL;
    oct_octconv_params pb = params(8, 6, 5, 1, 0, 0.5, 0.5, 0);
    CU_ASSERT_EQUAL(oct_octconv_create(g_dut, &pb, &big), OCT_OK);
    oct_shape tiny = oct_shape_bands(1, 4, 4, 6, 6), ts;
    CHECK_ERR(oct_octconv_output_shape(big, &tiny, &ts), OCT_ERR_KERNEL_TOO_LARGE, "low band 3x3");
    tiny = oct_shape_bands(1, 4, 4, 4, 4);
    CHECK_ERR(oct_octconv_output_shape(big, &tiny, &ts), OCT_ERR_KERNEL_TOO_LARGE, "high band 4x4");
    oct_octconv_free(big);
    CU_ASSERT_EQUAL(oct_context_create("ref", &ctx2), OCT_OK);
    CU_ASSERT_EQUAL(oct_tensor_create(ctx2, &xs, &other), OCT_OK);
    CHECK_ERR(oct_octconv_forward(l, other, y), OCT_ERR_CONTEXT_MISMATCH, "input");
    CHECK_ERR(oct_split(g_dut, other, 0.5, y), OCT_ERR_CONTEXT_MISMATCH, "input");
    oct_shape plain = oct_shape_plain(2, 8, 6, 6);
    CHECK_ERR(oct_split_shape(&xs, 0.5, &ts), OCT_ERR_SHAPE_MISMATCH, "plain tensor");
    CHECK_ERR(oct_split(g_dut, x, 0.5, y), OCT_ERR_SHAPE_MISMATCH, "plain tensor");
    (void)plain;
    CHECK_ERR(oct_merge(g_dut, x, y), OCT_ERR_SHAPE_MISMATCH, "expected");

    CU_ASSERT_EQUAL(oct_tensor_read(y, back_h, back_l), OCT_OK);
    CU_ASSERT_EQUAL(memcmp(back_h, sent_h, nh * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(back_l, sent_l, nl * sizeof(float)), 0);

    /* And now it runs: zero weights, zero input. */
    CU_ASSERT_EQUAL(oct_octconv_forward(l, x, y), OCT_OK);
    CU_ASSERT_EQUAL(oct_tensor_read(y, back_h, back_l), OCT_OK);
    CU_ASSERT_EQUAL(back_h[0], 0.0f);
    CU_ASSERT_EQUAL(back_l[nl - 1], 0.0f);

    oct_tensor_free(other);
    oct_context_free(ctx2);
    free(w), free(zeros), free(sent_h), free(sent_l), free(back_h), free(back_l);
    oct_tensor_free(x2);
    oct_tensor_free(y);
    oct_tensor_free(x);
    oct_octconv_free(l);
}

static void test_device_specs(void)
{
    oct_context *c = (oct_context *)0x1;
    CHECK_ERR(oct_context_create("gpu", &c), OCT_ERR_BAD_DEVICE_SPEC, "\"gpu\"");
    CU_ASSERT_PTR_NULL(c);
    CHECK_ERR(oct_context_create("opencl:x:0", &c), OCT_ERR_BAD_DEVICE_SPEC, "opencl:x:0");
    CHECK_ERR(oct_context_create("opencl:1", &c), OCT_ERR_BAD_DEVICE_SPEC, "opencl:1");
    CHECK_ERR(oct_context_create("", &c), OCT_ERR_BAD_DEVICE_SPEC, "\"\"");
    CHECK_ERR(oct_context_create("cpu", NULL), OCT_ERR_NULL_ARG, "out");
    if (g_expect_no_opencl) {
        CHECK_ERR(oct_context_create("opencl", &c), OCT_ERR_NO_OPENCL, "no OpenCL platform");
        CHECK_ERR(oct_context_create("opencl:0:0", &c), OCT_ERR_NO_OPENCL, "no OpenCL platform");
    } else {
        CHECK_ERR(oct_context_create("opencl:99:0", &c), OCT_ERR_NO_DEVICE, "platform 99");
    }
    /* auto: a GPU when one exists, else the native CPU path, and it says why. */
    CU_ASSERT_EQUAL_FATAL(oct_context_create("auto", &c), OCT_OK);
    oct_device_info info;
    CU_ASSERT_EQUAL(oct_context_info(c, &info), OCT_OK);
    printf("\n    auto picks: %s (%s)", info.name, info.reason);
    CU_ASSERT(info.backend == OCT_BACKEND_CPU || (info.backend == OCT_BACKEND_OPENCL && info.is_gpu));
    if (g_expect_no_opencl) {
        CU_ASSERT_EQUAL(info.backend, OCT_BACKEND_CPU);
        CU_ASSERT_PTR_NOT_NULL(strstr(info.reason, "no OpenCL platform"));
    }
    oct_context_free(c);
}

/* ------------------------------------------------------------------------------------ */
/* Suites                                                                                 */

static int suite_init_dut(void)
{
    if (g_dut_next >= g_dut_count) return 1;
    const char *spec = g_dut_spec[g_dut_next++];
    if (oct_context_create(spec, &g_dut) != OCT_OK) {
        printf("cannot create context %s: %s\n", spec, oct_last_error());
        return 1;
    }
    oct_device_info info;
    oct_context_info(g_dut, &info);
    printf("\n  device under test: %s = %s | %s | %s\n", spec, info.name, info.platform, info.driver);
    /* $OCTCL_EXPECT_TILES=NAME: an OpenCL context must run that tile set ("direct": the
     * direct kernel alone), so a forced set that silently fell back fails the suite. */
    const char *want = getenv("OCTCL_EXPECT_TILES");
    if (want && *want && info.backend == OCT_BACKEND_OPENCL) {
        char key[64];
        snprintf(key, sizeof key, strcmp(want, "direct") == 0 ? "conv direct only" : "conv tiles %s (", want);
        printf("  (%s)\n", info.reason);
        if (!strstr(info.reason, key)) {
            printf("error: expected \"%s\" in the context's reason\n", key);
            return 1;
        }
    }
    return 0;
}

static int suite_clean_dut(void)
{
    oct_context_free(g_dut);
    g_dut = NULL;
    return 0;
}

static int add_dut_suite(const char *spec)
{
    char name[96];
    snprintf(name, sizeof name, "device %s vs ref", spec);
    snprintf(g_dut_spec[g_dut_count++], sizeof g_dut_spec[0], "%s", spec);
    CU_pSuite s = CU_add_suite(name, suite_init_dut, suite_clean_dut);
    if (!s) return 1;
    CU_add_test(s, "round half to even", test_round_half_even);
    CU_add_test(s, "alpha pairs", test_alpha_pairs);
    CU_add_test(s, "kernel x stride x padding", test_kernel_stride_padding);
    CU_add_test(s, "1x1 planes as rows of any width", test_flat_1x1);
    CU_add_test(s, "sizes", test_sizes);
    CU_add_test(s, "split and merge", test_split_merge);
    CU_add_test(s, "PyTorch layer fixtures", test_pytorch_fixtures);
    CU_add_test(s, "bad parameters", test_bad_params);
    CU_add_test(s, "bad tensors", test_bad_tensors);
    CU_add_test(s, "forward errors write nothing", test_forward_errors);
    return 0;
}

int main(int argc, char **argv)
{
    int opencl_only = 0;
    const char *quick_env = getenv("OCTCL_TEST_QUICK");
    g_quick = quick_env && *quick_env && strcmp(quick_env, "0") != 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect-no-opencl") == 0) g_expect_no_opencl = 1;
        if (strcmp(argv[i], "--quick") == 0) g_quick = 1;
        if (strcmp(argv[i], "--opencl-only") == 0) opencl_only = 1;
    }
    if (oct_context_create("ref", &g_ref) != OCT_OK) {
        printf("cannot create the reference context: %s\n", oct_last_error());
        return 1;
    }
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;

    CU_pSuite common = CU_add_suite("common", NULL, NULL);
    CU_add_test(common, "status strings", test_status_strings);
    CU_add_test(common, "device names", test_device_specs);
    CU_add_test(common, "reference vs PyTorch fixtures", test_ref_pytorch_fixtures);

    if (!opencl_only) add_dut_suite("cpu");
    oct_device_info devs[MAX_DUTS];
    int n = 0;
    oct_list_devices(devs, MAX_DUTS, &n);
    if (n == 0) {
        printf("OpenCL tests skipped: %s\n", oct_last_error());
        if (!g_expect_no_opencl) {
            printf("error: no OpenCL device, and --expect-no-opencl was not given\n");
            return 1;
        }
    } else if (g_expect_no_opencl) {
        printf("error: --expect-no-opencl given but %d OpenCL device(s) found\n", n);
        return 1;
    }
    for (int i = 0; i < n && g_dut_count < MAX_DUTS; i++) {
        char spec[32];
        snprintf(spec, sizeof spec, "opencl:%d:%d", devs[i].platform_index, devs[i].device_index);
        printf("OpenCL device %s: %s (%s, %s)\n", spec, devs[i].name, devs[i].platform, devs[i].driver);
        if (!skip_forced_tiles(spec, NULL)) add_dut_suite(spec);
    }
    int rc = run_cunit();
    oct_context_free(g_ref);
    return rc;
}
