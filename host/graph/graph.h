/* graph.h — the network as data: values (NCHW tensors; an (N, F) tensor is (N, F, 1, 1))
 * and nodes over them in execution order. A node kind (one k_*.c file each) answers its
 * output shapes, MACs, scratch and how it queues backend ops; the forward pass, shape
 * checks, the shape trace, MACs, activation memory and chunking are walks over this.
 * Front ends (host/onnx/onnx_import.c) build graphs with the oct__g_* calls below.
 */
#ifndef OCT_GRAPH_H
#define OCT_GRAPH_H

#include "internal.h"

/* Per-image dims of a value: (c, h, w); rank 2 values have h = w = 1. */
typedef struct {
    int c, h, w;
} oct__gdims;

/* A number computed at load from a static shape, kept as a program so it follows the
 * input size: start from dim `d` of the value, apply op[i] with k[i] in order
 * ('+' add, '*' multiply, 'i' integer divide (floor), 'd' divide, 'f' floor, 'c' ceil,
 * 't' truncate). */
typedef struct {
    int d, nops;
    char op[12];
    double k[12];
} oct__gexpr;
double oct__gexpr_eval(const oct__gexpr *e, const int dims[4]);

typedef struct {
    char *name;      /* the front end's tensor name */
    int rank;        /* 4: (N, C, H, W); 2: (N, C) */
    int producer;    /* node index, -1 for the graph input */
    int view_of;     /* -1: owns storage; else the value whose storage this is a window of */
    int c0;          /* first channel of the window within view_of (0 for reshapes) */
    oct__gdims d;    /* at the size of the last shape walk */
    /* plan */
    int slot;        /* storage slot of a value that owns storage */
    int last;        /* last node reading it or any of its views (nn: a graph output) */
    int grouped;     /* 1: only a depth-first group's nodes make and read it, so it holds
                        depth_m images, the group's, from image 0 (graph.c, plan_slots) */
} oct__gvalue;

enum {
    OCT__GK_CONV, OCT__GK_POOL, OCT__GK_GAP, OCT__GK_ADD, OCT__GK_AFFINE, OCT__GK_RESIZE,
    OCT__GK_CONCAT, OCT__GK_SLICE, OCT__GK_FLATTEN, OCT__GK_LINEAR,
    OCT__GK_COUNT
};

typedef struct {
    int kind;
    char *name;          /* the source node's name (the first one when fused) */
    char *fused;         /* "Op name, Op name, ..." folded into this node; NULL: none */
    int nin, *in;        /* values read: conv x [, residual]; add a, b; concat all */
    int nout, out[2];    /* values written (2: an OctConv layer's high and low band) */
    int relu;            /* conv, pool, add, affine, linear-free epilogue ReLU */
    /* conv: weight (co, ci / groups, kh, kw), bias (co) or NULL; residual = in[1] */
    int co, ci, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups;
    int res;             /* index into in[] of the residual, -1: none */
    int acc;             /* 1: adds onto out[0], which an earlier conv wrote (a sum of convs) */
    int up;              /* index into in[] of a low-resolution value nearest-upsampled and
                            added after the conv (the OctConv L->H path), -1: none */
    int pair;            /* node run together with this one as one conv2d_pair op, -1: none */
    int paired;          /* 1: this conv is run by its partner's conv2d_pair op */
    int side;            /* pair node: the L->H conv it runs as the op's side output, -1: none */
    int sided;           /* 1: this conv (an L->H) is run by a pair node's side output */
    int pool_next;       /* conv: 1 when it runs the pool node after it too, as one
                            conv2d_pool op (fuse.c, fuse_pools) */
    int pooled;          /* pool: 1 when the conv before it runs it (its time is the conv's) */
    int octconv;         /* > 0: part of the OctConv layer with this number (for info) */
    int res_first;       /* plan: 1 when the residual is out[0]'s starting value and the
                            conv (or its pair) adds onto it, in the residual's own storage
                            where the plan lets out[0] take it (graph.c, plan_slots) */
    float *w, *b;        /* host copies until oct__graph_upload */
    oct__buf wb, bb;
    /* pool: max or average, kernel / stride / pads as in conv, ceil mode */
    int max, ceil, cip;
    /* resize: integer scales up_h, up_w, or (up_h == 0) a fixed output oh x ow, or
     * (oh < 0) a size computed from in[1]'s dims: size[a] = expr[a](dims of in[1]) */
    int up_h, up_w, oh, ow;
    oct__gexpr size_expr[2];
    /* slice: channels [c0, c0 + c) of in[0] (co holds c) */
    int c0;
    /* linear: y (N, fout) = x (N, fin) w^T + b; w (fout, fin) */
    int fin, fout;
    /* affine: y = x * scale + shift per channel (either may be NULL) */
    float *scale, *shift;
    oct__buf sb, tb;
    char role[4];        /* "hh", "lh", "hl", "ll" within its OctConv layer, or "" */
} oct__gnode;

typedef struct oct__graph oct__graph;

/* A line of a front end's own shape trace (OctNetMini's "Stem out", "Split x_h", ...):
 * printed after node `after` has run; dims of value v (-1: rank 0, "None"), with the
 * channels replaced by c when c > 0. */
