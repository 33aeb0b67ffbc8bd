/* octcl.h — Octave Convolution (OctConv) on any OpenCL device, with CPU paths.
 *
 * The public API: a context bound to one device, band tensors living on it, the
 * OctConv layer, split / merge, and the OctNetMini model. Every fallible call returns
 * an oct_status; objects come back through out-parameters; oct_*_free(NULL) does
 * nothing. On failure oct_last_error() holds a one-line message naming the value at
 * fault (per thread). The library never aborts, exits or prints.
 */
#ifndef OCTCL_H
#define OCTCL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one place the version is set: CMake reads it for the project, the shared
 * library's version (soname liboctcl.so.MAJOR), octcl.pc, the CMake package and the
 * Debian package. */
#define OCTCL_VERSION "0.2.0"

/* ------------------------------------------------------------------------------------ */
/* Status codes                                                                          */

typedef enum {
    OCT_OK = 0,
    OCT_ERR_NULL_ARG,         /* a required pointer or handle is NULL */
    OCT_ERR_BAD_ALPHA,        /* alpha outside [0, 1] or NaN */
    OCT_ERR_BAD_SIZE,         /* a size, channel count, kernel, stride or padding out of range */
    OCT_ERR_KERNEL_TOO_LARGE, /* kernel larger than the padded input of some path */
    OCT_ERR_SHAPE_MISMATCH,   /* a tensor's shape disagrees with the layer or another tensor */
    OCT_ERR_CONTEXT_MISMATCH, /* handles belong to different contexts */
    OCT_ERR_BAD_DEVICE_SPEC,  /* device string not understood */
    OCT_ERR_NO_DEVICE,        /* the requested device does not exist */
    OCT_ERR_NO_OPENCL,        /* OpenCL asked for but no platform is available */
    OCT_ERR_OPENCL,           /* an OpenCL call failed */
    OCT_ERR_BUILD,            /* an OpenCL program failed to build */
    OCT_ERR_CLBLAST,          /* a CLBlast call failed */
    OCT_ERR_HOST_MEMORY,      /* a host allocation of the library's own failed */
    OCT_ERR_DEVICE_MEMORY,    /* the backend's memory ran out (device memory; for cpu and ref
                                 the host memory holding tensors and scratch) */
    OCT_ERR_IO,               /* a file could not be opened, read or written */
    OCT_ERR_FORMAT,           /* a file is malformed (safetensors, .npy, IDX) */
    OCT_ERR_MODEL,            /* a model file's tensors are missing, extra or mis-shaped */
    OCT_ERR_NOT_READY,        /* an object used before it was complete (e.g. no weights) */
    OCT_ERR_UNSUPPORTED,      /* an op, attribute value or feature octcl (or this backend) does not have */
    OCT_STATUS_COUNT
} oct_status;

/* A fixed English explanation of a status code. Never NULL. */
const char *oct_status_string(oct_status s);

/* The message of the last failure on this thread ("" if none). */
const char *oct_last_error(void);

/* ------------------------------------------------------------------------------------ */
/* Devices and contexts                                                                   */

typedef enum {
    OCT_BACKEND_REF = 0, /* the reference: plain loops, double accumulation */
    OCT_BACKEND_CPU,     /* the native CPU path */
    OCT_BACKEND_OPENCL   /* an OpenCL device */
} oct_backend;

typedef struct {
    oct_backend backend;
    int platform_index;   /* OpenCL indices, -1 for the CPU paths */
    int device_index;
    int is_gpu;
    char name[256];       /* device name */
    char platform[256];   /* platform name ("" for the CPU paths) */
    char driver[128];     /* driver version */
    char reason[256];     /* why this device was chosen */
} oct_device_info;

/* The name of a backend as device specs spell it: "ref", "cpu", "opencl" ("unknown" for
 * a value that is none of them). */
const char *oct_backend_name(oct_backend b);

typedef struct oct_context oct_context;

/* Create a context. `device` is one of:
 *   "auto"        first GPU over all OpenCL platforms, else the native CPU path
 *   "opencl"      best OpenCL device of any type (GPUs first, then CPU devices)
 *   "opencl:P:D"  platform P, device D (indices as `octcl info` lists them)
 *   "cpu"         the native CPU path
 *   "ref"         the reference path
 * NULL means $OCTCL_DEVICE, or "auto" when that is unset or empty. */
oct_status oct_context_create(const char *device, oct_context **out);
/* OCT_OK when `spec` is a device spec oct_context_create understands (it opens no
 * device, so the device may still not exist), else OCT_ERR_BAD_DEVICE_SPEC with the
 * reason in oct_last_error(). */
