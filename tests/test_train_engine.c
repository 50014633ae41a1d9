/* The training forward pass gives the engine's logits (within 1e-5), dense and under plans: the
 * engine skips removed parts, training multiplies them by zero, and both must agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/train.h"
#include "check.h"
#include "train_ref.h"

enum { V = 40, HID = 32, NL = 3, NHEAD = 4, FF = 64, NSEQ = 6 };

static double compare(const char *what, axf_model *m, const axf_plan *plan, const axf_batch *b)
{
    axf_err err;
    int C = m->cfg.num_labels;
    float *a = calloc((size_t)b->n_seq * C, sizeof(float)), *e = calloc((size_t)b->n_seq * C, sizeof(float));
    axf_train_ctx *c = axf_train_ctx_new(m, &err);
    axf_engine *eng = axf_engine_new(m, b->n_tok, &err);
    CHECK(c && eng);
    axf_train_batch tb = {.b = *b};
    double loss;
    CHECK(axf_train_forward(c, plan, &tb, AXF_LOSS_MEAN, &loss, a, &err) == 0);
    int rc = axf_engine_forward(eng, plan, b, e, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    double md = 0, mx = 0;
    for (int i = 0; i < b->n_seq * C; i++) {
        double d = fabs((double)a[i] - e[i]);
        md = d > md ? d : md;
        mx = fabs(e[i]) > mx ? fabs(e[i]) : mx;
    }
    CHECK_MSG(md <= 1e-5, "%s: max |train - engine| = %.3g", what, md);
    CHECK(mx > 1e-3); /* the logits are not trivially zero */
    fprintf(stderr, "%-36s max |train - engine| logit difference %.2e (logits up to %.3f)\n", what, md, mx);
    axf_engine_free(eng);
    axf_train_ctx_free(c);
    free(a);
    free(e);
    return md;
}

