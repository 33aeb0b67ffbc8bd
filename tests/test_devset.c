/* test_devset.c — device sets (host/multidev.c): one model on cpu, ref and the first
 * OpenCL device at once. Each row of a set's pass must equal, bit for bit, what the device
 * that computed it gives for the whole batch alone, in input order, for batches the chunk
 * does not divide; a device made to fail mid-pass (OCTCL_FAULT_DEVSET) hands its chunk
 * back, is dropped with an event, and the result stays right; every device failing is a
 * clean error; bad lists are OCT_ERR_BAD_DEVICE_SPEC with a one-line message.
 */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONNX_MODEL "/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d_strided/model.onnx"
#define MAXDEV 8

static char g_cl[32];        /* "opencl:P:D" of the first OpenCL device, "" when none */
static char g_list[96];      /* "cpu,ref" or "cpu,ref,opencl:P:D" */

/* ------------------------------------------------------------------------------------ */
/* Events (called on the set's worker threads)                                            */

static pthread_mutex_t g_ev_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_dropped;
static char g_ev_message[1024];

static void on_event(void *user, const oct_event *e)
{
    (void)user;
    if (e->kind != OCT_EVENT_DEVICE_DROPPED) return;
    pthread_mutex_lock(&g_ev_lock);
    g_dropped++;
    snprintf(g_ev_message, sizeof g_ev_message, "%s", e->message ? e->message : "(no message)");
    pthread_mutex_unlock(&g_ev_lock);
}

static void events_reset(void)
{
    pthread_mutex_lock(&g_ev_lock);
    g_dropped = 0;
    g_ev_message[0] = '\0';
    pthread_mutex_unlock(&g_ev_lock);
}

/* ------------------------------------------------------------------------------------ */
/* Helpers                                                                                */

/* The model: a random OctNetMini (path NULL) or a file. */
typedef struct {
    const char *path;
    int c, h, w;
} model_spec;

static oct_status open_alone(const char *dev, const model_spec *ms, oct_context **ctx, oct_model **m)
{
    oct_status s = oct_context_create(dev, ctx);
    if (s != OCT_OK) return s;
    return ms->path ? oct_model_load(*ctx, ms->path, m) : oct_model_create_random(*ctx, ms->c, 10, 0.5, 7, m);
}

static oct_status open_set(const char *list, const model_spec *ms, oct_devset **set)
{
    return ms->path ? oct_devset_create(list, ms->path, set) : oct_devset_create_random(list, ms->c, 10, 0.5, 7, set);
}

/* Floats per image of the output. */
static size_t out_per(oct_model *m, int h, int w)
{
    oct_model_tensor t;
    CU_ASSERT_EQUAL_FATAL(oct_model_output_shape(m, 1, h, w, &t), OCT_OK);
    return (size_t)(t.dims[1] * t.dims[2] * t.dims[3]);
}

/* want[d] = (n, F) outputs of device d of the set alone over the whole batch. */
static float **alone_outputs(oct_devset *set, const model_spec *ms, const float *x, int n, size_t per)
{
    int count = oct_devset_count(set);
    float **want = calloc((size_t)count, sizeof *want);
    for (int d = 0; d < count; d++) {
        oct_devset_stats st;
        CU_ASSERT_EQUAL_FATAL(oct_devset_stats_get(set, d, &st), OCT_OK);
        oct_context *ctx = NULL;
        oct_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(open_alone(st.device, ms, &ctx, &m), OCT_OK);
        want[d] = malloc((size_t)n * per * sizeof(float));
        oct_status s = oct_model_forward(m, x, n, ms->h, ms->w, want[d], NULL, NULL);
        if (s != OCT_OK) printf("\n%s alone: %s\n", st.device, oct_last_error());
        CU_ASSERT_EQUAL_FATAL(s, OCT_OK);
        oct_model_free(m);
        oct_context_free(ctx);
    }
    return want;
}

static void free_outputs(float **want, int count)
{
    for (int d = 0; d < count; d++) free(want[d]);
    free(want);
}

/* Every row of got equals the row its device gives alone, bit for bit; prints the first
 * mismatches. Returns the mismatching rows. */
