/* `axf eval MODEL_DIR DATA`: task metrics and speed, as key=value lines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/metrics.h"
#include "cli.h"
#include "cmd_run_util.h"

static const char *usage =
    "usage: axf eval MODEL_DIR DATA [--task T] [--max-len N] [--batch N] [--threads N]\n"
    "Runs the model of MODEL_DIR on the labelled examples of DATA and prints key=value lines:\n"
    "  task, examples, then accuracy and loss (mean cross-entropy) for classification, plus f1 for\n"
    "  MRPC / QQP and mcc (Matthews) for CoLA; pearson, spearman and mse for regression (STS-B);\n"
    "  then examples_per_s, tokens_per_s and engine_s (engine time only, wall clock) and tokenize_s,\n"
    "  engine_cpu_s and tokens_per_cpu_s (process CPU time: with --threads 1 the engine's work\n"
    "  whatever else runs on the machine) and passes.\n"
    "  --repeat N runs the engine N times over the data and reports the median times.\n"
    "  A progress bar goes to stderr when it is a terminal.\n"
    "A label names one of the model's classes: its id2label name, LABEL_i or the number i; a label\n"
    "outside them is an error naming the file and line.\n";

static int is_task(const char *t, const char *a, const char *b)
{
    return !strcmp(t, a) || (b && !strcmp(t, b));
}

/* The labelled examples' predictions (or scores) beside their gold labels (targets), and the summed
 * loss (cross-entropy, or squared error). */
typedef struct {
    int n, *pred, *gold;
    float *score, *target;
    double loss;
} scored;

static void scored_free(scored *sc)
{
    free(sc->pred), free(sc->gold), free(sc->score), free(sc->target);
}

/* Scores every labelled example of r; -1 and msg when the labels do not fit the model. */
static int score_all(const axf_cli_run *r, const char *data, scored *sc, char *msg, size_t n_msg)
{
    const axf_encoded *e = r->enc;
    int C = r->m->cfg.num_labels, regress = r->m->cfg.task == AXF_TASK_REGRESS;
    if (r->d->num_labels == 0)
        return snprintf(msg, n_msg, "%s: no labels to evaluate against (task %s)", data, r->d->task), -1;
    if (regress != (r->d->kind == AXF_TASK_REGRESS))
        return snprintf(msg, n_msg, "%s: task %s is %s but the model is a %s model", data, r->d->task,
                        r->d->kind == AXF_TASK_REGRESS ? "regression" : "classification",
                        regress ? "regression" : "classification"), -1;
    sc->n = 0;
    sc->loss = 0;
    sc->pred = axf_xmalloc(sizeof(int) * e->n), sc->gold = axf_xmalloc(sizeof(int) * e->n);
    sc->score = axf_xmalloc(sizeof(float) * e->n), sc->target = axf_xmalloc(sizeof(float) * e->n);
    for (int i = 0; i < e->n; i++) {
        const float *lg = r->logits + (size_t)i * C;
        if (regress) {
            if (isnan(e->targets[i]))
                continue;
            sc->score[sc->n] = lg[0];
            sc->target[sc->n] = e->targets[i];
            sc->loss += (lg[0] - e->targets[i]) * (double)(lg[0] - e->targets[i]);
            sc->n++;
            continue;
        }
        if (e->labels[i] < 0)
            continue;
        if (e->labels[i] >= C)
            return snprintf(msg, n_msg, "%s: example %d has label %d, the model has %d labels", data, i + 1,
                            e->labels[i], C), -1;
        int best = 0;
        double mx = lg[0], s = 0;
        for (int k = 1; k < C; k++) {
            best = lg[k] > lg[best] ? k : best;
            mx = lg[k] > mx ? lg[k] : mx;
        }
        for (int k = 0; k < C; k++)
            s += exp(lg[k] - mx);
        sc->loss += mx + log(s) - lg[e->labels[i]];
        sc->pred[sc->n] = best;
        sc->gold[sc->n] = e->labels[i];
        sc->n++;
    }
    if (sc->n == 0)
        return snprintf(msg, n_msg, "%s: no labelled examples to evaluate", data), -1;
    return 0;
}

static void print_results(const axf_cli_run *r, const scored *sc, int passes)
{
    int n = sc->n, n_all = r->enc->n;
    printf("task=%s\nexamples=%d\n", r->d->task, n);
    if (n < n_all)
        printf("unlabelled=%d\n", n_all - n);
    if (r->m->cfg.task == AXF_TASK_REGRESS) {
        printf("pearson=%.6f\nspearman=%.6f\nmse=%.6f\n", axf_metric_pearson(sc->score, sc->target, n),
               axf_metric_spearman(sc->score, sc->target, n), sc->loss / n);
    } else {
        printf("accuracy=%.6f\nloss=%.6f\n", axf_metric_accuracy(sc->pred, sc->gold, n), sc->loss / n);
        if (is_task(r->d->task, "mrpc", "qqp"))
            printf("f1=%.6f\n", axf_metric_f1(sc->pred, sc->gold, n));
        if (is_task(r->d->task, "cola", NULL))
            printf("mcc=%.6f\n", axf_metric_mcc(sc->pred, sc->gold, n));
    }
    double t = r->engine_s > 0 ? r->engine_s : 1e-9;
    double tc = r->engine_cpu_s > 0 ? r->engine_cpu_s : 1e-9;
    printf("examples_per_s=%.1f\ntokens_per_s=%.1f\nengine_s=%.4f\ntokenize_s=%.4f\n", n_all / t, r->tokens / t,
           r->engine_s, r->tokenize_s);
    printf("engine_cpu_s=%.4f\ntokens_per_cpu_s=%.1f\npasses=%d\n", r->engine_cpu_s, r->tokens / tc, passes);
}

int axf_cmd_eval(int argc, char **argv)
{
    axf_cli_run_opts o;
    int rc;
    if (!axf_cli_run_parse("eval", usage, NULL, argc, argv, &o, &rc))
        return rc;
    o.progress = "eval";
    axf_cli_run r;
    if ((rc = axf_cli_run_all(&o, &r))) {
        axf_cli_run_free(&r);
        return rc;
    }
    scored sc = {0};
    char msg[4400];
    if (score_all(&r, o.data, &sc, msg, sizeof msg))
        rc = axf_cli_fail(msg);
    else
        print_results(&r, &sc, o.repeat);
    scored_free(&sc);
    axf_cli_run_free(&r);
    return rc ? rc : axf_cli_stdout_written();
}
