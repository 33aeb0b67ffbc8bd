/* gemm.c — octcl's own single-threaded SGEMM (oct__sgemm, see gemm.h): Goto-style
 * blocking (panels of B (KC, NC) and of A (MC, KC) packed into per-thread buffers, a
 * register-tile micro-kernel over them), with micro-kernels for AVX-512 (8 x 32), AVX2 + FMA (6 x 16)
 * and plain C (4 x 4), chosen at run time from what the CPU supports. It starts no
 * thread and cannot fail: when a thread's 350 KB of buffers cannot be had, small blocks
 * on the stack do the work; nothing can spin under a memory limit (OpenBLAS's allocator
 * retried a failed mmap forever; it is no longer linked).
 * $OCTCL_GEMM = avx512 | avx2 | scalar forces a kernel the CPU has (for tests).
 */
#include "gemm.h"

#include <immintrin.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KC 256
#define MC 96   /* a multiple of every MR: 8, 6, 4 */
#define NC 256  /* a multiple of every NR: 32, 16, 4 */
#define SMALL_KC 64   /* the fallback's blocks, on the stack */
#define SMALL_MC 24
#define SMALL_NC 32
#define MR_MAX 8
#define NR_MAX 32
/* apacked_direct's row-strip order: the B panel (k x columns) it keeps in L2. */
#define GEMM_ROWS_FLOATS (64 * 1024)
/* The AVX2 kernel's products of this many terms or fewer run in strips of rows
 * (gemm_rows_ok): with 32 terms, 192 FMA cycles a tile, the column order's six C rows (a
 * plane apart) and their epilogue weighed against them. AMD EPYC Zen 3, Oct-ResNet-50
 * alpha 0.5, the two orders in alternated processes, per-layer minima, sums by class
 * (unchanged layers within 1%): batch 8, two threads, the 56x56 1x1 layers of 32 terms
 * (the expansions, with residual and L->H upsample) 5.67 -> 4.99 ms, the 28x28 ones 0.98x,
 * the 3x3 layers of 32 input channels (Winograd's products) 0.97-0.99x; batch 1, two
 * threads 0.94x / 0.90x, one thread 0.93x / 1.00x. 64 terms: the 56x56 1x1 layers gained
 * 3% too but the 28x28 ones lost 2-3% at batch 1, so they keep the column order. */
#define GEMM_ROWS_AVX2_K 32


/* ------------------------------------------------------------------------------------ */
/* Micro-kernels: c (MR, NR; row stride ldc) (=|+=) a-panel (kc, MR)^T b-panel (kc, NR)    */

static void kernel_scalar(int kc, const float *a, const float *b, float *c, size_t ldc, int add)
{
    float acc[4][4] = {{0}};
    for (int p = 0; p < kc; p++, a += 4, b += 4)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) c[i * ldc + j] = add ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

#if defined(__x86_64__) || defined(__i386__)
#define OCT__GEMM_X86 1

/* Prefetch (to L1) the two cache lines that 16 floats from p may span. The address is
 * computed as an integer: it may lie past the array (the next tile of the last one), which
 * a prefetch never faults on. */
#define OCT__PREFETCH16(p, bytes)                                                                          \
    do {                                                                                                   \
        uintptr_t a_ = (uintptr_t)(p) + (bytes);                                                           \
        _mm_prefetch((const char *)a_, _MM_HINT_T0);                                                       \
        _mm_prefetch((const char *)(a_ + 15 * sizeof(float)), _MM_HINT_T0);                                \
    } while (0)

/* How 8 columns of a tile, from pixel q of a plane of uw-wide rows, read the epilogue's
 * 2x upsample (oct__gemm_epi.up) from each row's half-size plane: lanes [0, k) from the
 * uw / 2-wide row of pixel q at oa, the rest (when the 8 pixels cross a plane row; k is
 * even, the pixels' x is) from the next row's start at ob; each half of the 8 pixels
 * repeats each of its k / 2 (or (8 - k) / 2) floats twice. */
typedef struct {
    size_t oa, ob;
    int k;
    __m128i ma, mb;  /* the floats each half reads (masked: a load never passes them) */
    __m256i pa, pb;  /* lane -> float of its half */
    __m256 sel;      /* lanes from the second half */
} gemm_up8;

__attribute__((target("avx2"), always_inline)) static inline void gemm_up8_at(gemm_up8 *u, size_t q, int uw)
{
    size_t y = q / (size_t)uw, x = q % (size_t)uw, hw = (size_t)uw / 2;
    int k = (size_t)uw - x < 8 ? (int)((size_t)uw - x) : 8;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m128i l4 = _mm_setr_epi32(0, 1, 2, 3);
    u->k = k;
    u->oa = y / 2 * hw + x / 2;
    u->ob = (y + 1) / 2 * hw;
    u->ma = _mm_cmpgt_epi32(_mm_set1_epi32(k / 2), l4);
    u->mb = _mm_cmpgt_epi32(_mm_set1_epi32((8 - k) / 2), l4);
    u->pa = _mm256_srli_epi32(lane, 1);
    u->pb = _mm256_srli_epi32(_mm256_max_epi32(_mm256_sub_epi32(lane, _mm256_set1_epi32(k)), _mm256_setzero_si256()), 1);
    u->sel = _mm256_castsi256_ps(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(k - 1)));
}

/* The 8 upsampled values of u for the half-size plane at p. */
__attribute__((target("avx2"), always_inline)) static inline __m256 gemm_up8_load(const gemm_up8 *u, const float *p)
{
    if (u->k == 8)
        return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(p + u->oa)), u->pa);
    __m256 va = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_maskload_ps(p + u->oa, u->ma)), u->pa);
    __m256 vb = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_maskload_ps(p + u->ob, u->mb)), u->pb);
    return _mm256_blendv_ps(va, vb, u->sel);
}

/* How far ahead (in terms) kernel_avx2_rows_r with stream = 1 fetches its a-panel: 3 KB
 * of 6-row panels (4 KB of kernel_avx512_rows_w's 8-row ones), past the next 4 KiB page
 * before the hardware prefetcher (which stops at page ends) gets there. A product of one
 * 16-column strip (Winograd's 16-tile blocks: a 7x7 plane at one image, see cpu__wino) reads
 * each of its transformed weights once, 6 floats a term, as fast as the FMAs go: 16.8 MB
 * for a 512 -> 512 layer, from memory. AMD EPYC Zen 4, two threads, Oct-ResNet-50 batch 1,
 * with and without in one process, passes alternated, sums of 10-16 per-layer minima:
 * the 7x7 3x3 layers 4.04 -> 3.05 ms (alpha 0.5), the low band's 7x7 layers of layer 3
 * 0.94x, the pass's layers 27.61 -> 26.80 ms; with the AVX2 GEMM forced (OCTCL_GEMM=avx2)
 * alpha 0 43.00 -> 40.38 (7x7 3x3 layers 4.19 -> 2.73). 64 terms ahead read 1-8% slower
 * than 128 on the 7x7 layers, 256 5-9% slower, 32 14-19% slower; every term rather than
 * every other (a line holds 2.7 terms) not tried. The same fetch in the AVX-512 kernel's
 * in-place products (8 floats a term, 32 columns) read 0.97-1.01x, within the noise: not
 * kept; nor a fetch of the channel-lane path's weight panels (0.98-1.00x). Its 16-column
 * kernel, a product's only strip, fetches: a 512 -> 512 layer at 7x7 ran 1.18x faster
 * with it (2026-12-05, cpu__wino). */
#define GEMM_AHEAD_A 128
/* kernel_avx512_rows_w also fetches, on the other terms (a line holds 2 of them), its
 * a-panel GEMM_FAR_A terms ahead into L2 (16 KB of 8-row panels). Alone, the fetch into
 * L1 brought about 11 GB/s a core from memory (a 512 -> 512 layer at 7x7: 16.8 MB in
 * 0.74 ms on two threads); the likely limit is the lines in flight, each fetch into L1
 * holding a fill buffer until memory answers. Intel Xeon (Emerald Rapids, AVX-512), two
 * threads, batch 1, sixteen 512 -> 512 3x3 layers at 7x7 (269 MB of transformed
 * weights, past the last-level cache), 8-10 rounds of 25 passes, old and new library
 * alternated by process, medians: 12.29 -> 10.79-11.28 ms (256, 512, 1024 and 2048 terms
 * ahead alike, into L2 or L3 alike); in Oct-ResNet-50 at batch 1, sums of per-layer
 * minima of 6-8 alternated processes, the 7x7 and 14x14 3x3 layers 0.91x and 0.93x at
 * alpha 0 (the pass's layers 0.985x), alpha 0.5's 0.90-0.94x (0.976x). The AVX2 kernel
 * forced there (OCTCL_GEMM=avx2) read even with it (14.09 / 14.11 ms), so
 * kernel_avx2_rows_r does not fetch so far (not measured on an AVX2-only CPU). */
#define GEMM_FAR_A 512

/* Tiles run along rows (apacked_direct's strips of rows): the C, residual and upsample
 * lines of R rows `ahead` floats (32 or more) to the right of column j0 (the tile after
 * next), fetched while this tile sums. */
#define GEMM_AHEAD_AVX2 32
#define GEMM_AHEAD_AVX512 64
__attribute__((always_inline)) static inline void gemm_prefetch_along(int R, size_t ahead, const float *c, size_t ldc,
                                                                      const oct__gemm_epi *e, int r0, size_t j0)
{
    size_t uoff = 0;
    const float *up = e && e->up ? e->up + (size_t)r0 * e->us : NULL;
    if (up) {
        size_t q = e->up0 + j0 + ahead, uw = (size_t)e->uw;
        uoff = q / uw / 2 * (uw / 2) + q % uw / 2;
    }
    for (int i = 0; i < R; i++) { /* 32 floats of each row: two 16-float segments */
        OCT__PREFETCH16(c, ((size_t)i * ldc + ahead) * sizeof(float));
        OCT__PREFETCH16(c, ((size_t)i * ldc + ahead + 16) * sizeof(float));
        if (e && e->res) {
            OCT__PREFETCH16(e->res, ((size_t)(r0 + i) * e->rs + j0 + ahead) * sizeof(float));
            OCT__PREFETCH16(e->res, ((size_t)(r0 + i) * e->rs + j0 + ahead + 16) * sizeof(float));
        }
        if (up) _mm_prefetch((const char *)(up + (size_t)i * e->us + uoff), _MM_HINT_T0);
    }
}

