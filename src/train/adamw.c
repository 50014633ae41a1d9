/* AdamW over the model's single arena, global-norm clipping and the warm-up / linear-decay
 * schedule. The decay mask follows the usual BERT recipe: weight matrices and embeddings decay,
 * LayerNorm gains and every bias do not. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axf/parallel.h"
#include "axf/train.h"

static void mark_as(axf_adamw *o, const axf_model *m, const float *p, size_t n, unsigned char how)
{
    if (!p || !n)
        return;
    size_t off = (size_t)(p - m->arena);
    AXF_ASSERT(off + n <= o->n);
    memset(o->decay + off, how, n);
}

static void mark(axf_adamw *o, const axf_model *m, const float *p, size_t n) { mark_as(o, m, p, n, 1); }

axf_adamw *axf_adamw_new(const axf_model *m, float weight_decay)
{
    axf_adamw *o = axf_xcalloc(1, sizeof *o);
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-6f;
    o->weight_decay = weight_decay;
    o->grad_scale = 1.0f;
    o->n = m->n_floats;
    o->m = axf_xcalloc(o->n, sizeof(float));
    o->v = axf_xcalloc(o->n, sizeof(float));
    o->decay = axf_xcalloc(o->n, 1);
    const axf_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, HS = (size_t)c->head_dim;
    mark(o, m, m->word_emb, (size_t)c->vocab_size * H);
    mark(o, m, m->pos_emb, (size_t)c->max_pos * H);
    if (m->type_emb)
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
    /* int8 matrices: frozen (train.h) */
    for (int l = 0; l < c->n_layers; l++) {
        const axf_layer *y = &m->layers[l];
        size_t A = (size_t)c->layer_heads[l] * HS, F = (size_t)c->layer_ffn[l];
        float *w[AXF_W_COUNT] = {y->wq, y->wk, y->wv, y->wo, y->w1, y->w2};
        size_t n[AXF_W_COUNT] = {A * H, A * H, A * H, A * H, F * H, F * H};
        for (int k = 0; k < AXF_W_COUNT; k++)
            if (y->q8[k].q && w[k] && n[k]) {
                mark_as(o, m, w[k], n[k], 2);
                o->n_frozen += n[k];
            }
    }
    return o;
}

void axf_adamw_mask_frozen(const axf_adamw *o, axf_model *grads)
{
    AXF_ASSERT(grads->n_floats == o->n);
    if (!o->n_frozen)
        return;
    for (size_t i = 0; i < o->n; i++)
        if (o->decay[i] == 2)
            grads->arena[i] = 0.0f;
}

void axf_adamw_free(axf_adamw *o)
{
    if (!o)
        return;
    AXF_FREE(o->m, o->v, o->decay, o);
}

/* b^n by squaring, in double: a fixed sequence of multiplications, where libm's pow picks an
 * FMA or a plain variant by CPU at load time. */
static double pow_int(float b, long n)
{
    double r = 1.0, x = b;
    for (; n > 0; n >>= 1) {
        if (n & 1)
            r *= x;
        x *= x;
    }
    return r;
}

typedef struct {
    float *w, *m, *v;
    const float *g;
    const unsigned char *decay;
    float b1, b2, eps, step, rbc2, wd, gs, k;
} adamw_job;

AXF_VEC static void adamw_part(const adamw_job *j, size_t i0, size_t i1)
{
    float b1 = j->b1, b2 = j->b2, eps = j->eps, step = j->step, rbc2 = j->rbc2, wd = j->wd, gs = j->gs;
    float *w = j->w, *mm = j->m, *vv = j->v;
    const float *g = j->g;
    const unsigned char *dk = j->decay;
    for (size_t i = i0; i < i1; i++) {
        float gi = g[i] * gs;
        mm[i] = b1 * mm[i] + (1.0f - b1) * gi;
        vv[i] = b2 * vv[i] + (1.0f - b2) * gi * gi;
        float upd = step * mm[i] / (sqrtf(vv[i]) * rbc2 + eps);
        /* frozen elements (2) see zero gradients (axf_adamw_mask_frozen), so upd is 0 */
        w[i] -= upd + (dk[i] == 1 ? wd * w[i] : 0.0f);
    }
}

static void adamw_range(void *ctx, size_t i0, size_t i1) { adamw_part(ctx, i0, i1); }

/* Element-wise passes over the arena go in pieces of this many floats, shared by the threads
 * (axf/parallel.h): each element is computed as on one thread. */
#define ARENA_GRAIN ((size_t)1 << 16)

void axf_adamw_step(axf_adamw *o, axf_model *m, const axf_model *grads, float lr)
{
    AXF_ASSERT(m->n_floats == o->n && grads->n_floats == o->n);
    o->step++;
    float b1 = o->beta1, b2 = o->beta2;
    float bc1 = (float)(1.0 - pow_int(b1, o->step));
    float bc2 = (float)(1.0 - pow_int(b2, o->step));
    adamw_job j = {.w = m->arena, .m = o->m, .v = o->v, .g = grads->arena, .decay = o->decay, .b1 = b1, .b2 = b2,
                   .eps = o->eps, .step = lr / bc1, .rbc2 = 1.0f / sqrtf(bc2), .wd = lr * o->weight_decay,
                   .gs = o->grad_scale};
    axf_parallel_range(adamw_range, &j, o->n, ARENA_GRAIN);
}

/* Squares summed in 8 double lanes: vectorises without reassociation and loses nothing to
 * rounding on millions of terms. */
AXF_VEC static double sum_squares(const float *g, size_t n)
{
    double acc[8] = {0};
    size_t nv = n - n % 8;
    for (size_t i = 0; i < nv; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += (double)g[i + j] * (double)g[i + j];
    double s = 0.0;
    for (int j = 0; j < 8; j++)
        s += acc[j];
    for (size_t i = nv; i < n; i++)
        s += (double)g[i] * g[i];
    return s;
}

AXF_VEC static void scale(float *g, size_t n, float k)
{
    for (size_t i = 0; i < n; i++)
        g[i] *= k;
}

static void scale_range(void *ctx, size_t i0, size_t i1)
{
    const adamw_job *j = ctx;
    scale(j->w + i0, i1 - i0, j->k);
}

double axf_grad_norm(const axf_model *grads) { return sqrt(sum_squares(grads->arena, grads->n_floats)); }

double axf_grad_clip(axf_model *grads, float max_norm)
{
    double norm = axf_grad_norm(grads);
    if (max_norm > 0 && norm > max_norm)
        axf_parallel_range(scale_range, &(adamw_job){.w = grads->arena, .k = (float)(max_norm / (norm + 1e-6))},
                           grads->n_floats, ARENA_GRAIN);
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