typedef struct {
    int after;
    char label[32];
    int v, c;
} oct__gtrace;

/* What a node kind answers. `run` is NULL for views (slice, flatten). */
typedef struct {
    const char *name;
    /* Output dims from the input values' current dims (g->v[nd->in[i]].d). */
    oct_status (*shape)(const oct__graph *g, const oct__gnode *nd, oct__gdims *out);
    /* Multiply-accumulates of one image at the current dims. */
    long long (*macs)(const oct__graph *g, const oct__gnode *nd);
    /* Floats of scratch one pass of n images needs (shared by all nodes; NULL: none). */
    size_t (*scratch)(const oct__graph *g, const oct__gnode *nd, int n);
    /* Queue the node's ops for n images. */
    oct_status (*run)(oct__graph *g, oct__gnode *nd, int n);
    /* Upload host weights to the device; free the host copies (NULL: nothing to do). */
    oct_status (*upload)(oct__graph *g, oct__gnode *nd);
    void (*release)(oct__graph *g, oct__gnode *nd);
} oct__gkind;

extern const oct__gkind oct__gk_conv, oct__gk_pool, oct__gk_gap, oct__gk_add, oct__gk_affine, oct__gk_resize,
    oct__gk_concat, oct__gk_slice, oct__gk_flatten, oct__gk_linear;
const oct__gkind *oct__gkind_of(int kind);

struct oct__graph {
    oct_context *ctx;
    int nv, cap_v;
    oct__gvalue *v;
    int nn, cap_n;
    oct__gnode *nd;
    int input, output;       /* value ids */
    int in_n;                /* batch as exported (-1: symbolic) */
    int in_h, in_w;          /* input size as exported */
    long long params;        /* trainable parameters of the source model */
    int octconv_layers;      /* OctConv layers recognised (fuse.c) */
    char fixed_size_node[160];  /* a node whose sizes were computed from the exported shapes
                                   (so only in_h x in_w runs); "" when any size may run */
    /* The plan for (pn, ph, pw): storage slots, the input, the scratch. */
    int pn, ph, pw;
    int nslots;
    oct__buf *slots;
    oct__buf inbuf, scratch;
    size_t mem_limit;
    int max_chunk;           /* > 0: at most this many images per pass (the caller's size limit) */
    int last_chunk;
    /* Depth-first groups of the plan (graph.c, depth_plan): nodes [0, depth_end) run
     * depth_m images at a time, each group through all of them before the next, the rest
     * on the whole pass; depth_end 0: every node on the whole pass. img0 is the first
     * image of every view (oct__g_view) while a group runs, else 0. depth_cap > 0 (tests)
     * limits depth_end to that many nodes (pcap: the cap the plan was made with). */
    int depth_end, depth_m, img0, depth_cap, pcap;
    /* A front end's own trace lines (replacing the one line per node), NULL: none. */
    int ntraces;
    oct__gtrace *traces;
    /* Non-NULL while oct_model_profile times a pass: prof[i] receives the wall seconds of
     * node i, summed over the pass's chunks (the backend is finished after every node). */
    double *prof;
    /* The clock those times read, in seconds; NULL: CLOCK_MONOTONIC. Tests set a counter
     * here so that the sums and shares are exact rather than noisy wall times. */
    double (*clock)(void);
    /* With prof, non-NULL while oct_model_profile_threads times a pass: prof_busy[i *
     * prof_threads + t] receives thread t's busy seconds in node i, summed like prof and
     * shared like it by a conv2d_pair's convolutions, always on CLOCK_MONOTONIC: for the
     * calling thread (t = 0) the node's wall time less its waits at the ends of ops for the
     * other threads, for the others their time inside their shares of the ops (the
     * backend's threads and times slots; one thread, busy throughout, without them). */
    double *prof_busy;
    int prof_threads;
    double *busy_chunk; /* graph.c's own, while such a pass runs: the chunk's sums, then
                         * two readings of the threads' times */
    /* Non-NULL while oct_model_layer_macs_executed counts a pass on a backend that counts
     * (oct_context_macs_executed not -1): prof_exec[i] receives the
     * multiply-adds the backend executed in node i (oct_context_macs_executed's count read
     * around it), summed over the pass's chunks and shared like prof by a conv2d_pair's
     * convolutions; exec_chunk is graph.c's own, the chunk's sums. */
    long long *prof_exec;
    long long *exec_chunk;
};

/* ------------------------------------------------------------------------------------ */
/* Building (front ends)                                                                  */

oct_status oct__graph_create(oct_context *ctx, oct__graph **out);
void oct__graph_free(oct__graph *g);
/* A new value; *id receives its index. */
oct_status oct__g_value(oct__graph *g, const char *name, int rank, oct__gdims d, int producer, int *id);
/* A new node of `kind` (zeroed but for kind, name, res = -1); *nd points into g->nd
 * until the next oct__g_node. */
