/* test_convpack.c — the CPU backend's implicit-im2col GEMM (host/convpack.c, the GEMM's
 * oct__sgemm_apacked_src): the panels oct__convpack_b writes equal, float for float, the
 * im2col matrix a plain loop builds here, packed the way gemm.h specifies, for strides
 * 1 to 3, kernels 1 to 7, padding 0 to 3, rows narrower than a vector and wider than a
 * panel, K blocks starting anywhere, every panel width of the GEMM kernels, with the
 * AVX-512 loads, the AVX2 ones and the plain ones (those the CPU has); then conv2d
 * through a cpu context that takes the path against one that keeps im2col + SGEMM
 * ($OCTCL_CPU_IMPLICIT=0): the same bits
 * (memcmp, canaries around the output), and both against the reference backend within
 * testutil.h's tolerance. A row of a segment off by one, a stride lane wrong or a
 * padding column not zeroed moves the panels' floats, which memcmp sees. Last, the
 * stride-2 max pool's AVX-512 rows (the stem's pool after this convolution) against the
 * reference, float for float, with NaNs and infinities in the input: a NaN wins its
 * windows, as in the plain loop. And the packed-weight GEMM (oct__sgemm_apacked_epi)
 * with B read in place by the AVX-512 kernel against B packed ($OCTCL_GEMM_PACK_B=1):
 * the same bits, over K blocks, row strides aligned or not, narrow last strips, row
 * ranges starting mid-matrix, accumulate and every epilogue; and against a double sum.
 */
#include "backend_cpu.h"
#include "convcase.h"
#include "convpack.h"
#include "gemm.h"
#include "internal.h"
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAD CONV_LEAD
#define TAIL CONV_TAIL
#define CANARY CONV_CANARY

static int conv_len(int in, int k, int s, int pad) { return (in + 2 * pad - k) / s + 1; }

/* The im2col value of row p (c, ky, kx), output pixel (oy, ox), by the definition. */
static float im2col_at(const oct__convpack *cp, int p, int oy, int ox)
{
    int c = p / (cp->k * cp->k), ky = p / cp->k % cp->k, kx = p % cp->k;
    int iy = oy * cp->s - cp->pad + ky, ix = ox * cp->s - cp->pad + kx;
    if (iy < 0 || iy >= cp->h || ix < 0 || ix >= cp->w) return 0.0f;
    return cp->x[((size_t)c * cp->h + iy) * cp->w + ix];
}

typedef struct {
    int ci, h, w, k, s, pad;
} pcase;

/* Every panel of one case, for B rows [p0, p0 + kc) and columns [j0, j0 + nc) from
 * output row oy0, against im2col_at. Returns the mismatches (0: equal). */
static int check_panels(const pcase *pc, int oy0, int p0, int kc, int j0, int nc, int nr, int isa,
                        const float *x)
{
    oct__convpack cp = {x, pc->ci, pc->h, pc->w, pc->k, pc->s, pc->pad, conv_len(pc->w, pc->k, pc->s, pc->pad),
                        oy0, isa};
    int panels = (nc + nr - 1) / nr, bad = 0;
    size_t floats = (size_t)panels * kc * nr + 16;
    float *got = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64), *want = malloc(floats * sizeof(float));
    if (!got || !want) {
        free(got), free(want);
        return 1;
    }
    for (size_t i = 0; i < floats; i++) got[i] = want[i] = CANARY; /* past the panels: untouched */
    for (int sp = 0; sp < panels; sp++)
        for (int p = 0; p < kc; p++)
            for (int j = 0; j < nr; j++) {
                int col = j0 + sp * nr + j;
                float v = 0.0f;
                if (sp * nr + j < nc) v = im2col_at(&cp, p0 + p, oy0 + col / cp.wo, col % cp.wo);
                want[((size_t)sp * kc + p) * nr + j] = v;
            }
    oct__convpack_b(&cp, p0, kc, j0, nc, nr, got);
    for (size_t i = 0; i < floats; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0) {
            if (bad++ == 0)
                printf("\n  ci%d %dx%d k%d s%d p%d oy0 %d rows %d+%d cols %d+%d nr %d isa %d: float %zu is %g, not %g\n",
                       pc->ci, pc->h, pc->w, pc->k, pc->s, pc->pad, oy0, p0, kc, j0, nc, nr, isa, i, got[i],
                       want[i]);
        }
    free(got), free(want);
    return bad;
}

static void test_panels(void)
{
    static const pcase cases[] = {
        /* ci  h   w  k  s pad */
        {3, 30, 30, 7, 2, 3},   /* the stem's shape, smaller: wo 15 */
        {3, 75, 75, 7, 2, 3},   /* wo 38: segments cross panels, three 16-lane groups */
        {2, 9, 5, 3, 2, 1},     /* rows narrower than a vector */
        {4, 12, 40, 3, 1, 1},   /* stride 1, wo 40 */
        {2, 8, 21, 5, 1, 2},    /* stride 1, pad 2 */
        {3, 20, 23, 5, 3, 2},   /* stride 3: the plain loop */
        {5, 11, 13, 1, 2, 0},   /* 1x1 stride 2 */
        {2, 6, 7, 3, 2, 3},     /* padding wider than the input's half */
        {1, 40, 70, 7, 2, 0},   /* pad 0, odd width */
    };
    static const int nrs[] = {32, 16, 4};
    int bad = 0, runs = 0;
    float *x = NULL;
    rng_t rng = {4242};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const pcase *pc = &cases[i];
        int ho = conv_len(pc->h, pc->k, pc->s, pc->pad), wo = conv_len(pc->w, pc->k, pc->s, pc->pad);
        int kdim = pc->ci * pc->k * pc->k;
        x = rng_array(&rng, (size_t)pc->ci * pc->h * pc->w, -2, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        static const int isas[] = {OCT__GEMM_SCALAR, OCT__GEMM_AVX2, OCT__GEMM_AVX512};
        for (size_t v = 0; v < sizeof isas / sizeof isas[0]; v++) {
            int isa = isas[v];
            if (!oct__sgemm_supported(isa)) continue;
            for (size_t r = 0; r < sizeof nrs / sizeof nrs[0]; r++) {
                /* All of it; a K block starting inside a channel and columns from inside
                 * a row; output rows from the middle on. */
                int oy0 = ho / 3, left = (ho - oy0) * wo;
                bad += check_panels(pc, 0, 0, kdim, 0, ho * wo, nrs[r], isa, x), runs++;
                bad += check_panels(pc, oy0, kdim / 3, kdim - kdim / 3, wo / 2 + 1, left - wo / 2 - 1, nrs[r], isa,
                                    x),
                    runs++;
                bad += check_panels(pc, oy0, kdim - 1, 1, 3 % left, left - 3 % left, nrs[r], isa, x), runs++;
            }
        }
        free(x);
    }
    printf("\n    %d panel sets: ", runs);
    CU_ASSERT_EQUAL(bad, 0);
}

/* conv2d on ctx: y (n, co, ho, wo) between canaries (out: LEAD + ny + TAIL floats). */
typedef struct {
    int n, ci, co, h, w, k, s, pad, bias, relu, acc; /* acc: y += the convolution */
} ccase;

static oct_status run_conv(oct_context *ctx, const ccase *c, const float *x, const float *w, const float *b,
                           const float *y0, float *out)
{
    int ho = conv_len(c->h, c->k, c->s, c->pad), wo = conv_len(c->w, c->k, c->s, c->pad);
    size_t ny = (size_t)c->n * c->co * ho * wo;
    oct__buf bx = {0}, bw = {0}, bb = {0}, by = {0};
    float *ybuf = conv_canary_y(y0, ny);
    oct_status s = ybuf ? OCT_OK : OCT_ERR_HOST_MEMORY;
    if (s == OCT_OK) s = oct__buf_upload(ctx, &bx, x, (size_t)c->n * c->ci * c->h * c->w);
    if (s == OCT_OK) s = oct__buf_upload(ctx, &bw, w, (size_t)c->co * c->ci * c->k * c->k);
    if (s == OCT_OK && c->bias) s = oct__buf_upload(ctx, &bb, b, (size_t)c->co);
    if (s == OCT_OK) s = oct__buf_upload(ctx, &by, ybuf, LEAD + ny + TAIL);
    oct__view vy = oct__view_of(&by, c->n, c->co, ho, wo);
    vy.off = LEAD;
    oct__conv_op op = {oct__view_of(&bx, c->n, c->ci, c->h, c->w), vy, &bw, c->bias ? &bb : NULL, c->k, c->s,
                       c->pad, c->acc, c->relu};
    if (s == OCT_OK) s = oct__op_conv2d(ctx, &op);
    if (s == OCT_OK) s = ctx->be->read(ctx, &by, out);
    oct__buf_free(ctx, &by), oct__buf_free(ctx, &bb), oct__buf_free(ctx, &bw), oct__buf_free(ctx, &bx);
    free(ybuf);
    return s;
}

