/* Distillation as a history step (session.h, "Distillation as a history step"): the run, the
 * weights that follow the cursor, and their folders beside the session file. */
#include "session_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axf/compact.h"
#include "axf/dist.h"
#include "axf/train.h"

axf_session_distil_opts axf_session_distil_opts_default(void)
{
    axf_distill_opts d = axf_distill_opts_default();
    axf_train_opts t = axf_train_opts_default();
    return (axf_session_distil_opts){.alpha = d.alpha, .temperature = d.temperature, .hid_weight = d.hid_weight,
                                     .epochs = t.epochs, .batch = t.batch_size, .lr = t.lr, .seed = t.seed};
}

/* ---- the weights in force ---- */

static int rebuild_caches(axf_session *s, axf_err *err)
{
    axf_evalcache *ec = axf_evalcache_new(s->m, s->enc, s->opts.batch, s->opts.cache_bytes, err), *hec = NULL;
    if (!ec)
        return -1;
    if (s->ho && !(hec = axf_evalcache_new(s->m, s->ho, s->opts.batch, 0, err))) {
        axf_evalcache_free(ec);
        return -1;
    }
    axf_evalcache_stats st; /* the counters since open go on (axf_session_counters) */
    axf_evalcache_stats_get(s->ec, &st);
    s->ec_past.layer_evals += st.layer_evals;
    s->ec_past.layer_evals_saved += st.layer_evals_saved;
    s->ec_past.seconds += st.seconds;
    if (s->cand_ec) {
        axf_evalcache_stats_get(s->cand_ec, &st);
        s->ec_past.seconds += st.seconds;
    }
    axf_evalcache_free(s->ec);
    s->ec = ec;
    axf_evalcache_commit(s->ec, s->plan);
    if (s->ho) {
        axf_evalcache_free(s->ho_ec);
        s->ho_ec = hec;
    }
    axf_evalcache_free(s->cand_ec);
    s->cand_ec = NULL;
    s->cand_fits = 0;
    return 0;
}

/* The history index of the last distil step before cursor (-1: none). */
static int distil_before(const axf_session *s, int cursor)
{
    for (int i = cursor - 1; i >= 0; i--)
        if (s->hist[i].kd)
            return i;
    return -1;
}

static const float *weights_of(const axf_session *s, int idx)
{
    return idx < 0 ? (s->m0 ? s->m0->arena : s->m->arena) : s->hist[idx].w;
}

/* Puts weights w (id wid, history index idx) into m. */
static int put_weights(axf_session *s, const float *w, unsigned wid, int idx, axf_err *err)
{
    if (wid == s->wid)
        return 0;
    const float *old = weights_of(s, s->wcur);
    unsigned old_wid = s->wid;
    if (!s->m0)
        s->m0 = axf_model_clone(s->m, NULL); /* the original, before m first changes */
    memcpy(s->m->arena, w, s->m->n_floats * sizeof(float));
    if (rebuild_caches(s, err)) {
        memcpy(s->m->arena, old, s->m->n_floats * sizeof(float));
        s->wid = old_wid;
        return -1;
    }
    s->wid = wid;
    s->wcur = idx;
    s->cur_buf_valid = 0;
    s->trial_valid = 0;
    return 0;
}

int axf__use_weights(axf_session *s, int cursor, axf_err *err)
{
    int idx = distil_before(s, cursor);
    return put_weights(s, weights_of(s, idx), idx < 0 ? 0 : s->hist[idx].wid, idx, err);
}

/* The training's progress through the session's callback (a distil step without its own):
 * steps done of all, nonzero to cancel. */
static int session_progress(const axf_train_status *st, void *ud)
{
    axf_session *s = ud;
    return s->opts.progress ? s->opts.progress((double)st->step, (double)(st->total_steps > 0 ? st->total_steps : 1),
                                               s->opts.progress_ud)
                            : 0;
}

/* ---- the run ---- */

/* The training file encoded for the session, without the examples whose encoding equals a search
 * example's. */
