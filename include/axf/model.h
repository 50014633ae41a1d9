/* The model: a BERT-family encoder with a sequence-classification (or regression) head, and an
 * optional masked-LM head for pre-training. Weights live in one float32 arena owned by the model;
 * every tensor field is a view into it.
 *
 * Dims: V vocab, P max positions, TV token types, H hidden, L layers, NH heads of the original
 * architecture, HS head size (H/NH), F FFN width of the original architecture, C labels.
 * A layer may carry fewer heads (nh) and a narrower FFN (f) than the original after compaction;
 * nh == 0 means its attention block is gone, f == 0 its FFN block. A compacted model never holds a
 * layer whose two blocks are both gone: that layer is dropped and the rest renumbered.
 *
 * nh == 0: wq..bv, wo AND bo are NULL (no attention tensors on disk except
 * attention.output.LayerNorm): the layer computes h = LN1(x), exactly like a plan's attn_on = 0.
 * f == 0: w1, b1, w2 AND b2 are NULL (only output.LayerNorm on disk): out = LN2(h), like ffn_on = 0.
 *
 * On disk (Hugging Face layout, in the naming of the model's architecture, cfg.arch):
 * DIR/config.json, DIR/model.safetensors (read: else DIR/pytorch_model.bin, axf/torchbin.h),
 * DIR/tokenizer_config.json (the tokenizer's files are not part of the model: copy them beside,
 * axf/tokenizer.h). model.safetensors holds F32 tensors named as that architecture's
 * *ForSequenceClassification names them (one table per architecture in model.c):
 *   BERT        bert.embeddings.{word,position,token_type}_embeddings, bert.embeddings.LayerNorm,
 *               bert.encoder.layer.i.attention.self.{query,key,value}, .attention.output.dense,
 *               .attention.output.LayerNorm, .intermediate.dense, .output.dense, .output.LayerNorm;
 *               head bert.pooler.dense + classifier; MLM cls.predictions.transform.{dense,LayerNorm},
 *               cls.predictions.bias
 *   DistilBERT  distilbert.embeddings.{word,position}_embeddings (no token types),
 *               distilbert.embeddings.LayerNorm, distilbert.transformer.layer.i.attention.{q,k,v,out}_lin,
 *               .sa_layer_norm, .ffn.lin1, .ffn.lin2, .output_layer_norm; head pre_classifier +
 *               classifier; MLM vocab_transform, vocab_layer_norm, vocab_projector.bias
 *   RoBERTa     BERT's encoder names under roberta.; head classifier.dense + classifier.out_proj;
 *               MLM lm_head.{dense,layer_norm}, lm_head.bias
 * A weight matrix the model stores in int8 (axf_qmat below, axf/quant.h: an export of a plan with
 * int8 blocks) is instead the tensor "<name>" of dtype I8, shape [N, K], values in [-127, 127],
 * followed by "<name>_scale", F32 [N], one scale per output row (W[n][k] = q[n][k] · scale[n]),
 * e.g. "bert.encoder.layer.3.intermediate.dense.weight" (I8) and
 * "bert.encoder.layer.3.intermediate.dense.weight_scale" (F32): the query, key, value and
 * attention-output weights of a layer all four or none, its intermediate and output weights both
 * or none. The word embeddings may be stored the same way (an export of a plan with int8_embed,
 * plan.h): "<prefix>embeddings.word_embeddings.weight" I8 [V, H] and "..._scale" F32 [V], one
 * scale per token. Biases, LayerNorms, position and type embeddings, head and classifier stay
 * F32. Such a file is this project's: Hugging Face cannot load int8 Linear weights.
 * config.json holds the HF fields: architectures [the class above], model_type "bert" |
 * "distilbert" | "roberta", vocab_size, the sizes and activation (BERT, RoBERTa: hidden_size,
 * num_hidden_layers, num_attention_heads, intermediate_size, hidden_act; DistilBERT: dim, n_layers,
 * n_heads, hidden_dim, activation; "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu"),
 * max_position_embeddings, pad_token_id (RoBERTa: positions start at pad_token_id + 1), BERT and
 * RoBERTa also type_vocab_size, layer_norm_eps (DistilBERT's is 1e-12) and position_embedding_type
 * "absolute"; problem_type "single_label_classification" | "regression",
 * id2label {"0": name} and label2id {name: 0} (unnamed labels are written "LABEL_i", and "LABEL_i" reads back as unnamed), dropout
 * probabilities and initializer_range 0.02 for HF's sake) plus this project's fields, ignored by
 * other readers:
 *   "axf_layer_heads": [nh per layer], "axf_layer_ffn": [f per layer],
 *   "axf_layer_head_ids": [[original head index of each kept head] per layer]
 * and the Hugging Face "pruned_heads" {"layer": [removed original heads]} when HF can rebuild the
 * same shapes from it: every f == F, every nh >= 1, kept ids increasing (and some head pruned).
 * tokenizer_config.json: {"do_lower_case": bool, "model_max_length": max_pos - pos_offset,
 * "tokenizer_class": "BertTokenizer" | "DistilBertTokenizer"}, for RoBERTa {"add_prefix_space":
 * bool, "model_max_length", "tokenizer_class": "RobertaTokenizer"}.
 *
 * Loading accepts: names with the architecture's prefix or bare (classifier tensors are required
 * either way: a bare encoder has no classifier and is refused), old LayerNorm.gamma/.beta names,
 * F32/F16/BF16/F64 tensors, I8 encoder weight matrices with their scales (kept as the model's int8
 * forms; axf_model_load_encoder keeps only their float32 values, for training); the MLM bias present => MLM head loaded (all its tensors required);
 * other tensors (position_ids, decoders, RoBERTa's unused pooler, qa heads, ...) are ignored.
 * config.json without model_type is BERT. Per-layer shapes come from axf_layer_* when present,
 * else from pruned_heads; every tensor's shape must agree with them. */
