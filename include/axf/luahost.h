/* The Lua policy host: a sandboxed Lua 5.4 state over one axf_session, the `axf` module, and a
 * policy run as a coroutine whose every committed action (session:apply) is a step boundary. The
 * CLI (`axf search`) and the screen drive policies only through this header.
 *
 * Policy file (scripts/README.md has the whole API):
 *     name   = "my policy"                 -- optional, shown by the screen
 *     params = { K = 30, rule = "reference", verbose = false }   -- declared parameters
 *     params_doc = { K = "keys kept per query row" }             -- optional, one line each
 *     function run(s, p) ... end           -- s: the session, p: params after overrides
 * Loading runs the chunk's top level (sandboxed, budgeted, the session not reachable), reads
 * `params`, applies the KEY=VALUE overrides (typed by each default: integer, number, boolean,
 * string; unknown keys and ill-typed values are refused), records the policy in the session
 * (axf_session_set_policy: file name, sha256 of the file content, params as JSON) and prepares
 * the coroutine run(s, p). Nothing runs until the first step.
 *
 * Steps: axf_luahost_step resumes the coroutine until the policy commits one action (a step,
 * then it is paused), returns from run (done), raises an error, exceeds its instruction budget,
 * time limit or memory cap (error), or is cancelled. While paused, the caller may undo/redo/goto
 * on the session (or commit by hand): the policy carries on from whatever plan is committed
 * when resumed.
 *
 * Errors name chunk and line: "axformer.lua:57: bad action: field 'layer' must be an integer"
 * "axformer.lua:12: instruction budget exceeded (100000000 per step)",
 * "axformer.lua:12: time limit exceeded (5 s of Lua per step)",
 * "axformer.lua:40: memory cap exceeded (256 MiB)", "axformer.lua:88: cancelled".
 * Whatever stops the policy, the session stays consistent: committed steps stay committed, a
 * trial in progress is not committed (session.h: failed or cancelled calls change nothing).
 *
 * Threads: a host and its session are used from ONE thread at a time (the screen's worker
 * thread), including the log callback, which runs on that thread inside step/eval/load. Only
 * axf_luahost_cancel, axf_luahost_pause and axf_luahost_state may be called from any other thread
 * (they touch one atomic each; the instruction hook and the session progress callback poll them;
 * nothing ever touches the lua_State from a signal handler or another thread). A signal handler
 * may call axf_luahost_cancel (it is async-signal-safe).
 *
 * The host installs its own progress callback on the session (to poll cancel/pause during
 * evaluations) and chains to opts.progress; do not replace it with axf_session_set_progress while
 * the host lives. axf_luahost_free gives the session its previous (opts) callback back. */
#ifndef AXF_LUAHOST_H
#define AXF_LUAHOST_H

#include "axf/session.h"

typedef struct axf_luahost axf_luahost;

/* What a log line is, for the callback. */
typedef enum {
    AXF_LUA_LOG_PRINT = 0,  /* print(...) or axf.log(msg) from the policy */
    AXF_LUA_LOG_TRIAL,      /* one trial and its verdict: "try drop_ffn L6: loss 0.2449 (best
                               0.2420), 4407/10102 no worse -> rejected: majority rule" */
    AXF_LUA_LOG_STEP,       /* a committed step's explanation (multi-line, = axf_luahost_explanation) */
    AXF_LUA_LOG_STATUS      /* the policy finished, failed or was cancelled (one line) */
} axf_lua_log_kind;
typedef void (*axf_lua_log_fn)(axf_lua_log_kind kind, const char *line, void *ud);

