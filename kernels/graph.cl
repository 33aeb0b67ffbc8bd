/* graph.cl - the graph ops of imported networks (host/internal.h): a general direct
 * convolution (groups, depthwise, kh x kw, two strides, asymmetric padding, dilation,
 * bias, accumulate, residual, ReLU), pooling (max / average with PyTorch's divisor
 * rule), element-wise add and per-channel affine. Views as in conv.cl: element
 * (b, c, i, j) of a view at off + b * ns + (c * H + i) * W + j. */

/* Window taps t in [*t0, *t1) of a kernel of k taps, dilation d, whose input index
 * i0 + t * d lies in [0, n). */
void oct_taps(int i0, int k, int d, int n, int *t0, int *t1)
{
    int a = i0 < 0 ? (-i0 + d - 1) / d : 0;  /* first t with i0 + t d >= 0 */
    int b = n - i0 <= 0 ? 0 : (n - i0 + d - 1) / d; /* first t with i0 + t d >= n */
    *t0 = a;
    *t1 = min(k, b);
}

/* y (=|+=) conv2d(x, wt, groups) + bias, + res, then ReLU; order of the epilogue: sum,
 * + bias, + old y, + res, ReLU.
 *   x  (N, Ci, H, W), wt (Co, Ci / groups, KH, KW) contiguous, bias (Co) when has_bias,
 *   res (N, Co, Ho, Wo) when has_res, y (N, Co, Ho, Wo).
 * Work-item (b, g, cb, oy, ox) writes output channels g * cog + 4 cb .. + 3 (those inside
 * the group), every input value it loads serving up to 4 weights.
 * Global size (Wo, Ho, N * groups * ceil(cog / 4)): no index divisions per output but
 * one (PoCL runs work-items as scalar loops, where they cost more than the taps). */
__kernel void oct_convg_direct(__global const float *x, int x_off, int x_ns, int ci_n, int h, int w,
                               __global const float *wt, __global const float *bias, int has_bias,
                               __global const float *res, int r_off, int r_ns, int has_res,
                               __global float *y, int y_off, int y_ns, int n, int co_n, int ho, int wo,
                               int kh, int kw, int sh, int sw, int pt, int pl, int dh, int dw, int groups,
                               int accumulate, int relu)
{
    int cig = ci_n / groups, cog = co_n / groups, cb_n = (cog + 3) / 4;
    int ox = (int)get_global_id(0), oy = (int)get_global_id(1), idx = (int)get_global_id(2);
    if (ox >= wo || oy >= ho || idx >= n * groups * cb_n) return;
    int cb = idx % cb_n;
    idx /= cb_n;
    int g = idx % groups;
    int b = idx / groups;
    int co0 = g * cog + cb * 4, rows = min(4, cog - cb * 4);

    int iy0 = oy * sh - pt, ix0 = ox * sw - pl, ky0, ky1, kx0, kx1;
    oct_taps(iy0, kh, dh, h, &ky0, &ky1);
    oct_taps(ix0, kw, dw, w, &kx0, &kx1);

    /* Weight rows of the 4 channels; past the group they repeat its last (never stored). */
    int kk = cig * kh * kw;
    int w0 = co0 * kk;
    int w1 = (co0 + min(1, rows - 1)) * kk;
    int w2 = (co0 + min(2, rows - 1)) * kk;
    int w3 = (co0 + min(3, rows - 1)) * kk;

    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    int xb = x_off + b * x_ns + g * cig * h * w;
    for (int ci = 0; ci < cig; ci++)
        for (int ky = ky0; ky < ky1; ky++) {
            int xr = xb + (ci * h + iy0 + ky * dh) * w + ix0; /* + kx dw >= 0 below */
            int wr = (ci * kh + ky) * kw;
            for (int kx = kx0; kx < kx1; kx++) {
                float xv = x[xr + kx * dw];
                a0 += wt[w0 + wr + kx] * xv;
                a1 += wt[w1 + wr + kx] * xv;
                a2 += wt[w2 + wr + kx] * xv;
                a3 += wt[w3 + wr + kx] * xv;
            }
        }

    int plane = ho * wo, pix = oy * wo + ox;
    int yi = y_off + b * y_ns + co0 * plane + pix, ri = r_off + b * r_ns + co0 * plane + pix;
    float acc[4] = {a0, a1, a2, a3};
    for (int j = 0; j < rows; j++) {
        float v = acc[j];
        if (has_bias) v += bias[co0 + j];
        if (accumulate) v += y[yi + j * plane];
        if (has_res) v += res[ri + j * plane];
        y[yi + j * plane] = oct_relu(v, relu);
    }
}

/* The same for one input channel per group (depthwise, channel multipliers): output
 * channel co reads input channel co / cog; one output per work-item.
 * Global size (Wo, Ho, N * Co). */
