/* multidev.c — device sets: one model on several devices of this host at once. Each
 * device has its own context, its own copy of the model and one worker thread;
 * oct_devset_forward cuts a batch into chunks that the workers take from one queue as
 * they finish, so a fast device takes more. A device whose pass fails hands its chunk
 * back to the queue and is dropped (an OCT_EVENT_DEVICE_DROPPED event says so); a pass
 * fails only when no device is left.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most devices in one set: far more than one host holds. */
#define OCT__DEVSET_MAX 32
/* Automatic chunks: about this many per device, of at most OCT__DEVSET_MAX_CHUNK images. */
#define OCT__DEVSET_CHUNKS_PER_DEVICE 4
#define OCT__DEVSET_MAX_CHUNK 256

typedef struct oct__dev {
    struct oct_devset *set;
    int index;
    oct_context *ctx;
    oct_model *model;
    oct_device_info info;
    pthread_t thread;
    int started;            /* the worker thread runs */
    int active;             /* takes chunks; 0 once dropped (under set->lock) */
    long taken;             /* chunks taken over the set's life (for the fault) */
    long fault_at;          /* OCTCL_FAULT_DEVSET: fail the chunk numbered this (0: never) */
    oct_devset_stats st;    /* under set->lock */
} oct__dev;

struct oct_devset {
    int count;
    oct__dev dev[OCT__DEVSET_MAX];
    char spec[256];           /* the list as given, for messages */
    int chunk;                /* images per chunk, 0: automatic */
    pthread_mutex_t call;     /* one oct_devset_forward at a time */
    pthread_mutex_t lock;     /* everything below, and the devices' active / st */
    pthread_cond_t work;      /* workers: a job began, or a chunk was handed back */
    pthread_cond_t done;      /* the caller: the job may have ended */
    int locks_made;           /* 0: none, 1: call, 2: lock, 3: work, 4: done */
    int shutdown;
    unsigned long job;        /* number of the current job (0: none yet) */
    /* The current job: chunk c is images [c * job_chunk, min(n, (c + 1) * job_chunk)). */
    const float *x;           /* (n, C, h, w) */
    float *out;               /* (n, F) */
    int *device_of;           /* (n) or NULL */
    int n, h, w;
    size_t in_per, out_per;   /* floats per image in x and out */
    int job_chunk, nchunks;
    int next;                 /* first chunk never taken */
    int *back, nback;         /* chunks handed back, taken before `next` */
    int finished;             /* chunks computed */
    int busy;                 /* workers inside the job */
    int left;                 /* devices not dropped */
    int abort;                /* a pass failed on its input: take no more chunks */
    oct_status abort_status;  /* ... with this status and message */
    char abort_message[512];
    oct_status last_status;   /* the last failure's status, device and message */
    int last_device;
    char last_message[256];
    long long total_images, total_chunks;
    double total_seconds;
};

/* ------------------------------------------------------------------------------------ */
/* The workers                                                                            */

/* Images [c * job_chunk, ...) of chunk c and how many. */
static int oct__chunk_span(const oct_devset *s, int c, int *count)
{
    int first = c * s->job_chunk;
    *count = s->n - first < s->job_chunk ? s->n - first : s->job_chunk;
    return first;
}

/* One pass of device d over chunk c (called without the lock). */
static oct_status oct__run_chunk(oct__dev *d, int c, long number)
{
    oct_devset *s = d->set;
    int k, first = oct__chunk_span(s, c, &k);
    float *out = s->out + (size_t)first * s->out_per;
    oct_status st = oct_model_forward(d->model, s->x + (size_t)first * s->in_per, k, s->h, s->w, out, NULL, NULL);
    if (st == OCT_OK && d->fault_at > 0 && number == d->fault_at) {
        /* A device lost mid-pass: garbage in the chunk's outputs, then the error. */
        for (size_t i = 0; i < (size_t)k * s->out_per; i++) out[i] = NAN;
        st = oct__fail(OCT_ERR_DEVICE_MEMORY, "fault injected by OCTCL_FAULT_DEVSET into its chunk %ld", number);
    }
    return st;
}

/* Drop device d after `st` on chunk c (called with the lock): the chunk goes back to the
 * queue. Fills the event's message into msg. */
