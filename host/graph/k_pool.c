/* k_pool.c — max or average pooling (ONNX MaxPool / AveragePool / GlobalMaxPool): floor
 * or ceil mode, pads, count_include_pad, kh = 0 for one window over the whole plane;
 * AvgPool(2) without padding runs the backends' avgpool2.
 *   x (N, C, H, W) -> y (N, C, Ho, Wo).
 */
#include "graph/graph.h"

/* PyTorch's rule: out = (in + p0 + p1 - k) / s + 1, rounded up in ceil mode, and a
 * window that would start in the right padding is dropped. */
static int pool_out(int in, int k, int s, int p0, int p1, int ceil)
{
    int num = in + p0 + p1 - k;
    if (num < 0) return 0;
    int o = (ceil ? (num + s - 1) / s : num / s) + 1;
    if (ceil && (o - 1) * s >= in + p0) o--;
    return o;
}

static oct_status pool_shape(const oct__graph *g, const oct__gnode *nd, oct__gdims *out)
{
    const oct__gdims *x = &g->v[nd->in[0]].d;
    out->c = x->c;
    if (nd->kh == 0) { /* global: one window over the whole plane */
        out->h = out->w = 1;
        return OCT_OK;
    }
    out->h = pool_out(x->h, nd->kh, nd->sh, nd->pt, nd->pb, nd->ceil);
    out->w = pool_out(x->w, nd->kw, nd->sw, nd->pl, nd->pr, nd->ceil);
    if (out->h < 1 || out->w < 1)
        return oct__gfail_shape(nd, "window %dx%d does not fit the input %dx%d padded by (%d, %d, %d, %d)", nd->kh,
                                nd->kw, x->h, x->w, nd->pt, nd->pl, nd->pb, nd->pr);
    return OCT_OK;
}

oct__poolg_op oct__gpool_op(const oct__graph *g, const oct__gnode *nd, int n)
{
    oct__view x = oct__g_view(g, nd->in[0], n), y = oct__g_view(g, nd->out[0], n);
    oct__poolg_op op = {x, y, nd->max, nd->kh, nd->kw, nd->sh, nd->sw, nd->pt, nd->pl, nd->pb, nd->pr, nd->cip, nd->relu};
    if (nd->kh == 0) op.kh = x.h, op.kw = x.w; /* global */
    return op;
}

static oct_status pool_run(oct__graph *g, oct__gnode *nd, int n)
{
    oct_context *ctx = g->ctx;
    if (nd->pooled) return OCT_OK; /* run by the conv before it (conv2d_pool) */
    oct__view x = oct__g_view(g, nd->in[0], n), y = oct__g_view(g, nd->out[0], n);
    int plain2 = !nd->max && nd->kh == 2 && nd->kw == 2 && nd->sh == 2 && nd->sw == 2 && !nd->pt && !nd->pl &&
                 !nd->pb && !nd->pr && !nd->relu && y.h == x.h / 2 && y.w == x.w / 2;
    if (plain2) {
        oct__pool_op op = {x, y};
        return oct__op_avgpool2(ctx, &op);
    }
    oct__poolg_op op = oct__gpool_op(g, nd, n);
    return oct__op_poolg(ctx, &op);
}

const oct__gkind oct__gk_pool = {"Pool", pool_shape, NULL, NULL, pool_run, NULL, NULL};