__kernel void oct_convg_dw(__global const float *x, int x_off, int x_ns, int ci_n /* unused: the host passes
                           oct_convg_direct's arguments */, int h, int w,
                           __global const float *wt, __global const float *bias, int has_bias,
                           __global const float *res, int r_off, int r_ns, int has_res,
                           __global float *y, int y_off, int y_ns, int n, int co_n, int ho, int wo,
                           int kh, int kw, int sh, int sw, int pt, int pl, int dh, int dw, int cog,
                           int accumulate, int relu)
{
    int ox = (int)get_global_id(0), oy = (int)get_global_id(1), idx = (int)get_global_id(2);
    if (ox >= wo || oy >= ho || idx >= n * co_n) return;
    int co = idx % co_n, b = idx / co_n;
    int iy0 = oy * sh - pt, ix0 = ox * sw - pl, ky0, ky1, kx0, kx1;
    oct_taps(iy0, kh, dh, h, &ky0, &ky1);
    oct_taps(ix0, kw, dw, w, &kx0, &kx1);
    __global const float *xp = x + x_off + b * x_ns + (co / cog) * h * w;
    __global const float *wp = wt + co * kh * kw;
    float a = 0.0f;
    for (int ky = ky0; ky < ky1; ky++) {
        __global const float *xr = xp + (iy0 + ky * dh) * w + ix0;
        for (int kx = kx0; kx < kx1; kx++) a += wp[ky * kw + kx] * xr[kx * dw];
    }
    int plane = ho * wo, pix = oy * wo + ox;
    int yi = y_off + b * y_ns + co * plane + pix;
    if (has_bias) a += bias[co];
    if (accumulate) a += y[yi];
    if (has_res) a += res[r_off + b * r_ns + co * plane + pix];
    y[yi] = oct_relu(a, relu);
}

/* Max or average pooling: x (N, C, H, W), y (N, C, Ho, Wo); the window of (oy, ox)
 * covers rows oy * sh - pt + [0, kh), likewise columns. Max: the largest in-bounds
 * element (-inf when none). Average: the in-bounds sum divided by the window clipped
 * to the padded input (count_include_pad) or by the number of in-bounds elements (0
 * when none). Then ReLU if asked. Global size (Wo, Ho, N * C). */
__kernel void oct_poolg(__global const float *x, int x_off, int x_ns, int h, int w,
                        __global float *y, int y_off, int y_ns, int n, int c, int ho, int wo,
                        int is_max, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr,
                        int count_include_pad, int relu)
{
    int ox = (int)get_global_id(0), oy = (int)get_global_id(1), idx = (int)get_global_id(2);
    if (ox >= wo || oy >= ho || idx >= n * c) return;
    int ch = idx % c;
    int b = idx / c;

    int y0 = oy * sh - pt, x0 = ox * sw - pl;
    int ya = max(y0, 0), yb = min(y0 + kh, h), xa = max(x0, 0), xb = min(x0 + kw, w);
    __global const float *p = x + x_off + b * x_ns + ch * h * w;
    float v;
    if (is_max) {
        v = -INFINITY;
        for (int iy = ya; iy < yb; iy++)
            for (int ix = xa; ix < xb; ix++) {
                float e = p[iy * w + ix];
                if (e > v || isnan(e)) v = e;
            }
    } else if (ya >= yb || xa >= xb) {
        v = 0.0f;
    } else {
        float s = 0.0f;
        for (int iy = ya; iy < yb; iy++)
            for (int ix = xa; ix < xb; ix++) s += p[iy * w + ix];
        int div = count_include_pad ? (min(y0 + kh, h + pb) - y0) * (min(x0 + kw, w + pr) - x0)
                                    : (yb - ya) * (xb - xa);
        v = s / (float)div;
    }
    y[y_off + b * y_ns + (ch * ho + oy) * wo + ox] = oct_relu(v, relu);
}

/* y = a + b, then ReLU if asked: three views of (N, C, H, W) with chw = C * H * W; y may
 * be a or b. Global size (chw, N). */
__kernel void oct_add(__global const float *a, int a_off, int a_ns, __global const float *bv, int b_off, int b_ns,
                      __global float *y, int y_off, int y_ns, int n, int chw, int relu)
{
    int r = (int)get_global_id(0), b = (int)get_global_id(1);
    if (r >= chw || b >= n) return;
    float v = a[a_off + b * a_ns + r] + bv[b_off + b * b_ns + r];
    y[y_off + b * y_ns + r] = oct_relu(v, relu);
}

/* y = x * scale[c] + shift[c], then ReLU if asked (scale 1 / shift 0 where absent):
 * views of (N, C, H, W), hw = H * W; y may be x. Global size (hw, C, N). */
__kernel void oct_affine(__global const float *x, int x_off, int x_ns, __global float *y, int y_off, int y_ns,
                         __global const float *scale, int has_scale, __global const float *shift, int has_shift,
                         int n, int c, int hw, int relu)
{
    int p = (int)get_global_id(0), ch = (int)get_global_id(1), b = (int)get_global_id(2);
    if (p >= hw || ch >= c || b >= n) return;
    int r = ch * hw + p;
    float v = x[x_off + b * x_ns + r];
    if (has_scale) v *= scale[ch];
    if (has_shift) v += shift[ch];
    y[y_off + b * y_ns + r] = oct_relu(v, relu);
}