/* A cpu context made with the variables env[i][0] = env[i][1] set (a NULL value: left
 * unset), all unset again afterwards (the backend reads them when a context is made);
 * NULL when it cannot be made. */
static oct_context *context_env(const char *const env[][2], size_t n)
{
    oct_context *ctx = NULL;
    for (size_t i = 0; i < n; i++)
        if (env[i][1]) setenv(env[i][0], env[i][1], 1);
    oct_status s = oct_context_create("cpu", &ctx);
    for (size_t i = 0; i < n; i++) unsetenv(env[i][0]);
    return s == OCT_OK ? ctx : NULL;
}

/* A cpu context with $OCTCL_CPU_IMPLICIT = implicit, $OCTCL_CPU_PATH = path ("": unset;
 * "gemm" sends stride-1 convolutions to the GEMM paths) and $OCTCL_THREADS = threads;
 * stride 2 kept off the direct kernel ($OCTCL_CPU_STRIDE2=0: test_stride2 takes it). */
static oct_context *context_with(const char *implicit, const char *path, const char *threads)
{
    const char *const env[][2] = {{"OCTCL_CPU_IMPLICIT", implicit},
                                  {"OCTCL_THREADS", threads},
                                  {"OCTCL_CPU_PATH", *path ? path : NULL},
                                  {"OCTCL_CPU_STRIDE2", "0"}};
    return context_env(env, sizeof env / sizeof env[0]);
}

/* got (LEAD canaries, ny outputs, TAIL canaries) against the reference's want within
 * testutil.h's tolerance, its canaries intact, and every float (canaries included) equal
 * to kept, what the other path (named other) gave. */
static void check_output(const char *what, const float *want, const float *got, const float *kept, size_t ny,
                         const char *other)
{
    size_t total = LEAD + ny + TAIL;
    CU_ASSERT_EQUAL(conv_check_out(what, want, got, ny, TOL_ABS, TOL_REL), 0);
    if (memcmp(got, kept, total * sizeof *got) != 0) {
        printf("\n  %s: differs from %s\n", what, other);
        CU_FAIL("the two paths differ");
    }
}

/* A case's random input, weights, biases and old output (members NULL when out of
 * memory), drawn in that order; ny output floats. */
typedef struct {
    float *x, *w, *b, *y0;
    size_t ny;
} cdata;

static cdata case_data(rng_t *rng, const ccase *c)
{
    int ho = conv_len(c->h, c->k, c->s, c->pad), wo = conv_len(c->w, c->k, c->s, c->pad);
    cdata d = {NULL, NULL, NULL, NULL, (size_t)c->n * c->co * ho * wo};
    d.x = rng_array(rng, (size_t)c->n * c->ci * c->h * c->w, -2, 2);
    d.w = rng_array(rng, (size_t)c->co * c->ci * c->k * c->k, -2, 2);
    d.b = rng_array(rng, (size_t)c->co, -2, 2);
    d.y0 = rng_array(rng, d.ny, -2, 2);
    return d;
}

static void case_free(cdata *d) { free(d->y0), free(d->b), free(d->w), free(d->x); }

static void test_conv2d(void)
{
    static const ccase cases[] = {
        /* n ci co   h   w  k  s pad bias relu acc */
        {1, 3, 64, 64, 64, 7, 2, 3, 1, 1, 0},   /* the stem, smaller: 32x32 outputs */
        {2, 3, 10, 45, 39, 7, 2, 3, 1, 0, 0},   /* batch 2, odd sizes, co no tile divides */
        {1, 8, 12, 30, 30, 7, 2, 3, 0, 1, 0},   /* K = 392: two K blocks */
        {3, 5, 9, 30, 66, 3, 2, 1, 1, 1, 0},    /* rows of 33 outputs */
        {1, 4, 8, 40, 40, 5, 3, 2, 1, 1, 0},    /* stride 3 */
        {2, 16, 20, 17, 19, 3, 1, 1, 1, 1, 0},  /* stride 1 (under OCTCL_CPU_PATH=gemm) */
        {1, 7, 5, 22, 22, 1, 2, 0, 1, 0, 0},    /* 1x1 stride 2 */
    };
    static const char *const paths[] = {"", "gemm"};
    static const char *const threads[] = {"1", "3"};
    rng_t rng = {777};
    for (size_t pi = 0; pi < 2; pi++)
        for (size_t ti = 0; ti < 2; ti++) {
            oct_context *imp = context_with("1", paths[pi], threads[ti]);
            oct_context *old = context_with("0", paths[pi], threads[ti]), *ref = NULL;
            CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ref), OCT_OK);
            CU_ASSERT_FATAL(imp && old);
            for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const ccase *c = &cases[i];
                cdata d = case_data(&rng, c);
                size_t ny = d.ny, total = LEAD + ny + TAIL;
                float *want = malloc(total * sizeof *want), *got = malloc(total * sizeof *got);
                float *kept = malloc(total * sizeof *kept);
                CU_ASSERT_FATAL(d.x && d.w && d.b && d.y0 && want && got && kept);
                CU_ASSERT_EQUAL_FATAL(run_conv(ref, c, d.x, d.w, d.b, d.y0, want), OCT_OK);
                CU_ASSERT_EQUAL_FATAL(run_conv(imp, c, d.x, d.w, d.b, d.y0, got), OCT_OK);
                CU_ASSERT_EQUAL_FATAL(run_conv(old, c, d.x, d.w, d.b, d.y0, kept), OCT_OK);
                char what[160];
                snprintf(what, sizeof what, "implicit%s threads %s case %zu (n%d %d->%d %dx%d k%d s%d p%d)",
                         pi ? " (gemm)" : "", threads[ti], i, c->n, c->ci, c->co, c->h, c->w, c->k, c->s, c->pad);
                check_output(what, want, got, kept, ny, "im2col + SGEMM");
                free(kept), free(got), free(want);
                case_free(&d);
            }
            oct_context_free(ref), oct_context_free(old), oct_context_free(imp);
        }
}

/* Stride 2 on the direct kernel's split rows (cpu__s2_use: kernels of 3 and more, up to
 * 512 terms) against the implicit GEMM ($OCTCL_CPU_STRIDE2=0) and the reference, at 1
 * and 3 threads: both within testutil.h's tolerance of the reference, canaries intact,
 * the same bits at 1 and 3 threads, and the same bits as the GEMM up to 256 terms (one K
 * block: the same sum in the same order). Odd and even widths and heights, padding 0 to
 * 3 (wider than half the input too), channel counts no tile divides, a row of one 16-lane
 * segment and of several, accumulate, batch 2, the stem at 13 and 20 channels (its
 * AVX-512 tile's pairs of channel blocks, a short pair, a block alone). Under
 * $OCTCL_CPU_PATH auto the kernel is
 * AVX-512's where the CPU has it, else AVX2's (8-pixel segments, rows ending mid-segment,
 * up to 192 terms); under gemm (what a CPU without AVX-512 runs) AVX2's, so an AVX-512
 * machine tests both. Where no kernel takes a case (more terms than it takes, or the GEMM
 * kernel forced to plain C) both switches must give the GEMM's bits, thread count for
 * thread count. (Until 2026-12-03 the test
 * expected the AVX-512 kernel's bits on every CPU and failed on an AVX2-only Zen 3.) */
