/* common.cl - helpers shared by every kernel family. The host builds one program from
 * all kernels/NAME.cl files with this one placed first (see host/backend_cl.c).
 * OpenCL C 1.1 (built as 1.2 where the device has it); every index fits an int (the host
 * checks buffers against INT_MAX). */

/* The multiply-add of the compute-bound kernels. OCT_HW_FMA=1 (the host's choice where
 * the device reports CL_FP_FMA): fma, exact and at full rate. OCT_HW_FMA=0 (no FMA in
 * hardware, where a software fma is very slow): a multiply then an add, each correctly
 * rounded (or contracted into an fma by the compiler, which is as exact) - never mad,
 * whose precision is implementation-defined. The error bound is then that of any float32
 * dot product, within the tolerance every test already uses (tests/testutil.h). */
#ifndef OCT_HW_FMA
#define OCT_HW_FMA 1
#endif
#if OCT_HW_FMA
#define OCT_FMA(a, b, c) fma(a, b, c)
#else
#define OCT_FMA(a, b, c) ((a) * (b) + (c))
#endif

/* ReLU if asked, as the reference and PyTorch compute it: a NaN stays NaN and -0 stays
 * -0 (fmax(v, 0) gives 0 for a NaN, and either zero for -0). */
float oct_relu(float v, int relu) { return relu && v < 0.0f ? 0.0f : v; }

/* The value stored into y: the old value added when accumulating, then ReLU if asked. */
float oct_finish(float v, __global const float *old, int accumulate, int relu)
{
    if (accumulate) v += *old;
    return oct_relu(v, relu);
}
