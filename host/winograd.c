/* winograd.c — F(2x2, 3x3) and F(4x4, 3x3) Winograd convolution for the CPU backend (see
 * winograd.h).
 *
 * F(2x2, 3x3)'s matrices (Lavin & Gray 2016, points 0, 1, -1, infinity):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]    input patch d (4x4):  V = B^T d B
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]  kernel g (3x3):       U = G g G^T
 *   A^T = [1 1 1 0; 0 1 -1 -1]                        output (2x2):  Y = A^T (sum_c U.V) A
 *
 * F(4x4, 3x3)'s (points 0, 1, -1, 2, -2, infinity; the choice of NNPACK, ncnn, oneDNN):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
 *          0 4 0 -5 0 1]                               input patch d (6x6)
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]   output (4x4)
 *
 * Rounding. F(2x2)'s coefficients are 0, +-1 or +-1/2 (exact in binary), so the input and
 * weight transforms round only in their few additions, and the error of an output is,
 * like the direct sum's, about sqrt(K) u of the size of the terms summed -- but the
 * terms are the transformed products, not g d. Bounding |Y| by |A^T| (|G| |g| |G^T| .
 * |B^T| |d| |B|) |A| per dimension: row 0 of |A^T| |G| row sums (1, 3/2, 3/2, 1) times
 * |B^T| row sums (2, 2, 2, 2) gives 1 * 1 * 2 + 1 * 1.5 * 2 + 1 * 1.5 * 2 = 8 against 3 for
 * the direct form, a factor 8/3 per dimension and (8/3)^2 ~ 7.1 in 2-D. So the same
 * tolerance argument as the direct path's holds with its error budget multiplied by at
 * most ~7 (the tests use TOL * 8; compare_npy.py's model-level 1e-4 keeps a margin: its
 * typical estimate 3e-5 counts every layer, of which ResNet-50's 16 3x3 layers are a
 * third). F(4x4)'s transforms multiply only by 2, 4 and 8 (exact) and 5 (one rounding);
 * the same bound, max over the output rows of sum_k |A^T|_ik (|G| row sum)_k (|B^T| row
 * sum)_k, is 48 against 3, 16 per dimension and 256 in 2-D (the tests hold it to TOL *
 * 256, fixed from this bound). That worst case is far from the typical error: the terms'
 * signs are random and the few large coefficients weigh few of them (float32
 * simulation, 256 channels, uniform inputs, weights scaled by 1 / sqrt(9 ci): largest
 * error 1.3e-5 and rms 1.1e-6 on outputs up to 1.3, against F(2x2)'s 8.4e-7 and 1.7e-7
 * and the direct sum's 4.9e-7 and 1.0e-7). Whether a network keeps within the
 * model-level 1e-4 is measured by the parity tests against PyTorch's float64 logits,
 * which fail when it does not; the backend uses F(4x4) only where it was measured
 * faster, and $OCTCL_CPU_WINO_TILE=2 turns it off.
 */
#include "winograd.h"

#include "gemm.h"

#include <string.h>

/* The tile of a convolution: 4 or 2 (0 reads as 2). */
static int wino_m(const oct__wino_conv *c) { return c->m == 4 ? 4 : 2; }

int oct__wino_elems(int m) { return m == 4 ? 36 : OCT__WINO_E; }

size_t oct__wino_tiles(int m, int ho, int wo)
{
    m = m == 4 ? 4 : 2;
    return (size_t)((ho + m - 1) / m) * (size_t)((wo + m - 1) / m);
}

size_t oct__wino_weight_floats(int m, int ci, int co, int isa)
{
    return (size_t)oct__wino_elems(m) * oct__sgemm_apack_floats(isa, co, ci);
}

/* F(4x4)'s G, exact in double up to the rounding of 1/6, 1/12 and 1/24. */
static const double wino_g4[6][3] = {{1.0 / 4, 0, 0},
                                     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                     {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                     {0, 0, 1}};

void oct__wino_weights(int m, const float *w1, int c1, const float *w2, int c2, int co, int isa, float *u)
{
    int ci = c1 + c2, ne = oct__wino_elems(m);
    size_t us = oct__sgemm_apack_floats(isa, co, ci);
    memset(u, 0, (size_t)ne * us * sizeof *u); /* rows past co in the last strip */
    for (int o = 0; o < co; o++)
        for (int c = 0; c < ci; c++) {
            const float *g = c < c1 ? w1 + ((size_t)o * c1 + c) * 9 : w2 + ((size_t)o * c2 + (c - c1)) * 9;
            float *d = u + oct__sgemm_apack_at(isa, co, ci, o, c); /* U[e] (co, ci), packed */
            if (m == 4) { /* U = G g G^T, 6x6 */
                double t[6][3];
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 3; j++)
                        t[i][j] = wino_g4[i][0] * g[j] + wino_g4[i][1] * g[3 + j] + wino_g4[i][2] * g[6 + j];
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++)
                        d[(size_t)(6 * i + j) * us] =
                            (float)(t[i][0] * wino_g4[j][0] + t[i][1] * wino_g4[j][1] + t[i][2] * wino_g4[j][2]);
                continue;
            }
            double t[4][3]; /* G g */
            for (int j = 0; j < 3; j++) {
                double g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
                t[0][j] = g0;
                t[1][j] = 0.5 * (g0 + g1 + g2);
                t[2][j] = 0.5 * (g0 - g1 + g2);
                t[3][j] = g2;
            }
            for (int i = 0; i < 4; i++) {
                d[(size_t)(4 * i + 0) * us] = (float)t[i][0];
                d[(size_t)(4 * i + 1) * us] = (float)(0.5 * (t[i][0] + t[i][1] + t[i][2]));
                d[(size_t)(4 * i + 2) * us] = (float)(0.5 * (t[i][0] - t[i][1] + t[i][2]));
                d[(size_t)(4 * i + 3) * us] = (float)t[i][2];
            }
        }
}

/* Floats rounded up to a cache line. */
static size_t wino_line(size_t n) { return (n + 15) / 16 * 16; }

/* The distance between the 16 planes of V (ci, tb) or M (cog, tb): n floats rounded up
 * to a cache line, plus one. With ci * tb a multiple of 1024 (any ci a multiple of 32 at
 * tb 96) the planes would start 4 KiB multiples apart: the transforms' 16 loads or
 * stores of a tile then all fall in one L1 set (and alias each other's 4 KiB offsets).
 * The extra line puts plane e in set i + e. */
static size_t wino_plane_stride(size_t n) { return wino_line(n) + 16; }

/* The patch-row buffer's floats (plain transforms) for blocks of tb tiles: m per tile
 * of a tile row, and the two columns the last patch reaches past its tile. */
static size_t wino_row_floats(const oct__wino_conv *c, size_t tb)
{
    int m = wino_m(c);
    size_t tw = (size_t)((c->wo + m - 1) / m);
    return (size_t)m * (tw < tb ? tw : tb) + 2;
}

size_t oct__wino_scratch(const oct__wino_conv *c, size_t tb, int cog)
{
    return oct__wino_vfloats(c, tb) + oct__wino_work(c, tb, cog);
}

size_t oct__wino_work(const oct__wino_conv *c, size_t tb, int cog)
{
    int m = wino_m(c), a = m + 2;
    size_t row = wino_row_floats(c, tb);
    size_t in = wino_line((size_t)a * row);
    size_t out = (size_t)oct__wino_elems(m) * wino_plane_stride((size_t)cog * tb) + wino_line((size_t)m * row);
    return (in > out ? in : out) + 16; /* 16: the AVX-512 output transform reads up to 15 past m */
}

/* ------------------------------------------------------------------------------------ */
/* The transforms in plain C (OCT__WINO_PLAIN), on patch rows copied out of the image    */

/* Input transform of `len` consecutive tiles of one tile row, one channel: r[i] holds the
 * patch rows (2 len + 2 floats, zeros outside the image), tile k's patch at columns
 * 2k .. 2k + 3; v[e * vs + k] receives element e of tile k. */
static void wino_in_rows(const float *restrict r0, const float *restrict r1, const float *restrict r2,
                         const float *restrict r3, int len, float *restrict v, size_t vs)
{
    for (int k = 0; k < len; k++) {
        const float *a = r0 + 2 * k, *b = r1 + 2 * k, *c = r2 + 2 * k, *d = r3 + 2 * k;
        /* t = B^T patch (rows), then V = t B (columns) */
        float t0[4], t1[4], t2[4], t3[4];
        for (int j = 0; j < 4; j++) {
            t0[j] = a[j] - c[j];
            t1[j] = b[j] + c[j];
            t2[j] = c[j] - b[j];
            t3[j] = b[j] - d[j];
        }
        v[0 * vs + k] = t0[0] - t0[2];
        v[1 * vs + k] = t0[1] + t0[2];
        v[2 * vs + k] = t0[2] - t0[1];
        v[3 * vs + k] = t0[1] - t0[3];
        v[4 * vs + k] = t1[0] - t1[2];
        v[5 * vs + k] = t1[1] + t1[2];
        v[6 * vs + k] = t1[2] - t1[1];
        v[7 * vs + k] = t1[1] - t1[3];
        v[8 * vs + k] = t2[0] - t2[2];
        v[9 * vs + k] = t2[1] + t2[2];
        v[10 * vs + k] = t2[2] - t2[1];
        v[11 * vs + k] = t2[1] - t2[3];
        v[12 * vs + k] = t3[0] - t3[2];
        v[13 * vs + k] = t3[1] + t3[2];
        v[14 * vs + k] = t3[2] - t3[1];
        v[15 * vs + k] = t3[1] - t3[3];
    }
}

/* Output transform of `len` tiles of one channel: m[e * ms + k] element e of tile k;
 * o0 / o1 receive the tiles' two output rows (2 len floats each). */
static void wino_out_rows(const float *restrict m, size_t ms, int len, float *restrict o0, float *restrict o1)
{
    for (int k = 0; k < len; k++) {
        float e[16];
        for (int i = 0; i < 16; i++) e[i] = m[(size_t)i * ms + k];
        /* s = A^T M (rows 0 and 1), then Y = s A */
        float s0[4], s1[4];
        for (int j = 0; j < 4; j++) {
            s0[j] = e[j] + e[4 + j] + e[8 + j];
            s1[j] = e[4 + j] - e[8 + j] - e[12 + j];
        }
        o0[2 * k] = s0[0] + s0[1] + s0[2];
        o0[2 * k + 1] = s0[1] - s0[2] - s0[3];
        o1[2 * k] = s1[0] + s1[1] + s1[2];
        o1[2 * k + 1] = s1[1] - s1[2] - s1[3];
    }
}

