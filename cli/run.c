/* run.c — `octcl run`: OctNetMini (a model file or a seeded random one) on a .npy batch
 * (or a seeded normal batch), logits to a .npy file or stdout; --verbose prints the
 * seed's shape trace ("Stem out: (2, 64, 32, 32)" ... "Logits: (2, 10)").
 */
#include "cli.h"
#include "images.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 65536
#define MAX_SIDE 16384

static void usage(FILE *f)
{
    fprintf(f,
            "usage: octcl run [--model FILE | --alpha A --in-channels C --classes K] [--seed S]\n"
            "                 [--input X.npy | --batch N --size HxW] [--output Y.npy]\n"
            "                 [--device D] [--verbose] [--raw]\n"
            "       octcl run --images DIR [--model FILE] [--strict] [--resize N] [--crop HxW] ...\n"
            "\n"
            "Run OctNetMini on a batch and write its logits (N, classes).\n"
            "\n"
            "model (one of):\n"
            "  --model FILE       an ONNX file (torch.onnx.export), or a safetensors file holding\n"
            "                     OctNetMini's PyTorch state_dict\n"
            "  (no --model)       a random model built from --seed with:\n"
            "    --alpha A          low-band fraction in [0, 1] (default 0.5)\n"
            "    --in-channels C    input channels (default 3)\n"
            "    --classes K        output classes (default 10)\n"
            "input (one of):\n"
            "  --input X.npy      float32 array of shape (N, C, H, W), C = the model's in_channels,\n"
            "                     pixels scaled to [0, 1]: the model file's mean/std is applied,\n"
            "                     x = (x - mean) / std, unless --raw is given\n"
            "  --images DIR       every PNG/JPEG under DIR (sorted, recursively) preprocessed as\n"
            "                     `octcl classify --images` does, one row each (listed on stderr);\n"
            "                     --strict, --resize N and --crop HxW as there\n"
            "  --raw              feed the input as it is: no mean/std (stderr says which was done)\n"
            "  (no --input)       a random normal batch from --seed with:\n"
            "    --batch N          images (default 2)\n"
            "    --size HxW         image size (default: the model file's declared size, else 32x32)\n"
            "  --seed S           seed of the random model and batch (default 0)\n"
            "output:\n"
            "  --output Y.npy     write the logits as float32 .npy (default: print them as text rows)\n"
            "  --verbose          print the model's shape trace and parameter count\n"
            "  --device D         auto, opencl, opencl:P:D, cpu or ref (default $OCTCL_DEVICE, else auto);\n"
            "                     several at once: all (every OpenCL device and cpu) or a comma list\n"
            "                     (cpu,opencl:0:0): the batch is cut into chunks the devices take as\n"
            "                     they finish; each device's images and images/s go to stderr\n"
            "  --max-device-mem B activation memory a pass may hold (e.g. 64M); larger batches run in chunks\n"
            "  -h, --help         this help\n"
            "\n"
            "The chosen device and why are printed on stderr as \"device: <name> (<reason>)\".\n");
}

/* ------------------------------------------------------------------------------------ */
/* Options                                                                               */

enum {
    OPT_MODEL = 1, OPT_ALPHA, OPT_IN_CHANNELS, OPT_CLASSES, OPT_SEED, OPT_INPUT, OPT_BATCH, OPT_SIZE,
    OPT_OUTPUT, OPT_DEVICE, OPT_VERBOSE, OPT_MAX_MEM, OPT_IMAGES, OPT_RAW, OPT_STRICT, OPT_RESIZE, OPT_CROP
};

typedef struct {
    const char *model, *input, *output, *device;
    double alpha;
    int in_channels, classes;
    uint64_t seed;
    int batch, h, w;
    int verbose;
    size_t max_mem;   /* --max-device-mem, 0: none */
    unsigned given;   /* bit OPT_x set when --x was given */
    cli_images_options img; /* --images and its options (images.c) */
} run_options;

#define GIVEN(o, id) (((o)->given >> (id)) & 1u)

