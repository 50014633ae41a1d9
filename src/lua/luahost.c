/* The policy host: owns the sandboxed lua_State, loads a policy (top level, declared params,
 * --set overrides), runs run(s, p) as a coroutine one step at a time, and keeps the status line
 * and the per-step explanation. Every call into Lua is protected (lua_pcall / lua_resume); the
 * host's own Lua bookkeeping runs with the memory cap lifted and the hook disarmed, so only
 * script code is ever budgeted or capped. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "lua_internal.h"

/* ---- text buffer ---- */

void axf_sbuf_add(axf_sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->p = axf_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void axf_sbuf_printf(axf_sbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (w < 0)
        return;
    if ((size_t)w < sizeof tmp) {
        axf_sbuf_add(b, tmp, (size_t)w);
        return;
    }
    char *big = axf_xmalloc((size_t)w + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)w + 1, fmt, ap);
    va_end(ap);
    axf_sbuf_add(b, big, (size_t)w);
    free(big);
}

void axf_sbuf_clear(axf_sbuf *b)
{
    b->n = 0;
    if (b->p)
        b->p[0] = 0;
}

void axf_sbuf_free(axf_sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

const char *axf_sbuf_str(const axf_sbuf *b) { return b->p ? b->p : ""; }

void axf_sbuf_add_values(axf_sbuf *b, lua_State *L, int n)
{
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1)
            axf_sbuf_add(b, "\t", 1);
        axf_sbuf_add(b, s, len);
        lua_pop(L, 1);
    }
}

/* ---- allocator with a cap ---- */

static void *host_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    axf_luahost *h = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        h->mem_used -= old;
        return NULL;
    }
    if (nsize > old && h->mem_limited && h->mem_used - old + nsize > h->o.mem_cap) {
        h->mem_hit = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (!p)
        return NULL;
    h->mem_used = h->mem_used - old + nsize;
    return p;
}

/* ---- log and explanation ---- */

void axf_lua_emit(axf_luahost *h, axf_lua_log_kind kind, const char *line)
{
    if (h->o.log)
        h->o.log(kind, line, h->o.log_ud);
}

void axf_lua_flush_trial(axf_luahost *h, const char *verdict)
{
    if (!h->have_pending)
        return;
    h->have_pending = 0;
    if (verdict && *verdict)
        axf_sbuf_printf(&h->pending, " -> %s", verdict);
    if (h->expl_cur.n)
        axf_sbuf_add(&h->expl_cur, "\n", 1);
    axf_sbuf_add(&h->expl_cur, axf_sbuf_str(&h->pending), h->pending.n);
    axf_lua_emit(h, AXF_LUA_LOG_TRIAL, axf_sbuf_str(&h->pending));
}

/* ---- session progress: where cancel and pause reach an evaluation ---- */

static int host_progress(double done, double total, void *ud)
{
    axf_luahost *h = ud;
    if (h->script_running) {
        if (atomic_load(&h->cancel_req))
            return 1;
        if (atomic_load(&h->pause_req) && h->can_pause)
            return 1;
    }
    if (h->o.progress && h->o.progress(done, total, h->o.progress_ud)) {
        if (h->script_running)
            atomic_store(&h->cancel_req, 1);
        return 1;
    }
    return 0;
}

/* ---- script / host-op phases ---- */

static void begin_script(axf_luahost *h)
{
    h->kill = KILL_NONE;
    h->budget_left = h->o.budget > 0 ? h->o.budget : LLONG_MAX;
    h->lua_seconds = 0;
    h->tick_last = axf_now();
    h->host_calls_seen = h->host_calls;
    h->mem_hit = 0;
    h->mem_limited = 1;
    h->script_running = 1;
}

static void end_script(axf_luahost *h)
{
    h->mem_limited = 0;
    h->script_running = 0;
    h->can_pause = 0;
}

/* Runs fn(ud) protected, with no cap and no budget (host bookkeeping). 0 or -1 + err. */
static int host_op(axf_luahost *h, lua_CFunction fn, void *ud, axf_err *err)
{
    h->kill = KILL_NONE;
    h->script_running = 0;
    lua_pushcfunction(h->L, fn);
    lua_pushlightuserdata(h->L, ud);
    int st = lua_pcall(h->L, 1, 0, 0);
    if (st != LUA_OK) {
        const char *m = lua_type(h->L, -1) == LUA_TSTRING ? lua_tostring(h->L, -1) : "error";
        axf_err_set(err, "%s", m);
        lua_pop(h->L, 1);
        return -1;
    }
    return 0;
}

