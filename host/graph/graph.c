/* graph.c — building a graph, and the walks everything about a model derives from:
 * shapes, MACs, the storage plan (slots reused by lifetime), activation bytes, the
 * forward pass with chunking under a memory limit and halving when the backend runs out
 * of memory (OCT_ERR_DEVICE_MEMORY, on every backend), the shape trace, and the timing of
 * each node for oct_model_profile.
 */
#include "graph/graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const oct__gkind *const oct__kinds[OCT__GK_COUNT] = {
    [OCT__GK_CONV] = &oct__gk_conv,       [OCT__GK_POOL] = &oct__gk_pool,     [OCT__GK_GAP] = &oct__gk_gap,
    [OCT__GK_ADD] = &oct__gk_add,         [OCT__GK_AFFINE] = &oct__gk_affine, [OCT__GK_RESIZE] = &oct__gk_resize,
    [OCT__GK_CONCAT] = &oct__gk_concat,   [OCT__GK_SLICE] = &oct__gk_slice,   [OCT__GK_FLATTEN] = &oct__gk_flatten,
    [OCT__GK_LINEAR] = &oct__gk_linear,
};

const oct__gkind *oct__gkind_of(int kind) { return oct__kinds[kind]; }

static char *dupstr(const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *d = oct__malloc(n);
    if (d) memcpy(d, s ? s : "", n);
    return d;
}

/* ------------------------------------------------------------------------------------ */
/* Building                                                                               */

oct_status oct__graph_create(oct_context *ctx, oct__graph **out)
{
    oct__graph *g = oct__calloc(1, sizeof *g);
    if (!g) return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory");
    g->ctx = ctx;
    g->input = g->output = -1;
    g->in_n = -1;
    *out = g;
    return OCT_OK;
}

static void release_plan(oct__graph *g)
{
    for (int i = 0; i < g->nslots; i++) oct__buf_free(g->ctx, &g->slots[i]);
    free(g->slots);
    g->slots = NULL;
    g->nslots = 0;
    oct__buf_free(g->ctx, &g->inbuf);
    oct__buf_free(g->ctx, &g->scratch);
    g->pn = g->ph = g->pw = 0;
    g->depth_end = 0, g->depth_m = 0;
}

void oct__graph_free(oct__graph *g)
{
    if (!g) return;
    release_plan(g);
    for (int i = 0; i < g->nn; i++) {
        oct__gnode *nd = &g->nd[i];
        const oct__gkind *k = oct__kinds[nd->kind];
        if (k->release) k->release(g, nd);
        free(nd->name);
        free(nd->fused);
        free(nd->in);
    }
    for (int i = 0; i < g->nv; i++) free(g->v[i].name);
    free(g->traces);
    free(g->nd);
    free(g->v);
    free(g);
}

oct_status oct__g_value(oct__graph *g, const char *name, int rank, oct__gdims d, int producer, int *id)
{
    if (g->nv == g->cap_v) {
        int cap = g->cap_v ? 2 * g->cap_v : 64;
        oct__gvalue *v = oct__realloc(g->v, (size_t)cap * sizeof *v);
        if (!v) return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory for values");
        g->v = v, g->cap_v = cap;
    }
    oct__gvalue *v = &g->v[g->nv];
    memset(v, 0, sizeof *v);
    if (!(v->name = dupstr(name))) return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory");
    v->rank = rank;
    v->d = d;
    v->producer = producer;
    v->view_of = -1;
    v->slot = -1;
    *id = g->nv++;
    return OCT_OK;
}

oct_status oct__g_node(oct__graph *g, int kind, const char *name, oct__gnode **nd, int *index)
{
    if (g->nn == g->cap_n) {
        int cap = g->cap_n ? 2 * g->cap_n : 64;
        oct__gnode *n = oct__realloc(g->nd, (size_t)cap * sizeof *n);
        if (!n) return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory for nodes");
        g->nd = n, g->cap_n = cap;
    }
    oct__gnode *n = &g->nd[g->nn];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->res = n->up = n->pair = n->side = -1;
    n->dh = n->dw = n->sh = n->sw = n->groups = 1;
    if (!(n->name = dupstr(name))) return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory");
    *nd = n;
    *index = g->nn++;
    return OCT_OK;
}

oct_status oct__g_set_inputs(oct__graph *g, oct__gnode *nd, int nin, const int *in)
{
    (void)g;
    int *a = oct__malloc((size_t)(nin ? nin : 1) * sizeof *a);
    if (!a) return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory");
    memcpy(a, in, (size_t)nin * sizeof *a);
    free(nd->in);
    nd->in = a;
    nd->nin = nin;
    return OCT_OK;
}

oct_status oct__g_note_fused(oct__gnode *nd, const char *op, const char *name)
{
    size_t old = nd->fused ? strlen(nd->fused) : 0, add = strlen(op) + strlen(name) + 4;
    char *f = oct__realloc(nd->fused, old + add);
    if (!f) return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory");
    snprintf(f + old, add, "%s%s %s", old ? ", " : "", op, name);
    nd->fused = f;
    return OCT_OK;
}

