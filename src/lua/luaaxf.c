/* The `axf` Lua module: the session as a userdata with a registry-named metatable whose __index
 * is a methods table, a checked cast at the top of every method, actions as plain tables parsed
 * with raw access only (a script's metamethods never run inside the parser), and every failure a
 * Lua error with a message naming the method and the field. The held-out split has no binding.
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

#include "lua_internal.h"

char axf_lua_step_token;

#define MAX_STEP_ACTIONS 64
#define SESSION_UD_KEY "axf.session.ud"
#define METRICS_MT "axf.metrics"

/* ---- helpers ---- */

static axf_luahost *check_session(lua_State *L, const char *method)
{
    if (!luaL_testudata(L, 1, AXF_LUA_SESSION_MT))
        luaL_error(L, "%s: call it on the session as s:%s(...) (got %s as self)", method, method,
                   luaL_typename(L, 1));
    return axf_lua_host(L);
}

static void set_num(lua_State *L, const char *k, double v)
{
    if (isnan(v))
        return; /* unknown / not defined: absent, never NaN in a script's hands */
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, long long v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static int metrics_tostring(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    char buf[256];
    lua_getfield(L, 1, "loss");
    lua_getfield(L, 1, "accuracy");
    lua_getfield(L, 1, "n_no_worse");
    lua_getfield(L, 1, "n");
    lua_getfield(L, 1, "params");
    int acc = lua_type(L, -4) == LUA_TNUMBER;
    snprintf(buf, sizeof buf, "loss %.4f%s%.2f%%, %lld of %lld no worse, %.3fM params",
             (double)lua_tonumber(L, -5), acc ? ", accuracy " : "",
             acc ? 100 * (double)lua_tonumber(L, -4) : 0.0, (long long)lua_tointeger(L, -3),
             (long long)lua_tointeger(L, -2), (double)lua_tonumber(L, -1) / 1e6);
    if (!acc) {
        char *p = strstr(buf, "0.00%");
        if (p)
            memmove(p, p + 5, strlen(p + 5) + 1);
    }
    lua_pushstring(L, buf);
    return 1;
}

static void push_metrics(lua_State *L, const axf_luahost *h, const axf_metrics *m)
{
    axf_facts f;
    axf_session_facts(h->s, &f);
    lua_createtable(L, 0, 10);
    set_num(L, "loss", m->loss);
    set_num(L, "accuracy", m->accuracy);
    set_num(L, "metric", m->metric);
    set_str(L, "metric_name", f.metric_name);
    set_int(L, "n", m->n);
    set_int(L, "n_no_worse", m->n_no_worse);
    set_int(L, "params", (long long)m->params);
    set_num(L, "flops", m->flops_per_token);
    set_int(L, "size", (long long)m->size_bytes);
    luaL_setmetatable(L, METRICS_MT);
}

/* Metrics of the committed plan without evaluating (recorded at every commit/undo/redo). */
static void committed_metrics(const axf_luahost *h, axf_metrics *out)
{
    int c = axf_session_cursor(h->s);
    axf_history_entry e;
    if (c > 0 && axf_session_history_get(h->s, c - 1, &e) == 0)
        *out = e.after;
    else
        axf_session_baseline(h->s, out);
}

static void push_floats(lua_State *L, const float *v, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

static void push_action(lua_State *L, const axf_action *a)
{
    lua_createtable(L, 0, 6);
    set_str(L, "op", axf_op_name(a->op));
    set_int(L, "layer", a->layer);
    switch (a->op) {
    case AXF_OP_DROP_HEAD: case AXF_OP_RESTORE_HEAD:
        set_int(L, "head", a->index);
        break;
    case AXF_OP_DROP_GROUP: case AXF_OP_RESTORE_GROUP:
        set_int(L, "group", a->index);
        set_int(L, "groups", a->groups);
        break;
    case AXF_OP_DROP_NEURONS: case AXF_OP_RESTORE_NEURONS:
        set_int(L, "neuron", a->index);
        set_int(L, "count", a->count);
        break;
    case AXF_OP_SET_HARD:
        set_str(L, "mode", axf_hard_mode_name(a->hard));
        if (a->hard == AXF_HARD_TOPK || a->hard == AXF_HARD_TOPK_RENORM)
            set_int(L, "k", a->k);
        if (a->hard == AXF_HARD_THRESHOLD)
            set_num(L, "threshold", a->threshold);
        break;
    default:
        break;
    }
}

/* ---- action parsing (raw access only) ---- */

static int fail_action(lua_State *L, const char *op, const char *fmt, const char *key,
                       const char *detail)
{
    char buf[300];
    snprintf(buf, sizeof buf, fmt, key, detail);
    return luaL_error(L, "bad action%s%s: %s", op ? " " : "", op ? op : "", buf);
}

/* Integer field in [lo, hi]; def when absent (required: error when absent). */
static int field_int(lua_State *L, int t, const char *op, const char *key, int required, long lo,
                     long hi, int def)
{
    lua_pushstring(L, key);
    int ty = lua_rawget(L, t);
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        if (required)
            fail_action(L, op, "field '%s' is missing%s", key, "");
        return def;
    }
    if (ty != LUA_TNUMBER)
        fail_action(L, op, "field '%s' must be an integer (got %s)", key, lua_typename(L, ty));
    double d;
    if (lua_isinteger(L, -1)) {
        lua_Integer v = lua_tointeger(L, -1);
        d = v < -1e15 ? -1e15 : v > 1e15 ? 1e15 : (double)v;
    } else {
        d = lua_tonumber(L, -1);
        if (!isfinite(d) || d != floor(d))
            fail_action(L, op, "field '%s' must be an integer (got %s)", key,
                        isnan(d) ? "nan" : isinf(d) ? "inf" : "a fraction");
    }
    lua_pop(L, 1);
    if (d < lo || d > hi) {
        char range[64];
        snprintf(range, sizeof range, "%.0f is out of range %ld..%ld", d, lo, hi);
        fail_action(L, op, "field '%s': %s", key, range);
    }
    return (int)d;
}

static const char *field_str(lua_State *L, int t, const char *op, const char *key)
{
    lua_pushstring(L, key);
    int ty = lua_rawget(L, t);
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        return NULL;
    }
    if (ty != LUA_TSTRING)
        fail_action(L, op, "field '%s' must be a string (got %s)", key, lua_typename(L, ty));
    const char *s = lua_tostring(L, -1); /* anchored by the table */
    lua_pop(L, 1);
    return s;
}

