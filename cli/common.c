/* common.c — the helpers behind cli_common.h (library octcl_cli_common, linked by the
 * `octcl` program and by `octcl bench`): the option parser, strict number parsing,
 * one-line error reports, opening a device, shape and JSON formatting, the clock.
 */
#include "cli_common.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------ */
/* Reporting                                                                             */


static char cli_error_line[1024];
static int cli_errors_held;

void cli_hold_errors(int on)
{
    cli_errors_held = on;
}

const char *cli_last_error(void)
{
    return cli_error_line;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[sizeof cli_error_line];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (snprintf(cli_error_line, sizeof cli_error_line, "octcl %s: %s (see octcl %s --help)", cmd, msg, cmd) >=
        (int)sizeof cli_error_line)
        memcpy(cli_error_line + sizeof cli_error_line - 4, "...", 4); /* cut, and says so */
    if (!cli_errors_held) fprintf(stderr, "%s\n", cli_error_line);
    return CLI_USAGE;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cli_error_line, sizeof cli_error_line, fmt, ap);
    va_end(ap);
    if (!cli_errors_held) fprintf(stderr, "octcl: error: %s\n", cli_error_line);
    return CLI_FAILED;
}

const char *cli_status_text(oct_status s)
{
    const char *msg = oct_last_error();
    return msg && *msg ? msg : oct_status_string(s);
}

int cli_fail_status(oct_status s)
{
    return cli_fail("%s", cli_status_text(s));
}

/* ------------------------------------------------------------------------------------ */
/* Signals                                                                               */

/* SIGINT, SIGTERM, SIGHUP, SIGQUIT: remove the temporaries of output files being written
 * (the old files stay as they were), then die of the same signal. */
static void on_fatal_signal(int sig)
{
    oct_file_abandon_pending();
    raise(sig); /* the handler was reset (SA_RESETHAND): the default action now */
}

void cli_install_signal_cleanup(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        /* A signal ignored by the parent (nohup, a shell's background job) stays ignored. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
    /* Past a file-size limit (ulimit -f) a write fails with EFBIG and the output's
     * temporary is removed, instead of the process dying with the temporary left. */
    signal(SIGXFSZ, SIG_IGN);
}

int cli_write_file(const char *path, const void *bytes, size_t len)
{
    oct_status s = oct_file_write(path, bytes, len);
    return s == OCT_OK ? CLI_OK : cli_fail_status(s);
}

/* ------------------------------------------------------------------------------------ */
/* Options                                                                               */

void cli_parser_init(cli_parser *p, const char *cmd, int argc, char **argv, const cli_option *opts)
{
    p->cmd = cmd;
    p->argc = argc;
    p->argv = argv;
    p->i = 1;
    p->opts = opts;
}

static const cli_option *find_option(const cli_option *opts, const char *name, size_t len)
{
    for (const cli_option *o = opts; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) return o;
    return NULL;
}

int cli_next(cli_parser *p, const char **value)
{
    *value = NULL;
    if (p->i >= p->argc) return CLI_OPT_END;
    const char *arg = p->argv[p->i++];
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) return CLI_OPT_HELP;
    /* No subcommand takes positional arguments, so a lone "--" is one too. */
    if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
        if (arg[0] == '-' && arg[1] && arg[1] != '-')
            return (cli_usage_error(p->cmd, "unknown option '%s'", arg), CLI_OPT_ERROR);
        return (cli_usage_error(p->cmd, "unexpected argument '%s'", arg), CLI_OPT_ERROR);
    }
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const cli_option *o = find_option(p->opts, name, len);
    if (!o && eq && strncmp(name, "help=", 5) == 0)
        return (cli_usage_error(p->cmd, "option '--help' takes no value"), CLI_OPT_ERROR);
    if (!o) return (cli_usage_error(p->cmd, "unknown option '--%.*s'", (int)len, name), CLI_OPT_ERROR);
    if (!o->has_value) {
        if (eq) return (cli_usage_error(p->cmd, "option '--%s' takes no value", o->name), CLI_OPT_ERROR);
        return o->id;
    }
    if (eq) {
        *value = eq + 1;
    } else {
        if (p->i >= p->argc)
            return (cli_usage_error(p->cmd, "option '--%s' needs a value", o->name), CLI_OPT_ERROR);
        *value = p->argv[p->i++];
    }
    return o->id;
}

/* ------------------------------------------------------------------------------------ */
/* Strict numbers                                                                        */

/* A number starts with a digit or a sign followed by one (no spaces, no empty string). */
static int looks_numeric(const char *s)
{
    if (*s == '+' || *s == '-') s++;
    return isdigit((unsigned char)*s) || *s == '.';
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, long min, long max, int *out)
{
    char *end;
    errno = 0;
    long v = looks_numeric(s) ? strtol(s, &end, 10) : 0;
    if (!looks_numeric(s) || *end != '\0' || errno == ERANGE)
        return (cli_usage_error(cmd, "--%s \"%s\": not an integer", opt, s), 0);
    if (v < min || v > max)
        return (cli_usage_error(cmd, "--%s %ld: must be in %ld..%ld", opt, v, min, max), 0);
    *out = (int)v;
    return 1;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    int ok = isdigit((unsigned char)s[0]);
    unsigned long long v = ok ? strtoull(s, &end, 10) : 0;
    if (!ok || *end != '\0' || errno == ERANGE)
        return (cli_usage_error(cmd, "--%s \"%s\": not a non-negative integer below 2^64", opt, s), 0);
    *out = (uint64_t)v;
    return 1;
}

