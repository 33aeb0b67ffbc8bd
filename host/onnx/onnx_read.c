/* onnx_read.c — an ONNX file (ModelProto, or one TensorProto) into the plain C structs of
 * onnx.h. Three steps: a bounded read of the file (regular files up to 2 GiB); a walk of
 * the protobuf wire format that checks varints, lengths, wire types and nesting depth
 * (so protobuf-c's recursive unpack never sees a hostile structure, and errors name the
 * byte); protobuf-c's generated unpack (allocating through oct__malloc under a budget);
 * then conversion: tensors to float32 / int64, attributes, inputs, outputs, and the
 * check that every name a node reads was written before it.
 */
#include "onnx/onnx.h"

#include "safetensors.h" /* oct__f16_to_f32, oct__bf16_to_f32 */

#include "onnx.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------ */
/* Limits                                                                                 */

#define ONNX_MAX_FILE ((size_t)2 << 30)       /* protobuf's own limit for one message */
#define ONNX_MAX_DEPTH 64                      /* message nesting (real models: < 20) */
#define ONNX_MAX_ITEMS (1 << 24)               /* any one list, and all names together */
#define ONNX_MAX_ATTRS 4096                    /* attributes of one node */
#define ONNX_MAX_ELEMS ((size_t)1 << 31)       /* elements of one tensor */
#define ONNX_MAX_LOCATION 4096                 /* external data: length of `location` */

/* ------------------------------------------------------------------------------------ */
/* The reading context                                                                    */

typedef struct {
    const char *name; /* the file's path (or a label) for messages */
    const char *dir;  /* folder for external data; NULL refuses it */
    int dirfd;        /* that folder, opened at first use; -1 before */
} rd;

static void rd_close(rd *r)
{
    if (r->dirfd >= 0) close(r->dirfd);
    r->dirfd = -1;
}

static char *dup_str(const char *s)
{
    size_t n;
    char *d;
    if (!s) s = "";
    n = strlen(s);
    d = oct__malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static char *dup_bytes(const uint8_t *s, size_t n)
{
    char *d = oct__malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static const char *str_or_empty(const char *s) { return s ? s : ""; }

/* "node 'conv1'" or "node #3" when it has no name. */
static void node_label(char *buf, size_t n, const Onnx__NodeProto *np, size_t idx)
{
    if (np->name && np->name[0])
        snprintf(buf, n, "node '%.300s' (%.100s)", np->name, str_or_empty(np->op_type));
    else
        snprintf(buf, n, "node #%zu (%.100s)", idx, str_or_empty(np->op_type));
}

/* ------------------------------------------------------------------------------------ */
/* Bounded file reads                                                                     */

/* Read all of the open file `fd` (already fstat'ed into *sb) into a fresh buffer. */
static oct_status read_fd(int fd, const struct stat *sb, const char *label, uint8_t **out, size_t *len)
{
    size_t size, got = 0;
    uint8_t *buf;

    *out = NULL;
    *len = 0;
    if (!S_ISREG(sb->st_mode)) return oct__fail(OCT_ERR_IO, "%s: not a regular file", label);
    if (sb->st_size < 0 || (uint64_t)sb->st_size > ONNX_MAX_FILE)
        return oct__fail(OCT_ERR_IO, "%s: %lld bytes, more than the 2 GiB a protobuf file holds", label,
                         (long long)sb->st_size);
    size = (size_t)sb->st_size;
    buf = oct__malloc(size ? size : 1);
    if (!buf) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: no memory for %zu bytes", label, size);
    while (got < size) {
        ssize_t k = read(fd, buf + got, size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            oct_status st = oct__fail(OCT_ERR_IO, "%s: read failed after %zu of %zu bytes: %s", label, got, size,
                                      k < 0 ? strerror(errno) : "file shrank");
            free(buf);
            return st;
        }
        got += (size_t)k;
    }
    *out = buf;
    *len = size;
    return OCT_OK;
}

/* Open `path` without blocking (a FIFO would block a plain open) and read it whole. */
static oct_status read_path(const char *path, uint8_t **out, size_t *len)
{
    struct stat sb;
    oct_status st;
    int fd;

    *out = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return oct__fail(OCT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        st = oct__fail(OCT_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    } else {
        st = read_fd(fd, &sb, path, out, len);
    }
    close(fd);
    return st;
}

/* The folder of `path` ("." when it has none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return dup_str(".");
    if (slash == path) return dup_str("/");
    return dup_bytes((const uint8_t *)path, (size_t)(slash - path));
}

/* ------------------------------------------------------------------------------------ */
/* The wire-format walk                                                                   */

/* 1: a varint read at *pos; 0: it runs past `end`; -1: longer than 10 bytes. */
static int wire_varint(const uint8_t *p, size_t end, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (int i = 0; i < 10; i++) {
        uint8_t b;
        if (*pos >= end) return 0;
        b = p[(*pos)++];
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return 1;
        }
    }
    return -1;
}

/* The wire type protobuf-c expects for a field of type `t` (packed aside). */
static int wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT: return 5;
    case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE: return 1;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE: return 2;
    default: return 0; /* the varint types, bool, enum */
    }
}

static oct_status wire_bad_varint(const rd *r, int k, const char *what, const char *msg, size_t at)
{
    return oct__fail(OCT_ERR_FORMAT, "%s: %s (%s) at byte %zu %s", r->name, k == 0 ? "truncated varint" : "bad varint",
                     what, at, msg);
}

/* Check bytes [start, end) of `p` as a message of type `d` (NULL: unknown, only framed):
 * every varint ends within 10 bytes, every length fits, known fields carry the wire type
 * protobuf-c accepts, packed arrays split exactly, messages nest at most ONNX_MAX_DEPTH. */
