/* smallconv.h — stride-1 convolutions on small planes (Oct-ResNet-50's 7x7 and 14x14:
 * its last stage and its low bands) with the OUTPUT CHANNELS in the vector lanes.
 *
 * The direct kernel and the 1x1 GEMM put pixels in the lanes: a 7x7 plane is 49 pixels in
 * 64 lanes (77% busy), a 14x14 one 196 in 224 (88%). Here each register tile is a run of
 * mr output pixels times 32 output channels, summed over K = ci k k in order:
 *   C'(pixels, channels) = A'(pixels, K) B'(K, channels)
 * with A' the input under the kernel (gathered per run, zeros where the padding is; read
 * in place for a 1x1 layer without padding, oct__sc_can_in_place) and B'
 * the weights transposed and packed once, so every lane does useful work. The tile is
 * then stored channel by channel (a gather of its mr pixels) with accumulate, bias,
 * residual and ReLU: y = relu(((y + sum) + bias) + res), the float operations of the
 * other paths' epilogue. Each output is one sum over K in (c, ky, kx) order, whatever the
 * batch, the threads or the tile it falls in.
 *
 * Two variants (the caller checks the CPU has the one it asks for). AVX-512: runs of
 * mr = 8 or 7 pixels of one row (mr divides the row width), the gather and the
 * transposing store in AVX-512. AVX2 + FMA: runs of mr = 6 pixels of the plane in row
 * order (a run may span rows; the last may be short: a 7x7 plane is 9 runs, 49 of 54
 * rows busy), gemm.c's 6 x 16 AVX2 kernel on each half of the tile, the gather and the
 * store in plain C. Their kernels sum each output in the same order: the same bits.
 */
#ifndef OCT_SMALLCONV_H
#define OCT_SMALLCONV_H

#include <stddef.h>

#define OCT__SC_NR 32 /* output channels per tile */

typedef struct {
    const float *x1, *x2; /* image 0 of each input: (c1, h, w), (c2, h, w); x2 NULL when c2 = 0 */
    size_t xs1, xs2;      /* their image strides (floats) */
    int c1, c2, h, w;
    int k, pad;           /* square kernel, the same padding on every side, stride 1 */
    float *y;             /* image 0 of the output (co, ho, wo) */
    size_t ys;
    int co, ho, wo;
    const float *res;     /* image 0 of a residual (co, ho, wo) added after the bias, or NULL */
    size_t rs;
    const float *bp;      /* oct__sc_weights */
    const float *bias;    /* (co) or NULL */
    int accumulate, relu;
    int mr;               /* oct__sc_mr(wo, isa) */
    int isa;              /* OCT__GEMM_AVX512 or OCT__GEMM_AVX2 (gemm.h): the variant */
    int in_place;         /* 1: oct__sc_run reads the input in place (oct__sc_can_in_place) */
} oct__sc_conv;

/* Pixels per tile for rows of wo outputs on variant isa: AVX-512 8 or 7 when one divides
 * wo (8 first), AVX2 6; else 0 (the path does not apply). */
int oct__sc_mr(int wo, int isa);
/* Runs of mr pixels in an output plane: ceil(ho wo / mr). */
size_t oct__sc_strips(const oct__sc_conv *c);

/* The weights w1 (co, k1) and w2 (co, k2) (the stacked input's: row o is w1's row o then
 * w2's; w2 NULL when k2 = 0) transposed into strips of 32 output channels with K = k1 +
 * k2 and channels past co zero, for variant isa: each strip (K, 32) on AVX-512, two
 * panels (K, 16) one after the other on AVX2 (each half of the tile then reads its
 * weights in order). oct__sc_weight_floats floats, 64-byte aligned strips when bp is. */
size_t oct__sc_weight_floats(int co, size_t kdim);
void oct__sc_weights(const float *w1, size_t k1, const float *w2, size_t k2, int co, int isa, float *bp);

/* One image's gathered input: oct__sc_strips strips of (K, mr) floats. */
size_t oct__sc_afloats(const oct__sc_conv *c);
/* Strips [s0, s1) of image b into ap (that image's oct__sc_afloats floats). */
void oct__sc_pack(const oct__sc_conv *c, int b, size_t s0, size_t s1, float *ap);
/* Whether oct__sc_run can read the input in place, without oct__sc_pack (the caller then
 * sets in_place): a 1x1 convolution without padding on the AVX-512 variant, where a run
 * of mr pixels is mr floats of each input plane (mr divides the row). The kernel reads
 * those floats where they are, plane after plane: the same values in the same order as
 * from a gathered strip, so the same bits. */
int oct__sc_can_in_place(const oct__sc_conv *c);
/* Output-channel strips [j0, j1) (of 32) of image b from its gathered input ap (unused,
 * and may be NULL, with in_place). */
void oct__sc_run(const oct__sc_conv *c, int b, const float *ap, int j0, int j1);

#endif /* OCT_SMALLCONV_H */
