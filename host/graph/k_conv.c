/* k_conv.c — a 2-D convolution node (ONNX Conv with BatchNorm folded, bias, a residual
 * Add and ReLU fused): the fast square conv2d op when it fits, else the general convg.
 *   x (N, ci, H, W), weight (co, ci / groups, kh, kw), residual (N, co, Ho, Wo).
 */
#include "graph/graph.h"

#include <stdlib.h>

static int out_size(int in, int k, int s, int p0, int p1, int d)
{
    int span = d * (k - 1) + 1, padded = in + p0 + p1;
    return padded < span ? 0 : (padded - span) / s + 1;
}

static oct_status conv_shape(const oct__graph *g, const oct__gnode *nd, oct__gdims *out)
{
    const oct__gdims *x = &g->v[nd->in[0]].d;
    if (x->c != nd->ci)
        return oct__gfail_shape(nd, "input has %d channels, the weight expects %d", x->c, nd->ci);
    out->c = nd->co;
    out->h = out_size(x->h, nd->kh, nd->sh, nd->pt, nd->pb, nd->dh);
    out->w = out_size(x->w, nd->kw, nd->sw, nd->pl, nd->pr, nd->dw);
    if (out->h < 1 || out->w < 1)
        return oct__gfail_shape(nd, "kernel %dx%d (dilation %d, %d) does not fit the input %dx%d padded by (%d, %d, %d, %d)",
                                nd->kh, nd->kw, nd->dh, nd->dw, x->h, x->w, nd->pt, nd->pl, nd->pb, nd->pr);
    if (nd->acc) {
        const oct__gdims *y = &g->v[nd->out[0]].d;
        if (y->c != out->c || y->h != out->h || y->w != out->w)
            return oct__gfail_shape(nd, "adds (%d, %d, %d) onto (%d, %d, %d)", out->c, out->h, out->w, y->c, y->h, y->w);
    }
    if (nd->up >= 0) {
        const oct__gdims *t = &g->v[nd->in[nd->up]].d;
        /* oh < 0: the resize was to this conv's own output size (any ratio). */
        int eh = nd->up_h ? t->h * nd->up_h : nd->oh < 0 ? out->h : nd->oh;
        int ew = nd->up_h ? t->w * nd->up_w : nd->ow < 0 ? out->w : nd->ow;
        if (t->c != out->c || eh != out->h || ew != out->w)
            return oct__gfail_shape(nd, "the upsampled (%d, %d, %d) does not match the convolution's (%d, %d, %d)", t->c,
                                    eh, ew, out->c, out->h, out->w);
    }
    if (nd->res >= 0) {
        const oct__gdims *r = &g->v[nd->in[nd->res]].d;
        if (r->c != out->c || r->h != out->h || r->w != out->w)
            return oct__gfail_shape(nd, "residual is (%d, %d, %d), the convolution gives (%d, %d, %d)", r->c, r->h,
                                    r->w, out->c, out->h, out->w);
    }
    return OCT_OK;
}

static long long conv_macs(const oct__graph *g, const oct__gnode *nd)
{
    const oct__gdims *y = &g->v[nd->out[0]].d;
    return (long long)nd->co * (nd->ci / nd->groups) * nd->kh * nd->kw * y->h * y->w;
}

/* The square, symmetric, ungrouped geometry the backends' conv2d runs. */
static int square(const oct__gnode *nd)
{
    return nd->kh == nd->kw && nd->sh == nd->sw && nd->pt == nd->pl && nd->pt == nd->pb && nd->pt == nd->pr &&
           nd->dh == 1 && nd->dw == 1 && nd->groups == 1;
}

/* The case the backends' conv2d runs: square, without a residual. */
static int fits_conv2d(const oct__gnode *nd) { return square(nd) && nd->res < 0; }

/* B adds onto A's output: both as one conv2d_pair op when the backend has it and the
 * two are square convolutions of one geometry over inputs of one size. B may add a
 * residual (the low band of a bottleneck's last layer): the pair op adds it before the
 * ReLU, as B's convg did. */
static int pair_ok(const oct__graph *g, const oct__gnode *a, const oct__gnode *b)
{
    const oct__gdims *xa = &g->v[a->in[0]].d, *xb = &g->v[b->in[0]].d;
    return g->ctx->be->conv2d_pair && fits_conv2d(a) && square(b) && a->up < 0 && !a->acc && b->up < 0 &&
           a->kh == b->kh && a->sh == b->sh && a->pt == b->pt && xa->h == xb->h && xa->w == xb->w;
}

int oct__gconv_runs_pair(const oct__graph *g, const oct__gnode *nd)
{
    return nd->kind == OCT__GK_CONV && nd->pair >= 0 && pair_ok(g, &g->nd[nd->pair], nd);
}

int oct__gconv_pair_runner(const oct__graph *g, int i)
{
    if (!g->nd[i].paired) return -1;
    for (int j = 0; j < g->nn; j++)
        if (g->nd[j].pair == i && oct__gconv_runs_pair(g, &g->nd[j])) return j;
    return -1;
}

/* The pair's op takes lh as its side output (oct__conv_pair_op.side) when the backend
 * says it takes one and lh is a plain square conv of the pair's geometry over one of the
 * pair's inputs, its output a value of its own. (Where it runs is fuse.c's: the pair node
 * before lh's reader.) */
