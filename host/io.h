/* io.h — the file readers' and writers' internals: bounded whole-file reads, atomic
 * writes, and the parse-from-memory cores of the .npy and IDX readers (the safetensors parser has its own header). Every core
 * takes the bytes, their length and a name used only in messages, so fuzzers and tests
 * can call it without touching the file system.
 */
#ifndef OCT_IO_H
#define OCT_IO_H

#include "internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------ */
/* Whole files (io_file.c): the one bounded reader and the one atomic writer              */

/* Flags of the calls below. PRIVATE: the program cache's rules — never follow a symbolic
 * link, the file must be owned by the effective user and not writable by group or
 * others; new files are created 0600. */
#define OCT__FILE_PRIVATE 1u

/* Open `path` for reading without blocking (a FIFO cannot hang the open), fstat it, and
 * refuse anything but a regular file of at most `cap` bytes (OCT_ERR_IO, the message says
 * why) before a byte is read. On success *fd is open (blocking again) and *size is the
 * file's size. */
oct_status oct__open_regular(const char *path, unsigned flags, size_t cap, int *fd, size_t *size);

/* Read a whole regular file of at most `cap` bytes into a fresh malloc'd buffer (*bytes,
 * *len), checked as oct__open_regular does. A file that changes size while being read is
 * OCT_ERR_IO; so are open / read failures; a failed allocation is OCT_ERR_HOST_MEMORY.
 * On success *bytes is never NULL (an empty file gives a 1-byte buffer, *len 0); on
 * failure *bytes is NULL and *len 0. Free with free(). */
oct_status oct__read_file_ex(const char *path, size_t cap, unsigned flags, uint8_t **bytes, size_t *len);
oct_status oct__read_file(const char *path, size_t cap, uint8_t **bytes, size_t *len);

/* An output file being written. A regular file (or a new one) is written as a temporary
 * "<dir>/.<name>.tmpXXXXXX" made with O_EXCL beside it (mode 0666 less the umask, or the
 * old file's mode when overwriting; 0600 with OCT__FILE_PRIVATE), fsync'd and renamed
 * over the target on commit; a symbolic link is followed to its target's folder. On any
 * failure, and on abort, the temporary is removed and the target is untouched. A target
 * that is not a regular file (a device such as /dev/null, a FIFO, this process's stdout
 * through /dev/stdout) cannot be renamed onto: it is opened and written in place, and
 * never created nor removed. Temporaries in flight are recorded so that a signal handler
 * can remove them (oct_file_abandon_pending). */
typedef struct {
    int fd;
    int direct;        /* 1: writing the target in place */
    int slot;          /* the pending-temporary slot, -1 none */
    int tmp_live;      /* the temporary exists (ours to remove) */
    int err;           /* errno of the first failed write, 0 none */
    const char *name;  /* the path as given, for messages */
    char *final;       /* where the temporary is renamed to */
    char *tmp;
} oct__ofile;

oct_status oct__ofile_open(oct__ofile *f, const char *path, unsigned flags);
oct_status oct__ofile_write(oct__ofile *f, const void *data, size_t len);
/* fsync, close and rename into place; on failure it aborts. Either way f is finished. */
oct_status oct__ofile_commit(oct__ofile *f);
/* Close and remove the temporary (the target is untouched). Safe after a failed open. */
void oct__ofile_abort(oct__ofile *f);
/* The whole of bytes[0 .. len) as one ofile. */
oct_status oct__write_file_ex(const char *path, unsigned flags, const void *bytes, size_t len);

/* Tests only: called before every write(2) of an ofile with its count (from 1) over the
 * process, so a test can kill the writer at a chosen write, or fail it: a nonzero return
 * is taken as that write's errno (ENOSPC: a full disk). */
extern int (*oct__file_write_hook)(long nth);

/* *count = product of shape[0 .. ndim) (1 for ndim 0; 0 when any dim is 0). Returns 0
 * when a dim is negative or the product of the nonzero dims overflows size_t, else 1. */
int oct__shape_count(const int64_t *shape, int ndim, size_t *count);

/* Write count floats to f as little-endian float32 bytes; 0 on a write error. */
int oct__write_f32le(oct__ofile *f, const float *data, size_t count);

/* Parse a .npy image held in memory (versions 1.0, 2.0, 3.0; '<f4', C order, rank
 * 0..OCT_MAX_DIMS, data exactly product(shape) * 4 bytes). `name` appears in messages.
 * On success *out owns a fresh copy of the data (never NULL, even for zero elements);
 * on failure *out is zeroed. */
oct_status oct__npy_parse(const uint8_t *bytes, size_t len, const char *name, oct_array *out);

/* Parse an IDX image held in memory (already decompressed): magic 00 00 08 ndims with
 * ndims 1..4, big-endian u32 dims each > 0, then exactly product(dims) bytes. On success
 * *out owns a fresh copy of the data; on failure *out is zeroed. */
oct_status oct__idx_parse(const uint8_t *bytes, size_t len, const char *name, oct_idx *out);

/* Largest decompressed IDX file oct_idx_load accepts. */
#define OCT__IDX_MAX_BYTES ((size_t)1 << 30)

#endif /* OCT_IO_H */
