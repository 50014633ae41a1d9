/* `axf replay SESSION`: re-executes everything a saved session records (the baseline, every step
 * before and after, every trial) from the original model, compares each recorded number with the
 * measured one (within the tolerance session.h derives, or bit for bit with --exact) and checks
 * the policy file's sha256; exit 1 naming every field that differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/dist.h"
#include "axf/session.h"
#include "cli.h"
#include "cmd_tui.h"

static const char *usage =
    "usage: axf replay SESSION.json [--exact] [--tol X] [--model DIR] [--data FILE] [--policy FILE]\n"
    "                  [--no-trials] [--threads N] [--no-cache] [--mpi-split MODE]\n"
    "Loads the session (checking the model's and the data's sha256), re-applies and re-evaluates,\n"
    "from the original model, the baseline, every history step and every trial of the journal,\n"
    "and compares every recorded number (loss, accuracy, task metric, n, samples no worse, params,\n"
    "FLOPs/token, size; each step's metrics before and after) with the measured one. The policy\n"
    "file is found by its recorded name (beside the session, then in the scripts folder) and its\n"
    "sha256 compared with the record. Exit 0 when everything agrees, 1 naming each field that\n"
    "differs (step or trial, field, recorded and measured values), 2 on usage errors.\n";

static void print_metrics(const char *label, const axf_metrics *m, const char *metric_name)
{
    printf("%-10s loss %.6f  accuracy %.4f  %s %.4f  no-worse %d/%d  params %zu  FLOPs/token %.4g  size %zu\n",
           label, m->loss, m->accuracy, metric_name, m->metric, m->n_no_worse, m->n, m->params,
           m->flops_per_token, m->size_bytes);
}

static void diff_text(const axf_replay_diff *d, char *buf, size_t n)
{
    if (d->allowed > 0)
        snprintf(buf, n, "%s (%s): recorded %.17g, measured %.17g (allowed difference %.3g)", d->field, d->what,
                 d->recorded, d->measured, d->allowed);
    else
        snprintf(buf, n, "%s (%s): recorded %.17g, measured %.17g", d->field, d->what, d->recorded, d->measured);
}

/* The recorded policy's file: --policy, else its name beside the session, else the scripts
 * folder. Returns 0 and the path, or -1 when not found. */
static int find_policy(const char *given, const char *session, const char *name, char *out, size_t n)
{
    if (given) {
        snprintf(out, n, "%s", given);
        return 0;
    }
    const char *slash = strrchr(session, '/');
    FILE *f;
    snprintf(out, n, "%.*s%s", slash ? (int)(slash - session + 1) : 0, session, name);
    if ((f = fopen(out, "rb"))) {
        fclose(f);
        return 0;
    }
    const char *p = strchr(name, '/') ? NULL : axf_tui_find_script(name);
    if (!p)
        return -1;
    snprintf(out, n, "%s", p);
    return 0;
}

/* The policy file's sha256 against the record, when the session names a policy: a line for the
 * report (*line) or a difference (*diff), both of n bytes. -1 when the file cannot be read. */
static int check_policy(axf_session *s, const char *given, const char *path, char *line, char *diff, size_t n,
                        axf_err *err)
{
    const char *pname = axf_session_policy_name(s), *psha = axf_session_policy_sha256(s);
    if (!*pname && !*psha)
        return 0;
    char pol_path[1400], sha[65];
    if (find_policy(given, path, pname, pol_path, sizeof pol_path))
        snprintf(line, n, "policy    %s: not found here, its sha256 is not checked (give --policy FILE)", pname);
    else if (axf_sha256_file(pol_path, sha, err))
        return -1;
    else if (strcmp(sha, psha))
        snprintf(diff, n, "policy.sha256 (%s): recorded %s, measured %s", pol_path, psha, sha);
    else
        snprintf(line, n, "policy    %s: sha256 as recorded", pol_path);
    return 0;
}

/* One error line (the first difference), then the others indented, on stderr. */
static void report_differences(const char *path, const axf_replay_result *r, const char *pol_diff, int exact)
{
    int n_bad = r->n_diffs + (pol_diff[0] != 0);
    char first[1700];
    if (pol_diff[0])
        snprintf(first, sizeof first, "%s", pol_diff);
    else
        diff_text(&r->diffs[0], first, sizeof first);
    char msg[1900];
    snprintf(msg, sizeof msg, "%s: %s%s", path, first, n_bad > 1 ? "; more differences below" : "");
    axf_cli_fail(msg);
    int shown = r->n_diffs < AXF_REPLAY_MAX_DIFFS ? r->n_diffs : AXF_REPLAY_MAX_DIFFS;
    for (int i = pol_diff[0] ? 0 : 1; i < shown; i++) {
        diff_text(&r->diffs[i], first, sizeof first);
        fprintf(stderr, "  %s\n", first);
    }
    if (r->n_diffs > shown)
        fprintf(stderr, "  ... and %d more\n", r->n_diffs - shown);
    fprintf(stderr, "  %d difference%s from the record (%s)\n", n_bad, n_bad == 1 ? "" : "s",
            exact ? "bit for bit" : "within the tolerance");
}

