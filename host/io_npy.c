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
#include <unistd.h>

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

/* Check a .npy header held in bytes[0 .. len) (len may stop right after the header):
 * magic, version, dict, dtype '<f4', C order, a shape whose byte size fits. Fills *h,
 * *data_off (the offset of the data) and *count (elements). */
static oct_status npy_head(const uint8_t *bytes, size_t len, const char *name, oct__npy_header *h,
                           size_t *data_off, size_t *count)
{
    oct__npy_cur c;
    size_t hstart, hlen;

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

    memset(h, 0, sizeof *h);
    c.begin = c.p = (const char *)bytes + hstart;
    c.end = c.begin + hlen;
    c.why[0] = '\0';
    if (!npy_dict(&c, h))
        return oct__fail(OCT_ERR_FORMAT, "%s: bad header dict: %s at header byte %zu", name,
                         c.why[0] ? c.why : "malformed", (size_t)(c.p - c.begin));
    if (strcmp(h->descr, "<f4") != 0)
        return oct__fail(OCT_ERR_FORMAT, "%s: dtype '%s' is not float32 ('<f4')", name, h->descr);
    if (h->fortran)
        return oct__fail(OCT_ERR_FORMAT, "%s: fortran_order True is not supported (C order only)",
                         name);
    if (!oct__shape_count(h->shape, h->ndim, count) || *count > SIZE_MAX / sizeof(float))
        return oct__fail(OCT_ERR_FORMAT, "%s: shape overflows the addressable size", name);
    *data_off = hstart + hlen;
    return OCT_OK;
}

/* Little-endian float32 bytes to floats, in place (dst may be the bytes themselves). */
static void npy_f32le(const uint8_t *src, float *dst, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const uint8_t *b = src + 4 * i;
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        memcpy(&dst[i], &u, sizeof u);
    }
}

oct_status oct__npy_parse(const uint8_t *bytes, size_t len, const char *name, oct_array *out)
{
    oct__npy_header h;
    size_t data_off = 0, count = 0, nbytes, data_len;
    float *values = NULL;
    oct_status st;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "npy_parse: output is NULL");
    memset(out, 0, sizeof *out);
    if (!name) name = "<memory>";
    if (!bytes && len) return oct__fail(OCT_ERR_NULL_ARG, "%s: bytes are NULL", name);
    if ((st = npy_head(bytes, len, name, &h, &data_off, &count)) != OCT_OK) return st;
    nbytes = count * sizeof(float);
    data_len = len - data_off;
    if (data_len != nbytes)
        return oct__fail(OCT_ERR_FORMAT, "%s: data is %zu bytes but the shape needs %zu (%s)", name,
                         data_len, nbytes, data_len < nbytes ? "truncated" : "trailing bytes");

    values = oct__malloc(nbytes ? nbytes : sizeof(float));
    if (!values)
        return oct__fail(OCT_ERR_HOST_MEMORY, "%s: cannot allocate %zu bytes", name, nbytes);
    npy_f32le(bytes + data_off, values, count);
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

/* The v1.0 header of a little-endian float32 C-order array of `shape` (validated: rank,
 * dims, element count) in head (512 bytes), its length (a multiple of 64) in *total and
 * the element count in *count. */
static oct_status npy_header(const char *path, int ndim, const int64_t *shape, uint8_t *head, size_t *total,
                             size_t *count)
{
    char dict[400];
    if (ndim < 0 || ndim > OCT_MAX_DIMS)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: rank %d is not in 0..%d", path, ndim, OCT_MAX_DIMS);
    if (ndim > 0 && !shape) return oct__fail(OCT_ERR_NULL_ARG, "%s: shape is NULL", path);
    if (!oct__shape_count(shape, ndim, count) || *count > SIZE_MAX / sizeof(float))
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: shape has a negative dim or overflows", path);
    size_t n = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", ndim == 1 ? "," : "");
    /* magic + version + u16 length + dict + spaces + '\n', a multiple of 64. */
    size_t t = (10 + n + 1 + 63) / 64 * 64;
    memcpy(head, oct__npy_magic, 6);
    head[6] = 1;
    head[7] = 0;
    head[8] = (uint8_t)((t - 10) & 0xff);
    head[9] = (uint8_t)((t - 10) >> 8);
    memcpy(head + 10, dict, n);
    memset(head + 10 + n, ' ', t - 10 - n - 1);
    head[t - 1] = '\n';
    *total = t;
    return OCT_OK;
}

