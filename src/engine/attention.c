/* Self-attention per sequence and kept head: scores = Q K^T / sqrt(HS), softmax, optional hard
 * attention (METHOD.md), then the weighted sum of V. When hard attention leaves few keys per row
 * the sum touches only those keys; otherwise one sgemm does it (exact zeros cost nothing there). */
#include <cblas.h>
#include <math.h>

#include "engine_internal.h"

/* Sparse aggregation pays when it skips most of the keys: the gather loop runs at roughly a third
 * of sgemm's speed per multiply-add. */
#define GATHER_FRACTION 3

static long hard_rows(axf_engine *e, const axf_layer_plan *lp, float *S, int n)
{
    long kept = (long)n * n;
    switch (lp ? lp->hard : AXF_HARD_OFF) {
    case AXF_HARD_TOPK: {
        axf_softmax_rows(S, n, n);
        int k = lp->k < 1 ? 1 : lp->k;
        if (k >= n)
            break;
        for (int i = 0; i < n; i++) {
            float *row = S + (size_t)i * n;
            axf__topk_mark(e->keep, row, n, k, e->key);
            axf__apply_keep(row, e->keep, n);
        }
        kept = (long)n * k;
        break;
    }
    case AXF_HARD_TOPK_RENORM: {
        int k = lp->k < 1 ? 1 : lp->k;
        if (k >= n) {
            axf_softmax_rows(S, n, n);
            break;
        }
        for (int i = 0; i < n; i++) {
            float *row = S + (size_t)i * n;
            axf__topk_mark(e->keep, row, n, k, e->key);
            axf__softmax_row_kept(row, e->keep, n);
        }
        kept = (long)n * k;
        break;
    }
    case AXF_HARD_THRESHOLD:
        axf_softmax_rows(S, n, n);
        kept = 0;
        for (int i = 0; i < n; i++)
            kept += axf__threshold_row(S + (size_t)i * n, n, lp->threshold);
        break;
    default:
        axf_softmax_rows(S, n, n);
        break;
    }
    return kept;
}

void axf__attention(axf_engine *e, int layer, const axf_layer_plan *lp, const axf_batch *b, int nk,
                    const float *bq, const float *bk, const float *bv)
{
    const int HS = e->m->cfg.head_dim, ld = nk * HS;
    const float scale = 1.0f / sqrtf((float)HS);
    float *S = e->scores;
    for (int s = 0; s < b->n_seq; s++) {
        int a = b->seq_off[s] - b->seq_off[0], n = b->seq_off[s + 1] - b->seq_off[s];
        float *q = e->q + (size_t)a * ld, *k = e->k + (size_t)a * ld, *v = e->v + (size_t)a * ld;
        float *ctx = e->ctx + (size_t)a * ld;
        /* biases here rather than after the projections: this sequence's rows are hot in cache */
        if (bq)
            axf__add_bias(q, ld, bq, n, ld);
        if (bk)
            axf__add_bias(k, ld, bk, n, ld);
        if (bv)
            axf__add_bias(v, ld, bv, n, ld);
        for (int c = 0; c < nk; c++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, HS, scale, q + c * HS, ld,
                        k + c * HS, ld, 0.0f, S, n);
            long kept = hard_rows(e, lp, S, n);
            if (e->obs)
                e->obs(layer, s, e->head_of[c], n, S, e->obs_ud);
            if (kept == (long)n * n || kept * GATHER_FRACTION >= (long)n * n) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, HS, n, 1.0f, S, n, v + c * HS,
                            ld, 0.0f, ctx + c * HS, ld);
            } else {
                for (int i = 0; i < n; i++)
                    axf__gather_row(ctx + (size_t)i * ld + c * HS, S + (size_t)i * n, n, v + c * HS, ld, HS);
            }
        }
    }
}
