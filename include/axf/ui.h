/* The ncurses workbench (ui/): what `axf tui` and `axf demo` start.
 *
 * Threads: axf_ui_run draws on the calling thread and starts ONE worker thread that owns the
 * session and the Lua host; every session call (open/load included) runs there, driven by a
 * command queue, and the screen draws only from copies the worker publishes under a mutex.
 *
 * Files: the session is saved to session_path with `w` (asked for when NULL) and, after every
 * committed step, autosaved atomically to autosave_path (NULL = $XDG_STATE_HOME/axformer/
 * autosave-<model name>.json, or under ~/.local/state/axformer/), so a crash or a kill loses no
 * step: reopen that file with `axf tui --session FILE`. */
#ifndef AXF_UI_H
#define AXF_UI_H

#include "axf/common.h"
#include "axf/session.h"

#define AXF_UI_MAX_SETS 32

typedef struct axf_ui_opts {
    const char *model_dir;     /* with data_path: open a fresh session */
    const char *data_path;
    const char *holdout_path;  /* reporting split (may be NULL) */
    const char *session_path;  /* existing file: load it (replay mode); else where `w` saves */
    const char *policy_path;   /* Lua policy for s / a (NULL = none: keys s and a say so) */
    const char *train_path;    /* training file of D / :distil (NULL: train.tsv beside the search
                                  split, when there is one) */
    const char *autosave_path; /* NULL = the default above */
    const char *sets[AXF_UI_MAX_SETS]; /* policy parameters "key=value" (--set) */
    int n_sets;
    int teach;                 /* start with the teaching panel open */
    int demo;                  /* build (or reuse from the cache) the demo model first */
    uint64_t demo_seed;        /* seed of the demo task and model */
    const char *demo_dir;      /* a demo build to use instead of the cache (axf demo-model --out) */
    const char *title;         /* shown in the title bar (NULL = model dir's name) */
    const char *control_path;  /* a finished session of the same model and split (a random.lua run)
                                  drawn beside the trade-off plot as the control (NULL = none) */
    axf_session_opts sopts;    /* progress fields are ignored (the screen sets its own) */
} axf_ui_opts;

axf_ui_opts axf_ui_opts_default(void);

/* Runs the screen until the user quits. Returns 0; -1 when the terminal cannot be used or the
 * session cannot be opened (err says why); or the number of the signal (SIGINT, SIGTERM, SIGHUP)
 * that ended it. The terminal is restored before returning in every case. */
int axf_ui_run(const axf_ui_opts *o, axf_err *err);

#endif
