/* Numbers the worker measures in the background for the committed plan, when no command waits:
 * held-out metrics, importance of the kind the screen shows, measured speed. The session keeps
 * each with its plan (axf_session_kept_*), so after undo/redo the numbers of a plan measured
 * before show at once; the worker only remembers what not to try again. */
#include <stdio.h>

#include "worker_internal.h"

static int plan_is(const axf_plan *have, const axf_session *s)
{
    return have && axf_plan_equal(have, axf_session_plan(s));
}

static void plan_set(axf_plan **dst, const axf_session *s)
{
    axf_plan_free(*dst);
    *dst = s ? axf_plan_clone(axf_session_plan(s)) : NULL;
}

/* The wanted importance failed (or was cancelled) on the committed plan. */
static int imp_failed_here(axf_worker *w)
{
    return w->imp_fail_kind == w->want_kind && plan_is(w->imp_fail_plan, w->s);
}

static int imp_kept_here(axf_worker *w)
{
    return !axf_session_kept_importance(w->s, w->want_kind, AXF_IMP_ALL, 0, 0, NULL, NULL);
}

void axf_wk_want_importance(axf_worker *w, int kind)
{
    w->want_kind = kind;
    if (imp_failed_here(w)) /* asked again: try again */
        plan_set(&w->imp_fail_plan, NULL);
}

int axf_wk_measure_speed(axf_worker *w, int asked)
{
    axf_wk_work_begin(w, "measuring speed", 1);
    axf_err err;
    axf_speed sp;
    int r = axf_session_speed(w->s, 0, &sp, &err);
    int by_user = atomic_load(&w->cancel);
    axf_wk_work_end(w);
    plan_set(&w->speed_tried, w->s);
    if (r == AXF_CANCELLED && by_user)
        r = 1; /* skipped for this plan */
    if (r == 0) {
        if (asked && sp.unchanged)
            axf_wk_logf(w, AXF_LOG_INFO, axf_session_cursor(w->s), "speed: 1.00× (same model as the original)");
        else if (asked)
            axf_wk_logf(w, AXF_LOG_INFO, axf_session_cursor(w->s),
                        "speed: %.2f× (%.2f–%.2f over %d one-thread runs; %.0f vs %.0f tokens per CPU second)",
                        sp.ratio, sp.ratio_lo, sp.ratio_hi, sp.reps, sp.tok_s_cur, sp.tok_s_base);
        w->speed_failed = 0;
    } else if (r == AXF_CANCELLED) {
        plan_set(&w->speed_tried, NULL); /* measure again when idle */
    } else if (r != 1) {
        w->speed_failed = 1;
        axf_wk_message(w, 1, "speed: %s", err.msg);
    }
    return r;
}

static int holdout_wanted(axf_worker *w)
{
    axf_facts f;
    axf_session_facts(w->s, &f);
    return !w->ho_failed && f.n_holdout > 0 && axf_session_kept_holdout(w->s, 0, NULL, NULL, NULL);
}

static int speed_wanted(axf_worker *w)
{
    return !w->speed_failed && !plan_is(w->speed_tried, w->s) && axf_session_kept_speed(w->s, 0, NULL, NULL);
}

int axf_wk_background_pending(axf_worker *w)
{
    if (w->s == NULL)
        return 0;
    return holdout_wanted(w) || (!imp_kept_here(w) && !imp_failed_here(w)) || speed_wanted(w);
}

void axf_wk_background(axf_worker *w)
{
    axf_err err;
    if (holdout_wanted(w)) {
        axf_wk_work_begin(w, "held-out evaluation", 1);
        axf_metrics base, cur;
        int r = axf_session_holdout_metrics(w->s, &base, &cur, &err);
        axf_wk_work_end(w);
        if (r != 0 && r != AXF_CANCELLED) {
            w->ho_failed = 1;
            axf_wk_message(w, 1, "held-out: %s", err.msg);
        }
        return;
    }
    if (!imp_kept_here(w) && !imp_failed_here(w)) {
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
        if (r != 0) {
            w->imp_fail_kind = w->want_kind;
            w->imp_fail_step = axf_session_cursor(w->s);
            plan_set(&w->imp_fail_plan, w->s);
            axf_str_copy(w->imp_err, sizeof w->imp_err, err.msg);
        }
        return;
    }
    if (speed_wanted(w))
        axf_wk_measure_speed(w, 0);
}

void axf_wk_results_step(axf_worker *w, int i, axf_view_step *out)
{
    axf_speed sp;
    if (axf_session_kept_step_speed(w->s, i, &sp))
        return;
    out->have_speed = 1;
    out->speedup = sp.ratio;
    out->speedup_lo = sp.ratio_lo;
    out->speedup_hi = sp.ratio_hi;
}

void axf_wk_results_publish(axf_worker *w, axf_view *v)
{
    axf_kept_info ki = {0, 0};
    v->imp_kind = w->want_kind;
    if (!imp_kept_here(w) && imp_failed_here(w)) { /* why this plan has none */
        v->have_imp = v->imp_stale = 0;
        v->imp_step = w->imp_fail_step;
        axf_str_copy(v->imp_err, sizeof v->imp_err, w->imp_err);
    } else { /* not measured for this plan (yet): the latest values of this kind */
        v->have_imp = !axf_session_kept_importance(w->s, w->want_kind, AXF_IMP_ALL, 0, 1, &v->imp, &ki);
        v->imp_stale = !v->have_imp || !ki.current;
        v->imp_step = v->have_imp ? ki.step : 0;
        v->imp_err[0] = 0;
    }
    v->have_holdout = !axf_session_kept_holdout(w->s, 1, &v->ho_base, &v->ho_cur, &ki);
    v->holdout_stale = v->have_holdout && !ki.current;
    v->holdout_step = v->have_holdout ? ki.step : 0;
    v->have_speed = !axf_session_kept_speed(w->s, 1, &v->speed, &ki);
    v->speed_stale = v->have_speed && !ki.current;
    v->speed_step = v->have_speed ? ki.step : 0;
}

void axf_wk_results_free(axf_worker *w)
{
    axf_plan_free(w->imp_fail_plan);
    axf_plan_free(w->speed_tried);
}
