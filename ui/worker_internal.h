/* The worker's private state, shared by its files; nothing here is API (worker.h is).
 *   worker.c          the command queue, the thread and its loop, the calls of worker.h
 *   worker_cmds.c     what each queued command does (apply, undo/redo, policy steps, save, ...)
 *   worker_results.c  numbers measured in the background for the committed plan (held-out
 *                     metrics, importance, speed)
 *   worker_view.c     the view and the log the screen reads (publish, log lines, messages)
 *   worker_open.c     opening the session (demo, file, model), its autosave path and dirty state
 * Functions shared between these files are prefixed axf_wk_. */
#ifndef AXF_UI_WORKER_INTERNAL_H
#define AXF_UI_WORKER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "axf/luahost.h"
#include "worker.h"

#define AXF_WK_QCAP 64
enum { AXF_WK_IN_NONE = 0, AXF_WK_IN_POLICY, AXF_WK_IN_CONSOLE };

struct axf_worker {
    axf_ui_opts o;
    char *own[16 + AXF_UI_MAX_SETS];  /* owned copies of o's strings */
    int n_own;

    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    axf_wcmd q[AXF_WK_QCAP];
    int qh, qn;
    unsigned long n_posted, n_done; /* (mu) commands posted / executed or merged into a later one */
    int quit;
    atomic_int run_req;        /* the user wants the policy running */
    atomic_int cancel;         /* abandon the current non-policy work */
    atomic_int preempt;        /* the current work is background */
    atomic_int in_policy;      /* AXF_WK_IN_POLICY: a policy step runs now; _IN_CONSOLE: a console line */
    atomic_int pause_want;     /* the user paused the policy: passed on to the host again from
                                  every progress tick of the step (a pause that arrives before the
                                  host runs the step would otherwise be lost) */
    axf_luahost *_Atomic host;
    axf_view v;                /* published (mu) */
    axf_progress_view prog;    /* (mu) */

    /* worker thread only */
    axf_session *s;
    axf_luahost *h;
    int want_kind;             /* the importance kind the screen shows */
    /* what not to measure again (the session keeps what was measured, by plan): the importance
     * that failed or was cancelled (kind, plan, step, why; i asks again), the plan whose speed
     * was measured or skipped last, the measures that failed for good */
    int imp_fail_kind, imp_fail_step;
    axf_plan *imp_fail_plan;
    char imp_err[160];
    axf_plan *speed_tried;
    int speed_failed, ho_failed;
    char **explain;            /* [i] = host explanation of history step i+1, or NULL */
    int n_explain;
    char session_path[512], autosave_path[512];
    char record_warning[224];  /* the opened file's record disagrees with what is measured */
    int user_dirty;
    int quit_ready;            /* a save-and-quit went through */
    int autosave_failed;
    /* what the user saved (or opened): commits so far, cursor, trials; the screen asks before
     * quitting when the session is elsewhere, so walking a replay back to where it was is clean */
    long gen, last_hl;
    double last_time;
    long saved_sig[3];
};

/* worker.c */
/* Work the progress bar shows; preemptible work stops as soon as a command arrives. */
void axf_wk_work_begin(axf_worker *w, const char *label, int preemptible);
void axf_wk_work_end(axf_worker *w);
/* Progress of every long session call (chained through the Lua host while it lives). A nonzero
 * return makes the call stop with AXF_CANCELLED and change nothing. ud = the worker. */
int axf_wk_on_progress(double done, double total, void *ud);

/* worker_cmds.c: runs one queued command. */
void axf_wk_exec(axf_worker *w, const axf_wcmd *c);
/* One policy step; running: part of a run (a), which a pause before the step began stops. */
void axf_wk_policy_step(axf_worker *w, int running);

/* worker_results.c (the numbers themselves are kept by the session: axf_session_kept_*) */
/* Something is still to be measured for the committed plan. */
int axf_wk_background_pending(axf_worker *w);
/* Measures the first thing background_pending found missing (preemptible). */
void axf_wk_background(axf_worker *w);
/* asked: the user pressed m, and the log gets the figures of this measurement. */
int axf_wk_measure_speed(axf_worker *w, int asked);
/* The user asked for importance of kind (again: a failed measurement is tried again). */
void axf_wk_want_importance(axf_worker *w, int kind);
/* The speed measured at history step i (0-based) into out, when there is one. */
void axf_wk_results_step(axf_worker *w, int i, axf_view_step *out);
/* The importance, held-out and speed fields of v (called with mu held). */
void axf_wk_results_publish(axf_worker *w, axf_view *v);
void axf_wk_results_free(axf_worker *w);

/* worker_view.c */
/* Appends one log line (any thread that holds no lock; takes mu). Multi-line text becomes
 * several lines. */
void axf_wk_log(axf_worker *w, int kind, int step, const char *text);
void axf_wk_logf(axf_worker *w, int kind, int step, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The status bar's message, also logged (error: shown as one). */
void axf_wk_message(axf_worker *w, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sets the starting phase's label. */
void axf_wk_start_label(axf_worker *w, const char *label);
/* The Lua host's log lines into the log (its log callback; ud = the worker). */
void axf_wk_on_lua_log(axf_lua_log_kind kind, const char *line, void *ud);
/* History step number step (entry h) into the log: "<verb><n>: <actions>  loss a → b, ...";
 * log_step: the one at the cursor. */
void axf_wk_log_entry(axf_worker *w, const char *verb, int step, const axf_history_entry *h);
void axf_wk_log_step(axf_worker *w, const char *verb);
/* The log of a loaded session: for every step, the trials made before it, then the step. */
void axf_wk_log_history(axf_worker *w);
/* A new step at the cursor (text = the policy's explanation, NULL = none) drops the redo tail's. */
void axf_wk_explain_commit(axf_worker *w, const char *text);
void axf_wk_explain_free(axf_worker *w);
/* Copies everything the screen draws into the view (mu taken inside). */
void axf_wk_publish(axf_worker *w);

/* worker_open.c */
/* Opens or loads the session (building the demo model first when asked) and the Lua host. */
int axf_wk_open(axf_worker *w, axf_err *err);
/* STATE/axformer/autosave-<title>.json into w->autosave_path unless one was given. */
void axf_wk_autosave_path(axf_worker *w);
/* A model folder's own name ("models/x/" -> "x"), with its parent when it is just "model". */
void axf_wk_title_from_dir(char *out, size_t n, const char *dir);
/* The session as the user has it now counts as saved. */
void axf_wk_mark_saved(axf_worker *w);
/* Called after everything that may change the session: notes whether the user's copy differs
 * and writes the autosave file at once (atomic write) so a kill loses nothing. */
void axf_wk_after_change(axf_worker *w);

#endif
