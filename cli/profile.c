/* profile.c — `octcl profile`: where a network's time goes, layer by layer. Each repeat
 * is one oct_model_profile_threads pass (the device finished after every layer) on a
 * seeded random batch in [-1, 1]; per layer the minimum over the repeats, its MACs and
 * GFLOP/s, how busy the host threads were in that fastest pass of it, then the same
 * summed by kind (OctConv by path, plain Conv by kernel), and the sum of the layer minima
 * beside the minimum plain pass (oct_model_forward) so the sync cost shows.
 */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 65536
#define MAX_SIDE 16384

static void usage(FILE *f)
{
    fprintf(f,
            "usage: octcl profile --model FILE [--batch N] [--size HxW] [--device D] [--repeat N]\n"
            "                     [--warmup N] [--seed S] [--json FILE|-] [--top K]\n"
            "\n"
            "Time a model layer by layer: each pass runs the layers of `octcl info --model FILE\n"
            "--verbose` in order and waits for the device after every layer, so each time is that\n"
            "layer's work alone (the sum of the layers can exceed a plain pass by that waiting,\n"
            "which the summary shows). The input is a random batch in [-1, 1] from --seed.\n"
            "\n"
            "options:\n"
            "  --model FILE   an ONNX file or an OctNetMini safetensors file\n"
            "  --batch N      images per pass (default 1)\n"
            "  --size HxW     input size (default: the model's declared size, else 32x32)\n"
            "  --device D     auto, opencl, opencl:P:D, cpu or ref (default $OCTCL_DEVICE, else auto)\n"
            "  --repeat N     timed passes; each layer reports its minimum (default 10)\n"
            "  --warmup N     untimed passes first (default 2)\n"
            "  --seed S       seed of the random input (default 1)\n"
            "  --json FILE    also write the results as JSON (- : JSON alone on stdout)\n"
            "  --top K        list only the K slowest layers, slowest first (the summary keeps all)\n"
            "  -h, --help     this help\n"
            "\n"
            "columns: layer index, kind (\"Conv 3x3\", \"OctConv 2 hl\": OctConv layer 2, path\n"
            "high->low, ...), output shape (high + low band for a layer with two), MACs per pass\n"
            "(batch included), minimum ms, GFLOP/s = 2 x MACs / time, share of the summed layer\n"
            "minima, busy (the host threads' mean busy time in the layer's fastest pass over\n"
            "its time: a thread waiting for work or for the others to finish their shares is not\n"
            "busy; ref and OpenCL run one thread, always 100%%), the source node it came from.\n"
            "executed: the multiply-adds the cpu backend ran (fewer than MACs where Winograd\n"
            "serves a 3x3 layer; one more pass counts them), %%peak: their rate over its FMA\n"
            "probe's peak (\"-\" on ref and OpenCL, which count none).\n"
            "Groups: OctConv by path (hh, lh, hl, ll), Conv by kernel (1x1, 3x3, 7x7, other),\n"
            "the rest by kind; their busy weighs each layer by its time. OctNetMini lists no\n"
            "output shapes (its shape trace is the seed's), and its layer MACs at sizes other\n"
            "than 32x32 are scaled from the whole network's count.\n");
}

/* ------------------------------------------------------------------------------------ */
/* Output shapes from the shape trace (one line per layer output for ONNX graphs)        */

typedef struct {
    char label[200];
    int rank, dims[4];
} trace_line;

typedef struct {
    trace_line *v;
    int n, cap, oom;
} trace_lines;

static void collect(void *user, const char *label, int rank, const int *dims)
{
    trace_lines *t = user;
    if (t->oom) return;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        trace_line *v = realloc(t->v, (size_t)cap * sizeof *v);
        if (!v) {
            t->oom = 1;
            return;
        }
        t->v = v, t->cap = cap;
    }
    trace_line *l = &t->v[t->n++];
    snprintf(l->label, sizeof l->label, "%s", label);
    l->rank = rank;
    memcpy(l->dims, dims, sizeof l->dims);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static long long elems(const trace_line *l)
{
    long long e = 1;
    for (int k = 1; k < (l->rank < 4 ? l->rank : 4); k++) e *= l->dims[k];
    return e;
}

typedef struct {
    oct_model_layer l;
    char shape[176];
    long long macs;   /* per pass, at the profiled size */
    double ms;        /* minimum over the repeats */
    double *thread_ms; /* each host thread's busy ms in that fastest pass of the layer */
    double busy;      /* their mean over ms, 0..1 */
    long long exec;   /* multiply-adds the backend executed (oct_model_layer_macs_executed), -1: not counted */
} layer_row;

