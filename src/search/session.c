/* The search session: committed plan, trials, undo/redo history, held-out metrics, speed and
 * export. Every state change goes through a function here, after all fallible work is done, so a
 * failed or cancelled call leaves the session as it was. */
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
    free(b->losses);
    free(b->logits);
    free(b->preds);
    memset(b, 0, sizeof *b);
}

static void ff_end(axf_session *s);

static void evalbuf_swap(evalbuf *a, evalbuf *b)
{
    evalbuf t = *a;
    *a = *b;
    *b = t;
}

axf_session_opts axf_session_opts_default(void)
{
    axf_session_opts o;
    memset(&o, 0, sizeof o);
    o.max_len = 128;
    o.batch = 64;
    o.groups = 12;
    o.hard_k = 30;
    o.hard_threshold = 0.01f;
    o.cache_bytes = (size_t)1 << 30;
    o.speed_tokens = 16384;
    return o;
}

static const char *metric_for_task(const char *task, axf_task_kind kind)
{
    if (kind == AXF_TASK_REGRESS || !strcmp(task, "stsb"))
        return "pearson";
    if (!strcmp(task, "cola"))
        return "mcc";
    if (!strcmp(task, "mrpc") || !strcmp(task, "qqp"))
        return "f1";
    return "accuracy";
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

/* ---- building ---- */

static void sha_of_model(const axf_model *m, char out[65])
{
    axf_sha256_buf(m->arena, m->n_floats * sizeof(float), out);
}

static void sha_of_encoded(const axf_encoded *e, char out[65])
{
    size_t nt = (size_t)e->off[e->n];
    size_t bytes = sizeof(int) * (nt * 2 + (size_t)e->n * 2 + 1) + sizeof(float) * (size_t)e->n;
    unsigned char *buf = axf_xmalloc(bytes), *p = buf;
    memcpy(p, e->ids, sizeof(int) * nt), p += sizeof(int) * nt;
    memcpy(p, e->types, sizeof(int) * nt), p += sizeof(int) * nt;
    memcpy(p, e->off, sizeof(int) * ((size_t)e->n + 1)), p += sizeof(int) * ((size_t)e->n + 1);
    if (e->labels)
        memcpy(p, e->labels, sizeof(int) * (size_t)e->n);
    else
        memset(p, 0, sizeof(int) * (size_t)e->n);
    p += sizeof(int) * (size_t)e->n;
    if (e->targets)
        memcpy(p, e->targets, sizeof(float) * (size_t)e->n);
    else
        memset(p, 0, sizeof(float) * (size_t)e->n);
    axf_sha256_buf(buf, bytes, out);
    free(buf);
}

axf_session *axf__session_build(axf_model *m, axf_encoded *enc, axf_vocab *v, const char *task,
                                const axf_session_opts *opts, axf_err *err)
{
    axf_session *s = axf_xcalloc(1, sizeof *s);
    s->m = m;
    s->enc = enc;
    s->vocab = v;
    s->opts = opts ? *opts : axf_session_opts_default();
    s->opts.task = NULL;
    if (s->opts.batch < 1)
        s->opts.batch = 64;
    if (s->opts.groups < 1)
        s->opts.groups = 12;
    if (s->opts.hard_k < 1)
        s->opts.hard_k = 30;
    if (!(s->opts.hard_threshold > 0 && s->opts.hard_threshold < 1))
        s->opts.hard_threshold = 0.01f;
    if (s->opts.speed_tokens < 1)
        s->opts.speed_tokens = 16384;
    s->defs.groups = s->opts.groups;
    s->defs.k = s->opts.hard_k;
    s->defs.threshold = s->opts.hard_threshold;
    s->model_dir = axf_xstrdup("");
    s->model_dir_use = axf_xstrdup("");
    s->data_path = axf_xstrdup("");
    s->holdout_path = axf_xstrdup("");
    s->policy_name = axf_xstrdup("");
    s->policy_sha = axf_xstrdup("");
    s->policy_params = axf_xstrdup("{}");
    s->seed = 1;
    snprintf(s->task, sizeof s->task, "%s", task && *task ? task : "unknown");
    snprintf(s->metric_name, sizeof s->metric_name, "%s", metric_for_task(s->task, m->cfg.task));
    if (!enc || enc->n < 1) {
        axf_err_set(err, "search data: no examples");
        axf_session_free(s);
        return NULL;
    }
    s->mean_len = (double)(enc->off[enc->n] - enc->off[0]) / enc->n;
    if (s->opts.threads > 0)
        axf_set_threads(s->opts.threads);
    s->ec = axf_evalcache_new(m, enc, s->opts.batch, s->opts.cache_bytes, err);
    if (!s->ec) {
        axf_err_prefix(err, "search data");
        axf_session_free(s);
        return NULL;
    }
    s->orig = axf_plan_new(m);
    s->plan = axf_plan_new(m);
    s->trial_plan = axf_plan_new(m);
    int n = enc->n, C = m->cfg.num_labels;
    axf__evalbuf_alloc(&s->cur_buf, n, C);
    axf__evalbuf_alloc(&s->trial_buf, n, C);
    s->l0 = axf_xmalloc(sizeof(float) * (size_t)n);
    sha_of_model(m, s->model_sha);
    sha_of_encoded(enc, s->data_sha);

    int rc = axf__eval_plan(s, s->orig, &s->cur_buf, &s->base, NULL, s->opts.progress, s->opts.progress_ud, err);
    if (rc) {
        axf_session_free(s);
        return NULL;
    }
    memcpy(s->l0, s->cur_buf.losses, sizeof(float) * (size_t)n);
    s->base.n_no_worse = n;
    s->rec_base = s->base;
    axf__baseline_allowances(s);
    s->cur = s->base;
    s->cur_buf_valid = 1;
    return s;
}

axf_session *axf_session_new(axf_model *m, struct axf_encoded *search, const char *task,
                             const axf_session_opts *opts, axf_err *err)
{
    if (!m || !search) {
        axf_model_free(m);
        axf_encoded_free(search);
        axf_err_set(err, "session: no model or no data");
        return NULL;
    }
    return axf__session_build(m, search, NULL, task, opts, err);
}

/* Reads and encodes a data file for model m with vocabulary v. */
static axf_encoded *load_split(const char *path, const char *task, const axf_model *m, const axf_vocab *v,
                               int max_len, int max_examples, char task_out[32], axf_err *err)
{
    axf_dataset *d = axf_dataset_load_for(path, task, &m->cfg, 0, err); /* labels: the model's classes */
    if (!d)
        return NULL;
    if (d->num_labels == 0) {
        axf_err_set(err, "%s: the data has no labels; the search needs labelled examples", path);
        axf_dataset_free(d);
        return NULL;
    }
    if (d->kind != m->cfg.task || (d->kind == AXF_TASK_CLASSIFY && d->num_labels > m->cfg.num_labels)) {
        axf_err_set(err, "%s: %s data with %d labels does not fit the model (%s, %d labels)", path,
                    d->kind == AXF_TASK_REGRESS ? "regression" : "classification", d->num_labels,
                    m->cfg.task == AXF_TASK_REGRESS ? "regression" : "classification", m->cfg.num_labels);
        axf_dataset_free(d);
        return NULL;
    }
    int lim = max_len > axf_config_max_len(&m->cfg) ? axf_config_max_len(&m->cfg) : max_len;
    axf_encoded *e = axf_encode_dataset(d, v, m->cfg.do_lower_case, lim, err);
    if (e && task_out)
        snprintf(task_out, 32, "%s", d->task);
    axf_dataset_free(d);
    if (!e) {
        axf_err_prefix(err, "%s", path);
        return NULL;
    }
    if (max_examples > 0 && max_examples < e->n)
        e->n = max_examples; /* the arrays stay as allocated; off[n] still bounds the tokens */
    return e;
}

axf_session *axf_session_open(const char *model_dir, const char *data_path, const axf_session_opts *opts,
                              axf_err *err)
{
    axf_session_opts o = opts ? *opts : axf_session_opts_default();
    char sha[65], dsha[65], task[32] = "";
    char *st = axf_model_weights_path(model_dir);
    int bad = axf_sha256_file(st, sha, err);
    free(st);
    if (bad)
        return NULL;
    if (axf_sha256_file(data_path, dsha, err))
        return NULL;
    axf_model *m = axf_model_load(model_dir, err);
    if (!m)
        return NULL;
    axf_vocab *v = axf_vocab_load_dir(model_dir, &m->cfg, err);
    if (!v) {
        axf_model_free(m);
        return NULL;
    }
    axf_encoded *e = load_split(data_path, o.task, m, v, o.max_len, o.max_examples, task, err);
    if (!e) {
        axf_vocab_free(v);
        axf_model_free(m);
        return NULL;
    }
    axf_session *s = axf__session_build(m, e, v, task, &o, err);
    if (!s)
        return NULL;
    free(s->model_dir);
    free(s->data_path);
    s->model_dir = axf_xstrdup(model_dir);
    free(s->model_dir_use);
    s->model_dir_use = axf_xstrdup(model_dir);
    s->data_path = axf_xstrdup(data_path);
    memcpy(s->model_sha, sha, 65);
    memcpy(s->data_sha, dsha, 65);
    return s;
}

void axf__hentry_free(hentry *e)
{
    free(e->acts);
    free(e->note);
}

void axf__tentry_free(tentry *e)
{
    free(e->acts);
    free(e->note);
}

void axf_session_free(axf_session *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->hist_len; i++)
        axf__hentry_free(&s->hist[i]);
    for (int i = 0; i < s->trials_len; i++)
        axf__tentry_free(&s->trials[i]);
    free(s->hist);
    free(s->trials);
    ff_end(s);
    axf_evalcache_free(s->ec);
    axf_evalcache_free(s->ho_ec);
    axf_encoded_free(s->ho);
    free(s->ho_l0);
    axf_plan_free(s->orig);
    axf_plan_free(s->plan);
    axf_plan_free(s->trial_plan);
    axf__evalbuf_free(&s->cur_buf);
    axf__evalbuf_free(&s->trial_buf);
    free(s->l0);
    free(s->model_dir);
    free(s->model_dir_use);
    free(s->data_path);
    free(s->holdout_path);
    free(s->saved_path);
    free(s->policy_name);
    free(s->policy_sha);
    free(s->policy_params);
    free(s->imp_exact);
    axf_encoded_free(s->enc);
    axf_vocab_free(s->vocab);
    axf_model_free(s->m);
    free(s);
}

