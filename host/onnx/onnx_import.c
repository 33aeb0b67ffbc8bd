/* onnx_import.c — an ONNX model (as host/onnx/onnx.h reads it) into a graph: each op
 * PyTorch's exporter emits for the supported networks becomes a node, with BatchNorm
 * folded into the preceding Conv, ReLU fused into epilogues, a residual Add fused into a
 * Conv, zero Pad folded into the next Conv / pool, and Shape / Gather / Unsqueeze /
 * Concat / Cast / arithmetic chains on constants evaluated at load. Anything else is an
 * OCT_ERR_UNSUPPORTED load error naming the node, the op and the value.
 */
#include "graph/graph.h"
#include "onnx/onnx.h"
#include "onnx/onnx_import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* The importer's state: what every ONNX tensor name stands for                          */

typedef struct {
    const char *name;
    int value;                  /* graph value, or -1 */
    const oct__onnx_tensor *t;  /* a constant, or NULL */
    oct__onnx_tensor *owned;    /* a constant computed at load (freed at the end) */
    int pad[4];                 /* a pending zero Pad (top, left, bottom, right) of `value` */
    int padded;
    int empty;                  /* a zero-channel activation (alpha 0 or 1): only its shape is read */
    int64_t edims[4];
    /* A small constant computed from static shapes: element k is dim prov_d[k] of graph
     * value prov_v[k] (prov_v -1: a plain number). Lets a Resize to "the size of x_h"
     * follow x_h at any input size. */
    int nprov;
    int prov_v[8];
    oct__gexpr prov[8];
    int shape_dep;              /* computed from static shapes (possibly without provenance) */
    int ndprov;                 /* ConstantOfShape: provenance of the tensor's own dims */
    int dprov_v[8];
    oct__gexpr dprov[8];
    int empty_of;               /* empty: the value it was sliced from */
} sym;

typedef struct {
    const oct__onnx_model *m;
    oct__graph *g;
    int nsym, capsym;
    sym *s;
    int *vuses, capv;           /* per graph value: ONNX reads still to come */
    const char **counted;       /* initializers counted as parameters */
    int ncounted, capcounted;
    const oct__onnx_node *node; /* the node being imported, for messages */
    int64_t opset;              /* of the default domain (a file naming none reads as 18) */
} imp;

#define NODE_FMT "node '%s' (%s)"
#define NODE_ARGS(n) ((n)->name && *(n)->name ? (n)->name : ((n)->noutputs ? (n)->outputs[0] : "?")), (n)->op_type

