/* model.c — OctNetMini described once: the seed's state_dict keys and shapes, reading
 * the band splits off a file, BatchNorm folded into the convolutions on load, and the
 * forward plan (stem conv + bias + ReLU, split, two OctConv blocks with ReLU, global
 * average pool per band in place of the merge, linear). Backends only run its ops.
 */
#include "graph/graph.h"
#include "io.h"
#include "octconv.h"
#include "onnx/onnx_import.h"
#include "safetensors.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STEM_C 64
#define BLOCK_C 128

/* ------------------------------------------------------------------------------------ */
/* The state_dict: names and shapes for a configuration                                  */

typedef struct {
    char name[48];
    int ndim;
    int64_t shape[4];
    int trainable;      /* counted as a parameter (running statistics are not) */
    float *data;        /* filled from the file or the generator */
} oct__entry;

#define MAX_ENTRIES 48

typedef struct {
    oct__entry e[MAX_ENTRIES];
    int count;
} oct__table;

/* name = a "." b; names here are short and fixed, so truncation cannot happen. */
static void join(char *name, size_t len, const char *a, const char *b)
{
    if (snprintf(name, len, "%s.%s", a, b) >= (int)len) name[len - 1] = '\0';
}

static oct__entry *tab_add(oct__table *t, const char *name, int trainable, int ndim, int64_t d0, int64_t d1,
                           int64_t d2, int64_t d3)
{
    oct__entry *e = &t->e[t->count++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->ndim = ndim;
    e->shape[0] = d0, e->shape[1] = d1, e->shape[2] = d2, e->shape[3] = d3;
    e->trainable = trainable;
    return e;
}

static size_t entry_count(const oct__entry *e)
{
    size_t n = 1;
    for (int i = 0; i < e->ndim; i++) n *= (size_t)e->shape[i];
    return n;
}

static oct__entry *tab_find(oct__table *t, const char *name)
{
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->e[i].name, name) == 0) return &t->e[i];
    return NULL;
}

static void tab_bn(oct__table *t, const char *prefix, int c)
{
    static const char *const parts[] = {"weight", "bias", "running_mean", "running_var"};
    char name[48];
    for (int i = 0; i < 4; i++) {
        join(name, sizeof name, prefix, parts[i]);
        tab_add(t, name, i < 2, 1, c, 0, 0, 0);
    }
}

/* The four path convolutions and the two BatchNorms of one OctaveConvBlock. */
static void tab_block(oct__table *t, const char *b, int ci_h, int ci_l, int co_h, int co_l)
{
    char name[48];
    int ci[4] = {ci_h, ci_h, ci_l, ci_l}, co[4] = {co_h, co_l, co_l, co_h};
    for (int p = 0; p < OCT_PATH_COUNT; p++) {
        if (!ci[p] || !co[p]) continue;
        snprintf(name, sizeof name, "%s.oct.%s.weight", b, oct__path_name((oct_path)p));
        tab_add(t, name, 1, 4, co[p], ci[p], 3, 3);
    }
    if (co_h) {
        snprintf(name, sizeof name, "%s.bn_h", b);
        tab_bn(t, name, co_h);
    }
    if (co_l) {
        snprintf(name, sizeof name, "%s.bn_l", b);
        tab_bn(t, name, co_l);
    }
}

/* Every key of the seed's OctNetMini state_dict (less num_batches_tracked). */
static void tab_build(oct__table *t, int in_c, int classes, int l0, int l1)
{
    t->count = 0;
    tab_add(t, "stem.0.weight", 1, 4, STEM_C, in_c, 3, 3);
    tab_bn(t, "stem.1", STEM_C);
    tab_block(t, "b1", STEM_C - l0, l0, BLOCK_C - l1, l1);
    tab_block(t, "b2", BLOCK_C - l1, l1, BLOCK_C - l1, l1);
    tab_add(t, "fc.weight", 1, 2, classes, BLOCK_C, 0, 0);
    tab_add(t, "fc.bias", 1, 1, classes, 0, 0, 0);
}

static void tab_release(oct__table *t)
{
    for (int i = 0; i < t->count; i++) free(t->e[i].data);
    t->count = 0;
}

static const char *fmt_shape(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t o = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < len) snprintf(buf + o, len - o, ")");
    return buf;
}

/* ------------------------------------------------------------------------------------ */
/* The model                                                                              */

struct oct_model {
    oct_context *ctx;
    oct_model_info info;
    oct__buf stem_w, stem_b;   /* (64, in, 3, 3), (64): BN folded */
    oct_octconv *b1, *b2;      /* BN folded into weights and path biases */
    oct__buf fc_w, fc_b;       /* (classes, 128), (classes) */
    /* Activations, reused while the input shape stays the same. Each stage reads one
     * tensor and writes the next, so they live in two ping-pong slots (high and low
     * band storage each): x, s and y2 in slot 0, stem and y1 in slot 1. */
    int n, h, w;
    oct__buf slot[2][2];       /* [slot][0: high, 1: low] */
    oct_tensor *x, *stem, *s, *y1, *y2;
    oct__buf pooled, logits;   /* (n, 128), (n, classes) */
    size_t mem_limit;          /* bytes of activations per pass, 0: no limit */
    int last_chunk;            /* images per pass in the last forward */
    oct__graph *graph;         /* a model loaded from ONNX: everything forwards to it */
};