oct_status oct_device_spec_check(const char *spec);
void oct_context_free(oct_context *ctx);
/* Which device the context runs on and why. */
oct_status oct_context_info(const oct_context *ctx, oct_device_info *out);
/* Wait until all queued work has finished. */
oct_status oct_context_finish(oct_context *ctx);

/* Device-time accounting for benchmarks. While enabled, the context sums the device
 * time of every kernel it runs (OpenCL profiling events; wall time of the ops on the
 * CPU paths). oct_context_device_ms waits for queued work and returns the total since
 * profiling was last enabled. */
oct_status oct_context_profile(oct_context *ctx, int enable);
oct_status oct_context_device_ms(oct_context *ctx, double *ms);
/* Multiply-adds the context's convolutions and linear layers have executed since it was
 * made: the model's MACs on direct paths, fewer where a fast algorithm gives the same
 * result with fewer (the CPU backend's Winograd F(2x2, 3x3): 16 per 2x2 outputs and
 * channel pair against 36). *macs is -1 where the backend does not count (ref, OpenCL). */
oct_status oct_context_macs_executed(const oct_context *ctx, long long *macs);
/* Peak FP32 rate of the context's device in GFLOP/s, measured once by a built-in
 * fused-multiply-add probe (a few tens of milliseconds) and then remembered. On the host
 * backends the probe runs on the host threads the context runs its ops on (`cpu`: its
 * threads, at most the online cores; `ref`: one), so a one-thread context gets one
 * core's peak. */
oct_status oct_context_peak_gflops(oct_context *ctx, double *gflops);

/* Every OpenCL device found (in platform, device order). *count is the number found,
 * of which min(*count, max) are written. A missing OpenCL runtime gives count 0 and
 * OCT_OK; the reason is in oct_last_error(). */
oct_status oct_list_devices(oct_device_info *out, int max, int *count);

/* ------------------------------------------------------------------------------------ */
/* Band tensors                                                                           */

/* The shape of a band tensor: high band (n, c_h, h, w), low band (n, c_l, hl, wl).
 * Either band may have zero channels (it is then absent and holds no memory).
 * A plain NCHW tensor is a band tensor with c_l = 0. */
typedef struct {
    int n, c_h, h, w;
    int c_l, hl, wl;
} oct_shape;

/* The canonical band shape: low band at (⌊h/2⌋, ⌊w/2⌋). */
oct_shape oct_shape_bands(int n, int c_h, int c_l, int h, int w);
/* A plain tensor (n, c, h, w). */
oct_shape oct_shape_plain(int n, int c, int h, int w);
/* Number of floats in the high and low bands. */
size_t oct_shape_high_count(const oct_shape *s);
size_t oct_shape_low_count(const oct_shape *s);

typedef struct oct_tensor oct_tensor;

oct_status oct_tensor_create(oct_context *ctx, const oct_shape *shape, oct_tensor **out);
void oct_tensor_free(oct_tensor *t);
oct_status oct_tensor_shape(const oct_tensor *t, oct_shape *out);
/* Copy host data in / out. `high` holds oct_shape_high_count floats (NCHW), `low`
 * oct_shape_low_count; a pointer may be NULL only for a band with zero channels. */
oct_status oct_tensor_write(oct_tensor *t, const float *high, const float *low);
oct_status oct_tensor_read(const oct_tensor *t, float *high, float *low);

/* ------------------------------------------------------------------------------------ */
/* Channel split                                                                          */

/* Low-band channels for c channels at alpha: int(round(c * alpha)) with Python's
 * round (halves to even). Returns -1 for c < 0 or alpha outside [0, 1] / NaN. */
int oct_low_channels(int c, double alpha);

/* ------------------------------------------------------------------------------------ */
/* The OctConv layer                                                                      */

typedef struct {
    int cin, cout;
    int kernel_size, stride, padding;
    double alpha_in, alpha_out;
    int bias;              /* nonzero: each of the four path convolutions has a bias */
} oct_octconv_params;

/* The seed's defaults: kernel 3, stride 1, padding 1, alpha 0.5 / 0.5, no bias. */
oct_octconv_params oct_octconv_defaults(int cin, int cout);

typedef struct oct_octconv oct_octconv;

/* The four paths; a path exists when both its bands have channels. */
typedef enum { OCT_PATH_HH = 0, OCT_PATH_HL, OCT_PATH_LL, OCT_PATH_LH, OCT_PATH_COUNT } oct_path;

oct_status oct_octconv_create(oct_context *ctx, const oct_octconv_params *p, oct_octconv **out);
void oct_octconv_free(oct_octconv *layer);
/* Channel split of the layer: cin_h, cin_l, cout_h, cout_l (any pointer may be NULL). */
oct_status oct_octconv_channels(const oct_octconv *layer, int *cin_h, int *cin_l,
                                int *cout_h, int *cout_l);