static void stride2_path(const char *path, int scalar, size_t most)
{
    static const ccase cases[] = {
        /* n ci co   h   w  k  s pad bias relu acc */
        {1, 3, 64, 64, 64, 7, 2, 3, 1, 1, 0},   /* the stem, smaller: 32x32 outputs */
        {2, 3, 10, 45, 39, 7, 2, 3, 1, 0, 0},   /* batch 2, odd sizes, co no tile divides */
        {1, 8, 12, 30, 30, 7, 2, 3, 0, 1, 0},   /* 392 terms: two K blocks of the GEMM */
        {3, 5, 9, 30, 66, 3, 2, 1, 1, 1, 0},    /* rows of 33 outputs */
        {1, 56, 20, 29, 31, 3, 2, 1, 1, 1, 0},  /* 504 terms */
        {2, 16, 33, 40, 40, 5, 2, 2, 1, 1, 1},  /* accumulate */
        {1, 2, 6, 7, 3, 2, 3, 1, 0, 0, 0},      /* padding wider than the input's half */
        {1, 4, 7, 21, 70, 3, 2, 0, 1, 0, 0},    /* pad 0: the last column never read */
        {1, 3, 32, 224, 224, 3, 2, 1, 1, 1, 0}, /* MobileNet's first layer */
        {2, 6, 13, 27, 23, 3, 2, 1, 1, 1, 1},   /* rows of 12 and 14 outputs, accumulate */
        {1, 3, 13, 37, 41, 7, 2, 3, 1, 1, 0},   /* the stem's tile of two blocks: a short second pair */
        {2, 3, 20, 30, 30, 7, 2, 3, 0, 0, 1},   /* two pairs and a block alone, accumulate */
    };
    static const char *const threads[] = {"1", "3"};
    rng_t rng = {2024};
    oct_context *ref = NULL, *ctx[2][2] = {{NULL}};
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ref), OCT_OK);
    for (int on = 0; on < 2; on++)
        for (int ti = 0; ti < 2; ti++) {
            const char *const env[][2] = {
                {"OCTCL_CPU_STRIDE2", on ? "1" : "0"}, {"OCTCL_THREADS", threads[ti]}, {"OCTCL_CPU_PATH", path}};
            ctx[on][ti] = context_env(env, 3);
            CU_ASSERT_PTR_NOT_NULL_FATAL(ctx[on][ti]);
        }
    if (scalar) CU_ASSERT_FATAL(oct__sgemm_force(OCT__GEMM_SCALAR));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ccase *c = &cases[i];
        cdata d = case_data(&rng, c);
        size_t ny = d.ny, total = LEAD + ny + TAIL;
        int runs = (size_t)c->ci * c->k * c->k <= most; /* cpu__s2_use sends it to the kernel */
        float *want = malloc(total * sizeof *want), *got[2][2] = {{NULL}};
        CU_ASSERT_FATAL(d.x && d.w && d.b && d.y0 && want);
        CU_ASSERT_EQUAL_FATAL(run_conv(ref, c, d.x, d.w, d.b, d.y0, want), OCT_OK);
        for (int on = 0; on < 2; on++)
            for (int ti = 0; ti < 2; ti++) {
                got[on][ti] = malloc(total * sizeof(float));
                CU_ASSERT_PTR_NOT_NULL_FATAL(got[on][ti]);
                CU_ASSERT_EQUAL_FATAL(run_conv(ctx[on][ti], c, d.x, d.w, d.b, d.y0, got[on][ti]), OCT_OK);
            }
        char what[200];
        for (int ti = 0; ti < 2; ti++) {
            snprintf(what, sizeof what, "stride 2 path %s%s threads %s case %zu (n%d %d->%d %dx%d k%d p%d acc %d)",
                     path, scalar ? " scalar" : "", threads[ti], i, c->n, c->ci, c->co, c->h, c->w, c->k, c->pad,
                     c->acc);
            /* against the reference and its own run at 1 thread, every float (where the
             * kernel runs; the GEMM's bits may move with the threads, below) */
            check_output(what, want, got[1][ti], runs ? got[1][0] : got[1][ti], ny, "itself at 1 thread");
            if (!runs && memcmp(got[1][ti], got[0][ti], total * sizeof(float)) != 0) {
                printf("\n  %s: without the kernel, OCTCL_CPU_STRIDE2=1 changed the GEMM's bits\n", what);
                CU_FAIL("stride 2 without the kernel: not the GEMM's bits");
            }
            /* (im2col + SGEMM, which takes accumulate, may round differently at another
             * thread count: it sums pieces of rows side by side as the chunks fall) */
            snprintf(what, sizeof what, "GEMM path %s threads %s case %zu", path, threads[ti], i);
            check_output(what, want, got[0][ti], got[0][ti], ny, "itself");
        }
        /* Up to 256 terms the same bits as the GEMM; past them (two K blocks, summed in
         * two parts) other bits, which shows that the stride-2 kernel ran at all. */
        int same = memcmp(got[1][0], got[0][0], total * sizeof(float)) == 0;
        if ((size_t)c->ci * c->k * c->k <= 256 && !c->acc && !same) {
            printf("\n  path %s case %zu: up to 256 terms, the stride-2 kernel and the GEMM differ\n", path, i);
            CU_FAIL("stride 2: not the GEMM's bits");
        }
        if (runs && (size_t)c->ci * c->k * c->k > 256 && same) {
            printf("\n  path %s case %zu: past 256 terms, the GEMM's bits: the stride-2 kernel did not run\n", path,
                   i);
            CU_FAIL("stride 2: not run");
        }
        for (int on = 0; on < 2; on++)
            for (int ti = 0; ti < 2; ti++) free(got[on][ti]);
        free(want);
        case_free(&d);
    }
    if (scalar) oct__sgemm_force(-1);
    for (int on = 0; on < 2; on++)
        for (int ti = 0; ti < 2; ti++) oct_context_free(ctx[on][ti]);
    oct_context_free(ref);
}

static void test_stride2(void)
{
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f"), avx2 = __builtin_cpu_supports("avx2") &&
                                                           __builtin_cpu_supports("fma");
    printf("(AVX-512 kernel %s, AVX2 kernel %s) ", avx512 ? "run" : "absent", avx2 ? "run" : "absent");
    /* The terms each kernel takes (cpu__s2_use): 512 on AVX-512, 192 on AVX2. */
    stride2_path("auto", 0, avx512 ? 512 : avx2 ? 192 : 0);
    stride2_path("gemm", 0, avx2 ? 192 : 0);
    stride2_path("gemm", 1, 0); /* the GEMM in plain C: no stride-2 kernel */
}

/* Max pools of stride 2 (kernel 3 pad 1 as ResNet's, 2 pad 0, 3 pad 0 with odd widths,
 * rows of 1 to 71 outputs) on the cpu backend against the reference, every float equal
 * (a max selects, it does not round; NaN equal to NaN), ReLU on and off. A tenth of the
 * input is NaN, +inf or -inf. */
static void test_maxpool2(void)
{
    static const int shapes[][6] = {
        /* h   w  k pad relu ch */
        {112, 112, 3, 1, 0, 3}, {9, 141, 3, 1, 1, 2}, {8, 33, 2, 0, 0, 4}, {7, 31, 3, 0, 1, 3}, {5, 2, 3, 1, 0, 2},
        {6, 3, 2, 0, 1, 1},
        /* the AVX-512 rows of kernel 3 pad 1 (cpu__g_max3s2_512): odd and even widths whose
         * last output's right column is past the row, 16-output steps and their edges */
        {9, 141, 3, 1, 0, 2}, {4, 33, 3, 1, 0, 1}, {11, 35, 3, 1, 0, 2}, {6, 1, 3, 1, 0, 1}, {3, 64, 3, 1, 1, 2},
        {5, 31, 3, 1, 0, 3},
    };
    /* the default rows (AVX-512 where the CPU has it), OCTCL_CPU_PATH=gemm's (AVX2 where
     * the CPU has it), and those with the scalar GEMM forced (the plain loops) */
    oct_context *cpu = NULL, *gemm = NULL, *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("cpu", &cpu), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(setenv("OCTCL_CPU_PATH", "gemm", 1), 0);
    oct_status made = oct_context_create("cpu", &gemm);
    unsetenv("OCTCL_CPU_PATH");
    CU_ASSERT_EQUAL_FATAL(made, OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ref), OCT_OK);
    rng_t rng = {99};
    for (int way = 0; way < 3; way++)
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int *sh = shapes[i];
        int h = sh[0], w = sh[1], k = sh[2], pad = sh[3], ch = sh[5], n = 2;
        int ho = conv_len(h, k, 2, pad), wo = conv_len(w, k, 2, pad);
        size_t nx = (size_t)n * ch * h * w, ny = (size_t)n * ch * ho * wo;
        float *x = rng_array(&rng, nx, -2, 2), *got = malloc(ny * sizeof *got), *want = malloc(ny * sizeof *want);
        CU_ASSERT_FATAL(x && got && want);
        static const float odd[3] = {NAN, INFINITY, -INFINITY};
        for (size_t j = 0; j < nx; j++)
            if (rng_next(&rng) % 10 == 0) x[j] = odd[rng_next(&rng) % 3];
        float *out[2] = {want, got};
        oct_context *ctx[2] = {ref, way ? gemm : cpu};
        if (way == 2) CU_ASSERT_FATAL(oct__sgemm_force(OCT__GEMM_SCALAR));
        for (int e = 0; e < 2; e++) {
            oct__buf bx = {0}, by = {0};
            oct_status s = oct__buf_upload(ctx[e], &bx, x, nx);
            if (s == OCT_OK) s = oct__buf_upload(ctx[e], &by, x, ny); /* any start: every output is written */
            oct__poolg_op op = {oct__view_of(&bx, n, ch, h, w), oct__view_of(&by, n, ch, ho, wo), 1, k, k, 2, 2,
                                pad, pad, pad, pad, 0, sh[4]};
            if (s == OCT_OK) s = oct__op_poolg(ctx[e], &op);
            if (s == OCT_OK) s = ctx[e]->be->read(ctx[e], &by, out[e]);
            CU_ASSERT_EQUAL(s, OCT_OK);
            oct__buf_free(ctx[e], &by), oct__buf_free(ctx[e], &bx);
        }
        oct__sgemm_force(-1);
        size_t bad = 0;
        for (size_t j = 0; j < ny; j++)
            if (!(isnan(want[j]) && isnan(got[j])) && memcmp(&want[j], &got[j], sizeof(float)) != 0) {
                if (bad++ == 0)
                    printf("\n  max pool %dx%d k%d p%d relu%d (%s rows): output %zu is %g, not %g\n", h, w, k, pad,
                           sh[4], way == 0 ? "default" : way == 1 ? "OCTCL_CPU_PATH=gemm" : "plain", j, got[j],
                           want[j]);
            }
        CU_ASSERT_EQUAL(bad, 0);
        free(want), free(got), free(x);
    }
    oct_context_free(ref), oct_context_free(gemm), oct_context_free(cpu);
}

