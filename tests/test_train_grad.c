/* Gradient checks: every parameter tensor's gradient (and every gate gradient) against central
 * finite differences of an independent double-precision reference of the loss, on tiny models
 * with packed sequences of different lengths, with and without the masked-LM head, for
 * classification and regression, dense and under plans (masked heads / neurons, removed blocks,
 * skipped layers, the three hard-attention modes), on the shapes compaction produces (per-layer
 * heads and FFN widths, removed blocks, dropped layers, hard attention carried as the compacted
 * model's plan) where the masked model's gradients, gathered like the weights, equal the compacted
 * model's and are zero on every removed weight; the distillation loss (soft targets at a
 * temperature, hidden-state matching); and int8 matrices, frozen by AdamW. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/compact.h"
#include "axf/quant.h"
#include "axf/train.h"
#include "check.h"
#include "train_ref.h"

typedef struct {
    char name[64];
    float *p;
    size_t n;
} tens;

static int list_tensors(const axf_model *m, tens *t)
{
    const axf_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, HS = (size_t)c->head_dim;
    int k = 0;
#define ADD(nm, ptr, cnt) do { if (ptr) { snprintf(t[k].name, sizeof t[k].name, "%s", nm); t[k].p = (ptr); \
    t[k].n = (cnt); k++; } } while (0)
    ADD("word_emb", m->word_emb, (size_t)c->vocab_size * H);
    ADD("pos_emb", m->pos_emb, (size_t)c->max_pos * H);
    ADD("type_emb", m->type_emb, (size_t)c->type_vocab * H);
    ADD("emb_ln_g", m->emb_ln_g, H);
    ADD("emb_ln_b", m->emb_ln_b, H);
    for (int l = 0; l < c->n_layers; l++) {
        const axf_layer *y = &m->layers[l];
        size_t A = (size_t)y->nh * HS, F = (size_t)y->f;
        char nm[64];
#define LADD(field, cnt) do { snprintf(nm, sizeof nm, "L%d.%s", l, #field); ADD(nm, y->field, cnt); } while (0)
        if (A) {
            LADD(wq, A * H); LADD(bq, A); LADD(wk, A * H); LADD(bk, A); LADD(wv, A * H); LADD(bv, A);
            LADD(wo, H * A); LADD(bo, H);
        }
        LADD(ln1_g, H); LADD(ln1_b, H);
        if (F) {
            LADD(w1, F * H); LADD(b1, F); LADD(w2, H * F); LADD(b2, H);
        }
        LADD(ln2_g, H); LADD(ln2_b, H);
#undef LADD
    }
    ADD("pool_w", m->pool_w, H * H);
    ADD("pool_b", m->pool_b, H);
    ADD("cls_w", m->cls_w, (size_t)c->num_labels * H);
    ADD("cls_b", m->cls_b, (size_t)c->num_labels);
    ADD("mlm_w", m->mlm_w, H * H);
    ADD("mlm_b", m->mlm_b, H);
    ADD("mlm_ln_g", m->mlm_ln_g, H);
    ADD("mlm_ln_b", m->mlm_ln_b, H);
    ADD("mlm_bias", m->mlm_bias, (size_t)c->vocab_size);
#undef ADD
    return k;
}

enum { V = 23, HID = 8, NL = 2, NHEAD = 2, FF = 16, MAXP = 16 };

static axf_model *tiny(int with_mlm, axf_act act, int regression, uint64_t seed)
{
    axf_err err;
    axf_config cfg = axf_config_default(V, HID, NL, NHEAD, FF, regression ? 1 : 3);
    cfg.max_pos = MAXP;
    cfg.act = act;
    cfg.task = regression ? AXF_TASK_REGRESS : AXF_TASK_CLASSIFY;
    cfg.ln_eps = 1e-5f;
    axf_model *m = axf_model_new(&cfg, with_mlm, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    ref_fix_layers(m);
    /* large weights so attention is far from uniform and every gradient is sizeable */
    axf_rng r;
    axf_rng_seed(&r, seed);
    for (size_t i = 0; i < m->n_floats; i++)
        m->arena[i] = 0.4f * axf_rng_normal(&r);
    for (int l = 0; l < NL; l++)
        for (int i = 0; i < HID; i++) {
            m->layers[l].ln1_g[i] += 1.0f;
            m->layers[l].ln2_g[i] += 1.0f;
        }
    for (int i = 0; i < HID; i++) {
        m->emb_ln_g[i] += 1.0f;
        if (m->mlm_ln_g)
            m->mlm_ln_g[i] += 1.0f;
    }
    return m;
}

