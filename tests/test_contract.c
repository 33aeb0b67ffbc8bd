/* test_contract.c — the backend contract (internal.h "The op table", registry.c,
 * dispatch.c) on every backend:
 *   - the registry: every backend's name resolves (device specs, oct_backend_name,
 *     contexts of that backend), its required op slots are filled, unknown names and
 *     malformed forms are OCT_ERR_BAD_DEVICE_SPEC;
 *   - one validation layer: each op with a view one float past its buffer, a missing
 *     buffer, a batch that disagrees, a wrong weight count is rejected with the same
 *     status on every backend, the output buffer untouched (the backend never ran);
 *   - one out-of-memory status: a failed allocation of the backend's storage is
 *     OCT_ERR_DEVICE_MEMORY on every backend, and a CPU forward pass that meets one (an
 *     OpenCL pass whose call returns CL_OUT_OF_RESOURCES or
 *     CL_MEM_OBJECT_ALLOCATION_FAILURE) completes in halves with the clean logits;
 *   - one cl_int -> status mapping (where OpenCL is built).
 */
#include "internal.h"
#include "backend_cpu.h"
#include "testutil.h"
#if OCTCL_HAVE_OPENCL
#include "backend_cl.h"
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SPECS 8
static char g_specs[MAX_SPECS][32];
static int g_nspecs;

/* ------------------------------------------------------------------------------------ */
/* The registry                                                                           */

static void test_registry_names(void)
{
    CU_ASSERT(oct__backend_count >= 3);
    for (int i = 0; i < oct__backend_count; i++) {
        const oct__backend_entry *e = &oct__backends[i];
        CU_ASSERT_PTR_EQUAL(oct__backend_find(e->name), e);
        CU_ASSERT_PTR_EQUAL(oct__backend_of(e->id), e);
        CU_ASSERT_STRING_EQUAL(oct_backend_name(e->id), e->name);
        CU_ASSERT_EQUAL(oct_device_spec_check(e->name), OCT_OK);
        CU_ASSERT_PTR_NOT_NULL(e->parse);
        CU_ASSERT_PTR_NOT_NULL(e->choose);
        for (int j = 0; j < i; j++) { /* one line per backend */
            CU_ASSERT(strcmp(oct__backends[j].name, e->name) != 0);
            CU_ASSERT(oct__backends[j].id != e->id);
        }
        const oct__backend *o = e->ops;
        if (!o) { /* a backend not built in (OpenCL in a CPU-only build) */
            CU_ASSERT_EQUAL(e->id, OCT_BACKEND_OPENCL);
            continue;
        }
        CU_ASSERT_STRING_EQUAL(o->name, e->name);
        /* The required slots (internal.h); conv2d_pair, conv_up, profile, device_ms,
         * peak_gflops and the rest are optional. */
        int filled = o->init && o->release && o->alloc && o->free && o->write && o->read && o->conv2d &&
                     o->avgpool2 && o->resize && o->gap && o->linear && o->finish && o->convg && o->poolg && o->add &&
                     o->affine;
        if (!filled) printf("\n    backend %s leaves a required op slot empty", e->name);
        CU_ASSERT(filled);
        /* The host threads' slots (oct_model_profile_threads) come together or not at all. */
        int threads = (o->threads != NULL) + (o->timing != NULL) + (o->times != NULL);
        if (threads % 3) printf("\n    backend %s has %d of the threads, timing and times slots", e->name, threads);
        CU_ASSERT(threads == 0 || threads == 3);
    }
    /* A spec's word before ':' names the entry, whole words only. */
    CU_ASSERT_PTR_EQUAL(oct__backend_find("opencl:1:2"), oct__backend_of(OCT_BACKEND_OPENCL));
    CU_ASSERT_PTR_EQUAL(oct__backend_find("cpu:0"), oct__backend_of(OCT_BACKEND_CPU));
    CU_ASSERT_PTR_NULL(oct__backend_find("cp"));
    CU_ASSERT_PTR_NULL(oct__backend_find("cpux"));
    CU_ASSERT_PTR_NULL(oct__backend_find("openc:0:0"));
    CU_ASSERT_PTR_NULL(oct__backend_find(""));
    CU_ASSERT_PTR_NULL(oct__backend_find("auto"));
    CU_ASSERT_STRING_EQUAL(oct_backend_name((oct_backend)97), "unknown");
    CU_ASSERT_PTR_NULL(oct__backend_of((oct_backend)97));
}

