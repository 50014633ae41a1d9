/* Replay of a session file and the check the screen makes on opening one (session.h documents
 * both and derives the tolerance). Every evaluation yields the measured metrics and, per field,
 * the largest difference from the record that the tolerance accepts. */
#include "session_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/metrics.h"

#define U24 0x1p-24 /* unit roundoff of float32 */

axf_replay_opts axf_replay_opts_default(void)
{
    axf_replay_opts o = {0, 0.0, 1};
    return o;
}

typedef struct tolr {
    int exact;
    double dz, eps; /* logits (absolute), per-example loss (relative) */
} tolr;

static double gamma_k(int k)
{
    double ku = k * U24;
    return ku / (1 - ku);
}

void axf_session_replay_tol(const axf_session *s, double *dz, double *eps)
{
    const axf_config *c = &s->m->cfg;
    const int H = c->hidden, C = c->num_labels;
    double worst = 0;
    for (int j = 0; j < C; j++) {
        double w1 = 0;
        for (int k = 0; k < H; k++)
            w1 += fabs(s->m->cls_w[(size_t)j * H + k]);
        double b = s->m->cls_b ? fabs(s->m->cls_b[j]) : 0;
        double d = 2 * gamma_k(H + 1) * (b + w1) + 0x1p-22 * w1;
        if (d > worst)
            worst = d;
    }
    *dz = worst;
    *eps = 2 * worst * exp(2 * worst) + 0x1p-23;
}

static tolr make_tol(const axf_session *s, const axf_replay_opts *o)
{
    tolr t = {o->exact, 0, 0};
    if (o->exact)
        return t;
    if (o->tol > 0) {
        t.eps = o->tol;
        t.dz = o->tol / 2;
    } else {
        axf_session_replay_tol(s, &t.dz, &t.eps);
    }
    return t;
}

/* Allowed deviation of one example's loss l. */
static double loss_allow(const tolr *t, int regress, double l)
{
    if (regress)
        return 2 * t->dz * sqrt(l) + t->dz * t->dz + 0x1p-23 * l;
    return t->eps * l;
}

static double metric_of(const axf_session *s, const int *preds)
{
    const axf_encoded *e = s->enc;
    if (!strcmp(s->metric_name, "mcc"))
        return axf_metric_mcc(preds, e->labels, e->n);
    return axf_metric_f1(preds, e->labels, e->n);
}

/* Fills a with the largest |recorded - measured| per field that the tolerance accepts for the
 * evaluation in b whose metrics are m (l0: the baseline's per-example losses). */
static void allowances(const axf_session *s, const evalbuf *b, const axf_metrics *m, const tolr *t,
                       axf_metrics *a)
{
    memset(a, 0, sizeof *a);
    if (t->exact)
        return;
    const axf_encoded *e = s->enc;
    const int n = e->n, C = s->m->cfg.num_labels, regress = e->kind != AXF_TASK_CLASSIFY;
    double L = m->loss, sum_err = 2.0 * n * 0x1p-53 * fabs(L);
    a->loss = (regress ? 2 * t->dz * sqrt(L) + t->dz * t->dz + 0x1p-23 * L : t->eps * L) + sum_err;
    for (int j = 0; j < n; j++) {
        double l = b->losses[j], r = s->l0[j];
        if (l != r && fabs(l - r) <= loss_allow(t, regress, l) + loss_allow(t, regress, r))
            a->n_no_worse++;
    }
    if (regress) {
        double mean = 0, ss = 0;
        for (int j = 0; j < n; j++)
            mean += b->logits[j];
        mean /= n;
        for (int j = 0; j < n; j++)
            ss += (b->logits[j] - mean) * (b->logits[j] - mean);
        a->metric = ss > 0 ? 2 * t->dz * sqrt((double)n) / sqrt(ss) : INFINITY;
        return;
    }
    /* predictions whose two largest logits are within 2 dz may flip; runner-up class kept */
    int *up = axf_xmalloc(sizeof(int) * (size_t)n), *down = axf_xmalloc(sizeof(int) * (size_t)n);
    int flips = 0;
    for (int j = 0; j < n; j++) {
        const float *lg = b->logits + (size_t)j * C;
        int best = b->preds[j], second = -1;
        for (int c = 0; c < C; c++)
            if (c != best && (second < 0 || lg[c] > lg[second]))
                second = c;
        up[j] = down[j] = best;
        if (second >= 0 && t->dz > 0 && (double)lg[best] - lg[second] <= 2 * t->dz) {
            flips++;
            if (best == e->labels[j])
                down[j] = second; /* a right prediction turning wrong */
            else
                up[j] = second;   /* a wrong one turning (perhaps) right */
        }
    }
    a->accuracy = (double)flips / n;
    if (!strcmp(s->metric_name, "accuracy"))
        a->metric = a->accuracy;
    else if (flips)
        a->metric = fmax(fabs(metric_of(s, up) - m->metric), fabs(metric_of(s, down) - m->metric));
    free(up);
    free(down);
}