static axf_encoded *load_train(axf_session *s, const char *path, int *examples, axf_err *err)
{
    axf_encoded *e = axf__load_split(path, s->task, s->m, s->vocab, s->opts.max_len, 0, NULL, err);
    if (!e)
        return NULL;
    const axf_encoded *q = s->enc;
    /* search examples by (length, first token, last token) in a sorted key list, then compared whole */
    int nq = q->n;
    long long *key = axf_xmalloc(sizeof *key * (size_t)(nq + 1));
    for (int i = 0; i < nq; i++) {
        int lo = q->off[i], len = q->off[i + 1] - lo;
        unsigned long long h = 1469598103934665603ull;
        for (int t = 0; t < len; t++)
            h = (h ^ (unsigned)q->ids[lo + t] ^ ((unsigned long long)q->types[lo + t] << 32)) * 1099511628211ull;
        key[i] = (long long)(h >> 1);
    }
    int kept = 0;
    int *keep = axf_xmalloc(sizeof *keep * (size_t)(e->n + 1));
    for (int j = 0; j < e->n; j++) {
        int lo = e->off[j], len = e->off[j + 1] - lo, same = 0;
        unsigned long long h = 1469598103934665603ull;
        for (int t = 0; t < len; t++)
            h = (h ^ (unsigned)e->ids[lo + t] ^ ((unsigned long long)e->types[lo + t] << 32)) * 1099511628211ull;
        for (int i = 0; i < nq && !same; i++) {
            int qlo = q->off[i];
            same = key[i] == (long long)(h >> 1) && q->off[i + 1] - qlo == len &&
                   !memcmp(q->ids + qlo, e->ids + lo, sizeof(int) * (size_t)len) &&
                   !memcmp(q->types + qlo, e->types + lo, sizeof(int) * (size_t)len);
        }
        if (!same)
            keep[kept++] = j;
    }
    free(key);
    if (kept < 2) {
        free(keep);
        axf_encoded_free(e);
        axf_err_set(err, "%s: fewer than 2 training examples outside the search split", path);
        return NULL;
    }
    /* compact in place: kept examples move down, in order */
    int tok = 0;
    int *off = axf_xmalloc(sizeof *off * (size_t)(kept + 1));
    off[0] = 0;
    for (int k = 0; k < kept; k++) {
        int j = keep[k], lo = e->off[j], len = e->off[j + 1] - lo;
        memmove(e->ids + tok, e->ids + lo, sizeof(int) * (size_t)len);
        memmove(e->types + tok, e->types + lo, sizeof(int) * (size_t)len);
        if (e->labels)
            e->labels[k] = e->labels[j];
        if (e->targets)
            e->targets[k] = e->targets[j];
        tok += len;
        off[k + 1] = tok;
    }
    memcpy(e->off, off, sizeof *off * (size_t)(kept + 1));
    free(off);
    free(keep);
    e->n = kept;
    *examples = kept;
    return e;
}

/* The plan a distil step's student is compacted with: p without its int8 flags (embeddings too). */
static axf_plan *float_plan(const axf_plan *p)
{
    axf_plan *f = axf_plan_clone(p);
    for (int l = 0; l < f->n_layers; l++)
        f->layers[l].int8_attn = f->layers[l].int8_ffn = 0;
    f->int8_embed = 0; /* the student trains the float32 table; the step's plan quantizes it again */
    return f;
}

/* Runs kd's distillation on plan p from weights w_before into *w_out (the whole model's arena).
 * check: compare the training file and the student's sha256 with kd (a recorded step re-made);
 * else fill them in. */
