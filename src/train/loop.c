/* The training loops: fine-tuning with model selection and early stopping, and masked-LM
 * pre-training. One loop serves both; they differ in how a batch is built and how dev is scored.
 * Everything random (batch order, dropout, masking) comes from seeded RNGs whose state is part of
 * the resume point, so a run is a pure function of its data, options, seed and thread count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

axf_train_opts axf_train_opts_default(void)
{
    return (axf_train_opts){.epochs = 3, .batch_size = 32, .lr = 5e-5f, .warmup = 0.1f, .weight_decay = 0.01f,
                            .clip = 1.0f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-6f, .hidden_dropout = 0.1f,
                            .attn_dropout = 0.1f, .mlm_prob = 0.15f, .seed = 42, .save_last = 1};
}

/* ---- length-bucketed batches ---------------------------------------------------------------- */

typedef struct {
    int len, idx;
} len_idx;

static int len_cmp(const void *a, const void *b)
{
    const len_idx *x = a, *y = b;
    if (x->len != y->len)
        return x->len - y->len;
    return x->idx - y->idx;
}

int axf_train_bucket_batches(const int *off, int n, int batch_size, uint64_t seed, int *order, int *starts)
{
    if (n <= 0 || batch_size <= 0)
        return 0;
    axf_rng r;
    axf_rng_seed(&r, seed);
    for (int i = 0; i < n; i++)
        order[i] = i;
    axf_rng_shuffle(&r, order, n);
    int window = 50 * batch_size;
    len_idx *li = axf_xmalloc((size_t)(window < n ? window : n) * sizeof *li);
    for (int w = 0; w < n; w += window) {
        int k = n - w < window ? n - w : window;
        for (int i = 0; i < k; i++)
            li[i] = (len_idx){off[order[w + i] + 1] - off[order[w + i]], order[w + i]};
        qsort(li, (size_t)k, sizeof *li, len_cmp);
        for (int i = 0; i < k; i++)
            order[w + i] = li[i].idx;
    }
    free(li);
    int nb = (n + batch_size - 1) / batch_size;
    int *perm = axf_xmalloc((size_t)nb * sizeof *perm), *copy = axf_xmalloc((size_t)n * sizeof *copy);
    for (int i = 0; i < nb; i++)
        perm[i] = i;
    axf_rng_shuffle(&r, perm, nb);
    memcpy(copy, order, (size_t)n * sizeof *copy);
    int pos = 0;
    for (int b = 0; b < nb; b++) {
        int lo = perm[b] * batch_size, hi = lo + batch_size < n ? lo + batch_size : n;
        starts[b] = pos;
        memcpy(order + pos, copy + lo, (size_t)(hi - lo) * sizeof *order);
        pos += hi - lo;
    }
    starts[nb] = pos;
    free(perm);
    free(copy);
    return nb;
}

/* ---- evaluation ----------------------------------------------------------------------------- */

/* Examples [s, s+k) of e as a batch (no copy). */
static axf_batch slice(const axf_encoded *e, int s, int k)
{
    axf_batch b = {.n_seq = k, .n_tok = e->off[s + k] - e->off[s], .ids = e->ids + e->off[s],
                   .types = e->types + e->off[s], .seq_off = e->off + s};
    return b;
}

static int evaluate_cls(axf_train_ctx *c, axf_model *m, const axf_plan *plan, const axf_encoded *d, int bs,
                        double *loss, double *metric, int *preds, axf_err *err)
{
    int C = m->cfg.num_labels;
    float *logits = axf_xmalloc((size_t)bs * C * sizeof(float));
    double tot = 0, correct = 0, se = 0;
    int rc = 0;
    for (int s = 0; s < d->n && rc == 0; s += bs) {
        int k = d->n - s < bs ? d->n - s : bs;
        axf_train_batch tb = {.b = slice(d, s, k)};
        if (m->cfg.task == AXF_TASK_CLASSIFY)
            tb.labels = d->labels + s;
        else
            tb.targets = d->targets + s;
        double l;
        rc = axf_train_forward(c, plan, &tb, AXF_LOSS_SUM, &l, logits, err);
        tot += l;
        for (int i = 0; i < k && rc == 0; i++) {
            const float *z = logits + (size_t)i * C;
            if (m->cfg.task == AXF_TASK_CLASSIFY) {
                int best = 0;
                for (int j = 1; j < C; j++)
                    if (z[j] > z[best])
                        best = j;
                if (preds)
                    preds[s + i] = best;
                correct += best == d->labels[s + i];
            } else {
                double e = z[0] - d->targets[s + i];
                se += e * e;
            }
        }
    }
    free(logits);
    if (rc)
        return -1;
    *loss = tot / d->n;
    *metric = m->cfg.task == AXF_TASK_CLASSIFY ? correct / d->n : -se / d->n;
    return 0;
}

