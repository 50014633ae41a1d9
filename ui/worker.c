/* The worker thread: owns the session and the Lua host, runs the commands the screen queues, runs
 * the policy when asked, and when nothing else waits computes the background numbers the screen
 * shows (held-out metrics, importance, measured speed) for the committed plan. After each piece of
 * work it publishes a fresh view under the mutex. Background work is preempted: its progress
 * callback says stop as soon as a command arrives, so keys never wait for an importance sweep.
 * This file is the queue, the thread and the calls of worker.h; worker_internal.h lists the rest. */
#include <stdlib.h>
#include <string.h>

#include "worker_internal.h"

void axf_wk_work_begin(axf_worker *w, const char *label, int preemptible)
{
    atomic_store(&w->cancel, 0);
    atomic_store(&w->preempt, preemptible);
    pthread_mutex_lock(&w->mu);
    w->prog.busy = 1;
    axf_str_copy(w->prog.label, sizeof w->prog.label, label);
    w->prog.done = w->prog.total = 0;
    w->prog.start = axf_now();
    w->prog.preemptible = preemptible;
    pthread_mutex_unlock(&w->mu);
}

void axf_wk_work_end(axf_worker *w)
{
    atomic_store(&w->preempt, 0);
    pthread_mutex_lock(&w->mu);
    w->prog.busy = 0;
    pthread_mutex_unlock(&w->mu);
}

int axf_wk_on_progress(double done, double total, void *ud)
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
    if (h && atomic_load(&w->pause_want) && atomic_load(&w->in_policy) == AXF_WK_IN_POLICY)
        axf_luahost_pause(h);
    return stop;
}

/* ---- the thread ---- */

/* The log and view of a session just opened. */
static void opened(axf_worker *w)
{
    axf_facts f;
    axf_metrics b;
    axf_session_facts(w->s, &f);
    axf_session_baseline(w->s, &b);
    axf_wk_log_history(w);
    axf_wk_logf(w, AXF_LOG_INFO, axf_session_cursor(w->s),
                "opened %s: %d layers × %d heads, %d search examples; baseline loss %.*f, %s %.2f%%",
                w->v.title, f.n_layers, f.n_heads, f.n_search, axf_loss_decimals(b.loss), b.loss, f.metric_name,
                100 * b.metric);
    axf_wk_logf(w, AXF_LOG_INFO, axf_session_cursor(w->s), "autosave: %s", w->autosave_path);
    if (w->record_warning[0])
        axf_wk_message(w, 1, "%s", w->record_warning);
    axf_wk_mark_saved(w);
    axf_wk_publish(w);
}

static void *worker_main(void *arg)
{
    axf_worker *w = arg;
    axf_err err;
    err.msg[0] = 0;
    if (axf_wk_open(w, &err)) {
        axf_wk_work_end(w);
        pthread_mutex_lock(&w->mu);
        w->v.phase = AXF_PHASE_FAILED;
        axf_str_copy(w->v.fail, sizeof w->v.fail, err.msg);
        w->v.seq++;
        pthread_mutex_unlock(&w->mu);
        return NULL;
    }
    axf_wk_autosave_path(w);
    opened(w);

    for (;;) {
        axf_wcmd c;
        int have = 0, run = 0, paused = 0;
        pthread_mutex_lock(&w->mu);
        while (!w->quit && w->qn == 0 && !atomic_load(&w->run_req) && !atomic_load(&w->pause_want) &&
               !axf_wk_background_pending(w))
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        if (w->qn) {
            c = w->q[w->qh];
            w->qh = (w->qh + 1) % AXF_WK_QCAP;
            w->qn--;
            have = 1;
        } else if (atomic_load(&w->run_req)) {
            run = 1;
        } else if (atomic_exchange(&w->pause_want, 0)) {
            paused = 1; /* paused between two steps of a run */
        }
        pthread_mutex_unlock(&w->mu);
        if (have) {
            axf_wk_exec(w, &c);
            pthread_mutex_lock(&w->mu);
            w->n_done++;
            pthread_mutex_unlock(&w->mu);
            axf_wk_publish(w);
        } else if (run)
            axf_wk_policy_step(w, 1);
        else if (paused)
            axf_wk_message(w, 0, "policy paused after step %d (s or a carries on)", axf_session_cursor(w->s));
        else
            axf_wk_background(w);
        axf_wk_publish(w);
    }
    return NULL;
}

/* ---- worker.h ---- */

static char *own(axf_worker *w, const char *s)
{
    if (!s)
        return NULL;
    char *c = axf_xstrdup(s);
    w->own[w->n_own++] = c;
    return c;
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
    w->o.train_path = own(w, o->train_path);
    w->o.autosave_path = own(w, o->autosave_path);
    w->o.title = own(w, o->title);
    w->o.demo_dir = own(w, o->demo_dir);
    for (int i = 0; i < o->n_sets; i++)
        w->o.sets[i] = own(w, o->sets[i]);
    w->want_kind = AXF_IMP_EXACT;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    axf_str_copy(w->v.title, sizeof w->v.title, w->o.title ? w->o.title : "");
    if (!*w->v.title && w->o.model_dir)
        axf_wk_title_from_dir(w->v.title, sizeof w->v.title, w->o.model_dir);
    if (!*w->v.title && w->o.session_path)
        axf_str_copy(w->v.title, sizeof w->v.title, w->o.session_path);
    w->v.imp_kind = AXF_IMP_EXACT;
    axf_str_copy(w->v.start_label, sizeof w->v.start_label, "starting");
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
    axf_wk_results_free(w);
    axf_wk_explain_free(w);
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
    if (later->type == AXF_WCMD_ATTENTION && earlier->type == AXF_WCMD_ATTENTION)
        return 1; /* the view shows the row asked for last */
    return later->type == AXF_WCMD_APPLY && earlier->type == AXF_WCMD_APPLY &&
           later->act.op == AXF_OP_SET_HARD && earlier->act.op == AXF_OP_SET_HARD &&
           later->act.layer == earlier->act.layer;
}

int axf_worker_post(axf_worker *w, const axf_wcmd *c)
{
    pthread_mutex_lock(&w->mu);
    axf_wcmd *last = w->qn > 0 ? &w->q[(w->qh + w->qn - 1) % AXF_WK_QCAP] : NULL;
    if (last && supersedes(c, last)) {
        *last = *c; /* the last value asked for replaces the waiting one */
        w->n_posted++;
        w->n_done++;
        last->id = w->n_posted;
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    if (w->qn == AXF_WK_QCAP) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    w->q[(w->qh + w->qn) % AXF_WK_QCAP] = *c;
    w->n_posted++;
    w->q[(w->qh + w->qn) % AXF_WK_QCAP].id = w->n_posted;
    w->qn++;
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
    if (atomic_load(&w->run_req) || inp == AXF_WK_IN_POLICY) {
        axf_worker_pause(w); /* a policy keeps what it did and carries on later */
        return;
    }
    atomic_store(&w->cancel, 1);
    axf_luahost *h = atomic_load(&w->host);
    if (h && inp == AXF_WK_IN_CONSOLE)
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
