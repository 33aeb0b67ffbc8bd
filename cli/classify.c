/* classify.c — `octcl classify`: the Fashion-MNIST test set (IDX files) through a
 * trained OctNetMini in batches; prints accuracy, images per second, the device, the
 * model, per-class accuracy and the most frequent confusions (or one JSON object).
 */
#include "cli.h"
#include "images.h"
#include "mpi_shard.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where the default model is looked for, as --help states it (see default_model). */
#define OCTCL_MODELS_DIR "PREFIX/share/octcl/models for PREFIX/bin/octcl"
#ifndef OCTCL_DATA_DIR
#define OCTCL_DATA_DIR "/usr/share/datasets/fashion-mnist"
#endif
#define DEFAULT_MODEL_FILE "octnet_fmnist_a0.50.safetensors"
#define TOP_CONFUSIONS 3

static const char *const fmnist_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                             "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: octcl classify [--model FILE] [--data DIR] [--device D] [--batch N]\n"
            "                      [--limit K] [--json] [--predictions FILE.npy]\n"
            "       octcl classify --images DIR [--model FILE] [--device D] [--batch N] [--top K]\n"
            "                      [--json] [--strict] [--resize N] [--crop HxW]\n"
            "\n"
            "Classify the Fashion-MNIST test set and report accuracy, images per second,\n"
            "per-class accuracy and the most frequent confusions.\n"
            "\n"
            "options:\n"
            "  --model FILE       a trained OctNetMini (safetensors, in_channels 1); default\n"
            "                     $OCTCL_MODELS/" DEFAULT_MODEL_FILE ", $OCTCL_MODELS defaulting to\n"
            "                     " OCTCL_MODELS_DIR "\n"
            "  --data DIR         folder holding t10k-images-idx3-ubyte[.gz] and\n"
            "                     t10k-labels-idx1-ubyte[.gz] (default " OCTCL_DATA_DIR ")\n"
            "  --device D         auto, opencl, opencl:P:D, cpu or ref (default $OCTCL_DEVICE, else auto);\n"
            "                     several at once: all (every OpenCL device and cpu) or a comma list\n"
            "                     (cpu,opencl:0:0): devices take chunks from a shared queue as they\n"
            "                     finish, and the report gives each device's images per second\n"
            "  --batch N          images per forward pass (default 256); with several devices, per\n"
            "                     device pass (a chunk)\n"
            "  --limit K          classify only the first K images (default: all)\n"
            "  --json             print one JSON object instead of the report\n"
            "  --predictions F    write the predicted labels as float32 .npy of shape (N,)\n"
            "  --max-device-mem B activation memory a pass may hold (e.g. 64M); batches run in chunks\n"
            "  --chunk N          images read at a time (per MPI rank; default 16 batches, with\n"
            "                     --images 4 batches): memory stays constant in the size of the input\n"
            "  -h, --help         this help\n"
            "\n"
            "Under mpirun (mpirun -n K octcl classify ...) the ranks share the test set in contiguous\n"
            "blocks of each chunk; rank 0 gathers the predictions in order, reports the accuracy and\n"
            "the speed in total and per rank, and alone writes --predictions. See README (MPI).\n"
            "\n"
            "PNG and JPEG files instead of the IDX test set:\n"
            "  --images DIR       with sub-folders, each is a class (sorted names are classes 0, 1, ...,\n"
            "                     torchvision's ImageFolder) and the accuracy is reported; without,\n"
            "                     each file gets a line with its top classes (or a JSON entry)\n"
            "  --top K            classes per file without sub-folders (default 3, at most 16)\n"
            "  --strict           a file that is not a readable PNG or JPEG is fatal (default: it\n"
            "                     is named on stderr, skipped and counted)\n"
            "  --resize N         resize the shorter side to N (0: none; default 28 for 1-channel\n"
            "                     models, 256 for 3-channel ones)\n"
            "  --crop HxW         centre crop (default 28x28, or 224x224 for 3 channels)\n"
            "  Images are made grey or RGB as the model takes, resized with PIL's bilinear filter\n"
            "  (as torchvision's Resize on PIL images), centre-cropped, then (p / 255 - mean) / std\n"
            "  with the model file's mean/std, else ImageNet's for 3-channel models.\n"
            "\n"
            "Pixels are preprocessed as (p / 255 - mean) / std with the model file's mean and std\n"
            "metadata, or p / 255 when the file has none. Images per second is the wall clock of\n"
            "the forward passes (upload, compute, read-back) after one untimed warm-up pass over\n"
            "the first batch, which builds the OpenCL programs.\n");
}