/* three packed sequences of lengths 5, 3, 7, starting at offset 4 of the arrays (a slice) */
static int ids[19], types[19], offs[4] = {4, 9, 12, 19}, labels[3] = {2, 0, 1};
static float targets[3] = {0.7f, -1.2f, 0.3f};
static int mpos[4] = {1, 6, 9, 14}, mids[4];

static axf_train_batch make_batch(int mlm, int regression)
{
    axf_rng r;
    axf_rng_seed(&r, 7);
    for (int i = 0; i < 19; i++) {
        ids[i] = 5 + axf_rng_below(&r, V - 5);
        types[i] = i >= 10 ? 1 : 0;
    }
    ids[4] = ids[9] = ids[12] = 2; /* [CLS] */
    for (int i = 0; i < 4; i++)
        mids[i] = axf_rng_below(&r, V);
    axf_train_batch tb = {.b = {.n_seq = 3, .n_tok = 15, .ids = ids + 4, .types = types + 4, .seq_off = offs}};
    if (regression)
        tb.targets = targets;
    else
        tb.labels = labels;
    if (mlm) {
        tb.mlm_pos = mpos;
        tb.mlm_ids = mids;
        tb.n_mlm = 4;
    }
    return tb;
}

static void check_grads(const char *what, axf_model *m, const axf_plan *plan, const axf_train_batch *tb,
                        axf_loss_reduction red)
{
    axf_err err;
    axf_train_ctx *c = axf_train_ctx_new(m, &err);
    CHECK(c != NULL);
    axf_train_zero_grad(c);
    double loss;
    CHECK(axf_train_forward(c, plan, tb, red, &loss, NULL, &err) == 0);
    axf_train_backward(c, 1, NULL);
    const axf_model *g = axf_train_grads(c);

    double *A = malloc(sizeof(double) * m->n_floats);
    for (size_t i = 0; i < m->n_floats; i++)
        A[i] = m->arena[i];
    ref_gates gt;
    ref_gates_init(&gt, m);
    double ref = ref_loss(m, A, plan, tb, &gt, red, NULL);
    CHECK_NEAR(loss, ref, 1e-5 * (1 + fabs(ref)));

    tens t[128];
    int nt = list_tensors(m, t);
    const double eps = 1e-5;
    double worst = 0;
    for (int k = 0; k < nt; k++) {
        size_t base = (size_t)(t[k].p - m->arena);
        double maxerr = 0, scale = 0;
        for (size_t i = 0; i < t[k].n; i++) {
            double keep = A[base + i];
            A[base + i] = keep + eps;
            double lp = ref_loss(m, A, plan, tb, &gt, red, NULL);
            A[base + i] = keep - eps;
            double lm = ref_loss(m, A, plan, tb, &gt, red, NULL);
            A[base + i] = keep;
            double fd = (lp - lm) / (2 * eps), an = g->arena[base + i];
            double e = fabs(fd - an);
            maxerr = e > maxerr ? e : maxerr;
            scale = fabs(fd) > scale ? fabs(fd) : scale;
        }
        double rel = maxerr / (scale > 1e-3 ? scale : 1e-3);
        worst = rel > worst ? rel : worst;
        CHECK_MSG(rel < 2e-3, "%s: %s: max |grad - fd| %.3g (largest |fd| %.3g)", what, t[k].name, maxerr, scale);
    }
    fprintf(stderr, "%-34s loss %.6f  ref %.6f  worst relative gradient error %.2e over %d tensors\n", what,
            loss, ref, worst, nt);
    ref_gates_free(&gt);
    free(A);
    axf_train_ctx_free(c);
}

