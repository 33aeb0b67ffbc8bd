/* test_cache.c — the on-disk OpenCL program-binary cache (host/program_cache.c): a cold
 * start writes one file, a warm start builds from it, a corrupted file (bytes flipped,
 * truncated to 10 bytes, a garbage binary the device rejects) falls back to compiling,
 * gives correct results and is rewritten, OCTCL_CACHE_DIR=off writes nothing, and
 * XDG_CACHE_HOME / HOME are honoured.
 * Every case runs in its own temporary folder. Exit 77 when there is no OpenCL device.
 */
#include "backend_cl.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static oct_context *g_ref;
static char g_root[256]; /* a temporary folder holding every case's folder */

/* ------------------------------------------------------------------------------------ */
/* Helpers                                                                                */

/* A new empty folder under g_root (into dir). */
static int make_dir(char *dir, size_t len, const char *name)
{
    snprintf(dir, len, "%s/%s", g_root, name);
    return mkdir(dir, 0700) == 0;
}

/* Files in dir (recursively) and the path of the last one found. */
static int count_files(const char *dir, char *last, size_t len)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            n += count_files(path, last, len);
        } else {
            n++;
            if (last) snprintf(last, len, "%s", path);
        }
    }
    closedir(d);
    return n;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Create an OpenCL context; *hit = oct__cl_cache_hit, *ms = creation time. */
static oct_context *make_ctx(int *hit, double *ms)
{
    oct_context *ctx = NULL;
    double t0 = oct__now_ms();
    oct_status s = oct_context_create("opencl", &ctx);
    if (ms) *ms = oct__now_ms() - t0;
    if (s != OCT_OK) printf("\n    oct_context_create(opencl): %s", oct_last_error());
    *hit = ctx ? oct__cl_cache_hit(ctx) : -2;
    return ctx;
}

/* One OctConv layer (alpha 0: a single 3x3 convolution with bias, large enough for the
 * GEMM path) on ctx and on the reference; 0 mismatches expected. */
static size_t conv_mismatches(oct_context *ctx)
{
    oct_octconv_params p = oct_octconv_defaults(16, 24);
    p.alpha_in = p.alpha_out = 0;
    p.bias = 1;
    oct_shape xs = oct_shape_plain(2, 16, 12, 12), ys;
    rng_t r = {77};
    size_t nw = 24 * 16 * 9, nx = oct_shape_high_count(&xs);
    float *w = rng_array(&r, nw, -0.5f, 0.5f), *b = rng_array(&r, 24, -1, 1), *x = rng_array(&r, nx, -2, 2);
    float *out[2] = {NULL, NULL};
    oct_context *ctxs[2] = {g_ref, ctx};
    size_t bad = (size_t)-1, ny = 0;
    for (int i = 0; i < 2; i++) {
        oct_octconv *l = NULL;
        oct_tensor *tx = NULL, *ty = NULL;
        oct_status s = oct_octconv_create(ctxs[i], &p, &l);
        if (s == OCT_OK) s = oct_octconv_set_path(l, OCT_PATH_HH, w, nw, b, 24);
        if (s == OCT_OK) s = oct_octconv_output_shape(l, &xs, &ys);
        if (s == OCT_OK) s = oct_tensor_create(ctxs[i], &xs, &tx);
        if (s == OCT_OK) s = oct_tensor_create(ctxs[i], &ys, &ty);
        if (s == OCT_OK) s = oct_tensor_write(tx, x, NULL);
        if (s == OCT_OK) s = oct_octconv_forward(l, tx, ty);
        ny = oct_shape_high_count(&ys);
        if (s == OCT_OK && (out[i] = malloc(ny * sizeof(float)))) s = oct_tensor_read(ty, out[i], NULL);
        if (s != OCT_OK) printf("\n    conv on %s: %s", i ? "opencl" : "ref", oct_last_error());
        oct_tensor_free(ty);
        oct_tensor_free(tx);
        oct_octconv_free(l);
    }
    if (out[0] && out[1]) bad = compare_floats("conv after cache fallback", out[0], out[1], ny, TOL_ABS, TOL_REL);
    free(out[0]), free(out[1]), free(w), free(b), free(x);
    return bad;
}

/* ------------------------------------------------------------------------------------ */
/* Tests                                                                                  */