static void oct__drop(oct__dev *d, int c, oct_status st, const char *why, char *msg, size_t len)
{
    oct_devset *s = d->set;
    int k;
    oct__chunk_span(s, c, &k);
    s->back[s->nback++] = c;
    d->active = 0;
    s->left--;
    d->st.active = 0;
    d->st.error = st;
    snprintf(d->st.message, sizeof d->st.message, "%s", why);
    s->last_status = st;
    s->last_device = d->index;
    snprintf(s->last_message, sizeof s->last_message, "%s", why);
    snprintf(msg, len, "device %d (%s, %s) dropped from the set: %s; its chunk of %d image(s) goes back to the queue, "
             "%d device(s) left",
             d->index, d->st.device, d->info.name, why, k, s->left);
}

/* A status about the input or the model rather than the device: the same images fail
 * on every device, so the pass fails and no device is dropped. */
static int oct__input_error(oct_status st)
{
    switch (st) {
    case OCT_ERR_NULL_ARG:
    case OCT_ERR_BAD_ALPHA:
    case OCT_ERR_BAD_SIZE:
    case OCT_ERR_KERNEL_TOO_LARGE:
    case OCT_ERR_SHAPE_MISMATCH:
    case OCT_ERR_MODEL:
    case OCT_ERR_UNSUPPORTED: return 1;
    default: return 0;
    }
}

/* OCTCL_FAULT_DEVSET: whether d must leave the chunks to a device whose injected fault is
 * still to come (called with the lock). Devices with no fault of their own to reach take
 * none until every armed device has taken its faulty chunk, so the fault happens however
 * the threads are scheduled (a slow-starting armed device would otherwise find the queue
 * empty and the test see no fault). Armed devices never wait, for each other or at all. */
static int oct__fault_wait(const oct__dev *d)
{
    const oct_devset *s = d->set;
    if (d->fault_at > d->taken) return 0;
    for (int i = 0; i < s->count; i++) {
        const oct__dev *e = &s->dev[i];
        if (e != d && e->active && e->fault_at > e->taken) return 1;
    }
    return 0;
}

static void *oct__worker(void *arg)
{
    oct__dev *d = arg;
    oct_devset *s = d->set;
    unsigned long seen = 0;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->shutdown && (s->job == seen || !d->active)) pthread_cond_wait(&s->work, &s->lock);
        if (s->shutdown) break;
        seen = s->job;
        s->busy++;
        for (;;) {
            int c;
            if (s->abort) break;
            if ((s->nback > 0 || s->next < s->nchunks) && oct__fault_wait(d)) {
                pthread_cond_wait(&s->work, &s->lock);
                continue;
            }
            if (s->nback > 0)
                c = s->back[--s->nback];
            else if (s->next < s->nchunks)
                c = s->next++;
            else if (s->finished == s->nchunks)
                break;
            else { /* chunks in flight elsewhere may still come back */
                pthread_cond_wait(&s->work, &s->lock);
                continue;
            }
            long number = ++d->taken;
            if (number == d->fault_at) pthread_cond_broadcast(&s->work); /* devices held by oct__fault_wait */
            pthread_mutex_unlock(&s->lock);
            double t0 = oct__now_ms();
            oct_status st = oct__run_chunk(d, c, number);
            double ms = oct__now_ms() - t0;
            char why[256], msg[1024];
            if (st != OCT_OK) snprintf(why, sizeof why, "%s", oct_last_error()[0] ? oct_last_error() : oct_status_string(st));
            pthread_mutex_lock(&s->lock);
            if (st == OCT_OK) {
                int k, first = oct__chunk_span(s, c, &k);
                if (s->device_of)
                    for (int i = 0; i < k; i++) s->device_of[first + i] = d->index;
                s->finished++;
                d->st.images += k;
                d->st.chunks++;
                d->st.seconds += ms / 1000.0;
                if (s->finished == s->nchunks) pthread_cond_broadcast(&s->work);
                continue;
            }
            if (oct__input_error(st)) { /* every device would say the same: the pass fails */
                if (!s->abort) {
                    int k, first = oct__chunk_span(s, c, &k);
                    s->abort = 1;
                    s->abort_status = st;
                    snprintf(s->abort_message, sizeof s->abort_message, "images %d..%d of the batch (a chunk): %s",
                             first, first + k - 1, why);
                }
                pthread_cond_broadcast(&s->work);
                break;
            }
            oct__drop(d, c, st, why, msg, sizeof msg);
            pthread_cond_broadcast(&s->work); /* the chunk is back, or nobody is left */
            pthread_mutex_unlock(&s->lock);
            oct_event ev = {OCT_EVENT_DEVICE_DROPPED, d->info.name, 0, 0.0, msg};
            oct__event(&ev);
            pthread_mutex_lock(&s->lock);
            break;
        }
        s->busy--;
        pthread_cond_signal(&s->done);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Making a set                                                                           */

