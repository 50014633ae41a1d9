/* Session files (format documented in session.h): writing, and loading a file that
 * axf_sessionfile_read has read and validated into a session; the policy's JSON parameters. The
 * cJSON trees never leave this file. Loading builds a brand-new session before anything is
 * returned, so a bad file can never damage a session in use. */
#include "session_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axf/dist.h"
#include "axf/fileio.h"
#include "axf/sessionfile.h"

/* ---- writing ---- */

/* cJSON prints doubles with 15 digits unless that is "close" (within an epsilon), so it can lose
 * the last bit; replay compares at 1e-6 but a round trip should be exact: the shortest of 15..17
 * digits that reads back as the same double. */
static cJSON *exact_number(double v)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(buf);
}

static void add_num(cJSON *o, const char *k, double v)
{
    cJSON_AddItemToObject(o, k, isfinite(v) ? exact_number(v) : cJSON_CreateNull());
}

static void add_num_or_null(cJSON *o, const char *k, double v)
{
    add_num(o, k, v);
}

static cJSON *metrics_json(const axf_metrics *m, const char *metric_name)
{
    cJSON *o = cJSON_CreateObject();
    add_num_or_null(o, "loss", m->loss);
    add_num_or_null(o, "accuracy", m->accuracy);
    add_num_or_null(o, "metric", m->metric);
    cJSON_AddStringToObject(o, "metric_name", metric_name);
    cJSON_AddNumberToObject(o, "n", m->n);
    cJSON_AddNumberToObject(o, "n_no_worse", m->n_no_worse);
    cJSON_AddNumberToObject(o, "params", (double)m->params);
    add_num(o, "flops_per_token", m->flops_per_token);
    cJSON_AddNumberToObject(o, "size_bytes", (double)m->size_bytes);
    return o;
}

static cJSON *action_json(const axf_action *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "op", axf_op_name(a->op));
    cJSON_AddNumberToObject(o, "layer", a->layer);
    switch (a->op) {
    case AXF_OP_DROP_HEAD:
    case AXF_OP_RESTORE_HEAD:
        cJSON_AddNumberToObject(o, "head", a->index);
        break;
    case AXF_OP_DROP_GROUP:
    case AXF_OP_RESTORE_GROUP:
        cJSON_AddNumberToObject(o, "group", a->index);
        cJSON_AddNumberToObject(o, "groups", a->groups);
        break;
    case AXF_OP_DROP_NEURONS:
    case AXF_OP_RESTORE_NEURONS:
        cJSON_AddNumberToObject(o, "neuron", a->index);
        cJSON_AddNumberToObject(o, "count", a->count);
        break;
    case AXF_OP_SET_HARD:
        cJSON_AddStringToObject(o, "mode", axf_hard_mode_name(a->hard));
        cJSON_AddNumberToObject(o, "k", a->k);
        add_num(o, "threshold", (double)a->threshold);
        break;
    case AXF_OP_QUANTIZE:
    case AXF_OP_DEQUANTIZE:
        cJSON_AddStringToObject(o, "block", axf_block_name(a->block));
        break;
    default:
        break;
    }
    return o;
}

static cJSON *actions_json(const axf_action *a, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, action_json(&a[i]));
    return arr;
}

