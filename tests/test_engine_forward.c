/* Engine forward pass against a slow, independent reference written here in double precision:
 * masks are applied by multiplying the removed parts by zero (the engine skips them instead),
 * hard attention by sorting each row. Also the exactness properties (top-k with K >= n and
 * threshold 0 equal dense bit for bit), packed batches against sequences run alone, per-layer
 * head / FFN widths, the attention observer and the engine's input checks. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/engine/engine_internal.h"
#include "check.h"

/* ---------- reference (double, one sequence) ---------- */

typedef struct {
    double p;
    int j;
} pj;

static int pj_cmp(const void *a, const void *b)
{
    const pj *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return x->j - y->j;
}

static void ref_ln(double *x, const float *g, const float *b, int H, double eps)
{
    double mu = 0, var = 0;
    for (int j = 0; j < H; j++)
        mu += x[j];
    mu /= H;
    for (int j = 0; j < H; j++)
        var += (x[j] - mu) * (x[j] - mu);
    var /= H;
    for (int j = 0; j < H; j++)
        x[j] = (x[j] - mu) / sqrt(var + eps) * g[j] + b[j];
}

static double ref_act(double x, axf_act a)
{
    if (a == AXF_ACT_GELU)
        return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    if (a == AXF_ACT_GELU_TANH)
        return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    return x > 0 ? x : 0;
}

static int ambiguous; /* a top-k boundary too close to call in float: the case is skipped */

/* Hard attention on one row of probabilities (or scores for the renormalised mode). */
static void ref_hard(double *row, int n, const axf_layer_plan *lp)
{
    if (!lp || lp->hard == AXF_HARD_OFF)
        return;
    if (lp->hard == AXF_HARD_THRESHOLD) {
        for (int j = 0; j < n; j++) {
            if (fabs(row[j] - lp->threshold) < 1e-5 * lp->threshold)
                ambiguous = 1;
            if (row[j] < lp->threshold)
                row[j] = 0;
        }
        return;
    }
    int k = lp->k;
    if (k >= n)
        return;
    pj *v = malloc(sizeof *v * n);
    for (int j = 0; j < n; j++)
        v[j] = (pj){row[j], j};
    qsort(v, n, sizeof *v, pj_cmp);
    if (fabs(v[k - 1].p - v[k].p) <= 1e-5 * fabs(v[k - 1].p) + 1e-12)
        ambiguous = 1;
    for (int i = k; i < n; i++)
        row[v[i].j] = lp->hard == AXF_HARD_TOPK_RENORM ? -INFINITY : 0;
    free(v);
}

