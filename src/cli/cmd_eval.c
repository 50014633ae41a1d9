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
    "outside them is an error naming the file and line.\n"
    "Options as for axf predict (see axf predict --help).\n";

static int is_task(const char *t, const char *a, const char *b)
{
    return !strcmp(t, a) || (b && !strcmp(t, b));
}

int axf_cmd_eval(int argc, char **argv)
{
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    ru_opts o;
    int rc = ru_parse("eval", argc, argv, &o);
    if (rc)
        return rc;
    o.progress = "eval";
    ru_run r;
    if ((rc = ru_run_all(&o, &r))) {
        ru_free(&r);
        return rc;
    }
    const axf_encoded *e = r.enc;
    const axf_config *c = &r.m->cfg;
    int C = c->num_labels, regress = c->task == AXF_TASK_REGRESS;
    char msg[4400];
    if (r.d->num_labels == 0) {
        snprintf(msg, sizeof msg, "%s: no labels to evaluate against (task %s)", o.data, r.d->task);
        ru_free(&r);
        return axf_cli_fail(msg);
    }
    if (regress != (r.d->kind == AXF_TASK_REGRESS)) {
        snprintf(msg, sizeof msg, "%s: task %s is %s but the model is a %s model", o.data, r.d->task,
                 r.d->kind == AXF_TASK_REGRESS ? "regression" : "classification",
                 regress ? "regression" : "classification");
        ru_free(&r);
        return axf_cli_fail(msg);
    }
    int n = 0, *pred = axf_xmalloc(sizeof(int) * e->n), *gold = axf_xmalloc(sizeof(int) * e->n);
    float *score = axf_xmalloc(sizeof(float) * e->n), *target = axf_xmalloc(sizeof(float) * e->n);
    double loss = 0;
    for (int i = 0; i < e->n; i++) {
        const float *lg = r.logits + (size_t)i * C;
        if (regress) {
            if (isnan(e->targets[i]))
                continue;
            score[n] = lg[0];
            target[n] = e->targets[i];
            loss += (lg[0] - e->targets[i]) * (double)(lg[0] - e->targets[i]);
            n++;
            continue;
        }
        if (e->labels[i] < 0)
            continue;
        if (e->labels[i] >= C) {
            snprintf(msg, sizeof msg, "%s: example %d has label %d, the model has %d labels", o.data, i + 1,
                     e->labels[i], C);
            free(pred), free(gold), free(score), free(target);
            ru_free(&r);
            return axf_cli_fail(msg);
        }
        int best = 0;
        double mx = lg[0], s = 0;
        for (int k = 1; k < C; k++) {
            best = lg[k] > lg[best] ? k : best;
            mx = lg[k] > mx ? lg[k] : mx;
        }
        for (int k = 0; k < C; k++)
            s += exp(lg[k] - mx);
        loss += mx + log(s) - lg[e->labels[i]];
        pred[n] = best;
        gold[n] = e->labels[i];
        n++;
    }
    if (n == 0) {
        snprintf(msg, sizeof msg, "%s: no labelled examples to evaluate", o.data);
        free(pred), free(gold), free(score), free(target);
        ru_free(&r);
        return axf_cli_fail(msg);
    }
    printf("task=%s\nexamples=%d\n", r.d->task, n);
    if (n < e->n)
        printf("unlabelled=%d\n", e->n - n);
    if (regress) {
        printf("pearson=%.6f\nspearman=%.6f\nmse=%.6f\n", axf_metric_pearson(score, target, n),
               axf_metric_spearman(score, target, n), loss / n);
    } else {
        printf("accuracy=%.6f\nloss=%.6f\n", axf_metric_accuracy(pred, gold, n), loss / n);
        if (is_task(r.d->task, "mrpc", "qqp"))
            printf("f1=%.6f\n", axf_metric_f1(pred, gold, n));
        if (is_task(r.d->task, "cola", NULL))
            printf("mcc=%.6f\n", axf_metric_mcc(pred, gold, n));
    }
    double t = r.engine_s > 0 ? r.engine_s : 1e-9;
    double tc = r.engine_cpu_s > 0 ? r.engine_cpu_s : 1e-9;
    printf("examples_per_s=%.1f\ntokens_per_s=%.1f\nengine_s=%.4f\ntokenize_s=%.4f\n", e->n / t, r.tokens / t,
           r.engine_s, r.tokenize_s);
    printf("engine_cpu_s=%.4f\ntokens_per_cpu_s=%.1f\npasses=%d\n", r.engine_cpu_s, r.tokens / tc, o.repeat);
    free(pred), free(gold), free(score), free(target);
    ru_free(&r);
    if (fflush(stdout) || ferror(stdout))
        return axf_cli_fail("stdout: write error");
    return 0;
}
