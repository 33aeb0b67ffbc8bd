/* test_model.c — OctNetMini end to end: logits of every backend against PyTorch
 * fixtures, parameter counts, the trained models' top-1 against PyTorch's on a slice of
 * the Fashion-MNIST test set, and every malformed model file.
 */
#include "internal.h"
#include "safetensors.h"
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef OCT_MODELS_DIR
#define OCT_MODELS_DIR "models"
#endif
#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

/* Logits go through three convolutions (sums of up to 1152 terms) and a linear layer
 * in float32 against PyTorch in float64: |got - want| <= 1e-3 + 1e-3 |want|, fixed
 * before looking at any result. */
#define LOGIT_ABS 1e-3
#define LOGIT_REL 1e-3

#define MAX_DEVICES 8
static char g_specs[MAX_DEVICES][32];
static int g_nspecs;
static char g_tmpdir[256];

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ------------------------------------------------------------------------------------ */
/* Parity with PyTorch                                                                    */

static int check_parity_case(const char *spec, const char *dir, const char *base)
{
    char path[512];
    oct_array x = {0}, want = {0};
    oct_context *ctx = NULL;
    oct_model *m = NULL;
    float *got = NULL;
    int bad = 1;
    snprintf(path, sizeof path, "%s/%s_input.npy", dir, base);
    CU_ASSERT_EQUAL_FATAL(oct_npy_load(path, &x), OCT_OK);
    snprintf(path, sizeof path, "%s/%s_logits.npy", dir, base);
    CU_ASSERT_EQUAL(oct_npy_load(path, &want), OCT_OK);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, base);
    CU_ASSERT_EQUAL(oct_context_create(spec, &ctx), OCT_OK);
    oct_status s = oct_model_load(ctx, path, &m);
    if (s != OCT_OK) printf("\n    %s: %s", path, oct_last_error());
    CU_ASSERT_EQUAL(s, OCT_OK);
    if (s == OCT_OK && x.ndim == 4 && want.ndim == 2) {
        oct_model_info info;
        oct_model_info_get(m, &info);
        CU_ASSERT_EQUAL(info.in_channels, x.shape[1]);
        CU_ASSERT_EQUAL(info.num_classes, want.shape[1]);
        CU_ASSERT_EQUAL(want.shape[0], x.shape[0]);
        got = calloc(oct_array_count(&want), sizeof(float));
        s = oct_model_forward(m, x.data, (int)x.shape[0], (int)x.shape[2], (int)x.shape[3], got, NULL, NULL);
        if (s != OCT_OK) printf("\n    %s forward: %s", base, oct_last_error());
        CU_ASSERT_EQUAL(s, OCT_OK);
        char what[320];
        snprintf(what, sizeof what, "%.200s on %.32s: logits", base, spec);
        if (s == OCT_OK) bad = (int)compare_floats(what, want.data, got, oct_array_count(&want), LOGIT_ABS, LOGIT_REL);
        CU_ASSERT_EQUAL(bad, 0);
        /* A second pass on the same activations gives the same answer. */
        float *again = calloc(oct_array_count(&want), sizeof(float));
        CU_ASSERT_EQUAL(oct_model_forward(m, x.data, (int)x.shape[0], (int)x.shape[2], (int)x.shape[3], again, NULL,
                                          NULL),
                        OCT_OK);
        CU_ASSERT_EQUAL(memcmp(again, got, oct_array_count(&want) * sizeof(float)), 0);
        free(again);
    }
    free(got);
    oct_model_free(m);
    oct_context_free(ctx);
    oct_array_release(&x);
    oct_array_release(&want);
    return bad;
}

static void test_parity(void)
{
    DIR *d = opendir(OCT_FIXTURE_DIR);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *e;
    int cases = 0;
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, "_logits.npy")) continue;
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)(strlen(e->d_name) - strlen("_logits.npy")), e->d_name);
        for (int i = 0; i < g_nspecs; i++) check_parity_case(g_specs[i], OCT_FIXTURE_DIR, base);
        cases++;
    }
    closedir(d);
    printf("\n    %d parity case(s) x %d backend(s)", cases, g_nspecs);
    CU_ASSERT(cases >= 3);
}

