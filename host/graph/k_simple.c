/* k_simple.c — the small node kinds, one table entry each: global average pool, add,
 * per-channel affine (BatchNorm alone, ReLU alone), nearest resize, concat on channels,
 * channel slice and flatten (views: no op), linear (Gemm / MatMul).
 */
#include "graph/graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double oct__gexpr_eval(const oct__gexpr *e, const int dims[4])
{
    double x = e->d >= 0 && e->d < 4 ? dims[e->d] : 0;
    for (int i = 0; i < e->nops; i++) {
        double k = e->k[i];
        switch (e->op[i]) {
        case '+': x += k; break;
        case '*': x *= k; break;
        case 'i': x = k != 0 ? floor(x / k) : 0; break;
        case 'd': x = k != 0 ? x / k : 0; break;
        case 'f': x = floor(x); break;
        case 'c': x = ceil(x); break;
        default: x = trunc(x); break;
        }
    }
    return x;
}

static int same(const oct__gdims *a, const oct__gdims *b) { return a->c == b->c && a->h == b->h && a->w == b->w; }

/* ---- GlobalAveragePool: x (N, C, H, W) -> (N, C, 1, 1) --------------------------------
 * With more than one input (a merge + pool: OctNetMini's, or an imported
 * GlobalAveragePool(Concat(..., Resize(b), ...))): the means of the inputs side by side on
 * channels; in[up] (up >= 0) is a low band, nearest-resized (up_h x up_w, or to oh x ow,
 * or, oh <= 0, to the plane of the last input, which is read for its size only and not
 * averaged) before its mean is taken, unless the resize is exactly 2x: then every value
 * repeats four times and its own mean is the resized band's. */

static int gap_count(const oct__gnode *nd) { return nd->up >= 0 ? nd->nin - 1 : nd->nin; }

/* The plane in[up] is resized to. */
static void gap_up_size(const oct__graph *g, const oct__gnode *nd, int *h, int *w)
{
    const oct__gdims *lo = &g->v[nd->in[nd->up]].d, *like = &g->v[nd->in[nd->nin - 1]].d;
    *h = nd->up_h ? lo->h * nd->up_h : nd->oh > 0 ? nd->oh : like->h;
    *w = nd->up_h ? lo->w * nd->up_w : nd->ow > 0 ? nd->ow : like->w;
}

/* 1: in[up] needs resizing into scratch. */
static int gap_resized(const oct__graph *g, const oct__gnode *nd)
{
    if (nd->up < 0) return 0;
    const oct__gdims *lo = &g->v[nd->in[nd->up]].d;
    int h, w;
    gap_up_size(g, nd, &h, &w);
    return h != 2 * lo->h || w != 2 * lo->w;
}

static oct_status gap_shape(const oct__graph *g, const oct__gnode *nd, oct__gdims *out)
{
    int c = 0, h = 0, w = 0;
    if (nd->up >= 0) gap_up_size(g, nd, &h, &w);
    for (int i = 0; i < gap_count(nd); i++) {
        const oct__gdims *d = &g->v[nd->in[i]].d;
        /* The merge's planes agree, as the Concat it stands for requires. */
        if (nd->up >= 0 && i != nd->up && (d->h != h || d->w != w))
            return oct__gfail_shape(nd, "input %d is %dx%d, the resized band %dx%d", i, d->h, d->w, h, w);
        c += d->c;
    }
    *out = (oct__gdims){c, 1, 1};
    return OCT_OK;
}

static size_t gap_scratch(const oct__graph *g, const oct__gnode *nd, int n)
{
    if (!gap_resized(g, nd)) return 0;
    int h, w;
    gap_up_size(g, nd, &h, &w);
    return (size_t)n * g->v[nd->in[nd->up]].d.c * h * w;
}

static oct_status gap_run(oct__graph *g, oct__gnode *nd, int n)
{
    oct__view y = oct__g_view(g, nd->out[0], n);
    int c0 = 0;
    for (int i = 0; i < gap_count(nd); i++) {
        oct__view x = oct__g_view(g, nd->in[i], n);
        if (i == nd->up && gap_resized(g, nd)) {
            int h, w;
            gap_up_size(g, nd, &h, &w);
            oct__view up = oct__view_of(oct__g_scratch(g), n, x.c, h, w);
            oct__resize_op r = {x, up, 0, 0};
            OCT__TRY(oct__op_resize(g->ctx, &r));
            x = up;
        }
        oct__gap_op op = {x, y.buf, y.c, c0, y.off}; /* y.off: a depth-first group's first image */
        OCT__TRY(oct__op_gap(g->ctx, &op));
        c0 += x.c;
    }
    return OCT_OK;
}

const oct__gkind oct__gk_gap = {"GlobalAveragePool", gap_shape, NULL, gap_scratch, gap_run, NULL, NULL};

/* ---- Add: a + b, same shapes ------------------------------------------------------------ */

