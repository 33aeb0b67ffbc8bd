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

#include <stddef.h>

/* The accumulators' set-up and store loops of the register-tile kernels (here and in
 * smallconv.c) fully unrolled: otherwise gcc keeps the arrays on the stack (zeroed with
 * rep stos, spilled after the k loop) -- 10% of a kc = 64 call on an AMD EPYC (AVX-512),
 * 2.5% of a kc = 256 one. */
#if defined(__clang__)
#define OCT__UNROLL _Pragma("unroll")
#else
#define OCT__UNROLL _Pragma("GCC unroll 16")
#endif

void oct__sgemm(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                float *c, int ldc, int accumulate);

/* The micro-kernels (gemm.c picks the best the CPU has; $OCTCL_GEMM=avx512|avx2|scalar
 * forces one it has). */
enum { OCT__GEMM_SCALAR = 0, OCT__GEMM_AVX2 = 1, OCT__GEMM_AVX512 = 2 };
/* 1 when this CPU (and OS) runs the kernel. */
int oct__sgemm_supported(int isa);
/* The kernel $OCTCL_GEMM names ("avx512", "avx2", "scalar"), -1 for any other text or NULL. */
int oct__sgemm_isa_named(const char *name);
/* The kernel in use now. */
int oct__sgemm_isa(void);
/* The automatic choice: the best this CPU runs, or $OCTCL_GEMM's (a force aside). */
int oct__sgemm_isa_auto(void);
/* Tests: use kernel `isa` from now on (0 when the CPU lacks it); -1 returns to the
 * automatic choice. */
int oct__sgemm_force(int isa);
/* Tests: 1 runs every call on the small stack blocks of the out-of-memory fallback. */
void oct__sgemm_small_blocks(int on);
/* Tests: 1 packs B in every oct__sgemm_apacked(_epi) call (as $OCTCL_GEMM_PACK_B=1 does),
 * 0 lets the AVX-512 kernel read B in place, -1 returns to the environment's choice. */
void oct__sgemm_pack_b(int on);
/* Tests: 1 runs the AVX2 and AVX-512 kernels' edge strips of 8 columns or fewer on the
 * narrow-strip kernel (the default, as without $OCTCL_GEMM_NARROW=0; AVX-512 with B in
 * place also one of 17-24 as 16 + the rest narrow), 0 as whole tiles, -1 returns to the
 * environment's choice. */
void oct__sgemm_narrow(int on);
/* Test hook: 0 computes the AVX2 packed-weight GEMM's edge tiles of rows (fewer than 6)
 * as whole tiles (as $OCTCL_GEMM_EDGE=0), 1 on their rows alone, -1 back to the environment. */
void oct__sgemm_edge(int on);
/* Test hook: 0 runs the in-place-B product's K blocks in column strips over all the rows
 * (as $OCTCL_GEMM_ROWS=0), 1 in strips of rows across panels of columns, -1 back to the
 * environment. The sums are the same either way, term for term. */
void oct__sgemm_rows(int on);
/* The widest last strip kernel isa's products run on the narrow-strip kernel (one FMA a
 * column a term): 8 for AVX2 and AVX-512 unless that is switched off, else 0 (a whole
 * tile). */
int oct__sgemm_narrow_cols(int isa);

/* A register-tile micro-kernel: c (rows, nr; row stride ldc) (=|+=) a-panel (kc, rows)^T
 * b-panel (kc, nr; 64-byte aligned), the sum over p in order in one register per
 * output. oct__sgemm_kernel_rows: kernel isa's with `rows` rows and nr = 32 where it has
 * one (AVX-512: rows 8 and 7; AVX2: rows 6, its b the two (kc, 16) halves of the
 * panel one after the other), else NULL. */
typedef void (*oct__gemm_kernel)(int kc, const float *a, const float *b, float *c, size_t ldc, int add);
oct__gemm_kernel oct__sgemm_kernel_rows(int isa, int rows);

