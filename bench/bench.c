/* bench.c — `octcl bench`: for each (device, alpha, batch) an OctNetMini (seeded random
 * weights, or a trained model file) is checked against the reference path on two images,
 * warmed up, then timed over repeats (wall clock and device time); the rows go out as a
 * table, a JSON array of flat objects and CSV. bench/README.md defines every field.
 */
#include "bench.h"
#include "cli_common.h"
#include "octcl.h"

#define _DEFAULT_SOURCE /* strdup on glibc */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef OCTCL_BENCH_DATA_DIR
#define OCTCL_BENCH_DATA_DIR "/usr/share/datasets/fashion-mnist"
#endif

#define CMD "bench"           /* the subcommand, in usage errors */
#define MAX_LIST 64           /* items in one list option */
#define CHECK_BATCH 2         /* images in the reference check */
#define CHECK_SIDE 32         /* the check's height and width are capped at this */
#define CHECK_ATOL 1e-3       /* |device - ref| <= ATOL + RTOL * |ref| */
#define CHECK_RTOL 1e-3
#define ACC_CHUNK 256         /* images per forward pass when measuring accuracy */
#define DEFAULT_SEED 1234

/* ------------------------------------------------------------------------------------ */
/* Small helpers                                                                          */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Minimum and median of v[0..n) (n >= 1); v is sorted in place. */
static void min_median(double *v, int n, double *mn, double *med)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *mn = v[0];
    *med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Seeded inputs in [-2, 2] (splitmix64). */
static void fill_random(float *x, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        x[i] = (float)(-2.0 + 4.0 * ((double)(z >> 11) * (1.0 / 9007199254740992.0)));
    }
}

/* ------------------------------------------------------------------------------------ */
/* Options                                                                                */

typedef struct {
    double alphas[MAX_LIST];
    int n_alphas;
    int batches[MAX_LIST];
    int n_batches;
    char *devices[MAX_LIST];     /* point into device_buf */
    int n_devices;
    char device_buf[4096];
    int hs[MAX_LIST], ws[MAX_LIST];  /* --size list */
    int n_sizes, size_given;
    int alphas_given;
    int in_channels, classes, in_given, classes_given;
    int repeat, warmup;
    int accuracy_images;
    int check;                   /* 0: --no-check */
    uint64_t seed;
    const char *models, *data, *json, *csv;
    const char *model_files[MAX_LIST];   /* --model, repeatable: rows per file instead of per alpha */
    int n_model_files;
} bench_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: octcl bench [--alphas LIST] [--batch LIST] [--size LIST] [--in-channels C]\n"
            "                   [--classes K] [--device LIST] [--repeat N] [--warmup N]\n"
            "                   [--models DIR [--data DIR] [--accuracy-images N]] [--seed S]\n"
            "                   [--no-check] [--json FILE] [--csv FILE]\n"
            "       octcl bench --model FILE [--model FILE ...] [--batch LIST] [--size LIST] ...\n"
            "\n"
            "Time OctNetMini's forward pass for every (device, alpha, batch): a warm-up, then\n"
            "N timed passes; report the minimum and median wall time (and device time where\n"
            "the backend measures it), images/s and GFLOP/s from the minimum, the fraction of\n"
            "the device's measured FP32 peak, and the speed-up over alpha 0 beside the MAC\n"
            "ratio. Each model is first checked against the reference path on %d images.\n"
            "\n"
            "options:\n"
            "  --alphas LIST        alphas in [0, 1] (default 0,0.25,0.5,0.75)\n"
            "  --batch LIST         batch sizes (default 1,256)\n"
            "  --size LIST          input sizes HxW,HxW,... (default 32x32; with --models, the data\n"
            "                       set's)\n"
            "  --in-channels C      input channels of the random models (default 3)\n"
            "  --classes K          classes of the random models (default 10)\n"
            "  --device LIST        devices: auto, opencl, opencl:P:D, cpu, ref (default auto,cpu;\n"
            "                       a device listed twice under two names runs once)\n"
            "  --repeat N           timed passes per row (default 20)\n"
            "  --warmup N           untimed passes before them (default 3)\n"
            "  --models DIR         time the model files in DIR (every *.safetensors and *.onnx, any\n"
            "                       name; alpha from each file) instead of random ones, and measure\n"
            "                       their accuracy; --alphas then picks among them\n"
            "  --model FILE         time this model file (ONNX, or OctNetMini safetensors) instead of the\n"
            "                       alphas; repeat for several (rows per file and batch; --size defaults\n"
            "                       to the first file's declared input size; MACs from its graph; the\n"
            "                       reference check runs at the full size)\n"
            "  --data DIR           Fashion-MNIST folder (default " OCTCL_BENCH_DATA_DIR ")\n"
            "  --accuracy-images N  test images for the accuracy (default 2000)\n"
            "  --seed S             seed of the random weights and inputs (default %d)\n"
            "  --no-check           skip the reference check (matched_reference is null)\n"
            "  --json FILE          write the rows as a JSON array ('-': stdout)\n"
            "  --csv FILE           write the rows as CSV ('-': stdout)\n"
            "  -h, --help           this help\n"
            "\n"
            "The table goes to stdout, or to stderr when --json or --csv is '-', a row at a time as\n"
            "each finishes; alpha 0 runs first so that every row's speed-up is known when printed.\n"
            "JSON and CSV are written at the end.\n"
            "Exit status: 0 success, 1 a device or model failed or a result disagreed with\n"
            "the reference, 2 bad usage.\n",
            CHECK_BATCH, DEFAULT_SEED);
}

/* Split a comma list into at most MAX_LIST non-empty items of buf (modified in place). */
static int split_list(const char *opt, char *buf, char **items, int *n)
{
    *n = 0;
    for (char *p = buf;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (!*p) return cli_usage_error(CMD, "--%s: empty item in the list", opt), 0;
        if (*n == MAX_LIST) return cli_usage_error(CMD, "--%s: more than %d items", opt, MAX_LIST), 0;
        items[(*n)++] = p;
        if (!comma) return 1;
        p = comma + 1;
    }
}

static int parse_alphas(const char *s, bench_opts *o)
{
    char buf[4096], *items[MAX_LIST];
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
        return cli_usage_error(CMD, "--alphas: list too long"), 0;
    if (!split_list("alphas", buf, items, &o->n_alphas)) return 0;
    for (int i = 0; i < o->n_alphas; i++) {
        if (!cli_parse_double(CMD, "alphas", items[i], 0, 1, &o->alphas[i])) return 0;
        for (int j = 0; j < i; j++)
            if (o->alphas[j] == o->alphas[i])
                return cli_usage_error(CMD, "--alphas: %s is listed twice", items[i]), 0;
    }
    return 1;
}

static int parse_sizes(const char *s, bench_opts *o)
{
    char buf[4096], *items[MAX_LIST];
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
        return cli_usage_error(CMD, "--size: list too long"), 0;
    if (!split_list("size", buf, items, &o->n_sizes)) return 0;
    for (int i = 0; i < o->n_sizes; i++) {
        if (!cli_parse_size(CMD, "size", items[i], 16384, &o->hs[i], &o->ws[i])) return 0;
        for (int j = 0; j < i; j++)
            if (o->hs[j] == o->hs[i] && o->ws[j] == o->ws[i])
                return cli_usage_error(CMD, "--size: %s is listed twice", items[i]), 0;
    }
    return 1;
}