#ifndef AXF_MODEL_H
#define AXF_MODEL_H

#include "axf/common.h"

#define AXF_MAX_LAYERS 64
#define AXF_MAX_HEADS 64
#define AXF_MAX_LABELS 64

typedef enum { AXF_ACT_GELU = 0, AXF_ACT_GELU_TANH, AXF_ACT_RELU } axf_act;
typedef enum { AXF_TASK_CLASSIFY = 0, AXF_TASK_REGRESS } axf_task_kind;
/* The checkpoint family. One forward pass serves all three; what differs is data: the tensor and
 * config.json names (model.c's table per architecture), the token-type table (absent in
 * DistilBERT: type_vocab 0), where positions start (pos_offset) and the head's activation.
 *   BERT        BertForSequenceClassification: pooler (tanh) + classifier on [CLS].
 *   DISTILBERT  DistilBertForSequenceClassification: distilbert.* names, no token types,
 *               pre_classifier + ReLU + classifier on the first token, LayerNorm eps 1e-12.
 *   ROBERTA     RobertaForSequenceClassification: roberta.* names, positions from
 *               pad_token_id + 1, classifier.dense + tanh + classifier.out_proj on <s>. */
typedef enum { AXF_ARCH_BERT = 0, AXF_ARCH_DISTILBERT, AXF_ARCH_ROBERTA } axf_arch;
/* The activation between the head's two products (BERT's pooler and RoBERTa's dense: tanh;
 * DistilBERT's pre_classifier: ReLU). */
typedef enum { AXF_HEAD_TANH = 0, AXF_HEAD_RELU } axf_head_act;

