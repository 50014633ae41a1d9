/* Training: forward pass that keeps its activations, backward pass, gate gradients for the search,
 * AdamW, and the fine-tuning / masked-LM pre-training loops.
 *
 * Dims as in model.h, plus B sequences and T tokens of a packed batch, M masked positions.
 * Every product is one axf_matmul (attention: one per sequence and head), so a model trained from
 * a seed is the same bits on every CPU. A training context
 * owns all activation and gradient memory; it grows on the first batches of a new size and then
 * allocates nothing per step.
 *
 * Files written by the training loops (besides the model's config.json, model.safetensors and
 * vocab.txt, see model.h / tokenizer.h):
 *   DIR/last/                  resume point: config.json, model.safetensors, vocab.txt, plus
 *   DIR/last/optimizer.safetensors   two F32 tensors "adam.m" and "adam.v", each [n] where n is the
 *                              model's arena size in floats (same order as the arena)
 *   DIR/last/trainer_state.json      {"format": "axf-trainer-state", "version": 1,
 *                              "mode": "finetune" | "pretrain", "step": completed optimiser steps,
 *                              "total_steps": planned steps, "epoch": epoch of the next batch,
 *                              "batch_in_epoch": index of the next batch in that epoch's order,
 *                              "rng": [s0, s1] dropout / masking RNG state as 16-hex-digit strings,
 *                              "best_metric": best dev metric so far (null when none),
 *                              "best_step": step of the best, "bad_evals": evaluations since the
 *                              best, "seed": the run's seed (decimal string), "loss_ema": running
 *                              loss}
 *   DIR/train_log.tsv          one line per evaluation: step, epoch, train loss, dev loss,
 *                              dev metric, seconds (header line first). */
#ifndef AXF_TRAIN_H
#define AXF_TRAIN_H

#include "axf/data.h"
#include "axf/engine.h"
#include "axf/model.h"
#include "axf/plan.h"
#include "axf/tokenizer.h"

typedef struct axf_train_ctx axf_train_ctx;

/* ---- gate gradients (contract with src/search) ---------------------------------------------- */

/* dL/dgate at gate = 1 of the batch's summed loss (sum of per-sequence losses), for a gate that
 * multiplies: each head's context output (head), each FFN neuron's activation (neuron), the whole
 * attention block output before the residual (attn), the whole FFN block output before the
 * residual (ffn). Elements removed by the plan (or absent from the model) get 0. */
typedef struct axf_gate_grads {
    float head[AXF_MAX_LAYERS][AXF_MAX_HEADS];
    float attn[AXF_MAX_LAYERS];
    float ffn[AXF_MAX_LAYERS];
    float *neuron[AXF_MAX_LAYERS]; /* [f] each, allocated by axf_gate_grads_new */
} axf_gate_grads;

axf_gate_grads *axf_gate_grads_new(const axf_model *m);
void axf_gate_grads_free(axf_gate_grads *g);
/* Eval mode (no dropout). labels [B] for classification, targets [B] for regression (the other may
 * be NULL). plan may be NULL (dense). Overwrites out. Returns 0, or -1 on a bad batch. */
int axf_gate_grads_batch(const axf_model *m, const axf_plan *plan, const axf_batch *b, const int *labels,
                         const float *targets, axf_gate_grads *out, axf_err *err);
/* The same with a caller-kept context (axf_train_ctx_new on the same model; its dropout is set to
 * 0). The per-call variant allocates and frees all activation memory on every batch; this one
 * allocates on the first batches only. */
int axf_gate_grads_batch_ctx(axf_train_ctx *c, const axf_plan *plan, const axf_batch *b, const int *labels,
                             const float *targets, axf_gate_grads *out, axf_err *err);

/* ---- forward / backward --------------------------------------------------------------------- */

/* What a batch is trained on. Classification uses labels, regression targets; with neither, the
 * pooler and classifier are not run (pure masked-LM). mlm_pos lists token indices (relative to the
 * batch's first token) whose original ids mlm_ids the masked-LM head must predict; the batch's ids
 * already hold the corrupted tokens. */
