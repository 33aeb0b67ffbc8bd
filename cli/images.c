/* images.c — PNG and JPEG folders through a model: `octcl classify --images DIR` (the
 * ImageFolder convention: sub-folders are the classes, in sorted order, and give the
 * accuracy; without sub-folders, the top-k classes of each file) and `octcl run --images
 * DIR` (a row per file). Decoding and preprocessing are the library's oct_image_* calls;
 * files that do not decode are named on stderr, skipped and counted (--strict: the first
 * one is fatal). Both stream the folder in rounds of --chunk files per MPI rank, each rank
 * decoding only its block (mpi_shard.h); rank 0 gathers and alone prints, in file order.
 */
#define _DEFAULT_SOURCE /* DT_* and strdup on glibc */
#include "cli.h"
#include "images.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
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
static int list_images(const char *dir, int strict, int say, listing *l)
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
            if (say)
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
    if (!o->say) return CLI_OK;
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

/* One file decoded and preprocessed into dst (c * h * w floats, h x w fixed by the first
 * file that decodes). A file the library cannot read or preprocess is a skip: *msg gets
 * the library's message (it names the file) and CLI_OK is returned; an image of another
 * size, or no host memory, is fatal (CLI_FAILED). dst NULL: decoded and checked only.
 * held: the file decoded already (taken and released here), else NULL or empty. */
static int load_one(const char *path, oct_image *held, const oct_image_prep *p, int h, int w, float *dst, char *msg,
                    size_t msg_len)
{
    oct_image img;
    int ih, iw;
    size_t per_image = (size_t)p->channels * (size_t)h * (size_t)w;
    msg[0] = '\0';
    oct_status s = OCT_OK;
    if (held && held->data) {
        img = *held;
        memset(held, 0, sizeof *held);
    } else {
        s = oct_image_load(path, &img);
    }
    if (s == OCT_OK) s = oct_image_prep_shape(p, &img, &ih, &iw);
    if (s == OCT_OK && (ih != h || iw != w)) {
        oct_image_release(&img);
        return cli_fail("%s: preprocesses to %dx%d but earlier images to %dx%d; give --crop HxW", path, ih, iw, h, w);
    }
    if (s == OCT_OK && dst) s = oct_image_preprocess(&img, p, dst, per_image);
    oct_image_release(&img);
    if (s == OCT_ERR_HOST_MEMORY) return cli_fail_status(s);
    if (s != OCT_OK) snprintf(msg, msg_len, "%s", cli_status_text(s));
    return CLI_OK;
}

/* The size h x w every image preprocesses to: the first file's that decodes (later files
 * must match it); 0 x 0 when none decodes. Every rank finds the same. held non-NULL:
 * receives that file's image (the caller releases it) and *at its index (-1: none). */
static int first_shape(const listing *l, const oct_image_prep *p, int *h, int *w, oct_image *held, int64_t *at)
{
    *h = *w = 0;
    for (size_t i = 0; i < l->n; i++) {
        oct_image img;
        if (oct_image_load(l->v[i].path, &img) != OCT_OK) continue;
        oct_status s = oct_image_prep_shape(p, &img, h, w);
        if (s == OCT_OK && held) {
            *held = img;
            *at = (int64_t)i;
        } else {
            oct_image_release(&img);
        }
        if (s != OCT_OK && p->crop_h && p->crop_w) continue; /* skipped when its turn comes */
        if (s != OCT_OK) return cli_fail_status(s);
        return CLI_OK;
    }
    return CLI_OK;
}

static void report_skipped(const listing *l)
{
    if (l->skipped)
        fprintf(stderr, "octcl: skipped %d file(s) that are not readable PNG or JPEG images (named above)\n",
                l->skipped);
}

/* A file's skip message, or "" (decoded), appended to a round's text: the messages of a
 * rank's block, each ended by '\0', in file order. */
typedef struct {
    char *v;
    size_t n, cap;
} text;

static int text_add(text *t, const char *msg)
{
    size_t len = strlen(msg) + 1;
    if (t->n + len > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4096;
        while (cap < t->n + len) cap *= 2;
        char *nv = realloc(t->v, cap);
        if (!nv) return cli_fail("out of host memory for the messages of a round");
        t->v = nv;
        t->cap = cap;
    }
    memcpy(t->v + t->n, msg, len);
    t->n += len;
    return CLI_OK;
}

