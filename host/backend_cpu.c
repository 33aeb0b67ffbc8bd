/* backend_cpu.c — the native CPU backend: host memory, float32 ops, each op shared by
 * the context's pool of threads (threadpool.c) as chunks of output rows or planes.
 * 1x1 stride-1 convolutions (conv2d, pairs on planes of 64 pixels or more, graph convs)
 * run one GEMM over x on weights packed once (cached), the epilogue in its tile stores.
 * Other stride-1 convolutions run a direct AVX-512 kernel on a zero-padded copy of the input
 * rows (no im2col), with bias, accumulate and ReLU applied as the outputs are stored;
 * other convolutions (or CPUs without AVX-512) use im2col + octcl's single-threaded
 * sgemm (gemm.c) per thread and a fused epilogue. Pooling, resize and GAP are row loops
 * (AVX-512 where it pays). The graph ops of imported networks (convg, poolg, add, affine;
 * at the end of the file) reuse the direct kernel for stride-1 square convolutions and run
 * the rest as GEMMs over x or im2col blocks (oct__sgemm), AVX-512 depthwise rows and
 * separable pooling. Checked op by op against the reference backend (backend_ref.c).
 * Ops arrive checked by the dispatcher (dispatch.c); out of memory is
 * OCT_ERR_DEVICE_MEMORY (internal.h: the contract); OCTCL_CPU_PATH forces a path. */
#define _DEFAULT_SOURCE 1 /* madvise (oct__cpu_alloc_packed) */

#include "backend_cpu.h"
#include "convpack.h"
#include "gemm.h"
#include "smallconv.h"
#include "threadpool.h"
#include "tune.h"
#include "winograd.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <unistd.h>

/* Buffers and scratch are aligned to a cache line (and any AVX-512 vector). */
#define OCT__CPU_ALIGN 64
/* GEMM path: columns (output pixels, over one or more images) per GEMM, so small planes
 * are grouped over the batch (thin GEMMs are slow) and large ones cut into row bands.
 * This and the band and chunk counts below are the defaults of st->tune (tune.c's
 * oct__cpu_tune_default holds the same values; a tuning file may change them). */
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
/* The ops counted in floats (pools, resizes, GAP, element-wise ops, a 1x1 GEMM's packing
 * of B) read what the op before them wrote, each thread its own channels (the chunks'
 * affinity), so one thread alone reads half of its input from the other core's cache.
 * Oct-ResNet-50 alpha 0.5, batch 1, two threads, AMD EPYC Zen 4, old and new library in
 * alternated `octcl profile` processes, 6 rounds, minima: with 32K floats here the 22
 * pools onto 7x7 planes (25K floats in for 128 channels) ran on the calling thread alone,
 * 0.194-0.199 ms in all (one thread: 0.163); with 8K 0.167-0.172 (layer 1's pools 0.110
 * -> 0.102-0.105); alpha 0 and OctNetMini even; 4K no better than 8K. At batch 8
 * Oct-ResNet-50's such ops are over both thresholds. */
#ifndef OCT__CPU_PAR_FLOATS
#define OCT__CPU_PAR_FLOATS ((size_t)1 << 13)
#endif
/* Direct path: floats of padded input one thread's band of rows may hold (768 KiB:
 * within a 1 MiB L2 beside a block of weights). */
#ifndef OCT__CPU_BAND_FLOATS
#define OCT__CPU_BAND_FLOATS ((size_t)192 << 10)
#endif
/* Output channels per direct-kernel tile (the weights are packed in blocks of this). */
#ifndef OCT__DK_MR
#define OCT__DK_MR 4
#endif
/* Row segments of 16 output pixels per direct-kernel tile. */
#ifndef OCT__DK_V
#define OCT__DK_V 4
#endif
/* Row pieces (an image's consecutive output rows) one GEMM chunk may gather. */
#define OCT__CPU_MAX_PIECES 64

/* One thread's scratch. */
typedef struct {
    float *f;
    size_t count;  /* floats */
} cpu__scratch_t;

/* Weights of a convolution repacked for the direct kernel, kept while their buffer is
 * neither written nor freed (the backend sees both: cpu_write, cpu_free, op outputs).
 * Enough slots for every convolution of a ResNet-50-sized graph (an OctConv one has four
 * per layer): with fewer, a forward pass evicted and repacked every layer's weights (9% of
 * Oct-ResNet-50's time). OCT__CPU_PACKED_BYTES bounds the packed copies' memory. */
#define OCT__CPU_PACKED_SLOTS 512
#ifndef OCT__CPU_PACKED_BYTES
#define OCT__CPU_PACKED_BYTES ((size_t)512 << 20)
#endif
typedef struct {
    const float *src;  /* the weight buffer's host pointer, NULL when the slot is free */
    const float *src2; /* conv2d_pair: the second weight buffer's, packed after src's (else NULL) */
    size_t count;      /* floats of src and src2 (co * kdim) */
    int co;
    float *packed;     /* (co blocks, kdim, OCT__DK_MR) */
    size_t bytes;      /* of packed */
    int kind;          /* OCT__CPU_PACK_DIRECT, or OCT__CPU_PACK_WINO + the GEMM kernel (gemm.h) of
                          F(2x2) Winograd's transformed weights (winograd.h; OCT__CPU_PACK_WINO4 +
                          the kernel: F(4x4)'s), or OCT__CPU_PACK_GEMM + the
                          kernel of a 1x1 convolution's weights as oct__sgemm_apack lays them out,
                          or OCT__CPU_PACK_SMALL + the channel-lane variant (smallconv.h) */
} cpu__packed_t;
enum {
    OCT__CPU_PACK_DIRECT = 0,
    OCT__CPU_PACK_WINO = 1,
    OCT__CPU_PACK_GEMM = 8,
    OCT__CPU_PACK_SMALL = 16,
    OCT__CPU_PACK_WINO4 = 24
};

/* The backend's state, one per context (ctx->state). */
typedef struct {
    oct__pool *pool;           /* the context's threads (the caller is task 0) */
    int threads;               /* oct__pool_size(pool) */
    cpu__scratch_t *scratch;   /* [threads]: im2col columns and GEMM output, or padded input (floats) */
    cpu__scratch_t bshared;    /* a 1x1 GEMM's B packed once for all its blocks of channels (cpu__g_gemm_ex) */
    cpu__scratch_t vshared;    /* F(4x4)'s shared mode: the block's one transformed input (cpu__wino) */
    int *index;                /* resize source-index tables (ints) */
    size_t index_count;
    int direct;                /* the direct convolution kernel can run here (AVX-512F), not forced off */
    int im2col;                /* OCT__CPU_PATH_IM2COL: every convg on im2col + sgemm */
    int wino;                  /* $OCTCL_CPU_WINOGRAD at creation: 1 forced on, 0 off, -1 by shape */
    int wino_tile;             /* $OCTCL_CPU_WINO_TILE at creation: 2 or 4 forced, -1 by shape */
    int gemm_1x1;              /* $OCTCL_CPU_GEMM_PACKED at creation: 0 the older 1x1 routing, else 1 */
    int small;                 /* $OCTCL_CPU_SMALL at creation: 1 forced on, 0 off, -1 by shape */
    int fuse_up;               /* $OCTCL_CPU_FUSE_UP at creation: 0 a separate pass adds conv_up's up */
    int pair_side;             /* $OCTCL_CPU_PAIR_SIDE at creation: 0 the graph runs L->H apart */
    oct__depth_budget depth;   /* the graph's depth-first groups (cpu__depth_budget) */
    long long sides_fused;     /* oct__cpu_sides_fused */
    long long pools_fused;     /* oct__cpu_pools_fused */
    int implicit;              /* $OCTCL_CPU_IMPLICIT at creation: 0 keeps conv2d's im2col + SGEMM */
    int shared_b;              /* $OCTCL_CPU_SHARED_B at creation: 0 packs B in every block's GEMM */
    int affinity;              /* $OCTCL_CPU_AFFINITY at creation: 0 chunks go to the next free thread */
    int stride2;               /* $OCTCL_CPU_STRIDE2 at creation: 0 keeps stride 2 off the direct kernel */
    /* cpu_conv_up's pending upsample: set while its convolution runs; a path that adds it
     * in its own stores takes it (cpu__take_up) and applies up_relu after it. */
    const oct__view *up;
    int up_relu;
    cpu__packed_t packed[OCT__CPU_PACKED_SLOTS];
    int packed_next;           /* slot replaced next when all are taken */
    size_t packed_bytes;       /* bytes of the packed copies held */
    oct__cpu_tune tune;        /* band, columns, chunks: tuned or the constants (tune.c) */
    long long macs_done;       /* multiply-adds executed by convolutions and linear layers
                                  (Winograd's GEMMs: fewer than the model's): oct_context_macs_executed */
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

/* oct__cpu_alloc_packed (backend_cpu.h). A pass at batch 1 streams its packed weights
 * from memory (Oct-ResNet-50: 145-167 MB of them, 107-143 MB in whole 2 MiB pages of
 * buffers from 2 MiB on; no cache keeps them between passes), a new 4 KiB page every
 * 1024 floats where the kernel backs them with small pages: this VM's kernel leaves
 * transparent huge pages to those who ask ("madvise"), and a buffer from malloc starts
 * on no 2 MiB boundary. Two threads, with and without in one process each way, passes
 * alternated, minima of 8-10 rounds, AMD EPYC Zen 4: Oct-ResNet-50 batch 1 alpha 0.5
 * 20.60 -> 20.39 ms, 20.71 -> 20.60 and 21.47 -> 20.99 in three runs, alpha 0 30.14 ->
 * 29.85 and 30.06 -> 29.86; one thread 38.53 -> 38.33; batch 8 within the noise. Peak
 * resident memory at batch 8 (`octcl bench`, twice): 385-386 -> 390-391 MB at alpha 0,
 * 347 -> 349-350 at alpha 0.5.
 * (Every packed buffer in huge pages, sizes rounded up to 2 MiB: 20.41 ms against 20.60
 * and 20.71, for about 220 MB more resident memory at batch 1; not done.) */
float *oct__cpu_alloc_packed(size_t count)
{
    const size_t huge = (size_t)OCT__CPU_HUGE_PAGE;
    if (count == 0 || count > SIZE_MAX / sizeof(float) || count * sizeof(float) < huge)
        return cpu__alloc_floats(count);
    void *p = NULL;
    if (oct__fault_hit() || posix_memalign(&p, huge, count * sizeof(float)) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, count * sizeof(float) / huge * huge, MADV_HUGEPAGE); /* advice: nothing to report */
#endif
    return p;
}

/* Grow thread t's scratch to at least `count` floats (contents are not kept). */
static oct_status cpu__grow(cpu__scratch_t *s, size_t count, const char *what)
{
    if (s->count >= count) return OCT_OK;
    free(s->f);
    s->count = 0;
    s->f = cpu__alloc_floats(count);
    if (!s->f)
        return oct__fail(OCT_ERR_DEVICE_MEMORY, "cpu %s: out of memory for %zu floats of scratch", what, count);
    s->count = count;
    return OCT_OK;
}

static oct_status cpu__scratch(oct__cpu_state *st, int t, size_t count, const char *what)
{
    return cpu__grow(&st->scratch[t], count, what);
}

/* Grow the index scratch to at least `count` ints. */
static oct_status cpu__index(oct__cpu_state *st, size_t count)
{
    if (st->index_count >= count) return OCT_OK;
    free(st->index);
    st->index_count = 0;
    st->index = count <= SIZE_MAX / sizeof(int) ? oct__malloc(count * sizeof(int)) : NULL;
    if (!st->index)
        return oct__fail(OCT_ERR_DEVICE_MEMORY, "cpu resize: out of memory for %zu index entries", count);
    st->index_count = count;
    return OCT_OK;
}

/* Forget packed weights made from `host` (it is being written or freed). */
static void cpu__unpack(oct__cpu_state *st, const float *host)
{
    if (!st || !host) return;
    for (int i = 0; i < OCT__CPU_PACKED_SLOTS; i++)
        if (st->packed[i].src == host || st->packed[i].src2 == host) {
            free(st->packed[i].packed);
            st->packed_bytes -= st->packed[i].bytes;
            memset(&st->packed[i], 0, sizeof st->packed[i]);
        }
}

/* First float of image b of a view: a (c, h, w) block, contiguous. */
static float *cpu__image(const oct__view *v, int b)
{
    return v->buf->host + v->off + (size_t)b * v->nstride;
}

/* Work is shared as chunks: the items of an op (output rows, planes) cut into a fixed
 * number of even ranges that depends only on the op and the thread count. With
 * affinity (the default) thread t first takes the chunks of its own even share, the
 * t-th of `owners` runs of chunks, then those left in the others' shares; without, every
 * thread takes the next chunk of all. Either way a thread the OS delays holds up no one
 * (its share is taken by the others), and what a chunk computes does not depend on who
 * takes it, so results are the same run to run.
 *
 * Affinity keeps the same rows of consecutive ops on the same core: thread t writes
 * output channels of one share of a convolution, and the pool, the residual and the
 * upsampled low band that read those channels next find them in t's own L2 more often
 * than in the other core's. AMD EPYC Zen 4, two threads, with and without in one process,
 * passes alternated (OCTCL_CPU_AFFINITY read per context): Oct-ResNet-50 alpha 0.5 batch
 * 1 the whole pass 0.964x (its layers of layers 1-3 5-9% faster), batch 8 0.977x; alpha
 * 0 batch 1 0.986x (sums of per-layer minima); OctNetMini batch 32 0.964-0.967x, batch 1
 * within +-1.4%. */
#define OCT__CPU_OWN_MAX 64
typedef struct {
    size_t items;        /* rows or planes */
    size_t chunks;       /* ranges they are cut into */
    atomic_size_t next;  /* next chunk to take (without affinity) */
    int owners;          /* shares (the context's threads), or 0: no affinity */
    atomic_size_t own[OCT__CPU_OWN_MAX]; /* next chunk of each share */
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
    size_t want = work < min_work ? 1 : (size_t)st->threads * (size_t)st->tune.chunks; /* tuned */
    if (min_items < 1) min_items = 1;
    if (want > items / min_items) want = items / min_items;
    c->items = items;
    c->chunks = want ? want : 1;
    atomic_init(&c->next, 0);
    c->owners = st->affinity && st->threads > 1 && st->threads <= OCT__CPU_OWN_MAX ? st->threads : 0;
    for (int o = 0; o < c->owners; o++) atomic_init(&c->own[o], c->chunks * (size_t)o / (size_t)c->owners);
}

/* Threads worth waking for a job of c->chunks chunks. */
static int cpu__threads(const oct__cpu_state *st, const cpu__chunks *c)
{
    return c->chunks < (size_t)st->threads ? (int)c->chunks : st->threads;
}

/* The item range [*lo, *hi) of chunk i. */
static void cpu__chunk_range(const cpu__chunks *c, size_t i, size_t *lo, size_t *hi)
{
    size_t q = c->items / c->chunks, r = c->items % c->chunks;
    *lo = q * i + (i < r ? i : r);
    *hi = *lo + q + (i < r ? 1 : 0);
}

/* Thread t takes a chunk: 1 and its item range [*lo, *hi), or 0 when none is left. */
static int cpu__take(cpu__chunks *c, int t, size_t *lo, size_t *hi)
{
    if (c->owners) {
        for (int k = 0; k < c->owners; k++) {
            int o = (t + k) % c->owners;
            size_t end = c->chunks * (size_t)(o + 1) / (size_t)c->owners;
            if (atomic_load_explicit(&c->own[o], memory_order_relaxed) >= end) continue;
            size_t i = atomic_fetch_add_explicit(&c->own[o], 1, memory_order_relaxed);
            if (i >= end) continue;
            cpu__chunk_range(c, i, lo, hi);
            return 1;
        }
        return 0;
    }
    size_t i = atomic_fetch_add_explicit(&c->next, 1, memory_order_relaxed);
    if (i >= c->chunks) return 0;
    cpu__chunk_range(c, i, lo, hi);
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
    int packed_rows;     /* segments run along the padded rows: out[v] takes the mask's lanes packed */
    int half;            /* stride 2: floats in each half of a padded row (its even columns, then its odd
                          * ones; cpu__dk_pad_band_s2); 0: stride 1 */
} cpu__dk_args;

/* Whether the AVX-512 direct kernel runs a's convolution on the stem's tile (two channel
 * blocks at once, cpu__dk_stem): stride 2, OCT__DK_STEM_K x OCT__DK_STEM_K. */
#define OCT__DK_STEM_K 7
static int cpu__dk_stem_takes(const cpu__dk_args *a) { return a->half && a->k == OCT__DK_STEM_K; }

/* dst[i] (=|+=) src[i / 2], then ReLU, for i < wo: a row of an exact 2x nearest upsample
 * in plain C (cpu__x2_rows' fallback, the AVX2 row's tail). */
static void cpu__x2_row_c(float *restrict dst, const float *restrict src, size_t wo, int accumulate, int relu)
{
    for (size_t i = 0; i < wo; i++) {
        float v = accumulate ? dst[i] + src[i / 2] : src[i / 2];
        dst[i] = relu && v < 0.0f ? 0.0f : v;
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#include "lanes.h"
#define OCT__DK_TARGET __attribute__((target("avx512f")))
#define OCT__DK_INLINE __attribute__((always_inline)) inline

/* Lanes [0, n) of a 16-lane mask (n >= 16: all). */
static inline __mmask16 cpu__lanes(size_t n) { return oct__lanes16(0, n >= 16 ? 16 : (int)n); }

/* nv segments (a constant after inlining): in[v] the padded input at the segment's
 * first output pixel, out[v] the output there, mask[v] its valid pixels; `blocks` (1 or
 * 2, a constant) channel blocks of OCT__DK_MR, the second's packed weights right after
 * the first's (a->rows counts both). */
static OCT__DK_TARGET OCT__DK_INLINE void cpu__dk_tile(const cpu__dk_args *a, int nv, int k, int s2, int blocks,
                                                        const float *const *in, float *const *out,
                                                        const __mmask16 *mask)
{
    enum { MR2 = 2 * OCT__DK_MR };
    const int mr = blocks * OCT__DK_MR;
    __m512 acc[MR2][OCT__DK_V];
    for (int m = 0; m < mr; m++)
        for (int v = 0; v < nv; v++) acc[m][v] = _mm512_setzero_ps();
    const float *w = a->w, *w2 = a->w + (size_t)a->ci * (size_t)k * (size_t)k * OCT__DK_MR;
    size_t wp = (size_t)a->wp;
    for (int c = 0; c < a->ci; c++) {
        size_t cofs = (size_t)c * a->plane;
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                /* Stride 2: column 2 x + kx of the padded row is in its even half (kx even)
                 * or odd half at x + kx / 2, so 16 outputs still read 16 floats in a run. */
                size_t o = cofs + (size_t)ky * wp +
                           (s2 ? (size_t)(kx & 1) * (size_t)a->half + (size_t)(kx >> 1) : (size_t)kx);
                __m512 x[OCT__DK_V];
                for (int v = 0; v < nv; v++) x[v] = _mm512_loadu_ps(in[v] + o);
                for (int m = 0; m < mr; m++) {
                    __m512 wv = _mm512_set1_ps(m < OCT__DK_MR ? w[m] : w2[m - OCT__DK_MR]);
                    for (int v = 0; v < nv; v++) acc[m][v] = _mm512_fmadd_ps(wv, x[v], acc[m][v]);
                }
                w += OCT__DK_MR;
                w2 += OCT__DK_MR;
            }
    }
    __m512 zero = _mm512_setzero_ps();
    for (int m = 0; m < mr && m < a->rows; m++) {
        __m512 b = _mm512_set1_ps(a->bias ? a->bias[m] : 0.0f);
        for (int v = 0; v < nv; v++) {
            float *o = out[v] + (size_t)m * a->ys;
            __m512 r = _mm512_add_ps(acc[m][v], b);
            if (a->packed_rows) {
                /* The valid lanes are consecutive outputs (a row's end, the next row's start). */
                __mmask16 lo = cpu__lanes((size_t)__builtin_popcount((unsigned)mask[v]));
                if (a->accumulate) r = _mm512_add_ps(r, _mm512_maskz_expand_ps(mask[v], _mm512_maskz_loadu_ps(lo, o)));
                if (a->relu) r = _mm512_max_ps(zero, r); /* r when NaN or -0, as v < 0 ? 0 : v */
                _mm512_mask_storeu_ps(o, lo, _mm512_maskz_compress_ps(mask[v], r));
                continue;
            }
            if (a->accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask[v], o));
            if (a->relu) r = _mm512_max_ps(zero, r); /* r when NaN or -0, as v < 0 ? 0 : v */
            _mm512_mask_storeu_ps(o, mask[v], r);
        }
    }
}

/* The instances: 1 .. OCT__DK_V segments, for 3x3 kernels and for any other size, and
 * for any size at stride 2. */
_Static_assert(OCT__DK_V >= 1 && OCT__DK_V <= 4, "one instance per segment count 1..4 below");
typedef void (*cpu__dk_fn)(const cpu__dk_args *a, const float *const *in, float *const *out, const __mmask16 *mask);
#define OCT__DK_INSTANCE(name, nv, k, s2)                                                                    \
    static OCT__DK_TARGET void name(const cpu__dk_args *a, const float *const *in, float *const *out,        \
                                    const __mmask16 *mask)                                                   \
    {                                                                                                        \
        cpu__dk_tile(a, (nv) < OCT__DK_V ? (nv) : OCT__DK_V, k, s2, 1, in, out, mask);                        \
    }
OCT__DK_INSTANCE(cpu__dk_3x3_1, 1, 3, 0)
OCT__DK_INSTANCE(cpu__dk_3x3_2, 2, 3, 0)
OCT__DK_INSTANCE(cpu__dk_3x3_3, 3, 3, 0)
OCT__DK_INSTANCE(cpu__dk_3x3_4, 4, 3, 0)
OCT__DK_INSTANCE(cpu__dk_kxk_1, 1, a->k, 0)
OCT__DK_INSTANCE(cpu__dk_kxk_2, 2, a->k, 0)
OCT__DK_INSTANCE(cpu__dk_kxk_3, 3, a->k, 0)
OCT__DK_INSTANCE(cpu__dk_kxk_4, 4, a->k, 0)
OCT__DK_INSTANCE(cpu__dk_s2_1, 1, a->k, 1)
OCT__DK_INSTANCE(cpu__dk_s2_2, 2, a->k, 1)
OCT__DK_INSTANCE(cpu__dk_s2_3, 3, a->k, 1)
OCT__DK_INSTANCE(cpu__dk_s2_4, 4, a->k, 1)
#undef OCT__DK_INSTANCE
/* A 7x7 stride-2 convolution (ResNet's stem: 3 -> 64 channels, 147 terms) on two
 * channel blocks at once, up to 3 segments: 24 sums, 3 inputs and a weight in 28 of the
 * 32 registers, each input load serving 8 FMAs instead of 4, and the kernel size a
 * constant (the 7 x 7 offsets folded). The same sums in the same order: the same bits.
 * Intel Xeon (Emerald Rapids), two threads, old and new library alternated by process,
 * minima: the stem and its fused max pool alone 1.021 -> 0.945 ms at batch 1, 8.46 ->
 * 7.83 at batch 8; in Oct-ResNet-50 (sums of per-layer minima) 0.923x at batch 1 (alpha
 * 0 0.934 -> 0.861 ms, alpha 0.5 0.950 -> 0.877), 0.944x / 0.912x at batch 8 (7.61 ->
 * 7.18, 7.84 -> 7.14). The kernel size a constant alone gave 0.949x / 0.944x; an 8 x 3
 * tile for every direct layer (OCT__DK_MR 8, OCT__DK_V 3) the same as this on the stem,
 * but it changes every other direct layer too (on an AMD EPYC Zen 4 OctNetMini's 3 -> 64
 * stem read 1.005x with it), so only the stem takes it. (onnxruntime runs this stem at
 * batch 8 in 5.84 ms and its max pool in 1.01: `bench/ort_classes.py`.) Not measured on
 * an AMD CPU. */
#define OCT__DK_STEM_V 3
_Static_assert(OCT__DK_STEM_V <= OCT__DK_V, "the stem tile's segments fit the arrays of OCT__DK_V");
#define OCT__DK_STEM(name, nv)                                                                               \
    static OCT__DK_TARGET void name(const cpu__dk_args *a, const float *const *in, float *const *out,        \
                                    const __mmask16 *mask)                                                   \
    {                                                                                                        \
        cpu__dk_tile(a, nv, OCT__DK_STEM_K, 1, 2, in, out, mask);                                            \
    }
OCT__DK_STEM(cpu__dk_stem_1, 1)
OCT__DK_STEM(cpu__dk_stem_2, 2)
OCT__DK_STEM(cpu__dk_stem_3, 3)
#undef OCT__DK_STEM
static const cpu__dk_fn cpu__dk_3x3[5] = {NULL, cpu__dk_3x3_1, cpu__dk_3x3_2, cpu__dk_3x3_3,
                                                      cpu__dk_3x3_4};
static const cpu__dk_fn cpu__dk_kxk[5] = {NULL, cpu__dk_kxk_1, cpu__dk_kxk_2, cpu__dk_kxk_3,
                                                      cpu__dk_kxk_4};
static const cpu__dk_fn cpu__dk_s2[5] = {NULL, cpu__dk_s2_1, cpu__dk_s2_2, cpu__dk_s2_3, cpu__dk_s2_4};
static const cpu__dk_fn cpu__dk_stem[OCT__DK_STEM_V + 1] = {NULL, cpu__dk_stem_1, cpu__dk_stem_2, cpu__dk_stem_3};


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

/* Columns [j0, j1) of a stride-2 split row (cpu__dk_pad_band_s2) one by one: even[j] the
 * padded row's column 2 j, odd[j] its column 2 j + 1 (src[col - pad], zero outside). */
static void cpu__s2_split_cols(float *restrict even, float *restrict odd, const float *restrict src, int w, int pad,
                               int j0, int j1)
{
    for (int j = j0; j < j1; j++) {
        int q0 = 2 * j - pad, q1 = q0 + 1;
        even[j] = q0 >= 0 && q0 < w ? src[q0] : 0.0f;
        odd[j] = q1 >= 0 && q1 < w ? src[q1] : 0.0f;
    }
}

/* The vector middle of a stride-2 split row (cpu__s2_pad_band): columns [j, ...) of even
 * and odd while whole vectors of the source row stay inside it (below j1); returns the
 * first column it left. */
typedef int (*cpu__s2_split_fn)(float *restrict even, float *restrict odd, const float *restrict src, int pad, int j,
                                int j1);

/* cpu__dk_pad_band for stride 2: padded row r (input row r - pad) stored as its even
 * columns (`half` floats, zeros past the row) then its odd ones, rows 2 half apart, so a
 * run of outputs reads consecutive floats for each kx (cpu__dk_tile, cpu__dk2_tile); then
 * 16 zeros. split is the ISA's vector middle of a row.
 *   x (ci, h, w) -> buf (ci, hb, 2, half). */
static void cpu__s2_pad_band(float *restrict buf, const float *restrict x, int ci, int h, int w, int pad, int r0,
                             int hb, size_t plane, int half, cpu__s2_split_fn split)
{
    for (int c = 0; c < ci; c++)
        for (int i = 0; i < hb; i++) {
            float *restrict even = buf + (size_t)c * plane + (size_t)i * 2 * (size_t)half, *restrict odd = even + half;
            int iy = r0 + i - pad;
            if (iy < 0 || iy >= h) {
                memset(even, 0, 2 * (size_t)half * sizeof(float));
                continue;
            }
            const float *restrict src = x + ((size_t)c * h + (size_t)iy) * (size_t)w;
            /* Columns 2 j - pad and 2 j + 1 - pad both in the row for j in [j0, j1): a
             * vector of such j at a time from two loads (split); the rest one by one. */
            int j0 = (pad + 1) / 2 < half ? (pad + 1) / 2 : half, j1 = (w + pad - 1) / 2;
            cpu__s2_split_cols(even, odd, src, w, pad, 0, j0);
            int j = split(even, odd, src, pad, j0, j1);
            cpu__s2_split_cols(even, odd, src, w, pad, j, half);
        }
    memset(buf + (size_t)ci * plane, 0, 16 * sizeof(float));
}

/* cpu__s2_split_fn on AVX-512: 16 columns of each half from two loads. */
static OCT__DK_TARGET int cpu__s2_split16(float *restrict even, float *restrict odd, const float *restrict src, int pad,
                                          int j, int j1)
{
    for (; j + 16 <= j1; j += 16) {
        const float *q = src + 2 * j - pad;
        __m512 a = _mm512_loadu_ps(q), b = _mm512_loadu_ps(q + 16);
        _mm512_storeu_ps(even + j, oct__even16(a, b));
        _mm512_storeu_ps(odd + j, oct__odd16(a, b));
    }
    return j;
}

static void cpu__dk_pad_band_s2(float *buf, const float *x, int ci, int h, int w, int pad, int r0, int hb,
                                size_t plane, int half)
{
    cpu__s2_pad_band(buf, x, ci, h, w, pad, r0, hb, plane, half, cpu__s2_split16);
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
        if (relu) v = _mm512_max_ps(zero, v); /* NaN and -0 kept, as v < 0 ? 0 : v */
        _mm512_mask_storeu_ps(dst + i, m, v);
    }
}

/* dst[i] = ((r0[2i] + r0[2i+1]) + (r1[2i] + r1[2i+1])) * 0.25 for i < wo. */
static OCT__DK_TARGET void cpu__pool_row(float *restrict dst, const float *restrict r0, const float *restrict r1,
                                         size_t wo)
{
    const __m512 q = _mm512_set1_ps(0.25f);
    for (size_t i = 0; i < wo; i += 16) {
        size_t left = wo - i, in = left >= 16 ? 32 : 2 * left;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
        __mmask16 ma = in >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << in) - 1u);
        __mmask16 mb = in >= 32 ? (__mmask16)0xFFFF : in > 16 ? (__mmask16)((1u << (in - 16)) - 1u) : 0;
        const float *a = r0 + 2 * i, *b = r1 + 2 * i;
        __m512 a0 = _mm512_maskz_loadu_ps(ma, a), a1 = _mm512_maskz_loadu_ps(mb, a + 16);
        __m512 b0 = _mm512_maskz_loadu_ps(ma, b), b1 = _mm512_maskz_loadu_ps(mb, b + 16);
        __m512 s0 = _mm512_add_ps(oct__even16(a0, a1), oct__odd16(a0, a1));
        __m512 s1 = _mm512_add_ps(oct__even16(b0, b1), oct__odd16(b0, b1));
        _mm512_mask_storeu_ps(dst + i, m, _mm512_mul_ps(_mm512_add_ps(s0, s1), q));
    }
}

