/* `axf pretrain`: masked-LM pre-training on plain text (one sentence a line) and on the sentence
 * columns of task files, with an optional vocabulary built from the corpus, and the removal of
 * every corpus sentence that also occurs in evaluation files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axf/data.h"
#include "axf/fileio.h"
#include "axf/train.h"
#include "cli.h"
#include "cmd_train_util.h"

static const char *usage =
    "usage: axf pretrain --out DIR (--text F | --text-latin1 F | --tsv F)...\n"
    "                    (--vocab FILE | --vocab-size N [--vocab-from FILE]) [options]\n"
    "\n"
    "Masked-LM pre-training (15% of tokens predicted: 80% [MASK], 10% random, 10% kept) of a\n"
    "BERT, DistilBERT or RoBERTa encoder from scratch. Writes DIR/config.json, model.safetensors\n"
    "(with the masked-LM head, in the architecture's Hugging Face naming), the tokenizer's files\n"
    "(vocab.txt, or vocab.json + merges.txt) at every evaluation, DIR/last (resume point) and\n"
    "DIR/train_log.tsv. `axf finetune --init DIR` makes a classifier of it.\n"
    "\n";

#define MAX_SRC 32

typedef enum { SRC_TEXT, SRC_LATIN1, SRC_TSV } src_kind;

typedef struct {
    const char *path[MAX_SRC];
    src_kind kind[MAX_SRC];
    int n;
    const char *exclude[MAX_SRC];
    int n_ex;
    const char *out, *vocab, *vocab_from;
    int vocab_size, max_pos, arch; /* arch: an axf_arch */
    float dev_frac;
    axf_cli_train c;
} pt_args;

static int add_src(const char *cmd, pt_args *a, const char *v, src_kind k)
{
    if (a->n == MAX_SRC)
        return axf_cli_usage(cmd, "too many corpus files");
    a->path[a->n] = v;
    a->kind[a->n++] = k;
    return 0;
}
static int text_opt(const char *cmd, const char *v, void *a) { return add_src(cmd, a, v, SRC_TEXT); }
static int latin1_opt(const char *cmd, const char *v, void *a) { return add_src(cmd, a, v, SRC_LATIN1); }
static int tsv_opt(const char *cmd, const char *v, void *a) { return add_src(cmd, a, v, SRC_TSV); }

static int arch_opt(const char *cmd, const char *v, void *target)
{
    for (int c = AXF_ARCH_BERT; c <= AXF_ARCH_ROBERTA; c++)
        if (!strcmp(v, axf_arch_name((axf_arch)c)))
            return *(int *)target = c, 0;
    return -1;
}

