/* One encoder layer under a plan. Layer widths come from cfg.layer_heads / cfg.layer_ffn, which
 * define the tensor shapes (axf_layer.nh / f mirror them). Kept heads and neurons are grouped
 * into runs of consecutive indices; each run is one product that addresses its rows / columns of
 * the weight matrices through the leading dimension, so removed parts cost nothing. Output
 * products accumulate over the runs (beta = 1) and the bias, residual and LayerNorm are one fused
 * pass afterwards. The element-wise passes are split by rows over the engine's threads. When the
 * caller froze the weights (axf_engine_freeze_weights) the products of a layer's six matrices run
 * on the engine's GEMM over packed copies (gemm.c), which address the same runs by panel and k;
 * that GEMM then also does the element-wise work as it stores its results (axf_gemm_epi): the
 * Q/K/V and FFN biases and the GELU tile by tile, the residual + LayerNorm block of rows by block
 * of rows.
 *
 * A block the plan runs in int8 (int8_attn / int8_ffn, axf/quant.h) takes the kept heads' /
 * neurons' part of its matrices as int8 matrices of their own (made once per mask and kernel,
 * qgemm.c), so each of its products is one int8 product with no runs, and the compacted model
 * multiplies the very same weights; biases, activation, attention, residual and LayerNorm are the
 * float32 path's.
 *
 * [CLS]-only variant (axf_engine_layer_cls): the classification head reads only the first token of
 * each sequence, so in the last layer that runs, K and V are projected for every token but
 * everything after them (Q, scores, context, Wo, LN1, FFN, LN2) only for those B rows. The rows
 * are first moved to the top of h (row s <- row of sequence s's first token, s <= that row, so
 * nothing unread is overwritten), processed as a [B, H] block and moved back. Same operations on
 * the same rows in the same order (axf/matmul.h), so the result is the full layer's, bit for bit. */
#include <string.h>

#include "engine_internal.h"
#include "axf/matmul.h"
#include "gemm.h"
#include "qgemm.h"

/* Neuron masks with many short runs (random or per-neuron pruning) are gathered into packed
 * weights instead, when the runs average fewer than this many neurons: thin products are slow.
 * A variable so that tests can force either path. */
int axf__pack_min_run = 64;

typedef struct {
    int start, len, pos;
} run;

/* ---- element-wise passes split by rows over the pool ---- */

typedef struct {
    float *x, *out;
    const float *a, *b, *bias, *g, *beta;
    int W;
    axf_act act;
    float eps;
} rows_job;

static void act_rows(void *ctx, int r0, int r1)
{
    const rows_job *j = ctx;
    axf__act_tile(j->x + (size_t)r0 * j->W, j->W, j->bias, r1 - r0, j->W, j->act);
}

static void ln_rows_job(void *ctx, int r0, int r1)
{
    const rows_job *j = ctx;
    size_t o = (size_t)r0 * j->W;
    axf__add_ln(j->out + o, j->a + o, j->b ? j->b + o : NULL, j->bias, j->g, j->beta, r1 - r0, j->W, j->eps);
}

static void bias_act_par(axf_engine *e, float *x, const float *bias, int T, int F, axf_act act)
{
    rows_job j = {.x = x, .bias = bias, .W = F, .act = act};
    axf__parallel_rows(e, act_rows, &j, T, F);
}

void axf__add_ln_par(axf_engine *e, float *out, const float *a, const float *b, const float *bias,
                     const float *g, const float *beta, int T, int H, float eps)
{
    rows_job j = {.out = out, .a = a, .b = b, .bias = bias, .g = g, .beta = beta, .W = H, .eps = eps};
    axf__parallel_rows(e, ln_rows_job, &j, T, H);
}

/* Runs of on[i] != 0 for i < n (on NULL: everything); returns how many, *kept the total. */
static int make_runs(run *r, const unsigned char *on, int n, int *kept)
{
    int nr = 0, pos = 0;
    for (int i = 0; i < n;) {
        if (on && !on[i]) {
            i++;
            continue;
        }
        int j = i;
        while (j < n && (!on || on[j]))
            j++;
        r[nr].start = i;
        r[nr].len = j - i;
        r[nr].pos = pos;
        nr++;
        pos += j - i;
        i = j;
    }
    *kept = pos;
    return nr;
}

