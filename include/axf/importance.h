/* Per-element importance as arrays the screen can draw and Lua can sort.
 *
 * Kinds:
 *   EXACT      value = mean search loss with the element alone removed from the current plan minus
 *              the current mean loss (positive: removing it hurts); acc = accuracy change
 *              (fraction, after - before). One trial per element, run through the layer cache.
 *   GRADIENT   value = sum over batches of |dL/dgate| at gate = 1 for a gate on each head, block
 *              and neuron group (Michel et al. 2019; L = summed loss of the batch). Not normalised:
 *              a policy that wants Michel's per-layer L2 normalisation does it itself.
 *   ENTROPY    head only: mean entropy (nats) of the attention rows of that head over the search
 *              split, after hard attention; low = peaked attention. attn[i] = mean over heads.
 *   MAGNITUDE  L2 norm of the element's own weights (head: its Q/K/V rows and Wo columns; group:
 *              its W1 rows and W2 columns; block: all its weights) — the cheap baseline.
 * Granularity is a bit mask of AXF_IMP_BLOCKS (layer, attn, ffn), AXF_IMP_HEADS, AXF_IMP_GROUPS.
 *
 * An element that is already removed, not requested, or not defined for the kind holds NAN. */
#ifndef AXF_IMPORTANCE_H
#define AXF_IMPORTANCE_H

#include "axf/plan.h"

typedef enum {
    AXF_IMP_EXACT = 0,
    AXF_IMP_GRADIENT,
    AXF_IMP_ENTROPY,
    AXF_IMP_MAGNITUDE,
    AXF_IMP_KIND_COUNT
} axf_imp_kind;

enum { AXF_IMP_BLOCKS = 1, AXF_IMP_HEADS = 2, AXF_IMP_GROUPS = 4, AXF_IMP_ALL = 7 };

typedef struct axf_imp_values {
    float layer[AXF_MAX_LAYERS];                    /* whole layer (both blocks) */
    float attn[AXF_MAX_LAYERS];
    float ffn[AXF_MAX_LAYERS];
    float head[AXF_MAX_LAYERS][AXF_MAX_HEADS];      /* [L][nh of the layer] */
    float group[AXF_MAX_LAYERS][AXF_MAX_GROUPS];    /* [L][n_groups] */
} axf_imp_values;

typedef struct axf_importance {
    axf_imp_kind kind;
    int gran;                       /* the mask that was computed */
    int n_layers;
    int n_heads[AXF_MAX_LAYERS];    /* heads present in the model (removed ones included, NAN) */
    int n_groups;                   /* G used for groups */
    axf_imp_values v;               /* the measure */
    axf_imp_values acc;             /* EXACT only: accuracy change; NAN otherwise */
    double seconds;                 /* wall time of the computation */
} axf_importance;

/* Names "exact", "gradient", "entropy", "magnitude" (also accepted: "loss" and "accuracy" for
 * exact). from_name returns -1 when unknown. */
const char *axf_imp_kind_name(axf_imp_kind k);
int axf_imp_kind_from_name(const char *name);

/* Fills every value with NAN and sets the shape from plan p. */
void axf_importance_init(axf_importance *imp, const axf_plan *p, axf_imp_kind kind, int gran, int groups);

#endif
