/* What each command the screen queues does (worker thread): actions by hand, undo/redo/goto,
 * policy steps and runs, the Lua console, save, export. Every command that may change the
 * session ends in axf_wk_after_change (autosave). */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "axf/train.h"

#include "worker_internal.h"

/* A commit on a plan with steps ahead replaced them (the redo tail): said in the log, never
 * silently. tail = steps ahead of the cursor before the commit. */
static void note_replaced(axf_worker *w, int tail)
{
    int cur = axf_session_cursor(w->s);
    if (tail > 0)
        axf_wk_logf(w, AXF_LOG_UNDO, cur, "the %d step%s after step %d (the redo tail) %s replaced by step %d", tail,
                    tail > 1 ? "s" : "", cur - 1, tail > 1 ? "were" : "was", cur);
}

static int tail_len(axf_worker *w)
{
    return axf_session_history_len(w->s) - axf_session_cursor(w->s);
}

void axf_wk_policy_step(axf_worker *w, int running)
{
    axf_lua_state st = w->h ? axf_luahost_state(w->h) : AXF_LUA_NONE;
    if (st != AXF_LUA_IDLE) {
        atomic_store(&w->run_req, 0);
        const char *rec = axf_session_policy_name(w->s);
        if (st != AXF_LUA_NONE)
            axf_wk_message(w, 1, "the policy is %s (L loads it again)", axf_lua_state_name(st));
        else if (*rec) /* a session reopened alone: say which policy made it */
            axf_wk_message(w, 1, "no policy loaded: this session was made by %s; start with --policy %s to run it",
                           rec, rec);
        else
            axf_wk_message(w, 1, "no policy loaded (start with --policy FILE)");
        return;
    }
    if (running && !atomic_load(&w->run_req))
        return; /* paused before the step began */
    axf_wk_work_begin(w, running ? "policy running" : "policy step", 0);
    atomic_store(&w->in_policy, AXF_WK_IN_POLICY);
    axf_err err;
    int tail = tail_len(w);
    axf_lua_report rep;
    axf_luahost_step_report(w->h, &rep, &err);
    atomic_store(&w->in_policy, 0);
    int paused = atomic_exchange(&w->pause_want, 0);
    axf_wk_work_end(w);
    if (rep.rc != AXF_LUA_STEPPED)
        atomic_store(&w->run_req, 0);
    if (rep.rc == AXF_LUA_STEPPED) {
        axf_wk_explain_commit(w, rep.why);
        note_replaced(w, tail);
        if (rep.step)
            axf_wk_log_entry(w, "step ", rep.step, &rep.entry);
        if (paused) /* the pause came as the step was being committed */
            axf_wk_message(w, 0, "policy paused after step %d (s or a carries on)", rep.step);
    } else if (rep.rc == AXF_LUA_FINISHED) {
        /* the host counts the steps of this run; a policy's own "done, N steps" may count the
         * history (steps by hand, an earlier run): both numbers, each named */
        int n = axf_luahost_steps(w->h), cur = axf_session_cursor(w->s);
        if (n == cur)
            axf_wk_message(w, 0, "policy finished: %d step%s", n, n == 1 ? "" : "s");
        else
            axf_wk_message(w, 0, "policy finished: %d step%s in this run; the plan is at step %d of the history", n,
                           n == 1 ? "" : "s", cur);
    } else if (rep.rc == AXF_CANCELLED && rep.state == AXF_LUA_IDLE) {
        axf_wk_message(w, 0, "policy paused (s or a carries on)");
    } else if (rep.rc == AXF_CANCELLED) {
        axf_wk_message(w, 0, "policy cancelled (L loads it again)");
    } else {
        axf_wk_message(w, 1, "policy: %s", err.msg);
    }
    axf_wk_after_change(w);
}

static void cmd_apply(axf_worker *w, const axf_action *a)
{
    char what[96];
    axf_action_describe(a, what, sizeof what);
    char label[128];
    snprintf(label, sizeof label, "evaluating %s", what);
    axf_wk_work_begin(w, label, 0);
    axf_err err;
    int tail = tail_len(w);
    int r = axf_session_apply(w->s, a, 1, "by hand", NULL, &err);
    axf_wk_work_end(w);
    if (r == 0) {
        axf_wk_explain_commit(w, NULL);
        note_replaced(w, tail);
        axf_wk_log_step(w, "step ");
    } else if (r == AXF_CANCELLED)
        axf_wk_message(w, 0, "%s cancelled", what);
    else
        axf_wk_message(w, 1, "%s", err.msg);
    axf_wk_after_change(w);
}

