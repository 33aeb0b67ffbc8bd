/* common.cl - helpers shared by every kernel family. The host builds one program from
 * all kernels/NAME.cl files with this one placed first (see host/backend_cl.c).
 * OpenCL C 1.2; every index fits an int (the host checks buffers against INT_MAX). */

/* The value stored into y: the old value added when accumulating, then ReLU if asked. */
float oct_finish(float v, __global const float *old, int accumulate, int relu)
{
    if (accumulate) v += *old;
    return relu ? fmax(v, 0.0f) : v;
}
