/* test_safety.c — issue 13, case by case, at the library level: outputs written
 * atomically and never a path we did not create removed (failures and signals at a
 * chosen write, devices, FIFOs, links, two writers), readers that fstat first, the
 * SGEMM kernels against a double reference, non-finite numbers after folding and
 * normalisation, sizes checked before work, a CPU pass out of host memory retried in
 * halves, and the lenient parsing that is now closed. Device nodes are made in a private
 * temporary folder (root only; skipped with a note otherwise), never in /dev.
 */
#define _XOPEN_SOURCE 700 /* mknod, symlink */
#include "cli_common.h"
#include "gemm.h"
#include "io.h"
#include "safetensors.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MODEL OCT_FIXTURE_DIR "/net_a0.50_n3_c3_9x7_k10.safetensors"

static char g_dir[256];

static const char *tpath(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

/* Entries of g_dir other than "." and ".." whose name contains `part` (NULL: all). */
static int count_entries(const char *part)
{
    DIR *d = opendir(g_dir);
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (!part || strstr(e->d_name, part))) n++;
    closedir(d);
    return n;
}

/* The whole file (NULL when unreadable), its length in *len. */
static uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *b = NULL;
    if (oct__read_file(path, (size_t)1 << 30, &b, len) != OCT_OK) return NULL;
    return b;
}

static int same_file(const char *path, const uint8_t *want, size_t want_len)
{
    size_t len = 0;
    uint8_t *b = slurp(path, &len);
    int same = b && len == want_len && memcmp(b, want, len) == 0;
    free(b);
    return same;
}

/* ------------------------------------------------------------------------------------ */
/* 1, 2: outputs                                                                          */

static long g_fail_at;
static int g_fail_errno;
static int fail_hook(long nth) { return nth == g_fail_at ? g_fail_errno : 0; }
static long g_kill_at;
static int g_kill_sig;
static int kill_hook(long nth)
{
    if (nth == g_kill_at) raise(g_kill_sig);
    return 0;
}
static long g_writes;
static int count_hook(long nth)
{
    g_writes = nth;
    return 0;
}

/* The process's write count now (one probe write of one byte). */
static long counter_now(void)
{
    oct__file_write_hook = count_hook;
    g_writes = 0;
    oct_file_write(tpath("probe"), "x", 1);
    oct__file_write_hook = NULL;
    unlink(tpath("probe"));
    return g_writes;
}

#define BIG 100000 /* floats: ~25 writes of 16 KB */
static float g_big[BIG];

/* A failed write (a full disk at write 1, 2, 5, the last) leaves the old file as it
 * was and no temporary. */
static void test_write_failure_keeps_old(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, "old.npy");
    int64_t small[1] = {3}, big[1] = {BIG};
    float three[3] = {1, 2, 3};
    CU_ASSERT_EQUAL_FATAL(oct_npy_save(p, three, 1, small), OCT_OK);
    size_t old_len = 0;
    uint8_t *old = slurp(p, &old_len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(old);
    /* How many writes a whole save takes. */
    long before = counter_now();
    CU_ASSERT_EQUAL(oct_npy_save(tpath("count.npy"), g_big, 1, big), OCT_OK);
    long writes = counter_now() - before - 1;
    unlink(tpath("count.npy"));
    CU_ASSERT(writes > 5);
    long at[] = {1, 2, 5, writes};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        g_fail_at = counter_now() + at[i]; /* the count runs over the process */
        g_fail_errno = ENOSPC;
        oct__file_write_hook = fail_hook;
        oct_status s = oct_npy_save(p, g_big, 1, big);
        oct__file_write_hook = NULL;
        CU_ASSERT_EQUAL(s, OCT_ERR_IO);
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "No space left"));
        CU_ASSERT(same_file(p, old, old_len));
        CU_ASSERT_EQUAL(count_entries(NULL), 1);
        if (count_entries(NULL) != 1) printf("\n    failing write %ld of %ld left %d entries", at[i], writes,
                                             count_entries(NULL));
    }
    free(old);
    unlink(p);
}

/* A process killed by SIGTERM or SIGINT at a chosen write, with the CLI's handler: the
 * old file is intact and the temporary is gone; without the handler the temporary would
 * stay (checked too, so the test shows what the handler does). */
