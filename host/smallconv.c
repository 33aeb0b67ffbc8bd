/* smallconv.c — stride-1 convolutions on small planes with the output channels in the
 * vector lanes (smallconv.h): the input gathered per run of mr pixels, the weights
 * transposed once, the register tiles of gemm.c's AVX-512 kernels (mr x 32), and a
 * transposing store with the epilogue.
 */
#include "smallconv.h"

#include "gemm.h"

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
#define OCT__SC_AVX512 __attribute__((target("avx512f")))

/* Lanes [lo, hi) of a 16-lane mask (clamped to [0, 16]). */
static inline __mmask16 sc_lanes(int lo, int hi)
{
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

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
                    __mmask16 m = sc_lanes(-q, c->w - q) & keep;
                    const float *rp = xp + (size_t)iy * c->w + q; /* may point before the row: masked */
                    _mm512_mask_storeu_ps(dst, keep, _mm512_maskz_loadu_ps(m, rp));
                }
            }
        }
    }
}

OCT__SC_AVX512 void oct__sc_run(const oct__sc_conv *c, int b, const float *ap, int j0, int j1)
{
    const int mr = c->mr, ci = c->c1 + c->c2;
    const size_t kdim = (size_t)ci * c->k * c->k, hw = (size_t)c->ho * c->wo, strips = hw / (size_t)mr;
    const __mmask16 keep = (__mmask16)((1u << mr) - 1u);
    const __m512i rows = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                            _mm512_set1_epi32(OCT__SC_NR));
    oct__gemm_kernel kernel = oct__sgemm_kernel_rows(OCT__GEMM_AVX512, mr);
    _Alignas(64) float tile[8 * OCT__SC_NR];
    float *yb = c->y + (size_t)b * c->ys;
    const float *rb = c->res ? c->res + (size_t)b * c->rs : NULL;
    for (int j = j0; j < j1; j++) {
        const float *bp = c->bp + (size_t)j * kdim * OCT__SC_NR;
        int o0 = j * OCT__SC_NR, oc = c->co - o0 < OCT__SC_NR ? c->co - o0 : OCT__SC_NR;
        for (size_t s = 0; s < strips; s++) {
            kernel((int)kdim, ap + s * kdim * (size_t)mr, bp, tile, OCT__SC_NR, 0);
            size_t p0 = s * (size_t)mr;
            for (int q = 0; q < oc; q++) {
                int o = o0 + q;
                __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), keep, rows, tile + q, 4);
                float *yp = yb + (size_t)o * hw + p0;
                if (c->accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(keep, yp), v);
                if (c->bias) v = _mm512_add_ps(v, _mm512_set1_ps(c->bias[o]));
                if (rb) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(keep, rb + (size_t)o * hw + p0));
                if (c->relu) v = _mm512_max_ps(_mm512_setzero_ps(), v); /* NaN stays NaN, -0 stays -0 */
                _mm512_mask_storeu_ps(yp, keep, v);
            }
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
