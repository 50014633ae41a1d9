/* Conversions between the session's C structs and Lua values: metrics, actions (parsed with raw
 * access only, so a script's metamethods never run inside the parser, and every field checked for
 * type, integrality and range before it reaches the session), plan layers, per-sample arrays and
 * importance tables. Element indices are 0-based keys; sample arrays are 1-based sequences. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua_internal.h"

#define MAX_STEP_ACTIONS AXF_LUA_MAX_STEP_ACTIONS
#define METRICS_MT AXF_LUA_METRICS_MT

int axf_lua_metrics_tostring(lua_State *L)
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

void axf_lua_push_metrics(lua_State *L, const axf_luahost *h, const axf_metrics *m)
{
    axf_facts f;
    axf_session_facts(h->s, &f);
    lua_createtable(L, 0, 10);
    axf_lua_set_num(L, "loss", m->loss);
    axf_lua_set_num(L, "accuracy", m->accuracy);
    axf_lua_set_num(L, "metric", m->metric);
    axf_lua_set_str(L, "metric_name", f.metric_name);
    axf_lua_set_int(L, "n", m->n);
    axf_lua_set_int(L, "n_no_worse", m->n_no_worse);
    axf_lua_set_int(L, "params", (long long)m->params);
    axf_lua_set_num(L, "flops", m->flops_per_token);
    axf_lua_set_int(L, "size", (long long)m->size_bytes);
    luaL_setmetatable(L, METRICS_MT);
}

/* Metrics of the committed plan without evaluating (recorded at every commit/undo/redo). */
void axf_lua_committed_metrics(const axf_luahost *h, axf_metrics *out)
{
    int c = axf_session_cursor(h->s);
    axf_history_entry e;
    if (c > 0 && axf_session_history_get(h->s, c - 1, &e) == 0)
        *out = e.after;
    else
        axf_session_baseline(h->s, out);
}

