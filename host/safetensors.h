/* safetensors.h — the safetensors reader (and a small F32 writer for tests): a checked
 * parse of the header, tensor lookup by name, __metadata__ lookup, and conversion of
 * F32 / F16 / BF16 / F64 tensors to float.
 *
 * The format: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON (an object mapping
 * tensor names to {"dtype", "shape", "data_offsets": [begin, end]}, plus an optional
 * "__metadata__" object of string -> string), then the data section; offsets are
 * relative to the start of the data section.
 */
#ifndef OCT_SAFETENSORS_H
#define OCT_SAFETENSORS_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

/* Element types, as the format spells them (see oct__st_dtype_name). */
typedef enum {
    OCT__ST_BOOL = 0,
    OCT__ST_U8,
    OCT__ST_I8,
    OCT__ST_F8_E5M2,
    OCT__ST_F8_E4M3,
    OCT__ST_I16,
    OCT__ST_U16,
    OCT__ST_F16,
    OCT__ST_BF16,
    OCT__ST_I32,
    OCT__ST_U32,
    OCT__ST_F32,
    OCT__ST_F64,
    OCT__ST_I64,
    OCT__ST_U64,
    OCT__ST_DTYPE_COUNT
} oct__st_dtype;

/* Largest header the parser accepts (the reference implementation's limit). */
#define OCT__ST_MAX_HEADER ((uint64_t)100000000)

/* "F32", "BF16", ...; "?" for a value out of range. */
const char *oct__st_dtype_name(int dtype);
/* Bytes per element; 0 for a value out of range. */
size_t oct__st_dtype_size(int dtype);

/* One tensor of a parsed file. `data` points into the owning oct__st's `file` and may
 * be unaligned (read it with memcpy, or through oct__st_to_f32). */
typedef struct {
    char *name;
    int dtype;                   /* an oct__st_dtype */
    int ndim;                    /* 0..OCT_MAX_DIMS */
    int64_t shape[OCT_MAX_DIMS]; /* dims beyond ndim are 0 */
    size_t count;                /* elements: product of shape (1 for rank 0) */
    size_t nbytes;               /* count * dtype size == end - begin */
    size_t begin, end;           /* data_offsets, relative to the data section */
    const uint8_t *data;         /* file + 8 + N + begin */
} oct__st_tensor;

/* A parsed file. Tensors are sorted by name; metadata pairs are sorted by key. */
typedef struct {
    uint8_t *file;               /* the whole file image, owned */
    size_t len;
    char *origin;                /* the name used in messages (path or caller's name) */
    oct__st_tensor *tensors;     /* (count) */
    int count;
    char **meta_keys;            /* (meta_count) */
    char **meta_values;          /* (meta_count) */
    int meta_count;
} oct__st;

/* Parse a file image held in memory. The bytes are COPIED: the caller keeps ownership
 * of `bytes`, and *out owns its own copy. `name` is used in messages (NULL reads as
 * "<memory>"). Every check of the format is made: header length within the file and at
 * most OCT__ST_MAX_HEADER, valid UTF-8 JSON object with nothing but whitespace after
 * it, known dtypes, ranks 0..OCT_MAX_DIMS, shapes of non-negative integers whose byte
 * size does not overflow and equals end - begin, begin <= end <= data length,
 * non-empty ranges that do not overlap, no duplicate tensor names, fields or metadata
 * keys, string metadata values. Malformed content is OCT_ERR_FORMAT. On failure *out
 * is zeroed and owns nothing. */
oct_status oct__st_parse(const uint8_t *bytes, size_t len, const char *name, oct__st *out);

/* Read `path` (OCT_ERR_IO when it cannot be read) and parse it as oct__st_parse does;
 * the file image is read once and kept without a second copy. */
oct_status oct__st_load(const char *path, oct__st *out);

/* Free everything *st owns and zero it. NULL and a zeroed struct are fine. */
void oct__st_release(oct__st *st);

/* The tensor called `name`, or NULL. */
const oct__st_tensor *oct__st_find(const oct__st *st, const char *name);

/* The __metadata__ value of `key`, or NULL when absent. */
const char *oct__st_meta(const oct__st *st, const char *key);

/* dst (t->count floats) = the tensor's values as float. F32, F16 (subnormals, inf and
 * NaN included), BF16 and F64 (rounded to nearest) are read as little-endian from
 * possibly unaligned data; any other dtype is OCT_ERR_FORMAT naming the tensor. */
oct_status oct__st_to_f32(const oct__st *st, const oct__st_tensor *t, float *dst);

/* Half-precision bits to float, exactly. */
float oct__f16_to_f32(uint16_t h);
/* bfloat16 bits to float, exactly (the top half of a float). */
float oct__bf16_to_f32(uint16_t h);

/* Write a safetensors file of F32 tensors (for tests and tools): tensor i is called
 * names[i], has shape shapes[i][0 .. ndims[i]) and data[i] (product of the shape
 * floats, C order; may be NULL when that product is 0). The header holds __metadata__
 * when meta_count > 0 and is padded with spaces so the data starts 8-byte aligned.
 * Tensors are stored in the order given. Duplicate names, the name "__metadata__",
 * duplicate metadata keys or text that is not UTF-8 are OCT_ERR_FORMAT; bad ranks or
 * shapes OCT_ERR_BAD_SIZE; write failures OCT_ERR_IO (a partial file is removed). */
oct_status oct__st_save(const char *path, int count, const char *const *names,
                        const int *ndims, const int64_t (*shapes)[OCT_MAX_DIMS],
                        const float *const *data, int meta_count,
                        const char *const *meta_keys, const char *const *meta_values);

#endif /* OCT_SAFETENSORS_H */
