/* dispatch.c — the one validation layer between the code that queues ops (octconv.c,
 * the graph's layer kinds) and the backends. Every op is checked here, once, the same
 * way for every backend: views inside their buffers with every index an int, sizes in
 * range, shapes as the op's definition in internal.h has them, weight / bias / scale
 * counts exact, plain buffers large enough. An op whose output is empty returns OCT_OK
 * without reaching the backend. Backends trust what they are given (internal.h: "The
 * op table"). */
#include "internal.h"

#include <limits.h>
#include <stdint.h>

/* Elements of an (n, c, h, w) block, or SIZE_MAX when a size is negative or the
 * product overflows. */
static size_t oct__count(long long n, long long c, long long h, long long w)
{
    if (n < 0 || c < 0 || h < 0 || w < 0) return SIZE_MAX;
    size_t r = 1;
    long long f[4] = {n, c, h, w};
    for (int i = 0; i < 4; i++) {
        if (f[i] != 0 && r > (SIZE_MAX - 1) / (size_t)f[i]) return SIZE_MAX;
        r *= (size_t)f[i];
    }
    return r;
}

static size_t oct__items(const oct__view *v) { return oct__count(v->n, v->c, v->h, v->w); }

/* A view: a buffer, sizes >= 0, every element (and the last + 1) inside the buffer and
 * below INT_MAX. */
static oct_status oct__view_ok(const char *op, const char *name, const oct__view *v)
{
    if (!v->buf) return oct__fail(OCT_ERR_NULL_ARG, "%s: view %s has no buffer", op, name);
    size_t plane = oct__count(1, v->c, v->h, v->w), items = oct__items(v);
    if (plane == SIZE_MAX || items == SIZE_MAX || items > (size_t)INT_MAX)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: view %s (%d, %d, %d, %d) is negative or exceeds INT_MAX elements", op,
                         name, v->n, v->c, v->h, v->w);
    if (items == 0) return OCT_OK;
    /* Last element + 1: off + (n - 1) * nstride + plane. */
    size_t last = (size_t)(v->n - 1);
    if ((last != 0 && v->nstride > (size_t)INT_MAX / last) || v->off > (size_t)INT_MAX ||
        last * v->nstride + v->off + plane > (size_t)INT_MAX)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: view %s at offset %zu, batch stride %zu exceeds INT_MAX elements", op,
                         name, v->off, v->nstride);
    size_t end = last * v->nstride + v->off + plane;
    if (end > v->buf->count)
        return oct__fail(OCT_ERR_BAD_SIZE,
                         "%s: view %s (%d, %d, %d, %d) at offset %zu, batch stride %zu ends at %zu, past its buffer of "
                         "%zu floats",
                         op, name, v->n, v->c, v->h, v->w, v->off, v->nstride, end, v->buf->count);
    return OCT_OK;
}

/* A plain buffer of at least `need` floats (exactly, when `exact`); `need` SIZE_MAX is an
 * overflow. NULL is fine when nothing is needed (backends then never read it). */
static oct_status oct__buf_ok(const char *op, const char *name, const oct__buf *b, size_t need, int exact)
{
    if (need == SIZE_MAX || need > (size_t)INT_MAX)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: %s needs more than INT_MAX floats", op, name);
    if (!b) {
        if (need == 0) return OCT_OK;
        return oct__fail(OCT_ERR_NULL_ARG, "%s: buffer %s is NULL (%zu floats needed)", op, name, need);
    }
    if (exact ? b->count != need : b->count < need)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: %s holds %zu floats, %s %zu", op, name, b->count,
                         exact ? "expected" : "needs at least", need);
    return OCT_OK;
}

