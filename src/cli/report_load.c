/* `axf report` input: session files and results sidecars, read with cJSON and validated field by
 * field so that a truncated or hand-edited file gives one line naming the file and the field
 * instead of a plot with holes in it. Reads the format directly (not through the session API)
 * because a report must not need the models and data the sessions were made from. */
#include "report.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "axf/fileio.h"
#include "axf/session.h"

/* Where we are in the document, for error messages: "history[3].after.loss". */
typedef struct vctx {
    const char *file;
    char at[160];
    axf_err *err;
} vctx;

static int verr(vctx *v, const char *key, const char *what)
{
    return axf_err_set(v->err, "%s: %s%s%s: %s", v->file, v->at, *v->at && key ? "." : "",
                       key ? key : "", what);
}

/* Push a path element; returns the previous length to pop back to. */
static size_t vpush(vctx *v, const char *key, int index)
{
    size_t old = strlen(v->at);
    if (index >= 0)
        snprintf(v->at + old, sizeof v->at - old, "%s%s[%d]", old ? "." : "", key, index);
    else
        snprintf(v->at + old, sizeof v->at - old, "%s%s", old ? "." : "", key);
    return old;
}

static void vpop(vctx *v, size_t old) { v->at[old] = 0; }

/* Parses a whole file as one JSON value; the error gives the line of the failure. */
static cJSON *parse_file(const char *path, axf_err *err)
{
    size_t len;
    char *text = axf_io_read_file(path, (size_t)1 << 30, &len, err);
    if (!text)
        return NULL;
    cJSON *root = NULL;
    if (axf_json_check(text, len, path, err) == 0 && !(root = cJSON_ParseWithLength(text, len)))
        axf_err_set(err, "%s: invalid JSON", path);
    free(text);
    return root;
}

/* ---- typed field access ---- */

static const cJSON *field(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return j && !cJSON_IsNull(j) ? j : NULL;
}

static int need_obj(vctx *v, const cJSON *o, const char *key, const cJSON **out)
{
    const cJSON *j = field(o, key);
    if (!j)
        return verr(v, key, "missing");
    if (!cJSON_IsObject(j))
        return verr(v, key, "expected an object");
    *out = j;
    return 0;
}

static int need_arr(vctx *v, const cJSON *o, const char *key, const cJSON **out)
{
    const cJSON *j = field(o, key);
    if (!j)
        return verr(v, key, "missing");
    if (!cJSON_IsArray(j))
        return verr(v, key, "expected an array");
    *out = j;
    return 0;
}

static int need_str(vctx *v, const cJSON *o, const char *key, const char **out)
{
    const cJSON *j = field(o, key);
    if (!j)
        return verr(v, key, "missing");
    if (!cJSON_IsString(j))
        return verr(v, key, "expected a string");
    *out = j->valuestring;
    return 0;
}

/* Numbers: finite and within [lo, hi]. optional: absent or null gives NAN. */
static int get_num(vctx *v, const cJSON *o, const char *key, double lo, double hi, int optional,
                   double *out)
{
    const cJSON *j = field(o, key);
    if (!j) {
        if (optional) {
            *out = NAN;
            return 0;
        }
        return verr(v, key, "missing");
    }
    if (!cJSON_IsNumber(j))
        return verr(v, key, "expected a number");
    double x = j->valuedouble;
    if (!isfinite(x) || x < lo || x > hi) {
        char msg[96];
        snprintf(msg, sizeof msg, "%g is out of range [%g, %g]", x, lo, hi);
        return verr(v, key, msg);
    }
    *out = x;
    return 0;
}

static int get_int(vctx *v, const cJSON *o, const char *key, double lo, double hi, int *out)
{
    double x;
    if (get_num(v, o, key, lo, hi, 0, &x))
        return -1;
    if (x != floor(x))
        return verr(v, key, "expected an integer");
    *out = (int)x;
    return 0;
}

