/* from_octnet.c — OctNetMini (the seed's network, model.c reads its state_dict) as a
 * graph, so that it runs, traces and is measured by the same walks as an ONNX model:
 *   stem: conv 3x3 pad 1 (BatchNorm folded, bias) + ReLU
 *   split: x_h = channels [0, c_h) (a view), x_l = AvgPool2(channels [c_h, 64))
 *   b1, b2: OctaveConvBlock, per block the four path convs (3x3 pad 1)
 *       lh: conv_lh(x_l) at low resolution
 *       hh: y_h = conv_hh(x_h) + bias_h + Up(lh) to hh's size, ReLU
 *       hl: y_l = conv_hl(AvgPool2(x_h)) + bias_l
 *       ll:     + conv_ll(x_l), ReLU (adds onto hl's output; one conv2d_pair op)
 *   merge + GAP: the means of y_h and of Up(y_l) side by side (one GAP node)
 *   fc: linear.
 * The trace lines are the seed's ("Stem out", "Split x_h", ..., "Logits").
 */
#include "graph/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static oct_status copy_floats(const float *src, size_t count, float **out)
{
    *out = NULL;
    if (!src) return OCT_OK;
    float *d = oct__malloc(count * sizeof *d);
    if (!d) return oct__fail(OCT_ERR_HOST_MEMORY, "OctNetMini: out of host memory for the weights");
    memcpy(d, src, count * sizeof *d);
    *out = d;
    return OCT_OK;
}

/* A 3x3 pad 1 convolution of x into a new value (acc_into < 0) or onto acc_into. */
static oct_status conv(oct__graph *g, const char *name, int x, int co, int ci, const float *w, const float *b,
                       int relu, int acc_into, int *out_value, int *out_index)
{
    oct__gnode *nd;
    int index;
    OCT__TRY(oct__g_node(g, OCT__GK_CONV, name, &nd, &index));
    OCT__TRY(oct__g_set_inputs(g, nd, 1, &x));
    nd->co = co, nd->ci = ci, nd->kh = nd->kw = 3, nd->pt = nd->pl = nd->pb = nd->pr = 1;
    nd->relu = relu;
    nd->nout = 1;
    OCT__TRY(copy_floats(w, (size_t)co * ci * 9, &nd->w));
    OCT__TRY(copy_floats(b, (size_t)co, &nd->b));
    if (acc_into >= 0) {
        nd->acc = 1;
        nd->out[0] = acc_into;
        g->v[acc_into].producer = index;
    } else {
        const char *names[1] = {name};
        OCT__TRY(oct__g_finish_node(g, index, names));
    }
    if (out_value) *out_value = g->nd[index].out[0];
    if (out_index) *out_index = index;
    return OCT_OK;
}

static oct_status avgpool2(oct__graph *g, const char *name, int x, int *out)
{
    oct__gnode *nd;
    int index;
    OCT__TRY(oct__g_node(g, OCT__GK_POOL, name, &nd, &index));
    OCT__TRY(oct__g_set_inputs(g, nd, 1, &x));
    nd->kh = nd->kw = nd->sh = nd->sw = 2;
    nd->nout = 1;
    const char *names[1] = {name};
    OCT__TRY(oct__g_finish_node(g, index, names));
    *out = g->nd[index].out[0];
    return OCT_OK;
}

static oct_status slice(oct__graph *g, const char *name, int x, int c0, int c, int *out)
{
    oct__gnode *nd;
    int index;
    OCT__TRY(oct__g_node(g, OCT__GK_SLICE, name, &nd, &index));
    OCT__TRY(oct__g_set_inputs(g, nd, 1, &x));
    nd->c0 = c0, nd->co = c;
    nd->nout = 1;
    const char *names[1] = {name};
    OCT__TRY(oct__g_finish_node(g, index, names));
    *out = g->nd[index].out[0];
    return OCT_OK;
}

/* One OctaveConvBlock: (x_h, x_l) -> (y_h, y_l); -1 for a band without channels. */
static oct_status block(oct__graph *g, const oct__octnet_weights *wt, int b, int xh, int xl, int *yh, int *yl)
{
    const char *bn = b == 0 ? "b1" : "b2";
    int ci_h = wt->c_h[b], ci_l = wt->c_l[b], co_h = wt->c_h[b + 1], co_l = wt->c_l[b + 1];
    const float *const *w = wt->path_w[b];
    int hh = ci_h && co_h, hl = ci_h && co_l, ll = ci_l && co_l, lh = ci_l && co_h;
    char name[48];
    *yh = *yl = -1;
    /* High output: HH with the upsampled LH added after it (the resize accumulates). */
    if (lh && !hh)
        return oct__fail(OCT_ERR_UNSUPPORTED, "OctNetMini: %s has an L->H path but no H->H path", bn);
    int t = -1;
    if (lh) {
        snprintf(name, sizeof name, "%s.oct.lh", bn);
        OCT__TRY(conv(g, name, xl, co_h, ci_l, w[OCT_PATH_LH], NULL, 0, -1, &t, NULL));
    }
    if (hh) {
        snprintf(name, sizeof name, "%s.oct.hh", bn);
        int index;
        OCT__TRY(conv(g, name, xh, co_h, ci_h, w[OCT_PATH_HH], wt->band_b[b][0], 1, -1, yh, &index));
        if (t >= 0) {
            oct__gnode *nd = &g->nd[index];
            int in[2] = {xh, t};
            OCT__TRY(oct__g_set_inputs(g, nd, 2, in));
            nd->up = 1, nd->up_h = nd->up_w = 0, nd->oh = nd->ow = -1;
        }
    }
    /* Low output: HL on Down(x_h), LL added onto it. */
    if (hl) {
        int down;
        snprintf(name, sizeof name, "%s.down", bn);
        OCT__TRY(avgpool2(g, name, xh, &down));
        snprintf(name, sizeof name, "%s.oct.hl", bn);
        OCT__TRY(conv(g, name, down, co_l, ci_h, w[OCT_PATH_HL], wt->band_b[b][1], !ll, -1, yl, NULL));
    }
    if (ll) {
        snprintf(name, sizeof name, "%s.oct.ll", bn);
        OCT__TRY(conv(g, name, xl, co_l, ci_l, w[OCT_PATH_LL], hl ? NULL : wt->band_b[b][1], 1, hl ? *yl : -1, yl,
                      NULL));
    }
    return OCT_OK;
}

