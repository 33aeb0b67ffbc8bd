/* consumer.c — a program outside the project, built against an installed octcl (through
 * pkg-config, and through find_package(octcl)): one OctConv layer on the CPU path whose
 * answer is known in closed form.
 *
 * Layer: 4 -> 4 channels, alpha 0.5 in and out, 1x1 kernel, no bias, every weight w.
 * Input: high band (1, 2, 6, 6) all a, low band (1, 2, 3, 3) all b. Then
 *   y_h = HH(x_h) + Up(LH(x_l))   = 2 w a + 2 w b   everywhere,
 *   y_l = LL(x_l) + HL(Pool(x_h)) = 2 w b + 2 w a   everywhere
 * (pooling and nearest upsampling of a constant give the constant). */
#include <octcl.h>

#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                           \
    do {                                                                                      \
        oct_status s_ = (call);                                                               \
        if (s_ != OCT_OK) {                                                                   \
            fprintf(stderr, "consumer: %s failed: %s: %s\n", #call, oct_status_string(s_),    \
                    oct_last_error());                                                        \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)

int main(void)
{
    const float a = 0.75f, b = -1.5f, w = 0.25f;
    const float want = 2 * w * a + 2 * w * b;   /* -0.375, exact in binary */
    printf("octcl %s (header)\n", OCTCL_VERSION);

    oct_context *ctx = NULL;
    CHECK(oct_context_create("cpu", &ctx));
    oct_octconv_params p = oct_octconv_defaults(4, 4);
    p.kernel_size = 1;
    p.padding = 0;
    oct_octconv *layer = NULL;
    CHECK(oct_octconv_create(ctx, &p, &layer));
    float weights[2 * 2] = {w, w, w, w};   /* (2, 2, 1, 1) per path */
    for (int path = 0; path < OCT_PATH_COUNT; path++)
        CHECK(oct_octconv_set_path(layer, (oct_path)path, weights, 4, NULL, 0));

    oct_shape xs = oct_shape_bands(1, 2, 2, 6, 6), ys;
    CHECK(oct_octconv_output_shape(layer, &xs, &ys));
    float xh[2 * 36], xl[2 * 9], yh[2 * 36], yl[2 * 9];
    for (int i = 0; i < 72; i++) xh[i] = a;
    for (int i = 0; i < 18; i++) xl[i] = b;
    if (oct_shape_high_count(&ys) != 72 || oct_shape_low_count(&ys) != 18) {
        fprintf(stderr, "consumer: output shape (%d, %d, %d, %d) + (%d, %d, %d) is not (1, 2, 6, 6) + (2, 3, 3)\n",
                ys.n, ys.c_h, ys.h, ys.w, ys.c_l, ys.hl, ys.wl);
        return 1;
    }
    oct_tensor *x = NULL, *y = NULL;
    CHECK(oct_tensor_create(ctx, &xs, &x));
    CHECK(oct_tensor_create(ctx, &ys, &y));
    CHECK(oct_tensor_write(x, xh, xl));
    CHECK(oct_octconv_forward(layer, x, y));
    CHECK(oct_tensor_read(y, yh, yl));

    int bad = 0;
    for (int i = 0; i < 72 + 18; i++) {
        float got = i < 72 ? yh[i] : yl[i - 72];
        float d = got > want ? got - want : want - got;
        if (d > 1e-6f) {
            if (bad++ < 5)
                fprintf(stderr, "consumer: %s[%d] = %.9g, want %.9g\n", i < 72 ? "y_h" : "y_l", i < 72 ? i : i - 72,
                        (double)got, (double)want);
        }
    }
    oct_tensor_free(y);
    oct_tensor_free(x);
    oct_octconv_free(layer);
    oct_context_free(ctx);
    if (bad) {
        fprintf(stderr, "consumer: %d of 90 outputs wrong\n", bad);
        return 1;
    }
    printf("consumer: OctConv forward on cpu: all 90 outputs = %g, as expected\n", (double)want);
    return 0;
}
