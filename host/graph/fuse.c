/* fuse.c — the passes after a front end has built a graph with its epilogue fusions:
 * pairing sums of convolutions into conv2d_pair ops, and recognising OctConv layers.
 *
 * After the importer's fusions an OctConv layer (d-li14's OctaveConv, the seed's
 * OctaveConv2d) with BatchNorm, ReLU and a residual is four conv nodes:
 *   hh: y_h = conv_hh(x_h) [+ residual] + Up(lh's output), ReLU   (lh: conv_lh(x_l))
 *   hl: y_l = conv_hl(AvgPool2(x_h))                            (pool node before it)
 *   ll:      + conv_ll(x_l) [+ residual], ReLU  (adds onto hl's output)
 * which queue exactly the band layer's ops: conv, conv at low resolution, resize with
 * accumulate, average pool, and the low band as one conv2d_pair op where the backend
 * has it. This pass names them for `octcl info`.
 */
#include "graph/graph.h"

#include <stdio.h>
#include <string.h>

/* The value whose 2x2 average pool (stride 2) v is, -1: v is not one. */
static int down_of(const oct__graph *g, int v)
{
    int p = g->v[v].producer;
    if (p < 0) return -1;
    const oct__gnode *nd = &g->nd[p];
    return nd->kind == OCT__GK_POOL && !nd->max && nd->kh == 2 && nd->kw == 2 && nd->sh == 2 && nd->sw == 2
               ? nd->in[0]
               : -1;
}

static int is_down(const oct__graph *g, int v, int x_h)
{
    return down_of(g, v) == x_h;
}

/* Whether the pair hl + ll can be the low band of hh's layer: one OctConv applies one
 * kernel and one epilogue to both bands. Shape alone cannot tell them apart: a stride-2
 * layer with alpha_out = 0 over the same bands is a pair over P(x_h) and x_l too. */
static int same_layer(const oct__gnode *hh, const oct__gnode *hl, const oct__gnode *ll)
{
    for (int k = 0; k < 2; k++) {
        const oct__gnode *c = k ? ll : hl;
        if (c->kh != hh->kh || c->kw != hh->kw || c->sh != hh->sh || c->sw != hh->sw || c->dh != hh->dh ||
            c->dw != hh->dw || c->pt != hh->pt || c->pl != hh->pl || c->pb != hh->pb || c->pr != hh->pr)
            return 0;
    }
    return ll->relu == hh->relu && (ll->res >= 0) == (hh->res >= 0);
}

/* Whether u and v are the high and low band of one layer labelled so far: its outputs
 * (hh and ll write them) or its inputs (hh reads u or P(u), lh reads v). */
static int bands(const oct__graph *g, int u, int v)
{
    for (int i = 0; i < g->nn; i++) {
        const oct__gnode *hh = &g->nd[i];
        if (hh->octconv <= 0 || strcmp(hh->role, "hh") != 0) continue;
        int wrote = hh->out[0] == u, read = hh->in[0] == u || down_of(g, hh->in[0]) == u;
        if (!wrote && !read) continue;
        for (int j = 0; j < g->nn; j++) {
            const oct__gnode *c = &g->nd[j];
            if (c->octconv != hh->octconv) continue;
            if (wrote && !strcmp(c->role, "ll") && c->out[0] == v) return 1;
            if (read && !strcmp(c->role, "lh") && c->in[0] == v) return 1;
        }
    }
    return 0;
}

/* Whether node k reads (what = 0) or writes (what = 1) storage of value v. */
static int touches(const oct__graph *g, int k, int v, int what)
{
    const oct__gnode *nd = &g->nd[k];
    int n = what ? nd->nout : nd->nin;
    for (int i = 0; i < n; i++)
        if (oct__g_root(g, what ? nd->out[i] : nd->in[i]) == oct__g_root(g, v)) return 1;
    return 0;
}

/* Whether lh (node lhi) can run at the pair node b (bi > lhi) with hh (hhi), its only
 * reader, after b: nothing from lh to b writes lh's input; when hh comes before b,
 * nothing from hh to b reads hh's output or writes what hh reads or writes, and no
 * trace point prints between them (oct__g_move_later). */
static int side_movable(const oct__graph *g, int lhi, int hhi, int bi)
{
    const oct__gnode *lh = &g->nd[lhi], *hh = &g->nd[hhi];
    if (hhi < lhi || oct__g_readers(g, lh->out[0]) != 1 || hh->up < 0 || hh->in[hh->up] != lh->out[0]) return 0;
    for (int k = lhi + 1; k < bi; k++)
        if (touches(g, k, lh->in[0], 1)) return 0;
    if (hhi > bi) return 1;
    for (int k = hhi + 1; k <= bi; k++) {
        if (touches(g, k, hh->out[0], 0) || touches(g, k, hh->out[0], 1)) return 0;
        for (int x = 0; x < hh->nin; x++)
            if (touches(g, k, hh->in[x], 1)) return 0;
    }
    for (int t = 0; t < g->ntraces; t++)
        if (g->traces[t].after >= hhi && g->traces[t].after < bi) return 0;
    return 1;
}

