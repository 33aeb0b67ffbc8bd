/* io_safetensors.c — safetensors files: a checked parser (header JSON through cJSON,
 * every length, offset and multiplication checked), lookups, conversion of float
 * dtypes to float, and an F32 writer for tests.
 */
#include "safetensors.h"
#include "io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Dtypes                                                                                 */

static const struct {
    const char *name;
    size_t size;
} oct__st_dtypes[OCT__ST_DTYPE_COUNT] = {
    [OCT__ST_BOOL] = {"BOOL", 1},    [OCT__ST_U8] = {"U8", 1},
    [OCT__ST_I8] = {"I8", 1},        [OCT__ST_F8_E5M2] = {"F8_E5M2", 1},
    [OCT__ST_F8_E4M3] = {"F8_E4M3", 1}, [OCT__ST_I16] = {"I16", 2},
    [OCT__ST_U16] = {"U16", 2},      [OCT__ST_F16] = {"F16", 2},
    [OCT__ST_BF16] = {"BF16", 2},    [OCT__ST_I32] = {"I32", 4},
    [OCT__ST_U32] = {"U32", 4},      [OCT__ST_F32] = {"F32", 4},
    [OCT__ST_F64] = {"F64", 8},      [OCT__ST_I64] = {"I64", 8},
    [OCT__ST_U64] = {"U64", 8},
};

const char *oct__st_dtype_name(int dtype)
{
    if (dtype < 0 || dtype >= OCT__ST_DTYPE_COUNT) return "?";
    return oct__st_dtypes[dtype].name;
}

size_t oct__st_dtype_size(int dtype)
{
    if (dtype < 0 || dtype >= OCT__ST_DTYPE_COUNT) return 0;
    return oct__st_dtypes[dtype].size;
}

static int st_dtype_parse(const char *s)
{
    for (int i = 0; i < OCT__ST_DTYPE_COUNT; i++)
        if (strcmp(s, oct__st_dtypes[i].name) == 0) return i;
    return -1;
}

/* ------------------------------------------------------------------------------------ */
/* Small helpers                                                                          */

/* cJSON allocates through octcl's allocator, so fault injection reaches its
 * allocations too. Set once per process. */
static void st_json_hooks(void)
{
    cJSON_Hooks hooks = {oct__malloc, free};
    cJSON_InitHooks(&hooks);
}

static pthread_once_t st_hooks_once = PTHREAD_ONCE_INIT;

static char *st_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = oct__malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static uint64_t st_le64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* The offset of the first byte that breaks UTF-8 (overlongs, surrogates, > U+10FFFF and
 * NUL included), or len when all is well. */
static size_t st_utf8_bad(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c == 0) return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) n = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0) n = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0) n = 3, cp = c & 0x07, min = 0x10000;
        else return i;
        if (len - i <= n) return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += n + 1;
    }
    return len;
}

/* A JSON number that is an exact non-negative integer below 2^53. */
static int st_uint(const cJSON *j, uint64_t *v)
{
    double d;
    if (!cJSON_IsNumber(j)) return 0;
    d = j->valuedouble;
    if (!(d >= 0.0 && d <= 9007199254740992.0)) return 0; /* NaN fails too */
    if ((double)(uint64_t)d != d) return 0;
    *v = (uint64_t)d;
    return 1;
}

/* The offset of the first number token outside strings in JSON text that is not a
 * plain non-negative integer (digits, no leading zero), or (size_t)-1 when none. */
static size_t st_bad_number(const char *text)
{
    int in_string = 0;
    for (const char *p = text; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1]) p++;
            else if (*p == '"') in_string = 0;
            continue;
        }
        if (*p == '"') {
            in_string = 1;
            continue;
        }
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            const char *q = p;
            int plain = *q != '-';
            while (*q >= '0' && *q <= '9') q++;
            if (q != p && *q && strchr("+-.eE", *q)) plain = 0;
            if (*p == '0' && q - p > 1) plain = 0;
            if (!plain) return (size_t)(p - text);
            p = q - 1;
        }
    }
    return (size_t)-1;
}

/* ------------------------------------------------------------------------------------ */
/* Parsing                                                                                */

typedef struct {
    size_t begin, end;
    int index;
} oct__st_range;

typedef struct {
    char *key;
    char *value;
} oct__st_pair;

static int st_cmp_tensor(const void *a, const void *b)
{
    return strcmp(((const oct__st_tensor *)a)->name, ((const oct__st_tensor *)b)->name);
}

