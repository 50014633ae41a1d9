/* `axf search` end to end through the real binary: a full axformer run whose session replays;
 * --params; bad --set (exit 1) and usage errors (exit 2); a policy error (exit 1, the session so
 * far saved and loadable); Ctrl-C (SIGINT: exit 130, the committed steps saved).
 * argv[1]: the axf binary, argv[2]: the scripts folder. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Runs argv with stdout+stderr to out_path; returns the exit status (128+sig when killed).
 * kill_after_file: when not NULL, SIGINT is sent once that session file holds two steps. */
static int run(char *const argv[], const char *out_path, const char *kill_after_file)
{
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(out_path, "w", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0)
            _exit(127);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (kill_after_file) {
        for (int i = 0; i < 3000; i++) { /* up to 30 s, until the file holds 2 steps */
            if (session_cursor(kill_after_file) >= 2)
                break;
            struct timespec t = {0, 10000000};
            nanosleep(&t, NULL);
        }
        struct timespec t = {0, 300000000}; /* the policy is spinning by now */
        nanosleep(&t, NULL);
        kill(pid, SIGINT);
    }
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
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
        {{"--set", "Q=1"}, 1, "unknown parameter Q (declared: K, eps,"},
        {{"--set", "rule=nonsense"}, 1, "rule must be reference, loss, tolerance or accuracy"},
        {{"--budget", "x"}, 2, "bad value for --budget"},
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
    char out2[400];
    path_in(out2, sizeof out2, "int.json");
    unlink(out2);
    char *iargv[] = {(char *)g_axf, "search", g_fx.model, g_fx.data, "--policy", policy,
                     "--set", "fail=false", "--budget", "0", "--out", out2, NULL};
    rc = run(iargv, log, out2);
    text = slurp(log);
    CHECK_MSG(rc == 130 && strstr(text, "interrupted") && strstr(text, "two_then_fail.lua:6"),
              "exit %d:\n%s", rc, text);
    free(text);
    s = axf_session_load(out2, NULL, NULL, NULL, NULL, &err);
    CHECK_MSG(s && axf_session_history_len(s) == 2, "%s", s ? "wrong history" : err.msg);
    axf_session_free(s);
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
    lt_fixture_remove(&g_fx);
    return CHECK_DONE();
}