/* 6 rows x 16 columns: kernel_avx512_rows below for AVX2 + FMA (the same operations,
 * ReLU as max(0, v), which keeps a NaN or a -0 as v < 0 ? 0 : v does).
 *
 * Prefetches, for AVX2-only CPUs (measured on an AMD EPYC Zen 3, family 25 model 1, one
 * thread; along = 0): the callers ran the tiles of one column strip down the rows, so
 * the C rows (and the residual's) of the next tile, 6 rows on, are fetched while this one sums --
 * in a 1x1 convolution each C row is a plane ldc floats from the next, a stream no
 * hardware prefetcher follows, and with few terms (K = 64) the misses on C and the
 * residual were half the time; and with B read in place (!packed) the next strip's
 * segment of each B row (16 floats on) is fetched as this one is read. A 1x1 layer
 * 64 -> 256 on 56x56 with residual and ReLU went from 52 to 65-67 GFLOP/s, Oct-ResNet-50's
 * 1x1 layers from 66.8 to 57.3 ms in all (sum of per-layer minima, alpha 0, batch 1).
 * With along = 1 (apacked_direct's strips of rows) the same rows' lines ahead along
 * each row are fetched instead (gemm_prefetch_along): on a Zen 4 with this kernel forced,
 * within 0.2% of the rows-down prefetch over Oct-ResNet-50 alpha 0.5 batch 8. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
kernel_avx2_rows_r(const int R, const int packed, const int along, const int stream, const int pair, int kc,
                   const float *a, const float *a2, const float *b, size_t ldb, float *c, size_t ldc, int add,
                   const oct__gemm_epi *e, int r0, size_t j0)
{
    __m256 c0[6], c1[6];
    gemm_up8 u0 = {0}, u1 = {0};
    const float *up = e && e->up ? e->up + (size_t)r0 * e->us : NULL;
    if (up) {
        gemm_up8_at(&u0, e->up0 + j0, e->uw);
        gemm_up8_at(&u1, e->up0 + j0 + 8, e->uw);
    }
    OCT__UNROLL for (int i = 0; i < R; i++) c0[i] = c1[i] = _mm256_setzero_ps();
    if (along)
        gemm_prefetch_along(R, GEMM_AHEAD_AVX2, c, ldc, e, r0, j0);
    else
        OCT__UNROLL for (int i = 0; i < R; i++) {
            OCT__PREFETCH16(c, (size_t)(i + 6) * ldc * sizeof(float));
            if (e && e->res) OCT__PREFETCH16(e->res, ((size_t)(r0 + i + 6) * e->rs + j0) * sizeof(float));
            if (up) _mm_prefetch((const char *)(up + (size_t)(i + 6) * e->us + u0.oa), _MM_HINT_T0);
        }
    for (int p = 0; p < kc; p++, a += 6, a2 += pair ? 6 : 0, b += packed ? 16 : ldb) {
        if (!packed) _mm_prefetch((const char *)(b + 16), _MM_HINT_T0);
        if (stream == 1 && (p & 1) == 0) _mm_prefetch((const char *)(a + 6 * GEMM_AHEAD_A), _MM_HINT_T0);
        if (stream == 2) _mm_prefetch((const char *)((uintptr_t)b + OCT__GEMM_AHEAD_B * sizeof(float)), _MM_HINT_T0);
        __m256 b0 = packed ? _mm256_load_ps(b) : _mm256_loadu_ps(b);
        __m256 b1 = packed ? _mm256_load_ps(b + 8) : _mm256_loadu_ps(b + 8);
        OCT__UNROLL for (int i = 0; i < R; i++) {
            __m256 ai = _mm256_broadcast_ss(pair && i >= 2 ? a2 + (i - 2) : a + i);
            c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
        }
    }
    const __m256 zero = _mm256_setzero_ps();
    OCT__UNROLL for (int i = 0; i < R; i++) {
        float *ci = c + i * ldc;
        if (add) {
            c0[i] = _mm256_add_ps(_mm256_loadu_ps(ci), c0[i]);
            c1[i] = _mm256_add_ps(_mm256_loadu_ps(ci + 8), c1[i]);
        }
        if (e) {
            __m256 bv = _mm256_set1_ps(e->bias ? e->bias[r0 + i] : 0.0f);
            c0[i] = _mm256_add_ps(c0[i], bv);
            c1[i] = _mm256_add_ps(c1[i], bv);
            if (e->res) {
                const float *q = e->res + (size_t)(r0 + i) * e->rs + j0;
                c0[i] = _mm256_add_ps(c0[i], _mm256_loadu_ps(q));
                c1[i] = _mm256_add_ps(c1[i], _mm256_loadu_ps(q + 8));
            }
            if (up) {
                const float *ui = up + (size_t)i * e->us;
                c0[i] = _mm256_add_ps(c0[i], gemm_up8_load(&u0, ui));
                c1[i] = _mm256_add_ps(c1[i], gemm_up8_load(&u1, ui));
            }
            if (e->relu) {
                c0[i] = _mm256_max_ps(zero, c0[i]);
                c1[i] = _mm256_max_ps(zero, c1[i]);
            }
        }
        _mm256_storeu_ps(ci, c0[i]);
        _mm256_storeu_ps(ci + 8, c1[i]);
    }
}

/* The whole 6-row tile. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
kernel_avx2_rows(const int packed, int kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc, int add,
                 const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx2_rows_r(6, packed, 0, 0, 0, kc, a, a, b, ldb, c, ldc, add, e, r0, j0);
}

/* The first rows (1..5) of a 6-row a-panel (a strip's last rows past m are zeros) on rows
 * of B (row stride ldb), straight into C with the epilogue e: rows / 6 of a whole tile's
 * FMAs, and no scratch tile or second pass for C and the epilogue. 32 output channels
 * are 5 strips and 2 rows, 64 are 10 and 4: the whole tile spent 4 (2) of its 6 rows'
 * FMAs on zeros there. (With 2 or 4 rows its 4 or 8 sums leave the FMA latency exposed,
 * so such an edge still takes about two thirds of a whole tile's time.) Each row's sums
 * are the 6-row kernel's, term for term. */
__attribute__((target("avx2,fma"))) static void kernel_avx2_edge(int rows, int kc, const float *a, const float *b,
                                                                  size_t ldb, float *c, size_t ldc, int add,
                                                                  const oct__gemm_epi *e, int r0, size_t j0)
{
    switch (rows) {
    case 1: kernel_avx2_rows_r(1, 0, 0, 0, 0, kc, a, a, b, ldb, c, ldc, add, e, r0, j0); break;
    case 2: kernel_avx2_rows_r(2, 0, 0, 0, 0, kc, a, a, b, ldb, c, ldc, add, e, r0, j0); break;
    case 3: kernel_avx2_rows_r(3, 0, 0, 0, 0, kc, a, a, b, ldb, c, ldc, add, e, r0, j0); break;
    case 4: kernel_avx2_rows_r(4, 0, 0, 0, 0, kc, a, a, b, ldb, c, ldc, add, e, r0, j0); break;
    default: kernel_avx2_rows_r(5, 0, 0, 0, 0, kc, a, a, b, ldb, c, ldc, add, e, r0, j0); break;
    }
}

/* The last 8 rows of a block whose rows end 2 into a 6-row a-panel (m = 6 s + 2: 32
 * output channels, 128, 512), apan the last whole panel: rows 0-3 of it as one 4-row
 * tile, then its rows 4-5 with the next panel's 2 as another (pair = 1: rows 2-3 from
 * a2), instead of a whole tile and a 2-row edge, whose 4 sums leave the FMA latency
 * exposed (about 0.6 of a whole tile's time for a third of its rows). Each row's sums
 * are the 6-row kernel's, term for term: the same bits. Old and new library alternated
 * by process, one thread, batch 1, AMD EPYC Zen 3, minima of 6-8 rounds: ten layers at
 * 56x56, 1x1 32 -> 32 0.94x, 128 -> 128 0.97x, 32 -> 128 0.98x, 3x3 32 -> 32 0.95x (ten
 * at 32x32 0.95x); OctNetMini alpha 0.75 0.99x (two threads 0.98x), alpha 0.25 1.00x;
 * Oct-ResNet-50 alpha 0.5 0.98x (two threads 0.99x). */
__attribute__((target("avx2,fma"))) static void kernel_avx2_last8(int kc, const float *apan, const float *b,
                                                                   size_t ldb, float *c, size_t ldc, int add,
                                                                   const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx2_rows_r(4, 0, 0, 0, 0, kc, apan, apan, b, ldb, c, ldc, add, e, r0, j0);
    kernel_avx2_rows_r(4, 0, 0, 0, 1, kc, apan + 4, apan + (size_t)6 * kc, b, ldb, c + 4 * ldc, ldc, add, e, r0 + 4,
                       j0);
}

__attribute__((target("avx2,fma"))) static void kernel_avx2(int kc, const float *a, const float *b, float *c,
                                                             size_t ldc, int add)
{
    kernel_avx2_rows(1, kc, a, b, 16, c, ldc, add, NULL, 0, 0);
}

/* The 6-row kernel on rows of a plain B (row stride ldb), with the epilogue e. */
__attribute__((target("avx2,fma"))) static void kernel_avx2_ldb(int kc, const float *a, const float *b, size_t ldb,
                                                                 float *c, size_t ldc, int add,
                                                                 const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx2_rows(0, kc, a, b, ldb, c, ldc, add, e, r0, j0);
}

/* kernel_avx2_ldb for a product of one strip of columns (stream = 1 in
 * kernel_avx2_rows_r): each a-panel is read once, so it is fetched ahead. */
__attribute__((target("avx2,fma"))) static void kernel_avx2_ldb_stream(int kc, const float *a, const float *b,
                                                                        size_t ldb, float *c, size_t ldc, int add,
                                                                        const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx2_rows_r(6, 0, 0, 1, 0, kc, a, a, b, ldb, c, ldc, add, e, r0, j0);
}

/* kernel_avx2_ldb for tiles run along rows (gemm_prefetch_along). */
__attribute__((target("avx2,fma"))) static void kernel_avx2_ldb_along(int kc, const float *a, const float *b,
                                                                       size_t ldb, float *c, size_t ldc, int add,
                                                                       const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx2_rows_r(6, 0, 1, 0, 0, kc, a, a, b, ldb, c, ldc, add, e, r0, j0);
}
/* kernel_avx2_ldb_along for the first tile of a strip of rows, which reads its a-panel
 * from memory (the others from L1 / L2): the panel fetched ahead too (apacked_direct). */
__attribute__((target("avx2,fma"))) static void kernel_avx2_ldb_along1(int kc, const float *a, const float *b,
                                                                        size_t ldb, float *c, size_t ldc, int add,
                                                                        const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx2_rows_r(6, 0, 1, 1, 0, kc, a, a, b, ldb, c, ldc, add, e, r0, j0);
}

