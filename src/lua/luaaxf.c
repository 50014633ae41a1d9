/* The `axf` Lua module: the session as a userdata with a registry-named metatable whose __index
 * is a methods table, a checked cast at the top of every method, actions as plain tables (parsed
 * in luaconv.c), and every failure a Lua error with a message naming the method and the field.
 * The held-out split has no binding.
 *
 * Indices of layers, heads, groups and neurons are 0-based (as in session.h and the session
 * JSON); arrays of samples (losses) are ordinary 1-based Lua sequences.
 *
 * Step boundaries: apply/undo/redo called by the policy's own coroutine commit and then yield
 * the step token to the host (lua_yieldk with a continuation that returns the metrics). From the
 * console they commit without yielding. A session call interrupted by a pause yields with no
 * value and, when resumed, redoes the call (nothing was changed by the interrupted call). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axf/dist.h"
#include "lua_internal.h"

char axf_lua_step_token;

#define MAX_STEP_ACTIONS AXF_LUA_MAX_STEP_ACTIONS
#define SESSION_UD_KEY "axf.session.ud"
#define METRICS_MT AXF_LUA_METRICS_MT

/* ---- helpers ---- */

static axf_luahost *check_session(lua_State *L, const char *method)
{
    if (!luaL_testudata(L, 1, AXF_LUA_SESSION_MT))
        luaL_error(L, "%s: call it on the session as s:%s(...) (got %s as self)", method, method,
                   luaL_typename(L, 1));
    return axf_lua_host(L);
}

static const char *opt_note(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx))
        return NULL;
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "note must be a string (got %s)", luaL_typename(L, idx));
    return lua_tostring(L, idx);
}

/* The continuation of a paused call: the method on_cancelled kept, on its nargs arguments. One
 * call at most is paused at a time (only the policy's coroutine pauses). */
static int redo_call(lua_State *L, int st, lua_KContext nargs)
{
    lua_settop(L, (int)nargs);
    return axf_lua_host(L)->redo(L);
}

/* A session call returned AXF_CANCELLED: pause (yield, redo the call, `method`, on resume) when
 * asked and possible, otherwise stop the script for good. */
static int on_cancelled(lua_State *L, int nargs, lua_CFunction method)
{
    axf_luahost *h = axf_lua_host(L);
    if (atomic_load(&h->pause_req) && h->can_pause && !atomic_load(&h->cancel_req)) {
        h->paused_midstep = 1;
        h->redo = method;
        lua_settop(L, nargs);
        return lua_yieldk(L, 0, nargs, redo_call);
    }
    if (!h->kill)
        axf_lua_kill(L, KILL_CANCEL);
    return axf_lua_raise_killed(L);
}

static void begin_call(lua_State *L, axf_luahost *h)
{
    h->host_calls++; /* the time until the next hook tick is the session's, not the script's */
    h->can_pause = !h->in_console && L == h->co && lua_isyieldable(L);
}

static int session_fail(lua_State *L, const char *method, const axf_err *err)
{
    return luaL_error(L, "%s: %s", method, err->msg);
}

/* ---- methods: facts ---- */

/* Layer-indexed tables are 0-based, like layer arguments (see the top of this file). */
static void push_per_layer(lua_State *L, const int *v, int n_layers)
{
    lua_createtable(L, 0, n_layers);
    for (int i = 0; i < n_layers; i++) {
        lua_pushinteger(L, v[i]);
        lua_rawseti(L, -2, i);
    }
}

/* The host of self (argument 1) and its session's facts. */
static axf_luahost *facts_of(lua_State *L, const char *method, axf_facts *f)
{
    axf_luahost *h = check_session(L, method);
    axf_session_facts(h->s, f);
    return h;
}

