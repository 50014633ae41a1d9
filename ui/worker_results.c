/* Numbers the worker measures in the background for the committed plan, when no command waits:
 * held-out metrics, importance of the kind the screen shows, measured speed. Each is remembered
 * with the plan it belongs to, so the view can say when a value is of an older plan. */
#include <stdio.h>

#include "worker_internal.h"

static axf_wk_imp_slot *imp_find(axf_worker *w, int kind, const axf_plan *plan)
{
    for (int i = 0; i < AXF_WK_IMP_CACHE; i++) {
        axf_wk_imp_slot *e = &w->imp[i];
        if (e->plan && e->kind == kind && axf_plan_equal(e->plan, plan)) {
            e->used = ++w->imp_clock;
            return e;
        }
    }
    return NULL;
}

/* A slot for the committed plan (the least recently used one is reused). */
static axf_wk_imp_slot *imp_new(axf_worker *w, int kind)
{
    axf_wk_imp_slot *e = &w->imp[0];
    for (int i = 0; i < AXF_WK_IMP_CACHE; i++) {
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

/* The latest values of a kind measured without error, whatever their plan. */
static const axf_wk_imp_slot *imp_latest(axf_worker *w, int kind)
{
    const axf_wk_imp_slot *best = NULL;
    for (int i = 0; i < AXF_WK_IMP_CACHE; i++) {
        const axf_wk_imp_slot *e = &w->imp[i];
        if (e->plan && e->kind == kind && e->ok && (!best || e->used > best->used))
            best = e;
    }
    return best;
}

void axf_wk_want_importance(axf_worker *w, int kind)
{
    w->want_kind = kind;
    axf_wk_imp_slot *is = imp_find(w, w->want_kind, axf_session_plan(w->s));
    if (is && !is->ok) { /* asked again: try again */
        axf_plan_free(is->plan);
        is->plan = NULL;
    }
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

int axf_wk_measure_speed(axf_worker *w, int asked)
{
    axf_wk_work_begin(w, "measuring speed", 1);
    axf_err err;
    axf_speed sp;
    int r = axf_session_speed(w->s, 0, &sp, &err);
    int by_user = atomic_load(&w->cancel);
    axf_wk_work_end(w);
    axf_plan_free(w->speed_plan);
    w->speed_plan = axf_plan_clone(axf_session_plan(w->s));
    if (r == AXF_CANCELLED && by_user)
        r = 1; /* skipped for this plan */
    if (r == 1) {
    } else if (r == 0) {
        w->speed = sp;
        remember_speed(w, &sp);
        if (asked && sp.unchanged)
            axf_wk_logf(w, AXF_LOG_INFO, axf_session_cursor(w->s), "speed: 1.00× (same model as the original)");
        else if (asked)
            axf_wk_logf(w, AXF_LOG_INFO, axf_session_cursor(w->s),
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
        axf_wk_message(w, 1, "speed: %s", err.msg);
    }
    return r;
}

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

int axf_wk_background_pending(axf_worker *w)
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

void axf_wk_background(axf_worker *w)
{
    axf_err err;
    if (!w->ho_failed && n_holdout(w->s) > 0 && !plan_is(w->ho_plan, w->s)) {
        axf_wk_work_begin(w, "held-out evaluation", 1);
        int r = axf_session_holdout_metrics(w->s, &w->ho_base, &w->ho_cur, &err);
        axf_wk_work_end(w);
        if (r == 0) {
            w->have_ho = 1;
            w->ho_step = axf_session_cursor(w->s);
            axf_plan_free(w->ho_plan);
            w->ho_plan = axf_plan_clone(axf_session_plan(w->s));
        } else if (r != AXF_CANCELLED) {
            w->ho_failed = 1;
            axf_wk_message(w, 1, "held-out: %s", err.msg);
        }
        return;
    }
    if (!imp_find(w, w->want_kind, axf_session_plan(w->s))) {
        char label[64];
        snprintf(label, sizeof label, "importance (%s)", axf_imp_kind_name(w->want_kind));
        axf_wk_work_begin(w, label, 1);
        axf_importance imp;
        int r = axf_session_importance(w->s, w->want_kind, AXF_IMP_ALL, 0, &imp, &err);
        int by_user = atomic_load(&w->cancel);
        axf_wk_work_end(w);
        if (r == AXF_CANCELLED && !by_user)
            return; /* preempted: computed again when idle */
        if (r == AXF_CANCELLED)
            axf_err_set(&err, "cancelled (i asks again)");
        axf_wk_imp_slot *is = imp_new(w, w->want_kind);
        is->ok = r == 0;
        if (r == 0)
            is->imp = imp;
        else
            axf_str_copy(is->err, sizeof is->err, err.msg);
        return;
    }
    if (!w->speed_failed && !plan_is(w->speed_plan, w->s))
        axf_wk_measure_speed(w, 0);
}

void axf_wk_results_step(axf_worker *w, int i, const axf_metrics *after, axf_view_step *out)
{
    for (int k = 0; k < w->n_step_speed; k++) {
        const struct axf_wk_step_speed *q = &w->step_speed[k];
        if (q->step == i + 1 && q->params == after->params && q->loss == after->loss) {
            out->have_speed = 1;
            out->speedup = q->sp.ratio;
            out->speedup_lo = q->sp.ratio_lo;
            out->speedup_hi = q->sp.ratio_hi;
        }
    }
}

void axf_wk_results_publish(axf_worker *w, axf_view *v)
{
    const axf_plan *plan = axf_session_plan(w->s);
    const axf_wk_imp_slot *is = imp_find(w, w->want_kind, plan);
    int imp_stale = 0;
    if (!is) { /* not measured for this plan (yet): show the latest values of this kind */
        is = imp_latest(w, w->want_kind);
        imp_stale = 1;
    }
    int imp_have = is && is->ok;
    v->imp_kind = w->want_kind;
    v->have_imp = imp_have;
    v->imp_stale = imp_stale;
    v->imp_step = is ? is->step : 0;
    if (imp_have)
        v->imp = is->imp;
    axf_str_copy(v->imp_err, sizeof v->imp_err, is && !is->ok && !imp_stale ? is->err : "");
    v->have_holdout = w->have_ho;
    v->holdout_stale = w->have_ho && (!w->ho_plan || !axf_plan_equal(w->ho_plan, plan));
    v->holdout_step = w->ho_step;
    v->ho_base = w->ho_base;
    v->ho_cur = w->ho_cur;
    v->have_speed = w->have_speed;
    v->speed_stale = w->have_speed && (!w->speed_val_plan || !axf_plan_equal(w->speed_val_plan, plan));
    v->speed_step = w->speed_step;
    v->speed = w->speed;
}

void axf_wk_results_free(axf_worker *w)
{
    for (int k = 0; k < AXF_WK_IMP_CACHE; k++)
        axf_plan_free(w->imp[k].plan);
    axf_plan_free(w->speed_plan);
    axf_plan_free(w->speed_val_plan);
    axf_plan_free(w->ho_plan);
}