static int killed_child(const char *p, int sig, long at, int handler)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (handler) cli_install_signal_cleanup();
        int64_t big[1] = {BIG};
        g_kill_sig = sig;
        g_kill_at = counter_now() + at; /* the count runs over the process */
        oct__file_write_hook = kill_hook;
        oct_npy_save(p, g_big, 1, big);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
}

static void test_signal_mid_write(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, "sig.npy");
    int64_t small[1] = {3};
    float three[3] = {4, 5, 6};
    CU_ASSERT_EQUAL_FATAL(oct_npy_save(p, three, 1, small), OCT_OK);
    size_t old_len = 0;
    uint8_t *old = slurp(p, &old_len);
    int sigs[2] = {SIGTERM, SIGINT};
    long ats[3] = {1, 3, 20};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            int got = killed_child(p, sigs[i], ats[j], 1);
            CU_ASSERT_EQUAL(got, sigs[i]);
            CU_ASSERT(same_file(p, old, old_len));
            CU_ASSERT_EQUAL(count_entries(".tmp"), 0);
            CU_ASSERT_EQUAL(count_entries(NULL), 1);
        }
    /* Without the handler the temporary is left behind (and the old file still intact):
     * the handler is what removes it. */
    CU_ASSERT_EQUAL(killed_child(p, SIGTERM, 3, 0), SIGTERM);
    CU_ASSERT(same_file(p, old, old_len));
    CU_ASSERT_EQUAL(count_entries(".tmp"), 1);
    DIR *d = opendir(g_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp")) unlink(tpath(e->d_name));
    if (d) closedir(d);
    free(old);
    unlink(p);
}

/* Overwriting keeps the old mode; a new file gets 0666 less the umask. */
static void test_modes(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, "mode.npy");
    int64_t one[1] = {1};
    float v = 1;
    mode_t old_mask = umask(027);
    CU_ASSERT_EQUAL(oct_npy_save(p, &v, 1, one), OCT_OK);
    struct stat sb;
    CU_ASSERT_EQUAL(stat(p, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0640);
    chmod(p, 0604);
    CU_ASSERT_EQUAL(oct_npy_save(p, &v, 1, one), OCT_OK);
    CU_ASSERT_EQUAL(stat(p, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0604);
    umask(old_mask);
    unlink(p);
}

/* Devices, FIFOs, links and folders as targets: never removed, never replaced. */
static void test_special_targets(void)
{
    int64_t one[1] = {4};
    float v[4] = {1, 2, 3, 4};
    struct stat sb;
    /* Device nodes of our own in the private folder: full (1, 7) and null (1, 3). */
    if (mknod(tpath("full"), S_IFCHR | 0666, makedev(1, 7)) == 0 &&
        mknod(tpath("null"), S_IFCHR | 0666, makedev(1, 3)) == 0) {
        CU_ASSERT_EQUAL(oct_npy_save(tpath("full"), v, 1, one), OCT_ERR_IO);
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "No space left"));
        CU_ASSERT(stat(tpath("full"), &sb) == 0 && S_ISCHR(sb.st_mode));
        CU_ASSERT_EQUAL(oct_npy_save(tpath("null"), v, 1, one), OCT_OK);
        CU_ASSERT(stat(tpath("null"), &sb) == 0 && S_ISCHR(sb.st_mode));
        /* A link to the device is followed and written in place, the link kept. */
        CU_ASSERT_EQUAL(symlink(tpath("full"), tpath("to_full")), 0);
        CU_ASSERT_EQUAL(oct_npy_save(tpath("to_full"), v, 1, one), OCT_ERR_IO);
        CU_ASSERT(lstat(tpath("to_full"), &sb) == 0 && S_ISLNK(sb.st_mode));
        CU_ASSERT(stat(tpath("full"), &sb) == 0 && S_ISCHR(sb.st_mode));
        unlink(tpath("to_full"));
    } else {
        printf("\n    (no mknod here: %s; device-node cases skipped)", strerror(errno));
    }
    unlink(tpath("full"));
    unlink(tpath("null"));
    CU_ASSERT_EQUAL(count_entries(NULL), 0);

    /* A FIFO with a reader gets the bytes; it stays a FIFO. */
    CU_ASSERT_EQUAL_FATAL(mkfifo(tpath("fifo"), 0600), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(tpath("fifo"), O_RDONLY);
        char buf[4096];
        ssize_t total = 0, r;
        while ((r = read(fd, buf, sizeof buf)) > 0) total += r;
        _exit(total == 128 + 16 ? 0 : 1);
    }
    CU_ASSERT_EQUAL(oct_npy_save(tpath("fifo"), v, 1, one), OCT_OK);
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT(lstat(tpath("fifo"), &sb) == 0 && S_ISFIFO(sb.st_mode));
    unlink(tpath("fifo"));

    /* A link to a regular file: the target is replaced, the link stays a link. */
    CU_ASSERT_EQUAL(oct_npy_save(tpath("target.npy"), v, 1, one), OCT_OK);
    CU_ASSERT_EQUAL(symlink("target.npy", tpath("link.npy")), 0);
    one[0] = 2;
    CU_ASSERT_EQUAL(oct_npy_save(tpath("link.npy"), v, 1, one), OCT_OK);
    CU_ASSERT(lstat(tpath("link.npy"), &sb) == 0 && S_ISLNK(sb.st_mode));
    oct_array a;
    CU_ASSERT_EQUAL(oct_npy_load(tpath("target.npy"), &a), OCT_OK);
    CU_ASSERT_EQUAL(a.shape[0], 2);
    oct_array_release(&a);
    unlink(tpath("link.npy"));
    unlink(tpath("target.npy"));

    /* A folder: an error, the folder untouched. */
    mkdir(tpath("folder"), 0700);
    CU_ASSERT_EQUAL(oct_npy_save(tpath("folder"), v, 1, one), OCT_ERR_IO);
    CU_ASSERT(stat(tpath("folder"), &sb) == 0 && S_ISDIR(sb.st_mode));
    rmdir(tpath("folder"));
    /* A missing folder: an error, nothing made. */
    CU_ASSERT_EQUAL(oct_npy_save(tpath("no/such.npy"), v, 1, one), OCT_ERR_IO);
    CU_ASSERT_EQUAL(count_entries(NULL), 0);
}

