/* test_image.c — the image decoders and preprocessing (host/io_image.c) without Python:
 * PNGs of every colour type and bit depth written here with libpng decode to the pixels
 * the rules give (grey stays grey, the rest RGB, alpha dropped, palette expanded, 16 bits
 * to the high byte, interlacing undone); JPEGs written with libjpeg come back close;
 * truncated, corrupt and foreign bytes are OCT_ERR_FORMAT naming the file; every failed
 * allocation is OCT_ERR_HOST_MEMORY; the resize keeps constant images constant and the
 * preprocessing follows torchvision's size, crop and padding rules.
 */
#include "io_image.h"
#include "octcl.h"
#include "testutil.h"

#include <CUnit/Basic.h>
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Writers (libpng, libjpeg) into memory                                                  */

typedef struct {
    uint8_t *b;
    size_t len, cap;
} membuf;

static void mem_write(png_structp png, png_bytep data, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->len + n > m->cap) {
        size_t cap = (m->len + n) * 2;
        uint8_t *b = realloc(m->b, cap);
        if (!b) png_error(png, "out of memory");
        m->b = b, m->cap = cap;
    }
    memcpy(m->b + m->len, data, n);
    m->len += n;
}
static void mem_flush(png_structp png) { (void)png; }

/* A PNG of `rows` (h rows of `rowbytes` bytes each, already in the file's layout). */
static membuf png_bytes(int w, int h, int depth, int color, int interlace, const uint8_t *rows, size_t rowbytes,
                        const png_color *palette, int npal, const png_byte *trns, int ntrns)
{
    membuf m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        free(m.b);
        m = (membuf){0};
        goto done;
    }
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, npal);
    if (trns) png_set_tRNS(png, info, trns, ntrns, NULL);
    png_write_info(png, info);
    for (int y = 0; y < h && interlace == PNG_INTERLACE_NONE; y++) png_write_row(png, rows + (size_t)y * rowbytes);
    if (interlace != PNG_INTERLACE_NONE) {
        png_bytep *rp = malloc((size_t)h * sizeof *rp);
        for (int y = 0; y < h; y++) rp[y] = (png_bytep)rows + (size_t)y * rowbytes;
        png_write_image(png, rp);
        free(rp);
    }
    png_write_end(png, NULL);
done:
    png_destroy_write_struct(&png, &info);
    return m;
}

static membuf jpeg_bytes(int w, int h, int channels, const uint8_t *px, int quality)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *out = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = channels;
    c.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)px + (size_t)c.next_scanline * (size_t)w * (size_t)channels;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    membuf m = {out, len, len};
    return m;
}

/* A smooth pattern value at (y, x, channel k). */
static uint8_t pattern(int y, int x, int k) { return (uint8_t)((y * 7 + x * 13 + k * 71) % 256); }

/* Decode m and compare with want (h, w, channels); prints the first difference. */
static void expect_pixels(const char *what, const membuf *m, int h, int w, int channels, const uint8_t *want,
                          int tol)
{
    oct_image img;
    oct_status s = oct_image_decode(m->b, m->len, &img);
    if (s != OCT_OK) printf("\n  %s: %s\n", what, oct_last_error());
    CU_ASSERT_EQUAL_FATAL(s, OCT_OK);
    CU_ASSERT_EQUAL(img.h, h);
    CU_ASSERT_EQUAL(img.w, w);
    CU_ASSERT_EQUAL(img.channels, channels);
    if (img.h == h && img.w == w && img.channels == channels) {
        size_t bad = 0, n = (size_t)h * w * channels;
        for (size_t i = 0; i < n; i++)
            if (abs((int)img.data[i] - (int)want[i]) > tol) {
                if (bad++ < 3)
                    printf("\n  %s: sample %zu (y %zu, x %zu, c %zu): want %d got %d", what, i, i / channels / w,
                           i / channels % w, i % channels, want[i], img.data[i]);
            }
        CU_ASSERT_EQUAL(bad, 0);
    }
    oct_image_release(&img);
    CU_ASSERT_PTR_NULL(img.data);
}

/* ------------------------------------------------------------------------------------ */
/* PNG colour types and depths                                                            */

enum { W = 13, H = 9 };

static void test_png_grey_rgb(void)
{
    uint8_t rows[H * W * 8], want[H * W * 3];
    /* grey 8 */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) rows[y * W + x] = want[y * W + x] = pattern(y, x, 0);
    membuf m = png_bytes(W, H, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, rows, W, NULL, 0, NULL, 0);
    expect_pixels("grey 8", &m, H, W, 1, want, 0);
    free(m.b);
    /* RGB 8, and the same interlaced */
    for (int i = 0; i < H * W * 3; i++) rows[i] = want[i] = pattern(i / 3 / W, i / 3 % W, i % 3);
    m = png_bytes(W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, rows, W * 3, NULL, 0, NULL, 0);
    expect_pixels("RGB 8", &m, H, W, 3, want, 0);
    free(m.b);
    m = png_bytes(W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, rows, W * 3, NULL, 0, NULL, 0);
    expect_pixels("RGB 8 interlaced", &m, H, W, 3, want, 0);
    free(m.b);
}

