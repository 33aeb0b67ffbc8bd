/* images.h — `octcl classify --images DIR` and `octcl run --images DIR`: PNG and JPEG
 * files through the library's decoder and the model's preprocessing (images.c).
 */
#ifndef OCTCL_CLI_IMAGES_H
#define OCTCL_CLI_IMAGES_H

#include "cli_common.h"
#include "mpi_shard.h"

typedef struct {
    const char *dir;        /* --images DIR */
    int batch;              /* images per forward pass */
    int top_k;              /* classes per file without labels */
    int json;
    int strict;             /* a file that does not decode is fatal */
    int raw;                /* no mean/std: x = p / 255 */
    int resize;             /* -1: the model's default */
    int crop_h, crop_w;     /* -1: the model's default */
    int chunk;              /* files per MPI rank and round (0: the command's default) */
    int say;                /* set inside: this rank prints (rank 0) */
    int say_device;         /* classify: say the device on stderr (cli_say_device) unless the
                               accuracy report names it */
} cli_images_options;

/* Defaults: batch 64, top 3, the model's preprocessing. */
void cli_images_defaults(cli_images_options *o);

/* The preprocessing for the model (its declared input size, if any, and `mi`) with the
 * options' overrides; one line on stderr says what it is ("preprocessing: grey, resize
 * 28, crop 28x28, mean 0.286 std 0.353"). */
int cli_images_prep(const oct_model *model, const oct_model_info *mi, const cli_images_options *o,
                    oct_image_prep *p);

/* classify --images: with sub-folders (ImageFolder: sorted folder names are classes 0,
 * 1, ...) the accuracy report; without, one line (or JSON entry) per file with its top-k
 * classes. Files that do not decode are reported by name and counted. Streamed: rounds
 * of o->chunk files per rank (default 4 batches), each rank decoding and classifying only
 * its block; rank 0 gathers each file's verdict and top classes and alone prints, in file
 * order. A collective under MPI: every rank calls it; rank 0 alone returns the report's
 * failure (no images), so the caller agrees on the result. */
int cli_images_classify(const cli_mpi *m, oct_model *model, const oct_model_info *mi, const oct_device_info *di,
                        const char *model_path, const cli_images_options *o);

/* run --images: every image under DIR (sorted, recursively) is a row of x (N, C, H, W).
 * Open lists the folder and checks which files decode (sharded over the ranks in rounds
 * of o->chunk files, default 256; rank 0 names the skipped ones in order, then lists the
 * rows on stderr), keeping the rows this rank preprocesses up to 128 MiB; read copies
 * rows [first, first + count) into dst from there, or decodes and preprocesses those it
 * does not hold, so memory is bounded, not by the folder, and a file within the 128 MiB
 * is decoded once. A collective under MPI (open): every rank calls it after an
 * agreement that all succeeded. */
typedef struct cli_image_rows cli_image_rows;
int cli_image_rows_open(const cli_mpi *m, const oct_model *model, const oct_model_info *mi,
                        const cli_images_options *o, cli_image_rows **out, int64_t shape[4]);
int cli_image_rows_read(cli_image_rows *r, int64_t first, int64_t count, float *dst);
void cli_image_rows_free(cli_image_rows *r);

#endif /* OCTCL_CLI_IMAGES_H */