/* ---- options, lifetime ---- */

axf_luahost_opts axf_luahost_opts_default(void)
{
    axf_luahost_opts o;
    memset(&o, 0, sizeof o);
    o.budget = 1000000000LL;
    o.seconds = 5;
    o.mem_cap = (size_t)256 << 20;
    return o;
}

static void close_state(axf_luahost *h)
{
    if (!h->L)
        return;
    h->kill = KILL_CLOSING;
    h->script_running = 1; /* any Lua code that runs while closing is stopped at once */
    lua_sethook(h->L, NULL, 0, 0);
    lua_close(h->L);
    h->L = NULL;
    h->co = NULL;
    h->script_running = 0;
    h->kill = KILL_NONE;
    h->mem_used = 0;
}

static int setup_state(lua_State *L)
{
    lua_pushcfunction(L, axf_lua_open_sandbox);
    lua_call(L, 0, 0);
    lua_pushcfunction(L, axf_lua_open_axf);
    lua_call(L, 0, 0);
    return 0;
}

static int set_console_globals(lua_State *L)
{
    lua_pushglobaltable(L);
    static const char *const names[] = {"s", "session"};
    for (int i = 0; i < 2; i++) {
        lua_pushstring(L, names[i]);
        if (lua_rawget(L, -2) == LUA_TNIL) {
            lua_pushstring(L, names[i]);
            axf_lua_push_session(L);
            lua_rawset(L, -4);
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* A fresh sandboxed state (the old one, if any, is closed). */
static int new_state(axf_luahost *h, axf_err *err)
{
    close_state(h);
    h->L = lua_newstate(host_alloc, h);
    if (!h->L)
        return axf_err_set(err, "cannot create the Lua state (out of memory)");
    /* Set before any thread exists: coroutines inherit the hook of the thread creating them. */
    lua_sethook(h->L, axf_lua_hook, LUA_MASKCOUNT | LUA_MASKCALL, AXF_LUA_HOOK_COUNT);
    if (host_op(h, setup_state, h, err)) {
        close_state(h);
        return axf_err_prefix(err, "Lua sandbox");
    }
    return 0;
}

axf_luahost *axf_luahost_new(axf_session *s, const axf_luahost_opts *opts, axf_err *err)
{
    if (!s) {
        axf_err_set(err, "axf_luahost_new: no session");
        return NULL;
    }
    axf_luahost *h = axf_xcalloc(1, sizeof *h);
    h->s = s;
    h->o = opts ? *opts : axf_luahost_opts_default();
    if (h->o.mem_cap == 0)
        h->o.mem_cap = axf_luahost_opts_default().mem_cap;
    if (h->o.budget < 0)
        h->o.budget = 0;
    if (!(h->o.seconds > 0))
        h->o.seconds = 0;
    atomic_init(&h->state, AXF_LUA_NONE);
    atomic_init(&h->cancel_req, 0);
    atomic_init(&h->pause_req, 0);
    atomic_init(&h->in_run, 0);
    h->co_ref = LUA_NOREF;
    if (h->o.seed)
        axf_session_set_seed(s, h->o.seed);
    if (new_state(h, err) || host_op(h, set_console_globals, h, err)) {
        close_state(h);
        free(h);
        return NULL;
    }
    axf_session_set_progress(s, host_progress, h);
    return h;
}

void axf_luahost_free(axf_luahost *h)
{
    if (!h)
        return;
    close_state(h);
    axf_session_set_progress(h->s, h->o.progress, h->o.progress_ud);
    axf_lua_params_free(h);
    axf_sbuf_free(&h->expl_cur);
    axf_sbuf_free(&h->expl_last);
    axf_sbuf_free(&h->pending);
    axf_sbuf_free(&h->console_out);
    axf_sbuf_free(&h->printbuf);
    free(h);
}

typedef struct {
    axf_luahost *h;
    const char *const *sets;
    int n_sets;
} params_job;

/* Host op after the top level ran: parameters and overrides, name, and the coroutine run(s, p). */
static int read_params(lua_State *L)
{
    params_job *job = lua_touserdata(L, 1);
    axf_luahost *h = job->h;
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    int pt = axf_lua_read_params(L, h, g, job->sets, job->n_sets);
    lua_pushliteral(L, "name");
    if (lua_rawget(L, g) == LUA_TSTRING)
        snprintf(h->name, sizeof h->name, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);

    lua_pushliteral(L, "run");
    if (lua_rawget(L, g) != LUA_TFUNCTION)
        return luaL_error(L, "the policy defines no function run(s, p)");
    lua_State *co = lua_newthread(L);
    h->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, -1);
    lua_xmove(L, co, 1); /* run */
    axf_lua_push_session(L);
    lua_xmove(L, co, 1);
    lua_pushvalue(L, pt);
    lua_xmove(L, co, 1);
    h->co = co;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void set_msg(axf_luahost *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_msg(axf_luahost *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->msg, sizeof h->msg, fmt, ap);
    va_end(ap);
}

/* Message of a failed script run whose error object is at the top of T. */
static void error_message(axf_luahost *h, lua_State *T, int status, char *buf, size_t n)
{
    char where[256];
    if (h->kill == KILL_BUDGET || h->kill == KILL_TIME || h->kill == KILL_CANCEL) {
        snprintf(buf, n, "%s", h->kill_msg);
        return;
    }
    if (status == LUA_ERRMEM) {
        if (T == h->co)
            axf_lua_where(T, where, sizeof where);
        else
            snprintf(where, sizeof where, "%s", h->last_where[0] ? h->last_where : h->chunk);
        if (h->mem_hit)
            snprintf(buf, n, "%s: memory cap exceeded (%zu MiB)", where, h->o.mem_cap >> 20);
        else
            snprintf(buf, n, "%s: out of memory", where);
        return;
    }
    if (lua_type(T, -1) == LUA_TSTRING) {
        snprintf(buf, n, "%s", lua_tostring(T, -1));
        /* error("x", 0) or error objects without a position: add one */
        if (!strchr(buf, ':') || strncmp(buf, h->chunk, strlen(h->chunk))) {
            if (T == h->co && strncmp(buf, "console:", 8)) {
                axf_lua_where(T, where, sizeof where);
                if (strncmp(buf, where, strlen(where))) {
                    char tmp[1024];
                    snprintf(tmp, sizeof tmp, "%s: %s", where, buf);
                    snprintf(buf, n, "%s", tmp);
                }
            }
        }
        return;
    }
    if (T == h->co)
        axf_lua_where(T, where, sizeof where);
    else
        snprintf(where, sizeof where, "%s", h->chunk);
    snprintf(buf, n, "%s: error object is a %s value", where, luaL_typename(T, -1));
}

/* Message handler of script runs on the main thread: non-string error objects get the position
 * of the innermost Lua line (the stack is gone once lua_pcall returns). */
static int script_msgh(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TSTRING)
        return 1;
    char where[256];
    axf_lua_where(L, where, sizeof where);
    lua_pushfstring(L, "%s: error object is a %s value", where, luaL_typename(L, 1));
    return 1;
}

static void reset_policy(axf_luahost *h)
{
    axf_lua_params_free(h);
    h->co = NULL;
    h->co_ref = LUA_NOREF;
    h->started = 0;
    h->steps = 0;
    h->name[0] = h->chunk[0] = h->sha[0] = 0;
    h->msg[0] = 0;
    h->have_pending = 0;
    h->continuing = 0;
    axf_sbuf_clear(&h->expl_cur);
    axf_sbuf_clear(&h->expl_last);
    atomic_store(&h->cancel_req, 0);
    atomic_store(&h->pause_req, 0);
    atomic_store(&h->state, AXF_LUA_NONE);
}

int axf_luahost_load_string(axf_luahost *h, const char *chunkname, const char *src, size_t len,
                            const char *const *sets, int n_sets, axf_err *err)
{
    if (atomic_load(&h->state) == AXF_LUA_RUNNING)
        return axf_err_set(err, "cannot load a policy while one is running");
    reset_policy(h);
    if (new_state(h, err))
        return -1;
    const char *bn = base_name(chunkname ? chunkname : "policy.lua");
    snprintf(h->chunk, sizeof h->chunk, "%s", bn);
    snprintf(h->name, sizeof h->name, "%s", bn);
    axf_sha256_buf(src, len, h->sha);
    char cn[140];
    snprintf(cn, sizeof cn, "@%s", h->chunk);

    lua_pushcfunction(h->L, script_msgh);
    begin_script(h);
    int st = luaL_loadbufferx(h->L, src, len, cn, "t");
    if (st == LUA_OK)
        st = lua_pcall(h->L, 0, 0, -2);
    end_script(h);
    if (st == LUA_OK)
        lua_pop(h->L, 1); /* the handler */
    else
        lua_remove(h->L, -2);
    if (st != LUA_OK) {
        host_op(h, set_console_globals, h, NULL);
        char buf[1024];
        error_message(h, h->L, st, buf, sizeof buf);
        lua_pop(h->L, 1);
        set_msg(h, "%s", buf);
        return axf_err_set(err, "%s", buf);
    }
    params_job job = {h, sets, n_sets};
    host_op(h, set_console_globals, h, NULL);
    if (host_op(h, read_params, &job, err)) {
        axf_lua_params_free(h);
        h->co = NULL;
        set_msg(h, "%s", err->msg);
        return -1;
    }
    if (axf_session_set_policy(h->s, h->chunk, h->sha, h->params_json, err)) {
        set_msg(h, "%s", err->msg);
        h->co = NULL;
        return -1;
    }
    atomic_store(&h->state, AXF_LUA_IDLE);
    return 0;
}

int axf_luahost_load(axf_luahost *h, const char *path, const char *const *sets, int n_sets,
                     axf_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return axf_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    axf_sbuf b = {0};
    char tmp[65536];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0) {
        axf_sbuf_add(&b, tmp, r);
        if (b.n > ((size_t)16 << 20)) {
            fclose(f);
            axf_sbuf_free(&b);
            return axf_err_set(err, "%s: policy file larger than 16 MiB", path);
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        axf_sbuf_free(&b);
        return axf_err_set(err, "%s: read error", path);
    }
    int rc = axf_luahost_load_string(h, path, axf_sbuf_str(&b), b.n, sets, n_sets, err);
    axf_sbuf_free(&b);
    return rc;
}

/* ---- running ---- */

const char *axf_lua_state_name(axf_lua_state st)
{
    static const char *const names[] = {"none", "idle", "running", "done", "error", "cancelled"};
    return (unsigned)st < 6 ? names[st] : "?";
}

static void finish_stopped(axf_luahost *h, axf_lua_state st)
{
    /* Drop the coroutine and its garbage. Its pending to-be-closed variables are not run: a
     * coroutine stopped from inside the hook keeps hooks off, so a __close that loops could never
     * be stopped (and a stopped script has nothing more to do). */
    luaL_unref(h->L, LUA_REGISTRYINDEX, h->co_ref);
    h->co_ref = LUA_NOREF;
    h->co = NULL;
    lua_gc(h->L, LUA_GCCOLLECT);
    atomic_store(&h->cancel_req, 0);
    atomic_store(&h->pause_req, 0);
    atomic_store(&h->state, st);
    axf_lua_emit(h, AXF_LUA_LOG_STATUS, h->msg);
}

static void traceback(axf_luahost *h, lua_State *T)
{
    axf_sbuf b = {0};
    axf_sbuf_printf(&b, "%s\nstack:", h->msg);
    lua_Debug ar;
    for (int lvl = 0; lvl < 12 && lua_getstack(T, lvl, &ar); lvl++) {
        if (!lua_getinfo(T, "Sln", &ar) || ar.currentline <= 0)
            continue;
        axf_sbuf_printf(&b, "\n  %s:%d: in %s", ar.short_src, ar.currentline,
                        ar.name ? ar.name : (ar.what && !strcmp(ar.what, "main") ? "main chunk"
                                                                                   : "function"));
    }
    axf_lua_emit(h, AXF_LUA_LOG_PRINT, axf_sbuf_str(&b));
    axf_sbuf_free(&b);
}

static int step_once(axf_luahost *h, axf_err *err)
{
    if (atomic_load(&h->cancel_req)) {
        set_msg(h, "cancelled before step %d", h->steps + 1);
        axf_err_set(err, "%s", h->msg);
        axf_lua_flush_trial(h, NULL);
        finish_stopped(h, AXF_LUA_CANCELLED);
        return AXF_CANCELLED;
    }
    atomic_store(&h->state, AXF_LUA_RUNNING);
    if (!h->continuing)
        axf_sbuf_clear(&h->expl_cur);
    h->continuing = 0;
    h->paused_midstep = 0;
    int nargs = h->started ? 0 : 2;
    h->started = 1;
    int nres = 0;
    begin_script(h);
    int st = lua_resume(h->co, h->L, nargs, &nres);
    end_script(h);
    if (st == LUA_YIELD) {
        int is_step = nres == 1 && lua_touserdata(h->co, -1) == &axf_lua_step_token;
        lua_pop(h->co, nres);
        if (is_step) {
            h->steps++;
            axf_sbuf_clear(&h->expl_last);
            axf_sbuf_add(&h->expl_last, axf_sbuf_str(&h->expl_cur), h->expl_cur.n);
            axf_sbuf_clear(&h->expl_cur);
            h->msg[0] = 0;
            atomic_store(&h->state, AXF_LUA_IDLE);
            axf_lua_emit(h, AXF_LUA_LOG_STEP, axf_sbuf_str(&h->expl_last));
            return AXF_LUA_STEPPED;
        }
        /* paused mid-step (hook or interrupted evaluation): the next step carries on */
        char where[256];
        axf_lua_where(h->co, where, sizeof where);
        h->continuing = 1;
        atomic_store(&h->pause_req, 0);
        set_msg(h, "paused at %s", where);
        axf_err_set(err, "paused");
        atomic_store(&h->state, AXF_LUA_IDLE);
        return AXF_CANCELLED;
    }
    if (st == LUA_OK) {
        axf_lua_flush_trial(h, NULL);
        axf_sbuf_clear(&h->expl_last);
        axf_sbuf_add(&h->expl_last, axf_sbuf_str(&h->expl_cur), h->expl_cur.n);
        lua_settop(h->co, 0);
        set_msg(h, "done: %d step%s", h->steps, h->steps == 1 ? "" : "s");
        finish_stopped(h, AXF_LUA_DONE);
        return AXF_LUA_FINISHED;
    }
    char buf[1024];
    error_message(h, h->co, st, buf, sizeof buf);
    int cancelled = h->kill == KILL_CANCEL;
    set_msg(h, "%s", buf);
    axf_err_set(err, "%s", buf);
    axf_lua_flush_trial(h, cancelled ? "interrupted" : NULL);
    if (!cancelled) /* a cancel is asked for, not a fault: its one-line message says where */
        traceback(h, h->co);
    finish_stopped(h, cancelled ? AXF_LUA_CANCELLED : AXF_LUA_ERROR);
    return cancelled ? AXF_CANCELLED : -1;
}

static int not_idle(axf_luahost *h, axf_err *err)
{
    switch ((axf_lua_state)atomic_load(&h->state)) {
    case AXF_LUA_NONE:
        return axf_err_set(err, "no policy loaded");
    case AXF_LUA_RUNNING:
        return axf_err_set(err, "the policy is already running");
    case AXF_LUA_DONE:
        return axf_err_set(err, "the policy has finished (%s)", h->msg);
    case AXF_LUA_ERROR:
        return axf_err_set(err, "the policy stopped with an error: %s", h->msg);
    case AXF_LUA_CANCELLED:
        return axf_err_set(err, "the policy was cancelled (%s)", h->msg);
    default:
        return 0;
    }
}

int axf_luahost_step(axf_luahost *h, axf_err *err)
{
    if (not_idle(h, err))
        return -1;
    atomic_store(&h->pause_req, 0);
    return step_once(h, err);
}

int axf_luahost_step_report(axf_luahost *h, axf_lua_report *out, axf_err *err)
{
    memset(out, 0, sizeof *out);
    out->rc = axf_luahost_step(h, err);
    out->state = axf_luahost_state(h);
    if (out->rc == AXF_LUA_STEPPED && !axf_session_history_get(h->s, axf_session_cursor(h->s) - 1, &out->entry))
        out->step = axf_session_cursor(h->s);
    out->why = axf_luahost_explanation(h);
    out->message = axf_luahost_message(h);
    return out->rc;
}

int axf_luahost_run(axf_luahost *h, axf_err *err)
{
    if (not_idle(h, err))
        return -1;
    atomic_store(&h->pause_req, 0);
    atomic_store(&h->in_run, 1);
    int rc;
    for (;;) {
        rc = step_once(h, err);
        if (rc != AXF_LUA_STEPPED)
            break;
        if (atomic_exchange(&h->pause_req, 0)) {
            set_msg(h, "paused after step %d", h->steps);
            axf_err_set(err, "paused");
            rc = AXF_CANCELLED;
            break;
        }
    }
    atomic_store(&h->in_run, 0);
    return rc;
}

void axf_luahost_cancel(axf_luahost *h)
{
    atomic_store(&h->cancel_req, 1);
}

void axf_luahost_pause(axf_luahost *h)
{
    if (atomic_load(&h->state) == AXF_LUA_RUNNING || atomic_load(&h->in_run))
        atomic_store(&h->pause_req, 1);
}

axf_lua_state axf_luahost_state(const axf_luahost *h)
{
    return (axf_lua_state)atomic_load(&((axf_luahost *)h)->state);
}

const char *axf_luahost_message(const axf_luahost *h) { return h->msg; }

int axf_luahost_steps(const axf_luahost *h) { return h->steps; }

const char *axf_luahost_policy_name(const axf_luahost *h) { return h->name; }

const char *axf_luahost_policy_sha256(const axf_luahost *h) { return h->sha; }

const char *axf_luahost_explanation(const axf_luahost *h) { return axf_sbuf_str(&h->expl_last); }

/* ---- console ---- */

static int console_run(lua_State *L)
{
    axf_luahost *h = axf_lua_host(L);
    lua_call(L, 0, LUA_MULTRET); /* the compiled line is the only thing on the stack */
    int n = lua_gettop(L);
    axf_sbuf_add_values(&h->console_out, L, n);
    if (n)
        axf_sbuf_add(&h->console_out, "\n", 1);
    return 0;
}

int axf_luahost_eval(axf_luahost *h, const char *line, char **out, axf_err *err)
{
    if (out)
        *out = NULL;
    if (atomic_load(&h->state) == AXF_LUA_RUNNING)
        return axf_err_set(err, "the policy is running");
    if (!line)
        line = "";
    axf_sbuf_clear(&h->console_out);
    atomic_store(&h->cancel_req, 0);
    lua_State *L = h->L;
    int top = lua_gettop(L);
    h->in_console = 1;
    begin_script(h);
    lua_pushcfunction(L, console_run);
    axf_sbuf src = {0};
    axf_sbuf_printf(&src, "return %s", line);
    int st = luaL_loadbufferx(L, axf_sbuf_str(&src), src.n, "=console", "t");
    axf_sbuf_free(&src);
    if (st != LUA_OK) {
        lua_pop(L, 1);
        st = luaL_loadbufferx(L, line, strlen(line), "=console", "t");
    }
    if (st == LUA_OK) {
        lua_pushcfunction(L, script_msgh);
        lua_insert(L, -3);
        st = lua_pcall(L, 1, 0, -3);
    }
    end_script(h);
    h->in_console = 0;
    int rc = 0;
    if (st != LUA_OK) {
        char buf[1024];
        snprintf(h->chunk, sizeof h->chunk, "%s", h->chunk[0] ? h->chunk : "console");
        error_message(h, L, st, buf, sizeof buf);
        if (st == LUA_ERRMEM || h->kill)
            h->kill = KILL_NONE;
        axf_err_set(err, "%s", buf);
        rc = -1;
        lua_gc(L, LUA_GCCOLLECT);
    }
    lua_settop(L, top);
    atomic_store(&h->cancel_req, 0);
    if (out)
        *out = axf_xstrdup(axf_sbuf_str(&h->console_out));
    return rc;
}
