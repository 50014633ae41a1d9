/* `axf replay SESSION`: re-executes everything a saved session records (the baseline, every step
 * before and after, every trial) from the original model, compares each recorded number with the
 * measured one (within the tolerance session.h derives, or bit for bit with --exact) and checks
 * the policy file's sha256; exit 1 naming every field that differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/session.h"
#include "cli.h"
#include "cmd_tui.h"

static const char *usage =
    "usage: axf replay SESSION.json [--exact] [--tol X] [--model DIR] [--data FILE] [--policy FILE]\n"
    "                  [--no-trials] [--threads N] [--no-cache]\n"
    "Loads the session (checking the model's and the data's sha256), re-applies and re-evaluates,\n"
    "from the original model, the baseline, every history step and every trial of the journal,\n"
    "and compares every recorded number (loss, accuracy, task metric, n, samples no worse, params,\n"
    "FLOPs/token, size; each step's metrics before and after) with the measured one. The policy\n"
    "file is found by its recorded name (beside the session, then in the scripts folder) and its\n"
    "sha256 compared with the record. Exit 0 when everything agrees, 1 naming each field that\n"
    "differs (step or trial, field, recorded and measured values), 2 on usage errors.\n"
    "  --exact                     every number bit for bit (a session made by this build)\n"
    "  --tol X                     relative tolerance of a loss (default: derived from float32\n"
    "                              error, see include/axf/session.h; a session from another build)\n"
    "  --model DIR / --data FILE   use these instead of the paths recorded in the session\n"
    "  --policy FILE               the policy file whose sha256 to check\n"
    "  --no-trials                 do not re-evaluate the trials journal (faster)\n"
    "  --no-cache                  evaluate every step from the embeddings (slower; same numbers)\n";

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

int axf_cmd_replay(int argc, char **argv)
{
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    const char *path = NULL, *model = NULL, *data = NULL, *policy = NULL;
    axf_replay_opts ro = axf_replay_opts_default();
    axf_session_opts o = axf_session_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(a, "--data") && i + 1 < argc)
            data = argv[++i];
        else if (!strcmp(a, "--policy") && i + 1 < argc)
            policy = argv[++i];
        else if (!strcmp(a, "--exact"))
            ro.exact = 1;
        else if (!strcmp(a, "--no-trials"))
            ro.trials = 0;
        else if (!strcmp(a, "--tol") && i + 1 < argc) {
            char *end;
            ro.tol = strtod(argv[++i], &end);
            if (*end || !(ro.tol > 0 && ro.tol < 1))
                return axf_cli_usage("replay", "--tol needs a number in (0, 1)");
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (axf_cli_int(argv[++i], 1, 256, &o.threads))
                return axf_cli_usage("replay", "--threads needs 1..256");
        } else if (!strcmp(a, "--no-cache"))
            o.cache_bytes = 0;
        else if (a[0] == '-')
            return axf_cli_usage("replay", "unknown option or missing value");
        else if (!path)
            path = a;
        else
            return axf_cli_usage("replay", "one session file only");
    }
    if (!path)
        return axf_cli_usage("replay", "missing SESSION");
    if (ro.exact && ro.tol > 0)
        return axf_cli_usage("replay", "--exact and --tol exclude each other");

    axf_cli_progress pr;
    axf_cli_progress_init(&pr, "replay");
    o.progress = axf_cli_progress_cb;
    o.progress_ud = &pr;
    axf_err err;
    axf_session *s = axf_session_load(path, model, data, NULL, &o, &err);
    if (!s) {
        axf_cli_progress_end(&pr);
        return axf_cli_fail(err.msg);
    }
    /* the policy file, when the session names one */
    char pol_path[1400], pol_line[1600] = "", pol_diff[1600] = "";
    const char *pname = axf_session_policy_name(s), *psha = axf_session_policy_sha256(s);
    if (*pname || *psha) {
        char sha[65];
        axf_err perr;
        if (find_policy(policy, path, pname, pol_path, sizeof pol_path))
            snprintf(pol_line, sizeof pol_line, "policy    %s: not found here, its sha256 is not checked (give --policy FILE)",
                     pname);
        else if (axf_sha256_file(pol_path, sha, &perr)) {
            axf_cli_progress_end(&pr);
            axf_session_free(s);
            return axf_cli_fail(perr.msg);
        } else if (strcmp(sha, psha))
            snprintf(pol_diff, sizeof pol_diff, "policy.sha256 (%s): recorded %s, measured %s", pol_path, psha, sha);
        else
            snprintf(pol_line, sizeof pol_line, "policy    %s: sha256 as recorded", pol_path);
    }

    double t0 = axf_now();
    axf_replay_result r;
    int rc = axf_session_replay(s, &ro, &r, &err);
    axf_cli_progress_end(&pr);
    if (rc) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: %s", path, err.msg);
        axf_session_free(s);
        return axf_cli_fail(msg);
    }
    int n_bad = r.n_diffs + (pol_diff[0] != 0);
    if (n_bad) {
        /* one error line (the first difference), then the others indented */
        char first[1700];
        if (pol_diff[0])
            snprintf(first, sizeof first, "%s", pol_diff);
        else
            diff_text(&r.diffs[0], first, sizeof first);
        char msg[1900];
        snprintf(msg, sizeof msg, "%s: %s%s", path, first,
                 n_bad > 1 ? "; more differences below" : "");
        axf_cli_fail(msg);
        int shown = r.n_diffs < AXF_REPLAY_MAX_DIFFS ? r.n_diffs : AXF_REPLAY_MAX_DIFFS;
        for (int i = pol_diff[0] ? 0 : 1; i < shown; i++) {
            diff_text(&r.diffs[i], first, sizeof first);
            fprintf(stderr, "  %s\n", first);
        }
        if (r.n_diffs > shown)
            fprintf(stderr, "  ... and %d more\n", r.n_diffs - shown);
        fprintf(stderr, "  %d difference%s from the record (%s)\n", n_bad, n_bad == 1 ? "" : "s",
                ro.exact ? "bit for bit" : "within the tolerance");
        axf_session_free(s);
        return 1;
    }
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
    printf("%s: %d step%s replayed and %d trial%s, every number ", path, r.steps, r.steps == 1 ? "" : "s",
           r.trials, r.trials == 1 ? "" : "s");
    if (ro.exact)
        printf("bit for bit as recorded");
    else
        printf("within the tolerance (loss relative %.3g, logits %.3g)", r.tol, r.logit_tol);
    printf(" (%.1fs)\n", axf_now() - t0);
    printf("identical %d of %d recorded metrics bit for bit; largest relative loss difference %.3g\n",
           r.identical, r.records, r.max_loss_dev);
    if (r.near_ties)
        printf("near ties %d trial%s (first: trial %d) scored within the tolerance of the plan they were tried on: "
               "on another build their verdict could differ\n",
               r.near_ties, r.near_ties == 1 ? "" : "s", r.first_near_tie);
    if (pol_line[0])
        printf("%s\n", pol_line);
    print_metrics("baseline", &base, f.metric_name);
    print_metrics("final", &last, f.metric_name);
    printf("layer-evaluations %lld, saved by the cache %lld\n", c.layer_evals, c.layer_evals_saved);
    axf_session_free(s);
    return 0;
}
