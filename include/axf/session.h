/* The search session: one model, its search split (and optionally a held-out split), the current
 * plan, the undo/redo history of committed actions, trials (evaluate without committing),
 * importance measures, the per-layer evaluation cache and the session file. This is the whole
 * API the Lua binding, the CLI and the screen use; none of them touches weights.
 *
 * Evaluation: every metric is over the search split under a plan. The original model's per-sample
 * losses l0 are computed once at open/load and never change (the method's acceptance rule compares
 * against them). A trial of an action at layer L re-runs only layers L..end from the cached hidden
 * states (evalcache.h); a commit invalidates the cache above L.
 *
 * Held-out split: evaluated for reporting only, through axf_session_holdout_metrics. The Lua
 * binding must not expose it to policies (that would make the search see its own test set).
 *
 * Threads: a session is NOT thread-safe and no two calls on the same session may run at the same
 * time (const accessors included, since a running evaluation updates the state they read). The
 * screen runs every call on one worker thread and, after each call, fills an axf_snapshot there
 * (axf_session_snapshot); its drawing thread reads only its own copy of that plain struct. The
 * progress callback runs on the calling thread, and is where a cancel flag set by another thread
 * is polled (it is called at least once per batch of the split). Different sessions are
 * independent, except that they share OpenBLAS's global thread count and axf_log.
 *
 * Return values: 0 ok, -1 error (err holds one line naming the action, file or field at fault),
 * AXF_CANCELLED (-2) when the progress callback asked to stop (err says "cancelled"). A failed or
 * cancelled call leaves the session exactly as it was.
 *
 * ---- Session file (JSON, written by axf_session_save; read by axf_sessionfile_read of
 *      axf/sessionfile.h, the one reader, which axf_session_load and `axf report` use) ----
 * {
 *   "format": "axf-session",            constant
 *   "version": 2,                       format version; a file with a larger one is refused. A
 *                                       file without distil steps is written as version 1 (it
 *                                       is one); version 1 files are read as always
 *   "axf_version": "0.1.0",             program that wrote it (informational)
 *   "model": {
 *     "dir": "models/demo",             as given at open (null for an in-memory model)
 *     "sha256": "<64 hex>",             of DIR/model.safetensors (in-memory: of the weight arena);
 *                                       loading refuses a model whose hash differs
 *     "layers": 4, "hidden": 256, "heads": 4, "ffn": 1024,
 *     "layer_heads": [..], "layer_ffn": [..]   shape check (redundant with the hash, clearer errors)
 *   },
 *   "data": {
 *     "path": "…/dev.tsv",              search split as given at open (null when in-memory)
 *     "sha256": "<64 hex>",             of the file (in-memory: of the encoded ids, types, labels)
 *     "task": "sst2", "n": 872,         task name and number of examples used
 *     "max_len": 128, "max_examples": 0 encoding options that change the numbers
 *   },
 *   "holdout": {"path": "…", "sha256": "…"} or null,
 *   "options": {"batch": 64, "groups": 12, "hard_k": 30, "hard_threshold": 0.01},
 *   "policy": {"name": "axformer.lua", "sha256": "…", "params": {…}} or null,
 *   "seed": "1",                        for policies that draw random numbers (uint64 as a
 *                                       decimal string: JSON numbers would round it)
 *   "baseline": METRICS,                the original model on the search split
 *   "cursor": 3,                        history entries [0, cursor) are applied; the rest is redo
 *   "history": [ {                      committed steps, oldest first
 *       "actions": [ACTION, …],         applied together as one step (usually one); [] for a
 *                                       distil step (version 2), which has instead
 *       "distil": DISTIL,               (only on distil steps)
 *       "note": "…",                    free text (e.g. the policy's reason), may be ""
 *       "seconds": 0.81,                wall time of the evaluation that scored the step
 *       "time": 1717171717.0,           Unix time of the commit
 *       "before": METRICS, "after": METRICS } , … ],
 *   "trials": [ {                       journal of tries (not undone by undo), oldest first
 *       "cursor": 2,                    history position the trial was made on
 *       "actions": [ACTION, …], "note": "…", "seconds": 0.4, "metrics": METRICS }, … ]
 * }
 * METRICS = {"loss": mean loss, "accuracy": fraction (null for regression), "metric": task
 *            metric, "metric_name": "accuracy"|"f1"|"mcc"|"pearson", "n": samples,
 *            "n_no_worse": samples whose loss <= the original's, "params": count,
 *            "flops_per_token": FLOPs, "size_bytes": weight bytes (axf_plan_bytes: 4 per
 *            float32 weight, an int8 matrix 1 per weight + 4 per row scale)}
 * DISTIL  = {"train": "…/train.tsv",    training file as given (examples equal to a search
 *            "train_sha256": "…",        example after encoding are left out), its sha256
 *            "alpha": 0.5, "temperature": 2, "match_hidden": 0, "epochs": 1, "steps": 0,
 *            "batch": 32, "lr": 5e-5, "seed": "42", "eval_every": 0, "patience": 0,
 *            "examples": 9000,          training examples used (after leaving out)
 *            "steps_run": 300, "best_step": 250,   what the run did (best on the search split;
 *                                       0 = the student as it came was kept)
 *            "weights": "x.json.distil-3",   the student folder, relative to the session file
 *            "sha256": "<64 hex>"}      of the student's weights (its float32 arena, as the
 *                                       in-memory model hash), checked whenever they are read
 *   The weights are written by axf_session_save beside the file, one folder per distil step,
 *   "<session file>.distil-<step>" (axf_compact_save's form, which `axf eval` reads): the student
 *   is the compacted model of the plan in force before the step (int8 flags left out: its float
 *   weights are trained, and int8 blocks of the plan are quantized from them afterwards).
 * ACTION  = {"op": "drop_head", "layer": 3, "head": 5}; the index key is "head", "group" (with
 *            "groups") or "neuron" (with "count") after the op; set_hard has "mode", "k",
 *            "threshold"; quantize and dequantize have "block": "attn" | "ffn". Every index is 0-based and refers to the model the session was opened
 *            on. Actions are stored with their defaults resolved.
 * Doubles are written with enough digits to read back exactly. Writing is atomic (a temporary
 * file of its own beside PATH, fsync, rename). Loading validates everything before building a
 * new session; it re-applies the actions to rebuild the plans (no evaluation of the history:
 * axf_session_replay does that). Every METRICS names the same metric_name. */