/* y[T, N] (ldy) = x[T, K] (ldx) * w[N, K] (ldw)^T (+ y when acc), on weights that are not packed */
static void gemm_nt(int T, int N, int K, const float *x, int ldx, const float *w, int ldw, int acc, float *y,
                    int ldy)
{
    axf_matmul(0, 1, T, N, K, x, ldx, w, ldw, acc, y, ldy);
}

/* The same with w the block [n0, n0 + N) x [k0, k0 + K) of matrix `which` of layer li: on the
 * engine's packed copy when the weights are frozen (gemm.c), else as gemm_nt. epi (NULL: none) is
 * the packed GEMM's epilogue; pass one only for a product all_packed said goes there. The GEMM-only
 * floor (axf_engine_gemm_floor) times the products alone, without it. */
static void wgemm(axf_engine *e, int li, int which, int n0, int k0, int T, int N, int K, const float *x,
                  int ldx, const float *w, int ldw, int acc, const axf_gemm_epi *epi, float *y, int ldy)
{
    const axf_gemm_w *pw = axf__gemm_pick(e, li, which, T, N, K);
    if (pw)
        axf__gemm_nt_epi(e, pw, n0, k0, T, N, K, x, ldx, acc, e->gemm_only ? NULL : epi, y, ldy);
    else
        gemm_nt(T, N, K, x, ldx, w, ldw, acc, y, ldy);
}

/* 1 when every run's product of matrix `which` goes through the packed GEMM, which can then do the
 * element-wise work that follows as it stores (axf_gemm_epi); else that work is a pass of its own.
 * The runs (unit rows or columns of W each) lie along N ([T, len * unit, other]) or, along_k, along
 * K ([T, other, len * unit]). */
static int all_packed(axf_engine *e, int li, int which, int T, const run *r, int nr, int unit, int other,
                      int along_k)
{
    for (int i = 0; i < nr; i++) {
        int len = r[i].len * unit;
        if (!axf__gemm_pick(e, li, which, T, along_k ? other : len, along_k ? len : other))
            return 0;
    }
    return nr > 0;
}

/* An output product and what follows it: e->y[T, H] = sum over the runs (along K, unit columns
 * each) of x[:, run] · W[:, run]ᵀ, then h = LayerNorm(e->y + h + bias). When the packed GEMM runs
 * every product, the last one applies the LayerNorm to each block of rows as it completes them
 * (one pass and one parallel region fewer); else it is a pass of its own. */
static void out_ln(axf_engine *e, int li, int which, int T, const run *r, int nr, int unit, const float *x, int ldx,
                   const float *w, int ldw, const float *bias, const float *g, const float *beta, float *h)
{
    const axf_config *cfg = &e->m->cfg;
    const int H = cfg->hidden;
    const int fuse = !e->gemm_only && all_packed(e, li, which, T, r, nr, unit, H, 1);
    rows_job c = {.out = h, .a = e->y, .b = h, .bias = bias, .g = g, .beta = beta, .W = H, .eps = cfg->ln_eps};
    const axf_gemm_epi epi = {.rows = ln_rows_job, .rows_ctx = &c};
    for (int i = 0; i < nr; i++) {
        int k0 = r[i].start * unit;
        wgemm(e, li, which, 0, k0, T, H, r[i].len * unit, x + (size_t)r[i].pos * unit, ldx, w + k0, ldw,
              i != 0, fuse && i == nr - 1 ? &epi : NULL, e->y, H);
    }
    if (!fuse)
        axf__add_ln_par(e, h, e->y, h, bias, g, beta, T, H, cfg->ln_eps);
}

/* Bias of the kept parts: a view when they form one run, else packed into dst. unit = HS for
 * heads, 1 for neurons. */
static const float *packed_bias(const float *bias, const run *r, int nr, int unit, float *dst)
{
    if (!bias || nr == 0)
        return NULL;
    if (nr == 1)
        return bias + (size_t)r[0].start * unit;
    for (int i = 0; i < nr; i++)
        memcpy(dst + (size_t)r[i].pos * unit, bias + (size_t)r[i].start * unit,
               (size_t)r[i].len * unit * sizeof *dst);
    return dst;
}

/* Moves the first-token rows of the sequences to rows 0..B-1 of h (up = 1) or back (up = 0). */
static void cls_rows(const axf_engine *e, const axf_batch *b, float *h, int up)
{
    if (e->gemm_only)
        return;
    const size_t H = (size_t)e->m->cfg.hidden;
    for (int i = 0; i < b->n_seq; i++) {
        int s = up ? i : b->n_seq - 1 - i, t = b->seq_off[s] - b->seq_off[0];
        if (t != s)
            memcpy(h + (up ? s : t) * H, h + (up ? t : s) * H, H * sizeof(float));
    }
}

