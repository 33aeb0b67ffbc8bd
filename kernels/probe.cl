/* probe.cl - the FP32 peak probe: every work-item runs OCT_PROBE_CHAINS independent
 * chains of multiply-adds (a = a * m + c) on OCT_PROBE_VEC-wide vectors, unrolled 16
 * deep, `iters` times. FLOP per work-item: iters * 16 * chains * width * 2. The host
 * sizes the launch (compute units x work-group size x 8) and times it with profiling
 * events. Wide vectors matter on CPU devices: PoCL does not vectorise across work-items
 * around a loop like this one, so each work-item must fill the SIMD lanes itself. */

#ifndef OCT_PROBE_CHAINS
#define OCT_PROBE_CHAINS 8
#endif
#ifndef OCT_PROBE_VEC
#define OCT_PROBE_VEC 4 /* 4, 8 or 16 */
#endif
#if OCT_PROBE_VEC == 4
#define OCT_PROBE_T float4
#elif OCT_PROBE_VEC == 8
#define OCT_PROBE_T float8
#elif OCT_PROBE_VEC == 16
#define OCT_PROBE_T float16
#else
#error "OCT_PROBE_VEC must be 4, 8 or 16"
#endif
#define OCT_PROBE_STEP(a) a = OCT_FMA(a, mv, cv)
#if OCT_PROBE_CHAINS == 8
#define OCT_PROBE_ALL                                                                    \
    OCT_PROBE_STEP(a0); OCT_PROBE_STEP(a1); OCT_PROBE_STEP(a2); OCT_PROBE_STEP(a3);      \
    OCT_PROBE_STEP(a4); OCT_PROBE_STEP(a5); OCT_PROBE_STEP(a6); OCT_PROBE_STEP(a7)
#elif OCT_PROBE_CHAINS == 4
#define OCT_PROBE_ALL                                                                    \
    OCT_PROBE_STEP(a0); OCT_PROBE_STEP(a1); OCT_PROBE_STEP(a2); OCT_PROBE_STEP(a3)
#else
#error "OCT_PROBE_CHAINS must be 4 or 8"
#endif

/* out[0] is written only when the chains end on a value they never reach (m < 1 and
 * c > 0 keep them finite and positive), so nothing is stored but nothing can be
 * optimised away. m and c come from the host so the compiler cannot fold them. */
__kernel void oct_probe_fma(__global float *out, int iters, float m, float c)
{
    float seed = (float)(get_global_id(0) & 1023) * 1e-3f;
    OCT_PROBE_T mv = (OCT_PROBE_T)(m), cv = (OCT_PROBE_T)(c);
    OCT_PROBE_T a0 = (OCT_PROBE_T)(seed), a1 = a0 + 0.5f, a2 = a0 + 1.5f, a3 = a0 + 2.5f;
#if OCT_PROBE_CHAINS == 8
    OCT_PROBE_T a4 = a0 + 3.5f, a5 = a0 + 4.5f, a6 = a0 + 5.5f, a7 = a0 + 6.5f;
#endif
    for (int i = 0; i < iters; i++) {
        OCT_PROBE_ALL; OCT_PROBE_ALL; OCT_PROBE_ALL; OCT_PROBE_ALL;
        OCT_PROBE_ALL; OCT_PROBE_ALL; OCT_PROBE_ALL; OCT_PROBE_ALL;
        OCT_PROBE_ALL; OCT_PROBE_ALL; OCT_PROBE_ALL; OCT_PROBE_ALL;
        OCT_PROBE_ALL; OCT_PROBE_ALL; OCT_PROBE_ALL; OCT_PROBE_ALL;
    }
    OCT_PROBE_T s = (a0 + a1) + (a2 + a3);
#if OCT_PROBE_CHAINS == 8
    s += (a4 + a5) + (a6 + a7);
#endif
    float t = s.s0 + s.s1 + s.s2 + s.s3;
    if (t < 0.0f) out[0] = t;
}
