/* Gate gradients for the search's gradient-based importance (Michel et al. 2019): one eval-mode
 * forward + backward of the summed loss, without parameter gradients. */
#include <stdlib.h>
#include <string.h>

#include "axf/train.h"

axf_gate_grads *axf_gate_grads_new(const axf_model *m)
{
    axf_gate_grads *g = axf_xcalloc(1, sizeof *g);
    for (int l = 0; l < m->cfg.n_layers; l++)
        g->neuron[l] = axf_xcalloc((size_t)(m->cfg.layer_ffn[l] > 0 ? m->cfg.layer_ffn[l] : 1), sizeof(float));
    return g;
}

void axf_gate_grads_free(axf_gate_grads *g)
{
    if (!g)
        return;
    for (int l = 0; l < AXF_MAX_LAYERS; l++)
        free(g->neuron[l]);
    free(g);
}

int axf_gate_grads_batch_ctx(axf_train_ctx *c, const axf_plan *plan, const axf_batch *b, const int *labels,
                             const float *targets, axf_gate_grads *out, axf_err *err)
{
    if (!c || !b || !out)
        return axf_err_set(err, "gate gradients: missing context, batch or output");
    axf_train_batch tb = {.b = *b, .labels = labels, .targets = targets};
    double loss;
    axf_train_ctx_set_dropout(c, 0, 0, NULL);
    if (axf_train_forward(c, plan, &tb, AXF_LOSS_SUM, &loss, NULL, err))
        return -1;
    axf_train_backward(c, 0, out);
    return 0;
}

int axf_gate_grads_batch(const axf_model *m, const axf_plan *plan, const axf_batch *b, const int *labels,
                         const float *targets, axf_gate_grads *out, axf_err *err)
{
    if (!m || !b || !out)
        return axf_err_set(err, "gate gradients: missing model, batch or output");
    if (m->cfg.task == AXF_TASK_CLASSIFY ? !labels : !targets)
        return axf_err_set(err, "gate gradients: the batch has no %s", m->cfg.task == AXF_TASK_CLASSIFY ? "labels" : "targets");
    /* The context only reads the model (no optimiser step happens here). */
    axf_train_ctx *c = axf_train_ctx_new((axf_model *)m, err);
    if (!c)
        return -1;
    int rc = axf_gate_grads_batch_ctx(c, plan, b, labels, targets, out, err);
    axf_train_ctx_free(c);
    return rc;
}