/* Files per rank and round: --chunk, else `dflt`; at most what keeps a round's gathered
 * records and messages (up to `bytes` a file) within an MPI count (2^31 - 1). */
static int64_t files_per_round(const cli_images_options *o, int dflt, const cli_mpi *m, size_t bytes)
{
    int64_t n = o->chunk > 0 ? o->chunk : dflt, most = (int64_t)(INT_MAX / ((size_t)m->size * bytes));
    return n < most ? n : most > 0 ? most : 1;
}

/* ------------------------------------------------------------------------------------ */
/* run --images: rows streamed                                                           */

/* The rows this rank preprocessed while checking the folder are kept, up to this many
 * bytes, so that reading them does not decode the files again. */
#define ROWS_CACHE_BYTES ((size_t)128 << 20)

struct cli_image_rows {
    listing l;
    oct_image_prep p;
    int h, w;
    int64_t *rows;  /* (n): the listing's entry of each row (the files that decode) */
    int64_t n;
    float *cache;   /* (ncached, c, h, w): rows this rank preprocessed when checking */
    int64_t *slot;  /* (l.n): a file's row in cache, -1: not there (another rank's, or no room) */
    size_t ncached, cap;
};

void cli_image_rows_free(cli_image_rows *r)
{
    if (!r) return;
    listing_free(&r->l);
    free(r->rows);
    free(r->cache);
    free(r->slot);
    free(r);
}

/* Room for one more row in r's cache; NULL when it holds ROWS_CACHE_BYTES or the host
 * has no memory to grow it (that row is decoded again when read). */
static float *cache_room(cli_image_rows *r, size_t per_image)
{
    if (per_image == 0) return NULL;
    if (r->ncached == r->cap) {
        size_t most = ROWS_CACHE_BYTES / (per_image * sizeof(float)), cap = r->cap ? 2 * r->cap : 64;
        if (cap > most) cap = most;
        if (cap <= r->cap) return NULL;
        float *nv = realloc(r->cache, cap * per_image * sizeof *nv);
        if (!nv) return NULL;
        r->cache = nv;
        r->cap = cap;
    }
    return r->cache + r->ncached * per_image;
}

