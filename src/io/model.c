/* Model memory layout, initialisation, size measures, and the Hugging Face checkpoint reader and
 * writer (model.safetensors or pytorch_model.bin; config.json and tokenizer_config.json are
 * config.c's).
 *
 * One table (model_tensors) lists every tensor of a model of a given shape with its HF name; the
 * arena layout, loading, saving and random initialisation all walk that table, so they cannot
 * disagree. */
#include "axf/model.h"
#include "axf/safetensors.h"
#include "axf/torchbin.h"
#include "axf/fileio.h"
#include "model_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char name[96];      /* HF name without the encoder's prefix ("bert." ...) when enc is set */
    float **slot;       /* field of the model that points at the tensor */
    int ndim;
    int64_t shape[2];
    size_t count;
    int enc;            /* lives under the encoder's prefix ("bert.", "distilbert.", "roberta.") */
    int mlm;            /* part of the masked-LM head */
    int kind;           /* 0 weight, 1 bias (zero init), 2 LayerNorm gain (one init) */
    int layer, which;   /* matrix `which` (AXF_W_*) of layer `layer`, WHICH_EMBED (the word
                           embeddings), or -1: not one of those */
} tdesc;

enum { K_W = 0, K_B, K_G };

/* BERT's embedding and encoder names, which RoBERTa shares (under its own prefix). */
#define BERT_ENCODER_NAMES                                                                                   \
    "embeddings.word_embeddings", "embeddings.position_embeddings", "embeddings.token_type_embeddings",      \
        "embeddings.LayerNorm", "encoder.layer", "attention.self.query", "attention.self.key",               \
        "attention.self.value", "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense", \
        "output.dense", "output.LayerNorm"

const arch_names axf__arch[] = {
    [AXF_ARCH_BERT] = {"bert", "BertForSequenceClassification", "bert.", "BERT", BERT_ENCODER_NAMES,
                       "pooler.dense", "classifier", 1, "cls.predictions.transform.dense",
                       "cls.predictions.transform.LayerNorm", "cls.predictions.bias"},
    [AXF_ARCH_DISTILBERT] = {"distilbert", "DistilBertForSequenceClassification", "distilbert.", "DistilBERT",
                             "embeddings.word_embeddings", "embeddings.position_embeddings", NULL,
                             "embeddings.LayerNorm", "transformer.layer", "attention.q_lin", "attention.k_lin",
                             "attention.v_lin", "attention.out_lin", "sa_layer_norm", "ffn.lin1", "ffn.lin2",
                             "output_layer_norm", "pre_classifier", "classifier", 0, "vocab_transform",
                             "vocab_layer_norm", "vocab_projector.bias"},
    [AXF_ARCH_ROBERTA] = {"roberta", "RobertaForSequenceClassification", "roberta.", "RoBERTa", BERT_ENCODER_NAMES,
                          "classifier.dense", "classifier.out_proj", 0, "lm_head.dense", "lm_head.layer_norm",
                          "lm_head.bias"},
};

const arch_names *axf__names_of(const axf_config *c)
{
    return &axf__arch[(unsigned)c->arch <= AXF_ARCH_ROBERTA ? c->arch : AXF_ARCH_BERT];
}

/* tdesc.which of the word embeddings, which may be stored in int8 like a layer's matrices */
#define WHICH_EMBED AXF_W_COUNT

typedef struct {
    tdesc *d;
    int n, cap;
} tlist;