int axf_train_evaluate_plan(axf_model *m, const axf_plan *plan, const axf_encoded *d, int batch_size,
                            double *loss, double *metric, int *preds, axf_err *err)
{
    if (!d || d->n <= 0)
        return axf_err_set(err, "evaluate: no examples");
    axf_train_ctx *c = axf_train_ctx_new(m, err);
    if (!c)
        return -1;
    int rc = evaluate_cls(c, m, plan, d, batch_size > 0 ? batch_size : 64, loss, metric, preds, err);
    axf_train_ctx_free(c);
    return rc;
}

int axf_train_evaluate(axf_model *m, const axf_encoded *d, int batch_size, double *loss, double *metric,
                       int *preds, axf_err *err)
{
    return axf_train_evaluate_plan(m, NULL, d, batch_size, loss, metric, preds, err);
}

int axf_train_predict(axf_model *m, const axf_encoded *d, int batch_size, float *logits, axf_err *err)
{
    return axf_train_predict_plan(m, NULL, d, batch_size, logits, err);
}

int axf_train_predict_plan(axf_model *m, const axf_plan *plan, const axf_encoded *d, int batch_size,
                           float *logits, axf_err *err)
{
    if (!d || d->n <= 0)
        return axf_err_set(err, "predict: no examples");
    axf_train_ctx *c = axf_train_ctx_new(m, err);
    if (!c)
        return -1;
    int bs = batch_size > 0 ? batch_size : 64, rc = 0;
    for (int s = 0; s < d->n && rc == 0; s += bs) {
        int k = d->n - s < bs ? d->n - s : bs;
        axf_train_batch tb = {.b = slice(d, s, k)};
        rc = axf_train_forward(c, plan, &tb, AXF_LOSS_SUM, NULL, logits + (size_t)s * m->cfg.num_labels, err);
    }
    axf_train_ctx_free(c);
    return rc;
}

/* ---- masked-LM corruption ------------------------------------------------------------------- */

typedef struct {
    int mask, V;
    int special[5];
    int ns;
} mlm_info;

static int is_special(const mlm_info *mi, int id)
{
    for (int i = 0; i < mi->ns; i++)
        if (mi->special[i] == id)
            return 1;
    return 0;
}

/* Corrupts ids[T] in place; writes the positions to predict and their original ids. */
static int mlm_corrupt(int *ids, int T, const mlm_info *mi, float prob, axf_rng *r, int *pos, int *orig)
{
    int M = 0, eligible = 0;
    for (int t = 0; t < T; t++) {
        if (is_special(mi, ids[t]))
            continue;
        eligible++;
        if (axf_rng_uniform(r) >= prob)
            continue;
        pos[M] = t;
        orig[M] = ids[t];
        M++;
    }
    if (M == 0 && eligible > 0) {
        int pick = axf_rng_below(r, eligible);
        for (int t = 0; t < T; t++)
            if (!is_special(mi, ids[t]) && pick-- == 0) {
                pos[M] = t;
                orig[M] = ids[t];
                M++;
                break;
            }
    }
    for (int i = 0; i < M; i++) {
        float u = axf_rng_uniform(r);
        if (u < 0.8f)
            ids[pos[i]] = mi->mask;
        else if (u < 0.9f) {
            int id;
            do
                id = axf_rng_below(r, mi->V);
            while (is_special(mi, id));
            ids[pos[i]] = id;
        }
    }
    return M;
}

/* ---- the loop ------------------------------------------------------------------------------- */

typedef struct {
    int pretrain;
    /* distillation: the teacher's logits on every training example [n, C], and for hidden-state
     * matching the teacher itself with a context of its own */
    const float *soft;
    axf_distill_opts kd;
    axf_model *teacher;
    const axf_plan *teacher_plan;
    axf_train_ctx *tctx;
    mlm_info mi;
    /* dev for pre-training: corrupted once */
    int *dev_ids, *dev_pos, *dev_orig, dev_M;
} loop_kind;