/* Parse argv into o; returns -1 to go on, or the exit code. */
static int parse_options(int argc, char **argv, run_options *o)
{
    static const cli_option opts[] = {
        {"model", 1, OPT_MODEL},   {"alpha", 1, OPT_ALPHA},   {"in-channels", 1, OPT_IN_CHANNELS},
        {"classes", 1, OPT_CLASSES}, {"seed", 1, OPT_SEED},   {"input", 1, OPT_INPUT},
        {"batch", 1, OPT_BATCH},   {"size", 1, OPT_SIZE},     {"output", 1, OPT_OUTPUT},
        {"device", 1, OPT_DEVICE}, {"verbose", 0, OPT_VERBOSE}, {"max-device-mem", 1, OPT_MAX_MEM},
        {"images", 1, OPT_IMAGES}, {"raw", 0, OPT_RAW}, {"strict", 0, OPT_STRICT}, {"resize", 1, OPT_RESIZE},
        {"crop", 1, OPT_CROP}, {NULL, 0, 0}};
    const char *cmd = "run", *v;
    *o = (run_options){.alpha = 0.5, .in_channels = 3, .classes = 10, .seed = 0, .batch = 2, .h = 32, .w = 32};
    cli_images_defaults(&o->img);
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, opts);
    for (int id; (id = cli_next(&p, &v)) != CLI_OPT_END;) {
        int ok = 1;
        switch (id) {
        case CLI_OPT_ERROR: return CLI_USAGE;
        case CLI_OPT_HELP: usage(stdout); return CLI_OK;
        case OPT_IMAGES: o->img.dir = v; break;
        case OPT_RAW: o->img.raw = 1; break;
        case OPT_STRICT: o->img.strict = 1; break;
        case OPT_RESIZE: ok = cli_parse_int(cmd, "resize", v, 0, 32768, &o->img.resize); break;
        case OPT_CROP: ok = cli_parse_size(cmd, "crop", v, 32768, &o->img.crop_h, &o->img.crop_w); break;
        case OPT_MODEL: o->model = v; break;
        case OPT_ALPHA: ok = cli_parse_double(cmd, "alpha", v, 0.0, 1.0, &o->alpha); break;
        case OPT_IN_CHANNELS: ok = cli_parse_int(cmd, "in-channels", v, 1, 4096, &o->in_channels); break;
        case OPT_CLASSES: ok = cli_parse_int(cmd, "classes", v, 1, 1000000, &o->classes); break;
        case OPT_SEED: ok = cli_parse_u64(cmd, "seed", v, &o->seed); break;
        case OPT_INPUT: o->input = v; break;
        case OPT_BATCH: ok = cli_parse_int(cmd, "batch", v, 1, MAX_BATCH, &o->batch); break;
        case OPT_SIZE: ok = cli_parse_size(cmd, "size", v, MAX_SIDE, &o->h, &o->w); break;
        case OPT_OUTPUT: o->output = v; break;
        case OPT_DEVICE: o->device = v; break;
        case OPT_VERBOSE: o->verbose = 1; break;
        case OPT_MAX_MEM: ok = cli_parse_bytes(cmd, "max-device-mem", v, &o->max_mem); break;
        }
        if (!ok) return CLI_USAGE;
        o->given |= 1u << id;
    }
    if (o->model) {
        static const int random_only[] = {OPT_ALPHA, OPT_IN_CHANNELS, OPT_CLASSES};
        static const char *const names[] = {"alpha", "in-channels", "classes"};
        for (int i = 0; i < 3; i++)
            if (GIVEN(o, random_only[i]))
                return cli_usage_error(cmd, "--%s applies to the random model only; --model %s sets it", names[i],
                                       o->model);
    }
    if (o->img.dir) {
        if (o->input || GIVEN(o, OPT_BATCH) || GIVEN(o, OPT_SIZE))
            return cli_usage_error(cmd, "--%s and --images both give the input; use one",
                                   o->input ? "input" : GIVEN(o, OPT_BATCH) ? "batch" : "size");
    } else if (GIVEN(o, OPT_STRICT) || GIVEN(o, OPT_RESIZE) || GIVEN(o, OPT_CROP)) {
        return cli_usage_error(cmd, "--%s applies to --images only",
                               GIVEN(o, OPT_STRICT) ? "strict" : GIVEN(o, OPT_RESIZE) ? "resize" : "crop");
    }
    if (o->input) {
        if (GIVEN(o, OPT_BATCH) || GIVEN(o, OPT_SIZE))
            return cli_usage_error(cmd, "--%s applies to the random batch only; --input %s sets it",
                                   GIVEN(o, OPT_BATCH) ? "batch" : "size", o->input);
        if (o->model && GIVEN(o, OPT_SEED))
            return cli_usage_error(cmd, "--seed has nothing to seed: both --model and --input are given");
    }
    return -1;
}

