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
#include "axf/sessionfile.h"
#include "axf/train.h"
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
    "\n";

#define MAX_FILES 16

typedef struct {
    axf_cli_train c;
    const char *train[MAX_FILES], *test[MAX_FILES];
    int n_train, n_test;
    const char *task, *dev, *split_out, *init, *vocab, *out, *structure;
    float split;
} ft_args;

/* Returns 1 when the command goes on, else 0 and *status. */
static int parse(int argc, char **argv, ft_args *a, int *status)
{
    memset(a, 0, sizeof *a);
    axf_cli_train_init(&a->c);
    axf_opt opts[] = {
        AXF_OPT_STR("--out", &a->out, "DIR", "where the model goes"),
        AXF_OPT_HEAD("data:"),
        AXF_OPT_LIST("--train", a->train, &a->n_train, MAX_FILES, "FILE",
                     "training data (GLUE TSV, stsa '<label> <sentence>', ...); repeatable"),
        AXF_OPT_STR("--task", &a->task, "NAME", "task of the files (default: detected from name and header)"),
        AXF_OPT_STR("--dev", &a->dev, "FILE", "dev split for model selection, or:"),
        AXF_OPT_FLOAT("--dev-split", &a->split, 0.001, 0.9, "FRAC",
                      "hold out FRAC of the training data (seeded shuffle) as the dev split"),
        AXF_OPT_STR("--dev-split-out", &a->split_out, "F",
                    "write that held-out split to F (TSV with header), e.g. for `axf search`"),
        AXF_OPT_LIST("--test", a->test, &a->n_test, MAX_FILES, "FILE",
                     "evaluate the selected model on FILE at the end (repeatable); never used\n"
                     "for selection"),
        AXF_OPT_INT("--max-len", &a->c.max_len, 3, 100000000, "N",
                    "tokens per example, longest-first truncation (default {})"),
        AXF_OPT_HEAD("model:"),
        AXF_OPT_STR("--init", &a->init, "DIR",
                    "start from this checkpoint (its tokenizer files); the classifier is new.\n"
                    "An exported (pruned) model keeps its shape and hard attention, and\n"
                    "is trained and written with them; its int8 matrices become float32"),
        AXF_OPT_STR("--structure", &a->structure, "SESSION",
                    "with --init: cut --init's checkpoint (e.g. the pre-trained one the\n"
                    "searched model was fine-tuned from) to the session's committed plan\n"
                    "(its removed heads, neuron groups, blocks and layers, by position; its\n"
                    "hard attention) and fine-tune that: the found structure, re-trained\n"
                    "from the pre-trained weights"),
        AXF_OPT_STR("--vocab", &a->vocab, "FILE", "from scratch with this vocabulary, in this shape:"),
        AXF_OPT_TABLE(a->c.shape),
        AXF_OPT_HEAD("training:"),
        AXF_OPT_TABLE(a->c.loop),
        AXF_OPT_INT("--patience", &a->c.o.patience, 0, 100000000, "N",
                    "stop after N evaluations without improvement (default: never)"),
        AXF_OPT_END};
    axf_cmd_args args = {.cmd = "finetune", .usage = usage, .footer = axf_cli_train_footer};
    if (!axf_opt_parse(&args, opts, argc, argv, status))
        return 0;
    const char *bad = !a->n_train ? "--train FILE is required"
                      : !a->out ? "--out DIR is required"
                      : !a->init == !a->vocab ? "give either --init MODEL_DIR or --vocab FILE"
                      : a->structure && !a->init ? "--structure needs --init MODEL_DIR"
                      : a->dev && a->split > 0 ? "--dev and --dev-split exclude each other"
                      : a->split_out && !(a->split > 0) ? "--dev-split-out needs --dev-split"
                      : !(a->c.o.lr > 0) ? "--lr must be positive"
                      : a->c.hidden % a->c.heads ? "--hidden must be a multiple of --heads" : NULL;
    return axf_cli_train_ready("finetune", bad, &a->c, a->out, a->split_out, 0, status);
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

/* The training data and the dev split: --dev, or --dev-split of the training files (written to
 * --dev-split-out). */
static int load_data(const ft_args *a, axf_dataset **train, axf_dataset **dev, axf_err *err)
{
    int skipped;
    if (!(*train = axf_cli_train_data(a->train, a->n_train, a->task, NULL, NULL, &skipped, err)))
        return -1;
    if ((*train)->n < 2)
        return axf_err_set(err, "%s: fewer than 2 training examples", a->train[0]);
    if (a->split > 0) {
        axf_dataset *all = *train;
        axf_dataset_split(all, a->split, a->c.o.seed ^ 0x5711ULL, train, dev);
        axf_dataset_free(all);
        return a->split_out ? write_split(a->split_out, *dev, err) : 0;
    }
    if (a->dev && !(*dev = axf_dataset_load(a->dev, a->task ? a->task : (*train)->task, err)))
        return -1;
    return 0;
}

/* The model to train: --init's encoder under a new classifier (its hard attention in *hard), or a
 * new one of the given shape over --vocab. Sets *v and *lower (the tokenizer's casing). */
static axf_model *make_model(ft_args *a, const axf_dataset *train, axf_vocab **v, int *lower, axf_plan **hard,
                             axf_err *err)
{
    int num_labels = train->kind == AXF_TASK_REGRESS ? 1 : (train->num_labels > 1 ? train->num_labels : 2);
    axf_model *init = NULL, *m = NULL;
    int init_found = 0;
    axf_config cfg;
    *lower = !a->c.cased;
    if (a->init) {
        if (!(init = axf_model_load_encoder(a->init, &init_found, err)))
            return NULL;
        fix_layers(init);
        if ((a->structure && restructure(&init, hard, a->structure, err)) ||
            !(*v = axf_vocab_load_dir(a->init, &init->cfg, err)))
            goto done;
        cfg = init->cfg;
        cfg.num_labels = num_labels;
        cfg.task = train->kind;
        memset(cfg.labels, 0, sizeof cfg.labels);
        *lower = cfg.do_lower_case;
    } else {
        if (!(*v = axf_vocab_load(a->vocab, err)))
            return NULL;
        cfg = axf_config_default(axf_vocab_size(*v), a->c.hidden, a->c.layers, a->c.heads, a->c.ffn, num_labels);
        cfg.task = train->kind;
        cfg.act = (axf_act)a->c.act;
        cfg.do_lower_case = *lower;
        cfg.max_pos = a->c.max_len > 512 ? a->c.max_len : 512;
        axf_special sp = axf_vocab_special(*v);
        cfg.pad_token_id = sp.pad >= 0 ? sp.pad : 0;
    }
    if (axf_vocab_size(*v) != cfg.vocab_size) {
        axf_err_set(err, "%s: vocabulary has %d tokens, the model %d", a->init ? a->init : a->vocab,
                    axf_vocab_size(*v), cfg.vocab_size);
        goto done;
    }
    if (a->c.max_len > axf_config_max_len(&cfg)) {
        axf_err_set(err, "--max-len %d exceeds the model's %d positions", a->c.max_len, axf_config_max_len(&cfg));
        goto done;
    }
    name_labels(&cfg, train->task);
    if (!(m = axf_model_new(&cfg, 0, err)))
        goto done;
    fix_layers(m);
    axf_model_init_random(m, a->c.o.seed);
    /* an exported model's hard attention (axf/compact.h) is part of what it computes */
    if (init && (copy_encoder(m, init, init_found & AXF_LOAD_POOLER, a->init, err) ||
                 (!a->structure && !(*hard = axf_plan_load_hard(a->init, m, err))))) {
        axf_model_free(m);
        m = NULL;
        goto done;
    }
    if (*hard && axf_plan_is_dense(*hard)) {
        axf_plan_free(*hard);
        *hard = NULL;
    }
done:
    axf_model_free(init);
    return m;
}

/* The selected model on one --test file: its metrics on stdout. */
static int run_test(const char *path, axf_model *m, const axf_plan *hard, const axf_vocab *v, int lower, int max_len,
                    axf_err *err)
{
    axf_dataset *td = axf_dataset_load_for(path, NULL, &m->cfg, 0, err);
    if (!td)
        return -1;
    axf_encoded *et = axf_encode_dataset(td, v, lower, max_len, err);
    axf_dataset_free(td);
    if (!et)
        return -1;
    int *pred = axf_xmalloc(sizeof(int) * (size_t)(et->n + 1));
    double loss, acc;
    int erc = axf_train_evaluate_plan(m, hard, et, 64, &loss, &acc, pred, err);
    if (erc == 0) {
        if (m->cfg.task == AXF_TASK_REGRESS) {
            float *score = axf_xmalloc(sizeof(float) * (size_t)et->n);
            erc = axf_train_predict_plan(m, hard, et, 64, score, err);
            if (erc == 0)
                printf("test %s: MSE %.4f  Pearson %.4f  Spearman %.4f  (%d examples)\n", path, -acc,
                       axf_metric_pearson(score, et->targets, et->n), axf_metric_spearman(score, et->targets, et->n),
                       et->n);
            free(score);
        } else if (m->cfg.num_labels == 2) {
            printf("test %s: accuracy %.4f  F1 %.4f  MCC %.4f  (%d examples)\n", path, acc,
                   axf_metric_f1(pred, et->labels, et->n), axf_metric_mcc(pred, et->labels, et->n), et->n);
        } else {
            printf("test %s: accuracy %.4f (%d examples)\n", path, acc, et->n);
        }
    }
    free(pred);
    axf_encoded_free(et);
    return erc;
}

int axf_cmd_finetune(int argc, char **argv)
{
    axf_dataset *train = NULL, *dev = NULL;
    axf_encoded *etrain = NULL, *edev = NULL;
    axf_vocab *v = NULL;
    axf_model *m = NULL;
    axf_plan *hard = NULL;
    int lower;
    axf_err err;
    ft_args a;
    int rc;
    if (!parse(argc, argv, &a, &rc))
        return rc;
    rc = 1;
    if (load_data(&a, &train, &dev, &err) || !(m = make_model(&a, train, &v, &lower, &hard, &err)))
        goto fail;
    a.c.o.plan = hard;
    if (!(etrain = axf_encode_dataset(train, v, lower, a.c.max_len, &err)) ||
        (dev && !(edev = axf_encode_dataset(dev, v, lower, a.c.max_len, &err))))
        goto fail;
    const axf_config *cfg = &m->cfg;
    fprintf(stderr, "finetune: %s, %d training examples, %d dev; model %d layers x %d, %d heads, FFN %d, "
                    "vocab %d, %s\n", train->task, etrain->n, edev ? edev->n : 0, cfg->n_layers, cfg->hidden,
            cfg->n_heads, cfg->ffn, cfg->vocab_size, a.init ? "pre-trained" : "from scratch");

    axf_train_result res;
    if (axf_finetune_run(m, etrain, edev, &a.c.o, a.out, v, axf_cli_train_progress, &a.c.progress, &res, &err))
        goto fail;
    char best[200];
    snprintf(best, sizeof best, "best dev %s %.4f at step %ld of %ld%s",
             cfg->task == AXF_TASK_REGRESS ? "-MSE" : "accuracy", res.best_metric, res.best_step, res.steps,
             res.stopped_early ? " (early stop)" : "");
    axf_cli_train_summary(&a.c, &res, edev ? best : NULL, a.out);
    for (int i = 0; i < a.n_test; i++)
        if (run_test(a.test[i], m, hard, v, lower, a.c.max_len, &err))
            goto fail;
    rc = 0;
fail:
    if (rc)
        axf_cli_fail(err.msg);
    axf_dataset_free(train);
    axf_dataset_free(dev);
    axf_encoded_free(etrain);
    axf_encoded_free(edev);
    axf_vocab_free(v);
    axf_model_free(m);
    axf_plan_free(hard);
    return rc;
}
