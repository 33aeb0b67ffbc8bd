/* onnx.h — an ONNX model file read into plain C structs (no protobuf types leak out):
 * the graph's nodes in file order, their attributes, the initializers and Constant
 * values as float32 or int64 arrays, and the graph's inputs and outputs. The reader
 * (onnx_read.c, over protobuf-c code generated from Debian's onnx.proto) checks the
 * file, not the maths: every name a node reads is a graph input, an initializer or
 * the output of an EARLIER node (so a cycle or a dangling read is a load error);
 * external data is read from the model's own folder only. What the ops mean is the
 * graph importer's business.
 */
#ifndef OCT_ONNX_H
#define OCT_ONNX_H

#include "internal.h"

#include <stdint.h>

#define OCT__ONNX_MAX_DIMS 8

/* ONNX TensorProto.DataType values the reader converts (others keep data NULL and
 * are an error only when something reads them). */
enum {
    OCT__ONNX_FLOAT = 1, OCT__ONNX_UINT8 = 2, OCT__ONNX_INT8 = 3, OCT__ONNX_INT32 = 6,
    OCT__ONNX_INT64 = 7, OCT__ONNX_BOOL = 9, OCT__ONNX_FLOAT16 = 10, OCT__ONNX_DOUBLE = 11,
    /* also converted: INT16, UINT16, UINT32 into `i`; BFLOAT16 into `f` */
    OCT__ONNX_UINT16 = 4, OCT__ONNX_INT16 = 5, OCT__ONNX_UINT32 = 12, OCT__ONNX_BFLOAT16 = 16,
};

/* A constant tensor: an initializer, a Constant node's value, a tensor attribute. */
typedef struct {
    char *name;
    int dtype;                          /* ONNX DataType as stored in the file */
    int ndim;                           /* 0 for a scalar */
    int64_t dims[OCT__ONNX_MAX_DIMS];
    size_t count;                       /* product of dims (1 for a scalar) */
    float *f;                           /* FLOAT, FLOAT16, DOUBLE: count values, else NULL */
    int64_t *i;                         /* INT64, INT32, INT8, UINT8, BOOL: count values, else NULL */
} oct__onnx_tensor;

typedef enum {
    OCT__ONNX_ATTR_INT, OCT__ONNX_ATTR_FLOAT, OCT__ONNX_ATTR_STRING, OCT__ONNX_ATTR_TENSOR,
    OCT__ONNX_ATTR_INTS, OCT__ONNX_ATTR_FLOATS, OCT__ONNX_ATTR_OTHER
} oct__onnx_attr_type;

typedef struct {
    char *name;
    oct__onnx_attr_type type;
    int64_t i;                  /* INT */
    double f;                   /* FLOAT */
    char *s;                    /* STRING (NUL-terminated copy) */
    oct__onnx_tensor *t;        /* TENSOR */
    int64_t *ints; int nints;   /* INTS */
    double *floats; int nfloats;/* FLOATS */
} oct__onnx_attr;

typedef struct {
    char *name;                 /* "" when the file gives none */
    char *op_type;
    char *domain;               /* "" is the default ONNX domain ("ai.onnx" reads as "") */
    int ninputs;  char **inputs;   /* "" marks an omitted optional input */
    int noutputs; char **outputs;
    int nattrs;   oct__onnx_attr *attrs;
} oct__onnx_node;

/* A graph input or output: element type and dims; a dim that is symbolic or unknown is
 * -1 (its name, if any, in dim_param). */
typedef struct {
    char *name;
    int elem_type;
    int ndim;
    int64_t dims[OCT__ONNX_MAX_DIMS];
    char *dim_param[OCT__ONNX_MAX_DIMS];   /* NULL where the dim is a number */
    int shape_known;            /* 0 when the file gives no shape (then ndim is 0) */
} oct__onnx_value;

typedef struct {
    int64_t opset;              /* of the default domain ("" or "ai.onnx"); 0 when absent */
    int64_t ir_version;
    char *producer;             /* "pytorch", ... */
    char *graph_name;
    int nnodes;   oct__onnx_node *nodes;
    int ninits;   oct__onnx_tensor *inits;
    int ninputs;  oct__onnx_value *inputs;     /* initializers listed as inputs are removed */
    int noutputs; oct__onnx_value *outputs;
} oct__onnx_model;

/* Read a model file. External data (TensorProto.data_location = EXTERNAL) is read only
 * from files inside the model's folder (no absolute paths, no "..", no symlink out).
 * Errors: OCT_ERR_IO, OCT_ERR_FORMAT (one line naming what is wrong and where). */
oct_status oct__onnx_read(const char *path, oct__onnx_model **out);
/* The same from memory; `dir` is the folder for external data, NULL to refuse it. */
oct_status oct__onnx_parse(const void *data, size_t len, const char *dir, oct__onnx_model **out);
void oct__onnx_free(oct__onnx_model *m);

/* A serialized TensorProto file (the input_N.pb / output_N.pb of ONNX's backend test
 * data). out->name may be "". A type the reader does not convert (STRING, UINT64, ...)
 * is OCT_ERR_FORMAT here; on any error *out is zeroed. */
oct_status oct__onnx_read_tensor(const char *path, oct__onnx_tensor *out);
/* The same from memory (fuzzers, tests); `dir` as for oct__onnx_parse. */
oct_status oct__onnx_parse_tensor(const void *data, size_t len, const char *dir, oct__onnx_tensor *out);
void oct__onnx_tensor_release(oct__onnx_tensor *t);

/* Lookups (NULL when absent). */
const oct__onnx_attr *oct__onnx_attr_find(const oct__onnx_node *n, const char *name);
const oct__onnx_tensor *oct__onnx_init_find(const oct__onnx_model *m, const char *name);

#endif /* OCT_ONNX_H */