static void test_png_alpha_16bit_lowbit(void)
{
    uint8_t rows[H * W * 8], want[H * W * 3];
    /* RGBA 8: alpha dropped */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int k = 0; k < 4; k++) {
                rows[(y * W + x) * 4 + k] = pattern(y, x, k);
                if (k < 3) want[(y * W + x) * 3 + k] = pattern(y, x, k);
            }
    membuf m = png_bytes(W, H, 8, PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE, rows, W * 4, NULL, 0, NULL, 0);
    expect_pixels("RGBA 8", &m, H, W, 3, want, 0);
    free(m.b);
    /* grey + alpha 8: grey */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            rows[(y * W + x) * 2] = want[y * W + x] = pattern(y, x, 0);
            rows[(y * W + x) * 2 + 1] = pattern(y, x, 1);
        }
    m = png_bytes(W, H, 8, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_INTERLACE_NONE, rows, W * 2, NULL, 0, NULL, 0);
    expect_pixels("grey+alpha 8", &m, H, W, 1, want, 0);
    free(m.b);
    /* grey 16 and RGB 16 (big-endian samples): the high byte */
    for (int i = 0; i < H * W * 3; i++) {
        rows[2 * i] = want[i] = pattern(i / 3 / W, i / 3 % W, i % 3);
        rows[2 * i + 1] = (uint8_t)(255 - want[i]);
    }
    m = png_bytes(W, H, 16, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, rows, W * 6, NULL, 0, NULL, 0);
    expect_pixels("RGB 16", &m, H, W, 3, want, 0);
    free(m.b);
    for (int i = 0; i < H * W; i++) {
        rows[2 * i] = want[i] = pattern(i / W, i % W, 2);
        rows[2 * i + 1] = 0xAB;
    }
    m = png_bytes(W, H, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, rows, W * 2, NULL, 0, NULL, 0);
    expect_pixels("grey 16", &m, H, W, 1, want, 0);
    free(m.b);
    /* grey 1 bit: 0 -> 0, 1 -> 255 */
    size_t rb = (W + 7) / 8;
    memset(rows, 0, sizeof rows);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int bit = (x + y) % 3 == 0;
            if (bit) rows[y * rb + x / 8] |= (uint8_t)(0x80 >> (x % 8));
            want[y * W + x] = bit ? 255 : 0;
        }
    m = png_bytes(W, H, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, rows, rb, NULL, 0, NULL, 0);
    expect_pixels("grey 1", &m, H, W, 1, want, 0);
    free(m.b);
}

static void test_png_palette(void)
{
    png_color pal[16];
    png_byte trns[16];
    for (int i = 0; i < 16; i++) {
        pal[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 9), (png_byte)(i * i)};
        trns[i] = (png_byte)(i * 17);
    }
    uint8_t rows[H * W], want[H * W * 3];
    for (int depth = 4; depth <= 8; depth += 4) {
        size_t rb = depth == 8 ? W : (W + 1) / 2;
        memset(rows, 0, sizeof rows);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int idx = (y * 3 + x) % 16;
                if (depth == 8)
                    rows[y * rb + x] = (uint8_t)idx;
                else
                    rows[y * rb + x / 2] |= (uint8_t)(x % 2 ? idx : idx << 4);
                want[(y * W + x) * 3] = pal[idx].red;
                want[(y * W + x) * 3 + 1] = pal[idx].green;
                want[(y * W + x) * 3 + 2] = pal[idx].blue;
            }
        /* With a tRNS chunk the palette has alpha, which is dropped too. */
        membuf m = png_bytes(W, H, depth, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, rows, rb, pal, 16,
                             depth == 8 ? trns : NULL, 16);
        expect_pixels(depth == 8 ? "palette 8 + tRNS" : "palette 4", &m, H, W, 3, want, 0);
        free(m.b);
    }
}

/* ------------------------------------------------------------------------------------ */
/* JPEG                                                                                   */

