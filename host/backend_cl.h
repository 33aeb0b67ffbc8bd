/* backend_cl.h — the OpenCL backend's private declarations: its op table, its device
 * choice for the registry (device_cl.c), its program-cache probe, the one cl_int -> oct_status
 * mapping, and the on-disk program-binary cache (program_cache.c). Only the OpenCL
 * files, registry.c and tests of the OpenCL paths include it; OpenCL handles are void *
 * here, so it needs no OpenCL header. */
#ifndef OCT_BACKEND_CL_H
#define OCT_BACKEND_CL_H

#include "internal.h"

extern const oct__backend oct__backend_cl;

/* The registry's hooks (device_cl.c): "opencl" (the best device, GPUs first) and
 * "opencl:P:D"; auto's pick (the first GPU over all platforms); every device listed.
 * Built without OpenCL they find no platform (OCT_ERR_NO_OPENCL). */
oct_status oct__cl_parse(const char *spec);
oct_status oct__cl_choose(const char *spec, oct__choice *out);
int oct__cl_auto_pick(oct__choice *out, char *why, size_t why_len);
int oct__cl_list(oct_device_info *out, int max, char *why, size_t why_len);

/* A failed OpenCL call as a status, the one mapping every OpenCL file uses (err is a
 * cl_int; CL_SUCCESS from a call that returned no object is OCT_ERR_OPENCL):
 * CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES and
 * CL_INVALID_BUFFER_SIZE are out of device memory (a forward pass retries in halves),
 * CL_OUT_OF_HOST_MEMORY out of host memory, CL_BUILD_PROGRAM_FAILURE a build failure,
 * anything else OCT_ERR_OPENCL. */
oct_status oct__cl_status(int err);
/* fault.c's count of live OpenCL objects (contexts, queues, programs, kernels, buffers,
 * events), read by oct_debug_live_cl_objects. */
void oct__cl_object_created(void);
void oct__cl_object_released(void);
/* The cl_int an injected OpenCL failure returns (fault.c): CL_OUT_OF_HOST_MEMORY (-6)
 * unless a test chose another (CL_OUT_OF_RESOURCES: a launch the device cannot hold);
 * 0 restores the default. */
int oct__fault_cl_code(void);
void oct__fault_set_cl_code(int code);
/* The name of a cl_int error code ("CL_OUT_OF_RESOURCES"), or "unknown OpenCL error". */
const char *oct__cl_errstr(int err);

/* 1 when an OpenCL context's program came from the on-disk binary cache, 0 when it was
 * compiled from source, -1 for a context of another backend. */
int oct__cl_cache_hit(const oct_context *ctx);

/* The on-disk program-binary cache. A key is the text of (sources, build options,
 * platform, device, device version, driver version); the file is named by its 64-bit
 * FNV-1a hash and holds the whole key, which is compared on load. The folder is
 * $OCTCL_CACHE_DIR ("off" disables the cache), else $XDG_CACHE_HOME/octcl, else
 * $HOME/.cache/octcl. Nothing here ever fails a build: every problem is a miss.
 * OpenCL handles are passed as void * (cl_device_id, cl_context, cl_program). */
typedef struct oct__pcache oct__pcache;
/* NULL when the cache is off or the key cannot be made. */
oct__pcache *oct__pcache_open(void *device, const char *const *src, int nsrc, const char *options);
/* A program built from the cached binary, or NULL (missing, truncated, corrupt, other
 * key, CL_INVALID_BINARY, build failure). */
void *oct__pcache_load(oct__pcache *c, void *context);
/* Store a program built from source: a temp file in the folder renamed into place. */
void oct__pcache_store(oct__pcache *c, void *program);
/* The cache file's path ("" when c is NULL). */
const char *oct__pcache_path(const oct__pcache *c);
void oct__pcache_close(oct__pcache *c);

#endif /* OCT_BACKEND_CL_H */
