/* test_onnx_conformance.c — ONNX's own backend tests (Debian's libonnx-testdata: node/,
 * pytorch-converted/, pytorch-operator/, simple/) run by octcl on every backend (ref, cpu,
 * each OpenCL device; one context each for all models). Per test folder and backend:
 *   SKIP  the model does not load with OCT_ERR_UNSUPPORTED (the importer's one-line
 *         reason is kept): an op, attribute value, rank or type octcl does not run;
 *   PASS  it loads and every test_data_set_N gives output_0.pb within ONNX's own
 *         backend-test tolerance, |got - want| <= atol + rtol * |want| with rtol = 1e-3,
 *         atol = 1e-7 (onnx/backend/test/runner: np.testing.assert_allclose defaults),
 *         and again with the data set twice over in one batch (octcl's batch is free);
 *   FAIL  a wrong answer, a run-time error, a wrong output shape, or a load error other
 *         than OCT_ERR_UNSUPPORTED.
 * octcl's engine takes one float (N, C, H, W) input and treats weights as constants; a
 * test whose graph has more inputs (Conv's W, BatchNormalization's statistics, Resize's
 * scales, Pad's pads, ...) gets those inputs bound as initializers holding that data
 * set's input_K.pb, so the op's maths is checked on the same numbers ONNX gives.
 * Every test named in the expectation list (--expected FILE, one "dir/test" a line) must
 * PASS on every backend: a FAIL or a SKIP of one of them fails the run. Any FAIL fails
 * the run. The last line is "N passed, N failed, N skipped".
 *
 *   test_onnx_conformance [--data DIR] [--backend SPEC]... [--expected FILE]
 *                         [--only SUBSTR] [--markdown FILE] [--verbose]
 * SPEC: ref, cpu, opencl (every OpenCL device), opencl:P:D; default: all of them.
 * Exit 0: no failures; 1: failures; 77: a requested OpenCL backend found no device.
 */
#include "octcl.h"
#include "graph/graph.h"
#include "onnx/onnx.h"
#include "onnx/onnx_import.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifndef OCT_ONNX_TESTDATA
#define OCT_ONNX_TESTDATA "/usr/share/libonnx-testdata/data"
#endif

#define RTOL 1e-3
#define ATOL 1e-7

static const char *const k_dirs[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
enum { NDIRS = sizeof k_dirs / sizeof *k_dirs, MAX_BACKENDS = 16, MAX_INPUTS = 16 };

enum { R_PASS, R_SKIP, R_FAIL };
static const char *const k_rname[] = {"PASS", "SKIP", "FAIL"};

/* ------------------------------------------------------------------------------------ */
/* The tests found                                                                        */

typedef struct {
    char *id;          /* "node/test_conv_with_strides_padding" */
    char *path;        /* its folder */
    char *op;          /* the op it is filed under in the table */
    int expected;      /* named in the expectation list */
    int res[MAX_BACKENDS];
    char *why[MAX_BACKENDS]; /* skip reason or failure, one line */
} test_case;

typedef struct {
    char spec[64];
    char label[64];    /* column name in the tables */
    char device[600];  /* what it runs on */
    oct_context *ctx;
    double seconds;
} backend;

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(p, s, n);
    return p;
}

