/* The worker thread: owns the session and the Lua host, runs the commands the screen queues, runs
 * the policy when asked, and when nothing else waits computes the background numbers the screen
 * shows (held-out metrics, importance, measured speed) for the committed plan. After each piece of
 * work it publishes a fresh view under the mutex. Background work is preempted: its progress
 * callback says stop as soon as a command arrives, so keys never wait for an importance sweep. */
#include "worker.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axf/luahost.h"
#include "demoprep.h"

#define QCAP 64
enum { IN_NONE = 0, IN_POLICY, IN_CONSOLE };

/* Importance results by kind and plan, so that undo, redo and replay walks show the values of a
 * plan measured before at once. */
#define IMP_CACHE 24
typedef struct imp_slot {
    int kind;
    axf_plan *plan;            /* plan the values (or the error) belong to; NULL = free slot */
    axf_importance imp;
    int ok;
    char err[160];
    int step;                  /* history position when measured */
    unsigned long used;        /* for least-recently-used eviction */
} imp_slot;

struct axf_worker {
    axf_ui_opts o;
    char *own[16 + AXF_UI_MAX_SETS];  /* owned copies of o's strings */
    int n_own;

    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    axf_wcmd q[QCAP];
    int qh, qn;
    unsigned long n_posted, n_done; /* (mu) commands posted / executed or merged into a later one */
    int quit;
    atomic_int run_req;        /* the user wants the policy running */
    atomic_int cancel;         /* abandon the current non-policy work */
    atomic_int preempt;        /* the current work is background */
    atomic_int in_policy;      /* IN_POLICY: a policy step runs now; IN_CONSOLE: a console line */
    atomic_int pause_want;     /* the user paused the policy: passed on to the host again from
                                  every progress tick of the step (a pause that arrives before the
                                  host runs the step would otherwise be lost) */
    axf_luahost *_Atomic host;
    axf_view v;                /* published (mu) */
    axf_progress_view prog;    /* (mu) */

    /* worker thread only */
    axf_session *s;
    axf_luahost *h;
    int want_kind;
    imp_slot imp[IMP_CACHE];
    unsigned long imp_clock;
    axf_plan *speed_plan, *ho_plan; /* plans measured (or skipped) last */
    axf_plan *speed_val_plan;  /* plan the shown speed belongs to */
    int speed_failed, ho_failed;
    axf_speed speed;
    /* speeds measured, by history step: a step's entry holds while the step at that index has
     * the same parameter count and loss (a step replaced after an undo has other numbers) */
    struct step_speed {
        int step;
        size_t params;
        double loss;
        axf_speed sp;
    } step_speed[256];
    int n_step_speed;
    int have_speed, have_ho;
    int speed_step, ho_step;   /* history position the numbers were measured at */
    axf_metrics ho_base, ho_cur;
    char **explain;            /* [i] = host explanation of history step i+1, or NULL */
    int n_explain;
    char session_path[512], autosave_path[512];
    char record_warning[224];  /* the opened file's record disagrees with what is measured */
    int user_dirty;
    int quit_ready;            /* a save-and-quit went through */
    int autosave_failed;
    /* what the user saved (or opened): commits so far, cursor, trials; the screen asks before
     * quitting when the session is elsewhere, so walking a replay back to where it was is clean */
    long gen, last_hl;
    double last_time;
    long saved_sig[3];
};

/* ---- small helpers ---- */

static char *own(axf_worker *w, const char *s)
{
    if (!s)
        return NULL;
    char *c = axf_xstrdup(s);
    w->own[w->n_own++] = c;
    return c;
}

static void copy_str(char *dst, size_t n, const char *src)
{
    axf_str_copy(dst, n, src);
}

static void describe_acts(const axf_action *a, int n, char *buf, size_t sz)
{
    buf[0] = 0;
    size_t used = 0;
    for (int i = 0; i < n && used + 2 < sz; i++) {
        char one[96];
        axf_action_describe(&a[i], one, sizeof one);
        used += (size_t)snprintf(buf + used, sz - used, "%s%s", i ? ", " : "", one);
    }
}

/* Appends one log line (any thread that holds no lock; takes mu). Multi-line text becomes
 * several lines. */
static void log_add(axf_worker *w, int kind, int step, const char *text)
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