/* conv2d_pool on the cpu backend against conv2d then poolg on it (memcmp, the
 * convolution's output too), and the reference within its rounding: ResNet's stem (7x7
 * stride 2 pad 3, ReLU, then 3x3 stride 2 pad 1 max) at two images, a 3x3 stride-1
 * layer of 13 channels (a last block of 1) at one image (its blocks cut among the
 * threads) with a 2x2 max pool, both pooled inside the direct kernel; 64 channels over
 * 40 x 200 (several bands of rows: pooled after it), the stem again on
 * OCTCL_CPU_PATH=gemm's kernels (AVX2's), and at 13 channels (AVX-512's stem tile takes
 * two blocks of channels, here a whole pair and a short one). NaN and infinities in a
 * twentieth of x. */
static void test_conv2d_pool(void)
{
    static const int cases[][10] = {
        /* n ci co   h    w  k s p pk pp  (pool k x k, stride 2, pad pp) */
        {2, 3, 8, 37, 45, 7, 2, 3, 3, 1},
        {1, 5, 13, 20, 17, 3, 1, 1, 2, 0},
        {1, 64, 8, 40, 200, 3, 1, 1, 3, 1},
        {2, 3, 8, 37, 45, 7, 2, 3, 3, 1},
        {1, 3, 13, 37, 45, 7, 2, 3, 3, 1}, /* the stem's two-block tile, a short last pair */
    };
    rng_t rng = {4242};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *c = cases[i];
        int n = c[0], ci = c[1], co = c[2], h = c[3], w = c[4], k = c[5], st = c[6], pad = c[7], pk = c[8], pp = c[9];
        int ho = conv_len(h, k, st, pad), wo = conv_len(w, k, st, pad);
        int po = conv_len(ho, pk, 2, pp), qo = conv_len(wo, pk, 2, pp);
        size_t nx = (size_t)n * ci * h * w, nw = (size_t)co * ci * k * k, ny = (size_t)n * co * ho * wo;
        size_t np = (size_t)n * co * po * qo;
        float *x = rng_array(&rng, nx, -1, 1), *wt = rng_array(&rng, nw, -0.5f, 0.5f), *bias = rng_array(&rng, co, -1, 1);
        CU_ASSERT_FATAL(x && wt && bias);
        static const float odd[3] = {NAN, INFINITY, -INFINITY};
        for (size_t j = 0; j < nx; j++)
            if (rng_next(&rng) % 20 == 0) x[j] = odd[rng_next(&rng) % 3];
        if (i == 3) CU_ASSERT_EQUAL_FATAL(setenv("OCTCL_CPU_PATH", "gemm", 1), 0);
        oct_context *cpu = NULL, *ref = NULL;
        oct_status made = oct_context_create("cpu", &cpu);
        unsetenv("OCTCL_CPU_PATH");
        CU_ASSERT_EQUAL_FATAL(made, OCT_OK);
        CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ref), OCT_OK);
        float *out[3][2]; /* [fused, two ops, reference][conv y, pool y] */
        oct_context *ctx[3] = {cpu, cpu, ref};
        for (int e = 0; e < 3; e++) {
            out[e][0] = malloc(ny * sizeof(float)), out[e][1] = malloc(np * sizeof(float));
            CU_ASSERT_FATAL(out[e][0] && out[e][1]);
            oct__buf bx = {0}, bw = {0}, bb = {0}, by = {0}, bp = {0};
            oct_status s = oct__buf_upload(ctx[e], &bx, x, nx);
            if (s == OCT_OK) s = oct__buf_upload(ctx[e], &bw, wt, nw);
            if (s == OCT_OK) s = oct__buf_upload(ctx[e], &bb, bias, (size_t)co);
            if (s == OCT_OK) s = oct__buf_alloc(ctx[e], &by, ny);
            if (s == OCT_OK) s = oct__buf_alloc(ctx[e], &bp, np);
            oct__conv_op conv = {oct__view_of(&bx, n, ci, h, w), oct__view_of(&by, n, co, ho, wo), &bw, &bb, k, st, pad,
                                 0, 1};
            oct__poolg_op pool = {conv.y, oct__view_of(&bp, n, co, po, qo), 1, pk, pk, 2, 2, pp, pp, pp, pp, 0, 0};
            long long before = oct__cpu_pools_fused(ctx[e]);
            if (s == OCT_OK) s = e == 0 ? oct__op_conv2d_pool(ctx[e], &conv, &pool) : oct__op_conv2d(ctx[e], &conv);
            if (s == OCT_OK && e > 0) s = oct__op_poolg(ctx[e], &pool);
            if (s == OCT_OK) s = ctx[e]->be->read(ctx[e], &by, out[e][0]);
            if (s == OCT_OK) s = ctx[e]->be->read(ctx[e], &bp, out[e][1]);
            CU_ASSERT_EQUAL(s, OCT_OK);
            /* Inside the kernel where a direct one runs it (stride 1 on AVX-512, stride 2 on
             * AVX-512 or AVX2: cpu__s2_use) and one band of rows holds the whole output. */
            __builtin_cpu_init();
            int avx512 = __builtin_cpu_supports("avx512f"),
                avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
            int direct = st == 2 ? avx512 || avx2 : avx512 && i != 3;
            if (e == 0) CU_ASSERT_EQUAL(oct__cpu_pools_fused(ctx[e]) - before, i != 2 && direct ? 1 : 0);
            oct__buf_free(ctx[e], &bp), oct__buf_free(ctx[e], &by), oct__buf_free(ctx[e], &bb);
            oct__buf_free(ctx[e], &bw), oct__buf_free(ctx[e], &bx);
        }
        CU_ASSERT_EQUAL(memcmp(out[0][0], out[1][0], ny * sizeof(float)), 0);
        CU_ASSERT_EQUAL(memcmp(out[0][1], out[1][1], np * sizeof(float)), 0);
        size_t bad = 0;
        for (size_t j = 0; j < np; j++) { /* a max of sums within float rounding of ci k k terms */
            double e = out[2][1][j], g = out[0][1][j];
            if ((isnan(e) || isnan(g)) ? !(isnan(e) && isnan(g)) : fabs(g - e) > 1e-4 * (1 + fabs(e))) bad++;
        }
        if (bad) printf("\n  conv2d_pool case %zu: %zu pooled outputs off the reference\n", i, bad);
        CU_ASSERT_EQUAL(bad, 0);
        for (int e = 0; e < 3; e++) free(out[e][0]), free(out[e][1]);
        oct_context_free(ref), oct_context_free(cpu);
        free(bias), free(wt), free(x);
    }
}