oct_status oct__g_finish_node(oct__graph *g, int index, const char *const *names)
{
    oct__gnode *nd = &g->nd[index];
    oct__gdims d[2];
    OCT__TRY(oct__kinds[nd->kind]->shape(g, nd, d));
    for (int i = 0; i < nd->nout; i++) {
        int rank = nd->kind == OCT__GK_LINEAR || nd->kind == OCT__GK_FLATTEN ? 2 : 4;
        if (nd->kind == OCT__GK_AFFINE || nd->kind == OCT__GK_ADD) rank = g->v[nd->in[0]].rank;
        OCT__TRY(oct__g_value(g, names[i], rank, d[i], index, &nd->out[i]));
        nd = &g->nd[index];
        if (nd->kind == OCT__GK_SLICE || nd->kind == OCT__GK_FLATTEN) {
            g->v[nd->out[i]].view_of = nd->in[0];
            g->v[nd->out[i]].c0 = nd->kind == OCT__GK_SLICE ? nd->c0 : 0;
        }
    }
    return OCT_OK;
}

void oct__g_move_to_end(oct__graph *g, int index)
{
    oct__gnode tmp = g->nd[index];
    memmove(&g->nd[index], &g->nd[index + 1], (size_t)(g->nn - index - 1) * sizeof tmp);
    g->nd[g->nn - 1] = tmp;
    for (int i = 0; i < g->nv; i++) {
        int *p = &g->v[i].producer;
        if (*p == index)
            *p = g->nn - 1;
        else if (*p > index)
            (*p)--;
    }
}

void oct__g_move_later(oct__graph *g, int from, int to)
{
    oct__gnode tmp = g->nd[from];
    memmove(&g->nd[from], &g->nd[from + 1], (size_t)(to - from) * sizeof tmp);
    g->nd[to] = tmp;
    /* old index -> new: from -> to, (from, to] -> one less, the rest kept */
#define OCT__MOVED(i) ((i) == from ? to : (i) > from && (i) <= to ? (i) - 1 : (i))
    for (int i = 0; i < g->nv; i++)
        if (g->v[i].producer >= 0) g->v[i].producer = OCT__MOVED(g->v[i].producer);
    for (int i = 0; i < g->nn; i++) {
        if (g->nd[i].pair >= 0) g->nd[i].pair = OCT__MOVED(g->nd[i].pair);
        if (g->nd[i].side >= 0) g->nd[i].side = OCT__MOVED(g->nd[i].side);
    }
#undef OCT__MOVED
    for (int i = 0; i < g->ntraces; i++)
        if (g->traces[i].after >= from && g->traces[i].after <= to) g->traces[i].after = to;
}

void oct__g_remove(oct__graph *g, int index)
{
    oct__gnode *nd = &g->nd[index];
    const oct__gkind *k = oct__kinds[nd->kind];
    if (k->release) k->release(g, nd);
    free(nd->name);
    free(nd->fused);
    free(nd->in);
    memmove(&g->nd[index], &g->nd[index + 1], (size_t)(g->nn - index - 1) * sizeof *nd);
    g->nn--;
    for (int i = 0; i < g->nv; i++) {
        int *p = &g->v[i].producer;
        if (*p == index)
            *p = -2;
        else if (*p > index)
            (*p)--;
    }
}

oct_status oct__g_trace_point(oct__graph *g, int after, const char *label, int v, int c)
{
    oct__gtrace *t = oct__realloc(g->traces, (size_t)(g->ntraces + 1) * sizeof *t);
    if (!t) return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory for the trace");
    g->traces = t;
    t += g->ntraces++;
    memset(t, 0, sizeof *t);
    t->after = after;
    snprintf(t->label, sizeof t->label, "%s", label);
    t->v = v;
    t->c = c;
    return OCT_OK;
}

int oct__g_readers(const oct__graph *g, int v)
{
    int count = v == g->output;
    for (int i = 0; i < g->nn; i++)
        for (int k = 0; k < g->nd[i].nin; k++) count += g->nd[i].in[k] == v;
    return count;
}

oct_status oct__gfail_shape(const oct__gnode *nd, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return oct__fail(OCT_ERR_SHAPE_MISMATCH, "node '%s' (%s): %s", nd->name, oct__kinds[nd->kind]->name, msg);
}

/* ------------------------------------------------------------------------------------ */
/* Walks                                                                                  */

