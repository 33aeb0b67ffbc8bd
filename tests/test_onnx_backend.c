/* test_onnx_backend.c — ONNX's own backend test models (Debian's libonnx-testdata:
 * node/, pytorch-converted/, pytorch-operator/, simple/) through the importer and the
 * graph on every device. A model either loads and matches its expected output
 * (|got - want| <= 1e-4 + 1e-4 |want|, the tolerance of every float32 comparison here),
 * or is refused at load with a one-line error; a wrong answer or a crash fails.
 * usage: test_onnx_backend [DATA_DIR] [-v]   (exit 77 when DATA_DIR is missing)
 */
#include "graph/graph.h"
#include "onnx/onnx.h"
#include "onnx/onnx_import.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TESTS 2048

typedef struct {
    int passed, refused, failed;
} tally;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* One test directory on one context: 1 passed, 0 refused, -1 failed. */
static int run_one(oct_context *ctx, const char *dir, char *why, size_t len)
{
    char path[4200];
    oct__graph *g = NULL;
    oct__onnx_tensor in = {0}, want = {0};
    float *got = NULL;
    int rc = 0;
    snprintf(path, sizeof path, "%.4000s/model.onnx", dir);
    oct_status s = oct__onnx_load(ctx, path, &g);
    if (s != OCT_OK) {
        snprintf(why, len, "%s", oct_last_error());
        return 0;
    }
    snprintf(path, sizeof path, "%.4000s/test_data_set_0/input_0.pb", dir);
    if (oct__onnx_read_tensor(path, &in) != OCT_OK || !in.f) {
        snprintf(why, len, "input_0.pb: %s", oct_last_error());
        goto done;
    }
    snprintf(path, sizeof path, "%.4000s/test_data_set_0/output_0.pb", dir);
    if (oct__onnx_read_tensor(path, &want) != OCT_OK || !want.f) {
        snprintf(why, len, "output_0.pb: %s", oct_last_error());
        goto done;
    }
    if (in.ndim != 4 || in.dims[1] != g->v[g->input].d.c) {
        snprintf(why, len, "input_0.pb is rank %d", in.ndim);
        goto done;
    }
    int n = (int)in.dims[0], h = (int)in.dims[2], w = (int)in.dims[3];
    oct_status ss = oct__graph_shapes(g, h, w);
    if (ss != OCT_OK) {
        snprintf(why, len, "%s", oct_last_error());
        goto done;
    }
    const oct__gdims *od = &g->v[g->output].d;
    size_t count = (size_t)n * od->c * od->h * od->w;
    if (count != want.count) {
        snprintf(why, len, "output has %zu values, expected %zu", count, want.count);
        rc = -1;
        goto done;
    }
    got = malloc(count * sizeof *got);
    if (!got || (s = oct__graph_forward(g, in.f, n, h, w, got, NULL, NULL)) != OCT_OK) {
        snprintf(why, len, "forward: %s", oct_last_error());
        rc = -1;
        goto done;
    }
    rc = 1;
    for (size_t i = 0; i < count; i++) {
        double e = fabs((double)got[i] - want.f[i]);
        if (!(e <= 1e-4 + 1e-4 * fabs((double)want.f[i]))) {
            snprintf(why, len, "output[%zu] = %.7g, expected %.7g", i, got[i], want.f[i]);
            rc = -1;
            break;
        }
    }
done:
    free(got);
    oct__onnx_tensor_release(&in);
    oct__onnx_tensor_release(&want);
    oct__graph_free(g);
    return rc;
}

int main(int argc, char **argv)
{
    const char *data = argc > 1 && argv[1][0] != '-' ? argv[1] : "/usr/share/libonnx-testdata/data";
    int verbose = argc > 1 && strcmp(argv[argc - 1], "-v") == 0;
    static const char *const groups[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
    const char *devices[10] = {"ref", "cpu"};
    char names[8][32];
    int ndev = 2, count = 0, failed = 0;
    oct_device_info d[8];
    if (oct_list_devices(d, 8, &count) == OCT_OK)
        for (int i = 0; i < count && i < 8; i++) {
            snprintf(names[i], sizeof names[i], "opencl:%d:%d", d[i].platform_index, d[i].device_index);
            devices[ndev++] = names[i];
        }
    DIR *probe = opendir(data);
    if (!probe) {
        printf("test_onnx_backend: %s is missing (libonnx-testdata); skipped\n", data);
        return 77;
    }
    closedir(probe);
    for (int dv = 0; dv < ndev; dv++) {
        oct_context *ctx = NULL;
        if (oct_context_create(devices[dv], &ctx) != OCT_OK) {
            printf("%s: %s\n", devices[dv], oct_last_error());
            return 1;
        }
        for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
            char dir[2100], why[600];
            snprintf(dir, sizeof dir, "%.2000s/%s", data, groups[gi]);
            DIR *dp = opendir(dir);
            if (!dp) continue;
            char *tests[MAX_TESTS];
            int nt = 0;
            for (struct dirent *e; (e = readdir(dp)) && nt < MAX_TESTS;)
                if (e->d_name[0] != '.') tests[nt++] = strdup(e->d_name);
            closedir(dp);
            qsort(tests, (size_t)nt, sizeof *tests, cmp_str);
            tally t = {0, 0, 0};
            for (int i = 0; i < nt; i++) {
                char path[4096];
                if (snprintf(path, sizeof path, "%.2000s/%.1000s", dir, tests[i]) >= (int)sizeof path) continue;
                why[0] = '\0';
                int r = run_one(ctx, path, why, sizeof why);
                if (r > 0) t.passed++;
                if (r == 0) t.refused++;
                if (r < 0) t.failed++;
                if (r < 0) printf("FAIL %s %s/%s: %s\n", devices[dv], groups[gi], tests[i], why);
                else if (verbose) printf("%s %s %s/%s%s%s\n", r ? "pass" : "refused", devices[dv], groups[gi], tests[i],
                                         r ? "" : ": ", why);
                free(tests[i]);
            }
            printf("%-12s %-18s %4d models: %4d pass, %4d refused at load, %d wrong\n", devices[dv], groups[gi], nt,
                   t.passed, t.refused, t.failed);
            failed += t.failed;
        }
        oct_context_free(ctx);
    }
    return failed ? 1 : 0;
}