static int key_allowed(const char *k, const char *const *allowed)
{
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(k, allowed[i]))
            return 1;
    return 0;
}

/* Parses the action table at index t. */
static void parse_one(lua_State *L, int t, axf_action *a)
{
    t = lua_absindex(L, t);
    if (lua_type(L, t) != LUA_TTABLE)
        luaL_error(L, "bad action: a table like {op=\"drop_head\", layer=0, head=1} expected, got %s",
                   luaL_typename(L, t));
    memset(a, 0, sizeof *a);
    const char *opn = field_str(L, t, NULL, "op");
    if (!opn)
        fail_action(L, NULL, "field '%s' is missing (e.g. op=\"drop_head\")%s", "op", "");
    int op = axf_op_from_name(opn);
    if (op < 0) {
        char shown[40];
        snprintf(shown, sizeof shown, "%.32s", opn);
        fail_action(L, NULL, "unknown op '%s'%s", shown,
                    " (ops: drop_layer drop_attn drop_ffn drop_head drop_group drop_neurons "
                    "set_hard restore_*)");
    }
    a->op = (axf_op)op;
    opn = axf_op_name(a->op);
    static const char *const k_block[] = {"op", "layer", NULL};
    static const char *const k_head[] = {"op", "layer", "head", NULL};
    static const char *const k_group[] = {"op", "layer", "group", "groups", NULL};
    static const char *const k_neur[] = {"op", "layer", "neuron", "count", NULL};
    static const char *const k_hard[] = {"op", "layer", "mode", "k", "threshold", NULL};
    const char *const *allowed = k_block;
    const long BIG = 1000000000L;
    a->layer = field_int(L, t, opn, "layer", 1, 0, BIG, 0);
    switch (a->op) {
    case AXF_OP_DROP_HEAD: case AXF_OP_RESTORE_HEAD:
        allowed = k_head;
        a->index = field_int(L, t, opn, "head", 1, 0, BIG, 0);
        break;
    case AXF_OP_DROP_GROUP: case AXF_OP_RESTORE_GROUP:
        allowed = k_group;
        a->index = field_int(L, t, opn, "group", 1, 0, BIG, 0);
        a->groups = field_int(L, t, opn, "groups", 0, 1, AXF_MAX_GROUPS, 0);
        break;
    case AXF_OP_DROP_NEURONS: case AXF_OP_RESTORE_NEURONS:
        allowed = k_neur;
        a->index = field_int(L, t, opn, "neuron", 1, 0, BIG, 0);
        a->count = field_int(L, t, opn, "count", 0, 1, BIG, 1);
        break;
    case AXF_OP_SET_HARD: {
        allowed = k_hard;
        const char *mode = field_str(L, t, opn, "mode");
        lua_pushliteral(L, "threshold");
        int tty = lua_rawget(L, t);
        double thr = 0;
        if (tty != LUA_TNIL) {
            if (tty != LUA_TNUMBER)
                fail_action(L, opn, "field '%s' must be a number (got %s)", "threshold",
                            lua_typename(L, tty));
            thr = lua_tonumber(L, -1);
            if (!(thr > 0 && thr <= 1))
                fail_action(L, opn, "field '%s' must be a number in (0, 1]%s", "threshold", "");
        }
        lua_pop(L, 1);
        int m = mode ? axf_hard_mode_from_name(mode) : (tty != LUA_TNIL ? AXF_HARD_THRESHOLD : AXF_HARD_TOPK);
        if (m < 0)
            fail_action(L, opn, "field '%s' must be \"off\", \"topk\", \"topk_renorm\" or "
                                "\"threshold\"%s", "mode", "");
        a->hard = (axf_hard_mode)m;
        a->k = field_int(L, t, opn, "k", 0, 1, BIG, 0);
        a->threshold = (float)thr;
        break;
    }
    default:
        break;
    }
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            fail_action(L, opn, "unexpected %s key%s", luaL_typename(L, -1), "");
        const char *k = lua_tostring(L, -1);
        if (!key_allowed(k, allowed)) {
            char shown[40];
            snprintf(shown, sizeof shown, "%.32s", k);
            fail_action(L, opn, "unknown field '%s'%s", shown, "");
        }
    }
}