/* ------------------------------------------------------------------------------------ */
/* Parameters and the seed's shape trace                                                   */

typedef struct {
    char lines[12][96];
    int count;
} trace_log;

static void record(void *user, const char *label, int rank, const int *dims)
{
    trace_log *t = user;
    if (t->count >= 12) return;
    char *o = t->lines[t->count++];
    if (rank == 0) {
        snprintf(o, 96, "%s: None", label);
        return;
    }
    int n = snprintf(o, 96, "%s: (", label);
    for (int i = 0; i < rank; i++) n += snprintf(o + n, (size_t)(96 - n), "%s%d", i ? ", " : "", dims[i]);
    snprintf(o + n, (size_t)(96 - n), ")");
}

static void test_params_and_trace(void)
{
    static const double alphas[] = {0, 0.25, 0.5, 0.75, 1};
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("cpu", &ctx), OCT_OK);
    for (int a = 0; a < 5; a++) {
        oct_model *m = NULL;
        CU_ASSERT_EQUAL(oct_model_create_random(ctx, 3, 10, alphas[a], 7, &m), OCT_OK);
        if (!m) continue;
        oct_model_info info;
        oct_model_info_get(m, &info);
        CU_ASSERT_EQUAL(info.parameters, 224842);
        CU_ASSERT_EQUAL(info.c_l[0], (int)rint(64 * alphas[a]));
        if (a == 2) {
            /* The seed's printout for alpha 0.5 and a (2, 3, 32, 32) input. */
            static const char *const seed_trace[] = {
                "Stem out: (2, 64, 32, 32)",     "Split x_h: (2, 32, 32, 32)",    "Split x_l: (2, 32, 16, 16)",
                "After b1 x_h: (2, 64, 32, 32)", "After b1 x_l: (2, 64, 16, 16)", "After b2 x_h: (2, 64, 32, 32)",
                "After b2 x_l: (2, 64, 16, 16)", "Merged x: (2, 128, 32, 32)",    "Logits: (2, 10)"};
            float *x = calloc(2 * 3 * 32 * 32, sizeof(float)), logits[20];
            trace_log t = {0};
            CU_ASSERT_EQUAL(oct_model_forward(m, x, 2, 32, 32, logits, record, &t), OCT_OK);
            CU_ASSERT_EQUAL(t.count, 9);
            for (int i = 0; i < 9 && i < t.count; i++) CU_ASSERT_STRING_EQUAL(t.lines[i], seed_trace[i]);
            free(x);
        }
        if (a == 0 || a == 4) {
            float *x = calloc(1 * 3 * 9 * 7, sizeof(float)), logits[10];
            trace_log t = {0};
            CU_ASSERT_EQUAL(oct_model_forward(m, x, 1, 9, 7, logits, record, &t), OCT_OK);
            CU_ASSERT_STRING_EQUAL(t.lines[a == 0 ? 2 : 1], a == 0 ? "Split x_l: None" : "Split x_h: None");
            CU_ASSERT_STRING_EQUAL(t.lines[7], "Merged x: (1, 128, 9, 7)");
            free(x);
        }
        CU_ASSERT(oct_model_macs(m, 32, 32) > 0);
        /* OctNetMini lists its layers like an ONNX model: its two OctConv blocks are
         * recognised, and the layers' MACs sum to the model's (at the 32x32 the list uses). */
        int nl = oct_model_layer_count(m), octconv_blocks = 0;
        long long layer_macs = 0;
        CU_ASSERT(nl > 0);
        for (int i = 0; i < nl; i++) {
            oct_model_layer l;
            CU_ASSERT_EQUAL_FATAL(oct_model_layer_get(m, i, &l), OCT_OK);
            layer_macs += l.macs;
            int blk = 0;
            if (sscanf(l.kind, "OctConv %d", &blk) == 1 && blk > octconv_blocks) octconv_blocks = blk;
        }
        CU_ASSERT_EQUAL(layer_macs, oct_model_macs(m, 32, 32));
        /* alpha 0 and 1 have one band: no OctConv layer, plain convs. */
        CU_ASSERT_EQUAL(octconv_blocks, a == 0 || a == 4 ? 0 : 2);
        oct_model_layer bad_l;
        CU_ASSERT_EQUAL(oct_model_layer_get(m, nl, &bad_l), OCT_ERR_BAD_SIZE);
        oct_model_free(m);
    }
    /* MACs fall with alpha, as the seed's FLOP argument says. */
    oct_model *m0 = NULL, *m5 = NULL;
    CU_ASSERT_EQUAL(oct_model_create_random(ctx, 3, 10, 0, 1, &m0), OCT_OK);
    CU_ASSERT_EQUAL(oct_model_create_random(ctx, 3, 10, 0.5, 1, &m5), OCT_OK);
    CU_ASSERT_EQUAL(oct_model_macs(m0, 32, 32), 64LL * 3 * 9 * 1024 + 9LL * 128 * 64 * 1024 + 9LL * 128 * 128 * 1024 + 1280);
    CU_ASSERT(oct_model_macs(m5, 32, 32) < oct_model_macs(m0, 32, 32) / 2);
    oct_model_free(m0);
    oct_model_free(m5);
    oct_model *bad = (oct_model *)0x1;
    CU_ASSERT_EQUAL(oct_model_create_random(ctx, 3, 10, NAN, 1, &bad), OCT_ERR_BAD_ALPHA);
    CU_ASSERT_PTR_NULL(bad);
    CU_ASSERT_EQUAL(oct_model_create_random(ctx, 0, 10, 0.5, 1, &bad), OCT_ERR_BAD_SIZE);
    CU_ASSERT_EQUAL(oct_model_create_random(NULL, 3, 10, 0.5, 1, &bad), OCT_ERR_NULL_ARG);
    oct_context_free(ctx);
}

