/* `axf`: dispatches to the sub-commands. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "axf/common.h"

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
        if (cmds[i].fn)
            fprintf(out, "  %-11s %s\n", cmds[i].name, cmds[i].summary);
    return 0;
}

int main(int argc, char **argv)
{
    const cmd_entry cmds[] = {
        {"demo", axf_cmd_demo, "teaching demo on the embedded synthetic task (nothing to download)"},
        {"tui", axf_cmd_tui, "interactive workbench: MODEL_DIR DATA [--session F] [--policy F]"},
        {"search", axf_cmd_search, "run a Lua search policy headless and save the session"},
        {"replay", axf_cmd_replay, "re-execute a saved session and check every recorded metric"},
        {"export", axf_cmd_export, "write the compacted model of a session"},
        {"importance", axf_cmd_importance, "print per-element importance of a model on data"},
        {"predict", axf_cmd_predict, "predict labels and logits for every example of DATA"},
        {"eval", axf_cmd_eval, "task metrics and speed of MODEL_DIR on DATA"},
        {"pretrain", axf_cmd_pretrain, "masked-LM pre-training on plain text"},
        {"finetune", axf_cmd_finetune, "sequence-classification fine-tuning"},
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
    if (axf_isa_check_env(&err)) {
        fprintf(stderr, "axf: %s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < n; i++)
        if (cmds[i].fn && !strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "axf: unknown command '%s' (see axf --help)\n", argv[1]);
    return 2;
}
