/* test_threads.c — two contexts used from two threads at once. Each thread owns its
 * context, model and tensors (what octcl allows to run concurrently); both must match
 * the reference computed beforehand on the main thread. Then one context's thread count:
 * the CPU backend's 1x1 GEMM cuts a layer into items (blocks of pixels and of output
 * channels) by the count, and which thread runs an item must change no bit. */
#include "convcase.h"
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 3
#define H 12
#define W 10
#define PASSES 20

typedef struct {
    char spec[32];
    const float *x;
    const float *want;     /* (N, 10) reference logits */
    int mismatches;
    oct_status status;
    char error[512];
} job;

static void *worker(void *p)
{
    job *j = p;
    oct_context *ctx = NULL;
    oct_model *m = NULL;
    float got[N * 10];
    j->status = oct_context_create(j->spec, &ctx);
    if (j->status == OCT_OK) j->status = oct_model_create_random(ctx, 3, 10, 0.5, 11, &m);
    for (int pass = 0; pass < PASSES && j->status == OCT_OK; pass++) {
        j->status = oct_model_forward(m, j->x, N, H, W, got, NULL, NULL);
        if (j->status == OCT_OK)
            for (int i = 0; i < N * 10; i++)
                if (!(got[i] - j->want[i] <= TOL_ABS + TOL_REL * (j->want[i] < 0 ? -j->want[i] : j->want[i]) &&
                      j->want[i] - got[i] <= TOL_ABS + TOL_REL * (j->want[i] < 0 ? -j->want[i] : j->want[i])))
                    j->mismatches++;
    }
    if (j->status != OCT_OK) snprintf(j->error, sizeof j->error, "%s", oct_last_error()); /* per-thread message */
    oct_model_free(m);
    oct_context_free(ctx);
    return NULL;
}

static void run_pair(const char *a, const char *b)
{
    rng_t r = {31};
    float *x = rng_array(&r, (size_t)N * 3 * H * W, -2, 2), want[N * 10];
    oct_context *ref = NULL;
    oct_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ref), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ref, 3, 10, 0.5, 11, &m), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct_model_forward(m, x, N, H, W, want, NULL, NULL), OCT_OK);
    oct_model_free(m);
    oct_context_free(ref);

    job jobs[2];
    memset(jobs, 0, sizeof jobs);
    snprintf(jobs[0].spec, sizeof jobs[0].spec, "%s", a);
    snprintf(jobs[1].spec, sizeof jobs[1].spec, "%s", b);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        jobs[i].x = x;
        jobs[i].want = want;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
    }
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        printf("\n    thread %d on %s: %s, %d mismatches over %d passes%s%s", i, jobs[i].spec,
               oct_status_string(jobs[i].status), jobs[i].mismatches, PASSES, jobs[i].error[0] ? ": " : "",
               jobs[i].error);
        CU_ASSERT_EQUAL(jobs[i].status, OCT_OK);
        CU_ASSERT_EQUAL(jobs[i].mismatches, 0);
    }
    free(x);
}

static char g_cl[32];

/* 1x1 convolutions at batch 1 (one image: blocks of pixels, then of channels, cut for
 * the threads) on cpu contexts of 1, 2, 3 and 4 threads: each within tolerance of the
 * reference, and all bit for bit alike. With two threads a 28x28 plane of 128 or 512
 * outputs is 7 blocks of 112 pixels and 2 of channels, run with the channel blocks
 * fastest (cpu__g_blocks' co_inner); with three, 10 uneven blocks, channels slowest;
 * 14x14 keeps channels slowest on two (196 pixels in 64 + 64 + 64 + 4). */
static void test_thread_counts(void)
{
    static const conv_case cases[] = {
        /* n c1 c2 co  h   w  k pad bias acc relu res */
        {1, 256, 0, 128, 28, 28, 1, 0, 1, 0, 1, 0},  /* reduce: pixels outnumber outputs */
        {1, 128, 0, 512, 28, 28, 1, 0, 1, 0, 1, 1},  /* expand, residual */
        {1, 64, 48, 128, 28, 28, 1, 0, 1, 1, 1, 1}, /* conv2d_pair, accumulate, residual */
        {1, 512, 0, 256, 14, 14, 1, 0, 1, 0, 1, 0},  /* 14x14 */
    };
    static const char *counts[] = {"1", "2", "3", "4"};
    oct_context *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ref), OCT_OK);
    char *keep = env_save("OCTCL_THREADS");
    rng_t r = {20261207};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const conv_case *c = &cases[k];
        size_t ny = (size_t)c->co * c->h * c->w, total = CONV_LEAD + ny + CONV_TAIL;
        conv_data d;
        float *want = malloc(total * sizeof *want), *first = malloc(total * sizeof *first), *got = malloc(total * sizeof *got);
        CU_ASSERT_FATAL(conv_data_make(c, &r, -2, 2, &d) && want && first && got);
        CU_ASSERT_EQUAL(conv_case_run(ref, c, d.x1, d.x2, d.w1, d.w2, d.b1, d.b2, d.r, d.y0, want), OCT_OK);
        for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
            oct_context *ctx = NULL;
            env_put("OCTCL_THREADS", counts[t]);
            oct_status made = oct_context_create("cpu", &ctx);
            env_put("OCTCL_THREADS", keep);
            CU_ASSERT_EQUAL_FATAL(made, OCT_OK);
            float *out = t == 0 ? first : got;
            CU_ASSERT_EQUAL(conv_case_run(ctx, c, d.x1, d.x2, d.w1, d.w2, d.b1, d.b2, d.r, d.y0, out), OCT_OK);
            oct_context_free(ctx);
            char what[96];
            snprintf(what, sizeof what, "case %zu, %s thread(s)", k, counts[t]);
            CU_ASSERT_EQUAL(conv_check_out(what, want, out, ny, TOL_ABS, TOL_REL), 0);
            if (t > 0 && memcmp(first, got, total * sizeof *got) != 0) {
                printf("\n  %s: not bit for bit the one-thread result\n", what);
                CU_FAIL("thread-count-dependent result");
            }
        }
        free(got), free(first), free(want);
        conv_data_free(&d);
    }
    free(keep);
    oct_context_free(ref);
}

static void test_cpu_cpu(void) { run_pair("cpu", "ref"); }
static void test_cl_cl(void) { run_pair(g_cl, g_cl); }
static void test_cl_cpu(void) { run_pair(g_cl, "cpu"); }

int main(void)
{
    oct_device_info dev;
    int n = 0;
    oct_list_devices(&dev, 1, &n);
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("two contexts in two threads", NULL, NULL);
    CU_add_test(s, "cpu and ref", test_cpu_cpu);
    CU_add_test(s, "1x1 GEMM items on 1-4 threads: the same bits, within tolerance of ref", test_thread_counts);
    if (n > 0) {
        snprintf(g_cl, sizeof g_cl, "opencl:%d:%d", dev.platform_index, dev.device_index);
        CU_add_test(s, "two OpenCL contexts on one device", test_cl_cl);
        CU_add_test(s, "OpenCL and cpu", test_cl_cpu);
    } else {
        printf("OpenCL tests skipped: %s\n", oct_last_error());
    }
    return run_cunit();
}