int oct__gconv_side_ok(const oct__graph *g, const oct__gnode *nd, const oct__gnode *lh)
{
    const oct__backend *be = g->ctx->be;
    if (!oct__gconv_runs_pair(g, nd) || !be->pair_side || !be->pair_side(g->ctx)) return 0;
    const oct__gnode *a = &g->nd[nd->pair];
    return lh->kind == OCT__GK_CONV && fits_conv2d(lh) && lh->up < 0 && !lh->acc && !lh->paired && lh->pair < 0 &&
           lh->nout == 1 && g->v[lh->out[0]].view_of < 0 && lh->kh == nd->kh && lh->sh == nd->sh &&
           lh->pt == nd->pt && (lh->in[0] == a->in[0] || lh->in[0] == nd->in[0]);
}

/* y's starting value for a conv that adds onto its residual (oct__gnode.res_first): the
 * residual itself where the plan gave y its storage, else a copy of it. */
static oct_status res_start(oct__graph *g, const oct__gnode *nd, int n, const oct__view *y)
{
    oct__view r = oct__g_view(g, nd->in[nd->res], n);
    if (r.buf == y->buf && r.off == y->off) return OCT_OK;
    oct__resize_op copy = {r, *y, 0, 0};
    return oct__op_resize(g->ctx, &copy);
}

static oct_status conv_run(oct__graph *g, oct__gnode *nd, int n)
{
    oct_context *ctx = g->ctx;
    /* Run by the conv that adds onto this one's output, when they pair; or by a pair as
     * its side output. */
    if (oct__gconv_pair_runner(g, (int)(nd - g->nd)) >= 0) return OCT_OK;
    if (nd->sided)
        for (int i = 0; i < g->nn; i++)
            if (g->nd[i].side == (int)(nd - g->nd) && oct__gconv_side_ok(g, &g->nd[i], nd)) return OCT_OK;
    oct__view x = oct__g_view(g, nd->in[0], n), y = oct__g_view(g, nd->out[0], n);
    const oct__buf *bias = nd->bb.count ? &nd->bb : NULL;
    int relu = nd->relu;
    /* With an upsample (never paired): y = ReLU(conv + Up(lh's output)) as one op, so a
     * backend can add it in its stores. */
    oct__view up = nd->up >= 0 ? oct__g_view(g, nd->in[nd->up], n) : (oct__view){0};
    if (nd->res_first) OCT__TRY(res_start(g, nd, n, &y));
    if (nd->pair >= 0 && pair_ok(g, &g->nd[nd->pair], nd)) {
        const oct__gnode *a = &g->nd[nd->pair];
        oct__conv_pair_op op = {oct__g_view(g, a->in[0], n), x, y, &a->wb, &nd->wb, a->bb.count ? &a->bb : NULL, bias,
                                nd->kh, nd->sh, nd->pt, nd->res_first, relu, {0}, NULL, 0};
        if (nd->res >= 0 && !nd->res_first) op.res = oct__g_view(g, nd->in[nd->res], n);
        oct__conv_op side;
        if (nd->side >= 0 && oct__gconv_side_ok(g, nd, &g->nd[nd->side])) {
            const oct__gnode *lh = &g->nd[nd->side];
            side = (oct__conv_op){oct__g_view(g, lh->in[0], n), oct__g_view(g, lh->out[0], n), &lh->wb,
                                  lh->bb.count ? &lh->bb : NULL, lh->kh, lh->sh, lh->pt, 0, lh->relu};
            op.side = &side;
            op.side_x = lh->in[0] == a->in[0] ? 1 : 2;
        }
        OCT__TRY(oct__op_conv2d_pair(ctx, &op));
    } else if (fits_conv2d(nd)) {
        oct__conv_op op = {x, y, &nd->wb, bias, nd->kh, nd->sh, nd->pt, nd->acc, relu};
        if (nd->pool_next) { /* with the pool node after it (fuse.c, fuse_pools) */
            oct__poolg_op pool = oct__gpool_op(g, nd + 1, n);
            return oct__op_conv2d_pool(ctx, &op, &pool);
        }
        OCT__TRY(nd->up >= 0 ? oct__op_conv_up(ctx, &op, NULL, &up) : oct__op_conv2d(ctx, &op));
    } else {
        oct__convg_op op = {x, y, {0}, &nd->wb, bias, nd->kh, nd->kw, nd->sh, nd->sw, nd->pt, nd->pl, nd->pb, nd->pr,
                            nd->dh, nd->dw, nd->groups, nd->acc || nd->res_first, relu};
        if (nd->res >= 0 && !nd->res_first) op.res = oct__g_view(g, nd->in[nd->res], n);
        OCT__TRY(nd->up >= 0 ? oct__op_conv_up(ctx, NULL, &op, &up) : oct__op_convg(ctx, &op));
    }
    return OCT_OK;
}

static oct_status conv_upload(oct__graph *g, oct__gnode *nd)
{
    if (nd->w) {
        size_t count = (size_t)nd->co * (nd->ci / nd->groups) * nd->kh * nd->kw;
        OCT__TRY(oct__buf_upload(g->ctx, &nd->wb, nd->w, count));
        free(nd->w);
        nd->w = NULL;
    }
    if (nd->b) {
        OCT__TRY(oct__buf_upload(g->ctx, &nd->bb, nd->b, (size_t)nd->co));
        free(nd->b);
        nd->b = NULL;
    }
    return OCT_OK;
}

static void conv_release(oct__graph *g, oct__gnode *nd)
{
    oct__buf_free(g->ctx, &nd->wb);
    oct__buf_free(g->ctx, &nd->bb);
    free(nd->w);
    free(nd->b);
}

const oct__gkind oct__gk_conv = {"Conv", conv_shape, conv_macs, NULL, conv_run, conv_upload, conv_release};