/* cpu__pool_row for two output rows of wo <= 8 at once (7x7 and 8x8 outputs): input rows
 * r, r + wi, r + 2 wi, r + 3 wi; row 2 oy's pairs in lanes 0-7, row 2 oy + 2's in lanes
 * 8-15, the outputs stored as 2 wo consecutive floats. One step for two rows where the
 * row function takes one, each lane's sums the same: the same bits. */
static OCT__DK_TARGET void cpu__pool_rows2(float *restrict dst, const float *restrict r, size_t wi, size_t wo)
{
    const __m512 q = _mm512_set1_ps(0.25f);
    __mmask16 ma = (__mmask16)((1u << (2 * wo)) - 1u), mo = (__mmask16)((1u << wo) - 1u);
    __m512 a0 = _mm512_maskz_loadu_ps(ma, r), b0 = _mm512_maskz_loadu_ps(ma, r + wi);
    __m512 a1 = _mm512_maskz_loadu_ps(ma, r + 2 * wi), b1 = _mm512_maskz_loadu_ps(ma, r + 3 * wi);
    __m512 s0 = _mm512_add_ps(oct__even16(a0, a1), oct__odd16(a0, a1));
    __m512 s1 = _mm512_add_ps(oct__even16(b0, b1), oct__odd16(b0, b1));
    __m512 v = _mm512_mul_ps(_mm512_add_ps(s0, s1), q);
    if (wo < 8) v = _mm512_maskz_compress_ps((__mmask16)(mo | mo << 8), v);
    _mm512_mask_storeu_ps(dst, ma, v); /* 2 wo outputs, as many as each row's inputs */
}

/* The two rows above with AVX2 (CPUs without AVX-512 whose GEMM is a vector one,
 * cpu__avx2): 8 outputs a step, the last under 8 in plain C; the same operations in the
 * same order, so the same bits. */
static __attribute__((target("avx2"))) void cpu__x2_row_256(float *restrict dst, const float *restrict src,
                                                            size_t wo, int accumulate, int relu)
{
    const __m256i dup = _mm256_set_epi32(3, 3, 2, 2, 1, 1, 0, 0);
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= wo; i += 8) {
        __m256 v = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(src + i / 2)), dup);
        if (accumulate) v = _mm256_add_ps(_mm256_loadu_ps(dst + i), v);
        if (relu) v = _mm256_max_ps(zero, v); /* NaN and -0 kept, as v < 0 ? 0 : v */
        _mm256_storeu_ps(dst + i, v);
    }
    if (i + 4 <= wo) { /* 4 more from 2 (a 14- or 28-wide row's rest): the same operations */
        float s0 = src[i / 2], s1 = src[i / 2 + 1];
        __m128 v = _mm_setr_ps(s0, s0, s1, s1);
        if (accumulate) v = _mm_add_ps(_mm_loadu_ps(dst + i), v);
        if (relu) v = _mm_max_ps(_mm_setzero_ps(), v);
        _mm_storeu_ps(dst + i, v);
        i += 4;
    }
    cpu__x2_row_c(dst + i, src + i / 2, wo - i, accumulate, relu);
}

/* With `spill`, the row's last 1-7 outputs are made as one more whole step of 8: it reads
 * up to 14 floats past each input row's 2 wo (never past the next input row, for wo >= 4)
 * and writes up to 7 past the output row (never past the next one). For rows whose next
 * input and output rows are in the same plane, the output row written after this one. */
static __attribute__((target("avx2"))) void cpu__pool_row_256(float *restrict dst, const float *restrict r0,
                                                              const float *restrict r1, size_t wo, int spill)
{
    const __m256 q = _mm256_set1_ps(0.25f);
    size_t i = 0, whole = spill ? wo + 7 : wo;
    for (; i + 8 <= whole; i += 8) {
        const float *a = r0 + 2 * i, *b = r1 + 2 * i;
        /* hadd pairs neighbours within 128-bit lanes: outputs 0 1 4 5 2 3 6 7, put back
         * in order by oct__pairs_in_order. */
        __m256 s0 = _mm256_hadd_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(a + 8));
        __m256 s1 = _mm256_hadd_ps(_mm256_loadu_ps(b), _mm256_loadu_ps(b + 8));
        __m256 v = _mm256_mul_ps(_mm256_add_ps(s0, s1), q);
        _mm256_storeu_ps(dst + i, oct__pairs_in_order(v));
    }
    if (i + 4 <= wo) { /* 4 more (a 14- or 7-wide output row's rest): hadd keeps them in order */
        const float *a = r0 + 2 * i, *b = r1 + 2 * i;
        __m128 s0 = _mm_hadd_ps(_mm_loadu_ps(a), _mm_loadu_ps(a + 4));
        __m128 s1 = _mm_hadd_ps(_mm_loadu_ps(b), _mm_loadu_ps(b + 4));
        _mm_storeu_ps(dst + i, _mm_mul_ps(_mm_add_ps(s0, s1), _mm_set1_ps(0.25f)));
        i += 4;
    }
    for (; i < wo; i++) dst[i] = ((r0[2 * i] + r0[2 * i + 1]) + (r1[2 * i] + r1[2 * i + 1])) * 0.25f;
}

/* The rows of one plane of cpu__avgpool2 with AVX2 whose outputs would end in plain C (wo
 * over 4, not a multiple of 4): output rows (ho, wo) from input rows wi floats apart,
 * each but the plane's last with cpu__pool_row_256's spill (the next rows it reads and
 * writes are in the plane, and so done by this call), in one call. Until 2026-12-07 a
 * 7x7 plane's rows were 4 outputs in SSE and 3 in plain C, a call each: Oct-ResNet-50
 * alpha 0.5, batch 1, AMD EPYC Zen 3, one thread, the 7x7 pools ran at 16-18 GB/s
 * against 41-48 for the 28x28 ones (rows of 3 x 8 + 4, which keep a call a row: in one
 * call they measured 5-12% slower at batch 8). Each output is the same sum as before. */
static __attribute__((target("avx2"))) void cpu__pool_plane_256(float *restrict dst, const float *restrict x,
                                                                size_t wi, size_t wo, size_t ho)
{
    for (size_t oy = 0; oy < ho; oy++)
        cpu__pool_row_256(dst + oy * wo, x + 2 * oy * wi, x + (2 * oy + 1) * wi, wo, oy + 1 < ho);
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
    const cpu__dk_fn *kernels = base->half ? cpu__dk_s2 : base->k == 3 ? cpu__dk_3x3 : cpu__dk_kxk;
    size_t step = base->half ? 2 * (size_t)base->wp : (size_t)base->wp; /* from one output row to the next */
    __mmask16 tail = (__mmask16)((1u << (wo - (spr - 1) * 16)) - 1u);
    /* Segments along the padded rows (wp apart; an output row's last wp - wo columns are
     * lanes left out) where that takes fewer of them: 7 rows of 7 in 4 segments, not 7. */
    int wp = base->wp, span = (oy1 - oy0 - 1) * wp + wo, wide = (span + 15) / 16;
    if (wide < segs && !base->half) {
        for (int c0 = cb0 * OCT__DK_MR; c0 < co && c0 < cb1 * OCT__DK_MR; c0 += OCT__DK_MR) {
            cpu__dk_args a = *base;
            a.w = wpk + (size_t)(c0 / OCT__DK_MR) * kdim * OCT__DK_MR;
            a.bias = bias ? bias + c0 : NULL;
            a.rows = co - c0 < OCT__DK_MR ? co - c0 : OCT__DK_MR;
            a.packed_rows = 1;
            float *yc = y + (size_t)c0 * a.ys + (size_t)oy0 * wo;
            for (int s = 0; s < wide;) {
                int nv = wide - s >= OCT__DK_V ? OCT__DK_V : wide - s;
                const float *in[OCT__DK_V];
                float *out[OCT__DK_V];
                __mmask16 mask[OCT__DK_V];
                for (int v = 0; v < nv; v++, s++) {
                    int p0 = s * 16, first = -1;
                    unsigned m = 0;
                    for (int l = 0; l < 16 && p0 + l < span; l++) {
                        int r = (p0 + l) / wp, x = (p0 + l) % wp;
                        if (x >= wo) continue;
                        m |= 1u << l;
                        if (first < 0) first = r * wo + x;
                    }
                    in[v] = xpad + p0;
                    out[v] = yc + (first < 0 ? 0 : first);
                    mask[v] = (__mmask16)m;
                }
                kernels[nv](&a, in, out, mask);
            }
        }
        return;
    }
    int stem = cpu__dk_stem_takes(base);
    for (int c0 = cb0 * OCT__DK_MR, c1; c0 < co && c0 < cb1 * OCT__DK_MR; c0 = c1) {
        cpu__dk_args a = *base;
        /* two blocks a tile where the 7x7 stride-2 tile takes them (both in range) */
        int two = stem && c0 + OCT__DK_MR < co && c0 + OCT__DK_MR < cb1 * OCT__DK_MR;
        int vmax = two ? OCT__DK_STEM_V : OCT__DK_V, mr = two ? 2 * OCT__DK_MR : OCT__DK_MR;
        c1 = c0 + mr;
        a.w = wpk + (size_t)(c0 / OCT__DK_MR) * kdim * OCT__DK_MR;
        a.bias = bias ? bias + c0 : NULL;
        a.rows = co - c0 < mr ? co - c0 : mr;
        float *yc = y + (size_t)c0 * a.ys;
        const cpu__dk_fn *kern = two ? cpu__dk_stem : kernels;
        for (int s = 0; s < segs;) {
            int nv = segs - s >= vmax ? vmax : segs - s;
            const float *in[OCT__DK_V];
            float *out[OCT__DK_V];
            __mmask16 mask[OCT__DK_V];
            for (int v = 0; v < nv; v++, s++) {
                int r = s / spr, x0 = (s % spr) * 16;
                in[v] = xpad + (size_t)r * step + x0;
                out[v] = yc + (size_t)(oy0 + r) * wo + x0;
                mask[v] = x0 + 16 <= wo ? (__mmask16)0xFFFF : tail;
            }
            kern[nv](&a, in, out, mask);
        }
    }
}

/* ---- Stride 2 without AVX-512: the same tiles on AVX2 (cpu__s2_use) */

/* cpu__dk_tile at stride 2 with AVX2's 8 lanes: OCT__DK_MR output channels x nv segments
 * of 8 output pixels (len[v] of them valid, the rest of a row's last segment through a
 * scratch vector), each output the same float sum in the same (c, ky, kx) order as the
 * AVX-512 tile's, bias, accumulate and ReLU after it in the same order: the same bits.
 * Three segments keep 12 sums, 3 inputs and a weight in 16 registers. */
#define OCT__DK2_V 3
#define OCT__DK2_TARGET __attribute__((target("avx2,fma")))
static OCT__DK2_TARGET OCT__DK_INLINE void cpu__dk2_tile(const cpu__dk_args *a, int nv, const float *const *in,
                                                         float *const *out, const int *len)
{
    __m256 acc[OCT__DK_MR][OCT__DK2_V];
    for (int m = 0; m < OCT__DK_MR; m++)
        for (int v = 0; v < nv; v++) acc[m][v] = _mm256_setzero_ps();
    const float *w = a->w;
    size_t wp = (size_t)a->wp, half = (size_t)a->half;
    for (int c = 0; c < a->ci; c++) {
        size_t cofs = (size_t)c * a->plane;
        for (int ky = 0; ky < a->k; ky++)
            for (int kx = 0; kx < a->k; kx++) {
                size_t o = cofs + (size_t)ky * wp + (size_t)(kx & 1) * half + (size_t)(kx >> 1);
                __m256 x[OCT__DK2_V];
                for (int v = 0; v < nv; v++) x[v] = _mm256_loadu_ps(in[v] + o);
                for (int m = 0; m < OCT__DK_MR; m++) {
                    __m256 wv = _mm256_set1_ps(w[m]);
                    for (int v = 0; v < nv; v++) acc[m][v] = _mm256_fmadd_ps(wv, x[v], acc[m][v]);
                }
                w += OCT__DK_MR;
            }
    }
    /* The sums out of registers by constant indices only (an index the loop bound a->rows
     * sets kept every sum in memory, stored after each multiply-add). */
    _Alignas(32) float sum[OCT__DK_MR][OCT__DK2_V][8];
    for (int m = 0; m < OCT__DK_MR; m++)
        for (int v = 0; v < nv; v++) _mm256_store_ps(sum[m][v], acc[m][v]);
    const __m256 zero = _mm256_setzero_ps();
    for (int m = 0; m < OCT__DK_MR && m < a->rows; m++) {
        __m256 b = _mm256_set1_ps(a->bias ? a->bias[m] : 0.0f);
        for (int v = 0; v < nv; v++) {
            float *o = out[v] + (size_t)m * a->ys;
            if (len[v] < 8) { /* a row's last pixels: the same operations one by one */
                float bm = a->bias ? a->bias[m] : 0.0f;
                for (int l = 0; l < len[v]; l++) {
                    float r = sum[m][v][l] + bm;
                    if (a->accumulate) r += o[l];
                    o[l] = a->relu && r < 0.0f ? 0.0f : r;
                }
                continue;
            }
            __m256 r = _mm256_add_ps(_mm256_load_ps(sum[m][v]), b);
            if (a->accumulate) r = _mm256_add_ps(r, _mm256_loadu_ps(o));
            if (a->relu) r = _mm256_max_ps(zero, r); /* r when NaN or -0, as v < 0 ? 0 : v */
            _mm256_storeu_ps(o, r);
        }
    }
}

typedef void (*cpu__dk2_fn)(const cpu__dk_args *a, const float *const *in, float *const *out, const int *len);
#define OCT__DK2_INSTANCE(name, nv)                                                                            \
    static OCT__DK2_TARGET void name(const cpu__dk_args *a, const float *const *in, float *const *out,        \
                                     const int *len)                                                           \
    {                                                                                                          \
        cpu__dk2_tile(a, nv, in, out, len);                                                                    \
    }
OCT__DK2_INSTANCE(cpu__dk2_s2_1, 1)
OCT__DK2_INSTANCE(cpu__dk2_s2_2, 2)
OCT__DK2_INSTANCE(cpu__dk2_s2_3, 3)
#undef OCT__DK2_INSTANCE
static const cpu__dk2_fn cpu__dk2_s2[OCT__DK2_V + 1] = {NULL, cpu__dk2_s2_1, cpu__dk2_s2_2, cpu__dk2_s2_3};

/* cpu__s2_split_fn on AVX2: 8 columns of each half from two loads, as convpack.c's
 * stride-2 segments take them. */
static OCT__DK2_TARGET int cpu__s2_split8(float *restrict even, float *restrict odd, const float *restrict src, int pad,
                                          int j, int j1)
{
    for (; j + 8 <= j1; j += 8) {
        const float *q = src + 2 * j - pad;
        __m256 a = _mm256_loadu_ps(q), b = _mm256_loadu_ps(q + 8);
        _mm256_storeu_ps(even + j, oct__even8(a, b));
        _mm256_storeu_ps(odd + j, oct__odd8(a, b));
    }
    return j;
}

static void cpu__dk2_pad_band_s2(float *buf, const float *x, int ci, int h, int w, int pad, int r0, int hb,
                                 size_t plane, int half)
{
    cpu__s2_pad_band(buf, x, ci, h, w, pad, r0, hb, plane, half, cpu__s2_split8);
}

/* cpu__dk_rows at stride 2 on the AVX2 tiles: segments of 8 pixels along each output
 * row, OCT__DK2_V at a time. */
static void cpu__dk2_rows(const cpu__dk_args *base, const float *wpk, size_t kdim, int co, int cb0, int cb1,
                          const float *bias, const float *xpad, float *y, int wo, int oy0, int oy1)
{
    int spr = (wo + 7) / 8, segs = (oy1 - oy0) * spr;
    size_t step = 2 * (size_t)base->wp; /* two padded rows (each its two halves) an output row */
    for (int c0 = cb0 * OCT__DK_MR; c0 < co && c0 < cb1 * OCT__DK_MR; c0 += OCT__DK_MR) {
        cpu__dk_args a = *base;
        a.w = wpk + (size_t)(c0 / OCT__DK_MR) * kdim * OCT__DK_MR;
        a.bias = bias ? bias + c0 : NULL;
        a.rows = co - c0 < OCT__DK_MR ? co - c0 : OCT__DK_MR;
        float *yc = y + (size_t)c0 * a.ys;
        for (int s = 0; s < segs;) {
            int nv = segs - s >= OCT__DK2_V ? OCT__DK2_V : segs - s;
            const float *in[OCT__DK2_V];
            float *out[OCT__DK2_V];
            int len[OCT__DK2_V];
            for (int v = 0; v < nv; v++, s++) {
                int r = s / spr, x0 = (s % spr) * 8;
                in[v] = xpad + (size_t)r * step + x0;
                out[v] = yc + (size_t)(oy0 + r) * wo + x0;
                len[v] = wo - x0 < 8 ? wo - x0 : 8;
            }
            cpu__dk2_s2[nv](&a, in, out, len);
        }
    }
}
#else
static int cpu__have_direct(void) { return 0; }
static void cpu__dk_pad_band(float *buf, const float *x, int ci, int h, int w, int pad, int oy0, int hb, size_t plane)
{
    (void)buf, (void)x, (void)ci, (void)h, (void)w, (void)pad, (void)oy0, (void)hb, (void)plane;
}
static void cpu__dk_pad_band_s2(float *buf, const float *x, int ci, int h, int w, int pad, int r0, int hb,
                                size_t plane, int half)
{
    (void)buf, (void)x, (void)ci, (void)h, (void)w, (void)pad, (void)r0, (void)hb, (void)plane, (void)half;
}
static void cpu__x2_row(float *dst, const float *src, size_t wo, int accumulate, int relu)
{
    (void)dst, (void)src, (void)wo, (void)accumulate, (void)relu;
}
static void cpu__pool_row(float *dst, const float *r0, const float *r1, size_t wo)
{
    (void)dst, (void)r0, (void)r1, (void)wo;
}
static void cpu__pool_rows2(float *dst, const float *r, size_t wi, size_t wo)
{
    (void)dst, (void)r, (void)wi, (void)wo;
}
static void cpu__x2_row_256(float *dst, const float *src, size_t wo, int accumulate, int relu)
{
    (void)dst, (void)src, (void)wo, (void)accumulate, (void)relu;
}
static void cpu__pool_row_256(float *dst, const float *r0, const float *r1, size_t wo, int spill)
{
    (void)dst, (void)r0, (void)r1, (void)wo, (void)spill;
}
static void cpu__pool_plane_256(float *dst, const float *x, size_t wi, size_t wo, size_t ho)
{
    (void)dst, (void)x, (void)wi, (void)wo, (void)ho;
}
static void cpu__dk_rows(const cpu__dk_args *base, const float *wpk, size_t kdim, int co, int cb0, int cb1,
                         const float *bias, const float *xpad, float *y, int wo, int oy0, int oy1)
{
    (void)base, (void)wpk, (void)kdim, (void)co, (void)cb0, (void)cb1, (void)bias, (void)xpad, (void)y, (void)wo;
    (void)oy0, (void)oy1;
}
static void cpu__dk2_pad_band_s2(float *buf, const float *x, int ci, int h, int w, int pad, int r0, int hb,
                                 size_t plane, int half)
{
    (void)buf, (void)x, (void)ci, (void)h, (void)w, (void)pad, (void)r0, (void)hb, (void)plane, (void)half;
}
static void cpu__dk2_rows(const cpu__dk_args *base, const float *wpk, size_t kdim, int co, int cb0, int cb1,
                          const float *bias, const float *xpad, float *y, int wo, int oy0, int oy1)
{
    (void)base, (void)wpk, (void)kdim, (void)co, (void)cb0, (void)cb1, (void)bias, (void)xpad, (void)y, (void)wo;
    (void)oy0, (void)oy1;
}
#endif

/* ------------------------------------------------------------------------------------ */
/* Context and buffers                                                                    */

static void cpu_release(oct_context *ctx);

/* The forced code path (backend_cpu.h): -1 until oct__cpu_force_path sets one. */
const char *const oct__cpu_path_names[OCT__CPU_PATH_COUNT] = {"auto", "gemm", "im2col"};
static _Atomic int cpu__forced_path = -1;

void oct__cpu_force_path(int path) { cpu__forced_path = path >= 0 && path < OCT__CPU_PATH_COUNT ? path : -1; }

/* The path for a new context: the forced one, else $OCTCL_CPU_PATH, else auto (with
 * $OCTCL_CPU_CONVG=im2col, the older spelling, as im2col). */
static oct_status cpu__path(int *path)
{
    *path = cpu__forced_path;
    if (*path >= 0) return OCT_OK;
    *path = OCT__CPU_PATH_AUTO;
    const char *env = getenv("OCTCL_CPU_PATH");
    if (env && *env) {
        for (int i = 0; i < OCT__CPU_PATH_COUNT; i++)
            if (strcmp(env, oct__cpu_path_names[i]) == 0) return *path = i, OCT_OK;
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu: OCTCL_CPU_PATH = '%s' (must be auto, gemm or im2col)", env);
    }
    const char *convg = getenv("OCTCL_CPU_CONVG");
    if (convg && strcmp(convg, "im2col") == 0) *path = OCT__CPU_PATH_IM2COL;
    return OCT_OK;
}

/* A one-digit setting from the environment: either digit of `two` ("01": a switch; "24":
 * $OCTCL_CPU_WINO_TILE), any other value refused; unset or empty leaves *value as it is. */
static oct_status cpu__env_digit(const char *name, const char *two, int *value)
{
    const char *env = getenv(name);
    if (!env || !*env) return OCT_OK;
    if ((env[0] != two[0] && env[0] != two[1]) || env[1] != '\0')
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu: %s = '%s' (must be %c or %c, or unset)", name, env, two[0], two[1]);
    *value = env[0] - '0';
    return OCT_OK;
}

/* A 0/1 switch from the environment. */
static oct_status cpu__switch(const char *name, int *value) { return cpu__env_digit(name, "01", value); }

/* Bytes of the last-level cache of cpu0 from sysfs (Linux), 0 where it is not known.
 * (sysconf's _SC_LEVEL3_CACHE_SIZE read 320 MiB on a VM whose cores share 32.) */
static size_t cpu__llc_bytes(void)
{
    size_t best = 0;
    for (int i = 0; i < 8; i++) {
        char path[96], text[32] = "";
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        char *got = fgets(text, sizeof text, f);
        fclose(f);
        char *end = NULL;
        unsigned long long v = got ? strtoull(text, &end, 10) : 0;
        if (!end || end == text) continue;
        if (*end == 'K') v <<= 10;
        else if (*end == 'M') v <<= 20;
        if (v > best && v < ((unsigned long long)1 << 40)) best = (size_t)v;
    }
    return best;
}

/* The graph's depth-first budgets (oct__backend depth): groups of two images a thread
 * (rounded down to a power of two), fewer where a node's inputs and outputs for them
 * would outgrow twice the threads' L2 caches (one core's L2 each, from sysconf; 512 KiB
 * where it is not known); groups only
 * where a node's for the whole batch outgrow a quarter of the last-level cache, at least
 * twice that budget. $OCTCL_CPU_DEPTH: 0 none, or "G,B" in KiB (the two budgets); unset
 * or empty, those. Measured on AMD EPYC Zen 4 (1 MiB of L2 a core, 32 MiB of L3), passes
 * alternated in one process: OctNetMini at batch 32, two threads, groups of 4 against 2
 * alpha 0 1.003x, 0.25 1.086x, 0.5 1.097x, 8 against 4 0.993-1.007x; one thread, 2
 * against 4 1.013-1.019x, 2 against 1 (alpha 0.5) 1.115x; `octcl classify` (28x28,
 * batch 256) two threads 4 against 8 1.03-1.04x, one thread 2 against 4 1.056x. At batch
 * 8 (4-8 MB a layer, within the L3) groups forced ran 0.95-0.97x, at batch 16 1.04-1.05x:
 * hence a quarter of the L3. */
static oct_status cpu__depth_budget(int threads, oct__depth_budget *b)
{
    const char *env = getenv("OCTCL_CPU_DEPTH");
    /* A power of two: groups of 3 cut a plane's Winograd tiles unevenly (OctNetMini alpha
     * 0, batch 32: 25.9 ms against 21.0 for groups of 2). */
    for (b->images = 2; b->images <= threads && b->images < (1 << 20);) b->images *= 2;
    if (env && *env) {
        char *end = NULL, *end2 = NULL;
        errno = 0;
        long long g = env[0] >= '0' && env[0] <= '9' ? strtoll(env, &end, 10) : -1, k = 0;
        if (g > 0 && end && *end == ',' && end[1] >= '0' && end[1] <= '9') k = strtoll(end + 1, &end2, 10);
        int ok = errno == 0 && end && ((g == 0 && *end == '\0') || (g > 0 && end2 && *end2 == '\0'));
        if (!ok || g > (1LL << 30) || k > (1LL << 30))
            return oct__fail(OCT_ERR_BAD_SIZE, "cpu: OCTCL_CPU_DEPTH = '%s' (must be 0, or G,B in KiB, or unset)", env);
        b->group = (size_t)g * 1024, b->batch = (size_t)k * 1024;
        return OCT_OK;
    }
    long l2 = -1;
#ifdef _SC_LEVEL2_CACHE_SIZE
    l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    if (l2 <= 0) l2 = 512L * 1024;
    b->group = 2 * (size_t)l2 * (size_t)threads;
    b->batch = cpu__llc_bytes() / 4;
    if (b->batch < 2 * b->group) b->batch = 2 * b->group;
    return OCT_OK;
}

static oct_status cpu_init(oct_context *ctx)
{
    int path, wino = -1, gemm_1x1 = 1, small = -1, fuse_up = 1, implicit = 1, shared_b = 1, wino_tile = -1;
    int affinity = 1, stride2 = 1, pair_side = 1;
    OCT__TRY(cpu__path(&path));
    OCT__TRY(cpu__switch("OCTCL_CPU_PAIR_SIDE", &pair_side));
    OCT__TRY(cpu__env_digit("OCTCL_CPU_WINO_TILE", "24", &wino_tile)); /* 2 or 4: every Winograd on that tile */
    OCT__TRY(cpu__switch("OCTCL_CPU_FUSE_UP", &fuse_up));
    OCT__TRY(cpu__switch("OCTCL_CPU_IMPLICIT", &implicit));
    OCT__TRY(cpu__switch("OCTCL_CPU_WINOGRAD", &wino));
    OCT__TRY(cpu__switch("OCTCL_CPU_GEMM_PACKED", &gemm_1x1));
    OCT__TRY(cpu__switch("OCTCL_CPU_SMALL", &small));
    OCT__TRY(cpu__switch("OCTCL_CPU_SHARED_B", &shared_b));
    OCT__TRY(cpu__switch("OCTCL_CPU_AFFINITY", &affinity));
    OCT__TRY(cpu__switch("OCTCL_CPU_STRIDE2", &stride2));
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

    oct__depth_budget depth = {0, 0, 0};
    OCT__TRY(cpu__depth_budget((int)threads, &depth));

    oct__cpu_state *st = oct__calloc(1, sizeof *st);
    if (!st) return oct__fail(OCT_ERR_HOST_MEMORY, "cpu: out of host memory for the backend state");
    ctx->state = st;
    oct_status s = oct__pool_create((int)threads, &st->pool);
    if (s != OCT_OK) goto fail;
    st->threads = oct__pool_size(st->pool);
    st->direct = cpu__have_direct();
    oct__tune_cpu(ctx, st->threads, &st->tune); /* tuning hooks: tune.c */
#ifdef OCT__CPU_NO_DIRECT /* the im2col + GEMM path and plain loops only (for testing) */
    st->direct = 0;
#endif
    if (path == OCT__CPU_PATH_GEMM) st->direct = 0;
    st->im2col = path == OCT__CPU_PATH_IM2COL;
    st->wino = wino;
    st->wino_tile = wino_tile;
    st->gemm_1x1 = gemm_1x1;
    st->small = small;
    st->fuse_up = fuse_up;
    st->pair_side = pair_side;
    st->depth = depth;
    st->implicit = implicit && path != OCT__CPU_PATH_IM2COL;
    st->shared_b = shared_b;
    st->affinity = affinity;
    st->stride2 = stride2;
    if (path != OCT__CPU_PATH_AUTO) { /* say so: a forced path is a test's, never a default */
        size_t len = strlen(ctx->info.reason);
        snprintf(ctx->info.reason + len, sizeof ctx->info.reason - len, "; cpu code path forced: %s",
                 oct__cpu_path_names[path]);
    }
    st->scratch = oct__calloc((size_t)st->threads, sizeof *st->scratch);
    if (!st->scratch) {
        s = oct__fail(OCT_ERR_HOST_MEMORY, "cpu: out of host memory for %d scratch slots", st->threads);
        goto fail;
    }
    oct__tune_cpu_report(ctx, &st->tune);
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
    free(st->bshared.f);
    free(st->vshared.f);
    for (int i = 0; i < OCT__CPU_PACKED_SLOTS; i++) free(st->packed[i].packed);
    free(st->index);
    free(st);
    ctx->state = NULL;
}

