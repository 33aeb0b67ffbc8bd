/* test_winograd.c — the CPU backend's Winograd F(2x2, 3x3) and F(4x4, 3x3) paths (host/winograd.c) against
 * the reference backend: conv2d, conv2d_pair (the OctConv low band over a stacked input)
 * and convg with a residual, forced on with $OCTCL_CPU_WINOGRAD=1 (and the same cases
 * forced off, so both paths of the backend are covered), over odd sizes, padding 0, 1
 * and 2, channel counts that are not multiples of any GEMM register tile or vector width,
 * batches of 1 to 3, bias on and off, accumulate and ReLU; then oct__wino_run itself with
 * the AVX-512 and the plain transforms and every GEMM kernel the CPU has. Output buffers
 * carry canaries before and after the tensor. A second suite checks the CPU linear
 * layer's few-row path (dot products) and its GEMM path, a third the 1x1 convolutions
 * with a residual that small planes send to the direct kernel.
 *
 * Tolerance: the reference accumulates in double; the direct path is held to TOL_ABS +
 * TOL_REL |want| (testutil.h). Winograd's terms are the transformed products, whose size
 * bound is (8/3)^2 ~ 7.1 times that of the direct terms (winograd.c derives it from the
 * transform matrices), so its budget is that tolerance times 8, fixed before any result
 * was seen; F(4x4)'s bound by the same derivation is 16^2 = 256 times, its budget that
 * tolerance times 256 (also fixed from the bound). A wrong transform coefficient or a
 * tile off by one moves outputs by O(1). The second suite runs the cases again on
 * F(4x4) tiles, and holds the plain and AVX2 transforms to the same bits there too.
 */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */
#include "backend_cpu.h"
#include "convcase.h"
#include "internal.h"
#include "gemm.h"
#include "testutil.h"
#include "winograd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define WTOL 8.0
#define WTOL4 256.0

/* The Winograd tile under test: 2, or 4 in the F(4x4) suite (whose contexts are made
 * with $OCTCL_CPU_WINO_TILE=4), and its tolerance factor. */
static int g_m = 2;
static double wtol(void) { return g_m == 4 ? WTOL4 : WTOL; }
#define LEAD CONV_LEAD
#define TAIL CONV_TAIL
#define CANARY CONV_CANARY

/* g_cpu: the automatic choice; g_on, g_off: contexts made with $OCTCL_CPU_WINOGRAD=1
 * and 0 (the backend reads it when a context is made); g_gemm: forced on with
 * $OCTCL_CPU_PATH=gemm, what a CPU without AVX-512 runs (the AVX2 transforms and
 * linear layer where a vector GEMM kernel runs). */
static oct_context *g_ref, *g_cpu, *g_on, *g_off, *g_gemm;

typedef struct {
    int n, c1, c2, co, h, w, pad, bias, acc, relu, res;
} wcase;

/* The cpu context of a mode: "1" forced on, "0" off, "" automatic. */
static oct_context *cpu_of(const char *mode)
{
    return !strcmp(mode, "1") ? g_on : !strcmp(mode, "0") ? g_off : !strcmp(mode, "gemm") ? g_gemm : g_cpu;
}

/* The case as convcase.c's, its kernel 3x3. */
static conv_case conv_of(const wcase *c)
{
    return (conv_case){c->n, c->c1, c->c2, c->co, c->h, c->w, 3, c->pad, c->bias, c->acc, c->relu, c->res};
}

/* One case on one context (convcase.c), its 3x3 kernel: y (LEAD + n co ho wo + TAIL
 * floats, canaries around, the tensor holding y0 first). */
static oct_status run_case(oct_context *ctx, const wcase *c, const float *x1, const float *x2, const float *w1,
                           const float *w2, const float *b1, const float *b2, const float *r, const float *y0,
                           float *out)
{
    conv_case cc = conv_of(c);
    return conv_case_run(ctx, &cc, x1, x2, w1, w2, b1, b2, r, y0, out);
}

static int check_case(const wcase *c, const char *mode, rng_t *rng)
{
    int ho = c->h + 2 * c->pad - 2, wo = c->w + 2 * c->pad - 2;
    size_t ny = (size_t)c->n * c->co * ho * wo, total = LEAD + ny + TAIL;
    conv_case cc = conv_of(c);
    conv_data d;
    float *want = malloc(total * sizeof *want), *got = malloc(total * sizeof *got);
    int bad = 1;
    if (!conv_data_make(&cc, rng, -2, 2, &d) || !want || !got) goto done;
    oct_status s = run_case(g_ref, c, d.x1, d.x2, d.w1, d.w2, d.b1, d.b2, d.r, d.y0, want);
    oct_status t = s == OCT_OK ? run_case(cpu_of(mode), c, d.x1, d.x2, d.w1, d.w2, d.b1, d.b2, d.r, d.y0, got) : s;
    if (s != OCT_OK || t != OCT_OK) {
        printf("\n  case failed to run: %s\n", oct_last_error());
        goto done;
    }
    char what[200];
    snprintf(what, sizeof what, "F%d wino=%s n%d c%d+%d->%d %dx%d p%d bias%d acc%d relu%d res%d", g_m, mode, c->n, c->c1, c->c2,
             c->co, c->h, c->w, c->pad, c->bias, c->acc, c->relu, c->res);
    bad = conv_check_out(what, want, got, ny, TOL_ABS * wtol(), TOL_REL * wtol()) != 0;
done:
    free(got), free(want);
    conv_data_free(&d);
    return bad;
}

static const wcase g_cases[] = {
    /* n c1 c2 co  h  w pad bias acc relu res */
    {1, 1, 0, 1, 3, 3, 0, 0, 0, 0, 0},      /* one tile, one output */
    {1, 3, 0, 5, 4, 4, 0, 1, 0, 0, 0},
    {2, 5, 0, 7, 7, 9, 1, 1, 0, 1, 0},      /* odd sizes: half tiles at the right and bottom */
    {1, 17, 0, 9, 1, 1, 1, 1, 1, 0, 0},     /* 1x1 image, all padding */
    {3, 4, 0, 24, 13, 6, 2, 0, 1, 1, 0},    /* pad 2: output larger than the input */
    {2, 3, 0, 5, 9, 11, 2, 1, 0, 0, 0},     /* pad 2, odd width: a patch's second column in the padding */
    {1, 2, 0, 3, 5, 37, 2, 1, 0, 1, 0},     /* pad 2, rows of 41 outputs: three 16-tile groups */
    {1, 33, 0, 37, 35, 33, 1, 1, 1, 1, 0},  /* tile rows of 17: two 16-lane groups */
    {2, 19, 0, 70, 31, 40, 1, 1, 0, 1, 0},  /* many tiles: several blocks, threads */
    {1, 40, 0, 50, 56, 14, 1, 1, 0, 1, 0},  /* one image, many tiles: channel groups */
    {1, 64, 0, 64, 7, 7, 1, 1, 0, 1, 0},    /* 16 tiles: one block shared by the threads */
    {2, 6, 5, 11, 9, 7, 1, 1, 0, 1, 0},     /* conv2d_pair: stacked input */
    {1, 16, 16, 33, 28, 28, 1, 1, 1, 1, 0}, /* conv2d_pair, accumulate */
    {3, 7, 9, 13, 5, 17, 0, 0, 0, 0, 0},    /* conv2d_pair, pad 0 */
    {1, 3, 2, 6, 7, 7, 2, 1, 1, 0, 0},      /* conv2d_pair, pad 2 */
    {2, 8, 0, 12, 15, 14, 1, 1, 0, 1, 1},   /* convg with a residual (rows of 14) */
    {1, 21, 0, 18, 29, 27, 1, 0, 1, 1, 1},  /* convg, residual and accumulate */
    /* 7x7 and 8x8 outputs: 4 x 4 tiles an image, transformed an image at a time (AVX-512) */
    {2, 9, 7, 20, 7, 7, 1, 1, 1, 0, 0},     /* conv2d_pair, accumulate, no ReLU */
    {3, 5, 0, 9, 10, 10, 0, 1, 1, 1, 0},    /* pad 0: 8x8, accumulate and ReLU */
    {1, 6, 0, 5, 8, 8, 1, 0, 0, 0, 0},      /* 8x8, no bias, accumulate or ReLU */
    {2, 8, 0, 12, 7, 7, 1, 1, 0, 1, 1},     /* convg with a residual */
    {2, 8, 12, 12, 14, 14, 1, 1, 0, 1, 1},  /* conv2d_pair with a residual: two ops */
    {7, 3, 0, 4, 7, 7, 1, 1, 1, 0, 0},      /* 112 tiles: blocks that start inside an image */
    {1, 64, 0, 64, 28, 28, 1, 1, 0, 1, 0},  /* F(4x4), two threads: 49 tiles shared, not 32 + 17 */
    {1, 32, 0, 32, 56, 56, 1, 1, 0, 1, 0},  /* F(4x4), two threads: 196 tiles as 2 x 98, not 4 x 49 */
};

static void test_forced(const char *mode)
{
    rng_t rng = {20261129};
    for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++) CU_ASSERT_EQUAL(check_case(&g_cases[i], mode, &rng), 0);
}

static void test_on(void) { test_forced("1"); }
static void test_off(void) { test_forced("0"); }
static void test_auto(void) { test_forced(""); }

