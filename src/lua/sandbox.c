/* The sandbox a policy and the console run in. Allow-list, not deny-list: only the base, string,
 * table, math, utf8 and coroutine libraries are ever opened (io, os, package, require and debug
 * do not exist in the state), and the functions below are replaced:
 *   dofile, loadfile, warn, string.dump   removed
 *   load                                  text chunks only
 *   collectgarbage                        "count" only
 *   setmetatable                          refuses __gc (finalizers would run at arbitrary times)
 *   print                                 goes to the host's log / console output
 *   pcall, xpcall, coroutine.resume/close, load
 *                                         re-raise once the host has stopped the script (budget,
 *                                         time, cancel), so a policy cannot swallow its own stop;
 *                                         xpcall's handler is not run for a stop (guarded_msgh)
 *   coroutine.resume/close/yield          never on the policy's own coroutine (it belongs to the
 *                                         host; resuming it from the console would run policy
 *                                         steps behind the host's back)
 *   coroutine.wrap                        resumes through the sandbox's resume; a coroutine the
 *                                         host stopped is never closed (nor by coroutine.close)
 *   string.rep                            empty results without looping (rep("", 1e18) spins in C)
 *   string.find/match/gmatch/gsub         refuse a pattern whose worst-case backtracking on that
 *                                         subject exceeds ~2e9 steps (C code the hook cannot stop)
 *   table.insert/remove/move/sort/concat/unpack
 *                                         refuse tables with __index/__newindex/__len (a __len
 *                                         returning 1e15 makes table.remove loop in C), and
 *                                         table.move is limited to 2^26 elements
 * The string metatable is protected (__metatable), so getmetatable("").__index tricks see nothing.
 * The instruction hook (count every AXF_LUA_HOOK_COUNT instructions + every call, C calls
 * included) enforces the budget and the time limit and polls cancel/pause. No script code runs
 * where hooks are off: a message handler raised into from the hook is skipped (above), and a
 * stopped coroutine is never closed (mark_stopped; the policy's own is dropped, luahost.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lualib.h>

#include "lua_internal.h"

static int raise_str(lua_State *L, const char *msg)
{
    axf_luahost *h = axf_lua_host(L);
    int lim = h->mem_limited;
    h->mem_limited = 0; /* the message itself must not fail on the cap */
    lua_pushstring(L, msg);
    h->mem_limited = lim;
    return lua_error(L);
}

int axf_lua_raise_killed(lua_State *L)
{
    return raise_str(L, axf_lua_host(L)->kill_msg);
}

void axf_lua_where(lua_State *L, char *buf, size_t n)
{
    lua_Debug ar;
    for (int lvl = 0; lvl < 64 && lua_getstack(L, lvl, &ar); lvl++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(buf, n, "%s:%d", ar.short_src, ar.currentline);
            return;
        }
    }
    axf_luahost *h = axf_lua_host(L);
    snprintf(buf, n, "%s", h->chunk[0] ? h->chunk : "?");
}

void axf_lua_kill(lua_State *L, axf_kill why)
{
    axf_luahost *h = axf_lua_host(L);
    char where[256];
    axf_lua_where(L, where, sizeof where);
    h->kill = why;
    const char *per = h->in_console ? "console line" : "step";
    if (why == KILL_BUDGET)
        snprintf(h->kill_msg, sizeof h->kill_msg, "%s: instruction budget exceeded (%lld per %s)",
                 where, h->o.budget, per);
    else if (why == KILL_TIME)
        snprintf(h->kill_msg, sizeof h->kill_msg, "%s: time limit exceeded (%g s of Lua per %s)",
                 where, h->o.seconds, per);
    else
        snprintf(h->kill_msg, sizeof h->kill_msg, "%s: cancelled", where);
}

/* Adds the wall time since the last tick to the script's time, unless a session call began in
 * between (evaluations are the host's time). */
