/* The sandbox holds: escape attempts are refused, runaway scripts (infinite loops, loops that
 * swallow their own stop, memory bombs, C-side spins) are stopped with a message naming chunk
 * and line, cancel and pause work from another thread, and the host stays usable afterwards.
 * argv[1]: tests/lua (fixture policies). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lua_testutil.h"

static const char *g_dir = "tests/lua";

static int load_file(axf_luahost *h, const char *name, const char *const *sets, int n,
                     axf_err *err)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    return axf_luahost_load(h, path, sets, n, err);
}

/* The host still answers a console line after whatever happened. */
static void check_alive(axf_luahost *h, const char *after)
{
    char *out = NULL;
    axf_err err;
    int rc = axf_luahost_eval(h, "1 + 1", &out, &err);
    CHECK_MSG(rc == 0 && out && !strcmp(out, "2\n"), "host dead after %s: %s", after,
              rc ? err.msg : out);
    free(out);
}

/* ---- escapes: each snippet either raises or returns something without "ESCAPED" ---- */

static const char *const escapes[] = {
    "io.open('/etc/passwd')",
    "os.execute('touch /tmp/axf_escaped')",
    "os.getenv('HOME')",
    "require('io')",
    "package.loadlib('libc.so.6', 'system')",
    "debug.getregistry()",
    "debug.sethook()",
    "dofile('/etc/passwd')",
    "loadfile('/etc/passwd')",
    "load(string.dump(function() end))",
    "load('\\27Lua\\84\\0', 'x', 'b')",
    "assert(load('\\27Lua\\84\\0\\25\\147\\r\\n\\26\\n'))()",
    "load(function() local d = '\\27LuaT' ; local r = d ; d = nil ; return r end)()",
    "collectgarbage('stop')",
    "collectgarbage()",
    "collectgarbage('step', 1000)",
    "setmetatable(s, {})",
    "(function() local m = getmetatable('') ; if type(m) == 'table' then return 'ESCAPED' end "
    "return m.__index.rep end)()",
    "(function() local m = getmetatable(s) ; if type(m) == 'table' then return 'ESCAPED' end "
    "return m.__index end)()",
    "setmetatable({}, {__gc = function() end})",
    "rawget(_G, 'io') or rawget(_G, 'os') or error('nothing here')",
    "_ENV.io.open('/etc/passwd')",
    "(function() local _ENV = {print = print} ; return io.open end)()",
    "load('return io', 'x', 't', _G)() or error('no io')",
    "load('return os', 'x', 't', setmetatable({}, {__index = _G}))() or error('no os')",
    "string.rep('x', 1e10)",
    "string.rep('x', 2^62)",
    "string.find(string.rep('a', 5000), string.rep('a*', 20) .. 'b')",
    "string.gsub(string.rep('ab', 40000), '(.-)x', '')",
    "table.remove(setmetatable({}, {__len = function() return 1e15 end}), 1)",
    "table.insert(setmetatable({}, {__len = function() return 1e15 end}), 1, 'x')",
    "table.move({}, 1, 1e15, 2)",
    "table.concat(setmetatable({}, {__index = function() return 'x' end}), '', 1, 1e12)",
    "coroutine.yield()",
    "s.apply({op = 'drop_head', layer = 0, head = 0})",
    "s:apply(setmetatable({}, {__index = function() error('metamethod ran') end}))",
    "string.dump",
    "utf8.char(-1)",
    "axf.log(setmetatable({}, {__tostring = function() return io.open end}))",
    "next(s)",
};

