/* What the screen draws: a plain copy of the session's state that the worker thread fills after
 * every command and step (view.c copies it for the drawing thread). Nothing in here points into
 * the session, so drawing never races an evaluation. */
#ifndef AXF_UI_VIEW_H
#define AXF_UI_VIEW_H

#include "axf/importance.h"
#include "axf/session.h"

#define AXF_VIEW_LOG 512       /* log lines kept (oldest dropped) */
#define AXF_VIEW_TRIALS 64     /* trials of the current step kept for the teaching panel */

/* Display measures: the kinds of importance.h, with EXACT shown twice (loss and accuracy). */
typedef enum {
    AXF_MEASURE_LOSS = 0, AXF_MEASURE_ACC, AXF_MEASURE_GRADIENT, AXF_MEASURE_ENTROPY,
    AXF_MEASURE_MAGNITUDE, AXF_MEASURE_COUNT
} axf_measure;
const char *axf_measure_name(axf_measure m);
axf_imp_kind axf_measure_kind(axf_measure m);

typedef enum {
    AXF_LOG_INFO = 0, AXF_LOG_KEPT, AXF_LOG_REJECTED, AXF_LOG_UNDO, AXF_LOG_ERROR, AXF_LOG_LUA,
    AXF_LOG_POLICY
} axf_log_kind;

typedef struct axf_view_line {
    int kind;            /* axf_log_kind */
    int step;            /* history position it belongs to (0 = before any step) */
    char text[224];
} axf_view_line;

typedef struct axf_view_step {   /* one history entry */
    char what[128];              /* actions, described */
    char note[192];
    axf_action act;              /* the first action */
    int n_actions;
    int distil;                  /* a distil step (no actions; what says its options) */
    axf_metrics before, after;
    double seconds;
    int have_speed;              /* the speed of this step's plan was measured (the screen measures
                                    the plan at the cursor) */
    double speedup, speedup_lo, speedup_hi;
} axf_view_step;

typedef struct axf_view_trial {  /* one entry of the trials journal */
    char what[128];
    char note[192];
    axf_metrics m;
    double seconds;
} axf_view_trial;

/* One sentence's attention (the hard-attention view, key v): a query row of one head before and
 * after the hard-attention setting, computed by the worker through axf_session_attention. */
#define AXF_ATTN_TOKENS 128          /* tokens shown (a longer example is cut, and says so) */
typedef struct axf_attn_view {
    int have;                        /* computed for the request below ("err" says why not) */
    unsigned long req;               /* the request's number (the screen's, echoed) */
    int example, n_examples;         /* search example shown, of how many */
    int layer, head, query;          /* the row: query token `query` of head `head` in layer `layer` */
    int n;                           /* the example's tokens */
    int label;                       /* its label (-1 unlabelled) */
    axf_hard_mode mode;              /* the setting compared: the layer's own, or (layer_hard 0) */
    int k;                           /* top-K with the session's K, what t would switch on */
    float threshold;
    int layer_hard;
    int head_removed;                /* the plan removes this head (its attention is still shown) */
    char tok[AXF_ATTN_TOKENS][24];   /* token texts ("#id" without a vocabulary) */
    float dense[AXF_ATTN_TOKENS], hard[AXF_ATTN_TOKENS]; /* the query's row */
    int rows_changed;                /* query rows of this head the setting changes */
    char err[160];
} axf_attn_view;

typedef enum { AXF_PHASE_STARTING = 0, AXF_PHASE_READY, AXF_PHASE_FAILED } axf_phase;

typedef struct axf_view {
    unsigned long seq;           /* bumped at every publish */
    int phase;                   /* axf_phase */
    char fail[512];              /* why the session could not be opened */
    char start_label[96];        /* what the starting phase is doing */

    int have_snap;
    axf_snapshot snap;
    char title[96];              /* model name */
    char session_path[512];      /* "" until saved somewhere */
    char autosave_path[512];
    unsigned long cmds_done;     /* commands executed (or replaced by a later one) so far */
    int user_dirty;              /* changed since the last save by the user (w) */
    int quit_ready;              /* a save-and-quit went through: the screen closes */

    /* importance for the wanted kind, of the committed plan (imp_stale: of an older plan, the
     * one at step imp_step when it was measured) */
    int imp_kind;                /* axf_imp_kind the values are of */
    int have_imp, imp_stale, imp_step;
    axf_importance imp;
    char imp_err[160];           /* why the wanted kind is not available ("" = fine) */

    /* held-out metrics and speed: *_stale = of an older plan (the one at step *_step) */
    int have_holdout, holdout_stale, holdout_step;
    axf_metrics ho_base, ho_cur;
    int have_speed, speed_stale, speed_step;
    axf_speed speed;             /* medians per CPU second of one thread, the ratio and its spread */

    int n_steps;                 /* = snap.history_len */
    axf_view_step *steps;        /* [n_steps], owned */
    int n_trials;                /* trials made on the plan before step `cursor` (teaching) */
    axf_view_trial trials[AXF_VIEW_TRIALS];
    int trials_total;            /* of that step, when more than kept */
    int n_trials_after;          /* trials made on the committed plan since (not kept yet) */
    axf_view_trial trials_after[AXF_VIEW_TRIALS];
    int trials_after_total;
    char explain[2048];          /* the Lua host's explanation of step `cursor` ("" = none) */

    long n_log;                  /* lines ever logged; line i is log[i % AXF_VIEW_LOG] */
    axf_view_line log[AXF_VIEW_LOG];

    int have_policy;
    int policy_state;            /* axf_lua_state */
    int policy_running;          /* the user asked for run (a) */
    int policy_steps;
    char policy_name[64];
    char policy_rule[32];        /* the policy's "rule" parameter ("" = it has none) */
    char policy_file[64];        /* base name of the policy file */
    char policy_msg[256];

    axf_attn_view attn;          /* the hard-attention view's sentence (when asked for) */

    char message[256];           /* last one-line message for the status bar */
    int message_error;
    unsigned long message_seq;
} axf_view;

/* Fills t for the hard-attention view: search example `example` (clamped to the split), query
 * token `query` of head `head` in layer `layer`, under the committed plan (attnview.c; on the
 * thread that owns the session). t->err says why when t->have stays 0. */
void axf_attn_view_fill(axf_session *s, int example, int layer, int head, int query, axf_attn_view *t);

/* Decimals that show a loss of this size (and its changes) with 3-4 significant digits. */
int axf_loss_decimals(double loss);

/* Bounded string copy (always terminated; src NULL = ""). */
void axf_str_copy(char *dst, size_t n, const char *src);

/* Copies src into dst (dst's steps array is reused/grown). */
void axf_view_copy(axf_view *dst, const axf_view *src);
void axf_view_free_steps(axf_view *v);

/* Progress of what the worker is doing now, updated from the session's progress callback. */
typedef struct axf_progress_view {
    int busy;
    char label[80];
    double done, total;
    double start;                /* axf_now() when the work began */
    int preemptible;             /* background work: any key cancels it */
} axf_progress_view;

#endif