oct__graph *oct__model_graph(const oct_model *m) { return m ? m->graph : NULL; }

static void release_activations(oct_model *m);

void oct_model_free(oct_model *m)
{
    if (!m) return;
    oct__graph_free(m->graph);
    release_activations(m);
    oct__buf_free(m->ctx, &m->fc_b);
    oct__buf_free(m->ctx, &m->fc_w);
    oct_octconv_free(m->b2);
    oct_octconv_free(m->b1);
    oct__buf_free(m->ctx, &m->stem_b);
    oct__buf_free(m->ctx, &m->stem_w);
    free(m);
}

/* scale = gamma / sqrt(var + eps), shift = beta - mean * scale, per channel. */
static oct_status bn_fold(oct__table *t, const char *prefix, int c, double eps, float *scale, float *shift)
{
    char name[48];
    const float *v[4];
    static const char *const parts[] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++) {
        join(name, sizeof name, prefix, parts[i]);
        v[i] = tab_find(t, name)->data;
    }
    for (int i = 0; i < c; i++) {
        double var = v[3][i];
        if (!(var + eps > 0) || !isfinite(var))
            return oct__fail(OCT_ERR_MODEL, "%s.running_var[%d] = %g: variance + eps must be positive", prefix, i, var);
        double sc = v[0][i] / sqrt(var + eps);
        scale[i] = (float)sc;
        shift[i] = (float)(v[1][i] - v[2][i] * sc);
        /* Folding must leave numbers a float holds: a tiny bn_eps over a zero variance
         * (or a huge weight) would give inf, which backends then treat differently. */
        if (!isfinite(scale[i]) || !isfinite(shift[i]))
            return oct__fail(OCT_ERR_MODEL,
                             "%s: folding BatchNorm channel %d gives a non-finite %s (weight %g / sqrt(running_var %g + "
                             "bn_eps %g), bias %g, running_mean %g)",
                             prefix, i, !isfinite(scale[i]) ? "scale" : "shift", (double)v[0][i], var, eps,
                             (double)v[1][i], (double)v[2][i]);
    }
    return OCT_OK;
}

/* Every value finite, or OCT_ERR_MODEL naming the tensor (after BatchNorm folding). */
static oct_status check_finite(const float *v, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(v[i]))
            return oct__fail(OCT_ERR_MODEL, "%s: folding BatchNorm into it gives a non-finite value at index %zu",
                             name, i);
    return OCT_OK;
}

/* Multiply each output channel (leading dim, co of them) of w by scale. */
static void scale_rows(float *w, int co, size_t per_row, const float *scale)
{
    for (int o = 0; o < co; o++)
        for (size_t i = 0; i < per_row; i++) w[(size_t)o * per_row + i] *= scale[o];
}

/* One block: fold bn_h into HH and LH, bn_l into HL and LL; each band's shift becomes
 * the bias of one path into it (the resize adds it back at full size). */
static oct_status load_block(oct_model *m, oct__table *t, const char *b, int cin, int cout, double alpha,
                             double eps, oct_octconv **out)
{
    oct_octconv_params p = oct_octconv_defaults(cin, cout);
    p.alpha_in = p.alpha_out = alpha;
    OCT__TRY(oct_octconv_create(m->ctx, &p, out));
    oct_octconv *l = *out;
    float scale[BLOCK_C], shift[BLOCK_C];
    char name[48];
    for (int band = 0; band < 2; band++) {
        int co = band == 0 ? l->cout_h : l->cout_l;
        if (!co) continue;
        join(name, sizeof name, b, band == 0 ? "bn_h" : "bn_l");
        OCT__TRY(bn_fold(t, name, co, eps, scale, shift));
        oct_path into[2] = {band == 0 ? OCT_PATH_HH : OCT_PATH_HL, band == 0 ? OCT_PATH_LH : OCT_PATH_LL};
        int biased = 0;
        for (int k = 0; k < 2; k++) {
            if (!oct_octconv_has_path(l, into[k])) continue;
            snprintf(name, sizeof name, "%s.oct.%s.weight", b, oct__path_name(into[k]));
            oct__entry *e = tab_find(t, name);
            size_t cnt = entry_count(e);
            scale_rows(e->data, co, cnt / (size_t)co, scale);
            OCT__TRY(check_finite(e->data, cnt, name));
            OCT__TRY(oct_octconv_set_path(l, into[k], e->data, cnt, NULL, 0));
            if (!biased) {
                OCT__TRY(oct__octconv_set_bias(l, into[k], shift));
                biased = 1;
            }
        }
    }
    return OCT_OK;
}

