/* Training forward pass (keeping every activation the backward pass needs) and its backward pass
 * over a packed batch, optionally under an approximation plan. Removed elements are gated by
 * multiplying by zero here; the engine is the place where they cost nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axf/matmul.h"
#include "axf/parallel.h"
#include "axf/train.h"
#include "kernels.h"

/* Heads and neurons of a layer come from the config, the source every tensor shape follows. */
#define LNH(m, l) ((m)->cfg.layer_heads[l])
#define LF(m, l) ((m)->cfg.layer_ffn[l])

/* A buffer that only ever grows, so steady-state training allocates nothing. */
typedef struct {
    void *p;
    size_t cap; /* bytes */
} grow_buf;

static void *grow(grow_buf *b, size_t bytes)
{
    if (bytes > b->cap) {
        free(b->p);
        b->cap = bytes + bytes / 4 + 64;
        b->p = axf_xmalloc(b->cap);
    }
    return b->p;
}

enum {
    B_SEQ_START, B_SEQ_LEN, B_ATT_OFF,
    B_EMB_XHAT, B_EMB_RSTD, B_EMB_MASK, B_HS,
    B_Q, B_K, B_V, B_CTX, B_A, B_A_MASK, B_X1HAT, B_R1, B_H1, B_U, B_G, B_F2, B_F_MASK, B_X2HAT, B_R2,
    B_P, B_PK, B_AKEEP, B_SUM,
    B_CLS_H, B_POOLED, B_PD, B_P_MASK, B_LOGITS, B_DLOGITS, B_SEQ_LOSS,
    B_MH, B_MU, B_MA, B_MXHAT, B_MRSTD, B_MZ, B_MLOG,
    B_DHID,
    B_DH, B_DH1, B_DTMP, B_DQ, B_DK, B_DV, B_DCTX, B_DU, B_DP, B_DB, B_DM,
    B_COUNT
};

typedef struct {
    unsigned char attn, ffn, identity, hard, pk_sep;
} layer_state;

struct axf_train_ctx {
    axf_model *m;
    axf_model *g; /* gradients */
    float hdrop, adrop;
    axf_rng *rng;
    grow_buf buf[B_COUNT];

    /* shape and inputs of the last forward */
    int T, B, M, maxn, Fmax, NH, with_head;
    size_t S2; /* sum of n^2 over sequences */
    axf_loss_reduction red;
    const axf_plan *plan;
    axf_train_batch tb;
    layer_state ls[AXF_MAX_LAYERS];

    int *seq_start, *seq_len;
    size_t *att_off;
    float *e_xhat, *e_rstd, *hs;
    unsigned char *e_mask;
    float *q, *k, *v, *ctx, *a, *x1hat, *r1, *h1, *u, *gl, *f2, *x2hat, *r2;
    unsigned char *a_mask, *f_mask, *akeep;
    float *P, *Pk, *sum;
    float *cls_h, *pooled, *pd, *logits, *dlogits, *seq_loss;
    unsigned char *p_mask;
    float *mh, *mu, *ma, *mxhat, *mrstd, *mz, *mlog;
    float *dhid; /* gradient of the hidden-matching term [T, H], when the batch has one */
    int with_hid;
    float *dh, *dh1, *dtmp, *dq, *dk, *dv, *dctx, *du, *dP, *db, *dm;
};

axf_train_ctx *axf_train_ctx_new(axf_model *m, axf_err *err)
{
    if (!m)
        return axf_err_set(err, "train: no model"), NULL;
    axf_train_ctx *c = axf_xcalloc(1, sizeof *c);
    c->m = m;
    return c;
}

void axf_train_ctx_free(axf_train_ctx *c)
{
    if (!c)
        return;
    for (int i = 0; i < B_COUNT; i++)
        free(c->buf[i].p);
    axf_model_free(c->g);
    free(c);
}

void axf_train_ctx_set_dropout(axf_train_ctx *c, float hidden, float attn, axf_rng *rng)
{
    c->hdrop = hidden > 0 ? hidden : 0;
    c->adrop = attn > 0 ? attn : 0;
    c->rng = rng;
}

/* The gradient arena is made on first use: gate gradients never need it. */
axf_model *axf_train_grads(axf_train_ctx *c)
{
    if (!c->g) {
        axf_err err;
        c->g = axf_model_clone(c->m, &err);
        AXF_ASSERT(c->g != NULL);
        memset(c->g->arena, 0, c->g->n_floats * sizeof(float));
    }
    return c->g;
}

static void zero_range(void *ctx, size_t i0, size_t i1) { memset((float *)ctx + i0, 0, (i1 - i0) * sizeof(float)); }

void axf_train_zero_grad(axf_train_ctx *c)
{
    axf_model *g = axf_train_grads(c);
    axf_parallel_range(zero_range, g->arena, g->n_floats, (size_t)1 << 16);
}

const float *axf_train_seq_losses(const axf_train_ctx *c) { return c->seq_loss; }

const float *axf_train_hidden(const axf_train_ctx *c)
{
    return c->hs + (size_t)c->m->cfg.n_layers * c->T * c->m->cfg.hidden;
}

#define F(id, n) ((float *)grow(&c->buf[id], (size_t)(n) * sizeof(float)))
#define U8(id, n) ((unsigned char *)grow(&c->buf[id], (size_t)(n)))