int cli_parse_bytes(const char *cmd, const char *opt, const char *s, size_t *out)
{
    char *end;
    errno = 0;
    int ok = isdigit((unsigned char)s[0]);
    unsigned long long v = ok ? strtoull(s, &end, 10) : 0;
    if (!ok || errno == ERANGE) goto bad;
    unsigned long long mul = 1;
    if (*end == 'K' || *end == 'k') mul = 1ull << 10, end++;
    else if (*end == 'M' || *end == 'm') mul = 1ull << 20, end++;
    else if (*end == 'G' || *end == 'g') mul = 1ull << 30, end++;
    if (*end != '\0' || v == 0 || v > SIZE_MAX / mul) goto bad;
    *out = (size_t)(v * mul);
    return 1;
bad:
    return (cli_usage_error(cmd, "--%s \"%s\": not a positive byte count (a number, optionally with K, M or G)", opt,
                            s),
            0);
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = looks_numeric(s) ? strtod(s, &end) : NAN;
    if (!looks_numeric(s) || *end != '\0' || !isfinite(v))
        return (cli_usage_error(cmd, "--%s \"%s\": not a number", opt, s), 0);
    if (!(v >= min && v <= max)) return (cli_usage_error(cmd, "--%s %s: must be in [%g, %g]", opt, s, min, max), 0);
    *out = v;
    return 1;
}

int cli_parse_size(const char *cmd, const char *opt, const char *s, int max, int *h, int *w)
{
    const char *x = strpbrk(s, "xX");
    char *end;
    long hv = 0, wv = 0;
    int ok = x && isdigit((unsigned char)s[0]) && isdigit((unsigned char)x[1]);
    if (ok) {
        errno = 0;
        hv = strtol(s, &end, 10);
        ok = end == x && errno != ERANGE;
        wv = strtol(x + 1, &end, 10);
        ok = ok && *end == '\0' && errno != ERANGE;
    }
    if (!ok) return (cli_usage_error(cmd, "--%s \"%s\": expected HxW, e.g. 32x32", opt, s), 0);
    if (hv < 1 || hv > max || wv < 1 || wv > max)
        return (cli_usage_error(cmd, "--%s %s: height and width must be in 1..%d", opt, s, max), 0);
    *h = (int)hv;
    *w = (int)wv;
    return 1;
}

/* ------------------------------------------------------------------------------------ */
/* Devices                                                                               */

void cli_say_device(const oct_device_info *info) { fprintf(stderr, "device: %s (%s)\n", info->name, info->reason); }

int cli_open_device(const char *cmd, const char *device, int say, oct_context **ctx, oct_device_info *info)
{
    oct_status s = oct_context_create(device, ctx);
    if (s == OCT_ERR_BAD_DEVICE_SPEC) {
        const char *env = getenv("OCTCL_DEVICE");
        return cli_usage_error(cmd, "%s%s", oct_last_error(), !device && env && *env ? " (from $OCTCL_DEVICE)" : "");
    }
    if (s != OCT_OK) return cli_fail_status(s);
    if ((s = oct_context_info(*ctx, info)) != OCT_OK) {
        oct_context_free(*ctx);
        *ctx = NULL;
        return cli_fail_status(s);
    }
    if (say) cli_say_device(info);
    /* The library refuses a program cache someone else could have planted and runs
     * uncached; say so once. */
    const char *warn = oct_cache_warning();
    if (warn && *warn) fprintf(stderr, "octcl: warning: %s\n", warn);
    return CLI_OK;
}

uint64_t cli_splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int cli_open_model(const char *cmd, const char *device, const char *path, int n, int *h, int *w, oct_context **ctx,
                   oct_device_info *info, oct_model **m, oct_model_tensor *in, oct_model_tensor *out)
{
    *m = NULL;
    int rc = cli_open_device(cmd, device, 1, ctx, info);
    if (rc != CLI_OK) return rc;
    oct_status s = oct_model_load(*ctx, path, m);
    if (s == OCT_OK) s = oct_model_input(*m, 0, in);
    if (s == OCT_OK && *h == 0) {
        *h = in->dims[2] > 0 ? (int)in->dims[2] : 32;
        *w = in->dims[3] > 0 ? (int)in->dims[3] : 32;
    }
    if (s == OCT_OK) s = oct_model_output_shape(*m, n, *h, *w, out);
    if (s == OCT_OK) return CLI_OK;
    rc = cli_fail_status(s);
    oct_model_free(*m);
    oct_context_free(*ctx);
    *m = NULL;
    *ctx = NULL;
    return rc;
}

const char *cli_backend_name(oct_backend b) { return oct_backend_name(b); }

/* ------------------------------------------------------------------------------------ */
/* Formatting                                                                            */

void cli_format_shape(char *buf, size_t len, int rank, const int64_t *dims)
{
    if (rank <= 0) {
        snprintf(buf, len, "None");
        return;
    }
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < rank && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%" PRId64, i ? ", " : "(", dims[i]);
    if (o < len) snprintf(buf + o, len - o, "%s)", rank == 1 ? "," : "");
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

double cli_host_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double cap = pages > 0 && page > 0 ? (double)pages * (double)page : 1e300;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (double)rl.rlim_cur < cap)
        cap = (double)rl.rlim_cur;
    return cap;
}

size_t cli_memory_limit(const oct_device_info *di, size_t given)
{
    if (given || di->backend == OCT_BACKEND_OPENCL) return given;
    double half = cli_host_memory() / 2;
    return half >= (double)SIZE_MAX ? 0 : (size_t)half;
}

double cli_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
