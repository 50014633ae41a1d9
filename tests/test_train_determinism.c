/* Same seed gives the same model bit for bit (fine-tuning with dropout, and masked-LM
 * pre-training) on every kernel this CPU has (portable C, AVX2, AVX-512: axf_isa_force) and at one
 * and two threads, and the same bits as on the machine that recorded GOLDEN below (any x86-64 CPU
 * must reproduce it: README "Same results on every machine"); a different seed does not, and a run interrupted and resumed from its
 * checkpoint ends with exactly the model of an uninterrupted run; the same for distillation into a
 * compacted student with hard attention and an int8 block (whose weights stay bit for bit). Also: the optimiser schedule,
 * clipping and the length-bucketed batcher. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axf/compact.h"
#include "axf/train.h"
#include "check.h"
#include "train_ref.h"

enum { V = 40, NEX = 240 };

static axf_encoded *make_data(uint64_t seed, int n)
{
    axf_encoded *e = calloc(1, sizeof *e);
    axf_rng r;
    axf_rng_seed(&r, seed);
    e->n = n;
    e->off = malloc(sizeof(int) * (size_t)(n + 1));
    e->ids = malloc(sizeof(int) * (size_t)n * 24);
    e->types = calloc((size_t)n * 24, sizeof(int));
    e->labels = malloc(sizeof(int) * (size_t)n);
    e->targets = calloc((size_t)n, sizeof(float));
    e->num_labels = 2;
    int T = 0;
    for (int i = 0; i < n; i++) {
        int len = 3 + axf_rng_below(&r, 18), score = 0;
        e->off[i] = T;
        e->ids[T++] = 2;
        for (int k = 1; k < len - 1; k++) {
            int id = 5 + axf_rng_below(&r, V - 5);
            score += id == 7 ? 1 : id == 8 ? -1 : 0;
            e->ids[T++] = id;
        }
        e->ids[T++] = 3;
        e->labels[i] = score > 0;
        e->max_len = len > e->max_len ? len : e->max_len;
    }
    e->off[n] = T;
    return e;
}

static void free_data(axf_encoded *e)
{
    free(e->off), free(e->ids), free(e->types), free(e->labels), free(e->targets), free(e);
}

static axf_model *model(int mlm)
{
    axf_err err;
    axf_config cfg = axf_config_default(V, 32, 2, 4, 64, 2);
    cfg.max_pos = 32;
    axf_model *m = axf_model_new(&cfg, mlm, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    ref_fix_layers(m);
    axf_model_init_random(m, 1);
    return m;
}

/* FNV-1a over the bytes of the fine-tuned model of opts(7) below, as recorded on an AMD EPYC (Zen 5,
 * AVX-512); every machine and kernel must give it. */
#define GOLDEN_FINETUNE 0xf8ac5412ea115942ULL

static uint64_t fnv(const void *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ULL;
    return h;
}

static int stop_at;
static int cancel_at(const axf_train_status *st, void *ud)
{
    (void)ud;
    return st->step >= stop_at;
}

static axf_train_opts opts(uint64_t seed)
{
    axf_train_opts o = axf_train_opts_default();
    o.max_steps = 24;
    o.batch_size = 16;
    o.lr = 1e-3f;
    o.eval_every = 6;
    o.seed = seed;
    o.hidden_dropout = 0.1f;
    o.attn_dropout = 0.1f;
    return o;
}

/* Distillation: the teacher fine-tuned above, the student its compaction (layer 0 one head less
 * and top-k attention, layer 1 without FFN, layer 0's FFN in int8). */