int cli_image_rows_open(const cli_mpi *m, const oct_model *model, const oct_model_info *mi,
                        const cli_images_options *opt, cli_image_rows **out, int64_t shape[4])
{
    cli_images_options o = *opt;
    cli_image_rows *r = calloc(1, sizeof *r);
    uint8_t *ok = NULL;
    text t = {0};
    char *all = NULL, msg[1024];
    int64_t all_len = 0, per_round = files_per_round(&o, 256, m, 1024), begin, count, first = -1;
    oct_image held = {0}; /* the file first_shape decoded (index first), until it is checked */
    int rc = r ? CLI_OK : cli_fail("out of host memory");
    *out = NULL;
    o.say = cli_mpi_root(m);
    if (rc == CLI_OK) rc = cli_images_prep(model, mi, &o, &r->p);
    if (rc == CLI_OK) rc = list_images(o.dir, o.strict, o.say, &r->l);
    if (rc == CLI_OK) rc = first_shape(&r->l, &r->p, &r->h, &r->w, &held, &first);
    if (rc == CLI_OK && (!(ok = calloc(r->l.n + 1, 1)) || !(r->slot = malloc((r->l.n + 1) * sizeof *r->slot))))
        rc = cli_fail("out of host memory for %zu files", r->l.n);
    for (size_t i = 0; rc == CLI_OK && i < r->l.n; i++) r->slot[i] = -1;
    if ((rc = cli_mpi_agree(m, rc, "list")) != CLI_OK) goto done;
    /* Every rank must list the same files (a folder that differs between nodes?). */
    rc = cli_mpi_same(m, (int64_t)r->l.n, "files in the folder");
    if ((rc = cli_mpi_agree(m, rc, "same")) != CLI_OK) goto done;
    /* Which files decode: each rank checks its block of each round, keeping the rows it
     * preprocesses (cache_room); rank 0 names the skipped ones in order and sends every
     * rank the round's verdicts. */
    size_t per_image = (size_t)r->p.channels * (size_t)r->h * (size_t)r->w;
    for (int64_t base = 0; base < (int64_t)r->l.n; base += per_round * m->size) {
        int64_t round = (int64_t)r->l.n - base < per_round * m->size ? (int64_t)r->l.n - base : per_round * m->size;
        cli_mpi_block(m, base, round, &begin, &count);
        t.n = 0;
        for (int64_t i = begin; rc == CLI_OK && i < begin + count; i++) {
            float *dst = cache_room(r, per_image);
            if ((rc = load_one(r->l.v[i].path, i == first ? &held : NULL, &r->p, r->h, r->w, dst, msg, sizeof msg)) !=
                CLI_OK)
                break;
            if (!*msg && dst) r->slot[i] = (int64_t)r->ncached++;
            if (*msg && o.strict) rc = cli_fail("%s (--strict)", msg);
            else rc = text_add(&t, msg);
        }
        if ((rc = cli_mpi_agree(m, rc, "images")) != CLI_OK) goto done;
        if ((rc = cli_mpi_gather_bytes(m, t.v, (int64_t)t.n, &all, &all_len)) != CLI_OK) goto done;
        if (cli_mpi_root(m)) {
            const char *at = all;
            for (int64_t i = 0; i < round; i++, at += strlen(at) + 1) {
                ok[base + i] = !*at;
                if (*at) {
                    fprintf(stderr, "octcl: skipped %s\n", at);
                    r->l.skipped++;
                }
            }
        }
        free(all);
        all = NULL;
        cli_mpi_bcast(m, ok + base, round);
    }
    if (o.say) report_skipped(&r->l);
    for (size_t i = 0; i < r->l.n; i++) r->n += ok[i];
    if (r->n == 0 && cli_mpi_root(m)) rc = cli_fail("%s: no PNG or JPEG images to run", o.dir); /* said once */
    if (rc == CLI_OK && !(r->rows = malloc((size_t)(r->n ? r->n : 1) * sizeof *r->rows)))
        rc = cli_fail("out of host memory for %lld rows", (long long)r->n);
    if (rc == CLI_OK)
        for (size_t i = 0, j = 0; i < r->l.n; i++)
            if (ok[i]) r->rows[j++] = (int64_t)i;
    if ((rc = cli_mpi_agree(m, rc, "rows")) != CLI_OK) goto done;
    if (o.say)
        for (int64_t i = 0; i < r->n; i++) fprintf(stderr, "row %lld: %s\n", (long long)i, r->l.v[r->rows[i]].path);
    shape[0] = r->n, shape[1] = r->p.channels, shape[2] = r->h, shape[3] = r->w;
    *out = r;
    r = NULL;
done:
    oct_image_release(&held);
    free(all);
    free(t.v);
    free(ok);
    cli_image_rows_free(r);
    return rc;
}

