/* run.c — `octcl run`: OctNetMini (a model file or a seeded random one) on a .npy batch
 * (or a seeded normal batch), logits to a .npy file or stdout; --verbose prints the
 * seed's shape trace ("Stem out: (2, 64, 32, 32)" ... "Logits: (2, 10)").
 */
#include "cli.h"
#include "images.h"
#include "mpi_shard.h"

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
            "  --chunk N          rows of --input or --images read (and run) at a time, per MPI rank (default: 16\n"
            "                     MiB of input): memory stays constant in the size of the input; the output\n"
            "                     is written as it comes into a temporary renamed into place at the end\n"
            "  -h, --help         this help\n"
            "\n"
            "The chosen device and why are printed on stderr as \"device: <name> (<reason>)\".\n"
            "Under mpirun (mpirun -n K octcl run ...) the ranks share the rows in contiguous blocks of\n"
            "each chunk; rank 0 gathers the outputs in order, alone prints or writes them, and says the\n"
            "speed in total and per rank on stderr. See README (MPI).\n");
}

/* ------------------------------------------------------------------------------------ */
/* Options                                                                               */

enum {
    OPT_MODEL = 1, OPT_ALPHA, OPT_IN_CHANNELS, OPT_CLASSES, OPT_SEED, OPT_INPUT, OPT_BATCH, OPT_SIZE,
    OPT_OUTPUT, OPT_DEVICE, OPT_VERBOSE, OPT_MAX_MEM, OPT_IMAGES, OPT_RAW, OPT_STRICT, OPT_RESIZE, OPT_CROP,
    OPT_CHUNK
};

typedef struct {
    const char *model, *input, *output, *device;
    double alpha;
    int in_channels, classes;
    uint64_t seed;
    int batch, h, w;
    int verbose;
    size_t max_mem;   /* --max-device-mem, 0: none */
    int chunk;        /* --chunk: rows per rank and round, 0: the default */
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
        {"crop", 1, OPT_CROP}, {"chunk", 1, OPT_CHUNK}, {NULL, 0, 0}};
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
        case OPT_CHUNK: ok = cli_parse_int(cmd, "chunk", v, 1, MAX_BATCH, &o->chunk); break;
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

