/* `axf report` input: session files (through the one reader of the format, axf/sessionfile.h,
 * which needs neither the models nor the data the sessions were made from) and results
 * sidecars, validated field by field so that a truncated or hand-edited file gives one line
 * naming the file and the field instead of a plot with holes in it. */
#include "report.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "axf/fileio.h"
#include "axf/sessionfile.h"

static void to_rep(const axf_metrics *m, rep_metrics *out)
{
    out->loss = m->loss;
    out->accuracy = m->accuracy;
    out->metric = m->metric;
    out->n = m->n;
    out->n_no_worse = m->n_no_worse;
    out->params = (double)m->params;
    out->flops = m->flops_per_token;
    out->size = (double)m->size_bytes;
}

static int same_actions(const axf_action *a, int na, const axf_action *b, int nb)
{
    return na == nb && !memcmp(a, b, sizeof *a * (size_t)na);
}

int rep_load_session(const char *path, rep_run *r, axf_err *err)
{
    memset(r, 0, sizeof *r);
    r->path = axf_xstrdup(path);
    r->rep_base = r->rep_final = NAN;
    r->tok_base = r->tok_final = r->file_base = r->file_final = NAN;
    r->wall = r->wall_nocache = r->layer_evals = r->layer_saved = r->layer_nocache = NAN;
    axf_sessionfile f;
    if (axf_sessionfile_read(path, &f, err))
        return -1;
    r->model_sha = axf_xstrdup(f.model_sha);
    r->task = axf_xstrdup(f.task);
    r->metric_name = axf_xstrdup(f.metric_name);
    to_rep(&f.baseline, &r->base);
    /* the policy's file name without folder and ".lua" */
    const char *base = strrchr(f.policy_name, '/');
    base = base ? base + 1 : f.policy_name;
    size_t bl = strlen(base);
    r->policy = axf_xstrdup(base);
    if (bl > 4 && !strcmp(base + bl - 4, ".lua"))
        r->policy[bl - 4] = 0;
    r->params = axf_xstrdup(f.policy_params);
    snprintf(r->seed, sizeof r->seed, "%llu", (unsigned long long)f.seed);

    r->n_steps = f.cursor;
    r->step_metric = axf_xmalloc(sizeof(double) * (size_t)(f.cursor + 1));
    r->step_metric[0] = r->base.metric;
    r->final = r->base;
    r->evals = 1; /* the baseline */
    for (int i = 0; i < f.n_steps; i++) {
        const axf_sessionfile_step *h = &f.steps[i];
        r->step_seconds += h->seconds;
        /* An apply re-uses the latest trial of the same actions on the same plan; count the
         * evaluation only when no trial made at this cursor tried exactly these actions. */
        int reused = 0;
        for (int t = 0; t < f.n_trials && !reused; t++)
            reused = f.trials[t].cursor == i &&
                     same_actions(f.trials[t].actions, f.trials[t].n_actions, h->actions, h->n_actions);
        r->evals += !reused;
        if (i < f.cursor) {
            r->step_metric[i + 1] = h->after.metric;
            to_rep(&h->after, &r->final);
        }
    }
    for (int t = 0; t < f.n_trials; t++)
        r->step_seconds += f.trials[t].seconds;
    r->n_trials = f.n_trials;
    r->evals += f.n_trials;
    axf_sessionfile_free(&f);
    return 0;
}