oct_status oct__graph_shapes(oct__graph *g, int h, int w)
{
    if (g->input < 0 || g->output < 0) return oct__fail(OCT_ERR_NOT_READY, "graph: no input or output");
    if (g->fixed_size_node[0] && (h != g->in_h || w != g->in_w))
        return oct__fail(OCT_ERR_UNSUPPORTED,
                         "%s computes its output size from the shapes the model was exported at (%dx%d); it runs at "
                         "that size only, not %dx%d",
                         g->fixed_size_node, g->in_h, g->in_w, h, w);
    g->v[g->input].d.h = h;
    g->v[g->input].d.w = w;
    for (int i = 0; i < g->nn; i++) {
        oct__gnode *nd = &g->nd[i];
        oct__gdims d[2];
        OCT__TRY(oct__kinds[nd->kind]->shape(g, nd, d));
        for (int k = 0; k < nd->nout; k++) {
            if (d[k].c < 1 || d[k].h < 1 || d[k].w < 1)
                return oct__gfail_shape(nd, "output %d would be (%d, %d, %d) for a %dx%d input", k, d[k].c, d[k].h,
                                        d[k].w, h, w);
            g->v[nd->out[k]].d = d[k];
        }
    }
    return OCT_OK;
}

oct_status oct__graph_upload(oct__graph *g)
{
    for (int i = 0; i < g->nn; i++) {
        const oct__gkind *k = oct__kinds[g->nd[i].kind];
        if (k->upload) OCT__TRY(k->upload(g, &g->nd[i]));
    }
    return OCT_OK;
}

long long oct__graph_macs(oct__graph *g, int h, int w)
{
    if (oct__graph_shapes(g, h, w) != OCT_OK) return 0;
    long long macs = 0;
    for (int i = 0; i < g->nn; i++) {
        const oct__gkind *k = oct__kinds[g->nd[i].kind];
        if (k->macs) macs += k->macs(g, &g->nd[i]);
    }
    return macs;
}

int oct__g_root(const oct__graph *g, int v)
{
    while (g->v[v].view_of >= 0) v = g->v[v].view_of;
    return v;
}

static size_t value_floats(const oct__graph *g, int v, int n)
{
    const oct__gdims *d = &g->v[v].d;
    return (size_t)n * (size_t)d->c * (size_t)d->h * (size_t)d->w;
}

/* Weight floats of node nd (a conv's or a linear layer's; 0 for the rest). */
static size_t node_weights(const oct__gnode *nd)
{
    if (nd->kind == OCT__GK_CONV && nd->groups > 0)
        return (size_t)nd->co * (size_t)(nd->ci / nd->groups) * (size_t)nd->kh * (size_t)nd->kw;
    if (nd->kind == OCT__GK_LINEAR) return (size_t)nd->fin * (size_t)nd->fout;
    return 0;
}

/* Floats one image of nd's inputs and outputs hold at the current dims. */
static size_t node_image_floats(const oct__graph *g, const oct__gnode *nd)
{
    size_t f = 0;
    for (int k = 0; k < nd->nin; k++) f += value_floats(g, nd->in[k], 1);
    for (int k = 0; k < nd->nout; k++) f += value_floats(g, nd->out[k], 1);
    return f;
}

/* The depth-first groups of a pass of n images at the current dims (oct__graph.depth_end,
 * depth_m), from the backend's budgets (oct__depth_budget): `far`, the bytes beyond which
 * a layer's inputs and outputs go out to memory, `budget`, the bytes its cores keep near,
 * and the most images a group takes. The leading nodes whose inputs and outputs for the
 * whole batch outgrow `far` run in groups of images that fit `budget`, each group through all
 * of them before the next: a group's activations stay in the caches from one node to
 * the next instead of going out to memory and back. Each group reads the nodes' weights
 * again, so the groups end before the first node whose weights outweigh a group's
 * inputs and outputs (a ResNet's later stages), and before a linear node (its op takes
 * whole buffers); the rest run on the whole batch. A pair (conv2d_pair and its
 * side; a conv and the pool it runs) is never cut apart. The bits do not change: no
 * image's values depend on the others in the batch. */
static void depth_plan(oct__graph *g, int n, int *end_out, int *m_out)
{
    oct_context *ctx = g->ctx;
    oct__depth_budget b = {0, 0, 0};
    if (n > 1 && ctx->be->depth) ctx->be->depth(ctx, &b);
    size_t budget = b.group / sizeof(float), far = b.batch / sizeof(float), most = 0;
    int end = 0;
    *end_out = 0, *m_out = n;
    if (budget == 0) return;
    /* Up to the last node whose whole batch outgrows `far`, before any whose weights
     * outweigh the whole batch's activations. */
    for (int i = 0; i < g->nn && !(g->depth_cap > 0 && i >= g->depth_cap); i++) {
        const oct__gnode *nd = &g->nd[i];
        size_t a = node_image_floats(g, nd);
        /* A linear op reads and writes whole buffers, not views from an image on. */
        if (nd->kind == OCT__GK_LINEAR || node_weights(nd) > (size_t)n * a) break;
        if ((size_t)n * a <= far) continue;
        if (a > most) most = a;
        end = i + 1;
    }
    /* Images a group: the backend's `images`, halved while the largest node's for the
     * group outgrow the budget, and at least 2: groups of one image ran no faster than
     * the whole batch (OctNetMini alpha 0.5, batch 32, one thread: 25.08 ms against 25.0;
     * two images 22.49). */
    size_t m = b.images > 2 ? (size_t)b.images : 2;
    while (m > 2 && m * most > budget) m = m / 2 > 2 ? m / 2 : 2;
    if (end == 0 || m * most > budget) return;
    if (m >= (size_t)n) return;
    for (int i = 0; i < end; i++) /* up to the first whose weights outweigh a group's activations */
        if (node_weights(&g->nd[i]) > m * node_image_floats(g, &g->nd[i])) end = i;
    /* Never between a pair's two nodes, a pair and its side, or a conv and its pool. */
    for (int moved = 1; moved && end > 0;) {
        moved = 0;
        for (int i = 0; i < g->nn; i++) {
            const oct__gnode *nd = &g->nd[i];
            int links[3] = {nd->pair, nd->side, nd->pool_next ? i + 1 : -1};
            for (int k = 0; k < 3; k++) {
                int j = links[k];
                if (j < 0 || (i < end) == (j < end)) continue;
                end = i < j ? i : j;
                moved = 1;
            }
        }
    }
    if (end == 0) return;
    *end_out = end, *m_out = (int)m;
}