static oct_status wire_check(const rd *r, const uint8_t *p, size_t start, size_t end,
                             const ProtobufCMessageDescriptor *d, int depth)
{
    size_t pos = start;
    const char *type = d ? d->name : "unknown message";

    if (depth > ONNX_MAX_DEPTH)
        return oct__fail(OCT_ERR_FORMAT, "%s: messages nested deeper than %d (at byte %zu, %s)", r->name,
                         ONNX_MAX_DEPTH, start, type);
    while (pos < end) {
        size_t at = pos, body;
        uint64_t tag, v = 0;
        uint32_t field;
        int wt, k;
        const ProtobufCFieldDescriptor *f;

        k = wire_varint(p, end, &pos, &tag);
        if (k != 1) return wire_bad_varint(r, k, "field tag", type, at);
        if (tag > UINT32_MAX || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
            return oct__fail(OCT_ERR_FORMAT, "%s: bad field tag %" PRIu64 " at byte %zu of %s", r->name, tag, at, type);
        field = (uint32_t)(tag >> 3);
        wt = (int)(tag & 7);
        f = d ? protobuf_c_message_descriptor_get_field(d, (unsigned)field) : NULL;
        body = pos;
        switch (wt) {
        case 0:
            k = wire_varint(p, end, &pos, &v);
            if (k != 1) return wire_bad_varint(r, k, "value", type, body);
            break;
        case 1:
        case 5: {
            size_t need = wt == 1 ? 8 : 4;
            if (end - pos < need)
                return oct__fail(OCT_ERR_FORMAT, "%s: field %u of %s at byte %zu: %zu-byte value runs past the end",
                                 r->name, field, type, at, need);
            pos += need;
            break;
        }
        case 2:
            k = wire_varint(p, end, &pos, &v);
            if (k != 1) return wire_bad_varint(r, k, "length", type, body);
            if (v > end - pos)
                return oct__fail(OCT_ERR_FORMAT,
                                 "%s: field %u of %s at byte %zu: length %" PRIu64 " runs past the end (%zu bytes left)",
                                 r->name, field, type, at, v, end - pos);
            body = pos;
            pos += (size_t)v;
            break;
        default:
            return oct__fail(OCT_ERR_FORMAT, "%s: field %u of %s at byte %zu has wire type %d (not one octcl reads)",
                             r->name, field, type, at, wt);
        }
        if (!f) continue;
        {
            int want = wire_type_of(f->type);
            int packable = want != 2 && f->label == PROTOBUF_C_LABEL_REPEATED;
            if (wt == want) {
                if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                    OCT__TRY(wire_check(r, p, body, pos, f->descriptor, depth + 1));
            } else if (wt == 2 && packable) {
                /* packed: whole fixed-size elements, or varints that end inside */
                size_t q = body;
                if (want == 5 || want == 1) {
                    size_t es = want == 5 ? 4 : 8;
                    if ((pos - body) % es)
                        return oct__fail(OCT_ERR_FORMAT, "%s: packed field %u of %s at byte %zu: %zu bytes is not a "
                                         "multiple of %zu", r->name, field, type, at, pos - body, es);
                } else {
                    while (q < pos) {
                        size_t vat = q;
                        k = wire_varint(p, pos, &q, &v);
                        if (k != 1) return wire_bad_varint(r, k, "packed element", type, vat);
                    }
                }
            } else {
                return oct__fail(OCT_ERR_FORMAT, "%s: field %u (%s) of %s at byte %zu has wire type %d, expected %d",
                                 r->name, field, f->name, type, at, wt, want);
            }
        }
    }
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* protobuf-c unpack through oct__malloc, under a budget                                  */

typedef struct {
    size_t used, budget;
    int over, failed;
} pb_budget;

static void *pb_alloc(void *data, size_t n)
{
    pb_budget *b = data;
    void *p;
    if (n > b->budget - b->used) {
        b->over = 1;
        return NULL;
    }
    p = oct__malloc(n);
    if (!p) {
        b->failed = 1;
        return NULL;
    }
    b->used += n;
    return p;
}

static void pb_free(void *data, void *p)
{
    (void)data;
    free(p);
}

/* Check then unpack `len` bytes as a message of type `d`. */
static oct_status unpack(const rd *r, const uint8_t *data, size_t len, const ProtobufCMessageDescriptor *d,
                         ProtobufCMessage **out)
{
    pb_budget b = {0, 0, 0, 0};
    ProtobufCAllocator a = {pb_alloc, pb_free, &b};

    *out = NULL;
    if (len > ONNX_MAX_FILE)
        return oct__fail(OCT_ERR_FORMAT, "%s: %zu bytes, more than the 2 GiB a protobuf message holds", r->name, len);
    OCT__TRY(wire_check(r, data, 0, len, d, 0));
    /* A real model decodes into about its own size (bytes are copied) plus its
     * structures; packed int64 values may take 8x. 16x + 64 MiB bounds a hostile
     * file made of nothing but empty messages. */
    b.budget = len * 16 + ((size_t)64 << 20);
    *out = protobuf_c_message_unpack(d, &a, len, data ? data : (const uint8_t *)"");
    if (*out) return OCT_OK;
    if (b.failed) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of memory decoding the protobuf", r->name);
    if (b.over)
        return oct__fail(OCT_ERR_FORMAT, "%s: decoding would take more than %zu bytes for a %zu-byte file", r->name,
                         b.budget, len);
    return oct__fail(OCT_ERR_FORMAT, "%s: protobuf-c could not decode the %s", r->name, d->name);
}

static void pb_release(ProtobufCMessage *m)
{
    ProtobufCAllocator a = {pb_alloc, pb_free, NULL};
    if (m) protobuf_c_message_free_unpacked(m, &a);
}

/* ------------------------------------------------------------------------------------ */
/* External data: files inside the model's folder only                                    */

/* A decimal string (offset, length) into *v; 0 when it is not one. */
static int parse_u64(const char *s, uint64_t *v)
{
    uint64_t r = 0;
    if (!s || !*s) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        if (r > (UINT64_MAX - 9) / 10) return 0;
        r = r * 10 + (uint64_t)(*s - '0');
    }
    *v = r;
    return 1;
}

/* Open `location` below r->dir component by component, never following a symbolic
 * link, so nothing outside the folder can be reached; *fd a regular file. */
static oct_status open_inside(rd *r, const char *lab, const char *location, int *fd_out)
{
    oct_status st = OCT_OK;
    char *copy = NULL, *comp, *save = NULL;
    int cur, fd = -1;
    size_t n;

    *fd_out = -1;
    if (!r->dir)
        return oct__fail(OCT_ERR_FORMAT, "%s: %s: external data '%s' refused (the model has no folder)", r->name, lab,
                         location);
    n = strlen(location);
    if (n == 0 || n > ONNX_MAX_LOCATION)
        return oct__fail(OCT_ERR_FORMAT, "%s: %s: external data location has %zu characters", r->name, lab, n);
    if (location[0] == '/')
        return oct__fail(OCT_ERR_FORMAT, "%s: %s: external data '%s' is an absolute path (only files inside the "
                         "model's folder are read)", r->name, lab, location);
    copy = dup_str(location);
    if (!copy) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: %s: no memory", r->name, lab);
    for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        if (strcmp(comp, "..") == 0) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: %s: external data '%s' has a '..' component (only files inside the "
                           "model's folder are read)", r->name, lab, location);
            goto done;
        }
    }
    if (r->dirfd < 0) {
        r->dirfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r->dirfd < 0) {
            st = oct__fail(OCT_ERR_IO, "%s: cannot open the model's folder '%s': %s", r->name, r->dir, strerror(errno));
            goto done;
        }
    }
    memcpy(copy, location, n + 1);
    cur = r->dirfd;
    save = NULL;
    comp = strtok_r(copy, "/", &save);
    while (comp) {
        char *next = strtok_r(NULL, "/", &save);
        int last = next == NULL;
        int nfd;
        if (strcmp(comp, ".") == 0 && !last) {
            comp = next;
            continue;
        }
        nfd = openat(cur, comp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? O_NONBLOCK : O_DIRECTORY));
        if (nfd < 0) {
            int e = errno;
            if (e == ELOOP || (e == ENOTDIR && !last))
                st = oct__fail(OCT_ERR_FORMAT, "%s: %s: external data '%s' goes through a symbolic link or non-folder "
                               "'%s' (only plain files inside the model's folder are read)", r->name, lab, location, comp);
            else
                st = oct__fail(OCT_ERR_IO, "%s: %s: cannot open external data '%s' in '%s': %s", r->name, lab,
                               location, r->dir, strerror(e));
            if (cur != r->dirfd) close(cur);
            goto done;
        }
        if (cur != r->dirfd) close(cur);
        cur = nfd;
        comp = next;
    }
    if (cur == r->dirfd) { /* only "." components */
        st = oct__fail(OCT_ERR_FORMAT, "%s: %s: external data '%s' names the folder itself", r->name, lab, location);
        goto done;
    }
    fd = cur;
    *fd_out = fd;