#ifndef AXF_SESSION_H
#define AXF_SESSION_H

#include "axf/common.h"
#include "axf/importance.h"
#include "axf/model.h"
#include "axf/plan.h"

#define AXF_SESSION_VERSION 2

typedef struct axf_session axf_session;

typedef struct axf_session_opts {
    int max_len;              /* tokens per example after truncation (128) */
    int max_examples;         /* use the first N examples of the data (0 = all) */
    const char *task;         /* data reader task name (NULL = detect from the file) */
    int batch;                /* sequences per forward pass (64); recorded, changes float sums */
    int threads;              /* OpenBLAS threads (0 = leave as is) */
    int groups;               /* default neuron groups G for drop_group (12) */
    int hard_k;               /* default K for set_hard (30) */
    float hard_threshold;     /* default threshold for set_hard (0.01) */
    size_t cache_bytes;       /* budget of the layer cache (1 GiB; 0 = no cache), see evalcache.h */
    int speed_tokens;         /* tokens timed by axf_session_measure_speed (16384) */
    axf_progress_fn progress; /* for every long call (open/load included); NULL = none */
    void *progress_ud;
} axf_session_opts;

axf_session_opts axf_session_opts_default(void);

/* Opens MODEL_DIR (config.json, model.safetensors, vocab.txt) and the search split DATA, and
 * evaluates the original model on it (the baseline). opts NULL = defaults. */
axf_session *axf_session_open(const char *model_dir, const char *data_path,
                              const axf_session_opts *opts, axf_err *err);
/* Same from memory (tests, the demo): takes ownership of m and search (freed by
 * axf_session_free, also on failure). task names the metric ("sst2", "cola", ...). */
struct axf_encoded;
axf_session *axf_session_new(axf_model *m, struct axf_encoded *search, const char *task,
                             const axf_session_opts *opts, axf_err *err);
void axf_session_free(axf_session *s);