static int st_cmp_range(const void *a, const void *b)
{
    const oct__st_range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int st_cmp_pair(const void *a, const void *b)
{
    return strcmp(((const oct__st_pair *)a)->key, ((const oct__st_pair *)b)->key);
}

/* One tensor entry of the header into *t (name already set). */
static oct_status st_tensor(const char *name, const cJSON *entry, size_t data_len,
                            oct__st_tensor *t)
{
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL, *f;
    uint64_t begin, end, dim;
    size_t count;
    int dt, n;

    if (!cJSON_IsObject(entry))
        return oct__fail(OCT_ERR_FORMAT, "%s: tensor '%s' is not a JSON object", name, t->name);
    cJSON_ArrayForEach(f, entry) {
        const cJSON **slot = NULL;
        if (strcmp(f->string, "dtype") == 0) slot = &dtype;
        else if (strcmp(f->string, "shape") == 0) slot = &shape;
        else if (strcmp(f->string, "data_offsets") == 0) slot = &offsets;
        else continue; /* unknown fields are ignored, as the reference reader does */
        if (*slot)
            return oct__fail(OCT_ERR_FORMAT, "%s: tensor '%s' has a duplicate '%s'", name, t->name,
                             f->string);
        *slot = f;
    }
    if (!dtype || !shape || !offsets)
        return oct__fail(OCT_ERR_FORMAT, "%s: tensor '%s' has no '%s'", name, t->name,
                         !dtype ? "dtype" : !shape ? "shape" : "data_offsets");

    if (!cJSON_IsString(dtype))
        return oct__fail(OCT_ERR_FORMAT, "%s: tensor '%s' dtype is not a string", name, t->name);
    dt = st_dtype_parse(dtype->valuestring);
    if (dt < 0)
        return oct__fail(OCT_ERR_FORMAT, "%s: tensor '%s' has unknown dtype '%.32s'", name, t->name,
                         dtype->valuestring);
    t->dtype = dt;

    if (!cJSON_IsArray(shape))
        return oct__fail(OCT_ERR_FORMAT, "%s: tensor '%s' shape is not an array", name, t->name);
    n = 0;
    cJSON_ArrayForEach(f, shape) {
        if (n == OCT_MAX_DIMS)
            return oct__fail(OCT_ERR_FORMAT, "%s: tensor '%s' rank exceeds %d", name, t->name,
                             OCT_MAX_DIMS);
        if (!st_uint(f, &dim))
            return oct__fail(OCT_ERR_FORMAT, "%s: tensor '%s' shape[%d] is not a non-negative integer",
                             name, t->name, n);
        t->shape[n++] = (int64_t)dim;
    }
    t->ndim = n;
    if (!oct__shape_count(t->shape, n, &count) || count > SIZE_MAX / oct__st_dtype_size(dt))
        return oct__fail(OCT_ERR_FORMAT, "%s: tensor '%s' shape overflows the addressable size", name,
                         t->name);
    t->count = count;
    t->nbytes = count * oct__st_dtype_size(dt);

    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !st_uint(cJSON_GetArrayItem(offsets, 0), &begin) ||
        !st_uint(cJSON_GetArrayItem(offsets, 1), &end))
        return oct__fail(OCT_ERR_FORMAT,
                         "%s: tensor '%s' data_offsets is not a pair of non-negative integers", name,
                         t->name);
    if (end < begin)
        return oct__fail(OCT_ERR_FORMAT, "%s: tensor '%s' data_offsets [%llu, %llu] end before begin",
                         name, t->name, (unsigned long long)begin, (unsigned long long)end);
    if (end > data_len)
        return oct__fail(OCT_ERR_FORMAT,
                         "%s: tensor '%s' data_offsets [%llu, %llu] past the end of the data (%zu bytes)",
                         name, t->name, (unsigned long long)begin, (unsigned long long)end, data_len);
    if ((size_t)(end - begin) != t->nbytes)
        return oct__fail(OCT_ERR_FORMAT,
                         "%s: tensor '%s' shape and dtype %s need %zu bytes but data_offsets [%llu, %llu] hold %llu",
                         name, t->name, oct__st_dtype_name(dt), t->nbytes, (unsigned long long)begin,
                         (unsigned long long)end, (unsigned long long)(end - begin));
    t->begin = (size_t)begin;
    t->end = (size_t)end;
    return OCT_OK;
}

