/* test_smallconv.c — the CPU backend's channel-lane path for small planes
 * (host/smallconv.c) against the reference backend: conv2d, conv2d_pair (the OctConv
 * low band over a stacked input) and convg with a residual, on a context made with
 * $OCTCL_CPU_SMALL=1 (every stride-1 convolution whose output rows have a tile width goes
 * there) and Winograd off, over kernels 1, 3 and 5, paddings 0 to 2, row widths 7, 8,
 * 14, 16 and 21, channel counts that are not multiples of the 32-channel tile, batches
 * of 1 to 3, bias, accumulate, ReLU and a residual. Output buffers carry canaries before
 * and after the tensor. Then oct__sc_pack / oct__sc_run straight against a plain loop
 * (both variants, AVX-512 and AVX2, and the same bits from each), and each image of a
 * batch against it alone on the automatic choice. ctest runs it twice: as the CPU
 * chooses (AVX-512 here) and on the AVX2 variant (OCTCL_CPU_PATH=gemm OCTCL_GEMM=avx2,
 * an AVX2-only CPU's path), where runs of 6 pixels span rows and a plane's last run is
 * short (7x7: 9 runs, the last of one pixel).
 *
 * Tolerance: each output is one float sum over ci k k terms (< 10^3 here), like the
 * direct kernel's, so TOL_ABS + TOL_REL |want| (testutil.h) applies as it is. A tile
 * stored to the wrong pixel or channel, or a padding lane read as data, moves outputs
 * by O(1).
 */
#include "convcase.h"
#include "gemm.h"
#include "internal.h"
#include "smallconv.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAD CONV_LEAD
#define TAIL CONV_TAIL
#define CANARY CONV_CANARY

static oct_context *g_ref, *g_small, *g_auto;

typedef conv_case scase;

/* 0 when ctx matches the reference (and keeps the canaries) on case c. */
static int check_case(oct_context *ctx, const scase *c, rng_t *rng)
{
    int ho = c->h + 2 * c->pad - c->k + 1, wo = c->w + 2 * c->pad - c->k + 1;
    size_t ny = (size_t)c->n * c->co * ho * wo, total = LEAD + ny + TAIL;
    conv_data d;
    float *want = malloc(total * sizeof *want), *got = malloc(total * sizeof *got);
    int bad = 1;
    if (!conv_data_make(c, rng, -1, 1, &d) || !want || !got) goto done;
    oct_status s = conv_case_run(g_ref, c, d.x1, d.x2, d.w1, d.w2, d.b1, d.b2, d.r, d.y0, want);
    oct_status t = s == OCT_OK ? conv_case_run(ctx, c, d.x1, d.x2, d.w1, d.w2, d.b1, d.b2, d.r, d.y0, got) : s;
    if (s != OCT_OK || t != OCT_OK) {
        printf("\n  case failed to run: %s\n", oct_last_error());
        goto done;
    }
    char what[200];
    snprintf(what, sizeof what, "n%d c%d+%d->%d %dx%d k%d p%d bias%d acc%d relu%d res%d", c->n, c->c1, c->c2, c->co,
             c->h, c->w, c->k, c->pad, c->bias, c->acc, c->relu, c->res);
    bad = conv_check_out(what, want, got, ny, TOL_ABS, TOL_REL) != 0;
done:
    free(got), free(want);
    conv_data_free(&d);
    return bad;
}