/* Loads a session file. model_dir / data_path / holdout_path NULL = the ones recorded in the file
 * (a relative recorded path is tried from the current directory, then from the session file's
 * folder). The encoding and evaluation options recorded in the file win over opts; opts supplies
 * threads, cache_bytes, speed_tokens and progress. Refuses: a newer version, a model or data file
 * whose sha256 differs from the recorded one, any missing or ill-typed field, any action that does
 * not apply (the message names the history step). Evaluates the baseline only. */
axf_session *axf_session_load(const char *path, const char *model_dir, const char *data_path,
                              const char *holdout_path, const axf_session_opts *opts, axf_err *err);
/* Atomic write of the format above. Clears the dirty flag. Refuses (-1, "PATH: replaced by
 * another writer ...") to overwrite a file this session saved before and someone else replaced
 * since: two runs saving to the same file each notice the other instead of silently losing one.
 * Over MPI (dist.h) rank 0 alone writes and every rank returns its outcome (a collective call). */
int axf_session_save(axf_session *s, const char *path, axf_err *err);
/* 1 when this session last saved PATH and the file there is no longer the one it wrote
 * (collective over MPI, like axf_session_save). */
int axf_session_replaced(const axf_session *s, const char *path);
/* Nonzero when something was committed, undone or changed since the last save/load. */
int axf_session_dirty(const axf_session *s);

/* Progress/cancel hook for every later long call (replaces the one from opts). */
void axf_session_set_progress(axf_session *s, axf_progress_fn fn, void *ud);

/* ---- Model facts (of the model as opened, before any action) ---- */
typedef struct axf_facts {
    int n_layers, hidden, n_heads, head_dim, ffn;  /* original architecture (config) */
    int layer_heads[AXF_MAX_LAYERS];               /* heads present in each layer */
    int layer_ffn[AXF_MAX_LAYERS];                 /* FFN width of each layer */
    int groups;                                    /* default G */
    int hard_k;                                    /* default K of set_hard (opts.hard_k) */
    float hard_threshold;                          /* default threshold of set_hard */
    int num_labels;
    axf_task_kind task_kind;
    char task[32];                                 /* "sst2", ... */
    char metric_name[16];                          /* "accuracy", "f1", "mcc", "pearson" */
    size_t params, size_bytes;                     /* params; weight bytes (axf_plan_bytes) */
    double flops_per_token;                        /* at mean_len */
    double mean_len;                               /* mean tokens per search example */
    int n_search, n_holdout;                       /* examples (n_holdout 0 = none) */
    long long n_tokens;                            /* tokens of the search split */
} axf_facts;
void axf_session_facts(const axf_session *s, axf_facts *out);
const axf_model *axf_session_model(const axf_session *s);

/* ---- Metrics ---- */
typedef struct axf_metrics {
    double loss;              /* mean cross-entropy (MSE for regression) */
    double accuracy;          /* fraction correct (NAN for regression) */
    double metric;            /* the task metric named in facts.metric_name */
    int n;                    /* samples */
    int n_no_worse;           /* samples whose loss <= their loss under the original model */
    size_t params;            /* of the compacted model */
    double flops_per_token;   /* encoder FLOPs per token at facts.mean_len */
    size_t size_bytes;        /* weight bytes of the compacted model (axf_plan_bytes) */
} axf_metrics;

/* The original model on the search split, and its per-sample losses (n = facts.n_search; the
 * pointer lives as long as the session). */
void axf_session_baseline(const axf_session *s, axf_metrics *out);
const float *axf_session_baseline_losses(const axf_session *s);

/* Metrics of the committed plan. Always known (measured at apply, recorded in the history for
 * undo/redo/goto/load), so reading them evaluates nothing and cannot fail. */
void axf_session_current(const axf_session *s, axf_metrics *out);
/* Per-sample losses / predicted classes / logits [n * num_labels] of the committed plan
 * (evaluates when not known). Valid until the next call that changes the plan. */
const float *axf_session_losses(axf_session *s, axf_err *err);
const int *axf_session_preds(axf_session *s, axf_err *err);
const float *axf_session_logits(axf_session *s, axf_err *err);

/* Current (committed) plan; valid until the next call that changes it. */
const axf_plan *axf_session_plan(const axf_session *s);
/* The defaults used to resolve actions (groups, k, threshold). */
axf_plan_defaults axf_session_defaults(const axf_session *s);