static int oct__same(const oct__view *a, const oct__view *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

/* (n, c, h, w) of a view for messages. */
#define OCT__V4(v) (v).n, (v).c, (v).h, (v).w

/* A square convolution's input x against y: kernel, stride, padding, batch, output
 * size, weights (Co, Ci, K, K) and bias (Co), window corners in int. */
static oct_status oct__conv_ok(const char *op, const char *xname, const oct__view *x, const oct__view *y,
                               const oct__buf *weight, const char *wname, const oct__buf *bias, const char *bname,
                               int k, int stride, int pad)
{
    OCT__TRY(oct__view_ok(op, xname, x));
    if (k < 1 || stride < 1 || pad < 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: kernel %d, stride %d, padding %d (need >= 1, >= 1, >= 0)", op, k,
                         stride, pad);
    if ((long long)x->h + pad + k > INT_MAX / 2 || (long long)x->w + pad + k > INT_MAX / 2 ||
        (long long)y->h * stride > INT_MAX || (long long)y->w * stride > INT_MAX || y->c > INT_MAX - 16)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: output %dx%d at stride %d, padding %d exceeds int indices", op, y->h,
                         y->w, stride, pad);
    int ho = oct__conv_out(x->h, k, stride, pad), wo = oct__conv_out(x->w, k, stride, pad);
    if (x->n != y->n || y->h != (ho > 0 ? ho : 0) || y->w != (wo > 0 ? wo : 0))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH,
                         "%s: y (%d, %d, %d, %d) does not fit %s (%d, %d, %d, %d) at kernel %d, stride %d, padding %d "
                         "(expected (%d, %d, %d, %d))",
                         op, OCT__V4(*y), xname, OCT__V4(*x), k, stride, pad, x->n, y->c, ho > 0 ? ho : 0,
                         wo > 0 ? wo : 0);
    OCT__TRY(oct__buf_ok(op, wname, weight, oct__count(y->c, x->c, k, k), 1));
    if (bias) OCT__TRY(oct__buf_ok(op, bname, bias, (size_t)y->c, 1));
    return OCT_OK;
}

static oct_status conv2d_check(const oct__conv_op *op)
{
    static const char *what = "conv2d";
    OCT__TRY(oct__view_ok(what, "y", &op->y));
    return oct__conv_ok(what, "x", &op->x, &op->y, op->weight, "weight", op->bias, "bias", op->k, op->stride, op->pad);
}

oct_status oct__op_conv2d(oct_context *ctx, const oct__conv_op *op)
{
    OCT__TRY(conv2d_check(op));
    if (oct__items(&op->y) == 0) return OCT_OK;
    return ctx->be->conv2d(ctx, op);
}

/* Whether two views share any float of one buffer (a conservative test: the spans from
 * each view's first float to its last). */
static int oct__views_overlap(const oct__view *a, const oct__view *b)
{
    if (a->buf != b->buf || oct__items(a) == 0 || oct__items(b) == 0) return 0;
    size_t pa = (size_t)a->c * a->h * a->w, pb = (size_t)b->c * b->h * b->w;
    size_t ea = a->off + (size_t)(a->n - 1) * a->nstride + pa, eb = b->off + (size_t)(b->n - 1) * b->nstride + pb;
    return a->off < eb && b->off < ea;
}

/* A conv2d_pair's side output (oct__conv_pair_op): a conv2d over x1 or x2 of the pair's
 * geometry, no accumulate, output apart from y. */
static oct_status pair_side_check(const oct__conv_pair_op *op)
{
    static const char *what = "conv2d_pair side";
    const oct__conv_op *s = op->side;
    const oct__view *x = op->side_x == 1 ? &op->x1 : op->side_x == 2 ? &op->x2 : NULL;
    if (!x) return oct__fail(OCT_ERR_BAD_SIZE, "%s: side_x is %d (must be 1 or 2)", what, op->side_x);
    if (s->x.buf != x->buf || s->x.off != x->off || s->x.nstride != x->nstride || !oct__same(&s->x, x))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: its x is not the pair's x%d", what, op->side_x);
    if (s->k != op->k || s->stride != op->stride || s->pad != op->pad || s->accumulate)
        return oct__fail(OCT_ERR_BAD_SIZE,
                         "%s: kernel %d, stride %d, padding %d, accumulate %d (must be the pair's %d, %d, %d and 0)",
                         what, s->k, s->stride, s->pad, s->accumulate, op->k, op->stride, op->pad);
    OCT__TRY(conv2d_check(s));
    if (oct__views_overlap(&s->y, &op->y) || oct__views_overlap(&s->y, &op->x1) ||
        oct__views_overlap(&s->y, &op->x2) || (op->res.buf && oct__views_overlap(&s->y, &op->res)))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: its y overlaps the pair's inputs or output", what);
    return OCT_OK;
}