done:
    free(copy);
    return st;
}

/* The `need` bytes of an EXTERNAL tensor into a fresh buffer. */
static oct_status read_external(rd *r, const Onnx__TensorProto *tp, const char *lab, size_t need, uint8_t **out)
{
    oct_status st = OCT_OK;
    const char *location = NULL, *offset_s = NULL, *length_s = NULL;
    uint64_t offset = 0, length = 0;
    struct stat sb;
    uint8_t *buf = NULL;
    size_t got = 0;
    int fd = -1;

    *out = NULL;
    for (size_t k = 0; k < tp->n_external_data; k++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[k];
        const char **slot = NULL;
        const char *key = e ? str_or_empty(e->key) : "";
        if (strcmp(key, "location") == 0) slot = &location;
        else if (strcmp(key, "offset") == 0) slot = &offset_s;
        else if (strcmp(key, "length") == 0) slot = &length_s;
        if (!slot) continue; /* checksum, or keys of later versions */
        if (*slot)
            return oct__fail(OCT_ERR_FORMAT, "%s: %s: external data key '%s' given twice", r->name, lab, key);
        *slot = str_or_empty(e->value);
    }
    if (!location) return oct__fail(OCT_ERR_FORMAT, "%s: %s: external data without a 'location'", r->name, lab);
    if (offset_s && !parse_u64(offset_s, &offset))
        return oct__fail(OCT_ERR_FORMAT, "%s: %s: external data offset '%s' is not a number", r->name, lab, offset_s);
    if (length_s && !parse_u64(length_s, &length))
        return oct__fail(OCT_ERR_FORMAT, "%s: %s: external data length '%s' is not a number", r->name, lab, length_s);
    if (length_s && length != need)
        return oct__fail(OCT_ERR_FORMAT, "%s: %s: external data length %" PRIu64 " but the dims need %zu bytes", r->name,
                         lab, length, need);
    OCT__TRY(open_inside(r, lab, location, &fd));
    if (fstat(fd, &sb) != 0) {
        st = oct__fail(OCT_ERR_IO, "%s: %s: cannot stat external data '%s': %s", r->name, lab, location, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: %s: external data '%s' is not a regular file", r->name, lab, location);
        goto done;
    }
    if (offset > (uint64_t)sb.st_size || (uint64_t)sb.st_size - offset < need ||
        (!length_s && (uint64_t)sb.st_size - offset != need)) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: %s: external data '%s' has %lld bytes; offset %" PRIu64 " + %zu %s", r->name,
                       lab, location, (long long)sb.st_size, offset, need,
                       length_s ? "runs past its end" : "is not the rest of the file");
        goto done;
    }
    buf = oct__malloc(need ? need : 1);
    if (!buf) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: %s: no memory for %zu bytes of external data", r->name, lab, need);
        goto done;
    }
    while (got < need) {
        ssize_t k = pread(fd, buf + got, need - got, (off_t)(offset + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            st = oct__fail(OCT_ERR_IO, "%s: %s: reading external data '%s' failed after %zu of %zu bytes: %s", r->name,
                           lab, location, got, need, k < 0 ? strerror(errno) : "file shrank");
            goto done;
        }
        got += (size_t)k;
    }
    *out = buf;
    buf = NULL;
done:
    free(buf);
    if (fd >= 0) close(fd);
    return st;
}

/* ------------------------------------------------------------------------------------ */
/* Tensors                                                                                */

static const char *dtype_name(int t)
{
    static const char *names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
                                  "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
                                  "COMPLEX128", "BFLOAT16"};
    return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "unknown type";
}

