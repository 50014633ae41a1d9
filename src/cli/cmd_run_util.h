/* Shared by `axf predict` and `axf eval`: load MODEL_DIR (weights, vocab.txt, hard-attention plan)
 * and DATA, tokenize, and run the engine over every example in packed batches. */
#ifndef AXF_CMD_RUN_UTIL_H
#define AXF_CMD_RUN_UTIL_H

#include "axf/data.h"
#include "axf/plan.h"

struct ru_run;

typedef struct ru_opts {
    const char *model_dir, *data, *task;
    int max_len, batch, threads;
    int repeat;            /* engine passes over the data (timing); the logits are the first pass's */
    int no_labels;         /* read DATA without its labels (predict) */
    const char *progress;  /* label of a progress bar on stderr when it is a terminal; NULL: none */
    /* called in file order as the first pass finishes examples [first, first + count) (NULL: not) */
    void (*on_batch)(const struct ru_run *r, int first, int count, void *ud);
    void *batch_ud;
} ru_opts;

typedef struct ru_run {
    axf_model *m;
    axf_vocab *v;
    axf_plan *plan;        /* dense + the model's "axf_hard_attention" settings */
    axf_dataset *d;
    axf_encoded *enc;
    float *logits;         /* [n, C] */
    double tokenize_s;
    double engine_s, engine_cpu_s; /* one pass: medians over the passes, wall and process CPU time */
    long tokens;
} ru_run;

/* Parses MODEL_DIR DATA [--task T] [--max-len N] [--batch N] [--threads N] [--repeat N]; returns 0, or the
 * exit status of a usage error (already printed). */
int ru_parse(const char *cmd, int argc, char **argv, ru_opts *o);
/* Loads, tokenizes and runs. Returns 0, or 1 after printing "axf: FILE: problem". */
int ru_run_all(const ru_opts *o, ru_run *r);
void ru_free(ru_run *r);

#endif