/* dst[i] = relu(((sum + bias) + old) + up[i / 2]) for i < n (old when acc, up when not
 * NULL). Order of the sum as the direct kernel's store, then the upsample's resize pass. */
static void wino_store_row(float *restrict dst, const float *restrict src, int n, float bias, int acc, int relu,
                           const float *restrict up)
{
    for (int i = 0; i < n; i++) {
        float v = src[i] + bias;
        if (acc) v += dst[i];
        if (up) v += up[i >> 1];
        if (relu) v = v < 0.0f ? 0.0f : v;
        dst[i] = v;
    }
}

/* The segment that starts at tile t (over the batch; `per` tiles an image, tw a tile
 * row) and ends at its tile row's end or at t1: image *b, tile row *ty, first tile *tx;
 * returns its length. */
static int wino_segment(size_t t, size_t t1, size_t per, int tw, int *b, int *ty, int *tx)
{
    *b = (int)(t / per), *ty = (int)(t % per / (size_t)tw), *tx = (int)(t % per % (size_t)tw);
    return (int)((size_t)(tw - *tx) < t1 - t ? (size_t)(tw - *tx) : t1 - t);
}

/* Channel c of the stacked input [x1; x2] of image b: its (h, w) plane. */
static const float *wino_plane(const struct oct__wino_conv_s *cv, int b, int c)
{
    return c < cv->c1 ? cv->x1 + (size_t)b * cv->xs1 + (size_t)c * cv->h * cv->w
                      : cv->x2 + (size_t)b * cv->xs2 + (size_t)(c - cv->c1) * cv->h * cv->w;
}

/* cv->up's pixel under output (oy, ox) of channel o, image b (NULL without cv->up): the
 * value the nearest 2x upsample gives that output. */
static const float *wino_up_px(const struct oct__wino_conv_s *cv, int b, int o, int oy, int ox)
{
    if (!cv->up) return NULL;
    return cv->up + (size_t)b * cv->ups + ((size_t)o * (cv->ho / 2) + oy / 2) * (size_t)(cv->wo / 2) + ox / 2;
}

/* The vector transforms: x86-64 with GCC or Clang (the caller checks the CPU). */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define OCT__W_AVX512 __attribute__((target("avx512f")))

#include "lanes.h"

/* F(2x2)'s one-dimensional B^T over four values (ADD, SUB the vector operations):
 * r0 = d0 - d2, r1 = d1 + d2, r2 = d2 - d1, r3 = d1 - d3. The row and the column stage of
 * every vector input transform below, as W2_OUT_S is their output transforms' first half. */
#define W2_BT(ADD, SUB, d0, d1, d2, d3, r0, r1, r2, r3)                                                          \
    do {                                                                                                         \
        (r0) = SUB(d0, d2);                                                                                      \
        (r1) = ADD(d1, d2);                                                                                      \
        (r2) = SUB(d2, d1);                                                                                      \
        (r3) = SUB(d1, d3);                                                                                      \
    } while (0)
#define W2_BT512(...) W2_BT(_mm512_add_ps, _mm512_sub_ps, __VA_ARGS__)
#define W2_BT256(...) W2_BT(_mm256_add_ps, _mm256_sub_ps, __VA_ARGS__)

/* Input transform, AVX-512, straight from the image (masked loads give the zero padding):
 * `len` tiles of tile row ty from tile tx, channels [c0, c1) of the stacked input of
 * image b; v[e * vs + c * tb + k] receives element e of tile k of channel c. */
static OCT__W_AVX512 void wino_in_seg_512(const struct oct__wino_conv_s *cv, int b, int ty, int tx, int len,
                                          int c0, int c1, float *v, size_t vs, size_t cs)
{
    int y0 = 2 * ty - cv->pad;
    for (int c = c0; c < c1; c++) {
        const float *plane = wino_plane(cv, b, c);
        float *vc = v + (size_t)c * cs;
        for (int g = 0; g < len; g += 16) {
            int q = 2 * (tx + g) - cv->pad; /* input column of the first tile's patch */
            __mmask16 ma = oct__lanes16(-q, cv->w - q), mb = oct__lanes16(-q - 16, cv->w - q - 16);
            __mmask16 mc = oct__lanes16(-q - 2, cv->w - q - 2), md = oct__lanes16(-q - 18, cv->w - q - 18);
            __m512 d[4][4];
            for (int i = 0; i < 4; i++) {
                int iy = y0 + i;
                if (iy < 0 || iy >= cv->h) {
                    d[i][0] = d[i][1] = d[i][2] = d[i][3] = _mm512_setzero_ps();
                    continue;
                }
                const float *rp = plane + (size_t)iy * cv->w + q; /* may point before the row: masked */
                __m512 a = _mm512_maskz_loadu_ps(ma, rp), bb = _mm512_maskz_loadu_ps(mb, rp + 16);
                __m512 a2 = _mm512_maskz_loadu_ps(mc, rp + 2), b2 = _mm512_maskz_loadu_ps(md, rp + 18);
                d[i][0] = oct__even16(a, bb);
                d[i][1] = oct__odd16(a, bb);
                d[i][2] = oct__even16(a2, b2);
                d[i][3] = oct__odd16(a2, b2);
            }
            __m512 t[4][4], r[4];
            for (int j = 0; j < 4; j++)
                W2_BT512(d[0][j], d[1][j], d[2][j], d[3][j], t[0][j], t[1][j], t[2][j], t[3][j]);
            __mmask16 st = oct__lanes16(0, len - g);
            float *o = vc + g;
            for (int i = 0; i < 4; i++) {
                W2_BT512(t[i][0], t[i][1], t[i][2], t[i][3], r[0], r[1], r[2], r[3]);
                for (int e = 0; e < 4; e++) _mm512_mask_storeu_ps(o + (size_t)(4 * i + e) * vs, st, r[e]);
            }
        }
    }
}

/* The first half of F(2x2)'s output transform for the tiles of a vector of type T (LOAD,
 * ADD, SUB its operations): s = A^T M (its two rows), m[e * ms + k] element e of tile k.
 * One body for both widths (wino_out_s512, wino_out_s256), as W4_IN and W4_OUT are. */
#define W2_OUT_S(T, LOAD, ADD, SUB, m, ms, s)                                                                    \
    do {                                                                                                         \
        T e_[16];                                                                                                \
        for (int i_ = 0; i_ < 16; i_++) e_[i_] = LOAD((m) + (size_t)i_ * (ms));                                  \
        for (int j_ = 0; j_ < 4; j_++) {                                                                         \
            (s)[0][j_] = ADD(ADD(e_[j_], e_[4 + j_]), e_[8 + j_]);                                               \
            (s)[1][j_] = SUB(SUB(e_[4 + j_], e_[8 + j_]), e_[12 + j_]);                                          \
        }                                                                                                        \
    } while (0)

static OCT__W_AVX512 inline __attribute__((always_inline)) void wino_out_s512(const float *m, size_t ms,
                                                                              __m512 s[2][4])
{
    W2_OUT_S(__m512, _mm512_loadu_ps, _mm512_add_ps, _mm512_sub_ps, m, ms, s);
}

/* Output transform and store, AVX-512: `len` tiles of tile row ty from tx, image b,
 * output channel o (bias bv); m[e * ms + k] element e of tile k. With cv->up, tile k's
 * four outputs take up's pixel (ty, tx + k) (a lane per tile, spread like the outputs). */
static OCT__W_AVX512 void wino_out_seg_512(const struct oct__wino_conv_s *cv, int b, int ty, int tx, int len, int o,
                                           float bv, const float *m, size_t ms)
{
    const int acc = cv->accumulate, relu = cv->relu; /* in registers: the stores may alias cv */
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const __m512 zero = _mm512_setzero_ps(), bias = _mm512_set1_ps(bv);
    const __m512i dlo = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    const __m512i dhi = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
    size_t hwo = (size_t)cv->ho * cv->wo;
    float *y = cv->y + (size_t)b * cv->ys + (size_t)o * hwo + (size_t)(2 * ty) * cv->wo;
    int rows = cv->ho - 2 * ty < 2 ? cv->ho - 2 * ty : 2;
    const float *up = wino_up_px(cv, b, o, 2 * ty, 2 * tx);
    for (int g = 0; g < len; g += 16) {
        __m512 ua = zero, ub = zero;
        if (up) {
            __m512 u = _mm512_maskz_loadu_ps(oct__lanes16(0, len - g), up + g);
            ua = _mm512_permutexvar_ps(dlo, u);
            ub = _mm512_permutexvar_ps(dhi, u);
        }
        __m512 s[2][4];
        wino_out_s512(m + g, ms, s); /* past len: unused lanes */
        int x0 = 2 * (tx + g), cols = cv->wo - x0 < 2 * (len - g) ? cv->wo - x0 : 2 * (len - g);
        for (int i = 0; i < rows; i++) {
            __m512 y0 = _mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), s[i][2]);
            __m512 y1 = _mm512_sub_ps(_mm512_sub_ps(s[i][1], s[i][2]), s[i][3]);
            __m512 r0 = _mm512_add_ps(_mm512_permutex2var_ps(y0, lo, y1), bias);
            __m512 r1 = _mm512_add_ps(_mm512_permutex2var_ps(y0, hi, y1), bias);
            float *yp = y + (size_t)i * cv->wo + x0;
            __mmask16 m0 = oct__lanes16(0, cols), m1 = oct__lanes16(0, cols - 16);
            if (acc) {
                r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, yp));
                r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, yp + 16));
            }
            if (up) {
                r0 = _mm512_add_ps(r0, ua);
                r1 = _mm512_add_ps(r1, ub);
            }
            if (relu) { /* max(0, r): r when either is NaN or both are zeros, as v < 0 ? 0 : v */
                r0 = _mm512_max_ps(zero, r0);
                r1 = _mm512_max_ps(zero, r1);
            }
            _mm512_mask_storeu_ps(yp, m0, r0);
            _mm512_mask_storeu_ps(yp + 16, m1, r1);
        }
    }
}

/* A whole image of 4 x 4 tiles (7x7 and 8x8 output planes), one lane a tile: lane
 * 4 r + k is tile (r, k), so the 16 tiles of tile rows 0-3 fill one vector where a
 * segment of one tile row fills 4 of 16 lanes. F(2x2) only, without cv->up. */
static int wino_img16(const struct oct__wino_conv_s *cv)
{
    return (cv->ho + 1) / 2 == 4 && (cv->wo + 1) / 2 == 4 && !cv->up;
}

