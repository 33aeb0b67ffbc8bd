/* tune.c — per-device tuning, as CLBlast's tuner and MIOpen's find-db do it: oct_tune
 * times the variants of a backend's tunable parameters on the forward pass of a model
 * (OctNetMini by default: its graph decides the convolution shapes timed), checks each
 * variant's logits against the reference backend before trusting its time, and stores
 * the winner per device + driver (OpenCL) or per CPU model + ISA + threads (cpu) in a
 * JSON file beside the program cache. Contexts load it at init (oct__tune_cl,
 * oct__tune_cpu) and say whether tuned or default parameters run (oct_context_tuning).
 *
 * File (tune-<FNV-1a 64 of the identity>.json, written to a temporary and renamed):
 *   {"format": "octcl-tune 1", "backend": "opencl" | "cpu", "identity": "<text>",
 *    "date": "2026-11-29T20:00:00Z", "octcl": "<version>", "model": "...", "shapes": "1x32x32",
 *    "default_ms": 1.2, "tuned_ms": 1.0,
 *    "params": {"tiles": [TM, TN, TK, RM, RN, WGLOBAL]}                       (opencl)
 *    "params": {"band_kfloats": B, "min_cols": C, "chunks": K, "gemm": "avx512",
 *               "kc": KC, "mc": MC, "nc": NC, "wino4_min": W}}                   (cpu)
 * (A cpu file without "wino4_min", written before it was tuned, keeps its default.)
 */
#include "tune.h"
#include "gemm.h"
#include "io.h"

#if OCTCL_HAVE_OPENCL
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#endif
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OCT__TUNE_FORMAT "octcl-tune 1"
#define OCT__TUNE_MAX_FILE ((size_t)64 << 10) /* a tuning file is a few hundred bytes */
#define OCT__TUNE_PATH 4096
#define OCT__TUNE_MAX_VARIANTS 16
#define OCT__TUNE_CHECK_BATCH 2
#define OCT__TUNE_CHECK_SIDE 32
/* The logits check of a variant: bench's model-level tolerance (float32 sums over the
 * whole network against the double-accumulating reference). */
#define OCT__TUNE_ATOL 1e-3
#define OCT__TUNE_RTOL 1e-3
/* A variant replaces the best so far only when at least 3% faster: timings on a shared
 * machine are noisy, and a tie keeps the defaults. */
#define OCT__TUNE_MARGIN 0.97
/* A variant whose first timed pass (after its warm-up) takes this many times the best
 * total so far is dropped. Not the warm-up itself: a model's first pass at the timed size
 * pays one-time costs (buffers sized and first touched, weights packed) that can be 5x a
 * pass of Oct-ResNet-50, and judging by it dropped every variant but the default. */
#define OCT__TUNE_GIVE_UP 3.0
/* Alternating rounds of default and winner once the search is done. */
#define OCT__TUNE_CONFIRM 3

/* ------------------------------------------------------------------------------------ */
/* The variant the tuner forces on the contexts it creates (this thread only)            */

typedef struct {
    int cl; /* 1: tiles, 0: cpu */
    int tiles[6];
    oct__cpu_tune cpu;
} oct__variant;

static _Thread_local const oct__variant *oct__forced; /* set around oct_context_create */
static _Thread_local int oct__tuning_now;             /* no first-run tuning inside the tuner */
static atomic_int oct__tune_forced_isa;               /* a tuned SGEMM kernel is forced now */

double (*oct__tune_clock)(void); /* tune.h */

static double oct__tune_now(void)
{
    return oct__tune_clock ? oct__tune_clock() : oct__now_ms();
}

/* ------------------------------------------------------------------------------------ */
/* CPU parameters                                                                         */

/* backend_cpu.c's OCT__CPU_BAND_FLOATS / 1024, OCT__CPU_MIN_COLS and
 * OCT__CPU_CHUNKS_PER_THREAD; gemm.c's KC, MC, NC. */
void oct__cpu_tune_default(oct__cpu_tune *t)
{
    t->band_kfloats = 192;
    t->min_cols = 1024;
    t->chunks = 8;
    t->gemm_isa = -1;
    t->kc = 256, t->mc = 96, t->nc = 256;
    /* F(4x4) on the small planes (backend_cpu.c, cpu__wino_tile: 16-48 tiles, at most a
     * quarter of the outputs wasted) from 16 channels each way, under every GEMM kernel.
     * Measured with both values in one process, passes alternated (bench/env_ab.py, one
     * tuning file each), two threads unless said:
     * - AMD EPYC Zen 4 (AVX-512 GEMM), 2026-12-04, 16 against the rule before (from 256
     *   on 14x14 planes, from 64 on 16x16): Oct-ResNet-50 alpha 0.5 layer sums 1.018x
     *   (batch 1, 40 rounds; its 14x14 128-channel layers 1.49-1.56x, the 7x7 128-channel
     *   layers beside them 0.89-0.93x), 1.014x (batch 8; 1.29-1.30x, 7x7 0.99-1.00x), one
     *   thread 1.033x the pass; OctNetMini whole passes, 200 rounds, batch 1 / 8: alpha
     *   0.25 1.07x / 1.10x, 0.5 1.04x / 1.03x, 0.75 1.09x / 1.09x.
     * - AMD EPYC Zen 3 (AVX2 GEMM), 2026-12-04: chains of ten 3x3 layers 1.04-1.69x on
     *   14x14 and 16x16 planes of 16-128 channels; Oct-ResNet-50 alpha 0.5's 3x3 layers
     *   in layers 2 and 3 1.11x (batch 1) and 1.22x (batch 8) against the old rule;
     *   OctNetMini alpha 0.25, 0.5 and 0.75 whole passes 1.05x, 1.10x, 1.21x at batch 1.
     * Earlier sessions had chosen 64 on AVX-512 (a tenth wasted at most below 256
     * channels) and 256 before that on whole-model runs of older Winograd block cuts
     * (cpu__wino_even, cpu__wino_plan): on a Zen 4, Oct-ResNet-50 alpha 0.5 0.999x, and
     * OctNetMini alpha 0.25 0.95x at batch 1 from 16; on a Zen 3, 14x14 planes of 64 and
     * 128 channels 0.74-0.95x at two threads in separate runs. Which change turned them
     * was not measured. */
    t->wino4_min = 16;
}

