/* smallconv.c — stride-1 convolutions on small planes with the output channels in the
 * vector lanes (smallconv.h): the input gathered per run of mr pixels (or, a small 1x1
 * layer on AVX-512, read where it is), the weights transposed once, the register tiles
 * of gemm.c's kernels (mr x 32: AVX-512 8 or 7 rows, AVX2 6), and a transposing store
 * with the epilogue.
 */
#include "smallconv.h"

#include "gemm.h"

#include <stdint.h>
#include <string.h>

int oct__sc_mr(int wo, int isa)
{
    if (wo <= 0) return 0;
    if (isa == OCT__GEMM_AVX2) return 6;
    if (isa != OCT__GEMM_AVX512) return 0;
    return wo % 8 == 0 ? 8 : wo % 7 == 0 ? 7 : 0;
}

size_t oct__sc_strips(const oct__sc_conv *c) { return ((size_t)c->ho * c->wo + (size_t)c->mr - 1) / (size_t)c->mr; }

size_t oct__sc_weight_floats(int co, size_t kdim)
{
    size_t strips = ((size_t)co + OCT__SC_NR - 1) / OCT__SC_NR;
    return strips * kdim * OCT__SC_NR;
}

void oct__sc_weights(const float *w1, size_t k1, const float *w2, size_t k2, int co, int isa, float *bp)
{
    size_t kdim = k1 + k2, strips = ((size_t)co + OCT__SC_NR - 1) / OCT__SC_NR;
    size_t nr = isa == OCT__GEMM_AVX2 ? 16 : OCT__SC_NR; /* the width of a panel */
    for (size_t j = 0; j < strips; j++)
        for (size_t h = 0; h < OCT__SC_NR / nr; h++) {
            float *dst = bp + j * kdim * OCT__SC_NR + h * kdim * nr;
            for (size_t p = 0; p < kdim; p++)
                for (size_t q = 0; q < nr; q++) {
                    size_t o = j * OCT__SC_NR + h * nr + q;
                    float v = 0.0f;
                    if (o < (size_t)co) v = p < k1 ? w1[o * k1 + p] : w2[o * k2 + (p - k1)];
                    dst[p * nr + q] = v;
                }
        }
}

size_t oct__sc_afloats(const oct__sc_conv *c)
{
    return oct__sc_strips(c) * (size_t)c->mr * (size_t)(c->c1 + c->c2) * c->k * c->k;
}

/* Channel ch of the stacked input [x1; x2] of image b. */
static const float *sc_plane(const oct__sc_conv *c, int b, int ch)
{
    size_t plane = (size_t)c->h * c->w;
    return ch < c->c1 ? c->x1 + (size_t)b * c->xs1 + (size_t)ch * plane
                      : c->x2 + (size_t)b * c->xs2 + (size_t)(ch - c->c1) * plane;
}

/* oct__sc_pack in plain C (the AVX2 variant's): each run of mr pixels of the plane (rows
 * read in order, a run may span two) under each (channel, ky, kx), zeros where it reads
 * the padding or runs past the plane's end. */
static void sc_pack_plain(const oct__sc_conv *c, int b, size_t s0, size_t s1, float *ap)
{
    const int mr = c->mr, k = c->k, ci = c->c1 + c->c2;
    const size_t kdim = (size_t)ci * k * k, hw = (size_t)c->ho * c->wo;
    for (size_t s = s0; s < s1; s++) {
        float *dst = ap + s * kdim * (size_t)mr;
        size_t p0 = s * (size_t)mr;
        if (k == 1 && c->pad == 0 && p0 + (size_t)mr <= hw) { /* 1x1: the run is mr floats of each plane */
            for (int ch = 0; ch < ci; ch++, dst += mr) memcpy(dst, sc_plane(c, b, ch) + p0, (size_t)mr * sizeof *dst);
            continue;
        }
        int oy[8], ox[8]; /* mr <= 8 */
        for (int i = 0; i < mr; i++) {
            size_t p = p0 + (size_t)i;
            oy[i] = p < hw ? (int)(p / (size_t)c->wo) : -1 - c->h - k; /* past the end: reads only padding */
            ox[i] = p < hw ? (int)(p % (size_t)c->wo) : 0;
        }
        for (int ch = 0; ch < ci; ch++) {
            const float *xp = sc_plane(c, b, ch);
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++, dst += mr)
                    for (int i = 0; i < mr; i++) {
                        int iy = oy[i] + ky - c->pad, ix = ox[i] + kx - c->pad;
                        dst[i] = iy >= 0 && iy < c->h && ix >= 0 && ix < c->w ? xp[(size_t)iy * c->w + ix] : 0.0f;
                    }
        }
    }
}