/* x[i] ~ N(0, 1) by Box-Muller from a splitmix64 stream (the seed's torch.randn, in kind). */
static void fill_normal(float *x, size_t count, uint64_t seed)
{
    const double two_pi = 6.283185307179586476925286766559;
    uint64_t s = seed ^ 0xD1B54A32D192ED03ull; /* a stream apart from the model's weights */
    for (size_t i = 0; i < count; i += 2) {
        double u1 = (double)((cli_splitmix64(&s) >> 11) + 1) * (1.0 / 9007199254740992.0); /* (0, 1] */
        double u2 = (double)(cli_splitmix64(&s) >> 11) * (1.0 / 9007199254740992.0);       /* [0, 1) */
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
    /* A streamed --input needs one chunk in memory, not the whole input (n 0). */
    size_t one = oct_model_activation_bytes(model, 1, h, w), limit = cli_memory_limit(di, 0);
    double cap = cli_host_memory(), input = (double)n * channels * h * w * sizeof(float);
    if (one == 0)
        return cli_fail("a %dx%d image is too large for one pass (a tensor would exceed 2^31 elements)", h, w);
    if (!given && limit && one > limit)
        return cli_fail("one %dx%d image needs %zu bytes of activations; out of host memory (a pass may hold half of "
                        "the %.0f bytes there are)",
                        h, w, one, cap);
    if (n > 0 && input > cap)
        return cli_fail("the input (%d, %d, %d, %d) needs %.0f bytes; out of host memory (%.0f bytes available)", n,
                        channels, h, w, input, cap);
    return CLI_OK;
}

/* The random input batch (N, C, H, W) into *x. */
static int make_random(const run_options *o, int channels, oct_array *x)
{
    size_t count = (size_t)o->batch * (size_t)channels * (size_t)o->h * (size_t)o->w;
    memset(x, 0, sizeof *x);
    x->data = malloc(count * sizeof(float));
    if (!x->data) return cli_fail("out of host memory for a random batch of %zu floats", count);
    fill_normal(x->data, count, o->seed);
    x->ndim = 4;
    x->shape[0] = o->batch, x->shape[1] = channels, x->shape[2] = o->h, x->shape[3] = o->w;
    return CLI_OK;
}

/* Open --input for reading rows; its shape (N, C, H, W) into shape[]. */
static int open_input(const run_options *o, int channels, oct_npy_reader **r, int64_t *shape)
{
    oct_status s = oct_npy_reader_open(o->input, r);
    if (s != OCT_OK) return cli_fail_status(s);
    char text[160];
    int ndim = oct_npy_reader_shape(*r, shape);
    cli_format_shape(text, sizeof text, ndim, shape);
    if (ndim != 4 || shape[1] != channels)
        return cli_fail("%s: input has shape %s; the model expects (N, %d, H, W) float32 (rank 4, %d channel%s)",
                        o->input, text, channels, channels, channels == 1 ? "" : "s");
    for (int d = 0; d < 4; d++)
        if (shape[d] < 1 || shape[d] > INT_MAX)
            return cli_fail("%s: input has shape %s; every dimension must be in 1..%d", o->input, text, INT_MAX);
    return CLI_OK;
}

/* NaN or Inf would turn every logit of its image into NaN without a word. x holds rows
 * from `first` on, `per` floats each. */
static int check_finite(const char *name, const float *x, size_t count, int64_t first, size_t per)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x[i])) {
            size_t at = (size_t)first * per + i;
            return cli_fail("%s: input holds %s at index %zu (image %zu); inputs must be finite", name,
                            isnan(x[i]) ? "NaN" : "Inf", at, at / per);
        }
    return CLI_OK;
}

/* x = (x - mean) / std with the model file's preprocessing metadata, unless --raw. */
static void normalise_input(const run_options *o, const oct_model_info *mi, float *x, size_t count)
{
    if (o->img.raw || !mi->has_norm) return;
    for (size_t i = 0; i < count; i++) x[i] = (float)((x[i] - mi->mean) / mi->std);
}

/* Says on stderr which preprocessing normalise_input does. */
static void say_normalisation(const run_options *o, const oct_model_info *mi)
{
    if (o->img.raw)
        fprintf(stderr, "input: used as it is (--raw: no mean/std applied)\n");
    else if (!mi->has_norm)
        fprintf(stderr, "input: used as it is (the model declares no mean/std)\n");
    else
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
                         const int64_t *x_shape)
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
    cli_format_shape(shape, sizeof shape, 4, x_shape);
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

/* The rows of the input in rounds of `chunk` rows per rank, each rank its contiguous
 * block of the round (mpi_shard.h): read from the .npy reader `in`, decoded from the
 * image folder `imgs` (images.c), else copied from the in-memory batch x; checked, normalised (a file's rows), through the model; rank 0
 * gathers the outputs (per floats a row) and writes them to `out`, or prints them when
 * out is NULL. *rows_done and *seconds: this rank's rows and forward seconds. */