static void cmd_move(axf_worker *w, const axf_wcmd *c)
{
    axf_err err;
    int before = axf_session_cursor(w->s), r;
    if (c->type == AXF_WCMD_UNDO)
        r = axf_session_undo(w->s, &err);
    else if (c->type == AXF_WCMD_REDO)
        r = axf_session_redo(w->s, &err);
    else
        r = axf_session_goto(w->s, c->arg, &err);
    if (r) {
        axf_wk_message(w, 1, "%s", err.msg);
        return;
    }
    int after = axf_session_cursor(w->s);
    if (after < before) {
        axf_history_entry h;
        char what[128] = "";
        if (!axf_session_history_get(w->s, before - 1, &h))
            axf_history_describe(&h, ", ", what, sizeof what);
        if (before - after == 1)
            axf_wk_logf(w, AXF_LOG_UNDO, after, "undo step %d: %s", before, what);
        else
            axf_wk_logf(w, AXF_LOG_UNDO, after, "back to step %d (undid %d)", after, before - after);
    } else if (after > before) {
        if (after - before == 1)
            axf_wk_log_step(w, "redo ");
        else
            axf_wk_logf(w, AXF_LOG_KEPT, after, "forward to step %d (redid %d)", after, after - before);
    }
    axf_wk_after_change(w);
}

/* ---- distil [key=value ...] (the D key and the console line "distil ...") ---- */

/* The training file when the line names none: --train, else train.tsv beside the search split. */
static void default_train(axf_worker *w, char *out, size_t n)
{
    out[0] = 0;
    if (w->o.train_path) {
        axf_str_copy(out, n, w->o.train_path);
        return;
    }
    const char *d = axf_session_data_path(w->s), *slash = strrchr(d, '/');
    struct stat st;
    snprintf(out, n, "%.*strain.tsv", slash ? (int)(slash - d + 1) : 0, d);
    if (stat(out, &st) != 0)
        out[0] = 0;
}

/* Parses "key=value ..." into o (train into train[]): 0, or -1 with a one-line message. */
static int parse_distil(axf_worker *w, const char *args, axf_session_distil_opts *o, char *train, size_t tn,
                        char *msg, size_t mn)
{
    *o = axf_session_distil_opts_default();
    o->epochs = 1;
    default_train(w, train, tn);
    char buf[1024];
    axf_str_copy(buf, sizeof buf, args);
    for (char *save = NULL, *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1]) {
            snprintf(msg, mn, "distil: expected key=value, got '%.60s' (keys: train alpha T match_hidden steps "
                              "epochs batch lr seed eval_every patience)", tok);
            return -1;
        }
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        char *end;
        double x = strtod(v, &end);
        int num = *end == 0 && end != v;
        if (!strcmp(k, "train")) {
            axf_str_copy(train, tn, v);
            continue;
        }
        if (!num) {
            snprintf(msg, mn, "distil: %s=%.40s is not a number", k, v);
            return -1;
        }
        int whole = x == (double)(long long)x && x >= 0;
        if (!strcmp(k, "alpha"))
            o->alpha = (float)x;
        else if (!strcmp(k, "T") || !strcmp(k, "temperature"))
            o->temperature = (float)x;
        else if (!strcmp(k, "match_hidden"))
            o->hid_weight = (float)x;
        else if (!strcmp(k, "lr"))
            o->lr = (float)x;
        else if (!whole && (!strcmp(k, "steps") || !strcmp(k, "epochs") || !strcmp(k, "batch") ||
                            !strcmp(k, "seed") || !strcmp(k, "eval_every") || !strcmp(k, "patience"))) {
            snprintf(msg, mn, "distil: %s=%.40s must be a whole number >= 0", k, v);
            return -1;
        } else if (!strcmp(k, "steps"))
            o->steps = (long)x;
        else if (!strcmp(k, "epochs"))
            o->epochs = (int)(x < 1e9 ? x : 1e9);
        else if (!strcmp(k, "batch"))
            o->batch = (int)(x < 1e9 ? x : 1e9);
        else if (!strcmp(k, "seed"))
            o->seed = (uint64_t)x;
        else if (!strcmp(k, "eval_every"))
            o->eval_every = (int)(x < 1e9 ? x : 1e9);
        else if (!strcmp(k, "patience"))
            o->patience = (int)(x < 1e9 ? x : 1e9);
        else {
            snprintf(msg, mn, "distil: unknown option '%.40s' (keys: train alpha T match_hidden steps epochs batch "
                              "lr seed eval_every patience)", k);
            return -1;
        }
    }
    if (!train[0]) {
        snprintf(msg, mn, "distil: no training file: give train=FILE (or start with --train FILE)");
        return -1;
    }
    o->train = train;
    return 0;
}