/* The attention block in int8 (plan int8_attn, axf/quant.h): Q, K, V and the output product on the
 * kept heads' int8 weights (qgemm.c), as one product each (the weights are compacted: no runs);
 * the input rows are quantized once for K and V (and Q, but in [CLS] mode, where Q takes the B
 * moved rows: quantized again, row by row the same values). Biases, attention, residual and
 * LayerNorm as on the float32 path. Returns the rows of h that hold the output, as below. */
static int attention_q8(axf_engine *e, int li, const axf_layer_plan *lp, const axf_batch *b, float *h, int cls,
                        const run *r, int nr, int nk)
{
    const axf_config *cfg = &e->m->cfg;
    const axf_layer *L = &e->m->layers[li];
    const int T = b->n_tok, H = cfg->hidden, HS = cfg->head_dim, R = cls ? b->n_seq : T, ld = nk * HS;
    const int go = e->gemm_only;
    axf_qgemm_w *const *w = axf__q8_block(e, li, lp, 0);
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < r[i].len; j++)
            e->head_of[r[i].pos + j] = r[i].start + j;
    const axf_gemm_epi eq = {.bias = packed_bias(L->bq, r, nr, HS, e->bias)},
                       ek = {.bias = packed_bias(L->bk, r, nr, HS, e->bias + e->hq_max)},
                       ev = {.bias = packed_bias(L->bv, r, nr, HS, e->bias + 2 * e->hq_max)};
    axf_qact a;
    axf__q8_input(e, &a, h, H, T, H);
    axf__qgemm(e, w[AXF_W_K], &a, go ? NULL : &ek, e->k, ld);
    axf__qgemm(e, w[AXF_W_V], &a, go ? NULL : &ev, e->v, ld);
    if (cls) {
        cls_rows(e, b, h, 1);
        axf__q8_input(e, &a, h, H, R, H);
    }
    axf__qgemm(e, w[AXF_W_Q], &a, go ? NULL : &eq, e->q, ld);
    axf__attention(e, li, lp, b, nk, NULL, NULL, NULL, cls);
    axf__q8_input(e, &a, e->ctx, ld, R, ld);
    rows_job c = {.out = h, .a = e->y, .b = h, .bias = L->bo, .g = L->ln1_g, .beta = L->ln1_b, .W = H,
                  .eps = cfg->ln_eps};
    const axf_gemm_epi eo = {.rows = ln_rows_job, .rows_ctx = &c};
    axf__qgemm(e, w[AXF_W_O], &a, go ? NULL : &eo, e->y, H);
    return R;
}

