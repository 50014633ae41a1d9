/* Private to src/lua: the host struct shared by the host (luahost.c), the sandbox (sandbox.c)
 * and the `axf` module binding (luaaxf.c, luastep.c). */
#ifndef AXF_LUA_INTERNAL_H
#define AXF_LUA_INTERNAL_H

#include <lauxlib.h>
#include <math.h>
#include <lua.h>
#include <stdatomic.h>

#include "axf/luahost.h"

#define AXF_LUA_SESSION_MT "axf.session"
#define AXF_LUA_HOOK_COUNT 1000   /* instructions between two count-hook calls */
#define AXF_LUA_CALL_COST 10      /* budget units charged per function call (C ones included) */

/* Growing text buffer (never NULL once appended to). */
typedef struct axf_sbuf {
    char *p;
    size_t n, cap;
} axf_sbuf;
void axf_sbuf_add(axf_sbuf *b, const char *s, size_t n);
void axf_sbuf_printf(axf_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void axf_sbuf_clear(axf_sbuf *b);
void axf_sbuf_free(axf_sbuf *b);
const char *axf_sbuf_str(const axf_sbuf *b); /* "" when empty */
/* Appends the values at stack slots 1..n as print() shows them (tostring), tab-separated. */
void axf_sbuf_add_values(axf_sbuf *b, lua_State *L, int n);

/* Why Lua code must stop now; once set, every hook tick and every protected call re-raises. */
typedef enum { KILL_NONE = 0, KILL_BUDGET, KILL_TIME, KILL_CANCEL, KILL_CLOSING } axf_kill;

typedef struct axf_lua_pdecl {
    char *name, *value, *def, *doc;
    axf_lua_param_type type;
} axf_lua_pdecl;

struct axf_luahost {
    axf_session *s;
    axf_luahost_opts o;
    lua_State *L;              /* main thread: console, load, bookkeeping */
    lua_State *co;             /* policy coroutine (anchored at co_ref), NULL when none */
    int co_ref;
    int started;               /* run(s, p) has been entered */
    atomic_int state;          /* axf_lua_state */
    atomic_int cancel_req, pause_req;
    atomic_int in_run;         /* inside axf_luahost_run (pause also stops between steps) */
    int script_running;        /* script code runs: the hook enforces budget/cancel only then */
    int continuing;            /* the last step was paused midway: keep its explanation */

    /* Allocator: the cap applies only while script code runs (mem_limited). */
    size_t mem_used;
    int mem_limited, mem_hit;

    /* Budget and stop reasons for the current resume/console line. */
    long long budget_left;
    /* Lua time of the current resume: wall time between hook ticks, leaving out every interval in
     * which a session call (an evaluation) began (host_calls moved). */
    double lua_seconds, tick_last;
    unsigned host_calls, host_calls_seen, ticks;
    axf_kill kill;
    char kill_msg[512];
    char last_where[256];      /* "chunk:line" at the last hook tick (for memory errors) */
    int can_pause;             /* the current session call may be interrupted by a pause */
    int in_console;            /* a console line is running (apply commits without yielding) */
    int paused_midstep;
    lua_CFunction redo;        /* the method a pause redoes on resume (luaaxf.c) */

    int steps;
    char msg[1024];
    char name[128];
    char chunk[128];           /* chunk name (file base name) */
    char sha[65];

    /* Explanation of the step being built (cur) and of the last one (last). */
    axf_sbuf expl_cur, expl_last;
    axf_sbuf pending;          /* trial line waiting for its verdict */
    int have_pending;
    axf_sbuf console_out;      /* print() during a console line */
    axf_sbuf printbuf;         /* scratch for print() */

    axf_lua_pdecl *params;
    int n_params;
    char *params_json;
};

/* host of a lua_State (stored as the allocator's user data) */
static inline axf_luahost *axf_lua_host(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* sandbox.c */
int axf_lua_open_sandbox(lua_State *L);   /* lua_CFunction: libraries, wrappers, protections */
void axf_lua_hook(lua_State *L, lua_Debug *ar);
/* Raises the kill message (never returns). */
int axf_lua_raise_killed(lua_State *L);
/* Stops the script for good (message names the innermost Lua line of L). */
void axf_lua_kill(lua_State *L, axf_kill why);
/* "chunk:line" of the innermost Lua frame of L (stack inspection, works on a dead coroutine). */
void axf_lua_where(lua_State *L, char *buf, size_t n);

/* Fields of the table at the top. NaN numbers are left out: scripts never see NaN. */
static inline void axf_lua_set_num(lua_State *L, const char *k, double v)
{
    if (isnan(v))
        return; /* unknown / not defined: absent, never NaN in a script's hands */
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static inline void axf_lua_set_int(lua_State *L, const char *k, long long v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

static inline void axf_lua_set_str(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static inline void axf_lua_set_bool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}


/* luaconv.c */
#define AXF_LUA_MAX_STEP_ACTIONS 64
#define AXF_LUA_METRICS_MT "axf.metrics"
int axf_lua_metrics_tostring(lua_State *L);
void axf_lua_push_metrics(lua_State *L, const axf_luahost *h, const axf_metrics *m);
/* Metrics of the committed plan without evaluating (recorded at every commit/undo/redo). */
void axf_lua_committed_metrics(const axf_luahost *h, axf_metrics *out);
void axf_lua_push_floats(lua_State *L, const float *v, int n);
void axf_lua_push_action(lua_State *L, const axf_action *a);
/* One action table, or a list of them (one step), at idx into acts[AXF_LUA_MAX_STEP_ACTIONS];
 * returns the count or raises. */
int axf_lua_parse_actions(lua_State *L, int idx, axf_action *acts);
void axf_lua_push_layer(lua_State *L, const axf_layer_plan *lp, int groups);
int axf_lua_parse_gran(lua_State *L, int idx);
void axf_lua_push_imp_values(lua_State *L, const axf_importance *imp, const axf_imp_values *v);

/* luaparams.c */
/* Reads the global `params` (g: the global table's index) into h->params, applies sets, builds
 * h->params_json; returns the stack index of the params table. Raises on bad declarations. */
int axf_lua_read_params(lua_State *L, axf_luahost *h, int g, const char *const *sets, int n_sets);
void axf_lua_params_free(axf_luahost *h);

/* luaaxf.c */
int axf_lua_open_axf(lua_State *L);       /* lua_CFunction: the `axf` table + session type */
void axf_lua_push_session(lua_State *L);  /* the session userdata (one per state, cached) */
/* What every session method does (luastep.c's too): self checked to be the session (raises "METHOD:
 * call it on the session as s:METHOD(...)"); begin_call before a session call that may evaluate;
 * a call that returned AXF_CANCELLED ends with on_cancelled (a pause yields and redoes `method` on
 * its nargs arguments when resumed, else the script stops); other failures raise "METHOD: msg". */
axf_luahost *axf_lua_check_session(lua_State *L, const char *method);
void axf_lua_begin_call(lua_State *L, axf_luahost *h);
int axf_lua_on_cancelled(lua_State *L, int nargs, lua_CFunction method);
int axf_lua_session_fail(lua_State *L, const char *method, const axf_err *err);
/* Marks the sentinel yielded by apply/undo/redo at a step boundary. */
extern char axf_lua_step_token;
/* Log helpers used by the binding (host keeps the explanation). */
void axf_lua_emit(axf_luahost *h, axf_lua_log_kind kind, const char *line);
void axf_lua_flush_trial(axf_luahost *h, const char *verdict);

/* luastep.c: s:try, s:try_batch, s:note, s:trial_losses, s:trial_no_worse, s:apply, s:distil, s:undo,
 * s:redo and s:check, NULL-terminated (luaaxf.c puts them in the session's method table). */
extern const luaL_Reg axf_lua_step_methods[];

#endif