/* oct__sgemm_apacked_epi, B in place against B packed (memcmp), both against a double
 * sum within k-term float rounding (testutil.h's bound for the reference: set before
 * any result was seen); with the AVX-512 kernel (B in place always; a last strip of 8
 * columns or fewer on the narrow-strip kernel: n = 5, 33, 200, 196, 40, 3; 9-16 on its
 * 16-column kernel: 48, or its variant that fetches the weights ahead when that strip is
 * the whole product: 16, 12; 17-24 as 16 + narrow: 49, 23, 17, 56; 25 or more a whole tile:
 * 57) and the AVX2 one (in place where ldb is a multiple of 16: 3136, 208, 96, 784, 48;
 * a last strip of 8 columns or fewer on its narrow-strip kernel, and an edge of fewer
 * than 6 rows on those rows alone, or where the rows end 2 into a strip (m = 8, 32, 56;
 * rows 12..38) the last 8 as two 4-row tiles, each compared with the whole tile too). */
static void test_gemm_inplace_b(void)
{
    static const int dims[][6] = {
        /* m   m0  m1    n    k  ldb */
        {64, 0, 64, 3136, 64, 3136}, /* a 56x56 1x1 layer's block */
        {40, 8, 37, 49, 300, 49},    /* a 7x7 plane: one strip and an edge, two K blocks, rows 8..37 */
        {130, 0, 130, 200, 513, 208}, /* three K blocks, a row stride past n */
        {8, 0, 8, 96, 16, 96},       /* Winograd's block of 96 tiles */
        {17, 0, 17, 5, 7, 5},        /* narrower than a strip */
        {24, 16, 24, 33, 256, 40},   /* a whole K block, one column past a strip */
        {30, 6, 29, 784, 100, 784},  /* a 28x28 plane, rows 6..29: an edge tile of rows */
        {24, 0, 24, 196, 128, 196},  /* a 14x14 plane: AVX-512's last 4 columns on its 16-column kernel */
        {16, 0, 16, 48, 70, 48},     /* a whole 16-column last strip, read in place */
        {12, 0, 12, 40, 33, 48},     /* AVX2 in place, a last strip of 8 (narrow-strip kernel) */
        {13, 0, 13, 23, 9, 23},      /* a last strip of 7, an edge tile of rows too */
        {6, 0, 6, 3, 1, 3},          /* one term: only the narrow kernel's masked last read */
        {12, 6, 12, 17, 2, 17},      /* a 17-tile Winograd block: a last strip of 1 */
        {32, 0, 32, 196, 64, 196},   /* 32 channels: 5 strips and an edge of 2 rows */
        {27, 0, 27, 64, 40, 64},     /* an edge of 3 rows, B in place */
        {64, 0, 64, 784, 300, 784},  /* 64 channels: an edge of 4 rows, two K blocks */
        {24, 0, 24, 56, 40, 56},     /* AVX-512: a last strip of 24 = 16 + 8 narrow */
        {16, 8, 16, 57, 300, 57},    /* AVX-512: 25, a whole tile; two K blocks */
        {40, 0, 40, 16, 300, 16},    /* Winograd's 16 tiles (7x7, one image): one strip, fetched ahead */
        {21, 3, 21, 12, 70, 12},     /* one strip of 12 (packed), an edge of 2 rows */
        {56, 0, 56, 100, 300, 112},  /* AVX2: the last 8 rows as two 4-row tiles, two K blocks */
        {50, 12, 38, 120, 70, 128},  /* AVX2: the same where the rows end inside the matrix */
        {64, 0, 64, 100, 27, 100},   /* 27 terms (a 3 -> 64 stem): AVX2's packed B in strips of rows */
        {32, 0, 32, 50, 20, 50},     /* the same with the last 8 rows as two 4-row tiles */
    };
    static const int isas[] = {OCT__GEMM_AVX2, OCT__GEMM_AVX512, OCT__GEMM_SCALAR};
    rng_t rng = {2024};
    for (size_t q = 0; q < sizeof isas / sizeof isas[0]; q++) {
    int isa = isas[q], mr = oct__sgemm_mr(isa);
    if (!oct__sgemm_supported(isa)) {
        printf("(no %s: its in-place path does not run) ", isa == OCT__GEMM_AVX2 ? "AVX2" : "AVX-512");
        continue;
    }
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (int mode = 0; mode < 4; mode++) {
            int m = dims[d][0], m0 = dims[d][1] / mr * mr, m1 = dims[d][2], n = dims[d][3], k = dims[d][4];
            int ldb = dims[d][5];
            int acc = mode & 1, rows = m1 - m0;
            float *a = rng_array(&rng, (size_t)m * k, -1, 1), *b = rng_array(&rng, (size_t)k * ldb, -1, 1);
            float *bias = rng_array(&rng, (size_t)rows, -1, 1), *res = rng_array(&rng, (size_t)rows * n, -1, 1);
            float *c0 = rng_array(&rng, (size_t)rows * n, -1, 1);
            float *ap = aligned_alloc(64, (oct__sgemm_apack_floats(isa, m, k) * sizeof(float) + 63) / 64 * 64);
            float *cin = malloc((size_t)rows * n * sizeof(float)), *cpk = malloc((size_t)rows * n * sizeof(float));
            CU_ASSERT_FATAL(a && b && bias && res && c0 && ap && cin && cpk);
            if (mode == 3) /* NaNs through the residual: ReLU keeps them, in both */
                for (size_t q = 0; q < (size_t)rows * n; q += 7) res[q] = NAN;
            oct__sgemm_apack(isa, 0, m, k, a, k, ap);
            oct__gemm_epi epi = {mode & 2 ? bias : NULL, mode & 2 ? res : NULL, (size_t)n, mode >= 2, NULL, 0, 0, 0};
            memcpy(cin, c0, (size_t)rows * n * sizeof(float));
            memcpy(cpk, c0, (size_t)rows * n * sizeof(float));
            oct__sgemm_pack_b(0);
            oct__sgemm_apacked_epi(isa, m0, m1, m, n, k, ap, b, ldb, cin, n, acc, &epi);
            oct__sgemm_pack_b(1);
            oct__sgemm_apacked_epi(isa, m0, m1, m, n, k, ap, b, ldb, cpk, n, acc, &epi);
            oct__sgemm_pack_b(-1);
            /* B in place, and B packed, in column strips over all the rows and in strips of
             * rows (each forced; by default AVX-512 runs the second in place, AVX2 the second
             * for products of few terms): the same bits. */
            float *cord = malloc((size_t)rows * n * sizeof(float));
            CU_ASSERT_FATAL(cord != NULL);
            for (int pk = 0; pk < 2; pk++)
                for (int order = 0; order < 2; order++) {
                    memcpy(cord, c0, (size_t)rows * n * sizeof(float));
                    oct__sgemm_pack_b(pk);
                    oct__sgemm_rows(order);
                    oct__sgemm_apacked_epi(isa, m0, m1, m, n, k, ap, b, ldb, cord, n, acc, &epi);
                    oct__sgemm_rows(-1);
                    oct__sgemm_pack_b(-1);
                    if (memcmp(cord, pk ? cpk : cin, (size_t)rows * n * sizeof(float)) != 0) {
                        printf("\n  gemm isa %d %dx%dx%d rows %d..%d ldb %d mode %d, B %s: %s differ from the "
                               "default\n", isa, m, n, k, m0, m1, ldb, mode, pk ? "packed" : "in place",
                               order ? "strips of rows" : "column strips");
                        CU_FAIL("one order of the tiles differs from the other");
                    }
                }
            free(cord);
            /* The narrow-strip kernel for the last strip (8 columns or fewer) against the
             * whole 16-column tile: the same bits, B in place and packed. */
            /* And AVX2's edge tiles of rows (fewer than 6) on their rows alone against the
             * whole 6-row tile through a scratch tile. */
            float *cwh = malloc((size_t)rows * n * sizeof(float));
            CU_ASSERT_FATAL(cwh != NULL);
            for (int which = 0; which < 2; which++)
                for (int pk = 0; pk < 2; pk++) {
                    memcpy(cwh, c0, (size_t)rows * n * sizeof(float));
                    if (which == 0)
                        oct__sgemm_narrow(0);
                    else
                        oct__sgemm_edge(0);
                    oct__sgemm_pack_b(pk);
                    oct__sgemm_apacked_epi(isa, m0, m1, m, n, k, ap, b, ldb, cwh, n, acc, &epi);
                    oct__sgemm_pack_b(-1);
                    oct__sgemm_narrow(-1);
                    oct__sgemm_edge(-1);
                    if (memcmp(cwh, pk ? cpk : cin, (size_t)rows * n * sizeof(float)) != 0) {
                        printf("\n  gemm isa %d %dx%dx%d rows %d..%d ldb %d mode %d packed %d: the %s differs from "
                               "the whole tile\n", isa, m, n, k, m0, m1, ldb, mode, pk,
                               which ? "edge tile of rows" : "narrow strip");
                        CU_FAIL("a narrow strip or an edge of rows differs from the whole tile");
                    }
                }
            free(cwh);
            /* B packed once, whole (oct__sgemm_bpack in two calls of strips), for
             * oct__sgemm_apacked_pre: the bits of B packed block by block. */
            int nstrips = (n + oct__sgemm_nr(isa) - 1) / oct__sgemm_nr(isa);
            size_t bfl = oct__sgemm_bpack_floats(isa, n, k);
            float *bpk = aligned_alloc(64, (bfl * sizeof(float) + 63) / 64 * 64);
            float *cpre = malloc((size_t)rows * n * sizeof(float));
            CU_ASSERT_FATAL(bpk && cpre);
            oct__sgemm_bpack(isa, n, k, b, ldb, nstrips / 2, nstrips, bpk);
            oct__sgemm_bpack(isa, n, k, b, ldb, 0, nstrips / 2, bpk);
            memcpy(cpre, c0, (size_t)rows * n * sizeof(float));
            oct__sgemm_apacked_pre(isa, m0, m1, m, n, k, ap, bpk, cpre, n, acc, &epi);
            if (memcmp(cpre, cpk, (size_t)rows * n * sizeof(float)) != 0) {
                printf("\n  gemm isa %d %dx%dx%d rows %d..%d ldb %d mode %d: B packed once differs from B packed "
                       "per block\n", isa, m, n, k, m0, m1, ldb, mode);
                CU_FAIL("oct__sgemm_apacked_pre differs from B packed per block");
            }
            free(cpre), free(bpk);
            if (memcmp(cin, cpk, (size_t)rows * n * sizeof(float)) != 0) {
                printf("\n  gemm isa %d %dx%dx%d rows %d..%d ldb %d mode %d: B in place differs from B packed\n", isa,
                       m, n, k, m0, m1, ldb, mode);
                CU_FAIL("B in place differs from B packed");
            }
            size_t bad = 0;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < n; j++) {
                    double want = acc ? c0[(size_t)i * n + j] : 0.0, mag = fabs(want);
                    for (int p = 0; p < k; p++) {
                        double t = (double)a[(size_t)(m0 + i) * k + p] * b[(size_t)p * ldb + j];
                        want += t, mag += fabs(t);
                    }
                    if (mode & 2) {
                        want += bias[i] + res[(size_t)i * n + j];
                        mag += fabs(bias[i]) + fabs(res[(size_t)i * n + j]);
                        if (mode >= 2 && want < 0) want = 0;
                    }
                    if (isnan(want) != isnan(cin[(size_t)i * n + j]) && bad++ == 0)
                        printf("\n  gemm %dx%dx%d mode %d: C(%d, %d) = %g, want %g\n", m, n, k, mode, i, j,
                               cin[(size_t)i * n + j], want);
                    else if (fabs(cin[(size_t)i * n + j] - want) > TOL_ABS + TOL_REL * mag && bad++ == 0)
                        printf("\n  gemm %dx%dx%d mode %d: C(%d, %d) = %.9g, want %.9g\n", m, n, k, mode, i, j,
                               cin[(size_t)i * n + j], want);
                }
            CU_ASSERT_EQUAL(bad, 0);
            free(cpk), free(cin), free(ap), free(c0), free(res), free(bias), free(b), free(a);
        }
    }
}