static int m_facts(lua_State *L)
{
    axf_facts f;
    facts_of(L, "facts", &f);
    lua_createtable(L, 0, 20);
    axf_lua_set_int(L, "layers", f.n_layers);
    axf_lua_set_int(L, "hidden", f.hidden);
    axf_lua_set_int(L, "heads", f.n_heads);
    axf_lua_set_int(L, "head_dim", f.head_dim);
    axf_lua_set_int(L, "ffn", f.ffn);
    axf_lua_set_int(L, "groups", f.groups);
    axf_lua_set_int(L, "labels", f.num_labels);
    axf_lua_set_str(L, "task", f.task);
    axf_lua_set_str(L, "metric_name", f.metric_name);
    axf_lua_set_bool(L, "regression", f.task_kind == AXF_TASK_REGRESS);
    axf_lua_set_int(L, "params", (long long)f.params);
    axf_lua_set_int(L, "size", (long long)f.size_bytes);
    axf_lua_set_num(L, "flops", f.flops_per_token);
    axf_lua_set_num(L, "mean_len", f.mean_len);
    axf_lua_set_int(L, "n", f.n_search);
    axf_lua_set_int(L, "tokens", f.n_tokens);
    push_per_layer(L, f.layer_heads, f.n_layers);
    lua_setfield(L, -2, "layer_heads");
    push_per_layer(L, f.layer_ffn, f.n_layers);
    lua_setfield(L, -2, "layer_ffn");
    return 1;
}

static int check_layer_arg(lua_State *L, int idx, const axf_facts *f, const char *method)
{
    lua_Integer l = 0;
    int ok = 0;
    if (lua_isinteger(L, idx)) {
        l = lua_tointeger(L, idx);
        ok = 1;
    } else if (lua_type(L, idx) == LUA_TNUMBER) {
        double d = lua_tonumber(L, idx);
        if (isfinite(d) && d == floor(d) && fabs(d) < 1e9) {
            l = (lua_Integer)d;
            ok = 1;
        }
    }
    if (!ok)
        luaL_error(L, "%s: layer must be an integer (got %s)", method, luaL_typename(L, idx));
    if (l < 0 || l >= f->n_layers)
        luaL_error(L, "%s: layer %d out of range (the model has layers 0..%d)", method,
                   (int)(l < -1000000 ? -1000000 : l > 1000000 ? 1000000 : l), f->n_layers - 1);
    return (int)l;
}

static int m_layers(lua_State *L)
{
    axf_facts f;
    facts_of(L, "layers", &f);
    lua_pushinteger(L, f.n_layers);
    return 1;
}

/* s:heads(l) / s:ffn(l): the model's head count / FFN width of layer l. */
static int layer_size(lua_State *L, const char *method, int ffn)
{
    axf_facts f;
    facts_of(L, method, &f);
    int l = check_layer_arg(L, 2, &f, method);
    lua_pushinteger(L, ffn ? f.layer_ffn[l] : f.layer_heads[l]);
    return 1;
}

static int m_heads(lua_State *L) { return layer_size(L, "heads", 0); }

static int m_ffn(lua_State *L) { return layer_size(L, "ffn", 1); }

static int m_groups(lua_State *L)
{
    axf_luahost *h = check_session(L, "groups");
    lua_pushinteger(L, axf_session_defaults(h->s).groups);
    return 1;
}

static int m_seed(lua_State *L)
{
    axf_luahost *h = check_session(L, "seed");
    lua_pushinteger(L, (lua_Integer)(axf_session_seed(h->s) & 0x7fffffffffffffffULL));
    return 1;
}

static int m_layer(lua_State *L)
{
    axf_facts f;
    axf_luahost *h = facts_of(L, "layer", &f);
    int l = check_layer_arg(L, 2, &f, "layer");
    const axf_plan *p = axf_session_plan(h->s);
    axf_lua_push_layer(L, &p->layers[l], axf_session_defaults(h->s).groups);
    return 1;
}

static int m_plan(lua_State *L)
{
    axf_luahost *h = check_session(L, "plan");
    const axf_plan *p = axf_session_plan(h->s);
    int groups = axf_session_defaults(h->s).groups;
    lua_createtable(L, 0, p->n_layers);
    for (int l = 0; l < p->n_layers; l++) {
        axf_lua_push_layer(L, &p->layers[l], groups);
        lua_rawseti(L, -2, l);
    }
    return 1;
}