static oct_status cpu_alloc(oct_context *ctx, oct__buf *b, size_t count)
{
    (void)ctx;
    b->host = cpu__alloc_floats(count);
    if (!b->host) return oct__fail(OCT_ERR_DEVICE_MEMORY, "cpu: out of memory allocating %zu floats", count);
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
    while (cpu__take(&j->work, t, &r, &r1))
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
            /* One piece: the GEMM writes y itself. Not with accumulate: the GEMM would add
             * the old value before the bias, (old + sum) + bias, where cpu__store adds it
             * after, (sum + bias) + old, as the direct kernel does; the pieces a chunk
             * holds follow the batch and the thread count (a depth-first group of fewer
             * images, test_graph), and the bits must not. */
            if (np == 1 && !op->accumulate) {
                float *yp = cpu__image(y, pc[0].b) + (size_t)pc[0].oy0 * wo;
                oct__sgemm(0, 0, co, (int)cols, (int)j->kdim, wt, (int)j->kdim, col, (int)ld, yp, (int)hw, 0);
                if (bias || op->relu) cpu__bias_relu(yp, co, cols, hw, bias, op->relu);
                continue;
            }
            oct__sgemm(0, 0, co, (int)cols, (int)j->kdim, wt, (int)j->kdim, col, (int)ld, out, (int)ld, 0);
            for (int i = 0; i < np; i++)
                cpu__store(cpu__image(y, pc[i].b) + (size_t)pc[i].oy0 * wo, hw, out + pc[i].c0, ld, co,
                           (size_t)(pc[i].oy1 - pc[i].oy0) * wo, bias, op->accumulate, op->relu);
        }
}

/* Steps of 16 outputs a row whose masks cpu__pooler holds (rows up to 1024 outputs; wider
 * ones take the separable rows). */
#define CPU__MAX3S2_STEPS 64
/* A pooling run a block of channel planes at a time by the op that wrote them (the
 * direct kernel's conv2d_pool): the op, the row loops, the stem pool's masks. */
typedef struct {
    const oct__poolg_op *op;
    int vec;    /* the row loops (cpu__rows_isa) */
    int max3s2; /* 1: cpu__g_max3s2_512 or _256 rows */
#if defined(__GNUC__) && defined(__x86_64__)
    __mmask16 mk[6 * CPU__MAX3S2_STEPS]; /* cpu__g_max3s2_masks's, for the AVX-512 rows */
#endif
} cpu__pooler;
static void cpu__pooler_init(cpu__pooler *pl, const oct__poolg_op *op, int vec);
static int cpu__rows_isa(const oct__cpu_state *st);
/* Output planes [c0, c1) of image b of pl's pool; row: x->w + 16 floats of scratch. */
static void cpu__pool_planes(const cpu__pooler *pl, float *row, int b, int c0, int c1);

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
    const oct__view *x2; /* conv2d_pair: the second input, stacked after op->x's channels */
    const float *bias;   /* per output channel, or NULL */
    oct__cpu_state *st;
    const float *wpk;   /* packed weights */
    size_t kdim;
    int rows;           /* output rows per band */
    int bands;          /* bands per image: ceil(ho / rows) */
    int groups;         /* channel-block groups */
    int blocks;         /* channel blocks: ceil(co / OCT__DK_MR) */
    int wp;             /* padded row length: w + 2 pad */
    cpu__chunks work;   /* over the n * bands * groups items */
    const cpu__pooler *pool; /* pool each block of channels as it is done (cpu__conv2d), or NULL */
} cpu__direct_job;

static void cpu__direct_task(void *arg, int t)
{
    cpu__direct_job *j = arg;
    const oct__conv_op *op = j->op;
    const oct__view *x = &op->x, *y = &op->y;
    int ho = y->h, wo = y->w, k = op->k;
    float *buf = j->st->scratch[t].f;
    size_t i, i1, held = SIZE_MAX; /* the (image, band) in buf */
    int ci = x->c + (j->x2 ? j->x2->c : 0);
    int s = op->stride, half = s == 2 ? (j->wp + 1) / 2 : 0;
    cpu__dk_args base = {NULL, NULL, ci, k, half ? 2 * half : j->wp, 0, (size_t)ho * wo, 0, op->accumulate, op->relu,
                         0, half};
    while (cpu__take(&j->work, t, &i, &i1))
        for (; i < i1; i++) {
            size_t band = i / (size_t)j->groups;
            int g = (int)(i % (size_t)j->groups), b = (int)(band / (size_t)j->bands);
            int oy0 = (int)(band % (size_t)j->bands) * j->rows, oy1 = oy0 + j->rows < ho ? oy0 + j->rows : ho;
            /* Padded rows [s oy0, s (oy1 - 1) + k): input row iy = row - pad, zeros outside. */
            int hb = s * (oy1 - oy0 - 1) + k;
            base.plane = (size_t)hb * (size_t)base.wp;
            if (band != held) {
                if (half && !j->st->direct) /* stride 2 without AVX-512: AVX2 (cpu__s2_use) */
                    cpu__dk2_pad_band_s2(buf, cpu__image(x, b), x->c, x->h, x->w, op->pad, s * oy0, hb, base.plane,
                                         half);
                else if (half)
                    cpu__dk_pad_band_s2(buf, cpu__image(x, b), x->c, x->h, x->w, op->pad, s * oy0, hb, base.plane,
                                        half);
                else
                    cpu__dk_pad_band(buf, cpu__image(x, b), x->c, x->h, x->w, op->pad, oy0, hb, base.plane);
                if (j->x2) /* stride 1 only */
                    cpu__dk_pad_band(buf + (size_t)x->c * base.plane, cpu__image(j->x2, b), j->x2->c, x->h, x->w,
                                     op->pad, oy0, hb, base.plane);
                held = band;
            }
            int cb0 = (int)((size_t)j->blocks * g / j->groups), cb1 = (int)((size_t)j->blocks * (g + 1) / j->groups);
            if (j->pool) { /* one band (cpu__direct): each block's planes pooled while in this core's caches */
                float *row = buf + (size_t)ci * base.plane + 16;
                /* two blocks a step where the stem's tile takes them (cpu__dk_stem) */
                int step = j->st->direct && cpu__dk_stem_takes(&base) ? 2 : 1;
                for (int cb = cb0, cb2; cb < cb1; cb = cb2) {
                    cb2 = cb + step < cb1 ? cb + step : cb1;
                    if (half && !j->st->direct)
                        cpu__dk2_rows(&base, j->wpk, j->kdim, y->c, cb, cb2, j->bias, buf, cpu__image(y, b), wo,
                                      oy0, oy1);
                    else
                        cpu__dk_rows(&base, j->wpk, j->kdim, y->c, cb, cb2, j->bias, buf, cpu__image(y, b), wo,
                                     oy0, oy1);
                    int c1 = cb2 * OCT__DK_MR;
                    cpu__pool_planes(j->pool, row, b, cb * OCT__DK_MR, c1 < y->c ? c1 : y->c);
                }
                continue;
            }
            if (half && !j->st->direct)
                cpu__dk2_rows(&base, j->wpk, j->kdim, y->c, cb0, cb1, j->bias, buf, cpu__image(y, b), wo, oy0, oy1);
            else
                cpu__dk_rows(&base, j->wpk, j->kdim, y->c, cb0, cb1, j->bias, buf, cpu__image(y, b), wo, oy0, oy1);
        }
}

static void cpu__cache_put(oct__cpu_state *st, cpu__packed_t e);

/* The packed copy of kind `kind` made from (wb, wb2) for co output channels, or NULL. */
static const float *cpu__cache_get(const oct__cpu_state *st, const oct__buf *wb, const oct__buf *wb2, int co, int kind)
{
    size_t count = wb->count + (wb2 ? wb2->count : 0);
    const float *host2 = wb2 ? wb2->host : NULL;
    for (int i = 0; i < OCT__CPU_PACKED_SLOTS; i++) {
        const cpu__packed_t *p = &st->packed[i];
        if (p->src == wb->host && p->src2 == host2 && p->count == count && p->co == co && p->kind == kind)
            return p->packed;
    }
    return NULL;
}

/* The weights of op packed for the direct kernel, from the cache or packed now:
 *   weight (co, kdim) -> (co / MR rounded up, kdim, MR), channels past co zero;
 * with wb2 (conv2d_pair), row o is wb's row o then wb2's: the weights of the stacked
 * input, kdim the two rows' length together. */
static oct_status cpu__packed_weights(oct__cpu_state *st, const oct__buf *wb, const oct__buf *wb2, int co,
                                      size_t kdim, const float **out)
{
    size_t count = wb->count + (wb2 ? wb2->count : 0);
    const float *host2 = wb2 ? wb2->host : NULL;
    if ((*out = cpu__cache_get(st, wb, wb2, co, OCT__CPU_PACK_DIRECT))) return OCT_OK;
    size_t blocks = ((size_t)co + OCT__DK_MR - 1) / OCT__DK_MR;
    if (kdim > SIZE_MAX / OCT__DK_MR / sizeof(float) / blocks)
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu conv2d: %d x %zu weights are too many to pack", co, kdim);
    float *pk = oct__cpu_alloc_packed(blocks * kdim * OCT__DK_MR);
    if (!pk)
        return oct__fail(OCT_ERR_DEVICE_MEMORY, "cpu conv2d: out of memory packing %d x %zu weights", co, kdim);
    const float *src = wb->host;
    size_t k1 = wb->count / (size_t)co, k2 = kdim - k1; /* row lengths in wb and wb2 */
    for (size_t bl = 0; bl < blocks; bl++)
        for (size_t i = 0; i < kdim; i++)
            for (int m = 0; m < OCT__DK_MR; m++) {
                size_t o = bl * OCT__DK_MR + (size_t)m;
                float v = 0.0f;
                if (o < (size_t)co) v = i < k1 ? src[o * k1 + i] : host2[o * k2 + (i - k1)];
                pk[(bl * kdim + i) * OCT__DK_MR + (size_t)m] = v;
            }
    size_t bytes = blocks * kdim * OCT__DK_MR * sizeof(float);
    cpu__cache_put(st, (cpu__packed_t){wb->host, host2, count, co, pk, bytes, OCT__CPU_PACK_DIRECT});
    *out = pk;
    return OCT_OK;
}

/* Keep entry e (its packed copy now owned by the cache) in a slot. */
static void cpu__cache_put(oct__cpu_state *st, cpu__packed_t e)
{
    size_t bytes = e.bytes;
    /* Over the byte budget: free slots in turn until it fits (or all are free). */
    for (int i = 0; i < OCT__CPU_PACKED_SLOTS && st->packed_bytes + bytes > OCT__CPU_PACKED_BYTES; i++) {
        cpu__packed_t *p = &st->packed[st->packed_next];
        st->packed_next = (st->packed_next + 1) % OCT__CPU_PACKED_SLOTS;
        if (!p->src) continue;
        free(p->packed);
        st->packed_bytes -= p->bytes;
        memset(p, 0, sizeof *p);
    }
    /* A free slot, else the next in turn. */
    int slot = -1;
    for (int i = 0; i < OCT__CPU_PACKED_SLOTS && slot < 0; i++)
        if (!st->packed[i].src) slot = i;
    if (slot < 0) {
        slot = st->packed_next;
        st->packed_next = (st->packed_next + 1) % OCT__CPU_PACKED_SLOTS;
        free(st->packed[slot].packed);
        st->packed_bytes -= st->packed[slot].bytes;
    }
    st->packed[slot] = e;
    st->packed_bytes += bytes;
}

/* The direct path of op (stride 1, with x2 over the stacked input [op->x; x2]; or stride
 * 2 without x2): bands of at most OCT__CPU_BAND_FLOATS of padded input (at least one
 * output row). */
static oct_status cpu__direct(oct__cpu_state *st, const oct__conv_op *op, const oct__view *x2, const float *wpk,
                              size_t kdim, const float *bias, size_t macs, const oct__poolg_op *pool, int *pooled)
{
    const oct__view *x = &op->x, *y = &op->y;
    int k = op->k, pad = op->pad, n = y->n, co = y->c, ho = y->h, s = op->stride;
    int ci = x->c + (x2 ? x2->c : 0);
    int wp = x->w + 2 * pad;
    size_t row_floats = s == 2 ? 2 * (((size_t)wp + 1) / 2) : (size_t)wp; /* stride 2: its two halves */
    size_t per_row = (size_t)ci * row_floats, rows = ((size_t)st->tune.band_kfloats << 10) / per_row; /* tuned */
    rows = rows > (size_t)k ? (rows - (size_t)k) / (size_t)s + 1 : 1;
    if (rows > (size_t)ho) rows = (size_t)ho;
    int blocks = (co + OCT__DK_MR - 1) / OCT__DK_MR, bands = (int)(((size_t)ho + rows - 1) / rows);
    /* Fewer images than two per thread: cut the channels in one group per thread. */
    int groups = n < 2 * st->threads && macs >= OCT__CPU_PAR_MACS ? st->threads : 1;
    if (groups > blocks) groups = blocks;
    cpu__direct_job job = {op, x2, bias, st, wpk, kdim, (int)rows, bands, groups, blocks, wp, {0}, NULL};
    /* conv2d_pool: where one band holds every output row, each block of channels is
     * pooled right after the kernel wrote it (the pool's rows need no other band's). */
    cpu__pooler pl;
    if (pool && bands == 1) {
        cpu__pooler_init(&pl, pool, cpu__rows_isa(st));
        job.pool = &pl;
        cpu__unpack(st, pool->y.buf->host);
        *pooled = 1;
        st->pools_fused++;
    }
    cpu__chunk(st, &job.work, (size_t)n * bands * groups, 1, macs, OCT__CPU_PAR_MACS);
    int threads = cpu__threads(st, &job.work);
    size_t need = per_row * ((size_t)s * (rows - 1) + (size_t)k) + 16 + (job.pool ? (size_t)pool->x.w + 16 : 0);
    for (int t = 0; t < threads; t++) OCT__TRY(cpu__scratch(st, t, need, "conv2d"));
    oct__pool_run(st->pool, threads, cpu__direct_task, &job);
    return OCT_OK;
}

/* The upsample cpu_conv_up left pending (NULL: none), taken by a path that adds it in
 * its own output stores: y = relu((its value) + up(c, y / 2, x / 2)), *relu being the
 * op's ReLU (which that path's op carries as 0). */
static const oct__view *cpu__take_up(oct__cpu_state *st, int *relu)
{
    const oct__view *up = st->up;
    st->up = NULL;
    if (up) *relu = st->up_relu;
    return up;
}

/* Whether AVX2 vector code serves where the AVX-512 kernels do not (CPUs without
 * AVX-512; OCTCL_CPU_PATH=gemm): the CPU has AVX2 + FMA and the GEMM kernel in use is a
 * vector one ($OCTCL_GEMM=scalar keeps the plain C). */
static int cpu__avx2(void)
{
    return oct__sgemm_isa() != OCT__GEMM_SCALAR && oct__sgemm_supported(OCT__GEMM_AVX2);
}

/* ---- Winograd F(2x2, 3x3) and F(4x4, 3x3) for 3x3 stride-1 convolutions (winograd.c) */

/* Tiles per GEMM block: the 16 GEMMs' column count (F(4x4): the 36 GEMMs'). */
#ifndef OCT__CPU_WINO_TB
#define OCT__CPU_WINO_TB 96
#endif
#ifndef OCT__CPU_WINO4_TB
#define OCT__CPU_WINO4_TB 64
#endif

/* How the tiles of a Winograd convolution are cut among the threads (cpu__wino_plan),
 * costed in quarter tiles: a block of n tiles costs its 16 GEMMs over n columns rounded
 * up to the kernel's width (a part-filled kernel call costs a whole one) and a fixed
 * OCT__CPU_WINO_FIXED tiles more (the calls, the weights they stream); the shared mode
 * costs each thread its share of the GEMMs, the fixed cost and the whole block's input
 * transform at a quarter of a tile each (every thread transforms the block itself). */
#ifndef OCT__CPU_WINO_FIXED
#define OCT__CPU_WINO_FIXED 8
#endif
#define OCT__CPU_WINO_SIM_THREADS 64

/* The GEMMs' columns for n tiles: n rounded up to the kernel's width nr. */
static size_t cpu__wino_cols(size_t n, size_t nr) { return (n + nr - 1) / nr * nr; }

static size_t cpu__wino_block_cost(size_t n, size_t nr) { return 4 * (cpu__wino_cols(n, nr) + OCT__CPU_WINO_FIXED); }

/* The GEMM columns the kernels run for n tiles, in whole-kernel columns: with the AVX-512
 * kernel (nr = 32) a last strip of 9-16 columns runs on its 16-column kernel, one of 8 or
 * fewer on the narrow kernel at one FMA of 8 lanes a column (half the wide kernels' 16,
 * so two columns' worth), 17-24 as 16 and the rest narrow (apacked_direct); otherwise n
 * rounded up to nr. */
static size_t cpu__wino_cols_run(size_t n, size_t nr)
{
    if (nr != 32) return cpu__wino_cols(n, nr);
    size_t full = n / 32 * 32, rem = n - full;
    if (rem == 0) return full;
    if (rem <= 8) return full + 2 * rem;
    if (rem <= 16) return full + 16;
    if (rem <= 24) return full + 16 + 2 * (rem - 16);
    return full + 32;
}

/* A block of n tiles as it runs: its GEMMs' columns (cpu__wino_cols_run), the fixed
 * cost, and its input transform at a quarter of a GEMM column a tile (as
 * cpu__wino_shared_cost counts it). */
static size_t cpu__wino_block_run_cost(size_t n, size_t nr)
{
    return 4 * (cpu__wino_cols_run(n, nr) + OCT__CPU_WINO_FIXED) + n;
}

/* Each thread's finish time (free_at[0 .. threads), zeroed first) and the last one's,
 * returned, when `tiles` are cut into blocks of `tb` (or, nb > 0, into nb even blocks),
 * each costing cost(its tiles, nr), and the blocks into chunks as cpu__chunk cuts them,
 * each chunk taken by the thread free first. */
static size_t cpu__wino_loads(const oct__cpu_state *st, size_t tiles, size_t tb, size_t nb, size_t nr,
                              size_t (*cost)(size_t, size_t), size_t free_at[OCT__CPU_WINO_SIM_THREADS])
{
    size_t end = 0, blocks = nb ? nb : (tiles + tb - 1) / tb;
    memset(free_at, 0, OCT__CPU_WINO_SIM_THREADS * sizeof *free_at);
    cpu__chunks c;
    cpu__chunk(st, &c, blocks, 1, 1, 0);
    for (size_t i = 0; i < c.chunks; i++) {
        size_t lo, hi, t = 0, sum = 0;
        cpu__chunk_range(&c, i, &lo, &hi);
        for (size_t b = lo; b < hi; b++) {
            size_t b0 = nb ? tiles * b / nb : b * tb, b1 = nb ? tiles * (b + 1) / nb : b0 + tb < tiles ? b0 + tb : tiles;
            sum += cost(b1 - b0, nr);
        }
        for (int k = 1; k < st->threads; k++)
            if (free_at[k] < free_at[t]) t = (size_t)k;
        free_at[t] += sum;
        if (free_at[t] > end) end = free_at[t];
    }
    return end;
}

/* The finish time of the last thread when `tiles` are cut into blocks of `tb`, costed by
 * cpu__wino_block_cost. */
static size_t cpu__wino_makespan(const oct__cpu_state *st, size_t tiles, size_t tb, size_t nr)
{
    size_t free_at[OCT__CPU_WINO_SIM_THREADS];
    return cpu__wino_loads(st, tiles, tb, 0, nr, cpu__wino_block_cost, free_at);
}

/* The shared mode's time: blocks of `tb`, one at a time, each thread with its share. */
static size_t cpu__wino_shared_cost(const oct__cpu_state *st, size_t tiles, size_t tb, size_t nr)
{
    size_t cost = 0;
    for (size_t t0 = 0; t0 < tiles; t0 += tb) {
        size_t n = tiles - t0 < tb ? tiles - t0 : tb;
        cost += 4 * cpu__wino_cols(n, nr) / (size_t)st->threads + 4 * OCT__CPU_WINO_FIXED + n;
    }
    return cost;
}

/* cpu__wino_plan's blocks of tb with a short last one, cut evenly instead: the number of
 * even blocks (the count rounded up to a multiple of the threads), or 0 to keep the plan.
 * Where there are at most four a thread, at least 16 tiles a block, and the GEMM (kernel
 * isa) reads every strip of the even blocks' B in place (oct__sgemm_b_in_place). The cost
 * model above weighs a block by its GEMM columns (rounded up to the kernel's), so a short
 * last block reads as dear as a whole one while its transforms, per tile, are not: a
 * 56x56 plane's 196 F(4x4) tiles ran as 64 + 64 + 64 + 4, one thread on 128 tiles and
 * the other on 68; now 4 x 49. The bits do not change (a tile's sums do not depend on its
 * block). Both cuts in one process, passes alternated, minima, two threads, AMD EPYC Zen
 * 4 (AVX-512), even / as before: ten 3x3 layers at 56x56, batch 1, 32 -> 32 0.85-0.87x,
 * 64 -> 64 0.82-0.89x (batch 2: 0.94x, 1.01x); Oct-ResNet-50 batch 1, alpha 0's layer1
 * 3x3 layers 0.81-0.82x (1.58 -> 1.28 ms; the pass's layer sum 0.98-0.99x), alpha 0.5's
 * layer1 H->H 0.94x (the sum 0.999x); batch 8 and OctNetMini (whose planes cut evenly
 * already) unchanged. Even cuts that end on a packed strip lose: 49 tiles as 25 + 24
 * ran 1.27x the time of one block at one thread, 32 + 17 1.06x, so 49 keeps 32 + 17.
 *   Of the even cuts into a multiple of the threads, up to that count, whose blocks
 * are at most twice tb, the cheapest as the kernels run them (cpu__wino_block_run_cost,
 * simulated as cpu__wino_loads): 196 tiles on two threads as 2 x 98 (3 x 32 + 2 narrow
 * columns) rather than 4 x 49 (32, a 16-column strip at half the kernel's width, 1
 * narrow): 530 against 562 quarter tiles a thread. Intel Xeon (Emerald Rapids,
 * AVX-512), two threads, old and new library alternated by process, minima of 6-8
 * rounds: ten 3x3 layers at 56x56, 32 -> 32 0.88x at batch 1 (1.471 -> 1.291 ms) and
 * batch 2 (392 tiles as 4 x 98), 64 -> 64 0.94-0.97x; Oct-ResNet-50 batch 1, alpha
 * 0.5's 56x56 H->H 0.90x (0.459 -> 0.412 ms), alpha 0's 56x56 3x3 layers 0.985x; batch
 * 8 (depth-first groups of 392 tiles) even. */
static size_t cpu__wino_even(const oct__cpu_state *st, int isa, size_t tiles, size_t tb, size_t nr)
{
    size_t blocks = (tiles + tb - 1) / tb, th = (size_t)st->threads;
    if (th < 2 || tiles % tb == 0 || blocks > 4 * th) return 0;
    size_t n = (blocks + th - 1) / th * th, best = 0, best_end = 0;
    size_t load[OCT__CPU_WINO_SIM_THREADS];
    for (size_t c = n; c >= th; c -= th) {
        if (c < n && (th > OCT__CPU_WINO_SIM_THREADS || (tiles + c - 1) / c > 2 * tb)) break;
        if (tiles < 16 * c || tiles / c > INT_MAX - 1) continue;
        int lo = (int)(tiles / c), hi = (int)((tiles + c - 1) / c);
        if (!oct__sgemm_b_in_place(isa, lo) || !oct__sgemm_b_in_place(isa, hi)) continue;
        size_t end = th > OCT__CPU_WINO_SIM_THREADS
                         ? 0
                         : cpu__wino_loads(st, tiles, 0, c, nr, cpu__wino_block_run_cost, load);
        if (!best || end < best_end) best = c, best_end = end;
    }
    return best;
}

/* cpu__wino_plan's blocks of tb halved where they give each thread one (or fewer), the
 * halves divide the tiles evenly, are whole column strips of the GEMM kernel (nr: 32
 * tiles or a multiple on AVX-512, the only kernel that reads B in place,
 * oct__sgemm_b_in_place), and the transformed weights (wfloats, streamed once per block)
 * are at most OCT__CPU_WINO_HALVE_FLOATS: two blocks a thread, taken as the threads come
 * free, so that a thread that falls behind (its core busier, its input in the other's
 * cache) hands its second block over. The plan's cost model cannot see that: it weighs
 * two blocks a thread at the fixed cost twice. Both ways alternated, processes a round,
 * minima, two threads, AMD EPYC Zen 4 (AVX-512): OctNetMini at batch 1 (64 F(4x4) tiles
 * a 32x32 plane: 32 + 32 before, 4 x 16 now) alpha 0 0.701 -> 0.669 ms, alpha 0.5 0.439
 * -> 0.429 (three rounds each in a quiet spell; in a slow one 0.995 -> 0.951 and within
 * 1%); Oct-ResNet-50 batch 8, the 14x14 F(4x4) layers of 128 tiles (64 + 64 before, now
 * 4 x 32): alpha 0.5's 128-channel H->H 10-20% faster (1.133 -> 0.913 ms), alpha 0's 256
 * channels 2-3% (weights 9.4 MB). Layer 4's F(2x2) 512 -> 512 (16.8 MB of weights) ran
 * 1-7% slower halved (5.771 -> 6.175 ms), so it keeps its blocks.
 *   Until 2026-12-07 halves of 16 tiles were taken too, such as OctNetMini's 64 tiles as
 * 4 x 16, which run on the 16-column kernel: 8 sums in flight, which keep a Zen 4's FMA
 * pipe (one 512-bit FMA a cycle) busy but not the two 512-bit FMA units of an Intel
 * Xeon (Emerald Rapids) with their 4-cycle latency. There, two threads, old and new
 * library alternated by process, minima of 6 rounds, 2 x 32 against 4 x 16: OctNetMini
 * at batch 1 alpha 0 0.624 -> 0.536 ms, alpha 0.5 0.401 -> 0.376; batch 32 0.99x / 1.01x;
 * Oct-ResNet-50 at batches 1 and 8 unchanged (its halves are 32 tiles). A 16 x 16 tile
 * over two 8-row weight panels (16 sums, each term a load of B and 16 of A) read 0.583 /
 * 0.388 ms. The larger effect decides: the Zen 4's 0.954x above is lost there. */
#ifndef OCT__CPU_WINO_HALVE_FLOATS
#define OCT__CPU_WINO_HALVE_FLOATS ((size_t)3 << 20)
#endif
static size_t cpu__wino_halve(const oct__cpu_state *st, int isa, size_t tiles, size_t tb, size_t nr,
                              size_t wfloats)
{
    size_t th = (size_t)st->threads, half = tb / 2;
    if (th < 2 || tb == 0 || (tiles + tb - 1) / tb > th || wfloats > OCT__CPU_WINO_HALVE_FLOATS) return tb;
    if (half < nr || half % nr != 0 || tiles % half != 0 || tiles / half < 2 * th || half > INT_MAX) return tb;
    return oct__sgemm_b_in_place(isa, (int)half) ? half : tb;
}

/* One more wait on the pool, in cpu__wino_plan's quarter tiles of a 64 -> 64 layer (a
 * tile's GEMMs cost in proportion to ci co, the wait does not): F(4x4)'s shared mode
 * waits between its two steps. */
#ifndef OCT__CPU_WINO_WAIT
#define OCT__CPU_WINO_WAIT 16
#endif

/* Whether F(4x4) on two threads runs the shared mode instead of the blocks cpu__wino_plan
 * and cpu__wino_even chose (blocks of tb, or nb even ones). The plan weighs the shared
 * mode as if each thread transformed the whole block's input and ran all of its columns
 * rounded up to the kernel's width; F(4x4)'s shared mode cuts that transform by input
 * channels (step 1, then a wait), and the AVX-512 kernels run a short last strip on
 * narrower kernels. Costed as they run (cpu__wino_cols_run, each tile's input transform a
 * quarter of a GEMM column on both sides), shared wins where the blocks leave one thread
 * with under 2/3 of the other's work and it is cheaper than the busier thread's share: a
 * 28x28 plane's 49 tiles at batch 1 ran as blocks of 32 and 17; shared gives each thread
 * the GEMMs of half the output channels over all 49. Ten 3x3 layers at 28x28, batch 1,
 * two threads, six processes a way alternated, AMD EPYC Zen 4 (AVX-512), minima, shared
 * / blocks: 64 -> 64 1.328 / 1.426 ms (0.93x), 128 -> 128 4.174 / 4.525 (0.92x); inside
 * Oct-ResNet-50 alpha 0.5 (4 alternated profiles) its four 64-channel H->H layers 0.578 /
 * 0.619 ms; the pass's 28x28 3x3 layers, old and new library alternated (5 profiles
 * each), 1.181 -> 1.163 ms at alpha 0.5 and 1.808 -> 1.735 at alpha 0. Balanced blocks
 * stay: 48 tiles (16x16, batch 3) as 24 + 24 ran 1.07-1.39 ms for ten 64 -> 64 layers,
 * shared 1.82. 32 -> 32 layers keep the blocks (the wait weighs 4x a 64 -> 64 layer's):
 * forced shared they were even in a chain and 1.05x in alpha 0.5's L->H. More threads
 * keep the plan (not measured). The bits do not depend on the cut. */
static int cpu__wino4_shares(const oct__cpu_state *st, size_t tiles, size_t tb, size_t nb, size_t nr, int ci, int co)
{
    if (st->threads != 2 || tiles == 0 || ci <= 0 || co <= 0) return 0;
    size_t wait = (size_t)OCT__CPU_WINO_WAIT * 64 * 64 / ((size_t)ci * (size_t)co);
    size_t load[OCT__CPU_WINO_SIM_THREADS], most = cpu__wino_loads(st, tiles, tb, nb, nr, cpu__wino_block_run_cost, load);
    size_t least = load[0] + load[1] - most, shared = 0;
    if (2 * most <= 3 * least) return 0; /* the blocks keep both threads busy */
    for (size_t t0 = 0; t0 < tiles; t0 += OCT__CPU_WINO4_TB) {
        size_t n = tiles - t0 < OCT__CPU_WINO4_TB ? tiles - t0 : OCT__CPU_WINO4_TB;
        shared += 2 * cpu__wino_cols_run(n, nr) + 4 * OCT__CPU_WINO_FIXED + (n + 1) / 2 + wait;
    }
    return shared < most;
}

