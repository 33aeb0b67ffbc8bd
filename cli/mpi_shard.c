/* mpi_shard.c — the MPI side of classify and run (mpi_shard.h): starting MPI only under
 * mpirun, node-local GPU choice, blocks of rows, agreement on failure, gathers. Built
 * with OCTCL_HAVE_MPI 1 when CMake found MPI (option OCTCL_MPI); without it every call is
 * the one-rank case and MPI is never named.
 */
#include "mpi_shard.h"

#include <stdlib.h>
#include <string.h>

#if OCTCL_HAVE_MPI
#include <mpi.h>
#endif

#define ERROR_LINE 1024

/* Launched by mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE, any PMIx launcher PMIX_RANK). */
static int launched_by_mpirun(int *size)
{
    const char *s = getenv("OMPI_COMM_WORLD_SIZE");
    *size = s && *s ? atoi(s) : 0;
    return (s && *s) || (getenv("PMIX_RANK") && *getenv("PMIX_RANK"));
}

int cli_mpi_start(cli_mpi *m)
{
    int size = 0;
    memset(m, 0, sizeof *m);
    m->size = m->local_size = 1;
    if (!launched_by_mpirun(&size)) return CLI_OK;
#if OCTCL_HAVE_MPI
    int ok = MPI_Init(NULL, NULL) == MPI_SUCCESS;
    if (!ok) return cli_fail("MPI_Init failed");
    m->active = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->size);
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, m->rank, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_rank(local, &m->local_rank);
        MPI_Comm_size(local, &m->local_size);
        MPI_Comm_free(&local);
    }
    if (m->size > 1) cli_hold_errors(1);
    return CLI_OK;
#else
    if (size > 1)
        return cli_fail("launched by mpirun as one of %d ranks, but this octcl was built without MPI (every rank "
                        "would do the whole input); rebuild with libopenmpi-dev installed (-DOCTCL_MPI=ON)",
                        size);
    return CLI_OK;
#endif
}

void cli_mpi_stop(cli_mpi *m)
{
#if OCTCL_HAVE_MPI
    if (m->active) {
        cli_hold_errors(0);
        MPI_Finalize();
    }
#endif
    m->active = 0;
}

const char *cli_mpi_device(const cli_mpi *m, const char *device, char *buf, size_t len)
{
    const char *spec = device;
    if (!spec) spec = getenv("OCTCL_DEVICE");
    if (!spec || !*spec) spec = "auto";
    if (m->local_size < 2 || (strcmp(spec, "auto") != 0 && strcmp(spec, "opencl") != 0)) return device;
    oct_device_info list[64];
    int count = 0, gpus = 0, pick = -1;
    if (oct_list_devices(list, 64, &count) != OCT_OK) return device;
    if (count > 64) count = 64;
    for (int i = 0; i < count; i++) gpus += list[i].is_gpu;
    if (gpus < 2) return device;
    for (int i = 0, g = 0; i < count; i++)
        if (list[i].is_gpu && g++ == m->local_rank % gpus) pick = i;
    snprintf(buf, len, "opencl:%d:%d", list[pick].platform_index, list[pick].device_index);
    return buf;
}

void cli_mpi_block(const cli_mpi *m, int64_t base, int64_t n, int64_t *begin, int64_t *count)
{
    int64_t each = n / m->size, extra = n % m->size, r = m->rank;
    *begin = base + r * each + (r < extra ? r : extra);
    *count = each + (r < extra);
}

/* The test hook: $OCTCL_TEST_FAIL_RANK names a rank that fails at agreement `at` (the
 * first, or the one $OCTCL_TEST_FAIL_AT names). Not at "commit" and "report", which come
 * after rank 0 renamed the output into place: no rank has work left there that could
 * fail, only rank 0's commit itself. */
static int test_hook(const cli_mpi *m, const char *at)
{
    const char *r = getenv("OCTCL_TEST_FAIL_RANK"), *where = getenv("OCTCL_TEST_FAIL_AT");
    if (!r || !*r || atoi(r) != m->rank || !strcmp(at, "commit") || !strcmp(at, "report")) return CLI_OK;
    if (where && *where && strcmp(where, at) != 0) return CLI_OK;
    return cli_fail("rank %d failed on purpose (test hook OCTCL_TEST_FAIL_RANK, at '%s')", m->rank, at);
}

