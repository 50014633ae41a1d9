/* The worker thread: the only thread that touches the session and the Lua host. The screen posts
 * commands to its queue and reads back copies of the view it publishes (view.h). Pause and cancel
 * bypass the queue (they must reach a step that is already running). */
#ifndef AXF_UI_WORKER_H
#define AXF_UI_WORKER_H

#include "axf/ui.h"
#include "view.h"

typedef enum {
    AXF_WCMD_APPLY = 0,   /* act */
    AXF_WCMD_UNDO,
    AXF_WCMD_REDO,
    AXF_WCMD_GOTO,        /* arg = cursor */
    AXF_WCMD_STEP,        /* one policy step */
    AXF_WCMD_RUN,         /* run the policy until done or paused */
    AXF_WCMD_RELOAD,      /* load the policy again (fresh start from the committed plan) */
    AXF_WCMD_MEASURE,     /* arg = axf_imp_kind to show */
    AXF_WCMD_SAVE,        /* text = path ("" = the session path) */
    AXF_WCMD_EXPORT,      /* text = folder */
    AXF_WCMD_LUA,         /* text = one console line */
    AXF_WCMD_SPEED,       /* measure speed now */
    AXF_WCMD_SAVE_QUIT,   /* text = path ("" = the session path): save; once saved the view says
                             quit_ready and the screen closes */
    AXF_WCMD_ATTENTION    /* the hard-attention view's row into view.attn: arg = search example,
                             act.layer, act.index = head, act.count = query token */
} axf_wcmd_type;

typedef struct axf_wcmd {
    axf_wcmd_type type;
    axf_action act;
    int arg;
    char text[1024];
    int tail_ok;          /* APPLY, STEP, RUN: the redo steps ahead the user agreed to drop (the
                             screen asks first); with more ahead the worker refuses the command */
    unsigned long id;     /* set by axf_worker_post: the command's number (axf_worker_posted) */
} axf_wcmd;

typedef struct axf_worker axf_worker;

/* Starts the thread, which opens/loads the session (or builds the demo first). o is copied. */
axf_worker *axf_worker_start(const axf_ui_opts *o, axf_err *err);
/* Stops the thread (cancelling whatever runs), joins it and frees everything. NULL is fine. */
void axf_worker_stop(axf_worker *w);

/* Queues a command; -1 when the queue is full (the screen says "busy"). */
int axf_worker_post(axf_worker *w, const axf_wcmd *c);
/* Commands posted so far: a command's number is this count right after its post. A hard-attention
 * setting posted while another of the same layer still waits replaces it (counted as done), as
 * does a request for the attention view's row. */
unsigned long axf_worker_posted(axf_worker *w);
/* Commands waiting (not counting the one running). */
int axf_worker_pending(axf_worker *w);
/* Copies the view into dst when it is newer than dst->seq; returns 1 when it copied. */
int axf_worker_view(axf_worker *w, axf_view *dst);
void axf_worker_progress(axf_worker *w, axf_progress_view *out);

/* From the screen thread: pause a running policy (it can carry on later; a step interrupted in
 * the middle is taken up again) / cancel what runs now: an evaluation, importance, export or
 * console line is abandoned (changing nothing); a policy is paused, never cancelled, so nothing
 * it did is lost / let the policy finish the step it is in and start no other. */
void axf_worker_pause(axf_worker *w);
void axf_worker_cancel(axf_worker *w);
void axf_worker_finish_step(axf_worker *w);

#endif