/* ------------------------------------------------------------------------------------ */
/* Options                                                                               */

enum {
    OPT_MODEL = 1, OPT_DATA, OPT_DEVICE, OPT_BATCH, OPT_LIMIT, OPT_JSON, OPT_PREDICTIONS, OPT_MAX_MEM,
    OPT_IMAGES, OPT_TOP, OPT_STRICT, OPT_RESIZE, OPT_CROP, OPT_CHUNK
};

typedef struct {
    const char *model, *data, *device, *predictions;
    char model_buf[4096];   /* the default model path */
    int batch, limit;       /* limit 0: all */
    int chunk;              /* --chunk: images per rank and round, 0: the default */
    int json;
    size_t max_mem;         /* --max-device-mem, 0: none */
    cli_images_options img; /* --images and its options (images.c) */
} classify_options;

/* The default model: $OCTCL_MODELS/DEFAULT_MODEL_FILE when $OCTCL_MODELS is set, else
 * found relative to this program (never through a path compiled in): PREFIX/bin/octcl
 * looks in PREFIX/share/octcl/models, and build/octcl in build/share/octcl/models (a link
 * to the source tree's models/ that CMake makes). When neither exists, the installed
 * location is named so that the error says where the model was expected. */
static int default_model(const char *cmd, char *buf, size_t len)
{
    const char *dir = getenv("OCTCL_MODELS");
    if (dir && *dir) {
        if (snprintf(buf, len, "%s/%s", dir, DEFAULT_MODEL_FILE) >= (int)len)
            return cli_usage_error(cmd, "$OCTCL_MODELS is too long (%zu characters)", strlen(dir)), 0;
        return 1;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || n >= (ssize_t)sizeof exe - 1) {
        snprintf(buf, len, "share/octcl/models/%s", DEFAULT_MODEL_FILE);
        return 1;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';   /* exe is now the program's folder */
    static const char *const rel[] = {"../share/octcl/models", "share/octcl/models"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
        if (snprintf(buf, len, "%s/%s/%s", exe, rel[i], DEFAULT_MODEL_FILE) < (int)len && access(buf, F_OK) == 0)
            return 1;
    if (snprintf(buf, len, "%s/%s/%s", exe, rel[0], DEFAULT_MODEL_FILE) >= (int)len)
        return cli_usage_error(cmd, "the program's folder %s is too long; set $OCTCL_MODELS", exe), 0;
    return 1;
}

static int parse_options(int argc, char **argv, classify_options *o)
{
    static const cli_option opts[] = {{"model", 1, OPT_MODEL}, {"data", 1, OPT_DATA},   {"device", 1, OPT_DEVICE},
                                      {"batch", 1, OPT_BATCH}, {"limit", 1, OPT_LIMIT}, {"json", 0, OPT_JSON},
                                      {"predictions", 1, OPT_PREDICTIONS}, {"max-device-mem", 1, OPT_MAX_MEM},
                                      {"images", 1, OPT_IMAGES}, {"top", 1, OPT_TOP}, {"strict", 0, OPT_STRICT},
                                      {"resize", 1, OPT_RESIZE}, {"crop", 1, OPT_CROP}, {"chunk", 1, OPT_CHUNK},
                                      {NULL, 0, 0}};
    const char *cmd = "classify", *v;
    memset(o, 0, sizeof *o);
    o->batch = 256;
    o->data = OCTCL_DATA_DIR;
    cli_images_defaults(&o->img);
    int batch_given = 0, data_given = 0;
    const char *image_only = NULL; /* an --images option given without --images */
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, opts);
    for (int id; (id = cli_next(&p, &v)) != CLI_OPT_END;) {
        int ok = 1;
        switch (id) {
        case CLI_OPT_ERROR: return CLI_USAGE;
        case CLI_OPT_HELP: usage(stdout); return CLI_OK;
        case OPT_MODEL: o->model = v; break;
        case OPT_DATA: o->data = v; break;
        case OPT_DEVICE: o->device = v; break;
        case OPT_BATCH: ok = cli_parse_int(cmd, "batch", v, 1, 65536, &o->batch); break;
        case OPT_LIMIT: ok = cli_parse_int(cmd, "limit", v, 1, INT_MAX, &o->limit); break;
        case OPT_CHUNK: ok = cli_parse_int(cmd, "chunk", v, 1, 1 << 24, &o->chunk); break;
        case OPT_JSON: o->json = 1; break;
        case OPT_PREDICTIONS: o->predictions = v; break;
        case OPT_MAX_MEM: ok = cli_parse_bytes(cmd, "max-device-mem", v, &o->max_mem); break;
        case OPT_IMAGES: o->img.dir = v; break;
        case OPT_TOP: ok = cli_parse_int(cmd, "top", v, 1, 16, &o->img.top_k); break;
        case OPT_STRICT: o->img.strict = 1; break;
        case OPT_RESIZE: ok = cli_parse_int(cmd, "resize", v, 0, 32768, &o->img.resize); break;
        case OPT_CROP: ok = cli_parse_size(cmd, "crop", v, 32768, &o->img.crop_h, &o->img.crop_w); break;
        }
        if (!ok) return CLI_USAGE;
        batch_given |= id == OPT_BATCH;
        data_given |= id == OPT_DATA;
        if (id == OPT_TOP || id == OPT_STRICT || id == OPT_RESIZE || id == OPT_CROP)
            image_only = id == OPT_TOP ? "--top" : id == OPT_STRICT ? "--strict" : id == OPT_RESIZE ? "--resize" : "--crop";
    }
    if (o->img.dir) {
        if (o->limit || o->predictions || data_given)
            return cli_usage_error(cmd, "--%s applies to the IDX test set, not to --images",
                                   o->limit ? "limit" : o->predictions ? "predictions" : "data");
        o->img.json = o->json;
        if (batch_given) o->img.batch = o->batch;
    } else if (image_only) {
        return cli_usage_error(cmd, "option '%s' applies to --images only", image_only);
    }
    if (!o->model && !default_model(cmd, o->model_buf, sizeof o->model_buf)) return CLI_USAGE;
    if (!o->model) o->model = o->model_buf;
    return -1;
}

/* ------------------------------------------------------------------------------------ */
/* The data set                                                                          */

/* Open DIR/NAME.gz, or DIR/NAME when the .gz is absent, for reading rows. */
static int open_idx(const char *dir, const char *name, oct_idx_reader **out)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s.gz", dir, name) >= (int)sizeof path)
        return cli_fail("--data %s: path too long", dir);
    if (access(path, F_OK) != 0) {
        char plain[4096];
        snprintf(plain, sizeof plain, "%s/%s", dir, name);
        if (access(plain, F_OK) != 0) return cli_fail("%s: neither %s.gz nor %s is there", dir, name, name);
        memcpy(path, plain, sizeof path);
    }
    oct_status s = oct_idx_reader_open(path, out);
    return s == OCT_OK ? CLI_OK : cli_fail_status(s);
}