/* Bytes per element of a converted type (0: not converted) and whether it lands in `f`. */
static size_t dtype_size(int t, int *is_float)
{
    *is_float = 0;
    switch (t) {
    case OCT__ONNX_FLOAT: *is_float = 1; return 4;
    case OCT__ONNX_FLOAT16: case OCT__ONNX_BFLOAT16: *is_float = 1; return 2;
    case OCT__ONNX_DOUBLE: *is_float = 1; return 8;
    case OCT__ONNX_INT64: return 8;
    case OCT__ONNX_INT32: case OCT__ONNX_UINT32: return 4;
    case OCT__ONNX_INT16: case OCT__ONNX_UINT16: return 2;
    case OCT__ONNX_INT8: case OCT__ONNX_UINT8: case OCT__ONNX_BOOL: return 1;
    default: return 0;
    }
}

static uint64_t le_u(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t k = n; k-- > 0;) v = v << 8 | p[k];
    return v;
}

static float f32_of_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static float f32_of_double(double d)
{
    if (d > FLT_MAX) return INFINITY;
    if (d < -FLT_MAX) return -INFINITY;
    return (float)d; /* NaN stays NaN */
}

/* One element of type `t` from `es` little-endian bytes. */
static float raw_float(int t, const uint8_t *p)
{
    switch (t) {
    case OCT__ONNX_FLOAT: return f32_of_bits((uint32_t)le_u(p, 4));
    case OCT__ONNX_FLOAT16: return oct__f16_to_f32((uint16_t)le_u(p, 2));
    case OCT__ONNX_BFLOAT16: return oct__bf16_to_f32((uint16_t)le_u(p, 2));
    default: {
        uint64_t u = le_u(p, 8);
        double d;
        memcpy(&d, &u, 8);
        return f32_of_double(d);
    }
    }
}

static int64_t raw_int(int t, const uint8_t *p)
{
    switch (t) {
    case OCT__ONNX_INT64: return (int64_t)le_u(p, 8);
    case OCT__ONNX_INT32: return (int32_t)(uint32_t)le_u(p, 4);
    case OCT__ONNX_UINT32: return (int64_t)le_u(p, 4);
    case OCT__ONNX_INT16: return (int16_t)(uint16_t)le_u(p, 2);
    case OCT__ONNX_UINT16: return (int64_t)le_u(p, 2);
    case OCT__ONNX_INT8: return (int8_t)p[0];
    case OCT__ONNX_BOOL: return p[0] != 0;
    default: return p[0]; /* UINT8 */
    }
}

/* How many values the typed field `t` uses holds, and how many values all typed fields
 * hold together. */
static size_t typed_count(const Onnx__TensorProto *tp, int t, size_t *all)
{
    *all = tp->n_float_data + tp->n_int32_data + tp->n_string_data + tp->n_int64_data + tp->n_double_data +
           tp->n_uint64_data;
    switch (t) {
    case OCT__ONNX_FLOAT: return tp->n_float_data;
    case OCT__ONNX_DOUBLE: return tp->n_double_data;
    case OCT__ONNX_INT64: return tp->n_int64_data;
    case OCT__ONNX_UINT32: return tp->n_uint64_data;
    default: return tp->n_int32_data;
    }
}

static void tensor_release(oct__onnx_tensor *t)
{
    if (!t) return;
    free(t->name);
    free(t->f);
    free(t->i);
    memset(t, 0, sizeof *t);
}

/* Convert one TensorProto; `lab` names it in messages ("initializer 'w'"). On failure
 * *t is released. */
static oct_status conv_tensor(rd *r, const Onnx__TensorProto *tp, const char *lab, oct__onnx_tensor *t)
{
    oct_status st = OCT_OK;
    size_t count = 1, es, bytes, nt, all;
    uint8_t *ext = NULL;
    const uint8_t *raw = NULL;
    int is_float, external;

    memset(t, 0, sizeof *t);
    t->name = dup_str(tp->name);
    if (!t->name) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: %s: no memory", r->name, lab);
    t->dtype = tp->has_data_type ? tp->data_type : 0;
    if (tp->n_dims > OCT__ONNX_MAX_DIMS) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: %s has %zu dims, more than %d", r->name, lab, tp->n_dims,
                       OCT__ONNX_MAX_DIMS);
        goto fail;
    }
    t->ndim = (int)tp->n_dims;
    for (int k = 0; k < t->ndim; k++) {
        t->dims[k] = tp->dims[k];
        if (tp->dims[k] < 0) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: %s: dim %d is %" PRId64 " (negative)", r->name, lab, k, tp->dims[k]);
            goto fail;
        }
        if ((uint64_t)tp->dims[k] > SIZE_MAX || __builtin_mul_overflow(count, (size_t)tp->dims[k], &count)) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: %s: the product of its dims overflows (dim %d is %" PRId64 ")", r->name,
                           lab, k, tp->dims[k]);
            goto fail;
        }
    }
    if (count > ONNX_MAX_ELEMS) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: %s has %zu elements, more than %zu", r->name, lab, count, ONNX_MAX_ELEMS);
        goto fail;
    }
    t->count = count;
    if (tp->segment) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: %s is a segment of a tensor (not supported)", r->name, lab);
        goto fail;
    }
    es = dtype_size(t->dtype, &is_float);
    if (es == 0) return OCT_OK; /* kept, without data: an error only if something reads it */
    bytes = count * es;         /* count <= 2^31, es <= 8: no overflow */
    external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    nt = typed_count(tp, t->dtype, &all);
    if ((external || tp->has_raw_data) && all) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: %s has both %s and typed values", r->name, lab,
                       external ? "external data" : "raw_data");
        goto fail;
    }
    if (external && tp->has_raw_data) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: %s has both external data and raw_data", r->name, lab);
        goto fail;
    }
    if (external) {
        st = read_external(r, tp, lab, bytes, &ext);
        if (st != OCT_OK) goto fail;
        raw = ext;
    } else if (tp->has_raw_data) {
        if (tp->raw_data.len != bytes) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: %s: raw_data has %zu bytes, dims of %zu %s elements need %zu", r->name,
                           lab, tp->raw_data.len, count, dtype_name(t->dtype), bytes);
            goto fail;
        }
        raw = tp->raw_data.data;
    } else if (nt != count || all != nt) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: %s (%s) holds %zu values in its %s field%s, its dims need %zu", r->name, lab,
                       dtype_name(t->dtype), nt,
                       is_float && t->dtype != OCT__ONNX_FLOAT16 && t->dtype != OCT__ONNX_BFLOAT16 ?
                           (t->dtype == OCT__ONNX_FLOAT ? "float_data" : "double_data") :
                           (t->dtype == OCT__ONNX_INT64 ? "int64_data" :
                            t->dtype == OCT__ONNX_UINT32 ? "uint64_data" : "int32_data"),
                       all != nt ? " (and values in fields of other types)" : "", count);
        goto fail;
    }
    if (is_float) t->f = oct__malloc((count ? count : 1) * sizeof *t->f);
    else t->i = oct__malloc((count ? count : 1) * sizeof *t->i);
    if (!t->f && !t->i) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: %s: no memory for %zu values", r->name, lab, count);
        goto fail;
    }
    for (size_t k = 0; k < count; k++) {
        if (raw) {
            if (is_float) t->f[k] = raw_float(t->dtype, raw + k * es);
            else t->i[k] = raw_int(t->dtype, raw + k * es);
            continue;
        }
        switch (t->dtype) {
        case OCT__ONNX_FLOAT: t->f[k] = tp->float_data[k]; break;
        case OCT__ONNX_DOUBLE: t->f[k] = f32_of_double(tp->double_data[k]); break;
        case OCT__ONNX_FLOAT16: t->f[k] = oct__f16_to_f32((uint16_t)tp->int32_data[k]); break;
        case OCT__ONNX_BFLOAT16: t->f[k] = oct__bf16_to_f32((uint16_t)tp->int32_data[k]); break;
        case OCT__ONNX_INT64: t->i[k] = tp->int64_data[k]; break;
        case OCT__ONNX_UINT32: t->i[k] = (int64_t)(uint32_t)tp->uint64_data[k]; break;
        case OCT__ONNX_BOOL: t->i[k] = tp->int32_data[k] != 0; break;
        default: t->i[k] = tp->int32_data[k]; break;
        }
    }
    free(ext);
    return OCT_OK;
