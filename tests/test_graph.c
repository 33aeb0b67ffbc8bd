/* test_graph.c — the ONNX importer and the graph engine on models built by hand as
 * oct__onnx_model structs: fusion decisions, each load error with its message, the
 * shape trace, MACs against a hand count, activation bytes against what the context
 * allocated, chunking, and the forward pass against plain double loops written here,
 * on ref, cpu and every OpenCL device; the per-layer timing of oct_model_profile.
 */
#include "graph/graph.h"
#include "onnx/onnx.h"
#include "onnx/onnx_import.h"
#include "testutil.h"
#include "threadpool.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

/* ------------------------------------------------------------------------------------ */
/* A model built by hand                                                                  */

#define MAXN 48
#define MAXA 8

typedef struct {
    oct__onnx_model m;
    oct__onnx_node nodes[MAXN];
    oct__onnx_tensor inits[MAXN];
    oct__onnx_value in, out;
    char *ins[MAXN][8], *outs[MAXN][4];
    oct__onnx_attr attrs[MAXN][MAXA];
    int64_t ints[MAXN][MAXA][8];
    char strs[MAXN][MAXA][32];
    char names[MAXN * 12][48];
    int nnames;
    rng_t r;
} net;

static char *name(net *t, const char *s)
{
    char *p = t->names[t->nnames++];
    snprintf(p, 48, "%s", s);
    return p;
}

static void net_init(net *t, int c, int h, int w)
{
    memset(t, 0, sizeof *t);
    t->r.s = 12345;
    t->m.opset = 13;
    t->in.name = name(t, "x");
    t->in.elem_type = OCT__ONNX_FLOAT;
    t->in.ndim = 4;
    t->in.dims[0] = -1, t->in.dims[1] = c, t->in.dims[2] = h, t->in.dims[3] = w;
    t->m.inputs = &t->in, t->m.ninputs = 1;
    t->m.outputs = &t->out, t->m.noutputs = 1;
    t->m.nodes = t->nodes;
    t->m.inits = t->inits;
}

static void net_output(net *t, const char *s)
{
    t->out.name = name(t, s);
    t->out.elem_type = OCT__ONNX_FLOAT;
}

/* A float initializer of the given dims, uniform in [lo, hi). */
static oct__onnx_tensor *init_f(net *t, const char *s, float lo, float hi, int ndim, ...)
{
    oct__onnx_tensor *x = &t->inits[t->m.ninits++];
    va_list ap;
    va_start(ap, ndim);
    x->name = name(t, s);
    x->dtype = OCT__ONNX_FLOAT;
    x->ndim = ndim;
    x->count = 1;
    for (int i = 0; i < ndim; i++) x->count *= (size_t)(x->dims[i] = va_arg(ap, int));
    va_end(ap);
    x->f = rng_array(&t->r, x->count, lo, hi);
    return x;
}

/* An int64 initializer holding the given values (1-D). */
static void init_i(net *t, const char *s, int count, ...)
{
    oct__onnx_tensor *x = &t->inits[t->m.ninits++];
    va_list ap;
    va_start(ap, count);
    x->name = name(t, s);
    x->dtype = OCT__ONNX_INT64;
    x->ndim = 1;
    x->dims[0] = count;
    x->count = (size_t)count;
    x->i = calloc((size_t)count + 1, sizeof *x->i);
    for (int i = 0; i < count; i++) x->i[i] = va_arg(ap, long long);
    va_end(ap);
}

/* A node: inputs and outputs as comma lists. */
static oct__onnx_node *node(net *t, const char *op, const char *nm, const char *ins, const char *outs)
{
    int k = t->m.nnodes++;
    oct__onnx_node *n = &t->nodes[k];
    n->op_type = name(t, op);
    n->name = name(t, nm);
    n->domain = name(t, "");
    n->inputs = t->ins[k], n->outputs = t->outs[k], n->attrs = t->attrs[k];
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ins);
    for (char *p = strtok(buf, ","); p; p = strtok(NULL, ",")) n->inputs[n->ninputs++] = name(t, strcmp(p, "-") ? p : "");
    snprintf(buf, sizeof buf, "%s", outs);
    for (char *p = strtok(buf, ","); p; p = strtok(NULL, ",")) n->outputs[n->noutputs++] = name(t, p);
    return n;
}

static void attr_ints(net *t, oct__onnx_node *n, const char *nm, int count, ...)
{
    int k = (int)(n - t->nodes);
    oct__onnx_attr *a = &n->attrs[n->nattrs];
    va_list ap;
    va_start(ap, count);
    a->name = name(t, nm);
    a->type = OCT__ONNX_ATTR_INTS;
    a->ints = t->ints[k][n->nattrs];
    a->nints = count;
    for (int i = 0; i < count; i++) a->ints[i] = va_arg(ap, int);
    va_end(ap);
    n->nattrs++;
}

static void attr_int(net *t, oct__onnx_node *n, const char *nm, int v)
{
    oct__onnx_attr *a = &n->attrs[n->nattrs++];
    a->name = name(t, nm);
    a->type = OCT__ONNX_ATTR_INT;
    a->i = v;
}

static void attr_str(net *t, oct__onnx_node *n, const char *nm, const char *v)
{
    int k = (int)(n - t->nodes);
    oct__onnx_attr *a = &n->attrs[n->nattrs];
    a->name = name(t, nm);
    a->type = OCT__ONNX_ATTR_STRING;
    a->s = t->strs[k][n->nattrs];
    snprintf(a->s, 32, "%s", v);
    n->nattrs++;
}

static void net_free(net *t)
{
    for (int i = 0; i < t->m.ninits; i++) {
        free(t->inits[i].f);
        free(t->inits[i].i);
    }
}

static const oct__onnx_tensor *find_init(const net *t, const char *s)
{
    for (int i = 0; i < t->m.ninits; i++)
        if (strcmp(t->inits[i].name, s) == 0) return &t->inits[i];
    return NULL;
}

/* A conv node with weight "<nm>.w" (co, ci, k, k), bias "<nm>.b", stride 1, pad k / 2. */
static oct__onnx_node *conv(net *t, const char *nm, const char *in, const char *out, int ci, int co, int k)
{
    char w[48], b[48], ins[160];
    snprintf(w, sizeof w, "%s.w", nm);
    snprintf(b, sizeof b, "%s.b", nm);
    init_f(t, w, -0.5f, 0.5f, 4, co, ci, k, k);
    init_f(t, b, -0.5f, 0.5f, 1, co);
    snprintf(ins, sizeof ins, "%s,%s,%s", in, w, b);
    oct__onnx_node *n = node(t, "Conv", nm, ins, out);
    attr_ints(t, n, "kernel_shape", 2, k, k);
    attr_ints(t, n, "pads", 4, k / 2, k / 2, k / 2, k / 2);
    return n;
}

static void bn(net *t, const char *nm, const char *in, const char *out, int c)
{
    char p[4][48], ins[256];
    static const char *const part[4] = {"g", "b", "m", "v"};
    for (int i = 0; i < 4; i++) {
        snprintf(p[i], 48, "%s.%s", nm, part[i]);
        init_f(t, p[i], i == 3 ? 0.5f : i == 0 ? 0.5f : -0.3f, i == 3 || i == 0 ? 1.5f : 0.3f, 1, c);
    }
    snprintf(ins, sizeof ins, "%s,%s,%s,%s,%s", in, p[0], p[1], p[2], p[3]);
    node(t, "BatchNormalization", nm, ins, out);
}

/* ------------------------------------------------------------------------------------ */
/* Plain double loops: the expected values                                               */

/* y (n, co, h, w) = conv(x (n, ci, h, w)), 'same' padding, stride 1. */
static void ref_conv(const double *x, int n, int ci, int h, int w, const float *wt, const float *b, int co, int k,
                     double *y)
{
    int p = k / 2;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < co; o++)
            for (int yy = 0; yy < h; yy++)
                for (int xx = 0; xx < w; xx++) {
                    double s = b ? b[o] : 0;
                    for (int c = 0; c < ci; c++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int sy = yy + ky - p, sx = xx + kx - p;
                                if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                                s += wt[((o * ci + c) * k + ky) * k + kx] * x[((size_t)(i * ci + c) * h + sy) * w + sx];
                            }
                    y[((size_t)(i * co + o) * h + yy) * w + xx] = s;
                }
}

static void ref_bn(double *x, int n, int c, int hw, const net *t, const char *nm, int relu)
{
    char p[48];
    snprintf(p, 48, "%s.g", nm);
    const float *g = find_init(t, p)->f;
    snprintf(p, 48, "%s.b", nm);
    const float *b = find_init(t, p)->f;
    snprintf(p, 48, "%s.m", nm);
    const float *m = find_init(t, p)->f;
    snprintf(p, 48, "%s.v", nm);
    const float *v = find_init(t, p)->f;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int k = 0; k < hw; k++) {
                double *e = &x[((size_t)i * c + ch) * hw + k];
                *e = (*e - m[ch]) / sqrt(v[ch] + 1e-5) * g[ch] + b[ch];
                if (relu && *e < 0) *e = 0;
            }
}

/* 2x2 pooling, stride 2: average or max. */
static void ref_pool2(const double *x, int n, int c, int h, int w, int max, double *y)
{
    int ho = h / 2, wo = w / 2;
    for (int i = 0; i < n * c; i++)
        for (int yy = 0; yy < ho; yy++)
            for (int xx = 0; xx < wo; xx++) {
                const double *p = x + (size_t)i * h * w + (2 * yy) * w + 2 * xx;
                y[(size_t)i * ho * wo + yy * wo + xx] =
                    max ? fmax(fmax(p[0], p[1]), fmax(p[w], p[w + 1])) : (p[0] + p[1] + p[w] + p[w + 1]) / 4;
            }
}

/* ------------------------------------------------------------------------------------ */
/* Devices                                                                                */

static const char *g_devices[10];
static char g_dev_names[8][32];
static int g_ndevices;

static void find_devices(void)
{
    g_devices[g_ndevices++] = "ref";
    g_devices[g_ndevices++] = "cpu";
    oct_device_info d[8];
    int count = 0;
    if (oct_list_devices(d, 8, &count) == OCT_OK)
        for (int i = 0; i < count && i < 8; i++) {
            snprintf(g_dev_names[i], sizeof g_dev_names[i], "opencl:%d:%d", d[i].platform_index, d[i].device_index);
            g_devices[g_ndevices++] = g_dev_names[i];
        }
}

static oct__graph *import(oct_context *ctx, net *t, oct_status want)
{
    oct__graph *g = NULL;
    oct_status s = oct__onnx_import(ctx, &t->m, "test.onnx", &g);
    if (s != want) printf("\nimport: status %d (%s), expected %d\n", s, oct_last_error(), want);
    CU_ASSERT_EQUAL(s, want);
    return g;
}

/* Compare out (float) to want (double). */
static void check(const char *what, const double *want, const float *got, size_t n)
{
    float *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++) w[i] = (float)want[i];
    CU_ASSERT_EQUAL(compare_floats(what, w, got, n, TOL_ABS, TOL_REL), 0);
    free(w);
}

/* ------------------------------------------------------------------------------------ */
/* A small plain net: Conv + BN + ReLU, MaxPool, GAP, Flatten, Gemm                         */

enum { S_C = 3, S_H = 9, S_W = 8, S_CO = 4, S_K = 5 };

static void small_net(net *t)
{
    net_init(t, S_C, S_H, S_W);
    conv(t, "conv", "x", "c", S_C, S_CO, 3);
    bn(t, "bn", "c", "b", S_CO);
    node(t, "Relu", "relu", "b", "r");
    oct__onnx_node *p = node(t, "MaxPool", "pool", "r", "p");
    attr_ints(t, p, "kernel_shape", 2, 2, 2);
    attr_ints(t, p, "strides", 2, 2, 2);
    node(t, "GlobalAveragePool", "gap", "p", "g");
    node(t, "Flatten", "flat", "g", "f");
    init_f(t, "fc.w", -1, 1, 2, S_K, S_CO);
    init_f(t, "fc.b", -1, 1, 1, S_K);
    oct__onnx_node *fc = node(t, "Gemm", "fc", "f,fc.w,fc.b", "y");
    attr_int(t, fc, "transB", 1);
    net_output(t, "y");
}

static void small_expected(const net *t, const float *x, int n, double *y)
{
    size_t hw = S_H * S_W;
    double *xd = malloc((size_t)n * S_C * hw * sizeof *xd), *c = malloc((size_t)n * S_CO * hw * sizeof *c);
    double *p = malloc((size_t)n * S_CO * (hw / 4) * sizeof *p);
    for (size_t i = 0; i < (size_t)n * S_C * hw; i++) xd[i] = x[i];
    ref_conv(xd, n, S_C, S_H, S_W, find_init(t, "conv.w")->f, find_init(t, "conv.b")->f, S_CO, 3, c);
    ref_bn(c, n, S_CO, (int)hw, t, "bn", 1);
    ref_pool2(c, n, S_CO, S_H, S_W, 1, p);
    const float *fw = find_init(t, "fc.w")->f, *fb = find_init(t, "fc.b")->f;
    int ph = S_H / 2, pw = S_W / 2;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < S_K; k++) {
            double s = fb[k];
            for (int ch = 0; ch < S_CO; ch++) {
                double m = 0;
                for (int e = 0; e < ph * pw; e++) m += p[((size_t)i * S_CO + ch) * ph * pw + e];
                s += fw[k * S_CO + ch] * (m / (ph * pw));
            }
            y[i * S_K + k] = s;
        }
    free(xd);
    free(c);
    free(p);
}