oct_status oct__g_node(oct__graph *g, int kind, const char *name, oct__gnode **nd, int *index);
oct_status oct__g_set_inputs(oct__graph *g, oct__gnode *nd, int nin, const int *in);
/* Append "Op name" to the node's list of folded source nodes. */
oct_status oct__g_note_fused(oct__gnode *nd, const char *op, const char *name);
/* Run nd's shape function at the current dims and create its outputs (named names[]). */
oct_status oct__g_finish_node(oct__graph *g, int index, const char *const *names);
/* Remove node `index` from the order and insert it at the end (a residual Add fused
 * into a conv runs where the Add was). */
void oct__g_move_to_end(oct__graph *g, int index);
/* Move node `from` to position `to` (> from), the nodes between one place up; every node
 * index (producers, pairs, sides) follows, and trace points after any of nodes from..to
 * print after `to`. */
void oct__g_move_later(oct__graph *g, int from, int to);
/* Remove node `index` (its outputs keep their dims; nothing may read them). */
void oct__g_remove(oct__graph *g, int index);
/* Add a trace line (see oct__gtrace) printed after node `after`. */
oct_status oct__g_trace_point(oct__graph *g, int after, const char *label, int v, int c);
/* The value that owns v's storage (v itself unless v is a view). */
int oct__g_root(const oct__graph *g, int v);
/* Number of nodes reading value v (graph output counts as one). */
int oct__g_readers(const oct__graph *g, int v);

/* ------------------------------------------------------------------------------------ */
/* Walks                                                                                  */

/* Dims of every value for an input of h x w; checks every node's shape rules. */
oct_status oct__graph_shapes(oct__graph *g, int h, int w);
/* After the front end's fusions (fuse.c): pair each conv that adds onto another's
 * output so the two run as one conv2d_pair op where the backend has it, and name the
 * OctConv layers (H->H with L->H upsampled into it; H->L on AvgPool(2) of the same
 * x_h plus L->L) for info. *layers receives the number of OctConv layers found. */
oct_status oct__graph_fuse_octconv(oct__graph *g, int *layers);
/* Upload every node's weights (after fusion passes). */
oct_status oct__graph_upload(oct__graph *g);
/* The view of value v for n images under the current plan (from image g->img0). */
oct__view oct__g_view(const oct__graph *g, int v, int n);
/* The scratch buffer of the current plan (at least what every node asked for). */
const oct__buf *oct__g_scratch(const oct__graph *g);
long long oct__graph_macs(oct__graph *g, int h, int w);
size_t oct__graph_activation_bytes(oct__graph *g, int n, int h, int w);
/* out (n, output features) = graph(x (n, C, h, w)), chunked under g->mem_limit. With
 * g->prof set, also the seconds of each node (see oct__graph.prof). */
oct_status oct__graph_forward(oct__graph *g, const float *x, int n, int h, int w, float *out, oct_trace_fn trace,
                              void *user);
/* One line per node without running anything: label "name (Kind)", output dims. */
oct_status oct__graph_trace(oct__graph *g, int n, int h, int w, oct_trace_fn trace, void *user);

/* The graph behind a model loaded from ONNX, NULL for OctNetMini (model.c), whose
 * queries answer from its info. */
oct__graph *oct__model_graph(const oct_model *m);
/* The graph of any model, OctNetMini's included (its layers list like an ONNX model's). */
oct__graph *oct__model_any_graph(const oct_model *m);

/* OctNetMini (the seed's network) as a graph: weights with BatchNorm already folded
 * (from_octnet.c). c_h / c_l: high / low channels after the split (0), after b1 (1) and
 * after b2 (2); path_w[b][p] the folded weight of block b's path p (oct_path order,
 * NULL where the path has no channels), band_b[b][band] the folded shift of block b's
 * high (0) / low (1) output. The arrays are copied. */
typedef struct {
    int in_c, classes, stem_c, block_c, c_h[3], c_l[3];
    long long params;
    const float *stem_w, *stem_b, *path_w[2][4], *band_b[2][2], *fc_w, *fc_b;
} oct__octnet_weights;
oct_status oct__octnet_graph(oct_context *ctx, const oct__octnet_weights *wt, oct__graph **out);

/* 1 when conv node nd runs its partner nd->pair too, as one conv2d_pair op (k_conv.c):
 * the op's time belongs to both. */
int oct__gconv_runs_pair(const oct__graph *g, const oct__gnode *nd);
/* The conv node that runs conv node i (its pair partner, nd[i].paired) with its own as
 * one conv2d_pair op; -1: none, node i runs by itself (k_conv.c). */
int oct__gconv_pair_runner(const oct__graph *g, int i);
/* 1 when pair node nd may run conv node lh (an L->H over one of the pair's inputs, same
 * geometry) as its op's side output: what k_conv.c runs and fuse.c plans on. */
int oct__gconv_side_ok(const oct__graph *g, const oct__gnode *nd, const oct__gnode *lh);

/* The poolg op of pool node nd for n images (k_pool.c). */
oct__poolg_op oct__gpool_op(const oct__graph *g, const oct__gnode *nd, int n);

/* Shared helpers for the kinds. */
oct_status oct__gfail_shape(const oct__gnode *nd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* OCT_GRAPH_H */