/* The progress line: "distil 120/300 loss 0.412 ETA 12s", and the cancel check. */
static int distil_progress(const axf_train_status *st, void *ud)
{
    axf_worker *w = ud;
    char label[80];
    if (st->evaluated && !isnan(st->dev_metric))
        snprintf(label, sizeof label, "distil %ld/%ld search %.4f ETA %.0fs", st->step, st->total_steps,
                 st->dev_metric, st->eta);
    else
        snprintf(label, sizeof label, "distil %ld/%ld loss %.4f ETA %.0fs", st->step, st->total_steps, st->loss,
                 st->eta);
    pthread_mutex_lock(&w->mu);
    axf_str_copy(w->prog.label, sizeof w->prog.label, label);
    pthread_mutex_unlock(&w->mu);
    return axf_wk_on_progress((double)st->step, (double)(st->total_steps > 0 ? st->total_steps : 1), w);
}

static void cmd_distil(axf_worker *w, const char *args)
{
    axf_session_distil_opts o;
    char train[512], msg[200];
    if (parse_distil(w, args, &o, train, sizeof train, msg, sizeof msg)) {
        axf_wk_message(w, 1, "%s", msg);
        return;
    }
    o.progress = distil_progress;
    o.progress_ud = w;
    axf_metrics before, after;
    axf_session_current(w->s, &before);
    axf_wk_work_begin(w, "distil", 0);
    axf_err err;
    int tail = tail_len(w);
    int r = axf_session_distil(w->s, &o, "by hand", &after, &err);
    axf_wk_work_end(w);
    if (r == 0) {
        axf_wk_explain_commit(w, NULL);
        note_replaced(w, tail);
        axf_wk_log_step(w, "step ");
        if (!isnan(before.accuracy))
            axf_wk_message(w, 0, "distilled: search accuracy %.2f%% → %.2f%% (u undoes)", 100 * before.accuracy,
                           100 * after.accuracy);
        else
            axf_wk_message(w, 0, "distilled: search %s %.4f → %.4f (u undoes)", "metric", before.metric,
                           after.metric);
    } else if (r == AXF_CANCELLED) {
        axf_wk_message(w, 0, "distil cancelled: nothing changed");
    } else {
        axf_wk_message(w, 1, "%s", err.msg);
    }
    axf_wk_after_change(w);
}

static void cmd_lua(axf_worker *w, const char *line)
{
    if (!strncmp(line, "distil", 6) && (line[6] == 0 || line[6] == ' ')) {
        axf_wk_logf(w, AXF_LOG_LUA, axf_session_cursor(w->s), "> %s", line);
        cmd_distil(w, line + 6);
        return;
    }
    axf_wk_logf(w, AXF_LOG_LUA, axf_session_cursor(w->s), "> %s", line);
    axf_wk_work_begin(w, "lua", 0);
    atomic_store(&w->in_policy, AXF_WK_IN_CONSOLE);
    char *out = NULL;
    axf_err err;
    int r = axf_luahost_eval(w->h, line, &out, &err);
    atomic_store(&w->in_policy, 0);
    axf_wk_work_end(w);
    if (out && *out)
        axf_wk_log(w, AXF_LOG_LUA, axf_session_cursor(w->s), out);
    free(out);
    if (r)
        axf_wk_log(w, AXF_LOG_ERROR, axf_session_cursor(w->s), err.msg);
    axf_wk_after_change(w);
}

