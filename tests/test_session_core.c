/* The session API on an in-memory model: baseline, try vs apply (and reuse of the trial), history
 * entries, undo / redo / goto, compound steps, bad actions and cancellation leaving everything as
 * it was, every importance kind, results kept per plan, the snapshot and the counters. */
#include <math.h>
#include <string.h>

#include "approx_testutil.h"
#include "axf/session.h"
#include "check.h"

static int cancel_now;
static int cancel_cb(double done, double total, void *ud)
{
    (void)done;
    (void)total;
    (void)ud;
    return cancel_now;
}

static int metrics_eq(const axf_metrics *a, const axf_metrics *b)
{
    return a->loss == b->loss && (a->accuracy == b->accuracy || (isnan(a->accuracy) && isnan(b->accuracy))) &&
           a->n_no_worse == b->n_no_worse && a->params == b->params && a->flops_per_token == b->flops_per_token &&
           a->n == b->n;
}

static axf_session *make(axf_err *err)
{
    axf_model *m = tu_model(90, 32, 4, 4, 36, 2, 21);
    axf_encoded *e = tu_data(60, 3, 28, 90, 2, 22);
    axf_session_opts o = axf_session_opts_default();
    o.batch = 16;
    o.groups = 3;
    o.progress = cancel_cb;
    return axf_session_new(m, e, "sst2", &o, err);
}

static void test_try_apply(axf_session *s)
{
    axf_err err;
    axf_metrics base, t, a, cur;
    axf_session_baseline(s, &base);
    CHECK(base.n == 60 && base.n_no_worse == 60);
    CHECK(base.params == axf_model_params(axf_session_model(s)));
    CHECK(base.accuracy >= 0 && base.accuracy <= 1 && base.metric == base.accuracy);
    axf_session_current(s, &cur);
    CHECK(metrics_eq(&cur, &base));

    axf_action h = {.op = AXF_OP_DROP_HEAD, .layer = 3, .index = 1};
    CHECK(axf_session_try(s, &h, 1, "probe", &t, &err) == 0);
    CHECK(axf_session_history_len(s) == 0 && axf_session_trials_len(s) == 1);
    CHECK(t.loss != base.loss && t.params < base.params);
    const float *tl = axf_session_trial_losses(s), *l0 = axf_session_baseline_losses(s);
    int nw = 0;
    for (int j = 0; j < t.n; j++)
        nw += tl[j] <= l0[j];
    CHECK(nw == t.n_no_worse);
    axf_counters c0, c1;
    axf_session_counters(s, &c0);
    CHECK(axf_session_apply(s, &h, 1, "kept", &a, &err) == 0);
    axf_session_counters(s, &c1);
    CHECK(metrics_eq(&a, &t));
    CHECK(c1.evals_reused == c0.evals_reused + 1 && c1.layer_evals == c0.layer_evals); /* trial reused */
    CHECK(axf_session_history_len(s) == 1 && axf_session_cursor(s) == 1);
    axf_history_entry he;
    CHECK(axf_session_history_get(s, 0, &he) == 0);
    CHECK(he.n_actions == 1 && he.actions[0].op == AXF_OP_DROP_HEAD && !strcmp(he.note, "kept"));
    CHECK(metrics_eq(&he.before, &base) && metrics_eq(&he.after, &a) && he.seconds >= 0 && he.time > 1e9);
    CHECK(axf_session_history_get(s, 1, &he) == -1);

    /* a group with the session's default G (3) and a compound step */
    axf_action g = {.op = AXF_OP_DROP_GROUP, .layer = 1, .index = 2};
    CHECK(axf_session_apply(s, &g, 1, NULL, NULL, &err) == 0);
    CHECK(axf_session_history_get(s, 1, &he) == 0 && he.actions[0].groups == 3);
    axf_action two[2] = {{.op = AXF_OP_DROP_FFN, .layer = 2}, {.op = AXF_OP_SET_HARD, .layer = 0, .hard = AXF_HARD_TOPK}};
    CHECK(axf_session_apply(s, two, 2, "pair", &a, &err) == 0);
    CHECK(axf_session_history_get(s, 2, &he) == 0 && he.n_actions == 2 && he.actions[1].k == 30);
    CHECK(axf_session_plan(s)->layers[0].hard == AXF_HARD_TOPK);
    axf_session_current(s, &cur);
    CHECK(metrics_eq(&cur, &a));
}