static int evaluate_mlm(axf_train_ctx *c, const axf_encoded *d, const loop_kind *k, int bs, double *loss,
                        axf_err *err)
{
    double tot = 0;
    long count = 0;
    int p = 0;
    int *lpos = axf_xmalloc((size_t)(d->off[d->n] - d->off[0] + 1) * sizeof(int));
    int rc = 0;
    for (int s = 0; s < d->n && rc == 0; s += bs) {
        int n = d->n - s < bs ? d->n - s : bs;
        axf_train_batch tb = {.b = slice(d, s, n)};
        int base = d->off[s] - d->off[0], end = d->off[s + n] - d->off[0];
        tb.b.ids = k->dev_ids + base;
        int p0 = p;
        while (p < k->dev_M && k->dev_pos[p] < end) {
            lpos[p - p0] = k->dev_pos[p] - base;
            p++;
        }
        if (p == p0)
            continue;
        tb.mlm_pos = lpos;
        tb.mlm_ids = k->dev_orig + p0;
        tb.n_mlm = p - p0;
        double l;
        rc = axf_train_forward(c, NULL, &tb, AXF_LOSS_SUM, &l, NULL, err);
        tot += l;
        count += p - p0;
    }
    free(lpos);
    if (rc)
        return -1;
    *loss = count ? tot / count : 0;
    return 0;
}

static uint64_t epoch_seed(uint64_t seed, int epoch)
{
    axf_rng r;
    axf_rng_seed(&r, seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(epoch + 1)));
    return axf_rng_u64(&r);
}

static int check_data(const axf_model *m, const axf_encoded *d, const char *what, int pretrain, axf_err *err)
{
    if (!d || d->n <= 0)
        return axf_err_set(err, "%s: no examples", what);
    for (int i = 0; i < d->n; i++) {
        int n = d->off[i + 1] - d->off[i];
        if (n <= 0 || n > axf_config_max_len(&m->cfg))
            return axf_err_set(err, "%s: example %d has %d tokens (model allows 1..%d)", what, i + 1, n,
                               axf_config_max_len(&m->cfg));
        if (!pretrain && m->cfg.task == AXF_TASK_CLASSIFY && (d->labels[i] < 0 || d->labels[i] >= m->cfg.num_labels))
            return axf_err_set(err, "%s: example %d has label %d (model has %d labels)", what, i + 1, d->labels[i],
                               m->cfg.num_labels);
    }
    return 0;
}

static void log_line(const char *out_dir, long step, int epoch, double tl, double dl, double dm, double secs,
                     int fresh)
{
    if (!out_dir)
        return;
    char *p = axf_io_join(out_dir, "train_log.tsv");
    FILE *f = fopen(p, fresh ? "w" : "a");
    if (f) {
        if (fresh)
            fprintf(f, "step\tepoch\ttrain_loss\tdev_loss\tdev_metric\tseconds\n");
        fprintf(f, "%ld\t%d\t%.6f\t%.6f\t%.6f\t%.1f\n", step, epoch, tl, dl, dm, secs);
        fclose(f);
    }
    free(p);
}

