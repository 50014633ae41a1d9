/* The engine object, input checks, embeddings, the classification head and the full forward
 * pass (the encoder layers are in layer.c and attention.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axf/matmul.h"
#include "axf/quant.h"
#include "engine_internal.h"
#include "gemm.h"
#include "qgemm.h"

#define MAX_TOKENS_LIMIT (1 << 24)

axf_engine *axf_engine_new(const axf_model *m, int max_tokens, axf_err *err)
{
    if (!m)
        return axf_err_set(err, "engine: no model"), NULL;
    const axf_config *c = &m->cfg;
    if (max_tokens < 1 || max_tokens > MAX_TOKENS_LIMIT)
        return axf_err_set(err, "engine: max_tokens %d out of range [1, %d]", max_tokens, MAX_TOKENS_LIMIT), NULL;
    if (c->hidden < 1 || c->head_dim < 1 || c->n_layers < 0 || c->n_layers > AXF_MAX_LAYERS ||
        c->max_pos < 1 || c->pos_offset < 0 || c->pos_offset >= c->max_pos || c->num_labels < 1 ||
        c->num_labels > AXF_MAX_LABELS)
        return axf_err_set(err, "engine: model config out of range (hidden %d, head size %d, layers %d, "
                                "max positions %d from %d, labels %d)", c->hidden, c->head_dim, c->n_layers,
                           c->max_pos, c->pos_offset, c->num_labels), NULL;
    int hq = 0, f = 0, nh = 0;
    for (int i = 0; i < c->n_layers; i++) {
        int lh = c->layer_heads[i], lf = c->layer_ffn[i];
        if (lh < 0 || lh > AXF_MAX_HEADS || lf < 0)
            return axf_err_set(err, "engine: layer %d has %d heads and %d FFN neurons", i, lh, lf), NULL;
        hq = lh * c->head_dim > hq ? lh * c->head_dim : hq;
        f = lf > f ? lf : f;
        nh = lh > nh ? lh : nh;
    }
    axf_engine *e = axf_xcalloc(1, sizeof *e);
    size_t T = (size_t)max_tokens, H = (size_t)c->hidden;
    e->m = m;
    e->max_tokens = max_tokens;
    e->max_n = max_tokens < c->max_pos ? max_tokens : c->max_pos;
    e->hq_max = hq;
    e->f_max = f;
    e->h = axf_xcalloc(T * H, sizeof(float)); /* finite even when the floor runs first */
    e->y = axf_xmalloc(T * H * sizeof(float));
    if (hq) {
        e->q = axf_xmalloc(T * hq * sizeof(float));
        e->k = axf_xmalloc(T * hq * sizeof(float));
        e->v = axf_xmalloc(T * hq * sizeof(float));
        e->ctx = axf_xmalloc(T * hq * sizeof(float));
    }
    if (f)
        e->inter = axf_xmalloc(T * f * sizeof(float));
    axf__worker_scratch(e, 0);
    e->bias = axf_xmalloc(((size_t)3 * hq + f + 1) * sizeof(float));
    e->runs = axf_xmalloc((size_t)3 * ((nh > f ? nh : f) + 1) * sizeof(int));
    e->head_of = axf_xmalloc(AXF_MAX_HEADS * sizeof(int));
    e->cls = axf_xmalloc(AXF_ENGINE_HEAD_CHUNK * H * sizeof(float));
    e->pooled = axf_xmalloc(AXF_ENGINE_HEAD_CHUNK * H * sizeof(float));
    return e;
}

void axf__worker_scratch(axf_engine *e, int id)
{
    if (e->scores[id])
        return;
    e->scores[id] = axf_xmalloc((size_t)e->max_n * e->max_n * sizeof(float));
    e->key[id] = axf_xmalloc((size_t)e->max_n * sizeof(uint32_t));
    e->keep[id] = axf_xmalloc((size_t)e->max_n);
}

void axf_engine_free(axf_engine *e)
{
    if (!e)
        return;
    AXF_FREE(e->h, e->y, e->q, e->k, e->v, e->ctx, e->inter);
    axf__pool_free(e);
    for (int i = 0; i <= AXF_MAX_WORKERS; i++)
        AXF_FREE(e->scores[i], e->key[i], e->keep[i]);
    AXF_FREE(e->bias, e->runs, e->head_of, e->w1p, e->w2p);
    axf__gemm_drop(e);
    axf__q8_drop(e);
    AXF_FREE(e->cls, e->pooled, e);
}