static void layout(axf_train_ctx *c)
{
    const axf_config *cf = &c->m->cfg;
    size_t T = (size_t)c->T, B = (size_t)c->B, M = (size_t)c->M, H = (size_t)cf->hidden;
    size_t L = (size_t)cf->n_layers, Fm = (size_t)c->Fmax, C = (size_t)cf->num_labels;
    size_t A = L * (size_t)c->NH * c->S2;
    c->e_xhat = F(B_EMB_XHAT, T * H);
    c->e_rstd = F(B_EMB_RSTD, T);
    c->e_mask = U8(B_EMB_MASK, T * H);
    c->hs = F(B_HS, (L + 1) * T * H);
    c->q = F(B_Q, L * T * H);
    c->k = F(B_K, L * T * H);
    c->v = F(B_V, L * T * H);
    c->ctx = F(B_CTX, L * T * H);
    c->a = F(B_A, L * T * H);
    c->a_mask = U8(B_A_MASK, L * T * H);
    c->x1hat = F(B_X1HAT, L * T * H);
    c->r1 = F(B_R1, L * T);
    c->h1 = F(B_H1, L * T * H);
    c->u = F(B_U, L * T * Fm);
    c->gl = F(B_G, L * T * Fm);
    c->f2 = F(B_F2, L * T * H);
    c->f_mask = U8(B_F_MASK, L * T * H);
    c->x2hat = F(B_X2HAT, L * T * H);
    c->r2 = F(B_R2, L * T);
    c->P = F(B_P, A);
    c->Pk = F(B_PK, A);
    c->akeep = U8(B_AKEEP, A);
    c->sum = F(B_SUM, T * H);
    c->cls_h = F(B_CLS_H, B * H);
    c->pooled = F(B_POOLED, B * H);
    c->pd = F(B_PD, B * H);
    c->p_mask = U8(B_P_MASK, B * H);
    c->logits = F(B_LOGITS, B * C);
    c->dlogits = F(B_DLOGITS, B * C);
    c->seq_loss = F(B_SEQ_LOSS, B);
    c->mh = F(B_MH, M * H);
    c->mu = F(B_MU, M * H);
    c->ma = F(B_MA, M * H);
    c->mxhat = F(B_MXHAT, M * H);
    c->mrstd = F(B_MRSTD, M);
    c->mz = F(B_MZ, M * H);
    c->mlog = F(B_MLOG, M * (size_t)cf->vocab_size);
    c->dh = F(B_DH, T * H);
    c->dh1 = F(B_DH1, T * H);
    c->dtmp = F(B_DTMP, T * H);
    c->dq = F(B_DQ, T * H);
    c->dk = F(B_DK, T * H);
    c->dv = F(B_DV, T * H);
    c->dctx = F(B_DCTX, T * H);
    c->du = F(B_DU, T * Fm);
    c->dP = F(B_DP, (size_t)axf_parallel_workers() * c->maxn * c->maxn); /* a [maxn, maxn] per thread */
    c->db = F(B_DB, (B > M ? B : M) * H);
    c->dm = F(B_DM, M * H);
}

/* ---- attention for one layer ----------------------------------------------------------------
 * One task per (head, sequence), shared by the threads (axf/parallel.h). Attention dropout draws
 * its masks from the one generator, so the forward pass runs in three phases: scores and
 * probabilities (tasks), the masks in (head, sequence) order (the caller's thread), then the
 * masked probabilities times V (tasks). */

typedef struct {
    axf_train_ctx *c;
    const axf_layer_plan *lp;
    int l, QW, nh, phase;
} att_job;

static int att_on(const att_job *j, int h) { return !j->lp || j->lp->head_on[h]; }

/* The probabilities of head h of sequence s have a mask besides dropout's (top-k or threshold). */
static int att_hard_masked(const att_job *j, int n)
{
    axf_hard_mode hard = j->lp ? j->lp->hard : AXF_HARD_OFF;
    int K = j->lp && j->lp->k > 1 ? j->lp->k : 1; /* as the engine: k < 1 keeps 1 */
    return (hard == AXF_HARD_TOPK && K < n) || hard == AXF_HARD_THRESHOLD;
}

