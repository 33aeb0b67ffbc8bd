/* info.c — `octcl info`: every OpenCL platform and device found with its memory, compute
 * units, OpenCL versions and FP16/FP64 support, the native CPU paths, which device `auto`
 * (and $OCTCL_DEVICE, and --device) would pick and why, and where the program cache is.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LISTED 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: octcl info [--device D]\n"
            "       octcl info --model FILE [--device D] [--batch N] [--size HxW] [--verbose]\n"
            "\n"
            "List every OpenCL platform and device found (as P:D, the numbers --device opencl:P:D\n"
            "takes) with its global memory, compute units, OpenCL and OpenCL C versions and FP16 /\n"
            "FP64 support; then say which device `auto` picks and why, and where compiled OpenCL\n"
            "programs are cached ($OCTCL_CACHE_DIR, else $XDG_CACHE_HOME/octcl, else\n"
            "$HOME/.cache/octcl; OCTCL_CACHE_DIR=off turns the cache off). Commands given no\n"
            "--device use $OCTCL_DEVICE when it is set, else auto.\n"
            "\n"
            "options:\n"
            "  --device D   also show what device D picks (auto, opencl, opencl:P:D, cpu, ref)\n"
            "  --model FILE describe a model (ONNX or OctNetMini safetensors) instead: inputs,\n"
            "               outputs, parameters, MACs, activation memory, and which source nodes\n"
            "               became which fused layer (loaded on --device, default ref)\n"
            "  --batch N    batch for the activation memory (default 1)\n"
            "  --size HxW   input size (default: the model's declared size; 32x32 for OctNetMini)\n"
            "  --verbose    also the shape trace and every layer with what was fused into it\n"
            "  -h, --help   this help\n");
}

static void list_devices(void)
{
    oct_device_info devs[MAX_LISTED];
    int count = 0;
    oct_status s = oct_list_devices(devs, MAX_LISTED, &count);
    if (s != OCT_OK) {
        printf("OpenCL devices: could not list them: %s\n", oct_last_error());
        return;
    }
    if (count == 0) {
        const char *why = oct_last_error();
        printf("OpenCL devices: none (%s)\n", why && *why ? why : "no reason given");
        return;
    }
    printf("OpenCL devices (%d):\n", count);
    for (int i = 0; i < count && i < MAX_LISTED; i++) {
        const oct_device_info *d = &devs[i];
        printf("  %d:%d  %s  [%s]\n", d->platform_index, d->device_index, d->name, d->is_gpu ? "GPU" : "not a GPU");
        printf("       platform: %s; driver: %s\n", d->platform, d->driver);
        oct_device_caps c;
        if (oct_device_caps_get(d->platform_index, d->device_index, &c) != OCT_OK) {
            printf("       details: %s\n", oct_last_error());
            continue;
        }
        printf("       memory: %.1f GiB global (largest buffer %.1f GiB), %.0f KiB local; %d compute units",
               c.global_mem_bytes / 1073741824.0, c.max_alloc_bytes / 1073741824.0, c.local_mem_bytes / 1024.0,
               c.compute_units);
        if (c.max_clock_mhz > 0) printf(" at up to %d MHz", c.max_clock_mhz);
        printf("\n       version: %s; %s; FP16 %s, FP64 %s\n", c.opencl_version,
               c.opencl_c_version[0] ? c.opencl_c_version : "OpenCL C version unknown", c.fp16 ? "yes" : "no",
               c.fp64 ? "yes" : "no");
    }
    if (count > MAX_LISTED) printf("  ... and %d more\n", count - MAX_LISTED);
}

/* "<label>: <name>" and the reason, or the error the library gives for `spec`. */
static oct_status show_pick(const char *label, const char *spec)
{
    oct_context *ctx = NULL;
    oct_device_info info;
    oct_status s = oct_context_create(spec, &ctx);
    if (s == OCT_OK) s = oct_context_info(ctx, &info);
    if (s == OCT_OK) {
        printf("%s: %s [%s]\n  why: %s\n", label, info.name, cli_backend_name(info.backend), info.reason);
        char tuning[640];
        int tuned = 0;
        if (oct_context_tuning(ctx, &tuned, tuning, sizeof tuning) == OCT_OK) printf("  tuning: %s\n", tuning);
    } else {
        const char *msg = oct_last_error();
        printf("%s: fails: %s\n", label, msg && *msg ? msg : oct_status_string(s));
    }
    oct_context_free(ctx);
    return s;
}

static void print_trace(void *user, const char *label, int rank, const int *dims)
{
    (void)user;
    int64_t d[4] = {dims[0], dims[1], dims[2], dims[3]};
    char shape[160];
    cli_format_shape(shape, sizeof shape, rank > 4 ? 4 : rank, d);
    printf("  %s: %s\n", label, shape);
}

static void shape_text(char *buf, size_t len, const oct_model_tensor *t)
{
    char *o = buf;
    size_t left = len;
    for (int i = 0; i < t->rank && left > 1; i++) {
        int k = t->dims[i] < 0 ? snprintf(o, left, "%s%s", i ? ", " : "(", i == 0 ? "N" : "?")
                               : snprintf(o, left, "%s%lld", i ? ", " : "(", (long long)t->dims[i]);
        if (k < 0 || (size_t)k >= left) break;
        o += k, left -= (size_t)k;
    }
    snprintf(o, left, ")");
}