oct_status oct__op_conv2d_pair(oct_context *ctx, const oct__conv_pair_op *op)
{
    static const char *what = "conv2d_pair";
    OCT__TRY(oct__view_ok(what, "y", &op->y));
    OCT__TRY(oct__conv_ok(what, "x1", &op->x1, &op->y, op->weight1, "weight1", op->bias1, "bias1", op->k, op->stride,
                          op->pad));
    OCT__TRY(oct__conv_ok(what, "x2", &op->x2, &op->y, op->weight2, "weight2", op->bias2, "bias2", op->k, op->stride,
                          op->pad));
    if (op->x1.h != op->x2.h || op->x1.w != op->x2.w)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: x1 is %dx%d, x2 %dx%d (must be equal)", what, op->x1.h, op->x1.w,
                         op->x2.h, op->x2.w);
    if (op->res.buf) {
        OCT__TRY(oct__view_ok(what, "res", &op->res));
        if (!oct__same(&op->res, &op->y))
            return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: res is (%d, %d, %d, %d), y (%d, %d, %d, %d) (must be equal)",
                             what, OCT__V4(op->res), OCT__V4(op->y));
    }
    const oct__conv_op *side = op->side;
    if (side) OCT__TRY(pair_side_check(op));
    if (oct__items(&op->y) == 0) return side ? oct__op_conv2d(ctx, side) : OCT_OK;
    if (side && !(ctx->be->conv2d_pair && ctx->be->pair_side && ctx->be->pair_side(ctx))) {
        oct__conv_pair_op two = *op; /* the pair, then the side as conv2d */
        two.side = NULL;
        OCT__TRY(ctx->be->conv2d_pair ? ctx->be->conv2d_pair(ctx, &two) : oct__pair_split(ctx, &two));
        return oct__items(&side->y) ? ctx->be->conv2d(ctx, side) : OCT_OK;
    }
    if (ctx->be->conv2d_pair) return ctx->be->conv2d_pair(ctx, op);
    return oct__pair_split(ctx, op);
}

oct_status oct__pair_split(oct_context *ctx, const oct__conv_pair_op *op)
{
    oct__conv_op a = {op->x1, op->y, op->weight1, op->bias1, op->k, op->stride, op->pad, op->accumulate, 0};
    OCT__TRY(ctx->be->conv2d(ctx, &a));
    if (!op->res.buf) {
        oct__conv_op b = {op->x2, op->y, op->weight2, op->bias2, op->k, op->stride, op->pad, 1, op->relu};
        return ctx->be->conv2d(ctx, &b);
    }
    oct__convg_op b = {op->x2, op->y, op->res, op->weight2, op->bias2, op->k, op->k, op->stride, op->stride,
                       op->pad, op->pad, op->pad, op->pad, 1, 1, 1, 1, op->relu};
    return ctx->be->convg(ctx, &b);
}

oct_status oct__op_avgpool2(oct_context *ctx, const oct__pool_op *op)
{
    static const char *what = "avgpool2";
    OCT__TRY(oct__view_ok(what, "x", &op->x));
    OCT__TRY(oct__view_ok(what, "y", &op->y));
    if (op->y.n != op->x.n || op->y.c != op->x.c || op->y.h != op->x.h / 2 || op->y.w != op->x.w / 2)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: y (%d, %d, %d, %d) is not x (%d, %d, %d, %d) pooled by 2", what,
                         OCT__V4(op->y), OCT__V4(op->x));
    if (oct__items(&op->y) == 0) return OCT_OK;
    return ctx->be->avgpool2(ctx, op);
}

