/* conv_gemm.cl - convolution as a tiled implicit GEMM, and the weight packing it reads.
 *
 *   y[m, p] (=|+=) sum_r wp[r, m] * col[r, p] + bias[m], then ReLU if asked
 *
 * with m an output channel (M = Co), p an output pixel (b, oy, ox) (P = N * Ho * Wo) and
 * r a row of the im2col matrix, which is never stored: each K step loads an OCT_TK x OCT_TN
 * slice of it from the NCHW input (zero padding, stride) into local memory, beside the
 * OCT_TK x OCT_TM slice of the packed weights. Each work-item keeps an OCT_RM x OCT_RN
 * block of outputs in registers: channels ty * OCT_RM + i and the OCT_RN neighbouring
 * pixels tx * OCT_RN + j as one floatRN vector, so every multiply-add is a vector
 * operation (what a CPU device needs: PoCL does not vectorise across work-items here)
 * and a GPU reads each pixel vector with one wide local-memory load.
 *
 * Rows come in two orders (`flat`), chosen by the host per op:
 *   tap order  (flat = 0): r = (ky * K + kx) * CiP + ci, CiP = Ci rounded up to OCT_TK;
 *              one K step is OCT_TK channels of one tap: one bounds check per step.
 *   flat order (flat = 1): r = (ci * K + ky) * K + kx (PyTorch's), padded to OCT_TK;
 *              wastes nothing when Ci is small (the stem's 3), costs two divisions a load.
 * An op may have two inputs (x1, x2) of the same batch and size, each with its own
 * weights: their rows follow one another (steps1 steps of x1, then those of x2), which
 * is how HL(Down(x_h)) + LL(x_l) becomes one GEMM. A single conv has ci2 = 0.
 * Tile sizes are -D knobs (the host picks them per device). OpenCL C 1.1. */

#ifndef OCT_TM
#define OCT_TM 64 /* output channels per work-group */
#endif
#ifndef OCT_TN
#define OCT_TN 64 /* output pixels per work-group */
#endif
#ifndef OCT_TK
#define OCT_TK 16 /* im2col rows per K step */
#endif
#ifndef OCT_RM
#define OCT_RM 4 /* output channels per work-item */
#endif
#ifndef OCT_RN
#define OCT_RN 4 /* output pixels per work-item */
#endif

#ifndef OCT_WGLOBAL
#define OCT_WGLOBAL 0 /* 1: read the packed weights from global memory, not a local tile
                         (CPU devices: their caches do the tiling, the copy only costs) */
#endif

#define OCT_WX (OCT_TN / OCT_RN) /* work-group size along pixels (dimension 0) */
#define OCT_WY (OCT_TM / OCT_RM) /* along channels (dimension 1) */
#define OCT_WG (OCT_WX * OCT_WY)

#if OCT_RN == 1
#define OCT_VT float
#define OCT_VLOAD(p) (*(p))
#define OCT_VSTORE(v, p) (*(p) = (v))
#elif OCT_RN == 2
#define OCT_VT float2
#define OCT_VLOAD(p) vload2(0, p)
#define OCT_VSTORE(v, p) vstore2(v, 0, p)
#elif OCT_RN == 4
#define OCT_VT float4
#define OCT_VLOAD(p) vload4(0, p)
#define OCT_VSTORE(v, p) vstore4(v, 0, p)
#elif OCT_RN == 8
#define OCT_VT float8
#define OCT_VLOAD(p) vload8(0, p)
#define OCT_VSTORE(v, p) vstore8(v, 0, p)
#elif OCT_RN == 16
#define OCT_VT float16
#define OCT_VLOAD(p) vload16(0, p)
#define OCT_VSTORE(v, p) vstore16(v, 0, p)
#else
#error "OCT_RN must be 1, 2, 4, 8 or 16"
#endif

#if OCT_TN % OCT_RN != 0 || OCT_TM % OCT_RM != 0
#error "OCT_TN and OCT_TM must be multiples of OCT_RN and OCT_RM"
#endif
/* The loaders: with a work-group of at least OCT_TN (OCT_TM) work-items each loads one
 * column, every (OCT_WG / OCT_TN)-th row; with a smaller one, OCT_TN / OCT_WG whole
 * columns. */