static void logf_add(axf_worker *w, int kind, int step, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void logf_add(axf_worker *w, int kind, int step, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_add(w, kind, step, buf);
}

static void message(axf_worker *w, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void message(axf_worker *w, int error, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&w->mu);
    copy_str(w->v.message, sizeof w->v.message, buf);
    w->v.message_error = error;
    w->v.message_seq++;
    w->v.seq++;
    pthread_mutex_unlock(&w->mu);
    log_add(w, error ? AXF_LOG_ERROR : AXF_LOG_INFO, w->s ? axf_session_cursor(w->s) : 0, buf);
}

static void work_begin(axf_worker *w, const char *label, int preemptible)
{
    atomic_store(&w->cancel, 0);
    atomic_store(&w->preempt, preemptible);
    pthread_mutex_lock(&w->mu);
    w->prog.busy = 1;
    copy_str(w->prog.label, sizeof w->prog.label, label);
    w->prog.done = w->prog.total = 0;
    w->prog.start = axf_now();
    w->prog.preemptible = preemptible;
    pthread_mutex_unlock(&w->mu);
}

static void work_end(axf_worker *w)
{
    atomic_store(&w->preempt, 0);
    pthread_mutex_lock(&w->mu);
    w->prog.busy = 0;
    pthread_mutex_unlock(&w->mu);
}

/* Progress of every long session call (chained through the Lua host while it lives). A nonzero
 * return makes the call stop with AXF_CANCELLED and change nothing. */
static int on_progress(double done, double total, void *ud)
{
    axf_worker *w = ud;
    int stop = 0;
    pthread_mutex_lock(&w->mu);
    w->prog.done = done;
    w->prog.total = total;
    if (w->quit)
        stop = 1;
    if (atomic_load(&w->preempt) && (w->qn > 0 || atomic_load(&w->run_req)))
        stop = 1;
    pthread_mutex_unlock(&w->mu);
    if (atomic_load(&w->cancel))
        stop = 1;
    axf_luahost *h = atomic_load(&w->host);
    if (h && atomic_load(&w->pause_want) && atomic_load(&w->in_policy) == IN_POLICY)
        axf_luahost_pause(h);
    return stop;
}

static void on_lua_log(axf_lua_log_kind kind, const char *line, void *ud)
{
    axf_worker *w = ud;
    int step = w->s ? axf_session_cursor(w->s) : 0;
    switch (kind) {
    case AXF_LUA_LOG_TRIAL:
        log_add(w, (strstr(line, "kept") || strstr(line, "accepted")) ? AXF_LOG_KEPT : AXF_LOG_REJECTED,
                step, line);
        break;
    case AXF_LUA_LOG_STEP:
        break; /* shown by the teaching panel and as the step's own log line */
    case AXF_LUA_LOG_STATUS:
        break; /* the worker's own message says how the policy stopped */
    default:
        log_add(w, AXF_LOG_LUA, step, line);
        break;
    }
}

/* ---- files ---- */

static int mkdir_p(const char *dir)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) && errno != EEXIST)
        return -1;
    return 0;
}

/* STATE/axformer/autosave-<model name>.json: one file per model, so two screens on different
 * models do not overwrite each other's steps. */
static void default_autosave(char *out, size_t n, const char *title)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char dir[400];
    if (xdg && *xdg)
        snprintf(dir, sizeof dir, "%s/axformer", xdg);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.local/state/axformer", home);
    else
        snprintf(dir, sizeof dir, "/tmp/axformer-%ld", (long)getuid());
    mkdir_p(dir);
    char name[64];
    size_t k = 0;
    for (const char *p = title; *p && k + 1 < sizeof name; p++)
        name[k++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                            *p == '-' || *p == '_' || *p == '.' ? *p : '-';
    name[k] = 0;
    snprintf(out, n, "%s/autosave-%s.json", dir, k ? name : "session");
}

/* Called after everything that may change the session: a change the user has not saved yet is
 * remembered, and written to the autosave file at once (atomic write) so a kill loses nothing. */
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

static void mark_saved(axf_worker *w)
{
    state_sig(w, w->saved_sig);
    w->user_dirty = 0;
}

static void after_change(axf_worker *w)
{
    long sig[3];
    state_sig(w, sig);
    w->user_dirty = memcmp(sig, w->saved_sig, sizeof sig) != 0;
    if (!axf_session_dirty(w->s))
        return;
    axf_err err;
    if (axf_session_save(w->s, w->autosave_path, &err)) {
        if (!w->autosave_failed)
            message(w, 1, "autosave failed: %s", err.msg);
        w->autosave_failed = 1;
    } else {
        w->autosave_failed = 0;
    }
}

/* ---- publishing ---- */

static void fill_metrics_text(const axf_metrics *a, const axf_metrics *b, char *buf, size_t n)
{
    int d = axf_loss_decimals(a->loss);
    if (isnan(a->accuracy) || isnan(b->accuracy))
        snprintf(buf, n, "loss %.*f → %.*f", d, a->loss, d, b->loss);
    else
        snprintf(buf, n, "loss %.*f → %.*f, acc %.2f%% → %.2f%%", d, a->loss, d, b->loss, 100 * a->accuracy,
                 100 * b->accuracy);
}

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

/* A new step at the cursor drops the redo tail, and with it the explanations of those steps. */
static void explain_commit(axf_worker *w, const char *text)
{
    int idx = axf_session_cursor(w->s) - 1;
    for (int i = idx; i < w->n_explain; i++) {
        free(w->explain[i]);
        w->explain[i] = NULL;
    }
    explain_set(w, idx, text);
}

static void fill_trial(axf_view_trial *t, const axf_trial_entry *e)
{
    describe_acts(e->actions, e->n_actions, t->what, sizeof t->what);
    copy_str(t->note, sizeof t->note, e->note);
    t->m = e->metrics;
    t->seconds = e->seconds;
}

static imp_slot *imp_find(axf_worker *w, int kind, const axf_plan *plan)
{
    for (int i = 0; i < IMP_CACHE; i++) {
        imp_slot *e = &w->imp[i];
        if (e->plan && e->kind == kind && axf_plan_equal(e->plan, plan)) {
            e->used = ++w->imp_clock;
            return e;
        }
    }
    return NULL;
}

static const imp_slot *imp_latest(axf_worker *w, int kind)
{
    const imp_slot *best = NULL;
    for (int i = 0; i < IMP_CACHE; i++) {
        const imp_slot *e = &w->imp[i];
        if (e->plan && e->kind == kind && e->ok && (!best || e->used > best->used))
            best = e;
    }
    return best;
}

