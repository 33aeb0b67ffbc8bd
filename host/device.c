/* device.c — creating contexts from a device spec ("auto" or a backend's own forms) and
 * listing devices, all through the backend registry (registry.c): no backend is named
 * here. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The list of spec forms for messages: "auto, opencl, opencl:P:D, cpu or ref". */
static void oct__forms(char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "auto");
    for (int i = 0; i < oct__backend_count && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i + 1 == oct__backend_count ? " or " : ", ",
                              oct__backends[i].forms);
}

/* The entry for a spec other than "auto", its form checked. */
static oct_status oct__entry(const char *spec, const oct__backend_entry **out)
{
    const oct__backend_entry *e = oct__backend_find(spec);
    *out = e;
    if (!e) {
        char forms[160];
        oct__forms(forms, sizeof forms);
        return oct__fail(OCT_ERR_BAD_DEVICE_SPEC, "device \"%s\" not understood: use %s", spec, forms);
    }
    return e->parse(spec);
}

oct_status oct_device_spec_check(const char *spec)
{
    if (!spec) return oct__fail(OCT_ERR_NULL_ARG, "oct_device_spec_check: spec is NULL");
    if (strcmp(spec, "auto") == 0) return OCT_OK;
    const oct__backend_entry *e;
    return oct__entry(spec, &e);
}

oct_status oct__device_identify(const char *spec, oct_device_info *info, int *known)
{
    *known = 0;
    if (strcmp(spec, "auto") == 0) return OCT_OK;
    const oct__backend_entry *e;
    oct__choice c;
    memset(&c, 0, sizeof c);
    OCT__TRY(oct__entry(spec, &e));
    OCT__TRY(e->choose(spec, &c));
    *info = c.info;
    *known = 1;
    return OCT_OK;
}

/* Bind ctx to entry e's choice and start the backend. */
static oct_status oct__start(oct_context *ctx, const oct__backend_entry *e, const oct__choice *c)
{
    if (!e->ops)
        return oct__fail(OCT_ERR_NO_OPENCL, "device \"%s\": %s is not built into this octcl", e->name, e->name);
    ctx->info = c->info;
    ctx->be = e->ops;
    ctx->device[0] = c->device[0];
    ctx->device[1] = c->device[1];
    ctx->state = NULL;
    return ctx->be->init(ctx);
}

/* "auto": the first entry (in registry order) whose auto_pick offers a device and whose
 * backend starts; each one passed over says why in the reason. */
static oct_status oct__auto(oct_context *ctx)
{
    char why[300] = "";
    size_t o = 0;
    oct_status s = OCT_ERR_NO_DEVICE;
    for (int i = 0; i < oct__backend_count; i++) {
        const oct__backend_entry *e = &oct__backends[i];
        oct__choice c;
        char no[200] = "";
        memset(&c, 0, sizeof c);
        if (!e->auto_pick) continue;
        if (!e->auto_pick(&c, no, sizeof no)) {
            if (o < sizeof why) o += (size_t)snprintf(why + o, sizeof why - o, "%s; ", no);
            continue;
        }
        char phrase[sizeof c.info.reason];
        snprintf(phrase, sizeof phrase, "%s", c.info.reason);
        snprintf(c.info.reason, sizeof c.info.reason, "auto: %.*s%.100s", (int)(o < sizeof why ? o : sizeof why), why,
                 phrase);
        s = oct__start(ctx, e, &c);
        if (s == OCT_OK) return OCT_OK;
        if (s == OCT_ERR_HOST_MEMORY) return s;
        /* A device that cannot run (no program builds, no context): the next entry, and
         * the reason says why. */
        char msg[160];
        snprintf(msg, sizeof msg, "%s", oct_last_error());
        if (c.info.platform_index >= 0)
            o += (size_t)snprintf(why + o, o < sizeof why ? sizeof why - o : 0, "%s %.32s (%d:%d) unusable: %.140s; ",
                                  c.info.is_gpu ? "GPU" : "device", c.info.name, c.info.platform_index,
                                  c.info.device_index, msg);
        else
            o += (size_t)snprintf(why + o, o < sizeof why ? sizeof why - o : 0, "%.32s unusable: %.140s; ",
                                  c.info.name, msg);
        ctx->be = NULL;
    }
    return s;
}