static int run(axf_model *m, const axf_encoded *train, const axf_encoded *dev, const axf_train_opts *o,
               const char *out_dir, const axf_vocab *v, loop_kind *kind, axf_train_progress_fn fn, void *ud,
               axf_train_result *res, axf_err *err)
{
    const char *phase = kind->pretrain ? "pretrain" : kind->soft ? "distill" : "finetune";
    if (check_data(m, train, "training data", kind->pretrain, err))
        return -1;
    if (dev && check_data(m, dev, "dev data", kind->pretrain, err))
        return -1;
    if (o->batch_size <= 0 || !(o->lr > 0) || (o->max_steps <= 0 && o->epochs <= 0))
        return axf_err_set(err, "%s: batch size, learning rate and epochs (or steps) must be positive", phase);
    if (kind->pretrain && !m->mlm_bias)
        return axf_err_set(err, "pretrain: the model has no masked-LM head");

    int bs = o->batch_size, n = train->n;
    int nb = (n + bs - 1) / bs;
    long total = o->max_steps > 0 ? o->max_steps : (long)o->epochs * nb;
    long warmup = (long)llround((double)o->warmup * (double)total);
    int max_tok = 0;
    for (int i = 0; i < n; i++)
        max_tok = train->off[i + 1] - train->off[i] > max_tok ? train->off[i + 1] - train->off[i] : max_tok;
    max_tok *= bs;

    axf_train_ctx *c = axf_train_ctx_new(m, err);
    if (!c)
        return -1;
    axf_adamw *opt = axf_adamw_new(m, o->weight_decay);
    opt->beta1 = o->beta1 > 0 ? o->beta1 : 0.9f;
    opt->beta2 = o->beta2 > 0 ? o->beta2 : 0.999f;
    opt->eps = o->eps > 0 ? o->eps : 1e-6f;
    axf_rng rng;
    axf_rng_seed(&rng, o->seed ^ 0x5eedd5a7ULL);

    int *order = axf_xmalloc((size_t)n * sizeof(int)), *starts = axf_xmalloc((size_t)(nb + 1) * sizeof(int));
    int *b_ids = axf_xmalloc((size_t)max_tok * sizeof(int)), *b_types = axf_xmalloc((size_t)max_tok * sizeof(int));
    int *b_off = axf_xmalloc((size_t)(bs + 1) * sizeof(int)), *b_lab = axf_xmalloc((size_t)bs * sizeof(int));
    float *b_tgt = axf_xmalloc((size_t)bs * sizeof(float));
    int C = m->cfg.num_labels;
    float *b_soft = kind->soft ? axf_xmalloc((size_t)bs * C * sizeof(float)) : NULL;
    int *b_mpos = axf_xmalloc((size_t)max_tok * sizeof(int)), *b_mids = axf_xmalloc((size_t)max_tok * sizeof(int));
    float *best = NULL;
    int has_dev = dev != NULL;
    if (has_dev && !kind->pretrain)
        best = axf_xmalloc(m->n_floats * sizeof(float));

    tr_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.mode, sizeof st.mode, "%s", phase);
    st.seed = o->seed;
    st.total_steps = total;
    st.loss_ema = NAN;
    int rc = 0, fresh_log = 1;
    memset(res, 0, sizeof *res);
    if (o->resume && out_dir) {
        tr_state ls;
        int got = tr_state_load(out_dir, m, opt, &ls, err);
        if (got < 0) {
            rc = -1;
            goto done;
        }
        if (got == 1) {
            if (strcmp(ls.mode, phase) != 0) {
                rc = axf_err_set(err, "%s/last: a %s run cannot resume a %s run", out_dir, phase, ls.mode);
                goto done;
            }
            st = ls;
            st.total_steps = total;
            rng.s[0] = ls.rng[0];
            rng.s[1] = ls.rng[1];
            res->resumed_from = (int)ls.step;
            fresh_log = 0;
            if (best) {
                axf_model *bm = st.has_best ? axf_model_load(out_dir, NULL) : NULL;
                if (bm && bm->n_floats == m->n_floats)
                    memcpy(best, bm->arena, m->n_floats * sizeof(float));
                else
                    st.has_best = 0;
                axf_model_free(bm);
            }
        }
    }
    if (out_dir && axf_io_mkdir_p(out_dir, err)) {
        rc = -1;
        goto done;
    }

    axf_train_ctx_set_dropout(c, o->hidden_dropout, o->attn_dropout, &rng);
    double t0 = axf_now(), t_train = 0, dev_metric = NAN, dev_loss = NAN;
    long tokens = 0, steps_run = 0;
    int stop = 0, log_epoch = 0;
    axf_train_status ss;
    memset(&ss, 0, sizeof ss);
    ss.phase = phase;
    if (kind->soft && has_dev && st.step == 0 && !st.has_best) {
        /* distillation keeps the student as it came when no step beats it on dev */
        axf_train_ctx_set_dropout(c, 0, 0, NULL);
        rc = evaluate_cls(c, m, o->plan, dev, 64, &dev_loss, &dev_metric, NULL, err);
        axf_train_ctx_set_dropout(c, o->hidden_dropout, o->attn_dropout, &rng);
        if (rc)
            goto done;
        st.has_best = 1;
        st.best_metric = dev_metric;
        st.best_step = 0;
        res->best_loss = dev_loss;
        memcpy(best, m->arena, m->n_floats * sizeof(float));
        if (out_dir) {
            if (tr_save_model_dir(m, o->plan, v, out_dir, err)) {
                rc = -1;
                goto done;
            }
            log_line(out_dir, 0, 0, NAN, dev_loss, dev_metric, axf_now() - t0, fresh_log);
            fresh_log = 0;
        }
        ss.total_steps = total;
        ss.dev_metric = dev_metric;
        ss.dev_loss = dev_loss;
        ss.loss = NAN;
        ss.evaluated = 1;
        ss.phase = "eval";
        if (fn && fn(&ss, ud)) {
            res->cancelled = 1;
            stop = 1;
        }
        ss.phase = phase;
    }
    while (st.step < total && !stop) {
        axf_train_bucket_batches(train->off, n, bs, epoch_seed(o->seed, st.epoch), order, starts);
        for (int bi = st.batch_in_epoch; bi < nb && st.step < total && !stop; bi++) {
            double ts = axf_now();
            /* gather the batch */
            int B = starts[bi + 1] - starts[bi], T = 0;
            b_off[0] = 0;
            for (int i = 0; i < B; i++) {
                int ex = order[starts[bi] + i], lo = train->off[ex], len = train->off[ex + 1] - lo;
                memcpy(b_ids + T, train->ids + lo, (size_t)len * sizeof(int));
                memcpy(b_types + T, train->types + lo, (size_t)len * sizeof(int));
                T += len;
                b_off[i + 1] = T;
                b_lab[i] = train->labels ? train->labels[ex] : 0;
                b_tgt[i] = train->targets ? train->targets[ex] : 0;
                if (b_soft)
                    memcpy(b_soft + (size_t)i * C, kind->soft + (size_t)ex * C, (size_t)C * sizeof(float));
            }
            axf_train_batch tb = {.b = {.n_seq = B, .n_tok = T, .ids = b_ids, .types = b_types, .seq_off = b_off}};
            if (b_soft) {
                tb.soft = b_soft;
                tb.kd_alpha = kind->kd.alpha;
                tb.kd_temp = kind->kd.temperature;
            }
            if (kind->tctx) {
                axf_train_batch tt = {.b = tb.b};
                if (axf_train_forward(kind->tctx, kind->teacher_plan, &tt, AXF_LOSS_SUM, NULL, NULL, err)) {
                    rc = -1;
                    goto done;
                }
                tb.hid = axf_train_hidden(kind->tctx);
                tb.hid_weight = kind->kd.hid_weight;
            }
            if (kind->pretrain) {
                tb.n_mlm = mlm_corrupt(b_ids, T, &kind->mi, o->mlm_prob, &rng, b_mpos, b_mids);
                tb.mlm_pos = b_mpos;
                tb.mlm_ids = b_mids;
            } else if (m->cfg.task == AXF_TASK_CLASSIFY) {
                tb.labels = b_lab;
            } else {
                tb.targets = b_tgt;
            }
            double loss;
            axf_train_zero_grad(c);
            if (axf_train_forward(c, o->plan, &tb, AXF_LOSS_MEAN, &loss, NULL, err)) {
                rc = -1;
                goto done;
            }
            axf_train_backward(c, 1, NULL);
            axf_adamw_mask_frozen(opt, axf_train_grads(c));
            double gn = axf_grad_norm(axf_train_grads(c));
            opt->grad_scale = o->clip > 0 && gn > o->clip ? (float)(o->clip / (gn + 1e-6)) : 1.0f;
            axf_adamw_step(opt, m, axf_train_grads(c), axf_lr_at(st.step, warmup, total, o->lr));
            st.step++;
            st.batch_in_epoch = bi + 1;
            st.loss_ema = isnan(st.loss_ema) ? loss : 0.98 * st.loss_ema + 0.02 * loss;
            tokens += T;
            steps_run++;
            t_train += axf_now() - ts;

            int epoch_end = bi == nb - 1;
            int eval_now = st.step == total || (o->eval_every > 0 ? st.step % o->eval_every == 0 : epoch_end);
            double el = axf_now() - t0;
            ss.epoch = st.epoch + 1; /* the epoch this step belongs to, from 1 */
            ss.step = st.step;
            ss.total_steps = total;
            ss.loss = st.loss_ema;
            ss.tokens_per_s = t_train > 0 ? tokens / t_train : 0;
            ss.elapsed = el;
            ss.eta = steps_run > 0 ? el / steps_run * (double)(total - st.step) : 0;
            ss.dev_metric = dev_metric;
            ss.dev_loss = dev_loss;
            ss.evaluated = 0;
            if (!eval_now && fn && fn(&ss, ud)) {
                res->cancelled = 1;
                stop = 1;
            }
            if (!eval_now)
                continue;
            if (epoch_end) {
                st.epoch++;
                st.batch_in_epoch = 0;
            }
            log_epoch = ss.epoch;
            int improved = 0;
            if (has_dev) {
                axf_train_ctx_set_dropout(c, 0, 0, NULL);
                if (kind->pretrain) {
                    rc = evaluate_mlm(c, dev, kind, 64, &dev_loss, err);
                    dev_metric = -dev_loss;
                } else {
                    rc = evaluate_cls(c, m, o->plan, dev, 64, &dev_loss, &dev_metric, NULL, err);
                }
                axf_train_ctx_set_dropout(c, o->hidden_dropout, o->attn_dropout, &rng);
                if (rc)
                    goto done;
                improved = !st.has_best || dev_metric > st.best_metric;
                if (improved) {
                    st.has_best = 1;
                    st.best_metric = dev_metric;
                    st.best_step = st.step;
                    st.bad_evals = 0;
                    res->best_loss = dev_loss;
                    if (best)
                        memcpy(best, m->arena, m->n_floats * sizeof(float));
                } else {
                    st.bad_evals++;
                }
            }
            if (out_dir) {
                /* fine-tuning keeps the best model in out_dir; pre-training the latest */
                if ((improved || kind->pretrain || !has_dev) && tr_save_model_dir(m, o->plan, v, out_dir, err)) {
                    rc = -1;
                    goto done;
                }
                st.rng[0] = rng.s[0];
                st.rng[1] = rng.s[1];
                if (o->save_last && tr_state_save(out_dir, m, o->plan, v, opt, &st, err)) {
                    rc = -1;
                    goto done;
                }
                log_line(out_dir, st.step, log_epoch, st.loss_ema, dev_loss, dev_metric, axf_now() - t0, fresh_log);
                fresh_log = 0;
            }
            ss.dev_metric = dev_metric;
            ss.dev_loss = dev_loss;
            ss.evaluated = has_dev;
            ss.phase = has_dev ? "eval" : phase;
            if (fn && fn(&ss, ud)) {
                res->cancelled = 1;
                stop = 1;
            }
            ss.phase = phase;
            if (!kind->pretrain && has_dev && o->patience > 0 && st.bad_evals >= o->patience) {
                res->stopped_early = 1;
                stop = 1;
            }
        }
        if (st.batch_in_epoch >= nb) {
            st.epoch++;
            st.batch_in_epoch = 0;
        }
    }
    if (best && st.has_best)
        memcpy(m->arena, best, m->n_floats * sizeof(float));
    res->steps = st.step;
    res->best_metric = st.has_best ? st.best_metric : NAN;
    res->best_step = st.best_step;
    res->seconds = axf_now() - t0;
    res->tokens = tokens;
    res->tokens_per_s = t_train > 0 ? tokens / t_train : 0;
