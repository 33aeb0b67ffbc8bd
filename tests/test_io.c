/* test_io.c — the file readers: .npy, IDX and safetensors. Valid round trips, exact
 * float conversions, and every malformed input we can think of, each checked for the
 * status it must return (and, where it matters, for what the message names).
 * Files go to a mkdtemp directory that is removed at the end.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "io.h"
#include "octcl.h"
#include "safetensors.h"

#include <CUnit/Basic.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------------------------ */
/* Helpers                                                                                */

static char g_dir[256];

static const char *tpath(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", g_dir, name);
    return p;
}

static int write_bytes(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f) return 0;
    ok = fwrite(bytes, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static int write_gz(const char *path, const void *bytes, size_t len)
{
    gzFile f = gzopen(path, "wb");
    int ok;
    if (!f) return 0;
    ok = len == 0 || gzwrite(f, bytes, (unsigned)len) == (int)len;
    return gzclose(f) == Z_OK && ok;
}

static uint8_t *read_bytes(const char *path, size_t *len)
{
    uint8_t *b = NULL;
    *len = 0;
    if (oct__read_file(path, (size_t)1 << 30, &b, len) != OCT_OK) return NULL;
    return b;
}

/* Check a status; on a mismatch say which case and what the library said. */
#define EXPECT(expr, want, what)                                                        \
    do {                                                                                \
        oct_status s_ = (expr);                                                         \
        if (s_ != (want))                                                               \
            fprintf(stderr, "\n  %s:%d [%s]: got %d (%s), want %d\n", __FILE__, __LINE__, \
                    (what), (int)s_, oct_last_error(), (int)(want));                    \
        CU_ASSERT_EQUAL(s_, (want));                                                    \
    } while (0)

/* The last message mentions `needle`. */
#define EXPECT_MSG(needle)                                                              \
    do {                                                                                \
        if (!strstr(oct_last_error(), (needle)))                                        \
            fprintf(stderr, "\n  %s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, \
                    oct_last_error(), (needle));                                        \
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), (needle)));                     \
    } while (0)

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Deterministic floats in [-2, 2]. */
static float lcg_float(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(*s >> 11) / 9007199254740992.0 * 4.0 - 2.0);
}

static int suite_init(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/octcl_test_io_XXXXXX");
    return mkdtemp(g_dir) ? 0 : 1;
}

static int suite_clean(void)
{
    DIR *d = opendir(g_dir);
    struct dirent *e;
    if (!d) return 1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        remove(tpath(e->d_name));
    }
    closedir(d);
    return rmdir(g_dir) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------------------ */
/* .npy                                                                                   */

/* A .npy image: magic, version, header length (2 bytes for 1.x, 4 otherwise), the dict
 * text as given, then `data_len` bytes of 0x3f (a float near 0.75 per 4 bytes). */
static uint8_t *npy_image(int major, const char *dict, size_t data_len, size_t *len)
{
    size_t hl = strlen(dict), pre = major == 1 ? 10 : 12;
    uint8_t *b = malloc(pre + hl + data_len + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major;
    b[7] = 0;
    b[8] = (uint8_t)hl;
    b[9] = (uint8_t)(hl >> 8);
    if (major != 1) {
        b[10] = (uint8_t)(hl >> 16);
        b[11] = (uint8_t)(hl >> 24);
    }
    memcpy(b + pre, dict, hl);
    memset(b + pre + hl, 0x3f, data_len);
    *len = pre + hl + data_len;
    return b;
}

static oct_status npy_parse_dict(int major, const char *dict, size_t data_len, oct_array *a)
{
    size_t len;
    uint8_t *b = npy_image(major, dict, data_len, &len);
    oct_status s = oct__npy_parse(b, len, "mem.npy", a);
    free(b);
    return s;
}

static void test_npy_roundtrip(void)
{
    static const int64_t shapes[][OCT_MAX_DIMS] = {
        {0}, {7}, {3, 5}, {2, 3, 4}, {2, 0, 3}, {1, 1, 1, 1, 1, 1, 1, 2}};
    static const int ndims[] = {0, 1, 2, 3, 3, 8};
    uint64_t seed = 42;
    for (size_t c = 0; c < sizeof ndims / sizeof ndims[0]; c++) {
        oct_array a;
        size_t count = 1, len = 0;
        float *x;
        uint8_t *raw;
        const char *p = tpath("rt.npy");
        for (int i = 0; i < ndims[c]; i++) count *= (size_t)shapes[c][i];
        x = malloc((count ? count : 1) * sizeof *x);
        for (size_t i = 0; i < count; i++) x[i] = lcg_float(&seed);
        if (count >= 4) {
            x[0] = NAN;
            x[1] = -0.0f;
            x[2] = INFINITY;
            x[3] = 1e-45f; /* the smallest subnormal */
        }
        EXPECT(oct_npy_save(p, x, ndims[c], shapes[c]), OCT_OK, "save");
        raw = read_bytes(p, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
        /* Version 1.0, header padded to 64 bytes and ending in '\n'. */
        CU_ASSERT_EQUAL(raw[6], 1);
        CU_ASSERT_EQUAL(raw[7], 0);
        {
            size_t total = 10 + ((size_t)raw[8] | (size_t)raw[9] << 8);
            CU_ASSERT_EQUAL(total % 64, 0);
            CU_ASSERT_EQUAL(raw[total - 1], '\n');
            CU_ASSERT_EQUAL(len, total + 4 * count);
            if (ndims[c] == 1) CU_ASSERT_PTR_NOT_NULL(strstr((const char *)raw + 10, "(7,)"));
            if (ndims[c] == 0) CU_ASSERT_PTR_NOT_NULL(strstr((const char *)raw + 10, "()"));
        }
        free(raw);
        EXPECT(oct_npy_load(p, &a), OCT_OK, "load");
        CU_ASSERT_EQUAL(a.ndim, ndims[c]);
        for (int i = 0; i < ndims[c]; i++) CU_ASSERT_EQUAL(a.shape[i], shapes[c][i]);
        CU_ASSERT_EQUAL(oct_array_count(&a), count);
        CU_ASSERT_PTR_NOT_NULL(a.data);
        if (a.data) {
            size_t bad = 0;
            for (size_t i = 0; i < count; i++) bad += !same_bits(a.data[i], x[i]);
            CU_ASSERT_EQUAL(bad, 0);
        }
        oct_array_release(&a);
        CU_ASSERT_PTR_NULL(a.data);
        CU_ASSERT_EQUAL(a.ndim, 0);
        free(x);
    }
}

static void test_npy_variants(void)
{
    oct_array a;
    /* Version 2.0 and 3.0, key order, quotes, whitespace, no trailing comma, 'L'. */
    EXPECT(npy_parse_dict(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24, &a),
           OCT_OK, "v2.0");
    CU_ASSERT_EQUAL(a.ndim, 2);
    CU_ASSERT_EQUAL(a.shape[1], 3);
    oct_array_release(&a);
    EXPECT(npy_parse_dict(3, "{\"shape\":(4,),\"fortran_order\":False,\"descr\":\"<f4\"}", 16, &a),
           OCT_OK, "v3.0 reordered");
    CU_ASSERT_EQUAL(a.ndim, 1);
    CU_ASSERT_EQUAL(a.shape[0], 4);
    CU_ASSERT_EQUAL(oct_array_count(&a), 4);
    oct_array_release(&a);
    EXPECT(npy_parse_dict(1, "  {\n 'fortran_order' : False ,\t'shape' : ( 1 , 2L ) ,\n"
                             " 'descr' : '<f4' }   \n", 8, &a),
           OCT_OK, "whitespace");
    CU_ASSERT_EQUAL(a.shape[1], 2);
    oct_array_release(&a);
    EXPECT(npy_parse_dict(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4, &a),
           OCT_OK, "scalar");
    CU_ASSERT_EQUAL(a.ndim, 0);
    CU_ASSERT_EQUAL(oct_array_count(&a), 1);
    oct_array_release(&a);
    /* Release is NULL-safe and idempotent. */
    oct_array_release(NULL);
    oct_array_release(&a);
    CU_ASSERT_EQUAL(oct_array_count(NULL), 0);
}

static void test_npy_malformed(void)
{
    static const struct {
        const char *what;
        int major;
        const char *dict;
        size_t data_len;
        const char *needle;
    } cases[] = {
        {"dtype <f8", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16, "'<f8'"},
        {"dtype >f4", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "'>f4'"},
        {"dtype |u1", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", 2, "'|u1'"},
        {"fortran", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "fortran"},
        {"truncated data", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 23,
         "truncated"},
        {"no data", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0, "truncated"},
        {"trailing data", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 25,
         "trailing"},
        {"missing brace", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", 8, "dict"},
        {"no dict", 1, "'descr': '<f4'", 8, "dict"},
        {"empty header", 1, "", 8, "dict"},
        {"missing shape", 1, "{'descr': '<f4', 'fortran_order': False}", 4, "shape"},
        {"missing descr", 1, "{'fortran_order': False, 'shape': (1,)}", 4, "descr"},
        {"missing fortran", 1, "{'descr': '<f4', 'shape': (1,)}", 4, "fortran_order"},
        {"unknown key", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
         "'x'"},
        {"duplicate key", 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
         4, "duplicate"},
        {"shape (3) not a tuple", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", 12,
         "tuple"},
        {"shape list", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': [3]}", 12, "tuple"},
        {"negative dim", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}", 12,
         "negative"},
        {"float dim", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", 4, "dict"},
        {"empty dim", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", 4, "dict"},
        {"bool lowercase", 1, "{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}", 4, "True"},
        {"unterminated string", 1, "{'descr': '<f4", 4, "unterminated"},
        {"escape", 1, "{'descr': '<\\f4', 'fortran_order': False, 'shape': (1,)}", 4, "escape"},
        {"descr structured", 1,
         "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", 4, "descr"},
        {"text after dict", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4,
         "after"},
        {"missing colon", 1, "{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "':'"},
        {"rank 9", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", 4,
         "rank"},
        {"shape overflows size_t", 1,
         "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16)}", 4,
         "overflow"},
        {"shape * 4 overflows", 1,
         "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,)}", 4, "overflow"},
        {"dim past int64", 1,
         "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 4, "64 bits"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        oct_array a;
        memset(&a, 0x55, sizeof a);
        EXPECT(npy_parse_dict(cases[i].major, cases[i].dict, cases[i].data_len, &a), OCT_ERR_FORMAT,
               cases[i].what);
        EXPECT_MSG("mem.npy");
        EXPECT_MSG(cases[i].needle);
        CU_ASSERT_PTR_NULL(a.data); /* zeroed on failure */
        CU_ASSERT_EQUAL(a.ndim, 0);
    }
}

static void test_npy_bytes_and_files(void)
{
    oct_array a;
    size_t len;
    uint8_t *b = npy_image(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8, &len);
    uint8_t saved;

    /* Wrong magic, each byte. */
    for (int i = 0; i < 6; i++) {
        saved = b[i];
        b[i] ^= 0x20;
        EXPECT(oct__npy_parse(b, len, "m.npy", &a), OCT_ERR_FORMAT, "magic");
        EXPECT_MSG("magic");
        b[i] = saved;
    }
    /* Versions 0.0, 4.0 and 1.1. */
    b[6] = 0;
    EXPECT(oct__npy_parse(b, len, "m.npy", &a), OCT_ERR_FORMAT, "version 0");
    b[6] = 4;
    EXPECT(oct__npy_parse(b, len, "m.npy", &a), OCT_ERR_FORMAT, "version 4");
    b[6] = 1;
    b[7] = 1;
    EXPECT(oct__npy_parse(b, len, "m.npy", &a), OCT_ERR_FORMAT, "version 1.1");
    EXPECT_MSG("version");
    b[7] = 0;
    /* Header length past the end. */
    b[8] = 0xff;
    b[9] = 0xff;
    EXPECT(oct__npy_parse(b, len, "m.npy", &a), OCT_ERR_FORMAT, "header length");
    EXPECT_MSG("past the end");
    /* Truncated inside the preamble and the header. */
    EXPECT(oct__npy_parse(b, 0, "m.npy", &a), OCT_ERR_FORMAT, "empty");
    EXPECT(oct__npy_parse(b, 9, "m.npy", &a), OCT_ERR_FORMAT, "9 bytes");
    EXPECT(oct__npy_parse(b, 30, "m.npy", &a), OCT_ERR_FORMAT, "cut header");
    free(b);
    b = npy_image(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8, &len);
    EXPECT(oct__npy_parse(b, 11, "m.npy", &a), OCT_ERR_FORMAT, "v2 preamble cut");
    b[11] = 0x80; /* 4-byte header length of 2^31 + ... */
    EXPECT(oct__npy_parse(b, len, "m.npy", &a), OCT_ERR_FORMAT, "v2 header length");
    free(b);

    /* Files: through oct_npy_load, wrong dtype names the file. */
    b = npy_image(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", 16, &len);
    CU_ASSERT_FATAL(write_bytes(tpath("f8.npy"), b, len));
    free(b);
    EXPECT(oct_npy_load(tpath("f8.npy"), &a), OCT_ERR_FORMAT, "file f8");
    EXPECT_MSG("f8.npy: dtype '<f8' is not float32");
    CU_ASSERT_FATAL(write_bytes(tpath("empty.npy"), "", 0));
    EXPECT(oct_npy_load(tpath("empty.npy"), &a), OCT_ERR_FORMAT, "empty file");
    EXPECT(oct_npy_load(tpath("missing.npy"), &a), OCT_ERR_IO, "missing file");
    EXPECT_MSG("missing.npy");
    EXPECT(oct_npy_load(g_dir, &a), OCT_ERR_IO, "directory");
    EXPECT(oct_npy_load(NULL, &a), OCT_ERR_NULL_ARG, "NULL path");
    EXPECT(oct_npy_load(tpath("f8.npy"), NULL), OCT_ERR_NULL_ARG, "NULL out");
    EXPECT(oct__npy_parse(NULL, 4, "m", &a), OCT_ERR_NULL_ARG, "NULL bytes");

    /* Saving with bad arguments. */
    {
        const int64_t shape[OCT_MAX_DIMS + 1] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
        const int64_t neg[2] = {2, -1};
        const int64_t huge[3] = {4294967296, 4294967296, 16};
        float x[2] = {1, 2};
        EXPECT(oct_npy_save(tpath("bad.npy"), x, 9, shape), OCT_ERR_BAD_SIZE, "rank 9");
        EXPECT(oct_npy_save(tpath("bad.npy"), x, -1, shape), OCT_ERR_BAD_SIZE, "rank -1");
        EXPECT(oct_npy_save(tpath("bad.npy"), x, 2, neg), OCT_ERR_BAD_SIZE, "negative dim");
        EXPECT(oct_npy_save(tpath("bad.npy"), x, 3, huge), OCT_ERR_BAD_SIZE, "overflow");
        EXPECT(oct_npy_save(tpath("bad.npy"), NULL, 1, shape), OCT_ERR_NULL_ARG, "NULL data");
        EXPECT(oct_npy_save(tpath("bad.npy"), x, 1, NULL), OCT_ERR_NULL_ARG, "NULL shape");
        EXPECT(oct_npy_save(NULL, x, 1, shape), OCT_ERR_NULL_ARG, "NULL path");
        EXPECT(oct_npy_save(tpath("no/such/dir.npy"), x, 1, shape), OCT_ERR_IO, "bad dir");
        CU_ASSERT_EQUAL(access(tpath("bad.npy"), F_OK), -1);
    }
}

/* ------------------------------------------------------------------------------------ */
/* IDX                                                                                    */

/* An IDX image: magic 00 00 type nd, dims big-endian, then `data_len` bytes i % 251. */
static uint8_t *idx_image(uint8_t type, int nd, const uint32_t *dims, size_t data_len, size_t *len)
{
    size_t h = 4 + 4 * (size_t)nd;
    uint8_t *b = malloc(h + data_len + 1);
    b[0] = 0;
    b[1] = 0;
    b[2] = type;
    b[3] = (uint8_t)nd;
    for (int i = 0; i < nd; i++) {
        b[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        b[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        b[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        b[7 + 4 * i] = (uint8_t)dims[i];
    }
    for (size_t i = 0; i < data_len; i++) b[h + i] = (uint8_t)(i % 251);
    *len = h + data_len;
    return b;
}

/* Check an image through the memory core, a plain file and a gzip'd file. */
static void idx_expect(const uint8_t *b, size_t len, oct_status want, const char *what)
{
    oct_idx a;
    memset(&a, 0x55, sizeof a);
    EXPECT(oct__idx_parse(b, len, "mem.idx", &a), want, what);
    if (want != OCT_OK) CU_ASSERT_PTR_NULL(a.data);
    oct_idx_release(&a);
    CU_ASSERT_FATAL(write_bytes(tpath("t.idx"), b, len));
    EXPECT(oct_idx_load(tpath("t.idx"), &a), want, what);
    if (want != OCT_OK) EXPECT_MSG("t.idx");
    oct_idx_release(&a);
    CU_ASSERT_FATAL(write_gz(tpath("t.idx.gz"), b, len));
    EXPECT(oct_idx_load(tpath("t.idx.gz"), &a), want, what);
    if (want != OCT_OK) EXPECT_MSG("t.idx.gz");
    oct_idx_release(&a);
}

static void test_idx_roundtrip(void)
{
    const uint32_t dims[3] = {2, 3, 4};
    size_t len;
    uint8_t *b = idx_image(0x08, 3, dims, 24, &len);
    const char *files[2] = {tpath("ok.idx"), tpath("ok.idx.gz")};
    CU_ASSERT_FATAL(write_bytes(files[0], b, len));
    CU_ASSERT_FATAL(write_gz(files[1], b, len));
    for (int f = 0; f < 2; f++) {
        oct_idx a;
        EXPECT(oct_idx_load(files[f], &a), OCT_OK, files[f]);
        CU_ASSERT_EQUAL(a.ndim, 3);
        CU_ASSERT_EQUAL(a.shape[0], 2);
        CU_ASSERT_EQUAL(a.shape[1], 3);
        CU_ASSERT_EQUAL(a.shape[2], 4);
        CU_ASSERT_PTR_NOT_NULL(a.data);
        if (a.data) CU_ASSERT_EQUAL(memcmp(a.data, b + 16, 24), 0);
        oct_idx_release(&a);
        CU_ASSERT_PTR_NULL(a.data);
    }
    {
        oct_idx a;
        const uint32_t one[1] = {5};
        free(b);
        b = idx_image(0x08, 1, one, 5, &len);
        EXPECT(oct__idx_parse(b, len, "one", &a), OCT_OK, "rank 1");
        CU_ASSERT_EQUAL(a.ndim, 1);
        CU_ASSERT_EQUAL(a.shape[0], 5);
        oct_idx_release(&a);
        oct_idx_release(&a);
        oct_idx_release(NULL);
    }
    free(b);
}

static void test_idx_fashion_mnist(void)
{
    static const char *images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    static const char *labels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    oct_idx a;
    if (access(images, R_OK) != 0 || access(labels, R_OK) != 0) return; /* not installed here */
    EXPECT(oct_idx_load(images, &a), OCT_OK, "t10k images");
    CU_ASSERT_EQUAL(a.ndim, 3);
    CU_ASSERT_EQUAL(a.shape[0], 10000);
    CU_ASSERT_EQUAL(a.shape[1], 28);
    CU_ASSERT_EQUAL(a.shape[2], 28);
    oct_idx_release(&a);
    EXPECT(oct_idx_load(labels, &a), OCT_OK, "t10k labels");
    CU_ASSERT_EQUAL(a.ndim, 1);
    CU_ASSERT_EQUAL(a.shape[0], 10000);
    if (a.data) {
        int bad = 0, seen[10] = {0};
        for (int i = 0; i < 10000; i++) {
            if (a.data[i] > 9) bad++;
            else seen[a.data[i]]++;
        }
        CU_ASSERT_EQUAL(bad, 0);
        for (int c = 0; c < 10; c++) CU_ASSERT_EQUAL(seen[c], 1000); /* t10k is balanced */
    }
    oct_idx_release(&a);
}

static void test_idx_malformed(void)
{
    const uint32_t dims[4] = {2, 3, 4, 1};
    size_t len;
    uint8_t *b;

    b = idx_image(0x08, 3, dims, 24, &len);
    b[0] = 1;
    idx_expect(b, len, OCT_ERR_FORMAT, "magic byte 0");
    EXPECT_MSG("magic");
    b[0] = 0;
    b[1] = 8;
    idx_expect(b, len, OCT_ERR_FORMAT, "magic byte 1");
    b[1] = 0;
    b[2] = 0x0d; /* float */
    idx_expect(b, len, OCT_ERR_FORMAT, "type float");
    EXPECT_MSG("0x0d");
    b[2] = 0x09; /* signed byte */
    idx_expect(b, len, OCT_ERR_FORMAT, "type signed byte");
    b[2] = 0x08;
    idx_expect(b, len - 1, OCT_ERR_FORMAT, "truncated data");
    EXPECT_MSG("truncated");
    idx_expect(b, 10, OCT_ERR_FORMAT, "truncated header");
    idx_expect(b, 3, OCT_ERR_FORMAT, "3 bytes");
    idx_expect(b, 0, OCT_ERR_FORMAT, "empty");
    free(b);

    b = idx_image(0x08, 3, dims, 25, &len);
    idx_expect(b, len, OCT_ERR_FORMAT, "trailing byte");
    EXPECT_MSG("trailing");
    free(b);
    b = idx_image(0x08, 3, dims, 30, &len);
    idx_expect(b, len, OCT_ERR_FORMAT, "dims product mismatch");
    free(b);

    b = idx_image(0x08, 0, dims, 4, &len);
    idx_expect(b, len, OCT_ERR_FORMAT, "ndims 0");
    EXPECT_MSG("rank 0");
    free(b);
    {
        const uint32_t five[5] = {1, 1, 1, 1, 2};
        b = idx_image(0x08, 5, five, 2, &len);
        idx_expect(b, len, OCT_ERR_FORMAT, "ndims 5");
        EXPECT_MSG("rank 5");
        free(b);
    }
    {
        const uint32_t zero[2] = {3, 0};
        b = idx_image(0x08, 2, zero, 0, &len);
        idx_expect(b, len, OCT_ERR_FORMAT, "zero dim");
        free(b);
    }
    {
        const uint32_t huge[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
        oct_idx a;
        b = idx_image(0x08, 4, huge, 8, &len);
        EXPECT(oct__idx_parse(b, len, "huge", &a), OCT_ERR_FORMAT, "dims overflow");
        free(b);
    }
}

static void test_idx_bad_gzip(void)
{
    const uint32_t dims[2] = {64, 64};
    size_t len, zlen;
    uint8_t *b = idx_image(0x08, 2, dims, 4096, &len), *z;
    oct_idx a;

    CU_ASSERT_FATAL(write_gz(tpath("g.gz"), b, len));
    z = read_bytes(tpath("g.gz"), &zlen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(z);
    CU_ASSERT_FATAL(zlen > 30);
    /* The stream cut short. */
    CU_ASSERT_FATAL(write_bytes(tpath("cut.gz"), z, zlen / 2));
    EXPECT(oct_idx_load(tpath("cut.gz"), &a), OCT_ERR_FORMAT, "truncated gzip");
    EXPECT_MSG("cut.gz");
    CU_ASSERT_PTR_NULL(a.data);
    /* Only the trailer lost. */
    CU_ASSERT_FATAL(write_bytes(tpath("notrailer.gz"), z, zlen - 8));
    EXPECT(oct_idx_load(tpath("notrailer.gz"), &a), OCT_ERR_FORMAT, "gzip without trailer");
    /* A wrong CRC. */
    z[zlen - 8] ^= 0xff;
    CU_ASSERT_FATAL(write_bytes(tpath("crc.gz"), z, zlen));
    EXPECT(oct_idx_load(tpath("crc.gz"), &a), OCT_ERR_FORMAT, "gzip bad crc");
    z[zlen - 8] ^= 0xff;
    /* Corrupt deflate data. */
    memset(z + 12, 0xff, 8);
    CU_ASSERT_FATAL(write_bytes(tpath("bad.gz"), z, zlen));
    EXPECT(oct_idx_load(tpath("bad.gz"), &a), OCT_ERR_FORMAT, "gzip corrupt");
    free(z);
    free(b);

    EXPECT(oct_idx_load(tpath("missing.idx"), &a), OCT_ERR_IO, "missing");
    EXPECT_MSG("missing.idx");
    EXPECT(oct_idx_load(NULL, &a), OCT_ERR_NULL_ARG, "NULL path");
    EXPECT(oct_idx_load(tpath("g.gz"), NULL), OCT_ERR_NULL_ARG, "NULL out");
}

/* ------------------------------------------------------------------------------------ */
/* safetensors                                                                            */

/* A safetensors image: u64 length, the JSON as given, then `data_len` bytes (copied from
 * `data`, or i % 256 when NULL). */
static uint8_t *st_image(const char *json, const void *data, size_t data_len, size_t *len)
{
    size_t n = strlen(json);
    uint8_t *b = malloc(8 + n + data_len + 1);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    for (size_t i = 0; i < data_len; i++)
        b[8 + n + i] = data ? ((const uint8_t *)data)[i] : (uint8_t)i;
    *len = 8 + n + data_len;
    return b;
}

static oct_status st_parse_json(const char *json, size_t data_len, oct__st *out)
{
    size_t len;
    uint8_t *b = st_image(json, NULL, data_len, &len);
    oct_status s = oct__st_parse(b, len, "model.safetensors", out);
    free(b);
    return s;
}

static void test_st_roundtrip(void)
{
    const char *names[4] = {"fc.weight", "scalar", "empty", "conv\"1\".w\\"};
    const int ndims[4] = {2, 0, 2, 4};
    const int64_t shapes[4][OCT_MAX_DIMS] = {{3, 5}, {0}, {0, 7}, {2, 1, 3, 3}};
    const char *keys[3] = {"alpha", "note", "mean"};
    const char *vals[3] = {"0.5", "line1\nline2 \"quoted\" \x01 \xc3\xa9", ""};
    float w[15], s[1] = {-3.25f}, c[18];
    const float *data[4] = {w, s, NULL, c};
    uint64_t seed = 7;
    oct__st st;
    float out[18];

    for (int i = 0; i < 15; i++) w[i] = lcg_float(&seed);
    for (int i = 0; i < 18; i++) c[i] = lcg_float(&seed);
    w[0] = NAN;
    w[1] = -0.0f;
    EXPECT(oct__st_save(tpath("rt.safetensors"), 4, names, ndims, shapes, data, 3, keys, vals),
           OCT_OK, "save");
    EXPECT(oct__st_load(tpath("rt.safetensors"), &st), OCT_OK, "load");
    CU_ASSERT_EQUAL_FATAL(st.count, 4);
    CU_ASSERT_EQUAL(st.meta_count, 3);
    /* Data starts 8-byte aligned in the file. */
    CU_ASSERT_EQUAL((8 + (st.file[0] | (size_t)st.file[1] << 8)) % 8, 0);
    for (int i = 0; i < 4; i++) {
        const oct__st_tensor *t = oct__st_find(&st, names[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT_STRING_EQUAL(t->name, names[i]);
        CU_ASSERT_EQUAL(t->dtype, OCT__ST_F32);
        CU_ASSERT_EQUAL(t->ndim, ndims[i]);
        for (int d = 0; d < ndims[i]; d++) CU_ASSERT_EQUAL(t->shape[d], shapes[i][d]);
        CU_ASSERT_EQUAL(t->nbytes, 4 * t->count);
        EXPECT(oct__st_to_f32(&st, t, out), OCT_OK, names[i]);
        for (size_t k = 0; k < t->count; k++) CU_ASSERT(same_bits(out[k], data[i][k]));
    }
    CU_ASSERT_EQUAL(oct__st_find(&st, "scalar")->count, 1);
    CU_ASSERT_EQUAL(oct__st_find(&st, "empty")->count, 0);
    CU_ASSERT_PTR_NULL(oct__st_find(&st, "fc"));
    CU_ASSERT_PTR_NULL(oct__st_find(&st, "__metadata__"));
    CU_ASSERT_PTR_NULL(oct__st_find(NULL, "fc.weight"));
    for (int i = 0; i < 3; i++) {
        const char *v = oct__st_meta(&st, keys[i]);
        CU_ASSERT_PTR_NOT_NULL(v);
        if (v) CU_ASSERT_STRING_EQUAL(v, vals[i]);
    }
    CU_ASSERT_PTR_NULL(oct__st_meta(&st, "std"));
    CU_ASSERT_PTR_NULL(oct__st_meta(NULL, "alpha"));
    oct__st_release(&st);
    CU_ASSERT_PTR_NULL(st.file);
    CU_ASSERT_PTR_NULL(st.tensors);
    oct__st_release(&st);
    oct__st_release(NULL);

    /* No tensors, no metadata: "{}" padded to 8 bytes. */
    EXPECT(oct__st_save(tpath("none.safetensors"), 0, NULL, NULL, NULL, NULL, 0, NULL, NULL), OCT_OK,
           "save empty");
    EXPECT(oct__st_load(tpath("none.safetensors"), &st), OCT_OK, "load empty");
    CU_ASSERT_EQUAL(st.count, 0);
    CU_ASSERT_PTR_NULL(oct__st_find(&st, "x"));
    oct__st_release(&st);
}

static void test_st_valid_edges(void)
{
    oct__st st;
    /* Gaps between ranges, empty tensors anywhere, unknown fields, whitespace padding,
     * metadata first or last. */
    EXPECT(st_parse_json("{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6],\"x\":1},"
                         "\"a\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[5,5]},"
                         "\"c\":{\"dtype\":\"BOOL\",\"shape\":[],\"data_offsets\":[0,1]},"
                         "\"__metadata__\":{\"k\":\"v\"}}    \n\t",
                         10, &st),
           OCT_OK, "edges");
    CU_ASSERT_EQUAL(st.count, 3);
    CU_ASSERT_STRING_EQUAL(st.tensors[0].name, "a"); /* sorted by name */
    CU_ASSERT_EQUAL(oct__st_find(&st, "b")->data[0], 4);
    CU_ASSERT_STRING_EQUAL(oct__st_meta(&st, "k"), "v");
    oct__st_release(&st);
    EXPECT(st_parse_json("{}", 0, &st), OCT_OK, "empty object");
    CU_ASSERT_EQUAL(st.count, 0);
    oct__st_release(&st);
    EXPECT(st_parse_json("{\"__metadata__\":{}}", 3, &st), OCT_OK, "only metadata");
    oct__st_release(&st);
}

static void test_st_conversions(void)
{
    /* F16 at offset 1 and F32 at offset 25: unaligned reads. */
    static const uint16_t f16[12] = {0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001,
                                     0x03ff, 0x0400, 0x7c00, 0xfc00, 0x3555, 0x7e00};
    static const float f16_want[11] = {0.0f, -0.0f, 1.0f, -2.0f, 65504.0f, 5.9604644775390625e-8f,
                                       6.0975551605224609375e-5f, 6.103515625e-5f, INFINITY,
                                       -INFINITY, 0.333251953125f};
    static const uint16_t bf16[4] = {0x3f80, 0xc040, 0x7f80, 0x0001};
    static const float bf16_want[4] = {1.0f, -3.0f, INFINITY, 9.18354961579912e-41f}; /* 2^-133 */
    static const double f64[6] = {1.5, -0.1, 1e300, 1.401298464324817e-45, 3.0000002384185791,
                                  -1e-300};
    const float f64_want[6] = {1.5f, -0.1f, INFINITY, 1e-45f, 3.0000002384185791f, -0.0f};
    uint8_t data[1 + 24 + 12 + 48 + 8];
    size_t len, o = 0;
    uint8_t *b;
    oct__st st;
    float out[12];
    const float f32[3] = {1.25f, -7e-39f, 3.4028235e38f};

    data[o++] = 0xaa;
    for (int i = 0; i < 12; i++, o += 2) {
        data[o] = (uint8_t)f16[i];
        data[o + 1] = (uint8_t)(f16[i] >> 8);
    }
    for (int i = 0; i < 3; i++, o += 4) {
        uint32_t u;
        memcpy(&u, &f32[i], 4);
        for (int k = 0; k < 4; k++) data[o + k] = (uint8_t)(u >> (8 * k));
    }
    for (int i = 0; i < 6; i++, o += 8) {
        uint64_t u;
        memcpy(&u, &f64[i], 8);
        for (int k = 0; k < 8; k++) data[o + k] = (uint8_t)(u >> (8 * k));
    }
    for (int i = 0; i < 4; i++, o += 2) {
        data[o] = (uint8_t)bf16[i];
        data[o + 1] = (uint8_t)(bf16[i] >> 8);
    }
    CU_ASSERT_EQUAL_FATAL(o, 93);

    {
        const char *ok =
            "{\"pad\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
            "\"h\":{\"dtype\":\"F16\",\"shape\":[3,4],\"data_offsets\":[1,25]},"
            "\"f\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[25,37]},"
            "\"d\":{\"dtype\":\"F64\",\"shape\":[6],\"data_offsets\":[37,85]},"
            "\"bf\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[85,93]}}";
        b = st_image(ok, data, 93, &len);
        EXPECT(oct__st_parse(b, len, "conv.safetensors", &st), OCT_OK, "conversions");
        free(b); /* the parse copied the bytes */
        CU_ASSERT_EQUAL_FATAL(st.count, 5);
        EXPECT(oct__st_to_f32(&st, oct__st_find(&st, "h"), out), OCT_OK, "F16");
        for (int i = 0; i < 11; i++) CU_ASSERT(same_bits(out[i], f16_want[i]));
        CU_ASSERT(isnan(out[11]));
        EXPECT(oct__st_to_f32(&st, oct__st_find(&st, "f"), out), OCT_OK, "F32");
        for (int i = 0; i < 3; i++) CU_ASSERT(same_bits(out[i], f32[i]));
        EXPECT(oct__st_to_f32(&st, oct__st_find(&st, "d"), out), OCT_OK, "F64");
        for (int i = 0; i < 6; i++) CU_ASSERT(same_bits(out[i], f64_want[i]));
        EXPECT(oct__st_to_f32(&st, oct__st_find(&st, "bf"), out), OCT_OK, "BF16");
        for (int i = 0; i < 4; i++) CU_ASSERT(same_bits(out[i], bf16_want[i]));
        EXPECT(oct__st_to_f32(&st, oct__st_find(&st, "pad"), out), OCT_ERR_FORMAT, "U8");
        EXPECT_MSG("'pad'");
        EXPECT_MSG("U8");
        EXPECT(oct__st_to_f32(&st, NULL, out), OCT_ERR_NULL_ARG, "NULL tensor");
        EXPECT(oct__st_to_f32(&st, oct__st_find(&st, "f"), NULL), OCT_ERR_NULL_ARG, "NULL dst");
        oct__st_release(&st);
    }
    /* I64 cannot be converted. */
    b = st_image("{\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", NULL, 8, &len);
    EXPECT(oct__st_parse(b, len, "int.safetensors", &st), OCT_OK, "I64 parse");
    free(b);
    EXPECT(oct__st_to_f32(&st, oct__st_find(&st, "i"), out), OCT_ERR_FORMAT, "I64 convert");
    EXPECT_MSG("int.safetensors: tensor 'i'");
    EXPECT_MSG("I64");
    oct__st_release(&st);
}

/* Every half-precision value against a direct evaluation of the definition. */
static void test_st_f16_exhaustive(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int sign = h >> 15, e = (int)(h >> 10) & 31, m = (int)(h & 1023);
        float got = oct__f16_to_f32((uint16_t)h), want;
        if (e == 31) {
            if (m) {
                if (!isnan(got) || !!signbit(got) != sign) bad++;
                continue;
            }
            want = sign ? -INFINITY : INFINITY;
        } else {
            double v = e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
            want = (float)(sign ? -v : v);
        }
        if (!same_bits(got, want)) bad++;
        {
            float b = oct__bf16_to_f32((uint16_t)h);
            uint32_t u;
            memcpy(&u, &b, sizeof u);
            if (u != h << 16) bad++; /* bfloat16 is the top half of a float */
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(same_bits(oct__bf16_to_f32(0x4049), 3.140625f));
}

static void test_st_malformed_json(void)
{
    static const struct {
        const char *what;
        const char *json;
        size_t data_len;
        const char *needle;
    } cases[] = {
        {"bad JSON", "{\"a\":", 0, "JSON"},
        {"bad JSON 2", "{\"a\":{\"dtype\":\"F32\",}}", 0, "JSON"},
        {"empty header", "", 0, "JSON"},
        {"non-object array", "[1,2]", 0, "not an object"},
        {"non-object string", "\"x\"", 0, "not an object"},
        {"non-object number", "42", 0, "not an object"},
        {"text after JSON", "{} x", 0, "after"},
        {"two objects", "{}{}", 0, "after"},
        {"not UTF-8", "{\"\xff\":{}}", 0, "UTF-8"},
        {"overlong UTF-8", "{\"\xc0\xaf\":{}}", 0, "UTF-8"},
        {"entry not object", "{\"a\":5}", 0, "'a' is not a JSON object"},
        {"missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype"},
        {"missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "shape"},
        {"missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "data_offsets"},
        {"unknown dtype", "{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", 16,
         "unknown dtype 'F128'"},
        {"lowercase dtype", "{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "unknown dtype"},
        {"dtype not string", "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype"},
        {"offsets past end",
         "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[1250],\"data_offsets\":[0,5000]}}", 4000,
         "tensor 'fc.weight' data_offsets [0, 5000] past the end of the data (4000 bytes)"},
        {"offsets past end 2", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[3,5]}}", 4,
         "past the end"},
        {"end before begin", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,2]}}", 8,
         "end before begin"},
        {"overlap",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         12, "overlap"},
        {"overlap contained",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[5,6]}}",
         16, "overlap"},
        {"same range",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         4, "overlap"},
        {"size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24,
         "need 24 bytes"},
        {"size mismatch dtype", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
         "need 4 bytes"},
        {"shape overflow",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
         "\"data_offsets\":[0,4]}}",
         4, "overflow"},
        {"shape * size overflow",
         "{\"a\":{\"dtype\":\"F64\",\"shape\":[2147483648,2147483648],\"data_offsets\":[0,4]}}", 4,
         "overflow"},
        {"negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
         "shape[0]"},
        {"fractional dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1.5],\"data_offsets\":[0,4]}}", 4,
         "shape[1]"},
        {"string dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4,
         "shape[0]"},
        {"huge dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4,
         "shape[0]"},
        {"dim past 2^53",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[0,18014398509481984],\"data_offsets\":[0,0]}}", 4,
         "shape[1]"},
        {"shape not array", "{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", 4,
         "not an array"},
        {"rank 9", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
         "rank"},
        {"offsets one", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1, "pair"},
        {"offsets three", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 1,
         "pair"},
        {"offsets strings", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[\"0\",\"1\"]}}", 1,
         "pair"},
        {"offsets negative", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[-1,-1]}}", 1,
         "pair"},
        {"offsets object", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":{\"0\":1}}}", 1,
         "pair"},
        {"duplicate tensor",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
         "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
         2, "duplicate tensor name 'a'"},
        {"duplicate field",
         "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
         "duplicate 'dtype'"},
        {"duplicate metadata",
         "{\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":{\"b\":\"2\"}}", 0,
         "duplicate key '__metadata__'"},
        {"metadata not object", "{\"__metadata__\":[\"a\"]}", 0, "__metadata__ is not an object"},
        {"metadata number", "{\"__metadata__\":{\"alpha\":0.5}}", 0, "'alpha' is not a string"},
        {"metadata null", "{\"__metadata__\":{\"alpha\":null}}", 0, "not a string"},
        {"metadata nested", "{\"__metadata__\":{\"alpha\":{\"x\":\"y\"}}}", 0, "not a string"},
        {"metadata duplicate key", "{\"__metadata__\":{\"k\":\"1\",\"j\":\"0\",\"k\":\"2\"}}", 0,
         "duplicate __metadata__ key 'k'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        oct__st st;
        memset(&st, 0x55, sizeof st);
        EXPECT(st_parse_json(cases[i].json, cases[i].data_len, &st), OCT_ERR_FORMAT, cases[i].what);
        EXPECT_MSG("model.safetensors: ");
        EXPECT_MSG(cases[i].needle);
        CU_ASSERT_PTR_NULL(st.file); /* zeroed on failure */
        CU_ASSERT_PTR_NULL(st.tensors);
        CU_ASSERT_EQUAL(st.count, 0);
        oct__st_release(&st);
    }
}

static void test_st_malformed_bytes(void)
{
    oct__st st;
    size_t len;
    uint8_t *b = st_image("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", NULL, 8,
                          &len);
    uint8_t nul[16] = {6, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, ' ', ' ', ' '};

    EXPECT(oct__st_parse(b, len, "t.safetensors", &st), OCT_OK, "baseline");
    oct__st_release(&st);
    /* Truncated: inside the length, inside the header, inside the data. */
    EXPECT(oct__st_parse(b, 0, "t.safetensors", &st), OCT_ERR_FORMAT, "empty");
    EXPECT(oct__st_parse(b, 5, "t.safetensors", &st), OCT_ERR_FORMAT, "5 bytes");
    EXPECT_MSG("too short");
    EXPECT(oct__st_parse(b, 20, "t.safetensors", &st), OCT_ERR_FORMAT, "cut header");
    EXPECT_MSG("past the end of the file");
    EXPECT(oct__st_parse(b, len - 1, "t.safetensors", &st), OCT_ERR_FORMAT, "cut data");
    EXPECT_MSG("past the end of the data");
    /* Header length one past the end, and 2^63, and 2^64 - 1. */
    b[0] = (uint8_t)(len - 8 + 1);
    EXPECT(oct__st_parse(b, len, "t.safetensors", &st), OCT_ERR_FORMAT, "length past end");
    memset(b, 0, 8);
    b[7] = 0x80;
    EXPECT(oct__st_parse(b, len, "t.safetensors", &st), OCT_ERR_FORMAT, "length 2^63");
    EXPECT_MSG("9223372036854775808");
    memset(b, 0xff, 8);
    EXPECT(oct__st_parse(b, len, "t.safetensors", &st), OCT_ERR_FORMAT, "length 2^64-1");
    free(b);
    /* A NUL byte inside the header. */
    EXPECT(oct__st_parse(nul, 14, "nul.safetensors", &st), OCT_ERR_FORMAT, "NUL");
    EXPECT_MSG("UTF-8");
    EXPECT(oct__st_parse(NULL, 8, "x", &st), OCT_ERR_NULL_ARG, "NULL bytes");
    EXPECT(oct__st_parse(nul, 14, "x", NULL), OCT_ERR_NULL_ARG, "NULL out");

    /* Through files. */
    b = st_image("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", NULL, 4, &len);
    CU_ASSERT_FATAL(write_bytes(tpath("short.safetensors"), b, len));
    free(b);
    EXPECT(oct__st_load(tpath("short.safetensors"), &st), OCT_ERR_FORMAT, "file past end");
    EXPECT_MSG("short.safetensors: tensor 'a' data_offsets [0, 8] past the end of the data (4 bytes)");
    CU_ASSERT_FATAL(write_bytes(tpath("tiny.safetensors"), "\x02\0\0", 3));
    EXPECT(oct__st_load(tpath("tiny.safetensors"), &st), OCT_ERR_FORMAT, "file truncated");
    EXPECT(oct__st_load(tpath("missing.safetensors"), &st), OCT_ERR_IO, "missing");
    EXPECT_MSG("missing.safetensors");
    EXPECT(oct__st_load(NULL, &st), OCT_ERR_NULL_ARG, "NULL path");
}

static void test_st_save_args(void)
{
    const char *dup[2] = {"w", "w"};
    const char *reserved[1] = {"__metadata__"};
    const char *bad_utf8[1] = {"\xff"};
    const char *one[1] = {"w"};
    const int nd1[2] = {1, 1};
    const int nd9[1] = {9};
    const int64_t shapes[2][OCT_MAX_DIMS] = {{2}, {2}};
    const int64_t neg[1][OCT_MAX_DIMS] = {{-2}};
    const float x[2] = {1, 2};
    const float *data[2] = {x, x};
    const float *nodata[1] = {NULL};
    const char *mk[2] = {"k", "k"};
    const char *mv[2] = {"1", "2"};
    const char *p = tpath("bad.safetensors");

    EXPECT(oct__st_save(p, 2, dup, nd1, shapes, data, 0, NULL, NULL), OCT_ERR_FORMAT, "dup names");
    EXPECT(oct__st_save(p, 1, reserved, nd1, shapes, data, 0, NULL, NULL), OCT_ERR_FORMAT,
           "reserved name");
    EXPECT(oct__st_save(p, 1, bad_utf8, nd1, shapes, data, 0, NULL, NULL), OCT_ERR_FORMAT,
           "non-UTF-8 name");
    EXPECT(oct__st_save(p, 1, one, nd9, shapes, data, 0, NULL, NULL), OCT_ERR_BAD_SIZE, "rank 9");
    EXPECT(oct__st_save(p, 1, one, nd1, neg, data, 0, NULL, NULL), OCT_ERR_BAD_SIZE, "negative");
    EXPECT(oct__st_save(p, 1, one, nd1, shapes, nodata, 0, NULL, NULL), OCT_ERR_NULL_ARG, "no data");
    EXPECT(oct__st_save(p, 1, one, nd1, shapes, data, 2, mk, mv), OCT_ERR_FORMAT, "dup meta");
    EXPECT(oct__st_save(p, -1, one, nd1, shapes, data, 0, NULL, NULL), OCT_ERR_BAD_SIZE, "count -1");
    EXPECT(oct__st_save(p, 1, NULL, nd1, shapes, data, 0, NULL, NULL), OCT_ERR_NULL_ARG, "NULL names");
    EXPECT(oct__st_save(NULL, 1, one, nd1, shapes, data, 0, NULL, NULL), OCT_ERR_NULL_ARG, "NULL path");
    EXPECT(oct__st_save(tpath("no/dir.safetensors"), 1, one, nd1, shapes, data, 0, NULL, NULL),
           OCT_ERR_IO, "bad dir");
    CU_ASSERT_EQUAL(access(p, F_OK), -1);
}

/* ------------------------------------------------------------------------------------ */
/* Streaming: row-range readers and the incremental .npy writer                          */

static void test_npy_reader(void)
{
    const int64_t shape[4] = {7, 3, 2, 5};
    const size_t row = 30, n = 7 * row;
    uint64_t seed = 15;
    float x[7 * 30], got[7 * 30 + 1], sentinel;
    int64_t sh[OCT_MAX_DIMS];
    oct_npy_reader *r = NULL;
    for (size_t i = 0; i < n; i++) x[i] = lcg_float(&seed);
    EXPECT(oct_npy_save(tpath("r.npy"), x, 4, shape), OCT_OK, "save");
    EXPECT(oct_npy_reader_open(tpath("r.npy"), &r), OCT_OK, "open");
    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_EQUAL(oct_npy_reader_shape(r, sh), 4);
    CU_ASSERT(sh[0] == 7 && sh[1] == 3 && sh[2] == 2 && sh[3] == 5 && sh[4] == 0);
    /* Every range, in any order, gives exactly those rows. */
    for (int a = 0; a <= 7; a++)
        for (int b = a; b <= 7; b++) {
            memset(got, 0x7f, sizeof got);
            EXPECT(oct_npy_reader_read(r, 7 - b, b - a, got), OCT_OK, "range");
            int same = 1;
            for (size_t i = 0; i < (size_t)(b - a) * row; i++) same &= same_bits(got[i], x[(size_t)(7 - b) * row + i]);
            CU_ASSERT(same);
            memset(&sentinel, 0x7f, sizeof sentinel);
            CU_ASSERT(same_bits(got[(size_t)(b - a) * row], sentinel)); /* nothing past the range written */
        }
    EXPECT(oct_npy_reader_read(r, 6, 2, got), OCT_ERR_BAD_SIZE, "past the end");
    EXPECT_MSG("rows [6, 8)");
    EXPECT(oct_npy_reader_read(r, -1, 1, got), OCT_ERR_BAD_SIZE, "negative");
    EXPECT(oct_npy_reader_read(r, 0, 1, NULL), OCT_ERR_NULL_ARG, "NULL dst");
    /* The file shrinks while open: an error, never a short read. */
    CU_ASSERT_FATAL(truncate(tpath("r.npy"), 128 + 4 * 100) == 0);
    EXPECT(oct_npy_reader_read(r, 3, 2, got), OCT_ERR_IO, "shrunk");
    EXPECT_MSG("r.npy");
    oct_npy_reader_close(r);
    oct_npy_reader_close(NULL);
    /* Checked at open as the loader checks: truncated, trailing, bad dtype, rank 0. */
    EXPECT(oct_npy_reader_open(tpath("r.npy"), &r), OCT_ERR_FORMAT, "truncated");
    EXPECT_MSG("truncated");
    CU_ASSERT_PTR_NULL(r);
    size_t len;
    uint8_t *b = npy_image(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, &len);
    CU_ASSERT_FATAL(write_bytes(tpath("v2.npy"), b, len));
    EXPECT(oct_npy_reader_open(tpath("v2.npy"), &r), OCT_ERR_FORMAT, "trailing");
    EXPECT_MSG("trailing bytes");
    free(b);
    b = npy_image(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, &len);
    CU_ASSERT_FATAL(write_bytes(tpath("v3.npy"), b, len));
    EXPECT(oct_npy_reader_open(tpath("v3.npy"), &r), OCT_OK, "version 3");
    EXPECT(oct_npy_reader_read(r, 1, 1, got), OCT_OK, "version 3 row");
    CU_ASSERT(got[0] > 0.74f && got[0] < 0.75f); /* 0x3f3f3f3f */
    oct_npy_reader_close(r);
    free(b);
    b = npy_image(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16, &len);
    CU_ASSERT_FATAL(write_bytes(tpath("f8.npy"), b, len));
    EXPECT(oct_npy_reader_open(tpath("f8.npy"), &r), OCT_ERR_FORMAT, "f8");
    EXPECT_MSG("'<f8'");
    free(b);
    b = npy_image(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, &len);
    CU_ASSERT_FATAL(write_bytes(tpath("r0.npy"), b, len));
    EXPECT(oct_npy_reader_open(tpath("r0.npy"), &r), OCT_ERR_FORMAT, "rank 0");
    free(b);
    CU_ASSERT_FATAL(write_bytes(tpath("tiny.npy"), "\x93NUMPY", 6));
    EXPECT(oct_npy_reader_open(tpath("tiny.npy"), &r), OCT_ERR_FORMAT, "6 bytes");
    EXPECT(oct_npy_reader_open(tpath("missing.npy"), &r), OCT_ERR_IO, "missing");
    EXPECT(oct_npy_reader_open(g_dir, &r), OCT_ERR_IO, "a directory");
    EXPECT(oct_npy_reader_open(NULL, &r), OCT_ERR_NULL_ARG, "NULL path");
}

static void test_npy_writer(void)
{
    const int64_t shape[2] = {5, 3};
    float x[15];
    uint64_t seed = 7;
    oct_npy_writer *w = NULL;
    for (int i = 0; i < 15; i++) x[i] = lcg_float(&seed);
    EXPECT(oct_npy_save(tpath("whole.npy"), x, 2, shape), OCT_OK, "save");
    /* In pieces of 4, 0, 7 and 4 elements: the same bytes as oct_npy_save. */
    EXPECT(oct_npy_writer_open(tpath("parts.npy"), 2, shape, &w), OCT_OK, "open");
    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_EQUAL(access(tpath("parts.npy"), F_OK), -1); /* a temporary until commit */
    EXPECT(oct_npy_writer_write(w, x, 4), OCT_OK, "4");
    EXPECT(oct_npy_writer_write(w, NULL, 0), OCT_OK, "0");
    EXPECT(oct_npy_writer_write(w, x + 4, 7), OCT_OK, "7");
    EXPECT(oct_npy_writer_write(w, x + 11, 5), OCT_ERR_BAD_SIZE, "past the shape");
    EXPECT(oct_npy_writer_write(w, x + 11, 4), OCT_OK, "4 more");
    EXPECT(oct_npy_writer_commit(w), OCT_OK, "commit");
    size_t l1, l2;
    uint8_t *a = read_bytes(tpath("whole.npy"), &l1), *b = read_bytes(tpath("parts.npy"), &l2);
    CU_ASSERT_FATAL(a && b);
    CU_ASSERT(l1 == l2 && memcmp(a, b, l1) == 0);
    free(a);
    free(b);
    /* Too few elements, or an abort: the existing file is untouched, no temporary left. */
    CU_ASSERT_FATAL(write_bytes(tpath("keep.npy"), "keep", 4));
    EXPECT(oct_npy_writer_open(tpath("keep.npy"), 2, shape, &w), OCT_OK, "open keep");
    EXPECT(oct_npy_writer_write(w, x, 14), OCT_OK, "14");
    EXPECT(oct_npy_writer_commit(w), OCT_ERR_BAD_SIZE, "one short");
    EXPECT_MSG("14 elements written");
    EXPECT(oct_npy_writer_open(tpath("keep.npy"), 2, shape, &w), OCT_OK, "open keep again");
    EXPECT(oct_npy_writer_write(w, x, 15), OCT_OK, "15");
    oct_npy_writer_abort(w);
    oct_npy_writer_abort(NULL);
    a = read_bytes(tpath("keep.npy"), &l1);
    CU_ASSERT(a && l1 == 4 && memcmp(a, "keep", 4) == 0);
    free(a);
    DIR *d = opendir(g_dir);
    int temporaries = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) temporaries += strstr(e->d_name, ".tmp") != NULL;
    if (d) closedir(d);
    CU_ASSERT_EQUAL(temporaries, 0);
    const int64_t bad[2] = {-1, 3};
    EXPECT(oct_npy_writer_open(tpath("bad.npy"), 2, bad, &w), OCT_ERR_BAD_SIZE, "negative dim");
    EXPECT(oct_npy_writer_open(tpath("bad.npy"), 9, shape, &w), OCT_ERR_BAD_SIZE, "rank 9");
    EXPECT(oct_npy_writer_open(tpath("no/such/dir.npy"), 2, shape, &w), OCT_ERR_IO, "bad dir");
    CU_ASSERT_PTR_NULL(w);
}

static void test_idx_reader(void)
{
    const uint32_t dims[3] = {5, 3, 4};
    size_t len;
    uint8_t *b = idx_image(0x08, 3, dims, 60, &len), got[64];
    const char *files[2] = {tpath("s.idx"), tpath("s.idx.gz")};
    CU_ASSERT_FATAL(write_bytes(files[0], b, len));
    CU_ASSERT_FATAL(write_gz(files[1], b, len));
    for (int f = 0; f < 2; f++) {
        oct_idx_reader *r = NULL;
        int64_t sh[4];
        EXPECT(oct_idx_reader_open(files[f], &r), OCT_OK, files[f]);
        CU_ASSERT_FATAL(r != NULL);
        CU_ASSERT_EQUAL(oct_idx_reader_shape(r, sh), 3);
        CU_ASSERT(sh[0] == 5 && sh[1] == 3 && sh[2] == 4 && sh[3] == 0);
        /* Forward, backward (a gzip stream restarts), to the end. */
        static const int ranges[][2] = {{1, 2}, {3, 1}, {0, 2}, {2, 3}, {0, 5}, {4, 1}};
        for (size_t k = 0; k < sizeof ranges / sizeof ranges[0]; k++) {
            memset(got, 0xee, sizeof got);
            EXPECT(oct_idx_reader_read(r, ranges[k][0], ranges[k][1], got), OCT_OK, "range");
            CU_ASSERT_EQUAL(memcmp(got, b + 16 + 12 * ranges[k][0], 12 * (size_t)ranges[k][1]), 0);
        }
        EXPECT(oct_idx_reader_read(r, 4, 2, got), OCT_ERR_BAD_SIZE, "past the end");
        oct_idx_reader_close(r);
    }
    oct_idx_reader_close(NULL);
    /* Trailing bytes: a plain file is refused at open; a gzip'd one when its last row is
     * read (its size is unknown before). Truncated: when the missing rows are read. */
    oct_idx_reader *r = NULL;
    CU_ASSERT_FATAL(write_bytes(tpath("long.idx"), b, len + 1));
    EXPECT(oct_idx_reader_open(tpath("long.idx"), &r), OCT_ERR_FORMAT, "plain, trailing");
    EXPECT_MSG("trailing bytes");
    CU_ASSERT_FATAL(write_gz(tpath("long.idx.gz"), b, len + 1));
    EXPECT(oct_idx_reader_open(tpath("long.idx.gz"), &r), OCT_OK, "gzip, trailing");
    EXPECT(oct_idx_reader_read(r, 0, 4, got), OCT_OK, "gzip, trailing, first rows");
    EXPECT(oct_idx_reader_read(r, 4, 1, got), OCT_ERR_FORMAT, "gzip, trailing, last row");
    EXPECT_MSG("trailing bytes");
    oct_idx_reader_close(r);
    CU_ASSERT_FATAL(write_gz(tpath("short.idx.gz"), b, len - 13));
    EXPECT(oct_idx_reader_open(tpath("short.idx.gz"), &r), OCT_OK, "gzip, truncated");
    EXPECT(oct_idx_reader_read(r, 0, 3, got), OCT_OK, "gzip, truncated, first rows");
    EXPECT(oct_idx_reader_read(r, 3, 2, got), OCT_ERR_FORMAT, "gzip, truncated, last rows");
    EXPECT_MSG("truncated");
    oct_idx_reader_close(r);
    CU_ASSERT_FATAL(write_bytes(tpath("short.idx"), b, len - 1));
    EXPECT(oct_idx_reader_open(tpath("short.idx"), &r), OCT_ERR_FORMAT, "plain, truncated");
    b[2] = 0x0d;
    CU_ASSERT_FATAL(write_gz(tpath("float.idx.gz"), b, len));
    EXPECT(oct_idx_reader_open(tpath("float.idx.gz"), &r), OCT_ERR_FORMAT, "float IDX");
    EXPECT_MSG("not unsigned byte");
    CU_ASSERT_PTR_NULL(r);
    EXPECT(oct_idx_reader_open(tpath("missing.idx"), &r), OCT_ERR_IO, "missing");
    free(b);
}

/* ------------------------------------------------------------------------------------ */

int main(void)
{
    CU_pSuite s;
    unsigned failures, suites_failed;

    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    s = CU_add_suite("npy", suite_init, suite_clean);
    if (!s || !CU_add_test(s, "save/load round trip", test_npy_roundtrip) ||
        !CU_add_test(s, "versions and dict spellings", test_npy_variants) ||
        !CU_add_test(s, "malformed header dicts and lengths", test_npy_malformed) ||
        !CU_add_test(s, "bad magic, versions, files, arguments", test_npy_bytes_and_files))
        goto fail;
    s = CU_add_suite("idx", suite_init, suite_clean);
    if (!s || !CU_add_test(s, "plain and gzip round trip", test_idx_roundtrip) ||
        !CU_add_test(s, "Fashion-MNIST t10k", test_idx_fashion_mnist) ||
        !CU_add_test(s, "malformed, plain and gzip", test_idx_malformed) ||
        !CU_add_test(s, "bad gzip streams and files", test_idx_bad_gzip))
        goto fail;
    s = CU_add_suite("streaming", suite_init, suite_clean);
    if (!s || !CU_add_test(s, ".npy row-range reader", test_npy_reader) ||
        !CU_add_test(s, ".npy incremental writer", test_npy_writer) ||
        !CU_add_test(s, "IDX row-range reader, plain and gzip", test_idx_reader))
        goto fail;
    s = CU_add_suite("safetensors", suite_init, suite_clean);
    if (!s || !CU_add_test(s, "save/load round trip with metadata", test_st_roundtrip) ||
        !CU_add_test(s, "valid edge cases", test_st_valid_edges) ||
        !CU_add_test(s, "F16 / BF16 / F64 / F32 conversion", test_st_conversions) ||
        !CU_add_test(s, "F16 exhaustive", test_st_f16_exhaustive) ||
        !CU_add_test(s, "malformed header JSON", test_st_malformed_json) ||
        !CU_add_test(s, "malformed lengths and files", test_st_malformed_bytes) ||
        !CU_add_test(s, "writer argument checks", test_st_save_args))
        goto fail;

    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures();
    suites_failed = CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failures == 0 && suites_failed == 0 ? 0 : 1;
fail:
    CU_cleanup_registry();
    return 1;
}
