/* `axf tui`: the interactive workbench over a model and its search split, or over a saved
 * session (replay mode). Inputs are checked here, before the screen starts, so that a wrong path
 * gives the usual one-line error and exit 1. */
#include "cmd_tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char *usage =
    "usage: axf tui MODEL_DIR DATA [--session FILE] [--policy FILE] [--holdout DATA2] [--set K=V]...\n"
    "       axf tui --session FILE [MODEL_DIR DATA] [options]      (replay a saved session)\n"
    "\n"
    "The interactive workbench: a heatmap of layers x heads (and blocks, hard attention and FFN\n"
    "neuron groups) coloured by importance, live metrics, a plot over the steps, the action log,\n"
    "and a Lua console. Every key goes through the same session / Lua API as `axf search`.\n"
    "Press ? in the screen for all keys.\n"
    "\n";

static int is_file(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *axf_tui_find_script(const char *name)
{
    static char buf[1200];
    if (is_file(name))
        return name;
    if (strchr(name, '/'))
        return NULL;
    const char *env = getenv("AXF_SCRIPTS_DIR");
    if (env && *env) {
        snprintf(buf, sizeof buf, "%s/%s", env, name);
        if (is_file(buf))
            return buf;
    }
    /* installed: BIN/../share/axformer/scripts */
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(buf, sizeof buf, "%s/../share/axformer/scripts/%s", exe, name);
            if (is_file(buf))
                return buf;
        }
    }
#ifdef AXF_SOURCE_DIR
    snprintf(buf, sizeof buf, "%s/scripts/%s", AXF_SOURCE_DIR, name);
    if (is_file(buf))
        return buf;
#endif
    return NULL;
}

/* --set K=V: a policy parameter, into the options' list. */
static int set_opt(const char *cmd, const char *v, void *target)
{
    axf_ui_opts *o = target;
    if (!strchr(v, '='))
        return -1;
    if (o->n_sets == AXF_UI_MAX_SETS)
        return axf_cli_usage(cmd, "too many --set options");
    o->sets[o->n_sets++] = v;
    return 0;
}

int axf_tui_parse(const char *cmd, const char *usage, int argc, char **argv, axf_ui_opts *o, const char **pos,
                  int *npos, int *status)
{
    int demo = !strcmp(cmd, "demo");
    axf_opt demo_only[] = {
        AXF_OPT_U64("--seed", &o->demo_seed, "N", "task and model seed (default {})"),
        AXF_OPT_STR("--demo-dir", &o->demo_dir, "DIR",
                    "use the demo task and model in DIR (written by axf demo-model --out\n"
                    "DIR) instead of the cache"),
        AXF_OPT_END,
    };
    axf_cmd_args args = {.cmd = cmd, .usage = usage, .pos = pos, .max_pos = 2};
    axf_opt opts[] = {
        AXF_OPT_TABLE(demo ? demo_only : demo_only + 2), /* tui: none (the END entry) */
        AXF_OPT_STR("--session", &o->session_path, "FILE",
                    "open this session with its whole history (walk it with [ ] or u r);\n"
                    "when FILE does not exist yet, it is where w saves"),
        AXF_OPT_STR("--policy", &o->policy_path, "FILE",
                    "Lua policy for s (one step) and a (run/pause); a bare name is also\n"
                    "looked up in the scripts folder (e.g. --policy axformer.lua)"),
        AXF_OPT_STR("--holdout", &o->holdout_path, "DATA2",
                    "held-out split, shown for reporting only (never seen by the policy)"),
        AXF_OPT_STR("--train", &o->train_path, "FILE",
                    "training file of D and :distil (default: train.tsv beside DATA, when there)"),
        AXF_OPT_FN("--set", set_opt, o, "KEY=VALUE", "K=V", "policy parameter (repeatable), e.g. --set rule=loss"),
        AXF_OPT_STR("--autosave", &o->autosave_path, "FILE",
                    "where every committed step is written at once (default\n"
                    "$XDG_STATE_HOME/axformer/autosave-MODEL.json, or ~/.local/state/axformer/)"),
        AXF_OPT_FLAG("--teach", &o->teach, "open the teaching panel (explains each step in plain words)"),
        AXF_OPT_STR("--control", &o->control_path, "FILE",
                    "a finished session of the same model and split (e.g. scripts/random.lua\n"
                    "run by axf search) drawn beside the trade-off plot (o) as the control"),
        AXF_OPT_INT("--max-len", &o->sopts.max_len, 4, 100000, "N", "tokens per example ({})"),
        AXF_OPT_INT("--max-examples", &o->sopts.max_examples, 0, 100000000, "N", "first N examples only"),
        AXF_OPT_INT("--batch", &o->sopts.batch, 1, 100000, "N", "sequences per forward pass ({})"),
        AXF_OPT_INT("--threads", &o->sopts.threads, 1, 256, "N", "threads"),
        AXF_OPT_STR("--task", &o->sopts.task, "NAME", "data reader task (default: detected from the file)"),
        AXF_OPT_END};
    if (!axf_opt_parse(&args, opts, argc, argv, status))
        return 0;
    *npos = args.n_pos;
    return 1;
}

int axf_tui_main(const char *cmd, const axf_ui_opts *o)
{
    axf_err err;
    int rc = axf_ui_run(o, &err);
    if (rc < 0)
        return axf_cli_fail(err.msg);
    return rc > 0 ? 128 + rc : 0; /* ended by a signal: the shell's convention */
}

int axf_cmd_tui(int argc, char **argv)
{
    axf_ui_opts o = axf_ui_opts_default();
    const char *pos[2];
    int npos, rc;
    if (!axf_tui_parse("tui", usage, argc, argv, &o, pos, &npos, &rc))
        return rc;
    char msg[1200];
    int have_session = is_file(o.session_path);
    if (npos == 1)
        return axf_cli_usage("tui", "MODEL_DIR and DATA go together");
    if (npos == 0 && !have_session) {
        if (o.session_path) {
            snprintf(msg, sizeof msg, "%s: no such session file (give MODEL_DIR DATA to start a new one)",
                     o.session_path);
            return axf_cli_fail(msg);
        }
        return axf_cli_usage("tui", "missing MODEL_DIR DATA (or --session FILE)");
    }
    if (npos == 2) {
        o.model_dir = pos[0];
        o.data_path = pos[1];
        char cfg[1100];
        snprintf(cfg, sizeof cfg, "%s/config.json", pos[0]);
        if (!is_dir(pos[0]))
            return snprintf(msg, sizeof msg, "%s: not a model folder", pos[0]), axf_cli_fail(msg);
        if (!is_file(cfg))
            return snprintf(msg, sizeof msg, "%s: no config.json in the model folder", pos[0]), axf_cli_fail(msg);
        if (!is_file(pos[1]))
            return snprintf(msg, sizeof msg, "%s: no such data file", pos[1]), axf_cli_fail(msg);
    }
    if (o.holdout_path && !is_file(o.holdout_path))
        return snprintf(msg, sizeof msg, "%s: no such held-out data file", o.holdout_path), axf_cli_fail(msg);
    if (o.policy_path) {
        const char *p = axf_tui_find_script(o.policy_path);
        if (!p)
            return snprintf(msg, sizeof msg, "%s: no such policy file", o.policy_path), axf_cli_fail(msg);
        o.policy_path = p;
    }
    if (o.n_sets && !o.policy_path)
        return axf_cli_usage("tui", "--set needs --policy");
    return axf_tui_main("tui", &o);
}
