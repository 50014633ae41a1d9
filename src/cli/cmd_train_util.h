/* What the training commands (pretrain, finetune, distill) share: the model-shape and training
 * options as option tables (cli.h), and the training progress line. */
#ifndef AXF_CMD_TRAIN_UTIL_H
#define AXF_CMD_TRAIN_UTIL_H

#include "axf/data.h"
#include "axf/train.h"
#include "cli.h"

typedef struct axf_cli_train {
    int layers, hidden, heads, ffn, max_len, threads, cased, act; /* act: an axf_act */
    axf_train_opts o;
    /* option tables into the fields above (axf_cli_train_init): the model's shape and casing
     * (--layers --hidden --heads --ffn --act --cased), and the optimiser and loop (--epochs
     * --steps --batch --lr --warmup --weight-decay --clip --dropout --attn-dropout --eval-every
     * --seed --threads --resume) */
    axf_opt shape[7], loop[14];
    /* the training progress line (axf_cli_train_progress's ud), from axf_cli_train_ready on */
    axf_cli_progress progress;
} axf_cli_train;

/* The end of their --help: determinism and exit status. */
extern const char axf_cli_train_footer[];

/* Defaults (4 x 256, 4 heads, FFN 1024, GELU, 128 tokens, 2 threads, axf_train_opts_default())
 * and the tables. The tables point into c: it must not move afterwards. */
void axf_cli_train_init(axf_cli_train *c);

/* The end of a training command's parsing: bad (a usage error, or NULL), else the threads set, the
 * progress line started and an output that cannot be written refused before any training (out_dir,
 * and out2 when given: a folder when out2_dir, else a file). Returns 1 when the command goes on,
 * else 0 and *status. */
int axf_cli_train_ready(const char *cmd, const char *bad, axf_cli_train *c, const char *out_dir, const char *out2,
                        int out2_dir, int *status);

/* axf_train_progress_fn, ud = &c->progress: a line redrawn in place on a terminal, plain lines
 * every 10 seconds and at each evaluation otherwise. */
int axf_cli_train_progress(const axf_train_status *st, void *ud);
/* The lines every training command prints at its end (after ending the progress line): the step
 * it resumed from, best (the line on the best evaluation; NULL: none), steps, speed and time, and
 * where the model went. */
void axf_cli_train_summary(axf_cli_train *c, const axf_train_result *res, const char *best, const char *out);

/* The examples of files[0..n) read as task (for the model cfg's classes when cfg is not NULL) in one
 * dataset; every classification example must have a label, every file the first one's task. Those
 * with the text of an example of leave_out (may be NULL) are left out, and counted in *dropped. */
axf_dataset *axf_cli_train_data(const char *const *files, int n, const char *task, const axf_config *cfg,
                                const axf_dataset *leave_out, int *dropped, axf_err *err);

#endif