/* The cut of `tiles` among the threads: *tb, the tiles per block (a multiple of 16 up to
 * `tb`, which keeps the GEMM's B rows in place), and whether to run the shared mode; the
 * cheapest of those, shared only where `can_share`.
 *
 * Rounding to a number of blocks leaves threads idle: a 28x28 plane's 196 tiles in four
 * blocks of 64 (64, 64, 64, 4) kept one of two threads on 128 tiles and the other on 68
 * (now 96, 96, 4: 104 and 96; ten 3x3 128->128 layers, two threads, min of 6 alternated,
 * AMD EPYC Zen 3: 11.32 -> 9.73 ms); a 14x14 plane's 49 tiles, shared by two threads,
 * each transforming all 49, ran 25-40% slower than blocks of 32 and 17 (ten 3x3 layers
 * 64, 128 and 256 channels wide: 1.62 -> 0.98, 4.6 -> 3.1-3.9, 13.70 -> 10.55 ms), while
 * a 7x7 plane's 16 tiles (one kernel call wide) stay shared (256 channels: 4.27 ms
 * shared, 6.12 in two blocks of 8). The rule before: blocks of `tb`, or where that gave
 * fewer than two a thread, the tiles cut in two a thread (rounded up to 16), and shared
 * below 16 tiles for each (measured faster than sharing for OctNetMini's 32x32 planes:
 * four blocks of 64, which the plan picks too); it still cuts for more threads than the
 * simulation weighs. One thread takes the same search (before, blocks of `tb` as they
 * fell: a 28x28 plane's 49 F(4x4) tiles ran as 48 + 1, 0.98x of F(2x2); now one block,
 * 1.26-1.33x). cpu__wino may then cut the blocks evenly (cpu__wino_even). */
static int cpu__wino_plan(const oct__cpu_state *st, size_t tiles, int can_share, size_t nr, size_t *tb)
{
    size_t want = 2 * (size_t)st->threads, tb0 = *tb;
    if (st->threads > OCT__CPU_WINO_SIM_THREADS) {
        if (tiles < 16 * want) return can_share;
        if ((tiles + tb0 - 1) / tb0 < want) {
            size_t even = ((tiles + want - 1) / want + 15) / 16 * 16;
            if ((tiles + even - 1) / even >= want) *tb = even;
        }
        return 0;
    }
    size_t best = tb0, best_end = cpu__wino_makespan(st, tiles, tb0, nr);
    for (size_t c = (tb0 - 1) / 16 * 16; c >= 16; c -= 16) {
        size_t end = cpu__wino_makespan(st, tiles, c, nr);
        if (end < best_end) best = c, best_end = end;
    }
    if (st->threads > 1 && can_share && cpu__wino_shared_cost(st, tiles, tb0, nr) < best_end) return 1;
    *tb = best;
    return 0;
}

/* Whether a 3x3 stride-1 convolution of ci -> co channels over n images (output ho x wo)
 * runs as Winograd F(2x2, 3x3): $OCTCL_CPU_WINOGRAD=1 when the context was made forces
 * it for every such convolution, 0 never; unset, the shapes where it measured faster
 * than the direct kernel (or the channel-lane path on 7x7 planes). Measured on
 * single-convolution ONNX files, one thread, min of 3, batch 1 and 8, AMD EPYC (AVX-512),
 * after Winograd's planes were spaced a cache line apart (winograd.c), Winograd / direct:
 * with 32+ channels each way 1.04-1.76x on every plane from 7x7 (32 -> 32: 7x7 1.14 /
 * 1.21, 8x8 1.27 / 1.35, 14x14 1.04 / 1.33, 16x16 1.37 / 1.37, 28x28 1.24 / 1.32; 48 ->
 * 32 at 12x12 1.19 / 1.61; 64 -> 64 at 7x7 1.32 / 1.36); with 16-31 on 28x28 and up
 * 1.24-1.37 (16 -> 16 at 28x28, 56x56; 16 -> 32 at 28x28), on 16x16 1.12-1.34 when the
 * two counts sum to 40 or more (16 -> 24, 16 -> 48, 16 -> 96, 96 -> 16, 24 -> 32) but
 * 1.00 / 1.02 for 16 -> 16, and 0.81-0.89 at one image on 12x12, 14x14 and 8x8; under 16
 * channels 0.89-1.08 (8 -> 8, 8 -> 16, 12 -> 12 at 32x32). Planes under 7x7 (fewer than
 * 16 tiles) keep the direct kernel, and odd sizes that waste over a fifth of the computed
 * outputs take Winograd only from 32 channels and 64 tiles (neither measured). Before
 * that fix 32 -> 32 at 16x16 was 1.04 and at 7x7 0.74 at batch 8, and the rule asked for
 * 64 channels under 512 tiles. */
static int cpu__wino_on(const oct__cpu_state *st, int ci, int co, int n, int ho, int wo, int pad)
{
    if (pad < 0) return 0;
    if (st->wino >= 0) return st->wino;
    /* Decided per image, never by the batch: a row's result must not depend on how many
     * images share its pass (device sets and MPI ranks cut batches anywhere). (The GEMM
     * kernel cpu__wino picks may change with the batch; the bits do not.) */
    (void)n;
    size_t per = oct__wino_tiles(2, ho, wo);
    int mn = ci < co ? ci : co;
    /* Without the direct kernel (CPUs without AVX-512, OCTCL_CPU_PATH=gemm) the other way
     * is im2col + SGEMM: on the AMD EPYC with the AVX2 kernels, every 3x3 layer of
     * Oct-ResNet-50 alpha 0.5 ran faster as Winograd (7x7 planes 2.4x, 28x28 low bands
     * 1.7x, none slower; the pass 69.8 -> 57.2 ms), OctNetMini's 3 -> 64 stem slower
     * (0.74-0.81x): a few input channels make short GEMMs and whole transforms. Not
     * where F(2x2) would execute more multiply-adds than the plain sums, 16 a tile
     * against 9 an output: planes one pixel high (or wide) and 1, 3, 5 or 7 the other
     * way (Oct-ResNet-26's low band at 32x32 input, 1x1: 16 / 9 of its MACs, which
     * `octcl profile`'s executed column showed and test_profile.sh refuses). */
    if (!st->direct) return mn >= 16 && 16 * per <= 9 * (size_t)ho * (size_t)wo;
    if (mn < 16 || per < 16) return 0;
    /* 7x7 and 8x8 planes: 16 tiles, which a 16-column GEMM kernel fits at one image
     * (cpu__wino); 7x7 wastes 23% of the outputs and still wins from 32 channels. */
    if (per == 16) return mn >= 32;
    if (per >= 196) return 1;
    if (per * 4 * 5 > (size_t)ho * wo * 6) return mn >= 32 && per >= 64; /* over 20% of the outputs wasted */
    if (mn >= 32) return 1;
    return ci + co >= 40 && per >= 64;
}

/* The tile of a Winograd convolution: $OCTCL_CPU_WINO_TILE when set, else by shape (per
 * image, as cpu__wino_on: the two tiles round differently). F(4x4) does 36 ci co MACs
 * per 16 outputs where F(2x2) does 64, but its GEMMs are a quarter as wide: on a 7x7
 * plane 4 tiles an image, under the AVX2 kernel's 16 columns. Per layer, F(4x4) / F(2x2)
 * time, one thread, batch 1, minima of 3 alternated runs of 10, AMD EPYC Zen 3 (AVX2
 * kernels), Oct-ResNet-50: alpha 0, 64 ch at 56x56 1.30-1.47x faster, 128 at 28x28
 * 1.26-1.33x, 256 at 14x14 1.13-1.25x, 512 at 7x7 0.41-0.47x (2.2 -> 4.8 ms); alpha 0.5,
 * 32 ch at 56x56 and 28x28 1.12-1.41x, 64 at 28x28 and 14x14 1.20-1.46x, 128 at 14x14
 * 1.13-1.33x, 128 at 7x7 0.35-0.52x. Two threads (the block's input transform shared out
 * by channels, see cpu__wino): 56x56 and 28x28 1.15-1.34x, but 14x14 0.96-1.17x at 256
 * channels and 0.74-0.95x at 64 and 128 (16 tiles: one GEMM column block to share); a
 * second run, 4 rounds, 256 channels at 14x14: 1.00-1.13x. With 16-31 channels (the
 * fewest Winograd takes on this path), single-conv ONNX files and OctNetMini alpha 0.75's
 * 16 -> 32 layer, both tiles in one process, passes alternated, minima of 40: 16 -> 16 at
 * 32x32 and 56x56, 16 -> 32 at 56x56, 24 -> 24 at 32x32, 16 -> 24 at 28x28 1.08-1.44x
 * at one thread batch 1 and two threads batch 1 and 8; 16 -> 32 at 32x32 1.26-1.45x.
 * (On 16x16 planes, 16 tiles an image with none wasted, F(4x4) won at one thread and at
 * two threads batch 8 but lost up to 0.64x at two threads batch 1, OctNetMini's low
 * bands of 32-96 channels: left on F(2x2).) So: planes of 49 F(4x4) tiles or more
 * (25x25 and up) with 16 channels or more each way, where at most a fifth of the
 * computed outputs fall outside the plane; planes of 16-48 tiles (13x13 and up) with
 * wino4_min channels or more each way (16 by default), where at most a quarter do
 * (14x14: 196 of 256); everything else stays on F(2x2). (The two-thread losses above,
 * separate runs, did not recur in 2026-12-04's measurements with both tiles in one
 * process, passes alternated, on a Zen 3 and a Zen 4: see below.) That count is a
 * tuning parameter (oct__cpu_tune.wino4_min, its default and measurements in tune.c;
 * `octcl tune` tries 256, 64 and 16). The tile never follows the batch (cpu__wino_on),
 * so a tuned file picks one answer for every batch: `octcl tune --shapes` says which
 * batch to time. */
static int cpu__wino_tile(const oct__cpu_state *st, int ci, int co, int ho, int wo)
{
    if (st->wino_tile > 0) return st->wino_tile;
    size_t per = oct__wino_tiles(4, ho, wo), hw = (size_t)ho * wo;
    int mn = ci < co ? ci : co;
    if (per >= 49 && mn >= 16 && 16 * per * 4 <= hw * 5) return 4;
    /* 16-48 tiles (13x13 and up: 14x14, 16x16): from wino4_min channels each way (tuned;
     * default 16), where at most a quarter of the computed outputs are wasted (14x14: 196
     * of 256). Chains of ten 3x3 layers, F(4x4) against F(2x2) forced, passes alternated
     * in one process (bench/env_ab.py), minima of 10-30 rounds: on an AMD EPYC Zen 3
     * (AVX2 GEMM), 2026-12-04, 14x14 planes of 32, 64 and 128 channels 1.25-1.50x faster
     * at one and two threads, batch 1 and 8, 16x16 planes of 16-96 channels 1.04-1.69x;
     * on an AMD EPYC Zen 4 (AVX-512 GEMM), 2026-12-04, 14x14 planes of 32-128 channels
     * 1.30-1.53x, 16x16 planes of 32 and 48 channels 1.35-1.59x, the same threads and
     * batches. (Until then the AVX-512 GEMM took these planes only from 256 channels, or
     * from 64 where at most a tenth was wasted, on whole-model runs: see tune.c.) */
    if (per >= 16 && mn >= st->tune.wino4_min && 16 * per * 3 <= hw * 4) return 4;
    return 2;
}

/* Whether a 3x3 stride-1 convolution runs as Winograd (cpu__wino_on), and on which
 * tile: 0 (not), 2 or 4. */
static int cpu__wino_use(const oct__cpu_state *st, int ci, int co, int n, int ho, int wo, int pad)
{
    return cpu__wino_on(st, ci, co, n, ho, wo, pad) ? cpu__wino_tile(st, ci, co, ho, wo) : 0;
}

/* The transformed weights of (wb, wb2) from the cache, or made now. */
static oct_status cpu__wino_weights(oct__cpu_state *st, const oct__buf *wb, const oct__buf *wb2, int c1, int c2,
                                    int co, int isa, int m, const float **out)
{
    size_t count = wb->count + (wb2 ? wb2->count : 0);
    const float *host2 = wb2 ? wb2->host : NULL;
    int kind = (m == 4 ? OCT__CPU_PACK_WINO4 : OCT__CPU_PACK_WINO) + isa;
    if ((*out = cpu__cache_get(st, wb, wb2, co, kind))) return OCT_OK;
    size_t floats = oct__wino_weight_floats(m, c1 + c2, co, isa);
    float *u = oct__cpu_alloc_packed(floats);
    if (!u) return oct__fail(OCT_ERR_HOST_MEMORY, "cpu conv2d: out of host memory for %zu Winograd weights", floats);
    oct__wino_weights(m, wb->host, c1, host2, c2, co, isa, u);
    cpu__cache_put(st, (cpu__packed_t){wb->host, host2, count, co, u, floats * sizeof(float), kind});
    *out = u;
    return OCT_OK;
}

/* A 1x1 convolution's weights (co, ci) packed for GEMM kernel isa (oct__sgemm_apack),
 * from the cache or packed now. */
static oct_status cpu__gemm_weights(oct__cpu_state *st, const oct__buf *wb, int co, int ci, int isa, const float **out)
{
    if ((*out = cpu__cache_get(st, wb, NULL, co, OCT__CPU_PACK_GEMM + isa))) return OCT_OK;
    size_t floats = oct__sgemm_apack_floats(isa, co, ci);
    float *ap = oct__cpu_alloc_packed(floats);
    if (!ap) return oct__fail(OCT_ERR_DEVICE_MEMORY, "cpu convg: out of memory packing %d x %d weights", co, ci);
    oct__sgemm_apack(isa, 0, co, ci, wb->host, ci, ap);
    cpu__cache_put(st, (cpu__packed_t){wb->host, NULL, wb->count, co, ap, floats * sizeof(float),
                                       OCT__CPU_PACK_GEMM + isa});
    *out = ap;
    return OCT_OK;
}

/* ---- Small planes with the output channels in the vector lanes (smallconv.c) */

/* Floats of gathered input held at once: images are taken in rounds that fit. */
#ifndef OCT__CPU_SC_FLOATS
#define OCT__CPU_SC_FLOATS ((size_t)4 << 20)
#endif

/* The channel-lane variant this context runs (smallconv.h): AVX-512 with the direct
 * kernels, AVX2 on the GEMM path when its kernel is AVX2 (an AVX2-only CPU, or
 * $OCTCL_GEMM=avx2), else none (-1: im2col, or the AVX-512 or plain GEMM forced). */
static int cpu__sc_isa(const oct__cpu_state *st)
{
    if (st->im2col) return -1;
    if (st->direct) return OCT__GEMM_AVX512;
    return oct__sgemm_isa() == OCT__GEMM_AVX2 ? OCT__GEMM_AVX2 : -1;
}

/* Whether a stride-1 convolution of kdim = ci k k terms per output into co channels of
 * ho x wo runs on the channel-lane path: $OCTCL_CPU_SMALL=1 when the context was made
 * sends every one whose row width has a tile (oct__sc_mr) there, 0 none; unset, where
 * the pixel-lane paths leave lanes of their 32-pixel tiles idle and it measured faster.
 * One thread's CPU time, min of 8, Oct-ResNet-50 alpha 0 and 0.5 at 224, batch 1, AMD
 * EPYC (AVX-512), per (plane, kdim, co) summed over layers against the pixel-lane paths:
 * 7x7 planes (49 of 64 lanes busy before) 8% faster at kdim 128, 11-25% at 256-4608;
 * 14x14 planes (196 of 224) 5-9% faster with co >= 512 and kdim >= 256, but 3-32% SLOWER
 * with co <= 256 or kdim <= 128 (the gathered input and the transposing store cost
 * what the idle lanes did). The AVX2 variant (cpu__sc_isa: runs of 6 pixels against the
 * AVX2 GEMM's 16-pixel tiles) on the same CPU, one thread, single 1x1 convolutions, min
 * of 3 x 30 passes: 7x7 planes 14-27% faster (512->2048 1.225 -> 1.052 ms, 2048->512
 * 1.322 -> 1.041, 128->512 0.089 -> 0.075, 256->128 0.053 -> 0.041), 14x14 within
 * noise (256->256 0.267 / 0.269, 512->1024 1.984 / 1.928), so it takes only planes a
 * fifth idle in 16-pixel tiles. 3x3 layers that Winograd serves (cpu__wino_use) stay
 * there. */
static int cpu__sc_use(const oct__cpu_state *st, int k, int ci, int co, int n, int ho, int wo, int pad)
{
    int isa = cpu__sc_isa(st), mr = oct__sc_mr(wo, isa);
    if (!mr || !oct__sgemm_kernel_rows(isa, mr)) return 0;
    if (k == 3 && cpu__wino_use(st, ci, co, n, ho, wo, pad)) return 0; /* Winograd serves it */
    if (st->small >= 0) return st->small;
    size_t kdim = (size_t)ci * k * k, tile = isa == OCT__GEMM_AVX2 ? 16 : 32; /* the pixel lanes' tile */
    size_t hw = (size_t)ho * wo, lanes = (hw + tile - 1) / tile * tile;
    size_t narrow = isa == OCT__GEMM_AVX2 ? (size_t)oct__sgemm_narrow_cols(isa) : 0;
    if (narrow) {
        /* FMAs a term for 6 output channels, doubled: the GEMM's 16-pixel strips (12 each)
         * and its last strip (a narrow one, gemm.c, costs one a pixel; a wider one 12),
         * against these 6-pixel strips (24 a term for 32 channels: 4.5 for 6). The lanes
         * when they need 3% fewer. A 7x7 plane: 37 against 40.5 (it ran here, a fourth
         * GEMM strip for one pixel, until the narrow one: 48), 6x6 28 against 27, 5x5 24
         * against 22.5, 14x14 148 against 148.5; one thread, ten 1x1 layers 512 <-> 2048 at
         * 7x7, process CPU time for 150 passes on an AMD EPYC Zen 3: GEMM 3.56-3.76 s, lanes
         * 3.74-4.21, GEMM without the narrow strip 3.87-4.27. */
        size_t t = hw % 16;
        size_t gemm = 2 * (12 * (hw / 16) + (t == 0 ? 0 : t <= narrow ? t : 12)), lanes6 = 9 * ((hw + 5) / 6);
        return kdim >= 128 && lanes6 * 100 <= gemm * 97;
    }
    if (hw * 5 < lanes * 4) return kdim >= 128;                 /* a fifth or more idle */
    if (isa == OCT__GEMM_AVX2) return 0; /* without the narrow strip (OCTCL_GEMM_NARROW=0): 14x14 within noise */
    if (hw * 8 <= lanes * 7) return co >= 512 && kdim >= 256;   /* an eighth or more */
    return 0;
}

/* The transposed weights of (wb, wb2) (rows of k1 and k2) for variant isa from the cache,
 * or made now. */
static oct_status cpu__sc_weights(oct__cpu_state *st, const oct__buf *wb, const oct__buf *wb2, size_t k1, size_t k2,
                                  int co, int isa, const float **out)
{
    size_t count = wb->count + (wb2 ? wb2->count : 0);
    const float *host2 = wb2 ? wb2->host : NULL;
    if ((*out = cpu__cache_get(st, wb, wb2, co, OCT__CPU_PACK_SMALL + isa))) return OCT_OK;
    size_t floats = oct__sc_weight_floats(co, k1 + k2);
    float *bp = oct__cpu_alloc_packed(floats);
    if (!bp) return oct__fail(OCT_ERR_DEVICE_MEMORY, "cpu conv2d: out of memory packing %d x %zu weights", co, k1 + k2);
    oct__sc_weights(wb->host, k1, host2, k2, co, isa, bp);
    cpu__cache_put(st, (cpu__packed_t){wb->host, host2, count, co, bp, floats * sizeof(float), OCT__CPU_PACK_SMALL + isa});
    *out = bp;
    return OCT_OK;
}

typedef struct {
    oct__sc_conv cv;
    oct__cpu_state *st;
    size_t strips;    /* per image */
    int m;            /* images in the round */
    float *ap;        /* the round's gathered inputs, image after image (thread 0's scratch) */
    size_t af;        /* floats per image */
    int b0;           /* the round's first image */
    int phase;        /* 0: gather pixel strips; 1: compute output-channel strips; 2: both, each
                       * thread first gathering the whole round into its own scratch */
    size_t per;       /* items per image in this phase */
    cpu__chunks work;
} cpu__sc_job;

static void cpu__sc_task(void *arg, int t)
{
    cpu__sc_job *j = arg;
    size_t i, i1;
    float *own = NULL;
    while (cpu__take(&j->work, t, &i, &i1))
        for (; i < i1; i++) {
            size_t b = i / j->per, r = i % j->per;
            if (j->phase == 2 && !own) { /* this thread's own copy of the round's gathered inputs */
                own = j->st->scratch[t].f;
                for (int q = 0; q < j->m; q++)
                    oct__sc_pack(&j->cv, j->b0 + q, 0, j->strips, own + (size_t)q * j->af);
            }
            float *base = j->phase == 2 ? own : j->ap, *ap = base ? base + b * j->af : NULL; /* NULL: in place */
            if (j->phase == 0) oct__sc_pack(&j->cv, j->b0 + (int)b, r, r + 1, ap);
            else oct__sc_run(&j->cv, j->b0 + (int)b, ap, (int)r, (int)r + 1);
        }
}

/* Rounds of at most this many MACs gather their inputs on every thread, each into its own
 * scratch, in the same job as the tiles: one wait on the pool instead of two, and no
 * thread reads strips another core gathered. Both in one process, passes alternated
 * (the choice changes no bit), min of 200, two threads, AMD EPYC Zen 4, chains of ten
 * 1x1 layers at 7x7, batch 1, own copies / shared: 512 <-> 128 0.91x, 1024 -> 128 0.95x,
 * 128 <-> 512 0.91x (3.2-6.4 M MACs a layer); 2048 <-> 512 1.00x and 256 <-> 1024 at
 * 14x14 1.01x (51 M); batch 8 (26 M) 512 <-> 128 1.08x, 128 <-> 512 1.06x. */
#ifndef OCT__CPU_SC_OWN_MACS
#define OCT__CPU_SC_OWN_MACS ((size_t)16 << 20)
#endif

/* y (=|+=) conv(x [; x2], w1 | w2, k, stride 1, pad) + bias (+ res), then ReLU, on the
 * channel-lane path (cpu__sc_use said yes): per round of images, the inputs gathered
 * (cut by pixel strips), then the tiles (cut by 32-channel strips); small rounds
 * (OCT__CPU_SC_OWN_MACS) in one job, every thread gathering the whole round itself. */
static oct_status cpu__sc(oct__cpu_state *st, const oct__view *x, const oct__view *x2, const oct__buf *w1,
                          const oct__buf *w2, int k, int pad, const float *bias, const oct__view *res, int accumulate,
                          int relu, const oct__view *y, size_t macs)
{
    int c2 = x2 ? x2->c : 0, co = y->c, n = y->n;
    size_t kk = (size_t)k * k;
    const float *bp = NULL;
    int isa = cpu__sc_isa(st);
    OCT__TRY(cpu__sc_weights(st, w1, w2, (size_t)x->c * kk, (size_t)c2 * kk, co, isa, &bp));
    int has_res = res && res->buf;
    cpu__sc_job j = {{cpu__image(x, 0), x2 ? cpu__image(x2, 0) : NULL, x->nstride, x2 ? x2->nstride : 0, x->c, c2,
                      x->h, x->w, k, pad, cpu__image(y, 0), y->nstride, co, y->h, y->w,
                      has_res ? cpu__image(res, 0) : NULL, has_res ? res->nstride : 0, bp, bias, accumulate, relu,
                      oct__sc_mr(y->w, isa), isa, 0},
                     st, 0, 0, NULL, 0, 0, 0, 0, {0}};
    size_t strips = oct__sc_strips(&j.cv), cstrips = ((size_t)co + OCT__SC_NR - 1) / OCT__SC_NR;
    st->macs_done += (long long)macs;
    j.strips = strips;
    if (oct__sc_can_in_place(&j.cv) && macs / (size_t)n <= OCT__CPU_SC_OWN_MACS) {
        j.cv.in_place = 1; /* nothing to gather: the whole batch in one job */
        j.m = n, j.phase = 1, j.per = cstrips;
        cpu__chunk(st, &j.work, (size_t)n * cstrips, 1, macs, OCT__CPU_PAR_MACS);
        oct__pool_run(st->pool, cpu__threads(st, &j.work), cpu__sc_task, &j);
        return OCT_OK;
    }
    j.af = oct__sc_afloats(&j.cv);
    size_t round = OCT__CPU_SC_FLOATS / j.af;
    if (round < 1) round = 1;
    if (round > (size_t)n) round = (size_t)n;
    OCT__TRY(cpu__scratch(st, 0, j.af * round, "conv2d"));
    j.ap = st->scratch[0].f;
    for (j.b0 = 0; j.b0 < n; j.b0 += (int)round) {
        size_t m = (size_t)(n - j.b0) < round ? (size_t)(n - j.b0) : round;
        j.m = (int)m;
        if (st->threads > 1 && macs / (size_t)n * m <= OCT__CPU_SC_OWN_MACS) {
            for (int t = 1; t < st->threads; t++) OCT__TRY(cpu__scratch(st, t, j.af * m, "conv2d"));
            j.phase = 2, j.per = cstrips;
            cpu__chunk(st, &j.work, m * cstrips, 1, macs, OCT__CPU_PAR_MACS);
            oct__pool_run(st->pool, cpu__threads(st, &j.work), cpu__sc_task, &j);
            continue;
        }
        j.phase = 0, j.per = strips;
        cpu__chunk(st, &j.work, m * strips, 1, macs, OCT__CPU_PAR_MACS);
        oct__pool_run(st->pool, cpu__threads(st, &j.work), cpu__sc_task, &j);
        j.phase = 1, j.per = cstrips;
        cpu__chunk(st, &j.work, m * cstrips, 1, macs, OCT__CPU_PAR_MACS);
        oct__pool_run(st->pool, cpu__threads(st, &j.work), cpu__sc_task, &j);
    }
    return OCT_OK;
}

typedef struct {
    oct__wino_conv cv;
    oct__cpu_state *st;
    size_t tiles, tb;   /* over the batch; per block (at most) */
    size_t nb;          /* 0, or blocks cut evenly: block i is tiles [tiles i / nb, tiles (i + 1) / nb) */
    int groups;         /* output-channel groups of the shared mode (whole GEMM strips) */
    int mr;
    int simd;           /* the transforms' instructions (winograd.h) */
    size_t vf;          /* floats of a block's transformed input, at the start of each scratch */
    /* shared mode: one block [t0, t1) at a time, its GEMMs cut by output-channel groups;
     * each thread transforms the block's input itself, into its own scratch */
    int shared;         /* 0: whole blocks per item; 1: output groups of block [t0, t1) */
    /* F(4x4)'s shared mode in two steps: 1, items are input-channel ranges transformed
     * into one V (v0: st->vshared); 2, items are output groups reading it */
    int step;
    float *v0;
    size_t t0, t1;
    cpu__chunks work;
    /* conv2d_pair's side output (co3 > 0): a second convolution reading channels of the
     * same transformed input (oct__wino_conv.vc0); its output channels follow the pair's
     * in the shared mode's groups */
    oct__wino_conv cv3;
    int co3;
} cpu__wino_job;

/* The first strip of the shared mode's output group i of g, over the pair's `strips`
 * strips (each a GEMM of k1 terms) and then the side's strips3 (k3 terms each). With
 * `by_terms` the groups cut the strips' terms evenly, else their count (floor(all i /
 * g)). A side over one of the pair's two inputs has half its terms: cut by count, a 7x7
 * low band's 128 + 128 channels on two threads gave one thread the pair's 16 strips (256
 * terms each) and the other the side's 16 (128). The bits do not depend on the cut. */
static int cpu__wino_cut(int i, int g, int strips, int k1, int strips3, int k3, int by_terms)
{
    int all = strips + strips3;
    if (!by_terms || !strips3 || k1 <= 0 || k3 <= 0) return (int)((size_t)all * (size_t)i / (size_t)g);
    size_t w1 = (size_t)strips * (size_t)k1, w = w1 + (size_t)strips3 * (size_t)k3;
    size_t b = w * (size_t)i / (size_t)g; /* the group's first term */
    int s = b <= w1 ? (int)((b + (size_t)k1 / 2) / (size_t)k1) : strips + (int)((b - w1 + (size_t)k3 / 2) / (size_t)k3);
    return s < all ? s : all;
}