/* Whether a path exists (both its bands have channels). */
int oct_octconv_has_path(const oct_octconv *layer, oct_path path);
/* Set the weights of one path: weight (cout_x, cin_y, k, k) as PyTorch stores it,
 * bias (cout_x) or NULL (required when the layer has bias). Setting an absent path is
 * OCT_ERR_SHAPE_MISMATCH. All existing paths must be set before forward. */
oct_status oct_octconv_set_path(oct_octconv *layer, oct_path path, const float *weight,
                                size_t weight_count, const float *bias, size_t bias_count);
/* The output shape for an input shape; checks every size rule. */
oct_status oct_octconv_output_shape(const oct_octconv *layer, const oct_shape *in, oct_shape *out);
/* y = OctConv(x). x must have the layer's input split and its low band at
 * (⌊h/2⌋, ⌊w/2⌋) when both bands exist; y must have exactly oct_octconv_output_shape(x). */
oct_status oct_octconv_forward(oct_octconv *layer, const oct_tensor *x, oct_tensor *y);

/* ------------------------------------------------------------------------------------ */
/* Split / merge between one tensor and two bands (the seed's SplitMergeHL)               */

/* The split of a plain (n, c, h, w) at alpha: (n, c - c_l, h, w) + (n, c_l, ⌊h/2⌋, ⌊w/2⌋). */
oct_status oct_split_shape(const oct_shape *in, double alpha, oct_shape *out);
/* y = split(x): the first c - c_l channels as high, the rest average-pooled as low. */
oct_status oct_split(oct_context *ctx, const oct_tensor *x, double alpha, oct_tensor *y);
/* The merge of bands: a plain (n, c_h + c_l, h, w). */
oct_status oct_merge_shape(const oct_shape *in, oct_shape *out);
/* y = merge(x): high, then low nearest-resized to (h, w), concatenated on channels. */
oct_status oct_merge(oct_context *ctx, const oct_tensor *x, oct_tensor *y);


/* ------------------------------------------------------------------------------------ */
/* OctNetMini: stem conv + BN + ReLU, split, two OctConv blocks, merge, GAP, linear       */

typedef struct oct_model oct_model;

typedef struct {
    int in_channels, num_classes;
    double alpha;               /* as given, or as read off the tensor shapes */
    int stem_channels;          /* 64 */
    int c_l[3];                 /* low channels after split, b1 and b2 */
    int c_h[3];                 /* high channels after split, b1 and b2 */
    long long parameters;       /* trainable parameters of the PyTorch model */
    int has_norm;               /* preprocessing metadata present */
    double mean, std;           /* x = (pixel / 255 - mean) / std */
} oct_model_info;

/* Load a safetensors file holding the seed's OctNetMini state_dict (BatchNorm folded
 * into the preceding convolutions on load), or an ONNX file (see "Any network" below);
 * the two are told apart by the file's content. */
oct_status oct_model_load(oct_context *ctx, const char *path, oct_model **out);
/* Build a model with deterministic weights from a seed. */
oct_status oct_model_create_random(oct_context *ctx, int in_channels, int num_classes,
                                   double alpha, uint64_t seed, oct_model **out);
void oct_model_free(oct_model *m);
oct_status oct_model_info_get(const oct_model *m, oct_model_info *out);

/* Called after each stage of the forward pass with the seed's label ("Stem out",
 * "Split x_h", ..., "Logits") and the shape; for a band that is absent rank is 0. */
typedef void (*oct_trace_fn)(void *user, const char *label, int rank, const int *dims);

/* logits (n, num_classes) = model(x (n, in_channels, h, w)). */
oct_status oct_model_forward(oct_model *m, const float *x, int n, int h, int w,
                             float *logits, oct_trace_fn trace, void *user);

/* Limit the device memory a forward pass may hold for activations (0: no limit). A
 * larger batch runs in chunks that fit, with the same logits as one pass; a limit too
 * small for one image is OCT_ERR_DEVICE_MEMORY. Without a limit, a pass that runs out of
 * device memory (OCT_ERR_DEVICE_MEMORY, on every backend) is retried in halves. */
oct_status oct_model_set_memory_limit(oct_model *m, size_t bytes);
/* Images per pass in the last oct_model_forward (the chunk size). */
int oct_model_last_chunk(const oct_model *m);

/* Multiply-accumulates of one image of size h x w (the same count the benchmarks use). */
long long oct_model_macs(const oct_model *m, int h, int w);
/* Bytes of device memory the forward pass holds for activations at (n, h, w). */
size_t oct_model_activation_bytes(const oct_model *m, int n, int h, int w);