/* A slot for the committed plan (the least recently used one is reused). */
static imp_slot *imp_new(axf_worker *w, int kind)
{
    imp_slot *e = &w->imp[0];
    for (int i = 0; i < IMP_CACHE; i++) {
        if (!w->imp[i].plan) {
            e = &w->imp[i];
            break;
        }
        if (w->imp[i].used < e->used)
            e = &w->imp[i];
    }
    axf_plan_free(e->plan);
    e->plan = axf_plan_clone(axf_session_plan(w->s));
    e->kind = kind;
    e->step = axf_session_cursor(w->s);
    e->ok = 0;
    e->err[0] = 0;
    e->used = ++w->imp_clock;
    return e;
}

static void publish(axf_worker *w)
{
    if (!w->s)
        return;
    axf_snapshot snap;
    axf_session_snapshot(w->s, &snap);
    int n = axf_session_history_len(w->s);
    axf_view_step *steps = n ? axf_xcalloc((size_t)n, sizeof *steps) : NULL;
    for (int i = 0; i < n; i++) {
        axf_history_entry e;
        if (axf_session_history_get(w->s, i, &e))
            continue;
        describe_acts(e.actions, e.n_actions, steps[i].what, sizeof steps[i].what);
        copy_str(steps[i].note, sizeof steps[i].note, e.note);
        if (e.n_actions > 0)
            steps[i].act = e.actions[0];
        steps[i].n_actions = e.n_actions;
        steps[i].before = e.before;
        steps[i].after = e.after;
        steps[i].seconds = e.seconds;
        for (int k = 0; k < w->n_step_speed; k++) {
            const struct step_speed *q = &w->step_speed[k];
            if (q->step == i + 1 && q->params == e.after.params && q->loss == e.after.loss) {
                steps[i].have_speed = 1;
                steps[i].speedup = q->sp.ratio;
                steps[i].speedup_lo = q->sp.ratio_lo;
                steps[i].speedup_hi = q->sp.ratio_hi;
            }
        }
    }
    /* the trials that led to the step at the cursor, and those made since on this plan */
    int cur = snap.cursor, nt = axf_session_trials_len(w->s);
    static axf_view_trial before[AXF_VIEW_TRIALS], after[AXF_VIEW_TRIALS];
    int nb = 0, na = 0, tb = 0, ta = 0;
    for (int i = nt - 1; i >= 0; i--) {
        axf_trial_entry e;
        if (axf_session_trial_get(w->s, i, &e))
            continue;
        if (cur > 0 && e.cursor == cur - 1) {
            tb++;
            if (nb < AXF_VIEW_TRIALS)
                fill_trial(&before[nb++], &e);
        } else if (e.cursor == cur) {
            ta++;
            if (na < AXF_VIEW_TRIALS)
                fill_trial(&after[na++], &e);
        }
    }
    const axf_plan *plan = axf_session_plan(w->s);
    const imp_slot *is = imp_find(w, w->want_kind, plan);
    int imp_stale = 0;
    if (!is) { /* not measured for this plan (yet): show the latest values of this kind */
        is = imp_latest(w, w->want_kind);
        imp_stale = 1;
    }
    int imp_have = is && is->ok;
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
    /* journal order is oldest first; we collected newest first */
    v->n_trials = nb;
    v->trials_total = tb;
    for (int i = 0; i < nb; i++)
        v->trials[i] = before[nb - 1 - i];
    v->n_trials_after = na;
    v->trials_after_total = ta;
    for (int i = 0; i < na; i++)
        v->trials_after[i] = after[na - 1 - i];
    copy_str(v->explain, sizeof v->explain,
             cur > 0 && cur - 1 < w->n_explain && w->explain[cur - 1] ? w->explain[cur - 1] : "");
    v->imp_kind = w->want_kind;
    v->have_imp = imp_have;
    v->imp_stale = imp_stale;
    v->imp_step = is ? is->step : 0;
    if (imp_have)
        v->imp = is->imp;
    copy_str(v->imp_err, sizeof v->imp_err, is && !is->ok && !imp_stale ? is->err : "");
    v->have_holdout = w->have_ho;
    v->holdout_stale = w->have_ho && (!w->ho_plan || !axf_plan_equal(w->ho_plan, plan));
    v->holdout_step = w->ho_step;
    v->ho_base = w->ho_base;
    v->ho_cur = w->ho_cur;
    v->have_speed = w->have_speed;
    v->speed_stale = w->have_speed && (!w->speed_val_plan || !axf_plan_equal(w->speed_val_plan, plan));
    v->speed_step = w->speed_step;
    v->speed = w->speed;
    v->have_policy = w->h && lua_state != AXF_LUA_NONE;
    v->policy_state = lua_state;
    v->policy_running = atomic_load(&w->run_req);
    v->policy_steps = w->h ? axf_luahost_steps(w->h) : 0;
    copy_str(v->policy_name, sizeof v->policy_name, w->h ? axf_luahost_policy_name(w->h) : "");
    v->policy_rule[0] = 0;
    if (w->h) { /* the parameters as JSON, every one with its value: "rule": "loss" */
        const char *r = strstr(axf_luahost_params_json(w->h), "\"rule\": \"");
        if (r) {
            r += 9;
            size_t k = strcspn(r, "\"");
            if (k < sizeof v->policy_rule)
                memcpy(v->policy_rule, r, k), v->policy_rule[k] = 0;
        }
    }
    {
        const char *pf = w->o.policy_path ? strrchr(w->o.policy_path, '/') : NULL;
        copy_str(v->policy_file, sizeof v->policy_file, pf ? pf + 1 : w->o.policy_path);
    }
    copy_str(v->policy_msg, sizeof v->policy_msg, w->h ? axf_luahost_message(w->h) : "");
    copy_str(v->session_path, sizeof v->session_path, w->session_path);
    copy_str(v->autosave_path, sizeof v->autosave_path, w->autosave_path);
    v->user_dirty = w->user_dirty;
    v->quit_ready = w->quit_ready;
    v->seq++;
    pthread_mutex_unlock(&w->mu);
}