static int load_metrics(vctx *v, const cJSON *o, const char *key, int index, rep_metrics *m,
                        const char **metric_name)
{
    const cJSON *j = index >= 0 ? cJSON_GetArrayItem(o, index) : field(o, key);
    size_t old = vpush(v, key, index);
    int rc = -1;
    if (!j) {
        vpop(v, old);
        return verr(v, key, "missing");
    }
    if (!cJSON_IsObject(j)) {
        rc = verr(v, NULL, "expected a METRICS object");
        goto done;
    }
    const double big = 1e18;
    if (get_num(v, j, "loss", 0, big, 0, &m->loss) || get_num(v, j, "metric", -big, big, 0, &m->metric) ||
        get_num(v, j, "accuracy", 0, 1, 1, &m->accuracy) ||
        get_int(v, j, "n", 1, INT_MAX, &m->n) || get_int(v, j, "n_no_worse", 0, m->n, &m->n_no_worse) ||
        get_num(v, j, "params", 1, big, 0, &m->params) ||
        get_num(v, j, "flops_per_token", 0, big, 0, &m->flops) ||
        get_num(v, j, "size_bytes", 1, big, 0, &m->size))
        goto done;
    const char *name;
    if (need_str(v, j, "metric_name", &name))
        goto done;
    if (strcmp(name, "accuracy") && strcmp(name, "f1") && strcmp(name, "mcc") && strcmp(name, "pearson")) {
        rc = verr(v, "metric_name", "expected accuracy, f1, mcc or pearson");
        goto done;
    }
    if (metric_name)
        *metric_name = name;
    rc = 0;
done:
    vpop(v, old);
    return rc;
}

static char *policy_params_text(const cJSON *params)
{
    if (!params)
        return axf_xstrdup("{}");
    char *s = cJSON_PrintUnformatted(params);
    char *out = axf_xstrdup(s ? s : "{}");
    cJSON_free(s);
    return out;
}

/* Every history step must apply a non-empty list of actions with an "op" each. */
static int check_actions(vctx *v, const cJSON *entry)
{
    const cJSON *acts;
    if (need_arr(v, entry, "actions", &acts))
        return -1;
    if (cJSON_GetArraySize(acts) < 1)
        return verr(v, "actions", "empty (a step applies at least one action)");
    int i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, acts)
    {
        size_t old = vpush(v, "actions", i++);
        const char *op;
        int rc = cJSON_IsObject(a) ? need_str(v, a, "op", &op) : verr(v, NULL, "expected an object");
        vpop(v, old);
        if (rc)
            return -1;
    }
    return 0;
}