/* ------------------------------------------------------------------------------------ */
/* Any network: models from ONNX                                                          */
/*
 * oct_model_load also reads ONNX files written by torch.onnx.export (opsets 1 to 18),
 * told apart from safetensors by their content. Such a model is a graph of nodes; the
 * calls above work on it (oct_model_forward writes the output (n, F) with F the
 * product of the output's dims after the batch; oct_model_info_get gives in_channels,
 * num_classes = F, parameters, and alpha = -1). An op or attribute value octcl does not
 * run is OCT_ERR_UNSUPPORTED, naming the node, the op and the value. The calls below
 * work on every model, OctNetMini included.
 */

/* A model input or output. */
typedef struct {
    char name[128];
    int rank;          /* 4: (N, C, H, W); 2: (N, F) */
    int64_t dims[4];   /* dims[0] = -1 (the batch is free); -1 also for a size that is free
                          (OctNetMini's H and W); rank 2 sets dims[2], dims[3] to 1 */
} oct_model_tensor;

/* Number of inputs and outputs (one each for every model octcl loads). */
oct_status oct_model_io(const oct_model *m, int *ninputs, int *noutputs);
/* Input / output i as the file declares it (an ONNX model's H and W are the exported
 * size; other sizes run where every node's shape rule allows them). */
oct_status oct_model_input(const oct_model *m, int i, oct_model_tensor *out);
oct_status oct_model_output(const oct_model *m, int i, oct_model_tensor *out);
/* The output shape for an input (n, in_channels, h, w); checks every node's shape rule
 * (OCT_ERR_SHAPE_MISMATCH / OCT_ERR_BAD_SIZE naming the node otherwise). The output
 * buffer of oct_model_forward holds n * dims[1] * dims[2] * dims[3] floats: for a model
 * whose output is a feature map that depends on h and w. */
oct_status oct_model_output_shape(oct_model *m, int n, int h, int w, oct_model_tensor *out);
/* Trainable parameters of the source model (BatchNorm running statistics excluded). */
long long oct_model_parameters(const oct_model *m);
/* The shape trace of a pass at (n, h, w) without running it (OctNetMini runs one pass
 * on zeros): one call per node output, label "name (Kind)". */
oct_status oct_model_trace(oct_model *m, int n, int h, int w, oct_trace_fn trace, void *user);

/* The layers a model runs, in order, with the source nodes fused into each. */
typedef struct {
    char kind[32];     /* "Conv 3x3" (kernel), "OctConv 2 hl" (layer, path), "Pool", "Add", ... */
    char name[128];    /* the source node it came from (the first one when fused) */
    char fused[1024];  /* "BatchNormalization bn1, Relu relu1" folded into it; "" if none */
    long long macs;    /* multiply-accumulates per image at the declared input size */
} oct_model_layer;
/* Number of layers (OctNetMini's too: its graph). */
int oct_model_layer_count(const oct_model *m);
oct_status oct_model_layer_get(const oct_model *m, int i, oct_model_layer *out);
/* One forward pass exactly as oct_model_forward runs it (the same logits, bit for bit,
 * and the same chunks under oct_model_set_memory_limit) that also writes the wall time
 * of layer i (the layers of oct_model_layer_get, in order) into layer_seconds[i] for
 * 0 <= i < oct_model_layer_count(m), summed over the pass's chunks. The device is
 * finished (waited for) after every layer so each time is that layer's work alone: the
 * sum may exceed a plain pass's time by that synchronisation. Writing the input and
 * reading the logits belong to no layer. Two OctConv convolutions run as one op share
 * its time by their MACs. Errors as oct_model_forward's; OCT_ERR_UNSUPPORTED for a model
 * without layers; layer_seconds is unspecified after an error. */
oct_status oct_model_profile(oct_model *m, const float *x, int n, int h, int w, float *logits,
                             double *layer_seconds);
/* The host threads the model's context runs its ops on, the calling thread counted: the
 * cpu backend's (OCTCL_THREADS, else one a core); 1 on ref and OpenCL. */
int oct_model_threads(const oct_model *m);
/* oct_model_profile that also writes how long each of those threads was busy in each
 * layer: thread_seconds[i * oct_model_threads(m) + t] for layer i and thread t (0: the
 * calling thread). The calling thread is busy for the layer's wall time less its waits
 * at the ends of the layer's ops for the other threads to finish their shares; another
 * thread is busy while it runs its shares (the rest of the layer it waits for work). So
 * each is at most the layer's time, and their mean over it is how well the layer kept the
 * threads at work. Summed over chunks and shared by a pair's convolutions as
 * layer_seconds; with one thread (ref, OpenCL), thread_seconds[i] is layer i's time.
 * Errors as oct_model_profile's; thread_seconds NULL is OCT_ERR_NULL_ARG. */
