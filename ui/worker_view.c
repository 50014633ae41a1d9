/* What the worker shows: the view the screen copies (publish) and the lines of its log, each
 * written under the mutex from the worker thread. The texts of steps and trials are made here. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_internal.h"

void axf_wk_log(axf_worker *w, int kind, int step, const char *text)
{
    pthread_mutex_lock(&w->mu);
    const char *p = text ? text : "";
    do {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len || !nl) {
            axf_view_line *l = &w->v.log[w->v.n_log % AXF_VIEW_LOG];
            l->kind = kind;
            l->step = step;
            if (len >= sizeof l->text)
                len = sizeof l->text - 1;
            memcpy(l->text, p, len);
            l->text[len] = 0;
            w->v.n_log++;
        }
        p = nl ? nl + 1 : NULL;
    } while (p && *p);
    w->v.seq++;
    pthread_mutex_unlock(&w->mu);
}

void axf_wk_logf(axf_worker *w, int kind, int step, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    axf_wk_log(w, kind, step, buf);
}

void axf_wk_message(axf_worker *w, int error, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&w->mu);
    axf_str_copy(w->v.message, sizeof w->v.message, buf);
    w->v.message_error = error;
    w->v.message_seq++;
    w->v.seq++;
    pthread_mutex_unlock(&w->mu);
    axf_wk_log(w, error ? AXF_LOG_ERROR : AXF_LOG_INFO, w->s ? axf_session_cursor(w->s) : 0, buf);
}

void axf_wk_start_label(axf_worker *w, const char *label)
{
    pthread_mutex_lock(&w->mu);
    axf_str_copy(w->v.start_label, sizeof w->v.start_label, label);
    w->v.seq++;
    pthread_mutex_unlock(&w->mu);
}

void axf_wk_on_lua_log(axf_lua_log_kind kind, const char *line, void *ud)
{
    axf_worker *w = ud;
    int step = w->s ? axf_session_cursor(w->s) : 0;
    switch (kind) {
    case AXF_LUA_LOG_TRIAL:
        axf_wk_log(w, (strstr(line, "kept") || strstr(line, "accepted")) ? AXF_LOG_KEPT : AXF_LOG_REJECTED, step,
                   line);
        break;
    case AXF_LUA_LOG_STEP:
        break; /* shown by the teaching panel and as the step's own log line */
    case AXF_LUA_LOG_STATUS:
        break; /* the worker's own message says how the policy stopped */
    default:
        axf_wk_log(w, AXF_LOG_LUA, step, line);
        break;
    }
}

/* "loss a → b, acc x% → y%" of one step. */
static void metrics_text(const axf_metrics *a, const axf_metrics *b, char *buf, size_t n)
{
    int d = axf_loss_decimals(a->loss);
    if (isnan(a->accuracy) || isnan(b->accuracy))
        snprintf(buf, n, "loss %.*f → %.*f", d, a->loss, d, b->loss);
    else
        snprintf(buf, n, "loss %.*f → %.*f, acc %.2f%% → %.2f%%", d, a->loss, d, b->loss, 100 * a->accuracy,
                 100 * b->accuracy);
}