typedef struct axf_luahost_opts {
    long long budget;          /* Lua instructions per resume (one step, one console line, the
                                  load); 0 = unlimited. Default 1e9 (a few seconds of pure Lua;
                                  time inside evaluations does not count) */
    double seconds;            /* wall-clock seconds of Lua per resume, time inside evaluations
                                  not counted; default 5; 0 = unlimited. The budget is the
                                  deterministic limit; this one stops what instructions do not
                                  measure (stack overflows in a loop, ~0.6 s each) */
    size_t mem_cap;            /* bytes of Lua heap; default 256 MiB; 0 = default */
    uint64_t seed;             /* seeds math.random; 0 = the session's seed (axf_session_seed),
                                  otherwise also recorded in the session */
    axf_lua_log_fn log;        /* NULL = discard */
    void *log_ud;
    axf_progress_fn progress;  /* chained from the host's session progress callback (evaluations
                                  inside policy/console calls); may itself return nonzero to
                                  cancel. NULL = none */
    void *progress_ud;
} axf_luahost_opts;

axf_luahost_opts axf_luahost_opts_default(void);

/* A host over s (not owned; must outlive the host). opts NULL = defaults. The sandbox exists at
 * once (the console works before any policy is loaded). NULL + err on failure. */
axf_luahost *axf_luahost_new(axf_session *s, const axf_luahost_opts *opts, axf_err *err);
void axf_luahost_free(axf_luahost *h);

/* Loads a policy file, with overrides sets[0..n_sets) of the form "KEY=VALUE". Replaces any
 * previous policy and starts a fresh sandbox (console globals are lost). -1 + err on a syntax
 * error, a top-level error, a missing `run` function, a bad `params` table or a bad override
 * ("--set K=abc: parameter K is an integer (default 30)", "--set X=1: unknown parameter X
 * (declared: K, near_miss, rule)"); the previous policy is gone either way. */
int axf_luahost_load(axf_luahost *h, const char *path, const char *const *sets, int n_sets,
                     axf_err *err);
/* Same from memory; chunkname names it in messages (e.g. "test.lua"). Recorded sha256 is of src. */
int axf_luahost_load_string(axf_luahost *h, const char *chunkname, const char *src, size_t len,
                            const char *const *sets, int n_sets, axf_err *err);

/* Status of the policy. */
typedef enum {
    AXF_LUA_NONE = 0,    /* no policy loaded */
    AXF_LUA_IDLE,        /* loaded and not started, or paused between steps: step resumes it */
    AXF_LUA_RUNNING,     /* inside axf_luahost_step (seen only from another thread) */
    AXF_LUA_DONE,        /* run returned */
    AXF_LUA_ERROR,       /* error, budget, time or memory cap; axf_luahost_message says which,
                            where */
    AXF_LUA_CANCELLED    /* stopped by axf_luahost_cancel */
} axf_lua_state;
const char *axf_lua_state_name(axf_lua_state st);  /* "none", "idle", "running", ... */

/* Results of axf_luahost_step / axf_luahost_run. */
enum {
    AXF_LUA_STEPPED = 1, /* one action committed; the policy is paused (IDLE) */
    AXF_LUA_FINISHED = 0 /* the policy returned (DONE) */
    /* -1: error (ERROR, err names chunk:line); AXF_CANCELLED (-2): cancelled (CANCELLED), or
       paused mid-step by axf_luahost_pause (IDLE again: the next step carries on; a trial that
       was interrupted is simply redone) */
};
/* Resumes the policy for one step. Calling it when not IDLE returns -1 ("no policy loaded",
 * "the policy has finished", ...). */
int axf_luahost_step(axf_luahost *h, axf_err *err);
/* Steps until done, error or cancel/pause; returns what the last step returned except that a
 * finished run returns AXF_LUA_FINISHED. */
int axf_luahost_run(axf_luahost *h, axf_err *err);

/* From any thread (or a signal handler): stop the running policy for good at the next hook tick
 * or evaluation batch (state CANCELLED). Also interrupts a running console line. */
void axf_luahost_cancel(axf_luahost *h);
/* From any thread: interrupt the running step as soon as possible without killing the policy
 * (state back to IDLE, step returns AXF_CANCELLED with err "paused"). Ignored when nothing runs. */
