/* convcase.c — see convcase.h. */
#include "convcase.h"

#include "internal.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAD CONV_LEAD
#define TAIL CONV_TAIL
#define CANARY CONV_CANARY

float *conv_canary_y(const float *y0, size_t ny)
{
    float *y = malloc((LEAD + ny + TAIL) * sizeof *y);
    if (!y) return NULL;
    for (size_t i = 0; i < LEAD + ny + TAIL; i++) y[i] = CANARY;
    memcpy(y + LEAD, y0, ny * sizeof *y);
    return y;
}

oct_status conv_case_run(oct_context *ctx, const conv_case *c, const float *x1, const float *x2, const float *w1,
                           const float *w2, const float *b1, const float *b2, const float *r, const float *y0,
                           float *out)
{
    int ho = c->h + 2 * c->pad - c->k + 1, wo = c->w + 2 * c->pad - c->k + 1, kk = c->k * c->k;
    size_t nx1 = (size_t)c->n * c->c1 * c->h * c->w, nx2 = (size_t)c->n * c->c2 * c->h * c->w;
    size_t ny = (size_t)c->n * c->co * ho * wo;
    oct__buf bx1 = {0}, bx2 = {0}, bw1 = {0}, bw2 = {0}, bb1 = {0}, bb2 = {0}, br = {0}, by = {0};
    float *ybuf = conv_canary_y(y0, ny);
    oct_status s = ybuf ? OCT_OK : OCT_ERR_HOST_MEMORY;
    if (s == OCT_OK) s = oct__buf_upload(ctx, &bx1, x1, nx1);
    if (s == OCT_OK && c->c2) s = oct__buf_upload(ctx, &bx2, x2, nx2);
    if (s == OCT_OK) s = oct__buf_upload(ctx, &bw1, w1, (size_t)c->co * c->c1 * kk);
    if (s == OCT_OK && c->c2) s = oct__buf_upload(ctx, &bw2, w2, (size_t)c->co * c->c2 * kk);
    if (s == OCT_OK && c->bias) s = oct__buf_upload(ctx, &bb1, b1, (size_t)c->co);
    if (s == OCT_OK && c->bias && c->c2) s = oct__buf_upload(ctx, &bb2, b2, (size_t)c->co);
    if (s == OCT_OK && c->res) s = oct__buf_upload(ctx, &br, r, ny);
    if (s == OCT_OK) s = oct__buf_upload(ctx, &by, ybuf, LEAD + ny + TAIL);
    oct__view vx1 = oct__view_of(&bx1, c->n, c->c1, c->h, c->w), vx2 = oct__view_of(&bx2, c->n, c->c2, c->h, c->w);
    oct__view vy = oct__view_of(&by, c->n, c->co, ho, wo);
    vy.off = LEAD;
    oct__view vr = c->res ? oct__view_of(&br, c->n, c->co, ho, wo) : (oct__view){0};
    if (s == OCT_OK && c->c2 && ctx->be->conv2d_pair) {
        oct__conv_pair_op op = {vx1, vx2, vy, &bw1, &bw2, c->bias ? &bb1 : NULL, c->bias ? &bb2 : NULL, c->k, 1,
                                c->pad, c->acc, c->relu, vr, NULL, 0};
        s = ctx->be->conv2d_pair(ctx, &op);
    } else if (s == OCT_OK && c->c2) { /* the reference: conv2d, then conv2d or convg onto it */
        oct__conv_op a = {vx1, vy, &bw1, c->bias ? &bb1 : NULL, c->k, 1, c->pad, c->acc, 0};
        oct__conv_op b = {vx2, vy, &bw2, c->bias ? &bb2 : NULL, c->k, 1, c->pad, 1, c->relu};
        oct__convg_op g = {vx2, vy, vr, &bw2, c->bias ? &bb2 : NULL, c->k, c->k, 1, 1, c->pad, c->pad, c->pad, c->pad,
                           1, 1, 1, 1, c->relu};
        s = ctx->be->conv2d(ctx, &a);
        if (s == OCT_OK) s = c->res ? ctx->be->convg(ctx, &g) : ctx->be->conv2d(ctx, &b);
    } else if (s == OCT_OK && c->res) {
        oct__convg_op op = {vx1, vy, vr, &bw1, c->bias ? &bb1 : NULL, c->k, c->k, 1, 1, c->pad, c->pad, c->pad, c->pad,
                            1, 1, 1, c->acc, c->relu};
        s = ctx->be->convg(ctx, &op);
    } else if (s == OCT_OK) {
        oct__conv_op op = {vx1, vy, &bw1, c->bias ? &bb1 : NULL, c->k, 1, c->pad, c->acc, c->relu};
        s = ctx->be->conv2d(ctx, &op);
    }
    if (s == OCT_OK) s = ctx->be->read(ctx, &by, out);
    oct__buf_free(ctx, &by), oct__buf_free(ctx, &br), oct__buf_free(ctx, &bb2), oct__buf_free(ctx, &bb1);
    oct__buf_free(ctx, &bw2), oct__buf_free(ctx, &bw1), oct__buf_free(ctx, &bx2), oct__buf_free(ctx, &bx1);
    free(ybuf);
    return s;
}

