/* Opening the worker's session: the demo model (built on first use), a session file or a model and
 * its data, the record check of a loaded file, the Lua host and its policy; then where the session
 * is autosaved and whether the user's copy is saved. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axf/fileio.h"
#include "demoprep.h"
#include "worker_internal.h"

void axf_wk_title_from_dir(char *out, size_t n, const char *dir)
{
    char tmp[256];
    axf_str_copy(tmp, sizeof tmp, dir);
    size_t l = strlen(tmp);
    while (l > 1 && tmp[l - 1] == '/')
        tmp[--l] = 0;
    char *b = strrchr(tmp, '/');
    if (b && b > tmp && !strcmp(b + 1, "model")) {
        *b = 0;
        char *pb = strrchr(tmp, '/');
        *b = '/';
        b = pb;
    }
    axf_str_copy(out, n, b ? b + 1 : tmp);
}

/* A loaded file's recorded baseline and current step against what this machine measures (the
 * replay tolerance of session.h): a disagreement becomes a warning, shown once the screen is up. */
static void check_record(axf_worker *w)
{
    axf_replay_result r;
    axf_err err;
    int rc = axf_session_verify_current(w->s, &r, &err);
    if (rc == -1) {
        snprintf(w->record_warning, sizeof w->record_warning, "warning: the record could not be checked: %.150s",
                 err.msg);
    } else if (rc == 0 && r.n_diffs) {
        const axf_replay_diff *d = &r.diffs[0];
        snprintf(w->record_warning, sizeof w->record_warning,
                 "warning: the file's record disagrees with this model: %s recorded %.6g, measured %.6g%s "
                 "(axf replay checks it all)",
                 d->field, d->recorded, d->measured, r.n_diffs > 1 ? " and more" : "");
    }
}

/* The demo's model folder and splits (built and cached on first use) into model/data/holdout. */
static int open_demo(axf_worker *w, char *model, char *data, char *hold, size_t n, axf_err *err)
{
    axf_wk_work_begin(w, "training", 0);
    axf_wk_start_label(w, "preparing the demo model (trained on first use, then cached)");
    if (w->o.demo_dir) {
        snprintf(model, n, "%s/model", w->o.demo_dir);
        snprintf(data, n, "%s/search.tsv", w->o.demo_dir);
        snprintf(hold, n, "%s/heldout.tsv", w->o.demo_dir);
    } else if (axf_demoprep(w->o.demo_seed, axf_wk_on_progress, w, model, n, data, n, hold, n, err)) {
        return -1;
    }
    axf_wk_work_end(w);
    return 0;
}

/* The Lua host over the session, and the policy file when one was given. */
static int open_host(axf_worker *w, axf_err *err)
{
    axf_luahost_opts lo = axf_luahost_opts_default();
    lo.log = axf_wk_on_lua_log;
    lo.log_ud = w;
    lo.progress = axf_wk_on_progress;
    lo.progress_ud = w;
    w->h = axf_luahost_new(w->s, &lo, err);
    if (!w->h)
        return -1;
    atomic_store(&w->host, w->h);
    if (w->o.policy_path) {
        axf_err perr;
        if (axf_luahost_load(w->h, w->o.policy_path, (const char *const *)w->o.sets, w->o.n_sets, &perr))
            axf_wk_message(w, 1, "policy: %s", perr.msg);
        else
            axf_wk_logf(w, AXF_LOG_POLICY, 0, "policy %s loaded (s steps, a runs)", axf_luahost_policy_name(w->h));
    }
    return 0;
}