static void ref_forward(const axf_model *m, const axf_plan *plan, const int *ids, const int *types, int n,
                        double *logits)
{
    const axf_config *c = &m->cfg;
    int H = c->hidden, HS = c->head_dim;
    double *x = calloc((size_t)n * H, sizeof *x), *acc = calloc((size_t)n * H, sizeof *acc);
    for (int t = 0; t < n; t++) {
        for (int j = 0; j < H; j++)
            x[t * H + j] = (double)m->word_emb[ids[t] * H + j] + m->pos_emb[t * H + j] +
                           m->type_emb[types[t] * H + j];
        ref_ln(x + t * H, m->emb_ln_g, m->emb_ln_b, H, c->ln_eps);
    }
    for (int li = 0; li < c->n_layers; li++) {
        const axf_layer *L = &m->layers[li];
        const axf_layer_plan *lp = plan ? &plan->layers[li] : NULL;
        int attn = lp ? lp->attn_on : 1, ffn = lp ? lp->ffn_on : 1;
        if (!attn && !ffn)
            continue;
        const int nh = c->layer_heads[li], F = c->layer_ffn[li];
        int A = nh * HS;
        /* attention: acc = x + bo + sum over heads of mask * ctx_h Wo_h^T */
        for (int t = 0; t < n; t++)
            for (int j = 0; j < H; j++)
                acc[t * H + j] = x[t * H + j] + (attn && L->bo ? L->bo[j] : 0);
        for (int h = 0; attn && h < nh; h++) {
            double mask = lp ? lp->head_on[h] != 0 : 1;
            double *q = malloc(sizeof(double) * n * HS), *k = malloc(sizeof(double) * n * HS);
            double *v = malloc(sizeof(double) * n * HS), *p = malloc(sizeof(double) * n * n);
            double *ctx = malloc(sizeof(double) * n * HS);
            for (int t = 0; t < n; t++)
                for (int d = 0; d < HS; d++) {
                    int r = h * HS + d;
                    double sq = L->bq[r], sk = L->bk[r], sv = L->bv[r];
                    for (int j = 0; j < H; j++) {
                        sq += x[t * H + j] * L->wq[r * H + j];
                        sk += x[t * H + j] * L->wk[r * H + j];
                        sv += x[t * H + j] * L->wv[r * H + j];
                    }
                    q[t * HS + d] = sq;
                    k[t * HS + d] = sk;
                    v[t * HS + d] = sv;
                }
            for (int i = 0; i < n; i++) {
                double *row = p + i * n, mx = -INFINITY, s = 0;
                for (int j = 0; j < n; j++) {
                    double d = 0;
                    for (int e = 0; e < HS; e++)
                        d += q[i * HS + e] * k[j * HS + e];
                    row[j] = d / sqrt((double)HS);
                }
                if (lp && lp->hard == AXF_HARD_TOPK_RENORM)
                    ref_hard(row, n, lp);
                for (int j = 0; j < n; j++)
                    mx = row[j] > mx ? row[j] : mx;
                for (int j = 0; j < n; j++)
                    s += row[j] = exp(row[j] - mx);
                for (int j = 0; j < n; j++)
                    row[j] /= s;
                if (lp && lp->hard != AXF_HARD_TOPK_RENORM)
                    ref_hard(row, n, lp);
                for (int d = 0; d < HS; d++) {
                    double a = 0;
                    for (int j = 0; j < n; j++)
                        a += row[j] * v[j * HS + d];
                    ctx[i * HS + d] = a;
                }
            }
            for (int t = 0; t < n; t++)
                for (int o = 0; o < H; o++) {
                    double a = 0;
                    for (int d = 0; d < HS; d++)
                        a += ctx[t * HS + d] * L->wo[o * A + h * HS + d];
                    acc[t * H + o] += mask * a;
                }
            free(q), free(k), free(v), free(p), free(ctx);
        }
        for (int t = 0; t < n; t++) {
            ref_ln(acc + t * H, L->ln1_g, L->ln1_b, H, c->ln_eps);
            memcpy(x + t * H, acc + t * H, sizeof(double) * H);
        }
        /* FFN */
        double *f = malloc(sizeof(double) * (F + 1));
        for (int t = 0; t < n; t++) {
            for (int o = 0; o < H; o++)
                acc[t * H + o] = x[t * H + o] + (ffn && L->b2 ? L->b2[o] : 0);
            for (int u = 0; ffn && u < F; u++) {
                double s = L->b1[u];
                for (int j = 0; j < H; j++)
                    s += x[t * H + j] * L->w1[u * H + j];
                double mask = lp && lp->neuron_on ? lp->neuron_on[u] != 0 : 1;
                f[u] = ref_act(s, c->act) * mask;
            }
            for (int o = 0; ffn && o < H; o++)
                for (int u = 0; u < F; u++)
                    acc[t * H + o] += f[u] * L->w2[o * F + u];
            ref_ln(acc + t * H, L->ln2_g, L->ln2_b, H, c->ln_eps);
        }
        free(f);
        memcpy(x, acc, sizeof(double) * n * H);
    }
    double *pooled = malloc(sizeof(double) * H);
    for (int o = 0; o < H; o++) {
        double s = m->pool_b[o];
        for (int j = 0; j < H; j++)
            s += x[j] * m->pool_w[o * H + j];
        pooled[o] = tanh(s);
    }
    for (int o = 0; o < c->num_labels; o++) {
        double s = m->cls_b[o];
        for (int j = 0; j < H; j++)
            s += pooled[j] * m->cls_w[o * H + j];
        logits[o] = s;
    }
    free(pooled), free(x), free(acc);
}

/* ---------- fixtures ---------- */

/* Random model with weights large enough for peaked attention and nonzero biases, so that a wrong
 * mask, bias or head slice changes the logits visibly. */