oct_status oct_npy_save(const char *path, const float *data, int ndim, const int64_t *shape)
{
    oct_status st = OCT_OK;
    oct__ofile f;
    uint8_t head[512];
    size_t count, total;

    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "npy_save: path is NULL");
    if ((st = npy_header(path, ndim, shape, head, &total, &count)) != OCT_OK) return st;
    if (count > 0 && !data) return oct__fail(OCT_ERR_NULL_ARG, "%s: data is NULL", path);

    /* Atomic: a temporary beside path renamed into place; a failure removes only the
     * temporary (never path itself, which may be a device or someone else's file). */
    if ((st = oct__ofile_open(&f, path, 0)) != OCT_OK) return st;
    if ((st = oct__ofile_write(&f, head, total)) != OCT_OK || !oct__write_f32le(&f, data, count)) {
        oct__ofile_abort(&f);
        return st != OCT_OK ? st : OCT_ERR_IO;
    }
    return oct__ofile_commit(&f);
}

/* ------------------------------------------------------------------------------------ */
/* Streaming: rows of a large file without holding it                                     */

/* Largest .npy header the reader accepts (numpy writes at most a few hundred bytes). */
#define OCT__NPY_MAX_HEADER ((size_t)1 << 20)

struct oct_npy_reader {
    int fd;
    char *name;
    size_t data_off;   /* file offset of element 0 */
    size_t row;        /* elements per row (product of shape[1:]) */
    int ndim;
    int64_t shape[OCT_MAX_DIMS];
};

/* Exactly len bytes at offset off, or a one-line error naming the file. */
static oct_status npy_pread(int fd, const char *name, void *dst, size_t len, size_t off)
{
    uint8_t *p = dst;
    while (len) {
        size_t want = len > ((size_t)1 << 30) ? ((size_t)1 << 30) : len;
        ssize_t got = pread(fd, p, want, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return oct__fail(OCT_ERR_IO, "%s: read failed at byte %zu: %s", name, off, strerror(errno));
        if (got == 0)
            return oct__fail(OCT_ERR_IO, "%s: file ends at byte %zu, before the data the header declares "
                             "(truncated while being read?)", name, off);
        p += got, off += (size_t)got, len -= (size_t)got;
    }
    return OCT_OK;
}

oct_status oct_npy_reader_open(const char *path, oct_npy_reader **out)
{
    oct_status st;
    oct_npy_reader *r = NULL;
    uint8_t *head = NULL;
    size_t size = 0, count = 0, hl;
    int fd = -1;
    oct__npy_header h;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "npy_reader_open: output is NULL");
    *out = NULL;
    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "npy_reader_open: path is NULL");
    if ((st = oct__open_regular(path, 0, SIZE_MAX / 2, &fd, &size)) != OCT_OK) return st;
    /* The fixed part first (12 bytes cover versions 1 to 3), then the whole header. */
    uint8_t fixed[12];
    size_t first = size < sizeof fixed ? size : sizeof fixed;
    if ((st = npy_pread(fd, path, fixed, first, 0)) != OCT_OK) goto fail;
    if (first < 10 || memcmp(fixed, oct__npy_magic, 6) != 0 || fixed[6] < 1 || fixed[6] > 3 ||
        (fixed[6] > 1 && first < 12)) {
        st = npy_head(fixed, first, path, &h, &hl, &count); /* says why */
        if (st == OCT_OK) st = oct__fail(OCT_ERR_FORMAT, "%s: not a .npy file", path);
        goto fail;
    }
    hl = fixed[6] == 1 ? 10 + ((size_t)fixed[8] | (size_t)fixed[9] << 8)
                       : 12 + (size_t)((uint32_t)fixed[8] | (uint32_t)fixed[9] << 8 | (uint32_t)fixed[10] << 16 |
                                       (uint32_t)fixed[11] << 24);
    if (hl > OCT__NPY_MAX_HEADER) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: header of %zu bytes exceeds the limit of %zu", path, hl,
                       (size_t)OCT__NPY_MAX_HEADER);
        goto fail;
    }
    if (hl > size) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: header length %zu past the end of the file (%zu bytes)", path, hl, size);
        goto fail;
    }
    if (!(head = oct__malloc(hl))) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: cannot allocate %zu bytes", path, hl);
        goto fail;
    }
    if ((st = npy_pread(fd, path, head, hl, 0)) != OCT_OK) goto fail;
    size_t data_off = 0;
    if ((st = npy_head(head, hl, path, &h, &data_off, &count)) != OCT_OK) goto fail;
    if (size - data_off != count * sizeof(float)) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: data is %zu bytes but the shape needs %zu (%s)", path, size - data_off,
                       count * sizeof(float), size - data_off < count * sizeof(float) ? "truncated" : "trailing bytes");
        goto fail;
    }
    if (h.ndim < 1) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: a rank-0 array has no rows", path);
        goto fail;
    }
    r = oct__calloc(1, sizeof *r);
    if (!r || !(r->name = oct__malloc(strlen(path) + 1))) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of host memory for a reader", path);
        goto fail;
    }
    memcpy(r->name, path, strlen(path) + 1);
    r->fd = fd;
    r->data_off = data_off;
    r->ndim = h.ndim;
    r->row = 1;
    for (int i = 0; i < h.ndim; i++) r->shape[i] = h.shape[i];
    if (!oct__shape_count(h.shape + 1, h.ndim - 1, &r->row)) r->row = 0; /* checked above: unreachable */
    free(head);
    *out = r;
    return OCT_OK;