static void test_bad_actions(axf_session *s)
{
    axf_err err;
    axf_metrics before, after;
    axf_session_current(s, &before);
    int len = axf_session_history_len(s), tr = axf_session_trials_len(s);
    axf_plan *p = axf_plan_clone(axf_session_plan(s));
    axf_action bad[] = {
        {.op = AXF_OP_DROP_HEAD, .layer = 9, .index = 0},
        {.op = AXF_OP_DROP_HEAD, .layer = 0, .index = 4},
        {.op = AXF_OP_DROP_HEAD, .layer = 3, .index = 1},          /* already removed */
        {.op = AXF_OP_DROP_GROUP, .layer = 0, .index = 5, .groups = 4},
        {.op = AXF_OP_DROP_NEURONS, .layer = 0, .index = 30, .count = 10},
        {.op = AXF_OP_SET_HARD, .layer = 2, .hard = (axf_hard_mode)9},
        {.op = (axf_op)-3, .layer = 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        CHECK(axf_session_check(s, &bad[i], 1, &err) == -1);
        CHECK(axf_session_try(s, &bad[i], 1, NULL, NULL, &err) == -1);
        CHECK_MSG(err.msg[0] && !strchr(err.msg, '\n'), "case %zu: '%s'", i, err.msg);
        CHECK(axf_session_apply(s, &bad[i], 1, NULL, NULL, &err) == -1);
    }
    /* the second action of a compound step fails: nothing is applied */
    axf_action two[2] = {{.op = AXF_OP_DROP_HEAD, .layer = 0, .index = 0}, {.op = AXF_OP_DROP_HEAD, .layer = 0, .index = 99}};
    CHECK(axf_session_apply(s, two, 2, NULL, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "action 2 of 2") && strstr(err.msg, "head 99 out of range"), "%s", err.msg);
    CHECK(axf_session_apply(s, NULL, 0, NULL, NULL, &err) == -1);
    axf_session_current(s, &after);
    CHECK(metrics_eq(&before, &after));
    CHECK(axf_session_history_len(s) == len && axf_session_trials_len(s) == tr);
    CHECK(axf_plan_equal(p, axf_session_plan(s)));

    /* cancelled evaluations change nothing either */
    cancel_now = 1;
    axf_action ok = {.op = AXF_OP_DROP_HEAD, .layer = 0, .index = 0};
    CHECK(axf_session_try(s, &ok, 1, NULL, NULL, &err) == AXF_CANCELLED);
    CHECK(axf_session_apply(s, &ok, 1, NULL, NULL, &err) == AXF_CANCELLED);
    axf_importance *imp = axf_xmalloc(sizeof *imp);
    CHECK(axf_session_importance(s, AXF_IMP_EXACT, AXF_IMP_HEADS, 0, imp, &err) == AXF_CANCELLED);
    free(imp);
    cancel_now = 0;
    axf_session_current(s, &after);
    CHECK(metrics_eq(&before, &after));
    CHECK(axf_session_history_len(s) == len && axf_session_trials_len(s) == tr);
    CHECK(axf_plan_equal(p, axf_session_plan(s)));
    axf_plan_free(p);
}

static void test_undo_redo(axf_session *s)
{
    axf_err err;
    int len = axf_session_history_len(s);
    axf_metrics cur, base;
    axf_history_entry he;
    axf_plan *top = axf_plan_clone(axf_session_plan(s));
    CHECK(axf_session_undo(s, &err) == 0);
    CHECK(axf_session_cursor(s) == len - 1 && axf_session_history_len(s) == len);
    axf_session_history_get(s, len - 1, &he);
    axf_session_current(s, &cur);
    CHECK(metrics_eq(&cur, &he.before));
    /* the recorded metrics agree with a fresh evaluation of the restored plan */
    const float *l = axf_session_losses(s, &err);
    CHECK(l != NULL);
    double sum = 0;
    for (int j = 0; l && j < cur.n; j++)
        sum += l[j];
    CHECK(fabs(sum / cur.n - he.before.loss) < 1e-9);
    CHECK(axf_session_redo(s, &err) == 0);
    CHECK(axf_plan_equal(top, axf_session_plan(s)));
    CHECK(axf_session_redo(s, &err) == -1 && strstr(err.msg, "nothing to redo"));
    CHECK(axf_session_goto(s, 0, &err) == 0);
    CHECK(axf_plan_is_dense(axf_session_plan(s)));
    CHECK(axf_session_undo(s, &err) == -1 && strstr(err.msg, "nothing to undo"));
    axf_session_baseline(s, &base);
    axf_session_current(s, &cur);
    CHECK(metrics_eq(&cur, &base));
    l = axf_session_losses(s, &err);
    CHECK(l && !memcmp(l, axf_session_baseline_losses(s), sizeof(float) * (size_t)cur.n));
    CHECK(axf_session_goto(s, len + 1, &err) == -1);
    CHECK(axf_session_goto(s, len, &err) == 0);
    CHECK(axf_plan_equal(top, axf_session_plan(s)));
    /* a new step after undo drops the redo tail */
    CHECK(axf_session_goto(s, 1, &err) == 0);
    axf_action a = {.op = AXF_OP_DROP_ATTN, .layer = 1};
    CHECK(axf_session_apply(s, &a, 1, NULL, NULL, &err) == 0);
    CHECK(axf_session_history_len(s) == 2 && axf_session_cursor(s) == 2);
    axf_plan_free(top);
}

static void test_importance(axf_session *s)
{
    axf_err err;
    axf_importance *imp = axf_xmalloc(sizeof *imp), *again = axf_xmalloc(sizeof *again);
    axf_metrics cur, t;
    axf_session_current(s, &cur);
    const axf_plan *p = axf_session_plan(s);
    axf_counters c0, c1;
    CHECK(axf_session_importance(s, AXF_IMP_EXACT, AXF_IMP_ALL, 0, imp, &err) == 0);
    CHECK(imp->n_layers == 4 && imp->n_groups == 3 && imp->n_heads[0] == 4);
    /* removed elements are NAN, present ones measured */
    CHECK(isnan(imp->v.head[3][1]) && isnan(imp->v.attn[1]) && !isnan(imp->v.head[3][0]));
    CHECK(!isnan(imp->v.ffn[0]) && !isnan(imp->v.layer[0]) && !isnan(imp->acc.head[0][2]));
    CHECK(p->layers[0].ffn_on && !isnan(imp->v.group[0][1]) && isnan(imp->v.group[0][3]));
    /* an exact value is what a trial of that element gives */
    axf_action a = {.op = AXF_OP_DROP_HEAD, .layer = 2, .index = 3};
    CHECK(axf_session_try(s, &a, 1, NULL, &t, &err) == 0);
    CHECK(imp->v.head[2][3] == (float)(t.loss - cur.loss));
    CHECK(imp->acc.head[2][3] == (float)(t.accuracy - cur.accuracy));
    /* asked again on the same plan: free */
    axf_session_counters(s, &c0);
    CHECK(axf_session_importance(s, AXF_IMP_EXACT, AXF_IMP_HEADS, 0, again, &err) == 0);
    axf_session_counters(s, &c1);
    CHECK(c1.layer_evals == c0.layer_evals && again->v.head[2][3] == imp->v.head[2][3] && isnan(again->v.ffn[0]));

    CHECK(axf_session_importance(s, AXF_IMP_MAGNITUDE, AXF_IMP_ALL, 0, imp, &err) == 0);
    CHECK(imp->v.head[0][0] > 0 && isnan(imp->v.head[3][1]) && imp->v.layer[0] >= imp->v.attn[0]);
    CHECK(axf_session_importance(s, AXF_IMP_ENTROPY, AXF_IMP_ALL, 0, imp, &err) == 0);
    CHECK(imp->v.head[2][0] > 0 && isnan(imp->v.head[3][1]) && isnan(imp->v.ffn[0]));
    CHECK(axf_session_importance(s, AXF_IMP_GRADIENT, AXF_IMP_ALL, 0, imp, &err) == 0);
    CHECK_MSG(imp->v.head[2][0] > 0 && imp->v.ffn[0] > 0 && imp->v.group[0][0] > 0 && isnan(imp->v.head[3][1]),
              "%g %g %g", imp->v.head[2][0], imp->v.ffn[0], imp->v.group[0][0]);
    CHECK(axf_session_importance(s, AXF_IMP_EXACT, 0, 0, imp, &err) == -1);
    CHECK(axf_session_importance(s, (axf_imp_kind)17, AXF_IMP_ALL, 0, imp, &err) == -1);
    CHECK(axf_imp_kind_from_name("gradient") == AXF_IMP_GRADIENT && axf_imp_kind_from_name("loss") == AXF_IMP_EXACT);
    free(imp);
    free(again);
}

static void test_snapshot(axf_session *s)
{
    axf_snapshot *sn = axf_xmalloc(sizeof *sn);
    axf_session_snapshot(s, sn);
    const axf_plan *p = axf_session_plan(s);
    CHECK(sn->facts.n_layers == 4 && sn->facts.n_search == 60 && !strcmp(sn->facts.metric_name, "accuracy"));
    CHECK(sn->history_len == axf_session_history_len(s) && sn->cursor == axf_session_cursor(s));
    CHECK(sn->layers[3].head_on[1] == 0 && sn->layers[3].head_on[0] == 1);
    CHECK(sn->layers[1].attn_on == p->layers[1].attn_on && sn->layers[0].n_groups == 3);
    CHECK(sn->dirty && sn->counters.layer_evals > 0 && sn->counters.cache_slots == 3);
    free(sn);
}

/* Speed as the bench measures it: the dense plan is not timed against itself (exactly 1), a
 * changed plan gives the median of its per-pair ratios inside their range, the thread count the
 * caller set survives the one-thread measurement. */
static void test_speed(axf_session *s)
{
    axf_err err;
    CHECK(axf_session_goto(s, 0, &err) == 0);
    axf_set_threads(2);
    axf_speed sp;
    CHECK_MSG(axf_session_speed(s, 3, &sp, &err) == 0, "%s", err.msg);
    CHECK(sp.unchanged == 1 && sp.ratio == 1 && sp.ratio_lo == 1 && sp.ratio_hi == 1);
    CHECK(sp.tok_s_base > 0 && sp.tok_s_cur == sp.tok_s_base && sp.reps == 3);
    CHECK(axf_threads() == 2);
    axf_action a = {.op = AXF_OP_DROP_FFN, .layer = 0};
    CHECK(axf_session_apply(s, &a, 1, NULL, NULL, &err) == 0);
    CHECK_MSG(axf_session_speed(s, 4, &sp, &err) == 0, "%s", err.msg);
    CHECK(sp.unchanged == 0 && sp.reps == 4 && sp.tok_s_cur > 0 && sp.tok_s_base > 0);
    CHECK_MSG(sp.ratio_lo <= sp.ratio && sp.ratio <= sp.ratio_hi && sp.ratio_lo > 0, "%g %g %g", sp.ratio_lo,
              sp.ratio, sp.ratio_hi);
    CHECK(axf_threads() == 2);
    CHECK(axf_session_speed(s, 1000, &sp, &err) == 0 && sp.reps == AXF_SPEED_MAX_REPS);
}

/* One example's attention: the committed plan below the layer, dense and hard rows as the engine
 * gives them, top-K with K >= the length changes nothing, K = 1 keeps one weight a row; tokens and
 * refusals. */
static void test_attention(axf_session *s)
{
    axf_err err;
    const int *ids;
    int label = -7;
    int n = axf_session_example(s, 4, &ids, &label);
    CHECK(n > 1 && n <= 28 && label >= 0 && label < 2);
    CHECK(axf_session_example(s, 60, NULL, NULL) == -1 && axf_session_example(s, -1, NULL, NULL) == -1);
    CHECK(axf_session_token(s, ids[0]) == NULL); /* in memory: no vocabulary */
    float *d = axf_xmalloc(sizeof(float) * (size_t)n * n), *h = axf_xmalloc(sizeof(float) * (size_t)n * n),
          *w = axf_xmalloc(sizeof(float) * (size_t)n * n);
    CHECK_MSG(axf_session_attention(s, 4, 2, 1, AXF_HARD_TOPK, n, 0, d, h, &err) == 0, "%s", err.msg);
    CHECK(memcmp(d, h, sizeof(float) * (size_t)n * n) == 0);
    CHECK(axf_session_attention(s, 4, 2, 1, AXF_HARD_TOPK, 1, 0, d, h, &err) == 0);
    for (int i = 0; i < n; i++) {
        int nz = 0;
        for (int j = 0; j < n; j++)
            nz += h[i * n + j] != 0.0f;
        CHECK(nz == 1);
    }
    /* the engine's own answer under the committed plan with that layer dense */
    axf_plan *p = axf_plan_clone(axf_session_plan(s));
    p->layers[2].hard = AXF_HARD_OFF;
    axf_engine *e = axf_engine_new(axf_session_model(s), 64, &err);
    axf_batch b = {1, n, ids, NULL, (int[]){0, n}};
    CHECK(e && axf_engine_attention(e, axf_session_plan(s), &b, 2, 1, &p->layers[2], w, &err) == 0);
    CHECK(memcmp(w, d, sizeof(float) * (size_t)n * n) == 0);
    axf_engine_free(e);
    axf_plan_free(p);
    CHECK(axf_session_attention(s, 60, 0, 0, AXF_HARD_OFF, 0, 0, d, h, &err) == -1 && strstr(err.msg, "example 60"));
    CHECK(axf_session_attention(s, 0, 4, 0, AXF_HARD_OFF, 0, 0, d, h, &err) == -1 && strstr(err.msg, "layer 4"));
    CHECK(axf_session_attention(s, 0, 0, 9, AXF_HARD_OFF, 0, 0, d, h, &err) == -1 && strstr(err.msg, "head 9"));
    free(d), free(h), free(w);
}

/* Results kept per plan: importance, and speed by history step, of a plan measured before show
 * again after undo/redo without measuring; another plan sees them as of an older plan. */
static void test_kept(void)
{
    axf_err err;
    axf_session *s = make(&err);
    axf_importance *imp = axf_xmalloc(sizeof *imp), *kept = axf_xmalloc(sizeof *kept);
    axf_kept_info ki;
    axf_speed sp, ks;
    CHECK(axf_session_kept_importance(s, AXF_IMP_EXACT, AXF_IMP_ALL, 0, 1, kept, &ki) == -1);
    CHECK(axf_session_kept_speed(s, 1, &ks, &ki) == -1 && axf_session_kept_holdout(s, 1, NULL, NULL, &ki) == -1);
    CHECK(axf_session_importance(s, AXF_IMP_EXACT, AXF_IMP_ALL, 0, imp, &err) == 0);
    CHECK(axf_session_kept_importance(s, AXF_IMP_EXACT, AXF_IMP_ALL, 0, 0, kept, &ki) == 0);
    CHECK(ki.current == 1 && ki.step == 0 && kept->v.head[2][1] == imp->v.head[2][1] && kept->gran == AXF_IMP_ALL);
    /* the kept values say how long they took (the screen shows it; it showed 0.0 s) */
    CHECK(kept->seconds > 0 && kept->seconds <= imp->seconds);
    CHECK(axf_session_kept_importance(s, AXF_IMP_EXACT, AXF_IMP_ALL, 5, 0, kept, &ki) == -1); /* other G */
    axf_action a = {.op = AXF_OP_DROP_HEAD, .layer = 2, .index = 1};
    CHECK(axf_session_apply(s, &a, 1, NULL, NULL, &err) == 0);
    CHECK(axf_session_speed(s, 1, &sp, &err) == 0);
    CHECK(axf_session_kept_step_speed(s, 0, &ks) == 0 && ks.ratio == sp.ratio);
    /* the new plan has none of its own: the latest is of step 0 */
    CHECK(axf_session_kept_importance(s, AXF_IMP_EXACT, AXF_IMP_ALL, 0, 0, kept, &ki) == -1);
    CHECK(axf_session_kept_importance(s, AXF_IMP_EXACT, AXF_IMP_ALL, 0, 1, kept, &ki) == 0 && !ki.current &&
          ki.step == 0);
    CHECK(axf_session_importance(s, AXF_IMP_EXACT, AXF_IMP_HEADS, 0, imp, &err) == 0);
    CHECK(axf_session_kept_importance(s, AXF_IMP_EXACT, AXF_IMP_HEADS, 0, 0, kept, &ki) == 0 && ki.step == 1);
    CHECK(axf_session_kept_importance(s, AXF_IMP_EXACT, AXF_IMP_ALL, 0, 0, kept, &ki) == -1); /* heads only */
    /* back on the original plan: its values again, and asking for them costs no evaluation */
    CHECK(axf_session_undo(s, &err) == 0);
    CHECK(axf_session_kept_importance(s, AXF_IMP_EXACT, AXF_IMP_ALL, 0, 0, kept, &ki) == 0 && ki.current);
    axf_counters c0, c1;
    axf_session_counters(s, &c0);
    CHECK(axf_session_importance(s, AXF_IMP_EXACT, AXF_IMP_ALL, 0, imp, &err) == 0);
    axf_session_counters(s, &c1);
    CHECK_MSG(c1.evals == c0.evals && imp->v.head[2][1] == kept->v.head[2][1], "%lld evaluations", c1.evals - c0.evals);
    CHECK(axf_session_kept_speed(s, 0, &ks, &ki) == -1 && axf_session_kept_speed(s, 1, &ks, &ki) == 0 &&
          !ki.current && ki.step == 1);
    /* the other kinds are kept too (measured again when asked) */
    CHECK(axf_session_importance(s, AXF_IMP_MAGNITUDE, AXF_IMP_ALL, 0, imp, &err) == 0);
    CHECK(axf_session_kept_importance(s, AXF_IMP_MAGNITUDE, AXF_IMP_ALL, 0, 0, kept, &ki) == 0 &&
          kept->v.head[0][0] == imp->v.head[0][0] && kept->kind == AXF_IMP_MAGNITUDE);
    /* step 1 replaced by another step: its speed is not the new step's */
    axf_action b = {.op = AXF_OP_DROP_FFN, .layer = 0};
    CHECK(axf_session_apply(s, &b, 1, NULL, NULL, &err) == 0);
    CHECK(axf_session_kept_step_speed(s, 0, &ks) == -1 && axf_session_kept_step_speed(s, 7, &ks) == -1);
    free(imp);
    free(kept);
    axf_session_free(s);
}

int main(void)
{
    axf_err err;
    axf_session *s = make(&err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (!s)
        return CHECK_DONE();
    test_try_apply(s);
    test_bad_actions(s);
    test_undo_redo(s);
    test_importance(s);
    test_snapshot(s);
    test_attention(s);
    CHECK(axf_session_set_policy(s, "p.lua", "ab", "{\"K\": 30}", &err) == 0);
    CHECK(!strcmp(axf_session_policy_params(s), "{\"K\":30}"));
    CHECK(axf_session_set_policy(s, "p.lua", "ab", "[1,2]", &err) == -1);
    double cur = 0, base = 0;
    CHECK(axf_session_measure_speed(s, &cur, &base, &err) == 0 && cur > 0 && base > 0);
    test_speed(s);
    axf_session_free(s);
    test_kept();

    /* a session with no cache gives the same numbers */
    axf_model *m = tu_model(90, 32, 4, 4, 36, 2, 21);
    axf_encoded *e = tu_data(60, 3, 28, 90, 2, 22);
    axf_session_opts o = axf_session_opts_default();
    o.batch = 16;
    o.cache_bytes = 0;
    axf_session *u = axf_session_new(m, e, "sst2", &o, &err);
    s = make(&err);
    axf_action a = {.op = AXF_OP_DROP_HEAD, .layer = 1, .index = 2};
    axf_metrics x, y;
    CHECK(axf_session_apply(s, &a, 1, NULL, &x, &err) == 0 && axf_session_apply(u, &a, 1, NULL, &y, &err) == 0);
    CHECK(metrics_eq(&x, &y));
    axf_session_free(u);
    axf_session_free(s);
    CHECK(axf_session_new(NULL, NULL, "x", NULL, &err) == NULL);
    return CHECK_DONE();
}