static void test_cold_then_warm(void)
{
    char dir[512], file[1024] = "";
    int hit;
    double cold_ms, warm_ms;
    CU_ASSERT_FATAL(make_dir(dir, sizeof dir, "warm"));
    setenv("OCTCL_CACHE_DIR", dir, 1);
    CU_ASSERT_EQUAL(count_files(dir, NULL, 0), 0);

    oct_context *ctx = make_ctx(&hit, &cold_ms);
    CU_ASSERT_PTR_NOT_NULL(ctx);
    CU_ASSERT_EQUAL(hit, 0);
    oct_context_free(ctx);
    CU_ASSERT_EQUAL(count_files(dir, file, sizeof file), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(file, ".bin"));
    CU_ASSERT(file_size(file) > 32);

    ctx = make_ctx(&hit, &warm_ms);
    CU_ASSERT_PTR_NOT_NULL(ctx);
    CU_ASSERT_EQUAL(hit, 1);
    CU_ASSERT_EQUAL(conv_mismatches(ctx), 0);
    oct_context_free(ctx);
    CU_ASSERT_EQUAL(count_files(dir, NULL, 0), 1); /* nothing new, no temp files left */
    printf("\n    context creation: %.1f ms compiling, %.1f ms from the cache", cold_ms, warm_ms);
}

/* Corrupt the cache file with `damage`, then: a miss, correct results, the file
 * rewritten (the next context hits again). */
static void check_corruption(const char *name, void (*damage)(const char *path))
{
    char dir[512], file[1024] = "";
    int hit;
    CU_ASSERT_FATAL(make_dir(dir, sizeof dir, name));
    setenv("OCTCL_CACHE_DIR", dir, 1);
    oct_context *ctx = make_ctx(&hit, NULL);
    oct_context_free(ctx);
    CU_ASSERT_EQUAL_FATAL(count_files(dir, file, sizeof file), 1);
    long good = file_size(file);

    damage(file);
    ctx = make_ctx(&hit, NULL);
    CU_ASSERT_PTR_NOT_NULL(ctx);
    CU_ASSERT_EQUAL(hit, 0);
    if (ctx) CU_ASSERT_EQUAL(conv_mismatches(ctx), 0);
    oct_context_free(ctx);
    CU_ASSERT_EQUAL(count_files(dir, NULL, 0), 1);
    CU_ASSERT_EQUAL(file_size(file), good);

    ctx = make_ctx(&hit, NULL);
    CU_ASSERT_EQUAL(hit, 1);
    oct_context_free(ctx);
}

/* Flip bytes in the key text, in the middle and at the end (the binary). */
static void flip_bytes(const char *path)
{
    FILE *f = fopen(path, "r+b");
    if (!f) return;
    long size = file_size(path), at[3] = {40, size / 2, size - 3};
    for (int i = 0; i < 3; i++) {
        int c;
        if (fseek(f, at[i], SEEK_SET) != 0 || (c = fgetc(f)) == EOF) break;
        fseek(f, at[i], SEEK_SET);
        fputc(c ^ 0x5a, f);
    }
    fclose(f);
}

static void truncate_10(const char *path) { CU_ASSERT_EQUAL(truncate(path, 10), 0); }

/* A binary the device must reject, behind an intact header, key and checksum: the
 * binary's bytes replaced by garbage and its FNV-1a 64 recomputed, so the file gets as
 * far as clCreateProgramWithBinary / clBuildProgram. */
static void garbage_binary(const char *path)
{
    long size = file_size(path);
    FILE *f = fopen(path, "r+b");
    if (!f || size < 32) {
        if (f) fclose(f);
        return;
    }
    unsigned char head[32];
    uint64_t key_len, bin_len, h = 0xcbf29ce484222325ULL;
    if (fread(head, 1, 32, f) == 32) {
        memcpy(&key_len, head + 8, 8);
        memcpy(&bin_len, head + 16, 8);
        rng_t r = {5};
        fseek(f, 32 + (long)key_len, SEEK_SET);
        for (uint64_t i = 0; i < bin_len; i++) {
            unsigned char c = (unsigned char)rng_next(&r);
            fputc(c, f);
            h = (h ^ c) * 0x100000001b3ULL;
        }
        fseek(f, 24, SEEK_SET);
        fwrite(&h, 8, 1, f);
    }
    fclose(f);
}

