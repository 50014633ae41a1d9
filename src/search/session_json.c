/* Session files (format documented in session.h), replay, and the policy's JSON parameters. The
 * cJSON trees never leave this file. Loading validates the whole file and builds a brand-new
 * session before anything is returned, so a bad file can never damage a session in use. */
#include "session_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axf/dist.h"
#include "axf/fileio.h"

#define SESSION_MAX_BYTES ((size_t)256 << 20)

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

static int save_file(axf_session *s, const char *path, axf_err *err)
{
    if (replaced_here(s, path))
        return axf_err_set(err, "%s: replaced by another writer after this session saved it there "
                                "(%d step%s); not overwritten (two runs writing the same file?)",
                           path, s->saved_steps, s->saved_steps == 1 ? "" : "s");
    const axf_config *c = &s->m->cfg;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "format", "axf-session");
    cJSON_AddNumberToObject(r, "version", AXF_SESSION_VERSION);
    cJSON_AddStringToObject(r, "axf_version", AXF_VERSION);

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

    cJSON_AddItemToObject(r, "baseline", metrics_json(&s->rec_base, s->metric_name));
    cJSON_AddNumberToObject(r, "cursor", s->cursor);
    cJSON *jhist = cJSON_AddArrayToObject(r, "history");
    for (int i = 0; i < s->hist_len; i++) {
        const hentry *h = &s->hist[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToObject(e, "actions", actions_json(h->acts, h->n));
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

/* ---- reading: typed field access with messages naming the file and the field ---- */

typedef struct rd {
    const char *file;
    axf_err *err;
    int bad;
    char metric_name[16]; /* the baseline's; every METRICS object must name the same */
} rd;

static const cJSON *field(rd *r, const cJSON *o, const char *where, const char *key)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (!v && !r->bad) {
        r->bad = 1;
        axf_err_set(r->err, "%s: %s%s%s: missing", r->file, where, *where ? "." : "", key);
    }
    return v;
}

static double get_num(rd *r, const cJSON *o, const char *where, const char *key, int null_ok)
{
    const cJSON *v = field(r, o, where, key);
    if (!v)
        return 0;
    if (null_ok && cJSON_IsNull(v))
        return NAN;
    if (!cJSON_IsNumber(v)) {
        if (!r->bad)
            axf_err_set(r->err, "%s: %s.%s: expected a number", r->file, where, key);
        r->bad = 1;
        return 0;
    }
    return v->valuedouble;
}

static long long get_int(rd *r, const cJSON *o, const char *where, const char *key, long long lo, long long hi)
{
    double v = get_num(r, o, where, key, 0);
    if (r->bad)
        return lo;
    if (v != floor(v) || v < (double)lo || v > (double)hi) {
        r->bad = 1;
        axf_err_set(r->err, "%s: %s.%s: expected an integer in %lld..%lld", r->file, where, key, lo, hi);
        return lo;
    }
    return (long long)v;
}

/* String field; null_ok returns "" for null. */
static const char *get_str(rd *r, const cJSON *o, const char *where, const char *key, int null_ok)
{
    const cJSON *v = field(r, o, where, key);
    if (!v)
        return "";
    if (null_ok && cJSON_IsNull(v))
        return "";
    if (!cJSON_IsString(v)) {
        if (!r->bad)
            axf_err_set(r->err, "%s: %s.%s: expected a string", r->file, where, key);
        r->bad = 1;
        return "";
    }
    return v->valuestring;
}

/* A string that later messages show as it is (a path, a task name): no control characters. */
static const char *get_plain_str(rd *r, const cJSON *o, const char *where, const char *key, int null_ok)
{
    const char *s = get_str(r, o, where, key, null_ok);
    for (const char *c = s; !r->bad && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            char shown[80];
            axf_err_set(r->err, "%s: %s.%s: '%s' holds a control character", r->file, where, key,
                        axf_escape_str(shown, sizeof shown, s));
            r->bad = 1;
        }
    return r->bad ? "" : s;
}

static void get_metrics(rd *r, const cJSON *o, const char *where, axf_metrics *m)
{
    memset(m, 0, sizeof *m);
    if (!cJSON_IsObject(o)) {
        if (!r->bad)
            axf_err_set(r->err, "%s: %s: expected an object of metrics", r->file, where);
        r->bad = 1;
        return;
    }
    m->loss = get_num(r, o, where, "loss", 1);
    m->accuracy = get_num(r, o, where, "accuracy", 1);
    m->metric = get_num(r, o, where, "metric", 1);
    m->n = (int)get_int(r, o, where, "n", 0, 2000000000);
    m->n_no_worse = (int)get_int(r, o, where, "n_no_worse", 0, 2000000000);
    m->params = (size_t)get_int(r, o, where, "params", 0, 1LL << 50);
    m->flops_per_token = get_num(r, o, where, "flops_per_token", 0);
    m->size_bytes = (size_t)get_int(r, o, where, "size_bytes", 0, 1LL << 52);
    const char *name = get_str(r, o, where, "metric_name", 0);
    if (r->bad)
        return;
    if (!r->metric_name[0]) {
        snprintf(r->metric_name, sizeof r->metric_name, "%s", name);
    } else if (strcmp(name, r->metric_name)) {
        r->bad = 1;
        axf_err_set(r->err, "%s: %s.metric_name: '%.16s' where the baseline has '%s'", r->file, where, name,
                    r->metric_name);
    }
}

static int get_action(rd *r, const cJSON *o, const char *where, axf_action *a)
{
    memset(a, 0, sizeof *a);
    const char *op = get_str(r, o, where, "op", 0);
    if (r->bad)
        return -1;
    int k = axf_op_from_name(op);
    if (k < 0) {
        r->bad = 1;
        char shown[64];
        return axf_err_set(r->err, "%s: %s.op: unknown operation '%s'", r->file, where,
                           axf_escape_str(shown, sizeof shown, op));
    }
    a->op = (axf_op)k;
    a->layer = (int)get_int(r, o, where, "layer", 0, AXF_MAX_LAYERS - 1);
    switch (a->op) {
    case AXF_OP_DROP_HEAD:
    case AXF_OP_RESTORE_HEAD:
        a->index = (int)get_int(r, o, where, "head", 0, AXF_MAX_HEADS - 1);
        break;
    case AXF_OP_DROP_GROUP:
    case AXF_OP_RESTORE_GROUP:
        a->index = (int)get_int(r, o, where, "group", 0, AXF_MAX_GROUPS - 1);
        a->groups = (int)get_int(r, o, where, "groups", 1, AXF_MAX_GROUPS);
        break;
    case AXF_OP_DROP_NEURONS:
    case AXF_OP_RESTORE_NEURONS:
        a->index = (int)get_int(r, o, where, "neuron", 0, 1 << 30);
        a->count = (int)get_int(r, o, where, "count", 1, 1 << 30);
        break;
    case AXF_OP_SET_HARD: {
        const char *mode = get_str(r, o, where, "mode", 0);
        int m = r->bad ? 0 : axf_hard_mode_from_name(mode);
        if (!r->bad && m < 0) {
            r->bad = 1;
            char shown[64];
            return axf_err_set(r->err, "%s: %s.mode: unknown hard-attention mode '%s'", r->file, where,
                               axf_escape_str(shown, sizeof shown, mode));
        }
        a->hard = (axf_hard_mode)m;
        a->k = (int)get_int(r, o, where, "k", 0, 1 << 30);
        a->threshold = (float)get_num(r, o, where, "threshold", 0);
        break;
    }
    case AXF_OP_QUANTIZE:
    case AXF_OP_DEQUANTIZE: {
        const char *block = get_str(r, o, where, "block", 0);
        int b = r->bad ? 0 : axf_block_from_name(block);
        if (!r->bad && b < 0) {
            r->bad = 1;
            char shown[64];
            return axf_err_set(r->err, "%s: %s.block: unknown block '%s' (attn or ffn)", r->file, where,
                               axf_escape_str(shown, sizeof shown, block));
        }
        a->block = b;
        break;
    }
    default:
        break;
    }
    return r->bad ? -1 : 0;
}

static axf_action *get_actions(rd *r, const cJSON *o, const char *where, int *n)
{
    const cJSON *arr = field(r, o, where, "actions");
    *n = 0;
    if (!arr)
        return NULL;
    int cnt = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || cnt < 1) {
        if (!r->bad)
            axf_err_set(r->err, "%s: %s.actions: expected a non-empty array", r->file, where);
        r->bad = 1;
        return NULL;
    }
    axf_action *a = axf_xcalloc((size_t)cnt, sizeof *a);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        char w[96];
        snprintf(w, sizeof w, "%s.actions[%d]", where, i);
        if (get_action(r, e, w, &a[i])) {
            free(a);
            return NULL;
        }
        i++;
    }
    *n = cnt;
    return a;
}

