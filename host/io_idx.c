/* io_idx.c — IDX files of unsigned bytes (Fashion-MNIST images and labels), gzip'd or
 * plain: zlib reads either into memory, then a checked parse-from-memory core.
 */
#include "io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Check an IDX image: fills out->ndim / out->shape (data untouched) and *header, the
 * offset of the data. */
static oct_status idx_check(const uint8_t *bytes, size_t len, const char *name, oct_idx *out,
                            size_t *header)
{
    size_t count = 1, hlen;
    int nd;

    if (len < 4)
        return oct__fail(OCT_ERR_FORMAT, "%s: %zu bytes is too short for an IDX header", name, len);
    if (bytes[0] != 0 || bytes[1] != 0)
        return oct__fail(OCT_ERR_FORMAT, "%s: not an IDX file (magic %02x %02x %02x %02x)", name,
                         bytes[0], bytes[1], bytes[2], bytes[3]);
    if (bytes[2] != 0x08)
        return oct__fail(OCT_ERR_FORMAT, "%s: IDX element type 0x%02x is not unsigned byte (0x08)",
                         name, bytes[2]);
    nd = bytes[3];
    if (nd < 1 || nd > 4)
        return oct__fail(OCT_ERR_FORMAT, "%s: IDX rank %d is not in 1..4", name, nd);
    hlen = 4 + 4 * (size_t)nd;
    if (len < hlen)
        return oct__fail(OCT_ERR_FORMAT, "%s: IDX header truncated (%zu bytes, %zu needed)", name,
                         len, hlen);
    for (int i = 0; i < nd; i++) {
        const uint8_t *b = bytes + 4 + 4 * i;
        uint32_t d = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (d == 0) return oct__fail(OCT_ERR_FORMAT, "%s: IDX dimension %d is 0", name, i);
        if (count > SIZE_MAX / (size_t)d)
            return oct__fail(OCT_ERR_FORMAT, "%s: IDX dims overflow the addressable size", name);
        count *= (size_t)d;
        out->shape[i] = (int64_t)d;
    }
    out->ndim = nd;
    if (len - hlen != count)
        return oct__fail(OCT_ERR_FORMAT, "%s: IDX data is %zu bytes but the dims need %zu (%s)", name,
                         len - hlen, count, len - hlen < count ? "truncated" : "trailing bytes");
    *header = hlen;
    return OCT_OK;
}

oct_status oct__idx_parse(const uint8_t *bytes, size_t len, const char *name, oct_idx *out)
{
    oct_status st;
    size_t hlen = 0;
    oct_idx r;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "idx_parse: output is NULL");
    memset(out, 0, sizeof *out);
    if (!name) name = "<memory>";
    if (!bytes && len) return oct__fail(OCT_ERR_NULL_ARG, "%s: bytes are NULL", name);
    memset(&r, 0, sizeof r);
    st = idx_check(bytes, len, name, &r, &hlen);
    if (st != OCT_OK) return st;
    r.data = oct__malloc(len - hlen);
    if (!r.data)
        return oct__fail(OCT_ERR_HOST_MEMORY, "%s: cannot allocate %zu bytes", name, len - hlen);
    memcpy(r.data, bytes + hlen, len - hlen);
    *out = r;
    return OCT_OK;
}