static oct_status unsupported(const oct__onnx_node *n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static oct_status unsupported(const oct__onnx_node *n, const char *fmt, ...)
{
    char msg[360];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return oct__fail(OCT_ERR_UNSUPPORTED, NODE_FMT ": %s", NODE_ARGS(n), msg);
}

static const char *node_name(const oct__onnx_node *n) { return n->name && *n->name ? n->name : n->outputs[0]; }

static sym *find_sym(imp *im, const char *name)
{
    for (int i = im->nsym - 1; i >= 0; i--)
        if (strcmp(im->s[i].name, name) == 0) return &im->s[i];
    return NULL;
}

static int g_tight; /* oct__onnx_import_tight */
void oct__onnx_import_tight(int on) { g_tight = on; }

static oct_status add_sym(imp *im, const char *name, sym **out)
{
    if (im->nsym == im->capsym) {
        int cap = g_tight ? im->capsym + 1 : im->capsym ? 2 * im->capsym : 256;
        sym *s = oct__realloc(im->s, (size_t)cap * sizeof *s);
        if (!s) return oct__fail(OCT_ERR_HOST_MEMORY, "onnx import: out of host memory");
        im->s = s, im->capsym = cap;
    }
    sym *s = &im->s[im->nsym++];
    memset(s, 0, sizeof *s);
    s->name = name;
    s->value = -1;
    *out = s;
    return OCT_OK;
}

/* Reads of `name` by nodes and the graph outputs. */
static int uses(const imp *im, const char *name)
{
    int count = 0;
    for (int i = 0; i < im->m->nnodes; i++)
        for (int k = 0; k < im->m->nodes[i].ninputs; k++) count += strcmp(im->m->nodes[i].inputs[k], name) == 0;
    for (int i = 0; i < im->m->noutputs; i++) count += strcmp(im->m->outputs[i].name, name) == 0;
    return count;
}

static oct_status grow_vuses(imp *im)
{
    if (im->g->nv <= im->capv) return OCT_OK;
    int cap = im->g->nv + 256;
    int *v = oct__realloc(im->vuses, (size_t)cap * sizeof *v);
    if (!v) return oct__fail(OCT_ERR_HOST_MEMORY, "onnx import: out of host memory");
    for (int i = im->capv; i < cap; i++) v[i] = 0;
    im->vuses = v, im->capv = cap;
    return OCT_OK;
}

/* Bind `name` to graph value v. */
static oct_status bind_value(imp *im, const char *name, int v)
{
    sym *s = NULL;
    OCT__TRY(grow_vuses(im));
    OCT__TRY(add_sym(im, name, &s));
    s->value = v;
    im->vuses[v] += uses(im, name);
    return OCT_OK;
}

/* The node reads value v once and its output `name` is the same value (a fusion or an
 * identity). */
static oct_status pass_through(imp *im, int v, const char *name)
{
    im->vuses[v]--;
    return bind_value(im, name, v);
}

/* A constant computed at load (never a reader's tensor). */
static void free_owned(oct__onnx_tensor *t)
{
    if (!t) return;
    free(t->f);
    free(t->i);
    free(t);
}

static oct_status bind_const(imp *im, const char *name, const oct__onnx_tensor *t, oct__onnx_tensor *owned)
{
    sym *s = NULL;
    oct_status st = add_sym(im, name, &s);
    if (st != OCT_OK) {
        free_owned(owned);
        return st;
    }
    s->t = t ? t : owned;
    s->owned = owned;
    return OCT_OK;
}

/* A zero Pad that no Conv or pool absorbs: an average pool of 1x1 windows over the
 * padded input, counting the padding (so a copy with zeros around it). */
static oct_status materialize_pad(imp *im, sym *s)
{
    oct__gnode *nd;
    int index, x = s->value;
    OCT__TRY(oct__g_node(im->g, OCT__GK_POOL, s->name, &nd, &index));
    OCT__TRY(oct__g_set_inputs(im->g, nd, 1, &x));
    nd->nout = 1;
    nd->kh = nd->kw = 1, nd->cip = 1;
    nd->pt = s->pad[0], nd->pl = s->pad[1], nd->pb = s->pad[2], nd->pr = s->pad[3];
    OCT__TRY(oct__g_note_fused(nd, "Pad", s->name));
    const char *names[1] = {s->name};
    OCT__TRY(oct__g_finish_node(im->g, index, names));
    OCT__TRY(grow_vuses(im));
    int y = im->g->nd[index].out[0];
    /* The reads of the padded name now go to the new value. */
    im->vuses[y] = uses(im, s->name);
    s->value = y;
    s->padded = 0;
    return OCT_OK;
}

/* Input k of the current node as a graph value (a pending Pad only where allowed). pad
 * (top, left, bottom, right; NULL: not wanted) receives the pending Pad, zeros when there
 * is none (a pending Pad is never all zeros: op_pad): a copy, for the symbols move when
 * a name is added. */
static oct_status in_value(imp *im, int k, int allow_pad, int *v, int *pad)
{
    const oct__onnx_node *n = im->node;
    if (k >= n->ninputs || !*n->inputs[k])
        return oct__fail(OCT_ERR_MODEL, NODE_FMT ": input %d is missing", NODE_ARGS(n), k);
    sym *s = find_sym(im, n->inputs[k]);
    if (!s) return oct__fail(OCT_ERR_MODEL, NODE_FMT ": reads '%s', which no node writes", NODE_ARGS(n), n->inputs[k]);
    if (s->empty) return unsupported(n, "input '%s' has zero channels", n->inputs[k]);
    if (s->value < 0)
        return unsupported(n, "input '%s' is a constant; octcl runs this op on activations only", n->inputs[k]);
    if (s->padded && !allow_pad) OCT__TRY(materialize_pad(im, s));
    *v = s->value;
    if (pad && s->padded) memcpy(pad, s->pad, sizeof s->pad);
    else if (pad) memset(pad, 0, sizeof s->pad);
    return OCT_OK;
}

/* Input k as a constant; NULL (and OCT_OK) when it is optional and omitted. */
static oct_status in_const(imp *im, int k, int required, const oct__onnx_tensor **t)
{
    const oct__onnx_node *n = im->node;
    *t = NULL;
    if (k >= n->ninputs || !*n->inputs[k]) {
        if (required) return oct__fail(OCT_ERR_MODEL, NODE_FMT ": input %d is missing", NODE_ARGS(n), k);
        return OCT_OK;
    }
    sym *s = find_sym(im, n->inputs[k]);
    if (!s) return oct__fail(OCT_ERR_MODEL, NODE_FMT ": reads '%s', which no node writes", NODE_ARGS(n), n->inputs[k]);
    if (!s->t)
        return unsupported(n, "input %d ('%s') must be a constant known at load time", k, n->inputs[k]);
    *t = s->t;
    return OCT_OK;
}

static int is_const(imp *im, int k)
{
    const oct__onnx_node *n = im->node;
    if (k >= im->node->ninputs || !*n->inputs[k]) return 0;
    sym *s = find_sym(im, n->inputs[k]);
    return s && s->t;
}

/* Provenance of element k of the constant read as input `in` of the current node:
 * value and dim, or -1. */
static int prov_of(imp *im, int in, size_t k, oct__gexpr *e)
{
    const oct__onnx_node *n = im->node;
    memset(e, 0, sizeof *e);
    e->d = -1;
    if (in >= n->ninputs || !*n->inputs[in]) return -1;
    sym *s = find_sym(im, n->inputs[in]);
    if (!s || (int)k >= s->nprov) return -1;
    *e = s->prov[k];
    return s->prov_v[k];
}

/* Append an op to a provenance program; -1 when it is full. */
static int prov_push(int v, oct__gexpr *e, char op, double k)
{
    if (v < 0 || e->nops == (int)sizeof e->op) return -1;
    e->op[e->nops] = op;
    e->k[e->nops++] = k;
    return v;
}

static double cval(const oct__onnx_tensor *t, size_t k) { return t->f ? (double)t->f[k] : (double)t->i[k]; }

static oct_status need_data(imp *im, const oct__onnx_tensor *t, const char *what)
{
    if (!t->f && !t->i)
        return unsupported(im->node, "%s '%s' has data type %d, which octcl does not read", what, t->name ? t->name : "",
                           t->dtype);
    return OCT_OK;
}

static oct_status need_float(imp *im, const oct__onnx_tensor *t, const char *what)
{
    if (!t->f)
        return unsupported(im->node, "%s '%s' has data type %d, expected float", what, t->name ? t->name : "", t->dtype);
    return OCT_OK;
}

/* Count an initializer as trainable parameters once. */
static oct_status count_params(imp *im, const oct__onnx_tensor *t)
{
    if (!t || !t->name || !*t->name) return OCT_OK;
    for (int i = 0; i < im->ncounted; i++)
        if (strcmp(im->counted[i], t->name) == 0) return OCT_OK;
    if (im->ncounted == im->capcounted) {
        int cap = im->capcounted ? 2 * im->capcounted : 256;
        const char **c = oct__realloc(im->counted, (size_t)cap * sizeof *c);
        if (!c) return oct__fail(OCT_ERR_HOST_MEMORY, "onnx import: out of host memory");
        im->counted = c, im->capcounted = cap;
    }
    im->counted[im->ncounted++] = t->name;
    im->g->params += (long long)t->count;
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Attributes                                                                             */

static const oct__onnx_attr *attr(const oct__onnx_node *n, const char *name) { return oct__onnx_attr_find(n, name); }

static long long attr_int(const oct__onnx_node *n, const char *name, long long def)
{
    const oct__onnx_attr *a = attr(n, name);
    return a && a->type == OCT__ONNX_ATTR_INT ? a->i : def;
}

static double attr_float(const oct__onnx_node *n, const char *name, double def)
{
    const oct__onnx_attr *a = attr(n, name);
    return a && a->type == OCT__ONNX_ATTR_FLOAT ? a->f : def;
}

static const char *attr_str(const oct__onnx_node *n, const char *name, const char *def)
{
    const oct__onnx_attr *a = attr(n, name);
    return a && a->type == OCT__ONNX_ATTR_STRING ? a->s : def;
}

/* INTS attribute of exactly `count` values (count 0: any) into out; 0 when absent. */
static oct_status attr_ints(imp *im, const char *name, int count, long long *out, int *present)
{
    const oct__onnx_attr *a = attr(im->node, name);
    *present = 0;
    if (!a) return OCT_OK;
    if (a->type != OCT__ONNX_ATTR_INTS || (count && a->nints != count))
        return unsupported(im->node, "attribute '%s' has %d values, expected %d (2-D only)", name,
                           a->type == OCT__ONNX_ATTR_INTS ? a->nints : 1, count);
    for (int i = 0; i < a->nints; i++) out[i] = a->ints[i];
    *present = 1;
    return OCT_OK;
}

/* Window geometry shared by Conv and the pools: kernel, strides, pads, dilations and
 * auto_pad resolved at the input's size (kh, kw from the caller when known). */
typedef struct {
    int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
} window;

static oct_status read_window(imp *im, const oct__gdims *x, window *wd, int need_kernel)
{
    const oct__onnx_node *n = im->node;
    long long v[4];
    int present;
    OCT__TRY(attr_ints(im, "kernel_shape", 2, v, &present));
    if (present) {
        if (!need_kernel && (v[0] != wd->kh || v[1] != wd->kw))
            return unsupported(n, "kernel_shape (%lld, %lld) disagrees with the weight's (%d, %d)", v[0], v[1], wd->kh,
                               wd->kw);
        wd->kh = (int)v[0], wd->kw = (int)v[1];
    } else if (need_kernel) {
        return unsupported(n, "attribute 'kernel_shape' is missing");
    }
    if (wd->kh < 1 || wd->kw < 1 || wd->kh > 4096 || wd->kw > 4096)
        return unsupported(n, "kernel (%d, %d) is out of range", wd->kh, wd->kw);
    wd->sh = wd->sw = wd->dh = wd->dw = 1;
    wd->pt = wd->pl = wd->pb = wd->pr = 0;
    OCT__TRY(attr_ints(im, "strides", 2, v, &present));
    if (present) wd->sh = (int)v[0], wd->sw = (int)v[1];
    OCT__TRY(attr_ints(im, "dilations", 2, v, &present));
    if (present) wd->dh = (int)v[0], wd->dw = (int)v[1];
    if (wd->sh < 1 || wd->sw < 1 || wd->dh < 1 || wd->dw < 1 || wd->sh > 4096 || wd->sw > 4096 || wd->dh > 4096 ||
        wd->dw > 4096)
        return unsupported(n, "strides (%d, %d) / dilations (%d, %d) out of range", wd->sh, wd->sw, wd->dh, wd->dw);
    const char *ap = attr_str(n, "auto_pad", "NOTSET");
    OCT__TRY(attr_ints(im, "pads", 4, v, &present));
    if (present) {
        for (int i = 0; i < 4; i++)
            if (v[i] < 0 || v[i] > 4096) return unsupported(n, "attribute 'pads' value %lld is out of range", v[i]);
        wd->pt = (int)v[0], wd->pl = (int)v[1], wd->pb = (int)v[2], wd->pr = (int)v[3];
    }
    if (strcmp(ap, "NOTSET") == 0 || strcmp(ap, "VALID") == 0) {
        if (strcmp(ap, "VALID") == 0) wd->pt = wd->pl = wd->pb = wd->pr = 0;
    } else if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
        int in[2] = {x->h, x->w}, k[2] = {wd->kh, wd->kw}, s[2] = {wd->sh, wd->sw}, d[2] = {wd->dh, wd->dw}, b[2], e[2];
        for (int i = 0; i < 2; i++) {
            int out = (in[i] + s[i] - 1) / s[i];
            int total = (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in[i];
            if (total < 0) total = 0;
            b[i] = ap[5] == 'U' ? total / 2 : total - total / 2;
            e[i] = total - b[i];
        }
        wd->pt = b[0], wd->pl = b[1], wd->pb = e[0], wd->pr = e[1];
    } else {
        return unsupported(n, "attribute 'auto_pad' = '%s' is not supported", ap);
    }
    return OCT_OK;
}

/* Whether pad (in_value's) holds a pending Pad. */
static int pending(const int *pad) { return pad[0] || pad[1] || pad[2] || pad[3]; }

static void add_pad(window *wd, const int *pad)
{
    wd->pt += pad[0], wd->pl += pad[1], wd->pb += pad[2], wd->pr += pad[3];
}

/* ------------------------------------------------------------------------------------ */
/* Nodes                                                                                  */

/* Create a node of `kind` reading `in`, run its shape rule, bind its output names. */
static oct_status emit(imp *im, int kind, int nin, const int *in, oct__gnode **out_node, int *out_index)
{
    oct__gnode *nd;
    int index;
    OCT__TRY(oct__g_node(im->g, kind, node_name(im->node), &nd, &index));
    OCT__TRY(oct__g_set_inputs(im->g, nd, nin, in));
    for (int i = 0; i < nin; i++) im->vuses[in[i]]--;
    nd->nout = 1;
    *out_node = nd;
    *out_index = index;
    return OCT_OK;
}

static oct_status finish(imp *im, int index, const char *out_name)
{
    const char *names[1] = {out_name};
    OCT__TRY(oct__g_finish_node(im->g, index, names));
    return bind_value(im, out_name, im->g->nd[index].out[0]);
}

/* An affine node y = x * scale + shift (then ReLU if asked) over c channels; the node
 * takes *scale and *shift (either may be NULL: 1 and 0) and the pointers are cleared. */
static oct_status emit_affine(imp *im, int x, int c, float **scale, float **shift, int relu, const char *out_name)
{
    oct__gnode *nd;
    int index;
    OCT__TRY(emit(im, OCT__GK_AFFINE, 1, &x, &nd, &index));
    nd->co = c;
    nd->relu = relu;
    nd->scale = *scale, nd->shift = *shift;
    *scale = *shift = NULL;
    return finish(im, index, out_name);
}

/* Whether a node of the graph so far reads v or a view of it. */
static int read_yet(const oct__graph *g, int v)
{
    for (int i = 0; i < g->nn; i++)
        for (int k = 0; k < g->nd[i].nin; k++)
            for (int u = g->nd[i].in[k]; u >= 0; u = g->v[u].view_of)
                if (u == v) return 1;
    return 0;
}

/* A fusable epilogue's owner: the node producing v when the node being imported is v's
 * only reader, or NULL. A fusion changes what the producer writes (ReLU, BatchNorm, a
 * residual), which no other reader may see: readers still to come are counted in vuses,
 * earlier ones are graph nodes by now (reading v or a view of it). Counting only those
 * to come, a ReLU after a Conv that a second Conv had already read was fused into the
 * first, and the second read the rectified values. */
static oct__gnode *sole_producer(imp *im, int v)
{
    const oct__gvalue *val = &im->g->v[v];
    if (val->producer < 0 || val->view_of >= 0 || im->vuses[v] != 1 || read_yet(im->g, v)) return NULL;
    return &im->g->nd[val->producer];
}

static oct_status op_conv(imp *im)
{
    const oct__onnx_node *n = im->node;
    int x, pad[4];
    const oct__onnx_tensor *W, *B;
    OCT__TRY(in_value(im, 0, 1, &x, pad));
    OCT__TRY(in_const(im, 1, 1, &W));
    OCT__TRY(in_const(im, 2, 0, &B));
    OCT__TRY(need_float(im, W, "weight"));
    if (B) OCT__TRY(need_float(im, B, "bias"));
    const oct__gvalue *xv = &im->g->v[x];
    if (xv->rank != 4) return unsupported(n, "input is rank %d; Conv runs on (N, C, H, W)", xv->rank);
    if (W->ndim != 4) return unsupported(n, "weight has rank %d; only 2-D convolutions run", W->ndim);
    long long group = attr_int(n, "group", 1);
    window wd = {.kh = (int)W->dims[2], .kw = (int)W->dims[3]};
    OCT__TRY(read_window(im, &xv->d, &wd, 0));
    add_pad(&wd, pad);
    long long co = W->dims[0], cig = W->dims[1];
    if (group < 1 || group > xv->d.c || co < 1 || cig < 1 || co > 1 << 20 || cig * group != xv->d.c || co % group)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH,
                         NODE_FMT ": weight (%lld, %lld, %d, %d) with group %lld does not fit an input of %d channels",
                         NODE_ARGS(n), co, cig, wd.kh, wd.kw, group, xv->d.c);
    if (B && (long long)B->count != co)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, NODE_FMT ": bias has %zu values, the weight %lld outputs", NODE_ARGS(n),
                         B->count, co);
    oct__gnode *nd;
    int index;
    OCT__TRY(emit(im, OCT__GK_CONV, 1, &x, &nd, &index));
    nd->co = (int)co, nd->ci = xv->d.c, nd->groups = (int)group;
    nd->kh = wd.kh, nd->kw = wd.kw, nd->sh = wd.sh, nd->sw = wd.sw, nd->dh = wd.dh, nd->dw = wd.dw;
    nd->pt = wd.pt, nd->pl = wd.pl, nd->pb = wd.pb, nd->pr = wd.pr;
    if (!(nd->w = oct__malloc(W->count * sizeof(float))) || !(nd->b = oct__calloc((size_t)co, sizeof(float))))
        return oct__fail(OCT_ERR_HOST_MEMORY, "onnx import: out of host memory for %s's weights", node_name(n));
    memcpy(nd->w, W->f, W->count * sizeof(float));
    if (B) memcpy(nd->b, B->f, B->count * sizeof(float));
    OCT__TRY(count_params(im, W));
    OCT__TRY(count_params(im, B));
    return finish(im, index, n->outputs[0]);
}

#define OCT_UNSUPPORTED_FOLD ((oct_status)-1)

/* Scale a conv's output channels by scale (weights and bias). */
static oct_status scale_conv(imp *im, oct__gnode *p, const float *scale)
{
    size_t per = (size_t)(p->ci / p->groups) * p->kh * p->kw;
    for (int o = 0; o < p->co; o++) {
        for (size_t i = 0; i < per; i++) {
            float *w = &p->w[(size_t)o * per + i];
            *w *= scale[o];
            if (!isfinite(*w))
                return oct__fail(OCT_ERR_MODEL, NODE_FMT ": folding into '%s' gives a non-finite weight [%d][%zu]",
                                 NODE_ARGS(im->node), p->name, o, i);
        }
        p->b[o] *= scale[o];
    }
    return OCT_OK;
}

/* Fold y = x * scale + shift into the convolutions that compute x: every conv writing
 * value x (a sum of convs) and the convs whose output is upsampled into it. Each must
 * be a plain conv (no ReLU, no residual). OCT_UNSUPPORTED_FOLD when they are not. */
static oct_status fold_bn(imp *im, int x, const float *scale, const float *shift)
{
    oct__graph *g = im->g;
    int last = g->v[x].producer, any = 0;
    for (int i = 0; i < g->nn; i++) {
        oct__gnode *p = &g->nd[i];
        if (p->out[0] != x || p->nout != 1) continue;
        if (p->kind != OCT__GK_CONV || p->res >= 0 || p->relu || !p->w) return OCT_UNSUPPORTED_FOLD;
        if (p->up >= 0) {
            const oct__gnode *u = &g->nd[g->v[p->in[p->up]].producer];
            if (u->kind != OCT__GK_CONV || u->res >= 0 || u->relu || !u->w || u->up >= 0) return OCT_UNSUPPORTED_FOLD;
        }
        any = 1;
    }
    if (!any || last < 0 || g->nd[last].out[0] != x) return OCT_UNSUPPORTED_FOLD;
    for (int i = 0; i < g->nn; i++) {
        oct__gnode *p = &g->nd[i];
        if (p->out[0] != x || p->nout != 1) continue;
        OCT__TRY(scale_conv(im, p, scale));
        if (p->up >= 0) OCT__TRY(scale_conv(im, &g->nd[g->v[p->in[p->up]].producer], scale));
    }
    oct__gnode *p = &g->nd[last];
    for (int o = 0; o < p->co; o++) {
        p->b[o] += shift[o];
        if (!isfinite(p->b[o]))
            return oct__fail(OCT_ERR_MODEL, NODE_FMT ": folding into '%s' gives a non-finite bias [%d]",
                             NODE_ARGS(im->node), p->name, o);
    }
    return OCT_OK;
}