static int check_rows(const char *what, float **want, int count, const float *got, const int *device_of, int n,
                      size_t per)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int d = device_of[i];
        if (d < 0 || d >= count) {
            if (bad++ < 3) printf("\n%s: row %d has device %d (set of %d)", what, i, d, count);
            continue;
        }
        const float *a = want[d] + (size_t)i * per, *b = got + (size_t)i * per;
        if (memcmp(a, b, per * sizeof(float)) != 0) {
            size_t j = 0;
            while (j < per && memcmp(&a[j], &b[j], sizeof(float)) == 0) j++;
            if (bad++ < 3)
                printf("\n%s: row %d (device %d) output %zu: alone %.9g, in the set %.9g", what, i, d, j, (double)a[j],
                       (double)b[j]);
        }
    }
    return bad;
}

/* One set pass checked row by row; returns how many images each device did in `did`. */
static void run_and_check(const char *list, const model_spec *ms, int n, int chunk, int did[MAXDEV])
{
    oct_devset *set = NULL;
    oct_status s = open_set(list, ms, &set);
    if (s != OCT_OK) printf("\n%s: %s\n", list, oct_last_error());
    CU_ASSERT_EQUAL_FATAL(s, OCT_OK);
    int count = oct_devset_count(set);
    size_t per = out_per(oct_devset_model(set, 0), ms->h, ms->w), in = (size_t)ms->c * ms->h * ms->w;
    rng_t r = {(uint64_t)n * 31 + (uint64_t)chunk};
    float *x = rng_array(&r, (size_t)n * in, -2, 2), *got = malloc((size_t)n * per * sizeof(float));
    int *device_of = malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) device_of[i] = -1;
    float **want = alone_outputs(set, ms, x, n, per);
    CU_ASSERT_EQUAL(oct_devset_set_chunk(set, chunk), OCT_OK);
    s = oct_devset_forward(set, x, n, ms->h, ms->w, got, device_of);
    if (s != OCT_OK) printf("\n%s forward: %s\n", list, oct_last_error());
    CU_ASSERT_EQUAL_FATAL(s, OCT_OK);
    char what[160];
    snprintf(what, sizeof what, "%s on %s, n %d, chunk %d", ms->path ? "ONNX" : "OctNetMini", list, n, chunk);
    CU_ASSERT_EQUAL(check_rows(what, want, count, got, device_of, n, per), 0);
    long long images = 0;
    printf("\n    %s:", what);
    for (int d = 0; d < count; d++) {
        oct_devset_stats st;
        CU_ASSERT_EQUAL(oct_devset_stats_get(set, d, &st), OCT_OK);
        CU_ASSERT_EQUAL(st.active, 1);
        images += st.images;
        if (did) did[d] = (int)st.images;
        printf(" %s %lld", st.device, st.images);
    }
    oct_devset_stats tot;
    CU_ASSERT_EQUAL(oct_devset_stats_get(set, -1, &tot), OCT_OK);
    CU_ASSERT_EQUAL(images, n);
    CU_ASSERT_EQUAL(tot.images, n);
    CU_ASSERT_EQUAL(tot.active, count);
    CU_ASSERT(tot.seconds > 0);
    free_outputs(want, count);
    free(device_of);
    free(got);
    free(x);
    oct_devset_free(set);
}

/* ------------------------------------------------------------------------------------ */
/* Tests                                                                                  */

static void test_octnet_rows(void)
{
    model_spec ms = {NULL, 3, 6, 7};
    run_and_check(g_list, &ms, 23, 4, NULL); /* 6 chunks, the last of 3 */
    run_and_check(g_list, &ms, 7, 1, NULL);
    run_and_check(g_list, &ms, 13, 0, NULL); /* automatic */
    run_and_check(g_list, &ms, 5, 64, NULL); /* one chunk larger than the batch */
    run_and_check("cpu", &ms, 9, 2, NULL);   /* a set of one */
}

static void test_onnx_rows(void)
{
    model_spec ms = {ONNX_MODEL, 3, 6, 6};
    run_and_check(g_list, &ms, 29, 3, NULL);
    model_spec other = {ONNX_MODEL, 3, 10, 12}; /* a size other than the declared one */
    run_and_check(g_list, &ms, 11, 5, NULL);
    run_and_check(g_list, &other, 11, 5, NULL);
}