/* Images (N, H, W), labels (N). */
static int check_data(const int64_t *images, int images_ndim, const int64_t *labels, int labels_ndim,
                      const char *dir)
{
    if (images_ndim != 3)
        return cli_fail("%s: the test images have %d dimension(s); expected (N, H, W) with N, H, W >= 1", dir,
                        images_ndim);
    if (images[1] > 16384 || images[2] > 16384 || images[0] > INT_MAX)
        return cli_fail("%s: the test images (%lld, %lld, %lld) are too large", dir, (long long)images[0],
                        (long long)images[1], (long long)images[2]);
    if (labels_ndim != 1 || labels[0] != images[0])
        return cli_fail("%s: %lld test images but the labels have %d dimension(s) of %lld", dir,
                        (long long)images[0], labels_ndim, (long long)labels[0]);
    return CLI_OK;
}

/* ------------------------------------------------------------------------------------ */
/* The pass                                                                              */

typedef struct {
    int images, correct, classes;
    double seconds;         /* the timed forward passes (this rank's, or the sum over ranks) */
    double warmup_seconds;  /* the untimed first pass (program builds, allocation) */
    long long *confusion;   /* (classes, classes): [true][predicted] */
    /* An MPI job (mpi_shard.h): rank 0's wall clock of the sharded loop and each rank's
     * images, forward seconds and device. */
    int mpi, ranks;         /* launched by mpirun (even -n 1): the MPI report */
    double wall;
    double *rank_images, *rank_seconds;
    char (*rank_devices)[256];
} tally;

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static void progress(int done, int total)
{
    const int width = 40;
    int filled = (int)((long long)done * width / total);
    fprintf(stderr, "\r[%.*s%*s] %d/%d", filled, "========================================", width - filled, "", done,
            total);
    if (done == total) fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* n images of px (h * w bytes each) preprocessed into x (n, 1, h, w), then logits
 * (n, classes) = model(x); *seconds is the wall clock of the forward pass alone. */
static oct_status forward_batch(oct_model *model, const oct_model_info *mi, const uint8_t *px, int n, int h, int w,
                                float *x, float *logits, double *seconds)
{
    size_t pixels = (size_t)h * (size_t)w;
    double mean = mi->has_norm ? mi->mean : 0.0, std = mi->has_norm ? mi->std : 1.0;
    for (size_t i = 0; i < (size_t)n * pixels; i++) x[i] = (float)((px[i] / 255.0 - mean) / std);
    double t0 = cli_now();
    oct_status s = cli_forward(model, x, n, h, w, logits, NULL, NULL);
    *seconds = cli_now() - t0;
    return s;
}

/* The stream: the first t->images images in rounds of `chunk` images per rank, each
 * rank its contiguous block of the round (mpi_shard.h), read from the files, classified
 * in batches; rank 0 gathers the predicted labels and writes them to `pred` (may be
 * NULL) as they come. One untimed warm-up pass over a rank's first batch comes first
 * (it builds the OpenCL programs). Fills the tally (summed on rank 0). */
static int classify_stream(const cli_mpi *m, oct_model *model, const oct_model_info *mi, oct_idx_reader *images,
                           oct_idx_reader *labels, int h, int w, int batch, int chunk, oct_npy_writer *pred, tally *t)
{
    int classes = mi->num_classes, show = cli_mpi_root(m) && isatty(STDERR_FILENO), rc = CLI_OK;
    size_t pixels = (size_t)h * (size_t)w;
    uint8_t *px = malloc((size_t)chunk * pixels), *truth = malloc((size_t)chunk);
    float *x = malloc((size_t)batch * pixels * sizeof(float));
    float *logits = malloc((size_t)batch * (size_t)classes * sizeof(float));
    float *mine = malloc((size_t)chunk * sizeof(float));
    float *all = cli_mpi_root(m) ? malloc((size_t)chunk * (size_t)m->size * sizeof(float)) : NULL;
    long long done_here = 0;
    int64_t begin, count;
    oct_status s;
    if (!px || !truth || !x || !logits || !mine || (cli_mpi_root(m) && !all))
        rc = cli_fail("out of host memory for a chunk of %d images", chunk);
    /* Warm-up over the first batch of this rank's first block. */
    cli_mpi_block(m, 0, t->images < (int64_t)chunk * m->size ? t->images : (int64_t)chunk * m->size, &begin, &count);
    if (rc == CLI_OK && count > 0) {
        int first = count < batch ? (int)count : batch;
        if ((s = oct_idx_reader_read(images, begin, first, px)) != OCT_OK ||
            (s = forward_batch(model, mi, px, first, h, w, x, logits, &t->warmup_seconds)) != OCT_OK)
            rc = cli_fail_status(s);
    }
    if ((rc = cli_mpi_agree(m, rc, "warmup")) != CLI_OK) goto done;
    if (cli_devset()) oct_devset_reset_stats(cli_devset()); /* per-device figures without the warm-up */
    double t0 = cli_now();
    for (int64_t base = 0; base < t->images; base += (int64_t)chunk * m->size) {
        int64_t round = t->images - base < (int64_t)chunk * m->size ? t->images - base : (int64_t)chunk * m->size;
        cli_mpi_block(m, base, round, &begin, &count);
        if ((s = oct_idx_reader_read(images, begin, count, px)) != OCT_OK ||
            (s = oct_idx_reader_read(labels, begin, count, truth)) != OCT_OK)
            rc = cli_fail_status(s);
        for (int64_t i = 0; rc == CLI_OK && i < count; i++)
            if (truth[i] >= classes)
                rc = cli_fail("label %d of image %lld is not a class of the model (%d classes)", truth[i],
                              (long long)(begin + i), classes);
        for (int64_t at = 0; rc == CLI_OK && at < count; at += batch) {
            int n = count - at < batch ? (int)(count - at) : batch;
            double seconds;
            if ((s = forward_batch(model, mi, px + (size_t)at * pixels, n, h, w, x, logits, &seconds)) != OCT_OK) {
                rc = cli_fail_status(s);
                break;
            }
            t->seconds += seconds;
            for (int i = 0; i < n; i++) {
                int k = truth[at + i], guess = argmax(logits + (size_t)i * classes, classes);
                mine[at + i] = (float)guess;
                t->confusion[(size_t)k * classes + guess]++;
                t->correct += k == guess;
            }
        }
        if ((rc = cli_mpi_agree(m, rc, "round")) != CLI_OK) {
            if (show) fputc('\n', stderr);
            goto done;
        }
        done_here += count;
        cli_mpi_gather(m, mine, count, all);
        if (cli_mpi_root(m) && pred && (s = oct_npy_writer_write(pred, all, (size_t)round)) != OCT_OK)
            rc = cli_fail_status(s);
        if ((rc = cli_mpi_agree(m, rc, "write")) != CLI_OK) goto done;
        if (show) progress((int)(base + round), t->images);
    }
    t->wall = cli_now() - t0;
    /* Rank 0 reports the sums and each rank's share. */
    long long sums[2] = {t->correct, 0};
    cli_mpi_sum(m, sums, 1);
    cli_mpi_sum(m, t->confusion, classes * classes);
    cli_mpi_gather_double(m, (double)done_here, t->rank_images);
    cli_mpi_gather_double(m, t->seconds, t->rank_seconds);
    t->correct = (int)sums[0];
done:
    free(all);
    free(mine);
    free(logits);
    free(x);
    free(truth);
    free(px);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Reports                                                                               */

typedef struct {
    int truth, guess;
    long long count;
} confusion;

/* The most frequent off-diagonal entries, largest first (ties: lower true, then
 * predicted class); returns how many (at most max) have a nonzero count. */
static int top_confusions(const tally *t, confusion *top, int max)
{
    int found = 0;
    for (int a = 0; a < t->classes; a++)
        for (int b = 0; b < t->classes; b++) {
            long long c = t->confusion[(size_t)a * t->classes + b];
            if (a == b || c == 0) continue;
            if (found < max)
                found++;
            else if (c <= top[max - 1].count)
                continue;
            /* Put it last, then move it up past every smaller count. */
            int at = found - 1;
            top[at] = (confusion){a, b, c};
            for (; at > 0 && top[at - 1].count < top[at].count; at--) {
                confusion tmp = top[at - 1];
                top[at - 1] = top[at];
                top[at] = tmp;
            }
        }
    return found;
}

static const char *class_name(int k, int classes, char *buf, size_t len)
{
    if (classes == 10) return fmnist_names[k];
    snprintf(buf, len, "class %d", k);
    return buf;
}

static long long class_total(const tally *t, int k)
{
    long long n = 0;
    for (int j = 0; j < t->classes; j++) n += t->confusion[(size_t)k * t->classes + j];
    return n;
}

static void report_text(const tally *t, const classify_options *o, const oct_device_info *di,
                        const oct_model_info *mi)
{
    char a[32], b[32];
    printf("accuracy: %.2f%% (%d/%d)\n", 100.0 * t->correct / t->images, t->correct, t->images);
    if (t->mpi) {
        if (t->wall > 0)
            printf("speed: %.1f images/s over %d MPI rank(s) (%d images in %.3f s wall clock of the sharded loop: "
                   "reads, forward passes, gathers; batch %d; rank 0's warm-up pass %.3f s)\n",
                   t->images / t->wall, t->ranks, t->images, t->wall, o->batch, t->warmup_seconds);
        for (int r = 0; r < t->ranks; r++)
            printf("  rank %d: %.1f images/s (%.0f images in %.3f s of forward passes) on %s\n", r,
                   t->rank_seconds[r] > 0 ? t->rank_images[r] / t->rank_seconds[r] : 0.0, t->rank_images[r],
                   t->rank_seconds[r], t->rank_devices[r]);
    } else if (t->seconds > 0)
        printf("speed: %.1f images/s (%d images in %.3f s of forward passes, batch %d; warm-up pass %.3f s)\n",
               t->images / t->seconds, t->images, t->seconds, o->batch, t->warmup_seconds);
    printf("device: %s (%s) [%s]\n", di->name, di->reason, cli_backend_name(di->backend));
    cli_devset_print(stdout, "  ");
    printf("model: %s (alpha %g, %lld parameters, %s)\n", o->model, mi->alpha, mi->parameters,
           mi->has_norm ? "normalised with the file's mean/std" : "pixels / 255");
    printf("per-class accuracy:\n");
    for (int k = 0; k < t->classes; k++) {
        long long total = class_total(t, k), right = t->confusion[(size_t)k * t->classes + k];
        if (total)
            printf("  %-12s %6.2f%%  (%lld/%lld)\n", class_name(k, t->classes, a, sizeof a), 100.0 * right / total,
                   right, total);
        else
            printf("  %-12s    n/a   (no images)\n", class_name(k, t->classes, a, sizeof a));
    }
    confusion top[TOP_CONFUSIONS];
    int n = top_confusions(t, top, TOP_CONFUSIONS);
    printf("most frequent confusions (true -> predicted):\n");
    if (n == 0) printf("  none\n");
    for (int i = 0; i < n; i++)
        printf("  %-12s -> %-12s %lld\n", class_name(top[i].truth, t->classes, a, sizeof a),
               class_name(top[i].guess, t->classes, b, sizeof b), top[i].count);
}

static void report_json(const tally *t, const classify_options *o, const oct_device_info *di,
                        const oct_model_info *mi)
{
    char a[32], b[32];
    printf("{\"accuracy\": %.6f, \"correct\": %d, \"images\": %d, ", (double)t->correct / t->images, t->correct,
           t->images);
    if (t->mpi && t->wall > 0)
        printf("\"images_per_second\": %.3f, ", t->images / t->wall);
    else if (!t->mpi && t->seconds > 0)
        printf("\"images_per_second\": %.3f, ", t->images / t->seconds);
    else
        printf("\"images_per_second\": null, ");
    printf("\"seconds\": %.6f, \"warmup_seconds\": %.6f, \"batch\": %d, \"device\": ", t->seconds,
           t->warmup_seconds, o->batch);
    cli_json_string(stdout, di->name);
    printf(", \"device_reason\": ");
    cli_json_string(stdout, di->reason);
    printf(", \"backend\": \"%s\", \"model\": ", cli_backend_name(di->backend));
    cli_json_string(stdout, o->model);
    printf(", \"alpha\": %.17g, \"parameters\": %lld, \"normalised\": %s, \"data\": ", mi->alpha, mi->parameters,
           mi->has_norm ? "true" : "false");
    cli_json_string(stdout, o->data);
    cli_devset_json(stdout);
    printf(", \"class_names\": [");
    for (int k = 0; k < t->classes; k++) {
        printf("%s", k ? ", " : "");
        cli_json_string(stdout, class_name(k, t->classes, a, sizeof a));
    }
    printf("], \"per_class_accuracy\": [");
    for (int k = 0; k < t->classes; k++) {
        long long total = class_total(t, k), right = t->confusion[(size_t)k * t->classes + k];
        if (total)
            printf("%s%.6f", k ? ", " : "", (double)right / total);
        else
            printf("%snull", k ? ", " : "");
    }
    confusion top[TOP_CONFUSIONS];
    int n = top_confusions(t, top, TOP_CONFUSIONS);
    printf("], \"top_confusions\": [");
    for (int i = 0; i < n; i++) {
        printf("%s{\"true\": ", i ? ", " : "");
        cli_json_string(stdout, class_name(top[i].truth, t->classes, a, sizeof a));
        printf(", \"predicted\": ");
        cli_json_string(stdout, class_name(top[i].guess, t->classes, b, sizeof b));
        printf(", \"count\": %lld}", top[i].count);
    }
    printf("]");
    if (t->mpi) {
        printf(", \"ranks\": %d, \"wall_seconds\": %.6f, \"per_rank\": [", t->ranks, t->wall);
        for (int r = 0; r < t->ranks; r++) {
            printf("%s{\"rank\": %d, \"images\": %.0f, \"seconds\": %.6f, \"images_per_second\": ", r ? ", " : "",
                   r, t->rank_images[r], t->rank_seconds[r]);
            if (t->rank_seconds[r] > 0)
                printf("%.3f", t->rank_images[r] / t->rank_seconds[r]);
            else
                printf("null");
            printf(", \"device\": ");
            cli_json_string(stdout, t->rank_devices[r]);
            printf("}");
        }
        printf("]");
    }
    printf("}\n");
}

/* ------------------------------------------------------------------------------------ */
/* The command                                                                           */

int cli_cmd_classify(int argc, char **argv)
{
    classify_options opts, *o = &opts;
    int rc = parse_options(argc, argv, o);
    if (rc >= 0) return rc;
    cli_mpi m;
    if ((rc = cli_mpi_start(&m)) != CLI_OK) return rc;
    oct_context *ctx = NULL;
    oct_model *model = NULL;
    oct_idx_reader *images = NULL, *labels = NULL;
    oct_npy_writer *pred = NULL;
    oct_device_info di;
    oct_model_info mi;
    tally t = {0};
    oct_status s;
    int64_t ishape[4], lshape[4];
    int ind = 0, lnd = 0, chunk = o->chunk, per_call = o->batch;
    char device_buf[64];

    /* Several devices (--device all or a list): the model on each, as one device set; under
     * MPI each rank opens its own, node-local set (or, for auto/opencl, its local GPU). */
    int on_set = cli_device_is_set(o->device);
    /* Rank 0's text report names the device, so it is not said on stderr as well; with
     * --images, images.c says it unless its report is the accuracy one (class folders). */
    int say = !o->img.dir && (o->json || !cli_mpi_root(&m));
    o->img.say_device = !on_set;
    rc = on_set ? cli_devset_open("classify", o->device, o->model, NULL, o->max_mem, &model, &di)
                : cli_open_device("classify", cli_mpi_device(&m, o->device, device_buf, sizeof device_buf), say,
                                  &ctx, &di);
    if (o->img.dir) {
        /* Image folders are sharded like the IDX set (images.c): rounds of --chunk files. */
        o->img.chunk = o->chunk;
        if (rc == CLI_OK &&
            ((!on_set && (s = oct_model_load(ctx, o->model, &model)) != OCT_OK) ||
             (s = oct_model_info_get(model, &mi)) != OCT_OK ||
             (o->max_mem && (s = oct_model_set_memory_limit(model, o->max_mem)) != OCT_OK)))
            rc = cli_fail_status(s);
        if ((rc = cli_mpi_agree(&m, rc, "open")) != CLI_OK) goto done;
        rc = cli_images_classify(&m, model, &mi, &di, o->model, &o->img);
        /* rank 0's report may fail (no images) where the others did not */
        if (m.size > 1) rc = cli_mpi_agree(&m, rc, "report");
        goto done;
    }
    if (rc == CLI_OK) rc = open_idx(o->data, "t10k-images-idx3-ubyte", &images);
    if (rc == CLI_OK) rc = open_idx(o->data, "t10k-labels-idx1-ubyte", &labels);
    if (rc == CLI_OK && ((!on_set && (s = oct_model_load(ctx, o->model, &model)) != OCT_OK) ||
                         (s = oct_model_info_get(model, &mi)) != OCT_OK))
        rc = cli_fail_status(s);
    if (rc == CLI_OK) {
        size_t limit = cli_memory_limit(&di, o->max_mem);
        if (limit && (s = oct_model_set_memory_limit(model, limit)) != OCT_OK) rc = cli_fail_status(s);
    }
    if (rc == CLI_OK && mi.in_channels != 1)
        rc = cli_fail("%s: the model takes %d input channels; Fashion-MNIST images have 1", o->model, mi.in_channels);
    if (rc == CLI_OK) {
        ind = oct_idx_reader_shape(images, ishape);
        lnd = oct_idx_reader_shape(labels, lshape);
        rc = check_data(ishape, ind, lshape, lnd, o->data);
    }
    if (rc == CLI_OK) {
        t.classes = mi.num_classes;
        t.images = (int)ishape[0];
        if (o->limit && o->limit < t.images) t.images = o->limit;
    }
    if (rc == CLI_OK) {
        t.ranks = m.size;
        t.mpi = m.active;
        t.confusion = calloc((size_t)t.classes * (size_t)t.classes, sizeof *t.confusion);
        t.rank_images = calloc((size_t)m.size, sizeof *t.rank_images);
        t.rank_seconds = calloc((size_t)m.size, sizeof *t.rank_seconds);
        t.rank_devices = calloc((size_t)m.size, sizeof *t.rank_devices);
        if (!t.confusion || !t.rank_images || !t.rank_seconds || !t.rank_devices)
            rc = cli_fail("out of host memory for the confusion matrix (%d classes)", t.classes);
    }
    /* A set runs passes of --batch images per device (chunks), four per device per call. */
    if (rc == CLI_OK && on_set) {
        if ((s = oct_devset_set_chunk(cli_devset(), o->batch)) != OCT_OK)
            rc = cli_fail_status(s);
        else
            per_call = o->batch * 4 * oct_devset_count(cli_devset());
    }
    if (rc == CLI_OK && !chunk) /* default: 16 passes per rank and round, at most 64 MiB of pixels */
        chunk = (int)(((size_t)64 << 20) / ((size_t)ishape[1] * (size_t)ishape[2] + 4) < (size_t)per_call * 16
                          ? ((size_t)64 << 20) / ((size_t)ishape[1] * (size_t)ishape[2] + 4) + 1
                          : (size_t)per_call * 16);
    if (rc == CLI_OK && cli_mpi_root(&m) && o->predictions) {
        int64_t shape[1] = {t.images};
        fflush(stdout); /* text printed so far comes first when the file is /dev/stdout */
        if ((s = oct_npy_writer_open(o->predictions, 1, shape, &pred)) != OCT_OK) rc = cli_fail_status(s);
    }
    if ((rc = cli_mpi_agree(&m, rc, "open")) != CLI_OK) goto done;
    /* Every rank must cut the same input the same way (files differ between nodes?). */
    rc = cli_mpi_same(&m, t.images, "images in the input");
    if (rc == CLI_OK) rc = cli_mpi_same(&m, chunk, "images per chunk");
    if ((rc = cli_mpi_agree(&m, rc, "same")) != CLI_OK) goto done;
    cli_mpi_gather_name(&m, di.name, t.rank_devices);
    if ((rc = classify_stream(&m, model, &mi, images, labels, (int)ishape[1], (int)ishape[2], per_call, chunk, pred,
                              &t)) != CLI_OK)
        goto done;
    if (pred) {
        s = oct_npy_writer_commit(pred);
        pred = NULL;
        if (s != OCT_OK) rc = cli_fail_status(s);
    }
    if ((rc = cli_mpi_agree(&m, rc, "commit")) != CLI_OK) goto done;
    if (cli_mpi_root(&m)) {
        if (o->json)
            report_json(&t, o, &di, &mi);
        else
            report_text(&t, o, &di, &mi);
    }
    rc = CLI_OK;
done:
    oct_npy_writer_abort(pred);
    free(t.rank_devices);
    free(t.rank_seconds);
    free(t.rank_images);
    free(t.confusion);
    oct_idx_reader_close(labels);
    oct_idx_reader_close(images);
    cli_model_free(model);
    oct_context_free(ctx);
    cli_mpi_stop(&m);
    return rc;
}