/* ---- Actions ----
 * acts[0..n) are applied in order on top of the committed plan as one step (n >= 1). */

/* Checks without evaluating: 0 when the actions apply, -1 with the reason. */
int axf_session_check(const axf_session *s, const axf_action *acts, int n, axf_err *err);
/* Evaluates the plan with acts applied, commits nothing. The trial is appended to the trials
 * journal with note (may be NULL). Per-sample losses and predictions of the trial stay readable
 * through axf_session_trial_losses/preds until the next evaluating call. */
int axf_session_try(axf_session *s, const axf_action *acts, int n, const char *note,
                    axf_metrics *out, axf_err *err);
/* n candidates, each tried on the committed plan as axf_session_try(s, cands[k], n_acts[k], note)
 * one after the other: the same metrics out[k], journal entries in the same order, and the last
 * candidate's outputs readable afterwards. Over MPI the batch may be split by candidate (dist.h,
 * axf_dist_split): every rank takes whole candidates and the results are shared. *done: the
 * candidates tried (journaled, out[0..*done) set) when it returns -1 (candidate *done does not
 * apply) or AXF_CANCELLED (a cancel during a split batch drops the whole split part). */
int axf_session_try_batch(axf_session *s, const axf_action *const *cands, const int *n_acts, int n,
                          const char *note, axf_metrics *out, int *done, axf_err *err);
const float *axf_session_trial_losses(const axf_session *s);
const int *axf_session_trial_preds(const axf_session *s);
/* Computes the latest trial's per-sample outputs when only its metrics are known (a trial re-lived
 * by a resume, below); 0 at once otherwise. -1 when there is no trial, or AXF_CANCELLED. */
int axf_session_trial_outputs(axf_session *s, axf_err *err);
/* Sets the note of the latest trial (e.g. "rejected: majority rule") once the caller decided. */
void axf_session_note_trial(axf_session *s, const char *note);
/* The same for journal entry i (0-based; a batch of trials is judged after the last one). */
void axf_session_note_trial_at(axf_session *s, int i, const char *note);
/* Commits acts as one history step (dropping any redo tail), evaluating unless the latest trial
 * gave the same plan (then its result is reused). out may be NULL. */
int axf_session_apply(axf_session *s, const axf_action *acts, int n, const char *note,
                      axf_metrics *out, axf_err *err);
/* Moves the cursor; instant (recorded metrics; the cache is invalidated above the lowest layer
 * whose plan changes). -1 with "nothing to undo/redo" at the ends. goto takes 0..history_len. */
int axf_session_undo(axf_session *s, axf_err *err);
int axf_session_redo(axf_session *s, axf_err *err);
int axf_session_goto(axf_session *s, int cursor, axf_err *err);

/* ---- Resuming an interrupted run ----
 * axf_session_resume, on a session just loaded from the file an interrupted run kept saving, sets
 * the cursor to 0 and takes the file's history and trials as the record of that run; the policy is
 * then started again from its beginning. While its calls repeat the record — each try the next
 * recorded trial (same history position, same resolved actions), each apply the next recorded
 * step on top of the history so far — they are answered from the record without evaluating: the
 * entry, its metrics, note and times, moves back into the journal or the history. Per-sample
 * outputs are computed only when asked for (axf_session_losses, axf_session_trial_outputs). The
 * first call that departs from the record (or an apply after an undo) drops the rest of it and
 * everything is evaluated from there on. A deterministic policy thus ends with the session an
 * uninterrupted run would have written. While records are left, the session holds less than
 * its file: a caller that saves after every step should not save until resume_left says 0. */
int axf_session_resume(axf_session *s, axf_err *err);
/* Nonzero while part of the record is left; steps / trials (either may be NULL) say how much. */
int axf_session_resume_left(const axf_session *s, int *steps, int *trials);

/* ---- History and trials journal ---- */
typedef struct axf_distil_record axf_distil_record;
typedef struct axf_history_entry {
    const axf_distil_record *distil; /* a distil step (n_actions 0); NULL for a plan step */
    int n_actions;
    const axf_action *actions;   /* resolved (defaults filled in) */
    const char *note;            /* never NULL */
    double seconds;              /* evaluation wall time */
    double time;                 /* Unix time of the commit */
    axf_metrics before, after;
} axf_history_entry;
int axf_session_history_len(const axf_session *s);
int axf_session_cursor(const axf_session *s);          /* entries [0, cursor) applied */
/* Entry i (0-based); the pointers inside live until the history changes. -1 when out of range. */
int axf_session_history_get(const axf_session *s, int i, axf_history_entry *out);

