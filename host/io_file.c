/* io_file.c — the one place octcl touches files as wholes: bounded whole-file reads
 * (fstat first: regular files of a known size only, so a device, a FIFO or a huge file is
 * refused before any byte is read) and atomic writes (a temporary in the target's folder,
 * created with O_EXCL, written, fsync'd and renamed into place; on failure only the
 * temporary is removed, never the target). Every reader and writer of the library goes
 * through here: .npy, IDX, safetensors, the program cache, and the CLI's outputs.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------ */
/* Whole-file reads                                                                       */

oct_status oct__open_regular(const char *path, unsigned flags, size_t cap, int *fd_out, size_t *size_out)
{
    struct stat sb;
    int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, fd;
    *fd_out = -1;
    *size_out = 0;
    if (flags & OCT__FILE_PRIVATE) oflags |= O_NOFOLLOW;
    fd = open(path, oflags);
    if (fd < 0) return oct__fail(OCT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return oct__fail(OCT_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return oct__fail(OCT_ERR_IO, "%s: not a regular file (%s)", path,
                         S_ISDIR(sb.st_mode)    ? "a directory"
                         : S_ISCHR(sb.st_mode)  ? "a character device"
                         : S_ISBLK(sb.st_mode)  ? "a block device"
                         : S_ISFIFO(sb.st_mode) ? "a FIFO"
                         : S_ISSOCK(sb.st_mode) ? "a socket"
                                                : "not a plain file");
    }
    if ((flags & OCT__FILE_PRIVATE) && (sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH)))) {
        close(fd);
        return oct__fail(OCT_ERR_IO, "%s: %s", path,
                         sb.st_uid != geteuid() ? "owned by another user" : "writable by group or others");
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > (uint64_t)cap) {
        close(fd);
        return oct__fail(OCT_ERR_IO, "%s: file is %lld bytes, larger than the limit of %zu bytes", path,
                         (long long)sb.st_size, cap);
    }
    /* Reads block again from here on (a regular file never blocks anyway). */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *fd_out = fd;
    *size_out = (size_t)sb.st_size;
    return OCT_OK;
}

oct_status oct__read_file_ex(const char *path, size_t cap, unsigned flags, uint8_t **bytes, size_t *len)
{
    oct_status st;
    uint8_t *buf = NULL;
    size_t size = 0, got = 0;
    int fd = -1;

    if (!bytes || !len) return oct__fail(OCT_ERR_NULL_ARG, "read_file: output pointer is NULL");
    *bytes = NULL;
    *len = 0;
    if (!path) return oct__fail(OCT_ERR_NULL_ARG, "read_file: path is NULL");
    if (cap > SIZE_MAX - 1) cap = SIZE_MAX - 1;
    if ((st = oct__open_regular(path, flags, cap, &fd, &size)) != OCT_OK) return st;
    buf = oct__malloc(size + 1);
    if (!buf) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of host memory for %zu bytes", path, size + 1);
        goto done;
    }
    /* size + 1 bytes asked for: a file that grew since fstat is told by the extra byte. */
    while (got < size + 1) {
        ssize_t r = read(fd, buf + got, size + 1 - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            st = oct__fail(OCT_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            goto done;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    if (got != size) {
        st = oct__fail(OCT_ERR_IO, "%s: file changed size while being read (%zu bytes, then %s%zu)", path, size,
                       got > size ? "more than " : "", got > size ? size : got);
        goto done;
    }
    *bytes = buf;
    *len = size;
    buf = NULL;
done:
    free(buf);
    close(fd);
    return st;
}

oct_status oct__read_file(const char *path, size_t cap, uint8_t **bytes, size_t *len)
{
    return oct__read_file_ex(path, cap, 0, bytes, len);
}

/* ------------------------------------------------------------------------------------ */
/* Temporaries in flight, for a signal handler                                            */

#define OCT__PENDING_SLOTS 8
#define OCT__PATH_CAP 4096

static char oct__pending_path[OCT__PENDING_SLOTS][OCT__PATH_CAP];
static atomic_int oct__pending_state[OCT__PENDING_SLOTS]; /* 0 free, 1 claimed, 2 live */

int (*oct__file_write_hook)(long nth);
static atomic_long oct__file_writes;

static int pending_claim(void)
{
    for (int i = 0; i < OCT__PENDING_SLOTS; i++) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&oct__pending_state[i], &expect, 1)) return i;
    }
    return -1;
}

