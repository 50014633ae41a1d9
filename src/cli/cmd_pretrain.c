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
    "\n"
    "corpus (repeatable, in this order):\n"
    "  --text FILE         UTF-8 text, one sentence a line\n"
    "  --text-latin1 FILE  Latin-1 (Windows-1252) text, one sentence a line (e.g. rt-polarity)\n"
    "  --tsv FILE          the sentence columns of a task file (GLUE TSV, stsa, ...); labels unused\n"
    "  --exclude FILE      drop every corpus line that, normalised (lower case, letters and digits\n"
    "                      only), equals or contains a sentence of this task file, or has a\n"
    "                      sentence (cut at . ! ? ; :) equal to one (repeatable); the counts\n"
    "                      dropped are printed per corpus file\n"
    "  --dev-frac F        share of sentences held out to score masked-LM loss (default 0.01)\n"
    "vocabulary (BERT, DistilBERT: WordPiece; RoBERTa: byte-level BPE):\n"
    "  --vocab FILE        use this vocab.txt as it is (RoBERTa: this vocab.json, merges.txt\n"
    "                      beside it), or build one from the corpus:\n"
    "  --vocab-size N      with --vocab-from BASE: BASE cut to the pieces the corpus uses, most\n"
    "                      frequent first, all single characters kept; without: built from scratch\n"
    "                      (RoBERTa: the 256 bytes, N - 261 merges learnt from the corpus, most\n"
    "                      frequent pair first, and <s> <pad> </s> <unk> <mask>)\n"
    "  --cased             keep case (default: lower-case and strip accents; RoBERTa: always cased)\n"
    "model:\n"
    "  --arch bert|distilbert|roberta (bert): DistilBERT has no token types and a ReLU head;\n"
    "                      RoBERTa numbers positions from <pad>'s id + 1\n"
    "  --layers N --hidden N --heads N --ffn N   (default 4, 256, 4, 1024)\n"
    "  --act gelu|gelu_tanh|relu (gelu)  --max-len N (128 tokens a sentence)  --max-pos N (512)\n"
    "training:\n"
    "  --epochs N (10)  --steps N (overrides epochs)  --batch N (64)  --lr X (5e-4)\n"
    "  --warmup FRAC (0.06)  --weight-decay X (0.01)  --clip X (1.0)  --mlm-prob X (0.15)\n"
    "  --dropout X (0.1)  --attn-dropout X (0.1)  --eval-every N (steps; default each epoch)\n"
    "  --seed N (42)  --threads N (2)  --resume (continue from DIR/last)\n"
    "\n"
    "Same corpus, options, seed and thread count give the same model bit for bit.\n"
    "Exit status: 0 done, 1 bad input (message names the file), 2 usage.\n";

#define MAX_SRC 32

typedef struct {
    const char *path[MAX_SRC];
    int kind[MAX_SRC]; /* 0 text, 1 latin-1 text, 2 task file */
    int n;
    const char *exclude[MAX_SRC];
    int n_ex;
    const char *out, *vocab, *vocab_from;
    int vocab_size, max_pos;
    axf_arch arch;
    float dev_frac;
    tu_common c;
} pt_args;

static int bad(const char *opt, const char *want)
{
    return tu_bad("pretrain", opt, want);
}