/* The log of a loaded session: for every step, the trials made before it, then the step. */
static void log_history(axf_worker *w)
{
    int n = axf_session_history_len(w->s), nt = axf_session_trials_len(w->s);
    int cur = axf_session_cursor(w->s);
    for (int i = 0; i <= n; i++) {
        for (int t = 0; t < nt; t++) {
            axf_trial_entry e;
            if (axf_session_trial_get(w->s, t, &e) || e.cursor != i)
                continue;
            char what[128], line[400];
            describe_acts(e.actions, e.n_actions, what, sizeof what);
            snprintf(line, sizeof line, "try %s: loss %.*f, %d/%d no worse%s%s", what,
                     axf_loss_decimals(e.metrics.loss), e.metrics.loss,
                     e.metrics.n_no_worse, e.metrics.n, *e.note ? " → " : "", e.note);
            log_add(w, AXF_LOG_REJECTED, i, line);
        }
        if (i == n)
            break;
        axf_history_entry h;
        if (axf_session_history_get(w->s, i, &h))
            continue;
        char what[128], mt[160];
        describe_acts(h.actions, h.n_actions, what, sizeof what);
        fill_metrics_text(&h.before, &h.after, mt, sizeof mt);
        logf_add(w, AXF_LOG_KEPT, i + 1, "step %d: %s  %s%s%s", i + 1, what, mt, *h.note ? "  · " : "",
                 h.note);
    }
    if (cur < n)
        logf_add(w, AXF_LOG_INFO, cur, "at step %d of %d (u/r or [ ] walk the history)", cur, n);
}

/* ---- opening ---- */