void oct_file_abandon_pending(void)
{
    /* Async-signal-safe: atomics and unlink only. */
    for (int i = 0; i < OCT__PENDING_SLOTS; i++)
        if (atomic_load(&oct__pending_state[i]) == 2) {
            unlink(oct__pending_path[i]);
            atomic_store(&oct__pending_state[i], 1);
        }
}

/* Block the usual termination signals around a step that must not be cut in two
 * (creating a temporary and recording it; renaming it and forgetting it). */
static void block_signals(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGHUP);
    sigaddset(&s, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &s, old);
}
static void restore_signals(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

/* ------------------------------------------------------------------------------------ */
/* Atomic writes                                                                          */

/* 1 when a symbolic link at `path` leads into /dev or /proc (/dev/stdout, /proc/self/fd/1):
 * those name an open file of this process, which is written in place. */
static int is_process_link(const char *path, const char *resolved)
{
    return strncmp(resolved, "/dev/", 5) == 0 || strncmp(resolved, "/proc/", 6) == 0 ||
           strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0;
}

/* The descriptor a path names in this process (/dev/stdout, /dev/fd/N, /proc/self/fd/N),
 * or -1. */
static int self_fd(const char *path)
{
    if (strcmp(path, "/dev/stdout") == 0) return 1;
    if (strcmp(path, "/dev/stderr") == 0) return 2;
    const char *num = strncmp(path, "/dev/fd/", 8) == 0         ? path + 8
                      : strncmp(path, "/proc/self/fd/", 14) == 0 ? path + 14
                                                                 : NULL;
    if (!num || !*num || strlen(num) > 6) return -1;
    int n = 0;
    for (; *num; num++) {
        if (*num < '0' || *num > '9') return -1;
        n = n * 10 + (*num - '0');
    }
    return n;
}

oct_status oct__ofile_open(oct__ofile *f, const char *path, unsigned flags)
{
    struct stat lsb, sb;
    char *resolved = NULL;
    oct_status st = OCT_OK;
    int have = 0;

    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->slot = -1;
    if (!path || !*path) return oct__fail(OCT_ERR_NULL_ARG, "write: %s", path ? "empty path" : "path is NULL");
    f->name = path;

    if (lstat(path, &lsb) == 0) {
        have = 1;
        if (S_ISLNK(lsb.st_mode)) {
            if (flags & OCT__FILE_PRIVATE)
                return oct__fail(OCT_ERR_IO, "%s: is a symbolic link; refusing to write through it", path);
            if (stat(path, &sb) != 0)
                return oct__fail(OCT_ERR_IO, "%s: cannot follow the symbolic link: %s", path, strerror(errno));
            if (S_ISREG(sb.st_mode)) {
                resolved = realpath(path, NULL);
                if (!resolved || is_process_link(path, resolved)) f->direct = 1;
            }
        } else {
            sb = lsb;
        }
        if (S_ISDIR(sb.st_mode)) {
            st = oct__fail(OCT_ERR_IO, "%s: is a directory", path);
            goto done;
        }
        if (!S_ISREG(sb.st_mode)) {
            if (flags & OCT__FILE_PRIVATE) {
                st = oct__fail(OCT_ERR_IO, "%s: exists and is not a regular file", path);
                goto done;
            }
            f->direct = 1;
        }
    }

    if (f->direct) {
        /* A device, a FIFO or this process's own stdout: write it where it is, never
         * create, never remove. */
        int sfd = self_fd(path);
        if (sfd >= 0) {
            /* Our own stdout (or another open descriptor): written where it stands, at
             * its offset, as a shell redirection meant; never reopened or truncated. */
            f->fd = fcntl(sfd, F_DUPFD_CLOEXEC, 0);
        } else {
            int oflags = O_WRONLY | O_CLOEXEC | O_NOCTTY | (S_ISREG(sb.st_mode) ? O_TRUNC : 0);
            f->fd = open(path, oflags);
        }
        if (f->fd < 0) st = oct__fail(OCT_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
        goto done;
    }

    /* The temporary: "<dir>/.<base>.tmp<6 chars>" beside the final path. */
    const char *final = resolved ? resolved : path;
    size_t flen = strlen(final);
    if (flen + 16 >= OCT__PATH_CAP) {
        st = oct__fail(OCT_ERR_IO, "%s: path is too long", path);
        goto done;
    }
    f->final = oct__malloc(flen + 1);
    f->tmp = oct__malloc(flen + 16);
    if (!f->final || !f->tmp) {
        st = oct__fail(OCT_ERR_HOST_MEMORY, "%s: out of host memory for the path", path);
        goto done;
    }
    memcpy(f->final, final, flen + 1);
    const char *slash = strrchr(final, '/');
    size_t dlen = slash ? (size_t)(slash - final) + 1 : 0;
    mode_t mode = (flags & OCT__FILE_PRIVATE) ? 0600 : 0666;
    static atomic_ulong counter;
    unsigned long seed = (unsigned long)getpid() * 2654435761ul ^ (unsigned long)time(NULL) ^
                         ((unsigned long)clock() << 16);
    sigset_t old;
    block_signals(&old);
    f->slot = pending_claim();
    for (int attempt = 0; attempt < 64; attempt++) {
        static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        unsigned long r = seed + atomic_fetch_add(&counter, 1) * 0x9E3779B97F4A7C15ull;
        char sfx[7];
        for (int i = 0; i < 6; i++, r /= 62) sfx[i] = al[r % 62];
        sfx[6] = '\0';
        snprintf(f->tmp, flen + 16, "%.*s.%s.tmp%s", (int)dlen, final, final + dlen, sfx);
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
        if (f->fd >= 0 || errno != EEXIST) break;
        seed = seed * 6364136223846793005ul + 1442695040888963407ul;
    }
    if (f->fd >= 0) f->tmp_live = 1;
    if (f->fd >= 0 && f->slot >= 0) {
        memcpy(oct__pending_path[f->slot], f->tmp, strlen(f->tmp) + 1);
        atomic_store(&oct__pending_state[f->slot], 2);
    }
    restore_signals(&old);
    if (f->fd < 0) {
        char dir[256];
        snprintf(dir, sizeof dir, "%.*s", dlen ? (int)dlen : 1, dlen ? final : ".");
        st = oct__fail(OCT_ERR_IO, "%s: cannot create a temporary file in %s: %s", path, dir, strerror(errno));
        goto done;
    }
    /* Overwriting keeps the old file's permissions, as writing it in place would. */
    if (have && !(flags & OCT__FILE_PRIVATE)) {
        (void)fchmod(f->fd, sb.st_mode & 0777);
        /* Best effort: without the privilege to give the file away, it stays ours. (A
         * (void) cast does not quiet warn_unused_result under _FORTIFY_SOURCE.) */
        if ((sb.st_uid != geteuid() || sb.st_gid != getegid()) && fchown(f->fd, sb.st_uid, sb.st_gid) != 0) {
        }
    }
done:
    free(resolved);
    if (st != OCT_OK) oct__ofile_abort(f);
    return st;
}

oct_status oct__ofile_write(oct__ofile *f, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (f->err) return OCT_ERR_IO;
    while (len > 0) {
        long nth = atomic_fetch_add(&oct__file_writes, 1) + 1;
        int injected = oct__file_write_hook ? oct__file_write_hook(nth) : 0;
        size_t part = len < ((size_t)1 << 30) ? len : ((size_t)1 << 30);
        ssize_t w = injected ? (errno = injected, -1) : write(f->fd, p, part);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            f->err = w < 0 ? errno : EIO;
            return oct__fail(OCT_ERR_IO, "%s: write failed: %s", f->name, strerror(f->err));
        }
        p += w;
        len -= (size_t)w;
    }
    return OCT_OK;
}

void oct__ofile_abort(oct__ofile *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp_live) { /* only ever the temporary made here, never the target */
        sigset_t old;
        block_signals(&old);
        unlink(f->tmp);
        f->tmp_live = 0;
        if (f->slot >= 0) atomic_store(&oct__pending_state[f->slot], 1);
        restore_signals(&old);
    }
    if (f->slot >= 0) atomic_store(&oct__pending_state[f->slot], 0);
    f->slot = -1;
    free(f->tmp);
    free(f->final);
    f->tmp = f->final = NULL;
}

