/* Shared by the training commands (pretrain, finetune, demo-model): option parsing helpers and
 * the training progress line. */
#ifndef AXF_CMD_TRAIN_UTIL_H
#define AXF_CMD_TRAIN_UTIL_H

#include <stdint.h>

#include "axf/train.h"

/* Progress printer for axf_train_progress_fn: a live line on a terminal, plain lines (every
 * `every` seconds and at each evaluation) otherwise. Output goes to stderr. */
typedef struct tu_progress {
    int tty;
    double last, every;
    int live;    /* a live line is on screen */
} tu_progress;

void tu_progress_init(tu_progress *p);
int tu_progress_cb(const axf_train_status *st, void *ud);
void tu_progress_end(tu_progress *p);

/* The options pretrain and finetune share: model shape, activation, casing, threads, and the
 * optimiser and loop settings of axf_train_opts. */
typedef struct tu_common {
    int layers, hidden, heads, ffn, max_len, threads, cased;
    axf_act act;
    axf_train_opts o;
} tu_common;

/* 4 x 256, 4 heads, FFN 1024, GELU, 128 tokens, 2 threads, axf_train_opts_default(). */
void tu_common_defaults(tu_common *c);
/* When argv[*i] is a shared option: parses it (and its value, advancing *i) and returns 1; returns
 * 0 when it is not one, and -1 after printing a usage error for command `cmd`. */
int tu_common_opt(const char *cmd, int argc, char **argv, int *i, tu_common *c);
/* The usage error "OPT needs WANT" of command cmd; returns axf_cli_usage's status. */
int tu_bad(const char *cmd, const char *opt, const char *want);

/* Parsers returning 0 on success. */
int tu_float(const char *s, double lo, double hi, float *out);
int tu_u64(const char *s, uint64_t *out);
int tu_long(const char *s, long lo, long hi, long *out);
/* "1h02m", "3m05s", "42s" */
void tu_duration(double s, char *buf, int n);

#endif
