/* gemm.h — the one single-threaded SGEMM the CPU backends call (row-major):
 *   C (M, N; row stride ldc) = alpha_acc ? C + A' B' : A' B'
 * with A' = A (M, K; lda) or its transpose when trans_a (A stored (K, M)), likewise B'
 * (B (K, N; ldb), or stored (N, K) when trans_b). Threads are the caller's (the CPU
 * backend's pool splits the work); this call never starts any. It cannot fail: what it
 * needs is per-thread packing buffers made on first use (freed when the thread ends),
 * or, when those cannot be allocated, about 15 KB of stack.
 */
#ifndef OCT_GEMM_H
#define OCT_GEMM_H

void oct__sgemm(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                float *c, int ldc, int accumulate);

/* The micro-kernels (gemm.c picks the best the CPU has; $OCTCL_GEMM=avx512|avx2|scalar
 * forces one it has). */
enum { OCT__GEMM_SCALAR = 0, OCT__GEMM_AVX2 = 1, OCT__GEMM_AVX512 = 2 };
/* 1 when this CPU (and OS) runs the kernel. */
int oct__sgemm_supported(int isa);
/* The kernel in use now. */
int oct__sgemm_isa(void);
/* Tests: use kernel `isa` from now on (0 when the CPU lacks it); -1 returns to the
 * automatic choice. */
int oct__sgemm_force(int isa);
/* Tests: 1 runs every call on the small stack blocks of the out-of-memory fallback. */
void oct__sgemm_small_blocks(int on);

#endif /* OCT_GEMM_H */