static cJSON *str_or_null(const char *s)
{
    return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static int replaced_here(const axf_session *s, const char *path)
{
    axf_file_id now;
    return s->saved_path && !strcmp(s->saved_path, path) && axf_io_file_id(path, &now) == 0 &&
           !axf_io_file_id_same(&now, &s->saved_id);
}

int axf_session_replaced(const axf_session *s, const char *path)
{
    if (axf_dist_size() < 2)
        return replaced_here(s, path);
    int r = axf_dist_rank() == 0 ? replaced_here(s, path) : 0; /* rank 0 alone writes */
    axf_dist_bcast(&r, sizeof r, "checking the session file");
    return r;
}

/* The model, data, held-out split, options, policy and seed a session was made with. */
static void add_setup(cJSON *r, const axf_session *s)
{
    const axf_config *c = &s->m->cfg;
    cJSON *jm = cJSON_AddObjectToObject(r, "model");
    cJSON_AddItemToObject(jm, "dir", str_or_null(s->model_dir));
    cJSON_AddStringToObject(jm, "sha256", s->model_sha);
    cJSON_AddNumberToObject(jm, "layers", c->n_layers);
    cJSON_AddNumberToObject(jm, "hidden", c->hidden);
    cJSON_AddNumberToObject(jm, "heads", c->n_heads);
    cJSON_AddNumberToObject(jm, "ffn", c->ffn);
    cJSON *lh = cJSON_AddArrayToObject(jm, "layer_heads"), *lf = cJSON_AddArrayToObject(jm, "layer_ffn");
    for (int i = 0; i < c->n_layers; i++) {
        cJSON_AddItemToArray(lh, cJSON_CreateNumber(c->layer_heads[i]));
        cJSON_AddItemToArray(lf, cJSON_CreateNumber(c->layer_ffn[i]));
    }

    cJSON *jd = cJSON_AddObjectToObject(r, "data");
    cJSON_AddItemToObject(jd, "path", str_or_null(s->data_path));
    cJSON_AddStringToObject(jd, "sha256", s->data_sha);
    cJSON_AddStringToObject(jd, "task", s->task);
    cJSON_AddNumberToObject(jd, "n", s->enc->n);
    cJSON_AddNumberToObject(jd, "max_len", s->opts.max_len);
    cJSON_AddNumberToObject(jd, "max_examples", s->opts.max_examples);

    if (s->holdout_path[0]) {
        cJSON *jh = cJSON_AddObjectToObject(r, "holdout");
        cJSON_AddStringToObject(jh, "path", s->holdout_path);
        cJSON_AddStringToObject(jh, "sha256", s->holdout_sha);
    } else {
        cJSON_AddNullToObject(r, "holdout");
    }

    cJSON *jo = cJSON_AddObjectToObject(r, "options");
    cJSON_AddNumberToObject(jo, "batch", s->opts.batch);
    cJSON_AddNumberToObject(jo, "groups", s->defs.groups);
    cJSON_AddNumberToObject(jo, "hard_k", s->defs.k);
    add_num(jo, "hard_threshold", (double)s->defs.threshold);

    if (s->policy_name[0] || s->policy_sha[0] || strcmp(s->policy_params, "{}")) {
        cJSON *jp = cJSON_AddObjectToObject(r, "policy");
        cJSON_AddStringToObject(jp, "name", s->policy_name);
        cJSON_AddStringToObject(jp, "sha256", s->policy_sha);
        cJSON *params = cJSON_Parse(s->policy_params);
        cJSON_AddItemToObject(jp, "params", params ? params : cJSON_CreateObject());
    } else {
        cJSON_AddNullToObject(r, "policy");
    }
    char seed[32]; /* a string: JSON numbers lose uint64 precision */
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
    cJSON_AddStringToObject(r, "seed", seed);
}

static cJSON *distil_json(const axf_distil_record *k)
{
    cJSON *o = cJSON_CreateObject();
    char seed[24];
    cJSON_AddStringToObject(o, "train", k->train);
    cJSON_AddStringToObject(o, "train_sha256", k->train_sha);
    add_num(o, "alpha", k->alpha);
    add_num(o, "temperature", k->temperature);
    add_num(o, "match_hidden", k->hid_weight);
    cJSON_AddNumberToObject(o, "epochs", k->epochs);
    cJSON_AddNumberToObject(o, "steps", (double)k->steps);
    cJSON_AddNumberToObject(o, "batch", k->batch);
    add_num(o, "lr", k->lr);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)k->seed);
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddNumberToObject(o, "eval_every", k->eval_every);
    cJSON_AddNumberToObject(o, "patience", k->patience);
    cJSON_AddNumberToObject(o, "examples", k->examples);
    cJSON_AddNumberToObject(o, "steps_run", (double)k->steps_run);
    cJSON_AddNumberToObject(o, "best_step", (double)k->best_step);
    cJSON_AddStringToObject(o, "weights", k->weights);
    cJSON_AddStringToObject(o, "sha256", k->sha);
    return o;
}