/* Same device: the same backend and, for OpenCL, the same platform and device. */
static int oct__same_device(const oct_device_info *a, const oct_device_info *b)
{
    if (a->backend != b->backend) return 0;
    return a->backend != OCT_BACKEND_OPENCL ||
           (a->platform_index == b->platform_index && a->device_index == b->device_index);
}

/* Add one device named `item` (item number `pos` of the list, from 1). */
static oct_status oct__add(oct_devset *s, const char *item, int pos)
{
    if (s->count == OCT__DEVSET_MAX)
        return oct__fail(OCT_ERR_BAD_DEVICE_SPEC, "device list \"%s\": more than %d devices", s->spec,
                         OCT__DEVSET_MAX);
    oct__dev *d = &s->dev[s->count];
    oct_status st = oct_context_create(item, &d->ctx);
    if (st != OCT_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", oct_last_error());
        return oct__fail(st, "device list \"%s\", item %d: %s", s->spec, pos, why);
    }
    oct_context_info(d->ctx, &d->info);
    s->count++;
    for (int i = 0; i < s->count - 1; i++)
        if (oct__same_device(&s->dev[i].info, &d->info))
            return oct__fail(OCT_ERR_BAD_DEVICE_SPEC,
                             "device list \"%s\": item %d (%s) names the same device as an earlier item (%s, %s); "
                             "name each device once",
                             s->spec, pos, item, s->dev[i].st.device, d->info.name);
    d->set = s;
    d->index = s->count - 1;
    d->active = 1;
    /* Its canonical name: what "auto" or "opencl" chose. */
    if (d->info.backend == OCT_BACKEND_OPENCL)
        snprintf(d->st.device, sizeof d->st.device, "opencl:%d:%d", d->info.platform_index, d->info.device_index);
    else
        snprintf(d->st.device, sizeof d->st.device, "%s", d->info.backend == OCT_BACKEND_CPU ? "cpu" : "ref");
    d->st.active = 1;
    return OCT_OK;
}

/* Item `pos` of the comma list at *p into item[ITEM]; *p moves past it (NULL after
 * the last). */
#define OCT__ITEM 128
static oct_status oct__next_item(const char *spec, const char **p, int pos, char item[OCT__ITEM])
{
    const char *comma = strchr(*p, ',');
    size_t n = comma ? (size_t)(comma - *p) : strlen(*p);
    if (n == 0) return oct__fail(OCT_ERR_BAD_DEVICE_SPEC, "device list \"%s\": item %d is empty", spec, pos);
    if (n >= OCT__ITEM) return oct__fail(OCT_ERR_BAD_DEVICE_SPEC, "device list \"%s\": item %d is too long", spec, pos);
    memcpy(item, *p, n);
    item[n] = '\0';
    *p = comma ? comma + 1 : NULL;
    return OCT_OK;
}

/* Usage errors before any device starts (a GPU's first program build takes seconds):
 * every item understood and present, and no device named twice where the names say
 * which device it is ("auto" is known only once started; oct__add checks it then). */
static oct_status oct__check_list(const char *spec)
{
    struct {
        oct_device_info info; /* only backend, indices and name are read */
        int pos;
        char item[OCT__ITEM];
    } *seen = NULL;
    oct_device_info *one = NULL;
    oct_status st = OCT_OK;
    int n = 0;
    char item[OCT__ITEM];
    seen = oct__calloc(OCT__DEVSET_MAX, sizeof *seen);
    one = oct__calloc(OCT__DEVSET_MAX, sizeof *one);
    if (!seen || !one) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "device list \"%s\": out of host memory", spec);
        goto done;
    }
    const char *p = spec;
    for (int pos = 1; p && n < OCT__DEVSET_MAX; pos++) { /* past the maximum, oct__add says so */
        if ((st = oct__next_item(spec, &p, pos, item)) != OCT_OK) goto done;
        int k = 0, known = 0;
        if (strcmp(item, "all") == 0) {
            if ((st = oct_list_devices(one, OCT__DEVSET_MAX - 1, &k)) != OCT_OK) goto done;
            if (k > OCT__DEVSET_MAX - 1) k = OCT__DEVSET_MAX - 1;
            if ((st = oct__device_identify("cpu", &one[k], &known)) != OCT_OK) goto done;
            k += known;
        } else {
            if ((st = oct__device_identify(item, &one[0], &known)) != OCT_OK) {
                char why[512];
                snprintf(why, sizeof why, "%s", oct_last_error());
                st = oct__fail(st, "device list \"%s\", item %d: %s", spec, pos, why);
                goto done;
            }
            k = known;
        }
        for (int j = 0; j < k && n < OCT__DEVSET_MAX; j++) {
            for (int i = 0; i < n; i++)
                if (oct__same_device(&seen[i].info, &one[j])) {
                    st = oct__fail(OCT_ERR_BAD_DEVICE_SPEC,
                                   "device list \"%s\": item %d (%s) names the same device as an earlier item "
                                   "(item %d, %s: %s); name each device once",
                                   spec, pos, item, seen[i].pos, seen[i].item, one[j].name);
                    goto done;
                }
            seen[n].info = one[j];
            seen[n].pos = pos;
            snprintf(seen[n].item, sizeof seen[n].item, "%s", item);
            n++;
        }
    }