oct_status oct__op_resize(oct_context *ctx, const oct__resize_op *op)
{
    static const char *what = "resize";
    OCT__TRY(oct__view_ok(what, "x", &op->x));
    OCT__TRY(oct__view_ok(what, "y", &op->y));
    if (op->y.n != op->x.n || op->y.c != op->x.c)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: y (%d, %d, %d, %d) cannot be resized from x (%d, %d, %d, %d)",
                         what, OCT__V4(op->y), OCT__V4(op->x));
    if (oct__items(&op->y) == 0) return OCT_OK;
    if (op->x.h < 1 || op->x.w < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: y (%d, %d, %d, %d) from an empty x plane %dx%d", what, OCT__V4(op->y),
                         op->x.h, op->x.w);
    return ctx->be->resize(ctx, op);
}

oct_status oct__op_gap(oct_context *ctx, const oct__gap_op *op)
{
    static const char *what = "gap";
    OCT__TRY(oct__view_ok(what, "x", &op->x));
    if (op->c0 < 0 || op->ctotal < 0 || (long long)op->c0 + op->x.c > op->ctotal)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: channels [%d, %d) outside the %d of y", what, op->c0,
                         op->c0 + op->x.c, op->ctotal);
    if (oct__count(op->x.n, op->x.c, 1, 1) == 0) return OCT_OK;
    if (op->x.h < 1 || op->x.w < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: the mean of an empty %dx%d plane", what, op->x.h, op->x.w);
    size_t need = oct__count(op->x.n, op->ctotal, 1, 1); /* SIZE_MAX (an overflow) stays SIZE_MAX */
    need = op->yoff > SIZE_MAX - need ? SIZE_MAX : op->yoff + need;
    OCT__TRY(oct__buf_ok(what, "y", op->y, need, 0));
    return ctx->be->gap(ctx, op);
}

oct_status oct__op_linear(oct_context *ctx, const oct__linear_op *op)
{
    static const char *what = "linear";
    if (op->n < 0 || op->in < 0 || op->out < 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: n %d, in %d, out %d (must be >= 0)", what, op->n, op->in, op->out);
    size_t ycount = oct__count(op->n, op->out, 1, 1);
    OCT__TRY(oct__buf_ok(what, "y", op->y, ycount, 0));
    OCT__TRY(oct__buf_ok(what, "x", op->x, oct__count(op->n, op->in, 1, 1), 0));
    OCT__TRY(oct__buf_ok(what, "weight", op->weight, oct__count(op->out, op->in, 1, 1), 0));
    if (op->bias) OCT__TRY(oct__buf_ok(what, "bias", op->bias, (size_t)op->out, 0));
    if (ycount == 0) return OCT_OK;
    return ctx->be->linear(ctx, op);
}

static oct_status convg_check(const oct__convg_op *op)
{
    static const char *what = "convg";
    const oct__view *x = &op->x, *y = &op->y;
    int g = op->groups;
    OCT__TRY(oct__view_ok(what, "y", y));
    OCT__TRY(oct__view_ok(what, "x", x));
    if (op->res.buf) OCT__TRY(oct__view_ok(what, "res", &op->res));
    if (op->kh < 1 || op->kw < 1 || op->stride_h < 1 || op->stride_w < 1 || op->dil_h < 1 || op->dil_w < 1 ||
        op->pad_t < 0 || op->pad_l < 0 || op->pad_b < 0 || op->pad_r < 0 || g < 1 || x->c % g || y->c % g)
        return oct__fail(OCT_ERR_BAD_SIZE,
                         "%s: kernel %dx%d, stride %d,%d, dilation %d,%d, pads %d,%d,%d,%d, groups %d of %d -> %d "
                         "channels",
                         what, op->kh, op->kw, op->stride_h, op->stride_w, op->dil_h, op->dil_w, op->pad_t, op->pad_l,
                         op->pad_b, op->pad_r, g, x->c, y->c);
    /* Window corners and clipping in int. */
    if ((long long)y->h * op->stride_h > INT_MAX || (long long)y->w * op->stride_w > INT_MAX ||
        (long long)op->dil_h * op->kh + x->h + op->pad_t + op->pad_b > INT_MAX / 2 ||
        (long long)op->dil_w * op->kw + x->w + op->pad_l + op->pad_r > INT_MAX / 2 || y->c > INT_MAX - 16)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: window indices of y (%d, %d, %d, %d) exceed int", what, OCT__V4(*y));
    long long sh = (long long)x->h + op->pad_t + op->pad_b - (long long)op->dil_h * (op->kh - 1) - 1;
    long long sw = (long long)x->w + op->pad_l + op->pad_r - (long long)op->dil_w * (op->kw - 1) - 1;
    if (x->n != y->n || sh < 0 || sw < 0 || y->h != sh / op->stride_h + 1 || y->w != sw / op->stride_w + 1)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: y (%d, %d, %d, %d) does not fit x (%d, %d, %d, %d)", what,
                         OCT__V4(*y), OCT__V4(*x));
    if (op->res.buf && !oct__same(&op->res, y))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: res (%d, %d, %d, %d) is not y's shape (%d, %d, %d, %d)", what,
                         OCT__V4(op->res), OCT__V4(*y));
    OCT__TRY(oct__buf_ok(what, "weight", op->weight, oct__count(y->c, x->c / g, op->kh, op->kw), 1));
    if (op->bias) OCT__TRY(oct__buf_ok(what, "bias", op->bias, (size_t)y->c, 1));
    return OCT_OK;
}