static int g_trace_lines;
static int g_trace_last[4], g_trace_last_rank;
static char g_trace_first[128];

static void count_trace(void *user, const char *label, int rank, const int *dims)
{
    (void)user;
    if (g_trace_lines++ == 0) snprintf(g_trace_first, sizeof g_trace_first, "%s (%d, %d, %d, %d)", label, dims[0], dims[1], dims[2], dims[3]);
    g_trace_last_rank = rank;
    memcpy(g_trace_last, dims, sizeof g_trace_last);
}

static void test_small_net(void)
{
    net t;
    small_net(&t);
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ctx), OCT_OK);
    oct__graph *g = import(ctx, &t, OCT_OK);
    if (g) {
        /* Conv (BN and ReLU folded), pool, gap, flatten, linear. */
        CU_ASSERT_EQUAL(g->nn, 5);
        CU_ASSERT_EQUAL(g->nd[0].kind, OCT__GK_CONV);
        CU_ASSERT_PTR_NOT_NULL(g->nd[0].fused);
        if (g->nd[0].fused) CU_ASSERT_STRING_EQUAL(g->nd[0].fused, "BatchNormalization bn, Relu relu");
        CU_ASSERT_EQUAL(g->nd[0].relu, 1);
        CU_ASSERT_EQUAL(g->nd[1].kind, OCT__GK_POOL);
        CU_ASSERT_EQUAL(g->nd[4].kind, OCT__GK_LINEAR);
        /* Conv weight + bias, BN scale + shift, Gemm weight + bias. */
        CU_ASSERT_EQUAL(g->params, S_CO * S_C * 9 + S_CO + 2 * S_CO + S_K * S_CO + S_K);
        /* MACs by hand: the conv at full size plus the Gemm. */
        CU_ASSERT_EQUAL(oct__graph_macs(g, S_H, S_W), (long long)S_CO * S_C * 9 * S_H * S_W + S_CO * S_K);
        CU_ASSERT_EQUAL(oct__graph_macs(g, 16, 12), (long long)S_CO * S_C * 9 * 16 * 12 + S_CO * S_K);
        /* Trace: one line per node, the last the logits. */
        g_trace_lines = 0;
        CU_ASSERT_EQUAL(oct__graph_trace(g, 2, S_H, S_W, count_trace, NULL), OCT_OK);
        CU_ASSERT_EQUAL(g_trace_lines, 5);
        CU_ASSERT_STRING_EQUAL(g_trace_first, "conv (Conv) (2, 4, 9, 8)");
        CU_ASSERT_EQUAL(g_trace_last_rank, 2);
        CU_ASSERT(g_trace_last[0] == 2 && g_trace_last[1] == S_K);
    }
    oct__graph_free(g);
    oct_context_free(ctx);
    net_free(&t);
}

/* The forward pass against the double loops, on every device; batch sizes 1 and 3. */
static void test_small_forward(void)
{
    net t;
    small_net(&t);
    rng_t r = {99};
    int n = 3;
    float *x = rng_array(&r, (size_t)n * S_C * S_H * S_W, -2, 2), y[3 * S_K];
    double want[3 * S_K];
    small_expected(&t, x, n, want);
    for (int d = 0; d < g_ndevices; d++) {
        oct_context *ctx = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_context_create(g_devices[d], &ctx), OCT_OK);
        oct__graph *g = import(ctx, &t, OCT_OK);
        if (g) {
            size_t before = ctx->buf_bytes;
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, S_H, S_W, y, NULL, NULL), OCT_OK);
            /* Activation bytes are exactly what the pass allocated. */
            size_t got = ctx->buf_bytes - before, predicted = oct__graph_activation_bytes(g, n, S_H, S_W);
            if (got != predicted) printf("\n%s: the pass allocated %zu bytes, predicted %zu\n", g_devices[d], got, predicted);
            CU_ASSERT_EQUAL(got, predicted);
            check(g_devices[d], want, y, (size_t)n * S_K);
            /* The pool runs inside its conv's op where the backend has conv2d_pool (cpu):
             * the same bytes as the two ops apart. */
            int fuses = ctx->be->conv2d_pool != NULL;
            CU_ASSERT_EQUAL(g->nd[0].pool_next, fuses);
            CU_ASSERT_EQUAL(g->nd[1].pooled, fuses);
            if (fuses) {
                float apart[3 * S_K];
                g->nd[0].pool_next = g->nd[1].pooled = 0;
                CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, S_H, S_W, apart, NULL, NULL), OCT_OK);
                CU_ASSERT_EQUAL(memcmp(apart, y, sizeof apart), 0);
                g->nd[0].pool_next = g->nd[1].pooled = 1;
            }
            /* Batch 1 on the same graph (a new plan). */
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, 1, S_H, S_W, y, NULL, NULL), OCT_OK);
            check(g_devices[d], want, y, S_K);
            /* Chunks under a limit: same values, fewer images per pass. */
            g->mem_limit = oct__graph_activation_bytes(g, 2, S_H, S_W);
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, S_H, S_W, y, NULL, NULL), OCT_OK);
            CU_ASSERT_EQUAL(g->last_chunk, 2);
            check("chunked", want, y, (size_t)n * S_K);
            g->mem_limit = oct__graph_activation_bytes(g, 1, S_H, S_W) - 1;
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, S_H, S_W, y, NULL, NULL), OCT_ERR_DEVICE_MEMORY);
        }
        oct__graph_free(g);
        CU_ASSERT_EQUAL(ctx->buf_bytes, 0);
        oct_context_free(ctx);
    }
    free(x);
    net_free(&t);
}

/* ------------------------------------------------------------------------------------ */
/* An OctConv layer as PyTorch exports it                                                  */

enum { O_C = 6, O_H = 10, O_W = 8, O_CH = 4, O_CL = 2, O_OH = 3, O_OL = 3 };

static void pool2(net *t, const char *nm, const char *in, const char *out)
{
    oct__onnx_node *p = node(t, "AveragePool", nm, in, out);
    attr_ints(t, p, "kernel_shape", 2, 2, 2);
    attr_ints(t, p, "strides", 2, 2, 2);
}

/* The seed's split of x (c channels, h x w): x_h = x[:, :ch] ("xh"), x_l =
 * AvgPool2(x[:, ch:]) ("xl"). */
static void split_net(net *t, int c, int h, int w, int ch)
{
    net_init(t, c, h, w);
    init_i(t, "s0", 1, 0LL);
    init_i(t, "s1", 1, (long long)ch);
    init_i(t, "s2", 1, 1000000LL);
    init_i(t, "ax", 1, 1LL);
    node(t, "Slice", "split_h", "x,s0,s1,ax", "xh");
    node(t, "Slice", "split_l", "x,s1,s2,ax", "xl0");
    pool2(t, "split_pool", "xl0", "xl");
}

/* The low band's two convolutions and their sum. */
static void octconv_low(net *t)
{
    conv(t, "ll", "xl", "ll_o", O_CL, O_OL, 3);
    node(t, "Add", "add_l", "hl_o,ll_o", "yl0");
}

/* x -> split (Slice high, Slice + AvgPool low) -> OctConv 3x3 with BN + ReLU per band ->
 * merge (Resize nearest x2 of the low band, Concat). ll_first: the low band's sum before
 * L->H (PyTorch's export: hl, ll, lh, hh), else after the high band's. */
static void octconv_net_order(net *t, int ll_first)
{
    split_net(t, O_C, O_H, O_W, O_CH);
    conv(t, "hh", "xh", "hh_o", O_CH, O_OH, 3);
    pool2(t, "down", "xh", "d");
    conv(t, "hl", "d", "hl_o", O_CH, O_OL, 3);
    if (ll_first) octconv_low(t);
    conv(t, "lh", "xl", "lh_o", O_CL, O_OH, 3);
    init_f(t, "scales", 1, 1, 1, 4);
    float *sc = (float *)find_init(t, "scales")->f;
    sc[2] = sc[3] = 2;
    oct__onnx_node *up = node(t, "Resize", "up", "lh_o,-,scales", "lh_up");
    attr_str(t, up, "mode", "nearest");
    attr_str(t, up, "coordinate_transformation_mode", "asymmetric");
    attr_str(t, up, "nearest_mode", "floor");
    node(t, "Add", "add_h", "lh_up,hh_o", "yh0");
    if (!ll_first) octconv_low(t);
    bn(t, "bn_h", "yh0", "yh1", O_OH);
    node(t, "Relu", "relu_h", "yh1", "yh");
    bn(t, "bn_l", "yl0", "yl1", O_OL);
    node(t, "Relu", "relu_l", "yl1", "yl");
    oct__onnx_node *m = node(t, "Resize", "merge_up", "yl,-,scales", "yl_up");
    attr_str(t, m, "mode", "nearest");
    attr_str(t, m, "coordinate_transformation_mode", "asymmetric");
    attr_str(t, m, "nearest_mode", "floor");
    oct__onnx_node *c = node(t, "Concat", "merge", "yh,yl_up", "y");
    attr_int(t, c, "axis", 1);
    net_output(t, "y");
}

static void octconv_net(net *t) { octconv_net_order(t, 0); }
static void octconv_net_ll_first(net *t) { octconv_net_order(t, 1); }

/* The bands of x (n, O_C, O_H, O_W) as the seed splits them, in double: xh (n, O_CH,
 * O_H, O_W) = x[:, :O_CH], xl (n, O_CL, O_H / 2, O_W / 2) = AvgPool2(x[:, O_CH:]), and
 * d = AvgPool2(xh), all malloc'd (the caller frees them). */
static void octconv_bands(const float *x, int n, double **xh, double **xl, double **d)
{
    size_t HW = (size_t)O_H * O_W, hw = (size_t)(O_H / 2) * (O_W / 2);
    double *xl0 = calloc((size_t)n * O_CL * HW, 8);
    *xh = calloc((size_t)n * O_CH * HW, 8), *xl = calloc((size_t)n * O_CL * hw, 8);
    *d = calloc((size_t)n * O_CH * hw, 8);
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < O_C; ch++)
            for (size_t k = 0; k < HW; k++) {
                double v = x[((size_t)i * O_C + ch) * HW + k];
                if (ch < O_CH)
                    (*xh)[((size_t)i * O_CH + ch) * HW + k] = v;
                else
                    xl0[((size_t)i * O_CL + ch - O_CH) * HW + k] = v;
            }
    ref_pool2(xl0, n, O_CL, O_H, O_W, 0, *xl);
    ref_pool2(*xh, n, O_CH, O_H, O_W, 0, *d);
    free(xl0);
}

static void octconv_expected(const net *t, const float *x, int n, double *y)
{
    int H = O_H, W = O_W, h = H / 2, w = W / 2;
    size_t HW = (size_t)H * W, hw = (size_t)h * w;
    double *xh, *xl, *d;
    octconv_bands(x, n, &xh, &xl, &d);
    double *a = calloc((size_t)n * O_OH * HW, 8), *b = calloc((size_t)n * O_OH * hw, 8);
    double *c = calloc((size_t)n * O_OL * hw, 8), *e = calloc((size_t)n * O_OL * hw, 8);
    ref_conv(xh, n, O_CH, H, W, find_init(t, "hh.w")->f, find_init(t, "hh.b")->f, O_OH, 3, a);
    ref_conv(xl, n, O_CL, h, w, find_init(t, "lh.w")->f, find_init(t, "lh.b")->f, O_OH, 3, b);
    for (int i = 0; i < n * O_OH; i++)
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++) a[(size_t)i * HW + yy * W + xx] += b[(size_t)i * hw + (yy / 2) * w + xx / 2];
    ref_conv(d, n, O_CH, h, w, find_init(t, "hl.w")->f, find_init(t, "hl.b")->f, O_OL, 3, c);
    ref_conv(xl, n, O_CL, h, w, find_init(t, "ll.w")->f, find_init(t, "ll.b")->f, O_OL, 3, e);
    for (size_t i = 0; i < (size_t)n * O_OL * hw; i++) c[i] += e[i];
    ref_bn(a, n, O_OH, (int)HW, t, "bn_h", 1);
    ref_bn(c, n, O_OL, (int)hw, t, "bn_l", 1);
    int co = O_OH + O_OL;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < co; ch++)
            for (int yy = 0; yy < H; yy++)
                for (int xx = 0; xx < W; xx++)
                    y[(((size_t)i * co + ch) * H + yy) * W + xx] =
                        ch < O_OH ? a[((size_t)i * O_OH + ch) * HW + yy * W + xx]
                                  : c[((size_t)i * O_OL + ch - O_OH) * hw + (yy / 2) * w + xx / 2];
    free(xh), free(xl), free(d), free(a), free(b), free(c), free(e);
}

static const oct__gnode *by_name(const oct__graph *g, const char *s)
{
    for (int i = 0; i < g->nn; i++)
        if (strcmp(g->nd[i].name, s) == 0) return &g->nd[i];
    return NULL;
}

/* The net build() makes, on every device: imported, inspect(ctx, g, d) on the graph,
 * then a forward pass of n random images (O_C x O_H x O_W from seed) whose output
 * (out_image floats an image) is checked against expected()'s in double, and whose new
 * buffers against oct__graph_activation_bytes; then planned(ctx, g, d) on the plan the
 * pass made. Either check may be NULL. */
