/* smallconv.c — stride-1 convolutions on small planes with the output channels in the
 * vector lanes (smallconv.h): the input gathered per run of mr pixels, the weights
 * transposed once, the register tiles of gemm.c's AVX-512 kernels (mr x 32), and a
 * transposing store with the epilogue.
 */
#include "smallconv.h"

#include "gemm.h"

#include <stdint.h>
#include <string.h>

int oct__sc_mr(int wo)
{
    return wo > 0 && wo % 8 == 0 ? 8 : wo > 0 && wo % 7 == 0 ? 7 : 0;
}

size_t oct__sc_weight_floats(int co, size_t kdim)
{
    size_t strips = ((size_t)co + OCT__SC_NR - 1) / OCT__SC_NR;
    return strips * kdim * OCT__SC_NR;
}

void oct__sc_weights(const float *w1, size_t k1, const float *w2, size_t k2, int co, float *bp)
{
    size_t kdim = k1 + k2, strips = ((size_t)co + OCT__SC_NR - 1) / OCT__SC_NR;
    for (size_t j = 0; j < strips; j++) {
        float *dst = bp + j * kdim * OCT__SC_NR;
        for (size_t p = 0; p < kdim; p++)
            for (size_t q = 0; q < OCT__SC_NR; q++) {
                size_t o = j * OCT__SC_NR + q;
                float v = 0.0f;
                if (o < (size_t)co) v = p < k1 ? w1[o * k1 + p] : w2[o * k2 + (p - k1)];
                dst[p * OCT__SC_NR + q] = v;
            }
    }
}

size_t oct__sc_afloats(const oct__sc_conv *c)
{
    return (size_t)c->ho * c->wo * (size_t)(c->c1 + c->c2) * c->k * c->k;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#include "lanes.h"

#define OCT__SC_AVX512 __attribute__((target("avx512f")))

OCT__SC_AVX512 void oct__sc_pack(const oct__sc_conv *c, int b, size_t s0, size_t s1, float *ap)
{
    const int mr = c->mr, k = c->k, ci = c->c1 + c->c2;
    const size_t kdim = (size_t)ci * k * k, plane = (size_t)c->h * c->w;
    const __mmask16 keep = (__mmask16)((1u << mr) - 1u);
    for (size_t s = s0; s < s1; s++) {
        size_t p0 = s * (size_t)mr;
        int oy = (int)(p0 / (size_t)c->wo), ox = (int)(p0 % (size_t)c->wo);
        float *dst = ap + s * kdim * (size_t)mr;
        for (int ch = 0; ch < ci; ch++) {
            const float *xp = ch < c->c1 ? c->x1 + (size_t)b * c->xs1 + (size_t)ch * plane
                                         : c->x2 + (size_t)b * c->xs2 + (size_t)(ch - c->c1) * plane;
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

/* Two output channels' runs of mr pixels in one register: lanes 0..7 channel a's (at pa),
 * lanes 8..15 channel b's (at pb); either may be absent (NULL). */
static OCT__SC_AVX512 void sc_store2(const oct__sc_conv *c, __m512 v, __mmask16 keep, float *pa, float *pb,
                                     const float *ra, const float *rb, float ba, float bb)
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
    if (ma) _mm512_mask_storeu_ps(pa, ma, v);
    if (mb) _mm512_mask_storeu_ps(pbb, mb, v);
}

/* The tile (mr pixels x 32 channels, rows 32 floats apart) stored channel by channel:
 * each 16-channel half transposed in registers (8 x 16 -> 16 runs of 8), two channels
 * per register, then y = relu(((y + sum) + bias) + res) on them. Channels from oc on
 * are not stored. */
static OCT__SC_AVX512 void sc_store_tile(const oct__sc_conv *c, const float *tile, int b, int o0, int oc, size_t p0)
{
    const size_t hw = (size_t)c->ho * c->wo;
    const __mmask16 keep = (__mmask16)((1u << c->mr) - 1u);
    float *yb = c->y + (size_t)b * c->ys + p0;
    const float *rbase = c->res ? c->res + (size_t)b * c->rs + p0 : NULL;
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
                sc_store2(c, q ? hi : lo, keep, pa, pb, ra, rb, ba, bb);
            }
        }
    }
}

OCT__SC_AVX512 void oct__sc_run(const oct__sc_conv *c, int b, const float *ap, int j0, int j1)
{
    const int mr = c->mr, ci = c->c1 + c->c2;
    const size_t kdim = (size_t)ci * c->k * c->k, hw = (size_t)c->ho * c->wo, strips = hw / (size_t)mr;
    oct__gemm_kernel kernel = oct__sgemm_kernel_rows(OCT__GEMM_AVX512, mr);
    _Alignas(64) float tile[8 * OCT__SC_NR];
    for (int j = j0; j < j1; j++) {
        const float *bp = c->bp + (size_t)j * kdim * OCT__SC_NR;
        int o0 = j * OCT__SC_NR, oc = c->co - o0 < OCT__SC_NR ? c->co - o0 : OCT__SC_NR;
        for (size_t s = 0; s < strips; s++) {
            kernel((int)kdim, ap + s * kdim * (size_t)mr, bp, tile, OCT__SC_NR, 0);
            sc_store_tile(c, tile, b, o0, oc, s * (size_t)mr);
        }
    }
}

#else /* no AVX-512 build: the caller never takes this path (oct__sgemm_kernel_rows is NULL) */

void oct__sc_pack(const oct__sc_conv *c, int b, size_t s0, size_t s1, float *ap)
{
    (void)c, (void)b, (void)s0, (void)s1, (void)ap;
}

void oct__sc_run(const oct__sc_conv *c, int b, const float *ap, int j0, int j1)
{
    (void)c, (void)b, (void)ap, (void)j0, (void)j1;
}
#endif