static char *xprintf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static char *xprintf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return xstrdup(buf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The op a test is filed under: the first node that is not a Constant; "*_expanded"
 * tests (an op's function body) under "(function bodies)". */
static char *test_op(const char *path, const char *name)
{
    size_t len = strlen(name);
    if (len > 9 && strcmp(name + len - 9, "_expanded") == 0) return xstrdup("(function bodies)");
    char model[1200];
    snprintf(model, sizeof model, "%s/model.onnx", path);
    oct__onnx_model *m = NULL;
    if (oct__onnx_read(model, &m) != OCT_OK) return xstrdup("(unreadable)");
    const char *op = m->nnodes ? m->nodes[0].op_type : "(no nodes)";
    for (int i = 0; i < m->nnodes; i++)
        if (strcmp(m->nodes[i].op_type, "Constant") != 0) {
            op = m->nodes[i].op_type;
            break;
        }
    char *r = xstrdup(op);
    oct__onnx_free(m);
    return r;
}

static int find_tests(const char *root, const char *only, test_case **out)
{
    int n = 0, cap = 0;
    test_case *t = NULL;
    for (int d = 0; d < NDIRS; d++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", root, k_dirs[d]);
        DIR *dp = opendir(dir);
        if (!dp) continue;
        char **names = NULL;
        int nn = 0, capn = 0;
        struct dirent *e;
        while ((e = readdir(dp))) {
            if (strncmp(e->d_name, "test_", 5) != 0) continue;
            if (nn == capn) {
                capn = capn ? 2 * capn : 256;
                names = realloc(names, (size_t)capn * sizeof *names);
                if (!names) exit(2);
            }
            names[nn++] = xstrdup(e->d_name);
        }
        closedir(dp);
        qsort(names, (size_t)nn, sizeof *names, cmp_str);
        for (int i = 0; i < nn; i++) {
            char *id = xprintf("%s/%s", k_dirs[d], names[i]);
            char *path = xprintf("%s/%s", dir, names[i]);
            char model[1200];
            snprintf(model, sizeof model, "%s/model.onnx", path);
            if ((only && !strstr(id, only)) || !file_exists(model)) {
                free(id), free(path), free(names[i]);
                continue;
            }
            if (n == cap) {
                cap = cap ? 2 * cap : 1024;
                t = realloc(t, (size_t)cap * sizeof *t);
                if (!t) exit(2);
            }
            memset(&t[n], 0, sizeof t[n]);
            t[n].id = id, t[n].path = path;
            t[n].op = test_op(path, names[i]);
            n++;
            free(names[i]);
        }
        free(names);
    }
    *out = t;
    return n;
}

/* ------------------------------------------------------------------------------------ */
/* One test on one backend                                                                */

typedef struct {
    int n;                          /* data set's tensors */
    oct__onnx_tensor t[MAX_INPUTS];
} tensors;

static void tensors_release(tensors *ts)
{
    for (int i = 0; i < ts->n; i++) oct__onnx_tensor_release(&ts->t[i]);
    ts->n = 0;
}

/* input_K.pb (or output_K.pb) of a data set, K = 0, 1, ... while they exist. */
static oct_status read_set(const char *set, const char *kind, tensors *ts, char **why)
{
    ts->n = 0;
    for (int k = 0; k < MAX_INPUTS; k++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s_%d.pb", set, kind, k);
        if (!file_exists(path)) break;
        oct_status s = oct__onnx_read_tensor(path, &ts->t[ts->n]);
        if (s != OCT_OK) {
            const char *e = oct_last_error(), *q = strstr(e, ".pb: ");
            *why = xprintf("test data %s_%d.pb: %s", kind, k, q ? q + 5 : e);
            tensors_release(ts);
            return s;
        }
        ts->n++;
    }
    return OCT_OK;
}

/* The loaded model: through the public API when the file has one input, else the
 * importer on the file with inputs 1.. bound as initializers (the data set's values). */
typedef struct {
    oct_model *model;
    oct__graph *graph;
} loaded;

static void loaded_free(loaded *l)
{
    oct_model_free(l->model);
    oct__graph_free(l->graph);
    l->model = NULL, l->graph = NULL;
}

static oct_status load(oct_context *ctx, const char *model_path, const oct__onnx_model *m, const tensors *in,
                       loaded *out)
{
    memset(out, 0, sizeof *out);
    if (m->ninputs <= 1) return oct_model_load(ctx, model_path, &out->model);
    if (in->n < m->ninputs)
        return oct__fail(OCT_ERR_UNSUPPORTED, "the graph has %d inputs, the data set %d", m->ninputs, in->n);
    oct__onnx_model copy = *m;
    oct__onnx_tensor *inits = calloc((size_t)(m->ninits + m->ninputs), sizeof *inits);
    if (!inits) return oct__fail(OCT_ERR_HOST_MEMORY, "out of memory");
    memcpy(inits, m->inits, (size_t)m->ninits * sizeof *inits);
    for (int k = 1; k < m->ninputs; k++) {
        inits[m->ninits + k - 1] = in->t[k];
        inits[m->ninits + k - 1].name = m->inputs[k].name;
    }
    copy.inits = inits;
    copy.ninits = m->ninits + m->ninputs - 1;
    copy.ninputs = 1;
    oct_status s = oct__onnx_import(ctx, &copy, model_path, &out->graph);
    free(inits);
    return s;
}

/* Output dims for an input (n, h, w): rank 4 (n, c, h, w) or rank 2 (n, c). */
static oct_status out_shape(loaded *l, int n, int h, int w, int *rank, int64_t dims[4])
{
    if (l->model) {
        oct_model_tensor t;
        oct_status s = oct_model_output_shape(l->model, n, h, w, &t);
        if (s != OCT_OK) return s;
        *rank = t.rank;
        dims[0] = n, dims[1] = t.dims[1], dims[2] = t.dims[2], dims[3] = t.dims[3];
        return OCT_OK;
    }
    oct_status s = oct__graph_shapes(l->graph, h, w);
    if (s != OCT_OK) return s;
    const oct__gvalue *v = &l->graph->v[l->graph->output];
    *rank = v->rank;
    dims[0] = n, dims[1] = v->d.c, dims[2] = v->rank == 4 ? v->d.h : 1, dims[3] = v->rank == 4 ? v->d.w : 1;
    return OCT_OK;
}

static oct_status forward(loaded *l, const float *x, int n, int h, int w, float *y)
{
    if (l->model) return oct_model_forward(l->model, x, n, h, w, y, NULL, NULL);
    return oct__graph_forward(l->graph, x, n, h, w, y, NULL, NULL);
}

/* First mismatches into *why; returns their number. */
static size_t compare(const float *want, const float *got, size_t count, char **why)
{
    size_t bad = 0, first = 0;
    double worst = 0;
    char buf[512];
    int o = 0;
    for (size_t i = 0; i < count; i++) {
        double wv = want[i], gv = got[i];
        int ok = (isnan(wv) && isnan(gv)) || (isinf(wv) && wv == gv) || fabs(gv - wv) <= ATOL + RTOL * fabs(wv);
        if (ok) continue;
        if (!bad) first = i;
        double ex = fabs(gv - wv) / (ATOL + RTOL * fabs(wv));
        if (!(ex <= worst)) worst = ex;
        if (bad < 3 && o < (int)sizeof buf - 80)
            o += snprintf(buf + o, sizeof buf - (size_t)o, "%s[%zu] want %.9g got %.9g", bad ? ", " : "", i, wv, gv);
        bad++;
    }
    if (bad)
        *why = xprintf("%zu of %zu values off (first at %zu; worst %.3g x the tolerance): %s", bad, count, first, worst,
                       buf);
    return bad;
}

static const char *no_path(const char *msg);

/* The model on x repeated twice along the batch (2n images): want twice over, else a
 * failure in *why (a run-time error is returned with *why set too). */
static oct_status batch_twice(loaded *l, const oct__onnx_tensor *x, int n, int h, int w, const float *want,
                              size_t count, char **why)
{
    size_t xin = x->count;
    float *x2 = malloc(2 * xin * sizeof *x2), *y2 = malloc(2 * (count ? count : 1) * sizeof *y2),
          *w2 = malloc(2 * (count ? count : 1) * sizeof *w2);
    if (!x2 || !y2 || !w2) exit(2);
    memcpy(x2, x->f, xin * sizeof *x2);
    memcpy(x2 + xin, x->f, xin * sizeof *x2);
    memcpy(w2, want, count * sizeof *w2);
    memcpy(w2 + count, want, count * sizeof *w2);
    for (size_t i = 0; i < 2 * count; i++) y2[i] = NAN;
    oct_status s = forward(l, x2, 2 * n, h, w, y2);
    if (s != OCT_OK) {
        *why = xprintf("forward at batch %d (the data set twice): %s: %s", 2 * n, oct_status_string(s),
                       no_path(oct_last_error()));
    } else if (compare(w2, y2, 2 * count, why)) {
        char *m = xprintf("at batch %d (the data set twice): %s", 2 * n, *why);
        free(*why);
        *why = m;
    }
    free(x2), free(y2), free(w2);
    return s;
}

/* A message without the "/path/to/model.onnx: " it may start with. */
static const char *no_path(const char *msg)
{
    const char *p = strstr(msg, "model.onnx: ");
    return p ? p + 12 : msg;
}

static int run_one(oct_context *ctx, const test_case *tc, char **why)
{
    char model_path[1200];
    snprintf(model_path, sizeof model_path, "%s/model.onnx", tc->path);
    oct__onnx_model *m = NULL;
    *why = NULL;
    oct_status s = oct__onnx_read(model_path, &m);
    if (s != OCT_OK) {
        *why = xprintf("read: %s", oct_last_error());
        return s == OCT_ERR_UNSUPPORTED ? R_SKIP : R_FAIL;
    }
    int result = R_PASS, sets = 0;
    for (int ds = 0;; ds++) {
        char set[1300];
        snprintf(set, sizeof set, "%s/test_data_set_%d", tc->path, ds);
        struct stat st;
        if (stat(set, &st) != 0) break;
        tensors in = {0}, want = {0};
        loaded l = {0};
        float *y = NULL;
        sets++;
        if (read_set(set, "input", &in, why) != OCT_OK || read_set(set, "output", &want, why) != OCT_OK) {
            /* A data type the reader does not convert (strings, sequences): not ours to run. */
            result = R_SKIP;
            goto next;
        }
        s = load(ctx, model_path, m, &in, &l);
        if (s != OCT_OK) {
            result = s == OCT_ERR_UNSUPPORTED ? R_SKIP : R_FAIL;
            *why = result == R_SKIP ? xstrdup(no_path(oct_last_error()))
                                    : xprintf("load: %s: %s", oct_status_string(s), no_path(oct_last_error()));
            goto next;
        }
        if (in.n < 1 || want.n != 1) {
            result = R_SKIP;
            *why = xprintf("data set has %d inputs and %d outputs (one output compared)", in.n, want.n);
            goto next;
        }
        const oct__onnx_tensor *x = &in.t[0], *o = &want.t[0];
        if (!x->f || (x->ndim != 4 && x->ndim != 2) || !o->f) {
            result = R_FAIL;
            *why = xprintf("the model loaded but its data set's input is rank %d (type %d), output type %d", x->ndim,
                           x->dtype, o->dtype);
            goto next;
        }
        int n = (int)x->dims[0], h = x->ndim == 4 ? (int)x->dims[2] : 1, w = x->ndim == 4 ? (int)x->dims[3] : 1, rank;
        int64_t d[4];
        s = out_shape(&l, n, h, w, &rank, d);
        if (s != OCT_OK) {
            result = R_FAIL;
            *why = xprintf("output shape: %s: %s", oct_status_string(s), oct_last_error());
            goto next;
        }
        size_t count = (size_t)d[0] * (size_t)d[1] * (size_t)d[2] * (size_t)d[3];
        int shape_ok = count == o->count && (o->ndim < 1 || o->dims[0] == n);
        if (shape_ok && o->ndim == 4 && rank == 4)
            for (int i = 0; i < 4; i++) shape_ok &= o->dims[i] == d[i];
        if (!shape_ok) {
            result = R_FAIL;
            *why = xprintf("output (%lld, %lld, %lld, %lld) rank %d, want %zu values rank %d (%lld, ...)",
                           (long long)d[0], (long long)d[1], (long long)d[2], (long long)d[3], rank, o->count,
                           o->ndim, o->ndim ? (long long)o->dims[0] : 0LL);
            goto next;
        }
        y = malloc((count ? count : 1) * sizeof *y);
        if (!y) exit(2);
        for (size_t i = 0; i < count; i++) y[i] = NAN;
        s = forward(&l, x->f, n, h, w, y);
        if (s != OCT_OK) {
            result = R_FAIL;
            *why = xprintf("forward: %s: %s", oct_status_string(s), oct_last_error());
            goto next;
        }
        if (compare(o->f, y, count, why)) {
            result = R_FAIL;
            goto next;
        }
        /* octcl's batch is free whatever the file says: the data set twice over in one
         * batch of 2n must give the expected output twice over. */
        s = batch_twice(&l, x, n, h, w, o->f, count, why);
        if (s != OCT_OK || *why) result = R_FAIL;
    next:
        free(y);
        loaded_free(&l);
        tensors_release(&in);
        tensors_release(&want);
        if (result != R_PASS) break;
    }
    oct__onnx_free(m);
    if (result == R_PASS && !sets) {
        result = R_SKIP;
        *why = xstrdup("no test_data_set_N folder");
    }
    return result;
}

/* ------------------------------------------------------------------------------------ */
/* Expectations, tables                                                                   */

static int read_expected(const char *path, test_case *t, int nt, char ***missing, int *nmissing)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    char line[512];
    int count = 0;
    *missing = NULL, *nmissing = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        p[strcspn(p, " \t\r\n#")] = 0;
        if (!*p) continue;
        count++;
        int hit = 0;
        for (int i = 0; i < nt; i++)
            if (strcmp(t[i].id, p) == 0) t[i].expected = hit = 1;
        if (!hit) {
            *missing = realloc(*missing, (size_t)(*nmissing + 1) * sizeof **missing);
            (*missing)[(*nmissing)++] = xstrdup(p);
        }
    }
    fclose(f);
    return count;
}

