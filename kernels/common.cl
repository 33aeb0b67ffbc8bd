/* common.cl - helpers shared by every kernel family. The host builds one program from
 * all kernels/NAME.cl files with this one placed first (see host/backend_cl.c).
 * OpenCL C 1.2; every index fits an int (the host checks buffers against INT_MAX). */

/* The multiply-add of the compute-bound kernels: fma where the device has it in hardware
 * (the host passes -DOCT_FMA=mad where it does not: a software fma is very slow, and
 * PoCL's mad is a separate multiply and add, half the rate of its fma). */
#ifndef OCT_FMA
#define OCT_FMA fma
#endif

/* The value stored into y: the old value added when accumulating, then ReLU if asked. */
float oct_finish(float v, __global const float *old, int accumulate, int relu)
{
    if (accumulate) v += *old;
    return relu ? fmax(v, 0.0f) : v;
}
