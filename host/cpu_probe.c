/* cpu_probe.c — benchmark support shared by the CPU backends: wall-clock "device time"
 * (their ops run synchronously) and an FP32 fused-multiply-add probe for the peak. */
#include "internal.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

double oct__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 8 independent chains of 8-wide FMAs (16 FLOP each): enough to fill two FMA units of
 * an AVX2 core. Built for AVX2+FMA when the compiler can; the caller checks the CPU. */
#define PROBE_ITERS 4000000
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define OCT__AVX2 __attribute__((target("avx2,fma")))
typedef float v8f __attribute__((vector_size(32)));
static OCT__AVX2 float probe_kernel(float seed)
{
    v8f a[8], m = {0}, c = {0};
    for (int k = 0; k < 8; k++) m[k] = 0.999999f, c[k] = 1e-7f;
    for (int j = 0; j < 8; j++)
        for (int k = 0; k < 8; k++) a[j][k] = seed + (float)(j + k);
    for (long i = 0; i < PROBE_ITERS; i++)
        for (int j = 0; j < 8; j++) a[j] = a[j] * m + c;
    float s = 0;
    for (int j = 0; j < 8; j++)
        for (int k = 0; k < 8; k++) s += a[j][k];
    return s;
}
static const double probe_flop = (double)PROBE_ITERS * 8 * 8 * 2;
static int probe_supported(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#else
static float probe_kernel(float seed)
{
    float a[8];
    for (int j = 0; j < 8; j++) a[j] = seed + (float)j;
    for (long i = 0; i < PROBE_ITERS; i++)
        for (int j = 0; j < 8; j++) a[j] = a[j] * 0.999999f + 1e-7f;
    return a[0] + a[7];
}
static const double probe_flop = (double)PROBE_ITERS * 8 * 2;
static int probe_supported(void) { return 1; }
#endif

typedef struct {
    float seed, result;
} probe_arg;

static void *probe_thread(void *p)
{
    probe_arg *a = p;
    a->result = probe_kernel(a->seed);
    return NULL;
}

oct_status oct__cpu_peak_gflops(oct_context *ctx, double *gflops)
{
    (void)ctx;
    enum { MAX_THREADS = 256 };
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    if (cores > MAX_THREADS) cores = MAX_THREADS;
    if (!probe_supported())
        return oct__fail(OCT_ERR_NOT_READY, "the CPU peak probe needs AVX2 and FMA, which this CPU lacks");
    pthread_t th[MAX_THREADS];
    probe_arg args[MAX_THREADS];
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = oct__now_ms();
        long started = 0;
        for (long i = 0; i < cores; i++) {
            args[i].seed = (float)(rep + i);
            if (pthread_create(&th[i], NULL, probe_thread, &args[i]) != 0) break;
            started++;
        }
        for (long i = 0; i < started; i++) pthread_join(th[i], NULL);
        double ms = oct__now_ms() - t0;
        double g = probe_flop * (double)started / (ms * 1e6);
        if (g > best) best = g;
    }
    *gflops = best;
    return OCT_OK;
}

oct_status oct__cpu_profile(oct_context *ctx, int enable)
{
    ctx->prof_on = enable;
    ctx->prof_start_ms = oct__now_ms();
    return OCT_OK;
}

oct_status oct__cpu_device_ms(oct_context *ctx, double *ms)
{
    *ms = ctx->prof_on ? oct__now_ms() - ctx->prof_start_ms : 0;
    return OCT_OK;
}