/* The cases again with each GEMM kernel the CPU has (their register tiles set where the
 * output-channel groups may be cut). */
static void test_kernels(void)
{
    static const int isas[] = {OCT__GEMM_SCALAR, OCT__GEMM_AVX2, OCT__GEMM_AVX512};
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
        if (!oct__sgemm_supported(isas[k])) continue;
        CU_ASSERT_FATAL(oct__sgemm_force(isas[k]));
        rng_t rng = {77 + k};
        for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++)
            CU_ASSERT_EQUAL(check_case(&g_cases[i], "1", &rng), 0);
    }
    oct__sgemm_force(-1);
}

/* The cases forced on without the direct kernel (OCTCL_CPU_PATH=gemm), under each GEMM
 * kernel the CPU has: the AVX2 transforms with the AVX2 kernel (B read in place where
 * its rows are 16-float aligned) and with the AVX-512 one, the plain transforms with the
 * scalar kernel. */
static void test_no_direct(void)
{
    static const int isas[] = {OCT__GEMM_SCALAR, OCT__GEMM_AVX2, OCT__GEMM_AVX512};
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
        if (!oct__sgemm_supported(isas[k])) continue;
        CU_ASSERT_FATAL(oct__sgemm_force(isas[k]));
        rng_t rng = {3100 + k};
        for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++)
            CU_ASSERT_EQUAL(check_case(&g_cases[i], "gemm", &rng), 0);
    }
    oct__sgemm_force(-1);
}

/* The cases forced on with 1, 2, 3 and 7 threads: whole blocks of 96 taken by the
 * threads, blocks cpu__wino_plan cut smaller to even them out, blocks cut to even sizes
 * (cpu__wino_even, AVX-512 kernel, 2 threads: 160 tiles as 2 x 80, 196 as 2 x 98 where
 * the plan had 4 x 49, 40 as 2 x 20), and one block at a time shared by channel groups
 * are each taken by some case at some count (1 thread: blocks of 96; 640 tiles: 64 or
 * 80 at 2 threads with the AVX-512 or AVX2 kernel; 196: 32 at 7; the 7x7 case's 16 tiles: shared
 * from 2; F(4x4)'s 49 tiles of 64 -> 64 at 28x28: shared at 2 where the blocks would be
 * 32 + 17), and a case's outputs must be right whichever cut runs them. */
static void test_thread_counts(void)
{
    static const char *counts[] = {"1", "2", "3", "7"};
    oct_context *save = g_on;
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        oct_context *ctx = NULL;
        setenv("OCTCL_THREADS", counts[k], 1);
        oct_status s = conv_cpu_context("1", "", &ctx);
        unsetenv("OCTCL_THREADS");
        CU_ASSERT_EQUAL_FATAL(s, OCT_OK);
        g_on = ctx;
        rng_t rng = {900 + k};
        for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++)
            CU_ASSERT_EQUAL(check_case(&g_cases[i], "1", &rng), 0);
        oct_context_free(ctx);
    }
    g_on = save;
}

/* Whether the CPU can run the transforms of level simd (winograd.h). */
static int simd_supported(int simd)
{
    if (simd == OCT__WINO_AVX512) return __builtin_cpu_supports("avx512f");
    if (simd == OCT__WINO_AVX2) return __builtin_cpu_supports("avx2");
    return 1;
}

/* oct__wino_run directly over the whole batch in blocks of `tb` tiles and two channel
 * groups, with each level of transforms the CPU has (plain, AVX2, AVX-512): against the
 * reference's conv2d, and bit for bit against the plain transforms (the same additions
 * in the same order; the GEMM is the same), with each pair of the accumulate and ReLU
 * flags (against the reference with both on). Even sizes add the upsampled plane (up), odd
 * ones not. A second pass puts NaN and -0 in the input: every level must give the plain
 * one's bits, NaN kept through the ReLU (v < 0 ? 0 : v) as PyTorch keeps it. */
static void transforms_case(int h, int w, int with_up, size_t tb, int pad)
{
    rng_t rng = {4242u + (unsigned)h};
    const int n = 2, c1 = 6, c2 = 3, co = 19;
    int ho = h + 2 * pad - 2, wo = w + 2 * pad - 2, isa = oct__sgemm_isa(), mr = oct__sgemm_mr(isa);
    size_t nx1 = (size_t)n * c1 * h * w, nx2 = (size_t)n * c2 * h * w, ny = (size_t)n * co * ho * wo;
    size_t nup = with_up ? (size_t)n * co * (ho / 2) * (wo / 2) : 1;
    float *x1 = rng_array(&rng, nx1, -2, 2), *x2 = rng_array(&rng, nx2, -2, 2);
    float *w1 = rng_array(&rng, (size_t)co * c1 * 9, -2, 2), *w2 = rng_array(&rng, (size_t)co * c2 * 9, -2, 2);
    float *b1 = rng_array(&rng, co, -2, 2), *b2 = rng_array(&rng, co, -2, 2), *y0 = rng_array(&rng, ny, -2, 2);
    float *up = rng_array(&rng, nup, -2, 2);
    float *want = malloc((LEAD + ny + TAIL) * sizeof *want), *got[3] = {0};
    float *bias = malloc(co * sizeof *bias);
    float *u = malloc(oct__wino_weight_floats(g_m, c1 + c2, co, isa) * sizeof *u);
    CU_ASSERT_FATAL(x1 && x2 && w1 && w2 && b1 && b2 && y0 && up && want && bias && u);
    /* The reference: relu((sum + bias) + old), or with up, (sum + bias) + old and then
     * relu(that + up) here. */
    wcase c = {n, c1, c2, co, h, w, pad, 1, 1, !with_up, 0};
    CU_ASSERT_FATAL(run_case(g_ref, &c, x1, x2, w1, w2, b1, b2, NULL, y0, want) == OCT_OK);
    if (with_up)
        for (size_t i = 0; i < ny; i++) {
            size_t xx = i % (size_t)wo, yy = i / (size_t)wo % (size_t)ho, bo = i / ((size_t)wo * ho);
            float v = want[LEAD + i] + up[(bo * (size_t)(ho / 2) + yy / 2) * (size_t)(wo / 2) + xx / 2];
            want[LEAD + i] = v < 0 ? 0 : v;
        }
    for (int o = 0; o < co; o++) bias[o] = b1[o] + b2[o];
    oct__wino_weights(g_m, w1, c1, w2, c2, co, isa, u);
    size_t tiles = (size_t)n * oct__wino_tiles(g_m, ho, wo);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) { /* NaN and -0 in the input */
            x1[5] = NAN, x1[nx1 / 2] = -0.0f, x2[7] = NAN;
            for (size_t i = 0; i < nx1; i += 13) x1[i] = -0.0f;
        }
        /* Flags 0: accumulate and ReLU, the reference's; then each other pair, whose
         * epilogues the vector levels build apart (wino4_store_flags). */
        for (int fl = 0; fl < 4; fl++) {
            int acc = fl == 0 || fl == 3, relu = fl < 2;
            for (int simd = OCT__WINO_PLAIN; simd <= OCT__WINO_AVX512; simd++) {
                if (!simd_supported(simd)) continue;
                float *y = got[simd] = malloc(ny * sizeof *y);
                CU_ASSERT_FATAL(y != NULL);
                memcpy(y, y0, ny * sizeof *y);
                oct__wino_conv cv = {x1, x2, (size_t)c1 * h * w, (size_t)c2 * h * w, c1, c2, h, w, pad, y,
                                     (size_t)co * ho * wo, co, ho, wo, u, isa, bias, acc, relu,
                                     with_up ? up : NULL, (size_t)co * (ho / 2) * (wo / 2), g_m, 0, 0};
                int half = (co + mr - 1) / mr / 2 * mr;
                size_t need = oct__wino_scratch(&cv, tb, co);
                float *scratch = NULL;
                CU_ASSERT_FATAL(posix_memalign((void **)&scratch, 64, need * sizeof(float)) == 0);
                for (size_t t0 = 0; t0 < tiles; t0 += tb) {
                    size_t t1 = t0 + tb < tiles ? t0 + tb : tiles;
                    oct__wino_run(&cv, t0, t1, 0, half, scratch, simd);
                    oct__wino_run(&cv, t0, t1, half, co, scratch, simd);
                }
                free(scratch);
                char what[128];
                snprintf(what, sizeof what, "oct__wino_run F%d %dx%d p%d up=%d acc=%d relu=%d tb=%zu simd=%d pass %d",
                         g_m, h, w, pad, with_up, acc, relu, tb, simd, pass);
                if (pass == 0 && fl == 0)
                    CU_ASSERT_EQUAL(compare_floats(what, want + LEAD, y, ny, TOL_ABS * wtol(), TOL_REL * wtol()), 0);
                if (simd > OCT__WINO_PLAIN && memcmp(y, got[OCT__WINO_PLAIN], ny * sizeof *y) != 0) {
                    printf("\n  %s: not the plain transforms' bits\n", what);
                    CU_FAIL("transform levels differ");
                }
            }
            if (pass == 1) { /* the NaN reached the outputs over it, and the ReLU kept it */
                size_t nan = 0;
                for (size_t i = 0; i < ny; i++) nan += isnan(got[OCT__WINO_PLAIN][i]) != 0;
                CU_ASSERT(nan >= 2 * (size_t)co);
            }
            for (int k = 0; k < 3; k++) free(got[k]), got[k] = NULL;
        }
    }
    free(u), free(bias), free(want), free(up), free(y0), free(b2), free(b1), free(w2), free(w1);
    free(x2), free(x1);
}