/* Returns 1 when the command goes on, else 0 and *status. */
static int parse(int argc, char **argv, pt_args *a, int *status)
{
    memset(a, 0, sizeof *a);
    axf_cli_train_init(&a->c);
    a->c.o.epochs = 10;
    a->c.o.batch_size = 64;
    a->c.o.lr = 5e-4f;
    a->c.o.warmup = 0.06f;
    a->max_pos = 512;
    a->dev_frac = 0.01f;
    axf_opt opts[] = {
        AXF_OPT_STR("--out", &a->out, "DIR", "where the model goes"),
        AXF_OPT_HEAD("corpus (repeatable, in this order):"),
        AXF_OPT_FN("--text", text_opt, a, NULL, "FILE", "UTF-8 text, one sentence a line"),
        AXF_OPT_FN("--text-latin1", latin1_opt, a, NULL, "FILE",
                   "Latin-1 (Windows-1252) text, one sentence a line (e.g. rt-polarity)"),
        AXF_OPT_FN("--tsv", tsv_opt, a, NULL, "FILE",
                   "the sentence columns of a task file (GLUE TSV, stsa, ...); labels unused"),
        AXF_OPT_LIST("--exclude", a->exclude, &a->n_ex, MAX_SRC, "FILE",
                     "drop every corpus line that, normalised (lower case, letters and digits\n"
                     "only), equals or contains a sentence of this task file, or has a\n"
                     "sentence (cut at . ! ? ; :) equal to one (repeatable); the counts\n"
                     "dropped are printed per corpus file"),
        AXF_OPT_FLOAT("--dev-frac", &a->dev_frac, 0, 0.5, "F",
                      "share of sentences held out to score masked-LM loss (default {})"),
        AXF_OPT_HEAD("vocabulary (BERT, DistilBERT: WordPiece; RoBERTa: byte-level BPE):"),
        AXF_OPT_STR("--vocab", &a->vocab, "FILE",
                    "use this vocab.txt as it is (RoBERTa: this vocab.json, merges.txt\n"
                    "beside it), or build one from the corpus:"),
        AXF_OPT_INT("--vocab-size", &a->vocab_size, 1, 10000000, "N",
                    "with --vocab-from BASE: BASE cut to the pieces the corpus uses, most\n"
                    "frequent first, all single characters kept; without: built from scratch\n"
                    "(RoBERTa: the 256 bytes, N - 261 merges learnt from the corpus, most\n"
                    "frequent pair first, and <s> <pad> </s> <unk> <mask>)"),
        AXF_OPT_STR("--vocab-from", &a->vocab_from, "BASE", "the vocab.txt --vocab-size cuts"),
        AXF_OPT_HEAD("model:"),
        AXF_OPT_FN("--arch", arch_opt, &a->arch, "bert, distilbert or roberta", "bert|distilbert|roberta",
                   "(bert): DistilBERT has no token types and a ReLU head; RoBERTa\n"
                   "numbers positions from <pad>'s id + 1"),
        AXF_OPT_TABLE(a->c.shape),
        AXF_OPT_INT("--max-len", &a->c.max_len, 3, 100000000, "N", "tokens a sentence ({})"),
        AXF_OPT_INT("--max-pos", &a->max_pos, 1, 100000, "N", "positions of the model ({})"),
        AXF_OPT_HEAD("training:"),
        AXF_OPT_TABLE(a->c.loop),
        AXF_OPT_FLOAT("--mlm-prob", &a->c.o.mlm_prob, 0, 0.95, "X", "share of the tokens predicted ({})"),
        AXF_OPT_END};
    axf_cmd_args args = {.cmd = "pretrain", .usage = usage, .footer = axf_cli_train_footer};
    if (!axf_opt_parse(&args, opts, argc, argv, status))
        return 0;
    const char *bad =
        !a->out ? "--out DIR is required"
        : !a->n ? "give at least one --text, --text-latin1 or --tsv file"
        : !a->vocab == !a->vocab_size ? "give either --vocab FILE or --vocab-size N"
        : a->vocab_from && !a->vocab_size ? "--vocab-from needs --vocab-size"
        : a->arch == AXF_ARCH_ROBERTA && a->vocab_from
            ? "--vocab-from is WordPiece's: RoBERTa learns its BPE from the corpus"
        : a->arch == AXF_ARCH_ROBERTA && a->vocab_size && a->vocab_size < 262
            ? "RoBERTa's --vocab-size is at least 262 (256 bytes, 5 specials, a merge)"
        : !(a->c.o.lr > 0) || !(a->c.o.mlm_prob > 0) ? "--lr and --mlm-prob must be positive"
        : a->c.hidden % a->c.heads ? "--hidden must be a multiple of --heads"
        : a->c.max_len > a->max_pos ? "--max-len exceeds --max-pos" : NULL;
    return axf_cli_train_ready("pretrain", bad, &a->c, a->out, NULL, 0, status);
}

/* A vocabulary file: vocab.txt, or (bpe) vocab.json with merges.txt in the same folder. */
static axf_vocab *load_vocab(const char *path, int bpe, axf_err *err)
{
    if (!bpe)
        return axf_vocab_load(path, err);
    const char *slash = strrchr(path, '/');
    char merges[4096];
    snprintf(merges, sizeof merges, "%.*smerges.txt", slash ? (int)(slash - path + 1) : 0, path);
    axf_bpe *b = axf_bpe_load(path, merges, err);
    return b ? axf_vocab_from_bpe(b, 0) : NULL;
}

typedef struct {
    char **s;
    int n, cap;
} strvec;

static void push(strvec *v, char *s)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 1024;
        v->s = axf_xrealloc(v->s, (size_t)v->cap * sizeof *v->s);
    }
    v->s[v->n++] = s;
}

static void free_corpus(strvec *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->s[i]);
    free(c->s);
    memset(c, 0, sizeof *c);
}