/* The epilogue's 2x upsample (oct__gemm_epi.up: OctConv's L->H path added in the tile
 * stores) against the same product with bias and residual in its epilogue, then the
 * upsample and ReLU added in a plain loop: v + up[(y / 2) (uw / 2) + x / 2], then
 * v < 0 ? 0 : v -- the same float operations in the same order, so memcmp. On the
 * AVX-512 kernels (whole 32-column tiles, 16-column last strips, the rest through the
 * tile and the scalar epilogue), the AVX2 one (whole tiles, edges of rows, narrow last
 * strips; each also turned off, B in place, packed per block and packed once) and the
 * scalar one; blocks that start on an odd plane row, mid-row, and 8 pixels that cross
 * one or two plane rows. */
static void test_gemm_up(void)
{
    static const int dims[][8] = {
        /* m  m0  m1   uw   up0     n   k   ldb */
        {32, 0, 32, 14, 0, 196, 64, 196},    /* a 14x14 plane, 32 channels: 5 strips + an edge of 2 rows */
        {20, 6, 19, 10, 30, 57, 33, 64},     /* from plane row 3; rows 6..19 */
        {64, 0, 64, 28, 0, 784, 40, 784},    /* a 28x28 plane, B in place: an edge of 4 rows */
        {12, 0, 12, 8, 8, 40, 9, 40},        /* 8 wide, from row 1: every strip crosses rows */
        {13, 0, 13, 56, 1024, 1024, 20, 1024}, /* a second block of a 56x56 plane, mid-row */
        {7, 0, 7, 18, 54, 23, 5, 23},        /* a narrow last strip of 7 */
        {12, 0, 12, 10, 0, 60, 300, 60},     /* two K blocks; a last strip of 12 across a row */
    };
    static const int isas[] = {OCT__GEMM_AVX512, OCT__GEMM_AVX2, OCT__GEMM_SCALAR};
    rng_t rng = {4242};
    for (size_t q = 0; q < sizeof isas / sizeof isas[0]; q++) {
        int isa = isas[q], mr = oct__sgemm_mr(isa);
        if (!oct__sgemm_supported(isa)) {
            printf("(no %s: its epilogue does not run) ", isa == OCT__GEMM_AVX2 ? "AVX2" : "AVX-512");
            continue;
        }
        for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
            for (int mode = 0; mode < 4; mode++) {
                int m = dims[d][0], m0 = dims[d][1] / mr * mr, m1 = dims[d][2], uw = dims[d][3];
                int up0 = dims[d][4], n = dims[d][5], k = dims[d][6], ldb = dims[d][7];
                int acc = mode & 1, rows = m1 - m0;
                size_t hw = (size_t)((up0 + n - 1) / uw / 2 + 1) * (size_t)(uw / 2), cn = (size_t)rows * n;
                float *a = rng_array(&rng, (size_t)m * k, -1, 1), *b = rng_array(&rng, (size_t)k * ldb, -1, 1);
                float *bias = rng_array(&rng, (size_t)rows, -1, 1), *res = rng_array(&rng, cn, -1, 1);
                float *up = rng_array(&rng, (size_t)rows * hw, -1, 1), *c0 = rng_array(&rng, cn, -1, 1);
                float *ap = aligned_alloc(64, (oct__sgemm_apack_floats(isa, m, k) * sizeof(float) + 63) / 64 * 64);
                float *want = malloc(cn * sizeof(float)), *got = malloc(cn * sizeof(float));
                CU_ASSERT_FATAL(a && b && bias && res && up && c0 && ap && want && got);
                if (mode == 3) /* NaNs through the upsample: ReLU keeps them, in both */
                    for (size_t i = 0; i < (size_t)rows * hw; i += 5) up[i] = NAN;
                oct__sgemm_apack(isa, 0, m, k, a, k, ap);
                oct__gemm_epi pass = {mode & 2 ? bias : NULL, mode & 2 ? res : NULL, (size_t)n, 0, NULL, 0, 0, 0};
                oct__gemm_epi epi = pass;
                epi.relu = mode >= 1, epi.up = up, epi.us = hw, epi.up0 = (size_t)up0, epi.uw = uw;
                memcpy(want, c0, cn * sizeof(float));
                oct__sgemm_apacked_epi(isa, m0, m1, m, n, k, ap, b, ldb, want, n, acc, &pass);
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < n; j++) {
                        int p = up0 + j, y = p / uw, x = p % uw;
                        float v = want[(size_t)i * n + j] + up[(size_t)i * hw + (size_t)(y / 2 * (uw / 2) + x / 2)];
                        want[(size_t)i * n + j] = epi.relu && v < 0.0f ? 0.0f : v;
                    }
                /* default; narrow strips off; edges of rows off; B packed; B in place in
                 * column strips over all rows, then in strips of rows (each forced); B
                 * packed once */
                for (int how = 0; how < 7; how++) {
                    memcpy(got, c0, cn * sizeof(float));
                    if (how == 1) oct__sgemm_narrow(0);
                    if (how == 2) oct__sgemm_edge(0);
                    if (how == 3) oct__sgemm_pack_b(1);
                    if (how == 4) oct__sgemm_rows(0);
                    if (how == 5) oct__sgemm_rows(1);
                    if (how < 6) {
                        oct__sgemm_apacked_epi(isa, m0, m1, m, n, k, ap, b, ldb, got, n, acc, &epi);
                    } else {
                        int nstrips = (n + oct__sgemm_nr(isa) - 1) / oct__sgemm_nr(isa);
                        float *bpk = aligned_alloc(64, (oct__sgemm_bpack_floats(isa, n, k) * sizeof(float) + 63) / 64 * 64);
                        CU_ASSERT_FATAL(bpk != NULL);
                        oct__sgemm_bpack(isa, n, k, b, ldb, 0, nstrips, bpk);
                        oct__sgemm_apacked_pre(isa, m0, m1, m, n, k, ap, bpk, got, n, acc, &epi);
                        free(bpk);
                    }
                    oct__sgemm_narrow(-1), oct__sgemm_edge(-1), oct__sgemm_pack_b(-1), oct__sgemm_rows(-1);
                    if (memcmp(got, want, cn * sizeof(float)) != 0) {
                        printf("\n  gemm isa %d %dx%dx%d rows %d..%d uw %d from %d mode %d how %d: the epilogue's "
                               "upsample differs from the plain loop\n", isa, m, n, k, m0, m1, uw, up0, mode, how);
                        CU_FAIL("the epilogue's upsample differs from the plain loop");
                    }
                }
                free(got), free(want), free(ap), free(c0), free(up), free(res), free(bias), free(b), free(a);
            }
    }
}

