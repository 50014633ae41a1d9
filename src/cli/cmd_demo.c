/* `axf demo`: the teaching demo on the embedded default: the synthetic task and its small model
 * (demo.h), trained on first use and cached, with the AxFormer policy (scripts/axformer.lua) and
 * the teaching panel open. */
#include <stdio.h>
#include <string.h>

#include "axf/demo.h"
#include "cli.h"
#include "cmd_tui.h"

static const char *usage =
    "usage: axf demo [--seed N] [--policy FILE] [--set K=V]... [--session FILE] [--autosave FILE]\n"
    "\n"
    "The teaching demo: generates a small synthetic sentiment task (negation, intensifiers and\n"
    "distractors), trains a deliberately over-parameterised model on it (4 layers x 64, about a\n"
    "minute the first time, then cached in $XDG_CACHE_HOME/axformer or ~/.cache/axformer), and\n"
    "opens the workbench with the AxFormer policy loaded and a panel that explains every step.\n"
    "s takes one policy step, a runs it, u undoes, p removes the element under the cursor by\n"
    "hand, ? shows all keys. Nothing is downloaded.\n"
    "\n"
    "  --seed N        task and model seed (default 2024)\n"
    "  --policy FILE   another policy (default scripts/axformer.lua)\n"
    "  --set K=V       policy parameter, e.g. --set rule=loss (repeatable)\n"
    "  --session FILE  where w saves the session\n"
    "  --autosave FILE where every step is written at once\n"
    "  --threads N     OpenBLAS threads for the evaluations\n"
    "  --demo-dir DIR  use the demo task and model in DIR (written by axf demo-model --out DIR)\n"
    "                  instead of the cache\n";

int axf_cmd_demo(int argc, char **argv)
{
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    axf_ui_opts o = axf_ui_opts_default();
    o.demo_seed = AXF_DEMO_SEED;
    const char *pos[2];
    int npos, rc = axf_tui_parse("demo", argc, argv, &o, pos, &npos);
    if (rc)
        return rc;
    if (npos)
        return axf_cli_usage("demo", "no positional arguments (the demo brings its own model and data)");
    if (o.holdout_path)
        return axf_cli_usage("demo", "--holdout: the demo uses its own held-out split");
    char msg[1200];
    if (o.demo_dir) {
        char cfg[1100];
        snprintf(cfg, sizeof cfg, "%s/model/config.json", o.demo_dir);
        FILE *f = fopen(cfg, "r");
        if (!f) {
            snprintf(msg, sizeof msg, "%s: not a demo folder (no model/config.json; see axf demo-model)", o.demo_dir);
            return axf_cli_fail(msg);
        }
        fclose(f);
    }
    const char *want = o.policy_path ? o.policy_path : "axformer.lua";
    const char *p = axf_tui_find_script(want);
    if (!p) {
        snprintf(msg, sizeof msg,
                 "%s: policy not found (looked here, in $AXF_SCRIPTS_DIR, beside the installed binary "
                 "and in the source tree's scripts/); pass --policy FILE",
                 want);
        return axf_cli_fail(msg);
    }
    o.policy_path = p;
    o.demo = 1;
    o.teach = 1;
    o.title = "demo";
    return axf_tui_main("demo", &o);
}
