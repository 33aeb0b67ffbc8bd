/* gemm.h — the one single-threaded SGEMM the CPU backends call (row-major):
 *   C (M, N; row stride ldc) = alpha_acc ? C + A' B' : A' B'
 * with A' = A (M, K; lda) or its transpose when trans_a (A stored (K, M)), likewise B'
 * (B (K, N; ldb), or stored (N, K) when trans_b). Threads are the caller's (the CPU
 * backend's pool splits the work); this call never starts any. It cannot fail: what it
 * needs is on the stack or in caller-provided memory.
 */
#ifndef OCT_GEMM_H
#define OCT_GEMM_H

void oct__sgemm(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                float *c, int ldc, int accumulate);

#endif /* OCT_GEMM_H */