oct_status oct_model_profile_threads(oct_model *m, const float *x, int n, int h, int w, float *logits,
                                     double *layer_seconds, double *thread_seconds);
/* The multiply-adds the model's backend executes in each layer of one pass exactly as
 * oct_model_forward runs it (the same logits, chunks and groups): macs_executed[i] for
 * layer i of oct_model_layer_get, batch included, summed over the pass's chunks. A layer
 * run as written (direct, GEMM) executes the model's count; one that Winograd serves,
 * fewer. The same counts oct_context_macs_executed adds up; two OctConv convolutions run
 * as one op share theirs by their MACs, as oct_model_profile shares a time. -1 for every
 * layer on a backend that does not count them (ref, OpenCL). Errors as
 * oct_model_profile's (macs_executed NULL: OCT_ERR_NULL_ARG); macs_executed is
 * unspecified after an error. */
oct_status oct_model_layer_macs_executed(oct_model *m, const float *x, int n, int h, int w, float *logits,
                                         long long *macs_executed);

/* ------------------------------------------------------------------------------------ */
/* Device sets: one model on several devices of this host at once                         */
/*
 * A device set holds one model on each of several devices. Every device has its own
 * context (its own program cache and tuned parameters, as oct_context_create makes them),
 * its own copy of the model and one worker thread. oct_devset_forward cuts the batch
 * into chunks of images, which the workers take from one shared queue as they finish
 * their last, so a fast device takes more chunks than a slow one; outputs are written in
 * input order. A row's outputs are what its device gives for that image in a pass of its
 * own: no backend's result for an image depends on the other images of its pass (the
 * tests check this bit for bit on ref, cpu and OpenCL).
 *
 * A device whose pass fails (any status: lost, out of memory, ...) hands its chunk back to
 * the queue, where another device takes it, and is dropped for the rest of the set's life;
 * the program hears of it through an OCT_EVENT_DEVICE_DROPPED event (the library never
 * prints). A pass fails only when no device is left: with the last failing device's
 * status, and oct_last_error() naming that device and its error.
 *
 * One oct_devset_forward runs at a time per set (calls on one set are serialised); the
 * set's models must not be run directly meanwhile.
 */

typedef struct oct_devset oct_devset;

/* Make a set from `devices`, a comma list of the device strings oct_context_create takes
 * ("opencl:0:0,opencl:1:0,cpu"; a single item makes a set of one), or "all": every
 * OpenCL device plus the native CPU path "cpu". "all" leaves out "ref", the reference
 * (plain loops, slow: an oracle, not a worker), which a list may still name; "all" may
 * also be one item of a list ("all,ref"). NULL means $OCTCL_DEVICE, else "auto". An empty
 * item, an item oct_context_create does not understand, or two items that name the same
 * device are OCT_ERR_BAD_DEVICE_SPEC naming the item; a device that does not exist is
 * OCT_ERR_NO_DEVICE. Every device loads `model_path` as oct_model_load does. */
oct_status oct_devset_create(const char *devices, const char *model_path, oct_devset **out);
/* The same with oct_model_create_random's OctNetMini on every device. */
oct_status oct_devset_create_random(const char *devices, int in_channels, int num_classes, double alpha,
                                    uint64_t seed, oct_devset **out);
/* Stop the workers, free every model and context; NULL does nothing. */
void oct_devset_free(oct_devset *s);

/* Devices the set was made with, dropped ones included (0 for NULL). */
int oct_devset_count(const oct_devset *s);
/* Device i (0 <= i < count), in the order the list named them. */
oct_status oct_devset_device(const oct_devset *s, int i, oct_device_info *out);
/* Device i's model (NULL when i is out of range): for queries (oct_model_info_get,
 * oct_model_output_shape, ...) and per-device settings (oct_model_set_memory_limit). */
oct_model *oct_devset_model(oct_devset *s, int i);

/* Images per chunk; 0 (the default) chooses per pass: ceil(n / (4 x devices left)),
 * at most 256, so every device gets several chunks and a slow device's last chunk is a
 * small part of the pass. */
oct_status oct_devset_set_chunk(oct_devset *s, int images);

/* out (n, F) = model(x (n, C, h, w)) over the set's devices, F as oct_model_forward
 * gives it (oct_model_output_shape). device_of (n ints, or NULL) receives the index of
 * the device that computed each image. */
oct_status oct_devset_forward(oct_devset *s, const float *x, int n, int h, int w, float *out, int *device_of);