/* Two processes writing the same path: the result is one whole file of the two. */
static void test_two_writers(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, "two.npy");
    pid_t pids[2];
    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            int64_t shape[1] = {w ? BIG : 1000};
            for (int i = 0; i < 20; i++)
                if (oct_npy_save(p, g_big, 1, shape) != OCT_OK) _exit(1);
            _exit(0);
        }
    }
    for (int w = 0; w < 2; w++) {
        int status = 0;
        waitpid(pids[w], &status, 0);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    oct_array a;
    CU_ASSERT_EQUAL(oct_npy_load(p, &a), OCT_OK);
    CU_ASSERT(a.ndim == 1 && (a.shape[0] == 1000 || a.shape[0] == BIG));
    if (a.data) CU_ASSERT(memcmp(a.data, g_big, (size_t)a.shape[0] * sizeof(float)) == 0);
    oct_array_release(&a);
    unlink(p);
    CU_ASSERT_EQUAL(count_entries(NULL), 0);
}

/* The atomic writer of bench's --json / --csv and of any caller. */
static void test_file_write(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, "out.json");
    CU_ASSERT_EQUAL(oct_file_write(p, "[1]\n", 4), OCT_OK);
    g_fail_at = counter_now() + 1;
    g_fail_errno = EIO;
    oct__file_write_hook = fail_hook;
    CU_ASSERT_EQUAL(oct_file_write(p, "[]\n", 3), OCT_ERR_IO);
    oct__file_write_hook = NULL;
    CU_ASSERT(same_file(p, (const uint8_t *)"[1]\n", 4));
    CU_ASSERT_EQUAL(count_entries(NULL), 1);
    unlink(p);
}

/* ------------------------------------------------------------------------------------ */
/* 6: readers check before reading                                                        */