void axf_wk_log_history(axf_worker *w)
{
    int n = axf_session_history_len(w->s), nt = axf_session_trials_len(w->s);
    int cur = axf_session_cursor(w->s);
    for (int i = 0; i <= n; i++) {
        for (int t = 0; t < nt; t++) {
            axf_trial_entry e;
            if (axf_session_trial_get(w->s, t, &e) || e.cursor != i)
                continue;
            char what[128], line[400];
            axf_actions_describe(e.actions, e.n_actions, ", ", what, sizeof what);
            snprintf(line, sizeof line, "try %s: loss %.*f, %d/%d no worse%s%s", what,
                     axf_loss_decimals(e.metrics.loss), e.metrics.loss, e.metrics.n_no_worse, e.metrics.n,
                     *e.note ? " → " : "", e.note);
            axf_wk_log(w, AXF_LOG_REJECTED, i, line);
        }
        if (i == n)
            break;
        axf_history_entry h;
        if (axf_session_history_get(w->s, i, &h))
            continue;
        char what[128], mt[160];
        axf_history_describe(&h, ", ", what, sizeof what);
        metrics_text(&h.before, &h.after, mt, sizeof mt);
        axf_wk_logf(w, AXF_LOG_KEPT, i + 1, "step %d: %s  %s%s%s", i + 1, what, mt, *h.note ? "  · " : "",
                    h.note);
    }
    if (cur < n)
        axf_wk_logf(w, AXF_LOG_INFO, cur, "at step %d of %d (u/r or [ ] walk the history)", cur, n);
}

void axf_wk_log_entry(axf_worker *w, const char *verb, int step, const axf_history_entry *h)
{
    char what[128], mt[160];
    axf_history_describe(h, ", ", what, sizeof what);
    metrics_text(&h->before, &h->after, mt, sizeof mt);
    axf_wk_logf(w, AXF_LOG_KEPT, step, "%s%d: %s  %s", verb, step, what, mt);
}

void axf_wk_log_step(axf_worker *w, const char *verb)
{
    int cur = axf_session_cursor(w->s);
    axf_history_entry h;
    if (cur >= 1 && !axf_session_history_get(w->s, cur - 1, &h))
        axf_wk_log_entry(w, verb, cur, &h);
}

/* ---- explanations of the policy's steps, by history position ---- */

static void explain_set(axf_worker *w, int idx, const char *text)
{
    if (idx < 0)
        return;
    if (idx >= w->n_explain) {
        int n = idx + 64;
        w->explain = axf_xrealloc(w->explain, (size_t)n * sizeof *w->explain);
        for (int i = w->n_explain; i < n; i++)
            w->explain[i] = NULL;
        w->n_explain = n;
    }
    free(w->explain[idx]);
    w->explain[idx] = text && *text ? axf_xstrdup(text) : NULL;
}

void axf_wk_explain_commit(axf_worker *w, const char *text)
{
    int idx = axf_session_cursor(w->s) - 1;
    for (int i = idx; i < w->n_explain; i++) {
        free(w->explain[i]);
        w->explain[i] = NULL;
    }
    explain_set(w, idx, text);
}

void axf_wk_explain_free(axf_worker *w)
{
    for (int i = 0; i < w->n_explain; i++)
        free(w->explain[i]);
    free(w->explain);
    w->explain = NULL;
    w->n_explain = 0;
}

/* ---- publishing ---- */

static void fill_trial(axf_view_trial *t, const axf_trial_entry *e)
{
    axf_actions_describe(e->actions, e->n_actions, ", ", t->what, sizeof t->what);
    axf_str_copy(t->note, sizeof t->note, e->note);
    t->m = e->metrics;
    t->seconds = e->seconds;
}

/* Journal entries [idx[n-1], ..., idx[0]] (collected newest first) into out, oldest first. */
static void fill_trials(axf_worker *w, const int *idx, int n, axf_view_trial *out)
{
    for (int i = 0; i < n; i++) {
        axf_trial_entry e;
        if (!axf_session_trial_get(w->s, idx[n - 1 - i], &e))
            fill_trial(&out[i], &e);
    }
}

static axf_view_step *steps_text(axf_worker *w, int n)
{
    axf_view_step *steps = n ? axf_xcalloc((size_t)n, sizeof *steps) : NULL;
    for (int i = 0; i < n; i++) {
        axf_history_entry e;
        if (axf_session_history_get(w->s, i, &e))
            continue;
        axf_history_describe(&e, ", ", steps[i].what, sizeof steps[i].what);
        steps[i].distil = e.distil != NULL;
        axf_str_copy(steps[i].note, sizeof steps[i].note, e.note);
        if (e.n_actions > 0)
            steps[i].act = e.actions[0];
        steps[i].n_actions = e.n_actions;
        steps[i].before = e.before;
        steps[i].after = e.after;
        steps[i].seconds = e.seconds;
        axf_wk_results_step(w, i, &steps[i]);
    }
    return steps;
}