static const char *oct__isa_name(int isa)
{
    return isa == OCT__GEMM_AVX512   ? "avx512"
           : isa == OCT__GEMM_AVX2   ? "avx2"
           : isa == OCT__GEMM_SCALAR ? "scalar"
                                     : "auto";
}

void oct__cpu_tune_text(const oct__cpu_tune *t, char *buf, size_t len)
{
    snprintf(buf, len, "band %dK floats, %d cols, %d chunks/thread, gemm %s %d/%d/%d, F(4x4) small planes from %d ch",
             t->band_kfloats, t->min_cols, t->chunks, oct__isa_name(t->gemm_isa), t->kc, t->mc, t->nc, t->wino4_min);
}

/* Ranges a file's values must fall in (the buffers of gemm.c bound kc, mc, nc). */
static const char *oct__cpu_tune_check(const oct__cpu_tune *t)
{
    if (t->band_kfloats < 8 || t->band_kfloats > 8192) return "band_kfloats out of range 8..8192";
    if (t->min_cols < 64 || t->min_cols > 65536) return "min_cols out of range 64..65536";
    if (t->chunks < 1 || t->chunks > 64) return "chunks out of range 1..64";
    if (t->gemm_isa < -1 || t->gemm_isa > OCT__GEMM_AVX512) return "unknown gemm kernel";
    if (t->gemm_isa >= 0 && !oct__sgemm_supported(t->gemm_isa)) return "gemm kernel not supported by this CPU";
    if (t->kc < 16 || t->kc > 256) return "kc out of range 16..256";
    if (t->mc < 24 || t->mc > 96 || t->mc % 24) return "mc not a multiple of 24 in 24..96";
    if (t->nc < 32 || t->nc > 256 || t->nc % 32) return "nc not a multiple of 32 in 32..256";
    if (t->wino4_min < 16 || t->wino4_min > 65536) return "wino4_min out of range 16..65536";
    return NULL;
}

/* dst = the concatenation of the strings up to NULL, truncated to len (no format: the
 * pieces are paths and messages of any length). */
static void oct__cat(char *dst, size_t len, ...)
{
    va_list ap;
    size_t used = 0;
    const char *piece;
    if (!len) return;
    va_start(ap, len);
    while ((piece = va_arg(ap, const char *)) != NULL) {
        size_t n = strlen(piece);
        if (n > len - 1 - used) n = len - 1 - used;
        memcpy(dst + used, piece, n);
        used += n;
    }
    va_end(ap);
    dst[used] = '\0';
}

/* ------------------------------------------------------------------------------------ */
/* Identity and path                                                                      */

static uint64_t oct__tune_fnv(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The CPU's model name from /proc/cpuinfo ("unknown CPU" where there is none), read once
 * per process. */
static char oct__cpu_model_text[256];
static pthread_once_t oct__cpu_model_once = PTHREAD_ONCE_INIT;
static void oct__cpu_model_read(void);
static void oct__cpu_model(char *buf, size_t len)
{
    pthread_once(&oct__cpu_model_once, oct__cpu_model_read);
    snprintf(buf, len, "%s", oct__cpu_model_text);
}
static void oct__cpu_model_read(void)
{
    char *buf = oct__cpu_model_text;
    size_t len = sizeof oct__cpu_model_text;
    snprintf(buf, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    for (int i = 0; i < 4096 && fgets(line, sizeof line, f); i++) {
        if (strncmp(line, "model name", 10) != 0) continue;
        char *v = strchr(line, ':');
        if (!v) break;
        v++;
        while (*v == ' ' || *v == '\t') v++;
        v[strcspn(v, "\n")] = '\0';
        snprintf(buf, len, "%s", v);
        break;
    }
    fclose(f);
}

/* The identity text of ctx's device; 0 when it cannot be had (*why says). threads: the
 * cpu context's pool size. */
static int oct__tune_identity(const oct_context *ctx, int threads, char *key, size_t len, const char **why)
{
    if (ctx->info.backend == OCT_BACKEND_CPU) {
        char model[256];
        oct__cpu_model(model, sizeof model);
        int n = snprintf(key, len, "octcl tune cpu\ncpu: %s\nisa:%s%s%s\nthreads: %d\n", model,
                         oct__sgemm_supported(OCT__GEMM_AVX512) ? " avx512f" : "",
                         oct__sgemm_supported(OCT__GEMM_AVX2) ? " avx2 fma" : "", " scalar", threads);
        return n > 0 && (size_t)n < len ? 1 : (*why = "identity too long", 0);
    }
#if OCTCL_HAVE_OPENCL
    if (ctx->info.backend == OCT_BACKEND_OPENCL && ctx->device[1]) {
        cl_device_id dev = (cl_device_id)ctx->device[1];
        cl_platform_id plat = NULL;
        char v[5][512];
        static const char *const label[5] = {"platform", "platform version", "device", "device version", "driver"};
        if (clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL) != CL_SUCCESS) {
            *why = "clGetDeviceInfo(CL_DEVICE_PLATFORM) failed";
            return 0;
        }
        memset(v, 0, sizeof v);
        if (clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof v[0] - 1, v[0], NULL) != CL_SUCCESS ||
            clGetPlatformInfo(plat, CL_PLATFORM_VERSION, sizeof v[1] - 1, v[1], NULL) != CL_SUCCESS ||
            clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof v[2] - 1, v[2], NULL) != CL_SUCCESS ||
            clGetDeviceInfo(dev, CL_DEVICE_VERSION, sizeof v[3] - 1, v[3], NULL) != CL_SUCCESS ||
            clGetDeviceInfo(dev, CL_DRIVER_VERSION, sizeof v[4] - 1, v[4], NULL) != CL_SUCCESS) {
            *why = "the device's name or versions cannot be read";
            return 0;
        }
        size_t used = (size_t)snprintf(key, len, "octcl tune opencl\n");
        for (int i = 0; i < 5 && used < len; i++)
            used += (size_t)snprintf(key + used, len - used, "%s: %s\n", label[i], v[i]);
        return used < len ? 1 : (*why = "identity too long", 0);
    }