/* ------------------------------------------------------------------------------------ */
/* Malformed model files                                                                   */

/* A parsed valid model file as parallel arrays we can edit and write back. */
typedef struct {
    int count;
    const char *names[64];
    int ndims[64];
    int64_t shapes[64][OCT_MAX_DIMS];
    float *data[64];
    int meta_count;
    const char *mk[8], *mv[8];
    oct__st st;
} editable;

static int editable_load(editable *ed, const char *path)
{
    memset(ed, 0, sizeof *ed);
    if (oct__st_load(path, &ed->st) != OCT_OK) return 0;
    for (int i = 0; i < ed->st.count && i < 64; i++) {
        const oct__st_tensor *t = &ed->st.tensors[i];
        if (t->dtype == OCT__ST_I64) continue; /* num_batches_tracked */
        int k = ed->count++;
        ed->names[k] = t->name;
        ed->ndims[k] = t->ndim;
        memcpy(ed->shapes[k], t->shape, sizeof t->shape);
        ed->data[k] = malloc(t->count * sizeof(float) + 4);
        oct__st_to_f32(&ed->st, t, ed->data[k]);
    }
    return 1;
}

static void editable_free(editable *ed)
{
    for (int i = 0; i < ed->count; i++) free(ed->data[i]);
    oct__st_release(&ed->st);
}

static int find_name(const editable *ed, const char *name)
{
    for (int i = 0; i < ed->count; i++)
        if (strcmp(ed->names[i], name) == 0) return i;
    return -1;
}