int rep_load_session(const char *path, rep_run *r, axf_err *err)
{
    memset(r, 0, sizeof *r);
    r->path = axf_xstrdup(path);
    r->rep_base = r->rep_final = NAN;
    r->tok_base = r->tok_final = r->file_base = r->file_final = NAN;
    r->wall = r->wall_nocache = r->layer_evals = r->layer_saved = r->layer_nocache = NAN;
    cJSON *root = parse_file(path, err);
    if (!root)
        return -1;
    vctx v = {.file = path, .err = err};
    int rc = -1;
    const char *s;
    const cJSON *model, *data, *hist, *o;
    if (!cJSON_IsObject(root)) {
        axf_err_set(err, "%s: not a session file (top level is not an object)", path);
        goto done;
    }
    if (need_str(&v, root, "format", &s))
        goto done;
    if (strcmp(s, "axf-session")) {
        verr(&v, "format", "not \"axf-session\"");
        goto done;
    }
    int version;
    if (get_int(&v, root, "version", 1, INT_MAX, &version))
        goto done;
    if (version > AXF_SESSION_VERSION) {
        char msg[96];
        snprintf(msg, sizeof msg, "%d is newer than this program reads (%d)", version, AXF_SESSION_VERSION);
        verr(&v, "version", msg);
        goto done;
    }
    if (need_obj(&v, root, "model", &model) || need_obj(&v, root, "data", &data))
        goto done;
    size_t old = vpush(&v, "model", -1);
    if (need_str(&v, model, "sha256", &s))
        goto done;
    if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64) {
        verr(&v, "sha256", "expected 64 lowercase hex digits");
        goto done;
    }
    r->model_sha = axf_xstrdup(s);
    vpop(&v, old);
    old = vpush(&v, "data", -1);
    if (need_str(&v, data, "task", &s))
        goto done;
    r->task = axf_xstrdup(s);
    vpop(&v, old);

    const char *mname;
    if (load_metrics(&v, root, "baseline", -1, &r->base, &mname))
        goto done;
    r->metric_name = axf_xstrdup(mname);

    o = field(root, "policy");
    if (o && !cJSON_IsObject(o)) {
        verr(&v, "policy", "expected an object or null");
        goto done;
    }
    if (o) {
        old = vpush(&v, "policy", -1);
        if (need_str(&v, o, "name", &s))
            goto done;
        const char *base = strrchr(s, '/');
        base = base ? base + 1 : s;
        size_t bl = strlen(base);
        r->policy = axf_xstrdup(base);
        if (bl > 4 && !strcmp(base + bl - 4, ".lua"))
            r->policy[bl - 4] = 0;
        const cJSON *p = field(o, "params");
        if (p && !cJSON_IsObject(p)) {
            verr(&v, "params", "expected an object");
            goto done;
        }
        r->params = policy_params_text(p);
        vpop(&v, old);
    } else {
        r->policy = axf_xstrdup("");
        r->params = axf_xstrdup("{}");
    }
    /* The seed is a uint64 written as a decimal string (a JSON number would round it); older
     * files wrote a number. Shown only, so a double is enough here. */
    o = field(root, "seed");
    if (cJSON_IsString(o)) {
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(o->valuestring, &end, 10);
        if (errno || end == o->valuestring || *end || o->valuestring[0] == '-') {
            verr(&v, "seed", "expected a decimal unsigned integer");
            goto done;
        }
        snprintf(r->seed, sizeof r->seed, "%llu", seed);
    } else {
        double seed;
        if (get_num(&v, root, "seed", 0, 9007199254740992.0, 1, &seed))
            goto done;
        if (!isnan(seed))
            snprintf(r->seed, sizeof r->seed, "%.0f", seed);
    }

    if (need_arr(&v, root, "history", &hist))
        goto done;
    int n_hist = cJSON_GetArraySize(hist), cursor;
    if (get_int(&v, root, "cursor", 0, n_hist, &cursor))
        goto done;
    r->n_steps = cursor;
    r->step_metric = axf_xmalloc(sizeof(double) * (size_t)(cursor + 1));
    r->step_metric[0] = r->base.metric;
    r->final = r->base;
    r->evals = 1; /* the baseline */
    const cJSON *trials = field(root, "trials");
    if (trials && !cJSON_IsArray(trials)) {
        verr(&v, "trials", "expected an array");
        goto done;
    }
    for (int i = 0; i < n_hist; i++) {
        const cJSON *e = cJSON_GetArrayItem(hist, i);
        old = vpush(&v, "history", i);
        if (!cJSON_IsObject(e)) {
            verr(&v, NULL, "expected an object");
            goto done;
        }
        rep_metrics after, before;
        double sec;
        if (check_actions(&v, e) || load_metrics(&v, e, "before", -1, &before, NULL) ||
            load_metrics(&v, e, "after", -1, &after, NULL) || get_num(&v, e, "seconds", 0, 1e9, 0, &sec))
            goto done;
        r->step_seconds += sec;
        /* An apply re-uses the latest trial of the same actions on the same plan; count the
         * evaluation only when no trial made at this cursor tried exactly these actions. */
        int reused = 0;
        const cJSON *t;
        if (trials)
            cJSON_ArrayForEach(t, trials)
            {
                const cJSON *tc = field(t, "cursor");
                if (cJSON_IsNumber(tc) && tc->valuedouble == i &&
                    cJSON_Compare(field(t, "actions"), field(e, "actions"), 1))
                    reused = 1;
            }
        r->evals += !reused;
        if (i < cursor) {
            r->step_metric[i + 1] = after.metric;
            r->final = after;
        }
        vpop(&v, old);
    }
    if (trials) {
        int i = 0;
        const cJSON *t;
        cJSON_ArrayForEach(t, trials)
        {
            old = vpush(&v, "trials", i++);
            double sec, tc;
            rep_metrics m;
            if (!cJSON_IsObject(t)) {
                verr(&v, NULL, "expected an object");
                goto done;
            }
            if (get_num(&v, t, "cursor", 0, n_hist, 0, &tc) || check_actions(&v, t) ||
                get_num(&v, t, "seconds", 0, 1e9, 0, &sec) || load_metrics(&v, t, "metrics", -1, &m, NULL))
                goto done;
            r->step_seconds += sec;
            r->n_trials++;
            vpop(&v, old);
        }
        r->evals += r->n_trials;
    }
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

void rep_run_free(rep_run *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->label);
    free(r->policy);
    free(r->params);
    free(r->task);
    free(r->metric_name);
    free(r->model_sha);
    free(r->config);
    free(r->step_metric);
}