int cli_image_rows_read(cli_image_rows *r, int64_t first, int64_t count, float *dst)
{
    size_t per_image = (size_t)r->p.channels * (size_t)r->h * (size_t)r->w;
    char msg[1024];
    for (int64_t i = 0; i < count; i++) {
        int64_t f = r->rows[first + i];
        if (r->slot[f] >= 0) { /* preprocessed when the folder was checked */
            memcpy(dst + (size_t)i * per_image, r->cache + (size_t)r->slot[f] * per_image, per_image * sizeof *dst);
            continue;
        }
        const char *path = r->l.v[f].path;
        int rc = load_one(path, NULL, &r->p, r->h, r->w, dst + (size_t)i * per_image, msg, sizeof msg);
        if (rc != CLI_OK) return rc;
        if (*msg) return cli_fail("%s (it decoded when the folder was checked: did it change?)", msg);
    }
    return CLI_OK;
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

/* A file's result in a round, gathered as bytes: skipped, or its top classes. */
typedef struct {
    int32_t skipped;
    int32_t idx[16];
    double prob[16];
} file_result;

/* This rank's block [begin, begin + count) of files: decoded in batches of `batch`,
 * classified; res[i] and the round's messages (one per file, "" when it decoded). */
static int classify_block(oct_model *model, const listing *l, const oct_image_prep *p, int h, int w, int strict,
                          int batch, int classes, int k, int64_t begin, int64_t count, float *x, float *logits,
                          int64_t *rows, file_result *res, text *t, double *seconds)
{
    size_t per_image = (size_t)p->channels * (size_t)h * (size_t)w;
    char msg[1024];
    int rc = CLI_OK, got = 0;
    t->n = 0;
    for (int64_t i = 0; i <= count && rc == CLI_OK; i++) {
        if (i < count) {
            memset(&res[i], 0, sizeof res[i]);
            if ((rc = load_one(l->v[begin + i].path, NULL, p, h, w, x + (size_t)got * per_image, msg, sizeof msg)) !=
                CLI_OK)
                break;
            if (*msg && strict) {
                rc = cli_fail("%s (--strict)", msg);
                break;
            }
            if ((rc = text_add(t, msg)) != CLI_OK) break;
            res[i].skipped = *msg != '\0';
            if (!*msg) rows[got++] = i;
        }
        if (got == batch || (i == count && got > 0)) {
            double t0 = cli_now();
            oct_status s = cli_forward(model, x, got, h, w, logits, NULL, NULL);
            *seconds += cli_now() - t0;
            if (s != OCT_OK) {
                rc = cli_fail_status(s);
                break;
            }
            for (int j = 0; j < got; j++) {
                int idx[16];
                double prob[16];
                top_classes(logits + (size_t)j * classes, classes, k, idx, prob);
                for (int c = 0; c < k; c++) res[rows[j]].idx[c] = idx[c], res[rows[j]].prob[c] = prob[c];
            }
            got = 0;
        }
    }
    return rc;
}

int cli_images_classify(const cli_mpi *m, oct_model *model, const oct_model_info *mi, const oct_device_info *di,
                        const char *model_path, const cli_images_options *opt)
{
    cli_images_options o_ = *opt, *o = &o_;
    listing l = {0};
    oct_image_prep p;
    float *x = NULL, *logits = NULL;
    int64_t *rows = NULL, begin, count, all_len = 0, msgs_len = 0;
    int64_t per_round = files_per_round(opt, 4 * opt->batch, m, sizeof(file_result) + 1024);
    file_result *res = NULL;
    char *all = NULL, *msgs = NULL;
    text t = {0};
    long long *confusion = NULL;
    double *rank_seconds = NULL, *rank_images = NULL, mine = 0.0; /* mine: images this rank decoded */
    int rc, h = 0, w = 0, classes = mi->num_classes, k = o->top_k < classes ? o->top_k : classes;
    int images = 0, correct = 0, first_json = 1;
    double seconds = 0.0, t_start = cli_now();
    char a[32];

    o->say = cli_mpi_root(m);
    rc = cli_images_prep(model, mi, o, &p);
    if (rc == CLI_OK) rc = list_images(o->dir, o->strict, o->say, &l);
    if (o->say_device && !(rc == CLI_OK && o->say && !o->json && l.nclasses)) cli_say_device(di);
    if (rc == CLI_OK && l.nclasses > classes)
        rc = cli_fail("%s has %d class folders but the model has %d classes", o->dir, l.nclasses, classes);
    if (rc == CLI_OK) rc = first_shape(&l, &p, &h, &w, NULL, NULL);
    if (rc == CLI_OK) {
        size_t per_image = (size_t)p.channels * (size_t)(h ? h : 1) * (size_t)(w ? w : 1);
        x = malloc((size_t)o->batch * per_image * sizeof *x);
        logits = malloc((size_t)o->batch * (size_t)classes * sizeof *logits);
        rows = malloc((size_t)o->batch * sizeof *rows);
        res = malloc((size_t)per_round * sizeof *res);
        confusion = calloc((size_t)classes * (size_t)classes, sizeof *confusion);
        rank_seconds = calloc((size_t)m->size, sizeof *rank_seconds);
        rank_images = calloc((size_t)m->size, sizeof *rank_images);
        if (!x || !logits || !rows || !res || !confusion || !rank_seconds || !rank_images)
            rc = cli_fail("out of host memory for a batch of %d images", o->batch);
    }
    if ((rc = cli_mpi_agree(m, rc, "list")) != CLI_OK) goto done;
    /* Every rank must list the same files (a folder that differs between nodes?). */
    rc = cli_mpi_same(m, (int64_t)l.n, "files in the folder");
    if (rc == CLI_OK) rc = cli_mpi_same(m, per_round, "files per chunk");
    if ((rc = cli_mpi_agree(m, rc, "same")) != CLI_OK) goto done;
    /* Rounds of per_round files per rank, each rank its block; rank 0 gathers each file's
     * verdict and top classes and prints them in file order. */
    for (int64_t base = 0; base < (int64_t)l.n; base += per_round * m->size) {
        int64_t round = (int64_t)l.n - base < per_round * m->size ? (int64_t)l.n - base : per_round * m->size;
        cli_mpi_block(m, base, round, &begin, &count);
        rc = classify_block(model, &l, &p, h, w, o->strict, o->batch, classes, l.nclasses ? 1 : k, begin, count, x,
                            logits, rows, res, &t, &seconds);
        if ((rc = cli_mpi_agree(m, rc, "round")) != CLI_OK) goto done;
        for (int64_t i = 0; i < count; i++) mine += !res[i].skipped;
        if ((rc = cli_mpi_gather_bytes(m, res, count * (int64_t)sizeof *res, &all, &all_len)) != CLI_OK ||
            (rc = cli_mpi_gather_bytes(m, t.v, (int64_t)t.n, &msgs, &msgs_len)) != CLI_OK)
            goto done;
        const char *at = msgs;
        for (int64_t i = 0; cli_mpi_root(m) && i < round; i++, at += strlen(at) + 1) {
            const file_result *f = (const file_result *)(all + (size_t)i * sizeof *f);
            const entry *e = &l.v[base + i];
            if (f->skipped) {
                fprintf(stderr, "octcl: skipped %s\n", at);
                l.skipped++;
                continue;
            }
            if (l.nclasses) {
                confusion[(size_t)e->label * classes + f->idx[0]]++;
                correct += f->idx[0] == e->label;
            } else if (o->json) {
                printf("%s\n  {\"file\": ", first_json ? "{\"images\": [" : ",");
                first_json = 0;
                cli_json_string(stdout, e->path);
                printf(", \"top\": [");
                for (int j = 0; j < k; j++) {
                    printf("%s{\"class\": %d, \"name\": ", j ? ", " : "", f->idx[j]);
                    cli_json_string(stdout, class_name(&l, mi, f->idx[j], a, sizeof a));
                    printf(", \"probability\": %.6f}", f->prob[j]);
                }
                printf("]}");
            } else {
                printf("%s:", e->path);
                for (int j = 0; j < k; j++)
                    printf("%s %s %.1f%%", j ? "," : "", class_name(&l, mi, f->idx[j], a, sizeof a),
                           100.0 * f->prob[j]);
                printf("\n");
            }
            images++;
        }
        fflush(stdout);
        free(all);
        free(msgs);
        all = msgs = NULL;
    }
    /* The forward seconds summed over the ranks; each rank's share. */
    cli_mpi_gather_double(m, seconds, rank_seconds);
    cli_mpi_gather_double(m, mine, rank_images);
    if (!cli_mpi_root(m)) goto done;
    seconds = 0.0;
    for (int r = 0; r < m->size; r++) seconds += rank_seconds[r];
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
        if (m->active)
            printf("speed: %.1f images/s decoded and classified over %d MPI rank(s) (%.3f s wall clock of rank 0; "
                   "forward passes %.3f s summed over the ranks, batch %d)\n",
                   images / total, m->size, total, seconds, o->batch);
        else
            printf("speed: %.1f images/s decoded and classified (%.3f s, of which %.3f s forward passes, batch %d)\n",
                   images / total, total, seconds, o->batch);
        for (int r = 0; m->active && r < m->size; r++) /* under mpirun: each rank's share */
            printf("  rank %d: %.1f images/s (%.0f images in %.3f s of forward passes)\n", r,
                   rank_seconds[r] > 0 ? rank_images[r] / rank_seconds[r] : 0.0, rank_images[r], rank_seconds[r]);
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
    free(msgs);
    free(all);
    free(t.v);
    free(rank_images);
    free(rank_seconds);
    free(confusion);
    free(res);
    free(rows);
    free(logits);
    free(x);
    listing_free(&l);
    return rc;
}
