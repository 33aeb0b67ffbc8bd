/* conv.cl - direct 2-D convolution (PyTorch cross-correlation, zero padding).
 * Each work-item computes one output pixel for 4 output channels, so every input value
 * it loads serves 4 weights. The fallback of the implicit GEMM (conv_gemm.cl): the host
 * runs it for tiny convolutions and where the GEMM's work-group does not fit. */

/* y (=|+=) conv2d(x, wt) + bias, then ReLU if asked.
 *   x  (N, Ci, H, W)   element (b, c, i, j) at x_off + b * x_ns + (c * H + i) * W + j
 *   wt (Co, Ci, K, K)  contiguous
 *   bias (Co)          read only when has_bias
 *   y  (N, Co, Ho, Wo) element (b, c, i, j) at y_off + b * y_ns + (c * Ho + i) * Wo + j
 * Work-item (b, cb, oy, ox) writes channels 4 cb .. 4 cb + 3 (those below Co).
 * Global size: N * ceil(Co / 4) * Ho * Wo rounded up to the work-group size (1-D). */
__kernel void oct_conv2d_direct(__global const float *x, int x_off, int x_ns,
                                int ci_n, int h, int w,
                                __global const float *wt,
                                __global const float *bias, int has_bias,
                                __global float *y, int y_off, int y_ns,
                                int n, int co_n, int ho, int wo,
                                int k, int stride, int pad, int accumulate, int relu)
{
    int cb_n = (co_n + 3) / 4;
    size_t gid = get_global_id(0);
    if (gid >= (size_t)n * cb_n * ho * wo) return;
    int idx = (int)gid;
    int ox = idx % wo;
    idx /= wo;
    int oy = idx % ho;
    idx /= ho;
    int co0 = (idx % cb_n) * 4;
    int b = idx / cb_n;

    /* The part of the K x K window that lies inside the input. */
    int iy0 = oy * stride - pad, ix0 = ox * stride - pad;
    int ky0 = max(0, -iy0), ky1 = min(k, h - iy0);
    int kx0 = max(0, -ix0), kx1 = min(k, w - ix0);

    /* Weight rows of the 4 channels; past Co they repeat the last one (never stored). */
    int kk = ci_n * k * k;
    int w0 = co0 * kk;
    int w1 = min(co0 + 1, co_n - 1) * kk;
    int w2 = min(co0 + 2, co_n - 1) * kk;
    int w3 = min(co0 + 3, co_n - 1) * kk;

    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    int xb = x_off + b * x_ns;
    for (int ci = 0; ci < ci_n; ci++) {
        for (int ky = ky0; ky < ky1; ky++) {
            int xr = xb + (ci * h + iy0 + ky) * w + ix0; /* row start; + kx >= 0 below */
            int wr = (ci * k + ky) * k;
            for (int kx = kx0; kx < kx1; kx++) {
                float xv = x[xr + kx];
                a0 += wt[w0 + wr + kx] * xv;
                a1 += wt[w1 + wr + kx] * xv;
                a2 += wt[w2 + wr + kx] * xv;
                a3 += wt[w3 + wr + kx] * xv;
            }
        }
    }

    int yi = y_off + b * y_ns + (co0 * ho + oy) * wo + ox;
    int plane = ho * wo;
    float acc[4] = {a0, a1, a2, a3};
    for (int j = 0; j < 4 && co0 + j < co_n; j++) {
        float v = acc[j] + (has_bias ? bias[co0 + j] : 0.0f);
        y[yi + j * plane] = oct_finish(v, y + yi + j * plane, accumulate, relu);
    }
}