/* ---- results sidecar ---- */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The run a sidecar entry names: same real path, else the only run with that file name. */
static rep_run *find_run(rep_set *set, const char *results_path, const char *name)
{
    char full[4096], want[PATH_MAX], have[PATH_MAX];
    if (name[0] != '/' && strchr(results_path, '/')) {
        int dl = (int)(base_name(results_path) - results_path);
        snprintf(full, sizeof full, "%.*s%s", dl, results_path, name);
    } else {
        snprintf(full, sizeof full, "%s", name);
    }
    if (realpath(full, want))
        for (int i = 0; i < set->n; i++)
            if (realpath(set->runs[i].path, have) && !strcmp(want, have))
                return &set->runs[i];
    rep_run *hit = NULL;
    for (int i = 0; i < set->n; i++)
        if (!strcmp(base_name(set->runs[i].path), base_name(name))) {
            if (hit)
                return NULL;
            hit = &set->runs[i];
        }
    return hit;
}

static int apply_entry(vctx *v, const cJSON *e, rep_run *r)
{
    const cJSON *o;
    const char *s;
    r->matched = 1;
    if ((o = field(e, "label"))) {
        if (!cJSON_IsString(o))
            return verr(v, "label", "expected a string");
        free(r->label);
        r->label = axf_xstrdup(o->valuestring);
    }
    const char *task = NULL, *size = NULL;
    if ((o = field(e, "task")) && !(task = cJSON_GetStringValue(o)))
        return verr(v, "task", "expected a string");
    if ((o = field(e, "size")) && !(size = cJSON_GetStringValue(o)))
        return verr(v, "size", "expected a string");
    if (task || size) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s%s%s", task ? task : (r->task ? r->task : ""), size ? "/" : "",
                 size ? size : "");
        free(r->config);
        r->config = axf_xstrdup(buf);
    }
    double seed;
    if (get_num(v, e, "seed", 0, 9007199254740992.0, 1, &seed))
        return -1;
    if (!isnan(seed))
        snprintf(r->seed, sizeof r->seed, "%.0f", seed);
    size_t old;
    if ((o = field(e, "report"))) {
        old = vpush(v, "report", -1);
        if (!cJSON_IsObject(o))
            return verr(v, NULL, "expected an object");
        double n;
        if (get_num(v, o, "baseline", -1e9, 1e9, 0, &r->rep_base) ||
            get_num(v, o, "export", -1e9, 1e9, 0, &r->rep_final) || get_num(v, o, "n", 1, INT_MAX, 1, &n))
            return -1;
        r->rep_n = isnan(n) ? 0 : (int)n;
        if ((o = field(o, "metric_name")) && (s = cJSON_GetStringValue(o)) && r->metric_name &&
            strcmp(s, r->metric_name))
            return verr(v, "metric_name", "differs from the session's metric");
        vpop(v, old);
    }
    if ((o = field(e, "speed"))) {
        old = vpush(v, "speed", -1);
        if (!cJSON_IsObject(o))
            return verr(v, NULL, "expected an object");
        if (get_num(v, o, "baseline_tok_s", 1e-9, 1e15, 1, &r->tok_base) ||
            get_num(v, o, "export_tok_s", 1e-9, 1e15, 1, &r->tok_final))
            return -1;
        vpop(v, old);
    }
    if ((o = field(e, "file_bytes"))) {
        old = vpush(v, "file_bytes", -1);
        if (!cJSON_IsObject(o))
            return verr(v, NULL, "expected an object");
        if (get_num(v, o, "baseline", 1, 1e18, 1, &r->file_base) || get_num(v, o, "export", 1, 1e18, 1, &r->file_final))
            return -1;
        vpop(v, old);
    }
    if ((o = field(e, "search"))) {
        old = vpush(v, "search", -1);
        if (!cJSON_IsObject(o))
            return verr(v, NULL, "expected an object");
        double evals;
        if (get_num(v, o, "seconds", 0, 1e12, 1, &r->wall) || get_num(v, o, "evals", 0, 1e15, 1, &evals) ||
            get_num(v, o, "layer_evals", 0, 1e18, 1, &r->layer_evals) ||
            get_num(v, o, "layer_evals_saved", 0, 1e18, 1, &r->layer_saved) ||
            get_num(v, o, "seconds_nocache", 0, 1e12, 1, &r->wall_nocache) ||
            get_num(v, o, "layer_evals_nocache", 0, 1e18, 1, &r->layer_nocache))
            return -1;
        if (!isnan(evals))
            r->evals = (long long)evals;
        vpop(v, old);
    }
    return 0;
}