static int is_sha(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

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

/* Parsed file, before a session exists. */
typedef struct parsed {
    char model_dir[4096], model_sha[65], data_path[4096], data_sha[65], task[32];
    char ho_path[4096], ho_sha[65];
    int layers, n, max_len, max_examples, batch, groups, hard_k;
    float hard_threshold;
    char *policy_name, *policy_sha, *policy_params;
    uint64_t seed;
    axf_metrics base;
    char metric_name[16];
    int cursor;
    hentry *hist;
    int hist_len;
    tentry *trials;
    int trials_len;
} parsed;

static void parsed_free(parsed *p)
{
    for (int i = 0; i < p->hist_len; i++)
        axf__hentry_free(&p->hist[i]);
    for (int i = 0; i < p->trials_len; i++)
        axf__tentry_free(&p->trials[i]);
    free(p->hist);
    free(p->trials);
    free(p->policy_name);
    free(p->policy_sha);
    free(p->policy_params);
}

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src);
}

static int parse_file(const char *path, parsed *p, axf_err *err)
{
    size_t len;
    char *text = axf_io_read_file(path, SESSION_MAX_BYTES, &len, err);
    if (!text)
        return -1;
    const char *end = NULL;
    /* duplicate keys, text after the object, nesting cJSON cannot take, NUL in a string */
    if (axf_json_check(text, len, path, err) != 0) {
        free(text);
        return -1;
    }
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        const char *ep = cJSON_GetErrorPtr();
        long at = ep && ep >= text && ep <= text + len ? (long)(ep - text) : -1, line = 1;
        for (long i = 0; i < at; i++)
            line += text[i] == '\n';
        free(text);
        if (at >= (long)len || len == 0)
            return axf_err_set(err, "%s: truncated session file (JSON ends early)", path);
        return axf_err_set(err, "%s: not a valid session file (JSON syntax error at line %ld)", path, line);
    }
    free(text);
    rd r = {path, err, 0, ""};
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        axf_err_set(err, "%s: not a session file (top level is not an object)", path);
        goto out;
    }
    const char *fmt = get_str(&r, root, "", "format", 0);
    if (r.bad || strcmp(fmt, "axf-session")) {
        axf_err_set(err, "%s: not a session file (format is not \"axf-session\")", path);
        goto out;
    }
    double ver = get_num(&r, root, "", "version", 0);
    if (r.bad)
        goto out;
    if (ver > AXF_SESSION_VERSION) {
        axf_err_set(err, "%s: session format version %g is newer than this program's (%d); use a newer axf",
                    path, ver, AXF_SESSION_VERSION);
        goto out;
    }
    if (ver < 1 || ver != floor(ver)) {
        axf_err_set(err, "%s: bad session format version %g", path, ver);
        goto out;
    }
    const cJSON *jm = field(&r, root, "", "model");
    const cJSON *jd = field(&r, root, "", "data");
    const cJSON *jo = field(&r, root, "", "options");
    if (r.bad)
        goto out;
    copy_str(p->model_dir, sizeof p->model_dir, get_plain_str(&r, jm, "model", "dir", 1));
    copy_str(p->model_sha, sizeof p->model_sha, get_str(&r, jm, "model", "sha256", 0));
    p->layers = (int)get_int(&r, jm, "model", "layers", 0, AXF_MAX_LAYERS);
    copy_str(p->data_path, sizeof p->data_path, get_plain_str(&r, jd, "data", "path", 1));
    copy_str(p->data_sha, sizeof p->data_sha, get_str(&r, jd, "data", "sha256", 0));
    copy_str(p->task, sizeof p->task, get_plain_str(&r, jd, "data", "task", 0));
    p->n = (int)get_int(&r, jd, "data", "n", 1, 2000000000);
    p->max_len = (int)get_int(&r, jd, "data", "max_len", 2, 1 << 20);
    p->max_examples = (int)get_int(&r, jd, "data", "max_examples", 0, 2000000000);
    p->batch = (int)get_int(&r, jo, "options", "batch", 1, 1 << 20);
    p->groups = (int)get_int(&r, jo, "options", "groups", 1, AXF_MAX_GROUPS);
    p->hard_k = (int)get_int(&r, jo, "options", "hard_k", 1, 1 << 30);
    p->hard_threshold = (float)get_num(&r, jo, "options", "hard_threshold", 0);
    if (r.bad)
        goto out;
    if (!is_sha(p->model_sha) || !is_sha(p->data_sha)) {
        axf_err_set(err, "%s: model.sha256 / data.sha256 must be 64 lowercase hex digits", path);
        goto out;
    }
    const cJSON *jh = field(&r, root, "", "holdout");
    if (r.bad)
        goto out;
    if (!cJSON_IsNull(jh)) {
        copy_str(p->ho_path, sizeof p->ho_path, get_plain_str(&r, jh, "holdout", "path", 0));
        copy_str(p->ho_sha, sizeof p->ho_sha, get_str(&r, jh, "holdout", "sha256", 0));
    }
    const cJSON *jp = field(&r, root, "", "policy");
    if (r.bad)
        goto out;
    if (!cJSON_IsNull(jp)) {
        p->policy_name = axf_xstrdup(get_str(&r, jp, "policy", "name", 0));
        p->policy_sha = axf_xstrdup(get_str(&r, jp, "policy", "sha256", 0));
        const cJSON *pp = field(&r, jp, "policy", "params");
        if (!r.bad && !cJSON_IsObject(pp)) {
            axf_err_set(err, "%s: policy.params: expected an object", path);
            goto out;
        }
        if (pp)
            p->policy_params = cJSON_PrintUnformatted(pp);
    }
    const cJSON *js = field(&r, root, "", "seed");
    if (r.bad)
        goto out;
    if (cJSON_IsString(js)) {
        /* strtoull alone would take "-1" (as 2^64-1) and clamp overflow to 2^64-1 */
        char *e2;
        errno = 0;
        p->seed = strtoull(js->valuestring, &e2, 10);
        if (!(js->valuestring[0] >= '0' && js->valuestring[0] <= '9') || *e2 || errno == ERANGE) {
            axf_err_set(err, "%s: seed: expected a decimal integer", path);
            goto out;
        }
    } else if (cJSON_IsNumber(js) && js->valuedouble >= 0 && js->valuedouble < 1.8e19) {
        p->seed = (uint64_t)js->valuedouble;
    } else {
        axf_err_set(err, "%s: seed: expected a decimal integer string", path);
        goto out;
    }
    get_metrics(&r, field(&r, root, "", "baseline"), "baseline", &p->base);
    if (r.bad)
        goto out;
    snprintf(p->metric_name, sizeof p->metric_name, "%s", r.metric_name);

    const cJSON *hist = field(&r, root, "", "history");
    if (r.bad)
        goto out;
    if (!cJSON_IsArray(hist)) {
        axf_err_set(err, "%s: history: expected an array", path);
        goto out;
    }
    int nh = cJSON_GetArraySize(hist);
    p->hist = axf_xcalloc((size_t)(nh > 0 ? nh : 1), sizeof *p->hist);
    const cJSON *e;
    cJSON_ArrayForEach(e, hist) {
        char w[64];
        snprintf(w, sizeof w, "history[%d]", p->hist_len);
        hentry *h = &p->hist[p->hist_len];
        h->acts = get_actions(&r, e, w, &h->n);
        if (r.bad)
            goto out;
        p->hist_len++;
        h->note = axf_xstrdup(get_str(&r, e, w, "note", 1));
        h->seconds = get_num(&r, e, w, "seconds", 0);
        h->time = get_num(&r, e, w, "time", 0);
        char wb[80];
        snprintf(wb, sizeof wb, "%s.before", w);
        get_metrics(&r, field(&r, e, w, "before"), wb, &h->before);
        snprintf(wb, sizeof wb, "%s.after", w);
        get_metrics(&r, field(&r, e, w, "after"), wb, &h->after);
        if (r.bad)
            goto out;
    }
    p->cursor = (int)get_int(&r, root, "", "cursor", 0, p->hist_len);
    if (r.bad)
        goto out;

    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "trials"); /* optional */
    if (tr && !cJSON_IsArray(tr)) {
        axf_err_set(err, "%s: trials: expected an array", path);
        goto out;
    }
    int nt = tr ? cJSON_GetArraySize(tr) : 0;
    p->trials = axf_xcalloc((size_t)(nt > 0 ? nt : 1), sizeof *p->trials);
    if (tr)
        cJSON_ArrayForEach(e, tr) {
            char w[64];
            snprintf(w, sizeof w, "trials[%d]", p->trials_len);
            tentry *t = &p->trials[p->trials_len];
            t->acts = get_actions(&r, e, w, &t->n);
            if (r.bad)
                goto out;
            p->trials_len++;
            t->cursor = (int)get_int(&r, e, w, "cursor", 0, p->hist_len);
            t->note = axf_xstrdup(get_str(&r, e, w, "note", 1));
            t->seconds = get_num(&r, e, w, "seconds", 0);
            char wb[80];
            snprintf(wb, sizeof wb, "%s.metrics", w);
            get_metrics(&r, field(&r, e, w, "metrics"), wb, &t->m);
            if (r.bad)
                goto out;
        }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

