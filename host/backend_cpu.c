/* backend_cpu.c — the native CPU backend: host memory, float32 ops, each op shared by
 * the context's pool of threads (threadpool.c) as chunks of output rows or planes.
 * Stride-1 convolutions run a direct AVX-512 kernel on a zero-padded copy of the input
 * rows (no im2col), with bias, accumulate and ReLU applied as the outputs are stored;
 * other convolutions (or CPUs without AVX-512) use im2col + octcl's single-threaded
 * sgemm (gemm.c) per thread and a fused epilogue. Pooling, resize and GAP are row loops (AVX-512
 * where it pays). Checked op by op against the reference backend (backend_ref.c). */
#include "gemm.h"
#include "internal.h"
#include "threadpool.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Buffers and scratch are aligned to a cache line (and any AVX-512 vector). */
#define OCT__CPU_ALIGN 64
/* GEMM path: columns (output pixels, over one or more images) per GEMM, so small planes
 * are grouped over the batch (thin GEMMs are slow) and large ones cut into row bands. */
#ifndef OCT__CPU_MIN_COLS
#define OCT__CPU_MIN_COLS 1024
#endif
/* GEMM path: most floats one thread's scratch (im2col columns + GEMM output) may hold;
 * GEMMs get fewer columns when a huge kernel would need more (16 MiB). */
#ifndef OCT__CPU_SCRATCH_FLOATS
#define OCT__CPU_SCRATCH_FLOATS ((size_t)4 << 20)
#endif
/* Ops smaller than this (multiply-adds for convolutions, floats touched for the others)
 * run on the calling thread alone: waking the pool would cost more than it saves. */
#ifndef OCT__CPU_PAR_MACS
#define OCT__CPU_PAR_MACS ((size_t)1 << 18)
#endif
#ifndef OCT__CPU_PAR_FLOATS
#define OCT__CPU_PAR_FLOATS ((size_t)1 << 15)
#endif
/* Direct path: floats of padded input one thread's band of rows may hold (768 KiB:
 * within a 1 MiB L2 beside a block of weights). */
#ifndef OCT__CPU_BAND_FLOATS
#define OCT__CPU_BAND_FLOATS ((size_t)192 << 10)
#endif
/* Output channels per direct-kernel tile (the weights are packed in blocks of this). */
#define OCT__DK_MR 4
/* Row segments of 16 output pixels per direct-kernel tile. */
#define OCT__DK_V 4
/* Row pieces (an image's consecutive output rows) one GEMM chunk may gather. */
#define OCT__CPU_MAX_PIECES 64

/* One thread's scratch. */
typedef struct {
    float *f;
    size_t count;  /* floats */
} cpu__scratch_t;

/* Weights of a convolution repacked for the direct kernel, kept while their buffer is
 * neither written nor freed (the backend sees both: cpu_write, cpu_free, op outputs). */
#define OCT__CPU_PACKED_SLOTS 16
typedef struct {
    const float *src;  /* the weight buffer's host pointer, NULL when the slot is free */
    size_t count;      /* floats of src (co * kdim) */
    int co;
    float *packed;     /* (co blocks, kdim, OCT__DK_MR) */
} cpu__packed_t;

/* The backend's state, one per context (ctx->state). */
typedef struct {
    oct__pool *pool;           /* the context's threads (the caller is task 0) */
    int threads;               /* oct__pool_size(pool) */
    cpu__scratch_t *scratch;   /* [threads]: im2col columns and GEMM output, or padded input (floats) */
    int *index;                /* resize source-index tables (ints) */
    size_t index_count;
    int direct;                /* the direct convolution kernel can run here (AVX-512F) */
    cpu__packed_t packed[OCT__CPU_PACKED_SLOTS];
    int packed_next;           /* slot replaced next when all are taken */
} oct__cpu_state;

/* ------------------------------------------------------------------------------------ */
/* Memory                                                                                 */

/* 64-byte aligned storage for `count` floats, or NULL. */
static float *cpu__alloc_floats(size_t count)
{
    if (count == 0 || count > SIZE_MAX / sizeof(float)) return NULL;
    void *p = NULL;
    if (oct__fault_hit() || posix_memalign(&p, OCT__CPU_ALIGN, count * sizeof(float)) != 0) return NULL;
    return p;
}

/* Grow thread t's scratch to at least `count` floats (contents are not kept). */
static oct_status cpu__scratch(oct__cpu_state *st, int t, size_t count, const char *what)
{
    cpu__scratch_t *s = &st->scratch[t];
    if (s->count >= count) return OCT_OK;
    free(s->f);
    s->count = 0;
    s->f = cpu__alloc_floats(count);
    if (!s->f)
        return oct__fail(OCT_ERR_HOST_MEMORY, "cpu %s: out of host memory for %zu floats of scratch", what, count);
    s->count = count;
    return OCT_OK;
}

/* Grow the index scratch to at least `count` ints. */
static oct_status cpu__index(oct__cpu_state *st, size_t count)
{
    if (st->index_count >= count) return OCT_OK;
    free(st->index);
    st->index_count = 0;
    st->index = count <= SIZE_MAX / sizeof(int) ? oct__malloc(count * sizeof(int)) : NULL;
    if (!st->index)
        return oct__fail(OCT_ERR_HOST_MEMORY, "cpu resize: out of host memory for %zu index entries", count);
    st->index_count = count;
    return OCT_OK;
}

/* Forget packed weights made from `host` (it is being written or freed). */
static void cpu__unpack(oct__cpu_state *st, const float *host)
{
    if (!st || !host) return;
    for (int i = 0; i < OCT__CPU_PACKED_SLOTS; i++)
        if (st->packed[i].src == host) {
            free(st->packed[i].packed);
            memset(&st->packed[i], 0, sizeof st->packed[i]);
        }
}

/* First float of image b of a view: a (c, h, w) block, contiguous. */
static float *cpu__image(const oct__view *v, int b)
{
    return v->buf->host + v->off + (size_t)b * v->nstride;
}

/* Work is shared as chunks: the items of an op (output rows, planes) cut into a fixed
 * number of even ranges that depends only on the op and the thread count, taken by
 * whichever thread is free next, so a thread the OS delays holds up no one. What a
 * chunk computes does not depend on who takes it, so results are the same run to run. */
typedef struct {
    size_t items;        /* rows or planes */
    size_t chunks;       /* ranges they are cut into */
    atomic_size_t next;  /* next chunk to take */
} cpu__chunks;

/* Chunks per thread: enough to even out a thread that runs slower. */
#ifndef OCT__CPU_CHUNKS_PER_THREAD
#define OCT__CPU_CHUNKS_PER_THREAD 8
#endif

