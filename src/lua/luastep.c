/* The `axf` session methods that try and commit (luaaxf.c has the module, the views of the
 * session and the conventions every method follows: the checked self, 0-based indices, a pause
 * that redoes the call): s:try, s:try_batch, s:note and the latest trial's losses, and the step
 * boundaries s:apply, s:undo and s:redo, which commit and then yield the step token to the host
 * (from the console they commit without yielding). Split from luaaxf.c by job. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua_internal.h"

#define MAX_STEP_ACTIONS AXF_LUA_MAX_STEP_ACTIONS

static const char *opt_note(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx))
        return NULL;
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "note must be a string (got %s)", luaL_typename(L, idx));
    return lua_tostring(L, idx);
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
    axf_lua_begin_call(L, h);
    int rc = apply ? axf_session_apply(h->s, acts, n, note, after, &err)
                   : axf_session_try(h->s, acts, n, note, after, &err);
    if (rc && rc != AXF_CANCELLED)
        return axf_lua_session_fail(L, method, &err);
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
    axf_lua_begin_call(L, h);
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
        return axf_lua_on_cancelled(L, 4, try_batch_from);
    if (rc) {
        char method[48];
        snprintf(method, sizeof method, "try_batch: candidate %d", (int)i0 + done);
        return axf_lua_session_fail(L, method, &err);
    }
    lua_settop(L, 4);
    return 1;
}

static int m_try_batch(lua_State *L)
{
    axf_lua_check_session(L, "try_batch");
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
    axf_luahost *h = axf_lua_check_session(L, "note");
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
    axf_lua_begin_call(L, h);
    if (!axf_session_trial_losses(h->s) && axf_session_trial_outputs(h->s, &err)) {
        if (!strcmp(err.msg, "cancelled"))
            return NULL;
        luaL_error(L, "%s: no trial results (call s:try first%s)", method, hint);
    }
    return axf_session_trial_losses(h->s);
}

static int m_trial_losses(lua_State *L)
{
    axf_luahost *h = axf_lua_check_session(L, "trial_losses");
    int nargs = lua_gettop(L);
    const float *v = trial_losses(L, h, "trial_losses", "; any later evaluation replaces them");
    if (!v)
        return axf_lua_on_cancelled(L, nargs, m_trial_losses);
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
    axf_luahost *h = axf_lua_check_session(L, "trial_no_worse");
    int nargs = lua_gettop(L);
    double eps = opt_eps(L, 2, "trial_no_worse");
    const float *v = trial_losses(L, h, "trial_no_worse", "");
    if (!v)
        return axf_lua_on_cancelled(L, nargs, m_trial_no_worse);
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
    axf_luahost *h = axf_lua_check_session(L, method);
    int nargs = lua_gettop(L);
    axf_action acts[MAX_STEP_ACTIONS];
    int n = axf_lua_parse_actions(L, 2, acts);
    const char *note = opt_note(L, 3);
    if (apply)
        check_commit_context(L, h, method);
    axf_metrics before, after;
    if (session_step(L, h, apply, acts, n, note, &before, &after, method) == AXF_CANCELLED)
        return axf_lua_on_cancelled(L, nargs, apply ? m_apply : m_try);
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
    axf_luahost *h = axf_lua_check_session(L, method);
    check_commit_context(L, h, method);
    axf_metrics before, after;
    axf_err err = {{0}};
    axf_lua_committed_metrics(h, &before);
    int rc = undo ? axf_session_undo(h->s, &err) : axf_session_redo(h->s, &err);
    if (rc)
        return axf_lua_session_fail(L, method, &err);
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

/* s:distil{train = FILE, alpha =, T =, match_hidden =, steps =, epochs =, batch =, lr =, seed =,
 * eval_every =, patience =}[, note]: distils the committed plan (axf_session_distil) and commits
 * the result — a step boundary like s:apply. Unknown keys are refused. */
static int m_distil(lua_State *L)
{
    axf_luahost *h = axf_lua_check_session(L, "distil");
    int nargs = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    const char *note = opt_note(L, 3);
    check_commit_context(L, h, "distil");
    axf_session_distil_opts o = axf_session_distil_opts_default();
    static const char *const keys[] = {"train", "alpha", "T", "match_hidden", "steps", "epochs", "batch", "lr",
                                       "seed", "eval_every", "patience", NULL};
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        int i = 0;
        while (k && keys[i] && strcmp(keys[i], k))
            i++;
        if (!k || !keys[i])
            return luaL_error(L, "distil: unknown field %s (fields: train alpha T match_hidden steps epochs batch "
                                 "lr seed eval_every patience)", k ? k : "(not a name)");
        if (i == 0) {
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "distil: train must be a file name");
            o.train = lua_tostring(L, -1); /* the table keeps it alive */
        } else {
            int isnum;
            lua_Number v = lua_tonumberx(L, -1, &isnum);
            if (!isnum)
                return luaL_error(L, "distil: %s must be a number", k);
            int whole = i >= 4 && i != 7;
            if (whole && !(v >= 0 && v <= 1e15 && v == floor(v)))
                return luaL_error(L, "distil: %s must be a whole number >= 0", k);
            switch (i) {
            case 1: o.alpha = (float)v; break;
            case 2: o.temperature = (float)v; break;
            case 3: o.hid_weight = (float)v; break;
            case 4: o.steps = (long)v; break;
            case 5: o.epochs = v > 1e9 ? 1000000000 : (int)v; break;
            case 6: o.batch = v > 1e9 ? 1000000000 : (int)v; break;
            case 7: o.lr = (float)v; break;
            case 8: o.seed = (uint64_t)v; break;
            case 9: o.eval_every = v > 1e9 ? 1000000000 : (int)v; break;
            default: o.patience = v > 1e9 ? 1000000000 : (int)v; break;
            }
        }
        lua_pop(L, 1);
    }
    axf_metrics before, after;
    axf_err err = {{0}};
    axf_lua_committed_metrics(h, &before);
    axf_lua_begin_call(L, h);
    int rc = axf_session_distil(h->s, &o, note, &after, &err); /* progress: the session's */
    if (rc == AXF_CANCELLED)
        return axf_lua_on_cancelled(L, nargs, m_distil);
    if (rc)
        return axf_lua_session_fail(L, "distil", &err);
    char desc[200];
    axf_history_entry e;
    if (axf_session_history_get(h->s, axf_session_cursor(h->s) - 1, &e) == 0)
        axf_history_describe(&e, " + ", desc, sizeof desc);
    else
        snprintf(desc, sizeof desc, "distil");
    if (!h->in_console)
        axf_lua_flush_trial(h, NULL);
    return commit_done(L, h, desc, &before, &after, note);
}

static int m_check(lua_State *L)
{
    axf_luahost *h = axf_lua_check_session(L, "check");
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

const luaL_Reg axf_lua_step_methods[] = {
    {"try", m_try},
    {"try_batch", m_try_batch},
    {"note", m_note},
    {"trial_losses", m_trial_losses},
    {"trial_no_worse", m_trial_no_worse},
    {"apply", m_apply},
    {"undo", m_undo},
    {"redo", m_redo},
    {"distil", m_distil},
    {"check", m_check},
    {NULL, NULL}};
