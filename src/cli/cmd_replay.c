/* `axf replay SESSION`: re-executes every step of a saved session from the original model and
 * checks each recorded metric; exit 1 naming the first step that differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/session.h"
#include "cli.h"

static const char *usage =
    "usage: axf replay SESSION.json [--model DIR] [--data FILE] [--tol X] [--threads N] [--no-cache]\n"
    "Loads the session (checking the model's and the data's sha256), re-applies and re-evaluates\n"
    "every history step from the original model, and compares the baseline and each step's\n"
    "metrics (loss, accuracy, task metric, samples no worse, params, FLOPs/token, size) with the\n"
    "recorded ones. Exit 0 when all agree within --tol (default 1e-6, relative above 1), 1 at the\n"
    "first step that differs (named on stderr), 2 on usage errors.\n"
    "  --model DIR / --data FILE   use these instead of the paths recorded in the session\n"
    "  --no-cache                  evaluate every step from the embeddings (slower; same numbers)\n";

static void print_metrics(const char *label, const axf_metrics *m, const char *metric_name)
{
    printf("%-10s loss %.6f  accuracy %.4f  %s %.4f  no-worse %d/%d  params %zu  FLOPs/token %.4g  size %zu\n",
           label, m->loss, m->accuracy, metric_name, m->metric, m->n_no_worse, m->n, m->params,
           m->flops_per_token, m->size_bytes);
}

int axf_cmd_replay(int argc, char **argv)
{
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    const char *path = NULL, *model = NULL, *data = NULL;
    double tol = 1e-6;
    axf_session_opts o = axf_session_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(a, "--data") && i + 1 < argc)
            data = argv[++i];
        else if (!strcmp(a, "--tol") && i + 1 < argc) {
            char *end;
            tol = strtod(argv[++i], &end);
            if (*end || !(tol >= 0))
                return axf_cli_usage("replay", "--tol needs a non-negative number");
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
    double t0 = axf_now();
    int bad = -1;
    int rc = axf_session_replay(s, tol, &bad, &err);
    axf_cli_progress_end(&pr);
    axf_facts f;
    axf_session_facts(s, &f);
    if (rc) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: %s", path, err.msg);
        axf_session_free(s);
        return axf_cli_fail(msg);
    }
    int n = axf_session_history_len(s);
    axf_metrics base, last;
    axf_session_baseline(s, &base);
    last = base;
    axf_history_entry he;
    if (n > 0 && axf_session_history_get(s, n - 1, &he) == 0)
        last = he.after;
    axf_counters c;
    axf_session_counters(s, &c);
    printf("%s: %d step%s replayed, every metric within %g of the record (%.1fs)\n", path, n,
           n == 1 ? "" : "s", tol, axf_now() - t0);
    print_metrics("baseline", &base, f.metric_name);
    print_metrics("final", &last, f.metric_name);
    printf("layer-evaluations %lld, saved by the cache %lld\n", c.layer_evals, c.layer_evals_saved);
    axf_session_free(s);
    return 0;
}