static void test_transforms(void)
{
    transforms_case(11, 21, 0, 5, 1); /* odd: half tiles at the right and bottom */
    transforms_case(10, 36, 1, 5, 1); /* even, with the upsampled plane; rows of 18 tiles (F(4x4): 9) */
    transforms_case(14, 38, 1, 5, 1); /* with up, a last tile half outside (F(4x4): 10 a row) */
    transforms_case(9, 70, 0, 5, 1);  /* rows of 35 / 18 tiles: groups of 8 and a short one */
    /* F(4x4) down whole tile rows (wino4_in_run_256), rows of 10 tiles (a group of 8 and
     * one of 2, whose extra lanes fall on the next row's first tiles): blocks of 4 whole
     * rows; of 27 tiles, starting and ending inside rows; of 40, the middle one running
     * on into the next image (6 tile rows an image). Rows of 17 tiles (two groups and
     * one of 1) in blocks of 3 rows and 2. */
    transforms_case(22, 38, 1, 40, 1);
    transforms_case(22, 38, 1, 27, 1);
    transforms_case(24, 68, 0, 51, 1);
    transforms_case(24, 68, 1, 34, 1);
    /* F(4x4)'s rows of 4 tiles, two to a vector (wino4_rows2): a 14x14 plane with up, its
     * last tile row half outside, in blocks of a whole image; a 13x16 one in blocks of 12,
     * whose pairs start at an image's first row but not at its last (no second row); a
     * 16x16 plane (patch column 16 past the row); without padding, rows 15 wide (13
     * outputs: columns 15-17 past the row) and 18 wide (16: every patch column inside, the
     * unmasked loads). */
    transforms_case(14, 14, 1, 16, 1);
    transforms_case(13, 16, 0, 12, 1);
    transforms_case(16, 16, 1, 16, 1);
    transforms_case(15, 15, 0, 16, 0);
    transforms_case(18, 18, 1, 16, 0);
}

/* oct__wino_input over channel ranges [0, m) and [m, ci) of one block, the later range
 * first (as threads sharing a block could write them), must leave V as the whole range
 * does, at every transform level and for blocks that end mid-row: a short group stored
 * whole must not run into a channel another call owns or has written. Plane rows of 7
 * tiles (a 13-wide output; F(4x4): 25-wide), blocks of 5, 16 and 23 tiles. */
static void test_input_ranges(void)
{
    rng_t rng = {77};
    const int c1 = 5, c2 = 4, ci = c1 + c2, h = g_m == 4 ? 25 : 13, w = h, co = 8; /* rows of 7 tiles either way */
    float *x1 = rng_array(&rng, (size_t)c1 * h * w, -2, 2), *x2 = rng_array(&rng, (size_t)c2 * h * w, -2, 2);
    CU_ASSERT_FATAL(x1 && x2);
    float y[8];
    oct__wino_conv cv = {x1, x2, (size_t)c1 * h * w, (size_t)c2 * h * w, c1, c2, h, w, 1, y, 0, co, h, w, NULL,
                         oct__sgemm_isa(), NULL, 0, 0, NULL, 0, g_m, 0, 0};
    int ne = oct__wino_elems(g_m);
    static const size_t blocks[] = {5, 16, 23};
    for (int simd = OCT__WINO_PLAIN; simd <= OCT__WINO_AVX512; simd++) {
        if (!simd_supported(simd)) continue;
        for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
            size_t t0 = 3, t1 = t0 + blocks[bi], tb = t1 - t0, vf = oct__wino_vfloats(&cv, tb), vs = vf / (size_t)ne;
            size_t work = oct__wino_work(&cv, tb, co);
            float *whole = NULL, *parts = NULL, *wk = NULL;
            CU_ASSERT_FATAL(posix_memalign((void **)&whole, 64, vf * sizeof(float)) == 0);
            CU_ASSERT_FATAL(posix_memalign((void **)&parts, 64, vf * sizeof(float)) == 0);
            CU_ASSERT_FATAL(posix_memalign((void **)&wk, 64, (work + 64) * sizeof(float)) == 0);
            for (size_t i = 0; i < vf; i++) whole[i] = parts[i] = NAN;
            oct__wino_input(&cv, t0, t1, 0, ci, whole, wk, simd);
            for (int m = 1; m < ci; m += 3) {
                oct__wino_input(&cv, t0, t1, m, ci, parts, wk, simd);
                oct__wino_input(&cv, t0, t1, 0, m, parts, wk, simd);
                size_t bad = 0;
                for (int e = 0; e < ne; e++)
                    for (size_t k = 0; k < (size_t)ci * tb; k++)
                        bad += memcmp(&whole[e * vs + k], &parts[e * vs + k], sizeof(float)) != 0;
                if (bad) printf("\n  simd %d, block of %zu, split at %d: %zu values differ\n", simd, tb, m, bad);
                CU_ASSERT_EQUAL(bad, 0);
            }
            free(wk), free(parts), free(whole);
        }
    }
    free(x2), free(x1);
}

/* oct__wino_run's stores stay inside the rows of its tiles: a block of the first two tile
 * rows of a 14-wide plane (rows of 7 tiles; output rows 0-3, each ending 6 floats into
 * its second 8-lane vector) runs with output row 4 on a read-only page, so a store past
 * row 3 -- a whole vector where the row ends short of it, even one that writes back
 * the values it read, as the input transform's stores may (another thread may own that
 * row) -- faults; rows 0-3 must match the whole plane's run, with accumulate, bias and
 * ReLU. One output channel, so that the plane is the whole output. */
static void test_store_bounds(void)
{
    rng_t rng = {99};
    const int ci = 6, co = 1, h = 8, w = 14;
    const size_t hw = (size_t)h * w;
    long page = sysconf(_SC_PAGESIZE);
    CU_ASSERT_FATAL(page >= (long)(4 * w * sizeof(float)));
    int isa = oct__sgemm_isa();
    float *x = rng_array(&rng, (size_t)ci * hw, -2, 2), *wt = rng_array(&rng, (size_t)co * ci * 9, -2, 2);
    float *bias = rng_array(&rng, co, -1, 1), *y0 = rng_array(&rng, hw, -1, 1), *want = malloc(hw * sizeof *want);
    float *u = malloc(oct__wino_weight_floats(g_m, ci, co, isa) * sizeof *u);
    CU_ASSERT_FATAL(x && wt && bias && y0 && u && want);
    oct__wino_weights(g_m, wt, ci, NULL, 0, co, isa, u);
    oct__wino_conv cv = {x, NULL, 0, 0, ci, 0, h, w, 1, NULL, 0, co, h, w, u, isa, bias, 1, 1, NULL, 0, g_m, 0, 0};
    /* the tiles of the whole plane, and of the tile rows over output rows 0-3 */
    size_t all = oct__wino_tiles(g_m, h, w), top = (size_t)((w + g_m - 1) / g_m) * (size_t)(4 / g_m);
    float *scratch = NULL;
    CU_ASSERT_FATAL(posix_memalign((void **)&scratch, 64, oct__wino_scratch(&cv, all, co) * sizeof(float)) == 0);
    /* Two pages: the plane placed so that its row 4 starts the second one. */
    char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CU_ASSERT_FATAL(map != MAP_FAILED);
    float *plane = (float *)(map + page) - 4 * w;
    for (int simd = OCT__WINO_PLAIN; simd <= OCT__WINO_AVX512; simd++) {
        if (!simd_supported(simd)) continue;
        memcpy(want, y0, hw * sizeof *want); /* the whole plane's run, in ordinary memory */
        cv.y = want;
        oct__wino_run(&cv, 0, all, 0, co, scratch, simd);
        CU_ASSERT_FATAL(mprotect(map + page, (size_t)page, PROT_READ | PROT_WRITE) == 0);
        memcpy(plane, y0, hw * sizeof *plane);
        CU_ASSERT_FATAL(mprotect(map + page, (size_t)page, PROT_READ) == 0);
        cv.y = plane;
        oct__wino_run(&cv, 0, top, 0, co, scratch, simd); /* the tile rows over output rows 0-3 */
        size_t bad = 0;
        for (size_t i = 0; i < 4 * (size_t)w; i++) bad += memcmp(&plane[i], &want[i], sizeof(float)) != 0;
        if (bad) printf("\n  simd %d: %zu of rows 0-3 differ\n", simd, bad);
        CU_ASSERT_EQUAL(bad, 0);
    }
    munmap(map, (size_t)page * 2);
    free(scratch), free(u), free(want), free(y0), free(bias), free(wt), free(x);
}

/* oct_context_macs_executed: a conv2d adds the model's multiply-adds on the direct path,
 * 16 per tile, input and output channel on Winograd's; -1 on the reference. */