void axf_engine_set_observer(axf_engine *e, axf_attn_observer fn, void *ud)
{
    e->obs = fn;
    e->obs_ud = ud;
}

int axf_engine_max_tokens(const axf_engine *e)
{
    return e->max_tokens;
}

int axf_engine_check(const axf_engine *e, const axf_batch *b, axf_err *err)
{
    const axf_config *c = &e->m->cfg;
    if (!b || b->n_seq < 0 || (b->n_seq > 0 && (!b->seq_off || !b->ids)))
        return axf_err_set(err, "batch: missing sequences, offsets or ids");
    if (b->n_seq == 0)
        return b->n_tok == 0 ? 0 : axf_err_set(err, "batch: %d tokens but no sequence", b->n_tok);
    if (b->n_tok != b->seq_off[b->n_seq] - b->seq_off[0])
        return axf_err_set(err, "batch: n_tok %d differs from the offsets' span %d", b->n_tok,
                           b->seq_off[b->n_seq] - b->seq_off[0]);
    if (b->n_tok > e->max_tokens)
        return axf_err_set(err, "batch: %d tokens, engine made for at most %d", b->n_tok, e->max_tokens);
    for (int s = 0; s < b->n_seq; s++) {
        int n = b->seq_off[s + 1] - b->seq_off[s];
        if (n < 1)
            return axf_err_set(err, "batch: sequence %d is empty (%d tokens)", s, n);
        if (n > axf_config_max_len(c))
            return axf_err_set(err, "batch: sequence %d has %d tokens, the model takes at most %d", s, n,
                               axf_config_max_len(c));
    }
    for (int t = 0; t < b->n_tok; t++) {
        if (b->ids[t] < 0 || b->ids[t] >= c->vocab_size)
            return axf_err_set(err, "batch: token %d has id %d, vocabulary size is %d", t, b->ids[t],
                               c->vocab_size);
        if (b->types && c->type_vocab > 0 && (b->types[t] < 0 || b->types[t] >= c->type_vocab))
            return axf_err_set(err, "batch: token %d has type %d, the model has %d token types", t,
                               b->types[t], c->type_vocab);
    }
    return 0;
}

/* The hard-attention parameters of layer i's plan. */
static int check_hard(const axf_layer_plan *lp, int i, axf_err *err)
{
    switch (lp->hard) {
    case AXF_HARD_OFF:
        return 0;
    case AXF_HARD_TOPK:
    case AXF_HARD_TOPK_RENORM:
        if (lp->k < 1)
            return axf_err_set(err, "plan: layer %d: top-k needs k >= 1 (got %d)", i, lp->k);
        return 0;
    case AXF_HARD_THRESHOLD:
        if (!isfinite(lp->threshold))
            return axf_err_set(err, "plan: layer %d: threshold is not finite", i);
        return 0;
    default:
        return axf_err_set(err, "plan: layer %d: unknown hard-attention mode %d", i, (int)lp->hard);
    }
}

int axf_engine_check_plan(const axf_engine *e, const axf_plan *p, axf_err *err)
{
    if (!p)
        return 0;
    if (p->n_layers != e->m->cfg.n_layers)
        return axf_err_set(err, "plan: %d layers, the model has %d", p->n_layers, e->m->cfg.n_layers);
    for (int i = 0; i < p->n_layers; i++)
        if (check_hard(&p->layers[i], i, err))
            return -1;
    return 0;
}

typedef struct {
    const axf_model *m;
    const axf_batch *b;
    float *h;
    int q8;     /* word rows through their int8 form (the plan's int8_embed on a float32 table) */
} embed_job;

/* Tokens ahead whose word-embedding row is prefetched. Measured on the small 4 x 256 model, one
 * thread, 1024 random ids, inside a forward pass (the rows come from memory): 780 us for the
 * embeddings without, 605 us with 1 or 2 tokens ahead, 620 us with 3. */
#define EMBED_AHEAD 2

/* Rows [r0, r1) of the embedding output: word + position (from row pos_offset) + token type (none
 * when the model has no token types), then LayerNorm. */