/* Whether node k may run after node n rather than before it: neither writes what the
 * other reads or writes. */
static int commutes(const oct__graph *g, int k, int n)
{
    const oct__gnode *nd = &g->nd[n];
    for (int o = 0; o < nd->nout; o++)
        if (touches(g, k, nd->out[o], 0) || touches(g, k, nd->out[o], 1)) return 0;
    for (int x = 0; x < nd->nin; x++)
        if (touches(g, k, nd->in[x], 1)) return 0;
    return 1;
}

/* Whether the pair node b (bi), which runs its partner b->pair too, can move to `to` (>
 * bi), after lh: every node it passes commutes with both convolutions, and no trace point
 * prints after b or a node it passes. */
static int pair_movable(const oct__graph *g, int bi, int to)
{
    for (int k = bi + 1; k <= to; k++)
        if (!commutes(g, k, bi) || !commutes(g, k, g->nd[bi].pair)) return 0;
    for (int t = 0; t < g->ntraces; t++)
        if (g->traces[t].after >= bi && g->traces[t].after < to) return 0;
    return 1;
}

static oct_status label(oct__gnode *nd, int layer, const char *role)
{
    nd->octconv = layer;
    snprintf(nd->role, sizeof nd->role, "%s", role);
    return OCT_OK;
}

/* A conv whose only reader is the max pool right after it runs that pool too, as one
 * conv2d_pool op, where the backend has one (ResNet's stem: the CPU pools each block of
 * output channels while it is in the core's caches): a plain conv2d (no residual,
 * upsample, sum or pair), its output a value of its own that is not the graph's, no
 * trace line between the two. Decided after every move of the passes above. */
static void fuse_pools(oct__graph *g)
{
    if (!g->ctx->be->conv2d_pool) return;
    for (int i = 0; i + 1 < g->nn; i++) {
        oct__gnode *c = &g->nd[i], *p = &g->nd[i + 1];
        if (c->kind != OCT__GK_CONV || p->kind != OCT__GK_POOL || !p->max || p->kh == 0 || p->pooled) continue;
        int v = c->out[0];
        if (c->nout != 1 || p->in[0] != v || c->up >= 0 || c->acc || c->res >= 0 || c->pair >= 0 || c->paired ||
            c->side >= 0 || c->sided || c->kh != c->kw || c->sh != c->sw || c->pt != c->pl || c->pt != c->pb ||
            c->pt != c->pr || c->dh != 1 || c->dw != 1 || c->groups != 1)
            continue;
        if (g->v[v].view_of >= 0 || oct__g_root(g, g->output) == v || oct__g_readers(g, v) != 1) continue;
        int traced = 0;
        for (int t = 0; t < g->ntraces; t++) traced |= g->traces[t].after == i;
        if (traced) continue;
        c->pool_next = 1;
        p->pooled = 1;
    }
}