/* The conv node that may start value v, which node i writes first, from its residual and
 * add onto it (oct__gnode.res_first): node i itself, or the conv2d_pair partner that runs
 * node i's convolution with its own (a bottleneck's low band); -1: none. The residual is
 * a value of its own (not a window, not the graph input) made before node i, so that it
 * has storage to give (a stage's first block makes its downsampled residual after the
 * pair's first convolution, and keeps the residual in the epilogue there); that node is
 * its last reader (g->v[].last set), and no other input of the node shares its storage.
 * Decided by the graph alone, never by the batch or the depth-first groups, so that an
 * image's bits do not change with them: the sums are the same whether v takes the
 * residual's storage or starts as a copy of it. */
static int res_first_node(const oct__graph *g, int i, int v)
{
    const oct__gnode *a = &g->nd[i];
    int runs = i;
    if (a->kind != OCT__GK_CONV || a->nout != 1 || a->out[0] != v || a->acc || a->sided) return -1;
    if (a->paired) {
        runs = oct__gconv_pair_runner(g, i);
        if (runs < 0) return -1;
    } else if (a->pair >= 0) {
        return -1;
    }
    const oct__gnode *nd = &g->nd[runs];
    if (nd->res < 0) return -1;
    int r = nd->in[nd->res];
    if (r == g->input || g->v[r].view_of >= 0 || g->v[r].last != runs || g->v[r].producer >= i) return -1;
    for (int k = 0; k < nd->nin; k++)
        if (k != nd->res && oct__g_root(g, nd->in[k]) == r) return -1;
    return runs;
}

/* Storage plan at the current dims: every value that owns storage gets a slot; a slot is
 * reused once the last reader of its value (or of a view of it) has run. The graph
 * input has a buffer of its own (written whole), so does the output's root. Returns
 * the slot sizes (floats) in *sizes (caller frees) and their number. With depth-first
 * groups (nodes [0, depth_end)), a value those nodes make and a later node reads gets a
 * slot of its own: the next group's nodes run again before the later node reads the
 * whole batch, and must not write over it. */