done:
    free(one);
    free(seen);
    return st;
}

/* "all": every OpenCL device, then cpu. */
static oct_status oct__add_all(oct_devset *s, int pos)
{
    oct_device_info list[OCT__DEVSET_MAX];
    int n = 0;
    OCT__TRY(oct_list_devices(list, OCT__DEVSET_MAX, &n));
    for (int i = 0; i < n && i < OCT__DEVSET_MAX; i++) {
        char item[32];
        snprintf(item, sizeof item, "opencl:%d:%d", list[i].platform_index, list[i].device_index);
        OCT__TRY(oct__add(s, item, pos));
    }
    return oct__add(s, "cpu", pos);
}

/* OCTCL_FAULT_DEVSET="D:K[,D:K...]" (testing aid, see octcl.h). */
static oct_status oct__read_faults(oct_devset *s)
{
    const char *env = getenv("OCTCL_FAULT_DEVSET");
    if (!env || !*env) return OCT_OK;
    for (const char *p = env; *p;) {
        char *end;
        errno = 0;
        long dv = strtol(p, &end, 10);
        if (end == p || *end != ':' || dv < 0) goto bad;
        p = end + 1;
        long k = strtol(p, &end, 10);
        if (end == p || k < 0 || errno) goto bad;
        if (dv < s->count) s->dev[dv].fault_at = k;
        p = end;
        if (*p == ',') p++;
        else if (*p) goto bad;
    }
    return OCT_OK;
bad:
    return oct__fail(OCT_ERR_BAD_SIZE, "OCTCL_FAULT_DEVSET = '%s': expected D:K[,D:K...] with integers D, K >= 0", env);
}

static oct_status oct__devset_make(const char *devices, const char *path, const int *random, double alpha,
                                   uint64_t seed, oct_devset **out)
{
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "oct_devset_create: out is NULL");
    *out = NULL;
    if (!random && !path) return oct__fail(OCT_ERR_NULL_ARG, "oct_devset_create: model path is NULL");
    const char *spec = devices;
    if (!spec) {
        spec = getenv("OCTCL_DEVICE");
        if (!spec || !*spec) spec = "auto";
    }
    oct_devset *s = oct__calloc(1, sizeof *s);
    if (!s) return oct__fail(OCT_ERR_HOST_MEMORY, "oct_devset_create: out of host memory");
    oct_status st = OCT_OK;
    snprintf(s->spec, sizeof s->spec, "%s", spec);
    if (pthread_mutex_init(&s->call, NULL) != 0) goto no_lock;
    s->locks_made = 1;
    if (pthread_mutex_init(&s->lock, NULL) != 0) goto no_lock;
    s->locks_made = 2;
    if (pthread_cond_init(&s->work, NULL) != 0) goto no_lock;
    s->locks_made = 3;
    if (pthread_cond_init(&s->done, NULL) != 0) goto no_lock;
    s->locks_made = 4;

    /* The list: items between commas, none empty. */
    size_t len = strlen(spec);
    if (len >= sizeof s->spec) {
        st = oct__fail(OCT_ERR_BAD_DEVICE_SPEC, "device list of %zu characters is too long (at most %zu)", len,
                       sizeof s->spec - 1);
        goto fail;
    }
    if ((st = oct__check_list(spec)) != OCT_OK) goto fail;
    const char *p = spec;
    for (int pos = 1; p; pos++) {
        char item[OCT__ITEM];
        if ((st = oct__next_item(spec, &p, pos, item)) != OCT_OK) goto fail;
        st = strcmp(item, "all") == 0 ? oct__add_all(s, pos) : oct__add(s, item, pos);
        if (st != OCT_OK) goto fail;
    }
    if ((st = oct__read_faults(s)) != OCT_OK) goto fail;

    for (int i = 0; i < s->count; i++) {
        oct__dev *d = &s->dev[i];
        st = random ? oct_model_create_random(d->ctx, random[0], random[1], alpha, seed, &d->model)
                    : oct_model_load(d->ctx, path, &d->model);
        if (st != OCT_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", oct_last_error());
            st = oct__fail(st, "device %d (%s): %s", i, d->st.device, why);
            goto fail;
        }
    }
    s->left = s->count;
    for (int i = 0; i < s->count; i++) {
        int e = pthread_create(&s->dev[i].thread, NULL, oct__worker, &s->dev[i]);
        if (e != 0) {
            st = oct__fail(OCT_ERR_HOST_MEMORY, "device set: cannot start a worker thread for device %d (%s): %s", i,
                           s->dev[i].st.device, strerror(e));
            goto fail;
        }
        s->dev[i].started = 1;
    }
    *out = s;
    return OCT_OK;
