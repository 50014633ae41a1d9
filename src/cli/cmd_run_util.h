/* Shared by `axf predict` and `axf eval`: load MODEL_DIR (weights, vocab.txt, hard-attention plan)
 * and DATA, tokenize, and run the engine over every example in packed batches. */
#ifndef AXF_CMD_RUN_UTIL_H
#define AXF_CMD_RUN_UTIL_H

#include "axf/data.h"
#include "axf/plan.h"

struct axf_cli_run;

typedef struct axf_cli_run_opts {
    const char *model_dir, *data, *task;
    int max_len, batch, threads;
    int repeat;            /* engine passes over the data (timing); the logits are the first pass's */
    int no_labels;         /* read DATA without its labels (predict) */
    const char *progress;  /* label of a progress bar on stderr when it is a terminal; NULL: none */
    /* called in file order as the first pass finishes examples [first, first + count) (NULL: not) */
    void (*on_batch)(const struct axf_cli_run *r, int first, int count, void *ud);
    void *batch_ud;
} axf_cli_run_opts;

typedef struct axf_cli_run {
    axf_model *m;
    axf_vocab *v;
    axf_plan *plan;        /* dense + the model's "axf_hard_attention" settings */
    axf_dataset *d;
    axf_encoded *enc;
    float *logits;         /* [n, C] */
    double tokenize_s;
    double engine_s, engine_cpu_s; /* one pass: medians over the passes, wall and process CPU time */
    long tokens;
} axf_cli_run;

/* Parses MODEL_DIR DATA [--task T] [--max-len N] [--batch N] [--threads N] [--repeat N] (--help:
 * usage, the options, footer). Returns 1 when the command goes on, else 0 and *status
 * (axf_opt_parse). */
int axf_cli_run_parse(const char *cmd, const char *usage, const char *footer, int argc, char **argv,
                      axf_cli_run_opts *o, int *status);
/* Loads, tokenizes and runs. Returns 0, or 1 after printing "axf: FILE: problem". */
int axf_cli_run_all(const axf_cli_run_opts *o, axf_cli_run *r);
void axf_cli_run_free(axf_cli_run *r);

#endif