static oct_status plan_slots(oct__graph *g, int n, int depth_end, int depth_m, size_t **sizes_out, int *nslots_out,
                             size_t *scratch_out)
{
    int nv = g->nv, nn = g->nn, out_root = oct__g_root(g, g->output);
    for (int v = 0; v < nv; v++) g->v[v].last = -1, g->v[v].slot = -1, g->v[v].grouped = 0;
    for (int i = 0; i < nn; i++) g->nd[i].res_first = 0;
    for (int i = 0; i < nn; i++) {
        for (int k = 0; k < g->nd[i].nin; k++) {
            int r = oct__g_root(g, g->nd[i].in[k]);
            if (g->v[r].last < i) g->v[r].last = i;
        }
        for (int k = 0; k < g->nd[i].nout; k++) { /* a sum of convs writes one value twice */
            int r = oct__g_root(g, g->nd[i].out[k]);
            if (g->v[r].last < i) g->v[r].last = i;
        }
        /* A pool its conv runs (conv2d_pool) is written while the conv still reads its
         * input: that input lives until the pool's node, so the two never share storage. */
        if (g->nd[i].pooled && i > 0)
            for (int k = 0; k < g->nd[i - 1].nin; k++) {
                int r = oct__g_root(g, g->nd[i - 1].in[k]);
                if (g->v[r].last < i) g->v[r].last = i;
            }
    }
    g->v[out_root].last = nn;
    size_t *sizes = oct__calloc((size_t)nv + 1, sizeof *sizes);
    int *busy_until = oct__calloc((size_t)nv + 1, sizeof *busy_until);
    if (!sizes || !busy_until) {
        free(sizes);
        free(busy_until);
        return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory for the plan");
    }
    int nslots = 0;
    size_t scratch = 0;
    /* Slot 0 is the output root's own. */
    sizes[nslots] = value_floats(g, out_root, n);
    busy_until[nslots++] = nn + 1;
    g->v[out_root].slot = 0;
    for (int i = 0; i < nn; i++) {
        oct__gnode *nd = &g->nd[i];
        const oct__gkind *k = oct__kinds[nd->kind];
        if (k->scratch) {
            size_t s = k->scratch(g, nd, n);
            if (s > scratch) scratch = s;
        }
        for (int o = 0; o < nd->nout; o++) {
            int v = nd->out[o];
            if (g->v[v].view_of >= 0 || g->v[v].slot >= 0) continue;
            int last = g->v[v].last < 0 ? i : g->v[v].last, own = i < depth_end && last >= depth_end;
            g->v[v].grouped = i < depth_end && !own;
            size_t need = value_floats(g, v, g->v[v].grouped ? depth_m : n);
            /* A conv that starts from its residual writes over it where both hold the
             * same images (not where v outlives the groups the residual belongs to). */
            int runs = o == 0 ? res_first_node(g, i, v) : -1;
            if (runs >= 0) {
                oct__gnode *rn = &g->nd[runs];
                const oct__gvalue *r = &g->v[rn->in[rn->res]];
                rn->res_first = 1;
                if (!own && r->slot > 0 && r->grouped == g->v[v].grouped && busy_until[r->slot] == runs) {
                    if (sizes[r->slot] < need) sizes[r->slot] = need;
                    busy_until[r->slot] = last;
                    g->v[v].slot = r->slot;
                    continue;
                }
            }
            /* A free slot: the smallest that holds it, else the largest (it grows); a
             * value the groups make for later nodes (own) takes a new one. */
            int best = -1;
            for (int s = 1; s < nslots && !own; s++) {
                if (busy_until[s] >= i) continue;
                if (best < 0) {
                    best = s;
                    continue;
                }
                int fits = sizes[s] >= need, bfits = sizes[best] >= need;
                if ((fits && (!bfits || sizes[s] < sizes[best])) || (!fits && !bfits && sizes[s] > sizes[best]))
                    best = s;
            }
            if (best < 0) best = nslots++;
            if (sizes[best] < need) sizes[best] = need;
            busy_until[best] = last;
            g->v[v].slot = best;
        }
    }
    free(busy_until);
    *sizes_out = sizes;
    *nslots_out = nslots;
    *scratch_out = scratch;
    return OCT_OK;
}

size_t oct__graph_activation_bytes(oct__graph *g, int n, int h, int w)
{
    if (n < 1 || oct__graph_shapes(g, h, w) != OCT_OK) return 0;
    size_t *sizes, scratch, floats = value_floats(g, g->input, n);
    int nslots, depth_end, depth_m;
    depth_plan(g, n, &depth_end, &depth_m);
    if (plan_slots(g, n, depth_end, depth_m, &sizes, &nslots, &scratch) != OCT_OK) return 0;
    for (int s = 0; s < nslots; s++) floats += sizes[s];
    free(sizes);
    return (floats + scratch) * sizeof(float);
}

static oct_status make_plan(oct__graph *g, int n, int h, int w)
{
    if (g->slots && g->pn == n && g->ph == h && g->pw == w && g->pcap == g->depth_cap) return OCT_OK;
    release_plan(g);
    OCT__TRY(oct__graph_shapes(g, h, w));
    size_t *sizes, scratch;
    int nslots, depth_end, depth_m;
    depth_plan(g, n, &depth_end, &depth_m);
    OCT__TRY(plan_slots(g, n, depth_end, depth_m, &sizes, &nslots, &scratch));
    oct_status s = OCT_OK;
    g->slots = oct__calloc((size_t)nslots, sizeof *g->slots);
    if (!g->slots) s = oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory for the plan");
    g->nslots = g->slots ? nslots : 0;
    for (int i = 0; i < g->nslots && s == OCT_OK; i++) s = oct__buf_alloc(g->ctx, &g->slots[i], sizes[i]);
    if (s == OCT_OK) s = oct__buf_alloc(g->ctx, &g->inbuf, value_floats(g, g->input, n));
    if (s == OCT_OK) s = oct__buf_alloc(g->ctx, &g->scratch, scratch);
    free(sizes);
    if (s != OCT_OK) {
        release_plan(g);
        return s;
    }
    g->pn = n, g->ph = h, g->pw = w;
    g->depth_end = depth_end, g->depth_m = depth_m, g->pcap = g->depth_cap;
    return OCT_OK;
}

oct__view oct__g_view(const oct__graph *g, int v, int n)
{
    const oct__gvalue *val = &g->v[v];
    if (val->view_of < 0) {
        const oct__buf *b = v == g->input ? &g->inbuf : &g->slots[val->slot];
        oct__view r = oct__view_of(b, n, val->d.c, val->d.h, val->d.w);
        if (!val->grouped) r.off += (size_t)g->img0 * r.nstride;
        return r;
    }
    oct__view p = oct__g_view(g, val->view_of, n);
    const oct__gdims *pd = &g->v[val->view_of].d;
    oct__view r = {p.buf, p.off + (size_t)val->c0 * pd->h * pd->w, p.nstride, n, val->d.c, val->d.h, val->d.w};
    return r;
}