/* Returns the rows of h that hold the block's output: T, or B in [CLS] mode (rows moved up). */
static int attention_block(axf_engine *e, int li, const axf_layer_plan *lp, const axf_batch *b, float *h,
                           int cls)
{
    const axf_config *cfg = &e->m->cfg;
    const axf_layer *L = &e->m->layers[li];
    const int T = b->n_tok, H = cfg->hidden, HS = cfg->head_dim, R = cls ? b->n_seq : T;
    const int nh = cfg->layer_heads[li];
    run *r = (run *)e->runs;
    int nk;
    int nr = make_runs(r, lp ? lp->head_on : NULL, nh, &nk);
    if (nk == 0) {
        if (cls)
            cls_rows(e, b, h, 1);
        axf__add_ln_par(e, h, h, NULL, L->bo, L->ln1_g, L->ln1_b, R, H, cfg->ln_eps);
        return R;
    }
    if (lp && lp->int8_attn)
        return attention_q8(e, li, lp, b, h, cls, r, nr, nk);
    const int ld = nk * HS;
    /* Q, K and V biases go into the packed GEMM's stores when it runs all of a matrix's products,
     * else into the attention tasks (axf__attention), as a pass of their own */
    const int fq = L->bq && all_packed(e, li, AXF_GEMM_WQ, R, r, nr, HS, H, 0);
    const int fk = L->bk && all_packed(e, li, AXF_GEMM_WK, T, r, nr, HS, H, 0);
    const int fv = L->bv && all_packed(e, li, AXF_GEMM_WV, T, r, nr, HS, H, 0);
    for (int i = 0; i < nr; i++) {
        for (int j = 0; j < r[i].len; j++)
            e->head_of[r[i].pos + j] = r[i].start + j;
        size_t wofs = (size_t)r[i].start * HS * H;
        int N = r[i].len * HS;
        int n0 = r[i].start * HS;
        const axf_gemm_epi eq = {.bias = fq ? L->bq + n0 : NULL}, ek = {.bias = fk ? L->bk + n0 : NULL},
                           ev = {.bias = fv ? L->bv + n0 : NULL};
        if (!cls)
            wgemm(e, li, AXF_GEMM_WQ, n0, 0, T, N, H, h, H, L->wq + wofs, H, 0, &eq, e->q + r[i].pos * HS, ld);
        wgemm(e, li, AXF_GEMM_WK, n0, 0, T, N, H, h, H, L->wk + wofs, H, 0, &ek, e->k + r[i].pos * HS, ld);
        wgemm(e, li, AXF_GEMM_WV, n0, 0, T, N, H, h, H, L->wv + wofs, H, 0, &ev, e->v + r[i].pos * HS, ld);
    }
    if (cls) {
        cls_rows(e, b, h, 1);
        for (int i = 0; i < nr; i++) {
            int n0 = r[i].start * HS;
            const axf_gemm_epi eq = {.bias = fq ? L->bq + n0 : NULL};
            wgemm(e, li, AXF_GEMM_WQ, n0, 0, R, r[i].len * HS, H, h, H, L->wq + (size_t)n0 * H, H, 0, &eq,
                  e->q + r[i].pos * HS, ld);
        }
    }
    const float *bq = fq ? NULL : packed_bias(L->bq, r, nr, HS, e->bias);
    const float *bk = fk ? NULL : packed_bias(L->bk, r, nr, HS, e->bias + e->hq_max);
    const float *bv = fv ? NULL : packed_bias(L->bv, r, nr, HS, e->bias + 2 * e->hq_max);
    axf__attention(e, li, lp, b, nk, bq, bk, bv, cls);
    out_ln(e, li, AXF_GEMM_WO, R, r, nr, HS, e->ctx, ld, L->wo, nh * HS, L->bo, L->ln1_g, L->ln1_b, h);
    return R;
}

/* The FFN block in int8 (plan int8_ffn): both products on the kept neurons' int8 weights, bias and
 * activation in the first one's stores, residual and LayerNorm in the second's. */
static void ffn_q8(axf_engine *e, int li, const axf_layer_plan *lp, int T, float *h, const run *r, int nr, int nf)
{
    const axf_config *cfg = &e->m->cfg;
    const axf_layer *L = &e->m->layers[li];
    const int H = cfg->hidden, go = e->gemm_only;
    axf_qgemm_w *const *w = axf__q8_block(e, li, lp, 1);
    const axf_gemm_epi e1 = {.bias = packed_bias(L->b1, r, nr, 1, e->bias + 3 * e->hq_max), .act_on = 1,
                             .act = cfg->act};
    axf_qact a;
    axf__q8_input(e, &a, h, H, T, H);
    axf__qgemm(e, w[AXF_W_1], &a, go ? NULL : &e1, e->inter, nf);
    axf__q8_input(e, &a, e->inter, nf, T, nf);
    rows_job c = {.out = h, .a = e->y, .b = h, .bias = L->b2, .g = L->ln2_g, .beta = L->ln2_b, .W = H,
                  .eps = cfg->ln_eps};
    const axf_gemm_epi e2 = {.rows = ln_rows_job, .rows_ctx = &c};
    axf__qgemm(e, w[AXF_W_2], &a, go ? NULL : &e2, e->y, H);
}