/* The parser proper. Takes ownership of `file` (freed on failure). */
static oct_status st_parse_owned(uint8_t *file, size_t len, const char *name, oct__st *out)
{
    oct_status st = OCT_OK;
    char *text = NULL;
    cJSON *root = NULL;
    const cJSON *item, *meta = NULL;
    oct__st_range *ranges = NULL;
    oct__st_pair *pairs = NULL;
    const char *end = NULL;
    uint64_t n;
    size_t data_len, bad, ntensors = 0, nmeta = 0, k;
    const uint8_t *data;

    memset(out, 0, sizeof *out);
    out->file = file;
    out->len = len;
    out->origin = st_strdup(name);
    if (!out->origin) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of memory", name);
        goto fail;
    }

    if (len < 8) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: %zu bytes is too short for a safetensors header", name,
                       len);
        goto fail;
    }
    n = st_le64(file);
    if (n > (uint64_t)(len - 8)) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: header length %llu past the end of the file (%zu bytes)",
                       name, (unsigned long long)n, len);
        goto fail;
    }
    if (n > OCT__ST_MAX_HEADER) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: header length %llu exceeds %llu", name,
                       (unsigned long long)n, (unsigned long long)OCT__ST_MAX_HEADER);
        goto fail;
    }
    data = file + 8 + n;
    data_len = len - 8 - (size_t)n;
    bad = st_utf8_bad(file + 8, (size_t)n);
    if (bad != (size_t)n) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: header is not UTF-8 text (byte %zu)", name, bad);
        goto fail;
    }

    /* cJSON wants a NUL-terminated string; the header has no NUL inside (checked). */
    text = oct__malloc((size_t)n + 1);
    if (!text) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: cannot allocate %llu bytes", name,
                       (unsigned long long)n + 1);
        goto fail;
    }
    memcpy(text, file + 8, (size_t)n);
    text[n] = '\0';
    pthread_once(&st_hooks_once, st_json_hooks);
    root = cJSON_ParseWithOpts(text, &end, 0);
    if (!root) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: header is not valid JSON (near header byte %zu)", name,
                       end && end >= text && end <= text + n ? (size_t)(end - text) : (size_t)0);
        goto fail;
    }
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') end++;
    if (*end) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: text after the header JSON (header byte %zu)", name,
                       (size_t)(end - text));
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: header JSON is not an object", name);
        goto fail;
    }

    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") == 0) {
            if (meta) {
                st = oct__fail(OCT_ERR_FORMAT, "%s: duplicate key '__metadata__'", name);
                goto fail;
            }
            meta = item;
        } else {
            ntensors++;
        }
    }
    if (ntensors > (size_t)INT32_MAX) {
        st = oct__fail(OCT_ERR_FORMAT, "%s: too many tensors", name);
        goto fail;
    }

    /* Tensors. */
    if (ntensors) {
        out->tensors = oct__calloc(ntensors, sizeof *out->tensors);
        ranges = oct__calloc(ntensors, sizeof *ranges);
        if (!out->tensors || !ranges) {
            st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: cannot allocate %zu tensor entries", name,
                           ntensors);
            goto fail;
        }
    }
    cJSON_ArrayForEach(item, root) {
        oct__st_tensor *t;
        if (item == meta) continue;
        t = &out->tensors[out->count];
        t->name = st_strdup(item->string);
        if (!t->name) {
            st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of memory", name);
            goto fail;
        }
        out->count++;
        st = st_tensor(name, item, data_len, t);
        if (st != OCT_OK) goto fail;
    }
    if (out->count > 1) {
        qsort(out->tensors, (size_t)out->count, sizeof *out->tensors, st_cmp_tensor);
        for (int i = 1; i < out->count; i++)
            if (strcmp(out->tensors[i - 1].name, out->tensors[i].name) == 0) {
                st = oct__fail(OCT_ERR_FORMAT, "%s: duplicate tensor name '%s'", name,
                               out->tensors[i].name);
                goto fail;
            }
    }
    /* Non-empty byte ranges must not share a byte. */
    k = 0;
    for (int i = 0; i < out->count; i++) {
        oct__st_tensor *t = &out->tensors[i];
        t->data = data + t->begin;
        if (t->end > t->begin) {
            ranges[k].begin = t->begin;
            ranges[k].end = t->end;
            ranges[k].index = i;
            k++;
        }
    }
    if (k > 1) {
        qsort(ranges, k, sizeof *ranges, st_cmp_range);
        for (size_t i = 1; i < k; i++)
            if (ranges[i].begin < ranges[i - 1].end) {
                const oct__st_tensor *a = &out->tensors[ranges[i - 1].index];
                const oct__st_tensor *b = &out->tensors[ranges[i].index];
                st = oct__fail(OCT_ERR_FORMAT,
                               "%s: tensors '%s' [%zu, %zu] and '%s' [%zu, %zu] overlap", name,
                               a->name, a->begin, a->end, b->name, b->begin, b->end);
                goto fail;
            }
    }

    /* Metadata. */
    if (meta) {
        if (!cJSON_IsObject(meta)) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: __metadata__ is not an object", name);
            goto fail;
        }
        cJSON_ArrayForEach(item, meta) {
            if (!cJSON_IsString(item)) {
                st = oct__fail(OCT_ERR_FORMAT, "%s: __metadata__ value of '%s' is not a string", name,
                               item->string);
                goto fail;
            }
            nmeta++;
        }
        if (nmeta > (size_t)INT32_MAX) {
            st = oct__fail(OCT_ERR_FORMAT, "%s: too many __metadata__ entries", name);
            goto fail;
        }
    }
    if (nmeta) {
        pairs = oct__calloc(nmeta, sizeof *pairs);
        out->meta_keys = oct__calloc(nmeta, sizeof *out->meta_keys);
        out->meta_values = oct__calloc(nmeta, sizeof *out->meta_values);
        if (!pairs || !out->meta_keys || !out->meta_values) {
            st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: cannot allocate %zu metadata entries", name, nmeta);
            goto fail;
        }
        k = 0;
        cJSON_ArrayForEach(item, meta) {
            pairs[k].key = item->string;
            pairs[k].value = item->valuestring;
            k++;
        }
        qsort(pairs, nmeta, sizeof *pairs, st_cmp_pair);
        for (size_t i = 0; i < nmeta; i++) {
            if (i > 0 && strcmp(pairs[i - 1].key, pairs[i].key) == 0) {
                st = oct__fail(OCT_ERR_FORMAT, "%s: duplicate __metadata__ key '%s'", name,
                               pairs[i].key);
                goto fail;
            }
            out->meta_keys[i] = st_strdup(pairs[i].key);
            out->meta_values[i] = st_strdup(pairs[i].value);
            out->meta_count = (int)i + 1;
            if (!out->meta_keys[i] || !out->meta_values[i]) {
                st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of memory", name);
                goto fail;
            }
        }
    }
    /* Last, once every value checked out: cJSON keeps numbers as doubles, which would take 2.0, -0 or 2e0 for 2: every number
     * of the header (shapes and offsets; metadata values are strings) must be written as
     * a plain non-negative integer. */
    if ((bad = st_bad_number(text)) != (size_t)-1) {
        size_t e = bad;
        while (text[e] && strchr("+-0123456789.eE", text[e])) e++;
        st = oct__fail(OCT_ERR_FORMAT, "%s: header number '%.*s' (header byte %zu) is not a plain non-negative integer",
                       name, (int)(e - bad > 32 ? 32 : e - bad), text + bad, bad);
        goto fail;
    }
    goto done;
