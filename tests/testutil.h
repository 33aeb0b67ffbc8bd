/* testutil.h — what every octcl test shares: a seeded generator, inputs in [-2, 2],
 * the abs + rel comparison that prints the first mismatches, and the CUnit runner. */
#ifndef OCT_TESTUTIL_H
#define OCT_TESTUTIL_H

#include "octcl.h"

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

/* Tolerance of every float32 comparison against the double-accumulating reference:
 * |got - want| <= TOL_ABS + TOL_REL * |want|. Set before any result was seen, from
 * float32 rounding (eps 1.2e-7) over sums of up to ~10^3 terms of magnitude O(1). */
#define TOL_ABS 1e-4
#define TOL_REL 1e-4

typedef struct {
    uint64_t s;
} rng_t;

uint64_t rng_next(rng_t *r);
/* Uniform in [lo, hi). */
float rng_uniform(rng_t *r, float lo, float hi);
/* n floats uniform in [lo, hi); the caller frees. NULL when n == 0. */
float *rng_array(rng_t *r, size_t n, float lo, float hi);

/* Compare got to want; print the first few mismatches with index, expected and got.
 * Returns the number of mismatches (NaN in either counts unless both are NaN). */
size_t compare_floats(const char *what, const float *want, const float *got, size_t n, double tol_abs,
                      double tol_rel);

/* The fault-injection sweeps' next call to fail after call k: k + 1, or with
 * $OCTCL_TEST_FAULT_STRIDE=S (S > 1) every call up to 4 and then every S-th. Each step of
 * a sweep makes a context, about a second on a GPU driver shared by parallel tests (the
 * ops suite made 433 and did not finish in 200 s on an H200); PoCL in CI sweeps every call. */
long fault_next(long k);

/* 1 (and a line saying why on stdout) when `tiles` (NULL: $OCTCL_GEMM_TILES) forces a
 * tile set with weights in local memory ("gpu", "small") and spec names a PoCL 5 or
 * later: PoCL 5.0+debian (Ubuntu 24.04's, on the GPU machine, 2026-12-04) aborted the
 * process compiling those kernels, "Kernel.cc:129: ... createParallelRegionBefore:
 * Assertion `region_entry_barrier != NULL' failed", the malformed parallel region of
 * pocl/pocl#2281. Its default set ran every suite; PoCL 3.1 (Debian 12, CI) runs the
 * forced sets. */
int skip_forced_tiles(const char *spec, const char *tiles);

/* Environment variable name's value, copied (free it), or NULL where it is unset: what
 * a test that sets it puts back with env_put. */
char *env_save(const char *name);
/* Set name to value, or unset it where value is NULL. */
void env_put(const char *name, const char *value);

/* Run the registered CUnit suites verbosely; the process exit status: 0 when every
 * suite initialised and every assertion passed. */
int run_cunit(void);

#endif