static void att_fwd_task(void *ctx, int task, int worker)
{
    (void)worker;
    const att_job *j = ctx;
    axf_train_ctx *c = j->c;
    const axf_config *cf = &c->m->cfg;
    const axf_layer_plan *lp = j->lp;
    int h = task / c->B, s = task % c->B, QW = j->QW, HS = cf->head_dim;
    size_t TH = (size_t)c->T * cf->hidden;
    int o = c->seq_start[s], n = c->seq_len[s];
    float *ch = c->ctx + (size_t)j->l * TH + (size_t)o * QW + (size_t)h * HS;
    size_t base = ((size_t)j->l * c->NH + (size_t)h) * c->S2 + c->att_off[s];
    float *P = c->P + base;
    unsigned char *keep = c->akeep + base;
    int pk_sep = c->ls[j->l].pk_sep;
    if (!att_on(j, h)) {
        if (j->phase == 0)
            for (int t = 0; t < n; t++)
                memset(ch + (size_t)t * QW, 0, (size_t)HS * sizeof(float));
        return;
    }
    if (j->phase == 0) {
        float scale = 1.0f / sqrtf((float)HS);
        const float *qh = c->q + (size_t)j->l * TH + (size_t)o * QW + (size_t)h * HS;
        const float *kh = c->k + (size_t)j->l * TH + (size_t)o * QW + (size_t)h * HS;
        axf_hard_mode hard = lp ? lp->hard : AXF_HARD_OFF;
        int K = lp && lp->k > 1 ? lp->k : 1;
        axf_matmul(0, 1, n, n, HS, qh, QW, kh, QW, 0, P, n);   /* then scaled, as the engine does */
        for (size_t i = 0; i < (size_t)n * n; i++)
            P[i] *= scale;
        if (hard == AXF_HARD_TOPK_RENORM && K < n)
            tk_hard_scores(P, keep, n, K);
        tk_softmax_rows(P, n, n);
        if (pk_sep) {
            float *Pk = c->Pk + base;
            memcpy(Pk, P, (size_t)n * n * sizeof(float));
            if (att_hard_masked(j, n))
                tk_hard_probs(Pk, keep, n, hard, K, lp->threshold);
        }
        if (c->adrop > 0)
            return; /* the masks first (att_fwd_masks), then phase 1 */
    }
    const float *Pk = P;
    if (pk_sep) {
        float *pk = c->Pk + base;
        int masked = att_hard_masked(j, n);
        if (c->adrop > 0) {
            float ks = 1.0f / (1.0f - c->adrop);
            for (size_t i = 0; i < (size_t)n * n; i++)
                pk[i] = keep[i] ? pk[i] * ks : 0.0f;
            masked = 1;
        }
        if (!masked)
            memset(keep, 1, (size_t)n * n);
        Pk = pk;
    }
    const float *vh = c->v + (size_t)j->l * TH + (size_t)o * QW + (size_t)h * HS;
    axf_matmul(0, 0, n, HS, n, Pk, n, vh, QW, 0, ch, QW);
}

/* Attention dropout's masks, in (head, sequence) order, ANDed into the hard-attention masks. */
static void att_fwd_masks(const att_job *j)
{
    axf_train_ctx *c = j->c;
    for (int h = 0; h < j->nh; h++) {
        if (!att_on(j, h))
            continue;
        size_t base = ((size_t)j->l * c->NH + (size_t)h) * c->S2;
        for (int s = 0; s < c->B; s++) {
            int n = c->seq_len[s];
            tk_dropout_mask(c->akeep + base + c->att_off[s], att_hard_masked(j, n), (size_t)n * n, c->adrop, c->rng);
        }
    }
}

static void attention_fwd(axf_train_ctx *c, int l, const axf_layer_plan *lp, int QW)
{
    att_job j = {c, lp, l, QW, LNH(c->m, l), 0};
    axf_parallel(att_fwd_task, &j, j.nh * c->B);
    if (c->adrop > 0 && c->ls[l].pk_sep) {
        att_fwd_masks(&j);
        j.phase = 1;
        axf_parallel(att_fwd_task, &j, j.nh * c->B);
    }
}

/* dctx [T, QW] -> dq, dk, dv [T, QW] (zero for heads that are off); dP: the worker's scratch. */
static void att_bwd_task(void *ctx, int task, int worker)
{
    const att_job *j = ctx;
    axf_train_ctx *c = j->c;
    const axf_config *cf = &c->m->cfg;
    int h = task / c->B, s = task % c->B, QW = j->QW, HS = cf->head_dim, T = c->T;
    float scale = 1.0f / sqrtf((float)HS);
    const float *q = c->q + (size_t)j->l * T * cf->hidden, *k = c->k + (size_t)j->l * T * cf->hidden;
    const float *v = c->v + (size_t)j->l * T * cf->hidden;
    int pk_sep = c->ls[j->l].pk_sep;
    float ks = c->adrop > 0 ? 1.0f / (1.0f - c->adrop) : 1.0f;
    size_t base = ((size_t)j->l * c->NH + (size_t)h) * c->S2;
    int o = c->seq_start[s], n = c->seq_len[s];
    size_t off = (size_t)o * QW + (size_t)h * HS;
    if (!att_on(j, h)) {
        for (int t = 0; t < n; t++) {
            memset(c->dq + off + (size_t)t * QW, 0, (size_t)HS * sizeof(float));
            memset(c->dk + off + (size_t)t * QW, 0, (size_t)HS * sizeof(float));
            memset(c->dv + off + (size_t)t * QW, 0, (size_t)HS * sizeof(float));
        }
        return;
    }
    const float *P = c->P + base + c->att_off[s];
    const float *Pk = pk_sep ? c->Pk + base + c->att_off[s] : P;
    const unsigned char *keep = c->akeep + base + c->att_off[s];
    const float *dch = c->dctx + off;
    float *dP = c->dP + (size_t)worker * c->maxn * c->maxn;
    /* dPk = dctx_h V_h^T ; dV_h = Pk^T dctx_h */
    axf_matmul(0, 1, n, n, HS, dch, QW, v + off, QW, 0, dP, n);
    axf_matmul(1, 0, n, HS, n, Pk, n, dch, QW, 0, c->dv + off, QW);
    if (pk_sep)
        for (size_t i = 0; i < (size_t)n * n; i++)
            dP[i] = keep[i] ? dP[i] * ks : 0.0f;
    /* softmax backward: dS = P (dP - rowsum(dP P)) */
    for (int r = 0; r < n; r++) {
        float *d = dP + (size_t)r * n;
        const float *p = P + (size_t)r * n;
        float dot = 0.0f;
        for (int jj = 0; jj < n; jj++)
            dot += d[jj] * p[jj];
        for (int jj = 0; jj < n; jj++)
            d[jj] = p[jj] * (d[jj] - dot);
    }
    axf_matmul(0, 0, n, HS, n, dP, n, k + off, QW, 0, c->dq + off, QW);
    axf_matmul(1, 0, n, HS, n, dP, n, q + off, QW, 0, c->dk + off, QW);
    for (int t = 0; t < n; t++)
        for (int d = 0; d < HS; d++) {
            c->dq[off + (size_t)t * QW + d] *= scale;
            c->dk[off + (size_t)t * QW + d] *= scale;
        }
}