/* A model folder's own name ("models/x/" -> "x"), with its parent when it is just "model". */
static void title_from_dir(char *out, size_t n, const char *dir)
{
    char tmp[256];
    copy_str(tmp, sizeof tmp, dir);
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
    copy_str(out, n, b ? b + 1 : tmp);
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

static int open_session(axf_worker *w, axf_err *err)
{
    axf_session_opts so = w->o.sopts;
    so.progress = on_progress;
    so.progress_ud = w;
    const char *model = w->o.model_dir, *data = w->o.data_path;
    char demo_model[512], demo_data[512], demo_hold[512];
    const char *holdout = w->o.holdout_path;

    if (w->o.demo) {
        work_begin(w, "training", 0);
        pthread_mutex_lock(&w->mu);
        copy_str(w->v.start_label, sizeof w->v.start_label,
                 "preparing the demo model (trained on first use, then cached)");
        w->v.seq++;
        pthread_mutex_unlock(&w->mu);
        if (w->o.demo_dir) {
            snprintf(demo_model, sizeof demo_model, "%s/model", w->o.demo_dir);
            snprintf(demo_data, sizeof demo_data, "%s/search.tsv", w->o.demo_dir);
            snprintf(demo_hold, sizeof demo_hold, "%s/heldout.tsv", w->o.demo_dir);
        } else if (axf_demoprep(w->o.demo_seed, on_progress, w, demo_model, sizeof demo_model, demo_data,
                                sizeof demo_data, demo_hold, sizeof demo_hold, err)) {
            return -1;
        }
        model = demo_model;
        data = demo_data;
        if (!holdout && *demo_hold)
            holdout = demo_hold;
        work_end(w);
    }
    struct stat st;
    int load = w->o.session_path && !stat(w->o.session_path, &st);
    pthread_mutex_lock(&w->mu);
    copy_str(w->v.start_label, sizeof w->v.start_label,
             load ? "loading the session and evaluating its baseline"
                  : "opening the model and evaluating the baseline");
    w->v.seq++;
    pthread_mutex_unlock(&w->mu);
    work_begin(w, load ? "loading session" : "baseline", 0);
    if (load)
        w->s = axf_session_load(w->o.session_path, model, data, holdout, &so, err);
    else
        w->s = axf_session_open(model, data, &so, err);
    if (w->s && load)
        check_record(w);
    work_end(w);
    if (!w->s)
        return -1;
    if (!load && holdout && axf_session_set_holdout(w->s, holdout, err))
        return axf_err_prefix(err, "held-out split %s", holdout);
    if (load && !w->o.title && !w->o.model_dir) { /* name the screen after the recorded model */
        char tmp[256];
        copy_str(tmp, sizeof tmp, axf_session_model_dir(w->s));
        pthread_mutex_lock(&w->mu);
        title_from_dir(w->v.title, sizeof w->v.title, tmp);
        pthread_mutex_unlock(&w->mu);
    }
    if (w->o.session_path)
        copy_str(w->session_path, sizeof w->session_path, w->o.session_path);

    axf_luahost_opts lo = axf_luahost_opts_default();
    lo.log = on_lua_log;
    lo.log_ud = w;
    lo.progress = on_progress;
    lo.progress_ud = w;
    w->h = axf_luahost_new(w->s, &lo, err);
    if (!w->h)
        return -1;
    atomic_store(&w->host, w->h);
    if (w->o.policy_path) {
        axf_err perr;
        if (axf_luahost_load(w->h, w->o.policy_path, (const char *const *)w->o.sets, w->o.n_sets, &perr))
            message(w, 1, "policy: %s", perr.msg);
        else
            logf_add(w, AXF_LOG_POLICY, 0, "policy %s loaded (s steps, a runs)", axf_luahost_policy_name(w->h));
    }
    return 0;
}

/* ---- commands ---- */

static void log_step(axf_worker *w, const char *verb)
{
    int cur = axf_session_cursor(w->s);
    axf_history_entry h;
    if (cur < 1 || axf_session_history_get(w->s, cur - 1, &h))
        return;
    char what[128], mt[160];
    describe_acts(h.actions, h.n_actions, what, sizeof what);
    fill_metrics_text(&h.before, &h.after, mt, sizeof mt);
    logf_add(w, AXF_LOG_KEPT, cur, "%s%d: %s  %s", verb, cur, what, mt);
}

static void policy_step(axf_worker *w, int running)
{
    if (!w->h || axf_luahost_state(w->h) == AXF_LUA_NONE) {
        atomic_store(&w->run_req, 0);
        message(w, 1, "no policy loaded (start with --policy FILE)");
        return;
    }
    axf_lua_state st = axf_luahost_state(w->h);
    if (st != AXF_LUA_IDLE) {
        atomic_store(&w->run_req, 0);
        message(w, 1, "the policy is %s (L loads it again)", axf_lua_state_name(st));
        return;
    }
    if (running && !atomic_load(&w->run_req))
        return; /* paused before the step began */
    work_begin(w, running ? "policy running" : "policy step", 0);
    atomic_store(&w->in_policy, IN_POLICY);
    axf_err err;
    int r = axf_luahost_step(w->h, &err);
    atomic_store(&w->in_policy, 0);
    int paused = atomic_exchange(&w->pause_want, 0);
    work_end(w);
    if (r == AXF_LUA_STEPPED) {
        explain_commit(w, axf_luahost_explanation(w->h));
        log_step(w, "step ");
        if (paused) /* the pause came as the step was being committed */
            message(w, 0, "policy paused after step %d (s or a carries on)", axf_session_cursor(w->s));
    } else if (r == AXF_LUA_FINISHED) {
        atomic_store(&w->run_req, 0);
        const char *m = axf_luahost_message(w->h);
        message(w, 0, "policy finished%s%s", *m ? ": " : "", m);
    } else if (r == AXF_CANCELLED) {
        atomic_store(&w->run_req, 0);
        if (axf_luahost_state(w->h) == AXF_LUA_IDLE)
            message(w, 0, "policy paused (s or a carries on)");
        else
            message(w, 0, "policy cancelled (L loads it again)");
    } else {
        atomic_store(&w->run_req, 0);
        message(w, 1, "policy: %s", err.msg);
    }
    after_change(w);
}

static void cmd_apply(axf_worker *w, const axf_action *a)
{
    char what[96];
    axf_action_describe(a, what, sizeof what);
    char label[128];
    snprintf(label, sizeof label, "evaluating %s", what);
    work_begin(w, label, 0);
    axf_err err;
    int r = axf_session_apply(w->s, a, 1, "by hand", NULL, &err);
    work_end(w);
    if (r == 0) {
        explain_commit(w, NULL);
        log_step(w, "step ");
    } else if (r == AXF_CANCELLED)
        message(w, 0, "%s cancelled", what);
    else
        message(w, 1, "%s", err.msg);
    after_change(w);
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
        message(w, 1, "%s", err.msg);
        return;
    }
    int after = axf_session_cursor(w->s);
    if (after < before) {
        axf_history_entry h;
        char what[128] = "";
        if (!axf_session_history_get(w->s, before - 1, &h))
            describe_acts(h.actions, h.n_actions, what, sizeof what);
        if (before - after == 1)
            logf_add(w, AXF_LOG_UNDO, after, "undo step %d: %s", before, what);
        else
            logf_add(w, AXF_LOG_UNDO, after, "back to step %d (undid %d)", after, before - after);
    } else if (after > before) {
        if (after - before == 1)
            log_step(w, "redo ");
        else
            logf_add(w, AXF_LOG_KEPT, after, "forward to step %d (redid %d)", after, after - before);
    }
    after_change(w);
}

static void cmd_lua(axf_worker *w, const char *line)
{
    logf_add(w, AXF_LOG_LUA, axf_session_cursor(w->s), "> %s", line);
    work_begin(w, "lua", 0);
    atomic_store(&w->in_policy, IN_CONSOLE);
    char *out = NULL;
    axf_err err;
    int r = axf_luahost_eval(w->h, line, &out, &err);
    atomic_store(&w->in_policy, 0);
    work_end(w);
    if (out && *out)
        log_add(w, AXF_LOG_LUA, axf_session_cursor(w->s), out);
    free(out);
    if (r)
        log_add(w, AXF_LOG_ERROR, axf_session_cursor(w->s), err.msg);
    after_change(w);
}

static int cmd_save(axf_worker *w, const char *path)
{
    const char *p = *path ? path : w->session_path;
    if (!*p) {
        message(w, 1, "no session file yet: w asks for one");
        return -1;
    }
    axf_err err;
    if (axf_session_save(w->s, p, &err)) {
        message(w, 1, "%s", err.msg);
        return -1;
    }
    if (p != w->session_path)
        copy_str(w->session_path, sizeof w->session_path, p);
    mark_saved(w);
    message(w, 0, "saved %s (%d steps)", w->session_path, axf_session_history_len(w->s));
    return 0;
}