/* Cut `items` into chunks of at least `min_items` (when there are that many), about
 * OCT__CPU_CHUNKS_PER_THREAD per thread; one chunk when the work is below min_work. */
static void cpu__chunk(const oct__cpu_state *st, cpu__chunks *c, size_t items, size_t min_items, size_t work,
                       size_t min_work)
{
    size_t want = work < min_work ? 1 : (size_t)st->threads * OCT__CPU_CHUNKS_PER_THREAD;
    if (min_items < 1) min_items = 1;
    if (want > items / min_items) want = items / min_items;
    c->items = items;
    c->chunks = want ? want : 1;
    atomic_init(&c->next, 0);
}

/* Threads worth waking for a job of c->chunks chunks. */
static int cpu__threads(const oct__cpu_state *st, const cpu__chunks *c)
{
    return c->chunks < (size_t)st->threads ? (int)c->chunks : st->threads;
}

/* Take the next chunk: 1 and its item range [*lo, *hi), or 0 when none is left. */
static int cpu__take(cpu__chunks *c, size_t *lo, size_t *hi)
{
    size_t i = atomic_fetch_add_explicit(&c->next, 1, memory_order_relaxed);
    if (i >= c->chunks) return 0;
    size_t q = c->items / c->chunks, r = c->items % c->chunks;
    *lo = q * i + (i < r ? i : r);
    *hi = *lo + q + (i < r ? 1 : 0);
    return 1;
}

/* ------------------------------------------------------------------------------------ */
/* Direct convolution kernel (stride 1, AVX-512F)                                         */

/* A tile is OCT__DK_MR output channels x up to OCT__DK_V row segments of 16 output
 * pixels, accumulated in registers over every (c, ky, kx) straight from a zero-padded
 * copy of the input, then stored with bias, accumulate and ReLU: no im2col, no packing
 * of the pixels, no second pass over the output. Each output is one float sum in the
 * fixed (c, ky, kx) order, whatever the tiling or the thread split. */
typedef struct {
    const float *w;      /* packed weights of the channel block: (kdim, OCT__DK_MR) */
    const float *bias;   /* of the block's first channel, or NULL */
    int ci, k, wp;       /* input channels, kernel size, padded row length */
    size_t plane;        /* channel stride of the padded input */
    size_t ys;           /* channel stride of the output (ho * wo) */
    int rows;            /* channels of the block that exist (1..OCT__DK_MR) */
    int accumulate, relu;
} cpu__dk_args;

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define OCT__DK_TARGET __attribute__((target("avx512f")))
#define OCT__DK_INLINE __attribute__((always_inline)) inline

/* nv segments (a constant after inlining): in[v] the padded input at the segment's
 * first output pixel, out[v] the output there, mask[v] its valid pixels. */
static OCT__DK_TARGET OCT__DK_INLINE void cpu__dk_tile(const cpu__dk_args *a, int nv, int k,
                                                        const float *const *in, float *const *out,
                                                        const __mmask16 *mask)
{
    __m512 acc[OCT__DK_MR][OCT__DK_V];
    for (int m = 0; m < OCT__DK_MR; m++)
        for (int v = 0; v < nv; v++) acc[m][v] = _mm512_setzero_ps();
    const float *w = a->w;
    size_t wp = (size_t)a->wp;
    for (int c = 0; c < a->ci; c++) {
        size_t cofs = (size_t)c * a->plane;
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                size_t o = cofs + (size_t)ky * wp + (size_t)kx;
                __m512 x[OCT__DK_V];
                for (int v = 0; v < nv; v++) x[v] = _mm512_loadu_ps(in[v] + o);
                for (int m = 0; m < OCT__DK_MR; m++) {
                    __m512 wv = _mm512_set1_ps(w[m]);
                    for (int v = 0; v < nv; v++) acc[m][v] = _mm512_fmadd_ps(wv, x[v], acc[m][v]);
                }
                w += OCT__DK_MR;
            }
    }
    __m512 zero = _mm512_setzero_ps();
    for (int m = 0; m < OCT__DK_MR && m < a->rows; m++) {
        __m512 b = _mm512_set1_ps(a->bias ? a->bias[m] : 0.0f);
        for (int v = 0; v < nv; v++) {
            float *o = out[v] + (size_t)m * a->ys;
            __m512 r = _mm512_add_ps(acc[m][v], b);
            if (a->accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask[v], o));
            if (a->relu) r = _mm512_max_ps(r, zero);
            _mm512_mask_storeu_ps(o, mask[v], r);
        }
    }
}

/* The instances: 1 .. OCT__DK_V segments, for 3x3 kernels and for any other size. */
_Static_assert(OCT__DK_V == 4, "one instance per segment count 1..4 below");
typedef void (*cpu__dk_fn)(const cpu__dk_args *a, const float *const *in, float *const *out, const __mmask16 *mask);
#define OCT__DK_INSTANCE(name, nv, k)                                                                        \
    static OCT__DK_TARGET void name(const cpu__dk_args *a, const float *const *in, float *const *out,        \
                                    const __mmask16 *mask)                                                   \
    {                                                                                                        \
        cpu__dk_tile(a, nv, k, in, out, mask);                                                               \
    }
OCT__DK_INSTANCE(cpu__dk_3x3_1, 1, 3)
OCT__DK_INSTANCE(cpu__dk_3x3_2, 2, 3)
OCT__DK_INSTANCE(cpu__dk_3x3_3, 3, 3)
OCT__DK_INSTANCE(cpu__dk_3x3_4, 4, 3)
OCT__DK_INSTANCE(cpu__dk_kxk_1, 1, a->k)
OCT__DK_INSTANCE(cpu__dk_kxk_2, 2, a->k)
OCT__DK_INSTANCE(cpu__dk_kxk_3, 3, a->k)
OCT__DK_INSTANCE(cpu__dk_kxk_4, 4, a->k)
#undef OCT__DK_INSTANCE
static const cpu__dk_fn cpu__dk_3x3[OCT__DK_V + 1] = {NULL, cpu__dk_3x3_1, cpu__dk_3x3_2, cpu__dk_3x3_3,
                                                      cpu__dk_3x3_4};
static const cpu__dk_fn cpu__dk_kxk[OCT__DK_V + 1] = {NULL, cpu__dk_kxk_1, cpu__dk_kxk_2, cpu__dk_kxk_3,
                                                      cpu__dk_kxk_4};

/* Lanes [0, n) of a 16-lane mask (n >= 16: all). */
static inline __mmask16 cpu__lanes(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u); }

