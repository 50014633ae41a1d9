/* Private helpers shared by the training loop files. */
#ifndef AXF_TRAIN_INTERNAL_H
#define AXF_TRAIN_INTERNAL_H

#include "axf/train.h"
#include "axf/fileio.h"

/* Resume point (see the file description in train.h). */
typedef struct tr_state {
    char mode[16];
    long step, total_steps;
    int epoch, batch_in_epoch;
    uint64_t rng[2];
    int has_best;
    double best_metric;
    long best_step;
    int bad_evals;
    uint64_t seed;
    double loss_ema;
} tr_state;

/* DIR/last: model (+ vocab), optimizer moments and state. */
int tr_state_save(const char *dir, const axf_model *m, const axf_plan *plan, const axf_vocab *v,
                  const axf_adamw *o, const tr_state *st, axf_err *err);
/* Returns 1 when DIR/last holds a resume point, 0 when there is none, -1 on a broken one.
 * Fills m's arena (same shape required), o's moments and st. */
int tr_state_load(const char *dir, axf_model *m, axf_adamw *o, tr_state *st, axf_err *err);

/* Writes a model folder: config.json (with plan's hard attention, axf/compact.h; plan may be
 * NULL), model.safetensors, tokenizer_config.json, vocab.txt. */
int tr_save_model_dir(const axf_model *m, const axf_plan *plan, const axf_vocab *v, const char *dir,
                      axf_err *err);

#endif