/* Build the device model from a complete, checked table. */
static oct_status model_from_table(oct_context *ctx, oct__table *t, const oct_model_info *info, double eps,
                                   oct_model **out)
{
    oct_model *m = oct__calloc(1, sizeof *m);
    if (!m) return oct__fail(OCT_ERR_HOST_MEMORY, "model: out of host memory");
    m->ctx = ctx;
    m->info = *info;
    float scale[STEM_C], shift[STEM_C];
    oct__entry *sw = tab_find(t, "stem.0.weight");
    oct_status s = bn_fold(t, "stem.1", STEM_C, eps, scale, shift);
    if (s != OCT_OK) goto fail;
    scale_rows(sw->data, STEM_C, entry_count(sw) / STEM_C, scale);
    if ((s = check_finite(sw->data, entry_count(sw), "stem.0.weight")) != OCT_OK) goto fail;
    if ((s = oct__buf_upload(ctx, &m->stem_w, sw->data, entry_count(sw))) != OCT_OK) goto fail;
    if ((s = oct__buf_upload(ctx, &m->stem_b, shift, STEM_C)) != OCT_OK) goto fail;
    if ((s = load_block(m, t, "b1", STEM_C, BLOCK_C, info->alpha, eps, &m->b1)) != OCT_OK) goto fail;
    if ((s = load_block(m, t, "b2", BLOCK_C, BLOCK_C, info->alpha, eps, &m->b2)) != OCT_OK) goto fail;
    oct__entry *fw = tab_find(t, "fc.weight"), *fb = tab_find(t, "fc.bias");
    if ((s = oct__buf_upload(ctx, &m->fc_w, fw->data, entry_count(fw))) != OCT_OK) goto fail;
    if ((s = oct__buf_upload(ctx, &m->fc_b, fb->data, entry_count(fb))) != OCT_OK) goto fail;
    *out = m;
    return OCT_OK;
fail:
    oct_model_free(m);
    return s;
}

static void info_fill(oct_model_info *info, const oct__table *t, int in_c, int classes, double alpha, int l0, int l1)
{
    memset(info, 0, sizeof *info);
    info->in_channels = in_c;
    info->num_classes = classes;
    info->alpha = alpha;
    info->stem_channels = STEM_C;
    info->c_l[0] = l0, info->c_l[1] = l1, info->c_l[2] = l1;
    info->c_h[0] = STEM_C - l0, info->c_h[1] = BLOCK_C - l1, info->c_h[2] = BLOCK_C - l1;
    for (int i = 0; i < t->count; i++)
        if (t->e[i].trainable) info->parameters += (long long)entry_count(&t->e[i]);
}

/* ------------------------------------------------------------------------------------ */
/* Loading a safetensors state_dict                                                       */

/* A plain decimal number, all of s: [+-]digits[.digits][(e|E)[+-]digits] (or .digits);
 * no spaces, no hex floats, no inf / nan, and finite. */
static int parse_double(const char *s, double *out)
{
    const char *p = s;
    int digits = 0;
    if (*p == '+' || *p == '-') p++;
    while (*p >= '0' && *p <= '9') p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') p++, digits++;
    }
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return 0;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p != '\0') return 0;
    char *end;
    double v = strtod(s, &end);
    if (end != p || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

/* An alpha whose channel split gives l0 of 64 and l1 of 128, or -1. */
static double alpha_for(int l0, int l1)
{
    double cand[3] = {(double)l1 / BLOCK_C, (double)l0 / STEM_C, 0};
    double lo = fmax((l0 - 0.5) / STEM_C, (l1 - 0.5) / BLOCK_C), hi = fmin((l0 + 0.5) / STEM_C, (l1 + 0.5) / BLOCK_C);
    cand[2] = (lo + hi) / 2;
    for (int i = 0; i < 3; i++)
        if (oct_low_channels(STEM_C, cand[i]) == l0 && oct_low_channels(BLOCK_C, cand[i]) == l1) return cand[i];
    return -1;
}

/* Read l0 (low channels into b1) and l1 (low channels out of b1) off b1's path shapes. */
static oct_status splits_from_file(const oct__st *st, const char *path, int *l0, int *l1)
{
    static const char *const keys[4] = {"b1.oct.hh.weight", "b1.oct.hl.weight", "b1.oct.ll.weight", "b1.oct.lh.weight"};
    *l0 = *l1 = -1;
    for (int p = 0; p < 4; p++) {
        const oct__st_tensor *t = oct__st_find(st, keys[p]);
        if (!t) continue;
        if (t->ndim != 4)
            return oct__fail(OCT_ERR_MODEL, "%s: tensor '%s' has rank %d, expected 4", path, keys[p], t->ndim);
        int in_high = p == OCT_PATH_HH || p == OCT_PATH_HL, out_high = p == OCT_PATH_HH || p == OCT_PATH_LH;
        if (t->shape[0] < 1 || t->shape[0] > BLOCK_C || t->shape[1] < 1 || t->shape[1] > STEM_C)
            continue; /* reported as mis-shaped by the full comparison */
        *l0 = in_high ? STEM_C - (int)t->shape[1] : (int)t->shape[1];
        *l1 = out_high ? BLOCK_C - (int)t->shape[0] : (int)t->shape[0];
        return OCT_OK;
    }
    return oct__fail(OCT_ERR_MODEL, "%s: none of b1.oct.{hh,hl,ll,lh}.weight is present with a usable shape", path);
}

/* A BatchNorm's counter: "<bn>.num_batches_tracked" where <bn> is a BatchNorm of the
 * table (it has a running_var), a scalar (PyTorch saves a 0-d int64). */
static int is_bn_counter(const oct__table *t, const oct__st_tensor *f)
{
    const char *suffix = ".num_batches_tracked", *name = f->name;
    size_t n = strlen(name), k = strlen(suffix);
    if (n <= k || strcmp(name + n - k, suffix) != 0 || f->ndim != 0) return 0;
    char prefix[48];
    if (n - k + strlen(".running_var") >= sizeof prefix) return 0;
    snprintf(prefix, sizeof prefix, "%.*s.running_var", (int)(n - k), name);
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->e[i].name, prefix) == 0) return 1;
    return 0;
}