oct_status oct__op_convg(oct_context *ctx, const oct__convg_op *op)
{
    OCT__TRY(convg_check(op));
    if (oct__items(&op->y) == 0) return OCT_OK;
    return ctx->be->convg(ctx, op);
}

oct_status oct__op_conv_up(oct_context *ctx, const oct__conv_op *conv, const oct__convg_op *convg,
                           const oct__view *up)
{
    static const char *what = "conv_up";
    if (!conv == !convg || !up) return oct__fail(OCT_ERR_NULL_ARG, "%s: needs one of conv and convg, and up", what);
    OCT__TRY(conv ? conv2d_check(conv) : convg_check(convg));
    const oct__view *y = conv ? &conv->y : &convg->y;
    OCT__TRY(oct__view_ok(what, "up", up));
    if (up->n != y->n || up->c != y->c)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: y (%d, %d, %d, %d) cannot be resized from up (%d, %d, %d, %d)",
                         what, OCT__V4(*y), OCT__V4(*up));
    if (oct__items(y) == 0) return OCT_OK;
    if (up->h < 1 || up->w < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: y (%d, %d, %d, %d) from an empty up plane %dx%d", what, OCT__V4(*y),
                         up->h, up->w);
    if (ctx->be->conv_up) return ctx->be->conv_up(ctx, conv, convg, up);
    int relu;
    if (conv) {
        oct__conv_op c = *conv;
        relu = c.relu, c.relu = 0;
        OCT__TRY(ctx->be->conv2d(ctx, &c));
    } else {
        oct__convg_op g = *convg;
        relu = g.relu, g.relu = 0;
        OCT__TRY(ctx->be->convg(ctx, &g));
    }
    oct__resize_op r = {*up, *y, 1, relu};
    return ctx->be->resize(ctx, &r);
}