/* One action table, or a list of them (one step). Returns the count. */
static int parse_actions(lua_State *L, int idx, axf_action *acts)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE)
        return luaL_error(L, "bad action: a table like {op=\"drop_head\", layer=0, head=1} "
                             "expected, got %s", luaL_typename(L, idx));
    lua_pushliteral(L, "op");
    int has_op = lua_rawget(L, idx) != LUA_TNIL;
    lua_pop(L, 1);
    if (has_op) {
        parse_one(L, idx, &acts[0]);
        return 1;
    }
    lua_Unsigned n = lua_rawlen(L, idx);
    if (n == 0)
        return luaL_error(L, "bad action: empty table (an action needs op and layer)");
    if (n > MAX_STEP_ACTIONS)
        return luaL_error(L, "bad action list: %d actions, at most %d per step",
                          n > 1000000 ? 1000000 : (int)n, MAX_STEP_ACTIONS);
    for (lua_Unsigned i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        parse_one(L, -1, &acts[i - 1]);
        lua_pop(L, 1);
    }
    return (int)n;
}

static void describe_actions(const axf_action *acts, int n, char *buf, size_t len)
{
    buf[0] = 0;
    size_t used = 0;
    for (int i = 0; i < n && used + 1 < len; i++) {
        char one[128];
        axf_action_describe(&acts[i], one, sizeof one);
        int w = snprintf(buf + used, len - used, "%s%s", i ? " + " : "", one);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static const char *opt_note(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx))
        return NULL;
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "note must be a string (got %s)", luaL_typename(L, idx));
    return lua_tostring(L, idx);
}