typedef struct axf_config {
    int vocab_size;     /* V */
    int hidden;         /* H */
    int n_layers;       /* L */
    int n_heads;        /* NH of the original architecture */
    int head_dim;       /* HS */
    int ffn;            /* F of the original architecture */
    int max_pos;        /* P */
    int type_vocab;     /* TV; 0 = no token-type embedding (DistilBERT): token types are ignored */
    int num_labels;     /* C (1 for regression) */
    int pad_token_id;
    int do_lower_case;  /* from tokenizer_config.json, default 1 (0 for RoBERTa) */
    int add_prefix_space; /* byte-level BPE: from tokenizer_config.json, default 0 */
    axf_arch arch;
    int pos_offset;     /* position row of a sequence's first token: 0, RoBERTa pad_token_id + 1;
                           a sequence holds at most max_pos - pos_offset tokens */
    axf_head_act head_act;
    axf_act act;
    axf_task_kind task;
    float ln_eps;
    int layer_heads[AXF_MAX_LAYERS];                     /* nh of each layer */
    int layer_ffn[AXF_MAX_LAYERS];                       /* f of each layer */
    unsigned char head_ids[AXF_MAX_LAYERS][AXF_MAX_HEADS]; /* original index of each kept head */
    char labels[AXF_MAX_LABELS][48];                     /* id2label names ("" = unnamed) */
} axf_config;

/* The int8 form of a weight matrix W[N, K] (axf/quant.h): W = q[n][k] · scale[n]. */
typedef struct axf_qmat {
    int8_t *q;          /* [N, K] in [-127, 127]; NULL: the matrix is float32 only */
    float *scale;       /* [N] */
} axf_qmat;

/* The weight matrices of a layer, in this order wherever they are indexed. */
enum { AXF_W_Q = 0, AXF_W_K, AXF_W_V, AXF_W_O, AXF_W_1, AXF_W_2, AXF_W_COUNT };

typedef struct axf_layer {
    int nh, f;          /* heads and FFN neurons present */
    float *wq, *bq;     /* [nh*HS, H], [nh*HS] */
    float *wk, *bk;     /* [nh*HS, H], [nh*HS] */
    float *wv, *bv;     /* [nh*HS, H], [nh*HS] */
    float *wo, *bo;     /* [H, nh*HS], [H] */
    float *ln1_g, *ln1_b; /* [H] attention.output.LayerNorm */
    float *w1, *b1;     /* [f, H], [f]  intermediate.dense */
    float *w2, *b2;     /* [H, f], [H]  output.dense */
    float *ln2_g, *ln2_b; /* [H] output.LayerNorm */
    /* int8 forms of wq, wk, wv, wo, w1, w2 (AXF_W_*), each owned by the model; all four of the
     * attention block or neither, both of the FFN or neither. When present the float32 matrix
     * holds q · scale, so float paths compute with the same weights. */
    axf_qmat q8[AXF_W_COUNT];
} axf_layer;

typedef struct axf_model {
    axf_config cfg;
    float *word_emb;    /* [V, H] */
    float *pos_emb;     /* [P, H] */
    float *type_emb;    /* [TV, H] */
    float *emb_ln_g, *emb_ln_b; /* [H] */
    axf_layer layers[AXF_MAX_LAYERS];
    float *pool_w, *pool_b; /* [H, H], [H] */
    float *cls_w, *cls_b;   /* [C, H], [C] */
    /* masked-LM head; NULL when the model has none */
    float *mlm_w, *mlm_b;        /* [H, H], [H] cls.predictions.transform.dense */
    float *mlm_ln_g, *mlm_ln_b;  /* [H] */
    float *mlm_bias;             /* [V] decoder bias; decoder weight is word_emb */
    /* int8 form of word_emb, owned by the model (q NULL: float32 only); when present word_emb
     * holds q · scale, row by row */
    axf_qmat word_q8;
    float *arena;       /* every tensor above points into this */
    size_t n_floats;    /* arena size in floats */
} axf_model;

/* Config with BERT defaults for the given sizes (all layers full, no MLM head). */
axf_config axf_config_default(int vocab, int hidden, int layers, int heads, int ffn, int num_labels);
/* Makes a BERT config (axf_config_default) an architecture's: its head activation, token types
 * (DistilBERT: none; RoBERTa: one), LayerNorm eps (RoBERTa 1e-5), lower-casing (RoBERTa: none)
 * and positions (RoBERTa: pad_token_id 1 as its vocabulary orders <s> <pad> </s> <unk>,
 * pos_offset 2, and max_pos grown by 2 so that sequences may stay as long). Sizes and labels are
 * kept. */