static void add(tlist *l, float **slot, int enc, int mlm, int kind, int64_t d0, int64_t d1,
                const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void add(tlist *l, float **slot, int enc, int mlm, int kind, int64_t d0, int64_t d1,
                const char *fmt, ...)
{
    l->d = axf_grow(l->d, sizeof *l->d, l->n, &l->cap, 64);
    tdesc *t = &l->d[l->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->slot = slot;
    t->enc = enc;
    t->mlm = mlm;
    t->kind = kind;
    t->ndim = d1 < 0 ? 1 : 2;
    t->shape[0] = d0;
    t->shape[1] = d1 < 0 ? 0 : d1;
    t->count = (size_t)d0 * (size_t)(d1 < 0 ? 1 : d1);
    t->layer = t->which = -1;
}


/* A Linear's weight [d0, d1] and bias [d0] (a LayerNorm's gain and bias [d0] when d1 < 0). */
static void add_wb(tlist *l, float **w, float **b, int enc, int mlm, int64_t d0, int64_t d1, const char *path)
{
    add(l, w, enc, mlm, d1 < 0 ? K_G : K_W, d0, d1, "%s.weight", path);
    add(l, b, enc, mlm, K_B, d0, -1, "%s.bias", path);
}

/* An encoder Linear (add_wb) whose weight is matrix `which` of layer `layer` (it may be int8). */
static void add_layer_wb(tlist *l, float **w, float **b, int64_t d0, int64_t d1, const char *path, int layer,
                         int which)
{
    add_wb(l, w, b, 1, 0, d0, d1, path);
    l->d[l->n - 2].layer = layer;
    l->d[l->n - 2].which = which;
}

/* Every tensor of m (shape from m->cfg), in checkpoint order, named as m->cfg.arch's checkpoints
 * name them. Layers with nh == 0 have no attention tensors except their LayerNorm; layers with
 * f == 0 no FFN tensors except theirs. */
static tlist model_tensors(axf_model *m, int with_mlm)
{
    const axf_config *c = &m->cfg;
    const arch_names *a = axf__names_of(c);
    int64_t H = c->hidden, HS = c->head_dim;
    tlist l = {0};
    add(&l, &m->word_emb, 1, 0, K_W, c->vocab_size, H, "%s.weight", a->word);
    l.d[l.n - 1].which = WHICH_EMBED;
    add(&l, &m->pos_emb, 1, 0, K_W, c->max_pos, H, "%s.weight", a->pos);
    if (c->type_vocab > 0)
        add(&l, &m->type_emb, 1, 0, K_W, c->type_vocab, H, "%s.weight", a->type);
    add_wb(&l, &m->emb_ln_g, &m->emb_ln_b, 1, 0, H, -1, a->emb_ln);
    for (int i = 0; i < c->n_layers; i++) {
        axf_layer *y = &m->layers[i];
        int64_t A = (int64_t)c->layer_heads[i] * HS, F = c->layer_ffn[i];
        char q[160], k[160], v[160], o[160], ln1[160], w1[160], w2[160], ln2[160];
        snprintf(q, sizeof q, "%s.%d.%s", a->layer, i, a->q);
        snprintf(k, sizeof k, "%s.%d.%s", a->layer, i, a->k);
        snprintf(v, sizeof v, "%s.%d.%s", a->layer, i, a->v);
        snprintf(o, sizeof o, "%s.%d.%s", a->layer, i, a->o);
        snprintf(ln1, sizeof ln1, "%s.%d.%s", a->layer, i, a->ln1);
        snprintf(w1, sizeof w1, "%s.%d.%s", a->layer, i, a->w1);
        snprintf(w2, sizeof w2, "%s.%d.%s", a->layer, i, a->w2);
        snprintf(ln2, sizeof ln2, "%s.%d.%s", a->layer, i, a->ln2);
        if (A > 0) {
            add_layer_wb(&l, &y->wq, &y->bq, A, H, q, i, AXF_W_Q);
            add_layer_wb(&l, &y->wk, &y->bk, A, H, k, i, AXF_W_K);
            add_layer_wb(&l, &y->wv, &y->bv, A, H, v, i, AXF_W_V);
            add_layer_wb(&l, &y->wo, &y->bo, H, A, o, i, AXF_W_O);
        }
        add_wb(&l, &y->ln1_g, &y->ln1_b, 1, 0, H, -1, ln1);
        if (F > 0) {
            add_layer_wb(&l, &y->w1, &y->b1, F, H, w1, i, AXF_W_1);
            add_layer_wb(&l, &y->w2, &y->b2, H, F, w2, i, AXF_W_2);
        }
        add_wb(&l, &y->ln2_g, &y->ln2_b, 1, 0, H, -1, ln2);
    }
    add_wb(&l, &m->pool_w, &m->pool_b, a->head_enc, 0, H, H, a->head);
    add_wb(&l, &m->cls_w, &m->cls_b, 0, 0, c->num_labels, H, a->cls);
    if (with_mlm) {
        add_wb(&l, &m->mlm_w, &m->mlm_b, 0, 1, H, H, a->mlm_dense);
        add_wb(&l, &m->mlm_ln_g, &m->mlm_ln_b, 0, 1, H, -1, a->mlm_ln);
        add(&l, &m->mlm_bias, 0, 1, K_B, c->vocab_size, -1, "%s", a->mlm_bias);
    }
    return l;
}

char *axf_model_weights_path(const char *dir)
{
    char *st = axf_io_join(dir, "model.safetensors");
    if (access(st, F_OK) != 0) {
        char *bin = axf_io_join(dir, "pytorch_model.bin");
        if (access(bin, F_OK) == 0) {
            free(st);
            return bin;
        }
        free(bin);
    }
    return st;
}

axf_model *axf_model_new(const axf_config *cfg, int with_mlm, axf_err *err)
{
    if (axf__config_check(cfg, "config", err) != 0)
        return NULL;
    axf_model *m = axf_xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    tlist l = model_tensors(m, with_mlm);
    size_t total = 0;
    for (int i = 0; i < l.n; i++)
        total += l.d[i].count;
    m->arena = axf_xcalloc_big(total, sizeof(float));
    m->n_floats = total;
    size_t off = 0;
    for (int i = 0; i < l.n; i++) {
        *l.d[i].slot = m->arena + off;
        off += l.d[i].count;
    }
    free(l.d);
    for (int i = 0; i < cfg->n_layers; i++) {
        m->layers[i].nh = cfg->layer_heads[i];
        m->layers[i].f = cfg->layer_ffn[i];
    }
    return m;
}

void axf_qmat_free(axf_qmat *q)
{
    AXF_FREE(q->q, q->scale);
    q->q = NULL;
    q->scale = NULL;
}

void axf_model_free(axf_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->cfg.n_layers; i++)
        for (int w = 0; w < AXF_W_COUNT; w++)
            axf_qmat_free(&m->layers[i].q8[w]);
    axf_qmat_free(&m->word_q8);
    free(m->arena);
    free(m);
}

/* Shape [N, K] and float32 data of matrix `which` of layer li. */
static float *weight_of(const axf_model *m, int li, int which, int *N, int *K)
{
    const axf_config *c = &m->cfg;
    const axf_layer *y = &m->layers[li];
    int H = c->hidden, A = c->layer_heads[li] * c->head_dim, F = c->layer_ffn[li];
    switch (which) {
    case AXF_W_Q: *N = A, *K = H; return y->wq;
    case AXF_W_K: *N = A, *K = H; return y->wk;
    case AXF_W_V: *N = A, *K = H; return y->wv;
    case AXF_W_O: *N = H, *K = A; return y->wo;
    case AXF_W_1: *N = F, *K = H; return y->w1;
    default: *N = H, *K = F; return y->w2;
    }
}

/* q[N, K] · scale[N] into w, row by row (the float32 values of an int8 matrix) */
static void dequant(float *w, const int8_t *q, const float *scale, int N, int K)
{
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            w[(size_t)n * K + k] = (float)q[(size_t)n * K + k] * scale[n];
}

static void qmat_copy(axf_qmat *d, const int8_t *q, const float *scale, int N, int K)
{
    if (!d->q) {
        d->q = axf_xmalloc((size_t)N * K);
        d->scale = axf_xmalloc((size_t)N * sizeof(float));
    }
    memcpy(d->q, q, (size_t)N * K);
    memcpy(d->scale, scale, (size_t)N * sizeof(float));
}

void axf_model_set_int8(axf_model *m, int layer, int which, const int8_t *q, const float *scale)
{
    int N, K;
    float *w = weight_of(m, layer, which, &N, &K);
    AXF_ASSERT(w && N > 0 && K > 0);
    qmat_copy(&m->layers[layer].q8[which], q, scale, N, K);
    dequant(w, q, scale, N, K);
}

void axf_model_set_int8_embed(axf_model *m, const int8_t *q, const float *scale)
{
    int V = m->cfg.vocab_size, H = m->cfg.hidden;
    qmat_copy(&m->word_q8, q, scale, V, H);
    dequant(m->word_emb, q, scale, V, H);
}

int axf_model_has_int8(const axf_model *m, int layer, int block)
{
    const axf_layer *y = &m->layers[layer];
    return block == 0 ? y->q8[AXF_W_Q].q != NULL : y->q8[AXF_W_1].q != NULL;
}

axf_model *axf_model_clone(const axf_model *m, axf_err *err)
{
    axf_model *c = axf_model_new(&m->cfg, m->mlm_bias != NULL, err);
    if (!c)
        return NULL;
    AXF_ASSERT(c->n_floats == m->n_floats);
    memcpy(c->arena, m->arena, m->n_floats * sizeof(float));
    for (int i = 0; i < m->cfg.n_layers; i++)
        for (int w = 0; w < AXF_W_COUNT; w++) {
            const axf_qmat *s = &m->layers[i].q8[w];
            int N, K;
            weight_of(m, i, w, &N, &K);
            if (s->q)
                qmat_copy(&c->layers[i].q8[w], s->q, s->scale, N, K);
        }
    if (m->word_q8.q)
        qmat_copy(&c->word_q8, m->word_q8.q, m->word_q8.scale, m->cfg.vocab_size, m->cfg.hidden);
    return c;
}

void axf_model_init_random(axf_model *m, uint64_t seed)
{
    axf_rng r;
    axf_rng_seed(&r, seed);
    tlist l = model_tensors(m, m->mlm_bias != NULL);
    for (int i = 0; i < l.n; i++) {
        float *p = *l.d[i].slot;
        for (size_t k = 0; k < l.d[i].count; k++)
            p[k] = l.d[i].kind == K_W ? 0.02f * axf_rng_normal(&r) : l.d[i].kind == K_G ? 1.0f : 0.0f;
    }
    free(l.d);
}

size_t axf_model_params(const axf_model *m)
{
    tlist l = model_tensors((axf_model *)m, 0);
    size_t n = 0;
    for (int i = 0; i < l.n; i++)
        n += l.d[i].count;
    free(l.d);
    return n;
}

/* b with an [N, K] matrix counted in int8 rather than float32: 1 byte a weight, 4 a row scale */
static size_t int8_bytes(size_t b, int N, int K)
{
    return b - (size_t)N * K * (sizeof(float) - 1) + (size_t)N * sizeof(float);
}

size_t axf_model_bytes(const axf_model *m)
{
    size_t b = axf_model_params(m) * sizeof(float);
    for (int i = 0; i < m->cfg.n_layers; i++)
        for (int w = 0; w < AXF_W_COUNT; w++)
            if (m->layers[i].q8[w].q) {
                int N, K;
                weight_of(m, i, w, &N, &K);
                b = int8_bytes(b, N, K);
            }
    if (m->word_q8.q)
        b = int8_bytes(b, m->cfg.vocab_size, m->cfg.hidden);
    return b;
}

double axf_model_flops_per_token(const axf_model *m, int n)
{
    const axf_config *c = &m->cfg;
    double H = c->hidden, fl = 0;
    if (n < 1)
        n = 1;
    for (int i = 0; i < c->n_layers; i++) {
        double A = (double)c->layer_heads[i] * c->head_dim, F = c->layer_ffn[i];
        fl += 2.0 * (3.0 * H * A + A * H);  /* Q, K, V, output projection */
        fl += 2.0 * 2.0 * (double)n * A;    /* scores QK^T and probabilities x V */
        fl += 2.0 * 2.0 * H * F;            /* FFN up and down */
    }
    fl += 2.0 * (H * H + H * c->num_labels) / n; /* pooler + classifier, once per sequence */
    return fl;
}

/* ---------- model.safetensors ---------- */

static const axf_st_tensor *find_tensor(const axf_st_file *f, const char *prefix, const tdesc *d,
                                        char *full, size_t fullsz)
{
    snprintf(full, fullsz, "%s%s", d->enc ? prefix : "", d->name);
    const axf_st_tensor *t = axf_st_find(f, full);
    if (t)
        return t;
    /* old TensorFlow-converted checkpoints */
    size_t n = strlen(full);
    char alt[128];
    if (n >= 16 && strcmp(full + n - 16, "LayerNorm.weight") == 0) {
        snprintf(alt, sizeof alt, "%.*sLayerNorm.gamma", (int)(n - 16), full);
        t = axf_st_find(f, alt);
    } else if (n >= 14 && strcmp(full + n - 14, "LayerNorm.bias") == 0) {
        snprintf(alt, sizeof alt, "%.*sLayerNorm.beta", (int)(n - 14), full);
        t = axf_st_find(f, alt);
    }
    return t;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t p = 0;
    buf[0] = 0;
    for (int i = 0; i < ndim && p + 24 < n; i++)
        p += (size_t)snprintf(buf + p, n - p, "%s%lld", i ? ", " : "", (long long)shape[i]);
}

/* The checkpoint's tensor for d, when present with the shape the config gives. */
static const axf_st_tensor *match_tensor(const axf_st_file *f, const char *prefix, const tdesc *d,
                                         const char *st_path, axf_err *err)
{
    char full[128], s1[64], s2[160];
    const axf_st_tensor *t = find_tensor(f, prefix, d, full, sizeof full);
    if (!t) {
        axf_err_set(err, "%s: missing tensor '%s'", st_path, full);
        return NULL;
    }
    int same = t->ndim == d->ndim;
    for (int k = 0; same && k < d->ndim; k++)
        same = t->shape[k] == d->shape[k];
    if (!same) {
        shape_str(s1, sizeof s1, d->ndim, d->shape);
        shape_str(s2, sizeof s2, t->ndim, t->shape);
        axf_err_set(err, "%s: tensor '%s': shape [%s] expected from config.json, found [%s]",
                    st_path, t->name, s1, s2);
        return NULL;
    }
    return t;
}

/* Tensors a bare encoder checkpoint (BertModel, BertForPreTraining) may lack. */
static int optional_head(const axf_model *m, const tdesc *d)
{
    return d->slot == &m->pool_w || d->slot == &m->pool_b || d->slot == &m->cls_w || d->slot == &m->cls_b;
}

/* The pooler is absent from some encoder checkpoints (add_pooling_layer=False); the classifier from
 * every one that was not fine-tuned for classification. */
static int skip(const axf_model *m, const tdesc *d, int has_cls, int has_pool)
{
    if (!optional_head(m, d))
        return 0;
    return (d->slot == &m->cls_w || d->slot == &m->cls_b) ? !has_cls : !has_pool;
}

/* name is a tensor of module path (path + "."). */
static int starts_module(const char *name, const char *path)
{
    size_t n = strlen(path);
    return strncmp(name, path, n) == 0 && name[n] == '.';
}

/* A checkpoint tensor of a part config.json says is not there (a removed attention or FFN block, a
 * dropped layer): refused, or a stale config.json would run a different model than the weights. */
static int stray_layer_tensor(const axf_st_file *f, const char *prefix, const axf_config *c, const char *st_path,
                              axf_err *err)
{
    const arch_names *a = axf__names_of(c);
    char lead[64];
    size_t ln = (size_t)snprintf(lead, sizeof lead, "%s%s.", prefix, a->layer);
    for (int k = 0; k < f->n; k++) {
        const char *name = f->t[k].name;
        if (strncmp(name, lead, ln) != 0 || name[ln] < '0' || name[ln] > '9')
            continue;
        char *rest;
        long i = strtol(name + ln, &rest, 10);
        if (*rest != '.')
            continue;
        rest++;
        char shown[96];
        axf_escape_str(shown, sizeof shown, name);
        if (i >= c->n_layers)
            return axf_err_set(err, "%s: tensor '%s' is of layer %ld, but config.json has %d layers", st_path,
                               shown, i, c->n_layers);
        int attn = starts_module(rest, a->q) || starts_module(rest, a->k) || starts_module(rest, a->v) ||
                   starts_module(rest, a->o);
        int ffn = starts_module(rest, a->w1) || starts_module(rest, a->w2);
        if ((attn && c->layer_heads[i] == 0) || (ffn && c->layer_ffn[i] == 0))
            return axf_err_set(err, "%s: tensor '%s' is present, but config.json says layer %ld has no %s block "
                               "(%s)", st_path, shown, i, attn ? "attention" : "FFN",
                               attn ? "axf_layer_heads" : "axf_layer_ffn");
    }
    return 0;
}

/* The folder's weights: model.safetensors, else pytorch_model.bin (torchbin.h). *path is set to
 * the file used, for messages. */
static axf_st_file *open_weights(const char *dir, char **path, axf_err *err)
{
    *path = axf_model_weights_path(dir);
    if (access(*path, F_OK) != 0) {
        /* what else a Hugging Face folder may hold instead, named in the refusal */
        static const char *const other[][2] = {
            {"model.safetensors.index.json", "a sharded checkpoint"},
            {"pytorch_model.bin.index.json", "a sharded checkpoint"},
            {"tf_model.h5", "a TensorFlow checkpoint"},
            {"flax_model.msgpack", "a Flax checkpoint"},
        };
        for (size_t k = 0; k < sizeof other / sizeof other[0]; k++) {
            char *o = axf_io_join(dir, other[k][0]);
            int there = access(o, F_OK) == 0;
            free(o);
            if (there) {
                axf_err_set(err, "%s: no model.safetensors or pytorch_model.bin, only %s (%s), which is not read: "
                            "load it with transformers and save it as one file, save_pretrained(DIR, "
                            "max_shard_size=\"100GB\")", dir, other[k][0], other[k][1]);
                return NULL;
            }
        }
        axf_err_set(err, "%s: no model.safetensors or pytorch_model.bin", dir);
        return NULL;
    }
    size_t n = strlen(*path);
    if (n >= 4 && strcmp(*path + n - 4, ".bin") == 0)
        return axf_torchbin_open(*path, err);
    return axf_st_open(*path, err);
}

/* Matrix d (a layer's or the word embeddings) stored as I8 (t) with its F32 scales "<name>_scale"
 * [N]: checked (values in [-127, 127], scales finite, >= 0 and small enough that 127 x scale is
 * finite) and kept in m as its int8 form, the float32 matrix set to q x scale
 * (axf_model_set_int8, axf_model_set_int8_embed). */
static int read_int8(axf_model *m, const axf_st_file *f, const tdesc *d, const axf_st_tensor *t, const char *st_path,
                     axf_err *err)
{
    char sname[160], shown[200];
    snprintf(sname, sizeof sname, "%s_scale", t->name);
    const axf_st_tensor *s = axf_st_find(f, sname);
    int64_t N = d->shape[0];
    if (!s || s->dtype != AXF_DT_F32 || s->ndim != 1 || s->shape[0] != N)
        return axf_err_set(err, "%s: tensor '%s' is int8 but '%s' (F32 [%lld], one scale per row) is %s", st_path,
                           axf_escape_str(shown, sizeof shown, t->name), axf_escape_str(shown + 100, 100, sname),
                           (long long)N, s ? "of another dtype or shape" : "missing");
    const int8_t *q = (const int8_t *)t->data;
    for (size_t k = 0; k < d->count; k++)
        if (q[k] < -127)
            return axf_err_set(err, "%s: tensor '%s': int8 value %d at element %zu (int8 weights lie in "
                               "[-127, 127])", st_path, axf_escape_str(shown, sizeof shown, t->name), q[k], k);
    float *sc = axf_xmalloc(sizeof(float) * (size_t)N + 1);
    memcpy(sc, s->data, sizeof(float) * (size_t)N);
    for (int64_t n = 0; n < N; n++)
        if (!(sc[n] >= 0) || !isfinite(127.0f * sc[n])) {
            axf_err_set(err, "%s: tensor '%s': scale %g at row %lld (must be finite and >= 0)", st_path,
                        axf_escape_str(shown, sizeof shown, sname), (double)sc[n], (long long)n);
            free(sc);
            return -1;
        }
    if (d->which == WHICH_EMBED)
        axf_model_set_int8_embed(m, q, sc);
    else
        axf_model_set_int8(m, d->layer, d->which, q, sc);
    free(sc);
    return 0;
}

/* int8 comes per block: the four attention matrices of a layer, or its two FFN ones, all or none. */
static int check_int8_blocks(const axf_model *m, const char *st_path, axf_err *err)
{
    static const char *const names[AXF_W_COUNT] = {"query", "key", "value", "attention output", "intermediate",
                                                   "output"};
    for (int i = 0; i < m->cfg.n_layers; i++)
        for (int b = 0; b < 2; b++) {
            int w0 = b ? AXF_W_1 : AXF_W_Q, w1 = b ? AXF_W_2 : AXF_W_O;
            for (int w = w0 + 1; w <= w1; w++)
                if ((m->layers[i].q8[w].q != NULL) != (m->layers[i].q8[w0].q != NULL))
                    return axf_err_set(err, "%s: layer %d: the %s weight is %s but the %s weight is %s (int8 "
                                       "comes per block: all of the attention's four matrices, both of the FFN's)",
                                       st_path, i, names[w0], m->layers[i].q8[w0].q ? "int8" : "float",
                                       names[w], m->layers[i].q8[w0].q ? "float" : "int8");
        }
    return 0;
}

/* The prefix of the checkpoint's tensor names ("bert." or ""), found from the word embeddings;
 * NULL with err when they are absent (naming the architecture the names are of, if another). */
static const char *name_prefix(const axf_st_file *f, const axf_config *cfg, const char *st_path, axf_err *err)
{
    const arch_names *a = axf__names_of(cfg);
    char word[96];
    snprintf(word, sizeof word, "%s%s.weight", a->prefix, a->word);
    if (axf_st_find(f, word))
        return a->prefix;
    if (axf_st_find(f, word + strlen(a->prefix)))
        return "";
    const char *other = NULL;
    for (int k = 0; k <= AXF_ARCH_ROBERTA && !other; k++) {
        char w[96];
        snprintf(w, sizeof w, "%s%s.weight", axf__arch[k].prefix, axf__arch[k].word);
        if (k != (int)cfg->arch && axf_st_find(f, w))
            other = axf__arch[k].title;
    }
    axf_err_set(err, "%s: no %s: not a %s checkpoint as config.json's model_type says%s%s", st_path, word, a->title,
                other ? "; its names are " : "", other ? other : "");
    return NULL;
}

/* Every tensor the model of cfg needs is in f with its shape, and no layer tensor is left over.
 * Checked before the arena is allocated: the checkpoint bounds the model's size, so a config.json
 * claiming a huge model fails here instead of aborting on OOM. */
static int check_shapes(const axf_st_file *f, const axf_config *cfg, const char *prefix, int with_mlm, int has_cls,
                        int has_pool, const char *st_path, axf_err *err)
{
    axf_model *shape_only = axf_xcalloc(1, sizeof *shape_only);
    shape_only->cfg = *cfg;
    tlist l = model_tensors(shape_only, with_mlm);
    int bad = 0;
    for (int i = 0; i < l.n && !bad; i++)
        if (!skip(shape_only, &l.d[i], has_cls, has_pool))
            bad = match_tensor(f, prefix, &l.d[i], st_path, err) == NULL;
    free(l.d);
    free(shape_only);
    return bad || stray_layer_tensor(f, prefix, cfg, st_path, err) ? -1 : 0;
}

/* The tensors of f into m's arena (float ones checked finite), then the int8 blocks checked. */
static int read_tensors(axf_model *m, const axf_st_file *f, const char *prefix, int with_mlm, int has_cls,
                        int has_pool, const char *st_path, axf_err *err)
{
    tlist l = model_tensors(m, with_mlm);
    int rc = 0;
    for (int i = 0; i < l.n && !rc; i++) {
        const tdesc *d = &l.d[i];
        if (skip(m, d, has_cls, has_pool))
            continue; /* left as axf_model_new made it: zeros */
        const axf_st_tensor *t = match_tensor(f, prefix, d, st_path, err);
        if (!t) {
            rc = -1;
        } else if (d->which >= 0 && t->dtype == AXF_DT_I8) {
            rc = read_int8(m, f, d, t, st_path, err);
        } else if (axf_st_read_f32(t, *d->slot, d->count, err) != 0) {
            rc = axf_err_prefix(err, "%s", st_path);
        } else {
            const float *p = *d->slot;
            for (size_t k = 0; k < d->count && !rc; k++)
                if (!isfinite(p[k]))
                    rc = axf_err_set(err, "%s: tensor '%s': %s at element %zu", st_path, t->name,
                                     isnan(p[k]) ? "NaN" : "Inf", k);
        }
    }
    free(l.d);
    return rc ? rc : check_int8_blocks(m, st_path, err);
}

static axf_model *load(const char *dir, int need_head, int *found, axf_err *err)
{
    char *cfg_path = axf_io_join(dir, "config.json");
    char *tok_path = axf_io_join(dir, "tokenizer_config.json");
    char *st_path = NULL;
    axf_model *m = NULL;
    axf_st_file *f = NULL;
    axf_config cfg;
    const char *prefix;
    if (axf__config_load(cfg_path, tok_path, &cfg, err) || !(f = open_weights(dir, &st_path, err)) ||
        !(prefix = name_prefix(f, &cfg, st_path, err)))
        goto fail;
    const arch_names *a = axf__names_of(&cfg);
    char head[96], cls[96], mlm[96];
    snprintf(head, sizeof head, "%s%s.weight", a->head_enc ? prefix : "", a->head);
    snprintf(cls, sizeof cls, "%s.weight", a->cls);
    snprintf(mlm, sizeof mlm, "%s", a->mlm_bias);
    int has_cls = axf_st_find(f, cls) != NULL, has_pool = axf_st_find(f, head) != NULL;
    if (need_head && !has_cls) {
        axf_err_set(err, "%s: no %s: not a sequence-classification checkpoint (an encoder "
                    "checkpoint can be fine-tuned: axf finetune --init)", st_path, cls);
        goto fail;
    }
    if (found)
        *found = (has_cls ? AXF_LOAD_CLASSIFIER : 0) | (has_pool ? AXF_LOAD_POOLER : 0);
    int with_mlm = axf_st_find(f, mlm) != NULL;
    if (check_shapes(f, &cfg, prefix, with_mlm, has_cls, has_pool, st_path, err))
        goto fail;
    m = axf_model_new(&cfg, with_mlm, err);
    if (!m) {
        axf_err_prefix(err, "%s", cfg_path);
        goto fail;
    }
    if (read_tensors(m, f, prefix, with_mlm, has_cls, has_pool, st_path, err))
        goto fail;
    axf_st_close(f);
    AXF_FREE(cfg_path, tok_path, st_path);
    return m;
fail:
    axf_model_free(m);
    axf_st_close(f);
    AXF_FREE(cfg_path, tok_path, st_path);
    return NULL;
}

axf_model *axf_model_load(const char *dir, axf_err *err)
{
    return load(dir, 1, NULL, err);
}

axf_model *axf_model_load_encoder(const char *dir, int *found, axf_err *err)
{
    axf_model *m = load(dir, 0, found, err);
    /* training changes the float32 weights: the int8 forms would go stale (the float32 matrices
     * keep the dequantized values) */
    for (int i = 0; m && i < m->cfg.n_layers; i++)
        for (int w = 0; w < AXF_W_COUNT; w++)
            axf_qmat_free(&m->layers[i].q8[w]);
    if (m)
        axf_qmat_free(&m->word_q8);
    return m;
}

int axf_model_save(const axf_model *m, const char *dir, axf_err *err)
{
    if (axf__config_check(&m->cfg, dir, err) != 0)
        return -1;
    if (axf_io_mkdir_p(dir, err) != 0)
        return -1;
    char *cfg_path = axf_io_join(dir, "config.json");
    char *tok_path = axf_io_join(dir, "tokenizer_config.json");
    char *st_path = axf_io_join(dir, "model.safetensors");
    int rc = -1;

    /* walk a shallow copy so the table's slots can be read without casting away const */
    axf_model view = *m;
    tlist l = model_tensors(&view, m->mlm_bias != NULL);
    /* at most one scale tensor per matrix besides */
    axf_st_entry *e = axf_xcalloc((size_t)l.n * 2, sizeof *e);
    char (*names)[128] = axf_xcalloc((size_t)l.n * 2, sizeof *names);
    int ne = 0;
    for (int i = 0; i < l.n; i++) {
        const tdesc *d = &l.d[i];
        const axf_qmat *q8 = d->which == WHICH_EMBED ? &m->word_q8
                             : d->which >= 0       ? &m->layers[d->layer].q8[d->which]
                                                   : NULL;
        snprintf(names[ne], sizeof names[ne], "%s%s", d->enc ? axf__names_of(&m->cfg)->prefix : "", d->name);
        e[ne].name = names[ne];
        e[ne].data = q8 && q8->q ? (const void *)q8->q : (const void *)*d->slot;
        e[ne].dtype = q8 && q8->q ? AXF_DT_I8 : AXF_DT_F32;
        e[ne].ndim = d->ndim;
        e[ne].shape[0] = d->shape[0];
        e[ne].shape[1] = d->shape[1];
        ne++;
        if (q8 && q8->q) {
            snprintf(names[ne], sizeof names[ne], "%s%s_scale", d->enc ? axf__names_of(&m->cfg)->prefix : "", d->name);
            e[ne].name = names[ne];
            e[ne].data = q8->scale;
            e[ne].ndim = 1;
            e[ne].shape[0] = d->shape[0];
            ne++;
        }
    }
    if (axf_st_write(st_path, e, ne, err) != 0)
        goto out;
    if (axf__config_save(&m->cfg, cfg_path, tok_path, err))
        goto out;
    rc = 0;
out:
    free(names);
    free(e);
    free(l.d);
    free(cfg_path);
    free(tok_path);
    free(st_path);
    return rc;
}