/* A session call returned AXF_CANCELLED: pause (yield, redo the call on resume) when asked and
 * possible, otherwise stop the script for good. */
static int on_cancelled(lua_State *L, int nargs, lua_KFunction k)
{
    axf_luahost *h = axf_lua_host(L);
    if (atomic_load(&h->pause_req) && h->can_pause && !atomic_load(&h->cancel_req)) {
        h->paused_midstep = 1;
        lua_settop(L, nargs);
        return lua_yieldk(L, 0, nargs, k);
    }
    if (!h->kill)
        axf_lua_kill(L, KILL_CANCEL);
    return axf_lua_raise_killed(L);
}

static void begin_call(lua_State *L, axf_luahost *h)
{
    h->can_pause = !h->in_console && L == h->co && lua_isyieldable(L);
}

static int session_fail(lua_State *L, const char *method, const axf_err *err)
{
    return luaL_error(L, "%s: %s", method, err->msg);
}

/* ---- methods: facts ---- */

static int m_facts(lua_State *L)
{
    axf_luahost *h = check_session(L, "facts");
    axf_facts f;
    axf_session_facts(h->s, &f);
    lua_createtable(L, 0, 20);
    set_int(L, "layers", f.n_layers);
    set_int(L, "hidden", f.hidden);
    set_int(L, "heads", f.n_heads);
    set_int(L, "head_dim", f.head_dim);
    set_int(L, "ffn", f.ffn);
    set_int(L, "groups", f.groups);
    set_int(L, "labels", f.num_labels);
    set_str(L, "task", f.task);
    set_str(L, "metric_name", f.metric_name);
    set_bool(L, "regression", f.task_kind == AXF_TASK_REGRESS);
    set_int(L, "params", (long long)f.params);
    set_int(L, "size", (long long)f.size_bytes);
    set_num(L, "flops", f.flops_per_token);
    set_num(L, "mean_len", f.mean_len);
    set_int(L, "n", f.n_search);
    set_int(L, "tokens", f.n_tokens);
    lua_createtable(L, 0, f.n_layers);
    for (int i = 0; i < f.n_layers; i++) {
        lua_pushinteger(L, f.layer_heads[i]);
        lua_rawseti(L, -2, i);
    }
    lua_setfield(L, -2, "layer_heads");
    lua_createtable(L, 0, f.n_layers);
    for (int i = 0; i < f.n_layers; i++) {
        lua_pushinteger(L, f.layer_ffn[i]);
        lua_rawseti(L, -2, i);
    }
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
    axf_luahost *h = check_session(L, "layers");
    axf_facts f;
    axf_session_facts(h->s, &f);
    lua_pushinteger(L, f.n_layers);
    return 1;
}

static int m_heads(lua_State *L)
{
    axf_luahost *h = check_session(L, "heads");
    axf_facts f;
    axf_session_facts(h->s, &f);
    int l = check_layer_arg(L, 2, &f, "heads");
    lua_pushinteger(L, f.layer_heads[l]);
    return 1;
}

static int m_ffn(lua_State *L)
{
    axf_luahost *h = check_session(L, "ffn");
    axf_facts f;
    axf_session_facts(h->s, &f);
    int l = check_layer_arg(L, 2, &f, "ffn");
    lua_pushinteger(L, f.layer_ffn[l]);
    return 1;
}

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

static void push_layer(lua_State *L, const axf_layer_plan *lp, int groups)
{
    lua_createtable(L, 0, 12);
    set_bool(L, "attn", lp->attn_on);
    set_bool(L, "ffn", lp->ffn_on);
    set_int(L, "heads", lp->nh);
    set_int(L, "heads_on", axf_plan_heads_on(lp));
    set_int(L, "f", lp->f);
    set_int(L, "neurons_on", axf_plan_neurons_on(lp));
    set_str(L, "hard", axf_hard_mode_name(lp->hard));
    set_int(L, "k", lp->k);
    set_num(L, "threshold", lp->threshold);
    lua_createtable(L, 0, lp->nh);
    for (int h = 0; h < lp->nh && h < AXF_MAX_HEADS; h++) {
        lua_pushboolean(L, lp->attn_on && lp->head_on[h]);
        lua_rawseti(L, -2, h);
    }
    lua_setfield(L, -2, "head");
    lua_createtable(L, 0, groups);
    for (int g = 0; g < groups; g++) {
        lua_pushinteger(L, lp->ffn_on ? axf_plan_group_state(lp, g, groups) : 0);
        lua_rawseti(L, -2, g);
    }
    lua_setfield(L, -2, "group");
    set_int(L, "groups", groups);
}