/* The sentences of the corpus files, in order; src[i]: the file sentence i came from. */
static int read_corpus(const pt_args *a, strvec *corpus, int **src, int *src_n, axf_err *err)
{
    int srccap = 0;
    for (int f = 0; f < a->n; f++) {
        int before = corpus->n;
        if (a->kind[f] != SRC_TSV) {
            int n;
            char **lines = axf_text_read_lines(a->path[f], a->kind[f] == SRC_LATIN1, &n, err);
            if (!lines)
                return -1;
            for (int i = 0; i < n; i++)
                push(corpus, lines[i]);
            free(lines); /* the strings now belong to corpus */
        } else {
            axf_dataset *d = axf_dataset_load(a->path[f], NULL, err);
            if (!d)
                return -1;
            for (int i = 0; i < d->n; i++) {
                push(corpus, axf_xstrdup(d->ex[i].a));
                if (d->ex[i].b)
                    push(corpus, axf_xstrdup(d->ex[i].b));
            }
            axf_dataset_free(d);
        }
        if (corpus->n > srccap) {
            srccap = corpus->cap;
            *src = axf_xrealloc(*src, (size_t)srccap * sizeof **src);
        }
        for (int i = before; i < corpus->n; i++)
            (*src)[i] = f;
        src_n[f] = corpus->n - before;
    }
    return 0;
}

/* Drops every corpus sentence that matches one of the --exclude files (axf_text_filter), saying
 * how many per corpus file. */
static int exclude(const pt_args *a, strvec *corpus, int *src, const int *src_n, axf_err *err)
{
    int src_drop[MAX_SRC] = {0};
    axf_text_filter *flt = axf_text_filter_new();
    for (int f = 0; f < a->n_ex; f++) {
        axf_dataset *d = axf_dataset_load(a->exclude[f], NULL, err);
        if (!d) {
            axf_text_filter_free(flt);
            return -1;
        }
        for (int i = 0; i < d->n; i++) {
            axf_text_filter_add(flt, d->ex[i].a);
            if (d->ex[i].b)
                axf_text_filter_add(flt, d->ex[i].b);
        }
        axf_dataset_free(d);
    }
    int w = 0;
    for (int i = 0; i < corpus->n; i++) {
        if (axf_text_filter_match(flt, corpus->s[i])) {
            src_drop[src[i]]++;
            free(corpus->s[i]);
            continue;
        }
        src[w] = src[i];
        corpus->s[w++] = corpus->s[i];
    }
    corpus->n = w;
    for (int f = 0; f < a->n; f++)
        printf("exclude: dropped %d of %d sentences of %s\n", src_drop[f], src_n[f], a->path[f]);
    int total, hits = axf_text_filter_hits(flt, &total);
    printf("exclude: %d of the %d distinct excluded sentences were found in the corpus\n", hits, total);
    axf_text_filter_free(flt);
    return 0;
}

/* The vocabulary: on resume the one the run started with, else --vocab, else learnt from the
 * corpus (RoBERTa's BPE, or WordPiece from scratch or cut from --vocab-from). */
static axf_vocab *make_vocab(const pt_args *a, const strvec *corpus, int bpe, int lower, axf_err *err)
{
    axf_vocab *v = NULL;
    char lastvocab[4096];
    snprintf(lastvocab, sizeof lastvocab, "%s/last/%s", a->out, bpe ? "vocab.json" : "vocab.txt");
    if (a->c.o.resume && access(lastvocab, R_OK) == 0) {
        v = load_vocab(lastvocab, bpe, err);
    } else if (a->vocab) {
        v = load_vocab(a->vocab, bpe, err);
    } else if (bpe) {
        double t = axf_now();
        axf_bpe *b = axf_bpe_train((const char *const *)corpus->s, corpus->n, a->vocab_size - 261, err);
        v = b ? axf_vocab_from_bpe(b, 0) : NULL;
        if (v)
            fprintf(stderr, "vocabulary: byte-level BPE of %d tokens learnt from the corpus in %.1f s\n",
                    axf_vocab_size(v), axf_now() - t);
    } else {
        axf_vocab *base = NULL;
        if (a->vocab_from && !(base = axf_vocab_load(a->vocab_from, err)))
            return NULL;
        double t = axf_now();
        v = axf_vocab_build((const char *const *)corpus->s, corpus->n, a->vocab_size, base, lower, err);
        if (v)
            fprintf(stderr, "vocabulary: %d pieces %s in %.1f s\n", axf_vocab_size(v),
                    base ? "cut from the base vocabulary" : "built from scratch", axf_now() - t);
        axf_vocab_free(base);
    }
    if (!v)
        return NULL;
    axf_special sp = axf_vocab_special(v);
    if (sp.cls < 0 || sp.sep < 0 || sp.mask < 0) {
        axf_err_set(err, "%s: the vocabulary lacks %s", a->vocab ? a->vocab : "vocabulary",
                    bpe ? "<s>, </s> or <mask>" : "[CLS], [SEP] or [MASK]");
    } else if (bpe && sp.pad != 1) {
        axf_err_set(err, "%s: <pad> has id %d, not 1 as in RoBERTa's vocabulary (<s> <pad> </s> <unk>)",
                    a->vocab ? a->vocab : "vocabulary", sp.pad);
    } else {
        return v;
    }
    axf_vocab_free(v);
    return NULL;
}