int cli_mpi_agree(const cli_mpi *m, int rc, const char *at)
{
    if (rc == CLI_OK) rc = test_hook(m, at);
#if OCTCL_HAVE_MPI
    if (!m->active) return rc;
    int worst = 0;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (worst == CLI_OK) return CLI_OK;
    char line[ERROR_LINE] = "";
    char *all = NULL;
    int *codes = NULL;
    if (rc != CLI_OK) snprintf(line, sizeof line, "%s", *cli_last_error() ? cli_last_error() : "failed");
    if (m->rank == 0) {
        all = calloc((size_t)m->size, ERROR_LINE);
        codes = calloc((size_t)m->size, sizeof *codes);
    }
    MPI_Gather(&rc, 1, MPI_INT, codes, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Gather(line, ERROR_LINE, MPI_CHAR, all, ERROR_LINE, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (m->rank == 0) {
        for (int r = 0; r < m->size; r++)
            if (codes && codes[r] != CLI_OK)
                fprintf(stderr, "octcl: error: rank %d: %s\n", r, all ? all + (size_t)r * ERROR_LINE : "failed");
        fflush(stderr);
    }
    free(all);
    free(codes);
    return worst;
#else
    (void)m;
    return rc;
#endif
}

int cli_mpi_same(const cli_mpi *m, int64_t v, const char *what)
{
#if OCTCL_HAVE_MPI
    if (!m->active) return CLI_OK;
    long long mine = v, root = v;
    MPI_Bcast(&root, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    if (mine != root) return cli_fail("%lld %s, where rank 0 has %lld", mine, what, root);
#else
    (void)m, (void)v, (void)what;
#endif
    return CLI_OK;
}

int cli_mpi_gather(const cli_mpi *m, const float *src, int64_t count, float *dst)
{
#if OCTCL_HAVE_MPI
    if (m->active) {
        int n = (int)count, *counts = NULL, *displs = NULL;
        if (m->rank == 0) {
            counts = malloc((size_t)m->size * sizeof *counts);
            displs = malloc((size_t)m->size * sizeof *displs);
            if (!counts || !displs) MPI_Abort(MPI_COMM_WORLD, 1); /* a few ints: never in practice */
        }
        MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (m->rank == 0)
            for (int r = 0, at = 0; r < m->size; r++) displs[r] = at, at += counts[r];
        MPI_Gatherv(src, n, MPI_FLOAT, dst, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
        free(counts);
        free(displs);
        return CLI_OK;
    }
#endif
    (void)m;
    if (count && dst != src) memmove(dst, src, (size_t)count * sizeof *src);
    return CLI_OK;
}

int cli_mpi_gather_bytes(const cli_mpi *m, const void *src, int64_t len, char **dst, int64_t *dst_len)
{
    *dst = NULL;
    *dst_len = 0;
#if OCTCL_HAVE_MPI
    if (m->active) {
        int n = (int)len, *counts = NULL, *displs = NULL, total = 0;
        if (m->rank == 0) {
            counts = malloc((size_t)m->size * sizeof *counts);
            displs = malloc((size_t)m->size * sizeof *displs);
            if (!counts || !displs) MPI_Abort(MPI_COMM_WORLD, 1); /* a few ints: never in practice */
        }
        MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (m->rank == 0) {
            for (int r = 0; r < m->size; r++) displs[r] = total, total += counts[r];
            if (!(*dst = malloc((size_t)total + 1))) MPI_Abort(MPI_COMM_WORLD, 1); /* a round's records */
            *dst_len = total;
        }
        MPI_Gatherv(src, n, MPI_BYTE, *dst, counts, displs, MPI_BYTE, 0, MPI_COMM_WORLD);
        free(counts);
        free(displs);
        return CLI_OK;
    }
#endif
    (void)m;
    if (!(*dst = malloc((size_t)len + 1)))
        return cli_fail("out of host memory for %lld bytes of results", (long long)len);
    if (len) memcpy(*dst, src, (size_t)len);
    *dst_len = len;
    return CLI_OK;
}

void cli_mpi_bcast(const cli_mpi *m, void *buf, int64_t len)
{
#if OCTCL_HAVE_MPI
    if (m->active && len > 0) MPI_Bcast(buf, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
#else
    (void)m, (void)buf, (void)len;
#endif
}

void cli_mpi_gather_double(const cli_mpi *m, double v, double *all)
{
#if OCTCL_HAVE_MPI
    if (m->active) {
        MPI_Gather(&v, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        return;
    }
#endif
    (void)m;
    all[0] = v;
}

void cli_mpi_sum(const cli_mpi *m, long long *v, int n)
{
#if OCTCL_HAVE_MPI
    if (m->active)
        MPI_Reduce(m->rank == 0 ? MPI_IN_PLACE : v, v, n, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
#else
    (void)m, (void)v, (void)n;
#endif
}

void cli_mpi_gather_name(const cli_mpi *m, const char *name, char (*names)[256])
{
    char mine[256];
    snprintf(mine, sizeof mine, "%s", name);
#if OCTCL_HAVE_MPI
    if (m->active) {
        MPI_Gather(mine, 256, MPI_CHAR, names, 256, MPI_CHAR, 0, MPI_COMM_WORLD);
        return;
    }
#endif
    (void)m;
    memcpy(names[0], mine, sizeof mine);
}
