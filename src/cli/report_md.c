/* `axf report --md`: one table row per session, then mean and spread over seeds for every
 * configuration and policy that has more than one run. Numbers are rounded for reading; the
 * session files and the results sidecar keep the exact ones. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *dash = "–";

/* A number in the first unit whose threshold it reaches (the last unit otherwise), divided by
 * that unit's size. */
typedef struct {
    double threshold, size;
    const char *fmt;
} unit;

static const unit counts[] = {{1e9, 1e9, "%.2fG"}, {1e6, 1e6, "%.2fM"}, {1e3, 1e3, "%.1fk"}, {0, 1, "%.0f"}};
static const unit bytes[] = {{1e9, 1e9, "%.2f GB"}, {1e6, 1e6, "%.2f MB"}, {0, 1e3, "%.1f kB"}};
static const unit seconds[] = {{3600, 3600, "%.1f h"}, {100, 1, "%.0f s"}, {0, 1, "%.1f s"}};

static void fmt_units(char *b, size_t n, double x, const unit *u, int nu)
{
    if (isnan(x)) {
        snprintf(b, n, "%s", dash);
        return;
    }
    int i = 0;
    while (i < nu - 1 && !(x >= u[i].threshold))
        i++;
    snprintf(b, n, u[i].fmt, x / u[i].size);
}

#define FMT_UNITS(b, x, u) fmt_units(b, sizeof b, x, u, (int)(sizeof u / sizeof u[0]))

/* "81.54 → 82.34 (+0.80)" */
static void fmt_change(char *b, size_t n, double before, double after)
{
    if (isnan(before) || isnan(after))
        snprintf(b, n, "%s", dash);
    else
        snprintf(b, n, "%.2f → %.2f (%+.2f)", rep_show(before), rep_show(after),
                 rep_show(after) - rep_show(before));
}

static void fmt_seed(char *b, size_t n, const rep_run *r)
{
    snprintf(b, n, "%s", *r->seed ? r->seed : dash);
}

/* Markdown table cells must not contain a bare '|'. */
static void put_cell(FILE *f, const char *s)
{
    fputs("| ", f);
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
    fputc(' ', f);
}

static double size_of(const rep_run *r, int final)
{
    double file = final ? r->file_final : r->file_base;
    return isnan(file) ? (final ? r->final.size : r->base.size) : file;
}

static void write_runs(const rep_set *set, FILE *f)
{
    const char *m = set->metric_name;
    fprintf(f, "| config | policy | seed | search %s | report %s | params | FLOPs/token | size | "
               "speedup (measured) | search time | evals | layer-evals saved |\n",
            m, m);
    fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < set->n; i++) {
        const rep_run *r = &set->runs[i];
        char b[160], c[64];
        put_cell(f, r->config);
        put_cell(f, r->label);
        fmt_seed(b, sizeof b, r);
        put_cell(f, b);
        fmt_change(b, sizeof b, r->base.metric, r->final.metric);
        put_cell(f, b);
        fmt_change(b, sizeof b, r->rep_base, r->rep_final);
        put_cell(f, b);
        FMT_UNITS(c, r->final.params, counts);
        snprintf(b, sizeof b, "%s (%.1f%%)", c, 100 * r->final.params / r->base.params);
        put_cell(f, b);
        FMT_UNITS(c, r->final.flops, counts);
        snprintf(b, sizeof b, "%s (%.2f×)", c, r->final.flops > 0 ? r->base.flops / r->final.flops : INFINITY);
        put_cell(f, b);
        FMT_UNITS(c, size_of(r, 1), bytes);
        snprintf(b, sizeof b, "%s (%.2f×)", c, size_of(r, 0) / size_of(r, 1));
        put_cell(f, b);
        if (isnan(r->tok_base) || isnan(r->tok_final))
            snprintf(b, sizeof b, "%s", dash);
        else
            snprintf(b, sizeof b, "%.2f×", r->tok_final / r->tok_base);
        put_cell(f, b);
        if (!isnan(r->wall)) {
            FMT_UNITS(b, r->wall, seconds);
            if (!isnan(r->wall_nocache)) {
                FMT_UNITS(c, r->wall_nocache, seconds);
                size_t l = strlen(b);
                snprintf(b + l, sizeof b - l, " (%s uncached)", c);
            }
        } else {
            /* Only the evaluations' own time is in the session file. */
            FMT_UNITS(c, r->step_seconds, seconds);
            snprintf(b, sizeof b, "≥ %s", c);
        }
        put_cell(f, b);
        snprintf(b, sizeof b, "%lld", r->evals);
        put_cell(f, b);
        if (!isnan(r->layer_saved)) {
            double total = !isnan(r->layer_nocache) ? r->layer_nocache
                           : !isnan(r->layer_evals) ? r->layer_evals + r->layer_saved : NAN;
            if (isnan(total) || total <= 0)
                snprintf(b, sizeof b, "%.0f", r->layer_saved);
            else
                snprintf(b, sizeof b, "%.0f of %.0f (%.0f%%)", r->layer_saved, total, 100 * r->layer_saved / total);
        } else {
            snprintf(b, sizeof b, "%s", dash);
        }
        put_cell(f, b);
        fputs("|\n", f);
    }
}

