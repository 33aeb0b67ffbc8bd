/* mpi_shard.h — `mpirun -n K octcl classify|run ...`: the ranks of an MPI job share the
 * input, rank 0 gathers the results in input order and alone prints and writes files
 * (mpi_shard.c). Every call is also right for a plain run (one rank, no MPI touched) and
 * in a build without MPI (OCTCL_HAVE_MPI 0), so classify and run have one code path.
 *
 * The input is cut into rounds of `chunk` rows per rank; in each round the ranks take
 * contiguous blocks in rank order, so the gathered outputs of a round are the next rows
 * of the output, in input order, and rank 0 writes them as they come (memory stays
 * constant in the input size).
 *
 * Failure: every rank passes its status to cli_mpi_agree at the same points (after
 * opening the inputs, after each round); when any rank failed, rank 0 prints each failing
 * rank's one-line error ("octcl: error: rank 1: ...") and every rank returns CLI_FAILED,
 * so no rank is ever left waiting in a collective another one skipped.
 */
#ifndef OCTCL_CLI_MPI_SHARD_H
#define OCTCL_CLI_MPI_SHARD_H

#include "cli_common.h"

typedef struct {
    int active;                /* MPI_Init was called (launched by mpirun, built with MPI) */
    int rank, size;            /* in MPI_COMM_WORLD; 0 and 1 otherwise */
    int local_rank, local_size; /* among the ranks of this host (MPI_COMM_TYPE_SHARED) */
} cli_mpi;

/* Start MPI when this process was launched by mpirun (Open MPI's OMPI_COMM_WORLD_SIZE or
 * PMIx's PMIX_RANK is set) and the program was built with MPI; a plain run never calls
 * MPI. A job of several ranks launched with a program built without MPI fails (every
 * rank would do the whole input). Then cli_fail messages are held: cli_mpi_agree reports
 * them. Returns CLI_OK or CLI_FAILED (printed). */
int cli_mpi_start(cli_mpi *m);
/* MPI_Finalize when started. */
void cli_mpi_stop(cli_mpi *m);

/* Rank 0 of the job (or a plain run): the rank that prints and writes. */
static inline int cli_mpi_root(const cli_mpi *m) { return m->rank == 0; }

/* The device this rank opens: when the spec (NULL: $OCTCL_DEVICE, else auto) is "auto"
 * or "opencl" and this host has several OpenCL GPUs, the host-local rank takes GPU
 * local_rank mod count ("opencl:P:D", written into buf); otherwise the spec as given. */
const char *cli_mpi_device(const cli_mpi *m, const char *device, char *buf, size_t len);

/* Rows [*begin, *begin + *count) of this rank in a round of n rows starting at base:
 * contiguous blocks in rank order, the first n % size ranks one row more. */
void cli_mpi_block(const cli_mpi *m, int64_t base, int64_t n, int64_t *begin, int64_t *count);

/* Every rank's rc (CLI_OK, CLI_FAILED, CLI_USAGE) made one: CLI_OK when all passed, else
 * the largest code, after rank 0 printed each failing rank's cli_last_error(). A plain
 * run returns rc unchanged (its error was printed already). The test hook: the rank
 * named by $OCTCL_TEST_FAIL_RANK fails at the agreement named `at` when
 * $OCTCL_TEST_FAIL_AT is unset or equals it (see README). */
int cli_mpi_agree(const cli_mpi *m, int rc, const char *at);

/* The same value on every rank: CLI_OK, else fails on each rank whose v differs from
 * rank 0's (what: "rows in the input"). A collective: every rank calls it, after an
 * agreement that all succeeded, then agrees on its result. */
int cli_mpi_same(const cli_mpi *m, int64_t v, const char *what);

/* Gather `count` floats from every rank (any count, may be 0) into rank 0's dst, in rank
 * order; dst needs room for the sum (only on rank 0). */
int cli_mpi_gather(const cli_mpi *m, const float *src, int64_t count, float *dst);

/* Gather `len` bytes from every rank (any length, may be 0) in rank order into a buffer
 * rank 0 allocates (*dst, *dst_len bytes; free it); other ranks get NULL and 0. A plain
 * run gets a copy. Returns CLI_FAILED only when that copy cannot be allocated. */
int cli_mpi_gather_bytes(const cli_mpi *m, const void *src, int64_t len, char **dst, int64_t *dst_len);
/* Rank 0's `len` bytes of buf into every rank's buf. */
void cli_mpi_bcast(const cli_mpi *m, void *buf, int64_t len);

/* One double per rank into rank 0's all[size] (size entries). */
void cli_mpi_gather_double(const cli_mpi *m, double v, double *all);
/* Sum of n long longs over the ranks into rank 0's v (in place). */
void cli_mpi_sum(const cli_mpi *m, long long *v, int n);
/* The device name of every rank into rank 0's names[size][256]. */
void cli_mpi_gather_name(const cli_mpi *m, const char *name, char (*names)[256]);

#endif /* OCTCL_CLI_MPI_SHARD_H */
