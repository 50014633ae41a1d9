/* Building a search session (from a model and encoded data, or from a model folder and a data
 * file: axf_session_new, axf_session_open; session_json.c loads one from a session file) and
 * freeing it. Split from session.c by job: what changes a built session is there. */
#include "session_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/compact.h"

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
                                const axf_plan *base, const axf_session_opts *opts, axf_err *err)
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
    s->wcur = -1;
    s->wid_next = 1;
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
    s->orig = base ? axf_plan_clone(base) : axf_plan_new(m);
    s->plan = axf_plan_clone(s->orig);
    s->trial_plan = axf_plan_clone(s->orig);
    axf_evalcache_commit(s->ec, s->orig);
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
    return axf__session_build(m, search, NULL, task, NULL, opts, err);
}

/* Reads and encodes a data file for model m with vocabulary v. */
axf_encoded *axf__load_split(const char *path, const char *task, const axf_model *m, const axf_vocab *v,
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
    axf_encoded *e = axf__load_split(data_path, o.task, m, v, o.max_len, o.max_examples, task, err);
    if (!e) {
        axf_vocab_free(v);
        axf_model_free(m);
        return NULL;
    }
    /* an exported model runs with the hard attention its config.json records (axf/compact.h): that is
     * the session's original plan, as `axf eval` of the folder computes it */
    axf_plan *base = axf_plan_load_hard(model_dir, m, err);
    if (!base) {
        axf_encoded_free(e);
        axf_vocab_free(v);
        axf_model_free(m);
        return NULL;
    }
    axf_session *s = axf__session_build(m, e, v, task, axf_plan_is_dense(base) ? NULL : base, &o, err);
    axf_plan_free(base);
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
    free(e->kd);
    free(e->w);
    free(e->wdir);
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
    AXF_FREE(s->hist, s->trials);
    axf__ff_end(s);
    axf_evalcache_free(s->ec);
    axf_evalcache_free(s->cand_ec);
    axf__holdout_drop(s);
    axf_plan_free(s->orig);
    axf_plan_free(s->plan);
    axf_plan_free(s->trial_plan);
    axf__evalbuf_free(&s->cur_buf);
    axf__evalbuf_free(&s->trial_buf);
    AXF_FREE(s->l0, s->model_dir, s->model_dir_use, s->data_path, s->holdout_path, s->saved_path,
             s->policy_name, s->policy_sha, s->policy_params);
    axf__kept_free(s);
    axf_encoded_free(s->enc);
    axf_vocab_free(s->vocab);
    axf_model_free(s->m);
    axf_model_free(s->m0);
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