static int cmd_save(axf_worker *w, const char *path)
{
    const char *p = *path ? path : w->session_path;
    if (!*p) {
        axf_wk_message(w, 1, "no session file yet: w asks for one");
        return -1;
    }
    axf_err err;
    if (axf_session_save(w->s, p, &err)) {
        axf_wk_message(w, 1, "%s", err.msg);
        return -1;
    }
    if (p != w->session_path)
        axf_str_copy(w->session_path, sizeof w->session_path, p);
    axf_wk_mark_saved(w);
    axf_wk_message(w, 0, "saved %s (%d steps)", w->session_path, axf_session_history_len(w->s));
    return 0;
}

static void cmd_export(axf_worker *w, const char *dir)
{
    axf_wk_work_begin(w, "exporting", 0);
    axf_err err;
    int r = axf_session_export(w->s, dir, &err);
    axf_wk_work_end(w);
    if (r)
        axf_wk_message(w, 1, "%s", err.msg);
    else
        axf_wk_message(w, 0, "exported the compacted model to %s", dir);
}

static void cmd_reload(axf_worker *w)
{
    if (!w->o.policy_path) {
        axf_wk_message(w, 1, "no policy file (start with --policy FILE)");
        return;
    }
    axf_err err;
    atomic_store(&w->run_req, 0);
    if (axf_luahost_load(w->h, w->o.policy_path, (const char *const *)w->o.sets, w->o.n_sets, &err))
        axf_wk_message(w, 1, "policy: %s", err.msg);
    else
        axf_wk_message(w, 0, "policy %s loaded again: it starts over from the current plan",
                       axf_luahost_policy_name(w->h));
    axf_wk_after_change(w);
}

/* The hard-attention view's row (view.h), computed here where the session lives. */
static void cmd_attention(axf_worker *w, const axf_wcmd *c)
{
    axf_attn_view t;
    axf_attn_view_fill(w->s, c->arg, c->act.layer, c->act.index, c->act.count, &t);
    t.req = c->id;
    pthread_mutex_lock(&w->mu);
    w->v.attn = t;
    w->v.seq++;
    pthread_mutex_unlock(&w->mu);
}

/* A change that would drop more redo steps than the user agreed to (the screen asked on an older
 * view: an undo was still on its way) is not made. */
static int tail_refused(axf_worker *w, const axf_wcmd *c)
{
    int tail = tail_len(w);
    if (tail <= c->tail_ok)
        return 0;
    axf_wk_message(w, 1, "not done: it would drop the %d redo step%s ahead (press the key again: it asks first)",
                   tail, tail > 1 ? "s" : "");
    return 1;
}

void axf_wk_exec(axf_worker *w, const axf_wcmd *c)
{
    if ((c->type == AXF_WCMD_APPLY || c->type == AXF_WCMD_STEP || c->type == AXF_WCMD_RUN) && tail_refused(w, c))
        return;
    switch (c->type) {
    case AXF_WCMD_APPLY: cmd_apply(w, &c->act); break;
    case AXF_WCMD_UNDO:
    case AXF_WCMD_REDO:
    case AXF_WCMD_GOTO: cmd_move(w, c); break;
    case AXF_WCMD_STEP:
        atomic_store(&w->pause_want, 0);
        axf_wk_policy_step(w, 0);
        break;
    case AXF_WCMD_RUN:
        atomic_store(&w->pause_want, 0);
        if (!w->h || axf_luahost_state(w->h) != AXF_LUA_IDLE)
            axf_wk_policy_step(w, 1); /* says why it cannot run */
        else
            atomic_store(&w->run_req, 1);
        break;
    case AXF_WCMD_RELOAD: cmd_reload(w); break;
    case AXF_WCMD_MEASURE:
        if (c->arg >= 0 && c->arg < AXF_IMP_KIND_COUNT)
            axf_wk_want_importance(w, c->arg);
        break;
    case AXF_WCMD_SAVE: cmd_save(w, c->text); break;
    case AXF_WCMD_SAVE_QUIT:
        atomic_store(&w->run_req, 0); /* nothing starts after the save */
        if (cmd_save(w, c->text) == 0)
            w->quit_ready = 1;
        break;
    case AXF_WCMD_EXPORT: cmd_export(w, c->text); break;
    case AXF_WCMD_LUA: cmd_lua(w, c->text); break;
    case AXF_WCMD_SPEED: axf_wk_measure_speed(w, 1); break;
    case AXF_WCMD_ATTENTION: cmd_attention(w, c); break;
    }
}
