/* Self-attention per sequence and kept head: scores = Q K^T / sqrt(HS), softmax, optional hard
 * attention (docs/method.md), then the weighted sum of V. Each (sequence, head) pair is one task of the
 * engine's pool. In the [CLS]-only last layer the same steps run on one query row per sequence.
 * When hard attention leaves few keys per row the sum touches only those keys;
 * otherwise one product does it (exact zeros cost nothing there). Products are axf_matmul's
 * (fixed arithmetic); the 1/sqrt(HS) scale is an element-wise pass after QKᵀ. */
#include <math.h>

#include "axf/matmul.h"
#include "engine_internal.h"

/* Sparse aggregation pays when it skips most of the keys: the gather loop runs at roughly a third
 * of the dense product's speed per multiply-add. */
#define GATHER_FRACTION 3

/* Below this many multiply-adds in a layer's attention, waking threads costs more than it saves. */
#define PARALLEL_MIN_MACS 200000.0

typedef struct {
    axf_engine *e;
    int layer, nk, ld, cls;
    const axf_layer_plan *lp;
    const axf_batch *b;
    const float *bq, *bk, *bv;
} attn_job;

/* Softmax and hard attention on `rows` query rows of n keys each; returns the entries kept. Each
 * row is treated alone, so one [CLS] row selects exactly as row 0 of the whole matrix does. */
static long hard_rows(const axf_layer_plan *lp, float *S, int rows, int n, unsigned char *keep, uint32_t *key)
{
    long kept = (long)rows * n;
    axf_hard_mode mode = lp ? lp->hard : AXF_HARD_OFF;
    switch (mode) {
    case AXF_HARD_TOPK:
    case AXF_HARD_TOPK_RENORM: {
        /* top-K: the K largest probabilities kept; renormalised: the K largest scores, softmax
         * over them alone */
        int k = lp->k < 1 ? 1 : lp->k, renorm = mode == AXF_HARD_TOPK_RENORM;
        if (!renorm || k >= n)
            axf_softmax_rows(S, rows, n);
        if (k >= n)
            break;
        for (int i = 0; i < rows; i++) {
            float *row = S + (size_t)i * n;
            axf__topk_mark(keep, row, n, k, key);
            if (renorm)
                axf__softmax_row_kept(row, keep, n);
            else
                axf__apply_keep(row, keep, n);
        }
        kept = (long)rows * k;
        break;
    }
    case AXF_HARD_THRESHOLD:
        axf_softmax_rows(S, rows, n);
        kept = 0;
        for (int i = 0; i < rows; i++)
            kept += axf__threshold_row(S + (size_t)i * n, n, lp->threshold);
        break;
    default:
        axf_softmax_rows(S, rows, n);
        break;
    }
    return kept;
}

/* Task t: sequence t / nk, packed head t % nk. In [CLS] mode the sequence has one query row, row s
 * of e->q, and one output row, row s of e->ctx; keys and values are its n token rows as usual. */
static void attn_task(void *ctx, int t, int worker)
{
    const attn_job *j = ctx;
    axf_engine *e = j->e;
    const int HS = e->m->cfg.head_dim, ld = j->ld, s = t / j->nk, c = t % j->nk;
    const int a = j->b->seq_off[s] - j->b->seq_off[0], n = j->b->seq_off[s + 1] - j->b->seq_off[s];
    const int rows = j->cls ? 1 : n;
    const size_t o = (size_t)a * ld + (size_t)c * HS, oq = j->cls ? (size_t)s * ld + (size_t)c * HS : o;
    float *q = e->q + oq, *k = e->k + o, *v = e->v + o, *ctx_out = e->ctx + oq;
    float *S = e->scores[worker];
    /* biases here rather than after the projections: these rows are hot in cache */
    if (e->gemm_only)
        goto scores;
    if (j->bq)
        axf__add_bias(q, ld, j->bq + c * HS, rows, HS);
    if (j->bk)
        axf__add_bias(k, ld, j->bk + c * HS, n, HS);
    if (j->bv)
        axf__add_bias(v, ld, j->bv + c * HS, n, HS);
scores:
    axf_matmul(0, 1, rows, n, HS, q, ld, k, ld, 0, S, n);
    const float scale = 1.0f / sqrtf((float)HS);
    for (long i = 0; i < (long)rows * n; i++)
        S[i] *= scale;
    const long all = (long)rows * n;
    long kept = e->gemm_only ? all : hard_rows(j->lp, S, rows, n, e->keep[worker], e->key[worker]);
    if (e->obs && !e->gemm_only && !j->cls)
        e->obs(j->layer, s, e->head_of[c], n, S, e->obs_ud);
    if (kept == all || kept * GATHER_FRACTION >= all) {
        axf_matmul(0, 0, rows, HS, n, S, n, v, ld, 0, ctx_out, ld);
    } else {
        for (int i = 0; i < rows; i++)
            axf__gather_row(ctx_out + (size_t)i * ld, S + (size_t)i * n, n, v, ld, HS, e->key[worker]);
    }
}

void axf__attention(axf_engine *e, int layer, const axf_layer_plan *lp, const axf_batch *b, int nk,
                    const float *bq, const float *bk, const float *bv, int cls)
{
    const int HS = e->m->cfg.head_dim;
    attn_job j = {e, layer, nk, nk * HS, cls, lp, b, bq, bk, bv};
    int ntasks = b->n_seq * nk;
    double macs = 0;
    for (int s = 0; s < b->n_seq; s++) {
        double n = b->seq_off[s + 1] - b->seq_off[s];
        macs += 2 * (cls ? 1 : n) * n * HS * nk;
    }
    /* the observer sees heads in order, from the caller's thread */
    if (e->obs || macs < PARALLEL_MIN_MACS) {
        for (int t = 0; t < ntasks; t++)
            attn_task(&j, t, 0);
        return;
    }
    axf__parallel(e, attn_task, &j, ntasks);
}