static int m_layer(lua_State *L)
{
    axf_luahost *h = check_session(L, "layer");
    axf_facts f;
    axf_session_facts(h->s, &f);
    int l = check_layer_arg(L, 2, &f, "layer");
    const axf_plan *p = axf_session_plan(h->s);
    push_layer(L, &p->layers[l], axf_session_defaults(h->s).groups);
    return 1;
}

static int m_plan(lua_State *L)
{
    axf_luahost *h = check_session(L, "plan");
    const axf_plan *p = axf_session_plan(h->s);
    int groups = axf_session_defaults(h->s).groups;
    lua_createtable(L, 0, p->n_layers);
    for (int l = 0; l < p->n_layers; l++) {
        push_layer(L, &p->layers[l], groups);
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
    push_metrics(L, h, &m);
    return 1;
}

static int m_baseline_losses(lua_State *L)
{
    axf_luahost *h = check_session(L, "baseline_losses");
    axf_facts f;
    axf_session_facts(h->s, &f);
    push_floats(L, axf_session_baseline_losses(h->s), f.n_search);
    return 1;
}

static int m_eval(lua_State *L);
static int k_eval(lua_State *L, int st, lua_KContext c)
{
    lua_settop(L, (int)c);
    return m_eval(L);
}

static int m_eval(lua_State *L)
{
    axf_luahost *h = check_session(L, "eval");
    int nargs = lua_gettop(L);
    axf_metrics m;
    axf_err err = {{0}};
    begin_call(L, h);
    int rc = axf_session_eval(h->s, &m, &err);
    if (rc == AXF_CANCELLED)
        return on_cancelled(L, nargs, k_eval);
    if (rc)
        return session_fail(L, "eval", &err);
    push_metrics(L, h, &m);
    return 1;
}

static int m_losses(lua_State *L);
static int k_losses(lua_State *L, int st, lua_KContext c)
{
    lua_settop(L, (int)c);
    return m_losses(L);
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
            return on_cancelled(L, nargs, k_losses);
        return session_fail(L, "losses", &err);
    }
    push_floats(L, v, f.n_search);
    return 1;
}

/* ---- trials ---- */

static int m_try(lua_State *L);
static int k_try(lua_State *L, int st, lua_KContext c)
{
    lua_settop(L, (int)c);
    return m_try(L);
}

static int m_try(lua_State *L)
{
    axf_luahost *h = check_session(L, "try");
    int nargs = lua_gettop(L);
    axf_action acts[MAX_STEP_ACTIONS];
    int n = parse_actions(L, 2, acts);
    const char *note = opt_note(L, 3);
    axf_metrics m, cur;
    axf_err err = {{0}};
    committed_metrics(h, &cur);
    begin_call(L, h);
    int rc = axf_session_try(h->s, acts, n, note, &m, &err);
    if (rc == AXF_CANCELLED)
        return on_cancelled(L, nargs, k_try);
    if (rc)
        return session_fail(L, "try", &err);
    if (!h->in_console) {
        char desc[512];
        describe_actions(acts, n, desc, sizeof desc);
        axf_lua_flush_trial(h, NULL);
        axf_sbuf_clear(&h->pending);
        axf_sbuf_printf(&h->pending, "try %s: loss %.5f (now %.5f), %d of %d no worse", desc,
                        m.loss, cur.loss, m.n_no_worse, m.n);
        if (!isnan(m.accuracy))
            axf_sbuf_printf(&h->pending, ", accuracy %.2f%% (now %.2f%%)", 100 * m.accuracy,
                            100 * cur.accuracy);
        if (note && *note)
            axf_sbuf_printf(&h->pending, " [%s]", note);
        h->have_pending = 1;
    }
    push_metrics(L, h, &m);
    return 1;
}