oct_status oct__graph_fuse_octconv(oct__graph *g, int *layers)
{
    /* Pairs: B adds onto A's output. B reads A's input too (kept alive for it). */
    for (int i = 0; i < g->nn; i++) {
        oct__gnode *b = &g->nd[i];
        if (b->kind != OCT__GK_CONV || !b->acc) continue;
        for (int j = i - 1; j >= 0; j--) {
            oct__gnode *a = &g->nd[j];
            if (a->nout < 1 || a->out[0] != b->out[0]) continue;
            if (a->kind == OCT__GK_CONV && !a->acc && !a->paired) {
                int in[8], nin = 0;
                for (int k = 0; k < b->nin && k < 7; k++) in[nin++] = b->in[k];
                in[nin++] = a->in[0];
                OCT__TRY(oct__g_set_inputs(g, b, nin, in));
                b->pair = j;
                a->paired = 1;
            }
            break;
        }
    }
    /* OctConv layers. */
    int count = 0;
    for (int i = 0; i < g->nn; i++) {
        oct__gnode *hh = &g->nd[i];
        if (hh->kind != OCT__GK_CONV || hh->up < 0 || hh->octconv) continue;
        int lhi = g->v[hh->in[hh->up]].producer;
        if (lhi < 0) continue;
        oct__gnode *lh = &g->nd[lhi];
        int x_h = hh->in[0], x_l = lh->in[0];
        oct__gnode *hl = NULL, *ll = NULL;
        for (int j = 0; j < g->nn && !hl; j++) {
            oct__gnode *b = &g->nd[j];
            if (b->kind != OCT__GK_CONV || !b->acc || b->pair < 0) continue;
            oct__gnode *a = &g->nd[b->pair];
            if (is_down(g, a->in[0], x_h) && b->in[0] == x_l && same_layer(hh, a, b)) hl = a, ll = b;
            else if (is_down(g, b->in[0], x_h) && a->in[0] == x_l && same_layer(hh, b, a)) hl = b, ll = a;
        }
        count++;
        OCT__TRY(label(hh, count, "hh"));
        OCT__TRY(label(lh, count, "lh"));
        if (hl) {
            OCT__TRY(label(hl, count, "hl"));
            OCT__TRY(label(ll, count, "ll"));
        }
    }
    /* Stride-2 layers (d-li14's rule: pool, then convolve): y_h = HH(P(x_h)) + LH(x_l)
     * and y_l = HL(P(P(x_h))) + LL(P(x_l)), two pairs with no upsampling; hh is the
     * member of the first pair that reads a pool output. */
    for (int i = 0; i < g->nn; i++) {
        oct__gnode *b = &g->nd[i];
        if (b->kind != OCT__GK_CONV || !b->acc || b->pair < 0 || b->octconv) continue;
        oct__gnode *a = &g->nd[b->pair];
        if (a->octconv) continue;
        int u = a->in[0], v = b->in[0];
        for (int j = 0; j < g->nn; j++) {
            oct__gnode *d = &g->nd[j];
            if (j == i || d->kind != OCT__GK_CONV || !d->acc || d->pair < 0 || d->octconv) continue;
            oct__gnode *c = &g->nd[d->pair];
            int p = c->in[0], q = d->in[0];
            oct__gnode *hh = NULL, *lh = NULL, *hl = NULL, *ll = NULL;
            int pu = is_down(g, p, u), pv = is_down(g, p, v), qu = is_down(g, q, u), qv = is_down(g, q, v);
            if (!((pu && qv) || (pv && qu))) continue;
            int a_high = g->v[u].producer >= 0 && g->nd[g->v[u].producer].kind == OCT__GK_POOL;
            hh = a_high ? a : b, lh = a_high ? b : a;
            int high_in = hh->in[0];
            hl = is_down(g, p, high_in) ? c : d, ll = hl == c ? d : c;
            count++;
            OCT__TRY(label(hh, count, "hh"));
            OCT__TRY(label(lh, count, "lh"));
            OCT__TRY(label(hl, count, "hl"));
            OCT__TRY(label(ll, count, "ll"));
            break;
        }
    }
    /* Stride-2 layers with alpha_out = 0 (d-li14's Oct-ResNet, the first block of the last
     * stage): y_h = HH(P(x_h)) + LH(x_l), one pair, no low band; x_h and x_l are the bands
     * of a layer found above (its outputs, or its inputs like the block's first layer). */
    for (int i = 0; i < g->nn; i++) {
        oct__gnode *b = &g->nd[i];
        if (b->kind != OCT__GK_CONV || !b->acc || b->pair < 0 || b->octconv) continue;
        oct__gnode *a = &g->nd[b->pair];
        if (a->octconv) continue;
        for (int k = 0; k < 2; k++) {
            oct__gnode *hh = k ? b : a, *lh = k ? a : b;
            int x_h = down_of(g, hh->in[0]);
            if (x_h < 0 || !bands(g, x_h, lh->in[0])) continue;
            count++;
            OCT__TRY(label(hh, count, "hh"));
            OCT__TRY(label(lh, count, "lh"));
            break;
        }
    }
    /* L->H as the side output of its layer's low-band pair (3x3 stride 1, where the
     * backend takes one): the pair node runs it, so hh, which reads it, moves after the
     * pair when it came before; and the pair moves after lh when lh came after it
     * (PyTorch's ONNX export orders a layer hl, ll, lh, hh). */
    for (int i = 0; i < g->nn; i++) {
        oct__gnode *b = &g->nd[i];
        if (b->kind != OCT__GK_CONV || b->pair < 0 || b->octconv <= 0 || b->kh != 3 || b->sh != 1) continue;
        int hhi = -1, lhi = -1;
        for (int j = 0; j < g->nn; j++)
            if (g->nd[j].octconv == b->octconv && g->nd[j].kind == OCT__GK_CONV) {
                if (!strcmp(g->nd[j].role, "hh")) hhi = j;
                if (!strcmp(g->nd[j].role, "lh")) lhi = j;
            }
        if (hhi < 0 || lhi < 0 || !oct__gconv_side_ok(g, b, &g->nd[lhi])) continue;
        if (!side_movable(g, lhi, hhi, i)) continue;
        if (lhi > i) { /* then hh, lh's reader, comes after lh too */
            if (!pair_movable(g, i, lhi)) continue;
            oct__g_move_later(g, i, lhi);
            i = lhi--;
        }
        if (hhi < i) {
            oct__g_move_later(g, hhi, i);
            i--; /* b moved up one */
            lhi -= lhi > hhi;
        }
        g->nd[i].side = lhi;
        g->nd[lhi].sided = 1;
    }
    /* Number the layers in the order they run. */
    int next = 0;
    for (int i = 0; i < g->nn; i++) {
        int old = g->nd[i].octconv;
        if (old <= 0) continue;
        next++;
        for (int j = i; j < g->nn; j++)
            if (g->nd[j].octconv == old) g->nd[j].octconv = -next;
    }
    for (int i = 0; i < g->nn; i++)
        if (g->nd[i].octconv < 0) g->nd[i].octconv = -g->nd[i].octconv;
    fuse_pools(g);
    *layers = count;
    return OCT_OK;
}
