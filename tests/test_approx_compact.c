/* Compaction: masked and compacted runs agree to 1e-5 on every logit for random plans (with hard
 * attention carried over); top-k with K >= sequence length equals dense; the exported folder loads
 * back (axf_model_load + axf_plan_load_hard) and gives the same logits; bad axf_hard_attention
 * fields are refused with one line. */
#include <math.h>
#include <string.h>

#include "approx_testutil.h"
#include "axf/compact.h"
#include "check.h"

static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double x = fabs((double)a[i] - b[i]);
        if (!(x <= d))
            d = isnan(x) ? INFINITY : x;
    }
    return d;
}

static void test_random_plans(const axf_model *m, const axf_encoded *e)
{
    axf_rng r;
    axf_rng_seed(&r, 2024);
    double worst = 0, spread = 0;
    int C = m->cfg.num_labels;
    for (int t = 0; t < 60; t++) {
        axf_plan *p = axf_plan_new(m), *hard = NULL;
        tu_random_plan(p, &r, 1 + t % 17, 2);
        axf_err err;
        axf_model *cm = axf_compact(m, p, &hard, &err);
        CHECK_MSG(cm != NULL, "%s", err.msg);
        if (!cm) {
            axf_plan_free(p);
            continue;
        }
        /* compacted shape: only what remains */
        int kept = 0;
        for (int i = 0; i < p->n_layers; i++)
            kept += axf_plan_heads_on(&p->layers[i]) + axf_plan_neurons_on(&p->layers[i]) > 0;
        CHECK(cm->cfg.n_layers == kept);
        float *a = tu_logits(m, p, e, 16), *b = tu_logits(cm, hard, e, 16);
        float *dense = tu_logits(m, NULL, e, 16);
        double d = max_diff(a, b, (size_t)e->n * C);
        CHECK_MSG(d <= 1e-5, "plan %d: masked vs compacted differ by %g", t, d);
        if (d > worst)
            worst = d;
        double s = max_diff(a, dense, (size_t)e->n * C);
        if (s > spread)
            spread = s;
        free(a);
        free(b);
        free(dense);
        axf_plan_free(hard);
        axf_plan_free(p);
        axf_model_free(cm);
    }
    /* the plans must actually change the outputs, or the agreement above means nothing */
    CHECK_MSG(spread > 1e-2, "random plans barely change the logits (%g)", spread);
    fprintf(stderr, "masked vs compacted: max |logit diff| %.3g over 60 random plans (plans move logits by up to %.3g)\n",
            worst, spread);
}

static void test_topk_dense(const axf_model *m, const axf_encoded *e)
{
    int C = m->cfg.num_labels;
    float *dense = tu_logits(m, NULL, e, 16);
    axf_hard_mode modes[2] = {AXF_HARD_TOPK, AXF_HARD_TOPK_RENORM};
    for (int mi = 0; mi < 2; mi++) {
        axf_plan *p = axf_plan_new(m);
        for (int i = 0; i < p->n_layers; i++) {
            p->layers[i].hard = modes[mi];
            p->layers[i].k = e->max_len; /* K >= every sequence length */
        }
        float *h = tu_logits(m, p, e, 16);
        double d = max_diff(dense, h, (size_t)e->n * C);
        CHECK_MSG(d == 0, "%s with K >= n differs from dense by %g", axf_hard_mode_name(modes[mi]), d);
        free(h);
        /* and K below the length changes something */
        for (int i = 0; i < p->n_layers; i++)
            p->layers[i].k = 2;
        h = tu_logits(m, p, e, 16);
        CHECK(max_diff(dense, h, (size_t)e->n * C) > 1e-4);
        free(h);
        axf_plan_free(p);
    }
    free(dense);
}

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    fputs(s, f);
    fclose(f);
}

