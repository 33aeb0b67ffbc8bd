/* program_cache.c — the on-disk OpenCL program-binary cache: one file per (sources,
 * build options, platform, device, driver), named by the FNV-1a 64 hash of that key and
 * holding the whole key, which is compared on load so a hash collision is a miss.
 * Written to a temp file in the same folder and renamed into place, so readers never
 * see half a file. Every failure here is silent: the caller compiles from source.
 *
 * File layout (host byte order; the key names the device, so files never travel):
 *   "OCTCLPC1"   8 bytes of magic
 *   key_len      uint64
 *   bin_len      uint64
 *   bin_hash     uint64, FNV-1a 64 of the binary (catches flipped bytes)
 *   key          key_len bytes of text
 *   binary       bin_len bytes, what CL_PROGRAM_BINARIES returned
 */
#include "internal.h"

#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OCT__PC_MAGIC "OCTCLPC1"
#define OCT__PC_HEADER 32
#define OCT__PC_MAX_FILE ((size_t)1 << 30) /* larger files are not ours */
#define OCT__PC_PATH 4096

struct oct__pcache {
    cl_device_id device;
    const char *options;
    char *key;      /* the key text */
    size_t key_len;
    char path[OCT__PC_PATH];
};

/* ------------------------------------------------------------------------------------ */
/* Hash, text, folders                                                                    */

static uint64_t oct__fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define OCT__FNV_SEED 0xcbf29ce484222325ULL

/* A growing string; `bad` once an allocation failed (then nothing more is appended). */
typedef struct {
    char *s;
    size_t len, cap;
    int bad;
} oct__text;

static void oct__text_add(oct__text *t, const char *s, size_t len)
{
    if (t->bad) return;
    if (t->cap - t->len <= len) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap - t->len <= len) cap *= 2;
        char *p = oct__realloc(t->s, cap);
        if (!p) {
            t->bad = 1;
            return;
        }
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, len);
    t->len += len;
    t->s[t->len] = '\0';
}
static void oct__text_str(oct__text *t, const char *s) { oct__text_add(t, s, strlen(s)); }

/* "label: <info string>\n" from clGetDeviceInfo / clGetPlatformInfo (0: failed). */
static int oct__text_info(oct__text *t, const char *label, cl_device_id dev, cl_platform_id plat, cl_uint param)
{
    char buf[1024];
    size_t got = 0;
    cl_int err = oct__fault_hit() ? CL_OUT_OF_HOST_MEMORY
                 : plat          ? clGetPlatformInfo(plat, param, sizeof buf - 1, buf, &got)
                                 : clGetDeviceInfo(dev, param, sizeof buf - 1, buf, &got);
    if (err != CL_SUCCESS) return 0;
    if (got > sizeof buf - 1) got = sizeof buf - 1;
    buf[got] = '\0';
    oct__text_str(t, label);
    oct__text_str(t, buf);
    oct__text_str(t, "\n");
    return 1;
}

/* mkdir -p for an absolute path; new folders are private to the user. */
static int oct__mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int r = mkdir(path, 0700);
        *p = '/';
        if (r != 0 && errno != EEXIST) return 0;
    }
    return mkdir(path, 0700) == 0 || errno == EEXIST;
}

/* ------------------------------------------------------------------------------------ */
/* Open / close                                                                           */

oct__pcache *oct__pcache_open(void *device, const char *const *src, int nsrc, const char *options)
{
    char dir[OCT__PC_PATH];
    const char *why;
    if (!device || !oct__cache_dir(dir, sizeof dir, &why)) return NULL;
    cl_device_id dev = device;
    cl_platform_id plat = NULL;
    if (oct__fault_hit() || clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL) != CL_SUCCESS)
        return NULL;

    oct__text t = {0};
    oct__text_str(&t, "octcl program cache 1\n");
    int ok = oct__text_info(&t, "platform: ", NULL, plat, CL_PLATFORM_NAME) &&
             oct__text_info(&t, "platform version: ", NULL, plat, CL_PLATFORM_VERSION) &&
             oct__text_info(&t, "device: ", dev, NULL, CL_DEVICE_NAME) &&
             oct__text_info(&t, "device version: ", dev, NULL, CL_DEVICE_VERSION) &&
             oct__text_info(&t, "driver: ", dev, NULL, CL_DRIVER_VERSION);
    oct__text_str(&t, "options: ");
    oct__text_str(&t, options ? options : "");
    oct__text_str(&t, "\nsource:\n");
    for (int i = 0; i < nsrc; i++) oct__text_str(&t, src[i]);
    oct__pcache *c = NULL;
    if (!ok || t.bad || !(c = oct__calloc(1, sizeof *c))) goto fail;
    c->device = dev;
    c->options = options;
    c->key = t.s;
    c->key_len = t.len;
    if (!oct__mkdirs(dir)) goto fail;
    int n = snprintf(c->path, sizeof c->path, "%s/%016llx.bin", dir,
                     (unsigned long long)oct__fnv1a(OCT__FNV_SEED, t.s, t.len));
    if (n < 0 || (size_t)n >= sizeof c->path) goto fail;
    return c;