/* A narrow edge strip, C <= 8 of the b-panel's columns (kc, nr: packed, zero past C),
 * times R a-panels (each (kc, mr), mr = 6 or 8, one after the other) into t (R x C
 * vectors of mr rows). A whole 6 x 16 tile costs 12 FMAs a term whatever its width, so a
 * row of 49 pixels (3 x 16 + 1) paid a fourth strip for one column and a row of 196
 * (12 x 16 + 4) a thirteenth for four; here a column costs one FMA a term, an a-panel row
 * a lane, and R panels at once keep R x C sums in flight (one alone would wait on each
 * FMA's latency). Each row's lane sums the same products in the same order as the
 * kernels' (a fused multiply-add from p = 0 up, from zero), so the same bits. The
 * a-panels are read 8 floats a term; for mr = 6 each panel's last read is masked, the
 * others end inside the panel. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
kernel_avx2_cols_n(const int C, const int R, int mr, int kc, const float *a, const float *b, int nr, float *t)
{
    __m256 acc[6][8], av[6];
    OCT__UNROLL for (int r = 0; r < R; r++) OCT__UNROLL for (int j = 0; j < C; j++) acc[r][j] = _mm256_setzero_ps();
    const size_t ps = (size_t)kc * mr; /* one a-panel */
    int p = 0;
    for (; p + 1 < kc; p++, a += mr, b += nr) {
        OCT__UNROLL for (int r = 0; r < R; r++) av[r] = _mm256_loadu_ps(a + r * ps);
        OCT__UNROLL for (int j = 0; j < C; j++) {
            __m256 bj = _mm256_broadcast_ss(b + j);
            OCT__UNROLL for (int r = 0; r < R; r++) acc[r][j] = _mm256_fmadd_ps(av[r], bj, acc[r][j]);
        }
    }
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(mr), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    OCT__UNROLL for (int r = 0; r < R; r++) av[r] = _mm256_maskload_ps(a + r * ps, m);
    OCT__UNROLL for (int j = 0; j < C; j++) {
        __m256 bj = _mm256_broadcast_ss(b + j);
        OCT__UNROLL for (int r = 0; r < R; r++) acc[r][j] = _mm256_fmadd_ps(av[r], bj, acc[r][j]);
    }
    OCT__UNROLL for (int r = 0; r < R; r++) OCT__UNROLL for (int j = 0; j < C; j++)
        _mm256_store_ps(t + (size_t)(r * C + j) * 8, acc[r][j]);
}

/* Strips at once for a narrow strip of cols columns: 6 or more sums in flight, R x C + R
 * + 1 vectors within 15 of the 16 registers. */
static int narrow_r(int cols) { return cols == 1 ? 6 : cols == 2 ? 4 : cols == 3 ? 3 : cols <= 5 ? 2 : 1; }

/* kernel_avx2_cols_n for cols columns over narrow_r(cols) a-panels (all), or one. */
__attribute__((target("avx2,fma"))) static void narrow_tiles(int cols, int all, int mr, int kc, const float *a,
                                                              const float *b, int nr, float *t)
{
    switch (cols) {
    case 1: all ? kernel_avx2_cols_n(1, 6, mr, kc, a, b, nr, t) : kernel_avx2_cols_n(1, 1, mr, kc, a, b, nr, t); break;
    case 2: all ? kernel_avx2_cols_n(2, 4, mr, kc, a, b, nr, t) : kernel_avx2_cols_n(2, 1, mr, kc, a, b, nr, t); break;
    case 3: all ? kernel_avx2_cols_n(3, 3, mr, kc, a, b, nr, t) : kernel_avx2_cols_n(3, 1, mr, kc, a, b, nr, t); break;
    case 4: all ? kernel_avx2_cols_n(4, 2, mr, kc, a, b, nr, t) : kernel_avx2_cols_n(4, 1, mr, kc, a, b, nr, t); break;
    case 5: all ? kernel_avx2_cols_n(5, 2, mr, kc, a, b, nr, t) : kernel_avx2_cols_n(5, 1, mr, kc, a, b, nr, t); break;
    case 6: kernel_avx2_cols_n(6, 1, mr, kc, a, b, nr, t); break;
    case 7: kernel_avx2_cols_n(7, 1, mr, kc, a, b, nr, t); break;
    default: kernel_avx2_cols_n(8, 1, mr, kc, a, b, nr, t); break;
    }
}

/* Rows [0, mc) of the a-panels ap (strips of mr rows, (kc, mr) each, one after the other)
 * times the first cols <= 8 columns of the packed b-panel bp (kc, nr), into c (row
 * stride ldc; added to its values when add), narrow_r(cols) strips at a time, the last
 * ones one by one. */
__attribute__((target("avx2,fma"))) static void narrow_strip(int mr, int kc, int mc, const float *ap, const float *bp,
                                                              int nr, int cols, float *c, size_t ldc, int add)
{
    const int R = narrow_r(cols);
    _Alignas(32) float t[10 * 8]; /* R x C <= 10 vectors (narrow_r) */
    for (int is = 0; is < mc; is += R * mr) {
        const float *a = ap + (size_t)is * kc;
        int r = (mc - is + mr - 1) / mr; /* strips left */
        if (r >= R) {
            narrow_tiles(cols, 1, mr, kc, a, bp, nr, t);
            r = R;
        } else {
            for (int q = 0; q < r; q++) narrow_tiles(cols, 0, mr, kc, a + (size_t)q * kc * mr, bp, nr, t + q * cols * 8);
        }
        int rows = mc - is < r * mr ? mc - is : r * mr;
        for (int i = 0; i < rows; i++) {
            float *ci = c + (size_t)(is + i) * ldc;
            const float *ti = t + (size_t)(i / mr) * cols * 8 + i % mr;
            for (int j = 0; j < cols; j++) ci[j] = add ? ci[j] + ti[j * 8] : ti[j * 8];
        }
    }
}

/* 6 rows x 32 columns for AVX2 + FMA (oct__sgemm_kernel_rows; the channel-lane tiles of
 * smallconv.c): the 6 x 16 kernel on each 16-column half in turn, over the same a-panel;
 * b is the two halves' (kc, 16) panels one after the other. Each output's sum over p is
 * the AVX-512 kernels', in the same order. (A 7 x 16 half needs 17 ymm registers: with
 * one B vector read from memory in each FMA it was load-bound, 15-25% slower than the
 * pixel lanes it was to replace, on an AMD EPYC.) */
__attribute__((target("avx2,fma"))) static void kernel_avx2_r6(int kc, const float *a, const float *b, float *c,
                                                                size_t ldc, int add)
{
    kernel_avx2_rows_r(6, 1, 0, 2, 0, kc, a, a, b, 16, c, ldc, add, NULL, 0, 0);
    kernel_avx2_rows_r(6, 1, 0, 2, 0, kc, a, a, b + (size_t)kc * 16, 16, c + 16, ldc, add, NULL, 0, 0);
}

/* R rows (8, or 7 for oct__sgemm_kernel_rows) x 16 W columns (W = 2: 32; 1: a narrow last
 * strip of the in-place product, apacked_direct); R, W and `packed` are constants
 * in each instantiation below, so the loops unroll, the accumulators stay in registers
 * and the untaken parts fold away. B is a 64-byte aligned panel (packed: rows 16 W floats
 * apart) or rows of a plain matrix ldb floats apart. With e (the product's last K
 * block), the epilogue of oct__gemm_epi is applied in registers before the store, for
 * rows r0.. of its bias and residual and residual columns from j0: the float operations
 * of epi_avx512 -- ((c + bias) + res) + up, then v < 0 ? 0 : v (a -0 or a NaN stays) --
 * on the same values, without storing C and reading it back; the 2x upsample (e->up)
 * reads each vector's 16 pixels as two of kernel_avx2_rows_r's 8-pixel halves. `stream`
 * fetches ahead: 1 the a-panel (GEMM_AHEAD_A), 2 the packed b-panel (OCT__GEMM_AHEAD_B), 3 the
 * in-place B rows' lines of the next tile. */
