/* The inference engine: forward pass over a packed batch (sequences concatenated, no padding).
 * Every linear layer is one product over all tokens of the batch (one per contiguous run of kept
 * heads / neurons under a plan): axf_matmul on the model's weights, or the same arithmetic on
 * packed copies once the caller froze them (axf_engine_freeze_weights), split over the engine's
 * workers; attention runs per sequence. One engine object serves one caller at a time. Threads:
 * the frozen products, attention (one task per sequence and head) and the element-wise passes run
 * on the engine's own workers, as many as axf_set_threads says. Results are the same bits at any
 * thread count and on every CPU (axf/matmul.h). The observer, when set, is
 * called from the caller's thread in (sequence, head) order. Blocks a plan runs in int8
 * (plan.h, axf/quant.h) multiply int8 weights made from the model's (or stored in it) once per
 * layer mask and kept while the engine's weights are frozen (an engine whose weights are not
 * frozen quantizes them again at every call); axf_engine_freeze_weights drops them with the packed
 * float32 copies.
 *
 * Classification reads only each sequence's first token ([CLS]), so the forward pass runs its last
 * layer for those rows only (axf_engine_layer_cls): K and V for all tokens, the rest for B rows.
 *
 * The engine never prints and never exits.
 *
 * Layer widths come from cfg.layer_heads / cfg.layer_ffn. A layer without heads (nh == 0) computes
 * h = LN1(x + bo) and one without FFN neurons (f == 0) out = LN2(h + b2), as when every head /
 * neuron is masked; bo / b2 NULL count as zero, and models built by axf_model_new / load carry no
 * bo (b2) for such layers, which makes them LN1(x) (LN2(h)) like attn_on = 0 (ffn_on = 0). */
#ifndef AXF_ENGINE_H
#define AXF_ENGINE_H

#include "axf/data.h"
#include "axf/model.h"
#include "axf/plan.h"

typedef struct axf_engine axf_engine;

/* Observer of attention probabilities, called (when set) for every layer, sequence and head after
 * softmax and hard attention: probs is [n, n] row-major (query rows). For diagnostics only. */
typedef void (*axf_attn_observer)(int layer, int seq, int head, int n, const float *probs, void *ud);

/* Scratch for batches of up to max_tokens tokens in total. The model must outlive the engine;
 * its weights may change between calls (training). */
axf_engine *axf_engine_new(const axf_model *m, int max_tokens, axf_err *err);
void axf_engine_free(axf_engine *e);
/* frozen = 1: the caller promises that the model's encoder weights stay as they are until it
 * calls this again; the engine then multiplies with its own copies of the weight matrices, packed
 * for its GEMM on first use (as much memory again as the encoder weights), and keeps the int8
 * weights of int8 blocks from one call to the next. frozen = 0 drops the copies and multiplies the
 * model's weights in place (axf_matmul; the default). Every call drops the copies, so a caller that
 * changes the weights of a frozen engine calls it again (0 or 1) before the next forward pass.
 * Frozen or not, the results are the same bits. */
void axf_engine_freeze_weights(axf_engine *e, int frozen);
void axf_engine_set_observer(axf_engine *e, axf_attn_observer fn, void *ud);

/* h[T, H] = LayerNorm(word + position + type embeddings); positions start at cfg.pos_offset, and
 * a model without token types (type_vocab 0) ignores the batch's types. Under a plan with
 * int8_embed (plan may be NULL: dense) each word row is first taken through its int8 form
 * (axf_quant_row, then q · scale), unless the model stores the table in int8 already. */
void axf_engine_embed(axf_engine *e, const axf_plan *plan, const axf_batch *b, float *h);
/* Runs encoder layer `layer` in place on h[T, H] under lp (NULL = dense). */
void axf_engine_layer(axf_engine *e, int layer, const axf_layer_plan *lp, const axf_batch *b, float *h);
/* Layer `layer` as axf_engine_layer, but computed for the first token ([CLS]) of each sequence
 * only, which is all the head reads: K and V are projected for every token, the rest for B rows.
 * Afterwards each sequence's first row of h holds what axf_engine_layer would have put there (to
 * float rounding: same operations, sgemm over fewer rows); the other rows of h are unspecified.
 * With an observer set it runs the full layer (the observer is promised every query row). */