static void net_on_devices_planned(void (*build)(net *), void (*expected)(const net *, const float *, int, double *),
                                   uint64_t seed, int n, size_t out_image,
                                   void (*inspect)(oct_context *ctx, oct__graph *g, int d),
                                   void (*planned)(oct_context *ctx, oct__graph *g, int d))
{
    net t;
    build(&t);
    rng_t r = {seed};
    size_t count = (size_t)n * out_image;
    float *x = rng_array(&r, (size_t)n * O_C * O_H * O_W, -2, 2), *y = malloc(count * sizeof *y);
    double *want = malloc(count * sizeof *want);
    CU_ASSERT_FATAL(x && y && want);
    expected(&t, x, n, want);
    for (int d = 0; d < g_ndevices; d++) {
        oct_context *ctx = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_context_create(g_devices[d], &ctx), OCT_OK);
        oct__graph *g = import(ctx, &t, OCT_OK);
        if (g) {
            if (inspect) inspect(ctx, g, d);
            size_t before = ctx->buf_bytes;
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, O_H, O_W, y, NULL, NULL), OCT_OK);
            CU_ASSERT_EQUAL(ctx->buf_bytes - before, oct__graph_activation_bytes(g, n, O_H, O_W));
            check(g_devices[d], want, y, count);
            if (planned) planned(ctx, g, d);
        }
        oct__graph_free(g);
        oct_context_free(ctx);
    }
    free(x), free(y), free(want);
    net_free(&t);
}

static void net_on_devices(void (*build)(net *), void (*expected)(const net *, const float *, int, double *),
                           uint64_t seed, int n, size_t out_image,
                           void (*inspect)(oct_context *ctx, oct__graph *g, int d))
{
    net_on_devices_planned(build, expected, seed, n, out_image, inspect, NULL);
}

/* The four paths became one OctConv layer; BN, ReLU, the Up and both Adds are epilogues;
 * no Add or Affine node is left (checked on the first device: the import does not depend
 * on it). */
static void octconv_inspect(oct_context *ctx, oct__graph *g, int d)
{
    const oct__gnode *hh = by_name(g, "hh"), *ll = by_name(g, "ll"), *hl = by_name(g, "hl"), *lh = by_name(g, "lh");
    CU_ASSERT_FATAL(hh && ll && hl && lh);
    /* On a backend whose conv2d_pair takes a side output (cpu), the pair node runs LH
     * too and HH, which reads LH's output, runs after it (whichever of LH and the pair
     * came first); elsewhere the order stays. The pass's output is checked against the
     * reference either way. */
    int side = ctx->be->pair_side && ctx->be->pair_side(ctx);
    CU_ASSERT_EQUAL(ll->side, side ? (int)(lh - g->nd) : -1);
    CU_ASSERT_EQUAL(lh->sided, side);
    if (side) CU_ASSERT(hh > ll && lh < ll);
    if (d != 0) return;
    CU_ASSERT_EQUAL(g->octconv_layers, 1);
    CU_ASSERT_STRING_EQUAL(hh->role, "hh");
    CU_ASSERT_STRING_EQUAL(lh->role, "lh");
    CU_ASSERT_STRING_EQUAL(hl->role, "hl");
    CU_ASSERT_STRING_EQUAL(ll->role, "ll");
    CU_ASSERT_STRING_EQUAL(hh->fused, "Resize up, Add add_h, BatchNormalization bn_h, Relu relu_h");
    CU_ASSERT_STRING_EQUAL(ll->fused, "Add add_l, BatchNormalization bn_l, Relu relu_l");
    CU_ASSERT(hh->up >= 0 && ll->acc && ll->pair == (int)(hl - g->nd) && hl->paired);
    for (int i = 0; i < g->nn; i++) CU_ASSERT(g->nd[i].kind != OCT__GK_ADD && g->nd[i].kind != OCT__GK_AFFINE);
    /* MACs: the four paths at their resolutions. */
    long long HW = O_H * O_W, hw = (O_H / 2) * (O_W / 2);
    CU_ASSERT_EQUAL(oct__graph_macs(g, O_H, O_W),
                    9 * (O_OH * O_CH * HW + O_OL * O_CH * hw + O_OH * O_CL * hw + O_OL * O_CL * hw));
}

static void test_octconv_fusion(void)
{
    net_on_devices(octconv_net, octconv_expected, 5, 2, (size_t)(O_OH + O_OL) * O_H * O_W, octconv_inspect);
    net_on_devices(octconv_net_ll_first, octconv_expected, 6, 2, (size_t)(O_OH + O_OL) * O_H * O_W, octconv_inspect);
}

/* A bottleneck's last low band: y_l = ReLU(BN(HL(Down(x_h)) + LL(x_l)) + x_l), 1x1 (a
 * residual of the block's input, so O_CL channels each way), then merged: the importer
 * makes LL accumulate onto HL with the residual in its epilogue, and a backend with
 * conv2d_pair runs the two as one op with the residual. */
static void residual_net(net *t)
{
    split_net(t, O_C, O_H, O_W, O_CH);
    pool2(t, "down", "xh", "d");
    conv(t, "hl", "d", "hl_o", O_CH, O_CL, 1);
    conv(t, "ll", "xl", "ll_o", O_CL, O_CL, 1);
    node(t, "Add", "add_l", "hl_o,ll_o", "yl0");
    bn(t, "bn_l", "yl0", "yl1", O_CL);
    node(t, "Add", "res_l", "yl1,xl", "yl2");
    node(t, "Relu", "relu_l", "yl2", "y");
    net_output(t, "y");
}

static void residual_expected(const net *t, const float *x, int n, double *y)
{
    int h = O_H / 2, w = O_W / 2;
    size_t hw = (size_t)h * w;
    double *xh, *xl, *d, *e = calloc((size_t)n * O_CL * hw, 8);
    octconv_bands(x, n, &xh, &xl, &d);
    ref_conv(d, n, O_CH, h, w, find_init(t, "hl.w")->f, find_init(t, "hl.b")->f, O_CL, 1, y);
    ref_conv(xl, n, O_CL, h, w, find_init(t, "ll.w")->f, find_init(t, "ll.b")->f, O_CL, 1, e);
    for (size_t i = 0; i < (size_t)n * O_CL * hw; i++) y[i] += e[i];
    ref_bn(y, n, O_CL, (int)hw, t, "bn_l", 0);
    for (size_t i = 0; i < (size_t)n * O_CL * hw; i++) y[i] = y[i] + xl[i] > 0 ? y[i] + xl[i] : 0;
    free(xh), free(xl), free(d), free(e);
}

/* HL and LL paired with the residual in the epilogue; one conv2d_pair op, residual and
 * all, wherever the backend has the op. */
static void residual_inspect(oct_context *ctx, oct__graph *g, int d)
{
    (void)d;
    const oct__gnode *hl = by_name(g, "hl"), *ll = by_name(g, "ll");
    CU_ASSERT_FATAL(hl && ll);
    CU_ASSERT_STRING_EQUAL(ll->fused, "Add add_l, BatchNormalization bn_l, Add res_l, Relu relu_l");
    CU_ASSERT(ll->acc && ll->res >= 0 && ll->relu && ll->pair == (int)(hl - g->nd) && hl->paired);
    CU_ASSERT_EQUAL(oct__gconv_runs_pair(g, ll), ctx->be->conv2d_pair != NULL);
}

static void test_residual_pair(void)
{
    net_on_devices(residual_net, residual_expected, 77, 3, (size_t)O_CL * (O_H / 2) * (O_W / 2), residual_inspect);
}

/* A bottleneck's residuals written over (oct__gnode.res_first). High band: zh =
 * ReLU(HB(ReLU(HA(hs))) + hs), hs = ReLU(SH(x_h)), a value of its own; low band: zl =
 * ReLU(HL(Down(ha)) + LL(ReLU(LA(x_l))) + x_l); then y = OUT(zh + Up(LO(zl))), so neither
 * sum is the output. Nothing reads hs or x_l after their sums, so zh takes hs's storage, and
 * zl x_l's where the backend runs HL and LL as one conv2d_pair op. */
static void inplace_net(net *t)
{
    split_net(t, O_C, O_H, O_W, O_CH);
    conv(t, "sh", "xh", "sh_o", O_CH, O_CH, 3);
    node(t, "Relu", "sh_r", "sh_o", "hs");
    conv(t, "ha", "hs", "ha_o", O_CH, O_CH, 1);
    node(t, "Relu", "ha_r", "ha_o", "ha");
    conv(t, "hb", "ha", "hb_o", O_CH, O_CH, 3);
    node(t, "Add", "res_h", "hb_o,hs", "zh0");
    node(t, "Relu", "relu_h", "zh0", "zh");
    conv(t, "la", "xl", "la_o", O_CL, O_CL, 1);
    node(t, "Relu", "la_r", "la_o", "la");
    pool2(t, "down", "ha", "d");
    conv(t, "hl", "d", "hl_o", O_CH, O_CL, 1);
    conv(t, "ll", "la", "ll_o", O_CL, O_CL, 1);
    node(t, "Add", "add_l", "hl_o,ll_o", "zl0");
    node(t, "Add", "res_l", "zl0,xl", "zl1");
    node(t, "Relu", "relu_l", "zl1", "zl");
    init_f(t, "scales", 1, 1, 1, 4);
    float *sc = (float *)find_init(t, "scales")->f;
    sc[2] = sc[3] = 2;
    conv(t, "lo", "zl", "lo_o", O_CL, O_CH, 1);
    oct__onnx_node *r = node(t, "Resize", "up", "lo_o,-,scales", "up");
    attr_str(t, r, "coordinate_transformation_mode", "asymmetric");
    attr_str(t, r, "nearest_mode", "floor");
    node(t, "Add", "merge", "zh,up", "m");
    conv(t, "out", "m", "y", O_CH, O_OH, 1);
    net_output(t, "y");
}

