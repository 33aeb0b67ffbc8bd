/* octconv.h — the OctConv layer's private structure, shared with the model plan. */
#ifndef OCT_OCTCONV_H
#define OCT_OCTCONV_H

#include "internal.h"

struct oct_octconv {
    oct_context *ctx;
    oct_octconv_params p;
    int cin_h, cin_l, cout_h, cout_l;
    oct__buf weight[OCT_PATH_COUNT]; /* (cout_x, cin_y, k, k) per path */
    oct__buf bias[OCT_PATH_COUNT];   /* (cout_x) per path, or empty */
    int ready[OCT_PATH_COUNT];       /* weights set */
    oct__buf down;                   /* scratch: Down(x_h) (n, cin_h, h/2, w/2) */
    oct__buf tmp;                    /* scratch: LH(x_l) at low resolution (n, cout_h, hlo, wlo) */
};

const char *oct__path_name(oct_path p);
/* Forward with ReLU applied to each output band after all its paths are summed. */
oct_status oct__octconv_run(oct_octconv *l, const oct_tensor *x, oct_tensor *y, int relu);
/* The layer's scratch for input shape `in` (plain shapes, high band only): Down(x_h)
 * (n, cin_h, h/2, w/2) for the HL path and the low-resolution LH result
 * (n, cout_h, hlo, wlo) for the LH path; a path that does not exist gets 0 channels. */
void oct__octconv_scratch(const oct_octconv *l, const oct_shape *in, oct_shape *down, oct_shape *lh);
/* Attach a bias of cout_x values to a path (folded BatchNorm). */
oct_status oct__octconv_set_bias(oct_octconv *l, oct_path p, const float *bias);

#endif
