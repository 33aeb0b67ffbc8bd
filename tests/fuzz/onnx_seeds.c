/* onnx_seeds.c — writes the seed corpus of fuzz_onnx into the folder given as argument:
 * small models and tensors built with protobuf-c's generated pack functions (every
 * attribute type; raw, typed and external data; a subgraph; near-valid graphs), so no
 * binary seed is committed. run.sh runs it before fuzzing.
 * Usage: onnx_seeds DIR
 */
#include "onnx.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *g_out;

static void save(const char *name, const ProtobufCMessage *m)
{
    char path[1024];
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    FILE *f;
    if (!buf) exit(1);
    protobuf_c_message_pack(m, buf);
    snprintf(path, sizeof path, "%s/%s", g_out, name);
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "onnx_seeds: cannot write %s\n", path);
        exit(1);
    }
    free(buf);
}

static Onnx__TensorProto *tensor(const char *name, int dtype, int ndim, const int64_t *dims)
{
    Onnx__TensorProto *t = calloc(1, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)ndim;
    t->dims = (int64_t *)dims;
    return t;
}

static void raw(Onnx__TensorProto *t, const void *bytes, size_t n)
{
    t->has_raw_data = 1;
    t->raw_data.data = (uint8_t *)bytes;
    t->raw_data.len = n;
}

static void external(Onnx__TensorProto *t, const char *location, const char *offset, const char *length)
{
    Onnx__StringStringEntryProto **kv = calloc(3, sizeof *kv);
    const char *keys[3] = {"location", "offset", "length"}, *values[3] = {location, offset, length};
    for (int k = 0; k < 3; k++) {
        kv[k] = calloc(1, sizeof **kv);
        onnx__string_string_entry_proto__init(kv[k]);
        kv[k]->key = (char *)keys[k];
        kv[k]->value = (char *)values[k];
    }
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->n_external_data = 3;
    t->external_data = kv;
}

