/* The session-file reader (axf/sessionfile.h): typed field access whose errors name the file and
 * the field's path. The cJSON tree never leaves this file. */
#include "axf/sessionfile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/fileio.h"

#define SESSION_MAX_BYTES ((size_t)256 << 20)

/* Where we are in the document (its file and path) and the metric every METRICS must name. */
typedef struct rd {
    axf_json_rd j;
    char metric_name[16]; /* the baseline's */
} rd;

#define fail(r, ...) axf_json_fail(&(r)->j, __VA_ARGS__)
#define push(r, key, index) axf_json_push(&(r)->j, key, index)
#define pop(r, old) axf_json_pop(&(r)->j, old)

static int get_obj(rd *r, const cJSON *o, const char *key, int null_ok, const cJSON **out)
{
    return axf_json_obj(&r->j, o, key, null_ok ? AXF_JSON_NULL_OK : AXF_JSON_REQUIRED, out);
}

static int get_num(rd *r, const cJSON *o, const char *key, double lo, double hi, int null_ok, double *out)
{
    return axf_json_num(&r->j, o, key, lo, hi, null_ok ? AXF_JSON_NULL_OK : AXF_JSON_REQUIRED, out);
}

static int get_i(rd *r, const cJSON *o, const char *key, double lo, double hi, int *out)
{
    long long v;
    int rc = axf_json_int(&r->j, o, key, lo, hi, &v);
    *out = (int)v;
    return rc;
}

static int get_str(rd *r, const cJSON *o, const char *key, int null_ok, const char **out)
{
    return axf_json_str(&r->j, o, key, null_ok ? AXF_JSON_NULL_OK : AXF_JSON_REQUIRED, out);
}

/* A string that later messages show as it is (a path, a task name): no control characters. */
static int get_plain_str(rd *r, const cJSON *o, const char *key, int null_ok, const char **out)
{
    if (get_str(r, o, key, null_ok, out))
        return -1;
    for (const char *c = *out; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            char shown[80];
            return fail(r, key, "'%s' holds a control character", axf_escape_str(shown, sizeof shown, *out));
        }
    return 0;
}

static int get_sha(rd *r, const cJSON *o, const char *key, char out[65])
{
    const char *s;
    if (get_str(r, o, key, 0, &s))
        return -1;
    if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
        return fail(r, key, "expected 64 lowercase hex digits");
    memcpy(out, s, 65);
    return 0;
}

static int get_metrics(rd *r, const cJSON *o, const char *key, axf_metrics *m)
{
    const cJSON *j;
    memset(m, 0, sizeof *m);
    if (get_obj(r, o, key, 0, &j))
        return -1;
    size_t old = push(r, key, -1);
    const double big = 1e18;
    long long params, size;
    const char *name;
    int rc = -1;
    if (get_num(r, j, "loss", 0, big, 1, &m->loss) || get_num(r, j, "accuracy", 0, 1, 1, &m->accuracy) ||
        get_num(r, j, "metric", -big, big, 1, &m->metric) || get_str(r, j, "metric_name", 0, &name) ||
        get_i(r, j, "n", 1, 2e9, &m->n) || get_i(r, j, "n_no_worse", 0, m->n, &m->n_no_worse) ||
        axf_json_int(&r->j, j, "params", 1, 0x1p50, &params) ||
        get_num(r, j, "flops_per_token", 0, big, 0, &m->flops_per_token) ||
        axf_json_int(&r->j, j, "size_bytes", 1, 0x1p52, &size))
        goto done;
    m->params = (size_t)params;
    m->size_bytes = (size_t)size;
    if (strcmp(name, "accuracy") && strcmp(name, "f1") && strcmp(name, "mcc") && strcmp(name, "pearson")) {
        char shown[40];
        fail(r, "metric_name", "'%s': expected accuracy, f1, mcc or pearson", axf_escape_str(shown, sizeof shown, name));
        goto done;
    }
    if (!r->metric_name[0])
        snprintf(r->metric_name, sizeof r->metric_name, "%s", name);
    else if (strcmp(name, r->metric_name)) {
        char shown[40];
        fail(r, "metric_name", "'%s' where the baseline has '%s'", axf_escape_str(shown, sizeof shown, name),
             r->metric_name);
        goto done;
    }
    rc = 0;
done:
    pop(r, old);
    return rc;
}

/* A name from a fixed set (an operation, a hard-attention mode, a block): its number through
 * from_name; an unknown one is named, with the choices when they are few. */