static oct_status add_shape(const oct__graph *g, const oct__gnode *nd, oct__gdims *out)
{
    const oct__gdims *a = &g->v[nd->in[0]].d, *b = &g->v[nd->in[1]].d;
    if (!same(a, b)) return oct__gfail_shape(nd, "operands (%d, %d, %d) and (%d, %d, %d) differ", a->c, a->h, a->w, b->c, b->h, b->w);
    *out = *a;
    return OCT_OK;
}

static oct_status add_run(oct__graph *g, oct__gnode *nd, int n)
{
    oct__add_op op = {oct__g_view(g, nd->in[0], n), oct__g_view(g, nd->in[1], n), oct__g_view(g, nd->out[0], n),
                      nd->relu};
    return oct__op_add(g->ctx, &op);
}

const oct__gkind oct__gk_add = {"Add", add_shape, NULL, NULL, add_run, NULL, NULL};

/* ---- Affine: x * scale[c] + shift[c], then ReLU ----------------------------------------- */

static oct_status affine_shape(const oct__graph *g, const oct__gnode *nd, oct__gdims *out)
{
    *out = g->v[nd->in[0]].d;
    if ((nd->scale || nd->sb.count) && out->c != nd->co)
        return oct__gfail_shape(nd, "input has %d channels, the scale has %d", out->c, nd->co);
    return OCT_OK;
}

static oct_status affine_run(oct__graph *g, oct__gnode *nd, int n)
{
    oct__affine_op op = {oct__g_view(g, nd->in[0], n), oct__g_view(g, nd->out[0], n), nd->sb.count ? &nd->sb : NULL,
                         nd->tb.count ? &nd->tb : NULL, nd->relu};
    return oct__op_affine(g->ctx, &op);
}

static oct_status affine_upload(oct__graph *g, oct__gnode *nd)
{
    if (nd->scale) OCT__TRY(oct__buf_upload(g->ctx, &nd->sb, nd->scale, (size_t)nd->co));
    if (nd->shift) OCT__TRY(oct__buf_upload(g->ctx, &nd->tb, nd->shift, (size_t)nd->co));
    free(nd->scale);
    free(nd->shift);
    nd->scale = nd->shift = NULL;
    return OCT_OK;
}

static void affine_release(oct__graph *g, oct__gnode *nd)
{
    oct__buf_free(g->ctx, &nd->sb);
    oct__buf_free(g->ctx, &nd->tb);
    free(nd->scale);
    free(nd->shift);
}

const oct__gkind oct__gk_affine = {"Affine", affine_shape, NULL, NULL, affine_run, affine_upload, affine_release};

/* ---- Resize (nearest): integer scales or a fixed size ----------------------------------- */

static oct_status resize_shape(const oct__graph *g, const oct__gnode *nd, oct__gdims *out)
{
    const oct__gdims *x = &g->v[nd->in[0]].d;
    if (nd->oh < 0) { /* computed from in[1]'s dims */
        const oct__gdims *like = &g->v[nd->in[1]].d;
        int dims[4] = {1, like->c, like->h, like->w};
        double h = oct__gexpr_eval(&nd->size_expr[0], dims), w = oct__gexpr_eval(&nd->size_expr[1], dims);
        if (!(h >= 1 && w >= 1 && h <= 1 << 20 && w <= 1 << 20))
            return oct__gfail_shape(nd, "computed size %gx%g is out of range", h, w);
        *out = (oct__gdims){x->c, (int)h, (int)w};
    } else {
        *out = (oct__gdims){x->c, nd->up_h ? x->h * nd->up_h : nd->oh, nd->up_h ? x->w * nd->up_w : nd->ow};
    }
    return OCT_OK;
}

static oct_status resize_run(oct__graph *g, oct__gnode *nd, int n)
{
    oct__resize_op op = {oct__g_view(g, nd->in[0], n), oct__g_view(g, nd->out[0], n), 0, 0};
    return oct__op_resize(g->ctx, &op);
}

const oct__gkind oct__gk_resize = {"Resize", resize_shape, NULL, NULL, resize_run, NULL, NULL};

/* ---- Concat on channels: copies into channel windows ------------------------------------ */

static oct_status concat_shape(const oct__graph *g, const oct__gnode *nd, oct__gdims *out)
{
    *out = g->v[nd->in[0]].d;
    out->c = 0;
    for (int i = 0; i < nd->nin; i++) {
        const oct__gdims *d = &g->v[nd->in[i]].d;
        if (d->h != out->h || d->w != out->w)
            return oct__gfail_shape(nd, "input %d is %dx%d, input 0 is %dx%d", i, d->h, d->w, out->h, out->w);
        out->c += d->c;
    }
    return OCT_OK;
}