#endif
    *why = "this backend has no tunable parameters";
    return 0;
}

/* mkdir -p for an absolute path; new folders are private to the user. */
static int oct__tune_mkdirs(char *path)
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

/* The file for `key` into path; 0 when there is no cache folder (*why says). */
static int oct__tune_path(const char *key, char *path, size_t len, const char **why)
{
    char dir[OCT__TUNE_PATH];
    if (!oct__cache_dir(dir, sizeof dir, why)) return 0;
    int n = snprintf(path, len, "%s/tune-%016llx.json", dir, (unsigned long long)oct__tune_fnv(key));
    if (n <= 0 || (size_t)n >= len) {
        *why = "the tuning file's path is too long";
        return 0;
    }
    return 1;
}

static pthread_once_t oct__tune_hooks_once = PTHREAD_ONCE_INIT;
static void oct__tune_hooks(void)
{
    cJSON_Hooks hooks = {oct__malloc, free};
    cJSON_InitHooks(&hooks);
}

/* ------------------------------------------------------------------------------------ */
/* Load                                                                                   */

/* An integer member in [lo, hi], else 0. */
static int oct__json_int(const cJSON *o, const char *name, int lo, int hi, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
        v->valuedouble != floor(v->valuedouble))
        return 0;
    *out = (int)v->valuedouble;
    return 1;
}

/* Read and check the tuning file for (backend, key): 1 with the params filled (tiles for
 * opencl, cpu for cpu) and *date; 0 with the reason in why. */
static int oct__tune_read(const char *path, const char *backend, const char *key, int tiles[6], oct__cpu_tune *cpu,
                          char *date, size_t date_len, char *why, size_t why_len)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    int ok = 0;
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        snprintf(why, why_len, "no tuning file for this device");
        return 0;
    }
    if (oct__read_file_ex(path, OCT__TUNE_MAX_FILE, OCT__FILE_PRIVATE, &bytes, &len) != OCT_OK) {
        oct__cat(why, why_len, "tuning file ", path, " ignored: ", oct_last_error(), (const char *)NULL);
        oct__clear_error();
        return 0;
    }
    pthread_once(&oct__tune_hooks_once, oct__tune_hooks);
    root = cJSON_ParseWithLength((const char *)bytes, len);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *be = cJSON_GetObjectItemCaseSensitive(root, "backend");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "identity");
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(root, "date");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    const char *bad = NULL;
    if (!cJSON_IsObject(root))
        bad = "not a JSON object (corrupt or truncated)";
    else if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, OCT__TUNE_FORMAT) != 0)
        bad = "not an \"" OCT__TUNE_FORMAT "\" file";
    else if (!cJSON_IsString(be) || strcmp(be->valuestring, backend) != 0)
        bad = "written for another backend";
    else if (!cJSON_IsString(id) || strcmp(id->valuestring, key) != 0)
        bad = "written for another device or driver";
    else if (!cJSON_IsString(dt) || strlen(dt->valuestring) > 40)
        bad = "no date";
    else if (!cJSON_IsObject(params))
        bad = "no params";
    else if (strcmp(backend, "opencl") == 0) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(params, "tiles");
        int n = cJSON_GetArraySize(t);
        if (!cJSON_IsArray(t) || n != 6) bad = "params.tiles is not 6 numbers";
        for (int i = 0; !bad && i < 6; i++) {
            const cJSON *e = cJSON_GetArrayItem(t, i);
            if (!cJSON_IsNumber(e) || !(e->valuedouble >= 0 && e->valuedouble <= 1024) ||
                e->valuedouble != floor(e->valuedouble))
                bad = "params.tiles holds a value out of range";
            else
                tiles[i] = (int)e->valuedouble;
        }
    } else {
        oct__cpu_tune c;
        oct__cpu_tune_default(&c);
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(params, "gemm");
        if (!oct__json_int(params, "band_kfloats", 1, 1 << 20, &c.band_kfloats) ||
            !oct__json_int(params, "min_cols", 1, 1 << 20, &c.min_cols) ||
            !oct__json_int(params, "chunks", 1, 1 << 20, &c.chunks) ||
            !oct__json_int(params, "kc", 1, 1 << 20, &c.kc) || !oct__json_int(params, "mc", 1, 1 << 20, &c.mc) ||
            !oct__json_int(params, "nc", 1, 1 << 20, &c.nc) || !cJSON_IsString(g))
            bad = "params lack a cpu parameter";
        else if (cJSON_HasObjectItem(params, "wino4_min") &&
                 !oct__json_int(params, "wino4_min", 1, 1 << 20, &c.wino4_min))
            bad = "params.wino4_min is not an integer";
        else {
            int named = oct__sgemm_isa_named(g->valuestring);
            c.gemm_isa = named >= 0 ? named : strcmp(g->valuestring, "auto") == 0 ? -1 : -2;
            bad = oct__cpu_tune_check(&c);
        }
        if (!bad) *cpu = c;
    }
    if (bad) {
        oct__cat(why, why_len, "tuning file ", path, " ignored: ", bad, (const char *)NULL);
        goto done;
    }
    snprintf(date, date_len, "%s", dt->valuestring);
    ok = 1;
done:
    cJSON_Delete(root);
    free(bytes);
    return ok;
}

/* ------------------------------------------------------------------------------------ */
/* The hooks                                                                              */

#define oct__set_tuning(ctx, t, ...)                                                                                   \
    ((ctx)->tuned = (t), oct__cat((ctx)->tuning, sizeof(ctx)->tuning, __VA_ARGS__, (const char *)NULL))