/* Trace lines of layer i start at first[i] (count[i] of them: 2 for a high and a low band).
 * 0 when the lines do not follow the layers one by one (OctNetMini's trace is the seed's). */
static int match_trace(const trace_lines *t, const layer_row *rows, int nl, int *first, int *count)
{
    int j = 0;
    for (int i = 0; i < nl; i++) {
        if (j >= t->n) return 0;
        first[i] = j;
        count[i] = 1;
        const char *lab = t->v[j].label;
        if (ends_with(lab, " high")) {
            if (j + 1 >= t->n || !ends_with(t->v[j + 1].label, " low")) return 0;
            count[i] = 2;
        } else {
            size_t k = strlen(rows[i].l.name);
            if (strncmp(lab, rows[i].l.name, k) != 0 || strncmp(lab + k, " (", 2) != 0) return 0;
        }
        j += count[i];
    }
    return j == t->n;
}

/* ------------------------------------------------------------------------------------ */
/* Results                                                                                */

typedef struct {
    char name[48];
    int layers;
    long long macs;
    double ms;
    double busy_ms;   /* the layers' busy fraction times their ms, summed */
    long long exec;   /* executed multiply-adds, summed; -1: not counted */
} group_row;

static void group_name(const oct_model_layer *l, char *out, size_t len)
{
    int kh, kw, blk;
    char role[8];
    if (sscanf(l->kind, "OctConv %d %7s", &blk, role) == 2)
        snprintf(out, len, "OctConv %s", role);
    else if (sscanf(l->kind, "Conv %dx%d", &kh, &kw) == 2)
        snprintf(out, len, "Conv %s", kh == kw && (kh == 1 || kh == 3 || kh == 7) ? (kh == 1 ? "1x1" : kh == 3 ? "3x3" : "7x7") : "other");
    else
        snprintf(out, len, "%s", l->kind);
}

static double gflops(long long macs, double ms) { return ms > 0 ? 2.0 * (double)macs / (ms * 1e6) : 0; }