static int m_note(lua_State *L)
{
    axf_luahost *h = check_session(L, "note");
    const char *v = luaL_checkstring(L, 2);
    if (axf_session_trials_len(h->s) == 0)
        return luaL_error(L, "note: no trial to annotate yet (call s:try first)");
    axf_session_note_trial(h->s, v);
    if (!h->in_console)
        axf_lua_flush_trial(h, v);
    return 0;
}

static int m_trial_losses(lua_State *L)
{
    axf_luahost *h = check_session(L, "trial_losses");
    const float *v = axf_session_trial_losses(h->s);
    if (!v)
        return luaL_error(L, "trial_losses: no trial results (call s:try first; any later "
                             "evaluation replaces them)");
    axf_facts f;
    axf_session_facts(h->s, &f);
    push_floats(L, v, f.n_search);
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
    double eps = opt_eps(L, 2, "trial_no_worse");
    const float *v = axf_session_trial_losses(h->s);
    if (!v)
        return luaL_error(L, "trial_no_worse: no trial results (call s:try first)");
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
    push_metrics(L, h, after);
    if (h->in_console)
        return 1;
    lua_pushlightuserdata(L, &axf_lua_step_token);
    return lua_yieldk(L, 1, 0, k_after_commit);
}

static int m_apply(lua_State *L);
static int k_apply(lua_State *L, int st, lua_KContext c)
{
    lua_settop(L, (int)c);
    return m_apply(L);
}

static int m_apply(lua_State *L)
{
    axf_luahost *h = check_session(L, "apply");
    int nargs = lua_gettop(L);
    axf_action acts[MAX_STEP_ACTIONS];
    int n = parse_actions(L, 2, acts);
    const char *note = opt_note(L, 3);
    check_commit_context(L, h, "apply");
    axf_metrics before, after;
    axf_err err = {{0}};
    committed_metrics(h, &before);
    begin_call(L, h);
    int rc = axf_session_apply(h->s, acts, n, note, &after, &err);
    if (rc == AXF_CANCELLED)
        return on_cancelled(L, nargs, k_apply);
    if (rc)
        return session_fail(L, "apply", &err);
    char desc[512];
    describe_actions(acts, n, desc, sizeof desc);
    if (!h->in_console && h->have_pending) {
        /* the latest trial was this very step: its verdict is "kept" unless noted already */
        const char *pend = axf_sbuf_str(&h->pending);
        size_t dl = strlen(desc);
        int same = h->pending.n > dl + 4 && !strncmp(pend + 4, desc, dl) && pend[4 + dl] == ':';
        axf_lua_flush_trial(h, same ? (note && *note ? note : "kept") : NULL);
    }
    return commit_done(L, h, desc, &before, &after, note);
}

static int move_cursor(lua_State *L, const char *method, int undo)
{
    axf_luahost *h = check_session(L, method);
    check_commit_context(L, h, method);
    axf_metrics before, after;
    axf_err err = {{0}};
    committed_metrics(h, &before);
    int rc = undo ? axf_session_undo(h->s, &err) : axf_session_redo(h->s, &err);
    if (rc)
        return session_fail(L, method, &err);
    committed_metrics(h, &after);
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
    int n = parse_actions(L, 2, acts);
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
    int n = parse_actions(L, first, acts);
    char desc[512];
    describe_actions(acts, n, desc, sizeof desc);
    lua_pushstring(L, desc);
    return 1;
}

/* ---- history ---- */

static int m_cursor(lua_State *L)
{
    axf_luahost *h = check_session(L, "cursor");
    lua_pushinteger(L, axf_session_cursor(h->s));
    return 1;
}