/* The training and dev sentences, tokenized: --dev-frac of the corpus held out (seeded). */
static int encode_split(const pt_args *a, const strvec *corpus, const axf_vocab *v, int lower, axf_encoded **etr,
                        axf_encoded **edev, axf_err *err)
{
    axf_dataset *all = axf_dataset_new("text", 0, AXF_TASK_CLASSIFY), *dtr, *ddev;
    for (int i = 0; i < corpus->n; i++)
        axf_dataset_add(all, corpus->s[i], NULL, 0, 0);
    axf_dataset_split(all, a->dev_frac, a->c.o.seed ^ 0xde5ULL, &dtr, &ddev);
    axf_dataset_free(all);
    int rc = (*etr = axf_encode_dataset(dtr, v, lower, a->c.max_len, err)) &&
                     (!ddev->n || (*edev = axf_encode_dataset(ddev, v, lower, a->c.max_len, err)))
                 ? 0
                 : -1;
    axf_dataset_free(dtr);
    axf_dataset_free(ddev);
    return rc;
}

static axf_model *make_model(const pt_args *a, const axf_vocab *v, int lower, axf_err *err)
{
    axf_config cfg = axf_config_default(axf_vocab_size(v), a->c.hidden, a->c.layers, a->c.heads, a->c.ffn, 2);
    cfg.max_pos = a->max_pos;
    cfg.act = (axf_act)a->c.act;
    cfg.do_lower_case = lower;
    axf_special sp = axf_vocab_special(v);
    cfg.pad_token_id = sp.pad >= 0 ? sp.pad : 0;
    axf_config_set_arch(&cfg, (axf_arch)a->arch);
    axf_model *m = axf_model_new(&cfg, 1, err);
    if (!m)
        return NULL;
    for (int l = 0; l < cfg.n_layers; l++) {
        m->layers[l].nh = cfg.layer_heads[l];
        m->layers[l].f = cfg.layer_ffn[l];
    }
    axf_model_init_random(m, a->c.o.seed);
    return m;
}

int axf_cmd_pretrain(int argc, char **argv)
{
    strvec corpus = {0};
    int *src = NULL, src_n[MAX_SRC] = {0};
    axf_vocab *v = NULL;
    axf_encoded *etr = NULL, *edev = NULL;
    axf_model *m = NULL;
    axf_err err;
    pt_args a;
    int rc;
    if (!parse(argc, argv, &a, &rc))
        return rc;
    int bpe = a.arch == AXF_ARCH_ROBERTA, lower = !a.c.cased && !bpe;
    rc = 1;
    if (read_corpus(&a, &corpus, &src, src_n, &err) || (a.n_ex && exclude(&a, &corpus, src, src_n, &err)))
        goto fail;
    if (corpus.n < 2) {
        axf_err_set(&err, "%s: fewer than 2 corpus sentences", a.path[0]);
        goto fail;
    }
    if (!(v = make_vocab(&a, &corpus, bpe, lower, &err)) || encode_split(&a, &corpus, v, lower, &etr, &edev, &err))
        goto fail;
    free_corpus(&corpus);
    if (!(m = make_model(&a, v, lower, &err)))
        goto fail;
    const axf_config *cfg = &m->cfg;
    fprintf(stderr, "pretrain: %d sentences (%ld tokens) for training, %d dev; %s model %d layers x %d, %d heads, "
                    "FFN %d, vocabulary %d\n", etr->n, (long)(etr->off[etr->n] - etr->off[0]), edev ? edev->n : 0,
            axf_arch_name(cfg->arch), cfg->n_layers, cfg->hidden, cfg->n_heads, cfg->ffn, cfg->vocab_size);

    axf_train_result res;
    if (axf_pretrain_run(m, etr, edev, &a.c.o, a.out, v, axf_cli_train_progress, &a.c.progress, &res, &err))
        goto fail;
    char best[200];
    snprintf(best, sizeof best, "dev masked-LM loss %.4f (perplexity %.1f) at step %ld", -res.best_metric,
             exp(-res.best_metric), res.best_step);
    axf_cli_train_summary(&a.c, &res, edev ? best : NULL, a.out);
    rc = 0;
    goto done;
fail:
    rc = axf_cli_fail(err.msg);
done:
    free_corpus(&corpus);
    free(src);
    axf_vocab_free(v);
    axf_encoded_free(etr);
    axf_encoded_free(edev);
    axf_model_free(m);
    return rc;
}