/* The baseline, the cursor, the history and the trial journal. */
static void add_record(cJSON *r, const axf_session *s)
{
    cJSON_AddItemToObject(r, "baseline", metrics_json(&s->rec_base, s->metric_name));
    cJSON_AddNumberToObject(r, "cursor", s->cursor);
    cJSON *jhist = cJSON_AddArrayToObject(r, "history");
    for (int i = 0; i < s->hist_len; i++) {
        const hentry *h = &s->hist[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToObject(e, "actions", actions_json(h->acts, h->n));
        if (h->kd)
            cJSON_AddItemToObject(e, "distil", distil_json(h->kd));
        cJSON_AddStringToObject(e, "note", h->note);
        add_num(e, "seconds", h->seconds);
        add_num(e, "time", h->time);
        cJSON_AddItemToObject(e, "before", metrics_json(&h->before, s->metric_name));
        cJSON_AddItemToObject(e, "after", metrics_json(&h->after, s->metric_name));
        cJSON_AddItemToArray(jhist, e);
    }
    cJSON *jt = cJSON_AddArrayToObject(r, "trials");
    for (int i = 0; i < s->trials_len; i++) {
        const tentry *t = &s->trials[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "cursor", t->cursor);
        cJSON_AddItemToObject(e, "actions", actions_json(t->acts, t->n));
        cJSON_AddStringToObject(e, "note", t->note);
        add_num(e, "seconds", t->seconds);
        cJSON_AddItemToObject(e, "metrics", metrics_json(&t->m, s->metric_name));
        cJSON_AddItemToArray(jt, e);
    }
}

static int save_file(axf_session *s, const char *path, axf_err *err)
{
    if (replaced_here(s, path))
        return axf_err_set(err, "%s: replaced by another writer after this session saved it there "
                                "(%d step%s); not overwritten (two runs writing the same file?)",
                           path, s->saved_steps, s->saved_steps == 1 ? "" : "s");
    /* the distil steps' weights first: the file then never names a folder that is not there */
    if (axf__save_distil(s, path, err))
        return axf_err_prefix(err, "%s", path);
    int distils = 0;
    for (int i = 0; i < s->hist_len; i++)
        distils += s->hist[i].kd != NULL;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "format", "axf-session");
    /* a file without distil steps is a version 1 file, which older readers read */
    cJSON_AddNumberToObject(r, "version", distils ? AXF_SESSION_VERSION : 1);
    cJSON_AddStringToObject(r, "axf_version", AXF_VERSION);
    add_setup(r, s);
    add_record(r, s);

    char *text = cJSON_Print(r);
    cJSON_Delete(r);
    if (!text)
        return axf_err_set(err, "%s: out of memory while formatting the session", path);
    size_t n = strlen(text);
    text = axf_xrealloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = 0;
    axf_file_id id;
    int rc = axf_io_write_atomic_id(path, text, n + 1, &id, err);
    free(text);
    if (rc == 0) {
        s->dirty = 0;
        free(s->saved_path);
        s->saved_path = axf_xstrdup(path);
        s->saved_id = id;
        s->saved_steps = s->hist_len;
    }
    return rc;
}

int axf_session_save(axf_session *s, const char *path, axf_err *err)
{
    if (axf_dist_size() < 2)
        return save_file(s, path, err);
    /* Over MPI rank 0 alone writes (the ranks hold the same session); all learn how it went. */
    struct {
        int rc;
        axf_err e;
    } st;
    memset(&st, 0, sizeof st);
    if (axf_dist_rank() == 0)
        st.rc = save_file(s, path, &st.e);
    axf_dist_bcast(&st, sizeof st, "saving the session");
    if (st.rc)
        return axf_err_set(err, "%s", st.e.msg);
    s->dirty = 0;
    return 0;
}

/* ---- reading (the file itself: axf/sessionfile.h) ---- */

/* A recorded relative path is tried from the current directory, then from the session's folder. */
static char *resolve(const char *recorded, const char *session_path)
{
    struct stat st;
    if (recorded[0] == '/' || stat(recorded, &st) == 0)
        return axf_xstrdup(recorded);
    const char *slash = strrchr(session_path, '/');
    if (!slash)
        return axf_xstrdup(recorded);
    size_t dl = (size_t)(slash - session_path);
    char *dir = axf_xmalloc(dl + 1);
    memcpy(dir, session_path, dl);
    dir[dl] = 0;
    char *p = axf_io_join(dir, recorded);
    free(dir);
    if (stat(p, &st) == 0)
        return p;
    free(p);
    return axf_xstrdup(recorded);
}

