/* model_api.c — the model queries that work on any network (oct_model_io, _input,
 * _output, _output_shape, _parameters, _trace, _layer_*): walks over the graph of an
 * ONNX model; OctNetMini answers io/trace from its info and lists its layers from
 * its graph (graph/from_octnet.c).
 */
#include "graph/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

oct_status oct_model_io(const oct_model *m, int *ninputs, int *noutputs)
{
    if (!m) return oct__fail(OCT_ERR_NULL_ARG, "oct_model_io: model is NULL");
    if (ninputs) *ninputs = 1;
    if (noutputs) *noutputs = 1;
    return OCT_OK;
}

static void tensor_of(const oct__graph *g, int v, int h, int w, oct_model_tensor *out)
{
    const oct__gvalue *val = &g->v[v];
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", val->name);
    out->rank = val->rank;
    out->dims[0] = -1;
    out->dims[1] = val->d.c;
    out->dims[2] = val->rank == 4 ? h : 1;
    out->dims[3] = val->rank == 4 ? w : 1;
}

static oct_status check_index(const oct_model *m, int i, const void *out, const char *what)
{
    if (!m || !out) return oct__fail(OCT_ERR_NULL_ARG, "%s: %s is NULL", what, !m ? "model" : "out");
    if (i != 0) return oct__fail(OCT_ERR_BAD_SIZE, "%s: index %d (the model has one)", what, i);
    return OCT_OK;
}

oct_status oct_model_input(const oct_model *m, int i, oct_model_tensor *out)
{
    OCT__TRY(check_index(m, i, out, "oct_model_input"));
    oct__graph *g = oct__model_graph(m);
    if (g) {
        tensor_of(g, g->input, g->in_h, g->in_w, out);
        out->dims[2] = g->in_h, out->dims[3] = g->in_w;
        return OCT_OK;
    }
    oct_model_info mi;
    OCT__TRY(oct_model_info_get(m, &mi));
    *out = (oct_model_tensor){"input", 4, {-1, mi.in_channels, -1, -1}};
    return OCT_OK;
}

oct_status oct_model_output(const oct_model *m, int i, oct_model_tensor *out)
{
    OCT__TRY(check_index(m, i, out, "oct_model_output"));
    oct__graph *g = oct__model_graph(m);
    if (g) {
        OCT__TRY(oct__graph_shapes(g, g->in_h, g->in_w));
        const oct__gdims *d = &g->v[g->output].d;
        tensor_of(g, g->output, d->h, d->w, out);
        return OCT_OK;
    }
    oct_model_info mi;
    OCT__TRY(oct_model_info_get(m, &mi));
    *out = (oct_model_tensor){"logits", 2, {-1, mi.num_classes, 1, 1}};
    return OCT_OK;
}

oct_status oct_model_output_shape(oct_model *m, int n, int h, int w, oct_model_tensor *out)
{
    OCT__TRY(check_index(m, 0, out, "oct_model_output_shape"));
    if (n < 1 || h < 1 || w < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "oct_model_output_shape: n, h, w = %d, %d, %d (each must be >= 1)", n, h, w);
    oct__graph *g = oct__model_graph(m);
    if (g) {
        OCT__TRY(oct__graph_shapes(g, h, w));
        const oct__gdims *d = &g->v[g->output].d;
        tensor_of(g, g->output, d->h, d->w, out);
    } else {
        OCT__TRY(oct_model_output(m, 0, out));
    }
    out->dims[0] = n;
    return OCT_OK;
}

long long oct_model_parameters(const oct_model *m)
{
    oct__graph *g = oct__model_graph(m);
    if (g) return g->params;
    oct_model_info mi;
    return m && oct_model_info_get(m, &mi) == OCT_OK ? mi.parameters : 0;
}

oct_status oct_model_trace(oct_model *m, int n, int h, int w, oct_trace_fn trace, void *user)
{
    if (!m || !trace) return oct__fail(OCT_ERR_NULL_ARG, "oct_model_trace: %s is NULL", !m ? "model" : "trace");
    if (n < 1 || h < 1 || w < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "oct_model_trace: n, h, w = %d, %d, %d (each must be >= 1)", n, h, w);
    oct__graph *g = oct__model_graph(m);
    if (g) return oct__graph_trace(g, n, h, w, trace, user);
    oct_model_info mi;
    OCT__TRY(oct_model_info_get(m, &mi));
    size_t count = (size_t)n * mi.in_channels * h * w;
    float *x = oct__calloc(count ? count : 1, sizeof *x), *y = oct__malloc((size_t)n * mi.num_classes * sizeof *y);
    oct_status s = x && y ? oct_model_forward(m, x, n, h, w, y, trace, user)
                          : oct__fail(OCT_ERR_HOST_MEMORY, "oct_model_trace: out of host memory");
    free(x);
    free(y);
    return s;
}

int oct_model_layer_count(const oct_model *m)
{
    oct__graph *g = oct__model_any_graph(m);
    return g ? g->nn : 0;
}