/* A pass of n images in chunks of one on g_list's set made under OCTCL_FAULT_DEVSET =
 * faults: the rows of each device alone (want), the pass's rows (got) and devices. */
typedef struct {
    model_spec ms;
    oct_devset *set;
    int count, n;
    size_t per;
    float *x, *got, **want;
    int device_of[64];
    oct_status status;
} fault_pass;

static int fault_pass_run(fault_pass *p, const char *faults, int n, uint64_t seed)
{
    *p = (fault_pass){{NULL, 3, 6, 7}, NULL, 0, n, 0, NULL, NULL, NULL, {0}, OCT_OK};
    setenv("OCTCL_FAULT_DEVSET", faults, 1);
    oct_status s = open_set(g_list, &p->ms, &p->set);
    unsetenv("OCTCL_FAULT_DEVSET");
    CU_ASSERT_EQUAL(s, OCT_OK);
    if (s != OCT_OK) return 0;
    p->count = oct_devset_count(p->set);
    p->per = out_per(oct_devset_model(p->set, 0), p->ms.h, p->ms.w);
    size_t in = (size_t)p->ms.c * p->ms.h * p->ms.w;
    rng_t r = {seed};
    p->x = rng_array(&r, (size_t)n * in, -2, 2);
    p->got = malloc((size_t)n * p->per * sizeof(float));
    p->want = alone_outputs(p->set, &p->ms, p->x, n, p->per);
    CU_ASSERT_EQUAL(oct_devset_set_chunk(p->set, 1), OCT_OK);
    events_reset();
    for (int i = 0; i < n; i++) p->device_of[i] = -1;
    p->status = oct_devset_forward(p->set, p->x, n, p->ms.h, p->ms.w, p->got, p->device_of);
    if (p->status != OCT_OK) printf("\nforward: %s\n", oct_last_error());
    return p->status == OCT_OK;
}

static void fault_pass_free(fault_pass *p)
{
    if (p->want) free_outputs(p->want, p->count);
    free(p->got);
    free(p->x);
    oct_devset_free(p->set);
}

/* Device 0 (cpu) fails its first chunk while the others run theirs (mid-pass): the chunk
 * is redone by the others, the result is still each row's device alone, an event names
 * the device, and later passes leave it out. (The others take no chunk before device 0
 * has taken its first: multidev.c's oct__fault_wait.) */
static void test_device_fails(void)
{
    fault_pass p;
    if (!fault_pass_run(&p, "0:1", 23, 77)) {
        CU_FAIL("the pass failed");
        fault_pass_free(&p);
        return;
    }
    int n = p.n;
    CU_ASSERT_EQUAL(check_rows("device 0 fails its first chunk", p.want, p.count, p.got, p.device_of, n, p.per), 0);
    for (int i = 0; i < n * (int)p.per; i++)
        if (isnan(p.got[i])) {
            printf("\noutput %d is NaN: the failed chunk was not redone\n", i);
            CU_FAIL("NaN left by the failed device");
            break;
        }
    pthread_mutex_lock(&g_ev_lock);
    printf("\n    event: %s", g_ev_message);
    CU_ASSERT_EQUAL(g_dropped, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_ev_message, "device 0 (cpu"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g_ev_message, "goes back to the queue"));
    pthread_mutex_unlock(&g_ev_lock);
    oct_devset_stats st;
    CU_ASSERT_EQUAL(oct_devset_stats_get(p.set, 0, &st), OCT_OK);
    CU_ASSERT_EQUAL(st.active, 0);
    CU_ASSERT_EQUAL(st.error, OCT_ERR_DEVICE_MEMORY);
    CU_ASSERT_EQUAL(st.images, 0); /* its one chunk failed */
    CU_ASSERT_PTR_NOT_NULL(strstr(st.message, "OCTCL_FAULT_DEVSET"));
    CU_ASSERT_EQUAL(oct_devset_stats_get(p.set, -1, &st), OCT_OK);
    CU_ASSERT_EQUAL(st.active, p.count - 1);
    CU_ASSERT_EQUAL(st.images, n);
    /* The next pass runs without device 0. */
    CU_ASSERT_EQUAL(oct_devset_forward(p.set, p.x, n, p.ms.h, p.ms.w, p.got, p.device_of), OCT_OK);
    CU_ASSERT_EQUAL(check_rows("after the drop", p.want, p.count, p.got, p.device_of, n, p.per), 0);
    for (int i = 0; i < n; i++) CU_ASSERT_NOT_EQUAL(p.device_of[i], 0);
    fault_pass_free(&p);
}