void axf_lua_push_floats(lua_State *L, const float *v, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

void axf_lua_push_action(lua_State *L, const axf_action *a)
{
    lua_createtable(L, 0, 6);
    axf_lua_set_str(L, "op", axf_op_name(a->op));
    axf_lua_set_int(L, "layer", a->layer);
    switch (a->op) {
    case AXF_OP_DROP_HEAD: case AXF_OP_RESTORE_HEAD:
        axf_lua_set_int(L, "head", a->index);
        break;
    case AXF_OP_DROP_GROUP: case AXF_OP_RESTORE_GROUP:
        axf_lua_set_int(L, "group", a->index);
        axf_lua_set_int(L, "groups", a->groups);
        break;
    case AXF_OP_DROP_NEURONS: case AXF_OP_RESTORE_NEURONS:
        axf_lua_set_int(L, "neuron", a->index);
        axf_lua_set_int(L, "count", a->count);
        break;
    case AXF_OP_SET_HARD:
        axf_lua_set_str(L, "mode", axf_hard_mode_name(a->hard));
        if (a->hard == AXF_HARD_TOPK || a->hard == AXF_HARD_TOPK_RENORM)
            axf_lua_set_int(L, "k", a->k);
        if (a->hard == AXF_HARD_THRESHOLD)
            axf_lua_set_num(L, "threshold", a->threshold);
        break;
    case AXF_OP_QUANTIZE: case AXF_OP_DEQUANTIZE:
        axf_lua_set_str(L, "block", axf_block_name(a->block));
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

/* The op field of the action table at t (absolute index). */
static axf_op parse_op(lua_State *L, int t)
{
    const char *opn = field_str(L, t, NULL, "op");
    if (!opn)
        fail_action(L, NULL, "field '%s' is missing (e.g. op=\"drop_head\")%s", "op", "");
    int op = axf_op_from_name(opn);
    if (op < 0) {
        char shown[40];
        snprintf(shown, sizeof shown, "%.32s", opn);
        fail_action(L, NULL, "unknown op '%s'%s", shown,
                    " (ops: drop_layer drop_attn drop_ffn drop_head drop_group drop_neurons "
                    "set_hard restore_* quantize dequantize)");
    }
    return (axf_op)op;
}

/* set_hard's mode, k and threshold (a threshold alone means mode "threshold"). */
static void parse_hard(lua_State *L, int t, const char *opn, long big, axf_action *a)
{
    const char *mode = field_str(L, t, opn, "mode");
    lua_pushliteral(L, "threshold");
    int tty = lua_rawget(L, t);
    double thr = 0;
    if (tty != LUA_TNIL) {
        if (tty != LUA_TNUMBER)
            fail_action(L, opn, "field '%s' must be a number (got %s)", "threshold", lua_typename(L, tty));
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
    a->k = field_int(L, t, opn, "k", 0, 1, big, 0);
    a->threshold = (float)thr;
}

/* Every key of the table at t is a string among allowed. */
static void check_keys(lua_State *L, int t, const char *opn, const char *const *allowed)
{
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

/* Parses the action table at index t. */
static void parse_one(lua_State *L, int t, axf_action *a)
{
    t = lua_absindex(L, t);
    if (lua_type(L, t) != LUA_TTABLE)
        luaL_error(L, "bad action: a table like {op=\"drop_head\", layer=0, head=1} expected, got %s",
                   luaL_typename(L, t));
    memset(a, 0, sizeof *a);
    a->op = parse_op(L, t);
    const char *opn = axf_op_name(a->op);
    static const char *const k_block[] = {"op", "layer", NULL};
    static const char *const k_head[] = {"op", "layer", "head", NULL};
    static const char *const k_group[] = {"op", "layer", "group", "groups", NULL};
    static const char *const k_neur[] = {"op", "layer", "neuron", "count", NULL};
    static const char *const k_hard[] = {"op", "layer", "mode", "k", "threshold", NULL};
    static const char *const k_quant[] = {"op", "layer", "block", NULL};
    const char *const *allowed = k_block;
    const long BIG = 1000000000L;
    int embed = 0; /* quantize / dequantize of the word embeddings: no layer needed (0) */
    if (a->op == AXF_OP_QUANTIZE || a->op == AXF_OP_DEQUANTIZE) {
        const char *block = field_str(L, t, opn, "block");
        embed = block && !strcmp(block, "embed");
    }
    a->layer = field_int(L, t, opn, "layer", !embed, 0, embed ? 0 : BIG, 0);
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
    case AXF_OP_SET_HARD:
        allowed = k_hard;
        parse_hard(L, t, opn, BIG, a);
        break;
    case AXF_OP_QUANTIZE: case AXF_OP_DEQUANTIZE: {
        allowed = k_quant;
        const char *block = field_str(L, t, opn, "block");
        if (!block)
            fail_action(L, opn, "field '%s' is missing (\"attn\", \"ffn\" or \"embed\")%s", "block", "");
        a->block = axf_block_from_name(block);
        if (a->block < 0)
            fail_action(L, opn, "field '%s' must be \"attn\", \"ffn\" or \"embed\"%s", "block", "");
        break;
    }
    default:
        break;
    }
    check_keys(L, t, opn, allowed);
}

/* One action table, or a list of them (one step). Returns the count. */
int axf_lua_parse_actions(lua_State *L, int idx, axf_action *acts)
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

void axf_lua_push_layer(lua_State *L, const axf_layer_plan *lp, int groups)
{
    lua_createtable(L, 0, 12);
    axf_lua_set_bool(L, "attn", lp->attn_on);
    axf_lua_set_bool(L, "ffn", lp->ffn_on);
    axf_lua_set_int(L, "heads", lp->nh);
    axf_lua_set_int(L, "heads_on", axf_plan_heads_on(lp));
    axf_lua_set_int(L, "f", lp->f);
    axf_lua_set_int(L, "neurons_on", axf_plan_neurons_on(lp));
    axf_lua_set_str(L, "hard", axf_hard_mode_name(lp->hard));
    axf_lua_set_int(L, "k", lp->k);
    axf_lua_set_num(L, "threshold", lp->threshold);
    axf_lua_set_bool(L, "int8_attn", lp->attn_on && lp->int8_attn);
    axf_lua_set_bool(L, "int8_ffn", lp->ffn_on && lp->int8_ffn);
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
    axf_lua_set_int(L, "groups", groups);
}


int axf_lua_parse_gran(lua_State *L, int idx)
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

void axf_lua_push_imp_values(lua_State *L, const axf_importance *imp, const axf_imp_values *v)
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

