/* `axf search` end to end through the real binary: a full axformer run whose session replays;
 * --params; bad --set (exit 1) and usage errors (exit 2); a policy error (exit 1, the session so
 * far saved and loadable); Ctrl-C (SIGINT: exit 130, the committed steps saved).
 * argv[1]: the axf binary, argv[2]: the scripts folder. */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lua_testutil.h"

static const char *g_axf = "axf";
static const char *g_scripts = "scripts";
static lt_fixture g_fx;

/* "cursor" of a session file being written (-1 when absent or partial). */
static int session_cursor(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *c = strstr(buf, "\"cursor\"");
    if (!c)
        return -1;
    c += 8;
    while (*c && (*c < '0' || *c > '9'))
        c++;
    return *c ? atoi(c) : -1;
}

typedef struct run_opts {
    const char *kill_after_file; /* send sig once this session file holds two steps (+0.3 s) */
    int sig;
    atomic_int *kill_now;        /* or once this is set (another thread) */
    long fsize;                  /* RLIMIT_FSIZE of the child in bytes (0: none): a full disk */
    double deadline;             /* seconds; then SIGKILL and 124 (0: 120) */
} run_opts;

/* Runs argv with stdout+stderr through a pipe into out_path (a pipe: RLIMIT_FSIZE must not cut
 * the log); returns the exit status (128+sig when killed, 124 when past the deadline). */
static int run_ex(char *const argv[], const char *out_path, const run_opts *o)
{
    int fds[2];
    if (pipe(fds))
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0)
            _exit(127);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        if (o->fsize) {
            struct rlimit rl = {(rlim_t)o->fsize, (rlim_t)o->fsize};
            signal(SIGXFSZ, SIG_IGN); /* writes fail with EFBIG, as on a full disk */
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *log = fopen(out_path, "w");
    double t0 = axf_now(), deadline = o->deadline > 0 ? o->deadline : 120, t_ready = -1;
    int eof = 0, st = 0, done = 0, sent = 0, timed_out = 0;
    while (!done) {
        if (!eof) {
            struct pollfd pf = {fds[0], POLLIN, 0};
            if (poll(&pf, 1, 10) > 0) {
                char buf[4096];
                ssize_t n = read(fds[0], buf, sizeof buf);
                if (n > 0 && log)
                    fwrite(buf, 1, (size_t)n, log);
                else if (n <= 0)
                    eof = 1;
            }
        } else {
            struct timespec t = {0, 10000000};
            nanosleep(&t, NULL);
        }
        if (waitpid(pid, &st, WNOHANG) == pid)
            done = 1;
        double now = axf_now();
        if (!done && o->kill_now && !sent && atomic_load(o->kill_now)) {
            kill(pid, o->sig);
            sent = 1;
        }
        if (!done && o->kill_after_file && !sent) {
            if (t_ready < 0 && (session_cursor(o->kill_after_file) >= 2 || now - t0 > 30))
                t_ready = now; /* the policy is spinning 0.3 s later */
            if (t_ready >= 0 && now - t_ready > 0.3) {
                kill(pid, o->sig);
                sent = 1;
            }
        }
        if (!done && now - t0 > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            done = timed_out = 1;
        }
    }
    if (!eof) { /* the rest of the output */
        char buf[4096];
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof buf)) > 0)
            if (log)
                fwrite(buf, 1, (size_t)n, log);
    }
    close(fds[0]);
    if (log)
        fclose(log);
    if (timed_out)
        return 124;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* kill_after_file: when not NULL, SIGINT is sent once that session file holds two steps. */
static int run(char *const argv[], const char *out_path, const char *kill_after_file)
{
    run_opts o = {kill_after_file, SIGINT, NULL, 0, 0};
    return run_ex(argv, out_path, &o);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return axf_xstrdup("");
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return axf_xstrdup(buf);
}

static void path_in(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_fx.dir, name);
}

