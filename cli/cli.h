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

#endif /* OCTCL_CLI_H */