static oct_status build(oct__graph *g, const oct__octnet_weights *wt)
{
    int x, stem, xh = -1, xl = -1, yh, yl, pooled;
    OCT__TRY(oct__g_value(g, "input", 4, (oct__gdims){wt->in_c, 32, 32}, -1, &x));
    g->input = x;
    g->in_h = g->in_w = 32;
    g->params = wt->params;
    OCT__TRY(conv(g, "stem", x, wt->stem_c, wt->in_c, wt->stem_w, wt->stem_b, 1, -1, &stem, NULL));
    OCT__TRY(oct__g_trace_point(g, g->nn - 1, "Stem out", stem, 0));
    /* Split: the high band is a view of the stem's output. */
    if (wt->c_h[0]) {
        if (wt->c_l[0])
            OCT__TRY(slice(g, "split.x_h", stem, 0, wt->c_h[0], &xh));
        else
            xh = stem;
    }
    if (wt->c_l[0]) {
        int lo = stem;
        if (wt->c_h[0]) OCT__TRY(slice(g, "split.low", stem, wt->c_h[0], wt->c_l[0], &lo));
        OCT__TRY(avgpool2(g, "split.x_l", lo, &xl));
    }
    static const char *const stage[3] = {"Split", "After b1", "After b2"};
    for (int b = 0; b < 3; b++) {
        if (b > 0) {
            OCT__TRY(block(g, wt, b - 1, xh, xl, &yh, &yl));
            xh = yh, xl = yl;
        }
        char label[32];
        snprintf(label, sizeof label, "%s x_h", stage[b]);
        OCT__TRY(oct__g_trace_point(g, g->nn - 1, label, xh, 0));
        snprintf(label, sizeof label, "%s x_l", stage[b]);
        OCT__TRY(oct__g_trace_point(g, g->nn - 1, label, xl, 0));
    }
    /* Merge + global average pool in one node: the merge is never materialised. */
    oct__gnode *nd;
    int index, in[3], nin = 0, up = -1;
    if (xh >= 0) in[nin++] = xh;
    if (xl >= 0) up = nin, in[nin++] = xl;
    if (up >= 0) in[nin++] = x; /* the high band's size is the input's */
    OCT__TRY(oct__g_node(g, OCT__GK_GAP, "merge+gap", &nd, &index));
    OCT__TRY(oct__g_set_inputs(g, nd, nin, in));
    nd->up = up;
    nd->nout = 1;
    const char *pn[1] = {"pooled"};
    OCT__TRY(oct__g_finish_node(g, index, pn));
    pooled = g->nd[index].out[0];
    OCT__TRY(oct__g_trace_point(g, index, "Merged x", x, wt->block_c));
    OCT__TRY(oct__g_node(g, OCT__GK_LINEAR, "fc", &nd, &index));
    OCT__TRY(oct__g_set_inputs(g, nd, 1, &pooled));
    nd->fin = wt->block_c, nd->fout = wt->classes;
    nd->nout = 1;
    OCT__TRY(copy_floats(wt->fc_w, (size_t)wt->classes * wt->block_c, &nd->w));
    OCT__TRY(copy_floats(wt->fc_b, (size_t)wt->classes, &g->nd[index].b));
    const char *ln[1] = {"logits"};
    OCT__TRY(oct__g_finish_node(g, index, ln));
    g->output = g->nd[index].out[0];
    OCT__TRY(oct__g_trace_point(g, index, "Logits", g->output, 0));
    OCT__TRY(oct__graph_shapes(g, g->in_h, g->in_w));
    OCT__TRY(oct__graph_fuse_octconv(g, &g->octconv_layers));
    return oct__graph_upload(g);
}

oct_status oct__octnet_graph(oct_context *ctx, const oct__octnet_weights *wt, oct__graph **out)
{
    *out = NULL;
    oct__graph *g;
    OCT__TRY(oct__graph_create(ctx, &g));
    oct_status s = build(g, wt);
    if (s != OCT_OK) {
        oct__graph_free(g);
        return s;
    }
    *out = g;
    return OCT_OK;
}
