/* bench.h — `octcl bench`: OctNetMini latency, throughput and speed-up over alpha on
 * one or more devices, with a correctness check against the reference path, printed as
 * a table and written as JSON (an array of flat row objects) and CSV. bench/README.md
 * says what every field measures.
 */
#ifndef OCTCL_BENCH_H
#define OCTCL_BENCH_H

#ifdef __cplusplus
extern "C" {
#endif

/* The `octcl bench` subcommand. argv[0] is "bench"; the rest are its options
 * (`octcl bench --help` lists them). Returns the process exit status: 0 success,
 * 1 a run failed (a device, a model file, or a result that disagrees with the
 * reference), 2 bad usage. */
int octcl_bench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* OCTCL_BENCH_H */