static axf_model *make_model(const axf_config *cfg, uint64_t seed)
{
    axf_err err;
    axf_model *m = axf_model_new(cfg, 0, &err);
    if (!m) {
        fprintf(stderr, "axf_model_new: %s\n", err.msg);
        exit(1);
    }
    axf_model_init_random(m, seed);
    axf_rng r;
    axf_rng_seed(&r, seed * 7 + 1);
    for (size_t i = 0; i < m->n_floats; i++)
        m->arena[i] += 0.05f * axf_rng_normal(&r);
    for (int li = 0; li < cfg->n_layers; li++) {
        axf_layer *L = &m->layers[li];
        size_t A = (size_t)cfg->layer_heads[li] * cfg->head_dim * cfg->hidden;
        for (size_t i = 0; i < A; i++) {
            L->wq[i] *= 3.0f;
            L->wk[i] *= 3.0f;
        }
    }
    return m;
}

typedef struct {
    int n_seq, n_tok;
    int ids[4096], types[4096], off[65];
} batch_buf;

static void make_batch(batch_buf *bb, axf_rng *r, int n_seq, int maxlen, int V)
{
    bb->n_seq = n_seq;
    bb->off[0] = 0;
    for (int s = 0; s < n_seq; s++) {
        int n = 1 + axf_rng_below(r, maxlen);
        int split = n > 2 ? 1 + axf_rng_below(r, n - 1) : n;
        for (int t = 0; t < n; t++) {
            bb->ids[bb->off[s] + t] = axf_rng_below(r, V);
            bb->types[bb->off[s] + t] = t >= split;
        }
        bb->off[s + 1] = bb->off[s] + n;
    }
    bb->n_tok = bb->off[n_seq];
}

static axf_batch view(const batch_buf *bb)
{
    return (axf_batch){bb->n_seq, bb->n_tok, bb->ids, bb->types, bb->off};
}

static unsigned char neuron_buf[AXF_MAX_LAYERS][4096];

/* A random plan: blocks off, layers skipped, head masks, grouped or scattered neuron masks and
 * every hard-attention mode, each with some probability. */
static void random_plan(axf_plan *p, const axf_model *m, axf_rng *r, int maxlen)
{
    memset(p, 0, sizeof *p);
    p->n_layers = m->cfg.n_layers;
    for (int i = 0; i < p->n_layers; i++) {
        axf_layer_plan *lp = &p->layers[i];
        const int nh = m->cfg.layer_heads[i], F = m->cfg.layer_ffn[i];
        lp->nh = nh;
        lp->f = F;
        lp->attn_on = axf_rng_below(r, 6) != 0;
        lp->ffn_on = axf_rng_below(r, 6) != 0;
        for (int h = 0; h < nh; h++)
            lp->head_on[h] = axf_rng_below(r, 3) != 0;
        int kind = axf_rng_below(r, 3);
        if (kind == 0) {
            lp->neuron_on = NULL;
        } else {
            lp->neuron_on = neuron_buf[i];
            int G = 8;
            for (int j = 0; j < F; j++)
                lp->neuron_on[j] = kind == 1 ? axf_rng_below(r, 2) : 1;
            if (kind == 2)
                for (int g = 0; g < G; g++)
                    if (axf_rng_below(r, 3) == 0)
                        for (int j = g * F / G; j < (g + 1) * F / G; j++)
                            lp->neuron_on[j] = 0;
        }
        lp->hard = (axf_hard_mode)axf_rng_below(r, 4);
        lp->k = 1 + axf_rng_below(r, maxlen);
        lp->threshold = 0.01f + 0.1f * axf_rng_uniform(r);
    }
}

static double max_rel_diff(const float *got, const double *want, int C)
{
    double d = 0;
    for (int c = 0; c < C; c++) {
        double e = fabs(got[c] - want[c]) / fmax(1.0, fabs(want[c]));
        d = e > d ? e : d;
    }
    return d;
}

/* ---------- tests ---------- */

