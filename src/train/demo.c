/* The teaching demo's embedded default: the synthetic task of demo.h and its model, trained from
 * scratch. Sentences are generated straight as token ids of the task's own vocabulary (words
 * separated by spaces, no punctuation), which is exactly what the WordPiece tokenizer gives for
 * them, so training needs no tokenizer. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/demo.h"
#include "axf/train.h"
#include "internal.h"

static const char *const POS[] = {"good", "great", "fun", "brilliant", "charming", "superb", "lovely", "clever"};
static const char *const NEG[] = {"bad", "dull", "awful", "boring", "clumsy", "bland", "weak", "tedious"};
static const char *const NEGATORS[] = {"not", "never"};
static const char *const INTENS[] = {"very", "really", "truly", "so"};
static const char *const CONJ[] = {"and", "but", "although"};
static const char *const FILL[] = {"the", "a", "this", "movie", "film", "story", "plot", "acting", "cast",
                                   "ending", "music", "script", "director", "was", "is", "seemed", "felt",
                                   "looked", "with", "of", "in", "its", "overall", "honestly", "it", "to",
                                   "me", "scenes", "characters", "dialogue"};
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *vocab_list[128];
static int vocab_n;

const char *const *axf_demo_vocab(int *n)
{
    if (!vocab_n) {
        static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
        int k = 0;
#define PUT(arr) for (int i = 0; i < NELEM(arr); i++) vocab_list[k++] = arr[i]
        PUT(specials);
        PUT(POS);
        PUT(NEG);
        PUT(NEGATORS);
        PUT(INTENS);
        PUT(CONJ);
        PUT(FILL);
#undef PUT
        vocab_n = k;
    }
    if (n)
        *n = vocab_n;
    return vocab_list;
}

static int vocab_id(const char *w)
{
    int n;
    const char *const *v = axf_demo_vocab(&n);
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], w))
            return i;
    return 1;
}

/* ---- generation ----------------------------------------------------------------------------- */

typedef struct {
    char buf[512];
    int len;
} sbuf;

static void put(sbuf *s, const char *w)
{
    int n = (int)strlen(w);
    if (s->len + n + 2 >= (int)sizeof s->buf)
        return;
    if (s->len)
        s->buf[s->len++] = ' ';
    memcpy(s->buf + s->len, w, (size_t)n);
    s->len += n;
    s->buf[s->len] = 0;
}

static void fill(sbuf *s, axf_rng *r, int lo, int hi)
{
    int k = lo + axf_rng_below(r, hi - lo + 1);
    for (int i = 0; i < k; i++)
        put(s, FILL[axf_rng_below(r, NELEM(FILL))]);
}

static int example(axf_rng *r, sbuf *s)
{
    int np = 1 + (axf_rng_uniform(r) < 0.5f), conj = axf_rng_below(r, NELEM(CONJ)), eff[2], label;
    eff[0] = axf_rng_uniform(r) < 0.5f ? 1 : -1;
    eff[1] = conj == 0 ? eff[0] : -eff[0]; /* "and" joins agreeing phrases, the others contrast */
    label = np == 2 && conj == 1 ? eff[1] > 0 : eff[0] > 0; /* "but": the second phrase decides */
    s->len = 0;
    s->buf[0] = 0;
    fill(s, r, 1, 4);
    for (int i = 0; i < np; i++) {
        if (i > 0) {
            put(s, CONJ[conj]);
            fill(s, r, 0, 2);
        }
        int neg = axf_rng_uniform(r) < 0.4f, word_pol = neg ? -eff[i] : eff[i];
        if (neg)
            put(s, NEGATORS[axf_rng_below(r, NELEM(NEGATORS))]);
        if (axf_rng_uniform(r) < 0.4f)
            put(s, INTENS[axf_rng_below(r, NELEM(INTENS))]);
        put(s, word_pol > 0 ? POS[axf_rng_below(r, NELEM(POS))] : NEG[axf_rng_below(r, NELEM(NEG))]);
        if (axf_rng_uniform(r) < 0.2f)
            put(s, NEGATORS[axf_rng_below(r, NELEM(NEGATORS))]);
        fill(s, r, 0, 3);
    }
    return label;
}