static void test_macs_executed(void)
{
    const wcase c = {2, 5, 0, 7, 9, 7, 1, 1, 0, 0, 0}; /* 9x7 outputs: 5 x 4 tiles per image */
    rng_t rng = {5};
    size_t ny = (size_t)2 * 7 * 9 * 7;
    float *x = rng_array(&rng, (size_t)2 * 5 * 9 * 7, -2, 2), *w = rng_array(&rng, (size_t)7 * 5 * 9, -2, 2);
    float *b = rng_array(&rng, 7, -2, 2), *y0 = rng_array(&rng, ny, -2, 2);
    float *out = malloc((LEAD + ny + TAIL) * sizeof *out);
    CU_ASSERT_FATAL(x && w && b && y0 && out);
    long long off0 = 0, off1 = 0, on0 = 0, on1 = 0, r = 0;
    CU_ASSERT_EQUAL(oct_context_macs_executed(g_off, &off0), OCT_OK);
    CU_ASSERT_EQUAL(run_case(g_off, &c, x, NULL, w, NULL, b, NULL, NULL, y0, out), OCT_OK);
    CU_ASSERT_EQUAL(oct_context_macs_executed(g_off, &off1), OCT_OK);
    CU_ASSERT_EQUAL(oct_context_macs_executed(g_on, &on0), OCT_OK);
    CU_ASSERT_EQUAL(run_case(g_on, &c, x, NULL, w, NULL, b, NULL, NULL, y0, out), OCT_OK);
    CU_ASSERT_EQUAL(oct_context_macs_executed(g_on, &on1), OCT_OK);
    CU_ASSERT_EQUAL(off1 - off0, 2LL * 7 * 9 * 7 * 5 * 9); /* n co ho wo ci k k */
    /* (m + 2)^2 ci co tiles: F(2x2) 5 x 4 tiles an image, F(4x4) 3 x 2 */
    long long tiled = g_m == 4 ? 36LL * 5 * 7 * 2 * 3 * 2 : 16LL * 5 * 7 * 2 * 5 * 4;
    CU_ASSERT_EQUAL(on1 - on0, tiled);
    CU_ASSERT_EQUAL(oct_context_macs_executed(g_ref, &r), OCT_OK);
    CU_ASSERT_EQUAL(r, -1);
    CU_ASSERT_NOT_EQUAL(oct_context_macs_executed(NULL, &r), OCT_OK);
    free(out), free(y0), free(b), free(w), free(x);
}

/* The tile by shape (backend_cpu.c, cpu__wino_tile), counted in executed multiply-adds
 * on a context made with Winograd forced on and no tuning file, under each GEMM kernel
 * the CPU runs: the tile follows the plane and the channels, not the kernel. */
static void test_tile_by_shape(void)
{
    static const int isas[] = {OCT__GEMM_SCALAR, OCT__GEMM_AVX2, OCT__GEMM_AVX512};
    char *keep = env_save("OCTCL_CACHE_DIR");
    setenv("OCTCL_CACHE_DIR", "off", 1); /* no tuning file read */
    oct_context *ctx = NULL;
    oct_status made = conv_cpu_context("1", "", &ctx);
    env_put("OCTCL_CACHE_DIR", keep);
    free(keep);
    CU_ASSERT_EQUAL_FATAL(made, OCT_OK);
    /* Planes of 16-48 F(4x4) tiles take F(4x4) from 16 channels each way (wino4_min's
     * default) where at most a quarter of the computed outputs fall outside the plane,
     * under every GEMM kernel: 14x14 (196 of 256) and 16x16 (none wasted) do; 13x13 (169
     * of 256) and 12x12 (9 tiles) stay on F(2x2). */
    static const int sides[] = {14, 16, 13, 12};
    for (size_t p = 0; p < sizeof sides / sizeof sides[0]; p++)
        for (int ch = 32; ch <= 64; ch += 32) {
            int hw = sides[p];
            const wcase c = {1, ch, 0, ch, hw, hw, 1, 1, 0, 0, 0};
            size_t nx = (size_t)ch * hw * hw, nw = (size_t)ch * ch * 9, ny = (size_t)ch * hw * hw;
            rng_t rng = {400 + (unsigned)ch + 1000u * (unsigned)hw};
            float *x = rng_array(&rng, nx, -2, 2), *w = rng_array(&rng, nw, -2, 2), *b = rng_array(&rng, ch, -2, 2);
            float *y0 = rng_array(&rng, ny, -2, 2), *out = malloc((LEAD + ny + TAIL) * sizeof *out);
            CU_ASSERT_FATAL(x && w && b && y0 && out);
            int f4 = hw == 14 || hw == 16;
            long long t4 = (hw + 3) / 4, t2 = (hw + 1) / 2;
            long long want = f4 ? 36LL * ch * ch * t4 * t4 : 16LL * ch * ch * t2 * t2;
            for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
                if (!oct__sgemm_supported(isas[k])) continue;
                CU_ASSERT_FATAL(oct__sgemm_force(isas[k]));
                long long m0 = 0, m1 = 0;
                CU_ASSERT_EQUAL(oct_context_macs_executed(ctx, &m0), OCT_OK);
                CU_ASSERT_EQUAL(run_case(ctx, &c, x, NULL, w, NULL, b, NULL, NULL, y0, out), OCT_OK);
                CU_ASSERT_EQUAL(oct_context_macs_executed(ctx, &m1), OCT_OK);
                if (m1 - m0 != want)
                    printf("\n  %d -> %d at %dx%d, kernel %d: %lld multiply-adds, want F(%dx%d)'s %lld\n", ch, ch, hw, hw,
                           isas[k], m1 - m0, f4 ? 4 : 2, f4 ? 4 : 2, want);
                CU_ASSERT_EQUAL(m1 - m0, want);
            }
            oct__sgemm_force(-1);
            free(out), free(y0), free(b), free(w), free(x);
        }
    oct_context_free(ctx);
}

/* convg 1x1 stride 1 with a residual: planes of 14x14 or less take the direct kernel
 * (y = res, then the convolution accumulates), larger ones the GEMM; against the
 * reference, with and without accumulate, bias and ReLU, odd channel counts. */
static void test_convg_1x1_residual(void)
{
    static const int cases[][8] = {/* n ci co h w acc bias relu */
                                   {1, 7, 9, 7, 7, 0, 1, 1},   {2, 33, 17, 14, 14, 1, 1, 1}, {3, 5, 70, 3, 5, 0, 0, 1},
                                   {1, 64, 256, 7, 7, 0, 1, 1}, {2, 16, 24, 15, 14, 0, 1, 0}, {1, 8, 8, 1, 1, 1, 0, 0}};
    rng_t rng = {314};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = cases[i][0], ci = cases[i][1], co = cases[i][2], h = cases[i][3], w = cases[i][4];
        size_t nx = (size_t)n * ci * h * w, ny = (size_t)n * co * h * w;
        float *x = rng_array(&rng, nx, -2, 2), *wt = rng_array(&rng, (size_t)co * ci, -2, 2);
        float *b = rng_array(&rng, co, -2, 2), *r = rng_array(&rng, ny, -2, 2), *y0 = rng_array(&rng, ny, -2, 2);
        float *got[2] = {malloc(ny * sizeof(float)), malloc(ny * sizeof(float))};
        CU_ASSERT_FATAL(x && wt && b && r && y0 && got[0] && got[1]);
        oct_context *c[2] = {g_ref, g_cpu};
        for (int k = 0; k < 2; k++) {
            oct__buf bx = {0}, bw = {0}, bb = {0}, br = {0}, by = {0};
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &bx, x, nx), OCT_OK);
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &bw, wt, (size_t)co * ci), OCT_OK);
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &bb, b, co), OCT_OK);
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &br, r, ny), OCT_OK);
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &by, y0, ny), OCT_OK);
            oct__convg_op op = {oct__view_of(&bx, n, ci, h, w), oct__view_of(&by, n, co, h, w),
                                oct__view_of(&br, n, co, h, w), &bw, cases[i][6] ? &bb : NULL, 1, 1, 1, 1, 0, 0, 0, 0,
                                1, 1, 1, cases[i][5], cases[i][7]};
            CU_ASSERT_EQUAL(c[k]->be->convg(c[k], &op), OCT_OK);
            CU_ASSERT_EQUAL(c[k]->be->read(c[k], &by, got[k]), OCT_OK);
            oct__buf_free(c[k], &by), oct__buf_free(c[k], &br), oct__buf_free(c[k], &bb), oct__buf_free(c[k], &bw);
            oct__buf_free(c[k], &bx);
        }
        char what[96];
        snprintf(what, sizeof what, "convg 1x1 + residual n%d %d->%d %dx%d acc%d", n, ci, co, h, w, cases[i][5]);
        CU_ASSERT_EQUAL(compare_floats(what, got[0], got[1], ny, TOL_ABS, TOL_REL), 0);
        free(got[1]), free(got[0]), free(y0), free(r), free(b), free(wt), free(x);
    }
}

/* The CPU linear layer's few-row path (dot products over weight rows, threads over the
 * outputs) and its GEMM path (more rows) against the reference. y starts as NaN. */