fail:
    oct__st_release(out);
done:
    free(pairs);
    free(ranges);
    cJSON_Delete(root);
    free(text);
    return st;
}

oct_status oct__st_parse(const uint8_t *bytes, size_t len, const char *name, oct__st *out)
{
    uint8_t *copy;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "st_parse: output is NULL");
    memset(out, 0, sizeof *out);
    if (!name) name = "<memory>";
    if (!bytes && len) return oct__fail(OCT_ERR_NULL_ARG, "%s: bytes are NULL", name);
    copy = oct__malloc(len ? len : 1);
    if (!copy) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: cannot allocate %zu bytes", name, len);
    if (len) memcpy(copy, bytes, len);
    return st_parse_owned(copy, len, name, out);
}

oct_status oct__st_load(const char *path, oct__st *out)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    oct_status st;

    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "st_load: output is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "st_load: path is NULL");
    st = oct__read_file(path, SIZE_MAX / 2, &bytes, &len);
    if (st != OCT_OK) return st;
    return st_parse_owned(bytes, len, path, out);
}

void oct__st_release(oct__st *st)
{
    if (!st) return;
    if (st->tensors)
        for (int i = 0; i < st->count; i++) free(st->tensors[i].name);
    if (st->meta_keys)
        for (int i = 0; i < st->meta_count; i++) free(st->meta_keys[i]);
    if (st->meta_values)
        for (int i = 0; i < st->meta_count; i++) free(st->meta_values[i]);
    free(st->tensors);
    free(st->meta_keys);
    free(st->meta_values);
    free(st->origin);
    free(st->file);
    memset(st, 0, sizeof *st);
}