typedef struct axf_trial_entry {
    int cursor;                  /* history position it was tried on */
    int n_actions;
    const axf_action *actions;
    const char *note;            /* never NULL */
    double seconds;
    axf_metrics metrics;
} axf_trial_entry;
int axf_session_trials_len(const axf_session *s);
int axf_session_trial_get(const axf_session *s, int i, axf_trial_entry *out);

/* ---- Importance (importance.h) of every element of the committed plan ----
 * gran: mask of AXF_IMP_BLOCKS/HEADS/GROUPS; groups 0 = default G. Progress counts elements
 * (EXACT) or batches; cancel returns AXF_CANCELLED with nothing changed. Results are kept per
 * plan (below): EXACT asked again on a plan measured before (or for another granularity already
 * measured) is free.
 * GRADIENT needs the training module's backward pass. */
int axf_session_importance(axf_session *s, axf_imp_kind kind, int gran, int groups,
                           axf_importance *out, axf_err *err);

/* ---- Evaluation counters (since open/load) ---- */
typedef struct axf_counters {
    long long evals;             /* evaluations of the search split (try, apply, each EXACT
                                    importance element, replay steps, per-sample outputs asked
                                    for after undo/redo/load) */
    long long evals_reused;      /* answered from stored results, no layer run */
    long long layer_evals;       /* encoder layers run over the whole search split */
    long long layer_evals_saved; /* layers not run thanks to the cache and reuse (an evaluation
                                    without any cache runs every remaining layer) */
    double eval_seconds;         /* wall time spent evaluating */
    size_t cache_bytes;          /* memory held by the layer cache */
    int cache_slots;             /* layers whose input is cached */
} axf_counters;
void axf_session_counters(const axf_session *s, axf_counters *out);

/* ---- Held-out split (reporting only; never expose to policies) ---- */
int axf_session_set_holdout(axf_session *s, const char *data_path, axf_err *err);
/* Metrics of the original model (base) and of the committed plan (cur) on the held-out split;
 * either may be NULL. The baseline is computed once; cur is kept per plan (below). */
int axf_session_holdout_metrics(axf_session *s, axf_metrics *base, axf_metrics *cur, axf_err *err);

/* ---- Measured speed, as `axf bench --cpu-time --threads 1` measures: the original model and the
 * compacted model of the committed plan, each on one thread over the first opts.speed_tokens
 * tokens of the search split, timed with that thread's CPU clock (other work on the machine does
 * not count), after one untimed warm-up pass each; reps passes of both, interleaved with the
 * order alternating. Tokens per CPU second are medians; the speed-up is the median of the reps
 * per-pair ratios, with their smallest and largest as its spread. A plan that changes nothing
 * (equal to the dense plan) is not timed twice: its speed-up is exactly 1. The progress callback
 * is asked after every batch (nonzero: AXF_CANCELLED, nothing changes). ---- */
#define AXF_SPEED_REPS 5
#define AXF_SPEED_MAX_REPS 31
typedef struct axf_speed {
    double tok_s_cur, tok_s_base;   /* medians, tokens per CPU second of one thread */
    double ratio;                   /* median of tok_s_cur / tok_s_base over the pairs */
    double ratio_lo, ratio_hi;      /* smallest and largest of those ratios */
    int reps;
    int unchanged;                  /* the plan is the dense one: ratio 1, not timed twice */
} axf_speed;
/* reps <= 0: AXF_SPEED_REPS; at most AXF_SPEED_MAX_REPS. */
int axf_session_speed(axf_session *s, int reps, axf_speed *out, axf_err *err);
/* The medians of axf_session_speed with the default reps. */
int axf_session_measure_speed(axf_session *s, double *tok_s_current, double *tok_s_baseline,
                              axf_err *err);

