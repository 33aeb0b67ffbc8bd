/* fuzz_safetensors.c — libFuzzer harness for the safetensors reader: oct__st_parse on the
 * raw input, then, for a file that parses, every lookup (oct__st_find, oct__st_meta) and
 * the float conversion (oct__st_to_f32) of every tensor, with the parser's promises checked.
 */
#include "io.h"
#include "safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A broken promise is a bug: abort so libFuzzer saves the input. */
#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static int is_float_dtype(int dt)
{
    return dt == OCT__ST_F32 || dt == OCT__ST_F16 || dt == OCT__ST_BF16 || dt == OCT__ST_F64;
}

static void check_tensor(const oct__st *st, const oct__st_tensor *t, const uint8_t *data_section)
{
    size_t data_len = (size_t)(st->file + st->len - data_section);
    size_t count = 1;
    int zero = 0;

    CHECK(t->name != NULL);
    CHECK(t->dtype >= 0 && t->dtype < OCT__ST_DTYPE_COUNT);
    CHECK(t->ndim >= 0 && t->ndim <= OCT_MAX_DIMS);
    for (int d = 0; d < t->ndim; d++) CHECK(t->shape[d] >= 0 && t->shape[d] <= (1ll << 53));
    /* With no zero dim the product is at most nbytes <= data_len, so it cannot wrap. */
    for (int d = 0; d < t->ndim; d++) zero |= t->shape[d] == 0;
    for (int d = 0; d < t->ndim && !zero; d++) count *= (size_t)t->shape[d];
    CHECK(t->count == (zero ? 0 : count));
    CHECK(t->nbytes == t->count * oct__st_dtype_size(t->dtype));
    CHECK(t->begin <= t->end && t->end <= data_len && t->end - t->begin == t->nbytes);
    CHECK(t->data == data_section + t->begin);
    /* Names are unique, so the lookup finds this very entry. */
    CHECK(oct__st_find(st, t->name) == t);

    /* Conversion: float dtypes convert, the others are refused. count floats fit in at
     * most 4 * input bytes (the smallest dtype has 1 byte), so this stays small. */
    float *dst = malloc(t->count ? t->count * sizeof(float) : 1);
    CHECK(dst != NULL);
    oct_status s = oct__st_to_f32(st, t, dst);
    CHECK(s == (is_float_dtype(t->dtype) ? OCT_OK : OCT_ERR_FORMAT));
    if (s == OCT_OK && t->dtype == OCT__ST_F32 && t->count)
        CHECK(memcmp(dst, t->data, t->nbytes) == 0); /* little-endian host: a byte copy */
    volatile float sink = 0;
    if (s == OCT_OK)
        for (size_t i = 0; i < t->count; i++) sink += dst[i];
    (void)sink;
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len)
{
    oct__st st;
    oct_status s = oct__st_parse(bytes, len, "fuzz", &st);

    if (s != OCT_OK) {
        /* A failure leaves *out zeroed and says why. */
        CHECK(s == OCT_ERR_FORMAT);
        CHECK(st.file == NULL && st.tensors == NULL && st.count == 0 && st.meta_keys == NULL);
        CHECK(oct_last_error()[0] != '\0');
        return 0;
    }
    CHECK(st.file != NULL && st.len == len && len >= 8);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | st.file[i];
    CHECK(n <= len - 8);
    const uint8_t *data_section = st.file + 8 + n;

    for (int i = 0; i < st.count; i++) {
        check_tensor(&st, &st.tensors[i], data_section);
        if (i > 0) CHECK(strcmp(st.tensors[i - 1].name, st.tensors[i].name) < 0); /* sorted */
    }
    for (int i = 0; i < st.meta_count; i++) {
        CHECK(st.meta_keys[i] != NULL && st.meta_values[i] != NULL);
        CHECK(oct__st_meta(&st, st.meta_keys[i]) == st.meta_values[i]);
        if (i > 0) CHECK(strcmp(st.meta_keys[i - 1], st.meta_keys[i]) < 0);
    }
    /* "__metadata__" is never a tensor; lookups of absent names fail cleanly. */
    CHECK(oct__st_find(&st, "__metadata__") == NULL);
    (void)oct__st_find(&st, "");
    (void)oct__st_meta(&st, "");
    oct__st_release(&st);
    CHECK(st.file == NULL && st.count == 0);
    return 0;
}