static void attention_bwd(axf_train_ctx *c, int l, const axf_layer_plan *lp, int QW)
{
    att_job j = {c, lp, l, QW, LNH(c->m, l), 0};
    axf_parallel(att_bwd_task, &j, j.nh * c->B);
}

/* ---- forward -------------------------------------------------------------------------------- */

static int check_batch(axf_train_ctx *c, const axf_plan *plan, const axf_train_batch *tb, axf_err *err)
{
    const axf_config *cf = &c->m->cfg;
    const axf_batch *b = &tb->b;
    if (b->n_seq <= 0)
        return axf_err_set(err, "train: batch has no sequences");
    if (!b->seq_off || !b->ids || !b->types)
        return axf_err_set(err, "train: batch without ids, types or offsets");
    if (b->seq_off[b->n_seq] - b->seq_off[0] != b->n_tok)
        return axf_err_set(err, "train: batch n_tok %d does not match its offsets", b->n_tok);
    if (plan && plan->n_layers != cf->n_layers)
        return axf_err_set(err, "train: plan has %d layers, model %d", plan->n_layers, cf->n_layers);
    for (int l = 0; plan && l < cf->n_layers; l++) {
        const axf_layer_plan *lp = &plan->layers[l];
        if (lp->nh != cf->layer_heads[l] || lp->f != cf->layer_ffn[l])
            return axf_err_set(err, "train: plan layer %d is for %d heads / %d neurons, the model has %d / %d", l,
                               lp->nh, lp->f, cf->layer_heads[l], cf->layer_ffn[l]);
        if ((lp->hard == AXF_HARD_TOPK || lp->hard == AXF_HARD_TOPK_RENORM) && lp->k < 1)
            return axf_err_set(err, "train: plan layer %d: top-k attention with k = %d", l, lp->k);
    }
    for (int s = 0; s < b->n_seq; s++) {
        int n = b->seq_off[s + 1] - b->seq_off[s];
        if (n <= 0 || n > axf_config_max_len(cf))
            return axf_err_set(err, "train: sequence %d has %d tokens (1..%d allowed)", s, n, axf_config_max_len(cf));
    }
    for (int t = 0; t < b->n_tok; t++) {
        if (b->ids[t] < 0 || b->ids[t] >= cf->vocab_size)
            return axf_err_set(err, "train: token %d has id %d outside the vocabulary (%d)", t, b->ids[t],
                               cf->vocab_size);
        if (cf->type_vocab > 0 && (b->types[t] < 0 || b->types[t] >= cf->type_vocab))
            return axf_err_set(err, "train: token %d has type %d (type vocabulary %d)", t, b->types[t],
                               cf->type_vocab);
    }
    if (tb->labels && cf->task == AXF_TASK_CLASSIFY)
        for (int s = 0; s < b->n_seq; s++)
            if (tb->labels[s] < 0 || tb->labels[s] >= cf->num_labels)
                return axf_err_set(err, "train: sequence %d has label %d (model has %d labels)", s,
                                   tb->labels[s], cf->num_labels);
    if (tb->soft && (!(tb->kd_temp > 0) || !(tb->kd_alpha >= 0 && tb->kd_alpha <= 1)))
        return axf_err_set(err, "train: distillation needs a temperature > 0 and alpha in 0..1 (got %g, %g)",
                           (double)tb->kd_temp, (double)tb->kd_alpha);
    if (tb->hid && !(tb->hid_weight >= 0))
        return axf_err_set(err, "train: hidden-state matching weight %g", (double)tb->hid_weight);
    if (tb->n_mlm > 0) {
        if (!c->m->mlm_w)
            return axf_err_set(err, "train: masked-LM targets given but the model has no masked-LM head");
        for (int i = 0; i < tb->n_mlm; i++) {
            if (tb->mlm_pos[i] < 0 || tb->mlm_pos[i] >= b->n_tok)
                return axf_err_set(err, "train: masked position %d outside the batch", tb->mlm_pos[i]);
            if (tb->mlm_ids[i] < 0 || tb->mlm_ids[i] >= cf->vocab_size)
                return axf_err_set(err, "train: masked-LM target id %d outside the vocabulary", tb->mlm_ids[i]);
        }
    }
    return 0;
}

/* The heads read rows of the last layer's hidden states: dst[i] = h_L[pos[i]] for i < n (dst
 * [n, H]); the backward pass adds their gradients back, dh[pos[i]] += src[i]. */
static void gather_last(const axf_train_ctx *c, float *dst, const int *pos, int n)
{
    int H = c->m->cfg.hidden;
    const float *hL = c->hs + (size_t)c->m->cfg.n_layers * c->T * H;
    for (int i = 0; i < n; i++)
        memcpy(dst + (size_t)i * H, hL + (size_t)pos[i] * H, (size_t)H * sizeof(float));
}

static void scatter_add(axf_train_ctx *c, const float *src, const int *pos, int n)
{
    int H = c->m->cfg.hidden;
    for (int i = 0; i < n; i++) {
        float *d = c->dh + (size_t)pos[i] * H;
        const float *e = src + (size_t)i * H;
        for (int j = 0; j < H; j++)
            d[j] += e[j];
    }
}