/* Lane 4 r + k of the result: column 2 k + j of row vector t[r] (t[0..3]). */
static OCT__W_AVX512 inline __attribute__((always_inline)) __m512 wino_cols16(const __m512 t[4], int j)
{
    /* lanes 0-7 from t[0] | t[1] (table lanes 16-31), lanes 8-15 from t[2] | t[3] */
    const __m512i idx = _mm512_add_epi32(_mm512_set_epi32(22, 20, 18, 16, 6, 4, 2, 0, 22, 20, 18, 16, 6, 4, 2, 0),
                                         _mm512_set1_epi32(j));
    return _mm512_mask_blend_ps(0xFF00, _mm512_permutex2var_ps(t[0], idx, t[1]),
                                _mm512_permutex2var_ps(t[2], idx, t[3]));
}

/* Input transform of image b's 16 tiles (wino_img16), channels [c0, c1):
 * v[e * vs + c * cs + k] receives element e of tile k. The same sums in the same order
 * as wino_in_seg_512 (rows, then columns; the column gathers move values only). */
static OCT__W_AVX512 void wino_in_img16_512(const struct oct__wino_conv_s *cv, int b, int c0, int c1, float *v,
                                            size_t vs, size_t cs)
{
    __mmask16 cm = oct__lanes16(cv->pad, cv->pad + cv->w); /* lane l: input column l - pad */
    for (int c = c0; c < c1; c++) {
        const float *plane = wino_plane(cv, b, c);
        __m512 x[10]; /* x[q]: input row q - pad, zero outside the image */
        for (int q = 0; q < 10; q++) {
            int iy = q - cv->pad;
            x[q] = iy < 0 || iy >= cv->h ? _mm512_setzero_ps()
                                         : _mm512_maskz_loadu_ps(cm, plane + (size_t)iy * cv->w - cv->pad);
        }
        __m512 t[4][4]; /* t[i][r]: row i of B^T d for tile row r, every column */
        for (int r = 0; r < 4; r++)
            W2_BT512(x[2 * r], x[2 * r + 1], x[2 * r + 2], x[2 * r + 3], t[0][r], t[1][r], t[2][r], t[3][r]);
        float *o = v + (size_t)c * cs;
        for (int i = 0; i < 4; i++) {
            __m512 g0 = wino_cols16(t[i], 0), g1 = wino_cols16(t[i], 1);
            __m512 g2 = wino_cols16(t[i], 2), g3 = wino_cols16(t[i], 3), e[4];
            W2_BT512(g0, g1, g2, g3, e[0], e[1], e[2], e[3]);
            for (int k = 0; k < 4; k++) _mm512_storeu_ps(o + (size_t)(4 * i + k) * vs, e[k]);
        }
    }
}

/* Output transform and store of image b's 16 tiles (wino_img16), output channel o
 * (bias bv); m[e * ms + k] element e of tile k. The same sums in the same order as
 * wino_out_seg_512. */
static OCT__W_AVX512 void wino_out_img16_512(const struct oct__wino_conv_s *cv, int b, int o, float bv,
                                             const float *m, size_t ms)
{
    const int acc = cv->accumulate, relu = cv->relu; /* in registers: the stores may alias cv */
    /* Outputs of row i of tile rows (0, 1) and (2, 3): y0 lanes 4 r + k are columns 2 k,
     * y1's 2 k + 1; lo interleaves tiles 0-7 (lanes 0-7: tile row 0, 8-15: row 1), hi
     * tiles 8-15. */
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const __m512 zero = _mm512_setzero_ps(), bias = _mm512_set1_ps(bv);
    float *y = cv->y + (size_t)b * cv->ys + (size_t)o * cv->ho * cv->wo;
    __m512 s[2][4];
    wino_out_s512(m, ms, s);
    for (int i = 0; i < 2; i++) {
        __m512 y0 = _mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), s[i][2]);
        __m512 y1 = _mm512_sub_ps(_mm512_sub_ps(s[i][1], s[i][2]), s[i][3]);
        for (int h = 0; h < 2; h++) { /* tile rows 2 h and 2 h + 1: output rows 4 h + i, 4 h + 2 + i */
            __m512 r = _mm512_add_ps(_mm512_permutex2var_ps(y0, h ? hi : lo, y1), bias);
            int ya = 4 * h + i, yb = ya + 2;
            __mmask16 ma = ya < cv->ho ? oct__lanes16(0, cv->wo) : 0;
            __mmask16 mb = yb < cv->ho ? oct__lanes16(8, 8 + cv->wo) : 0;
            float *pa = y + (size_t)ya * cv->wo, *pb = y + (size_t)yb * cv->wo - 8; /* lane 8 + x: (yb, x) */
            if (acc)
                r = _mm512_add_ps(r, _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(ma, pa), mb, pb));
            if (relu) r = _mm512_max_ps(zero, r); /* as wino_out_seg_512 */
            _mm512_mask_storeu_ps(pa, ma, r);
            _mm512_mask_storeu_ps(pb, mb, r);
        }
    }
}
#define OCT__W_HAVE_512 1

/* FMA too: the AVX2 transforms run only where the AVX2 GEMM does (cpu__avx2: AVX2 and FMA)
 * or on AVX-512 CPUs, which all have it; W4_IN and W4_OUT use it. */
#define OCT__W_AVX2 __attribute__((target("avx2,fma")))

/* Lanes 0, 2, .., 14 (even) or 1, 3, .., 15 (odd) of the 16 floats a then b. */
OCT__W_AVX2 static inline __m256 wino_even8(__m256 a, __m256 b)
{
    __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
OCT__W_AVX2 static inline __m256 wino_odd8(__m256 a, __m256 b)
{
    __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* The patch columns of 8 F(2x2) tiles in one input row from rp (tile k's patch at
 * columns 2 k .. 2 k + 3): d[j] lane k = column 2 k + j. ma, mb, mc, md mask the loads at
 * rp, rp + 8, rp + 2 and rp + 10 to the row (zeros outside it). */
static OCT__W_AVX2 inline __attribute__((always_inline)) void
wino_patch_cols_256(const float *rp, __m256i ma, __m256i mb, __m256i mc, __m256i md, __m256 d[4])
{
    __m256 a = _mm256_maskload_ps(rp, ma), bb = _mm256_maskload_ps(rp + 8, mb);
    __m256 a2 = _mm256_maskload_ps(rp + 2, mc), b2 = _mm256_maskload_ps(rp + 10, md);
    d[0] = wino_even8(a, bb);
    d[1] = wino_odd8(a, bb);
    d[2] = wino_even8(a2, b2);
    d[3] = wino_odd8(a2, b2);
}

/* wino_in_seg_512 for AVX2, one channel c: 8 tiles a vector, the padding from masked
 * loads. A short group is stored whole where its extra lanes land on floats written
 * later or never read (`room`: the floats of the plane row from v on that may be
 * written; see wino_in_256): AMD's masked stores cost many cycles each (Zen 3: about 70%
 * of this function on a 7x7 plane, four tiles a segment, when every short group took
 * them). */
static OCT__W_AVX2 inline __attribute__((always_inline)) void
wino_in_seg_256(const struct oct__wino_conv_s *cv, int b, int ty, int tx, int len, int c, float *v, size_t vs,
                size_t room)
{
    int y0 = 2 * ty - cv->pad;
    const float *plane = wino_plane(cv, b, c);
    for (int g = 0; g < len; g += 8) {
        int q = 2 * (tx + g) - cv->pad; /* input column of the first tile's patch */
        __m256i ma = oct__lanes8(-q, cv->w - q), mb = oct__lanes8(-q - 8, cv->w - q - 8);
        __m256i mc = oct__lanes8(-q - 2, cv->w - q - 2), md = oct__lanes8(-q - 10, cv->w - q - 10);
        __m256 d[4][4];
        for (int i = 0; i < 4; i++) {
            int iy = y0 + i;
            if (iy < 0 || iy >= cv->h) {
                d[i][0] = d[i][1] = d[i][2] = d[i][3] = _mm256_setzero_ps();
                continue;
            }
            /* may point before the row: masked */
            wino_patch_cols_256(plane + (size_t)iy * cv->w + q, ma, mb, mc, md, d[i]);
        }
        __m256 t[4][4];
        for (int j = 0; j < 4; j++) W2_BT256(d[0][j], d[1][j], d[2][j], d[3][j], t[0][j], t[1][j], t[2][j], t[3][j]);
        float *o = v + g;
        __m256 r[16];
        for (int i = 0; i < 4; i++)
            W2_BT256(t[i][0], t[i][1], t[i][2], t[i][3], r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
        if (len - g >= 8 || (size_t)g + 8 <= room) {
            for (int e = 0; e < 16; e++) _mm256_storeu_ps(o + (size_t)e * vs, r[e]);
        } else {
            __m256i st = oct__lanes8(0, len - g);
            for (int e = 0; e < 16; e++) _mm256_maskstore_ps(o + (size_t)e * vs, st, r[e]);
        }
    }
}

/* Two tile rows of an image of 4 x 4 tiles (wino_img16: 7x7 and 8x8 output planes), 8
 * tiles a vector, lane 4 r + k tile (2 h + r, k), where a segment of one tile row fills 4
 * of 8 lanes. Input transform of tile rows 2 h and 2 h + 1 of image b, channel c:
 * v[e * vs + k] receives element e of tile k of the 8. The same sums in the same order as
 * wino_in_seg_256 (each input row's patch columns gathered first, as there; the two tile
 * rows' patches then put side by side, which moves values only). */
static OCT__W_AVX2 inline __attribute__((always_inline)) void
wino_in_img8_256(const struct oct__wino_conv_s *cv, int b, int h, int c, float *v, size_t vs)
{
    const float *plane = wino_plane(cv, b, c);
    __m256i ma = oct__lanes8(cv->pad, cv->pad + cv->w), mb = oct__lanes8(cv->pad - 8, cv->pad + cv->w - 8);
    __m256i mc = oct__lanes8(cv->pad - 2, cv->pad + cv->w - 2), md = oct__lanes8(cv->pad - 10, cv->pad + cv->w - 10);
    __m256 d[6][4]; /* d[q][j]: columns 2 k + j (k = 0..3, lanes 0-3) of input row 4 h + q - pad */
    for (int q = 0; q < 6; q++) {
        int iy = 4 * h + q - cv->pad;
        if (iy < 0 || iy >= cv->h) {
            d[q][0] = d[q][1] = d[q][2] = d[q][3] = _mm256_setzero_ps();
            continue;
        }
        /* may point before the row: masked */
        wino_patch_cols_256(plane + (size_t)iy * cv->w - cv->pad, ma, mb, mc, md, d[q]);
    }
    __m256 p[4][4]; /* patch row i of tile row 2 h (lanes 0-3) and 2 h + 1 (lanes 4-7) */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) p[i][j] = _mm256_permute2f128_ps(d[i][j], d[i + 2][j], 0x20);
    __m256 t[4][4], r[4];
    for (int j = 0; j < 4; j++) W2_BT256(p[0][j], p[1][j], p[2][j], p[3][j], t[0][j], t[1][j], t[2][j], t[3][j]);
    for (int i = 0; i < 4; i++) {
        W2_BT256(t[i][0], t[i][1], t[i][2], t[i][3], r[0], r[1], r[2], r[3]);
        for (int e = 0; e < 4; e++) _mm256_storeu_ps(v + (size_t)(4 * i + e) * vs, r[e]);
    }
}

/* oct__wino_input's AVX2 path: channel after channel, each channel's segments in tile
 * order, so that a short group's extra lanes fall on the rest of its row (written by a
 * later segment), on the next channel's row (written next), or, after the block's last
 * channel, on the plane's padding (wino_plane_stride leaves 16 floats) -- never on a
 * float already written, and only within the channels [c0, c1) this call owns. */
static OCT__W_AVX2 void wino_in_256(const struct oct__wino_conv_s *cv, size_t t0, size_t t1, int c0, int c1,
                                    float *v, size_t vs)
{
    int tw = (cv->wo + 1) / 2, ci = cv->c1 + cv->c2;
    size_t tb = t1 - t0, per = (size_t)((cv->ho + 1) / 2) * (size_t)tw;
    int img = wino_img16(cv);
    for (int c = c0; c < c1; c++) {
        size_t after = c + 1 < c1 ? tb : c1 == ci ? 16 : 0; /* floats past the row that may be written */
        for (size_t t = t0; t < t1;) {
            int b, ty, tx, len = wino_segment(t, t1, per, tw, &b, &ty, &tx);
            size_t k0 = t - t0;
            if (img && tx == 0 && (ty & 1) == 0 && t1 - t >= 8) {
                wino_in_img8_256(cv, b, ty / 2, c, v + (size_t)c * tb + k0, vs);
                t += 8;
                continue;
            }
            wino_in_seg_256(cv, b, ty, tx, len, c, v + (size_t)c * tb + k0, vs, tb - k0 + after);
            t += (size_t)len;
        }
    }
}

/* wino_out_s512 for AVX2, 8 tiles. */
static OCT__W_AVX2 inline __attribute__((always_inline)) void wino_out_s256(const float *m, size_t ms,
                                                                            __m256 s[2][4])
{
    W2_OUT_S(__m256, _mm256_loadu_ps, _mm256_add_ps, _mm256_sub_ps, m, ms, s);
}

/* wino_out_seg_512 for AVX2: 8 tiles (16 outputs of each row) a step. */
static OCT__W_AVX2 void wino_out_seg_256(const struct oct__wino_conv_s *cv, int b, int ty, int tx, int len, int o,
                                         float bv, const float *m, size_t ms)
{
    const int acc = cv->accumulate, relu = cv->relu; /* in registers: the stores may alias cv */
    const __m256 zero = _mm256_setzero_ps(), bias = _mm256_set1_ps(bv);
    const __m256i dlo = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3), dhi = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
    size_t hwo = (size_t)cv->ho * cv->wo;
    float *y = cv->y + (size_t)b * cv->ys + (size_t)o * hwo + (size_t)(2 * ty) * cv->wo;
    int rows = cv->ho - 2 * ty < 2 ? cv->ho - 2 * ty : 2;
    const float *up = wino_up_px(cv, b, o, 2 * ty, 2 * tx);
    for (int g = 0; g < len; g += 8) {
        __m256 ua = zero, ub = zero;
        if (up) {
            __m256 u = _mm256_maskload_ps(up + g, oct__lanes8(0, len - g));
            ua = _mm256_permutevar8x32_ps(u, dlo);
            ub = _mm256_permutevar8x32_ps(u, dhi);
        }
        __m256 s[2][4];
        wino_out_s256(m + g, ms, s); /* past len: unused lanes */
        int x0 = 2 * (tx + g), cols = cv->wo - x0 < 2 * (len - g) ? cv->wo - x0 : 2 * (len - g);
        __m256i m0 = oct__lanes8(0, cols), m1 = oct__lanes8(0, cols - 8);
        for (int i = 0; i < rows; i++) {
            __m256 y0 = _mm256_add_ps(_mm256_add_ps(s[i][0], s[i][1]), s[i][2]);
            __m256 y1 = _mm256_sub_ps(_mm256_sub_ps(s[i][1], s[i][2]), s[i][3]);
            __m256 lo = _mm256_unpacklo_ps(y0, y1), hi = _mm256_unpackhi_ps(y0, y1); /* tiles 0,1,4,5 | 2,3,6,7 */
            __m256 r0 = _mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x20), bias);
            __m256 r1 = _mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x31), bias);
            float *yp = y + (size_t)i * cv->wo + x0;
            if (acc) {
                r0 = _mm256_add_ps(r0, _mm256_maskload_ps(yp, m0));
                r1 = _mm256_add_ps(r1, _mm256_maskload_ps(yp + 8, m1));
            }
            if (up) {
                r0 = _mm256_add_ps(r0, ua);
                r1 = _mm256_add_ps(r1, ub);
            }
            if (relu) { /* as wino_out_seg_512 */
                r0 = _mm256_max_ps(zero, r0);
                r1 = _mm256_max_ps(zero, r1);
            }
            if (cols >= 16) {
                _mm256_storeu_ps(yp, r0);
                _mm256_storeu_ps(yp + 8, r1);
            } else if (cols >= 8) { /* masked stores only where needed: see wino_in_seg_256 */
                _mm256_storeu_ps(yp, r0);
                if (cols > 8) _mm256_maskstore_ps(yp + 8, m1, r1);
            } else {
                _mm256_maskstore_ps(yp, m0, r0);
            }
        }
    }
}