/* ---- metrics ---- */

static int m_baseline(lua_State *L)
{
    axf_luahost *h = check_session(L, "baseline");
    axf_metrics m;
    axf_session_baseline(h->s, &m);
    axf_lua_push_metrics(L, h, &m);
    return 1;
}

static int m_baseline_losses(lua_State *L)
{
    axf_facts f;
    axf_luahost *h = facts_of(L, "baseline_losses", &f);
    axf_lua_push_floats(L, axf_session_baseline_losses(h->s), f.n_search);
    return 1;
}

/* The committed plan's metrics are always known: nothing runs, nothing can be cancelled. */
static int m_eval(lua_State *L)
{
    axf_luahost *h = check_session(L, "eval");
    axf_metrics m;
    begin_call(L, h);
    axf_session_current(h->s, &m);
    axf_lua_push_metrics(L, h, &m);
    return 1;
}

static int m_losses(lua_State *L)
{
    axf_luahost *h = check_session(L, "losses");
    int nargs = lua_gettop(L);
    axf_err err = {{0}};
    axf_facts f;
    axf_session_facts(h->s, &f);
    begin_call(L, h);
    const float *v = axf_session_losses(h->s, &err);
    if (!v) {
        if (!strcmp(err.msg, "cancelled"))
            return on_cancelled(L, nargs, m_losses);
        return session_fail(L, "losses", &err);
    }
    axf_lua_push_floats(L, v, f.n_search);
    return 1;
}

/* ---- trials ---- */

static void pend_trial(axf_luahost *h, const axf_action *acts, int n, const axf_metrics *m,
                       const axf_metrics *cur, const char *note);

/* The session part of s:try (apply 0), s:apply and s:try_batch: *before = the committed plan's
 * metrics, *after = the result. Returns 0 or AXF_CANCELLED (the method then pauses or stops);
 * any other failure raises "METHOD: message". */
static int session_step(lua_State *L, axf_luahost *h, int apply, const axf_action *acts, int n, const char *note,
                        axf_metrics *before, axf_metrics *after, const char *method)
{
    axf_err err = {{0}};
    axf_lua_committed_metrics(h, before);
    begin_call(L, h);
    int rc = apply ? axf_session_apply(h->s, acts, n, note, after, &err)
                   : axf_session_try(h->s, acts, n, note, after, &err);
    if (rc && rc != AXF_CANCELLED)
        return session_fail(L, method, &err);
    return rc;
}

/* A trial's metrics table with .trial, its place in the journal. */
static void push_trial(lua_State *L, axf_luahost *h, const axf_metrics *m)
{
    axf_lua_push_metrics(L, h, m);
    lua_pushinteger(L, axf_session_trials_len(h->s));
    lua_setfield(L, -2, "trial");
}
/* One trial's log line, held until its verdict (s:note) or the next trial. */
static void pend_trial(axf_luahost *h, const axf_action *acts, int n, const axf_metrics *m,
                       const axf_metrics *cur, const char *note)
{
    char desc[512];
    axf_actions_describe(acts, n, " + ", desc, sizeof desc);
    axf_lua_flush_trial(h, NULL);
    axf_sbuf_clear(&h->pending);
    axf_sbuf_printf(&h->pending, "try %s: loss %.5f (now %.5f), %d of %d no worse", desc, m->loss,
                    cur->loss, m->n_no_worse, m->n);
    if (!isnan(m->accuracy))
        axf_sbuf_printf(&h->pending, ", accuracy %.2f%% (now %.2f%%)", 100 * m->accuracy,
                        100 * cur->accuracy);
    if (note && *note)
        axf_sbuf_printf(&h->pending, " [%s]", note);
    h->have_pending = 1;
}