static int parse(int argc, char **argv, pt_args *a)
{
    memset(a, 0, sizeof *a);
    tu_common_defaults(&a->c);
    a->c.o.epochs = 10;
    a->c.o.batch_size = 64;
    a->c.o.lr = 5e-4f;
    a->c.o.warmup = 0.06f;
    a->max_pos = 512;
    a->dev_frac = 0.01f;
    for (int i = 1; i < argc; i++) {
        int shared = tu_common_opt("pretrain", argc, argv, &i, &a->c);
        if (shared < 0)
            return 2;
        if (shared)
            continue;
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) return bad(k, "a value"); i++; } while (0)
        if (!strcmp(k, "--text") || !strcmp(k, "--text-latin1") || !strcmp(k, "--tsv")) {
            NEEDV();
            if (a->n == MAX_SRC)
                return axf_cli_usage("pretrain", "too many corpus files");
            a->path[a->n] = v;
            a->kind[a->n++] = !strcmp(k, "--text") ? 0 : !strcmp(k, "--text-latin1") ? 1 : 2;
        } else if (!strcmp(k, "--exclude")) {
            NEEDV();
            if (a->n_ex == MAX_SRC)
                return axf_cli_usage("pretrain", "too many --exclude files");
            a->exclude[a->n_ex++] = v;
        } else if (!strcmp(k, "--out")) {
            NEEDV();
            a->out = v;
        } else if (!strcmp(k, "--vocab")) {
            NEEDV();
            a->vocab = v;
        } else if (!strcmp(k, "--arch")) {
            NEEDV();
            int found = 0;
            for (int c = AXF_ARCH_BERT; c <= AXF_ARCH_ROBERTA && !found; c++)
                if (!strcmp(v, axf_arch_name((axf_arch)c)))
                    a->arch = (axf_arch)c, found = 1;
            if (!found)
                return bad(k, "bert, distilbert or roberta");
        } else if (!strcmp(k, "--vocab-from")) {
            NEEDV();
            a->vocab_from = v;
        } else if (!strcmp(k, "--vocab-size") || !strcmp(k, "--max-pos")) {
            NEEDV();
            long lv;
            long hi = !strcmp(k, "--vocab-size") ? 10000000L : 100000L;
            if (tu_long(v, 1, hi, &lv)) {
                char want[64];
                snprintf(want, sizeof want, "an integer in 1..%ld", hi);
                return bad(k, want);
            }
            if (!strcmp(k, "--vocab-size")) a->vocab_size = (int)lv;
            else a->max_pos = (int)lv;
        } else if (!strcmp(k, "--mlm-prob") || !strcmp(k, "--dev-frac")) {
            NEEDV();
            float f;
            double hi = !strcmp(k, "--dev-frac") ? 0.5 : 0.95;
            if (tu_float(v, 0.0, hi, &f))
                return bad(k, !strcmp(k, "--dev-frac") ? "a number in 0..0.5" : "a number in 0..0.95");
            if (!strcmp(k, "--mlm-prob")) a->c.o.mlm_prob = f;
            else a->dev_frac = f;
        } else {
            char msg[256];
            snprintf(msg, sizeof msg, "unexpected argument '%.200s'", k);
            return axf_cli_usage("pretrain", msg);
        }
#undef NEEDV
    }
    if (!a->out)
        return axf_cli_usage("pretrain", "--out DIR is required");
    if (!a->n)
        return axf_cli_usage("pretrain", "give at least one --text, --text-latin1 or --tsv file");
    if (!a->vocab == !a->vocab_size)
        return axf_cli_usage("pretrain", "give either --vocab FILE or --vocab-size N");
    if (a->vocab_from && !a->vocab_size)
        return axf_cli_usage("pretrain", "--vocab-from needs --vocab-size");
    if (a->arch == AXF_ARCH_ROBERTA && a->vocab_from)
        return axf_cli_usage("pretrain", "--vocab-from is WordPiece's: RoBERTa learns its BPE from the corpus");
    if (a->arch == AXF_ARCH_ROBERTA && a->vocab_size && a->vocab_size < 262)
        return axf_cli_usage("pretrain", "RoBERTa's --vocab-size is at least 262 (256 bytes, 5 specials, a merge)");
    if (!(a->c.o.lr > 0) || !(a->c.o.mlm_prob > 0))
        return axf_cli_usage("pretrain", "--lr and --mlm-prob must be positive");
    if (a->c.hidden % a->c.heads)
        return axf_cli_usage("pretrain", "--hidden must be a multiple of --heads");
    if (a->c.max_len > a->max_pos)
        return axf_cli_usage("pretrain", "--max-len exceeds --max-pos");
    return 0;
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