/* ---- comparing one record ---- */

typedef struct replay_ctx {
    axf_session *s;
    tolr t;
    axf_replay_result *out;
    axf_progress_fn fn;
    void *ud;
    int done, total;
} replay_ctx;

static void add_diff(replay_ctx *x, const char *field, const char *what, double rec, double got, double allowed)
{
    axf_replay_result *r = x->out;
    if (r->n_diffs < AXF_REPLAY_MAX_DIFFS) {
        axf_replay_diff *d = &r->diffs[r->n_diffs];
        snprintf(d->field, sizeof d->field, "%s", field);
        snprintf(d->what, sizeof d->what, "%s", what);
        d->recorded = rec;
        d->measured = got;
        d->allowed = allowed;
    }
    r->n_diffs++;
}

static int num_differs(double rec, double got, double allowed)
{
    if (isnan(rec) || isnan(got))
        return isnan(rec) != isnan(got);
    return rec != got && !(fabs(rec - got) <= allowed);
}

/* Compares the record rec (at JSON path `path`, described by `what`) with the measured m under
 * allowances a. */
static void compare(replay_ctx *x, const char *path, const char *what, const axf_metrics *rec,
                    const axf_metrics *m, const axf_metrics *a)
{
    char f[64];
    int same = 1;
#define NUM(name, allowed)                                                                       \
    if (num_differs((double)rec->name, (double)m->name, (allowed))) {                            \
        snprintf(f, sizeof f, "%s.%s", path, #name);                                           \
        add_diff(x, f, what, (double)rec->name, (double)m->name, (allowed));                     \
    }                                                                                            \
    if (memcmp(&rec->name, &m->name, sizeof rec->name) && !(isnan((double)rec->name) && isnan((double)m->name))) \
        same = 0;
    NUM(loss, a->loss)
    NUM(accuracy, a->accuracy)
    NUM(metric, a->metric)
    NUM(n, 0)
    NUM(n_no_worse, (double)a->n_no_worse)
    NUM(params, 0)
    NUM(flops_per_token, 0)
    NUM(size_bytes, 0)
#undef NUM
    x->out->records++;
    x->out->identical += same;
    if (m->loss > 0 && !isnan(rec->loss)) {
        double dev = fabs(rec->loss - m->loss) / m->loss;
        if (dev > x->out->max_loss_dev)
            x->out->max_loss_dev = dev;
    }
}

typedef struct meas {
    axf_metrics m, a;
} meas;

static int progress_cb(double done, double total, void *ud)
{
    replay_ctx *x = ud;
    return x->fn ? x->fn(x->done + (total > 0 ? done / total : 0), x->total, x->ud) : 0;
}

static int measure(replay_ctx *x, const axf_plan *p, meas *out, axf_err *err)
{
    axf_session *s = x->s;
    int rc = axf__eval_plan(s, p, &s->trial_buf, &out->m, NULL, progress_cb, x, err);
    if (rc)
        return rc;
    x->done++;
    x->out->evals++;
    allowances(s, &s->trial_buf, &out->m, &x->t, &out->a);
    return 0;
}

static void summarize_meas(axf_session *s, int k, const axf_plan *p, evalbuf *b, void *rec, void *ud)
{
    meas *o = rec;
    axf__metrics_compute(s, s->enc, p, s->l0, b, &o->m);
    allowances(s, b, &o->m, &((replay_ctx *)ud)->t, &o->a);
}

/* The trials made on plan p (journal entries idx[0..n)) measured at once when the batch is split
 * by candidate (dist.h): *pre = their measurements, or NULL to measure them one by one (also
 * when one does not apply: the loop then reports it in its place). */
static int measure_split(replay_ctx *x, const axf_plan *p, const int *idx, int n, meas **pre, axf_err *err)
{
    axf_session *s = x->s;
    *pre = NULL;
    if (n < 2 || !axf__split_by_candidate(s, n))
        return 0;
    axf_plan **tp = axf_xcalloc((size_t)n, sizeof *tp);
    int ok = 1, rc = 0;
    for (int j = 0; j < n && ok; j++) {
        const tentry *t = &s->trials[idx[j]];
        tp[j] = axf_plan_clone(p);
        for (int k = 0; k < t->n && ok; k++)
            ok = axf_plan_apply(tp[j], &t->acts[k], &s->defs, NULL, NULL) == 0;
    }
    if (ok) {
        *pre = axf_xmalloc(sizeof **pre * (size_t)n);
        rc = axf__eval_split(s, tp, n, summarize_meas, x, *pre, sizeof **pre, NULL, progress_cb, x, err);
        if (rc) {
            free(*pre);
            *pre = NULL;
        } else {
            x->done += n;
            x->out->evals += n;
        }
    }
    for (int j = 0; j < n; j++)
        axf_plan_free(tp[j]);
    free(tp);
    return rc;
}

static void describe(const axf_action *acts, int n, const char *label, int idx, char *buf, size_t sz)
{
    char one[96];
    axf_action_describe(&acts[0], one, sizeof one);
    if (n > 1)
        snprintf(buf, sz, "%s %d (%s and %d more)", label, idx, one, n - 1);
    else
        snprintf(buf, sz, "%s %d (%s)", label, idx, one);
}

static int apply_all(axf_session *s, axf_plan *p, const axf_action *acts, int n, const char *what, axf_err *err)
{
    for (int k = 0; k < n; k++)
        if (axf_plan_apply(p, &acts[k], &s->defs, NULL, err))
            return axf_err_prefix(err, "%s", what);
    return 0;
}

int axf_session_replay(axf_session *s, const axf_replay_opts *opts, axf_replay_result *out, axf_err *err)
{
    axf_replay_opts o = opts ? *opts : axf_replay_opts_default();
    memset(out, 0, sizeof *out);
    replay_ctx x = {s, make_tol(s, &o), out, s->opts.progress, s->opts.progress_ud, 0, 0};
    out->tol = x.t.eps;
    out->logit_tol = x.t.dz;
    x.total = 1 + s->hist_len + (o.trials ? s->trials_len : 0);

    int c0 = s->cursor, rc = 0;
    axf_plan *p = axf_plan_clone(s->orig), *tp = axf_plan_clone(s->orig), *last_tp = axf_plan_clone(s->orig);
    int have_last = 0;
    meas cur, tm, last_tm;
    rc = axf__use_weights(s, 0, err); /* from the original model */
    axf__set_committed(s, p);
    if (rc == 0)
        rc = measure(&x, p, &cur, err);
    if (rc == 0)
        compare(&x, "baseline", "baseline", &s->rec_base, &cur.m, &cur.a);
    int *idx = axf_xmalloc(sizeof *idx * (size_t)(s->trials_len > 0 ? s->trials_len : 1));
    for (int c = 0; rc == 0; c++) {
        /* the trials made on this plan (the journal is in time order; undo can interleave) */
        int nt = 0;
        for (int i = 0; o.trials && i < s->trials_len; i++)
            if (s->trials[i].cursor == c)
                idx[nt++] = i;
        meas *pre = NULL;
        if ((rc = measure_split(&x, p, idx, nt, &pre, err)))
            break;
        for (int j = 0; j < nt && rc == 0; j++) {
            int i = idx[j];
            const tentry *t = &s->trials[i];
            char what[160], path[48];
            describe(t->acts, t->n, "trial", i + 1, what, sizeof what);
            axf_plan_copy(tp, p);
            if ((rc = apply_all(s, tp, t->acts, t->n, what, err)))
                break;
            if (pre)
                tm = pre[j];
            else if ((rc = measure(&x, tp, &tm, err)))
                break;
            out->trials++;
            snprintf(path, sizeof path, "trials[%d].metrics", i);
            compare(&x, path, what, &t->m, &tm.m, &tm.a);
            if (tm.m.loss != cur.m.loss && fabs(tm.m.loss - cur.m.loss) <= tm.a.loss + cur.a.loss) {
                if (!out->near_ties++)
                    out->first_near_tie = i + 1;
            }
            axf_plan_copy(last_tp, tp);
            last_tm = tm;
            have_last = 1;
        }
        free(pre);
        if (rc || c == s->hist_len)
            break;
        const hentry *h = &s->hist[c];
        char what[200], path[48];
        axf__step_what(s, c, "step", what, sizeof what);
        snprintf(path, sizeof path, "history[%d].before", c);
        compare(&x, path, what, &h->before, &cur.m, &cur.a);
        if ((rc = apply_all(s, p, h->acts, h->n, what, err)))
            break;
        if (h->kd && (rc = axf__use_weights(s, c + 1, err))) /* the step's weights (checked at load) */
            break;
        if (!h->kd && have_last && axf_plan_equal(last_tp, p)) { /* the kept trial: same plan, same numbers */
            cur = last_tm;
            x.done++;
        } else if ((rc = measure(&x, p, &cur, err))) {
            break;
        }
        have_last = 0;
        out->steps++;
        snprintf(path, sizeof path, "history[%d].after", c);
        compare(&x, path, what, &h->after, &cur.m, &cur.a);
        axf__set_committed(s, p);
    }
    /* back to where the caller was (cur_buf was not touched: evaluations went to trial_buf) */
    s->trial_valid = 0;
    axf__rebuild_plan(s, c0, p, NULL);
    axf_err e2;
    if (axf__use_weights(s, c0, &e2) && rc == 0)
        rc = axf_err_set(err, "%s", e2.msg);
    axf__set_committed(s, p);
    s->cursor = c0;
    free(idx);
    axf_plan_free(p);
    axf_plan_free(tp);
    axf_plan_free(last_tp);
    return rc;
}

int axf_session_verify_current(axf_session *s, axf_replay_result *out, axf_err *err)
{
    axf_replay_opts o = axf_replay_opts_default();
    memset(out, 0, sizeof *out);
    replay_ctx x = {s, make_tol(s, &o), out, s->opts.progress, s->opts.progress_ud, 0, 1};
    out->tol = x.t.eps;
    out->logit_tol = x.t.dz;
    compare(&x, "baseline", "baseline", &s->rec_base, &s->base, &s->base_allow);
    if (s->cursor == 0)
        return 0;
    axf_metrics rec = s->hist[s->cursor - 1].after;
    int rc = axf__ensure_current(s, err);
    if (rc)
        return rc;
    out->evals++;
    out->steps++;
    axf_metrics a;
    allowances(s, &s->cur_buf, &s->cur, &x.t, &a);
    char what[200], path[48];
    axf__step_what(s, s->cursor - 1, "step", what, sizeof what);
    snprintf(path, sizeof path, "history[%d].after", s->cursor - 1);
    compare(&x, path, what, &rec, &s->cur, &a);
    return 0;
}

void axf__baseline_allowances(axf_session *s)
{
    axf_replay_opts o = axf_replay_opts_default();
    tolr t = make_tol(s, &o);
    allowances(s, &s->cur_buf, &s->base, &t, &s->base_allow);
}