static void embed_rows(void *ctx, int r0, int r1)
{
    const embed_job *j = ctx;
    const axf_model *m = j->m;
    const axf_batch *b = j->b;
    const int H = m->cfg.hidden, base = b->seq_off[0];
    int lo = 0, hi = b->n_seq - 1;   /* the sequence holding row r0 */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (b->seq_off[mid] - base <= r0)
            lo = mid;
        else
            hi = mid - 1;
    }
    int8_t *q = j->q8 ? axf_xmalloc((size_t)H) : NULL;
    float *wq = j->q8 ? axf_xmalloc(sizeof(float) * (size_t)H) : NULL;
    for (int t = r0, s = lo; t < r1; t++) {
        while (b->seq_off[s + 1] - base <= t)
            s++;
        if (t + EMBED_AHEAD < r1) {   /* word rows are scattered over the table: fetch ahead */
            const char *nx = (const char *)(m->word_emb + (size_t)b->ids[t + EMBED_AHEAD] * H);
            for (size_t k = 0; k < (size_t)H * sizeof(float); k += 64)
                __builtin_prefetch(nx + k);
        }
        const float *w = m->word_emb + (size_t)b->ids[t] * H;
        if (q) { /* as the int8 table an export of the plan stores (axf_model_set_int8_embed) */
            float sc;
            axf_quant_row(q, &sc, w, H);
            for (int k = 0; k < H; k++)
                wq[k] = (float)q[k] * sc;
            w = wq;
        }
        const float *ps = m->pos_emb + (size_t)(m->cfg.pos_offset + t - (b->seq_off[s] - base)) * H;
        float *o = j->h + (size_t)t * H;
        if (m->type_emb) {
            const float *ty = m->type_emb + (size_t)(b->types ? b->types[t] : 0) * H;
            for (int k = 0; k < H; k++)
                o[k] = w[k] + ps[k] + ty[k];
        } else {
            for (int k = 0; k < H; k++)
                o[k] = w[k] + ps[k];
        }
    }
    AXF_FREE(q, wq);
    axf__add_ln(j->h + (size_t)r0 * H, j->h + (size_t)r0 * H, NULL, NULL, m->emb_ln_g, m->emb_ln_b, r1 - r0, H,
                m->cfg.ln_eps);
}

void axf_engine_embed(axf_engine *e, const axf_plan *plan, const axf_batch *b, float *h)
{
    if (e->gemm_only)
        return;
    int held = axf__blas_hold(e);
    embed_job j = {e->m, b, h, plan && plan->int8_embed && !e->m->word_q8.q};
    axf__parallel_rows(e, embed_rows, &j, b->n_tok, e->m->cfg.hidden);
    axf__blas_release(held);
}

void axf_engine_head(axf_engine *e, const axf_batch *b, const float *h, float *logits)
{
    const axf_model *m = e->m;
    const int H = m->cfg.hidden, C = m->cfg.num_labels;
    int held = axf__blas_hold(e);
    for (int s0 = 0; s0 < b->n_seq; s0 += AXF_ENGINE_HEAD_CHUNK) {
        int nb = b->n_seq - s0 < AXF_ENGINE_HEAD_CHUNK ? b->n_seq - s0 : AXF_ENGINE_HEAD_CHUNK;
        for (int i = 0; i < nb; i++)
            memcpy(e->cls + (size_t)i * H, h + (size_t)(b->seq_off[s0 + i] - b->seq_off[0]) * H,
                   (size_t)H * sizeof(float));
        axf_matmul(0, 1, nb, H, H, e->cls, H, m->pool_w, H, 0, e->pooled, H);
        for (int i = 0; i < nb && !e->gemm_only; i++) {
            float *p = e->pooled + (size_t)i * H;
            if (m->cfg.head_act == AXF_HEAD_RELU)
                for (int j = 0; j < H; j++) {
                    float x = p[j] + (m->pool_b ? m->pool_b[j] : 0.0f);
                    p[j] = x > 0.0f ? x : 0.0f;
                }
            else
                for (int j = 0; j < H; j++)
                    p[j] = tanhf(p[j] + (m->pool_b ? m->pool_b[j] : 0.0f));
        }
        float *lo = logits + (size_t)s0 * C;
        axf_matmul(0, 1, nb, C, H, e->pooled, H, m->cls_w, H, 0, lo, C);
        if (m->cls_b && !e->gemm_only)
            for (int i = 0; i < nb; i++)
                for (int j = 0; j < C; j++)
                    lo[(size_t)i * C + j] += m->cls_b[j];
    }
    axf__blas_release(held);
}

/* The layers of axf_engine_forward: the last one that runs needs only the [CLS] rows (layers
 * above it are skipped whole, i.e. identity); axf_engine_layer_cls runs it in full itself when
 * an observer is set. */