int rep_apply_results(const char *path, rep_set *set, axf_err *err)
{
    cJSON *root = parse_file(path, err);
    if (!root)
        return -1;
    vctx v = {.file = path, .err = err};
    int rc = -1, version;
    const char *s;
    const cJSON *runs, *e;
    if (!cJSON_IsObject(root)) {
        axf_err_set(err, "%s: not a results file (top level is not an object)", path);
        goto done;
    }
    if (need_str(&v, root, "format", &s))
        goto done;
    if (strcmp(s, "axf-results")) {
        verr(&v, "format", "not \"axf-results\"");
        goto done;
    }
    if (get_int(&v, root, "version", 1, INT_MAX, &version))
        goto done;
    if (version > 1) {
        verr(&v, "version", "newer than this program reads (1)");
        goto done;
    }
    if (need_arr(&v, root, "runs", &runs))
        goto done;
    int i = 0;
    cJSON_ArrayForEach(e, runs)
    {
        size_t old = vpush(&v, "runs", i++);
        if (!cJSON_IsObject(e)) {
            verr(&v, NULL, "expected an object");
            goto done;
        }
        if (need_str(&v, e, "session", &s))
            goto done;
        /* Entries for other reports are validated too: a broken sidecar is broken. */
        rep_run *r = find_run(set, path, s), dummy;
        if (!r) {
            memset(&dummy, 0, sizeof dummy);
            r = &dummy;
        }
        int bad = apply_entry(&v, e, r);
        if (r == &dummy)
            rep_run_free(&dummy);
        if (bad)
            goto done;
        vpop(&v, old);
    }
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

/* Default label: the policy and those of its parameters whose value differs between the sessions
 * of that policy ("axformer (accept=loss)"); parameters every session shares only clutter. */
static char *default_label(const rep_set *set, int i)
{
    const rep_run *r = &set->runs[i];
    char buf[256];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s", *r->policy ? r->policy : "manual");
    cJSON *p = cJSON_Parse(r->params);
    int first = 1;
    const cJSON *it;
    cJSON_ArrayForEach(it, p)
    {
        int differs = 0;
        for (int j = 0; j < set->n && !differs; j++) {
            if (j == i || strcmp(set->runs[j].policy, r->policy))
                continue;
            cJSON *q = cJSON_Parse(set->runs[j].params);
            differs = !cJSON_Compare(it, cJSON_GetObjectItemCaseSensitive(q, it->string), 1);
            cJSON_Delete(q);
        }
        char val[48];
        if (!differs)
            continue;
        if (cJSON_IsString(it))
            snprintf(val, sizeof val, "%s", it->valuestring);
        else if (cJSON_IsNumber(it))
            snprintf(val, sizeof val, "%g", it->valuedouble);
        else if (cJSON_IsBool(it))
            snprintf(val, sizeof val, "%s", cJSON_IsTrue(it) ? "true" : "false");
        else
            snprintf(val, sizeof val, "…");
        if (n < sizeof buf)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s=%s", first ? " (" : ", ", it->string, val);
        first = 0;
    }
    if (!first && n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, ")");
    cJSON_Delete(p);
    return axf_xstrdup(buf);
}

void rep_finish(rep_set *set)
{
    set->all_report = set->n > 0;
    set->metric_name = set->n ? set->runs[0].metric_name : "metric";
    for (int i = 0; i < set->n; i++) {
        rep_run *r = &set->runs[i];
        if (!r->label)
            r->label = default_label(set, i);
        if (!r->config)
            r->config = axf_xstrdup(r->task);
        if (isnan(r->rep_base) || isnan(r->rep_final))
            set->all_report = 0;
        if (strcmp(r->metric_name, set->metric_name))
            set->metric_name = "metric";
        if (strcmp(r->model_sha, set->runs[0].model_sha))
            set->delta = 1;
    }
}

double rep_show(double metric) { return 100.0 * metric; }

const char *rep_colour(int i)
{
    /* Okabe-Ito without yellow (too pale on white) and black (kept for the baseline). */
    static const char *pal[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#595959"};
    int n = (int)(sizeof pal / sizeof pal[0]);
    return pal[((i % n) + n) % n];
}