static void check_gates(const char *what, axf_model *m, const axf_plan *plan, const axf_train_batch *tb)
{
    axf_err err;
    axf_gate_grads *gg = axf_gate_grads_new(m);
    CHECK(axf_gate_grads_batch(m, plan, &tb->b, tb->labels, tb->targets, gg, &err) == 0);
    /* the context variant gives the same numbers */
    axf_gate_grads *g2 = axf_gate_grads_new(m);
    axf_train_ctx *c2 = axf_train_ctx_new(m, &err);
    CHECK(axf_gate_grads_batch_ctx(c2, plan, &tb->b, tb->labels, tb->targets, g2, &err) == 0);
    CHECK(memcmp(g2->head, gg->head, sizeof gg->head) == 0 && memcmp(g2->ffn, gg->ffn, sizeof gg->ffn) == 0);
    axf_train_ctx_free(c2);
    axf_gate_grads_free(g2);
    double *A = malloc(sizeof(double) * m->n_floats);
    for (size_t i = 0; i < m->n_floats; i++)
        A[i] = m->arena[i];
    axf_train_batch plain = *tb;
    plain.n_mlm = 0;
    ref_gates gt;
    ref_gates_init(&gt, m);
    const double eps = 1e-5;
    double worst = 0, scale = 0;
    int zeros_ok = 1, n = 0;
#define FD(slot, an, removed) do { double keep = (slot); (slot) = keep + eps; \
        double lplus_ = ref_loss(m, A, plan, &plain, &gt, AXF_LOSS_SUM, NULL); (slot) = keep - eps; \
        double lminus_ = ref_loss(m, A, plan, &plain, &gt, AXF_LOSS_SUM, NULL); (slot) = keep; \
        double fd = (lplus_ - lminus_) / (2 * eps); \
        if (removed) { if ((an) != 0.0f) zeros_ok = 0; } \
        else { double e = fabs(fd - (an)); worst = e > worst ? e : worst; \
               scale = fabs(fd) > scale ? fabs(fd) : scale; n++; } } while (0)
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const axf_layer_plan *lp = plan ? &plan->layers[l] : NULL;
        int attn_on = !lp || lp->attn_on, ffn_on = !lp || lp->ffn_on;
        for (int h = 0; h < m->layers[l].nh; h++)
            FD(gt.head[l][h], gg->head[l][h], !attn_on || (lp && !lp->head_on[h]));
        FD(gt.attn[l], gg->attn[l], !attn_on);
        FD(gt.ffn[l], gg->ffn[l], !ffn_on);
        for (int j = 0; j < m->layers[l].f; j++)
            FD(gt.neuron[l][j], gg->neuron[l][j], !ffn_on || (lp && lp->neuron_on && !lp->neuron_on[j]));
    }
#undef FD
    CHECK_MSG(worst < 2e-3 * (scale > 1e-2 ? scale : 1e-2), "%s: gate gradients: max error %.3g, largest %.3g",
              what, worst, scale);
    CHECK_MSG(zeros_ok, "%s: a removed element has a nonzero gate gradient", what);
    CHECK(n > 0 && scale > 0);
    fprintf(stderr, "%-34s gate gradients: %d checked, max error %.2e (largest %.3g)\n", what, n, worst, scale);
    ref_gates_free(&gt);
    free(A);
    axf_gate_grads_free(gg);
}