/* ---- Results kept per plan ----
 * What axf_session_importance (every kind), axf_session_holdout_metrics and axf_session_speed
 * measure is kept with the plan it was measured on and the history position it was measured at
 * (the least recently used dropped: 24 importance results, 64 held-out, 128 speeds), so that
 * after undo, redo or goto a plan measured before has its numbers at once. EXACT importance and
 * held-out metrics of a kept plan are answered from here; the other kinds and speed are measured
 * again when asked. The calls below measure nothing: 0 and the kept values, -1 when none. latest:
 * when nothing is kept for the committed plan, the most recently measured or shown of the same
 * sort, whatever its plan (info->current then says 0). */
typedef struct axf_kept_info {
    int current;      /* the values are of the committed plan */
    int step;         /* the history position (cursor) they were measured at */
} axf_kept_info;
/* Importance of kind with G = groups (0 = default) holding every granularity of gran (it may hold
 * more). */
int axf_session_kept_importance(axf_session *s, axf_imp_kind kind, int gran, int groups, int latest,
                                axf_importance *out, axf_kept_info *info);
/* Held-out metrics: the original model (base) and the plan (cur); either may be NULL. */
int axf_session_kept_holdout(axf_session *s, int latest, axf_metrics *base, axf_metrics *cur,
                             axf_kept_info *info);
int axf_session_kept_speed(axf_session *s, int latest, axf_speed *out, axf_kept_info *info);
/* The speed measured at history step i (0-based) while that step was the one in the history now
 * (a step replaced after an undo has other metrics, and so no speed). */
int axf_session_kept_step_speed(const axf_session *s, int i, axf_speed *out);

/* ---- Export: the compacted model of the committed plan (compact.h), loadable by axf eval. ---- */
int axf_session_export(axf_session *s, const char *dir, axf_err *err);

/* ---- Replay: re-applies and re-evaluates, from the original model, everything the file records:
 * the baseline, every history step ("before" and "after") and every trial of the journal, each
 * on the plan it was made on, and compares every recorded number with the measured one. The
 * decisions (which actions each step applied, which trials were kept) are the file's; what must
 * reproduce is every number they rest on. The cursor is restored afterwards; the trials journal
 * and the history are not changed.
 *
 * Tolerance (exact = 0): a session may come from another build (compiler, glibc). Every float
 * operation of an evaluation is fixed by the source (ordered fma chains, -ffp-contract=off, the
 * project's own exp/erf/GELU; README "Same results on every machine") except two calls into libm:
 * tanhf in the pooler and the double exp/log of each example's loss. So:
 *  - pooled p_k = tanhf(.) in (-1, 1): two libms within 2 ulp each differ by <= 4 ulp <= 2^-22;
 *  - logit z_j = b_j + sum_k w_jk p_k, one fma chain over H terms then the bias: each build is
 *    within gamma_{H+1} (|b_j| + sum_k |w_jk|) of the exact value of its own inputs (gamma_K =
 *    K u / (1 - K u), u = 2^-24), and the exact values differ by <= 2^-22 sum_k |w_jk|, hence
 *    dz = max_j [2 gamma_{H+1} (|b_j| + ||w_j||_1) + 2^-22 ||w_j||_1]  (axf_session_replay_tol);
 *  - per-example cross-entropy l = log sum_c exp(z_c - z_y): its gradient has l1 norm
 *    2 (1 - p_y) <= 2 l, so |dl| <= 2 dz e^{2 dz} l, plus 2^-23 l for the rounding of l to float
 *    (the double exp/log are 1e-16): a relative bound eps = 2 dz e^{2 dz} + 2^-23 per example,
 *    which the mean keeps (plus 2 n 2^-53 for the double sum). Regression (squared error):
 *    |dL| <= 2 dz sqrt(L) + dz^2 + 2^-23 L.
 *  - counts are exact except for the examples the bound lets flip, counted on the replaying
 *    machine: n_no_worse may differ by the examples with l != l0 and |l - l0| <= eps (l + l0)
 *    (an example the plan leaves unchanged has l == l0 on every build); the correct count (so
 *    accuracy x n) by the examples whose two largest logits are within 2 dz; F1 / MCC by the
 *    change those flips can make (all of them towards right, or all towards wrong); Pearson by
 *    2 dz sqrt(n) / ||z - mean z||.
 *  - n, params, size_bytes and flops_per_token are functions of the plan and the data: exact.
 * tol > 0 replaces eps (and dz = tol / 2). ---- */