static oct_status concat_run(oct__graph *g, oct__gnode *nd, int n)
{
    oct__view y = oct__g_view(g, nd->out[0], n);
    int c0 = 0;
    for (int i = 0; i < nd->nin; i++) {
        oct__view x = oct__g_view(g, nd->in[i], n), win = y;
        win.off += (size_t)c0 * y.h * y.w;
        win.c = x.c;
        oct__resize_op copy = {x, win, 0, 0};
        OCT__TRY(oct__op_resize(g->ctx, &copy));
        c0 += x.c;
    }
    return OCT_OK;
}

const oct__gkind oct__gk_concat = {"Concat", concat_shape, NULL, NULL, concat_run, NULL, NULL};

/* ---- Slice on channels: a view [c0, c0 + co) --------------------------------------------- */

static oct_status slice_shape(const oct__graph *g, const oct__gnode *nd, oct__gdims *out)
{
    const oct__gdims *x = &g->v[nd->in[0]].d;
    if (nd->c0 + nd->co > x->c)
        return oct__gfail_shape(nd, "channels [%d, %d) of an input with %d", nd->c0, nd->c0 + nd->co, x->c);
    *out = (oct__gdims){nd->co, x->h, x->w};
    return OCT_OK;
}

const oct__gkind oct__gk_slice = {"Slice", slice_shape, NULL, NULL, NULL, NULL, NULL};

/* ---- Flatten: (N, C, H, W) -> (N, C*H*W), a view ---------------------------------------- */

static oct_status flatten_shape(const oct__graph *g, const oct__gnode *nd, oct__gdims *out)
{
    const oct__gdims *x = &g->v[nd->in[0]].d;
    long long f = (long long)x->c * x->h * x->w;
    if (f > 0x7fffffff) return oct__gfail_shape(nd, "%lld features", f);
    *out = (oct__gdims){(int)f, 1, 1};
    return OCT_OK;
}

const oct__gkind oct__gk_flatten = {"Flatten", flatten_shape, NULL, NULL, NULL, NULL, NULL};

/* ---- Linear: y (N, fout) = x (N, fin) w^T + b --------------------------------------------- */

static oct_status linear_shape(const oct__graph *g, const oct__gnode *nd, oct__gdims *out)
{
    const oct__gdims *x = &g->v[nd->in[0]].d;
    long long f = (long long)x->c * x->h * x->w;
    if (f != nd->fin)
        return oct__gfail_shape(nd, "input has %lld features, the weight expects %d", f, nd->fin);
    *out = (oct__gdims){nd->fout, 1, 1};
    return OCT_OK;
}

static long long linear_macs(const oct__graph *g, const oct__gnode *nd)
{
    (void)g;
    return (long long)nd->fin * nd->fout;
}

/* The linear op reads x from the start of a buffer: a window must be copied first. */
static size_t linear_scratch(const oct__graph *g, const oct__gnode *nd, int n)
{
    oct__gvalue *x = &g->v[nd->in[0]];
    if (x->view_of < 0 && x->d.h == 1 && x->d.w == 1) return 0;
    int r = nd->in[0];
    while (g->v[r].view_of >= 0) {
        if (g->v[r].c0) return (size_t)n * nd->fin;
        r = g->v[r].view_of;
    }
    return (size_t)g->v[r].d.c * g->v[r].d.h * g->v[r].d.w == (size_t)nd->fin ? 0 : (size_t)n * nd->fin;
}

static oct_status linear_run(oct__graph *g, oct__gnode *nd, int n)
{
    oct__view x = oct__g_view(g, nd->in[0], n), y = oct__g_view(g, nd->out[0], n);
    const oct__buf *xb = x.buf;
    if (linear_scratch(g, nd, n)) {
        xb = oct__g_scratch(g);
        oct__view s = oct__view_of(xb, n, x.c, x.h, x.w);
        oct__resize_op copy = {x, s, 0, 0};
        OCT__TRY(oct__op_resize(g->ctx, &copy));
    }
    oct__linear_op op = {xb, &nd->wb, nd->bb.count ? &nd->bb : NULL, y.buf, n, nd->fin, nd->fout};
    return oct__op_linear(g->ctx, &op);
}

static oct_status linear_upload(oct__graph *g, oct__gnode *nd)
{
    if (nd->w) OCT__TRY(oct__buf_upload(g->ctx, &nd->wb, nd->w, (size_t)nd->fin * nd->fout));
    if (nd->b) OCT__TRY(oct__buf_upload(g->ctx, &nd->bb, nd->b, (size_t)nd->fout));
    free(nd->w);
    free(nd->b);
    nd->w = nd->b = NULL;
    return OCT_OK;
}

static void linear_release(oct__graph *g, oct__gnode *nd)
{
    oct__buf_free(g->ctx, &nd->wb);
    oct__buf_free(g->ctx, &nd->bb);
    free(nd->w);
    free(nd->b);
}

const oct__gkind oct__gk_linear = {"Linear", linear_shape, linear_macs, linear_scratch, linear_run, linear_upload,
                                   linear_release};