typedef struct axf_train_batch {
    axf_batch b;
    const int *labels;      /* [B] or NULL */
    const float *targets;   /* [B] or NULL */
    const int *mlm_pos;     /* [M] or NULL */
    const int *mlm_ids;     /* [M] */
    int n_mlm;              /* M */
    /* Distillation (all optional, zero = off). soft: the teacher's logits [B, C]; the
     * classification term of each sequence becomes
     *   kd_alpha · T² · KL(softmax(soft / T) ‖ softmax(z / T)) + (1 − kd_alpha) · CE(z, label)
     * with T = kd_temp (Hinton et al.: the teacher's distribution first; the T² keeps the soft
     * term's gradient on the scale of the hard one), for regression
     *   kd_alpha · (z − soft)² + (1 − kd_alpha) · (z − target)².
     * hid: the teacher's last hidden states [T, H] for the batch's tokens; adds, per sequence,
     * hid_weight · the mean over its tokens and H of (h − hid)², reduced like the other term. */
    const float *soft;      /* [B, C] or NULL */
    float kd_alpha, kd_temp;
    const float *hid;       /* [T, H] or NULL */
    float hid_weight;
} axf_train_batch;

typedef enum { AXF_LOSS_MEAN = 0, AXF_LOSS_SUM } axf_loss_reduction;

/* m must outlive the context; its weights may change between steps (the optimiser). */
axf_train_ctx *axf_train_ctx_new(axf_model *m, axf_err *err);
void axf_train_ctx_free(axf_train_ctx *c);
/* Dropout probabilities (0 = off) for hidden states (after the embeddings, both residual branches
 * and the pooler) and attention probabilities; masks are drawn from rng (kept by the caller). */
void axf_train_ctx_set_dropout(axf_train_ctx *c, float hidden, float attn, axf_rng *rng);
/* Parameter gradients as a model of the same shape (tensor views into a gradient arena laid out
 * like the model's arena). The MLM decoder's gradient is added to word_emb (tied weights). */
axf_model *axf_train_grads(axf_train_ctx *c);
void axf_train_zero_grad(axf_train_ctx *c);

/* Forward pass keeping activations. plan may be NULL; removed elements are gated by zero here
 * (hard attention: a fixed mask, gradients flow through the kept probabilities). loss receives the
 * classification (cross-entropy) or regression (squared error) term, mean or sum over sequences,
 * plus the masked-LM cross-entropy, mean or sum over predicted tokens. logits [B, C] may be NULL.
 * Returns 0, or -1 when an id, type or position is out of range. */
int axf_train_forward(axf_train_ctx *c, const axf_plan *plan, const axf_train_batch *tb,
                      axf_loss_reduction red, double *loss, float *logits, axf_err *err);
/* Backward of the last forward. param_grads: accumulate into the gradient arena. gates: when not
 * NULL, overwritten with the gate gradients of the same loss. */
void axf_train_backward(axf_train_ctx *c, int param_grads, axf_gate_grads *gates);
/* Per-sequence losses of the last forward [B] (classification / regression term only). */
const float *axf_train_seq_losses(const axf_train_ctx *c);
/* The last layer's hidden states of the last forward [T, H] (valid until the next forward). */
const float *axf_train_hidden(const axf_train_ctx *c);

/* ---- optimiser ------------------------------------------------------------------------------ */

/* AdamW (decoupled weight decay) with bias correction over the whole arena. Weight decay applies
 * to weight matrices and embeddings, never to LayerNorm gains or biases. */
typedef struct axf_adamw {
    float beta1, beta2, eps, weight_decay;
    long step;              /* updates done */
    float grad_scale;       /* the next step's gradients are multiplied by this (1; set for clipping) */
    size_t n;
    float *m, *v;           /* [n] moments, same layout as the arena */
    unsigned char *decay;   /* [n] 1 where weight decay applies, 2 frozen (never updated) */
    size_t n_frozen;        /* elements marked 2 */
} axf_adamw;

/* Weight matrices the model stores in int8 (model.h q8) are frozen: training keeps their q and
 * scale (and so their float32 view q · scale) bit for bit, and only the float32 parameters move.
 * Gradients still flow through them to the layers below, as through the float32 product (the
 * engine's per-token quantization of the inputs is taken as the identity: straight-through). */
axf_adamw *axf_adamw_new(const axf_model *m, float weight_decay);
void axf_adamw_free(axf_adamw *o);
void axf_adamw_step(axf_adamw *o, axf_model *m, const axf_model *grads, float lr);
/* Zeroes the gradients of frozen elements (so that clipping's norm ignores them). */
void axf_adamw_mask_frozen(const axf_adamw *o, axf_model *grads);
/* Scales grads so that their global L2 norm is at most max_norm (<= 0: no clipping). Returns the
 * norm before clipping. */
