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
    "and saves the session (replay it with `axf replay`, export it with `axf export`).\n";

static const char *footer =
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

/* The progress bar (a terminal only) and the trial and step lines. */
typedef struct {
    const char *phase; /* shown before the bar when not a policy step */
    int quiet, steps;
    axf_cli_progress bar;
} search_ui;

static int on_progress(double done, double total, void *ud)
{
    search_ui *u = ud;
    if (g_interrupted)
        return 1;
    if (!axf_cli_progress_due(&u->bar, done >= total))
        return 0;
    char label[48];
    if (u->phase)
        snprintf(label, sizeof label, "%s", u->phase);
    else
        snprintf(label, sizeof label, "step %d", u->steps + 1);
    axf_cli_progress_print(&u->bar, 0, "%s  evaluating [%s] %3.0f%%  %.0fs", label,
                           axf_cli_progress_bar(&u->bar, total > 0 ? done / total : 0),
                           100 * (total > 0 ? done / total : 0), axf_now() - u->bar.start);
    return 0;
}

static void on_log(axf_lua_log_kind kind, const char *line, void *ud)
{
    search_ui *u = ud;
    if (kind == AXF_LUA_LOG_TRIAL && u->quiet)
        return;
    axf_cli_progress_clear(&u->bar);
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

typedef struct {
    const char *model, *data, *policy, *out, *holdout;
    const char **sets;
    int n_sets, quiet, list_params, mem_mib, resume, no_cache;
    long budget;
    uint64_t seed;
    double lua_seconds;
    axf_session_opts so;
} search_args;

/* Returns 1 when the command goes on, else 0 and *status. a->sets must hold argc entries. */
static int parse(int argc, char **argv, search_args *a, int *status)
{
    a->so = axf_session_opts_default();
    a->mem_mib = 256;
    a->budget = 1000000000L;
    a->lua_seconds = 5;
    const char *pos[2];
    int split = axf_dist_split_mode();
    axf_cmd_args args = {.cmd = "search", .usage = usage, .footer = footer, .pos = pos, .max_pos = 2};
    axf_opt opts[] = {
        AXF_OPT_STR("--policy", &a->policy, "FILE", "the policy script (e.g. scripts/axformer.lua)"),
        AXF_OPT_LIST("--set", a->sets, &a->n_sets, argc, "KEY=VALUE",
                     "override a parameter the policy declares (repeatable; typed by the\n"
                     "default; unknown keys are refused). --params lists them and exits"),
        AXF_OPT_FLAG("--params", &a->list_params, "list the policy's parameters and exit"),
        AXF_OPT_STR("--holdout", &a->holdout, "DATA2",
                    "held-out split, evaluated for the report only (never seen by the policy)"),
        AXF_OPT_STR("--out", &a->out, "FILE", "session file, written after every step and at the end"),
        AXF_OPT_INT("--max-len", &a->so.max_len, 3, 1 << 20, "N", "tokens per example ({})"),
        AXF_OPT_INT("--max-examples", &a->so.max_examples, 0, 1 << 30, "N", "first N examples (0: all)"),
        AXF_OPT_INT("--batch", &a->so.batch, 1, 1 << 20, "N", "sequences per forward ({})"),
        AXF_OPT_INT("--threads", &a->so.threads, 1, 256, "N", "threads"),
        AXF_OPT_STR("--task", &a->so.task, "NAME", "data reader task (detected from the file by default)"),
        AXF_OPT_LONG("--budget", &a->budget, 0, 9e18, "N", "Lua instructions per step ({}; 0 = unlimited)"),
        AXF_OPT_DOUBLE("--lua-seconds", &a->lua_seconds, 0, 1e9, "S",
                       "seconds of Lua per step, evaluations not counted ({}; 0 = unlimited)"),
        AXF_OPT_INT("--mem", &a->mem_mib, 1, 1 << 20, "MIB", "Lua memory cap ({})"),
        AXF_OPT_U64("--seed", &a->seed, "N", "seed for the policy (default: the session's)"),
        AXF_OPT_FLAG("--quiet", &a->quiet, "print steps only, not every trial"),
        AXF_OPT_FLAG("--resume", &a->resume,
                     "when --out exists (a run that was interrupted: Ctrl-C, a kill, a lost\n"
                     "MPI rank), continue it: the policy starts again and every step and\n"
                     "trial it repeats is taken from the file without evaluating; the session\n"
                     "is then the one an uninterrupted run writes. Needs the same policy file,\n"
                     "--set values and seed; model, data and options are the file's"),
        AXF_OPT_FLAG("--no-cache", &a->no_cache,
                     "run every evaluation from the embeddings (same numbers, slower;\n"
                     "to measure what the layer cache saves)"),
        AXF_OPT_CHOICE("--mpi-split", &split, axf_dist_split_names, "MODE",
                       "under mpirun, a batch of trials (s:try_batch): examples (each trial\n"
                       "split by example), candidates (each rank takes whole trials), auto\n"
                       "(default: candidates when the batch has as many trials as ranks and\n"
                       "the layer cache's 1 GiB holds as many layers of the whole split as of\n"
                       "a rank's share)"),
        AXF_OPT_END};
    if (!axf_opt_parse(&args, opts, argc, argv, status))
        return 0;
    axf_dist_set_split((axf_dist_split)split);
    if (args.n_pos < 2 || !a->policy || (!a->out && !a->list_params)) {
        *status = axf_cli_usage("search", "MODEL_DIR, DATA, --policy and --out are required");
        return 0;
    }
    a->model = pos[0];
    a->data = pos[1];
    if (a->no_cache)
        a->so.cache_bytes = 0;
    return 1;
}

/* A run must not end on a file it cannot write: checked before the first evaluation (over MPI
 * rank 0 alone writes, and checks: the others may not see its file system). */
static int check_out(const search_args *a, axf_err *err)
{
    struct {
        int bad;
        axf_err e;
    } wr = {0, {{0}}};
    if (!a->list_params && axf_dist_rank() == 0)
        wr.bad = axf_io_check_writable(a->out, &wr.e) != 0;
    axf_dist_bcast(&wr, sizeof wr, "checking --out");
    if (wr.bad)
        *err = wr.e;
    return wr.bad ? -1 : 0;
}

/* The Lua host with the policy loaded; on --resume, checked to be the recorded run's (policy
 * file, parameters, seed) and set to repeat it. NULL after printing the error (*status). */
static axf_luahost *load_policy(const search_args *a, axf_session *s, search_ui *ui, int *status)
{
    axf_luahost_opts ho = axf_luahost_opts_default();
    ho.budget = a->budget;
    ho.seconds = a->lua_seconds;
    ho.mem_cap = (size_t)a->mem_mib << 20;
    ho.seed = a->seed;
    ho.log = on_log;
    ho.log_ud = ui;
    ho.progress = on_progress;
    ho.progress_ud = ui;
    axf_err err;
    axf_luahost *h = axf_luahost_new(s, &ho, &err);
    if (!h) {
        *status = axf_cli_fail(err.msg);
        return NULL;
    }
    char *rec_sha = axf_xstrdup(axf_session_policy_sha256(s)), *rec_params = axf_xstrdup(axf_session_policy_params(s));
    uint64_t rec_seed = axf_session_seed(s);
    char msg[900] = "";
    if (axf_luahost_load(h, a->policy, a->sets, a->n_sets, &err)) {
        snprintf(msg, sizeof msg, "%s", err.msg);
    } else if (a->resume && !a->list_params) {
        int bad = strcmp(rec_sha, axf_session_policy_sha256(s)) ? 1
                  : strcmp(rec_params, axf_session_policy_params(s)) ? 2
                  : rec_seed != axf_session_seed(s) ? 3 : 0;
        if (bad)
            snprintf(msg, sizeof msg, "%s: --resume: the run was made with %s %.300s; this one has %.300s", a->out,
                     bad == 1 ? "a policy file of sha256" : bad == 2 ? "parameters" : "another seed",
                     bad == 1 ? rec_sha : bad == 2 ? rec_params : "",
                     bad == 1 ? axf_session_policy_sha256(s) : bad == 2 ? axf_session_policy_params(s) : "--seed");
        else if (axf_session_resume(s, &err))
            snprintf(msg, sizeof msg, "%s", err.msg);
    }
    free(rec_sha);
    free(rec_params);
    if (msg[0]) {
        *status = axf_cli_fail(msg);
        axf_luahost_free(h);
        return NULL;
    }
    return h;
}

static void list_params(axf_luahost *h)
{
    for (int i = 0; i < axf_luahost_param_count(h); i++) {
        axf_lua_param p;
        axf_luahost_param_get(h, i, &p);
        printf("%-14s %-10s default %-12s %s\n", p.name, p.value, p.def, p.doc);
    }
}

/* The policy's steps, the session saved after each. Returns the host's last status; *save_failed
 * and serr when a save failed. */
static int run_steps(axf_luahost *h, axf_session *s, const char *out, search_ui *ui, int *save_failed, axf_err *serr,
                     axf_err *err)
{
    int st;
    for (;;) {
        ui->steps = axf_luahost_steps(h);
        st = axf_luahost_step(h, err);
        if (st != AXF_LUA_STEPPED)
            break;
        if (axf_session_resume_left(s, NULL, NULL))
            continue; /* the file still holds more than the steps re-lived so far */
        if (axf_session_save(s, out, serr)) {
            *save_failed = 1; /* the policy stays where it is: there is nowhere to keep more steps */
            break;
        }
        set_where(out, axf_session_history_len(s));
    }
    return st;
}

/* The final save. Returns where the session is (NULL: nowhere); *beside (to free) when another run
 * replaced out and this one's went beside it. */
static const char *save_final(axf_session *s, const char *out, int *save_failed, axf_err *serr, char **beside)
{
    int rec_steps = 0;
    int left = axf_session_resume_left(s, &rec_steps, NULL);
    if (left)
        fprintf(stderr, "axf: stopped while repeating the record (%d recorded step%s not reached); %s "
                        "left as it was\n", rec_steps, rec_steps == 1 ? "" : "s", out);
    else if (!*save_failed && axf_session_save(s, out, serr))
        *save_failed = 1;
    const char *saved_to = *save_failed || left ? NULL : out;
    *beside = NULL;
    if (*save_failed && axf_session_replaced(s, out)) {
        /* another run saved the same file since this one did: keep this run's session beside it */
        size_t n = strlen(out);
        *beside = axf_xmalloc(n + 32);
        int json = n > 5 && !strcmp(out + n - 5, ".json");
        snprintf(*beside, n + 32, "%.*s-%ld%s", (int)(json ? n - 5 : n), out, (long)getpid(), json ? ".json" : "");
        axf_err berr;
        if (axf_session_save(s, *beside, &berr) == 0)
            saved_to = *beside;
    }
    return saved_to;
}

/* The closing report on stdout: what was removed, metrics before and after, time and cache use. */
static void print_summary(axf_session *s, axf_luahost *h, const search_args *a, search_ui *ui, double t_search,
                          double t_open, double cpu_search, const char *saved_to)
{
    axf_metrics base, hb, hc, cur;
    axf_facts f;
    axf_session_baseline(s, &base);
    axf_session_facts(s, &f);
    /* every evaluation first (the progress bar), then the text */
    axf_err herr;
    int hold_rc = a->holdout ? axf_session_holdout_metrics(s, &hb, &hc, &herr) : -1;
    axf_session_current(s, &cur);
    axf_cli_progress_clear(&ui->bar);
    char removed[512];
    describe_removed(axf_session_plan(s), &f, removed, sizeof removed);
    printf("\n== %s: %s ==\n", axf_luahost_policy_name(h), axf_luahost_message(h));
    printf("steps     %d committed (cursor %d of %d)\n", axf_luahost_steps(h), axf_session_cursor(s),
           axf_session_history_len(s));
    printf("removed   %s\n", removed);
    print_metrics("search", &base, &cur, f.metric_name);
    printf("params    %.3fM -> %.3fM (%+.1f%%), FLOPs/token %.3fM -> %.3fM (%+.1f%%)\n", base.params / 1e6,
           cur.params / 1e6, 100.0 * ((double)cur.params / base.params - 1), base.flops_per_token / 1e6,
           cur.flops_per_token / 1e6, 100.0 * (cur.flops_per_token / base.flops_per_token - 1));
    if (a->holdout) {
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
               "the slowest rank per gather (rank 0); %lld batches (%lld trials) split by candidate\n",
               axf_dist_size(), ds.gathers, ds.bytes / g / 1024, 1e3 * ds.move_seconds / g,
               1e3 * ds.wait_seconds / g, ds.split_batches, ds.split_trials);
    }
    if (saved_to)
        printf("session   %s\n", saved_to);
    fflush(stdout);
}

