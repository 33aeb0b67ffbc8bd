/* test_tune.c — what tuning may change must stay right: octcl's SGEMM with every block
 * size a tuning file may hold (kc 16..256, mc a multiple of 24, nc of 32) against a double
 * reference, and the cpu backend's convolutions and model with extreme tuned values of the
 * band, columns and chunks against the reference backend; oct_context_tuning's answers
 * and misuse. The file handling itself is tests/test_tune.sh.
 */
#include "gemm.h"
#include "internal.h"
#include "testutil.h"
#include "tune.h"

#include <float.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* C = A B (no transposes, then both), with blocks (kc, mc, nc), against double sums. */
static int check_blocks(int isa, int kc, int mc, int nc, rng_t *r)
{
    static const int dims[][3] = {{1, 1, 1}, {13, 33, 27}, {97, 130, 300}, {25, 65, 41}, {130, 17, 513}};
    int bad = 0;
    oct__sgemm_blocks(kc, mc, nc);
    int gk, gm, gn;
    oct__sgemm_blocks_get(&gk, &gm, &gn);
    CU_ASSERT(gk == kc && gm == mc && gn == nc);
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
        int m = dims[d][0], n = dims[d][1], k = dims[d][2];
        for (int t = 0; t < 2; t++) {
            float *a = rng_array(r, (size_t)m * k, -2, 2), *b = rng_array(r, (size_t)k * n, -2, 2);
            float *c = calloc((size_t)m * n, sizeof *c);
            if (!a || !b || !c) {
                CU_FAIL("out of memory");
                free(a), free(b), free(c);
                return 1;
            }
            /* t = 1: A stored (K, M) and B stored (N, K). */
            oct__sgemm(t, t, m, n, k, a, t ? m : k, b, t ? k : n, c, n, 0);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double want = 0, mag = 0;
                    for (int p = 0; p < k; p++) {
                        double x = t ? a[(size_t)p * m + i] : a[(size_t)i * k + p];
                        double y = t ? b[(size_t)j * k + p] : b[(size_t)p * n + j];
                        want += x * y;
                        mag += fabs(x * y);
                    }
                    double tol = 1e-6 + 2.0 * (k + 2) * FLT_EPSILON * mag;
                    if (fabs(c[(size_t)i * n + j] - want) > tol && bad++ < 3)
                        printf("\n    isa %d blocks %d/%d/%d t %d %dx%dx%d: C(%d, %d) = %.9g, want %.9g", isa, kc, mc,
                               nc, t, m, n, k, i, j, c[(size_t)i * n + j], want);
                }
            free(a), free(b), free(c);
        }
    }
    return bad;
}

static void test_gemm_blocks(void)
{
    static const int blocks[][3] = {{256, 96, 256}, {16, 24, 32}, {40, 24, 64}, {128, 48, 128}, {200, 72, 224}};
    rng_t r = {7};
    for (int isa = OCT__GEMM_SCALAR; isa <= OCT__GEMM_AVX512; isa++) {
        if (!oct__sgemm_force(isa)) continue;
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++)
            CU_ASSERT_EQUAL(check_blocks(isa, blocks[b][0], blocks[b][1], blocks[b][2], &r), 0);
    }
    /* Values a file could hold that the buffers cannot: the defaults instead. */
    oct__sgemm_blocks(512, 50, 33);
    int k, m, n;
    oct__sgemm_blocks_get(&k, &m, &n);
    CU_ASSERT(k == 256 && m == 96 && n == 256);
    oct__sgemm_blocks(0, 0, 0);
    oct__sgemm_force(-1);
}

/* Extreme band / columns / chunks / blocks through a cpu context that loads them from a
 * tuning file (written by oct_tune, its params then replaced), against the reference. */