/* The padded band a direct-kernel run reads: rows [oy0, oy0 + hb) of the zero-padded
 * input (padded row r holds input row r - pad), channel c at buf + c * plane, rows wp =
 * w + 2 pad apart, then 16 zeros (the kernel reads up to 15 floats past a row's end).
 *   x (ci, h, w) -> buf (ci, hb, wp). Masked moves throughout: the compiler leaves them
 * inline, where a plain copy loop would become a memcpy call per (short) row. */
static OCT__DK_TARGET void cpu__dk_pad_band(float *restrict buf, const float *restrict x, int ci, int h, int w,
                                            int pad, int oy0, int hb, size_t plane)
{
    const __m512 zero = _mm512_setzero_ps();
    size_t wp = (size_t)w + 2 * (size_t)pad, uw = (size_t)w, up = (size_t)pad;
    __mmask16 wtail = cpu__lanes(uw - (uw - 1) / 16 * 16), ptail = cpu__lanes(up - (up ? (up - 1) / 16 * 16 : 0));
    for (int c = 0; c < ci; c++)
        for (int i = 0; i < hb; i++) {
            float *restrict dst = buf + (size_t)c * plane + (size_t)i * wp;
            int iy = oy0 + i - pad;
            if (iy < 0 || iy >= h) {
                for (size_t j = 0; j < wp; j += 16) _mm512_mask_storeu_ps(dst + j, cpu__lanes(wp - j), zero);
                continue;
            }
            const float *restrict src = x + ((size_t)c * h + (size_t)iy) * uw;
            for (size_t j = 0; j < up; j += 16) {
                __mmask16 m = j + 16 < up ? (__mmask16)0xFFFF : ptail;
                _mm512_mask_storeu_ps(dst + j, m, zero);
                _mm512_mask_storeu_ps(dst + up + uw + j, m, zero);
            }
            for (size_t j = 0; j < uw; j += 16) {
                __mmask16 m = j + 16 < uw ? (__mmask16)0xFFFF : wtail;
                _mm512_mask_storeu_ps(dst + up + j, m, _mm512_maskz_loadu_ps(m, src + j));
            }
        }
    _mm512_storeu_ps(buf + (size_t)ci * plane, zero);
}

/* dst[i] (=|+=) src[i / 2], then ReLU, for i < wo: a row of an exact 2x nearest upsample. */
static OCT__DK_TARGET void cpu__x2_row(float *restrict dst, const float *restrict src, size_t wo, int accumulate,
                                       int relu)
{
    const __m512i dup = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    __m512 zero = _mm512_setzero_ps();
    for (size_t i = 0; i < wo; i += 16) {
        size_t left = wo - i;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
        size_t half = (left + 1) / 2; /* source values this step reads */
        __mmask16 ms = half >= 8 ? (__mmask16)0xFF : (__mmask16)((1u << half) - 1u);
        __m512 v = _mm512_permutexvar_ps(dup, _mm512_maskz_loadu_ps(ms, src + i / 2));
        if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst + i), v);
        if (relu) v = _mm512_max_ps(v, zero);
        _mm512_mask_storeu_ps(dst + i, m, v);
    }
}

/* dst[i] = ((r0[2i] + r0[2i+1]) + (r1[2i] + r1[2i+1])) * 0.25 for i < wo. */
static OCT__DK_TARGET void cpu__pool_row(float *restrict dst, const float *restrict r0, const float *restrict r1,
                                         size_t wo)
{
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512 q = _mm512_set1_ps(0.25f);
    for (size_t i = 0; i < wo; i += 16) {
        size_t left = wo - i, in = left >= 16 ? 32 : 2 * left;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
        __mmask16 ma = in >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << in) - 1u);
        __mmask16 mb = in >= 32 ? (__mmask16)0xFFFF : in > 16 ? (__mmask16)((1u << (in - 16)) - 1u) : 0;
        const float *a = r0 + 2 * i, *b = r1 + 2 * i;
        __m512 a0 = _mm512_maskz_loadu_ps(ma, a), a1 = _mm512_maskz_loadu_ps(mb, a + 16);
        __m512 b0 = _mm512_maskz_loadu_ps(ma, b), b1 = _mm512_maskz_loadu_ps(mb, b + 16);
        __m512 s0 = _mm512_add_ps(_mm512_permutex2var_ps(a0, ev, a1), _mm512_permutex2var_ps(a0, od, a1));
        __m512 s1 = _mm512_add_ps(_mm512_permutex2var_ps(b0, ev, b1), _mm512_permutex2var_ps(b0, od, b1));
        _mm512_mask_storeu_ps(dst + i, m, _mm512_mul_ps(_mm512_add_ps(s0, s1), q));
    }
}

static int cpu__have_direct(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
}

/* Output rows [oy0, oy1) of one image for channel blocks [cb0, cb1): segments of 16 pixels
 * along each row, OCT__DK_V at a time (the rest in one smaller tile). xpad points at the
 * padded copy of the input rows those outputs read (row oy0 of the padded input first);
 * y at the image's output (co, ho, wo). */
static void cpu__dk_rows(const cpu__dk_args *base, const float *wpk, size_t kdim, int co, int cb0, int cb1,
                         const float *bias, const float *xpad, float *y, int wo, int oy0, int oy1)
{
    int spr = (wo + 15) / 16, segs = (oy1 - oy0) * spr;
    const cpu__dk_fn *kernels = base->k == 3 ? cpu__dk_3x3 : cpu__dk_kxk;
    __mmask16 tail = (__mmask16)((1u << (wo - (spr - 1) * 16)) - 1u);
    for (int c0 = cb0 * OCT__DK_MR; c0 < co && c0 < cb1 * OCT__DK_MR; c0 += OCT__DK_MR) {
        cpu__dk_args a = *base;
        a.w = wpk + (size_t)(c0 / OCT__DK_MR) * kdim * OCT__DK_MR;
        a.bias = bias ? bias + c0 : NULL;
        a.rows = co - c0 < OCT__DK_MR ? co - c0 : OCT__DK_MR;
        float *yc = y + (size_t)c0 * a.ys;
        for (int s = 0; s < segs;) {
            int nv = segs - s >= OCT__DK_V ? OCT__DK_V : segs - s;
            const float *in[OCT__DK_V];
            float *out[OCT__DK_V];
            __mmask16 mask[OCT__DK_V];
            for (int v = 0; v < nv; v++, s++) {
                int r = s / spr, x0 = (s % spr) * 16;
                in[v] = xpad + (size_t)r * base->wp + x0;
                out[v] = yc + (size_t)(oy0 + r) * wo + x0;
                mask[v] = x0 + 16 <= wo ? (__mmask16)0xFFFF : tail;
            }
            kernels[nv](&a, in, out, mask);
        }
    }
}
#else
static int cpu__have_direct(void) { return 0; }
static void cpu__dk_pad_band(float *buf, const float *x, int ci, int h, int w, int pad, int oy0, int hb, size_t plane)
{
    (void)buf, (void)x, (void)ci, (void)h, (void)w, (void)pad, (void)oy0, (void)hb, (void)plane;
}
static void cpu__x2_row(float *dst, const float *src, size_t wo, int accumulate, int relu)
{
    (void)dst, (void)src, (void)wo, (void)accumulate, (void)relu;
}
static void cpu__pool_row(float *dst, const float *r0, const float *r1, size_t wo)
{
    (void)dst, (void)r0, (void)r1, (void)wo;
}
static void cpu__dk_rows(const cpu__dk_args *base, const float *wpk, size_t kdim, int co, int cb0, int cb1,
                         const float *bias, const float *xpad, float *y, int wo, int oy0, int oy1)
{
    (void)base, (void)wpk, (void)kdim, (void)co, (void)cb0, (void)cb1, (void)bias, (void)xpad, (void)y, (void)wo;
    (void)oy0, (void)oy1;
}
#endif