static void encoder(axf_engine *e, const axf_plan *plan, const axf_batch *b)
{
    int last = axf_engine_last_live_layer(e, plan);
    for (int i = 0; i <= last; i++) {
        const axf_layer_plan *lp = plan ? &plan->layers[i] : NULL;
        if (i == last)
            axf_engine_layer_cls(e, i, lp, b, e->h);
        else
            axf_engine_layer(e, i, lp, b, e->h);
    }
}

int axf_engine_forward(axf_engine *e, const axf_plan *plan, const axf_batch *b, float *logits, axf_err *err)
{
    if (axf_engine_check(e, b, err) || axf_engine_check_plan(e, plan, err))
        return -1;
    if (b->n_seq == 0)
        return 0;
    int held = axf__blas_hold(e); /* OpenBLAS's thread count changes once a pass, not at every step */
    axf_engine_embed(e, plan, b, e->h);
    encoder(e, plan, b);
    axf_engine_head(e, b, e->h, logits);
    axf__blas_release(held);
    return 0;
}

/* Catches the probabilities of one (layer, head) of sequence 0 from the observer calls. */
typedef struct probe {
    int layer, head, got;
    float *out;
} probe;

static void probe_head(int layer, int seq, int head, int n, const float *probs, void *ud)
{
    probe *p = ud;
    if (layer == p->layer && seq == 0 && head == p->head) {
        memcpy(p->out, probs, sizeof(float) * (size_t)n * (size_t)n);
        p->got = 1;
    }
}

int axf_engine_attention(axf_engine *e, const axf_plan *plan, const axf_batch *b, int layer, int head,
                         const axf_layer_plan *lp, float *probs, axf_err *err)
{
    const axf_config *c = &e->m->cfg;
    if (axf_engine_check(e, b, err) || axf_engine_check_plan(e, plan, err))
        return -1;
    if (b->n_seq != 1)
        return axf_err_set(err, "attention: the batch holds %d sequences, not one", b->n_seq);
    if (layer < 0 || layer >= c->n_layers)
        return axf_err_set(err, "attention: no layer %d (the model has %d)", layer, c->n_layers);
    if (head < 0 || head >= c->layer_heads[layer])
        return axf_err_set(err, "attention: layer %d has no head %d (it has %d)", layer, head, c->layer_heads[layer]);
    if (!lp && plan)
        lp = &plan->layers[layer];
    axf_layer_plan one;
    memset(&one, 0, sizeof one);
    if (lp) {
        if (check_hard(lp, layer, err))
            return -1;
        one.hard = lp->hard;
        one.k = lp->k;
        one.threshold = lp->threshold;
        one.int8_attn = lp->int8_attn;
        if (lp->attn_on) /* the same head mask (and int8 weights made for it) as the pass itself */
            memcpy(one.head_on, lp->head_on, sizeof one.head_on);
    }
    one.nh = c->layer_heads[layer];
    one.f = c->layer_ffn[layer];
    one.attn_on = 1;
    one.head_on[head] = 1;
    one.ffn_on = 0; /* what comes after the attention is not needed */
    axf_attn_observer obs = e->obs; /* the caller's observer sees nothing of this pass */
    void *obs_ud = e->obs_ud;
    axf_engine_set_observer(e, NULL, NULL);
    int held = axf__blas_hold(e);
    axf_engine_embed(e, plan, b, e->h);
    for (int i = 0; i < layer; i++)
        axf_engine_layer(e, i, plan ? &plan->layers[i] : NULL, b, e->h);
    probe p = {layer, head, 0, probs};
    axf_engine_set_observer(e, probe_head, &p);
    axf_engine_layer(e, layer, &one, b, e->h);
    axf_engine_set_observer(e, obs, obs_ud);
    axf__blas_release(held);
    return p.got ? 0 : axf_err_set(err, "attention: layer %d head %d was not computed", layer, head);
}

int axf_engine_gemm_floor(axf_engine *e, const axf_plan *plan, const axf_batch *b, float *logits, axf_err *err)
{
    if (axf_engine_check(e, b, err) || axf_engine_check_plan(e, plan, err))
        return -1;
    if (b->n_seq == 0)
        return 0;
    e->gemm_only = 1;
    int held = axf__blas_hold(e);
    encoder(e, plan, b);
    axf_engine_head(e, b, e->h, logits);
    axf__blas_release(held);
    e->gemm_only = 0;
    return 0;
}

float *axf_engine_hidden(axf_engine *e)
{
    return e->h;
}
