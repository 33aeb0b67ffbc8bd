/* classify.c — `octcl classify`: the Fashion-MNIST test set (IDX files) through a
 * trained OctNetMini in batches; prints accuracy, images per second, the device, the
 * model, per-class accuracy and the most frequent confusions (or one JSON object).
 */
#include "cli.h"
#include "images.h"

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
            "  -h, --help         this help\n"
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
    OPT_IMAGES, OPT_TOP, OPT_STRICT, OPT_RESIZE, OPT_CROP
};

typedef struct {
    const char *model, *data, *device, *predictions;
    char model_buf[4096];   /* the default model path */
    int batch, limit;       /* limit 0: all */
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
                                      {"resize", 1, OPT_RESIZE}, {"crop", 1, OPT_CROP}, {NULL, 0, 0}};
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

/* Load DIR/NAME.gz, or DIR/NAME when the .gz is absent. */
static int load_idx(const char *dir, const char *name, oct_idx *out)
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
    oct_status s = oct_idx_load(path, out);
    return s == OCT_OK ? CLI_OK : cli_fail_status(s);
}

/* Images (N, H, W), labels (N) with every label a class of the model. */
static int check_data(const oct_idx *images, const oct_idx *labels, const char *dir, int classes)
{
    if (images->ndim != 3 || images->shape[0] < 1 || images->shape[1] < 1 || images->shape[2] < 1)
        return cli_fail("%s: the test images have %d dimension(s); expected (N, H, W) with N, H, W >= 1", dir,
                        images->ndim);
    if (images->shape[1] > 16384 || images->shape[2] > 16384 || images->shape[0] > INT_MAX)
        return cli_fail("%s: the test images (%lld, %lld, %lld) are too large", dir, (long long)images->shape[0],
                        (long long)images->shape[1], (long long)images->shape[2]);
    if (labels->ndim != 1 || labels->shape[0] != images->shape[0])
        return cli_fail("%s: %lld test images but the labels have %d dimension(s) of %lld", dir,
                        (long long)images->shape[0], labels->ndim, (long long)labels->shape[0]);
    for (int64_t i = 0; i < labels->shape[0]; i++)
        if (labels->data[i] >= classes)
            return cli_fail("%s: label %d of image %lld is not a class of the model (%d classes)", dir,
                            labels->data[i], (long long)i, classes);
    return CLI_OK;
}

/* ------------------------------------------------------------------------------------ */
/* The pass                                                                              */