static void test_readers_fstat_first(void)
{
    oct_array a;
    oct_idx idx;
    oct_model *m = NULL;
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ctx), OCT_OK);
    double t0 = cli_now();
    /* /dev/zero is only read from (never written): refused without a byte read. */
    CU_ASSERT_EQUAL(oct_model_load(ctx, "/dev/zero", &m), OCT_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "not a regular file"));
    CU_ASSERT_EQUAL(oct_npy_load("/dev/zero", &a), OCT_ERR_IO);
    CU_ASSERT_EQUAL(oct_idx_load("/dev/zero", &idx), OCT_ERR_IO);
    /* A FIFO with no writer: refused at once, no hang. */
    mkfifo(tpath("in.fifo"), 0600);
    CU_ASSERT_EQUAL(oct_npy_load(tpath("in.fifo"), &a), OCT_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "FIFO"));
    CU_ASSERT_EQUAL(oct_model_load(ctx, tpath("in.fifo"), &m), OCT_ERR_IO);
    CU_ASSERT_EQUAL(oct_idx_load(tpath("in.fifo"), &idx), OCT_ERR_IO);
    unlink(tpath("in.fifo"));
    /* A folder. */
    CU_ASSERT_EQUAL(oct_npy_load(g_dir, &a), OCT_ERR_IO);
    CU_ASSERT(cli_now() - t0 < 2.0);
    /* Over the cap: refused from fstat's size. */
    uint8_t *b = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(oct__read_file(MODEL, 100, &b, &len), OCT_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "larger than the limit of 100"));
    CU_ASSERT_PTR_NULL(b);
    /* Private reads (the program cache's): no links, owner and mode checked. */
    CU_ASSERT_EQUAL(symlink(MODEL, tpath("ln")), 0);
    CU_ASSERT_EQUAL(oct__read_file_ex(tpath("ln"), (size_t)1 << 30, OCT__FILE_PRIVATE, &b, &len), OCT_ERR_IO);
    unlink(tpath("ln"));
    CU_ASSERT_EQUAL(oct_file_write(tpath("mine"), "abc", 3), OCT_OK);
    chmod(tpath("mine"), 0600);
    CU_ASSERT_EQUAL(oct__read_file_ex(tpath("mine"), 100, OCT__FILE_PRIVATE, &b, &len), OCT_OK);
    free(b);
    b = NULL;
    chmod(tpath("mine"), 0620);
    CU_ASSERT_EQUAL(oct__read_file_ex(tpath("mine"), 100, OCT__FILE_PRIVATE, &b, &len), OCT_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "writable by group or others"));
    chmod(tpath("mine"), 0600);
    if (geteuid() == 0 && chown(tpath("mine"), 12345, 12345) == 0) {
        CU_ASSERT_EQUAL(oct__read_file_ex(tpath("mine"), 100, OCT__FILE_PRIVATE, &b, &len), OCT_ERR_IO);
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "owned by another user"));
    }
    unlink(tpath("mine"));
    oct_context_free(ctx);
}

/* ------------------------------------------------------------------------------------ */
/* 4: the SGEMM kernels                                                                    */

static void check_gemm(int isa, int ta, int tb, int m, int n, int k, int acc, rng_t *r)
{
    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
    size_t as = (size_t)(ta ? k : m) * lda, bs = (size_t)(tb ? n : k) * ldb, cs = (size_t)m * ldc;
    float *a = rng_array(r, as, -2, 2), *b = rng_array(r, bs, -2, 2), *c = rng_array(r, cs, -2, 2);
    float *c0 = malloc(cs * sizeof *c0);
    memcpy(c0, c, cs * sizeof *c);
    oct__sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, acc);
    int bad = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++) {
            float got = c[(size_t)i * ldc + j];
            if (j >= n) { /* past n: untouched (a canary) */
                if (got != c0[(size_t)i * ldc + j] && bad++ < 3) printf("\n    canary (%d, %d) changed", i, j);
                continue;
            }
            double want = acc ? c0[(size_t)i * ldc + j] : 0.0, mag = fabs(want);
            for (int p = 0; p < k; p++) {
                double x = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                double y = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                want += x * y;
                mag += fabs(x * y);
            }
            /* float32 sums of k products: at most ~k ulps of the magnitude sum. */
            double tol = 1e-6 + 2.0 * (k + 2) * FLT_EPSILON * mag;
            if (fabs(got - want) > tol && bad++ < 3)
                printf("\n    isa %d ta %d tb %d %dx%dx%d acc %d: C(%d, %d) = %.9g, want %.9g", isa, ta, tb, m, n, k,
                       acc, i, j, got, want);
        }
    CU_ASSERT_EQUAL(bad, 0);
    free(a);
    free(b);
    free(c);
    free(c0);
}

