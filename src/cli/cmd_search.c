/* `axf search MODEL_DIR DATA --policy FILE --out SESSION.json`: runs a Lua policy headless over a
 * session, saving the session after every committed step (atomic write), so an interrupt or a
 * policy error loses nothing. Ctrl-C or SIGTERM cancels through the host's atomic flag (the
 * handler never touches Lua or the session), the session so far is saved and the exit status is
 * 130 (143 for SIGTERM). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axf/dist.h"
#include "axf/fileio.h"
#include "axf/luahost.h"
#include "axf/session.h"
#include "cli.h"

static const char *usage =
    "usage: axf search MODEL_DIR DATA --policy FILE --out SESSION.json [options]\n"
    "Runs a Lua search policy (scripts/*.lua) over MODEL_DIR scored on DATA (the search split)\n"
    "and saves the session (replay it with `axf replay`, export it with `axf export`).\n"
    "  --policy FILE       the policy script (e.g. scripts/axformer.lua)\n"
    "  --set KEY=VALUE     override a parameter the policy declares (repeatable; typed by the\n"
    "                      default; unknown keys are refused). --params lists them and exits\n"
    "  --holdout DATA2     held-out split, evaluated for the report only (never seen by the policy)\n"
    "  --out FILE          session file, written after every step and at the end\n"
    "  --max-len N         tokens per example (128)      --max-examples N  first N examples (all)\n"
    "  --batch N           sequences per forward (64)    --threads N       OpenBLAS threads\n"
    "  --task NAME         data reader task (detected from the file by default)\n"
    "  --budget N          Lua instructions per step (1e9; 0 = unlimited)\n"
    "  --lua-seconds S     seconds of Lua per step, evaluations not counted (5; 0 = unlimited)\n"
    "  --mem MIB           Lua memory cap (256)          --seed N          seed for the policy\n"
    "  --quiet             print steps only, not every trial\n"
    "  --resume            when --out exists (a run that was interrupted: Ctrl-C, a kill, a lost\n"
    "                      MPI rank), continue it: the policy starts again and every step and\n"
    "                      trial it repeats is taken from the file without evaluating; the session\n"
    "                      is then the one an uninterrupted run writes. Needs the same policy file,\n"
    "                      --set values and seed; model, data and options are the file's\n"
    "  --no-cache          run every evaluation from the embeddings (same numbers, slower;\n"
    "                      to measure what the layer cache saves)\n"
    "Under mpirun (an -DAXF_MPI=ON build) every rank runs the search and the evaluations are spread\n"
    "over the ranks (README: Scaling out with MPI).\n"
    "Exit: 0 the policy finished, 1 bad input, policy error (session saved) or a session that\n"
    "cannot be written (disk full, or another run replaced --out: this run's is then saved to\n"
    "OUT-PID.json beside it), 2 usage,\n"
    "130 interrupted by Ctrl-C, 143 by SIGTERM (session saved).\n";

static volatile sig_atomic_t g_interrupted;
static axf_luahost *volatile g_host;

/* Over MPI a signal usually means mpirun is ending the job (a rank died, or mpirun itself was
 * stopped) and rank 0 may never get to save and say so: its handler says at once where the
 * session stands. The line is prepared outside the handler, in one of two buffers switched
 * atomically. */
static char g_where[2][600];
static volatile sig_atomic_t g_where_k = -1;

static void set_where(const char *out, int steps)
{
    int k = g_where_k == 0 ? 1 : 0;
    snprintf(g_where[k], sizeof g_where[k],
             "axf: signal received: %s holds the %d step%s committed so far (continue with --resume)\n", out,
             steps, steps == 1 ? "" : "s");
    g_where_k = k;
}

/* SIGINT (Ctrl-C) and SIGTERM: stop the policy, save, exit 128 + the signal. */
static void on_sigint(int sig)
{
    int k = g_where_k;
    if (axf_dist_size() > 1 && axf_dist_rank() == 0 && k >= 0) {
        ssize_t w = write(2, g_where[k], strlen(g_where[k]));
        (void)w;
    }
    g_interrupted = sig;
    if (g_host)
        axf_luahost_cancel(g_host); /* one atomic store */
    signal(sig, SIG_DFL);           /* a second one ends the process at once */
}

typedef struct {
    const char *phase; /* shown before the bar when not a policy step */
    int tty, quiet, bar_shown;
    double last, start;
    int steps;
} search_ui;