double axf_grad_clip(axf_model *grads, float max_norm);
/* Global L2 norm (the loops clip by setting grad_scale instead of rewriting the gradients). */
double axf_grad_norm(const axf_model *grads);
/* Linear warm-up over `warmup` steps to peak, then linear decay to 0 at `total`. */
float axf_lr_at(long step, long warmup, long total, float peak);

/* ---- training loops ------------------------------------------------------------------------- */

typedef struct axf_train_opts {
    int epochs;             /* passes over the data (used when max_steps == 0) */
    long max_steps;         /* optimiser steps; 0 = epochs decide */
    int batch_size;         /* sequences per step */
    float lr, warmup;       /* peak learning rate; warm-up as a fraction of all steps */
    float weight_decay, clip, beta1, beta2, eps;
    float hidden_dropout, attn_dropout;
    float mlm_prob;         /* pre-training: share of tokens to predict (0.15) */
    uint64_t seed;
    int eval_every;         /* steps between dev evaluations / checkpoints; 0 = once per epoch */
    int patience;           /* fine-tuning: stop after this many evaluations without improvement; 0 = never */
    int resume;             /* continue from DIR/last when present */
    int save_last;          /* write DIR/last at every evaluation (needed for resume) */
    const axf_plan *plan;   /* fine-tuning and distillation: the plan the model runs with in
                             * training and evaluation (an exported model's hard attention,
                             * axf_plan_load_hard) and that is saved with it; NULL = dense */
} axf_train_opts;

axf_train_opts axf_train_opts_default(void);

/* What the progress callback sees. */
typedef struct axf_train_status {
    const char *phase;      /* "finetune", "pretrain", "eval" */
    int epoch;              /* epoch of the step just done, from 1 */
    long step, total_steps;
    double loss;            /* running mean of recent training losses */
    double tokens_per_s;    /* training tokens (real, unpadded) per second, this run */
    double elapsed, eta;    /* seconds */
    double dev_metric;      /* last dev metric (accuracy, or -MSE for regression); NAN when none */
    double dev_loss;
    int evaluated;          /* 1 when this call reports a fresh dev evaluation */
} axf_train_status;

/* Called after every step and evaluation; return nonzero to stop (the best model so far is kept). */
typedef int (*axf_train_progress_fn)(const axf_train_status *st, void *ud);

typedef struct axf_train_result {
    long steps;
    double best_metric, best_loss;  /* on dev */
    long best_step;
    double seconds, tokens_per_s;
    long tokens;
    int stopped_early;      /* patience ran out */
    int cancelled;          /* the progress callback asked to stop */
    int resumed_from;       /* step the run resumed from (0 = fresh start) */
} axf_train_result;

/* Fine-tunes m (classification or regression, per m->cfg.task) on train, selecting on dev by
 * accuracy (classification) or -MSE (regression). When out_dir is given, the best model is written
 * there (with vocab.txt from v) and, with opts->save_last, a resume point in out_dir/last. On
 * return m holds the best model. dev may be NULL (then the last model is kept). */
int axf_finetune_run(axf_model *m, const axf_encoded *train, const axf_encoded *dev,
                     const axf_train_opts *opts, const char *out_dir, const axf_vocab *v,
                     axf_train_progress_fn fn, void *ud, axf_train_result *res, axf_err *err);

/* Distillation of a student (an exported, compacted model, any per-layer shape, int8 parts frozen)
 * from a teacher (the original model) on train, selecting on dev by accuracy (-MSE) like
 * axf_finetune_run, the student's starting point included (evaluated at step 0, so the kept model
 * is never worse on dev than the start). The teacher's logits on train are computed once, in eval
 * mode under teacher_plan (may be NULL); hidden-state matching (hid_weight > 0) runs the teacher
 * on every batch and needs the same hidden size. Loss: see axf_train_batch. Resumable like
 * finetune (mode "distill"); the saved model carries opts->plan's hard attention. */
typedef struct axf_distill_opts {
    float alpha;            /* weight of the soft term, 0..1 (0.5) */
    float temperature;      /* T > 0 (2) */
    float hid_weight;       /* hidden-state matching weight (0 = off) */
} axf_distill_opts;