static void cpu__wino_task(void *arg, int t)
{
    cpu__wino_job *j = arg;
    float *scratch = j->st->scratch[t].f, *v0 = j->v0;
    int ci = j->cv.c1 + j->cv.c2, strips = (j->cv.co + j->mr - 1) / j->mr, have_v = 0;
    int strips3 = (j->co3 + j->mr - 1) / j->mr, k3 = j->co3 ? j->cv3.c1 : 0; /* the side's strips after the pair's */
    size_t i, i1;
    while (cpu__take(&j->work, t, &i, &i1))
        for (; i < i1; i++) {
            if (j->step == 1) { /* input channels [c0, c1) of the block into the one V */
                int c0 = (int)((size_t)ci * i / (size_t)j->groups), c1 = (int)((size_t)ci * (i + 1) / (size_t)j->groups);
                oct__wino_input(&j->cv, j->t0, j->t1, c0, c1, v0, scratch + j->vf, j->simd);
                continue;
            }
            if (!j->shared) {
                size_t t0 = i * j->tb, t1 = t0 + j->tb < j->tiles ? t0 + j->tb : j->tiles;
                if (j->nb) t0 = j->tiles * i / j->nb, t1 = j->tiles * (i + 1) / j->nb;
                oct__wino_run(&j->cv, t0, t1, 0, j->cv.co, scratch, j->simd);
                if (j->co3) oct__wino_output(&j->cv3, t0, t1, 0, j->co3, scratch, scratch + j->vf, j->simd);
                continue;
            }
            const float *v = v0; /* step 2: the one V of step 1 */
            if (j->step != 2) {  /* else this thread's own copy of the block's input transform */
                v = scratch;
                if (!have_v) oct__wino_input(&j->cv, j->t0, j->t1, 0, ci, scratch, scratch + j->vf, j->simd);
                have_v = 1;
            }
            /* By terms where each thread transformed the whole input itself (F(2x2)); by
             * count on F(4x4)'s one V (step 2), whose channels step 1 cut in halves: the
             * side over x2 then stays on the thread that transformed x2. In Oct-ResNet-50
             * alpha 0.5 (two threads, batch 1, both cuts in one process, alternated,
             * minima of 15, AMD EPYC Zen 4) by terms on F(4x4) too made the 28x28 low
             * bands 0.95x and the H->H after them 0.89x; F(2x2)'s 7x7 low bands 1.35x.
             * But by terms on a block of 16 tiles or fewer (one GEMM column strip: a 16x16
             * or 14x14 plane at one image), whose V is small to read across, while by
             * count the pair's strips of c1 + c2 terms fall to one thread and the side's
             * of c2 to the other: OctNetMini alpha 0.5 (64 + 64 -> 64, side 64 -> 64)
             * spent 1.10 G cycles in step 2 on one thread and 0.65 G on the other over
             * 3000 passes; by terms 0.90 / 1.00 G. Two threads, batch 1, both in one
             * process, alternated, minima of 800 (AMD EPYC Zen 4, 2026-12-05): the low
             * bands' pairs 1.09-1.18x, whole passes 1.029-1.031x (alpha 0.25 1.021x,
             * 0.75 even); Oct-ResNet-50 alpha 0.5 1.004-1.006x (its 14x14 pairs). */
            int by_terms = j->step != 2 || j->t1 - j->t0 <= 16;
            int s0 = cpu__wino_cut((int)i, j->groups, strips, ci, strips3, k3, by_terms);
            int s1 = cpu__wino_cut((int)i + 1, j->groups, strips, ci, strips3, k3, by_terms);
            int o0 = s0 * j->mr, o1 = (s1 < strips ? s1 : strips) * j->mr;
            if (o0 < j->cv.co)
                oct__wino_output(&j->cv, j->t0, j->t1, o0, o1 < j->cv.co ? o1 : j->cv.co, v, scratch + j->vf, j->simd);
            o0 = (s0 > strips ? s0 - strips : 0) * j->mr, o1 = (s1 - strips) * j->mr;
            if (o1 > o0) oct__wino_output(&j->cv3, j->t0, j->t1, o0, o1 < j->co3 ? o1 : j->co3, v, scratch + j->vf, j->simd);
        }
}

/* op (3x3, stride 1; with x2, over the stacked input [op->x; x2], weights w1 | w2) by
 * Winograd: blocks of tiles shared among the threads; when there are fewer than two per
 * thread, one block at a time, its GEMMs and output transform cut by output channels,
 * every thread transforming the block's input for itself. (That transform cut by input
 * channels first, into one copy, cost a second wait on the pool per block: two threads,
 * batch 1, min of 3, AMD EPYC, Oct-ResNet-50 alpha 0.5 26.53 -> 25.86 ms without it,
 * alpha 0 36.44 -> 36.08, its 7x7 and 14x14 layers.) */
static oct_status cpu__wino(oct__cpu_state *st, const oct__conv_op *op, const oct__view *x2, const oct__buf *w2,
                            const float *bias, size_t macs, int m, const oct__conv_op *side, int side_c0)
{
    const oct__view *x = &op->x, *y = &op->y;
    int c2 = x2 ? x2->c : 0, co = y->c;
    const float *u = NULL;
    int isa = oct__sgemm_isa();
    size_t tiles = (size_t)y->n * oct__wino_tiles(m, y->h, y->w);
    /* 16 tiles or fewer in all (a 7x7 plane, one image) run on AVX-512's 16-column kernel
     * with the weights fetched ahead (gemm.c). Until 2026-12-05 they ran on the AVX2
     * kernel (6 x 16, the same fetch), which the 32-column kernel alone had left half
     * idle; but AVX2 is half the FMA width of an Intel core with two 512-bit units. On
     * the AMD EPYC Zen 4 (whose 512-bit FMAs are two 256-bit halves) the AVX-512 one is
     * faster too: chains of ten 3x3 layers at 7x7, batch 1, two threads, both in one
     * process, alternated, minima of 3 rounds: 512 -> 512 7.22 -> 6.70 ms, 256 -> 128
     * 1.059 -> 1.031, 128 -> 128 0.594 -> 0.576 (without the fetch, 7.90: the 16.8 MB of
     * a 512 -> 512 layer's transformed weights come from memory); Oct-ResNet-50 batch 1,
     * minima of 5: alpha 0.5 21.15 -> 20.90 ms, alpha 0 30.09 -> 29.76. Both kernels sum
     * the same terms in the same order (a lane is a column): the same bits. */
    int mr = oct__sgemm_mr(isa);
    OCT__TRY(cpu__wino_weights(st, op->weight, w2, x->c, c2, co, isa, m, &u));
    cpu__wino_job j = {{cpu__image(x, 0), x2 ? cpu__image(x2, 0) : NULL, x->nstride, x2 ? x2->nstride : 0, x->c, c2,
                        x->h, x->w, op->pad, cpu__image(y, 0), y->nstride, co, y->h, y->w, u, isa, bias,
                        op->accumulate, op->relu, NULL, 0, m, 0, 0},
                       st, tiles, m == 4 ? OCT__CPU_WINO4_TB : OCT__CPU_WINO_TB, 0, 1, mr, OCT__WINO_PLAIN, 0, 0, 0,
                       NULL, 0, 0, {0}, {0}, 0};
    /* AVX-512 transforms with the direct kernel; AVX2 ones wherever a vector GEMM runs on a
     * CPU with AVX2 (AVX2-only CPUs, and OCTCL_CPU_PATH=gemm here); plain C otherwise. */
    if (st->direct)
        j.simd = OCT__WINO_AVX512;
    else if (cpu__avx2())
        j.simd = OCT__WINO_AVX2;
    const oct__view *up = x2 ? NULL : cpu__take_up(st, &j.cv.relu); /* added in the output stores */
    if (up) {
        j.cv.up = cpu__image(up, 0);
        j.cv.ups = up->nstride;
    }
    int strips = (co + mr - 1) / mr, ci = x->c + c2;
    size_t wfloats = (size_t)oct__wino_elems(m) * (size_t)ci * (size_t)co;
    st->macs_done += (long long)oct__wino_elems(m) * ci * co * (long long)j.tiles;
    if (side) { /* caller checked: the side's own tile is m (cpu__wino_use) */
        const float *u3 = NULL;
        int c3 = side->x.c;
        OCT__TRY(cpu__wino_weights(st, side->weight, NULL, c3, 0, side->y.c, isa, m, &u3));
        j.co3 = side->y.c;
        j.cv3 = (oct__wino_conv){NULL, NULL, 0, 0, c3, 0, x->h, x->w, op->pad, cpu__image(&side->y, 0),
                                 side->y.nstride, j.co3, y->h, y->w, u3, isa, side->bias ? side->bias->host : NULL,
                                 0, side->relu, NULL, 0, m, ci, side_c0};
        strips += (j.co3 + mr - 1) / mr;
        wfloats += (size_t)oct__wino_elems(m) * (size_t)c3 * (size_t)j.co3;
        st->macs_done += (long long)oct__wino_elems(m) * c3 * j.co3 * (long long)j.tiles;
        macs += (size_t)y->n * y->h * y->w * 9 * (size_t)c3 * (size_t)j.co3; /* the job's work, for the cut */
    }
    int can_share = macs >= OCT__CPU_PAR_MACS && strips > 1;
    size_t nr = (size_t)oct__sgemm_nr(isa); /* the GEMM kernel's column strip */
    int shared = cpu__wino_plan(st, j.tiles, can_share, nr, &j.tb);
    if (!shared) j.tb = cpu__wino_halve(st, isa, j.tiles, j.tb, nr, wfloats);
    if (!shared && (j.nb = cpu__wino_even(st, isa, j.tiles, j.tb, nr))) j.tb = (j.tiles + j.nb - 1) / j.nb;
    if (!shared && m == 4 && can_share && cpu__wino4_shares(st, j.tiles, j.tb, j.nb, nr, x->c + c2, co + j.co3)) {
        shared = 1;
        j.nb = 0;
        j.tb = OCT__CPU_WINO4_TB;
    }
    size_t blocks = j.nb ? j.nb : (j.tiles + j.tb - 1) / j.tb;
    j.shared = shared;
    if (shared) {
        j.tb = j.tiles < j.tb ? j.tiles : j.tb;
        j.groups = st->threads < strips ? st->threads : strips;
    }
    j.vf = oct__wino_vfloats(&j.cv, j.tb);
    /* A shared group runs the pair's channels and the side's apart, each at most all of
     * one (cpu__wino_cut need not give a group ceil(strips / groups) strips). */
    size_t need = j.vf + oct__wino_work(&j.cv, j.tb, shared && !j.co3 ? ((strips + j.groups - 1) / j.groups) * mr
                                                          : co > j.co3 ? co : j.co3);
    if (!shared) {
        cpu__chunk(st, &j.work, blocks, 1, macs, OCT__CPU_PAR_MACS);
        int threads = cpu__threads(st, &j.work);
        for (int t = 0; t < threads; t++) OCT__TRY(cpu__scratch(st, t, need, "conv2d"));
        oct__pool_run(st->pool, threads, cpu__wino_task, &j);
        return OCT_OK;
    }
    for (int t = 0; t < st->threads; t++) OCT__TRY(cpu__scratch(st, t, need, "conv2d"));
    /* F(4x4)'s one V in a buffer of its own. In thread 0's scratch (until 2026-12-05) the
     * other threads' step-1 rows left its lines modified in their caches, and thread 0's
     * next Winograd block, writing its own V there, fetched them back: in OctNetMini alpha
     * 0.5 at batch 1 (two threads, AMD EPYC Zen 4, rdtsc per block over 3000 passes) the
     * H->H after a shared low band took 244k cycles for thread 0's first block against
     * 130-143k for every other, so the other thread ran out of blocks and took one of
     * thread 0's. With V apart, both in one process, alternated, minima of 800: whole
     * passes alpha 0.5 1.028-1.033x, 0.25 1.009x, 0.75 1.045x; Oct-ResNet-50 alpha 0.5
     * at batch 1 1.003x. */
    if (m == 4) {
        OCT__TRY(cpu__grow(&st->vshared, j.vf, "conv2d"));
        j.v0 = st->vshared.f;
    }
    for (j.t0 = 0; j.t0 < j.tiles; j.t0 = j.t1) {
        j.t1 = j.t0 + j.tb < j.tiles ? j.t0 + j.tb : j.tiles;
        if (m == 4) { /* F(4x4)'s heavier input transform done once, shared out by channels */
            j.step = 1;
            cpu__chunk(st, &j.work, (size_t)j.groups, 1, macs, OCT__CPU_PAR_MACS);
            oct__pool_run(st->pool, cpu__threads(st, &j.work), cpu__wino_task, &j);
            j.step = 2;
        }
        cpu__chunk(st, &j.work, (size_t)j.groups, 1, macs, OCT__CPU_PAR_MACS);
        oct__pool_run(st->pool, cpu__threads(st, &j.work), cpu__wino_task, &j);
    }
    return OCT_OK;
}

static oct_status cpu__g_gemm_ex(oct__cpu_state *st, const oct__convg_op *op, int direct_b, const oct__view *x2,
                                 const oct__buf *w2, const float *bias);

/* Whether a 1x1 stride-1 unpadded convolution (or pair) runs as a GEMM on weights packed
 * once, with its epilogue in the tile stores ($OCTCL_CPU_GEMM_PACKED=0 when the context
 * was made: the direct kernel when the CPU has it). One thread's CPU time, minimum of 5,
 * ResNet-50's 1x1 layers on an AMD EPYC (AVX-512): 97-103 GFLOP/s at 56x56..14x14 against the direct kernel's 80-95,
 * and even (82-85 against 80-81) at 7x7. */
static int cpu__gemm_1x1(const oct__cpu_state *st) { return st->gemm_1x1; }

/* The row width a 1x1 conv's planes of hw pixels are best cut into for the direct
 * kernel: the largest multiple of 16 up to 256 that divides hw, else hw itself when it is
 * at most 256 (one row), else 0 (keep the plane's own rows). */
static int cpu__flat_width(size_t hw)
{
    for (size_t w = 256; w >= 16; w -= 16)
        if (hw % w == 0) return (int)w;
    return hw <= 256 ? (int)hw : 0;
}

/* Whether conv2d `op` (kdim = ci k k terms an output) runs on the direct kernel's stride-2
 * variant (cpu__dk_pad_band_s2: each padded row split into its even and odd columns, so
 * the kernel's 16 lanes are 16 consecutive outputs read from one run of floats) rather
 * than the implicit-im2col GEMM, whose panels gather every other column. Kernels of 3 and
 * more (a 1x1 would read the odd half for nothing) with up to 512 terms; OCTCL_CPU_STRIDE2=0
 * keeps the GEMM. Both paths in one process, passes alternated, minima of 150, two
 * threads, batch 1, AMD EPYC Zen 4 (AVX-512), one conv + ReLU, new / GEMM: ResNet's stem
 * 3 -> 64 7x7 at 224 0.78x (1.65 -> 1.29 ms; one thread 0.76x), MobileNet's 3 -> 32 3x3 at
 * 224 0.88x, 32 -> 32 3x3 at 112 0.73x, 16 -> 32 5x5 at 64 0.74x, 64 -> 64 3x3 at 112
 * (576 terms) 0.80x; but 64 -> 128 3x3 at 56 (576) 1.15x (0.75x at batch 4, and the path
 * may not follow the batch: cpu__wino_on), 128 -> 128 3x3 at 56 (1152) 1.20x, 256 -> 256
 * 3x3 at 28 1.23x, 256 -> 512 1x1 at 56 1.38x. Up to 256 terms (one K block of the GEMM)
 * the two give the same bits.
 *   Without AVX-512 (cpu__avx2: AVX2 and FMA, a vector GEMM kernel; and under
 * OCTCL_CPU_PATH=gemm) the same tiles on 8 lanes (cpu__dk2_tile) up to 192 terms. Both
 * paths in one process, alternated, per-layer minima of 150, two threads, AMD EPYC Zen 3,
 * 3x3 at batch 1 / 4, new / GEMM: 3 -> 32 at 224 (27 terms) 0.89x / 0.80x, 8 -> 16 at
 * 112 (72) 0.81x / 0.67x, 16 -> 32 at 112 (144) 0.90x / 0.88x, 24 -> 48 at 112 (216)
 * 1.00x / 0.98x, 32 -> 64 at 112 (288) 1.31x / 1.22x, 48 -> 96 at 56 (432) 1.31x / 1.00x;
 * ResNet's stem (147 terms) inside Oct-ResNet-50, 60 rounds: 0.71x at alpha 0.5 and
 * 0.84x at alpha 0 (batch 1), 0.66x at batch 8 (8 rounds). */
static int cpu__s2_use(const oct__cpu_state *st, const oct__conv_op *op, size_t kdim)
{
    size_t most = st->direct ? 512 : cpu__avx2() ? 192 : 0;
    return st->stride2 && op->stride == 2 && op->k >= 3 && kdim <= most &&
           (size_t)op->x.w + 2 * (size_t)op->pad < INT_MAX / 2;
}

/* ---- The implicit-im2col GEMM (convpack.c) for what the direct kernel cannot take */

/* Whether conv2d `op` runs as a GEMM on packed weights whose B panels convpack.c makes
 * straight from x, with bias and ReLU in the product's tile epilogue: what the
 * im2col + SGEMM path computes, bit for bit (the same kernel summing the same terms in
 * the same order; that path's K blocks are KC too unless tuning changed them), without
 * writing the im2col matrix, copying it into panels again, or passing over y once more
 * for bias and ReLU. Not with accumulate (the epilogue would add the bias after the old
 * value, not before as that path does) and not on planes under 64 outputs, where that
 * path puts several images' rows side by side in one product. $OCTCL_CPU_IMPLICIT=0 (or
 * the im2col path forced) keeps that path. */
static int cpu__implicit_use(const oct__cpu_state *st, const oct__conv_op *op, size_t kdim)
{
    size_t hw = (size_t)op->y.h * op->y.w;
    return st->implicit && !op->accumulate && hw >= 64 && hw <= INT_MAX && kdim <= INT_MAX / 2;
}

typedef struct {
    const oct__conv_op *op;
    const float *ap;     /* the weights (co, kdim) packed for kernel isa */
    int isa, kdim;
    const float *bias;
    cpu__chunks work;    /* over the n * ho output rows */
} cpu__implicit_job;

static void cpu__implicit_task(void *arg, int t)
{
    cpu__implicit_job *j = arg;
    const oct__conv_op *op = j->op;
    const oct__view *x = &op->x, *y = &op->y;
    int ho = y->h, wo = y->w, co = y->c;
    size_t r, r1, hw = (size_t)ho * wo;
    oct__gemm_epi epi = {j->bias, NULL, 0, op->relu, NULL, 0, 0, 0};
    while (cpu__take(&j->work, t, &r, &r1))
        while (r < r1) { /* one image's rows of the chunk at a time: y's columns run on */
            int b = (int)(r / (size_t)ho), oy = (int)(r % (size_t)ho);
            size_t rows = (size_t)(ho - oy) < r1 - r ? (size_t)(ho - oy) : r1 - r;
            oct__convpack cp = {cpu__image(x, b), x->c, x->h, x->w, op->k, op->stride, op->pad, wo, oy, j->isa};
            oct__gemm_bsrc src = {oct__convpack_b, &cp};
            oct__sgemm_apacked_src(j->isa, 0, co, co, (int)(rows * (size_t)wo), j->kdim, j->ap, &src,
                                   cpu__image(y, b) + (size_t)oy * wo, (int)hw, 0, &epi);
            r += rows;
        }
}

static oct_status cpu__implicit(oct__cpu_state *st, const oct__conv_op *op, size_t kdim, const float *bias,
                                size_t macs)
{
    const oct__view *y = &op->y;
    int isa = oct__sgemm_isa();
    cpu__implicit_job j = {op, NULL, isa, (int)kdim, bias, {0}};
    OCT__TRY(cpu__gemm_weights(st, op->weight, y->c, (int)kdim, isa, &j.ap));
    /* Chunks of whole rows filling the tuned column count, all threads busy. */
    size_t rows = (size_t)y->n * y->h, fill = (size_t)st->tune.min_cols / (size_t)y->w;
    size_t even = (rows + (size_t)st->threads - 1) / (size_t)st->threads;
    cpu__chunk(st, &j.work, rows, fill < even ? fill : even, macs, OCT__CPU_PAR_MACS);
    oct__pool_run(st->pool, cpu__threads(st, &j.work), cpu__implicit_task, &j);
    return OCT_OK;
}

/* conv2d, and with `pool` (conv2d_pool) that pooling of its output where the direct
 * kernel can pool each block of channels it writes: then *pooled is set, else the caller
 * pools after. */
static oct_status cpu__conv2d(oct_context *ctx, const oct__conv_op *op, const oct__poolg_op *pool, int *pooled)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x, *y = &op->y;
    int k = op->k, s = op->stride, pad = op->pad;
    int n = y->n, ci = x->c, co = y->c, ho = y->h, wo = y->w;
    size_t kdim = (size_t)ci * k * k; /* GEMM inner dimension */
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

    /* Small planes: the output channels in the lanes (cpu__sc_use). */
    if (s == 1 && cpu__sc_use(st, k, ci, co, n, ho, wo, pad))
        return cpu__sc(st, x, NULL, op->weight, NULL, k, pad, bias, NULL, op->accumulate, op->relu, y, macs);

    /* 1x1 stride 1 unpadded: a GEMM straight over x (cpu__gemm_1x1). */
    if (k == 1 && s == 1 && pad == 0 && !st->im2col && cpu__gemm_1x1(st) && kdim <= INT_MAX && hw <= INT_MAX) {
        oct__convg_op g = {*x, *y, {0}, op->weight, op->bias, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, op->accumulate,
                           op->relu};
        st->macs_done += (long long)macs;
        return cpu__g_gemm_ex(st, &g, 1, NULL, NULL, bias);
    }

    /* A 1x1 stride-1 unpadded conv sees each channel plane as one run of h * w pixels:
     * the direct kernel then takes it as rows of a width that fills its 16-lane segments
     * (a 7x7 plane as one row of 49: 4 segments, 77% of the lanes busy, where 7 rows of 7
     * kept 44%). The sums are the same, term for term. */
    oct__conv_op flat;
    if (st->direct && k == 1 && s == 1 && pad == 0) {
        int fw = cpu__flat_width(hw);
        if (fw > 0 && (size_t)fw != (size_t)wo) {
            flat = *op;
            flat.x.w = flat.y.w = fw;
            flat.x.h = flat.y.h = (int)(hw / (size_t)fw);
            op = &flat;
            x = &flat.x;
            y = &flat.y;
            ho = y->h;
            wo = y->w;
        }
    }

    /* 3x3 stride 1 where Winograd wins (or is forced). */
    int wino = k == 3 && s == 1 ? cpu__wino_use(st, ci, co, n, ho, wo, pad) : 0;
    if (wino) return cpu__wino(st, op, NULL, NULL, bias, macs, wino, NULL, 0);

    st->macs_done += (long long)macs;

    /* Stride 1: the direct kernel. */
    if (st->direct && s == 1 && (size_t)x->w + 2 * (size_t)pad < INT_MAX / 2) {
        const float *wpk = NULL;
        OCT__TRY(cpu__packed_weights(st, op->weight, NULL, co, kdim, &wpk));
        return cpu__direct(st, op, NULL, wpk, kdim, bias, macs, op == &flat ? NULL : pool, pooled);
    }

    if (cpu__s2_use(st, op, kdim)) { /* stride 2, few terms: the direct kernel on split rows */
        const float *wpk = NULL;
        OCT__TRY(cpu__packed_weights(st, op->weight, NULL, co, kdim, &wpk));
        return cpu__direct(st, op, NULL, wpk, kdim, bias, macs, pool, pooled);
    }

    if (kdim > INT_MAX || (size_t)co > INT_MAX / kdim)
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu conv2d: GEMM of %d x %zu exceeds the BLAS int range", co, kdim);

    if (cpu__implicit_use(st, op, kdim)) return cpu__implicit(st, op, kdim, bias, macs);

    /* Columns per chunk: OCT__CPU_MIN_COLS, fewer when the scratch cap says so, but at
     * least one output row; a multiple of 16 so every scratch row stays aligned. */
    size_t ld = (size_t)st->tune.min_cols /* tuned */, cap = OCT__CPU_SCRATCH_FLOATS / (kdim + (size_t)co);
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

static oct_status cpu_conv2d(oct_context *ctx, const oct__conv_op *op) { return cpu__conv2d(ctx, op, NULL, NULL); }

static oct_status cpu_poolg(oct_context *ctx, const oct__poolg_op *op);

/* conv2d, then poolg over its output: pooled block by block on the direct kernel's one
 * band (the pool reads the planes a core just wrote, not the whole output from memory
 * again), else the two ops. The same operations either way: the same bits. Intel Xeon
 * (Emerald Rapids), two threads, Oct-ResNet-50's stem (7x7 stride 2, 3 -> 64 at 224x224)
 * and its 3x3 stride-2 max pool, the two ops and the one alternated, minima: batch 8
 * 7.10 + 1.66 -> 7.85 ms; batch 1 even (0.877 + 0.105 against 0.970). */
static oct_status cpu_conv2d_pool(oct_context *ctx, const oct__conv_op *conv, const oct__poolg_op *pool)
{
    int pooled = 0;
    OCT__TRY(cpu__conv2d(ctx, conv, pool, &pooled));
    return pooled ? OCT_OK : cpu_poolg(ctx, pool);
}

/* y (=|+=) conv(x1, weight1) + conv(x2, weight2) + bias1 + bias2 (+ res), then ReLU: the
 * OctConv low band HL(Down(x_h)) + LL(x_l). Stride 1 on the direct kernel: ONE pass over
 * the stacked input [x1; x2] with the weights packed side by side (each output is one sum
 * over x1's channels, then x2's, plus the two biases' sum), so the low band is written
 * once and its small convolutions fill longer tiles. Otherwise two ops
 * (oct__pair_split). */
static oct_status cpu__pair(oct_context *ctx, const oct__conv_pair_op *op, int *side_done)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x1 = &op->x1, *x2 = &op->x2, *y = &op->y;
    int k = op->k, s = op->stride, pad = op->pad;
    /* 1x1 pairs on the GEMM (cpu__gemm_1x1), but planes under 64 pixels on the direct
     * kernel where there is one: Oct-ResNet-50's low-band pairs, one thread's CPU time,
     * min of 5, AMD EPYC: the GEMM 1.03-1.07x at 28x28 and 14x14, 0.90-0.97x at 7x7 (two
     * products into a tile of 49 columns). */
    int gemm = k == 1 && s == 1 && pad == 0 && !st->im2col && cpu__gemm_1x1(st) &&
               (!st->direct || (size_t)y->h * y->w >= 64);
    /* Without the direct kernel, 3x3 pairs that Winograd serves run as one, stacked. */
    int wino = k == 3 && s == 1 ? cpu__wino_use(st, x1->c + x2->c, y->c, y->n, y->h, y->w, pad) : 0;
    /* A residual (op->res) rides in the epilogues of the channel-lane path and the GEMM;
     * Winograd and the direct kernel take the op as two. */
    const oct__view *res = op->res.buf ? &op->res : NULL;
    int sc = cpu__sc_use(st, k, x1->c + x2->c, y->c, y->n, y->h, y->w, pad);
    if ((!st->direct && !gemm && !wino) || s != 1 || x1->c <= 0 || x2->c <= 0 ||
        (size_t)x1->w + 2 * (size_t)pad >= INT_MAX / 2 || (res && !sc && !(gemm && (size_t)y->h * y->w <= INT_MAX)))
        return oct__pair_split(ctx, op);
    int n = y->n, co = y->c, ho = y->h, wo = y->w;
    size_t k2 = (size_t)k * k, kdim = (size_t)(x1->c + x2->c) * k2;
    if (n <= 0 || co <= 0 || ho <= 0 || wo <= 0) return OCT_OK;
    cpu__unpack(st, y->buf->host); /* the output is being written */
    size_t hw = (size_t)ho * wo, macs = (size_t)n * hw * kdim * (size_t)co;
    oct__conv_op one = {op->x1, op->y, op->weight1, NULL, k, s, pad, op->accumulate, op->relu};
    oct__view v2 = op->x2;
    if (k == 1 && pad == 0) { /* planes as rows that fill the segments, as in cpu_conv2d */
        int fw = cpu__flat_width(hw);
        if (fw > 0 && (size_t)fw != (size_t)wo) {
            one.x.w = one.y.w = v2.w = fw;
            one.x.h = one.y.h = v2.h = (int)(hw / (size_t)fw);
        }
    }
    float *bias = NULL;
    if (op->bias1 || op->bias2) {
        bias = oct__malloc((size_t)co * sizeof(float));
        if (!bias) return oct__fail(OCT_ERR_DEVICE_MEMORY, "cpu conv2d_pair: out of memory for %d biases", co);
        for (int o = 0; o < co; o++)
            bias[o] = (op->bias1 ? op->bias1->host[o] : 0.0f) + (op->bias2 ? op->bias2->host[o] : 0.0f);
    }
    const float *wpk = NULL;
    oct_status status;
    if (sc) {
        status = cpu__sc(st, x1, x2, op->weight1, op->weight2, k, pad, bias, res, op->accumulate, op->relu, y, macs);
        free(bias);
        return status;
    }
    if (gemm && hw <= INT_MAX) { /* one GEMM over the stacked input (cpu__gemm_1x1) */
        oct__convg_op g = {*x1, *y, op->res, op->weight1, NULL, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, op->accumulate,
                           op->relu};
        st->macs_done += (long long)macs;
        status = cpu__g_gemm_ex(st, &g, 1, x2, op->weight2, bias);
        free(bias);
        return status;
    }
    if (wino) {
        one.x = op->x1, one.y = op->y;
        /* The side output (L->H over x_l) from the same transformed input, where it would
         * run on this tile by itself: the same products, the same bits. */
        const oct__conv_op *side = op->side;
        if (side && cpu__wino_use(st, side->x.c, side->y.c, n, ho, wo, pad) != wino) side = NULL;
        if (side) cpu__unpack(st, side->y.buf->host); /* written too */
        status = cpu__wino(st, &one, x2, op->weight2, bias, macs, wino, side, op->side_x == 2 ? x1->c : 0);
        *side_done = side && status == OCT_OK;
        st->sides_fused += *side_done;
        free(bias);
        return status;
    }
    st->macs_done += (long long)macs;
    status = cpu__packed_weights(st, op->weight1, op->weight2, co, kdim, &wpk);
    if (status == OCT_OK) status = cpu__direct(st, &one, &v2, wpk, kdim, bias, macs, NULL, NULL);
    free(bias);
    return status;
}

/* The pair, and its side output (oct__conv_pair_op) from the pair's own transformed input
 * where it runs as Winograd, else as a conv2d of its own after it. */
static oct_status cpu_conv2d_pair(oct_context *ctx, const oct__conv_pair_op *op)
{
    int side_done = 0;
    OCT__TRY(cpu__pair(ctx, op, &side_done));
    return op->side && !side_done ? cpu_conv2d(ctx, op->side) : OCT_OK;
}

static int cpu_pair_side(oct_context *ctx) { return ((const oct__cpu_state *)ctx->state)->pair_side; }

static void cpu_depth(oct_context *ctx, oct__depth_budget *b) { *b = ((const oct__cpu_state *)ctx->state)->depth; }