/* Write ed, try to load it, expect `status` and `needle` in the message. */
static void expect_load(const editable *ed, oct_status status, const char *needle, const char *label)
{
    char path[300];
    snprintf(path, sizeof path, "%s/edited.safetensors", g_tmpdir);
    CU_ASSERT_EQUAL_FATAL(oct__st_save(path, ed->count, ed->names, ed->ndims, (const int64_t(*)[OCT_MAX_DIMS])ed->shapes,
                                       (const float *const *)ed->data, ed->meta_count, ed->mk, ed->mv),
                          OCT_OK);
    oct_context *ctx = NULL;
    oct_model *m = (oct_model *)0x1;
    oct_context_create("ref", &ctx);
    oct_status s = oct_model_load(ctx, path, &m);
    int named = strstr(oct_last_error(), needle) != NULL;
    if (s != status || !named)
        printf("\n    %s: got %s \"%s\", wanted %s naming \"%s\"", label, oct_status_string(s), oct_last_error(),
               oct_status_string(status), needle);
    CU_ASSERT_EQUAL(s, status);
    CU_ASSERT(named);
    if (status != OCT_OK) CU_ASSERT_PTR_NULL(m);
    if (s == OCT_OK) oct_model_free(m);
    oct_context_free(ctx);
    unlink(path);
}

static const char *first_fixture_model(char *buf, size_t len)
{
    DIR *d = opendir(OCT_FIXTURE_DIR);
    if (!d) return NULL;
    struct dirent *e;
    const char *found = NULL;
    while ((e = readdir(d)))
        if (ends_with(e->d_name, ".safetensors") && strstr(e->d_name, "a0.5")) {
            snprintf(buf, len, "%s/%s", OCT_FIXTURE_DIR, e->d_name);
            found = buf;
            break;
        }
    closedir(d);
    return found;
}

static void test_malformed_models(void)
{
    char src[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(first_fixture_model(src, sizeof src));
    editable ed;
    CU_ASSERT_FATAL(editable_load(&ed, src));
    expect_load(&ed, OCT_OK, "", "unchanged F32 copy");

    int i = find_name(&ed, "b1.bn_h.running_var");
    CU_ASSERT_FATAL(i >= 0);
    editable cut = ed;
    cut.names[i] = cut.names[--cut.count]; /* drop it */
    cut.ndims[i] = ed.ndims[cut.count];
    memcpy(cut.shapes[i], ed.shapes[cut.count], sizeof cut.shapes[i]);
    cut.data[i] = ed.data[cut.count];
    expect_load(&cut, OCT_ERR_MODEL, "'b1.bn_h.running_var' is missing", "missing tensor");

    editable extra = ed;
    extra.names[extra.count] = "head.extra";
    extra.ndims[extra.count] = 1;
    extra.shapes[extra.count][0] = 1;
    extra.data[extra.count] = ed.data[0];
    extra.count++;
    expect_load(&extra, OCT_ERR_MODEL, "unexpected tensor 'head.extra'", "extra tensor");

    editable shaped = ed;
    int f = find_name(&ed, "fc.bias");
    shaped.shapes[f][0] -= 1;
    expect_load(&shaped, OCT_ERR_MODEL, "'fc.bias' has shape", "mis-shaped fc.bias");

    editable b2 = ed;
    int hh = find_name(&ed, "b2.oct.hh.weight");
    b2.shapes[hh][1] -= 1; /* b2's input split disagrees with b1's output */
    expect_load(&b2, OCT_ERR_MODEL, "b2.oct.hh.weight", "inconsistent b2 split");

    editable stem = ed;
    int st = find_name(&ed, "stem.0.weight");
    stem.shapes[st][0] = 32;
    expect_load(&stem, OCT_ERR_MODEL, "stem.0.weight", "stem with 32 channels");

    editable meta = ed;
    meta.meta_count = 1;
    meta.mk[0] = "alpha";
    meta.mv[0] = "0.25";
    expect_load(&meta, OCT_ERR_MODEL, "alpha 0.25", "metadata alpha disagrees");
    meta.mv[0] = "half";
    expect_load(&meta, OCT_ERR_MODEL, "\"half\"", "metadata alpha not a number");
    meta.mk[0] = "bn_eps";
    meta.mv[0] = "-1";
    expect_load(&meta, OCT_ERR_MODEL, "bn_eps", "negative eps");
    meta.mk[0] = "mean";
    meta.mv[0] = "0.5";
    expect_load(&meta, OCT_ERR_MODEL, "std", "mean without std");

    editable nan = ed;
    int w = find_name(&ed, "b1.oct.ll.weight");
    float saved = ed.data[w][5];
    ed.data[w][5] = NAN;
    expect_load(&nan, OCT_ERR_MODEL, "non-finite value at index 5", "NaN weight");
    ed.data[w][5] = saved;

    int v = find_name(&ed, "b2.bn_l.running_var");
    saved = ed.data[v][3];
    ed.data[v][3] = -1.0f;
    expect_load(&ed, OCT_ERR_MODEL, "b2.bn_l.running_var[3]", "negative variance");
    ed.data[v][3] = saved;

    oct_context *ctx = NULL;
    oct_model *m = (oct_model *)0x1;
    oct_context_create("ref", &ctx);
    CU_ASSERT_EQUAL(oct_model_load(ctx, "/nonexistent/model.safetensors", &m), OCT_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "/nonexistent/model.safetensors"));
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_EQUAL(oct_model_load(ctx, src, NULL), OCT_ERR_NULL_ARG);
    CU_ASSERT_EQUAL(oct_model_load(NULL, src, &m), OCT_ERR_NULL_ARG);
    char junk[300];
    snprintf(junk, sizeof junk, "%s/junk.safetensors", g_tmpdir);
    FILE *jf = fopen(junk, "wb");
    fputs("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": oops}     ", jf);
    fclose(jf);
    CU_ASSERT_EQUAL(oct_model_load(ctx, junk, &m), OCT_ERR_FORMAT);
    unlink(junk);
    oct_context_free(ctx);
    editable_free(&ed);
}