fail:
    if (r) free(r->name);
    free(r);
    free(head);
    close(fd);
    return st;
}

int oct_npy_reader_shape(const oct_npy_reader *r, int64_t shape[OCT_MAX_DIMS])
{
    if (!r) return 0;
    if (shape)
        for (int i = 0; i < OCT_MAX_DIMS; i++) shape[i] = i < r->ndim ? r->shape[i] : 0;
    return r->ndim;
}

oct_status oct_npy_reader_read(oct_npy_reader *r, int64_t first, int64_t rows, float *dst)
{
    if (!r) return oct__fail(OCT_ERR_NULL_ARG, "npy_reader_read: reader is NULL");
    if (first < 0 || rows < 0 || first > r->shape[0] || rows > r->shape[0] - first)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: rows [%lld, %lld) are outside the file's %lld rows", r->name,
                         (long long)first, (long long)first + (long long)rows, (long long)r->shape[0]);
    if (rows == 0 || r->row == 0) return OCT_OK;
    if (!dst) return oct__fail(OCT_ERR_NULL_ARG, "%s: destination is NULL", r->name);
    size_t count = (size_t)rows * r->row; /* within the file's checked size */
    oct_status st = npy_pread(r->fd, r->name, dst, count * sizeof(float),
                              r->data_off + (size_t)first * r->row * sizeof(float));
    if (st == OCT_OK) npy_f32le((const uint8_t *)dst, dst, count);
    return st;
}

void oct_npy_reader_close(oct_npy_reader *r)
{
    if (!r) return;
    close(r->fd);
    free(r->name);
    free(r);
}

struct oct_npy_writer {
    oct__ofile f;
    size_t count, written;   /* elements the shape declares, elements written */
};

oct_status oct_npy_writer_open(const char *path, int ndim, const int64_t *shape, oct_npy_writer **out)
{
    oct_status st;
    uint8_t head[512];
    size_t count, total;
    oct_npy_writer *w;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "npy_writer_open: output is NULL");
    *out = NULL;
    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "npy_writer_open: path is NULL");
    if ((st = npy_header(path, ndim, shape, head, &total, &count)) != OCT_OK) return st;

    if (!(w = oct__calloc(1, sizeof *w))) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of host memory", path);
    w->count = count;
    if ((st = oct__ofile_open(&w->f, path, 0)) != OCT_OK) {
        free(w);
        return st;
    }
    if ((st = oct__ofile_write(&w->f, head, total)) != OCT_OK) {
        oct__ofile_abort(&w->f);
        free(w);
        return st;
    }
    *out = w;
    return OCT_OK;
}

oct_status oct_npy_writer_write(oct_npy_writer *w, const float *data, size_t count)
{
    if (!w) return oct__fail(OCT_ERR_NULL_ARG, "npy_writer_write: writer is NULL");
    if (count > w->count - w->written)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: writing %zu more elements past the %zu the shape declares (%zu "
                         "written)", w->f.name, count, w->count, w->written);
    if (count && !data) return oct__fail(OCT_ERR_NULL_ARG, "%s: data is NULL", w->f.name);
    if (!oct__write_f32le(&w->f, data, count)) return OCT_ERR_IO; /* the message is set */
    w->written += count;
    return OCT_OK;
}

oct_status oct_npy_writer_commit(oct_npy_writer *w)
{
    oct_status st;
    if (!w) return oct__fail(OCT_ERR_NULL_ARG, "npy_writer_commit: writer is NULL");
    if (w->written != w->count) {
        st = oct__fail(OCT_ERR_BAD_SIZE, "%s: %zu elements written but the shape declares %zu; nothing written",
                       w->f.name, w->written, w->count);
        oct__ofile_abort(&w->f);
    } else {
        st = oct__ofile_commit(&w->f);
    }
    free(w);
    return st;
}

void oct_npy_writer_abort(oct_npy_writer *w)
{
    if (!w) return;
    oct__ofile_abort(&w->f);
    free(w);
}