/* Read the whole (decompressed) content of path into a malloc'd buffer. */
static oct_status idx_read(const char *path, uint8_t **bytes, size_t *len)
{
    oct_status st = OCT_OK;
    gzFile f = NULL;
    uint8_t *buf = NULL;
    size_t size = 0, alloc = 0;
    const size_t limit = OCT__IDX_MAX_BYTES + 1; /* one past the cap tells a too-large file */
    int errnum = Z_OK, rc;

    int fd = -1;
    size_t file_size = 0;
    /* A regular file only, checked before reading (a device or FIFO is refused at once);
     * the compressed size is bounded like the decompressed one. */
    if ((st = oct__open_regular(path, 0, OCT__IDX_MAX_BYTES, &fd, &file_size)) != OCT_OK) goto done;
    (void)file_size;
    errno = 0;
    f = gzdopen(fd, "rb");
    if (!f) {
        close(fd);
        st = oct__fail(OCT_ERR_IO, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory in zlib");
        goto done;
    }
    gzbuffer(f, 1u << 17);
    for (;;) {
        int got;
        size_t want;
        if (size == alloc) {
            size_t next;
            uint8_t *grown;
            if (alloc >= limit) {
                st = oct__fail(OCT_ERR_FORMAT, "%s: decompressed size exceeds %zu bytes", path,
                               (size_t)OCT__IDX_MAX_BYTES);
                goto done;
            }
            next = alloc ? (alloc > limit / 2 ? limit : alloc * 2) : ((size_t)1 << 20);
            grown = oct__realloc(buf, next);
            if (!grown) {
                st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: cannot allocate %zu bytes", path, next);
                goto done;
            }
            buf = grown;
            alloc = next;
        }
        want = alloc - size; /* at most OCT__IDX_MAX_BYTES + 1, which fits an unsigned */
        got = gzread(f, buf + size, (unsigned)want);
        if (got < 0) {
            const char *msg = gzerror(f, &errnum);
            if (errnum == Z_ERRNO)
                st = oct__fail(OCT_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            else
                st = oct__fail(OCT_ERR_FORMAT, "%s: bad gzip data: %s", path, msg ? msg : "?");
            goto done;
        }
        if (got == 0) break;
        size += (size_t)got;
    }
    gzerror(f, &errnum);
    if (errnum == Z_BUF_ERROR) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: gzip data is truncated", path);
        goto done;
    }
    rc = gzclose_r(f);
    f = NULL;
    if (rc == Z_BUF_ERROR) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: gzip data is truncated", path);
        goto done;
    }
    if (rc != Z_OK) {
        st = oct__fail(OCT_ERR_IO, "%s: close failed (zlib error %d)", path, rc);
        goto done;
    }
    *bytes = buf;
    *len = size;
    buf = NULL;
done:
    if (f) gzclose_r(f);
    free(buf);
    return st;
}

oct_status oct_idx_load(const char *path, oct_idx *out)
{
    oct_status st;
    uint8_t *bytes = NULL, *data;
    size_t len = 0, hlen = 0;
    oct_idx r;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "idx_load: output is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "idx_load: path is NULL");
    memset(&r, 0, sizeof r);
    st = idx_read(path, &bytes, &len);
    if (st != OCT_OK) goto done;
    st = idx_check(bytes, len, path, &r, &hlen);
    if (st != OCT_OK) goto done;
    /* Keep the buffer: move the data to its front and trim it. */
    memmove(bytes, bytes + hlen, len - hlen);
    data = oct__realloc(bytes, len - hlen);
    if (data) bytes = data; /* a failed shrink leaves the larger block, still valid */
    r.data = bytes;
    bytes = NULL;
    *out = r;
done:
    free(bytes);
    return st;
}