static void test_linear(void)
{
    static const int shapes[][4] = {{1, 2048, 1000, 1}, {3, 33, 7, 0}, {16, 100, 37, 1}, {17, 50, 5, 1},
                                    {1, 5, 3, 0}, {8, 47, 129, 1}};
    rng_t r = {99};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int n = shapes[i][0], in = shapes[i][1], out = shapes[i][2], has_bias = shapes[i][3];
        float *x = rng_array(&r, (size_t)n * in, -1, 1), *w = rng_array(&r, (size_t)out * in, -1, 1);
        float *b = rng_array(&r, (size_t)out, -1, 1), *y[3] = {NULL, NULL, NULL};
        oct_context *c[3] = {g_ref, g_cpu, g_gemm}; /* g_gemm: the AVX2 dot products */
        CU_ASSERT_FATAL(x && w && b);
        for (int k = 0; k < 3; k++) {
            oct__buf xb = {0}, wb = {0}, bb = {0}, yb = {0};
            y[k] = malloc((size_t)n * out * sizeof(float));
            CU_ASSERT_PTR_NOT_NULL_FATAL(y[k]);
            for (size_t j = 0; j < (size_t)n * out; j++) y[k][j] = NAN;
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &xb, x, (size_t)n * in), OCT_OK);
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &wb, w, (size_t)out * in), OCT_OK);
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &bb, b, (size_t)out), OCT_OK);
            CU_ASSERT_EQUAL(oct__buf_upload(c[k], &yb, y[k], (size_t)n * out), OCT_OK);
            oct__linear_op op = {&xb, &wb, has_bias ? &bb : NULL, &yb, n, in, out};
            CU_ASSERT_EQUAL(c[k]->be->linear(c[k], &op), OCT_OK);
            CU_ASSERT_EQUAL(c[k]->be->read(c[k], &yb, y[k]), OCT_OK);
            oct__buf_free(c[k], &yb), oct__buf_free(c[k], &bb), oct__buf_free(c[k], &wb), oct__buf_free(c[k], &xb);
        }
        char what[96];
        snprintf(what, sizeof what, "linear (%d x %d -> %d)%s", n, in, out, has_bias ? " + bias" : "");
        CU_ASSERT_EQUAL(compare_floats(what, y[0], y[1], (size_t)n * out, TOL_ABS, TOL_REL), 0);
        CU_ASSERT_EQUAL(compare_floats(what, y[0], y[2], (size_t)n * out, TOL_ABS, TOL_REL), 0);
        free(y[2]), free(y[1]), free(y[0]), free(b), free(w), free(x);
    }
}

/* The cpu backend's linear layer over `rows` rows of x with the given weight and bias. */
static oct_status linear_rows(oct__buf *wb, oct__buf *bb, const float *x, int rows, int in, int out, float *y)
{
    oct__buf xb = {0}, yb = {0};
    oct_status s = oct__buf_upload(g_cpu, &xb, x, (size_t)rows * in);
    if (s == OCT_OK) s = oct__buf_upload(g_cpu, &yb, y, (size_t)rows * out);
    oct__linear_op op = {&xb, wb, bb, &yb, rows, in, out};
    if (s == OCT_OK) s = g_cpu->be->linear(g_cpu, &op);
    if (s == OCT_OK) s = g_cpu->be->read(g_cpu, &yb, y);
    oct__buf_free(g_cpu, &yb), oct__buf_free(g_cpu, &xb);
    return s;
}

/* A row's result does not depend on how many images share its pass (device sets and MPI
 * ranks cut batches anywhere): every image of a batch of 9 equals, bit for bit, that
 * image run alone, on the automatic choice — including the shapes where Winograd wins
 * only at larger batches (7x7 planes) and a linear head over more than 16 rows. */
static void test_batch_independent(void)
{
    static const wcase cases[] = {{9, 64, 0, 64, 7, 7, 1, 1, 0, 1, 0}, {9, 32, 0, 32, 28, 28, 1, 1, 1, 0, 0},
                                  {9, 64, 64, 64, 7, 7, 1, 1, 0, 1, 0}, {9, 64, 0, 64, 14, 14, 1, 0, 0, 0, 1}};
    rng_t rng = {2024};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const wcase *c = &cases[k];
        wcase one = *c;
        one.n = 1;
        int ho = c->h + 2 * c->pad - 2, wo = c->w + 2 * c->pad - 2;
        size_t i1 = (size_t)c->c1 * c->h * c->w, i2 = (size_t)c->c2 * c->h * c->w, oy = (size_t)c->co * ho * wo;
        conv_case cc = conv_of(c);
        conv_data d;
        float *all = malloc((LEAD + c->n * oy + TAIL) * sizeof *all), *alone = malloc((LEAD + oy + TAIL) * sizeof *alone);
        CU_ASSERT_FATAL(conv_data_make(&cc, &rng, -2, 2, &d) && all && alone);
        CU_ASSERT_EQUAL_FATAL(run_case(g_cpu, c, d.x1, d.x2, d.w1, d.w2, d.b1, d.b2, d.r, d.y0, all), OCT_OK);
        for (int b = 0; b < c->n; b++) {
            CU_ASSERT_EQUAL_FATAL(run_case(g_cpu, &one, d.x1 + b * i1, d.x2 ? d.x2 + b * i2 : NULL, d.w1, d.w2, d.b1,
                                           d.b2, d.r + b * oy, d.y0 + b * oy, alone), OCT_OK);
            if (memcmp(all + LEAD + b * oy, alone + LEAD, oy * sizeof(float)) != 0) {
                printf("\n  case %zu (n%d c%d+%d->%d %dx%d): image %d of the batch differs from it alone\n", k, c->n,
                       c->c1, c->c2, c->co, c->h, c->w, b);
                CU_FAIL("batch-dependent result");
                break;
            }
        }
        free(alone), free(all);
        conv_data_free(&d);
    }
    /* The linear head: 23 rows at once (groups of 4 and the rest one by one) and each row
     * alone; an odd number of outputs, so a thread's last row goes alone too. */
    int n = 23, in = 2048, out = 1003;
    float *x = rng_array(&rng, (size_t)n * in, -1, 1), *w = rng_array(&rng, (size_t)out * in, -1, 1);
    float *bias = rng_array(&rng, (size_t)out, -1, 1), *all = malloc((size_t)n * out * sizeof *all);
    float *alone = malloc((size_t)out * sizeof *alone);
    CU_ASSERT_FATAL(x && w && bias && all && alone);
    oct__buf wb = {0}, bb = {0};
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(g_cpu, &wb, w, (size_t)out * in), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(g_cpu, &bb, bias, (size_t)out), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(linear_rows(&wb, &bb, x, n, in, out, all), OCT_OK);
    for (int b = 0; b < n; b++) {
        CU_ASSERT_EQUAL_FATAL(linear_rows(&wb, &bb, x + (size_t)b * in, 1, in, out, alone), OCT_OK);
        if (memcmp(all + (size_t)b * out, alone, (size_t)out * sizeof *alone) != 0) {
            printf("\n  linear: row %d of %d differs from it alone\n", b, n);
            CU_FAIL("batch-dependent linear row");
            break;
        }
    }
    oct__buf_free(g_cpu, &bb), oct__buf_free(g_cpu, &wb);
    free(alone), free(all), free(bias), free(w), free(x);
}

/* Variable `var` set to each of `bad` makes context creation fail with one line naming
 * it; set to each of `good`, it succeeds. Unset afterwards. */
static void env_values_case(const char *var, const char *const *bad, size_t nbad, const char *const *good,
                            size_t ngood)
{
    for (size_t i = 0; i < nbad; i++) {
        oct_context *ctx = NULL;
        setenv(var, bad[i], 1);
        CU_ASSERT_EQUAL(oct_context_create("cpu", &ctx), OCT_ERR_BAD_SIZE);
        CU_ASSERT_PTR_NULL(ctx);
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), var));
    }
    for (size_t i = 0; i < ngood; i++) {
        oct_context *ctx = NULL;
        setenv(var, good[i], 1);
        CU_ASSERT_EQUAL(oct_context_create("cpu", &ctx), OCT_OK);
        oct_context_free(ctx);
    }
    unsetenv(var);
}

/* The switches are read when a context is made: a value other than 0, 1 or empty is
 * refused there with one line naming the variable and the value. */
static void test_switch_values(void)
{
    static const char *const vars[] = {"OCTCL_CPU_WINOGRAD", "OCTCL_CPU_GEMM_PACKED", "OCTCL_CPU_SMALL",
                                       "OCTCL_CPU_FUSE_UP", "OCTCL_CPU_SHARED_B", "OCTCL_CPU_AFFINITY",
                                       "OCTCL_CPU_STRIDE2", "OCTCL_CPU_PAIR_SIDE"};
    static const char *const bad[] = {"2"}, *const good[] = {""};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) env_values_case(vars[i], bad, 1, good, 1);
}

/* conv_up (OctConv's HH(x_h) + Up(LH(x_l)), then ReLU), k x k (3 or 1) stride 1: a
 * conv2d, or a convg with a residual; the upsample source a (n, co, uh, uw) tensor, or
 * channels [1, 1 + co) of a wider one (image stride and offset not its own). */
typedef struct {
    int n, ci, co, h, w, k, pad, uh, uw, bias, acc, relu, res, slice;
} ucase;