/* First-run tuning ($OCTCL_TUNE=1) for ctx's device, when not inside the tuner. */
static int oct__first_run_tune(oct_context *ctx)
{
    const char *env = getenv("OCTCL_TUNE");
    if (!env || strcmp(env, "1") != 0 || oct__tuning_now) return 0;
    char spec[64];
    if (ctx->info.backend == OCT_BACKEND_CPU)
        snprintf(spec, sizeof spec, "cpu");
    else
        snprintf(spec, sizeof spec, "opencl:%d:%d", ctx->info.platform_index, ctx->info.device_index);
    oct_tune_params p = {0};
    p.device = spec;
    oct_status s = oct_tune(&p, NULL, 0);
    oct__clear_error();
    return s == OCT_OK;
}

/* Common part of the hooks: identity, file, load (and first-run tuning). */
static int oct__tune_load(oct_context *ctx, int threads, const char *backend, int tiles[6], oct__cpu_tune *cpu)
{
    char key[4096], path[OCT__TUNE_PATH], date[64] = "", why[OCT__TUNE_PATH + 128];
    const char *reason = "";
    if (!oct__tune_identity(ctx, threads, key, sizeof key, &reason) ||
        !oct__tune_path(key, path, sizeof path, &reason)) {
        oct__set_tuning(ctx, 0, "default (no tuning file: ", reason, ")");
        return 0;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (oct__tune_read(path, backend, key, tiles, cpu, date, sizeof date, why, sizeof why)) {
            oct__set_tuning(ctx, 1, "tuned (", path, ", ", date, ")");
            return 1;
        }
        if (attempt == 0 && !oct__first_run_tune(ctx)) break;
    }
    oct__set_tuning(ctx, 0, "default (", why, ")");
    return 0;
}

void oct__tune_cpu(oct_context *ctx, int threads, oct__cpu_tune *t)
{
    oct__cpu_tune_default(t);
    if (oct__forced && !oct__forced->cl) {
        *t = oct__forced->cpu;
        oct__set_tuning(ctx, 2, "tuning variant");
    } else {
        int tiles[6];
        oct__tune_load(ctx, threads, "cpu", tiles, t);
    }
    if (t->gemm_isa >= 0 && getenv("OCTCL_GEMM")) t->gemm_isa = -1; /* the test aid wins */
    /* A tuned kernel is forced; a default context undoes only a force tuning made (a
     * test's own oct__sgemm_force stays). */
    if (t->gemm_isa >= 0) {
        oct__sgemm_force(t->gemm_isa);
        atomic_store(&oct__tune_forced_isa, 1);
    } else if (atomic_exchange(&oct__tune_forced_isa, 0)) {
        oct__sgemm_force(-1);
    }
    oct__sgemm_blocks(t->kc, t->mc, t->nc);
}

void oct__tune_cpu_report(oct_context *ctx, const oct__cpu_tune *held)
{
    /* What the backend holds, and what gemm.c runs now (not what the file said). */
    oct__cpu_tune now = *held;
    oct__sgemm_blocks_get(&now.kc, &now.mc, &now.nc);
    if (now.gemm_isa >= 0) now.gemm_isa = oct__sgemm_isa();
    char text[160];
    oct__cpu_tune_text(&now, text, sizeof text);
    size_t used = strlen(ctx->tuning);
    snprintf(ctx->tuning + used, sizeof ctx->tuning - used, ": %s", text);
}

int oct__tune_cl(oct_context *ctx, int t[6], const char **origin)
{
    if (oct__forced && oct__forced->cl) {
        memcpy(t, oct__forced->tiles, sizeof oct__forced->tiles);
        *origin = "tuning";
        oct__set_tuning(ctx, 2, "tuning variant");
        return 1;
    }
    oct__cpu_tune unused;
    if (!oct__tune_load(ctx, 0, "opencl", t, &unused)) return 0;
    *origin = "tuned";
    return 1;
}

void oct__tune_cl_chosen(oct_context *ctx, const int *t, const char *origin, const char *name)
{
    char text[160];
    if (t)
        snprintf(text, sizeof text, "conv tiles %s (%d,%d,%d,%d,%d,%d)", name, t[0], t[1], t[2], t[3], t[4], t[5]);
    else
        snprintf(text, sizeof text, "conv direct only");
    int ran_tuned = t && origin && (strcmp(origin, "tuned") == 0 || strcmp(origin, "tuning") == 0);
    if (ctx->tuned && !ran_tuned) {
        /* The tuned set was passed over (did not fit, build or allow its work-group), or
         * $OCTCL_GEMM_TILES forced another. */
        char file[sizeof ctx->tuning];
        snprintf(file, sizeof file, "%s", ctx->tuning);
        int variant = ctx->tuned == 2;
        ctx->tuned = 0;
        if (variant)
            oct__cat(ctx->tuning, sizeof ctx->tuning,
                     "default (the tuner's variant did not fit, build or allow its "
                     "work-group)",
                     (const char *)NULL);
        else if (origin && strcmp(origin, "forced") == 0)
            oct__cat(ctx->tuning, sizeof ctx->tuning, "forced ($OCTCL_GEMM_TILES; not the ", file, ")",
                     (const char *)NULL);
        else
            oct__cat(ctx->tuning, sizeof ctx->tuning, "default (the ", file, " holds tiles that do not run here)",
                     (const char *)NULL);
    } else if (!ctx->tuned && origin && strcmp(origin, "forced") == 0) {
        snprintf(ctx->tuning, sizeof ctx->tuning, "forced ($OCTCL_GEMM_TILES)");
    }
    size_t used = strlen(ctx->tuning);
    snprintf(ctx->tuning + used, sizeof ctx->tuning - used, ": %s", text);
}

oct_status oct_context_tuning(const oct_context *ctx, int *tuned, char *text, size_t len)
{
    if (!ctx || !tuned)
        return oct__fail(OCT_ERR_NULL_ARG, "oct_context_tuning: %s is NULL", !ctx ? "context" : "tuned");
    *tuned = ctx->tuned == 1;
    if (text && len) {
        if (ctx->tuning[0])
            snprintf(text, len, "%s", ctx->tuning);
        else
            snprintf(text, len, "default (the %s backend has no tunable parameters)", ctx->be ? ctx->be->name : "?");
    }
    return OCT_OK;
}