typedef struct axf_replay_opts {
    int exact;        /* every number bit for bit (the same build): tolerance 0 */
    double tol;       /* relative per-example loss tolerance; <= 0: derived (above) */
    int trials;       /* re-evaluate the trials journal too (1) */
} axf_replay_opts;
axf_replay_opts axf_replay_opts_default(void);

typedef struct axf_replay_diff {
    char field[64];   /* where in the file: "history[1].before.n_no_worse", "trials[6].metrics.loss",
                         "baseline.accuracy" */
    char what[128];   /* in words: "step 2 (drop group 8/12 of layer 3)", "trial 7 (...)", "baseline" */
    double recorded, measured;
    double allowed;   /* largest |recorded - measured| the tolerance accepts (0: must be equal) */
} axf_replay_diff;

#define AXF_REPLAY_MAX_DIFFS 32
typedef struct axf_replay_result {
    int evals;        /* evaluations run (a step whose plan a trial already had reuses it) */
    int steps, trials;            /* history steps and trials compared */
    int records;      /* METRICS records compared (baseline, each step's before and after, trials) */
    int identical;    /* of those, the ones whose every number equals the measured bit for bit */
    double tol, logit_tol;        /* eps and dz used (0 with exact) */
    double max_loss_dev;          /* largest |recorded - measured| / measured over the losses */
    int near_ties;    /* trials whose loss is within the tolerance of the loss of the plan they
                         were tried on, but not equal: a decision that compared the two could go
                         the other way on another build (information, not a difference) */
    int first_near_tie;           /* 1-based trial number of the first, 0 = none */
    int n_diffs;      /* differences found (all of them) */
    axf_replay_diff diffs[AXF_REPLAY_MAX_DIFFS];   /* the first ones, in replay order */
} axf_replay_result;

/* 0 when the replay ran (out->n_diffs says whether everything agreed); -1 with err when a
 * recorded action does not apply, AXF_CANCELLED when the progress callback asked to stop. */
int axf_session_replay(axf_session *s, const axf_replay_opts *opts, axf_replay_result *out, axf_err *err);
/* The derived tolerances of the session's model: dz (absolute, logits) and eps (relative,
 * per-example loss), as above. */
void axf_session_replay_tol(const axf_session *s, double *dz, double *eps);
/* What the screen checks on opening a file: the recorded baseline and the record of the
 * committed step against what this machine measures, with the derived tolerance. Evaluates the
 * committed plan when its per-sample outputs are not known (they are kept). 0 when it ran
 * (out->n_diffs says whether they agree), -1 / AXF_CANCELLED as above. */
int axf_session_verify_current(axf_session *s, axf_replay_result *out, axf_err *err);

/* ---- One example's attention (the screen's hard-attention view; no pass over the split) ---- */
/* Search example i (0-based): its token count, *ids (valid while the session lives) and *label
 * (-1 when unlabelled); either pointer may be NULL. -1 when i is out of range. */
int axf_session_example(const axf_session *s, int i, const int **ids, int *label);
/* A token id's text in the model's vocabulary; NULL when the session has none (in-memory model). */
const char *axf_session_token(const axf_session *s, int id);
/* The attention probabilities of head `head` of layer `layer` for search example `example`, the
 * layers below as the committed plan has them (axf_engine_attention): dense[n, n] with that layer's
 * softmax alone, hard[n, n] under the hard-attention setting mode / k / threshold; query rows, n =
 * the example's token count. The layer's own masks do not matter (a removed head is computed as if
 * on). 0, or -1 naming what is out of range. */
int axf_session_attention(axf_session *s, int example, int layer, int head, axf_hard_mode mode, int k,
                          float threshold, float *dense, float *hard, axf_err *err);

/* ---- Policy bookkeeping for the Lua host (stored in the session file, not interpreted) ---- */
/* params_json: a JSON object as text (NULL = {}); refused when it does not parse as an object. */
int axf_session_set_policy(axf_session *s, const char *name, const char *sha256,
                           const char *params_json, axf_err *err);