/* Case c through oct__op_conv_up on ctx: out as in run_case (canaries around y). */
static oct_status run_up(oct_context *ctx, const ucase *c, const float *x, const float *w, const float *b,
                         const float *r, const float *u, const float *y0, float *out)
{
    int ho = c->h + 2 * c->pad - (c->k - 1), wo = c->w + 2 * c->pad - (c->k - 1), uc = c->co + 2 * c->slice;
    size_t nx = (size_t)c->n * c->ci * c->h * c->w, ny = (size_t)c->n * c->co * ho * wo;
    size_t nu = (size_t)c->n * uc * c->uh * c->uw;
    oct__buf bx = {0}, bw = {0}, bb = {0}, br = {0}, bu = {0}, by = {0};
    float *ybuf = conv_canary_y(y0, ny);
    oct_status s = ybuf ? OCT_OK : OCT_ERR_HOST_MEMORY;
    if (s == OCT_OK) s = oct__buf_upload(ctx, &bx, x, nx);
    if (s == OCT_OK) s = oct__buf_upload(ctx, &bw, w, (size_t)c->co * c->ci * c->k * c->k);
    if (s == OCT_OK && c->bias) s = oct__buf_upload(ctx, &bb, b, (size_t)c->co);
    if (s == OCT_OK && c->res) s = oct__buf_upload(ctx, &br, r, ny);
    if (s == OCT_OK) s = oct__buf_upload(ctx, &bu, u, nu);
    if (s == OCT_OK) s = oct__buf_upload(ctx, &by, ybuf, LEAD + ny + TAIL);
    oct__view vx = oct__view_of(&bx, c->n, c->ci, c->h, c->w), vy = oct__view_of(&by, c->n, c->co, ho, wo);
    oct__view vu = c->slice ? oct__view_channels(&bu, c->n, uc, 1, c->co, c->uh, c->uw)
                            : oct__view_of(&bu, c->n, c->co, c->uh, c->uw);
    vy.off = LEAD;
    if (s == OCT_OK && c->res) {
        oct__convg_op op = {vx, vy, oct__view_of(&br, c->n, c->co, ho, wo), &bw, c->bias ? &bb : NULL, c->k, c->k, 1, 1,
                            c->pad, c->pad, c->pad, c->pad, 1, 1, 1, c->acc, c->relu};
        s = oct__op_conv_up(ctx, NULL, &op, &vu);
    } else if (s == OCT_OK) {
        oct__conv_op op = {vx, vy, &bw, c->bias ? &bb : NULL, c->k, 1, c->pad, c->acc, c->relu};
        s = oct__op_conv_up(ctx, &op, NULL, &vu);
    }
    if (s == OCT_OK) s = ctx->be->read(ctx, &by, out);
    oct__buf_free(ctx, &by), oct__buf_free(ctx, &bu), oct__buf_free(ctx, &br), oct__buf_free(ctx, &bb);
    oct__buf_free(ctx, &bw), oct__buf_free(ctx, &bx);
    free(ybuf);
    return s;
}

/* A cpu context with Winograd forced on, the channel-lane path off (1x1 layers on the
 * GEMM), $OCTCL_CPU_FUSE_UP = fuse and $OCTCL_CPU_PATH = path ("": unset; "gemm" turns
 * the AVX-512 kernels off: the AVX2 rows and transforms where the CPU has them). */
static oct_context *up_context(const char *fuse, const char *path)
{
    oct_context *ctx = NULL;
    setenv("OCTCL_CPU_FUSE_UP", fuse, 1);
    if (*path) setenv("OCTCL_CPU_PATH", path, 1);
    oct_status s = conv_cpu_context("1", "0", &ctx);
    unsetenv("OCTCL_CPU_FUSE_UP");
    unsetenv("OCTCL_CPU_PATH");
    return s == OCT_OK ? ctx : NULL;
}

/* The upsample added in the convolution's own stores (OCTCL_CPU_FUSE_UP=1: Winograd's
 * output stores for 3x3, the GEMM's tile epilogue or each GEMM block for 1x1) gives the
 * very floats of the separate resize pass (OCTCL_CPU_FUSE_UP=0) -- the same additions in
 * the same order, so memcmp --
 * with the AVX-512 rows and stores, under OCTCL_CPU_PATH=gemm the AVX2 ones (where the
 * CPU has AVX2; the plain ones else), and with the scalar GEMM forced too the plain ones
 * (a 3x3 convg with a residual takes im2col + GEMM there); all agree with the reference
 * backend (which has no conv_up: the dispatcher's two ops) within Winograd's tolerance.
 * Odd output sizes are not a 2x upsample: the pass serves them. */
static void test_conv_up(void)
{
    static const ucase cases[] = {
        /* n ci co  h   w  k pad uh uw bias acc relu res slice */
        {1, 5, 7, 8, 10, 3, 1, 4, 5, 1, 0, 1, 0, 0},     /* plain */
        {2, 6, 9, 12, 6, 3, 1, 6, 3, 1, 1, 1, 0, 1},     /* batch, accumulate, a channel slice as the source */
        {1, 4, 33, 14, 14, 3, 1, 7, 7, 1, 0, 1, 1, 0},   /* convg with a residual */
        {2, 3, 5, 10, 38, 3, 0, 4, 18, 0, 1, 0, 1, 1},   /* pad 0, tile rows of 18 (16 + 2 lanes), no ReLU */
        {1, 16, 40, 36, 40, 3, 1, 18, 20, 1, 0, 1, 0, 0}, /* several blocks and output-channel strips */
        {1, 3, 4, 7, 9, 3, 1, 4, 5, 1, 0, 1, 0, 0},      /* odd output: nearest resize, not 2x */
        /* 1x1 on the GEMM: the upsample added to each block of pixels */
        {1, 5, 7, 8, 10, 1, 0, 4, 5, 1, 0, 1, 0, 0},     /* one block, rows of 10 (8 + 2 lanes) */
        {2, 6, 9, 12, 6, 1, 0, 6, 3, 0, 1, 1, 0, 1},     /* batch, accumulate, a channel slice as the source */
        {1, 16, 40, 36, 42, 1, 0, 18, 21, 1, 0, 1, 1, 0}, /* convg + residual: 2 blocks, the second mid-row */
        {2, 33, 20, 34, 34, 1, 0, 17, 17, 1, 1, 0, 0, 1}, /* 2 blocks an image, no ReLU */
        /* ... in the GEMM's tile epilogue (AVX2, scalar): 8 pixels across a plane row */
        {1, 8, 32, 14, 14, 1, 0, 7, 7, 1, 0, 1, 1, 0},    /* 14 wide (B packed), 32 rows = 5 strips + 2 */
        {1, 7, 13, 8, 8, 1, 0, 4, 4, 0, 0, 1, 0, 0},      /* 8 wide: the narrowest it takes */
        {1, 6, 9, 6, 10, 1, 0, 3, 5, 1, 0, 1, 1, 0},      /* 60 = 3 strips + 12 pixels across a row */
        {1, 12, 70, 28, 28, 1, 0, 14, 14, 1, 1, 1, 1, 0}, /* 28 wide, B in place; 70 rows = 11 strips + 4 */
        {1, 3, 4, 7, 9, 1, 0, 4, 5, 1, 0, 1, 0, 0},      /* odd output: not 2x */
    };
    /* fused, pass; the same two under OCTCL_CPU_PATH=gemm; and those with the scalar GEMM */
    oct_context *ctx[6] = {up_context("1", ""),     up_context("0", ""),     up_context("1", "gemm"),
                           up_context("0", "gemm"), up_context("1", "gemm"), up_context("0", "gemm")};
    for (int k = 0; k < 6; k++) CU_ASSERT_PTR_NOT_NULL_FATAL(ctx[k]);
    static const char *const how[3] = {"", " (OCTCL_CPU_PATH=gemm)", " (scalar GEMM)"};
    rng_t rng = {31337};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ucase *c = &cases[i];
        int ho = c->h + 2 * c->pad - (c->k - 1), wo = c->w + 2 * c->pad - (c->k - 1);
        size_t ny = (size_t)c->n * c->co * ho * wo, total = LEAD + ny + TAIL;
        size_t nu = (size_t)c->n * (c->co + 2 * c->slice) * c->uh * c->uw;
        float *x = rng_array(&rng, (size_t)c->n * c->ci * c->h * c->w, -2, 2);
        float *w = rng_array(&rng, (size_t)c->co * c->ci * c->k * c->k, -2, 2), *b = rng_array(&rng, (size_t)c->co, -2, 2);
        float *r = rng_array(&rng, ny, -2, 2), *u = rng_array(&rng, nu, -2, 2), *y0 = rng_array(&rng, ny, -2, 2);
        float *want = malloc(total * sizeof *want), *got[6];
        for (int k = 0; k < 6; k++) got[k] = malloc(total * sizeof *got[k]);
        CU_ASSERT_FATAL(x && w && b && r && u && y0 && want && got[0] && got[1] && got[2] && got[3] && got[4] && got[5]);
        CU_ASSERT_EQUAL_FATAL(run_up(g_ref, c, x, w, b, r, u, y0, want), OCT_OK);
        for (int k = 0; k < 6; k++) {
            char what[200];
            snprintf(what, sizeof what, "conv_up %s%s case %zu (n%d %d->%d %dx%d k%d p%d)", k % 2 ? "pass" : "fused",
                     how[k / 2], i, c->n, c->ci, c->co, c->h, c->w, c->k, c->pad);
            if (k >= 4) CU_ASSERT_FATAL(oct__sgemm_force(OCT__GEMM_SCALAR));
            oct_status s = run_up(ctx[k], c, x, w, b, r, u, y0, got[k]);
            oct__sgemm_force(-1);
            CU_ASSERT_EQUAL_FATAL(s, OCT_OK);
            CU_ASSERT_EQUAL(conv_check_out(what, want, got[k], ny, TOL_ABS * wtol(), TOL_REL * wtol()), 0);
        }
        for (int k = 0; k < 6; k += 2)
            if (memcmp(got[k], got[k + 1], total * sizeof *want) != 0) {
                printf("\n  conv_up case %zu%s: the stores' sum differs from the pass's\n", i, how[k / 2]);
                CU_FAIL("fused upsample differs from the separate pass");
            }
        for (int k = 0; k < 6; k++) free(got[k]);
        free(want), free(y0), free(u), free(r), free(b), free(w), free(x);
    }
    for (int k = 0; k < 6; k++) oct_context_free(ctx[k]);
}