fail:
    free(c);
    free(t.s);
    return NULL;
}

void oct__pcache_close(oct__pcache *c)
{
    if (!c) return;
    free(c->key);
    free(c);
}

const char *oct__pcache_path(const oct__pcache *c) { return c ? c->path : ""; }

/* ------------------------------------------------------------------------------------ */
/* Load                                                                                   */

/* The whole file (NULL when missing, unreadable or too large). */
static unsigned char *oct__read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *data = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < OCT__PC_HEADER || (unsigned long)size > OCT__PC_MAX_FILE || fseek(f, 0, SEEK_SET) != 0) goto fail;
    data = oct__malloc((size_t)size);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) goto fail;
    fclose(f);
    *len = (size_t)size;
    return data;
fail:
    free(data);
    fclose(f);
    return NULL;
}

void *oct__pcache_load(oct__pcache *c, void *context)
{
    if (!c || !context) return NULL;
    size_t len = 0;
    unsigned char *data = oct__read_file(c->path, &len);
    cl_program prog = NULL;
    if (!data) return NULL;

    uint64_t key_len, bin_len, bin_hash;
    memcpy(&key_len, data + 8, 8);
    memcpy(&bin_len, data + 16, 8);
    memcpy(&bin_hash, data + 24, 8);
    if (memcmp(data, OCT__PC_MAGIC, 8) != 0 || key_len != c->key_len || bin_len == 0 ||
        bin_len > len - OCT__PC_HEADER || key_len != len - OCT__PC_HEADER - bin_len)
        goto done;
    const unsigned char *key = data + OCT__PC_HEADER, *bin = key + key_len;
    if (memcmp(key, c->key, c->key_len) != 0 || oct__fnv1a(OCT__FNV_SEED, bin, bin_len) != bin_hash) goto done;

    size_t size = (size_t)bin_len;
    cl_int err = CL_SUCCESS, status = CL_SUCCESS;
    if (oct__fault_hit()) goto done;
    prog = clCreateProgramWithBinary(context, 1, &c->device, &size, &bin, &status, &err);
    if (!prog) goto done;
    oct__cl_object_created();
    if (err != CL_SUCCESS || status != CL_SUCCESS || oct__fault_hit() ||
        clBuildProgram(prog, 1, &c->device, c->options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(prog);
        oct__cl_object_released();
        prog = NULL;
    }
done:
    free(data);
    return prog;
}

/* ------------------------------------------------------------------------------------ */
/* Store                                                                                  */

void oct__pcache_store(oct__pcache *c, void *program)
{
    if (!c || !program) return;
    cl_program prog = program;
    cl_uint ndev = 0;
    size_t size = 0;
    unsigned char *bin = NULL;
    FILE *f = NULL;
    char tmp[OCT__PC_PATH + 16];
    int fd = -1;

    /* The program is built for exactly one device (ours). */
    if (oct__fault_hit() || clGetProgramInfo(prog, CL_PROGRAM_NUM_DEVICES, sizeof ndev, &ndev, NULL) != CL_SUCCESS ||
        ndev != 1)
        return;
    if (oct__fault_hit() || clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0 || size > OCT__PC_MAX_FILE - OCT__PC_HEADER - c->key_len)
        return;
    if (!(bin = oct__malloc(size))) return;
    unsigned char *bins[1] = {bin};
    if (oct__fault_hit() || clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS)
        goto done;

    int n = snprintf(tmp, sizeof tmp, "%s.XXXXXX", c->path);
    if (n < 0 || (size_t)n >= sizeof tmp) goto done;
    fd = mkstemp(tmp);
    if (fd < 0) goto done;
    f = fdopen(fd, "wb");
    if (!f) goto fail;
    fd = -1; /* now owned by f */
    unsigned char head[OCT__PC_HEADER];
    uint64_t key_len = c->key_len, bin_len = size, bin_hash = oct__fnv1a(OCT__FNV_SEED, bin, size);
    memcpy(head, OCT__PC_MAGIC, 8);
    memcpy(head + 8, &key_len, 8);
    memcpy(head + 16, &bin_len, 8);
    memcpy(head + 24, &bin_hash, 8);
    int ok = fwrite(head, 1, sizeof head, f) == sizeof head && fwrite(c->key, 1, c->key_len, f) == c->key_len &&
             fwrite(bin, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    f = NULL;
    if (!ok || oct__fault_hit() || rename(tmp, c->path) != 0) goto fail;
    goto done;
fail:
    if (fd >= 0) close(fd);
    if (f) fclose(f);
    unlink(tmp);
done:
    free(bin);
}
