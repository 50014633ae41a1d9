/* `axf report`: what the loader extracts from session files (include/axf/session.h documents the
 * format, axf/sessionfile.h reads it) and from results sidecars (axf/resultsfile.h documents and
 * reads them), shared by the Markdown and SVG writers. Private to src/cli. */
#ifndef AXF_CLI_REPORT_H
#define AXF_CLI_REPORT_H

#include <stdio.h>

#include "axf/common.h"
#include "axf/sessionfile.h"

/* One METRICS object of a session file. */
typedef struct rep_metrics {
    double loss, accuracy, metric; /* accuracy NAN for regression */
    int n, n_no_worse;
    double params, flops, size;    /* params, FLOPs/token, float32 weight bytes */
} rep_metrics;

/* One session and whatever the sidecars say about it. NAN = not known. */
typedef struct rep_run {
    char *path;                  /* as given on the command line */
    char *label;                 /* legend and table name */
    char *policy;                /* policy name without ".lua" ("" when none) */
    int n_params;                /* policy parameters (none when there is no policy) */
    axf_sessionfile_param *params;
    char *task, *metric_name;    /* from the session's data / baseline */
    char *model_sha;             /* model identity: runs with the same one share a baseline */
    char *config;                /* task/size from the sidecar, else the session's task */
    char seed[24];               /* fine-tuning seed from the sidecar, else the policy seed, in
                                    decimal ("" = unknown) */
    rep_metrics base, final;     /* search split: original model, committed plan */
    int n_steps;                 /* history entries applied (cursor) */
    int distils;                 /* of those, distil steps (the label says "+ distil") */
    double *step_metric;         /* [n_steps + 1] search-split metric after each step, 0 = base */
    int n_trials;
    double step_seconds;         /* evaluation seconds recorded in the session */
    long long evals;             /* evaluations, reconstructed from the session unless given */
    /* from --results (NAN when absent) */
    double rep_base, rep_final;  /* report-split metric */
    int rep_n;
    double tok_base, tok_final;  /* measured tokens/s */
    double file_base, file_final;
    double wall, wall_nocache;
    double layer_evals, layer_saved, layer_nocache;
    int matched;                 /* a results entry was found */
} rep_run;

typedef struct rep_set {
    int n;
    rep_run *runs;
    int all_report;              /* every run has a report-split metric */
    const char *metric_name;     /* shared metric name, or "metric" when they differ */
    int delta;                   /* runs start from different models (seeds): plots show each
                                    run's change against its own original model */
} rep_set;

/* Loads and validates one session file into r (zeroed first). -1 with err = "FILE: field: problem". */
int rep_load_session(const char *path, rep_run *r, axf_err *err);
/* Applies a results sidecar to the runs it names. A run it names that is not among the sessions
 * is ignored (one sidecar serves several reports). */
int rep_apply_results(const char *path, rep_set *set, axf_err *err);
void rep_run_free(rep_run *r);
/* Fills labels that are still NULL, all_report and metric_name. */
void rep_finish(rep_set *set);

/* Writers; 0 ok, -1 with err naming the file. */
int rep_write_md(const rep_set *set, FILE *f);
int rep_write_svg(const rep_set *set, FILE *f);

/* Metric as shown: x100 for fractions in [0,1] metrics (accuracy, F1, MCC), as is otherwise. */
double rep_show(double metric);
/* Colour-blind-safe palette (Okabe & Ito), index taken modulo its size. */
const char *rep_colour(int i);

#endif