static int parse_batches(const char *s, bench_opts *o)
{
    char buf[4096], *items[MAX_LIST];
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
        return cli_usage_error(CMD, "--batch: list too long"), 0;
    if (!split_list("batch", buf, items, &o->n_batches)) return 0;
    for (int i = 0; i < o->n_batches; i++) {
        if (!cli_parse_int(CMD, "batch", items[i], 1, 65536, &o->batches[i])) return 0;
        for (int j = 0; j < i; j++)
            if (o->batches[j] == o->batches[i])
                return cli_usage_error(CMD, "--batch: %s is listed twice", items[i]), 0;
    }
    return 1;
}

enum {
    OPT_MODEL = 100,
    OPT_ALPHAS = 1, OPT_BATCH, OPT_SIZE, OPT_IN, OPT_CLASSES, OPT_DEVICE, OPT_REPEAT, OPT_WARMUP,
    OPT_MODELS, OPT_DATA, OPT_ACC, OPT_SEED, OPT_NO_CHECK, OPT_JSON, OPT_CSV
};

static const cli_option opt_defs[] = {
    {"alphas", 1, OPT_ALPHAS}, {"batch", 1, OPT_BATCH},   {"size", 1, OPT_SIZE},   {"in-channels", 1, OPT_IN},
    {"classes", 1, OPT_CLASSES}, {"device", 1, OPT_DEVICE}, {"repeat", 1, OPT_REPEAT}, {"warmup", 1, OPT_WARMUP},
    {"models", 1, OPT_MODELS}, {"data", 1, OPT_DATA},     {"accuracy-images", 1, OPT_ACC}, {"seed", 1, OPT_SEED},
    {"no-check", 0, OPT_NO_CHECK}, {"json", 1, OPT_JSON}, {"csv", 1, OPT_CSV},     {"model", 1, OPT_MODEL},
    {NULL, 0, 0},
};

