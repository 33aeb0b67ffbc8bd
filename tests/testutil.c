/* testutil.c — seeded inputs, tolerant comparison and the CUnit runner for the tests. */
#include "testutil.h"

#include "internal.h"

#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

long fault_next(long k)
{
    static long stride = 0;
    if (stride == 0) {
        const char *env = getenv("OCTCL_TEST_FAULT_STRIDE");
        char *end = NULL;
        long v = env ? strtol(env, &end, 10) : 1;
        stride = env && *env && *end == '\0' && v > 1 && v <= 1000 ? v : 1;
    }
    return k < 4 ? k + 1 : k + stride;
}

int skip_forced_tiles(const char *spec, const char *tiles)
{
    const char *t = tiles ? tiles : getenv("OCTCL_GEMM_TILES");
    oct_device_info info;
    int known = 0;
    if (!t || (strcmp(t, "gpu") != 0 && strcmp(t, "small") != 0)) return 0;
    if (oct__device_identify(spec, &info, &known) != OCT_OK || !known || info.backend != OCT_BACKEND_OPENCL ||
        strcmp(info.platform, "Portable Computing Language") != 0 || atoi(info.driver) < 5)
        return 0;
    printf("%s (%s, PoCL %s): the %s tile set not forced: PoCL 5 aborts compiling the tile sets with weights in "
           "local memory (pocl/pocl#2281; tests/testutil.h)\n",
           spec, info.name, info.driver, t);
    return 1;
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

char *env_save(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

void env_put(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}