static void test_flipped(void) { check_corruption("flipped", flip_bytes); }
static void test_truncated(void) { check_corruption("truncated", truncate_10); }
static void test_garbage(void) { check_corruption("garbage", garbage_binary); }

static void test_off(void)
{
    char dir[512], home[512];
    int hit;
    CU_ASSERT_FATAL(make_dir(dir, sizeof dir, "off-xdg"));
    CU_ASSERT_FATAL(make_dir(home, sizeof home, "off-home"));
    setenv("OCTCL_CACHE_DIR", "off", 1);
    setenv("XDG_CACHE_HOME", dir, 1);
    setenv("HOME", home, 1);
    oct_context *ctx = make_ctx(&hit, NULL);
    CU_ASSERT_PTR_NOT_NULL(ctx);
    CU_ASSERT_EQUAL(hit, 0);
    if (ctx) CU_ASSERT_EQUAL(conv_mismatches(ctx), 0);
    oct_context_free(ctx);
    CU_ASSERT_EQUAL(count_files(dir, NULL, 0), 0);
    CU_ASSERT_EQUAL(count_files(home, NULL, 0), 0);
}

/* Without OCTCL_CACHE_DIR: $XDG_CACHE_HOME/octcl, else $HOME/.cache/octcl; an
 * unwritable folder is only a miss. */
static void test_locations(void)
{
    char xdg[512], home[512], sub[600];
    int hit;
    CU_ASSERT_FATAL(make_dir(xdg, sizeof xdg, "xdg"));
    CU_ASSERT_FATAL(make_dir(home, sizeof home, "home"));
    unsetenv("OCTCL_CACHE_DIR");
    setenv("XDG_CACHE_HOME", xdg, 1);
    setenv("HOME", home, 1);
    oct_context_free(make_ctx(&hit, NULL));
    snprintf(sub, sizeof sub, "%s/octcl", xdg);
    CU_ASSERT_EQUAL(count_files(sub, NULL, 0), 1);
    CU_ASSERT_EQUAL(count_files(home, NULL, 0), 0);

    unsetenv("XDG_CACHE_HOME");
    oct_context_free(make_ctx(&hit, NULL));
    snprintf(sub, sizeof sub, "%s/.cache/octcl", home);
    CU_ASSERT_EQUAL(count_files(sub, NULL, 0), 1);

    /* A path under a regular file cannot be created: the context still works. */
    char file[600];
    snprintf(file, sizeof file, "%s/plain", home);
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    snprintf(sub, sizeof sub, "%s/plain/cache", home);
    setenv("OCTCL_CACHE_DIR", sub, 1);
    oct_context *ctx = make_ctx(&hit, NULL);
    CU_ASSERT_PTR_NOT_NULL(ctx);
    CU_ASSERT_EQUAL(hit, 0);
    oct_context_free(ctx);
}

/* ------------------------------------------------------------------------------------ */

/* rm -r of the case folders (two levels below g_root, plus octcl/ and .cache/octcl/). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int main(void)
{
    oct_device_info devs[1];
    int count = 0;
    oct_list_devices(devs, 1, &count);
    if (count == 0) {
        printf("no OpenCL device: %s (skipped)\n", oct_last_error());
        return 77;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/octcl-cache-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_root)) {
        printf("mkdtemp failed\n");
        return 1;
    }
    int rc = 1;
    if (oct_context_create("ref", &g_ref) != OCT_OK || CU_initialize_registry() != CUE_SUCCESS) goto done;
    CU_pSuite s = CU_add_suite("program-binary cache", NULL, NULL);
    CU_add_test(s, "cold start writes, warm start reads", test_cold_then_warm);
    CU_add_test(s, "flipped bytes: fallback, correct, rewritten", test_flipped);
    CU_add_test(s, "truncated to 10 bytes: fallback, correct, rewritten", test_truncated);
    CU_add_test(s, "garbage binary, valid checksum: fallback, correct, rewritten", test_garbage);
    CU_add_test(s, "OCTCL_CACHE_DIR=off writes nothing", test_off);
    CU_add_test(s, "XDG_CACHE_HOME, HOME, unwritable folder", test_locations);
    rc = run_cunit();
done:
    oct_context_free(g_ref);
    remove_tree(g_root);
    return rc;
}