int axf_wk_open(axf_worker *w, axf_err *err)
{
    axf_session_opts so = w->o.sopts;
    so.progress = axf_wk_on_progress;
    so.progress_ud = w;
    const char *model = w->o.model_dir, *data = w->o.data_path;
    char demo_model[512], demo_data[512], demo_hold[512];
    const char *holdout = w->o.holdout_path;

    if (w->o.demo) {
        if (open_demo(w, demo_model, demo_data, demo_hold, sizeof demo_model, err))
            return -1;
        model = demo_model;
        data = demo_data;
        if (!holdout && *demo_hold)
            holdout = demo_hold;
    }
    struct stat st;
    int load = w->o.session_path && !stat(w->o.session_path, &st);
    axf_wk_start_label(w, load ? "loading the session and evaluating its baseline"
                               : "opening the model and evaluating the baseline");
    axf_wk_work_begin(w, load ? "loading session" : "baseline", 0);
    if (load)
        w->s = axf_session_load(w->o.session_path, model, data, holdout, &so, err);
    else
        w->s = axf_session_open(model, data, &so, err);
    if (w->s && load)
        check_record(w);
    axf_wk_work_end(w);
    if (!w->s)
        return -1;
    if (!load && holdout && axf_session_set_holdout(w->s, holdout, err))
        return axf_err_prefix(err, "held-out split %s", holdout);
    if (load && !w->o.title && !w->o.model_dir) { /* name the screen after the recorded model */
        char tmp[256];
        axf_str_copy(tmp, sizeof tmp, axf_session_model_dir(w->s));
        pthread_mutex_lock(&w->mu);
        axf_wk_title_from_dir(w->v.title, sizeof w->v.title, tmp);
        pthread_mutex_unlock(&w->mu);
    }
    if (w->o.session_path)
        axf_str_copy(w->session_path, sizeof w->session_path, w->o.session_path);
    return open_host(w, err);
}

/* ---- autosave ---- */

/* STATE/axformer/autosave-<model name>.json: one file per model, so two screens on different
 * models do not overwrite each other's steps. */
void axf_wk_autosave_path(axf_worker *w)
{
    if (w->o.autosave_path) {
        axf_str_copy(w->autosave_path, sizeof w->autosave_path, w->o.autosave_path);
        return;
    }
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char dir[400];
    if (xdg && *xdg)
        snprintf(dir, sizeof dir, "%s/axformer", xdg);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.local/state/axformer", home);
    else
        snprintf(dir, sizeof dir, "/tmp/axformer-%ld", (long)getuid());
    axf_err err;
    axf_io_mkdir_p(dir, &err); /* a folder that cannot be made shows as "autosave failed: ..." */
    char name[64];
    size_t k = 0;
    for (const char *p = w->v.title; *p && k + 1 < sizeof name; p++)
        name[k++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                            *p == '-' || *p == '_' || *p == '.' ? *p : '-';
    name[k] = 0;
    snprintf(w->autosave_path, sizeof w->autosave_path, "%s/autosave-%s.json", dir, k ? name : "session");
}

/* What the user has: commits so far (a new commit, even after an undo, counts), cursor, trials. */
static void state_sig(axf_worker *w, long sig[3])
{
    int hl = axf_session_history_len(w->s);
    axf_history_entry e;
    double t = hl > 0 && !axf_session_history_get(w->s, hl - 1, &e) ? e.time : 0;
    if (hl != w->last_hl || t != w->last_time) /* something was committed */
        w->gen++;
    w->last_hl = hl;
    w->last_time = t;
    sig[0] = w->gen;
    sig[1] = axf_session_cursor(w->s);
    sig[2] = axf_session_trials_len(w->s);
}

void axf_wk_mark_saved(axf_worker *w)
{
    state_sig(w, w->saved_sig);
    w->user_dirty = 0;
}

void axf_wk_after_change(axf_worker *w)
{
    long sig[3];
    state_sig(w, sig);
    w->user_dirty = memcmp(sig, w->saved_sig, sizeof sig) != 0;
    if (!axf_session_dirty(w->s))
        return;
    axf_err err;
    if (axf_session_save(w->s, w->autosave_path, &err)) {
        if (!w->autosave_failed)
            axf_wk_message(w, 1, "autosave failed: %s", err.msg);
        w->autosave_failed = 1;
    } else {
        w->autosave_failed = 0;
    }
}
