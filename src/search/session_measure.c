/* The search session's measurements beyond the search split: metrics on the held-out split (its
 * baseline once, the committed plan's whenever the plan changed), engine speed of the committed
 * plan against the original, and export of the compacted model. Split from session.c by job. */
#include "session_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/compact.h"
#include "axf/metrics.h"

/* ---- held-out split ---- */

void axf__holdout_drop(axf_session *s)
{
    axf_evalcache_free(s->ho_ec);
    axf_encoded_free(s->ho);
    free(s->ho_l0);
}

int axf_session_set_holdout(axf_session *s, const char *path, axf_err *err)
{
    if (!s->vocab)
        return axf_err_set(err, "%s: this session has no vocabulary (opened from memory)", path);
    char sha[65];
    if (axf_sha256_file(path, sha, err))
        return -1;
    axf_encoded *e = axf__load_split(path, NULL, s->m, s->vocab, s->opts.max_len, 0, NULL, err);
    if (!e)
        return -1;
    axf_evalcache *ec = axf_evalcache_new(s->m, e, s->opts.batch, 0, err);
    if (!ec) {
        axf_err_prefix(err, "%s", path);
        axf_encoded_free(e);
        return -1;
    }
    axf__holdout_drop(s);
    s->ho = e;
    s->ho_ec = ec;
    s->ho_l0 = NULL;
    s->ho_base_valid = 0;
    axf__kept_drop(s, AXF__KEPT_HOLDOUT);
    free(s->holdout_path);
    s->holdout_path = axf_xstrdup(path);
    memcpy(s->holdout_sha, sha, 65);
    return 0;
}

static int holdout_eval(axf_session *s, axf_evalcache *ec, const axf_plan *p, axf_metrics *out, float *l0_out,
                        axf_err *err)
{
    evalbuf b;
    axf__evalbuf_alloc(&b, s->ho->n, s->m->cfg.num_labels);
    int rc = axf_evalcache_run(ec, p, 0, b.logits, b.losses, s->opts.progress, s->opts.progress_ud, err);
    if (rc == 0) {
        axf__metrics_compute(s, s->ho, p, s->ho_l0, &b, out);
        if (l0_out)
            memcpy(l0_out, b.losses, sizeof(float) * (size_t)s->ho->n);
    }
    axf__evalbuf_free(&b);
    return rc;
}

int axf_session_holdout_metrics(axf_session *s, axf_metrics *base, axf_metrics *cur, axf_err *err)
{
    if (!s->ho)
        return axf_err_set(err, "no held-out data set");
    if (!s->ho_base_valid) {
        float *l0 = axf_xmalloc(sizeof(float) * (size_t)s->ho->n);
        axf_metrics m;
        /* the original model's weights (m holds a distil step's when m0 exists) */
        axf_evalcache *ec = s->m0 ? axf_evalcache_new(s->m0, s->ho, s->opts.batch, 0, err) : s->ho_ec;
        int rc = ec ? holdout_eval(s, ec, s->orig, &m, l0, err) : -1;
        if (ec != s->ho_ec)
            axf_evalcache_free(ec);
        if (rc) {
            free(l0);
            return rc;
        }
        s->ho_l0 = l0;
        m.n_no_worse = m.n;
        s->ho_base = m;
        s->ho_base_valid = 1;
    }
    if (cur) {
        axf__kept *k = axf__kept_find(s, AXF__KEPT_HOLDOUT, 0, 0, 0);
        if (!k) {
            axf_metrics m;
            int rc = holdout_eval(s, s->ho_ec, s->plan, &m, NULL, err);
            if (rc)
                return rc;
            k = axf__kept_store(s, AXF__KEPT_HOLDOUT, 0, 0);
            k->ho = m;
        }
        *cur = k->ho;
    }
    if (base)
        *base = s->ho_base;
    return 0;
}

/* ---- speed and export ---- */

/* One engine timed over the first max_tokens tokens of the search split. */
typedef struct speed_run {
    axf_engine *e;
    const axf_plan *p;
    double rate[AXF_SPEED_MAX_REPS];
} speed_run;

/* One timed pass: tokens per CPU second of this thread into *rate. The forward pass runs as
 * axf_engine_forward runs it (embeddings, the layers up to the last live one, which computes the
 * [CLS] rows only, the head), a part at a time, and the progress callback is asked between the
 * parts, outside the timed time: a measurement in the background gives way to an edit within one
 * layer of one batch, not one batch (nonzero: AXF_CANCELLED). */