static int make_weights(axf_session *s, const axf_plan *p, const float *w_before, axf_distil_record *kd, int check,
                        int (*fn)(const axf_train_status *, void *), void *ud, float **w_out, axf_err *err)
{
    *w_out = NULL;
    char sha[65];
    if (axf_sha256_file(kd->train, sha, err))
        return -1;
    if (check && strcmp(sha, kd->train_sha))
        return axf_err_set(err, "%s: differs from the training file the distil step recorded (sha256 %.12s..., "
                                "recorded %.12s...)", kd->train, sha, kd->train_sha);
    memcpy(kd->train_sha, sha, 65);
    int examples = 0, rc = -1;
    axf_encoded *etrain = load_train(s, kd->train, &examples, err);
    if (!etrain)
        return -1;
    axf_model *full = axf_model_clone(s->m, NULL), *student = NULL;
    memcpy(full->arena, w_before, full->n_floats * sizeof(float));
    axf_plan *pf = float_plan(p), *hard = NULL;
    const axf_model *teacher = s->m0 ? s->m0 : s->m;
    if (!(student = axf_compact(full, pf, &hard, err)))
        goto out;
    axf_train_opts t = axf_train_opts_default();
    t.epochs = kd->epochs;
    t.max_steps = kd->steps;
    t.batch_size = kd->batch;
    t.lr = kd->lr;
    t.seed = kd->seed;
    t.eval_every = kd->eval_every;
    t.patience = kd->patience;
    t.save_last = 0;
    t.plan = hard;
    axf_distill_opts d = {.alpha = kd->alpha, .temperature = kd->temperature, .hid_weight = kd->hid_weight};
    axf_train_result res;
    memset(&res, 0, sizeof res);
    /* the teacher is only read: its logits once, and its hidden states with hid_weight */
    if (axf_distill_run(student, (axf_model *)teacher, s->orig, etrain, s->enc, &d, &t, NULL, NULL, fn, ud, &res,
                        err))
        goto out;
    if (res.cancelled) {
        axf_err_set(err, "cancelled");
        rc = AXF_CANCELLED;
        goto out;
    }
    axf_sha256_buf(student->arena, student->n_floats * sizeof(float), sha);
    if (check && strcmp(sha, kd->sha)) {
        axf_err_set(err, "the recorded distillation re-made weights with sha256 %.12s..., the step recorded "
                         "%.12s...", sha, kd->sha);
        goto out;
    }
    memcpy(kd->sha, sha, 65);
    if (axf_compact_scatter(full, pf, student, err))
        goto out;
    kd->examples = examples;
    kd->steps_run = res.steps;
    kd->best_step = res.best_step;
    *w_out = axf_xmalloc(full->n_floats * sizeof(float));
    memcpy(*w_out, full->arena, full->n_floats * sizeof(float));
    rc = 0;
out:
    axf_model_free(student);
    axf_model_free(full);
    axf_plan_free(pf);
    axf_plan_free(hard);
    axf_encoded_free(etrain);
    return rc;
}

static int check_opts(const axf_session *s, const axf_session_distil_opts *o, axf_err *err)
{
    if (axf_dist_size() > 1)
        return axf_err_set(err, "distil: not supported over MPI");
    if (!s->vocab)
        return axf_err_set(err, "distil: this session has no vocabulary (opened from memory)");
    if (!o || !o->train || !o->train[0])
        return axf_err_set(err, "distil: a training file is required (train=FILE)");
    if (strlen(o->train) >= sizeof ((axf_distil_record *)0)->train)
        return axf_err_set(err, "distil: training file name too long");
    if (!(o->alpha >= 0 && o->alpha <= 1))
        return axf_err_set(err, "distil: alpha must be in 0..1 (got %g)", (double)o->alpha);
    if (!(o->temperature >= 0.01f && o->temperature <= 100))
        return axf_err_set(err, "distil: the temperature must be in 0.01..100 (got %g)", (double)o->temperature);
    if (!(o->hid_weight >= 0 && o->hid_weight <= 1000))
        return axf_err_set(err, "distil: match_hidden must be in 0..1000 (got %g)", (double)o->hid_weight);
    if (o->steps < 0 || (o->steps == 0 && o->epochs < 1) || o->epochs < 0)
        return axf_err_set(err, "distil: steps must be >= 1, or epochs >= 1 with steps 0");
    if (o->batch < 1 || o->batch > 100000)
        return axf_err_set(err, "distil: batch must be in 1..100000 (got %d)", o->batch);
    if (!(o->lr > 0 && o->lr < 1))
        return axf_err_set(err, "distil: lr must be in (0, 1) (got %g)", (double)o->lr);
    if (o->eval_every < 0 || o->patience < 0)
        return axf_err_set(err, "distil: eval_every and patience must be >= 0");
    return 0;
}

