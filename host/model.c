/* model.c — the oct_model_* entry points. OctNetMini's state_dict described once (keys
 * and shapes for a configuration), read off a safetensors file with its band splits and
 * metadata checked, or generated from a seed; BatchNorm folded into the convolutions;
 * then built as a graph (graph/from_octnet.c). An ONNX file becomes a graph through
 * onnx/onnx_import.c. Forward, MACs, activation memory, chunking and the shape trace are
 * the graph's walks.
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
/* The model: a graph either way (from_octnet.c for OctNetMini, onnx_import.c for ONNX)   */

struct oct_model {
    oct_context *ctx;
    oct_model_info info;
    oct__graph *graph;
    int octnet;                /* 1: OctNetMini (the queries answer from info) */
};

oct__graph *oct__model_graph(const oct_model *m) { return m && !m->octnet ? m->graph : NULL; }
oct__graph *oct__model_any_graph(const oct_model *m) { return m ? m->graph : NULL; }

void oct_model_free(oct_model *m)
{
    if (!m) return;
    oct__graph_free(m->graph);
    free(m);
}

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

/* Fold the BatchNorms into the table's weights (stem, and per block bn_h into HH and LH,
 * bn_l into HL and LL; each band's shift becomes the bias of the first path into it) and
 * build the graph. */
static oct_status model_from_table(oct_context *ctx, oct__table *t, const oct_model_info *info, double eps,
                                   oct_model **out)
{
    oct_model *m = oct__calloc(1, sizeof *m);
    if (!m) return oct__fail(OCT_ERR_HOST_MEMORY, "model: out of host memory");
    m->ctx = ctx;
    m->info = *info;
    m->octnet = 1;
    float stem_scale[STEM_C], stem_shift[STEM_C], scale[BLOCK_C], shift[2][2][BLOCK_C];
    oct__octnet_weights wt;
    memset(&wt, 0, sizeof wt);
    wt.in_c = info->in_channels, wt.classes = info->num_classes, wt.stem_c = STEM_C, wt.block_c = BLOCK_C;
    for (int i = 0; i < 3; i++) wt.c_h[i] = info->c_h[i], wt.c_l[i] = info->c_l[i];
    wt.params = info->parameters;
    oct__entry *sw = tab_find(t, "stem.0.weight");
    oct_status s = bn_fold(t, "stem.1", STEM_C, eps, stem_scale, stem_shift);
    if (s != OCT_OK) goto fail;
    scale_rows(sw->data, STEM_C, entry_count(sw) / STEM_C, stem_scale);
    if ((s = check_finite(sw->data, entry_count(sw), "stem.0.weight")) != OCT_OK) goto fail;
    wt.stem_w = sw->data, wt.stem_b = stem_shift;
    for (int b = 0; b < 2; b++) {
        const char *bname = b == 0 ? "b1" : "b2";
        char name[48];
        for (int band = 0; band < 2; band++) {
            int co = band == 0 ? info->c_h[b + 1] : info->c_l[b + 1];
            if (!co) continue;
            join(name, sizeof name, bname, band == 0 ? "bn_h" : "bn_l");
            if ((s = bn_fold(t, name, co, eps, scale, shift[b][band])) != OCT_OK) goto fail;
            oct_path into[2] = {band == 0 ? OCT_PATH_HH : OCT_PATH_HL, band == 0 ? OCT_PATH_LH : OCT_PATH_LL};
            for (int k = 0; k < 2; k++) {
                snprintf(name, sizeof name, "%s.oct.%s.weight", bname, oct__path_name(into[k]));
                oct__entry *e = tab_find(t, name);
                if (!e) continue;
                scale_rows(e->data, co, entry_count(e) / (size_t)co, scale);
                if ((s = check_finite(e->data, entry_count(e), name)) != OCT_OK) goto fail;
                wt.path_w[b][into[k]] = e->data;
            }
            wt.band_b[b][band] = shift[b][band];
        }
    }
    oct__entry *fw = tab_find(t, "fc.weight"), *fb = tab_find(t, "fc.bias");
    wt.fc_w = fw->data, wt.fc_b = fb->data;
    if ((s = oct__octnet_graph(ctx, &wt, &m->graph)) != OCT_OK) goto fail;
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
    return oct__graph_macs(m->graph, h, w);
}

/* ------------------------------------------------------------------------------------ */
/* Forward: the graph's                                                                   */

/* Elements of OctNetMini's widest tensor for one h x w image: max(in_channels, 128)
 * channels at full size. */
static size_t widest(const oct_model *m, int h, int w)
{
    return (size_t)(m->info.in_channels > BLOCK_C ? m->info.in_channels : BLOCK_C) * (size_t)h * (size_t)w;
}

size_t oct_model_activation_bytes(const oct_model *m, int n, int h, int w)
{
    if (!m || n < 1 || h < 1 || w < 1) return 0;
    /* A pass no tensor could hold (over INT_MAX elements) has no size. */
    if (m->octnet && (double)n * (double)widest(m, h, w) > (double)INT_MAX) return 0;
    return oct__graph_activation_bytes(m->graph, n, h, w);
}

oct_status oct_model_set_memory_limit(oct_model *m, size_t bytes)
{
    if (!m) return oct__fail(OCT_ERR_NULL_ARG, "oct_model_set_memory_limit: model is NULL");
    m->graph->mem_limit = bytes;
    return OCT_OK;
}

oct_status oct_model_forward(oct_model *m, const float *x, int n, int h, int w, float *logits, oct_trace_fn trace,
                             void *user)
{
    if (!m || !x || !logits)
        return oct__fail(OCT_ERR_NULL_ARG, "oct_model_forward: %s is NULL", !m ? "model" : !x ? "input" : "logits");
    if (!m->octnet) return oct__graph_forward(m->graph, x, n, h, w, logits, trace, user);
    if (n < 1 || h < 1 || w < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "OctNetMini: input (%d, %d, %d, %d) must have n, h, w >= 1", n,
                         m->info.in_channels, h, w);
    if ((m->info.c_l[0] > 0 || m->info.c_l[1] > 0) && (h < 2 || w < 2))
        return oct__fail(OCT_ERR_BAD_SIZE, "OctNetMini: input %dx%d is too small for a low band at alpha %g (needs 2x2)",
                         h, w, m->info.alpha);
    /* Sizes before any work: the widest tensor of a pass (max(in_channels, 128) channels
     * at h x w per image) must keep every band within the element limit of a tensor
     * (INT_MAX); a larger batch runs in chunks that do. */
    size_t per_image = widest(m, h, w);
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
    /* The graph runs it in chunks: under the memory limit, of at most INT_MAX elements
     * per tensor, in halves when the backend's memory (device memory; host memory for
     * the CPU backends) runs out. */
    m->graph->max_chunk = (size_t)n > (size_t)INT_MAX / per_image ? (int)((size_t)INT_MAX / per_image) : 0;
    OCT__TRY(oct__graph_forward(m->graph, x, n, h, w, logits, trace, user));
    /* A logit that overflowed is an error, not an answer. */
    size_t out_stride = (size_t)m->info.num_classes, out_count = (size_t)n * out_stride;
    for (size_t i = 0; i < out_count; i++)
        if (!isfinite(logits[i]))
            return oct__fail(OCT_ERR_MODEL,
                             "OctNetMini: logit %zu of image %zu is %s: the model's weights overflow float32 on this "
                             "input",
                             i % out_stride, i / out_stride, isnan(logits[i]) ? "NaN" : "Inf");
    return OCT_OK;
}

int oct_model_last_chunk(const oct_model *m) { return m ? m->graph->last_chunk : 0; }
