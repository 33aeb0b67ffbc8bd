/* fuzz_npy.c — libFuzzer harness for the .npy reader: oct__npy_parse on the raw input;
 * a file that parses must describe exactly its data section, which the reader copies out
 * byte for byte (little-endian host), and a failure must leave the output zeroed.
 */
#include "io.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len)
{
    oct_array a;
    oct_status s = oct__npy_parse(bytes, len, "fuzz", &a);

    if (s != OCT_OK) {
        CHECK(s == OCT_ERR_FORMAT);
        CHECK(a.data == NULL && a.ndim == 0);
        CHECK(oct_last_error()[0] != '\0');
        return 0;
    }
    CHECK(a.data != NULL);
    CHECK(a.ndim >= 0 && a.ndim <= OCT_MAX_DIMS);
    for (int d = 0; d < a.ndim; d++) CHECK(a.shape[d] >= 0);
    /* The data section is the input's last count * 4 bytes, and the header before it at
     * least the 10-byte preamble. */
    size_t count = oct_array_count(&a);
    CHECK(count <= (len - 10) / 4);
    CHECK(memcmp(a.data, bytes + len - count * 4, count * 4) == 0);
    oct_array_release(&a);
    CHECK(a.data == NULL);
    return 0;
}