/* Open-addressing set of sentences, to keep the splits disjoint. */
typedef struct {
    char **slot;
    size_t cap, n;
} strset;

/* Returns 1 when added, 0 when already present. The set keeps the pointer. */
static int set_add(strset *st, char *s)
{
    if (2 * (st->n + 1) > st->cap) {
        strset g = {axf_xcalloc(st->cap ? 2 * st->cap : 1024, sizeof(char *)), st->cap ? 2 * st->cap : 1024, 0};
        for (size_t i = 0; i < st->cap; i++)
            if (st->slot[i])
                set_add(&g, st->slot[i]);
        free(st->slot);
        *st = g;
    }
    size_t i = axf_hash_fnv1a(s, strlen(s)) & (st->cap - 1);
    while (st->slot[i]) {
        if (!strcmp(st->slot[i], s))
            return 0;
        i = (i + 1) & (st->cap - 1);
    }
    st->slot[i] = s;
    st->n++;
    return 1;
}

static const int split_size[AXF_DEMO_NSPLITS] = {10000, 2000, 2000};

void axf_demo_generate(uint64_t seed, axf_demo_set *out[AXF_DEMO_NSPLITS])
{
    strset seen = {0};
    sbuf s;
    for (int k = 0; k < AXF_DEMO_NSPLITS; k++) {
        axf_rng r;
        axf_rng_seed(&r, seed * 3 + (uint64_t)k + 1);
        axf_demo_set *d = axf_xcalloc(1, sizeof *d);
        d->text = axf_xcalloc((size_t)split_size[k], sizeof(char *));
        d->label = axf_xcalloc((size_t)split_size[k], sizeof(int));
        while (d->n < split_size[k]) {
            int lab = example(&r, &s);
            char *t = axf_xstrdup(s.buf);
            /* train may repeat itself (that is just a more frequent sentence); the evaluation
             * splits must not meet train or each other */
            if (!set_add(&seen, t) && k != AXF_DEMO_TRAIN) {
                free(t);
                continue;
            }
            d->text[d->n] = t;
            d->label[d->n++] = lab;
        }
        out[k] = d;
    }
    free(seen.slot);
}

void axf_demo_set_free(axf_demo_set *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        free(s->text[i]);
    AXF_FREE(s->text, s->label, s);
}

/* [CLS] words [SEP] for every sentence of d. */
static axf_encoded *encode(const axf_demo_set *d)
{
    axf_encoded *e = axf_xcalloc(1, sizeof *e);
    size_t cap = 0;
    for (int i = 0; i < d->n; i++)
        cap += strlen(d->text[i]) / 2 + 3;
    e->n = d->n;
    e->ids = axf_xmalloc(cap * sizeof(int));
    e->types = axf_xcalloc(cap, sizeof(int));
    e->off = axf_xmalloc((size_t)(d->n + 1) * sizeof(int));
    e->labels = axf_xmalloc((size_t)d->n * sizeof(int));
    e->num_labels = 2;
    e->kind = AXF_TASK_CLASSIFY;
    int T = 0;
    char w[64];
    for (int i = 0; i < d->n; i++) {
        e->off[i] = T;
        e->ids[T++] = 2;
        for (const char *p = d->text[i]; *p;) {
            int k = 0;
            while (*p && *p != ' ' && k < 63)
                w[k++] = *p++;
            w[k] = 0;
            while (*p == ' ')
                p++;
            e->ids[T++] = vocab_id(w);
        }
        e->ids[T++] = 3;
        e->labels[i] = d->label[i];
        if (T - e->off[i] > e->max_len)
            e->max_len = T - e->off[i];
    }
    e->off[d->n] = T;
    return e;
}

