/* `axf predict MODEL_DIR DATA`: one line per example with the predicted label and the logits. */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_run_util.h"

static const char *usage =
    "usage: axf predict MODEL_DIR DATA [--task T] [--max-len N] [--batch N] [--threads N]\n"
    "                   [--repeat N]\n"
    "Runs the model of MODEL_DIR (config.json, model.safetensors or pytorch_model.bin, vocab.txt or\n"
    "vocab.json + merges.txt; BERT, DistilBERT or RoBERTa; hard attention from\n"
    "config.json when present) on every example of DATA and prints, in file order and as each\n"
    "batch finishes (a progress bar on stderr when it is a terminal and stdout is not),\n"
    "  index<TAB>pred<TAB>logit0<TAB>logit1...   (classification; pred = arg max, index from 0)\n"
    "  index<TAB>score                           (regression)\n"
    "DATA's labels, when it has any, are not read.\n";

/* Rows of examples [first, first + count), printed as their batch finishes: a long file streams
 * instead of printing nothing until the end. */
static void print_rows(const axf_cli_run *r, int first, int count, void *ud)
{
    (void)ud;
    int C = r->m->cfg.num_labels;
    for (int i = first; i < first + count; i++) {
        const float *lg = r->logits + (size_t)i * C;
        if (r->m->cfg.task == AXF_TASK_REGRESS) {
            printf("%d\t%.9g\n", i, lg[0]);
            continue;
        }
        int best = 0;
        for (int c = 1; c < C; c++)
            best = lg[c] > lg[best] ? c : best;
        printf("%d\t%d", i, best);
        for (int c = 0; c < C; c++)
            printf("\t%.9g", lg[c]);
        putchar('\n');
    }
    fflush(stdout);
}

int axf_cmd_predict(int argc, char **argv)
{
    axf_cli_run_opts o;
    int rc;
    if (!axf_cli_run_parse("predict", usage, NULL, argc, argv, &o, &rc))
        return rc;
    o.no_labels = 1;
    o.on_batch = print_rows;
    o.progress = isatty(1) ? NULL : "predict"; /* the rows themselves show progress on a terminal */
    axf_cli_run r;
    rc = axf_cli_run_all(&o, &r);
    axf_cli_run_free(&r);
    return rc ? rc : axf_cli_stdout_written();
}
