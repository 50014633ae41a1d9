/* One search example's attention, for the screen's hard-attention view: the example's tokens and
 * one head's probabilities before and after a hard-attention setting (axf_engine_attention on the
 * engine of the session's evaluation cache; one sentence, no pass over the split). */
#include "session_internal.h"

#include <string.h>

int axf_session_example(const axf_session *s, int i, const int **ids, int *label)
{
    if (i < 0 || i >= s->enc->n)
        return -1;
    if (ids)
        *ids = s->enc->ids + s->enc->off[i];
    if (label)
        *label = s->enc->labels ? s->enc->labels[i] : -1;
    return s->enc->off[i + 1] - s->enc->off[i];
}

const char *axf_session_token(const axf_session *s, int id)
{
    return s->vocab ? axf_vocab_token(s->vocab, id) : NULL;
}

int axf_session_attention(axf_session *s, int example, int layer, int head, axf_hard_mode mode, int k,
                          float threshold, float *dense, float *hard, axf_err *err)
{
    if (example < 0 || example >= s->enc->n)
        return axf_err_set(err, "attention: no search example %d (the split has %d)", example, s->enc->n);
    if (layer < 0 || layer >= s->plan->n_layers)
        return axf_err_set(err, "attention: no layer %d (the model has %d)", layer, s->plan->n_layers);
    axf_engine *e = axf_evalcache_engine(s->ec);
    axf_batch b = axf_encoded_batch(s->enc, example, 1);
    axf_layer_plan lp = s->plan->layers[layer];
    lp.hard = AXF_HARD_OFF;
    if (axf_engine_attention(e, s->plan, &b, layer, head, &lp, dense, err))
        return -1;
    lp.hard = mode;
    lp.k = k;
    lp.threshold = threshold;
    return axf_engine_attention(e, s->plan, &b, layer, head, &lp, hard, err);
}
