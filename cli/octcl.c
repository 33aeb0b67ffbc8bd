/* octcl.c — the `octcl` program: runs OctNetMini on an OpenCL device or the CPU.
 * This file holds the top-level usage and the subcommand table; each subcommand lives
 * in its own file (info.c, run.c, classify.c, profile.c) and shares the helpers of common.c.
 */
#include "bench.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"info", cli_cmd_info, "list OpenCL devices (memory, units, versions, FP16/FP64), what `auto` picks, the cache"},
    {"run", cli_cmd_run, "run a model on a .npy batch, PNG/JPEG files or a random batch; write the logits"},
    {"classify", cli_cmd_classify, "classify the Fashion-MNIST test set or PNG/JPEG folders (--images)"},
    {"bench", octcl_bench_main, "time OctNetMini over alphas, batches and devices (table, JSON, CSV)"},
    {"profile", cli_cmd_profile, "time a model layer by layer: ms, MACs, GFLOP/s per layer and per kind"},
    {"tune", cli_cmd_tune, "time a device's tile / blocking variants on a model; store the winner per device"},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_usage(FILE *f)
{
    fprintf(f,
            "usage: octcl <command> [options]\n"
            "       octcl --version | --help\n"
            "\n"
            "Octave Convolution networks (OctNetMini) on OpenCL devices or the CPU.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n"
            "`octcl <command> --help` describes a command's options.\n"
            "\n"
            "devices (--device, or $OCTCL_DEVICE when --device is not given):\n"
            "  auto        the first GPU over all OpenCL platforms, else the native CPU path (default)\n"
            "  opencl      the best OpenCL device of any type (GPUs first)\n"
            "  opencl:P:D  platform P, device D as `octcl info` lists them\n"
            "  cpu         the native CPU path\n"
            "  ref         the reference path (plain loops, double accumulation; slow)\n"
            "\n"
            "environment (every variable octcl reads):\n"
            "  OCTCL_DEVICE      the device when --device is not given (default auto)\n"
            "  OCTCL_MODELS      the folder of classify's default model\n"
            "  OCTCL_THREADS     threads of the cpu path (default: one per online core)\n"
            "  OCTCL_CACHE_DIR   folder of the compiled OpenCL program cache; off or 0: no cache\n"
            "  XDG_CACHE_HOME    without OCTCL_CACHE_DIR the cache is $XDG_CACHE_HOME/octcl (an\n"
            "                    absolute path), else\n"
            "  HOME              $HOME/.cache/octcl (`octcl info` shows which)\n"
            "  OCTCL_KERNEL_DIR  read the OpenCL kernels from this folder's .cl files instead of\n"
            "                    the built-in copies (kernel development)\n"
            "  OCTCL_CONV        OpenCL convolutions: direct, gemm or auto (default)\n"
            "  OCTCL_LINEAR      OpenCL linear layer: kernel, clblast or auto (default)\n"
            "  OCTCL_GEMM_TILES  OpenCL GEMM tiles: gpu, small, cpu, direct (none) or\n"
            "                    TM,TN,TK,RM,RN,WGLOBAL (tuning aid)\n"
            "  OCTCL_TUNE        1: a device with no usable tuning file is tuned when a context is\n"
            "                    first made for it (see `octcl tune --help`)\n"
            "  OCTCL_FMA         off: OpenCL multiply-adds as a correctly rounded mul + add even\n"
            "                    where the device has fma (testing aid)\n"
            "  OCTCL_KERNEL_WG_LIMIT  make compiled OpenCL kernels look limited to N work-items\n"
            "                    (testing aid: the step down to smaller tiles)\n"
            "  OCTCL_CPU_PATH    cpu code path (testing aid): auto, gemm (no AVX-512 kernels: im2col + SGEMM,\n"
            "                    scalar pooling) or im2col (every graph convolution on im2col + SGEMM)\n"
            "  OCTCL_CPU_CONVG   cpu graph convolutions: im2col is OCTCL_CPU_PATH=im2col (older spelling)\n"
            "  OCTCL_CPU_WINOGRAD cpu 3x3 stride-1 convolutions: 1 all as Winograd, 0 none (default: chosen per shape)\n"
            "  OCTCL_CPU_WINO_TILE cpu Winograd tile: 2 all F(2x2,3x3), 4 all F(4x4,3x3) (default: chosen per shape)\n"
            "  OCTCL_CPU_GEMM_PACKED 0: cpu 1x1 convolutions on the direct kernel instead of the packed-weight GEMM\n"
            "  OCTCL_CPU_SMALL   cpu small planes: 1 all stride-1 7/8-wide ones on the channel-lane path, 0 none (default: per shape)\n"
            "  OCTCL_CPU_FUSE_UP 0: OctConv's Up(LH) always added by a separate pass, not in Winograd's or the GEMM's stores\n"
            "  OCTCL_CPU_IMPLICIT 0: strided convolutions on im2col + SGEMM instead of the implicit-im2col GEMM\n"
            "  OCTCL_CPU_SHARED_B 0: cpu 1x1 GEMMs cut into blocks of channels pack B in every block, not once\n"
            "  OCTCL_CPU_AFFINITY 0: cpu threads take an op's next chunk, not their own share's first\n"
            "  OCTCL_CPU_PAIR_SIDE 0: OctConv's L->H as its own convolution, not a side output of the low band's pair\n"
            "  OCTCL_CPU_DEPTH   cpu passes of several images: 0 every node on the whole batch, G,B group budgets in\n"
            "                    KiB (default: from the caches; leading nodes in groups of images, see README)\n"
            "  OCTCL_CPU_STRIDE2 0: cpu stride-2 convolutions (3x3 and up, <= 512 terms) on the GEMM, not the direct kernel\n"
            "  OCTCL_GEMM_PACK_B 1: the packed-weight GEMM packs B instead of reading it in place (AVX-512)\n"
            "  OCTCL_GEMM_NARROW 0: the GEMM's last strip of 8 columns or fewer (AVX-512: or 17-24) as a whole tile\n"
            "  OCTCL_GEMM_EDGE   0: the AVX2 GEMM's last rows (fewer than 6) as a whole 6-row tile\n"
            "  OCTCL_GEMM_ROWS   packed-weight GEMM (B in place): 1 strips of rows, 0 column strips (default: rows on AVX-512)\n"
            "  OCTCL_GEMM        cpu SGEMM kernel: avx512, avx2 or scalar, one the CPU has (testing aid)\n"
            "  OCTCL_FAULT_AT    make the Nth allocation or OpenCL call fail (testing aid)\n"
            "  OMPI_COMM_WORLD_SIZE  set by Open MPI's mpirun: classify and run start MPI and\n"
            "                    share the input among the ranks (see README, MPI)\n"
            "  PMIX_RANK         set by PMIx launchers (mpirun, srun): the same\n"
            "  OCTCL_TEST_FAIL_RANK  make this MPI rank (0 in a plain run) fail (test hook)...\n"
            "  OCTCL_TEST_FAIL_AT    ...at this point only: open, same, warmup (classify), alloc\n"
            "                    (run), round, write (test hook)\n"
            "  OCTCL_FAULT_DEVSET D:K[,D:K...]: device D of a device set fails its K-th chunk\n"
            "                    (testing aid)\n"
            "  (the OpenCL ICD loader reads OCL_ICD_VENDORS and OCL_ICD_FILENAMES; the Python\n"
            "  package reads OCTCL_LIBRARY, the path of liboctcl)\n"
            "\n"
            "exit status: 0 success, 1 the run failed, 2 bad usage\n");
}