long long oct__cpu_pools_fused(const oct_context *ctx)
{
    return ctx && ctx->be == &oct__backend_cpu ? ((const oct__cpu_state *)ctx->state)->pools_fused : 0;
}

long long oct__cpu_sides_fused(const oct_context *ctx)
{
    return ctx && ctx->be == &oct__backend_cpu ? ((const oct__cpu_state *)ctx->state)->sides_fused : 0;
}

/* ------------------------------------------------------------------------------------ */
/* Pooling, resize, GAP, linear                                                           */

/* An op over (n * c) planes shared by the pool: each task takes an even share. */
typedef struct {
    const void *op;
    const int *sy, *sx;  /* resize: source row and column of each output row and column */
    int vec;             /* vector rows (pooling; resize: an exact 2x width): 2 AVX-512, 1 AVX2, 0 none */
    cpu__chunks work;    /* over the n * c planes */
} cpu__plane_job;

/* Which vector rows pooling and resize use (cpu__plane_job.vec). */
static int cpu__rows_isa(const oct__cpu_state *st) { return st->direct ? 2 : cpu__avx2() ? 1 : 0; }

/* An exact 2x upsample row with the rows `vec` names (cpu__rows_isa). */
static void cpu__x2_rows(int vec, float *dst, const float *src, size_t wo, int accumulate, int relu)
{
    if (vec == 2)
        cpu__x2_row(dst, src, wo, accumulate, relu);
    else if (vec == 1)
        cpu__x2_row_256(dst, src, wo, accumulate, relu);
    else
        cpu__x2_row_c(dst, src, wo, accumulate, relu);
}

static void cpu__avgpool_task(void *arg, int t)
{
    cpu__plane_job *j = arg;
    const oct__pool_op *op = j->op;
    const oct__view *x = &op->x, *y = &op->y;
    size_t wi = (size_t)x->w, wo = (size_t)y->w, p, p1;
    while (cpu__take(&j->work, t, &p, &p1))
        for (; p < p1; p++) {
            int b = (int)(p / (size_t)y->c), c = (int)(p % (size_t)y->c);
            const float *xp = cpu__image(x, b) + (size_t)c * x->h * wi;
            float *yp = cpu__image(y, b) + (size_t)c * y->h * wo;
            if (j->vec == 1 && wo > 4 && wo % 4 != 0) {
                cpu__pool_plane_256(yp, xp, wi, wo, (size_t)y->h);
                continue;
            }
            int oy = 0;
            if (j->vec == 2 && wo <= 8) /* two rows a step: 7x7 and 8x8 outputs */
                for (; oy + 2 <= y->h; oy += 2) cpu__pool_rows2(yp + (size_t)oy * wo, xp + (size_t)(2 * oy) * wi, wi, wo);
            for (; oy < y->h; oy++) {
                const float *restrict r0 = xp + (size_t)(2 * oy) * wi;
                const float *restrict r1 = r0 + wi;
                float *restrict dst = yp + (size_t)oy * wo;
                if (j->vec == 2) {
                    cpu__pool_row(dst, r0, r1, wo);
                    continue;
                }
                if (j->vec == 1) {
                    cpu__pool_row_256(dst, r0, r1, wo, 0);
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
    if (y->n <= 0 || y->c <= 0 || y->h <= 0 || y->w <= 0) return OCT_OK;
    cpu__unpack(st, y->buf->host);
    cpu__plane_job job = {op, NULL, NULL, cpu__rows_isa(st), {0}};
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
    cpu__plane_job *j = arg;
    const oct__resize_op *op = j->op;
    const oct__view *x = &op->x, *y = &op->y;
    const int *sy = j->sy, *sx = j->sx;
    size_t wi = (size_t)x->w, wo = (size_t)y->w, p, p1;
    while (cpu__take(&j->work, t, &p, &p1))
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
                    cpu__x2_rows(j->vec, dst, xp + (size_t)sy[oy] * wi, wo, op->accumulate, op->relu);
                else
                    cpu__resize_row(dst, xp + (size_t)sy[oy] * wi, sx, wo, op->accumulate, op->relu);
            }
        }
}

static oct_status cpu_resize(oct_context *ctx, const oct__resize_op *op)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x, *y = &op->y;
    if (y->n <= 0 || y->c <= 0 || y->h <= 0 || y->w <= 0) return OCT_OK;
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
        int exact = y->w == 2 * x->w;
        for (int i = 0; i < y->w && exact; i++) exact = sx[i] == i / 2;
        job.vec = exact ? cpu__rows_isa(st) : 0;
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
    cpu__plane_job *j = arg;
    const oct__gap_op *op = j->op;
    const oct__view *x = &op->x;
    size_t hw = (size_t)x->h * x->w, p, p1;
    double inv = 1.0 / ((double)x->h * x->w);
    while (cpu__take(&j->work, t, &p, &p1))
        for (; p < p1; p++) {
            int b = (int)(p / (size_t)x->c), c = (int)(p % (size_t)x->c);
            op->y->host[op->yoff + (size_t)b * op->ctotal + op->c0 + c] =
                (float)(cpu__sum(cpu__image(x, b) + (size_t)c * hw, hw) * inv);
        }
}

static oct_status cpu_gap(oct_context *ctx, const oct__gap_op *op)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x;
    if (x->n <= 0 || x->c <= 0) return OCT_OK;
    cpu__unpack(st, op->y->host);
    cpu__plane_job job = {op, NULL, NULL, 0, {0}};
    size_t planes = (size_t)x->n * x->c;
    cpu__chunk(st, &job.work, planes, 1, planes * x->h * x->w, OCT__CPU_PAR_FLOATS);
    int threads = cpu__threads(st, &job.work);
    oct__pool_run(st->pool, threads, cpu__gap_task, &job);
    return OCT_OK;
}

/* The linear layer (a forward pass's head): y[b][o] = bias[o] + dot(x[b], W[o]), each
 * weight row read contiguously by the thread whose range of outputs holds it.
 * oct__sgemm with W transposed gathered the whole (out, in) matrix with stride `in` on
 * one thread: 4 ms of a 55 ms Oct-ResNet-50 pass at batch 1 for 2 M multiply-adds. It
 * serves every batch size, not only small ones: a row's result must not depend on how
 * many rows share its pass (device sets and MPI ranks cut batches anywhere and promise
 * each row what its device gives alone), and the head is a negligible share of a large
 * batch's time. */
/* dot(w_r, x_g) into out[r G + g] for the R weight rows w_r = w + r in (R = 2, or 1 for
 * a range's last row) and the G images x_g = x + g in (G = 4, or 1 for a batch's rest). */
typedef void (*cpu__dots_fn)(const float *w, const float *x, int in, float *out);

typedef struct {
    const oct__linear_op *op;
    cpu__dots_fn dots[2][2]; /* [R == 2][G == 4]: cpu__dot{R}x{G}_512 or _256 (AVX2: no R = 2) */
    cpu__chunks work;        /* over the outputs */
} cpu__lin_job;

#if defined(__GNUC__) && defined(__x86_64__)
/* R x G dot products over in floats: each is the sum one dot alone makes (two 16-lane
 * accumulators over alternate 16-float steps, the rest masked into the first, then the
 * lanes summed), so a row's result does not depend on how many images share the pass.
 * Each load of a weight serves G images and each load of an image R rows, and the
 * weight rows, which a thread takes one after another, are fetched OCT__GEMM_AHEAD_B
 * floats ahead: at batch 1 the head of Oct-ResNet-50 is a stream of 8 MB of weights that
 * the hardware prefetcher leaves at each 4 KiB page's end (gemm.h). One dot at a time
 * kept two sums in flight and read the batch's images (64 KB at batch 8, past L1) again
 * for every weight row: 50 GFLOP/s at batch 8 on an Intel Xeon. */
static OCT__DK_TARGET inline __attribute__((always_inline)) void cpu__dots_512(const int R, const int G,
                                                                               const float *w, const float *x,
                                                                               int in, float *out)
{
    __m512 a0[2][4], a1[2][4];
    OCT__UNROLL for (int r = 0; r < R; r++) OCT__UNROLL for (int g = 0; g < G; g++) a0[r][g] = a1[r][g] =
        _mm512_setzero_ps();
    int i = 0;
    for (; i + 32 <= in; i += 32) {
        __m512 w0[2], w1[2];
        OCT__UNROLL for (int r = 0; r < R; r++) {
            const float *wr = w + (size_t)r * in + i;
            _mm_prefetch((const char *)((uintptr_t)wr + OCT__GEMM_AHEAD_B * sizeof(float)), _MM_HINT_T0);
            _mm_prefetch((const char *)((uintptr_t)(wr + 16) + OCT__GEMM_AHEAD_B * sizeof(float)), _MM_HINT_T0);
            w0[r] = _mm512_loadu_ps(wr), w1[r] = _mm512_loadu_ps(wr + 16);
        }
        OCT__UNROLL for (int g = 0; g < G; g++) {
            __m512 x0 = _mm512_loadu_ps(x + (size_t)g * in + i), x1 = _mm512_loadu_ps(x + (size_t)g * in + i + 16);
            OCT__UNROLL for (int r = 0; r < R; r++) {
                a0[r][g] = _mm512_fmadd_ps(w0[r], x0, a0[r][g]);
                a1[r][g] = _mm512_fmadd_ps(w1[r], x1, a1[r][g]);
            }
        }
    }
    for (; i < in; i += 16) {
        __mmask16 m = cpu__lanes((size_t)(in - i));
        OCT__UNROLL for (int r = 0; r < R; r++) {
            __m512 w0 = _mm512_maskz_loadu_ps(m, w + (size_t)r * in + i);
            OCT__UNROLL for (int g = 0; g < G; g++)
                a0[r][g] = _mm512_fmadd_ps(w0, _mm512_maskz_loadu_ps(m, x + (size_t)g * in + i), a0[r][g]);
        }
    }
    OCT__UNROLL for (int r = 0; r < R; r++) OCT__UNROLL for (int g = 0; g < G; g++) out[r * G + g] =
        _mm512_reduce_add_ps(_mm512_add_ps(a0[r][g], a1[r][g]));
}
#define OCT__CPU_DOTS(R, G)                                                                                            \
    static OCT__DK_TARGET void cpu__dot##R##x##G##_512(const float *w, const float *x, int in, float *out)             \
    {                                                                                                                  \
        cpu__dots_512(R, G, w, x, in, out);                                                                            \
    }
OCT__CPU_DOTS(1, 1)
OCT__CPU_DOTS(1, 4)
OCT__CPU_DOTS(2, 1)
OCT__CPU_DOTS(2, 4)
#undef OCT__CPU_DOTS

/* The same with AVX2 + FMA: two 8-lane accumulators a dot over alternate 8-float steps;
 * one weight row (R = 1): two would need 16 accumulators, all of AVX2's registers. */
static __attribute__((target("avx2,fma"), always_inline)) inline void
cpu__dots_256(const int G, const float *w, const float *x, int in, float *out)
{
    __m256 a0[4], a1[4];
    OCT__UNROLL for (int g = 0; g < G; g++) a0[g] = a1[g] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= in; i += 16) {
        _mm_prefetch((const char *)((uintptr_t)(w + i) + OCT__GEMM_AHEAD_B * sizeof(float)), _MM_HINT_T0);
        __m256 w0 = _mm256_loadu_ps(w + i), w1 = _mm256_loadu_ps(w + i + 8);
        OCT__UNROLL for (int g = 0; g < G; g++) {
            a0[g] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + (size_t)g * in + i), a0[g]);
            a1[g] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + (size_t)g * in + i + 8), a1[g]);
        }
    }
    for (; i < in; i += 8) {
        __m256i m = oct__lanes8(0, in - i);
        __m256 w0 = _mm256_maskload_ps(w + i, m);
        OCT__UNROLL for (int g = 0; g < G; g++)
            a0[g] = _mm256_fmadd_ps(w0, _mm256_maskload_ps(x + (size_t)g * in + i, m), a0[g]);
    }
    OCT__UNROLL for (int g = 0; g < G; g++) {
        __m256 a = _mm256_add_ps(a0[g], a1[g]);
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        out[g] = _mm_cvtss_f32(h);
    }
}
static __attribute__((target("avx2,fma"))) void cpu__dot1x1_256(const float *w, const float *x, int in, float *out)
{
    cpu__dots_256(1, w, x, in, out);
}
static __attribute__((target("avx2,fma"))) void cpu__dot1x4_256(const float *w, const float *x, int in, float *out)
{
    cpu__dots_256(4, w, x, in, out);
}
#define OCT__CPU_HAVE_LIN 1
#endif

static void cpu__lin_task(void *arg, int t)
{
    cpu__lin_job *j = arg;
    const oct__linear_op *op = j->op;
    int n = op->n, in = op->in, out = op->out;
    const float *x = op->x->host, *bias = op->bias ? op->bias->host : NULL;
    float *y = op->y->host;
    size_t o0, o1;
    while (cpu__take(&j->work, t, &o0, &o1))
        for (size_t o = o0; o < o1;) {
            int R = j->dots[1][0] && o1 - o >= 2 ? 2 : 1;
            float v[8]; /* [R][G] */
            for (int b = 0; b < n;) {
                int G = n - b >= 4 ? 4 : 1;
                j->dots[R == 2][G == 4](op->weight->host + o * (size_t)in, x + (size_t)b * in, in, v);
                for (int r = 0; r < R; r++)
                    for (int g = 0; g < G; g++)
                        y[(size_t)(b + g) * out + o + r] = bias ? bias[o + r] + v[r * G + g] : v[r * G + g];
                b += G;
            }
            o += (size_t)R;
        }
}