typedef struct {
    int images, correct, classes;
    double seconds;         /* the timed forward passes */
    double warmup_seconds;  /* the untimed first pass (program builds, allocation) */
    long long *confusion;   /* (classes, classes): [true][predicted] */
    float *predicted;       /* (images) */
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

/* Images [start, start + n) preprocessed into x (n, 1, h, w), then logits (n, classes)
 * = model(x); *seconds is the wall clock of the forward pass alone. */
static oct_status forward_batch(oct_model *model, const oct_model_info *mi, const oct_idx *images, int start, int n,
                                float *x, float *logits, double *seconds)
{
    int h = (int)images->shape[1], w = (int)images->shape[2];
    size_t pixels = (size_t)h * (size_t)w;
    double mean = mi->has_norm ? mi->mean : 0.0, std = mi->has_norm ? mi->std : 1.0;
    const uint8_t *px = images->data + (size_t)start * pixels;
    for (size_t i = 0; i < (size_t)n * pixels; i++) x[i] = (float)((px[i] / 255.0 - mean) / std);
    double t0 = cli_now();
    oct_status s = cli_forward(model, x, n, h, w, logits, NULL, NULL);
    *seconds = cli_now() - t0;
    return s;
}

/* One untimed warm-up pass over the first batch (it builds the OpenCL programs), then
 * every batch of the first t->images images, timed; fills the tally. */
static int classify_all(oct_model *model, const oct_model_info *mi, const oct_idx *images, const oct_idx *labels,
                        int batch, tally *t)
{
    int classes = mi->num_classes, show = isatty(STDERR_FILENO), rc = CLI_OK;
    size_t pixels = (size_t)images->shape[1] * (size_t)images->shape[2];
    float *x = malloc((size_t)batch * pixels * sizeof(float));
    float *logits = malloc((size_t)batch * (size_t)classes * sizeof(float));
    oct_status s;
    if (!x || !logits) {
        rc = cli_fail("out of host memory for a batch of %d images", batch);
        goto done;
    }
    int first = t->images < batch ? t->images : batch;
    if ((s = forward_batch(model, mi, images, 0, first, x, logits, &t->warmup_seconds)) != OCT_OK) {
        rc = cli_fail_status(s);
        goto done;
    }
    if (cli_devset()) oct_devset_reset_stats(cli_devset()); /* per-device figures without the warm-up */
    for (int start = 0; start < t->images; start += batch) {
        int n = t->images - start < batch ? t->images - start : batch;
        double seconds;
        if ((s = forward_batch(model, mi, images, start, n, x, logits, &seconds)) != OCT_OK) {
            if (show) fputc('\n', stderr);
            rc = cli_fail_status(s);
            goto done;
        }
        t->seconds += seconds;
        for (int i = 0; i < n; i++) {
            int truth = labels->data[start + i], guess = argmax(logits + (size_t)i * classes, classes);
            t->predicted[start + i] = (float)guess;
            t->confusion[(size_t)truth * classes + guess]++;
            t->correct += truth == guess;
        }
        if (show) progress(start + n, t->images);
    }
done:
    free(logits);
    free(x);
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
    if (t->seconds > 0)
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
    if (t->seconds > 0)
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
    printf("]}\n");
}

/* ------------------------------------------------------------------------------------ */
/* The command                                                                           */

int cli_cmd_classify(int argc, char **argv)
{
    classify_options opts, *o = &opts;
    int rc = parse_options(argc, argv, o);
    if (rc >= 0) return rc;
    oct_context *ctx = NULL;
    oct_model *model = NULL;
    oct_idx images = {0}, labels = {0};
    oct_device_info di;
    oct_model_info mi;
    tally t = {0};
    oct_status s;

    /* Several devices (--device all or a list): the model on each, as one device set. */
    int on_set = cli_device_is_set(o->device);
    if ((rc = on_set ? cli_devset_open("classify", o->device, o->model, NULL, o->max_mem, &model, &di)
                     : cli_open_device("classify", o->device, &ctx, &di)) != CLI_OK)
        goto done;
    if (o->img.dir) {
        if ((!on_set && (s = oct_model_load(ctx, o->model, &model)) != OCT_OK) ||
            (s = oct_model_info_get(model, &mi)) != OCT_OK ||
            (o->max_mem && (s = oct_model_set_memory_limit(model, o->max_mem)) != OCT_OK)) {
            rc = cli_fail_status(s);
            goto done;
        }
        rc = cli_images_classify(model, &mi, &di, o->model, &o->img);
        goto done;
    }
    if ((rc = load_idx(o->data, "t10k-images-idx3-ubyte", &images)) != CLI_OK) goto done;
    if ((rc = load_idx(o->data, "t10k-labels-idx1-ubyte", &labels)) != CLI_OK) goto done;
    if ((!on_set && (s = oct_model_load(ctx, o->model, &model)) != OCT_OK) ||
        (s = oct_model_info_get(model, &mi)) != OCT_OK) {
        rc = cli_fail_status(s);
        goto done;
    }
    size_t limit = cli_memory_limit(&di, o->max_mem);
    if (limit && (s = oct_model_set_memory_limit(model, limit)) != OCT_OK) {
        rc = cli_fail_status(s);
        goto done;
    }
    if (mi.in_channels != 1) {
        rc = cli_fail("%s: the model takes %d input channels; Fashion-MNIST images have 1", o->model, mi.in_channels);
        goto done;
    }
    if ((rc = check_data(&images, &labels, o->data, mi.num_classes)) != CLI_OK) goto done;

    t.classes = mi.num_classes;
    t.images = (int)images.shape[0];
    if (o->limit && o->limit < t.images) t.images = o->limit;
    t.confusion = calloc((size_t)t.classes * (size_t)t.classes, sizeof *t.confusion);
    t.predicted = malloc((size_t)t.images * sizeof *t.predicted);
    if (!t.confusion || !t.predicted) {
        rc = cli_fail("out of host memory for the confusion matrix (%d classes)", t.classes);
        goto done;
    }
    /* A set runs passes of --batch images per device (chunks), four per device per call. */
    if (on_set && (s = oct_devset_set_chunk(cli_devset(), o->batch)) != OCT_OK) {
        rc = cli_fail_status(s);
        goto done;
    }
    int per_call = on_set ? o->batch * 4 * oct_devset_count(cli_devset()) : o->batch;
    if ((rc = classify_all(model, &mi, &images, &labels, per_call, &t)) != CLI_OK) goto done;

    if (o->predictions) {
        int64_t shape[1] = {t.images};
        fflush(stdout); /* text printed so far comes first when the file is /dev/stdout */
        if ((s = oct_npy_save(o->predictions, t.predicted, 1, shape)) != OCT_OK) {
            rc = cli_fail_status(s);
            goto done;
        }
    }
    if (o->json)
        report_json(&t, o, &di, &mi);
    else
        report_text(&t, o, &di, &mi);
    rc = CLI_OK;
done:
    free(t.predicted);
    free(t.confusion);
    oct_idx_release(&labels);
    oct_idx_release(&images);
    cli_model_free(model);
    oct_context_free(ctx);
    return rc;
}