__attribute__((target("avx512f"), always_inline)) static inline void
kernel_avx512_rows_w(const int R, const int W, const int packed, const int along, const int stream, int kc,
                     const float *a, const float *b, size_t ldb, float *c, size_t ldc, int add,
                     const oct__gemm_epi *e, int r0, size_t j0)
{
    if (along) gemm_prefetch_along(R, GEMM_AHEAD_AVX512, c, ldc, e, r0, j0);
    __m512 acc[8][2];
    gemm_up8 uq[2][2] = {{{0}}}; /* [vector][8-pixel half] */
    const float *up = e && e->up ? e->up + (size_t)r0 * e->us : NULL;
    if (up)
        OCT__UNROLL for (int v = 0; v < W; v++) {
            gemm_up8_at(&uq[v][0], e->up0 + j0 + 16 * (size_t)v, e->uw);
            gemm_up8_at(&uq[v][1], e->up0 + j0 + 16 * (size_t)v + 8, e->uw);
        }
    OCT__UNROLL for (int i = 0; i < R; i++) OCT__UNROLL for (int v = 0; v < W; v++) acc[i][v] = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++, a += R, b += packed ? (size_t)(16 * W) : ldb) {
        __m512 bv[2];
        if (stream == 1 && (p & 1) == 0) _mm_prefetch((const char *)(a + R * GEMM_AHEAD_A), _MM_HINT_T0);
        if (stream == 1 && (p & 1) == 1) _mm_prefetch((const char *)(a + R * GEMM_FAR_A), _MM_HINT_T1);
        if (stream == 3) /* B in place: this row's lines of the next tile (16 W columns on) */
            OCT__UNROLL for (int v = 0; v < W; v++)
                _mm_prefetch((const char *)((uintptr_t)b + (size_t)(16 * W + 16 * v) * sizeof(float)), _MM_HINT_T0);
        if (stream == 2) {
            OCT__UNROLL for (int v = 0; v < W; v++)
                _mm_prefetch((const char *)((uintptr_t)b + (OCT__GEMM_AHEAD_B + 16 * v) * sizeof(float)), _MM_HINT_T0);
            _mm_prefetch((const char *)((uintptr_t)b + OCT__GEMM_FAR_B * sizeof(float)), _MM_HINT_T1);
        }
        OCT__UNROLL for (int v = 0; v < W; v++)
            bv[v] = packed ? _mm512_load_ps(b + 16 * v) : _mm512_loadu_ps(b + 16 * v);
        OCT__UNROLL for (int i = 0; i < R; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            OCT__UNROLL for (int v = 0; v < W; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
    const __m512 zero = _mm512_setzero_ps();
    OCT__UNROLL for (int i = 0; i < R; i++) {
        float *ci = c + i * ldc;
        OCT__UNROLL for (int v = 0; v < W; v++) {
            __m512 t = acc[i][v];
            if (add) t = _mm512_add_ps(_mm512_loadu_ps(ci + 16 * v), t);
            if (e) {
                t = _mm512_add_ps(t, _mm512_set1_ps(e->bias ? e->bias[r0 + i] : 0.0f));
                if (e->res) t = _mm512_add_ps(t, _mm512_loadu_ps(e->res + (size_t)(r0 + i) * e->rs + j0 + 16 * v));
                if (up) {
                    const float *ui = up + (size_t)i * e->us;
                    __m256 lo = gemm_up8_load(&uq[v][0], ui), hi = gemm_up8_load(&uq[v][1], ui);
                    t = _mm512_add_ps(t, _mm512_castpd_ps(_mm512_insertf64x4(
                                             _mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1)));
                }
                if (e->relu) t = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(t, zero, _CMP_NLT_UQ), t);
            }
            _mm512_storeu_ps(ci + 16 * v, t);
        }
    }
}

/* The 32-column tile (two vectors a row). */
__attribute__((target("avx512f"), always_inline)) static inline void
kernel_avx512_rows(const int R, const int packed, int kc, const float *a, const float *b, size_t ldb, float *c,
                   size_t ldc, int add, const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx512_rows_w(R, 2, packed, 0, 0, kc, a, b, ldb, c, ldc, add, e, r0, j0);
}

__attribute__((target("avx512f"))) static void kernel_avx512(int kc, const float *a, const float *b, float *c,
                                                              size_t ldc, int add)
{
    kernel_avx512_rows(8, 1, kc, a, b, 32, c, ldc, add, NULL, 0, 0);
}

/* The channel-lane tiles' kernels (oct__sgemm_kernel_rows): 8 or 7 rows, the packed
 * weight panel fetched ahead (stream = 2, OCT__GEMM_AHEAD_B). */
__attribute__((target("avx512f"))) static void kernel_avx512_sc8(int kc, const float *a, const float *b, float *c,
                                                                  size_t ldc, int add)
{
    kernel_avx512_rows_w(8, 2, 1, 0, 2, kc, a, b, 32, c, ldc, add, NULL, 0, 0);
}
__attribute__((target("avx512f"))) static void kernel_avx512_sc7(int kc, const float *a, const float *b, float *c,
                                                                  size_t ldc, int add)
{
    kernel_avx512_rows_w(7, 2, 1, 0, 2, kc, a, b, 32, c, ldc, add, NULL, 0, 0);
}

/* The 8-row kernel on rows of a plain B (row stride ldb), with the epilogue e; 32
 * columns, or 16 (_ldb16). */
__attribute__((target("avx512f"))) static void kernel_avx512_ldb(int kc, const float *a, const float *b, size_t ldb,
                                                                  float *c, size_t ldc, int add,
                                                                  const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx512_rows(8, 0, kc, a, b, ldb, c, ldc, add, e, r0, j0);
}
__attribute__((target("avx512f"))) static void kernel_avx512_ldb16(int kc, const float *a, const float *b,
                                                                    size_t ldb, float *c, size_t ldc, int add,
                                                                    const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx512_rows_w(8, 1, 0, 0, 0, kc, a, b, ldb, c, ldc, add, e, r0, j0);
}
/* kernel_avx512_ldb16 for a product of one strip of 16 columns or fewer: each a-panel
 * is read once, so it is fetched ahead (kernel_avx2_ldb_stream's fetch). */
__attribute__((target("avx512f"))) static void kernel_avx512_ldb16_stream(int kc, const float *a, const float *b,
                                                                           size_t ldb, float *c, size_t ldc, int add,
                                                                           const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx512_rows_w(8, 1, 0, 0, 1, kc, a, b, ldb, c, ldc, add, e, r0, j0);
}
/* kernel_avx512_ldb for tiles run along rows (gemm_prefetch_along). */
__attribute__((target("avx512f"))) static void kernel_avx512_ldb_along(int kc, const float *a, const float *b,
                                                                        size_t ldb, float *c, size_t ldc, int add,
                                                                        const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx512_rows_w(8, 2, 0, 1, 0, kc, a, b, ldb, c, ldc, add, e, r0, j0);
}
/* kernel_avx512_ldb_along for the first tile of a strip of rows (kernel_avx2_ldb_along1). */
__attribute__((target("avx512f"))) static void kernel_avx512_ldb_along1(int kc, const float *a, const float *b,
                                                                         size_t ldb, float *c, size_t ldc, int add,
                                                                         const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx512_rows_w(8, 2, 0, 1, 1, kc, a, b, ldb, c, ldc, add, e, r0, j0);
}
/* kernel_avx512_ldb_along for the other tiles of a block's first strip of rows, which
 * read B from memory (the later strips find it in L2): each row's lines of the next tile
 * fetched as this tile reads them (stream = 3), as the AVX2 kernels do in every tile. */
__attribute__((target("avx512f"))) static void kernel_avx512_ldb_alongb(int kc, const float *a, const float *b,
                                                                         size_t ldb, float *c, size_t ldc, int add,
                                                                         const oct__gemm_epi *e, int r0, size_t j0)
{
    kernel_avx512_rows_w(8, 2, 0, 1, 3, kc, a, b, ldb, c, ldc, add, e, r0, j0);
}
#define OCT__GEMM_HAVE_LDB 1
#endif

/* ------------------------------------------------------------------------------------ */
/* Dispatch                                                                               */

typedef struct {
    int isa;
    int mr, nr;
    oct__gemm_kernel kernel;
} oct__gemm_impl;

static const oct__gemm_impl impls[] = {
    {OCT__GEMM_SCALAR, 4, 4, kernel_scalar},
#ifdef OCT__GEMM_X86
    {OCT__GEMM_AVX2, 6, 16, kernel_avx2},
    {OCT__GEMM_AVX512, 8, 32, kernel_avx512},
#endif
};

int oct__sgemm_supported(int isa)
{
    switch (isa) {
    case OCT__GEMM_SCALAR: return 1;
#ifdef OCT__GEMM_X86
    case OCT__GEMM_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case OCT__GEMM_AVX512: return __builtin_cpu_supports("avx512f");
#endif
    default: return 0;
    }
}

static const oct__gemm_impl *impl_of(int isa)
{
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++)
        if (impls[i].isa == isa) return &impls[i];
    return &impls[0];
}

static pthread_once_t gemm_once = PTHREAD_ONCE_INIT;
static const oct__gemm_impl *gemm_chosen;
static const oct__gemm_impl *_Atomic gemm_forced;

/* A measuring switch of the GEMM: its environment variable's value (read with $OCTCL_GEMM,
 * once), which a test hook overrides (forced 0 or 1; -1: back to the environment). */
typedef struct {
    int env;
    _Atomic int forced;
} gemm_switch;

static void gemm_switch_force(gemm_switch *sw, int on) { sw->forced = on < 0 ? -1 : on != 0; }

static void gemm_choose(void);
static int gemm_switch_on(gemm_switch *sw)
{
    int f = sw->forced;
    if (f >= 0) return f;
    pthread_once(&gemm_once, gemm_choose);
    return sw->env;
}

/* $OCTCL_GEMM_PACK_B=1: B always packed (oct__sgemm_pack_b). */
static gemm_switch gemm_pack_sw = {0, -1};
void oct__sgemm_pack_b(int on) { gemm_switch_force(&gemm_pack_sw, on); }

/* $OCTCL_GEMM_NARROW=0: edge strips as whole tiles (see gemm_narrow_ok; oct__sgemm_narrow). */
static gemm_switch gemm_narrow_sw = {1, -1};
void oct__sgemm_narrow(int on) { gemm_switch_force(&gemm_narrow_sw, on); }

/* $OCTCL_GEMM_EDGE=0: the AVX2 packed-weight GEMM's edge tiles of rows as whole 6-row
 * tiles through a scratch tile (see kernel_avx2_edge; oct__sgemm_edge). */
static gemm_switch gemm_edge_sw = {1, -1};
void oct__sgemm_edge(int on) { gemm_switch_force(&gemm_edge_sw, on); }

/* $OCTCL_GEMM_ROWS: 0, apacked_direct's column strips outermost, as before 2026-12-01; 1,
 * strips of rows; unset, by kernel (see gemm_rows_ok; oct__sgemm_rows). env -1: unset. */
static gemm_switch gemm_rows_sw = {-1, -1};
void oct__sgemm_rows(int on) { gemm_switch_force(&gemm_rows_sw, on); }

int oct__sgemm_isa_named(const char *name)
{
    if (!name) return -1;
    return strcmp(name, "avx512") == 0 ? OCT__GEMM_AVX512
           : strcmp(name, "avx2") == 0 ? OCT__GEMM_AVX2
           : strcmp(name, "scalar") == 0 ? OCT__GEMM_SCALAR
                                         : -1;
}

static void gemm_choose(void)
{
    int isa = oct__sgemm_supported(OCT__GEMM_AVX512) ? OCT__GEMM_AVX512
              : oct__sgemm_supported(OCT__GEMM_AVX2) ? OCT__GEMM_AVX2
                                                     : OCT__GEMM_SCALAR;
    int want = oct__sgemm_isa_named(getenv("OCTCL_GEMM"));
    if (want >= 0 && oct__sgemm_supported(want)) isa = want;
    gemm_chosen = impl_of(isa);
    const char *pb = getenv("OCTCL_GEMM_PACK_B");
    gemm_pack_sw.env = pb && strcmp(pb, "1") == 0;
    const char *nw = getenv("OCTCL_GEMM_NARROW");
    gemm_narrow_sw.env = !(nw && strcmp(nw, "0") == 0);
    const char *ed = getenv("OCTCL_GEMM_EDGE");
    gemm_edge_sw.env = !(ed && strcmp(ed, "0") == 0);
    const char *rw = getenv("OCTCL_GEMM_ROWS");
    gemm_rows_sw.env = rw && strcmp(rw, "0") == 0 ? 0 : rw && strcmp(rw, "1") == 0 ? 1 : -1;
}

int oct__sgemm_force(int isa)
{
    if (isa < 0) {
        gemm_forced = NULL;
        return 1;
    }
    if (!oct__sgemm_supported(isa)) return 0;
    gemm_forced = impl_of(isa);
    return 1;
}

int oct__sgemm_isa_auto(void)
{
    pthread_once(&gemm_once, gemm_choose);
    return gemm_chosen->isa;
}