static void relu_d(double *x, size_t count)
{
    for (size_t i = 0; i < count; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

static void inplace_expected(const net *t, const float *x, int n, double *y)
{
    int H = O_H, W = O_W, h = H / 2, w = W / 2;
    size_t HW = (size_t)H * W, hw = (size_t)h * w, nh = (size_t)n * O_CH * HW, nl = (size_t)n * O_CL * hw;
    double *xh, *xl, *d0;
    octconv_bands(x, n, &xh, &xl, &d0);
    double *hs = calloc(nh, 8), *ha = calloc(nh, 8), *zh = calloc(nh, 8), *d = calloc((size_t)n * O_CH * hw, 8);
    double *la = calloc(nl, 8), *zl = calloc(nl, 8), *e = calloc(nl, 8);
    CU_ASSERT_FATAL(hs && ha && zh && d && la && zl && e);
    ref_conv(xh, n, O_CH, H, W, find_init(t, "sh.w")->f, find_init(t, "sh.b")->f, O_CH, 3, hs);
    relu_d(hs, nh);
    ref_conv(hs, n, O_CH, H, W, find_init(t, "ha.w")->f, find_init(t, "ha.b")->f, O_CH, 1, ha);
    relu_d(ha, nh);
    ref_conv(ha, n, O_CH, H, W, find_init(t, "hb.w")->f, find_init(t, "hb.b")->f, O_CH, 3, zh);
    for (size_t i = 0; i < nh; i++) zh[i] += hs[i];
    relu_d(zh, nh);
    ref_conv(xl, n, O_CL, h, w, find_init(t, "la.w")->f, find_init(t, "la.b")->f, O_CL, 1, la);
    relu_d(la, nl);
    ref_pool2(ha, n, O_CH, H, W, 0, d);
    ref_conv(d, n, O_CH, h, w, find_init(t, "hl.w")->f, find_init(t, "hl.b")->f, O_CL, 1, zl);
    ref_conv(la, n, O_CL, h, w, find_init(t, "ll.w")->f, find_init(t, "ll.b")->f, O_CL, 1, e);
    for (size_t i = 0; i < nl; i++) zl[i] += e[i] + xl[i];
    relu_d(zl, nl);
    ref_conv(zl, n, O_CL, h, w, find_init(t, "lo.w")->f, find_init(t, "lo.b")->f, O_CH, 1, d);
    for (int i = 0; i < n * O_CH; i++) /* m = zh + Up(LO(zl)), in zh */
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++) zh[(size_t)i * HW + yy * W + xx] += d[(size_t)i * hw + (yy / 2) * w + xx / 2];
    ref_conv(zh, n, O_CH, H, W, find_init(t, "out.w")->f, find_init(t, "out.b")->f, O_OH, 1, y);
    free(xh), free(xl), free(d0), free(hs), free(ha), free(zh), free(d), free(la), free(zl), free(e);
}

/* After the pass: HB started from its residual, in its storage; so did the pair where
 * the backend has one (ref runs HL and LL as two ops, LL with the residual in its
 * epilogue). */
static void inplace_inspect(oct_context *ctx, oct__graph *g, int d)
{
    (void)ctx, (void)d;
    const oct__gnode *hb = by_name(g, "hb"), *ll = by_name(g, "ll");
    CU_ASSERT_FATAL(hb && ll && hb->res >= 0 && ll->res >= 0);
    CU_ASSERT(hb->res_first);
    CU_ASSERT_EQUAL(g->v[hb->out[0]].slot, g->v[hb->in[hb->res]].slot);
    int pair = oct__gconv_runs_pair(g, ll);
    CU_ASSERT_EQUAL(ll->res_first, pair);
    CU_ASSERT_EQUAL(g->v[ll->out[0]].slot == g->v[ll->in[ll->res]].slot, pair);
}

static void test_residual_in_place(void)
{
    net_on_devices_planned(inplace_net, inplace_expected, 91, 3, (size_t)O_OH * O_H * O_W, NULL, inplace_inspect);
}

/* ------------------------------------------------------------------------------------ */
/* Merge + pool: GlobalAveragePool(Concat(x_h, Resize(x_l))) is one GAP node              */

enum { M_C = 5, M_CH = 3, M_CL = 2 };
enum { MERGE_SCALES, MERGE_SIZES, MERGE_LOW_FIRST, MERGE_SHARED };

/* x -> x_h = x[:, :3], x_l = AvgPool2(x[:, 3:]) -> Resize nearest (x2 scales, or sizes
 * h x w) -> Concat (x_h first, or the low band first) -> GAP. MERGE_SHARED: the resized
 * band is pooled a second time on its own, so the resize is not the merge's alone; the
 * output is then Concat(GAP(merge), GAP(resized)). */
static void merge_net(net *t, int h, int w, int mode)
{
    split_net(t, M_C, h, w, M_CH);
    oct__onnx_node *r;
    if (mode == MERGE_SIZES) {
        init_i(t, "sz", 4, 1LL, (long long)M_CL, (long long)h, (long long)w);
        r = node(t, "Resize", "up", "xl,-,-,sz", "up");
    } else {
        init_f(t, "scales", 1, 1, 1, 4);
        float *sc = (float *)find_init(t, "scales")->f;
        sc[2] = sc[3] = 2;
        r = node(t, "Resize", "up", "xl,-,scales", "up");
    }
    attr_str(t, r, "coordinate_transformation_mode", "asymmetric");
    attr_str(t, r, "nearest_mode", "floor");
    oct__onnx_node *c = node(t, "Concat", "merge", mode == MERGE_LOW_FIRST ? "up,xh" : "xh,up", "m");
    attr_int(t, c, "axis", 1);
    node(t, "GlobalAveragePool", "gap", "m", mode == MERGE_SHARED ? "g1" : "y");
    if (mode == MERGE_SHARED) {
        node(t, "GlobalAveragePool", "gap_up", "up", "g2");
        oct__onnx_node *c2 = node(t, "Concat", "both", "g1,g2", "y");
        attr_int(t, c2, "axis", 1);
    }
    net_output(t, "y");
}

/* The means of the merged map's channels (then, MERGE_SHARED, of the resized band's),
 * from the merged map itself. */
static void merge_expected(const float *x, int n, int h, int w, int mode, double *y)
{
    int hl = h / 2, wl = w / 2, co = M_C + (mode == MERGE_SHARED ? M_CL : 0);
    size_t HW = (size_t)h * w;
    double *xl0 = calloc((size_t)n * M_CL * HW, 8), *xl = calloc((size_t)n * M_CL * hl * wl, 8);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < M_CL; c++)
            for (size_t k = 0; k < HW; k++) xl0[((size_t)i * M_CL + c) * HW + k] = x[((size_t)i * M_C + M_CH + c) * HW + k];
    ref_pool2(xl0, n, M_CL, h, w, 0, xl);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < M_C; c++) {
            /* merged channel c: the high band's channel, or the low band's resized */
            int low = mode == MERGE_LOW_FIRST ? c < M_CL : c >= M_CH;
            int cl = mode == MERGE_LOW_FIRST ? c : c - M_CH, ch = mode == MERGE_LOW_FIRST ? c - M_CL : c;
            double sum = 0;
            for (int yy = 0; yy < h; yy++)
                for (int xx = 0; xx < w; xx++)
                    sum += low ? xl[((size_t)i * M_CL + cl) * hl * wl + (size_t)(yy * hl / h) * wl + xx * wl / w]
                               : x[((size_t)i * M_C + ch) * HW + (size_t)yy * w + xx];
            y[(size_t)i * co + c] = sum / (double)HW;
            if (mode == MERGE_SHARED && low) y[(size_t)i * co + M_C + cl] = sum / (double)HW;
        }
    free(xl0), free(xl);
}

static void test_merge_gap(void)
{
    static const struct { int h, w, mode, fused; } cases[] = {
        {10, 8, MERGE_SCALES, 1},   /* exactly 2x: the low band's own mean */
        {9, 7, MERGE_SIZES, 1},     /* 4x3 to 9x7: resized into scratch first */
        {10, 8, MERGE_LOW_FIRST, 1},
        {10, 8, MERGE_SHARED, 0},   /* the resize has another reader: nodes kept */
    };
    rng_t r = {17};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int h = cases[k].h, w = cases[k].w, mode = cases[k].mode, n = 2;
        int co = M_C + (mode == MERGE_SHARED ? M_CL : 0);
        float *x = rng_array(&r, (size_t)n * M_C * h * w, -2, 2), *y = malloc((size_t)n * co * sizeof *y);
        double *want = malloc((size_t)n * co * sizeof *want);
        merge_expected(x, n, h, w, mode, want);
        for (int d = 0; d < g_ndevices; d++) {
            net t;
            merge_net(&t, h, w, mode);
            oct_context *ctx = NULL;
            CU_ASSERT_EQUAL_FATAL(oct_context_create(g_devices[d], &ctx), OCT_OK);
            oct__graph *g = import(ctx, &t, OCT_OK);
            if (g && d == 0) {
                int concat = 0, resize = 0;
                for (int i = 0; i < g->nn; i++)
                    concat += g->nd[i].kind == OCT__GK_CONCAT, resize += g->nd[i].kind == OCT__GK_RESIZE;
                const oct__gnode *gap = by_name(g, "gap");
                CU_ASSERT_FATAL(gap != NULL);
                CU_ASSERT_EQUAL(resize, !cases[k].fused);
                CU_ASSERT_EQUAL(concat, mode == MERGE_SHARED ? 2 : 0);
                if (cases[k].fused) {
                    CU_ASSERT(gap->fused && strcmp(gap->fused, "Resize up, Concat merge") == 0);
                    CU_ASSERT_EQUAL(gap->up, mode == MERGE_LOW_FIRST ? 0 : 1);
                } else {
                    CU_ASSERT_PTR_NULL(gap->fused);
                }
            }
            if (g) {
                size_t before = ctx->buf_bytes;
                CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, h, w, y, NULL, NULL), OCT_OK);
                CU_ASSERT_EQUAL(ctx->buf_bytes - before, oct__graph_activation_bytes(g, n, h, w));
                check(g_devices[d], want, y, (size_t)n * co);
                /* A size the x2 resize does not give back fails as the Concat would. */
                if (mode == MERGE_SCALES) {
                    CU_ASSERT_EQUAL(oct__graph_forward(g, x, 1, h - 1, w - 1, y, NULL, NULL), OCT_ERR_SHAPE_MISMATCH);
                    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "input 0 is 9x7, the resized band 8x6"));
                }
            }
            oct__graph_free(g);
            oct_context_free(ctx);
            net_free(&t);
        }
        free(x), free(y), free(want);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Depth-first groups (graph.c, depth_plan): the cpu backend runs a pass's leading nodes a
 * few images at a time when their whole batch outgrows its caches.                      */

/* Net t over x (n images, h x w) on the cpu backend: with OCTCL_CPU_DEPTH=0 (the whole
 * batch; checked against want), then with group budgets of 1 to 64 KiB and every cut of
 * the node order (depth_cap): the same bits and the activation bytes predicted (a cut
 * can take more than the whole batch's: what its groups make and later nodes read gets
 * slots of its own); and some budget must group some nodes, at two cuts or more. */
static void depth_case_path(const char *what, const char *path, net *t, const float *x, int n, int h, int w,
                            size_t out_image, const double *want)
{
    size_t count = (size_t)n * out_image;
    float *whole = malloc(count * sizeof *whole), *y = malloc(count * sizeof *y);
    CU_ASSERT_FATAL(whole && y);
    int grouped = 0, cuts = 0;
    setenv("OCTCL_CPU_PATH", path, 1);
    for (int kib = 0; kib <= 64; kib = kib ? 2 * kib : 1) {
        char env[32];
        snprintf(env, sizeof env, kib ? "%d,0" : "0", kib);
        setenv("OCTCL_CPU_DEPTH", env, 1);
        oct_context *ctx = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_context_create("cpu", &ctx), OCT_OK);
        oct__graph *g = import(ctx, t, OCT_OK);
        size_t base = ctx->buf_bytes; /* weights; no plan yet */
        for (int cap = kib ? 1 : 0; g && cap <= (kib ? g->nn : 0); cap++) {
            g->depth_cap = cap;
            memset(y, 0xff, count * sizeof *y);
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, h, w, kib ? y : whole, NULL, NULL), OCT_OK);
            size_t got = ctx->buf_bytes - base;
            CU_ASSERT_EQUAL(got, oct__graph_activation_bytes(g, n, h, w));
            if (!kib) {
                check(what, want, whole, count);
                continue;
            }
            if (memcmp(y, whole, count * sizeof *y) != 0)
                printf("\n%s (path %s): %s, cap %d: other bits\n", what, path, env, cap);
            CU_ASSERT_EQUAL(memcmp(y, whole, count * sizeof *y), 0);
            if (g->depth_end > 0) {
                grouped++;
                CU_ASSERT(g->depth_end <= cap && g->depth_m >= 1 && g->depth_m < n);
                cuts |= 1 << (g->depth_end < 30 ? g->depth_end : 30);
            }
        }
        oct__graph_free(g);
        oct_context_free(ctx);
    }
    unsetenv("OCTCL_CPU_DEPTH");
    unsetenv("OCTCL_CPU_PATH");
    if (!grouped) printf("\n%s (path %s): no budget grouped any node\n", what, path);
    CU_ASSERT(grouped > 0);
    CU_ASSERT(cuts & (cuts - 1)); /* at least two different cuts */
    free(whole), free(y);
}

/* depth_case_path on the CPU's own path and on the one a CPU without AVX-512 takes
 * (OCTCL_CPU_PATH=gemm: no direct kernel, so small planes run im2col + SGEMM, whose
 * chunks hold a piece of one image or rows of several; with accumulate the one-piece
 * chunks added the old value before the bias until 2026-12-06, other bits for a group
 * of fewer images, which only an AVX2-only CPU showed). */
static void depth_case(const char *what, net *t, const float *x, int n, int h, int w, size_t out_image,
                       const double *want)
{
    depth_case_path(what, "auto", t, x, n, h, w, out_image, want);
    depth_case_path(what, "gemm", t, x, n, h, w, out_image, want);
}

static void test_depth_groups(void)
{
    rng_t r = {23};
    int n = 5;
    net t;
    /* An OctConv layer: its pair, the side output, the upsample into H->H. */
    size_t out = (size_t)(O_OH + O_OL) * O_H * O_W;
    float *x = rng_array(&r, (size_t)n * O_C * O_H * O_W, -2, 2);
    double *want = malloc((size_t)n * out * sizeof *want);
    CU_ASSERT_FATAL(x && want);
    octconv_net(&t);
    octconv_expected(&t, x, n, want);
    depth_case("OctConv layer", &t, x, n, O_H, O_W, out, want);
    net_free(&t);
    /* The same in PyTorch's export order: the pair moved after L->H (fuse.c). */
    octconv_net_ll_first(&t);
    octconv_expected(&t, x, n, want);
    depth_case("OctConv layer, export order", &t, x, n, O_H, O_W, out, want);
    net_free(&t);
    /* A low band with a residual read across a group's end. */
    residual_net(&t);
    residual_expected(&t, x, n, want);
    depth_case("residual", &t, x, n, O_H, O_W, (size_t)O_CL * (O_H / 2) * (O_W / 2), want);
    net_free(&t);
    /* Residuals written over, or copied where a group's residual ends at a sum that
     * outlives the groups (the same sums either way). */
    inplace_net(&t);
    inplace_expected(&t, x, n, want);
    depth_case("residuals in place", &t, x, n, O_H, O_W, (size_t)O_OH * O_H * O_W, want);
    net_free(&t);
    free(x);
    /* A merge into GlobalAveragePool, its output written from the group's first image on. */
    x = rng_array(&r, (size_t)n * M_C * 10 * 8, -2, 2);
    merge_net(&t, 10, 8, MERGE_SCALES);
    merge_expected(x, n, 10, 8, MERGE_SCALES, want);
    depth_case("merge + GAP", &t, x, n, 10, 8, M_C, want);
    net_free(&t);
    free(x), free(want);
    /* Malformed budgets are refused when the context is made. */
    static const char *bad[] = {"x", "5", "5,", "-1", "1,2,3", " 1,2", "0,5", "1,-2", "2000000000,1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("OCTCL_CPU_DEPTH", bad[i], 1);
        oct_context *ctx = NULL;
        CU_ASSERT_EQUAL(oct_context_create("cpu", &ctx), OCT_ERR_BAD_SIZE);
        CU_ASSERT_PTR_NULL(ctx);
        oct_context_free(ctx);
    }
    unsetenv("OCTCL_CPU_DEPTH");
}

/* ------------------------------------------------------------------------------------ */
/* Load errors: each names the node, the op and the value                                  */

