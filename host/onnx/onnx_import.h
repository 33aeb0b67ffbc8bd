/* onnx_import.h — an ONNX model read by onnx_read.c into a graph (onnx_import.c). */
#ifndef OCT_ONNX_IMPORT_H
#define OCT_ONNX_IMPORT_H

#include "graph/graph.h"
#include "onnx/onnx.h"

/* Build the graph of `m` on ctx (weights uploaded). `path` names the file in messages.
 * Errors: OCT_ERR_UNSUPPORTED (node, op and value named), OCT_ERR_MODEL,
 * OCT_ERR_SHAPE_MISMATCH, OCT_ERR_HOST_MEMORY, device memory. */
oct_status oct__onnx_import(oct_context *ctx, const oct__onnx_model *m, const char *path, oct__graph **out);
/* Load a file: read it and import it. */
oct_status oct__onnx_load(oct_context *ctx, const char *path, oct__graph **out);
/* Test hook: on, the importer's symbol table grows by one name at a time, so that every
 * new name moves it (under ASan, a pointer into it kept across a new name is caught at
 * once, not only when a model happens to cross 256 or 512 names). Off by default. */
void oct__onnx_import_tight(int on);

#endif