int oct__sgemm_isa(void)
{
    const oct__gemm_impl *f = gemm_forced;
    return f ? f->isa : oct__sgemm_isa_auto();
}

/* ------------------------------------------------------------------------------------ */
/* Packing                                                                                */

/* A' rows [i0, i0 + mc) x columns [p0, p0 + kc) into strips of mr rows: strip s holds
 * (kc, mr) with rows past mc zero. A' (i, p) is a[i * lda + p], or a[p * lda + i] when
 * transposed. */
static void pack_a(const float *a, int lda, int trans, int i0, int mc, int p0, int kc, int mr, float *dst)
{
    for (int s = 0; s < mc; s += mr, dst += (size_t)kc * mr) {
        int rows = mc - s < mr ? mc - s : mr;
        for (int p = 0; p < kc; p++) {
            float *d = dst + (size_t)p * mr;
            int r = 0;
            if (trans) {
                const float *src = a + (size_t)(p0 + p) * lda + i0 + s;
                for (; r < rows; r++) d[r] = src[r];
            } else {
                const float *src = a + (size_t)(i0 + s) * lda + p0 + p;
                for (; r < rows; r++) d[r] = src[(size_t)r * lda];
            }
            for (; r < mr; r++) d[r] = 0.0f;
        }
    }
}

/* B' rows [p0, p0 + kc) x columns [j0, j0 + nc) into strips of nr columns: strip s holds
 * (kc, nr) with columns past nc zero. B' (p, j) is b[p * ldb + j], or b[j * ldb + p]
 * when transposed. */
static void pack_b(const float *b, int ldb, int trans, int p0, int kc, int j0, int nc, int nr, float *dst)
{
    for (int s = 0; s < nc; s += nr, dst += (size_t)kc * nr) {
        int cols = nc - s < nr ? nc - s : nr;
        for (int p = 0; p < kc; p++) {
            float *d = dst + (size_t)p * nr;
            int j = 0;
            if (trans) {
                const float *src = b + (size_t)(j0 + s) * ldb + p0 + p;
                for (; j < cols; j++) d[j] = src[(size_t)j * ldb];
            } else {
                const float *src = b + (size_t)(p0 + p) * ldb + j0 + s;
                /* Whole strips: copies of a constant size, inline (a memcpy call per
                 * 32-float row cost 20% of a K = 64 product). As memcpy of a constant
                 * size, which gcc inlines as vector moves: the loops it had been
                 * written as compiled to a scalar load and store a float (d and src
                 * may overlap for all it knows). */
                if (cols == 32 && nr == 32) {
                    memcpy(d, src, 32 * sizeof *d);
                    continue;
                }
                if (cols == 16 && nr == 16) {
                    memcpy(d, src, 16 * sizeof *d);
                    continue;
                }
                if (cols == nr) {
                    memcpy(d, src, (size_t)nr * sizeof *d);
                    continue;
                }
                for (; j < cols; j++) d[j] = src[j];
            }
            for (; j < nr; j++) d[j] = 0.0f;
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* The blocked product                                                                    */

/* An edge tile's valid rows x cols from the kernel's scratch tile (row stride nr) into
 * C (row stride ldc), added to C's values when add. */
static void tile_out(const float *tile, int nr, float *cp, size_t ldc, int rows, int cols, int add)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            float v = tile[i * nr + j];
            cp[(size_t)i * ldc + j] = add ? cp[(size_t)i * ldc + j] + v : v;
        }
}

/* Whether an edge strip of cols columns runs narrow_strip (AVX2 or AVX-512, cols <= 8)
 * rather than the whole tile: yes unless $OCTCL_GEMM_NARROW=0 (read once, for
 * comparisons); oct__sgemm_narrow overrides it (-1: back to the environment). */
static int gemm_narrow_ok(int isa, int cols)
{
    if ((isa != OCT__GEMM_AVX2 && isa != OCT__GEMM_AVX512) || cols > 8) return 0;
    return gemm_switch_on(&gemm_narrow_sw);
}

int oct__sgemm_narrow_cols(int isa) { return gemm_narrow_ok(isa, 1) ? 8 : 0; }

/* Whether the AVX2 packed-weight GEMM computes an edge tile of rows (fewer than 6) on
 * those rows alone (kernel_avx2_edge): yes unless $OCTCL_GEMM_EDGE=0 or oct__sgemm_edge(0). */
static int gemm_edge_ok(void) { return gemm_switch_on(&gemm_edge_sw); }

/* Whether rows [is, mc) of a block end as kernel_avx2_last8 takes them: 8 rows, on the
 * AVX2 kernel's whole-width tiles with the edge kernel on. */
static int gemm_last8(int avx512, int mr, int mc, int is, int whole)
{
    return !avx512 && mr == 6 && mc - is == 8 && whole && gemm_edge_ok();
}

/* Whether apacked_direct runs each K block in strips of rows across panels of columns
 * (apacked_blocks asks it too, on the AVX2 kernel only):
 * $OCTCL_GEMM_ROWS (oct__sgemm_rows overrides it), else on the AVX-512 kernel, and on
 * the AVX2 one for products of GEMM_ROWS_AVX2_K terms or fewer. The AVX2 kernel in rows
 * throughout, forced on an AMD EPYC Zen 4 (two threads, Oct-ResNet-50, ABBA minima), ran
 * even in all: batch 8 alpha 0.5 176.9 -> 175.0 ms, batch 1 alpha 0.5 26.14 -> 26.23,
 * alpha 0 34.06 -> 34.60 (its 28x28 1x1 layers 0.93x); on an AVX2-only Zen 3, per layer
 * class, only the products of few terms gained: see GEMM_ROWS_AVX2_K. */
static int gemm_rows_ok(int isa, int k)
{
    int on = gemm_switch_on(&gemm_rows_sw);
    return on >= 0 ? on : isa == OCT__GEMM_AVX512 || k <= GEMM_ROWS_AVX2_K;
}

/* The blocked product with blocks (kcb, mcb, ncb) and packing buffers pa (mcb * kcb),
 * pb (kcb * ncb), both 64-byte aligned. */
static void sgemm_blocked(const oct__gemm_impl *f, int trans_a, int trans_b, int m, int n, int k, const float *a,
                          int lda, const float *b, int ldb, float *c, int ldc, int accumulate, int kcb, int mcb, int ncb,
                          float *pa, float *pb)
{
    _Alignas(64) float tile[MR_MAX * NR_MAX];
    const int mr = f->mr, nr = f->nr;
    for (int j0 = 0; j0 < n; j0 += ncb) {
        int nc = n - j0 < ncb ? n - j0 : ncb;
        for (int p0 = 0; p0 < k; p0 += kcb) {
            int kc = k - p0 < kcb ? k - p0 : kcb, add = accumulate || p0 > 0;
            pack_b(b, ldb, trans_b, p0, kc, j0, nc, nr, pb);
            for (int i0 = 0; i0 < m; i0 += mcb) {
                int mc = m - i0 < mcb ? m - i0 : mcb;
                pack_a(a, lda, trans_a, i0, mc, p0, kc, mr, pa);
                for (int js = 0; js < nc; js += nr) {
                    const float *bp = pb + (size_t)(js / nr) * kc * nr;
                    int cols = nc - js < nr ? nc - js : nr;
#ifdef OCT__GEMM_X86
                    if (cols < nr && gemm_narrow_ok(f->isa, cols)) {
                        narrow_strip(mr, kc, mc, pa, bp, nr, cols, c + (size_t)i0 * ldc + j0 + js, (size_t)ldc, add);
                        continue;
                    }
#endif
                    for (int is = 0; is < mc; is += mr) {
                        const float *ap = pa + (size_t)(is / mr) * kc * mr;
                        int rows = mc - is < mr ? mc - is : mr;
                        float *cp = c + (size_t)(i0 + is) * ldc + j0 + js;
                        if (rows == mr && cols == nr) {
                            f->kernel(kc, ap, bp, cp, (size_t)ldc, add);
                            continue;
                        }
                        /* An edge tile: the whole tile into scratch, the valid part out. */
                        f->kernel(kc, ap, bp, tile, (size_t)nr, 0);
                        tile_out(tile, nr, cp, (size_t)ldc, rows, cols, add);
                    }
                }
            }
        }
    }
}

/* Packing buffers: one pair per thread on the heap (a thread's stack may be small: musl
 * gives 128 KB, `ulimit -s` less), made on the thread's first call and freed when it
 * ends. */
typedef struct oct__gemm_bufs {
    _Alignas(64) float a[MC * KC];
    _Alignas(64) float b[KC * NC];
    struct oct__gemm_bufs *prev, *next; /* every live pair, reachable from gemm_live */
} oct__gemm_bufs;

static _Atomic int gemm_small;
void oct__sgemm_small_blocks(int on) { gemm_small = on; }

/* Tuning hook (tune.c): the blocks of the heap path, at most the buffers' KC, MC, NC; mc
 * a multiple of 24 and nc of 32 (every MR and NR divides them). Process-wide. */
static _Atomic int gemm_kc = KC, gemm_mc = MC, gemm_nc = NC;
void oct__sgemm_blocks(int kc, int mc, int nc)
{
    gemm_kc = kc > 0 && kc <= KC ? kc : KC;
    gemm_mc = mc > 0 && mc <= MC && mc % 24 == 0 ? mc : MC;
    gemm_nc = nc > 0 && nc <= NC && nc % 32 == 0 ? nc : NC;
}
void oct__sgemm_blocks_get(int *kc, int *mc, int *nc)
{
    *kc = gemm_kc, *mc = gemm_mc, *nc = gemm_nc;
}

static pthread_key_t gemm_key;
static int gemm_key_ok;
static pthread_once_t gemm_key_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t gemm_live_lock = PTHREAD_MUTEX_INITIALIZER;
static oct__gemm_bufs *gemm_live; /* the main thread's pair stays here until exit */

static void gemm_bufs_free(void *v)
{
    oct__gemm_bufs *p = v;
    pthread_mutex_lock(&gemm_live_lock);
    if (p->prev) p->prev->next = p->next;
    else gemm_live = p->next;
    if (p->next) p->next->prev = p->prev;
    pthread_mutex_unlock(&gemm_live_lock);
    free(p);
}

static void gemm_key_make(void) { gemm_key_ok = pthread_key_create(&gemm_key, gemm_bufs_free) == 0; }

static oct__gemm_bufs *gemm_bufs(void)
{
    pthread_once(&gemm_key_once, gemm_key_make);
    if (!gemm_key_ok) return NULL;
    oct__gemm_bufs *p = pthread_getspecific(gemm_key);
    if (p) return p;
    /* Not oct__malloc: this call has no failure to report (the small blocks below serve
     * when memory is short), so fault injection has nothing to test here. */
    if (posix_memalign((void **)&p, 64, sizeof *p) != 0) return NULL;
    if (pthread_setspecific(gemm_key, p) != 0) {
        free(p);
        return NULL;
    }
    pthread_mutex_lock(&gemm_live_lock);
    p->prev = NULL;
    p->next = gemm_live;
    if (gemm_live) gemm_live->prev = p;
    gemm_live = p;
    pthread_mutex_unlock(&gemm_live_lock);
    return p;
}

void oct__sgemm(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                float *c, int ldc, int accumulate)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate)
            for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof *c);
        return;
    }
    const oct__gemm_impl *f = gemm_forced;
    if (!f) {
        pthread_once(&gemm_once, gemm_choose);
        f = gemm_chosen;
    }
    oct__gemm_bufs *bufs = gemm_small ? NULL : gemm_bufs();
    if (bufs) {
        sgemm_blocked(f, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, gemm_kc, gemm_mc, gemm_nc, bufs->a,
                      bufs->b);
        return;
    }
    /* Out of memory for the buffers: small blocks on the stack (~15 KB), slower but the
     * same sums in the same order within each block. */
    _Alignas(64) float pa[SMALL_MC * SMALL_KC];
    _Alignas(64) float pb[SMALL_KC * SMALL_NC];
    sgemm_blocked(f, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, SMALL_KC, SMALL_MC, SMALL_NC, pa,
                  pb);
}