static void test_registry_specs(void)
{
    static const char *const good[] = {"auto", "ref", "cpu", "opencl", "opencl:0:0", "opencl:12:3"};
    static const char *const bad[] = {"",        "gpu",       "CPU",     "cpux",      "cpu:0",       "ref:1",
                                      "auto:1",  "opencl:",   "opencl:1", "opencl:a:b", "opencl:1:2:3", ":",
                                      "opencl:-1:0", "opencl:1:"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        oct_status s = oct_device_spec_check(good[i]);
        if (s != OCT_OK) printf("\n    \"%s\": %s", good[i], oct_last_error());
        CU_ASSERT_EQUAL(s, OCT_OK);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        oct_context *ctx = NULL;
        oct_status s = oct_device_spec_check(bad[i]);
        if (s != OCT_ERR_BAD_DEVICE_SPEC) printf("\n    check \"%s\": status %d (%s)", bad[i], s, oct_last_error());
        CU_ASSERT_EQUAL(s, OCT_ERR_BAD_DEVICE_SPEC);
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), bad[i]));
        s = oct_context_create(bad[i], &ctx);
        if (s != OCT_ERR_BAD_DEVICE_SPEC) printf("\n    create \"%s\": status %d (%s)", bad[i], s, oct_last_error());
        CU_ASSERT_EQUAL(s, OCT_ERR_BAD_DEVICE_SPEC);
        CU_ASSERT_PTR_NULL(ctx);
        CU_ASSERT(strchr(oct_last_error(), '\n') == NULL);
    }
    CU_ASSERT_EQUAL(oct_device_spec_check(NULL), OCT_ERR_NULL_ARG);
    /* The message lists every backend's forms. */
    CU_ASSERT_EQUAL(oct_context_create("gpu", &(oct_context *){NULL}), OCT_ERR_BAD_DEVICE_SPEC);
    for (int i = 0; i < oct__backend_count; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), oct__backends[i].forms));
}

/* Every spec under test makes a context of its backend, whose op table is the
 * registry's. */
static void test_registry_contexts(void)
{
    for (int i = 0; i < g_nspecs; i++) {
        oct_context *ctx = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_context_create(g_specs[i], &ctx), OCT_OK);
        const oct__backend_entry *e = oct__backend_find(g_specs[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_EQUAL(ctx->info.backend, e->id);
        CU_ASSERT_PTR_EQUAL(ctx->be, e->ops);
        oct_context_free(ctx);
    }
    /* auto picks some registered backend and says why. */
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("auto", &ctx), OCT_OK);
    CU_ASSERT_PTR_NOT_NULL(oct__backend_of(ctx->info.backend));
    CU_ASSERT(strncmp(ctx->info.reason, "auto: ", 6) == 0);
    oct_context_free(ctx);
}

/* The CPU backend's path switch: the setter and $OCTCL_CPU_PATH reach the context (its
 * reason says so), an unknown value fails creation naming it. */
static void test_cpu_path_switch(void)
{
    char *saved = env_save("OCTCL_CPU_PATH");
    for (int p = 0; p < OCT__CPU_PATH_COUNT; p++) {
        oct_context *ctx = NULL;
        oct__cpu_force_path(p);
        CU_ASSERT_EQUAL_FATAL(oct_context_create("cpu", &ctx), OCT_OK);
        int says = strstr(ctx->info.reason, "forced") != NULL;
        CU_ASSERT_EQUAL(says, p != OCT__CPU_PATH_AUTO);
        if (p != OCT__CPU_PATH_AUTO) CU_ASSERT_PTR_NOT_NULL(strstr(ctx->info.reason, oct__cpu_path_names[p]));
        oct_context_free(ctx);
    }
    oct__cpu_force_path(-1);
    setenv("OCTCL_CPU_PATH", "fast", 1);
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL(oct_context_create("cpu", &ctx), OCT_ERR_BAD_SIZE);
    CU_ASSERT_PTR_NULL(ctx);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "'fast'"));
    setenv("OCTCL_CPU_PATH", "gemm", 1);
    CU_ASSERT_EQUAL_FATAL(oct_context_create("cpu", &ctx), OCT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx->info.reason, "cpu code path forced: gemm"));
    oct_context_free(ctx);
    env_put("OCTCL_CPU_PATH", saved);
    free(saved);
}