fail:
    free(ext);
    tensor_release(t);
    return st;
}

/* ------------------------------------------------------------------------------------ */
/* Attributes, values                                                                     */

static void attr_release(oct__onnx_attr *a)
{
    free(a->name);
    free(a->s);
    if (a->t) {
        tensor_release(a->t);
        free(a->t);
    }
    free(a->ints);
    free(a->floats);
    memset(a, 0, sizeof *a);
}

static oct_status conv_attr(rd *r, const Onnx__AttributeProto *ap, const char *nlab, oct__onnx_attr *a)
{
    int type;
    char lab[1024];

    memset(a, 0, sizeof *a);
    if (!ap->name || !ap->name[0]) return oct__fail(OCT_ERR_FORMAT, "%s: %s has an attribute without a name", r->name, nlab);
    a->name = dup_str(ap->name);
    if (!a->name) goto oom;
    type = ap->has_type ? (int)ap->type : 0;
    if (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) { /* files before the type field */
        type = ap->has_f ? 1 : ap->has_i ? 2 : ap->has_s ? 3 : ap->t ? 4 : ap->n_floats ? 6 : ap->n_ints ? 7 : 0;
    }
    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        a->type = OCT__ONNX_ATTR_FLOAT;
        a->f = ap->f;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        a->type = OCT__ONNX_ATTR_INT;
        a->i = ap->i;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        a->type = OCT__ONNX_ATTR_STRING;
        a->s = dup_bytes(ap->s.data, ap->has_s ? ap->s.len : 0);
        if (!a->s) goto oom;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
        oct_status st;
        a->type = OCT__ONNX_ATTR_TENSOR;
        snprintf(lab, sizeof lab, "tensor of attribute '%.100s' of %.400s", a->name, nlab);
        if (!ap->t) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: %s: missing", r->name, lab);
            attr_release(a);
            return st;
        }
        a->t = oct__calloc(1, sizeof *a->t);
        if (!a->t) goto oom;
        st = conv_tensor(r, ap->t, lab, a->t);
        if (st != OCT_OK) {
            attr_release(a);
            return st;
        }
        break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: {
        size_t n = type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS ? ap->n_ints : ap->n_floats;
        if (n > ONNX_MAX_ITEMS) {
            oct_status st = oct__fail(OCT_ERR_FORMAT, "%s: attribute '%s' of %s has %zu values, more than %d", r->name,
                                      a->name, nlab, n, ONNX_MAX_ITEMS);
            attr_release(a);
            return st;
        }
        if (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS) {
            a->type = OCT__ONNX_ATTR_INTS;
            a->ints = oct__malloc((n ? n : 1) * sizeof *a->ints);
            if (!a->ints) goto oom;
            if (n) memcpy(a->ints, ap->ints, n * sizeof *a->ints);
            a->nints = (int)n;
        } else {
            a->type = OCT__ONNX_ATTR_FLOATS;
            a->floats = oct__malloc((n ? n : 1) * sizeof *a->floats);
            if (!a->floats) goto oom;
            for (size_t k = 0; k < n; k++) a->floats[k] = ap->floats[k];
            a->nfloats = (int)n;
        }
        break;
    }
    default: /* GRAPH(S) (If, Loop, Scan bodies), STRINGS, TENSORS, sparse, type protos */
        a->type = OCT__ONNX_ATTR_OTHER;
        break;
    }
    return OCT_OK;
oom:
    attr_release(a);
    return oct__fail(OCT_ERR_HOST_MEMORY, "%s: %s: no memory for attribute '%s'", r->name, nlab, str_or_empty(ap->name));
}

static void value_release(oct__onnx_value *v)
{
    free(v->name);
    for (int k = 0; k < OCT__ONNX_MAX_DIMS; k++) free(v->dim_param[k]);
    memset(v, 0, sizeof *v);
}