static int m_history(lua_State *L)
{
    axf_luahost *h = check_session(L, "history");
    int n = axf_session_history_len(h->s);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        axf_history_entry e;
        if (axf_session_history_get(h->s, i, &e))
            break;
        lua_createtable(L, 0, 7);
        lua_createtable(L, e.n_actions, 0);
        for (int a = 0; a < e.n_actions; a++) {
            push_action(L, &e.actions[a]);
            lua_rawseti(L, -2, a + 1);
        }
        lua_setfield(L, -2, "actions");
        set_str(L, "note", e.note);
        set_num(L, "seconds", e.seconds);
        set_num(L, "time", e.time);
        set_bool(L, "applied", i < axf_session_cursor(h->s));
        push_metrics(L, h, &e.before);
        lua_setfield(L, -2, "before");
        push_metrics(L, h, &e.after);
        lua_setfield(L, -2, "after");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_trials(lua_State *L)
{
    axf_luahost *h = check_session(L, "trials");
    int n = axf_session_trials_len(h->s);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        axf_trial_entry e;
        if (axf_session_trial_get(h->s, i, &e))
            break;
        lua_createtable(L, 0, 5);
        lua_createtable(L, e.n_actions, 0);
        for (int a = 0; a < e.n_actions; a++) {
            push_action(L, &e.actions[a]);
            lua_rawseti(L, -2, a + 1);
        }
        lua_setfield(L, -2, "actions");
        set_str(L, "note", e.note);
        set_int(L, "cursor", e.cursor);
        set_num(L, "seconds", e.seconds);
        push_metrics(L, h, &e.metrics);
        lua_setfield(L, -2, "metrics");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_counters(lua_State *L)
{
    axf_luahost *h = check_session(L, "counters");
    axf_counters c;
    axf_session_counters(h->s, &c);
    lua_createtable(L, 0, 7);
    set_int(L, "evals", c.evals);
    set_int(L, "evals_reused", c.evals_reused);
    set_int(L, "layer_evals", c.layer_evals);
    set_int(L, "layer_evals_saved", c.layer_evals_saved);
    set_num(L, "eval_seconds", c.eval_seconds);
    set_int(L, "cache_bytes", (long long)c.cache_bytes);
    return 1;
}

/* ---- importance ---- */

static int parse_gran(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx))
        return AXF_IMP_ALL;
    if (lua_type(L, idx) != LUA_TSTRING)
        return luaL_error(L, "importance: granularity must be a string like \"heads\", "
                             "\"blocks\", \"groups\", \"all\" or \"heads,groups\" (got %s)",
                          luaL_typename(L, idx));
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    int mask = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ',' && s[j] != '+' && s[j] != ' ')
            j++;
        size_t w = j - i;
        if (w == 6 && !strncmp(s + i, "blocks", 6))
            mask |= AXF_IMP_BLOCKS;
        else if (w == 5 && !strncmp(s + i, "heads", 5))
            mask |= AXF_IMP_HEADS;
        else if (w == 6 && !strncmp(s + i, "groups", 6))
            mask |= AXF_IMP_GROUPS;
        else if (w == 3 && !strncmp(s + i, "all", 3))
            mask |= AXF_IMP_ALL;
        else if (w > 0) {
            char word[40];
            snprintf(word, sizeof word, "%.*s", (int)(w > 32 ? 32 : w), s + i);
            return luaL_error(L, "importance: unknown granularity '%s' (blocks, heads, groups, "
                                 "all)", word);
        }
        i = j + 1;
    }
    if (!mask)
        return luaL_error(L, "importance: empty granularity");
    return mask;
}

static void push_imp_values(lua_State *L, const axf_importance *imp, const axf_imp_values *v)
{
    lua_createtable(L, 0, 5);
    if (imp->gran & AXF_IMP_BLOCKS) {
        const float *arr[3] = {v->layer, v->attn, v->ffn};
        const char *names[3] = {"layer", "attn", "ffn"};
        for (int k = 0; k < 3; k++) {
            lua_createtable(L, 0, imp->n_layers);
            for (int l = 0; l < imp->n_layers; l++)
                if (!isnan(arr[k][l])) {
                    lua_pushnumber(L, arr[k][l]);
                    lua_rawseti(L, -2, l);
                }
            lua_setfield(L, -2, names[k]);
        }
    }
    if (imp->gran & AXF_IMP_HEADS) {
        lua_createtable(L, 0, imp->n_layers);
        for (int l = 0; l < imp->n_layers; l++) {
            lua_createtable(L, 0, imp->n_heads[l]);
            for (int hh = 0; hh < imp->n_heads[l] && hh < AXF_MAX_HEADS; hh++)
                if (!isnan(v->head[l][hh])) {
                    lua_pushnumber(L, v->head[l][hh]);
                    lua_rawseti(L, -2, hh);
                }
            lua_rawseti(L, -2, l);
        }
        lua_setfield(L, -2, "head");
    }
    if (imp->gran & AXF_IMP_GROUPS) {
        lua_createtable(L, 0, imp->n_layers);
        for (int l = 0; l < imp->n_layers; l++) {
            lua_createtable(L, 0, imp->n_groups);
            for (int g = 0; g < imp->n_groups && g < AXF_MAX_GROUPS; g++)
                if (!isnan(v->group[l][g])) {
                    lua_pushnumber(L, v->group[l][g]);
                    lua_rawseti(L, -2, g);
                }
            lua_rawseti(L, -2, l);
        }
        lua_setfield(L, -2, "group");
    }
}