static double head_fwd(axf_train_ctx *c, const axf_train_batch *tb, float scale)
{
    const axf_model *m = c->m;
    int H = m->cfg.hidden, B = c->B, C = m->cfg.num_labels;
    gather_last(c, c->cls_h, c->seq_start, B);
    tk_linear_fwd(c->pooled, H, c->cls_h, H, m->pool_w, m->pool_b, B, H, H);
    if (m->cfg.head_act == AXF_HEAD_RELU)
        for (size_t i = 0; i < (size_t)B * H; i++)
            c->pooled[i] = c->pooled[i] > 0.0f ? c->pooled[i] : 0.0f;
    else
        for (size_t i = 0; i < (size_t)B * H; i++)
            c->pooled[i] = tanhf(c->pooled[i]);
    memcpy(c->pd, c->pooled, (size_t)B * H * sizeof(float));
    if (c->hdrop > 0)
        tk_dropout_fwd(c->pd, c->p_mask, (size_t)B * H, c->hdrop, c->rng);
    tk_linear_fwd(c->logits, C, c->pd, H, m->cls_w, m->cls_b, B, H, C);
    if (tb->labels && m->cfg.task == AXF_TASK_CLASSIFY) {
        if (tb->soft)
            return tk_kd(c->dlogits, c->seq_loss, c->logits, tb->labels, tb->soft, B, C, tb->kd_alpha, tb->kd_temp,
                         scale);
        return tk_xent(c->dlogits, c->seq_loss, c->logits, tb->labels, B, C, scale);
    }
    if (tb->targets && m->cfg.task == AXF_TASK_REGRESS) {
        double tot = 0;
        float a = tb->soft ? tb->kd_alpha : 0.0f;
        for (int s = 0; s < B; s++) {
            float z = c->logits[(size_t)s * C], d = z - tb->targets[s];
            float ds = tb->soft ? z - tb->soft[(size_t)s * C] : 0.0f;
            double l = a > 0 ? (1.0 - a) * d * d + (double)a * ds * ds : (double)d * d;
            c->seq_loss[s] = (float)l;
            tot += l;
            for (int j = 0; j < C; j++)
                c->dlogits[(size_t)s * C + j] = 0.0f;
            c->dlogits[(size_t)s * C] = a > 0 ? 2.0f * ((1.0f - a) * d + a * ds) * scale : 2.0f * d * scale;
        }
        return tot;
    }
    memset(c->dlogits, 0, (size_t)B * C * sizeof(float));
    memset(c->seq_loss, 0, (size_t)B * sizeof(float));
    return 0.0;
}

static double mlm_fwd(axf_train_ctx *c, const axf_train_batch *tb, float scale)
{
    const axf_model *m = c->m;
    int H = m->cfg.hidden, M = c->M, V = m->cfg.vocab_size;
    gather_last(c, c->mh, tb->mlm_pos, M);
    tk_linear_fwd(c->mu, H, c->mh, H, m->mlm_w, m->mlm_b, M, H, H);
    tk_act_fwd(c->ma, c->mu, (size_t)M * H, m->cfg.act);
    tk_layernorm_fwd(c->mz, c->mxhat, c->mrstd, c->ma, m->mlm_ln_g, m->mlm_ln_b, M, H, m->cfg.ln_eps);
    tk_linear_fwd(c->mlog, V, c->mz, H, m->word_emb, m->mlm_bias, M, H, V);
    /* logits are replaced by their gradient: nothing else reads them */
    return tk_xent(c->mlog, NULL, c->mlog, tb->mlm_ids, M, V, scale);
}

/* Hidden-state matching (axf_train_batch.hid): the term's sum over sequences, its gradient with
 * respect to the last hidden states in dhid (times scale), each sequence's share added to its
 * loss when the head ran. */
static double hid_fwd(axf_train_ctx *c, const axf_train_batch *tb, float scale)
{
    int H = c->m->cfg.hidden;
    const float *h = axf_train_hidden(c);
    c->dhid = (float *)grow(&c->buf[B_DHID], (size_t)c->T * H * sizeof(float));
    double total = 0.0;
    for (int s = 0; s < c->B; s++) {
        size_t o = (size_t)c->seq_start[s] * H, n = (size_t)c->seq_len[s] * H;
        float k = tb->hid_weight / (float)n, g = 2.0f * k * scale;
        double sq = 0.0;
        for (size_t i = 0; i < n; i++) {
            float d = h[o + i] - tb->hid[o + i];
            sq += (double)d * d;
            c->dhid[o + i] = g * d;
        }
        double l = (double)k * sq;
        if (c->with_head)
            c->seq_loss[s] += (float)l;
        total += l;
    }
    return total;
}