/* s:try_batch({c1, c2, ...}, note): each c an action or a list of actions (one candidate); every
 * candidate is tried on the committed plan, in order, exactly as s:try(c, note) one after the
 * other (axf_session_try_batch: over MPI the ranks may share the candidates out), and the list
 * of their metrics comes back in that order, each with .trial = its position in the journal (for
 * s:note(verdict, trial)). s:trial_losses() is the last candidate's. A candidate that is not an
 * action is refused before any is tried. Arguments 1-4 on the stack: self, the list, note, the
 * results so far (a pause redoes the rest only). */
static int try_batch_from(lua_State *L)
{
    axf_luahost *h = axf_lua_host(L);
    const char *note = opt_note(L, 3);
    lua_Integer n = luaL_len(L, 2), i0 = luaL_len(L, 4) + 1;
    int left = (int)(n - i0 + 1);
    if (left < 1)
        return lua_settop(L, 4), 1;
    /* userdata, so that a raise frees them */
    axf_action *acts = lua_newuserdatauv(L, sizeof *acts * MAX_STEP_ACTIONS * (size_t)left, 0);
    const axf_action **cands = lua_newuserdatauv(L, sizeof *cands * (size_t)left, 0);
    int *na = lua_newuserdatauv(L, sizeof *na * (size_t)left, 0);
    axf_metrics *ms = lua_newuserdatauv(L, sizeof *ms * (size_t)left, 0);
    for (int k = 0; k < left; k++) {
        lua_geti(L, 2, i0 + k);
        if (!lua_istable(L, -1))
            return luaL_error(L, "try_batch: candidate %d is a %s, not an action or a list of actions",
                              (int)i0 + k, luaL_typename(L, -1));
        cands[k] = acts + (size_t)k * MAX_STEP_ACTIONS;
        na[k] = axf_lua_parse_actions(L, -1, acts + (size_t)k * MAX_STEP_ACTIONS);
        lua_pop(L, 1);
    }
    axf_metrics cur;
    axf_err err = {{0}};
    axf_lua_committed_metrics(h, &cur);
    begin_call(L, h);
    int done = 0, first = axf_session_trials_len(h->s) + 1;
    int rc = axf_session_try_batch(h->s, cands, na, left, note, ms, &done, &err);
    for (int k = 0; k < done; k++) {
        if (!h->in_console)
            pend_trial(h, cands[k], na[k], &ms[k], &cur, note);
        axf_lua_push_metrics(L, h, &ms[k]);
        lua_pushinteger(L, first + k);
        lua_setfield(L, -2, "trial");
        lua_seti(L, 4, i0 + k);
    }
    if (rc == AXF_CANCELLED)
        return on_cancelled(L, 4, try_batch_from);
    if (rc) {
        char method[48];
        snprintf(method, sizeof method, "try_batch: candidate %d", (int)i0 + done);
        return session_fail(L, method, &err);
    }
    lua_settop(L, 4);
    return 1;
}

static int m_try_batch(lua_State *L)
{
    check_session(L, "try_batch");
    luaL_checktype(L, 2, LUA_TTABLE);
    opt_note(L, 3);
    lua_settop(L, 3);
    lua_Integer n = luaL_len(L, 2);
    if (n < 1)
        return luaL_error(L, "try_batch: no candidates (give a list of actions or action lists)");
    lua_createtable(L, (int)(n < 1024 ? n : 1024), 0);
    return try_batch_from(L);
}

/* s:note(verdict[, trial]): the latest trial's note, or that of journal entry `trial` (1-based,
 * as try_batch returns it). */
static int m_note(lua_State *L)
{
    axf_luahost *h = check_session(L, "note");
    const char *v = luaL_checkstring(L, 2);
    int len = axf_session_trials_len(h->s);
    if (len == 0)
        return luaL_error(L, "note: no trial to annotate yet (call s:try first)");
    lua_Integer at = luaL_optinteger(L, 3, len);
    if (at < 1 || at > len)
        return luaL_error(L, "note: no trial %d in the journal (1..%d)", (int)at, len);
    axf_session_note_trial_at(h->s, (int)at - 1, v);
    if (h->in_console)
        return 0;
    if (at == len) {
        axf_lua_flush_trial(h, v);
    } else {
        char line[400];
        snprintf(line, sizeof line, "trial %d -> %s", (int)at, v);
        axf_lua_emit(h, AXF_LUA_LOG_TRIAL, line);
    }
    return 0;
}