/* The policy's "rule" parameter, a string ("" when it has none). */
static const char *policy_rule(const axf_luahost *h)
{
    int n = h ? axf_luahost_param_count(h) : 0;
    for (int i = 0; i < n; i++) {
        axf_lua_param p;
        if (!axf_luahost_param_get(h, i, &p) && p.type == AXF_LUA_PARAM_STRING && !strcmp(p.name, "rule"))
            return p.value;
    }
    return "";
}

void axf_wk_publish(axf_worker *w)
{
    if (!w->s)
        return;
    axf_snapshot snap;
    axf_session_snapshot(w->s, &snap);
    int n = axf_session_history_len(w->s);
    axf_view_step *steps = steps_text(w, n);
    /* the trials that led to the step at the cursor, and those made since on this plan (journal
     * positions, newest first) */
    int cur = snap.cursor, nt = axf_session_trials_len(w->s);
    int before[AXF_VIEW_TRIALS], after[AXF_VIEW_TRIALS];
    int nb = 0, na = 0, tb = 0, ta = 0;
    for (int i = nt - 1; i >= 0; i--) {
        axf_trial_entry e;
        if (axf_session_trial_get(w->s, i, &e))
            continue;
        if (cur > 0 && e.cursor == cur - 1) {
            tb++;
            if (nb < AXF_VIEW_TRIALS)
                before[nb++] = i;
        } else if (e.cursor == cur) {
            ta++;
            if (na < AXF_VIEW_TRIALS)
                after[na++] = i;
        }
    }
    int lua_state = w->h ? (int)axf_luahost_state(w->h) : AXF_LUA_NONE;

    pthread_mutex_lock(&w->mu);
    axf_view *v = &w->v;
    v->cmds_done = w->n_done;
    v->phase = AXF_PHASE_READY;
    v->have_snap = 1;
    v->snap = snap;
    free(v->steps);
    v->steps = steps;
    v->n_steps = n;
    v->n_trials = nb;
    v->trials_total = tb;
    fill_trials(w, before, nb, v->trials);
    v->n_trials_after = na;
    v->trials_after_total = ta;
    fill_trials(w, after, na, v->trials_after);
    axf_str_copy(v->explain, sizeof v->explain,
                 cur > 0 && cur - 1 < w->n_explain && w->explain[cur - 1] ? w->explain[cur - 1] : "");
    axf_wk_results_publish(w, v);
    v->have_policy = w->h && lua_state != AXF_LUA_NONE;
    v->policy_state = lua_state;
    v->policy_running = atomic_load(&w->run_req);
    v->policy_steps = w->h ? axf_luahost_steps(w->h) : 0;
    axf_str_copy(v->policy_name, sizeof v->policy_name, w->h ? axf_luahost_policy_name(w->h) : "");
    axf_str_copy(v->policy_rule, sizeof v->policy_rule, policy_rule(w->h));
    const char *pf = w->o.policy_path ? strrchr(w->o.policy_path, '/') : NULL;
    axf_str_copy(v->policy_file, sizeof v->policy_file, pf ? pf + 1 : w->o.policy_path);
    axf_str_copy(v->policy_msg, sizeof v->policy_msg, w->h ? axf_luahost_message(w->h) : "");
    axf_str_copy(v->session_path, sizeof v->session_path, w->session_path);
    axf_str_copy(v->autosave_path, sizeof v->autosave_path, w->autosave_path);
    v->user_dirty = w->user_dirty;
    v->quit_ready = w->quit_ready;
    v->seq++;
    pthread_mutex_unlock(&w->mu);
}