static void test_gemm(void)
{
    static const int dims[][3] = {{1, 1, 1}, {5, 7, 3}, {8, 32, 1}, {13, 33, 27}, {97, 130, 300}, {130, 17, 513},
                                  {6, 16, 256}, {64, 257, 1152}, {2, 10, 128}};
    rng_t r = {42};
    int tested = 0;
    for (int isa = OCT__GEMM_SCALAR; isa <= OCT__GEMM_AVX512; isa++) {
        if (!oct__sgemm_force(isa)) {
            printf("\n    (kernel %d not supported here)", isa);
            continue;
        }
        tested++;
        CU_ASSERT_EQUAL(oct__sgemm_isa(), isa);
        /* The per-thread buffers, then the small stack blocks of the out-of-memory path. */
        for (int small = 0; small < 2; small++) {
            oct__sgemm_small_blocks(small);
            for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
                for (int ta = 0; ta < 2; ta++)
                    for (int tb = 0; tb < 2; tb++)
                        for (int acc = 0; acc < 2; acc++)
                            check_gemm(isa, ta, tb, dims[d][0], dims[d][1], dims[d][2], acc, &r);
        }
        oct__sgemm_small_blocks(0);
        /* k = 0: C = acc ? C : 0. */
        float c[4] = {1, 2, 3, 4}, z[1] = {0};
        oct__sgemm(0, 0, 2, 2, 0, z, 1, z, 2, c, 2, 1);
        CU_ASSERT(c[0] == 1 && c[3] == 4);
        oct__sgemm(0, 0, 2, 2, 0, z, 1, z, 2, c, 2, 0);
        CU_ASSERT(c[0] == 0 && c[3] == 0);
    }
    oct__sgemm_force(-1);
    CU_ASSERT(tested >= 1);
}

/* ------------------------------------------------------------------------------------ */
/* 5, 7: model files                                                                       */

typedef struct {
    int count;
    const char *names[64];
    int ndims[64];
    int64_t shapes[64][OCT_MAX_DIMS];
    float *data[64];
    int meta_count;
    const char *mk[8], *mv[8];
    oct__st st;
} editable;

static void editable_load(editable *ed)
{
    memset(ed, 0, sizeof *ed);
    CU_ASSERT_EQUAL_FATAL(oct__st_load(MODEL, &ed->st), OCT_OK);
    for (int i = 0; i < ed->st.count && i < 60; i++) {
        const oct__st_tensor *t = &ed->st.tensors[i];
        if (t->dtype == OCT__ST_I64) continue; /* num_batches_tracked */
        int k = ed->count++;
        ed->names[k] = t->name;
        ed->ndims[k] = t->ndim;
        memcpy(ed->shapes[k], t->shape, sizeof t->shape);
        ed->data[k] = malloc(t->count * sizeof(float) + 4);
        oct__st_to_f32(&ed->st, t, ed->data[k]);
    }
}

static void editable_free(editable *ed)
{
    for (int i = 0; i < ed->count; i++) free(ed->data[i]);
    oct__st_release(&ed->st);
}

static float *tensor(editable *ed, const char *name)
{
    for (int i = 0; i < ed->count; i++)
        if (strcmp(ed->names[i], name) == 0) return ed->data[i];
    CU_FAIL_FATAL("no such tensor");
    return NULL;
}

static void meta(editable *ed, const char *k, const char *v)
{
    ed->mk[ed->meta_count] = k;
    ed->mv[ed->meta_count++] = v;
}