static void test_escapes(axf_session *s)
{
    axf_luahost *h = lt_host(s, NULL, 5000000, 64u << 20);
    int refused = 0, n = (int)(sizeof escapes / sizeof escapes[0]);
    for (int i = 0; i < n; i++) {
        char *out = NULL;
        axf_err err;
        double t0 = axf_now();
        int rc = axf_luahost_eval(h, escapes[i], &out, &err);
        double dt = axf_now() - t0;
        int escaped = rc == 0 && out && (strstr(out, "ESCAPED") || strstr(out, "function: builtin"));
        CHECK_MSG(!escaped, "escape %d succeeded: %s -> %s", i, escapes[i], out);
        CHECK_MSG(dt < 5, "escape %d took %.1fs: %s", i, dt, escapes[i]);
        if (rc != 0) {
            refused++;
            CHECK_MSG(strncmp(err.msg, "console", 7) == 0 || strstr(err.msg, "memory") ||
                          strstr(err.msg, "budget"),
                      "escape %d: message should name the chunk: %s", i, err.msg);
        } else {
            fprintf(stderr, "  (ran harmlessly) %s -> %s", escapes[i], out);
        }
        free(out);
    }
    fprintf(stderr, "%d of %d escape attempts refused with an error\n", refused, n);
    CHECK(refused >= 30);
    CHECK(access("/tmp/axf_escaped", F_OK) != 0);

    /* Nothing dangerous is reachable from any table the sandbox can walk. */
    const char *scan =
        "(function() local bad = {io=1, os=1, debug=1, package=1, require=1, dofile=1, "
        "loadfile=1, dump=1, loadlib=1, getregistry=1, sethook=1, warn=1} "
        "local seen, found, queue = {}, {}, {_G, string, table, math, utf8, coroutine, axf} "
        "while #queue > 0 do local t = table.remove(queue) "
        "  if not seen[t] then seen[t] = true "
        "    for k, v in pairs(t) do if bad[k] then found[#found + 1] = tostring(k) end "
        "      if type(v) == 'table' then queue[#queue + 1] = v end end end end "
        "return #found == 0 and 'clean' or table.concat(found, ',') end)()";
    char *out = NULL;
    axf_err err;
    int rc = axf_luahost_eval(h, scan, &out, &err);
    CHECK_MSG(rc == 0 && out && !strcmp(out, "clean\n"), "reachable: %s", rc ? err.msg : out);
    free(out);
    /* collectgarbage("count") is allowed, and a legit load of text works in the sandbox */
    rc = axf_luahost_eval(h, "type(collectgarbage('count')) .. load('return 6*7')()", &out, &err);
    CHECK_MSG(rc == 0 && !strcmp(out, "number42\n"), "%s", rc ? err.msg : out);
    free(out);
    check_alive(h, "escapes");
    axf_luahost_free(h);
}

/* ---- runaway policies ---- */

static void test_runaway(axf_session *s)
{
    struct {
        const char *file;
        const char *expect;
        long long budget;
        size_t mem;
    } cases[] = {
        {"infinite_loop.lua", "infinite_loop.lua:6: instruction budget exceeded", 20000000, 0},
        {"pcall_swallow.lua", "instruction budget exceeded", 20000000, 0},
        {"memory_bomb.lua", "memory_bomb.lua:7: memory cap exceeded (32 MiB)", 0, 32u << 20},
        {"nested_commit.lua", "commit from the policy itself", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_log log = {0};
        axf_luahost *h = lt_host(s, &log, cases[i].budget, cases[i].mem);
        axf_err err;
        int rc = load_file(h, cases[i].file, NULL, 0, &err);
        CHECK_MSG(rc == 0, "%s: %s", cases[i].file, err.msg);
        double t0 = axf_now();
        rc = axf_luahost_step(h, &err);
        double dt = axf_now() - t0;
        CHECK_MSG(rc == -1, "%s: step returned %d", cases[i].file, rc);
        CHECK_MSG(strstr(err.msg, cases[i].expect) != NULL, "%s: message '%s', expected '%s'",
                  cases[i].file, err.msg, cases[i].expect);
        CHECK(axf_luahost_state(h) == AXF_LUA_ERROR);
        CHECK(!strcmp(axf_luahost_message(h), err.msg));
        CHECK(log.status == 1);
        CHECK_MSG(dt < 10, "%s: took %.1fs to stop", cases[i].file, dt);
        fprintf(stderr, "%-18s stopped in %.2fs: %s\n", cases[i].file, dt, err.msg);
        rc = axf_luahost_step(h, &err);
        CHECK(rc == -1 && strstr(err.msg, "stopped with an error"));
        check_alive(h, cases[i].file);
        axf_luahost_free(h);
    }
    /* the same from the console */
    axf_luahost *h = lt_host(s, NULL, 10000000, 16u << 20);
    char *out = NULL;
    axf_err err;
    int rc = axf_luahost_eval(h, "while true do end", &out, &err);
    CHECK_MSG(rc == -1 && strstr(err.msg, "console:1: instruction budget exceeded"), "%s", err.msg);
    free(out);
    rc = axf_luahost_eval(h, "local t = {} for i = 1, 1e9 do t[i] = i end", &out, &err);
    CHECK_MSG(rc == -1 && strstr(err.msg, "memory cap exceeded (16 MiB)"), "%s", err.msg);
    free(out);
    check_alive(h, "console runaway");
    axf_luahost_free(h);
}

/* ---- runaways that hooks alone did not stop, each in a child process with a deadline ---- */

typedef struct {
    axf_luahost *h;
    int what; /* 0 cancel, 1 pause */
    double delay;
    axf_session *s;   /* not NULL: first wait (up to 120 s) until it has more than `trials` trials */
    int trials;
} poker;
static void *poke(void *ud);

/* One case in a child (fork: a case that hangs must fail the test, not hang it). The child runs
 * the case's checks and exits with their status; 0 when it finished in time and passed. */
static int run_with_deadline(const char *name, double deadline, void (*fn)(axf_session *),
                             axf_session *s)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        fn(s);
        _exit(check_failures ? 1 : 0);
    }
    double t0 = axf_now();
    int st = 0;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (axf_now() - t0 > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            CHECK_MSG(0, "%s: still running after %.0f s (killed)", name, deadline);
            return -1;
        }
        struct timespec t = {0, 20000000};
        nanosleep(&t, NULL);
    }
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: failed in the child (status %d)", name,
              st);
    fprintf(stderr, "%-22s done in %.2fs\n", name, axf_now() - t0);
    return 0;
}

