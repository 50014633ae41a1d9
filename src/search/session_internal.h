/* Private state of a session, shared by the files of src/search (session.c, session_query.c,
 * session_measure.c, session_json.c, importance.c). Nothing here is API. */
#ifndef AXF_SEARCH_SESSION_INTERNAL_H
#define AXF_SEARCH_SESSION_INTERNAL_H

#include "axf/data.h"
#include "axf/evalcache.h"
#include "axf/fileio.h"
#include "axf/session.h"
#include "axf/tokenizer.h"

typedef struct hentry {
    int n;
    axf_action *acts;     /* resolved */
    char *note;
    double seconds, time;
    axf_metrics before, after;
    /* a distil step (session_distil.c): its record, the weights it produced (the whole model's
     * arena, m->n_floats) and their id; NULL / 0 for a plan step */
    axf_distil_record *kd;
    float *w;
    unsigned wid;
    char *wdir;           /* the folder this session last wrote or checked w in (saves skip it) */
} hentry;

typedef struct tentry {
    int cursor, n;
    axf_action *acts;
    char *note;
    double seconds;
    axf_metrics m;
} tentry;

/* A result kept with the plan it was measured on (kept.c). */
enum { AXF__KEPT_IMP = 0, AXF__KEPT_HOLDOUT, AXF__KEPT_SPEED, AXF__KEPT_SORTS };
typedef struct axf__kept {
    int sort;                /* AXF__KEPT_* */
    axf_plan *plan;          /* the plan measured; NULL = a free place */
    int step;                /* the cursor when measured */
    axf_metrics at;          /* the metrics of that history position (tells a step replaced
                                after an undo from the one measured) */
    unsigned long used;      /* for least-recently-used replacement, and "latest" */
    unsigned wid;            /* the weights measured with (axf_session.wid) */
    axf_importance *imp;     /* AXF__KEPT_IMP: kind, G and granularities measured so far */
    axf_metrics ho;          /* AXF__KEPT_HOLDOUT: the plan on the held-out split */
    axf_speed speed;         /* AXF__KEPT_SPEED */
} axf__kept;

/* One evaluation's per-sample outputs. */
typedef struct evalbuf {
    float *losses;   /* [n] */
    float *logits;   /* [n * C] */
    int *preds;      /* [n] */
} evalbuf;

struct axf_session {
    axf_model *m;
    axf_encoded *enc;
    axf_vocab *vocab;            /* NULL for in-memory sessions */
    char *model_dir, *data_path, *holdout_path; /* as given or recorded ("" none); saved */
    char *model_dir_use;         /* where the model was actually found (resolved); used */
    char model_sha[65], data_sha[65], holdout_sha[65];
    char task[32], metric_name[16];
    axf_session_opts opts;       /* opts.task not kept */
    axf_plan_defaults defs;
    double mean_len;

    axf_evalcache *ec;
    axf_plan *orig;              /* dense */
    axf_plan *plan;              /* committed */

    float *l0;                   /* baseline per-sample losses */
    axf_metrics base;
    axf_metrics rec_base;        /* baseline as recorded in a loaded file (= base otherwise) */
    axf_metrics base_allow;      /* what the derived replay tolerance accepts around base */

    axf_metrics cur;             /* metrics of the committed plan (always known) */
    evalbuf cur_buf;
    int cur_buf_valid;           /* per-sample outputs of the committed plan known */

    evalbuf trial_buf;
    int trial_valid;             /* the last try's outputs, for reuse by apply */
    int trial_lazy;              /* ... its metrics only (re-lived from a record): trial_buf unset */
    axf_plan *trial_plan;
    axf_metrics trial_m;
    double trial_seconds;

    hentry *hist;
    int hist_len, hist_cap, cursor;
    tentry *trials;
    int trials_len, trials_cap;

    /* axf_session_resume: the interrupted run's history and trials, re-lived in order from
     * [ff_hi] and [ff_ti] while the policy repeats them; NULL when not resuming */
    hentry *ff_hist;
    int ff_hist_len, ff_hi;
    tentry *ff_trials;
    int ff_trials_len, ff_ti;

    char *policy_name, *policy_sha, *policy_params;
    uint64_t seed;
    int dirty;
    /* the file this session last wrote, what it left there, and how many steps it held */
    char *saved_path;
    axf_file_id saved_id;
    int saved_steps;

    long long evals, evals_reused;

    /* held-out split */
    axf_encoded *ho;
    axf_evalcache *ho_ec;
    float *ho_l0;
    axf_metrics ho_base;
    int ho_base_valid;

    /* the candidate split (dist.h, mpi_split.c): a cache over the whole split, made on first
     * use; cand_fits: 0 not decided yet, 1 AUTO may use it, -1 it gets fewer slots than ec */
    axf_evalcache *cand_ec;
    int cand_fits;
    long long cand_layer_evals, cand_layer_evals_saved; /* over all ranks */

    /* weights (session_distil.c): m holds those of the last distil step before the cursor, hist
     * index wcur (-1: the original's, which m0 keeps once a distil step exists); wid names them
     * (0 = original) for the results kept per plan */
    axf_model *m0;
    int wcur;
    unsigned wid, wid_next;
    axf_evalcache_stats ec_past;   /* what the caches freed at a weights switch had counted */

    /* importance, held-out metrics and speed measured, by plan (kept.c) */
    axf__kept *kept;
    int n_kept;
    unsigned long kept_clock;
};