static int run_stream(const cli_mpi *m, const run_options *o, oct_model *model, const oct_model_info *mi,
                      oct_npy_reader *in, cli_image_rows *imgs, const oct_array *x, const int64_t *shape,
                      int64_t per, int chunk, oct_npy_writer *out, double *rows_done, double *seconds)
{
    int64_t n = shape[0], begin, count;
    size_t row = (size_t)shape[1] * (size_t)shape[2] * (size_t)shape[3];
    int h = (int)shape[2], w = (int)shape[3], rc = CLI_OK, told = 0, traced = 0;
    float *xs = in || imgs ? malloc((size_t)chunk * row * sizeof(float)) : NULL;
    float *ys = malloc((size_t)chunk * (size_t)per * sizeof(float));
    float *all = cli_mpi_root(m) ? malloc((size_t)chunk * (size_t)m->size * (size_t)per * sizeof(float)) : NULL;
    oct_status s;
    if (((in || imgs) && !xs) || !ys || (cli_mpi_root(m) && !all))
        rc = cli_fail("out of host memory for a chunk of %d rows", chunk);
    if ((rc = cli_mpi_agree(m, rc, "alloc")) != CLI_OK) goto done;
    for (int64_t base = 0; base < n; base += (int64_t)chunk * m->size) {
        int64_t round = n - base < (int64_t)chunk * m->size ? n - base : (int64_t)chunk * m->size;
        const float *rows;
        cli_mpi_block(m, base, round, &begin, &count);
        if (in) {
            if ((s = oct_npy_reader_read(in, begin, count, xs)) != OCT_OK)
                rc = cli_fail_status(s);
            else if ((rc = check_finite(o->input, xs, (size_t)count * row, begin, row)) == CLI_OK)
                normalise_input(o, mi, xs, (size_t)count * row);
            rows = xs;
        } else if (imgs) {
            rc = cli_image_rows_read(imgs, begin, count, xs);
            rows = xs;
        } else {
            rows = x->data + (size_t)begin * row;
        }
        if (rc == CLI_OK && count > 0) {
            int trace = o->verbose && cli_mpi_root(m) && !traced;
            double t0 = cli_now();
            s = cli_forward(model, rows, (int)count, h, w, ys, trace ? print_trace : NULL, NULL);
            *seconds += cli_now() - t0;
            traced = 1;
            if (s != OCT_OK) {
                fflush(stdout);
                rc = cli_fail_status(s);
            } else if (!cli_devset() && oct_model_last_chunk(model) < count && !told) {
                fprintf(stderr, "ran the batch of %lld in chunks of %d image(s) to fit the memory limit or the free "
                        "memory\n", (long long)count, oct_model_last_chunk(model));
                told = 1;
            }
        }
        if ((rc = cli_mpi_agree(m, rc, "round")) != CLI_OK) goto done;
        *rows_done += (double)count;
        cli_mpi_gather(m, ys, count * per, all);
        if (cli_mpi_root(m)) {
            if (out && (s = oct_npy_writer_write(out, all, (size_t)round * (size_t)per)) != OCT_OK)
                rc = cli_fail_status(s);
            else if (!out)
                print_logits(all, (int)round, (int)per);
        }
        if ((rc = cli_mpi_agree(m, rc, "write")) != CLI_OK) goto done;
    }
done:
    free(all);
    free(ys);
    free(xs);
    return rc;
}

