/* `axf report` input: session files (through the one reader of the format, axf/sessionfile.h,
 * which needs neither the models nor the data the sessions were made from) and results sidecars
 * (axf/resultsfile.h), both validated field by field by their readers so that a truncated or
 * hand-edited file gives one line naming the file and the field instead of a plot with holes in
 * it. Here: what a report shows of them, and which sidecar entry belongs to which session. */
#include "report.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axf/resultsfile.h"

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
    r->n_params = f.n_params;
    r->params = f.params;
    f.n_params = 0;
    f.params = NULL;
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
            r->distils += h->distil != NULL;
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
    axf_sessionfile_params_free(r->params, r->n_params);
    AXF_FREE(r->path, r->label, r->policy, r->task, r->metric_name, r->model_sha, r->config, r->step_metric);
}

/* ---- results sidecar ---- */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The run a sidecar entry names: same real path, else the only session file of that name. One
 * session given several times (scripts/experiment.sh: a search result as it is, "+ distill" and
 * "+ distill + int8", each an entry of its own naming the same session) is several runs: the k-th
 * entry naming it goes to the k-th of them (used[] marks those taken by this sidecar); an entry
 * beyond their number goes to the first. */
static rep_run *find_run(rep_set *set, const char *results_path, const char *name, unsigned char *used)
{
    char full[4096], want[PATH_MAX], have[PATH_MAX];
    if (name[0] != '/' && strchr(results_path, '/')) {
        int dl = (int)(base_name(results_path) - results_path);
        snprintf(full, sizeof full, "%.*s%s", dl, results_path, name);
    } else {
        snprintf(full, sizeof full, "%s", name);
    }
    int first = -1, free_i = -1;
    if (realpath(full, want))
        for (int i = 0; i < set->n && free_i < 0; i++)
            if (realpath(set->runs[i].path, have) && !strcmp(want, have)) {
                if (first < 0)
                    first = i;
                if (!used[i])
                    free_i = i;
            }
    if (first < 0) {
        const char *hit = NULL;
        for (int i = 0; i < set->n; i++) {
            if (strcmp(base_name(set->runs[i].path), base_name(name)))
                continue;
            if (hit && strcmp(hit, set->runs[i].path))
                return NULL;   /* two different files of that name: ambiguous */
            hit = set->runs[i].path;
            if (first < 0)
                first = i;
            if (free_i < 0 && !used[i])
                free_i = i;
        }
    }
    int i = free_i >= 0 ? free_i : first;
    if (i < 0)
        return NULL;
    used[i] = 1;
    return &set->runs[i];
}

/* What entry i of the sidecar at path says about its run r. */
static int apply_entry(const char *path, int i, const axf_results_run *e, rep_run *r, axf_err *err)
{
    r->matched = 1;
    if (e->label) {
        free(r->label);
        r->label = axf_xstrdup(e->label);
    }
    if (e->task || e->size) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s%s%s", e->task ? e->task : (r->task ? r->task : ""), e->size ? "/" : "",
                 e->size ? e->size : "");
        free(r->config);
        r->config = axf_xstrdup(buf);
    }
    if (!isnan(e->seed))
        snprintf(r->seed, sizeof r->seed, "%.0f", e->seed);
    if (e->report.present) {
        if (e->report.metric_name && r->metric_name && strcmp(e->report.metric_name, r->metric_name))
            return axf_err_set(err, "%s: runs[%d].report.metric_name: differs from the session's metric", path, i);
        r->rep_base = e->report.baseline;
        r->rep_final = e->report.export_;
        r->rep_n = isnan(e->report.n) ? 0 : (int)e->report.n;
    }
    if (e->speed.present) {
        r->tok_base = e->speed.baseline_tok_s;
        r->tok_final = e->speed.export_tok_s;
    }
    if (e->file_bytes.present) {
        r->file_base = e->file_bytes.baseline;
        r->file_final = e->file_bytes.export_;
    }
    if (e->search.present) {
        r->wall = e->search.seconds;
        r->layer_evals = e->search.layer_evals;
        r->layer_saved = e->search.layer_evals_saved;
        r->wall_nocache = e->search.seconds_nocache;
        r->layer_nocache = e->search.layer_evals_nocache;
        if (!isnan(e->search.evals))
            r->evals = (long long)e->search.evals;
    }
    return 0;
}

int rep_apply_results(const char *path, rep_set *set, axf_err *err)
{
    axf_resultsfile f;
    if (axf_resultsfile_read(path, &f, err))
        return -1;
    int rc = 0;
    /* Entries for other reports were validated too by the reader: a broken sidecar is broken. */
    unsigned char *used = axf_xcalloc(set->n > 0 ? (size_t)set->n : 1, 1);
    for (int i = 0; i < f.n_runs && !rc; i++) {
        rep_run *r = find_run(set, path, f.runs[i].session, used);
        if (r)
            rc = apply_entry(path, i, &f.runs[i], r, err);
    }
    free(used);
    axf_resultsfile_free(&f);
    return rc;
}

static const axf_sessionfile_param *find_param(const rep_run *r, const char *key)
{
    for (int k = 0; k < r->n_params; k++)
        if (!strcmp(r->params[k].key, key))
            return &r->params[k];
    return NULL;
}

/* Default label: the policy and those of its parameters whose value differs between the sessions
 * of that policy ("axformer (accept=loss)"); parameters every session shares only clutter. */
static char *default_label(const rep_set *set, int i)
{
    const rep_run *r = &set->runs[i];
    char buf[256];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s", *r->policy ? r->policy : "manual");
    int first = 1;
    for (int k = 0; k < r->n_params; k++) {
        const axf_sessionfile_param *it = &r->params[k];
        int differs = 0;
        for (int j = 0; j < set->n && !differs; j++) {
            if (j == i || strcmp(set->runs[j].policy, r->policy))
                continue;
            const axf_sessionfile_param *q = find_param(&set->runs[j], it->key);
            differs = !q || strcmp(q->json, it->json);
        }
        char val[48];
        if (!differs)
            continue;
        if (it->kind == AXF_PARAM_STRING)
            snprintf(val, sizeof val, "%s", it->str);
        else if (it->kind == AXF_PARAM_NUMBER)
            snprintf(val, sizeof val, "%g", it->num);
        else if (it->kind == AXF_PARAM_BOOL)
            snprintf(val, sizeof val, "%s", it->num ? "true" : "false");
        else
            snprintf(val, sizeof val, "…");
        if (n < sizeof buf)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s=%s", first ? " (" : ", ", it->key, val);
        first = 0;
    }
    if (!first && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, ")");
    if (r->distils && n < sizeof buf) /* recovered by distillation (issue 18) */
        snprintf(buf + n, sizeof buf - n, r->distils > 1 ? " + distil ×%d" : " + distil", r->distils);
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