/* The latest trial's per-sample losses, computed now when a resume re-lived it from the record
 * (session.h). NULL when cancelled (the caller pauses, to redo itself, or stops); without a trial
 * raises "METHOD: no trial results (call s:try firstHINT)". */
static const float *trial_losses(lua_State *L, axf_luahost *h, const char *method, const char *hint)
{
    axf_err err = {{0}};
    begin_call(L, h);
    if (!axf_session_trial_losses(h->s) && axf_session_trial_outputs(h->s, &err)) {
        if (!strcmp(err.msg, "cancelled"))
            return NULL;
        luaL_error(L, "%s: no trial results (call s:try first%s)", method, hint);
    }
    return axf_session_trial_losses(h->s);
}

static int m_trial_losses(lua_State *L)
{
    axf_luahost *h = check_session(L, "trial_losses");
    int nargs = lua_gettop(L);
    const float *v = trial_losses(L, h, "trial_losses", "; any later evaluation replaces them");
    if (!v)
        return on_cancelled(L, nargs, m_trial_losses);
    axf_facts f;
    axf_session_facts(h->s, &f);
    axf_lua_push_floats(L, v, f.n_search);
    return 1;
}

static double opt_eps(lua_State *L, int idx, const char *method)
{
    if (lua_isnoneornil(L, idx))
        return 0;
    if (lua_type(L, idx) != LUA_TNUMBER)
        luaL_error(L, "%s: eps must be a number (got %s)", method, luaL_typename(L, idx));
    double e = lua_tonumber(L, idx);
    if (!isfinite(e))
        luaL_error(L, "%s: eps must be finite", method);
    return e;
}

static int m_trial_no_worse(lua_State *L)
{
    axf_luahost *h = check_session(L, "trial_no_worse");
    int nargs = lua_gettop(L);
    double eps = opt_eps(L, 2, "trial_no_worse");
    const float *v = trial_losses(L, h, "trial_no_worse", "");
    if (!v)
        return on_cancelled(L, nargs, m_trial_no_worse);
    const float *l0 = axf_session_baseline_losses(h->s);
    axf_facts f;
    axf_session_facts(h->s, &f);
    long long c = 0;
    for (int j = 0; j < f.n_search; j++)
        c += v[j] <= l0[j] + eps;
    lua_pushinteger(L, c);
    return 1;
}

/* ---- commits: step boundaries ---- */

static int k_after_commit(lua_State *L, int st, lua_KContext c)
{
    return 1; /* the metrics pushed before the step token */
}

/* Refuses commits from places that cannot yield to the host. */
static void check_commit_context(lua_State *L, axf_luahost *h, const char *method)
{
    if (h->in_console)
        return;
    if (L != h->co)
        luaL_error(L, "%s: commit from the policy itself, not from a coroutine it created "
                      "(each commit is a step the host sees)", method);
    if (!lua_isyieldable(L))
        luaL_error(L, "%s: cannot commit here (inside a metamethod, a sort comparator or an "
                      "iterator): a commit ends a step and must be able to yield", method);
}

static int commit_done(lua_State *L, axf_luahost *h, const char *what, const axf_metrics *before,
                       const axf_metrics *after, const char *note)
{
    if (!h->in_console) {
        axf_sbuf *b = &h->expl_cur;
        int step = axf_session_cursor(h->s);
        if (b->n)
            axf_sbuf_add(b, "\n", 1);
        axf_sbuf_printf(b, "step %d: %s: loss %.5f -> %.5f", step, what, before->loss, after->loss);
        if (!isnan(after->accuracy))
            axf_sbuf_printf(b, ", accuracy %.2f%% -> %.2f%%", 100 * before->accuracy,
                            100 * after->accuracy);
        axf_sbuf_printf(b, ", %.3fM -> %.3fM params", before->params / 1e6, after->params / 1e6);
        if (note && *note)
            axf_sbuf_printf(b, " (%s)", note);
    }
    axf_lua_push_metrics(L, h, after);
    if (h->in_console)
        return 1;
    lua_pushlightuserdata(L, &axf_lua_step_token);
    return lua_yieldk(L, 1, 0, k_after_commit);
}

