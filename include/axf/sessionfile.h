/* Reading a session file (the format include/axf/session.h documents) without its model or its
 * data: the one reader of the format, used by axf_session_load (and so by `axf replay` and the
 * screen) and by `axf report`. Every field is checked for presence, type and range, and a
 * problem gives one line naming the file and the field's path:
 *     "runs/x.json: history[3].after.loss: missing"
 *     "runs/x.json: trials[2].actions[0].op: unknown operation 'explode'"
 *     "runs/x.json: line 40: truncated JSON (ends early)"
 * What needs the model (do the actions apply, is the sha256 the model's) is checked by
 * axf_session_load. */
#ifndef AXF_SESSIONFILE_H
#define AXF_SESSIONFILE_H

#include "axf/session.h"

typedef struct axf_sessionfile_step {
    axf_distil_record *distil;   /* a distil step (version 2; n_actions 0); NULL otherwise */
    int n_actions;               /* >= 1 (0 for a distil step) */
    axf_action *actions;         /* as recorded (the writer stores them resolved) */
    char *note;                  /* never NULL */
    double seconds, time;
    axf_metrics before, after;
} axf_sessionfile_step;

typedef struct axf_sessionfile_trial {
    int cursor;                  /* history position it was tried on, 0..n_steps */
    int n_actions;
    axf_action *actions;
    char *note;                  /* never NULL */
    double seconds;
    axf_metrics metrics;
} axf_sessionfile_trial;

/* One of the policy's parameters ("policy": {"params": {KEY: VALUE, ...}}), in file order. */
enum { AXF_PARAM_NUMBER, AXF_PARAM_STRING, AXF_PARAM_BOOL, AXF_PARAM_OTHER /* null, array, object */ };
typedef struct axf_sessionfile_param {
    char *key;
    char *json;                  /* VALUE as compact JSON: two values are the same when these are */
    int kind;                    /* AXF_PARAM_* */
    double num;                  /* a number's value, a bool's 0 or 1; else 0 */
    char *str;                   /* a string's text; NULL for the other kinds */
} axf_sessionfile_param;

typedef struct axf_sessionfile {
    int version;
    char *model_dir;             /* "" when the file says null (an in-memory model) */
    char model_sha[65];
    int layers;
    int hidden, heads, ffn;      /* the model's full shape; 0 when the file does not say */
    char *data_path;             /* "" when null */
    char data_sha[65];
    char task[32];
    int n, max_len, max_examples;
    char *holdout_path;          /* "" when there is no held-out split */
    char holdout_sha[65];
    int batch, groups, hard_k;
    float hard_threshold;
    int has_policy;              /* 0: "policy" is null; the three strings below are "", "", "{}" */
    char *policy_name, *policy_sha;
    char *policy_params;         /* a JSON object as compact text */
    int n_params;                /* the same object key by key */
    axf_sessionfile_param *params;
    uint64_t seed;
    char metric_name[16];        /* "accuracy", "f1", "mcc" or "pearson"; every METRICS agrees */
    axf_metrics baseline;
    int cursor;                  /* 0..n_steps */
    int n_steps;
    axf_sessionfile_step *steps;
    int n_trials;                /* 0 when the file has no "trials" */
    axf_sessionfile_trial *trials;
} axf_sessionfile;

/* Reads and validates the file at path into f (zeroed first). -1 with err naming file and field;
 * f then holds nothing to free (axf_sessionfile_free is harmless). */
int axf_sessionfile_read(const char *path, axf_sessionfile *f, axf_err *err);
void axf_sessionfile_free(axf_sessionfile *f);
/* Frees params[0..n) and the array (a caller that took f->params over frees them this way). */
void axf_sessionfile_params_free(axf_sessionfile_param *params, int n);

/* The plan of the file's committed steps (history [0, cursor)) applied to another model m of the
 * same shape, by position: layer i, head h, neuron group g of m (e.g. the pre-trained checkpoint a
 * searched model was fine-tuned from: `axf finetune --structure`). m must have the file's model
 * shape (layers, hidden, heads, FFN), unpruned, and every action must apply to it; otherwise one
 * line naming the file and what differs. NULL with err on failure. */
axf_plan *axf_sessionfile_plan(const axf_sessionfile *f, const char *path, const axf_model *m, axf_err *err);

#endif
