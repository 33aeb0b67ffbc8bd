/* convcase.h — one convolution case run through a backend's ops (conv2d, conv2d_pair,
 * convg with a residual), its output between canaries: what the CPU path tests
 * (test_winograd, test_smallconv) compare against the reference backend. */
#ifndef OCT_CONVCASE_H
#define OCT_CONVCASE_H

#include "octcl.h"
#include "testutil.h"

#define CONV_LEAD 5          /* canary floats before the output tensor */
#define CONV_TAIL 7          /* and after it */
#define CONV_CANARY 12345.0f

/* y (n, co, ho, wo) (=|+=) conv(x1 [; x2], k x k, stride 1, pad) [+ bias] [+ res], ReLU:
 * c2 > 0 a conv2d_pair over the stacked input, with the residual when res (where the
 * backend has no pair: conv2d, then conv2d, or convg with the residual); else res a
 * convg with a residual; else a conv2d. */
typedef struct {
    int n, c1, c2, co, h, w, k, pad, bias, acc, relu, res;
} conv_case;

/* A case's random inputs: x1 (n, c1, h, w), x2 (n, c2, h, w), w1 (co, c1, k, k), w2 (co,
 * c2, k, k), b1 and b2 (co), r and y0 (n, co, ho, wo), drawn from rng in [lo, hi] in that
 * order (x2 and w2 NULL when c2 = 0). */
typedef struct {
    float *x1, *x2, *w1, *w2, *b1, *b2, *r, *y0;
} conv_data;

/* Draw c's inputs into d: 1, or 0 when out of memory (d then holds what was had, for
 * conv_data_free). */
int conv_data_make(const conv_case *c, rng_t *rng, float lo, float hi, conv_data *d);
void conv_data_free(conv_data *d);

/* CONV_LEAD canaries, y0's ny floats, CONV_TAIL canaries, in one malloc'd block (NULL when
 * out of memory): an output tensor between canaries. */
float *conv_canary_y(const float *y0, size_t ny);

/* Run case c on ctx: out receives CONV_LEAD + n co ho wo + CONV_TAIL floats, the output
 * (holding y0 before the op) between canaries. Returns the status. */
oct_status conv_case_run(oct_context *ctx, const conv_case *c, const float *x1, const float *x2, const float *w1,
                         const float *w2, const float *b1, const float *b2, const float *r, const float *y0,
                         float *out);

/* got (CONV_LEAD canaries, ny outputs, CONV_TAIL canaries) against want's ny outputs
 * (at want + CONV_LEAD) within tol_abs + tol_rel |want|: the outputs outside it (the
 * first ones printed by compare_floats), plus one when a canary was overwritten (named on
 * stdout with `what`). */
size_t conv_check_out(const char *what, const float *want, const float *got, size_t ny, double tol_abs, double tol_rel);

/* A cpu context made with $OCTCL_CPU_WINOGRAD = wino and $OCTCL_CPU_SMALL = small ("":
 * unset); both are unset again afterwards (the backend reads them when a context is made). */
oct_status conv_cpu_context(const char *wino, const char *small, oct_context **out);

#endif