/* A 3-layer model and a plan whose compaction exercises every shape: layer 0 loses a head and
 * neurons and gets top-k attention, layer 1 loses both blocks (dropped), layer 2 loses its FFN
 * (f = 0) and gets threshold attention. */
static void check_compaction(void)
{
    axf_err err;
    axf_config cfg = axf_config_default(V, HID, 3, NHEAD, FF, 3);
    cfg.max_pos = MAXP;
    cfg.ln_eps = 1e-5f;
    axf_model *m = axf_model_new(&cfg, 0, &err);
    CHECK(m != NULL);
    if (!m)
        return;
    ref_fix_layers(m);
    axf_rng r;
    axf_rng_seed(&r, 21);
    for (size_t i = 0; i < m->n_floats; i++)
        m->arena[i] = 0.4f * axf_rng_normal(&r) + (i % 7 == 0 ? 1.0f : 0.0f);
    axf_plan *p = axf_plan_new(m);
    p->layers[0].head_on[1] = 0;
    p->layers[0].neuron_on[2] = p->layers[0].neuron_on[7] = p->layers[0].neuron_on[11] = 0;
    p->layers[0].hard = AXF_HARD_TOPK;
    p->layers[0].k = 2;
    p->layers[1].attn_on = p->layers[1].ffn_on = 0;
    p->layers[2].ffn_on = 0;
    p->layers[2].hard = AXF_HARD_THRESHOLD;
    p->layers[2].threshold = 0.2f;
    axf_plan *hard = NULL;
    axf_model *cm = axf_compact(m, p, &hard, &err);
    CHECK(cm != NULL && hard != NULL);
    if (!cm || !hard)
        return;
    CHECK(cm->cfg.n_layers == 2 && cm->cfg.layer_heads[0] == 1 && cm->cfg.layer_ffn[0] == FF - 3 &&
          cm->cfg.layer_ffn[1] == 0 && cm->cfg.layer_heads[1] == NHEAD);
    CHECK(hard->layers[0].hard == AXF_HARD_TOPK && hard->layers[1].hard == AXF_HARD_THRESHOLD);
    axf_train_batch tb = make_batch(0, 0);
    check_grads("compacted: dropped layer, f=0, hard", cm, hard, &tb, AXF_LOSS_MEAN);
    check_gates("compacted: dropped layer, f=0, hard", cm, hard, &tb);

    /* masked model under p vs the compacted model under its plan: same loss, and the masked
     * gradients gathered by compaction are the compacted model's; removed weights get none */
    axf_train_ctx *cf = axf_train_ctx_new(m, &err), *cc = axf_train_ctx_new(cm, &err);
    double lf, lc;
    axf_train_zero_grad(cf);
    axf_train_zero_grad(cc);
    CHECK(axf_train_forward(cf, p, &tb, AXF_LOSS_MEAN, &lf, NULL, &err) == 0);
    CHECK(axf_train_forward(cc, hard, &tb, AXF_LOSS_MEAN, &lc, NULL, &err) == 0);
    axf_train_backward(cf, 1, NULL);
    axf_train_backward(cc, 1, NULL);
    CHECK_NEAR(lf, lc, 1e-6 * (1 + fabs(lf)));
    axf_model *gf = axf_train_grads(cf), *gc = axf_train_grads(cc);
    axf_model *gg = axf_compact(gf, p, NULL, &err);
    CHECK(gg != NULL && gg->n_floats == gc->n_floats);
    double worst = 0, big = 0;
    for (size_t i = 0; gg && i < gg->n_floats; i++) {
        double e = fabs((double)gg->arena[i] - gc->arena[i]);
        worst = e > worst ? e : worst;
        big = fabs(gc->arena[i]) > big ? fabs(gc->arena[i]) : big;
    }
    CHECK_MSG(worst <= 1e-5 * (big > 1 ? big : 1), "masked vs compacted gradients differ by %.3g", worst);
    const axf_layer *g0 = &gf->layers[0], *g1 = &gf->layers[1], *g2 = &gf->layers[2];
    double removed = 0;
    for (int k = 0; k < HID; k++) {
        for (int e = HID / NHEAD; e < HID; e++) /* head 1's rows of Q, K, V */
            removed += fabs(g0->wq[(size_t)e * HID + k]) + fabs(g0->wk[(size_t)e * HID + k]) +
                       fabs(g0->wv[(size_t)e * HID + k]) + fabs(g0->wo[(size_t)k * HID + e]);
        removed += fabs(g0->w1[2 * HID + k]) + fabs(g0->w1[7 * HID + k]) + fabs(g0->w1[11 * HID + k]) +
                   fabs(g0->w2[(size_t)k * FF + 7]);
        removed += fabs(g1->wq[k]) + fabs(g1->w1[k]) + fabs(g1->ln1_g[k]) + fabs(g1->ln2_b[k]);
        removed += fabs(g2->w1[k]) + fabs(g2->w2[(size_t)k * FF]) + fabs(g2->b2[k]);
    }
    CHECK_MSG(removed == 0.0, "removed weights received gradient (sum |g| = %.3g)", removed);
    fprintf(stderr, "%-34s masked = compacted gradients within %.2e (largest %.3g), removed weights 0\n",
            "compaction", worst, big);
    axf_model_free(gg);
    axf_train_ctx_free(cf);
    axf_train_ctx_free(cc);
    axf_plan_free(hard);
    axf_plan_free(p);
    axf_model_free(cm);
    axf_model_free(m);
}