no_lock:
    st = oct__fail(OCT_ERR_HOST_MEMORY, "oct_devset_create: cannot make a lock");
fail:
    oct_devset_free(s);
    return st;
}

oct_status oct_devset_create(const char *devices, const char *model_path, oct_devset **out)
{
    return oct__devset_make(devices, model_path, NULL, 0.0, 0, out);
}

oct_status oct_devset_create_random(const char *devices, int in_channels, int num_classes, double alpha,
                                    uint64_t seed, oct_devset **out)
{
    int random[2] = {in_channels, num_classes};
    return oct__devset_make(devices, NULL, random, alpha, seed, out);
}

void oct_devset_free(oct_devset *s)
{
    if (!s) return;
    if (s->locks_made == 4) {
        pthread_mutex_lock(&s->lock);
        s->shutdown = 1;
        pthread_cond_broadcast(&s->work);
        pthread_mutex_unlock(&s->lock);
    }
    for (int i = 0; i < s->count; i++)
        if (s->dev[i].started) pthread_join(s->dev[i].thread, NULL);
    for (int i = 0; i < s->count; i++) {
        oct_model_free(s->dev[i].model);
        oct_context_free(s->dev[i].ctx);
    }
    if (s->locks_made >= 4) pthread_cond_destroy(&s->done);
    if (s->locks_made >= 3) pthread_cond_destroy(&s->work);
    if (s->locks_made >= 2) pthread_mutex_destroy(&s->lock);
    if (s->locks_made >= 1) pthread_mutex_destroy(&s->call);
    free(s);
}

/* ------------------------------------------------------------------------------------ */
/* Queries                                                                                */

int oct_devset_count(const oct_devset *s) { return s ? s->count : 0; }

