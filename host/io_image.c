/* io_image.c — PNG (libpng) and JPEG (libjpeg-turbo) files to 8-bit grey or RGB pixels,
 * and the preprocessing of torchvision's ImageFolder pipelines: channel conversion,
 * resize of the shorter side (PIL's bilinear filter, reproduced), centre crop, /255,
 * per-channel mean and std.
 *
 * Both decoders report errors through longjmp from their error callbacks; those
 * callbacks keep the message and never print. Warnings (a truncated JPEG is only a
 * warning to libjpeg, which pads the image with grey) fail the decode too: an image
 * that is not all there is an error, never silently-made pixels.
 */
#include "io.h"
#include "io_image.h"

#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* PNG                                                                                    */

typedef struct {
    const uint8_t *bytes;
    size_t len, pos;
    char msg[200];
    jmp_buf jump;
} oct__png_src;

static void oct__png_error(png_structp png, png_const_charp msg)
{
    oct__png_src *src = png_get_error_ptr(png);
    snprintf(src->msg, sizeof src->msg, "%s", msg);
    longjmp(src->jump, 1);
}

static void oct__png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* ancillary-chunk complaints (bad gAMA, iCCP, ...): the pixels are fine */
}

static void oct__png_read(png_structp png, png_bytep data, size_t n)
{
    oct__png_src *src = png_get_io_ptr(png);
    if (src->len - src->pos < n) png_error(png, "the file ends early (truncated)");
    memcpy(data, src->bytes + src->pos, n);
    src->pos += n;
}

static png_voidp oct__png_malloc(png_structp png, png_alloc_size_t n)
{
    (void)png;
    return oct__malloc(n); /* NULL makes libpng raise its out-of-memory error */
}

static void oct__png_free(png_structp png, png_voidp p)
{
    (void)png;
    free(p);
}

static oct_status oct__png_decode(const uint8_t *bytes, size_t len, const char *name, oct_image *out)
{
    oct__png_src src = {.bytes = bytes, .len = len};
    png_structp png = NULL;
    /* Changed after setjmp and read after a longjmp: volatile. */
    png_infop volatile info = NULL;
    uint8_t *volatile data = NULL;
    png_bytep *volatile rows = NULL;
    volatile oct_status s = OCT_OK;

    png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &src, oct__png_error, oct__png_warning, NULL,
                                   oct__png_malloc, oct__png_free);
    if (!png) return oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of memory starting the PNG decoder", name);
    if (setjmp(src.jump)) {
        s = strstr(src.msg, "memory") ? OCT_ERR_HOST_MEMORY : OCT_ERR_FORMAT;
        oct__fail(s, "%s: corrupt or truncated PNG: %s", name, src.msg);
        goto done;
    }
    png_infop made = png_create_info_struct(png);
    if (!made) png_error(png, "out of memory");
    info = made;
    png_set_read_fn(png, &src, oct__png_read);
    png_set_user_limits(png, OCT__IMAGE_MAX_SIDE, OCT__IMAGE_MAX_SIDE);
    png_read_info(png, info);

    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((size_t)w * h > OCT__IMAGE_MAX_PIXELS) {
        s = oct__fail(OCT_ERR_FORMAT, "%s: a PNG of %ux%u pixels is larger than %zu pixels", name, (unsigned)w,
                      (unsigned)h, OCT__IMAGE_MAX_PIXELS);
        goto done;
    }
    /* Palette -> RGB, grey below 8 bits -> 8, tRNS -> alpha; 16 bits -> the high byte
     * (as PIL reads 16-bit RGB); alpha dropped (as PIL's convert("RGB")). */
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    if (channels != 1 && channels != 3) png_error(png, "unexpected channel count after expansion");
    size_t stride = png_get_rowbytes(png, info);
    if (stride != (size_t)w * (size_t)channels) png_error(png, "unexpected row size after expansion");
    data = oct__malloc((size_t)h * stride);
    rows = oct__malloc((size_t)h * sizeof *rows);
    if (!data || !rows) {
        s = oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of host memory for a %ux%u image", name, (unsigned)w,
                      (unsigned)h);
        goto done;
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = data + (size_t)y * stride;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    out->data = data;
    out->h = (int)h;
    out->w = (int)w;
    out->channels = channels;
    data = NULL;
done:
    {
        png_infop last = info;
        png_destroy_read_struct(&png, last ? &last : NULL, NULL);
    }
    free(rows);
    free(data);
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* JPEG                                                                                   */

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    int warned;
} oct__jpeg_err;