/* Distillation: soft targets at a temperature and hidden-state matching, alone and together. */
static void check_distill(void)
{
    axf_model *m = tiny(0, AXF_ACT_GELU, 0, 31);
    axf_train_batch tb = make_batch(0, 0);
    float soft[3 * 3], hid[15 * HID];
    axf_rng r;
    axf_rng_seed(&r, 32);
    for (int i = 0; i < 9; i++)
        soft[i] = 2.0f * axf_rng_normal(&r);
    for (int i = 0; i < 15 * HID; i++)
        hid[i] = axf_rng_normal(&r);
    tb.soft = soft;
    tb.kd_alpha = 0.7f;
    tb.kd_temp = 2.5f;
    check_grads("distill: soft T=2.5 a=0.7", m, NULL, &tb, AXF_LOSS_MEAN);
    tb.kd_alpha = 1.0f;
    tb.kd_temp = 0.5f;
    check_grads("distill: soft only T=0.5", m, NULL, &tb, AXF_LOSS_SUM);
    tb.kd_alpha = 0.5f;
    tb.kd_temp = 2.0f;
    tb.hid = hid;
    tb.hid_weight = 0.8f;
    axf_plan *p = axf_plan_new(m);
    p->layers[1].ffn_on = 0;
    p->layers[0].hard = AXF_HARD_TOPK;
    p->layers[0].k = 2;
    check_grads("distill: soft + hidden, plan", m, p, &tb, AXF_LOSS_MEAN);
    axf_plan_free(p);
    axf_model_free(m);

    m = tiny(0, AXF_ACT_GELU_TANH, 1, 33);
    tb = make_batch(0, 1);
    tb.soft = soft; /* one score per sequence: the first three */
    tb.kd_alpha = 0.4f;
    tb.kd_temp = 1.0f;
    tb.hid = hid;
    tb.hid_weight = 0.3f;
    check_grads("distill: regression + hidden", m, NULL, &tb, AXF_LOSS_MEAN);
    axf_model_free(m);
}

/* int8 matrices: gradients pass through their float32 view (checked like any model), and AdamW
 * leaves q, scale and the view bit for bit as they were while the float32 parameters move. */