oct_status oct_devset_device(const oct_devset *s, int i, oct_device_info *out)
{
    if (!s || !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_devset_device: %s is NULL", !s ? "set" : "out");
    if (i < 0 || i >= s->count)
        return oct__fail(OCT_ERR_BAD_SIZE, "oct_devset_device: device %d of a set of %d", i, s->count);
    *out = s->dev[i].info;
    return OCT_OK;
}

oct_model *oct_devset_model(oct_devset *s, int i)
{
    return s && i >= 0 && i < s->count ? s->dev[i].model : NULL;
}

oct_status oct_devset_set_chunk(oct_devset *s, int images)
{
    if (!s) return oct__fail(OCT_ERR_NULL_ARG, "oct_devset_set_chunk: set is NULL");
    if (images < 0) return oct__fail(OCT_ERR_BAD_SIZE, "oct_devset_set_chunk: %d images per chunk", images);
    s->chunk = images;
    return OCT_OK;
}

oct_status oct_devset_stats_get(const oct_devset *s, int i, oct_devset_stats *out)
{
    if (!s || !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_devset_stats_get: %s is NULL", !s ? "set" : "out");
    if (i < -1 || i >= s->count)
        return oct__fail(OCT_ERR_BAD_SIZE, "oct_devset_stats_get: device %d of a set of %d", i, s->count);
    oct_devset *m = (oct_devset *)s; /* the lock only */
    pthread_mutex_lock(&m->lock);
    if (i >= 0) {
        *out = s->dev[i].st;
    } else {
        memset(out, 0, sizeof *out);
        snprintf(out->device, sizeof out->device, "all");
        out->active = s->left;
        out->images = s->total_images;
        out->chunks = s->total_chunks;
        out->seconds = s->total_seconds;
        if (s->left == 0 && s->count > 0) {
            out->error = s->last_status;
            snprintf(out->message, sizeof out->message, "%s", s->last_message);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return OCT_OK;
}

void oct_devset_reset_stats(oct_devset *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->count; i++) {
        s->dev[i].st.images = s->dev[i].st.chunks = 0;
        s->dev[i].st.seconds = 0;
    }
    s->total_images = s->total_chunks = 0;
    s->total_seconds = 0;
    pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------------------------ */
/* The pass                                                                               */

static oct_status oct__no_device_left(const oct_devset *s)
{
    const oct__dev *d = &s->dev[s->last_device];
    return oct__fail(s->last_status, "device set \"%s\": no device left; the last, device %d (%s, %s), failed: %s",
                     s->spec, d->index, d->st.device, d->info.name, s->last_message);
}

oct_status oct_devset_forward(oct_devset *s, const float *x, int n, int h, int w, float *out, int *device_of)
{
    if (!s || !x || !out)
        return oct__fail(OCT_ERR_NULL_ARG, "oct_devset_forward: %s is NULL", !s ? "set" : !x ? "input" : "output");
    if (n < 1 || h < 1 || w < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "oct_devset_forward: batch %d of %dx%d images (each must be >= 1)", n, h, w);
    oct_status st = OCT_OK;
    pthread_mutex_lock(&s->call);
    pthread_mutex_lock(&s->lock);
    int left = s->left;
    pthread_mutex_unlock(&s->lock);
    if (left == 0) {
        st = oct__no_device_left(s);
        goto unlock_call;
    }
    /* Shapes from the first device still in the set (every copy is the same model). */
    oct_model *m = NULL;
    for (int i = 0; i < s->count && !m; i++)
        if (s->dev[i].active) m = s->dev[i].model;
    oct_model_info mi;
    oct_model_tensor ot;
    if ((st = oct_model_info_get(m, &mi)) != OCT_OK || (st = oct_model_output_shape(m, 1, h, w, &ot)) != OCT_OK)
        goto unlock_call;
    int chunk = s->chunk;
    if (chunk == 0) {
        int per = OCT__DEVSET_CHUNKS_PER_DEVICE * left;
        chunk = (n + per - 1) / per;
        if (chunk > OCT__DEVSET_MAX_CHUNK) chunk = OCT__DEVSET_MAX_CHUNK;
    }
    if (chunk > n) chunk = n;
    int nchunks = (n + chunk - 1) / chunk;
    int *back = oct__malloc((size_t)nchunks * sizeof *back);
    if (!back) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "oct_devset_forward: out of host memory for %d chunks", nchunks);
        goto unlock_call;
    }
    double t0 = oct__now_ms();
    pthread_mutex_lock(&s->lock);
    s->x = x;
    s->out = out;
    s->device_of = device_of;
    s->n = n, s->h = h, s->w = w;
    s->in_per = (size_t)mi.in_channels * (size_t)h * (size_t)w;
    s->out_per = (size_t)(ot.dims[1] * ot.dims[2] * ot.dims[3]);
    s->job_chunk = chunk;
    s->nchunks = nchunks;
    s->next = s->finished = s->nback = s->abort = 0;
    s->back = back;
    s->job++;
    pthread_cond_broadcast(&s->work);
    while (s->busy > 0 || (s->finished < s->nchunks && s->left > 0 && !s->abort))
        pthread_cond_wait(&s->done, &s->lock);
    int complete = s->finished == s->nchunks, aborted = !complete && s->abort;
    oct_status abort_status = s->abort_status;
    char abort_message[512];
    snprintf(abort_message, sizeof abort_message, "%s", s->abort_message);
    /* Late workers find nothing to take: the job is over. */
    s->next = s->nchunks;
    s->nback = 0;
    s->back = NULL;
    s->x = NULL;
    s->out = NULL;
    s->device_of = NULL;
    if (complete) {
        s->total_images += n;
        s->total_chunks += nchunks;
        s->total_seconds += (oct__now_ms() - t0) / 1000.0;
    }
    pthread_mutex_unlock(&s->lock);
    free(back);
    if (aborted)
        st = oct__fail(abort_status, "%s", abort_message);
    else if (!complete)
        st = oct__no_device_left(s);
unlock_call:
    pthread_mutex_unlock(&s->call);
    return st;
}
