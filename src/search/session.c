/* The search session: the committed plan, trials, undo/redo history and resuming. Every state
 * change goes through a function here (or session_measure.c for the held-out and speed caches),
 * after all fallible work is done, so a failed or cancelled call leaves the session as it was.
 * Building and freeing a session are in session_build.c, read-only views in session_query.c. */
#include "session_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axf/compact.h"
#include "axf/metrics.h"
#include "axf/fileio.h"

void axf__evalbuf_alloc(evalbuf *b, int n, int C)
{
    b->losses = axf_xmalloc(sizeof(float) * (size_t)n);
    b->logits = axf_xmalloc(sizeof(float) * (size_t)n * (size_t)C);
    b->preds = axf_xmalloc(sizeof(int) * (size_t)n);
}

void axf__evalbuf_free(evalbuf *b)
{
    AXF_FREE(b->losses, b->logits, b->preds);
    memset(b, 0, sizeof *b);
}

static void evalbuf_swap(evalbuf *a, evalbuf *b)
{
    evalbuf t = *a;
    *a = *b;
    *b = t;
}

/* ---- metrics ---- */

void axf__metrics_compute(axf_session *s, const axf_encoded *enc, const axf_plan *p, const float *l0,
                          evalbuf *b, axf_metrics *out)
{
    int n = enc->n, C = s->m->cfg.num_labels;
    double sum = 0;
    int nw = 0, correct = 0;
    for (int j = 0; j < n; j++) {
        sum += b->losses[j];
        if (l0 && b->losses[j] <= l0[j])
            nw++;
        if (enc->kind == AXF_TASK_CLASSIFY) {
            const float *lg = b->logits + (size_t)j * C;
            int best = 0;
            for (int c = 1; c < C; c++)
                if (lg[c] > lg[best])
                    best = c;
            b->preds[j] = best;
            correct += best == enc->labels[j];
        } else {
            b->preds[j] = 0;
        }
    }
    memset(out, 0, sizeof *out);
    out->n = n;
    out->loss = sum / n;
    out->n_no_worse = l0 ? nw : n;
    if (enc->kind == AXF_TASK_CLASSIFY) {
        out->accuracy = (double)correct / n;
        if (!strcmp(s->metric_name, "mcc"))
            out->metric = axf_metric_mcc(b->preds, enc->labels, n);
        else if (!strcmp(s->metric_name, "f1"))
            out->metric = axf_metric_f1(b->preds, enc->labels, n);
        else
            out->metric = out->accuracy;
    } else {
        float *pred = axf_xmalloc(sizeof(float) * (size_t)n);
        for (int j = 0; j < n; j++)
            pred[j] = b->logits[j];
        out->accuracy = NAN;
        out->metric = axf_metric_pearson(pred, enc->targets, n);
        free(pred);
    }
    out->params = axf_plan_params(s->m, p);
    out->size_bytes = axf_plan_bytes(s->m, p);
    out->flops_per_token = axf_plan_flops_per_token(s->m, p, s->mean_len);
}

int axf__eval_plan(axf_session *s, const axf_plan *p, evalbuf *b, axf_metrics *out, double *secs,
                   axf_progress_fn fn, void *ud, axf_err *err)
{
    double t0 = axf_now();
    int rc = axf_evalcache_run(s->ec, p, s->opts.cache_bytes > 0, b->logits, b->losses, fn, ud, err);
    if (rc)
        return rc;
    s->evals++;
    axf__metrics_compute(s, s->enc, p, s->l0, b, out);
    if (secs)
        *secs = axf_now() - t0;
    return 0;
}

/* ---- committed plan ---- */

void axf__set_committed(axf_session *s, const axf_plan *p)
{
    if (!axf_plan_equal(p, s->plan))
        axf_plan_copy(s->plan, p);
    axf_evalcache_commit(s->ec, s->plan);
}

int axf__rebuild_plan(axf_session *s, int cursor, axf_plan *out, axf_err *err)
{
    axf_plan_copy(out, s->orig);
    for (int i = 0; i < cursor; i++)
        for (int k = 0; k < s->hist[i].n; k++)
            if (axf_plan_apply(out, &s->hist[i].acts[k], &s->defs, NULL, err))
                return axf_err_prefix(err, "history step %d", i + 1);
    return 0;
}