static void check_int8_frozen(void)
{
    axf_err err;
    axf_model *m = tiny(0, AXF_ACT_GELU, 0, 41);
    int N[AXF_W_COUNT] = {HID, HID, HID, HID, FF, HID}, K[AXF_W_COUNT] = {HID, HID, HID, HID, HID, FF};
    float *w0[AXF_W_COUNT] = {m->layers[0].wq, m->layers[0].wk, m->layers[0].wv, m->layers[0].wo, NULL, NULL};
    for (int k = 0; k < 4; k++) { /* layer 0's attention block in int8 */
        int8_t q[FF * HID];
        float sc[FF];
        for (int n = 0; n < N[k]; n++)
            axf_quant_row(q + (size_t)n * K[k], sc + n, w0[k] + (size_t)n * K[k], K[k]);
        axf_model_set_int8(m, 0, k, q, sc);
    }
    axf_model *w1 = m; /* layer 1's FFN too */
    float *wf[2] = {w1->layers[1].w1, w1->layers[1].w2};
    for (int k = 0; k < 2; k++) {
        int8_t q[FF * HID];
        float sc[FF];
        for (int n = 0; n < N[4 + k]; n++)
            axf_quant_row(q + (size_t)n * K[4 + k], sc + n, wf[k] + (size_t)n * K[4 + k], K[4 + k]);
        axf_model_set_int8(m, 1, 4 + k, q, sc);
    }
    CHECK(axf_model_has_int8(m, 0, 0) && axf_model_has_int8(m, 1, 1));
    axf_train_batch tb = make_batch(0, 0);
    check_grads("int8 blocks (float32 view)", m, NULL, &tb, AXF_LOSS_MEAN);

    axf_model *before = axf_model_clone(m, &err);
    axf_train_ctx *c = axf_train_ctx_new(m, &err);
    axf_adamw *o = axf_adamw_new(m, 0.01f);
    CHECK(o->n_frozen == (size_t)4 * HID * HID + (size_t)2 * FF * HID);
    for (int step = 0; step < 3; step++) {
        axf_train_zero_grad(c);
        double loss;
        CHECK(axf_train_forward(c, NULL, &tb, AXF_LOSS_MEAN, &loss, NULL, &err) == 0);
        axf_train_backward(c, 1, NULL);
        axf_adamw_mask_frozen(o, axf_train_grads(c));
        axf_adamw_step(o, m, axf_train_grads(c), 1e-2f);
    }
    size_t HH = (size_t)HID * HID, FH = (size_t)FF * HID;
    CHECK(memcmp(m->layers[0].wq, before->layers[0].wq, HH * sizeof(float)) == 0);
    CHECK(memcmp(m->layers[0].wo, before->layers[0].wo, HH * sizeof(float)) == 0);
    CHECK(memcmp(m->layers[1].w1, before->layers[1].w1, FH * sizeof(float)) == 0);
    CHECK(memcmp(m->layers[1].w2, before->layers[1].w2, FH * sizeof(float)) == 0);
    CHECK(memcmp(m->layers[0].q8[AXF_W_Q].q, before->layers[0].q8[AXF_W_Q].q, HH) == 0);
    CHECK(memcmp(m->layers[1].q8[AXF_W_2].scale, before->layers[1].q8[AXF_W_2].scale, HID * sizeof(float)) == 0);
    CHECK(memcmp(m->layers[0].w1, before->layers[0].w1, FH * sizeof(float)) != 0); /* float32: trained */
    CHECK(memcmp(m->layers[0].bq, before->layers[0].bq, HID * sizeof(float)) != 0);
    CHECK(memcmp(m->layers[1].wq, before->layers[1].wq, HH * sizeof(float)) != 0);
    fprintf(stderr, "%-34s %zu int8 weights frozen over 3 AdamW steps, float32 ones moved\n", "int8 frozen",
            o->n_frozen);
    axf_adamw_free(o);
    axf_train_ctx_free(c);
    axf_model_free(before);
    axf_model_free(m);
}