/* The FFN block on the first T rows of h. */
static void ffn_block(axf_engine *e, int li, const axf_layer_plan *lp, int T, float *h)
{
    const axf_config *cfg = &e->m->cfg;
    const axf_layer *L = &e->m->layers[li];
    const int H = cfg->hidden, F = cfg->layer_ffn[li];
    run *r = (run *)e->runs;
    int nf;
    int nr = make_runs(r, lp ? lp->neuron_on : NULL, F, &nf);
    if (nf == 0) {
        axf__add_ln_par(e, h, h, NULL, L->b2, L->ln2_g, L->ln2_b, T, H, cfg->ln_eps);
        return;
    }
    if (lp && lp->int8_ffn) {
        ffn_q8(e, li, lp, T, h, r, nr, nf);
        return;
    }
    const float *b1 = packed_bias(L->b1, r, nr, 1, e->bias + 3 * e->hq_max);
    if (nr > 1 && (long)nf < (long)axf__pack_min_run * nr) {
        if (!e->w1p) {
            e->w1p = axf_xmalloc((size_t)e->f_max * H * sizeof(float));
            e->w2p = axf_xmalloc((size_t)e->f_max * H * sizeof(float));
        }
        for (int i = 0; i < nr; i++)
            memcpy(e->w1p + (size_t)r[i].pos * H, L->w1 + (size_t)r[i].start * H,
                   (size_t)r[i].len * H * sizeof(float));
        for (int o = 0; o < H; o++)
            for (int i = 0; i < nr; i++)
                memcpy(e->w2p + (size_t)o * nf + r[i].pos, L->w2 + (size_t)o * F + r[i].start,
                       (size_t)r[i].len * sizeof(float));
        gemm_nt(T, nf, H, h, H, e->w1p, H, 0, e->inter, nf);
        bias_act_par(e, e->inter, b1, T, nf, cfg->act);
        gemm_nt(T, H, nf, e->inter, nf, e->w2p, nf, 0, e->y, H);
    } else {
        /* bias and activation in the packed GEMM's stores when it runs every product */
        const int fa = !e->gemm_only && all_packed(e, li, AXF_GEMM_W1, T, r, nr, 1, H, 0);
        for (int i = 0; i < nr; i++) {
            const axf_gemm_epi epi = {.bias = b1 ? b1 + r[i].pos : NULL, .act_on = 1, .act = cfg->act};
            wgemm(e, li, AXF_GEMM_W1, r[i].start, 0, T, r[i].len, H, h, H, L->w1 + (size_t)r[i].start * H, H, 0,
                  fa ? &epi : NULL, e->inter + r[i].pos, nf);
        }
        if (!fa)
            bias_act_par(e, e->inter, b1, T, nf, cfg->act);
        out_ln(e, li, AXF_GEMM_W2, T, r, nr, 1, e->inter, nf, L->w2, F, L->b2, L->ln2_g, L->ln2_b, h);
        return;
    }
    axf__add_ln_par(e, h, e->y, h, L->b2, L->ln2_g, L->ln2_b, T, H, cfg->ln_eps);
}

static void layer_run(axf_engine *e, int layer, const axf_layer_plan *lp, const axf_batch *b, float *h, int cls)
{
    const axf_config *cfg = &e->m->cfg;
    const axf_layer *L = &e->m->layers[layer];
    int attn_on = lp ? lp->attn_on : 1, ffn_on = lp ? lp->ffn_on : 1;
    if (b->n_tok == 0 || (!attn_on && !ffn_on))
        return;
    int R = b->n_tok;
    if (attn_on) {
        R = attention_block(e, layer, lp, b, h, cls);
    } else {
        if (cls) {
            cls_rows(e, b, h, 1);
            R = b->n_seq;
        }
        axf__add_ln_par(e, h, h, NULL, NULL, L->ln1_g, L->ln1_b, R, cfg->hidden, cfg->ln_eps);
    }
    if (ffn_on)
        ffn_block(e, layer, lp, R, h);
    else
        axf__add_ln_par(e, h, h, NULL, NULL, L->ln2_g, L->ln2_b, R, cfg->hidden, cfg->ln_eps);
    if (cls)
        cls_rows(e, b, h, 0);
    if (!e->frozen && e->q8)   /* the weights may change before the next call (engine.h) */
        axf__q8_drop_layer(e, layer);
}

void axf_engine_layer(axf_engine *e, int layer, const axf_layer_plan *lp, const axf_batch *b, float *h)
{
    int held = axf__blas_hold(e);
    layer_run(e, layer, lp, b, h, 0);
    axf__blas_release(held);
}

void axf_engine_layer_cls(axf_engine *e, int layer, const axf_layer_plan *lp, const axf_batch *b, float *h)
{
    /* the observer is promised every query row */
    int held = axf__blas_hold(e);
    layer_run(e, layer, lp, b, h, !e->obs);
    axf__blas_release(held);
}

int axf_engine_last_live_layer(const axf_engine *e, const axf_plan *plan)
{
    int i = e->m->cfg.n_layers - 1;
    while (i >= 0 && plan && !plan->layers[i].attn_on && !plan->layers[i].ffn_on)
        i--;
    return i;
}
