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
    "\n"
    "  --session FILE     open this session with its whole history (walk it with [ ] or u r);\n"
    "                     when FILE does not exist yet, it is where w saves\n"
    "  --policy FILE      Lua policy for s (one step) and a (run/pause); a bare name is also\n"
    "                     looked up in the scripts folder (e.g. --policy axformer.lua)\n"
    "  --holdout DATA2    held-out split, shown for reporting only (never seen by the policy)\n"
    "  --set K=V          policy parameter (repeatable), e.g. --set rule=loss\n"
    "  --autosave FILE    where every committed step is written at once (default\n"
    "                     $XDG_STATE_HOME/axformer/autosave-MODEL.json, or ~/.local/state/axformer/)\n"
    "  --teach            open the teaching panel (explains each step in plain words)\n"
    "  --max-len N        tokens per example (128)      --max-examples N  first N examples only\n"
    "  --batch N          sequences per forward pass    --threads N       OpenBLAS threads\n"
    "  --task NAME        data reader task (default: detected from the file)\n";

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

int axf_tui_parse(const char *cmd, int argc, char **argv, axf_ui_opts *o, const char **pos, int *npos)
{
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (!strcmp(a, "--session") && v)
            o->session_path = v;
        else if (!strcmp(a, "--policy") && v)
            o->policy_path = v;
        else if (!strcmp(a, "--holdout") && v)
            o->holdout_path = v;
        else if (!strcmp(a, "--autosave") && v)
            o->autosave_path = v;
        else if (!strcmp(a, "--task") && v)
            o->sopts.task = v;
        else if (!strcmp(a, "--demo-dir") && v && !strcmp(cmd, "demo"))
            o->demo_dir = v;
        else if (!strcmp(a, "--set") && v) {
            if (!strchr(v, '='))
                return axf_cli_usage(cmd, "--set needs KEY=VALUE");
            if (o->n_sets == AXF_UI_MAX_SETS)
                return axf_cli_usage(cmd, "too many --set options");
            o->sets[o->n_sets++] = v;
        } else if (!strcmp(a, "--max-len") && v) {
            if (axf_cli_int(v, 4, 100000, &o->sopts.max_len))
                return axf_cli_usage(cmd, "--max-len needs an integer 4..100000");
        } else if (!strcmp(a, "--max-examples") && v) {
            if (axf_cli_int(v, 0, 100000000, &o->sopts.max_examples))
                return axf_cli_usage(cmd, "--max-examples needs a non-negative integer");
        } else if (!strcmp(a, "--batch") && v) {
            if (axf_cli_int(v, 1, 100000, &o->sopts.batch))
                return axf_cli_usage(cmd, "--batch needs a positive integer");
        } else if (!strcmp(a, "--threads") && v) {
            if (axf_cli_int(v, 1, 256, &o->sopts.threads))
                return axf_cli_usage(cmd, "--threads needs an integer 1..256");
        } else if (!strcmp(a, "--seed") && v) {
            char *end;
            unsigned long long s = strtoull(v, &end, 10);
            if (*end || !*v || *v == '-')
                return axf_cli_usage(cmd, "--seed needs a non-negative integer");
            o->demo_seed = s;
        } else if (!strcmp(a, "--teach")) {
            o->teach = 1;
            takes = 0;
        } else if (a[0] == '-' && a[1]) {
            char msg[300];
            snprintf(msg, sizeof msg, "unknown option or missing value: %s", a);
            return axf_cli_usage(cmd, msg);
        } else {
            if (*npos == 2)
                return axf_cli_usage(cmd, "too many arguments (MODEL_DIR DATA)");
            pos[(*npos)++] = a;
            takes = 0;
        }
        i += takes;
    }
    return 0;
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
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    axf_ui_opts o = axf_ui_opts_default();
    const char *pos[2];
    int npos, rc = axf_tui_parse("tui", argc, argv, &o, pos, &npos);
    if (rc)
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