static void expect_error(net *t, oct_status want, const char *text)
{
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ctx), OCT_OK);
    oct__graph *g = import(ctx, t, want);
    const char *msg = oct_last_error();
    if (!strstr(msg, text)) printf("\nmessage \"%s\" lacks \"%s\"\n", msg, text);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, text));
    CU_ASSERT_PTR_NULL(g);
    oct__graph_free(g);
    CU_ASSERT_EQUAL(ctx->buf_bytes, 0);
    oct_context_free(ctx);
    net_free(t);
}

static void test_errors(void)
{
    net t;
    /* An op octcl does not run. */
    net_init(&t, 3, 8, 8);
    node(&t, "Gelu", "act", "x", "y");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'act' (Gelu): op 'Gelu' is not supported");
    /* An attribute value it does not run. */
    net_init(&t, 3, 8, 8);
    init_f(&t, "sc", 2, 2, 1, 4);
    oct__onnx_node *n = node(&t, "Resize", "up", "x,-,sc", "y");
    attr_str(&t, n, "mode", "linear");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'up' (Resize): attribute 'mode' = 'linear' (nearest only)");
    net_init(&t, 3, 8, 8);
    init_f(&t, "sc", 2, 2, 1, 4);
    n = node(&t, "Resize", "up", "x,-,sc", "y");
    attr_str(&t, n, "coordinate_transformation_mode", "align_corners");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "attribute 'coordinate_transformation_mode' = 'align_corners'");
    /* Broadcasting. */
    net_init(&t, 3, 8, 8);
    init_f(&t, "k", 1, 2, 1, 1);
    node(&t, "Add", "plus", "x,k", "y");
    net_output(&t, "y");
    ((float *)find_init(&t, "k")->f)[0] = 1; /* one value is an affine node; 2 are not */
    t.inits[0].count = 2, t.inits[0].dims[0] = 2;
    free(t.inits[0].f);
    t.inits[0].f = calloc(2, sizeof(float));
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'plus' (Add): Add of constant 'k' (2 values) and an activation of 3 channels");
    net_init(&t, 3, 8, 8);
    pool2(&t, "p", "x", "q");
    node(&t, "Add", "plus", "x,q", "y");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'plus' (Add): operands (3, 8, 8) and (3, 4, 4) differ");
    /* A tensor nobody writes. */
    net_init(&t, 3, 8, 8);
    node(&t, "Relu", "r", "nope", "y");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_MODEL, "node 'r' (Relu): reads 'nope', which no node writes");
    /* Non-finite weights after BatchNorm folding. */
    net_init(&t, 3, 8, 8);
    conv(&t, "c", "x", "c_o", 3, 2, 3);
    bn(&t, "bn", "c_o", "y", 2);
    ((float *)find_init(&t, "bn.g")->f)[1] = 3e38f;
    ((float *)find_init(&t, "bn.v")->f)[1] = 0.0f;
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_MODEL, "node 'bn' (BatchNormalization): folding into 'c' gives a non-finite weight [1]");
    /* Slicing an axis other than channels. */
    net_init(&t, 3, 8, 8);
    init_i(&t, "a", 1, 0LL);
    init_i(&t, "b", 1, 4LL);
    init_i(&t, "ax", 1, 2LL);
    node(&t, "Slice", "sl", "x,a,b,ax", "y");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'sl' (Slice): slicing axis 2 (channels only)");
    /* An auto_pad it does not know. */
    net_init(&t, 3, 8, 8);
    n = conv(&t, "c", "x", "y", 3, 2, 3);
    attr_str(&t, n, "auto_pad", "MIRROR");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'c' (Conv): attribute 'auto_pad' = 'MIRROR' is not supported");
    /* A weight that does not fit the input. */
    net_init(&t, 3, 8, 8);
    conv(&t, "c", "x", "y", 5, 2, 3);
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_SHAPE_MISMATCH, "node 'c' (Conv): weight (2, 5, 3, 3) with group 1 does not fit an input of 3 channels");
    /* Reshape to something other than (N, -1). */
    net_init(&t, 3, 8, 8);
    init_i(&t, "shape", 3, 1LL, 3LL, 64LL);
    node(&t, "Reshape", "rs", "x,shape", "y");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'rs' (Reshape): target shape (1, 3, 64)");
}

/* Split into channel views, a ReLU on a view (an affine node), Concat, GAP, Flatten and
 * a linear head as MatMul + Add (opset 13 Split sizes as an input) or Gemm with transB 0
 * (opset 11, sizes as an attribute). */
static void misc_net(net *t, int gemm)
{
    net_init(t, 6, 5, 4);
    t->m.opset = gemm ? 11 : 13;
    oct__onnx_node *sp;
    if (gemm) {
        sp = node(t, "Split", "split", "x", "a,b");
        attr_ints(t, sp, "split", 2, 2, 4);
    } else {
        init_i(t, "sizes", 2, 2LL, 4LL);
        sp = node(t, "Split", "split", "x,sizes", "a,b");
    }
    attr_int(t, sp, "axis", 1);
    node(t, "Relu", "relu", "b", "rb");
    oct__onnx_node *c = node(t, "Concat", "cat", "rb,a", "c");
    attr_int(t, c, "axis", 1);
    node(t, "GlobalAveragePool", "gap", "c", "g");
    node(t, "Flatten", "flat", "g", "f");
    init_f(t, "W", -1, 1, 2, 6, 3);
    init_f(t, "bias", -1, 1, 1, 3);
    if (gemm) {
        node(t, "Gemm", "fc", "f,W,bias", "y");
    } else {
        node(t, "MatMul", "mm", "f,W", "m");
        node(t, "Add", "plus", "m,bias", "y");
    }
    net_output(t, "y");
}

static void test_misc_ops(void)
{
    rng_t r = {11};
    int n = 2, hw = 20;
    float *x = rng_array(&r, (size_t)n * 6 * hw, -2, 2), y[2 * 3];
    for (int gemm = 0; gemm < 2; gemm++) {
        net t;
        misc_net(&t, gemm);
        const float *W = find_init(&t, "W")->f, *b = find_init(&t, "bias")->f;
        double want[2 * 3];
        for (int i = 0; i < n; i++) {
            double feat[6];
            for (int ch = 0; ch < 6; ch++) { /* concat(relu(x[2:6]), x[0:2]) */
                int src = ch < 4 ? ch + 2 : ch - 4;
                double m = 0;
                for (int k = 0; k < hw; k++) {
                    double v = x[((size_t)i * 6 + src) * hw + k];
                    m += ch < 4 && v < 0 ? 0 : v;
                }
                feat[ch] = m / hw;
            }
            for (int o = 0; o < 3; o++) {
                double sum = b[o];
                for (int ch = 0; ch < 6; ch++) sum += W[ch * 3 + o] * feat[ch];
                want[i * 3 + o] = sum;
            }
        }
        for (int d = 0; d < g_ndevices; d++) {
            oct_context *ctx = NULL;
            CU_ASSERT_EQUAL_FATAL(oct_context_create(g_devices[d], &ctx), OCT_OK);
            oct__graph *g = import(ctx, &t, OCT_OK);
            if (g) {
                CU_ASSERT_EQUAL(oct__graph_macs(g, 5, 4), 18);
                CU_ASSERT_EQUAL(g->params, 6 * 3 + 3);
                CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, 5, 4, y, NULL, NULL), OCT_OK);
                check(gemm ? "Gemm" : "MatMul", want, y, (size_t)n * 3);
                if (!gemm && d == 0) {
                    const oct__gnode *fc = by_name(g, "mm");
                    CU_ASSERT(fc && fc->fused && strcmp(fc->fused, "Add plus") == 0);
                }
            }
            oct__graph_free(g);
            oct_context_free(ctx);
        }
        net_free(&t);
    }
    free(x);
}

/* Fusions only into a value no other node reads, before or after; one pool of a value
 * per window. x -> conv A -> a; conv B reads a; BN(a), ReLU (neither may fold into A:
 * B has read a); + b; two identical average pools of that sum (one node), the second
 * rectified (not fused into the shared pool: conv C has read it); a max pool of the same
 * window (its own node). */
enum { F_C = 3, F_H = 6, F_W = 8, F_CO = 4 };

static void fusion_reader_net(net *t)
{
    net_init(t, F_C, F_H, F_W);
    conv(t, "A", "x", "a", F_C, F_CO, 3);
    conv(t, "B", "a", "b", F_CO, F_CO, 1);
    bn(t, "bn", "a", "an", F_CO);
    node(t, "Relu", "relu", "an", "ar");
    node(t, "Add", "add", "b,ar", "s");
    pool2(t, "p1", "s", "p1o");
    conv(t, "C", "p1o", "c", F_CO, F_CO, 1);
    pool2(t, "p2", "s", "p2o");
    node(t, "Relu", "relu2", "p2o", "p2r");
    node(t, "Add", "add2", "c,p2r", "y0");
    oct__onnx_node *mp = node(t, "MaxPool", "p3", "s", "m");
    attr_ints(t, mp, "kernel_shape", 2, 2, 2);
    attr_ints(t, mp, "strides", 2, 2, 2);
    node(t, "Add", "add3", "y0,m", "y");
    net_output(t, "y");
}

static void test_fusion_readers(void)
{
    rng_t r = {23};
    const int n = 2, H = F_H, W = F_W, h = H / 2, w = W / 2, C = F_CO;
    const size_t HW = (size_t)H * W, hw = (size_t)h * w;
    float *x = rng_array(&r, (size_t)n * F_C * HW, -2, 2), *y = malloc((size_t)n * C * hw * sizeof *y);
    double *xd = malloc((size_t)n * F_C * HW * sizeof *xd), *a = malloc((size_t)n * C * HW * sizeof *a);
    double *b = malloc((size_t)n * C * HW * sizeof *b), *p = malloc((size_t)n * C * hw * sizeof *p);
    double *m = malloc((size_t)n * C * hw * sizeof *m), *c = malloc((size_t)n * C * hw * sizeof *c);
    double *want = malloc((size_t)n * C * hw * sizeof *want);
    net t;
    fusion_reader_net(&t);
    for (size_t i = 0; i < (size_t)n * F_C * HW; i++) xd[i] = x[i];
    ref_conv(xd, n, F_C, H, W, find_init(&t, "A.w")->f, find_init(&t, "A.b")->f, C, 3, a);
    ref_conv(a, n, C, H, W, find_init(&t, "B.w")->f, find_init(&t, "B.b")->f, C, 1, b);
    ref_bn(a, n, C, (int)HW, &t, "bn", 1);
    for (size_t i = 0; i < (size_t)n * C * HW; i++) b[i] += a[i]; /* s */
    ref_pool2(b, n, C, H, W, 0, p);
    ref_pool2(b, n, C, H, W, 1, m);
    ref_conv(p, n, C, h, w, find_init(&t, "C.w")->f, find_init(&t, "C.b")->f, C, 1, c);
    for (size_t i = 0; i < (size_t)n * C * hw; i++) want[i] = c[i] + (p[i] < 0 ? 0 : p[i]) + m[i];
    for (int d = 0; d < g_ndevices; d++) {
        oct_context *ctx = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_context_create(g_devices[d], &ctx), OCT_OK);
        oct__graph *g = import(ctx, &t, OCT_OK);
        if (g) {
            const oct__gnode *A = by_name(g, "A"), *p1 = by_name(g, "p1"), *p3 = by_name(g, "p3");
            CU_ASSERT(A && !A->fused && !A->relu);
            CU_ASSERT(p1 && !p1->relu && p1->fused && strcmp(p1->fused, "AveragePool p2") == 0);
            CU_ASSERT(by_name(g, "p2") == NULL);
            CU_ASSERT(p3 && p3->max && p1 && p3->out[0] != p1->out[0]);
            int pools = 0;
            for (int i = 0; i < g->nn; i++) pools += g->nd[i].kind == OCT__GK_POOL;
            CU_ASSERT_EQUAL(pools, 2);
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, H, W, y, NULL, NULL), OCT_OK);
            check("fusions past an earlier reader", want, y, (size_t)n * C * hw);
        }
        oct__graph_free(g);
        oct_context_free(ctx);
    }
    net_free(&t);
    free(x), free(y), free(xd), free(a), free(b), free(p), free(m), free(c), free(want);
}

/* Pads computed from constants as PyTorch exports F.pad (opset 11+): the (left, right,
 * top, bottom) list, zeros for N and C, reshaped to (4, 2), its rows reversed by a Slice
 * of step -1, transposed, flattened; then a second, all-zero Pad (what a pool with
 * padding 0 exports), then a 3x3 conv with its own pads of 1. variant 1: the ONNX pads
 * list is sliced out of a longer one with step 2 and an end past its length, and the
 * second Pad adds (1, 0, 0, 1). variant 2: an Identity between the two Pads. The conv must
 * absorb them all. */
