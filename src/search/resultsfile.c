/* The experiment-results reader (axf/resultsfile.h): typed field access whose errors name the
 * file and the field's path. The cJSON tree never leaves this file. */
#include "axf/resultsfile.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axf/fileio.h"

#define RESULTS_MAX_BYTES ((size_t)1 << 30)
#define OPT AXF_JSON_OPTIONAL

static int present(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return j && !cJSON_IsNull(j);
}

/* An optional string, copied: NULL when absent or null, an error when it is not a string. */
static int opt_str(axf_json_rd *v, const cJSON *o, const char *key, char **out)
{
    const char *s;
    *out = NULL;
    if (!present(o, key))
        return 0;
    if (axf_json_str(v, o, key, AXF_JSON_REQUIRED, &s))
        return -1;
    *out = axf_xstrdup(s);
    return 0;
}

/* A number of an object: key, accepted range, OPT or required, where it goes. */
typedef struct num_field {
    const char *key;
    double lo, hi;
    int flags;
    double *out;
} num_field;

#define NFIELDS(a) ((int)(sizeof a / sizeof a[0]))

/* The numbers f[0..n) of e's optional object key (NAN each when the object is absent); *o is the
 * object, NULL when absent or null. */
static int read_nums(axf_json_rd *v, const cJSON *e, const char *key, const num_field *f, int n, const cJSON **o)
{
    for (int i = 0; i < n; i++)
        *f[i].out = NAN;
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

static int read_run(axf_json_rd *v, const cJSON *e, axf_results_run *r)
{
    const cJSON *o;
    if (!cJSON_IsObject(e))
        return axf_json_fail(v, NULL, "expected an object");
    const char *session;
    if (axf_json_str(v, e, "session", AXF_JSON_REQUIRED, &session))
        return -1;
    r->session = axf_xstrdup(session);
    if (opt_str(v, e, "label", &r->label) || opt_str(v, e, "task", &r->task) || opt_str(v, e, "size", &r->size) ||
        axf_json_num(v, e, "seed", 0, 9007199254740992.0, OPT, &r->seed))
        return -1;
    const num_field report[] = {{"baseline", -1e9, 1e9, 0, &r->report.baseline},
                                {"export", -1e9, 1e9, 0, &r->report.export_},
                                {"n", 1, INT_MAX, OPT, &r->report.n}};
    const num_field speed[] = {{"baseline_tok_s", 1e-9, 1e15, OPT, &r->speed.baseline_tok_s},
                               {"export_tok_s", 1e-9, 1e15, OPT, &r->speed.export_tok_s}};
    const num_field bytes[] = {{"baseline", 1, 1e18, OPT, &r->file_bytes.baseline},
                               {"export", 1, 1e18, OPT, &r->file_bytes.export_}};
    const num_field search[] = {{"seconds", 0, 1e12, OPT, &r->search.seconds},
                                {"evals", 0, 1e15, OPT, &r->search.evals},
                                {"layer_evals", 0, 1e18, OPT, &r->search.layer_evals},
                                {"layer_evals_saved", 0, 1e18, OPT, &r->search.layer_evals_saved},
                                {"seconds_nocache", 0, 1e12, OPT, &r->search.seconds_nocache},
                                {"layer_evals_nocache", 0, 1e18, OPT, &r->search.layer_evals_nocache}};
    if (read_nums(v, e, "report", report, NFIELDS(report), &o))
        return -1;
    if ((r->report.present = o != NULL)) {
        size_t old = axf_json_push(v, "report", -1);
        if (opt_str(v, o, "metric_name", &r->report.metric_name))
            return -1;
        axf_json_pop(v, old);
    }
    if (read_nums(v, e, "speed", speed, NFIELDS(speed), &o))
        return -1;
    r->speed.present = o != NULL;
    if (read_nums(v, e, "file_bytes", bytes, NFIELDS(bytes), &o))
        return -1;
    r->file_bytes.present = o != NULL;
    if (read_nums(v, e, "search", search, NFIELDS(search), &o))
        return -1;
    r->search.present = o != NULL;
    return 0;
}

static void run_free(axf_results_run *r) { AXF_FREE(r->session, r->label, r->task, r->size, r->report.metric_name); }

int axf_resultsfile_read(const char *path, axf_resultsfile *f, axf_err *err)
{
    axf_json_rd v;
    const cJSON *runs, *e;
    memset(f, 0, sizeof *f);
    cJSON *root = axf_json_read_doc(path, RESULTS_MAX_BYTES, "axf-results", "results", 1, &f->version, &v, err);
    if (!root)
        return -1;
    int rc = -1;
    if (axf_json_arr(&v, root, "runs", 0, &runs))
        goto done;
    f->runs = axf_xcalloc((size_t)cJSON_GetArraySize(runs) + 1, sizeof *f->runs);
    cJSON_ArrayForEach(e, runs)
    {
        size_t old = axf_json_push(&v, "runs", f->n_runs);
        int bad = read_run(&v, e, &f->runs[f->n_runs]);
        f->n_runs++; /* counted even when bad, so that free releases what it holds */
        if (bad)
            goto done;
        axf_json_pop(&v, old);
    }
    rc = 0;
done:
    cJSON_Delete(root);
    if (rc)
        axf_resultsfile_free(f);
    return rc;
}

void axf_resultsfile_free(axf_resultsfile *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_runs; i++)
        run_free(&f->runs[i]);
    free(f->runs);
    memset(f, 0, sizeof *f);
}