done:
    free(order), free(starts), free(b_ids), free(b_types), free(b_off), free(b_lab), free(b_tgt);
    free(b_mpos), free(b_mids), free(best), free(b_soft);
    axf_adamw_free(opt);
    axf_train_ctx_free(c);
    return rc;
}

int axf_finetune_run(axf_model *m, const axf_encoded *train, const axf_encoded *dev, const axf_train_opts *opts,
                     const char *out_dir, const axf_vocab *v, axf_train_progress_fn fn, void *ud,
                     axf_train_result *res, axf_err *err)
{
    loop_kind k;
    memset(&k, 0, sizeof k);
    axf_train_result dummy;
    return run(m, train, dev, opts, out_dir, v, &k, fn, ud, res ? res : &dummy, err);
}

axf_distill_opts axf_distill_opts_default(void)
{
    axf_distill_opts d = {.alpha = 0.5f, .temperature = 2.0f, .hid_weight = 0.0f};
    return d;
}

int axf_distill_run(axf_model *student, axf_model *teacher, const axf_plan *teacher_plan,
                    const axf_encoded *train, const axf_encoded *dev, const axf_distill_opts *d,
                    const axf_train_opts *opts, const char *out_dir, const axf_vocab *v,
                    axf_train_progress_fn fn, void *ud, axf_train_result *res, axf_err *err)
{
    const axf_config *s = &student->cfg, *t = &teacher->cfg;
    if (s->vocab_size != t->vocab_size || s->num_labels != t->num_labels || s->task != t->task)
        return axf_err_set(err, "distill: student and teacher differ in vocabulary (%d, %d), labels (%d, %d) or task",
                           s->vocab_size, t->vocab_size, s->num_labels, t->num_labels);
    if (!(d->temperature > 0) || !(d->alpha >= 0 && d->alpha <= 1) || !(d->hid_weight >= 0))
        return axf_err_set(err, "distill: temperature must be > 0, alpha in 0..1, the hidden weight >= 0");
    if (d->hid_weight > 0 && s->hidden != t->hidden)
        return axf_err_set(err, "distill: hidden-state matching needs the same hidden size (student %d, teacher %d)",
                           s->hidden, t->hidden);
    if (check_data(teacher, train, "training data", 0, err))
        return -1;
    loop_kind k;
    memset(&k, 0, sizeof k);
    k.kd = *d;
    k.teacher = teacher;
    k.teacher_plan = teacher_plan;
    float *soft = axf_xmalloc((size_t)train->n * t->num_labels * sizeof(float));
    int rc = axf_train_predict_plan(teacher, teacher_plan, train, 64, soft, err);
    k.soft = soft;
    if (rc == 0 && d->hid_weight > 0) {
        k.tctx = axf_train_ctx_new(teacher, err);
        rc = k.tctx ? 0 : -1;
    }
    axf_train_result dummy;
    if (rc == 0)
        rc = run(student, train, dev, opts, out_dir, v, &k, fn, ud, res ? res : &dummy, err);
    axf_train_ctx_free(k.tctx);
    free(soft);
    return rc;
}