int axf_session_dirty(const axf_session *s)
{
    return s->dirty;
}

void axf_session_set_progress(axf_session *s, axf_progress_fn fn, void *ud)
{
    s->opts.progress = fn;
    s->opts.progress_ud = ud;
}

/* ---- facts and accessors ---- */

void axf_session_facts(const axf_session *s, axf_facts *f)
{
    const axf_config *c = &s->m->cfg;
    memset(f, 0, sizeof *f);
    f->n_layers = c->n_layers;
    f->hidden = c->hidden;
    f->n_heads = c->n_heads;
    f->head_dim = c->head_dim;
    f->ffn = c->ffn;
    for (int i = 0; i < c->n_layers; i++) {
        f->layer_heads[i] = c->layer_heads[i];
        f->layer_ffn[i] = c->layer_ffn[i];
    }
    f->groups = s->defs.groups;
    f->hard_k = s->opts.hard_k;
    f->hard_threshold = s->opts.hard_threshold;
    f->num_labels = c->num_labels;
    f->task_kind = c->task;
    snprintf(f->task, sizeof f->task, "%s", s->task);
    snprintf(f->metric_name, sizeof f->metric_name, "%s", s->metric_name);
    f->params = axf_plan_params(s->m, s->orig);
    f->size_bytes = axf_plan_bytes(s->m, s->orig);
    f->flops_per_token = axf_plan_flops_per_token(s->m, s->orig, s->mean_len);
    f->mean_len = s->mean_len;
    f->n_search = s->enc->n;
    f->n_holdout = s->ho ? s->ho->n : 0;
    f->n_tokens = s->enc->off[s->enc->n] - s->enc->off[0];
}