/* Half and bfloat16 and double files give the same logits as F32 files holding the
 * same (rounded) values: the conversions feed the model correctly. */
static uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16); /* truncation: exactly representable back */
}

static int write_typed(const char *path, const editable *ed, const char *dtype)
{
    size_t esize = strcmp(dtype, "BF16") == 0 ? 2 : 8;
    char header[16384];
    size_t off = 0, n = (size_t)snprintf(header, sizeof header, "{");
    for (int i = 0; i < ed->count; i++) {
        size_t cnt = 1;
        char shape[96];
        int sl = snprintf(shape, sizeof shape, "[");
        for (int d = 0; d < ed->ndims[i]; d++) {
            cnt *= (size_t)ed->shapes[i][d];
            sl += snprintf(shape + sl, sizeof shape - (size_t)sl, "%s%lld", d ? "," : "", (long long)ed->shapes[i][d]);
        }
        snprintf(shape + sl, sizeof shape - (size_t)sl, "]");
        n += (size_t)snprintf(header + n, sizeof header - n, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}",
                              i ? "," : "", ed->names[i], dtype, shape, off, off + cnt * esize);
        off += cnt * esize;
    }
    n += (size_t)snprintf(header + n, sizeof header - n, "}");
    while (n % 8) header[n++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    uint64_t hl = n;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(hl >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(header, 1, n, f);
    for (int i = 0; i < ed->count; i++) {
        size_t cnt = 1;
        for (int d = 0; d < ed->ndims[i]; d++) cnt *= (size_t)ed->shapes[i][d];
        for (size_t k = 0; k < cnt; k++) {
            if (esize == 2) {
                uint16_t b = f32_to_bf16(ed->data[i][k]);
                unsigned char c[2] = {(unsigned char)b, (unsigned char)(b >> 8)};
                fwrite(c, 1, 2, f);
            } else {
                double dv = ed->data[i][k];
                fwrite(&dv, 1, 8, f); /* x86-64 is little-endian */
            }
        }
    }
    return fclose(f) == 0;
}

static void test_dtypes(void)
{
    char src[512], path[300], ref32[300];
    CU_ASSERT_PTR_NOT_NULL_FATAL(first_fixture_model(src, sizeof src));
    editable ed;
    CU_ASSERT_FATAL(editable_load(&ed, src));
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("cpu", &ctx), OCT_OK);
    rng_t r = {77};
    float *x = rng_array(&r, 2 * 3 * 8 * 8, -2, 2);
    int in_c = (int)ed.shapes[find_name(&ed, "stem.0.weight")][1];
    static const char *const types[] = {"F64", "BF16"};
    for (int t = 0; t < 2; t++) {
        snprintf(path, sizeof path, "%s/typed.safetensors", g_tmpdir);
        snprintf(ref32, sizeof ref32, "%s/typed32.safetensors", g_tmpdir);
        CU_ASSERT_FATAL(write_typed(path, &ed, types[t]));
        if (t == 1) /* the F32 twin holds the same bf16-rounded values */
            for (int i = 0; i < ed.count; i++) {
                size_t cnt = 1;
                for (int d = 0; d < ed.ndims[i]; d++) cnt *= (size_t)ed.shapes[i][d];
                for (size_t k = 0; k < cnt; k++) {
                    uint32_t u = (uint32_t)f32_to_bf16(ed.data[i][k]) << 16;
                    memcpy(&ed.data[i][k], &u, 4);
                }
            }
        CU_ASSERT_EQUAL(oct__st_save(ref32, ed.count, ed.names, ed.ndims, (const int64_t(*)[OCT_MAX_DIMS])ed.shapes,
                                     (const float *const *)ed.data, 0, NULL, NULL),
                        OCT_OK);
        oct_model *a = NULL, *b = NULL;
        CU_ASSERT_EQUAL(oct_model_load(ctx, path, &a), OCT_OK);
        CU_ASSERT_EQUAL(oct_model_load(ctx, ref32, &b), OCT_OK);
        if (a && b) {
            float la[20], lb[20];
            CU_ASSERT_EQUAL(oct_model_forward(a, x, 2, 8, 8, la, NULL, NULL), OCT_OK);
            CU_ASSERT_EQUAL(oct_model_forward(b, x, 2, 8, 8, lb, NULL, NULL), OCT_OK);
            oct_model_info info;
            oct_model_info_get(a, &info);
            CU_ASSERT_EQUAL(memcmp(la, lb, 2 * (size_t)info.num_classes * sizeof(float)), 0);
        }
        (void)in_c;
        oct_model_free(a);
        oct_model_free(b);
        unlink(path);
        unlink(ref32);
    }
    free(x);
    oct_context_free(ctx);
    editable_free(&ed);
}