static int get_name(rd *r, const cJSON *o, const char *key, int (*from_name)(const char *), const char *what,
                    const char *choices, int *out)
{
    const char *s;
    if (get_str(r, o, key, 0, &s))
        return -1;
    if ((*out = from_name(s)) < 0) {
        char shown[64];
        return fail(r, key, "unknown %s '%s'%s%s%s", what, axf_escape_str(shown, sizeof shown, s),
                    choices ? " (" : "", choices ? choices : "", choices ? ")" : "");
    }
    return 0;
}

static int get_action(rd *r, const cJSON *o, axf_action *a)
{
    int k;
    memset(a, 0, sizeof *a);
    if (!cJSON_IsObject(o))
        return fail(r, NULL, "expected an object");
    if (get_name(r, o, "op", axf_op_from_name, "operation", NULL, &k))
        return -1;
    a->op = (axf_op)k;
    if (get_i(r, o, "layer", 0, AXF_MAX_LAYERS - 1, &a->layer))
        return -1;
    switch (a->op) {
    case AXF_OP_DROP_HEAD:
    case AXF_OP_RESTORE_HEAD:
        return get_i(r, o, "head", 0, AXF_MAX_HEADS - 1, &a->index);
    case AXF_OP_DROP_GROUP:
    case AXF_OP_RESTORE_GROUP:
        return get_i(r, o, "group", 0, AXF_MAX_GROUPS - 1, &a->index) ||
               get_i(r, o, "groups", 1, AXF_MAX_GROUPS, &a->groups);
    case AXF_OP_DROP_NEURONS:
    case AXF_OP_RESTORE_NEURONS:
        return get_i(r, o, "neuron", 0, 1 << 30, &a->index) || get_i(r, o, "count", 1, 1 << 30, &a->count);
    case AXF_OP_SET_HARD: {
        double th;
        if (get_name(r, o, "mode", axf_hard_mode_from_name, "hard-attention mode", NULL, &k))
            return -1;
        a->hard = (axf_hard_mode)k;
        if (get_i(r, o, "k", 0, 1 << 30, &a->k) || get_num(r, o, "threshold", 0, 1, 0, &th))
            return -1;
        a->threshold = (float)th;
        return 0;
    }
    case AXF_OP_QUANTIZE:
    case AXF_OP_DEQUANTIZE:
        if (get_name(r, o, "block", axf_block_from_name, "block", "attn, ffn or embed", &k))
            return -1;
        a->block = k;
        return 0;
    default:
        return 0;
    }
}

static int get_actions_of(rd *r, const cJSON *o, axf_action **out, int *n, int empty_ok)
{
    const cJSON *arr;
    *out = NULL;
    *n = 0;
    if (axf_json_arr(&r->j, o, "actions", AXF_JSON_REQUIRED, &arr))
        return -1;
    int cnt = cJSON_GetArraySize(arr);
    if (cnt < 1 && !empty_ok)
        return fail(r, "actions", "empty (a step applies at least one action)");
    if (cnt > 0 && empty_ok)
        return fail(r, "actions", "a distil step has no actions");
    axf_action *a = axf_xcalloc((size_t)cnt, sizeof *a);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        size_t old = push(r, "actions", i);
        int bad = get_action(r, e, &a[i]);
        pop(r, old);
        if (bad) {
            free(a);
            return -1;
        }
        i++;
    }
    *out = a;
    *n = cnt;
    return 0;
}

static int get_actions(rd *r, const cJSON *o, axf_action **out, int *n)
{
    return get_actions_of(r, o, out, n, 0);
}

static int get_note(rd *r, const cJSON *o, char **out)
{
    const char *s;
    if (get_str(r, o, "note", 1, &s))
        return -1;
    *out = axf_xstrdup(s);
    return 0;
}

/* The seed is a uint64 written as a decimal string (a JSON number would round it); a number is
 * read too. */
static int get_seed(rd *r, const cJSON *root, uint64_t *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, "seed");
    if (!j)
        return fail(r, "seed", "missing");
    if (cJSON_IsString(j)) {
        /* strtoull alone would take "-1" (as 2^64-1) and clamp overflow to 2^64-1 */
        const char *s = j->valuestring;
        char *end;
        errno = 0;
        *out = strtoull(s, &end, 10);
        if (!(s[0] >= '0' && s[0] <= '9') || *end || errno == ERANGE)
            return fail(r, "seed", "expected a decimal integer (0 to 2^64-1)");
        return 0;
    }
    if (cJSON_IsNumber(j) && j->valuedouble >= 0 && j->valuedouble < 0x1p64 && j->valuedouble == floor(j->valuedouble)) {
        *out = (uint64_t)j->valuedouble;
        return 0;
    }
    return fail(r, "seed", "expected a decimal integer string");
}