int axf_train_forward(axf_train_ctx *c, const axf_plan *plan, const axf_train_batch *tb,
                      axf_loss_reduction red, double *loss, float *logits, axf_err *err)
{
    if (check_batch(c, plan, tb, err))
        return -1;
    const axf_model *m = c->m;
    const axf_config *cf = &m->cfg;
    const axf_batch *b = &tb->b;
    int H = cf->hidden, L = cf->n_layers;
    c->T = b->n_tok;
    c->B = b->n_seq;
    c->M = tb->n_mlm > 0 ? tb->n_mlm : 0;
    c->tb = *tb;
    c->plan = plan;
    c->red = red;
    c->NH = cf->n_heads > 0 ? cf->n_heads : 1;
    for (int l = 0; l < L; l++)
        if (LNH(m, l) > c->NH)
            c->NH = LNH(m, l);
    c->Fmax = 1;
    for (int l = 0; l < L; l++)
        if (LF(m, l) > c->Fmax)
            c->Fmax = LF(m, l);
    c->with_head = tb->labels || tb->targets || logits;

    c->seq_start = (int *)grow(&c->buf[B_SEQ_START], (size_t)c->B * sizeof(int));
    c->seq_len = (int *)grow(&c->buf[B_SEQ_LEN], (size_t)c->B * sizeof(int));
    c->att_off = (size_t *)grow(&c->buf[B_ATT_OFF], (size_t)(c->B + 1) * sizeof(size_t));
    c->S2 = 0;
    c->maxn = 1;
    for (int s = 0; s < c->B; s++) {
        int n = b->seq_off[s + 1] - b->seq_off[s];
        c->seq_start[s] = b->seq_off[s] - b->seq_off[0];
        c->seq_len[s] = n;
        c->att_off[s] = c->S2;
        c->S2 += (size_t)n * n;
        if (n > c->maxn)
            c->maxn = n;
    }
    c->att_off[c->B] = c->S2;
    layout(c);

    /* embeddings */
    float *h0 = c->hs;
    for (int s = 0; s < c->B; s++)
        for (int p = 0; p < c->seq_len[s]; p++) {
            int t = c->seq_start[s] + p;
            const float *w = m->word_emb + (size_t)b->ids[t] * H;
            const float *ps = m->pos_emb + (size_t)(cf->pos_offset + p) * H;
            float *o = c->sum + (size_t)t * H;
            if (m->type_emb) {
                const float *ty = m->type_emb + (size_t)b->types[t] * H;
                for (int i = 0; i < H; i++)
                    o[i] = w[i] + ps[i] + ty[i];
            } else {
                for (int i = 0; i < H; i++)
                    o[i] = w[i] + ps[i];
            }
        }
    tk_layernorm_fwd(h0, c->e_xhat, c->e_rstd, c->sum, m->emb_ln_g, m->emb_ln_b, c->T, H, cf->ln_eps);
    if (c->hdrop > 0)
        tk_dropout_fwd(h0, c->e_mask, (size_t)c->T * H, c->hdrop, c->rng);

    /* encoder */
    for (int l = 0; l < L; l++) {
        const axf_layer *ly = &m->layers[l];
        const axf_layer_plan *lp = plan ? &plan->layers[l] : NULL;
        layer_state *st = &c->ls[l];
        size_t TH = (size_t)c->T * H;
        int QW = LNH(m, l) * cf->head_dim, f = LF(m, l);
        st->attn = LNH(m, l) > 0 && (!lp || lp->attn_on);
        st->ffn = f > 0 && (!lp || lp->ffn_on);
        st->identity = !st->attn && !st->ffn;
        st->hard = lp ? lp->hard : AXF_HARD_OFF;
        st->pk_sep = st->attn && (c->adrop > 0 || st->hard == AXF_HARD_TOPK || st->hard == AXF_HARD_THRESHOLD);
        const float *x = c->hs + (size_t)l * TH;
        float *out = c->hs + (size_t)(l + 1) * TH;
        if (st->identity) {
            memcpy(out, x, TH * sizeof(float));
            continue;
        }
        float *h1 = c->h1 + (size_t)l * TH;
        if (st->attn) {
            float *q = c->q + (size_t)l * TH, *k = c->k + (size_t)l * TH, *v = c->v + (size_t)l * TH;
            float *a = c->a + (size_t)l * TH;
            tk_linear_fwd(q, QW, x, H, ly->wq, ly->bq, c->T, H, QW);
            tk_linear_fwd(k, QW, x, H, ly->wk, ly->bk, c->T, H, QW);
            tk_linear_fwd(v, QW, x, H, ly->wv, ly->bv, c->T, H, QW);
            attention_fwd(c, l, lp, QW);
            tk_linear_fwd(a, H, c->ctx + (size_t)l * TH, QW, ly->wo, ly->bo, c->T, QW, H);
            tk_dropout_add(c->sum, a, x, c->a_mask + (size_t)l * TH, TH, c->hdrop, c->rng);
            tk_layernorm_fwd(h1, c->x1hat + (size_t)l * TH, c->r1 + (size_t)l * c->T, c->sum, ly->ln1_g,
                             ly->ln1_b, c->T, H, cf->ln_eps);
        } else {
            tk_layernorm_fwd(h1, c->x1hat + (size_t)l * TH, c->r1 + (size_t)l * c->T, x, ly->ln1_g,
                             ly->ln1_b, c->T, H, cf->ln_eps);
        }
        if (st->ffn) {
            size_t TF = (size_t)c->T * c->Fmax;
            float *u = c->u + (size_t)l * TF, *g = c->gl + (size_t)l * TF, *f2 = c->f2 + (size_t)l * TH;
            tk_linear_fwd(u, f, h1, H, ly->w1, ly->b1, c->T, H, f);
            tk_act_fwd(g, u, (size_t)c->T * f, cf->act);
            if (lp && lp->neuron_on)
                for (int j = 0; j < f; j++)
                    if (!lp->neuron_on[j])
                        for (int t = 0; t < c->T; t++)
                            g[(size_t)t * f + j] = 0.0f;
            tk_linear_fwd(f2, H, g, f, ly->w2, ly->b2, c->T, f, H);
            tk_dropout_add(c->sum, f2, h1, c->f_mask + (size_t)l * TH, TH, c->hdrop, c->rng);
            tk_layernorm_fwd(out, c->x2hat + (size_t)l * TH, c->r2 + (size_t)l * c->T, c->sum, ly->ln2_g,
                             ly->ln2_b, c->T, H, cf->ln_eps);
        } else {
            tk_layernorm_fwd(out, c->x2hat + (size_t)l * TH, c->r2 + (size_t)l * c->T, h1, ly->ln2_g,
                             ly->ln2_b, c->T, H, cf->ln_eps);
        }
    }

    double total = 0.0;
    if (c->with_head) {
        total += head_fwd(c, tb, red == AXF_LOSS_MEAN ? 1.0f / (float)c->B : 1.0f);
        if (logits)
            memcpy(logits, c->logits, (size_t)c->B * cf->num_labels * sizeof(float));
    }
    c->with_hid = tb->hid && tb->hid_weight > 0;
    if (c->with_hid)
        total += hid_fwd(c, tb, red == AXF_LOSS_MEAN ? 1.0f / (float)c->B : 1.0f);
    if (red == AXF_LOSS_MEAN && (c->with_head || c->with_hid))
        total /= c->B;
    if (c->M > 0) {
        double ml = mlm_fwd(c, tb, red == AXF_LOSS_MEAN ? 1.0f / (float)c->M : 1.0f);
        total += red == AXF_LOSS_MEAN ? ml / c->M : ml;
    }
    if (loss)
        *loss = total;
    return 0;
}