/* A cpu context on the GEMM paths (OCTCL_CPU_PATH=gemm, the channel-lane path off) with
 * $OCTCL_CPU_SHARED_B = shared and $OCTCL_THREADS = threads. */
static oct_context *shared_b_context(const char *shared, const char *threads)
{
    const char *const env[][2] = {{"OCTCL_CPU_SHARED_B", shared},
                                  {"OCTCL_THREADS", threads},
                                  {"OCTCL_CPU_PATH", "gemm"},
                                  {"OCTCL_CPU_SMALL", "0"}};
    return context_env(env, sizeof env / sizeof env[0]);
}

/* 1x1 layers on planes whose rows the AVX2 and scalar GEMM kernels pack (not whole
 * 16-float strips), cut into several blocks of output channels: each image's B packed
 * once for all the blocks ($OCTCL_CPU_SHARED_B=1, the default) gives the bits of every
 * block packing its own ($OCTCL_CPU_SHARED_B=0) -- conv2d, the low band's conv2d_pair,
 * convg + residual; batch 1 and 2; 1, 2 and 3 threads; the AVX2 kernel (where the CPU has
 * it), the scalar one and the default -- with canaries around y, and both agree with the
 * reference within testutil.h's tolerance. At 2 threads 128 channels on a 7x7 plane run
 * as the blocks oct__cpu_cob_even picks; the 14x14 planes run whole, cut by channels,
 * where blocks of 64 pixels would be too few (one image on 2 and 3 threads, two on 3),
 * and as those blocks without B shared. */
static void test_shared_b(void)
{
    static const conv_case cases[] = {
        /* n c1  c2  co  h   w  k pad bias acc relu res */
        {1, 64, 0, 96, 7, 7, 1, 0, 1, 0, 1, 0},     /* a 7x7 plane: 49 = 3 x 16 + 1 */
        {1, 64, 64, 60, 7, 7, 1, 0, 1, 1, 1, 0},    /* the low band's pair, accumulate */
        {1, 300, 0, 70, 14, 14, 1, 0, 1, 0, 1, 1},  /* 14x14, two K blocks, a residual */
        {2, 64, 64, 64, 14, 14, 1, 0, 1, 0, 1, 0},  /* the pair on 2 images of 14x14 */
        {2, 48, 48, 40, 5, 9, 1, 0, 0, 0, 0, 0},    /* 2 images of 45 pixels */
        {1, 320, 0, 97, 3, 3, 1, 0, 1, 0, 1, 1},    /* 9 pixels: the narrow strip alone */
        {1, 64, 0, 128, 7, 7, 1, 0, 1, 0, 1, 1},    /* 2 threads: blocks of 66 + 62 (oct__cpu_cob_even) */
    };
    static const char *const threads[] = {"1", "2", "3"};
    static const int isas[] = {-1, OCT__GEMM_AVX2, OCT__GEMM_SCALAR};
    oct_context *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ref), OCT_OK);
    rng_t rng = {4242};
    for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++) {
        oct_context *on = shared_b_context("1", threads[ti]), *off = shared_b_context("0", threads[ti]);
        CU_ASSERT_FATAL(on && off);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const conv_case *c = &cases[i];
            size_t ny = (size_t)c->n * c->co * c->h * c->w, total = LEAD + ny + TAIL;
            float *x1 = rng_array(&rng, (size_t)c->n * c->c1 * c->h * c->w, -2, 2);
            float *x2 = rng_array(&rng, (size_t)c->n * (c->c2 ? c->c2 : 1) * c->h * c->w, -2, 2);
            float *w1 = rng_array(&rng, (size_t)c->co * c->c1, -2, 2);
            float *w2 = rng_array(&rng, (size_t)c->co * (c->c2 ? c->c2 : 1), -2, 2);
            float *b1 = rng_array(&rng, (size_t)c->co, -2, 2), *b2 = rng_array(&rng, (size_t)c->co, -2, 2);
            float *r = rng_array(&rng, ny, -2, 2), *y0 = rng_array(&rng, ny, -2, 2);
            float *want = malloc(total * sizeof *want), *got = malloc(total * sizeof *got);
            float *kept = malloc(total * sizeof *kept);
            CU_ASSERT_FATAL(x1 && x2 && w1 && w2 && b1 && b2 && r && y0 && want && got && kept);
            CU_ASSERT_EQUAL_FATAL(conv_case_run(ref, c, x1, x2, w1, w2, b1, b2, r, y0, want), OCT_OK);
            for (size_t q = 0; q < sizeof isas / sizeof isas[0]; q++) {
                if (isas[q] >= 0 && !oct__sgemm_supported(isas[q])) continue;
                if (isas[q] >= 0) CU_ASSERT_FATAL(oct__sgemm_force(isas[q]));
                oct_status s1 = conv_case_run(on, c, x1, x2, w1, w2, b1, b2, r, y0, got);
                oct_status s0 = conv_case_run(off, c, x1, x2, w1, w2, b1, b2, r, y0, kept);
                oct__sgemm_force(-1);
                CU_ASSERT_EQUAL_FATAL(s1, OCT_OK);
                CU_ASSERT_EQUAL_FATAL(s0, OCT_OK);
                char what[160];
                snprintf(what, sizeof what, "shared B, isa %d, threads %s, case %zu (n%d %d+%d->%d %dx%d)", isas[q],
                         threads[ti], i, c->n, c->c1, c->c2, c->co, c->h, c->w);
                check_output(what, want, got, kept, ny, "B packed in every block");
            }
            free(kept), free(got), free(want), free(y0), free(r), free(b2), free(b1), free(w2), free(w1), free(x2),
                free(x1);
        }
        oct_context_free(off), oct_context_free(on);
    }
    oct_context_free(ref);
}

/* The busiest thread's channels when blocks of b of cog channels are dealt out as
 * cpu__chunk deals them (owner o first takes blocks [n o / t, n (o + 1) / t)), counted
 * here channel by channel. */
static size_t cob_busiest(size_t cog, size_t b, size_t t)
{
    size_t n = (cog + b - 1) / b, most = 0;
    for (size_t o = 0; o < t; o++) {
        size_t rows = 0;
        for (size_t i = 0; i < cog; i++) {
            size_t blk = i / b;
            rows += blk >= n * o / t && blk < n * (o + 1) / t;
        }
        if (rows > most) most = rows;
    }
    return most;
}

/* oct__cpu_alloc_packed: from 2 MiB on a buffer starts on a 2 MiB boundary (the pages it
 * advises as huge are its own), below that on 64 bytes; every float of it can be written
 * and read back; no size, an overflowing size and an injected failure give NULL. */
