/* ONNX export: a model under a plan as one ONNX graph that ONNX Runtime (or any ONNX reader)
 * runs, with the compacted model's real per-layer shapes.
 *
 * The file (ONNX IR version 8, default opset 17, written with protobuf-c from the schema in
 * src/approx/onnx.proto):
 *   inputs   input_ids       int64 [batch, sequence]
 *            attention_mask  int64 [batch, sequence]  1 = token, 0 = padding (right padding)
 *            token_type_ids  int64 [batch, sequence]  (architectures with token types)
 *   output   logits          float [batch, num_labels]
 * batch and sequence are free dimensions. The graph is the compacted model (axf_compact): removed
 * heads and neurons are absent from the weight matrices, a removed attention or FFN block is its
 * LayerNorm alone, a removed layer is not there. Operators, all of the default domain:
 *   linear products   Gemm on [batch·sequence, in] with transB = 1 (the weights as stored: no copy)
 *   LayerNorm         LayerNormalization (axis -1)
 *   GELU              0.5 · x · (1 + Erf(x / √2)); tanh form with Tanh; ReLU
 *   attention         MatMul, Mul by 1/√HS, Add of (1 − mask) · −1e30, Softmax (axis -1), MatMul
 *   hard attention    top-k (softmax, keep the k largest probabilities, no renormalising):
 *                       TopK(probs, min(k, sequence)) → ScatterElements of ones → Mul;
 *                     top-k renormalised: TopK on the scores, Where(kept, scores, −inf), Softmax;
 *                     threshold: Where(probs < p, 0, probs). TopK takes the lower index on ties,
 *                     as the engine does.
 *   int8 blocks       the engine's arithmetic (axf/quant.h) in standard operators: per-token scale
 *                     s_x = ReduceMax(|x|) / 127, q_x = Cast<int8>(Clip(Round(x · (127 / max|x|)),
 *                     −127, 127)), MatMulInteger(q_x, q_wᵀ) in int32 with the stored int8 weights,
 *                     then (Cast<float>(acc) · s_x) · s_w and the bias. Same operations in the same
 *                     order as the engine, so an int8 logit differs from `axf predict` only where
 *                     a float rounding earlier in the graph moves a quantized input across a
 *                     rounding boundary (see README "Using the result elsewhere" for the measured
 *                     bound).
 *   embeddings        Gather of word rows, position rows pos_offset .. pos_offset + sequence − 1
 *                     (RoBERTa's offset; right padding gives the positions Hugging Face computes
 *                     from the mask), token-type rows where the architecture has them, LayerNorm;
 *                     an int8 word table (plan int8_embed): Gather of the int8 rows and of their
 *                     scales, Cast<float>(q) · scale, the engine's values exactly
 *   last layer        keys and values for every token, the rest for each sequence's first token
 *                     only (all the head reads, as the engine does)
 *   head              each sequence's first token, then the architecture's head
 *                     (BERT's pooler and RoBERTa's classifier.dense with Tanh, DistilBERT's
 *                     pre_classifier with Relu) and the classifier.
 * Architectures differ only in these data (axf_config: type_vocab, pos_offset, head_act); the
 * graph is built by one function for all of them.
 * Weights are inline when all of them fit in the 2 GB a protobuf message may hold, else (or when
 * asked) in FILE.data beside FILE, each tensor's bytes at an offset that is a multiple of 64, as
 * ONNX external data ("location" = the data file's base name, "offset", "length").
 * Metadata (metadata_props): "axf_version", "axf_layer_heads", "axf_layer_ffn" (per-layer widths of
 * the graph, comma-separated), "axf_hard_attention" (one "layer:mode:k-or-threshold" per
 * hard layer, comma-separated; absent when none), "axf_int8" (the int8 blocks, "layer:attn|ffn",
 * and "embed" for int8 word embeddings). */
#ifndef AXF_ONNX_H
#define AXF_ONNX_H

#include "axf/model.h"
#include "axf/plan.h"

typedef struct axf_onnx_opts {
    int external_data;  /* 1: weights always in FILE.data; 0: only when they do not fit inline */
    int opset;          /* default-domain opset written (17; at least 17 for LayerNormalization) */
} axf_onnx_opts;
axf_onnx_opts axf_onnx_opts_default(void);

/* What axf_onnx_save wrote: the sizes a caller reports. */
typedef struct axf_onnx_info {
    size_t n_nodes, n_initializers;
    size_t weight_bytes;  /* bytes of all initializers */
    int external;         /* 1 when the weights went to FILE.data */
    int n_layers;         /* layers in the graph */
} axf_onnx_info;

/* Writes the ONNX graph of model m under plan (NULL = dense) to path, atomically (and path.data
 * with external data). The plan may remove parts (they are cut out as by axf_compact), choose hard
 * attention and int8 blocks. info may be NULL. -1 + a one-line message naming path on failure. */
int axf_onnx_save(const axf_model *m, const axf_plan *plan, const char *path, const axf_onnx_opts *o,
                  axf_onnx_info *info, axf_err *err);

#endif