void axf_engine_layer_cls(axf_engine *e, int layer, const axf_layer_plan *lp, const axf_batch *b, float *h);
/* The layer to run with axf_engine_layer_cls under plan (NULL = dense): the last one not skipped
 * whole (attn_on or ffn_on); layers above it are identity and need not run. -1 if none. */
int axf_engine_last_live_layer(const axf_engine *e, const axf_plan *plan);
/* logits[B, C] from the final hidden states: the head's first product on each [CLS] (BERT's pooler,
 * DistilBERT's pre_classifier, RoBERTa's classifier.dense), cfg.head_act (tanh or ReLU), the
 * classifier. */
void axf_engine_head(axf_engine *e, const axf_batch *b, const float *h, float *logits);
/* All of the above: embeddings, axf_engine_layer up to axf_engine_last_live_layer, which runs as
 * axf_engine_layer_cls, then the head. plan may be NULL (dense). Returns 0, or -1 if the batch is
 * too large or an id is out of range (message names the problem). */
int axf_engine_forward(axf_engine *e, const axf_plan *plan, const axf_batch *b, float *logits,
                       axf_err *err);

/* The attention probabilities of one head for a batch of one sequence of n tokens: probs[n, n],
 * query rows, exactly as axf_engine_forward under plan computes them (what the observer sees),
 * except that layer `layer` runs its attention as lp says (NULL = plan's layer, dense when plan is
 * NULL): lp's hard-attention setting and int8 flag count, its block and head masks do not (the head
 * is computed even when lp or plan removes it). Layers below run as plan says. For showing what
 * hard attention does to one sentence; the engine's observer is not called (and stays set).
 * 0, or -1 naming the problem (batch, plan, layer or head out of range). */
int axf_engine_attention(axf_engine *e, const axf_plan *plan, const axf_batch *b, int layer, int head,
                         const axf_layer_plan *lp, float *probs, axf_err *err);

/* Checks a batch against the engine (size, offsets, sequence lengths <= max positions, ids and
 * token types in range; types may be NULL = all 0) and a plan against the model (layer count,
 * hard-attention parameters; NULL is fine). Sequences hold at most axf_config_max_len tokens;
 * types are not checked for a model without them. axf_engine_forward runs both; callers of the
 * per-layer functions above run them once per batch. */
int axf_engine_check(const axf_engine *e, const axf_batch *b, axf_err *err);
int axf_engine_check_plan(const axf_engine *e, const axf_plan *p, axf_err *err);
int axf_engine_max_tokens(const axf_engine *e);
/* For benchmarks: issues exactly the sgemm calls of axf_engine_forward (same shapes, same threads)
 * and skips all other work, so its time is the floor the forward pass cannot go below. The
 * engine's buffers and logits[B, C] receive meaningless values. Returns 0 or -1 as forward. */
int axf_engine_gemm_floor(axf_engine *e, const axf_plan *plan, const axf_batch *b, float *logits, axf_err *err);
/* The engine's [max_tokens, H] buffer: after axf_engine_forward the row of each sequence's first
 * token ([CLS]) holds its final hidden state; the other rows are unspecified (the last layer runs
 * for the [CLS] rows only), except with an observer set, when every row is final. */
float *axf_engine_hidden(axf_engine *e);

/* Numerically exact building blocks, shared with training (outputs first, sizes last). */
void axf_layernorm(float *out, const float *in, const float *g, const float *b, int T, int H, float eps);
void axf_gelu(float *x, size_t n);          /* erf form, in place */
void axf_gelu_tanh(float *x, size_t n);     /* tanh form, in place */
void axf_softmax_rows(float *x, int rows, int cols);

#endif
