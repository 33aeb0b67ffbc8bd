/* cpu_probe.c — benchmark support shared by the CPU backends: wall-clock "device time"
 * (their ops run synchronously) and an FP32 fused-multiply-add probe for the peak. */
#include "backend_cpu.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

double oct__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 10 independent chains of 8-wide FMAs (16 FLOP each): enough to keep two FMA units
 * busy through a 4-5 cycle latency. Written with intrinsics: in ISO C mode the compiler
 * does not contract a * b + c into an FMA by itself. The caller checks the CPU. */
#define PROBE_ITERS 20000000L
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define OCT__AVX2 __attribute__((target("avx2,fma")))
#define CHAINS 10
static OCT__AVX2 float probe_kernel(float seed)
{
    __m256 a[CHAINS], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int j = 0; j < CHAINS; j++) a[j] = _mm256_set1_ps(seed + (float)j);
    for (long i = 0; i < PROBE_ITERS; i++)
        for (int j = 0; j < CHAINS; j++) a[j] = _mm256_fmadd_ps(a[j], m, c);
    float out[8], s = 0;
    for (int j = 0; j < CHAINS; j++) {
        _mm256_storeu_ps(out, a[j]);
        for (int k = 0; k < 8; k++) s += out[k];
    }
    return s;
}
/* The same with 16-wide FMAs, for CPUs with AVX-512 (whose FMA units may be 512 bits). */
static __attribute__((target("avx512f"))) float probe_kernel512(float seed)
{
    __m512 a[CHAINS], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int j = 0; j < CHAINS; j++) a[j] = _mm512_set1_ps(seed + (float)j);
    for (long i = 0; i < PROBE_ITERS; i++)
        for (int j = 0; j < CHAINS; j++) a[j] = _mm512_fmadd_ps(a[j], m, c);
    float s = 0;
    for (int j = 0; j < CHAINS; j++) s += _mm512_reduce_add_ps(a[j]);
    return s;
}
static int probe_wide(void) { return __builtin_cpu_supports("avx512f"); }
static float probe_run(float seed) { return probe_wide() ? probe_kernel512(seed) : probe_kernel(seed); }
static double probe_flop(void) { return (double)PROBE_ITERS * CHAINS * (probe_wide() ? 16 : 8) * 2; }
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
static float probe_run(float seed) { return probe_kernel(seed); }
static double probe_flop(void) { return (double)PROBE_ITERS * 8 * 2; }
static int probe_supported(void) { return 1; }
#endif

typedef struct {
    float seed, result;
} probe_arg;

static void *probe_thread(void *p)
{
    probe_arg *a = p;
    a->result = probe_run(a->seed);
    return NULL;
}

/* The most threads the probe starts. */
#define PROBE_MAX_THREADS 256

int oct__cpu_probe_threads(const oct_context *ctx)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long threads = ctx && ctx->be && ctx->be->threads ? ctx->be->threads(ctx) : 1;
    if (threads > cores) threads = cores;
    if (threads > PROBE_MAX_THREADS) threads = PROBE_MAX_THREADS;
    return threads < 1 ? 1 : (int)threads;
}

/* The probe on oct__cpu_probe_threads(ctx) threads at once: the rate the context's
 * threads can reach. (Until 2026-12-07 it ran on every online core whatever the
 * context's threads, so a one-thread profile on two cores put its layers at half the
 * share of the peak they reached.) */
oct_status oct__cpu_peak_gflops(oct_context *ctx, double *gflops)
{
    long threads = oct__cpu_probe_threads(ctx);
    if (!probe_supported())
        return oct__fail(OCT_ERR_UNSUPPORTED, "the CPU peak probe needs AVX2 and FMA, which this CPU lacks");
    pthread_t th[PROBE_MAX_THREADS];
    probe_arg args[PROBE_MAX_THREADS];
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = oct__now_ms();
        long started = 0;
        for (long i = 0; i < threads; i++) {
            args[i].seed = (float)(rep + i);
            if (pthread_create(&th[i], NULL, probe_thread, &args[i]) != 0) break;
            started++;
        }
        for (long i = 0; i < started; i++) pthread_join(th[i], NULL);
        double ms = oct__now_ms() - t0;
        double g = probe_flop() * (double)started / (ms * 1e6);
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