/* ------------------------------------------------------------------------------------ */
/* Inputs                                                                                */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* x[i] ~ N(0, 1) by Box-Muller from a splitmix64 stream (the seed's torch.randn, in kind). */
static void fill_normal(float *x, size_t count, uint64_t seed)
{
    const double two_pi = 6.283185307179586476925286766559;
    uint64_t s = seed ^ 0xD1B54A32D192ED03ull; /* a stream apart from the model's weights */
    for (size_t i = 0; i < count; i += 2) {
        double u1 = (double)((splitmix64(&s) >> 11) + 1) * (1.0 / 9007199254740992.0); /* (0, 1] */
        double u2 = (double)(splitmix64(&s) >> 11) * (1.0 / 9007199254740992.0);       /* [0, 1) */
        double r = sqrt(-2.0 * log(u1));
        x[i] = (float)(r * cos(two_pi * u2));
        if (i + 1 < count) x[i + 1] = (float)(r * sin(two_pi * u2));
    }
}

/* Sizes before any work: one image's activations must make a pass the library can hold
 * (and, on the CPU paths, fit host memory), and the input batch must fit host memory. */
static int check_fits(const oct_model *model, const oct_device_info *di, int channels, int n, int h, int w,
                      size_t given)
{
    size_t one = oct_model_activation_bytes(model, 1, h, w), limit = cli_memory_limit(di, 0);
    double cap = cli_host_memory(), input = (double)n * channels * h * w * sizeof(float);
    if (one == 0)
        return cli_fail("a %dx%d image is too large for one pass (a tensor would exceed 2^31 elements)", h, w);
    if (!given && limit && one > limit)
        return cli_fail("one %dx%d image needs %zu bytes of activations; out of host memory (a pass may hold half of "
                        "the %.0f bytes there are)",
                        h, w, one, cap);
    if (input > cap)
        return cli_fail("the input (%d, %d, %d, %d) needs %.0f bytes; out of host memory (%.0f bytes available)", n,
                        channels, h, w, input, cap);
    return CLI_OK;
}

/* The input batch (N, C, H, W) into *x: from the .npy file or random. */
static int make_input(const run_options *o, int channels, oct_array *x)
{
    if (!o->input) {
        size_t count = (size_t)o->batch * (size_t)channels * (size_t)o->h * (size_t)o->w;
        memset(x, 0, sizeof *x);
        x->data = malloc(count * sizeof(float));
        if (!x->data) return cli_fail("out of host memory for a random batch of %zu floats", count);
        fill_normal(x->data, count, o->seed);
        x->ndim = 4;
        x->shape[0] = o->batch, x->shape[1] = channels, x->shape[2] = o->h, x->shape[3] = o->w;
        return CLI_OK;
    }
    oct_status s = oct_npy_load(o->input, x);
    if (s != OCT_OK) return cli_fail_status(s);
    char shape[160];
    cli_format_shape(shape, sizeof shape, x->ndim, x->shape);
    if (x->ndim != 4 || x->shape[1] != channels) {
        cli_fail("%s: input has shape %s; the model expects (N, %d, H, W) float32 (rank 4, %d channel%s)", o->input,
                 shape, channels, channels, channels == 1 ? "" : "s");
        oct_array_release(x);
        return CLI_FAILED;
    }
    for (int d = 0; d < 4; d++)
        if (x->shape[d] < 1 || x->shape[d] > INT_MAX) {
            cli_fail("%s: input has shape %s; every dimension must be in 1..%d", o->input, shape, INT_MAX);
            oct_array_release(x);
            return CLI_FAILED;
        }
    /* NaN or Inf would turn every logit of its image into NaN without a word. */
    size_t count = oct_array_count(x);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x->data[i])) {
            cli_fail("%s: input holds %s at index %zu (image %zu); inputs must be finite", o->input,
                     isnan(x->data[i]) ? "NaN" : "Inf", i, i / (count / (size_t)x->shape[0]));
            oct_array_release(x);
            return CLI_FAILED;
        }
    return CLI_OK;
}

