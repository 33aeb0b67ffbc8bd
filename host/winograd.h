/* winograd.h — 3x3 stride-1 convolution by Winograd's minimal filtering F(m x m, 3x3)
 * (Lavin & Gray 2016) for the CPU backend, m = 2 or 4: each m x m block of outputs
 * ("tile") of each output channel is A^T [ sum_c (G g_oc G^T) . (B^T d_c B) ] A, where d_c
 * is the (m + 2) x (m + 2) input patch under the tile. The sums over c are (m + 2)^2 GEMMs
 * (one per element of the transformed domain) over a block of tiles, run by oct__sgemm
 * (gemm.c): F(2x2) does 16 ci co MACs per tile of 4 outputs where the direct convolution
 * does 36 ci co (2.25x fewer), F(4x4) 36 per tile of 16 outputs where the direct one does
 * 144 (4x fewer). F(2x2)'s transforms use only 0, +-1 and +-1/2; F(4x4)'s larger
 * coefficients let rounding grow by a larger constant factor (both derived in winograd.c).
 * Threads are the caller's: oct__wino_run does one block of tiles for a range of output
 * channels on the calling thread.
 */
#ifndef OCT_WINOGRAD_H
#define OCT_WINOGRAD_H

#include <stddef.h>

/* Elements of F(2x2, 3x3)'s transformed 4x4 domain; oct__wino_elems(m) for either. */
#define OCT__WINO_E 16
int oct__wino_elems(int m);

/* One convolution: y (n, co, ho, wo) (=|+=) conv3x3(x, stride 1, pad) + bias, then ReLU,
 * over the input [x1; x2] stacked along channels (x2 may be absent: c2 = 0). */
typedef struct oct__wino_conv_s {
    const float *x1, *x2; /* image 0 of each input: (c1, h, w), (c2, h, w) */
    size_t xs1, xs2;      /* their image strides (floats) */
    int c1, c2, h, w, pad;
    float *y;             /* image 0 of the output (co, ho, wo) */
    size_t ys;            /* its image stride */
    int co, ho, wo;
    const float *u;       /* transformed weights: oct__wino_weights for kernel isa */
    int isa;              /* the GEMM kernel (gemm.h) u is packed for; o0 of oct__wino_run
                             a multiple of oct__sgemm_mr(isa) */
    const float *bias;    /* (co) or NULL */
    int accumulate, relu;
    /* NULL, or image 0 of a (co, ho / 2, wo / 2) plane (ho, wo even) added nearest-
     * upsampled to each output before the ReLU: y = relu(((sum + bias) + old) + up) */
    const float *up;
    size_t ups;           /* its image stride */
    int m;                /* the tile: 4 for F(4x4, 3x3); 2 (or 0) for F(2x2, 3x3) */
    /* oct__wino_output only: the transformed input v it reads holds vc channels (0: c1 +
     * c2) and this convolution's c1 + c2 start at channel vc0 of them -- a second
     * convolution over one of a pair's inputs, reading the pair's v (x1, x2 unused). */
    int vc, vc0;
} oct__wino_conv;

/* Tiles of one image for tile m (2 or 4): ceil(ho / m) * ceil(wo / m); they are numbered
 * image by image, row by row. */
size_t oct__wino_tiles(int m, int ho, int wo);

/* Transformed weights u of w1 (co, c1, 3, 3) and w2 (co, c2, 3, 3) (w2 NULL when c2 = 0)
 * for tile m: U[e] (co, c1 + c2) with U[e][o][c] = (G g_oc G^T)[e] computed in double,
 * written in place in the packing of oct__sgemm_apacked for kernel isa (gemm.h), one
 * after another (oct__wino_weight_floats(m, ci, co, isa) floats in all). */
size_t oct__wino_weight_floats(int m, int ci, int co, int isa);
void oct__wino_weights(int m, const float *w1, int c1, const float *w2, int c2, int co, int isa, float *u);

/* Floats of scratch oct__wino_run needs for blocks of up to tb tiles and cog output
 * channels: the transformed input of a block (oct__wino_vfloats) then the work space of
 * oct__wino_input / oct__wino_output (oct__wino_work); every region 64-byte aligned when
 * the scratch is. */
size_t oct__wino_scratch(const oct__wino_conv *c, size_t tb, int cog);
size_t oct__wino_vfloats(const oct__wino_conv *c, size_t tb);
size_t oct__wino_work(const oct__wino_conv *c, size_t tb, int cog);

/* The transforms' instructions: plain C, AVX2 (8 tiles a vector) or AVX-512F (16); the
 * caller checks the CPU has them. All three give the same bits: the same additions in
 * the same order, ReLU as v < 0 ? 0 : v (NaN and -0 kept). F(4x4) has plain and AVX2
 * transforms; asked for AVX-512 it runs the AVX2 ones (every AVX-512F CPU has AVX2). */
enum { OCT__WINO_PLAIN = 0, OCT__WINO_AVX2 = 1, OCT__WINO_AVX512 = 2 };

/* Tiles [t0, t1) (over the whole batch) of output channels [o0, o1): transform the input
 * patches, 16 GEMMs, transform back and store with bias, accumulate and ReLU. scratch:
 * oct__wino_scratch(c, t1 - t0, o1 - o0) floats, 64-byte aligned. simd: OCT__WINO_*. */
void oct__wino_run(const oct__wino_conv *c, size_t t0, size_t t1, int o0, int o1, float *scratch, int simd);

/* The two halves of oct__wino_run, for threads that share one block: the input transform
 * of channels [c0, c1) into v (oct__wino_vfloats(c, t1 - t0)); then, once every channel
 * is in v, the GEMMs and output transform of channels [o0, o1). work: oct__wino_work. */
void oct__wino_input(const oct__wino_conv *c, size_t t0, size_t t1, int c0, int c1, float *v, float *work,
                     int simd);
void oct__wino_output(const oct__wino_conv *c, size_t t0, size_t t1, int o0, int o1, const float *v, float *work,
                      int simd);

#endif /* OCT_WINOGRAD_H */