static void test_jpeg(void)
{
    enum { JW = 40, JH = 24 };
    uint8_t px[JH * JW * 3];
    for (int c = 1; c <= 3; c += 2) {
        for (int i = 0; i < JH * JW * c; i++) px[i] = (uint8_t)(40 + (i / c % JW) * 3 + (i / c / JW) * 2 + (i % c) * 20);
        membuf m = jpeg_bytes(JW, JH, c, px, 100);
        /* Quality 100 on a smooth ramp: within a few levels (chroma subsampling, rounding). */
        expect_pixels(c == 1 ? "JPEG grey" : "JPEG RGB", &m, JH, JW, c, px, 6);
        /* Truncated inside the scan data: libjpeg would pad with grey; we refuse. */
        oct_image img;
        oct_status s = oct_image_decode(m.b, m.len * 3 / 4, &img);
        CU_ASSERT_EQUAL(s, OCT_ERR_FORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "truncated"));
        CU_ASSERT_PTR_NULL(img.data);
        free(m.b);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Broken bytes, files, allocations                                                       */

static void test_broken(void)
{
    uint8_t rows[H * W * 3];
    for (int i = 0; i < H * W * 3; i++) rows[i] = (uint8_t)i;
    membuf m = png_bytes(W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, rows, W * 3, NULL, 0, NULL, 0);
    oct_image img;
    /* Every truncation of the PNG fails cleanly (the sanitizers watch for reads past the end). */
    for (size_t len = 0; len < m.len; len += len < 64 ? 1 : 7) {
        oct_status s = oct_image_decode(m.b, len, &img);
        CU_ASSERT_EQUAL(s, OCT_ERR_FORMAT);
        CU_ASSERT_PTR_NULL(img.data);
    }
    /* A flipped byte in the pixel data: the IDAT CRC catches it. */
    size_t idat = 0;
    for (size_t i = 8; i + 4 < m.len; i++)
        if (memcmp(m.b + i, "IDAT", 4) == 0) idat = i;
    CU_ASSERT_FATAL(idat > 0);
    m.b[idat + 6] ^= 0x40;
    CU_ASSERT_EQUAL(oct_image_decode(m.b, m.len, &img), OCT_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "PNG"));
    free(m.b);
    /* Not an image at all. */
    const char text[] = "hello, I am a text file";
    CU_ASSERT_EQUAL(oct_image_decode(text, sizeof text, &img), OCT_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "not a PNG or JPEG"));
    CU_ASSERT_EQUAL(oct_image_decode(NULL, 0, &img), OCT_ERR_FORMAT);
    CU_ASSERT_EQUAL(oct_image_decode(text, 4, NULL), OCT_ERR_NULL_ARG);
    /* Files: a missing one names its path. */
    CU_ASSERT_EQUAL(oct_image_load("/nonexistent/octcl-test.png", &img), OCT_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(oct_last_error(), "/nonexistent/octcl-test.png"));
    oct_image_release(NULL);
}

static void test_allocation_failures(void)
{
    uint8_t rows[H * W * 3];
    for (int i = 0; i < H * W * 3; i++) rows[i] = (uint8_t)(i * 5);
    membuf m = png_bytes(W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, rows, W * 3, NULL, 0, NULL, 0);
    membuf j = jpeg_bytes(W, H, 3, rows, 90);
    oct_model_info mi = {.in_channels = 1};
    oct_image_prep p;
    CU_ASSERT_EQUAL_FATAL(oct_image_prep_default(&mi, &p), OCT_OK);
    float x[28 * 28];
    int failed = 0;
    for (int which = 0; which < 2; which++) {
        const membuf *b = which ? &j : &m;
        for (long k = 1; k < 200; k++) {
            oct_image img;
            oct_debug_fail_at(k);
            oct_status s = oct_image_decode(b->b, b->len, &img);
            if (s == OCT_OK) s = oct_image_preprocess(&img, &p, x, 28 * 28);
            long calls = oct_debug_fault_calls();
            oct_debug_fail_at(0);
            oct_image_release(&img);
            if (s != OCT_OK) {
                failed++;
                if (s != OCT_ERR_HOST_MEMORY) printf("\n  allocation %ld: status %d: %s", k, s, oct_last_error());
                CU_ASSERT_EQUAL(s, OCT_ERR_HOST_MEMORY);
            }
            if (calls < k) break; /* every allocation has been failed once */
        }
    }
    CU_ASSERT(failed >= 4);
    free(m.b);
    free(j.b);
}

/* ------------------------------------------------------------------------------------ */
/* Resize and preprocessing                                                               */