/* ---- backward ------------------------------------------------------------------------------- */

static float dotf(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return (float)s;
}

static void head_bwd(axf_train_ctx *c, int pg)
{
    const axf_model *m = c->m;
    axf_model *g = c->g; /* NULL unless pg */
    int H = m->cfg.hidden, B = c->B, C = m->cfg.num_labels;
    float *dpd = c->db;
    tk_linear_bwd(dpd, H, 0, pg ? g->cls_w : NULL, pg ? g->cls_b : NULL, c->dlogits, C, c->pd, H, m->cls_w, B, H, C);
    if (c->hdrop > 0)
        tk_dropout_bwd(dpd, c->p_mask, (size_t)B * H, c->hdrop);
    if (m->cfg.head_act == AXF_HEAD_RELU)
        for (size_t i = 0; i < (size_t)B * H; i++)
            dpd[i] = c->pooled[i] > 0.0f ? dpd[i] : 0.0f;
    else
        for (size_t i = 0; i < (size_t)B * H; i++)
            dpd[i] *= 1.0f - c->pooled[i] * c->pooled[i];
    float *dcls = c->dtmp; /* [B, H], free at this point */
    tk_linear_bwd(dcls, H, 0, pg ? g->pool_w : NULL, pg ? g->pool_b : NULL, dpd, H, c->cls_h, H, m->pool_w, B, H, H);
    scatter_add(c, dcls, c->seq_start, B);
}

static void mlm_bwd(axf_train_ctx *c, int pg)
{
    const axf_model *m = c->m;
    axf_model *g = c->g; /* NULL unless pg */
    int H = m->cfg.hidden, M = c->M, V = m->cfg.vocab_size;
    float *dz = c->dm;
    tk_linear_bwd(dz, H, 0, pg ? g->word_emb : NULL, pg ? g->mlm_bias : NULL, c->mlog, V, c->mz, H, m->word_emb,
                  M, H, V);
    float *da = c->db;
    tk_layernorm_bwd(da, 0, pg ? g->mlm_ln_g : NULL, pg ? g->mlm_ln_b : NULL, dz, c->mxhat, c->mrstd,
                     m->mlm_ln_g, M, H);
    tk_act_bwd(da, da, c->mu, (size_t)M * H, m->cfg.act);
    tk_linear_bwd(dz, H, 0, pg ? g->mlm_w : NULL, pg ? g->mlm_b : NULL, da, H, c->mh, H, m->mlm_w, M, H, H);
    scatter_add(c, dz, c->tb.mlm_pos, M);
}