/* Moves the file's steps and trials into session entries (ownership passes; f keeps none). */
static void take_entries(axf_sessionfile *f, hentry **hist, tentry **trials)
{
    *hist = f->n_steps ? axf_xcalloc((size_t)f->n_steps, sizeof **hist) : NULL;
    for (int i = 0; i < f->n_steps; i++) {
        axf_sessionfile_step *st = &f->steps[i];
        (*hist)[i] = (hentry){st->n_actions, st->actions, st->note, st->seconds, st->time, st->before, st->after,
                              st->distil, NULL, 0, NULL};
        st->actions = NULL;
        st->note = NULL;
        st->distil = NULL;
    }
    *trials = f->n_trials ? axf_xcalloc((size_t)f->n_trials, sizeof **trials) : NULL;
    for (int i = 0; i < f->n_trials; i++) {
        axf_sessionfile_trial *t = &f->trials[i];
        (*trials)[i] = (tentry){t->cursor, t->n_actions, t->actions, t->note, t->seconds, t->metrics};
        t->actions = NULL;
        t->note = NULL;
    }
}

/* The model folder and the data file are those the session was made on (sha256). */
static int check_files(const char *path, const axf_sessionfile *p, const char *mdir, const char *dpath, axf_err *err)
{
    char sha[65];
    char *st = axf_model_weights_path(mdir);
    int bad = axf_sha256_file(st, sha, err);
    if (!bad && strcmp(sha, p->model_sha))
        bad = axf_err_set(err, "%s: made for another model: %s has sha256 %.12s..., the session expects %.12s...",
                          path, st, sha, p->model_sha);
    free(st);
    if (bad || axf_sha256_file(dpath, sha, err))
        return -1;
    if (strcmp(sha, p->data_sha))
        return axf_err_set(err, "%s: made on other data: %s has sha256 %.12s..., the session expects %.12s...",
                           path, dpath, sha, p->data_sha);
    return 0;
}

/* The session opened from the files agrees with the file: examples, layers, the metric, and every
 * history step applies on top of its predecessors (the steps are stored resolved). */
static int check_fits(const char *path, axf_sessionfile *p, const axf_session *s, axf_err *err)
{
    if (s->enc->n != p->n || s->m->cfg.n_layers != p->layers)
        return axf_err_set(err, "%s: the session has %d examples and %d layers, the files give %d and %d", path,
                           p->n, p->layers, s->enc->n, s->m->cfg.n_layers);
    if (strcmp(p->metric_name, s->metric_name))
        return axf_err_set(err, "%s: baseline.metric_name: '%s', but task %s is scored by %s", path,
                           p->metric_name, s->task, s->metric_name);
    axf_plan *tmp = axf_plan_clone(s->orig);
    for (int i = 0; i < p->n_steps; i++)
        for (int k = 0; k < p->steps[i].n_actions; k++)
            if (axf_plan_apply(tmp, &p->steps[i].actions[k], &s->defs, &p->steps[i].actions[k], err)) {
                axf_err_prefix(err, "%s: history step %d", path, i + 1);
                axf_plan_free(tmp);
                return -1;
            }
    axf_plan_free(tmp);
    return 0;
}

/* The held-out split: holdout_path when given, else the one the file records when it is still
 * there (its sha256 checked; missing: a warning and none). *hpath receives the path used. */
static int open_holdout(const char *path, const axf_sessionfile *p, const char *holdout_path, axf_session *s,
                        char **hpath, axf_err *err)
{
    if (!p->holdout_path[0] && !holdout_path)
        return 0;
    *hpath = holdout_path ? axf_xstrdup(holdout_path) : resolve(p->holdout_path, path);
    struct stat sb;
    if (!holdout_path && stat(*hpath, &sb) != 0) {
        axf_log(2, "%s: held-out data %s not found; continuing without it", path, *hpath);
        return 0;
    }
    if (axf_session_set_holdout(s, *hpath, err))
        return axf_err_prefix(err, "%s: held-out data", path);
    if (!holdout_path && strcmp(s->holdout_sha, p->holdout_sha))
        return axf_err_set(err, "%s: held-out data %s differs from the one the session recorded (sha256)", path,
                           *hpath);
    return 0;
}