static void charge_time(axf_luahost *h)
{
    double now = axf_now();
    if (h->host_calls == h->host_calls_seen)
        h->lua_seconds += now - h->tick_last;
    h->host_calls_seen = h->host_calls;
    h->tick_last = now;
}

void axf_lua_hook(lua_State *L, lua_Debug *ar)
{
    axf_luahost *h = axf_lua_host(L);
    if (!h->script_running)
        return; /* host bookkeeping */
    if (ar->event == LUA_HOOKCOUNT) {
        h->budget_left -= AXF_LUA_HOOK_COUNT;
        if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
            snprintf(h->last_where, sizeof h->last_where, "%s:%d", ar->short_src, ar->currentline);
    } else {
        h->budget_left -= AXF_LUA_CALL_COST;
    }
    /* The clock catches what instructions do not measure: a call or an error that costs far more
     * than its count (a stack overflow unwinds a million frames, ~0.6 s, for 1e7 budget units). */
    if (ar->event == LUA_HOOKCOUNT || (++h->ticks & 15) == 0)
        charge_time(h);
    if (h->kill)
        axf_lua_raise_killed(L);
    if (atomic_load(&h->cancel_req)) {
        axf_lua_kill(L, KILL_CANCEL);
        axf_lua_raise_killed(L);
    }
    if (h->o.budget > 0 && h->budget_left < 0) {
        axf_lua_kill(L, KILL_BUDGET);
        axf_lua_raise_killed(L);
    }
    if (h->o.seconds > 0 && h->lua_seconds > h->o.seconds) {
        axf_lua_kill(L, KILL_TIME);
        axf_lua_raise_killed(L);
    }
    /* Only count events may yield from a hook, and only the policy's own coroutine yields to
     * the host; a pause asked inside a nested coroutine waits until control is back there. */
    if (ar->event == LUA_HOOKCOUNT && atomic_load(&h->pause_req) && L == h->co && !h->in_console &&
        lua_isyieldable(L)) {
        h->paused_midstep = 1;
        lua_yield(L, 0);
    }
}

/* ---- base ---- */

static int pcall_cont(lua_State *L, int status, lua_KContext extra)
{
    axf_luahost *h = axf_lua_host(L);
    if (h->kill)
        return axf_lua_raise_killed(L);
    if (status != LUA_OK && status != LUA_YIELD) {
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static int sb_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1); /* true, f, args... */
    int st = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, pcall_cont);
    return pcall_cont(L, st, 0);
}

/* The message handler xpcall really installs. Lua calls a handler before it unwinds, so when the
 * hook itself raises the stop, the handler runs inside the hook, where hooks are off: a handler
 * that loops would never be stopped (neither budget nor cancel could reach it). Once the host
 * has stopped the script the policy's handler is skipped and the stop message goes on as is. */
static int guarded_msgh(lua_State *L)
{
    if (axf_lua_host(L)->kill)
        return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int sb_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guarded_msgh, 1);
    lua_replace(L, 2);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2); /* f, msgh, true, f, args... */
    int st = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, pcall_cont);
    return pcall_cont(L, st, 2);
}

static int sb_load(lua_State *L)
{
    const char *mode = luaL_optstring(L, 3, "t");
    if (!strchr(mode, 't'))
        return luaL_error(L, "load: binary chunks are not allowed in the sandbox");
    lua_settop(L, 4);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    if (lua_isnone(L, 4) || lua_isnil(L, 4)) {
        /* keep the original's "no env argument" meaning: the global table */
        lua_settop(L, 3);
    }
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    if (axf_lua_host(L)->kill)
        return axf_lua_raise_killed(L);
    return lua_gettop(L);
}

static int sb_collectgarbage(lua_State *L)
{
    const char *opt = luaL_optstring(L, 1, "collect");
    if (strcmp(opt, "count"))
        return luaL_error(L, "collectgarbage: only \"count\" is available in the sandbox");
    int kb = lua_gc(L, LUA_GCCOUNT), b = lua_gc(L, LUA_GCCOUNTB);
    lua_pushnumber(L, (lua_Number)kb + (lua_Number)b / 1024);
    return 1;
}