void axf_config_set_arch(axf_config *c, axf_arch arch);
/* Most tokens in one sequence: max_pos - pos_offset. */
int axf_config_max_len(const axf_config *c);
/* "bert", "distilbert", "roberta" (config.json's model_type). */
const char *axf_arch_name(axf_arch a);
/* The weights file of a model folder: DIR/model.safetensors, else DIR/pytorch_model.bin when
 * only that exists (what axf_model_load reads). Caller frees. */
char *axf_model_weights_path(const char *dir);

/* Allocates a model of cfg's shape (zero weights). with_mlm adds the masked-LM head. */
axf_model *axf_model_new(const axf_config *cfg, int with_mlm, axf_err *err);
void axf_model_free(axf_model *m);
/* Deep copy (arena included). */
axf_model *axf_model_clone(const axf_model *m, axf_err *err);

/* BERT's initialisation: normal(0, 0.02) weights, zero biases, LayerNorm gain 1. */
void axf_model_init_random(axf_model *m, uint64_t seed);

/* Loads DIR/config.json, DIR/model.safetensors (and DIR/tokenizer_config.json when present).
 * Validates every dtype, shape and offset; converts F16/BF16; refuses NaN/Inf weights. */
axf_model *axf_model_load(const char *dir, axf_err *err);
/* The same for a checkpoint used only for its encoder (axf finetune --init): a bare BertModel or a
 * BertForPreTraining checkpoint (names with or without "bert.") may lack the classifier and the
 * pooler; those are then zeros, and *found (when not NULL) says which were present. */
enum { AXF_LOAD_POOLER = 1, AXF_LOAD_CLASSIFIER = 2 };
axf_model *axf_model_load_encoder(const char *dir, int *found, axf_err *err);
/* Writes DIR/config.json, DIR/model.safetensors and DIR/tokenizer_config.json (creating DIR,
 * mkdir -p). Atomic per file. */
int axf_model_save(const axf_model *m, const char *dir, axf_err *err);

/* Stores the int8 form q[N, K], scale[N] of matrix `which` (AXF_W_*) of layer `layer` (copies)
 * and sets the float32 matrix to q · scale. */
void axf_model_set_int8(axf_model *m, int layer, int which, const int8_t *q, const float *scale);
/* Frees q's int8 values and scales and sets both to NULL (the matrix is float32 only again). */
void axf_qmat_free(axf_qmat *q);
/* Stores the int8 form q[V, H], scale[V] of the word embeddings (copies) and sets word_emb to
 * q · scale. */
void axf_model_set_int8_embed(axf_model *m, const int8_t *q, const float *scale);
/* Nonzero when the model stores block `block` of layer `layer` in int8 (0 attention, 1 FFN). */
int axf_model_has_int8(const axf_model *m, int layer, int block);
/* Weight bytes of embeddings + encoder + pooler + classifier: 4 per float32 parameter, an int8
 * matrix 1 per weight plus 4 per scale (the tensors' bytes in model.safetensors). */
size_t axf_model_bytes(const axf_model *m);

/* Parameter count of embeddings + encoder + pooler + classifier (MLM head excluded).
 * FLOPs per token for a sequence of n tokens, multiply-add = 2 FLOPs: per layer the Q/K/V/output
 * projections of present heads (8*H*nh*HS), attention scores and value aggregation (4*n*nh*HS)
 * and the FFN (4*H*f); plus pooler and classifier (2*H*H + 2*H*C) divided by n. Embedding lookups,
 * LayerNorm, softmax and activations are not counted. */
size_t axf_model_params(const axf_model *m);
double axf_model_flops_per_token(const axf_model *m, int n);

#endif