oct_status conv_cpu_context(const char *wino, const char *small, oct_context **out)
{
    if (*wino) setenv("OCTCL_CPU_WINOGRAD", wino, 1);
    else unsetenv("OCTCL_CPU_WINOGRAD");
    if (*small) setenv("OCTCL_CPU_SMALL", small, 1);
    else unsetenv("OCTCL_CPU_SMALL");
    oct_status s = oct_context_create("cpu", out);
    unsetenv("OCTCL_CPU_WINOGRAD");
    unsetenv("OCTCL_CPU_SMALL");
    return s;
}

size_t conv_check_out(const char *what, const float *want, const float *got, size_t ny, double tol_abs, double tol_rel)
{
    size_t miss = compare_floats(what, want + LEAD, got + LEAD, ny, tol_abs, tol_rel);
    for (size_t i = 0; i < LEAD + ny + TAIL; i++)
        if ((i < LEAD || i >= LEAD + ny) && got[i] != CANARY) {
            printf("\n  %s: canary %zu overwritten (%g)\n", what, i, got[i]);
            return miss + 1;
        }
    return miss;
}

int conv_data_make(const conv_case *c, rng_t *rng, float lo, float hi, conv_data *d)
{
    size_t ho = (size_t)(c->h + 2 * c->pad - c->k + 1), wo = (size_t)(c->w + 2 * c->pad - c->k + 1);
    size_t hw = (size_t)c->h * c->w, kk = (size_t)c->k * c->k, ny = (size_t)c->n * c->co * ho * wo;
    memset(d, 0, sizeof *d);
    d->x1 = rng_array(rng, (size_t)c->n * c->c1 * hw, lo, hi);
    d->x2 = c->c2 ? rng_array(rng, (size_t)c->n * c->c2 * hw, lo, hi) : NULL;
    d->w1 = rng_array(rng, (size_t)c->co * c->c1 * kk, lo, hi);
    d->w2 = c->c2 ? rng_array(rng, (size_t)c->co * c->c2 * kk, lo, hi) : NULL;
    d->b1 = rng_array(rng, (size_t)c->co, lo, hi), d->b2 = rng_array(rng, (size_t)c->co, lo, hi);
    d->r = rng_array(rng, ny, lo, hi), d->y0 = rng_array(rng, ny, lo, hi);
    return d->x1 && d->w1 && d->b1 && d->b2 && d->r && d->y0 && (!c->c2 || (d->x2 && d->w2));
}

void conv_data_free(conv_data *d)
{
    free(d->x1), free(d->x2), free(d->w1), free(d->w2), free(d->b1), free(d->b2), free(d->r), free(d->y0);
}