oct_status oct_context_create(const char *device, oct_context **out)
{
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "oct_context_create: out is NULL");
    *out = NULL;
    const char *spec = device;
    if (!spec) {
        spec = getenv("OCTCL_DEVICE");
        if (!spec || !*spec) spec = "auto";
    }
    const oct__backend_entry *e = NULL;
    oct__choice c;
    memset(&c, 0, sizeof c);
    if (strcmp(spec, "auto") != 0) {
        OCT__TRY(oct__entry(spec, &e));
        OCT__TRY(e->choose(spec, &c));
    }
    oct_context *ctx = oct__calloc(1, sizeof *ctx);
    if (!ctx) return oct__fail(OCT_ERR_HOST_MEMORY, "oct_context_create: out of host memory");
    oct_status s = e ? oct__start(ctx, e, &c) : oct__auto(ctx);
    if (s != OCT_OK) {
        free(ctx);
        return s;
    }
    *out = ctx;
    return OCT_OK;
}

void oct_context_free(oct_context *ctx)
{
    if (!ctx) return;
    ctx->be->release(ctx);
    free(ctx);
}

oct_status oct_context_info(const oct_context *ctx, oct_device_info *out)
{
    if (!ctx || !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_context_info: %s is NULL", !ctx ? "context" : "out");
    *out = ctx->info;
    return OCT_OK;
}

oct_status oct_context_finish(oct_context *ctx)
{
    if (!ctx) return oct__fail(OCT_ERR_NULL_ARG, "oct_context_finish: context is NULL");
    return ctx->be->finish(ctx);
}

oct_status oct_list_devices(oct_device_info *out, int max, int *count)
{
    if (!count) return oct__fail(OCT_ERR_NULL_ARG, "oct_list_devices: count is NULL");
    if (max > 0 && !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_list_devices: out is NULL");
    char why[200] = "";
    int total = 0;
    for (int i = 0; i < oct__backend_count; i++) {
        const oct__backend_entry *e = &oct__backends[i];
        if (!e->list) continue;
        int room = max > total ? max - total : 0;
        int n = e->list(room ? out + total : NULL, room, why, sizeof why);
        if (n > 0) total += n;
    }
    *count = total;
    if (total == 0) {
        oct__fail(OCT_OK, "%s", why);
        return OCT_OK;
    }
    oct__clear_error();
    return OCT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Benchmark support                                                                      */

oct_status oct_context_profile(oct_context *ctx, int enable)
{
    if (!ctx) return oct__fail(OCT_ERR_NULL_ARG, "oct_context_profile: context is NULL");
    if (!ctx->be->profile) return oct__fail(OCT_ERR_UNSUPPORTED, "profiling is not available on %s", ctx->be->name);
    return ctx->be->profile(ctx, enable);
}

oct_status oct_context_device_ms(oct_context *ctx, double *ms)
{
    if (!ctx || !ms) return oct__fail(OCT_ERR_NULL_ARG, "oct_context_device_ms: %s is NULL", !ctx ? "context" : "ms");
    if (!ctx->be->device_ms) return oct__fail(OCT_ERR_UNSUPPORTED, "profiling is not available on %s", ctx->be->name);
    return ctx->be->device_ms(ctx, ms);
}

oct_status oct_context_peak_gflops(oct_context *ctx, double *gflops)
{
    if (!ctx || !gflops)
        return oct__fail(OCT_ERR_NULL_ARG, "oct_context_peak_gflops: %s is NULL", !ctx ? "context" : "gflops");
    if (!ctx->be->peak_gflops) return oct__fail(OCT_ERR_UNSUPPORTED, "no peak probe on %s", ctx->be->name);
    if (ctx->peak_gflops <= 0) OCT__TRY(ctx->be->peak_gflops(ctx, &ctx->peak_gflops));
    *gflops = ctx->peak_gflops;
    return OCT_OK;
}
