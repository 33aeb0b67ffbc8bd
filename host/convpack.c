/* convpack.c — implicit im2col panels for the CPU backend's GEMM (see convpack.h).
 *
 * A panel holds nr consecutive output pixels; they may run over the end of an output row,
 * so a panel is cut into segments, each in one row, and every B' row (c, ky, kx) of a
 * segment is a run of input pixels s apart: for s = 1 one masked load per 16 outputs
 * (AVX-512F; 8 with AVX2), for s = 2 two loads and an even-lane permute (the masks give
 * the zero padding); other strides and CPUs without AVX2 take the plain loop. Only
 * copies: the values are the im2col matrix's, bit for bit.
 */
#include "convpack.h"

#include "gemm.h"

#include <string.h>

/* Segment: len outputs from input column q0 on, s apart, of input row `row` (NULL: the
 * row lies in the padding) of width w, into d. */
static inline void cp_seg_any(const float *restrict row, int w, int q0, int s, int len, float *restrict d)
{
    if (!row) {
        memset(d, 0, (size_t)len * sizeof *d);
        return;
    }
    for (int t = 0; t < len; t++) {
        int q = q0 + t * s;
        d[t] = q >= 0 && q < w ? row[q] : 0.0f;
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#include "lanes.h"

/* cp_seg_any for s = 1 or 2 with AVX-512F: the masked loads read only [0, w) of the row
 * (the pointer may lie outside it where every lane is masked off). */
__attribute__((target("avx512f"), always_inline)) static inline void cp_seg_512(const float *row, int w, int q0, int s, int len,
                                                          float *d)
{
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    for (int g = 0; g < len; g += 16) {
        __mmask16 st = oct__lanes16(0, len - g);
        __m512 v = _mm512_setzero_ps();
        if (row && s == 1) {
            int q = q0 + g;
            v = _mm512_maskz_loadu_ps(oct__lanes16(-q, w - q), row + q);
        } else if (row) {
            int q = q0 + 2 * g;
            __m512 a = _mm512_maskz_loadu_ps(oct__lanes16(-q, w - q), row + q);
            __m512 b = _mm512_maskz_loadu_ps(oct__lanes16(-q - 16, w - q - 16), row + q + 16);
            v = _mm512_permutex2var_ps(a, ev, b);
        }
        _mm512_mask_storeu_ps(d + g, st, v);
    }
}

/* 8 floats of row from q on, lanes outside [0, w) zero: a plain load inside the row, else
 * a masked one (which reads no masked-off lane). */
__attribute__((target("avx2"), always_inline)) static inline __m256 cp_load8(const float *row, int w, int q)
{
    if (q >= 0 && q + 8 <= w) return _mm256_loadu_ps(row + q);
    return _mm256_maskload_ps(row + q, oct__lanes8(-q, w - q));
}

/* cp_seg_512 with AVX2's 8 lanes; for s = 2 the even lanes of two loads (oct__even8).
 * Masked loads and stores only at a row's or segment's ends: a masked store (vmaskmovps)
 * is slow on AMD's cores, and with one per 8 floats this ran slower than the plain loop
 * on an AMD EPYC Zen 3. */
__attribute__((target("avx2"), always_inline)) static inline void cp_seg_256(const float *row, int w, int q0, int s, int len,
                                                                             float *d)
{
    for (int g = 0; g < len; g += 8) {
        __m256 v = _mm256_setzero_ps();
        if (row && s == 1) {
            v = cp_load8(row, w, q0 + g);
        } else if (row) {
            int q = q0 + 2 * g;
            v = oct__even8(cp_load8(row, w, q), cp_load8(row, w, q + 8));
        }
        if (len - g >= 8)
            _mm256_storeu_ps(d + g, v);
        else
            _mm256_maskstore_ps(d + g, oct__lanes8(0, len - g), v);
    }
}
#define OCT__CP_HAVE_512 1
#endif

/* The panels of oct__convpack_b with segment function SEG (inlined into each copy). */
#define OCT__CP_PANELS(SEG)                                                                               \
    const int k = cp->k, wo = cp->wo, st = cp->s;                                                         \
    const size_t plane = (size_t)cp->h * cp->w;                                                           \
    for (int s0 = 0; s0 < nc; s0 += nr, dst += (size_t)kc * nr) {                                         \
        int cols = nc - s0 < nr ? nc - s0 : nr;                                                           \
        size_t col = (size_t)j0 + (size_t)s0;                                                             \
        for (int jj = 0; jj < cols;) {                                                                    \
            /* The segment: columns jj.. of the panel in output row oy, from ox on. */                    \
            int oy = cp->oy0 + (int)((col + (size_t)jj) / (size_t)wo);                                    \
            int ox = (int)((col + (size_t)jj) % (size_t)wo);                                              \
            int len = wo - ox < cols - jj ? wo - ox : cols - jj;                                          \
            /* Row p0 is (c, ky, kx); the loop steps them along (no division per row). */               \
            int c = p0 / (k * k), ky = p0 % (k * k) / k, kx = p0 % k;                                     \
            for (int p = 0; p < kc; p++) {                                                                \
                int iy = oy * st - cp->pad + ky;                                                          \
                const float *row = iy >= 0 && iy < cp->h ? cp->x + (size_t)c * plane + (size_t)iy * cp->w \
                                                         : NULL;                                          \
                SEG(row, cp->w, ox * st - cp->pad + kx, st, len, dst + (size_t)p * nr + jj);              \
                if (++kx == k) {                                                                          \
                    kx = 0;                                                                               \
                    if (++ky == k) ky = 0, c++;                                                           \
                }                                                                                         \
            }                                                                                             \
            jj += len;                                                                                    \
        }                                                                                                 \
        if (cols < nr)                                                                                    \
            for (int p = 0; p < kc; p++) memset(dst + (size_t)p * nr + cols, 0, (size_t)(nr - cols) * sizeof *dst); \
    }

static void cp_panels_any(const oct__convpack *cp, int p0, int kc, int j0, int nc, int nr, float *dst)
{
    OCT__CP_PANELS(cp_seg_any)
}

#ifdef OCT__CP_HAVE_512
__attribute__((target("avx512f"))) static void cp_panels_512(const oct__convpack *cp, int p0, int kc, int j0,
                                                             int nc, int nr, float *dst)
{
    OCT__CP_PANELS(cp_seg_512)
}

__attribute__((target("avx2"))) static void cp_panels_256(const oct__convpack *cp, int p0, int kc, int j0, int nc,
                                                          int nr, float *dst)
{
    OCT__CP_PANELS(cp_seg_256)
}
#endif

void oct__convpack_b(const void *ctx, int p0, int kc, int j0, int nc, int nr, float *dst)
{
    const oct__convpack *cp = ctx;
#ifdef OCT__CP_HAVE_512
    if (cp->isa == OCT__GEMM_AVX512 && (cp->s == 1 || cp->s == 2)) {
        cp_panels_512(cp, p0, kc, j0, nc, nr, dst);
        return;
    }
    if (cp->isa == OCT__GEMM_AVX2 && (cp->s == 1 || cp->s == 2)) {
        cp_panels_256(cp, p0, kc, j0, nc, nr, dst);
        return;
    }
#endif
    cp_panels_any(cp, p0, kc, j0, nc, nr, dst);
}