static int m_try(lua_State *L);
static int m_apply(lua_State *L);

/* s:try(actions[, note]) and s:apply(actions[, note]); apply commits: the step ends there. */
static int try_or_apply(lua_State *L, int apply)
{
    const char *method = apply ? "apply" : "try";
    axf_luahost *h = check_session(L, method);
    int nargs = lua_gettop(L);
    axf_action acts[MAX_STEP_ACTIONS];
    int n = axf_lua_parse_actions(L, 2, acts);
    const char *note = opt_note(L, 3);
    if (apply)
        check_commit_context(L, h, method);
    axf_metrics before, after;
    if (session_step(L, h, apply, acts, n, note, &before, &after, method) == AXF_CANCELLED)
        return on_cancelled(L, nargs, apply ? m_apply : m_try);
    if (!apply) {
        if (!h->in_console)
            pend_trial(h, acts, n, &after, &before, note);
        push_trial(L, h, &after);
        return 1;
    }
    char desc[512];
    axf_actions_describe(acts, n, " + ", desc, sizeof desc);
    if (!h->in_console && h->have_pending) {
        /* the latest trial was this very step: its verdict is "kept" unless noted already */
        const char *pend = axf_sbuf_str(&h->pending);
        size_t dl = strlen(desc);
        int same = h->pending.n > dl + 4 && !strncmp(pend + 4, desc, dl) && pend[4 + dl] == ':';
        axf_lua_flush_trial(h, same ? (note && *note ? note : "kept") : NULL);
    }
    return commit_done(L, h, desc, &before, &after, note);
}

static int m_try(lua_State *L) { return try_or_apply(L, 0); }

static int m_apply(lua_State *L) { return try_or_apply(L, 1); }

static int move_cursor(lua_State *L, const char *method, int undo)
{
    axf_luahost *h = check_session(L, method);
    check_commit_context(L, h, method);
    axf_metrics before, after;
    axf_err err = {{0}};
    axf_lua_committed_metrics(h, &before);
    int rc = undo ? axf_session_undo(h->s, &err) : axf_session_redo(h->s, &err);
    if (rc)
        return session_fail(L, method, &err);
    axf_lua_committed_metrics(h, &after);
    if (!h->in_console)
        axf_lua_flush_trial(h, NULL);
    return commit_done(L, h, method, &before, &after, NULL);
}

static int m_undo(lua_State *L)
{
    return move_cursor(L, "undo", 1);
}

static int m_redo(lua_State *L)
{
    return move_cursor(L, "redo", 0);
}