static int sb_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int t = lua_type(L, 2);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc metamethods are not allowed in the sandbox");
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

static int sb_print(lua_State *L)
{
    axf_luahost *h = axf_lua_host(L);
    int n = lua_gettop(L);
    axf_sbuf_clear(&h->printbuf);
    axf_sbuf_add_values(&h->printbuf, L, n);
    if (h->in_console) {
        axf_sbuf_add(&h->console_out, axf_sbuf_str(&h->printbuf), h->printbuf.n);
        axf_sbuf_add(&h->console_out, "\n", 1);
    } else {
        axf_lua_emit(h, AXF_LUA_LOG_PRINT, axf_sbuf_str(&h->printbuf));
    }
    return 0;
}

/* ---- coroutine ---- */

static void guard_policy_thread(lua_State *L, const char *fn)
{
    axf_luahost *h = axf_lua_host(L);
    lua_State *co = lua_tothread(L, 1);
    if (co && co == h->co)
        luaL_error(L, "coroutine.%s: the policy's own coroutine is run by the host", fn);
}

#define STOPPED_KEY "axf.stopped_threads"

/* A coroutine the hook stopped died with hooks off: whatever Lua code it still holds (its
 * to-be-closed variables) could never be stopped, so it is marked (a weak-keyed registry table)
 * and never closed. Only threads at stack index idx of L. */
static void mark_stopped(lua_State *L, int idx)
{
    lua_State *co = lua_tothread(L, idx);
    if (!co || lua_status(co) == LUA_OK || lua_status(co) == LUA_YIELD)
        return;
    axf_luahost *h = axf_lua_host(L);
    int lim = h->mem_limited;
    h->mem_limited = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, STOPPED_KEY);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    h->mem_limited = lim;
}

static int is_stopped(lua_State *L, int idx)
{
    lua_getfield(L, LUA_REGISTRYINDEX, STOPPED_KEY);
    lua_pushvalue(L, idx);
    int r = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return r;
}

/* Calls the original library function (upvalue 1) protected with the arguments above stack
 * index base, so that its errors get the position of the Lua line that called the wrapper (the
 * original sees only the wrapper, a C function, as its caller) and a stop or a memory cap is
 * reported as such. A thread at index 1 (base 1) is marked when the stop ended it. */
static int call_upvalue_then_check(lua_State *L, int base)
{
    axf_luahost *h = axf_lua_host(L);
    int n = lua_gettop(L) - base;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, base + 1);
    int st = lua_pcall(L, n, LUA_MULTRET, 0);
    if (h->kill) {
        if (base)
            mark_stopped(L, 1);
        return axf_lua_raise_killed(L);
    }
    if (st == LUA_OK)
        return lua_gettop(L) - base;
    char where[256], msg[700];
    axf_lua_where(L, where, sizeof where);
    if (st == LUA_ERRMEM) {
        snprintf(msg, sizeof msg, "%s: %s", where,
                 h->mem_hit ? "memory cap exceeded" : "not enough memory");
        if (h->mem_hit)
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " (%zu MiB)", h->o.mem_cap >> 20);
        return raise_str(L, msg);
    }
    if (lua_type(L, -1) == LUA_TSTRING) {
        const char *e = lua_tostring(L, -1);
        if (strncmp(e, where, strlen(where))) {
            snprintf(msg, sizeof msg, "%s: %s", where, e);
            return raise_str(L, msg);
        }
    }
    return lua_error(L);
}

static int sb_co_resume(lua_State *L)
{
    guard_policy_thread(L, "resume");
    lua_pushvalue(L, 1); /* kept below the call: marked if the stop ends it */
    lua_insert(L, 1);
    return call_upvalue_then_check(L, 1);
}