static void cmd_export(axf_worker *w, const char *dir)
{
    work_begin(w, "exporting", 0);
    axf_err err;
    int r = axf_session_export(w->s, dir, &err);
    work_end(w);
    if (r)
        message(w, 1, "%s", err.msg);
    else
        message(w, 0, "exported the compacted model to %s", dir);
}

static void cmd_reload(axf_worker *w)
{
    if (!w->o.policy_path) {
        message(w, 1, "no policy file (start with --policy FILE)");
        return;
    }
    axf_err err;
    atomic_store(&w->run_req, 0);
    if (axf_luahost_load(w->h, w->o.policy_path, (const char *const *)w->o.sets, w->o.n_sets, &err))
        message(w, 1, "policy: %s", err.msg);
    else
        message(w, 0, "policy %s loaded again: it starts over from the current plan",
                axf_luahost_policy_name(w->h));
    after_change(w);
}

/* The metrics of the step at history index c (0: the original model). */
static int step_metrics(axf_session *s, int c, axf_metrics *m)
{
    if (c == 0) {
        axf_session_baseline(s, m);
        return 0;
    }
    axf_history_entry e;
    if (axf_session_history_get(s, c - 1, &e))
        return -1;
    *m = e.after;
    return 0;
}

static void remember_speed(axf_worker *w, const axf_speed *sp)
{
    int c = axf_session_cursor(w->s);
    axf_metrics m;
    if (step_metrics(w->s, c, &m))
        return;
    int k = 0;
    while (k < w->n_step_speed && w->step_speed[k].step != c)
        k++;
    if (k == w->n_step_speed) {
        if (k == (int)(sizeof w->step_speed / sizeof w->step_speed[0]))
            return;
        w->n_step_speed++;
    }
    w->step_speed[k].step = c;
    w->step_speed[k].params = m.params;
    w->step_speed[k].loss = m.loss;
    w->step_speed[k].sp = *sp;
}

/* asked: the user pressed m, and the log gets the figures of this measurement */
static int measure_speed(axf_worker *w, int asked)
{
    work_begin(w, "measuring speed", 1);
    axf_err err;
    axf_speed sp;
    int r = axf_session_speed(w->s, 0, &sp, &err);
    int by_user = atomic_load(&w->cancel);
    work_end(w);
    axf_plan_free(w->speed_plan);
    w->speed_plan = axf_plan_clone(axf_session_plan(w->s));
    if (r == AXF_CANCELLED && by_user)
        r = 1; /* skipped for this plan */
    if (r == 1) {
    } else if (r == 0) {
        w->speed = sp;
        remember_speed(w, &sp);
        if (asked && sp.unchanged)
            logf_add(w, AXF_LOG_INFO, axf_session_cursor(w->s), "speed: 1.00× (same model as the original)");
        else if (asked)
            logf_add(w, AXF_LOG_INFO, axf_session_cursor(w->s),
                     "speed: %.2f× (%.2f–%.2f over %d one-thread runs; %.0f vs %.0f tokens per CPU second)",
                     sp.ratio, sp.ratio_lo, sp.ratio_hi, sp.reps, sp.tok_s_cur, sp.tok_s_base);
        w->have_speed = 1;
        w->speed_step = axf_session_cursor(w->s);
        axf_plan_free(w->speed_val_plan);
        w->speed_val_plan = axf_plan_clone(axf_session_plan(w->s));
        w->speed_failed = 0;
    } else if (r == AXF_CANCELLED) {
        axf_plan_free(w->speed_plan); /* measure again when idle */
        w->speed_plan = NULL;
    } else {
        w->speed_failed = 1;
        message(w, 1, "speed: %s", err.msg);
    }
    return r;
}

static void exec_cmd(axf_worker *w, const axf_wcmd *c)
{
    switch (c->type) {
    case AXF_WCMD_APPLY: cmd_apply(w, &c->act); break;
    case AXF_WCMD_UNDO:
    case AXF_WCMD_REDO:
    case AXF_WCMD_GOTO: cmd_move(w, c); break;
    case AXF_WCMD_STEP:
        atomic_store(&w->pause_want, 0);
        policy_step(w, 0);
        break;
    case AXF_WCMD_RUN:
        atomic_store(&w->pause_want, 0);
        if (!w->h || axf_luahost_state(w->h) != AXF_LUA_IDLE)
            policy_step(w, 1); /* says why it cannot run */
        else
            atomic_store(&w->run_req, 1);
        break;
    case AXF_WCMD_RELOAD: cmd_reload(w); break;
    case AXF_WCMD_MEASURE:
        if (c->arg >= 0 && c->arg < AXF_IMP_KIND_COUNT) {
            w->want_kind = c->arg;
            imp_slot *is = imp_find(w, w->want_kind, axf_session_plan(w->s));
            if (is && !is->ok) { /* asked again: try again */
                axf_plan_free(is->plan);
                is->plan = NULL;
            }
        }
        break;
    case AXF_WCMD_SAVE: cmd_save(w, c->text); break;
    case AXF_WCMD_SAVE_QUIT:
        atomic_store(&w->run_req, 0); /* nothing starts after the save */
        if (cmd_save(w, c->text) == 0)
            w->quit_ready = 1;
        break;
    case AXF_WCMD_EXPORT: cmd_export(w, c->text); break;
    case AXF_WCMD_LUA: cmd_lua(w, c->text); break;
    case AXF_WCMD_SPEED: measure_speed(w, 1); break;
    }
}

