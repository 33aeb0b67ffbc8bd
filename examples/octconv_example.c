/* octconv_example.c — the README's example: one OctConv layer on the best device. */
#include <octcl.h>
#include <stdio.h>

int main(void)
{
    static float xh[2 * 32 * 16 * 16], xl[2 * 32 * 8 * 8], w[64 * 32 * 9], yh[2 * 64 * 16 * 16], yl[2 * 64 * 8 * 8];
    oct_context *ctx = NULL;
    oct_octconv *conv = NULL;
    oct_tensor *x = NULL, *y = NULL;
    int rc = 1;
    oct_shape xs = oct_shape_bands(2, 32, 32, 16, 16), ys;   /* N=2, 32 high + 32 low channels */
    oct_octconv_params p = oct_octconv_defaults(64, 128);      /* k3 s1 p1, alpha 0.5 / 0.5 */
    if (oct_context_create(NULL, &ctx) || oct_octconv_create(ctx, &p, &conv)) goto fail;
    for (int path = 0; path < OCT_PATH_COUNT; path++)          /* hh, hl, ll, lh: (64, 32, 3, 3) */
        if (oct_octconv_set_path(conv, (oct_path)path, w, 64 * 32 * 9, NULL, 0)) goto fail;
    if (oct_octconv_output_shape(conv, &xs, &ys) || oct_tensor_create(ctx, &xs, &x) ||
        oct_tensor_create(ctx, &ys, &y) || oct_tensor_write(x, xh, xl) ||
        oct_octconv_forward(conv, x, y) || oct_tensor_read(y, yh, yl)) goto fail;
    printf("y_h (%d, %d, %d, %d), y_l (%d, %d, %d, %d)\n", ys.n, ys.c_h, ys.h, ys.w, ys.n, ys.c_l, ys.hl, ys.wl);
    rc = 0;
fail:
    if (rc) fprintf(stderr, "octcl: %s\n", oct_last_error());
    oct_tensor_free(y), oct_tensor_free(x), oct_octconv_free(conv), oct_context_free(ctx);   /* NULL is fine */
    return rc;
}