int main(void)
{
    axf_set_threads(1);
    axf_err err;
    axf_config cfg = axf_config_default(V, HID, NL, NHEAD, FF, 3);
    cfg.max_pos = 64;
    axf_model *m = axf_model_new(&cfg, 0, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    ref_fix_layers(m);
    axf_model_init_random(m, 5);
    /* larger than BERT's 0.02 so attention is peaked and every layer matters */
    for (size_t i = 0; i < m->n_floats; i++)
        m->arena[i] *= 8.0f;
    for (int l = 0; l < NL; l++)
        for (int i = 0; i < HID; i++)
            m->layers[l].ln1_g[i] = m->layers[l].ln2_g[i] = 1.0f;
    for (int i = 0; i < HID; i++)
        m->emb_ln_g[i] = 1.0f;

    int lens[NSEQ] = {7, 3, 12, 1, 33, 9}, off[NSEQ + 1] = {0};
    for (int s = 0; s < NSEQ; s++)
        off[s + 1] = off[s] + lens[s];
    int T = off[NSEQ];
    int *ids = malloc(sizeof(int) * (size_t)T), *types = malloc(sizeof(int) * (size_t)T);
    axf_rng r;
    axf_rng_seed(&r, 3);
    for (int t = 0; t < T; t++) {
        ids[t] = axf_rng_below(&r, V);
        types[t] = axf_rng_below(&r, 2);
    }
    axf_batch b = {.n_seq = NSEQ, .n_tok = T, .ids = ids, .types = types, .seq_off = off};

    compare("dense", m, NULL, &b);
    axf_plan *p = axf_plan_new(m);
    compare("dense plan", m, p, &b);
    p->layers[0].head_on[1] = p->layers[0].head_on[2] = 0;
    for (int j = 0; j < FF; j += 3)
        p->layers[1].neuron_on[j] = 0;
    compare("heads and neurons masked", m, p, &b);
    p->layers[2].attn_on = 0;
    p->layers[1].ffn_on = 0;
    compare("blocks removed", m, p, &b);
    p->layers[0].hard = AXF_HARD_TOPK;
    p->layers[0].k = 4;
    compare("+ top-k (no renorm) k=4", m, p, &b);
    p->layers[1].hard = AXF_HARD_TOPK_RENORM;
    p->layers[1].k = 5;
    compare("+ top-k renormalised k=5", m, p, &b);
    p->layers[0].hard = AXF_HARD_THRESHOLD;
    p->layers[0].threshold = 0.05f;
    compare("+ threshold 0.05", m, p, &b);
    p->layers[2].ffn_on = 0;
    compare("+ layer 2 skipped", m, p, &b);
    axf_plan_free(p);

    /* bad input: a plan for another shape, ids / types / lengths out of range */
    {
        axf_train_ctx *c = axf_train_ctx_new(m, &err);
        axf_train_batch tb = {.b = b};
        double loss;
        p = axf_plan_new(m);
        p->layers[1].f = FF - 1;
        CHECK(axf_train_forward(c, p, &tb, AXF_LOSS_MEAN, &loss, NULL, &err) == -1 && strstr(err.msg, "plan layer 1"));
        p->layers[1].f = FF;
        p->layers[0].hard = AXF_HARD_TOPK;
        p->layers[0].k = 0;
        CHECK(axf_train_forward(c, p, &tb, AXF_LOSS_MEAN, &loss, NULL, &err) == -1 && strstr(err.msg, "top-k"));
        axf_plan_free(p);
        ids[3] = V;
        CHECK(axf_train_forward(c, NULL, &tb, AXF_LOSS_MEAN, &loss, NULL, &err) == -1 && strstr(err.msg, "token 3"));
        ids[3] = 1;
        types[5] = 2;
        CHECK(axf_train_forward(c, NULL, &tb, AXF_LOSS_MEAN, &loss, NULL, &err) == -1 && strstr(err.msg, "type"));
        types[5] = 0;
        int lab[NSEQ] = {0, 1, 2, 3, 0, 1};
        tb.labels = lab;
        CHECK(axf_train_forward(c, NULL, &tb, AXF_LOSS_MEAN, &loss, NULL, &err) == -1 && strstr(err.msg, "label 3"));
        tb.labels = NULL;
        int mp = 0, mi = 1;
        tb.mlm_pos = &mp;
        tb.mlm_ids = &mi;
        tb.n_mlm = 1;
        CHECK(axf_train_forward(c, NULL, &tb, AXF_LOSS_MEAN, &loss, NULL, &err) == -1 && strstr(err.msg, "masked-LM head"));
        axf_batch big = b;
        int off2[2] = {0, T};
        big.n_seq = 1;
        big.seq_off = off2;
        tb = (axf_train_batch){.b = big};
        m->cfg.max_pos = T - 1;
        CHECK(axf_train_forward(c, NULL, &tb, AXF_LOSS_MEAN, &loss, NULL, &err) == -1 && strstr(err.msg, "tokens"));
        m->cfg.max_pos = 64;
        axf_train_ctx_free(c);
    }

    m->cfg.act = AXF_ACT_GELU_TANH;
    compare("gelu_tanh", m, NULL, &b);
    m->cfg.act = AXF_ACT_RELU;
    compare("relu", m, NULL, &b);

    /* a different model shape: regression, one label */
    axf_model_free(m);
    cfg = axf_config_default(V, HID, 2, 2, FF, 1);
    cfg.max_pos = 64;
    m = axf_model_new(&cfg, 1, &err);
    CHECK(m != NULL);
    if (m) {
        ref_fix_layers(m);
        axf_model_init_random(m, 9);
        for (size_t i = 0; i < m->n_floats; i++)
            m->arena[i] *= 5.0f;
        compare("regression model with MLM head", m, NULL, &b);
        axf_model_free(m);
    }
    free(ids);
    free(types);
    return CHECK_DONE();
}