/* The FMA probe behind oct_context_peak_gflops runs on the context's host threads: one
 * under OCTCL_THREADS=1 (it ran on every online core before 2026-12-07, so a one-thread
 * profile on two cores put its layers at half their share of the peak), the context's
 * count capped at the online cores otherwise, one on ref. */
static void test_probe_threads(void)
{
    char *saved = env_save("OCTCL_THREADS");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    static const char *counts[] = {"1", "3"};
    for (int i = 0; i < 2; i++) {
        setenv("OCTCL_THREADS", counts[i], 1);
        oct_context *ctx = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_context_create("cpu", &ctx), OCT_OK);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ctx->be->threads);
        int want = ctx->be->threads(ctx);
        CU_ASSERT_EQUAL(want, atoi(counts[i]));
        if (want > cores) want = (int)cores;
        CU_ASSERT_EQUAL(oct__cpu_probe_threads(ctx), want);
        double peak = 0;
        oct_status s = oct_context_peak_gflops(ctx, &peak);
        CU_ASSERT(s == OCT_OK ? peak > 0 : s == OCT_ERR_UNSUPPORTED);
        oct_context_free(ctx);
    }
    oct_context *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ref), OCT_OK);
    CU_ASSERT_EQUAL(oct__cpu_probe_threads(ref), 1);
    oct_context_free(ref);
    env_put("OCTCL_THREADS", saved);
    free(saved);
}

/* ------------------------------------------------------------------------------------ */
/* One validation layer                                                                   */

/* Buffers for every op: x (2, 4, 6, 6), y big enough for any output, weights, bias. */
enum { N = 2, C = 4, H = 6, W = 6, CO = 3, K = 3, NX = N * C * H * W, NY = N * 8 * H * W };

typedef struct {
    oct_context *ctx;
    oct__buf x, y, w, w2, b, s;
    float y0[NY];
} bufs;

static int bufs_make(oct_context *ctx, bufs *B)
{
    memset(B, 0, sizeof *B);
    B->ctx = ctx;
    rng_t r = {77};
    float *x = rng_array(&r, NX, -2, 2), *w = rng_array(&r, CO * C * K * K, -0.5f, 0.5f);
    float *bias = rng_array(&r, C, -2, 2);
    for (int i = 0; i < NY; i++) B->y0[i] = rng_uniform(&r, -2, 2);
    int ok = x && w && bias && oct__buf_upload(ctx, &B->x, x, NX) == OCT_OK &&
             oct__buf_upload(ctx, &B->y, B->y0, NY) == OCT_OK &&
             oct__buf_upload(ctx, &B->w, w, CO * C * K * K) == OCT_OK &&
             oct__buf_upload(ctx, &B->w2, w, CO * C * K * K) == OCT_OK &&
             oct__buf_upload(ctx, &B->b, bias, CO) == OCT_OK && oct__buf_upload(ctx, &B->s, bias, C) == OCT_OK;
    free(x), free(w), free(bias);
    return ok;
}

static void bufs_free(bufs *B)
{
    oct__buf_free(B->ctx, &B->x), oct__buf_free(B->ctx, &B->y), oct__buf_free(B->ctx, &B->w);
    oct__buf_free(B->ctx, &B->w2), oct__buf_free(B->ctx, &B->b), oct__buf_free(B->ctx, &B->s);
}

/* The op kinds, each made valid by make_op and then broken one way. */
enum {
    OP_CONV,
    OP_PAIR,
    OP_POOL2,
    OP_RESIZE,
    OP_GAP,
    OP_LINEAR,
    OP_CONVG,
    OP_POOLG,
    OP_ADD,
    OP_AFFINE,
    OP_CONV_UP,
    OP_COUNT
};
/* conv_up's messages name the conv2d its checks found at fault, or conv_up: "conv". */
static const char *const g_op_names[OP_COUNT] = {"conv2d", "conv2d_pair", "avgpool2", "resize", "gap",   "linear",
                                                 "convg",  "poolg",       "add",      "affine", "conv"};
/* How the op is broken. */
enum { BAD_NONE, BAD_PAST_END, BAD_NO_BUFFER, BAD_BATCH, BAD_WEIGHTS, BAD_COUNT };
static const char *const g_bad_names[BAD_COUNT] = {"valid", "a view one float past its buffer", "no buffer",
                                                   "batch mismatch", "weight count"};