/* CLI_OK to go on (*help set for -h / --help), or CLI_USAGE after a one-line error. */
static int parse_options(int argc, char **argv, bench_opts *o, int *help)
{
    memset(o, 0, sizeof *o);
    *help = 0;
    parse_alphas("0,0.25,0.5,0.75", o);
    parse_batches("1,256", o);
    parse_sizes("32x32", o);
    o->in_channels = 3, o->classes = 10;
    snprintf(o->device_buf, sizeof o->device_buf, "auto,cpu");
    o->repeat = 20, o->warmup = 3;
    o->accuracy_images = 2000;
    o->check = 1;
    o->seed = DEFAULT_SEED;
    o->data = OCTCL_BENCH_DATA_DIR;
    cli_parser p;
    cli_parser_init(&p, CMD, argc, argv, opt_defs);
    const char *v;
    for (int id; (id = cli_next(&p, &v)) != CLI_OPT_END;) {
        int ok = 1;
        switch (id) {
        case CLI_OPT_ERROR: return CLI_USAGE;
        case CLI_OPT_HELP: *help = 1; return CLI_OK;
        case OPT_ALPHAS: ok = o->alphas_given = parse_alphas(v, o); break;
        case OPT_BATCH: ok = parse_batches(v, o); break;
        case OPT_SIZE: ok = o->size_given = parse_sizes(v, o); break;
        case OPT_IN: ok = o->in_given = cli_parse_int(CMD, "in-channels", v, 1, 4096, &o->in_channels); break;
        case OPT_CLASSES: ok = o->classes_given = cli_parse_int(CMD, "classes", v, 1, 1000000, &o->classes); break;
        case OPT_DEVICE:
            if (snprintf(o->device_buf, sizeof o->device_buf, "%s", v) >= (int)sizeof o->device_buf)
                return cli_usage_error(CMD, "--device: list too long");
            break;
        case OPT_REPEAT: ok = cli_parse_int(CMD, "repeat", v, 1, 1000000, &o->repeat); break;
        case OPT_WARMUP: ok = cli_parse_int(CMD, "warmup", v, 0, 1000000, &o->warmup); break;
        case OPT_MODELS: o->models = v; break;
        case OPT_DATA: o->data = v; break;
        case OPT_ACC: ok = cli_parse_int(CMD, "accuracy-images", v, 1, INT_MAX, &o->accuracy_images); break;
        case OPT_SEED: ok = cli_parse_u64(CMD, "seed", v, &o->seed); break;
        case OPT_NO_CHECK: o->check = 0; break;
        case OPT_JSON: o->json = v; break;
        case OPT_CSV: o->csv = v; break;
        case OPT_MODEL:
            if (o->n_model_files == MAX_LIST) return cli_usage_error(CMD, "--model: more than %d files", MAX_LIST);
            o->model_files[o->n_model_files++] = v;
            break;
        }
        if (!ok) return CLI_USAGE;
    }
    if (!split_list("device", o->device_buf, o->devices, &o->n_devices)) return CLI_USAGE;
    if (o->models && strlen(o->models) > 4000) return cli_usage_error(CMD, "--models: path too long");
    if (o->n_model_files && (o->models || o->alphas_given || o->in_given || o->classes_given))
        return cli_usage_error(CMD, "--%s cannot be combined with --model: it comes from the model file",
                               o->models ? "models" : o->alphas_given ? "alphas" : o->in_given ? "in-channels"
                                                                                                : "classes");
    if (o->models && (o->in_given || o->classes_given))
        return cli_usage_error(CMD, "--%s cannot be combined with --models: it comes from the model files",
                               o->in_given ? "in-channels" : "classes");
    if (o->json && o->csv && strcmp(o->json, o->csv) == 0)
        return cli_usage_error(CMD, "--json and --csv both name '%s'", o->json);
    if ((o->json && !*o->json) || (o->csv && !*o->csv))
        return cli_usage_error(CMD, "--%s: empty file name", o->json && !*o->json ? "json" : "csv");
    return CLI_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Rows                                                                                   */

typedef struct {
    int dev;                         /* index of the device in this run */
    char device[256], platform[256], driver[128], backend[16], label[32];
    double alpha;
    int batch, h, w, in_channels, classes;
    char model[4096];
    long long macs, macs0, parameters;
    long long macs_exec;                             /* executed per image, -1: not counted */
    size_t activation_bytes;
    double ms_min, ms_median, dev_min, dev_median;   /* NAN: unavailable */
    double peak, first_result_ms;                    /* NAN: unavailable */
    double speedup;                                  /* NAN until computed / no alpha 0 */
    int matched;                                     /* -1 not checked, 0 no, 1 yes */
    double max_abs_error;
    int check_h, check_w;
    double accuracy;                                 /* NAN: not measured */
    int accuracy_images;
    char tuning[640];                                /* oct_context_tuning: tuned or default, why */
} bench_row;

typedef struct {
    const char *version, *command, *timestamp;
    int warmup, repeat;
} run_meta;

/* One field's value, formatted for JSON and CSV alike. */
typedef enum { V_NULL, V_STR, V_NUM, V_BOOL } vkind;
typedef struct {
    vkind kind;
    char text[64];   /* V_NUM / V_BOOL */
    const char *str; /* V_STR */
} fval;

static fval v_str(const char *s) { return (fval){V_STR, "", s}; }
static fval v_null(void) { return (fval){V_NULL, "", NULL}; }
static fval v_num(double d, const char *fmt)
{
    fval v = {V_NUM, "", NULL};
    if (!isfinite(d)) return v_null();
    snprintf(v.text, sizeof v.text, fmt, d);
    return v;
}
static fval v_ll(long long x)
{
    fval v = {V_NUM, "", NULL};
    snprintf(v.text, sizeof v.text, "%lld", x);
    return v;
}
static fval v_bool(int b)
{
    fval v = {V_BOOL, "", NULL};
    snprintf(v.text, sizeof v.text, "%s", b ? "true" : "false");
    return v;
}

static const char *const field_names[] = {
    "device", "backend", "platform", "driver", "alpha", "batch", "size", "in_channels", "classes", "model",
    "macs_per_image", "parameters", "activation_bytes", "warmup", "repeat", "ms_min", "ms_median",
    "device_ms_min", "device_ms_median", "images_per_second", "gflops", "peak_gflops", "peak_fraction",
    "speedup", "theoretical_speedup", "realised", "matched_reference", "max_abs_error", "check_size",
    "accuracy", "accuracy_images", "first_result_ms", "octcl_version", "command", "timestamp", "tuning",
    "macs_executed_per_image",
};
#define FIELD_COUNT (int)(sizeof field_names / sizeof field_names[0])

static double row_gflops(const bench_row *r) { return 2.0 * (double)r->macs * r->batch / (r->ms_min * 1e6); }
static double row_theoretical(const bench_row *r)
{
    return r->macs > 0 && r->macs0 > 0 ? (double)r->macs0 / (double)r->macs : NAN;
}

/* Field k of row r; buf holds formatted strings that outlive the call. */
static fval row_field(const bench_row *r, const run_meta *m, int k, char *buf, size_t len)
{
    switch (k) {
    case 0: return v_str(r->device);
    case 1: return v_str(r->backend);
    case 2: return v_str(r->platform);
    case 3: return v_str(r->driver);
    case 4: return v_num(r->alpha, "%.6g");
    case 5: return v_ll(r->batch);
    case 6: snprintf(buf, len, "%dx%d", r->h, r->w); return v_str(buf);
    case 7: return v_ll(r->in_channels);
    case 8: return v_ll(r->classes);
    case 9: return v_str(r->model);
    case 10: return v_ll(r->macs);
    case 11: return v_ll(r->parameters);
    case 12: return v_ll((long long)r->activation_bytes);
    case 13: return v_ll(m->warmup);
    case 14: return v_ll(m->repeat);
    case 15: return v_num(r->ms_min, "%.6g");
    case 16: return v_num(r->ms_median, "%.6g");
    case 17: return v_num(r->dev_min, "%.6g");
    case 18: return v_num(r->dev_median, "%.6g");
    case 19: return v_num(r->batch / (r->ms_min * 1e-3), "%.6g");
    case 20: return v_num(row_gflops(r), "%.6g");
    case 21: return v_num(r->peak, "%.6g");
    case 22: return v_num(row_gflops(r) / r->peak, "%.4g");
    case 23: return v_num(r->speedup, "%.4g");
    case 24: return v_num(row_theoretical(r), "%.4g");
    case 25: return v_num(r->speedup / row_theoretical(r), "%.4g");
    case 26: return r->matched < 0 ? v_null() : v_bool(r->matched);
    case 27: return r->matched < 0 ? v_null() : v_num(r->max_abs_error, "%.3g");
    case 28:
        if (r->matched < 0) return v_null();
        snprintf(buf, len, "%dx%d", r->check_h, r->check_w);
        return v_str(buf);
    case 29: return v_num(r->accuracy, "%.4f");
    case 30: return isfinite(r->accuracy) ? v_ll(r->accuracy_images) : v_null();
    case 31: return v_num(r->first_result_ms, "%.6g");
    case 32: return v_str(m->version);
    case 33: return v_str(m->command);
    case 34: return v_str(m->timestamp);
    case 35: return v_str(r->tuning);
    case 36: return r->macs_exec < 0 ? v_null() : v_ll(r->macs_exec);
    }
    return v_null();
}

static void write_json(FILE *f, const bench_row *rows, int n, const run_meta *m)
{
    char buf[64];
    fputs("[", f);
    for (int i = 0; i < n; i++) {
        fputs(i ? ",\n  {" : "\n  {", f);
        for (int k = 0; k < FIELD_COUNT; k++) {
            fval v = row_field(&rows[i], m, k, buf, sizeof buf);
            fprintf(f, "%s\"%s\": ", k ? ", " : "", field_names[k]);
            if (v.kind == V_NULL)
                fputs("null", f);
            else if (v.kind == V_STR)
                cli_json_string(f, v.str);
            else
                fputs(v.text, f);
        }
        fputs("}", f);
    }
    fputs(n ? "\n]\n" : "]\n", f);
}

static void csv_string(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void write_csv(FILE *f, const bench_row *rows, int n, const run_meta *m)
{
    char buf[64];
    for (int k = 0; k < FIELD_COUNT; k++) fprintf(f, "%s%s", k ? "," : "", field_names[k]);
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < FIELD_COUNT; k++) {
            fval v = row_field(&rows[i], m, k, buf, sizeof buf);
            if (k) fputc(',', f);
            if (v.kind == V_STR)
                csv_string(f, v.str);
            else if (v.kind != V_NULL)
                fputs(v.text, f);
        }
        fputc('\n', f);
    }
}

/* A number for the table, "-" when unavailable. */
static const char *tab_num(char *buf, size_t len, double v, const char *fmt)
{
    if (!isfinite(v)) return "-";
    snprintf(buf, len, fmt, v);
    return buf;
}

/* The table streams: a device's header before its first row, a row as soon as it is
 * measured, the footnote at the end. */
static void table_device(FILE *f, const bench_row *r, int first)
{
    char a[32], b[32];
    fprintf(f, "%s%s: %s [%s%s%s], driver %s, peak %s GFLOP/s, first result %s ms\n", first ? "" : "\n", r->label,
            r->device, r->backend, r->platform[0] ? ", " : "", r->platform, r->driver[0] ? r->driver : "-",
            tab_num(a, sizeof a, r->peak, "%.1f"), tab_num(b, sizeof b, r->first_result_ms, "%.1f"));
    fprintf(f, "  tuning: %s\n", r->tuning);
    fprintf(f, "  %-5s %5s %9s %10s %10s %10s %10s %9s %6s %7s %6s %8s %6s %7s\n", "alpha", "batch", "size",
            "ms_min", "ms_median", "dev_ms_min", "img/s", "GFLOP/s", "%peak", "speedup", "theory", "realised", "ref",
            "acc");
}

