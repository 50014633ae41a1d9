/* `axf demo`: the teaching demo on the embedded default: the synthetic task and its small model
 * (demo.h), trained on first use and cached, with the AxFormer policy (scripts/axformer.lua) and
 * the teaching panel open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/demo.h"
#include "cli.h"
#include "cmd_tui.h"

static const char *usage =
    "usage: axf demo [--seed N] [--policy FILE] [--set K=V]... [--session FILE] [--autosave FILE]\n"
    "       axf demo minilm [--max-examples N] [--holdout FILE] [--policy FILE] [--set K=V]...\n"
    "\n"
    "The teaching demo: generates a small synthetic sentiment task (negation, intensifiers and\n"
    "distractors), trains a deliberately over-parameterised model on it (4 layers x 64, about a\n"
    "minute the first time, then cached in $XDG_CACHE_HOME/axformer or ~/.cache/axformer), and\n"
    "opens the workbench with the AxFormer policy loaded and a panel that explains every step.\n"
    "s takes one policy step, a runs it, u undoes, p removes the element under the cursor by\n"
    "hand, ? shows all keys. Nothing is downloaded. The policy is scripts/axformer.lua unless\n"
    "--policy names another.\n"
    "\n"
    "axf demo minilm: the second demo, a real pre-trained encoder: all-MiniLM-L6-v2 (from PyPI,\n"
    "scripts/models/fetch.sh) fine-tuned on SST-2 here by scripts/recipe_minilm.sh into\n"
    "models/minilm-sst2 (or $AXF_MINILM_DIR). It opens on the first 300 phrases of that model's\n"
    "search split (--max-examples N: another number, 0 = all 10,102) with GLUE SST-2 dev as the\n"
    "held-out split when ../shared/data is beside the repository (or --holdout FILE).\n"
    "\n";

/* A file that exists (regular). */
static int file_exists(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

/* The fine-tuned MiniLM folder (OUT of scripts/recipe_minilm.sh: model/ and search.tsv): from
 * $AXF_MINILM_DIR, else models/minilm-sst2 here, else in the source tree. NULL when none has both. */
static const char *minilm_dir(char *buf, size_t n)
{
    const char *env = getenv("AXF_MINILM_DIR");
    const char *cand[3] = {env && *env ? env : NULL, "models/minilm-sst2", NULL};
#ifdef AXF_SOURCE_DIR
    cand[2] = AXF_SOURCE_DIR "/models/minilm-sst2";
#endif
    for (int i = 0; i < 3; i++) {
        if (!cand[i])
            continue;
        char a[1200], b[1200];
        snprintf(a, sizeof a, "%s/model/config.json", cand[i]);
        snprintf(b, sizeof b, "%s/search.tsv", cand[i]);
        if (file_exists(a) && file_exists(b)) {
            snprintf(buf, n, "%s", cand[i]);
            return buf;
        }
        if (i == 0) /* a folder named on purpose that is not one: say so, do not look further */
            return NULL;
    }
    return NULL;
}

static int demo_minilm(axf_ui_opts *o)
{
    static char dir[1100], model[1200], data[1200], dev[1200];
    char msg[1400];
    if (!minilm_dir(dir, sizeof dir)) {
        const char *env = getenv("AXF_MINILM_DIR");
        snprintf(msg, sizeof msg,
                 "%s: no fine-tuned MiniLM (model/config.json and search.tsv); make it with "
                 "`bash scripts/models/fetch.sh && FT_STEPS=400 EVAL_EVERY=200 scripts/recipe_minilm.sh` "
                 "(about 15 minutes on 2 cores)",
                 env && *env ? env : "models/minilm-sst2");
        return axf_cli_fail(msg);
    }
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(data, sizeof data, "%s/search.tsv", dir);
    o->model_dir = model;
    o->data_path = data;
    if (o->sopts.max_examples < 0) /* not given */
        o->sopts.max_examples = 300;
    if (!o->holdout_path) {
        const char *root[2] = {"..", NULL};
#ifdef AXF_SOURCE_DIR
        root[1] = AXF_SOURCE_DIR "/..";
#endif
        for (int i = 0; i < 2 && !o->holdout_path; i++)
            if (root[i]) {
                snprintf(dev, sizeof dev, "%s/shared/data/sst2_glue/dev.tsv", root[i]);
                if (file_exists(dev))
                    o->holdout_path = dev;
            }
    } else if (!file_exists(o->holdout_path)) {
        snprintf(msg, sizeof msg, "%s: no such held-out data file", o->holdout_path);
        return axf_cli_fail(msg);
    }
    o->teach = 1;
    o->title = "demo: MiniLM-L6 fine-tuned on SST-2";
    return axf_tui_main("demo", o);
}

int axf_cmd_demo(int argc, char **argv)
{
    axf_ui_opts o = axf_ui_opts_default();
    o.demo_seed = AXF_DEMO_SEED;
    o.sopts.max_examples = -1; /* not given: the synthetic demo takes all, minilm 300 */
    const char *pos[2];
    int npos, rc;
    if (!axf_tui_parse("demo", usage, argc, argv, &o, pos, &npos, &rc))
        return rc;
    char msg[1200];
    if (npos == 1 && !strcmp(pos[0], "minilm")) {
        if (o.demo_dir)
            return axf_cli_usage("demo", "--demo-dir goes with the synthetic demo, not minilm");
        const char *want = o.policy_path ? o.policy_path : "axformer.lua";
        const char *p = axf_tui_find_script(want);
        if (!p) {
            snprintf(msg, sizeof msg, "%s: policy not found; pass --policy FILE", want);
            return axf_cli_fail(msg);
        }
        o.policy_path = p;
        return demo_minilm(&o);
    }
    if (npos)
        return axf_cli_usage("demo", "the only demo named on the command line is minilm (the default needs none)");
    if (o.sopts.max_examples < 0)
        o.sopts.max_examples = 0;
    if (o.holdout_path)
        return axf_cli_usage("demo", "--holdout: the demo uses its own held-out split");
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