axf_session *axf_session_load(const char *path, const char *model_dir, const char *data_path,
                              const char *holdout_path, const axf_session_opts *opts, axf_err *err)
{
    parsed p;
    memset(&p, 0, sizeof p);
    if (parse_file(path, &p, err)) {
        parsed_free(&p);
        return NULL;
    }
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

    char sha[65];
    char *st = axf_io_join(mdir, "model.safetensors");
    int bad = axf_sha256_file(st, sha, err);
    if (bad) {
        free(st);
        goto fail;
    }
    if (strcmp(sha, p.model_sha)) {
        axf_err_set(err, "%s: made for another model: %s has sha256 %.12s..., the session expects %.12s...",
                    path, st, sha, p.model_sha);
        free(st);
        goto fail;
    }
    free(st);
    if (axf_sha256_file(dpath, sha, err))
        goto fail;
    if (strcmp(sha, p.data_sha)) {
        axf_err_set(err, "%s: made on other data: %s has sha256 %.12s..., the session expects %.12s...",
                    path, dpath, sha, p.data_sha);
        goto fail;
    }

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
    if (s->enc->n != p.n || s->m->cfg.n_layers != p.layers) {
        axf_err_set(err, "%s: the session has %d examples and %d layers, the files give %d and %d", path,
                    p.n, p.layers, s->enc->n, s->m->cfg.n_layers);
        goto fail;
    }
    if (strcmp(p.metric_name, s->metric_name)) {
        axf_err_set(err, "%s: baseline.metric_name: '%s', but task %s is scored by %s", path, p.metric_name,
                    s->task, s->metric_name);
        goto fail;
    }
    /* every history step must apply on top of its predecessors */
    axf_plan *tmp = axf_plan_clone(s->orig);
    for (int i = 0; i < p.hist_len; i++)
        for (int k = 0; k < p.hist[i].n; k++)
            if (axf_plan_apply(tmp, &p.hist[i].acts[k], &s->defs, &p.hist[i].acts[k], err)) {
                axf_err_prefix(err, "%s: history step %d", path, i + 1);
                axf_plan_free(tmp);
                goto fail;
            }
    axf_plan_free(tmp);
    if (p.ho_path[0] || holdout_path) {
        hpath = holdout_path ? axf_xstrdup(holdout_path) : resolve(p.ho_path, path);
        struct stat sb;
        if (holdout_path || stat(hpath, &sb) == 0) {
            if (axf_session_set_holdout(s, hpath, err)) {
                axf_err_prefix(err, "%s: held-out data", path);
                goto fail;
            }
            if (!holdout_path && strcmp(s->holdout_sha, p.ho_sha)) {
                axf_err_set(err, "%s: held-out data %s differs from the one the session recorded (sha256)",
                            path, hpath);
                goto fail;
            }
        } else {
            axf_log(2, "%s: held-out data %s not found; continuing without it", path, hpath);
        }
    }

    /* install: nothing below can fail */
    s->hist = p.hist;
    s->hist_len = s->hist_cap = p.hist_len;
    s->trials = p.trials;
    s->trials_len = s->trials_cap = p.trials_len;
    p.hist = NULL;
    p.trials = NULL;
    p.hist_len = p.trials_len = 0;
    if (s->hist_cap == 0) {
        free(s->hist);
        s->hist = NULL;
    }
    if (s->trials_cap == 0) {
        free(s->trials);
        s->trials = NULL;
    }
    s->rec_base = p.base;
    axf_plan *cp = axf_plan_clone(s->orig);
    axf__rebuild_plan(s, p.cursor, cp, err);
    axf__set_committed(s, cp);
    axf_plan_free(cp);
    s->cursor = p.cursor;
    if (p.cursor > 0) {
        s->cur = s->hist[p.cursor - 1].after;
        s->cur_buf_valid = 0;
    }
    if (p.policy_name) {
        free(s->policy_name);
        free(s->policy_sha);
        s->policy_name = p.policy_name;
        s->policy_sha = p.policy_sha;
        p.policy_name = p.policy_sha = NULL;
    }
    if (p.policy_params) {
        free(s->policy_params);
        s->policy_params = p.policy_params;
        p.policy_params = NULL;
    }
    s->seed = p.seed;
    s->dirty = 0;
    free(s->model_dir);
    free(s->data_path);
    s->model_dir = axf_xstrdup(model_dir ? model_dir : p.model_dir);
    s->data_path = axf_xstrdup(data_path ? data_path : p.data_path);
    if (!holdout_path && p.ho_path[0] && s->ho) {
        free(s->holdout_path);
        s->holdout_path = axf_xstrdup(p.ho_path);
    }
    parsed_free(&p);
    free(mdir);
    free(dpath);
    free(hpath);
    return s;
fail:
    axf_session_free(s);
    parsed_free(&p);
    free(mdir);
    free(dpath);
    free(hpath);
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
    free(s->policy_name);
    free(s->policy_sha);
    free(s->policy_params);
    s->policy_name = axf_xstrdup(name ? name : "");
    s->policy_sha = axf_xstrdup(sha256 ? sha256 : "");
    s->policy_params = params;
    s->dirty = 1;
    return 0;
}