/* The status every backend must give. */
static const oct_status g_bad_status[BAD_COUNT] = {OCT_OK, OCT_ERR_BAD_SIZE, OCT_ERR_NULL_ARG, OCT_ERR_SHAPE_MISMATCH,
                                                   OCT_ERR_SHAPE_MISMATCH};

/* x's view, moved to end one float past its buffer: the last image starts one float
 * later than the buffer allows. */
static oct__view past_end(oct__view v)
{
    size_t end = v.off + (size_t)(v.n - 1) * v.nstride + (size_t)v.c * v.h * v.w;
    v.off += v.buf->count - end + 1;
    return v;
}

/* Run op `kind` broken by `bad` on B's context; -1 when that break does not apply. */
static int run_op(bufs *B, int kind, int bad, oct_status *s)
{
    oct_context *ctx = B->ctx;
    oct__view x = oct__view_of(&B->x, N, C, H, W);
    if (bad == BAD_PAST_END) x = past_end(x);
    if (bad == BAD_NO_BUFFER) x.buf = NULL;
    int yn = bad == BAD_BATCH ? N - 1 : N;
    const oct__buf *w = bad == BAD_WEIGHTS ? &B->w2 : &B->w; /* w2 has CO*C*K*K: ok only for (CO, C, K, K) */
    switch (kind) {
    case OP_CONV:
    case OP_PAIR:
    case OP_CONVG:
    case OP_CONV_UP: {
        oct__view y = oct__view_of(&B->y, yn, CO, H, W);
        int ci = bad == BAD_WEIGHTS ? C - 1 : C; /* fewer input channels: the weights no longer fit */
        x.c = ci;
        if (kind == OP_CONV_UP) { /* the upsample read from x's buffer (not y's) */
            oct__conv_op op = {x, y, w, &B->b, K, 1, 1, 0, 1};
            oct__view up = oct__view_of(&B->x, N, CO, H / 2, W / 2);
            *s = oct__op_conv_up(ctx, &op, NULL, &up);
        } else if (kind == OP_CONV) {
            oct__conv_op op = {x, y, w, &B->b, K, 1, 1, 0, 0};
            *s = oct__op_conv2d(ctx, &op);
        } else if (kind == OP_PAIR) {
            oct__view x1 = x;
            oct__conv_pair_op op = {x1, oct__view_of(&B->x, N, C, H, W), y, w, &B->w2, &B->b, NULL, K, 1, 1, 0, 1, {0}, NULL, 0};
            *s = oct__op_conv2d_pair(ctx, &op);
        } else {
            oct__convg_op op = {x, y, {0}, w, &B->b, K, K, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1};
            *s = oct__op_convg(ctx, &op);
        }
        return 0;
    }
    case OP_POOL2: {
        if (bad == BAD_WEIGHTS) return -1;
        oct__pool_op op = {x, oct__view_of(&B->y, yn, C, H / 2, W / 2)};
        *s = oct__op_avgpool2(ctx, &op);
        return 0;
    }
    case OP_RESIZE: {
        if (bad == BAD_WEIGHTS) return -1;
        oct__resize_op op = {x, oct__view_of(&B->y, yn, C, H + 2, W - 1), 1, 1};
        *s = oct__op_resize(ctx, &op);
        return 0;
    }
    case OP_GAP: {
        if (bad == BAD_WEIGHTS || bad == BAD_BATCH) return -1;
        oct__gap_op op = {x, &B->y, C + 2, 1, 0};
        *s = oct__op_gap(ctx, &op);
        return 0;
    }
    case OP_LINEAR: {
        if (bad == BAD_BATCH || bad == BAD_PAST_END) return -1;
        /* y (N, CO) = x (N, 12) W^T, W (CO, 12) */
        oct__linear_op op = {bad == BAD_NO_BUFFER ? NULL : &B->x, &B->w, &B->b, &B->y, N, 12, CO};
        if (bad == BAD_WEIGHTS) op.in = C * K * K + 1; /* W holds CO * C * K * K < CO * in */
        *s = oct__op_linear(ctx, &op);
        return 0;
    }
    case OP_POOLG: {
        if (bad == BAD_WEIGHTS) return -1;
        oct__poolg_op op = {x, oct__view_of(&B->y, yn, C, 3, 3), 1, 3, 3, 2, 2, 1, 1, 0, 0, 0, 1};
        *s = oct__op_poolg(ctx, &op);
        return 0;
    }
    case OP_ADD: {
        if (bad == BAD_WEIGHTS) return -1;
        oct__add_op op = {x, oct__view_of(&B->x, N, C, H, W), oct__view_of(&B->y, yn, C, H, W), 1};
        *s = oct__op_add(ctx, &op);
        return 0;
    }
    default: {
        oct__affine_op op = {x, oct__view_of(&B->y, yn, C, H, W), bad == BAD_WEIGHTS ? &B->b : &B->s, &B->s, 1};
        *s = oct__op_affine(ctx, &op);
        return 0;
    }
    }
}