/* conv2d_pair with a side output (the OctConv L->H over x_l beside the low band): y =
 * conv(x1, w1) + conv(x2, w2) + b1 + b2, ReLU; z = conv(side_x's input, w3) + b3 (ReLU if
 * relu3). k = 3, stride 1. */
typedef struct {
    int n, c1, c2, co, co3, h, w, pad, side_x, bias3, relu3;
} scase;

/* Case c through oct__op_conv2d_pair on ctx: y then z into out (each LEAD + count + TAIL
 * floats, canaries around). */
static oct_status run_side(oct_context *ctx, const scase *c, float *const in[7], float *out)
{
    int ho = c->h + 2 * c->pad - 2, wo = c->w + 2 * c->pad - 2, c3 = c->side_x == 1 ? c->c1 : c->c2;
    size_t ny = (size_t)c->n * c->co * ho * wo, nz = (size_t)c->n * c->co3 * ho * wo;
    size_t n1 = (size_t)c->n * c->c1 * c->h * c->w, n2 = (size_t)c->n * c->c2 * c->h * c->w;
    oct__buf b[9] = {{0}};
    float *yc = malloc((LEAD + ny + TAIL) * sizeof *yc), *zc = malloc((LEAD + nz + TAIL) * sizeof *zc);
    for (size_t i = 0; yc && i < LEAD + ny + TAIL; i++) yc[i] = i < LEAD || i >= LEAD + ny ? CANARY : NAN;
    for (size_t i = 0; zc && i < LEAD + nz + TAIL; i++) zc[i] = i < LEAD || i >= LEAD + nz ? CANARY : NAN;
    oct_status s = yc && zc ? OCT_OK : OCT_ERR_HOST_MEMORY;
    const size_t counts[7] = {n1, n2, (size_t)c->co * c->c1 * 9, (size_t)c->co * c->c2 * 9, (size_t)c->co3 * c3 * 9,
                              (size_t)c->co, (size_t)c->co3};
    for (int i = 0; i < 7 && s == OCT_OK; i++) s = oct__buf_upload(ctx, &b[i], in[i], counts[i]);
    if (s == OCT_OK) s = oct__buf_upload(ctx, &b[7], yc, LEAD + ny + TAIL);
    if (s == OCT_OK) s = oct__buf_upload(ctx, &b[8], zc, LEAD + nz + TAIL);
    if (s == OCT_OK) {
        oct__view x1 = oct__view_of(&b[0], c->n, c->c1, c->h, c->w), x2 = oct__view_of(&b[1], c->n, c->c2, c->h, c->w);
        oct__view y = oct__view_of(&b[7], c->n, c->co, ho, wo), z = oct__view_of(&b[8], c->n, c->co3, ho, wo);
        y.off = z.off = LEAD;
        oct__conv_op side = {c->side_x == 1 ? x1 : x2, z, &b[4], c->bias3 ? &b[6] : NULL, 3, 1, c->pad, 0, c->relu3};
        oct__conv_pair_op op = {x1, x2, y, &b[2], &b[3], &b[5], NULL, 3, 1, c->pad, 0, 1, {0}, &side, c->side_x};
        s = oct__op_conv2d_pair(ctx, &op);
    }
    if (s == OCT_OK) s = ctx->be->read(ctx, &b[7], out);
    if (s == OCT_OK) s = ctx->be->read(ctx, &b[8], out + LEAD + ny + TAIL);
    for (int i = 8; i >= 0; i--) oct__buf_free(ctx, &b[i]);
    free(zc), free(yc);
    return s;
}

/* A cpu context with Winograd forced on and $OCTCL_CPU_PAIR_SIDE = side. */
static oct_context *side_context(const char *side)
{
    oct_context *ctx = NULL;
    setenv("OCTCL_CPU_PAIR_SIDE", side, 1);
    oct_status s = conv_cpu_context("1", "", &ctx);
    unsetenv("OCTCL_CPU_PAIR_SIDE");
    return s == OCT_OK ? ctx : NULL;
}

/* The side output from the pair's own transformed input (OCTCL_CPU_PAIR_SIDE=1) gives
 * the very floats of the pair and a conv2d of its own (=0; the same products in the same
 * order: memcmp), over x1 or x2, in blocks of tiles and in the shared mode (its output
 * channels after the pair's), with 1 and 2 threads; both agree with the reference
 * backend (no pair_side: the dispatcher's two ops) within Winograd's tolerance, and the
 * side is counted as fused where its own tile is the pair's. */
static void test_pair_side(void)
{
    static const scase cases[] = {
        /* n c1 c2 co co3  h   w pad side bias3 relu3 */
        {1, 4, 3, 5, 6, 8, 8, 1, 2, 1, 0},       /* L->H over x2, one block */
        {2, 6, 5, 7, 9, 9, 7, 1, 1, 0, 1},       /* over x1, odd sizes, no bias, ReLU */
        {1, 32, 32, 32, 64, 16, 16, 1, 2, 1, 0}, /* OctNetMini's first low band */
        {1, 64, 64, 64, 64, 14, 14, 1, 2, 1, 0}, /* a 14x14 low band: the shared mode */
        {3, 20, 12, 33, 17, 13, 11, 0, 2, 1, 0}, /* pad 0, strips not whole */
        {1, 128, 128, 128, 128, 7, 7, 1, 2, 1, 0}, /* Oct-ResNet-50's 7x7 low band */
        /* the shared mode's groups cut by terms (cpu__wino_cut): on two threads the
         * pair's 2 strips of 128 terms and 6 of the side's 16 (64 terms) go to one, the
         * other 10 side strips to the other, more than half of all 18 */
        {1, 64, 64, 16, 128, 7, 7, 1, 2, 1, 0},
    };
    oct_context *ctx[4] = {side_context("1"), side_context("0"), NULL, NULL};
    setenv("OCTCL_THREADS", "1", 1);
    ctx[2] = side_context("1"), ctx[3] = side_context("0");
    unsetenv("OCTCL_THREADS");
    for (int k = 0; k < 4; k++) CU_ASSERT_PTR_NOT_NULL_FATAL(ctx[k]);
    rng_t rng = {4242};
    long long fused0 = oct__cpu_sides_fused(ctx[0]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const scase *c = &cases[i];
        int ho = c->h + 2 * c->pad - 2, wo = c->w + 2 * c->pad - 2, c3 = c->side_x == 1 ? c->c1 : c->c2;
        size_t ny = (size_t)c->n * c->co * ho * wo, nz = (size_t)c->n * c->co3 * ho * wo;
        size_t total = 2 * (LEAD + TAIL) + ny + nz;
        float *in[7] = {rng_array(&rng, (size_t)c->n * c->c1 * c->h * c->w, -2, 2),
                        rng_array(&rng, (size_t)c->n * c->c2 * c->h * c->w, -2, 2),
                        rng_array(&rng, (size_t)c->co * c->c1 * 9, -2, 2), rng_array(&rng, (size_t)c->co * c->c2 * 9, -2, 2),
                        rng_array(&rng, (size_t)c->co3 * c3 * 9, -2, 2), rng_array(&rng, (size_t)c->co, -2, 2),
                        rng_array(&rng, (size_t)c->co3, -2, 2)};
        float *want = malloc(total * sizeof *want), *got[4];
        for (int k = 0; k < 4; k++) got[k] = malloc(total * sizeof *got[k]);
        for (int k = 0; k < 7; k++) CU_ASSERT_PTR_NOT_NULL_FATAL(in[k]);
        CU_ASSERT_FATAL(want && got[0] && got[1] && got[2] && got[3]);
        CU_ASSERT_EQUAL_FATAL(run_side(g_ref, c, in, want), OCT_OK);
        for (int k = 0; k < 4; k++) {
            char what[200];
            snprintf(what, sizeof what, "F%d pair side %s, %d thread(s), case %zu (n%d %d+%d->%d, side %d->%d %dx%d)",
                     g_m, k % 2 ? "apart" : "fused", k < 2 ? 0 : 1, i, c->n, c->c1, c->c2, c->co, c3, c->co3, c->h, c->w);
            CU_ASSERT_EQUAL_FATAL(run_side(ctx[k], c, in, got[k]), OCT_OK);
            CU_ASSERT_EQUAL(compare_floats(what, want + LEAD, got[k] + LEAD, ny, TOL_ABS * wtol(), TOL_REL * wtol()), 0);
            size_t z0 = LEAD + ny + TAIL;
            CU_ASSERT_EQUAL(compare_floats(what, want + z0 + LEAD, got[k] + z0 + LEAD, nz, TOL_ABS * wtol(),
                                           TOL_REL * wtol()), 0);
            for (size_t j = 0; j < total; j++) {
                int in_y = j >= LEAD && j < LEAD + ny, in_z = j >= z0 + LEAD && j < z0 + LEAD + nz;
                if (!in_y && !in_z && got[k][j] != CANARY) {
                    printf("\n  %s: canary %zu overwritten\n", what, j);
                    CU_FAIL("canary");
                    break;
                }
            }
        }
        for (int k = 0; k < 4; k += 2)
            if (memcmp(got[k], got[k + 1], total * sizeof *want) != 0) {
                printf("\n  pair side case %zu: fused and apart differ\n", i);
                CU_FAIL("side output from the pair's transform differs from its own conv2d");
            }
        for (int k = 0; k < 4; k++) free(got[k]);
        free(want);
        for (int k = 0; k < 7; k++) free(in[k]);
    }
    /* every case fused on the context that may (one tile for both under a forced tile;
     * by shape the first two cases' 3-6 channels take F(2x2) like their pair) */
    CU_ASSERT(oct__cpu_sides_fused(ctx[0]) - fused0 >= 2);
    CU_ASSERT_EQUAL(oct__cpu_sides_fused(ctx[1]), 0);
    for (int k = 0; k < 4; k++) oct_context_free(ctx[k]);
}