const oct__buf *oct__g_scratch(const oct__graph *g) { return &g->scratch; }

static void trace_node(const oct__graph *g, const oct__gnode *nd, int n, oct_trace_fn trace, void *user)
{
    if (g->traces) { /* the front end's own lines after this node */
        int index = (int)(nd - g->nd);
        for (int i = 0; i < g->ntraces; i++) {
            const oct__gtrace *t = &g->traces[i];
            if (t->after != index) continue;
            if (t->v < 0) {
                trace(user, t->label, 0, (int[4]){0, 0, 0, 0});
                continue;
            }
            const oct__gvalue *v = &g->v[t->v];
            int dims[4] = {n, t->c > 0 ? t->c : v->d.c, v->rank == 4 ? v->d.h : 0, v->rank == 4 ? v->d.w : 0};
            trace(user, t->label, v->rank, dims);
        }
        return;
    }
    for (int k = 0; k < nd->nout; k++) {
        const oct__gvalue *v = &g->v[nd->out[k]];
        char label[200], kind[48];
        if (nd->octconv)
            snprintf(kind, sizeof kind, "OctConv %d %s", nd->octconv, nd->role);
        else
            snprintf(kind, sizeof kind, "%s", oct__kinds[nd->kind]->name);
        snprintf(label, sizeof label, "%s (%s)%s", nd->nout > 1 ? v->name : nd->name, kind,
                 nd->nout > 1 ? (k ? " low" : " high") : "");
        int dims[4] = {n, v->d.c, v->d.h, v->d.w};
        trace(user, label, v->rank, dims);
    }
}

oct_status oct__graph_trace(oct__graph *g, int n, int h, int w, oct_trace_fn trace, void *user)
{
    OCT__TRY(oct__graph_shapes(g, h, w));
    for (int i = 0; i < g->nn; i++) trace_node(g, &g->nd[i], n, trace, user);
    return OCT_OK;
}

/* Seconds on the library's monotonic clock. */
static double now_s(void) { return 1e-3 * oct__now_ms(); }

/* Whether node i ran its partner's conv (run first, queueing nothing) and maybe a side
 * output as one conv2d_pair op: then *partner and *side (-1: none), whose shares of what
 * the op took are wa / all and wc / all (their MACs and the op's; 1 of 2 or 3 each where
 * none has MACs). 0: node i ran only itself. */
static int pair_shares(const oct__graph *g, int i, int *partner, int *side, double *wa, double *wc, double *all)
{
    const oct__gnode *nd = &g->nd[i];
    if (!oct__gconv_runs_pair(g, nd)) return 0;
    const oct__gkind *k = oct__kinds[OCT__GK_CONV];
    *partner = nd->pair;
    *side = nd->side >= 0 && oct__gconv_side_ok(g, nd, &g->nd[nd->side]) ? nd->side : -1;
    double a = (double)k->macs(g, &g->nd[nd->pair]), b = (double)k->macs(g, nd);
    double c = *side >= 0 ? (double)k->macs(g, &g->nd[*side]) : 0;
    *all = a + b + c;
    *wa = a, *wc = c;
    if (*all > 0) return 1;
    *wa = *wc = 1, *all = *side >= 0 ? 3 : 2;
    return 1;
}

/* Node i (its ops queued) took `dt` seconds since it started, added into secs[i * stride]:
 * dt is its own unless it ran its partner's conv too (one conv2d_pair op), then they
 * share it by their MACs (pair_shares). */
static void add_node_time(oct__graph *g, int i, double dt, double *secs, int stride)
{
    int partner, side;
    double wa, wc, all;
    if (pair_shares(g, i, &partner, &side, &wa, &wc, &all)) {
        double sa = dt * wa / all, sc = dt * wc / all;
        secs[(size_t)partner * (size_t)stride] += sa;
        dt -= sa;
        if (side >= 0) {
            secs[(size_t)side * (size_t)stride] += sc;
            dt -= sc;
        }
    }
    secs[(size_t)i * (size_t)stride] += dt;
}

/* Node i executed `done` multiply-adds, added into g->exec_chunk[i], shared as
 * add_node_time shares a time (the rest, after rounding, its own). */
static void add_node_macs(oct__graph *g, int i, long long done)
{
    int partner, side;
    double wa, wc, all;
    if (pair_shares(g, i, &partner, &side, &wa, &wc, &all)) {
        long long sa = llround((double)done * wa / all), sc = llround((double)done * wc / all);
        g->exec_chunk[partner] += sa;
        done -= sa;
        if (side >= 0) {
            g->exec_chunk[side] += sc;
            done -= sc;
        }
    }
    g->exec_chunk[i] += done;
}