int axf_cmd_pretrain(int argc, char **argv)
{
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    pt_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    axf_set_threads(a.c.threads);
    axf_err err;
    if (axf_io_check_dir_writable(a.out, &err)) /* not after an hour of training */
        return axf_cli_fail(err.msg);
    strvec corpus = {0};
    int *src = NULL;
    axf_vocab *v = NULL, *base = NULL;
    axf_dataset *dtr = NULL, *ddev = NULL;
    axf_encoded *etr = NULL, *edev = NULL;
    axf_model *m = NULL;
    int lower = !a.c.cased, src_n[MAX_SRC] = {0}, src_drop[MAX_SRC] = {0};
    rc = 1;

    /* corpus */
    int srccap = 0;
    for (int f = 0; f < a.n; f++) {
        int before = corpus.n;
        if (a.kind[f] < 2) {
            int n;
            char **lines = axf_text_read_lines(a.path[f], a.kind[f] == 1, &n, &err);
            if (!lines)
                goto fail;
            for (int i = 0; i < n; i++)
                push(&corpus, lines[i]);
            free(lines); /* the strings now belong to corpus */
        } else {
            axf_dataset *d = axf_dataset_load(a.path[f], NULL, &err);
            if (!d)
                goto fail;
            for (int i = 0; i < d->n; i++) {
                push(&corpus, axf_xstrdup(d->ex[i].a));
                if (d->ex[i].b)
                    push(&corpus, axf_xstrdup(d->ex[i].b));
            }
            axf_dataset_free(d);
        }
        if (corpus.n > srccap) {
            srccap = corpus.cap;
            src = axf_xrealloc(src, (size_t)srccap * sizeof *src);
        }
        for (int i = before; i < corpus.n; i++)
            src[i] = f;
        src_n[f] = corpus.n - before;
    }

    /* exclusion of evaluation sentences */
    if (a.n_ex) {
        axf_text_filter *flt = axf_text_filter_new();
        for (int f = 0; f < a.n_ex; f++) {
            axf_dataset *d = axf_dataset_load(a.exclude[f], NULL, &err);
            if (!d) {
                axf_text_filter_free(flt);
                goto fail;
            }
            for (int i = 0; i < d->n; i++) {
                axf_text_filter_add(flt, d->ex[i].a);
                if (d->ex[i].b)
                    axf_text_filter_add(flt, d->ex[i].b);
            }
            axf_dataset_free(d);
        }
        int w = 0;
        for (int i = 0; i < corpus.n; i++) {
            if (axf_text_filter_match(flt, corpus.s[i])) {
                src_drop[src[i]]++;
                free(corpus.s[i]);
                continue;
            }
            src[w] = src[i];
            corpus.s[w++] = corpus.s[i];
        }
        corpus.n = w;
        for (int f = 0; f < a.n; f++)
            printf("exclude: dropped %d of %d sentences of %s\n", src_drop[f], src_n[f], a.path[f]);
        int total, hits = axf_text_filter_hits(flt, &total);
        printf("exclude: %d of the %d distinct excluded sentences were found in the corpus\n", hits, total);
        axf_text_filter_free(flt);
    }
    if (corpus.n < 2) {
        axf_err_set(&err, "%s: fewer than 2 corpus sentences", a.path[0]);
        goto fail;
    }

    /* vocabulary: on resume, the one the run started with */
    int bpe = a.arch == AXF_ARCH_ROBERTA;
    if (bpe)
        lower = 0;
    char lastvocab[4096];
    snprintf(lastvocab, sizeof lastvocab, "%s/last/%s", a.out, bpe ? "vocab.json" : "vocab.txt");
    if (a.c.o.resume && access(lastvocab, R_OK) == 0) {
        v = load_vocab(lastvocab, bpe, &err);
    } else if (a.vocab) {
        v = load_vocab(a.vocab, bpe, &err);
    } else if (bpe) {
        double t = axf_now();
        axf_bpe *b = axf_bpe_train((const char *const *)corpus.s, corpus.n, a.vocab_size - 261, &err);
        v = b ? axf_vocab_from_bpe(b, 0) : NULL;
        if (v)
            fprintf(stderr, "vocabulary: byte-level BPE of %d tokens learnt from the corpus in %.1f s\n",
                    axf_vocab_size(v), axf_now() - t);
    } else {
        if (a.vocab_from) {
            base = axf_vocab_load(a.vocab_from, &err);
            if (!base)
                goto fail;
        }
        double t = axf_now();
        v = axf_vocab_build((const char *const *)corpus.s, corpus.n, a.vocab_size, base, lower, &err);
        if (v)
            fprintf(stderr, "vocabulary: %d pieces %s in %.1f s\n", axf_vocab_size(v),
                    base ? "cut from the base vocabulary" : "built from scratch", axf_now() - t);
    }
    if (!v)
        goto fail;
    axf_special sp = axf_vocab_special(v);
    if (sp.cls < 0 || sp.sep < 0 || sp.mask < 0) {
        axf_err_set(&err, "%s: the vocabulary lacks %s", a.vocab ? a.vocab : "vocabulary",
                    bpe ? "<s>, </s> or <mask>" : "[CLS], [SEP] or [MASK]");
        goto fail;
    }
    if (bpe && sp.pad != 1) {
        axf_err_set(&err, "%s: <pad> has id %d, not 1 as in RoBERTa's vocabulary (<s> <pad> </s> <unk>)",
                    a.vocab ? a.vocab : "vocabulary", sp.pad);
        goto fail;
    }

    /* dev split (seeded) */
    int n = corpus.n, nd = (int)lround(a.dev_frac * n);
    nd = a.dev_frac > 0 && nd < 1 ? 1 : nd;
    nd = nd >= n ? n - 1 : nd;
    unsigned char *is_dev = axf_xcalloc((size_t)n, 1);
    int *perm = axf_xmalloc((size_t)n * sizeof(int));
    axf_rng r;
    axf_rng_seed(&r, a.c.o.seed ^ 0xde5ULL);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = axf_rng_below(&r, i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < nd; i++)
        is_dev[perm[i]] = 1;
    free(perm);
    dtr = axf_dataset_new("text", 0, AXF_TASK_CLASSIFY);
    ddev = axf_dataset_new("text", 0, AXF_TASK_CLASSIFY);
    for (int i = 0; i < n; i++)
        axf_dataset_add(is_dev[i] ? ddev : dtr, corpus.s[i], NULL, 0, 0);
    free(is_dev);
    etr = axf_encode_dataset(dtr, v, lower, a.c.max_len, &err);
    if (!etr)
        goto fail;
    if (ddev->n) {
        edev = axf_encode_dataset(ddev, v, lower, a.c.max_len, &err);
        if (!edev)
            goto fail;
    }
    long ntok = etr->off[etr->n] - etr->off[0];

    /* model */
    axf_config cfg = axf_config_default(axf_vocab_size(v), a.c.hidden, a.c.layers, a.c.heads, a.c.ffn, 2);
    cfg.max_pos = a.max_pos;
    cfg.act = a.c.act;
    cfg.do_lower_case = lower;
    cfg.pad_token_id = sp.pad >= 0 ? sp.pad : 0;
    axf_config_set_arch(&cfg, a.arch);
    m = axf_model_new(&cfg, 1, &err);
    if (!m)
        goto fail;
    for (int l = 0; l < cfg.n_layers; l++) {
        m->layers[l].nh = cfg.layer_heads[l];
        m->layers[l].f = cfg.layer_ffn[l];
    }
    axf_model_init_random(m, a.c.o.seed);
    fprintf(stderr, "pretrain: %d sentences (%ld tokens) for training, %d dev; %s model %d layers x %d, %d heads, "
                    "FFN %d, vocabulary %d\n", etr->n, ntok, edev ? edev->n : 0, axf_arch_name(cfg.arch), cfg.n_layers,
            cfg.hidden, cfg.n_heads, cfg.ffn, cfg.vocab_size);

    tu_progress p;
    tu_progress_init(&p);
    axf_train_result res;
    int trc = axf_pretrain_run(m, etr, edev, &a.c.o, a.out, v, tu_progress_cb, &p, &res, &err);
    tu_progress_end(&p);
    if (trc)
        goto fail;
    char dur[32];
    tu_duration(res.seconds, dur, sizeof dur);
    if (res.resumed_from)
        printf("resumed from step %d\n", res.resumed_from);
    if (edev)
        printf("dev masked-LM loss %.4f (perplexity %.1f) at step %ld\n", -res.best_metric, exp(-res.best_metric),
               res.best_step);
    printf("training: %ld steps, %ld tokens, %.0f tokens/s, %s\n", res.steps, res.tokens, res.tokens_per_s, dur);
    printf("model written to %s\n", a.out);
    rc = 0;
    goto done;
fail:
    rc = axf_cli_fail(err.msg);
done:
    for (int i = 0; i < corpus.n; i++)
        free(corpus.s[i]);
    free(corpus.s);
    free(src);
    axf_vocab_free(v);
    axf_vocab_free(base);
    axf_dataset_free(dtr);
    axf_dataset_free(ddev);
    axf_encoded_free(etr);
    axf_encoded_free(edev);
    axf_model_free(m);
    return rc;
}