#if !OCTCL_HAVE_OPENCL
/* Built without OpenCL (backend_cl.c left out): no OpenCL context ever reaches the tuner. */
int oct__cl_tile_variants(void *device, int (*out)[6], char (*names)[24], int max)
{
    (void)device, (void)out, (void)names, (void)max;
    return 0;
}
#endif

/* ------------------------------------------------------------------------------------ */
/* The tuner                                                                              */

typedef struct {
    const oct_tune_params *p;
    char spec[256];
    int shapes[OCT__TUNE_MAX_VARIANTS * 3];
    int nshapes;
    float *x;       /* the largest timed batch, seeded, [-2, 2] */
    float *y;       /* logits of the largest batch */
    float *check_x; /* (CHECK_BATCH, C, ch, cw) */
    float *want;    /* the reference's logits of check_x */
    size_t want_count;
    int in_c, ch, cw;
    char model_text[512];
} oct__tuner;

static void oct__say(const oct__tuner *tu, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void oct__say(const oct__tuner *tu, const char *fmt, ...)
{
    if (!tu->p->progress) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    tu->p->progress(tu->p->user, line);
}

static oct_status oct__tune_model(const oct__tuner *tu, oct_context *ctx, oct_model **m)
{
    if (tu->p->model) return oct_model_load(ctx, tu->p->model, m);
    return oct_model_create_random(ctx, 3, 10, 0.5, 1, m);
}

/* Seeded floats in [-2, 2]. */
static void oct__fill(float *x, size_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 4.0 - 2.0);
    }
}

/* One variant: a context made with it forced, the check against the reference, then the
 * minimum of `repeat` passes per shape, summed. *ms is INFINITY for a variant that does
 * not run as asked or fails the check (the line says why). */
static oct_status oct__tune_one(oct__tuner *tu, const oct__variant *v, const char *label, double bound, double *ms)
{
    oct_context *ctx = NULL;
    oct_model *m = NULL;
    float *got = NULL;
    oct_status s;
    *ms = INFINITY;
    oct__forced = v;
    s = oct_context_create(tu->spec, &ctx);
    oct__forced = NULL;
    if (s != OCT_OK) {
        oct__say(tu, "  %-40s skipped: %s", label, oct_last_error());
        oct__clear_error();
        return OCT_OK;
    }
    if (ctx->tuned != 2) {
        oct__say(tu, "  %-40s skipped: did not run as asked (%s)", label, ctx->tuning);
        goto done;
    }
    if ((s = oct__tune_model(tu, ctx, &m)) != OCT_OK) goto done;
    got = oct__malloc(tu->want_count * sizeof *got);
    if (!got) {
        s = oct__fail(OCT_ERR_HOST_MEMORY, "oct_tune: out of host memory for %zu logits", tu->want_count);
        goto done;
    }
    if ((s = oct_model_forward(m, tu->check_x, OCT__TUNE_CHECK_BATCH, tu->ch, tu->cw, got, NULL, NULL)) != OCT_OK)
        goto done;
    double worst = 0;
    size_t bad = 0;
    for (size_t i = 0; i < tu->want_count; i++) {
        double e = fabs((double)got[i] - tu->want[i]);
        if (!(e <= OCT__TUNE_ATOL + OCT__TUNE_RTOL * fabs((double)tu->want[i]))) bad++;
        if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
    }
    if (bad) {
        oct__say(tu, "  %-40s REJECTED: %zu of %zu logits differ from the reference (max error %.3g)", label, bad,
                 tu->want_count, worst);
        goto done;
    }
    double total = 0;
    for (int si = 0; si < tu->nshapes; si++) {
        int n = tu->shapes[3 * si], h = tu->shapes[3 * si + 1], w = tu->shapes[3 * si + 2];
        double best = INFINITY;
        int repeat = tu->p->repeat > 0 ? tu->p->repeat : 10;
        for (int r = -1; r < repeat; r++) { /* one warm-up pass */
            double t0 = oct__tune_now();
            if ((s = oct_model_forward(m, tu->x, n, h, w, tu->y, NULL, NULL)) != OCT_OK) goto done;
            double t = oct__tune_now() - t0;
            if (r >= 0 && t < best) best = t;
            if (r == 0 && t > bound) { /* one warm pass: far behind, not worth the others */
                oct__say(tu, "  %-40s %9.3f ms for a warm pass, over %.0fx the best: not timed further", label, t,
                         OCT__TUNE_GIVE_UP);
                goto done;
            }
        }
        total += best;
    }
    *ms = total;
    oct__say(tu, "  %-40s %9.3f ms  (max error %.2g)", label, total, worst);
done:
    free(got);
    oct_model_free(m);
    oct_context_free(ctx);
    return s;
}

/* The reference logits of the check batch. */
static oct_status oct__tune_reference(oct__tuner *tu)
{
    oct_context *ref = NULL;
    oct_model *m = NULL;
    oct_model_tensor in, out;
    oct_status s = oct_context_create("ref", &ref);
    if (s == OCT_OK) s = oct__tune_model(tu, ref, &m);
    if (s == OCT_OK) s = oct_model_input(m, 0, &in);
    if (s != OCT_OK) goto done;
    tu->in_c = (int)in.dims[1];
    /* The check runs small where the model allows it (its tiles and batching are those of
     * any size), else at the declared size. */
    tu->ch = tu->cw = OCT__TUNE_CHECK_SIDE;
    if (oct_model_output_shape(m, OCT__TUNE_CHECK_BATCH, tu->ch, tu->cw, &out) != OCT_OK) {
        oct__clear_error();
        tu->ch = in.dims[2] > 0 ? (int)in.dims[2] : tu->shapes[1];
        tu->cw = in.dims[3] > 0 ? (int)in.dims[3] : tu->shapes[2];
        if ((s = oct_model_output_shape(m, OCT__TUNE_CHECK_BATCH, tu->ch, tu->cw, &out)) != OCT_OK) goto done;
    }
    tu->want_count = (size_t)OCT__TUNE_CHECK_BATCH * (size_t)(out.dims[1] * out.dims[2] * out.dims[3]);
    size_t xc = (size_t)OCT__TUNE_CHECK_BATCH * (size_t)tu->in_c * (size_t)tu->ch * (size_t)tu->cw;
    tu->check_x = oct__malloc(xc * sizeof(float));
    tu->want = oct__malloc(tu->want_count * sizeof(float));
    if (!tu->check_x || !tu->want) {
        s = oct__fail(OCT_ERR_HOST_MEMORY, "oct_tune: out of host memory for the check");
        goto done;
    }
    oct__fill(tu->check_x, xc, 7);
    s = oct_model_forward(m, tu->check_x, OCT__TUNE_CHECK_BATCH, tu->ch, tu->cw, tu->want, NULL, NULL);
done:
    oct_model_free(m);
    oct_context_free(ref);
    return s;
}

