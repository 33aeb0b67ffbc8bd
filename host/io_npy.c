/* io_npy.c — float32 .npy files: a checked reader (versions 1.0 / 2.0 / 3.0, '<f4',
 * C order) built on a parse-from-memory core, and the version 1.0 writer (atomic, through
 * io_file.c).
 */
#include "io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Shared helpers                                                                         */

int oct__shape_count(const int64_t *shape, int ndim, size_t *count)
{
    size_t n = 1;
    int zero = 0;
    if (ndim < 0 || (ndim > 0 && !shape)) return 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return 0;
        if (shape[i] == 0) zero = 1;
    }
    for (int i = 0; i < ndim && !zero; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (d > SIZE_MAX || n > SIZE_MAX / (size_t)d) return 0;
        n *= (size_t)d;
    }
    if (count) *count = zero ? 0 : n;
    return 1;
}

/* ------------------------------------------------------------------------------------ */
/* The header dict: a tiny Python literal                                                */

typedef struct {
    const char *p;
    const char *begin;
    const char *end;
    char why[96]; /* the first problem found, "" while none */
} oct__npy_cur;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int npy_fail(oct__npy_cur *c, const char *fmt, ...)
{
    if (!c->why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, sizeof c->why, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static void npy_ws(oct__npy_cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int npy_peek(const oct__npy_cur *c) { return c->p < c->end ? (unsigned char)*c->p : -1; }

/* A quoted string without escapes into dst (cap bytes with the NUL). */
static int npy_string(oct__npy_cur *c, char *dst, size_t cap)
{
    int q = npy_peek(c);
    size_t n = 0;
    if (q != '\'' && q != '"') return npy_fail(c, "expected a quoted string");
    c->p++;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\') return npy_fail(c, "escapes in strings are not supported");
        if (n + 1 >= cap) return npy_fail(c, "string too long");
        dst[n++] = *c->p++;
    }
    if (c->p >= c->end) return npy_fail(c, "unterminated string");
    c->p++;
    dst[n] = '\0';
    return 1;
}

static int npy_word(oct__npy_cur *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
    c->p += n;
    return 1;
}

static int npy_bool(oct__npy_cur *c, int *v)
{
    if (npy_word(c, "True")) *v = 1;
    else if (npy_word(c, "False")) *v = 0;
    else return npy_fail(c, "expected True or False");
    return 1;
}

/* A non-negative decimal integer (Python 2's 'L' suffix allowed). */
static int npy_int(oct__npy_cur *c, int64_t *v)
{
    int64_t x = 0;
    int digits = 0;
    if (npy_peek(c) == '-') return npy_fail(c, "negative dimension");
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        int d = *c->p - '0';
        if (x > (INT64_MAX - d) / 10) return npy_fail(c, "dimension does not fit in 64 bits");
        x = x * 10 + d;
        digits++;
        c->p++;
    }
    if (!digits) return npy_fail(c, "expected a dimension");
    if (npy_peek(c) == 'L' || npy_peek(c) == 'l') c->p++;
    *v = x;
    return 1;
}

/* "(d0, d1, ...)": a tuple; a single element needs its trailing comma. */
static int npy_tuple(oct__npy_cur *c, int64_t *shape, int *ndim)
{
    int n = 0, comma = 0;
    if (npy_peek(c) != '(') return npy_fail(c, "shape is not a tuple");
    c->p++;
    npy_ws(c);
    while (npy_peek(c) != ')') {
        int64_t d = 0;
        if (n == OCT_MAX_DIMS) return npy_fail(c, "rank exceeds 8");
        if (!npy_int(c, &d)) return 0;
        shape[n++] = d;
        npy_ws(c);
        comma = 0;
        if (npy_peek(c) == ',') {
            comma = 1;
            c->p++;
            npy_ws(c);
        } else if (npy_peek(c) != ')') {
            return npy_fail(c, "expected ',' or ')' in shape");
        }
    }
    if (n == 1 && !comma) return npy_fail(c, "shape (d) without a comma is not a tuple");
    c->p++;
    *ndim = n;
    return 1;
}

typedef struct {
    char descr[64];
    int fortran;
    int64_t shape[OCT_MAX_DIMS];
    int ndim;
} oct__npy_header;

static int npy_dict(oct__npy_cur *c, oct__npy_header *h)
{
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    char key[32];
    npy_ws(c);
    if (npy_peek(c) != '{') return npy_fail(c, "expected '{'");
    c->p++;
    for (;;) {
        npy_ws(c);
        if (npy_peek(c) == '}') break;
        if (!npy_string(c, key, sizeof key)) return 0;
        npy_ws(c);
        if (npy_peek(c) != ':') return npy_fail(c, "expected ':'");
        c->p++;
        npy_ws(c);
        if (strcmp(key, "descr") == 0) {
            if (seen_descr++) return npy_fail(c, "duplicate key 'descr'");
            if (npy_peek(c) != '\'' && npy_peek(c) != '"')
                return npy_fail(c, "descr is not a plain type string");
            if (!npy_string(c, h->descr, sizeof h->descr)) return 0;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (seen_fortran++) return npy_fail(c, "duplicate key 'fortran_order'");
            if (!npy_bool(c, &h->fortran)) return 0;
        } else if (strcmp(key, "shape") == 0) {
            if (seen_shape++) return npy_fail(c, "duplicate key 'shape'");
            if (!npy_tuple(c, h->shape, &h->ndim)) return 0;
        } else {
            return npy_fail(c, "unknown key '%s'", key);
        }
        npy_ws(c);
        if (npy_peek(c) == ',') {
            c->p++;
            continue;
        }
        if (npy_peek(c) != '}') return npy_fail(c, "expected ',' or '}'");
        break;
    }
    c->p++;
    npy_ws(c);
    if (c->p != c->end) return npy_fail(c, "text after the dict");
    if (!seen_descr) return npy_fail(c, "missing key 'descr'");
    if (!seen_fortran) return npy_fail(c, "missing key 'fortran_order'");
    if (!seen_shape) return npy_fail(c, "missing key 'shape'");
    return 1;
}

/* ------------------------------------------------------------------------------------ */
/* Reading                                                                                */

static const uint8_t oct__npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

oct_status oct__npy_parse(const uint8_t *bytes, size_t len, const char *name, oct_array *out)
{
    oct__npy_header h;
    oct__npy_cur c;
    size_t hstart, hlen, count, nbytes, data_len;
    const uint8_t *data;
    float *values = NULL;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "npy_parse: output is NULL");
    memset(out, 0, sizeof *out);
    if (!name) name = "<memory>";
    if (!bytes && len) return oct__fail(OCT_ERR_NULL_ARG, "%s: bytes are NULL", name);

    if (len < 10)
        return oct__fail(OCT_ERR_FORMAT, "%s: %zu bytes is too short for a .npy file", name, len);
    if (memcmp(bytes, oct__npy_magic, sizeof oct__npy_magic) != 0)
        return oct__fail(OCT_ERR_FORMAT, "%s: not a .npy file (bad magic)", name);
    if (bytes[7] != 0 || bytes[6] < 1 || bytes[6] > 3)
        return oct__fail(OCT_ERR_FORMAT, "%s: unsupported .npy version %u.%u", name,
                         (unsigned)bytes[6], (unsigned)bytes[7]);
    if (bytes[6] == 1) {
        hstart = 10;
        hlen = (size_t)bytes[8] | (size_t)bytes[9] << 8;
    } else {
        if (len < 12)
            return oct__fail(OCT_ERR_FORMAT, "%s: %zu bytes is too short for a .npy file", name, len);
        hstart = 12;
        hlen = (size_t)((uint32_t)bytes[8] | (uint32_t)bytes[9] << 8 | (uint32_t)bytes[10] << 16 |
                        (uint32_t)bytes[11] << 24);
    }
    if (hlen > len - hstart)
        return oct__fail(OCT_ERR_FORMAT, "%s: header length %zu past the end of the file (%zu bytes)",
                         name, hlen, len);

    memset(&h, 0, sizeof h);
    c.begin = c.p = (const char *)bytes + hstart;
    c.end = c.begin + hlen;
    c.why[0] = '\0';
    if (!npy_dict(&c, &h))
        return oct__fail(OCT_ERR_FORMAT, "%s: bad header dict: %s at header byte %zu", name,
                         c.why[0] ? c.why : "malformed", (size_t)(c.p - c.begin));
    if (strcmp(h.descr, "<f4") != 0)
        return oct__fail(OCT_ERR_FORMAT, "%s: dtype '%s' is not float32 ('<f4')", name, h.descr);
    if (h.fortran)
        return oct__fail(OCT_ERR_FORMAT, "%s: fortran_order True is not supported (C order only)",
                         name);
    if (!oct__shape_count(h.shape, h.ndim, &count) || count > SIZE_MAX / sizeof(float))
        return oct__fail(OCT_ERR_FORMAT, "%s: shape overflows the addressable size", name);
    nbytes = count * sizeof(float);
    data = bytes + hstart + hlen;
    data_len = len - hstart - hlen;
    if (data_len != nbytes)
        return oct__fail(OCT_ERR_FORMAT, "%s: data is %zu bytes but the shape needs %zu (%s)", name,
                         data_len, nbytes, data_len < nbytes ? "truncated" : "trailing bytes");

    values = oct__malloc(nbytes ? nbytes : sizeof(float));
    if (!values)
        return oct__fail(OCT_ERR_HOST_MEMORY, "%s: cannot allocate %zu bytes", name, nbytes);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *b = data + 4 * i;
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        memcpy(&values[i], &u, sizeof u);
    }
    out->data = values;
    out->ndim = h.ndim;
    for (int i = 0; i < h.ndim; i++) out->shape[i] = h.shape[i];
    return OCT_OK;
}

