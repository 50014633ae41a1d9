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

/* Parsers returning 0 on success. */
int tu_float(const char *s, double lo, double hi, float *out);
int tu_u64(const char *s, uint64_t *out);
int tu_long(const char *s, long lo, long hi, long *out);
/* "1h02m", "3m05s", "42s" */
void tu_duration(double s, char *buf, int n);

#endif