static void test_alloc_packed(void)
{
    const size_t big = OCT__CPU_HUGE_PAGE / sizeof(float);
    static const size_t counts[] = {1, 1000, 524287, 524288, 524288 + 3, 3 * 524288 + 17};
    CU_ASSERT_EQUAL(big, 524288);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        size_t n = counts[i];
        float *p = oct__cpu_alloc_packed(n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        uintptr_t align = n >= big ? OCT__CPU_HUGE_PAGE : 64;
        CU_ASSERT_EQUAL((uintptr_t)p % align, 0);
        for (size_t k = 0; k < n; k++) p[k] = (float)(k % 4099);
        size_t bad = 0;
        for (size_t k = 0; k < n; k++) bad += p[k] != (float)(k % 4099);
        CU_ASSERT_EQUAL(bad, 0);
        free(p);
    }
    CU_ASSERT_PTR_NULL(oct__cpu_alloc_packed(0));
    CU_ASSERT_PTR_NULL(oct__cpu_alloc_packed(SIZE_MAX / 2));
    for (int k = 0; k < 2; k++) {
        oct_debug_fail_at(1); /* the next fallible allocation fails */
        float *p = oct__cpu_alloc_packed(k ? 3 * big : 1000);
        oct_debug_fail_at(0);
        CU_ASSERT_PTR_NULL(p);
        free(p);
    }
}

/* oct__cpu_cob_even: on AVX2's 6-row strips, 128 channels on two threads as 66 + 62 (the
 * even cut's 18-row blocks gave one thread 72); over channel counts 32-2048, strips of
 * 6, 8 and 16 rows and 2-4 threads the block it picks is a multiple of the strip, no
 * smaller than the even cut's, leaves every thread a block and the busiest thread no
 * more channels than the even cut did, and no block size between them leaves it fewer. */
static void test_cob_even(void)
{
    CU_ASSERT_EQUAL(oct__cpu_cob_even(128, 6, 18, 2), 66);
    CU_ASSERT_EQUAL(cob_busiest(128, 66, 2), 66);
    CU_ASSERT_EQUAL(cob_busiest(128, 18, 2), 72);
    CU_ASSERT_EQUAL(oct__cpu_cob_even(256, 6, 36, 2), 42);    /* 7 blocks: 126 + 130, not 144 + 112 */
    CU_ASSERT_EQUAL(oct__cpu_cob_even(512, 8, 64, 2), 64);    /* already even: unchanged */
    CU_ASSERT_EQUAL(oct__cpu_cob_even(128, 6, 18, 1), 18);    /* one thread: unchanged */
    static const size_t aligns[] = {6, 8, 16};
    int bad = 0;
    for (size_t a = 0; a < 3; a++)
        for (size_t t = 2; t <= 4; t++)
            for (size_t cog = 32; cog <= 2048; cog += cog < 256 ? 1 : 37) {
                size_t parts = 4 * t, cob = (cog + parts - 1) / parts;
                cob = (cob + aligns[a] - 1) / aligns[a] * aligns[a];
                if ((cog + cob - 1) / cob < t) continue;
                size_t got = oct__cpu_cob_even(cog, aligns[a], cob, t), most = cob_busiest(cog, got, t);
                int ok = got % aligns[a] == 0 && got >= cob && (cog + got - 1) / got >= t &&
                         most <= cob_busiest(cog, cob, t);
                for (size_t b = cob; ok && b < got; b += aligns[a]) ok = cob_busiest(cog, b, t) > most;
                if (!ok && bad++ < 5)
                    printf("\n  cog %zu, strip %zu, threads %zu: block %zu (busiest %zu; even cut %zu: %zu)", cog,
                           aligns[a], t, got, most, cob, cob_busiest(cog, cob, t));
            }
    CU_ASSERT_EQUAL(bad, 0);
}

/* Chunks taken by their owners first ($OCTCL_CPU_AFFINITY=1, the default) or by the next
 * free thread (0): OctNetMini (alpha 0.5, 3 images of 28 x 28: Winograd, the GEMM paths,
 * pools, upsampling) gives the same logits, float for float, at 2 and 3 threads (shares
 * of uneven size) and at 1, and they agree with the reference within testutil.h's
 * tolerance (a chunk taken twice or never would not). */
static void test_affinity(void)
{
    enum { NB = 3, HW = 28, CLASSES = 10 };
    rng_t rng = {77};
    float *x = rng_array(&rng, (size_t)NB * 3 * HW * HW, -1, 1);
    float want[NB * CLASSES], one[NB * CLASSES], got[NB * CLASSES];
    CU_ASSERT_FATAL(x != NULL);
    oct_context *ref = NULL;
    oct_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ref), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ref, 3, CLASSES, 0.5, 5, &m), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct_model_forward(m, x, NB, HW, HW, want, NULL, NULL), OCT_OK);
    oct_model_free(m);
    oct_context_free(ref);
    static const char *const runs[][2] = {{"1", "1"}, {"2", "1"}, {"2", "0"}, {"3", "1"}, {"3", "0"}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        const char *const env[][2] = {{"OCTCL_THREADS", runs[r][0]}, {"OCTCL_CPU_AFFINITY", runs[r][1]}};
        oct_context *ctx = context_env(env, 2);
        CU_ASSERT_FATAL(ctx != NULL);
        m = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ctx, 3, CLASSES, 0.5, 5, &m), OCT_OK);
        for (int pass = 0; pass < 3; pass++) {
            CU_ASSERT_EQUAL_FATAL(oct_model_forward(m, x, NB, HW, HW, r ? got : one, NULL, NULL), OCT_OK);
            if (r && memcmp(got, one, sizeof got) != 0) {
                printf("\n  threads %s, affinity %s, pass %d: logits differ from one thread's\n", runs[r][0],
                       runs[r][1], pass);
                CU_FAIL("the logits depend on which thread took which chunk");
            }
        }
        char what[64];
        snprintf(what, sizeof what, "threads %s, affinity %s", runs[r][0], runs[r][1]);
        CU_ASSERT_EQUAL(compare_floats(what, want, r ? got : one, NB * CLASSES, TOL_ABS, TOL_REL), 0);
        oct_model_free(m);
        oct_context_free(ctx);
    }
    free(x);
}

/* $OCTCL_CPU_IMPLICIT takes 0, 1 or empty; another value is refused when the context is
 * made, with one line naming it. */
static void test_switch(void)
{
    oct_context *ctx = NULL;
    setenv("OCTCL_CPU_IMPLICIT", "yes", 1);
    CU_ASSERT_EQUAL(oct_context_create("cpu", &ctx), OCT_ERR_BAD_SIZE);
    CU_ASSERT_PTR_NULL(ctx);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "OCTCL_CPU_IMPLICIT"));
    unsetenv("OCTCL_CPU_IMPLICIT");
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("implicit im2col (convpack.c)", NULL, NULL);
    CU_add_test(s, "panels equal the im2col matrix packed", test_panels);
    CU_add_test(s, "conv2d: the same bits as im2col + SGEMM, and the reference", test_conv2d);
    CU_add_test(s, "OCTCL_CPU_IMPLICIT refuses other values", test_switch);
    CU_add_test(s, "conv2d stride 2 on the direct kernel: the reference, the GEMM's bits up to 256 terms",
                test_stride2);
    CU_add_test(s, "packed-weight GEMM: B in place (strips of rows or of columns) equals B packed, and a double sum",
                test_gemm_inplace_b);
    CU_add_test(s, "packed-weight GEMM: the epilogue's 2x upsample equals a plain loop after it", test_gemm_up);
    CU_add_test(s, "blocks of channels dealt out evenly over the threads (oct__cpu_cob_even)", test_cob_even);
    CU_add_test(s, "packed weights from 2 MiB on 2 MiB aligned, smaller 64; NULL on no size, overflow, fault",
                test_alloc_packed);
    CU_add_test(s, "1x1 blocks of channels on B packed once: the bits of B packed per block",
                test_shared_b);
    CU_add_test(s, "max pool stride 2 (AVX-512, AVX2 and plain rows): NaN, infinities, ReLU", test_maxpool2);
    CU_add_test(s, "conv2d_pool: the bits of conv2d then poolg, pooled inside the direct kernel or after it",
                test_conv2d_pool);
    CU_add_test(s, "chunks by owner first or by the next free thread: the same logits at 1-3 threads",
                test_affinity);
    return run_cunit();
}
