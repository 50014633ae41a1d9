/* Reading an experiment-results file ("results sidecar", written by scripts/experiment.sh, read by
 * `axf report --results`): measurements a session file cannot hold, namely the untouched report
 * split, the exported model's real speed and file size, and the search's cost with and without the
 * layer cache. Every field is checked for presence, type and range; a problem gives one line
 * naming the file and the field's path:
 *     "results.json: runs[0].speed.baseline_tok_s: expected a number"
 *     "results.json: runs[1].report.export: missing"
 *     "results.json: version: 2 is newer than this program reads (1); use a newer axf"
 *
 * ---- Format (JSON) ----
 * {
 *   "format": "axf-results",            constant
 *   "version": 1,                       a larger one is refused
 *   "runs": [ {                         one per session; every key but "session" is optional
 *     "session": "runs/x.json",         the session file; a relative path is taken from the
 *                                       results file's folder (`axf report` matches it to its
 *                                       SESSION arguments by real path, else by file name when
 *                                       that is unique)
 *     "label": "axformer (loss)",       legend/table name (--labels wins over it)
 *     "task": "sst2", "size": "big",    the configuration (shown in the table)
 *     "seed": 2,                        fine-tuning seed (the session's own seed is the policy's)
 *     "report": {                       the report split, never seen by the search
 *        "data": "…/dev.tsv", "n": 872, "metric_name": "accuracy",
 *        "baseline": <number>, "export": <number> },     task metric, fraction (F1/MCC: raw)
 *     "speed": {"baseline_tok_s": 5210.4, "export_tok_s": 8017.9},   same run, same data
 *     "file_bytes": {"baseline": 17443520, "export": 12004352},     model.safetensors sizes
 *     "search": {                       the `axf search` that produced the session
 *        "seconds": 81.2,               time of the search with the cache (the policy's own, as
 *                                       axf search reports it; else the command's wall time)
 *        "wall_seconds": 83.0,          the whole command (not read)
 *        "evals": 41,                   evaluations of the search split
 *        "layer_evals": 90,             encoder layers run over the search split
 *        "layer_evals_saved": 74,       layers not run thanks to the cache
 *        "seconds_nocache": 190.3,      the same search with the cache off (null = not run)
 *        "layer_evals_nocache": 164 }    without the cache: measured, or run + saved by the
 *                                       counters' definition (session.h) when not measured
 *   } , … ]
 * }
 * A number that was not measured is absent or null; it reads as NAN. An object that is absent or
 * null reads with present = 0 and every number NAN. */
#ifndef AXF_RESULTSFILE_H
#define AXF_RESULTSFILE_H

#include "axf/common.h"

typedef struct axf_results_run {
    char *session;                /* as written (never NULL) */
    char *label, *task, *size;    /* NULL when absent or null */
    double seed;                  /* in [0, 2^53], NAN when absent */
    struct {
        int present;
        double baseline, export_; /* required when present */
        double n;                 /* in [1, INT_MAX], NAN when absent */
        char *metric_name;        /* NULL when absent or null */
    } report;
    struct {
        int present;
        double baseline_tok_s, export_tok_s;
    } speed;
    struct {
        int present;
        double baseline, export_;
    } file_bytes;
    struct {
        int present;
        double seconds, evals, layer_evals, layer_evals_saved, seconds_nocache, layer_evals_nocache;
    } search;
} axf_results_run;

typedef struct axf_resultsfile {
    int version;
    int n_runs;
    axf_results_run *runs;
} axf_resultsfile;

/* Reads and validates the file at path into f (zeroed first). -1 with err naming the file and the
 * field; f then holds nothing to free (axf_resultsfile_free is harmless). */
int axf_resultsfile_read(const char *path, axf_resultsfile *f, axf_err *err);
void axf_resultsfile_free(axf_resultsfile *f);

#endif