static int m_check(lua_State *L)
{
    axf_luahost *h = check_session(L, "check");
    axf_action acts[MAX_STEP_ACTIONS];
    int n = axf_lua_parse_actions(L, 2, acts);
    axf_err err = {{0}};
    if (axf_session_check(h->s, acts, n, &err)) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int m_describe(lua_State *L)
{
    int first = luaL_testudata(L, 1, AXF_LUA_SESSION_MT) ? 2 : 1; /* s:describe or axf.describe */
    axf_action acts[MAX_STEP_ACTIONS];
    int n = axf_lua_parse_actions(L, first, acts);
    char desc[512];
    axf_actions_describe(acts, n, " + ", desc, sizeof desc);
    lua_pushstring(L, desc);
    return 1;
}

/* ---- history ---- */

static void push_actions(lua_State *L, const axf_action *acts, int n)
{
    lua_createtable(L, n, 0);
    for (int a = 0; a < n; a++) {
        axf_lua_push_action(L, &acts[a]);
        lua_rawseti(L, -2, a + 1);
    }
}

static int m_cursor(lua_State *L)
{
    axf_luahost *h = check_session(L, "cursor");
    lua_pushinteger(L, axf_session_cursor(h->s));
    return 1;
}

/* A field holding a metrics table. */
static void set_metrics(lua_State *L, axf_luahost *h, const char *key, const axf_metrics *m)
{
    axf_lua_push_metrics(L, h, m);
    lua_setfield(L, -2, key);
}

/* s:history() (trials = 0) and s:trials(): a table per entry, in order. */
static int push_entries(lua_State *L, int trials)
{
    axf_luahost *h = check_session(L, trials ? "trials" : "history");
    int n = trials ? axf_session_trials_len(h->s) : axf_session_history_len(h->s);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        axf_history_entry e;
        axf_trial_entry t;
        if (trials ? axf_session_trial_get(h->s, i, &t) : axf_session_history_get(h->s, i, &e))
            break;
        if (trials)
            e = (axf_history_entry){.n_actions = t.n_actions, .actions = t.actions, .note = t.note,
                                    .seconds = t.seconds};
        lua_createtable(L, 0, trials ? 5 : 7);
        push_actions(L, e.actions, e.n_actions);
        lua_setfield(L, -2, "actions");
        axf_lua_set_str(L, "note", e.note);
        axf_lua_set_num(L, "seconds", e.seconds);
        if (trials) {
            axf_lua_set_int(L, "cursor", t.cursor);
            set_metrics(L, h, "metrics", &t.metrics);
        } else {
            axf_lua_set_num(L, "time", e.time);
            axf_lua_set_bool(L, "applied", i < axf_session_cursor(h->s));
            set_metrics(L, h, "before", &e.before);
            set_metrics(L, h, "after", &e.after);
        }
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_history(lua_State *L) { return push_entries(L, 0); }

static int m_trials(lua_State *L) { return push_entries(L, 1); }

static int m_counters(lua_State *L)
{
    axf_counters c;
    axf_session_counters(check_session(L, "counters")->s, &c);
    lua_createtable(L, 0, 7);
    axf_lua_set_int(L, "cache_bytes", (long long)c.cache_bytes);
    axf_lua_set_int(L, "evals", c.evals);
    axf_lua_set_int(L, "evals_reused", c.evals_reused);
    axf_lua_set_int(L, "layer_evals", c.layer_evals);
    axf_lua_set_int(L, "layer_evals_saved", c.layer_evals_saved);
    axf_lua_set_num(L, "eval_seconds", c.eval_seconds);
    return 1;
}

/* ---- importance ---- */

static int m_importance(lua_State *L)
{
    axf_luahost *h = check_session(L, "importance");
    int nargs = lua_gettop(L);
    const char *kn = luaL_optstring(L, 2, "exact");
    int kind = axf_imp_kind_from_name(kn);
    if (kind < 0)
        return luaL_error(L, "importance: unknown kind '%s' (exact, gradient, entropy, magnitude)",
                          kn);
    int gran = axf_lua_parse_gran(L, 3);
    int groups = 0;
    if (!lua_isnoneornil(L, 4)) {
        if (!lua_isinteger(L, 4) || lua_tointeger(L, 4) < 1 || lua_tointeger(L, 4) > AXF_MAX_GROUPS)
            return luaL_error(L, "importance: groups must be an integer 1..%d", AXF_MAX_GROUPS);
        groups = (int)lua_tointeger(L, 4);
    }
    axf_importance *imp = lua_newuserdatauv(L, sizeof *imp, 0); /* GC'd even if we raise */
    axf_err err = {{0}};
    begin_call(L, h);
    int rc = axf_session_importance(h->s, (axf_imp_kind)kind, gran, groups, imp, &err);
    if (rc == AXF_CANCELLED)
        return on_cancelled(L, nargs, m_importance);
    if (rc)
        return session_fail(L, "importance", &err);
    axf_lua_push_imp_values(L, imp, &imp->v);
    axf_lua_set_str(L, "kind", axf_imp_kind_name(imp->kind));
    axf_lua_set_num(L, "seconds", imp->seconds);
    axf_lua_set_int(L, "groups", imp->n_groups);
    if (imp->kind == AXF_IMP_EXACT) {
        axf_lua_push_imp_values(L, imp, &imp->acc);
        lua_setfield(L, -2, "acc");
    }
    return 1;
}

/* ---- log ---- */

static int m_log(lua_State *L)
{
    axf_luahost *h = axf_lua_host(L);
    int first = luaL_testudata(L, 1, AXF_LUA_SESSION_MT) ? 2 : 1;
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = first; i <= n; i++) {
        if (i > first)
            luaL_addchar(&b, ' ');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    const char *msg = lua_tostring(L, -1);
    if (h->in_console) {
        axf_sbuf_add(&h->console_out, msg, strlen(msg));
        axf_sbuf_add(&h->console_out, "\n", 1);
    } else {
        axf_lua_emit(h, AXF_LUA_LOG_PRINT, msg);
    }
    return 0;
}

static int m_tostring(lua_State *L)
{
    axf_luahost *h = axf_lua_host(L);
    axf_facts f;
    axf_session_facts(h->s, &f);
    lua_pushfstring(L, "axf.session(%s, %d layers, %d examples, step %d of %d)", f.task,
                    f.n_layers, f.n_search, axf_session_cursor(h->s),
                    axf_session_history_len(h->s));
    return 1;
}

/* Over MPI every rank runs the policy: they all read rank 0's clock, so a policy that decides on
 * time decides the same on every rank (dist.h). */
static int l_clock(lua_State *L)
{
    double t = axf_now();
    axf_dist_bcast(&t, sizeof t, "axf.clock() of the policy");
    lua_pushnumber(L, t);
    return 1;
}

void axf_lua_push_session(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, SESSION_UD_KEY);
}

int axf_lua_open_axf(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"facts", m_facts},
        {"layers", m_layers},
        {"heads", m_heads},
        {"ffn", m_ffn},
        {"groups", m_groups},
        {"seed", m_seed},
        {"layer", m_layer},
        {"plan", m_plan},
        {"baseline", m_baseline},
        {"baseline_losses", m_baseline_losses},
        {"eval", m_eval},
        {"losses", m_losses},
        {"try", m_try},
        {"try_batch", m_try_batch},
        {"note", m_note},
        {"trial_losses", m_trial_losses},
        {"trial_no_worse", m_trial_no_worse},
        {"apply", m_apply},
        {"undo", m_undo},
        {"redo", m_redo},
        {"check", m_check},
        {"describe", m_describe},
        {"cursor", m_cursor},
        {"history", m_history},
        {"trials", m_trials},
        {"counters", m_counters},
        {"importance", m_importance},
        {"log", m_log},
        {NULL, NULL}};
    luaL_newmetatable(L, AXF_LUA_SESSION_MT);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, AXF_LUA_SESSION_MT);
    lua_setfield(L, -2, "__metatable");
    lua_pushcfunction(L, m_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    luaL_newmetatable(L, METRICS_MT);
    lua_pushcfunction(L, axf_lua_metrics_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    lua_newuserdatauv(L, 1, 0);
    luaL_setmetatable(L, AXF_LUA_SESSION_MT);
    lua_setfield(L, LUA_REGISTRYINDEX, SESSION_UD_KEY);

    static const luaL_Reg fns[] = {{"log", m_log}, {"clock", l_clock}, {"describe", m_describe},
                                   {NULL, NULL}};
    luaL_newlib(L, fns);
    axf_lua_set_str(L, "version", AXF_VERSION);
    lua_createtable(L, AXF_OP_COUNT, 0);
    for (int i = 0; i < AXF_OP_COUNT; i++) {
        lua_pushstring(L, axf_op_name((axf_op)i));
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "ops");
    lua_setglobal(L, "axf");
    return 0;
}
