/* `axf report SESSION… [--svg FILE] [--md FILE] [--labels a,b,…] [--results FILE …]`: tables and
 * plots from saved sessions, plus the report-split, speed and cost measurements of a results
 * sidecar (axf/resultsfile.h documents and reads it). Reads files only: no model or data is
 * opened, so a report can be rebuilt anywhere from the JSON files. */
#include "axf/fileio.h"
#include "cli.h"
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *usage_text =
    "usage: axf report SESSION... [--svg FILE] [--md FILE] [--labels A,B,...] [--results FILE]...\n"
    "\n"
    "Tables and plots from saved session files (include/axf/session.h).\n";

static const char *footer =
    "Without --results the plots use the search split (optimistic: the policy scored on it).\n";

/* Writes through io's atomic writer so that a failed run never leaves half a file behind. */
static int write_out(const char *path, const rep_set *set, int (*fn)(const rep_set *, FILE *))
{
    if (!strcmp(path, "-"))
        return fn(set, stdout) || fflush(stdout) ? axf_cli_fail("-: write error") : 0;
    axf_err err;
    char *tmp;
    FILE *f = axf_io_atomic_open(path, &tmp, &err);
    if (!f)
        return axf_cli_fail(err.msg);
    errno = 0;
    int bad = fn(set, f) || ferror(f);
    if (axf_io_atomic_close(f, tmp, path, bad, &err))
        return axf_cli_fail(err.msg);
    return 0;
}

/* The sessions, then the results sidecars applied to them; 0, or 1 after printing the error
 * (set->n counts the runs to free either way). */
static int load_set(const char **sessions, int n_sessions, const char **results, int n_results, rep_set *set)
{
    axf_err err = {{0}};
    for (int i = 0; i < n_sessions; i++) {
        set->n++;
        if (rep_load_session(sessions[i], &set->runs[i], &err))
            return axf_cli_fail(err.msg);
    }
    for (int i = 0; i < n_results; i++)
        if (rep_apply_results(results[i], set, &err))
            return axf_cli_fail(err.msg);
    return 0;
}

/* --labels A,B,..: one name per session, in session order; an empty one keeps the default. 0, or
 * 2 after the usage error when there are fewer or more names than sessions. */
static int apply_labels(const char *labels, rep_set *set)
{
    const char *p = labels;
    for (int i = 0; i < set->n; i++) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l) {
            free(set->runs[i].label);
            set->runs[i].label = axf_xmalloc(l + 1);
            memcpy(set->runs[i].label, p, l);
            set->runs[i].label[l] = 0;
        }
        if (!e)
            return i + 1 < set->n ? axf_cli_usage("report", "--labels has fewer names than there are sessions") : 0;
        p = e + 1;
        if (i + 1 == set->n)
            return axf_cli_usage("report", "--labels has more names than there are sessions");
    }
    return 0;
}

int axf_cmd_report(int argc, char **argv)
{
    const char *svg = NULL, *md = NULL, *labels = NULL;
    const char **results = calloc((size_t)argc, sizeof(char *));
    const char **sessions = calloc((size_t)argc, sizeof(char *));
    int n_results = 0, rc = 0;
    axf_cmd_args args = {.cmd = "report", .usage = usage_text, .footer = footer, .pos = sessions, .max_pos = argc};
    axf_opt opts[] = {
        AXF_OPT_STR("--svg", &svg, "FILE", "three plots: accuracy against size, against speed, and over the\n"
                    "search steps"),
        AXF_OPT_STR("--md", &md, "FILE",
                    "Markdown table, one row per session, then mean ± sd over repeated\n"
                    "runs ('-' = standard output; the default when neither --svg nor\n"
                    "--md is given)"),
        AXF_OPT_LIST("--results", results, &n_results, argc, "FILE",
                     "measurements the session cannot hold (report-split metric,\n"
                     "measured tokens/s, file sizes, search wall time and\n"
                     "layer-evaluations), as written by scripts/experiment.sh; format in\n"
                     "include/axf/resultsfile.h. May be repeated."),
        AXF_OPT_STR("--labels", &labels, "A,B,..",
                    "one name per session, in order (default: the policy and its parameters)"),
        AXF_OPT_END};
    if (!axf_opt_parse(&args, opts, argc, argv, &rc))
        goto out;
    if (!args.n_pos) {
        rc = axf_cli_usage("report", "give at least one SESSION file");
        goto out;
    }
    if (!svg && !md)
        md = "-";
    rep_set set = {.n = 0, .runs = axf_xcalloc((size_t)args.n_pos, sizeof(rep_run))};
    rc = load_set(sessions, args.n_pos, results, n_results, &set);
    if (!rc && labels)
        rc = apply_labels(labels, &set);
    if (!rc) {
        rep_finish(&set);
        if (svg)
            rc = write_out(svg, &set, rep_write_svg);
        if (md && !rc)
            rc = write_out(md, &set, rep_write_md);
    }
    for (int i = 0; i < set.n; i++)
        rep_run_free(&set.runs[i]);
    free(set.runs);
out:
    free(results);
    free(sessions);
    return rc;
}