/* Stops with the default budget and time limit, within a few seconds, naming chunk and line. */
static void stop_case(axf_session *s, const char *file, const char *where, const char *what)
{
    lt_log log = {0};
    axf_luahost *h = lt_host(s, &log, -1, 0);
    axf_err err;
    CHECK_MSG(load_file(h, file, NULL, 0, &err) == 0, "%s: %s", file, err.msg);
    double t0 = axf_now();
    int rc = axf_luahost_step(h, &err);
    double dt = axf_now() - t0;
    CHECK_MSG(rc == -1 && strstr(err.msg, where) && strstr(err.msg, what),
              "%s: rc %d, message '%s', expected '%s' and '%s'", file, rc, err.msg, where, what);
    CHECK_MSG(dt < 8, "%s: took %.1fs to stop", file, dt);
    fprintf(stderr, "%-22s stopped in %.2fs: %s\n", file, dt, err.msg);
    check_alive(h, file);
    axf_luahost_free(h);
}

static void case_handler_loop(axf_session *s)
{
    stop_case(s, "handler_loop.lua", "handler_loop.lua:6:", "exceeded");
}

static void case_overflow_loop(axf_session *s)
{
    stop_case(s, "overflow_loop.lua", "overflow_loop.lua:", "exceeded");
}

static void case_handler_overflow(axf_session *s)
{
    stop_case(s, "handler_overflow.lua", "handler_overflow.lua:", "exceeded");
}

static void case_close_loop(axf_session *s)
{
    stop_case(s, "close_loop.lua", "close_loop.lua:7:", "exceeded");
}

/* Cancel (Ctrl-C) reaches a looping message handler with no budget and no time limit. */
static void case_cancel_handler(axf_session *s)
{
    axf_luahost_opts o = axf_luahost_opts_default();
    o.budget = 0;
    o.seconds = 0;
    axf_err err;
    axf_luahost *h = axf_luahost_new(s, &o, &err);
    CHECK(load_file(h, "handler_loop.lua", NULL, 0, &err) == 0);
    poker p = {h, 0, 0.3, NULL, 0};
    pthread_t t;
    pthread_create(&t, NULL, poke, &p);
    double t0 = axf_now();
    int rc = axf_luahost_step(h, &err);
    double dt = axf_now() - t0;
    pthread_join(t, NULL);
    CHECK_MSG(rc == AXF_CANCELLED && strstr(err.msg, "handler_loop.lua:6: cancelled"),
              "cancel in a handler: %d %s", rc, err.msg);
    CHECK_MSG(dt < 3, "cancel took %.1fs", dt);
    check_alive(h, "cancel in a handler");
    axf_luahost_free(h);
}

