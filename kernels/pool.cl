/* pool.cl - 2x2 average pooling, stride 2, floor mode (AvgPool2d(2)). */

/* y = AvgPool2d(2)(x): x (N, C, H, W), y (N, C, Ho, Wo) with 2 Ho <= H, 2 Wo <= W.
 * Views as in conv.cl. Global size: N * C * Ho * Wo rounded up (1-D). */
__kernel void oct_avgpool2(__global const float *x, int x_off, int x_ns, int h, int w,
                           __global float *y, int y_off, int y_ns,
                           int n, int c, int ho, int wo)
{
    size_t gid = get_global_id(0);
    if (gid >= (size_t)n * c * ho * wo) return;
    int idx = (int)gid;
    int ox = idx % wo;
    idx /= wo;
    int oy = idx % ho;
    idx /= ho;
    int ch = idx % c;
    int b = idx / c;

    int xi = x_off + b * x_ns + (ch * h + 2 * oy) * w + 2 * ox;
    float s = (x[xi] + x[xi + 1]) + (x[xi + w] + x[xi + w + 1]);
    y[y_off + b * y_ns + (ch * ho + oy) * wo + ox] = s * 0.25f;
}