/* Write ed and load it on `spec`; *m gets the model on success. */
static oct_status load_edited(const editable *ed, oct_context *ctx, oct_model **m)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, "edited.safetensors");
    CU_ASSERT_EQUAL_FATAL(oct__st_save(p, ed->count, ed->names, ed->ndims, (const int64_t(*)[OCT_MAX_DIMS])ed->shapes,
                                       (const float *const *)ed->data, ed->meta_count, ed->mk, ed->mv),
                          OCT_OK);
    oct_status s = oct_model_load(ctx, p, m);
    unlink(p);
    return s;
}

static void expect_load(editable *ed, oct_status want, const char *needle, const char *label)
{
    oct_context *ctx = NULL;
    oct_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("ref", &ctx), OCT_OK);
    oct_status s = load_edited(ed, ctx, &m);
    int named = !needle || strstr(oct_last_error(), needle) != NULL;
    if (s != want || !named)
        printf("\n    %s: got %s \"%s\", wanted %s naming \"%s\"", label, oct_status_string(s), oct_last_error(),
               oct_status_string(want), needle ? needle : "");
    CU_ASSERT_EQUAL(s, want);
    CU_ASSERT(named);
    oct_model_free(m);
    oct_context_free(ctx);
}

static void test_non_finite(void)
{
    editable ed;
    /* bn_eps 1e-100 over a zero variance: the folded scale overflows. */
    editable_load(&ed);
    tensor(&ed, "stem.1.running_var")[5] = 0.0f;
    meta(&ed, "bn_eps", "1e-100");
    expect_load(&ed, OCT_ERR_MODEL, "stem.1: folding BatchNorm channel 5", "bn_eps 1e-100");
    editable_free(&ed);
    /* A finite but huge weight times a large scale overflows the folded weight. */
    editable_load(&ed);
    tensor(&ed, "b1.oct.hh.weight")[0] = 3e38f;
    tensor(&ed, "b1.bn_h.weight")[0] = 100.0f;
    expect_load(&ed, OCT_ERR_MODEL, "b1.oct.hh.weight", "overflowing folded weight");
    editable_free(&ed);
    /* Normalisation: std 1e-40, mean 1e300. */
    editable_load(&ed);
    meta(&ed, "mean", "0.5");
    meta(&ed, "std", "1e-40");
    expect_load(&ed, OCT_ERR_MODEL, "std \"1e-40\"", "std 1e-40");
    editable_free(&ed);
    editable_load(&ed);
    meta(&ed, "mean", "1e300");
    meta(&ed, "std", "1");
    expect_load(&ed, OCT_ERR_MODEL, "mean \"1e300\"", "mean 1e300");
    editable_free(&ed);
    /* fc.weight of 3e38: loads, but its logits overflow: an error on every backend. */
    editable_load(&ed);
    float *fw = tensor(&ed, "fc.weight");
    for (int i = 0; i < 10 * 128; i++) fw[i] = 3e38f;
    const char *specs[] = {"ref", "cpu"};
    rng_t r = {7};
    float *x = rng_array(&r, 2 * 3 * 9 * 7, -2, 2), logits[20];
    for (int d = 0; d < 2; d++) {
        oct_context *ctx = NULL;
        oct_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_context_create(specs[d], &ctx), OCT_OK);
        CU_ASSERT_EQUAL_FATAL(load_edited(&ed, ctx, &m), OCT_OK);
        CU_ASSERT_EQUAL(oct_model_forward(m, x, 2, 9, 7, logits, NULL, NULL), OCT_ERR_MODEL);
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "overflow"));
        /* A non-finite input is refused before any work. */
        float keep = x[11];
        x[11] = NAN;
        CU_ASSERT_EQUAL(oct_model_forward(m, x, 2, 9, 7, logits, NULL, NULL), OCT_ERR_BAD_SIZE);
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "NaN"));
        x[11] = keep;
        oct_model_free(m);
        oct_context_free(ctx);
    }
    free(x);
    editable_free(&ed);
}