/* ------------------------------------------------------------------------------------ */
/* The trained models against PyTorch's top-1 on a slice of the test set                 */

#define SLICE_FAST 500  /* images per model on the fast backends */
#ifdef OCT_SLICE_REF
#define SLICE_REF OCT_SLICE_REF
#else
#define SLICE_REF 100 /* images per model on the reference (plain loops) */
#endif

static void check_trained(const char *model_path, const char *top1_path, const char *spec, int limit)
{
    oct_idx images = {0};
    oct_array top1 = {0};
    oct_context *ctx = NULL;
    oct_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_idx_load(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &images), OCT_OK);
    CU_ASSERT_EQUAL(oct_npy_load(top1_path, &top1), OCT_OK);
    CU_ASSERT_EQUAL(oct_context_create(spec, &ctx), OCT_OK);
    CU_ASSERT_EQUAL(oct_model_load(ctx, model_path, &m), OCT_OK);
    if (m && top1.data && oct_array_count(&top1) >= (size_t)limit) {
        oct_model_info info;
        oct_model_info_get(m, &info);
        CU_ASSERT(info.has_norm);
        const int hw = 28 * 28, batch = 100;
        float *x = malloc((size_t)batch * hw * sizeof(float)), *logits = malloc((size_t)batch * 10 * sizeof(float));
        int agree = 0;
        for (int start = 0; start < limit; start += batch) {
            int n = limit - start < batch ? limit - start : batch;
            for (size_t i = 0; i < (size_t)n * hw; i++)
                x[i] = (float)((images.data[(size_t)start * hw + i] / 255.0 - info.mean) / info.std);
            CU_ASSERT_EQUAL_FATAL(oct_model_forward(m, x, n, 28, 28, logits, NULL, NULL), OCT_OK);
            for (int b = 0; b < n; b++) {
                int best = 0;
                for (int k = 1; k < 10; k++)
                    if (logits[b * 10 + k] > logits[b * 10 + best]) best = k;
                agree += best == (int)top1.data[start + b];
            }
        }
        printf("\n    %s on %s: top-1 agrees with PyTorch on %d of %d", model_path, spec, agree, limit);
        /* 99.9% agreement on the slice (all of a small slice). */
        CU_ASSERT(agree * 1000 >= limit * 999);
        free(x);
        free(logits);
    }
    oct_model_free(m);
    oct_context_free(ctx);
    oct_array_release(&top1);
    oct_idx_release(&images);
}

