/* tensor.c — band tensors: shapes, storage through the context's backend, transfers,
 * and the small shape helpers every layer uses. */
#include "internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Shapes                                                                                 */

oct_shape oct_shape_bands(int n, int c_h, int c_l, int h, int w)
{
    oct_shape s = {n, c_h, h, w, c_l, h / 2, w / 2};
    return s;
}

oct_shape oct_shape_plain(int n, int c, int h, int w)
{
    oct_shape s = {n, c, h, w, 0, h / 2, w / 2};
    return s;
}

size_t oct_shape_high_count(const oct_shape *s)
{
    if (!s || s->n <= 0 || s->c_h <= 0 || s->h <= 0 || s->w <= 0) return 0;
    return (size_t)s->n * (size_t)s->c_h * (size_t)s->h * (size_t)s->w;
}

size_t oct_shape_low_count(const oct_shape *s)
{
    if (!s || s->n <= 0 || s->c_l <= 0 || s->hl <= 0 || s->wl <= 0) return 0;
    return (size_t)s->n * (size_t)s->c_l * (size_t)s->hl * (size_t)s->wl;
}

const char *oct__fmt4(char *buf, size_t len, int n, int c, int h, int w)
{
    snprintf(buf, len, "(%d, %d, %d, %d)", n, c, h, w);
    return buf;
}

/* Largest element count of one band: keeps every index inside a 32-bit int so kernels
 * can use int arithmetic, and keeps byte counts far from overflow. */
#define OCT__MAX_BAND_ELEMS ((size_t)INT_MAX)

static oct_status oct__check_band(const char *what, const char *band, int n, int c, int h, int w)
{
    if (c < 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: %s band has %d channels (must be >= 0)", what, band, c);
    if (c == 0) return OCT_OK;
    if (n <= 0 || h <= 0 || w <= 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: %s band size n=%d h=%d w=%d (each must be >= 1)",
                         what, band, n, h, w);
    double elems = (double)n * c * h * w;
    if (elems > (double)OCT__MAX_BAND_ELEMS)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: %s band (%d, %d, %d, %d) has %.0f elements (limit %zu)",
                         what, band, n, c, h, w, elems, OCT__MAX_BAND_ELEMS);
    return OCT_OK;
}