int axf__ensure_current(axf_session *s, axf_err *err)
{
    if (s->cur_buf_valid)
        return 0;
    axf_metrics m;
    int rc = axf__eval_plan(s, s->plan, &s->trial_buf, &m, NULL, s->opts.progress, s->opts.progress_ud, err);
    if (rc)
        return rc;
    evalbuf_swap(&s->cur_buf, &s->trial_buf);
    s->trial_valid = 0;
    s->cur = m;
    s->cur_buf_valid = 1;
    return 0;
}

void axf_session_current(const axf_session *s, axf_metrics *out)
{
    *out = s->cur;
}

const float *axf_session_losses(axf_session *s, axf_err *err)
{
    return axf__ensure_current(s, err) ? NULL : s->cur_buf.losses;
}

const int *axf_session_preds(axf_session *s, axf_err *err)
{
    return axf__ensure_current(s, err) ? NULL : s->cur_buf.preds;
}

const float *axf_session_logits(axf_session *s, axf_err *err)
{
    return axf__ensure_current(s, err) ? NULL : s->cur_buf.logits;
}

/* ---- actions ---- */

axf_action *axf__dup_actions(const axf_action *a, int n)
{
    axf_action *d = axf_xmalloc(sizeof *d * (size_t)(n > 0 ? n : 1));
    memcpy(d, a, sizeof *d * (size_t)n);
    return d;
}

int axf__plan_with(const axf_session *s, const axf_action *acts, int n, axf_plan *p, axf_action *resolved,
                   axf_err *err)
{
    if (!acts || n < 1)
        return axf_err_set(err, "no action given");
    axf_plan_copy(p, s->plan);
    for (int i = 0; i < n; i++)
        if (axf_plan_apply(p, &acts[i], &s->defs, resolved ? &resolved[i] : NULL, err)) {
            if (n > 1)
                axf_err_prefix(err, "action %d of %d", i + 1, n);
            return -1;
        }
    return 0;
}

int axf_session_check(const axf_session *s, const axf_action *acts, int n, axf_err *err)
{
    axf_plan *p = axf_plan_clone(s->plan);
    int rc = axf__plan_with(s, acts, n, p, NULL, err);
    axf_plan_free(p);
    return rc;
}