static int cmp_case_op(const void *a, const void *b)
{
    const test_case *x = a, *y = b;
    return strcmp(x->op, y->op);
}

/* The ops the importer turns into nodes or folds (host/onnx/onnx_import.c). */
static int imported_op(const char *op)
{
    static const char *const ops[] = {"Conv", "BatchNormalization", "Relu", "Add", "Sub", "Mul", "Div", "AveragePool",
                                      "MaxPool", "GlobalAveragePool", "Resize", "Upsample", "Pad", "Concat", "Slice",
                                      "Split", "Flatten", "Reshape", "Gemm", "MatMul", "Identity", "Dropout",
                                      "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Cast",
                                      "ConstantOfShape", "Floor", "Ceil", "Sqrt"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (strcmp(op, ops[i]) == 0) return 1;
    return 0;
}

/* One row per op (tests filed under it) with pass / skip / fail per backend. */
static void op_table(FILE *f, test_case *t, int nt, const backend *bk, int nb, int markdown)
{
    test_case *s = malloc((size_t)nt * sizeof *s);
    if (!s) exit(2);
    memcpy(s, t, (size_t)nt * sizeof *s);
    qsort(s, (size_t)nt, sizeof *s, cmp_case_op);
    if (markdown) {
        fprintf(f, "| op | tests |");
        for (int b = 0; b < nb; b++) fprintf(f, " %s pass / skip / fail |", bk[b].label);
        fprintf(f, "\n|---|---:|");
        for (int b = 0; b < nb; b++) fprintf(f, "---:|");
        fprintf(f, "\n");
    } else {
        fprintf(f, "%-28s %5s", "op", "tests");
        for (int b = 0; b < nb; b++) fprintf(f, "  %-16.16s", bk[b].label);
        fprintf(f, "\n");
    }
    int other[MAX_BACKENDS][3] = {{0}}, nother = 0, nops_other = 0, total[MAX_BACKENDS][3] = {{0}};
    for (int i = 0; i < nt;) {
        int j = i, c[MAX_BACKENDS][3] = {{0}}, any_run = 0;
        while (j < nt && strcmp(s[j].op, s[i].op) == 0) {
            for (int b = 0; b < nb; b++) {
                c[b][s[j].res[b]]++;
                total[b][s[j].res[b]]++;
                any_run |= s[j].res[b] != R_SKIP;
            }
            j++;
        }
        /* Markdown: ops octcl does not import and no backend ran are summed into one row. */
        if (markdown && !any_run && !imported_op(s[i].op)) {
            for (int b = 0; b < nb; b++)
                for (int r = 0; r < 3; r++) other[b][r] += c[b][r];
            nother += j - i, nops_other++;
            i = j;
            continue;
        }
        if (markdown) {
            fprintf(f, "| %s | %d |", s[i].op, j - i);
            for (int b = 0; b < nb; b++) fprintf(f, " %d / %d / %d |", c[b][R_PASS], c[b][R_SKIP], c[b][R_FAIL]);
        } else {
            fprintf(f, "%-28.28s %5d", s[i].op, j - i);
            for (int b = 0; b < nb; b++) fprintf(f, "  %4d %4d %4d    ", c[b][R_PASS], c[b][R_SKIP], c[b][R_FAIL]);
        }
        fprintf(f, "\n");
        i = j;
    }
    if (markdown) {
        if (nother) {
            fprintf(f, "| %d other ops (not imported) | %d |", nops_other, nother);
            for (int b = 0; b < nb; b++) fprintf(f, " %d / %d / %d |", other[b][0], other[b][1], other[b][2]);
            fprintf(f, "\n");
        }
        fprintf(f, "| **all** | **%d** |", nt);
        for (int b = 0; b < nb; b++)
            fprintf(f, " **%d / %d / %d** |", total[b][0], total[b][1], total[b][2]);
        fprintf(f, "\n");
    }
    free(s);
}

/* The reason a test was skipped, reduced to what groups: no node or tensor names; every
 * unsupported op in one group (*op receives the op, else ""). */
static const char *reason_key(const char *why, char *buf, size_t size, char *op, size_t opsize)
{
    const char *p = why ? why : "";
    int rank, type, nin, nout;
    *op = 0;
    if (sscanf(p, "input '%*[^']' is rank %d of type %d", &rank, &type) == 2) {
        if (type != 1) snprintf(buf, size, "the input is not float32 (ints, bools, doubles, halves, ...)");
        else snprintf(buf, size, "the input has rank %s (octcl takes (N, C, H, W) or (N, F))", rank == 3 ? "3" : "0, 1 or 5+");
        return buf;
    }
    if (sscanf(p, "the graph has %d inputs and %d outputs", &nin, &nout) == 2) {
        snprintf(buf, size, "the graph has %s outputs (one supported)", nout > 1 ? "several" : "no");
        return buf;
    }
    if (strncmp(p, "test data ", 10) == 0) {
        snprintf(buf, size, "test data the reader does not convert (sequences, optionals, strings, ...)");
        return buf;
    }
    char opname[64] = "";
    if (strncmp(p, "node '", 6) == 0) {
        const char *c = strstr(p, "' (");
        const char *e = c ? strstr(c, "): ") : NULL;
        if (c && e && e - c - 3 < (long)sizeof opname) {
            snprintf(opname, sizeof opname, "%.*s", (int)(e - c - 3), c + 3);
            p = e + 3;
        }
    }
    if (strncmp(p, "op '", 4) == 0 && strstr(p, "is not supported")) {
        snprintf(op, opsize, "%s", opname);
        snprintf(buf, size, "an op octcl does not import");
        return buf;
    }
    /* Tensor names vary per test: "input 'x'", "input 1 ('x')", "constant 'x'" lose them. */
    char tmp[512];
    size_t o = 0;
    snprintf(tmp, sizeof tmp, "%s%s%s", opname, *opname ? ": " : "", p);
    for (const char *q = tmp; *q && o + 1 < size; q++) {
        static const char *const named[] = {"input '", "output '", "constant '", "input %d ('", "('"};
        int skip = 0;
        for (size_t k = 0; k < sizeof named / sizeof *named && !skip; k++) {
            size_t len = strcspn(named[k], "%");
            if (strncmp(q, named[k], len) == 0 && strchr(named[k], '\'') && named[k][len] == 0) {
                const char *end = strchr(q + len, '\'');
                if (end) {
                    size_t keep = len - 1;
                    if (o + keep + 4 < size) {
                        memcpy(buf + o, q, keep);
                        o += keep;
                        memcpy(buf + o, "...", 3);
                        o += 3;
                    }
                    q = end;
                    skip = 1;
                }
            }
        }
        if (!skip) buf[o++] = *q;
    }
    buf[o] = 0;
    /* "attribute 'axis' = 2 (1 only)": the value varies per test, the rule does not. */
    char *a = strstr(buf, "attribute '");
    char *eq = a ? strstr(a, "' = ") : NULL;
    char *paren = eq ? strstr(eq + 4, " (") : NULL;
    if (paren && paren - (eq + 4) < 64 && (size_t)(eq + 4 - buf) + 3 + strlen(paren) < size) {
        memmove(eq + 7, paren, strlen(paren) + 1);
        memcpy(eq + 4, "...", 3);
    }
    return buf;
}

typedef struct {
    char *key;
    int count;
    char *example;
} reason;

static int cmp_reason(const void *a, const void *b)
{
    const reason *x = a, *y = b;
    return x->count != y->count ? y->count - x->count : strcmp(x->key, y->key);
}

/* Skip reasons on backend 0 (the importer decides them, so all backends agree). */
static void reason_table(FILE *f, const test_case *t, int nt, int top)
{
    reason *r = NULL;
    int nr = 0;
    char ops[4096] = "";
    int nops = 0;
    for (int i = 0; i < nt; i++) {
        if (t[i].res[0] != R_SKIP) continue;
        char buf[512], op[64];
        const char *k = reason_key(t[i].why[0], buf, sizeof buf, op, sizeof op);
        if (*op) {
            char pat[80];
            snprintf(pat, sizeof pat, " %s,", op);
            if (!strstr(ops, pat) && strlen(ops) + strlen(pat) < sizeof ops) strcat(ops, pat), nops++;
        }
        int j = 0;
        while (j < nr && strcmp(r[j].key, k) != 0) j++;
        if (j == nr) {
            r = realloc(r, (size_t)(nr + 1) * sizeof *r);
            if (!r) exit(2);
            r[nr++] = (reason){xstrdup(k), 0, t[i].id};
        }
        r[j].count++;
    }
    qsort(r, (size_t)nr, sizeof *r, cmp_reason);
    fprintf(f, "| skipped because | tests | e.g. |\n|---|---:|---|\n");
    int rest = 0, nrest = 0;
    for (int j = 0; j < nr; j++) {
        if (j < top) {
            char k[600];
            if (strcmp(r[j].key, "an op octcl does not import") == 0)
                snprintf(k, sizeof k, "an op octcl does not import (%d different ops)", nops);
            else
                snprintf(k, sizeof k, "%s", r[j].key);
            for (char *p = k; *p; p++)
                if (*p == '|') *p = '/';
            fprintf(f, "| %s | %d | %s |\n", k, r[j].count, r[j].example);
        } else {
            rest += r[j].count, nrest++;
        }
        free(r[j].key);
    }
    if (nrest) fprintf(f, "| %d other reasons (`--verbose` lists each test's) | %d | |\n", nrest, rest);
    free(r);
}

/* ------------------------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr, "usage: test_onnx_conformance [--data DIR] [--backend ref|cpu|opencl|opencl:P:D]... "
                    "[--expected FILE] [--only SUBSTR] [--markdown FILE] [--verbose]\n");
}

int main(int argc, char **argv)
{
    const char *root = OCT_ONNX_TESTDATA, *expected = NULL, *only = NULL, *markdown = NULL;
    const char *specs[MAX_BACKENDS];
    int nspecs = 0, verbose = 0;
    oct__onnx_import_tight(1); /* every new name moves the importer's symbols (ASan: no pointer kept) */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) root = argv[++i];
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc && nspecs < MAX_BACKENDS) specs[nspecs++] = argv[++i];
        else if (strcmp(argv[i], "--expected") == 0 && i + 1 < argc) expected = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--markdown") == 0 && i + 1 < argc) markdown = argv[++i];
        else if (strcmp(argv[i], "--verbose") == 0) verbose = 1;
        else {
            usage();
            return 2;
        }
    }
    if (!nspecs) specs[nspecs++] = "ref", specs[nspecs++] = "cpu", specs[nspecs++] = "opencl";

    /* Backends: "opencl" is every OpenCL device. */
    backend bk[MAX_BACKENDS];
    int nb = 0, no_device = 0;
    for (int i = 0; i < nspecs && nb < MAX_BACKENDS; i++) {
        if (strcmp(specs[i], "opencl") == 0) {
            oct_device_info dev[MAX_BACKENDS];
            int count = 0;
            if (oct_list_devices(dev, MAX_BACKENDS, &count) != OCT_OK || count == 0) {
                printf("opencl: no OpenCL device (%s)\n", oct_last_error());
                no_device = 1;
                continue;
            }
            for (int d = 0; d < count && d < MAX_BACKENDS && nb < MAX_BACKENDS; d++) {
                snprintf(bk[nb].spec, sizeof bk[nb].spec, "opencl:%d:%d", dev[d].platform_index, dev[d].device_index);
                memcpy(bk[nb].label, bk[nb].spec, sizeof bk[nb].label);
                nb++;
            }
        } else {
            snprintf(bk[nb].spec, sizeof bk[nb].spec, "%s", specs[i]);
            snprintf(bk[nb].label, sizeof bk[nb].label, "%s", specs[i]);
            nb++;
        }
    }
    for (int b = 0; b < nb; b++) {
        bk[b].seconds = 0;
        if (oct_context_create(bk[b].spec, &bk[b].ctx) != OCT_OK) {
            printf("%s: cannot create a context: %s\n", bk[b].spec, oct_last_error());
            return strncmp(bk[b].spec, "opencl", 6) == 0 ? 77 : 1;
        }
        oct_device_info di;
        snprintf(bk[b].device, sizeof bk[b].device, "?");
        if (oct_context_info(bk[b].ctx, &di) == OCT_OK) {
            if (di.backend == OCT_BACKEND_OPENCL)
                snprintf(bk[b].device, sizeof bk[b].device, "%s, %s", di.name, di.platform);
            else
                snprintf(bk[b].device, sizeof bk[b].device, "%s", di.name);
            printf("backend %s: %s\n", bk[b].spec, bk[b].device);
        }
    }
    if (!nb) return no_device ? 77 : 2;

    test_case *t = NULL;
    int nt = find_tests(root, only, &t);
    if (!nt) {
        printf("no tests under %s\n", root);
        return 2;
    }
    char **missing = NULL;
    int nmissing = 0, nexpected = 0;
    if (expected && (nexpected = read_expected(expected, t, nt, &missing, &nmissing)) < 0) return 2;
    printf("%d tests under %s; tolerance |got - want| <= %g + %g |want|\n", nt, root, ATOL, RTOL);

    int counts[3] = {0}, broken = 0;
    for (int b = 0; b < nb; b++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < nt; i++) {
            t[i].res[b] = run_one(bk[b].ctx, &t[i], &t[i].why[b]);
            counts[t[i].res[b]]++;
            int must = t[i].expected && t[i].res[b] != R_PASS;
            if (t[i].res[b] == R_FAIL || must || verbose)
                printf("%s %-4s %s%s%s%s\n", bk[b].label, k_rname[t[i].res[b]], t[i].id,
                       must ? " (expected to PASS)" : "", t[i].why[b] ? ": " : "", t[i].why[b] ? t[i].why[b] : "");
            if (t[i].res[b] == R_FAIL || must) broken++;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        bk[b].seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    }
    for (int i = 0; i < nt; i++) {
        int all_pass = 1;
        for (int b = 0; b < nb; b++) all_pass &= t[i].res[b] == R_PASS;
        if (expected && all_pass && !t[i].expected) printf("note: %s passes everywhere but is not in %s\n", t[i].id, expected);
    }
    for (int i = 0; i < nmissing; i++) {
        printf("expected test %s was not found under %s\n", missing[i], root);
        if (!only) broken++;
        free(missing[i]);
    }
    free(missing);

    printf("\n");
    op_table(stdout, t, nt, bk, nb, 0);
    printf("\n");
    for (int b = 0; b < nb; b++) {
        int c[3] = {0};
        for (int i = 0; i < nt; i++) c[t[i].res[b]]++;
        printf("%-16s %4d passed, %4d failed, %4d skipped  (%.1f s)\n", bk[b].label, c[R_PASS], c[R_FAIL], c[R_SKIP],
               bk[b].seconds);
    }
    if (expected) printf("expectation list: %d tests must pass on every backend\n", nexpected);

    if (markdown) {
        FILE *f = fopen(markdown, "w");
        if (!f) {
            printf("cannot write %s\n", markdown);
            return 2;
        }
        fprintf(f, "%d test folders; tolerance `|got - want| <= %g + %g |want|`.\n\n", nt, ATOL, RTOL);
        for (int b = 0; b < nb; b++) {
            int c[3] = {0};
            for (int i = 0; i < nt; i++) c[t[i].res[b]]++;
            fprintf(f, "- `%s` (%s): **%d passed**, %d failed, %d skipped\n", bk[b].label, bk[b].device, c[R_PASS],
                    c[R_FAIL], c[R_SKIP]);
        }
        fprintf(f, "\n");
        op_table(f, t, nt, bk, nb, 1);
        fprintf(f, "\n");
        reason_table(f, t, nt, 20);
        fclose(f);
    }

    for (int i = 0; i < nt; i++) {
        for (int b = 0; b < nb; b++) free(t[i].why[b]);
        free(t[i].id), free(t[i].path), free(t[i].op);
    }
    free(t);
    for (int b = 0; b < nb; b++) oct_context_free(bk[b].ctx);
    printf("%d passed, %d failed, %d skipped\n", counts[R_PASS], counts[R_FAIL], counts[R_SKIP]);
    return broken ? 1 : 0;
}