/* status[spec][op][bad] as seen, for the cross-backend comparison. */
static oct_status g_seen[MAX_SPECS][OP_COUNT][BAD_COUNT];

static void check_validation(int d)
{
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create(g_specs[d], &ctx), OCT_OK);
    bufs B;
    CU_ASSERT_FATAL(bufs_make(ctx, &B));
    float *got = malloc(NY * sizeof *got);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    for (int k = 0; k < OP_COUNT; k++)
        for (int bad = 0; bad < BAD_COUNT; bad++) {
            oct_status s = OCT_OK;
            oct__clear_error();
            if (run_op(&B, k, bad, &s) < 0) {
                g_seen[d][k][bad] = (oct_status)-1;
                continue;
            }
            g_seen[d][k][bad] = s;
            if (s != g_bad_status[bad])
                printf("\n    %s %s, %s: status %d (%s), expected %d", g_specs[d], g_op_names[k], g_bad_names[bad], s,
                       oct_last_error(), g_bad_status[bad]);
            CU_ASSERT_EQUAL(s, g_bad_status[bad]);
            if (bad == BAD_NONE) {
                /* Put y back for the next case. */
                CU_ASSERT_EQUAL(ctx->be->write(ctx, &B.y, B.y0), OCT_OK);
                continue;
            }
            /* A one-line message naming the op; y never touched. */
            const char *msg = oct_last_error();
            CU_ASSERT(strchr(msg, '\n') == NULL);
            if (!strstr(msg, g_op_names[k])) printf("\n    %s %s: message '%s' lacks the op", g_specs[d], g_op_names[k], msg);
            CU_ASSERT_PTR_NOT_NULL(strstr(msg, g_op_names[k]));
            CU_ASSERT_EQUAL(ctx->be->read(ctx, &B.y, got), OCT_OK);
            int same = memcmp(got, B.y0, NY * sizeof *got) == 0;
            if (!same) printf("\n    %s %s, %s: y was written", g_specs[d], g_op_names[k], g_bad_names[bad]);
            CU_ASSERT(same);
        }
    free(got);
    bufs_free(&B);
    CU_ASSERT_EQUAL(ctx->buf_bytes, 0);
    oct_context_free(ctx);
}

static void test_validation(void)
{
    for (int d = 0; d < g_nspecs; d++) check_validation(d);
    /* The same status on every backend, case by case. */
    for (int d = 1; d < g_nspecs; d++)
        CU_ASSERT_EQUAL(memcmp(g_seen[d], g_seen[0], sizeof g_seen[0]), 0);
}

/* ------------------------------------------------------------------------------------ */
/* One out-of-memory status                                                               */

/* Every allocation of a one-image forward pass failing in turn, on each host backend:
 * a backend allocation is OCT_ERR_DEVICE_MEMORY (its message names the backend), the
 * library's own OCT_ERR_HOST_MEMORY; the pass has backend allocations to fail. */
static void check_oom_status(const char *spec)
{
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create(spec, &ctx), OCT_OK);
    rng_t r = {5};
    float *x = rng_array(&r, 3 * 9 * 7, -2, 2), logits[10];
    int device = 0, host = 0;
    for (long at = 1; at < 2000; at++) {
        oct_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ctx, 3, 10, 0.5, 3, &m), OCT_OK);
        oct_debug_fail_at(at);
        oct_status s = oct_model_forward(m, x, 1, 9, 7, logits, NULL, NULL);
        long calls = oct_debug_fault_calls();
        oct_debug_fail_at(0);
        oct_model_free(m);
        if (calls < at) {
            CU_ASSERT_EQUAL(s, OCT_OK);
            break;
        }
        if (s == OCT_ERR_DEVICE_MEMORY) {
            device++;
            /* The message says whose memory: the backend's name. */
            CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), spec));
        } else if (s == OCT_ERR_HOST_MEMORY) {
            host++;
        } else {
            printf("\n    %s: fault at %ld: status %d (%s)", spec, at, s, oct_last_error());
            CU_FAIL("not an out-of-memory status");
        }
    }
    printf("\n    %s: %d backend allocations failed as OCT_ERR_DEVICE_MEMORY, %d host ones as OCT_ERR_HOST_MEMORY",
           spec, device, host);
    CU_ASSERT(device > 0);
    CU_ASSERT_EQUAL(ctx->buf_bytes, 0);
    oct_context_free(ctx);
    free(x);
}