typedef struct acc {
    double n, sum, sumsq;
} acc;

static void acc_add(acc *a, double x)
{
    if (isnan(x))
        return;
    a->n++;
    a->sum += x;
    a->sumsq += x * x;
}

/* A cell "mean ± sd" (sample standard deviation), or the single value; signed for differences. */
static void put_acc(FILE *f, const acc *a, double scale, const char *unit, int sign)
{
    char b[96];
    if (a->n == 0) {
        put_cell(f, dash);
        return;
    }
    size_t n = sizeof b;
    double mean = a->sum / a->n;
    double var = a->n > 1 ? (a->sumsq - a->n * mean * mean) / (a->n - 1) : 0;
    size_t l = (size_t)snprintf(b, n, sign ? "%+.2f" : "%.2f", scale * mean);
    if (a->n > 1 && l < n)
        l += (size_t)snprintf(b + l, n - l, " ± %.2f", scale * sqrt(var > 0 ? var : 0));
    if (l < n)
        snprintf(b + l, n - l, "%s", unit);
    put_cell(f, b);
}

/* Mean and spread over the runs of each (config, policy) pair seen more than once. */
static void write_groups(const rep_set *set, FILE *f)
{
    int *done = axf_xcalloc(set->n > 0 ? (size_t)set->n : 1, sizeof(int)), any = 0;
    for (int i = 0; i < set->n && !any; i++)
        for (int j = i + 1; j < set->n; j++)
            if (!strcmp(set->runs[i].config, set->runs[j].config) && !strcmp(set->runs[i].label, set->runs[j].label))
                any = 1;
    if (!any) {
        free(done);
        return;
    }
    const char *m = set->metric_name;
    fprintf(f, "\nMean ± sample standard deviation over runs (seeds):\n\n");
    fprintf(f, "| config | policy | runs | report baseline %s | report Δ %s | search Δ %s | params kept | "
               "FLOPs reduction | speedup (measured) |\n",
            m, m, m);
    fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < set->n; i++) {
        if (done[i])
            continue;
        acc rb = {0}, rd = {0}, sd = {0}, pk = {0}, fr = {0}, sp = {0};
        int cnt = 0;
        for (int j = i; j < set->n; j++) {
            const rep_run *r = &set->runs[j];
            if (done[j] || strcmp(r->config, set->runs[i].config) || strcmp(r->label, set->runs[i].label))
                continue;
            done[j] = 1;
            cnt++;
            acc_add(&rb, r->rep_base);
            acc_add(&rd, r->rep_final - r->rep_base);
            acc_add(&sd, r->final.metric - r->base.metric);
            acc_add(&pk, r->final.params / r->base.params);
            acc_add(&fr, r->final.flops > 0 ? r->base.flops / r->final.flops : NAN);
            acc_add(&sp, r->tok_final / r->tok_base);
        }
        char b[96];
        put_cell(f, set->runs[i].config);
        put_cell(f, set->runs[i].label);
        snprintf(b, sizeof b, "%d", cnt);
        put_cell(f, b);
        put_acc(f, &rb, 100, "", 0);
        put_acc(f, &rd, 100, "", 1);
        put_acc(f, &sd, 100, "", 1);
        put_acc(f, &pk, 100, "%", 0);
        put_acc(f, &fr, 1, "×", 0);
        put_acc(f, &sp, 1, "×", 0);
        fputs("|\n", f);
    }
    free(done);
}

int rep_write_md(const rep_set *set, FILE *f)
{
    const char *m = set->metric_name;
    fprintf(f, "Search = the split the policy scored on (optimistic); report = a split no stage of the search "
               "saw. %s ×100, before → after (change). Params and FLOPs/token of the compacted model "
               "(share of / reduction from the original); size = model file when measured, else float32 "
               "weights; speedup = tokens/s of the exported model over the original, same run (scripts/experiment.sh: "
               "tokens per CPU-second of one thread, median of repeats). "
               "Evals = evaluations of the search split.\n\n",
            m);
    write_runs(set, f);
    write_groups(set, f);
    return ferror(f) ? -1 : 0;
}