static int speed_pass(axf_session *s, speed_run *r, float *lg, double *done, double total, double *rate,
                      axf_err *err)
{
    int nb = axf_evalcache_n_batches(s->ec), last = axf_engine_last_live_layer(r->e, r->p);
    float *h = axf_engine_hidden(r->e);
    long tok = 0;
    double cpu = 0;
    if (axf_engine_check_plan(r->e, r->p, err))
        return -1;
    for (int b = 0; b < nb && tok < s->opts.speed_tokens; b++) {
        axf_batch bt = axf_evalcache_batch(s->ec, b, NULL);
        if (axf_engine_check(r->e, &bt, err))
            return -1;
        if (bt.n_seq == 0)
            continue;
        /* parts: the embeddings, layers 0..last, the head */
        double part = (double)bt.n_tok / s->opts.speed_tokens / (last + 3);
        for (int i = -1; i <= last + 1; i++) {
            double t0 = axf_cpu_now(1);
            if (i < 0)
                axf_engine_embed(r->e, r->p, &bt, h);
            else if (i < last)
                axf_engine_layer(r->e, i, r->p ? &r->p->layers[i] : NULL, &bt, h);
            else if (i == last)
                axf_engine_layer_cls(r->e, i, r->p ? &r->p->layers[i] : NULL, &bt, h);
            else
                axf_engine_head(r->e, &bt, h, lg);
            cpu += axf_cpu_now(1) - t0;
            *done += part;
            if (s->opts.progress && s->opts.progress(*done < total ? *done : total, total, s->opts.progress_ud))
                return axf_err_set(err, "cancelled"), AXF_CANCELLED;
        }
        tok += bt.n_tok;
    }
    *rate = cpu > 0 ? tok / cpu : 0;
    return 0;
}

int axf_session_speed(axf_session *s, int reps, axf_speed *out, axf_err *err)
{
    memset(out, 0, sizeof *out);
    if (reps < 1)
        reps = AXF_SPEED_REPS;
    if (reps > AXF_SPEED_MAX_REPS)
        reps = AXF_SPEED_MAX_REPS;
    int unchanged = axf_plan_equal(s->plan, s->orig);
    axf_plan *hard = NULL;
    axf_model *cm = unchanged ? NULL : axf_compact(s->m, s->plan, &hard, err);
    if (!unchanged && !cm)
        return -1;
    int nb = axf_evalcache_n_batches(s->ec), maxt = 1, maxs = 1;
    for (int b = 0; b < nb; b++) {
        axf_batch bt = axf_evalcache_batch(s->ec, b, NULL);
        maxt = bt.n_tok > maxt ? bt.n_tok : maxt;
        maxs = bt.n_seq > maxs ? bt.n_seq : maxs;
    }
    /* one thread: its CPU clock then counts exactly the work of the pass, whatever else runs */
    int threads = axf_threads();
    axf_set_threads(1);
    speed_run runs[2];
    int nr = unchanged ? 1 : 2, rc = 0;
    memset(runs, 0, sizeof runs);
    runs[0].e = axf_engine_new(s->m, maxt, err);
    runs[0].p = NULL;
    if (!unchanged) {
        runs[1].e = runs[0].e ? axf_engine_new(cm, maxt, err) : NULL;
        runs[1].p = hard;
    }
    float *lg = axf_xmalloc(sizeof(float) * (size_t)maxs * (size_t)s->m->cfg.num_labels);
    for (int k = 0; k < nr; k++)
        if (!runs[k].e)
            rc = -1;
        else
            axf_engine_freeze_weights(runs[k].e, 1);
    /* a warm-up pass (packs the weights), then reps interleaved passes, the order alternating so
     * that a change of load on the machine hits both alike */
    double done = 0, total = (double)(reps + 1) * nr, warm;
    for (int k = 0; k < nr && !rc; k++)
        rc = speed_pass(s, &runs[k], lg, &done, total, &warm, err);
    for (int i = 0; i < reps && !rc; i++)
        for (int j = 0; j < nr && !rc; j++) {
            speed_run *r = &runs[i % 2 ? nr - 1 - j : j];
            rc = speed_pass(s, r, lg, &done, total, &r->rate[i], err);
        }
    axf_set_threads(threads);
    if (!rc) {
        double ratio[AXF_SPEED_MAX_REPS];
        out->reps = reps;
        out->unchanged = unchanged;
        out->ratio_lo = out->ratio_hi = out->ratio = 1;
        if (!unchanged) {
            for (int i = 0; i < reps; i++)
                ratio[i] = runs[0].rate[i] > 0 ? runs[1].rate[i] / runs[0].rate[i] : 0;
            out->ratio = axf_median(ratio, reps);
            out->ratio_lo = ratio[0];
            out->ratio_hi = ratio[reps - 1];
        }
        out->tok_s_base = axf_median(runs[0].rate, reps);
        out->tok_s_cur = unchanged ? out->tok_s_base : axf_median(runs[1].rate, reps);
        axf__kept_store(s, AXF__KEPT_SPEED, 0, 0)->speed = *out;
    }
    free(lg);
    for (int k = 0; k < nr; k++)
        axf_engine_free(runs[k].e);
    axf_plan_free(hard);
    axf_model_free(cm);
    return rc;
}

int axf_session_measure_speed(axf_session *s, double *cur, double *base, axf_err *err)
{
    axf_speed sp;
    int rc = axf_session_speed(s, 0, &sp, err);
    if (rc)
        return rc;
    if (cur)
        *cur = sp.tok_s_cur;
    if (base)
        *base = sp.tok_s_base;
    return 0;
}

int axf_session_export(axf_session *s, const char *dir, axf_err *err)
{
    axf_plan *hard = NULL;
    axf_model *cm = axf_compact(s->m, s->plan, &hard, err);
    if (!cm)
        return -1;
    int rc = axf_compact_save(cm, hard, dir, s->model_dir_use[0] ? s->model_dir_use : NULL, err);
    axf_plan_free(hard);
    axf_model_free(cm);
    return rc;
}
