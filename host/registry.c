/* registry.c — the backends octcl has, one line each: the name a device spec starts
 * with, the public enum value, the op table, and the hooks that choose a device.
 * device.c (oct_context_create, "auto", oct_list_devices) and the CLI (through
 * oct_backend_name and oct_device_spec_check) read this table; nothing else names a
 * backend. To add a backend: write its backend_X.c / backend_X.h (op table filled by
 * label, choose hook), add its value to oct_backend in octcl.h, and one line here. */
#include "backend_cl.h"
#include "backend_cpu.h"
#include "backend_ref.h"

#include <string.h>

/* "auto" asks the entries with an auto_pick in this order: an OpenCL GPU, else the
 * native CPU. */
const oct__backend_entry oct__backends[] = {
    {"opencl", OCT_BACKEND_OPENCL,
#if OCTCL_HAVE_OPENCL
     &oct__backend_cl,
#else
     NULL, /* not built: choose says so */
#endif
     "opencl, opencl:P:D", oct__cl_parse, oct__cl_choose, oct__cl_auto_pick, oct__cl_list},
    {"cpu", OCT_BACKEND_CPU, &oct__backend_cpu, "cpu", oct__cpu_parse, oct__cpu_choose, oct__cpu_auto_pick, NULL},
    {"ref", OCT_BACKEND_REF, &oct__backend_ref, "ref", oct__ref_parse, oct__ref_choose, NULL, NULL},
};
const int oct__backend_count = (int)(sizeof oct__backends / sizeof oct__backends[0]);

const oct__backend_entry *oct__backend_find(const char *spec)
{
    if (!spec) return NULL;
    size_t len = strcspn(spec, ":");
    for (int i = 0; i < oct__backend_count; i++)
        if (strlen(oct__backends[i].name) == len && strncmp(spec, oct__backends[i].name, len) == 0)
            return &oct__backends[i];
    return NULL;
}

const oct__backend_entry *oct__backend_of(oct_backend id)
{
    for (int i = 0; i < oct__backend_count; i++)
        if (oct__backends[i].id == id) return &oct__backends[i];
    return NULL;
}

const char *oct_backend_name(oct_backend b)
{
    const oct__backend_entry *e = oct__backend_of(b);
    return e ? e->name : "unknown";
}
