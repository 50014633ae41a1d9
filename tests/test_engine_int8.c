/* Int8 plans in the engine (layer.c, qgemm.c) and in compaction:
 *  - every block int8: the logits move, but little, from float32;
 *  - the same bits on every int8 kernel (axf_isa_force), at one and two threads, frozen (cached
 *    int8 weights, reused and rebuilt when a layer's mask changes) and not frozen, and through the
 *    per-layer API with every row of the last layer (against the forward pass's [CLS]-only one);
 *  - random plans with removed heads, neurons, blocks and layers and random int8 blocks: the
 *    masked plan and the compacted model (which stores those blocks in int8) give the same logits
 *    bit for bit, and axf_plan_bytes equals axf_model_bytes of the compacted model;
 *  - the quantize / dequantize actions: checks, names, parsing, equality and accounting, for the
 *    word embeddings (block embed) too, which the random plans and the disk test also store in int8;
 *  - axf_quant_gather: stored rows are copied, a part with fewer columns is quantized again;
 *  - on disk: an int8 model saved and loaded computes the same logits bit for bit, its file holds
 *    I8 weights and F32 scales (axf_model_bytes of them), and malformed int8 tensors (-128, a
 *    missing or negative or NaN scale, a scale of the wrong shape, half a block in int8) are
 *    refused in one line naming the file and the tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approx_testutil.h"
#include "axf/compact.h"
#include "axf/quant.h"
#include "axf/safetensors.h"
#include "check.h"

static axf_action act(axf_op op, int layer, int block)
{
    axf_action a;
    memset(&a, 0, sizeof a);
    a.op = op;
    a.layer = layer;
    a.block = block;
    return a;
}

static void all_int8(axf_plan *p)
{
    for (int i = 0; i < p->n_layers; i++)
        for (int b = 0; b < 2; b++) {
            axf_action a = act(AXF_OP_QUANTIZE, i, b);
            axf_plan_apply(p, &a, NULL, NULL, NULL);
        }
}

static float max_diff(const float *a, const float *b, size_t n)
{
    float d = 0;
    for (size_t i = 0; i < n; i++)
        d = fabsf(a[i] - b[i]) > d ? fabsf(a[i] - b[i]) : d;
    return d;
}

/* Logits of e under p with one engine, frozen or not, at `threads` threads, batches of `batch`,
 * the forward pass run `passes` times (the int8 weights are reused from the second on). */
static float *logits_with(const axf_model *m, const axf_plan *p, const axf_encoded *e, int batch, int frozen,
                          int threads, int passes)
{
    int C = m->cfg.num_labels;
    float *lg = axf_xmalloc(sizeof(float) * (size_t)e->n * C);
    axf_set_threads(threads);
    axf_err err;
    axf_engine *eng = axf_engine_new(m, e->off[e->n], &err);
    axf_engine_freeze_weights(eng, frozen);
    for (int pass = 0; pass < passes; pass++)
        for (int s = 0; s < e->n; s += batch) {
            int cnt = e->n - s < batch ? e->n - s : batch;
            axf_batch b = axf_encoded_batch(e, s, cnt);
            CHECK(axf_engine_forward(eng, p, &b, lg + (size_t)s * C, &err) == 0);
        }
    axf_engine_free(eng);
    axf_set_threads(1);
    return lg;
}

/* Every layer in full through the per-layer API, then the head. */
static float *logits_full_layers(const axf_model *m, const axf_plan *p, const axf_encoded *e)
{
    int C = m->cfg.num_labels;
    float *lg = axf_xmalloc(sizeof(float) * (size_t)e->n * C);
    axf_err err;
    axf_engine *eng = axf_engine_new(m, e->off[e->n], &err);
    axf_engine_freeze_weights(eng, 1);
    axf_batch b = axf_encoded_batch(e, 0, e->n);
    float *h = axf_engine_hidden(eng);
    axf_engine_embed(eng, NULL, &b, h);
    for (int i = 0; i < m->cfg.n_layers; i++)
        axf_engine_layer(eng, i, &p->layers[i], &b, h);
    axf_engine_head(eng, &b, h, lg);
    axf_engine_free(eng);
    return lg;
}

