/* tune.h — per-device tuning (tune.c): the parameters a backend may take from a tuning
 * file instead of its constants, the hooks the backends call at init, and the file's
 * identity rules. A tuning file lives beside the OpenCL program cache (same folder,
 * $OCTCL_CACHE_DIR "off" disables both), one per device + driver (OpenCL: platform,
 * platform version, device, device version, driver version, as the program cache key) or
 * per CPU (model name, ISA flags, threads), named tune-<FNV-1a 64 of that identity>.json.
 * A file that is unreadable, not JSON, of another format, of another device or holding a
 * value out of range is ignored, and the context says why; nothing in it is trusted.
 */
#ifndef OCT_TUNE_H
#define OCT_TUNE_H

#include "internal.h"

/* The cpu backend's tunables (defaults: the constants backend_cpu.c and gemm.c had). */
typedef struct {
    int band_kfloats; /* direct conv: padded-input floats per thread's band of rows, in 1024s (192) */
    int min_cols;     /* GEMM conv path: output columns per GEMM (1024) */
    int chunks;       /* work chunks per thread of every pooled op (8) */
    int gemm_isa;     /* sgemm micro-kernel: -1 the best the CPU has, else OCT__GEMM_* */
    int kc, mc, nc;   /* sgemm blocks (256, 96, 256; at most those: the buffers' size) */
    int wino4_min;    /* Winograd F(4x4) on planes of 16-48 of its tiles from this many channels
                         each way (64 with the AVX-512 GEMM, else 256; 16..65536, 65536: never),
                         F(2x2) below (cpu__wino_tile) */
} oct__cpu_tune;

void oct__cpu_tune_default(oct__cpu_tune *t);
/* "band 192K cols 1024 chunks 8 gemm avx512 256/96/256" into buf. */
void oct__cpu_tune_text(const oct__cpu_tune *t, char *buf, size_t len);

/* cpu_init: this context's parameters (the tuner's variant while tuning, else the tuning
 * file's winners for this CPU, else defaults), recorded in ctx->tuning; the GEMM ones are
 * set process-wide (gemm.c: oct__sgemm_blocks). threads: the context's pool size (part of
 * the CPU's identity). With $OCTCL_TUNE=1 and no usable file, a
 * short tuning pass runs first. Cannot fail. */
void oct__tune_cpu(oct_context *ctx, int threads, oct__cpu_tune *t);
/* cpu_init, once its state holds them: append the parameters the backend holds (and the
 * SGEMM's blocks and kernel as gemm.c has them now) to ctx->tuning. */
void oct__tune_cpu_report(oct_context *ctx, const oct__cpu_tune *held);

/* cl_init, before the tile sets are tried: 1 with t = {TM, TN, TK, RM, RN, WGLOBAL} and
 * *origin ("tuned" or "tuning") when a tuned (or, while tuning, the tuner's) set comes
 * first; 0 otherwise (ctx->tuning then says why). Cannot fail. */
int oct__tune_cl(oct_context *ctx, int t[6], const char **origin);
/* cl_init, once built: the set in use (NULL: direct kernel only) and its origin; a tuned
 * set that was passed over (did not fit or build) turns the status back to default. */
void oct__tune_cl_chosen(oct_context *ctx, const int *t, const char *origin, const char *name);

/* backend_cl.c: the tile sets worth timing on this OpenCL device (cl_device_id): the
 * named sets and neighbours of the device's default, each valid for conv_gemm.cl and
 * within the device's work-group and local-memory limits. Returns the count (<= max). */
int oct__cl_tile_variants(void *device, int (*out)[6], char (*names)[24], int max);

/* Tests: the clock (ms) the tuner times its passes with, two reads a pass (before and
 * after); NULL: oct__now_ms. */
extern double (*oct__tune_clock)(void);

/* gemm.c: the blocks oct__sgemm uses from now on (0: the default for that one). */
void oct__sgemm_blocks(int kc, int mc, int nc);
void oct__sgemm_blocks_get(int *kc, int *mc, int *nc);

#endif /* OCT_TUNE_H */