/* The cpu variants, one parameter at a time from the defaults (coordinate descent):
 * each parameter's values are timed with the others at the best so far. */
static oct_status oct__tune_cpu_search(oct__tuner *tu, oct__cpu_tune *best, double *best_ms, double *default_ms,
                                       int *tried)
{
    oct__variant v = {0};
    oct__cpu_tune_default(&v.cpu);
    char label[96], text[160];
    int max = tu->p->max_variants > 0 ? tu->p->max_variants : 1000;
    OCT__TRY(oct__tune_one(tu, &v, "default", INFINITY, default_ms));
    *best = v.cpu;
    *best_ms = *default_ms;
    *tried = 1;
    if (!isfinite(*default_ms)) return oct__fail(OCT_ERR_NOT_READY, "oct_tune: the default cpu parameters do not run");
    static const int bands[] = {96, 384}, cols[] = {512, 2048}, chunks[] = {4, 16}, kcs[] = {128}, mcs[] = {48},
                     ncs[] = {128}, wino4[] = {256, 64, 16};
    struct {
        const char *name;
        int *field;
        const int *vals;
        int n;
    } axes[] = {
        {"band_kfloats", &v.cpu.band_kfloats, bands, 2},
        {"min_cols", &v.cpu.min_cols, cols, 2},
        {"chunks", &v.cpu.chunks, chunks, 2},
        {"kc", &v.cpu.kc, kcs, 1},
        {"mc", &v.cpu.mc, mcs, 1},
        {"nc", &v.cpu.nc, ncs, 1},
        {"wino4_min", &v.cpu.wino4_min, wino4, 3}, /* the default's own value skipped */
    };
    int isas[2], nisa = 0;
    if (!getenv("OCTCL_GEMM")) {
        int native = oct__sgemm_isa();
        for (int isa = OCT__GEMM_AVX2; isa <= OCT__GEMM_AVX512; isa++)
            if (isa != native && oct__sgemm_supported(isa)) isas[nisa++] = isa;
    }
    for (size_t a = 0; a <= sizeof axes / sizeof axes[0]; a++) {
        int n = a < sizeof axes / sizeof axes[0] ? axes[a].n : nisa;
        for (int i = 0; i < n && *tried < max; i++) {
            v.cpu = *best;
            if (a < sizeof axes / sizeof axes[0]) {
                if (*axes[a].field == axes[a].vals[i]) continue; /* already timed */
                *axes[a].field = axes[a].vals[i];
            } else
                v.cpu.gemm_isa = isas[i];
            oct__cpu_tune_text(&v.cpu, text, sizeof text);
            snprintf(label, sizeof label, "%.80s", text);
            double ms;
            OCT__TRY(oct__tune_one(tu, &v, label, *best_ms * OCT__TUNE_GIVE_UP, &ms));
            (*tried)++;
            if (ms < *best_ms * OCT__TUNE_MARGIN) *best_ms = ms, *best = v.cpu;
        }
    }
    return OCT_OK;
}

/* The confirmation: the default and the winner timed alternately, OCT__TUNE_CONFIRM
 * rounds, minimum of each; the winner stays only when still OCT__TUNE_MARGIN faster (a
 * load that changed while the search ran cannot crown a variant). 1: the winner stays. */
static oct_status oct__tune_confirm(oct__tuner *tu, const oct__variant *def, const oct__variant *win, double *def_ms,
                                    double *win_ms, int *keep)
{
    double d = INFINITY, w = INFINITY, ms;
    oct__say(tu, "confirming: the default and the winner, alternately, %d rounds", OCT__TUNE_CONFIRM);
    for (int r = 0; r < OCT__TUNE_CONFIRM; r++) {
        OCT__TRY(oct__tune_one(tu, def, "default", INFINITY, &ms));
        if (ms < d) d = ms;
        OCT__TRY(oct__tune_one(tu, win, "winner", INFINITY, &ms));
        if (ms < w) w = ms;
    }
    *def_ms = d, *win_ms = w;
    *keep = w < d * OCT__TUNE_MARGIN;
    return OCT_OK;
}