static int sb_co_close(lua_State *L)
{
    guard_policy_thread(L, "close");
    if (lua_type(L, 1) == LUA_TTHREAD && is_stopped(L, 1)) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "coroutine.close: this coroutine was stopped by the host (budget, time "
                           "or cancel); its to-be-closed variables are not run");
        return 2;
    }
    return call_upvalue_then_check(L, 0);
}

/* coroutine.wrap's function (upvalue 1 the coroutine, 2 the sandbox's coroutine.resume). The
 * library's own would close a stopped coroutine (see mark_stopped); this one resumes through the
 * sandbox (a stop goes on at once) and closes the coroutine only after an ordinary error, which
 * goes on to the caller with the caller's position, as the library does. */
static int sb_wrapped(lua_State *L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_rotate(L, 1, 2);
    lua_call(L, n + 1, LUA_MULTRET);
    if (lua_toboolean(L, 1))
        return lua_gettop(L) - 1;
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    lua_settop(L, 2);
    int st = lua_status(co);
    if (st != LUA_OK && st != LUA_YIELD) {
        lua_resetthread(co); /* its __close run, hooks on: an ordinary error */
        lua_xmove(co, L, 1);
        lua_replace(L, 2);
    }
    if (st != LUA_ERRMEM && lua_type(L, 2) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, 2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

static int sb_co_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, sb_wrapped, 2);
    return 1;
}

static int sb_co_yield(lua_State *L)
{
    axf_luahost *h = axf_lua_host(L);
    if (L == h->co)
        return luaL_error(L, "coroutine.yield: the policy itself runs in the host's coroutine; "
                             "yield only inside coroutines you create");
    if (!lua_isyieldable(L))
        return luaL_error(L, "coroutine.yield: not inside a coroutine");
    return lua_yield(L, lua_gettop(L));
}

/* ---- string ---- */

static int sb_rep(lua_State *L)
{
    size_t l, lsep = 0;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    if (!lua_isnoneornil(L, 3))
        luaL_checklstring(L, 3, &lsep);
    if (n <= 0 || l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    return call_upvalue_then_check(L, 0);
}

/* Worst-case steps of Lua's backtracking matcher: each * + - can rescan the rest of the subject,
 * each ? doubles, an unanchored pattern is retried at every position. Over-counts on purpose. */
static double pattern_log_cost(const char *p, size_t pl, size_t sl)
{
    size_t i = 0;
    int anchored = pl > 0 && p[0] == '^';
    double q = 0, r = 0;
    for (i = anchored; i < pl; i++) {
        char c = p[i];
        if (c == '%') {
            i++;
            if (i < pl && p[i] == 'b')
                i += 2;
            continue;
        }
        if (c == '[') {
            i++;
            if (i < pl && p[i] == '^')
                i++;
            if (i < pl && p[i] == ']')
                i++;
            while (i < pl && p[i] != ']') {
                if (p[i] == '%')
                    i++;
                i++;
            }
            continue;
        }
        if (c == '*' || c == '+' || c == '-')
            q++;
        else if (c == '?')
            r++;
    }
    double ls = log((double)sl + 1);
    return q * ls + r * log(2.0) + (anchored ? 0 : ls);
}

static int sb_pattern(lua_State *L)
{
    size_t sl, pl;
    luaL_checklstring(L, 1, &sl);
    const char *p = luaL_checklstring(L, 2, &pl);
    int plain = lua_toboolean(L, 4) && lua_tointeger(L, lua_upvalueindex(2)) == 1; /* find only */
    if (!plain && pattern_log_cost(p, pl, sl) > log(2e9))
        return luaL_error(L, "pattern too complex for a subject of %d bytes (sandbox limit on "
                             "backtracking)", (int)(sl > 2147483647u ? 2147483647u : sl));
    return call_upvalue_then_check(L, 0);
}

/* ---- table ---- */

static void guard_plain_table(lua_State *L, int idx, const char *fn)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        return; /* the original reports the type error */
    static const char *const mm[] = {"__index", "__newindex", "__len"};
    for (int i = 0; i < 3; i++) {
        if (luaL_getmetafield(L, idx, mm[i]) != LUA_TNIL)
            luaL_error(L, "table.%s: tables with %s are not allowed here (sandbox)", fn, mm[i]);
    }
}

