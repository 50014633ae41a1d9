/* The embedded default of the teaching demo: a synthetic sentiment task generated from a small
 * grammar, and a small, deliberately over-parameterised model trained on it from scratch in well
 * under a minute, so `axf demo` needs no downloads.
 *
 * Grammar (one example):
 *   sentence := filler{1..4} phrase (conj filler{0..2} phrase)?   with filler{0..3} after each phrase
 *   phrase   := negator? intensifier? sentiment-word decoy?
 *   sentiment-word: positive {good great fun brilliant charming superb lovely clever}
 *                   negative {bad dull awful boring clumsy bland weak tedious}
 *   negator {not never}: flips the phrase's polarity, only when it comes before the word
 *   intensifier {very really truly so}: strengthens, never flips ("not very good" is negative)
 *   decoy: a negator right after the sentiment word, which negates nothing
 *   conj: "and" joins two phrases of the same polarity; "but" two opposite ones, and the second
 *         decides; "although" two opposite ones, and the first decides
 *   filler: neutral words (the movie plot was ...)
 * One or two phrases (half each). The label (1 positive, 0 negative) is the deciding phrase's
 * polarity after negation, so it depends on a few tokens and their order ("not good" vs "good not",
 * "X but Y" vs "X although Y").
 *
 * Splits: train 10,000, search 2,000 (what the approximation search scores on), held-out 2,000
 * (reported, never searched on). Sentences of search and held-out that also occur in train (or in
 * each other) are redrawn, so the held-out accuracy is honest. Everything is a pure function of
 * the seed.
 *
 * Files written by axf_demo_build into DIR:
 *   DIR/model/     config.json, model.safetensors, tokenizer_config.json, vocab.txt
 *                  (4 layers x 64 hidden, 4 heads, FFN 256; vocabulary: the grammar's words)
 *   DIR/train.tsv, DIR/search.tsv, DIR/heldout.tsv   TSV with header "sentence<TAB>label"
 *   DIR/demo.json  {"format": "axf-demo", "version": 1, "seed": decimal string,
 *                   "train_seconds": wall time of training, "steps": optimiser steps,
 *                   "tokens_per_second": training speed, "train_examples", "search_examples",
 *                   "heldout_examples": counts, "search_accuracy", "heldout_accuracy": of the
 *                   written model (0..1), "model": "4x64, 4 heads, FFN 256"} */
#ifndef AXF_DEMO_H
#define AXF_DEMO_H

#include "axf/common.h"

enum { AXF_DEMO_TRAIN = 0, AXF_DEMO_SEARCH, AXF_DEMO_HELDOUT, AXF_DEMO_NSPLITS };

typedef struct axf_demo_set {
    int n;
    char **text;   /* [n] lower-case words separated by single spaces */
    int *label;    /* [n] 0 negative, 1 positive */
} axf_demo_set;

/* The three splits for a seed. Free each with axf_demo_set_free. */
void axf_demo_generate(uint64_t seed, axf_demo_set *out[AXF_DEMO_NSPLITS]);
void axf_demo_set_free(axf_demo_set *s);
/* The task's vocabulary: [PAD] [UNK] [CLS] [SEP] [MASK], then the grammar's words. */
const char *const *axf_demo_vocab(int *n);

typedef struct axf_demo_result {
    double train_seconds, tokens_per_s;
    double search_acc, heldout_acc;
    long steps;
} axf_demo_result;

/* Generates the task, trains the model and writes everything into dir (created). Training runs on
 * one thread (faster for a model this small; the model is the same bits at any thread count and
 * on every CPU); the caller's setting is restored. fn receives
 * training progress as (step, total steps) and may cancel (then -1, "cancelled"). */
int axf_demo_build(const char *dir, uint64_t seed, axf_progress_fn fn, void *ud, axf_err *err);
/* The same, also reporting what was measured (res may be NULL). */
int axf_demo_build_ex(const char *dir, uint64_t seed, axf_progress_fn fn, void *ud, axf_demo_result *res,
                      axf_err *err);
/* The seed `axf demo` uses when none is given. */
#define AXF_DEMO_SEED 2024

#endif