int cli_cmd_run(int argc, char **argv)
{
    run_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0) return rc;
    cli_mpi m;
    if ((rc = cli_mpi_start(&m)) != CLI_OK) return rc;

    oct_context *ctx = NULL;
    oct_model *model = NULL;
    oct_npy_reader *in = NULL;
    cli_image_rows *imgs = NULL;
    oct_npy_writer *out = NULL;
    oct_array x = {0};
    oct_device_info di;
    oct_model_info mi;
    oct_model_tensor ot = {0};
    oct_status s = OCT_OK;
    int64_t shape[OCT_MAX_DIMS] = {0}, per = 0;
    int chunk = o.chunk;
    double rows_done = 0, seconds = 0, wall = 0, *rank_rows = NULL, *rank_seconds = NULL;
    char device_buf[64];

    /* Several devices (--device all or a list): the model on each, as one device set; under
     * MPI each rank opens its own, node-local set (or, for auto/opencl, its local GPU). */
    cli_random_model rnd = {o.in_channels, o.classes, o.alpha, o.seed};
    rc = cli_device_is_set(o.device)
             ? cli_devset_open("run", o.device, o.model, &rnd, o.max_mem, &model, &di)
             : cli_open_device("run", cli_mpi_device(&m, o.device, device_buf, sizeof device_buf), 1, &ctx, &di);
    if (rc == CLI_OK) {
        if (model)
            s = OCT_OK; /* the set's, made on every device */
        else if (o.model)
            s = oct_model_load(ctx, o.model, &model);
        else
            s = oct_model_create_random(ctx, o.in_channels, o.classes, o.alpha, o.seed, &model);
        if (s == OCT_OK) s = oct_model_info_get(model, &mi);
        size_t limit = s == OCT_OK ? cli_memory_limit(&di, o.max_mem) : 0;
        if (s == OCT_OK && limit) s = oct_model_set_memory_limit(model, limit);
        if (s != OCT_OK) rc = cli_fail_status(s);
    }
    if (rc == CLI_OK && !o.input && !o.img.dir && !GIVEN(&o, OPT_SIZE)) {
        /* A random batch at the size the model file declares (ONNX), if it declares one. */
        oct_model_tensor it;
        if (oct_model_input(model, 0, &it) == OCT_OK && it.dims[2] > 0 && it.dims[3] > 0)
            o.h = (int)it.dims[2], o.w = (int)it.dims[3];
    }
    /* Sizes before work: a random batch before it is made, a file's or a folder's once
     * its shape is known (before any pass). A file is read in chunks: its size needs not
     * fit memory. */
    if (rc == CLI_OK && !o.input && !o.img.dir)
        rc = check_fits(model, &di, mi.in_channels, o.batch, o.h, o.w, o.max_mem);
    if (rc == CLI_OK) {
        if (o.input)
            rc = open_input(&o, mi.in_channels, &in, shape);
        else if (!o.img.dir)
            rc = make_random(&o, mi.in_channels, &x);
        if (rc == CLI_OK && !o.input && !o.img.dir) memcpy(shape, x.shape, sizeof x.shape);
    }
    if (o.img.dir) {
        /* The folder is listed and checked by every rank together (images.c): agree first. */
        if ((rc = cli_mpi_agree(&m, rc, "model")) != CLI_OK) goto done;
        o.img.chunk = o.chunk;
        if ((rc = cli_image_rows_open(&m, model, &mi, &o.img, &imgs, shape)) != CLI_OK) goto done; /* agreed */
    }
    if (rc == CLI_OK && (o.input || o.img.dir))
        rc = check_fits(model, &di, mi.in_channels, 0, (int)shape[2], (int)shape[3], o.max_mem);
    if (rc == CLI_OK) {
        /* Outputs per image at this size (a feature map grows with the input). */
        if ((s = oct_model_output_shape(model, 1, (int)shape[2], (int)shape[3], &ot)) != OCT_OK)
            rc = cli_fail_status(s);
        else {
            per = ot.dims[1] * (ot.rank > 2 ? ot.dims[2] * ot.dims[3] : 1);
            ot.dims[0] = shape[0];
            if (per < 1 || per > INT_MAX)
                rc = cli_fail("the output (%lld, %lld) is too large", (long long)shape[0], (long long)per);
        }
    }
    if (rc == CLI_OK) {
        /* Rows per rank and round: 16 MiB of input (at least one row), and a round's
         * gathered outputs under 2^31 floats (an MPI count). */
        size_t row = (size_t)shape[1] * (size_t)shape[2] * (size_t)shape[3] * sizeof(float);
        size_t rows = ((size_t)16 << 20) / row;
        if (!chunk) chunk = rows < 1 ? 1 : rows > MAX_BATCH ? MAX_BATCH : (int)rows;
        if (!o.input && !o.img.dir && chunk < shape[0]) chunk = (int)shape[0]; /* in memory already: one round */
        if ((int64_t)chunk * m.size * per > INT_MAX) chunk = (int)(INT_MAX / ((int64_t)m.size * per));
        if (chunk < 1) rc = cli_fail("one output row of %lld floats is too large to gather", (long long)per);
    }
    if (rc == CLI_OK && cli_mpi_root(&m) && o.output) {
        fflush(stdout); /* text printed so far comes first when the file is /dev/stdout */
        if ((s = oct_npy_writer_open(o.output, ot.rank, ot.dims, &out)) != OCT_OK) rc = cli_fail_status(s);
    }
    if ((rc = cli_mpi_agree(&m, rc, "open")) != CLI_OK) goto done;
    /* Every rank must cut the same input the same way (files differ between nodes?). */
    rc = cli_mpi_same(&m, shape[0], "rows in the input");
    if (rc == CLI_OK) rc = cli_mpi_same(&m, chunk, "rows per chunk");
    if (rc == CLI_OK) rc = cli_mpi_same(&m, per, "outputs per row");
    if ((rc = cli_mpi_agree(&m, rc, "same")) != CLI_OK) goto done;
    if (cli_mpi_root(&m)) {
        if (o.input)
            say_normalisation(&o, &mi);
        else if (!o.img.dir)
            fprintf(stderr, "input: a random normal batch, used as it is (no mean/std)\n");
    }
    mi.num_classes = (int)per;
    if (o.verbose && cli_mpi_root(&m)) print_header(&o, &mi, &di, shape);
    fflush(stdout);
    double t0 = cli_now();
    if ((rc = run_stream(&m, &o, model, &mi, in, imgs, &x, shape, per, chunk, out, &rows_done, &seconds)) != CLI_OK)
        goto done;
    wall = cli_now() - t0;
    cli_devset_print(stderr, "ran "); /* each device's share, with a device set */
    if (out) {
        s = oct_npy_writer_commit(out);
        out = NULL;
        if (s != OCT_OK) rc = cli_fail_status(s);
    }
    if ((rc = cli_mpi_agree(&m, rc, "commit")) != CLI_OK) goto done;
    if (m.active) {
        /* Under mpirun: the speed in total and per rank, on stderr. */
        rank_rows = calloc((size_t)m.size, sizeof *rank_rows);
        rank_seconds = calloc((size_t)m.size, sizeof *rank_seconds);
        if (!rank_rows || !rank_seconds) rc = cli_fail("out of host memory");
        if ((rc = cli_mpi_agree(&m, rc, "report")) != CLI_OK) goto done;
        cli_mpi_gather_double(&m, rows_done, rank_rows);
        cli_mpi_gather_double(&m, seconds, rank_seconds);
        if (cli_mpi_root(&m)) {
            fprintf(stderr, "speed: %.2f images/s over %d MPI rank(s) (%lld images in %.3f s wall clock of the sharded "
                    "loop: reads, forward passes, gathers, writes)\n", wall > 0 ? (double)shape[0] / wall : 0.0,
                    m.size, (long long)shape[0], wall);
            for (int r = 0; r < m.size; r++)
                fprintf(stderr, "  rank %d: %.2f images/s (%.0f images in %.3f s of forward passes)\n", r,
                        rank_seconds[r] > 0 ? rank_rows[r] / rank_seconds[r] : 0.0, rank_rows[r], rank_seconds[r]);
        }
    }
    if (o.verbose && cli_mpi_root(&m)) printf("Trainable params: %lld\n", mi.parameters);
    if (o.output && o.verbose && cli_mpi_root(&m)) {
        char text[160];
        cli_format_shape(text, sizeof text, ot.rank, ot.dims);
        printf("Wrote output %s to %s\n", text, o.output);
    }
    rc = CLI_OK;
done:
    oct_npy_writer_abort(out);
    free(rank_seconds);
    free(rank_rows);
    oct_npy_reader_close(in);
    cli_image_rows_free(imgs);
    oct_array_release(&x);
    cli_model_free(model);
    oct_context_free(ctx);
    cli_mpi_stop(&m);
    return rc;
}