const char *axf_session_policy_name(const axf_session *s);    /* "" when none */
const char *axf_session_policy_sha256(const axf_session *s);  /* "" when none */
const char *axf_session_policy_params(const axf_session *s);  /* JSON object text, "{}" default */
void axf_session_set_seed(axf_session *s, uint64_t seed);
uint64_t axf_session_seed(const axf_session *s);

/* Where the session came from ("" when in-memory): the model folder as found on disk (a recorded
 * relative path resolved), and the data path as given or recorded. */
const char *axf_session_model_dir(const axf_session *s);
const char *axf_session_data_path(const axf_session *s);
const char *axf_session_model_sha256(const axf_session *s);

/* ---- Distillation as a history step ----
 * axf_session_distil trains the student (the compacted model of the committed plan, its float
 * weights; int8 flags of the plan are applied afterwards) from the original model (the teacher,
 * under the session's original plan) with axf_distill_run on the training file minus the
 * examples of the search split (compared after encoding), selecting on the search split, and
 * writes the student's weights back into the places the plan keeps (axf_compact_scatter). The
 * step is then committed like an action: one history entry (n_actions 0, distil set) whose
 * "after" is the committed plan evaluated with the new weights. From there on every evaluation,
 * trial, importance, export and speed uses those weights; removed parts keep the weights they had
 * (a restore brings back a part the student never had, with its weights from before). Undo, redo
 * and goto switch the weights with the cursor; the baseline and its per-sample losses stay the
 * original model's. A failed or cancelled run (the train progress callback returning nonzero)
 * changes nothing. Over MPI: not supported (refused). */
struct axf_distil_record {
    char train[512];              /* the training file as given */
    char train_sha[65];
    float alpha, temperature, hid_weight;
    int epochs, batch, eval_every, patience;
    long steps;                   /* 0: epochs decide */
    float lr;
    uint64_t seed;
    int examples;                 /* training examples used */
    long steps_run, best_step;
    char weights[512];            /* folder name relative to the session file ("" before a save) */
    char sha[65];                 /* of the student's float32 arena */
};
struct axf_train_status;
typedef struct axf_session_distil_opts {
    const char *train;            /* required */
    float alpha, temperature, hid_weight;   /* axf_distill_opts_default */
    int epochs, batch, eval_every, patience;
    long steps;
    float lr;
    uint64_t seed;
    /* progress of the training (nonzero return: cancel); NULL: the session's progress callback
     * (steps done of all). The final evaluation of the step reports through the session's. */
    int (*progress)(const struct axf_train_status *st, void *ud);
    void *progress_ud;
} axf_session_distil_opts;
axf_session_distil_opts axf_session_distil_opts_default(void);
/* 0 (out: the step's metrics), -1 + err (bad option, unreadable file, a model that stores int8
 * in a kept block), AXF_CANCELLED. */
int axf_session_distil(axf_session *s, const axf_session_distil_opts *o, const char *note, axf_metrics *out,
                       axf_err *err);
/* A history entry for logs: "distil (alpha 0.5, T 2, 300 steps, best 250)", or its actions
 * joined by sep (axf_actions_describe). */
void axf_history_describe(const axf_history_entry *h, const char *sep, char *buf, size_t n);

/* ---- Snapshot: a plain copy of everything the screen draws, filled on the worker thread ---- */
typedef struct axf_layer_view {
    unsigned char attn_on, ffn_on;
    int nh;                                    /* heads present in the model layer */
    unsigned char head_on[AXF_MAX_HEADS];
    int f, f_on;                               /* FFN width, neurons still on */
    int n_groups;                              /* default G */
    unsigned char group_state[AXF_MAX_GROUPS]; /* 0 removed, 1 present, 2 partly */
    axf_hard_mode hard;
    unsigned char int8_attn, int8_ffn;         /* the block runs in int8 (only when it is on) */
    int k;
    float threshold;
} axf_layer_view;

typedef struct axf_snapshot {
    axf_facts facts;
    axf_layer_view layers[AXF_MAX_LAYERS];
    unsigned char int8_embed;      /* the word embeddings in int8 (plan.h) */
    axf_metrics baseline, current;
    int have_current;              /* 0 when current is not known yet */
    int history_len, cursor;
    axf_counters counters;
    int dirty;
    char policy[64];
} axf_snapshot;
void axf_session_snapshot(const axf_session *s, axf_snapshot *out);

#endif