/* ------------------------------------------------------------------------------------ */
/* Lookups and conversion                                                                 */

static int st_cmp_find(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const oct__st_tensor *)elem)->name);
}

const oct__st_tensor *oct__st_find(const oct__st *st, const char *name)
{
    if (!st || !name || !st->tensors || st->count <= 0) return NULL;
    return bsearch(name, st->tensors, (size_t)st->count, sizeof *st->tensors, st_cmp_find);
}

const char *oct__st_meta(const oct__st *st, const char *key)
{
    int lo = 0, hi;
    if (!st || !key || !st->meta_keys || !st->meta_values) return NULL;
    hi = st->meta_count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(key, st->meta_keys[mid]);
        if (c == 0) return st->meta_values[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

float oct__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    float f;

    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | mant << 13; /* inf, or NaN with its payload */
    } else if (exp != 0) {
        bits = sign | (exp + 112) << 23 | mant << 13; /* rebias 15 -> 127 */
    } else if (mant == 0) {
        bits = sign; /* +-0 */
    } else {
        /* Subnormal: mant * 2^-24; normalise so the leading one becomes implicit. */
        uint32_t e = 113; /* the exponent field of 2^-14 */
        while (!(mant & 0x400)) {
            mant <<= 1;
            e--;
        }
        bits = sign | e << 23 | (mant & 0x3ff) << 13;
    }
    memcpy(&f, &bits, sizeof f);
    return f;
}

float oct__bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

oct_status oct__st_to_f32(const oct__st *st, const oct__st_tensor *t, float *dst)
{
    const char *origin;
    const uint8_t *p;

    if (!st || !t) return oct__fail(OCT_ERR_NULL_ARG, "st_to_f32: file or tensor is NULL");
    origin = st->origin ? st->origin : "<memory>";
    if (!dst && t->count)
        return oct__fail(OCT_ERR_NULL_ARG, "%s: tensor '%s': destination is NULL", origin,
                         t->name ? t->name : "?");
    p = t->data;
    switch (t->dtype) {
    case OCT__ST_F32:
        for (size_t i = 0; i < t->count; i++) {
            const uint8_t *b = p + 4 * i;
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                         (uint32_t)b[3] << 24;
            memcpy(&dst[i], &u, sizeof u);
        }
        break;
    case OCT__ST_F16:
        for (size_t i = 0; i < t->count; i++)
            dst[i] = oct__f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        break;
    case OCT__ST_BF16:
        for (size_t i = 0; i < t->count; i++)
            dst[i] = oct__bf16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        break;
    case OCT__ST_F64:
        for (size_t i = 0; i < t->count; i++) {
            uint64_t u = st_le64(p + 8 * i);
            double d;
            memcpy(&d, &u, sizeof d);
            dst[i] = (float)d;
        }
        break;
    default:
        return oct__fail(OCT_ERR_FORMAT, "%s: tensor '%s' has dtype %s, not a float type", origin,
                         t->name ? t->name : "?", oct__st_dtype_name(t->dtype));
    }
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Writing (F32 only)                                                                     */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} oct__st_text;

static void st_put(oct__st_text *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (n > SIZE_MAX - b->len - 1) {
        b->oom = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *g;
        while (cap < b->len + n + 1) cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
        g = oct__realloc(b->p, cap);
        if (!g) {
            b->oom = 1;
            return;
        }
        b->p = g;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void st_puts(oct__st_text *b, const char *s) { st_put(b, s, strlen(s)); }

/* A JSON string literal. */
static void st_put_string(oct__st_text *b, const char *s)
{
    st_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            st_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            st_put(b, esc, 6);
        } else {
            st_put(b, s, 1);
        }
    }
    st_put(b, "\"", 1);
}

static int st_text_ok(const char *s)
{
    size_t n = strlen(s);
    return st_utf8_bad((const uint8_t *)s, n) == n;
}

