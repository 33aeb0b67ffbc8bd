/* lanes.h — the 16-lane AVX-512 mask of lanes [lo, hi), clamped to [0, 16]: what the
 * CPU backend's masked loads and stores use for a run of floats that starts before or
 * ends inside a vector (Winograd's transforms, the channel-lane path's gather, the
 * implicit im2col's panels). Included only where <immintrin.h> is (x86-64 with GCC or
 * Clang). */
#ifndef OCT_LANES_H
#define OCT_LANES_H

#include <immintrin.h>

static inline __mmask16 oct__lanes16(int lo, int hi)
{
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

#endif /* OCT_LANES_H */