/* Output transform and store of tile rows 2 h and 2 h + 1 of image b (wino_img16), output
 * channel o (bias bv); m[e * ms + k] element e of tile k of the 8. The same sums in the
 * same order as wino_out_seg_256. */
static OCT__W_AVX2 void wino_out_img8_256(const struct oct__wino_conv_s *cv, int b, int h, int o, float bv,
                                          const float *m, size_t ms)
{
    const int acc = cv->accumulate, relu = cv->relu; /* in registers: the stores may alias cv */
    const __m256 zero = _mm256_setzero_ps(), bias = _mm256_set1_ps(bv);
    float *y = cv->y + (size_t)b * cv->ys + (size_t)o * cv->ho * cv->wo;
    __m256 s[2][4];
    wino_out_s256(m, ms, s);
    __m256i mw = oct__lanes8(0, cv->wo);
    for (int i = 0; i < 2; i++) {
        __m256 y0 = _mm256_add_ps(_mm256_add_ps(s[i][0], s[i][1]), s[i][2]);
        __m256 y1 = _mm256_sub_ps(_mm256_sub_ps(s[i][1], s[i][2]), s[i][3]);
        __m256 lo = _mm256_unpacklo_ps(y0, y1), hi = _mm256_unpackhi_ps(y0, y1); /* tiles 0,1,4,5 | 2,3,6,7 */
        for (int r = 0; r < 2; r++) { /* output row 4 h + 2 r + i: tile row 2 h + r's row i */
            int oy = 4 * h + 2 * r + i;
            if (oy >= cv->ho) continue;
            __m256 v = r ? _mm256_permute2f128_ps(lo, hi, 0x31) : _mm256_permute2f128_ps(lo, hi, 0x20);
            v = _mm256_add_ps(v, bias); /* immediates in each branch: -O0 needs literals */
            float *yp = y + (size_t)oy * cv->wo;
            if (acc) v = _mm256_add_ps(v, _mm256_maskload_ps(yp, mw));
            if (relu) v = _mm256_max_ps(zero, v); /* as wino_out_seg_512 */
            if (cv->wo == 8)
                _mm256_storeu_ps(yp, v);
            else
                _mm256_maskstore_ps(yp, mw, v);
        }
    }
}
#define OCT__W_HAVE_256 1
#endif

/* ------------------------------------------------------------------------------------ */
/* One block of tiles                                                                     */

/* Patch row of channel c (of the stacked input), image b, input row iy, columns
 * [x0, x0 + n) into dst, zeros outside the image. */
static void wino_row(const oct__wino_conv *cv, int b, int c, int iy, int x0, int n, float *restrict dst)
{
    if (iy < 0 || iy >= cv->h) {
        memset(dst, 0, (size_t)n * sizeof *dst);
        return;
    }
    const float *src = wino_plane(cv, b, c) + (size_t)iy * cv->w;
    int lo = x0 < 0 ? -x0 : 0, hi = cv->w - x0 < n ? cv->w - x0 : n; /* dst [lo, hi) from the row */
    if (hi < lo) hi = lo;
    if (lo > 0) memset(dst, 0, (size_t)lo * sizeof *dst);
    if (hi > lo) memcpy(dst + lo, src + x0 + lo, (size_t)(hi - lo) * sizeof *dst);
    if (n > hi) memset(dst + hi, 0, (size_t)(n - hi) * sizeof *dst);
}

/* ------------------------------------------------------------------------------------ */
/* F(4x4, 3x3): the one-dimensional transforms, written once over an operation set so     */
/* that the plain and the AVX2 code do the same operations in the same order. Their only */
/* products are by 2, 4 and 8: exact, so a compiler that fuses one into an add (an FMA)  */
/* rounds the same.                                                                       */

/* r = B^T d for d[0..5]: r0 = 4 (d0 - d2) + (d4 - d2), r1,2 = (d4 - 4 d2) +- (d3 - 4 d1),
 * r3,4 = (d4 - d2) +- 2 (d3 - d1), r5 = 4 (d1 - d3) + (d5 - d3).
 *   Every product in F(4x4)'s transforms is by 2, 4 or 8, which is exact, so k a + c rounds
 * once either way: as one fused multiply-add (FMA / FNMA: k a + c, c - k a; the AVX2
 * transforms, 13 operations here for 17 and 10 in W4_OUT for 13) or as a product and a
 * sum (the plain ones), the same bits, except where k a overflows (|a| > 2^125), which a
 * fused one does not. Old and new library alternated, AMD EPYC Zen 3, one thread, 12
 * pairs, medians: ten 32 -> 32 3x3 layers at 32x32 0.969 -> 0.948 ms (0.976x), OctNetMini
 * alpha 0.5 batch 1 0.995x; byte-identical logits (OctNetMini alpha 0 and 0.75,
 * Oct-ResNet-50 alpha 0.5). */
