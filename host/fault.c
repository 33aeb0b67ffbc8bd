/* fault.c — fault injection for tests: the Nth fallible host allocation or OpenCL call
 * (counted across the process) fails on purpose, so every error path gets exercised.
 * Off unless OCTCL_FAULT_AT=N is set or a test calls oct_debug_fail_at(N).
 */
#include "backend_cl.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_long oct__fault_calls;
static atomic_long oct__fault_at = -1; /* -1: not read from the environment yet */
static atomic_long oct__live_cl;
static atomic_int oct__fault_cl = -6; /* CL_OUT_OF_HOST_MEMORY */

static long oct__fault_target(void)
{
    long at = atomic_load(&oct__fault_at);
    if (at >= 0) return at;
    const char *env = getenv("OCTCL_FAULT_AT");
    long v = env ? strtol(env, NULL, 10) : 0;
    if (v < 0) v = 0;
    long expected = -1;
    atomic_compare_exchange_strong(&oct__fault_at, &expected, v);
    return atomic_load(&oct__fault_at);
}

int oct__fault_hit(void)
{
    long at = oct__fault_target();
    long n = atomic_fetch_add(&oct__fault_calls, 1) + 1;
    return at > 0 && n == at;
}

void oct_debug_fail_at(long n)
{
    atomic_store(&oct__fault_calls, 0);
    atomic_store(&oct__fault_at, n > 0 ? n : 0);
}

long oct_debug_fault_calls(void) { return atomic_load(&oct__fault_calls); }

int oct__fault_cl_code(void) { return atomic_load(&oct__fault_cl); }
void oct__fault_set_cl_code(int code) { atomic_store(&oct__fault_cl, code ? code : -6); }

void oct__cl_object_created(void) { atomic_fetch_add(&oct__live_cl, 1); }
void oct__cl_object_released(void) { atomic_fetch_sub(&oct__live_cl, 1); }
long oct_debug_live_cl_objects(void) { return atomic_load(&oct__live_cl); }

void *oct__malloc(size_t n) { return oct__fault_hit() ? NULL : malloc(n ? n : 1); }

void *oct__calloc(size_t n, size_t size) { return oct__fault_hit() ? NULL : calloc(n ? n : 1, size ? size : 1); }

void *oct__realloc(void *p, size_t n) { return oct__fault_hit() ? NULL : realloc(p, n ? n : 1); }