static void test_against_reference(const axf_config *cfg, const char *name, int trials, uint64_t seed)
{
    axf_model *m = make_model(cfg, seed);
    axf_err err;
    axf_engine *e = axf_engine_new(m, 4096, &err);
    CHECK(e != NULL);
    axf_rng r;
    axf_rng_seed(&r, seed + 99);
    double worst = 0;
    int skipped = 0, cases = 0;
    for (int trial = 0; trial < trials; trial++) {
        axf_plan plan;
        random_plan(&plan, m, &r, 40);
        batch_buf bb;
        make_batch(&bb, &r, 1 + axf_rng_below(&r, 5), 40, cfg->vocab_size);
        axf_batch b = view(&bb);
        float logits[64 * AXF_MAX_LABELS];
        int use_plan = trial > 0; /* trial 0: dense (NULL plan) */
        CHECK_MSG(axf_engine_forward(e, use_plan ? &plan : NULL, &b, logits, &err) == 0, "%s", err.msg);
        for (int s = 0; s < b.n_seq; s++) {
            double want[AXF_MAX_LABELS];
            ambiguous = 0;
            ref_forward(m, use_plan ? &plan : NULL, bb.ids + bb.off[s], bb.types + bb.off[s],
                        bb.off[s + 1] - bb.off[s], want);
            if (ambiguous) {
                skipped++;
                continue;
            }
            cases++;
            double d = max_rel_diff(logits + s * cfg->num_labels, want, cfg->num_labels);
            worst = d > worst ? d : worst;
            CHECK_MSG(d <= 1e-5, "%s trial %d seq %d: logit differs by %.3g", name, trial, s, d);
        }
    }
    fprintf(stderr, "%s: %d sequences, max |dlogit| %.3g, %d skipped (top-k boundary tie)\n", name, cases,
            worst, skipped);
    CHECK(skipped * 20 <= cases);
    axf_engine_free(e);
    axf_model_free(m);
}

/* A model of cfg (max_pos 64) from mseed, its engine for max_tokens, and a generator seeded rseed. */
static axf_engine *fixture(axf_config *cfg, uint64_t mseed, int max_tokens, uint64_t rseed, axf_model **m,
                           axf_rng *r)
{
    axf_err err;
    cfg->max_pos = 64;
    *m = make_model(cfg, mseed);
    axf_engine *e = axf_engine_new(*m, max_tokens, &err);
    if (!e) {
        fprintf(stderr, "axf_engine_new: %s\n", err.msg);
        exit(1);
    }
    axf_rng_seed(r, rseed);
    return e;
}