static void test_trained_models(void)
{
    static const char *const alphas[] = {"0.00", "0.25", "0.50", "0.75"};
    int found = 0;
    for (int a = 0; a < 4; a++) {
        char model[512], top1[512];
        snprintf(model, sizeof model, "%s/octnet_fmnist_a%s.safetensors", OCT_MODELS_DIR, alphas[a]);
        snprintf(top1, sizeof top1, "%s/fmnist_%s_pytorch_top1.npy", OCT_FIXTURE_DIR, alphas[a]);
        if (access(model, R_OK) != 0) continue;
        found++;
        for (int i = 0; i < g_nspecs; i++)
            check_trained(model, top1, g_specs[i], strcmp(g_specs[i], "ref") == 0 ? SLICE_REF : SLICE_FAST);
    }
    CU_ASSERT_EQUAL(found, 4);
}

/* A batch larger than the memory limit runs in chunks with the same logits. */
static void test_chunking(void)
{
    rng_t r = {99};
    const int n = 7, h = 12, w = 10;
    float *x = rng_array(&r, (size_t)n * 3 * h * w, -2, 2);
    for (int i = 0; i < g_nspecs; i++) {
        oct_context *ctx = NULL;
        oct_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_context_create(g_specs[i], &ctx), OCT_OK);
        CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ctx, 3, 10, 0.5, 5, &m), OCT_OK);
        float whole[70], chunked[70];
        CU_ASSERT_EQUAL(oct_model_forward(m, x, n, h, w, whole, NULL, NULL), OCT_OK);
        CU_ASSERT_EQUAL(oct_model_last_chunk(m), n);
        size_t three = oct_model_activation_bytes(m, 3, h, w);
        CU_ASSERT(three > oct_model_activation_bytes(m, 2, h, w));
        CU_ASSERT_EQUAL(oct_model_set_memory_limit(m, three), OCT_OK);
        CU_ASSERT_EQUAL(oct_model_forward(m, x, n, h, w, chunked, NULL, NULL), OCT_OK);
        CU_ASSERT_EQUAL(oct_model_last_chunk(m), 3);
        char what[64];
        snprintf(what, sizeof what, "chunked logits on %s", g_specs[i]);
        /* Bit for bit, but on cpu: it groups a chunk's images into one GEMM, whose
         * blocking (and so float rounding) depends on how many there are. */
        int exact = strcmp(g_specs[i], "cpu") != 0;
        CU_ASSERT_EQUAL(compare_floats(what, whole, chunked, 70, exact ? 0 : TOL_ABS, exact ? 0 : TOL_REL), 0);
        CU_ASSERT_EQUAL(oct_model_set_memory_limit(m, oct_model_activation_bytes(m, 1, h, w) - 1), OCT_OK);
        CU_ASSERT_EQUAL(oct_model_forward(m, x, n, h, w, chunked, NULL, NULL), OCT_ERR_DEVICE_MEMORY);
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "over the limit"));
        oct_model_free(m);
        oct_context_free(ctx);
    }
    free(x);
}