static void test_save_load(const axf_model *m, const axf_encoded *e)
{
    char *dir = tu_tmpdir("compact");
    char out[4200], cfg[4300], vocab[4300];
    snprintf(out, sizeof out, "%s/export", dir);
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", dir);
    write_text(vocab, "[PAD]\n[UNK]\n");
    axf_plan *p = axf_plan_new(m), *hard = NULL;
    axf_err err;
    axf_action acts[] = {
        {.op = AXF_OP_DROP_HEAD, .layer = 0, .index = 1},
        {.op = AXF_OP_DROP_FFN, .layer = 1},
        {.op = AXF_OP_DROP_LAYER, .layer = 2},
        {.op = AXF_OP_DROP_GROUP, .layer = 3, .index = 0, .groups = 3},
        {.op = AXF_OP_SET_HARD, .layer = 3, .hard = AXF_HARD_TOPK, .k = 3},
        {.op = AXF_OP_SET_HARD, .layer = 0, .hard = AXF_HARD_THRESHOLD, .threshold = 0.07f},
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        CHECK(axf_plan_apply(p, &acts[i], NULL, NULL, &err) == 0);
    axf_model *cm = axf_compact(m, p, &hard, &err);
    CHECK(cm && cm->cfg.n_layers == 3);
    CHECK(axf_compact_save(cm, hard, out, dir, &err) == 0);
    axf_model *lm = axf_model_load(out, &err);
    CHECK_MSG(lm != NULL, "%s", err.msg);
    axf_plan *lh = lm ? axf_plan_load_hard(out, lm, &err) : NULL;
    CHECK_MSG(lh != NULL, "%s", err.msg);
    if (lm && lh) {
        CHECK(lh->layers[2].hard == AXF_HARD_TOPK && lh->layers[2].k == 3);
        CHECK(lh->layers[0].hard == AXF_HARD_THRESHOLD && lh->layers[0].threshold == 0.07f);
        CHECK(lh->layers[1].hard == AXF_HARD_OFF);
        CHECK(lm->cfg.layer_heads[0] == m->cfg.n_heads - 1 && lm->cfg.layer_ffn[1] == 0);
        CHECK(lm->cfg.head_ids[0][1] == 2); /* original numbering kept */
        float *a = tu_logits(m, p, e, 16), *b = tu_logits(lm, lh, e, 16);
        double d = max_diff(a, b, (size_t)e->n * m->cfg.num_labels);
        CHECK_MSG(d <= 1e-5, "reloaded export differs by %g", d);
        free(a);
        free(b);
    }
    snprintf(cfg, sizeof cfg, "%s/vocab.txt", out);
    CHECK(access(cfg, R_OK) == 0);

    /* bad hard-attention fields: one clear line, never a crash */
    snprintf(cfg, sizeof cfg, "%s/config.json", out);
    const char *bad[] = {
        "{\"axf_hard_attention\": 3}",
        "{\"axf_hard_attention\": [{\"layer\": 7, \"mode\": \"topk\", \"k\": 3}]}",
        "{\"axf_hard_attention\": [{\"layer\": 0, \"mode\": \"fuzzy\", \"k\": 3}]}",
        "{\"axf_hard_attention\": [{\"layer\": 0, \"mode\": \"topk\", \"k\": -1}]}",
        "{\"axf_hard_attention\": [{\"layer\": 0, \"mode\": \"threshold\", \"threshold\": 1.5}]}",
        "{\"axf_hard_attention\": [{\"layer\": 0.5, \"mode\": \"topk\", \"k\": 2}]}",
        "{\"axf_hard_attention\": [",
    };
    for (size_t i = 0; lm && i < sizeof bad / sizeof bad[0]; i++) {
        write_text(cfg, bad[i]);
        err.msg[0] = 0;
        axf_plan *x = axf_plan_load_hard(out, lm, &err);
        CHECK_MSG(x == NULL && strstr(err.msg, "config.json") && !strchr(err.msg, '\n'), "case %zu: %s", i,
                  err.msg);
        axf_plan_free(x);
    }
    write_text(cfg, "{}");
    axf_plan *x = lm ? axf_plan_load_hard(out, lm, &err) : NULL;
    CHECK(!lm || (x && axf_plan_is_dense(x)));
    axf_plan_free(x);
    axf_plan_free(lh);
    axf_model_free(lm);
    axf_model_free(cm);
    axf_plan_free(hard);
    axf_plan_free(p);
    tu_rm_rf(dir);
    free(dir);
}

static void test_everything_removed(const axf_model *m, const axf_encoded *e)
{
    axf_plan *p = axf_plan_new(m), *hard = NULL;
    axf_err err;
    for (int i = 0; i < p->n_layers; i++) {
        axf_action a = {.op = AXF_OP_DROP_LAYER, .layer = i};
        CHECK(axf_plan_apply(p, &a, NULL, NULL, &err) == 0);
    }
    axf_model *cm = axf_compact(m, p, &hard, &err);
    CHECK(cm && cm->cfg.n_layers == 0);
    if (cm) {
        float *a = tu_logits(m, p, e, 16), *b = tu_logits(cm, hard, e, 16);
        CHECK(max_diff(a, b, (size_t)e->n * m->cfg.num_labels) <= 1e-6);
        free(a);
        free(b);
    }
    axf_model_free(cm);
    axf_plan_free(hard);
    axf_plan_free(p);
}

int main(void)
{
    axf_model *m = tu_model(80, 32, 4, 4, 48, 3, 5);
    axf_encoded *e = tu_data(40, 2, 24, 80, 3, 9);
    test_random_plans(m, e);
    test_topk_dense(m, e);
    test_save_load(m, e);
    test_everything_removed(m, e);
    axf_encoded_free(e);
    axf_model_free(m);
    return CHECK_DONE();
}