axf_distill_opts axf_distill_opts_default(void);
int axf_distill_run(axf_model *student, axf_model *teacher, const axf_plan *teacher_plan,
                    const axf_encoded *train, const axf_encoded *dev, const axf_distill_opts *d,
                    const axf_train_opts *opts, const char *out_dir, const axf_vocab *v,
                    axf_train_progress_fn fn, void *ud, axf_train_result *res, axf_err *err);

/* Masked-LM pre-training of m (which must have the MLM head) on sequences already encoded as
 * [CLS] ... [SEP]. Each step masks opts->mlm_prob of the non-special tokens: 80% become [MASK],
 * 10% a random non-special id, 10% stay. dev (may be NULL) is masked once with a fixed seed and
 * scored by masked-LM loss. Writes out_dir (with mlm head) at every evaluation. */
int axf_pretrain_run(axf_model *m, const axf_encoded *train, const axf_encoded *dev,
                     const axf_train_opts *opts, const char *out_dir, const axf_vocab *v,
                     axf_train_progress_fn fn, void *ud, axf_train_result *res, axf_err *err);

/* Evaluates m on d in eval mode: mean loss and metric (accuracy or -MSE); preds [n] may be NULL. */
int axf_train_evaluate(axf_model *m, const axf_encoded *d, int batch_size, double *loss,
                       double *metric, int *preds, axf_err *err);
/* The same under a plan (NULL = dense). */
int axf_train_evaluate_plan(axf_model *m, const axf_plan *plan, const axf_encoded *d, int batch_size,
                            double *loss, double *metric, int *preds, axf_err *err);
/* Logits [n, C] of every example of d in eval mode (scores for regression); plan may be NULL. */
int axf_train_predict(axf_model *m, const axf_encoded *d, int batch_size, float *logits, axf_err *err);
int axf_train_predict_plan(axf_model *m, const axf_plan *plan, const axf_encoded *d, int batch_size,
                           float *logits, axf_err *err);

/* ---- data helpers --------------------------------------------------------------------------- */

/* Length-bucketed batches: a seeded shuffle, then sorting inside windows of 50 batches by length,
 * cutting into batches of batch_size, and shuffling the batch order. order receives n example
 * indices; starts [n_batches + 1] the batch boundaries in order. Returns the batch count. */
int axf_train_bucket_batches(const int *off, int n, int batch_size, uint64_t seed, int *order,
                             int *starts);

/* Key under which two sentences count as the same text (for de-duplicating corpora against test
 * sets): lower-cased, -lrb-/-rrb- style escapes dropped, only ASCII letters and digits kept, so
 * tokenisation, punctuation and accents do not matter. Returns a new string. */
char *axf_text_norm_key(const char *s);

/* Sentences to keep out of a pre-training corpus. A corpus line matches when, normalised as by
 * axf_text_norm_key, (a) it equals a filter sentence, (b) it contains a filter sentence of at
 * least AXF_FILTER_MIN_CONTAIN normalised characters (review snippets hold several sentences,
 * and the Stanford Sentiment Treebank split them), or (c) one of its pieces cut at . ! ? ; :
 * equals a filter sentence (catches the short ones of (b)). */
#define AXF_FILTER_MIN_CONTAIN 12
typedef struct axf_text_filter axf_text_filter;
axf_text_filter *axf_text_filter_new(void);
void axf_text_filter_add(axf_text_filter *f, const char *sentence);
int axf_text_filter_match(axf_text_filter *f, const char *line);
/* How many distinct filter sentences matched some line so far. */
int axf_text_filter_hits(const axf_text_filter *f, int *total);
void axf_text_filter_free(axf_text_filter *f);

/* Builds a WordPiece vocabulary of `size` entries for the sentences in texts.
 * base != NULL: BERT-style cut. The texts are tokenized with base; the vocabulary keeps the
 *   special tokens, every single-character piece (and its ## form) the texts use, then base's
 *   pieces by frequency on the texts, in base's order. Words whose pieces survived tokenize exactly
 *   as with base; the others fall back to shorter pieces, never to [UNK] (chars are kept).
 * base == NULL: built from scratch: specials, characters (plain and ##), then whole words and ##
 *   suffixes interleaved by frequency.
 * lower: lower-case and strip accents (uncased). */
axf_vocab *axf_vocab_build(const char *const *texts, int n, int size, const axf_vocab *base, int lower,
                           axf_err *err);

#endif