static const scase g_cases[] = {
    /* n c1 c2 co  h  w  k pad bias acc relu res */
    {1, 1, 0, 1, 7, 7, 1, 0, 0, 0, 0, 0},      /* the smallest: one channel, one tile */
    {1, 64, 0, 70, 7, 7, 1, 0, 1, 0, 1, 0},    /* 1x1 at 7x7, channels past two strips */
    {2, 33, 0, 31, 7, 7, 3, 1, 1, 1, 1, 0},    /* 3x3, accumulate, a partial channel strip */
    {1, 9, 0, 40, 9, 9, 3, 0, 1, 0, 0, 0},     /* pad 0: 7x7 outputs from 9x9 */
    {3, 5, 0, 33, 5, 5, 3, 2, 1, 0, 1, 0},     /* pad 2: 7x7 outputs from 5x5, rows in the padding */
    {1, 4, 0, 17, 7, 7, 5, 2, 1, 0, 1, 0},     /* 5x5 */
    {2, 12, 0, 65, 8, 8, 3, 1, 1, 0, 1, 0},    /* rows of 8: eight-pixel tiles */
    {1, 20, 0, 32, 14, 14, 3, 1, 0, 1, 0, 0},  /* two tiles per row */
    {1, 6, 0, 9, 16, 16, 1, 0, 1, 0, 0, 0},    /* 1x1 at 16x16 */
    {1, 10, 0, 12, 3, 21, 3, 1, 1, 0, 1, 0},   /* rows of 21: three tiles, three rows */
    {2, 24, 20, 45, 7, 7, 3, 1, 1, 0, 1, 0},   /* conv2d_pair: stacked input */
    {1, 40, 30, 64, 7, 7, 1, 0, 1, 1, 1, 0},   /* conv2d_pair 1x1, accumulate */
    {1, 3, 5, 7, 14, 14, 3, 1, 0, 0, 0, 0},    /* conv2d_pair at 14x14 */
    {2, 48, 0, 50, 7, 7, 1, 0, 1, 0, 1, 1},    /* convg 1x1 with a residual (the bottleneck's last) */
    {1, 16, 0, 33, 7, 7, 3, 1, 1, 1, 1, 1},    /* convg 3x3, residual and accumulate */
    {2, 40, 24, 64, 7, 7, 1, 0, 1, 0, 1, 1},   /* conv2d_pair 1x1 with a residual (the last layer's low band) */
    {1, 24, 20, 45, 7, 7, 3, 1, 1, 1, 0, 1},   /* conv2d_pair 3x3, residual and accumulate, no ReLU */
    {1, 20, 12, 24, 16, 16, 1, 0, 1, 0, 1, 1}, /* conv2d_pair 1x1 at 16x16 (the GEMM) with a residual */
    {2, 9, 7, 33, 14, 14, 1, 0, 0, 1, 0, 1},   /* the same at 14x14, accumulate, no bias, no ReLU */
};

static void test_forced(void)
{
    rng_t rng = {20261130};
    for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++)
        CU_ASSERT_EQUAL(check_case(g_small, &g_cases[i], &rng), 0);
}

static void test_auto(void)
{
    rng_t rng = {4242};
    for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++)
        CU_ASSERT_EQUAL(check_case(g_auto, &g_cases[i], &rng), 0);
}

/* oct__sc_pack and oct__sc_run of variant isa straight against a plain loop in double:
 * image 1 of 2, stacked input, all the runs of a 3x21 output (AVX-512: three 7-pixel
 * runs per row; AVX2: 11 runs of 6 spanning rows, the last of 3), 40 output channels (a
 * whole strip and a partial one), and the
 * other image and the channels outside [j0, j1) untouched; kernel K with padding P, and
 * with in_place the input read where it is (no oct__sc_pack; 1x1, pad 0, AVX-512).
 * Returns image 1's output (malloc'd) for the caller to compare across variants, NULL
 * when the CPU lacks isa. */
enum { D_N = 2, D_C1 = 3, D_C2 = 2, D_H = 3, D_W = 21, D_CO = 40 };