/* `octcl info --model FILE`: what the model is and how octcl runs it. */
static int model_info(const char *path, const char *device, int batch, int h, int w, int verbose)
{
    oct_context *ctx = NULL;
    oct_model *m = NULL;
    oct_device_info di;
    oct_model_tensor in, out;
    int rc = cli_open_model("info", device ? device : "ref", path, batch, &h, &w, &ctx, &di, &m, &in, &out);
    if (rc != CLI_OK) return rc;
    oct_status s = OCT_OK;
    char a[160], b[160];
    shape_text(a, sizeof a, &in);
    out.dims[0] = -1;
    shape_text(b, sizeof b, &out);
    int layers = oct_model_layer_count(m), octconv = 0, fused = 0;
    oct_model_info mi;
    if (oct_model_info_get(m, &mi) == OCT_OK && mi.alpha >= 0)
        printf("Model: %s (OctNetMini, alpha %g)\n", path, mi.alpha);
    else
        printf("Model: %s (ONNX graph)\n", path);
    printf("Input:  '%s' %s\n", in.name, a);
    printf("Output: '%s' %s at %dx%d\n", out.name, b, h, w);
    printf("Trainable parameters: %lld\n", oct_model_parameters(m));
    printf("MACs per image at %dx%d: %lld\n", h, w, oct_model_macs(m, h, w));
    printf("Activation memory at (%d, %d, %d): %zu bytes\n", batch, h, w, oct_model_activation_bytes(m, batch, h, w));
    int octconv_layers = 0;
    for (int i = 0; i < layers; i++) {
        oct_model_layer l;
        if (oct_model_layer_get(m, i, &l) != OCT_OK) continue;
        if (strncmp(l.kind, "OctConv ", 8) == 0) {
            octconv++;
            int k = atoi(l.kind + 8);
            if (k > octconv_layers) octconv_layers = k;
        }
        if (l.fused[0]) fused++;
    }
    if (layers)
        printf("Layers: %d nodes run (%d with source nodes fused into them); %d OctConv layers recognised "
               "(%d of the nodes)\n",
               layers, fused, octconv_layers, octconv);
    if (verbose && layers) {
        printf("\nLayers (kind, source node, MACs per image, fused source nodes):\n");
        for (int i = 0; i < layers; i++) {
            oct_model_layer l;
            if (oct_model_layer_get(m, i, &l) != OCT_OK) continue;
            printf("  %3d  %-14s %s  %lld%s%s\n", i, l.kind, l.name, l.macs, l.fused[0] ? "  <- " : "", l.fused);
        }
    }
    if (verbose) {
        printf("\nShape trace at (%d, %d, %d):\n", batch, h, w);
        if ((s = oct_model_trace(m, batch, h, w, print_trace, NULL)) != OCT_OK) {
            rc = cli_fail_status(s);
            goto done;
        }
    }
    rc = CLI_OK;
done:
    oct_model_free(m);
    oct_context_free(ctx);
    return rc;
}

int cli_cmd_info(int argc, char **argv)
{
    enum { OPT_DEVICE = 1, OPT_MODEL, OPT_BATCH, OPT_SIZE, OPT_VERBOSE };
    static const cli_option opts[] = {{"device", 1, OPT_DEVICE}, {"model", 1, OPT_MODEL},     {"batch", 1, OPT_BATCH},
                                      {"size", 1, OPT_SIZE},     {"verbose", 0, OPT_VERBOSE}, {NULL, 0, 0}};
    const char *device = NULL, *model = NULL, *value;
    int batch = 1, h = 0, w = 0, verbose = 0, model_only = 0;
    cli_parser p;
    cli_parser_init(&p, "info", argc, argv, opts);
    for (int id; (id = cli_next(&p, &value)) != CLI_OPT_END;) {
        if (id == CLI_OPT_ERROR) return CLI_USAGE;
        if (id == CLI_OPT_HELP) return (usage(stdout), CLI_OK);
        if (id == OPT_DEVICE) device = value;
        if (id == OPT_MODEL) model = value;
        if (id == OPT_BATCH && !cli_parse_int("info", "batch", value, 1, 65536, &batch)) return CLI_USAGE;
        if (id == OPT_SIZE && !cli_parse_size("info", "size", value, 16384, &h, &w)) return CLI_USAGE;
        if (id == OPT_VERBOSE) verbose = 1;
        if (id == OPT_BATCH || id == OPT_SIZE || id == OPT_VERBOSE) model_only = 1;
    }
    if (model) return model_info(model, device, batch, h, w, verbose);
    if (model_only) return cli_usage_error("info", "--batch, --size and --verbose describe a model: give --model FILE");

    printf("octcl %s\n\n", OCTCL_VERSION);
    list_devices();
    printf("Native paths (always available): cpu (native CPU), ref (reference)\n\n");
    show_pick("auto picks", "auto");
    const char *env = getenv("OCTCL_DEVICE");
    if (env && *env) {
        char label[320];
        snprintf(label, sizeof label, "$OCTCL_DEVICE=\"%.256s\" (used without --device) picks", env);
        show_pick(label, env);
    } else {
        printf("$OCTCL_DEVICE is not set: commands without --device use auto\n");
    }
    char dir[4096];
    const char *why = "";
    int enabled = 0;
    if (oct_program_cache_dir(dir, sizeof dir, &enabled, &why) == OCT_OK && enabled)
        printf("OpenCL program cache: %s (from %s)\n", dir, why);
    else
        printf("OpenCL program cache: off (%s): every run compiles the kernels\n", why);
    const char *warn = oct_cache_warning();
    if (warn && *warn) printf("  warning: %s\n", warn);
    if (device) {
        char label[320];
        snprintf(label, sizeof label, "--device %.256s picks", device);
        oct_status s = show_pick(label, device);
        if (s == OCT_ERR_BAD_DEVICE_SPEC) return cli_usage_error("info", "%s", oct_last_error());
        if (s != OCT_OK) return cli_fail_status(s);
    }
    return CLI_OK;
}