/* What a device did since the set was made or oct_devset_reset_stats. */
typedef struct {
    char device[64];      /* the list item that named it ("opencl:0:0", "cpu"); totals: "all" */
    int active;           /* 1 while it takes chunks, 0 once dropped; totals: devices left */
    long long images;     /* images it computed (a chunk it handed back does not count) */
    long long chunks;     /* chunks it computed */
    double seconds;       /* wall time of its passes; totals: of the oct_devset_forward calls */
    oct_status error;     /* why it was dropped (OCT_OK while active) */
    char message[256];    /* that failure's oct_last_error() ("" while active) */
} oct_devset_stats;
/* Device i's statistics, or the set's totals for i = -1 (images / seconds is then the
 * set's throughput, and images / seconds of a device its own). */
oct_status oct_devset_stats_get(const oct_devset *s, int i, oct_devset_stats *out);
/* Zero the images, chunks and seconds (not which devices are dropped). */
void oct_devset_reset_stats(oct_devset *s);

/* ------------------------------------------------------------------------------------ */
/* Files                                                                                  */

#define OCT_MAX_DIMS 8

/* A float32 C-order array read from or written to .npy. */
typedef struct {
    float *data;
    int ndim;
    int64_t shape[OCT_MAX_DIMS];
} oct_array;

size_t oct_array_count(const oct_array *a);
void oct_array_release(oct_array *a);   /* frees data, zeroes the struct */
/* Read a .npy file: float32 ('<f4'), C order only; anything else is OCT_ERR_FORMAT. */
oct_status oct_npy_load(const char *path, oct_array *out);
oct_status oct_npy_save(const char *path, const float *data, int ndim, const int64_t *shape);

/* An IDX file (Fashion-MNIST), gzip'd or not: unsigned bytes, dims as stored. */
typedef struct {
    uint8_t *data;
    int ndim;
    int64_t shape[4];
} oct_idx;

/* Read an IDX file of unsigned bytes; magic, dims and length are checked. */
oct_status oct_idx_load(const char *path, oct_idx *out);
void oct_idx_release(oct_idx *a);

/* Streaming: rows of a file larger than memory, and a .npy written piece by piece. A
 * row is one index of the first dimension. The readers check the header and the file's
 * size (a gzip'd IDX file: its end, when the last row is read) as the loaders do; reads
 * are bounded by the declared shape, and a file that shrinks while being read is an
 * error, never a short result. */
typedef struct oct_npy_reader oct_npy_reader;
oct_status oct_npy_reader_open(const char *path, oct_npy_reader **out);
/* The rank (>= 1) and shape (the unused dims 0). */
int oct_npy_reader_shape(const oct_npy_reader *r, int64_t shape[OCT_MAX_DIMS]);
/* Rows [first, first + rows) into dst (rows * product(shape[1:]) floats). */
oct_status oct_npy_reader_read(oct_npy_reader *r, int64_t first, int64_t rows, float *dst);
void oct_npy_reader_close(oct_npy_reader *r);

typedef struct oct_idx_reader oct_idx_reader;
oct_status oct_idx_reader_open(const char *path, oct_idx_reader **out);
int oct_idx_reader_shape(const oct_idx_reader *r, int64_t shape[4]);
/* Rows [first, first + rows) into dst (rows * product(shape[1:]) bytes); reading forward
 * is cheap, going back in a gzip'd file decompresses it again from the start. */
oct_status oct_idx_reader_read(oct_idx_reader *r, int64_t first, int64_t rows, uint8_t *dst);
void oct_idx_reader_close(oct_idx_reader *r);

/* A .npy of the given shape written as data comes: into a temporary beside path, renamed
 * into place by commit only when exactly product(shape) elements were written (the same
 * atomic rules as oct_file_write); abort, or any failure, leaves path untouched. Commit
 * and abort free the writer. */
typedef struct oct_npy_writer oct_npy_writer;
oct_status oct_npy_writer_open(const char *path, int ndim, const int64_t *shape, oct_npy_writer **out);
oct_status oct_npy_writer_write(oct_npy_writer *w, const float *data, size_t count);
oct_status oct_npy_writer_commit(oct_npy_writer *w);
void oct_npy_writer_abort(oct_npy_writer *w);

/* Write len bytes to path as one atomic replacement: a temporary file in the same folder,
 * fsync'd and renamed into place, so readers see the old file or the new one, never a
 * part; on failure the old file is intact and no temporary is left. A target that is not
 * a regular file (/dev/null, a FIFO, /dev/stdout) is written in place and never removed.
 * oct_npy_save writes the same way. */
oct_status oct_file_write(const char *path, const void *bytes, size_t len);
/* Remove the temporaries of the writes in progress in this process. Async-signal-safe:
 * call it from a SIGINT / SIGTERM handler, then re-raise the signal. */
