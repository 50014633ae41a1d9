/* The approximation plan: what is removed or approximated in each layer of a model, and the
 * actions that edit it. Indices refer to the heads and neurons present in the model the plan is
 * applied to (0-based), not to the original architecture.
 *
 * Semantics (per layer i):
 *   attn_on = 0      attention block skipped: h = LN1(x)
 *   head_on[h] = 0   head h contributes nothing (its Q/K/V and its slice of Wo skipped; bo stays)
 *   ffn_on = 0       FFN block skipped: out = LN2(h)
 *   neuron_on[j] = 0 neuron j of the FFN skipped (row j of W1/b1, column j of W2)
 *   attn_on = ffn_on = 0: the whole layer is skipped (identity), as in layer dropping
 *   hard             sparse hard attention on every remaining head of the layer
 *   int8_attn = 1    Q, K, V and the attention output computed in int8 (axf/quant.h), on the
 *                    kept heads' part of the weights quantized as a matrix of its own
 *   int8_ffn = 1     both FFN products in int8, on the kept neurons' part of W1 and W2
 * Removed parts cost no FLOPs: the engine skips them, it never multiplies by zero.
 *
 * Invariant kept by axf_plan_apply (so that masking and physical compaction agree, see model.h
 * where nh == 0 / f == 0 means the block is gone): a layer whose attention block is on has at
 * least one head on, and a layer whose FFN block is on has at least one neuron on. Removing the
 * last head (neuron) of a block therefore removes the block; restoring a head (neuron) of a
 * removed block restores the block with just that head (neuron group) on.
 *
 * For the whole model:
 *   int8_embed = 1   the word-embedding table in int8, per row (token) symmetric as a weight row
 *                    (axf/quant.h, axf_quant_row): a token's embedding is the float32 row
 *                    q[k] · scale, then added to the position and type rows as before. The lookup
 *                    is no product, so nothing is faster; the table, most of a small model's file,
 *                    is 4x smaller. Action: quantize / dequantize with block "embed" (layer 0).
 *
 * The int8 flags, like the hard-attention setting, are kept while their block is removed (they
 * then change nothing: equality, accounting and compaction ignore them) and take effect again
 * when the block is restored. A plan made for a model that stores a block in int8 (model.h, an
 * int8 export) starts with that block's flag set: the plan describes the model as it is. */
#ifndef AXF_PLAN_H
#define AXF_PLAN_H

#include "axf/model.h"

#define AXF_MAX_GROUPS 64  /* neuron groups per layer an action may name */

typedef enum {
    AXF_HARD_OFF = 0,
    AXF_HARD_TOPK,        /* softmax, keep the K largest probabilities, no renormalising (method) */
    AXF_HARD_TOPK_RENORM, /* keep the K largest scores, softmax over them (renormalised) */
    AXF_HARD_THRESHOLD    /* softmax, drop probabilities below threshold, no renormalising */
} axf_hard_mode;

typedef struct axf_layer_plan {
    unsigned char attn_on, ffn_on;
    unsigned char head_on[AXF_MAX_HEADS]; /* [nh] */
    unsigned char *neuron_on;             /* [f], owned by the plan */
    axf_hard_mode hard;
    int k;                                /* for TOPK modes */
    float threshold;                      /* for THRESHOLD */
    unsigned char int8_attn, int8_ffn;    /* int8 products (axf/quant.h) */
    int nh, f;                            /* heads and neurons of the model layer planned for */
} axf_layer_plan;

typedef struct axf_plan {
    int n_layers;
    axf_layer_plan layers[AXF_MAX_LAYERS];
    unsigned char int8_embed;             /* word embeddings in int8 (above) */
} axf_plan;

/* A plan that keeps everything of model m (dense). */
axf_plan *axf_plan_new(const axf_model *m);
void axf_plan_free(axf_plan *p);
axf_plan *axf_plan_clone(const axf_plan *p);
void axf_plan_copy(axf_plan *dst, const axf_plan *src); /* same model shape */
int axf_plan_equal(const axf_plan *a, const axf_plan *b);
/* Lowest layer whose plan differs (n_layers when equal); 0 when int8_embed differs (the
 * embeddings feed layer 0). */
int axf_plan_first_diff(const axf_plan *a, const axf_plan *b);
/* Nonzero when the plan removes nothing and uses neither hard attention nor int8. */
int axf_plan_is_dense(const axf_plan *p);

/* ---- Actions: the only edits the search layer, Lua and the screen make to a plan. ---- */

typedef enum {
    AXF_OP_DROP_LAYER = 0,  /* both blocks of `layer` */
    AXF_OP_DROP_ATTN,       /* attention block of `layer` */
    AXF_OP_DROP_FFN,        /* FFN block of `layer` */
    AXF_OP_DROP_HEAD,       /* head `index` of `layer` */
    AXF_OP_DROP_GROUP,      /* FFN neuron group `index` of `groups` equal groups */
    AXF_OP_DROP_NEURONS,    /* FFN neurons [index, index + count) */
    AXF_OP_SET_HARD,        /* hard attention of `layer`: mode, k, threshold (mode OFF = dense) */
    AXF_OP_RESTORE_LAYER,   /* inverses of the above (undo is the usual way back; these let a */
    AXF_OP_RESTORE_ATTN,    /* user restore one element removed many steps ago) */
    AXF_OP_RESTORE_FFN,
    AXF_OP_RESTORE_HEAD,
    AXF_OP_RESTORE_GROUP,
    AXF_OP_RESTORE_NEURONS,
    AXF_OP_QUANTIZE,        /* int8 products for `block` of `layer` */
    AXF_OP_DEQUANTIZE,      /* float32 products for `block` of `layer` again */
    AXF_OP_COUNT
} axf_op;