/* ------------------------------------------------------------------------------------ */
/* A packed once (weights used by many products)                                          */

int oct__sgemm_mr(int isa) { return impl_of(isa)->mr; }

int oct__sgemm_nr(int isa) { return impl_of(isa)->nr; }

oct__gemm_kernel oct__sgemm_kernel_rows(int isa, int rows)
{
#ifdef OCT__GEMM_X86
    if (isa == OCT__GEMM_AVX512 && oct__sgemm_supported(isa))
        return rows == 8 ? kernel_avx512_sc8 : rows == 7 ? kernel_avx512_sc7 : NULL;
    if (isa == OCT__GEMM_AVX2 && oct__sgemm_supported(isa)) return rows == 6 ? kernel_avx2_r6 : NULL;
#endif
    (void)isa, (void)rows;
    return NULL;
}

/* Rows of A rounded up to whole strips, times k. */
size_t oct__sgemm_apack_floats(int isa, int m, int k)
{
    int mr = impl_of(isa)->mr;
    return (size_t)((m + mr - 1) / mr * mr) * (size_t)(k > 0 ? k : 0);
}

/* ap: for each block of KC along k (the last one shorter), all of A' rows in strips of mr
 * (kc, mr) -- what sgemm_blocked packs for (i0, p0), side by side: the strip of row i
 * (i a multiple of mr) in the block at p0 starts at p0 * Mr + i * kc, Mr = m rounded up. */
void oct__sgemm_apack(int isa, int trans_a, int m, int k, const float *a, int lda, float *ap)
{
    const oct__gemm_impl *f = impl_of(isa);
    int mr = f->mr, mrnd = (m + mr - 1) / mr * mr;
    for (int p0 = 0; p0 < k; p0 += KC) {
        int kc = k - p0 < KC ? k - p0 : KC;
        pack_a(a, lda, trans_a, 0, m, p0, kc, mr, ap + (size_t)p0 * mrnd);
    }
}

/* The epilogue on a tile just stored (rows [r0, r0 + rows) of the product, columns
 * [j0, j0 + cols), c at its first element): c = relu((c + bias[r]) + res), the same float
 * operations in the same order as a separate pass over C after the product. The body
 * is compiled once per kernel's instruction set (the loop vectorises to its width). */
#define OCT__EPI_BODY                                                                                      \
    for (int i = 0; i < rows; i++) {                                                                       \
        float *restrict o = c + (size_t)i * ldc;                                                           \
        const float *restrict q = e->res ? e->res + (size_t)(r0 + i) * e->rs + j0 : NULL;                  \
        float bv = e->bias ? e->bias[r0 + i] : 0.0f;                                                       \
        if (e->up) {                                                                                       \
            const float *u = e->up + (size_t)(r0 + i) * e->us;                                             \
            size_t uw = (size_t)e->uw, p = e->up0 + j0, y = p / uw, x = p % uw;                            \
            for (int j = 0; j < cols; j++) {                                                               \
                float v = o[j] + bv;                                                                       \
                if (q) v = v + q[j];                                                                       \
                v = v + u[y / 2 * (uw / 2) + x / 2];                                                       \
                o[j] = e->relu && v < 0.0f ? 0.0f : v;                                                     \
                if (++x == uw) x = 0, y++;                                                                 \
            }                                                                                              \
        } else if (q && e->relu)                                                                           \
            for (int j = 0; j < cols; j++) {                                                               \
                float v = (o[j] + bv) + q[j];                                                              \
                o[j] = v < 0.0f ? 0.0f : v;                                                                \
            }                                                                                              \
        else if (q)                                                                                        \
            for (int j = 0; j < cols; j++) o[j] = (o[j] + bv) + q[j];                                      \
        else if (e->relu)                                                                                  \
            for (int j = 0; j < cols; j++) {                                                               \
                float v = o[j] + bv;                                                                       \
                o[j] = v < 0.0f ? 0.0f : v;                                                                \
            }                                                                                              \
        else if (e->bias)                                                                                  \
            for (int j = 0; j < cols; j++) o[j] += bv;                                                     \
    }
typedef void (*oct__gemm_epi_fn)(const oct__gemm_epi *e, int r0, int rows, size_t j0, int cols, float *c,
                                 size_t ldc);
static void epi_scalar(const oct__gemm_epi *e, int r0, int rows, size_t j0, int cols, float *c, size_t ldc)
{
    OCT__EPI_BODY
}
#ifdef OCT__GEMM_X86
__attribute__((target("avx2,fma"))) static void epi_avx2(const oct__gemm_epi *e, int r0, int rows, size_t j0,
                                                          int cols, float *c, size_t ldc)
{
    OCT__EPI_BODY
}
__attribute__((target("avx512f"))) static void epi_avx512(const oct__gemm_epi *e, int r0, int rows, size_t j0,
                                                           int cols, float *c, size_t ldc)
{
    OCT__EPI_BODY
}
#endif
#undef OCT__EPI_BODY

/* e, or NULL where it has nothing to do. */
static const oct__gemm_epi *gemm_epi_used(const oct__gemm_epi *e)
{
    return e && (e->bias || e->res || e->relu || e->up) ? e : NULL;
}

static oct__gemm_epi_fn epi_of(int isa)
{
#ifdef OCT__GEMM_X86
    if (isa == OCT__GEMM_AVX512) return epi_avx512;
    if (isa == OCT__GEMM_AVX2) return epi_avx2;
#endif
    (void)isa;
    return epi_scalar;
}

void oct__sgemm_apacked(int isa, int m0, int m1, int m, int n, int k, const float *ap, const float *b, int ldb,
                        float *c, int ldc, int accumulate)
{
    oct__sgemm_apacked_epi(isa, m0, m1, m, n, k, ap, b, ldb, c, ldc, accumulate, NULL);
}

/* B as a plain matrix: the packing of oct__sgemm. */
typedef struct {
    const float *b;
    int ldb;
} gemm_plain_b;

static void gemm_pack_plain(const void *ctx, int p0, int kc, int j0, int nc, int nr, float *dst)
{
    const gemm_plain_b *pb = ctx;
    pack_b(pb->b, pb->ldb, 0, p0, kc, j0, nc, nr, dst);
}

static int gemm_pack_b(void) { return gemm_switch_on(&gemm_pack_sw); }

#ifdef OCT__GEMM_HAVE_LDB
/* oct__sgemm_apacked_epi for the AVX-512 8 x 32 kernel (and the AVX2 6 x 16 one) with B
 * read in place: whole strips of nr columns straight from b (row stride ldb), the last
 * narrower one packed. A packed panel is reused by every tile of A; B read in place
 * saves the copy, and the rows it reads stay in L2 for the next tiles. One thread,
 * minimum over runs, per layer on an AMD EPYC (AVX-512): 1x1 and Winograd GEMMs on 56x56
 * and 28x28 planes 4-8% faster, 14x14 and 7x7 planes (unaligned rows of 196 and 49)
 * within +-2%; whole Oct-ResNet-50 passes 1.6-2% faster (alpha 0 and 0.5). The AVX2
 * kernel (on the same CPU, OCTCL_GEMM=avx2): see oct__sgemm_apacked_epi.
 * $OCTCL_GEMM_PACK_B=1 packs B as before. The sums are the same, term for term, in the
 * same order. */
typedef void (*gemm_ldb_kernel)(int kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc, int add,
                                const oct__gemm_epi *e, int r0, size_t j0);

/* One tile of apacked_direct, rows x cols of C at cp (row r0 and column j0 of the block):
 * on kk with the epilogue e in registers when it is whole (mr x nrk), on AVX2's edge
 * kernel when only rows are short, else on kk into the scratch tile, copied out and
 * then given e. */
static inline void direct_tile(gemm_ldb_kernel kk, int avx512, int mr, int nrk, int rows, int cols, int kc,
                               const float *apan, const float *bp, size_t lb, float *cp, size_t ldc, int add,
                               const oct__gemm_epi *e, oct__gemm_epi_fn ef, int r0, size_t j0, float *tile)
{
    if (rows == mr && cols == nrk) {
        kk(kc, apan, bp, lb, cp, ldc, add, e, r0, j0);
    } else if (!avx512 && cols == nrk && gemm_edge_ok()) {
        kernel_avx2_edge(rows, kc, apan, bp, lb, cp, ldc, add, e, r0, j0);
    } else {
        kk(kc, apan, bp, lb, tile, (size_t)nrk, 0, NULL, 0, 0);
        tile_out(tile, nrk, cp, ldc, rows, cols, add);
        if (e) ef(e, r0, rows, j0, cols, cp, ldc);
    }
}