static void test_resize_and_prep(void)
{
    /* A constant image stays constant under any resize. */
    static uint8_t in[37 * 23 * 3], out[64 * 64 * 3];
    memset(in, 137, sizeof in);
    int sizes[][2] = {{1, 1}, {5, 3}, {37, 23}, {64, 64}, {12, 40}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(oct__image_resize(in, 37, 23, 3, out, sizes[i][0], sizes[i][1]), OCT_OK);
        size_t bad = 0;
        for (int k = 0; k < sizes[i][0] * sizes[i][1] * 3; k++) bad += out[k] != 137;
        CU_ASSERT_EQUAL(bad, 0);
    }
    /* torchvision's sizes: shorter side to `resize`, the longer int(resize * long / short). */
    oct_image img = {in, 300, 200, 3};
    oct_image_prep p = {3, 256, 0, 0, {0, 0, 0}, {1, 1, 1}};
    int h, w;
    CU_ASSERT_EQUAL(oct_image_prep_shape(&p, &img, &h, &w), OCT_OK);
    CU_ASSERT(h == 384 && w == 256);
    img.h = 200, img.w = 301;
    CU_ASSERT_EQUAL(oct_image_prep_shape(&p, &img, &h, &w), OCT_OK);
    CU_ASSERT(h == 256 && w == 385);
    p.crop_h = 224, p.crop_w = 200;
    CU_ASSERT_EQUAL(oct_image_prep_shape(&p, &img, &h, &w), OCT_OK);
    CU_ASSERT(h == 224 && w == 200);
    /* A crop larger than the image pads with zero pixels: (0 / 255 - mean) / std there. */
    uint8_t one[2 * 3] = {255, 255, 255, 255, 255, 255};
    oct_image small = {one, 2, 3, 1};
    oct_image_prep q = {1, 0, 4, 3, {0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}};
    float x[12];
    CU_ASSERT_EQUAL_FATAL(oct_image_preprocess(&small, &q, x, 12), OCT_OK);
    /* (4 - 2) // 2 = 1 row of padding above, 1 below. */
    const float want[12] = {-2, -2, -2, 2, 2, 2, 2, 2, 2, -2, -2, -2};
    CU_ASSERT_EQUAL(compare_floats("padded crop", want, x, 12, 0, 0), 0);
    /* Grey from RGB with PIL's luma; RGB from grey by copying. */
    uint8_t rgb[3] = {200, 100, 50};
    oct_image c1 = {rgb, 1, 1, 3};
    oct_image_prep g = {1, 0, 0, 0, {0, 0, 0}, {1, 1, 1}};
    CU_ASSERT_EQUAL_FATAL(oct_image_preprocess(&c1, &g, x, 1), OCT_OK);
    CU_ASSERT_EQUAL((int)lround(x[0] * 255.0), (200 * 19595 + 100 * 38470 + 50 * 7471 + 0x8000) >> 16);
    /* Wrong sizes and settings are errors, not writes. */
    CU_ASSERT_EQUAL(oct_image_preprocess(&c1, &g, x, 2), OCT_ERR_SHAPE_MISMATCH);
    g.std[0] = 0;
    CU_ASSERT_EQUAL(oct_image_preprocess(&c1, &g, x, 1), OCT_ERR_BAD_SIZE);
    oct_model_info mi = {.in_channels = 4};
    CU_ASSERT_EQUAL(oct_image_prep_default(&mi, &g), OCT_ERR_SHAPE_MISMATCH);
    /* Defaults: 28x28 grey with the file's mean/std; 224 RGB with ImageNet's. */
    mi = (oct_model_info){.in_channels = 1, .has_norm = 1, .mean = 0.286, .std = 0.353};
    CU_ASSERT_EQUAL(oct_image_prep_default(&mi, &g), OCT_OK);
    CU_ASSERT(g.channels == 1 && g.resize == 28 && g.crop_h == 28 && g.mean[0] == 0.286 && g.std[0] == 0.353);
    mi = (oct_model_info){.in_channels = 3};
    CU_ASSERT_EQUAL(oct_image_prep_default(&mi, &g), OCT_OK);
    CU_ASSERT(g.resize == 256 && g.crop_h == 224 && g.crop_w == 224 && g.mean[2] == 0.406 && g.std[0] == 0.229);
    CU_ASSERT_EQUAL(oct_image_prep_for_input(&mi, 32, 32, &g), OCT_OK);
    CU_ASSERT(g.resize == 32 && g.crop_h == 32);
}

int main(void)
{
    CU_pSuite s;
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    s = CU_add_suite("image", NULL, NULL);
    if (!s || !CU_add_test(s, "PNG grey, RGB, interlaced", test_png_grey_rgb) ||
        !CU_add_test(s, "PNG alpha, 16-bit, 1-bit", test_png_alpha_16bit_lowbit) ||
        !CU_add_test(s, "PNG palettes", test_png_palette) || !CU_add_test(s, "JPEG grey and RGB, truncated", test_jpeg) ||
        !CU_add_test(s, "truncated, corrupt, foreign bytes; files", test_broken) ||
        !CU_add_test(s, "every allocation failing", test_allocation_failures) ||
        !CU_add_test(s, "resize and preprocessing rules", test_resize_and_prep)) {
        CU_cleanup_registry();
        return 1;
    }
    return run_cunit();
}
