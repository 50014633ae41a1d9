/* Helpers of the approx / session tests: small random models with weights large enough that every
 * head and neuron visibly matters, random packed data, random plans, and files on disk. */
#ifndef AXF_TEST_APPROX_UTIL_H
#define AXF_TEST_APPROX_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axf/data.h"
#include "axf/engine.h"
#include "axf/model.h"
#include "axf/plan.h"
#include "axf/tokenizer.h"

static inline void tu_fill(float *p, size_t n, axf_rng *r, float mean, float sd)
{
    for (size_t i = 0; p && i < n; i++)
        p[i] = mean + sd * axf_rng_normal(r);
}

/* Random model: weights sd 0.08 (BERT's 0.02 makes every layer nearly the identity), biases 0.05,
 * LayerNorm gains 1 +- 0.1. */
static inline axf_model *tu_model(int vocab, int hidden, int layers, int heads, int ffn, int labels, uint64_t seed)
{
    axf_config c = axf_config_default(vocab, hidden, layers, heads, ffn, labels);
    c.max_pos = 64;
    axf_err err;
    axf_model *m = axf_model_new(&c, 0, &err);
    if (!m) {
        fprintf(stderr, "tu_model: %s\n", err.msg);
        exit(2);
    }
    axf_rng r;
    axf_rng_seed(&r, seed);
    int H = hidden;
    tu_fill(m->word_emb, (size_t)vocab * H, &r, 0, 0.5f);
    tu_fill(m->pos_emb, (size_t)c.max_pos * H, &r, 0, 0.2f);
    tu_fill(m->type_emb, (size_t)c.type_vocab * H, &r, 0, 0.2f);
    tu_fill(m->emb_ln_g, H, &r, 1, 0.1f);
    tu_fill(m->emb_ln_b, H, &r, 0, 0.05f);
    for (int i = 0; i < layers; i++) {
        axf_layer *l = &m->layers[i];
        size_t A = (size_t)c.layer_heads[i] * c.head_dim, F = (size_t)c.layer_ffn[i];
        tu_fill(l->wq, A * H, &r, 0, 0.15f);
        tu_fill(l->wk, A * H, &r, 0, 0.15f);
        tu_fill(l->wv, A * H, &r, 0, 0.08f);
        tu_fill(l->wo, A * H, &r, 0, 0.08f);
        tu_fill(l->bq, A, &r, 0, 0.05f);
        tu_fill(l->bk, A, &r, 0, 0.05f);
        tu_fill(l->bv, A, &r, 0, 0.05f);
        tu_fill(l->bo, H, &r, 0, 0.05f);
        tu_fill(l->ln1_g, H, &r, 1, 0.1f);
        tu_fill(l->ln1_b, H, &r, 0, 0.05f);
        tu_fill(l->w1, F * H, &r, 0, 0.08f);
        tu_fill(l->b1, F, &r, 0, 0.05f);
        tu_fill(l->w2, F * H, &r, 0, 0.08f);
        tu_fill(l->b2, H, &r, 0, 0.05f);
        tu_fill(l->ln2_g, H, &r, 1, 0.1f);
        tu_fill(l->ln2_b, H, &r, 0, 0.05f);
    }
    tu_fill(m->pool_w, (size_t)H * H, &r, 0, 0.1f);
    tu_fill(m->pool_b, H, &r, 0, 0.05f);
    tu_fill(m->cls_w, (size_t)labels * H, &r, 0, 0.5f);
    tu_fill(m->cls_b, labels, &r, 0, 0.1f);
    return m;
}

/* n random examples of lengths minlen..maxlen (ids 5..V-1 between [CLS]=2 and [SEP]=3), labels
 * below C. */
static inline axf_encoded *tu_data(int n, int minlen, int maxlen, int vocab, int labels, uint64_t seed)
{
    axf_rng r;
    axf_rng_seed(&r, seed);
    axf_encoded *e = axf_xcalloc(1, sizeof *e);
    e->n = n;
    e->off = axf_xmalloc(sizeof(int) * (size_t)(n + 1));
    e->labels = axf_xmalloc(sizeof(int) * (size_t)n);
    e->targets = axf_xcalloc((size_t)n, sizeof(float));
    int *len = axf_xmalloc(sizeof(int) * (size_t)n), tot = 0;
    for (int i = 0; i < n; i++) {
        len[i] = minlen + axf_rng_below(&r, maxlen - minlen + 1);
        tot += len[i];
    }
    e->ids = axf_xmalloc(sizeof(int) * (size_t)tot);
    e->types = axf_xcalloc((size_t)tot, sizeof(int));
    e->off[0] = 0;
    for (int i = 0; i < n; i++) {
        int a = e->off[i];
        for (int t = 0; t < len[i]; t++)
            e->ids[a + t] = t == 0 ? 2 : t == len[i] - 1 ? 3 : 5 + axf_rng_below(&r, vocab - 5);
        e->off[i + 1] = a + len[i];
        e->labels[i] = axf_rng_below(&r, labels);
        if (len[i] > e->max_len)
            e->max_len = len[i];
    }
    e->num_labels = labels;
    e->kind = AXF_TASK_CLASSIFY;
    free(len);
    return e;
}

/* Applies up to `steps` random valid actions (drops, some restores, hard attention when
 * allow_hard, and with allow_hard == 2 also quantize / dequantize of a block). */