static void test_exact_properties(void)
{
    axf_config cfg = axf_config_default(50, 32, 2, 4, 48, 3);
    axf_model *m;
    axf_err err;
    axf_rng r;
    axf_engine *e = fixture(&cfg, 5, 4096, 17, &m, &r);
    batch_buf bb;
    make_batch(&bb, &r, 6, 30, cfg.vocab_size);
    axf_batch b = view(&bb);
    int maxn = 0;
    for (int s = 0; s < b.n_seq; s++)
        maxn = bb.off[s + 1] - bb.off[s] > maxn ? bb.off[s + 1] - bb.off[s] : maxn;
    float dense[64 * AXF_MAX_LABELS], got[64 * AXF_MAX_LABELS];
    CHECK(axf_engine_forward(e, NULL, &b, dense, &err) == 0);
    size_t nb = sizeof(float) * b.n_seq * cfg.num_labels;

    axf_plan p;
    memset(&p, 0, sizeof p);
    p.n_layers = 2;
    for (int i = 0; i < 2; i++) {
        p.layers[i].attn_on = p.layers[i].ffn_on = 1;
        memset(p.layers[i].head_on, 1, AXF_MAX_HEADS);
        p.layers[i].nh = 4;
        p.layers[i].f = 48;
    }
    CHECK(axf_engine_forward(e, &p, &b, got, &err) == 0);
    CHECK(memcmp(got, dense, nb) == 0);
    for (int i = 0; i < 2; i++) {
        p.layers[i].hard = AXF_HARD_TOPK;
        p.layers[i].k = maxn;
    }
    CHECK(axf_engine_forward(e, &p, &b, got, &err) == 0);
    CHECK_MSG(memcmp(got, dense, nb) == 0, "top-k with K = longest sequence differs from dense");
    for (int i = 0; i < 2; i++)
        p.layers[i].hard = AXF_HARD_TOPK_RENORM;
    CHECK(axf_engine_forward(e, &p, &b, got, &err) == 0);
    CHECK_MSG(memcmp(got, dense, nb) == 0, "renormalised top-k with K = longest sequence differs from dense");
    for (int i = 0; i < 2; i++) {
        p.layers[i].hard = AXF_HARD_THRESHOLD;
        p.layers[i].threshold = 0.0f;
    }
    CHECK(axf_engine_forward(e, &p, &b, got, &err) == 0);
    CHECK_MSG(memcmp(got, dense, nb) == 0, "threshold 0 differs from dense");
    /* a small K must change something, or the comparisons above prove nothing */
    for (int i = 0; i < 2; i++) {
        p.layers[i].hard = AXF_HARD_TOPK;
        p.layers[i].k = 2;
    }
    CHECK(axf_engine_forward(e, &p, &b, got, &err) == 0);
    CHECK(memcmp(got, dense, nb) != 0);

    /* packed batch == every sequence alone */
    double worst = 0;
    for (int s = 0; s < b.n_seq; s++) {
        axf_batch one = {1, bb.off[s + 1] - bb.off[s], bb.ids + bb.off[s], bb.types + bb.off[s], bb.off + s};
        float alone[AXF_MAX_LABELS];
        CHECK(axf_engine_forward(e, NULL, &one, alone, &err) == 0);
        for (int c = 0; c < cfg.num_labels; c++) {
            double d = fabs(alone[c] - dense[s * cfg.num_labels + c]);
            worst = d > worst ? d : worst;
        }
    }
    fprintf(stderr, "packed vs alone: max |dlogit| %.3g\n", worst);
    CHECK(worst <= 1e-6);

    /* a batch whose offsets do not start at 0 (a slice of an encoded set) */
    axf_batch tail = {b.n_seq - 2, bb.off[b.n_seq] - bb.off[2], bb.ids + bb.off[2], bb.types + bb.off[2], bb.off + 2};
    CHECK(axf_engine_forward(e, NULL, &tail, got, &err) == 0);
    for (int s = 0; s < tail.n_seq; s++)
        for (int c = 0; c < cfg.num_labels; c++)
            CHECK_NEAR(got[s * cfg.num_labels + c], dense[(s + 2) * cfg.num_labels + c], 1e-6);

    axf_engine_free(e);
    axf_model_free(m);
}

typedef struct {
    int calls, bad_rows, zeros;
} obs_stats;

static void observer(int layer, int seq, int head, int n, const float *probs, void *ud)
{
    obs_stats *st = ud;
    st->calls++;
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) {
            s += probs[i * n + j];
            st->zeros += probs[i * n + j] == 0.0f;
        }
        if (fabs(s - 1) > 1e-5)
            st->bad_rows++;
    }
}

static void test_observer(void)
{
    axf_config cfg = axf_config_default(40, 32, 3, 4, 32, 2);
    axf_model *m = make_model(&cfg, 9);
    axf_err err;
    axf_engine *e = axf_engine_new(m, 256, &err);
    obs_stats st = {0};
    axf_engine_set_observer(e, observer, &st);
    int ids[20] = {0}, types[20] = {0}, off[3] = {0, 12, 20};
    for (int i = 0; i < 20; i++)
        ids[i] = (i * 7) % 40;
    axf_batch b = {2, 20, ids, types, off};
    float lg[4];
    axf_plan p;
    memset(&p, 0, sizeof p);
    p.n_layers = 3;
    for (int i = 0; i < 3; i++) {
        p.layers[i].attn_on = p.layers[i].ffn_on = 1;
        memset(p.layers[i].head_on, 1, 4);
    }
    p.layers[1].head_on[2] = 0;   /* 3 heads observed in layer 1 */
    p.layers[2].attn_on = 0;      /* none in layer 2 */
    CHECK(axf_engine_forward(e, &p, &b, lg, &err) == 0);
    CHECK(st.calls == 2 * (4 + 3));
    CHECK(st.bad_rows == 0);
    CHECK(st.zeros == 0);
    memset(&st, 0, sizeof st);
    p.layers[0].hard = AXF_HARD_TOPK;
    p.layers[0].k = 3;
    CHECK(axf_engine_forward(e, &p, &b, lg, &err) == 0);
    /* layer 0: 4 heads x (12 rows x 9 zeros + 8 rows x 5 zeros) */
    CHECK_MSG(st.zeros == 4 * (12 * 9 + 8 * 5), "zeros %d", st.zeros);
    axf_engine_free(e);
    axf_model_free(m);
}

