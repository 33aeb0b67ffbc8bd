/* convpack.h — the CPU backend's implicit im2col: the B panels of a convolution's GEMM
 * (gemm.h, oct__sgemm_apacked_src) made straight from the input image, so that neither
 * an im2col matrix nor a second copy of it (the GEMM's own packing) is written. B' is the
 * im2col matrix of output rows from oy0 on: row (c, ky, kx), column (oy - oy0) wo + ox,
 * value x[c][oy s - pad + ky][ox s - pad + kx] (0 outside the image). What a strided
 * convolution (ResNet's 7x7 stride-2 stem) runs on when the direct kernel cannot take it.
 */
#ifndef OCT_CONVPACK_H
#define OCT_CONVPACK_H

#include <stddef.h>

typedef struct {
    const float *x; /* one image (ci, h, w), channel planes h w apart */
    int ci, h, w;
    int k, s, pad;  /* square kernel, stride, padding on every side */
    int wo;         /* output row width */
    int oy0;        /* output row of column 0 */
    int isa;        /* gemm.h's OCT__GEMM_*: AVX-512F or AVX2 loads for strides 1 and 2 (the
                     * caller checked the CPU has it), else (OCT__GEMM_SCALAR) the plain loop */
} oct__convpack;

/* The pack callback of oct__gemm_bsrc; ctx is an oct__convpack. */
void oct__convpack_b(const void *ctx, int p0, int kc, int j0, int nc, int nr, float *dst);

#endif /* OCT_CONVPACK_H */
