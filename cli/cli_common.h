/* cli_common.h — the helpers every `octcl` subcommand shares, `octcl bench` included:
 * exit codes, a small long-option parser, strict number parsing, one-line error reports,
 * opening a device, shape and JSON printing, the clock. Built as octcl_cli_common.
 * Every helper that reports a problem prints one line to stderr and returns an exit code.
 */
#ifndef OCTCL_CLI_COMMON_H
#define OCTCL_CLI_COMMON_H

#include "octcl.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes: success, a run that failed (file, device, library), bad usage. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* ------------------------------------------------------------------------------------ */
/* Options: `--name value`, `--name=value`, `--flag`, `-h`; no positional arguments.    */

typedef struct {
    const char *name;   /* without the leading "--" */
    int has_value;      /* 1: takes a value; 0: a flag */
    int id;             /* returned by cli_next */
} cli_option;

enum { CLI_OPT_END = -1, CLI_OPT_ERROR = -2, CLI_OPT_HELP = -3 };

typedef struct {
    const char *cmd;          /* subcommand, for messages */
    int argc;
    char **argv;              /* argv[0] is the subcommand itself */
    int i;                    /* next argument to read */
    const cli_option *opts;   /* ends with a {NULL, 0, 0} entry */
} cli_parser;

void cli_parser_init(cli_parser *p, const char *cmd, int argc, char **argv, const cli_option *opts);
/* The id of the next option (its value in *value, NULL for a flag), CLI_OPT_HELP for
 * -h / --help, CLI_OPT_END when done, or CLI_OPT_ERROR after printing a usage error. */
int cli_next(cli_parser *p, const char **value);

/* ------------------------------------------------------------------------------------ */
/* Strict numbers: the whole string, no spaces, in range. Each prints a usage error
 * naming the option and returns 0 on a bad value, 1 on success.                       */

int cli_parse_int(const char *cmd, const char *opt, const char *s, long min, long max, int *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
/* A positive byte count with an optional K, M or G (binary) suffix. */
int cli_parse_bytes(const char *cmd, const char *opt, const char *s, size_t *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max, double *out);
/* "HxW" with both in [1, max]. */
int cli_parse_size(const char *cmd, const char *opt, const char *s, int max, int *h, int *w);

/* ------------------------------------------------------------------------------------ */
/* Reporting                                                                             */

/* "octcl <cmd>: <message> (see octcl <cmd> --help)", one line on stderr; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "octcl: error: <message>" on stderr; returns CLI_FAILED. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The message of the last cli_fail or cli_usage_error ("" before any). While errors are
 * held (an MPI rank: rank 0 reports every rank's line, see mpi_shard.h), they record it
 * and print nothing. */
const char *cli_last_error(void);
void cli_hold_errors(int on);
/* oct_last_error(), or the status string when the message is empty. */
const char *cli_status_text(oct_status s);
/* cli_fail with cli_status_text(s). */
int cli_fail_status(oct_status s);

/* Create a context for `device` (NULL: $OCTCL_DEVICE or auto) and, when `say`, print
 * "device: <name> (<reason>)" on stderr (cli_say_device; a command whose report names the
 * device says it there instead). A device string the library does not understand is bad
 * usage (CLI_USAGE); a device that is missing is CLI_FAILED. */
int cli_open_device(const char *cmd, const char *device, int say, oct_context **ctx, oct_device_info *info);
void cli_say_device(const oct_device_info *info);

/* The next number of a splitmix64 stream (seeded inputs of run and profile). */
uint64_t cli_splitmix64(uint64_t *s);

/* cli_open_device, then the model at `path` on it, its input tensor and its output's at
 * batch n and *h x *w (0 x 0: the model's declared input size, else 32 x 32, written
 * back). On failure nothing stays open (*ctx and *m NULL) and the error is reported. */
int cli_open_model(const char *cmd, const char *device, const char *path, int n, int *h, int *w, oct_context **ctx,
                   oct_device_info *info, oct_model **m, oct_model_tensor *in, oct_model_tensor *out);

/* The backend's name as device specs spell it (the library's registry: oct_backend_name). */
const char *cli_backend_name(oct_backend b);

/* A shape as Python prints a tuple: "(2, 64, 32, 32)", "(10,)"; rank 0 is "None". */
void cli_format_shape(char *buf, size_t len, int rank, const int64_t *dims);

/* A JSON string literal, quotes included. */
void cli_json_string(FILE *f, const char *s);

/* Install handlers for SIGINT, SIGTERM, SIGHUP and SIGQUIT that remove the temporaries of
 * output files being written and then die of the signal; ignore SIGXFSZ so a file-size
 * limit is a write error. Called first thing by main. */
void cli_install_signal_cleanup(void);
/* Write a whole output file atomically (oct_file_write); prints the error, returns an
 * exit code. */
int cli_write_file(const char *path, const void *bytes, size_t len);

/* Bytes of host memory this process may use at most: the physical memory, or the
 * address-space limit (ulimit -v) when lower. */
double cli_host_memory(void);

/* The activation memory a pass may hold: `given` (--max-device-mem) when set; else, on
 * the CPU paths, half the host memory (cli_host_memory), so a huge batch runs in chunks
 * instead of waking the kernel's out-of-memory killer; else 0 (no limit: an OpenCL
 * device that runs out retries in halves). */
size_t cli_memory_limit(const oct_device_info *di, size_t given);

/* Seconds on a monotonic clock. */
double cli_now(void);

#endif /* OCTCL_CLI_COMMON_H */