static void check_distill(const axf_model *teacher, axf_encoded *train, axf_encoded *dev, const char *dir)
{
    axf_err err;
    axf_plan *p = axf_plan_new(teacher);
    p->layers[0].head_on[2] = 0;
    p->layers[0].hard = AXF_HARD_TOPK;
    p->layers[0].k = 4;
    p->layers[1].ffn_on = 0;
    p->layers[0].int8_ffn = 1;
    axf_plan *hard = NULL;
    axf_model *s0 = axf_compact(teacher, p, &hard, &err);
    CHECK_MSG(s0 != NULL, "%s", err.msg);
    if (!s0)
        return;
    CHECK(axf_model_has_int8(s0, 0, 1));
    axf_model *t = axf_model_clone(teacher, &err);
    axf_distill_opts d = axf_distill_opts_default();
    d.hid_weight = 0.5f;
    axf_train_opts o = opts(11);
    o.plan = hard;
    axf_model *a = axf_model_clone(s0, &err), *b = axf_model_clone(s0, &err);
    axf_train_result ra, rb;
    CHECK(axf_distill_run(a, t, NULL, train, dev, &d, &o, NULL, NULL, NULL, NULL, &ra, &err) == 0);
    CHECK(axf_distill_run(b, t, NULL, train, dev, &d, &o, NULL, NULL, NULL, NULL, &rb, &err) == 0);
    CHECK(memcmp(a->arena, b->arena, a->n_floats * sizeof(float)) == 0);
    double l0, m0;
    CHECK(axf_train_evaluate_plan(s0, hard, dev, 64, &l0, &m0, NULL, &err) == 0);
    CHECK(ra.best_metric >= m0); /* the start competes */
    size_t FH = (size_t)s0->cfg.layer_ffn[0] * s0->cfg.hidden;
    CHECK(memcmp(a->layers[0].w1, s0->layers[0].w1, FH * sizeof(float)) == 0);
    CHECK(memcmp(a->layers[0].w2, s0->layers[0].w2, FH * sizeof(float)) == 0);
    CHECK(memcmp(a->layers[0].q8[AXF_W_1].q, s0->layers[0].q8[AXF_W_1].q, FH) == 0);
    for (int l = AXF_ISA_GENERIC; l <= (int)axf_isa_level(); l++) {
        axf_isa_force(l);
        axf_set_threads(l == AXF_ISA_GENERIC ? 1 : 2);
        axf_model *c = axf_model_clone(s0, &err);
        CHECK(axf_distill_run(c, t, NULL, train, dev, &d, &o, NULL, NULL, NULL, NULL, NULL, &err) == 0);
        CHECK_MSG(memcmp(a->arena, c->arena, a->n_floats * sizeof(float)) == 0,
                  "distill on the %s kernels: another model", axf_isa_name(l));
        axf_model_free(c);
    }
    axf_isa_force(-1);
    axf_set_threads(2);
    fprintf(stderr, "distill: identical over runs, kernels and threads; dev acc %.3f (start %.3f) at step %ld; "
                    "int8 FFN unchanged\n", ra.best_metric, m0, ra.best_step);

    /* resume (no dev: the final model is the last one) */
    axf_model_free(a);
    axf_model_free(b);
    a = axf_model_clone(s0, &err);
    b = axf_model_clone(s0, &err);
    CHECK(axf_distill_run(a, t, NULL, train, NULL, &d, &o, NULL, NULL, NULL, NULL, NULL, &err) == 0);
    CHECK(memcmp(a->layers[0].wq, s0->layers[0].wq, sizeof(float) * 8) != 0); /* float32: trained */
    CHECK(memcmp(a->layers[0].q8[AXF_W_1].q, s0->layers[0].q8[AXF_W_1].q, FH) == 0);
    stop_at = 12;
    axf_train_result rr;
    CHECK(axf_distill_run(b, t, NULL, train, NULL, &d, &o, dir, NULL, cancel_at, NULL, &rr, &err) == 0);
    CHECK(rr.cancelled && rr.steps == 12);
    axf_model_free(b);
    b = axf_model_clone(s0, &err);
    o.resume = 1;
    int rc = axf_distill_run(b, t, NULL, train, NULL, &d, &o, dir, NULL, NULL, NULL, &rr, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(rr.resumed_from == 12 && rr.steps == 24);
    CHECK(memcmp(a->arena, b->arena, a->n_floats * sizeof(float)) == 0);
    /* the saved student carries its hard attention and int8 block */
    axf_model *sv = axf_model_load(dir, &err);
    axf_plan *sh = sv ? axf_plan_load_hard(dir, sv, &err) : NULL;
    CHECK_MSG(sh != NULL, "%s", err.msg);
    CHECK(sh && sh->layers[0].hard == AXF_HARD_TOPK && sh->layers[0].k == 4 && axf_model_has_int8(sv, 0, 1));
    /* a finetune run cannot resume a distillation */
    axf_train_opts of = opts(11);
    of.resume = 1;
    CHECK(axf_finetune_run(b, train, NULL, &of, dir, NULL, NULL, NULL, NULL, &err) != 0);
    fprintf(stderr, "distill resume: interrupted at 12 and resumed to 24 = uninterrupted run: %s\n",
            memcmp(a->arena, b->arena, a->n_floats * sizeof(float)) == 0 ? "yes" : "NO");
    axf_plan_free(sh);
    axf_model_free(sv);
    axf_model_free(a);
    axf_model_free(b);
    axf_model_free(t);
    axf_model_free(s0);
    axf_plan_free(hard);
    axf_plan_free(p);
}

int main(void)
{
    axf_set_threads(2);
    axf_err err;
    axf_encoded *train = make_data(1, NEX), *dev = make_data(2, 60);

    /* fine-tuning: same seed twice, then another seed */
    axf_model *a = model(0), *b = model(0), *c = model(0);
    axf_train_opts o = opts(7);
    axf_train_result ra, rb;
    CHECK(axf_finetune_run(a, train, dev, &o, NULL, NULL, NULL, NULL, &ra, &err) == 0);
    CHECK(axf_finetune_run(b, train, dev, &o, NULL, NULL, NULL, NULL, &rb, &err) == 0);
    CHECK(memcmp(a->arena, b->arena, a->n_floats * sizeof(float)) == 0);
    CHECK(ra.steps == 24 && ra.best_step > 0 && ra.best_metric == rb.best_metric);
    axf_train_opts o2 = opts(8);
    CHECK(axf_finetune_run(c, train, dev, &o2, NULL, NULL, NULL, NULL, NULL, &err) == 0);
    CHECK(memcmp(a->arena, c->arena, a->n_floats * sizeof(float)) != 0);
    fprintf(stderr, "fine-tune: two runs identical, other seed differs; best dev acc %.3f at step %ld\n",
            ra.best_metric, ra.best_step);
    uint64_t h = fnv(a->arena, a->n_floats * sizeof(float));
    fprintf(stderr, "fine-tune model hash %#llx\n", (unsigned long long)h);
    CHECK_MSG(h == GOLDEN_FINETUNE, "fine-tuned model hash %#llx, recorded %#llx", (unsigned long long)h,
              (unsigned long long)GOLDEN_FINETUNE);
    /* every kernel this CPU runs, one and two threads: the same model */
    for (int l = AXF_ISA_GENERIC; l <= (int)axf_isa_level(); l++)
        for (int th = 1; th <= 2; th++) {
            axf_isa_force(l);
            axf_set_threads(th);
            axf_model *d = model(0);
            CHECK(axf_finetune_run(d, train, dev, &o, NULL, NULL, NULL, NULL, NULL, &err) == 0);
            CHECK_MSG(memcmp(a->arena, d->arena, a->n_floats * sizeof(float)) == 0,
                      "fine-tune on the %s kernels at %d threads: another model", axf_isa_name(l), th);
            axf_model_free(d);
        }
    axf_isa_force(-1);
    axf_set_threads(2);
    char ddir[] = "/tmp/axf_distill_resume_XXXXXX";
    CHECK(mkdtemp(ddir) != NULL);
    check_distill(a, train, dev, ddir);
    char dcmd[300];
    snprintf(dcmd, sizeof dcmd, "rm -rf '%s'", ddir);
    CHECK(system(dcmd) == 0);
    axf_model_free(a), axf_model_free(b), axf_model_free(c);

    /* resume: stop after step 12, resume to 24, compare with an uninterrupted run (no dev, so the
     * final model is the last one) */
    char dir[] = "/tmp/axf_train_resume_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    a = model(0);
    b = model(0);
    CHECK(axf_finetune_run(a, train, NULL, &o, NULL, NULL, NULL, NULL, NULL, &err) == 0);
    stop_at = 12;
    axf_train_result rr;
    CHECK(axf_finetune_run(b, train, NULL, &o, dir, NULL, cancel_at, NULL, &rr, &err) == 0);
    CHECK(rr.cancelled && rr.steps == 12);
    axf_model_free(b);
    b = model(0);
    o.resume = 1;
    int rc = axf_finetune_run(b, train, NULL, &o, dir, NULL, NULL, NULL, &rr, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(rr.resumed_from == 12 && rr.steps == 24);
    CHECK(memcmp(a->arena, b->arena, a->n_floats * sizeof(float)) == 0);
    fprintf(stderr, "resume: interrupted at 12 and resumed to 24 = uninterrupted run: %s\n",
            memcmp(a->arena, b->arena, a->n_floats * sizeof(float)) == 0 ? "yes" : "NO");
    axf_model_free(a), axf_model_free(b);

    /* masked-LM pre-training */
    const char *toks[V];
    char names[V][8];
    const char *sp[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < V; i++) {
        snprintf(names[i], sizeof names[i], "w%d", i);
        toks[i] = i < 5 ? sp[i] : names[i];
    }
    axf_vocab *v = axf_vocab_from_list(toks, V, &err);
    CHECK(v != NULL);
    a = model(1);
    b = model(1);
    o = opts(9);
    o.mlm_prob = 0.15f;
    CHECK(axf_pretrain_run(a, train, dev, &o, NULL, v, NULL, NULL, &ra, &err) == 0);
    CHECK(axf_pretrain_run(b, train, dev, &o, NULL, v, NULL, NULL, &rb, &err) == 0);
    CHECK(memcmp(a->arena, b->arena, a->n_floats * sizeof(float)) == 0);
    CHECK(ra.best_metric < 0 && ra.best_metric > -10);
    for (int l = AXF_ISA_GENERIC; l < (int)axf_isa_level(); l++) {
        axf_isa_force(l);
        axf_model *d = model(1);
        CHECK(axf_pretrain_run(d, train, dev, &o, NULL, v, NULL, NULL, NULL, &err) == 0);
        CHECK_MSG(memcmp(a->arena, d->arena, a->n_floats * sizeof(float)) == 0,
                  "pretrain on the %s kernels: another model", axf_isa_name(l));
        axf_model_free(d);
    }
    axf_isa_force(-1);
    fprintf(stderr, "pretrain: two runs identical; dev masked-LM loss %.3f\n", -ra.best_metric);
    axf_model_free(a), axf_model_free(b);
    axf_vocab_free(v);

    /* schedule, clipping, batches */
    CHECK_NEAR(axf_lr_at(0, 10, 100, 1.0f), 0.1, 1e-6);
    CHECK_NEAR(axf_lr_at(9, 10, 100, 1.0f), 1.0, 1e-6);
    CHECK_NEAR(axf_lr_at(55, 10, 100, 1.0f), 0.5, 1e-6);
    CHECK_NEAR(axf_lr_at(100, 10, 100, 1.0f), 0.0, 1e-9);
    a = model(0);
    for (size_t i = 0; i < a->n_floats; i++)
        a->arena[i] = 1.0f;
    double norm = axf_grad_clip(a, 1.0f);
    CHECK_NEAR(norm, sqrt((double)a->n_floats), 1e-3 * norm);
    double s = 0;
    for (size_t i = 0; i < a->n_floats; i++)
        s += (double)a->arena[i] * a->arena[i];
    CHECK_NEAR(sqrt(s), 1.0, 1e-4);
    axf_adamw *opt = axf_adamw_new(a, 0.01f);
    CHECK(opt->decay[a->layers[0].wq - a->arena] == 1 && opt->decay[a->layers[0].bq - a->arena] == 0);
    CHECK(opt->decay[a->emb_ln_g - a->arena] == 0 && opt->decay[a->word_emb - a->arena] == 1);
    CHECK(opt->decay[a->cls_b - a->arena] == 0 && opt->decay[a->layers[1].ln2_g - a->arena] == 0);
    axf_adamw_free(opt);
    axf_model_free(a);

    int order[NEX], starts[NEX + 1], seen[NEX] = {0};
    int nb = axf_train_bucket_batches(train->off, NEX, 32, 5, order, starts);
    CHECK(nb == (NEX + 31) / 32 && starts[nb] == NEX);
    for (int i = 0; i < NEX; i++)
        seen[order[i]]++;
    int all_once = 1;
    for (int i = 0; i < NEX; i++)
        all_once &= seen[i] == 1;
    CHECK(all_once);
    free_data(train);
    free_data(dev);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return CHECK_DONE();
}