static void fpad_net(net *t, int variant)
{
    net_init(t, 2, 5, 6);
    if (variant == 0) {
        init_i(t, "lrtb", 8, 1LL, 2LL, 3LL, 0LL, 0LL, 0LL, 0LL, 0LL); /* F.pad (1, 2, 3, 0) + zeros */
        init_i(t, "shape42", 2, -1LL, 2LL);
        node(t, "Reshape", "r42", "lrtb,shape42", "t42");
        init_i(t, "st", 1, -1LL);
        init_i(t, "en", 1, -9000000000000000000LL);
        init_i(t, "ax", 1, 0LL);
        init_i(t, "sp", 1, -1LL);
        node(t, "Slice", "rev", "t42,st,en,ax,sp", "rev42");
        oct__onnx_node *tr = node(t, "Transpose", "tr", "rev42", "t24");
        attr_ints(t, tr, "perm", 2, 1, 0);
        init_i(t, "flat", 1, -1LL);
        node(t, "Reshape", "r8", "t24,flat", "pads");
        init_i(t, "zero8", 8, 0LL, 0LL, 0LL, 0LL, 0LL, 0LL, 0LL, 0LL);
    } else if (variant == 2) { /* a plain pads list; an Identity of the padded value between the Pads */
        init_i(t, "pads", 8, 0LL, 0LL, 1LL, 2LL, 0LL, 0LL, 0LL, 1LL);
        init_i(t, "zero8", 8, 0LL, 0LL, 0LL, 0LL, 0LL, 0LL, 0LL, 0LL);
        node(t, "Pad", "pad", "x,pads", "xp1");
        node(t, "Identity", "id", "xp1", "xp");
        node(t, "Pad", "pad0", "xp,zero8", "xpp");
        conv(t, "c", "xpp", "y", 2, 3, 3);
        net_output(t, "y");
        return;
    } else {
        init_i(t, "long", 16, 0LL, 9LL, 0LL, 9LL, 2LL, 9LL, 1LL, 9LL, 0LL, 9LL, 0LL, 9LL, 1LL, 9LL, 3LL, 9LL);
        init_i(t, "st", 1, 0LL);
        init_i(t, "en", 1, 100LL);
        init_i(t, "ax", 1, 0LL);
        init_i(t, "sp", 1, 2LL);
        node(t, "Slice", "every2", "long,st,en,ax,sp", "pads");
        init_i(t, "zero8", 8, 0LL, 0LL, 1LL, 0LL, 0LL, 0LL, 0LL, 1LL);
    }
    node(t, "Pad", "pad", "x,pads", "xp");
    node(t, "Pad", "pad0", "xp,zero8", "xpp");
    conv(t, "c", "xpp", "y", 2, 3, 3);
    net_output(t, "y");
}

static void test_fpad(void)
{
    /* Each variant's total padding (top, left, bottom, right) before the conv's own 1. */
    static const int pads[3][4] = {{3, 1, 0, 2}, {3, 1, 1, 4}, {1, 2, 0, 1}};
    rng_t r = {29};
    const int n = 2, C = 2, H = 5, W = 6, CO = 3;
    float *x = rng_array(&r, (size_t)n * C * H * W, -2, 2);
    for (int v = 0; v < 3; v++) {
        const int *pd = pads[v], hp = H + pd[0] + pd[2], wp = W + pd[1] + pd[3];
        double *xp = calloc((size_t)n * C * hp * wp, sizeof *xp), *want = malloc((size_t)n * CO * hp * wp * 8);
        float *y = malloc((size_t)n * CO * hp * wp * sizeof *y);
        for (int i = 0; i < n * C; i++)
            for (int yy = 0; yy < H; yy++)
                for (int xx = 0; xx < W; xx++)
                    xp[((size_t)i * hp + yy + pd[0]) * wp + xx + pd[1]] = x[((size_t)i * H + yy) * W + xx];
        net t;
        fpad_net(&t, v);
        ref_conv(xp, n, C, hp, wp, find_init(&t, "c.w")->f, find_init(&t, "c.b")->f, CO, 3, want);
        for (int d = 0; d < g_ndevices; d++) {
            oct_context *ctx = NULL;
            CU_ASSERT_EQUAL_FATAL(oct_context_create(g_devices[d], &ctx), OCT_OK);
            oct__graph *g = import(ctx, &t, OCT_OK);
            if (g) {
                const oct__gnode *c = by_name(g, "c");
                CU_ASSERT_EQUAL(g->nn, 1); /* the pads are the conv's: no copy with zeros around it */
                CU_ASSERT(c && c->pt == pd[0] + 1 && c->pl == pd[1] + 1 && c->pb == pd[2] + 1 && c->pr == pd[3] + 1);
                CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, H, W, y, NULL, NULL), OCT_OK);
                check(v == 2 ? "Pad, Identity, Pad" : v ? "Pad from a step-2 Slice" : "F.pad's exported pads", want, y,
                      (size_t)n * CO * hp * wp);
            }
            oct__graph_free(g);
            oct_context_free(ctx);
        }
        net_free(&t);
        free(xp), free(want), free(y);
    }
    free(x);
}

/* Resize to a size computed from Shape(x): followed at any input size while the chain
 * is one the importer tracks (here dims * 2), refused at other sizes when it is not
 * (dims + dims), never a size silently frozen at the exported one. */
static void shape_net(net *t, int tracked)
{
    net_init(t, 2, 6, 5);
    init_i(t, "i0", 1, 0LL);
    init_i(t, "i2", 1, 2LL);
    init_i(t, "i4", 1, 4LL);
    init_i(t, "two", 1, 2LL);
    node(t, "Shape", "shape", "x", "sh");
    node(t, "Slice", "nc", "sh,i0,i2", "nc");
    node(t, "Slice", "hw", "sh,i2,i4", "hw");
    if (tracked)
        node(t, "Mul", "twice", "hw,two", "hw2");
    else
        node(t, "Add", "twice", "hw,hw", "hw2");
    oct__onnx_node *c = node(t, "Concat", "sizes", "nc,hw2", "sz");
    attr_int(t, c, "axis", 0);
    oct__onnx_node *r = node(t, "Resize", "up", "x,-,-,sz", "y");
    attr_str(t, r, "coordinate_transformation_mode", "asymmetric");
    attr_str(t, r, "nearest_mode", "floor");
    net_output(t, "y");
}

static void test_shape_chains(void)
{
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ctx), OCT_OK);
    for (int tracked = 1; tracked >= 0; tracked--) {
        net t;
        shape_net(&t, tracked);
        oct__graph *g = import(ctx, &t, OCT_OK);
        if (g) {
            CU_ASSERT_EQUAL(oct__graph_shapes(g, 6, 5), OCT_OK);
            CU_ASSERT(g->v[g->output].d.h == 12 && g->v[g->output].d.w == 10);
            oct_status s = oct__graph_shapes(g, 7, 9);
            if (tracked) {
                CU_ASSERT_EQUAL(s, OCT_OK);
                CU_ASSERT(g->v[g->output].d.h == 14 && g->v[g->output].d.w == 18);
            } else {
                CU_ASSERT_EQUAL(s, OCT_ERR_UNSUPPORTED);
                CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "node 'up' (Resize) computes its output size from the shapes the model was exported at (6x5)"));
            }
        }
        oct__graph_free(g);
        net_free(&t);
    }
    oct_context_free(ctx);
}

/* ------------------------------------------------------------------------------------ */
/* Old opsets and the attribute values ONNX's backend tests brought in                      */

static void expect_loads(net *t)
{
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ctx), OCT_OK);
    oct__graph *g = import(ctx, t, OCT_OK);
    CU_ASSERT_PTR_NOT_NULL(g);
    oct__graph_free(g);
    oct_context_free(ctx);
    net_free(t);
}

static void attr_real(net *t, oct__onnx_node *n, const char *nm, double v)
{
    oct__onnx_attr *a = &n->attrs[n->nattrs++];
    a->name = name(t, nm);
    a->type = OCT__ONNX_ATTR_FLOAT;
    a->f = v;
}

/* y = BatchNormalization(x) at opset `opset` with is_test / spatial (-1: absent). */
static void legacy_bn(net *t, int opset, int is_test, int spatial)
{
    net_init(t, 3, 4, 4);
    t->m.opset = opset;
    bn(t, "bn", "x", "y", 3);
    oct__onnx_node *n = &t->nodes[t->m.nnodes - 1];
    if (is_test >= 0) attr_int(t, n, "is_test", is_test);
    if (spatial >= 0) attr_int(t, n, "spatial", spatial);
    net_output(t, "y");
}

static void test_legacy_and_edges(void)
{
    net t;
    /* Opset 6 (PyTorch's oldest exports): BatchNormalization in inference mode only. */
    legacy_bn(&t, 6, 1, -1);
    expect_loads(&t);
    legacy_bn(&t, 6, -1, -1);
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'bn' (BatchNormalization): attribute 'is_test' = 0 (batch statistics");
    legacy_bn(&t, 6, 1, 0);
    expect_error(&t, OCT_ERR_UNSUPPORTED, "attribute 'spatial' = 0 (per-channel statistics only)");
    legacy_bn(&t, 7, -1, -1); /* is_test is gone at 7 */
    expect_loads(&t);
    /* Legacy broadcast = 1: one value means the same, one per channel may not. */
    for (int count = 1; count <= 3; count += 2) {
        net_init(&t, 3, 4, 4);
        t.m.opset = 6;
        init_f(&t, "k", 1, 2, 1, count);
        attr_int(&t, node(&t, "Add", "plus", "x,k", "y"), "broadcast", 1);
        net_output(&t, "y");
        if (count == 1) expect_loads(&t);
        else expect_error(&t, OCT_ERR_UNSUPPORTED, "attribute 'broadcast' = 1 at opset 6 with a constant of 3 values");
    }
    /* Ops whose inputs were attributes before: unsupported there, not misread. */
    net_init(&t, 3, 4, 4);
    t.m.opset = 6;
    init_f(&t, "sc", 2, 2, 1, 4);
    node(&t, "Upsample", "up", "x,sc", "y");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'up' (Upsample): Upsample at opset 6");
    net_init(&t, 3, 4, 4);
    t.m.opset = 4;
    attr_ints(&t, node(&t, "Reshape", "r", "x", "y"), "shape", 2, 1, 48);
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'r' (Reshape): Reshape at opset 4");
    net_init(&t, 3, 4, 4);
    t.m.opset = 5;
    init_i(&t, "s", 2, 1LL, 48LL);
    attr_str(&t, node(&t, "Cast", "c", "s", "s2"), "to", "INT64");
    node(&t, "Reshape", "r", "x,s2", "y");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'c' (Cast): Cast at opset 5");
    /* Resize with half_pixel coordinates: integer scales with rounding only (the same
     * pixels as asymmetric + floor there). */
    static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "ceil"};
    for (int i = 0; i < 3; i++) {
        net_init(&t, 3, 4, 4);
        oct__onnx_tensor *sc = init_f(&t, "sc", 1, 1, 1, 4);
        sc->f[2] = 2, sc->f[3] = 3;
        oct__onnx_node *n = node(&t, "Resize", "up", "x,-,sc", "y");
        attr_str(&t, n, "nearest_mode", nearest[i]);
        net_output(&t, "y");
        if (i < 2) expect_loads(&t);
        else expect_error(&t, OCT_ERR_UNSUPPORTED, "attribute 'nearest_mode' = 'ceil' with 'half_pixel' coordinates");
    }
    net_init(&t, 3, 4, 4);
    init_i(&t, "sz", 4, 1LL, 3LL, 8LL, 8LL);
    node(&t, "Resize", "up", "x,-,-,sz", "y");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "node 'up' (Resize): sizes with half_pixel coordinates");
    /* (N, F) inputs; Gemm's alpha / beta fold, a matrix bias or transA do not. */
    for (int k = 0; k < 3; k++) {
        net_init(&t, 6, 1, 1);
        t.in.ndim = 2;
        init_f(&t, "B", -1, 1, 2, 6, 4);
        init_f(&t, "C", -1, 1, k == 1 ? 2 : 1, k == 1 ? 2 : 4, 4);
        oct__onnx_node *n = node(&t, "Gemm", "fc", "x,B,C", "y");
        attr_real(&t, n, "alpha", 0.5);
        if (k == 2) attr_int(&t, n, "transA", 1);
        net_output(&t, "y");
        if (k == 0) expect_loads(&t);
        else if (k == 1) expect_error(&t, OCT_ERR_UNSUPPORTED, "bias of 8 values for 4 outputs");
        else expect_error(&t, OCT_ERR_UNSUPPORTED, "attribute 'transA' = 1");
    }
    net_init(&t, 3, 4, 4);
    t.in.ndim = 3;
    node(&t, "Relu", "r", "x", "y");
    net_output(&t, "y");
    expect_error(&t, OCT_ERR_UNSUPPORTED, "input 'x' is rank 3 of type 1; a float (N, C, H, W) or (N, F) input");
}

/* Every fallible allocation of an import and a forward pass failing in turn: a clean
 * out-of-memory status (host or backend memory), nothing left allocated (the sanitizer build checks the host side). */
static void test_faults(void)
{
    net t;
    octconv_net(&t);
    rng_t r = {3};
    float *x = rng_array(&r, (size_t)O_C * O_H * O_W, -2, 2), y[(O_OH + O_OL) * O_H * O_W];
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ctx), OCT_OK);
    int done = 0;
    for (long k = 1; k < 5000 && !done; k++) {
        oct__graph *g = NULL;
        oct_debug_fail_at(k);
        oct_status s = oct__onnx_import(ctx, &t.m, "test.onnx", &g);
        if (s == OCT_OK) s = oct__graph_forward(g, x, 1, O_H, O_W, y, NULL, NULL);
        done = oct_debug_fault_calls() < k; /* the k-th call was never reached */
        oct_debug_fail_at(0);
        /* The library's own allocations are HOST_MEMORY, the backend's DEVICE_MEMORY. */
        int oom = s == OCT_ERR_HOST_MEMORY || s == OCT_ERR_DEVICE_MEMORY;
        if (s != OCT_OK && !oom) printf("\nfault at %ld: status %d (%s)\n", k, s, oct_last_error());
        CU_ASSERT(s == OCT_OK || oom);
        CU_ASSERT_EQUAL(done, s == OCT_OK);
        oct__graph_free(g);
        CU_ASSERT_EQUAL(ctx->buf_bytes, 0);
    }
    CU_ASSERT(done);
    oct_context_free(ctx);
    free(x);
    net_free(&t);
}


