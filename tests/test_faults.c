/* test_faults.c — every error path clean: each fallible host allocation and OpenCL call
 * reached by context creation, model load and a forward pass is made to fail in turn.
 * Each failure must come back as a status with a message, the caller must be able to go
 * on (a retry gives the same logits as a clean run), and once a context is freed no
 * OpenCL object may be left. Leaks are LeakSanitizer's to find (the ASan build in CI).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL OCT_FIXTURE_DIR "/net_a0.50_n3_c3_9x7_k10.safetensors"
#define MAX_SPECS 6

static char g_specs[MAX_SPECS][32];
static int g_nspecs;

/* The input: batch 2 at 9x7, then batch 1 at 8x8 (so activations are reallocated). */
static float g_x[2 * 3 * 9 * 7];

/* Load, forward twice at two shapes. On a failed forward, retry it once (injection is
 * single-shot) and expect success. Returns the first failing status (or OCT_OK). */
static oct_status load_and_run(oct_context *ctx, float *logits_a, float *logits_b, int *recovered)
{
    oct_model *m = NULL;
    oct_status first = oct_model_load(ctx, MODEL, &m);
    if (first != OCT_OK) {
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT(strlen(oct_last_error()) > 0);
        return first;
    }
    oct_status s = oct_model_forward(m, g_x, 2, 9, 7, logits_a, NULL, NULL);
    if (s != OCT_OK) {
        first = s;
        CU_ASSERT(strlen(oct_last_error()) > 0);
        s = oct_model_forward(m, g_x, 2, 9, 7, logits_a, NULL, NULL);
        CU_ASSERT_EQUAL(s, OCT_OK);
        *recovered += s == OCT_OK;
    }
    oct_status t = oct_model_forward(m, g_x, 1, 8, 8, logits_b, NULL, NULL);
    if (t != OCT_OK) {
        if (first == OCT_OK) first = t;
        t = oct_model_forward(m, g_x, 1, 8, 8, logits_b, NULL, NULL);
        CU_ASSERT_EQUAL(t, OCT_OK);
        *recovered += t == OCT_OK;
    }
    oct_model_free(m);
    return first;
}

/* Sweep load + forward on one context, failing call 1, 2, ... until a run reaches its
 * end without hitting the injected fault. */
static void sweep_load_forward(const char *spec)
{
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create(spec, &ctx), OCT_OK);
    float clean_a[20], clean_b[10], a[20], b[10];
    int recovered = 0;
    CU_ASSERT_EQUAL_FATAL(load_and_run(ctx, clean_a, clean_b, &recovered), OCT_OK);
    long sites = 0, failed = 0;
    for (long n = 1;; n = fault_next(n)) {
        memset(a, 0, sizeof a);
        memset(b, 0, sizeof b);
        oct_debug_fail_at(n);
        oct_status s = load_and_run(ctx, a, b, &recovered);
        long calls = oct_debug_fault_calls();
        oct_debug_fail_at(0);
        if (calls < n) { /* the fault was never reached: every site has been swept */
            CU_ASSERT_EQUAL(s, OCT_OK);
            break;
        }
        sites++;
        failed += s != OCT_OK;
        if (s != OCT_OK && memcmp(a, clean_a, sizeof a) == 0) continue; /* failed in load, or recovered */
        if (s == OCT_OK) {
            /* The injected failure was absorbed (e.g. a fallback): results unchanged. */
            CU_ASSERT_EQUAL(memcmp(a, clean_a, sizeof a), 0);
            CU_ASSERT_EQUAL(memcmp(b, clean_b, sizeof b), 0);
        }
        if (n > 100000) {
            CU_FAIL("sweep did not end");
            break;
        }
    }
    printf("\n    %s: load + forward swept %ld fallible call sites, %ld returned an error, %d forward(s) "
           "recovered on retry",
           spec, sites, failed, recovered);
    CU_ASSERT(sites > 10);
    oct_context_free(ctx);
    CU_ASSERT_EQUAL(oct_debug_live_cl_objects(), 0);
}

/* Sweep context creation itself. */
static void sweep_context(const char *spec)
{
    long sites = 0;
    for (long n = 1;; n = fault_next(n)) {
        oct_context *ctx = NULL;
        oct_debug_fail_at(n);
        oct_status s = oct_context_create(spec, &ctx);
        long calls = oct_debug_fault_calls();
        oct_debug_fail_at(0);
        if (s != OCT_OK) {
            CU_ASSERT_PTR_NULL(ctx);
            CU_ASSERT(strlen(oct_last_error()) > 0);
        }
        oct_context_free(ctx);
        CU_ASSERT_EQUAL(oct_debug_live_cl_objects(), 0);
        if (calls < n) {
            CU_ASSERT_EQUAL(s, OCT_OK);
            break;
        }
        sites++;
        if (n > 10000) {
            CU_FAIL("sweep did not end");
            break;
        }
    }
    printf("\n    %s: context creation swept %ld fallible call sites", spec, sites);
}

static int g_next;

static void test_sweep(void)
{
    const char *spec = g_specs[g_next++];
    sweep_context(spec);
    sweep_load_forward(spec);
}

int main(void)
{
    rng_t r = {4242};
    for (size_t i = 0; i < sizeof g_x / sizeof g_x[0]; i++) g_x[i] = rng_uniform(&r, -2, 2);
    snprintf(g_specs[g_nspecs++], 32, "ref");
    snprintf(g_specs[g_nspecs++], 32, "cpu");
    oct_device_info devs[MAX_SPECS - 2];
    int n = 0;
    oct_list_devices(devs, MAX_SPECS - 2, &n);
    if (n == 0) printf("OpenCL tests skipped: %s\n", oct_last_error());
    for (int i = 0; i < n && g_nspecs < MAX_SPECS; i++)
        snprintf(g_specs[g_nspecs++], 32, "opencl:%d:%d", devs[i].platform_index, devs[i].device_index);
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("fault injection", NULL, NULL);
    static char names[MAX_SPECS][64];
    for (int i = 0; i < g_nspecs; i++) {
        snprintf(names[i], sizeof names[i], "every failure on %s", g_specs[i]);
        CU_add_test(s, names[i], test_sweep);
    }
    return run_cunit();
}