static oct_status conv_value(rd *r, const Onnx__ValueInfoProto *vi, const char *what, size_t idx, oct__onnx_value *v)
{
    const Onnx__TypeProto__Tensor *tt;

    memset(v, 0, sizeof *v);
    if (!vi->name || !vi->name[0])
        return oct__fail(OCT_ERR_FORMAT, "%s: %s #%zu has no name", r->name, what, idx);
    v->name = dup_str(vi->name);
    if (!v->name) goto oom;
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type)
        return OCT_OK; /* not a tensor, or no type: elem_type 0, no shape */
    tt = vi->type->tensor_type;
    v->elem_type = tt->has_elem_type ? tt->elem_type : 0;
    if (!tt->shape) return OCT_OK;
    if (tt->shape->n_dim > OCT__ONNX_MAX_DIMS) {
        oct_status st = oct__fail(OCT_ERR_FORMAT, "%s: %s '%s' has %zu dims, more than %d", r->name, what, v->name,
                                  tt->shape->n_dim, OCT__ONNX_MAX_DIMS);
        value_release(v);
        return st;
    }
    v->shape_known = 1;
    v->ndim = (int)tt->shape->n_dim;
    for (int k = 0; k < v->ndim; k++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];
        v->dims[k] = -1;
        if (!d) continue;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0) {
            v->dims[k] = d->dim_value;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param) {
            v->dim_param[k] = dup_str(d->dim_param);
            if (!v->dim_param[k]) goto oom;
        }
    }
    return OCT_OK;
oom:
    value_release(v);
    return oct__fail(OCT_ERR_HOST_MEMORY, "%s: no memory for %s #%zu", r->name, what, idx);
}

/* ------------------------------------------------------------------------------------ */
/* Names: which are written, and by what                                                  */

enum { NAME_INIT = 1, NAME_INPUT = 2, NAME_NODE = 4, NAME_OUTPUT = 8 };

typedef struct {
    const char **keys;
    unsigned *kinds;
    size_t mask;
} name_set;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* The slot of `key` (its kinds 0 when absent, the slot then free for it). */
static size_t name_slot(const name_set *ns, const char *key)
{
    size_t k = (size_t)name_hash(key) & ns->mask;
    while (ns->keys[k] && strcmp(ns->keys[k], key) != 0) k = (k + 1) & ns->mask;
    return k;
}

/* ------------------------------------------------------------------------------------ */
/* The model                                                                              */

static void node_release(oct__onnx_node *n)
{
    free(n->name);
    free(n->op_type);
    free(n->domain);
    if (n->inputs)
        for (int k = 0; k < n->ninputs; k++) free(n->inputs[k]);
    if (n->outputs)
        for (int k = 0; k < n->noutputs; k++) free(n->outputs[k]);
    if (n->attrs)
        for (int k = 0; k < n->nattrs; k++) attr_release(&n->attrs[k]);
    free(n->inputs);
    free(n->outputs);
    free(n->attrs);
    memset(n, 0, sizeof *n);
}