/* ------------------------------------------------------------------------------------ */
/* Per-layer timing (oct_model_profile; the graph's g->prof)                              */

/* Bytes equal, else the first differing index printed. */
static int same_bytes(const char *what, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0) {
            printf("\n%s: output %zu differs: forward %.9g, profiled %.9g\n", what, i, a[i], b[i]);
            return 0;
        }
    return 1;
}

/* Every node time finite and >= 0; > 0 for each node that runs ops (not a view). */
static int times_ok(const char *what, const oct__graph *g, const double *secs)
{
    int ok = 1;
    for (int i = 0; i < g->nn; i++) {
        int runs = oct__gkind_of(g->nd[i].kind)->run != NULL;
        if (!isfinite(secs[i]) || secs[i] < 0 || (runs && !(secs[i] > 0))) {
            printf("\n%s: node %d (%s) took %g s\n", what, i, g->nd[i].name, secs[i]);
            ok = 0;
        }
    }
    return ok;
}

/* A clock for the timed passes that advances one "second" per reading: every node
 * then takes exactly 1 (its start and end readings), so sums and shares are exact. */
static double g_ticks;
static double tick_clock(void) { return g_ticks += 1; }

/* Node i's time under tick_clock for `images` chunks: 1 per chunk, except the conv pair
 * (cpu runs hl and ll as one op, on ll's turn, hl's own turn queueing nothing): ll's
 * tick is shared by MACs, hl having O_CH / O_CL = 2 times ll's, so hl gets 1 + 2/3 and
 * ll 1/3. With lh as the pair's side output (cpu, paired == 2) the tick is shared by
 * three: hl 4 x 3, ll 2 x 3 and lh 2 x 3 MACs a pixel (O_CH, O_CL -> O_OL; O_CL -> O_OH),
 * so hl gets 1 + 1/2, ll 1/4 and lh, whose own turn queues nothing, 1 + 1/4. */
static double ticks_expected(const oct__graph *g, int i, int paired, int chunks)
{
    const char *name = g->nd[i].name ? g->nd[i].name : "";
    double one = 1;
    if (paired == 1 && !strcmp(name, "hl")) one = 1 + 2.0 / 3;
    if (paired == 1 && !strcmp(name, "ll")) one = 1.0 / 3;
    if (paired == 2 && !strcmp(name, "hl")) one = 1 + 1.0 / 2;
    if (paired == 2 && !strcmp(name, "ll")) one = 1.0 / 4;
    if (paired == 2 && !strcmp(name, "lh")) one = 1 + 1.0 / 4;
    return one * chunks;
}

static int ticks_ok(const char *what, const oct__graph *g, const double *secs, int paired, int chunks)
{
    int ok = 1;
    for (int i = 0; i < g->nn; i++) {
        double e = ticks_expected(g, i, paired, chunks);
        if (!(fabs(secs[i] - e) <= 1e-12 * chunks)) { /* a few double roundings of values near 1 */
            printf("\n%s: node %d (%s) took %.17g ticks, expected %.17g\n", what, i, g->nd[i].name, secs[i], e);
            ok = 0;
        }
    }
    return ok;
}

/* A timed graph pass: the same bytes as a plain one, a time for every node (wall clock),
 * and on a counting clock exact times: the two convs run as one conv2d_pair op (cpu)
 * share its time by MACs, a pass in chunks sums each node's time over the chunks. */
static void test_profile_graph(void)
{
    for (int which = 0; which < 2; which++) {
        net t;
        int c = which ? O_C : S_C, h = which ? O_H : S_H, w = which ? O_W : S_W, n = 3;
        if (which)
            octconv_net(&t);
        else
            small_net(&t);
        rng_t r = {31 + (uint64_t)which};
        float *x = rng_array(&r, (size_t)n * c * h * w, -2, 2);
        for (int d = 0; d < 2; d++) { /* ref, cpu */
            oct_context *ctx = NULL;
            CU_ASSERT_EQUAL_FATAL(oct_context_create(g_devices[d], &ctx), OCT_OK);
            oct__graph *g = import(ctx, &t, OCT_OK);
            CU_ASSERT_PTR_NOT_NULL_FATAL(g);
            CU_ASSERT_EQUAL_FATAL(oct__graph_shapes(g, h, w), OCT_OK);
            const oct__gvalue *ov = &g->v[g->output];
            size_t outn = (size_t)n * ov->d.c * (ov->rank == 4 ? (size_t)ov->d.h * ov->d.w : 1);
            float *y1 = calloc(outn, sizeof *y1), *y2 = calloc(outn, sizeof *y2);
            double *secs = malloc((size_t)g->nn * sizeof *secs);
            for (int i = 0; i < g->nn; i++) secs[i] = -1;
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, h, w, y1, NULL, NULL), OCT_OK);
            g->prof = secs;
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, h, w, y2, NULL, NULL), OCT_OK);
            g->prof = NULL;
            CU_ASSERT(same_bytes(g_devices[d], y1, y2, outn));
            CU_ASSERT(times_ok(g_devices[d], g, secs));
            int paired = 0;
            if (which) {
                const oct__gnode *hl = by_name(g, "hl"), *ll = by_name(g, "ll");
                CU_ASSERT_FATAL(hl && ll);
                paired = oct__gconv_runs_pair(g, ll);
                CU_ASSERT_EQUAL(paired, d == 1); /* cpu pairs them, ref runs two ops */
                if (paired && ll->side >= 0) paired = 2; /* and lh as its side output */
                CU_ASSERT_EQUAL(ll->side >= 0, d == 1);
            }
            /* Counting clock: one pass of n images (one chunk), then the same n images
             * in chunks of one image under a memory limit (the bytes of the same chunks
             * unprofiled, times summed over the chunks). */
            g->clock = tick_clock;
            g->prof = secs;
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, h, w, y2, NULL, NULL), OCT_OK);
            CU_ASSERT(ticks_ok(g_devices[d], g, secs, paired, 1));
            g->prof = NULL;
            g->mem_limit = oct__graph_activation_bytes(g, 1, h, w);
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, h, w, y1, NULL, NULL), OCT_OK);
            g->prof = secs;
            CU_ASSERT_EQUAL(oct__graph_forward(g, x, n, h, w, y2, NULL, NULL), OCT_OK);
            g->prof = NULL;
            g->clock = NULL;
            CU_ASSERT_EQUAL(g->last_chunk, 1);
            CU_ASSERT(same_bytes("chunked", y1, y2, outn));
            CU_ASSERT(ticks_ok("chunked", g, secs, paired, n));
            free(secs), free(y1), free(y2);
            oct__graph_free(g);
            oct_context_free(ctx);
        }
        free(x);
        net_free(&t);
    }
}

/* oct_model_layer_macs_executed on OctNetMini at its declared 32x32: oct_model_forward's
 * logits; on the CPU with Winograd off every layer executes exactly its MACs (batch
 * included; pools none), with Winograd forced on no layer more and the pass fewer; their
 * sum is what oct_context_macs_executed counted; a pass in chunks of one image counts
 * the same; ref counts none (-1 each); the argument checks. */
static void test_macs_executed_layers(void)
{
    enum { N = 2, C = 3, H = 32, W = 32, K = 10 };
    rng_t r = {78};
    float *x = rng_array(&r, (size_t)N * C * H * W, -2, 2), y1[N * K], y2[N * K];
    static const char *const wino[] = {NULL, "0", "1"}; /* ref; cpu without, with Winograd */
    for (int v = 0; v < 3; v++) {
        oct_context *ctx = NULL;
        oct_model *m = NULL;
        if (wino[v]) setenv("OCTCL_CPU_WINOGRAD", wino[v], 1);
        oct_status made = oct_context_create(wino[v] ? "cpu" : "ref", &ctx);
        unsetenv("OCTCL_CPU_WINOGRAD");
        CU_ASSERT_EQUAL_FATAL(made, OCT_OK);
        CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ctx, C, K, 0.5, 7, &m), OCT_OK);
        int nl = oct_model_layer_count(m);
        CU_ASSERT_FATAL(nl > 0);
        long long *ex = malloc((size_t)nl * sizeof *ex), *ex1 = malloc((size_t)nl * sizeof *ex1);
        CU_ASSERT_FATAL(ex && ex1);
        long long c0 = 0, c1 = 0, sum = 0, model = 0;
        CU_ASSERT_EQUAL(oct_model_forward(m, x, N, H, W, y1, NULL, NULL), OCT_OK);
        CU_ASSERT_EQUAL(oct_context_macs_executed(ctx, &c0), OCT_OK);
        CU_ASSERT_EQUAL(oct_model_layer_macs_executed(m, x, N, H, W, y2, ex), OCT_OK);
        CU_ASSERT_EQUAL(oct_context_macs_executed(ctx, &c1), OCT_OK);
        CU_ASSERT(same_bytes(wino[v] ? "cpu" : "ref", y1, y2, N * K));
        int bad = 0;
        for (int i = 0; i < nl; i++) {
            oct_model_layer l;
            CU_ASSERT_EQUAL(oct_model_layer_get(m, i, &l), OCT_OK);
            long long want = l.macs * N;
            int ok = !wino[v] ? ex[i] == -1 : wino[v][0] == '0' ? ex[i] == want : ex[i] >= 0 && ex[i] <= want;
            if (!ok && bad++ < 5)
                printf("\n%s, Winograd %s: layer %d (%s %s) executed %lld of %lld MACs", wino[v] ? "cpu" : "ref",
                       wino[v] ? wino[v] : "-", i, l.kind, l.name, ex[i], want);
            sum += ex[i], model += want;
        }
        CU_ASSERT_EQUAL(bad, 0);
        if (wino[v]) {
            CU_ASSERT_EQUAL(sum, c1 - c0);
            if (wino[v][0] == '1') CU_ASSERT(sum < model);
            /* In chunks of one image: the same counts. */
            CU_ASSERT_EQUAL(oct_model_set_memory_limit(m, oct_model_activation_bytes(m, 1, H, W)), OCT_OK);
            CU_ASSERT_EQUAL(oct_model_layer_macs_executed(m, x, N, H, W, y2, ex1), OCT_OK);
            CU_ASSERT_EQUAL(oct_model_last_chunk(m), 1);
            CU_ASSERT(same_bytes("cpu, chunks", y1, y2, N * K));
            CU_ASSERT(memcmp(ex, ex1, (size_t)nl * sizeof *ex) == 0);
        } else {
            CU_ASSERT_EQUAL(c0, -1);
            CU_ASSERT_EQUAL(c1, -1);
        }
        /* Arguments; the graph is left uncounted. */
        CU_ASSERT_EQUAL(oct_model_layer_macs_executed(NULL, x, N, H, W, y2, ex), OCT_ERR_NULL_ARG);
        CU_ASSERT_EQUAL(oct_model_layer_macs_executed(m, NULL, N, H, W, y2, ex), OCT_ERR_NULL_ARG);
        CU_ASSERT_EQUAL(oct_model_layer_macs_executed(m, x, N, H, W, NULL, ex), OCT_ERR_NULL_ARG);
        CU_ASSERT_EQUAL(oct_model_layer_macs_executed(m, x, N, H, W, y2, NULL), OCT_ERR_NULL_ARG);
        CU_ASSERT(strstr(oct_last_error(), "macs_executed is NULL") != NULL);
        CU_ASSERT_EQUAL(oct_model_layer_macs_executed(m, x, 0, H, W, y2, ex), OCT_ERR_BAD_SIZE);
        CU_ASSERT_EQUAL(oct_model_layer_macs_executed(m, x, N, H, 0, y2, ex), OCT_ERR_BAD_SIZE);
        oct__graph *g = oct__model_any_graph(m);
        CU_ASSERT_PTR_NULL(g->prof_exec);
        CU_ASSERT_PTR_NULL(g->exec_chunk);
        int keep = g->nn;
        g->nn = 0;
        CU_ASSERT_EQUAL(oct_model_layer_macs_executed(m, x, N, H, W, y2, ex), OCT_ERR_UNSUPPORTED);
        g->nn = keep;
        free(ex1);
        free(ex);
        oct_model_free(m);
        oct_context_free(ctx);
    }
    free(x);
}

/* oct_model_profile on OctNetMini: the bytes of oct_model_forward (also in chunks under a
 * memory limit), a time per layer, and its argument checks. */