const axf_model *axf_session_model(const axf_session *s)
{
    return s->m;
}

void axf_session_baseline(const axf_session *s, axf_metrics *out)
{
    *out = s->base;
}

const float *axf_session_baseline_losses(const axf_session *s)
{
    return s->l0;
}

const axf_plan *axf_session_plan(const axf_session *s)
{
    return s->plan;
}

axf_plan_defaults axf_session_defaults(const axf_session *s)
{
    return s->defs;
}

const char *axf_session_model_dir(const axf_session *s)
{
    return s->model_dir_use;
}

const char *axf_session_data_path(const axf_session *s)
{
    return s->data_path;
}

const char *axf_session_model_sha256(const axf_session *s)
{
    return s->model_sha;
}

/* ---- committed plan ---- */

void axf__set_committed(axf_session *s, const axf_plan *p)
{
    if (!axf_plan_equal(p, s->plan)) {
        axf_plan_copy(s->plan, p);
        s->version++;
    }
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

int axf_session_eval(axf_session *s, axf_metrics *out, axf_err *err)
{
    if (out)
        *out = s->cur;
    return 0;
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

/* p = committed + acts; resolved[n] receives the actions with defaults filled in. */
static int plan_with(const axf_session *s, const axf_action *acts, int n, axf_plan *p, axf_action *resolved,
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
    int rc = plan_with(s, acts, n, p, NULL, err);
    axf_plan_free(p);
    return rc;
}

static double unix_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The fallible half of try and apply: the committed plan plus acts, evaluated into trial_buf.
 * On success *p and *res (the resolved actions) belong to the caller; on failure nothing is
 * allocated and only the trial outputs are invalidated. With reuse, a trial of the same plan is
 * taken as is: its outputs depend on its plan alone (l0 never changes). */
static int eval_actions(axf_session *s, const axf_action *acts, int n, int reuse, axf_plan **p,
                        axf_action **res, axf_metrics *m, double *secs, int *no_outputs, axf_err *err)
{
    *no_outputs = 0;
    *p = axf_plan_clone(s->plan);
    *res = axf_xmalloc(sizeof **res * (size_t)(n > 0 ? n : 1));
    *secs = 0;
    int rc = plan_with(s, acts, n, *p, *res, err);
    if (rc == 0) {
        if (reuse && s->trial_valid && axf_plan_equal(*p, s->trial_plan)) {
            *m = s->trial_m;
            *secs = s->trial_seconds;
            *no_outputs = s->trial_lazy;
            s->evals++;
            s->evals_reused++;
        } else {
            s->trial_valid = 0;
            rc = axf__eval_plan(s, *p, &s->trial_buf, m, secs, s->opts.progress, s->opts.progress_ud, err);
        }
    }
    if (rc) {
        axf_plan_free(*p);
        free(*res);
        *p = NULL;
        *res = NULL;
    }
    return rc;
}

static tentry *trials_push(axf_session *s)
{
    if (s->trials_len == s->trials_cap) {
        s->trials_cap = s->trials_cap ? 2 * s->trials_cap : 16;
        s->trials = axf_xrealloc(s->trials, sizeof *s->trials * (size_t)s->trials_cap);
    }
    return &s->trials[s->trials_len++];
}

/* ---- resuming (axf_session_resume): the record of the interrupted run is re-lived while the
 * policy repeats it ---- */

static int resuming(const axf_session *s)
{
    return s->ff_hist || s->ff_trials;
}

/* Drops what is left of the record: from here on every call is evaluated as usual. */
static void ff_end(axf_session *s)
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
        ff_end(s);
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
        return ff_end(s), 1;
    axf_plan *p = axf_plan_clone(s->plan);
    axf_action *res = axf_xmalloc(sizeof *res * (size_t)(n > 0 ? n : 1));
    int rc = plan_with(s, acts, n, p, res, err);
    const tentry *t = &s->ff_trials[s->ff_ti];
    if (rc == 0 && (t->cursor != s->cursor || !same_actions(t->acts, t->n, res, n))) {
        ff_end(s);
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

int axf_session_try(axf_session *s, const axf_action *acts, int n, const char *note, axf_metrics *out,
                    axf_err *err)
{
    if (resuming(s)) {
        int r = ff_try(s, acts, n, out, err);
        if (r <= 0)
            return r;
    }
    axf_plan *p;
    axf_action *res;
    axf_metrics m;
    double secs;
    int lazy;
    int rc = eval_actions(s, acts, n, 0, &p, &res, &m, &secs, &lazy, err);
    if (rc)
        return rc;
    axf_plan_copy(s->trial_plan, p);
    axf_plan_free(p);
    s->trial_valid = 1;
    s->trial_lazy = 0;
    s->trial_m = m;
    s->trial_seconds = secs;
    tentry *t = trials_push(s);
    t->cursor = s->cursor;
    t->n = n;
    t->acts = res;
    t->note = axf_xstrdup(note ? note : "");
    t->seconds = secs;
    t->m = m;
    s->dirty = 1;
    if (out)
        *out = m;
    return 0;
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

static void hist_push(axf_session *s, const axf_action *res, int n, const char *note, double secs,
                      const axf_metrics *before, const axf_metrics *after)
{
    for (int i = s->cursor; i < s->hist_len; i++)
        axf__hentry_free(&s->hist[i]);
    s->hist_len = s->cursor;
    if (s->hist_len == s->hist_cap) {
        s->hist_cap = s->hist_cap ? 2 * s->hist_cap : 16;
        s->hist = axf_xrealloc(s->hist, sizeof *s->hist * (size_t)s->hist_cap);
    }
    hentry *h = &s->hist[s->hist_len++];
    h->n = n;
    h->acts = axf__dup_actions(res, n);
    h->note = axf_xstrdup(note ? note : "");
    h->seconds = secs;
    h->time = unix_time();
    h->before = *before;
    h->after = *after;
    s->cursor = s->hist_len;
}

/* apply while resuming: 0 the recorded step re-lived, 1 not recorded (the caller evaluates), -1
 * the actions do not apply. The record is followed only on top of the history as it was built
 * (an undo or a redo tail ends it: the original run's final history no longer tells). */
static int ff_apply(axf_session *s, const axf_action *acts, int n, axf_metrics *out, axf_err *err)
{
    if (s->ff_hi >= s->ff_hist_len || s->cursor != s->hist_len || s->hist_len != s->ff_hi)
        return ff_end(s), 1;
    axf_plan *p = axf_plan_clone(s->plan);
    axf_action *res = axf_xmalloc(sizeof *res * (size_t)(n > 0 ? n : 1));
    int rc = plan_with(s, acts, n, p, res, err);
    const hentry *e = &s->ff_hist[s->ff_hi];
    if (rc == 0 && !same_actions(e->acts, e->n, res, n)) {
        ff_end(s);
        rc = 1;
    }
    if (rc == 0) {
        int have = s->trial_valid && !s->trial_lazy && axf_plan_equal(p, s->trial_plan);
        if (s->hist_len == s->hist_cap) {
            s->hist_cap = s->hist_cap ? 2 * s->hist_cap : 16;
            s->hist = axf_xrealloc(s->hist, sizeof *s->hist * (size_t)s->hist_cap);
        }
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

int axf_session_apply(axf_session *s, const axf_action *acts, int n, const char *note, axf_metrics *out,
                      axf_err *err)
{
    if (resuming(s)) {
        int r = ff_apply(s, acts, n, out, err);
        if (r <= 0)
            return r;
    }
    axf_plan *p;
    axf_action *res;
    axf_metrics m;
    double secs;
    int lazy;
    int rc = eval_actions(s, acts, n, 1, &p, &res, &m, &secs, &lazy, err);
    if (rc)
        return rc;
    hist_push(s, res, n, note, secs, &s->cur, &m);
    free(res);
    axf__set_committed(s, p);
    axf_plan_free(p);
    evalbuf_swap(&s->cur_buf, &s->trial_buf);
    s->cur_buf_valid = !lazy; /* a resumed trial's outputs were never computed */
    s->trial_valid = 0;
    s->cur = m;
    s->dirty = 1;
    if (out)
        *out = m;
    return 0;
}

int axf_session_goto(axf_session *s, int cursor, axf_err *err)
{
    if (cursor < 0 || cursor > s->hist_len)
        return axf_err_set(err, "goto: step %d out of range 0..%d", cursor, s->hist_len);
    if (cursor == s->cursor)
        return 0;
    axf_plan *p = axf_plan_clone(s->plan);
    if (axf__rebuild_plan(s, cursor, p, err)) {
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

/* ---- history ---- */

int axf_session_history_len(const axf_session *s)
{
    return s->hist_len;
}

int axf_session_cursor(const axf_session *s)
{
    return s->cursor;
}

int axf_session_history_get(const axf_session *s, int i, axf_history_entry *out)
{
    if (i < 0 || i >= s->hist_len)
        return -1;
    const hentry *h = &s->hist[i];
    out->n_actions = h->n;
    out->actions = h->acts;
    out->note = h->note;
    out->seconds = h->seconds;
    out->time = h->time;
    out->before = h->before;
    out->after = h->after;
    return 0;
}

int axf_session_trials_len(const axf_session *s)
{
    return s->trials_len;
}

int axf_session_trial_get(const axf_session *s, int i, axf_trial_entry *out)
{
    if (i < 0 || i >= s->trials_len)
        return -1;
    const tentry *t = &s->trials[i];
    out->cursor = t->cursor;
    out->n_actions = t->n;
    out->actions = t->acts;
    out->note = t->note;
    out->seconds = t->seconds;
    out->metrics = t->m;
    return 0;
}

/* ---- counters ---- */

void axf_session_counters(const axf_session *s, axf_counters *out)
{
    axf_evalcache_stats st;
    axf_evalcache_stats_get(s->ec, &st);
    memset(out, 0, sizeof *out);
    out->evals = s->evals;
    out->evals_reused = s->evals_reused;
    out->layer_evals = st.layer_evals;
    out->layer_evals_saved = st.layer_evals_saved;
    out->eval_seconds = st.seconds;
    out->cache_bytes = st.bytes;
    out->cache_slots = st.slots;
}

/* ---- held-out split ---- */

int axf_session_set_holdout(axf_session *s, const char *path, axf_err *err)
{
    if (!s->vocab)
        return axf_err_set(err, "%s: this session has no vocabulary (opened from memory)", path);
    char sha[65];
    if (axf_sha256_file(path, sha, err))
        return -1;
    axf_encoded *e = load_split(path, NULL, s->m, s->vocab, s->opts.max_len, 0, NULL, err);
    if (!e)
        return -1;
    axf_evalcache *ec = axf_evalcache_new(s->m, e, s->opts.batch, 0, err);
    if (!ec) {
        axf_err_prefix(err, "%s", path);
        axf_encoded_free(e);
        return -1;
    }
    axf_evalcache_free(s->ho_ec);
    axf_encoded_free(s->ho);
    free(s->ho_l0);
    s->ho = e;
    s->ho_ec = ec;
    s->ho_l0 = NULL;
    s->ho_base_valid = s->ho_cur_valid = 0;
    free(s->holdout_path);
    s->holdout_path = axf_xstrdup(path);
    memcpy(s->holdout_sha, sha, 65);
    return 0;
}

static int holdout_eval(axf_session *s, const axf_plan *p, axf_metrics *out, float *l0_out, axf_err *err)
{
    evalbuf b;
    axf__evalbuf_alloc(&b, s->ho->n, s->m->cfg.num_labels);
    int rc = axf_evalcache_run(s->ho_ec, p, 0, b.logits, b.losses, s->opts.progress, s->opts.progress_ud, err);
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
        int rc = holdout_eval(s, s->orig, &m, l0, err);
        if (rc) {
            free(l0);
            return rc;
        }
        s->ho_l0 = l0;
        m.n_no_worse = m.n;
        s->ho_base = m;
        s->ho_base_valid = 1;
    }
    if (cur && !(s->ho_cur_valid && s->ho_cur_version == s->version)) {
        axf_metrics m;
        int rc = holdout_eval(s, s->plan, &m, NULL, err);
        if (rc)
            return rc;
        s->ho_cur = m;
        s->ho_cur_valid = 1;
        s->ho_cur_version = s->version;
    }
    if (base)
        *base = s->ho_base;
    if (cur)
        *cur = s->ho_cur;
    return 0;
}

/* ---- speed and export ---- */

/* One engine timed over the first max_tokens tokens of the search split. */
typedef struct speed_run {
    axf_engine *e;
    const axf_plan *p;
    double rate[AXF_SPEED_MAX_REPS];
} speed_run;

/* One timed pass: tokens per CPU second of this thread into *rate; the progress callback is asked
 * between batches (nonzero: AXF_CANCELLED). */
static int speed_pass(axf_session *s, speed_run *r, float *lg, double *done, double total, double *rate,
                      axf_err *err)
{
    int nb = axf_evalcache_n_batches(s->ec);
    long tok = 0;
    double cpu = 0;
    for (int b = 0; b < nb && tok < s->opts.speed_tokens; b++) {
        axf_batch bt = axf_evalcache_batch(s->ec, b, NULL);
        double t0 = axf_cpu_now(1);
        if (axf_engine_forward(r->e, r->p, &bt, lg, err))
            return -1;
        cpu += axf_cpu_now(1) - t0;
        tok += bt.n_tok;
        *done += (double)bt.n_tok / s->opts.speed_tokens;
        if (s->opts.progress && s->opts.progress(*done < total ? *done : total, total, s->opts.progress_ud))
            return axf_err_set(err, "cancelled"), AXF_CANCELLED;
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

/* ---- policy bookkeeping ---- */

void axf_session_set_seed(axf_session *s, uint64_t seed)
{
    if (s->seed != seed)
        s->dirty = 1;
    s->seed = seed;
}

uint64_t axf_session_seed(const axf_session *s)
{
    return s->seed;
}

const char *axf_session_policy_name(const axf_session *s)
{
    return s->policy_name;
}

const char *axf_session_policy_sha256(const axf_session *s)
{
    return s->policy_sha;
}

const char *axf_session_policy_params(const axf_session *s)
{
    return s->policy_params;
}

/* ---- snapshot ---- */

void axf_session_snapshot(const axf_session *s, axf_snapshot *o)
{
    memset(o, 0, sizeof *o);
    axf_session_facts(s, &o->facts);
    for (int i = 0; i < s->plan->n_layers; i++) {
        const axf_layer_plan *lp = &s->plan->layers[i];
        axf_layer_view *v = &o->layers[i];
        v->attn_on = lp->attn_on;
        v->ffn_on = lp->ffn_on;
        v->nh = lp->nh;
        for (int h = 0; h < lp->nh; h++)
            v->head_on[h] = lp->attn_on && lp->head_on[h];
        v->f = lp->f;
        v->f_on = axf_plan_neurons_on(lp);
        v->n_groups = s->defs.groups < lp->f ? s->defs.groups : lp->f;
        if (v->n_groups > AXF_MAX_GROUPS)
            v->n_groups = AXF_MAX_GROUPS;
        for (int g = 0; g < v->n_groups; g++)
            v->group_state[g] = (unsigned char)axf_plan_group_state(lp, g, v->n_groups);
        v->hard = lp->attn_on ? lp->hard : AXF_HARD_OFF;
        v->k = lp->k;
        v->threshold = lp->threshold;
        v->int8_attn = lp->attn_on && lp->int8_attn;
        v->int8_ffn = lp->ffn_on && lp->int8_ffn;
    }
    o->baseline = s->base;
    o->current = s->cur;
    o->have_current = 1;
    o->history_len = s->hist_len;
    o->cursor = s->cursor;
    axf_session_counters(s, &o->counters);
    o->dirty = s->dirty;
    snprintf(o->policy, sizeof o->policy, "%s", s->policy_name);
}
