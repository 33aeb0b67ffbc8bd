/* io.h — the file readers' internals: whole-file reads and the parse-from-memory cores
 * of the .npy and IDX readers (the safetensors parser has its own header). Every core
 * takes the bytes, their length and a name used only in messages, so fuzzers and tests
 * can call it without touching the file system.
 */
#ifndef OCT_IO_H
#define OCT_IO_H

#include "internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* Read a whole file into a fresh malloc'd buffer (*bytes, *len). A file larger than
 * `cap` bytes is OCT_ERR_IO (message says so); open / read failures are OCT_ERR_IO.
 * On success *bytes is never NULL (an empty file gives a 1-byte buffer, *len 0); on
 * failure *bytes is NULL and *len 0. Free with free(). */
oct_status oct__read_file(const char *path, size_t cap, uint8_t **bytes, size_t *len);

/* *count = product of shape[0 .. ndim) (1 for ndim 0; 0 when any dim is 0). Returns 0
 * when a dim is negative or the product of the nonzero dims overflows size_t, else 1. */
int oct__shape_count(const int64_t *shape, int ndim, size_t *count);

/* Write count floats to f as little-endian float32 bytes; 0 on a write error. */
int oct__write_f32le(FILE *f, const float *data, size_t count);

/* Parse a .npy image held in memory (versions 1.0, 2.0, 3.0; '<f4', C order, rank
 * 0..OCT_MAX_DIMS, data exactly product(shape) * 4 bytes). `name` appears in messages.
 * On success *out owns a fresh copy of the data (never NULL, even for zero elements);
 * on failure *out is zeroed. */
oct_status oct__npy_parse(const uint8_t *bytes, size_t len, const char *name, oct_array *out);

/* Parse an IDX image held in memory (already decompressed): magic 00 00 08 ndims with
 * ndims 1..4, big-endian u32 dims each > 0, then exactly product(dims) bytes. On success
 * *out owns a fresh copy of the data; on failure *out is zeroed. */
oct_status oct__idx_parse(const uint8_t *bytes, size_t len, const char *name, oct_idx *out);

/* Largest decompressed IDX file oct_idx_load accepts. */
#define OCT__IDX_MAX_BYTES ((size_t)1 << 30)

#endif /* OCT_IO_H */