/* A string field copied out (plain: no control characters, see get_plain_str). */
static int dup_str(rd *r, const cJSON *o, const char *key, int null_ok, int plain, char **out)
{
    const char *s;
    if (plain ? get_plain_str(r, o, key, null_ok, &s) : get_str(r, o, key, null_ok, &s))
        return -1;
    *out = axf_xstrdup(s);
    return 0;
}

/* The policy's parameters one by one (any JSON value is a valid parameter). */
static void read_params(const cJSON *params, axf_sessionfile *f)
{
    const cJSON *it;
    f->params = axf_xcalloc((size_t)cJSON_GetArraySize(params) + 1, sizeof *f->params);
    cJSON_ArrayForEach(it, params)
    {
        axf_sessionfile_param *p = &f->params[f->n_params++];
        char *text = cJSON_PrintUnformatted(it);
        p->key = axf_xstrdup(it->string);
        p->json = axf_xstrdup(text ? text : "null");
        cJSON_free(text);
        p->kind = cJSON_IsNumber(it) ? AXF_PARAM_NUMBER
                  : cJSON_IsString(it) ? AXF_PARAM_STRING
                  : cJSON_IsBool(it)   ? AXF_PARAM_BOOL
                                       : AXF_PARAM_OTHER;
        p->num = cJSON_IsNumber(it) ? it->valuedouble : cJSON_IsTrue(it);
        p->str = cJSON_IsString(it) ? axf_xstrdup(it->valuestring) : NULL;
    }
}

static int read_head(rd *r, const cJSON *root, axf_sessionfile *f)
{
    const cJSON *jm, *jd, *jo, *jh, *jp;
    const char *s;
    double th;
    size_t old;
    if (get_obj(r, root, "model", 0, &jm) || get_obj(r, root, "data", 0, &jd) || get_obj(r, root, "options", 0, &jo))
        return -1;
    old = push(r, "model", -1);
    if (dup_str(r, jm, "dir", 1, 1, &f->model_dir) || get_sha(r, jm, "sha256", f->model_sha) ||
        get_i(r, jm, "layers", 0, AXF_MAX_LAYERS, &f->layers))
        return -1;
    /* the original shape: hidden, heads, ffn (optional: 0 when absent) */
    static const char *const shape[] = {"hidden", "heads", "ffn"};
    int *shape_out[] = {&f->hidden, &f->heads, &f->ffn};
    for (int i = 0; i < 3; i++)
        if (cJSON_GetObjectItemCaseSensitive(jm, shape[i]) && get_i(r, jm, shape[i], 1, 1 << 20, shape_out[i]))
            return -1;
    pop(r, old);
    old = push(r, "data", -1);
    if (dup_str(r, jd, "path", 1, 1, &f->data_path) || get_sha(r, jd, "sha256", f->data_sha) ||
        get_plain_str(r, jd, "task", 0, &s))
        return -1;
    snprintf(f->task, sizeof f->task, "%s", s);
    if (get_i(r, jd, "n", 1, 2e9, &f->n) || get_i(r, jd, "max_len", 2, 1 << 20, &f->max_len) ||
        get_i(r, jd, "max_examples", 0, 2e9, &f->max_examples))
        return -1;
    pop(r, old);
    if (get_obj(r, root, "holdout", 1, &jh))
        return -1;
    if (!jh) {
        f->holdout_path = axf_xstrdup("");
    } else {
        old = push(r, "holdout", -1);
        if (dup_str(r, jh, "path", 0, 1, &f->holdout_path) || get_sha(r, jh, "sha256", f->holdout_sha))
            return -1;
        pop(r, old);
    }
    old = push(r, "options", -1);
    if (get_i(r, jo, "batch", 1, 1 << 20, &f->batch) || get_i(r, jo, "groups", 1, AXF_MAX_GROUPS, &f->groups) ||
        get_i(r, jo, "hard_k", 1, 1 << 30, &f->hard_k) || get_num(r, jo, "hard_threshold", 0, 1, 0, &th))
        return -1;
    f->hard_threshold = (float)th;
    pop(r, old);
    if (get_obj(r, root, "policy", 1, &jp))
        return -1;
    f->has_policy = jp != NULL;
    if (jp) {
        const cJSON *params;
        old = push(r, "policy", -1);
        if (dup_str(r, jp, "name", 0, 1, &f->policy_name) || dup_str(r, jp, "sha256", 0, 0, &f->policy_sha) ||
            get_obj(r, jp, "params", 0, &params))
            return -1;
        char *text = cJSON_PrintUnformatted(params);
        f->policy_params = axf_xstrdup(text ? text : "{}");
        cJSON_free(text);
        read_params(params, f);
        pop(r, old);
    } else {
        f->policy_name = axf_xstrdup("");
        f->policy_sha = axf_xstrdup("");
        f->policy_params = axf_xstrdup("{}");
    }
    return get_seed(r, root, &f->seed);
}