void axf_train_backward(axf_train_ctx *c, int pg, axf_gate_grads *gates)
{
    const axf_model *m = c->m;
    axf_model *g = pg ? axf_train_grads(c) : NULL;
    const axf_config *cf = &m->cfg;
    int H = cf->hidden, L = cf->n_layers, T = c->T, HS = cf->head_dim;
    size_t TH = (size_t)T * H;
    if (gates) {
        memset(gates->head, 0, sizeof gates->head);
        memset(gates->attn, 0, sizeof gates->attn);
        memset(gates->ffn, 0, sizeof gates->ffn);
        for (int l = 0; l < L; l++)
            if (gates->neuron[l])
                memset(gates->neuron[l], 0, (size_t)LF(m, l) * sizeof(float));
    }
    if (c->with_hid)
        memcpy(c->dh, c->dhid, TH * sizeof(float));
    else
        memset(c->dh, 0, TH * sizeof(float));
    if (c->with_head)
        head_bwd(c, pg);
    if (c->M > 0)
        mlm_bwd(c, pg);

    for (int l = L - 1; l >= 0; l--) {
        const axf_layer *ly = &m->layers[l];
        axf_layer *gl = g ? &g->layers[l] : NULL;
        const axf_layer_plan *lp = c->plan ? &c->plan->layers[l] : NULL;
        const layer_state *st = &c->ls[l];
        if (st->identity)
            continue;
        int QW = LNH(m, l) * HS, f = LF(m, l);
        const float *x = c->hs + (size_t)l * TH, *h1 = c->h1 + (size_t)l * TH;
        /* LN2: dh (grad of the layer output) -> dh1 (grad of LN2's input) */
        tk_layernorm_bwd(c->dh1, 0, pg ? gl->ln2_g : NULL, pg ? gl->ln2_b : NULL, c->dh, c->x2hat + (size_t)l * TH,
                         c->r2 + (size_t)l * T, ly->ln2_g, T, H);
        if (st->ffn) {
            size_t TF = (size_t)T * c->Fmax;
            const float *u = c->u + (size_t)l * TF, *gact = c->gl + (size_t)l * TF;
            const float *df2 = c->dh1;
            if (c->hdrop > 0) {
                tk_dropout_bwd_to(c->dtmp, c->dh1, c->f_mask + (size_t)l * TH, TH, c->hdrop);
                df2 = c->dtmp;
            }
            if (gates)
                gates->ffn[l] = dotf(df2, c->f2 + (size_t)l * TH, TH);
            tk_linear_bwd(c->du, f, 0, pg ? gl->w2 : NULL, pg ? gl->b2 : NULL, df2, H, gact, f, ly->w2, T, f, H);
            if (gates && gates->neuron[l]) {
                float *gn = gates->neuron[l];
                for (int t = 0; t < T; t++) {
                    const float *dr = c->du + (size_t)t * f, *ar = gact + (size_t)t * f;
                    for (int j = 0; j < f; j++)
                        gn[j] += dr[j] * ar[j];
                }
                if (lp && lp->neuron_on)
                    for (int j = 0; j < f; j++)
                        if (!lp->neuron_on[j])
                            gn[j] = 0.0f;
            }
            if (lp && lp->neuron_on)
                for (int j = 0; j < f; j++)
                    if (!lp->neuron_on[j])
                        for (int t = 0; t < T; t++)
                            c->du[(size_t)t * f + j] = 0.0f;
            tk_act_bwd(c->du, c->du, u, (size_t)T * f, cf->act);
            tk_linear_bwd(c->dh1, H, 1, pg ? gl->w1 : NULL, pg ? gl->b1 : NULL, c->du, f, h1, H, ly->w1, T, H, f);
        }
        /* LN1: dh1 -> dh (grad of LN1's input = residual path to x) */
        tk_layernorm_bwd(c->dh, 0, pg ? gl->ln1_g : NULL, pg ? gl->ln1_b : NULL, c->dh1, c->x1hat + (size_t)l * TH,
                         c->r1 + (size_t)l * T, ly->ln1_g, T, H);
        if (st->attn) {
            const float *da = c->dh, *ctx = c->ctx + (size_t)l * TH;
            if (c->hdrop > 0) {
                tk_dropout_bwd_to(c->dtmp, c->dh, c->a_mask + (size_t)l * TH, TH, c->hdrop);
                da = c->dtmp;
            }
            if (gates)
                gates->attn[l] = dotf(da, c->a + (size_t)l * TH, TH);
            tk_linear_bwd(c->dctx, QW, 0, pg ? gl->wo : NULL, pg ? gl->bo : NULL, da, H, ctx, QW, ly->wo, T, QW, H);
            if (gates)
                for (int h = 0; h < LNH(m, l); h++) {
                    if (lp && !lp->head_on[h])
                        continue;
                    double s = 0.0;
                    for (int t = 0; t < T; t++)
                        s += dotf(c->dctx + (size_t)t * QW + (size_t)h * HS, ctx + (size_t)t * QW + (size_t)h * HS,
                                  (size_t)HS);
                    gates->head[l][h] = (float)s;
                }
            if (!pg && l == 0)
                break; /* gate gradients only: nothing below layer 0's heads needs a gradient */
            attention_bwd(c, l, lp, QW);
            tk_linear_bwd(c->dh, H, 1, pg ? gl->wq : NULL, pg ? gl->bq : NULL, c->dq, QW, x, H, ly->wq, T, H, QW);
            tk_linear_bwd(c->dh, H, 1, pg ? gl->wk : NULL, pg ? gl->bk : NULL, c->dk, QW, x, H, ly->wk, T, H, QW);
            tk_linear_bwd(c->dh, H, 1, pg ? gl->wv : NULL, pg ? gl->bv : NULL, c->dv, QW, x, H, ly->wv, T, H, QW);
        }
    }
    if (!pg)
        return;
    /* embeddings */
    if (c->hdrop > 0)
        tk_dropout_bwd(c->dh, c->e_mask, TH, c->hdrop);
    float *de = c->dtmp;
    tk_layernorm_bwd(de, 0, g->emb_ln_g, g->emb_ln_b, c->dh, c->e_xhat, c->e_rstd, m->emb_ln_g, T, H);
    const axf_batch *b = &c->tb.b;
    for (int s = 0; s < c->B; s++)
        for (int p = 0; p < c->seq_len[s]; p++) {
            int t = c->seq_start[s] + p;
            const float *d = de + (size_t)t * H;
            float *w = g->word_emb + (size_t)b->ids[t] * H;
            float *ps = g->pos_emb + (size_t)(m->cfg.pos_offset + p) * H;
            float *ty = g->type_emb ? g->type_emb + (size_t)b->types[t] * H : NULL;
            for (int i = 0; i < H; i++) {
                w[i] += d[i];
                ps[i] += d[i];
            }
            for (int i = 0; ty && i < H; i++)
                ty[i] += d[i];
        }
}