/* "search: MODEL on DATA ..." and, when resuming or over MPI, what that means. */
static void print_start(axf_session *s, axf_luahost *h, const search_args *a)
{
    axf_facts f;
    axf_session_facts(s, &f);
    printf("search: %s on %s (%d examples), policy %s %s\n", a->model, a->data, f.n_search,
           axf_luahost_policy_name(h), axf_luahost_params_json(h));
    int rec_steps = 0, rec_trials = 0;
    axf_session_resume_left(s, &rec_steps, &rec_trials);
    if (a->resume)
        printf("resuming %s: %d step%s and %d trial%s recorded; the policy repeats them without "
               "evaluating\n", a->out, rec_steps, rec_steps == 1 ? "" : "s", rec_trials, rec_trials == 1 ? "" : "s");
    if (axf_dist_size() > 1)
        printf("MPI: %d ranks, each evaluating about 1/%d of the split; batches of trials split by %s\n",
               axf_dist_size(), axf_dist_size(), axf_dist_split_name(axf_dist_split_mode()));
    fflush(stdout);
    set_where(a->out, a->resume ? rec_steps : 0);
}

/* SIGINT and SIGTERM stop the search between evaluations (on_sigint). */
static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The session to search: resumed from --out, or opened from the model and the data, with the
 * held-out split. NULL after printing why, *rc the exit status; *t_open the seconds it took. */
