/* cache_dir.c — where the on-disk OpenCL program cache lives (program_cache.c keeps the
 * files; `octcl info` shows the folder): $OCTCL_CACHE_DIR ("off" or "0": no cache), else
 * $XDG_CACHE_HOME/octcl when that is an absolute path, else $HOME/.cache/octcl. Also the
 * program cache's first refusal (oct_cache_warning), here so that a build without OpenCL
 * answers it too ("").
 */
#include "internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oct__cache_dir(char *dir, size_t len, const char **why)
{
    const char *env = getenv("OCTCL_CACHE_DIR");
    int n;
    if (env && *env) {
        if (strcmp(env, "off") == 0 || strcmp(env, "0") == 0) {
            *why = "$OCTCL_CACHE_DIR turns it off";
            return 0;
        }
        *why = "$OCTCL_CACHE_DIR";
        n = snprintf(dir, len, "%s", env);
    } else if ((env = getenv("XDG_CACHE_HOME")) && env[0] == '/') {
        *why = "$XDG_CACHE_HOME/octcl";
        n = snprintf(dir, len, "%s/octcl", env);
    } else if ((env = getenv("HOME")) && *env) {
        *why = "$HOME/.cache/octcl";
        n = snprintf(dir, len, "%s/.cache/octcl", env);
    } else {
        *why = "none of $OCTCL_CACHE_DIR, $XDG_CACHE_HOME, $HOME is set";
        return 0;
    }
    if (n <= 0 || (size_t)n >= len) {
        *why = "the folder's path is too long";
        return 0;
    }
    return 1;
}

oct_status oct_program_cache_dir(char *buf, size_t len, int *enabled, const char **why)
{
    const char *reason = "";
    if (!buf || !enabled || len == 0)
        return oct__fail(OCT_ERR_NULL_ARG, "oct_program_cache_dir: %s", !buf || len == 0 ? "no buffer" : "enabled is NULL");
    *enabled = oct__cache_dir(buf, len, &reason);
    if (!*enabled) buf[0] = '\0';
    if (why) *why = reason;
    return OCT_OK;
}

static char oct__cache_warning_text[512];
static atomic_int oct__cache_warned; /* 0 none, 1 being written, 2 written */

void oct__cache_refuse(const char *fmt, const char *a, const char *b)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&oct__cache_warned, &expect, 1)) return;
    if (snprintf(oct__cache_warning_text, sizeof oct__cache_warning_text, fmt, a, b) < 0)
        oct__cache_warning_text[0] = '\0';
    atomic_store(&oct__cache_warned, 2);
}

const char *oct_cache_warning(void)
{
    return atomic_load(&oct__cache_warned) == 2 ? oct__cache_warning_text : "";
}