/* The backend's threads' times now into r[0, T + 2): each thread's seconds in its shares of
 * the ops (T = g->prof_threads), the calling thread's waits for the others, the clock. */
static void busy_read(oct__graph *g, double *r)
{
    oct_context *ctx = g->ctx;
    int nt = g->prof_threads;
    if (ctx->be->times)
        ctx->be->times(ctx, r, nt, r + nt);
    else
        memset(r, 0, ((size_t)nt + 1) * sizeof *r);
    r[nt + 1] = now_s();
}

/* Node i's busy seconds per thread, from readings r0 before it and r1 after it, added into
 * g->busy_chunk (see g->prof_busy): dt the node's wall time (the readings' own clock
 * where the graph's is a test counter), less the calling thread's waits for the others. */
static void busy_add(oct__graph *g, int i, const double *r0, const double *r1, double dt)
{
    int nt = g->prof_threads;
    if (g->clock) dt = r1[nt + 1] - r0[nt + 1];
    for (int t = 0; t < nt; t++) {
        double b = t ? r1[t] - r0[t] : dt - (r1[nt] - r0[nt]);
        add_node_time(g, i, b > 0 ? b : 0, g->busy_chunk + t, nt);
    }
}

/* Run node i over n images (from g->img0); timed into secs (NULL: not timed), and its
 * threads' busy times into g->busy_chunk while g->prof_busy is set, the backend finished
 * after it. */
static oct_status run_node(oct__graph *g, int i, int n, double *secs, oct_trace_fn trace, void *user, int trace_n)
{
    oct_context *ctx = g->ctx;
    double (*tick)(void) = g->clock ? g->clock : now_s;
    oct__gnode *nd = &g->nd[i];
    const oct__gkind *k = oct__kinds[nd->kind];
    int busy = secs && g->prof_busy;
    double *r0 = busy ? g->busy_chunk + (size_t)g->nn * (size_t)g->prof_threads : NULL;
    double *r1 = busy ? r0 + g->prof_threads + 2 : NULL;
    if (busy) busy_read(g, r0);
    long long m0 = 0, m1 = 0;
    if (g->exec_chunk) OCT__TRY(oct_context_macs_executed(ctx, &m0));
    double t0 = secs ? tick() : 0;
    if (k->run) OCT__TRY(k->run(g, nd, n));
    if (g->exec_chunk) {
        OCT__TRY(oct_context_macs_executed(ctx, &m1));
        add_node_macs(g, i, m1 - m0);
    }
    if (secs) {
        OCT__TRY(ctx->be->finish(ctx));
        double dt = tick() - t0;
        add_node_time(g, i, dt, secs, 1);
        if (busy) {
            busy_read(g, r1);
            busy_add(g, i, r0, r1, dt);
        }
    }
    if (trace) trace_node(g, nd, trace_n, trace, user);
    return OCT_OK;
}

/* One pass over n images whose activations fit. secs (NULL: not timed) receives each
 * node's seconds: the backend is finished after the input is written and after every
 * node, so each time is that node's work alone. */
static oct_status forward_chunk(oct__graph *g, const float *x, int n, int h, int w, float *out, oct_trace_fn trace,
                                void *user, int trace_n, double *secs)
{
    oct_context *ctx = g->ctx;
    OCT__TRY(make_plan(g, n, h, w));
    OCT__TRY(ctx->be->write(ctx, &g->inbuf, x));
    if (secs) {
        memset(secs, 0, (size_t)g->nn * sizeof *secs);
        if (g->prof_busy) memset(g->busy_chunk, 0, (size_t)g->nn * (size_t)g->prof_threads * sizeof *g->busy_chunk);
        OCT__TRY(ctx->be->finish(ctx));
    }
    /* Nodes [0, end) group by group of m images (from image img0), then the rest on all n;
     * without groups, every node in one group of n. */
    oct_status s = OCT_OK;
    int end = g->depth_end > 0 ? g->depth_end : g->nn, m = g->depth_end > 0 ? g->depth_m : n;
    for (int j = 0; j < n && s == OCT_OK; j += m) {
        int cnt = n - j < m ? n - j : m;
        g->img0 = j;
        for (int i = 0; i < end && s == OCT_OK; i++)
            s = run_node(g, i, cnt, secs, j == 0 ? trace : NULL, user, trace_n);
    }
    g->img0 = 0;
    for (int i = end; i < g->nn && s == OCT_OK; i++) s = run_node(g, i, n, secs, trace, user, trace_n);
    if (s != OCT_OK) return s;
    /* The output's root has a buffer of its own, exactly its size (the input buffer
     * when the output is a view of the input, e.g. a lone Flatten). */
    int r = oct__g_root(g, g->output);
    const oct__buf *b = r == g->input ? &g->inbuf : &g->slots[g->v[r].slot];
    oct__view ov = oct__g_view(g, g->output, n);
    if (ov.off == 0 && ov.nstride == (size_t)ov.c * ov.h * ov.w) return ctx->be->read(ctx, b, out);
    float *tmp = oct__malloc(b->count * sizeof *tmp);
    if (!tmp) return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory reading the output");
    s = ctx->be->read(ctx, b, tmp);
    size_t per = (size_t)ov.c * ov.h * ov.w;
    for (int i = 0; s == OCT_OK && i < n; i++) memcpy(out + i * per, tmp + ov.off + i * ov.nstride, per * sizeof *out);
    free(tmp);
    return s;
}