static axf_session *open_session(search_args *a, search_ui *ui, double *t_open, int *rc)
{
    axf_err err;
    if (check_out(a, &err)) {
        *rc = axf_cli_fail(err.msg);
        return NULL;
    }
    *t_open = axf_now();
    a->resume = a->resume && a->out && access(a->out, F_OK) == 0;
    axf_session *s = a->resume ? axf_session_load(a->out, a->model, a->data, a->holdout, &a->so, &err)
                               : axf_session_open(a->model, a->data, &a->so, &err);
    axf_cli_progress_clear(&ui->bar);
    if (!s && g_interrupted) {
        fprintf(stderr, "axf: interrupted while opening %s (nothing saved)\n", a->data);
        *rc = 128 + g_interrupted;
        return NULL;
    }
    if (!s || (a->holdout && !a->resume && axf_session_set_holdout(s, a->holdout, &err))) {
        *rc = axf_cli_fail(err.msg);
        axf_session_free(s);
        return NULL;
    }
    *t_open = axf_now() - *t_open;
    return s;
}

/* The exit status of a search that ran (st: run_steps'), with its line on stderr unless it
 * finished and saved. */
static int exit_status(int st, const search_args *a, axf_luahost *h, int save_failed, const axf_err *serr,
                       const char *saved_to, const axf_err *err)
{
    if (save_failed) {
        fprintf(stderr, "axf: %s%s%s\n", serr->msg,
                saved_to ? "; this run's session is saved to " : "; this run's session is not saved",
                saved_to ? saved_to : "");
        return 1;
    }
    if (st == AXF_LUA_FINISHED)
        return 0;
    if (st == AXF_CANCELLED || g_interrupted) {
        fprintf(stderr, "axf: interrupted: %s; session saved to %s\n", axf_luahost_message(h), a->out);
        return 128 + (g_interrupted ? g_interrupted : SIGINT);
    }
    fprintf(stderr, "axf: %s; session so far saved to %s\n", err->msg, a->out);
    return 1;
}