static void test_oom_status(void)
{
    /* The backend's alloc itself. */
    const char *host_backends[] = {"cpu", "ref"};
    for (int i = 0; i < 2; i++) {
        oct_context *ctx = NULL;
        oct__buf b = {0};
        CU_ASSERT_EQUAL_FATAL(oct_context_create(host_backends[i], &ctx), OCT_OK);
        oct_debug_fail_at(1);
        oct_status s = oct__buf_alloc(ctx, &b, 1000);
        oct_debug_fail_at(0);
        if (s != OCT_ERR_DEVICE_MEMORY) printf("\n    %s alloc: status %d (%s)", host_backends[i], s, oct_last_error());
        CU_ASSERT_EQUAL(s, OCT_ERR_DEVICE_MEMORY);
        CU_ASSERT_EQUAL(b.count, 0);
        CU_ASSERT_EQUAL(ctx->buf_bytes, 0);
        oct__buf_free(ctx, &b);
        oct_context_free(ctx);
    }
    check_oom_status("cpu");
    check_oom_status("ref");
}

/* A batch of 4 whose backend allocation (or, on OpenCL, any call: injected as `cl_code`)
 * fails: the pass completes in halves with the logits of a clean pass, for every
 * fallible call it makes; what fails the pass for good is the library's own memory. */
static void check_halving(const char *spec, int cl_code)
{
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create(spec, &ctx), OCT_OK);
    rng_t r = {6};
    enum { B = 4, IH = 9, IW = 7 };
    float *x = rng_array(&r, B * 3 * IH * IW, -2, 2), clean[B * 10], got[B * 10];
    oct_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ctx, 3, 10, 0.5, 3, &m), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct_model_forward(m, x, B, IH, IW, clean, NULL, NULL), OCT_OK);
    CU_ASSERT_EQUAL(oct_model_last_chunk(m), B);
    oct_model_free(m);
    int halved = 0, failed = 0;
    for (long at = 1; at < 2000; at++) {
        m = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ctx, 3, 10, 0.5, 3, &m), OCT_OK);
        memset(got, 0, sizeof got);
#if OCTCL_HAVE_OPENCL
        oct__fault_set_cl_code(cl_code);
#else
        (void)cl_code;
#endif
        oct_debug_fail_at(at);
        oct_status s = oct_model_forward(m, x, B, IH, IW, got, NULL, NULL);
        long calls = oct_debug_fault_calls();
        oct_debug_fail_at(0);
#if OCTCL_HAVE_OPENCL
        oct__fault_set_cl_code(0);
#endif
        if (s == OCT_OK && oct_model_last_chunk(m) < B) {
            halved++;
            CU_ASSERT_EQUAL(oct_model_last_chunk(m), B / 2);
            CU_ASSERT_EQUAL(compare_floats("halved logits", clean, got, B * 10, TOL_ABS, TOL_REL), 0);
        } else if (s != OCT_OK) {
            failed++;
            /* What fails for good is the library's own memory, never the backend's. */
            if (s != OCT_ERR_HOST_MEMORY) printf("\n    fault at %ld: status %d (%s)", at, s, oct_last_error());
            CU_ASSERT_EQUAL(s, OCT_ERR_HOST_MEMORY);
        }
        oct_model_free(m);
        if (calls < at) break;
    }
    printf("\n    %s: %d failed calls were retried in halves (same logits), %d failed the pass", spec, halved,
           failed);
    CU_ASSERT(halved > 0);
    CU_ASSERT_EQUAL(ctx->buf_bytes, 0);
    oct_context_free(ctx);
    free(x);
}

static void test_oom_halving_cpu(void) { check_halving("cpu", 0); }

/* OpenCL: every call of the pass failing in turn with CL_OUT_OF_RESOURCES (a launch or
 * buffer the device cannot hold), then CL_MEM_OBJECT_ALLOCATION_FAILURE. */
