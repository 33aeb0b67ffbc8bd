/* lanes.h — the 16-lane AVX-512 mask of lanes [lo, hi), clamped to [0, 16], and the
 * 8-lane AVX2 one: what the CPU backend's masked loads and stores use for a run of
 * floats that starts before or ends inside a vector (Winograd's transforms, the
 * channel-lane path's gather, the implicit im2col's panels); and the even and odd
 * floats of two AVX-512 or two AVX2 vectors (stride 2, F(2x2)'s input patches, pools).
 * Included only where <immintrin.h> is (x86-64 with GCC or Clang). */
#ifndef OCT_LANES_H
#define OCT_LANES_H

#include <immintrin.h>

static inline __mmask16 oct__lanes16(int lo, int hi)
{
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* Lanes [lo, hi) of 8 as an AVX2 vector mask (all bits set in those lanes), for
 * _mm256_maskload_ps / _mm256_maskstore_ps; any lo and hi. */
__attribute__((target("avx2"))) static inline __m256i oct__lanes8(int lo, int hi)
{
    const __m256i i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(lo), i),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), i));
}

/* Lanes 0, 2, .., 30 (oct__odd16: 1, 3, .., 31) of the 32 floats a | b: the even (odd)
 * columns of 32 consecutive floats, 16 at a time. */
__attribute__((target("avx512f"), always_inline)) static inline __m512 oct__even16(__m512 a, __m512 b)
{
    return _mm512_permutex2var_ps(a, _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0), b);
}
__attribute__((target("avx512f"), always_inline)) static inline __m512 oct__odd16(__m512 a, __m512 b)
{
    return _mm512_permutex2var_ps(a, _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1), b);
}

/* The 64-bit pairs of v in order: a b | c d (two pairs a 128-bit half) -> a c | b d. What
 * the in-half shuffles and hadd leave out of order: the halves' results interleaved. */
__attribute__((target("avx2"), always_inline)) static inline __m256 oct__pairs_in_order(__m256 v)
{
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8));
}

/* Lanes 0, 2, .., 14 (oct__odd8: 1, 3, .., 15) of the 16 floats a | b: a shuffle within
 * each 128-bit half gives a0 a2 b0 b2 | a4 a6 b4 b6, then the pairs put in order. */
__attribute__((target("avx2"), always_inline)) static inline __m256 oct__even8(__m256 a, __m256 b)
{
    return oct__pairs_in_order(_mm256_shuffle_ps(a, b, 0x88));
}
__attribute__((target("avx2"), always_inline)) static inline __m256 oct__odd8(__m256 a, __m256 b)
{
    return oct__pairs_in_order(_mm256_shuffle_ps(a, b, 0xDD));
}

#endif /* OCT_LANES_H */