void oct_file_abandon_pending(void);

/* Why this process refused the on-disk OpenCL program cache (whose folder
 * oct_program_cache_dir gives): a folder or entry owned by another user or writable by
 * group or others, or not a regular file, so it ran uncached; "" when it did not (always
 * "" in a build without OpenCL). The library does not print it: programs may. */
const char *oct_cache_warning(void);

/* ------------------------------------------------------------------------------------ */
/* Images: PNG and JPEG in, preprocessed as torchvision's ImageFolder pipelines           */

/* Decoded pixels, 8 bits per sample. */
typedef struct {
    uint8_t *data;      /* (h, w, channels) interleaved */
    int h, w;
    int channels;       /* 1: grey, 3: RGB */
} oct_image;

/* Decode a PNG (libpng) or JPEG (libjpeg-turbo) file, told apart by its first bytes: grey
 * stays grey, everything else becomes RGB; alpha is dropped, palettes expanded, 16-bit
 * samples cut to their high byte (as PIL reads RGB). A corrupt or truncated file is
 * OCT_ERR_FORMAT naming the file and what the decoder said (a truncated JPEG too, which
 * libjpeg itself would pad with grey); anything else is OCT_ERR_FORMAT as well. */
oct_status oct_image_load(const char *path, oct_image *out);
oct_status oct_image_decode(const void *data, size_t len, oct_image *out);
void oct_image_release(oct_image *img);   /* frees data, zeroes the struct */

/* What turns an image into a model input x (channels, h, w):
 *   1. channels: RGB -> grey with PIL's convert("L") luma, grey -> RGB by copying;
 *   2. resize so the shorter side is `resize` and the longer int(resize * long / short)
 *      (torchvision's Resize(int)) with PIL's antialiased bilinear filter (0: no resize);
 *   3. centre crop crop_h x crop_w (torchvision's CenterCrop; 0: no crop);
 *   4. x = (p / 255 - mean[c]) / std[c]. */
typedef struct {
    int channels;
    int resize;
    int crop_h, crop_w;
    double mean[3], std[3];
} oct_image_prep;

/* The preprocessing for a model: 1 channel: grey, resize 28, crop 28x28 (Fashion-MNIST);
 * 3 channels: RGB, resize 256, crop 224x224 (ImageNet). mean/std: the file's
 * preprocessing metadata when it has some, else ImageNet's (0.485, 0.456, 0.406) /
 * (0.229, 0.224, 0.225) for 3 channels and 0 / 1 for 1. Other channel counts are
 * OCT_ERR_SHAPE_MISMATCH. */
oct_status oct_image_prep_default(const oct_model_info *mi, oct_image_prep *out);
/* The same for a model whose file declares its input size h x w (0, 0: any size, as
 * above): crop h x w; resize 256 for 224x224 RGB models, else the crop's shorter side. */
oct_status oct_image_prep_for_input(const oct_model_info *mi, int h, int w, oct_image_prep *out);
/* The (h, w) of x for this image. */
oct_status oct_image_prep_shape(const oct_image_prep *p, const oct_image *img, int *h, int *w);
/* x (p->channels, h, w) = preprocess(img); count must be exactly that many floats. */
oct_status oct_image_preprocess(const oct_image *img, const oct_image_prep *p, float *x, size_t count);

/* ------------------------------------------------------------------------------------ */
/* Device details, the program cache, events                                              */

/* What an OpenCL device offers (`octcl info`). */
typedef struct {
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;     /* largest single buffer */
    uint64_t local_mem_bytes;
    int compute_units;
    int max_clock_mhz;
    char opencl_version[128];     /* CL_DEVICE_VERSION, e.g. "OpenCL 3.0 PoCL ..." */
    char opencl_c_version[128];   /* CL_DEVICE_OPENCL_C_VERSION */
    int fp16, fp64;               /* half / double precision supported */
} oct_device_caps;

/* The device `octcl info` and oct_list_devices call platform_index:device_index. A
 * missing device is OCT_ERR_NO_DEVICE; no OpenCL (or a build without it) OCT_ERR_NO_OPENCL. */
oct_status oct_device_caps_get(int platform_index, int device_index, oct_device_caps *out);

/* The folder of the on-disk OpenCL program cache: $OCTCL_CACHE_DIR ("off" or "0" turns
 * the cache off), else $XDG_CACHE_HOME/octcl (absolute paths only), else
 * $HOME/.cache/octcl. *enabled is 0 (and buf "") when there is no cache; *why (may be
 * NULL) names the rule that decided, as static text. */
