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
 * value and, when resumed, redoes the call (nothing was changed by the interrupted call).
 *
 * Here: the module, the conventions above (lua_internal.h) and the methods that only look (facts,
 * the plan, metrics, history, importance, log); the methods that try and commit are in luastep.c. */
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

axf_luahost *axf_lua_check_session(lua_State *L, const char *method)
{
    if (!luaL_testudata(L, 1, AXF_LUA_SESSION_MT))
        luaL_error(L, "%s: call it on the session as s:%s(...) (got %s as self)", method, method,
                   luaL_typename(L, 1));
    return axf_lua_host(L);
}

/* The continuation of a paused call: the method axf_lua_on_cancelled kept, on its nargs
 * arguments. One call at most is paused at a time (only the policy's coroutine pauses). */
static int redo_call(lua_State *L, int st, lua_KContext nargs)
{
    lua_settop(L, (int)nargs);
    return axf_lua_host(L)->redo(L);
}

/* A session call returned AXF_CANCELLED: pause (yield, redo the call, `method`, on resume) when
 * asked and possible, otherwise stop the script for good. */
int axf_lua_on_cancelled(lua_State *L, int nargs, lua_CFunction method)
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

void axf_lua_begin_call(lua_State *L, axf_luahost *h)
{
    h->host_calls++; /* the time until the next hook tick is the session's, not the script's */
    h->can_pause = !h->in_console && L == h->co && lua_isyieldable(L);
}

int axf_lua_session_fail(lua_State *L, const char *method, const axf_err *err)
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
    axf_luahost *h = axf_lua_check_session(L, method);
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
    axf_luahost *h = axf_lua_check_session(L, "groups");
    lua_pushinteger(L, axf_session_defaults(h->s).groups);
    return 1;
}

static int m_seed(lua_State *L)
{
    axf_luahost *h = axf_lua_check_session(L, "seed");
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
    axf_luahost *h = axf_lua_check_session(L, "plan");
    const axf_plan *p = axf_session_plan(h->s);
    int groups = axf_session_defaults(h->s).groups;
    lua_createtable(L, 0, p->n_layers);
    for (int l = 0; l < p->n_layers; l++) {
        axf_lua_push_layer(L, &p->layers[l], groups);
        lua_rawseti(L, -2, l);
    }
    return 1;
}

static int m_int8_embed(lua_State *L)
{
    axf_luahost *h = axf_lua_check_session(L, "int8_embed");
    lua_pushboolean(L, axf_session_plan(h->s)->int8_embed);
    return 1;
}

/* ---- metrics ---- */

static int m_baseline(lua_State *L)
{
    axf_luahost *h = axf_lua_check_session(L, "baseline");
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
    axf_luahost *h = axf_lua_check_session(L, "eval");
    axf_metrics m;
    axf_lua_begin_call(L, h);
    axf_session_current(h->s, &m);
    axf_lua_push_metrics(L, h, &m);
    return 1;
}

static int m_losses(lua_State *L)
{
    axf_luahost *h = axf_lua_check_session(L, "losses");
    int nargs = lua_gettop(L);
    axf_err err = {{0}};
    axf_facts f;
    axf_session_facts(h->s, &f);
    axf_lua_begin_call(L, h);
    const float *v = axf_session_losses(h->s, &err);
    if (!v) {
        if (!strcmp(err.msg, "cancelled"))
            return axf_lua_on_cancelled(L, nargs, m_losses);
        return axf_lua_session_fail(L, "losses", &err);
    }
    axf_lua_push_floats(L, v, f.n_search);
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
    axf_luahost *h = axf_lua_check_session(L, "cursor");
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
    axf_luahost *h = axf_lua_check_session(L, trials ? "trials" : "history");
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
            axf_lua_set_bool(L, "distil", e.distil != NULL);
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
    axf_session_counters(axf_lua_check_session(L, "counters")->s, &c);
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
    axf_luahost *h = axf_lua_check_session(L, "importance");
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
    axf_lua_begin_call(L, h);
    int rc = axf_session_importance(h->s, (axf_imp_kind)kind, gran, groups, imp, &err);
    if (rc == AXF_CANCELLED)
        return axf_lua_on_cancelled(L, nargs, m_importance);
    if (rc)
        return axf_lua_session_fail(L, "importance", &err);
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
    /* the methods in this order (luastep.c's between losses and describe), into a table of their
     * number, as luaL_newlib would */
    static const luaL_Reg views[] = {
        {"facts", m_facts},
        {"layers", m_layers},
        {"heads", m_heads},
        {"ffn", m_ffn},
        {"groups", m_groups},
        {"seed", m_seed},
        {"layer", m_layer},
        {"plan", m_plan},
        {"int8_embed", m_int8_embed},
        {"baseline", m_baseline},
        {"baseline_losses", m_baseline_losses},
        {"eval", m_eval},
        {"losses", m_losses},
        {NULL, NULL}};
    static const luaL_Reg entries[] = {
        {"describe", m_describe},
        {"cursor", m_cursor},
        {"history", m_history},
        {"trials", m_trials},
        {"counters", m_counters},
        {"importance", m_importance},
        {"log", m_log},
        {NULL, NULL}};
    const luaL_Reg *parts[] = {views, axf_lua_step_methods, entries};
    int n_methods = 0;
    for (int i = 0; i < 3; i++)
        for (const luaL_Reg *r = parts[i]; r->name; r++)
            n_methods++;
    luaL_newmetatable(L, AXF_LUA_SESSION_MT);
    luaL_checkversion(L);
    lua_createtable(L, 0, n_methods);
    for (int i = 0; i < 3; i++)
        luaL_setfuncs(L, parts[i], 0);
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