static void test_actions(const axf_model *m)
{
    axf_plan *p = axf_plan_new(m), *q = axf_plan_new(m);
    axf_err err;
    char buf[64];
    axf_action a = act(AXF_OP_QUANTIZE, 1, AXF_BLOCK_FFN), r;
    CHECK(axf_plan_is_dense(p));
    size_t b0 = axf_plan_bytes(m, p);
    CHECK(b0 == axf_plan_params(m, p) * 4 && b0 == axf_model_bytes(m));
    CHECK(axf_plan_apply(p, &a, NULL, &r, &err) == 0 && p->layers[1].int8_ffn && r.block == AXF_BLOCK_FFN);
    CHECK(!axf_plan_is_dense(p) && !axf_plan_equal(p, q) && axf_plan_first_diff(p, q) == 1);
    const axf_config *c = &m->cfg;
    size_t H = c->hidden, F = c->layer_ffn[1];
    CHECK(axf_plan_bytes(m, p) == b0 - 3 * 2 * H * F + 4 * (F + H));
    CHECK(axf_plan_apply(p, &a, NULL, NULL, &err) != 0 && strstr(err.msg, "already int8"));
    axf_action_describe(&a, buf, sizeof buf);
    CHECK(!strcmp(buf, "quantize L1 ffn"));
    /* parsing: a block name in place of the index, or block=; a missing block is an error */
    axf_action pa;
    CHECK(axf_action_parse("quantize 2 attn", &pa, &err) == 0 && pa.op == AXF_OP_QUANTIZE && pa.layer == 2 &&
          pa.block == AXF_BLOCK_ATTN);
    CHECK(axf_action_parse("dequantize 0 block=ffn", &pa, &err) == 0 && pa.op == AXF_OP_DEQUANTIZE &&
          pa.block == AXF_BLOCK_FFN);
    CHECK(axf_action_parse("quantize 2", &pa, &err) != 0 && strstr(err.msg, "missing block"));
    CHECK(axf_action_parse("quantize 2 block=conv", &pa, &err) != 0);
    CHECK(axf_op_from_name("quantize") == AXF_OP_QUANTIZE && axf_op_from_name("dequantize") == AXF_OP_DEQUANTIZE);
    CHECK(axf_block_from_name("attn") == 0 && axf_block_from_name("ffn") == 1 && axf_block_from_name("x") < 0);
    /* a removed block: refused; its flag is kept and ignored until the block is back */
    axf_action d = act(AXF_OP_DROP_FFN, 1, 0), rf = act(AXF_OP_RESTORE_FFN, 1, 0);
    axf_action dq = act(AXF_OP_DEQUANTIZE, 1, AXF_BLOCK_FFN);
    CHECK(axf_plan_apply(p, &d, NULL, NULL, &err) == 0);
    CHECK(axf_plan_check(p, &dq, NULL, &err) != 0 && strstr(err.msg, "removed"));
    axf_plan_apply(q, &d, NULL, NULL, NULL);
    CHECK(axf_plan_equal(p, q));   /* the flag of a removed block changes nothing */
    CHECK(axf_plan_bytes(m, p) == axf_plan_bytes(m, q));
    CHECK(axf_plan_apply(p, &rf, NULL, NULL, &err) == 0 && p->layers[1].int8_ffn);
    CHECK(axf_plan_apply(p, &dq, NULL, NULL, &err) == 0 && !p->layers[1].int8_ffn);
    CHECK(axf_plan_apply(p, &dq, NULL, NULL, &err) != 0 && strstr(err.msg, "already float32"));
    axf_action bad = act(AXF_OP_QUANTIZE, 0, 7);
    CHECK(axf_plan_check(p, &bad, NULL, &err) != 0);
    /* the word embeddings: one flag for the model, layer 0, a scale per token */
    {
        axf_plan *pe = axf_plan_new(m), *pd = axf_plan_new(m);
        axf_action qe = act(AXF_OP_QUANTIZE, 0, AXF_BLOCK_EMBED), de = act(AXF_OP_DEQUANTIZE, 0, AXF_BLOCK_EMBED);
        size_t V = (size_t)m->cfg.vocab_size;
        CHECK(axf_plan_apply(pe, &qe, NULL, NULL, &err) == 0 && pe->int8_embed && !axf_plan_is_dense(pe));
        CHECK(axf_plan_first_diff(pe, pd) == 0 && !axf_plan_equal(pe, pd));
        CHECK(axf_plan_bytes(m, pe) == axf_plan_bytes(m, pd) - 3 * V * H + 4 * V);
        CHECK(axf_plan_apply(pe, &qe, NULL, NULL, &err) != 0 && strstr(err.msg, "already int8"));
        axf_action_describe(&qe, buf, sizeof buf);
        CHECK(!strcmp(buf, "quantize embed"));
        CHECK(axf_action_parse("quantize embed", &pa, &err) == 0 && pa.op == AXF_OP_QUANTIZE && pa.layer == 0 &&
              pa.block == AXF_BLOCK_EMBED);
        CHECK(axf_action_parse("dequantize 0 block=embed", &pa, &err) == 0 && pa.block == AXF_BLOCK_EMBED);
        CHECK(axf_action_parse("drop_layer embed", &pa, &err) != 0 && strstr(err.msg, "only quantize"));
        CHECK(axf_action_parse("quantize 2 embed", &pa, &err) == 0 &&
              axf_plan_check(pd, &pa, NULL, &err) != 0 && strstr(err.msg, "layer 0"));
        CHECK(axf_plan_apply(pe, &de, NULL, NULL, &err) == 0 && axf_plan_equal(pe, pd));
        CHECK(axf_plan_apply(pe, &de, NULL, NULL, &err) != 0 && strstr(err.msg, "already float32"));
        axf_plan_free(pe);
        axf_plan_free(pd);
    }
    axf_plan_free(p);
    axf_plan_free(q);
}