static float *direct_variant(int isa, const int K, const int P, int in_place)
{
    const char *name = isa == OCT__GEMM_AVX512 ? in_place ? "AVX-512 in place" : "AVX-512" : "AVX2";
    if (!oct__sgemm_kernel_rows(isa, isa == OCT__GEMM_AVX512 ? 7 : 6)) {
        printf("(no %s on this CPU: its variant is not taken) ", name);
        return NULL;
    }
    enum { N = D_N, C1 = D_C1, C2 = D_C2, H = D_H, W = D_W, CO = D_CO };
    rng_t rng = {99};
    size_t hw = (size_t)H * W, kdim = (size_t)(C1 + C2) * K * K;
    float *x1 = rng_array(&rng, (size_t)N * C1 * hw, -1, 1), *x2 = rng_array(&rng, (size_t)N * C2 * hw, -1, 1);
    float *w1 = rng_array(&rng, (size_t)CO * C1 * K * K, -1, 1), *w2 = rng_array(&rng, (size_t)CO * C2 * K * K, -1, 1);
    float *bias = rng_array(&rng, CO, -1, 1), *y = malloc((size_t)N * CO * hw * sizeof *y);
    float *bp = NULL, *ap = NULL, *out = malloc((size_t)CO * hw * sizeof *out);
    CU_ASSERT_FATAL(x1 && x2 && w1 && w2 && bias && y && out);
    CU_ASSERT_FATAL(posix_memalign((void **)&bp, 64, oct__sc_weight_floats(CO, kdim) * sizeof(float)) == 0);
    for (size_t i = 0; i < (size_t)N * CO * hw; i++) y[i] = CANARY;
    oct__sc_conv c = {x1, x2, C1 * hw, C2 * hw, C1, C2, H, W, K, P, y, CO * hw, CO, H, W, NULL, 0, bp, bias, 0, 1,
                      oct__sc_mr(W, isa), isa, in_place};
    CU_ASSERT_EQUAL(c.mr, isa == OCT__GEMM_AVX512 ? 7 : 6);
    CU_ASSERT_EQUAL(oct__sc_can_in_place(&c), isa == OCT__GEMM_AVX512 && K == 1 && P == 0);
    CU_ASSERT_FATAL((ap = malloc(oct__sc_afloats(&c) * sizeof *ap)) != NULL);
    oct__sc_weights(w1, (size_t)C1 * K * K, w2, (size_t)C2 * K * K, CO, isa, bp);
    if (in_place) { /* no gather: the strips it would fill hold NaN, which must not reach y */
        CU_ASSERT_FATAL(oct__sc_can_in_place(&c));
        for (size_t i = 0; i < oct__sc_afloats(&c); i++) ap[i] = NAN;
    } else {
        oct__sc_pack(&c, 1, 0, oct__sc_strips(&c), ap);
    }
    oct__sc_run(&c, 1, ap, 0, 2);
    size_t miss = 0;
    for (int o = 0; o < CO; o++)
        for (int py = 0; py < H; py++)
            for (int px = 0; px < W; px++) {
                double sum = 0;
                for (int ch = 0; ch < C1 + C2; ch++)
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            int iy = py + ky - P, ix = px + kx - P;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            const float *xp = ch < C1 ? x1 + hw * C1 + (size_t)ch * hw : x2 + hw * C2 + (size_t)(ch - C1) * hw;
                            const float *wp = ch < C1 ? w1 + ((size_t)o * C1 + ch) * K * K : w2 + ((size_t)o * C2 + ch - C1) * K * K;
                            sum += (double)xp[iy * W + ix] * wp[ky * K + kx];
                        }
                sum += bias[o];
                double want = sum < 0 ? 0 : sum, got = y[CO * hw + (size_t)o * hw + (size_t)py * W + px];
                if (got != got || (got > want ? got - want : want - got) > TOL_ABS + TOL_REL * (want < 0 ? -want : want)) {
                    if (miss++ < 3) printf("\n  %s o %d (%d, %d): want %g got %g", name, o, py, px, want, got);
                }
            }
    for (size_t i = 0; i < (size_t)CO * hw; i++)
        if (y[i] != CANARY) {
            printf("\n  %s: image 0 written at %zu", name, i);
            miss++;
            break;
        }
    CU_ASSERT_EQUAL(miss, 0);
    memcpy(out, y + (size_t)CO * hw, (size_t)CO * hw * sizeof *out);
    free(ap), free(bp), free(y), free(bias), free(w2), free(w1), free(x2), free(x1);
    return out;
}

/* Both variants against the loop; where the CPU has both, the same bits (their kernels
 * sum each output in the same order, and the stores do the same float operations). A
 * 3x3 kernel with padding, and a 1x1 without, where the AVX-512 variant also reads the
 * input in place: the same bits again. */
