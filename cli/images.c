/* images.c — PNG and JPEG folders through a model: `octcl classify --images DIR` (the
 * ImageFolder convention: sub-folders are the classes, in sorted order, and give the
 * accuracy; without sub-folders, the top-k classes of each file) and `octcl run --images
 * DIR` (the files as one batch). Decoding and preprocessing are the library's
 * oct_image_* calls; files that do not decode are named on stderr, skipped and counted
 * (--strict: the first one is fatal).
 */
#define _DEFAULT_SOURCE /* DT_* and strdup on glibc */
#include "cli.h"
#include "images.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const fmnist_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                             "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

void cli_images_defaults(cli_images_options *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 64;
    o->top_k = 3;
    o->resize = o->crop_h = o->crop_w = -1;
}

/* ------------------------------------------------------------------------------------ */
/* Listing files                                                                         */

typedef struct {
    char *path;
    int label; /* -1: none */
} entry;

typedef struct {
    entry *v;
    size_t n, cap;
    char **classes; /* labelled: the sorted sub-folder names */
    int nclasses;
    int skipped;    /* files that did not decode, or lie outside the class folders */
} listing;

static void listing_free(listing *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i].path);
    for (int i = 0; i < l->nclasses; i++) free(l->classes[i]);
    free(l->v);
    free(l->classes);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The names in dir (no "." / ".." / hidden ones), sorted bytewise as Python's sorted(). */