static void table_row(FILE *f, const bench_row *r)
{
    char size[24], t[10][32], alb[32];
    double g = row_gflops(r), th = row_theoretical(r);
    snprintf(size, sizeof size, "%dx%d", r->h, r->w);
    fprintf(f, "  %-5s %5d %9s %10s %10s %10s %10s %9s %6s %7s %6s %8s %6s %7s\n", tab_num(alb, sizeof alb, r->alpha, "%.2f"),
            r->batch, size,
            tab_num(t[0], 32, r->ms_min, "%.3f"), tab_num(t[1], 32, r->ms_median, "%.3f"),
            tab_num(t[2], 32, r->dev_min, "%.3f"), tab_num(t[3], 32, r->batch / (r->ms_min * 1e-3), "%.1f"),
            tab_num(t[4], 32, g, "%.2f"), tab_num(t[5], 32, 100.0 * g / r->peak, "%.1f"),
            tab_num(t[6], 32, r->speedup, "%.2f"), tab_num(t[7], 32, th, "%.2f"), tab_num(t[8], 32, r->speedup / th, "%.2f"),
            r->matched < 0 ? "-" : r->matched ? "ok" : "FAIL", tab_num(t[9], 32, 100.0 * r->accuracy, "%.2f%%"));
    fflush(f);
}

static void table_footnote(FILE *f, const run_meta *m)
{
    fprintf(f,
            "\nms: wall clock of oct_model_forward (upload, kernels, read-back), min / median of %d passes after "
            "%d warm-up; img/s, GFLOP/s (2 x MACs) and speedup from ms_min; theory = MACs(alpha 0) / MACs(alpha)\n",
            m->repeat, m->warmup);
}

/* Speed-up of row r over alpha 0 on the same device, batch and size, from ms_min (NAN
 * while no such row exists). */
static double row_speedup(const bench_row *rows, int n, const bench_row *r)
{
    for (int j = 0; j < n; j++) {
        const bench_row *z = &rows[j];
        if (z->dev == r->dev && z->batch == r->batch && z->h == r->h && z->w == r->w && z->alpha == 0.0)
            return z->ms_min / r->ms_min;
    }
    return NAN;
}

/* ------------------------------------------------------------------------------------ */
/* The run                                                                                */

typedef struct {
    const bench_opts *o;
    oct_context *ref;           /* the reference path, for the check */
    float **ref_logits;         /* per model: (CHECK_BATCH, classes), NULL until computed */
    double *alphas;             /* per model: its alpha (alpha 0 first) */
    char **paths;               /* per model: its file (--models), or NULL: random weights */
    int n_models;
    FILE *table;                /* where the table streams */
    int files_mode;             /* --model files: no alpha-0 MAC baseline */
    int full_check;             /* the check runs at the full size (models with a fixed input size) */
    int printed_dev;            /* the device whose header the table last printed, -1 none */
    int check_h, check_w;
    float *check_x;             /* (CHECK_BATCH, in_c, check_h, check_w) */
    float *x;                   /* (max batch, in_c, h, w) timing input */
    int in_c, classes;          /* of every model in the run */
    oct_idx images, labels;     /* --models: the test set (N, 28, 28), (N) */
    int have_data;
    int acc_images;             /* images in the accuracy */
} bench_state;

/* Model k of the run on ctx: a file under --models, or seeded random weights. */
static oct_status make_model(const bench_state *st, oct_context *ctx, int k, oct_model **m, char *desc, size_t len)
{
    const bench_opts *o = st->o;
    if (!st->paths) {
        snprintf(desc, len, "random seed %llu", (unsigned long long)o->seed);
        return oct_model_create_random(ctx, o->in_channels, o->classes, st->alphas[k], o->seed, m);
    }
    snprintf(desc, len, "%s", st->paths[k]);
    return oct_model_load(ctx, st->paths[k], m);
}

/* "alpha 0.50", or the file of model k (its alpha, if any, in brackets), for messages. */
static void model_what(const bench_state *st, int k, char *buf, size_t len)
{
    if (!st->paths)
        snprintf(buf, len, "alpha %.2f", st->alphas[k]);
    else if (st->alphas[k] >= 0)
        snprintf(buf, len, "%s (alpha %.2f)", st->paths[k], st->alphas[k]);
    else
        snprintf(buf, len, "%s", st->paths[k]);
}

/* MACs of one image at alpha 0 for the model's in_channels and classes. */
static long long macs_alpha0(const bench_state *st, const oct_model_info *mi, int h, int w)
{
    oct_model *m0 = NULL;
    if (oct_model_create_random(st->ref, mi->in_channels, mi->num_classes, 0.0, 1, &m0) != OCT_OK) return 0;
    long long macs = oct_model_macs(m0, h, w);
    oct_model_free(m0);
    return macs;
}

/* The reference logits of alpha index ai (computed once, shared by every device). */
static oct_status ref_logits(bench_state *st, int ai, const oct_model_info *mi, const float **out)
{
    if (!st->ref_logits[ai]) {
        oct_model *m = NULL;
        char desc[4096];
        float *l = malloc((size_t)CHECK_BATCH * (size_t)mi->num_classes * sizeof *l);
        if (!l) return OCT_ERR_HOST_MEMORY;
        oct_status s = make_model(st, st->ref, ai, &m, desc, sizeof desc);
        if (s == OCT_OK) s = oct_model_forward(m, st->check_x, CHECK_BATCH, st->check_h, st->check_w, l, NULL, NULL);
        oct_model_free(m);
        if (s != OCT_OK) {
            free(l);
            return s;
        }
        st->ref_logits[ai] = l;
    }
    *out = st->ref_logits[ai];
    return OCT_OK;
}

/* Fraction of the first st->acc_images test images the model classifies right. */
static oct_status accuracy(const bench_state *st, oct_model *m, const oct_model_info *mi, double *acc)
{
    int h = (int)st->images.shape[1], w = (int)st->images.shape[2], correct = 0;
    size_t pixels = (size_t)h * (size_t)w;
    float *x = malloc((size_t)ACC_CHUNK * pixels * sizeof *x);
    float *logits = malloc((size_t)ACC_CHUNK * (size_t)mi->num_classes * sizeof *logits);
    oct_status s = OCT_OK;
    double mean = mi->has_norm ? mi->mean : 0.0, sd = mi->has_norm ? mi->std : 1.0;
    if (!x || !logits) {
        s = OCT_ERR_HOST_MEMORY;
        goto done;
    }
    for (int start = 0; start < st->acc_images; start += ACC_CHUNK) {
        int n = st->acc_images - start < ACC_CHUNK ? st->acc_images - start : ACC_CHUNK;
        const uint8_t *px = st->images.data + (size_t)start * pixels;
        for (size_t i = 0; i < (size_t)n * pixels; i++) x[i] = (float)((px[i] / 255.0 - mean) / sd);
        if ((s = oct_model_forward(m, x, n, h, w, logits, NULL, NULL)) != OCT_OK) goto done;
        for (int i = 0; i < n; i++) {
            const float *v = logits + (size_t)i * mi->num_classes;
            int best = 0;
            for (int c = 1; c < mi->num_classes; c++)
                if (v[c] > v[best]) best = c;
            correct += best == st->labels.data[start + i];
        }
    }
    *acc = (double)correct / st->acc_images;
done:
    free(logits);
    free(x);
    return s;
}