/* axf_engine_attention against the observer of the full forward pass: the same bits for the
 * head asked for, under random plans (its own layer's masks ignored, its hard setting and int8
 * flag taken), with another layer plan passed in, and its refusals. */
typedef struct {
    int layer, head, got;
    float *out;
} catch_head;

static void catch_obs(int layer, int seq, int head, int n, const float *probs, void *ud)
{
    catch_head *c = ud;
    if (layer == c->layer && head == c->head && seq == 0) {
        memcpy(c->out, probs, sizeof(float) * (size_t)n * (size_t)n);
        c->got = 1;
    }
}

static void test_attention(void)
{
    static float want[64 * 64], got[64 * 64];
    float lg[4];
    axf_config cfg = axf_config_default(60, 32, 3, 4, 64, 2);
    axf_model *m;
    axf_rng r;
    axf_engine *e = fixture(&cfg, 21, 512, 5, &m, &r);
    axf_err err;
    int compared = 0, changed = 0;
    for (int trial = 0; trial < 60; trial++) {
        batch_buf bb;
        make_batch(&bb, &r, 1, 40, 60);
        axf_batch b = view(&bb);
        int n = bb.n_tok;
        axf_plan p;
        random_plan(&p, m, &r, 40);
        if (trial % 4 == 0)
            p.layers[trial % 3].int8_attn = 1;
        int layer = axf_rng_below(&r, 3), head = axf_rng_below(&r, 4);
        /* what the forward pass computes for that head: its block and head on */
        axf_plan q = p;
        q.layers[layer].attn_on = 1;
        q.layers[layer].head_on[head] = 1;
        catch_head c = {layer, head, 0, want};
        axf_engine_set_observer(e, catch_obs, &c);
        CHECK_MSG(axf_engine_forward(e, &q, &b, lg, &err) == 0, "%s", err.msg);
        axf_engine_set_observer(e, NULL, NULL);
        CHECK(c.got);
        /* the plan's own layer (masks ignored: p may remove the head) */
        memset(got, 0, sizeof got);
        CHECK_MSG(axf_engine_attention(e, &p, &b, layer, head, NULL, got, &err) == 0, "%s", err.msg);
        CHECK_MSG(memcmp(got, want, sizeof(float) * (size_t)n * n) == 0, "trial %d layer %d head %d differs", trial,
                  layer, head);
        /* another setting of that layer, passed in: dense */
        axf_layer_plan dense = q.layers[layer];
        dense.hard = AXF_HARD_OFF;
        axf_plan qd = q;
        qd.layers[layer] = dense;
        c.got = 0;
        axf_engine_set_observer(e, catch_obs, &c);
        CHECK(axf_engine_forward(e, &qd, &b, lg, &err) == 0);
        axf_engine_set_observer(e, NULL, NULL);
        CHECK_MSG(axf_engine_attention(e, &p, &b, layer, head, &dense, got, &err) == 0, "%s", err.msg);
        CHECK_MSG(memcmp(got, want, sizeof(float) * (size_t)n * n) == 0, "trial %d: dense override differs", trial);
        /* and top-k with K = 2: zeros beyond the two largest of each row */
        axf_layer_plan top2 = dense;
        top2.hard = AXF_HARD_TOPK;
        top2.k = 2;
        CHECK(axf_engine_attention(e, &p, &b, layer, head, &top2, got, &err) == 0);
        for (int i = 0; i < n; i++) {
            int nz = 0;
            for (int j = 0; j < n; j++) {
                nz += got[i * n + j] != 0.0f;
                if (got[i * n + j] != 0.0f && got[i * n + j] != want[i * n + j])
                    changed++;
            }
            CHECK(nz <= 2);
        }
        compared++;
    }
    CHECK(compared == 60);
    CHECK_MSG(changed == 0, "top-k changed %d kept probabilities", changed);
    /* the engine's own observer stays */
    obs_stats st = {0};
    axf_engine_set_observer(e, observer, &st);
    int ids[6] = {2, 5, 7, 9, 11, 3}, types[6] = {0}, off1[2] = {0, 6}, off2[3] = {0, 3, 6};
    axf_batch one = {1, 6, ids, types, off1}, two = {2, 6, ids, types, off2};
    CHECK(axf_engine_attention(e, NULL, &one, 1, 2, NULL, got, &err) == 0);
    CHECK(e->obs == observer && e->obs_ud == &st && st.calls == 0);
    axf_engine_set_observer(e, NULL, NULL);
    /* refusals, each naming its problem */
    CHECK(axf_engine_attention(e, NULL, &two, 0, 0, NULL, got, &err) == -1 && strstr(err.msg, "not one"));
    CHECK(axf_engine_attention(e, NULL, &one, 3, 0, NULL, got, &err) == -1 && strstr(err.msg, "no layer 3"));
    CHECK(axf_engine_attention(e, NULL, &one, 0, 4, NULL, got, &err) == -1 && strstr(err.msg, "no head 4"));
    axf_layer_plan bad;
    memset(&bad, 0, sizeof bad);
    bad.hard = AXF_HARD_TOPK;
    CHECK(axf_engine_attention(e, NULL, &one, 0, 0, &bad, got, &err) == -1 && strstr(err.msg, "k >= 1"));
    axf_engine_free(e);
    axf_model_free(m);
}