/* A fault armed for a device's K-th chunk happens however the threads run: the devices
 * with none to come take no chunk until it has taken its K-th (device 0 takes chunks 1..3
 * of 3, the third fails and goes to another device). */
static void test_fault_order(void)
{
    fault_pass p;
    if (fault_pass_run(&p, "0:3", 3, 13)) {
        CU_ASSERT_EQUAL(check_rows("device 0 fails its third chunk", p.want, p.count, p.got, p.device_of, 3, p.per), 0);
        CU_ASSERT_EQUAL(p.device_of[0], 0);
        CU_ASSERT_EQUAL(p.device_of[1], 0);
        CU_ASSERT(p.device_of[2] > 0);
        pthread_mutex_lock(&g_ev_lock);
        CU_ASSERT_EQUAL(g_dropped, 1);
        pthread_mutex_unlock(&g_ev_lock);
        oct_devset_stats st;
        CU_ASSERT_EQUAL(oct_devset_stats_get(p.set, 0, &st), OCT_OK);
        CU_ASSERT_EQUAL(st.active, 0);
        CU_ASSERT_EQUAL(st.images, 2);
    } else {
        CU_FAIL("the pass failed");
    }
    fault_pass_free(&p);
}

/* Every device fails: a clean error naming the last device; the next pass too. */
static void test_all_fail(void)
{
    model_spec ms = {NULL, 3, 6, 7};
    int n = 9;
    setenv("OCTCL_FAULT_DEVSET", "0:1,1:1,2:1", 1);
    oct_devset *set = NULL;
    oct_status s = open_set(g_list, &ms, &set);
    unsetenv("OCTCL_FAULT_DEVSET");
    CU_ASSERT_EQUAL_FATAL(s, OCT_OK);
    int count = oct_devset_count(set);
    size_t per = out_per(oct_devset_model(set, 0), ms.h, ms.w), in = (size_t)ms.c * ms.h * ms.w;
    rng_t r = {5};
    float *x = rng_array(&r, (size_t)n * in, -2, 2), *got = malloc((size_t)n * per * sizeof(float));
    events_reset();
    s = oct_devset_forward(set, x, n, ms.h, ms.w, got, NULL);
    printf("\n    all failed: %s", oct_last_error());
    CU_ASSERT_EQUAL(s, OCT_ERR_DEVICE_MEMORY);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "no device left"));
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "OCTCL_FAULT_DEVSET"));
    CU_ASSERT_PTR_NULL(strchr(oct_last_error(), '\n'));
    pthread_mutex_lock(&g_ev_lock);
    CU_ASSERT_EQUAL(g_dropped, count);
    pthread_mutex_unlock(&g_ev_lock);
    oct_devset_stats st;
    CU_ASSERT_EQUAL(oct_devset_stats_get(set, -1, &st), OCT_OK);
    CU_ASSERT_EQUAL(st.active, 0);
    CU_ASSERT_EQUAL(st.error, OCT_ERR_DEVICE_MEMORY);
    s = oct_devset_forward(set, x, n, ms.h, ms.w, got, NULL);
    CU_ASSERT_EQUAL(s, OCT_ERR_DEVICE_MEMORY);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "no device left"));
    free(got);
    free(x);
    oct_devset_free(set);
}