/* BatchNormalization: folded into the producing Conv when it is that conv's only
 * reader (and the conv has no residual or ReLU yet), else an affine node. */
static oct_status op_bn(imp *im)
{
    const oct__onnx_node *n = im->node;
    int x;
    const oct__onnx_tensor *t[4];
    OCT__TRY(in_value(im, 0, 0, &x, NULL));
    for (int k = 0; k < 4; k++) {
        OCT__TRY(in_const(im, k + 1, 1, &t[k]));
        OCT__TRY(need_float(im, t[k], "BatchNormalization input"));
    }
    if (attr_int(n, "training_mode", 0) != 0) return unsupported(n, "attribute 'training_mode' = 1 (inference only)");
    if (im->opset < 7 && attr_int(n, "is_test", 0) != 1)
        return unsupported(n, "attribute 'is_test' = %lld (batch statistics; inference only)", attr_int(n, "is_test", 0));
    if (attr_int(n, "spatial", 1) != 1) return unsupported(n, "attribute 'spatial' = 0 (per-channel statistics only)");
    for (int k = 1; k < n->noutputs; k++)
        if (*n->outputs[k] && uses(im, n->outputs[k]))
            return unsupported(n, "output %d (running statistics) is read; inference only", k);
    double eps = attr_float(n, "epsilon", 1e-5);
    int c = im->g->v[x].d.c;
    for (int k = 0; k < 4; k++)
        if ((int)t[k]->count != c)
            return oct__fail(OCT_ERR_SHAPE_MISMATCH, NODE_FMT ": '%s' has %zu values for %d channels", NODE_ARGS(n),
                             t[k]->name, t[k]->count, c);
    OCT__TRY(count_params(im, t[0]));
    OCT__TRY(count_params(im, t[1]));
    float *scale = oct__malloc((size_t)c * sizeof *scale), *shift = oct__malloc((size_t)c * sizeof *shift);
    oct_status s = OCT_OK;
    if (!scale || !shift) {
        s = oct__fail(OCT_ERR_HOST_MEMORY, "onnx import: out of host memory");
        goto done;
    }
    for (int i = 0; i < c; i++) {
        double var = t[3]->f[i];
        if (!(var + eps > 0) || !isfinite(var)) {
            s = oct__fail(OCT_ERR_MODEL, NODE_FMT ": variance[%d] = %g: variance + epsilon must be positive",
                          NODE_ARGS(n), i, var);
            goto done;
        }
        double sc = t[0]->f[i] / sqrt(var + eps);
        scale[i] = (float)sc;
        shift[i] = (float)(t[1]->f[i] - t[2]->f[i] * sc);
    }
    oct__gnode *p = sole_producer(im, x);
    if (p && (s = fold_bn(im, x, scale, shift)) != OCT_UNSUPPORTED_FOLD) {
        if (s == OCT_OK && (s = oct__g_note_fused(&im->g->nd[im->g->v[x].producer], "BatchNormalization",
                                                  node_name(n))) == OCT_OK)
            s = pass_through(im, x, n->outputs[0]);
        goto done;
    }
    s = emit_affine(im, x, c, &scale, &shift, 0, n->outputs[0]);
done:
    free(scale);
    free(shift);
    return s;
}

static oct_status op_relu(imp *im)
{
    const oct__onnx_node *n = im->node;
    int x;
    OCT__TRY(in_value(im, 0, 0, &x, NULL));
    oct__gnode *p = sole_producer(im, x);
    if (p && !p->relu &&
        (p->kind == OCT__GK_CONV || p->kind == OCT__GK_ADD || p->kind == OCT__GK_AFFINE || p->kind == OCT__GK_POOL)) {
        p->relu = 1;
        OCT__TRY(oct__g_note_fused(p, "Relu", node_name(n)));
        return pass_through(im, x, n->outputs[0]);
    }
    float *none = NULL, *none2 = NULL;
    return emit_affine(im, x, im->g->v[x].d.c, &none, &none2, 1, n->outputs[0]);
}

/* ------------------------------------------------------------------------------------ */
/* Constants computed at load                                                             */

static oct_status new_const(imp *im, int is_float, int ndim, const int64_t *dims, oct__onnx_tensor **out)
{
    oct__onnx_tensor *t = oct__calloc(1, sizeof *t);
    if (!t) return oct__fail(OCT_ERR_HOST_MEMORY, "onnx import: out of host memory");
    t->dtype = is_float ? OCT__ONNX_FLOAT : OCT__ONNX_INT64;
    t->ndim = ndim;
    t->count = 1;
    for (int i = 0; i < ndim; i++) {
        t->dims[i] = dims[i];
        t->count *= (size_t)dims[i];
    }
    if (t->count > (1u << 24)) {
        size_t count = t->count;
        free(t);
        return unsupported(im->node, "a constant of %zu values is too large to compute at load", count);
    }
    size_t bytes = (t->count ? t->count : 1) * 8;
    if (is_float ? !(t->f = oct__calloc(1, bytes)) : !(t->i = oct__calloc(1, bytes))) {
        free(t);
        return oct__fail(OCT_ERR_HOST_MEMORY, "onnx import: out of host memory");
    }
    *out = t;
    return OCT_OK;
}

static void cset(oct__onnx_tensor *t, size_t k, double v)
{
    if (t->f)
        t->f[k] = (float)v;
    else
        t->i[k] = (int64_t)v;
}

/* A list of int64 axes from an attribute (older opsets) or input k (newer). */
static oct_status read_axes(imp *im, const char *name, int k, long long *axes, int *count)
{
    const oct__onnx_attr *a = attr(im->node, name);
    *count = 0;
    if (a && a->type == OCT__ONNX_ATTR_INTS) {
        if (a->nints > OCT__ONNX_MAX_DIMS) return unsupported(im->node, "too many %s", name);
        for (int i = 0; i < a->nints; i++) axes[i] = a->ints[i];
        *count = a->nints;
        return OCT_OK;
    }
    const oct__onnx_tensor *t;
    OCT__TRY(in_const(im, k, 0, &t));
    if (!t) return OCT_OK;
    OCT__TRY(need_data(im, t, "axes"));
    if (t->count > OCT__ONNX_MAX_DIMS) return unsupported(im->node, "too many %s", name);
    for (size_t i = 0; i < t->count; i++) {
        double v = cval(t, i);
        axes[i] = t->i ? (long long)t->i[i] : v >= 9e18 ? (long long)9e18 : v <= -9e18 ? (long long)-9e18 : (long long)v;
    }
    *count = (int)t->count;
    return OCT_OK;
}

/* The row-major strides (elements) of constant a's axes. */
static void strides_of(const oct__onnx_tensor *a, long long *st)
{
    long long acc = 1;
    for (int k = a->ndim - 1; k >= 0; k--) st[k] = acc, acc *= (long long)a->dims[k];
}

/* r's element at index (q_0, ..., q_n-1) of its dims = a's element base + sum q_k st[k]:
 * a strided view of a (Slice, Transpose) copied out. */
static void gather_const(const oct__onnx_tensor *a, oct__onnx_tensor *r, long long base, const long long *st)
{
    for (size_t i = 0; i < r->count; i++) {
        long long src = base;
        size_t rest = i;
        for (int k = r->ndim - 1; k >= 0; k--) { /* i's index along axis k */
            size_t dk = (size_t)r->dims[k];
            src += (long long)(rest % dk) * st[k];
            rest /= dk;
        }
        cset(r, i, cval(a, (size_t)src));
    }
}

/* Shape, Gather, Unsqueeze, Squeeze, Concat, Cast, Slice, Transpose, arithmetic, Floor,
 * Reshape on constants. Returns OCT_OK and sets *done when the node was one of those. */