/* A plain string into a buffer of n bytes (refused when longer). */
static int get_fixed_str(rd *r, const cJSON *o, const char *key, char *buf, size_t n)
{
    const char *str;
    if (get_plain_str(r, o, key, 0, &str))
        return -1;
    if (strlen(str) >= n)
        return fail(r, key, "too long");
    snprintf(buf, n, "%s", str);
    return 0;
}

/* The "distil" object of a distil step (session.h, DISTIL). */
static int read_distil(rd *r, const cJSON *e, axf_distil_record *k)
{
    const cJSON *o;
    double v;
    if (get_obj(r, e, "distil", 0, &o))
        return -1;
    size_t old = push(r, "distil", -1);
#define NUM(key, lo, hi, dst)                                                                   \
    if (get_num(r, o, key, lo, hi, 0, &v))                                                     \
        return -1;                                                                               \
    dst = v;
    if (get_fixed_str(r, o, "train", k->train, sizeof k->train))
        return -1;
    if (get_sha(r, o, "train_sha256", k->train_sha))
        return -1;
    NUM("alpha", 0, 1, k->alpha)
    NUM("temperature", 0.01, 100, k->temperature)
    NUM("match_hidden", 0, 1000, k->hid_weight)
    NUM("epochs", 0, 1e9, k->epochs)
    NUM("steps", 0, 1e15, k->steps)
    NUM("batch", 1, 100000, k->batch)
    NUM("lr", 1e-30, 1, k->lr)
    NUM("eval_every", 0, 1e9, k->eval_every)
    NUM("patience", 0, 1e9, k->patience)
    NUM("examples", 0, 2e9, k->examples)
    NUM("steps_run", 0, 1e15, k->steps_run)
    NUM("best_step", 0, 1e15, k->best_step)
#undef NUM
    if (get_seed(r, o, &k->seed))
        return -1;
    if (get_fixed_str(r, o, "weights", k->weights, sizeof k->weights))
        return -1;
    if (get_sha(r, o, "sha256", k->sha))
        return -1;
    pop(r, old);
    return 0;
}

static int read_step(rd *r, const cJSON *e, axf_sessionfile *f)
{
    axf_sessionfile_step *h = &f->steps[f->n_steps];
    int kd = cJSON_GetObjectItemCaseSensitive(e, "distil") != NULL;
    if (kd && f->version < 2)
        return fail(r, "distil", "a version 1 file has no distil steps");
    if (get_actions_of(r, e, &h->actions, &h->n_actions, kd))
        return -1;
    f->n_steps++;
    if (kd && read_distil(r, e, h->distil = axf_xcalloc(1, sizeof *h->distil)))
        return -1;
    return get_note(r, e, &h->note) || get_num(r, e, "seconds", 0, 1e12, 0, &h->seconds) ||
                   get_num(r, e, "time", -1e12, 1e12, 0, &h->time) || get_metrics(r, e, "before", &h->before) ||
                   get_metrics(r, e, "after", &h->after)
               ? -1
               : 0;
}

static int read_trial(rd *r, const cJSON *e, axf_sessionfile *f)
{
    axf_sessionfile_trial *t = &f->trials[f->n_trials];
    if (get_actions(r, e, &t->actions, &t->n_actions))
        return -1;
    f->n_trials++;
    return get_i(r, e, "cursor", 0, f->n_steps, &t->cursor) || get_note(r, e, &t->note) ||
                   get_num(r, e, "seconds", 0, 1e12, 0, &t->seconds) || get_metrics(r, e, "metrics", &t->metrics)
               ? -1
               : 0;
}

/* The array at key ("history", or "trials", which may be absent): *items gets room for all of
 * them, then each object is read by one(). */