/* ------------------------------------------------------------------------------------ */
/* Context and buffers                                                                    */

static void cpu_release(oct_context *ctx);

static oct_status cpu_init(oct_context *ctx)
{
    /* OCTCL_THREADS sets the context's threads; unset or empty: one per online core. */
    long threads = 0;
    const char *env = getenv("OCTCL_THREADS");
    if (env && *env) {
        char *end = NULL;
        errno = 0;
        threads = env[0] >= '0' && env[0] <= '9' ? strtol(env, &end, 10) : 0; /* digits only: no " 2", "+2" */
        if (errno != 0 || !end || *end != '\0' || threads < 1 || threads > 4096)
            return oct__fail(OCT_ERR_BAD_SIZE, "cpu: OCTCL_THREADS = '%s' (must be an integer 1..4096)", env);
    } else {
        threads = sysconf(_SC_NPROCESSORS_ONLN);
        if (threads < 1) threads = 1;
        if (threads > 256) threads = 256;
    }

    oct__cpu_state *st = oct__calloc(1, sizeof *st);
    if (!st) return oct__fail(OCT_ERR_HOST_MEMORY, "cpu: out of host memory for the backend state");
    ctx->state = st;
    oct_status s = oct__pool_create((int)threads, &st->pool);
    if (s != OCT_OK) goto fail;
    st->threads = oct__pool_size(st->pool);
    st->direct = cpu__have_direct();
#ifdef OCT__CPU_NO_DIRECT /* the im2col + GEMM path and plain loops only (for testing) */
    st->direct = 0;
#endif
    st->scratch = oct__calloc((size_t)st->threads, sizeof *st->scratch);
    if (!st->scratch) {
        s = oct__fail(OCT_ERR_HOST_MEMORY, "cpu: out of host memory for %d scratch slots", st->threads);
        goto fail;
    }
    return OCT_OK;
fail:
    cpu_release(ctx);
    return s;
}

static void cpu_release(oct_context *ctx)
{
    oct__cpu_state *st = ctx->state;
    if (!st) return;
    oct__pool_free(st->pool);
    if (st->scratch)
        for (int t = 0; t < st->threads; t++) free(st->scratch[t].f);
    free(st->scratch);
    for (int i = 0; i < OCT__CPU_PACKED_SLOTS; i++) free(st->packed[i].packed);
    free(st->index);
    free(st);
    ctx->state = NULL;
}

static oct_status cpu_alloc(oct_context *ctx, oct__buf *b, size_t count)
{
    (void)ctx;
    b->host = cpu__alloc_floats(count);
    if (!b->host) return oct__fail(OCT_ERR_HOST_MEMORY, "cpu: out of host memory allocating %zu floats", count);
    b->count = count;
    return OCT_OK;
}

static void cpu_free(oct_context *ctx, oct__buf *b)
{
    cpu__unpack(ctx->state, b->host);
    free(b->host);
    b->host = NULL;
}

static oct_status cpu_write(oct_context *ctx, oct__buf *b, const float *src)
{
    cpu__unpack(ctx->state, b->host);
    if (b->count) memcpy(b->host, src, b->count * sizeof(float));
    return OCT_OK;
}

static oct_status cpu_read(oct_context *ctx, const oct__buf *b, float *dst)
{
    (void)ctx;
    if (b->count) memcpy(dst, b->host, b->count * sizeof(float));
    return OCT_OK;
}