/* A coroutine stopped by the budget is not closed later from the console (its __close would
 * run with hooks off). */
static void case_console_close(axf_session *s)
{
    axf_luahost *h = lt_host(s, NULL, 10000000, 0);
    char *out = NULL;
    axf_err err;
    int rc = axf_luahost_eval(h, "co = coroutine.create(function() local y <close> = "
                                 "setmetatable({}, {__close = function() while true do end end}) "
                                 "while true do end end)", &out, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    free(out);
    rc = axf_luahost_eval(h, "coroutine.resume(co)", &out, &err);
    CHECK_MSG(rc == -1 && strstr(err.msg, "instruction budget exceeded"), "%s", err.msg);
    free(out);
    rc = axf_luahost_eval(h, "coroutine.close(co)", &out, &err);
    CHECK_MSG(rc == 0 && out && strstr(out, "false") && strstr(out, "stopped by the host"), "%s",
              rc ? err.msg : out);
    free(out);
    /* an ordinary error still closes a wrapped coroutine, with the caller's position */
    rc = axf_luahost_eval(h, "closed = false ; print(pcall(coroutine.wrap(function() "
                             "local x <close> = setmetatable({}, {__close = function() closed = "
                             "true end}) error('boom') end))) ; return closed, "
                             "coroutine.wrap(function(a) local b = coroutine.yield(a + 1) "
                             "return b * 2 end)(3)", &out, &err);
    CHECK_MSG(rc == 0 && out && !strcmp(out, "false\tconsole:1: boom\ntrue\t4\n"), "%s",
              rc ? err.msg : out);
    free(out);
    check_alive(h, "console close");
    axf_luahost_free(h);
}

/* Time inside evaluations is not the script's: a policy whose evaluations take longer than the
 * time limit (the progress callback sleeps) runs to its end. */
static int sleepy_progress(double done, double total, void *ud)
{
    (void)done;
    (void)total;
    (*(int *)ud)++;
    struct timespec t = {0, 60000000};
    nanosleep(&t, NULL);
    return 0;
}

static void case_time_excludes_evals(axf_session *s)
{
    axf_luahost_opts o = axf_luahost_opts_default();
    o.seconds = 0.3;
    int calls = 0;
    o.progress = sleepy_progress;
    o.progress_ud = &calls;
    axf_err err;
    axf_luahost *h = axf_luahost_new(s, &o, &err);
    const char *src = "function run(s, p) for l = 0, 1 do for h = 0, 3 do "
                      "s:try({op = 'drop_head', layer = l, head = h}) end "
                      "s:try({op = 'drop_ffn', layer = l}) end end";
    CHECK(lt_load(h, "evals.lua", src, NULL, 0, &err) == 0);
    double t0 = axf_now();
    int rc = axf_luahost_step(h, &err);
    double dt = axf_now() - t0;
    CHECK_MSG(rc == AXF_LUA_FINISHED, "%d %s", rc, err.msg);
    CHECK_MSG(dt > 0.3 && calls >= 10, "the evaluations took %.2fs (%d progress calls): the "
              "case does not test anything", dt, calls);
    axf_luahost_free(h);
}

static void test_runaway_deadline(axf_session *s)
{
    run_with_deadline("handler_loop.lua", 25, case_handler_loop, s);
    run_with_deadline("overflow_loop.lua", 25, case_overflow_loop, s);
    run_with_deadline("handler_overflow.lua", 25, case_handler_overflow, s);
    run_with_deadline("close_loop.lua", 25, case_close_loop, s);
    run_with_deadline("cancel in a handler", 10, case_cancel_handler, s);
    run_with_deadline("console close", 10, case_console_close, s);
    run_with_deadline("time limit and evals", 30, case_time_excludes_evals, s);
}

/* ---- cancel and pause from another thread ---- */

static void *poke(void *ud)
{
    poker *p = ud;
    struct timespec ts = {0, (long)(p->delay * 1e9)};
    /* wait until the step is really running, then poke */
    for (int i = 0; i < 2000 && axf_luahost_state(p->h) != AXF_LUA_RUNNING; i++) {
        struct timespec t1 = {0, 1000000};
        nanosleep(&t1, NULL);
    }
    for (int i = 0; p->s && i < 12000 && axf_session_trials_len(p->s) <= p->trials; i++) {
        struct timespec t1 = {0, 10000000};
        nanosleep(&t1, NULL);
    }
    nanosleep(&ts, NULL);
    if (p->what)
        axf_luahost_pause(p->h);
    else
        axf_luahost_cancel(p->h);
    return NULL;
}

static int step_with_poke_s(axf_luahost *h, int what, double delay, axf_session *s, int trials, axf_err *err)
{
    poker p = {h, what, delay, s, trials};
    pthread_t t;
    pthread_create(&t, NULL, poke, &p);
    int rc = axf_luahost_step(h, err);
    pthread_join(t, NULL);
    return rc;
}

static int step_with_poke(axf_luahost *h, int what, double delay, axf_err *err)
{
    return step_with_poke_s(h, what, delay, NULL, 0, err);
}

static void test_cancel_pause(axf_session *s)
{
    axf_err err;
    /* cancel a pure-Lua loop (no budget): one line says where, no stack trace is logged (a cancel
     * is asked for, not a fault) */
    static lt_log log;
    axf_luahost *h = lt_host(s, &log, 0, 0);
    CHECK(load_file(h, "infinite_loop.lua", NULL, 0, &err) == 0);
    int rc = step_with_poke(h, 0, 0.05, &err);
    CHECK_MSG(rc == AXF_CANCELLED && strstr(err.msg, "infinite_loop.lua:") &&
                  strstr(err.msg, "cancelled"),
              "cancel loop: %d %s", rc, err.msg);
    CHECK(axf_luahost_state(h) == AXF_LUA_CANCELLED);
    CHECK_MSG(!strstr(log.buf, "stack:") && log.prints == 0, "the cancel logged a trace: %s", log.buf);
    CHECK(!strchr(axf_luahost_message(h), '\n'));
    check_alive(h, "cancel");

    /* cancel inside evaluations: a policy that only tries */
    const char *tryer = "function run(s, p) while true do "
                        "s:try({op = 'drop_ffn', layer = 0}) end end";
    int hist = axf_session_history_len(s), trials = axf_session_trials_len(s);
    CHECK(lt_load(h, "tryer.lua", tryer, NULL, 0, &err) == 0);
    /* cancel once a trial is recorded (a fixed delay raced the first evaluation on a loaded machine
     * under the sanitisers) */
    rc = step_with_poke_s(h, 0, 0.05, s, trials, &err);
    CHECK_MSG(rc == AXF_CANCELLED && strstr(err.msg, "tryer.lua:1: cancelled"), "%d %s", rc,
              err.msg);
    CHECK(axf_session_history_len(s) == hist); /* nothing committed */
    CHECK(axf_session_trials_len(s) > trials);

    /* pause mid-step in pure Lua, then carry on: the loop's state survives */
    const char *counter = "n = 0 function run(s, p) for i = 1, 1e7 do n = i end "
                          "s:apply({op = 'drop_head', layer = 0, head = 1}, 'after the loop') end";
    CHECK(lt_load(h, "counter.lua", counter, NULL, 0, &err) == 0);
    rc = step_with_poke(h, 1, 0.02, &err);
    char *out = NULL;
    if (rc == AXF_CANCELLED) {
        CHECK(axf_luahost_state(h) == AXF_LUA_IDLE);
        CHECK(strstr(axf_luahost_message(h), "paused at counter.lua:1") != NULL);
        axf_luahost_eval(h, "n > 0 and n < 1e7", &out, &err);
        CHECK_MSG(out && !strcmp(out, "true\n"), "paused loop: %s", out);
        free(out);
        rc = axf_luahost_step(h, &err);
    } else {
        fprintf(stderr, "note: the loop finished before the pause arrived\n");
    }
    CHECK_MSG(rc == AXF_LUA_STEPPED, "after pause: %d %s", rc, err.msg);
    CHECK(axf_session_history_len(s) == hist + 1);
    rc = axf_luahost_step(h, &err);
    CHECK(rc == AXF_LUA_FINISHED);
    axf_session_undo(s, &err);

    /* pause during an evaluation: the interrupted trial is redone on resume */
    const char *tries = "function run(s, p) for i = 1, 200 do "
                        "s:try({op = 'drop_ffn', layer = 0}) end "
                        "s:apply({op = 'drop_ffn', layer = 0}) end";
    CHECK(lt_load(h, "tries.lua", tries, NULL, 0, &err) == 0);
    trials = axf_session_trials_len(s);
    int pauses = 0;
    while ((rc = step_with_poke(h, 1, 0.05, &err)) == AXF_CANCELLED && pauses < 5000)
        pauses++; /* every pause lets the policy run 50 ms, so this always ends */
    CHECK_MSG(rc == AXF_LUA_STEPPED, "%d %s", rc, err.msg);
    CHECK_MSG(axf_session_trials_len(s) - trials == 200, "%d trials after %d pauses",
              axf_session_trials_len(s) - trials, pauses);
    fprintf(stderr, "200 trials and a commit across %d pauses\n", pauses);
    CHECK(axf_luahost_step(h, &err) == AXF_LUA_FINISHED);
    axf_session_undo(s, &err);

    /* a cancel asked between steps stops the policy before its next step */
    CHECK(lt_load(h, "counter.lua", counter, NULL, 0, &err) == 0);
    axf_luahost_cancel(h);
    rc = axf_luahost_step(h, &err);
    CHECK(rc == AXF_CANCELLED && axf_luahost_state(h) == AXF_LUA_CANCELLED);
    axf_luahost_free(h);
}

/* ---- coroutine abuse around the policy's own coroutine ---- */

static void test_coroutines(axf_session *s)
{
    axf_err err;
    axf_luahost *h = lt_host(s, NULL, 50000000, 0);
    const char *src =
        "function run(s, p) me = coroutine.running() "
        "  local ok, e = pcall(coroutine.yield, 'fake step') ; yield_err = e "
        "  local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) "
        "  inner = co(1) + co(10) "
        "  s:apply({op = 'drop_head', layer = 1, head = 0}) "
        "  s:apply({op = 'drop_head', layer = 1, head = 1}) end";
    CHECK(lt_load(h, "co.lua", src, NULL, 0, &err) == 0);
    int rc = axf_luahost_step(h, &err);
    CHECK_MSG(rc == AXF_LUA_STEPPED, "%s", err.msg);
    char *out = NULL;
    const char *lines[] = {"coroutine.resume(me)", "coroutine.close(me)",
                           "coroutine.wrap(function() coroutine.resume(me) end)()"};
    for (int i = 0; i < 3; i++) {
        rc = axf_luahost_eval(h, lines[i], &out, &err);
        CHECK_MSG(rc == -1 && strstr(err.msg, "run by the host"), "%s -> %s", lines[i],
                  rc ? err.msg : out);
        free(out);
    }
    axf_luahost_eval(h, "inner, yield_err", &out, &err);
    CHECK_MSG(out && strstr(out, "22\t") && strstr(out, "host's coroutine"), "%s", out);
    free(out);
    CHECK(axf_luahost_step(h, &err) == AXF_LUA_STEPPED); /* the policy still runs normally */
    CHECK(axf_luahost_step(h, &err) == AXF_LUA_FINISHED);
    axf_session_undo(s, &err);
    axf_session_undo(s, &err);
    axf_luahost_free(h);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_dir = argv[1];
    axf_set_threads(1);
    unlink("/tmp/axf_escaped");
    lt_fixture fx;
    if (lt_fixture_make(&fx, 2, 32, 4, 64, 200, 3)) {
        fprintf(stderr, "cannot build the fixture\n");
        return 1;
    }
    axf_session *s = lt_open(&fx);
    if (!s)
        return 1;
    test_escapes(s);
    test_runaway(s);
    test_runaway_deadline(s);
    test_cancel_pause(s);
    test_coroutines(s);
    CHECK(axf_session_history_len(s) >= 0);
    axf_session_free(s);
    lt_fixture_remove(&fx);
    return CHECK_DONE();
}