static void test_checks(void)
{
    axf_config cfg = axf_config_default(30, 16, 1, 2, 16, 2);
    cfg.max_pos = 8;
    axf_model *m = make_model(&cfg, 3);
    axf_err err;
    CHECK(axf_engine_new(m, 0, &err) == NULL);
    axf_engine *e = axf_engine_new(m, 10, &err);
    int ids[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, types[12] = {0};
    int off[4] = {0, 3, 6, 12};
    float lg[8];
    axf_batch b = {2, 6, ids, types, off};
    CHECK(axf_engine_forward(e, NULL, &b, lg, &err) == 0);
    b = (axf_batch){3, 12, ids, types, off};
    CHECK(axf_engine_forward(e, NULL, &b, lg, &err) == -1 && strstr(err.msg, "at most 10"));
    int off2[2] = {0, 9};
    b = (axf_batch){1, 9, ids, types, off2};
    CHECK(axf_engine_forward(e, NULL, &b, lg, &err) == -1 && strstr(err.msg, "at most 8"));
    ids[1] = 30;
    b = (axf_batch){2, 6, ids, types, off};
    CHECK(axf_engine_forward(e, NULL, &b, lg, &err) == -1 && strstr(err.msg, "id 30"));
    ids[1] = -1;
    CHECK(axf_engine_forward(e, NULL, &b, lg, &err) == -1 && strstr(err.msg, "id -1"));
    ids[1] = 2;
    types[4] = 2;
    CHECK(axf_engine_forward(e, NULL, &b, lg, &err) == -1 && strstr(err.msg, "type 2"));
    types[4] = 0;
    int off3[3] = {0, 0, 6};
    b = (axf_batch){2, 6, ids, types, off3};
    CHECK(axf_engine_forward(e, NULL, &b, lg, &err) == -1 && strstr(err.msg, "empty"));
    b = (axf_batch){2, 5, ids, types, off};
    CHECK(axf_engine_forward(e, NULL, &b, lg, &err) == -1 && strstr(err.msg, "n_tok"));
    b = (axf_batch){2, 6, ids, NULL, off};
    CHECK(axf_engine_forward(e, NULL, &b, lg, &err) == 0);
    b = (axf_batch){0, 0, ids, types, off};
    CHECK(axf_engine_forward(e, NULL, &b, lg, &err) == 0);
    axf_plan p;
    memset(&p, 0, sizeof p);
    p.n_layers = 1;
    p.layers[0].attn_on = p.layers[0].ffn_on = 1;
    memset(p.layers[0].head_on, 1, 2);
    p.layers[0].hard = AXF_HARD_TOPK;
    p.layers[0].k = 0;
    b = (axf_batch){2, 6, ids, types, off};
    CHECK(axf_engine_forward(e, &p, &b, lg, &err) == -1 && strstr(err.msg, "k >= 1"));
    p.layers[0].hard = (axf_hard_mode)9;
    CHECK(axf_engine_forward(e, &p, &b, lg, &err) == -1 && strstr(err.msg, "mode"));
    p.n_layers = 2;
    CHECK(axf_engine_forward(e, &p, &b, lg, &err) == -1 && strstr(err.msg, "layers"));
    axf_engine_free(e);
    axf_model_free(m);
}

/* The engine's own threads (attention tasks, row-split element-wise passes) give the same bits
 * as one thread, under a dense plan and under hard attention. */
static void test_threads(void)
{
    axf_config cfg = axf_config_default(80, 96, 2, 4, 256, 2);
    cfg.max_pos = 128;
    axf_model *m = make_model(&cfg, 11);
    axf_err err;
    axf_engine *e = axf_engine_new(m, 1024, &err);
    axf_rng r;
    axf_rng_seed(&r, 12);
    batch_buf bb;
    make_batch(&bb, &r, 10, 120, cfg.vocab_size);
    axf_batch b = view(&bb);
    axf_plan p;
    memset(&p, 0, sizeof p);
    p.n_layers = 2;
    for (int i = 0; i < 2; i++) {
        p.layers[i].attn_on = p.layers[i].ffn_on = 1;
        memset(p.layers[i].head_on, 1, 4);
    }
    p.layers[1].hard = AXF_HARD_TOPK;
    p.layers[1].k = 7;
    p.layers[0].head_on[1] = 0;
    float one[2][64] = {{0}}, two[2][64] = {{0}};
    for (int t = 1; t <= 2; t++) {
        axf_set_threads(t);
        CHECK(axf_engine_forward(e, NULL, &b, t == 1 ? one[0] : two[0], &err) == 0);
        CHECK(axf_engine_forward(e, &p, &b, t == 1 ? one[1] : two[1], &err) == 0);
    }
    axf_set_threads(1);
    CHECK(e->pool != NULL); /* the parallel path ran */
    CHECK_MSG(memcmp(one, two, sizeof(float) * 2 * 64) == 0, "2 threads differ from 1");
    for (int s = 0; s < 2; s++) {
        double want[AXF_MAX_LABELS];
        ref_forward(m, &p, bb.ids + bb.off[s], bb.types + bb.off[s], bb.off[s + 1] - bb.off[s], want);
        CHECK(ambiguous || max_rel_diff(two[1] + s * 2, want, 2) <= 1e-5);
    }
    axf_engine_free(e);
    axf_model_free(m);
}

int main(void)
{
    axf_set_threads(1);
    axf_config cfg = axf_config_default(60, 32, 3, 4, 64, 3);
    cfg.max_pos = 64;
    test_against_reference(&cfg, "uniform gelu", 60, 1);
    cfg.act = AXF_ACT_GELU_TANH;
    cfg.num_labels = 1;
    cfg.task = AXF_TASK_REGRESS;
    test_against_reference(&cfg, "uniform gelu_tanh regression", 30, 2);
    /* per-layer widths as after compaction: fewer heads, narrower or absent blocks */
    axf_config v = axf_config_default(60, 48, 4, 4, 80, 2);
    v.max_pos = 64;
    v.act = AXF_ACT_RELU;
    int nh[4] = {4, 1, 0, 3}, f[4] = {80, 13, 40, 0};
    for (int i = 0; i < 4; i++) {
        v.layer_heads[i] = nh[i];
        v.layer_ffn[i] = f[i];
        for (int h = 0; h < nh[i]; h++)
            v.head_ids[i][h] = (unsigned char)(i == 3 ? h + 1 : h);
    }
    test_against_reference(&v, "per-layer widths relu", 40, 3);
    /* FFN masks as one sgemm per run of neurons, then always packed */
    axf__pack_min_run = 0;
    test_against_reference(&cfg, "uniform, sgemm per neuron run", 30, 4);
    axf__pack_min_run = 1 << 20;
    test_against_reference(&v, "per-layer widths, packed neurons", 30, 5);
    axf__pack_min_run = 64;
    test_exact_properties();
    test_threads();
    test_observer();
    test_attention();
    test_checks();
    return CHECK_DONE();
}
