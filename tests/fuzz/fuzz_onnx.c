/* fuzz_onnx.c — libFuzzer harness for the ONNX reader: the input parsed as a model
 * (oct__onnx_parse) and as a lone tensor (oct__onnx_parse_tensor), external data allowed
 * from a scratch folder holding one 64-byte file "d.bin"; for what parses, the reader's
 * promises are checked and every value touched.
 */
#include "onnx/onnx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A broken promise is a bug: abort so libFuzzer saves the input. */
#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static char g_dir[64];

static void cleanup(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/d.bin", g_dir);
    unlink(p);
    rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char p[128];
    uint8_t bytes[64];
    FILE *f;
    (void)argc;
    (void)argv;
    snprintf(g_dir, sizeof g_dir, "/tmp/octcl-fuzz-onnx-XXXXXX");
    CHECK(mkdtemp(g_dir) != NULL);
    snprintf(p, sizeof p, "%s/d.bin", g_dir);
    for (int k = 0; k < 64; k++) bytes[k] = (uint8_t)(k * 37);
    f = fopen(p, "wb");
    CHECK(f && fwrite(bytes, 1, sizeof bytes, f) == sizeof bytes);
    fclose(f);
    atexit(cleanup);
    return 0;
}

static volatile double g_sink;

static void check_tensor(const oct__onnx_tensor *t)
{
    size_t count = 1;
    CHECK(t->name != NULL);
    CHECK(t->ndim >= 0 && t->ndim <= OCT__ONNX_MAX_DIMS);
    for (int d = 0; d < t->ndim; d++) {
        CHECK(t->dims[d] >= 0);
        count *= (size_t)t->dims[d]; /* the reader refused any product that overflows */
    }
    CHECK(t->count == count);
    CHECK(!(t->f && t->i));
    if (t->dtype == OCT__ONNX_FLOAT || t->dtype == OCT__ONNX_FLOAT16 || t->dtype == OCT__ONNX_DOUBLE)
        CHECK(t->f != NULL);
    if (t->dtype == OCT__ONNX_INT64 || t->dtype == OCT__ONNX_INT32 || t->dtype == OCT__ONNX_UINT8 ||
        t->dtype == OCT__ONNX_INT8 || t->dtype == OCT__ONNX_BOOL)
        CHECK(t->i != NULL);
    for (size_t k = 0; k < t->count; k++) g_sink += t->f ? t->f[k] : t->i ? (double)t->i[k] : 0;
    if (t->dtype == OCT__ONNX_BOOL)
        for (size_t k = 0; k < t->count; k++) CHECK(t->i[k] == 0 || t->i[k] == 1);
}

static void check_value(const oct__onnx_value *v)
{
    CHECK(v->name && v->name[0]);
    CHECK(v->ndim >= 0 && v->ndim <= OCT__ONNX_MAX_DIMS);
    CHECK(v->shape_known || v->ndim == 0);
    for (int d = 0; d < v->ndim; d++) {
        CHECK(v->dims[d] >= -1);
        CHECK(!v->dim_param[d] || v->dims[d] == -1);
        if (v->dim_param[d]) g_sink += (double)strlen(v->dim_param[d]);
    }
}

/* Is `name` written before node `upto`: a graph input, an initializer, an output? */
static int written(const oct__onnx_model *m, const char *name, int upto)
{
    for (int k = 0; k < m->ninputs; k++)
        if (strcmp(m->inputs[k].name, name) == 0) return 1;
    if (oct__onnx_init_find(m, name)) return 1;
    for (int k = 0; k < upto; k++)
        for (int j = 0; j < m->nodes[k].noutputs; j++)
            if (strcmp(m->nodes[k].outputs[j], name) == 0) return 1;
    return 0;
}

static void check_model(const oct__onnx_model *m)
{
    CHECK(m->producer && m->graph_name);
    CHECK(m->nnodes >= 0 && m->ninits >= 0 && m->ninputs >= 0 && m->noutputs >= 0);
    for (int k = 0; k < m->ninits; k++) {
        check_tensor(&m->inits[k]);
        CHECK(m->inits[k].name[0]);
        CHECK(oct__onnx_init_find(m, m->inits[k].name) == &m->inits[k]); /* names unique */
    }
    for (int k = 0; k < m->ninputs; k++) {
        check_value(&m->inputs[k]);
        CHECK(!oct__onnx_init_find(m, m->inputs[k].name));
    }
    for (int k = 0; k < m->nnodes; k++) {
        const oct__onnx_node *n = &m->nodes[k];
        CHECK(n->name && n->op_type && n->op_type[0] && n->domain);
        CHECK(strcmp(n->domain, "ai.onnx") != 0);
        for (int j = 0; j < n->ninputs; j++) {
            CHECK(n->inputs[j] != NULL);
            if (n->inputs[j][0]) CHECK(written(m, n->inputs[j], k));
        }
        for (int j = 0; j < n->noutputs; j++) {
            CHECK(n->outputs[j] != NULL);
            if (n->outputs[j][0]) CHECK(!written(m, n->outputs[j], k));
        }
        for (int j = 0; j < n->nattrs; j++) {
            const oct__onnx_attr *a = &n->attrs[j];
            CHECK(a->name && a->name[0]);
            CHECK(oct__onnx_attr_find(n, a->name) == a); /* names unique */
            switch (a->type) {
            case OCT__ONNX_ATTR_STRING: CHECK(a->s != NULL); g_sink += (double)strlen(a->s); break;
            case OCT__ONNX_ATTR_TENSOR: CHECK(a->t != NULL); check_tensor(a->t); break;
            case OCT__ONNX_ATTR_INTS:
                CHECK(a->ints && a->nints >= 0);
                for (int q = 0; q < a->nints; q++) g_sink += (double)a->ints[q];
                break;
            case OCT__ONNX_ATTR_FLOATS:
                CHECK(a->floats && a->nfloats >= 0);
                for (int q = 0; q < a->nfloats; q++) g_sink += a->floats[q];
                break;
            default: break;
            }
        }
    }
    for (int k = 0; k < m->noutputs; k++) {
        check_value(&m->outputs[k]);
        CHECK(written(m, m->outputs[k].name, m->nnodes));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oct__onnx_model *m = NULL;
    oct__onnx_tensor t;
    oct_status s;

    s = oct__onnx_parse(data, size, g_dir, &m);
    CHECK((s == OCT_OK) == (m != NULL));
    CHECK(s == OCT_OK || s == OCT_ERR_FORMAT || s == OCT_ERR_IO);
    if (s != OCT_OK) CHECK(oct_last_error()[0] && !strchr(oct_last_error(), '\n'));
    if (m) check_model(m);
    oct__onnx_free(m);

    s = oct__onnx_parse_tensor(data, size, g_dir, &t);
    CHECK(s == OCT_OK || s == OCT_ERR_FORMAT || s == OCT_ERR_IO);
    if (s == OCT_OK) {
        check_tensor(&t);
        CHECK(t.f || t.i);
    } else {
        CHECK(!t.f && !t.i && !t.name);
    }
    oct__onnx_tensor_release(&t);
    return 0;
}