static void test_lenient_closed(void)
{
    static const char *bad_alpha[] = {" 0.5", "0x1p-1", "0.5 ", "+.5e", "inf", "nan", ""};
    editable ed;
    for (size_t i = 0; i < sizeof bad_alpha / sizeof bad_alpha[0]; i++) {
        editable_load(&ed);
        meta(&ed, "alpha", bad_alpha[i]);
        expect_load(&ed, OCT_ERR_MODEL, "alpha", bad_alpha[i]);
        editable_free(&ed);
    }
    editable_load(&ed);
    meta(&ed, "alpha", "0.5");
    meta(&ed, "bn_eps", "1e-5");
    expect_load(&ed, OCT_OK, NULL, "plain alpha and bn_eps");
    editable_free(&ed);
    editable_load(&ed);
    meta(&ed, "bn_eps", " 1e-5");
    expect_load(&ed, OCT_ERR_MODEL, "bn_eps", "bn_eps with a space");
    editable_free(&ed);

    /* num_batches_tracked: a scalar beside a BatchNorm only. */
    float counter[2] = {7, 7};
    struct {
        const char *name;
        int ndim;
        oct_status want;
    } nbt[] = {{"stem.1.num_batches_tracked", 0, OCT_OK},
               {"b1.bn_h.num_batches_tracked", 0, OCT_OK},
               {"stem.1.num_batches_tracked", 1, OCT_ERR_MODEL},
               {"stem.0.num_batches_tracked", 0, OCT_ERR_MODEL},
               {"fc.num_batches_tracked", 0, OCT_ERR_MODEL}};
    for (size_t i = 0; i < sizeof nbt / sizeof nbt[0]; i++) {
        editable_load(&ed);
        int k = ed.count++;
        ed.names[k] = nbt[i].name;
        ed.ndims[k] = nbt[i].ndim;
        memset(ed.shapes[k], 0, sizeof ed.shapes[k]);
        ed.shapes[k][0] = 2;
        ed.data[k] = malloc(sizeof counter);
        memcpy(ed.data[k], counter, sizeof counter);
        expect_load(&ed, nbt[i].want, nbt[i].want == OCT_OK ? NULL : "num_batches_tracked", nbt[i].name);
        editable_free(&ed);
    }

    /* Header numbers: plain non-negative integers only. */
    static const char *shapes[] = {"[2.0]", "[-0]", "[2e0]", "[02]", "[-0.0]"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char head[200];
        uint8_t file[300];
        int n = snprintf(head, sizeof head, "{\"a\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[0,8]}}",
                         shapes[i]);
        while (n % 8) head[n++] = ' ';
        memset(file, 0, sizeof file);
        for (int b = 0; b < 8; b++) file[b] = (uint8_t)((uint64_t)n >> (8 * b));
        memcpy(file + 8, head, (size_t)n);
        oct__st st;
        oct_status s = oct__st_parse(file, 8 + (size_t)n + 8, "h.safetensors", &st);
        if (s == OCT_OK) oct__st_release(&st);
        if (s == OCT_OK) printf("\n    shape %s accepted", shapes[i]);
        CU_ASSERT_EQUAL(s, OCT_ERR_FORMAT);
    }
    /* The plain integer still parses. */
    {
        char head[200];
        uint8_t file[300];
        int n = snprintf(head, sizeof head, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}");
        while (n % 8) head[n++] = ' ';
        memset(file, 0, sizeof file);
        for (int b = 0; b < 8; b++) file[b] = (uint8_t)((uint64_t)n >> (8 * b));
        memcpy(file + 8, head, (size_t)n);
        oct__st st;
        CU_ASSERT_EQUAL(oct__st_parse(file, 8 + (size_t)n + 8, "h.safetensors", &st), OCT_OK);
        oct__st_release(&st);
    }

    /* OCTCL_THREADS: digits only. */
    static const char *threads[] = {" 2", "+2", "2 ", "0x2", ""};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        oct_context *ctx = NULL;
        setenv("OCTCL_THREADS", threads[i], 1);
        oct_status s = oct_context_create("cpu", &ctx);
        CU_ASSERT_EQUAL(s, threads[i][0] ? OCT_ERR_BAD_SIZE : OCT_OK);
        oct_context_free(ctx);
    }
    setenv("OCTCL_THREADS", "2", 1);
    oct_context *ctx = NULL;
    CU_ASSERT_EQUAL(oct_context_create("cpu", &ctx), OCT_OK);
    oct_context_free(ctx);
    unsetenv("OCTCL_THREADS");
}