/* A safetensors file opens with its header length (8 bytes) and then '{'; anything
 * else that opens is taken for ONNX. Opened through io_file.c (without blocking, regular
 * files only), so a FIFO or a device cannot hang the sniff; what fails to open goes the
 * safetensors way, whose reader reports it. */
static int oct__is_onnx_file(const char *path)
{
    unsigned char head[9];
    size_t size = 0, got = 0;
    int fd = -1;
    if (oct__open_regular(path, 0, SIZE_MAX, &fd, &size) != OCT_OK) return 0;
    while (got < sizeof head) {
        ssize_t k = read(fd, head + got, sizeof head - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    return got > 0 && !(got == sizeof head && head[8] == '{');
}

/* An ONNX model: the graph does the work; the info is read off its input and output. */
static oct_status load_onnx(oct_context *ctx, const char *path, oct_model **out)
{
    oct__graph *g;
    OCT__TRY(oct__onnx_load(ctx, path, &g));
    oct_model *m = oct__calloc(1, sizeof *m);
    if (!m) {
        oct__graph_free(g);
        return oct__fail(OCT_ERR_HOST_MEMORY, "model: out of host memory");
    }
    m->ctx = ctx;
    m->graph = g;
    const oct__gdims *o = &g->v[g->output].d;
    m->info.in_channels = g->v[g->input].d.c;
    m->info.num_classes = o->c * o->h * o->w;
    m->info.alpha = -1;
    m->info.parameters = g->params;
    *out = m;
    return OCT_OK;
}

oct_status oct_model_load(oct_context *ctx, const char *path, oct_model **out)
{
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "oct_model_load: out is NULL");
    *out = NULL;
    if (!ctx || !path)
        return oct__fail(OCT_ERR_NULL_ARG, "oct_model_load: %s is NULL", !ctx ? "context" : "path");
    if (oct__is_onnx_file(path)) return load_onnx(ctx, path, out);
    oct__st st;
    OCT__TRY(oct__st_load(path, &st));
    oct__table *t = oct__calloc(1, sizeof *t);
    oct_status s = OCT_OK;
    char a[96], b[96];
    if (!t) {
        s = oct__fail(OCT_ERR_HOST_MEMORY, "model: out of host memory");
        goto done;
    }
    const oct__st_tensor *stem = oct__st_find(&st, "stem.0.weight"), *fc = oct__st_find(&st, "fc.weight");
    if (!stem || !fc) {
        s = oct__fail(OCT_ERR_MODEL, "%s: tensor '%s' is missing", path, !stem ? "stem.0.weight" : "fc.weight");
        goto done;
    }
    if (stem->ndim != 4 || stem->shape[1] < 1 || stem->shape[1] > 4096) {
        s = oct__fail(OCT_ERR_MODEL, "%s: tensor 'stem.0.weight' has shape %s, expected (64, in_channels, 3, 3)",
                      path, fmt_shape(a, sizeof a, stem->ndim, stem->shape));
        goto done;
    }
    if (fc->ndim != 2 || fc->shape[0] < 1 || fc->shape[0] > 1000000) {
        s = oct__fail(OCT_ERR_MODEL, "%s: tensor 'fc.weight' has shape %s, expected (num_classes, 128)", path,
                      fmt_shape(a, sizeof a, fc->ndim, fc->shape));
        goto done;
    }
    int in_c = (int)stem->shape[1], classes = (int)fc->shape[0], l0, l1;
    if ((s = splits_from_file(&st, path, &l0, &l1)) != OCT_OK) goto done;
    double alpha = alpha_for(l0, l1);
    if (alpha < 0) {
        s = oct__fail(OCT_ERR_MODEL, "%s: b1 has %d low input and %d low output channels: no alpha gives both", path,
                      l0, l1);
        goto done;
    }
    const char *meta = oct__st_meta(&st, "alpha");
    if (meta) {
        double ma;
        if (!parse_double(meta, &ma) || !(ma >= 0 && ma <= 1)) {
            s = oct__fail(OCT_ERR_MODEL, "%s: __metadata__ alpha \"%s\" is not a number in [0, 1]", path, meta);
            goto done;
        }
        if (oct_low_channels(STEM_C, ma) != l0 || oct_low_channels(BLOCK_C, ma) != l1) {
            s = oct__fail(OCT_ERR_MODEL,
                          "%s: __metadata__ alpha %s splits 64/128 channels into %d/%d low, the tensors into %d/%d",
                          path, meta, oct_low_channels(STEM_C, ma), oct_low_channels(BLOCK_C, ma), l0, l1);
            goto done;
        }
        alpha = ma;
    }
    double eps = 1e-5;
    const char *meps = oct__st_meta(&st, "bn_eps");
    if (meps && (!parse_double(meps, &eps) || !(eps > 0))) {
        s = oct__fail(OCT_ERR_MODEL, "%s: __metadata__ bn_eps \"%s\" is not a positive number", path, meps);
        goto done;
    }
    tab_build(t, in_c, classes, l0, l1);
    /* Every expected tensor present with its shape, converted to float. */
    for (int i = 0; i < t->count; i++) {
        oct__entry *e = &t->e[i];
        const oct__st_tensor *f = oct__st_find(&st, e->name);
        if (!f) {
            s = oct__fail(OCT_ERR_MODEL, "%s: tensor '%s' is missing (expected shape %s for alpha %g)", path, e->name,
                          fmt_shape(a, sizeof a, e->ndim, e->shape), alpha);
            goto done;
        }
        int same = f->ndim == e->ndim;
        for (int d = 0; same && d < e->ndim; d++) same = f->shape[d] == e->shape[d];
        if (!same) {
            s = oct__fail(OCT_ERR_MODEL, "%s: tensor '%s' has shape %s, expected %s", path, e->name,
                          fmt_shape(a, sizeof a, f->ndim, f->shape), fmt_shape(b, sizeof b, e->ndim, e->shape));
            goto done;
        }
        e->data = oct__malloc(entry_count(e) * sizeof(float));
        if (!e->data) {
            s = oct__fail(OCT_ERR_HOST_MEMORY, "model: out of host memory for '%s'", e->name);
            goto done;
        }
        if ((s = oct__st_to_f32(&st, f, e->data)) != OCT_OK) goto done;
        for (size_t k = 0; k < entry_count(e); k++)
            if (!isfinite(e->data[k])) {
                s = oct__fail(OCT_ERR_MODEL, "%s: tensor '%s' holds a non-finite value at index %zu", path, e->name, k);
                goto done;
            }
    }
    /* Nothing else, but the BatchNorm counters PyTorch saves beside each BN. */
    for (int i = 0; i < st.count; i++)
        if (!tab_find(t, st.tensors[i].name) && !is_bn_counter(t, &st.tensors[i])) {
            s = oct__fail(OCT_ERR_MODEL,
                          "%s: unexpected tensor '%s' of shape %s (not part of OctNetMini at alpha %g%s)", path,
                          st.tensors[i].name, fmt_shape(a, sizeof a, st.tensors[i].ndim, st.tensors[i].shape), alpha,
                          strstr(st.tensors[i].name, "num_batches_tracked")
                              ? "; a num_batches_tracked is a scalar beside a BatchNorm"
                              : "");
            goto done;
        }
    oct_model_info info;
    info_fill(&info, t, in_c, classes, alpha, l0, l1);
    const char *mean = oct__st_meta(&st, "mean"), *std = oct__st_meta(&st, "std");
    if (mean || std) {
        if (!mean || !std || !parse_double(mean, &info.mean) || !parse_double(std, &info.std) || !(info.std > 0)) {
            s = oct__fail(OCT_ERR_MODEL, "%s: __metadata__ mean \"%s\" / std \"%s\" must both be numbers, std > 0", path,
                          mean ? mean : "(missing)", std ? std : "(missing)");
            goto done;
        }
        /* The normalised pixels, (p / 255 - mean) / std for p in [0, 255], must be
         * finite floats: the extremes p = 0 and p = 255 bound them. */
        float lo = (float)((0.0 - info.mean) / info.std), hi = (float)((1.0 - info.mean) / info.std);
        if (!isfinite(lo) || !isfinite(hi)) {
            s = oct__fail(OCT_ERR_MODEL,
                          "%s: __metadata__ %s \"%s\" makes normalised pixels (p / 255 - mean) / std overflow a float",
                          path, fabs(info.mean) > 1e30 ? "mean" : "std", fabs(info.mean) > 1e30 ? mean : std);
            goto done;
        }
        info.has_norm = 1;
    }
    s = model_from_table(ctx, t, &info, eps, out);
done:
    if (t) tab_release(t);
    free(t);
    oct__st_release(&st);
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* Seeded weights                                                                         */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float uniform(uint64_t *s, double lo, double hi)
{
    return (float)(lo + (hi - lo) * ((double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0)));
}

oct_status oct_model_create_random(oct_context *ctx, int in_channels, int num_classes, double alpha, uint64_t seed,
                                   oct_model **out)
{
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "oct_model_create_random: out is NULL");
    *out = NULL;
    if (!ctx) return oct__fail(OCT_ERR_NULL_ARG, "oct_model_create_random: context is NULL");
    if (!(alpha >= 0 && alpha <= 1))
        return oct__fail(OCT_ERR_BAD_ALPHA, "OctNetMini: alpha = %g is outside [0, 1]", alpha);
    if (in_channels < 1 || in_channels > 4096 || num_classes < 1 || num_classes > 1000000)
        return oct__fail(OCT_ERR_BAD_SIZE, "OctNetMini: in_channels = %d, num_classes = %d (must be 1..4096, 1..1000000)",
                         in_channels, num_classes);
    int l0 = oct_low_channels(STEM_C, alpha), l1 = oct_low_channels(BLOCK_C, alpha);
    oct__table *t = oct__calloc(1, sizeof *t);
    if (!t) return oct__fail(OCT_ERR_HOST_MEMORY, "model: out of host memory");
    tab_build(t, in_channels, num_classes, l0, l1);
    oct_status s = OCT_OK;
    uint64_t r = seed;
    for (int i = 0; i < t->count; i++) {
        oct__entry *e = &t->e[i];
        size_t n = entry_count(e);
        if (!(e->data = oct__malloc(n * sizeof(float)))) {
            s = oct__fail(OCT_ERR_HOST_MEMORY, "model: out of host memory for '%s'", e->name);
            goto done;
        }
        const char *dot = strrchr(e->name, '.');
        int is_bn = e->ndim == 1 && strncmp(e->name, "fc", 2) != 0;
        double fan_in = e->ndim == 4 ? (double)(e->shape[1] * 9) : (double)BLOCK_C;
        double bound = 1.0 / sqrt(fan_in);
        for (size_t k = 0; k < n; k++) {
            if (!is_bn)
                e->data[k] = uniform(&r, -bound, bound);
            else if (strcmp(dot, ".weight") == 0 || strcmp(dot, ".running_var") == 0)
                e->data[k] = uniform(&r, 0.5, 1.5);
            else
                e->data[k] = uniform(&r, -0.1, 0.1);
        }
    }
    oct_model_info info;
    info_fill(&info, t, in_channels, num_classes, alpha, l0, l1);
    s = model_from_table(ctx, t, &info, 1e-5, out);
done:
    tab_release(t);
    free(t);
    return s;
}

oct_status oct_model_info_get(const oct_model *m, oct_model_info *out)
{
    if (!m || !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_model_info_get: %s is NULL", !m ? "model" : "out");
    *out = m->info;
    return OCT_OK;
}

long long oct_model_macs(const oct_model *m, int h, int w)
{
    if (!m || h < 1 || w < 1) return 0;
    if (m->graph) return oct__graph_macs(m->graph, h, w);
    const oct_model_info *i = &m->info;
    long long hw = (long long)h * w, lhw = (long long)(h / 2) * (w / 2);
    long long macs = (long long)STEM_C * i->in_channels * 9 * hw;
    int cin_h = i->c_h[0], cin_l = i->c_l[0];
    for (int b = 1; b <= 2; b++) {
        int co_h = i->c_h[b], co_l = i->c_l[b];
        macs += 9LL * co_h * cin_h * hw;  /* HH */
        macs += 9LL * co_l * cin_h * lhw; /* HL, after Down */
        macs += 9LL * co_l * cin_l * lhw; /* LL */
        macs += 9LL * co_h * cin_l * lhw; /* LH, before Up */
        cin_h = co_h, cin_l = co_l;
    }
    return macs + (long long)BLOCK_C * i->num_classes;
}

/* ------------------------------------------------------------------------------------ */
/* Forward                                                                                */

static void release_activations(oct_model *m)
{
    oct__buf_free(m->ctx, &m->logits);
    oct__buf_free(m->ctx, &m->pooled);
    oct_tensor_free(m->y2);
    oct_tensor_free(m->y1);
    oct_tensor_free(m->s);
    oct_tensor_free(m->stem);
    oct_tensor_free(m->x);
    m->x = m->stem = m->s = m->y1 = m->y2 = NULL;
    for (int i = 0; i < 2; i++)
        for (int band = 0; band < 2; band++) oct__buf_free(m->ctx, &m->slot[i][band]);
    m->n = m->h = m->w = 0;
}

/* The shapes of a pass: input, stem output, split bands, after b1, after b2. */
static oct_status pass_shapes(const oct_model *m, int n, int h, int w, oct_shape sh[5])
{
    sh[0] = oct_shape_plain(n, m->info.in_channels, h, w);
    sh[1] = oct_shape_plain(n, STEM_C, h, w);
    OCT__TRY(oct_split_shape(&sh[1], m->info.alpha, &sh[2]));
    OCT__TRY(oct_octconv_output_shape(m->b1, &sh[2], &sh[3]));
    return oct_octconv_output_shape(m->b2, &sh[3], &sh[4]);
}

/* Floats of slot i's band (0 high, 1 low): the largest of the tensors that live there. */
static size_t slot_count(const oct_shape sh[5], int i, int band)
{
    size_t most = 0;
    for (int t = i; t < 5; t += 2) {
        size_t c = band ? oct_shape_low_count(&sh[t]) : oct_shape_high_count(&sh[t]);
        if (c > most) most = c;
    }
    return most;
}

static oct_status make_activations(oct_model *m, int n, int h, int w)
{
    if (m->x && m->n == n && m->h == h && m->w == w) return OCT_OK;
    release_activations(m);
    oct_context *ctx = m->ctx;
    oct_shape sh[5];
    oct_tensor **t[5] = {&m->x, &m->stem, &m->s, &m->y1, &m->y2};
    oct_status s = pass_shapes(m, n, h, w, sh);
    for (int i = 0; i < 2 && s == OCT_OK; i++)
        for (int band = 0; band < 2 && s == OCT_OK; band++)
            s = oct__buf_alloc(ctx, &m->slot[i][band], slot_count(sh, i, band));
    for (int i = 0; i < 5 && s == OCT_OK; i++)
        s = oct__tensor_borrow(ctx, &sh[i], &m->slot[i % 2][0], &m->slot[i % 2][1], t[i]);
    if (s == OCT_OK) s = oct__buf_alloc(ctx, &m->pooled, (size_t)n * BLOCK_C);
    if (s == OCT_OK) s = oct__buf_alloc(ctx, &m->logits, (size_t)n * m->info.num_classes);
    if (s != OCT_OK) {
        release_activations(m);
        return s;
    }
    m->n = n, m->h = h, m->w = w;
    return OCT_OK;
}

size_t oct_model_activation_bytes(const oct_model *m, int n, int h, int w)
{
    oct_shape sh[5];
    if (m && m->graph) return oct__graph_activation_bytes(m->graph, n, h, w);
    if (!m || n < 1 || h < 1 || w < 1 || pass_shapes(m, n, h, w, sh) != OCT_OK) return 0;
    size_t floats = (size_t)n * BLOCK_C + (size_t)n * m->info.num_classes;
    for (int i = 0; i < 2; i++) floats += slot_count(sh, i, 0) + slot_count(sh, i, 1);
    /* The layers' scratch; b2's LH scratch also holds the resized low band of the pooled
     * merge when the bands are not exactly 2:1. */
    const oct_octconv *b[2] = {m->b1, m->b2};
    const oct_shape *o = &sh[4];
    int resized = o->c_l > 0 && (o->h != 2 * o->hl || o->w != 2 * o->wl);
    for (int i = 0; i < 2; i++) {
        oct_shape down, lh;
        oct__octconv_scratch(b[i], &sh[2 + i], &down, &lh);
        size_t t = oct_shape_high_count(&lh), up = i == 1 && resized ? (size_t)n * o->c_l * o->h * o->w : 0;
        floats += oct_shape_high_count(&down) + (t > up ? t : up);
    }
    return floats * sizeof(float);
}

static void trace_bands(oct_trace_fn trace, void *user, const char *stage, const oct_shape *s)
{
    char label[48];
    int hi[4] = {s->n, s->c_h, s->h, s->w}, lo[4] = {s->n, s->c_l, s->hl, s->wl};
    snprintf(label, sizeof label, "%s x_h", stage);
    trace(user, label, s->c_h ? 4 : 0, hi);
    snprintf(label, sizeof label, "%s x_l", stage);
    trace(user, label, s->c_l ? 4 : 0, lo);
}

/* One pass over n images whose activations fit the device. */
static oct_status forward_chunk(oct_model *m, const float *x, int n, int h, int w, float *logits, oct_trace_fn trace,
                                void *user)
{
    oct_context *ctx = m->ctx;
    OCT__TRY(make_activations(m, n, h, w));
    OCT__TRY(oct_tensor_write(m->x, x, NULL));
    int in_c = m->info.in_channels, classes = m->info.num_classes;

    /* Stem: conv 3x3 pad 1 with BN folded, + ReLU. */
    oct__conv_op stem = {oct__view_of(&m->x->high, n, in_c, h, w), oct__view_of(&m->stem->high, n, STEM_C, h, w),
                         &m->stem_w, &m->stem_b, 3, 1, 1, 0, 1};
    OCT__TRY(ctx->be->conv2d(ctx, &stem));
    if (trace) trace(user, "Stem out", 4, (int[4]){n, STEM_C, h, w});

    OCT__TRY(oct_split(ctx, m->stem, m->info.alpha, m->s));
    if (trace) trace_bands(trace, user, "Split", &m->s->shape);
    OCT__TRY(oct__octconv_run(m->b1, m->s, m->y1, 1));
    if (trace) trace_bands(trace, user, "After b1", &m->y1->shape);
    OCT__TRY(oct__octconv_run(m->b2, m->y1, m->y2, 1));
    const oct_shape *o = &m->y2->shape;
    if (trace) trace_bands(trace, user, "After b2", o);

    /* Merge + global average pool, without materialising the merge: the mean of the
     * high band, then of the low band. Nearest resizing to exactly twice the size
     * repeats every low value four times, so its mean is the low band's own mean;
     * for any other ratio the resized band is formed in scratch (the layer's LH
     * scratch is free now) and averaged. */
    if (o->c_h) {
        oct__gap_op g = {oct__view_of(&m->y2->high, n, o->c_h, o->h, o->w), &m->pooled, BLOCK_C, 0};
        OCT__TRY(ctx->be->gap(ctx, &g));
    }
    if (o->c_l) {
        oct__view low = oct__view_of(&m->y2->low, n, o->c_l, o->hl, o->wl);
        if (o->h != 2 * o->hl || o->w != 2 * o->wl) {
            oct_octconv *b2 = m->b2;
            size_t need = (size_t)n * o->c_l * o->h * o->w;
            if (b2->tmp.count < need) {
                oct__buf_free(ctx, &b2->tmp);
                OCT__TRY(oct__buf_alloc(ctx, &b2->tmp, need));
            }
            oct__view up = oct__view_of(&b2->tmp, n, o->c_l, o->h, o->w);
            oct__resize_op r = {low, up, 0, 0};
            OCT__TRY(ctx->be->resize(ctx, &r));
            low = up;
        }
        oct__gap_op g = {low, &m->pooled, BLOCK_C, o->c_h};
        OCT__TRY(ctx->be->gap(ctx, &g));
    }
    if (trace) trace(user, "Merged x", 4, (int[4]){n, BLOCK_C, o->h, o->w});

    oct__linear_op fc = {&m->pooled, &m->fc_w, &m->fc_b, &m->logits, n, BLOCK_C, classes};
    OCT__TRY(ctx->be->linear(ctx, &fc));
    OCT__TRY(ctx->be->read(ctx, &m->logits, logits));
    if (trace) trace(user, "Logits", 2, (int[4]){n, classes, 0, 0});
    return OCT_OK;
}

/* The trace of a chunked pass reports the whole batch. */
typedef struct {
    oct_trace_fn fn;
    void *user;
    int n;
} batch_trace;

static void trace_whole_batch(void *user, const char *label, int rank, const int *dims)
{
    batch_trace *t = user;
    int d[4] = {0, 0, 0, 0};
    for (int i = 0; i < rank && i < 4; i++) d[i] = dims[i];
    if (rank > 0) d[0] = t->n;
    t->fn(t->user, label, rank, d);
}

oct_status oct_model_set_memory_limit(oct_model *m, size_t bytes)
{
    if (!m) return oct__fail(OCT_ERR_NULL_ARG, "oct_model_set_memory_limit: model is NULL");
    m->mem_limit = bytes;
    if (m->graph) m->graph->mem_limit = bytes;
    return OCT_OK;
}

oct_status oct_model_forward(oct_model *m, const float *x, int n, int h, int w, float *logits, oct_trace_fn trace,
                             void *user)
{
    if (!m || !x || !logits)
        return oct__fail(OCT_ERR_NULL_ARG, "oct_model_forward: %s is NULL", !m ? "model" : !x ? "input" : "logits");
    if (m->graph) return oct__graph_forward(m->graph, x, n, h, w, logits, trace, user);
    if (n < 1 || h < 1 || w < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "OctNetMini: input (%d, %d, %d, %d) must have n, h, w >= 1", n,
                         m->info.in_channels, h, w);
    if ((m->info.c_l[0] > 0 || m->info.c_l[1] > 0) && (h < 2 || w < 2))
        return oct__fail(OCT_ERR_BAD_SIZE, "OctNetMini: input %dx%d is too small for a low band at alpha %g (needs 2x2)",
                         h, w, m->info.alpha);
    /* Sizes before any work: the widest tensor of a pass (max(in_channels, 128) channels
     * at h x w per image) must keep every band within the element limit of a tensor
     * (INT_MAX); a larger batch runs in chunks that do. */
    size_t per_image = (size_t)(m->info.in_channels > BLOCK_C ? m->info.in_channels : BLOCK_C) * (size_t)h * (size_t)w;
    if (per_image > (size_t)INT_MAX)
        return oct__fail(OCT_ERR_BAD_SIZE,
                         "OctNetMini: one %dx%d image has a tensor of %zu elements, over the limit of %d per tensor", h,
                         w, per_image, INT_MAX);
    /* Inputs must be finite: a NaN or an Inf turns its image's logits into NaN. */
    size_t in_count = (size_t)n * (size_t)m->info.in_channels * (size_t)h * (size_t)w;
    for (size_t i = 0; i < in_count; i++)
        if (!isfinite(x[i]))
            return oct__fail(OCT_ERR_BAD_SIZE, "OctNetMini: input value %zu (image %zu) is %s; inputs must be finite", i,
                             i / (in_count / (size_t)n), isnan(x[i]) ? "NaN" : "Inf");
    /* Images per chunk: all of them, or as many as the memory limit allows. */
    int chunk = n;
    if ((size_t)chunk > (size_t)INT_MAX / per_image) chunk = (int)((size_t)INT_MAX / per_image);
    if (m->mem_limit) {
        size_t one = oct_model_activation_bytes(m, 1, h, w);
        if (one == 0 || one > m->mem_limit)
            return oct__fail(OCT_ERR_DEVICE_MEMORY,
                             "OctNetMini: one %dx%d image needs %zu bytes of activations, over the limit of %zu bytes", h,
                             w, one, m->mem_limit);
        int lo = 1, hi = chunk;
        while (lo < hi) { /* the largest chunk within the limit */
            int mid = lo + (hi - lo + 1) / 2;
            size_t b = oct_model_activation_bytes(m, mid, h, w);
            if (b != 0 && b <= m->mem_limit)
                lo = mid;
            else
                hi = mid - 1;
        }
        chunk = lo;
    }
    m->last_chunk = chunk;
    size_t in_stride = (size_t)m->info.in_channels * h * w, out_stride = (size_t)m->info.num_classes;
    batch_trace bt = {trace, user, n};
    for (int start = 0; start < n;) {
        int k = n - start < chunk ? n - start : chunk;
        oct_status s = forward_chunk(m, x + (size_t)start * in_stride, k, h, w, logits + (size_t)start * out_stride,
                                     start == 0 && trace ? trace_whole_batch : NULL, &bt);
        if ((s == OCT_ERR_DEVICE_MEMORY || s == OCT_ERR_HOST_MEMORY) && k > 1) {
            /* The device (for the CPU backends: the host) ran out: give back what this
             * pass held and go on in halves. */
            release_activations(m);
            chunk = k / 2;
            m->last_chunk = chunk;
            continue;
        }
        OCT__TRY(s);
        start += k;
    }
    /* A logit that overflowed is an error, not an answer. */
    size_t out_count = (size_t)n * out_stride;
    for (size_t i = 0; i < out_count; i++)
        if (!isfinite(logits[i]))
            return oct__fail(OCT_ERR_MODEL,
                             "OctNetMini: logit %zu of image %zu is %s: the model's weights overflow float32 on this "
                             "input",
                             i % out_stride, i / out_stride, isnan(logits[i]) ? "NaN" : "Inf");
    return OCT_OK;
}

int oct_model_last_chunk(const oct_model *m) { return !m ? 0 : m->graph ? m->graph->last_chunk : m->last_chunk; }