static oct_status fold_const(imp *im, int *done)
{
    const oct__onnx_node *n = im->node;
    const char *op = n->op_type;
    *done = 0;
    oct__onnx_tensor *r = NULL;
    oct_status s = OCT_OK;
    if (strcmp(op, "Shape") == 0) {
        sym *in = n->ninputs ? find_sym(im, n->inputs[0]) : NULL;
        if (!in) return oct__fail(OCT_ERR_MODEL, NODE_FMT ": reads '%s', which no node writes", NODE_ARGS(n),
                                  n->ninputs ? n->inputs[0] : "");
        int64_t d[OCT__ONNX_MAX_DIMS];
        int nd;
        if (in->t) {
            nd = in->t->ndim;
            memcpy(d, in->t->dims, sizeof d);
        } else if (in->empty) {
            nd = 4;
            memcpy(d, in->edims, sizeof in->edims);
        } else {
            const oct__gvalue *v = &im->g->v[in->value];
            nd = v->rank;
            d[0] = im->g->in_n > 0 ? im->g->in_n : 1;
            d[1] = v->d.c, d[2] = v->d.h, d[3] = v->d.w;
            if (in->padded) d[2] += in->pad[0] + in->pad[2], d[3] += in->pad[1] + in->pad[3];
            im->vuses[in->value]--;
        }
        long long start = attr_int(n, "start", 0), end = attr_int(n, "end", nd);
        if (start < 0) start += nd;
        if (end < 0) end += nd;
        if (start < 0) start = 0;
        if (end > nd) end = nd;
        int64_t len = end > start ? end - start : 0;
        OCT__TRY(new_const(im, 0, 1, &len, &r));
        for (int64_t i = 0; i < len; i++) r->i[i] = d[start + i];
        *done = 1;
        /* bind_const may move the symbols (realloc): `in` is found again after it. */
        size_t in_at = (size_t)(in - im->s);
        OCT__TRY(bind_const(im, n->outputs[0], NULL, r));
        in = &im->s[in_at];
        sym *o = &im->s[im->nsym - 1];
        o->shape_dep = 1;
        if ((in->empty || (in->t && in->ndprov == nd)) && len <= 8) {
            o->nprov = (int)len;
            for (int64_t i = 0; i < len; i++) {
                int k = (int)(start + i);
                memset(&o->prov[i], 0, sizeof o->prov[i]);
                if (in->empty) {
                    o->prov_v[i] = k >= 2 ? in->empty_of : -1;
                    o->prov[i].d = k;
                } else {
                    o->prov_v[i] = in->dprov_v[k];
                    o->prov[i] = in->dprov[k];
                }
            }
        } else if (!in->t && !in->empty && !in->padded && len <= 8) {
            o->nprov = (int)len;
            for (int64_t i = 0; i < len; i++) {
                o->prov_v[i] = in->value;
                memset(&o->prov[i], 0, sizeof o->prov[i]);
                o->prov[i].d = (int)(start + i);
            }
        }
        return OCT_OK;
    }
    static const char *const foldable[] = {"ConstantOfShape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast",
                                           "Slice", "Mul", "Div", "Add", "Sub", "Floor", "Ceil", "Reshape", "Sqrt",
                                           "Transpose"};
    int is = 0;
    for (size_t i = 0; i < sizeof foldable / sizeof *foldable; i++) is |= strcmp(op, foldable[i]) == 0;
    if (!is || !n->ninputs) return OCT_OK;
    for (int k = 0; k < n->ninputs; k++)
        if (*n->inputs[k] && !is_const(im, k)) return OCT_OK; /* runs on activations */
    *done = 1;
    int pv[8], track = 0; /* provenance of the result's elements */
    oct__gexpr pd[8];
    for (int k = 0; k < 8; k++) pv[k] = -1;
    const oct__onnx_tensor *a;
    OCT__TRY(in_const(im, 0, 1, &a));
    OCT__TRY(need_data(im, a, "input"));
    if (strcmp(op, "ConstantOfShape") == 0) {
        int64_t d[OCT__ONNX_MAX_DIMS];
        if (a->count > OCT__ONNX_MAX_DIMS) return unsupported(n, "rank %zu", a->count);
        for (size_t i = 0; i < a->count; i++) d[i] = (int64_t)cval(a, i);
        for (size_t i = 0; i < a->count; i++)
            if (d[i] < 0 || d[i] > 1 << 24) return unsupported(n, "dim %lld", (long long)d[i]);
        const oct__onnx_attr *va = attr(n, "value");
        const oct__onnx_tensor *v = va && va->type == OCT__ONNX_ATTR_TENSOR ? va->t : NULL;
        OCT__TRY(new_const(im, !v || v->f != NULL, (int)a->count, d, &r));
        double fill = v && v->count ? cval(v, 0) : 0;
        for (size_t i = 0; i < r->count; i++) cset(r, i, fill);
    } else if (strcmp(op, "Gather") == 0) {
        const oct__onnx_tensor *idx;
        OCT__TRY(in_const(im, 1, 1, &idx));
        OCT__TRY(need_data(im, idx, "indices"));
        long long axis = attr_int(n, "axis", 0);
        if (a->ndim != 1 || (axis != 0 && axis != -1))
            return unsupported(n, "Gather on a constant of rank %d along axis %lld (1-D only)", a->ndim, axis);
        OCT__TRY(new_const(im, a->f != NULL, idx->ndim, idx->dims, &r));
        for (size_t i = 0; i < idx->count; i++) {
            long long j = (long long)cval(idx, i);
            if (j < 0) j += (long long)a->count;
            if (j < 0 || j >= (long long)a->count) {
                s = unsupported(n, "index %lld is out of range for %zu values", j, a->count);
                goto fail;
            }
            cset(r, i, cval(a, (size_t)j));
            if (i < 8) pv[i] = prov_of(im, 0, (size_t)j, &pd[i]);
        }
        track = 1;
    } else if (strcmp(op, "Unsqueeze") == 0 || strcmp(op, "Squeeze") == 0) {
        long long axes[OCT__ONNX_MAX_DIMS];
        int na;
        OCT__TRY(read_axes(im, "axes", 1, axes, &na));
        int64_t d[OCT__ONNX_MAX_DIMS];
        int nd = 0;
        if (op[0] == 'U') {
            int out = a->ndim + na, src = 0;
            if (out > OCT__ONNX_MAX_DIMS) return unsupported(n, "rank %d is too large", out);
            for (int i = 0; i < out; i++) {
                int hit = 0;
                for (int k = 0; k < na; k++) hit |= (axes[k] < 0 ? axes[k] + out : axes[k]) == i;
                d[nd++] = hit ? 1 : a->dims[src++];
            }
        } else {
            for (int i = 0; i < a->ndim; i++) {
                int hit = na == 0 && a->dims[i] == 1;
                for (int k = 0; k < na; k++) hit |= (axes[k] < 0 ? axes[k] + a->ndim : axes[k]) == i;
                if (!hit) d[nd++] = a->dims[i];
            }
        }
        OCT__TRY(new_const(im, a->f != NULL, nd, d, &r));
        for (size_t i = 0; i < a->count; i++) cset(r, i, cval(a, i));
        for (size_t i = 0; i < a->count && i < 8; i++) pv[i] = prov_of(im, 0, i, &pd[i]);
        track = 1;
    } else if (strcmp(op, "Concat") == 0) {
        int64_t total = 0;
        int isf = 0;
        for (int k = 0; k < n->ninputs; k++) {
            const oct__onnx_tensor *t;
            OCT__TRY(in_const(im, k, 1, &t));
            OCT__TRY(need_data(im, t, "input"));
            if (t->ndim > 1) return unsupported(n, "Concat of constants of rank %d (1-D only)", t->ndim);
            total += (int64_t)t->count;
            isf |= t->f != NULL;
        }
        OCT__TRY(new_const(im, isf, 1, &total, &r));
        size_t o = 0;
        for (int k = 0; k < n->ninputs; k++) {
            const oct__onnx_tensor *t;
            (void)in_const(im, k, 1, &t);
            for (size_t i = 0; i < t->count; i++) {
                if (o < 8) pv[o] = prov_of(im, k, i, &pd[o]);
                cset(r, o++, cval(t, i));
            }
        }
        track = 1;
    } else if (strcmp(op, "Cast") == 0) {
        long long to = attr_int(n, "to", OCT__ONNX_FLOAT);
        int isf = to == OCT__ONNX_FLOAT || to == OCT__ONNX_DOUBLE || to == OCT__ONNX_FLOAT16;
        OCT__TRY(new_const(im, isf, a->ndim, a->dims, &r));
        for (size_t i = 0; i < a->count; i++) {
            double v = cval(a, i);
            cset(r, i, isf ? v : trunc(v));
            if (i < 8) {
                pv[i] = prov_of(im, 0, i, &pd[i]);
                if (!isf && a->f) pv[i] = prov_push(pv[i], &pd[i], 't', 0); /* float to int */
            }
        }
        track = 1;
    } else if (strcmp(op, "Reshape") == 0) {
        const oct__onnx_tensor *sh;
        OCT__TRY(in_const(im, 1, 1, &sh));
        OCT__TRY(need_data(im, sh, "shape"));
        if (sh->count > OCT__ONNX_MAX_DIMS) return unsupported(n, "target rank %zu", sh->count);
        int64_t d[OCT__ONNX_MAX_DIMS], known = 1;
        int neg = -1;
        for (size_t i = 0; i < sh->count; i++) {
            d[i] = (int64_t)cval(sh, i);
            if (d[i] == 0 && i < (size_t)a->ndim) d[i] = a->dims[i];
            if (d[i] < 0) neg = (int)i;
            else known *= d[i];
        }
        if (neg >= 0) d[neg] = known ? (int64_t)a->count / known : 0;
        OCT__TRY(new_const(im, a->f != NULL, (int)sh->count, d, &r));
        if (r->count != a->count) {
            s = unsupported(n, "reshape of %zu values into %zu", a->count, r->count);
            goto fail;
        }
        for (size_t i = 0; i < a->count; i++) cset(r, i, cval(a, i));
    } else if (strcmp(op, "Slice") == 0) {
        /* Any rank, any axes and steps (PyTorch's F.pad export reverses a (4, 2) table of
         * pads with step -1 before its Transpose). ONNX's clamping: a start past either
         * end stops at the first or last element in the step's direction. */
        long long st[OCT__ONNX_MAX_DIMS], en[OCT__ONNX_MAX_DIMS], ax[OCT__ONNX_MAX_DIMS], sp[OCT__ONNX_MAX_DIMS];
        int c1, c2, c3, c4, nd = a->ndim;
        OCT__TRY(read_axes(im, "starts", 1, st, &c1));
        OCT__TRY(read_axes(im, "ends", 2, en, &c2));
        c3 = c4 = c1;
        for (int k = 0; k < c1; k++) ax[k] = k, sp[k] = 1;
        if (n->ninputs > 3 || attr(n, "axes")) OCT__TRY(read_axes(im, "axes", 3, ax, &c3));
        if (n->ninputs > 4 && *n->inputs[4]) OCT__TRY(read_axes(im, "steps", 4, sp, &c4));
        if (c2 != c1 || c3 != c1 || c4 != c1)
            return unsupported(n, "Slice of a constant: %d starts, %d ends, %d axes, %d steps", c1, c2, c3, c4);
        long long b0[OCT__ONNX_MAX_DIMS], stp[OCT__ONNX_MAX_DIMS], st_in[OCT__ONNX_MAX_DIMS], base = 0;
        int64_t d[OCT__ONNX_MAX_DIMS];
        int sliced = 0;
        for (int k = 0; k < nd; k++) b0[k] = 0, stp[k] = 1, d[k] = a->dims[k];
        for (int k = 0; k < c1; k++) {
            long long x = ax[k] < 0 ? ax[k] + nd : ax[k], len;
            if (x < 0 || x >= nd || (sliced >> x & 1))
                return unsupported(n, "Slice of a rank-%d constant along axis %lld (once each)", nd, ax[k]);
            sliced |= 1 << x;
            if (sp[k] == 0) return unsupported(n, "Slice of a constant with step 0");
            len = (long long)a->dims[x];
            /* A step longer than the axis takes one element either way: clamped so that the
             * counts below cannot overflow (steps come from the file, INT64_MAX included). */
            if (sp[k] > len + 1) sp[k] = len + 1;
            if (sp[k] < -(len + 1)) sp[k] = -(len + 1);
            long long b = st[k] < 0 ? st[k] + len : st[k], e = en[k] < 0 ? en[k] + len : en[k];
            if (sp[k] > 0) {
                b = b < 0 ? 0 : b > len ? len : b;
                e = e < 0 ? 0 : e > len ? len : e;
                d[x] = e > b ? (e - b + sp[k] - 1) / sp[k] : 0;
            } else {
                b = b < 0 ? -1 : b > len - 1 ? len - 1 : b;
                e = e < -1 ? -1 : e > len - 1 ? len - 1 : e;
                d[x] = b > e ? (b - e - sp[k] - 1) / -sp[k] : 0;
            }
            b0[x] = b, stp[x] = sp[k];
        }
        OCT__TRY(new_const(im, a->f != NULL, nd, d, &r));
        strides_of(a, st_in);
        for (int k = 0; k < nd; k++) base += b0[k] * st_in[k], st_in[k] *= stp[k];
        gather_const(a, r, base, st_in);
        for (size_t i = 0; nd == 1 && i < r->count && i < 8; i++)
            pv[i] = prov_of(im, 0, (size_t)(base + (long long)i * st_in[0]), &pd[i]);
        track = nd == 1;
    } else if (strcmp(op, "Transpose") == 0) {
        int nd = a->ndim;
        long long perm[OCT__ONNX_MAX_DIMS];
        const oct__onnx_attr *pa = attr(n, "perm");
        if (pa && (pa->type != OCT__ONNX_ATTR_INTS || pa->nints != nd))
            return unsupported(n, "Transpose of a rank-%d constant: attribute 'perm' is not %d ints", nd, nd);
        int seen = 0;
        for (int k = 0; k < nd; k++) {
            perm[k] = pa ? pa->ints[k] : nd - 1 - k;
            if (perm[k] < 0 || perm[k] >= nd || (seen >> perm[k] & 1))
                return unsupported(n, "Transpose: 'perm' is not a permutation of 0..%d", nd - 1);
            seen |= 1 << perm[k];
        }
        int64_t d[OCT__ONNX_MAX_DIMS];
        for (int k = 0; k < nd; k++) d[k] = a->dims[perm[k]];
        OCT__TRY(new_const(im, a->f != NULL, nd, d, &r));
        long long st_in[OCT__ONNX_MAX_DIMS], st[OCT__ONNX_MAX_DIMS];
        strides_of(a, st_in);
        for (int k = 0; k < nd; k++) st[k] = st_in[perm[k]];
        gather_const(a, r, 0, st);
    } else if (strcmp(op, "Floor") == 0 || strcmp(op, "Ceil") == 0 || strcmp(op, "Sqrt") == 0) {
        OCT__TRY(new_const(im, a->f != NULL, a->ndim, a->dims, &r));
        for (size_t i = 0; i < a->count; i++) {
            cset(r, i, op[0] == 'F' ? floor(cval(a, i)) : op[0] == 'C' ? ceil(cval(a, i)) : sqrt(cval(a, i)));
            if (i < 8 && op[0] != 'S') pv[i] = prov_push(prov_of(im, 0, i, &pd[i]), &pd[i], op[0] == 'F' ? 'f' : 'c', 0);
        }
        track = 1;
    } else { /* Mul, Div, Add, Sub: equal shapes or a scalar operand */
        const oct__onnx_tensor *b;
        OCT__TRY(in_const(im, 1, 1, &b));
        OCT__TRY(need_data(im, b, "input"));
        const oct__onnx_tensor *big = a->count >= b->count ? a : b;
        if (a->count != b->count && a->count != 1 && b->count != 1)
            return unsupported(n, "broadcast between constants of %zu and %zu values", a->count, b->count);
        int isf = a->f || b->f;
        OCT__TRY(new_const(im, isf, big->ndim, big->dims, &r));
        for (size_t i = 0; i < big->count; i++) {
            double x = cval(a, a->count == 1 ? 0 : i), y = cval(b, b->count == 1 ? 0 : i), v;
            switch (op[0]) {
            case 'M': v = x * y; break;
            case 'A': v = x + y; break;
            case 'S': v = x - y; break;
            default:
                if (y == 0) {
                    s = unsupported(n, "division by zero in a constant");
                    goto fail;
                }
                v = isf ? x / y : floor(x / y);
            }
            cset(r, i, v);
            /* dim (op) constant: the program grows by one op. */
            if (i < 8) {
                oct__gexpr ea, eb;
                int va = prov_of(im, 0, a->count == 1 ? 0 : i, &ea), vb = prov_of(im, 1, b->count == 1 ? 0 : i, &eb);
                if (va >= 0 && vb < 0) {
                    pd[i] = ea;
                    pv[i] = op[0] == 'A' ? prov_push(va, &pd[i], '+', y) : op[0] == 'S' ? prov_push(va, &pd[i], '+', -y)
                          : op[0] == 'M' ? prov_push(va, &pd[i], '*', y) : prov_push(va, &pd[i], isf ? 'd' : 'i', y);
                } else if (vb >= 0 && va < 0 && (op[0] == 'A' || op[0] == 'M')) {
                    pd[i] = eb;
                    pv[i] = prov_push(vb, &pd[i], op[0] == 'A' ? '+' : '*', x);
                }
            }
        }
        track = 1;
    }
    int nprov = track && r->count <= 8 ? (int)r->count : 0, dep = 0;
    for (int k = 0; k < n->ninputs; k++) {
        sym *si = *n->inputs[k] ? find_sym(im, n->inputs[k]) : NULL;
        dep |= si && si->shape_dep;
    }
    int cos = strcmp(op, "ConstantOfShape") == 0 && a->count <= 8;
    oct__gexpr dp[8];
    int dv[8];
    for (size_t k = 0; cos && k < a->count; k++) dv[k] = prov_of(im, 0, k, &dp[k]);
    OCT__TRY(bind_const(im, n->outputs[0], NULL, r));
    sym *o = &im->s[im->nsym - 1];
    o->shape_dep = dep;
    if (cos) {
        o->ndprov = (int)a->count;
        for (int k = 0; k < o->ndprov; k++) o->dprov_v[k] = dv[k], o->dprov[k] = dp[k];
    }
    o->nprov = nprov;
    for (int k = 0; k < nprov; k++) o->prov_v[k] = pv[k], o->prov[k] = pd[k];
    return OCT_OK;
fail:
    free_owned(r);
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* The other ops                                                                          */

/* A plain conv (no epilogue yet) producing v, read only by the node being imported. */
static oct__gnode *plain_conv(imp *im, int v)
{
    oct__gnode *p = sole_producer(im, v);
    return p && p->kind == OCT__GK_CONV && p->res < 0 && !p->relu ? p : NULL;
}

/* Add(a, b) as an epilogue, in this order of preference:
 *   Up(conv A) + conv B  -> B adds the nearest-upsampled low-resolution output of A
 *                          (the OctConv L->H path);
 *   conv A + conv B      -> B adds onto A's output (a sum of convs; conv2d_pair later);
 *   conv B + anything    -> B's residual.
 * Each keeps BatchNorm foldable into all the convs and ReLU fusable into the last. */
static oct_status fuse_add(imp *im, int a, int b, int *fused)
{
    oct__graph *g = im->g;
    const char *out = im->node->outputs[0];
    *fused = 0;
    for (int k = 0; k < 2; k++) { /* Up(conv A) + conv B */
        int r = k ? b : a, other = k ? a : b;
        oct__gnode *rs = sole_producer(im, r), *B = plain_conv(im, other);
        if (!rs || rs->kind != OCT__GK_RESIZE || !B || B->up >= 0) continue;
        int t = rs->in[0];
        const oct__gnode *A = g->v[t].producer >= 0 ? &g->nd[g->v[t].producer] : NULL;
        if (!A || A->kind != OCT__GK_CONV || A->relu || A->res >= 0 || A->up >= 0 || im->vuses[t] != 0 ||
            oct__g_readers(g, t) != 1)
            continue;
        /* The resize runs as the epilogue of B: B reads t from now on. */
        int bi = (int)(B - g->nd), ri = (int)(rs - g->nd);
        int in[4], nin = 0;
        for (int i = 0; i < B->nin; i++) in[nin++] = B->in[i];
        in[nin] = t;
        OCT__TRY(oct__g_set_inputs(g, B, nin + 1, in));
        B->up = nin;
        OCT__TRY(oct__g_note_fused(B, "Resize", rs->name));
        OCT__TRY(oct__g_note_fused(B, "Add", node_name(im->node)));
        B->up_h = rs->up_h, B->up_w = rs->up_w, B->oh = rs->oh, B->ow = rs->ow;
        oct__g_remove(g, ri);
        if (bi > ri) bi--;
        oct__g_move_to_end(g, bi);
        im->vuses[r] = 0;
        *fused = 1;
        return pass_through(im, other, out);
    }
    oct__gnode *A = plain_conv(im, a), *B = plain_conv(im, b);
    if (A && B && A != B && A->up < 0 && B->up < 0 && !A->acc && !B->acc) { /* conv A + conv B */
        if (A > B) {
            oct__gnode *t = A;
            A = B, B = t;
            int tv = a;
            a = b, b = tv;
        }
        /* B writes onto A's output; B's own output value is left unused. */
        int bi = (int)(B - g->nd);
        B->out[0] = a;
        B->acc = 1;
        g->v[a].producer = bi;
        OCT__TRY(oct__g_note_fused(B, "Add", node_name(im->node)));
        oct__g_move_to_end(g, bi);
        im->vuses[b] = 0;
        *fused = 1;
        return pass_through(im, a, out);
    }
    for (int k = 0; k < 2; k++) { /* conv B + residual */
        int mine = k ? b : a, other = k ? a : b;
        oct__gnode *p = plain_conv(im, mine);
        if (!p) continue;
        int index = (int)(p - g->nd), in[4], nin = 0;
        for (int i = 0; i < p->nin; i++) in[nin++] = p->in[i];
        in[nin] = other;
        OCT__TRY(oct__g_set_inputs(g, p, nin + 1, in));
        p->res = nin;
        OCT__TRY(oct__g_note_fused(p, "Add", node_name(im->node)));
        oct__g_move_to_end(g, index);
        im->vuses[other]--;
        *fused = 1;
        return pass_through(im, mine, out);
    }
    return OCT_OK;
}

/* Add / Sub / Mul / Div of an activation and a constant that is one value or one per
 * channel ((C), (C, 1, 1), (1, C, 1, 1)): an affine node (input normalisation). */
static oct_status op_arith(imp *im)
{
    const oct__onnx_node *n = im->node;
    if (n->ninputs != 2) return unsupported(n, "%d inputs", n->ninputs);
    int ca = is_const(im, 0), x;
    const oct__onnx_tensor *t;
    OCT__TRY(in_value(im, ca ? 1 : 0, 0, &x, NULL));
    OCT__TRY(in_const(im, ca ? 0 : 1, 1, &t));
    OCT__TRY(need_data(im, t, "operand"));
    const oct__gvalue *v = &im->g->v[x];
    int c = v->d.c, per_channel = (int)t->count == c && c > 1;
    if (per_channel) {
        /* The channel axis must be the one that is not 1 (rank 4: axis 1 of 4, or the
         * first of 3 for (C, 1, 1); rank 2 values: the last). */
        int ok = 0;
        if (v->rank == 4) ok = (t->ndim == 4 && t->dims[0] == 1 && t->dims[2] == 1 && t->dims[3] == 1) ||
                               (t->ndim == 3 && t->dims[1] == 1 && t->dims[2] == 1);
        else ok = t->ndim == 1 || (t->ndim == 2 && t->dims[0] == 1);
        if (!ok) per_channel = 0;
    }
    if (t->count != 1 && !per_channel)
        return unsupported(n, "%s of constant '%s' (%zu values) and an activation of %d channels (broadcasting is "
                              "supported for one value or one per channel only)",
                           n->op_type, n->inputs[ca ? 0 : 1], t->count, c);
    float *scale = oct__malloc((size_t)c * sizeof *scale), *shift = oct__malloc((size_t)c * sizeof *shift);
    oct_status s = OCT_OK;
    if (!scale || !shift) {
        s = oct__fail(OCT_ERR_HOST_MEMORY, "onnx import: out of host memory");
        goto done;
    }
    char op = n->op_type[0];
    for (int i = 0; i < c; i++) {
        double k = cval(t, per_channel ? (size_t)i : 0), sc = 1, sh = 0;
        if (op == 'A') sh = k;
        else if (op == 'S') sc = ca ? -1 : 1, sh = ca ? k : -k;
        else if (op == 'M') sc = k;
        else if (!ca && k != 0) sc = 1 / k;
        else {
            s = unsupported(n, "dividing %s", ca ? "a constant by an activation" : "by zero");
            goto done;
        }
        scale[i] = (float)sc, shift[i] = (float)sh;
        if (!isfinite(scale[i]) || !isfinite(shift[i])) {
            s = oct__fail(OCT_ERR_MODEL, NODE_FMT ": constant gives a non-finite scale or shift", NODE_ARGS(n));
            goto done;
        }
    }
    s = emit_affine(im, x, c, &scale, &shift, 0, n->outputs[0]);
done:
    free(scale);
    free(shift);
    return s;
}

static oct_status op_add(imp *im)
{
    const oct__onnx_node *n = im->node;
    if (n->ninputs != 2) return unsupported(n, "%d inputs", n->ninputs);
    int ca = is_const(im, 0), cb = is_const(im, 1);
    if (ca || cb) {
        /* A bias after a MatMul. */
        int x;
        const oct__onnx_tensor *t;
        OCT__TRY(in_value(im, ca ? 1 : 0, 0, &x, NULL));
        OCT__TRY(in_const(im, ca ? 0 : 1, 1, &t));
        oct__gnode *p = sole_producer(im, x);
        if (p && p->kind == OCT__GK_LINEAR && p->b && t->f && (int)t->count == p->fout && !p->relu) {
            int zero = 1;
            for (int i = 0; i < p->fout; i++) zero &= p->b[i] == 0;
            if (zero) {
                memcpy(p->b, t->f, t->count * sizeof(float));
                OCT__TRY(count_params(im, t));
                OCT__TRY(oct__g_note_fused(p, "Add", node_name(n)));
                return pass_through(im, x, n->outputs[0]);
            }
        }
        return op_arith(im);
    }
    int a, b;
    OCT__TRY(in_value(im, 0, 0, &a, NULL));
    OCT__TRY(in_value(im, 1, 0, &b, NULL));
    const oct__gdims *da = &im->g->v[a].d, *db = &im->g->v[b].d;
    if (da->c != db->c || da->h != db->h || da->w != db->w || im->g->v[a].rank != im->g->v[b].rank)
        return unsupported(n, "operands (%d, %d, %d) and (%d, %d, %d) differ: broadcasting is not supported", da->c,
                           da->h, da->w, db->c, db->h, db->w);
    if (a != b) {
        int fused;
        OCT__TRY(fuse_add(im, a, b, &fused));
        if (fused) return OCT_OK;
    }
    oct__gnode *nd;
    int index, in[2] = {a, b};
    OCT__TRY(emit(im, OCT__GK_ADD, 2, in, &nd, &index));
    return finish(im, index, n->outputs[0]);
}

/* A pool node of the graph that reads x with want's window (kind, kernel, strides, pads,
 * ceil mode, count_include_pad) and nothing fused after it, or -1. Oct-ResNet's first
 * block of a stage pools x_h twice over one window: in its first layer's H->L path and
 * in its downsample branch's stride (d-li14's OctaveConv); the second is that value. */
static int same_pool(const oct__graph *g, int x, const oct__gnode *want)
{
    for (int i = 0; i < g->nn; i++) {
        const oct__gnode *p = &g->nd[i];
        if (p->kind != OCT__GK_POOL || p->nin != 1 || p->in[0] != x || p->nout != 1 || p->relu ||
            p->max != want->max || p->cip != want->cip || p->ceil != want->ceil || p->kh != want->kh ||
            p->kw != want->kw || p->sh != want->sh || p->sw != want->sw || p->pt != want->pt || p->pl != want->pl ||
            p->pb != want->pb || p->pr != want->pr)
            continue;
        if (g->v[p->out[0]].producer == i) return i;
    }
    return -1;
}

static oct_status op_pool(imp *im, int max)
{
    const oct__onnx_node *n = im->node;
    int x, pad[4];
    OCT__TRY(in_value(im, 0, !max, &x, pad));
    const oct__gvalue *xv = &im->g->v[x];
    if (xv->rank != 4) return unsupported(n, "input is rank %d; pooling runs on (N, C, H, W)", xv->rank);
    window wd = {0};
    OCT__TRY(read_window(im, &xv->d, &wd, 1));
    if (wd.dh != 1 || wd.dw != 1) return unsupported(n, "attribute 'dilations' = (%d, %d) (1 only)", wd.dh, wd.dw);
    if (max && attr_int(n, "storage_order", 0) != 0) return unsupported(n, "attribute 'storage_order' = 1");
    if (max && n->noutputs > 1 && *n->outputs[1] && uses(im, n->outputs[1]))
        return unsupported(n, "output 'Indices' is read");
    long long cip = max ? 0 : attr_int(n, "count_include_pad", 0), ceil_mode = attr_int(n, "ceil_mode", 0);
    if (pending(pad)) {
        /* Explicit zeros count in the average. */
        if (!cip && (wd.pt || wd.pl || wd.pb || wd.pr))
            return unsupported(n, "a Pad before a pool with its own pads and count_include_pad = 0");
        cip = 1;
        add_pad(&wd, pad);
    }
    oct__gnode want = {.max = max, .cip = (int)cip, .ceil = (int)ceil_mode, .kh = wd.kh, .kw = wd.kw, .sh = wd.sh,
                       .sw = wd.sw, .pt = wd.pt, .pl = wd.pl, .pb = wd.pb, .pr = wd.pr};
    int same = same_pool(im->g, x, &want);
    if (same >= 0) {
        /* The same pool of the same value again: its output is read instead. */
        OCT__TRY(oct__g_note_fused(&im->g->nd[same], max ? "MaxPool" : "AveragePool", node_name(n)));
        im->vuses[x]--;
        return bind_value(im, n->outputs[0], im->g->nd[same].out[0]);
    }
    oct__gnode *nd;
    int index;
    OCT__TRY(emit(im, OCT__GK_POOL, 1, &x, &nd, &index));
    nd->max = want.max, nd->cip = want.cip, nd->ceil = want.ceil;
    nd->kh = want.kh, nd->kw = want.kw, nd->sh = want.sh, nd->sw = want.sw;
    nd->pt = want.pt, nd->pl = want.pl, nd->pb = want.pb, nd->pr = want.pr;
    return finish(im, index, n->outputs[0]);
}

static oct_status op_global_max(imp *im)
{
    int x;
    OCT__TRY(in_value(im, 0, 0, &x, NULL));
    if (im->g->v[x].rank != 4)
        return unsupported(im->node, "input is rank %d; GlobalMaxPool runs on (N, C, H, W)", im->g->v[x].rank);
    oct__gnode *nd;
    int index;
    OCT__TRY(emit(im, OCT__GK_POOL, 1, &x, &nd, &index));
    nd->max = 1, nd->kh = nd->kw = 0;
    return finish(im, index, im->node->outputs[0]);
}

/* GlobalAveragePool(Concat(..., Resize(b), ...)), the concat and the resize read by
 * nothing else (an OctConv network's merge, then the classifier's pool): one GAP node
 * over the concat's inputs side by side, b in place of its resize (k_simple.c: a 2x
 * resize's mean is b's own), so the merged map is never written. Only when the GAP's
 * ONNX input x has its last reader here. *index < 0: not that pattern. */
static oct_status merge_gap(imp *im, int x, int *index)
{
    oct__graph *g = im->g;
    *index = -1;
    oct__gnode *c = sole_producer(im, x);
    if (!c || c->kind != OCT__GK_CONCAT || c->nin > 255) return OCT_OK;
    int in[257], nin = c->nin, up = -1, ri = -1, ci = (int)(c - g->nd);
    for (int i = 0; i < nin; i++) {
        int v = c->in[i], p = g->v[v].producer;
        in[i] = v;
        if (up >= 0 || p < 0 || g->v[v].view_of >= 0 || g->nd[p].kind != OCT__GK_RESIZE || im->vuses[v] != 0 ||
            oct__g_readers(g, v) != 1)
            continue;
        up = i, ri = p, in[i] = g->nd[p].in[0];
    }
    if (up < 0) return OCT_OK;
    in[nin] = c->in[up == 0 ? 1 : 0]; /* a plane of the merge's size: read for its size */
    oct__gnode *nd;
    im->vuses[x]--;
    OCT__TRY(oct__g_node(g, OCT__GK_GAP, node_name(im->node), &nd, index));
    OCT__TRY(oct__g_set_inputs(g, nd, nin + 1, in));
    const oct__gnode *r = &g->nd[ri];
    nd->nout = 1, nd->up = up;
    nd->up_h = r->up_h, nd->up_w = r->up_w, nd->oh = r->oh, nd->ow = r->ow;
    OCT__TRY(oct__g_note_fused(nd, "Resize", r->name));
    OCT__TRY(oct__g_note_fused(nd, "Concat", g->nd[ci].name));
    /* The resize and the concat go, the later node first. */
    oct__g_remove(g, ci > ri ? ci : ri);
    oct__g_remove(g, ci > ri ? ri : ci);
    *index -= 2;
    return OCT_OK;
}

static oct_status op_unary_node(imp *im, int kind)
{
    int x;
    OCT__TRY(in_value(im, 0, 0, &x, NULL));
    if (kind == OCT__GK_GAP && im->g->v[x].rank != 4)
        return unsupported(im->node, "input is rank %d; GlobalAveragePool runs on (N, C, H, W)", im->g->v[x].rank);
    oct__gnode *nd;
    int index = -1;
    if (kind == OCT__GK_GAP) OCT__TRY(merge_gap(im, x, &index));
    if (index < 0) OCT__TRY(emit(im, kind, 1, &x, &nd, &index));
    return finish(im, index, im->node->outputs[0]);
}

static oct_status op_resize(imp *im)
{
    const oct__onnx_node *n = im->node;
    int x;
    OCT__TRY(in_value(im, 0, 0, &x, NULL));
    const char *mode = attr_str(n, "mode", "nearest");
    if (strcmp(mode, "nearest") != 0) return unsupported(n, "attribute 'mode' = '%s' (nearest only)", mode);
    int upsample = strcmp(n->op_type, "Upsample") == 0;
    /* octcl's nearest resize is asymmetric + floor: source = floor(x / scale). At an
     * integer scale s, half_pixel (and pytorch_half_pixel) with rounding to the nearest
     * gives the same source, (x + 0.5) / s - 0.5 = floor(x / s) + (x mod s + 0.5) / s - 0.5
     * being strictly within 0.5 of it; those are taken when the scale is an integer. */
    int integer_only = 0;
    if (!upsample && im->opset >= 11) {
        const char *ctm = attr_str(n, "coordinate_transformation_mode", "half_pixel");
        const char *nm = attr_str(n, "nearest_mode", "round_prefer_floor");
        int half = strcmp(ctm, "half_pixel") == 0 || strcmp(ctm, "pytorch_half_pixel") == 0;
        int round = strcmp(nm, "round_prefer_floor") == 0 || strcmp(nm, "round_prefer_ceil") == 0;
        if (half && round) {
            integer_only = 1;
        } else if (half) {
            return unsupported(n, "attribute 'nearest_mode' = '%s' with '%s' coordinates (round_prefer_floor or "
                                  "round_prefer_ceil only)", nm, ctm);
        } else {
            if (strcmp(ctm, "asymmetric") != 0)
                return unsupported(n, "attribute 'coordinate_transformation_mode' = '%s' (asymmetric only)", ctm);
            if (strcmp(nm, "floor") != 0) return unsupported(n, "attribute 'nearest_mode' = '%s' (floor only)", nm);
        }
        if (attr_int(n, "exclude_outside", 0) != 0) return unsupported(n, "attribute 'exclude_outside' = 1");
    }
    const oct__onnx_tensor *scales = NULL, *sizes = NULL;
    double sc[4];
    int have_scales = 0;
    if (upsample && attr(n, "scales")) {
        const oct__onnx_attr *a = attr(n, "scales");
        if (a->type != OCT__ONNX_ATTR_FLOATS || a->nfloats != 4) return unsupported(n, "attribute 'scales' needs 4 values");
        for (int i = 0; i < 4; i++) sc[i] = a->floats[i];
        have_scales = 1;
    } else {
        int si = upsample || im->opset < 11 ? 1 : 2;
        OCT__TRY(in_const(im, si, 0, &scales));
        if (!upsample && im->opset >= 11) OCT__TRY(in_const(im, 3, 0, &sizes));
        if (scales && scales->count) {
            OCT__TRY(need_data(im, scales, "scales"));
            if (scales->count != 4) return unsupported(n, "scales has %zu values, expected 4", scales->count);
            for (int i = 0; i < 4; i++) sc[i] = cval(scales, (size_t)i);
            have_scales = 1;
        } else if (!sizes || sizes->count != 4) {
            return unsupported(n, "neither 4 scales nor 4 sizes are given as constants");
        }
    }
    oct__gdims d = im->g->v[x].d;
    int up_h = 0, up_w = 0, oh = 0, ow = 0, like = -1;
    oct__gexpr ex[2];
    memset(ex, 0, sizeof ex);
    if (have_scales) {
        if (sc[0] != 1 || sc[1] != 1) return unsupported(n, "scales (%g, %g) on batch / channels (1 only)", sc[0], sc[1]);
        if (sc[2] != floor(sc[2]) || sc[3] != floor(sc[3]) || sc[2] < 1 || sc[3] < 1 || sc[2] > 64 || sc[3] > 64)
            return unsupported(n, "scales (%g, %g): integer upscaling only", sc[2], sc[3]);
        up_h = (int)sc[2], up_w = (int)sc[3];
    } else {
        /* Sizes give a ratio that changes with the input size (and is rarely an integer). */
        if (integer_only)
            return unsupported(n, "sizes with half_pixel coordinates (integer scales only, where asymmetric + floor "
                                  "picks the same pixels)");
        OCT__TRY(need_data(im, sizes, "sizes"));
        int64_t s0 = (int64_t)cval(sizes, 0), s1 = (int64_t)cval(sizes, 1);
        if ((s0 != (im->g->in_n > 0 ? im->g->in_n : 1) && s0 != 1) || s1 != d.c)
            return unsupported(n, "sizes change batch or channels");
        double h = cval(sizes, 2), w = cval(sizes, 3);
        if (h < 1 || w < 1 || h > 1 << 20 || w > 1 << 20) return unsupported(n, "sizes (%g, %g) out of range", h, w);
        oh = (int)h, ow = (int)w;
        oct__gexpr e2, e3;
        int v2 = prov_of(im, 3, 2, &e2), v3 = prov_of(im, 3, 3, &e3);
        if (v2 >= 0 && v2 == v3 && im->g->v[v2].rank == 4)
            like = v2, ex[0] = e2, ex[1] = e3; /* computed from v's size: follows it at any input size */
        else if (find_sym(im, n->inputs[3])->shape_dep && !im->g->fixed_size_node[0])
            snprintf(im->g->fixed_size_node, sizeof im->g->fixed_size_node, NODE_FMT, NODE_ARGS(n));
    }
    oct__gnode *nd;
    int index, in[2] = {x, like};
    if (like >= 0) im->vuses[like]++; /* read for its size */
    OCT__TRY(emit(im, OCT__GK_RESIZE, like >= 0 ? 2 : 1, in, &nd, &index));
    nd->up_h = up_h, nd->up_w = up_w, nd->oh = like >= 0 ? -1 : oh, nd->ow = like >= 0 ? -1 : ow;
    nd->size_expr[0] = ex[0], nd->size_expr[1] = ex[1];
    return finish(im, index, n->outputs[0]);
}

static oct_status op_pad(imp *im)
{
    const oct__onnx_node *n = im->node;
    int x, base[4]; /* a Pad of a Pad adds to its pads (PyTorch's F.pad then a pool's own zero Pad) */
    OCT__TRY(in_value(im, 0, 1, &x, base));
    const char *mode = attr_str(n, "mode", "constant");
    if (strcmp(mode, "constant") != 0) return unsupported(n, "attribute 'mode' = '%s' (constant zeros only)", mode);
    long long p[8];
    double value = 0;
    int np = 0;
    if (im->opset < 11) {
        int present;
        OCT__TRY(attr_ints(im, "pads", 8, p, &present));
        np = present ? 8 : 0;
        value = attr_float(n, "value", 0);
    } else {
        const oct__onnx_tensor *t, *v;
        OCT__TRY(in_const(im, 1, 1, &t));
        OCT__TRY(need_data(im, t, "pads"));
        if (t->count != 8) return unsupported(n, "pads has %zu values (rank 4 only)", t->count);
        for (int i = 0; i < 8; i++) p[i] = (long long)cval(t, (size_t)i);
        np = 8;
        OCT__TRY(in_const(im, 2, 0, &v));
        if (v && v->count) value = cval(v, 0);
    }
    if (np != 8) return unsupported(n, "pads must give 8 values");
    if (value != 0) return unsupported(n, "constant value %g (zero padding only)", value);
    if (p[0] || p[1] || p[4] || p[5]) return unsupported(n, "padding of batch or channels");
    for (int i = 0; i < 8; i++)
        if (p[i] < 0 || p[i] > 4096) return unsupported(n, "pad %lld is out of range (0..4096)", p[i]);
    sym *s;
    OCT__TRY(pass_through(im, x, n->outputs[0]));
    s = &im->s[im->nsym - 1];
    s->pad[0] = base[0] + (int)p[2], s->pad[1] = base[1] + (int)p[3];
    s->pad[2] = base[2] + (int)p[6], s->pad[3] = base[3] + (int)p[7];
    s->padded = s->pad[0] || s->pad[1] || s->pad[2] || s->pad[3]; /* an all-zero Pad is the value itself */
    return OCT_OK;
}

static int channel_axis(long long axis, int rank) { return axis == 1 || axis == 1 - rank; }

static oct_status op_concat(imp *im)
{
    const oct__onnx_node *n = im->node;
    int in[256];
    if (n->ninputs < 1 || n->ninputs > 256) return unsupported(n, "%d inputs (1..256)", n->ninputs);
    for (int k = 0; k < n->ninputs; k++) OCT__TRY(in_value(im, k, 0, &in[k], NULL));
    long long axis = attr_int(n, "axis", 1);
    if (!channel_axis(axis, im->g->v[in[0]].rank)) return unsupported(n, "attribute 'axis' = %lld (channels only)", axis);
    if (n->ninputs == 1) return pass_through(im, in[0], n->outputs[0]);
    oct__gnode *nd;
    int index;
    OCT__TRY(emit(im, OCT__GK_CONCAT, n->ninputs, in, &nd, &index));
    return finish(im, index, n->outputs[0]);
}

/* A slice with no channels of x: only its shape may be read. */
static oct_status bind_empty(imp *im, int x, const char *out)
{
    sym *s = NULL;
    im->vuses[x]--;
    OCT__TRY(add_sym(im, out, &s));
    const oct__gvalue *v = &im->g->v[x];
    s->empty = 1;
    s->empty_of = x;
    s->edims[0] = im->g->in_n > 0 ? im->g->in_n : 1;
    s->edims[1] = 0, s->edims[2] = v->d.h, s->edims[3] = v->d.w;
    return OCT_OK;
}

/* A channel window [c0, c0 + c) of x as a view. */
static oct_status slice_channels(imp *im, int x, int c0, int c, const char *out)
{
    int full = c0 == 0 && c == im->g->v[x].d.c;
    if (full) return pass_through(im, x, out);
    oct__gnode *nd;
    int index;
    OCT__TRY(emit(im, OCT__GK_SLICE, 1, &x, &nd, &index));
    nd->c0 = c0, nd->co = c;
    return finish(im, index, out);
}

static oct_status op_slice(imp *im)
{
    const oct__onnx_node *n = im->node;
    int x;
    OCT__TRY(in_value(im, 0, 0, &x, NULL));
    long long st[8], en[8], ax[8] = {0}, sp[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    int c1, c2, c3 = 0, c4 = 0;
    OCT__TRY(read_axes(im, "starts", 1, st, &c1));
    OCT__TRY(read_axes(im, "ends", 2, en, &c2));
    OCT__TRY(read_axes(im, "axes", 3, ax, &c3));
    if (im->opset >= 10) OCT__TRY(read_axes(im, "steps", 4, sp, &c4));
    if (!c3) {
        c3 = c1;
        for (int i = 0; i < c1; i++) ax[i] = i;
    }
    const oct__gvalue *v = &im->g->v[x];
    int c = v->d.c, lo = 0, hi = c, dims[4] = {1, v->d.c, v->d.h, v->d.w};
    if (c1 != c2 || c1 != c3 || (c4 && c4 != c1)) return unsupported(n, "starts / ends / axes / steps disagree");
    for (int i = 0; i < c1; i++) {
        long long a = ax[i] < 0 ? ax[i] + v->rank : ax[i];
        if (a < 0 || a >= v->rank) return unsupported(n, "axis %lld of a rank %d input", ax[i], v->rank);
        long long len = a == 0 ? 0x7fffffff : dims[a];
        long long b = st[i] < 0 ? st[i] + len : st[i], e = en[i] < 0 ? en[i] + len : en[i];
        b = b < 0 ? 0 : b > len ? len : b;
        e = e < 0 ? 0 : e > len ? len : e;
        if (sp[i] != 1) return unsupported(n, "step %lld on axis %lld (1 only)", sp[i], a);
        if (a != 1) {
            if (b == 0 && e >= len) continue; /* the whole axis */
            return unsupported(n, "slicing axis %lld (channels only)", a);
        }
        lo = (int)b, hi = (int)e;
    }
    if (hi <= lo) return bind_empty(im, x, n->outputs[0]);
    return slice_channels(im, x, lo, hi - lo, n->outputs[0]);
}

static oct_status op_split(imp *im)
{
    const oct__onnx_node *n = im->node;
    int x;
    OCT__TRY(in_value(im, 0, 0, &x, NULL));
    long long axis = attr_int(n, "axis", 0);
    if (!channel_axis(axis, im->g->v[x].rank)) return unsupported(n, "attribute 'axis' = %lld (channels only)", axis);
    long long sz[8];
    int ns = 0;
    OCT__TRY(read_axes(im, "split", 1, sz, &ns));
    int c = im->g->v[x].d.c;
    if (n->noutputs > 8) return unsupported(n, "%d outputs (8 at most)", n->noutputs);
    if (!ns) {
        if (c % n->noutputs) return unsupported(n, "%d channels do not split evenly in %d", c, n->noutputs);
        for (int i = 0; i < n->noutputs; i++) sz[i] = c / n->noutputs;
        ns = n->noutputs;
    }
    if (ns != n->noutputs) return unsupported(n, "%d split sizes for %d outputs", ns, n->noutputs);
    long long total = 0;
    for (int i = 0; i < ns; i++) total += sz[i] < 0 ? -1000000000LL : sz[i];
    if (total != c) return unsupported(n, "split sizes add up to %lld, the input has %d channels", total, c);
    /* Each output reads the input once more. */
    im->vuses[x] += ns - 1;
    int c0 = 0;
    for (int i = 0; i < ns; i++) {
        if (sz[i] > 0) OCT__TRY(slice_channels(im, x, c0, (int)sz[i], n->outputs[i]));
        else OCT__TRY(bind_empty(im, x, n->outputs[i]));
        c0 += (int)sz[i];
    }
    return OCT_OK;
}

static oct_status flatten(imp *im, int x, const char *out)
{
    if (im->g->v[x].rank == 2) return pass_through(im, x, out);
    oct__gnode *nd;
    int index;
    OCT__TRY(emit(im, OCT__GK_FLATTEN, 1, &x, &nd, &index));
    return finish(im, index, out);
}

static oct_status op_flatten(imp *im)
{
    int x;
    OCT__TRY(in_value(im, 0, 0, &x, NULL));
    long long axis = attr_int(im->node, "axis", 1);
    if (axis != 1 && axis != 1 - im->g->v[x].rank) /* -3 of (N, C, H, W) is 1 */
        return unsupported(im->node, "attribute 'axis' = %lld (1 only)", axis);
    return flatten(im, x, im->node->outputs[0]);
}

static oct_status op_reshape(imp *im)
{
    const oct__onnx_node *n = im->node;
    int x;
    const oct__onnx_tensor *t;
    OCT__TRY(in_value(im, 0, 0, &x, NULL));
    OCT__TRY(in_const(im, 1, 1, &t));
    OCT__TRY(need_data(im, t, "shape"));
    const oct__gvalue *v = &im->g->v[x];
    long long f = (long long)v->d.c * v->d.h * v->d.w, batch = im->g->in_n > 0 ? im->g->in_n : 1;
    long long d0 = t->count ? (long long)cval(t, 0) : 0;
    int batch_ok = d0 == batch || d0 == -1 || d0 == 0;
    if (t->count == 2 && batch_ok) {
        long long d1 = (long long)cval(t, 1);
        if (d1 == -1 || d1 == f) return flatten(im, x, n->outputs[0]);
    }
    if (t->count == 4 && batch_ok && v->rank == 4 && cval(t, 1) == v->d.c && cval(t, 2) == v->d.h &&
        cval(t, 3) == v->d.w)
        return pass_through(im, x, n->outputs[0]);
    char buf[160];
    size_t o = 0;
    for (size_t i = 0; i < t->count && i < 8 && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%lld", i ? ", " : "", (long long)cval(t, i));
    return unsupported(n, "target shape (%s) (only (N, -1)-style flattening)", o ? buf : "");
}

/* Gemm (transA 0, alpha = beta = 1) and MatMul with a constant weight. */
static oct_status op_linear(imp *im, int gemm)
{
    const oct__onnx_node *n = im->node;
    int x;
    const oct__onnx_tensor *B, *C = NULL;
    OCT__TRY(in_value(im, 0, 0, &x, NULL));
    OCT__TRY(in_const(im, 1, 1, &B));
    OCT__TRY(need_float(im, B, "weight"));
    long long transb = 0;
    double alpha = 1, beta = 1; /* y = alpha x B + beta C: folded into the weight and bias */
    if (gemm) {
        OCT__TRY(in_const(im, 2, 0, &C));
        if (C) OCT__TRY(need_float(im, C, "bias"));
        if (attr_int(n, "transA", 0) != 0) return unsupported(n, "attribute 'transA' = 1");
        transb = attr_int(n, "transB", 0);
        alpha = attr_float(n, "alpha", 1), beta = attr_float(n, "beta", 1);
        if (!isfinite(alpha) || !isfinite(beta)) return unsupported(n, "alpha = %g, beta = %g", alpha, beta);
        if (beta == 0) C = NULL;
    }
    const oct__gvalue *v = &im->g->v[x];
    if (v->rank != 2) return unsupported(n, "input is rank %d; a (N, features) input is expected", v->rank);
    if (B->ndim != 2) return unsupported(n, "weight has rank %d (2 only)", B->ndim);
    long long in = transb ? B->dims[1] : B->dims[0], out = transb ? B->dims[0] : B->dims[1];
    if (in != v->d.c)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, NODE_FMT ": weight takes %lld features, the input has %d", NODE_ARGS(n),
                         in, v->d.c);
    /* A bias of one value, or one per output ((F) or (1, F)), broadcasts over the batch. */
    if (C && C->count != 1 && ((long long)C->count != out || (C->ndim == 2 && C->dims[0] != 1) || C->ndim > 2))
        return unsupported(n, "bias of %zu values for %lld outputs (one value or one per output only)", C->count, out);
    oct__gnode *nd;
    int index;
    OCT__TRY(emit(im, OCT__GK_LINEAR, 1, &x, &nd, &index));
    nd->fin = (int)in, nd->fout = (int)out;
    if (!(nd->w = oct__malloc(B->count * sizeof(float))) || !(nd->b = oct__calloc((size_t)out, sizeof(float))))
        return oct__fail(OCT_ERR_HOST_MEMORY, "onnx import: out of host memory for %s's weights", node_name(n));
    for (long long o = 0; o < out; o++)
        for (long long i = 0; i < in; i++)
            nd->w[o * in + i] = (float)(alpha * (transb ? B->f[o * in + i] : B->f[i * out + o]));
    if (C)
        for (long long o = 0; o < out; o++) nd->b[o] = (float)(beta * C->f[C->count == 1 ? 0 : o]);
    OCT__TRY(count_params(im, B));
    OCT__TRY(count_params(im, C));
    return finish(im, index, n->outputs[0]);
}

static oct_status op_constant(imp *im)
{
    const oct__onnx_node *n = im->node;
    const oct__onnx_attr *a = attr(n, "value");
    if (a && a->type == OCT__ONNX_ATTR_TENSOR && a->t) return bind_const(im, n->outputs[0], a->t, NULL);
    oct__onnx_tensor *r = NULL;
    if ((a = attr(n, "value_float")) || (a = attr(n, "value_int"))) {
        OCT__TRY(new_const(im, a->type == OCT__ONNX_ATTR_FLOAT, 0, NULL, &r));
        cset(r, 0, a->type == OCT__ONNX_ATTR_FLOAT ? a->f : (double)a->i);
        return bind_const(im, n->outputs[0], NULL, r);
    }
    if ((a = attr(n, "value_floats")) || (a = attr(n, "value_ints"))) {
        int isf = a->type == OCT__ONNX_ATTR_FLOATS;
        int64_t len = isf ? a->nfloats : a->nints;
        OCT__TRY(new_const(im, isf, 1, &len, &r));
        for (int64_t i = 0; i < len; i++) cset(r, (size_t)i, isf ? a->floats[i] : (double)a->ints[i]);
        return bind_const(im, n->outputs[0], NULL, r);
    }
    return unsupported(n, "no supported value attribute (value, value_float(s), value_int(s))");
}

static oct_status op_identity(imp *im)
{
    const oct__onnx_node *n = im->node;
    if (strcmp(n->op_type, "Dropout") == 0) {
        if (n->noutputs > 1 && *n->outputs[1] && uses(im, n->outputs[1])) return unsupported(n, "output 'mask' is read");
        if (im->opset < 7 && attr_int(n, "is_test", 0) != 1)
            return unsupported(n, "attribute 'is_test' = %lld (training dropout; inference only)", attr_int(n, "is_test", 0));
        const oct__onnx_tensor *tm = NULL;
        if (n->ninputs > 2 && *n->inputs[2]) {
            OCT__TRY(in_const(im, 2, 1, &tm));
            if (tm->count && cval(tm, 0) != 0) return unsupported(n, "input 'training_mode' is true (inference only)");
        }
    }
    if (is_const(im, 0)) {
        const oct__onnx_tensor *t;
        OCT__TRY(in_const(im, 0, 1, &t));
        return bind_const(im, n->outputs[0], t, NULL);
    }
    int x, pad[4];
    OCT__TRY(in_value(im, 0, 1, &x, pad));
    OCT__TRY(pass_through(im, x, n->outputs[0]));
    sym *s = &im->s[im->nsym - 1];
    s->padded = pending(pad);
    memcpy(s->pad, pad, sizeof s->pad);
    return OCT_OK;
}

/* Opsets 1 to 6 (PyTorch's oldest exports; ONNX's pytorch-converted tests are opset 6):
 * the ops octcl runs mean there what they mean at 7 but for these attributes and ops
 * ('consumed_inputs' is ignored; Pad-1's 'paddings' is not read, so such a Pad is
 * unsupported). */
static oct_status legacy_opset(imp *im)
{
    const oct__onnx_node *n = im->node;
    const char *op = n->op_type;
    if (im->opset >= 7) return OCT_OK; /* BatchNormalization's and Dropout's is_test: op_bn, op_identity */
    if ((strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0 || strcmp(op, "Div") == 0) &&
        attr_int(n, "broadcast", 0) != 0) {
        /* Legacy broadcasting aligns the second operand at 'axis', not at the end: only a
         * constant of one value (or operands of equal shapes, which Add checks) means the
         * same either way. */
        for (int k = 0; k < n->ninputs; k++) {
            sym *s = *n->inputs[k] ? find_sym(im, n->inputs[k]) : NULL;
            if (s && s->t && s->t->count != 1)
                return unsupported(n, "attribute 'broadcast' = 1 at opset %lld with a constant of %zu values",
                                   (long long)im->opset, s->t->count);
        }
    }
    if (strcmp(op, "Upsample") == 0) return unsupported(n, "Upsample at opset %lld (7 and later)", (long long)im->opset);
    if (strcmp(op, "Cast") == 0 && im->opset < 6)
        return unsupported(n, "Cast at opset %lld ('to' as a string; 6 and later)", (long long)im->opset);
    if (strcmp(op, "Reshape") == 0 && im->opset < 5)
        return unsupported(n, "Reshape at opset %lld ('shape' as an attribute; 5 and later)", (long long)im->opset);
    return OCT_OK;
}

static oct_status import_node(imp *im)
{
    const oct__onnx_node *n = im->node;
    const char *op = n->op_type;
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx") != 0)
        return unsupported(n, "domain '%s' (the default ONNX domain only)", n->domain);
    if (n->noutputs < 1) return unsupported(n, "no outputs");
    OCT__TRY(legacy_opset(im));
    int done;
    OCT__TRY(fold_const(im, &done));
    if (done) return OCT_OK;
    if (strcmp(op, "Conv") == 0) return op_conv(im);
    if (strcmp(op, "BatchNormalization") == 0) return op_bn(im);
    if (strcmp(op, "Relu") == 0) return op_relu(im);
    if (strcmp(op, "Add") == 0) return op_add(im);
    if (strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0 || strcmp(op, "Div") == 0) return op_arith(im);
    if (strcmp(op, "MaxPool") == 0) return op_pool(im, 1);
    if (strcmp(op, "AveragePool") == 0) return op_pool(im, 0);
    if (strcmp(op, "GlobalAveragePool") == 0) return op_unary_node(im, OCT__GK_GAP);
    if (strcmp(op, "GlobalMaxPool") == 0) return op_global_max(im);
    if (strcmp(op, "Resize") == 0 || strcmp(op, "Upsample") == 0) return op_resize(im);
    if (strcmp(op, "Pad") == 0) return op_pad(im);
    if (strcmp(op, "Concat") == 0) return op_concat(im);
    if (strcmp(op, "Slice") == 0) return op_slice(im);
    if (strcmp(op, "Split") == 0) return op_split(im);
    if (strcmp(op, "Flatten") == 0) return op_flatten(im);
    if (strcmp(op, "Reshape") == 0) return op_reshape(im);
    if (strcmp(op, "Gemm") == 0) return op_linear(im, 1);
    if (strcmp(op, "MatMul") == 0) return op_linear(im, 0);
    if (strcmp(op, "Constant") == 0) return op_constant(im);
    if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0) return op_identity(im);
    return unsupported(n, "op '%s' is not supported", op);
}

/* ------------------------------------------------------------------------------------ */
/* The model                                                                              */

oct_status oct__onnx_import(oct_context *ctx, const oct__onnx_model *m, const char *path, oct__graph **out)
{
    *out = NULL;
    imp im = {.m = m};
    im.opset = m->opset ? m->opset : 18;
    oct_status s = oct__graph_create(ctx, &im.g);
    if (s != OCT_OK) return s;
    oct__graph *g = im.g;
    if (m->opset > 18) {
        s = oct__fail(OCT_ERR_UNSUPPORTED, "%s: opset %lld (1..18 supported)", path, (long long)m->opset);
        goto done;
    }
    for (int i = 0; i < m->ninits && s == OCT_OK; i++) s = bind_const(&im, m->inits[i].name, &m->inits[i], NULL);
    if (s != OCT_OK) goto done;
    if (m->ninputs != 1 || m->noutputs != 1) {
        s = oct__fail(OCT_ERR_UNSUPPORTED, "%s: the graph has %d inputs and %d outputs (one of each supported)", path,
                      m->ninputs, m->noutputs);
        goto done;
    }
    const oct__onnx_value *in = &m->inputs[0];
    /* (N, C, H, W), or (N, F) as a rank 2 value of F channels at 1 x 1. */
    if ((in->ndim != 4 && in->ndim != 2) || (in->elem_type && in->elem_type != OCT__ONNX_FLOAT)) {
        s = oct__fail(OCT_ERR_UNSUPPORTED,
                      "%s: input '%s' is rank %d of type %d; a float (N, C, H, W) or (N, F) input is expected", path,
                      in->name, in->ndim, in->elem_type);
        goto done;
    }
    for (int d = 1; d < in->ndim; d++)
        if (in->dims[d] < 1 || in->dims[d] > 1 << 20) {
            s = oct__fail(OCT_ERR_UNSUPPORTED, "%s: input '%s' dim %d is %s; channels, height and width must be fixed",
                          path, in->name, d, in->dim_param[d] ? in->dim_param[d] : "unknown");
            goto done;
        }
    g->in_n = in->dims[0] > 0 && in->dims[0] < 1 << 20 ? (int)in->dims[0] : -1;
    g->in_h = in->ndim == 4 ? (int)in->dims[2] : 1, g->in_w = in->ndim == 4 ? (int)in->dims[3] : 1;
    if ((s = oct__g_value(g, in->name, in->ndim, (oct__gdims){(int)in->dims[1], g->in_h, g->in_w}, -1, &g->input)) !=
        OCT_OK)
        goto done;
    if ((s = bind_value(&im, in->name, g->input)) != OCT_OK) goto done;
    for (int i = 0; i < m->nnodes && s == OCT_OK; i++) {
        im.node = &m->nodes[i];
        s = import_node(&im);
    }
    if (s != OCT_OK) goto done;
    sym *o = find_sym(&im, m->outputs[0].name);
    if (o && o->value >= 0 && o->padded && (s = materialize_pad(&im, o)) != OCT_OK) goto done;
    if (!o || o->value < 0 || o->padded) {
        s = oct__fail(o ? OCT_ERR_UNSUPPORTED : OCT_ERR_MODEL, "%s: output '%s' is %s", path, m->outputs[0].name,
                      !o ? "written by no node" : o->padded ? "a Pad's output" : "a constant");
        goto done;
    }
    g->output = o->value;
    int root = g->output;
    while (g->v[root].view_of >= 0) root = g->v[root].view_of;
    if (root == g->input) {
        /* The output is (a view of) the input: a copy gives it storage of its own. */
        oct__gnode *nd;
        int index;
        im.node = NULL;
        if ((s = oct__g_node(g, OCT__GK_AFFINE, "output copy", &nd, &index)) != OCT_OK ||
            (s = oct__g_set_inputs(g, nd, 1, &g->output)) != OCT_OK)
            goto done;
        nd->nout = 1;
        nd->co = g->v[g->output].d.c;
        char name[160];
        snprintf(name, sizeof name, "%s (copy)", m->outputs[0].name);
        const char *names[1] = {name};
        if ((s = oct__g_finish_node(g, index, names)) != OCT_OK) goto done;
        g->output = g->nd[index].out[0];
    }
    if ((s = oct__graph_shapes(g, g->in_h, g->in_w)) != OCT_OK) goto done;
    if ((s = oct__graph_fuse_octconv(g, &g->octconv_layers)) != OCT_OK) goto done;
    s = oct__graph_upload(g);
done:
    for (int i = 0; i < im.nsym; i++) free_owned(im.s[i].owned);
    free(im.s);
    free(im.vuses);
    free(im.counted);
    if (s != OCT_OK) {
        oct__graph_free(g);
        return s;
    }
    *out = g;
    return OCT_OK;
}

oct_status oct__onnx_load(oct_context *ctx, const char *path, oct__graph **out)
{
    oct__onnx_model *m = NULL;
    *out = NULL;
    OCT__TRY(oct__onnx_read(path, &m));
    oct_status s = oct__onnx_import(ctx, m, path, out);
    oct__onnx_free(m);
    return s;
}