static void test_gather(void)
{
    /* W[3, 4]; the stored int8 form deliberately not what quantizing W would give */
    const float w[12] = {1, -2, 3, -4, 0.5f, 0.25f, 0, 0, 8, 8, -8, 1};
    int8_t sq[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    float ss[3] = {0.5f, 0.25f, 2.0f};
    axf_qmat st = {sq, ss};
    int8_t q[12];
    float s[3];
    const int rows[2] = {2, 0}, cols[2] = {3, 1};
    axf_quant_gather(q, s, w, 4, &st, rows, 2, NULL, 4);   /* every column: the stored rows */
    CHECK(!memcmp(q, sq + 8, 4) && !memcmp(q + 4, sq, 4) && s[0] == 2.0f && s[1] == 0.5f);
    axf_quant_gather(q, s, w, 4, &st, rows, 2, cols, 2);   /* fewer columns: quantized again */
    int8_t r0[4], r1[2];
    float s0, s1;
    const float w0[2] = {1, 8}, w1[2] = {-4, -2};
    axf_quant_row(r0, &s0, w0, 2);
    axf_quant_row(r1, &s1, w1, 2);
    CHECK(!memcmp(q, r0, 2) && !memcmp(q + 2, r1, 2) && s[0] == s0 && s[1] == s1);
    axf_quant_gather(q, s, w, 4, NULL, NULL, 3, NULL, 4);   /* nothing stored: every row quantized */
    axf_quant_row(r0, &s0, w + 4, 4);
    CHECK(!memcmp(q + 4, r0, 2) && s[1] == s0);
}

/* Rewrites dir/model.safetensors from good/model.safetensors with one fault (case c); returns 0. */
static int write_fault(const char *good, const char *dir, int c)
{
    char src[4300], dst[4300];
    snprintf(src, sizeof src, "%s/model.safetensors", good);
    snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
    axf_err err;
    axf_st_file *f = axf_st_open(src, &err);
    if (!f)
        return -1;
    axf_st_entry *e = axf_xcalloc((size_t)f->n, sizeof *e);
    int8_t *qcopy = NULL;
    float bad_scale[64];
    int n = 0;
    for (int i = 0; i < f->n; i++) {
        const axf_st_tensor *t = &f->t[i];
        int is_q = !strcmp(t->name, "bert.encoder.layer.0.attention.self.query.weight");
        int is_qs = !strcmp(t->name, "bert.encoder.layer.0.attention.self.query.weight_scale");
        int is_k = !strcmp(t->name, "bert.encoder.layer.0.attention.self.key.weight");
        e[n].name = t->name;
        e[n].data = t->data;
        e[n].dtype = t->dtype;
        e[n].ndim = t->ndim;
        for (int k = 0; k < t->ndim; k++)
            e[n].shape[k] = t->shape[k];
        if (is_q && c == 0) {   /* -128 */
            qcopy = axf_xmalloc(t->nbytes);
            memcpy(qcopy, t->data, t->nbytes);
            qcopy[5] = -128;
            e[n].data = qcopy;
        }
        if (is_qs && c == 1)     /* missing scale */
            continue;
        if (is_qs && (c == 2 || c == 3)) {   /* a negative / NaN scale */
            memcpy(bad_scale, t->data, t->nbytes);
            bad_scale[3] = c == 2 ? -1.0f : NAN;
            e[n].data = bad_scale;
        }
        if (is_qs && c == 4)     /* scale of the wrong shape */
            e[n].shape[0] -= 1;
        if (is_k && c == 5) {    /* key in float32 while query is int8 */
            float *fl = axf_xmalloc(sizeof(float) * t->nbytes);
            for (size_t k = 0; k < t->nbytes; k++)
                fl[k] = 0.01f * ((const int8_t *)t->data)[k];
            e[n].data = fl;
            e[n].dtype = AXF_DT_F32;
            qcopy = (int8_t *)fl;
        }
        n++;
    }
    int rc = axf_st_write(dst, e, n, &err);
    free(qcopy);
    free(e);
    axf_st_close(f);
    return rc;
}

static void test_disk(const axf_model *m, const axf_encoded *e)
{
    axf_plan *p = axf_plan_new(m);
    all_int8(p);
    axf_action dh = act(AXF_OP_DROP_HEAD, 0, 0), dq = act(AXF_OP_DEQUANTIZE, 2, AXF_BLOCK_FFN),
               qe = act(AXF_OP_QUANTIZE, 0, AXF_BLOCK_EMBED);
    axf_plan_apply(p, &qe, NULL, NULL, NULL);
    dh.index = 1;
    axf_plan_apply(p, &dh, NULL, NULL, NULL);
    axf_plan_apply(p, &dq, NULL, NULL, NULL);
    axf_err err;
    axf_model *cm = axf_compact(m, p, NULL, &err);
    char *dir = tu_tmpdir("int8"), good[4200], bad[4200];
    snprintf(good, sizeof good, "%s/good", dir);
    snprintf(bad, sizeof bad, "%s/bad", dir);
    CHECK_MSG(cm && axf_model_save(cm, good, &err) == 0, "%s", err.msg);
    axf_model *lm = axf_model_load(good, &err);
    CHECK_MSG(lm != NULL, "%s", err.msg);
    if (!cm || !lm)
        return;
    axf_plan *lp = axf_plan_new(lm);
    CHECK(lp->layers[0].int8_attn && lp->layers[1].int8_ffn && !lp->layers[2].int8_ffn && lp->layers[2].int8_attn);
    CHECK(lp->int8_embed && lm->word_q8.q != NULL);
    CHECK(axf_model_bytes(lm) == axf_plan_bytes(m, p) && axf_model_bytes(lm) < axf_model_params(lm) * 3);
    size_t n = (size_t)e->n * m->cfg.num_labels;
    float *a = tu_logits(m, p, e, 8), *b = tu_logits(lm, lp, e, 8);
    CHECK_MSG(!memcmp(a, b, n * sizeof(float)), "saved and loaded int8 model: logits differ by %g", max_diff(a, b, n));
    /* the tensors on disk: I8 weights, F32 scales; their bytes are what axf_model_bytes counts */
    char st[4300];
    snprintf(st, sizeof st, "%s/model.safetensors", good);
    axf_st_file *f = axf_st_open(st, &err);
    CHECK(f != NULL);
    size_t bytes = 0;
    for (int i = 0; f && i < f->n; i++)
        bytes += f->t[i].nbytes;
    const axf_st_tensor *tq = f ? axf_st_find(f, "bert.encoder.layer.0.attention.output.dense.weight") : NULL;
    const axf_st_tensor *ts = f ? axf_st_find(f, "bert.encoder.layer.0.attention.output.dense.weight_scale") : NULL;
    const axf_st_tensor *tf = f ? axf_st_find(f, "bert.encoder.layer.2.intermediate.dense.weight") : NULL;
    CHECK(tq && tq->dtype == AXF_DT_I8 && ts && ts->dtype == AXF_DT_F32 && ts->shape[0] == m->cfg.hidden);
    CHECK(tf && tf->dtype == AXF_DT_F32);
    const axf_st_tensor *te = f ? axf_st_find(f, "bert.embeddings.word_embeddings.weight") : NULL;
    const axf_st_tensor *tes = f ? axf_st_find(f, "bert.embeddings.word_embeddings.weight_scale") : NULL;
    CHECK(te && te->dtype == AXF_DT_I8 && tes && tes->dtype == AXF_DT_F32 && tes->shape[0] == m->cfg.vocab_size);
    CHECK_MSG(bytes == axf_model_bytes(lm), "%zu tensor bytes, axf_model_bytes %zu", bytes, axf_model_bytes(lm));
    axf_st_close(f);
    /* a plan that dequantizes runs the dequantized float32 weights */
    axf_action d0 = act(AXF_OP_DEQUANTIZE, 0, AXF_BLOCK_ATTN);
    CHECK(axf_plan_apply(lp, &d0, NULL, NULL, &err) == 0);
    float *c = tu_logits(lm, lp, e, 8);
    CHECK(memcmp(c, b, n * sizeof(float)) != 0 && max_diff(c, b, n) < 0.2f);
    free(c);
    /* malformed int8 tensors */
    static const char *const want[] = {"int8 value -128", "weight_scale' (F32", "scale -1", "scale nan",
                                       "of another dtype or shape", "query weight is int8 but the key weight is float"};
    for (int k = 0; k < 6; k++) {
        CHECK(axf_model_save(cm, bad, &err) == 0);
        CHECK(write_fault(good, bad, k) == 0);
        axf_model *x = axf_model_load(bad, &err);
        CHECK_MSG(!x && strstr(err.msg, want[k]) && strstr(err.msg, "model.safetensors") && !strchr(err.msg, '\n'),
                  "fault %d: %s", k, x ? "loaded" : err.msg);
        axf_model_free(x);
    }
    /* an encoder checkpoint for training keeps float32 only */
    axf_model *en = axf_model_load_encoder(good, NULL, &err);
    CHECK(en && !axf_model_has_int8(en, 0, AXF_BLOCK_ATTN) && !en->word_q8.q &&
          axf_model_bytes(en) == axf_model_params(en) * 4);
    axf_model_free(en);
    free(a);
    free(b);
    axf_plan_free(lp);
    axf_plan_free(p);
    axf_model_free(lm);
    axf_model_free(cm);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    axf_model *m = tu_model(60, 48, 3, 4, 100, 3, 11);
    axf_encoded *e = tu_data(24, 3, 30, 60, 3, 12);
    size_t n = (size_t)e->n * m->cfg.num_labels;
    test_actions(m);
    test_gather();
    test_disk(m, e);

    axf_plan *p = axf_plan_new(m);
    all_int8(p);
    float *f32 = tu_logits(m, NULL, e, 7);
    float *q8 = logits_with(m, p, e, 7, 1, 1, 1);
    float d = max_diff(f32, q8, n);
    fprintf(stderr, "every block int8: max |logit difference| against float32 %.4g\n", d);
    CHECK(d > 0 && d < 0.2f);

    /* int8 word embeddings alone: the logits move, a little */
    {
        axf_plan *pe = axf_plan_new(m);
        axf_action qe = act(AXF_OP_QUANTIZE, 0, AXF_BLOCK_EMBED);
        axf_plan_apply(pe, &qe, NULL, NULL, NULL);
        float *le = tu_logits(m, pe, e, 7);
        float de = max_diff(f32, le, n);
        fprintf(stderr, "int8 word embeddings: max |logit difference| against float32 %.4g\n", de);
        CHECK(de > 0 && de < 0.05f);
        free(le);
        axf_plan_free(pe);
    }

    /* the same bits: every kernel, threads, frozen or not, reused weights */
    static const int isas[] = {AXF_ISA_GENERIC, AXF_ISA_AVX2, AXF_ISA_AVX512};
    for (int i = 0; i < 3; i++) {
        axf_isa_force(isas[i]);
        float *o = logits_with(m, p, e, 7, i != 1, 1, 2);
        CHECK_MSG(!memcmp(o, q8, n * sizeof(float)), "int8 logits on %s", axf_isa_name(axf_isa_level()));
        free(o);
    }
    axf_isa_force(-1);
    float *o2 = logits_with(m, p, e, 24, 1, 2, 2);
    CHECK_MSG(!memcmp(o2, q8, n * sizeof(float)), "two threads, one batch");
    free(o2);
    float *ol = logits_full_layers(m, p, e);
    CHECK_MSG(!memcmp(ol, q8, n * sizeof(float)), "full last layer against [CLS] rows only");
    free(ol);

    /* one frozen engine across plans: the int8 weights follow each layer's mask */
    {
        axf_plan *p2 = axf_plan_clone(p);
        axf_action dh = act(AXF_OP_DROP_HEAD, 1, 0), dg = act(AXF_OP_DROP_NEURONS, 0, 0);
        dh.index = 2;
        dg.index = 10;
        dg.count = 33;
        axf_plan_apply(p2, &dh, NULL, NULL, NULL);
        axf_plan_apply(p2, &dg, NULL, NULL, NULL);
        float *want = tu_logits(m, p2, e, 24);
        int C = m->cfg.num_labels;
        float *got = axf_xmalloc(sizeof(float) * n);
        axf_err err;
        axf_engine *eng = axf_engine_new(m, e->off[e->n], &err);
        axf_engine_freeze_weights(eng, 1);
        axf_batch b = axf_encoded_batch(e, 0, e->n);
        for (int r = 0; r < 3; r++) {
            axf_engine_forward(eng, p, &b, got, &err);
            CHECK(!memcmp(got, q8, n * sizeof(float)));
            axf_engine_forward(eng, p2, &b, got, &err);
            CHECK(!memcmp(got, want, n * sizeof(float)));
        }
        /* the weights change (as training changes them) and the caller freezes them again: the
           int8 weights are made anew from the new ones (before, the old int8 copies stayed) */
        axf_model *m2 = tu_model(60, 48, 3, 4, 100, 3, 12);
        for (int i = 0; i < m->cfg.n_layers; i++) {
            size_t HH = (size_t)m->cfg.hidden * m->cfg.hidden, HF = (size_t)m->cfg.hidden * m->cfg.layer_ffn[i];
            memcpy(m->layers[i].wq, m2->layers[i].wq, HH * sizeof(float));
            memcpy(m->layers[i].w1, m2->layers[i].w1, HF * sizeof(float));
        }
        axf_engine_freeze_weights(eng, 1);
        axf_engine_forward(eng, p, &b, got, &err);
        float *fresh = logits_with(m, p, e, e->n, 1, 1, 1);
        CHECK_MSG(!memcmp(got, fresh, n * sizeof(float)), "int8 weights made again after the weights changed");
        CHECK(memcmp(got, q8, n * sizeof(float)) != 0);
        free(fresh);
        axf_model_free(m2);
        CHECK(axf_engine_gemm_floor(eng, p2, &b, got, &err) == 0);
        (void)C;
        axf_engine_free(eng);
        free(want);
        free(got);
        axf_plan_free(p2);
    }

    /* random plans, random int8 blocks: masked == compacted, bytes == compacted bytes */
    int same = 0, cases = 0;
    for (int seed = 0; seed < 40; seed++) {
        axf_rng r;
        axf_rng_seed(&r, 100 + seed);
        axf_plan *rp = axf_plan_new(m);
        tu_random_plan(rp, &r, 1 + seed % 6, 1);
        for (int i = 0; i < rp->n_layers; i++)
            for (int b = 0; b < 2; b++)
                if (axf_rng_below(&r, 3)) {
                    axf_action a = act(AXF_OP_QUANTIZE, i, b);
                    axf_plan_apply(rp, &a, NULL, NULL, NULL);
                }
        if (axf_rng_below(&r, 2)) {
            axf_action a = act(AXF_OP_QUANTIZE, 0, AXF_BLOCK_EMBED);
            axf_plan_apply(rp, &a, NULL, NULL, NULL);
        }
        axf_err err;
        axf_plan *hp = NULL;
        axf_model *cm = axf_compact(m, rp, &hp, &err);
        CHECK(cm != NULL);
        if (!cm)
            continue;
        CHECK_MSG(axf_plan_bytes(m, rp) == axf_model_bytes(cm), "seed %d: %zu vs %zu bytes", seed,
                  axf_plan_bytes(m, rp), axf_model_bytes(cm));
        CHECK(axf_plan_params(m, rp) == axf_model_params(cm));
        float *a = tu_logits(m, rp, e, 9), *b = tu_logits(cm, hp, e, 9);
        cases++;
        same += !memcmp(a, b, n * sizeof(float));
        CHECK_MSG(!memcmp(a, b, n * sizeof(float)), "seed %d: masked and compacted int8 differ by %g", seed,
                  max_diff(a, b, n));
        free(a);
        free(b);
        axf_plan_free(hp);
        axf_model_free(cm);
        axf_plan_free(rp);
    }
    fprintf(stderr, "%d of %d random plans: masked and compacted bit-identical\n", same, cases);

    free(f32);
    free(q8);
    axf_plan_free(p);
    axf_encoded_free(e);
    axf_model_free(m);
    return CHECK_DONE();
}