/* How far ahead (in floats) the channel-lane kernels (oct__sgemm_kernel_rows, and the
 * in-place tiles of smallconv.c) fetch their packed weight panel, 32 floats a term (AVX2:
 * each 16-float half, its own stream): 4 KiB, the next page, before the hardware
 * prefetcher (which stops at page ends) gets there. Each panel is read from memory by the
 * strip's first run of pixels and from L2 by the others; a 7x7 1x1 layer at batch 1
 * streams 4 MB of them (512 -> 2048) for 51 M MACs. Intel Xeon (Emerald Rapids, AVX-512),
 * two threads, old and new library in alternated processes, sums of per-layer minima:
 * Oct-ResNet-50 batch 1, the 7x7 1x1 layers 3.57 -> 3.13 ms (alpha 0) and 2.56 -> 2.22
 * (alpha 0.5; its low band's twelve 7x7 pairs, in place, 0.955 -> 0.862), the pass's
 * layers 0.980x and 0.970x; alpha 0.5 batch 8 0.980x; the AVX2 kernels (OCTCL_GEMM=avx2)
 * on that CPU, alpha 0.5 batch 1, the 7x7 1x1 layers 0.80-0.87x, the pass 0.957x. Forty
 * 512 <-> 2048 layers at 7x7 (160 MB of panels), batch 1: 21.9 -> 18.7 ms, 16 to 128
 * terms ahead alike, 256 20.4. The same bits (a fetch changes no value). On an AMD EPYC
 * Zen 4 a fetch of the next strip's panel into L2 read 0.98-1.00x (2026-12-05); this one
 * is not measured on AMD. */
#define OCT__GEMM_AHEAD_B 1024
/* ... and the AVX-512 ones also fetch one line a term OCT__GEMM_FAR_B floats (128
 * terms, 16 KB) ahead into L2, so that more of the panel's lines are in flight from
 * memory at once than the fetches into L1 keep (see GEMM_FAR_A in gemm.c). Intel Xeon
 * (Emerald Rapids, AVX-512), two threads, batch 1, forty 2048 <-> 512 1x1 layers at 7x7
 * (160 MB of panels), 8 rounds of 15 passes, old and new library alternated by process,
 * medians: 18.83-18.90 -> 17.71-17.95 ms; both of a term's lines fetched 18.18, 256
 * terms ahead 18.12, the next strip's panel fetched instead (every run of pixels)
 * 17.62-17.65. */
#define OCT__GEMM_FAR_B 4096

/* A packed once, used by many products (Winograd's transformed weights): kernel `isa`'s
 * rows per register tile; floats of A (m, k) packed; the packing of A' (A (m, k; lda), or
 * stored (k, m) when trans_a); and C rows [m0, m1) of C = A' B (C's row 0 is A's row m0;
 * m0 a multiple of oct__sgemm_mr(isa); B (k, n; ldb) not transposed) from that packing,
 * with kernel `isa` (the one it was packed for; the caller keeps it supported). The same
 * sums in the same order as oct__sgemm with that kernel and untuned blocks (its kc is
 * always KC; the tuned mc and nc apply). Up to 40 KB of stack when the thread's buffers
 * cannot be had. */
int oct__sgemm_mr(int isa);
/* The columns of B one micro-kernel call takes (a product of n columns costs about as
 * much as one of n rounded up to this, except that a last strip of oct__sgemm_narrow_cols
 * columns or fewer costs about one FMA a column a term). */
int oct__sgemm_nr(int isa);
size_t oct__sgemm_apack_floats(int isa, int m, int k);
void oct__sgemm_apack(int isa, int trans_a, int m, int k, const float *a, int lda, float *ap);
/* Where A' (i, p) lies in that packing (to write it in place; rows past m in the last
 * strip must then be zeroed by the caller). */
size_t oct__sgemm_apack_at(int isa, int m, int k, int i, int p);
void oct__sgemm_apacked(int isa, int m0, int m1, int m, int n, int k, const float *ap, const float *b, int ldb,
                        float *c, int ldc, int accumulate);