int axf_session_distil(axf_session *s, const axf_session_distil_opts *o, const char *note, axf_metrics *out,
                       axf_err *err)
{
    if (check_opts(s, o, err))
        return -1;
    axf_distil_record *kd = axf_xcalloc(1, sizeof *kd);
    snprintf(kd->train, sizeof kd->train, "%s", o->train);
    kd->alpha = o->alpha;
    kd->temperature = o->temperature;
    kd->hid_weight = o->hid_weight;
    kd->epochs = o->epochs;
    kd->steps = o->steps;
    kd->batch = o->batch;
    kd->lr = o->lr;
    kd->seed = o->seed;
    kd->eval_every = o->eval_every;
    kd->patience = o->patience;
    float *w = NULL;
    int rc = o->progress ? make_weights(s, s->plan, weights_of(s, s->wcur), kd, 0, o->progress, o->progress_ud, &w, err)
                         : make_weights(s, s->plan, weights_of(s, s->wcur), kd, 0, session_progress, s, &w, err);
    if (rc) {
        free(kd);
        return rc;
    }
    /* the step's metrics with the new weights; on failure the old ones come back */
    unsigned prev_wid = s->wid, wid = s->wid_next++;
    int prev_idx = s->wcur;
    if (put_weights(s, w, wid, s->cursor, err)) {
        free(kd);
        free(w);
        return -1;
    }
    axf_metrics m;
    double secs;
    rc = axf__eval_plan(s, s->plan, &s->trial_buf, &m, &secs, s->opts.progress, s->opts.progress_ud, err);
    if (rc) {
        axf_err e2;
        s->wcur = prev_idx;
        put_weights(s, weights_of(s, prev_idx), prev_wid, prev_idx, &e2);
        free(kd);
        free(w);
        return rc;
    }
    if (axf_session_resume_left(s, NULL, NULL))
        axf__ff_end(s); /* a distil step departs from the record of an interrupted run */
    axf_action none;
    memset(&none, 0, sizeof none);
    hentry *h = axf__hist_push(s, &none, 0, note, secs, &s->cur, &m);
    h->kd = kd;
    h->w = w;
    h->wid = wid;
    s->wcur = s->cursor - 1;
    evalbuf t = s->cur_buf;
    s->cur_buf = s->trial_buf;
    s->trial_buf = t;
    s->cur_buf_valid = 1;
    s->trial_valid = 0;
    s->cur = m;
    s->dirty = 1;
    if (out)
        *out = m;
    return 0;
}

/* ---- descriptions ---- */

void axf_history_describe(const axf_history_entry *h, const char *sep, char *buf, size_t n)
{
    if (h->distil)
        snprintf(buf, n, "distil (alpha %g, T %g, %ld steps, best %ld)", (double)h->distil->alpha,
                 (double)h->distil->temperature, h->distil->steps_run, h->distil->best_step);
    else
        axf_actions_describe(h->actions, h->n_actions, sep, buf, n);
}

void axf__step_what(const axf_session *s, int i, const char *label, char *buf, size_t n)
{
    char d[160] = "?";
    axf_history_entry h;
    if (axf_session_history_get(s, i, &h) == 0)
        axf_history_describe(&h, " + ", d, sizeof d);
    snprintf(buf, n, "%s %d (%s)", label, i + 1, d);
}

/* ---- folders beside the session file ---- */

static char *folder_for(const char *path, int i)
{
    size_t n = strlen(path) + 32;
    char *d = axf_xmalloc(n);
    snprintf(d, n, "%s.distil-%d", path, i + 1);
    return d;
}

/* The sha256 of the weights in dir (0), or -1 when they cannot be read. */
static int folder_sha(const char *dir, axf_model **out, char sha[65], axf_err *err)
{
    axf_model *m = axf_model_load(dir, err);
    if (!m)
        return -1;
    axf_sha256_buf(m->arena, m->n_floats * sizeof(float), sha);
    if (out)
        *out = m;
    else
        axf_model_free(m);
    return 0;
}

