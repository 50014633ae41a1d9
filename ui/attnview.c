/* The numbers of the hard-attention view (view.h, axf_attn_view): run on the worker thread, which
 * owns the session; the drawing thread gets a copy (pane_attn.c draws it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

void axf_attn_view_fill(axf_session *s, int example, int layer, int head, int query, axf_attn_view *t)
{
    axf_facts f;
    axf_session_facts(s, &f);
    memset(t, 0, sizeof *t);
    t->n_examples = f.n_search;
    t->example = example < 0 ? 0 : example >= f.n_search ? f.n_search - 1 : example;
    t->layer = layer;
    t->head = head;
    const int *ids;
    t->n = axf_session_example(s, t->example, &ids, &t->label);
    if (t->n < 1) {
        snprintf(t->err, sizeof t->err, "no search example %d", example);
        return;
    }
    t->query = query < 0 ? 0 : query >= t->n ? t->n - 1 : query;
    if (t->query >= AXF_ATTN_TOKENS)
        t->query = AXF_ATTN_TOKENS - 1;
    /* the layer's own setting, or what t would switch on: top-K with the session's K */
    const axf_layer_plan *lp = layer >= 0 && layer < f.n_layers ? &axf_session_plan(s)->layers[layer] : NULL;
    t->layer_hard = lp && lp->hard != AXF_HARD_OFF;
    t->mode = t->layer_hard ? lp->hard : AXF_HARD_TOPK;
    t->k = t->layer_hard ? lp->k : f.hard_k;
    t->threshold = t->layer_hard ? lp->threshold : f.hard_threshold;
    t->head_removed = lp && (!lp->attn_on || (head >= 0 && head < lp->nh && !lp->head_on[head]));
    size_t nn = (size_t)t->n * (size_t)t->n;
    float *dense = axf_xmalloc(sizeof(float) * nn), *hard = axf_xmalloc(sizeof(float) * nn);
    axf_err err;
    if (axf_session_attention(s, t->example, layer, head, t->mode, t->k, t->threshold, dense, hard, &err)) {
        snprintf(t->err, sizeof t->err, "%.150s", err.msg);
    } else {
        for (int i = 0; i < t->n; i++)
            t->rows_changed += memcmp(dense + (size_t)i * t->n, hard + (size_t)i * t->n, sizeof(float) * t->n) != 0;
        int shown = t->n < AXF_ATTN_TOKENS ? t->n : AXF_ATTN_TOKENS;
        for (int j = 0; j < shown; j++) {
            t->dense[j] = dense[(size_t)t->query * t->n + j];
            t->hard[j] = hard[(size_t)t->query * t->n + j];
            const char *tok = axf_session_token(s, ids[j]);
            if (tok)
                axf_str_copy(t->tok[j], sizeof t->tok[j], tok);
            else
                snprintf(t->tok[j], sizeof t->tok[j], "#%d", ids[j]);
        }
        t->have = 1;
    }
    free(dense);
    free(hard);
}