/* Neuron group g of G over a width f is [g*f/G, (g+1)*f/G) (integer division), so every neuron
 * belongs to exactly one group even when G does not divide f. */
typedef struct axf_action {
    axf_op op;
    int layer;
    int index;           /* head, group or first neuron */
    int groups;          /* G for *_GROUP (0 = the session's default, 12 in the reference) */
    int count;           /* neurons for *_NEURONS */
    axf_hard_mode hard;  /* SET_HARD */
    int k;               /* SET_HARD top-k modes (0 = the session's default, 30 in the reference) */
    float threshold;     /* SET_HARD THRESHOLD mode (0 = the session's default) */
    int block;           /* QUANTIZE / DEQUANTIZE: AXF_BLOCK_ATTN, AXF_BLOCK_FFN or AXF_BLOCK_EMBED */
} axf_action;

/* The blocks of a layer an action may name: "attn" (Q, K, V and output projections) and "ffn";
 * "embed" names the model's word embeddings (the action's layer is then 0). */
enum { AXF_BLOCK_ATTN = 0, AXF_BLOCK_FFN = 1, AXF_BLOCK_EMBED = 2 };
const char *axf_block_name(int block);
int axf_block_from_name(const char *name);

/* Names used in JSON, Lua and logs: "drop_layer", "drop_attn", "drop_ffn", "drop_head",
 * "drop_group", "drop_neurons", "set_hard", "restore_layer", "restore_attn", "restore_ffn",
 * "restore_head", "restore_group", "restore_neurons", "quantize", "dequantize". Hard modes: "off",
 * "topk", "topk_renorm", "threshold". from_name returns -1 for an unknown name. */
const char *axf_op_name(axf_op op);
int axf_op_from_name(const char *name);
const char *axf_hard_mode_name(axf_hard_mode m);
int axf_hard_mode_from_name(const char *name);
/* Short human form for logs: "drop_head L3.h5", "drop_group L2.g7/12", "set_hard L0 topk k=30",
 * "quantize L1 ffn", "quantize embed". */
void axf_action_describe(const axf_action *a, char *buf, size_t n);
/* The actions of one step, each described so, joined by sep ("drop_head L3.h5 + drop_ffn L2"). */
void axf_actions_describe(const axf_action *a, int n, const char *sep, char *buf, size_t len);
/* Parses the form "OP LAYER [INDEX] [key=value ...]" (keys: groups, count, mode, k, threshold,
 * block), e.g. "drop_head 3 5", "drop_group 2 7 groups=12", "set_hard 0 mode=topk k=30",
 * "quantize 1 ffn" (a block name in place of INDEX), "quantize 1 block=attn" or "quantize embed"
 * (no layer). */
int axf_action_parse(const char *s, axf_action *a, axf_err *err);

/* Defaults that fill the zero fields of an action (groups, k, threshold). */
typedef struct axf_plan_defaults {
    int groups;           /* 12 */
    int k;                /* 30 */
    float threshold;      /* 0.01 */
} axf_plan_defaults;
axf_plan_defaults axf_plan_defaults_default(void);

/* Applies a to p (d NULL = axf_plan_defaults_default()). When resolved is not NULL it receives a
 * with its defaults filled in, which is what histories store so that replays do not depend on
 * defaults. Range and state checks: a layer, head, group or neuron out of range, or an edit that
 * changes nothing (dropping what is already gone, restoring what is present) fails with one line
 * such as "drop_head L3.h12: head out of range (layer 3 has 12 heads)". p is unchanged on failure.
 * A hard-attention setting on a layer whose attention block is removed is refused, and so are
 * quantize / dequantize of a removed block. */
int axf_plan_apply(axf_plan *p, const axf_action *a, const axf_plan_defaults *d,
                   axf_action *resolved, axf_err *err);
/* Same checks without changing anything. */
int axf_plan_check(const axf_plan *p, const axf_action *a, const axf_plan_defaults *d, axf_err *err);

/* Accounting under a plan, equal to the same numbers of the compacted model (compact.h):
 * parameters (encoder + embeddings + pooler + classifier, MLM head excluded), float32 weight bytes
 * (params * 4), and encoder FLOPs per token for sequences of n tokens (multiply-add = 2 FLOPs;
 * Q/K/V/O, scores, value aggregation and both FFN products, plus pooler and classifier divided by
 * n, as axf_model_flops_per_token; hard top-k counts min(K, n) keys in the value aggregation,
 * threshold mode is counted as dense). */
size_t axf_plan_params(const axf_model *m, const axf_plan *p);
/* Weight bytes under the plan, equal to axf_model_bytes of the compacted model (model.h): 4 per
 * float32 parameter; an int8 matrix (int8 embeddings too) 1 per weight plus a 4-byte scale per
 * output row. */
size_t axf_plan_bytes(const axf_model *m, const axf_plan *p);
double axf_plan_flops_per_token(const axf_model *m, const axf_plan *p, double n);

/* Counts of what remains. */
int axf_plan_heads_on(const axf_layer_plan *lp);      /* 0 when the attention block is off */
int axf_plan_neurons_on(const axf_layer_plan *lp);    /* 0 when the FFN block is off */
/* State of group g of G of layer lp: 0 all its neurons removed, 1 all present, 2 partly. */
int axf_plan_group_state(const axf_layer_plan *lp, int g, int groups);
void axf_plan_group_range(int f, int groups, int g, int *lo, int *hi);

#endif