int axf_pretrain_run(axf_model *m, const axf_encoded *train, const axf_encoded *dev, const axf_train_opts *opts,
                     const char *out_dir, const axf_vocab *v, axf_train_progress_fn fn, void *ud,
                     axf_train_result *res, axf_err *err)
{
    if (!v)
        return axf_err_set(err, "pretrain: a vocabulary is needed (for [MASK] and the special tokens)");
    axf_special sp = axf_vocab_special(v);
    if (sp.mask < 0)
        return axf_err_set(err, "pretrain: the vocabulary has no [MASK] token");
    if (axf_vocab_size(v) != m->cfg.vocab_size)
        return axf_err_set(err, "pretrain: vocabulary has %d tokens, model %d", axf_vocab_size(v), m->cfg.vocab_size);
    loop_kind k;
    memset(&k, 0, sizeof k);
    k.pretrain = 1;
    k.mi.mask = sp.mask;
    k.mi.V = m->cfg.vocab_size;
    int ids[5] = {sp.pad, sp.unk, sp.cls, sp.sep, sp.mask};
    for (int i = 0; i < 5; i++)
        if (ids[i] >= 0)
            k.mi.special[k.mi.ns++] = ids[i];
    if (dev && dev->n > 0) {
        int T = dev->off[dev->n] - dev->off[0];
        k.dev_ids = axf_xmalloc((size_t)T * sizeof(int));
        k.dev_pos = axf_xmalloc((size_t)T * sizeof(int));
        k.dev_orig = axf_xmalloc((size_t)T * sizeof(int));
        memcpy(k.dev_ids, dev->ids + dev->off[0], (size_t)T * sizeof(int));
        axf_rng r;
        axf_rng_seed(&r, 0xde7de7ULL);
        /* per example, so the positions stay sorted and within their sequence */
        for (int i = 0; i < dev->n; i++) {
            int lo = dev->off[i] - dev->off[0], len = dev->off[i + 1] - dev->off[i];
            int M = mlm_corrupt(k.dev_ids + lo, len, &k.mi, opts->mlm_prob, &r, k.dev_pos + k.dev_M,
                                k.dev_orig + k.dev_M);
            for (int j = 0; j < M; j++)
                k.dev_pos[k.dev_M + j] += lo;
            k.dev_M += M;
        }
    }
    axf_train_result dummy;
    int rc = run(m, train, dev, opts, out_dir, v, &k, fn, ud, res ? res : &dummy, err);
    AXF_FREE(k.dev_ids, k.dev_pos, k.dev_orig);
    return rc;
}