void oct_idx_release(oct_idx *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------------------------------ */
/* Streaming: rows [first, first + n) of a large IDX file, gzip'd or plain                */

struct oct_idx_reader {
    gzFile f;
    char *name;
    size_t header;     /* bytes before row 0 */
    size_t row;        /* bytes per row (product of shape[1:]) */
    int direct;        /* a plain file: its size was checked at open */
    int ndim;
    int64_t shape[4];
};

/* Exactly len bytes from f, or a one-line error naming the file. */
static oct_status idx_gzread(gzFile f, const char *name, uint8_t *dst, size_t len)
{
    while (len) {
        unsigned want = len > (1u << 30) ? (1u << 30) : (unsigned)len;
        int got = gzread(f, dst, want), errnum = Z_OK;
        if (got < 0) {
            const char *msg = gzerror(f, &errnum);
            if (errnum == Z_ERRNO) return oct__fail(OCT_ERR_IO, "%s: read failed: %s", name, strerror(errno));
            return oct__fail(OCT_ERR_FORMAT, "%s: bad gzip data: %s", name, msg ? msg : "?");
        }
        if (got == 0) return oct__fail(OCT_ERR_FORMAT, "%s: IDX data is truncated (ends before the rows its dims declare)", name);
        dst += got, len -= (size_t)got;
    }
    return OCT_OK;
}

oct_status oct_idx_reader_open(const char *path, oct_idx_reader **out)
{
    oct_status st;
    oct_idx_reader *r = NULL;
    gzFile f = NULL;
    uint8_t head[20];
    size_t size = 0, count = 1, hlen;
    int fd = -1, nd;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "idx_reader_open: output is NULL");
    *out = NULL;
    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "idx_reader_open: path is NULL");
    if ((st = oct__open_regular(path, 0, SIZE_MAX / 2, &fd, &size)) != OCT_OK) return st;
    errno = 0;
    if (!(f = gzdopen(fd, "rb"))) {
        close(fd);
        return oct__fail(OCT_ERR_IO, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory in zlib");
    }
    gzbuffer(f, 1u << 17);
    if ((st = idx_gzread(f, path, head, 4)) != OCT_OK) goto fail;
    if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 || head[3] < 1 || head[3] > 4) {
        oct_idx tmp;
        size_t h;
        st = idx_check(head, 4, path, &tmp, &h); /* says why */
        if (st == OCT_OK) st = oct__fail(OCT_ERR_FORMAT, "%s: not an IDX file", path);
        goto fail;
    }
    nd = head[3];
    hlen = 4 + 4 * (size_t)nd;
    if ((st = idx_gzread(f, path, head + 4, hlen - 4)) != OCT_OK) goto fail;
    if (!(r = oct__calloc(1, sizeof *r)) || !(r->name = oct__malloc(strlen(path) + 1))) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of host memory for a reader", path);
        goto fail;
    }
    memcpy(r->name, path, strlen(path) + 1);
    for (int i = 0; i < nd; i++) {
        const uint8_t *b = head + 4 + 4 * i;
        uint32_t d = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (d == 0) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: IDX dimension %d is 0", path, i);
            goto fail;
        }
        if (count > (SIZE_MAX / 2) / (size_t)d) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: IDX dims overflow the addressable size", path);
            goto fail;
        }
        count *= (size_t)d;
        r->shape[i] = (int64_t)d;
    }
    r->ndim = nd;
    r->header = hlen;
    r->row = count / (size_t)r->shape[0];
    r->direct = gzdirect(f);
    if (r->direct && size - hlen != count) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: IDX data is %zu bytes but the dims need %zu (%s)", path, size - hlen, count,
                       size - hlen < count ? "truncated" : "trailing bytes");
        goto fail;
    }
    r->f = f;
    *out = r;
    return OCT_OK;
fail:
    if (r) free(r->name);
    free(r);
    gzclose_r(f);
    return st;
}

int oct_idx_reader_shape(const oct_idx_reader *r, int64_t shape[4])
{
    if (!r) return 0;
    if (shape)
        for (int i = 0; i < 4; i++) shape[i] = i < r->ndim ? r->shape[i] : 0;
    return r->ndim;
}

oct_status oct_idx_reader_read(oct_idx_reader *r, int64_t first, int64_t rows, uint8_t *dst)
{
    oct_status st;
    if (!r) return oct__fail(OCT_ERR_NULL_ARG, "idx_reader_read: reader is NULL");
    if (first < 0 || rows < 0 || first > r->shape[0] || rows > r->shape[0] - first)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: rows [%lld, %lld) are outside the file's %lld rows", r->name,
                         (long long)first, (long long)first + (long long)rows, (long long)r->shape[0]);
    if (rows == 0) return OCT_OK;
    if (!dst) return oct__fail(OCT_ERR_NULL_ARG, "%s: destination is NULL", r->name);
    /* Forward seeks in a gzip stream decompress up to the offset; backward ones restart. */
    size_t off = r->header + (size_t)first * r->row;
    if ((size_t)gztell(r->f) != off && gzseek(r->f, (z_off_t)off, SEEK_SET) != (z_off_t)off)
        return oct__fail(OCT_ERR_FORMAT, "%s: cannot reach row %lld (offset %zu): the data is truncated or "
                         "corrupt", r->name, (long long)first, off);
    if ((st = idx_gzread(r->f, r->name, dst, (size_t)rows * r->row)) != OCT_OK) return st;
    if (!r->direct && first + rows == r->shape[0]) {
        /* The last row read: the gzip stream must end here. */
        uint8_t extra;
        int got = gzread(r->f, &extra, 1);
        if (got != 0)
            return oct__fail(OCT_ERR_FORMAT, "%s: IDX data %s", r->name,
                             got > 0 ? "has trailing bytes past the rows its dims declare" : "is corrupt at its end");
    }
    return OCT_OK;
}

void oct_idx_reader_close(oct_idx_reader *r)
{
    if (!r) return;
    if (r->f) gzclose_r(r->f);
    free(r->name);
    free(r);
}
