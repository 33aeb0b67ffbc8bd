/* test_onnx_read.c — the ONNX reader on real files: a model built here with protobuf-c's
 * generated pack functions (every attribute type, initializers in raw_data, typed fields
 * and external data), models and tensors from ONNX's own backend test data (Debian's
 * libonnx-testdata), then hostile files: truncations at every length, bad varints,
 * lengths past the end, overflowing and negative dims, wrong byte counts, dangling reads,
 * cycles, external data reaching out of the folder, non-regular files, deep nesting,
 * and every allocation failing in turn.
 */
#include "testutil.h"

#include "onnx/onnx.h"

#include "onnx.pb-c.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef OCT_ONNX_TESTDATA
#define OCT_ONNX_TESTDATA "/usr/share/libonnx-testdata/data"
#endif

static char g_dir[64]; /* scratch folder for the files the tests write */

/* ------------------------------------------------------------------------------------ */
/* Building files with protobuf-c                                                         */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *scratch(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static uint8_t *pack_msg(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    CU_ASSERT_EQUAL(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

/* A small graph: nodes given as "op name in,in -> out" rows. */
typedef struct {
    const char *op, *name;
    const char *in[3];
    const char *out[2];
} tnode;

typedef struct {
    Onnx__NodeProto np[8];
    Onnx__NodeProto *npp[8];
    char *ins[8][3], *outs[8][2];
    Onnx__ValueInfoProto vi[8];
    Onnx__ValueInfoProto *vip[8];
    Onnx__ValueInfoProto vo[4];
    Onnx__ValueInfoProto *vop[4];
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsetp[1];
    Onnx__ModelProto m;
} tgraph;

/* Fill `t` with a model over `nodes`, graph inputs `inputs`, outputs `outputs` and
 * initializers `inits` (all NULL-terminated). */
static void tgraph_make(tgraph *t, const tnode *nodes, int nn, const char **inputs, const char **outputs,
                        Onnx__TensorProto **inits, int ninit)
{
    memset(t, 0, sizeof *t);
    onnx__graph_proto__init(&t->g);
    for (int k = 0; k < nn; k++) {
        Onnx__NodeProto *np = &t->np[k];
        onnx__node_proto__init(np);
        np->op_type = (char *)nodes[k].op;
        np->name = (char *)nodes[k].name;
        for (int j = 0; j < 3 && nodes[k].in[j]; j++) t->ins[k][np->n_input++] = (char *)nodes[k].in[j];
        for (int j = 0; j < 2 && nodes[k].out[j]; j++) t->outs[k][np->n_output++] = (char *)nodes[k].out[j];
        np->input = t->ins[k];
        np->output = t->outs[k];
        t->npp[k] = np;
    }
    t->g.n_node = (size_t)nn;
    t->g.node = t->npp;
    for (int k = 0; inputs && inputs[k]; k++) {
        onnx__value_info_proto__init(&t->vi[k]);
        t->vi[k].name = (char *)inputs[k];
        t->vip[k] = &t->vi[k];
        t->g.n_input++;
    }
    t->g.input = t->vip;
    for (int k = 0; outputs && outputs[k]; k++) {
        onnx__value_info_proto__init(&t->vo[k]);
        t->vo[k].name = (char *)outputs[k];
        t->vop[k] = &t->vo[k];
        t->g.n_output++;
    }
    t->g.output = t->vop;
    t->g.n_initializer = (size_t)ninit;
    t->g.initializer = inits;
    t->g.name = "g";
    onnx__operator_set_id_proto__init(&t->opset);
    t->opset.has_version = 1;
    t->opset.version = 13;
    t->opset.domain = "";
    t->opsetp[0] = &t->opset;
    onnx__model_proto__init(&t->m);
    t->m.has_ir_version = 1;
    t->m.ir_version = 8;
    t->m.n_opset_import = 1;
    t->m.opset_import = t->opsetp;
    t->m.graph = &t->g;
}

/* Parse `t` from memory (dir: the scratch folder); returns the status, frees the model. */
static oct_status parse_graph(tgraph *t)
{
    size_t len;
    uint8_t *buf = pack_msg(&t->m.base, &len);
    oct__onnx_model *m = NULL;
    oct_status s = oct__onnx_parse(buf, len, g_dir, &m);
    CU_ASSERT((s == OCT_OK) == (m != NULL));
    oct__onnx_free(m);
    free(buf);
    return s;
}

/* Expect status `want` and a message containing `part`. */
static void expect_fail(oct_status got, oct_status want, const char *part, const char *what)
{
    const char *msg = oct_last_error();
    if (got != want || !strstr(msg, part))
        printf("\n  %s: status %d (want %d), message '%s' (want '%s')\n", what, (int)got, (int)want, msg, part);
    CU_ASSERT_EQUAL(got, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, part));
    CU_ASSERT_PTR_NULL(strchr(msg, '\n'));
}

/* ------------------------------------------------------------------------------------ */
/* The full model built here                                                              */

/* Values chosen so each conversion is checked exactly: float32 in raw_data and in
 * float_data, float16 raw, double typed, int64 / int32 / uint8 / bool, external. */
static const float W_RAW[6] = {0.5f, -1.25f, 2.0f, -2.0f, 0.125f, 1.75f};
static const float B_TYPED[2] = {-0.75f, 1.5f};
static const float EXT[4] = {1.0f, -0.5f, 0.25f, -2.0f};
static const int64_t SHAPE_I64[2] = {1, -1};

/* Little-endian bytes of n floats. */
static void le_floats(uint8_t *out, const float *v, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        uint32_t u;
        memcpy(&u, &v[k], 4);
        for (int b = 0; b < 4; b++) out[4 * k + (size_t)b] = (uint8_t)(u >> (8 * b));
    }
}

/* The external data file: 8 junk bytes, then EXT (offset 8, length 16). */
static void write_ext_file(const char *name)
{
    uint8_t bytes[8 + 16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
    le_floats(bytes + 8, EXT, 4);
    write_file(scratch(name), bytes, sizeof bytes);
}

/* Pack the full model into a fresh buffer; `location` is the external data location. */
static uint8_t *full_model(size_t *len, const char *location)
{
    static uint8_t w_raw[24], h_raw[4], u8_raw[3];
    static int64_t w_dims[4] = {2, 3, 1, 1}, b_dims[1] = {2}, e_dims[2] = {2, 2}, h_dims[1] = {2}, d_dims[1] = {2},
                   s_dims[1] = {2}, i_dims[1] = {3}, u_dims[1] = {3}, bo_dims[1] = {2};
    static float b_data[2];
    static double d_data[2] = {3.5, -1e300};
    static int32_t i_data[3] = {-7, 0, 2147483647}, bo_data[2] = {0, 5};
    static int64_t s_data[2];
    static Onnx__TensorProto tw, tb, te, th, td, ts, ti, tu, tbo;
    static Onnx__TensorProto *inits[8];
    static Onnx__StringStringEntryProto kv[3];
    static Onnx__StringStringEntryProto *kvp[3];
    static Onnx__AttributeProto at[8];
    static Onnx__AttributeProto *atp_conv[6], *atp_const[1], *atp_if[1];
    static int64_t ints[4] = {1, 2, 3, -4};
    static float floats[2] = {0.5f, -3.0f};
    static Onnx__GraphProto sub;
    static Onnx__TypeProto tx, ty;
    static Onnx__TypeProto__Tensor ttx, tty;
    static Onnx__TensorShapeProto shx, shy;
    static Onnx__TensorShapeProto__Dimension dx[4], dy[4];
    static Onnx__TensorShapeProto__Dimension *dxp[4], *dyp[4];
    static tgraph t;
    static const char *inputs[] = {"x", "w", NULL}; /* "w" is an initializer too */
    static const char *outputs[] = {"y", NULL};
    tnode nodes[4] = {
        {"Constant", "shape_const", {NULL}, {"shape", NULL}},
        {"Conv", "conv0", {"x", "w", "b"}, {"c", NULL}},
        {"Relu", "", {"c"}, {"r", NULL}},
        {"Reshape", "reshape", {"r", "shape"}, {"y", NULL}},
    };

    memcpy(b_data, B_TYPED, sizeof b_data);
    memcpy(s_data, SHAPE_I64, sizeof s_data);
    le_floats(w_raw, W_RAW, 6);
    /* float16 1.0 = 0x3c00, -2.5 = 0xc100 */
    h_raw[0] = 0x00; h_raw[1] = 0x3c; h_raw[2] = 0x00; h_raw[3] = 0xc1;
    u8_raw[0] = 0; u8_raw[1] = 200; u8_raw[2] = 255;

#define TENSOR(T, NAME, DT, DIMS, ND)                \
    onnx__tensor_proto__init(&T);                   \
    T.name = NAME;                                  \
    T.has_data_type = 1;                            \
    T.data_type = DT;                               \
    T.n_dims = ND;                                  \
    T.dims = DIMS
    TENSOR(tw, "w", OCT__ONNX_FLOAT, w_dims, 4);
    tw.has_raw_data = 1;
    tw.raw_data.data = w_raw;
    tw.raw_data.len = sizeof w_raw;
    TENSOR(tb, "b", OCT__ONNX_FLOAT, b_dims, 1);
    tb.n_float_data = 2;
    tb.float_data = b_data;
    TENSOR(te, "ext", OCT__ONNX_FLOAT, e_dims, 2);
    te.has_data_location = 1;
    te.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    for (int k = 0; k < 3; k++) {
        onnx__string_string_entry_proto__init(&kv[k]);
        kvp[k] = &kv[k];
    }
    kv[0].key = "location";
    kv[0].value = (char *)location;
    kv[1].key = "offset";
    kv[1].value = "8";
    kv[2].key = "length";
    kv[2].value = "16";
    te.n_external_data = 3;
    te.external_data = kvp;
    TENSOR(th, "h", OCT__ONNX_FLOAT16, h_dims, 1);
    th.has_raw_data = 1;
    th.raw_data.data = h_raw;
    th.raw_data.len = 4;
    TENSOR(td, "d", OCT__ONNX_DOUBLE, d_dims, 1);
    td.n_double_data = 2;
    td.double_data = d_data;
    TENSOR(ts, "", OCT__ONNX_INT64, s_dims, 1);
    ts.n_int64_data = 2;
    ts.int64_data = s_data;
    TENSOR(ti, "i32", OCT__ONNX_INT32, i_dims, 1);
    ti.n_int32_data = 3;
    ti.int32_data = i_data;
    TENSOR(tu, "u8", OCT__ONNX_UINT8, u_dims, 1);
    tu.has_raw_data = 1;
    tu.raw_data.data = u8_raw;
    tu.raw_data.len = 3;
    TENSOR(tbo, "bool", OCT__ONNX_BOOL, bo_dims, 1);
    tbo.n_int32_data = 2;
    tbo.int32_data = bo_data;
#undef TENSOR
    inits[0] = &tw; inits[1] = &tb; inits[2] = &te; inits[3] = &th;
    inits[4] = &td; inits[5] = &ti; inits[6] = &tu; inits[7] = &tbo;

    tgraph_make(&t, nodes, 4, inputs, outputs, inits, 8);

    for (int k = 0; k < 8; k++) {
        onnx__attribute_proto__init(&at[k]);
        at[k].has_type = 1;
    }
    at[0].name = "value";
    at[0].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    at[0].t = &ts;
    atp_const[0] = &at[0];
    at[1].name = "group";
    at[1].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    at[1].has_i = 1;
    at[1].i = -3;
    at[2].name = "alpha";
    at[2].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    at[2].has_f = 1;
    at[2].f = 0.25f;
    at[3].name = "auto_pad";
    at[3].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    at[3].has_s = 1;
    at[3].s.data = (uint8_t *)"SAME_UPPER";
    at[3].s.len = 10;
    at[4].name = "pads";
    at[4].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    at[4].n_ints = 4;
    at[4].ints = ints;
    at[5].name = "scales";
    at[5].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    at[5].n_floats = 2;
    at[5].floats = floats;
    at[6].name = "body";
    at[6].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    onnx__graph_proto__init(&sub);
    sub.name = "subgraph";
    at[6].g = &sub;
    at[7].name = "empty_ints"; /* an INTS attribute with no values */
    at[7].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    for (int k = 0; k < 5; k++) atp_conv[k] = &at[k + 1];
    atp_conv[5] = &at[7];
    atp_if[0] = &at[6];
    t.np[0].n_attribute = 1;
    t.np[0].attribute = atp_const;
    t.np[1].n_attribute = 6;
    t.np[1].attribute = atp_conv;
    t.np[2].n_attribute = 1;
    t.np[2].attribute = atp_if;
    t.np[3].domain = "ai.onnx";

    /* x: (N, 3, 4, ?) FLOAT; y: FLOAT, shape (N, 8) */
    for (int k = 0; k < 4; k++) {
        onnx__tensor_shape_proto__dimension__init(&dx[k]);
        onnx__tensor_shape_proto__dimension__init(&dy[k]);
        dxp[k] = &dx[k];
        dyp[k] = &dy[k];
    }
    dx[0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    dx[0].dim_param = "N";
    dx[1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    dx[1].dim_value = 3;
    dx[2].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    dx[2].dim_value = 4; /* dx[3]: neither */
    dy[0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    dy[0].dim_param = "N";
    dy[1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    dy[1].dim_value = 8;
    onnx__tensor_shape_proto__init(&shx);
    shx.n_dim = 4;
    shx.dim = dxp;
    onnx__tensor_shape_proto__init(&shy);
    shy.n_dim = 2;
    shy.dim = dyp;
    onnx__type_proto__tensor__init(&ttx);
    ttx.has_elem_type = 1;
    ttx.elem_type = OCT__ONNX_FLOAT;
    ttx.shape = &shx;
    onnx__type_proto__tensor__init(&tty);
    tty.has_elem_type = 1;
    tty.elem_type = OCT__ONNX_FLOAT;
    tty.shape = &shy;
    onnx__type_proto__init(&tx);
    tx.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tx.tensor_type = &ttx;
    onnx__type_proto__init(&ty);
    ty.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    ty.tensor_type = &tty;
    t.vi[0].type = &tx;
    t.vo[0].type = &ty;
    t.m.producer_name = "octcl-test";
    return pack_msg(&t.m.base, len);
}

static void check_full_model(const oct__onnx_model *m)
{
    const oct__onnx_node *n;
    const oct__onnx_attr *a;
    const oct__onnx_tensor *t;

    CU_ASSERT_EQUAL(m->opset, 13);
    CU_ASSERT_EQUAL(m->ir_version, 8);
    CU_ASSERT_STRING_EQUAL(m->producer, "octcl-test");
    CU_ASSERT_STRING_EQUAL(m->graph_name, "g");
    CU_ASSERT_EQUAL_FATAL(m->nnodes, 4);
    CU_ASSERT_STRING_EQUAL(m->nodes[0].op_type, "Constant");
    CU_ASSERT_STRING_EQUAL(m->nodes[1].name, "conv0");
    CU_ASSERT_STRING_EQUAL(m->nodes[2].name, "");
    CU_ASSERT_STRING_EQUAL(m->nodes[3].domain, ""); /* "ai.onnx" */
    n = &m->nodes[1];
    CU_ASSERT_EQUAL_FATAL(n->ninputs, 3);
    CU_ASSERT_STRING_EQUAL(n->inputs[0], "x");
    CU_ASSERT_STRING_EQUAL(n->inputs[2], "b");
    CU_ASSERT_EQUAL_FATAL(n->noutputs, 1);
    CU_ASSERT_STRING_EQUAL(n->outputs[0], "c");
    CU_ASSERT_EQUAL(n->nattrs, 6);
    a = oct__onnx_attr_find(n, "group");
    CU_ASSERT_FATAL(a && a->type == OCT__ONNX_ATTR_INT);
    CU_ASSERT_EQUAL(a->i, -3);
    a = oct__onnx_attr_find(n, "alpha");
    CU_ASSERT_FATAL(a && a->type == OCT__ONNX_ATTR_FLOAT);
    CU_ASSERT_EQUAL(a->f, 0.25);
    a = oct__onnx_attr_find(n, "auto_pad");
    CU_ASSERT_FATAL(a && a->type == OCT__ONNX_ATTR_STRING);
    CU_ASSERT_STRING_EQUAL(a->s, "SAME_UPPER");
    a = oct__onnx_attr_find(n, "pads");
    CU_ASSERT_FATAL(a && a->type == OCT__ONNX_ATTR_INTS && a->nints == 4);
    CU_ASSERT(a->ints[0] == 1 && a->ints[1] == 2 && a->ints[2] == 3 && a->ints[3] == -4);
    a = oct__onnx_attr_find(n, "scales");
    CU_ASSERT_FATAL(a && a->type == OCT__ONNX_ATTR_FLOATS && a->nfloats == 2);
    CU_ASSERT(a->floats[0] == 0.5 && a->floats[1] == -3.0);
    a = oct__onnx_attr_find(n, "empty_ints");
    CU_ASSERT_FATAL(a && a->type == OCT__ONNX_ATTR_INTS);
    CU_ASSERT_EQUAL(a->nints, 0);
    CU_ASSERT_PTR_NULL(oct__onnx_attr_find(n, "missing"));
    a = oct__onnx_attr_find(&m->nodes[2], "body");
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT_EQUAL(a->type, OCT__ONNX_ATTR_OTHER);
    a = oct__onnx_attr_find(&m->nodes[0], "value");
    CU_ASSERT_FATAL(a && a->type == OCT__ONNX_ATTR_TENSOR && a->t);
    CU_ASSERT_EQUAL(a->t->dtype, OCT__ONNX_INT64);
    CU_ASSERT_EQUAL(a->t->ndim, 1);
    CU_ASSERT_EQUAL(a->t->count, 2);
    CU_ASSERT_FATAL(a->t->i != NULL);
    CU_ASSERT_PTR_NULL(a->t->f);
    CU_ASSERT(a->t->i[0] == 1 && a->t->i[1] == -1);

    CU_ASSERT_EQUAL_FATAL(m->ninits, 8);
    t = oct__onnx_init_find(m, "w");
    CU_ASSERT_FATAL(t && t->f && t->count == 6 && t->ndim == 4);
    CU_ASSERT(t->dims[0] == 2 && t->dims[1] == 3 && t->dims[2] == 1 && t->dims[3] == 1);
    CU_ASSERT_EQUAL(compare_floats("w (raw_data)", W_RAW, t->f, 6, 0, 0), 0);
    t = oct__onnx_init_find(m, "b");
    CU_ASSERT_FATAL(t && t->f && t->count == 2);
    CU_ASSERT_EQUAL(compare_floats("b (float_data)", B_TYPED, t->f, 2, 0, 0), 0);
    t = oct__onnx_init_find(m, "ext");
    CU_ASSERT_FATAL(t && t->f && t->count == 4);
    CU_ASSERT_EQUAL(compare_floats("ext (external data)", EXT, t->f, 4, 0, 0), 0);
    t = oct__onnx_init_find(m, "h");
    CU_ASSERT_FATAL(t && t->f && t->count == 2);
    CU_ASSERT(t->f[0] == 1.0f && t->f[1] == -2.5f);
    t = oct__onnx_init_find(m, "d");
    CU_ASSERT_FATAL(t && t->f && t->count == 2);
    CU_ASSERT(t->f[0] == 3.5f && isinf(t->f[1]) && t->f[1] < 0);
    t = oct__onnx_init_find(m, "i32");
    CU_ASSERT_FATAL(t && t->i && !t->f && t->count == 3);
    CU_ASSERT(t->i[0] == -7 && t->i[1] == 0 && t->i[2] == 2147483647);
    t = oct__onnx_init_find(m, "u8");
    CU_ASSERT_FATAL(t && t->i && t->count == 3);
    CU_ASSERT(t->i[0] == 0 && t->i[1] == 200 && t->i[2] == 255);
    t = oct__onnx_init_find(m, "bool");
    CU_ASSERT_FATAL(t && t->i && t->count == 2);
    CU_ASSERT(t->i[0] == 0 && t->i[1] == 1);
    CU_ASSERT_PTR_NULL(oct__onnx_init_find(m, "nope"));

    /* "w" is listed as a graph input and is an initializer: only "x" remains */
    CU_ASSERT_EQUAL_FATAL(m->ninputs, 1);
    CU_ASSERT_STRING_EQUAL(m->inputs[0].name, "x");
    CU_ASSERT_EQUAL(m->inputs[0].elem_type, OCT__ONNX_FLOAT);
    CU_ASSERT_EQUAL(m->inputs[0].shape_known, 1);
    CU_ASSERT_EQUAL_FATAL(m->inputs[0].ndim, 4);
    CU_ASSERT(m->inputs[0].dims[0] == -1 && m->inputs[0].dims[1] == 3 && m->inputs[0].dims[2] == 4 &&
              m->inputs[0].dims[3] == -1);
    CU_ASSERT_STRING_EQUAL(m->inputs[0].dim_param[0], "N");
    CU_ASSERT_PTR_NULL(m->inputs[0].dim_param[1]);
    CU_ASSERT_PTR_NULL(m->inputs[0].dim_param[3]);
    CU_ASSERT_EQUAL_FATAL(m->noutputs, 1);
    CU_ASSERT_STRING_EQUAL(m->outputs[0].name, "y");
    CU_ASSERT_EQUAL_FATAL(m->outputs[0].ndim, 2);
    CU_ASSERT(m->outputs[0].dims[0] == -1 && m->outputs[0].dims[1] == 8);
    CU_ASSERT_STRING_EQUAL(m->outputs[0].dim_param[0], "N");
}

static void test_full_model(void)
{
    size_t len;
    uint8_t *buf = full_model(&len, "weights.bin");
    oct__onnx_model *m = NULL;

    write_ext_file("weights.bin");
    write_file(scratch("full.onnx"), buf, len);
    CU_ASSERT_EQUAL_FATAL(oct__onnx_read(scratch("full.onnx"), &m), OCT_OK);
    check_full_model(m);
    oct__onnx_free(m);
    m = NULL;
    /* the same from memory with the folder given; without one, external data is refused */
    CU_ASSERT_EQUAL_FATAL(oct__onnx_parse(buf, len, g_dir, &m), OCT_OK);
    check_full_model(m);
    oct__onnx_free(m);
    m = NULL;
    expect_fail(oct__onnx_parse(buf, len, NULL, &m), OCT_ERR_FORMAT, "initializer 'ext': external data 'weights.bin' "
                "refused", "no folder");
    CU_ASSERT_PTR_NULL(m);
    free(buf);

    /* external data in a subfolder, spelled with "./" */
    CU_ASSERT_EQUAL(mkdir(scratch("sub"), 0700) == 0 || errno == EEXIST, 1);
    write_ext_file("sub/w2.bin");
    buf = full_model(&len, "./sub//w2.bin");
    write_file(scratch("sub.onnx"), buf, len);
    CU_ASSERT_EQUAL(oct__onnx_read(scratch("sub.onnx"), &m), OCT_OK);
    if (m) check_full_model(m);
    oct__onnx_free(m);
    free(buf);
    oct__onnx_free(NULL);
    oct__onnx_tensor_release(NULL);
}

/* Every allocation of a full read fails in turn: a status and a message each time,
 * never a crash (LeakSanitizer, in the sanitizer build, finds leaks). */
static void test_faults(void)
{
    size_t len;
    uint8_t *buf = full_model(&len, "weights.bin");
    long n;
    int oom = 0;

    write_ext_file("weights.bin");
    write_file(scratch("full.onnx"), buf, len);
    free(buf);
    for (n = 1; n < 2000; n++) {
        oct__onnx_model *m = NULL;
        oct_status s;
        oct_debug_fail_at(n);
        s = oct__onnx_read(scratch("full.onnx"), &m);
        if (s == OCT_OK) {
            check_full_model(m);
            oct__onnx_free(m);
            if (oct_debug_fault_calls() < n) break; /* the fault was never reached */
            continue;
        }
        CU_ASSERT_EQUAL(s, OCT_ERR_HOST_MEMORY);
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT(strlen(oct_last_error()) > 0);
        oom++;
    }
    oct_debug_fail_at(0);
    printf("\n  %d allocations failed in turn, each a clean OCT_ERR_HOST_MEMORY\n", oom);
    CU_ASSERT(n < 2000);
    CU_ASSERT(oom > 50);
}

/* ------------------------------------------------------------------------------------ */
/* ONNX's backend test data                                                               */

static void test_testdata_conv(void)
{
    oct__onnx_model *m = NULL;
    const oct__onnx_attr *a;
    oct__onnx_tensor x;

    /* node/test_conv_with_strides_padding: Conv(x, W) -> y, both graph inputs */
    CU_ASSERT_EQUAL_FATAL(oct__onnx_read(OCT_ONNX_TESTDATA "/node/test_conv_with_strides_padding/model.onnx", &m),
                          OCT_OK);
    CU_ASSERT_EQUAL(m->opset, 11);
    CU_ASSERT_EQUAL(m->ir_version, 6);
    CU_ASSERT_STRING_EQUAL(m->producer, "backend-test");
    CU_ASSERT_EQUAL_FATAL(m->nnodes, 1);
    CU_ASSERT_STRING_EQUAL(m->nodes[0].op_type, "Conv");
    CU_ASSERT_EQUAL(m->ninits, 0);
    CU_ASSERT_EQUAL_FATAL(m->ninputs, 2);
    CU_ASSERT_STRING_EQUAL(m->inputs[0].name, "x");
    CU_ASSERT_STRING_EQUAL(m->inputs[1].name, "W");
    CU_ASSERT_EQUAL_FATAL(m->inputs[0].ndim, 4);
    CU_ASSERT(m->inputs[0].dims[0] == 1 && m->inputs[0].dims[1] == 1 && m->inputs[0].dims[2] == 7 &&
              m->inputs[0].dims[3] == 5);
    CU_ASSERT_EQUAL_FATAL(m->outputs[0].ndim, 4);
    CU_ASSERT(m->outputs[0].dims[2] == 4 && m->outputs[0].dims[3] == 3);
    a = oct__onnx_attr_find(&m->nodes[0], "kernel_shape");
    CU_ASSERT_FATAL(a && a->type == OCT__ONNX_ATTR_INTS && a->nints == 2);
    CU_ASSERT(a->ints[0] == 3 && a->ints[1] == 3);
    a = oct__onnx_attr_find(&m->nodes[0], "pads");
    CU_ASSERT_FATAL(a && a->nints == 4);
    CU_ASSERT(a->ints[0] == 1 && a->ints[1] == 1 && a->ints[2] == 1 && a->ints[3] == 1);
    a = oct__onnx_attr_find(&m->nodes[0], "strides");
    CU_ASSERT_FATAL(a && a->nints == 2);
    CU_ASSERT(a->ints[0] == 2 && a->ints[1] == 2);
    oct__onnx_free(m);
    m = NULL;

    /* its input x: (1, 1, 7, 5) holding 0, 1, ..., 34 */
    CU_ASSERT_EQUAL_FATAL(
        oct__onnx_read_tensor(OCT_ONNX_TESTDATA "/node/test_conv_with_strides_padding/test_data_set_0/input_0.pb", &x),
        OCT_OK);
    CU_ASSERT_STRING_EQUAL(x.name, "x");
    CU_ASSERT_EQUAL(x.dtype, OCT__ONNX_FLOAT);
    CU_ASSERT_EQUAL(x.count, 35);
    CU_ASSERT_FATAL(x.f != NULL);
    for (size_t k = 0; k < 35; k++)
        if (x.f[k] != (float)k) {
            printf("\n  x[%zu] = %g, want %zu\n", k, x.f[k], k);
            CU_FAIL("input_0.pb values");
            break;
        }
    oct__onnx_tensor_release(&x);
    CU_ASSERT_PTR_NULL(x.f);

    /* pytorch-converted/test_Conv2d: Conv(0, 1, 2) -> 3, weights "1" (4, 3, 3, 2) and
     * bias "2" (4) as initializers also listed as inputs. */
    CU_ASSERT_EQUAL_FATAL(oct__onnx_read(OCT_ONNX_TESTDATA "/pytorch-converted/test_Conv2d/model.onnx", &m), OCT_OK);
    CU_ASSERT_EQUAL(m->opset, 6);
    CU_ASSERT_STRING_EQUAL(m->producer, "pytorch");
    CU_ASSERT_EQUAL_FATAL(m->nnodes, 1);
    CU_ASSERT_EQUAL(m->nodes[0].ninputs, 3);
    CU_ASSERT_EQUAL(m->nodes[0].nattrs, 5);
    a = oct__onnx_attr_find(&m->nodes[0], "group");
    CU_ASSERT_FATAL(a && a->type == OCT__ONNX_ATTR_INT);
    CU_ASSERT_EQUAL(a->i, 1);
    a = oct__onnx_attr_find(&m->nodes[0], "kernel_shape");
    CU_ASSERT_FATAL(a && a->nints == 2);
    CU_ASSERT(a->ints[0] == 3 && a->ints[1] == 2);
    CU_ASSERT_EQUAL_FATAL(m->ninputs, 1);
    CU_ASSERT_STRING_EQUAL(m->inputs[0].name, "0");
    CU_ASSERT_EQUAL(m->ninits, 2);
    {
        const oct__onnx_tensor *w = oct__onnx_init_find(m, "1"), *b = oct__onnx_init_find(m, "2");
        CU_ASSERT_FATAL(w && b && w->f && b->f);
        CU_ASSERT(w->ndim == 4 && w->dims[0] == 4 && w->dims[1] == 3 && w->dims[2] == 3 && w->dims[3] == 2);
        CU_ASSERT_EQUAL(w->count, 72);
        CU_ASSERT_EQUAL(b->count, 4);
        /* raw_data starts 1b 5f 12 be: 0xbe125f1b = sign 1, exponent 0x7c (2^-3),
         * mantissa 0x125f1b / 2^23 = 0.143530..., so -(1.143530...) / 8 = -0.14294092 */
        CU_ASSERT(fabsf(w->f[0] - -0.14294092f) <= 1e-8f);
        /* bias: a4 bb 32 be = 0xbe32bba4: -(1 + 0x32bba4 / 2^23) / 8 = -0.17454392 */
        CU_ASSERT(fabsf(b->f[0] - -0.17454392f) <= 1e-8f);
    }
    oct__onnx_free(m);
}

/* Every model.onnx and input_N.pb under the backend test data reads (a few named
 * reasons excepted, counted), every failure is a one-line FORMAT message. */
static int g_models, g_models_ok, g_tensors, g_tensors_ok;

static void sweep_dir(const char *path, int depth)
{
    DIR *d = opendir(path);
    struct dirent *e;
    if (!d) return;
    while ((e = readdir(d))) {
        char p[1024];
        struct stat sb;
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (lstat(p, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode) && depth < 4) {
            sweep_dir(p, depth + 1);
        } else if (strcmp(e->d_name, "model.onnx") == 0) {
            oct__onnx_model *m = NULL;
            oct_status s = oct__onnx_read(p, &m);
            g_models++;
            if (s == OCT_OK) {
                g_models_ok++;
                CU_ASSERT(m->nnodes >= 1);
            } else {
                printf("\n  %s", oct_last_error());
                CU_ASSERT_EQUAL(s, OCT_ERR_FORMAT);
            }
            oct__onnx_free(m);
        } else if (strncmp(e->d_name, "input_", 6) == 0 && strstr(e->d_name, ".pb")) {
            oct__onnx_tensor t;
            oct_status s = oct__onnx_read_tensor(p, &t);
            g_tensors++;
            if (s == OCT_OK) g_tensors_ok++;
            else CU_ASSERT_EQUAL(s, OCT_ERR_FORMAT);
            oct__onnx_tensor_release(&t);
        }
    }
    closedir(d);
}

static void test_testdata_sweep(void)
{
    g_models = g_models_ok = g_tensors = g_tensors_ok = 0;
    sweep_dir(OCT_ONNX_TESTDATA, 0);
    printf("\n  backend test data: %d of %d models and %d of %d input tensors read\n", g_models_ok, g_models,
           g_tensors_ok, g_tensors);
    CU_ASSERT(g_models > 1000);
    CU_ASSERT(g_models_ok == g_models);
    CU_ASSERT(g_tensors_ok > g_tensors * 9 / 10);
}

/* ------------------------------------------------------------------------------------ */
/* Hostile files                                                                          */

static void test_truncated(void)
{
    size_t len;
    uint8_t *buf = full_model(&len, "weights.bin");
    int ok = 0, bad = 0;

    write_ext_file("weights.bin");
    for (size_t l = 0; l < len; l++) {
        oct__onnx_model *m = NULL;
        uint8_t *copy = malloc(l ? l : 1); /* exactly l bytes, so ASan sees any overread */
        oct_status s;
        memcpy(copy, buf, l);
        s = oct__onnx_parse(copy, l, g_dir, &m);
        if (s == OCT_OK) {
            ok++; /* a cut between top-level fields can leave a valid, smaller model */
            oct__onnx_free(m);
        } else {
            bad++;
            if (s != OCT_ERR_FORMAT) printf("\n  length %zu: status %d: %s\n", l, (int)s, oct_last_error());
            CU_ASSERT_EQUAL(s, OCT_ERR_FORMAT);
            CU_ASSERT_PTR_NULL(m);
        }
        free(copy);
    }
    printf("\n  %zu-byte model cut at every length: %d refused, %d still valid\n", len, bad, ok);
    CU_ASSERT(bad > (int)len * 9 / 10);
    /* a cut inside the graph, read from a file */
    write_file(scratch("cut.onnx"), buf, len / 2);
    {
        oct__onnx_model *m = NULL;
        expect_fail(oct__onnx_read(scratch("cut.onnx"), &m), OCT_ERR_FORMAT, "runs past the end", "cut file");
        CU_ASSERT_PTR_NULL(m);
    }
    free(buf);
}

static void test_bad_wire(void)
{
    oct__onnx_model *m = NULL;
    oct__onnx_tensor t;
    /* ir_version (field 1, varint) with 11 continuation bytes */
    static const uint8_t varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    /* ir_version whose varint ends with the file */
    static const uint8_t varint_cut[] = {0x08, 0x80};
    /* graph (field 7, length-delimited) of length 16 with 2 bytes left */
    static const uint8_t past[] = {0x3a, 0x10, 0x0a, 0x00};
    /* graph whose node (field 1) has length 0x7fffffff */
    static const uint8_t past2[] = {0x3a, 0x06, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x07};
    /* field number 0; wire type 3 (a group); ir_version sent as a length */
    static const uint8_t field0[] = {0x00, 0x01};
    static const uint8_t group[] = {0x0b, 0x0c};
    static const uint8_t wrong_wt[] = {0x0a, 0x01, 0x00};
    /* a packed dims (TensorProto field 1) whose last varint is cut */
    static const uint8_t packed[] = {0x0a, 0x02, 0x01, 0x80};

    expect_fail(oct__onnx_parse(varint, sizeof varint, NULL, &m), OCT_ERR_FORMAT, "bad varint", "11-byte varint");
    expect_fail(oct__onnx_parse(varint_cut, sizeof varint_cut, NULL, &m), OCT_ERR_FORMAT, "truncated varint",
                "cut varint");
    expect_fail(oct__onnx_parse(past, sizeof past, NULL, &m), OCT_ERR_FORMAT, "length 16 runs past the end",
                "length past the end");
    expect_fail(oct__onnx_parse(past2, sizeof past2, NULL, &m), OCT_ERR_FORMAT, "runs past the end", "node length");
    expect_fail(oct__onnx_parse(field0, sizeof field0, NULL, &m), OCT_ERR_FORMAT, "bad field tag", "field 0");
    expect_fail(oct__onnx_parse(group, sizeof group, NULL, &m), OCT_ERR_FORMAT, "wire type 3", "group");
    expect_fail(oct__onnx_parse(wrong_wt, sizeof wrong_wt, NULL, &m), OCT_ERR_FORMAT, "(ir_version)", "wire type");
    expect_fail(oct__onnx_parse_tensor(packed, sizeof packed, NULL, &t), OCT_ERR_FORMAT, "packed element",
                "packed dims");
    CU_ASSERT_PTR_NULL(t.f);
    expect_fail(oct__onnx_parse("", 0, NULL, &m), OCT_ERR_FORMAT, "no graph", "empty file");
    CU_ASSERT_PTR_NULL(m);
}

/* One initializer `t` in a one-node graph reading it. */
static oct_status parse_with_init(Onnx__TensorProto *t)
{
    tgraph g;
    Onnx__TensorProto *inits[1] = {t};
    const char *ins[] = {"x", NULL}, *outs[] = {"y", NULL};
    tnode n[1] = {{"Add", "add", {"x", "w"}, {"y"}}};
    tgraph_make(&g, n, 1, ins, outs, inits, 1);
    return parse_graph(&g);
}

static void test_bad_tensors(void)
{
    Onnx__TensorProto t;
    int64_t huge[2] = {(int64_t)1 << 62, (int64_t)1 << 62}, neg[2] = {2, -3}, two[2] = {2, 3}, nine[9] = {1};
    uint8_t raw[24] = {0};
    float fl[5] = {0};

    onnx__tensor_proto__init(&t);
    t.name = "w";
    t.has_data_type = 1;
    t.data_type = OCT__ONNX_FLOAT;
    t.has_raw_data = 1;
    t.raw_data.data = raw;
    t.n_dims = 2;
    t.dims = huge;
    t.raw_data.len = 4;
    expect_fail(parse_with_init(&t), OCT_ERR_FORMAT, "initializer 'w': the product of its dims overflows", "overflow");
    huge[0] = huge[1] = (int64_t)1 << 20; /* 2^40 elements: no overflow, too many */
    expect_fail(parse_with_init(&t), OCT_ERR_FORMAT, "more than", "too many elements");
    t.dims = neg;
    expect_fail(parse_with_init(&t), OCT_ERR_FORMAT, "dim 1 is -3 (negative)", "negative dim");
    t.dims = two;
    t.raw_data.len = 20;
    expect_fail(parse_with_init(&t), OCT_ERR_FORMAT, "raw_data has 20 bytes, dims of 6 FLOAT elements need 24",
                "raw size");
    t.raw_data.len = 24;
    CU_ASSERT_EQUAL(parse_with_init(&t), OCT_OK);
    t.n_dims = 9;
    t.dims = nine;
    expect_fail(parse_with_init(&t), OCT_ERR_FORMAT, "has 9 dims", "rank 9");
    t.n_dims = 2;
    t.dims = two;
    t.has_raw_data = 0;
    t.n_float_data = 5;
    t.float_data = fl;
    expect_fail(parse_with_init(&t), OCT_ERR_FORMAT, "holds 5 values in its float_data field, its dims need 6",
                "typed count");
    t.has_raw_data = 1;
    t.raw_data.len = 24;
    expect_fail(parse_with_init(&t), OCT_ERR_FORMAT, "has both raw_data and typed values", "raw + typed");
    t.has_raw_data = 0;
    t.n_float_data = 0;
    expect_fail(parse_with_init(&t), OCT_ERR_FORMAT, "holds 0 values", "no data");
    /* an unconverted type keeps no data and is no error */
    t.data_type = 8; /* STRING */
    CU_ASSERT_EQUAL(parse_with_init(&t), OCT_OK);
}

static void test_bad_graphs(void)
{
    tgraph g;
    const char *ins[] = {"x", NULL}, *outs[] = {"y", NULL};
    tnode dangling[2] = {{"Relu", "r1", {"x"}, {"a"}}, {"Add", "add", {"a", "ghost"}, {"y"}}};
    tnode cycle[2] = {{"Relu", "A", {"b"}, {"a"}}, {"Relu", "B", {"a"}, {"b"}}};
    tnode cycle_out[3] = {{"Relu", "A", {"b"}, {"a"}}, {"Relu", "B", {"a"}, {"b"}}, {"Relu", "C", {"x"}, {"y"}}};
    tnode self[1] = {{"Relu", "", {"y"}, {"y"}}};
    tnode twice[2] = {{"Relu", "r1", {"x"}, {"y"}}, {"Relu", "r2", {"x"}, {"y"}}};
    tnode over_input[1] = {{"Relu", "r1", {"x"}, {"x"}}};
    tnode optional[1] = {{"Clip", "clip", {"x", "", ""}, {"y", ""}}};
    tnode noop[1] = {{"", "n", {"x"}, {"y"}}};
    const char *no_out[] = {"nowhere", NULL};
    const char *dup_in[] = {"x", "x", NULL};

    tgraph_make(&g, dangling, 2, ins, outs, NULL, 0);
    expect_fail(parse_graph(&g), OCT_ERR_FORMAT, "node 'add' (Add) reads 'ghost' which nothing writes (or a cycle)",
                "dangling");
    tgraph_make(&g, cycle, 2, ins, (const char *[]){"b", NULL}, NULL, 0);
    expect_fail(parse_graph(&g), OCT_ERR_FORMAT, "node 'A' (Relu) reads 'b' which nothing writes (or a cycle)",
                "2-node cycle");
    tgraph_make(&g, cycle_out, 3, ins, outs, NULL, 0);
    expect_fail(parse_graph(&g), OCT_ERR_FORMAT, "node 'A' (Relu) reads 'b'", "cycle beside a good path");
    tgraph_make(&g, self, 1, ins, outs, NULL, 0);
    expect_fail(parse_graph(&g), OCT_ERR_FORMAT, "node #0 (Relu) reads 'y' which nothing writes", "self loop");
    tgraph_make(&g, twice, 2, ins, outs, NULL, 0);
    expect_fail(parse_graph(&g), OCT_ERR_FORMAT, "node 'r2' (Relu) writes 'y', which is already the output of an "
                "earlier node", "written twice");
    tgraph_make(&g, over_input, 1, ins, ins, NULL, 0);
    expect_fail(parse_graph(&g), OCT_ERR_FORMAT, "writes 'x', which is already a graph input", "overwrites input");
    tgraph_make(&g, optional, 1, ins, outs, NULL, 0);
    CU_ASSERT_EQUAL(parse_graph(&g), OCT_OK);
    tgraph_make(&g, optional, 1, ins, no_out, NULL, 0);
    expect_fail(parse_graph(&g), OCT_ERR_FORMAT, "graph output 'nowhere' is written by no node", "output unwritten");
    tgraph_make(&g, optional, 1, dup_in, outs, NULL, 0);
    expect_fail(parse_graph(&g), OCT_ERR_FORMAT, "graph input 'x' appears twice", "duplicate input");
    tgraph_make(&g, noop, 1, ins, outs, NULL, 0);
    expect_fail(parse_graph(&g), OCT_ERR_FORMAT, "node 'n' () has no op_type", "no op_type");
    /* two default-domain opsets that disagree */
    tgraph_make(&g, optional, 1, ins, outs, NULL, 0);
    {
        Onnx__OperatorSetIdProto o2;
        Onnx__OperatorSetIdProto *os[2] = {&g.opset, &o2};
        onnx__operator_set_id_proto__init(&o2);
        o2.domain = "ai.onnx";
        o2.has_version = 1;
        o2.version = 17;
        g.m.n_opset_import = 2;
        g.m.opset_import = os;
        expect_fail(parse_graph(&g), OCT_ERR_FORMAT, "default domain twice (13 and 17)", "opsets");
        o2.domain = "com.microsoft"; /* another domain is not the default one */
        CU_ASSERT_EQUAL(parse_graph(&g), OCT_OK);
    }
}

/* Attribute GRAPH -> node -> attribute GRAPH ... `levels` deep. */
static void test_deep_nesting(void)
{
    enum { LEVELS = 200 };
    static Onnx__GraphProto gs[LEVELS];
    static Onnx__NodeProto ns[LEVELS];
    static Onnx__AttributeProto as[LEVELS];
    static Onnx__NodeProto *nps[LEVELS];
    static Onnx__AttributeProto *aps[LEVELS];
    tgraph g;
    const char *ins[] = {"x", NULL}, *outs[] = {"y", NULL};
    tnode n[1] = {{"If", "if", {"x"}, {"y"}}};

    for (int k = 0; k < LEVELS; k++) {
        onnx__graph_proto__init(&gs[k]);
        onnx__node_proto__init(&ns[k]);
        onnx__attribute_proto__init(&as[k]);
        ns[k].op_type = "If";
        as[k].name = "then_branch";
        as[k].has_type = 1;
        as[k].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
        nps[k] = &ns[k];
        aps[k] = &as[k];
        if (k + 1 < LEVELS) {
            gs[k].n_node = 1;
            gs[k].node = &nps[k + 1];
        }
        ns[k].n_attribute = 1;
        ns[k].attribute = &aps[k];
        as[k].g = &gs[k];
    }
    tgraph_make(&g, n, 1, ins, outs, NULL, 0);
    g.np[0].n_attribute = 1;
    g.np[0].attribute = &aps[0];
    expect_fail(parse_graph(&g), OCT_ERR_FORMAT, "nested deeper than 64", "deep nesting");
    gs[5].n_node = 0; /* 6 levels: fine, and the GRAPH attribute reads as OTHER */
    CU_ASSERT_EQUAL(parse_graph(&g), OCT_OK);
}

static void test_external_escapes(void)
{
    size_t len;
    uint8_t *buf;
    oct__onnx_model *m = NULL;
    char outside[128];
    struct {
        const char *location, *part;
        oct_status want;
    } cases[] = {
        {"../x", "has a '..' component", OCT_ERR_FORMAT},
        {"sub/../../x", "has a '..' component", OCT_ERR_FORMAT},
        {"/etc/passwd", "is an absolute path", OCT_ERR_FORMAT},
        {"link_out", "goes through a symbolic link", OCT_ERR_FORMAT},
        {"dirlink/w.bin", "goes through a symbolic link", OCT_ERR_FORMAT},
        {"missing.bin", "cannot open external data 'missing.bin'", OCT_ERR_IO},
        {"fifo", "is not a regular file", OCT_ERR_FORMAT},
        {"short.bin", "runs past its end", OCT_ERR_FORMAT},
        {"", "location has 0 characters", OCT_ERR_FORMAT},
    };

    /* a file outside the scratch folder, reachable by symlinks inside it */
    snprintf(outside, sizeof outside, "%s-outside", g_dir);
    CU_ASSERT_EQUAL(mkdir(outside, 0700) == 0 || errno == EEXIST, 1);
    {
        char p[256];
        uint8_t bytes[24] = {0};
        snprintf(p, sizeof p, "%s/w.bin", outside);
        write_file(p, bytes, sizeof bytes);
        unlink(scratch("link_out"));
        unlink(scratch("dirlink"));
        CU_ASSERT_EQUAL(symlink(p, scratch("link_out")), 0);
        CU_ASSERT_EQUAL(symlink(outside, scratch("dirlink")), 0);
        unlink(scratch("fifo"));
        CU_ASSERT_EQUAL(mkfifo(scratch("fifo"), 0600), 0);
        write_file(scratch("short.bin"), bytes, 20);
    }
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        buf = full_model(&len, cases[k].location);
        write_file(scratch("esc.onnx"), buf, len);
        expect_fail(oct__onnx_read(scratch("esc.onnx"), &m), cases[k].want, cases[k].part, cases[k].location);
        CU_ASSERT_PTR_NULL(m);
        free(buf);
    }
    {
        char p[256];
        snprintf(p, sizeof p, "%s/w.bin", outside);
        unlink(p);
        rmdir(outside);
    }
}

static void test_bad_paths(void)
{
    oct__onnx_model *m = NULL;
    oct__onnx_tensor t;

    unlink(scratch("model_fifo"));
    CU_ASSERT_EQUAL_FATAL(mkfifo(scratch("model_fifo"), 0600), 0);
    expect_fail(oct__onnx_read(scratch("model_fifo"), &m), OCT_ERR_IO, "not a regular file", "FIFO model");
    expect_fail(oct__onnx_read("/dev/zero", &m), OCT_ERR_IO, "/dev/zero: not a regular file", "/dev/zero");
    expect_fail(oct__onnx_read(g_dir, &m), OCT_ERR_IO, "not a regular file", "a folder");
    expect_fail(oct__onnx_read(scratch("absent.onnx"), &m), OCT_ERR_IO, "cannot open", "missing file");
    /* a (sparse) file one byte over 2 GiB is refused before anything is read */
    {
        FILE *f = fopen(scratch("huge.onnx"), "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(ftruncate(fileno(f), ((off_t)2 << 30) + 1), 0);
        fclose(f);
        expect_fail(oct__onnx_read(scratch("huge.onnx"), &m), OCT_ERR_IO, "2147483649 bytes, more than the 2 GiB",
                    "2 GiB + 1");
        unlink(scratch("huge.onnx"));
    }
    expect_fail(oct__onnx_read_tensor("/dev/zero", &t), OCT_ERR_IO, "not a regular file", "/dev/zero tensor");
    expect_fail(oct__onnx_read(NULL, &m), OCT_ERR_NULL_ARG, "path", "NULL path");
    expect_fail(oct__onnx_read("x", NULL), OCT_ERR_NULL_ARG, "out", "NULL out");
    CU_ASSERT_PTR_NULL(m);
    /* a model file as a tensor, a tensor file as a model: FORMAT, no crash */
    {
        oct_status s = oct__onnx_read_tensor(OCT_ONNX_TESTDATA "/pytorch-converted/test_Conv2d/model.onnx", &t);
        CU_ASSERT_NOT_EQUAL(s, OCT_OK);
        oct__onnx_tensor_release(&t);
        s = oct__onnx_read(OCT_ONNX_TESTDATA "/pytorch-converted/test_Conv2d/test_data_set_0/input_0.pb", &m);
        CU_ASSERT_EQUAL(s, OCT_ERR_FORMAT);
        oct__onnx_free(m);
    }
}

/* ------------------------------------------------------------------------------------ */

static void rm_scratch(void)
{
    static const char *names[] = {"weights.bin", "full.onnx", "sub/w2.bin", "sub", "sub.onnx", "cut.onnx",
                                  "link_out", "dirlink", "fifo", "short.bin", "esc.onnx", "model_fifo"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (unlink(scratch(names[k])) != 0) rmdir(scratch(names[k]));
}

static int suite_init(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/octcl-onnx-XXXXXX");
    return mkdtemp(g_dir) ? 0 : 1;
}

static int suite_clean(void)
{
    rm_scratch();
    rmdir(g_dir);
    return 0;
}

int main(void)
{
    CU_pSuite s;

    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    s = CU_add_suite("onnx_read", suite_init, suite_clean);
    if (!s || !CU_add_test(s, "model built with protobuf-c: every attribute and tensor kind", test_full_model) ||
        !CU_add_test(s, "backend test data: Conv models and input tensors", test_testdata_conv) ||
        !CU_add_test(s, "backend test data: every model and input", test_testdata_sweep) ||
        !CU_add_test(s, "truncated at every length", test_truncated) ||
        !CU_add_test(s, "bad varints, lengths, tags, wire types", test_bad_wire) ||
        !CU_add_test(s, "bad dims and data sizes", test_bad_tensors) ||
        !CU_add_test(s, "dangling reads, cycles, names written twice", test_bad_graphs) ||
        !CU_add_test(s, "deep nesting", test_deep_nesting) ||
        !CU_add_test(s, "external data escaping the folder", test_external_escapes) ||
        !CU_add_test(s, "non-regular and missing files", test_bad_paths) ||
        !CU_add_test(s, "every allocation failing in turn", test_faults)) {
        CU_cleanup_registry();
        return 1;
    }
    return run_cunit();
}