/* An input every device refuses (a NaN) fails the pass and drops nobody. */
static void test_input_error(void)
{
    model_spec ms = {NULL, 3, 6, 7};
    int n = 6;
    oct_devset *set = NULL;
    CU_ASSERT_EQUAL_FATAL(open_set("cpu,ref", &ms, &set), OCT_OK);
    size_t per = out_per(oct_devset_model(set, 0), ms.h, ms.w), in = (size_t)ms.c * ms.h * ms.w;
    rng_t r = {9};
    float *x = rng_array(&r, (size_t)n * in, -2, 2), *got = malloc((size_t)n * per * sizeof(float));
    x[4 * in + 3] = NAN;
    CU_ASSERT_EQUAL(oct_devset_set_chunk(set, 2), OCT_OK);
    events_reset();
    oct_status s = oct_devset_forward(set, x, n, ms.h, ms.w, got, NULL);
    printf("\n    NaN input: %s", oct_last_error());
    CU_ASSERT_EQUAL(s, OCT_ERR_BAD_SIZE);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "images 4..5"));
    oct_devset_stats st;
    CU_ASSERT_EQUAL(oct_devset_stats_get(set, -1, &st), OCT_OK);
    CU_ASSERT_EQUAL(st.active, 2);
    pthread_mutex_lock(&g_ev_lock);
    CU_ASSERT_EQUAL(g_dropped, 0);
    pthread_mutex_unlock(&g_ev_lock);
    x[4 * in + 3] = 0.5f;
    CU_ASSERT_EQUAL(oct_devset_forward(set, x, n, ms.h, ms.w, got, NULL), OCT_OK);
    free(got);
    free(x);
    oct_devset_free(set);
}

static void expect_spec(const char *list, oct_status want, const char *part)
{
    oct_devset *set = (oct_devset *)&set; /* must come back NULL */
    oct_status s = oct_devset_create_random(list, 1, 10, 0.5, 1, &set);
    printf("\n    \"%s\": %s", list, oct_last_error());
    CU_ASSERT_EQUAL(s, want);
    CU_ASSERT_PTR_NULL(set);
    CU_ASSERT_PTR_NULL(strchr(oct_last_error(), '\n'));
    if (part && !strstr(oct_last_error(), part)) {
        printf("\n    expected \"%s\" in the message", part);
        CU_FAIL("message");
    }
}

static void test_bad_specs(void)
{
    expect_spec("", OCT_ERR_BAD_DEVICE_SPEC, "item 1 is empty");
    expect_spec("cpu,,ref", OCT_ERR_BAD_DEVICE_SPEC, "item 2 is empty");
    expect_spec("cpu,", OCT_ERR_BAD_DEVICE_SPEC, "item 2 is empty");
    expect_spec(",cpu", OCT_ERR_BAD_DEVICE_SPEC, "item 1 is empty");
    expect_spec("cpu,gpu", OCT_ERR_BAD_DEVICE_SPEC, "item 2: device \"gpu\" not understood");
    expect_spec("cpu, ref", OCT_ERR_BAD_DEVICE_SPEC, "item 2");
    expect_spec("cpu,ref,cpu", OCT_ERR_BAD_DEVICE_SPEC, "item 3 (cpu) names the same device");
    expect_spec("all,cpu", OCT_ERR_BAD_DEVICE_SPEC, "names the same device");
    expect_spec("ref,opencl:99:0", g_cl[0] ? OCT_ERR_NO_DEVICE : OCT_ERR_NO_OPENCL, "item 2");
    if (g_cl[0]) {
        char list[80];
        snprintf(list, sizeof list, "%s,cpu,%s", g_cl, g_cl);
        expect_spec(list, OCT_ERR_BAD_DEVICE_SPEC, "item 3");
    }
    /* NULL arguments. */
    oct_devset *set = NULL;
    CU_ASSERT_EQUAL(oct_devset_create("cpu", NULL, &set), OCT_ERR_NULL_ARG);
    CU_ASSERT_EQUAL(oct_devset_create("cpu", ONNX_MODEL, NULL), OCT_ERR_NULL_ARG);
    CU_ASSERT_EQUAL(oct_devset_forward(NULL, NULL, 1, 1, 1, NULL, NULL), OCT_ERR_NULL_ARG);
    oct_devset_free(NULL);
    CU_ASSERT_EQUAL(oct_devset_count(NULL), 0);
    CU_ASSERT_PTR_NULL(oct_devset_model(NULL, 0));
}