oct_status oct__graph_forward(oct__graph *g, const float *x, int n, int h, int w, float *out, oct_trace_fn trace,
                              void *user)
{
    if (n < 1 || h < 1 || w < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "model: input (%d, %d, %d, %d) must have n, h, w >= 1", n,
                         g->v[g->input].d.c, h, w);
    OCT__TRY(oct__graph_shapes(g, h, w));
    int chunk = g->max_chunk > 0 && g->max_chunk < n ? g->max_chunk : n;
    if (g->mem_limit) {
        size_t one = oct__graph_activation_bytes(g, 1, h, w);
        if (one == 0 || one > g->mem_limit)
            return oct__fail(OCT_ERR_DEVICE_MEMORY,
                             "model: one %dx%d image needs %zu bytes of activations, over the limit of %zu bytes", h, w,
                             one, g->mem_limit);
        int lo = 1, hi = chunk;
        while (lo < hi) {
            int mid = lo + (hi - lo + 1) / 2;
            size_t b = oct__graph_activation_bytes(g, mid, h, w);
            if (b != 0 && b <= g->mem_limit)
                lo = mid;
            else
                hi = mid - 1;
        }
        chunk = lo;
    }
    g->last_chunk = chunk;
    OCT__TRY(oct__graph_shapes(g, h, w));
    size_t in_stride = value_floats(g, g->input, 1), out_stride = value_floats(g, g->output, 1);
    /* Timed (oct_model_profile): each chunk's node times go to chunk_secs, added into
     * g->prof once the chunk has run (a chunk retried in halves counts once). */
    double *chunk_secs = NULL;
    size_t nb = g->prof && g->prof_busy ? (size_t)g->nn * (size_t)g->prof_threads : 0;
    if (g->prof) {
        memset(g->prof, 0, (size_t)g->nn * sizeof *g->prof);
        if (!(chunk_secs = oct__calloc((size_t)g->nn ? (size_t)g->nn : 1, sizeof *chunk_secs)))
            return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory for the layer times");
    }
    if (g->prof_exec) {
        memset(g->prof_exec, 0, (size_t)g->nn * sizeof *g->prof_exec);
        if (!(g->exec_chunk = oct__calloc((size_t)g->nn ? (size_t)g->nn : 1, sizeof *g->exec_chunk))) {
            free(chunk_secs);
            return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory for the layers' multiply-adds");
        }
    }
    if (nb) {
        memset(g->prof_busy, 0, nb * sizeof *g->prof_busy);
        /* the chunk's sums, then two readings of the threads' times (busy_read) */
        if (!(g->busy_chunk = oct__calloc(nb + 2 * ((size_t)g->prof_threads + 2), sizeof *g->busy_chunk))) {
            free(chunk_secs);
            free(g->exec_chunk);
            g->exec_chunk = NULL;
            return oct__fail(OCT_ERR_HOST_MEMORY, "graph: out of host memory for the threads' times");
        }
        if (g->ctx->be->timing) g->ctx->be->timing(g->ctx, 1);
    }
    oct_status s = OCT_OK;
    for (int start = 0; start < n;) {
        int k = n - start < chunk ? n - start : chunk;
        if (g->exec_chunk) memset(g->exec_chunk, 0, (size_t)g->nn * sizeof *g->exec_chunk);
        s = forward_chunk(g, x + (size_t)start * in_stride, k, h, w, out + (size_t)start * out_stride,
                          start == 0 ? trace : NULL, user, n, chunk_secs);
        if (s == OCT_ERR_DEVICE_MEMORY && k > 1) {
            /* The backend's memory ran out (device memory; host memory for the CPU
             * backends, which report it as OCT_ERR_DEVICE_MEMORY too: internal.h): give
             * back what this pass held and go on in halves. */
            release_plan(g);
            chunk = k / 2;
            g->last_chunk = chunk;
            s = OCT_OK;
            continue;
        }
        if (s != OCT_OK) break;
        for (int i = 0; chunk_secs && i < g->nn; i++) g->prof[i] += chunk_secs[i];
        for (size_t i = 0; i < nb; i++) g->prof_busy[i] += g->busy_chunk[i];
        for (int i = 0; g->exec_chunk && i < g->nn; i++) g->prof_exec[i] += g->exec_chunk[i];
        start += k;
    }
    free(chunk_secs);
    free(g->exec_chunk);
    g->exec_chunk = NULL;
    if (nb) {
        if (g->ctx->be->timing) g->ctx->be->timing(g->ctx, 0);
        free(g->busy_chunk);
        g->busy_chunk = NULL;
    }
    return s;
}