/* ---- background work for the committed plan ---- */

static int n_holdout(const axf_session *s)
{
    axf_facts f;
    axf_session_facts(s, &f);
    return f.n_holdout;
}

static int plan_is(const axf_plan *have, const axf_session *s)
{
    return have && axf_plan_equal(have, axf_session_plan(s));
}

static int background_pending(axf_worker *w)
{
    if (w->s == NULL)
        return 0;
    if (!w->ho_failed && n_holdout(w->s) > 0 && !plan_is(w->ho_plan, w->s))
        return 1;
    if (!imp_find(w, w->want_kind, axf_session_plan(w->s)))
        return 1;
    if (!w->speed_failed && !plan_is(w->speed_plan, w->s))
        return 1;
    return 0;
}

static void background(axf_worker *w)
{
    axf_err err;
    if (!w->ho_failed && n_holdout(w->s) > 0 && !plan_is(w->ho_plan, w->s)) {
        work_begin(w, "held-out evaluation", 1);
        int r = axf_session_holdout_metrics(w->s, &w->ho_base, &w->ho_cur, &err);
        work_end(w);
        if (r == 0) {
            w->have_ho = 1;
            w->ho_step = axf_session_cursor(w->s);
            axf_plan_free(w->ho_plan);
            w->ho_plan = axf_plan_clone(axf_session_plan(w->s));
        } else if (r != AXF_CANCELLED) {
            w->ho_failed = 1;
            message(w, 1, "held-out: %s", err.msg);
        }
        return;
    }
    if (!imp_find(w, w->want_kind, axf_session_plan(w->s))) {
        char label[64];
        snprintf(label, sizeof label, "importance (%s)", axf_imp_kind_name(w->want_kind));
        work_begin(w, label, 1);
        axf_importance imp;
        int r = axf_session_importance(w->s, w->want_kind, AXF_IMP_ALL, 0, &imp, &err);
        int by_user = atomic_load(&w->cancel);
        work_end(w);
        if (r == AXF_CANCELLED && !by_user)
            return; /* preempted: computed again when idle */
        if (r == AXF_CANCELLED)
            axf_err_set(&err, "cancelled (i asks again)");
        imp_slot *is = imp_new(w, w->want_kind);
        is->ok = r == 0;
        if (r == 0)
            is->imp = imp;
        else
            copy_str(is->err, sizeof is->err, err.msg);
        return;
    }
    if (!w->speed_failed && !plan_is(w->speed_plan, w->s))
        measure_speed(w, 0);
}

/* ---- the thread ---- */

static void *worker_main(void *arg)
{
    axf_worker *w = arg;
    axf_err err;
    err.msg[0] = 0;
    if (open_session(w, &err)) {
        work_end(w);
        pthread_mutex_lock(&w->mu);
        w->v.phase = AXF_PHASE_FAILED;
        copy_str(w->v.fail, sizeof w->v.fail, err.msg);
        w->v.seq++;
        pthread_mutex_unlock(&w->mu);
        return NULL;
    }
    if (w->o.autosave_path)
        copy_str(w->autosave_path, sizeof w->autosave_path, w->o.autosave_path);
    else
        default_autosave(w->autosave_path, sizeof w->autosave_path, w->v.title);
    {
        axf_facts f;
        axf_metrics b;
        axf_session_facts(w->s, &f);
        axf_session_baseline(w->s, &b);
        log_history(w);
        logf_add(w, AXF_LOG_INFO, axf_session_cursor(w->s),
                 "opened %s: %d layers × %d heads, %d search examples; baseline loss %.*f, %s %.2f%%",
                 w->v.title, f.n_layers, f.n_heads, f.n_search, axf_loss_decimals(b.loss), b.loss, f.metric_name,
                 100 * b.metric);
        logf_add(w, AXF_LOG_INFO, axf_session_cursor(w->s), "autosave: %s", w->autosave_path);
        if (w->record_warning[0])
            message(w, 1, "%s", w->record_warning);
    }
    mark_saved(w);
    publish(w);

    for (;;) {
        axf_wcmd c;
        int have = 0, run = 0, paused = 0;
        pthread_mutex_lock(&w->mu);
        while (!w->quit && w->qn == 0 && !atomic_load(&w->run_req) && !atomic_load(&w->pause_want) &&
               !background_pending(w))
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        if (w->qn) {
            c = w->q[w->qh];
            w->qh = (w->qh + 1) % QCAP;
            w->qn--;
            have = 1;
        } else if (atomic_load(&w->run_req)) {
            run = 1;
        } else if (atomic_exchange(&w->pause_want, 0)) {
            paused = 1; /* paused between two steps of a run */
        }
        pthread_mutex_unlock(&w->mu);
        if (have) {
            exec_cmd(w, &c);
            pthread_mutex_lock(&w->mu);
            w->n_done++;
            pthread_mutex_unlock(&w->mu);
            publish(w);
        } else if (run)
            policy_step(w, 1);
        else if (paused)
            message(w, 0, "policy paused after step %d (s or a carries on)", axf_session_cursor(w->s));
        else
            background(w);
        publish(w);
    }
    return NULL;
}