static void note_no_device_time(const char *label, oct_status s)
{
    fprintf(stderr, "octcl bench: note: %s: no device time (%s); device_ms_* are null, wall time only\n", label,
            cli_status_text(s));
}

/* Warm up, then time o->repeat passes of a batch of n: wall[] and dev[] (ms) get the
 * times. *dev_ok is cleared, with a note, the first time device time is unavailable. */
static oct_status time_batch(const bench_opts *o, oct_context *ctx, oct_model *m, const float *x, int n, int h, int w,
                             float *logits, double *wall, double *dev, int *dev_ok, const char *label,
                             long long *macs_exec)
{
    oct_status s;
    long long before = -1, after = -1;
    for (int i = 0; i < o->warmup; i++)
        if ((s = oct_model_forward(m, x, n, h, w, logits, NULL, NULL)) != OCT_OK) return s;
    oct_context_macs_executed(ctx, &before);
    for (int r = 0; r < o->repeat; r++) {
        if (*dev_ok && (s = oct_context_profile(ctx, 1)) != OCT_OK) {
            note_no_device_time(label, s);
            *dev_ok = 0;
        }
        double t0 = cli_now();
        if ((s = oct_model_forward(m, x, n, h, w, logits, NULL, NULL)) != OCT_OK) return s;
        wall[r] = 1e3 * (cli_now() - t0);
        if (*dev_ok && (s = oct_context_device_ms(ctx, &dev[r])) != OCT_OK) {
            note_no_device_time(label, s);
            *dev_ok = 0;
        }
    }
    if (*dev_ok) oct_context_profile(ctx, 0);
    oct_context_macs_executed(ctx, &after);
    *macs_exec = before >= 0 && after >= before && o->repeat > 0 && n > 0
                     ? (after - before) / ((long long)o->repeat * n)
                     : -1;
    return OCT_OK;
}

static int same_device(const oct_device_info *a, const oct_device_info *b)
{
    return a->backend == b->backend && a->platform_index == b->platform_index && a->device_index == b->device_index;
}