static void test_full_run(void)
{
    char policy[512], out[400], log[400];
    snprintf(policy, sizeof policy, "%s/axformer.lua", g_scripts);
    path_in(out, sizeof out, "run.json");
    path_in(log, sizeof log, "run.log");
    char *argv[] = {(char *)g_axf, "search", g_fx.model, g_fx.data, "--policy", policy,
                    "--holdout", g_fx.holdout, "--out", out, "--set", "rule=reference",
                    "--batch", "32", NULL};
    int rc = run(argv, log, NULL);
    char *text = slurp(log);
    CHECK_MSG(rc == 0, "axf search exit %d:\n%s", rc, text);
    const char *want[] = {"== AxFormer", "removed ", "search    loss ", "held-out  loss ",
                          "layer-evaluations", "saved by the cache", "session   ", "step 1: "};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_MSG(strstr(text, want[i]), "summary lacks '%s':\n%s", want[i], text);
    free(text);
    /* the session records the policy and replays */
    axf_err err;
    axf_session *s = axf_session_load(out, NULL, NULL, NULL, NULL, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (s) {
        CHECK(!strcmp(axf_session_policy_name(s), "axformer.lua"));
        char sha[65];
        axf_sha256_file(policy, sha, &err);
        CHECK(!strcmp(axf_session_policy_sha256(s), sha));
        CHECK(strstr(axf_session_policy_params(s), "\"reference\"") != NULL);
        CHECK(axf_session_history_len(s) > 0);
        axf_session_free(s);
    }
    char rlog[400];
    path_in(rlog, sizeof rlog, "replay.log");
    char *rargv[] = {(char *)g_axf, "replay", out, NULL};
    rc = run(rargv, rlog, NULL);
    text = slurp(rlog);
    CHECK_MSG(rc == 0, "axf replay exit %d:\n%s", rc, text);
    free(text);
}

static void test_bad_input(void)
{
    char policy[512], out[400], log[400], bad_policy[400];
    snprintf(policy, sizeof policy, "%s/axformer.lua", g_scripts);
    path_in(out, sizeof out, "bad.json");
    path_in(log, sizeof log, "bad.log");
    path_in(bad_policy, sizeof bad_policy, "syntax.lua");
    FILE *f = fopen(bad_policy, "w");
    fputs("params = {}\nfunction run(s, p)\n  s:apply({op = 'drop_head'\nend\n", f);
    fclose(f);
    struct {
        const char *args[6];
        int status;
        const char *expect;
    } cases[] = {
        {{"--set", "K=abc"}, 1, "parameter K is an integer (default 30)"},
        {{"--set", "Q=1"}, 1, "unknown parameter Q (declared: K, batch, eps,"},
        {{"--set", "rule=nonsense"}, 1, "rule must be reference, loss, tolerance or accuracy"},
        {{"--budget", "x"}, 2, "--budget needs an integer in 0..9e+18, not 'x'"},
        {{"--frobnicate"}, 2, "unknown option"},
        {{"--policy", "/nonexistent.lua"}, 1, "/nonexistent.lua: cannot open"},
        {{"--policy", bad_policy}, 1, "syntax.lua:4:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[20] = {(char *)g_axf, "search", g_fx.model, g_fx.data, "--policy", policy,
                          "--out", out};
        int n = 8;
        for (int k = 0; k < 6 && cases[i].args[k]; k++)
            argv[n++] = (char *)cases[i].args[k];
        argv[n] = NULL;
        int rc = run(argv, log, NULL);
        char *text = slurp(log);
        CHECK_MSG(rc == cases[i].status && strstr(text, cases[i].expect),
                  "case %zu: exit %d (want %d), output:\n%s", i, rc, cases[i].status, text);
        free(text);
    }
    char *argv[] = {(char *)g_axf, "search", g_fx.model, NULL};
    CHECK(run(argv, log, NULL) == 2);
    char *hargv[] = {(char *)g_axf, "search", "--help", NULL};
    CHECK(run(hargv, log, NULL) == 0);
    char *text = slurp(log);
    CHECK(strstr(text, "--policy FILE") != NULL);
    free(text);
    char *pargv[] = {(char *)g_axf, "search", g_fx.model, g_fx.data, "--policy", policy,
                     "--params", NULL};
    CHECK(run(pargv, log, NULL) == 0);
    text = slurp(log);
    CHECK_MSG(strstr(text, "near_miss") && strstr(text, "default 1.1"), "%s", text);
    free(text);
}

/* argv (its slot after "--out" NULL) interrupted by sig once two steps are saved: exit 128+sig
 * within a minute, "interrupted" and where, and both steps in the session file. */
static void check_interrupt(char **argv, int sig, const char *where)
{
    char out[400], log[400];
    path_in(out, sizeof out, "int.json");
    path_in(log, sizeof log, "int.log");
    unlink(out);
    int i = 0;
    while (argv[i])
        i++;
    argv[i] = out;
    run_opts o = {out, sig, NULL, 0, 60};
    int rc = run_ex(argv, log, &o);
    argv[i] = NULL;
    char *text = slurp(log);
    CHECK_MSG(rc == 128 + sig && strstr(text, "interrupted") && strstr(text, where),
              "signal %d: exit %d, want %d and '%s':\n%s", sig, rc, 128 + sig, where, text);
    free(text);
    axf_err err;
    axf_session *s = axf_session_load(out, NULL, NULL, NULL, NULL, &err);
    CHECK_MSG(s && axf_session_history_len(s) == 2, "signal %d: %s", sig,
              s ? "wrong history" : err.msg);
    axf_session_free(s);
}

static void test_error_and_interrupt(void)
{
    char policy[400], out[400], log[400];
    path_in(policy, sizeof policy, "two_then_fail.lua");
    FILE *f = fopen(policy, "w");
    fputs("params = {fail = true}\n"
          "function run(s, p)\n"
          "  s:apply({op = 'drop_head', layer = 3, head = 0})\n"
          "  s:apply({op = 'drop_head', layer = 3, head = 1})\n"
          "  if p.fail then error('boom') end\n"
          "  while true do end\n"
          "end\n",
          f);
    fclose(f);
    path_in(out, sizeof out, "fail.json");
    path_in(log, sizeof log, "fail.log");
    char *argv[] = {(char *)g_axf, "search", g_fx.model, g_fx.data, "--policy", policy,
                    "--out", out, NULL};
    int rc = run(argv, log, NULL);
    char *text = slurp(log);
    CHECK_MSG(rc == 1 && strstr(text, "two_then_fail.lua:5: boom") &&
                  strstr(text, "session so far saved"),
              "exit %d:\n%s", rc, text);
    free(text);
    axf_err err;
    axf_session *s = axf_session_load(out, NULL, NULL, NULL, NULL, &err);
    CHECK_MSG(s && axf_session_history_len(s) == 2, "%s", s ? "wrong history" : err.msg);
    axf_session_free(s);

    /* Ctrl-C while the policy spins after two steps (no budget): 130, both steps saved */
    char *iargv[] = {(char *)g_axf, "search", g_fx.model, g_fx.data, "--policy", policy,
                     "--set", "fail=false", "--budget", "0", "--lua-seconds", "0", "--out", NULL,
                     NULL};
    check_interrupt(iargv, SIGINT, "two_then_fail.lua:6");
    /* SIGTERM saves like Ctrl-C: 143 */
    check_interrupt(iargv, SIGTERM, "two_then_fail.lua:6");

    /* Ctrl-C reaches a message handler that never returns (no budget, no time limit) */
    char hpolicy[400];
    path_in(hpolicy, sizeof hpolicy, "two_then_handler.lua");
    f = fopen(hpolicy, "w");
    fputs("function run(s, p)\n"
          "  s:apply({op = 'drop_head', layer = 3, head = 0})\n"
          "  s:apply({op = 'drop_head', layer = 3, head = 1})\n"
          "  xpcall(function() error('x') end, function(e)\n"
          "    while true do end\n"
          "  end)\n"
          "end\n",
          f);
    fclose(f);
    char *hargv[] = {(char *)g_axf, "search", g_fx.model, g_fx.data, "--policy", hpolicy,
                     "--budget", "0", "--lua-seconds", "0", "--out", NULL, NULL};
    check_interrupt(hargv, SIGINT, "two_then_handler.lua:5: cancelled");
}

/* An --out that cannot be written: refused before the first evaluation (exit 1, the file and the
 * OS error), or, when the disk fills up later, exit 1 naming the file (not "interrupted"). */
static void test_write_failures(void)
{
    char policy[400], log[400], dir[400], ro[400], out[500];
    path_in(policy, sizeof policy, "one_step.lua");
    FILE *f = fopen(policy, "w");
    fputs("function run(s, p)\n  s:apply({op = 'drop_head', layer = 3, head = 0})\nend\n", f);
    fclose(f);
    path_in(log, sizeof log, "write.log");
    path_in(dir, sizeof dir, "adir");
    mkdir(dir, 0777);
    path_in(ro, sizeof ro, "readonly");
    mkdir(ro, 0555);
    chmod(ro, 0555);
    char ro_out[500];
    /* root writes into a 0555 folder anyway: sysfs refuses root too */
    snprintf(ro_out, sizeof ro_out, "%s", geteuid() == 0 ? "/sys/axf_session.json" : "");
    if (!ro_out[0])
        snprintf(ro_out, sizeof ro_out, "%s/x.json", ro);
    char missing[500];
    snprintf(missing, sizeof missing, "%s/no/such/folder/x.json", g_fx.dir);
    struct {
        const char *out;
        const char *expect;
    } cases[] = {
        {dir, "adir: is a directory"},
        {missing, "x.json: cannot write: No such file or directory"},
        {ro_out, "cannot write: Permission denied"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[] = {(char *)g_axf, "search", g_fx.model, g_fx.data, "--policy", policy,
                        "--out", (char *)cases[i].out, NULL};
        int rc = run(argv, log, NULL);
        char *text = slurp(log);
        CHECK_MSG(rc == 1 && strstr(text, cases[i].expect) && strstr(text, cases[i].out) &&
                      !strstr(text, "search: ") && !strstr(text, "interrupted"),
                  "--out %s: exit %d, want 1, '%s' and no evaluation:\n%s", cases[i].out, rc,
                  cases[i].expect, text);
        free(text);
    }
    /* the disk fills up at the first save (RLIMIT_FSIZE: a session is ~1.8 kB) */
    path_in(out, sizeof out, "full.json");
    char *argv[] = {(char *)g_axf, "search", g_fx.model, g_fx.data, "--policy", policy, "--out",
                    out, NULL};
    run_opts full = {NULL, 0, NULL, 1000, 60};
    int rc = run_ex(argv, log, &full);
    char *text = slurp(log);
    CHECK_MSG(rc == 1 && strstr(text, "full.json: cannot write: File too large") &&
                  strstr(text, "not saved") && !strstr(text, "interrupted"),
              "full disk: exit %d:\n%s", rc, text);
    free(text);
    CHECK(access(out, F_OK) != 0);
}

typedef struct writer_a {
    char *argv[16];
    const char *log;
    atomic_int stop;
    int rc;
} writer_a;

static void *run_writer_a(void *ud)
{
    writer_a *a = ud;
    run_opts o = {NULL, SIGINT, &a->stop, 0, 120};
    a->rc = run_ex(a->argv, a->log, &o);
    return NULL;
}

/* Two runs writing the same --out: the second replaces the first's file while the first is
 * still running; the first notices at its next save, leaves the file to the other run and keeps
 * its own session beside it (exit 1, both named). */
static void test_two_writers(void)
{
    char spin[400], one[400], out[400], log[400], log2[400];
    path_in(spin, sizeof spin, "two_then_fail.lua"); /* with fail=false: spins after two steps */
    path_in(one, sizeof one, "one_step.lua");
    path_in(out, sizeof out, "shared.json");
    path_in(log, sizeof log, "writer_a.log");
    path_in(log2, sizeof log2, "writer_b.log");
    unlink(out);
    /* A: two steps, then spins until interrupted; B runs to its end meanwhile */
    writer_a a = {{(char *)g_axf, "search", g_fx.model, g_fx.data, "--policy", spin, "--set",
                   "fail=false", "--budget", "0", "--lua-seconds", "0", "--out", out, NULL},
                  log, 0, 0};
    atomic_init(&a.stop, 0);
    pthread_t t;
    pthread_create(&t, NULL, run_writer_a, &a);
    for (int i = 0; i < 3000 && session_cursor(out) < 2; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    char *bargv[] = {(char *)g_axf, "search", g_fx.model, g_fx.data, "--policy", one, "--out", out,
                     NULL};
    int rc_b = run(bargv, log2, NULL);
    CHECK_MSG(rc_b == 0, "writer B: exit %d", rc_b);
    CHECK(session_cursor(out) == 1);
    atomic_store(&a.stop, 1); /* Ctrl-C to A: its final save finds B's file */
    pthread_join(t, NULL);
    int rc_a = a.rc;
    char *text = slurp(log);
    char beside[500];
    snprintf(beside, sizeof beside, "%s/shared-", g_fx.dir);
    CHECK_MSG(rc_a == 1 && strstr(text, "shared.json: replaced by another writer") &&
                  strstr(text, "this run's session is saved to") && strstr(text, beside),
              "writer A: exit %d:\n%s", rc_a, text);
    CHECK(session_cursor(out) == 1); /* B's session, untouched */
    const char *p = strstr(text, "saved to ");
    if (p) {
        char path[500];
        sscanf(p + 9, "%499s", path);
        CHECK_MSG(session_cursor(path) == 2, "A's session beside: %s", path);
        unlink(path);
    }
    free(text);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_axf = argv[1];
    if (argc > 2)
        g_scripts = argv[2];
    axf_set_threads(1);
    if (lt_fixture_make(&g_fx, 4, 32, 4, 64, 300, 11)) {
        fprintf(stderr, "cannot build the fixture\n");
        return 1;
    }
    test_full_run();
    test_bad_input();
    test_error_and_interrupt();
    test_write_failures();
    test_two_writers();
    if (!getenv("AXF_KEEP_FIXTURE"))
        lt_fixture_remove(&g_fx);
    return CHECK_DONE();
}