static oct_status poolg_check(const oct__poolg_op *op)
{
    static const char *what = "poolg";
    OCT__TRY(oct__view_ok(what, "x", &op->x));
    OCT__TRY(oct__view_ok(what, "y", &op->y));
    if (op->kh < 1 || op->kw < 1 || op->stride_h < 1 || op->stride_w < 1 || op->pad_t < 0 || op->pad_l < 0 ||
        op->pad_b < 0 || op->pad_r < 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: kernel %dx%d, stride %d,%d, pads %d,%d,%d,%d", what, op->kh, op->kw,
                         op->stride_h, op->stride_w, op->pad_t, op->pad_l, op->pad_b, op->pad_r);
    if (op->y.n != op->x.n || op->y.c != op->x.c)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: y (%d, %d, %d, %d) and x (%d, %d, %d, %d) differ in batch or "
                         "channels", what, OCT__V4(op->y), OCT__V4(op->x));
    if ((long long)op->y.h * op->stride_h + op->kh + op->x.h + op->pad_b > INT_MAX / 2 ||
        (long long)op->y.w * op->stride_w + op->kw + op->x.w + op->pad_r > INT_MAX / 2)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: window indices of y (%d, %d, %d, %d) exceed int", what,
                         OCT__V4(op->y));
    return OCT_OK;
}

oct_status oct__op_poolg(oct_context *ctx, const oct__poolg_op *op)
{
    OCT__TRY(poolg_check(op));
    if (oct__items(&op->y) == 0) return OCT_OK;
    return ctx->be->poolg(ctx, op);
}

oct_status oct__op_conv2d_pool(oct_context *ctx, const oct__conv_op *conv, const oct__poolg_op *pool)
{
    static const char *what = "conv2d_pool";
    OCT__TRY(conv2d_check(conv));
    OCT__TRY(poolg_check(pool));
    const oct__view *c = &conv->y, *p = &pool->x;
    if (p->buf != c->buf || p->off != c->off || p->nstride != c->nstride || !oct__same(p, c))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: the pool's x (%d, %d, %d, %d) is not the convolution's y "
                         "(%d, %d, %d, %d)", what, OCT__V4(*p), OCT__V4(*c));
    if (oct__views_overlap(&pool->y, &conv->y) || oct__views_overlap(&pool->y, &conv->x))
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: the pool's y overlaps the convolution's x or y", what);
    if (oct__items(&pool->y) == 0) return oct__op_conv2d(ctx, conv);
    if (ctx->be->conv2d_pool && oct__items(&conv->y) > 0) return ctx->be->conv2d_pool(ctx, conv, pool);
    if (oct__items(&conv->y) > 0) OCT__TRY(ctx->be->conv2d(ctx, conv));
    return ctx->be->poolg(ctx, pool);
}

oct_status oct__op_add(oct_context *ctx, const oct__add_op *op)
{
    static const char *what = "add";
    OCT__TRY(oct__view_ok(what, "a", &op->a));
    OCT__TRY(oct__view_ok(what, "b", &op->b));
    OCT__TRY(oct__view_ok(what, "y", &op->y));
    if (!oct__same(&op->a, &op->y) || !oct__same(&op->b, &op->y))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: a (%d, %d, %d, %d), b (%d, %d, %d, %d), y (%d, %d, %d, %d)",
                         what, OCT__V4(op->a), OCT__V4(op->b), OCT__V4(op->y));
    if (oct__items(&op->y) == 0) return OCT_OK;
    return ctx->be->add(ctx, op);
}

oct_status oct__op_affine(oct_context *ctx, const oct__affine_op *op)
{
    static const char *what = "affine";
    OCT__TRY(oct__view_ok(what, "x", &op->x));
    OCT__TRY(oct__view_ok(what, "y", &op->y));
    if (!oct__same(&op->x, &op->y))
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "%s: x (%d, %d, %d, %d) and y (%d, %d, %d, %d) differ", what,
                         OCT__V4(op->x), OCT__V4(op->y));
    if (op->scale) OCT__TRY(oct__buf_ok(what, "scale", op->scale, (size_t)op->x.c, 1));
    if (op->shift) OCT__TRY(oct__buf_ok(what, "shift", op->shift, (size_t)op->x.c, 1));
    if (oct__items(&op->y) == 0) return OCT_OK;
    return ctx->be->affine(ctx, op);
}
