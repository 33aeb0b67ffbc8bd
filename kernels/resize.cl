/* resize.cl - nearest-neighbour resize with PyTorch's source index
 * (F.interpolate(mode='nearest', size=...)). */

/* PyTorch's nearest source index; `scale` is (float)in / (float)out computed on the host
 * (OpenCL C 1.2 division need not be correctly rounded; multiplication is). */
int oct_nearest_src(int dst, int in, int out, float scale)
{
    if (out == in) return dst;
    if (out == 2 * in) return dst >> 1;
    int s = (int)floor((float)dst * scale);
    return min(s, in - 1);
}

/* y (=|+=) nearest(x), then ReLU if asked: x (N, C, Hi, Wi), y (N, C, Ho, Wo).
 * Views as in conv.cl. Global size: N * C * Ho * Wo rounded up (1-D). */
__kernel void oct_resize_nearest(__global const float *x, int x_off, int x_ns, int hi, int wi,
                                 __global float *y, int y_off, int y_ns,
                                 int n, int c, int ho, int wo,
                                 float scale_h, float scale_w, int accumulate, int relu)
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

    int iy = oct_nearest_src(oy, hi, ho, scale_h);
    int ix = oct_nearest_src(ox, wi, wo, scale_w);
    float v = x[x_off + b * x_ns + (ch * hi + iy) * wi + ix];
    int yi = y_off + b * y_ns + (ch * ho + oy) * wo + ox;
    y[yi] = oct_finish(v, y + yi, accumulate, relu);
}