/* ------------------------------------------------------------------------------------ */
/* 6: sizes before work; host memory halving                                              */

static void test_sizes_and_halving(void)
{
    oct_context *ctx = NULL;
    oct_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(oct_context_create("cpu", &ctx), OCT_OK);
    CU_ASSERT_EQUAL_FATAL(oct_model_load(ctx, MODEL, &m), OCT_OK);
    float x[16] = {0}, logits[40];
    double t0 = cli_now();
    /* One 4200x4200 image has a 128 x 4200 x 4200 tensor (> 2^31 elements): refused
     * before the input is even read (x is far smaller than such an input). */
    CU_ASSERT_EQUAL(oct_model_forward(m, x, 1, 4200, 4200, logits, NULL, NULL), OCT_ERR_BAD_SIZE);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "over the limit"));
    CU_ASSERT_EQUAL(oct_model_activation_bytes(m, 1, 16384, 16384), 0);
    CU_ASSERT(cli_now() - t0 < 1.0);

    /* A host allocation failing during a CPU pass: the batch is retried in halves and
     * gives the clean logits (the memory limit's chunks give the same logits). */
    rng_t r = {11};
    float *xs = rng_array(&r, 4 * 3 * 9 * 7, -2, 2), clean[40], got[40];
    oct_model_free(m);
    oct_context_free(ctx);
    int halved = 0;
    for (long at = 1; at < 400 && !halved; at++) {
        ctx = NULL;
        m = NULL;
        CU_ASSERT_EQUAL_FATAL(oct_context_create("cpu", &ctx), OCT_OK);
        CU_ASSERT_EQUAL_FATAL(oct_model_load(ctx, MODEL, &m), OCT_OK);
        if (at == 1) CU_ASSERT_EQUAL_FATAL(oct_model_forward(m, xs, 4, 9, 7, clean, NULL, NULL), OCT_OK);
        oct_model_free(m);
        CU_ASSERT_EQUAL_FATAL(oct_model_load(ctx, MODEL, &m), OCT_OK);
        oct_debug_fail_at(at);
        oct_status s = oct_model_forward(m, xs, 4, 9, 7, got, NULL, NULL);
        long calls = oct_debug_fault_calls();
        oct_debug_fail_at(0);
        if (s == OCT_OK && oct_model_last_chunk(m) < 4) {
            halved = 1;
            CU_ASSERT_EQUAL(compare_floats("halved logits", clean, got, 40, TOL_ABS, TOL_REL), 0);
        }
        oct_model_free(m);
        oct_context_free(ctx);
        if (calls < at) break; /* the pass no longer reaches call `at` */
    }
    CU_ASSERT(halved);
    free(xs);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/octcl_safety_XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    for (int i = 0; i < BIG; i++) g_big[i] = (float)i * 0.25f - 7.0f;
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("outputs", NULL, NULL);
    CU_add_test(s, "a failed write keeps the old file, leaves no temporary", test_write_failure_keeps_old);
    CU_add_test(s, "SIGTERM / SIGINT mid-write: old file intact, temporary removed", test_signal_mid_write);
    CU_add_test(s, "modes: umask for new files, the old mode when overwriting", test_modes);
    CU_add_test(s, "devices, FIFOs, links, folders: never removed", test_special_targets);
    CU_add_test(s, "two writers of one path: one whole file", test_two_writers);
    CU_add_test(s, "oct_file_write", test_file_write);
    s = CU_add_suite("inputs", NULL, NULL);
    CU_add_test(s, "readers fstat first: devices, FIFOs, folders, caps, private files", test_readers_fstat_first);
    s = CU_add_suite("gemm", NULL, NULL);
    CU_add_test(s, "every kernel against double sums, with canaries", test_gemm);
    s = CU_add_suite("models", NULL, NULL);
    CU_add_test(s, "non-finite after folding / normalisation / in logits", test_non_finite);
    CU_add_test(s, "lenient parsing closed", test_lenient_closed);
    CU_add_test(s, "sizes before work; a CPU pass out of memory runs in halves", test_sizes_and_halving);
    int rc = run_cunit();
    rmdir(g_dir);
    return rc;
}
