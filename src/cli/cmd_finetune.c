/* `axf finetune`: sequence classification / regression fine-tuning, from a pre-trained checkpoint
 * or from scratch, with model selection on a dev split, early stopping and resume. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "axf/compact.h"
#include "axf/data.h"
#include "axf/fileio.h"
#include "axf/metrics.h"
#include "axf/train.h"
#include "axf/sessionfile.h"
#include "cli.h"
#include "cmd_train_util.h"

static const char *usage =
    "usage: axf finetune --train FILE [--train FILE ...] --out DIR\n"
    "                    (--init MODEL_DIR | --vocab FILE [sizes]) [options]\n"
    "\n"
    "Fine-tunes a sequence classifier (single sentences or pairs; regression for STS-B) and writes\n"
    "the best model on the dev split to DIR (config.json, model.safetensors, the tokenizer's files),\n"
    "in the architecture and naming of --init's checkpoint (BERT, DistilBERT, RoBERTa), the form\n"
    "`axf eval` reads. DIR/last holds the resume point; DIR/train_log.tsv one line per evaluation.\n"
    "\n"
    "data:\n"
    "  --train FILE        training data (GLUE TSV, stsa '<label> <sentence>', ...); repeatable\n"
    "  --task NAME         task of the files (default: detected from name and header)\n"
    "  --dev FILE          dev split for model selection, or:\n"
    "  --dev-split FRAC    hold out FRAC of the training data (seeded shuffle) as the dev split\n"
    "  --dev-split-out F   write that held-out split to F (TSV with header), e.g. for `axf search`\n"
    "  --test FILE         evaluate the selected model on FILE at the end (repeatable); never used\n"
    "                      for selection\n"
    "  --max-len N         tokens per example, longest-first truncation (default 128)\n"
    "model:\n"
    "  --init DIR          start from this checkpoint (its tokenizer files); the classifier is new.\n"
    "                      An exported (pruned) model keeps its shape and hard attention, and\n"
    "                      is trained and written with them; its int8 matrices become float32\n"
    "  --structure SESSION with --init: cut --init's checkpoint (e.g. the pre-trained one the\n"
    "                      searched model was fine-tuned from) to the session's committed plan\n"
    "                      (its removed heads, neuron groups, blocks and layers, by position; its\n"
    "                      hard attention) and fine-tune that: the found structure, re-trained\n"
    "                      from the pre-trained weights\n"
    "  --vocab FILE        from scratch with this vocabulary, sizes:\n"
    "  --layers N --hidden N --heads N --ffn N   (default 4, 256, 4, 1024)\n"
    "  --act gelu|gelu_tanh|relu   (default gelu)   --cased   (default: lower-case input)\n"
    "training:\n"
    "  --epochs N (3)  --steps N (overrides epochs)  --batch N (32)  --lr X (5e-5)\n"
    "  --warmup FRAC (0.1)  --weight-decay X (0.01)  --clip X (1.0)\n"
    "  --dropout X (0.1)  --attn-dropout X (0.1)\n"
    "  --eval-every N      steps between dev evaluations (default: each epoch)\n"
    "  --patience N        stop after N evaluations without improvement (default: never)\n"
    "  --seed N (42)  --threads N (2)  --resume (continue from DIR/last)\n"
    "\n"
    "Same data, options, seed and thread count give the same model bit for bit.\n"
    "Exit status: 0 done, 1 bad input (message names the file), 2 usage.\n";

#define MAX_FILES 16

typedef struct {
    const char *train[MAX_FILES], *test[MAX_FILES];
    int n_train, n_test;
    const char *task, *dev, *split_out, *init, *vocab, *out, *structure;
    float split;
    tu_common c;
} ft_args;

static int bad(const char *opt, const char *want)
{
    return tu_bad("finetune", opt, want);
}

static int parse(int argc, char **argv, ft_args *a)
{
    memset(a, 0, sizeof *a);
    tu_common_defaults(&a->c);
    for (int i = 1; i < argc; i++) {
        int shared = tu_common_opt("finetune", argc, argv, &i, &a->c);
        if (shared < 0)
            return 2;
        if (shared)
            continue;
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) return bad(k, "a value"); i++; } while (0)
        if (!strcmp(k, "--train")) {
            NEEDV();
            if (a->n_train == MAX_FILES)
                return axf_cli_usage("finetune", "too many --train files");
            a->train[a->n_train++] = v;
        } else if (!strcmp(k, "--test")) {
            NEEDV();
            if (a->n_test == MAX_FILES)
                return axf_cli_usage("finetune", "too many --test files");
            a->test[a->n_test++] = v;
        } else if (!strcmp(k, "--task")) {
            NEEDV();
            a->task = v;
        } else if (!strcmp(k, "--dev")) {
            NEEDV();
            a->dev = v;
        } else if (!strcmp(k, "--dev-split")) {
            NEEDV();
            if (tu_float(v, 0.001, 0.9, &a->split))
                return bad(k, "a fraction in 0.001..0.9");
        } else if (!strcmp(k, "--dev-split-out")) {
            NEEDV();
            a->split_out = v;
        } else if (!strcmp(k, "--init")) {
            NEEDV();
            a->init = v;
        } else if (!strcmp(k, "--structure")) {
            NEEDV();
            a->structure = v;
        } else if (!strcmp(k, "--vocab")) {
            NEEDV();
            a->vocab = v;
        } else if (!strcmp(k, "--out")) {
            NEEDV();
            a->out = v;
        } else if (!strcmp(k, "--patience")) {
            NEEDV();
            long lv;
            if (tu_long(v, 0, 100000000L, &lv))
                return bad(k, "an integer in 0..100000000");
            a->c.o.patience = (int)lv;
        } else {
            char msg[256];
            snprintf(msg, sizeof msg, "unexpected argument '%.200s'", k);
            return axf_cli_usage("finetune", msg);
        }
#undef NEEDV
    }
    if (!a->n_train)
        return axf_cli_usage("finetune", "--train FILE is required");
    if (!a->out)
        return axf_cli_usage("finetune", "--out DIR is required");
    if (!a->init == !a->vocab)
        return axf_cli_usage("finetune", "give either --init MODEL_DIR or --vocab FILE");
    if (a->structure && !a->init)
        return axf_cli_usage("finetune", "--structure needs --init MODEL_DIR");
    if (a->dev && a->split > 0)
        return axf_cli_usage("finetune", "--dev and --dev-split exclude each other");
    if (a->split_out && !(a->split > 0))
        return axf_cli_usage("finetune", "--dev-split-out needs --dev-split");
    if (!(a->c.o.lr > 0))
        return axf_cli_usage("finetune", "--lr must be positive");
    if (a->c.hidden % a->c.heads)
        return axf_cli_usage("finetune", "--hidden must be a multiple of --heads");
    return 0;
}

/* Tabs and newlines inside a field would break the TSV. */
static void put_field(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static int write_split(const char *path, const axf_dataset *d, axf_err *err)
{
    char *tmp;
    FILE *f = axf_io_atomic_open(path, &tmp, err);
    if (!f)
        return -1;
    int pair = d->n > 0 && d->ex[0].b != NULL;
    fprintf(f, pair ? "sentence1\tsentence2\tlabel\n" : "sentence\tlabel\n");
    for (int i = 0; i < d->n; i++) {
        put_field(f, d->ex[i].a);
        if (pair) {
            fputc('\t', f);
            put_field(f, d->ex[i].b ? d->ex[i].b : "");
        }
        if (d->kind == AXF_TASK_REGRESS)
            fprintf(f, "\t%.6g\n", d->ex[i].target);
        else
            fprintf(f, "\t%d\n", d->ex[i].label);
    }
    return axf_io_atomic_close(f, tmp, path, ferror(f), err);
}

/* Copies embeddings, encoder and pooler of src into dst (same shapes); dst's heads stay. */
/* The pooler too when the checkpoint has one (with_pooler); a new one (BERT's initialisation) else. */
static int copy_encoder(axf_model *dst, const axf_model *src, int with_pooler, const char *dir, axf_err *err)
{
    const axf_config *a = &dst->cfg, *b = &src->cfg;
    if (a->vocab_size != b->vocab_size || a->hidden != b->hidden || a->n_layers != b->n_layers ||
        a->max_pos != b->max_pos || a->type_vocab != b->type_vocab || a->arch != b->arch)
        return axf_err_set(err, "%s: checkpoint shape differs from the model being built", dir);
    size_t H = (size_t)a->hidden;
    /* every tensor up to the pooler lies in the arena before the classifier (io's layout); copy
     * tensor by tensor anyway so the layout is not assumed */
#define CP(field, n) memcpy(dst->field, src->field, (n) * sizeof(float))
    CP(word_emb, (size_t)a->vocab_size * H);
    CP(pos_emb, (size_t)a->max_pos * H);
    if (a->type_vocab > 0)
        CP(type_emb, (size_t)a->type_vocab * H);
    CP(emb_ln_g, H);
    CP(emb_ln_b, H);
    for (int l = 0; l < a->n_layers; l++) {
        size_t A = (size_t)a->layer_heads[l] * a->head_dim, F = (size_t)a->layer_ffn[l];
        if (A != (size_t)b->layer_heads[l] * b->head_dim || F != (size_t)b->layer_ffn[l])
            return axf_err_set(err, "%s: layer %d shape differs", dir, l);
        if (A) {
            CP(layers[l].wq, A * H); CP(layers[l].bq, A);
            CP(layers[l].wk, A * H); CP(layers[l].bk, A);
            CP(layers[l].wv, A * H); CP(layers[l].bv, A);
            CP(layers[l].wo, A * H); CP(layers[l].bo, H);
        }
        CP(layers[l].ln1_g, H); CP(layers[l].ln1_b, H);
        if (F) {
            CP(layers[l].w1, F * H); CP(layers[l].b1, F);
            CP(layers[l].w2, F * H); CP(layers[l].b2, H);
        }
        CP(layers[l].ln2_g, H); CP(layers[l].ln2_b, H);
    }
    if (with_pooler) {
        CP(pool_w, H * H);
        CP(pool_b, H);
    }
#undef CP
    return 0;
}

static void fix_layers(axf_model *m)
{
    for (int l = 0; l < m->cfg.n_layers; l++) {
        m->layers[l].nh = m->cfg.layer_heads[l];
        m->layers[l].f = m->cfg.layer_ffn[l];
    }
}

/* --structure: *init becomes its compaction under the session's committed plan, *hard that plan's
 * hard attention on the compacted shape (NULL when dense). */
static int restructure(axf_model **init, axf_plan **hard, const char *session, axf_err *err)
{
    axf_sessionfile f;
    if (axf_sessionfile_read(session, &f, err))
        return -1;
    axf_plan *p = axf_sessionfile_plan(&f, session, *init, err);
    axf_sessionfile_free(&f);
    if (!p)
        return -1;
    axf_model *cm = axf_compact(*init, p, hard, err);
    axf_plan_free(p);
    if (!cm)
        return -1;
    fix_layers(cm);
    axf_model_free(*init);
    *init = cm;
    if (*hard && axf_plan_is_dense(*hard)) {
        axf_plan_free(*hard);
        *hard = NULL;
    }
    return 0;
}

static void name_labels(axf_config *c, const char *task)
{
    static const struct { const char *task, *l0, *l1; } names[] = {
        {"sst2", "negative", "positive"}, {"sst2-sent", "negative", "positive"},
        {"mrpc", "not_equivalent", "equivalent"}, {"rte", "entailment", "not_entailment"},
        {"qnli", "entailment", "not_entailment"}, {"cola", "unacceptable", "acceptable"},
        {"qqp", "not_duplicate", "duplicate"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(task, names[i].task) && c->num_labels == 2) {
            snprintf(c->labels[0], sizeof c->labels[0], "%s", names[i].l0);
            snprintf(c->labels[1], sizeof c->labels[1], "%s", names[i].l1);
        }
}

int axf_cmd_finetune(int argc, char **argv)
{
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    ft_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    axf_set_threads(a.c.threads);
    axf_err err;
    if (axf_io_check_dir_writable(a.out, &err) ||
        (a.split_out && axf_io_check_writable(a.split_out, &err))) /* not after the training */
        return axf_cli_fail(err.msg);
    axf_dataset *train = NULL, *dev = NULL, *tmp = NULL;
    axf_encoded *etrain = NULL, *edev = NULL;
    axf_vocab *v = NULL;
    axf_model *m = NULL, *init = NULL;
    axf_plan *hard = NULL;
    int init_found = 0;
    rc = 1;

    /* data */
    for (int i = 0; i < a.n_train; i++) {
        tmp = axf_dataset_load(a.train[i], a.task, &err);
        if (!tmp)
            goto fail;
        if (!train) {
            train = axf_dataset_new(tmp->task, tmp->num_labels, tmp->kind);
        } else if (strcmp(train->task, tmp->task) != 0) {
            axf_err_set(&err, "%s: task %s differs from the first training file's (%s)", a.train[i], tmp->task,
                        train->task);
            goto fail;
        }
        if (tmp->num_labels > train->num_labels)
            train->num_labels = tmp->num_labels;
        for (int k = 0; k < tmp->n; k++) {
            if (tmp->kind == AXF_TASK_CLASSIFY && tmp->ex[k].label < 0) {
                axf_err_set(&err, "%s: example %d has no label", a.train[i], k + 1);
                goto fail;
            }
            axf_dataset_add(train, tmp->ex[k].a, tmp->ex[k].b, tmp->ex[k].label, tmp->ex[k].target);
        }
        axf_dataset_free(tmp);
        tmp = NULL;
    }
    if (train->n < 2) {
        axf_err_set(&err, "%s: fewer than 2 training examples", a.train[0]);
        goto fail;
    }
    if (a.split > 0) {
        int n = train->n, nd = (int)lround(a.split * n);
        nd = nd < 1 ? 1 : nd >= n ? n - 1 : nd;
        int *perm = malloc(sizeof(int) * (size_t)n);
        unsigned char *is_dev = calloc((size_t)n, 1);
        axf_rng r;
        axf_rng_seed(&r, a.c.o.seed ^ 0x5711ULL);
        for (int i = 0; i < n; i++)
            perm[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = axf_rng_below(&r, i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int i = 0; i < nd; i++)
            is_dev[perm[i]] = 1;
        axf_dataset *tr = axf_dataset_new(train->task, train->num_labels, train->kind);
        dev = axf_dataset_new(train->task, train->num_labels, train->kind);
        for (int i = 0; i < n; i++) /* file order kept inside both parts */
            axf_dataset_add(is_dev[i] ? dev : tr, train->ex[i].a, train->ex[i].b, train->ex[i].label,
                            train->ex[i].target);
        free(perm);
        free(is_dev);
        axf_dataset_free(train);
        train = tr;
        if (a.split_out && write_split(a.split_out, dev, &err))
            goto fail;
    } else if (a.dev) {
        dev = axf_dataset_load(a.dev, a.task ? a.task : train->task, &err);
        if (!dev)
            goto fail;
    }

    /* model */
    int num_labels = train->kind == AXF_TASK_REGRESS ? 1 : (train->num_labels > 1 ? train->num_labels : 2);
    int lower = !a.c.cased;
    axf_config cfg;
    if (a.init) {
        init = axf_model_load_encoder(a.init, &init_found, &err);
        if (!init)
            goto fail;
        fix_layers(init);
        if (a.structure && restructure(&init, &hard, a.structure, &err))
            goto fail;
        v = axf_vocab_load_dir(a.init, &init->cfg, &err);
        if (!v)
            goto fail;
        cfg = init->cfg;
        cfg.num_labels = num_labels;
        cfg.task = train->kind;
        memset(cfg.labels, 0, sizeof cfg.labels);
        lower = cfg.do_lower_case;
    } else {
        v = axf_vocab_load(a.vocab, &err);
        if (!v)
            goto fail;
        cfg = axf_config_default(axf_vocab_size(v), a.c.hidden, a.c.layers, a.c.heads, a.c.ffn, num_labels);
        cfg.task = train->kind;
        cfg.act = a.c.act;
        cfg.do_lower_case = lower;
        cfg.max_pos = a.c.max_len > 512 ? a.c.max_len : 512;
        axf_special sp = axf_vocab_special(v);
        cfg.pad_token_id = sp.pad >= 0 ? sp.pad : 0;
    }
    if (axf_vocab_size(v) != cfg.vocab_size) {
        axf_err_set(&err, "%s: vocabulary has %d tokens, the model %d", a.init ? a.init : a.vocab,
                    axf_vocab_size(v), cfg.vocab_size);
        goto fail;
    }
    if (a.c.max_len > axf_config_max_len(&cfg)) {
        axf_err_set(&err, "--max-len %d exceeds the model's %d positions", a.c.max_len, axf_config_max_len(&cfg));
        goto fail;
    }
    name_labels(&cfg, train->task);
    m = axf_model_new(&cfg, 0, &err);
    if (!m)
        goto fail;
    fix_layers(m);
    axf_model_init_random(m, a.c.o.seed);
    if (init && copy_encoder(m, init, init_found & AXF_LOAD_POOLER, a.init, &err))
        goto fail;
    /* an exported model's hard attention (axf/compact.h) is part of what it computes */
    if (a.init && !a.structure && !(hard = axf_plan_load_hard(a.init, m, &err)))
        goto fail;
    if (hard && axf_plan_is_dense(hard)) {
        axf_plan_free(hard);
        hard = NULL;
    }
    a.c.o.plan = hard;
    axf_model_free(init);
    init = NULL;

    etrain = axf_encode_dataset(train, v, lower, a.c.max_len, &err);
    if (!etrain)
        goto fail;
    if (dev) {
        edev = axf_encode_dataset(dev, v, lower, a.c.max_len, &err);
        if (!edev)
            goto fail;
    }
    fprintf(stderr, "finetune: %s, %d training examples, %d dev; model %d layers x %d, %d heads, FFN %d, "
                    "vocab %d, %s\n", train->task, etrain->n, edev ? edev->n : 0, cfg.n_layers, cfg.hidden,
            cfg.n_heads, cfg.ffn, cfg.vocab_size, a.init ? "pre-trained" : "from scratch");

    tu_progress p;
    tu_progress_init(&p);
    axf_train_result res;
    int trc = axf_finetune_run(m, etrain, edev, &a.c.o, a.out, v, tu_progress_cb, &p, &res, &err);
    tu_progress_end(&p);
    if (trc)
        goto fail;
    if (res.resumed_from)
        printf("resumed from step %d\n", res.resumed_from);
    char dur[32];
    tu_duration(res.seconds, dur, sizeof dur);
    const char *metric = cfg.task == AXF_TASK_REGRESS ? "-MSE" : "accuracy";
    if (edev)
        printf("best dev %s %.4f at step %ld of %ld%s\n", metric, res.best_metric, res.best_step, res.steps,
               res.stopped_early ? " (early stop)" : "");
    printf("training: %ld steps, %ld tokens, %.0f tokens/s, %s\n", res.steps, res.tokens, res.tokens_per_s, dur);
    printf("model written to %s\n", a.out);

    for (int i = 0; i < a.n_test; i++) {
        axf_dataset *td = axf_dataset_load_for(a.test[i], NULL, &m->cfg, 0, &err);
        if (!td)
            goto fail;
        axf_encoded *et = axf_encode_dataset(td, v, lower, a.c.max_len, &err);
        if (!et) {
            axf_dataset_free(td);
            goto fail;
        }
        int *pred = malloc(sizeof(int) * (size_t)(et->n + 1));
        double loss, acc;
        int erc = axf_train_evaluate_plan(m, hard, et, 64, &loss, &acc, pred, &err);
        if (erc == 0) {
            if (cfg.task == AXF_TASK_REGRESS) {
                float *score = malloc(sizeof(float) * (size_t)et->n);
                erc = axf_train_predict_plan(m, hard, et, 64, score, &err);
                if (erc == 0)
                    printf("test %s: MSE %.4f  Pearson %.4f  Spearman %.4f  (%d examples)\n", a.test[i], -acc,
                           axf_metric_pearson(score, et->targets, et->n),
                           axf_metric_spearman(score, et->targets, et->n), et->n);
                free(score);
            }
            else if (cfg.num_labels == 2)
                printf("test %s: accuracy %.4f  F1 %.4f  MCC %.4f  (%d examples)\n", a.test[i], acc,
                       axf_metric_f1(pred, et->labels, et->n), axf_metric_mcc(pred, et->labels, et->n), et->n);
            else
                printf("test %s: accuracy %.4f (%d examples)\n", a.test[i], acc, et->n);
        }
        free(pred);
        axf_encoded_free(et);
        axf_dataset_free(td);
        if (erc)
            goto fail;
    }
    rc = 0;
    goto done;
fail:
    rc = axf_cli_fail(err.msg);
done:
    axf_dataset_free(tmp);
    axf_dataset_free(train);
    axf_dataset_free(dev);
    axf_encoded_free(etrain);
    axf_encoded_free(edev);
    axf_vocab_free(v);
    axf_model_free(m);
    axf_model_free(init);
    axf_plan_free(hard);
    return rc;
}