static oct_status cpu_finish(oct_context *ctx)
{
    (void)ctx;
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Convolution                                                                            */

/* Output columns ox in [*lo, *hi) whose input column ox * s - pad + kx lies in [0, w). */
static void cpu__valid_cols(int w, int wo, int kx, int s, int pad, int *lo, int *hi)
{
    int first = pad - kx;                  /* ox * s >= first */
    int l = first <= 0 ? 0 : (first + s - 1) / s;
    int last = w - 1 + pad - kx;           /* ox * s <= last */
    int h = last < 0 ? 0 : last / s + 1;
    if (l > wo) l = wo;
    if (h > wo) h = wo;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* im2col of output rows [oy0, oy1) of one image.
 *   x (ci, h, w) -> col (ci * k * k, ldc), row (c, ky, kx), column (oy - oy0) * wo + ox. */
static void cpu__im2col(const float *restrict x, int ci, int h, int w, int k, int s, int pad, int wo, int oy0,
                        int oy1, float *restrict col, size_t ldc)
{
    for (int c = 0; c < ci; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *restrict row = col + ((size_t)(c * k + ky) * k + kx) * ldc;
                int lo, hi;
                cpu__valid_cols(w, wo, kx, s, pad, &lo, &hi);
                for (int oy = oy0; oy < oy1; oy++) {
                    float *restrict dst = row + (size_t)(oy - oy0) * wo;
                    int iy = oy * s - pad + ky;
                    if (iy < 0 || iy >= h) {
                        memset(dst, 0, (size_t)wo * sizeof(float));
                        continue;
                    }
                    const float *restrict src = x + ((size_t)c * h + iy) * w + kx - pad;
                    if (lo > 0) memset(dst, 0, (size_t)lo * sizeof(float));
                    if (s == 1) {
                        if (hi > lo) memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
                    } else {
                        for (int ox = lo; ox < hi; ox++) dst[ox] = src[(size_t)ox * s];
                    }
                    if (hi < wo) memset(dst + hi, 0, (size_t)(wo - hi) * sizeof(float));
                }
            }
}

/* y (co rows of len, row stride ys) = relu(y + bias), in place; either part may be off. */
static void cpu__bias_relu(float *restrict y, int co, size_t len, size_t ys, const float *restrict bias, int relu)
{
    for (int c = 0; c < co; c++) {
        float *restrict row = y + (size_t)c * ys;
        float bv = bias ? bias[c] : 0.0f;
        if (relu)
            for (size_t i = 0; i < len; i++) {
                float v = row[i] + bv;
                row[i] = v < 0.0f ? 0.0f : v;
            }
        else
            for (size_t i = 0; i < len; i++) row[i] += bv;
    }
}

/* y (co rows of len, row stride ys) (=|+=) src (co, ld) + bias, then ReLU: the epilogue
 * of a GEMM into scratch. */
static void cpu__store(float *restrict y, size_t ys, const float *restrict src, size_t ld, int co, size_t len,
                       const float *restrict bias, int accumulate, int relu)
{
    for (int c = 0; c < co; c++) {
        float *restrict out = y + (size_t)c * ys;
        const float *restrict in = src + (size_t)c * ld;
        float bv = bias ? bias[c] : 0.0f;
        if (accumulate && relu)
            for (size_t i = 0; i < len; i++) {
                float v = in[i] + bv + out[i];
                out[i] = v < 0.0f ? 0.0f : v;
            }
        else if (accumulate)
            for (size_t i = 0; i < len; i++) out[i] += in[i] + bv;
        else if (relu)
            for (size_t i = 0; i < len; i++) {
                float v = in[i] + bv;
                out[i] = v < 0.0f ? 0.0f : v;
            }
        else
            for (size_t i = 0; i < len; i++) out[i] = in[i] + bv;
    }
}

/* Floats rounded up to a whole cache line, so a second scratch region stays aligned. */
static size_t cpu__round_line(size_t n)
{
    size_t q = OCT__CPU_ALIGN / sizeof(float);
    return (n + q - 1) / q * q;
}

/* The GEMM path of one convolution, shared by the pool: the batch's output rows, image
 * after image (n * ho of them), cut into chunks; a thread does a chunk's rows in pieces
 * of at most `ld` columns: im2col of each row piece side by side, one GEMM into its
 * scratch, then the epilogue stores each piece (a lone piece: the GEMM writes y, then
 * bias and ReLU in place). Which rows a GEMM holds depends only on the chunking, so the
 * same op gives the same bits on every run with the same number of threads. */
typedef struct {
    const oct__conv_op *op;
    oct__cpu_state *st;
    size_t kdim;        /* GEMM inner dimension: ci * k * k */
    size_t ld;          /* columns per chunk (scratch leading dimension) */
    size_t col_floats;  /* im2col region of the scratch; the GEMM output follows */
    cpu__chunks work;   /* over the n * ho output rows */
} cpu__conv_job;

typedef struct {
    int b, oy0, oy1;
    size_t c0;          /* first column in the chunk */
} cpu__piece;

static void cpu__conv_task(void *arg, int t)
{
    cpu__conv_job *j = arg;
    const oct__conv_op *op = j->op;
    const oct__view *x = &op->x, *y = &op->y;
    int ho = y->h, wo = y->w, co = y->c, k = op->k;
    size_t hw = (size_t)ho * wo, ld = j->ld, r, r1;
    const float *wt = op->weight->host, *bias = op->bias ? op->bias->host : NULL;
    float *col = j->st->scratch[t].f, *out = col + j->col_floats;
    cpu__piece pc[OCT__CPU_MAX_PIECES];
    while (cpu__take(&j->work, &r, &r1))
        while (r < r1) {
            /* Gather row pieces from r on, side by side, up to ld columns. */
            size_t cols = 0;
            int np = 0;
            while (r < r1 && np < OCT__CPU_MAX_PIECES) {
                int b = (int)(r / (size_t)ho), oy = (int)(r % (size_t)ho);
                size_t fit = (ld - cols) / (size_t)wo, left = r1 - r, rows = (size_t)(ho - oy);
                if (rows > left) rows = left;
                if (rows > fit) rows = fit;
                if (rows == 0) break;
                pc[np] = (cpu__piece){b, oy, oy + (int)rows, cols};
                cpu__im2col(cpu__image(x, b), x->c, x->h, x->w, k, op->stride, op->pad, wo, oy, oy + (int)rows,
                            col + cols, ld);
                cols += rows * (size_t)wo;
                r += rows;
                np++;
            }
            if (np == 1) { /* one piece: the GEMM writes (or adds to) y itself */
                float *yp = cpu__image(y, pc[0].b) + (size_t)pc[0].oy0 * wo;
                oct__sgemm(0, 0, co, (int)cols, (int)j->kdim, wt, (int)j->kdim, col, (int)ld, yp, (int)hw,
                           op->accumulate);
                if (bias || op->relu) cpu__bias_relu(yp, co, cols, hw, bias, op->relu);
                continue;
            }
            oct__sgemm(0, 0, co, (int)cols, (int)j->kdim, wt, (int)j->kdim, col, (int)ld, out, (int)ld, 0);
            for (int i = 0; i < np; i++)
                cpu__store(cpu__image(y, pc[i].b) + (size_t)pc[i].oy0 * wo, hw, out + pc[i].c0, ld, co,
                           (size_t)(pc[i].oy1 - pc[i].oy0) * wo, bias, op->accumulate, op->relu);
        }
}

/* The direct path of one convolution (stride 1), shared by the pool like the GEMM path.
 * The work items are (image, band of output rows, group of output-channel blocks), in
 * that order; they are cut into chunks, and a thread does each item of a chunk by
 * copying the input rows the band reads into its scratch with the zero padding around
 * them (unless it holds that band already) and running the kernel over the band for the
 * group's channels. Large batches use whole images and one group; small ones cut the
 * channels into groups so that every thread has work and each weight block still
 * serves a whole band. Every output is the same sum in the same order however the work
 * is cut, so the bits do not depend on the number of threads either. */
typedef struct {
    const oct__conv_op *op;
    oct__cpu_state *st;
    const float *wpk;   /* packed weights */
    size_t kdim;
    int rows;           /* output rows per band */
    int bands;          /* bands per image: ceil(ho / rows) */
    int groups;         /* channel-block groups */
    int blocks;         /* channel blocks: ceil(co / OCT__DK_MR) */
    int wp;             /* padded row length: w + 2 pad */
    cpu__chunks work;   /* over the n * bands * groups items */
} cpu__direct_job;

static void cpu__direct_task(void *arg, int t)
{
    cpu__direct_job *j = arg;
    const oct__conv_op *op = j->op;
    const oct__view *x = &op->x, *y = &op->y;
    int ho = y->h, wo = y->w, k = op->k;
    float *buf = j->st->scratch[t].f;
    size_t i, i1, held = SIZE_MAX; /* the (image, band) in buf */
    cpu__dk_args base = {NULL, NULL, x->c, k, j->wp, 0, (size_t)ho * wo, 0, op->accumulate, op->relu};
    while (cpu__take(&j->work, &i, &i1))
        for (; i < i1; i++) {
            size_t band = i / (size_t)j->groups;
            int g = (int)(i % (size_t)j->groups), b = (int)(band / (size_t)j->bands);
            int oy0 = (int)(band % (size_t)j->bands) * j->rows, oy1 = oy0 + j->rows < ho ? oy0 + j->rows : ho;
            /* Padded rows [oy0, oy1 + k - 1): input row iy = row - pad, zeros outside. */
            base.plane = (size_t)(oy1 - oy0 + k - 1) * j->wp;
            if (band != held) {
                cpu__dk_pad_band(buf, cpu__image(x, b), x->c, x->h, x->w, op->pad, oy0, oy1 - oy0 + k - 1,
                                 base.plane);
                held = band;
            }
            int cb0 = (int)((size_t)j->blocks * g / j->groups), cb1 = (int)((size_t)j->blocks * (g + 1) / j->groups);
            cpu__dk_rows(&base, j->wpk, j->kdim, y->c, cb0, cb1, op->bias ? op->bias->host : NULL, buf,
                         cpu__image(y, b), wo, oy0, oy1);
        }
}

/* The weights of op packed for the direct kernel, from the cache or packed now:
 *   weight (co, kdim) -> (co / MR rounded up, kdim, MR), channels past co zero. */
static oct_status cpu__packed_weights(oct__cpu_state *st, const oct__buf *wb, int co, size_t kdim,
                                      const float **out)
{
    for (int i = 0; i < OCT__CPU_PACKED_SLOTS; i++) {
        cpu__packed_t *p = &st->packed[i];
        if (p->src == wb->host && p->count == wb->count && p->co == co) {
            *out = p->packed;
            return OCT_OK;
        }
    }
    size_t blocks = ((size_t)co + OCT__DK_MR - 1) / OCT__DK_MR;
    if (kdim > SIZE_MAX / OCT__DK_MR / sizeof(float) / blocks)
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu conv2d: %d x %zu weights are too many to pack", co, kdim);
    float *pk = cpu__alloc_floats(blocks * kdim * OCT__DK_MR);
    if (!pk)
        return oct__fail(OCT_ERR_HOST_MEMORY, "cpu conv2d: out of host memory packing %d x %zu weights", co, kdim);
    const float *src = wb->host;
    for (size_t bl = 0; bl < blocks; bl++)
        for (size_t i = 0; i < kdim; i++)
            for (int m = 0; m < OCT__DK_MR; m++) {
                size_t o = bl * OCT__DK_MR + (size_t)m;
                pk[(bl * kdim + i) * OCT__DK_MR + (size_t)m] = o < (size_t)co ? src[o * kdim + i] : 0.0f;
            }
    /* A free slot, else the next in turn. */
    int slot = -1;
    for (int i = 0; i < OCT__CPU_PACKED_SLOTS && slot < 0; i++)
        if (!st->packed[i].src) slot = i;
    if (slot < 0) {
        slot = st->packed_next;
        st->packed_next = (st->packed_next + 1) % OCT__CPU_PACKED_SLOTS;
        free(st->packed[slot].packed);
    }
    st->packed[slot] = (cpu__packed_t){wb->host, wb->count, co, pk};
    *out = pk;
    return OCT_OK;
}

static oct_status cpu_conv2d(oct_context *ctx, const oct__conv_op *op)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x, *y = &op->y;
    int k = op->k, s = op->stride, pad = op->pad;
    int n = y->n, ci = x->c, co = y->c, ho = y->h, wo = y->w;
    if (k < 1 || s < 1 || pad < 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu conv2d: kernel %d, stride %d, padding %d", k, s, pad);
    if (x->n != n || ho != oct__conv_out(x->h, k, s, pad) || wo != oct__conv_out(x->w, k, s, pad))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH,
                         "cpu conv2d: output (%d, %d, %d, %d) does not fit input (%d, %d, %d, %d), k %d s %d p %d",
                         n, co, ho, wo, x->n, ci, x->h, x->w, k, s, pad);
    size_t kdim = (size_t)ci * k * k; /* GEMM inner dimension */
    if (op->weight->count != (size_t)co * kdim)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "cpu conv2d: weight has %zu values, expected (%d, %d, %d, %d)",
                         op->weight->count, co, ci, k, k);
    if (op->bias && op->bias->count != (size_t)co)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "cpu conv2d: bias has %zu values, expected %d", op->bias->count, co);
    if (n <= 0 || co <= 0 || ho <= 0 || wo <= 0) return OCT_OK;
    size_t hw = (size_t)ho * wo;
    const float *bias = op->bias ? op->bias->host : NULL;
    cpu__unpack(st, y->buf->host); /* the output is being written */
    if (ci <= 0) { /* an empty sum: y (=|+=) bias, then ReLU */
        for (int b = 0; b < n; b++) {
            float *yb = cpu__image(y, b);
            if (!op->accumulate) memset(yb, 0, (size_t)co * hw * sizeof(float));
            cpu__bias_relu(yb, co, hw, hw, bias, op->relu);
        }
        return OCT_OK;
    }
    size_t macs = (size_t)n * hw * kdim * (size_t)co;

    /* Stride 1: the direct kernel, in bands of at most OCT__CPU_BAND_FLOATS of padded
     * input (at least one output row). */
    if (st->direct && s == 1 && (size_t)x->w + 2 * (size_t)pad < INT_MAX / 2) {
        int wp = x->w + 2 * pad;
        size_t per_row = (size_t)ci * wp, rows = OCT__CPU_BAND_FLOATS / per_row;
        rows = rows > (size_t)k ? rows - (size_t)(k - 1) : 1;
        if (rows > (size_t)ho) rows = (size_t)ho;
        int blocks = (co + OCT__DK_MR - 1) / OCT__DK_MR, bands = (int)(((size_t)ho + rows - 1) / rows);
        /* Fewer images than two per thread: cut the channels in one group per thread. */
        int groups = n < 2 * st->threads && macs >= OCT__CPU_PAR_MACS ? st->threads : 1;
        if (groups > blocks) groups = blocks;
        cpu__direct_job job = {op, st, NULL, kdim, (int)rows, bands, groups, blocks, wp, {0}};
        OCT__TRY(cpu__packed_weights(st, op->weight, co, kdim, &job.wpk));
        cpu__chunk(st, &job.work, (size_t)n * bands * groups, 1, macs, OCT__CPU_PAR_MACS);
        int threads = cpu__threads(st, &job.work);
        size_t need = per_row * (rows + (size_t)k - 1) + 16;
        for (int t = 0; t < threads; t++) OCT__TRY(cpu__scratch(st, t, need, "conv2d"));
        oct__pool_run(st->pool, threads, cpu__direct_task, &job);
        return OCT_OK;
    }

    if (kdim > INT_MAX || (size_t)co > INT_MAX / kdim)
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu conv2d: GEMM of %d x %zu exceeds the BLAS int range", co, kdim);

    /* Columns per chunk: OCT__CPU_MIN_COLS, fewer when the scratch cap says so, but at
     * least one output row; a multiple of 16 so every scratch row stays aligned. */
    size_t ld = OCT__CPU_MIN_COLS, cap = OCT__CPU_SCRATCH_FLOATS / (kdim + (size_t)co);
    if (ld > cap) ld = cap;
    ld = ld / 16 * 16;
    if (ld < (size_t)wo) ld = cpu__round_line((size_t)wo);
    if (ld > INT_MAX || (size_t)co > SIZE_MAX / ld / 2 || kdim > SIZE_MAX / ld / 2)
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu conv2d: output rows of %d pixels exceed the BLAS int range", wo);
    cpu__conv_job job = {op, st, kdim, ld, cpu__round_line(kdim * ld), {0}};
    /* Chunks that fill a GEMM's ld columns where there are rows enough for every thread. */
    size_t rows = (size_t)n * ho, fill = ld / (size_t)wo;
    size_t even = (rows + (size_t)st->threads - 1) / (size_t)st->threads;
    cpu__chunk(st, &job.work, rows, fill < even ? fill : even, macs, OCT__CPU_PAR_MACS);
    int threads = cpu__threads(st, &job.work);
    for (int t = 0; t < threads; t++) OCT__TRY(cpu__scratch(st, t, job.col_floats + (size_t)co * ld, "conv2d"));
    oct__pool_run(st->pool, threads, cpu__conv_task, &job);
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Pooling, resize, GAP, linear                                                           */