static void apacked_direct(int isa, int m0, int m1, int m, int n, int k, const float *ap, const float *b, int ldb,
                           float *c, int ldc, int accumulate, const oct__gemm_epi *epi)
{
    const int avx512 = isa == OCT__GEMM_AVX512, mr = avx512 ? 8 : 6, nr = avx512 ? 32 : 16;
    const int mrnd = (m + mr - 1) / mr * mr;
    /* A product of one strip of 16 columns or fewer reads each a-panel once: on the
     * kernels that fetch the panels ahead (GEMM_AHEAD_A). */
    const int stream = n <= 16;
    gemm_ldb_kernel kern = avx512 ? kernel_avx512_ldb : stream ? kernel_avx2_ldb_stream : kernel_avx2_ldb;
    gemm_ldb_kernel along = avx512 ? kernel_avx512_ldb_along : kernel_avx2_ldb_along;
    gemm_ldb_kernel along1 = avx512 ? kernel_avx512_ldb_along1 : kernel_avx2_ldb_along1;
    gemm_ldb_kernel alongb = avx512 ? kernel_avx512_ldb_alongb : along;
    oct__gemm_epi_fn ef = epi_of(isa);
    oct__gemm_bufs *bufs = gemm_small ? NULL : gemm_bufs();
    _Alignas(64) float small_b[KC * NR_MAX];
    _Alignas(64) float tile[MR_MAX * NR_MAX];
    float *edge = bufs ? bufs->b : small_b;
    int mcb = gemm_mc;
    int jfull = 0; /* columns [0, jfull) already done by the row-strip order below */
    if (gemm_rows_ok(isa, k)) {
        /* Per K block, whole strips of mr rows, each across a panel of B's columns that
         * stays in L2 (kc * cols <= GEMM_ROWS_FLOATS), so C, the residual and the
         * upsample are read and written in runs along each row (prefetched along it,
         * gemm_prefetch_along) rather than a piece of nr floats of every row of the
         * block in turn: a 1x1 layer's block is up to 1024 columns of 32-256 rows, and
         * each row of C is a plane apart, so the column order kept 3 x mr streams of
         * 128 bytes that no hardware prefetcher follows. AMD EPYC Zen 4 (AVX-512), two
         * threads, Oct-ResNet-50, sums of per-layer minima over 6 processes alternated
         * ABBA: alpha 0.5 batch 8, the H->H 1x1 layers on 56x56 17.46 -> 11.36 ms, on
         * 28x28 18.30 -> 13.10, the low band's 28x28 pairs 3.83 -> 2.51 (the along
         * prefetch a further 3% on the whole pass); alpha 0 batch 8, 56x56 1x1 layers
         * 42.98 -> 38.64 ms, 28x28 49.11 -> 46.77; layers of several K blocks (14x14,
         * 7x7) within 1%. The AVX2 kernel takes it for products of up to
         * GEMM_ROWS_AVX2_K terms and keeps the column order for the rest unless
         * $OCTCL_GEMM_ROWS=1 (gemm_rows_ok); $OCTCL_GEMM_ROWS=0 keeps it for both. */
        int kb = k < KC ? k : KC, pw = GEMM_ROWS_FLOATS / kb / nr * nr;
        if (pw < nr) pw = nr;
        jfull = n / nr * nr;
        for (int j0 = 0; j0 < jfull; j0 += pw) {
            int j1 = jfull - j0 < pw ? jfull : j0 + pw;
            for (int p0 = 0; p0 < k; p0 += KC) {
                int kc = k - p0 < KC ? k - p0 : KC, add = accumulate || p0 > 0;
                const oct__gemm_epi *e = p0 + kc >= k ? epi : NULL;
                const float *apk = ap + (size_t)p0 * mrnd, *bk = b + (size_t)p0 * ldb;
                for (int i = m0; i < m1; i += mr) {
                    const float *apan = apk + (size_t)i * kc;
                    int rows = m1 - i < mr ? m1 - i : mr;
                    float *ci = c + (size_t)(i - m0) * ldc;
                    if (gemm_last8(avx512, mr, m1, i, 1)) {
                        for (int js = j0; js < j1; js += nr)
                            kernel_avx2_last8(kc, apan, bk + js, (size_t)ldb, ci + js, (size_t)ldc, add, e, i - m0,
                                              (size_t)js);
                        break;
                    }
                    /* The first tile of the strip reads its a-panel from memory (the
                     * others from L1 or L2) and fetches it ahead (GEMM_AHEAD_A): where a
                     * strip has few tiles, as Winograd's products at batch 1 (49 tiles
                     * of a 28x28 plane: one whole tile, then a 16-column and a narrow
                     * strip that find the panel in L2), the panels stream at the FMAs'
                     * pace and the hardware prefetcher stops at each page's end. Intel
                     * Xeon (Emerald Rapids), two threads, old and new library alternated,
                     * sums of per-layer minima, Oct-ResNet-50: batch 1 alpha 0 the 28x28
                     * 3x3 layers 0.88x, 56x56 0.96x, the pass's layers 0.988x (alpha 0.5
                     * 0.996x); batch 8 the 14x14 3x3 layers 0.79x, 7x7 0.83x, 28x28
                     * 0.94x, the pass's layers 0.963x at alpha 0 and at alpha 0.5. The
                     * AVX2 kernels there (OCTCL_GEMM=avx2): 1.006x and 0.997x, even.
                     *   The other tiles of the first strip read B's rows from memory,
                     * up to 256 rows (planes) at once, more streams than the hardware
                     * follows: AVX-512 fetches each row's next tile there (alongb;
                     * AVX2's kernels fetch it in every tile). Batch 8: alpha 0 the 56x56
                     * 1x1 layers 0.93x, 28x28 0.98x, the pass's layers 0.987x; alpha
                     * 0.5 the high band's 56x56 1x1 layers 0.95x, the 28x28 pairs 0.95x,
                     * the pass 0.981x (forward minima); batch 1 alpha 0.5 0.994x. In
                     * every strip: alpha 0 batch 8 1.018x, the 14x14 layers 1.075x. The
                     * same bits (a fetch changes no value). */
                    for (int js = j0; js < j1; js += nr)
                        direct_tile(js == j0 ? along1 : i == m0 ? alongb : along, avx512, mr, nr, rows, nr, kc,
                                    apan, bk + js, (size_t)ldb, ci + js, (size_t)ldc, add, e, ef, i - m0, (size_t)js,
                                    tile);
                }
            }
        }
    }
    for (int js = jfull; js < n;) {
        int cols = n - js < nr ? n - js : nr;
        /* AVX-512: a last strip of 8 columns or fewer on the narrow-strip kernel, B in
         * place (a 14x14 plane: 196 = 6 x 32 + 4, one FMA a column a term where the
         * 16-column kernel did 16); one of 17-24 as 16 on the 16-column kernel, then the
         * rest narrow (Winograd's 49 tiles: 32 + 16 + 1, where a whole 32-column tile
         * took the last 17). Two threads, AMD EPYC Zen 4, Oct-ResNet-50 batch 1, both
         * ways in one process, passes alternated, sums of 20-30 per-layer minima: alpha
         * 0.5 27.88 -> 27.22 ms (its 14x14 layers 5-10% faster), alpha 0 39.46 -> 38.54;
         * batch 8 within the noise (+-4% on layers it does not touch). (7x7 1x1 layers
         * of 128 input channels and more take the channel-lane path, cpu__sc_use, which
         * still measured 1.04-1.5x faster than this.) */
        int narrow = gemm_narrow_ok(isa, cols); /* 8 columns or fewer */
        if (avx512 && cols > 16 && gemm_narrow_ok(isa, cols - 16)) cols = 16;
        /* A last strip of 16 columns or fewer: AVX-512's 16-column kernel (a 14x14
         * plane's 196 = 6 x 32 + 4 columns ran 7 whole 32-column tiles). */
        int nrk = avx512 && cols <= 16 ? 16 : nr;
        gemm_ldb_kernel kk = nrk == nr ? kern : stream ? kernel_avx512_ldb16_stream : kernel_avx512_ldb16;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = k - p0 < KC ? k - p0 : KC, add = accumulate || p0 > 0, last = p0 + kc >= k;
            const float *bp = b + (size_t)p0 * ldb + js;
            size_t lb = (size_t)ldb;
            if (cols < nrk && !(avx512 && narrow)) { /* AVX-512's narrow strip reads B in place */
                pack_b(b, ldb, 0, p0, kc, js, cols, nrk, edge);
                bp = edge, lb = (size_t)nrk;
            }
            const float *apk = ap + (size_t)p0 * mrnd;
            for (int i0 = m0; i0 < m1; i0 += mcb) {
                int mc = m1 - i0 < mcb ? m1 - i0 : mcb;
                if (narrow) {
                    float *cp = c + (size_t)(i0 - m0) * ldc + js;
                    narrow_strip(mr, kc, mc, apk + (size_t)i0 * kc, bp, (int)lb, cols, cp, (size_t)ldc, add);
                    if (epi && last) ef(epi, i0 - m0, mc, (size_t)js, cols, cp, (size_t)ldc);
                    continue;
                }
                for (int is = 0; is < mc; is += mr) {
                    int rows = mc - is < mr ? mc - is : mr;
                    if (gemm_last8(avx512, mr, mc, is, cols == nrk)) {
                        kernel_avx2_last8(kc, apk + (size_t)(i0 + is) * kc, bp, lb,
                                          c + (size_t)(i0 + is - m0) * ldc + js, (size_t)ldc, add, last ? epi : NULL,
                                          i0 + is - m0, (size_t)js);
                        break;
                    }
                    direct_tile(kk, avx512, mr, nrk, rows, cols, kc, apk + (size_t)(i0 + is) * kc, bp, lb,
                                c + (size_t)(i0 + is - m0) * ldc + js, (size_t)ldc, add, last ? epi : NULL, ef,
                                i0 + is - m0, (size_t)js, tile);
                }
            }
        }
        js += cols;
    }
}
#endif

void oct__sgemm_apacked_epi(int isa, int m0, int m1, int m, int n, int k, const float *ap, const float *b, int ldb,
                            float *c, int ldc, int accumulate, const oct__gemm_epi *epi)
{
#ifdef OCT__GEMM_HAVE_LDB
    /* AVX2: rows of B 16-float aligned only (unaligned 196- and 49-float rows were slower
     * read in place than packed, Oct-ResNet-50's 14x14 and 7x7 layers). */
    int in_place = isa == OCT__GEMM_AVX512 || (isa == OCT__GEMM_AVX2 && ldb % 16 == 0);
    if (in_place && !gemm_pack_b() && m1 > m0 && n > 0 && k > 0) {
        epi = gemm_epi_used(epi);
        apacked_direct(isa, m0, m1, m, n, k, ap, b, ldb, c, ldc, accumulate, epi);
        return;
    }
#endif
    gemm_plain_b plain = {b, ldb};
    oct__gemm_bsrc src = {gemm_pack_plain, &plain};
    oct__sgemm_apacked_src(isa, m0, m1, m, n, k, ap, &src, c, ldc, accumulate, epi);
}