/* oct_model_activation_bytes is what a pass really allocates (chunking under a memory
 * limit and the benchmark's memory column rely on it): a fresh model's first pass grows
 * the context's buffer bytes by exactly that, at sizes with and without a resized low
 * band, at every kind of band split; freeing the model gives every byte back. */
static void test_activation_bytes(void)
{
    static const double alphas[] = {0, 0.25, 0.5, 1};
    static const int sizes[][3] = {{1, 32, 32}, {3, 9, 7}, {2, 28, 28}, {1, 5, 6}};
    rng_t r = {7};
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ctx), OCT_OK);
    for (size_t a = 0; a < sizeof alphas / sizeof alphas[0]; a++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            int n = sizes[i][0], h = sizes[i][1], w = sizes[i][2];
            oct_model *m = NULL;
            float logits[3 * 10];
            float *x = rng_array(&r, (size_t)n * 3 * h * w, -2, 2);
            CU_ASSERT_EQUAL_FATAL(oct_model_create_random(ctx, 3, 10, alphas[a], 1, &m), OCT_OK);
            size_t before = ctx->buf_bytes;
            CU_ASSERT_EQUAL(oct_model_forward(m, x, n, h, w, logits, NULL, NULL), OCT_OK);
            size_t got = ctx->buf_bytes - before, want = oct_model_activation_bytes(m, n, h, w);
            if (got != want)
                printf("alpha %g, (%d, 3, %d, %d): the pass allocated %zu bytes, oct_model_activation_bytes says %zu\n",
                       alphas[a], n, h, w, got, want);
            CU_ASSERT_EQUAL(got, want);
            oct_model_free(m);
            CU_ASSERT_EQUAL(ctx->buf_bytes, 0);
            free(x);
        }
    oct_context_free(ctx);
}

int main(void)
{
    snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/octcl-test-model-XXXXXX");
    if (!mkdtemp(g_tmpdir)) return 1;
    snprintf(g_specs[g_nspecs++], 32, "ref");
    snprintf(g_specs[g_nspecs++], 32, "cpu");
    oct_device_info devs[MAX_DEVICES - 2];
    int n = 0;
    oct_list_devices(devs, MAX_DEVICES - 2, &n);
    if (n == 0) printf("OpenCL tests skipped: %s\n", oct_last_error());
    for (int i = 0; i < n && i < MAX_DEVICES - 2; i++) {
        snprintf(g_specs[g_nspecs++], 32, "opencl:%d:%d", devs[i].platform_index, devs[i].device_index);
        printf("OpenCL device %s: %s (%s, %s)\n", g_specs[g_nspecs - 1], devs[i].name, devs[i].platform,
               devs[i].driver);
    }
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("OctNetMini", NULL, NULL);
    CU_add_test(s, "parameters and the seed's shape trace", test_params_and_trace);
    CU_add_test(s, "logits match PyTorch on every backend", test_parity);
    CU_add_test(s, "malformed model files", test_malformed_models);
    CU_add_test(s, "F64 and BF16 weights", test_dtypes);
    CU_add_test(s, "batches larger than the memory limit run in chunks", test_chunking);
    CU_add_test(s, "activation bytes are what a pass allocates", test_activation_bytes);
    CU_add_test(s, "trained models agree with PyTorch top-1", test_trained_models);
    int rc = run_cunit();
    rmdir(g_tmpdir);
    return rc;
}