/* Store the winner (atomically: a temporary renamed into place). */
static oct_status oct__tune_store(const oct__tuner *tu, const char *path, const char *backend, const char *key,
                                  const int *tiles, const oct__cpu_tune *cpu, double default_ms, double best_ms)
{
    pthread_once(&oct__tune_hooks_once, oct__tune_hooks);
    char date[64], shapes[256] = "";
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    for (int i = 0; i < tu->nshapes; i++) {
        size_t used = strlen(shapes);
        snprintf(shapes + used, sizeof shapes - used, "%s%dx%dx%d", i ? "," : "", tu->shapes[3 * i],
                 tu->shapes[3 * i + 1], tu->shapes[3 * i + 2]);
    }
    cJSON *root = cJSON_CreateObject(), *params = cJSON_CreateObject();
    char *text = NULL;
    oct_status s = OCT_OK;
    if (!root || !params) goto oom;
    cJSON_AddItemToObject(root, "params", params);
    int ok =
        cJSON_AddStringToObject(root, "format", OCT__TUNE_FORMAT) &&
        cJSON_AddStringToObject(root, "backend", backend) && cJSON_AddStringToObject(root, "identity", key) &&
        cJSON_AddStringToObject(root, "date", date) && cJSON_AddStringToObject(root, "octcl", OCTCL_VERSION) &&
        cJSON_AddStringToObject(root, "model", tu->model_text) && cJSON_AddStringToObject(root, "shapes", shapes) &&
        cJSON_AddNumberToObject(root, "default_ms", default_ms) && cJSON_AddNumberToObject(root, "tuned_ms", best_ms);
    if (ok && tiles) {
        cJSON *arr = cJSON_CreateIntArray(tiles, 6);
        ok = arr != NULL;
        if (arr) cJSON_AddItemToObject(params, "tiles", arr);
    } else if (ok) {
        ok = cJSON_AddNumberToObject(params, "band_kfloats", cpu->band_kfloats) &&
             cJSON_AddNumberToObject(params, "min_cols", cpu->min_cols) &&
             cJSON_AddNumberToObject(params, "chunks", cpu->chunks) &&
             cJSON_AddStringToObject(params, "gemm", oct__isa_name(cpu->gemm_isa)) &&
             cJSON_AddNumberToObject(params, "kc", cpu->kc) && cJSON_AddNumberToObject(params, "mc", cpu->mc) &&
             cJSON_AddNumberToObject(params, "nc", cpu->nc) &&
             cJSON_AddNumberToObject(params, "wino4_min", cpu->wino4_min);
    }
    if (!ok || !(text = cJSON_Print(root))) goto oom;
    char dir[OCT__TUNE_PATH];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (!oct__tune_mkdirs(dir)) {
            s = oct__fail(OCT_ERR_IO, "oct_tune: cannot create the folder %s: %s", dir, strerror(errno));
            goto done;
        }
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* cJSON_Print's buffer ends in one NUL: replace it with a newline */
    s = oct__write_file_ex(path, OCT__FILE_PRIVATE, text, n + 1);
    goto done;
oom:
    s = oct__fail(OCT_ERR_HOST_MEMORY, "oct_tune: out of host memory for the tuning file");
done:
    free(text);
    cJSON_Delete(root);
    return s;
}