#if OCT_WG >= OCT_TN
#if OCT_WG % OCT_TN != 0 || OCT_TK % (OCT_WG / OCT_TN) != 0
#error "OCT_WG must be a multiple of OCT_TN, and OCT_TK of OCT_WG / OCT_TN"
#endif
#define OCT_XCOLS 1
#define OCT_XROW0 (lid / OCT_TN)
#define OCT_XRSTEP (OCT_WG / OCT_TN)
#define OCT_XCOL(j) (lid % OCT_TN)
#else
#if OCT_TN % OCT_WG != 0
#error "OCT_TN must be a multiple of OCT_WG"
#endif
#define OCT_XCOLS (OCT_TN / OCT_WG)
#define OCT_XROW0 0
#define OCT_XRSTEP 1
#define OCT_XCOL(j) (lid + (j) * OCT_WG)
#endif
#if OCT_WG >= OCT_TM
#if OCT_WG % OCT_TM != 0 || OCT_TK % (OCT_WG / OCT_TM) != 0
#error "OCT_WG must be a multiple of OCT_TM, and OCT_TK of OCT_WG / OCT_TM"
#endif
#define OCT_WCOLS 1
#define OCT_WROW0 (lid / OCT_TM)
#define OCT_WRSTEP (OCT_WG / OCT_TM)
#define OCT_WCOL(j) (lid % OCT_TM)
#else
#if OCT_TM % OCT_WG != 0
#error "OCT_TM must be a multiple of OCT_WG"
#endif
#define OCT_WCOLS (OCT_TM / OCT_WG)
#define OCT_WROW0 0
#define OCT_WRSTEP 1
#define OCT_WCOL(j) (lid + (j) * OCT_WG)
#endif

/* wp rows [row0, row0 + rows) (x mp columns) = one input's weights wt (Co, Ci, K, K) in
 * the row order of `flat`, zero past Co and past Ci (so padded rows add nothing).
 * Global size: rows * mp rounded up (1-D). */
__kernel void oct_conv_pack(__global const float *wt, int co, int ci_n, int k, int flat,
                            __global float *wp, int row0, int rows, int mp)
{
    size_t gid = get_global_id(0);
    if (gid >= (size_t)rows * mp) return;
    int r = (int)gid / mp, m = (int)gid % mp;
    int kk = k * k, ci, tap;
    if (flat) {
        ci = r / kk;
        tap = r - ci * kk;
    } else {
        int cip = (ci_n + OCT_TK - 1) / OCT_TK * OCT_TK;
        tap = r / cip;
        ci = r - tap * cip;
    }
    float v = 0.0f;
    if (m < co && ci < ci_n && tap < kk) v = wt[(m * ci_n + ci) * kk + tap];
    wp[(row0 + r) * mp + m] = v;
}

/* y (N, Co, Ho, Wo) (=|+=) conv(x1, w1) [+ conv(x2, w2)] + bias1 [+ bias2], ReLU if asked.
 *   x1 (N, ci1, H, W)  element (b, c, i, j) at x1_off + b * x1_ns + (c * H + i) * W + j
 *   x2 (N, ci2, H, W)  likewise (ci2 = 0: no second input; x2 is then never read)
 *   wp (steps * OCT_TK, mp)  packed by oct_conv_pack, mp = Co rounded up to OCT_TM
 *   bias1, bias2 (Co)  read when nbias >= 1, >= 2
 *   y  (N, Co, Ho, Wo) element (b, c, i, j) at y_off + b * y_ns + (c * Ho + i) * Wo + j
 * Global size: (ceil(P / OCT_TN) * OCT_WX, ceil(Co / OCT_TM) * OCT_WY), local (OCT_WX, OCT_WY). */
__kernel __attribute__((reqd_work_group_size(OCT_WX, OCT_WY, 1)))
void oct_conv2d_gemm(__global const float *x1, int x1_off, int x1_ns, int ci1,
                     __global const float *x2, int x2_off, int x2_ns, int ci2,
                     int h, int w,
                     __global const float *wp, int mp,
                     __global const float *bias1, __global const float *bias2, int nbias,
                     __global float *y, int y_off, int y_ns,
                     int n, int co, int ho, int wo,
                     int k, int stride, int pad, int flat, int steps1, int steps,
                     int accumulate, int relu)
{
#if !OCT_WGLOBAL
    __local float wl[OCT_TK][OCT_TM]; /* weights of this K step, (r, m) */
#endif
    __local float xl[OCT_TK][OCT_TN]; /* im2col slice of this K step, (r, p) */

    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1);
    const int lid = ty * OCT_WX + tx;
    const int p0 = (int)get_group_id(0) * OCT_TN, m0 = (int)get_group_id(1) * OCT_TM;
    const int hwo = ho * wo, npix = n * hwo, hw = h * w, kk = k * k;

    /* The pixel columns this work-item loads into xl: batch offset and window corner
     * (iy0 = INT_MIN / 2 marks a column past the last pixel: every row test fails). */
    int cxb1[OCT_XCOLS], cxb2[OCT_XCOLS], ciy0[OCT_XCOLS], cix0[OCT_XCOLS];