static int write_tsv(const char *dir, const char *name, const axf_demo_set *d, axf_err *err)
{
    size_t cap = 32;
    for (int i = 0; i < d->n; i++)
        cap += strlen(d->text[i]) + 4;
    char *buf = axf_xmalloc(cap), *p = buf;
    p += sprintf(p, "sentence\tlabel\n");
    for (int i = 0; i < d->n; i++)
        p += sprintf(p, "%s\t%d\n", d->text[i], d->label[i]);
    char *path = axf_io_join(dir, name);
    int rc = axf_io_write_atomic(path, buf, (size_t)(p - buf), err);
    free(path);
    free(buf);
    return rc;
}

/* Training control: the user's progress hook, plus stopping an attempt once the search split is
 * learnt (TARGET) or when it is stuck (below GIVE_UP after GIVE_UP_EPOCHS). A small post-LN model
 * trained from scratch now and then sits on the bag-of-words solution (~70%) for a long time;
 * a fresh initialisation is cheaper than waiting. Everything stays a function of the seed. */
#define DEMO_EPOCHS 5
#define DEMO_ATTEMPTS 3
#define TARGET 0.995
#define GIVE_UP 0.90
#define GIVE_UP_EPOCHS 3

typedef struct {
    axf_progress_fn fn;
    void *ud;
    int user_cancel, steps_per_epoch;
    double best;
} demo_ctl;

static int on_progress(const axf_train_status *st, void *ud)
{
    demo_ctl *a = ud;
    if (a->fn && a->fn((double)st->step, (double)st->total_steps, a->ud)) {
        a->user_cancel = 1;
        return 1;
    }
    if (!st->evaluated)
        return 0;
    a->best = st->dev_metric > a->best ? st->dev_metric : a->best;
    if (a->best >= TARGET)
        return 1;
    return st->step >= (long)GIVE_UP_EPOCHS * a->steps_per_epoch && a->best < GIVE_UP;
}