oct_status oct_program_cache_dir(char *buf, size_t len, int *enabled, const char **why);

/* Slow one-off work the library tells a program about (the library never prints). */
typedef enum {
    OCT_EVENT_BUILD_START = 0, /* an OpenCL program is being compiled from source (seconds) */
    OCT_EVENT_BUILD_DONE,      /* ... and has been built */
    OCT_EVENT_DEVICE_DROPPED   /* a device of a device set failed a pass and was dropped
                                  (see oct_devset_forward; `message` says why) */
} oct_event_kind;

typedef struct {
    oct_event_kind kind;
    const char *device;   /* the device's name */
    int cached;           /* the build is (START: will be) stored in the on-disk cache */
    double seconds;       /* DONE: how long the build took */
    const char *message;  /* DEVICE_DROPPED: one line naming the device, its error and what
                             became of its chunk; NULL for the other kinds */
} oct_event;

typedef void (*oct_event_fn)(void *user, const oct_event *e);
/* One callback for the whole process (NULL: none), called on the thread doing the work
 * (inside oct_context_create for program builds; on a device set's worker thread for
 * DEVICE_DROPPED, so the callback must be thread-safe when device sets are used). */
void oct_set_event_callback(oct_event_fn fn, void *user);

/* ------------------------------------------------------------------------------------ */
/* Per-device tuning                                                                      */
/*
 * `octcl tune` (oct_tune) times the variants of a device's tunable parameters (OpenCL:
 * the implicit-GEMM tile sets that fit the device; cpu: band, column and chunk sizes, the
 * SGEMM blocks and micro-kernel) on a model's forward pass, checks each against the
 * reference backend, and stores the winner in a JSON file beside the program cache
 * (oct_program_cache_dir; "off" stores nothing), one per OpenCL device + driver or per
 * CPU model + ISA + threads. Contexts made later load it; a file that is corrupt,
 * truncated or of another device is ignored, and oct_context_tuning says why. With
 * $OCTCL_TUNE=1 a context whose device has no usable file tunes it first (OctNetMini,
 * one 32x32 image: seconds on cpu, a program build per tile set on OpenCL).
 */

/* How ctx's tunable parameters were chosen: *tuned 1 when a tuning file's winners run,
 * else 0; text (may be NULL) gets "tuned (FILE, DATE): PARAMS" or "default (REASON):
 * PARAMS" (or "forced (...)" under $OCTCL_GEMM_TILES). */
oct_status oct_context_tuning(const oct_context *ctx, int *tuned, char *text, size_t len);

typedef void (*oct_tune_fn)(void *user, const char *line);

typedef struct {
    const char *device;   /* as oct_context_create (NULL: $OCTCL_DEVICE, else auto); not ref */
    const char *model;    /* a model file (safetensors or ONNX); NULL: OctNetMini, alpha 0.5,
                             random weights */
    const int *shapes;    /* nshapes inputs (n, h, w) to time, their times summed; NULL / 0:
                             one image at the model's declared size (32x32 when free) */
    int nshapes;          /* 0..16 */
    int repeat;           /* timed passes per shape and variant, the minimum kept (0: 10) */
    int max_variants;     /* variants timed at most, the default first (0: all) */
    oct_tune_fn progress; /* one line per variant (NULL: silent) */
    void *user;
} oct_tune_params;

/* Tune p->device and store the winner; file (may be NULL) gets the file's path. Not
 * thread-safe against cpu contexts in use: the SGEMM's blocks are process-wide. */
oct_status oct_tune(const oct_tune_params *p, char *file, size_t file_len);

/* ------------------------------------------------------------------------------------ */
/* Testing aids                                                                           */

/* Make the Nth fallible host allocation or OpenCL call from now on fail (counted over
 * the whole process); 0 turns injection off. The environment variable OCTCL_FAULT_AT=N
 * does the same from the start. Not for production use.
 * Device sets: OCTCL_FAULT_DEVSET="D:K[,D:K...]", read when a set is made, makes device
 * D of the set (its index in the list) fail its K-th chunk (counted from 1 over the set's
 * life) with OCT_ERR_DEVICE_MEMORY after the pass has scribbled NaN over the chunk's
 * outputs, as a device lost mid-pass would; K = 0 never. Until every such device has
 * taken its K-th chunk, the devices with no fault to come take none, so the fault
 * happens however the threads are scheduled. */
void oct_debug_fail_at(long n);
/* Fallible calls counted since the last oct_debug_fail_at. */
long oct_debug_fault_calls(void);
/* OpenCL objects octcl holds now, over all contexts (0 once every context is freed). */
long oct_debug_live_cl_objects(void);

#ifdef __cplusplus
}
#endif
#endif /* OCTCL_H */