/* "all": every OpenCL device, then cpu; no ref. */
static void test_all(void)
{
    oct_device_info list[MAXDEV];
    int n = 0;
    CU_ASSERT_EQUAL(oct_list_devices(list, MAXDEV, &n), OCT_OK);
    oct_devset *set = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_devset_create_random("all", 1, 10, 0.5, 1, &set), OCT_OK);
    CU_ASSERT_EQUAL(oct_devset_count(set), n + 1);
    for (int i = 0; i < oct_devset_count(set); i++) {
        oct_device_info d;
        CU_ASSERT_EQUAL(oct_devset_device(set, i, &d), OCT_OK);
        CU_ASSERT_EQUAL(d.backend, i < n ? OCT_BACKEND_OPENCL : OCT_BACKEND_CPU);
    }
    CU_ASSERT_EQUAL(oct_devset_device(set, n + 1, list), OCT_ERR_BAD_SIZE);
    oct_devset_free(set);
}

/* Every fallible allocation of making a set and a pass failing in turn (the Nth over all
 * threads): OK with the right rows, or a clean status; nothing leaked (the sanitizer build). */
static void test_alloc_faults(void)
{
    model_spec ms = {NULL, 1, 4, 4};
    int n = 5;
    size_t in = (size_t)ms.h * ms.w;
    rng_t r = {13};
    float *x = rng_array(&r, (size_t)n * in, -2, 2), got[5 * 10], want[5 * 10];
    oct_context *ctx = NULL;
    oct_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(open_alone("ref", &ms, &ctx, &m), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct_model_forward(m, x, n, ms.h, ms.w, want, NULL, NULL), OCT_OK);
    oct_model_free(m);
    oct_context_free(ctx);
    int done = 0, ok = 0, failed = 0;
    for (long k = 1; k < 4000 && !done; k++) {
        oct_devset *set = NULL;
        oct_debug_fail_at(k);
        oct_status s = oct_devset_create_random("cpu,ref", 1, 10, 0.5, 7, &set);
        if (s == OCT_OK) {
            oct_devset_set_chunk(set, 1);
            s = oct_devset_forward(set, x, n, ms.h, ms.w, got, NULL);
        }
        done = oct_debug_fault_calls() < k;
        oct_debug_fail_at(0);
        if (s == OCT_OK) {
            ok++;
            CU_ASSERT_EQUAL(compare_floats("cpu,ref under faults", want, got, (size_t)n * 10, TOL_ABS, TOL_REL), 0);
        } else {
            failed++;
            if (s != OCT_ERR_HOST_MEMORY && s != OCT_ERR_BAD_DEVICE_SPEC)
                printf("\nfault at %ld: status %d (%s)\n", k, s, oct_last_error());
            CU_ASSERT(oct_last_error()[0] != '\0');
        }
        oct_devset_free(set);
    }
    printf("\n    %d passes right, %d clean failures", ok, failed);
    CU_ASSERT(done);
    free(x);
}

int main(void)
{
    oct_device_info dev;
    int n = 0;
    oct_list_devices(&dev, 1, &n);
    if (n > 0) snprintf(g_cl, sizeof g_cl, "opencl:%d:%d", dev.platform_index, dev.device_index);
    snprintf(g_list, sizeof g_list, "cpu,ref%s%s", g_cl[0] ? "," : "", g_cl);
    printf("device list: %s\n", g_list);
    oct_set_event_callback(on_event, NULL);
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("device sets", NULL, NULL);
    CU_add_test(s, "OctNetMini: every row is its device's alone, in input order", test_octnet_rows);
    CU_add_test(s, "ONNX model: every row is its device's alone, in input order", test_onnx_rows);
    CU_add_test(s, "a device failing mid-pass hands its chunk back and is dropped", test_device_fails);
    CU_add_test(s, "a device's armed fault happens whatever the scheduling", test_fault_order);
    CU_add_test(s, "every device failing is a clean error", test_all_fail);
    CU_add_test(s, "an input every device refuses fails the pass, drops nobody", test_input_error);
    CU_add_test(s, "bad device lists", test_bad_specs);
    CU_add_test(s, "\"all\" is every OpenCL device and cpu", test_all);
    CU_add_test(s, "allocation failures while making a set and in a pass", test_alloc_faults);
    return run_cunit();
}
