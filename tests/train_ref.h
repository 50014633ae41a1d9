/* Independent double-precision reference of the model's loss for the training tests: naive loops,
 * one sequence at a time, parameters read from a double copy of the model's arena (same offsets),
 * and every removable element multiplied by a gate so that finite differences give gate
 * gradients. Shared by the train tests only. */
#ifndef AXF_TEST_TRAIN_REF_H
#define AXF_TEST_TRAIN_REF_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axf/train.h"

typedef struct {
    double head[AXF_MAX_LAYERS][AXF_MAX_HEADS];
    double attn[AXF_MAX_LAYERS], ffn[AXF_MAX_LAYERS];
    double *neuron[AXF_MAX_LAYERS];
} ref_gates;

__attribute__((unused)) static void ref_gates_init(ref_gates *g, const axf_model *m)
{
    memset(g, 0, sizeof *g);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        for (int h = 0; h < AXF_MAX_HEADS; h++)
            g->head[l][h] = 1.0;
        g->attn[l] = g->ffn[l] = 1.0;
        g->neuron[l] = malloc(sizeof(double) * (size_t)(m->layers[l].f + 1));
        for (int j = 0; j < m->layers[l].f; j++)
            g->neuron[l][j] = 1.0;
    }
}

__attribute__((unused)) static void ref_gates_free(ref_gates *g)
{
    for (int l = 0; l < AXF_MAX_LAYERS; l++)
        free(g->neuron[l]);
}

/* Makes layers[].nh / .f agree with the config (the model's per-layer shape) in models the
 * tests build by hand. */
static void ref_fix_layers(axf_model *m)
{
    for (int l = 0; l < m->cfg.n_layers; l++) {
        m->layers[l].nh = m->cfg.layer_heads[l];
        m->layers[l].f = m->cfg.layer_ffn[l];
    }
}

#define RP(p) (A + ((p) - m->arena))