oct_status oct__check_shape(const oct_shape *s, const char *what)
{
    if (!s) return oct__fail(OCT_ERR_NULL_ARG, "%s: shape is NULL", what);
    if (s->n <= 0) return oct__fail(OCT_ERR_BAD_SIZE, "%s: batch n=%d (must be >= 1)", what, s->n);
    if (s->h <= 0 || s->w <= 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: high-band size %dx%d (each must be >= 1)", what, s->h, s->w);
    if (s->c_h == 0 && s->c_l == 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: both bands have zero channels", what);
    OCT__TRY(oct__check_band(what, "high", s->n, s->c_h, s->h, s->w));
    OCT__TRY(oct__check_band(what, "low", s->n, s->c_l, s->hl, s->wl));
    return OCT_OK;
}

int oct__shape_equal(const oct_shape *a, const oct_shape *b)
{
    if (a->n != b->n || a->c_h != b->c_h || a->h != b->h || a->w != b->w || a->c_l != b->c_l)
        return 0;
    return a->c_l == 0 || (a->hl == b->hl && a->wl == b->wl);
}

int oct__conv_out(int in, int k, int stride, int pad)
{
    long long span = (long long)in + 2LL * pad - k;
    if (span < 0 || stride <= 0) return 0;
    return (int)(span / stride + 1);
}

int oct__nearest_src(int dst, int in, int out)
{
    if (out == in) return dst;
    if (out == 2 * in) return dst >> 1;
    float scale = (float)in / (float)out;
    int s = (int)floorf((float)dst * scale);
    return s < in - 1 ? s : in - 1;
}

/* ------------------------------------------------------------------------------------ */
/* Buffers and views                                                                      */

oct__view oct__view_of(const oct__buf *buf, int n, int c, int h, int w)
{
    oct__view v = {buf, 0, (size_t)c * h * w, n, c, h, w};
    return v;
}

oct__view oct__view_channels(const oct__buf *buf, int n, int ctotal, int c0, int c, int h, int w)
{
    oct__view v = {buf, (size_t)c0 * h * w, (size_t)ctotal * h * w, n, c, h, w};
    return v;
}

oct_status oct__buf_alloc(oct_context *ctx, oct__buf *b, size_t count)
{
    memset(b, 0, sizeof *b);
    if (count == 0) return OCT_OK;
    OCT__TRY(ctx->be->alloc(ctx, b, count));
    ctx->buf_bytes += count * sizeof(float);
    return OCT_OK;
}

void oct__buf_free(oct_context *ctx, oct__buf *b)
{
    if (!b || b->count == 0) return;
    ctx->buf_bytes -= b->count * sizeof(float);
    ctx->be->free(ctx, b);
    memset(b, 0, sizeof *b);
}

oct_status oct__buf_upload(oct_context *ctx, oct__buf *b, const float *src, size_t count)
{
    OCT__TRY(oct__buf_alloc(ctx, b, count));
    if (count == 0) return OCT_OK;
    oct_status s = ctx->be->write(ctx, b, src);
    if (s != OCT_OK) oct__buf_free(ctx, b);
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* Tensors                                                                                */

oct_status oct_tensor_create(oct_context *ctx, const oct_shape *shape, oct_tensor **out)
{
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "oct_tensor_create: out is NULL");
    *out = NULL;
    if (!ctx) return oct__fail(OCT_ERR_NULL_ARG, "oct_tensor_create: context is NULL");
    OCT__TRY(oct__check_shape(shape, "oct_tensor_create"));

    oct_tensor *t = oct__calloc(1, sizeof *t);
    if (!t) return oct__fail(OCT_ERR_HOST_MEMORY, "oct_tensor_create: out of host memory");
    t->ctx = ctx;
    t->shape = *shape;
    if (t->shape.c_l == 0) {
        t->shape.hl = t->shape.h / 2;
        t->shape.wl = t->shape.w / 2;
    }
    oct_status s = oct__buf_alloc(ctx, &t->high, oct_shape_high_count(&t->shape));
    if (s != OCT_OK) goto fail;
    s = oct__buf_alloc(ctx, &t->low, oct_shape_low_count(&t->shape));
    if (s != OCT_OK) goto fail;
    *out = t;
    return OCT_OK;
fail:
    oct_tensor_free(t);
    return s;
}

oct_status oct__tensor_borrow(oct_context *ctx, const oct_shape *shape, const oct__buf *high, const oct__buf *low,
                              oct_tensor **out)
{
    *out = NULL;
    OCT__TRY(oct__check_shape(shape, "oct__tensor_borrow"));
    size_t nh = oct_shape_high_count(shape), nl = oct_shape_low_count(shape);
    if (nh > high->count || nl > low->count)
        return oct__fail(OCT_ERR_BAD_SIZE, "oct__tensor_borrow: bands of %zu + %zu floats do not fit %zu + %zu", nh, nl,
                         high->count, low->count);
    oct_tensor *t = oct__calloc(1, sizeof *t);
    if (!t) return oct__fail(OCT_ERR_HOST_MEMORY, "oct__tensor_borrow: out of host memory");
    t->ctx = ctx;
    t->shape = *shape;
    /* Same storage, the band's own length: transfers and view checks see exactly the band. */
    t->high = nh ? *high : (oct__buf){0};
    t->high.count = nh;
    t->low = nl ? *low : (oct__buf){0};
    t->low.count = nl;
    t->borrowed = 1;
    *out = t;
    return OCT_OK;
}

void oct_tensor_free(oct_tensor *t)
{
    if (!t) return;
    if (!t->borrowed) {
        oct__buf_free(t->ctx, &t->low);
        oct__buf_free(t->ctx, &t->high);
    }
    free(t);
}

oct_status oct_tensor_shape(const oct_tensor *t, oct_shape *out)
{
    if (!t || !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_tensor_shape: %s is NULL", t ? "out" : "tensor");
    *out = t->shape;
    return OCT_OK;
}

oct_status oct_tensor_write(oct_tensor *t, const float *high, const float *low)
{
    if (!t) return oct__fail(OCT_ERR_NULL_ARG, "oct_tensor_write: tensor is NULL");
    if ((t->high.count && !high) || (t->low.count && !low))
        return oct__fail(OCT_ERR_NULL_ARG, "oct_tensor_write: %s band data is NULL", !high ? "high" : "low");
    if (t->high.count) OCT__TRY(t->ctx->be->write(t->ctx, &t->high, high));
    if (t->low.count) OCT__TRY(t->ctx->be->write(t->ctx, &t->low, low));
    return OCT_OK;
}

oct_status oct_tensor_read(const oct_tensor *t, float *high, float *low)
{
    if (!t) return oct__fail(OCT_ERR_NULL_ARG, "oct_tensor_read: tensor is NULL");
    if ((t->high.count && !high) || (t->low.count && !low))
        return oct__fail(OCT_ERR_NULL_ARG, "oct_tensor_read: %s band destination is NULL", !high ? "high" : "low");
    if (t->high.count) OCT__TRY(t->ctx->be->read(t->ctx, &t->high, high));
    if (t->low.count) OCT__TRY(t->ctx->be->read(t->ctx, &t->low, low));
    return OCT_OK;
}