static void test_cpu_extremes(void)
{
    char dir[] = "/tmp/octcl-tune-test-XXXXXX";
    if (!mkdtemp(dir)) {
        CU_FAIL("mkdtemp");
        return;
    }
    setenv("OCTCL_CACHE_DIR", dir, 1);
    /* Tune (the default only, 1 pass) to have a file for this CPU, then replace its params. */
    oct_tune_params p = {0};
    p.device = "cpu";
    p.repeat = 1;
    p.max_variants = 1;
    char file[4096];
    CU_ASSERT_EQUAL_FATAL(oct_tune(&p, file, sizeof file), OCT_OK);
    FILE *f = fopen(file, "r");
    char text[8192];
    size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[len] = '\0';
    char *params = strstr(text, "\"params\"");
    char *end = params ? strchr(params, '}') : NULL;
    CU_ASSERT_FATAL(params && end);
    static const struct {
        const char *json, *shown;
    } cases[] = {
        {"\"params\": {\"band_kfloats\": 8, \"min_cols\": 64, \"chunks\": 1, \"gemm\": \"scalar\", \"kc\": 16, "
         "\"mc\": 24, \"nc\": 32, \"wino4_min\": 16}",
         "band 8K floats, 64 cols, 1 chunks/thread, gemm scalar 16/24/32, F(4x4) small planes from 16 ch"},
        {"\"params\": {\"band_kfloats\": 4096, \"min_cols\": 65536, \"chunks\": 64, \"gemm\": \"auto\", \"kc\": 256, "
         "\"mc\": 96, \"nc\": 256, \"wino4_min\": 65536}",
         "band 4096K floats, 65536 cols, 64 chunks/thread, gemm auto 256/96/256, F(4x4) small planes from 65536 ch"},
        /* A file from before wino4_min was tuned: its default (below). */
        {"\"params\": {\"band_kfloats\": 96, \"min_cols\": 512, \"chunks\": 4, \"gemm\": \"auto\", \"kc\": 128, "
         "\"mc\": 48, \"nc\": 128}",
         NULL},
    };
    /* The default wino4_min: 16 under every GEMM kernel (tune.c). */
    oct__cpu_tune dflt;
    oct__cpu_tune_default(&dflt);
    CU_ASSERT_EQUAL(dflt.wino4_min, 16);
    char old_shown[160];
    snprintf(old_shown, sizeof old_shown,
             "band 96K floats, 512 cols, 4 chunks/thread, gemm auto 128/48/128, F(4x4) small planes from %d ch",
             dflt.wino4_min);
    long long macs[3] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *o = fopen(file, "w");
        CU_ASSERT_FATAL(o != NULL);
        fprintf(o, "%.*s%s%s", (int)(params - text), text, cases[i].json, end + 1);
        fclose(o);
        oct_context *cpu = NULL, *ref = NULL;
        oct_model *mc = NULL, *mr = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_context_create("cpu", &cpu), OCT_OK);
        CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ref), OCT_OK);
        int tuned = 0;
        char shown[640];
        CU_ASSERT_EQUAL(oct_context_tuning(cpu, &tuned, shown, sizeof shown), OCT_OK);
        CU_ASSERT_EQUAL(tuned, 1);
        const char *want = cases[i].shown ? cases[i].shown : old_shown;
        if (!strstr(shown, want)) printf("\n    tuning: %s\n    want: %s", shown, want);
        CU_ASSERT(strstr(shown, want) != NULL);
        long long before = 0, after = 0;
        CU_ASSERT_EQUAL(oct_context_macs_executed(cpu, &before), OCT_OK);
        for (int a = 0; a < 2; a++) {
            double alpha = a ? 0.5 : 0.0;
            CU_ASSERT_EQUAL_FATAL(oct_model_create_random(cpu, 3, 10, alpha, 3, &mc), OCT_OK);
            CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ref, 3, 10, alpha, 3, &mr), OCT_OK);
            enum { N = 3, H = 20, W = 28 };
            rng_t r = {11};
            float *x = rng_array(&r, (size_t)N * 3 * H * W, -2, 2), yc[N * 10], yr[N * 10];
            CU_ASSERT_EQUAL(oct_model_forward(mc, x, N, H, W, yc, NULL, NULL), OCT_OK);
            CU_ASSERT_EQUAL(oct_model_forward(mr, x, N, H, W, yr, NULL, NULL), OCT_OK);
            /* Logits through the whole network: bench's model-level tolerance. */
            CU_ASSERT_EQUAL(compare_floats(want, yr, yc, N * 10, 1e-3, 1e-3), 0);
            free(x);
            oct_model_free(mc);
            oct_model_free(mr);
        }
        CU_ASSERT_EQUAL(oct_context_macs_executed(cpu, &after), OCT_OK);
        macs[i] = after - before;
        oct_context_free(cpu);
        oct_context_free(ref);
    }
    /* wino4_min runs: from 16 channels the 20x28 high band's 3x3 layers (35 F(4x4) tiles,
     * none wasted: the small-plane rule) take F(4x4), 36 multiply-adds per 16 outputs
     * against F(2x2)'s 64; from 65536 none does. The file without wino4_min keeps the
     * default, 16: as from 16. */
    printf("\n    MACs executed: wino4_min 16 %lld, 65536 %lld, default %d %lld ", macs[0], macs[1], dflt.wino4_min,
           macs[2]);
    CU_ASSERT(macs[0] > 0 && macs[0] < macs[1]);
    CU_ASSERT_EQUAL(macs[2], macs[0]);
    remove(file);
    rmdir(dir);
    unsetenv("OCTCL_CACHE_DIR");
    oct__sgemm_blocks(0, 0, 0);
    oct__sgemm_force(-1);
}

/* The tuner's passes on a scripted clock (oct__tune_clock, read before and after each
 * pass). With --max-variants 2 and 2 timed passes, a cpu tune runs the default, then one
 * variant, each as 3 passes (a warm-up, then 2 timed), then, when the variant won, 3
 * rounds of default and variant alternately: so pass p belongs to run p / 3, runs
 * alternate default (even) and variant (odd), and p % 3 == 0 is a warm-up. */
