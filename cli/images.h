/* images.h — `octcl classify --images DIR` and `octcl run --images DIR`: PNG and JPEG
 * files through the library's decoder and the model's preprocessing (images.c).
 */
#ifndef OCTCL_CLI_IMAGES_H
#define OCTCL_CLI_IMAGES_H

#include "cli_common.h"

typedef struct {
    const char *dir;        /* --images DIR */
    int batch;              /* images per forward pass */
    int top_k;              /* classes per file without labels */
    int json;
    int strict;             /* a file that does not decode is fatal */
    int raw;                /* no mean/std: x = p / 255 */
    int resize;             /* -1: the model's default */
    int crop_h, crop_w;     /* -1: the model's default */
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
 * classes. Files that do not decode are reported by name and counted. */
int cli_images_classify(oct_model *model, const oct_model_info *mi, const oct_device_info *di,
                        const char *model_path, const cli_images_options *o);

/* run --images: every image under DIR (sorted, recursively) as one batch x (N, C, H, W);
 * the files, in row order, are listed on stderr. */
int cli_images_batch(const oct_model *model, const oct_model_info *mi, const cli_images_options *o, oct_array *x);

#endif /* OCTCL_CLI_IMAGES_H */