oct_status oct__st_save(const char *path, int count, const char *const *names,
                        const int *ndims, const int64_t (*shapes)[OCT_MAX_DIMS],
                        const float *const *data, int meta_count,
                        const char *const *meta_keys, const char *const *meta_values)
{
    oct_status st = OCT_OK;
    oct__st_text h = {0};
    oct__ofile f;
    size_t offset = 0;
    int opened = 0;
    uint8_t head[8];
    char num[64];

    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "st_save: path is NULL");
    if (count < 0 || meta_count < 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "%s: negative tensor or metadata count", path);
    if (count > 0 && (!names || !ndims || !shapes || !data))
        return oct__fail(OCT_ERR_NULL_ARG, "%s: tensor arrays are NULL", path);
    if (meta_count > 0 && (!meta_keys || !meta_values))
        return oct__fail(OCT_ERR_NULL_ARG, "%s: metadata arrays are NULL", path);

    for (int i = 0; i < meta_count; i++) {
        if (!meta_keys[i] || !meta_values[i])
            return oct__fail(OCT_ERR_NULL_ARG, "%s: metadata entry %d is NULL", path, i);
        if (!st_text_ok(meta_keys[i]) || !st_text_ok(meta_values[i]))
            return oct__fail(OCT_ERR_FORMAT, "%s: metadata entry %d is not UTF-8", path, i);
        for (int j = 0; j < i; j++)
            if (strcmp(meta_keys[i], meta_keys[j]) == 0)
                return oct__fail(OCT_ERR_FORMAT, "%s: duplicate metadata key '%s'", path,
                                 meta_keys[i]);
    }
    for (int i = 0; i < count; i++) {
        size_t n;
        if (!names[i]) return oct__fail(OCT_ERR_NULL_ARG, "%s: tensor %d name is NULL", path, i);
        if (!st_text_ok(names[i]) || strcmp(names[i], "__metadata__") == 0)
            return oct__fail(OCT_ERR_FORMAT, "%s: tensor name '%s' is not allowed", path, names[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return oct__fail(OCT_ERR_FORMAT, "%s: duplicate tensor name '%s'", path, names[i]);
        if (ndims[i] < 0 || ndims[i] > OCT_MAX_DIMS)
            return oct__fail(OCT_ERR_BAD_SIZE, "%s: tensor '%s' rank %d is not in 0..%d", path,
                             names[i], ndims[i], OCT_MAX_DIMS);
        if (!oct__shape_count(shapes[i], ndims[i], &n) || n > (SIZE_MAX - offset) / 4)
            return oct__fail(OCT_ERR_BAD_SIZE, "%s: tensor '%s' shape is negative or overflows", path,
                             names[i]);
        if (n && !data[i])
            return oct__fail(OCT_ERR_NULL_ARG, "%s: tensor '%s' data is NULL", path, names[i]);
        offset += 4 * n;
    }

    /* The header JSON. */
    st_puts(&h, "{");
    if (meta_count > 0) {
        st_puts(&h, "\"__metadata__\":{");
        for (int i = 0; i < meta_count; i++) {
            if (i) st_puts(&h, ",");
            st_put_string(&h, meta_keys[i]);
            st_puts(&h, ":");
            st_put_string(&h, meta_values[i]);
        }
        st_puts(&h, "}");
    }
    offset = 0;
    for (int i = 0; i < count; i++) {
        size_t n = 0;
        oct__shape_count(shapes[i], ndims[i], &n);
        if (i || meta_count > 0) st_puts(&h, ",");
        st_put_string(&h, names[i]);
        st_puts(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < ndims[i]; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)shapes[i][d]);
            st_puts(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", offset, offset + 4 * n);
        st_puts(&h, num);
        offset += 4 * n;
    }
    st_puts(&h, "}");
    while (!h.oom && h.len % 8) st_puts(&h, " ");
    if (h.oom) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of memory building the header", path);
        goto done;
    }
    for (int i = 0; i < 8; i++) head[i] = (uint8_t)((uint64_t)h.len >> (8 * i));

    if ((st = oct__ofile_open(&f, path, 0)) != OCT_OK) goto done;
    opened = 1;
    if (oct__ofile_write(&f, head, 8) != OCT_OK || oct__ofile_write(&f, h.p, h.len) != OCT_OK) goto write_error;
    for (int i = 0; i < count; i++) {
        size_t n = 0;
        oct__shape_count(shapes[i], ndims[i], &n);
        if (!oct__write_f32le(&f, data[i], n)) goto write_error;
    }
    opened = 0;
    st = oct__ofile_commit(&f);
    goto done;
write_error:
    st = OCT_ERR_IO; /* the message was set by the failed write */
done:
    if (opened) oct__ofile_abort(&f);
    free(h.p);
    return st;
}