static int by_time_desc(const void *a, const void *b)
{
    const layer_row *x = *(layer_row *const *)a, *y = *(layer_row *const *)b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

static double pct(double part, double whole) { return whole > 0 ? 100 * part / whole : 0; }

/* The executed multiply-adds' rate as a share (%) of the peak, or -1 where either is unknown. */
static double peak_pct(long long exec, double ms, double peak)
{
    return exec >= 0 && peak > 0 && ms > 0 ? pct(gflops(exec, ms), peak) : -1;
}

/* Columns "executed" and "%peak": the count and that share, "-" where unknown. */
static void print_exec(FILE *f, long long exec, double ms, double peak)
{
    double p = peak_pct(exec, ms, peak);
    if (exec >= 0)
        fprintf(f, " %14lld", exec);
    else
        fprintf(f, " %14s", "-");
    if (p >= 0)
        fprintf(f, " %5.1f%%", p);
    else
        fprintf(f, " %6s", "-");
}

static void print_table(FILE *f, const char *model, const oct_device_info *di, int batch, int h, int w, int repeat,
                        int warmup, int threads, layer_row *rows, int nl, const group_row *groups, int ng,
                        double total_ms, double forward_ms, int top, double peak)
{
    fprintf(f, "model: %s\n", model);
    fprintf(f, "device: %s [%s], %d host thread%s; batch %d, %dx%d; minimum of %d passes after %d warm-up\n",
            di->name, cli_backend_name(di->backend), threads, threads == 1 ? "" : "s", batch, h, w, repeat, warmup);
    layer_row **order = malloc((size_t)nl * sizeof *order);
    if (!order) return;
    for (int i = 0; i < nl; i++) order[i] = &rows[i];
    int shown = nl;
    if (top > 0) {
        qsort(order, (size_t)nl, sizeof *order, by_time_desc);
        if (top < nl) shown = top;
        fprintf(f, "\nthe %d slowest of %d layers:\n", shown, nl);
    } else {
        fprintf(f, "\n");
    }
    fprintf(f, "%5s  %-17s %-36s %14s %10s %9s %14s %6s %6s %6s  %s\n", "layer", "kind", "output", "MACs", "ms",
            "GFLOP/s", "executed", "%peak", "share", "busy", "name");
    for (int k = 0; k < shown; k++) {
        const layer_row *r = order[k];
        fprintf(f, "%5d  %-17s %-36s %14lld %10.4f %9.2f", (int)(r - rows), r->l.kind, r->shape, r->macs, r->ms,
                gflops(r->macs, r->ms));
        print_exec(f, r->exec, r->ms, peak);
        fprintf(f, " %5.1f%% %5.1f%%  %s\n", pct(r->ms, total_ms), 100 * r->busy, r->l.name);
    }
    free(order);
    fprintf(f, "\nby kind:\n%-17s %6s %14s %10s %9s %14s %6s %6s %6s\n", "group", "layers", "MACs", "ms", "GFLOP/s",
            "executed", "%peak", "share", "busy");
    long long all_macs = 0, all_exec = 0;
    double all_busy = 0;
    for (int g = 0; g < ng; g++) {
        all_macs += groups[g].macs;
        all_exec = all_exec < 0 || groups[g].exec < 0 ? -1 : all_exec + groups[g].exec;
        all_busy += groups[g].busy_ms;
        fprintf(f, "%-17s %6d %14lld %10.4f %9.2f", groups[g].name, groups[g].layers, groups[g].macs, groups[g].ms,
                gflops(groups[g].macs, groups[g].ms));
        print_exec(f, groups[g].exec, groups[g].ms, peak);
        fprintf(f, " %5.1f%% %5.1f%%\n", pct(groups[g].ms, total_ms), pct(groups[g].busy_ms, groups[g].ms));
    }
    fprintf(f, "%-17s %6d %14lld %10.4f %9.2f", "total", nl, all_macs, total_ms, gflops(all_macs, total_ms));
    print_exec(f, ng ? all_exec : -1, total_ms, peak);
    fprintf(f, " %5.1f%% %5.1f%%\n", 100.0, pct(all_busy, total_ms));
    fprintf(f, "\nsum of the layer minima: %.4f ms; plain forward pass (minimum): %.4f ms (%.2f GFLOP/s)\n", total_ms,
            forward_ms, gflops(all_macs, forward_ms));
    if (ng && all_exec >= 0 && peak > 0)
        fprintf(f, "at the FMA peak (%.1f GFLOP/s) the executed multiply-adds would take %.4f ms: the layers ran at "
                   "%.1f%% of it\n",
                peak, 2.0 * (double)all_exec / (peak * 1e6), peak_pct(all_exec, total_ms, peak));
}

static void print_json(FILE *f, const char *model, const oct_device_info *di, int batch, int h, int w, int repeat,
                       int warmup, int threads, const layer_row *rows, int nl, const group_row *groups, int ng,
                       double total_ms, double forward_ms, double peak)
{
    fprintf(f, "{\"model\": ");
    cli_json_string(f, model);
    fprintf(f, ", \"device\": ");
    cli_json_string(f, di->name);
    fprintf(f, ", \"backend\": ");
    cli_json_string(f, cli_backend_name(di->backend));
    fprintf(f, ", \"threads\": %d, \"batch\": %d, \"size\": [%d, %d], \"repeat\": %d, \"warmup\": %d,\n \"layers\": [",
            threads, batch, h, w, repeat, warmup);
    for (int i = 0; i < nl; i++) {
        const layer_row *r = &rows[i];
        fprintf(f, "%s\n  {\"index\": %d, \"kind\": ", i ? "," : "", i);
        cli_json_string(f, r->l.kind);
        fprintf(f, ", \"name\": ");
        cli_json_string(f, r->l.name);
        fprintf(f, ", \"output\": ");
        cli_json_string(f, r->shape);
        fprintf(f, ", \"macs\": %lld, \"ms\": %.6f, \"gflops\": %.4f, \"macs_executed\": %lld, \"peak_share\": %.6f, "
                   "\"share\": %.6f, \"busy\": %.6f, \"thread_ms\": [",
                r->macs, r->ms, gflops(r->macs, r->ms), r->exec, peak_pct(r->exec, r->ms, peak), pct(r->ms, total_ms),
                r->busy);
        for (int t = 0; t < threads; t++) fprintf(f, "%s%.6f", t ? ", " : "", r->thread_ms[t]);
        fprintf(f, "]}");
    }
    fprintf(f, "],\n \"groups\": [");
    for (int g = 0; g < ng; g++) {
        fprintf(f, "%s\n  {\"group\": ", g ? "," : "");
        cli_json_string(f, groups[g].name);
        fprintf(f,
                ", \"layers\": %d, \"macs\": %lld, \"ms\": %.6f, \"gflops\": %.4f, \"macs_executed\": %lld, "
                "\"peak_share\": %.6f, \"share\": %.6f, \"busy\": %.6f}",
                groups[g].layers, groups[g].macs, groups[g].ms, gflops(groups[g].macs, groups[g].ms), groups[g].exec,
                peak_pct(groups[g].exec, groups[g].ms, peak), pct(groups[g].ms, total_ms),
                groups[g].ms > 0 ? groups[g].busy_ms / groups[g].ms : 0);
    }
    fprintf(f, "],\n \"total_ms\": %.6f, \"forward_ms\": %.6f, \"peak_gflops\": %.4f}\n", total_ms, forward_ms,
            peak > 0 ? peak : -1.0);
}

/* ------------------------------------------------------------------------------------ */
/* The command                                                                            */

/* The random input, uniform in [-1, 1] (a splitmix64 stream). */
static float next_uniform(uint64_t *s)
{
    return (float)((double)(cli_splitmix64(s) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* MACs per pass of each layer at (batch, h, w). oct_model_layer_get counts one image at
 * the declared size; a layer's MACs are proportional to its output's size (conv) or fixed
 * (linear), so they follow the traces at both sizes. Where the traces do not list layers
 * (OctNetMini), the whole network's ratio scales them (exact at the size layer_get uses). */
static void layer_macs(oct_model *m, layer_row *rows, int nl, const trace_lines *at, const int *first, int matched,
                       const oct_model_tensor *in, int batch, int h, int w)
{
    long long decl_sum = 0, want = oct_model_macs(m, h, w);
    for (int i = 0; i < nl; i++) decl_sum += rows[i].l.macs;
    int ok = 0;
    if (matched && in->dims[2] > 0 && in->dims[3] > 0) {
        trace_lines d = {0};
        int *f2 = malloc((size_t)nl * sizeof *f2), *c2 = malloc((size_t)nl * sizeof *c2);
        if (f2 && c2 && oct_model_trace(m, 1, (int)in->dims[2], (int)in->dims[3], collect, &d) == OCT_OK &&
            !d.oom) {
            if (match_trace(&d, rows, nl, f2, c2)) {
                long long sum = 0;
                for (int i = 0; i < nl; i++) {
                    long long e_decl = elems(&d.v[f2[i]]), e_at = elems(&at->v[first[i]]);
                    rows[i].macs = e_decl > 0 ? llround((double)rows[i].l.macs * (double)e_at / (double)e_decl) : 0;
                    sum += rows[i].macs;
                }
                ok = sum == want; /* the walk's own count agrees */
            }
        }
        free(f2);
        free(c2);
        free(d.v);
    }
    for (int i = 0; i < nl; i++) {
        if (!ok)
            rows[i].macs = decl_sum > 0 ? llround((double)rows[i].l.macs * (double)want / (double)decl_sum) : 0;
        rows[i].macs *= batch;
    }
}

int cli_cmd_profile(int argc, char **argv)
{
    enum { OPT_MODEL = 1, OPT_BATCH, OPT_SIZE, OPT_DEVICE, OPT_REPEAT, OPT_WARMUP, OPT_SEED, OPT_JSON, OPT_TOP };
    static const cli_option opts[] = {{"model", 1, OPT_MODEL},   {"batch", 1, OPT_BATCH},   {"size", 1, OPT_SIZE},
                                      {"device", 1, OPT_DEVICE}, {"repeat", 1, OPT_REPEAT}, {"warmup", 1, OPT_WARMUP},
                                      {"seed", 1, OPT_SEED},     {"json", 1, OPT_JSON},     {"top", 1, OPT_TOP},
                                      {NULL, 0, 0}};
    const char *cmd = "profile", *model = NULL, *device = NULL, *json = NULL, *v;
    int batch = 1, h = 0, w = 0, repeat = 10, warmup = 2, top = 0;
    uint64_t seed = 1;
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, opts);
    for (int id; (id = cli_next(&p, &v)) != CLI_OPT_END;) {
        int ok = 1;
        switch (id) {
        case CLI_OPT_ERROR: return CLI_USAGE;
        case CLI_OPT_HELP: usage(stdout); return CLI_OK;
        case OPT_MODEL: model = v; break;
        case OPT_BATCH: ok = cli_parse_int(cmd, "batch", v, 1, MAX_BATCH, &batch); break;
        case OPT_SIZE: ok = cli_parse_size(cmd, "size", v, MAX_SIDE, &h, &w); break;
        case OPT_DEVICE: device = v; break;
        case OPT_REPEAT: ok = cli_parse_int(cmd, "repeat", v, 1, 1000000, &repeat); break;
        case OPT_WARMUP: ok = cli_parse_int(cmd, "warmup", v, 0, 1000000, &warmup); break;
        case OPT_SEED: ok = cli_parse_u64(cmd, "seed", v, &seed); break;
        case OPT_JSON: json = v; break;
        case OPT_TOP: ok = cli_parse_int(cmd, "top", v, 1, 1000000, &top); break;
        }
        if (!ok) return CLI_USAGE;
    }
    if (!model) return cli_usage_error(cmd, "--model FILE is required");
    if (json && !*json) return cli_usage_error(cmd, "--json needs a file name or -");

    oct_context *ctx = NULL;
    oct_model *m = NULL;
    oct_device_info di;
    float *x = NULL, *y = NULL;
    double *secs = NULL, *tsecs = NULL, *tms = NULL;
    long long *exec = NULL;
    layer_row *rows = NULL;
    group_row *groups = NULL;
    trace_lines tr = {0};
    int *first = NULL, *count = NULL, ng = 0;
    oct_model_tensor in, out;
    int rc = cli_open_model(cmd, device, model, batch, &h, &w, &ctx, &di, &m, &in, &out);
    if (rc != CLI_OK) return rc;
    oct_status s = OCT_OK;
    int nl = oct_model_layer_count(m), nt = oct_model_threads(m);
    size_t in_count = (size_t)batch * (size_t)in.dims[1] * (size_t)h * (size_t)w;
    size_t out_count = (size_t)batch * (size_t)out.dims[1] * (size_t)out.dims[2] * (size_t)out.dims[3];
    x = malloc(in_count * sizeof *x);
    y = malloc((out_count ? out_count : 1) * sizeof *y);
    secs = calloc((size_t)(nl > 0 ? nl : 1), sizeof *secs);
    rows = calloc((size_t)(nl > 0 ? nl : 1), sizeof *rows);
    groups = calloc((size_t)(nl > 0 ? nl : 1), sizeof *groups);
    first = calloc((size_t)(nl > 0 ? nl : 1), sizeof *first);
    count = calloc((size_t)(nl > 0 ? nl : 1), sizeof *count);
    tsecs = calloc((size_t)(nl > 0 ? nl : 1) * (size_t)nt, sizeof *tsecs);
    tms = calloc((size_t)(nl > 0 ? nl : 1) * (size_t)nt, sizeof *tms);
    exec = calloc((size_t)(nl > 0 ? nl : 1), sizeof *exec);
    if (!x || !y || !secs || !rows || !groups || !first || !count || !tsecs || !tms || !exec) {
        rc = cli_fail("out of host memory for a batch of %d at %dx%d", batch, h, w);
        goto done;
    }
    uint64_t st = seed;
    for (size_t i = 0; i < in_count; i++) x[i] = next_uniform(&st);
    if (nl == 0) { /* the library's own words */
        rc = cli_fail_status(oct_model_profile_threads(m, x, batch, h, w, y, secs, tsecs));
        goto done;
    }
    for (int i = 0; i < nl; i++) {
        if ((s = oct_model_layer_get(m, i, &rows[i].l)) != OCT_OK) {
            rc = cli_fail_status(s);
            goto done;
        }
        rows[i].ms = INFINITY;
        rows[i].thread_ms = tms + (size_t)i * (size_t)nt;
        snprintf(rows[i].shape, sizeof rows[i].shape, "?");
    }
    /* Output shapes (the layer MACs below need oct_model_layer_get's at the declared size). */
    s = oct_model_trace(m, batch, h, w, collect, &tr);
    if (s != OCT_OK) {
        rc = cli_fail_status(s);
        goto done;
    }
    int matched = !tr.oom && match_trace(&tr, rows, nl, first, count);
    for (int i = 0; matched && i < nl; i++) {
        char a[80], b[80];
        int64_t d[4];
        for (int k = 0; k < 4; k++) d[k] = tr.v[first[i]].dims[k];
        cli_format_shape(a, sizeof a, tr.v[first[i]].rank, d);
        if (count[i] == 2) {
            for (int k = 0; k < 4; k++) d[k] = tr.v[first[i] + 1].dims[k];
            cli_format_shape(b, sizeof b, tr.v[first[i] + 1].rank, d);
            snprintf(rows[i].shape, sizeof rows[i].shape, "%s + %s", a, b);
        } else {
            snprintf(rows[i].shape, sizeof rows[i].shape, "%s", a);
        }
    }
    layer_macs(m, rows, nl, &tr, first, matched, &in, batch, h, w);

    /* Warm-up, then the repeats: a timed pass and a plain one each. */
    double forward_ms = INFINITY;
    for (int r = 0; r < warmup + repeat; r++) {
        if ((s = oct_model_profile_threads(m, x, batch, h, w, y, secs, tsecs)) != OCT_OK) break;
        double t0 = cli_now();
        if ((s = oct_model_forward(m, x, batch, h, w, y, NULL, NULL)) != OCT_OK) break;
        double t1 = cli_now();
        if (r < warmup) continue;
        if ((t1 - t0) * 1e3 < forward_ms) forward_ms = (t1 - t0) * 1e3;
        for (int i = 0; i < nl; i++) {
            if (!(secs[i] * 1e3 < rows[i].ms)) continue;
            rows[i].ms = secs[i] * 1e3;
            double sum = 0;
            for (int t = 0; t < nt; t++) sum += rows[i].thread_ms[t] = tsecs[(size_t)i * (size_t)nt + (size_t)t] * 1e3;
            rows[i].busy = rows[i].ms > 0 ? sum / nt / rows[i].ms : 0;
        }
    }
    if (s != OCT_OK) {
        rc = cli_fail_status(s);
        goto done;
    }
    /* One more pass counts each layer's executed multiply-adds (-1 each where the backend
     * counts none); the peak is probed only where they are counted. */
    if ((s = oct_model_layer_macs_executed(m, x, batch, h, w, y, exec)) != OCT_OK) {
        rc = cli_fail_status(s);
        goto done;
    }
    double peak = 0;
    if (exec[0] >= 0 && (s = oct_context_peak_gflops(ctx, &peak)) != OCT_OK) {
        rc = cli_fail_status(s);
        goto done;
    }
    double total_ms = 0;
    for (int i = 0; i < nl; i++) {
        total_ms += rows[i].ms;
        char name[48];
        group_name(&rows[i].l, name, sizeof name);
        int g = 0;
        while (g < ng && strcmp(groups[g].name, name) != 0) g++;
        if (g == ng) snprintf(groups[ng++].name, sizeof groups[0].name, "%s", name);
        rows[i].exec = exec[i];
        groups[g].exec = groups[g].exec < 0 || exec[i] < 0 ? -1 : groups[g].exec + exec[i]; /* calloc'd: 0 first */
        groups[g].layers++;
        groups[g].macs += rows[i].macs;
        groups[g].ms += rows[i].ms;
        groups[g].busy_ms += rows[i].busy * rows[i].ms;
    }
    if (!json || strcmp(json, "-") != 0)
        print_table(stdout, model, &di, batch, h, w, repeat, warmup, nt, rows, nl, groups, ng, total_ms, forward_ms,
                    top, peak);
    if (json && strcmp(json, "-") == 0) {
        print_json(stdout, model, &di, batch, h, w, repeat, warmup, nt, rows, nl, groups, ng, total_ms, forward_ms, peak);
    } else if (json) {
        char *buf = NULL;
        size_t len = 0;
        FILE *mf = open_memstream(&buf, &len);
        if (!mf) {
            rc = cli_fail("cannot make the JSON text for %s", json);
            goto done;
        }
        print_json(mf, model, &di, batch, h, w, repeat, warmup, nt, rows, nl, groups, ng, total_ms, forward_ms, peak);
        fclose(mf);
        rc = cli_write_file(json, buf, len);
        free(buf);
        if (rc != CLI_OK) goto done;
    }
    rc = fflush(stdout) == 0 ? CLI_OK : cli_fail("cannot write to stdout");
done:
    free(tr.v);
    free(first);
    free(count);
    free(groups);
    free(rows);
    free(secs);
    free(tsecs);
    free(tms);
    free(exec);
    free(y);
    free(x);
    oct_model_free(m);
    oct_context_free(ctx);
    return rc;
}