/* The same with an epilogue applied to each register tile of C as soon as its sum is
 * final (in L1, no second pass over C): c = relu(((c + bias[r]) + res[r, j]) + up2x[r, j])
 * -- exactly the float operations of those passes after the product. bias is indexed by
 * C's row (row 0 = A's row m0), res (C's shape, row stride rs) likewise; each part may be
 * off (NULL, relu 0); epi NULL is oct__sgemm_apacked.
 *
 * up (every kernel): C's rows are planes of uw-wide rows (uw even, 8 or more; up0 even),
 * C's column j their pixel up0 + j; up2x[r, j] is the nearest 2x upsample of row r's
 * half-size plane at up + r us (uw / 2 wide): the value at (y / 2, x / 2) for the pixel
 * (y, x) -- OctConv's L->H path added in the store. */
typedef struct {
    const float *bias;
    const float *res;
    size_t rs;
    int relu;
    const float *up;
    size_t us, up0;
    int uw;
} oct__gemm_epi;
void oct__sgemm_apacked_epi(int isa, int m0, int m1, int m, int n, int k, const float *ap, const float *b, int ldb,
                            float *c, int ldc, int accumulate, const oct__gemm_epi *epi);

/* The same with B made by the caller, panel by panel, as the product needs it (an
 * implicit im2col: no (k, n) matrix is ever stored): pack(ctx, p0, kc, j0, nc, nr, dst)
 * writes B' rows [p0, p0 + kc), columns [j0, j0 + nc) as ceil(nc / nr) panels of
 * (kc, nr) one after another (panel s at dst + s kc nr, element (p, j) at p nr + j;
 * zeros in the columns past nc), dst 64-byte aligned. The sums are oct__sgemm_apacked's
 * on the B that pack describes. */
typedef struct {
    void (*pack)(const void *ctx, int p0, int kc, int j0, int nc, int nr, float *dst);
    const void *ctx;
} oct__gemm_bsrc;
void oct__sgemm_apacked_src(int isa, int m0, int m1, int m, int n, int k, const float *ap, const oct__gemm_bsrc *src,
                            float *c, int ldc, int accumulate, const oct__gemm_epi *epi);

/* Whether oct__sgemm_apacked_epi packs B (k, n) of row stride ldb for its products rather
 * than reading it in place (AVX2 on rows that are not whole 16-float strips, the scalar
 * kernel, $OCTCL_GEMM_PACK_B=1). Callers that run several products over one B (blocks of
 * C's rows) can then pack it once: oct__sgemm_bpack writes strips [s0, s1) of B as
 * ceil(n / nr) strips of (k, nr) (strip s at dst + s k nr, zeros in columns past n;
 * oct__sgemm_bpack_floats floats in all, dst 64-byte aligned), and oct__sgemm_apacked_pre
 * is oct__sgemm_apacked_epi on that packed B: the same sums in the same order, bit for bit. */
int oct__sgemm_packs_b(int isa, int ldb);
/* Whether oct__sgemm_apacked_epi on the AVX-512 kernel reads every strip of an n-column B
 * in place: B not packed (oct__sgemm_packs_b), and its last strip of n % 32 columns
 * whole, narrow (8 or fewer, unless $OCTCL_GEMM_NARROW=0), 16, or 16 and a narrow rest;
 * other last strips (9-15, 25-31) are packed and run as a whole strip. */
int oct__sgemm_b_in_place(int isa, int n);
size_t oct__sgemm_bpack_floats(int isa, int n, int k);
void oct__sgemm_bpack(int isa, int n, int k, const float *b, int ldb, int s0, int s1, float *dst);
void oct__sgemm_apacked_pre(int isa, int m0, int m1, int m, int n, int k, const float *ap, const float *bpk, float *c,
                            int ldc, int accumulate, const oct__gemm_epi *epi);

#endif /* OCT_GEMM_H */