static inline void tu_random_plan(axf_plan *p, axf_rng *r, int steps, int allow_hard)
{
    axf_plan_defaults d = axf_plan_defaults_default();
    d.groups = 4;
    for (int s = 0, tries = 0; s < steps && tries < 50 * steps; tries++) {
        axf_action a;
        memset(&a, 0, sizeof a);
        a.layer = axf_rng_below(r, p->n_layers);
        int pick = axf_rng_below(r, 100);
        if (pick < 8) a.op = AXF_OP_DROP_LAYER;
        else if (pick < 16) a.op = AXF_OP_DROP_ATTN;
        else if (pick < 24) a.op = AXF_OP_DROP_FFN;
        else if (pick < 50) a.op = AXF_OP_DROP_HEAD, a.index = axf_rng_below(r, p->layers[a.layer].nh + 1);
        else if (pick < 70) a.op = AXF_OP_DROP_GROUP, a.index = axf_rng_below(r, 4), a.groups = 4;
        else if (pick < 78) a.op = AXF_OP_DROP_NEURONS, a.index = axf_rng_below(r, p->layers[a.layer].f + 1),
                            a.count = 1 + axf_rng_below(r, 7);
        else if (pick < 84) a.op = AXF_OP_RESTORE_HEAD, a.index = axf_rng_below(r, p->layers[a.layer].nh);
        else if (pick < 88) a.op = AXF_OP_RESTORE_GROUP, a.index = axf_rng_below(r, 4), a.groups = 4;
        else if (!allow_hard) continue;
        else if (allow_hard == 2 && pick < 94)
            a.op = pick < 92 ? AXF_OP_QUANTIZE : AXF_OP_DEQUANTIZE, a.block = axf_rng_below(r, 2);
        else {
            a.op = AXF_OP_SET_HARD;
            a.hard = (axf_hard_mode)(1 + axf_rng_below(r, 3));
            a.k = 1 + axf_rng_below(r, 6);
            a.threshold = 0.02f + 0.2f * axf_rng_uniform(r);
        }
        if (axf_plan_apply(p, &a, &d, NULL, NULL) == 0)
            s++;
    }
}

/* Logits of every example of e under plan p (NULL dense): [n * C]. */
static inline float *tu_logits(const axf_model *m, const axf_plan *p, const axf_encoded *e, int batch)
{
    int C = m->cfg.num_labels;
    float *lg = axf_xmalloc(sizeof(float) * (size_t)e->n * C);
    int maxt = 1;
    for (int s = 0; s < e->n; s += batch) {
        int cnt = e->n - s < batch ? e->n - s : batch;
        int t = e->off[s + cnt] - e->off[s];
        if (t > maxt)
            maxt = t;
    }
    axf_err err;
    axf_engine *eng = axf_engine_new(m, maxt, &err);
    if (!eng) {
        fprintf(stderr, "tu_logits: %s\n", err.msg);
        exit(2);
    }
    for (int s = 0; s < e->n; s += batch) {
        int cnt = e->n - s < batch ? e->n - s : batch;
        axf_batch b = axf_encoded_batch(e, s, cnt);
        if (axf_engine_forward(eng, p, &b, lg + (size_t)s * C, &err)) {
            fprintf(stderr, "tu_logits: %s\n", err.msg);
            exit(2);
        }
    }
    axf_engine_free(eng);
    return lg;
}

/* A fresh temporary folder (mkdtemp under TMPDIR or /tmp); caller frees the string. */
static inline char *tu_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *p = axf_xmalloc(4096);
    snprintf(p, 4096, "%s/axf-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(2);
    }
    return p;
}

static inline void tu_rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
}

/* Writes a model folder (config, weights, vocab of `vocab` tokens) and an SST-2 style TSV of n
 * random sentences over that vocabulary, labelled by a fixed random rule. */
static inline void tu_write_model_and_data(const axf_model *m, const char *dir, const char *tsv, int n, uint64_t seed)
{
    axf_err err;
    if (axf_model_save(m, dir, &err)) {
        fprintf(stderr, "tu_write: %s\n", err.msg);
        exit(2);
    }
    int V = m->cfg.vocab_size;
    const char **toks = axf_xmalloc(sizeof(char *) * (size_t)V);
    char (*words)[16] = axf_xmalloc(16 * (size_t)V);
    const char *spec[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < V; i++) {
        if (i < 5)
            snprintf(words[i], 16, "%s", spec[i]);
        else
            snprintf(words[i], 16, "w%c%c%c", 'a' + i % 26, 'a' + (i / 26) % 26, 'a' + (i / 676) % 26);
        toks[i] = words[i];
    }
    axf_vocab *v = axf_vocab_from_list(toks, V, &err);
    char path[4200];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    if (!v || axf_vocab_save(v, path, &err)) {
        fprintf(stderr, "tu_write vocab: %s\n", err.msg);
        exit(2);
    }
    axf_vocab_free(v);
    FILE *f = fopen(tsv, "w");
    fprintf(f, "sentence\tlabel\n");
    axf_rng r;
    axf_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int len = 3 + axf_rng_below(&r, 12), score = 0;
        for (int t = 0; t < len; t++) {
            int id = 5 + axf_rng_below(&r, V - 5);
            score += id % 3 == 0;
            fprintf(f, "%s%s", t ? " " : "", words[id]);
        }
        fprintf(f, " \t%d\n", score * 3 > len);
    }
    fclose(f);
    free(toks);
    free(words);
}

#endif