void oct__onnx_free(oct__onnx_model *m)
{
    if (!m) return;
    if (m->nodes)
        for (int k = 0; k < m->nnodes; k++) node_release(&m->nodes[k]);
    if (m->inits)
        for (int k = 0; k < m->ninits; k++) tensor_release(&m->inits[k]);
    if (m->inputs)
        for (int k = 0; k < m->ninputs; k++) value_release(&m->inputs[k]);
    if (m->outputs)
        for (int k = 0; k < m->noutputs; k++) value_release(&m->outputs[k]);
    free(m->nodes);
    free(m->inits);
    free(m->inputs);
    free(m->outputs);
    free(m->producer);
    free(m->graph_name);
    free(m);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A list of strings into a fresh array (NULL entries read as ""). */
static oct_status copy_strs(const rd *r, char *const *src, size_t n, char ***dst, int *ndst, const char *lab)
{
    *dst = oct__calloc(n ? n : 1, sizeof **dst);
    if (!*dst) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: %s: no memory", r->name, lab);
    *ndst = (int)n;
    for (size_t k = 0; k < n; k++) {
        (*dst)[k] = dup_str(src[k]);
        if (!(*dst)[k]) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: %s: no memory", r->name, lab);
    }
    return OCT_OK;
}

static oct_status conv_node(rd *r, const Onnx__NodeProto *np, size_t idx, oct__onnx_node *n)
{
    char lab[512];
    const char **sorted = NULL;
    oct_status st = OCT_OK;
    const char *dom = str_or_empty(np->domain);

    node_label(lab, sizeof lab, np, idx);
    if (!np->op_type || !np->op_type[0]) return oct__fail(OCT_ERR_FORMAT, "%s: %s has no op_type", r->name, lab);
    if (np->n_input > ONNX_MAX_ITEMS || np->n_output > ONNX_MAX_ITEMS || np->n_attribute > ONNX_MAX_ATTRS)
        return oct__fail(OCT_ERR_FORMAT, "%s: %s has %zu inputs, %zu outputs, %zu attributes (too many)", r->name, lab,
                         np->n_input, np->n_output, np->n_attribute);
    n->name = dup_str(np->name);
    n->op_type = dup_str(np->op_type);
    n->domain = dup_str(strcmp(dom, "ai.onnx") == 0 ? "" : dom);
    if (!n->name || !n->op_type || !n->domain) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: %s: no memory", r->name, lab);
    OCT__TRY(copy_strs(r, np->input, np->n_input, &n->inputs, &n->ninputs, lab));
    OCT__TRY(copy_strs(r, np->output, np->n_output, &n->outputs, &n->noutputs, lab));
    n->attrs = oct__calloc(np->n_attribute ? np->n_attribute : 1, sizeof *n->attrs);
    if (!n->attrs) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: %s: no memory", r->name, lab);
    for (size_t k = 0; k < np->n_attribute; k++) {
        OCT__TRY(conv_attr(r, np->attribute[k], lab, &n->attrs[k]));
        n->nattrs = (int)k + 1;
    }
    if (n->nattrs > 1) { /* one value per attribute name */
        sorted = oct__malloc((size_t)n->nattrs * sizeof *sorted);
        if (!sorted) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: %s: no memory", r->name, lab);
        for (int k = 0; k < n->nattrs; k++) sorted[k] = n->attrs[k].name;
        qsort(sorted, (size_t)n->nattrs, sizeof *sorted, cmp_str_ptr);
        for (int k = 1; k < n->nattrs; k++)
            if (strcmp(sorted[k - 1], sorted[k]) == 0) {
                st = oct__fail(OCT_ERR_FORMAT, "%s: %s has attribute '%s' twice", r->name, lab, sorted[k]);
                break;
            }
        free(sorted);
    }
    return st;
}

/* Every name a node reads is written earlier; nothing is written twice; every graph
 * output is written. Fills in m->inputs (graph inputs that are not initializers). */
static oct_status check_names(rd *r, const Onnx__GraphProto *g, oct__onnx_model *m)
{
    oct_status st = OCT_OK;
    name_set ns = {NULL, NULL, 0};
    size_t total = g->n_initializer + g->n_input + g->n_output, cap = 16, nin = 0;
    char lab[512];

    for (size_t k = 0; k < g->n_node && total <= ONNX_MAX_ITEMS; k++) {
        if (g->node[k]->n_output > ONNX_MAX_ITEMS - total) total = ONNX_MAX_ITEMS + 1;
        else total += g->node[k]->n_output;
    }
    if (total > ONNX_MAX_ITEMS)
        return oct__fail(OCT_ERR_FORMAT, "%s: the graph names more than %d values", r->name, ONNX_MAX_ITEMS);
    while (cap < 2 * total) cap *= 2;
    ns.keys = oct__calloc(cap, sizeof *ns.keys);
    ns.kinds = oct__calloc(cap, sizeof *ns.kinds);
    ns.mask = cap - 1;
    if (!ns.keys || !ns.kinds) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: no memory for the name table", r->name);
        goto done;
    }
    for (size_t k = 0; k < g->n_initializer; k++) {
        const char *nm = g->initializer[k]->name;
        size_t s;
        if (!nm || !nm[0]) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: initializer #%zu has no name", r->name, k);
            goto done;
        }
        s = name_slot(&ns, nm);
        if (ns.keys[s]) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: initializer '%s' appears twice", r->name, nm);
            goto done;
        }
        ns.keys[s] = nm;
        ns.kinds[s] = NAME_INIT;
    }
    for (size_t k = 0; k < g->n_input; k++) {
        const char *nm = g->input[k]->name;
        size_t s;
        if (!nm || !nm[0]) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: graph input #%zu has no name", r->name, k);
            goto done;
        }
        s = name_slot(&ns, nm);
        if (ns.kinds[s] & NAME_INPUT) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: graph input '%s' appears twice", r->name, nm);
            goto done;
        }
        if (!ns.keys[s]) nin++;
        ns.keys[s] = nm;
        ns.kinds[s] |= NAME_INPUT;
    }
    for (size_t k = 0; k < g->n_node; k++) {
        const Onnx__NodeProto *np = g->node[k];
        for (size_t j = 0; j < np->n_input; j++) {
            const char *nm = np->input[j];
            if (!nm || !nm[0]) continue;
            if (!ns.keys[name_slot(&ns, nm)]) {
                node_label(lab, sizeof lab, np, k);
                st = oct__fail(OCT_ERR_FORMAT, "%s: %s reads '%s' which nothing writes (or a cycle)", r->name, lab, nm);
                goto done;
            }
        }
        for (size_t j = 0; j < np->n_output; j++) {
            const char *nm = np->output[j];
            size_t s;
            if (!nm || !nm[0]) continue;
            s = name_slot(&ns, nm);
            if (ns.keys[s]) {
                node_label(lab, sizeof lab, np, k);
                st = oct__fail(OCT_ERR_FORMAT, "%s: %s writes '%s', which is already %s", r->name, lab, nm,
                               ns.kinds[s] & NAME_NODE ? "the output of an earlier node" :
                               ns.kinds[s] & NAME_INPUT ? "a graph input" : "an initializer");
                goto done;
            }
            ns.keys[s] = nm;
            ns.kinds[s] = NAME_NODE;
        }
    }
    for (size_t k = 0; k < g->n_output; k++) {
        const char *nm = g->output[k]->name;
        size_t s;
        if (!nm || !nm[0]) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: graph output #%zu has no name", r->name, k);
            goto done;
        }
        s = name_slot(&ns, nm);
        if (!ns.keys[s]) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: graph output '%s' is written by no node", r->name, nm);
            goto done;
        }
        if (ns.kinds[s] & NAME_OUTPUT) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: graph output '%s' appears twice", r->name, nm);
            goto done;
        }
        ns.kinds[s] |= NAME_OUTPUT;
    }
    /* graph inputs, less those that are initializers */
    m->inputs = oct__calloc(nin ? nin : 1, sizeof *m->inputs);
    if (!m->inputs) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: no memory for the graph inputs", r->name);
        goto done;
    }
    for (size_t k = 0; k < g->n_input; k++) {
        if (ns.kinds[name_slot(&ns, g->input[k]->name)] & NAME_INIT) continue;
        st = conv_value(r, g->input[k], "graph input", k, &m->inputs[m->ninputs]);
        if (st != OCT_OK) goto done;
        m->ninputs++;
    }
done:
    free(ns.keys);
    free(ns.kinds);
    return st;
}

static oct_status conv_model(rd *r, const Onnx__ModelProto *mp, oct__onnx_model *m)
{
    const Onnx__GraphProto *g = mp->graph;
    int have_opset = 0;

    for (size_t k = 0; k < mp->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[k];
        const char *dom = str_or_empty(o->domain);
        int64_t v = o->has_version ? o->version : 0;
        if (dom[0] && strcmp(dom, "ai.onnx") != 0) continue;
        if (have_opset && v != m->opset)
            return oct__fail(OCT_ERR_FORMAT, "%s: opset_import gives the default domain twice (%" PRId64 " and %" PRId64 ")",
                             r->name, m->opset, v);
        m->opset = v;
        have_opset = 1;
    }
    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    m->producer = dup_str(mp->producer_name);
    if (!m->producer) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: no memory", r->name);
    if (!g) return oct__fail(OCT_ERR_FORMAT, "%s: no graph (not an ONNX model?)", r->name);
    m->graph_name = dup_str(g->name);
    if (!m->graph_name) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: no memory", r->name);
    if (g->n_node > ONNX_MAX_ITEMS || g->n_initializer > ONNX_MAX_ITEMS || g->n_input > ONNX_MAX_ITEMS ||
        g->n_output > ONNX_MAX_ITEMS)
        return oct__fail(OCT_ERR_FORMAT, "%s: graph with %zu nodes, %zu initializers, %zu inputs, %zu outputs (more "
                         "than %d)", r->name, g->n_node, g->n_initializer, g->n_input, g->n_output, ONNX_MAX_ITEMS);
    if (g->n_sparse_initializer)
        return oct__fail(OCT_ERR_FORMAT, "%s: the graph has %zu sparse initializers (not supported)", r->name,
                         g->n_sparse_initializer);
    OCT__TRY(check_names(r, g, m));

    m->nodes = oct__calloc(g->n_node ? g->n_node : 1, sizeof *m->nodes);
    m->inits = oct__calloc(g->n_initializer ? g->n_initializer : 1, sizeof *m->inits);
    m->outputs = oct__calloc(g->n_output ? g->n_output : 1, sizeof *m->outputs);
    if (!m->nodes || !m->inits || !m->outputs) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: no memory", r->name);
    for (size_t k = 0; k < g->n_initializer; k++) {
        char lab[512];
        snprintf(lab, sizeof lab, "initializer '%.400s'", g->initializer[k]->name);
        OCT__TRY(conv_tensor(r, g->initializer[k], lab, &m->inits[k]));
        m->ninits = (int)k + 1;
    }
    for (size_t k = 0; k < g->n_node; k++) {
        m->nnodes = (int)k + 1; /* a half-converted node is freed with the model */
        OCT__TRY(conv_node(r, g->node[k], k, &m->nodes[k]));
    }
    for (size_t k = 0; k < g->n_output; k++) {
        OCT__TRY(conv_value(r, g->output[k], "graph output", k, &m->outputs[k]));
        m->noutputs = (int)k + 1;
    }
    return OCT_OK;
}