/* Removes a folder of plain files (a student folder); quiet when it is not there. */
static void remove_folder(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = axf_io_join(dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

static int write_folder(axf_session *s, int i, const char *dir, axf_err *err)
{
    const hentry *h = &s->hist[i];
    axf_plan *p = axf_plan_clone(s->orig), *pf = NULL, *hard = NULL;
    axf_model *full = NULL, *student = NULL;
    int rc = -1;
    if (axf__rebuild_plan(s, i, p, err))
        goto out;
    pf = float_plan(p);
    full = axf_model_clone(s->m, NULL);
    memcpy(full->arena, h->w, full->n_floats * sizeof(float));
    if (!(student = axf_compact(full, pf, &hard, err)))
        goto out;
    size_t n = strlen(dir) + 32;
    char *tmp = axf_xmalloc(n), *old = axf_xmalloc(n);
    snprintf(tmp, n, "%s.tmp-%ld", dir, (long)getpid());
    snprintf(old, n, "%s.old-%ld", dir, (long)getpid());
    remove_folder(tmp);
    struct stat st;
    if (axf_compact_save(student, hard, tmp, s->model_dir_use[0] ? s->model_dir_use : NULL, err) == 0) {
        int had = stat(dir, &st) == 0;
        if ((had && rename(dir, old)) || rename(tmp, dir))
            axf_err_set(err, "%s: cannot put the distilled weights in place", dir);
        else
            rc = 0;
        if (had)
            remove_folder(old);
    }
    if (rc)
        remove_folder(tmp);
    free(tmp);
    free(old);
out:
    axf_plan_free(p);
    axf_plan_free(pf);
    axf_plan_free(hard);
    axf_model_free(full);
    axf_model_free(student);
    return rc;
}

/* Folders "<base>.distil-N" in the session's folder whose step N is no longer a distil step (a
 * redo tail replaced, an undone step dropped): removed, so that none holds stale weights. */
static void remove_stale(const axf_session *s, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = slash ? axf_xstrdup(path) : axf_xstrdup(".");
    if (slash)
        dir[slash - path] = 0;
    DIR *d = opendir(slash && slash == path ? "/" : dir);
    size_t bl = strlen(base);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *nm = e->d_name, *tail = nm + bl;
        if (strncmp(nm, base, bl) || strncmp(tail, ".distil-", 8))
            continue;
        char *end;
        long k = strtol(tail + 8, &end, 10);
        if (*end || k < 1 || (k <= s->hist_len && s->hist[k - 1].kd))
            continue;
        char *p = axf_io_join(slash && slash == path ? "/" : dir, nm);
        remove_folder(p);
        free(p);
    }
    if (d)
        closedir(d);
    free(dir);
}

int axf__save_distil(axf_session *s, const char *path, axf_err *err)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (int i = 0; i < s->hist_len; i++) {
        hentry *h = &s->hist[i];
        if (!h->kd)
            continue;
        char *dir = folder_for(path, i), sha[65];
        axf_err e2;
        /* written or checked by this session before (every autosave comes here): not read again */
        int same = h->wdir && !strcmp(h->wdir, dir);
        if (!same)
            same = folder_sha(dir, NULL, sha, &e2) == 0 && !strcmp(sha, h->kd->sha);
        int rc = same ? 0 : write_folder(s, i, dir, err);
        if (rc) {
            free(dir);
            return axf_err_prefix(err, "history step %d (distil)", i + 1);
        }
        free(h->wdir);
        h->wdir = dir;
        snprintf(h->kd->weights, sizeof h->kd->weights, "%s.distil-%d", base, i + 1);
    }
    remove_stale(s, path);
    return 0;
}

int axf__load_distil(axf_session *s, const char *path, int i, axf_err *err)
{
    hentry *h = &s->hist[i];
    axf_plan *p = axf_plan_clone(s->orig), *pf = NULL;
    axf_model *full = NULL, *student = NULL;
    char *dir = NULL, sha[65];
    int rc = -1;
    if (axf__rebuild_plan(s, i, p, err))
        goto out;
    if (!s->m0)
        s->m0 = axf_model_clone(s->m, NULL);
    int prev = distil_before(s, i);
    const float *before = prev < 0 ? s->m0->arena : s->hist[prev].w;
    /* the recorded folder (relative to the session file), else the name a save gives it */
    if (h->kd->weights[0]) {
        const char *slash = strrchr(path, '/');
        if (h->kd->weights[0] == '/' || !slash) {
            dir = axf_xstrdup(h->kd->weights);
        } else {
            size_t n = (size_t)(slash - path) + strlen(h->kd->weights) + 2;
            dir = axf_xmalloc(n);
            snprintf(dir, n, "%.*s/%s", (int)(slash - path), path, h->kd->weights);
        }
    } else {
        dir = folder_for(path, i);
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        axf_log(2, "%s: step %d: %s is missing; re-making the weights by the recorded distillation", path, i + 1,
                dir);
        rc = make_weights(s, p, before, h->kd, 1, NULL, NULL, &h->w, err);
        goto out;
    }
    if (folder_sha(dir, &student, sha, err))
        goto out;
    if (strcmp(sha, h->kd->sha)) {
        axf_err_set(err, "%s: the weights have sha256 %.12s..., the step recorded %.12s...", dir, sha, h->kd->sha);
        goto out;
    }
    pf = float_plan(p);
    full = axf_model_clone(s->m0, NULL);
    memcpy(full->arena, before, full->n_floats * sizeof(float));
    if (axf_compact_scatter(full, pf, student, err)) {
        axf_err_prefix(err, "%s", dir);
        goto out;
    }
    h->w = axf_xmalloc(full->n_floats * sizeof(float));
    memcpy(h->w, full->arena, full->n_floats * sizeof(float));
    h->wdir = dir;
    dir = NULL;
    rc = 0;
out:
    if (rc == 0)
        h->wid = s->wid_next++;
    else if (rc != AXF_CANCELLED)
        axf_err_prefix(err, "%s: history step %d (distil)", path, i + 1);
    free(dir);
    axf_plan_free(p);
    axf_plan_free(pf);
    axf_model_free(full);
    axf_model_free(student);
    return rc;
}
