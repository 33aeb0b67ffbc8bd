/* gemm.c — oct__sgemm over the BLAS the build links (OpenBLAS, pinned to one thread by
 * the CPU backend). */
#include "gemm.h"

#include <cblas.h>

void oct__sgemm(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                float *c, int ldc, int accumulate)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
}