void rep_run_free(rep_run *r)
{
    if (!r)
        return;
    void *owned[] = {r->path,        r->label,     r->policy, r->params,     r->task,
                     r->metric_name, r->model_sha, r->config, r->step_metric};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        free(owned[i]);
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

static int present(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return j && !cJSON_IsNull(j);
}

/* An optional string: NULL when absent or null. */
static int opt_str(axf_json_rd *v, const cJSON *o, const char *key, const char **out)
{
    *out = NULL;
    return present(o, key) ? axf_json_str(v, o, key, AXF_JSON_REQUIRED, out) : 0;
}

#define OPT AXF_JSON_OPTIONAL

/* A number of a sidecar object: key, accepted range, OPT or 0, where it goes. */
typedef struct {
    const char *key;
    double lo, hi;
    int flags;
    double *out;
} num_field;

#define NFIELDS(a) ((int)(sizeof a / sizeof a[0]))

/* The numbers f[0..n) of e's optional object key (*o: the object, NULL when absent). */
static int read_nums(axf_json_rd *v, const cJSON *e, const char *key, const num_field *f, int n, const cJSON **o)
{
    if (axf_json_obj(v, e, key, OPT, o))
        return -1;
    if (!*o)
        return 0;
    size_t old = axf_json_push(v, key, -1);
    for (int i = 0; i < n; i++)
        if (axf_json_num(v, *o, f[i].key, f[i].lo, f[i].hi, f[i].flags, f[i].out))
            return -1;
    axf_json_pop(v, old);
    return 0;
}

static int apply_entry(axf_json_rd *v, const cJSON *e, rep_run *r)
{
    const cJSON *o;
    const char *s, *task, *size;
    size_t old;
    r->matched = 1;
    if (opt_str(v, e, "label", &s))
        return -1;
    if (s) {
        free(r->label);
        r->label = axf_xstrdup(s);
    }
    if (opt_str(v, e, "task", &task) || opt_str(v, e, "size", &size))
        return -1;
    if (task || size) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s%s%s", task ? task : (r->task ? r->task : ""), size ? "/" : "",
                 size ? size : "");
        free(r->config);
        r->config = axf_xstrdup(buf);
    }
    double seed;
    if (axf_json_num(v, e, "seed", 0, 9007199254740992.0, OPT, &seed))
        return -1;
    if (!isnan(seed))
        snprintf(r->seed, sizeof r->seed, "%.0f", seed);
    double n = NAN, evals = NAN;
    const num_field report[] = {{"baseline", -1e9, 1e9, 0, &r->rep_base},
                                {"export", -1e9, 1e9, 0, &r->rep_final},
                                {"n", 1, INT_MAX, OPT, &n}};
    const num_field speed[] = {{"baseline_tok_s", 1e-9, 1e15, OPT, &r->tok_base},
                               {"export_tok_s", 1e-9, 1e15, OPT, &r->tok_final}};
    const num_field bytes[] = {{"baseline", 1, 1e18, OPT, &r->file_base}, {"export", 1, 1e18, OPT, &r->file_final}};
    const num_field search[] = {{"seconds", 0, 1e12, OPT, &r->wall},
                                {"evals", 0, 1e15, OPT, &evals},
                                {"layer_evals", 0, 1e18, OPT, &r->layer_evals},
                                {"layer_evals_saved", 0, 1e18, OPT, &r->layer_saved},
                                {"seconds_nocache", 0, 1e12, OPT, &r->wall_nocache},
                                {"layer_evals_nocache", 0, 1e18, OPT, &r->layer_nocache}};
    if (read_nums(v, e, "report", report, NFIELDS(report), &o))
        return -1;
    if (o) {
        r->rep_n = isnan(n) ? 0 : (int)n;
        old = axf_json_push(v, "report", -1);
        if (opt_str(v, o, "metric_name", &s))
            return -1;
        if (s && r->metric_name && strcmp(s, r->metric_name))
            return axf_json_fail(v, "metric_name", "differs from the session's metric");
        axf_json_pop(v, old);
    }
    if (read_nums(v, e, "speed", speed, NFIELDS(speed), &o) ||
        read_nums(v, e, "file_bytes", bytes, NFIELDS(bytes), &o) ||
        read_nums(v, e, "search", search, NFIELDS(search), &o))
        return -1;
    if (!isnan(evals))
        r->evals = (long long)evals;
    return 0;
}

int rep_apply_results(const char *path, rep_set *set, axf_err *err)
{
    axf_json_rd v;
    int rc = -1, version;
    const char *s;
    const cJSON *runs, *e;
    cJSON *root = axf_json_read_doc(path, (size_t)1 << 30, "axf-results", "results", 1, &version, &v, err);
    if (!root)
        return -1;
    if (axf_json_arr(&v, root, "runs", 0, &runs))
        goto done;
    int i = 0;
    cJSON_ArrayForEach(e, runs)
    {
        size_t old = axf_json_push(&v, "runs", i++);
        if (!cJSON_IsObject(e)) {
            axf_json_fail(&v, NULL, "expected an object");
            goto done;
        }
        if (axf_json_str(&v, e, "session", 0, &s))
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
        axf_json_pop(&v, old);
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
