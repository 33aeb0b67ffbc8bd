/* backend_cpu.h — the native CPU backend's private declarations: its op table, its
 * device description for the registry, the switch that forces its code paths, and the
 * benchmark support the two host backends (cpu, ref) share (cpu_probe.c). */
#ifndef OCT_BACKEND_CPU_H
#define OCT_BACKEND_CPU_H

#include "internal.h"

extern const oct__backend oct__backend_cpu;

/* The registry's hooks: "cpu" and auto's fallback (always there). */
oct_status oct__cpu_parse(const char *spec);
oct_status oct__cpu_choose(const char *spec, oct__choice *out);
int oct__cpu_auto_pick(oct__choice *out, char *why, size_t why_len);
/* The oct_device_info of a host backend (cpu or ref), reason left empty. */
void oct__host_describe(oct_backend be, oct_device_info *info);

/* The CPU backend's code paths, forced for tests by $OCTCL_CPU_PATH (read when a context
 * is created) or by oct__cpu_force_path (which wins while set):
 *   auto    (default) what this CPU runs fastest: the AVX-512 direct kernel for stride-1
 *           convolutions, AVX-512 rows for pooling, resize and depthwise convolutions
 *   gemm    what a CPU without AVX-512 runs: no direct or channel-lane kernel; 3x3
 *           stride-1 convolutions of 16+ channels each way on Winograd (AVX2 transforms
 *           where the GEMM kernel is a vector one), the rest on GEMMs (packed 1x1,
 *           implicit im2col, im2col; the sgemm's ISA is $OCTCL_GEMM's), the linear head
 *           as AVX2 dot products, scalar pooling / resize / depthwise rows
 *   im2col  auto, but every general convolution (convg) on im2col + sgemm, 1x1 and
 *           depthwise included (also $OCTCL_CPU_CONVG=im2col, the older spelling)
 * An unknown value fails context creation with OCT_ERR_BAD_SIZE naming it. */
enum { OCT__CPU_PATH_AUTO = 0, OCT__CPU_PATH_GEMM, OCT__CPU_PATH_IM2COL, OCT__CPU_PATH_COUNT };
/* Force `path` for contexts created from now on (-1: back to the environment's). */
void oct__cpu_force_path(int path);
/* The path names, indexed by OCT__CPU_PATH_*. */
extern const char *const oct__cpu_path_names[OCT__CPU_PATH_COUNT];

/* Output channels a block where a convolution's GEMM is cut into blocks of channels so
 * that every thread has work (one image, one block of pixels): of the sizes from cob
 * (the even cut's, a multiple of align) up, in steps of align, the one whose blocks,
 * dealt out as the backend deals chunks to their owners (thread o first takes blocks
 * [n o / T, n (o + 1) / T) of n), leave the busiest of the T threads the fewest of the
 * cog channels; of equals, the smallest (the most blocks to steal). Which rows a block
 * holds does not change a sum: the same bits whatever it returns. */
size_t oct__cpu_cob_even(size_t cog, size_t align, size_t cob, size_t threads);

/* Storage for count floats of a packed copy of weights (the CPU backend's caches of them),
 * freed with free(), or NULL: from OCT__CPU_HUGE_PAGE bytes on aligned to it, its whole
 * pages advised as transparent huge pages where the kernel takes the advice (Linux);
 * smaller ones 64-byte aligned. */
#define OCT__CPU_HUGE_PAGE ((size_t)2 << 20)
float *oct__cpu_alloc_packed(size_t count);

/* Side outputs (oct__conv_pair_op.side) a cpu context has run from its pair's own
 * transformed input, not as a conv2d of their own (for tests); 0 for another backend. */
long long oct__cpu_sides_fused(const oct_context *ctx);
/* conv2d_pool ops a cpu context has pooled block by block inside the convolution, not as
 * a poolg op after it (for tests); 0 for another backend. */
long long oct__cpu_pools_fused(const oct_context *ctx);

/* Benchmark support of the host backends (cpu_probe.c). */
oct_status oct__cpu_peak_gflops(oct_context *ctx, double *gflops);
/* The threads oct__cpu_peak_gflops probes on: the context's host threads (its backend's
 * threads(), one where it has none), at most the online cores. */
int oct__cpu_probe_threads(const oct_context *ctx);
oct_status oct__cpu_profile(oct_context *ctx, int enable);
oct_status oct__cpu_device_ms(oct_context *ctx, double *ms);

#endif /* OCT_BACKEND_CPU_H */
