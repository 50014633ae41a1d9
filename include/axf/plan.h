/* The approximation plan: what is removed or approximated in each layer of a model.
 * Indices refer to the heads and neurons present in the model the plan is applied to.
 *
 * Semantics (per layer i):
 *   attn_on = 0      attention block skipped: h = LN1(x)
 *   head_on[h] = 0   head h contributes nothing (its Q/K/V and its slice of Wo skipped; bo stays)
 *   ffn_on = 0       FFN block skipped: out = LN2(h)
 *   neuron_on[j] = 0 neuron j of the FFN skipped (row j of W1/b1, column j of W2)
 *   attn_on = ffn_on = 0: the whole layer is skipped (identity), as in layer dropping
 *   hard             sparse hard attention on every remaining head of the layer
 * Removed parts cost no FLOPs: the engine skips them, it never multiplies by zero. */
#ifndef AXF_PLAN_H
#define AXF_PLAN_H

#include "axf/model.h"

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
} axf_layer_plan;

typedef struct axf_plan {
    int n_layers;
    axf_layer_plan layers[AXF_MAX_LAYERS];
} axf_plan;

/* A plan that keeps everything of model m (dense). */
axf_plan *axf_plan_new(const axf_model *m);
void axf_plan_free(axf_plan *p);
axf_plan *axf_plan_clone(const axf_plan *p);
void axf_plan_copy(axf_plan *dst, const axf_plan *src); /* same model shape */
int axf_plan_equal(const axf_plan *a, const axf_plan *b);
/* Lowest layer whose plan differs (n_layers when equal). */
int axf_plan_first_diff(const axf_plan *a, const axf_plan *b);

#endif
