/* cli.h — the `octcl` subcommands built into the program (info, run, classify); the
 * helpers they share with `octcl bench` are in cli_common.h.
 */
#ifndef OCTCL_CLI_H
#define OCTCL_CLI_H

#include "cli_common.h"

/* ------------------------------------------------------------------------------------ */
/* Subcommands: argv[0] is the subcommand name; each returns an exit code.              */

int cli_cmd_info(int argc, char **argv);
int cli_cmd_run(int argc, char **argv);
int cli_cmd_classify(int argc, char **argv);
int cli_cmd_tune(int argc, char **argv);
int cli_cmd_profile(int argc, char **argv);

/* ------------------------------------------------------------------------------------ */
/* Device sets: --device all, --device cpu,opencl:0:0 (devset.c)                        */

/* Whether `device` (NULL: $OCTCL_DEVICE) names a device set: "all" or a comma list. */
int cli_device_is_set(const char *device);

/* The random OctNetMini of `run` without --model. */
typedef struct {
    int in_channels, classes;
    double alpha;
    uint64_t seed;
} cli_random_model;

/* Make the set (the model file, or rnd when model_path is NULL) with each device's memory
 * limit (cli_memory_limit), print "device I: SPEC = NAME (REASON)" per device on stderr;
 * *model is the handle of the set (its device 0's model: for queries, cli_forward and
 * cli_model_free), *di the set described as one device. Bad list: CLI_USAGE. */
int cli_devset_open(const char *cmd, const char *device, const char *model_path, const cli_random_model *rnd,
                    size_t max_mem, oct_model **model, oct_device_info *di);
/* The open set, or NULL. */
oct_devset *cli_devset(void);
void cli_devset_close(void);
/* oct_model_free, or closing the set when model is the set's handle. */
void cli_model_free(oct_model *model);
/* oct_model_forward, or a pass over the set when model is the set's handle (a trace
 * then comes from oct_model_trace). */
oct_status cli_forward(oct_model *model, const float *x, int n, int h, int w, float *out, oct_trace_fn trace,
                       void *user);
/* Per-device lines ("INDENT SPEC  N images in S s, R images/s (NAME)"), or the JSON
 * fragment `, "devices": [...]`; nothing without a set. */
void cli_devset_print(FILE *f, const char *indent);
void cli_devset_json(FILE *f);

#endif /* OCTCL_CLI_H */
