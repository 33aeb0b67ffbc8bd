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

/* Run the registered CUnit suites verbosely; the process exit status: 0 when every
 * suite initialised and every assertion passed. */
int run_cunit(void);

#endif