static int read_list(rd *r, const cJSON *root, const char *key, int flags, void **items, size_t size,
                     int (*one)(rd *, const cJSON *, axf_sessionfile *), axf_sessionfile *f)
{
    const cJSON *arr, *e;
    if (axf_json_arr(&r->j, root, key, flags, &arr))
        return -1;
    if (!arr)
        return 0;
    int n = cJSON_GetArraySize(arr), i = 0;
    *items = axf_xcalloc((size_t)(n > 0 ? n : 1), size);
    cJSON_ArrayForEach(e, arr) {
        size_t old = push(r, key, i++);
        if (!cJSON_IsObject(e))
            return fail(r, NULL, "expected an object");
        if (one(r, e, f))
            return -1;
        pop(r, old);
    }
    return 0;
}

int axf_sessionfile_read(const char *path, axf_sessionfile *f, axf_err *err)
{
    rd r = {{0}, ""};
    memset(f, 0, sizeof *f);
    cJSON *root = axf_json_read_doc(path, SESSION_MAX_BYTES, "axf-session", "session", AXF_SESSION_VERSION,
                                    &f->version, &r.j, err);
    if (!root)
        return -1;
    int rc = -1;
    if (read_head(&r, root, f) || get_metrics(&r, root, "baseline", &f->baseline) ||
        read_list(&r, root, "history", AXF_JSON_REQUIRED, (void **)&f->steps, sizeof *f->steps, read_step, f) ||
        get_i(&r, root, "cursor", 0, f->n_steps, &f->cursor) ||
        read_list(&r, root, "trials", AXF_JSON_OPTIONAL, (void **)&f->trials, sizeof *f->trials, read_trial, f))
        goto out;
    snprintf(f->metric_name, sizeof f->metric_name, "%s", r.metric_name);
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc)
        axf_sessionfile_free(f);
    return rc;
}

void axf_sessionfile_params_free(axf_sessionfile_param *p, int n)
{
    for (int i = 0; i < n; i++)
        AXF_FREE(p[i].key, p[i].json, p[i].str);
    free(p);
}

void axf_sessionfile_free(axf_sessionfile *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_steps; i++)
        free(f->steps[i].actions), free(f->steps[i].note), free(f->steps[i].distil);
    for (int i = 0; i < f->n_trials; i++)
        free(f->trials[i].actions), free(f->trials[i].note);
    axf_sessionfile_params_free(f->params, f->n_params);
    char *owned[] = {(char *)f->steps, (char *)f->trials, f->model_dir,   f->data_path,
                     f->holdout_path,  f->policy_name,    f->policy_sha, f->policy_params};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++)
        free(owned[i]);
    memset(f, 0, sizeof *f);
}

axf_plan *axf_sessionfile_plan(const axf_sessionfile *f, const char *path, const axf_model *m, axf_err *err)
{
    const axf_config *c = &m->cfg;
    if (f->layers != c->n_layers || (f->hidden && f->hidden != c->hidden) || (f->heads && f->heads != c->n_heads) ||
        (f->ffn && f->ffn != c->ffn)) {
        axf_err_set(err, "%s: the session's model has %d layers x %d, %d heads, FFN %d; this one %d x %d, %d heads, "
                    "FFN %d", path, f->layers, f->hidden, f->heads, f->ffn, c->n_layers, c->hidden, c->n_heads, c->ffn);
        return NULL;
    }
    for (int i = 0; i < c->n_layers; i++)
        if (c->layer_heads[i] != c->n_heads || c->layer_ffn[i] != c->ffn) {
            axf_err_set(err, "%s: this model is already pruned (layer %d has %d heads, FFN %d): --structure needs "
                        "the full-shape checkpoint", path, i, c->layer_heads[i], c->layer_ffn[i]);
            return NULL;
        }
    axf_plan *p = axf_plan_new(m);
    if (!p) {
        axf_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    axf_plan_defaults d = axf_plan_defaults_default();
    if (f->groups > 0)
        d.groups = f->groups;
    if (f->hard_k > 0)
        d.k = f->hard_k;
    if (f->hard_threshold > 0)
        d.threshold = f->hard_threshold;
    for (int i = 0; i < f->cursor; i++)
        for (int k = 0; k < f->steps[i].n_actions; k++) {
            axf_err e;
            if (axf_plan_apply(p, &f->steps[i].actions[k], &d, NULL, &e)) {
                char what[128];
                axf_action_describe(&f->steps[i].actions[k], what, sizeof what);
                axf_err_set(err, "%s: history[%d] (%s) does not apply to this model: %s", path, i, what, e.msg);
                axf_plan_free(p);
                return NULL;
            }
        }
    return p;
}