static int m_importance(lua_State *L);
static int k_importance(lua_State *L, int st, lua_KContext c)
{
    lua_settop(L, (int)c);
    return m_importance(L);
}

static int m_importance(lua_State *L)
{
    axf_luahost *h = check_session(L, "importance");
    int nargs = lua_gettop(L);
    const char *kn = luaL_optstring(L, 2, "exact");
    int kind = axf_imp_kind_from_name(kn);
    if (kind < 0)
        return luaL_error(L, "importance: unknown kind '%s' (exact, gradient, entropy, magnitude)",
                          kn);
    int gran = parse_gran(L, 3);
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
        return on_cancelled(L, nargs, k_importance);
    if (rc)
        return session_fail(L, "importance", &err);
    push_imp_values(L, imp, &imp->v);
    set_str(L, "kind", axf_imp_kind_name(imp->kind));
    set_num(L, "seconds", imp->seconds);
    set_int(L, "groups", imp->n_groups);
    if (imp->kind == AXF_IMP_EXACT) {
        push_imp_values(L, imp, &imp->acc);
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

static int l_clock(lua_State *L)
{
    lua_pushnumber(L, axf_now());
    return 1;
}

void axf_lua_push_session(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, SESSION_UD_KEY);
}

int axf_lua_open_axf(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"facts", m_facts},       {"layers", m_layers},
        {"heads", m_heads},       {"ffn", m_ffn},
        {"groups", m_groups},     {"seed", m_seed},
        {"layer", m_layer},       {"plan", m_plan},
        {"baseline", m_baseline}, {"baseline_losses", m_baseline_losses},
        {"eval", m_eval},         {"losses", m_losses},
        {"try", m_try},           {"note", m_note},
        {"trial_losses", m_trial_losses}, {"trial_no_worse", m_trial_no_worse},
        {"apply", m_apply},       {"undo", m_undo},
        {"redo", m_redo},         {"check", m_check},
        {"describe", m_describe}, {"cursor", m_cursor},
        {"history", m_history},   {"trials", m_trials},
        {"counters", m_counters}, {"importance", m_importance},
        {"log", m_log},           {NULL, NULL}};
    luaL_newmetatable(L, AXF_LUA_SESSION_MT);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, AXF_LUA_SESSION_MT);
    lua_setfield(L, -2, "__metatable");
    lua_pushcfunction(L, m_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    luaL_newmetatable(L, METRICS_MT);
    lua_pushcfunction(L, metrics_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    lua_newuserdatauv(L, 1, 0);
    luaL_setmetatable(L, AXF_LUA_SESSION_MT);
    lua_setfield(L, LUA_REGISTRYINDEX, SESSION_UD_KEY);

    static const luaL_Reg fns[] = {{"log", m_log}, {"clock", l_clock}, {"describe", m_describe},
                                   {NULL, NULL}};
    luaL_newlib(L, fns);
    set_str(L, "version", AXF_VERSION);
    lua_createtable(L, AXF_OP_COUNT, 0);
    for (int i = 0; i < AXF_OP_COUNT; i++) {
        lua_pushstring(L, axf_op_name((axf_op)i));
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "ops");
    lua_setglobal(L, "axf");
    return 0;
}