static void oct__jpeg_error_exit(j_common_ptr cinfo)
{
    oct__jpeg_err *e = (oct__jpeg_err *)cinfo->err;
    cinfo->err->format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}

/* Level -1 is a warning ("Premature end of JPEG file", corrupt data): keep the first. */
static void oct__jpeg_emit(j_common_ptr cinfo, int level)
{
    oct__jpeg_err *e = (oct__jpeg_err *)cinfo->err;
    if (level < 0 && !e->warned) {
        e->warned = 1;
        cinfo->err->format_message(cinfo, e->msg);
    }
}

static void oct__jpeg_output(j_common_ptr cinfo) { (void)cinfo; }

static oct_status oct__jpeg_decode(const uint8_t *bytes, size_t len, const char *name, oct_image *out)
{
    struct jpeg_decompress_struct cinfo;
    oct__jpeg_err err;
    uint8_t *volatile data = NULL;
    volatile int started = 0;
    volatile oct_status s = OCT_OK;

    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = oct__jpeg_error_exit;
    err.mgr.emit_message = oct__jpeg_emit;
    err.mgr.output_message = oct__jpeg_output;
    if (setjmp(err.jump)) {
        s = strstr(err.msg, "memory") ? OCT_ERR_HOST_MEMORY : OCT_ERR_FORMAT;
        oct__fail(s, "%s: corrupt or truncated JPEG: %s", name, err.msg);
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    started = 1;
    jpeg_mem_src(&cinfo, bytes, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        s = oct__fail(OCT_ERR_FORMAT, "%s: CMYK JPEG images are not supported (grey or RGB only)", name);
        goto done;
    }
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    if (cinfo.image_width > OCT__IMAGE_MAX_SIDE || cinfo.image_height > OCT__IMAGE_MAX_SIDE ||
        (size_t)cinfo.image_width * cinfo.image_height > OCT__IMAGE_MAX_PIXELS) {
        s = oct__fail(OCT_ERR_FORMAT, "%s: a JPEG of %ux%u pixels is larger than allowed (%d a side, %zu pixels)",
                      name, (unsigned)cinfo.image_width, (unsigned)cinfo.image_height, OCT__IMAGE_MAX_SIDE,
                      OCT__IMAGE_MAX_PIXELS);
        goto done;
    }
    jpeg_start_decompress(&cinfo);
    int channels = cinfo.output_components;
    if (channels != 1 && channels != 3) {
        s = oct__fail(OCT_ERR_FORMAT, "%s: a JPEG with %d components after conversion", name, channels);
        goto done;
    }
    size_t stride = (size_t)cinfo.output_width * (size_t)channels;
    data = oct__malloc((size_t)cinfo.output_height * stride);
    if (!data) {
        s = oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of host memory for a %ux%u image", name,
                      (unsigned)cinfo.output_width, (unsigned)cinfo.output_height);
        goto done;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = data + (size_t)cinfo.output_scanline * stride;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) break;
    }
    if (!err.warned) jpeg_finish_decompress(&cinfo);
    if (err.warned) {
        s = oct__fail(OCT_ERR_FORMAT, "%s: corrupt or truncated JPEG: %s", name, err.msg);
        goto done;
    }
    out->data = data;
    out->h = (int)cinfo.output_height;
    out->w = (int)cinfo.output_width;
    out->channels = channels;
    data = NULL;
done:
    if (started) jpeg_destroy_decompress(&cinfo);
    free(data);
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* Files                                                                                  */

oct_status oct__image_decode(const uint8_t *bytes, size_t len, const char *name, oct_image *out)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "oct_image_decode: out is NULL");
    memset(out, 0, sizeof *out);
    if (!bytes && len) return oct__fail(OCT_ERR_NULL_ARG, "oct_image_decode: data is NULL");
    if (len >= 8 && memcmp(bytes, png_sig, 8) == 0) return oct__png_decode(bytes, len, name, out);
    if (len >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
        return oct__jpeg_decode(bytes, len, name, out);
    return oct__fail(OCT_ERR_FORMAT, "%s: not a PNG or JPEG image (%zu bytes, starts %02x %02x %02x %02x)", name,
                     len, len > 0 ? bytes[0] : 0, len > 1 ? bytes[1] : 0, len > 2 ? bytes[2] : 0,
                     len > 3 ? bytes[3] : 0);
}

oct_status oct_image_decode(const void *data, size_t len, oct_image *out)
{
    return oct__image_decode(data, len, "image", out);
}