int oct__sgemm_b_in_place(int isa, int n)
{
#ifdef OCT__GEMM_HAVE_LDB
    if (isa != OCT__GEMM_AVX512 || gemm_pack_b()) return 0;
    int r = n % 32; /* apacked_direct's last strip */
    return r == 0 || r == 16 || gemm_narrow_ok(isa, r) || (r > 16 && gemm_narrow_ok(isa, r - 16));
#else
    (void)isa, (void)n;
    return 0;
#endif
}

int oct__sgemm_packs_b(int isa, int ldb)
{
#ifdef OCT__GEMM_HAVE_LDB
    if ((isa == OCT__GEMM_AVX512 || (isa == OCT__GEMM_AVX2 && ldb % 16 == 0)) && !gemm_pack_b()) return 0;
#else
    (void)ldb;
#endif
    (void)isa;
    return 1;
}

size_t oct__sgemm_bpack_floats(int isa, int n, int k)
{
    size_t nr = (size_t)impl_of(isa)->nr;
    return n > 0 && k > 0 ? ((size_t)n + nr - 1) / nr * nr * (size_t)k : 0;
}

void oct__sgemm_bpack(int isa, int n, int k, const float *b, int ldb, int s0, int s1, float *dst)
{
    const int nr = impl_of(isa)->nr;
    for (int s = s0; s < s1 && (size_t)s * nr < (size_t)n; s++) {
        int cols = n - s * nr < nr ? n - s * nr : nr;
        pack_b(b, ldb, 0, 0, k, s * nr, cols, nr, dst + (size_t)s * k * nr);
    }
}

static void apacked_blocks(int isa, int m0, int m1, int m, int n, int k, const float *ap, const oct__gemm_bsrc *src,
                           const float *pre, float *c, int ldc, int accumulate, const oct__gemm_epi *epi);

void oct__sgemm_apacked_pre(int isa, int m0, int m1, int m, int n, int k, const float *ap, const float *bpk, float *c,
                            int ldc, int accumulate, const oct__gemm_epi *epi)
{
    apacked_blocks(isa, m0, m1, m, n, k, ap, NULL, bpk, c, ldc, accumulate, epi);
}

void oct__sgemm_apacked_src(int isa, int m0, int m1, int m, int n, int k, const float *ap, const oct__gemm_bsrc *src,
                            float *c, int ldc, int accumulate, const oct__gemm_epi *epi)
{
    apacked_blocks(isa, m0, m1, m, n, k, ap, src, NULL, c, ldc, accumulate, epi);
}

/* The (kc, nr) panel of B for apacked_blocks' strip at column js of the block from j0, K
 * rows from p0: in pre, packed whole (strips of k x nr), or in pb, this block's packing. */
static inline const float *blocks_panel(const float *pre, const float *pb, int nr, int k, int kc, int p0, int j0,
                                        int js)
{
    return pre ? pre + (size_t)((j0 + js) / nr) * k * nr + (size_t)p0 * nr : pb + (size_t)(js / nr) * kc * nr;
}

/* One tile of apacked_blocks: rows [is, is + mr) of the block's rows from i0, columns
 * [js, js + cols) of the panel from j0, on the kernel that fits; 1 when it ran the block's
 * last 8 rows (kernel_avx2_last8) so that no row of the strip is left. */
static inline int blocks_tile(const oct__gemm_impl *f, int isa, int m0, int mc, int i0, int is, int j0, int js,
                              int cols, int kc, const float *apk, const float *bp, float *c, int ldc, int add,
                              int last, const oct__gemm_epi *epi, oct__gemm_epi_fn ef, float *tile)
{
    const int mr = f->mr, nr = f->nr;
    const float *apan = apk + (size_t)(i0 + is) * kc;
    int rows = mc - is < mr ? mc - is : mr;
    float *cp = c + (size_t)(i0 + is - m0) * ldc + j0 + js;
#ifdef OCT__GEMM_HAVE_LDB
    if (isa == OCT__GEMM_AVX2 && gemm_last8(0, mr, mc, is, cols == nr)) {
        kernel_avx2_last8(kc, apan, bp, (size_t)nr, cp, (size_t)ldc, add, last ? epi : NULL, i0 + is - m0,
                          (size_t)(j0 + js));
        return 1;
    }
    /* The epilogue in registers, as apacked_direct does, the packed panel read as rows nr
     * floats apart (and AVX2's prefetch of the residual): AVX2, a 14x14 1x1 layer with a
     * residual (256 -> 1024) 13% faster alone on an AMD EPYC Zen 3; AVX-512, ResNet-50's
     * 7x7 stride-2 stem (implicit im2col) had spent 13% of its time in epi_avx512's pass
     * over each tile. */
    if (rows == mr && cols == nr && epi && last && isa != OCT__GEMM_SCALAR) {
        (isa == OCT__GEMM_AVX512 ? kernel_avx512_ldb : kernel_avx2_ldb)(kc, apan, bp, (size_t)nr, cp, (size_t)ldc,
                                                                          add, epi, i0 + is - m0, (size_t)(j0 + js));
        return 0;
    }
    if (rows < mr && cols == nr && isa == OCT__GEMM_AVX2 && gemm_edge_ok()) {
        kernel_avx2_edge(rows, kc, apan, bp, (size_t)nr, cp, (size_t)ldc, add, last ? epi : NULL, i0 + is - m0,
                         (size_t)(j0 + js));
        return 0;
    }
#else
    (void)isa;
#endif
    if (rows == mr && cols == nr) {
        f->kernel(kc, apan, bp, cp, (size_t)ldc, add);
    } else {
        f->kernel(kc, apan, bp, tile, (size_t)nr, 0);
        tile_out(tile, nr, cp, (size_t)ldc, rows, cols, add);
    }
    /* The tile is final: its epilogue while it is in L1. */
    if (epi && last) ef(epi, i0 + is - m0, rows, (size_t)(j0 + js), cols, cp, (size_t)ldc);
    return 0;
}

/* The blocked product on packed A with B from src, block by block, or (src NULL) read
 * from pre, packed whole by oct__sgemm_bpack: strip s's rows [p0, p0 + kc) are the
 * (kc, nr) panel that src would have packed, at pre + s k nr + p0 nr. */
static void apacked_blocks(int isa, int m0, int m1, int m, int n, int k, const float *ap, const oct__gemm_bsrc *src,
                           const float *pre, float *c, int ldc, int accumulate, const oct__gemm_epi *epi)
{
    const oct__gemm_impl *f = impl_of(isa);
    const int mr = f->mr, nr = f->nr, mrnd = (m + mr - 1) / mr * mr;
    epi = gemm_epi_used(epi);
    oct__gemm_epi_fn ef = epi_of(isa);
    if (m1 <= m0 || n <= 0) return;
    if (k <= 0) {
        for (int i = m0; i < m1; i++) {
            if (!accumulate) memset(c + (size_t)(i - m0) * ldc, 0, (size_t)n * sizeof *c);
            if (epi) ef(epi, i - m0, 1, 0, n, c + (size_t)(i - m0) * ldc, (size_t)ldc);
        }
        return;
    }
    oct__gemm_bufs *bufs = gemm_small ? NULL : gemm_bufs();
    /* Without buffers: B one strip at a time on the stack (kc is A's block, up to KC). */
    _Alignas(64) float small_b[KC * NR_MAX];
    _Alignas(64) float tile[MR_MAX * NR_MAX];
    /* The tuned mc and nc (oct__sgemm_blocks; kc is the packing's, KC): they change
     * which tiles run when, not any sum. */
    int ncb = bufs ? gemm_nc : nr, mcb = gemm_mc;
    float *pb = bufs ? bufs->b : small_b;
    /* AVX2's products of few terms (gemm_rows_ok: up to GEMM_ROWS_AVX2_K) run each strip of
     * mr rows across the panel's whole strips before the next, as apacked_direct does, so
     * that C is written along its rows; the rest down the rows strip by strip. OctNetMini's
     * 3 -> 64 stem (27 terms, implicit im2col, 32x32 planes whose rows of C are 4 KiB
     * apart) at batch 32, two threads, AMD EPYC Zen 3, old and new library alternated,
     * per-layer minima: 1.122 -> 0.998 ms, the other layers within 1%. (AVX-512 keeps the
     * column order here: not measured.) */
    const int rows_first = isa == OCT__GEMM_AVX2 && gemm_rows_ok(isa, k);
    for (int j0 = 0; j0 < n; j0 += ncb) {
        int nc = n - j0 < ncb ? n - j0 : ncb;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = k - p0 < KC ? k - p0 : KC, add = accumulate || p0 > 0, last = p0 + kc >= k;
            if (!pre) src->pack(src->ctx, p0, kc, j0, nc, nr, pb);
            const float *apk = ap + (size_t)p0 * mrnd;
            for (int i0 = m0; i0 < m1; i0 += mcb) {
                int mc = m1 - i0 < mcb ? m1 - i0 : mcb, jw = 0;
                if (rows_first) {
                    jw = nc / nr * nr;
                    for (int is = 0; is < mc; is += mr) {
                        int done = 0;
                        for (int js = 0; js < jw; js += nr) {
                            const float *bp = blocks_panel(pre, pb, nr, k, kc, p0, j0, js);
                            done = blocks_tile(f, isa, m0, mc, i0, is, j0, js, nr, kc, apk, bp, c, ldc, add, last,
                                               epi, ef, tile);
                        }
                        if (done) break;
                    }
                }
                for (int js = jw; js < nc; js += nr) {
                    const float *bp = blocks_panel(pre, pb, nr, k, kc, p0, j0, js);
                    int cols = nc - js < nr ? nc - js : nr;
#ifdef OCT__GEMM_X86
                    if (cols < nr && gemm_narrow_ok(isa, cols)) {
                        float *cp = c + (size_t)(i0 - m0) * ldc + j0 + js;
                        narrow_strip(mr, kc, mc, apk + (size_t)i0 * kc, bp, nr, cols, cp, (size_t)ldc, add);
                        if (epi && last) ef(epi, i0 - m0, mc, (size_t)(j0 + js), cols, cp, (size_t)ldc);
                        continue;
                    }
#endif
                    for (int is = 0; is < mc; is += mr)
                        if (blocks_tile(f, isa, m0, mc, i0, is, j0, js, cols, kc, apk, bp, c, ldc, add, last, epi, ef,
                                        tile))
                            break;
                }
            }
        }
    }
}

size_t oct__sgemm_apack_at(int isa, int m, int k, int i, int p)
{
    int mr = impl_of(isa)->mr, mrnd = (m + mr - 1) / mr * mr, p0 = p / KC * KC, kc = k - p0 < KC ? k - p0 : KC;
    return (size_t)p0 * mrnd + (size_t)(i / mr) * kc * mr + (size_t)(p - p0) * mr + (size_t)(i % mr);
}
