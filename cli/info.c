/* info.c — `octcl info`: every OpenCL platform and device found, the native CPU paths,
 * and which device `auto` (and $OCTCL_DEVICE, and --device) would pick and why.
 */
#include "cli.h"

#include <stdlib.h>

#define MAX_LISTED 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: octcl info [--device D]\n"
            "\n"
            "List every OpenCL platform and device found (as P:D, the numbers --device opencl:P:D\n"
            "takes), then say which device `auto` picks and why. Commands given no --device use\n"
            "$OCTCL_DEVICE when it is set, else auto.\n"
            "\n"
            "options:\n"
            "  --device D   also show what device D picks (auto, opencl, opencl:P:D, cpu, ref)\n"
            "  -h, --help   this help\n");
}

static void list_devices(void)
{
    oct_device_info devs[MAX_LISTED];
    int count = 0;
    oct_status s = oct_list_devices(devs, MAX_LISTED, &count);
    if (s != OCT_OK) {
        printf("OpenCL devices: could not list them: %s\n", oct_last_error());
        return;
    }
    if (count == 0) {
        const char *why = oct_last_error();
        printf("OpenCL devices: none (%s)\n", why && *why ? why : "no reason given");
        return;
    }
    printf("OpenCL devices (%d):\n", count);
    for (int i = 0; i < count && i < MAX_LISTED; i++) {
        const oct_device_info *d = &devs[i];
        printf("  %d:%d  %s  [%s]\n", d->platform_index, d->device_index, d->name, d->is_gpu ? "GPU" : "not a GPU");
        printf("       platform: %s; driver: %s\n", d->platform, d->driver);
    }
    if (count > MAX_LISTED) printf("  ... and %d more\n", count - MAX_LISTED);
}

/* "<label>: <name>" and the reason, or the error the library gives for `spec`. */
static oct_status show_pick(const char *label, const char *spec)
{
    oct_context *ctx = NULL;
    oct_device_info info;
    oct_status s = oct_context_create(spec, &ctx);
    if (s == OCT_OK) s = oct_context_info(ctx, &info);
    if (s == OCT_OK) {
        printf("%s: %s [%s]\n  why: %s\n", label, info.name, cli_backend_name(info.backend), info.reason);
    } else {
        const char *msg = oct_last_error();
        printf("%s: fails: %s\n", label, msg && *msg ? msg : oct_status_string(s));
    }
    oct_context_free(ctx);
    return s;
}

int cli_cmd_info(int argc, char **argv)
{
    enum { OPT_DEVICE = 1 };
    static const cli_option opts[] = {{"device", 1, OPT_DEVICE}, {NULL, 0, 0}};
    const char *device = NULL, *value;
    cli_parser p;
    cli_parser_init(&p, "info", argc, argv, opts);
    for (int id; (id = cli_next(&p, &value)) != CLI_OPT_END;) {
        if (id == CLI_OPT_ERROR) return CLI_USAGE;
        if (id == CLI_OPT_HELP) return (usage(stdout), CLI_OK);
        if (id == OPT_DEVICE) device = value;
    }

    printf("octcl %s\n\n", OCTCL_VERSION);
    list_devices();
    printf("Native paths (always available): cpu (native CPU), ref (reference)\n\n");
    show_pick("auto picks", "auto");
    const char *env = getenv("OCTCL_DEVICE");
    if (env && *env) {
        char label[320];
        snprintf(label, sizeof label, "$OCTCL_DEVICE=\"%.256s\" (used without --device) picks", env);
        show_pick(label, env);
    } else {
        printf("$OCTCL_DEVICE is not set: commands without --device use auto\n");
    }
    char cache[4096];
    if (oct_cache_dir(cache, sizeof cache))
        printf("OpenCL program cache: %s ($OCTCL_CACHE_DIR, else $XDG_CACHE_HOME/octcl, else $HOME/.cache/octcl; "
               "OCTCL_CACHE_DIR=off disables it)\n",
               cache);
    else
        printf("OpenCL program cache: off (%s)\n", getenv("OCTCL_CACHE_DIR") && *getenv("OCTCL_CACHE_DIR")
                                                         ? "OCTCL_CACHE_DIR=off"
                                                         : "no $XDG_CACHE_HOME or $HOME");
    const char *warn = oct_cache_warning();
    if (warn && *warn) printf("  warning: %s\n", warn);
    if (device) {
        char label[320];
        snprintf(label, sizeof label, "--device %.256s picks", device);
        oct_status s = show_pick(label, device);
        if (s == OCT_ERR_BAD_DEVICE_SPEC) return cli_usage_error("info", "%s", oct_last_error());
        if (s != OCT_OK) return cli_fail_status(s);
    }
    return CLI_OK;
}