/* Moves the file's history, trials, cursor, policy and paths into s (nothing here can fail). */
static void install(axf_session *s, axf_sessionfile *p, const char *model_dir, const char *data_path,
                    const char *holdout_path)
{
    axf_err err;
    take_entries(p, &s->hist, &s->trials);
    s->hist_len = s->hist_cap = p->n_steps;
    s->trials_len = s->trials_cap = p->n_trials;
    s->rec_base = p->baseline;
    axf_plan *cp = axf_plan_clone(s->orig);
    axf__rebuild_plan(s, p->cursor, cp, &err);
    axf__set_committed(s, cp);
    axf_plan_free(cp);
    s->cursor = p->cursor;
    if (p->cursor > 0) {
        s->cur = s->hist[p->cursor - 1].after;
        s->cur_buf_valid = 0;
    }
    AXF_FREE(s->policy_name, s->policy_sha, s->policy_params);
    s->policy_name = p->policy_name;
    s->policy_sha = p->policy_sha;
    s->policy_params = p->policy_params;
    p->policy_name = p->policy_sha = p->policy_params = NULL;
    s->seed = p->seed;
    s->dirty = 0;
    free(s->model_dir);
    free(s->data_path);
    s->model_dir = axf_xstrdup(model_dir ? model_dir : p->model_dir);
    s->data_path = axf_xstrdup(data_path ? data_path : p->data_path);
    if (!holdout_path && p->holdout_path[0] && s->ho) {
        free(s->holdout_path);
        s->holdout_path = axf_xstrdup(p->holdout_path);
    }
}

axf_session *axf_session_load(const char *path, const char *model_dir, const char *data_path,
                              const char *holdout_path, const axf_session_opts *opts, axf_err *err)
{
    axf_sessionfile p;
    if (axf_sessionfile_read(path, &p, err))
        return NULL;
    axf_session *s = NULL;
    char *mdir = NULL, *dpath = NULL, *hpath = NULL;
    if (!model_dir && !p.model_dir[0]) {
        axf_err_set(err, "%s: the session was made on an in-memory model; give the model folder", path);
        goto fail;
    }
    if (!data_path && !p.data_path[0]) {
        axf_err_set(err, "%s: the session was made on in-memory data; give the data file", path);
        goto fail;
    }
    mdir = model_dir ? axf_xstrdup(model_dir) : resolve(p.model_dir, path);
    dpath = data_path ? axf_xstrdup(data_path) : resolve(p.data_path, path);
    if (check_files(path, &p, mdir, dpath, err))
        goto fail;
    axf_session_opts o = opts ? *opts : axf_session_opts_default();
    o.max_len = p.max_len;
    o.max_examples = p.max_examples;
    o.task = p.task;
    o.batch = p.batch;
    o.groups = p.groups;
    o.hard_k = p.hard_k;
    o.hard_threshold = p.hard_threshold;
    s = axf_session_open(mdir, dpath, &o, err);
    if (!s) {
        axf_err_prefix(err, "%s", path);
        goto fail;
    }
    if (check_fits(path, &p, s, err) || open_holdout(path, &p, holdout_path, s, &hpath, err))
        goto fail;
    install(s, &p, model_dir, data_path, holdout_path);
    for (int i = 0; i < s->hist_len; i++) /* the distil steps' weights, checked (session_distil.c) */
        if (s->hist[i].kd && axf__load_distil(s, path, i, err))
            goto fail;
    if (axf__use_weights(s, s->cursor, err)) {
        axf_err_prefix(err, "%s", path);
        goto fail;
    }
    s->dirty = 0;
    axf_sessionfile_free(&p);
    AXF_FREE(mdir, dpath, hpath);
    return s;
fail:
    axf_session_free(s);
    axf_sessionfile_free(&p);
    AXF_FREE(mdir, dpath, hpath);
    return NULL;
}

/* ---- policy ---- */

int axf_session_set_policy(axf_session *s, const char *name, const char *sha256, const char *params_json,
                           axf_err *err)
{
    char *params;
    if (params_json) {
        cJSON *j = cJSON_Parse(params_json);
        if (!j || !cJSON_IsObject(j)) {
            cJSON_Delete(j);
            return axf_err_set(err, "policy parameters: not a JSON object");
        }
        params = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
    } else {
        params = axf_xstrdup("{}");
    }
    AXF_FREE(s->policy_name, s->policy_sha, s->policy_params);
    s->policy_name = axf_xstrdup(name ? name : "");
    s->policy_sha = axf_xstrdup(sha256 ? sha256 : "");
    s->policy_params = params;
    s->dirty = 1;
    return 0;
}