oct_status oct_image_load(const char *path, oct_image *out)
{
    if (!out) return oct__fail(OCT_ERR_NULL_ARG, "oct_image_load: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "oct_image_load: path is NULL");
    uint8_t *bytes = NULL;
    size_t len = 0;
    OCT__TRY(oct__read_file(path, OCT__IMAGE_MAX_FILE, &bytes, &len));
    oct_status s = oct__image_decode(bytes, len, path, out);
    free(bytes);
    return s;
}

void oct_image_release(oct_image *img)
{
    if (!img) return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

/* ------------------------------------------------------------------------------------ */
/* PIL's bilinear resampling (Pillow's Resample.c, 8 bits per sample)                     */

#define OCT__PREC 22 /* PRECISION_BITS = 32 - 8 - 2 */

/* Per output pixel: the first input index, how many, and ksize fixed-point weights. */
typedef struct {
    int ksize;
    int *bounds; /* (out, 2) */
    int *k;      /* (out, ksize) */
} oct__coeffs;

static double oct__triangle(double x)
{
    if (x < 0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static oct_status oct__coeffs_make(int in_size, int out_size, oct__coeffs *c)
{
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale; /* the bilinear filter's support is 1 */
    int ksize = (int)ceil(support) * 2 + 1;
    double *w = oct__malloc((size_t)ksize * sizeof *w);
    c->ksize = ksize;
    c->bounds = oct__malloc((size_t)out_size * 2 * sizeof *c->bounds);
    c->k = oct__calloc((size_t)out_size * (size_t)ksize, sizeof *c->k);
    if (!w || !c->bounds || !c->k) {
        free(w);
        free(c->bounds);
        free(c->k);
        c->bounds = c->k = NULL;
        return oct__fail(OCT_ERR_HOST_MEMORY, "out of host memory for resize weights (%d -> %d)", in_size, out_size);
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = oct__triangle((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            c->k[(size_t)xx * ksize + x] = (int)(v < 0 ? -0.5 + v * (1 << OCT__PREC) : 0.5 + v * (1 << OCT__PREC));
        }
        c->bounds[2 * xx] = xmin;
        c->bounds[2 * xx + 1] = xmax;
    }
    free(w);
    return OCT_OK;
}

static uint8_t oct__clip8(int v)
{
    v >>= OCT__PREC;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

oct_status oct__image_resize(const uint8_t *in, int h, int w, int c, uint8_t *out, int oh, int ow)
{
    oct__coeffs hc = {0}, vc = {0};
    uint8_t *tmp = NULL;
    oct_status s = OCT_OK;
    if (h < 1 || w < 1 || oh < 1 || ow < 1 || c < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "resize %dx%d -> %dx%d: sizes must be >= 1", h, w, oh, ow);
    if ((s = oct__coeffs_make(w, ow, &hc)) != OCT_OK || (s = oct__coeffs_make(h, oh, &vc)) != OCT_OK) goto done;
    tmp = oct__malloc((size_t)h * (size_t)ow * (size_t)c);
    if (!tmp) {
        s = oct__fail(OCT_ERR_HOST_MEMORY, "out of host memory resizing %dx%d -> %dx%d", h, w, oh, ow);
        goto done;
    }
    /* Horizontal pass (h, w, c) -> (h, ow, c); PIL skips a pass whose size is unchanged. */
    if (ow == w) {
        memcpy(tmp, in, (size_t)h * (size_t)w * (size_t)c);
    } else {
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < ow; xx++) {
                int xmin = hc.bounds[2 * xx], xmax = hc.bounds[2 * xx + 1];
                const int *k = hc.k + (size_t)xx * hc.ksize;
                for (int ch = 0; ch < c; ch++) {
                    int ss = 1 << (OCT__PREC - 1);
                    for (int x = 0; x < xmax; x++) ss += in[((size_t)y * w + xmin + x) * c + ch] * k[x];
                    tmp[((size_t)y * ow + xx) * c + ch] = oct__clip8(ss);
                }
            }
    }
    /* Vertical pass (h, ow, c) -> (oh, ow, c). */
    if (oh == h) {
        memcpy(out, tmp, (size_t)h * (size_t)ow * (size_t)c);
    } else {
        for (int yy = 0; yy < oh; yy++) {
            int ymin = vc.bounds[2 * yy], ymax = vc.bounds[2 * yy + 1];
            const int *k = vc.k + (size_t)yy * vc.ksize;
            for (int xx = 0; xx < ow; xx++)
                for (int ch = 0; ch < c; ch++) {
                    int ss = 1 << (OCT__PREC - 1);
                    for (int y = 0; y < ymax; y++) ss += tmp[((size_t)(ymin + y) * ow + xx) * c + ch] * k[y];
                    out[((size_t)yy * ow + xx) * c + ch] = oct__clip8(ss);
                }
        }
    }
done:
    free(tmp);
    free(hc.bounds);
    free(hc.k);
    free(vc.bounds);
    free(vc.k);
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* Preprocessing                                                                          */

oct_status oct_image_prep_for_input(const oct_model_info *mi, int h, int w, oct_image_prep *out)
{
    static const double imagenet_mean[3] = {0.485, 0.456, 0.406}, imagenet_std[3] = {0.229, 0.224, 0.225};
    if (!mi || !out) return oct__fail(OCT_ERR_NULL_ARG, "oct_image_prep_for_input: %s is NULL", mi ? "out" : "info");
    memset(out, 0, sizeof *out);
    if (mi->in_channels != 1 && mi->in_channels != 3)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH,
                         "the model takes %d input channels; images give 1 (grey) or 3 (RGB)", mi->in_channels);
    if (h < 0 || w < 0 || h > OCT__IMAGE_MAX_SIDE || w > OCT__IMAGE_MAX_SIDE || (h == 0) != (w == 0))
        return oct__fail(OCT_ERR_BAD_SIZE, "oct_image_prep_for_input: declared input %dx%d (both 0, or 1..%d)", h, w,
                         OCT__IMAGE_MAX_SIDE);
    out->channels = mi->in_channels;
    if (h == 0) {
        /* Any size runs: Fashion-MNIST's 28x28 for grey models, ImageNet's 224x224 for RGB. */
        h = w = mi->in_channels == 1 ? 28 : 224;
    }
    out->crop_h = h;
    out->crop_w = w;
    /* ImageNet's 256 -> 224 for 224x224 RGB models; else the shorter side to the crop's. */
    out->resize = mi->in_channels == 3 && h == 224 && w == 224 ? 256 : h < w ? h : w;
    for (int c = 0; c < 3; c++) {
        if (mi->has_norm) {
            out->mean[c] = mi->mean;
            out->std[c] = mi->std;
        } else if (mi->in_channels == 3) {
            out->mean[c] = imagenet_mean[c];
            out->std[c] = imagenet_std[c];
        } else {
            out->mean[c] = 0.0;
            out->std[c] = 1.0;
        }
    }
    return OCT_OK;
}

oct_status oct_image_prep_default(const oct_model_info *mi, oct_image_prep *out)
{
    return oct_image_prep_for_input(mi, 0, 0, out);
}

oct_status oct_image_prep_shape(const oct_image_prep *p, const oct_image *img, int *h, int *w)
{
    if (!p || !img || !h || !w) return oct__fail(OCT_ERR_NULL_ARG, "oct_image_prep_shape: an argument is NULL");
    if (img->h < 1 || img->w < 1)
        return oct__fail(OCT_ERR_BAD_SIZE, "an image of %dx%d pixels is empty", img->h, img->w);
    if (p->resize < 0 || p->crop_h < 0 || p->crop_w < 0 || p->resize > OCT__IMAGE_MAX_SIDE ||
        p->crop_h > OCT__IMAGE_MAX_SIDE || p->crop_w > OCT__IMAGE_MAX_SIDE)
        return oct__fail(OCT_ERR_BAD_SIZE, "preprocessing sizes resize %d, crop %dx%d must be in 0..%d", p->resize,
                         p->crop_h, p->crop_w, OCT__IMAGE_MAX_SIDE);
    int rh = img->h, rw = img->w;
    if (p->resize) {
        /* torchvision: the shorter side becomes `resize`, the longer int(resize * long / short). */
        if (img->w <= img->h) {
            rw = p->resize;
            rh = (int)((long long)p->resize * img->h / img->w);
        } else {
            rh = p->resize;
            rw = (int)((long long)p->resize * img->w / img->h);
        }
        if (rh < 1) rh = 1;
        if (rw < 1) rw = 1;
        if (rh > OCT__IMAGE_MAX_SIDE || rw > OCT__IMAGE_MAX_SIDE)
            return oct__fail(OCT_ERR_BAD_SIZE, "resizing %dx%d to shorter side %d gives %dx%d, over %d a side",
                             img->h, img->w, p->resize, rh, rw, OCT__IMAGE_MAX_SIDE);
    }
    *h = p->crop_h ? p->crop_h : rh;
    *w = p->crop_w ? p->crop_w : rw;
    return OCT_OK;
}

/* Python's round(): halves to even. */
static int oct__round_even(double v)
{
    double r = floor(v + 0.5);
    if (r - v == 0.5 && fmod(r, 2.0) != 0.0) r -= 1.0;
    return (int)r;
}

oct_status oct_image_preprocess(const oct_image *img, const oct_image_prep *p, float *x, size_t count)
{
    uint8_t *conv = NULL, *sized = NULL;
    oct_status s = OCT_OK;
    int oh, ow;
    if (!img || !p || !x) return oct__fail(OCT_ERR_NULL_ARG, "oct_image_preprocess: an argument is NULL");
    if (!img->data || (img->channels != 1 && img->channels != 3))
        return oct__fail(OCT_ERR_BAD_SIZE, "oct_image_preprocess: image with %d channels (1 or 3)", img->channels);
    if (p->channels != 1 && p->channels != 3)
        return oct__fail(OCT_ERR_BAD_SIZE, "oct_image_preprocess: prep.channels %d (1 or 3)", p->channels);
    for (int c = 0; c < p->channels; c++)
        if (!(p->std[c] > 0.0) || !isfinite(p->mean[c]) || !isfinite(p->std[c]))
            return oct__fail(OCT_ERR_BAD_SIZE, "oct_image_preprocess: channel %d mean %g std %g (std must be > 0)", c,
                             p->mean[c], p->std[c]);
    OCT__TRY(oct_image_prep_shape(p, img, &oh, &ow));
    if (count != (size_t)p->channels * (size_t)oh * (size_t)ow)
        return oct__fail(OCT_ERR_SHAPE_MISMATCH, "oct_image_preprocess: x holds %zu floats; (%d, %d, %d) needs %zu",
                         count, p->channels, oh, ow, (size_t)p->channels * (size_t)oh * (size_t)ow);

    /* 1. Channels, as PIL's convert("L") (ITU-R 601-2 luma, fixed point) or ("RGB"). */
    int c = p->channels, h = img->h, w = img->w;
    size_t pixels = (size_t)h * (size_t)w;
    const uint8_t *src = img->data;
    if (img->channels != c) {
        conv = oct__malloc(pixels * (size_t)c);
        if (!conv) {
            s = oct__fail(OCT_ERR_HOST_MEMORY, "out of host memory converting a %dx%d image", h, w);
            goto done;
        }
        for (size_t i = 0; i < pixels; i++) {
            if (c == 1) {
                const uint8_t *rgb = img->data + 3 * i;
                conv[i] = (uint8_t)((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
            } else {
                conv[3 * i] = conv[3 * i + 1] = conv[3 * i + 2] = img->data[i];
            }
        }
        src = conv;
    }
    /* 2. Resize the shorter side. */
    int rh = h, rw = w;
    if (p->resize) {
        oct_image_prep no_crop = *p;
        no_crop.crop_h = no_crop.crop_w = 0;
        if ((s = oct_image_prep_shape(&no_crop, img, &rh, &rw)) != OCT_OK) goto done;
        if (rh != h || rw != w) {
            sized = oct__malloc((size_t)rh * (size_t)rw * (size_t)c);
            if (!sized) {
                s = oct__fail(OCT_ERR_HOST_MEMORY, "out of host memory resizing to %dx%d", rh, rw);
                goto done;
            }
            if ((s = oct__image_resize(src, h, w, c, sized, rh, rw)) != OCT_OK) goto done;
            src = sized;
        }
    }
    /* 3. Centre crop (torchvision: top = round((h - ch) / 2); a crop larger than the image pads
     * it with zeros, (ch - h) // 2 rows above),
     * 4. (p / 255 - mean) / std, channel-major. */
    int top = rh >= oh ? oct__round_even((rh - oh) / 2.0) : -((oh - rh) / 2);
    int left = rw >= ow ? oct__round_even((rw - ow) / 2.0) : -((ow - rw) / 2);
    for (int ch = 0; ch < c; ch++) {
        double mean = p->mean[ch], std = p->std[ch];
        float *plane = x + (size_t)ch * oh * ow;
        for (int y = 0; y < oh; y++)
            for (int xx = 0; xx < ow; xx++) {
                int sy = y + top, sx = xx + left;
                double v = sy >= 0 && sy < rh && sx >= 0 && sx < rw ? src[((size_t)sy * rw + sx) * c + ch] : 0;
                plane[(size_t)y * ow + xx] = (float)((v / 255.0 - mean) / std);
            }
    }
done:
    free(sized);
    free(conv);
    return s;
}