/* Parse `len` bytes; `owned` (may be NULL) is freed as soon as protobuf-c has copied it. */
static oct_status parse_model(rd *r, const uint8_t *data, size_t len, uint8_t *owned, oct__onnx_model **out)
{
    ProtobufCMessage *msg = NULL;
    oct__onnx_model *m = NULL;
    oct_status st;

    st = unpack(r, data, len, &onnx__model_proto__descriptor, &msg);
    free(owned);
    if (st != OCT_OK) goto done;
    m = oct__calloc(1, sizeof *m);
    if (!m) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: no memory", r->name);
        goto done;
    }
    st = conv_model(r, (const Onnx__ModelProto *)msg, m);
    if (st != OCT_OK) {
        oct__onnx_free(m);
        m = NULL;
    }
done:
    pb_release(msg);
    rd_close(r);
    *out = m;
    return st;
}

oct_status oct__onnx_read(const char *path, oct__onnx_model **out)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    char *dir;
    oct_status st;
    rd r;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "onnx_read: out is NULL");
    *out = NULL;
    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "onnx_read: path is NULL");
    OCT__TRY(read_path(path, &bytes, &len));
    dir = dir_of(path);
    if (!dir) {
        free(bytes);
        return oct__fail(OCT_ERR_HOST_MEMORY, "%s: no memory", path);
    }
    r.name = path;
    r.dir = dir;
    r.dirfd = -1;
    st = parse_model(&r, bytes, len, bytes, out);
    free(dir);
    return st;
}

oct_status oct__onnx_parse(const void *data, size_t len, const char *dir, oct__onnx_model **out)
{
    rd r = {"ONNX model", dir, -1};
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "onnx_parse: out is NULL");
    *out = NULL;
    if (!data && len) return oct__fail(OCT_ERR_NULL_ARG, "onnx_parse: data is NULL");
    return parse_model(&r, data, len, NULL, out);
}

/* ------------------------------------------------------------------------------------ */
/* A lone TensorProto (backend test data)                                                 */

static oct_status parse_tensor(rd *r, const uint8_t *data, size_t len, uint8_t *owned, oct__onnx_tensor *out)
{
    ProtobufCMessage *msg = NULL;
    oct_status st;

    st = unpack(r, data, len, &onnx__tensor_proto__descriptor, &msg);
    free(owned);
    if (st == OCT_OK) {
        const Onnx__TensorProto *tp = (const Onnx__TensorProto *)msg;
        char lab[512];
        snprintf(lab, sizeof lab, "tensor '%.400s'", str_or_empty(tp->name));
        st = conv_tensor(r, tp, lab, out);
        if (st == OCT_OK && !out->f && !out->i) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: %s is of type %s (not converted)", r->name, lab, dtype_name(out->dtype));
            tensor_release(out);
        }
    }
    pb_release(msg);
    rd_close(r);
    return st;
}

oct_status oct__onnx_read_tensor(const char *path, oct__onnx_tensor *out)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    char *dir;
    oct_status st;
    rd r;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "onnx_read_tensor: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "onnx_read_tensor: path is NULL");
    OCT__TRY(read_path(path, &bytes, &len));
    dir = dir_of(path);
    if (!dir) {
        free(bytes);
        return oct__fail(OCT_ERR_HOST_MEMORY, "%s: no memory", path);
    }
    r.name = path;
    r.dir = dir;
    r.dirfd = -1;
    st = parse_tensor(&r, bytes, len, bytes, out);
    free(dir);
    return st;
}

oct_status oct__onnx_parse_tensor(const void *data, size_t len, const char *dir, oct__onnx_tensor *out)
{
    rd r = {"ONNX tensor", dir, -1};
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "onnx_parse_tensor: out is NULL");
    memset(out, 0, sizeof *out);
    if (!data && len) return oct__fail(OCT_ERR_NULL_ARG, "onnx_parse_tensor: data is NULL");
    return parse_tensor(&r, data, len, NULL, out);
}

void oct__onnx_tensor_release(oct__onnx_tensor *t) { tensor_release(t); }

/* ------------------------------------------------------------------------------------ */
/* Lookups                                                                                */

const oct__onnx_attr *oct__onnx_attr_find(const oct__onnx_node *n, const char *name)
{
    if (!n || !name || !n->attrs) return NULL;
    for (int k = 0; k < n->nattrs; k++)
        if (n->attrs[k].name && strcmp(n->attrs[k].name, name) == 0) return &n->attrs[k];
    return NULL;
}

const oct__onnx_tensor *oct__onnx_init_find(const oct__onnx_model *m, const char *name)
{
    if (!m || !name || !m->inits) return NULL;
    for (int k = 0; k < m->ninits; k++)
        if (m->inits[k].name && strcmp(m->inits[k].name, name) == 0) return &m->inits[k];
    return NULL;
}