static void ref_ln(double *x, const double *g, const double *b, int H, double eps)
{
    double mean = 0, var = 0;
    for (int i = 0; i < H; i++)
        mean += x[i];
    mean /= H;
    for (int i = 0; i < H; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= H;
    double rs = 1.0 / sqrt(var + eps);
    for (int i = 0; i < H; i++)
        x[i] = (x[i] - mean) * rs * g[i] + b[i];
}

static double ref_act(double x, axf_act a)
{
    if (a == AXF_ACT_GELU)
        return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    if (a == AXF_ACT_GELU_TANH)
        return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    return x > 0 ? x : 0;
}

/* y[o] = sum_i W[o][i] x[i] + b[o] */
static void ref_lin(double *y, const double *W, const double *b, const double *x, int IC, int OC)
{
    for (int o = 0; o < OC; o++) {
        double s = b ? b[o] : 0;
        for (int i = 0; i < IC; i++)
            s += W[(size_t)o * IC + i] * x[i];
        y[o] = s;
    }
}

/* rank of entry j in row (number of entries that come before it: larger, or equal with lower index) */
static int ref_rank(const double *row, int n, int j)
{
    int r = 0;
    for (int i = 0; i < n; i++)
        if (row[i] > row[j] || (row[i] == row[j] && i < j))
            r++;
    return r;
}

/* Loss of one batch (sum or mean per red) with the model's parameters taken from A. */
__attribute__((unused)) static double ref_loss(const axf_model *m, const double *A, const axf_plan *plan, const axf_train_batch *tb,
                       const ref_gates *gt, axf_loss_reduction red, double *logits_out)
{
    const axf_config *c = &m->cfg;
    int H = c->hidden, HS = c->head_dim, L = c->n_layers, C = c->num_labels, V = c->vocab_size;
    const axf_batch *b = &tb->b;
    double cls_total = 0, mlm_total = 0;
    int with_head = tb->labels || tb->targets;
    for (int s = 0; s < b->n_seq; s++) {
        int o = b->seq_off[s] - b->seq_off[0], n = b->seq_off[s + 1] - b->seq_off[s];
        double *x = calloc((size_t)n * H, sizeof(double));
        double *h1 = calloc((size_t)n * H, sizeof(double));
        double *q = calloc((size_t)n * H, sizeof(double)), *k = calloc((size_t)n * H, sizeof(double));
        double *v = calloc((size_t)n * H, sizeof(double)), *ctx = calloc((size_t)n * H, sizeof(double));
        double *P = calloc((size_t)n * n, sizeof(double));
        double *tmp = calloc((size_t)(H > c->ffn ? H : c->ffn) + 8, sizeof(double));
        double *g = calloc((size_t)c->ffn + 1, sizeof(double));
        for (int t = 0; t < n; t++) {
            const double *w = RP(m->word_emb) + (size_t)b->ids[o + t] * H;
            const double *p = RP(m->pos_emb) + (size_t)t * H, *ty = RP(m->type_emb) + (size_t)b->types[o + t] * H;
            for (int i = 0; i < H; i++)
                x[t * H + i] = w[i] + p[i] + ty[i];
            ref_ln(x + t * H, RP(m->emb_ln_g), RP(m->emb_ln_b), H, c->ln_eps);
        }
        for (int l = 0; l < L; l++) {
            const axf_layer *y = &m->layers[l];
            const axf_layer_plan *lp = plan ? &plan->layers[l] : NULL;
            int attn = y->nh > 0 && (!lp || lp->attn_on), ffn = y->f > 0 && (!lp || lp->ffn_on);
            if (!attn && !ffn)
                continue;
            int QW = y->nh * HS;
            memcpy(h1, x, sizeof(double) * (size_t)n * H);
            if (attn) {
                for (int t = 0; t < n; t++) {
                    ref_lin(q + t * QW, RP(y->wq), RP(y->bq), x + t * H, H, QW);
                    ref_lin(k + t * QW, RP(y->wk), RP(y->bk), x + t * H, H, QW);
                    ref_lin(v + t * QW, RP(y->wv), RP(y->bv), x + t * H, H, QW);
                }
                memset(ctx, 0, sizeof(double) * (size_t)n * H);
                for (int h = 0; h < y->nh; h++) {
                    if (lp && !lp->head_on[h])
                        continue;
                    for (int i = 0; i < n; i++) {
                        double *row = P + (size_t)i * n, mx = -1e300, sum = 0;
                        for (int j = 0; j < n; j++) {
                            double d = 0;
                            for (int e = 0; e < HS; e++)
                                d += q[i * QW + h * HS + e] * k[j * QW + h * HS + e];
                            row[j] = d / sqrt((double)HS);
                        }
                        unsigned char keep[512];
                        for (int j = 0; j < n; j++)
                            keep[j] = 1;
                        if (lp && lp->hard == AXF_HARD_TOPK_RENORM && lp->k < n)
                            for (int j = 0; j < n; j++)
                                keep[j] = ref_rank(row, n, j) < lp->k;
                        for (int j = 0; j < n; j++)
                            if (keep[j] && row[j] > mx)
                                mx = row[j];
                        for (int j = 0; j < n; j++) {
                            row[j] = keep[j] ? exp(row[j] - mx) : 0;
                            sum += row[j];
                        }
                        for (int j = 0; j < n; j++)
                            row[j] /= sum;
                        if (lp && lp->hard == AXF_HARD_TOPK && lp->k < n) {
                            for (int j = 0; j < n; j++)
                                keep[j] = ref_rank(row, n, j) < lp->k;
                            for (int j = 0; j < n; j++)
                                if (!keep[j])
                                    row[j] = 0;
                        }
                        if (lp && lp->hard == AXF_HARD_THRESHOLD)
                            for (int j = 0; j < n; j++)
                                if (row[j] < lp->threshold)
                                    row[j] = 0;
                        for (int e = 0; e < HS; e++) {
                            double d = 0;
                            for (int j = 0; j < n; j++)
                                d += row[j] * v[j * QW + h * HS + e];
                            ctx[i * QW + h * HS + e] = d * gt->head[l][h];
                        }
                    }
                }
                for (int t = 0; t < n; t++) {
                    ref_lin(tmp, RP(y->wo), RP(y->bo), ctx + t * QW, QW, H);
                    for (int i = 0; i < H; i++)
                        h1[t * H + i] += tmp[i] * gt->attn[l];
                }
            }
            for (int t = 0; t < n; t++)
                ref_ln(h1 + t * H, RP(y->ln1_g), RP(y->ln1_b), H, c->ln_eps);
            memcpy(x, h1, sizeof(double) * (size_t)n * H);
            if (ffn)
                for (int t = 0; t < n; t++) {
                    ref_lin(g, RP(y->w1), RP(y->b1), h1 + t * H, H, y->f);
                    for (int j = 0; j < y->f; j++) {
                        g[j] = ref_act(g[j], c->act) * gt->neuron[l][j];
                        if (lp && lp->neuron_on && !lp->neuron_on[j])
                            g[j] = 0;
                    }
                    ref_lin(tmp, RP(y->w2), RP(y->b2), g, y->f, H);
                    for (int i = 0; i < H; i++)
                        x[t * H + i] += tmp[i] * gt->ffn[l];
                }
            for (int t = 0; t < n; t++)
                ref_ln(x + t * H, RP(y->ln2_g), RP(y->ln2_b), H, c->ln_eps);
        }
        if (with_head) {
            double pooled[512], lg[AXF_MAX_LABELS];
            ref_lin(pooled, RP(m->pool_w), RP(m->pool_b), x, H, H);
            for (int i = 0; i < H; i++)
                pooled[i] = tanh(pooled[i]);
            ref_lin(lg, RP(m->cls_w), RP(m->cls_b), pooled, H, C);
            if (logits_out)
                memcpy(logits_out + (size_t)s * C, lg, sizeof(double) * C);
            if (c->task == AXF_TASK_CLASSIFY) {
                double mx = lg[0], sum = 0;
                for (int j = 1; j < C; j++)
                    mx = lg[j] > mx ? lg[j] : mx;
                for (int j = 0; j < C; j++)
                    sum += exp(lg[j] - mx);
                double ce = mx + log(sum) - lg[tb->labels[s]];
                if (tb->soft) {
                    /* alpha T^2 KL(softmax(t / T) || softmax(z / T)) + (1 - alpha) CE */
                    double T = tb->kd_temp, a = tb->kd_alpha, st = 0, ss = 0, kl = 0;
                    const float *tl = tb->soft + (size_t)s * C;
                    for (int j = 0; j < C; j++) {
                        st += exp(tl[j] / T);
                        ss += exp(lg[j] / T);
                    }
                    for (int j = 0; j < C; j++) {
                        double pt = exp(tl[j] / T) / st;
                        kl += pt * (log(pt) - (lg[j] / T - log(ss)));
                    }
                    ce = (1 - a) * ce + a * T * T * kl;
                }
                cls_total += ce;
            } else {
                double d = lg[0] - tb->targets[s];
                if (tb->soft) {
                    double ds = lg[0] - tb->soft[s];
                    cls_total += (1 - tb->kd_alpha) * d * d + tb->kd_alpha * ds * ds;
                } else {
                    cls_total += d * d;
                }
            }
        }
        if (tb->hid && tb->hid_weight > 0) {
            double sq = 0;
            for (int i = 0; i < n * H; i++) {
                double d = x[i] - tb->hid[(size_t)o * H + i];
                sq += d * d;
            }
            cls_total += tb->hid_weight * sq / ((double)n * H);
        }
        for (int i = 0; i < tb->n_mlm; i++) {
            int pos = tb->mlm_pos[i];
            if (pos < o || pos >= o + n)
                continue;
            double u[512], z[512];
            ref_lin(u, RP(m->mlm_w), RP(m->mlm_b), x + (size_t)(pos - o) * H, H, H);
            for (int j = 0; j < H; j++)
                z[j] = ref_act(u[j], c->act);
            ref_ln(z, RP(m->mlm_ln_g), RP(m->mlm_ln_b), H, c->ln_eps);
            double *lg = malloc(sizeof(double) * (size_t)V);
            ref_lin(lg, RP(m->word_emb), RP(m->mlm_bias), z, H, V);
            double mx = lg[0], sum = 0;
            for (int j = 1; j < V; j++)
                mx = lg[j] > mx ? lg[j] : mx;
            for (int j = 0; j < V; j++)
                sum += exp(lg[j] - mx);
            mlm_total += mx + log(sum) - lg[tb->mlm_ids[i]];
            free(lg);
        }
        free(x), free(h1), free(q), free(k), free(v), free(ctx), free(P), free(tmp), free(g);
    }
    if (red == AXF_LOSS_MEAN) {
        cls_total /= b->n_seq;  /* the hidden-matching term included */
        if (tb->n_mlm > 0)
            mlm_total /= tb->n_mlm;
    }
    return cls_total + mlm_total;
}

#undef RP

#endif