/* sc_store_tile in plain C (the AVX2 variant's), the same float operations per output. */
static void sc_store_plain(const oct__sc_conv *c, const float *tile, int b, int o0, int oc, size_t p0)
{
    const size_t hw = (size_t)c->ho * c->wo;
    const int n = hw - p0 < (size_t)c->mr ? (int)(hw - p0) : c->mr; /* the plane's last run may be short */
    const int acc = c->accumulate, relu = c->relu;
    const float *bias = c->bias;
    for (int q = 0; q < oc; q++) {
        float *yp = c->y + (size_t)b * c->ys + (size_t)(o0 + q) * hw + p0;
        const float *rp = c->res ? c->res + (size_t)b * c->rs + (size_t)(o0 + q) * hw + p0 : NULL;
        for (int i = 0; i < n; i++) {
            float v = tile[i * OCT__SC_NR + q];
            if (acc) v = yp[i] + v;
            if (bias) v = v + bias[o0 + q];
            if (rp) v = v + rp[i];
            if (relu) v = v < 0 ? 0.0f : v; /* NaN stays NaN, -0 stays -0 */
            yp[i] = v;
        }
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#include "lanes.h"

#define OCT__SC_AVX512 __attribute__((target("avx512f")))

/* The 1x1 gather's runs: mr floats (keep) of each of `planes` planes from xp on, one
 * after another at dst; returns the float after the last. Each run but the last moves 8
 * floats (mr <= 8): the extra one is read from the same tensor (the rest of the plane, or
 * the next) and lands on the next run's first float, which the next store writes. The
 * last run's load is masked (it may end the tensor), and so is its store when `tail`
 * (the strip's last run, followed by the next strip or the end of the buffer). */
static OCT__SC_AVX512 float *sc_runs_avx512(const oct__sc_conv *c, const float *xp, int planes, __mmask16 keep,
                                            int tail, float *dst)
{
    const size_t plane = (size_t)c->h * c->w;
    if (planes <= 0) return dst;
    for (int ch = 0; ch < planes - 1; ch++, xp += plane, dst += c->mr) _mm256_storeu_ps(dst, _mm256_loadu_ps(xp));
    __m512 v = _mm512_maskz_loadu_ps(keep, xp);
    if (tail)
        _mm512_mask_storeu_ps(dst, keep, v);
    else
        _mm256_storeu_ps(dst, _mm512_castps512_ps256(v));
    return dst + c->mr;
}

static OCT__SC_AVX512 void sc_pack_avx512(const oct__sc_conv *c, int b, size_t s0, size_t s1, float *ap)
{
    const int mr = c->mr, k = c->k, ci = c->c1 + c->c2;
    const size_t kdim = (size_t)ci * k * k;
    const __mmask16 keep = (__mmask16)((1u << mr) - 1u);
    if (k == 1 && c->pad == 0) {
        /* 1x1: the run is mr floats of each plane (mr divides the row: never past its
         * end). The general loop's bounds and masks per channel made this gather 20% of a
         * 7x7 layer's time (AMD EPYC Zen 4, one thread, 512 -> 128 channels: 15.1 of
         * 72 us); two streams of plain runs instead. */
        for (size_t s = s0; s < s1; s++) {
            size_t p0 = s * (size_t)mr;
            float *dst = ap + s * kdim * (size_t)mr;
            dst = sc_runs_avx512(c, c->x1 + (size_t)b * c->xs1 + p0, c->c1, keep, c->c2 == 0, dst);
            if (c->c2 > 0) sc_runs_avx512(c, c->x2 + (size_t)b * c->xs2 + p0, c->c2, keep, 1, dst);
        }
        return;
    }
    for (size_t s = s0; s < s1; s++) {
        size_t p0 = s * (size_t)mr;
        int oy = (int)(p0 / (size_t)c->wo), ox = (int)(p0 % (size_t)c->wo);
        float *dst = ap + s * kdim * (size_t)mr;
        for (int ch = 0; ch < ci; ch++) {
            const float *xp = sc_plane(c, b, ch);
            for (int ky = 0; ky < k; ky++) {
                int iy = oy + ky - c->pad;
                if (iy < 0 || iy >= c->h) {
                    for (int kx = 0; kx < k; kx++, dst += mr) _mm512_mask_storeu_ps(dst, keep, _mm512_setzero_ps());
                    continue;
                }
                for (int kx = 0; kx < k; kx++, dst += mr) {
                    int q = ox + kx - c->pad; /* input column of the run's first pixel */
                    __mmask16 m = oct__lanes16(-q, c->w - q) & keep;
                    const float *rp = xp + (size_t)iy * c->w + q; /* may point before the row: masked */
                    _mm512_mask_storeu_ps(dst, keep, _mm512_maskz_loadu_ps(m, rp));
                }
            }
        }
    }
}

/* The tile of a 1x1 convolution (pad 0) read in place (oct__sc_can_in_place): R = mr rows of
 * 32 channels, row i at pixel p0 + i of each input plane, planes lda floats apart, the
 * c1 planes of a1 and then the c2 of a2, against the strip's weights b (K = c1 + c2 rows
 * of 32). The packed kernel's FMAs in the same order on the same values (a packed row is
 * these mr floats of one plane): the same bits. R is a constant in each caller. */
__attribute__((target("avx512f"), always_inline)) static inline void
sc_tile_in_place(const int R, const float *a1, int c1, const float *a2, int c2, size_t lda, const float *b, float *tile)
{
    __m512 acc[8][2];
    OCT__UNROLL for (int i = 0; i < R; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int seg = 0; seg < 2; seg++) {
        const float *a = seg ? a2 : a1;
        for (int p = seg ? c2 : c1; p > 0; p--, a += lda, b += OCT__SC_NR) {
            _mm_prefetch((const char *)((uintptr_t)b + OCT__GEMM_AHEAD_B * sizeof(float)), _MM_HINT_T0);
            _mm_prefetch((const char *)((uintptr_t)b + (OCT__GEMM_AHEAD_B + 16) * sizeof(float)), _MM_HINT_T0);
            _mm_prefetch((const char *)((uintptr_t)b + OCT__GEMM_FAR_B * sizeof(float)), _MM_HINT_T1);
            __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
            OCT__UNROLL for (int i = 0; i < R; i++) {
                __m512 ai = _mm512_set1_ps(a[i]);
                acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            }
        }
    }
    OCT__UNROLL for (int i = 0; i < R; i++) {
        _mm512_store_ps(tile + i * OCT__SC_NR, acc[i][0]);
        _mm512_store_ps(tile + i * OCT__SC_NR + 16, acc[i][1]);
    }
}

static OCT__SC_AVX512 void sc_tile7(const float *a1, int c1, const float *a2, int c2, size_t lda, const float *b,
                                    float *tile)
{
    sc_tile_in_place(7, a1, c1, a2, c2, lda, b, tile);
}

static OCT__SC_AVX512 void sc_tile8(const float *a1, int c1, const float *a2, int c2, size_t lda, const float *b,
                                    float *tile)
{
    sc_tile_in_place(8, a1, c1, a2, c2, lda, b, tile);
}

/* Two output channels' runs of mr pixels in one register: lanes 0..7 channel a's (at pa),
 * lanes 8..15 channel b's (at pb); either may be absent (NULL). With `whole` and no
 * accumulate, each run is stored as all 8 lanes (sc_store_tile says when that is safe). */
static OCT__SC_AVX512 void sc_store2(const oct__sc_conv *c, __m512 v, __mmask16 keep, int whole, float *pa,
                                     float *pb, const float *ra, const float *rb, float ba, float bb)
{
    __mmask16 ma = pa ? keep : 0, mb = pb ? (__mmask16)(keep << 8) : 0;
    if (!ma && !mb) return;
    /* Lane i of the upper half addresses pb[i - 8]: the base sits 8 floats before pb
     * (masked lanes touch no memory). */
    const uintptr_t off = 8 * sizeof(float);
    float *pbb = pb ? (float *)((uintptr_t)pb - off) : NULL;
    if (c->accumulate) {
        __m512 old = _mm512_maskz_loadu_ps(ma, pa);
        if (mb) old = _mm512_mask_loadu_ps(old, mb, pbb);
        v = _mm512_add_ps(old, v);
    }
    if (c->bias) v = _mm512_add_ps(v, _mm512_mask_mov_ps(_mm512_set1_ps(ba), 0xFF00, _mm512_set1_ps(bb)));
    if (c->res) {
        __m512 r = _mm512_maskz_loadu_ps(ma, ra);
        if (mb) r = _mm512_mask_loadu_ps(r, mb, (const float *)((uintptr_t)rb - off));
        v = _mm512_add_ps(v, r);
    }
    if (c->relu) v = _mm512_max_ps(_mm512_setzero_ps(), v); /* NaN stays NaN, -0 stays -0 */
    if (whole && !c->accumulate) { /* 8 floats each: see sc_store_tile */
        if (ma) _mm256_storeu_ps(pa, _mm512_castps512_ps256(v));
        if (mb) _mm256_storeu_ps(pb, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        return;
    }
    if (ma) _mm512_mask_storeu_ps(pa, ma, v);
    if (mb) _mm512_mask_storeu_ps(pbb, mb, v);
}

/* The tile (mr pixels x 32 channels, rows 32 floats apart) stored channel by channel:
 * each 16-channel half transposed in registers (8 x 16 -> 16 runs of 8), two channels
 * per register, then y = relu(((y + sum) + bias) + res) on them. Channels from oc on
 * are not stored. A run followed by 8 - mr pixels more of its plane is stored as 8
 * floats, unmasked, unless it accumulates (it would add to a pixel it does not own): the
 * extra ones land on the next run of the same channel, which oct__sc_run stores later in
 * the same call (it goes through the runs of a strip of channels in order). Masked
 * stores of 7 lanes were 3% of ten 512 <-> 128 1x1 layers at 7x7 (AMD EPYC Zen 4, two
 * threads: 0.360 -> 0.350 ms, four runs each way alternated; 2048 -> 512 1%). */
static OCT__SC_AVX512 void sc_store_tile(const oct__sc_conv *c, const float *tile, int b, int o0, int oc, size_t p0)
{
    const size_t hw = (size_t)c->ho * c->wo;
    const __mmask16 keep = (__mmask16)((1u << c->mr) - 1u);
    float *yb = c->y + (size_t)b * c->ys + p0;
    const float *rbase = c->res ? c->res + (size_t)b * c->rs + p0 : NULL;
    const int whole = p0 + 8 <= hw;
    for (int h = 0; h < 2; h++) {
        __m512 r[8];
        for (int i = 0; i < 8; i++)
            r[i] = i < c->mr ? _mm512_load_ps(tile + i * OCT__SC_NR + 16 * h) : _mm512_setzero_ps();
        __m512 t[8], u[4], v[4];
        for (int i = 0; i < 4; i++) {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        /* u[k] (rows 0-3), v[k] (rows 4-7): 128-bit lane L holds channel 4 L + k. */
        u[0] = _mm512_shuffle_ps(t[0], t[2], _MM_SHUFFLE(1, 0, 1, 0));
        u[1] = _mm512_shuffle_ps(t[0], t[2], _MM_SHUFFLE(3, 2, 3, 2));
        u[2] = _mm512_shuffle_ps(t[1], t[3], _MM_SHUFFLE(1, 0, 1, 0));
        u[3] = _mm512_shuffle_ps(t[1], t[3], _MM_SHUFFLE(3, 2, 3, 2));
        v[0] = _mm512_shuffle_ps(t[4], t[6], _MM_SHUFFLE(1, 0, 1, 0));
        v[1] = _mm512_shuffle_ps(t[4], t[6], _MM_SHUFFLE(3, 2, 3, 2));
        v[2] = _mm512_shuffle_ps(t[5], t[7], _MM_SHUFFLE(1, 0, 1, 0));
        v[3] = _mm512_shuffle_ps(t[5], t[7], _MM_SHUFFLE(3, 2, 3, 2));
        for (int k = 0; k < 4; k++) {
            __m512 lo = _mm512_shuffle_f32x4(u[k], v[k], _MM_SHUFFLE(1, 0, 1, 0)); /* u L0, u L1, v L0, v L1 */
            __m512 hi = _mm512_shuffle_f32x4(u[k], v[k], _MM_SHUFFLE(3, 2, 3, 2)); /* u L2, u L3, v L2, v L3 */
            lo = _mm512_shuffle_f32x4(lo, lo, _MM_SHUFFLE(3, 1, 2, 0)); /* channels k | 4 + k */
            hi = _mm512_shuffle_f32x4(hi, hi, _MM_SHUFFLE(3, 1, 2, 0)); /* channels 8 + k | 12 + k */
            for (int q = 0; q < 2; q++) {
                int ca = 16 * h + 8 * q + k, cb = ca + 4; /* within the tile */
                float *pa = ca < oc ? yb + (size_t)(o0 + ca) * hw : NULL;
                float *pb = cb < oc ? yb + (size_t)(o0 + cb) * hw : NULL;
                const float *ra = rbase && pa ? rbase + (size_t)(o0 + ca) * hw : NULL;
                const float *rb = rbase && pb ? rbase + (size_t)(o0 + cb) * hw : NULL;
                float ba = c->bias && pa ? c->bias[o0 + ca] : 0.0f, bb = c->bias && pb ? c->bias[o0 + cb] : 0.0f;
                sc_store2(c, q ? hi : lo, keep, whole, pa, pb, ra, rb, ba, bb);
            }
        }
    }
}

/* sc_store_plain for whole runs of 6 (the AVX2 variant's, mr = 6): each 8-channel group
 * of the tile transposed in registers (6 rows of 8 -> 8 runs of 6, the 8 x 8 transpose
 * with two zero rows), then per channel y = relu(((y + sum) + bias) + res) on its run,
 * stored as 4 + 2 floats (AVX2 masked stores measured slow on AMD). The same float
 * operations as sc_store_plain, which takes a short last run. */
#define OCT__SC_AVX2 __attribute__((target("avx2,fma")))

static OCT__SC_AVX2 __m256 sc_load6(const float *p)
{
    __m128 lo = _mm_loadu_ps(p), hi = _mm_castsi128_ps(_mm_loadu_si64(p + 4)); /* unaligned 2 floats */
    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
}

static OCT__SC_AVX2 void sc_store6(float *p, __m256 v)
{
    _mm_storeu_ps(p, _mm256_castps256_ps128(v));
    _mm_storeu_si64(p + 4, _mm_castps_si128(_mm256_extractf128_ps(v, 1)));
}

static OCT__SC_AVX2 void sc_store_avx2(const oct__sc_conv *c, const float *tile, int b, int o0, int oc, size_t p0)
{
    const size_t hw = (size_t)c->ho * c->wo;
    const __m256 zero = _mm256_setzero_ps();
    float *yb = c->y + (size_t)b * c->ys + p0;
    const float *rb = c->res ? c->res + (size_t)b * c->rs + p0 : NULL;
    for (int g = 0; g < oc; g += 8) {
        __m256 r[8], t[8], u[8];
        for (int i = 0; i < 6; i++) r[i] = _mm256_load_ps(tile + i * OCT__SC_NR + g);
        r[6] = r[7] = zero;
        for (int i = 0; i < 4; i++) {
            t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for (int i = 0; i < 2; i++) {
            u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
            u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
            u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
            u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
        }
        /* u[k] (rows 0-3) and u[4 + k] (rows 4-7): 128-bit half h holds channel 4 h + k. */
        for (int k = 0; k < 4; k++)
            for (int h = 0; h < 2; h++) {
                int q = g + 4 * h + k;
                if (q >= oc) continue;
                __m256 v = h ? _mm256_permute2f128_ps(u[k], u[4 + k], 0x31) : _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);
                float *yp = yb + (size_t)(o0 + q) * hw;
                if (c->accumulate) v = _mm256_add_ps(sc_load6(yp), v);
                if (c->bias) v = _mm256_add_ps(v, _mm256_set1_ps(c->bias[o0 + q]));
                if (rb) v = _mm256_add_ps(v, sc_load6(rb + (size_t)(o0 + q) * hw));
                if (c->relu) v = _mm256_max_ps(zero, v); /* NaN stays NaN, -0 stays -0 */
                sc_store6(yp, v);
            }
    }
}

#endif

void oct__sc_pack(const oct__sc_conv *c, int b, size_t s0, size_t s1, float *ap)
{
#if defined(__GNUC__) && defined(__x86_64__)
    if (c->isa == OCT__GEMM_AVX512) {
        sc_pack_avx512(c, b, s0, s1, ap);
        return;
    }
#endif
    sc_pack_plain(c, b, s0, s1, ap);
}

int oct__sc_can_in_place(const oct__sc_conv *c)
{
#if defined(__GNUC__) && defined(__x86_64__)
    return c->isa == OCT__GEMM_AVX512 && c->k == 1 && c->pad == 0 && (c->mr == 7 || c->mr == 8) &&
           oct__sgemm_kernel_rows(c->isa, c->mr) != NULL;
#else
    (void)c;
    return 0;
#endif
}

void oct__sc_run(const oct__sc_conv *c, int b, const float *ap, int j0, int j1)
{
    const int mr = c->mr, ci = c->c1 + c->c2;
    const size_t kdim = (size_t)ci * c->k * c->k, strips = oct__sc_strips(c);
    oct__gemm_kernel kernel = oct__sgemm_kernel_rows(c->isa, mr);
    if (!kernel) return; /* the caller checks oct__sc_mr and the kernel first */
    _Alignas(64) float tile[8 * OCT__SC_NR];
#if defined(__GNUC__) && defined(__x86_64__)
    const int in_place = c->in_place && oct__sc_can_in_place(c);
    const size_t hw = (size_t)c->h * c->w;
    const float *x1 = c->x1 + (size_t)b * c->xs1, *x2 = c->c2 > 0 ? c->x2 + (size_t)b * c->xs2 : NULL;
#endif
    for (int j = j0; j < j1; j++) {
        const float *bp = c->bp + (size_t)j * kdim * OCT__SC_NR;
        int o0 = j * OCT__SC_NR, oc = c->co - o0 < OCT__SC_NR ? c->co - o0 : OCT__SC_NR;
        for (size_t s = 0; s < strips; s++) {
#if defined(__GNUC__) && defined(__x86_64__)
            if (in_place) {
                size_t p0 = s * (size_t)mr;
                (mr == 7 ? sc_tile7 : sc_tile8)(x1 + p0, c->c1, x2 ? x2 + p0 : NULL, c->c2, hw, bp, tile);
                sc_store_tile(c, tile, b, o0, oc, p0);
                continue;
            }
#endif
            kernel((int)kdim, ap + s * kdim * (size_t)mr, bp, tile, OCT__SC_NR, 0);
#if defined(__GNUC__) && defined(__x86_64__)
            if (c->isa == OCT__GEMM_AVX512) {
                sc_store_tile(c, tile, b, o0, oc, s * (size_t)mr);
                continue;
            }
            if (c->isa == OCT__GEMM_AVX2 && mr == 6 && (s + 1) * (size_t)mr <= (size_t)c->ho * c->wo) {
                sc_store_avx2(c, tile, b, o0, oc, s * (size_t)mr);
                continue;
            }
#endif
            sc_store_plain(c, tile, b, o0, oc, s * (size_t)mr);
        }
    }
}