/* An op over (n * c) planes shared by the pool: each task takes an even share. */
typedef struct {
    const void *op;
    const int *sy, *sx;  /* resize: source row and column of each output row and column */
    int vec;             /* AVX-512 rows: pooling; resize: an exact 2x width */
    cpu__chunks work;    /* over the n * c planes */
} cpu__plane_job;

static void cpu__avgpool_task(void *arg, int t)
{
    (void)t;
    cpu__plane_job *j = arg;
    const oct__pool_op *op = j->op;
    const oct__view *x = &op->x, *y = &op->y;
    size_t wi = (size_t)x->w, wo = (size_t)y->w, p, p1;
    while (cpu__take(&j->work, &p, &p1))
        for (; p < p1; p++) {
            int b = (int)(p / (size_t)y->c), c = (int)(p % (size_t)y->c);
            const float *xp = cpu__image(x, b) + (size_t)c * x->h * wi;
            float *yp = cpu__image(y, b) + (size_t)c * y->h * wo;
            for (int oy = 0; oy < y->h; oy++) {
                const float *restrict r0 = xp + (size_t)(2 * oy) * wi;
                const float *restrict r1 = r0 + wi;
                float *restrict dst = yp + (size_t)oy * wo;
                if (j->vec) {
                    cpu__pool_row(dst, r0, r1, wo);
                    continue;
                }
                for (size_t ox = 0; ox < wo; ox++)
                    dst[ox] = ((r0[2 * ox] + r0[2 * ox + 1]) + (r1[2 * ox] + r1[2 * ox + 1])) * 0.25f;
            }
        }
}