static int tune_reads;
static double tune_now_ms;
static double tune_variant_ms[2]; /* a warm pass of the default, of the variant */

static double scripted_clock(void)
{
    int c = tune_reads++;
    if (c % 2) {
        int pass = c / 2, run = pass / 3;
        tune_now_ms += pass % 3 == 0 ? 1000.0 : tune_variant_ms[run % 2];
    }
    return tune_now_ms;
}

/* Tune with the clock above; 1 when the stored winner is the variant (band 96K). */
static int scripted_tune(double default_ms, double variant_ms, int *passes)
{
    char dir[] = "/tmp/octcl-tune-test-XXXXXX";
    if (!mkdtemp(dir)) {
        CU_FAIL("mkdtemp");
        return -1;
    }
    setenv("OCTCL_CACHE_DIR", dir, 1);
    tune_reads = 0;
    tune_now_ms = 0;
    tune_variant_ms[0] = default_ms, tune_variant_ms[1] = variant_ms;
    oct__tune_clock = scripted_clock;
    oct_tune_params p = {0};
    p.device = "cpu";
    p.repeat = 2;
    p.max_variants = 2;
    char file[4096] = "", text[8192];
    oct_status s = oct_tune(&p, file, sizeof file);
    oct__tune_clock = NULL;
    CU_ASSERT_EQUAL(s, OCT_OK);
    FILE *f = s == OCT_OK ? fopen(file, "r") : NULL;
    size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[len] = '\0';
    remove(file);
    rmdir(dir);
    unsetenv("OCTCL_CACHE_DIR");
    CU_ASSERT(tune_reads % 2 == 0);
    *passes = tune_reads / 2;
    const char *band = strstr(text, "\"band_kfloats\":");
    return band && strtol(band + strlen("\"band_kfloats\":"), NULL, 10) == 96;
}

static void test_warm_passes_judged(void)
{
    int passes;
    /* Every warm-up takes 1000 ms, 100x a timed pass: the variant, timed at 5 ms against
     * the default's 10, must be timed (not dropped for its warm-up) and win; 3 passes for
     * each of the 2 runs of the search and the 6 of the confirmation (tune.c: 3 rounds). */
    CU_ASSERT_EQUAL(scripted_tune(10, 5, &passes), 1);
    CU_ASSERT_EQUAL(passes, 3 * (2 + 2 * 3));
    /* A variant whose first timed pass is over 3x the best is dropped after it: the
     * default's 3 passes, then the variant's warm-up and that one pass. */
    CU_ASSERT_EQUAL(scripted_tune(10, 31, &passes), 0);
    CU_ASSERT_EQUAL(passes, 3 + 2);
    /* Slower but under 3x: timed in full, and the default stays. */
    CU_ASSERT_EQUAL(scripted_tune(10, 29, &passes), 0);
    CU_ASSERT_EQUAL(passes, 3 + 3);
    oct__sgemm_blocks(0, 0, 0);
    oct__sgemm_force(-1);
}

static void test_misuse(void)
{
    int tuned = 5;
    char text[256];
    CU_ASSERT_EQUAL(oct_context_tuning(NULL, &tuned, text, sizeof text), OCT_ERR_NULL_ARG);
    oct_context *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ref), OCT_OK);
    CU_ASSERT_EQUAL(oct_context_tuning(ref, NULL, text, sizeof text), OCT_ERR_NULL_ARG);
    CU_ASSERT_EQUAL(oct_context_tuning(ref, &tuned, text, sizeof text), OCT_OK);
    CU_ASSERT_EQUAL(tuned, 0);
    CU_ASSERT(strncmp(text, "default (", 9) == 0);
    CU_ASSERT_EQUAL(oct_context_tuning(ref, &tuned, NULL, 0), OCT_OK);
    oct_context_free(ref);
    CU_ASSERT_EQUAL(oct_tune(NULL, NULL, 0), OCT_ERR_NULL_ARG);
    oct_tune_params p = {0};
    p.device = "ref";
    CU_ASSERT_EQUAL(oct_tune(&p, NULL, 0), OCT_ERR_UNSUPPORTED);
    p.device = "cpu";
    p.nshapes = 1; /* shapes NULL */
    CU_ASSERT_EQUAL(oct_tune(&p, NULL, 0), OCT_ERR_BAD_SIZE);
    p.device = "nonsense";
    p.nshapes = 0;
    CU_ASSERT_EQUAL(oct_tune(&p, NULL, 0), OCT_ERR_BAD_DEVICE_SPEC);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("tune", NULL, NULL);
    CU_add_test(s, "sgemm with every tunable block size", test_gemm_blocks);
    CU_add_test(s, "cpu model with extreme tuned values == ref", test_cpu_extremes);
    CU_add_test(s, "tuner: variants judged by warm passes, not their warm-up", test_warm_passes_judged);
    CU_add_test(s, "oct_context_tuning / oct_tune misuse", test_misuse);
    return run_cunit();
}
