/* program_cache.c — the on-disk OpenCL program-binary cache: one file per (sources,
 * build options, platform, device, driver), named by the FNV-1a 64 hash of that key and
 * holding the whole key, which is compared on load so a hash collision is a miss.
 * Written to a temp file in the same folder and renamed into place, so readers never
 * see half a file. Every failure here is silent: the caller compiles from source.
 * Nothing here is trusted that another user could have planted (as ccache and pip do):
 * the folder and each entry must be owned by the effective user and not writable by
 * group or others, entries are opened with O_NOFOLLOW | O_NONBLOCK and must be regular
 * files (a FIFO cannot hang a run). A refusal runs uncached and is recorded once for
 * oct_cache_warning() (oct__cache_refuse, cache_dir.c). Temporaries older than ten
 * minutes (a killed writer's) are removed when the folder is opened.
 *
 * File layout (host byte order; the key names the device, so files never travel):
 *   "OCTCLPC1"   8 bytes of magic
 *   key_len      uint64
 *   bin_len      uint64
 *   bin_hash     uint64, FNV-1a 64 of the binary (catches flipped bytes)
 *   key          key_len bytes of text
 *   binary       bin_len bytes, what CL_PROGRAM_BINARIES returned
 */
#include "backend_cl.h"
#include "io.h"

#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OCT__PC_MAGIC "OCTCLPC1"
#define OCT__PC_HEADER 32
#define OCT__PC_MAX_FILE ((size_t)1 << 30) /* larger files are not ours */
#define OCT__PC_PATH 4096
#define OCT__PC_STALE_SECONDS (10 * 60) /* a temporary this old is a killed writer's */

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
/* Refusals                                                                               */

/* The folder must be a directory of ours that no one else can write. */
static int oct__pc_dir_ok(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) return 0;
    if (!S_ISDIR(sb.st_mode)) {
        oct__cache_refuse("program cache %s is not a directory%s; running uncached", dir, "");
        return 0;
    }
    if (sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
        oct__cache_refuse("program cache folder %s is %s; running uncached", dir,
                          sb.st_uid != geteuid() ? "owned by another user" : "writable by group or others");
        return 0;
    }
    return 1;
}

/* Remove our temporaries older than OCT__PC_STALE_SECONDS: ".<hash>.bin.tmpXXXXXX" (and
 * "<hash>.bin.XXXXXX" of earlier versions), regular files owned by us. */
static void oct__pc_clean(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    time_t now = time(NULL);
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name, *bin = strstr(n, ".bin.");
        if (!bin || bin - n < 16 || strlen(bin) < 11) continue;
        char path[OCT__PC_PATH];
        struct stat sb;
        if (snprintf(path, sizeof path, "%s/%s", dir, n) >= (int)sizeof path) continue;
        if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) continue;
        if (now - sb.st_mtime < OCT__PC_STALE_SECONDS) continue;
        unlink(path);
    }
    closedir(d);
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
    if (!oct__mkdirs(dir) || !oct__pc_dir_ok(dir)) goto fail;
    oct__pc_clean(dir);
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

void *oct__pcache_load(oct__pcache *c, void *context)
{
    if (!c || !context) return NULL;
    size_t len = 0;
    unsigned char *data = NULL;
    cl_program prog = NULL;
    struct stat sb;
    if (lstat(c->path, &sb) != 0) return NULL; /* a plain miss */
    /* Ours, regular, not a link, no one else can write it; the open cannot block. */
    if (oct__read_file_ex(c->path, OCT__PC_MAX_FILE, OCT__FILE_PRIVATE, &data, &len) != OCT_OK) {
        if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH)))
            oct__cache_refuse("program cache entry refused: %s%s; running uncached", oct_last_error(), "");
        oct__clear_error();
        return NULL;
    }
    if (len < OCT__PC_HEADER) goto done;

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
    unsigned char *file = NULL;

    /* The program is built for exactly one device (ours). */
    if (oct__fault_hit() || clGetProgramInfo(prog, CL_PROGRAM_NUM_DEVICES, sizeof ndev, &ndev, NULL) != CL_SUCCESS ||
        ndev != 1)
        return;
    if (oct__fault_hit() || clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0 || size > OCT__PC_MAX_FILE - OCT__PC_HEADER - c->key_len)
        return;
    size_t total = OCT__PC_HEADER + c->key_len + size;
    if (!(file = oct__malloc(total))) return;
    unsigned char *bin = file + OCT__PC_HEADER + c->key_len;
    unsigned char *bins[1] = {bin};
    if (oct__fault_hit() || clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS)
        goto done;
    uint64_t key_len = c->key_len, bin_len = size, bin_hash = oct__fnv1a(OCT__FNV_SEED, bin, size);
    memcpy(file, OCT__PC_MAGIC, 8);
    memcpy(file + 8, &key_len, 8);
    memcpy(file + 16, &bin_len, 8);
    memcpy(file + 24, &bin_hash, 8);
    memcpy(file + OCT__PC_HEADER, c->key, c->key_len);
    /* A private temporary (0600) beside the entry, renamed into place (io_file.c). */
    if (oct__fault_hit() || oct__write_file_ex(c->path, OCT__FILE_PRIVATE, file, total) != OCT_OK) oct__clear_error();
done:
    free(file);
}
