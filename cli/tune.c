/* tune.c — `octcl tune`: time a device's tunable parameters on a model (oct_tune), store
 * the winner beside the program cache, and say which parameters a context of that device
 * now runs (oct_context_tuning).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHAPES 16

static void usage(FILE *f)
{
    fprintf(f,
            "usage: octcl tune [--device D] [--model FILE] [--shapes NxHxW,...] [--repeat N]\n"
            "                  [--max-variants N] [--quiet]\n"
            "\n"
            "Time the tunable parameters of device D on a model's forward pass and store the\n"
            "fastest in a tuning file beside the OpenCL program cache (one per OpenCL device and\n"
            "driver, or per CPU model, ISA and thread count; OCTCL_CACHE_DIR=off: nowhere, so\n"
            "tuning fails). OpenCL: the implicit-GEMM tile sets that fit the device (its work-group\n"
            "and local-memory limits, and the built kernel's work-group size), one program build\n"
            "each. cpu: the direct convolution's band, the GEMM path's columns, chunks per thread,\n"
            "the SGEMM blocks and micro-kernel, one parameter at a time. Each variant's logits are\n"
            "checked against the reference path before its time counts, and must beat the best so\n"
            "far by 3%% to replace it (a tie keeps the defaults). Later contexts of the\n"
            "device load the winner; `octcl info --device D` and `octcl bench` say \"tuning: tuned\n"
            "(FILE, DATE)\" or \"tuning: default (REASON)\". $OCTCL_TUNE=1 tunes a device with no\n"
            "usable file when a context is first made for it (OctNetMini, one 32x32 image).\n"
            "\n"
            "options:\n"
            "  --device D          auto, opencl, opencl:P:D or cpu (default $OCTCL_DEVICE, else auto)\n"
            "  --model FILE        time this model (ONNX or OctNetMini safetensors); default\n"
            "                      OctNetMini alpha 0.5 with random weights\n"
            "  --shapes LIST       inputs to time, NxHxW,... their minima summed (default one image\n"
            "                      at the model's declared size, 32x32 when it is free)\n"
            "  --repeat N          timed passes per shape and variant after one warm-up; the\n"
            "                      minimum counts (default 10)\n"
            "  --max-variants N    time at most N variants, the default first (default all)\n"
            "  --quiet             no line per variant\n"
            "  -h, --help          this help\n");
}

static void on_line(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "%s\n", line);
}

/* "NxHxW,NxHxW,..." into shapes (triples); 0 after a usage error. */
static int parse_shapes(const char *s, int *shapes, int *n)
{
    *n = 0;
    while (*s) {
        int a, b, c, used = 0;
        if (*n == MAX_SHAPES || sscanf(s, "%dx%dx%d%n", &a, &b, &c, &used) != 3 || a < 1 || b < 1 || c < 1 ||
            a > 65536 || b > 16384 || c > 16384 || (s[used] != ',' && s[used] != '\0')) {
            cli_usage_error("tune", "--shapes: '%s' is not a list of up to %d NxHxW", s, MAX_SHAPES);
            return 0;
        }
        shapes[3 * *n] = a, shapes[3 * *n + 1] = b, shapes[3 * *n + 2] = c;
        (*n)++;
        s += used;
        if (*s == ',') s++;
    }
    return 1;
}

int cli_cmd_tune(int argc, char **argv)
{
    enum { OPT_DEVICE = 1, OPT_MODEL, OPT_SHAPES, OPT_REPEAT, OPT_MAX, OPT_QUIET };
    static const cli_option opts[] = {{"device", 1, OPT_DEVICE}, {"model", 1, OPT_MODEL}, {"shapes", 1, OPT_SHAPES},
                                      {"repeat", 1, OPT_REPEAT}, {"max-variants", 1, OPT_MAX}, {"quiet", 0, OPT_QUIET},
                                      {NULL, 0, 0}};
    int shapes[3 * MAX_SHAPES];
    oct_tune_params p = {0};
    p.progress = on_line;
    const char *value;
    cli_parser parser;
    cli_parser_init(&parser, "tune", argc, argv, opts);
    for (int id; (id = cli_next(&parser, &value)) != CLI_OPT_END;) {
        if (id == CLI_OPT_ERROR) return CLI_USAGE;
        if (id == CLI_OPT_HELP) return (usage(stdout), CLI_OK);
        if (id == OPT_DEVICE) p.device = value;
        if (id == OPT_MODEL) p.model = value;
        if (id == OPT_SHAPES) {
            if (!parse_shapes(value, shapes, &p.nshapes)) return CLI_USAGE;
            p.shapes = shapes;
        }
        if (id == OPT_REPEAT && !cli_parse_int("tune", "repeat", value, 1, 1000, &p.repeat)) return CLI_USAGE;
        if (id == OPT_MAX && !cli_parse_int("tune", "max-variants", value, 1, 1000, &p.max_variants)) return CLI_USAGE;
        if (id == OPT_QUIET) p.progress = NULL;
    }
    if (p.device && strcmp(p.device, "ref") == 0)
        return cli_usage_error("tune", "the reference path has nothing to tune: use cpu or an OpenCL device");
    char file[4096];
    oct_status s = oct_tune(&p, file, sizeof file);
    if (s == OCT_ERR_BAD_DEVICE_SPEC) return cli_usage_error("tune", "%s", oct_last_error());
    if (s != OCT_OK) return cli_fail_status(s);
    /* What a context of the device runs now (the file just written, read back). */
    oct_context *ctx = NULL;
    char text[640];
    int tuned = 0;
    s = oct_context_create(p.device, &ctx);
    if (s == OCT_OK) s = oct_context_tuning(ctx, &tuned, text, sizeof text);
    oct_context_free(ctx);
    if (s != OCT_OK) return cli_fail_status(s);
    printf("tuning file: %s\ntuning: %s\n", file, text);
    if (!tuned) return cli_fail("the tuning file just written was not taken up: %s", text);
    return CLI_OK;
}
