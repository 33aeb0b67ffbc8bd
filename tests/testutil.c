/* testutil.c — seeded inputs, tolerant comparison and the CUnit runner for the tests. */
#include "testutil.h"

#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t rng_next(rng_t *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float rng_uniform(rng_t *r, float lo, float hi)
{
    double u = (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(lo + (hi - lo) * u);
}

float *rng_array(rng_t *r, size_t n, float lo, float hi)
{
    if (n == 0) return NULL;
    float *a = malloc(n * sizeof *a);
    if (!a) return NULL;
    for (size_t i = 0; i < n; i++) a[i] = rng_uniform(r, lo, hi);
    return a;
}

size_t compare_floats(const char *what, const float *want, const float *got, size_t n, double tol_abs,
                      double tol_rel)
{
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = want[i], g = got[i];
        int ok;
        if (isnan(e) || isnan(g))
            ok = isnan(e) && isnan(g);
        else
            ok = fabs(g - e) <= tol_abs + tol_rel * fabs(e);
        if (!isnan(e) && !isnan(g) && fabs(g - e) > worst) worst = fabs(g - e);
        if (!ok) {
            if (bad < 5) printf("\n    %s: mismatch at index %zu: expected %.9g, got %.9g", what, i, e, g);
            bad++;
        }
    }
    if (bad) printf("\n    %s: %zu of %zu values outside %g + %g*|expected| (max abs error %.3g)\n", what, bad, n,
                    tol_abs, tol_rel, worst);
    return bad;
}

int run_cunit(void)
{
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    unsigned suites_failed = CU_get_number_of_suites_failed();
    unsigned tests_failed = CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    if (suites_failed) printf("%u suite(s) failed to initialise\n", suites_failed);
    return (failures || suites_failed || tests_failed) ? 1 : 0;
}
