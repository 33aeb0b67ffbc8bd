/* device_host.c — the registry's hooks of the two host backends: "cpu" (also auto's
 * fallback) and "ref". They have one device each: this machine. */
#include "backend_cpu.h"
#include "backend_ref.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void oct__host_describe(oct_backend be, oct_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->backend = be;
    info->platform_index = info->device_index = -1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (be == OCT_BACKEND_REF)
        snprintf(info->name, sizeof info->name, "reference (plain loops, double accumulation)");
    else
        snprintf(info->name, sizeof info->name, "native CPU (%ld cores)", cores);
    snprintf(info->driver, sizeof info->driver, "octcl %s", OCTCL_VERSION);
}

/* "name" exactly: the host backends take no device numbers. */
static oct_status oct__host_parse(const char *spec, const char *name)
{
    if (strcmp(spec, name) != 0)
        return oct__fail(OCT_ERR_BAD_DEVICE_SPEC, "device \"%s\" not understood: \"%s\" takes no device numbers", spec,
                         name);
    return OCT_OK;
}

oct_status oct__cpu_parse(const char *spec) { return oct__host_parse(spec, "cpu"); }
oct_status oct__ref_parse(const char *spec) { return oct__host_parse(spec, "ref"); }

oct_status oct__cpu_choose(const char *spec, oct__choice *out)
{
    OCT__TRY(oct__cpu_parse(spec));
    oct__host_describe(OCT_BACKEND_CPU, &out->info);
    snprintf(out->info.reason, sizeof out->info.reason, "requested \"cpu\"");
    return OCT_OK;
}

int oct__cpu_auto_pick(oct__choice *out, char *why, size_t why_len)
{
    (void)why, (void)why_len;
    oct__host_describe(OCT_BACKEND_CPU, &out->info);
    snprintf(out->info.reason, sizeof out->info.reason, "using the native CPU path");
    return 1;
}

oct_status oct__ref_choose(const char *spec, oct__choice *out)
{
    OCT__TRY(oct__ref_parse(spec));
    oct__host_describe(OCT_BACKEND_REF, &out->info);
    snprintf(out->info.reason, sizeof out->info.reason, "requested \"ref\"");
    return OCT_OK;
}