static void test_oom_halving_opencl(void)
{
#if OCTCL_HAVE_OPENCL
    int any = 0;
    for (int d = 0; d < g_nspecs; d++)
        if (strncmp(g_specs[d], "opencl:", 7) == 0) {
            check_halving(g_specs[d], CL_OUT_OF_RESOURCES);
            check_halving(g_specs[d], CL_MEM_OBJECT_ALLOCATION_FAILURE);
            any = 1;
        }
    if (!any) printf("(no OpenCL device) ");
    CU_ASSERT_EQUAL(oct_debug_live_cl_objects(), 0);
#else
    printf("(OpenCL not built) ");
#endif
}

/* ------------------------------------------------------------------------------------ */
/* One cl_int -> status mapping                                                           */

static void test_cl_status(void)
{
#if OCTCL_HAVE_OPENCL
    static const struct {
        int err;
        oct_status want;
    } map[] = {{CL_MEM_OBJECT_ALLOCATION_FAILURE, OCT_ERR_DEVICE_MEMORY},
               {CL_OUT_OF_RESOURCES, OCT_ERR_DEVICE_MEMORY},
               {CL_INVALID_BUFFER_SIZE, OCT_ERR_DEVICE_MEMORY},
               {CL_OUT_OF_HOST_MEMORY, OCT_ERR_HOST_MEMORY},
               {CL_BUILD_PROGRAM_FAILURE, OCT_ERR_BUILD},
               {CL_INVALID_KERNEL_ARGS, OCT_ERR_OPENCL},
               {CL_INVALID_VALUE, OCT_ERR_OPENCL},
               {CL_SUCCESS, OCT_ERR_OPENCL}, /* a call that returned no object */
               {-9999, OCT_ERR_OPENCL}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        oct_status s = oct__cl_status(map[i].err);
        if (s != map[i].want) printf("\n    %d (%s): status %d, expected %d", map[i].err, oct__cl_errstr(map[i].err), s,
                                     map[i].want);
        CU_ASSERT_EQUAL(s, map[i].want);
    }
    CU_ASSERT_STRING_EQUAL(oct__cl_errstr(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
#else
    printf("(OpenCL not built) ");
#endif
}

int main(void)
{
    /* Every registered backend: by its name where it has one device (the host backends),
     * by each device oct_list_devices finds where it lists them (OpenCL: opencl:P:D). */
    for (int i = 0; i < oct__backend_count && g_nspecs < MAX_SPECS; i++)
        if (oct__backends[i].ops && !oct__backends[i].list)
            snprintf(g_specs[g_nspecs++], sizeof g_specs[0], "%s", oct__backends[i].name);
    oct_device_info devs[MAX_SPECS];
    int n = 0;
    oct_list_devices(devs, MAX_SPECS, &n);
    if (n == 0) printf("no listed device: %s\n", oct_last_error());
    for (int i = 0; i < n && g_nspecs < MAX_SPECS; i++)
        snprintf(g_specs[g_nspecs++], sizeof g_specs[0], "%s:%d:%d", oct_backend_name(devs[i].backend),
                 devs[i].platform_index, devs[i].device_index);
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("backend registry", NULL, NULL);
    CU_add_test(s, "every backend's name resolves, its op table is filled", test_registry_names);
    CU_add_test(s, "device specs: good forms pass, unknown names and bad forms are BAD_DEVICE_SPEC",
                test_registry_specs);
    CU_add_test(s, "contexts of every backend under test", test_registry_contexts);
    CU_add_test(s, "the cpu path switch", test_cpu_path_switch);
    CU_add_test(s, "the peak probe runs on the context's threads", test_probe_threads);
    s = CU_add_suite("one validation layer", NULL, NULL);
    CU_add_test(s, "every op broken four ways: the same status on every backend, y untouched", test_validation);
    s = CU_add_suite("one out-of-memory status", NULL, NULL);
    CU_add_test(s, "a backend allocation failing is DEVICE_MEMORY on cpu and ref", test_oom_status);
    CU_add_test(s, "a cpu pass whose allocation fails completes in halves", test_oom_halving_cpu);
    CU_add_test(s, "an OpenCL pass that runs out of resources completes in halves", test_oom_halving_opencl);
    CU_add_test(s, "the cl_int -> status mapping", test_cl_status);
    return run_cunit();
}
