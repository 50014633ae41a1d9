/* Compaction: a plan applied to a model becomes a smaller model with the removed parts physically
 * cut out (masking and compaction give the same logits, tested to 1e-5).
 *
 * Per layer: the kept heads' rows of Q/K/V (and biases) and columns of the output projection; the
 * kept neurons' rows of W1/b1 and columns of W2; a removed attention block (nh = 0) or FFN block
 * (f = 0) keeps only its LayerNorm, as model.h describes; a layer whose two blocks are both gone
 * is dropped and the later layers renumbered. Embeddings, pooler, classifier and the MLM head are
 * copied unchanged. head_ids keep the original head numbers, so config.json records which heads
 * survived (and pruned_heads where Hugging Face can express it: see model.h).
 * A block the plan runs in int8 (int8_attn / int8_ffn) is stored in int8 in the new model: the
 * int8 form of its kept part (axf_quant_gather, the weights the engine multiplies under the
 * plan), its float32 matrices set to q · scale (model.h); the new model's plan (axf_plan_new)
 * then runs it in int8 and computes the masked plan's logits bit for bit.
 *
 * Hard attention is not part of the weights. It travels as a plan for the compacted model (dense
 * except for the hard settings, on the renumbered layers) and on disk as one extra config.json
 * field written by axf_compact_save and read by axf_plan_load_hard:
 *   "axf_hard_attention": [ {"layer": i,          layer of the compacted model (0-based)
 *                            "mode": "topk" | "topk_renorm" | "threshold",
 *                            "k": K,              top-k modes
 *                            "threshold": p}, … ] threshold mode
 * Only layers with hard attention are listed; the field is absent when there are none.
 * axf_compact_save also writes "axf_fields": {field: one line saying what it means} for every
 * axf_* field of the file, so that a reader finds them documented in one place. Any
 * program evaluating an exported model must run it with that plan (axf eval does, through
 * axf_plan_load_hard); other readers ignore the field and get dense attention. */
#ifndef AXF_COMPACT_H
#define AXF_COMPACT_H

#include "axf/model.h"
#include "axf/plan.h"

/* New model with p's removed parts cut out of m. When hard is not NULL it receives the plan to run
 * the new model with (dense + the hard-attention settings), owned by the caller. NULL + err when
 * p does not fit m. */
axf_model *axf_compact(const axf_model *m, const axf_plan *p, axf_plan **hard, axf_err *err);

/* axf_model_save(cm, dir) plus the "axf_hard_attention" field from hard (may be NULL), and
 * the tokenizer files of folder tok_dir (may be NULL: none) copied beside (vocab.txt, or vocab.json
 * and merges.txt: axf_vocab_copy_files). Every file is written atomically. */
int axf_compact_save(const axf_model *cm, const axf_plan *hard, const char *dir,
                     const char *tok_dir, axf_err *err);

/* The inverse of axf_compact: writes the weights of cm (a model of the shape axf_compact(m, p) has,
 * e.g. that model after training) into the places of m that p keeps: the kept heads' rows of
 * Q/K/V and columns of O, the kept neurons' rows of W1 and columns of W2, the layer norms of every
 * layer with anything left, embeddings, pooler, classifier and masked-LM head. The parts p removes
 * keep m's weights. axf_compact(m, p) afterwards gives cm's weights bit for bit (int8 flags of p
 * aside). Refused (-1, one line) when the shapes differ or m stores a kept block in int8. An int8
 * word-embedding table m stores is dropped: its float32 values are cm's now. */
int axf_compact_scatter(axf_model *m, const axf_plan *p, const axf_model *cm, axf_err *err);

/* The dense-compatible form of m under p: a model every standard BERT loader reads (Hugging Face
 * from_pretrained, any implementation of the architecture), with the original uniform shapes
 * (n_heads heads and FFN width ffn in every layer) and exactly the pruned model's logits:
 *   a removed head: its rows of Q, K, V (weights and biases) and its columns of the attention
 *     output are zero, so it adds nothing (its context is softmax · 0 = 0);
 *   a removed neuron: its row of W1, its b1 and its column of W2 are zero (GELU(0) = ReLU(0) = 0);
 *   a removed attention (FFN) block: every head (neuron) removed and the block's output bias
 *     zero, so the block adds nothing and the layer computes LN1(x) (LN2(h)) as the plan says;
 *   a removed layer (both blocks): not there (num_hidden_layers is smaller), because a layer of
 *     zeros still applies its two LayerNorms, which no weights turn into the identity.
 * Heads keep their original positions (head_ids); kept neurons come first in their layer. No
 * speed-up, exactness everywhere. Refused (NULL + one line) when the plan runs hard attention or
 * int8 on a kept block, which no standard loader computes. */
axf_model *axf_dense_compatible(const axf_model *m, const axf_plan *p, axf_err *err);

/* The readers that load the export of cm (a compacted model) run with hard (may be NULL), and
 * those that do not, as lines "readers: ..." and "not read correctly by: ..." into buf. */
void axf_export_readers(const axf_model *cm, const axf_plan *hard, char *buf, size_t n);

/* The plan a model in dir must run with: dense plus the "axf_hard_attention" settings of
 * dir/config.json (just dense when the field is absent). Errors name the file and the entry. */
axf_plan *axf_plan_load_hard(const char *dir, const axf_model *m, axf_err *err);

#endif