oct_status oct_tune(const oct_tune_params *p, char *file, size_t file_len)
{
    if (!p) return oct__fail(OCT_ERR_NULL_ARG, "oct_tune: params is NULL");
    if (file && file_len) file[0] = '\0';
    if (p->nshapes < 0 || p->nshapes > OCT__TUNE_MAX_VARIANTS || (p->nshapes > 0 && !p->shapes))
        return oct__fail(OCT_ERR_BAD_SIZE, "oct_tune: %d shapes (1..%d, with shapes given)", p->nshapes,
                         OCT__TUNE_MAX_VARIANTS);
    if (p->repeat < 0 || p->repeat > 1000 || p->max_variants < 0)
        return oct__fail(OCT_ERR_BAD_SIZE, "oct_tune: repeat %d / max_variants %d out of range", p->repeat,
                         p->max_variants);
    oct__tuner tu;
    memset(&tu, 0, sizeof tu);
    tu.p = p;
    const char *spec = p->device ? p->device : getenv("OCTCL_DEVICE");
    snprintf(tu.spec, sizeof tu.spec, "%s", spec && *spec ? spec : "auto");
    int was_tuning = oct__tuning_now;
    oct__tuning_now = 1;
    oct_context *ctx = NULL;
    oct_model *m = NULL;
    char key[4096], path[OCT__TUNE_PATH];
    const char *why = "";
    oct_status s = oct_context_create(tu.spec, &ctx);
    if (s != OCT_OK) goto done;
    if (ctx->info.backend == OCT_BACKEND_REF) {
        s = oct__fail(OCT_ERR_UNSUPPORTED,
                      "oct_tune: device \"%s\" is the reference backend, which has nothing to tune", tu.spec);
        goto done;
    }
    oct__cpu_tune unused;
    int threads = 0;
    if (ctx->info.backend == OCT_BACKEND_CPU) {
        /* The identity's threads: those of the cpu context (OCTCL_THREADS or the cores). */
        const char *env = getenv("OCTCL_THREADS");
        threads = env && *env ? atoi(env) : (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (threads > 256 && !(env && *env)) threads = 256;
        if (threads < 1) threads = 1;
    }
    (void)unused;
    if (!oct__tune_identity(ctx, threads, key, sizeof key, &why)) {
        s = oct__fail(OCT_ERR_UNSUPPORTED, "oct_tune: %s", why);
        goto done;
    }
    if (!oct__tune_path(key, path, sizeof path, &why)) {
        s = oct__fail(OCT_ERR_IO, "oct_tune: nowhere to store the result: %s", why);
        goto done;
    }
    /* Shapes: as given, else one image at the model's declared size (32x32 when free). */
    if ((s = oct__tune_model(&tu, ctx, &m)) != OCT_OK) goto done;
    oct_model_tensor in, out;
    if ((s = oct_model_input(m, 0, &in)) != OCT_OK) goto done;
    if (p->nshapes > 0) {
        memcpy(tu.shapes, p->shapes, (size_t)p->nshapes * 3 * sizeof(int));
        tu.nshapes = p->nshapes;
    } else {
        tu.shapes[0] = 1;
        tu.shapes[1] = in.dims[2] > 0 ? (int)in.dims[2] : 32;
        tu.shapes[2] = in.dims[3] > 0 ? (int)in.dims[3] : 32;
        tu.nshapes = 1;
    }
    size_t xmax = 0, ymax = 0;
    for (int i = 0; i < tu.nshapes; i++) {
        int n = tu.shapes[3 * i], h = tu.shapes[3 * i + 1], w = tu.shapes[3 * i + 2];
        if (n < 1 || h < 1 || w < 1 || n > 65536 || h > 16384 || w > 16384) {
            s = oct__fail(OCT_ERR_BAD_SIZE, "oct_tune: shape %dx%dx%d (N x H x W, each >= 1)", n, h, w);
            goto done;
        }
        if ((s = oct_model_output_shape(m, n, h, w, &out)) != OCT_OK) goto done;
        size_t xc = (size_t)n * (size_t)in.dims[1] * (size_t)h * (size_t)w;
        size_t yc = (size_t)n * (size_t)(out.dims[1] * out.dims[2] * out.dims[3]);
        if (xc > xmax) xmax = xc;
        if (yc > ymax) ymax = yc;
    }
    oct_model_free(m);
    m = NULL;
    tu.x = oct__malloc(xmax * sizeof(float));
    tu.y = oct__malloc(ymax * sizeof(float));
    if (!tu.x || !tu.y) {
        s = oct__fail(OCT_ERR_HOST_MEMORY, "oct_tune: out of host memory for the inputs");
        goto done;
    }
    oct__fill(tu.x, xmax, 1);
    snprintf(tu.model_text, sizeof tu.model_text, "%.500s",
             p->model ? p->model : "OctNetMini alpha 0.5 (random weights)");
    oct__say(&tu, "tuning %s (%s) on %s; each variant checked against the reference first", ctx->info.name, tu.spec,
             tu.model_text);
    if ((s = oct__tune_reference(&tu)) != OCT_OK) goto done;

    double default_ms = INFINITY, best_ms = INFINITY;
    int tried = 0, best_tiles[6] = {0};
    oct__cpu_tune best_cpu;
    oct__cpu_tune_default(&best_cpu);
    const char *backend = ctx->info.backend == OCT_BACKEND_CPU ? "cpu" : "opencl";
    if (ctx->info.backend == OCT_BACKEND_CPU) {
        if ((s = oct__tune_cpu_search(&tu, &best_cpu, &best_ms, &default_ms, &tried)) != OCT_OK) goto done;
    } else {
        const char *forced = getenv("OCTCL_GEMM_TILES");
        if (forced && *forced) {
            s = oct__fail(OCT_ERR_UNSUPPORTED, "oct_tune: $OCTCL_GEMM_TILES=%.40s forces the tiles; unset it to tune",
                          forced);
            goto done;
        }
        int tiles[OCT__TUNE_MAX_VARIANTS][6];
        char names[OCT__TUNE_MAX_VARIANTS][24];
        int nv = oct__cl_tile_variants(ctx->device[1], tiles, names, OCT__TUNE_MAX_VARIANTS);
        if (p->max_variants > 0 && nv > p->max_variants) nv = p->max_variants;
        for (int i = 0; i < nv; i++) {
            oct__variant v = {1, {0}, {0}};
            memcpy(v.tiles, tiles[i], sizeof v.tiles);
            char label[96];
            snprintf(label, sizeof label, "%.23s (%d,%d,%d,%d,%d,%d)", names[i], tiles[i][0], tiles[i][1], tiles[i][2],
                     tiles[i][3], tiles[i][4], tiles[i][5]);
            double ms;
            if ((s = oct__tune_one(&tu, &v, label, best_ms * OCT__TUNE_GIVE_UP, &ms)) != OCT_OK) goto done;
            tried++;
            if (i == 0) default_ms = ms; /* the first is the device's default set */
            if (i == 0 ? isfinite(ms) : ms < best_ms * OCT__TUNE_MARGIN)
                best_ms = ms, memcpy(best_tiles, tiles[i], sizeof best_tiles);
        }
        if (!isfinite(best_ms)) {
            s = oct__fail(OCT_ERR_BUILD, "oct_tune: none of %d tile sets ran correctly on %s", nv, ctx->info.name);
            goto done;
        }
    }
    {
        oct__variant def = {0}, win = {0};
        int differs;
        if (ctx->info.backend == OCT_BACKEND_CPU) {
            oct__cpu_tune_default(&def.cpu);
            win.cpu = best_cpu;
            differs = memcmp(&def.cpu, &win.cpu, sizeof def.cpu) != 0;
        } else {
            int tiles[1][6];
            char names[1][24];
            def.cl = win.cl = 1;
            if (oct__cl_tile_variants(ctx->device[1], tiles, names, 1) == 1)
                memcpy(def.tiles, tiles[0], sizeof def.tiles);
            memcpy(win.tiles, best_tiles, sizeof win.tiles);
            differs = memcmp(def.tiles, win.tiles, sizeof def.tiles) != 0;
        }
        int keep = 1;
        if (differs && (s = oct__tune_confirm(&tu, &def, &win, &default_ms, &best_ms, &keep)) != OCT_OK) goto done;
        if (!keep) {
            oct__say(&tu, "the winner is not %d%% faster than the default when timed alternately: keeping the default",
                     (int)lround(100 * (1 - OCT__TUNE_MARGIN)));
            best_cpu = def.cpu;
            memcpy(best_tiles, def.tiles, sizeof best_tiles);
            best_ms = default_ms;
        }
    }
    if ((s = oct__tune_store(&tu, path, backend, key, ctx->info.backend == OCT_BACKEND_CPU ? NULL : best_tiles,
                             &best_cpu, default_ms, best_ms)) != OCT_OK)
        goto done;
    if (ctx->info.backend == OCT_BACKEND_CPU) {
        char text[160];
        oct__cpu_tune_text(&best_cpu, text, sizeof text);
        oct__say(&tu, "winner of %d variants: %s: %.3f ms (default %.3f ms)", tried, text, best_ms, default_ms);
    } else {
        oct__say(&tu, "winner of %d variants: tiles (%d,%d,%d,%d,%d,%d): %.3f ms (default %.3f ms)", tried,
                 best_tiles[0], best_tiles[1], best_tiles[2], best_tiles[3], best_tiles[4], best_tiles[5], best_ms,
                 default_ms);
    }
    oct__say(&tu, "stored in %s", path);
    if (file && file_len) snprintf(file, file_len, "%s", path);
done:
    /* Later cpu contexts set the GEMM's process-wide choices again; until then, defaults. */
    if (atomic_exchange(&oct__tune_forced_isa, 0)) oct__sgemm_force(-1);
    oct__sgemm_blocks(0, 0, 0);
    oct__tuning_now = was_tuning;
    free(tu.x);
    free(tu.y);
    free(tu.check_x);
    free(tu.want);
    oct_model_free(m);
    oct_context_free(ctx);
    return s;
}