static void test_profile_model(void)
{
    enum { N = 3, C = 3, H = 12, W = 10, K = 10 };
    rng_t r = {77};
    float *x = rng_array(&r, (size_t)N * C * H * W, -2, 2), y1[N * K], y2[N * K];
    for (int d = 0; d < 2; d++) { /* ref, cpu */
        oct_context *ctx = NULL;
        oct_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_context_create(g_devices[d], &ctx), OCT_OK);
        CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ctx, C, K, 0.5, 7, &m), OCT_OK);
        int nl = oct_model_layer_count(m);
        CU_ASSERT_FATAL(nl > 0);
        double *secs = malloc((size_t)nl * sizeof *secs);
        for (int limit = 0; limit < 2; limit++) {
            if (limit) CU_ASSERT_EQUAL(oct_model_set_memory_limit(m, oct_model_activation_bytes(m, 1, H, W)), OCT_OK);
            CU_ASSERT_EQUAL(oct_model_forward(m, x, N, H, W, y1, NULL, NULL), OCT_OK);
            for (int i = 0; i < nl; i++) secs[i] = -1;
            CU_ASSERT_EQUAL(oct_model_profile(m, x, N, H, W, y2, secs), OCT_OK);
            if (limit) CU_ASSERT_EQUAL(oct_model_last_chunk(m), 1);
            CU_ASSERT(same_bytes(g_devices[d], y1, y2, N * K));
            for (int i = 0; i < nl; i++) {
                oct_model_layer l;
                CU_ASSERT_EQUAL(oct_model_layer_get(m, i, &l), OCT_OK);
                int ok = isfinite(secs[i]) && secs[i] >= 0 && (l.macs == 0 || secs[i] > 0);
                if (!ok) printf("\n%s: layer %d (%s %s, %lld MACs) took %g s\n", g_devices[d], i, l.kind, l.name, l.macs, secs[i]);
                CU_ASSERT(ok);
            }
        }
        /* Arguments. */
        CU_ASSERT_EQUAL(oct_model_profile(NULL, x, N, H, W, y2, secs), OCT_ERR_NULL_ARG);
        CU_ASSERT_EQUAL(oct_model_profile(m, NULL, N, H, W, y2, secs), OCT_ERR_NULL_ARG);
        CU_ASSERT_EQUAL(oct_model_profile(m, x, N, H, W, NULL, secs), OCT_ERR_NULL_ARG);
        CU_ASSERT_EQUAL(oct_model_profile(m, x, N, H, W, y2, NULL), OCT_ERR_NULL_ARG);
        CU_ASSERT(strstr(oct_last_error(), "layer_seconds is NULL") != NULL);
        CU_ASSERT_EQUAL(oct_model_profile(m, x, 0, H, W, y2, secs), OCT_ERR_BAD_SIZE);
        CU_ASSERT_EQUAL(oct_model_profile(m, x, N, 0, W, y2, secs), OCT_ERR_BAD_SIZE);
        CU_ASSERT_EQUAL(oct_model_profile(m, x, N, H, -1, y2, secs), OCT_ERR_BAD_SIZE);
        CU_ASSERT_EQUAL(oct_model_profile(m, x, N, 1, 1, y2, secs), OCT_ERR_BAD_SIZE); /* too small for the low band */
        /* A model without layers (no file loads as one: the graph is emptied here). */
        oct__graph *g = oct__model_any_graph(m);
        int keep = g->nn;
        g->nn = 0;
        CU_ASSERT_EQUAL(oct_model_profile(m, x, N, H, W, y2, secs), OCT_ERR_UNSUPPORTED);
        CU_ASSERT(strstr(oct_last_error(), "layer count 0") != NULL);
        g->nn = keep;
        /* The graph is left untimed: a plain pass afterwards writes nothing there. */
        CU_ASSERT_PTR_NULL(g->prof);
        free(secs);
        oct_model_free(m);
        oct_context_free(ctx);
    }
    free(x);
}

/* Seconds on the library's monotonic clock (the pool's and the graph's). */
static double mono_s(void) { return 1e-3 * oct__now_ms(); }

/* Two items taken from a counter by whichever threads join, each spinning `ms`. */
typedef struct {
    atomic_int next;
    double ms;
} spin_job;

static void spin_task(void *arg, int t)
{
    spin_job *j = arg;
    (void)t;
    while (atomic_fetch_add(&j->next, 1) < 2) {
        double end = mono_s() + 1e-3 * j->ms;
        while (mono_s() < end) {
        }
    }
}

/* A worker that outlasts the caller: the caller (thread 0) waits up to 50 ms for a worker
 * to start, then says it is done; the worker waits for that, then spins 10 ms more. */
typedef struct {
    atomic_int started, caller_done, joined;
} outlast_job;

static void outlast_task(void *arg, int t)
{
    outlast_job *j = arg;
    if (t == 0) {
        double give_up = mono_s() + 50e-3;
        while (!atomic_load(&j->started) && mono_s() < give_up) {
        }
        atomic_store(&j->caller_done, 1);
        return;
    }
    if (atomic_exchange(&j->started, 1)) return; /* one worker */
    while (!atomic_load(&j->caller_done)) {
    }
    double end = mono_s() + 10e-3;
    while (mono_s() < end) {
    }
    atomic_store(&j->joined, 1);
}

/* The pool's timing: while on, the threads' runs sum the 4 ms of work (whoever ran it) and
 * nothing is counted off; turning it on again zeroes the sums; a worker that outlasts the
 * caller by 10 ms shows as at least 10 ms of the caller's wait (tried until a worker
 * joins, at most 10 times: the OS may be slow to run one). */
static void test_pool_timing(void)
{
    oct__pool *p = NULL;
    CU_ASSERT_EQUAL_FATAL(oct__pool_create(2, &p), OCT_OK);
    double run[3] = {-1, -1, -1}, wait = -1;
    oct__pool_times(p, run, 3, &wait);
    CU_ASSERT(run[0] == 0 && run[1] == 0 && run[2] == 0 && wait == 0); /* nothing yet; past the pool: 0 */
    oct__pool_timing(p, 1);
    spin_job j = {0, 2};
    oct__pool_run(p, 2, spin_task, &j);
    oct__pool_times(p, run, 2, &wait);
    CU_ASSERT(run[0] + run[1] >= 4e-3 && wait >= 0 && run[1] >= 0);
    double keep0 = run[0], keep1 = run[1];
    oct__pool_timing(p, 0);
    atomic_store(&j.next, 0);
    oct__pool_run(p, 2, spin_task, &j); /* not counted */
    oct__pool_times(p, run, 2, NULL);
    CU_ASSERT(run[0] == keep0 && run[1] == keep1);
    oct__pool_timing(p, 1);
    oct__pool_times(p, run, 2, &wait);
    CU_ASSERT(run[0] == 0 && run[1] == 0 && wait == 0);
    atomic_store(&j.next, 0);
    oct__pool_run(p, 1, spin_task, &j); /* the caller alone */
    oct__pool_times(p, run, 2, &wait);
    CU_ASSERT(run[0] >= 4e-3 && run[1] == 0 && wait == 0);
    int joined = 0;
    for (int tries = 0; tries < 10 && !joined; tries++) {
        oct__pool_timing(p, 1);
        outlast_job k = {0, 0, 0};
        oct__pool_run(p, 2, outlast_task, &k);
        oct__pool_times(p, run, 2, &wait);
        joined = atomic_load(&k.joined);
    }
    if (!joined || !(wait >= 10e-3 && run[1] >= 10e-3))
        printf("\npool timing: worker joined %d; caller ran %.6f s, waited %.6f s; worker ran %.6f s\n", joined,
               run[0], wait, run[1]);
    CU_ASSERT(joined && wait >= 10e-3 && run[1] >= 10e-3);
    oct__pool_free(p);
    oct__pool_times(NULL, run, 2, &wait);
    CU_ASSERT(run[0] == 0 && run[1] == 0 && wait == 0);
}

/* oct_model_profile_threads on OctNetMini (3 images, 32x32) on ref, cpu on one thread and
 * cpu on two: the logits and layer times of oct_model_profile's pass; each thread's busy
 * time finite, >= 0 and at most its layer's time; on one thread exactly that time; on two
 * the second thread busy in a pass (it ran shares of the convolutions); the arguments. */
static void test_profile_threads(void)
{
    enum { N = 3, C = 3, H = 32, W = 32, K = 10 };
    rng_t r = {78};
    float *x = rng_array(&r, (size_t)N * C * H * W, -2, 2), y1[N * K], y2[N * K];
    const char *devs[3] = {"ref", "cpu", "cpu"};
    const char *threads[3] = {NULL, "1", "2"};
    for (int d = 0; d < 3; d++) {
        oct_context *ctx = NULL;
        oct_model *m = NULL;
        if (threads[d]) setenv("OCTCL_THREADS", threads[d], 1);
        oct_status cs = oct_context_create(devs[d], &ctx);
        unsetenv("OCTCL_THREADS");
        CU_ASSERT_EQUAL_FATAL(cs, OCT_OK);
        CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ctx, C, K, 0.5, 7, &m), OCT_OK);
        int nl = oct_model_layer_count(m), nt = oct_model_threads(m);
        CU_ASSERT_EQUAL(nt, d == 2 ? 2 : 1);
        CU_ASSERT_FATAL(nl > 0 && nt >= 1);
        double *secs = malloc((size_t)nl * sizeof *secs), *busy = malloc((size_t)nl * (size_t)nt * sizeof *busy);
        CU_ASSERT_FATAL(secs && busy);
        CU_ASSERT_EQUAL(oct_model_forward(m, x, N, H, W, y1, NULL, NULL), OCT_OK);
        /* Pass after pass until the second thread has been busy (at most 50): on a loaded
         * machine the OS may not run it while a pass's ops are open, and the caller then
         * takes every share itself, as it should. */
        double workers = 0;
        int bad = 0, tries = 0;
        for (; tries < 50 && !bad && (tries == 0 || (nt > 1 && !(workers > 0))); tries++) {
            for (int i = 0; i < nl * nt; i++) busy[i] = -1;
            CU_ASSERT_EQUAL(oct_model_profile_threads(m, x, N, H, W, y2, secs, busy), OCT_OK);
            bad |= !same_bytes(devs[d], y1, y2, N * K);
            for (int i = 0; i < nl; i++)
                for (int t = 0; t < nt; t++) {
                    double b = busy[i * nt + t];
                    int ok = isfinite(b) && b >= 0 && b <= secs[i] * (1 + 1e-9) + 1e-6 && (nt > 1 || b == secs[i]);
                    if (!ok) printf("\n%s/%d: layer %d thread %d busy %.9g s of %.9g\n", devs[d], nt, i, t, b, secs[i]);
                    bad |= !ok;
                    if (t) workers += b;
                }
        }
        CU_ASSERT(!bad);
        if (nt > 1 && !(workers > 0)) printf("\ncpu/2: the second thread was never busy in %d passes\n", tries);
        CU_ASSERT(nt == 1 || workers > 0);
        CU_ASSERT_EQUAL(oct_model_profile_threads(m, x, N, H, W, y2, secs, NULL), OCT_ERR_NULL_ARG);
        CU_ASSERT(strstr(oct_last_error(), "thread_seconds is NULL") != NULL);
        CU_ASSERT_EQUAL(oct_model_profile_threads(m, x, N, H, W, y2, NULL, busy), OCT_ERR_NULL_ARG);
        CU_ASSERT_EQUAL(oct_model_profile_threads(m, x, 0, H, W, y2, secs, busy), OCT_ERR_BAD_SIZE);
        CU_ASSERT_PTR_NULL(oct__model_any_graph(m)->prof_busy);
        free(secs), free(busy);
        oct_model_free(m);
        oct_context_free(ctx);
    }
    CU_ASSERT_EQUAL(oct_model_threads(NULL), 1);
    free(x);
}

int main(void)
{
    find_devices();
    printf("devices:");
    for (int i = 0; i < g_ndevices; i++) printf(" %s", g_devices[i]);
    printf("\n");
    /* Every import here moves the importer's symbol table at each new name: under ASan a
     * pointer into it kept across one is caught in whichever test makes it. */
    oct__onnx_import_tight(1);
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("graph", NULL, NULL);
    CU_add_test(s, "small net: fusion, parameters, MACs, trace", test_small_net);
    CU_add_test(s, "small net: forward on every device, activation bytes, chunks", test_small_forward);
    CU_add_test(s, "OctConv layer: recognised, fused, forward on every device", test_octconv_fusion);
    CU_add_test(s, "low band with a residual: one conv2d_pair op, on every device", test_residual_pair);
    CU_add_test(s, "residuals written over by the sums that end them, on every device", test_residual_in_place);
    CU_add_test(s, "merge + GlobalAveragePool: one GAP node, the band resized or its own mean", test_merge_gap);
    CU_add_test(s, "Split, Concat, ReLU alone, MatMul + Add, Gemm transB 0", test_misc_ops);
    CU_add_test(s, "fusions only into values no other node reads; one pool per value and window",
                test_fusion_readers);
    CU_add_test(s, "F.pad's exported pads: N-D Slice with negative and large steps, Transpose, Pad of a Pad",
                test_fpad);
    CU_add_test(s, "depth-first groups: the whole batch's bits at every cut and budget", test_depth_groups);
    CU_add_test(s, "load errors name the node, op and value", test_errors);
    CU_add_test(s, "sizes computed from shapes follow the input, or refuse other sizes", test_shape_chains);
    CU_add_test(s, "old opsets, (N, F) inputs, Gemm alpha / beta, half_pixel nearest", test_legacy_and_edges);
    CU_add_test(s, "allocation failures anywhere in import and forward", test_faults);
    CU_add_test(s, "per-layer timing of a graph pass: same bytes, every node, pairs, chunks", test_profile_graph);
    CU_add_test(s, "oct_model_profile on OctNetMini: same logits, layer times, argument checks", test_profile_model);
    CU_add_test(s, "oct_model_layer_macs_executed: each layer's, Winograd off and on, chunks, ref, arguments",
                test_macs_executed_layers);
    CU_add_test(s, "the thread pool's timing: runs summed while on, zeroed when turned on", test_pool_timing);
    CU_add_test(s, "oct_model_profile_threads: busy times per thread within each layer's", test_profile_threads);
    return run_cunit();
}
