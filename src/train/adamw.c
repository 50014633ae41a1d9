/* AdamW over the model's single arena, global-norm clipping and the warm-up / linear-decay
 * schedule. The decay mask follows the usual BERT recipe: weight matrices and embeddings decay,
 * LayerNorm gains and every bias do not. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axf/train.h"

static void mark(axf_adamw *o, const axf_model *m, const float *p, size_t n)
{
    if (!p || !n)
        return;
    size_t off = (size_t)(p - m->arena);
    AXF_ASSERT(off + n <= o->n);
    memset(o->decay + off, 1, n);
}

axf_adamw *axf_adamw_new(const axf_model *m, float weight_decay)
{
    axf_adamw *o = axf_xcalloc(1, sizeof *o);
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-6f;
    o->weight_decay = weight_decay;
    o->n = m->n_floats;
    o->m = axf_xcalloc(o->n, sizeof(float));
    o->v = axf_xcalloc(o->n, sizeof(float));
    o->decay = axf_xcalloc(o->n, 1);
    const axf_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, HS = (size_t)c->head_dim;
    mark(o, m, m->word_emb, (size_t)c->vocab_size * H);
    mark(o, m, m->pos_emb, (size_t)c->max_pos * H);
    mark(o, m, m->type_emb, (size_t)c->type_vocab * H);
    for (int l = 0; l < c->n_layers; l++) {
        const axf_layer *y = &m->layers[l];
        size_t A = (size_t)c->layer_heads[l] * HS, F = (size_t)c->layer_ffn[l];
        if (A) {
            mark(o, m, y->wq, A * H);
            mark(o, m, y->wk, A * H);
            mark(o, m, y->wv, A * H);
            mark(o, m, y->wo, A * H);
        }
        if (F) {
            mark(o, m, y->w1, F * H);
            mark(o, m, y->w2, F * H);
        }
    }
    mark(o, m, m->pool_w, H * H);
    mark(o, m, m->cls_w, (size_t)c->num_labels * H);
    mark(o, m, m->mlm_w, H * H);
    return o;
}

void axf_adamw_free(axf_adamw *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o->decay);
    free(o);
}

void axf_adamw_step(axf_adamw *o, axf_model *m, const axf_model *grads, float lr)
{
    AXF_ASSERT(m->n_floats == o->n && grads->n_floats == o->n);
    o->step++;
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    float bc1 = (float)(1.0 - pow((double)b1, (double)o->step));
    float bc2 = (float)(1.0 - pow((double)b2, (double)o->step));
    float step = lr / bc1, rbc2 = 1.0f / sqrtf(bc2), wd = lr * o->weight_decay;
    float *w = m->arena, *mm = o->m, *vv = o->v;
    const float *g = grads->arena;
    const unsigned char *dk = o->decay;
    for (size_t i = 0; i < o->n; i++) {
        float gi = g[i];
        mm[i] = b1 * mm[i] + (1.0f - b1) * gi;
        vv[i] = b2 * vv[i] + (1.0f - b2) * gi * gi;
        float upd = step * mm[i] / (sqrtf(vv[i]) * rbc2 + eps);
        w[i] -= upd + (dk[i] ? wd * w[i] : 0.0f);
    }
}

double axf_grad_clip(axf_model *grads, float max_norm)
{
    double s = 0.0;
    const float *g = grads->arena;
    for (size_t i = 0; i < grads->n_floats; i++)
        s += (double)g[i] * g[i];
    double norm = sqrt(s);
    if (max_norm > 0 && norm > max_norm) {
        float k = (float)(max_norm / (norm + 1e-6));
        for (size_t i = 0; i < grads->n_floats; i++)
            grads->arena[i] *= k;
    }
    return norm;
}

float axf_lr_at(long step, long warmup, long total, float peak)
{
    if (step < warmup)
        return peak * (float)(step + 1) / (float)warmup;
    if (total <= warmup)
        return peak;
    double f = (double)(total - step) / (double)(total - warmup);
    return f > 0 ? (float)(peak * f) : 0.0f;
}
