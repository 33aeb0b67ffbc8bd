/* io_image.h — the image decoders' parse-from-memory core (PNG through libpng, JPEG
 * through libjpeg-turbo) and the resampler, for tests and fuzzers; the public calls are
 * oct_image_* in octcl.h.
 */
#ifndef OCT_IO_IMAGE_H
#define OCT_IO_IMAGE_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

/* Largest side and pixel count an image may have. */
#define OCT__IMAGE_MAX_SIDE 32768
#define OCT__IMAGE_MAX_PIXELS ((size_t)1 << 28)
/* Largest image file read. */
#define OCT__IMAGE_MAX_FILE ((size_t)1 << 30)

/* Decode PNG or JPEG bytes (by signature); `name` appears in messages only. */
oct_status oct__image_decode(const uint8_t *bytes, size_t len, const char *name, oct_image *out);

/* Resize interleaved 8-bit (h, w, c) to (oh, ow, c) with PIL's bilinear filter (support
 * widened by the downscale factor, fixed-point weights, 8-bit between the horizontal and
 * vertical passes), so that the pixels equal Image.resize(..., Image.BILINEAR). */
oct_status oct__image_resize(const uint8_t *in, int h, int w, int c, uint8_t *out, int oh, int ow);

#endif /* OCT_IO_IMAGE_H */