oct_status oct_npy_load(const char *path, oct_array *out)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    oct_status st;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "npy_load: output is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "npy_load: path is NULL");
    st = oct__read_file(path, SIZE_MAX / 2, &bytes, &len);
    if (st == OCT_OK) st = oct__npy_parse(bytes, len, path, out);
    free(bytes);
    return st;
}

size_t oct_array_count(const oct_array *a)
{
    size_t n = 0;
    if (!a || a->ndim < 0 || a->ndim > OCT_MAX_DIMS) return 0;
    if (!oct__shape_count(a->shape, a->ndim, &n)) return 0;
    return n;
}

void oct_array_release(oct_array *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------------------------------ */
/* Writing                                                                                */

oct_status oct_npy_save(const char *path, const float *data, int ndim, const int64_t *shape)
{
    oct_status st = OCT_OK;
    oct__ofile f;
    char dict[400];
    uint8_t head[512];
    size_t count, n, total;

    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "npy_save: path is NULL");
    if (ndim < 0 || ndim > OCT_MAX_DIMS)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: rank %d is not in 0..%d", path, ndim, OCT_MAX_DIMS);
    if (ndim > 0 && !shape) return oct__fail(OCT_ERR_NULL_ARG, "%s: shape is NULL", path);
    if (!oct__shape_count(shape, ndim, &count) || count > SIZE_MAX / sizeof(float))
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: shape has a negative dim or overflows", path);
    if (count > 0 && !data) return oct__fail(OCT_ERR_NULL_ARG, "%s: data is NULL", path);

    n = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%s%lld", i ? ", " : "",
                              (long long)shape[i]);
    n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", ndim == 1 ? "," : "");
    /* magic + version + u16 length + dict + spaces + '\n', a multiple of 64. */
    total = (10 + n + 1 + 63) / 64 * 64;
    memcpy(head, oct__npy_magic, 6);
    head[6] = 1;
    head[7] = 0;
    head[8] = (uint8_t)((total - 10) & 0xff);
    head[9] = (uint8_t)((total - 10) >> 8);
    memcpy(head + 10, dict, n);
    memset(head + 10 + n, ' ', total - 10 - n - 1);
    head[total - 1] = '\n';

    /* Atomic: a temporary beside path renamed into place; a failure removes only the
     * temporary (never path itself, which may be a device or someone else's file). */
    if ((st = oct__ofile_open(&f, path, 0)) != OCT_OK) return st;
    if ((st = oct__ofile_write(&f, head, total)) != OCT_OK || !oct__write_f32le(&f, data, count)) {
        oct__ofile_abort(&f);
        return st != OCT_OK ? st : OCT_ERR_IO;
    }
    return oct__ofile_commit(&f);
}