/* x = (x - mean) / std with the model file's preprocessing metadata, unless --raw; says
 * on stderr which was done. */
static void normalise_input(const run_options *o, const oct_model_info *mi, oct_array *x)
{
    if (o->img.raw) {
        fprintf(stderr, "input: used as it is (--raw: no mean/std applied)\n");
        return;
    }
    if (!mi->has_norm) {
        fprintf(stderr, "input: used as it is (the model declares no mean/std)\n");
        return;
    }
    size_t count = oct_array_count(x);
    for (size_t i = 0; i < count; i++) x->data[i] = (float)((x->data[i] - mi->mean) / mi->std);
    fprintf(stderr, "input: normalised with the model file's mean %g and std %g: x = (x - mean) / std "
                    "(--raw to feed it as it is)\n", mi->mean, mi->std);
}

/* ------------------------------------------------------------------------------------ */
/* Output                                                                                */

static void print_trace(void *user, const char *label, int rank, const int *dims)
{
    (void)user;
    int64_t d[OCT_MAX_DIMS];
    char shape[160];
    if (rank > OCT_MAX_DIMS) rank = OCT_MAX_DIMS;
    for (int i = 0; i < rank; i++) d[i] = dims[i];
    cli_format_shape(shape, sizeof shape, rank, d);
    printf("%s: %s\n", label, shape);
}

static void print_logits(const float *logits, int n, int classes)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < classes; k++)
            printf("%.7g%c", (double)logits[(size_t)i * classes + k], k + 1 < classes ? ' ' : '\n');
}

static void print_header(const run_options *o, const oct_model_info *mi, const oct_device_info *di,
                         const oct_array *x)
{
    char shape[160];
    if (o->model && mi->alpha < 0)
        printf("Model: %s (ONNX graph, in_channels %d, %d outputs per image)\n", o->model, mi->in_channels,
               mi->num_classes);
    else if (o->model)
        printf("Model: %s (alpha %g, in_channels %d, classes %d)\n", o->model, mi->alpha, mi->in_channels,
               mi->num_classes);
    else
        printf("Model: random OctNetMini (alpha %g, in_channels %d, classes %d, seed %llu)\n", mi->alpha,
               mi->in_channels, mi->num_classes, (unsigned long long)o->seed);
    cli_format_shape(shape, sizeof shape, x->ndim, x->shape);
    if (o->input)
        printf("Input: %s %s\n", o->input, shape);
    else if (o->img.dir)
        printf("Input: images under %s %s\n", o->img.dir, shape);
    else
        printf("Input: %s random normal (seed %llu)\n", shape, (unsigned long long)o->seed);
    printf("Device: %s (%s)\n", di->name, di->reason);
}

/* ------------------------------------------------------------------------------------ */
/* The command                                                                           */