static oct_status cpu_avgpool2(oct_context *ctx, const oct__pool_op *op)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x, *y = &op->y;
    if (x->n != y->n || x->c != y->c || y->h != x->h / 2 || y->w != x->w / 2)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH,
                         "cpu avgpool2: output (%d, %d, %d, %d) is not half of (%d, %d, %d, %d)", y->n, y->c, y->h,
                         y->w, x->n, x->c, x->h, x->w);
    if (y->n <= 0 || y->c <= 0 || y->h <= 0 || y->w <= 0) return OCT_OK;
    cpu__unpack(st, y->buf->host);
    cpu__plane_job job = {op, NULL, NULL, st->direct, {0}};
    size_t planes = (size_t)y->n * y->c;
    cpu__chunk(st, &job.work, planes, 1, planes * x->h * x->w, OCT__CPU_PAR_FLOATS);
    int threads = cpu__threads(st, &job.work);
    oct__pool_run(st->pool, threads, cpu__avgpool_task, &job);
    return OCT_OK;
}

/* dst[i] (=|+=) src[sx[i]], then ReLU, for i < wo. */
static void cpu__resize_row(float *restrict dst, const float *restrict src, const int *restrict sx, size_t wo,
                            int accumulate, int relu)
{
    if (accumulate && relu)
        for (size_t i = 0; i < wo; i++) {
            float v = dst[i] + src[sx[i]];
            dst[i] = v < 0.0f ? 0.0f : v;
        }
    else if (accumulate)
        for (size_t i = 0; i < wo; i++) dst[i] += src[sx[i]];
    else if (relu)
        for (size_t i = 0; i < wo; i++) {
            float v = src[sx[i]];
            dst[i] = v < 0.0f ? 0.0f : v;
        }
    else
        for (size_t i = 0; i < wo; i++) dst[i] = src[sx[i]];
}