oct_status oct__ofile_commit(oct__ofile *f)
{
    oct_status st = OCT_OK;
    if (f->err) {
        st = oct__fail(OCT_ERR_IO, "%s: write failed: %s", f->name, strerror(f->err));
        goto fail;
    }
    if (f->direct) {
        int r = close(f->fd);
        f->fd = -1;
        if (r != 0 && errno != EINTR) {
            st = oct__fail(OCT_ERR_IO, "%s: write failed on close: %s", f->name, strerror(errno));
            goto fail;
        }
        oct__ofile_abort(f);
        return OCT_OK;
    }
    if (fsync(f->fd) != 0) {
        st = oct__fail(OCT_ERR_IO, "%s: write failed (fsync): %s", f->name, strerror(errno));
        goto fail;
    }
    if (close(f->fd) != 0) {
        f->fd = -1;
        st = oct__fail(OCT_ERR_IO, "%s: write failed on close: %s", f->name, strerror(errno));
        goto fail;
    }
    f->fd = -1;
    sigset_t old;
    block_signals(&old);
    int r = rename(f->tmp, f->final), e = errno;
    if (r == 0) {
        f->tmp_live = 0;
        if (f->slot >= 0) atomic_store(&oct__pending_state[f->slot], 1);
    }
    restore_signals(&old);
    if (r != 0) {
        st = oct__fail(OCT_ERR_IO, "%s: cannot rename the temporary file into place: %s", f->name, strerror(e));
        goto fail;
    }
    /* The rename itself reaches the disk with the folder. */
    const char *slash = strrchr(f->final, '/');
    if (slash) {
        char dir[OCT__PATH_CAP];
        size_t dlen = slash == f->final ? 1 : (size_t)(slash - f->final);
        memcpy(dir, f->final, dlen);
        dir[dlen] = '\0';
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    oct__ofile_abort(f); /* frees; the temporary is gone (renamed) */
    return OCT_OK;
fail:
    oct__ofile_abort(f);
    return st;
}

oct_status oct__write_file_ex(const char *path, unsigned flags, const void *bytes, size_t len)
{
    oct__ofile f;
    OCT__TRY(oct__ofile_open(&f, path, flags));
    oct_status st = oct__ofile_write(&f, bytes, len);
    if (st != OCT_OK) {
        oct__ofile_abort(&f);
        return st;
    }
    return oct__ofile_commit(&f);
}

oct_status oct_file_write(const char *path, const void *bytes, size_t len)
{
    if (!bytes && len) return oct__fail(OCT_ERR_NULL_ARG, "%s: bytes are NULL", path ? path : "write");
    return oct__write_file_ex(path, 0, bytes, len);
}

int oct__write_f32le(oct__ofile *f, const float *data, size_t count)
{
    uint8_t chunk[16384];
    for (size_t i = 0; i < count;) {
        size_t m = count - i < sizeof chunk / 4 ? count - i : sizeof chunk / 4;
        for (size_t j = 0; j < m; j++) {
            uint32_t u;
            memcpy(&u, &data[i + j], sizeof u);
            chunk[4 * j] = (uint8_t)u;
            chunk[4 * j + 1] = (uint8_t)(u >> 8);
            chunk[4 * j + 2] = (uint8_t)(u >> 16);
            chunk[4 * j + 3] = (uint8_t)(u >> 24);
        }
        if (oct__ofile_write(f, chunk, 4 * m) != OCT_OK) return 0;
        i += m;
    }
    return 1;
}