static int sb_table(lua_State *L)
{
    const char *fn = lua_tostring(L, lua_upvalueindex(2));
    guard_plain_table(L, 1, fn);
    if (!strcmp(fn, "move")) {
        guard_plain_table(L, 5, fn);
        lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
        if (e >= f && ((lua_Unsigned)e - (lua_Unsigned)f) >= ((lua_Unsigned)1 << 26))
            return luaL_error(L, "table.move: too many elements (sandbox limit 67108864)");
    }
    return call_upvalue_then_check(L, 0);
}

/* Replaces field `name` of the table at the top with fn(upvalue original[, extra]). */
static void wrap_field(lua_State *L, const char *name, lua_CFunction fn, int extra_int,
                       const char *extra_str)
{
    lua_getfield(L, -1, name);
    int nup = 1;
    if (extra_str) {
        lua_pushstring(L, extra_str);
        nup++;
    } else if (extra_int) {
        lua_pushinteger(L, extra_int);
        nup++;
    }
    lua_pushcclosure(L, fn, nup);
    lua_setfield(L, -2, name);
}

int axf_lua_open_sandbox(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},        {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table},  {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},  {LUA_COLIBNAME, luaopen_coroutine},
        {NULL, NULL}};
    for (const luaL_Reg *l = libs; l->name; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L);
    static const char *const gone[] = {"dofile", "loadfile", "warn", NULL};
    for (int i = 0; gone[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, gone[i]);
    }
    static const luaL_Reg base[] = {
        {"pcall", sb_pcall}, {"xpcall", sb_xpcall}, {"collectgarbage", sb_collectgarbage},
        {"setmetatable", sb_setmetatable}, {"print", sb_print}, {NULL, NULL}};
    luaL_setfuncs(L, base, 0);
    wrap_field(L, "load", sb_load, 0, NULL);

    lua_getfield(L, -1, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    wrap_field(L, "rep", sb_rep, 0, NULL);
    wrap_field(L, "find", sb_pattern, 1, NULL);
    wrap_field(L, "match", sb_pattern, 2, NULL);
    wrap_field(L, "gmatch", sb_pattern, 2, NULL);
    wrap_field(L, "gsub", sb_pattern, 2, NULL);
    lua_pop(L, 1);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushliteral(L, "string");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    lua_getfield(L, -1, "table");
    static const char *const tfn[] = {"insert", "remove", "move", "sort", "concat", "unpack", NULL};
    for (int i = 0; tfn[i]; i++)
        wrap_field(L, tfn[i], sb_table, 0, tfn[i]);
    lua_pop(L, 1);

    lua_newtable(L); /* the stopped threads, weak keys */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, STOPPED_KEY);

    lua_getfield(L, -1, "coroutine");
    wrap_field(L, "resume", sb_co_resume, 0, NULL);
    wrap_field(L, "close", sb_co_close, 0, NULL);
    lua_getfield(L, -1, "resume");
    lua_pushcclosure(L, sb_co_wrap, 1);
    lua_setfield(L, -2, "wrap");
    lua_pushcfunction(L, sb_co_yield);
    lua_setfield(L, -2, "yield");
    lua_pop(L, 1);

    /* math.random is seeded from the clock at state creation: make it the session's seed */
    axf_luahost *h = axf_lua_host(L);
    uint64_t seed = h->o.seed ? h->o.seed : axf_session_seed(h->s);
    lua_getfield(L, -1, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, (lua_Integer)(seed & 0x7fffffffffffffffULL));
    lua_call(L, 1, 0);
    lua_pop(L, 2);
    return 0;
}