#define W4_IN(T, ADD, SUB, FMA, FNMA, d, r)                                                                      \
    do {                                                                                                         \
        T t1_ = FNMA(4, (d)[2], (d)[4]), t2_ = FNMA(4, (d)[1], (d)[3]);                                          \
        T t3_ = SUB((d)[4], (d)[2]), t4_ = SUB((d)[3], (d)[1]);                                                  \
        (r)[0] = FMA(4, SUB((d)[0], (d)[2]), t3_);                                                               \
        (r)[1] = ADD(t1_, t2_);                                                                                  \
        (r)[2] = SUB(t1_, t2_);                                                                                  \
        (r)[3] = FMA(2, t4_, t3_);                                                                               \
        (r)[4] = FNMA(2, t4_, t3_);                                                                              \
        (r)[5] = FMA(4, SUB((d)[1], (d)[3]), SUB((d)[5], (d)[3]));                                               \
    } while (0)

/* y = A^T s for s[0..5]: with a, b = s1 +- s2 and c, d = s3 +- s4: y0 = (s0 + a) + c,
 * y1 = b + 2 d, y2 = a + 4 c, y3 = (b + 8 d) + s5. */
#define W4_OUT(T, ADD, SUB, FMA, FNMA, s, y)                                                                     \
    do {                                                                                                         \
        T a_ = ADD((s)[1], (s)[2]), b_ = SUB((s)[1], (s)[2]), c_ = ADD((s)[3], (s)[4]), d_ = SUB((s)[3], (s)[4]); \
        (y)[0] = ADD(ADD((s)[0], a_), c_);                                                                       \
        (y)[1] = FMA(2, d_, b_);                                                                                 \
        (y)[2] = FMA(4, c_, a_);                                                                                 \
        (y)[3] = ADD(FMA(8, d_, b_), (s)[5]);                                                                    \
    } while (0)

#define W4_FADD(a, b) ((a) + (b))
#define W4_FSUB(a, b) ((a) - (b))
#define W4_FFMA(k, a, c) ((float)(k) * (a) + (c)) /* two roundings, the first exact */
#define W4_FFNMA(k, a, c) ((c) - (float)(k) * (a))

/* Plain input transform of `len` tiles of one tile row, one channel: r[i] the six patch
 * rows (4 len + 2 floats, zeros outside the image), tile k's patch at columns 4k .. 4k + 5;
 * v[e * vs + k] receives element e = 6 i + j of tile k. Columns first, then rows. */
static void wino4_in_rows(float *const r[6], int len, float *restrict v, size_t vs)
{
    for (int k = 0; k < len; k++) {
        float w[6][6];
        for (int i = 0; i < 6; i++) W4_IN(float, W4_FADD, W4_FSUB, W4_FFMA, W4_FFNMA, r[i] + 4 * k, w[i]);
        for (int j = 0; j < 6; j++) {
            float d[6] = {w[0][j], w[1][j], w[2][j], w[3][j], w[4][j], w[5][j]}, o[6];
            W4_IN(float, W4_FADD, W4_FSUB, W4_FFMA, W4_FFNMA, d, o);
            for (int i = 0; i < 6; i++) v[(size_t)(6 * i + j) * vs + k] = o[i];
        }
    }
}

/* Plain output transform of `len` tiles of one channel: m[e * ms + k] element e of tile
 * k; o[i] receives the tiles' output row i (4 len floats). Rows first, then columns. */
static void wino4_out_rows(const float *restrict m, size_t ms, int len, float *const o[4])
{
    for (int k = 0; k < len; k++) {
        float s[4][6];
        for (int j = 0; j < 6; j++) {
            float e[6], y[4];
            for (int i = 0; i < 6; i++) e[i] = m[(size_t)(6 * i + j) * ms + k];
            W4_OUT(float, W4_FADD, W4_FSUB, W4_FFMA, W4_FFNMA, e, y);
            for (int i = 0; i < 4; i++) s[i][j] = y[i];
        }
        for (int i = 0; i < 4; i++) W4_OUT(float, W4_FADD, W4_FSUB, W4_FFMA, W4_FFNMA, s[i], o[i] + 4 * k);
    }
}

#ifdef OCT__W_HAVE_256
#define W4_VADD(a, b) _mm256_add_ps(a, b)
#define W4_VSUB(a, b) _mm256_sub_ps(a, b)
#define W4_VFMA(k, a, c) _mm256_fmadd_ps(_mm256_set1_ps((float)(k)), a, c)
#define W4_VFNMA(k, a, c) _mm256_fnmadd_ps(_mm256_set1_ps((float)(k)), a, c)

/* Which of the len + 2 floats from column q of a row w wide a group loads (len 32:
 * wino4_cols8's four vectors; 16: wino4_row4's two): all (whole), or the lanes of each
 * of its vectors and the two floats after them (x0, x1) inside [0, w),
 * with full[k] where vector k lies wholly inside (a plain load: a group at a row's left
 * edge, q = -1, masked only its first vector; until 2026-12-06 all four were masked
 * loads. Ten-layer chains, one thread, batch 8, old and new library alternated, AMD EPYC
 * Zen 4: 64 -> 64 at 32x32 0.97x, 32 -> 32 at 28x28 0.98x, at 56x56 0.99x; OctNetMini
 * 0.996-0.997x at batches 1 and 32, two threads).
 * The same for every row of a group of tiles, so made once a group: building the four
 * masks for each of the six patch rows took a fifth of the input transform's samples
 * (`perf annotate`, a 56x56 layer, where every group of 8 tiles touches an edge). */
typedef struct {
    int whole, x0, x1, full[4];
    __m256i m[4];
} wino4_span;

static OCT__W_AVX2 inline __attribute__((always_inline)) void wino4_span_of(int q, int w, int len, wino4_span *sp)
{
    sp->whole = q >= 0 && q + len + 2 <= w;
    if (sp->whole) return;
    for (int k = 0; k < len / 8; k++) {
        sp->m[k] = oct__lanes8(-q - 8 * k, w - q - 8 * k);
        sp->full[k] = q + 8 * k >= 0 && q + 8 * k + 8 <= w;
    }
    sp->x0 = q + len >= 0 && q + len < w;
    sp->x1 = q + len + 1 >= 0 && q + len + 1 < w;
}

/* Columns 0 .. 5 of the patches of 8 tiles from their four vectors of patch columns
 * (v0 = tiles 0 | 1, 4 columns each; v1 = 2 | 3, v2 = 4 | 5, v3 = 6 | 7): c[j] lane k =
 * column j of tile k. Columns 4 and 5 of tile k are columns 0 and 1 of tile k + 1; the
 * lanes in `last` (a blend mask) take theirs from x4 and x5 instead. */
static OCT__W_AVX2 inline __attribute__((always_inline)) void wino4_transpose8(__m256 v0, __m256 v1, __m256 v2,
                                                                               __m256 v3, __m256 x4, __m256 x5,
                                                                               const int last, __m256 c[6])
{
    __m256 e0 = _mm256_permute2f128_ps(v0, v2, 0x20), e1 = _mm256_permute2f128_ps(v0, v2, 0x31); /* 0|4, 1|5 */
    __m256 e2 = _mm256_permute2f128_ps(v1, v3, 0x20), e3 = _mm256_permute2f128_ps(v1, v3, 0x31); /* 2|6, 3|7 */
    __m256 a = _mm256_unpacklo_ps(e0, e1), b = _mm256_unpackhi_ps(e0, e1);
    __m256 c2 = _mm256_unpacklo_ps(e2, e3), d = _mm256_unpackhi_ps(e2, e3);
    c[0] = _mm256_shuffle_ps(a, c2, _MM_SHUFFLE(1, 0, 1, 0));
    c[1] = _mm256_shuffle_ps(a, c2, _MM_SHUFFLE(3, 2, 3, 2));
    c[2] = _mm256_shuffle_ps(b, d, _MM_SHUFFLE(1, 0, 1, 0));
    c[3] = _mm256_shuffle_ps(b, d, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256i next = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7);
    if (last == 0x80) { /* an immediate for the blend */
        c[4] = _mm256_blend_ps(_mm256_permutevar8x32_ps(c[0], next), x4, 0x80);
        c[5] = _mm256_blend_ps(_mm256_permutevar8x32_ps(c[1], next), x5, 0x80);
    } else {
        c[4] = _mm256_blend_ps(_mm256_permutevar8x32_ps(c[0], next), x4, 0x88);
        c[5] = _mm256_blend_ps(_mm256_permutevar8x32_ps(c[1], next), x5, 0x88);
    }
}

/* Columns 0 .. 5 of the patches of 8 consecutive tiles in one input row: p points at
 * the row's column q (the first patch's first column; it may be negative), sp the span
 * of q in the row (wino4_span_of, len 32); zeros outside the row. c[j] lane k = column q + 4k + j. */
static OCT__W_AVX2 inline __attribute__((always_inline)) void wino4_cols8(const float *p, const wino4_span *sp,
                                                                          __m256 c[6])
{
    __m256 v0, v1, v2, v3;
    float x0, x1;
    if (sp->whole) {
        v0 = _mm256_loadu_ps(p), v1 = _mm256_loadu_ps(p + 8), v2 = _mm256_loadu_ps(p + 16);
        v3 = _mm256_loadu_ps(p + 24);
        x0 = p[32], x1 = p[33];
    } else { /* p may point before the row: masked */
        v0 = sp->full[0] ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, sp->m[0]);
        v1 = sp->full[1] ? _mm256_loadu_ps(p + 8) : _mm256_maskload_ps(p + 8, sp->m[1]);
        v2 = sp->full[2] ? _mm256_loadu_ps(p + 16) : _mm256_maskload_ps(p + 16, sp->m[2]);
        v3 = sp->full[3] ? _mm256_loadu_ps(p + 24) : _mm256_maskload_ps(p + 24, sp->m[3]);
        x0 = sp->x0 ? p[32] : 0.0f;
        x1 = sp->x1 ? p[33] : 0.0f;
    }
    wino4_transpose8(v0, v1, v2, v3, _mm256_set1_ps(x0), _mm256_set1_ps(x1), 0x80, c);
}

/* The column stage of wino4_in_rows for 8 tiles and its stores: from the row stage w,
 * v[e * vs + k] for the tiles' elements e, all 8 lanes when `whole`, else lanes [0, n)
 * (AMD's masked stores are slow: see wino_in_seg_256). */
static OCT__W_AVX2 inline __attribute__((always_inline)) void wino4_in_cols_256(const __m256 w[6][6], float *v,
                                                                                size_t vs, int whole, int n)
{
    __m256i st = oct__lanes8(0, n);
    for (int j = 0; j < 6; j++) {
        __m256 d[6] = {w[0][j], w[1][j], w[2][j], w[3][j], w[4][j], w[5][j]}, r[6];
        W4_IN(__m256, W4_VADD, W4_VSUB, W4_VFMA, W4_VFNMA, d, r);
        for (int i = 0; i < 6; i++) {
            float *p = v + (size_t)(6 * i + j) * vs;
            if (whole)
                _mm256_storeu_ps(p, r[i]);
            else
                _mm256_maskstore_ps(p, st, r[i]);
        }
    }
}