axf_worker *axf_worker_start(const axf_ui_opts *o, axf_err *err)
{
    axf_worker *w = axf_xcalloc(1, sizeof *w);
    w->o = *o;
    w->o.model_dir = own(w, o->model_dir);
    w->o.data_path = own(w, o->data_path);
    w->o.holdout_path = own(w, o->holdout_path);
    w->o.session_path = own(w, o->session_path);
    w->o.policy_path = own(w, o->policy_path);
    w->o.autosave_path = own(w, o->autosave_path);
    w->o.title = own(w, o->title);
    w->o.demo_dir = own(w, o->demo_dir);
    for (int i = 0; i < o->n_sets; i++)
        w->o.sets[i] = own(w, o->sets[i]);
    w->want_kind = AXF_IMP_EXACT;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    copy_str(w->v.title, sizeof w->v.title, w->o.title ? w->o.title : "");
    if (!*w->v.title && w->o.model_dir)
        title_from_dir(w->v.title, sizeof w->v.title, w->o.model_dir);
    if (!*w->v.title && w->o.session_path)
        copy_str(w->v.title, sizeof w->v.title, w->o.session_path);
    w->v.imp_kind = AXF_IMP_EXACT;
    copy_str(w->v.start_label, sizeof w->v.start_label, "starting");
    if (pthread_create(&w->th, NULL, worker_main, w)) {
        axf_err_set(err, "cannot start the worker thread");
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        for (int i = 0; i < w->n_own; i++)
            free(w->own[i]);
        free(w);
        return NULL;
    }
    return w;
}

void axf_worker_stop(axf_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    atomic_store(&w->run_req, 0);
    atomic_store(&w->cancel, 1);
    axf_luahost *h = atomic_load(&w->host);
    if (h && atomic_load(&w->in_policy))
        axf_luahost_pause(h);
    pthread_join(w->th, NULL);
    axf_luahost_free(w->h);
    axf_session_free(w->s);
    for (int k = 0; k < IMP_CACHE; k++)
        axf_plan_free(w->imp[k].plan);
    axf_plan_free(w->speed_plan);
    axf_plan_free(w->speed_val_plan);
    axf_plan_free(w->ho_plan);
    for (int i = 0; i < w->n_explain; i++)
        free(w->explain[i]);
    free(w->explain);
    axf_view_free_steps(&w->v);
    for (int i = 0; i < w->n_own; i++)
        free(w->own[i]);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

/* Two hard-attention settings of one layer in a row: only the later one is wanted. */
static int supersedes(const axf_wcmd *later, const axf_wcmd *earlier)
{
    return later->type == AXF_WCMD_APPLY && earlier->type == AXF_WCMD_APPLY &&
           later->act.op == AXF_OP_SET_HARD && earlier->act.op == AXF_OP_SET_HARD &&
           later->act.layer == earlier->act.layer;
}

int axf_worker_post(axf_worker *w, const axf_wcmd *c)
{
    pthread_mutex_lock(&w->mu);
    if (w->qn > 0 && supersedes(c, &w->q[(w->qh + w->qn - 1) % QCAP])) {
        w->q[(w->qh + w->qn - 1) % QCAP] = *c; /* the last value asked for replaces the waiting one */
        w->n_posted++;
        w->n_done++;
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    if (w->qn == QCAP) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    w->q[(w->qh + w->qn) % QCAP] = *c;
    w->qn++;
    w->n_posted++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

unsigned long axf_worker_posted(axf_worker *w)
{
    pthread_mutex_lock(&w->mu);
    unsigned long n = w->n_posted;
    pthread_mutex_unlock(&w->mu);
    return n;
}

int axf_worker_pending(axf_worker *w)
{
    pthread_mutex_lock(&w->mu);
    int n = w->qn;
    pthread_mutex_unlock(&w->mu);
    return n;
}

int axf_worker_view(axf_worker *w, axf_view *dst)
{
    int copied = 0;
    pthread_mutex_lock(&w->mu);
    if (w->v.seq != dst->seq) {
        axf_view_copy(dst, &w->v);
        copied = 1;
    }
    pthread_mutex_unlock(&w->mu);
    return copied;
}

void axf_worker_progress(axf_worker *w, axf_progress_view *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->prog;
    pthread_mutex_unlock(&w->mu);
}

void axf_worker_pause(axf_worker *w)
{
    atomic_store(&w->run_req, 0);
    atomic_store(&w->pause_want, 1);
    axf_luahost *h = atomic_load(&w->host);
    if (h && atomic_load(&w->in_policy))
        axf_luahost_pause(h);
    pthread_mutex_lock(&w->mu);
    pthread_cond_signal(&w->cv); /* says "paused" when it was between two steps */
    w->v.policy_running = 0;
    w->v.seq++;
    pthread_mutex_unlock(&w->mu);
}

void axf_worker_cancel(axf_worker *w)
{
    int inp = atomic_load(&w->in_policy);
    if (atomic_load(&w->run_req) || inp == IN_POLICY) {
        axf_worker_pause(w); /* a policy keeps what it did and carries on later */
        return;
    }
    atomic_store(&w->cancel, 1);
    axf_luahost *h = atomic_load(&w->host);
    if (h && inp == IN_CONSOLE)
        axf_luahost_cancel(h);
}

void axf_worker_finish_step(axf_worker *w)
{
    atomic_store(&w->run_req, 0);
    pthread_mutex_lock(&w->mu);
    w->v.policy_running = 0;
    w->v.seq++;
    pthread_mutex_unlock(&w->mu);
}