static void clear_bar(search_ui *u)
{
    if (u->tty && u->bar_shown) {
        fputs("\r\033[K", stderr);
        u->bar_shown = 0;
    }
}

static int on_progress(double done, double total, void *ud)
{
    search_ui *u = ud;
    if (g_interrupted)
        return 1;
    if (!u->tty)
        return 0;
    double now = axf_now();
    if (now - u->last < 0.1 && done < total)
        return 0;
    u->last = now;
    double frac = total > 0 ? done / total : 0;
    char bar[25];
    int fill = (int)(frac * 24);
    for (int i = 0; i < 24; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[24] = 0;
    char label[48];
    if (u->phase)
        snprintf(label, sizeof label, "%s", u->phase);
    else
        snprintf(label, sizeof label, "step %d", u->steps + 1);
    fprintf(stderr, "\r\033[K%s  evaluating [%s] %3.0f%%  %.0fs", label, bar, 100 * frac,
            now - u->start);
    u->bar_shown = 1;
    return 0;
}

static void on_log(axf_lua_log_kind kind, const char *line, void *ud)
{
    search_ui *u = ud;
    if (kind == AXF_LUA_LOG_TRIAL && u->quiet)
        return;
    clear_bar(u);
    if (kind == AXF_LUA_LOG_STEP) {
        /* the explanation ends with the committed step; the trial lines were printed already */
        const char *last = strrchr(line, '\n');
        printf("%s\n", last ? last + 1 : line);
    } else if (kind == AXF_LUA_LOG_TRIAL) {
        printf("  %s\n", line);
    } else {
        printf("%s\n", line);
    }
    fflush(stdout);
}

static void print_metrics(const char *label, const axf_metrics *a, const axf_metrics *b,
                          const char *metric_name)
{
    printf("%-9s loss %.4f -> %.4f", label, a->loss, b->loss);
    if (a->accuracy == a->accuracy)
        printf(", accuracy %.2f%% -> %.2f%%", 100 * a->accuracy, 100 * b->accuracy);
    if (strcmp(metric_name, "accuracy"))
        printf(", %s %.4f -> %.4f", metric_name, a->metric, b->metric);
    printf("  (n=%d)\n", a->n);
}

/* "3 heads, 1 attention block, 2 FFN blocks, 4 neuron groups (of 12), hard attention L0 L1" */
static void describe_removed(const axf_plan *p, const axf_facts *f, char *buf, size_t n)
{
    int heads = 0, attn = 0, ffn = 0, layers = 0, neurons = 0, nh = 0;
    char hard[256] = "";
    size_t hl = 0;
    for (int i = 0; i < p->n_layers; i++) {
        const axf_layer_plan *lp = &p->layers[i];
        if (!lp->attn_on && !lp->ffn_on)
            layers++;
        else if (!lp->attn_on)
            attn++;
        else if (!lp->ffn_on)
            ffn++;
        if (lp->attn_on) {
            heads += lp->nh - axf_plan_heads_on(lp);
            if (lp->hard != AXF_HARD_OFF && hl + 24 < sizeof hard) {
                hl += (size_t)snprintf(hard + hl, sizeof hard - hl, " L%d(%s %g)", i,
                                       axf_hard_mode_name(lp->hard),
                                       lp->hard == AXF_HARD_THRESHOLD ? lp->threshold : lp->k);
                nh++;
            }
        }
        if (lp->ffn_on)
            neurons += lp->f - axf_plan_neurons_on(lp);
    }
    snprintf(buf, n, "%d layer(s), %d attention block(s), %d FFN block(s), %d head(s), "
                     "%d FFN neuron(s); hard attention on %d layer(s)%s",
             layers, attn, ffn, heads, neurons, nh, hard);
    (void)f;
}

int axf_cmd_search(int argc, char **argv)
{
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    const char *model = NULL, *data = NULL, *policy = NULL, *out = NULL, *holdout = NULL;
    const char **sets = axf_xcalloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0, quiet = 0, list_params = 0, mem_mib = 256, resume = 0;
    long long budget = 1000000000LL;
    double lua_seconds = 5;
    unsigned long long seed = 0;
    axf_session_opts so = axf_session_opts_default();
    int rc = 1;
    const char *a = NULL;
    for (int i = 1; i < argc; i++) {
        a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--policy") && has)
            policy = argv[++i];
        else if (!strcmp(a, "--out") && has)
            out = argv[++i];
        else if (!strcmp(a, "--holdout") && has)
            holdout = argv[++i];
        else if (!strcmp(a, "--set") && has)
            sets[n_sets++] = argv[++i];
        else if (!strcmp(a, "--task") && has)
            so.task = argv[++i];
        else if (!strcmp(a, "--max-len") && has) {
            if (axf_cli_int(argv[++i], 3, 1 << 20, &so.max_len))
                goto usage_bad;
        } else if (!strcmp(a, "--max-examples") && has) {
            if (axf_cli_int(argv[++i], 0, 1 << 30, &so.max_examples))
                goto usage_bad;
        } else if (!strcmp(a, "--batch") && has) {
            if (axf_cli_int(argv[++i], 1, 1 << 20, &so.batch))
                goto usage_bad;
        } else if (!strcmp(a, "--threads") && has) {
            if (axf_cli_int(argv[++i], 1, 256, &so.threads))
                goto usage_bad;
        } else if (!strcmp(a, "--mem") && has) {
            if (axf_cli_int(argv[++i], 1, 1 << 20, &mem_mib))
                goto usage_bad;
        } else if ((!strcmp(a, "--budget") || !strcmp(a, "--seed")) && has) {
            char *end;
            const char *v = argv[++i];
            double d = strtod(v, &end); /* accepts 1e9 */
            if (!*v || *end || !(d >= 0) || d > 9e18)
                goto usage_bad;
            if (a[2] == 'b')
                budget = (long long)d;
            else
                seed = (unsigned long long)d;
        } else if (!strcmp(a, "--lua-seconds") && has) {
            char *end;
            const char *v = argv[++i];
            lua_seconds = strtod(v, &end);
            if (!*v || *end || !(lua_seconds >= 0) || lua_seconds > 1e9)
                goto usage_bad;
        } else if (!strcmp(a, "--quiet"))
            quiet = 1;
        else if (!strcmp(a, "--resume"))
            resume = 1;
        else if (!strcmp(a, "--no-cache"))
            so.cache_bytes = 0;
        else if (!strcmp(a, "--params"))
            list_params = 1;
        else if (a[0] == '-') {
            free(sets);
            char msg[300];
            snprintf(msg, sizeof msg, "unknown option or missing value: %s", a);
            return axf_cli_usage("search", msg);
        } else if (!model)
            model = a;
        else if (!data)
            data = a;
        else {
            free(sets);
            return axf_cli_usage("search", "too many arguments (MODEL_DIR DATA expected)");
        }
    }
    if (!model || !data || !policy || (!out && !list_params)) {
        free(sets);
        return axf_cli_usage("search", "MODEL_DIR, DATA, --policy and --out are required");
    }

    search_ui ui = {0};
    ui.tty = isatty(2);
    ui.quiet = quiet;
    ui.start = axf_now();
    ui.phase = "baseline";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    so.progress = on_progress;
    so.progress_ud = &ui;
    axf_err err;
    /* a run must not end on a file it cannot write: checked before the first evaluation */
    /* (over MPI rank 0 alone writes, and checks: the others may not see its file system) */
    struct {
        int bad;
        axf_err e;
    } wr = {0, {{0}}};
    if (!list_params && axf_dist_rank() == 0)
        wr.bad = axf_io_check_writable(out, &wr.e) != 0;
    axf_dist_bcast(&wr, sizeof wr, "checking --out");
    if (wr.bad) {
        free(sets);
        return axf_cli_fail(wr.e.msg);
    }
    double t_open = axf_now();
    resume = resume && out && access(out, F_OK) == 0;
    axf_session *s = resume ? axf_session_load(out, model, data, holdout, &so, &err)
                            : axf_session_open(model, data, &so, &err);
    clear_bar(&ui);
    if (!s) {
        free(sets);
        if (g_interrupted) {
            fprintf(stderr, "axf: interrupted while opening %s (nothing saved)\n", data);
            return 128 + g_interrupted;
        }
        return axf_cli_fail(err.msg);
    }
    if (holdout && !resume && axf_session_set_holdout(s, holdout, &err)) {
        axf_session_free(s);
        free(sets);
        return axf_cli_fail(err.msg);
    }
    t_open = axf_now() - t_open;

    axf_luahost_opts ho = axf_luahost_opts_default();
    ho.budget = budget;
    ho.seconds = lua_seconds;
    ho.mem_cap = (size_t)mem_mib << 20;
    ho.seed = seed;
    ho.log = on_log;
    ho.log_ud = &ui;
    ho.progress = on_progress;
    ho.progress_ud = &ui;
    axf_luahost *h = axf_luahost_new(s, &ho, &err);
    if (!h) {
        axf_session_free(s);
        free(sets);
        return axf_cli_fail(err.msg);
    }
    /* a resumed run must be the recorded one: same policy file, parameters and seed */
    char *rec_sha = axf_xstrdup(axf_session_policy_sha256(s)), *rec_params = axf_xstrdup(axf_session_policy_params(s));
    uint64_t rec_seed = axf_session_seed(s);
    if (axf_luahost_load(h, policy, sets, n_sets, &err)) {
        free(rec_sha), free(rec_params);
        rc = axf_cli_fail(err.msg);
        goto done;
    }
    if (resume && !list_params) {
        char msg[900];
        int bad = strcmp(rec_sha, axf_session_policy_sha256(s)) ? 1
                  : strcmp(rec_params, axf_session_policy_params(s)) ? 2
                  : rec_seed != axf_session_seed(s) ? 3 : 0;
        if (bad)
            snprintf(msg, sizeof msg, "%s: --resume: the run was made with %s %.300s; this one has %.300s", out,
                     bad == 1 ? "a policy file of sha256" : bad == 2 ? "parameters" : "another seed",
                     bad == 1 ? rec_sha : bad == 2 ? rec_params : "",
                     bad == 1 ? axf_session_policy_sha256(s) : bad == 2 ? axf_session_policy_params(s) : "--seed");
        free(rec_sha), free(rec_params);
        if (bad || axf_session_resume(s, &err)) {
            rc = axf_cli_fail(bad ? msg : err.msg);
            goto done;
        }
    } else {
        free(rec_sha), free(rec_params);
    }
    free(sets);
    sets = NULL;
    if (list_params) {
        for (int i = 0; i < axf_luahost_param_count(h); i++) {
            axf_lua_param p;
            axf_luahost_param_get(h, i, &p);
            printf("%-14s %-10s default %-12s %s\n", p.name, p.value, p.def, p.doc);
        }
        rc = 0;
        goto done;
    }
    g_host = h;
    if (g_interrupted)
        axf_luahost_cancel(h);

    axf_metrics base;
    axf_session_baseline(s, &base);
    axf_facts f;
    axf_session_facts(s, &f);
    printf("search: %s on %s (%d examples), policy %s %s\n", model, data, f.n_search,
           axf_luahost_policy_name(h), axf_luahost_params_json(h));
    int rec_steps = 0, rec_trials = 0;
    axf_session_resume_left(s, &rec_steps, &rec_trials);
    if (resume)
        printf("resuming %s: %d step%s and %d trial%s recorded; the policy repeats them without "
               "evaluating\n", out, rec_steps, rec_steps == 1 ? "" : "s", rec_trials, rec_trials == 1 ? "" : "s");
    if (axf_dist_size() > 1)
        printf("MPI: %d ranks, each evaluating about 1/%d of the split\n", axf_dist_size(), axf_dist_size());
    fflush(stdout);
    set_where(out, resume ? rec_steps : 0);

    double t0 = axf_now(), cpu0 = axf_cli_cpu_now();
    ui.phase = NULL;
    int st;
    axf_err serr;
    int save_failed = 0;
    for (;;) {
        ui.steps = axf_luahost_steps(h);
        st = axf_luahost_step(h, &err);
        if (st != AXF_LUA_STEPPED)
            break;
        if (axf_session_resume_left(s, NULL, NULL))
            continue; /* the file still holds more than the steps re-lived so far */
        if (axf_session_save(s, out, &serr)) {
            save_failed = 1; /* the policy stays where it is: there is nowhere to keep more steps */
            break;
        }
        set_where(out, axf_session_history_len(s));
    }
    double t_search = axf_now() - t0, cpu_search = axf_cli_cpu_now() - cpu0;
    g_host = NULL;
    clear_bar(&ui);

    ui.phase = "held-out";
    int left = axf_session_resume_left(s, &rec_steps, NULL);
    if (left)
        fprintf(stderr, "axf: stopped while repeating the record (%d recorded step%s not reached); %s "
                        "left as it was\n", rec_steps, rec_steps == 1 ? "" : "s", out);
    else if (!save_failed && axf_session_save(s, out, &serr))
        save_failed = 1;
    const char *saved_to = save_failed || left ? NULL : out;
    char *beside = NULL;
    if (save_failed && axf_session_replaced(s, out)) {
        /* another run saved the same file since this one did: keep this run's session beside it */
        size_t n = strlen(out);
        beside = axf_xmalloc(n + 32);
        int json = n > 5 && !strcmp(out + n - 5, ".json");
        snprintf(beside, n + 32, "%.*s-%ld%s", (int)(json ? n - 5 : n), out, (long)getpid(),
                 json ? ".json" : "");
        axf_err berr;
        if (axf_session_save(s, beside, &berr) == 0)
            saved_to = beside;
    }

    /* summary: every evaluation first (the progress bar), then the text */
    axf_metrics hb, hc;
    axf_err herr;
    int hold_rc = holdout ? axf_session_holdout_metrics(s, &hb, &hc, &herr) : -1;
    axf_metrics cur;
    axf_session_current(s, &cur);
    clear_bar(&ui);
    char removed[512];
    describe_removed(axf_session_plan(s), &f, removed, sizeof removed);
    printf("\n== %s: %s ==\n", axf_luahost_policy_name(h), axf_luahost_message(h));
    printf("steps     %d committed (cursor %d of %d)\n", axf_luahost_steps(h),
           axf_session_cursor(s), axf_session_history_len(s));
    printf("removed   %s\n", removed);
    print_metrics("search", &base, &cur, f.metric_name);
    printf("params    %.3fM -> %.3fM (%+.1f%%), FLOPs/token %.3fM -> %.3fM (%+.1f%%)\n",
           base.params / 1e6, cur.params / 1e6, 100.0 * ((double)cur.params / base.params - 1),
           base.flops_per_token / 1e6, cur.flops_per_token / 1e6,
           100.0 * (cur.flops_per_token / base.flops_per_token - 1));
    if (holdout) {
        if (hold_rc == 0)
            print_metrics("held-out", &hb, &hc, f.metric_name);
        else
            printf("held-out  not evaluated: %s\n", herr.msg);
    }
    axf_counters c;
    axf_session_counters(s, &c);
    double run = (double)c.layer_evals, saved_l = (double)c.layer_evals_saved;
    /* Process CPU time as well as wall time: on a machine shared with other jobs the wall time
     * of a one-thread search grows with the load, its CPU time does not. */
    printf("time      %.1f s search (+%.1f s open and baseline), %.1f s evaluating; %.1f CPU-s "
           "search\n", t_search, t_open, c.eval_seconds, cpu_search);
    printf("evals     %lld evaluations (%lld answered from stored results); %lld layer-evaluations "
           "run, %lld saved by the cache (%.0f%% of %lld)\n",
           c.evals, c.evals_reused, c.layer_evals, c.layer_evals_saved,
           run + saved_l > 0 ? 100 * saved_l / (run + saved_l) : 0.0, c.layer_evals + c.layer_evals_saved);
    if (axf_dist_size() > 1) {
        axf_dist_stats ds;
        axf_dist_stats_get(&ds);
        double g = ds.gathers > 0 ? (double)ds.gathers : 1;
        printf("MPI       %d ranks, %lld gathers of %.1f KiB: %.3f ms moving rows and %.3f ms waiting for "
               "the slowest rank per gather (rank 0)\n", axf_dist_size(), ds.gathers, ds.bytes / g / 1024,
               1e3 * ds.move_seconds / g, 1e3 * ds.wait_seconds / g);
    }
    if (saved_to)
        printf("session   %s\n", saved_to);
    fflush(stdout);

    if (save_failed) {
        fprintf(stderr, "axf: %s%s%s\n", serr.msg,
                saved_to ? "; this run's session is saved to " : "; this run's session is not saved",
                saved_to ? saved_to : "");
        rc = 1;
    } else if (st == AXF_LUA_FINISHED) {
        rc = 0;
    } else if (st == AXF_CANCELLED || g_interrupted) {
        fprintf(stderr, "axf: interrupted: %s; session saved to %s\n", axf_luahost_message(h), out);
        rc = 128 + (g_interrupted ? g_interrupted : SIGINT);
    } else {
        fprintf(stderr, "axf: %s; session so far saved to %s\n", err.msg, out);
        rc = 1;
    }
    free(beside);
done:
    g_host = NULL;
    free(sets);
    axf_luahost_free(h);
    axf_session_free(s);
    return rc;
usage_bad:
    free(sets);
    {
        char msg[300];
        snprintf(msg, sizeof msg, "bad value for %s", a ? a : "option");
        return axf_cli_usage("search", msg);
    }
}