/* The row stage of input row iy (plane: channel c's) for 8 tiles whose first patch
 * starts at column q (sp its span): w[j] lane k = column j of tile k's patch row, after
 * B^T; zeros for a row outside the image. */
static OCT__W_AVX2 inline __attribute__((always_inline)) void wino4_in_row_256(const struct oct__wino_conv_s *cv,
                                                                               const float *plane, int iy, int q,
                                                                               const wino4_span *sp, __m256 w[6])
{
    if (iy < 0 || iy >= cv->h) { /* the transform of zeros: zeros */
        for (int j = 0; j < 6; j++) w[j] = _mm256_setzero_ps();
        return;
    }
    __m256 d[6];
    wino4_cols8(plane + (size_t)iy * cv->w + q, sp, d);
    W4_IN(__m256, W4_VADD, W4_VSUB, W4_VFMA, W4_VFNMA, d, w);
}

/* wino4_in_rows for AVX2, straight from the image: `len` tiles of tile row ty from tile
 * tx, channel c of image b, 8 tiles a vector; short groups stored as wino_in_seg_256's. */
static OCT__W_AVX2 void wino4_in_seg_256(const struct oct__wino_conv_s *cv, int b, int ty, int tx, int len, int c,
                                         float *v, size_t vs, size_t room)
{
    int y0 = 4 * ty - cv->pad;
    const float *plane = wino_plane(cv, b, c);
    for (int g = 0; g < len; g += 8) {
        int q = 4 * (tx + g) - cv->pad; /* input column of the first tile's patch */
        __m256 w[6][6];
        wino4_span sp;
        wino4_span_of(q, cv->w, 32, &sp);
        for (int i = 0; i < 6; i++) wino4_in_row_256(cv, plane, y0 + i, q, &sp, w[i]);
        wino4_in_cols_256(w, v + g, vs, len - g >= 8 || (size_t)g + 8 <= room, len - g);
    }
}

/* wino4_in_seg_256 over `rows` whole tile rows from ty (tx = 0, tw tiles each) of image
 * b, channel c: tile (ty + r, g) at v + r tw + g. Patch rows 4 and 5 of a tile row are
 * rows 0 and 1 of the next one's, so their row stage is carried down, not redone: 4 of
 * its 6 rows a tile row after the first (the same sums: the same bits). The groups of 8
 * tiles run from the row's right end, so that a short group's extra lanes (stored whole
 * where `room`, the floats from v on that may be written, allows) land on the next
 * row's first tiles, which are written after them. Old and new library alternated by
 * process, one thread, batch 1, AMD EPYC Zen 3 (AVX2), minima: ten 32 -> 32 3x3 layers
 * at 32x32 0.952 -> 0.905 ms, at 28x28 1.015 -> 0.972, at 56x56 3.260 -> 3.171;
 * OctNetMini alpha 0.5 0.834 -> 0.821 (two threads 0.466 -> 0.464); Oct-ResNet-50 alpha
 * 0.5 within the noise (two threads 26.14 -> 25.87 ms, one 47.28 -> 47.42). */
static OCT__W_AVX2 void wino4_in_run_256(const struct oct__wino_conv_s *cv, int b, int ty, int rows, int tw, int c,
                                         float *v, size_t vs, size_t room)
{
    const float *plane = wino_plane(cv, b, c);
    for (int g = (tw - 1) / 8 * 8; g >= 0; g -= 8) {
        int q = 4 * g - cv->pad, len = tw - g < 8 ? tw - g : 8;
        __m256 w[6][6];
        wino4_span sp;
        wino4_span_of(q, cv->w, 32, &sp);
        for (int r = 0; r < rows; r++) {
            int y0 = 4 * (ty + r) - cv->pad, i0 = 0;
            if (r > 0) { /* rows 4, 5 of the tile row above */
                for (int j = 0; j < 6; j++) w[0][j] = w[4][j], w[1][j] = w[5][j];
                i0 = 2;
            }
            for (int i = i0; i < 6; i++) wino4_in_row_256(cv, plane, y0 + i, q, &sp, w[i]);
            size_t k = (size_t)r * (size_t)tw + (size_t)g;
            wino4_in_cols_256(w, v + k, vs, len == 8 || k + 8 <= room, len);
        }
    }
}

/* The 4 tiles' 16 + 2 patch columns of input row iy of channel c (plane), from column
 * -pad on (sp: wino4_span_of(-pad, w, 16); v its two vectors, x the floats 16 and 17
 * on): zeros for a row outside the image or a column outside the row. */
static OCT__W_AVX2 inline __attribute__((always_inline)) void wino4_row4(const struct oct__wino_conv_s *cv,
                                                                         const float *plane, int iy,
                                                                         const wino4_span *sp, __m256 v[2], float x[2])
{
    if (iy < 0 || iy >= cv->h) {
        v[0] = v[1] = _mm256_setzero_ps();
        x[0] = x[1] = 0.0f;
        return;
    }
    const float *p = plane + (size_t)iy * cv->w - cv->pad; /* may point before the row: masked */
    if (sp->whole) {
        v[0] = _mm256_loadu_ps(p), v[1] = _mm256_loadu_ps(p + 8);
        x[0] = p[16], x[1] = p[17];
    } else {
        v[0] = sp->full[0] ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, sp->m[0]);
        v[1] = sp->full[1] ? _mm256_loadu_ps(p + 8) : _mm256_maskload_ps(p + 8, sp->m[1]);
        x[0] = sp->x0 ? p[16] : 0.0f;
        x[1] = sp->x1 ? p[17] : 0.0f;
    }
}

/* wino4_in_seg_256 for two whole tile rows of 4 tiles (13- to 16-wide outputs: 14x14
 * planes), ty and ty + 1 of image b, channel c: row ty's tiles in lanes 0-3, row ty + 1's
 * in lanes 4-7, v[e * vs + k] for k = 0..7. Each patch row of the two is loaded as the
 * two halves of one group of 8 tiles (the same transposition as wino4_cols8's). Until
 * 2026-12-06 each was gathered as a group of 8 of its own, half of it unused, and the
 * halves joined: twice the shuffles, and `perf` put this transform at 23% of the samples
 * of ten 64 -> 64 layers at 16x16 (the GEMM 33%), now 10%. Old and new library
 * alternated, minima, AMD EPYC Zen 4: those ten layers at batch 32 22.12 -> 19.67 ms on
 * one thread, 10.51 -> 9.71 on two; at batch 8, two threads, 64 -> 64 and 32 -> 32 at
 * 16x16 0.955x, 128 -> 128 at 14x14 0.98x; OctNetMini (16x16 low bands) alpha 0.25 /
 * 0.5 / 0.75 0.989 / 0.972 / 0.993x at batch 1 and 0.994 / 0.991 / 0.989x at batch 32
 * (alpha 0 1.00x); Oct-ResNet-50 at batch 1 alpha 0.5 0.995x, alpha 0 1.00x. The lanes
 * hold the same values either way, so the same bits. */
static OCT__W_AVX2 void wino4_in_rows2_256(const struct oct__wino_conv_s *cv, int b, int ty, int c, float *v, size_t vs)
{
    int y0 = 4 * ty - cv->pad;
    const float *plane = wino_plane(cv, b, c);
    __m256 w[6][6];
    wino4_span sp;
    wino4_span_of(-cv->pad, cv->w, 16, &sp);
    for (int i = 0; i < 6; i++) {
        __m256 lo[2], hi[2], d[6];
        float xl[2], xh[2];
        wino4_row4(cv, plane, y0 + i, &sp, lo, xl);
        wino4_row4(cv, plane, y0 + 4 + i, &sp, hi, xh); /* row ty + 1's patch row i */
        __m256 x4 = _mm256_insertf128_ps(_mm256_set1_ps(xl[0]), _mm_set1_ps(xh[0]), 1);
        __m256 x5 = _mm256_insertf128_ps(_mm256_set1_ps(xl[1]), _mm_set1_ps(xh[1]), 1);
        wino4_transpose8(lo[0], lo[1], hi[0], hi[1], x4, x5, 0x88, d);
        W4_IN(__m256, W4_VADD, W4_VSUB, W4_VFMA, W4_VFNMA, d, w[i]);
    }
    wino4_in_cols_256(w, v, vs, 1, 8);
}

/* The first (column) stage of wino4_out_rows for 8 tiles: s[i][j] = row i of A^T over
 * column j of their 6x6 elements, m[e * ms + k] element e of tile k (lanes past the
 * tiles there are not used).
 *   The 36 rows are walked, column j's six from m + j ms in steps of 6 ms, and the empty
 * asm keeps gcc from making all 36 addresses up front: it did, and spilled them to the
 * stack on every call of wino4_out_seg_256 (183 stack references in it, 77 now), whose
 * calls each transform only 8 tiles of one channel. The same loads and sums, so the same
 * bits. Old and new library alternated by process, 12-25 pairs, two threads, AMD EPYC
 * Zen 3 (AVX2), median of the pairs' ratios: ten 64 -> 64 3x3 layers at 32x32 0.964x
 * the time, OctNetMini batch 1 alpha 0 0.976x, alpha 0.5 0.971x, batch 32 alpha 0.75
 * 0.986x, Oct-ResNet-50 batch 1 alpha 0.5 0.987x, alpha 0 0.971x (minima 0.998x). */
static OCT__W_AVX2 inline __attribute__((always_inline)) void wino4_out_cols_256(const float *m, size_t ms,
                                                                                 __m256 s[4][6])
{
    const size_t s6 = 6 * ms;
    for (int j = 0; j < 6; j++) {
        __m256 e[6], t[4];
        const float *q = m;
        for (int i = 0; i < 6; i++, q += s6) e[i] = _mm256_loadu_ps(q);
        W4_OUT(__m256, W4_VADD, W4_VSUB, W4_VFMA, W4_VFNMA, e, t);
        for (int i = 0; i < 4; i++) s[i][j] = t[i];
        m += ms;
        __asm__("" : "+r"(m));
    }
}

/* Output row i of 8 tiles, from their row stage s[i], as 32 floats along the row: r[0] =
 * tiles 0 | 1, r[1] = 2 | 3, r[2] = 4 | 5, r[3] = 6 | 7 (4 outputs each). */
