/* devset.c — `--device all` and device lists ("cpu,opencl:0:0") for run and classify: the
 * model on every named device as one oct_devset, behind the same oct_model handle the
 * subcommands use for one device. cli_forward runs a pass on the set when the model is
 * the set's, else on the model alone; the per-device report says who did what.
 * One set per process (a subcommand opens one model).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static oct_devset *g_set;   /* the subcommand's device set, NULL for one device */
static oct_model *g_model;  /* its device 0's model: the handle the subcommand holds */

int cli_device_is_set(const char *device)
{
    if (!device) {
        device = getenv("OCTCL_DEVICE");
        if (!device) return 0;
    }
    return strcmp(device, "all") == 0 || strchr(device, ',') != NULL;
}

int cli_devset_open(const char *cmd, const char *device, const char *model_path, const cli_random_model *rnd,
                    size_t max_mem, oct_model **model, oct_device_info *di)
{
    oct_status s = model_path ? oct_devset_create(device, model_path, &g_set)
                              : oct_devset_create_random(device, rnd->in_channels, rnd->classes, rnd->alpha, rnd->seed,
                                                         &g_set);
    if (s == OCT_ERR_BAD_DEVICE_SPEC) {
        const char *env = getenv("OCTCL_DEVICE");
        return cli_usage_error(cmd, "%s%s", oct_last_error(), !device && env && *env ? " (from $OCTCL_DEVICE)" : "");
    }
    if (s != OCT_OK) return cli_fail_status(s);
    int count = oct_devset_count(g_set);
    for (int i = 0; i < count; i++) {
        oct_device_info d;
        oct_devset_stats st;
        oct_devset_device(g_set, i, &d);
        oct_devset_stats_get(g_set, i, &st);
        fprintf(stderr, "device %d: %s = %s (%s)\n", i, st.device, d.name, d.reason);
        size_t limit = cli_memory_limit(&d, max_mem);
        if (limit && (s = oct_model_set_memory_limit(oct_devset_model(g_set, i), limit)) != OCT_OK) {
            cli_devset_close();
            return cli_fail_status(s);
        }
    }
    const char *warn = oct_cache_warning();
    if (warn && *warn) fprintf(stderr, "octcl: warning: %s\n", warn);
    g_model = oct_devset_model(g_set, 0);
    *model = g_model;
    /* The set as one device in the subcommands' reports; the devices are listed apart. */
    oct_devset_device(g_set, 0, di);
    snprintf(di->name, sizeof di->name, "device set of %d: %s", count, device ? device : getenv("OCTCL_DEVICE"));
    snprintf(di->reason, sizeof di->reason, "chunks from a shared queue, each device with its own context");
    return CLI_OK;
}

oct_devset *cli_devset(void) { return g_set; }

void cli_devset_close(void)
{
    oct_devset_free(g_set);
    g_set = NULL;
    g_model = NULL;
}

void cli_model_free(oct_model *model)
{
    if (model && model == g_model)
        cli_devset_close();
    else
        oct_model_free(model);
}

oct_status cli_forward(oct_model *model, const float *x, int n, int h, int w, float *out, oct_trace_fn trace,
                       void *user)
{
    if (!g_set || model != g_model) return oct_model_forward(model, x, n, h, w, out, trace, user);
    oct_status s = trace ? oct_model_trace(model, n, h, w, trace, user) : OCT_OK;
    if (s != OCT_OK) return s;
    return oct_devset_forward(g_set, x, n, h, w, out, NULL);
}

/* ------------------------------------------------------------------------------------ */
/* Reports                                                                               */

void cli_devset_print(FILE *f, const char *indent)
{
    if (!g_set) return;
    for (int i = 0; i < oct_devset_count(g_set); i++) {
        oct_device_info d;
        oct_devset_stats st;
        oct_devset_device(g_set, i, &d);
        oct_devset_stats_get(g_set, i, &st);
        fprintf(f, "%s%-12s %lld images in %.3f s", indent, st.device, st.images, st.seconds);
        if (st.seconds > 0) fprintf(f, ", %.1f images/s", st.images / st.seconds);
        fprintf(f, " (%s)%s%s\n", d.name, st.active ? "" : "; dropped: ", st.active ? "" : st.message);
    }
}

void cli_devset_json(FILE *f)
{
    if (!g_set) return;
    fprintf(f, ", \"devices\": [");
    for (int i = 0; i < oct_devset_count(g_set); i++) {
        oct_device_info d;
        oct_devset_stats st;
        oct_devset_device(g_set, i, &d);
        oct_devset_stats_get(g_set, i, &st);
        fprintf(f, "%s{\"device\": ", i ? ", " : "");
        cli_json_string(f, st.device);
        fprintf(f, ", \"name\": ");
        cli_json_string(f, d.name);
        fprintf(f, ", \"backend\": \"%s\", \"images\": %lld, \"chunks\": %lld, \"seconds\": %.6f, ",
                cli_backend_name(d.backend), st.images, st.chunks, st.seconds);
        if (st.seconds > 0)
            fprintf(f, "\"images_per_second\": %.3f, ", st.images / st.seconds);
        else
            fprintf(f, "\"images_per_second\": null, ");
        fprintf(f, "\"active\": %s, \"error\": ", st.active ? "true" : "false");
        if (st.active)
            fprintf(f, "null");
        else
            cli_json_string(f, st.message);
        fprintf(f, "}");
    }
    fprintf(f, "]");
}
