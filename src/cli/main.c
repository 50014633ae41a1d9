/* `axf`: dispatches to the sub-commands. */
#include "cli.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axf/common.h"
#include "axf/dist.h"

typedef struct {
    const char *name;
    axf_cmd_fn fn;
    const char *summary;
} cmd_entry;

static int list_help(const cmd_entry *cmds, int n, FILE *out)
{
    fprintf(out, "AxFormer Workbench %s: make fine-tuned BERT models more accurate, faster and smaller\n\n"
                 "usage: axf COMMAND [ARGS]   (axf COMMAND --help for each)\n\ncommands:\n", AXF_VERSION);
    for (int i = 0; i < n; i++)
        fprintf(out, "  %-11s %s\n", cmds[i].name, cmds[i].summary);
    return 0;
}

/* Under mpirun (dist.h) every rank runs the same command; these are the ones whose evaluations
 * are spread over the ranks. The screen is not: keystrokes reach rank 0 only, and the other
 * ranks would have to replay them in step. */
static int mpi_refuses(const char *cmd)
{
    static const char *const ok[] = {"search", "replay", "eval", "importance", "predict"};
    if (axf_dist_size() < 2)
        return 0;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(cmd, ok[i]))
            return 0;
    char msg[400];
    if (!strcmp(cmd, "tui") || !strcmp(cmd, "demo"))
        snprintf(msg, sizeof msg, "%s: the screen cannot run over MPI (%d ranks): every rank replays the "
                 "same steps and keystrokes reach rank 0 only; run `mpirun ... axf search` and open the "
                 "session with `axf tui --session FILE` in one process", cmd, axf_dist_size());
    else
        snprintf(msg, sizeof msg, "%s: not spread over MPI ranks (%d here); under mpirun: search, replay, "
                 "eval, importance, predict", cmd, axf_dist_size());
    return axf_cli_fail(msg);
}

/* Ranks > 0 print what rank 0 prints: silenced unless AXF_MPI_VERBOSE is set. */
static void quiet_other_ranks(void)
{
    const char *v = getenv("AXF_MPI_VERBOSE");
    if (axf_dist_rank() == 0 || (v && *v && strcmp(v, "0")))
        return;
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        return;
    fflush(stdout);
    fflush(stderr);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

static int run(int argc, char **argv)
{
    const cmd_entry cmds[] = {
        {"demo", axf_cmd_demo, "teaching demo on the embedded synthetic task (nothing to download)"},
        {"tui", axf_cmd_tui, "interactive workbench: MODEL_DIR DATA [--session F] [--policy F]"},
        {"search", axf_cmd_search, "run a Lua search policy headless and save the session"},
        {"replay", axf_cmd_replay, "re-execute a saved session and check every recorded metric"},
        {"export", axf_cmd_export, "write the compacted model of a session (a folder, ONNX, or dense-compatible)"},
        {"export-onnx", axf_cmd_export_onnx, "write MODEL_DIR as an ONNX graph for ONNX Runtime"},
        {"importance", axf_cmd_importance, "print per-element importance of a model on data"},
        {"predict", axf_cmd_predict, "predict labels and logits for every example of DATA"},
        {"eval", axf_cmd_eval, "task metrics and speed of MODEL_DIR on DATA"},
        {"pretrain", axf_cmd_pretrain, "masked-LM pre-training on plain text"},
        {"finetune", axf_cmd_finetune, "sequence-classification fine-tuning"},
        {"distill", axf_cmd_distill, "recover an exported (pruned) model by distillation from the original"},
        {"demo-model", axf_cmd_demo_model, "build the synthetic demo task and train its model"},
        {"report", axf_cmd_report, "tables and SVG plots from saved sessions"},
        {"bench", axf_cmd_bench, "engine speed against the sgemm floor"},
    };
    int n = (int)(sizeof cmds / sizeof cmds[0]);
    if (argc < 2)
        return list_help(cmds, n, stderr), 2;
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return list_help(cmds, n, stdout);
    if (!strcmp(argv[1], "--version"))
        return printf("axf %s\n", AXF_VERSION), 0;
    axf_err err;
    if (axf_isa_check_env(&err))
        return axf_cli_fail(err.msg);
    for (int i = 0; i < n; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return mpi_refuses(argv[1]) ? 1 : cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "axf: unknown command '%s' (see axf --help)\n", argv[1]);
    return 2;
}

/* The library's warnings (a session whose held-out file is gone, ...): one stderr line each. The
 * screen sets its own (it owns the terminal). */
static void log_stderr(int level, const char *msg, void *ud)
{
    (void)ud;
    if (level >= 2)
        fprintf(stderr, "axf: warning: %s\n", msg);
}

int main(int argc, char **argv)
{
    axf_log_set(log_stderr, NULL);
    axf_err err;
    if (axf_dist_init(&argc, &argv, &err)) {
        fprintf(stderr, "axf: %s\n", err.msg);
        return 1;
    }
    quiet_other_ranks();
    int rc = run(argc, argv);
    fflush(stdout);
    return axf_dist_finalize(rc);
}