static OCT__W_AVX2 inline __attribute__((always_inline)) void wino4_out_row_256(const __m256 s[6], __m256 r[4])
{
    __m256 t[4];
    W4_OUT(__m256, W4_VADD, W4_VSUB, W4_VFMA, W4_VFNMA, s, t);
    /* t[x] lane k = output x of tile k: to tiles 0 | 1, 2 | 3, 4 | 5, 6 | 7 */
    __m256 a = _mm256_unpacklo_ps(t[0], t[1]), bb = _mm256_unpackhi_ps(t[0], t[1]);
    __m256 c = _mm256_unpacklo_ps(t[2], t[3]), d = _mm256_unpackhi_ps(t[2], t[3]);
    __m256 e0 = _mm256_shuffle_ps(a, c, _MM_SHUFFLE(1, 0, 1, 0)), e1 = _mm256_shuffle_ps(a, c, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 e2 = _mm256_shuffle_ps(bb, d, _MM_SHUFFLE(1, 0, 1, 0)), e3 = _mm256_shuffle_ps(bb, d, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(e0, e1, 0x20), r[1] = _mm256_permute2f128_ps(e2, e3, 0x20);
    r[2] = _mm256_permute2f128_ps(e0, e1, 0x31), r[3] = _mm256_permute2f128_ps(e2, e3, 0x31);
}

/* The epilogue of wino4_store_256 as bits of one constant (W4_GENERAL: read from cv). */
enum { W4_RELU = 1, W4_UP = 2, W4_FULL = 4, W4_GENERAL = 8 };

/* Output row oy of channel o, image b, columns [x0, x0 + cols) from r[0 ..] (8 floats
 * each, cols <= 8 nv): + bias, + the old value (cv->accumulate), + up's pixel (oy / 2,
 * x / 2) (cv->up), the ReLU (cv->relu), stored. f: W4_GENERAL, or no accumulation, the
 * ReLU where W4_RELU, cv->up where W4_UP; W4_FULL where cols = 8 nv. */
static OCT__W_AVX2 inline __attribute__((always_inline)) void wino4_store_256(const struct oct__wino_conv_s *cv,
                                                                              int b, int o, int oy, int x0, int cols,
                                                                              __m256 bias, const __m256 *r, int nv,
                                                                              const int f)
{
    const __m256 zero = _mm256_setzero_ps();
    const __m256i dlo = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3), dhi = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
    const int general = f & W4_GENERAL, acc = general && cv->accumulate;
    const int relu = general ? cv->relu : f & W4_RELU;
    __m256 u[4] = {zero, zero, zero, zero};
    const float *up = general || (f & W4_UP) ? wino_up_px(cv, b, o, oy, x0) : NULL;
    if (up) {
        /* up pixels left in the row; masked loads only past its end: AMD's masked
         * loads held up the lane permutes after them (`perf`: a fifth of this store's
         * samples). OctNetMini alpha 0.5, batch 32, one thread, AMD EPYC Zen 3, old and
         * new library alternated, per-layer minima: its two 32x32 H->H layers 15.41 ->
         * 14.93 ms. The same floats loaded: the same bits. */
        int n = cv->wo / 2 - x0 / 2;
        __m256 ua = n >= 8 ? _mm256_loadu_ps(up) : _mm256_maskload_ps(up, oct__lanes8(0, n));
        u[0] = _mm256_permutevar8x32_ps(ua, dlo), u[1] = _mm256_permutevar8x32_ps(ua, dhi);
        if (nv > 2) { /* (nv is a constant where this is inlined) */
            __m256 ub = n >= 16 ? _mm256_loadu_ps(up + 8) : _mm256_maskload_ps(up + 8, oct__lanes8(0, n - 8));
            u[2] = _mm256_permutevar8x32_ps(ub, dlo), u[3] = _mm256_permutevar8x32_ps(ub, dhi);
        }
    }
    float *yp = cv->y + (size_t)b * cv->ys + ((size_t)o * cv->ho + (size_t)oy) * cv->wo + x0;
    for (int k = 0; k < nv && 8 * k < cols; k++) {
        int n = f & W4_FULL ? 8 : cols - 8 * k;
        __m256i mk = oct__lanes8(0, n);
        __m256 v = _mm256_add_ps(r[k], bias);
        if (acc) v = _mm256_add_ps(v, n >= 8 ? _mm256_loadu_ps(yp + 8 * k) : _mm256_maskload_ps(yp + 8 * k, mk));
        if (up) v = _mm256_add_ps(v, u[k]);
        if (relu) v = _mm256_max_ps(zero, v); /* as wino_out_seg_512 */
        if (n >= 8)
            _mm256_storeu_ps(yp + 8 * k, v);
        else if (n == 4) /* a 28x28 plane's row ends in 4: one plain store, not a masked
                          * one (AMD's are slow, see wino_in_seg_256). Ten-layer chains,
                          * old and new library alternated, AMD EPYC Zen 4: 32 -> 32 and 64
                          * -> 64 at 28x28 0.95 / 0.97x (one thread, batch 8), 0.97 /
                          * 0.99x (two, batch 1). A helper storing any 1-7 floats that way,
                          * inlined here, cost whole rows their registers (OctNetMini, no
                          * partial row at all, 1.03x slower); called, within the noise. */
            _mm_storeu_ps(yp + 8 * k, _mm256_castps256_ps128(v));
        else
            _mm256_maskstore_ps(yp + 8 * k, mk, v);
    }
}

/* wino4_out_rows and the stores for AVX2: `len` tiles of tile row ty from tx, image b,
 * output channel o (bias bv), 8 tiles (32 outputs of each row) a step; with cv->up,
 * output (y, x) takes up's pixel (y / 2, x / 2). f: wino4_store_256's, but W4_FULL. */
static OCT__W_AVX2 inline __attribute__((always_inline)) void wino4_out_seg_body(const struct oct__wino_conv_s *cv,
                                                                                 int b, int ty, int tx, int len, int o,
                                                                                 float bv, const float *m, size_t ms,
                                                                                 const int f)
{
    const __m256 bias = _mm256_set1_ps(bv);
    int rows = cv->ho - 4 * ty < 4 ? cv->ho - 4 * ty : 4;
    for (int g = 0; g < len; g += 8) {
        __m256 s[4][6], r[4];
        wino4_out_cols_256(m + g, ms, s); /* past len: unused lanes */
        int x0 = 4 * (tx + g), cols = cv->wo - x0 < 4 * (len - g) ? cv->wo - x0 : 4 * (len - g);
        for (int i = 0; i < rows; i++) {
            wino4_out_row_256(s[i], r);
            if (cols == 32)
                wino4_store_256(cv, b, o, 4 * ty + i, x0, cols, bias, r, 4, f | W4_FULL);
            else
                wino4_store_256(cv, b, o, 4 * ty + i, x0, cols, bias, r, 4, f);
        }
    }
}

/* wino4_store_256's f for cv: its epilogue as constants in the common cases. Read from
 * cv in the stores, the flags were loaded again for every vector stored (the stores may
 * alias cv) and tested. `callgrind`, ten 64 -> 64 3x3 layers at 32x32 with the ReLU,
 * batch 8: 751 -> 503 instructions a call of wino4_out_seg_256 (8 tiles, 16 rows of 8
 * outputs); old and new library alternated by process, one thread, AMD EPYC Zen 3,
 * minima of 6 rounds: those layers 21.79 -> 21.42 ms, ten 32 -> 32 at 56x56 24.17 ->
 * 23.58, ten 128 -> 128 at 14x14 20.92 -> 20.55; OctNetMini batch 32 alpha 0.5 0.982x
 * (layer minima), alpha 0 1.006x. The same operations in the same order: the same bits
 * (the transforms test runs each pair of flags against the plain transforms). */
static int wino4_store_flags(const struct oct__wino_conv_s *cv)
{
    return cv->accumulate ? W4_GENERAL : (cv->relu ? W4_RELU : 0) | (cv->up ? W4_UP : 0);
}

/* CALL(f) with cv's f (wino4_store_flags) as a constant in each case. */
#define W4_STORE_SWITCH(cv, CALL)                                                                          \
    do {                                                                                                   \
        switch (wino4_store_flags(cv)) {                                                                   \
        case 0: CALL(0); break;                                                                            \
        case W4_RELU: CALL(W4_RELU); break;                                                                \
        case W4_UP: CALL(W4_UP); break;                                                                    \
        case W4_RELU | W4_UP: CALL(W4_RELU | W4_UP); break;                                                \
        default: CALL(W4_GENERAL); break;                                                                  \
        }                                                                                                  \
    } while (0)

/* wino4_out_seg_body, its f a constant. */
static OCT__W_AVX2 void wino4_out_seg_256(const struct oct__wino_conv_s *cv, int b, int ty, int tx, int len, int o,
                                          float bv, const float *m, size_t ms)
{
#define W4_SEG(f) wino4_out_seg_body(cv, b, ty, tx, len, o, bv, m, ms, f)
    W4_STORE_SWITCH(cv, W4_SEG);
#undef W4_SEG
}

/* wino4_out_seg_256 for the two whole tile rows of wino4_in_rows2_256 (tiles 0-3 of row
 * ty, then of row ty + 1, in lanes 0-7): each output row of the 8 tiles is a row of ty
 * (r[0], r[1]) and one of ty + 1 (r[2], r[3]). f: wino4_store_256's. */
static OCT__W_AVX2 inline __attribute__((always_inline)) void wino4_out_rows2_body(const struct oct__wino_conv_s *cv,
                                                                                   int b, int ty, int o, float bv,
                                                                                   const float *m, size_t ms,
                                                                                   const int f)
{
    const __m256 bias = _mm256_set1_ps(bv);
    int cols = cv->wo < 16 ? cv->wo : 16;
    __m256 s[4][6], r[4];
    wino4_out_cols_256(m, ms, s);
    for (int i = 0; i < 4; i++) {
        wino4_out_row_256(s[i], r);
        wino4_store_256(cv, b, o, 4 * ty + i, 0, cols, bias, r, 2, f);
        if (4 * ty + 4 + i < cv->ho) wino4_store_256(cv, b, o, 4 * ty + 4 + i, 0, cols, bias, r + 2, 2, f);
    }
}

static OCT__W_AVX2 void wino4_out_rows2_256(const struct oct__wino_conv_s *cv, int b, int ty, int o, float bv,
                                            const float *m, size_t ms)
{
#define W4_ROWS2(f) wino4_out_rows2_body(cv, b, ty, o, bv, m, ms, f)
    W4_STORE_SWITCH(cv, W4_ROWS2);
#undef W4_ROWS2
}
#endif

/* Whether the tiles from t (tile tx of its row) on start two whole tile rows of 4 tiles
 * of one image, both before t1: what wino4_in_rows2_256 and wino4_out_rows2_256 take
 * (per: tiles an image, tw: a row). Two rows a vector, against one (half the lanes
 * idle), on an AMD EPYC Zen 4, two threads, both ways in one process, passes alternated,
 * the same bits: Oct-ResNet-50 alpha 0's 14x14 3x3 layers 2.94 -> 2.70 ms at batch 1;
 * OctNetMini alpha 0.5 (16x16 low bands) 0.94x the pass at batches 1 and 8, its
 * low-band layers 0.82-0.89x. (Alpha 0.5's 14x14 layers of 64-128 channels stay on
 * F(2x2): F(4x4) there read 1.05x / 1.00x the pass at batch 1 / 8 with this.) */
#ifdef OCT__W_HAVE_256
static int wino4_rows2(int tw, int tx, size_t t, size_t t1, size_t per)
{
    return tw == 4 && tx == 0 && t + 8 <= t1 && t % per + 8 <= per;
}
#endif

/* oct__wino_input for F(4x4): segment by segment, channel by channel (the AVX2 order of
 * wino_in_256, whose short groups' extra lanes land on floats written later or never). */
static void wino4_input(const oct__wino_conv *cv, size_t t0, size_t t1, int c0, int c1, float *v, float *work,
                        int simd)
{
    int tw = (cv->wo + 3) / 4, th = (cv->ho + 3) / 4, ci = cv->c1 + cv->c2;
    size_t tb = t1 - t0, per = oct__wino_tiles(4, cv->ho, cv->wo), vs = wino_plane_stride((size_t)ci * tb);
    size_t row = wino_row_floats(cv, tb);
    float *r[6];
    for (int i = 0; i < 6; i++) r[i] = work + (size_t)i * row;
    for (int c = c0; c < c1; c++) {
        size_t after = c + 1 < c1 ? tb : c1 == ci ? 16 : 0; /* floats past the row that may be written */
        for (size_t t = t0; t < t1;) {
            int b, ty, tx, len = wino_segment(t, t1, per, tw, &b, &ty, &tx);
            size_t k0 = t - t0;
            float *vc = v + (size_t)c * tb + k0;
#ifdef OCT__W_HAVE_256
            if (simd != OCT__WINO_PLAIN && wino4_rows2(tw, tx, t, t1, per)) {
                wino4_in_rows2_256(cv, b, ty, c, vc, vs);
                t += 8;
                continue;
            }
            /* Whole tile rows, two or more, of one image: down each group of 8 tiles. */
            size_t rows = tx == 0 ? (t1 - t) / (size_t)tw : 0;
            if (rows > (size_t)(th - ty)) rows = (size_t)(th - ty); /* this image's rows left */
            if (simd != OCT__WINO_PLAIN && rows >= 2) {
                wino4_in_run_256(cv, b, ty, (int)rows, tw, c, vc, vs, tb - k0 + after);
                t += rows * (size_t)tw;
                continue;
            }
            if (simd != OCT__WINO_PLAIN) {
                wino4_in_seg_256(cv, b, ty, tx, len, c, vc, vs, tb - k0 + after);
                t += (size_t)len;
                continue;
            }
#endif
            (void)simd, (void)after;
            for (int i = 0; i < 6; i++) wino_row(cv, b, c, 4 * ty - cv->pad + i, 4 * tx - cv->pad, 4 * len + 2, r[i]);
            wino4_in_rows(r, len, vc, vs);
            t += (size_t)len;
        }
    }
}


size_t oct__wino_vfloats(const oct__wino_conv *c, size_t tb)
{
    return (size_t)oct__wino_elems(wino_m(c)) * wino_plane_stride((size_t)(c->c1 + c->c2) * tb);
}


void oct__wino_input(const oct__wino_conv *cv, size_t t0, size_t t1, int c0, int c1, float *v, float *work,
                     int simd)
{
    if (wino_m(cv) == 4) {
        wino4_input(cv, t0, t1, c0, c1, v, work, simd);
        return;
    }
    int th = (cv->ho + 1) / 2, tw = (cv->wo + 1) / 2;
    size_t tb = t1 - t0, per = (size_t)th * tw, vs = wino_plane_stride((size_t)(cv->c1 + cv->c2) * tb);
    size_t row = wino_row_floats(cv, tb);
    float *r = work; /* 4 patch rows */
#ifdef OCT__W_HAVE_256
    if (simd == OCT__WINO_AVX2) {
        wino_in_256(cv, t0, t1, c0, c1, v, vs);
        return;
    }
#endif
    /* Segment by segment (consecutive tiles of one tile row). */
    for (size_t t = t0; t < t1;) {
        int b, ty, tx, len = wino_segment(t, t1, per, tw, &b, &ty, &tx);
        size_t k0 = t - t0;
        int n = 2 * len + 2, x0 = 2 * tx - cv->pad;
#ifdef OCT__W_HAVE_512
        if (simd == OCT__WINO_AVX512 && ty == 0 && tx == 0 && t1 - t >= 16 && wino_img16(cv)) {
            wino_in_img16_512(cv, b, c0, c1, v + k0, vs, tb);
            t += 16;
            continue;
        }
        if (simd == OCT__WINO_AVX512) {
            wino_in_seg_512(cv, b, ty, tx, len, c0, c1, v + k0, vs, tb);
            t += (size_t)len;
            continue;
        }
#endif
        for (int c = c0; c < c1; c++) {
            for (int i = 0; i < 4; i++) wino_row(cv, b, c, 2 * ty - cv->pad + i, x0, n, r + (size_t)i * row);
            float *vc = v + (size_t)c * tb + k0;
            wino_in_rows(r, r + row, r + 2 * row, r + 3 * row, len, vc, vs);
        }
        t += (size_t)len;
    }
}

/* The vector output transform and stores of one segment (wino_segment) of channel o,
 * at transform level simd, where tile m has one: 1 when it ran, 0 for the plain code. */
static int wino_out_seg_vec(const oct__wino_conv *cv, int b, int ty, int tx, int len, int o, float bias,
                            const float *mk, size_t ms, int simd)
{
    int m = wino_m(cv);
#ifdef OCT__W_HAVE_256
    if (m == 4 && simd != OCT__WINO_PLAIN) { /* AVX-512 too: F(4x4) has AVX2 transforms only */
        wino4_out_seg_256(cv, b, ty, tx, len, o, bias, mk, ms);
        return 1;
    }
    if (m == 2 && simd == OCT__WINO_AVX512) {
        wino_out_seg_512(cv, b, ty, tx, len, o, bias, mk, ms);
        return 1;
    }
    if (m == 2 && simd == OCT__WINO_AVX2) {
        wino_out_seg_256(cv, b, ty, tx, len, o, bias, mk, ms);
        return 1;
    }
#endif
    (void)cv, (void)b, (void)ty, (void)tx, (void)len, (void)o, (void)bias, (void)mk, (void)ms, (void)simd, (void)m;
    return 0;
}

void oct__wino_output(const oct__wino_conv *cv, size_t t0, size_t t1, int o0, int o1, const float *v, float *work,
                      int simd)
{
    int ci = cv->c1 + cv->c2, cog = o1 - o0, mt = wino_m(cv), tw = (cv->wo + mt - 1) / mt;
    size_t tb = t1 - t0, per = oct__wino_tiles(mt, cv->ho, cv->wo), row = wino_row_floats(cv, tb);
    if (tb == 0 || cog <= 0) return;
    size_t vs = wino_plane_stride((size_t)(cv->vc ? cv->vc : ci) * tb), ms = wino_plane_stride((size_t)cog * tb);
    v += (size_t)cv->vc0 * tb;
    int ne = oct__wino_elems(mt);
    float *m = work;                            /* ne planes (cog, tb), ms apart */
    float *r[4];                                /* mt output rows (plain transforms) */
    for (int i = 0; i < mt; i++) r[i] = m + (size_t)ne * ms + (size_t)i * row;
    /* M[e] (cog, tb) = U[e] rows [o0, o1) (co, ci; packed) V[e] (ci, tb). */
    size_t us = oct__sgemm_apack_floats(cv->isa, cv->co, ci);
    for (int e = 0; e < ne; e++)
        oct__sgemm_apacked(cv->isa, o0, o1, cv->co, (int)tb, ci, cv->u + (size_t)e * us, v + (size_t)e * vs, (int)tb,
                           m + (size_t)e * ms, (int)tb, 0);
    /* Output transform and store. */
    size_t hwo = (size_t)cv->ho * cv->wo;
    for (int o = 0; o < cog; o++) {
        float bias = cv->bias ? cv->bias[o0 + o] : 0.0f;
        for (size_t t = t0; t < t1;) {
            int b, ty, tx, len = wino_segment(t, t1, per, tw, &b, &ty, &tx);
            const float *mk = m + (size_t)o * tb + (t - t0);
#ifdef OCT__W_HAVE_256
            if (mt == 4 && simd != OCT__WINO_PLAIN && wino4_rows2(tw, tx, t, t1, per)) {
                wino4_out_rows2_256(cv, b, ty, o0 + o, bias, mk, ms);
                t += 8;
                continue;
            }
#endif
#ifdef OCT__W_HAVE_512
            if (mt == 2 && simd == OCT__WINO_AVX512 && ty == 0 && tx == 0 && t1 - t >= 16 && wino_img16(cv)) {
                wino_out_img16_512(cv, b, o0 + o, bias, mk, ms);
                t += 16;
                continue;
            }
#endif
#ifdef OCT__W_HAVE_256
            if (mt == 2 && simd == OCT__WINO_AVX2 && (ty & 1) == 0 && tx == 0 && t1 - t >= 8 && wino_img16(cv)) {
                wino_out_img8_256(cv, b, ty / 2, o0 + o, bias, mk, ms);
                t += 8;
                continue;
            }
#endif
            t += (size_t)len;
            if (wino_out_seg_vec(cv, b, ty, tx, len, o0 + o, bias, mk, ms, simd)) continue;
            if (mt == 4)
                wino4_out_rows(mk, ms, len, r);
            else
                wino_out_rows(mk, ms, len, r[0], r[1]);
            int oy = mt * ty, ox = mt * tx, cols = mt * len < cv->wo - ox ? mt * len : cv->wo - ox;
            float *yp = cv->y + (size_t)b * cv->ys + (size_t)(o0 + o) * hwo + (size_t)oy * cv->wo + ox;
            for (int i = 0; i < mt && oy + i < cv->ho; i++)
                wino_store_row(yp + (size_t)i * cv->wo, r[i], cols, bias, cv->accumulate, cv->relu,
                               wino_up_px(cv, b, o0 + o, oy + i, ox));
        }
    }
}

void oct__wino_run(const oct__wino_conv *cv, size_t t0, size_t t1, int o0, int o1, float *scratch, int simd)
{
    size_t vf = oct__wino_vfloats(cv, t1 - t0);
    if (t1 <= t0 || o1 <= o0) return;
    oct__wino_input(cv, t0, t1, 0, cv->c1 + cv->c2, scratch, scratch + vf, simd);
    oct__wino_output(cv, t0, t1, o0, o1, scratch, scratch + vf, simd);
}