int axf_cmd_search(int argc, char **argv)
{
    search_args a = {0};
    a.sets = axf_xcalloc((size_t)argc + 1, sizeof *a.sets);
    int rc;
    axf_session *s = NULL;
    axf_luahost *h = NULL;
    if (!parse(argc, argv, &a, &rc))
        goto done;

    search_ui ui = {.phase = "baseline", .quiet = a.quiet};
    axf_cli_progress_init(&ui.bar, "search", 0.1, 0); /* a terminal only */
    catch_signals();
    a.so.progress = on_progress;
    a.so.progress_ud = &ui;
    double t_open;
    if (!(s = open_session(&a, &ui, &t_open, &rc)) || !(h = load_policy(&a, s, &ui, &rc)))
        goto done;
    if (a.list_params) {
        list_params(h);
        rc = 0;
        goto done;
    }
    g_host = h;
    if (g_interrupted)
        axf_luahost_cancel(h);
    print_start(s, h, &a);

    double t0 = axf_now(), cpu0 = axf_cpu_now(0);
    ui.phase = NULL;
    int save_failed = 0;
    axf_err err, serr;
    int st = run_steps(h, s, a.out, &ui, &save_failed, &serr, &err);
    double t_search = axf_now() - t0, cpu_search = axf_cpu_now(0) - cpu0;
    g_host = NULL;
    axf_cli_progress_clear(&ui.bar);
    ui.phase = "held-out";
    char *beside;
    const char *saved_to = save_final(s, a.out, &save_failed, &serr, &beside);
    print_summary(s, h, &a, &ui, t_search, t_open, cpu_search, saved_to);
    rc = exit_status(st, &a, h, save_failed, &serr, saved_to, &err);
    free(beside);
done:
    g_host = NULL;
    free(a.sets);
    axf_luahost_free(h);
    axf_session_free(s);
    return rc;
}