#pragma unroll
    for (int j = 0; j < OCT_XCOLS; j++) {
        int p = p0 + OCT_XCOL(j), pb = 0;
        ciy0[j] = INT_MIN / 2;
        cix0[j] = 0;
        if (p < npix) {
            pb = p / hwo;
            int q = p - pb * hwo;
            int oy = q / wo;
            ciy0[j] = oy * stride - pad;
            cix0[j] = (q - oy * wo) * stride - pad;
        }
        cxb1[j] = x1_off + pb * x1_ns;
        cxb2[j] = x2_off + pb * x2_ns;
    }

    OCT_VT acc[OCT_RM];
#pragma unroll
    for (int i = 0; i < OCT_RM; i++) acc[i] = (OCT_VT)(0.0f);
    /* A work-item whose channels all lie past Co (Co not a multiple of OCT_TM) still
     * loads its share of the tiles and meets every barrier, but multiplies nothing. */
    const int live = m0 + ty * OCT_RM < co;

    for (int s = 0; s < steps; s++) {
        const int second = s >= steps1;
        const int sl = second ? s - steps1 : s;
        const int ci_n = second ? ci2 : ci1;
        __global const float *xs = second ? x2 : x1;

#if OCT_WGLOBAL
        __global const float *wrow = wp + (s * OCT_TK) * mp + m0 + ty * OCT_RM;
#else
#pragma unroll
        for (int j = 0; j < OCT_WCOLS; j++) {
            __global const float *wcol = wp + (s * OCT_TK) * mp + m0 + OCT_WCOL(j);
            for (int r = OCT_WROW0; r < OCT_TK; r += OCT_WRSTEP) wl[r][OCT_WCOL(j)] = wcol[r * mp];
        }
#endif

        if (flat) {
#pragma unroll
            for (int j = 0; j < OCT_XCOLS; j++) {
                int xb = second ? cxb2[j] : cxb1[j];
                for (int r = OCT_XROW0; r < OCT_TK; r += OCT_XRSTEP) {
                    int kidx = sl * OCT_TK + r;
                    int ci = kidx / kk;
                    int t = kidx - ci * kk;
                    int ky = t / k;
                    int iy = ciy0[j] + ky, ix = cix0[j] + (t - ky * k);
                    float v = 0.0f;
                    if (ci < ci_n && iy >= 0 && iy < h && ix >= 0 && ix < w) v = xs[xb + (ci * h + iy) * w + ix];
                    xl[r][OCT_XCOL(j)] = v;
                }
            }
        } else {
            int cch = (ci_n + OCT_TK - 1) / OCT_TK;
            int tap = sl / cch;
            int ci0 = (sl - tap * cch) * OCT_TK;
            int ky = tap / k, kx = tap - ky * k;
#pragma unroll
            for (int j = 0; j < OCT_XCOLS; j++) {
                int iy = ciy0[j] + ky, ix = cix0[j] + kx;
                int ok = iy >= 0 && iy < h && ix >= 0 && ix < w;
                int base = ok ? (second ? cxb2[j] : cxb1[j]) + (ci0 * h + iy) * w + ix : 0;
                for (int r = OCT_XROW0; r < OCT_TK; r += OCT_XRSTEP) {
                    float v = 0.0f;
                    if (ok && ci0 + r < ci_n) v = xs[base + r * hw];
                    xl[r][OCT_XCOL(j)] = v;
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        if (live) {
#pragma unroll
            for (int q = 0; q < OCT_TK; q++) {
                OCT_VT bv = OCT_VLOAD(&xl[q][tx * OCT_RN]);
#if OCT_WGLOBAL
#pragma unroll
                for (int i = 0; i < OCT_RM; i++) acc[i] = OCT_FMA((OCT_VT)(wrow[q * mp + i]), bv, acc[i]);
#else
#pragma unroll
                for (int i = 0; i < OCT_RM; i++) acc[i] = OCT_FMA((OCT_VT)(wl[q][ty * OCT_RM + i]), bv, acc[i]);
#endif
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    /* Epilogue: bias, accumulate, ReLU; rows past Co and pixels past P are not stored. */
    int yb[OCT_RN];
#pragma unroll
    for (int j = 0; j < OCT_RN; j++) {
        int pj = p0 + tx * OCT_RN + j;
        int b = pj / hwo;
        yb[j] = pj < npix ? y_off + b * y_ns + (pj - b * hwo) : -1;
    }
#pragma unroll
    for (int i = 0; i < OCT_RM; i++) {
        int m = m0 + ty * OCT_RM + i;
        if (m >= co) break;
        float bv = nbias >= 1 ? bias1[m] : 0.0f;
        if (nbias >= 2) bv += bias2[m];
        float v[OCT_RN];
        OCT_VSTORE(acc[i], v);
#pragma unroll
        for (int j = 0; j < OCT_RN; j++) {
            if (yb[j] < 0) continue;
            int yi = yb[j] + m * hwo;
            y[yi] = oct_finish(v[j] + bv, y + yi, accumulate, relu);
        }
    }
}