/* session_build.c */
/* base: the plan the model itself runs with (an export's hard attention, axf_plan_load_hard), the
 * session's original plan; NULL = dense. Copied. */
axf_session *axf__session_build(axf_model *m, axf_encoded *enc, axf_vocab *v, const char *task,
                                const axf_plan *base, const axf_session_opts *opts, axf_err *err);
/* A data file read for the session's model and encoded (max_examples 0: all); task_out (may be
 * NULL) receives the task. Errors name the file. */
axf_encoded *axf__load_split(const char *path, const char *task, const axf_model *m, const axf_vocab *v,
                             int max_len, int max_examples, char task_out[32], axf_err *err);
void axf__hentry_free(hentry *e);
void axf__tentry_free(tentry *e);

/* session.c */
/* Commits a step at the cursor (dropping the redo tail); kd, w, wid zero. */
hentry *axf__hist_push(axf_session *s, const axf_action *res, int n, const char *note, double secs,
                       const axf_metrics *before, const axf_metrics *after);
void axf__metrics_compute(axf_session *s, const axf_encoded *enc, const axf_plan *p, const float *l0,
                          evalbuf *b, axf_metrics *out);
int axf__eval_plan(axf_session *s, const axf_plan *p, evalbuf *b, axf_metrics *out, double *secs,
                   axf_progress_fn fn, void *ud, axf_err *err);
int axf__ensure_current(axf_session *s, axf_err *err);
/* Rebuilds the committed plan from the original and history[0..cursor). */
int axf__rebuild_plan(axf_session *s, int cursor, axf_plan *out, axf_err *err);
void axf__set_committed(axf_session *s, const axf_plan *p);
/* session_distil.c: puts the weights in force at history position cursor into m (the original
 * or those of the last distil step before it) and rebuilds the evaluation caches; 0 or -1. */
int axf__use_weights(axf_session *s, int cursor, axf_err *err);
/* The distil record's weights of step i (a loaded file's): read from the folder beside the
 * session file path, or re-made by the recorded distillation when it is missing; the sha256 is
 * checked either way. */
int axf__load_distil(axf_session *s, const char *path, int i, axf_err *err);
/* Writes the folder of every distil step beside path that is missing or holds other weights, and
 * sets each record's "weights". */
int axf__save_distil(axf_session *s, const char *path, axf_err *err);
void axf__step_what(const axf_session *s, int i, const char *label, char *buf, size_t n);
/* session_measure.c: frees the held-out split, its cache and its baseline losses (pointers left). */
void axf__holdout_drop(axf_session *s);
axf_action *axf__dup_actions(const axf_action *a, int n);
void axf__evalbuf_alloc(evalbuf *b, int n, int C);
void axf__evalbuf_free(evalbuf *b);
/* p = committed + acts; resolved[n] (may be NULL) receives the actions with defaults filled in. */
int axf__plan_with(const axf_session *s, const axf_action *acts, int n, axf_plan *p, axf_action *resolved,
                   axf_err *err);
/* Appends a trial of plan p (the committed plan + res[0..n), which the journal takes) with
 * metrics m to the journal; trial_buf must hold its outputs. */
void axf__trial_push(axf_session *s, const axf_plan *p, axf_action *res, int n, const char *note,
                     const axf_metrics *m, double secs);
/* A try answered from the record of an interrupted run (axf_session_resume): 0 answered (*out),
 * 1 not recorded or not resuming (evaluate it), -1 the actions do not apply. */
int axf__try_recorded(axf_session *s, const axf_action *acts, int n, axf_metrics *out, axf_err *err);
/* Drops what is left of the record of an interrupted run: from here on every call is evaluated as
 * usual. */
void axf__ff_end(axf_session *s);

/* mpi_split.c: the candidate split (dist.h). 1 when the n plans of one batch are to be split by
 * candidate. */
int axf__split_by_candidate(axf_session *s, int n);
/* Evaluates plans[0..n) over the whole split, rank r taking plans r, r + N, ... with s->cand_ec;
 * summarize(s, k, plans[k], &s->trial_buf, rec_k, ud) fills plan k's record of rec_bytes on the
 * rank that ran it. On return every rank holds every record (recs[k * rec_bytes]) and seconds[k],
 * and s->trial_buf holds plans[n - 1]'s outputs; s->evals grew by n. A collective call: 0,
 * AXF_CANCELLED on every rank when one rank was cancelled, -1 + err. */
typedef void (*axf__summarize_fn)(axf_session *s, int k, const axf_plan *p, evalbuf *b, void *rec, void *ud);
int axf__eval_split(axf_session *s, axf_plan *const *plans, int n, axf__summarize_fn summarize, void *ud,
                    void *recs, size_t rec_bytes, double *seconds, axf_progress_fn progress, void *pud,
                    axf_err *err);


/* kept.c: the entry of a sort for the committed plan (importance: of kind and G, covering gran;
 * gran 0 = any), marked used; NULL when none. */
axf__kept *axf__kept_find(axf_session *s, int sort, int kind, int groups, int gran);
/* The place for a new result of the committed plan at the cursor (replacing one with the same
 * key, else the least recently used of its sort when full); imp is allocated, not filled. */
axf__kept *axf__kept_store(axf_session *s, int sort, int kind, int groups);
void axf__kept_drop(axf_session *s, int sort);   /* every entry of a sort (new held-out data) */
void axf__kept_free(axf_session *s);
/* replay.c: base_allow from the baseline's outputs in cur_buf (at build) */
void axf__baseline_allowances(axf_session *s);

#endif
