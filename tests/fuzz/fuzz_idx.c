/* fuzz_idx.c — libFuzzer harness for the IDX reader: oct__idx_parse on the raw input, and
 * for gzip input (1f 8b) the whole file path too, oct_idx_load through a memfd, so the
 * zlib reading loop is fuzzed. Parsed images must match the dims and bytes they came from.
 */
#define _GNU_SOURCE /* memfd_create */
#include "io.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* Product of the dims (each 1..2^32-1, checked by the reader not to overflow). */
static size_t idx_count(const oct_idx *a)
{
    size_t n = 1;
    CHECK(a->ndim >= 1 && a->ndim <= 4);
    for (int d = 0; d < a->ndim; d++) {
        CHECK(a->shape[d] >= 1 && a->shape[d] <= UINT32_MAX);
        n *= (size_t)a->shape[d];
    }
    return n;
}

static void check_failure(oct_status s, const oct_idx *a)
{
    CHECK(s == OCT_ERR_FORMAT || s == OCT_ERR_IO);
    CHECK(a->data == NULL && a->ndim == 0);
    CHECK(oct_last_error()[0] != '\0');
}

/* oct_idx_load on the input as a file; a memory-backed one, made once. */
static void fuzz_load(const uint8_t *bytes, size_t len)
{
    static int fd = -1;
    static char path[64];
    oct_idx a;

    if (fd < 0) {
        fd = memfd_create("fuzz_idx", 0);
        CHECK(fd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, bytes, len, 0) == (ssize_t)len);
    oct_status s = oct_idx_load(path, &a);
    if (s != OCT_OK) {
        check_failure(s, &a);
        return;
    }
    size_t n = idx_count(&a);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++) sink ^= a.data[i]; /* all n bytes must be readable */
    (void)sink;
    oct_idx_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len)
{
    oct_idx a;
    oct_status s = oct__idx_parse(bytes, len, "fuzz", &a);

    if (s != OCT_OK) {
        CHECK(s == OCT_ERR_FORMAT);
        check_failure(s, &a);
    } else {
        /* Header: 4 magic bytes + 4 per dim, then exactly the data, copied out. */
        size_t n = idx_count(&a), hlen = 4 + 4 * (size_t)a.ndim;
        CHECK(len == hlen + n);
        CHECK(memcmp(a.data, bytes + hlen, n) == 0);
        oct_idx_release(&a);
    }
    if (len >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) fuzz_load(bytes, len);
    return 0;
}