oct_status oct_model_layer_get(const oct_model *m, int i, oct_model_layer *out)
{
    if (!m || !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_model_layer_get: %s is NULL", !m ? "model" : "out");
    oct__graph *g = oct__model_any_graph(m);
    if (!g || i < 0 || i >= g->nn)
        return oct__fail(OCT_ERR_BAD_SIZE, "oct_model_layer_get: index %d (the model has %d layers)", i, g ? g->nn : 0);
    OCT__TRY(oct__graph_shapes(g, g->in_h, g->in_w));
    const oct__gnode *nd = &g->nd[i];
    const oct__gkind *k = oct__gkind_of(nd->kind);
    memset(out, 0, sizeof *out);
    if (nd->octconv)
        snprintf(out->kind, sizeof out->kind, "OctConv %d %s", nd->octconv, nd->role);
    else if (nd->kind == OCT__GK_CONV) /* a plain convolution says its kernel */
        snprintf(out->kind, sizeof out->kind, "%s %dx%d", k->name, nd->kh, nd->kw);
    else
        snprintf(out->kind, sizeof out->kind, "%s", k->name);
    snprintf(out->name, sizeof out->name, "%s", nd->name);
    snprintf(out->fused, sizeof out->fused, "%s", nd->fused ? nd->fused : "");
    out->macs = k->macs ? k->macs(g, nd) : 0;
    return OCT_OK;
}

/* The checks of a pass that reports per layer (call fn; out, named out_name, its
 * per-layer results; what: its verb for an empty model), and the model's graph. */
static oct_status layer_pass_args(const char *fn, const char *what, oct_model *m, const float *x, int n, int h, int w,
                                  const float *logits, const void *out, const char *out_name, oct__graph **g)
{
    if (!m || !x || !logits || !out)
        return oct__fail(OCT_ERR_NULL_ARG, "%s: %s is NULL", fn,
                         !m ? "model" : !x ? "input" : !logits ? "logits" : out_name);
    if (n < 1 || h < 1 || w < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: n, h, w = %d, %d, %d (each must be >= 1)", fn, n, h, w);
    *g = oct__model_any_graph(m);
    if (!*g || (*g)->nn == 0)
        return oct__fail(OCT_ERR_UNSUPPORTED, "%s: the model runs no layers (layer count 0): nothing to %s", fn, what);
    return OCT_OK;
}

/* oct_model_profile (threads 0, thread_seconds not used) and oct_model_profile_threads. */
static oct_status model_profile(const char *fn, int threads, oct_model *m, const float *x, int n, int h, int w,
                                float *logits, double *layer_seconds, double *thread_seconds)
{
    if (m && x && logits && layer_seconds && threads && !thread_seconds)
        return oct__fail(OCT_ERR_NULL_ARG, "%s: thread_seconds is NULL", fn);
    oct__graph *g = NULL;
    OCT__TRY(layer_pass_args(fn, "time", m, x, n, h, w, logits, layer_seconds, "layer_seconds", &g));
    /* The pass itself is oct_model_forward's (same checks, chunks and logits); the graph
     * times each node while g->prof is set, and its threads while g->prof_busy is. */
    g->prof = layer_seconds;
    g->prof_busy = thread_seconds;
    g->prof_threads = oct_model_threads(m);
    oct_status s = oct_model_forward(m, x, n, h, w, logits, NULL, NULL);
    g->prof = NULL;
    g->prof_busy = NULL;
    return s;
}

oct_status oct_model_profile(oct_model *m, const float *x, int n, int h, int w, float *logits, double *layer_seconds)
{
    return model_profile("oct_model_profile", 0, m, x, n, h, w, logits, layer_seconds, NULL);
}

oct_status oct_model_profile_threads(oct_model *m, const float *x, int n, int h, int w, float *logits,
                                     double *layer_seconds, double *thread_seconds)
{
    return model_profile("oct_model_profile_threads", 1, m, x, n, h, w, logits, layer_seconds, thread_seconds);
}

oct_status oct_model_layer_macs_executed(oct_model *m, const float *x, int n, int h, int w, float *logits,
                                         long long *macs_executed)
{
    oct__graph *g = NULL;
    OCT__TRY(layer_pass_args("oct_model_layer_macs_executed", "count", m, x, n, h, w, logits, macs_executed,
                             "macs_executed", &g));
    long long before = -1;
    OCT__TRY(oct_context_macs_executed(g->ctx, &before));
    if (before < 0) { /* the backend counts none: a plain pass */
        OCT__TRY(oct_model_forward(m, x, n, h, w, logits, NULL, NULL));
        for (int i = 0; i < g->nn; i++) macs_executed[i] = -1;
        return OCT_OK;
    }
    g->prof_exec = macs_executed;
    oct_status s = oct_model_forward(m, x, n, h, w, logits, NULL, NULL);
    g->prof_exec = NULL;
    return s;
}

int oct_model_threads(const oct_model *m)
{
    const oct__graph *g = m ? oct__model_any_graph(m) : NULL;
    if (!g || !g->ctx) return 1;
    const oct_context *ctx = g->ctx;
    int t = ctx->be->threads ? ctx->be->threads(ctx) : 1;
    return t > 1 ? t : 1;
}