/* The library's notes on slow one-off work, said on stderr (the library never prints). */
static void on_event(void *user, const oct_event *e)
{
    (void)user;
    if (e->kind == OCT_EVENT_BUILD_START)
        fprintf(stderr, "building OpenCL kernels for %s, %s\n", e->device,
                e->cached ? "cached for next time" : "not cached (the program cache is off)");
    else if (e->kind == OCT_EVENT_BUILD_DONE)
        fprintf(stderr, "built OpenCL kernels for %s in %.1f s\n", e->device, e->seconds);
    else if (e->kind == OCT_EVENT_DEVICE_DROPPED)
        fprintf(stderr, "octcl: warning: %s\n", e->message);
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    cli_install_signal_cleanup();
    oct_set_event_callback(on_event, NULL);
    if (argc < 2) {
        print_usage(stderr);
        return CLI_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0) {
        printf("octcl %s\n", OCTCL_VERSION);
        return CLI_OK;
    }
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0) {
        print_usage(stdout);
        return CLI_OK;
    }
    if (strcmp(first, "help") == 0) {
        if (argc == 2) {
            print_usage(stdout);
            return CLI_OK;
        }
        /* `octcl help run` is `octcl run --help`. */
        const command *c = find_command(argv[2]);
        if (!c || argc > 3) {
            fprintf(stderr, "octcl: %s '%s' (see octcl --help)\n", c ? "unexpected argument" : "unknown command",
                    c ? argv[3] : argv[2]);
            return CLI_USAGE;
        }
        static char help_flag[] = "--help";
        char *help_argv[] = {argv[2], help_flag, NULL};
        return c->run(2, help_argv);
    }
    const command *c = find_command(first);
    if (!c) {
        if (first[0] == '-')
            fprintf(stderr, "octcl: unknown option '%s' (see octcl --help)\n", first);
        else
            fprintf(stderr, "octcl: unknown command '%s' (see octcl --help)\n", first);
        return CLI_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
