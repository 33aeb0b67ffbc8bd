/* test_soak.c — a long run: many forward passes over changing batch sizes on one
 * model. Resident memory and live OpenCL objects must stay flat, and every pass must
 * give bit-identical logits to the first pass at the same batch size.
 * Usage: test_soak [DEVICE] [PASSES]   (default: opencl when present else cpu, 10000) */
#include "octcl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kib;
}

#define MAXB 5
#define H 8
#define W 8

int main(int argc, char **argv)
{
    const char *spec = argc > 1 && argv[1][0] ? argv[1] : NULL;
    long passes = argc > 2 ? strtol(argv[2], NULL, 10) : 10000;
    char chosen[32] = "cpu";
    if (!spec) {
        oct_device_info d;
        int n = 0;
        oct_list_devices(&d, 1, &n);
        if (n > 0) snprintf(chosen, sizeof chosen, "opencl:%d:%d", d.platform_index, d.device_index);
        spec = chosen;
    }
    oct_context *ctx = NULL;
    oct_model *m = NULL;
    if (oct_context_create(spec, &ctx) != OCT_OK || oct_model_create_random(ctx, 3, 10, 0.5, 3, &m) != OCT_OK) {
        printf("soak: cannot start on %s: %s\n", spec, oct_last_error());
        return 1;
    }
    static float x[MAXB * 3 * H * W], first[MAXB + 1][MAXB * 10], got[MAXB * 10];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (float)((i * 7919) % 401) / 100.0f - 2.0f;
    long rss_start = 0, cl_start = 0, mismatches = 0, failures = 0;
    for (long p = 0; p < passes; p++) {
        int b = 1 + (int)((p * 3 + p / 7) % MAXB); /* batch sizes change every pass */
        if (oct_model_forward(m, x, b, H, W, got, NULL, NULL) != OCT_OK) {
            if (failures++ < 3) printf("soak: pass %ld failed: %s\n", p, oct_last_error());
            continue;
        }
        if (p < 2 * MAXB) {
            if (first[b][0] == 0 && first[b][1] == 0) memcpy(first[b], got, sizeof got);
        } else if (memcmp(first[b], got, (size_t)b * 10 * sizeof(float)) != 0) {
            mismatches++;
        }
        if (p == 2 * MAXB) { /* after warm-up: every size seen, buffers at their peak */
            rss_start = rss_kib();
            cl_start = oct_debug_live_cl_objects();
        }
    }
    long rss_end = rss_kib(), cl_end = oct_debug_live_cl_objects();
    printf("soak on %s: %ld passes, batch 1..%d at %dx%d\n", spec, passes, MAXB, H, W);
    printf("  resident memory: %ld KiB after warm-up, %ld KiB at the end (%+ld KiB)\n", rss_start, rss_end,
           rss_end - rss_start);
    printf("  live OpenCL objects: %ld after warm-up, %ld at the end\n", cl_start, cl_end);
    printf("  passes not bit-identical to the first of their batch size: %ld; failed passes: %ld\n", mismatches,
           failures);
    oct_model_free(m);
    oct_context_free(ctx);
    long cl_freed = oct_debug_live_cl_objects();
    printf("  live OpenCL objects after the context was freed: %ld\n", cl_freed);
    /* Flat: no more than 1 MiB of growth over the run (allocator noise), same objects. */
    int ok = mismatches == 0 && failures == 0 && cl_end == cl_start && cl_freed == 0 && rss_end - rss_start <= 1024;
    printf("%d passed, %d failed\n", ok, !ok);
    return ok ? 0 : 1;
}