static oct_status cpu_linear(oct_context *ctx, const oct__linear_op *op)
{
    int n = op->n, in = op->in, out = op->out;
    if (n == 0 || out == 0) return OCT_OK;
    cpu__unpack(ctx->state, op->y->host);
    oct__cpu_state *st = ctx->state;
    st->macs_done += (long long)n * in * out;
    /* Dot products, threads over outputs: AVX-512, or AVX2 where a vector GEMM runs on a
     * CPU with it (AVX2-only CPUs; OCTCL_CPU_PATH=gemm). */
    cpu__lin_job j = {op, {{NULL}}, {0}};
#ifdef OCT__CPU_HAVE_LIN
    if (st->direct) {
        j.dots[0][0] = cpu__dot1x1_512, j.dots[0][1] = cpu__dot1x4_512;
        j.dots[1][0] = cpu__dot2x1_512, j.dots[1][1] = cpu__dot2x4_512;
    } else if (cpu__avx2()) {
        j.dots[0][0] = cpu__dot1x1_256, j.dots[0][1] = cpu__dot1x4_256;
    }
#endif
    if (j.dots[0][0] && in > 0) {
        cpu__chunk(st, &j.work, (size_t)out, 16, (size_t)n * in * out, OCT__CPU_PAR_MACS);
        oct__pool_run(st->pool, cpu__threads(st, &j.work), cpu__lin_task, &j);
        return OCT_OK;
    }
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

/* ------------------------------------------------------------------------------------ */
/* Graph ops: general convolution, pooling, add, affine                                   */

/* The row loops below are compiled twice: for AVX-512 (chosen when the CPU has it, like
 * the direct kernel) and for the baseline; the compiler vectorises the plain C. */
#if defined(__GNUC__) && defined(__x86_64__)
#define OCT__G_AVX512 __attribute__((target("avx512f")))
#define OCT__G_AVX2 __attribute__((target("avx2")))
#define OCT__G_INLINE __attribute__((always_inline)) static inline
#else
#define OCT__G_AVX512
#define OCT__G_AVX2
#define OCT__G_INLINE static inline
#endif

/* Outputs o in [*lo, *hi) (of n) whose input o * s + off lies in [0, in). */
static void cpu__g_valid(int n, int in, int s, int off, int *lo, int *hi)
{
    int first = -off, end = in - off; /* first <= o * s < end */
    int l = first <= 0 ? 0 : (first + s - 1) / s;
    int h = end <= 0 ? 0 : (end + s - 1) / s;
    if (h > n) h = n;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* y (rows of len, row stride ys) = relu(y + bias[r] + res), in place; each part may be off. */
OCT__G_INLINE void cpu__g_epi_body(float *restrict y, size_t ys, int rows, size_t len, const float *restrict bias,
                                   const float *restrict res, size_t rs, int relu)
{
    for (int r = 0; r < rows; r++) {
        float *restrict o = y + (size_t)r * ys;
        const float *restrict q = res ? res + (size_t)r * rs : NULL;
        float bv = bias ? bias[r] : 0.0f;
        if (q && relu)
            for (size_t i = 0; i < len; i++) {
                float v = (o[i] + bv) + q[i];
                o[i] = v < 0.0f ? 0.0f : v;
            }
        else if (q)
            for (size_t i = 0; i < len; i++) o[i] = (o[i] + bv) + q[i];
        else if (relu)
            for (size_t i = 0; i < len; i++) {
                float v = o[i] + bv;
                o[i] = v < 0.0f ? 0.0f : v;
            }
        else if (bias)
            for (size_t i = 0; i < len; i++) o[i] += bv;
    }
}
static OCT__G_AVX512 void cpu__g_epi_512(float *y, size_t ys, int rows, size_t len, const float *bias,
                                         const float *res, size_t rs, int relu)
{
    cpu__g_epi_body(y, ys, rows, len, bias, res, rs, relu);
}
static void cpu__g_epi_any(float *y, size_t ys, int rows, size_t len, const float *bias, const float *res, size_t rs,
                           int relu)
{
    cpu__g_epi_body(y, ys, rows, len, bias, res, rs, relu);
}

/* ---- im2col + GEMM (groups, dilation, any padding), and 1x1 stride 1 as a plain GEMM */

/* im2col of output pixels [p0, p1) (flattened oy * wo + ox) of one image, input channels
 * [0, cig) of x (the group's first channel):
 *   x (cig, h, w) -> col (cig * kh * kw, ld), row (c, ky, kx), column p - p0. */
static void cpu__g_im2col(const float *restrict x, int h, int w, const oct__convg_op *op, int cig, int wo,
                          size_t p0, size_t p1, float *restrict col, size_t ld)
{
    int kh = op->kh, kw = op->kw, sh = op->stride_h, sw = op->stride_w;
    for (int c = 0; c < cig; c++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                float *restrict row = col + ((size_t)(c * kh + ky) * kw + kx) * ld;
                int offy = ky * op->dil_h - op->pad_t, offx = kx * op->dil_w - op->pad_l, lo, hi;
                cpu__g_valid(wo, w, sw, offx, &lo, &hi);
                for (size_t p = p0; p < p1;) {
                    int oy = (int)(p / (size_t)wo), ox0 = (int)(p % (size_t)wo);
                    int ox1 = (size_t)(wo - ox0) < p1 - p ? wo : ox0 + (int)(p1 - p);
                    float *restrict dst = row + (p - p0); /* output column ox0 first */
                    int iy = oy * sh + offy;
                    p += (size_t)(ox1 - ox0);
                    if (iy < 0 || iy >= h) {
                        memset(dst, 0, (size_t)(ox1 - ox0) * sizeof(float));
                        continue;
                    }
                    const float *restrict src = x + ((size_t)c * h + iy) * w; /* the input row */
                    int a = lo > ox0 ? lo : ox0, b = hi < ox1 ? hi : ox1;
                    if (a > ox1) a = ox1;
                    if (b < a) b = a;
                    if (a > ox0) memset(dst, 0, (size_t)(a - ox0) * sizeof(float));
                    if (sw == 1)
                        memcpy(dst + (a - ox0), src + (a + offx), (size_t)(b - a) * sizeof(float));
                    else
                        for (int ox = a; ox < b; ox++) dst[ox - ox0] = src[ox * sw + offx];
                    if (ox1 > b) memset(dst + (b - ox0), 0, (size_t)(ox1 - b) * sizeof(float));
                }
            }
}

/* The GEMM paths of a convolution, shared by the pool. An item is (image, group, block
 * of output channels, block of output pixels); a thread builds the block's im2col
 * columns in its scratch (for 1x1 stride-1 unpadded kernels the input rows are the
 * columns already), runs one GEMM straight into y (adding to it when accumulating),
 * then adds bias and residual and applies ReLU while the block is in cache. When an
 * image has too few pixels to share out this way (small late-stage planes at batch 1),
 * its whole im2col matrix is built once, by all threads, into one shared buffer, and
 * the GEMM is cut into blocks of output channels and pixels over it. */
typedef struct {
    const oct__convg_op *op;
    oct__cpu_state *st;
    int direct_b;       /* 1x1 stride 1 unpadded: the GEMM reads x itself */
    int cig, cog;       /* channels per group */
    size_t kdim;        /* cig * kh * kw */
    size_t cols;        /* output pixels per block */
    int cob;            /* output channels per block */
    size_t ncb, ncob;   /* blocks of pixels and of channels per (image, group) */
    int avx512;
    const float *shared; /* the (image, group)'s whole im2col (kdim, ho * wo), or NULL */
    const float *apk;    /* 1x1, one group: the weights packed for kernel isa (oct__sgemm_apack), or NULL */
    int isa;
    const oct__view *x2; /* conv2d_pair (1x1, with apk): the second input, its weights packed in apk2 */
    const float *apk2;
    const float *bias;   /* per output channel (op->bias's, or the pair's two summed), or NULL */
    const oct__view *up; /* cpu_conv_up's exact 2x upsample, added to each block after its GEMM, or NULL */
    int up_relu, up_vec; /* ReLU after it; the row kernels (cpu__rows_isa) */
    int b, g;            /* that image and group */
    cpu__chunks work;   /* over n * groups * ncob * ncb items (ncob * ncb when shared) */
    /* 1x1 with apk, one block of pixels an image, several of channels, on a kernel that
     * packs B: each image's x (and x2) packed once for all its blocks (oct__sgemm_bpack),
     * bpk_img (bpk2_img) floats an image, or NULL. */
    float *bpk, *bpk2;
    size_t bpk_img, bpk2_img;
    int up_epi;          /* up added by the GEMM's tile epilogue (oct__gemm_epi.up), not cpu__g_up_block */
    int co_inner;        /* items ordered with the block of channels fastest (cpu__g_blocks) */
} cpu__g_gemm_job;

/* Channels [co0, co0 + rows) of y, pixels [p0, p1) of image b: += up's exact 2x nearest
 * upsample, then ReLU (cpu_conv_up's L->H path), on a GEMM block after its product
 * rather than in a second pass over y (where the GEMM's own epilogue does not add it:
 * cpu__g_gemm_job.up_epi). The sums and their order are cpu_resize's. */
static void cpu__g_up_block(const cpu__g_gemm_job *j, int b, int co0, int rows, size_t p0, size_t p1)
{
    const oct__view *y = &j->op->y, *up = j->up;
    size_t wo = (size_t)y->w, hwo = (size_t)y->h * wo, wu = (size_t)up->w, hwu = (size_t)up->h * wu;
    int relu = j->up_relu;
    for (int c = co0; c < co0 + rows; c++) {
        float *yc = cpu__image(y, b) + (size_t)c * hwo;
        const float *uc = cpu__image(up, b) + (size_t)c * hwu;
        for (size_t p = p0; p < p1;) {
            size_t oy = p / wo, ox = p % wo, end = (oy + 1) * wo < p1 ? (oy + 1) * wo : p1;
            float *dst = yc + p;
            const float *src = uc + oy / 2 * wu;
            size_t len = end - p;
            /* Blocks start on multiples of 16 pixels and rows are of even width, so ox
             * is even; an odd start would take its first pixel alone. */
            if (ox & 1) {
                cpu__x2_row_c(dst, src + ox / 2, 1, 1, relu);
                dst++, ox++, len--;
            }
            cpu__x2_rows(j->up_vec, dst, src + ox / 2, len, 1, relu);
            p = end;
        }
    }
}

/* One product of the packed-weight GEMM into y's rows [co0, co0 + rows): on B packed
 * once (pre), or on the matrix bmat (row stride ldb), packed as the kernel needs. */
static void cpu__g_product(const cpu__g_gemm_job *j, int co0, int rows, size_t ncols, int kdim, const float *ap,
                           const float *pre, const float *bmat, size_t ldb, float *yp, int acc,
                           const oct__gemm_epi *e)
{
    const oct__view *y = &j->op->y;
    int hwo = y->h * y->w;
    if (pre)
        oct__sgemm_apacked_pre(j->isa, co0, co0 + rows, y->c, (int)ncols, kdim, ap, pre, yp, hwo, acc, e);
    else
        oct__sgemm_apacked_epi(j->isa, co0, co0 + rows, y->c, (int)ncols, kdim, ap, bmat, (int)ldb, yp, hwo, acc, e);
}

static void cpu__g_gemm_task(void *arg, int t)
{
    cpu__g_gemm_job *j = arg;
    const oct__convg_op *op = j->op;
    const oct__view *x = &op->x, *y = &op->y;
    size_t hwo = (size_t)y->h * y->w, hwi = (size_t)x->h * x->w, i, i1;
    const float *wt = op->weight->host, *bias = j->bias;
    float *col = j->st->scratch[t].f;
    while (cpu__take(&j->work, t, &i, &i1))
        for (; i < i1; i++) {
            size_t cb, rest;
            int ob;
            if (j->co_inner) {
                ob = (int)(i % j->ncob), rest = i / j->ncob;
                cb = rest % j->ncb, rest /= j->ncb;
            } else {
                cb = i % j->ncb, rest = i / j->ncb;
                ob = (int)(rest % j->ncob), rest /= j->ncob;
            }
            int g = j->shared ? j->g : (int)(rest % (size_t)op->groups);
            int b = j->shared ? j->b : (int)(rest / (size_t)op->groups);
            size_t p0 = cb * j->cols, p1 = p0 + j->cols < hwo ? p0 + j->cols : hwo;
            int co0 = g * j->cog + ob * j->cob, rows = j->cog - ob * j->cob < j->cob ? j->cog - ob * j->cob : j->cob;
            const float *xg = cpu__image(x, b) + (size_t)g * j->cig * hwi;
            const float *bmat;
            size_t ldb;
            if (j->shared) {
                bmat = j->shared + p0;
                ldb = hwo;
            } else if (j->direct_b) {
                bmat = xg + p0;
                ldb = hwi;
            } else {
                cpu__g_im2col(xg, x->h, x->w, op, j->cig, y->w, p0, p1, col, j->cols);
                bmat = col;
                ldb = j->cols;
            }
            float *yp = cpu__image(y, b) + (size_t)co0 * hwo + p0;
            const float *rp = op->res.buf ? cpu__image(&op->res, b) + (size_t)co0 * hwo + p0 : NULL;
            if (j->apk) {
                /* Weights packed once; bias, residual and ReLU on each tile as it is final. */
                oct__gemm_epi e = {bias ? bias + co0 : NULL, rp, hwo, op->relu, NULL, 0, 0, 0};
                if (j->up_epi) {
                    size_t hwu = (size_t)j->up->h * j->up->w;
                    e.up = cpu__image(j->up, b) + (size_t)co0 * hwu;
                    e.us = hwu, e.up0 = p0, e.uw = y->w, e.relu = j->up_relu;
                }
                /* x's product (B packed once for the image: p0 = 0, p1 = hwo), then for the
                 * pair x2's onto it; the epilogue on the last. */
                const float *pre = j->bpk ? j->bpk + (size_t)b * j->bpk_img : NULL;
                cpu__g_product(j, co0, rows, p1 - p0, (int)j->kdim, j->apk, pre, bmat, ldb, yp, op->accumulate,
                               j->x2 ? NULL : &e);
                if (j->x2)
                    cpu__g_product(j, co0, rows, p1 - p0, j->x2->c, j->apk2,
                                   j->bpk2 ? j->bpk2 + (size_t)b * j->bpk2_img : NULL, cpu__image(j->x2, b) + p0, ldb,
                                   yp, 1, &e);
                if (j->up && !j->up_epi) cpu__g_up_block(j, b, co0, rows, p0, p1);
                continue;
            }
            oct__sgemm(0, 0, rows, (int)(p1 - p0), (int)j->kdim, wt + (size_t)co0 * j->kdim, (int)j->kdim, bmat,
                       (int)ldb, yp, (int)hwo, op->accumulate);
            if (bias || rp || op->relu) {
                if (j->avx512)
                    cpu__g_epi_512(yp, hwo, rows, p1 - p0, bias ? bias + co0 : NULL, rp, hwo, op->relu);
                else
                    cpu__g_epi_any(yp, hwo, rows, p1 - p0, bias ? bias + co0 : NULL, rp, hwo, op->relu);
            }
            if (j->up) cpu__g_up_block(j, b, co0, rows, p0, p1);
        }
}

/* The shared im2col of one (image, group), its input channels cut among the threads. */
typedef struct {
    const cpu__g_gemm_job *j;
    float *col;          /* (kdim, ho * wo) */
    cpu__chunks work;    /* over the group's cig input channels */
} cpu__g_im2col_job;

static void cpu__g_im2col_task(void *arg, int t)
{
    cpu__g_im2col_job *c = arg;
    const cpu__g_gemm_job *j = c->j;
    const oct__convg_op *op = j->op;
    const oct__view *x = &op->x, *y = &op->y;
    size_t hwi = (size_t)x->h * x->w, hwo = (size_t)y->h * y->w, kk = (size_t)op->kh * op->kw, c0, c1;
    const float *xg = cpu__image(x, j->b) + (size_t)j->g * j->cig * hwi;
    while (cpu__take(&c->work, t, &c0, &c1))
        cpu__g_im2col(xg + c0 * hwi, x->h, x->w, op, (int)(c1 - c0), y->w, 0, hwo, c->col + c0 * kk * hwo, hwo);
}

/* oct__cpu_cob_even (backend_cpu.h). The even cut's blocks of 128 channels in strips of
 * AVX2's 6 rows were 18 rows each and a last one of 2: 72 rows for one thread and 56 for
 * the other, where 66 + 62 can be had. Only one-block planes are cut this way (at batch 1
 * the 7x7 ones; 14x14 and larger planes are cut into blocks of pixels first). A chain of
 * ten 1x1 layers 128 <-> 512 on a 7x7 plane, batch 1, two threads, AMD EPYC Zen 3, one
 * process, passes alternated: the 128-channel layers 1.08x faster, the 512 ones the same.
 * In Oct-ResNet-50 at batch 1 the 7x7 1x1 layers' sum moved 1.01-1.07x in three runs of
 * 150 rounds, but so did the layers this does not touch (1.01-1.08x): no change that
 * shows through the noise. */
size_t oct__cpu_cob_even(size_t cog, size_t align, size_t cob, size_t threads)
{
    size_t best = cob, best_load = (size_t)-1;
    if (align < 1 || cob < 1 || threads < 2) return cob;
    for (size_t b = cob; b < cog + align; b += align) {
        size_t n = (cog + b - 1) / b, load = 0;
        if (n < threads) break;
        for (size_t o = 0; o < threads; o++) {
            size_t lo = n * o / threads * b, hi = n * (o + 1) / threads * b;
            if (hi > cog) hi = cog;
            if (hi > lo && hi - lo > load) load = hi - lo;
        }
        if (load < best_load) best = b, best_load = load;
    }
    return best;
}

/* Blocks of pixels (and, when they are too few, of output channels) for about `want`
 * items over `per` (image, group) pairs: at most `cols_max` pixels, at least 64 unless
 * the plane is smaller, a multiple of 16; with `whole`, the plane (up to cols_max) in
 * one block and only the channels cut. */
static void cpu__g_blocks(cpu__g_gemm_job *j, size_t hwo, size_t per, size_t want, size_t cols_max, int cut_co,
                          size_t co_align, int whole)
{
    size_t cols = cols_max < hwo ? cols_max : hwo;
    if (!whole && per * ((hwo + cols - 1) / cols) < want) {
        size_t parts = (want + per - 1) / per, c = (hwo + parts - 1) / parts;
        c = (c + 15) / 16 * 16;
        if (c < 64) c = 64;
        if (c < cols) cols = c;
    }
    if (cols >= hwo) cols = hwo;
    j->cols = cols;
    j->ncb = (hwo + cols - 1) / cols;
    j->cob = j->cog;
    size_t items = per * j->ncb;
    if (cut_co && items < want && j->cog >= 32) {
        size_t parts = (want + items - 1) / items;
        size_t cob = ((size_t)j->cog + parts - 1) / parts;
        cob = (cob + co_align - 1) / co_align * co_align;
        if (items == 1 && j->st->threads > 1)
            cob = oct__cpu_cob_even((size_t)j->cog, co_align, cob, (size_t)j->st->threads);
        j->cob = (int)cob;
    }
    j->ncob = ((size_t)j->cog + j->cob - 1) / j->cob;
    /* A thread takes a run of consecutive items (cpu__take). Blocks of pixels outermost,
     * each thread's run covers all the channels of its own part of the plane: it streams
     * half of B (the input, every channel of its pixels) and all of A (the packed
     * weights), where blocks of channels outermost had each thread stream all of B for
     * half of A. Taken where B is the larger (more pixels than output channels), the
     * blocks of pixels are equal (a short last one made the shares uneven) and both are
     * cut: at batch 1, Oct-ResNet-50's 28x28 1x1 layers (784 pixels in 7 blocks of 112,
     * 128 or 512 channels in 2 blocks). Intel Xeon (family 6 model 207, AVX-512), two
     * threads, batch 1, per-layer minima over alternated processes: alpha 0, the 28x28
     * 1x1 layers 4.44 -> 4.04 ms (the 128-channel ones 0.48 -> 0.39); alpha 0.5, the
     * 28x28 high band's 1x1 layers 1.39 -> 1.23, their low band's pairs 0.89x; the 14x14
     * pools that read those outputs 0.14 -> 0.20 ms (half their input in the other
     * core's cache now). The same sums: which thread runs an item changes no bit. */
    j->co_inner = cut_co && j->ncob > 1 && j->ncb > 1 && hwo % cols == 0 && hwo >= (size_t)j->cog;
}

/* B packed once for all blocks of channels of each image (cpu__g_gemm_job.bpk): items
 * are (image, strip of nr columns) of x, then of x2. */
typedef struct {
    const cpu__g_gemm_job *j;
    size_t s1, s2;       /* strips of x and of x2 an image */
    cpu__chunks work;    /* over n * (s1 + s2) items */
} cpu__g_bpack_job;

static void cpu__g_bpack_task(void *arg, int t)
{
    cpu__g_bpack_job *p = arg;
    const cpu__g_gemm_job *j = p->j;
    const oct__view *x = &j->op->x;
    int hw = x->h * x->w;
    size_t i, i1, per = p->s1 + p->s2;
    while (cpu__take(&p->work, t, &i, &i1))
        for (; i < i1; i++) {
            int b = (int)(i / per), s = (int)(i % per);
            if ((size_t)s < p->s1)
                oct__sgemm_bpack(j->isa, hw, (int)j->kdim, cpu__image(x, b), hw, s, s + 1,
                                 j->bpk + (size_t)b * j->bpk_img);
            else
                oct__sgemm_bpack(j->isa, hw, j->x2->c, cpu__image(j->x2, b), hw, s - (int)p->s1, s - (int)p->s1 + 1,
                                 j->bpk2 + (size_t)b * j->bpk2_img);
        }
}

/* Whether j's B can be packed once for its blocks of channels (cpu__g_bpack): packed
 * weights, B read in place, one group, a plane the kernel packs (oct__sgemm_packs_b),
 * and every image's packed B within the scratch cap; *f1 and *f2 (either may be NULL)
 * then the floats of one image's packed x and x2. */
static int cpu__g_bpack_able(const oct__cpu_state *st, const cpu__g_gemm_job *j, size_t *f1, size_t *f2)
{
    const oct__convg_op *op = j->op;
    size_t hw = (size_t)op->x.h * op->x.w, n = (size_t)op->y.n;
    if (!st->shared_b || !j->apk || !j->direct_b || op->groups != 1 || hw != (size_t)op->y.h * op->y.w ||
        hw > INT_MAX || j->kdim > INT_MAX || !oct__sgemm_packs_b(j->isa, (int)hw))
        return 0;
    size_t a = oct__sgemm_bpack_floats(j->isa, (int)hw, (int)j->kdim);
    size_t b = j->x2 ? oct__sgemm_bpack_floats(j->isa, (int)hw, j->x2->c) : 0;
    if (a == 0 || (j->x2 && b == 0) || a + b > OCT__CPU_SCRATCH_FLOATS / (n ? n : 1)) return 0;
    if (f1) *f1 = a;
    if (f2) *f2 = b;
    return 1;
}

/* Pack each image's B once into st->bshared for j's blocks of channels, where the GEMM
 * kernel would pack it again in every block (oct__sgemm_packs_b: 14x14 and 7x7 planes
 * on AVX2). Without it, Oct-ResNet-50's late 1x1 layers, cut into 3-6 blocks of
 * channels so that every thread has work at batch 1, packed the same B 3-6 times. The
 * products read the same floats in the same order: the same bits. No-op (j->bpk NULL)
 * where it does not apply or would take more than the scratch cap. */
static oct_status cpu__g_bpack(oct__cpu_state *st, cpu__g_gemm_job *j)
{
    const oct__convg_op *op = j->op;
    size_t hw = (size_t)op->x.h * op->x.w, n = (size_t)op->y.n;
    size_t f1, f2;
    if (j->ncb != 1 || j->ncob < 2 || !cpu__g_bpack_able(st, j, &f1, &f2)) return OCT_OK;
    OCT__TRY(cpu__grow(&st->bshared, n * (f1 + f2), "convg (B packed once)"));
    size_t nr = (size_t)oct__sgemm_nr(j->isa);
    cpu__g_bpack_job p = {j, (hw + nr - 1) / nr, j->x2 ? (hw + nr - 1) / nr : 0, {0}};
    j->bpk = st->bshared.f, j->bpk_img = f1;
    j->bpk2 = j->x2 ? st->bshared.f + n * f1 : NULL, j->bpk2_img = f2;
    cpu__chunk(st, &p.work, n * (p.s1 + p.s2), 1, n * (f1 + f2), OCT__CPU_PAR_FLOATS);
    oct__pool_run(st->pool, cpu__threads(st, &p.work), cpu__g_bpack_task, &p);
    return OCT_OK;
}

/* The GEMM paths of op; with x2 (1x1 only, one group; w2 its weights), over the stacked
 * input [op->x; x2] (conv2d_pair); bias (per output channel, or NULL) replaces op->bias. */
static oct_status cpu__g_gemm_ex(oct__cpu_state *st, const oct__convg_op *op, int direct_b, const oct__view *x2,
                                 const oct__buf *w2, const float *bias)
{
    const oct__view *x = &op->x, *y = &op->y;
    cpu__g_gemm_job j = {op, st, direct_b, x->c / op->groups, y->c / op->groups, 0, 0, 0, 0, 0, st->direct, NULL,
                         NULL, 0, NULL, NULL, bias, NULL, 0, 0, 0, 0, {0}, NULL, NULL, 0, 0, 0, 0};
    /* 1x1 stride 1, one group: the weights packed once for the GEMM kernel (cached like
     * the direct kernel's) and the epilogue fused into the GEMM's tile stores;
     * $OCTCL_CPU_GEMM_PACKED=0 keeps the per-call packing and the separate pass. */
    size_t co_align = 16;
    if (direct_b && op->groups == 1 && cpu__gemm_1x1(st)) {
        j.isa = oct__sgemm_isa();
        int mr = oct__sgemm_mr(j.isa);
        OCT__TRY(cpu__gemm_weights(st, op->weight, y->c, x->c, j.isa, &j.apk));
        if (x2) {
            OCT__TRY(cpu__gemm_weights(st, w2, y->c, x2->c, j.isa, &j.apk2));
            j.x2 = x2;
        }
        /* Channel blocks start on whole strips of mr rows, and no more than that: rounding
         * them to 48 rows (a multiple of 16 and of AVX2's 6) left 512 channels at 14x14 in
         * blocks of 96, 96, 96, 96, 96, 32 -- 288 rows for one thread, 224 for the other.
         * Oct-ResNet-50 alpha 0.5, two threads, batch 1, AMD EPYC Zen 3, sum of the layer
         * minima over 3 alternated runs: 32.57 -> 30.42 ms (alpha 0 42.44 -> 42.21). */
        co_align = (size_t)mr;
    }
    if (!x2) { /* cpu_conv_up's upsample, added to each block as it is done */
        j.up = cpu__take_up(st, &j.up_relu);
        j.up_vec = j.up ? cpu__rows_isa(st) : 0;
        /* Added in the tile epilogue (oct__gemm_epi.up); rows under 8 pixels keep the
         * pass over each block (cpu__g_up_block). On the AVX-512 kernels too since
         * 2026-12-01: Oct-ResNet-50 alpha 0.5, two threads, batch 1, AMD EPYC Zen 4,
         * per-layer minima over 5 alternated processes: the H->H 1x1 layers that take an
         * L->H path 2.77 -> 2.50 ms (14x14), 1.69 -> 1.44 (28x28), 1.27 -> 1.12 (56x56);
         * the layers' sum 24.62 -> 24.12 ms. (Prefetching the next tile's C and residual
         * rows, which the AVX2 kernel does, gained nothing there: 24.12 -> 24.02, with
         * the low-band 1x1 layers 3-8% slower; left out.) */
        j.up_epi = j.up && j.apk && y->w % 2 == 0 && y->w >= 8;
    }
    if (x2 && !j.x2) { /* the pair without packed weights: two products */
        oct__convg_op a = *op, b = *op;
        a.relu = 0, a.res = (oct__view){0}; /* the residual once, with the second */
        b.x = *x2, b.weight = w2, b.accumulate = 1;
        OCT__TRY(cpu__g_gemm_ex(st, &a, direct_b, NULL, NULL, NULL));
        return cpu__g_gemm_ex(st, &b, direct_b, NULL, NULL, bias);
    }
    size_t hwo = (size_t)y->h * y->w, per = (size_t)y->n * op->groups;
    j.kdim = (size_t)j.cig * op->kh * op->kw;
    if (j.kdim > INT_MAX || hwo > INT_MAX || (size_t)j.cog * j.kdim > INT_MAX)
        return oct__fail(OCT_ERR_BAD_SIZE, "cpu convg: GEMM of %d x %zu x %zu exceeds the BLAS int range", j.cog,
                         j.kdim, hwo);
    size_t macs = (size_t)y->n * hwo * (size_t)y->c * (j.kdim + (j.x2 ? (size_t)j.x2->c : 0));
    size_t want = macs >= OCT__CPU_PAR_MACS ? (size_t)st->threads * 4 : 1;
    /* Pixel blocks of up to 1024 columns, fewer where an im2col block would pass the
     * scratch cap. */
    size_t cols_max = 1024, cap = OCT__CPU_SCRATCH_FLOATS / j.kdim;
    if (!direct_b && cols_max > cap) cols_max = cap < 16 ? 16 : cap / 16 * 16;
    /* Planes whose B the kernel packs (oct__sgemm_packs_b: 14x14 on AVX2), so few
     * images that blocks of 64 pixels are still too few items and the channels are cut
     * too: blocks of channels over the whole plane, B packed once for them all
     * (cpu__g_bpack, where it fits its cap), where blocks of 64 pixels (196 = 64 + 64 +
     * 64 + 4) had each thread pack all of B again for its own channels. Ten 1x1
     * layers at 14x14, batch 1, two threads, AMD EPYC Zen 3, old and new library
     * alternated 10 rounds (medians of the pairs' ratios): 512 <-> 128 0.85x, 1024 <->
     * 256 0.975x; in Oct-ResNet-50 (5 alternated profiles) its 14x14 1x1 layers
     * 0.95-0.98x, the same bits. */
    int whole = st->threads > 1 && per * ((hwo + 63) / 64) < want && hwo <= cols_max && j.cog >= 32 &&
                cpu__g_bpack_able(st, &j, NULL, NULL);
    cpu__g_blocks(&j, hwo, per, want, cols_max, direct_b, co_align, whole);
    if (!direct_b && per * j.ncb < want && st->threads > 1 && j.kdim * hwo <= OCT__CPU_SCRATCH_FLOATS) {
        /* Shared im2col, one (image, group) after another. */
        OCT__TRY(cpu__scratch(st, 0, j.kdim * hwo, "convg"));
        float *col = st->scratch[0].f;
        cpu__g_blocks(&j, hwo, 1, want, 1024, 1, co_align, 0);
        for (int b = 0; b < y->n; b++)
            for (int g = 0; g < op->groups; g++) {
                cpu__g_im2col_job c = {&j, col, {0}};
                j.b = b, j.g = g;
                cpu__chunk(st, &c.work, (size_t)j.cig, 1, macs, OCT__CPU_PAR_MACS);
                oct__pool_run(st->pool, cpu__threads(st, &c.work), cpu__g_im2col_task, &c);
                j.shared = col;
                cpu__chunk(st, &j.work, j.ncb * j.ncob, 1, macs, OCT__CPU_PAR_MACS);
                oct__pool_run(st->pool, cpu__threads(st, &j.work), cpu__g_gemm_task, &j);
            }
        return OCT_OK;
    }
    OCT__TRY(cpu__g_bpack(st, &j));
    cpu__chunk(st, &j.work, per * j.ncb * j.ncob, 1, macs, OCT__CPU_PAR_MACS);
    int threads = cpu__threads(st, &j.work);
    if (!direct_b)
        for (int t = 0; t < threads; t++) OCT__TRY(cpu__scratch(st, t, j.kdim * j.cols, "convg"));
    oct__pool_run(st->pool, threads, cpu__g_gemm_task, &j);
    return OCT_OK;
}

static oct_status cpu__g_gemm(oct__cpu_state *st, const oct__convg_op *op, int direct_b)
{
    return cpu__g_gemm_ex(st, op, direct_b, NULL, NULL, op->bias ? op->bias->host : NULL);
}

/* ---- One input channel per group (depthwise, channel multiplier): direct row loops */

/* acc[ox] += wv * row[ox * s + off] for ox in [lo, hi) (all inside the row). */
OCT__G_INLINE void cpu__g_axpy_body(float *restrict acc, const float *restrict row, int off, float wv, int s, int lo,
                                    int hi)
{
    if (s == 1)
        for (int ox = lo; ox < hi; ox++) acc[ox] += wv * row[ox + off];
    else if (s == 2)
        for (int ox = lo; ox < hi; ox++) acc[ox] += wv * row[2 * ox + off];
    else
        for (int ox = lo; ox < hi; ox++) acc[ox] += wv * row[ox * s + off];
}

/* One output plane: y (ho, wo) from x (h, w) with kernel wk (kh, kw); acc: wo floats. */
OCT__G_INLINE void cpu__g_dw_body(const oct__convg_op *op, const float *restrict x, const float *restrict wk,
                                  float bias, float *restrict y, const float *restrict res, float *restrict acc)
{
    int h = op->x.h, w = op->x.w, ho = op->y.h, wo = op->y.w;
    int lo[64], hi[64]; /* per kx; kernels wider than 64 take the slow road below */
    int kwc = op->kw <= 64 ? op->kw : 0;
    for (int kx = 0; kx < kwc; kx++) cpu__g_valid(wo, w, op->stride_w, kx * op->dil_w - op->pad_l, &lo[kx], &hi[kx]);
    for (int oy = 0; oy < ho; oy++) {
        for (int ox = 0; ox < wo; ox++) acc[ox] = bias;
        for (int ky = 0; ky < op->kh; ky++) {
            int iy = oy * op->stride_h + ky * op->dil_h - op->pad_t;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < op->kw; kx++) {
                int offx = kx * op->dil_w - op->pad_l, l, r;
                if (kx < kwc)
                    l = lo[kx], r = hi[kx];
                else
                    cpu__g_valid(wo, w, op->stride_w, offx, &l, &r);
                cpu__g_axpy_body(acc, x + (size_t)iy * w, offx, wk[ky * op->kw + kx], op->stride_w, l, r);
            }
        }
        float *restrict o = y + (size_t)oy * wo;
        const float *restrict q = res ? res + (size_t)oy * wo : NULL;
        if (op->accumulate)
            for (int ox = 0; ox < wo; ox++) acc[ox] += o[ox];
        if (q)
            for (int ox = 0; ox < wo; ox++) acc[ox] += q[ox];
        if (op->relu)
            for (int ox = 0; ox < wo; ox++) o[ox] = acc[ox] < 0.0f ? 0.0f : acc[ox];
        else
            for (int ox = 0; ox < wo; ox++) o[ox] = acc[ox];
    }
}
#if defined(__GNUC__) && defined(__x86_64__)
/* The same plane in AVX-512 registers: 16 outputs of a row at a time, every tap a
 * masked load of the input row (lanes whose input column is padding load zero and touch
 * no memory): stride 1 a plain load, stride 2 two loads and an even-lane permute, other
 * strides a gather; then the epilogue and a masked store. acc is unused. */
static OCT__G_AVX512 void cpu__g_dw_512(const oct__convg_op *op, const float *x, const float *wk, float bias, float *y,
                                        const float *res, float *acc)
{
    (void)acc;
    int h = op->x.h, w = op->x.w, ho = op->y.h, wo = op->y.w, sw = op->stride_w;
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i lane_s = _mm512_mullo_epi32(lane, _mm512_set1_epi32(sw));
    const __m512i zero_i = _mm512_setzero_si512(), wv_i = _mm512_set1_epi32(w);
    const __m512 zero = _mm512_setzero_ps();
    for (int oy = 0; oy < ho; oy++)
        for (int ox0 = 0; ox0 < wo; ox0 += 16) {
            __mmask16 om = cpu__lanes((size_t)(wo - ox0));
            __m512 a = _mm512_set1_ps(bias);
            for (int ky = 0; ky < op->kh; ky++) {
                int iy = oy * op->stride_h + ky * op->dil_h - op->pad_t;
                if (iy < 0 || iy >= h) continue;
                uintptr_t row = (uintptr_t)(x + (size_t)iy * w);
                for (int kx = 0; kx < op->kw; kx++) {
                    int c0 = ox0 * sw + kx * op->dil_w - op->pad_l; /* input column of lane 0 */
                    __m512 wv = _mm512_set1_ps(wk[ky * op->kw + kx]), xv;
                    if (sw == 1 || sw == 2) {
                        __m512i cols = _mm512_add_epi32(lane, _mm512_set1_epi32(c0));
                        __mmask16 m = _mm512_cmpge_epi32_mask(cols, zero_i) & _mm512_cmplt_epi32_mask(cols, wv_i);
                        const float *p = (const float *)(row + (uintptr_t)((intptr_t)c0 * (intptr_t)sizeof(float)));
                        xv = _mm512_maskz_loadu_ps(m, p);
                        if (sw == 2) {
                            cols = _mm512_add_epi32(cols, _mm512_set1_epi32(16));
                            __mmask16 m2 = _mm512_cmpge_epi32_mask(cols, zero_i) & _mm512_cmplt_epi32_mask(cols, wv_i);
                            __m512 hi = _mm512_maskz_loadu_ps(m2, p + 16);
                            xv = oct__even16(xv, hi);
                        }
                    } else {
                        __m512i cols = _mm512_add_epi32(lane_s, _mm512_set1_epi32(c0));
                        __mmask16 m = om & _mm512_cmpge_epi32_mask(cols, zero_i) & _mm512_cmplt_epi32_mask(cols, wv_i);
                        xv = _mm512_mask_i32gather_ps(zero, m, cols, (const void *)row, 4);
                    }
                    a = _mm512_fmadd_ps(wv, xv, a);
                }
            }
            float *o = y + (size_t)oy * wo + ox0;
            if (op->accumulate) a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(om, o));
            if (res) a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(om, res + (size_t)oy * wo + ox0));
            if (op->relu) a = _mm512_max_ps(zero, a); /* NaN and -0 kept */
            _mm512_mask_storeu_ps(o, om, a);
        }
}
#else
static void cpu__g_dw_512(const oct__convg_op *op, const float *x, const float *wk, float bias, float *y,
                          const float *res, float *acc)
{
    cpu__g_dw_body(op, x, wk, bias, y, res, acc);
}
#endif
static void cpu__g_dw_any(const oct__convg_op *op, const float *x, const float *wk, float bias, float *y,
                          const float *res, float *acc)
{
    cpu__g_dw_body(op, x, wk, bias, y, res, acc);
}

typedef struct {
    const oct__convg_op *op;
    oct__cpu_state *st;
    int avx512;
    cpu__chunks work;   /* over the n * co output planes */
} cpu__g_plane_job;

static void cpu__g_dw_task(void *arg, int t)
{
    cpu__g_plane_job *j = arg;
    const oct__convg_op *op = j->op;
    const oct__view *x = &op->x, *y = &op->y;
    int cog = y->c / op->groups;
    size_t hwi = (size_t)x->h * x->w, hwo = (size_t)y->h * y->w, kk = (size_t)op->kh * op->kw, p, p1;
    float *acc = j->st->scratch[t].f;
    while (cpu__take(&j->work, t, &p, &p1))
        for (; p < p1; p++) {
            int b = (int)(p / (size_t)y->c), co = (int)(p % (size_t)y->c);
            const float *xp = cpu__image(x, b) + (size_t)(co / cog) * hwi;
            float *yp = cpu__image(y, b) + (size_t)co * hwo;
            const float *rp = op->res.buf ? cpu__image(&op->res, b) + (size_t)co * hwo : NULL;
            const float *wk = op->weight->host + (size_t)co * kk;
            float bv = op->bias ? op->bias->host[co] : 0.0f;
            if (j->avx512)
                cpu__g_dw_512(op, xp, wk, bv, yp, rp, acc);
            else
                cpu__g_dw_any(op, xp, wk, bv, yp, rp, acc);
        }
}

/* ---- Element-wise ops over (n, c) planes */

/* dst = relu(a + b) over n floats (any of the three may be the same array). */
OCT__G_INLINE void cpu__g_add_body(float *dst, const float *a, const float *b, size_t n, int relu)
{
    if (relu)
        for (size_t i = 0; i < n; i++) {
            float v = a[i] + b[i];
            dst[i] = v < 0.0f ? 0.0f : v;
        }
    else
        for (size_t i = 0; i < n; i++) dst[i] = a[i] + b[i];
}
static OCT__G_AVX512 void cpu__g_add_512(float *dst, const float *a, const float *b, size_t n, int relu)
{
    cpu__g_add_body(dst, a, b, n, relu);
}
static void cpu__g_add_any(float *dst, const float *a, const float *b, size_t n, int relu)
{
    cpu__g_add_body(dst, a, b, n, relu);
}

/* dst = relu(x * s + t) over n floats (dst may be x). */
OCT__G_INLINE void cpu__g_affine_body(float *dst, const float *x, float s, float t, size_t n, int scale, int relu)
{
    if (!scale && relu)
        for (size_t i = 0; i < n; i++) {
            float v = x[i] + t;
            dst[i] = v < 0.0f ? 0.0f : v;
        }
    else if (!scale)
        for (size_t i = 0; i < n; i++) dst[i] = x[i] + t;
    else if (relu)
        for (size_t i = 0; i < n; i++) {
            float v = x[i] * s + t;
            dst[i] = v < 0.0f ? 0.0f : v;
        }
    else
        for (size_t i = 0; i < n; i++) dst[i] = x[i] * s + t;
}
static OCT__G_AVX512 void cpu__g_affine_512(float *dst, const float *x, float s, float t, size_t n, int scale, int relu)
{
    cpu__g_affine_body(dst, x, s, t, n, scale, relu);
}
static void cpu__g_affine_any(float *dst, const float *x, float s, float t, size_t n, int scale, int relu)
{
    cpu__g_affine_body(dst, x, s, t, n, scale, relu);
}

/* An element-wise op's planes, or whole images at once (every view's image is one
 * contiguous (c, h, w) block) when planes are small and no per-channel value is needed. */
typedef struct {
    const oct__view *a, *b, *y;  /* add: a, b; affine: a = x, b = NULL */
    const float *scale, *shift;
    int relu, affine, avx512;
    size_t len;                  /* floats per item: a plane or an image */
    int per_image;
    cpu__chunks work;
} cpu__g_ew_job;

static void cpu__g_ew_task(void *arg, int t)
{
    cpu__g_ew_job *j = arg;
    const oct__view *y = j->y;
    size_t plane = (size_t)y->h * y->w, p, p1;
    while (cpu__take(&j->work, t, &p, &p1))
        for (; p < p1; p++) {
            int b = j->per_image ? (int)p : (int)(p / (size_t)y->c), c = j->per_image ? 0 : (int)(p % (size_t)y->c);
            float *dst = cpu__image(y, b) + (size_t)c * plane;
            const float *pa = cpu__image(j->a, b) + (size_t)c * plane;
            if (!j->affine) {
                const float *pb = cpu__image(j->b, b) + (size_t)c * plane;
                if (j->avx512)
                    cpu__g_add_512(dst, pa, pb, j->len, j->relu);
                else
                    cpu__g_add_any(dst, pa, pb, j->len, j->relu);
                continue;
            }
            /* per_image only when there is neither scale nor shift */
            float s = j->scale ? j->scale[c] : 1.0f, sh = j->shift ? j->shift[c] : 0.0f;
            if (!j->scale && !j->shift && !j->relu) {
                if (dst != pa) memmove(dst, pa, j->len * sizeof(float));
            } else if (j->avx512)
                cpu__g_affine_512(dst, pa, s, sh, j->len, j->scale != NULL, j->relu);
            else
                cpu__g_affine_any(dst, pa, s, sh, j->len, j->scale != NULL, j->relu);
        }
}

static void cpu__g_ew_run(oct__cpu_state *st, cpu__g_ew_job *j)
{
    const oct__view *y = j->y;
    size_t plane = (size_t)y->h * y->w, items = (size_t)y->n * y->c;
    j->len = plane;
    j->avx512 = st->direct;
    if (j->per_image) {
        items = (size_t)y->n;
        j->len = plane * y->c;
    }
    cpu__chunk(st, &j->work, items, 1, (size_t)y->n * y->c * plane, OCT__CPU_PAR_FLOATS);
    oct__pool_run(st->pool, cpu__threads(st, &j->work), cpu__g_ew_task, j);
}

/* ---- The ops */