static void test_direct(void)
{
    const size_t bytes = (size_t)D_CO * D_H * D_W * sizeof(float);
    for (int k = 3; k >= 1; k -= 2) {
        float *a = direct_variant(OCT__GEMM_AVX512, k, k / 2, 0), *b = direct_variant(OCT__GEMM_AVX2, k, k / 2, 0);
        float *c = k == 1 ? direct_variant(OCT__GEMM_AVX512, 1, 0, 1) : NULL;
        if (a && b && memcmp(a, b, bytes) != 0) {
            printf("\n  k %d: the AVX2 variant's bits differ from the AVX-512 one's\n", k);
            CU_FAIL("AVX2 and AVX-512 variants differ");
        }
        if (a && c && memcmp(a, c, bytes) != 0) {
            printf("\n  the in-place 1x1 bits differ from the gathered ones\n");
            CU_FAIL("in place and gathered differ");
        }
        free(a), free(b), free(c);
    }
}

/* A row's result does not depend on how many images share its pass (device sets and MPI
 * ranks cut batches anywhere): on the automatic choice, shapes that take the path (7x7,
 * sums of 256 terms or more) give each image of a batch of 5 bit for bit as it alone. */
static void test_batch_independent(void)
{
    static const scase cases[] = {{5, 64, 0, 70, 7, 7, 1, 0, 1, 0, 1, 0}, {5, 40, 0, 33, 7, 7, 3, 1, 1, 1, 1, 0},
                                  {5, 160, 160, 40, 7, 7, 1, 0, 1, 0, 1, 0}, {5, 300, 0, 64, 7, 7, 1, 0, 1, 0, 0, 1}};
    rng_t rng = {7};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const scase *c = &cases[k];
        scase one = *c;
        one.n = 1;
        size_t i1 = (size_t)c->c1 * c->h * c->w, i2 = (size_t)c->c2 * c->h * c->w, oy = (size_t)c->co * c->h * c->w;
        conv_data d;
        float *all = malloc((LEAD + c->n * oy + TAIL) * sizeof *all), *alone = malloc((LEAD + oy + TAIL) * sizeof *alone);
        CU_ASSERT_FATAL(conv_data_make(c, &rng, -1, 1, &d) && all && alone);
        CU_ASSERT_EQUAL_FATAL(conv_case_run(g_auto, c, d.x1, d.x2, d.w1, d.w2, d.b1, d.b2, d.r, d.y0, all), OCT_OK);
        for (int b = 0; b < c->n; b++) {
            CU_ASSERT_EQUAL_FATAL(conv_case_run(g_auto, &one, d.x1 + b * i1, d.x2 ? d.x2 + b * i2 : NULL, d.w1, d.w2, d.b1,
                                           d.b2, d.r + b * oy, d.y0 + b * oy, alone),
                                  OCT_OK);
            if (memcmp(all + LEAD + b * oy, alone + LEAD, oy * sizeof(float)) != 0) {
                printf("\n  case %zu: image %d of the batch differs from it alone\n", k, b);
                CU_FAIL("batch-dependent result");
                break;
            }
        }
        free(alone), free(all);
        conv_data_free(&d);
    }
}

int main(void)
{
    if (oct_context_create("ref", &g_ref) != OCT_OK || conv_cpu_context("0", "1", &g_small) != OCT_OK ||
        conv_cpu_context("", "", &g_auto) != OCT_OK) {
        printf("cannot create the contexts: %s\n", oct_last_error());
        return 1;
    }
    int rc = 1;
    if (CU_initialize_registry() != CUE_SUCCESS) goto done;
    CU_pSuite s = CU_add_suite("cpu channel-lane convolutions on small planes vs ref", NULL, NULL);
    CU_add_test(s, "forced on: conv2d, conv2d_pair, convg + residual, k 1/3/5", test_forced);
    CU_add_test(s, "automatic choice: the same cases", test_auto);
    CU_add_test(s, "oct__sc_pack / oct__sc_run, AVX-512 and AVX2, against a plain loop and each other", test_direct);
    CU_add_test(s, "each image of a batch equals it alone (automatic choice)", test_batch_independent);
    rc = run_cunit();
done:
    oct_context_free(g_auto);
    oct_context_free(g_small);
    oct_context_free(g_ref);
    return rc;
}