int cli_cmd_run(int argc, char **argv)
{
    run_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0) return rc;

    oct_context *ctx = NULL;
    oct_model *model = NULL;
    oct_array x = {0};
    float *logits = NULL;
    oct_device_info di;
    oct_model_info mi;
    oct_status s;
    int n, h, w;

    /* Several devices (--device all or a list): the model on each, as one device set. */
    cli_random_model rnd = {o.in_channels, o.classes, o.alpha, o.seed};
    if ((rc = cli_device_is_set(o.device) ? cli_devset_open("run", o.device, o.model, &rnd, o.max_mem, &model, &di)
                                          : cli_open_device("run", o.device, &ctx, &di)) != CLI_OK)
        goto done;
    if (model)
        s = OCT_OK; /* the set's, made on every device */
    else if (o.model)
        s = oct_model_load(ctx, o.model, &model);
    else
        s = oct_model_create_random(ctx, o.in_channels, o.classes, o.alpha, o.seed, &model);
    if (s == OCT_OK) s = oct_model_info_get(model, &mi);
    size_t limit = cli_memory_limit(&di, o.max_mem);
    if (s == OCT_OK && limit) s = oct_model_set_memory_limit(model, limit);
    if (s != OCT_OK) {
        rc = cli_fail_status(s);
        goto done;
    }
    if (!o.input && !o.img.dir && !GIVEN(&o, OPT_SIZE)) {
        /* A random batch at the size the model file declares (ONNX), if it declares one. */
        oct_model_tensor in;
        if (oct_model_input(model, 0, &in) == OCT_OK && in.dims[2] > 0 && in.dims[3] > 0)
            o.h = (int)in.dims[2], o.w = (int)in.dims[3];
    }
    /* Sizes before work: a random batch before it is made, a file's or a folder's once
     * its shape is known (before any pass). */
    if (!o.input && !o.img.dir &&
        (rc = check_fits(model, &di, mi.in_channels, o.batch, o.h, o.w, o.max_mem)) != CLI_OK)
        goto done;
    if (o.img.dir)
        rc = cli_images_batch(model, &mi, &o.img, &x);
    else
        rc = make_input(&o, mi.in_channels, &x);
    if (rc != CLI_OK) goto done;
    if ((o.input || o.img.dir) && (rc = check_fits(model, &di, mi.in_channels, (int)x.shape[0], (int)x.shape[2],
                                                   (int)x.shape[3], o.max_mem)) != CLI_OK)
        goto done;
    if (o.input) normalise_input(&o, &mi, &x);
    else if (!o.img.dir) fprintf(stderr, "input: a random normal batch, used as it is (no mean/std)\n");

    n = (int)x.shape[0], h = (int)x.shape[2], w = (int)x.shape[3];
    {
        /* Outputs per image at this size (a feature map grows with the input). */
        oct_model_tensor ot;
        if ((s = oct_model_output_shape(model, n, h, w, &ot)) != OCT_OK) {
            rc = cli_fail_status(s);
            goto done;
        }
        int64_t per = ot.dims[1] * ot.dims[2] * ot.dims[3];
        double bytes = (double)n * (double)per * sizeof(float);
        if (per < 1 || per > INT_MAX || bytes > cli_host_memory()) {
            rc = cli_fail("the output (%d, %lld) needs %.0f bytes; out of host memory (%.0f bytes available)", n,
                          (long long)per, bytes, cli_host_memory());
            goto done;
        }
        mi.num_classes = (int)per;
    }
    logits = malloc((size_t)n * (size_t)mi.num_classes * sizeof(float));
    if (!logits) {
        rc = cli_fail("out of host memory for the logits (%d, %d)", n, mi.num_classes);
        goto done;
    }
    if (o.verbose) print_header(&o, &mi, &di, &x);
    s = cli_forward(model, x.data, n, h, w, logits, o.verbose ? print_trace : NULL, NULL);
    if (s == OCT_OK) cli_devset_print(stderr, "ran ");
    if (s == OCT_OK && !cli_devset() && oct_model_last_chunk(model) < n)
        fprintf(stderr, "ran the batch of %d in chunks of %d image(s) to fit the memory limit or the free memory\n",
                n, oct_model_last_chunk(model));
    if (s != OCT_OK) {
        fflush(stdout);
        rc = cli_fail_status(s);
        goto done;
    }
    if (o.verbose) printf("Trainable params: %lld\n", mi.parameters);

    if (o.output) {
        /* The output's own shape: (N, K) logits, or a feature map (N, C, H, W). */
        oct_model_tensor ot;
        fflush(stdout); /* text printed so far comes first when the file is /dev/stdout */
        if ((s = oct_model_output_shape(model, n, h, w, &ot)) != OCT_OK) {
            rc = cli_fail_status(s);
            goto done;
        }
        if ((s = oct_npy_save(o.output, logits, ot.rank, ot.dims)) != OCT_OK) {
            rc = cli_fail_status(s);
            goto done;
        }
        char shape[160];
        cli_format_shape(shape, sizeof shape, ot.rank, ot.dims);
        if (o.verbose) printf("Wrote output %s to %s\n", shape, o.output);
    } else {
        print_logits(logits, n, mi.num_classes);
    }
    rc = CLI_OK;
done:
    free(logits);
    oct_array_release(&x);
    cli_model_free(model);
    oct_context_free(ctx);
    return rc;
}