int main(void)
{
    axf_set_threads(1);
    /* classification + masked-LM head, erf GELU, dense */
    axf_model *m = tiny(1, AXF_ACT_GELU, 0, 11);
    axf_train_batch tb = make_batch(1, 0);
    check_grads("cls+mlm gelu dense mean", m, NULL, &tb, AXF_LOSS_MEAN);
    check_grads("cls+mlm gelu dense sum", m, NULL, &tb, AXF_LOSS_SUM);
    axf_model_free(m);

    /* regression, tanh GELU, no MLM head */
    m = tiny(0, AXF_ACT_GELU_TANH, 1, 12);
    tb = make_batch(0, 1);
    check_grads("regression gelu_tanh dense", m, NULL, &tb, AXF_LOSS_MEAN);
    check_gates("regression gelu_tanh dense", m, NULL, &tb);
    axf_model_free(m);

    /* pure masked-LM (no labels: pooler and classifier untouched) */
    m = tiny(1, AXF_ACT_GELU, 0, 13);
    tb = make_batch(1, 0);
    tb.labels = NULL;
    check_grads("mlm only", m, NULL, &tb, AXF_LOSS_MEAN);
    axf_model_free(m);

    /* plans */
    m = tiny(0, AXF_ACT_GELU, 0, 14);
    tb = make_batch(0, 0);
    check_gates("classification dense", m, NULL, &tb);
    axf_plan *p = axf_plan_new(m);
    p->layers[0].head_on[1] = 0;
    p->layers[0].hard = AXF_HARD_TOPK;
    p->layers[0].k = 2;
    p->layers[1].neuron_on[0] = p->layers[1].neuron_on[3] = p->layers[1].neuron_on[5] = 0;
    p->layers[1].hard = AXF_HARD_THRESHOLD;
    p->layers[1].threshold = 0.15f;
    check_grads("plan: head/neurons, topk, thresh", m, p, &tb, AXF_LOSS_MEAN);
    check_gates("plan: head/neurons, topk, thresh", m, p, &tb);
    axf_plan_free(p);

    p = axf_plan_new(m);
    p->layers[0].attn_on = 0;
    p->layers[1].ffn_on = 0;
    p->layers[1].hard = AXF_HARD_TOPK_RENORM;
    p->layers[1].k = 3;
    check_grads("plan: blocks off, topk renorm", m, p, &tb, AXF_LOSS_MEAN);
    check_gates("plan: blocks off, topk renorm", m, p, &tb);
    axf_plan_free(p);

    p = axf_plan_new(m);
    p->layers[0].attn_on = 0;
    p->layers[0].ffn_on = 0;
    check_grads("plan: layer 0 skipped", m, p, &tb, AXF_LOSS_MEAN);
    check_gates("plan: layer 0 skipped", m, p, &tb);
    axf_plan_free(p);
    axf_model_free(m);

    /* a compacted model: layer 0 with one head, layer 1 with no attention and a narrower FFN */
    axf_err err;
    axf_config cfg = axf_config_default(V, HID, NL, NHEAD, FF, 3);
    cfg.max_pos = MAXP;
    cfg.ln_eps = 1e-5f;
    cfg.layer_heads[0] = 1;
    cfg.layer_heads[1] = 0;
    cfg.layer_ffn[1] = 9;
    m = axf_model_new(&cfg, 0, &err);
    CHECK(m != NULL);
    if (m) {
        ref_fix_layers(m);
        axf_rng r;
        axf_rng_seed(&r, 15);
        for (size_t i = 0; i < m->n_floats; i++)
            m->arena[i] = 0.4f * axf_rng_normal(&r) + (i % 7 == 0 ? 1.0f : 0.0f);
        check_grads("compacted model", m, NULL, &tb, AXF_LOSS_MEAN);
        check_gates("compacted model", m, NULL, &tb);
        axf_model_free(m);
    }
    check_compaction();
    check_distill();
    check_int8_frozen();
    return CHECK_DONE();
}