static Onnx__AttributeProto *attr(const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = calloc(1, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = type;
    return a;
}

static Onnx__NodeProto *node(const char *op, const char *name, const char *in0, const char *in1, const char *in2,
                             const char *out)
{
    Onnx__NodeProto *n = calloc(1, sizeof *n);
    const char *ins[3] = {in0, in1, in2};
    onnx__node_proto__init(n);
    n->op_type = (char *)op;
    n->name = (char *)name;
    n->input = calloc(3, sizeof *n->input);
    for (int k = 0; k < 3 && ins[k]; k++) n->input[n->n_input++] = (char *)ins[k];
    n->output = calloc(1, sizeof *n->output);
    n->output[0] = (char *)out;
    n->n_output = 1;
    return n;
}

static void add_attr(Onnx__NodeProto *n, Onnx__AttributeProto *a)
{
    n->attribute = realloc(n->attribute, (n->n_attribute + 1) * sizeof *n->attribute);
    n->attribute[n->n_attribute++] = a;
}

/* An INTS attribute `name` of count values from v (kept, not copied). */
static void add_ints(Onnx__NodeProto *n, const char *name, size_t count, int64_t *v)
{
    Onnx__AttributeProto *a = attr(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = count;
    a->ints = v;
    add_attr(n, a);
}

/* A FLOAT value "name" of shape (N, c, h, w) (dims <= 0 as the symbol N). */
static Onnx__ValueInfoProto *value(const char *name, int ndim, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = calloc(1, sizeof *v);
    Onnx__TypeProto *tp = calloc(1, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = calloc(1, sizeof *tt);
    Onnx__TensorShapeProto *sh = calloc(1, sizeof *sh);
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    sh->dim = calloc((size_t)ndim + 1, sizeof *sh->dim);
    for (int k = 0; k < ndim; k++) {
        Onnx__TensorShapeProto__Dimension *d = calloc(1, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[k] > 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[k];
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = "N";
        }
        sh->dim[sh->n_dim++] = d;
    }
    tt->has_elem_type = 1;
    tt->elem_type = 1;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    v->name = (char *)name;
    v->type = tp;
    return v;
}

typedef struct {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto os;
    Onnx__OperatorSetIdProto *osp[1];
} model;

static void model_init(model *md, int64_t opset)
{
    memset(md, 0, sizeof *md);
    onnx__model_proto__init(&md->m);
    onnx__graph_proto__init(&md->g);
    onnx__operator_set_id_proto__init(&md->os);
    md->os.domain = "";
    md->os.has_version = 1;
    md->os.version = opset;
    md->osp[0] = &md->os;
    md->m.n_opset_import = 1;
    md->m.opset_import = md->osp;
    md->m.has_ir_version = 1;
    md->m.ir_version = 8;
    md->m.producer_name = "pytorch";
    md->m.graph = &md->g;
    md->g.name = "torch_jit";
    md->g.node = calloc(8, sizeof *md->g.node);
    md->g.initializer = calloc(8, sizeof *md->g.initializer);
    md->g.input = calloc(8, sizeof *md->g.input);
    md->g.output = calloc(8, sizeof *md->g.output);
}

#define PUSH(arr, n, v) ((arr)[(n)++] = (v))

int main(int argc, char **argv)
{
    static const int64_t xd[4] = {0, 3, 4, 4}, yd[4] = {0, 2, 4, 4}, wd[4] = {2, 3, 1, 1}, bd[1] = {2},
                         sd[1] = {2}, ed[2] = {2, 2}, hd[1] = {2}, ud[1] = {3}, vd[2] = {1, 32};
    static const float wv[6] = {0.5f, -1.25f, 2.0f, -2.0f, 0.125f, 1.75f};
    static float bv[2] = {-0.75f, 1.5f};
    static double dv[2] = {3.5, -1e300};
    static int64_t iv[2] = {1, -1}, ints[4] = {1, 1, 1, 1};
    static int32_t bov[2] = {0, 1};
    static float floats[2] = {1.0f, 2.0f};
    static const uint8_t h16[4] = {0x00, 0x3c, 0x00, 0xc1}, u8[3] = {0, 200, 255};
    model md;
    Onnx__NodeProto *n;
    Onnx__AttributeProto *a;
    Onnx__TensorProto *t;

    if (argc != 2) {
        fprintf(stderr, "usage: onnx_seeds DIR\n");
        return 2;
    }
    g_out = argv[1];

    /* Conv + Relu with every attribute type, weights raw, bias typed */
    model_init(&md, 13);
    PUSH(md.g.input, md.g.n_input, value("x", 4, xd));
    PUSH(md.g.output, md.g.n_output, value("y", 4, yd));
    t = tensor("w", 1, 4, wd);
    raw(t, wv, sizeof wv);
    PUSH(md.g.initializer, md.g.n_initializer, t);
    t = tensor("b", 1, 1, bd);
    t->n_float_data = 2;
    t->float_data = bv;
    PUSH(md.g.initializer, md.g.n_initializer, t);
    n = node("Conv", "conv0", "x", "w", "b", "c");
    a = attr("group", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = 1;
    add_attr(n, a);
    add_ints(n, "pads", 4, ints);
    a = attr("auto_pad", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.data = (uint8_t *)"NOTSET";
    a->s.len = 6;
    add_attr(n, a);
    a = attr("alpha", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = 0.5f;
    add_attr(n, a);
    a = attr("scales", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = 2;
    a->floats = floats;
    add_attr(n, a);
    PUSH(md.g.node, md.g.n_node, n);
    PUSH(md.g.node, md.g.n_node, node("Relu", "", "c", NULL, NULL, "y"));
    save("conv.onnx", &md.m.base);
    /* near-valid: the Relu reads a name nothing writes; then a 2-node cycle */
    md.g.node[1]->input[0] = "ghost";
    save("bad_dangling.onnx", &md.m.base);
    md.g.node[1]->input[0] = "c";
    md.g.node[0]->input[0] = "y";
    save("bad_cycle.onnx", &md.m.base);

    /* Constant (INT64 tensor attribute) + Reshape; external, FLOAT16, DOUBLE, UINT8, BOOL */
    model_init(&md, 17);
    PUSH(md.g.input, md.g.n_input, value("x", 4, xd));
    PUSH(md.g.output, md.g.n_output, value("y", 2, vd));
    n = node("Constant", "shape", NULL, NULL, NULL, "s");
    a = attr("value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = tensor("", 7, 1, sd);
    a->t->n_int64_data = 2;
    a->t->int64_data = iv;
    add_attr(n, a);
    PUSH(md.g.node, md.g.n_node, n);
    PUSH(md.g.node, md.g.n_node, node("Reshape", "reshape", "x", "s", NULL, "y"));
    t = tensor("ext", 1, 2, ed);
    external(t, "d.bin", "8", "16");
    PUSH(md.g.initializer, md.g.n_initializer, t);
    t = tensor("h", 10, 1, hd);
    raw(t, h16, 4);
    PUSH(md.g.initializer, md.g.n_initializer, t);
    t = tensor("d", 11, 1, hd);
    t->n_double_data = 2;
    t->double_data = dv;
    PUSH(md.g.initializer, md.g.n_initializer, t);
    t = tensor("u8", 2, 1, ud);
    raw(t, u8, 3);
    PUSH(md.g.initializer, md.g.n_initializer, t);
    t = tensor("bool", 9, 1, hd);
    t->n_int32_data = 2;
    t->int32_data = bov;
    PUSH(md.g.initializer, md.g.n_initializer, t);
    save("reshape_ext.onnx", &md.m.base);

    /* If with a subgraph (a GRAPH attribute) */
    {
        static Onnx__GraphProto sub;
        model_init(&md, 11);
        PUSH(md.g.input, md.g.n_input, value("x", 4, xd));
        PUSH(md.g.output, md.g.n_output, value("y", 4, xd));
        onnx__graph_proto__init(&sub);
        sub.name = "then";
        sub.node = calloc(1, sizeof *sub.node);
        sub.node[sub.n_node++] = node("Identity", "id", "x", NULL, NULL, "z");
        n = node("If", "if", "x", NULL, NULL, "y");
        a = attr("then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
        a->g = &sub;
        add_attr(n, a);
        PUSH(md.g.node, md.g.n_node, n);
        save("if.onnx", &md.m.base);
    }

    /* F.pad as PyTorch exports it: pads from a constant chain (Reshape to (4, 2), Slice with
     * step -1, Transpose), a Pad, a second all-zero Pad, a 3x3 average pool */
    {
        static int64_t pads8[8] = {1, 2, 3, 0, 0, 0, 0, 0}, sh42[2] = {-1, 2}, st[1] = {-1},
                       en[1] = {INT64_MIN + 1}, ax[1] = {0}, sp[1] = {-1}, flat[1] = {-1}, zero8[8] = {0},
                       perm[2] = {1, 0}, k3[2] = {3, 3}, s2[2] = {2, 2};
        static const int64_t d8[1] = {8}, d2[1] = {2}, d1[1] = {1}, pd[4] = {0, 3, 3, 3};
        static const struct { const char *name; int64_t *v; const int64_t *dims; } consts[] = {
            {"pads8", pads8, d8}, {"sh42", sh42, d2}, {"st", st, d1}, {"en", en, d1},
            {"ax", ax, d1}, {"sp", sp, d1}, {"flat", flat, d1}, {"zero8", zero8, d8}};
        model_init(&md, 13);
        md.g.initializer = realloc(md.g.initializer, 10 * sizeof *md.g.initializer);
        PUSH(md.g.input, md.g.n_input, value("x", 4, xd));
        PUSH(md.g.output, md.g.n_output, value("y", 4, pd));
        for (size_t i = 0; i < sizeof consts / sizeof *consts; i++) {
            t = tensor(consts[i].name, 7, 1, consts[i].dims);
            t->n_int64_data = (size_t)consts[i].dims[0];
            t->int64_data = consts[i].v;
            PUSH(md.g.initializer, md.g.n_initializer, t);
        }
        PUSH(md.g.node, md.g.n_node, node("Reshape", "r42", "pads8", "sh42", NULL, "t42"));
        n = node("Slice", "rev", "t42", "st", "en", "rev42");
        n->input = realloc(n->input, 5 * sizeof *n->input);
        n->input[n->n_input++] = "ax";
        n->input[n->n_input++] = "sp";
        PUSH(md.g.node, md.g.n_node, n);
        n = node("Transpose", "tr", "rev42", NULL, NULL, "t24");
        add_ints(n, "perm", 2, perm);
        PUSH(md.g.node, md.g.n_node, n);
        PUSH(md.g.node, md.g.n_node, node("Reshape", "r8", "t24", "flat", NULL, "p"));
        PUSH(md.g.node, md.g.n_node, node("Pad", "pad", "x", "p", NULL, "xp"));
        PUSH(md.g.node, md.g.n_node, node("Pad", "pad0", "xp", "zero8", NULL, "xpp"));
        n = node("AveragePool", "pool", "xpp", NULL, NULL, "y");
        add_ints(n, "kernel_shape", 2, k3);
        add_ints(n, "strides", 2, s2);
        PUSH(md.g.node, md.g.n_node, n);
        save("fpad.onnx", &md.m.base);
    }

    /* lone tensors, as in test_data_set_N/input_N.pb */
    t = tensor("x", 1, 4, wd);
    raw(t, wv, sizeof wv);
    save("tensor_f32.pb", &t->base);
    t = tensor("s", 7, 1, sd);
    t->n_int64_data = 2;
    t->int64_data = iv;
    save("tensor_i64.pb", &t->base);
    t = tensor("h", 10, 1, hd);
    raw(t, h16, 4);
    save("tensor_f16.pb", &t->base);
    t = tensor("e", 1, 2, ed);
    external(t, "d.bin", "0", "16");
    save("tensor_ext.pb", &t->base);
    return 0;
}