static int read_names(const char *dir, char ***out, size_t *count)
{
    DIR *d = opendir(dir);
    *out = NULL;
    *count = 0;
    if (!d) return cli_fail("%s: cannot open the folder: %s", dir, strerror(errno));
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc = CLI_OK;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                rc = cli_fail("out of host memory listing %s", dir);
                break;
            }
            v = nv;
        }
        if (!(v[n] = strdup(e->d_name))) {
            rc = cli_fail("out of host memory listing %s", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc != CLI_OK) {
        for (size_t i = 0; i < n; i++) free(v[i]);
        free(v);
        return rc;
    }
    if (n) qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    *count = n;
    return CLI_OK;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* Whether path names a folder (following links, as os.walk's listing does). */
static int is_folder(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int add_entry(listing *l, char *path, int label)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        entry *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) {
            free(path);
            return cli_fail("out of host memory listing images");
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = (entry){path, label};
    return CLI_OK;
}

/* Every file under dir, sorted, recursively (sub-folders walked in sorted order, as
 * os.walk under sorted() does for torchvision's ImageFolder), with `label`. */
static int walk(listing *l, const char *dir, int label, int depth)
{
    char **names;
    size_t n;
    int rc = read_names(dir, &names, &n);
    if (rc != CLI_OK) return rc;
    if (depth > 32) {
        free_names(names, n);
        return cli_fail("%s: folders nested more than 32 deep", dir);
    }
    /* Files first in sorted order, then the sub-folders (os.walk yields a folder's files
     * before descending). */
    for (int pass = 0; pass < 2 && rc == CLI_OK; pass++)
        for (size_t i = 0; i < n && rc == CLI_OK; i++) {
            char *path = join(dir, names[i]);
            if (!path) {
                rc = cli_fail("out of host memory listing %s", dir);
                break;
            }
            int is_dir = is_folder(path);
            if (pass == 0 && !is_dir) {
                rc = add_entry(l, path, label);
                continue;
            }
            if (pass == 1 && is_dir) rc = walk(l, path, label, depth + 1);
            free(path);
        }
    free_names(names, n);
    return rc;
}

/* DIR with sub-folders: classes; without: plain files. Files beside class folders are
 * reported and skipped. */
static int list_images(const char *dir, int strict, listing *l)
{
    char **names;
    size_t n;
    memset(l, 0, sizeof *l);
    int rc = read_names(dir, &names, &n);
    if (rc != CLI_OK) return rc;
    int nsub = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = join(dir, names[i]);
        if (path && is_folder(path)) nsub++;
        free(path);
    }
    if (nsub == 0) {
        free_names(names, n);
        return walk(l, dir, -1, 0);
    }
    l->classes = calloc((size_t)nsub, sizeof *l->classes);
    if (!l->classes) rc = cli_fail("out of host memory listing %s", dir);
    for (size_t i = 0; i < n && rc == CLI_OK; i++) {
        char *path = join(dir, names[i]);
        if (!path) {
            rc = cli_fail("out of host memory listing %s", dir);
            break;
        }
        if (is_folder(path)) {
            int label = l->nclasses;
            if (!(l->classes[l->nclasses] = strdup(names[i]))) rc = cli_fail("out of host memory listing %s", dir);
            else l->nclasses++;
            if (rc == CLI_OK) rc = walk(l, path, label, 1);
        } else if (strict) {
            rc = cli_fail("%s: not in a class folder (%s has sub-folders, so each is a class)", path, dir);
        } else {
            fprintf(stderr, "octcl: skipped %s: not in a class folder (%s has sub-folders, so each is a class)\n",
                    path, dir);
            l->skipped++;
        }
        free(path);
    }
    free_names(names, n);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Preprocessing                                                                         */

int cli_images_prep(const oct_model *model, const oct_model_info *mi, const cli_images_options *o,
                    oct_image_prep *p)
{
    /* A model whose file declares its input size (an ONNX graph) gets images that size. */
    oct_model_tensor in;
    int h = 0, w = 0;
    if (model && oct_model_input(model, 0, &in) == OCT_OK && in.rank == 4 && in.dims[2] > 0 && in.dims[3] > 0)
        h = (int)in.dims[2], w = (int)in.dims[3];
    oct_status s = oct_image_prep_for_input(mi, h, w, p);
    if (s != OCT_OK) return cli_fail_status(s);
    if (o->resize >= 0) p->resize = o->resize;
    if (o->crop_h >= 0) p->crop_h = o->crop_h, p->crop_w = o->crop_w;
    if (o->raw)
        for (int c = 0; c < 3; c++) p->mean[c] = 0.0, p->std[c] = 1.0;
    char norm[160];
    if (o->raw)
        snprintf(norm, sizeof norm, "no mean/std (--raw): p / 255");
    else if (p->channels == 1 || (p->mean[0] == p->mean[1] && p->mean[1] == p->mean[2] && p->std[0] == p->std[1] &&
                                  p->std[1] == p->std[2]))
        snprintf(norm, sizeof norm, "mean %g std %g (%s)", p->mean[0], p->std[0],
                 mi->has_norm ? "the model file's" : p->channels == 3 ? "ImageNet's" : "none declared");
    else
        snprintf(norm, sizeof norm, "mean (%g, %g, %g) std (%g, %g, %g) (%s)", p->mean[0], p->mean[1], p->mean[2],
                 p->std[0], p->std[1], p->std[2], mi->has_norm ? "the model file's" : "ImageNet's");
    char resize[32] = "no resize", crop[32] = "no crop";
    if (p->resize) snprintf(resize, sizeof resize, "resize %d", p->resize);
    if (p->crop_h) snprintf(crop, sizeof crop, "crop %dx%d", p->crop_h, p->crop_w);
    fprintf(stderr, "preprocessing: %s, %s, %s, %s\n", p->channels == 1 ? "grey" : "RGB", resize, crop, norm);
    return CLI_OK;
}

/* Decode + preprocess files [*next, ...) into x until `batch` images are in or the files
 * run out; rows[i] is the entry of x's image i. Bad files are reported and skipped (or
 * fatal with --strict). *h, *w: the batch's size, fixed by its first image. */
static int fill_batch(listing *l, size_t *next, const oct_image_prep *p, int strict, int batch, float *x,
                      size_t per_image, int *h, int *w, size_t *rows, int *got)
{
    *got = 0;
    while (*got < batch && *next < l->n) {
        size_t at = (*next)++;
        const char *path = l->v[at].path;
        oct_image img;
        int ih, iw;
        oct_status s = oct_image_load(path, &img);
        if (s == OCT_OK) s = oct_image_prep_shape(p, &img, &ih, &iw);
        if (s == OCT_OK && *h == 0) *h = ih, *w = iw;
        if (s == OCT_OK && (ih != *h || iw != *w)) {
            oct_image_release(&img);
            return cli_fail("%s: preprocesses to %dx%d but earlier images to %dx%d; give --crop HxW", path, ih, iw,
                            *h, *w);
        }
        if (s == OCT_OK && (size_t)p->channels * (size_t)ih * (size_t)iw != per_image) {
            oct_image_release(&img);
            return cli_fail("%s: preprocesses to %dx%d, larger than the batch buffer", path, ih, iw);
        }
        if (s == OCT_OK) s = oct_image_preprocess(&img, p, x + (size_t)*got * per_image, per_image);
        oct_image_release(&img);
        if (s == OCT_ERR_HOST_MEMORY) return cli_fail_status(s);
        if (s != OCT_OK) {
            /* The library's message names the file and what is wrong with it. */
            if (strict) return cli_fail("%s (--strict)", cli_status_text(s));
            fprintf(stderr, "octcl: skipped %s\n", cli_status_text(s));
            l->skipped++;
            continue;
        }
        rows[(*got)++] = at;
    }
    return CLI_OK;
}

/* The floats one preprocessed image needs: from the crop, or from the first file that
 * decodes when there is no crop (later files must match it). */
static int image_floats(const listing *l, const oct_image_prep *p, size_t *per_image)
{
    if (p->crop_h && p->crop_w) {
        *per_image = (size_t)p->channels * (size_t)p->crop_h * (size_t)p->crop_w;
        return CLI_OK;
    }
    for (size_t i = 0; i < l->n; i++) {
        oct_image img;
        int h, w;
        if (oct_image_load(l->v[i].path, &img) != OCT_OK) continue;
        oct_status s = oct_image_prep_shape(p, &img, &h, &w);
        oct_image_release(&img);
        if (s != OCT_OK) return cli_fail_status(s);
        *per_image = (size_t)p->channels * (size_t)h * (size_t)w;
        return CLI_OK;
    }
    *per_image = 1;
    return CLI_OK;
}

static void report_skipped(const listing *l)
{
    if (l->skipped)
        fprintf(stderr, "octcl: skipped %d file(s) that are not readable PNG or JPEG images (named above)\n",
                l->skipped);
}

/* ------------------------------------------------------------------------------------ */
/* run --images                                                                          */

int cli_images_batch(const oct_model *model, const oct_model_info *mi, const cli_images_options *o, oct_array *x)
{
    listing l;
    oct_image_prep p;
    size_t per_image = 0, *rows = NULL;
    int rc, h = 0, w = 0, got = 0;
    memset(x, 0, sizeof *x);
    if ((rc = cli_images_prep(model, mi, o, &p)) != CLI_OK) return rc;
    if ((rc = list_images(o->dir, o->strict, &l)) != CLI_OK) goto done;
    if ((rc = image_floats(&l, &p, &per_image)) != CLI_OK) goto done;
    size_t n = l.n ? l.n : 1, next = 0;
    x->data = malloc(n * per_image * sizeof(float));
    rows = malloc(n * sizeof *rows);
    if (!x->data || !rows) {
        rc = cli_fail("out of host memory for %zu images", l.n);
        goto done;
    }
    if ((rc = fill_batch(&l, &next, &p, o->strict, (int)n, x->data, per_image, &h, &w, rows, &got)) != CLI_OK)
        goto done;
    report_skipped(&l);
    if (got == 0) {
        rc = cli_fail("%s: no PNG or JPEG images to run", o->dir);
        goto done;
    }
    for (int i = 0; i < got; i++) fprintf(stderr, "row %d: %s\n", i, l.v[rows[i]].path);
    x->ndim = 4;
    x->shape[0] = got, x->shape[1] = p.channels, x->shape[2] = h, x->shape[3] = w;
done:
    if (rc != CLI_OK) oct_array_release(x);
    free(rows);
    listing_free(&l);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* classify --images                                                                     */

static const char *class_name(const listing *l, const oct_model_info *mi, int k, char *buf, size_t len)
{
    if (l->nclasses && k < l->nclasses) return l->classes[k];
    if (mi->num_classes == 10 && mi->in_channels == 1) return fmnist_names[k];
    snprintf(buf, len, "class %d", k);
    return buf;
}

/* The k most probable classes of one row of logits (softmax in double), best first. */
static void top_classes(const float *logits, int classes, int k, int *idx, double *prob)
{
    double mx = logits[0], sum = 0.0;
    for (int c = 1; c < classes; c++)
        if (logits[c] > mx) mx = logits[c];
    for (int c = 0; c < classes; c++) sum += exp((double)logits[c] - mx);
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int c = 0; c < classes; c++) {
            int taken = 0;
            for (int i = 0; i < j; i++) taken |= idx[i] == c;
            if (!taken && (best < 0 || logits[c] > logits[best])) best = c;
        }
        idx[j] = best;
        prob[j] = exp((double)logits[best] - mx) / sum;
    }
}

int cli_images_classify(oct_model *model, const oct_model_info *mi, const oct_device_info *di,
                        const char *model_path, const cli_images_options *o)
{
    listing l;
    oct_image_prep p;
    float *x = NULL, *logits = NULL;
    size_t per_image = 0, *rows = NULL, next = 0;
    long long *confusion = NULL;
    int rc, h = 0, w = 0, classes = mi->num_classes, k = o->top_k < classes ? o->top_k : classes;
    int images = 0, correct = 0, first_json = 1;
    double seconds = 0.0, t_start = cli_now();
    char a[32];

    if ((rc = cli_images_prep(model, mi, o, &p)) != CLI_OK) return rc;
    if ((rc = list_images(o->dir, o->strict, &l)) != CLI_OK) goto done;
    if (l.nclasses > classes) {
        rc = cli_fail("%s has %d class folders but the model has %d classes", o->dir, l.nclasses, classes);
        goto done;
    }
    if ((rc = image_floats(&l, &p, &per_image)) != CLI_OK) goto done;
    x = malloc((size_t)o->batch * per_image * sizeof *x);
    logits = malloc((size_t)o->batch * (size_t)classes * sizeof *logits);
    rows = malloc((size_t)o->batch * sizeof *rows);
    confusion = calloc((size_t)classes * (size_t)classes, sizeof *confusion);
    if (!x || !logits || !rows || !confusion) {
        rc = cli_fail("out of host memory for a batch of %d images", o->batch);
        goto done;
    }
    for (;;) {
        int got;
        if ((rc = fill_batch(&l, &next, &p, o->strict, o->batch, x, per_image, &h, &w, rows, &got)) != CLI_OK)
            goto done;
        if (got == 0) break;
        double t0 = cli_now();
        oct_status s = cli_forward(model, x, got, h, w, logits, NULL, NULL);
        seconds += cli_now() - t0;
        if (s != OCT_OK) {
            rc = cli_fail_status(s);
            goto done;
        }
        for (int i = 0; i < got; i++) {
            const float *row = logits + (size_t)i * classes;
            const entry *e = &l.v[rows[i]];
            int idx[16];
            double prob[16];
            top_classes(row, classes, l.nclasses ? 1 : k, idx, prob);
            if (l.nclasses) {
                confusion[(size_t)e->label * classes + idx[0]]++;
                correct += idx[0] == e->label;
            } else if (o->json) {
                printf("%s\n  {\"file\": ", first_json ? "{\"images\": [" : ",");
                first_json = 0;
                cli_json_string(stdout, e->path);
                printf(", \"top\": [");
                for (int j = 0; j < k; j++) {
                    printf("%s{\"class\": %d, \"name\": ", j ? ", " : "", idx[j]);
                    cli_json_string(stdout, class_name(&l, mi, idx[j], a, sizeof a));
                    printf(", \"probability\": %.6f}", prob[j]);
                }
                printf("]}");
            } else {
                printf("%s:", e->path);
                for (int j = 0; j < k; j++)
                    printf("%s %s %.1f%%", j ? "," : "", class_name(&l, mi, idx[j], a, sizeof a), 100.0 * prob[j]);
                printf("\n");
            }
            images++;
        }
        fflush(stdout);
    }
    report_skipped(&l);
    double total = cli_now() - t_start;
    if (!l.nclasses) {
        if (o->json) {
            printf("%s], \"skipped\": %d, \"model\": ", first_json ? "{\"images\": [" : "\n", l.skipped);
            cli_json_string(stdout, model_path);
            printf(", \"device\": ");
            cli_json_string(stdout, di->name);
            printf("}\n");
        }
        if (images == 0) rc = cli_fail("%s: no PNG or JPEG images to classify", o->dir);
        goto done;
    }
    if (images == 0) {
        rc = cli_fail("%s: no PNG or JPEG images in its class folders", o->dir);
        goto done;
    }
    if (o->json) {
        printf("{\"accuracy\": %.6f, \"correct\": %d, \"images\": %d, \"skipped\": %d, \"classes\": [",
               (double)correct / images, correct, images, l.skipped);
        for (int c = 0; c < l.nclasses; c++) {
            if (c) printf(", ");
            cli_json_string(stdout, l.classes[c]);
        }
        printf("], \"per_class\": [");
        for (int c = 0; c < l.nclasses; c++) {
            long long tot = 0;
            for (int j = 0; j < classes; j++) tot += confusion[(size_t)c * classes + j];
            printf("%s{\"images\": %lld, \"correct\": %lld}", c ? ", " : "", tot, confusion[(size_t)c * classes + c]);
        }
        printf("], \"seconds\": %.6f, \"forward_seconds\": %.6f, \"model\": ", total, seconds);
        cli_json_string(stdout, model_path);
        printf(", \"device\": ");
        cli_json_string(stdout, di->name);
        printf(", \"images_dir\": ");
        cli_json_string(stdout, o->dir);
        printf("}\n");
    } else {
        printf("accuracy: %.2f%% (%d/%d)\n", 100.0 * correct / images, correct, images);
        printf("images: %d in %d class folders of %s, %d skipped\n", images, l.nclasses, o->dir, l.skipped);
        printf("speed: %.1f images/s decoded and classified (%.3f s, of which %.3f s forward passes, batch %d)\n",
               images / total, total, seconds, o->batch);
        printf("device: %s (%s) [%s]\n", di->name, di->reason, cli_backend_name(di->backend));
        if (mi->alpha >= 0)
            printf("model: %s (alpha %g, %lld parameters)\n", model_path, mi->alpha, mi->parameters);
        else
            printf("model: %s (%lld parameters)\n", model_path, mi->parameters);
        printf("per-class accuracy:\n");
        for (int c = 0; c < l.nclasses; c++) {
            long long tot = 0, right = confusion[(size_t)c * classes + c];
            for (int j = 0; j < classes; j++) tot += confusion[(size_t)c * classes + j];
            if (tot)
                printf("  %-12s %6.2f%%  (%lld/%lld)\n", l.classes[c], 100.0 * right / tot, right, tot);
            else
                printf("  %-12s    n/a   (no images)\n", l.classes[c]);
        }
    }
done:
    free(confusion);
    free(rows);
    free(logits);
    free(x);
    listing_free(&l);
    return rc;
}
