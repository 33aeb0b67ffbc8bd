/* head.cl - the classifier head: global average pooling, the linear layer of a small
 * head, and the bias of a large one (whose product is CLBlast's SGEMM). */

/* y[b * ctotal + c0 + ch] = mean over (H, W) of x[b, ch]: x (N, C, H, W) (view as in
 * conv.cl), y (N, ctotal). One work-group per (b, ch): global size N * C * L, local L,
 * L a power of two; scratch holds L floats. */
__kernel void oct_gap(__global const float *x, int x_off, int x_ns, int c, int hw,
                      __global float *y, int ctotal, int c0, __local float *scratch)
{
    int g = (int)get_group_id(0);
    int lid = (int)get_local_id(0), l = (int)get_local_size(0);
    int ch = g % c, b = g / c;
    int xb = x_off + b * x_ns + ch * hw;

    float s = 0.0f;
    for (int i = lid; i < hw; i += l) s += x[xb + i];
    scratch[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = l / 2; step > 0; step /= 2) {
        if (lid < step) scratch[lid] += scratch[lid + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) y[b * ctotal + c0 + ch] = scratch[0] / (float)hw;
}

/* y (N, Out) = bias (broadcast over rows) when overwrite, else y += bias; with no bias
 * and overwrite, y = 0. Global size: N * Out rounded up (1-D). */
__kernel void oct_linear_bias(__global float *y, int n, int out,
                              __global const float *bias, int has_bias, int overwrite)
{
    size_t gid = get_global_id(0);
    if (gid >= (size_t)n * out) return;
    int i = (int)gid;
    float bv = has_bias ? bias[i % out] : 0.0f;
    y[i] = overwrite ? bv : y[i] + bv;
}

/* y (N, Out) = x (N, In) W^T + bias, W (Out, In): one work-item per output, its sum over
 * In in order. For heads too small to be worth CLBlast's program build (the host
 * decides). Global size: N * Out rounded up (1-D). */
__kernel void oct_linear(__global const float *x, __global const float *wt, __global const float *bias,
                         int has_bias, __global float *y, int n, int in, int out)
{
    size_t gid = get_global_id(0);
    if (gid >= (size_t)n * out) return;
    int b = (int)gid / out, o = (int)gid - b * out;
    __global const float *xr = x + b * in, *wr = wt + o * in;
    float s = 0.0f;
    for (int i = 0; i < in; i++) s = OCT_FMA(xr[i], wr[i], s);
    y[gid] = has_bias ? s + bias[o] : s;
}