static double unix_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* What eval_actions made: the plan, the resolved actions (both the caller's), the metrics, the
 * seconds, and whether the outputs are missing (a resumed trial's never were computed). */
typedef struct {
    axf_plan *p;
    axf_action *res;
    axf_metrics m;
    double secs;
    int no_outputs;
} evald;

static int ff_try(axf_session *s, const axf_action *acts, int n, axf_metrics *out, axf_err *err);
static int ff_apply(axf_session *s, const axf_action *acts, int n, axf_metrics *out, axf_err *err);
static int resuming(const axf_session *s);

/* The fallible half of try (apply = 0) and apply: while resuming, the record answers when it
 * can (1, *out set); otherwise the committed plan plus acts is evaluated into trial_buf (0, *e
 * the caller's). On failure (-1 or AXF_CANCELLED) nothing is allocated and only the trial
 * outputs are invalidated. apply takes a trial of the same plan as is: its outputs depend on
 * its plan alone (l0 never changes). */
static int eval_actions(axf_session *s, const axf_action *acts, int n, int apply, axf_metrics *out, evald *e,
                        axf_err *err)
{
    if (resuming(s)) {
        int r = apply ? ff_apply(s, acts, n, out, err) : ff_try(s, acts, n, out, err);
        if (r <= 0)
            return r < 0 ? r : 1;
    }
    *e = (evald){.p = axf_plan_clone(s->plan), .res = axf_xmalloc(sizeof *e->res * (size_t)(n > 0 ? n : 1))};
    int rc = axf__plan_with(s, acts, n, e->p, e->res, err);
    if (rc == 0) {
        if (apply && s->trial_valid && axf_plan_equal(e->p, s->trial_plan)) {
            e->m = s->trial_m;
            e->secs = s->trial_seconds;
            e->no_outputs = s->trial_lazy;
            s->evals++;
            s->evals_reused++;
        } else {
            s->trial_valid = 0;
            rc = axf__eval_plan(s, e->p, &s->trial_buf, &e->m, &e->secs, s->opts.progress, s->opts.progress_ud,
                                err);
        }
    }
    if (rc) {
        axf_plan_free(e->p);
        free(e->res);
    }
    return rc;
}

static tentry *trials_push(axf_session *s)
{
    s->trials = axf_grow(s->trials, sizeof *s->trials, s->trials_len, &s->trials_cap, 16);
    return &s->trials[s->trials_len++];
}

/* ---- resuming (axf_session_resume): the record of the interrupted run is re-lived while the
 * policy repeats it ---- */

static int resuming(const axf_session *s)
{
    return s->ff_hist || s->ff_trials;
}

void axf__ff_end(axf_session *s)
{
    for (int i = s->ff_hi; i < s->ff_hist_len; i++)
        axf__hentry_free(&s->ff_hist[i]);
    for (int i = s->ff_ti; i < s->ff_trials_len; i++)
        axf__tentry_free(&s->ff_trials[i]);
    free(s->ff_hist);
    free(s->ff_trials);
    s->ff_hist = NULL;
    s->ff_trials = NULL;
    s->ff_hist_len = s->ff_hi = s->ff_trials_len = s->ff_ti = 0;
}

static void ff_end_if_done(axf_session *s)
{
    if (resuming(s) && s->ff_hi == s->ff_hist_len && s->ff_ti == s->ff_trials_len)
        axf__ff_end(s);
}

static int same_actions(const axf_action *a, int na, const axf_action *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++) {
        char x[128], y[128];
        axf_action_describe(&a[i], x, sizeof x);
        axf_action_describe(&b[i], y, sizeof y);
        if (a[i].op != b[i].op || strcmp(x, y))
            return 0;
    }
    return 1;
}

int axf_session_resume(axf_session *s, axf_err *err)
{
    if (resuming(s))
        return axf_err_set(err, "resume: already resuming");
    if (axf_session_goto(s, 0, err))
        return -1;
    s->ff_hist = s->hist;
    s->ff_hist_len = s->hist_len;
    s->ff_trials = s->trials;
    s->ff_trials_len = s->trials_len;
    s->ff_hi = s->ff_ti = 0;
    s->hist = NULL;
    s->hist_len = s->hist_cap = 0;
    s->trials = NULL;
    s->trials_len = s->trials_cap = 0;
    if (!s->ff_hist)
        s->ff_hist = axf_xmalloc(1); /* resuming() holds until the record is used up */
    ff_end_if_done(s);
    return 0;
}

int axf_session_resume_left(const axf_session *s, int *steps, int *trials)
{
    if (steps)
        *steps = s->ff_hist_len - s->ff_hi;
    if (trials)
        *trials = s->ff_trials_len - s->ff_ti;
    return resuming(s);
}

/* The end of a call while resuming: rc 0 answered from the record (metrics m), 1 not recorded,
 * -1 failed; frees the plan and the resolved actions the call made. */
static int ff_finish(axf_session *s, int rc, const axf_metrics *m, axf_metrics *out, axf_plan *p,
                     axf_action *res)
{
    if (rc == 0) {
        s->evals++;
        s->evals_reused++;
        s->dirty = 1;
        if (out)
            *out = *m;
        ff_end_if_done(s);
    }
    axf_plan_free(p);
    free(res);
    return rc;
}

/* try while resuming: 0 answered from the record, 1 not recorded (the caller evaluates), -1 the
 * actions do not apply (as a live try). */
static int ff_try(axf_session *s, const axf_action *acts, int n, axf_metrics *out, axf_err *err)
{
    if (s->ff_ti >= s->ff_trials_len)
        return axf__ff_end(s), 1;
    axf_plan *p = axf_plan_clone(s->plan);
    axf_action *res = axf_xmalloc(sizeof *res * (size_t)(n > 0 ? n : 1));
    int rc = axf__plan_with(s, acts, n, p, res, err);
    const tentry *t = &s->ff_trials[s->ff_ti];
    if (rc == 0 && (t->cursor != s->cursor || !same_actions(t->acts, t->n, res, n))) {
        axf__ff_end(s);
        rc = 1;
    }
    if (rc == 0) {
        *trials_push(s) = *t; /* the record's entry moves to the journal, note and time included */
        s->ff_ti++;
        axf_plan_copy(s->trial_plan, p);
        s->trial_valid = 1;
        s->trial_lazy = 1;
        s->trial_m = t->m;
        s->trial_seconds = t->seconds;
    }
    return ff_finish(s, rc, &s->trial_m, out, p, res);
}

const float *axf_session_trial_losses(const axf_session *s)
{
    return s->trial_valid && !s->trial_lazy ? s->trial_buf.losses : NULL;
}

int axf_session_trial_outputs(axf_session *s, axf_err *err)
{
    if (!s->trial_valid)
        return axf_err_set(err, "no trial results");
    if (!s->trial_lazy)
        return 0;
    axf_metrics m;
    int rc = axf__eval_plan(s, s->trial_plan, &s->trial_buf, &m, NULL, s->opts.progress, s->opts.progress_ud, err);
    if (rc)
        return rc;
    s->trial_lazy = 0;
    return 0;
}

const int *axf_session_trial_preds(const axf_session *s)
{
    return s->trial_valid && !s->trial_lazy ? s->trial_buf.preds : NULL;
}

void axf_session_note_trial(axf_session *s, const char *note)
{
    axf_session_note_trial_at(s, s->trials_len - 1, note);
}

void axf_session_note_trial_at(axf_session *s, int i, const char *note)
{
    if (i < 0 || i >= s->trials_len)
        return;
    tentry *t = &s->trials[i];
    free(t->note);
    t->note = axf_xstrdup(note ? note : "");
    s->dirty = 1;
}

hentry *axf__hist_push(axf_session *s, const axf_action *res, int n, const char *note, double secs,
                       const axf_metrics *before, const axf_metrics *after)
{
    for (int i = s->cursor; i < s->hist_len; i++)
        axf__hentry_free(&s->hist[i]);
    s->hist_len = s->cursor;
    s->hist = axf_grow(s->hist, sizeof *s->hist, s->hist_len, &s->hist_cap, 16);
    hentry *h = &s->hist[s->hist_len++];
    h->n = n;
    h->acts = axf__dup_actions(res, n);
    h->note = axf_xstrdup(note ? note : "");
    h->seconds = secs;
    h->time = unix_time();
    h->before = *before;
    h->after = *after;
    h->kd = NULL;
    h->w = NULL;
    h->wid = 0;
    h->wdir = NULL;
    s->cursor = s->hist_len;
    return h;
}

/* apply while resuming: 0 the recorded step re-lived, 1 not recorded (the caller evaluates), -1
 * the actions do not apply. The record is followed only on top of the history as it was built
 * (an undo or a redo tail ends it: the original run's final history no longer tells). */
static int ff_apply(axf_session *s, const axf_action *acts, int n, axf_metrics *out, axf_err *err)
{
    if (s->ff_hi >= s->ff_hist_len || s->cursor != s->hist_len || s->hist_len != s->ff_hi)
        return axf__ff_end(s), 1;
    axf_plan *p = axf_plan_clone(s->plan);
    axf_action *res = axf_xmalloc(sizeof *res * (size_t)(n > 0 ? n : 1));
    int rc = axf__plan_with(s, acts, n, p, res, err);
    const hentry *e = &s->ff_hist[s->ff_hi];
    if (rc == 0 && !same_actions(e->acts, e->n, res, n)) {
        axf__ff_end(s);
        rc = 1;
    }
    if (rc == 0) {
        int have = s->trial_valid && !s->trial_lazy && axf_plan_equal(p, s->trial_plan);
        s->hist = axf_grow(s->hist, sizeof *s->hist, s->hist_len, &s->hist_cap, 16);
        s->hist[s->hist_len++] = *e; /* moves, with its times */
        s->cursor = s->hist_len;
        s->ff_hi++;
        axf__set_committed(s, p);
        if (have)
            evalbuf_swap(&s->cur_buf, &s->trial_buf);
        s->cur_buf_valid = have;
        s->trial_valid = 0;
        s->cur = s->hist[s->cursor - 1].after;
    }
    return ff_finish(s, rc, &s->cur, out, p, res);
}

/* try (apply = 0) and apply: evaluated, or answered from the record while resuming, then put
 * in the journal (try) or committed on the history (apply). */
static int try_or_apply(axf_session *s, int apply, const axf_action *acts, int n, const char *note,
                        axf_metrics *out, axf_err *err)
{
    evald e;
    int rc = eval_actions(s, acts, n, apply, out, &e, err);
    if (rc)
        return rc < 0 ? rc : 0;
    if (apply) {
        axf__hist_push(s, e.res, n, note, e.secs, &s->cur, &e.m);
        free(e.res);
        axf__set_committed(s, e.p);
        evalbuf_swap(&s->cur_buf, &s->trial_buf);
        s->cur_buf_valid = !e.no_outputs;
        s->trial_valid = 0;
        s->cur = e.m;
    } else {
        axf__trial_push(s, e.p, e.res, n, note, &e.m, e.secs);
    }
    axf_plan_free(e.p);
    s->dirty = 1;
    if (out)
        *out = e.m;
    return 0;
}

void axf__trial_push(axf_session *s, const axf_plan *p, axf_action *res, int n, const char *note,
                     const axf_metrics *m, double secs)
{
    axf_plan_copy(s->trial_plan, p);
    s->trial_valid = 1;
    s->trial_lazy = 0;
    s->trial_m = *m;
    s->trial_seconds = secs;
    *trials_push(s) = (tentry){.cursor = s->cursor, .n = n, .acts = res, .note = axf_xstrdup(note ? note : ""),
                               .seconds = secs, .m = *m};
    s->dirty = 1;
}

int axf__try_recorded(axf_session *s, const axf_action *acts, int n, axf_metrics *out, axf_err *err)
{
    return resuming(s) ? ff_try(s, acts, n, out, err) : 1;
}

int axf_session_try(axf_session *s, const axf_action *acts, int n, const char *note, axf_metrics *out,
                    axf_err *err)
{
    return try_or_apply(s, 0, acts, n, note, out, err);
}

int axf_session_apply(axf_session *s, const axf_action *acts, int n, const char *note, axf_metrics *out,
                      axf_err *err)
{
    return try_or_apply(s, 1, acts, n, note, out, err);
}

int axf_session_goto(axf_session *s, int cursor, axf_err *err)
{
    if (cursor < 0 || cursor > s->hist_len)
        return axf_err_set(err, "goto: step %d out of range 0..%d", cursor, s->hist_len);
    if (cursor == s->cursor)
        return 0;
    axf_plan *p = axf_plan_clone(s->plan);
    if (axf__rebuild_plan(s, cursor, p, err) || axf__use_weights(s, cursor, err)) {
        axf_plan_free(p);
        return -1;
    }
    axf__set_committed(s, p);
    axf_plan_free(p);
    s->cursor = cursor;
    s->cur = cursor == 0 ? s->base : s->hist[cursor - 1].after;
    s->cur_buf_valid = 0; /* per-sample outputs are re-evaluated on demand */
    s->trial_valid = 0;
    s->dirty = 1;
    return 0;
}

int axf_session_undo(axf_session *s, axf_err *err)
{
    if (s->cursor == 0)
        return axf_err_set(err, "nothing to undo");
    return axf_session_goto(s, s->cursor - 1, err);
}

int axf_session_redo(axf_session *s, axf_err *err)
{
    if (s->cursor == s->hist_len)
        return axf_err_set(err, "nothing to redo");
    return axf_session_goto(s, s->cursor + 1, err);
}