/* What was replayed and that it agrees, on stdout. */
static void report_agreement(axf_session *s, const char *path, const axf_replay_result *r, const char *pol_line,
                             int exact, double seconds)
{
    axf_facts f;
    axf_session_facts(s, &f);
    int n = axf_session_history_len(s);
    axf_metrics base, last;
    axf_session_baseline(s, &base);
    last = base;
    axf_history_entry he;
    if (n > 0 && axf_session_history_get(s, n - 1, &he) == 0)
        last = he.after;
    axf_counters c;
    axf_session_counters(s, &c);
    printf("%s: %d step%s replayed and %d trial%s, every number ", path, r->steps, r->steps == 1 ? "" : "s",
           r->trials, r->trials == 1 ? "" : "s");
    if (exact)
        printf("bit for bit as recorded");
    else
        printf("within the tolerance (loss relative %.3g, logits %.3g)", r->tol, r->logit_tol);
    printf(" (%.1fs)\n", seconds);
    printf("identical %d of %d recorded metrics bit for bit; largest relative loss difference %.3g\n",
           r->identical, r->records, r->max_loss_dev);
    if (r->near_ties)
        printf("near ties %d trial%s (first: trial %d) scored within the tolerance of the plan they were tried on: "
               "on another build their verdict could differ\n",
               r->near_ties, r->near_ties == 1 ? "" : "s", r->first_near_tie);
    if (pol_line[0])
        printf("%s\n", pol_line);
    print_metrics("baseline", &base, f.metric_name);
    print_metrics("final", &last, f.metric_name);
    printf("layer-evaluations %lld, saved by the cache %lld\n", c.layer_evals, c.layer_evals_saved);
    if (axf_dist_size() > 1) { /* on stderr: stdout is one process's */
        axf_dist_stats ds;
        axf_dist_stats_get(&ds);
        fprintf(stderr, "MPI: %d ranks; %lld batches (%lld trials) split by candidate\n", axf_dist_size(),
                ds.split_batches, ds.split_trials);
    }
}

int axf_cmd_replay(int argc, char **argv)
{
    const char *path = NULL, *model = NULL, *data = NULL, *policy = NULL;
    axf_replay_opts ro = axf_replay_opts_default();
    axf_session_opts o = axf_session_opts_default();
    int no_trials = 0, no_cache = 0, split = axf_dist_split_mode();
    axf_cmd_args args = {.cmd = "replay", .usage = usage, .pos = &path, .max_pos = 1};
    int rc;
    axf_opt opts[] = {
        AXF_OPT_FLAG("--exact", &ro.exact, "every number bit for bit (a session made by this build)"),
        {.kind = AXF_OPTK_DOUBLE, .name = "--tol", .target = &ro.tol, .lo = 0x1p-1022, .hi = 1 - 0x1p-53,
         .want = "a number in (0, 1)", .arg = "X",
         .help = "relative tolerance of a loss (default: derived from float32\n"
                 "error, see include/axf/session.h; a session from another build)"},
        AXF_OPT_STR("--model", &model, "DIR", "use this model instead of the path recorded in the session"),
        AXF_OPT_STR("--data", &data, "FILE", "use this search split instead of the recorded path"),
        AXF_OPT_STR("--policy", &policy, "FILE", "the policy file whose sha256 to check"),
        AXF_OPT_FLAG("--no-trials", &no_trials, "do not re-evaluate the trials journal (faster)"),
        AXF_OPT_INT("--threads", &o.threads, 1, 256, "N", "threads"),
        AXF_OPT_FLAG("--no-cache", &no_cache, "evaluate every step from the embeddings (slower; same numbers)"),
        AXF_OPT_CHOICE("--mpi-split", &split, axf_dist_split_names, "MODE",
                       "under mpirun, the trials made on one plan: examples, candidates\n"
                       "or auto (default), as axf search --mpi-split"),
        AXF_OPT_END};
    if (!axf_opt_parse(&args, opts, argc, argv, &rc))
        return rc;
    axf_dist_set_split((axf_dist_split)split);
    if (no_trials)
        ro.trials = 0;
    if (no_cache)
        o.cache_bytes = 0;
    if (!path)
        return axf_cli_usage("replay", "missing SESSION");
    if (ro.exact && ro.tol > 0)
        return axf_cli_usage("replay", "--exact and --tol exclude each other");

    axf_cli_progress pr;
    axf_cli_progress_init(&pr, "replay", 0.1, 5.0);
    o.progress = axf_cli_progress_cb;
    o.progress_ud = &pr;
    axf_err err;
    axf_session *s = axf_session_load(path, model, data, NULL, &o, &err);
    if (!s) {
        axf_cli_progress_end(&pr);
        return axf_cli_fail(err.msg);
    }
    char pol_line[1600] = "", pol_diff[1600] = "";
    if (check_policy(s, policy, path, pol_line, pol_diff, sizeof pol_line, &err)) {
        axf_session_free(s);
        return axf_cli_fail(err.msg);
    }
    double t0 = axf_now();
    axf_replay_result r;
    rc = axf_session_replay(s, &ro, &r, &err);
    axf_cli_progress_end(&pr);
    if (rc) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: %s", path, err.msg);
        axf_session_free(s);
        return axf_cli_fail(msg);
    }
    if (r.n_diffs || pol_diff[0])
        report_differences(path, &r, pol_diff, ro.exact);
    else
        report_agreement(s, path, &r, pol_line, ro.exact, axf_now() - t0);
    axf_session_free(s);
    return r.n_diffs || pol_diff[0] ? 1 : 0;
}