void axf_luahost_pause(axf_luahost *h);
/* From any thread. */
axf_lua_state axf_luahost_state(const axf_luahost *h);

/* Last status line: "" after a step; the error ("axformer.lua:57: ..."), "axformer.lua:88:
 * cancelled", "cancelled before step 4", "paused at axformer.lua:60", "paused after step 3",
 * "done: 14 steps". Valid until the next call on the host. */
const char *axf_luahost_message(const axf_luahost *h);
/* Steps committed by the policy since load. */
int axf_luahost_steps(const axf_luahost *h);
/* Policy name (`name` global, else the file's base name) and file sha256 ("" when none). */
const char *axf_luahost_policy_name(const axf_luahost *h);
const char *axf_luahost_policy_sha256(const axf_luahost *h);

/* Explanation of the last committed step, for the teaching panel: one line per trial made during
 * the step with its verdict, then the committed action with loss/accuracy before -> after, e.g.
 *   "try drop_ffn L3: loss 0.2449 vs best 0.2420 -> rejected: only 4407 of 10102 no worse\n"
 *   "kept drop_head L3.h1: loss 0.2420 -> 0.2411, accuracy 91.48% -> 91.52% (reference rule)"
 * "" before the first step. After the policy finished, the trials made after its last commit.
 * Valid until the next step/load. */
const char *axf_luahost_explanation(const axf_luahost *h);

/* What one step did, in one call, for a caller that shows it (the screen): the result, the state
 * after it, and when a step was committed, the step as the session's history holds it (what was
 * done, with the policy's note, metrics before -> after) and why (the explanation). Pointers live
 * until the next call on the host or the next change of the session's history. */
typedef struct axf_lua_report {
    int rc;                      /* what axf_luahost_step returned */
    axf_lua_state state;         /* the policy's state afterwards (IDLE again after a pause) */
    int step;                    /* rc == AXF_LUA_STEPPED: the step's number (the session's
                                    cursor), else 0 */
    axf_history_entry entry;     /* that step (zeroed when none) */
    const char *why;             /* = axf_luahost_explanation */
    const char *message;         /* = axf_luahost_message */
} axf_lua_report;
/* axf_luahost_step, and its report into out. Returns out->rc. */
int axf_luahost_step_report(axf_luahost *h, axf_lua_report *out, axf_err *err);

/* ---- Declared parameters (after overrides) ---- */
typedef enum {
    AXF_LUA_PARAM_BOOL = 0, AXF_LUA_PARAM_INT, AXF_LUA_PARAM_NUMBER, AXF_LUA_PARAM_STRING
} axf_lua_param_type;
typedef struct axf_lua_param {
    const char *name;
    axf_lua_param_type type;
    const char *value;       /* current value as text ("30", "1.1", "true", "reference") */
    const char *def;         /* the policy's default, same form */
    const char *doc;         /* params_doc entry or "" */
} axf_lua_param;
/* Parameters sorted by name; the pointers live until the next load. -1 when out of range. */
int axf_luahost_param_count(const axf_luahost *h);
int axf_luahost_param_get(const axf_luahost *h, int i, axf_lua_param *out);
/* The params as a JSON object text (what the session records); valid until the next load. */
const char *axf_luahost_params_json(const axf_luahost *h);

/* ---- Console: one line of Lua in the same sandbox (globals shared with the policy; `s` and
 * `session` are the session) ----
 * Like lua.c: "return LINE" is tried first, so an expression prints its values. *out receives
 * everything print()ed plus the returned values (tostring'd, tab-separated), malloc'ed, to free
 * by the caller (set even on error, may be ""). Returns 0, or -1 with err ("console:1: ...").
 * s:apply from the console commits one action directly (no policy step). Refused while the
 * policy is running (it cannot be: same thread). Budget and memory cap apply. */
int axf_luahost_eval(axf_luahost *h, const char *line, char **out, axf_err *err);

#endif