static void progress(const char *label, const char *what, int batch)
{
    if (!isatty(STDERR_FILENO)) return;
    if (label)
        fprintf(stderr, "\r\033[K%s %s batch %d ...", label, what, batch);
    else
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

typedef struct {
    oct_device_info seen[MAX_LIST];   /* devices already run, to skip a second name for one */
    int n_seen;
    bench_row *rows;               /* n_rows of cap */
    int n_rows, cap;
} bench_out;

/* Every (alpha, batch) on one device. Returns CLI_OK, CLI_FAILED (reported; the rows
 * that did run are kept) or CLI_USAGE. */
static int run_device(bench_state *st, int d, bench_out *out)
{
    const bench_opts *o = st->o;
    const char *spec = o->devices[d];
    oct_context *ctx = NULL;
    oct_model *m = NULL;
    oct_device_info info;
    float *logits = NULL;
    double *wall = NULL, *dev = NULL, peak = NAN, first_ms = NAN;
    char desc[4096], label[32];
    int rc = CLI_OK, dev_ok = 1, max_batch = CHECK_BATCH;
    for (int i = 0; i < o->n_batches; i++)
        if (o->batches[i] > max_batch) max_batch = o->batches[i];
    char first_what[4200];
    model_what(st, 0, first_what, sizeof first_what);

    /* Cold start: context, the first alpha's model, one image's logits. */
    double t0 = cli_now();
    oct_status s = oct_context_create(spec, &ctx);
    if (s == OCT_ERR_BAD_DEVICE_SPEC) return cli_usage_error(CMD, "--device %s: %s", spec, cli_status_text(s));
    if (s != OCT_OK) return cli_fail("device %s: %s", spec, cli_status_text(s));
    if ((s = oct_context_info(ctx, &info)) != OCT_OK) {
        rc = cli_fail("device %s: %s", spec, cli_status_text(s));
        goto done;
    }
    if (info.backend == OCT_BACKEND_OPENCL)
        snprintf(label, sizeof label, "opencl:%d:%d", info.platform_index, info.device_index);
    else
        snprintf(label, sizeof label, "%s", cli_backend_name(info.backend));
    for (int i = 0; i < out->n_seen; i++)
        if (same_device(&out->seen[i], &info)) {
            fprintf(stderr, "octcl bench: note: --device %s is %s (%s), already measured; skipped\n", spec, label,
                    info.name);
            goto done;
        }
    out->seen[out->n_seen++] = info;
    logits = malloc((size_t)max_batch * (size_t)st->classes * sizeof *logits);
    wall = malloc((size_t)o->repeat * sizeof *wall);
    dev = malloc((size_t)o->repeat * sizeof *dev);
    if (!logits || !wall || !dev) {
        rc = cli_fail("out of host memory for batch %d", max_batch);
        goto done;
    }
    if ((s = make_model(st, ctx, 0, &m, desc, sizeof desc)) == OCT_OK &&
        (s = oct_model_forward(m, st->x, 1, o->hs[0], o->ws[0], logits, NULL, NULL)) == OCT_OK)
        first_ms = 1e3 * (cli_now() - t0);
    oct_model_free(m);
    m = NULL;
    if (s != OCT_OK) {
        rc = cli_fail("%s, %s: %s", label, first_what, cli_status_text(s));
        goto done;
    }
    fprintf(stderr, "octcl bench: %s: %s (%s)\n", label, info.name, info.reason);
    char tuning[640] = "";
    int tuned = 0;
    if (oct_context_tuning(ctx, &tuned, tuning, sizeof tuning) != OCT_OK) snprintf(tuning, sizeof tuning, "unknown");
    if ((s = oct_context_peak_gflops(ctx, &peak)) != OCT_OK) {
        fprintf(stderr, "octcl bench: note: %s: no peak (%s); peak_* are null\n", label, cli_status_text(s));
        peak = NAN;
    }

    for (int ai = 0; ai < st->n_models; ai++) {
        double alpha = st->alphas[ai];
        char what[4200];
        model_what(st, ai, what, sizeof what);
        oct_model_info mi;
        if ((s = make_model(st, ctx, ai, &m, desc, sizeof desc)) != OCT_OK ||
            (s = oct_model_info_get(m, &mi)) != OCT_OK) {
            rc = cli_fail("%s, %s: %s", label, what, cli_status_text(s));
            goto next_alpha;
        }
        /* The check: two images on this device against the reference path. */
        int matched = -1;
        double max_err = 0;
        if (o->check) {
            const float *want;
            progress(label, what, CHECK_BATCH);
            if ((s = ref_logits(st, ai, &mi, &want)) != OCT_OK) {
                rc = cli_fail("ref, %s: %s", what, cli_status_text(s));
                goto next_alpha;
            }
            if ((s = oct_model_forward(m, st->check_x, CHECK_BATCH, st->check_h, st->check_w, logits, NULL, NULL)) !=
                OCT_OK) {
                rc = cli_fail("%s, %s: %s", label, what, cli_status_text(s));
                goto next_alpha;
            }
            matched = 1;
            for (int i = 0; i < CHECK_BATCH * mi.num_classes; i++) {
                double e = fabs((double)logits[i] - want[i]);
                if (!(e <= max_err)) max_err = isnan(e) ? INFINITY : e;
                if (!(e <= CHECK_ATOL + CHECK_RTOL * fabs((double)want[i]))) matched = 0;
            }
            if (!matched) {
                rc = cli_fail("%s, %s: logits differ from the reference path by up to %.3g "
                              "(tolerance %g + %g x |ref|)",
                              label, what, max_err, CHECK_ATOL, CHECK_RTOL);
            }
        }
        double acc = NAN;
        if (st->have_data) {
            progress(label, what, ACC_CHUNK);
            if ((s = accuracy(st, m, &mi, &acc)) != OCT_OK) {
                rc = cli_fail("%s, %s, accuracy: %s", label, what, cli_status_text(s));
                acc = NAN;
            }
        }
        for (int si = 0; si < o->n_sizes * o->n_batches; si++) {
            int n = o->batches[si % o->n_batches], h = o->hs[si / o->n_batches], w = o->ws[si / o->n_batches];
            progress(label, what, n);
            long long macs_exec = -1;
            if ((s = time_batch(o, ctx, m, st->x, n, h, w, logits, wall, dev, &dev_ok, label, &macs_exec)) !=
                OCT_OK) {
                progress(NULL, NULL, 0);
                rc = cli_fail("%s, %s, batch %d, size %dx%d: %s", label, what, n, h, w, cli_status_text(s));
                continue;
            }
            if (out->n_rows == out->cap) {
                int cap = out->cap ? 2 * out->cap : 16;
                bench_row *grown = realloc(out->rows, (size_t)cap * sizeof *grown);
                if (!grown) {
                    rc = cli_fail("out of host memory for %d rows", cap);
                    goto next_alpha;
                }
                out->rows = grown, out->cap = cap;
            }
            bench_row *r = &out->rows[out->n_rows++];
            memset(r, 0, sizeof *r);
            r->dev = out->n_seen - 1;
            snprintf(r->device, sizeof r->device, "%s", info.name);
            snprintf(r->platform, sizeof r->platform, "%s", info.platform);
            snprintf(r->driver, sizeof r->driver, "%s", info.driver);
            snprintf(r->backend, sizeof r->backend, "%s", cli_backend_name(info.backend));
            snprintf(r->label, sizeof r->label, "%s", label);
            snprintf(r->tuning, sizeof r->tuning, "%s", tuning);
            snprintf(r->model, sizeof r->model, "%s", desc);
            r->alpha = alpha;
            r->batch = n, r->h = h, r->w = w;
            r->in_channels = mi.in_channels, r->classes = mi.num_classes;
            r->macs = oct_model_macs(m, h, w);
            r->macs_exec = macs_exec;
            r->macs0 = st->files_mode || !(alpha >= 0) ? 0 : macs_alpha0(st, &mi, h, w);
            r->parameters = mi.parameters;
            r->activation_bytes = oct_model_activation_bytes(m, n, h, w);
            min_median(wall, o->repeat, &r->ms_min, &r->ms_median);
            if (dev_ok)
                min_median(dev, o->repeat, &r->dev_min, &r->dev_median);
            else
                r->dev_min = r->dev_median = NAN;
            r->peak = peak;
            r->first_result_ms = first_ms;
            r->speedup = NAN;
            r->matched = matched;
            r->max_abs_error = max_err;
            r->check_h = st->check_h, r->check_w = st->check_w;
            r->accuracy = acc;
            r->accuracy_images = st->acc_images;
            r->speedup = row_speedup(out->rows, out->n_rows, r);
            progress(NULL, NULL, 0);
            if (st->printed_dev != r->dev) table_device(st->table, r, st->printed_dev < 0);
            st->printed_dev = r->dev;
            table_row(st->table, r);
        }
    next_alpha:
        oct_model_free(m);
        m = NULL;
    }
    progress(NULL, NULL, 0);
done:
    oct_model_free(m);
    free(dev);
    free(wall);
    free(logits);
    oct_context_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Set-up: data, model files, inputs                                                      */

/* Load DIR/NAME.gz, or DIR/NAME when the .gz is absent. */
static int load_idx(const char *dir, const char *name, oct_idx *out)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s.gz", dir, name) >= (int)sizeof path)
        return cli_fail("--data %s: path too long", dir);
    if (access(path, F_OK) != 0) snprintf(path, sizeof path, "%s/%s", dir, name);
    oct_status s = oct_idx_load(path, out);
    return s == OCT_OK ? CLI_OK : cli_fail("%s: %s", path, cli_status_text(s));
}

/* Random models: one per --alphas value, alpha 0 moved first. */
static int random_models(bench_state *st)
{
    const bench_opts *o = st->o;
    st->alphas = malloc((size_t)o->n_alphas * sizeof *st->alphas);
    if (!st->alphas) return cli_fail("out of host memory");
    int k = 0;
    for (int i = 0; i < o->n_alphas; i++)
        if (o->alphas[i] == 0.0) st->alphas[k++] = 0.0;
    for (int i = 0; i < o->n_alphas; i++)
        if (o->alphas[i] != 0.0) st->alphas[k++] = o->alphas[i];
    st->n_models = k;
    return CLI_OK;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

typedef struct {
    double alpha;
    char *path;
} model_file;

/* By alpha (files without one, NaN, last), then by name. */
static int cmp_model_file(const void *a, const void *b)
{
    const model_file *x = a, *y = b;
    if (isnan(x->alpha) != isnan(y->alpha)) return isnan(x->alpha) ? 1 : -1;
    if (!isnan(x->alpha) && x->alpha != y->alpha) return x->alpha < y->alpha ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* One model file on the reference context: its info, and whether its input size is fixed
 * (an ONNX graph exported at one size). */
static oct_status probe_model(bench_state *st, const char *path, oct_model_info *mi, int *fixed_h, int *fixed_w)
{
    oct_model *m = NULL;
    oct_model_tensor in;
    oct_status s = oct_model_load(st->ref, path, &m);
    if (s == OCT_OK) s = oct_model_info_get(m, mi);
    if (s == OCT_OK) s = oct_model_input(m, 0, &in);
    oct_model_free(m);
    *fixed_h = *fixed_w = 0;
    if (s == OCT_OK && in.rank == 4 && in.dims[2] > 0 && in.dims[3] > 0)
        *fixed_h = (int)in.dims[2], *fixed_w = (int)in.dims[3];
    if (s == OCT_OK && mi->alpha < 0) mi->alpha = NAN; /* not an OctNetMini: no alpha */
    return s;
}

/* --model FILE ...: the files in the order given; one in_channels; the size is --size or
 * the first file's declared input size; logits hold the widest output; the reference
 * check runs at the full size (a graph exported at one size may need it). */
static int prepare_model_files(bench_state *st, int *declared_h, int *declared_w)
{
    const bench_opts *o = st->o;
    int n = o->n_model_files;
    st->alphas = malloc((size_t)n * sizeof *st->alphas);
    st->paths = calloc((size_t)n, sizeof *st->paths);
    if (!st->alphas || !st->paths) return cli_fail("out of host memory");
    st->classes = 1;
    st->files_mode = st->full_check = 1;
    for (int i = 0; i < n; i++) {
        oct_model_info mi;
        int fh, fw;
        oct_status s = probe_model(st, o->model_files[i], &mi, &fh, &fw);
        if (s != OCT_OK) return cli_fail("%s: %s", o->model_files[i], cli_status_text(s));
        if (i > 0 && mi.in_channels != st->in_c)
            return cli_fail("%s takes %d input channels, %s %d", o->model_files[i], mi.in_channels, o->model_files[0],
                            st->in_c);
        st->in_c = mi.in_channels;
        if (mi.num_classes > st->classes) st->classes = mi.num_classes;
        if (i == 0) *declared_h = fh, *declared_w = fw;
        if (!(st->paths[i] = strdup(o->model_files[i]))) return cli_fail("out of host memory");
        st->alphas[i] = mi.alpha;
        st->n_models = i + 1;
    }
    return CLI_OK;
}

/* --models DIR: every *.safetensors / *.onnx file, whatever its name, loads (on the
 * reference context) with one in_channels and class count; alpha comes from the file.
 * With --alphas only those alphas run, and each must have a file. Sorted by alpha. */
static int scan_models(bench_state *st)
{
    const bench_opts *o = st->o;
    model_file *files = NULL;
    int n = 0, cap = 0, rc = CLI_OK;
    DIR *d = opendir(o->models);
    if (!d) return cli_fail("--models %s: cannot open the folder: %s", o->models, strerror(errno));
    for (struct dirent *e; (e = readdir(d)) && rc == CLI_OK;) {
        char path[4200];
        struct stat sb;
        if (e->d_name[0] == '.' || !(has_suffix(e->d_name, ".safetensors") || has_suffix(e->d_name, ".onnx")))
            continue;
        snprintf(path, sizeof path, "%s/%s", o->models, e->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        oct_model_info mi;
        int fh, fw;
        oct_status s = probe_model(st, path, &mi, &fh, &fw);
        if (s != OCT_OK) {
            rc = cli_fail("%s: %s", path, cli_status_text(s));
            break;
        }
        if (fh > 0) st->full_check = 1;
        int wanted = !o->alphas_given;
        for (int i = 0; i < o->n_alphas && !wanted; i++) wanted = fabs(o->alphas[i] - mi.alpha) < 1e-9;
        if (!wanted) continue;
        if (n > 0 && (mi.in_channels != st->in_c || mi.num_classes != st->classes)) {
            rc = cli_fail("%s has %d input channels and %d classes, %s %d and %d", path, mi.in_channels,
                          mi.num_classes, files[0].path, st->in_c, st->classes);
            break;
        }
        st->in_c = mi.in_channels, st->classes = mi.num_classes;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            model_file *grown = realloc(files, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = cli_fail("out of host memory");
                break;
            }
            files = grown;
        }
        files[n].alpha = mi.alpha;
        if (!(files[n].path = strdup(path))) {
            rc = cli_fail("out of host memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == CLI_OK && n == 0)
        rc = cli_fail("--models %s: no model file (*.safetensors, *.onnx)%s", o->models,
                      o->alphas_given ? " with one of the --alphas" : "");
    for (int i = 0; i < o->n_alphas && rc == CLI_OK && o->alphas_given; i++) {
        int found = 0;
        for (int k = 0; k < n; k++) found |= fabs(files[k].alpha - o->alphas[i]) < 1e-9;
        if (!found) rc = cli_fail("--models %s: no model file has alpha %g", o->models, o->alphas[i]);
    }
    if (rc == CLI_OK) {
        qsort(files, (size_t)n, sizeof *files, cmp_model_file);
        st->alphas = malloc((size_t)n * sizeof *st->alphas);
        st->paths = calloc((size_t)n, sizeof *st->paths);
        if (!st->alphas || !st->paths) rc = cli_fail("out of host memory");
    }
    for (int k = 0; k < n; k++) {
        if (rc == CLI_OK) {
            st->alphas[k] = files[k].alpha;
            st->paths[k] = files[k].path;
            st->n_models = k + 1;
        } else {
            free(files[k].path);
        }
    }
    free(files);
    return rc;
}

/* --models: the models, then the test set (grayscale, labels inside the classes). */
static int prepare_models(bench_state *st)
{
    const bench_opts *o = st->o;
    int rc;
    if ((rc = scan_models(st)) != CLI_OK) return rc;
    if ((rc = load_idx(o->data, "t10k-images-idx3-ubyte", &st->images)) != CLI_OK) return rc;
    if ((rc = load_idx(o->data, "t10k-labels-idx1-ubyte", &st->labels)) != CLI_OK) return rc;
    const oct_idx *im = &st->images, *lb = &st->labels;
    if (im->ndim != 3 || im->shape[0] < 1 || im->shape[1] < 1 || im->shape[2] < 1 || im->shape[1] > 16384 ||
        im->shape[2] > 16384 || lb->ndim != 1 || lb->shape[0] != im->shape[0])
        return cli_fail("%s: the test images and labels are not (N, H, W) and (N)", o->data);
    if (st->in_c != 1) return cli_fail("the models take %d input channels; Fashion-MNIST images have 1", st->in_c);
    st->acc_images = im->shape[0] < o->accuracy_images ? (int)im->shape[0] : o->accuracy_images;
    for (int i = 0; i < st->acc_images; i++)
        if (lb->data[i] >= st->classes)
            return cli_fail("%s: label %d of image %d is not a class of the models (%d classes)", o->data,
                            lb->data[i], i, st->classes);
    st->have_data = 1;
    return CLI_OK;
}


/* "octcl bench ARGS", quoting arguments with spaces or quotes. */
static char *command_line(int argc, char **argv)
{
    size_t len = 16;
    for (int i = 1; i < argc; i++) len += 2 * strlen(argv[i]) + 4;
    char *c = malloc(len), *p = c;
    if (!c) return NULL;
    p += sprintf(p, "octcl bench");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (*a && !strpbrk(a, " \t\n'\"\\$`")) {
            p += sprintf(p, " %s", a);
            continue;
        }
        *p++ = ' ';
        *p++ = '\'';
        for (; *a; a++) {
            if (*a == '\'') p += sprintf(p, "'\\'");
            *p++ = *a;
        }
        *p++ = '\'';
        *p = '\0';
    }
    return c;
}

/* A --json / --csv output: '-' is stdout; a file is built in memory and written at the
 * end in one atomic replacement, so a failed or interrupted run leaves the old file. */
typedef struct {
    const char *path;
    FILE *f;
    char *buf;
    size_t len;
} bench_output;

static int open_output(bench_output *o, const char *path, const char *opt)
{
    o->path = path;
    if (strcmp(path, "-") == 0) {
        o->f = stdout;
        return CLI_OK;
    }
    /* Fail now, not after minutes of measuring, when the file cannot be made. */
    struct stat sb;
    const char *slash = strrchr(path, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return cli_fail("--%s %s: is a directory", opt, path);
    if (!(stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) && access(dir, W_OK | X_OK) != 0)
        return cli_fail("--%s %s: cannot write in %s: %s", opt, path, dir, strerror(errno));
    o->f = open_memstream(&o->buf, &o->len);
    if (!o->f) return cli_fail("--%s %s: %s", opt, path, strerror(errno));
    return CLI_OK;
}

/* Finish an output: write it when `commit`, else drop it (the old file stays). */
static int close_output(bench_output *o, int commit)
{
    if (!o->f) return CLI_OK;
    int rc = CLI_OK;
    if (o->f == stdout) {
        if (ferror(stdout) || fflush(stdout) != 0) rc = cli_fail("%s: write failed", o->path);
    } else {
        int bad = ferror(o->f);
        bad |= fclose(o->f) != 0;
        if (bad)
            rc = cli_fail("%s: out of host memory building the output", o->path);
        else if (commit)
            rc = cli_write_file(o->path, o->buf, o->len);
        free(o->buf);
    }
    o->f = NULL;
    o->buf = NULL;
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Entry point                                                                            */

int octcl_bench_main(int argc, char **argv)
{
    bench_opts o;
    int help, rc = parse_options(argc, argv, &o, &help);
    if (rc != CLI_OK) return rc;
    if (help) {
        usage(stdout);
        return CLI_OK;
    }
    for (int i = 0; i < o.n_devices; i++)
        if (oct_device_spec_check(o.devices[i]) != OCT_OK) /* the backend registry's forms */
            return cli_usage_error(CMD, "--device: %s", oct_last_error());

    bench_state st;
    bench_out out;
    memset(&st, 0, sizeof st);
    memset(&out, 0, sizeof out);
    st.o = &o;
    st.in_c = o.in_channels, st.classes = o.classes;
    bench_output json = {0}, csv = {0};
    char *command = command_line(argc, argv), stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    run_meta meta = {OCTCL_VERSION, command ? command : "octcl bench", stamp, o.warmup, o.repeat};
    oct_status s;
    int written = 0;

    /* Outputs first, so a bad path fails before minutes of measuring. */
    if ((o.json && open_output(&json, o.json, "json") != CLI_OK) || (o.csv && open_output(&csv, o.csv, "csv") != CLI_OK)) {
        rc = CLI_FAILED;
        goto done;
    }
    if ((s = oct_context_create("ref", &st.ref)) != OCT_OK) {
        rc = cli_fail("reference context: %s", cli_status_text(s));
        goto done;
    }
    int declared_h = 0, declared_w = 0;
    rc = o.models          ? prepare_models(&st)
         : o.n_model_files ? prepare_model_files(&st, &declared_h, &declared_w)
                           : random_models(&st);
    if (rc != CLI_OK) goto done;
    if (o.n_model_files && !o.size_given && declared_h > 0) {
        o.n_sizes = 1;
        o.hs[0] = declared_h, o.ws[0] = declared_w;
    }
    if (o.models && !o.size_given) {
        o.n_sizes = 1;
        o.hs[0] = (int)st.images.shape[1], o.ws[0] = (int)st.images.shape[2];
    }
    st.ref_logits = calloc((size_t)st.n_models, sizeof *st.ref_logits);
    if (!st.ref_logits) {
        rc = cli_fail("out of host memory");
        goto done;
    }

    /* Inputs: the timed batches (largest batch, seeded, [-2, 2]) and the check's images
     * at the bench size with each side capped at CHECK_SIDE. */
    int max_batch = 1;
    for (int i = 0; i < o.n_batches; i++)
        if (o.batches[i] > max_batch) max_batch = o.batches[i];
    st.check_h = o.hs[0] < CHECK_SIDE || st.full_check ? o.hs[0] : CHECK_SIDE;
    st.check_w = o.ws[0] < CHECK_SIDE || st.full_check ? o.ws[0] : CHECK_SIDE;
    size_t per_image = 0;
    for (int i = 0; i < o.n_sizes; i++)
        if ((size_t)st.in_c * (size_t)o.hs[i] * (size_t)o.ws[i] > per_image)
            per_image = (size_t)st.in_c * (size_t)o.hs[i] * (size_t)o.ws[i];
    size_t check_count = (size_t)CHECK_BATCH * (size_t)st.in_c * (size_t)st.check_h * (size_t)st.check_w;
    st.x = malloc((size_t)max_batch * per_image * sizeof *st.x);
    st.check_x = malloc(check_count * sizeof *st.check_x);
    if (!st.x || !st.check_x) {
        rc = cli_fail("out of host memory for %d images of %zu floats", max_batch, per_image);
        goto done;
    }
    fill_random(st.x, (size_t)max_batch * per_image, o.seed + 1);
    fill_random(st.check_x, check_count, o.seed + 2);

    /* The table's title; rows follow as they are measured. */
    st.table = (o.json && !strcmp(o.json, "-")) || (o.csv && !strcmp(o.csv, "-")) ? stderr : stdout;
    st.printed_dev = -1;
    if (o.n_model_files) {
        fprintf(st.table, "octcl bench %s, %s: %d model file(s), %d input channel(s), size", OCTCL_VERSION, stamp,
                o.n_model_files, st.in_c);
    } else {
        fprintf(st.table, "octcl bench %s, %s: OctNetMini, %d input channel(s) -> %d classes, size", OCTCL_VERSION,
                stamp, st.in_c, st.classes);
    }
    for (int i = 0; i < o.n_sizes; i++) fprintf(st.table, "%s%dx%d", i ? ", " : " ", o.hs[i], o.ws[i]);
    if (o.n_model_files) fprintf(st.table, ":");
    for (int i = 0; i < o.n_model_files; i++) fprintf(st.table, " %s", o.model_files[i]);
    fprintf(st.table, "\n");
    fflush(st.table);
    for (int d = 0; d < o.n_devices; d++) {
        int r = run_device(&st, d, &out);
        if (r == CLI_USAGE) {
            rc = r;
            goto done;
        }
        if (r != CLI_OK) rc = r;
    }

    /* Speed-up over alpha 0 on the same device, batch and size, from ms_min (alpha 0 ran
     * first, so the table had these already). */
    for (int i = 0; i < out.n_rows; i++) out.rows[i].speedup = row_speedup(out.rows, out.n_rows, &out.rows[i]);
    if (out.n_rows) table_footnote(st.table, &meta);
    fflush(st.table);
    if (json.f) write_json(json.f, out.rows, out.n_rows, &meta);
    if (csv.f) write_csv(csv.f, out.rows, out.n_rows, &meta);
    written = 1;

done:
    /* Files are written only after a complete run: a failure keeps the old ones. */
    if (close_output(&json, written && rc == CLI_OK) != CLI_OK) rc = CLI_FAILED;
    if (close_output(&csv, written && rc == CLI_OK) != CLI_OK) rc = CLI_FAILED;
    if (st.ref_logits)
        for (int i = 0; i < st.n_models; i++) free(st.ref_logits[i]);
    free(st.ref_logits);
    if (st.paths)
        for (int i = 0; i < st.n_models; i++) free(st.paths[i]);
    free(st.paths);
    free(st.alphas);
    free(st.check_x);
    free(st.x);
    oct_idx_release(&st.images);
    oct_idx_release(&st.labels);
    oct_context_free(st.ref);
    free(out.rows);
    free(command);
    return rc;
}