static oct_status cpu_convg(oct_context *ctx, const oct__convg_op *op)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x, *y = &op->y;
    int g = op->groups;
    size_t cig = (size_t)(x->c / g);
    if (y->n <= 0 || y->c <= 0 || y->h <= 0 || y->w <= 0) return OCT_OK;
    cpu__unpack(st, y->buf->host);
    if (cig == 0) { /* an empty sum: y (=|+=) bias (+ res), then ReLU */
        size_t hwo = (size_t)y->h * y->w;
        for (int b = 0; b < y->n; b++) {
            float *yb = cpu__image(y, b);
            if (!op->accumulate) memset(yb, 0, (size_t)y->c * hwo * sizeof(float));
            cpu__g_epi_any(yb, hwo, y->c, hwo, op->bias ? op->bias->host : NULL,
                           op->res.buf ? cpu__image(&op->res, b) : NULL, hwo, op->relu);
        }
        return OCT_OK;
    }
    /* Multiply-adds of every path but the direct one below (cpu_conv2d counts its own). */
    long long gmacs = (long long)y->n * y->c * y->h * y->w * (long long)cig * op->kh * op->kw;
    /* The im2col path (backend_cpu.h) forces the general im2col + GEMM for every shape. */
    if (st->im2col) {
        st->macs_done += gmacs;
        return cpu__g_gemm(st, op, 0);
    }
    /* Small planes, one group, square kernel, one padding, stride 1: the channel-lane
     * path (cpu__sc_use), the residual in its epilogue. */
    if (g == 1 && op->kh == op->kw && op->stride_h == 1 && op->stride_w == 1 && op->dil_h == 1 && op->dil_w == 1 &&
        op->pad_t == op->pad_l && op->pad_t == op->pad_b && op->pad_t == op->pad_r &&
        cpu__sc_use(st, op->kh, x->c, y->c, y->n, y->h, y->w, op->pad_t))
        return cpu__sc(st, x, NULL, op->weight, NULL, op->kh, op->pad_t, op->bias ? op->bias->host : NULL, &op->res,
                       op->accumulate, op->relu, y, (size_t)gmacs);
    int one = op->kh == 1 && op->kw == 1 && op->stride_h == 1 && op->stride_w == 1 && !op->pad_t && !op->pad_l &&
              !op->pad_b && !op->pad_r;
    /* 1x1 with a residual on planes of 14x14 or smaller went to the direct kernel below
     * while the GEMM packed its weights per call and added the residual in a second pass
     * (then 1.27-1.38x the GEMM's speed at 7x7, 1.30x at 14x14); with packed weights and
     * the epilogue in the tile stores (cpu__gemm_1x1) the GEMM is 1.04-1.06x the direct
     * kernel there, one image, and 1.00-1.04x for 8, so only $OCTCL_CPU_GEMM_PACKED=0
     * keeps this routing. */
    int small_res = one && op->res.buf && g == 1 && st->direct && (size_t)y->h * y->w <= 196 && !cpu__gemm_1x1(st);
    /* 1x1, stride 1, no padding: one GEMM per block straight from x. */
    if (one && !small_res) {
        st->macs_done += gmacs;
        return cpu__g_gemm(st, op, 1);
    }
    /* One input channel per group (depthwise, channel multipliers): direct row loops. */
    if (cig == 1 && g > 1) {
        st->macs_done += gmacs;
        cpu__g_plane_job j = {op, st, st->direct, {0}};
        size_t macs = (size_t)y->n * y->c * y->h * y->w * op->kh * op->kw;
        cpu__chunk(st, &j.work, (size_t)y->n * y->c, 1, macs, OCT__CPU_PAR_MACS);
        int threads = cpu__threads(st, &j.work);
        for (int t = 0; t < threads; t++) OCT__TRY(cpu__scratch(st, t, (size_t)y->w + 16, "convg"));
        oct__pool_run(st->pool, threads, cpu__g_dw_task, &j);
        return OCT_OK;
    }
    /* One group, square kernel, one padding, stride 1, no dilation, rows of 12 or more
     * outputs: the AVX-512 direct kernel of conv2d (faster per core there than im2col +
     * GEMM: 96-100 against 81-88 GFLOP/s on one thread for ResNet-50's 3x3 layers at
     * 56..14). Rows narrower than that fill under 3/4 of its 16 lanes (3x3 512->512 at
     * 7x7: 49 against 74 GFLOP/s), and its im2col fallback ran the 7x7 stride-2 stem at
     * 8-11 GFLOP/s against 67, so every other shape takes the GEMM paths here. A residual
     * is added to y first and the convolution accumulates onto it:
     * sum + bias + (old) + res. */
    if (small_res || (st->direct && g == 1 && op->kh == op->kw && op->stride_h == 1 && op->stride_w == 1 &&
                      op->dil_h == 1 && op->dil_w == 1 && op->pad_t == op->pad_l && op->pad_t == op->pad_b &&
                      op->pad_t == op->pad_r && y->w >= 12)) {
        if (op->res.buf) {
            cpu__g_ew_job e = {&op->res, y, y, NULL, NULL, 0, 0, 0, 0, 0, {0}};
            if (op->accumulate) {
                e.a = y, e.b = &op->res;
            } else {
                e.a = &op->res, e.b = NULL, e.affine = 1;
            }
            cpu__g_ew_run(st, &e);
        }
        oct__conv_op c = {*x, *y, op->weight, op->bias, op->kh, 1, op->pad_t, op->accumulate || op->res.buf != NULL,
                          op->relu};
        return cpu_conv2d(ctx, &c);
    }
    st->macs_done += gmacs;
    return cpu__g_gemm(st, op, 0);
}

/* Pooling, separably: for each output row, the in-bounds input rows of its window are
 * reduced column by column into a row (max, or sum), a vectorised pass over whole rows;
 * then each output reduces its window's in-bounds columns of that row. NaN wins a max,
 * as in PyTorch. */
OCT__G_INLINE void cpu__g_vmax_body(float *restrict t, const float *restrict r, int w, int first)
{
    if (first)
        memcpy(t, r, (size_t)w * sizeof(float));
    else
        for (int i = 0; i < w; i++) {
            float e = r[i], v = t[i];
            t[i] = (e > v || e != e) ? e : v;
        }
}
OCT__G_INLINE void cpu__g_vsum_body(float *restrict t, const float *restrict r, int w, int first)
{
    if (first)
        memcpy(t, r, (size_t)w * sizeof(float));
    else
        for (int i = 0; i < w; i++) t[i] += r[i];
}
static OCT__G_AVX512 void cpu__g_vmax_512(float *t, const float *r, int w, int first) { cpu__g_vmax_body(t, r, w, first); }
static OCT__G_AVX2 void cpu__g_vmax_256(float *t, const float *r, int w, int first) { cpu__g_vmax_body(t, r, w, first); }
static void cpu__g_vmax_any(float *t, const float *r, int w, int first) { cpu__g_vmax_body(t, r, w, first); }
static OCT__G_AVX512 void cpu__g_vsum_512(float *t, const float *r, int w, int first) { cpu__g_vsum_body(t, r, w, first); }
static OCT__G_AVX2 void cpu__g_vsum_256(float *t, const float *r, int w, int first) { cpu__g_vsum_body(t, r, w, first); }
static void cpu__g_vsum_any(float *t, const float *r, int w, int first) { cpu__g_vsum_body(t, r, w, first); }

/* The horizontal pass: out[ox] from the reduced row over the window's in-bounds
 * columns, tap by tap (each tap a strided sweep the compiler vectorises), then the
 * divisor and ReLU. rows: in-bounds rows of the window; rows_pad: rows counted with
 * padding (count_include_pad). */
OCT__G_INLINE void cpu__g_hred_body(const oct__poolg_op *op, const float *restrict row, float *restrict out, int wo,
                                    int w, int rows, int rows_pad)
{
    int s = op->stride_w;
    for (int ox = 0; ox < wo; ox++) out[ox] = op->max ? -INFINITY : 0.0f;
    for (int kx = 0; kx < op->kw; kx++) {
        int lo, hi, off = kx - op->pad_l;
        cpu__g_valid(wo, w, s, off, &lo, &hi);
        if (op->max) {
            if (s == 1)
                for (int ox = lo; ox < hi; ox++) {
                    float e = row[ox + off], v = out[ox];
                    out[ox] = (e > v || e != e) ? e : v;
                }
            else if (s == 2)
                for (int ox = lo; ox < hi; ox++) {
                    float e = row[2 * ox + off], v = out[ox];
                    out[ox] = (e > v || e != e) ? e : v;
                }
            else
                for (int ox = lo; ox < hi; ox++) {
                    float e = row[ox * s + off], v = out[ox];
                    out[ox] = (e > v || e != e) ? e : v;
                }
        } else {
            if (s == 1)
                for (int ox = lo; ox < hi; ox++) out[ox] += row[ox + off];
            else if (s == 2)
                for (int ox = lo; ox < hi; ox++) out[ox] += row[2 * ox + off];
            else
                for (int ox = lo; ox < hi; ox++) out[ox] += row[ox * s + off];
        }
    }
    if (!op->max)
        for (int ox = 0; ox < wo; ox++) {
            int x0 = ox * s - op->pad_l, xa = x0 < 0 ? 0 : x0, xb = x0 + op->kw < w ? x0 + op->kw : w;
            int xe = x0 + op->kw < w + op->pad_r ? x0 + op->kw : w + op->pad_r;
            int div = op->count_include_pad ? rows_pad * (xe - x0) : rows * (xb - xa);
            out[ox] = xa < xb ? out[ox] / (float)div : 0.0f;
        }
    if (op->relu)
        for (int ox = 0; ox < wo; ox++) out[ox] = out[ox] < 0.0f ? 0.0f : out[ox];
}
#if defined(__GNUC__) && defined(__x86_64__)
/* cpu__g_hred_body for a max pool of stride 2 (ResNet's stem pool), AVX-512: per kx, 16
 * outputs from two loads and an even-lane permute (the plain loop strides through the
 * row one float at a time); lanes are replaced where e > v or e is NaN, as there. */
static OCT__G_AVX512 void cpu__g_hmax2_512(const oct__poolg_op *op, const float *row, float *out, int wo, int w,
                                           int rows, int rows_pad)
{
    (void)rows, (void)rows_pad;
    for (int ox = 0; ox < wo; ox++) out[ox] = -INFINITY;
    for (int kx = 0; kx < op->kw; kx++) {
        int lo, hi, off = kx - op->pad_l;
        cpu__g_valid(wo, w, 2, off, &lo, &hi);
        for (int ox = lo; ox < hi; ox += 16) {
            int n = hi - ox < 16 ? hi - ox : 16, m = 2 * n - 1; /* row floats [2 ox + off, + m): in the row */
            const float *src = row + 2 * ox + off;
            __m512 a = _mm512_maskz_loadu_ps(cpu__lanes((size_t)m), src);
            __m512 b = _mm512_maskz_loadu_ps(m > 16 ? cpu__lanes((size_t)(m - 16)) : 0, src + 16);
            __m512 e = oct__even16(a, b);
            __mmask16 k = cpu__lanes((size_t)n);
            __m512 v = _mm512_maskz_loadu_ps(k, out + ox);
            __mmask16 pick = _mm512_cmp_ps_mask(e, v, _CMP_GT_OQ) | _mm512_cmp_ps_mask(e, e, _CMP_UNORD_Q);
            _mm512_mask_storeu_ps(out + ox, k & pick, e);
        }
    }
    if (op->relu)
        for (int ox = 0; ox < wo; ox++) out[ox] = out[ox] < 0.0f ? 0.0f : out[ox];
}

/* cpu__g_vmax_body's step on the lanes in k: e where e > v or e is NaN, else v. */
OCT__G_INLINE OCT__G_AVX512 __m512 cpu__g_sel512(__m512 v, __m512 e, __mmask16 k)
{
    __mmask16 pick = _mm512_mask_cmp_ps_mask(k, e, v, _CMP_GT_OQ) | _mm512_mask_cmp_ps_mask(k, e, e, _CMP_UNORD_Q);
    return _mm512_mask_mov_ps(v, pick, e);
}

/* The lanes of cpu__g_max3s2_512 for rows w floats wide and wo outputs, six masks for
 * each 16 outputs from ox0: the in-row lanes of the two loads (columns 2 ox0 + [0, 16)
 * and + [16, 32)), the outputs whose columns 2 ox - 1, 2 ox and 2 ox + 1 lie in the row
 * (cpu__g_valid's ranges for kx = 0, 1, 2), and the outputs that exist. The same for
 * every row of every plane of a pool, so made once; 0 where wo is past the array. */
static int cpu__g_max3s2_masks(int w, int wo, __mmask16 *mk)
{
    if (wo > 16 * CPU__MAX3S2_STEPS) return 0; /* past cpu__pooler's mk */
    for (int ox0 = 0; ox0 < wo; ox0 += 16, mk += 6) {
        int c0 = 2 * ox0;
        mk[0] = oct__lanes16(0, w - c0), mk[1] = oct__lanes16(0, w - c0 - 16);
        mk[2] = oct__lanes16(1 - ox0, w / 2 + 1 - ox0), mk[3] = oct__lanes16(0, (w + 1) / 2 - ox0);
        mk[4] = oct__lanes16(0, w / 2 - ox0), mk[5] = oct__lanes16(0, wo - ox0);
    }
    return 1;
}

/* One output row of a max pool 3 columns wide at stride 2 from one column left of each
 * output's pair (pad_l 1: ResNet's stem pool), from its window's in-bounds input rows
 * r[0 .. nr) (mk: cpu__g_max3s2_masks). Per 16 outputs the rows' 32 columns are reduced
 * in registers, row after row as cpu__g_vmax_body does, then columns 2 ox - 1, 2 ox,
 * 2 ox + 1 in that order as cpu__g_hmax2_512 does from -inf (whose first step keeps any
 * value: here a plain move), the first from the previous 32's odd columns: the same
 * operations on the same values, so the same bits, without the row's stores and reloads
 * and the masked store and reload of the outputs per column. Intel Xeon (Emerald
 * Rapids), two threads, Oct-ResNet-50's 112x112 -> 56x56 pool, old and new in
 * alternated processes, minima: batch 1 0.174 -> 0.105 ms, batch 8 2.14 -> 1.66. */
static OCT__G_AVX512 void cpu__g_max3s2_512(const float *const *r, int nr, const __mmask16 *mk, float *out, int wo,
                                           int relu)
{
    __m512 prev = _mm512_set1_ps(-INFINITY); /* odd columns of the previous 32 */
    for (int ox0 = 0; ox0 < wo; ox0 += 16, mk += 6) {
        const int c0 = 2 * ox0;
        __m512 a = _mm512_maskz_loadu_ps(mk[0], r[0] + c0), b = _mm512_maskz_loadu_ps(mk[1], r[0] + c0 + 16);
        for (int i = 1; i < nr; i++) {
            a = cpu__g_sel512(a, _mm512_maskz_loadu_ps(mk[0], r[i] + c0), mk[0]);
            b = cpu__g_sel512(b, _mm512_maskz_loadu_ps(mk[1], r[i] + c0 + 16), mk[1]);
        }
        __m512 even = oct__even16(a, b), odd = oct__odd16(a, b); /* columns 2 ox, 2 ox + 1 */
        __m512 left = _mm512_castsi512_ps( /* columns 2 ox - 1 */
            _mm512_alignr_epi32(_mm512_castps_si512(odd), _mm512_castps_si512(prev), 15));
        __m512 v = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), mk[2], left);
        v = cpu__g_sel512(v, even, mk[3]);
        v = cpu__g_sel512(v, odd, mk[4]);
        if (relu) v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), _mm512_setzero_ps());
        _mm512_mask_storeu_ps(out + ox0, mk[5], v);
        prev = odd;
    }
}

/* The same with AVX2 (CPUs without AVX-512): 8 outputs a step, the even lanes of two
 * loads (oct__even8); the last few outputs of each kx one by one. The second load may
 * read one float past the row's w (an odd lane, never picked): row is the task's scratch
 * row, w + 16 floats. */
static OCT__G_AVX2 void cpu__g_hmax2_256(const oct__poolg_op *op, const float *row, float *out, int wo, int w,
                                         int rows, int rows_pad)
{
    (void)rows, (void)rows_pad;
    for (int ox = 0; ox < wo; ox++) out[ox] = -INFINITY;
    for (int kx = 0; kx < op->kw; kx++) {
        int lo, hi, off = kx - op->pad_l, ox;
        cpu__g_valid(wo, w, 2, off, &lo, &hi);
        for (ox = lo; ox + 8 <= hi; ox += 8) {
            const float *src = row + 2 * ox + off;
            __m256 e = oct__even8(_mm256_loadu_ps(src), _mm256_loadu_ps(src + 8));
            __m256 v = _mm256_loadu_ps(out + ox);
            __m256 pick = _mm256_or_ps(_mm256_cmp_ps(e, v, _CMP_GT_OQ), _mm256_cmp_ps(e, e, _CMP_UNORD_Q));
            _mm256_storeu_ps(out + ox, _mm256_blendv_ps(v, e, pick));
        }
        for (; ox < hi; ox++) {
            float e = row[2 * ox + off], v = out[ox];
            out[ox] = (e > v || e != e) ? e : v;
        }
    }
    if (op->relu)
        for (int ox = 0; ox < wo; ox++) out[ox] = out[ox] < 0.0f ? 0.0f : out[ox];
}

/* cpu__g_max3s2_512 with AVX2 (CPUs without AVX-512): 8 outputs a step from 16 columns,
 * the lanes' masks made only where a step touches a row's or the outputs' ends (the
 * loads, the three columns' outputs, the store; cpu__g_max3s2_masks's ranges), the
 * selections as cpu__g_hmax2_256's: the same operations on the same values. */
OCT__G_INLINE OCT__G_AVX2 __m256 cpu__g_sel256(__m256 v, __m256 e, __m256 k)
{
    __m256 pick = _mm256_and_ps(k, _mm256_or_ps(_mm256_cmp_ps(e, v, _CMP_GT_OQ), _mm256_cmp_ps(e, e, _CMP_UNORD_Q)));
    return _mm256_blendv_ps(v, e, pick);
}
static OCT__G_AVX2 void cpu__g_max3s2_256(const float *const *r, int nr, int w, float *out, int wo, int relu)
{
    const __m256 all = _mm256_castsi256_ps(_mm256_set1_epi32(-1)), ninf = _mm256_set1_ps(-INFINITY);
    const __m256i back = _mm256_setr_epi32(7, 0, 1, 2, 3, 4, 5, 6);
    __m256 prev = ninf; /* odd columns of the previous 16 */
    for (int ox0 = 0; ox0 < wo; ox0 += 8) {
        const int c0 = 2 * ox0, inner = ox0 > 0 && c0 + 16 <= w && ox0 + 8 <= wo;
        __m256 ka = all, kb = all, k0 = all, k1 = all, k2 = all, a, b;
        if (inner) {
            a = _mm256_loadu_ps(r[0] + c0), b = _mm256_loadu_ps(r[0] + c0 + 8);
            for (int i = 1; i < nr; i++) {
                a = cpu__g_sel256(a, _mm256_loadu_ps(r[i] + c0), all);
                b = cpu__g_sel256(b, _mm256_loadu_ps(r[i] + c0 + 8), all);
            }
        } else {
            __m256i ia = oct__lanes8(0, w - c0), ib = oct__lanes8(0, w - c0 - 8);
            ka = _mm256_castsi256_ps(ia), kb = _mm256_castsi256_ps(ib);
            k0 = _mm256_castsi256_ps(oct__lanes8(1 - ox0, w / 2 + 1 - ox0));
            k1 = _mm256_castsi256_ps(oct__lanes8(0, (w + 1) / 2 - ox0));
            k2 = _mm256_castsi256_ps(oct__lanes8(0, w / 2 - ox0));
            a = _mm256_maskload_ps(r[0] + c0, ia), b = _mm256_maskload_ps(r[0] + c0 + 8, ib);
            for (int i = 1; i < nr; i++) {
                a = cpu__g_sel256(a, _mm256_maskload_ps(r[i] + c0, ia), ka);
                b = cpu__g_sel256(b, _mm256_maskload_ps(r[i] + c0 + 8, ib), kb);
            }
        }
        __m256 even = oct__even8(a, b), odd = oct__odd8(a, b); /* columns 2 ox, 2 ox + 1 */
        __m256 left = _mm256_blend_ps(_mm256_permutevar8x32_ps(odd, back), _mm256_permutevar8x32_ps(prev, back), 0x01);
        __m256 v = _mm256_blendv_ps(ninf, left, k0); /* columns 2 ox - 1 */
        v = cpu__g_sel256(v, even, k1);
        v = cpu__g_sel256(v, odd, k2);
        if (relu) v = _mm256_blendv_ps(v, _mm256_setzero_ps(), _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ));
        if (ox0 + 8 <= wo)
            _mm256_storeu_ps(out + ox0, v);
        else
            _mm256_maskstore_ps(out + ox0, oct__lanes8(0, wo - ox0), v);
        prev = odd;
    }
}
#endif
static OCT__G_AVX512 void cpu__g_hred_512(const oct__poolg_op *op, const float *row, float *out, int wo, int w,
                                          int rows, int rows_pad)
{
    cpu__g_hred_body(op, row, out, wo, w, rows, rows_pad);
}
static OCT__G_AVX2 void cpu__g_hred_256(const oct__poolg_op *op, const float *row, float *out, int wo, int w,
                                        int rows, int rows_pad)
{
    cpu__g_hred_body(op, row, out, wo, w, rows, rows_pad);
}
static void cpu__g_hred_any(const oct__poolg_op *op, const float *row, float *out, int wo, int w, int rows,
                            int rows_pad)
{
    cpu__g_hred_body(op, row, out, wo, w, rows, rows_pad);
}

/* The horizontal pass for op with the row loops vec (cpu__rows_isa): a stride-2 max pool's
 * vector one where there are vector rows, else cpu__g_hred_body compiled for them. */
typedef void (*cpu__g_hred_fn)(const oct__poolg_op *, const float *, float *, int, int, int, int);
static cpu__g_hred_fn cpu__g_hred_of(const oct__poolg_op *op, int vec)
{
#if defined(__GNUC__) && defined(__x86_64__)
    if (op->max && op->stride_w == 2 && vec) return vec == 2 ? cpu__g_hmax2_512 : cpu__g_hmax2_256;
#endif
    return vec == 2 ? cpu__g_hred_512 : vec == 1 ? cpu__g_hred_256 : cpu__g_hred_any;
}

typedef struct {
    const oct__poolg_op *op;
    oct__cpu_state *st;
    int vec;            /* the row loops: 2 AVX-512, 1 AVX2, 0 plain (cpu__rows_isa) */
    cpu__chunks work;   /* over the n * c planes */
} cpu__g_pool_job;

static void cpu__pooler_init(cpu__pooler *pl, const oct__poolg_op *op, int vec)
{
    pl->op = op, pl->vec = vec, pl->max3s2 = 0;
#if defined(__GNUC__) && defined(__x86_64__)
    /* ResNet's stem pool (3 columns at stride 2 from one left) on AVX-512 or AVX2 rows:
     * each row whole in registers (cpu__g_max3s2_512, _256), the window's rows (up to 8)
     * read in place. */
    pl->max3s2 = op->max && op->kw == 3 && op->stride_w == 2 && op->pad_l == 1 && op->kh <= 8 &&
                 (vec == 1 || (vec == 2 && cpu__g_max3s2_masks(op->x.w, op->y.w, pl->mk)));
#endif
}

static void cpu__pool_planes(const cpu__pooler *pl, float *row, int b, int c0, int c1)
{
    const oct__poolg_op *op = pl->op;
    const oct__view *x = &op->x, *y = &op->y;
    int h = x->h, w = x->w, vec = pl->vec;
    size_t hwi = (size_t)h * w, hwo = (size_t)y->h * y->w;
    void (*vred)(float *, const float *, int, int) =
        op->max ? (vec == 2 ? cpu__g_vmax_512 : vec == 1 ? cpu__g_vmax_256 : cpu__g_vmax_any)
                : (vec == 2 ? cpu__g_vsum_512 : vec == 1 ? cpu__g_vsum_256 : cpu__g_vsum_any);
    cpu__g_hred_fn hred = cpu__g_hred_of(op, vec);
    for (int c = c0; c < c1; c++) {
        const float *xp = cpu__image(x, b) + (size_t)c * hwi;
        float *yp = cpu__image(y, b) + (size_t)c * hwo;
        for (int oy = 0; oy < y->h; oy++) {
            int y0 = oy * op->stride_h - op->pad_t, ya = y0 < 0 ? 0 : y0;
            int yb = y0 + op->kh < h ? y0 + op->kh : h;
            int ye = y0 + op->kh < h + op->pad_b ? y0 + op->kh : h + op->pad_b;
            float *out = yp + (size_t)oy * y->w;
            if (ya >= yb) { /* no in-bounds row */
                for (int ox = 0; ox < y->w; ox++) out[ox] = op->max ? (op->relu ? 0.0f : -INFINITY) : 0.0f;
                continue;
            }
#if defined(__GNUC__) && defined(__x86_64__)
            if (pl->max3s2) {
                const float *rows[8];
                for (int iy = ya; iy < yb; iy++) rows[iy - ya] = xp + (size_t)iy * w;
                if (vec == 2)
                    cpu__g_max3s2_512(rows, yb - ya, pl->mk, out, y->w, op->relu);
                else
                    cpu__g_max3s2_256(rows, yb - ya, w, out, y->w, op->relu);
                continue;
            }
#endif
            for (int iy = ya; iy < yb; iy++) vred(row, xp + (size_t)iy * w, w, iy == ya);
            hred(op, row, out, y->w, w, yb - ya, ye - y0);
        }
    }
}

static void cpu__g_pool_task(void *arg, int t)
{
    cpu__g_pool_job *j = arg;
    const oct__view *y = &j->op->y;
    float *row = j->st->scratch[t].f; /* w floats */
    cpu__pooler pl;
    cpu__pooler_init(&pl, j->op, j->vec);
    size_t p, p1;
    while (cpu__take(&j->work, t, &p, &p1))
        for (; p < p1; p++) {
            int b = (int)(p / (size_t)y->c), c = (int)(p % (size_t)y->c);
            cpu__pool_planes(&pl, row, b, c, c + 1);
        }
}

static oct_status cpu_poolg(oct_context *ctx, const oct__poolg_op *op)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x, *y = &op->y;
    if (y->n <= 0 || y->c <= 0 || y->h <= 0 || y->w <= 0) return OCT_OK;
    cpu__unpack(st, y->buf->host);
    cpu__g_pool_job j = {op, st, cpu__rows_isa(st), {0}};
    size_t planes = (size_t)y->n * y->c;
    cpu__chunk(st, &j.work, planes, 1, planes * y->h * y->w * op->kh * op->kw, OCT__CPU_PAR_FLOATS);
    int threads = cpu__threads(st, &j.work);
    for (int t = 0; t < threads; t++) OCT__TRY(cpu__scratch(st, t, (size_t)x->w + 16, "poolg"));
    oct__pool_run(st->pool, threads, cpu__g_pool_task, &j);
    return OCT_OK;
}

static oct_status cpu_add(oct_context *ctx, const oct__add_op *op)
{
    oct__cpu_state *st = ctx->state;
    if (op->y.n <= 0 || op->y.c <= 0 || op->y.h <= 0 || op->y.w <= 0) return OCT_OK;
    cpu__unpack(st, op->y.buf->host);
    cpu__g_ew_job j = {&op->a, &op->b, &op->y, NULL, NULL, op->relu, 0, 0, 0, 0, {0}};
    j.per_image = op->y.h * op->y.w < 256; /* small planes: whole images (a view's image is one block) */
    cpu__g_ew_run(st, &j);
    return OCT_OK;
}

static oct_status cpu_affine(oct_context *ctx, const oct__affine_op *op)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *x = &op->x, *y = &op->y;
    if (y->n <= 0 || y->c <= 0 || y->h <= 0 || y->w <= 0) return OCT_OK;
    cpu__unpack(st, y->buf->host);
    cpu__g_ew_job j = {x, NULL, y, op->scale ? op->scale->host : NULL, op->shift ? op->shift->host : NULL, op->relu, 1,
                       0, 0, 0, {0}};
    j.per_image = !op->scale && !op->shift && y->h * y->w < 256;
    cpu__g_ew_run(st, &j);
    return OCT_OK;
}

/* conv (or convg), then + Up(up), then the op's ReLU. The convolution runs without its
 * ReLU; a path that can add the upsample in its own stores takes it from st->up
 * (Winograd's output transform), else a resize pass adds it afterwards -- the same float
 * operations in the same order either way: y = relu((conv's epilogue value) + up). Only
 * the exact 2x nearest upsample (OctConv's) is offered. Measured on an AMD EPYC, one
 * thread, Oct-ResNet-50 alpha 0.5: Winograd's 3x3 layers 3-4% faster with it; the same
 * sum in the AVX-512 packed 1x1 GEMM's tile epilogue made those layers 2-7% SLOWER than
 * the separate pass (each tile reads 8 channels' residual and upsample rows at once, too
 * many streams to prefetch), so the AVX-512 GEMM adds it after each block. The AVX2
 * kernel, which prefetches the next tile's C, residual and upsample rows, takes it in its
 * epilogue: on an AMD EPYC Zen 3 (AVX2), alpha 0.5, batch 1, the 1x1 layers that take an
 * upsample, sum of per-layer minima over 5 alternated runs, 13.96 -> 13.38 ms on one
 * thread and 7.61 -> 7.14 ms on two. */
static oct_status cpu_conv_up(oct_context *ctx, const oct__conv_op *conv, const oct__convg_op *convg,
                              const oct__view *up)
{
    oct__cpu_state *st = ctx->state;
    const oct__view *y = conv ? &conv->y : &convg->y;
    int relu = conv ? conv->relu : convg->relu;
    oct_status s;
    const oct__view *offer = st->fuse_up && y->h == 2 * up->h && y->w == 2 * up->w ? up : NULL;
    st->up = offer;
    st->up_relu = relu;
    if (conv) {
        oct__conv_op c = *conv;
        c.relu = 0;
        s = cpu_conv2d(ctx, &c);
    } else {
        oct__convg_op g = *convg;
        g.relu = 0;
        s = cpu_convg(ctx, &g);
    }
    int taken = offer && !st->up;
    st->up = NULL;
    if (s != OCT_OK || taken) return s;
    oct__resize_op r = {*up, *y, 1, relu};
    return cpu_resize(ctx, &r);
}

/* The pool's threads and their times (the backend table's threads, timing, times). */
static int cpu_threads(const oct_context *ctx) { return ((const oct__cpu_state *)ctx->state)->threads; }

static void cpu_timing(oct_context *ctx, int on) { oct__pool_timing(((oct__cpu_state *)ctx->state)->pool, on); }

static void cpu_times(const oct_context *ctx, double *run, int n, double *wait)
{
    oct__pool_times(((const oct__cpu_state *)ctx->state)->pool, run, n, wait);
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
    .conv2d_pair = cpu_conv2d_pair,
    .pair_side = cpu_pair_side,
    .depth = cpu_depth,
    .convg = cpu_convg,
    .poolg = cpu_poolg,
    .conv2d_pool = cpu_conv2d_pool,
    .add = cpu_add,
    .affine = cpu_affine,
    .conv_up = cpu_conv_up,
    .threads = cpu_threads,
    .timing = cpu_timing,
    .times = cpu_times,
};

/* The CPU backend's count of multiply-adds executed (octcl.h); -1 on other backends. */
oct_status oct_context_macs_executed(const oct_context *ctx, long long *macs)
{
    if (!ctx || !macs)
        return oct__fail(OCT_ERR_NULL_ARG, "oct_context_macs_executed: %s is NULL", !ctx ? "context" : "macs");
    *macs = ctx->be == &oct__backend_cpu && ctx->state ? ((const oct__cpu_state *)ctx->state)->macs_done : -1;
    return OCT_OK;
}