/* The dispatcher refuses a side output that is not the pair's: side_x out of range, an
 * input other than x1 or x2, another geometry, accumulate, an output that overlaps the
 * pair's; each names the problem and runs nothing. */
static void test_pair_side_checks(void)
{
    oct_context *ctx = g_ref;
    float z[4 * 4 * 6 * 6 * 2] = {0};
    oct__buf x = {0}, w = {0}, y = {0}, o = {0};
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(ctx, &x, z, 2 * 4 * 6 * 6), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(ctx, &w, z, 4 * 4 * 9), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(ctx, &y, z, 4 * 4 * 6 * 6), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct__buf_upload(ctx, &o, z, 4 * 4 * 6 * 6), OCT_OK);
    oct__view x1 = oct__view_of(&x, 1, 4, 6, 6), x2 = x1, yv = oct__view_of(&y, 1, 4, 6, 6);
    x2.off = 4 * 36;
    oct__conv_op side = {x2, oct__view_of(&o, 1, 4, 6, 6), &w, NULL, 3, 1, 1, 0, 0};
    oct__conv_pair_op op = {x1, x2, yv, &w, &w, NULL, NULL, 3, 1, 1, 0, 1, {0}, &side, 2};
    CU_ASSERT_EQUAL(oct__op_conv2d_pair(ctx, &op), OCT_OK);
    op.side_x = 3;
    CU_ASSERT_EQUAL(oct__op_conv2d_pair(ctx, &op), OCT_ERR_BAD_SIZE);
    op.side_x = 1; /* side.x is x2 */
    CU_ASSERT_EQUAL(oct__op_conv2d_pair(ctx, &op), OCT_ERR_SHAPE_MISMATCH);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "not the pair's x1"));
    op.side_x = 2, side.pad = 0, side.y.h = side.y.w = 4;
    CU_ASSERT_EQUAL(oct__op_conv2d_pair(ctx, &op), OCT_ERR_BAD_SIZE);
    side.pad = 1, side.y.h = side.y.w = 6, side.accumulate = 1;
    CU_ASSERT_EQUAL(oct__op_conv2d_pair(ctx, &op), OCT_ERR_BAD_SIZE);
    side.accumulate = 0, side.y = yv; /* onto the pair's own output */
    CU_ASSERT_EQUAL(oct__op_conv2d_pair(ctx, &op), OCT_ERR_SHAPE_MISMATCH);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "overlaps"));
    side.y = x2; /* onto an input */
    CU_ASSERT_EQUAL(oct__op_conv2d_pair(ctx, &op), OCT_ERR_SHAPE_MISMATCH);
    oct__buf_free(ctx, &o), oct__buf_free(ctx, &y), oct__buf_free(ctx, &w), oct__buf_free(ctx, &x);
}

/* The F(4x4) suite: g_m = 4, and the contexts the cases use made again with
 * $OCTCL_CPU_WINO_TILE=4 (left set for the contexts its tests make themselves). */
static int f4_init(void)
{
    g_m = 4;
    setenv("OCTCL_CPU_WINO_TILE", "4", 1);
    oct_context_free(g_cpu), oct_context_free(g_on), oct_context_free(g_gemm);
    g_cpu = g_on = g_gemm = NULL;
    if (oct_context_create("cpu", &g_cpu) != OCT_OK || conv_cpu_context("1", "", &g_on) != OCT_OK) return 1;
    setenv("OCTCL_CPU_PATH", "gemm", 1);
    oct_status s = conv_cpu_context("1", "", &g_gemm);
    unsetenv("OCTCL_CPU_PATH");
    return s != OCT_OK;
}

static int f4_clean(void)
{
    g_m = 2;
    unsetenv("OCTCL_CPU_WINO_TILE");
    return 0;
}

/* $OCTCL_CPU_WINO_TILE takes 2, 4 or empty; any other value is refused when a context is
 * made, with one line naming it. */
static void test_tile_values(void)
{
    static const char *const bad[] = {"1", "3", "8", "4x", " 4"}, *const good[] = {"2", "4", ""};
    env_values_case("OCTCL_CPU_WINO_TILE", bad, sizeof bad / sizeof bad[0], good, sizeof good / sizeof good[0]);
}

/* The tests each Winograd tile runs (the F(4x4) suite without "forced off", which has
 * no tile). */
static void add_tile_tests(CU_pSuite s, int with_off)
{
    static const struct {
        const char *name;
        CU_TestFunc fn;
    } tests[] = {
        {"forced on: conv2d, conv2d_pair, convg + residual", test_on},
        {"forced off: the same cases", test_off},
        {"automatic choice: the same cases", test_auto},
        {"forced on with every GEMM kernel", test_kernels},
        {"forced on without the direct kernel (AVX2 / plain transforms), every GEMM kernel", test_no_direct},
        {"forced on with 1, 2, 3 and 7 threads (both block cuts)", test_thread_counts},
        {"oct__wino_input: channel ranges in either order give the whole range's V", test_input_ranges},
        {"oct__wino_run: stores stay in the rows of its tiles (next row read-only)", test_store_bounds},
        {"oct__wino_run: plain, AVX2 and AVX-512 transforms, same bits, NaN kept, blocks and groups", test_transforms},
        {"oct_context_macs_executed: direct and Winograd counts", test_macs_executed},
        {"conv_up, 3x3 and 1x1: the upsample in the stores equals the separate pass", test_conv_up},
        {"conv2d_pair's side output (L->H): from the pair's transform, the same bits as apart", test_pair_side},
        {"conv2d_pair's side output: the dispatcher refuses one that is not the pair's", test_pair_side_checks},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (with_off || tests[i].fn != test_off) CU_add_test(s, tests[i].name, tests[i].fn);
}

int main(void)
{
    /* g_cpu first, with the environment the test was started with. */
    if (oct_context_create("ref", &g_ref) != OCT_OK || oct_context_create("cpu", &g_cpu) != OCT_OK ||
        conv_cpu_context("1", "", &g_on) != OCT_OK || conv_cpu_context("0", "", &g_off) != OCT_OK ||
        setenv("OCTCL_CPU_PATH", "gemm", 1) != 0 || conv_cpu_context("1", "", &g_gemm) != OCT_OK ||
        unsetenv("OCTCL_CPU_PATH") != 0) {
        printf("cannot create the contexts: %s\n", oct_last_error());
        return 1;
    }
    int rc = 1;
    if (CU_initialize_registry() != CUE_SUCCESS) goto done;
    CU_pSuite s = CU_add_suite("cpu Winograd F(2x2, 3x3) vs ref", NULL, NULL);
    add_tile_tests(s, 1);
    CU_add_test(s, "OCTCL_CPU_WINOGRAD / _GEMM_PACKED / _SMALL / _FUSE_UP / _SHARED_B: 0, 1, empty; others refused",
                test_switch_values);
    CU_add_test(s, "OCTCL_CPU_WINO_TILE: 2, 4, empty; others refused", test_tile_values);
    CU_add_test(s, "the tile by shape: 12x12 to 16x16 planes of 32 and 64 channels under each GEMM kernel", test_tile_by_shape);
    s = CU_add_suite("cpu Winograd F(4x4, 3x3) vs ref ($OCTCL_CPU_WINO_TILE=4)", f4_init, f4_clean);
    add_tile_tests(s, 0);
    s = CU_add_suite("cpu linear (few rows: dot products; more: GEMM) vs ref", NULL, NULL);
    CU_add_test(s, "shapes of network heads, odd sizes, NaN-filled outputs", test_linear);
    CU_add_test(s, "each image of a batch equals it alone (automatic choice, linear head)", test_batch_independent);
    s = CU_add_suite("cpu convg 1x1 + residual (direct kernel on small planes) vs ref", NULL, NULL);
    CU_add_test(s, "7x7 .. 15x14 planes, accumulate, bias, ReLU", test_convg_1x1_residual);
    rc = run_cunit();
done:
    oct_context_free(g_gemm);
    oct_context_free(g_off);
    oct_context_free(g_on);
    oct_context_free(g_cpu);
    oct_context_free(g_ref);
    return rc;
}