int axf_demo_build_ex(const char *dir, uint64_t seed, axf_progress_fn fn, void *ud, axf_demo_result *res,
                      axf_err *err)
{
    axf_demo_set *sets[AXF_DEMO_NSPLITS] = {0};
    axf_encoded *enc[AXF_DEMO_NSPLITS] = {0};
    axf_model *m = NULL;
    char *mdir = axf_io_join(dir, "model");
    int rc = -1, nv;
    const char *const *vocab = axf_demo_vocab(&nv);
    axf_demo_result r;
    memset(&r, 0, sizeof r);

    if (axf_io_mkdir_p(mdir, err))
        goto out;
    axf_demo_generate(seed, sets);
    for (int k = 0; k < AXF_DEMO_NSPLITS; k++)
        enc[k] = encode(sets[k]);

    axf_config cfg = axf_config_default(nv, 64, 4, 4, 256, 2);
    cfg.max_pos = 64;
    snprintf(cfg.labels[0], sizeof cfg.labels[0], "negative");
    snprintf(cfg.labels[1], sizeof cfg.labels[1], "positive");
    m = axf_model_new(&cfg, 0, err);
    if (!m)
        goto out;
    axf_train_opts o = axf_train_opts_default(); /* its batch of 32, warm-up, decay, hidden dropout */
    o.epochs = DEMO_EPOCHS;
    o.lr = 1e-3f;
    o.attn_dropout = 0.0f;
    o.save_last = 0;
    int nb = (enc[AXF_DEMO_TRAIN]->n + o.batch_size - 1) / o.batch_size;
    o.eval_every = nb / 2;
    demo_ctl ctl = {fn, ud, 0, nb, 0};
    /* One thread: faster for matrices this small (the model is the same at any thread count). */
    int threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    double t0 = axf_now(), best_acc = -1, t_train = 0;
    long tokens = 0;
    float *best = axf_xmalloc(m->n_floats * sizeof(float));
    int frc = 0;
    for (int a = 0; a < DEMO_ATTEMPTS && best_acc < TARGET; a++) {
        axf_train_result tr;
        axf_model_init_random(m, seed + 1000003ULL * (uint64_t)a);
        o.seed = seed + (uint64_t)a;
        ctl.best = 0;
        frc = axf_finetune_run(m, enc[AXF_DEMO_TRAIN], enc[AXF_DEMO_SEARCH], &o, NULL, NULL, on_progress, &ctl,
                               &tr, err);
        if (frc || ctl.user_cancel)
            break;
        r.steps += tr.steps;
        tokens += tr.tokens;
        t_train += tr.tokens_per_s > 0 ? tr.tokens / tr.tokens_per_s : 0;
        if (tr.best_metric > best_acc) {
            best_acc = tr.best_metric;
            memcpy(best, m->arena, m->n_floats * sizeof(float));
        }
    }
    openblas_set_num_threads(threads);
    memcpy(m->arena, best, m->n_floats * sizeof(float));
    free(best);
    if (frc)
        goto out;
    if (ctl.user_cancel) {
        axf_err_set(err, "demo build cancelled");
        goto out;
    }
    r.train_seconds = axf_now() - t0;
    r.tokens_per_s = t_train > 0 ? tokens / t_train : 0;
    double loss;
    if (axf_train_evaluate(m, enc[AXF_DEMO_SEARCH], 256, &loss, &r.search_acc, NULL, err) ||
        axf_train_evaluate(m, enc[AXF_DEMO_HELDOUT], 256, &loss, &r.heldout_acc, NULL, err))
        goto out;

    if (axf_model_save(m, mdir, err))
        goto out;
    /* vocab.txt: one token a line, id = line number */
    size_t cap = 16;
    for (int i = 0; i < nv; i++)
        cap += strlen(vocab[i]) + 1;
    char *vb = axf_xmalloc(cap), *p = vb;
    for (int i = 0; i < nv; i++)
        p += sprintf(p, "%s\n", vocab[i]);
    char *vpath = axf_io_join(mdir, "vocab.txt");
    int bad = axf_io_write_atomic(vpath, vb, (size_t)(p - vb), err);
    free(vpath);
    free(vb);
    if (bad || write_tsv(dir, "train.tsv", sets[0], err) || write_tsv(dir, "search.tsv", sets[1], err) ||
        write_tsv(dir, "heldout.tsv", sets[2], err))
        goto out;

    cJSON *j = cJSON_CreateObject();
    char sd[24];
    snprintf(sd, sizeof sd, "%" PRIu64, seed);
    cJSON_AddStringToObject(j, "format", "axf-demo");
    cJSON_AddNumberToObject(j, "version", 1);
    cJSON_AddStringToObject(j, "seed", sd);
    cJSON_AddNumberToObject(j, "train_seconds", r.train_seconds);
    cJSON_AddNumberToObject(j, "steps", (double)r.steps);
    cJSON_AddNumberToObject(j, "tokens_per_second", r.tokens_per_s);
    cJSON_AddNumberToObject(j, "train_examples", sets[0]->n);
    cJSON_AddNumberToObject(j, "search_examples", sets[1]->n);
    cJSON_AddNumberToObject(j, "heldout_examples", sets[2]->n);
    cJSON_AddNumberToObject(j, "search_accuracy", r.search_acc);
    cJSON_AddNumberToObject(j, "heldout_accuracy", r.heldout_acc);
    cJSON_AddStringToObject(j, "model", "4x64, 4 heads, FFN 256");
    char *txt = cJSON_Print(j);
    cJSON_Delete(j);
    char *jpath = axf_io_join(dir, "demo.json");
    rc = axf_io_write_atomic(jpath, txt, strlen(txt), err);
    free(jpath);
    free(txt);
out:
    if (res)
        *res = r;
    for (int k = 0; k < AXF_DEMO_NSPLITS; k++) {
        axf_demo_set_free(sets[k]);
        axf_encoded_free(enc[k]);
    }
    axf_model_free(m);
    free(mdir);
    return rc;
}

int axf_demo_build(const char *dir, uint64_t seed, axf_progress_fn fn, void *ud, axf_err *err)
{
    return axf_demo_build_ex(dir, seed, fn, ud, NULL, err);
}