static void cpu__resize_task(void *arg, int t)
{
    (void)t;
    cpu__plane_job *j = arg;
    const oct__resize_op *op = j->op;
    const oct__view *x = &op->x, *y = &op->y;
    const int *sy = j->sy, *sx = j->sx;
    size_t wi = (size_t)x->w, wo = (size_t)y->w, p, p1;
    while (cpu__take(&j->work, &p, &p1))
        for (; p < p1; p++) {
            int b = (int)(p / (size_t)y->c), c = (int)(p % (size_t)y->c);
            const float *xp = cpu__image(x, b) + (size_t)c * x->h * wi;
            float *yp = cpu__image(y, b) + (size_t)c * y->h * wo;
            if (!sy) { /* same size, plain copy */
                memcpy(yp, xp, (size_t)y->h * wo * sizeof(float));
                continue;
            }
            for (int oy = 0; oy < y->h; oy++) {
                float *dst = yp + (size_t)oy * wo;
                /* Without accumulation a repeated source row repeats the row above. */
                if (!op->accumulate && oy > 0 && sy[oy] == sy[oy - 1])
                    memcpy(dst, dst - wo, wo * sizeof(float));
                else if (j->vec)
                    cpu__x2_row(dst, xp + (size_t)sy[oy] * wi, wo, op->accumulate, op->relu);
                else
                    cpu__resize_row(dst, xp + (size_t)sy[oy] * wi, sx, wo, op->accumulate, op->relu);
            }
        }
}

static oct_status cpu_resize(oct_context *ctx, const oct__resize_op *op)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x, *y = &op->y;
    if (x->n != y->n || x->c != y->c)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "cpu resize: input (%d, %d, ...) and output (%d, %d, ...) differ",
                         x->n, x->c, y->n, y->c);
    if (y->n <= 0 || y->c <= 0 || y->h <= 0 || y->w <= 0) return OCT_OK;
    if (x->h <= 0 || x->w <= 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu resize: empty input plane %dx%d", x->h, x->w);
    cpu__unpack(st, y->buf->host);
    cpu__plane_job job = {op, NULL, NULL, 0, {0}};
    size_t planes = (size_t)y->n * y->c;
    if (x->h != y->h || x->w != y->w || op->accumulate || op->relu) {
        /* Source row and column of each output row and column, once per op. */
        OCT__TRY(cpu__index(st, (size_t)y->h + y->w));
        int *sy = st->index, *sx = st->index + y->h;
        for (int i = 0; i < y->h; i++) sy[i] = oct__nearest_src(i, x->h, y->h);
        for (int i = 0; i < y->w; i++) sx[i] = oct__nearest_src(i, x->w, y->w);
        job.sy = sy;
        job.sx = sx;
        job.vec = st->direct && y->w == 2 * x->w;
        for (int i = 0; i < y->w && job.vec; i++) job.vec = sx[i] == i / 2;
    }
    cpu__chunk(st, &job.work, planes, 1, planes * y->h * y->w, OCT__CPU_PAR_FLOATS);
    int threads = cpu__threads(st, &job.work);
    oct__pool_run(st->pool, threads, cpu__resize_task, &job);
    return OCT_OK;
}

/* Sum of p[0..count) in eight float lanes (vectorisable), combined in double. */
static double cpu__sum(const float *restrict p, size_t count)
{
    float lane[8] = {0};
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        for (int j = 0; j < 8; j++) lane[j] += p[i + j];
    double s = 0.0;
    for (int j = 0; j < 8; j++) s += lane[j];
    for (; i < count; i++) s += p[i];
    return s;
}

static void cpu__gap_task(void *arg, int t)
{
    (void)t;
    cpu__plane_job *j = arg;
    const oct__gap_op *op = j->op;
    const oct__view *x = &op->x;
    size_t hw = (size_t)x->h * x->w, p, p1;
    double inv = 1.0 / ((double)x->h * x->w);
    while (cpu__take(&j->work, &p, &p1))
        for (; p < p1; p++) {
            int b = (int)(p / (size_t)x->c), c = (int)(p % (size_t)x->c);
            op->y->host[(size_t)b * op->ctotal + op->c0 + c] =
                (float)(cpu__sum(cpu__image(x, b) + (size_t)c * hw, hw) * inv);
        }
}

static oct_status cpu_gap(oct_context *ctx, const oct__gap_op *op)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x;
    if (op->c0 < 0 || op->c0 + x->c > op->ctotal || op->y->count < (size_t)x->n * op->ctotal)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "cpu gap: channels [%d, %d) do not fit %d (output holds %zu)",
                         op->c0, op->c0 + x->c, op->ctotal, op->y->count);
    if (x->n <= 0 || x->c <= 0) return OCT_OK;
    cpu__unpack(st, op->y->host);
    cpu__plane_job job = {op, NULL, NULL, 0, {0}};
    size_t planes = (size_t)x->n * x->c;
    cpu__chunk(st, &job.work, planes, 1, planes * x->h * x->w, OCT__CPU_PAR_FLOATS);
    int threads = cpu__threads(st, &job.work);
    oct__pool_run(st->pool, threads, cpu__gap_task, &job);
    return OCT_OK;
}

static oct_status cpu_linear(oct_context *ctx, const oct__linear_op *op)
{
    int n = op->n, in = op->in, out = op->out;
    if (n < 0 || in < 0 || out < 0 || op->x->count < (size_t)n * in || op->weight->count < (size_t)out * in ||
        op->y->count < (size_t)n * out || (op->bias && op->bias->count < (size_t)out))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "cpu linear: buffers too small for n %d, in %d, out %d", n, in, out);
    if (n == 0 || out == 0) return OCT_OK;
    cpu__unpack(ctx->state, op->y->host);
    float *y = op->y->host; /* (n, out) */
    float beta = 0.0f;
    if (op->bias) {
        for (int b = 0; b < n; b++) memcpy(y + (size_t)b * out, op->bias->host, (size_t)out * sizeof(float));
        beta = 1.0f;
    }
    if (in == 0) {
        if (!op->bias) memset(y, 0, (size_t)n * out * sizeof(float));
        return OCT_OK;
    }
    /* y (n, out) = x (n, in) W^T, W (out, in) */
    oct__sgemm(0, 1, n, out, in, op->x->host, in, op->weight->host, in, y, out, beta != 0.0f);
    return OCT_OK;
}

const oct__backend oct__backend_cpu = {
    .name = "cpu",
    .init = cpu_init,
    .release = cpu_release,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .write = cpu_write,
    .read = cpu_read,
    .conv2d = cpu_conv2d,
    .avgpool2 = cpu_avgpool2,
    .resize = cpu_resize,
    .gap = cpu_gap,
    .linear = cpu_linear,
    .finish = cpu_finish,
    .profile = oct__cpu_profile,
    .device_ms = oct__cpu_device_ms,
    .peak_gflops = oct__cpu_peak_gflops,
    .conv2d_pair = NULL, /* two conv2d ops */
    .convg = NULL,  /* TODO(graph ops): not yet implemented */
    .poolg = NULL,
    .add = NULL,
    .affine = NULL,
};
