/* `axf distill`: recovers an exported (compacted) model by knowledge distillation from the model it
 * was cut from, on the training split minus the search split, selecting on the search split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/compact.h"
#include "axf/data.h"
#include "axf/fileio.h"
#include "axf/train.h"
#include "cli.h"
#include "cmd_train_util.h"

static const char *usage =
    "usage: axf distill --teacher MODEL_DIR --student EXPORTED_DIR --train FILE [--train FILE ...]\n"
    "                   --search FILE --out DIR [options]\n"
    "\n"
    "Trains the student (a model written by `axf export`: any per-layer heads and FFN widths, its\n"
    "hard attention kept, int8 matrices frozen) to match the teacher (the original model):\n"
    "  loss = alpha * T^2 * KL(teacher || student at temperature T) + (1 - alpha) * task loss\n"
    "(+ W * mean squared difference of the last hidden states with --match-hidden W). Examples of\n"
    "--search are removed from the training data and the search split selects the model: the best\n"
    "on it (accuracy, or -MSE), the student as it came included, is written to DIR in the form\n"
    "`axf eval` reads. DIR/last holds the resume point; DIR/train_log.tsv one line per evaluation.\n"
    "\n"
    "\n";

#define MAX_FILES 16

typedef struct {
    axf_cli_train c;
    const char *teacher, *student, *search, *task, *out, *int8_out;
    const char *train[MAX_FILES], *test[MAX_FILES];
    int n_train, n_test;
    axf_distill_opts kd;
} ds_args;

/* Returns 1 when the command goes on, else 0 and *status. */
static int parse(int argc, char **argv, ds_args *a, int *status)
{
    memset(a, 0, sizeof *a);
    axf_cli_train_init(&a->c);
    a->kd = axf_distill_opts_default();
    a->c.max_len = 0; /* default: 128, or fewer when the models have fewer positions */
    static const char *shape = "the student's shape and casing come from --student";
    axf_opt opts[] = {
        AXF_OPT_STR("--teacher", &a->teacher, "DIR", "the original model (its config's hard attention applies)"),
        AXF_OPT_STR("--student", &a->student, "DIR", "the exported model to recover (its vocab.txt is used)"),
        AXF_OPT_STR("--out", &a->out, "DIR", "where the distilled model goes"),
        AXF_OPT_LIST("--train", a->train, &a->n_train, MAX_FILES, "FILE", "training data; repeatable"),
        AXF_OPT_STR("--search", &a->search, "FILE", "the search split: left out of training, used for selection"),
        AXF_OPT_LIST("--test", a->test, &a->n_test, MAX_FILES, "FILE",
                     "evaluate the student before and after on FILE (repeatable; never used\n"
                     "for selection)"),
        AXF_OPT_STR("--task", &a->task, "NAME", "task of the files (default: detected)"),
        AXF_OPT_INT("--max-len", &a->c.max_len, 3, 100000000, "N",
                    "tokens per example (default 128, at most the models' positions)"),
        AXF_OPT_FLOAT("--alpha", &a->kd.alpha, 0, 1, "X", "weight of the distillation loss ({})"),
        AXF_OPT_FLOAT("--temperature", &a->kd.temperature, 0.01, 100, "X", "softmax temperature T ({})"),
        AXF_OPT_FLOAT("--match-hidden", &a->kd.hid_weight, 0, 1000, "W", "weight of the hidden states' match (0: off)"),
        AXF_OPT_STR("--int8-out", &a->int8_out, "DIR2",
                    "also write the distilled model with every block and the word\n"
                    "embeddings in int8 (axf/quant.h)\n"
                    "to DIR2, and evaluate it on the --test files"),
        AXF_OPT_HEAD("training (as `axf finetune`):"),
        AXF_OPT_TABLE(a->c.loop),
        AXF_OPT_INT("--patience", &a->c.o.patience, 0, 100000000, "N",
                    "stop after N evaluations without improvement (default: never)"),
        AXF_OPT_REFUSE("--layers", shape), AXF_OPT_REFUSE("--hidden", shape), AXF_OPT_REFUSE("--heads", shape),
        AXF_OPT_REFUSE("--ffn", shape), AXF_OPT_REFUSE("--act", shape), AXF_OPT_REFUSE("--cased", shape),
        AXF_OPT_END};
    axf_cmd_args args = {.cmd = "distill", .usage = usage, .footer = axf_cli_train_footer};
    if (!axf_opt_parse(&args, opts, argc, argv, status))
        return 0;
    const char *bad = !a->teacher || !a->student ? "--teacher MODEL_DIR and --student EXPORTED_DIR are required"
                      : !a->n_train || !a->search ? "--train FILE and --search FILE are required"
                      : !a->out ? "--out DIR is required"
                      : !(a->c.o.lr > 0) ? "--lr must be positive" : NULL;
    return axf_cli_train_ready("distill", bad, &a->c, a->out, a->int8_out, 1, status);
}

static axf_encoded *load_encoded(const char *path, const char *task, const axf_model *m, const axf_vocab *v,
                                 int max_len, axf_err *err)
{
    axf_dataset *d = axf_dataset_load_for(path, task, &m->cfg, 0, err);
    if (!d)
        return NULL;
    axf_encoded *e = axf_encode_dataset(d, v, m->cfg.do_lower_case, max_len, err);
    axf_dataset_free(d);
    return e;
}

/* The student with every block and its word embeddings in int8 (its hard attention kept), written
 * to dir. */
static axf_model *write_int8(const axf_model *m, const axf_plan *plan, const axf_vocab *v, const char *dir,
                             axf_plan **hard, axf_err *err)
{
    axf_plan *p = axf_plan_clone(plan);
    for (int l = 0; l < p->n_layers; l++) {
        p->layers[l].int8_attn = p->layers[l].attn_on;
        p->layers[l].int8_ffn = p->layers[l].ffn_on;
    }
    p->int8_embed = 1;
    axf_model *q = axf_compact(m, p, hard, err);
    axf_plan_free(p);
    if (q && (axf_compact_save(q, *hard, dir, NULL, err) || axf_vocab_save_dir(v, dir, err))) {
        axf_model_free(q);
        axf_plan_free(*hard);
        *hard = NULL;
        return NULL;
    }
    return q;
}

static void print_eval(const char *what, const char *path, const axf_model *m, double loss, double metric, int n)
{
    if (m->cfg.task == AXF_TASK_REGRESS)
        printf("%s %s: MSE %.4f  loss %.4f  (%d examples)\n", what, path, -metric, loss, n);
    else
        printf("%s %s: accuracy %.4f  loss %.4f  (%d examples)\n", what, path, metric, loss, n);
}

/* The models, their hard attention and the student's tokenizer. */
typedef struct {
    axf_model *teacher, *student;
    axf_plan *tplan, *splan;
    axf_vocab *v;
} ds_models;

static void free_models(ds_models *md)
{
    axf_model_free(md->teacher);
    axf_model_free(md->student);
    axf_plan_free(md->tplan);
    axf_plan_free(md->splan);
    axf_vocab_free(md->v);
}

/* Loads both models and the tokenizer, and settles --max-len (at most both models' positions). */
static int load_models(ds_args *a, ds_models *md, axf_err *err)
{
    memset(md, 0, sizeof *md);
    if (!(md->teacher = axf_model_load(a->teacher, err)) ||
        !(md->tplan = axf_plan_load_hard(a->teacher, md->teacher, err)) ||
        !(md->student = axf_model_load(a->student, err)) ||
        !(md->splan = axf_plan_load_hard(a->student, md->student, err)) ||
        !(md->v = axf_vocab_load_dir(a->student, &md->student->cfg, err)))
        return -1;
    if (axf_vocab_size(md->v) != md->student->cfg.vocab_size)
        return axf_err_set(err, "%s: the tokenizer has %d tokens, the model %d", a->student, axf_vocab_size(md->v),
                           md->student->cfg.vocab_size);
    int smax = axf_config_max_len(&md->student->cfg), tmax = axf_config_max_len(&md->teacher->cfg);
    if (!a->c.max_len)
        a->c.max_len = 128 < smax ? (128 < tmax ? 128 : tmax) : (smax < tmax ? smax : tmax);
    if (a->c.max_len > smax || a->c.max_len > tmax)
        return axf_err_set(err, "--max-len %d exceeds the models' positions (%d, %d)", a->c.max_len, smax, tmax);
    return 0;
}

/* The search split, and the training files without its examples (*dropped of them). */
static int load_data(const ds_args *a, const ds_models *md, axf_dataset **search, axf_dataset **train, int *dropped,
                     axf_err *err)
{
    if (!(*search = axf_dataset_load_for(a->search, a->task, &md->student->cfg, 0, err)))
        return -1;
    if (!(*train = axf_cli_train_data(a->train, a->n_train, a->task ? a->task : (*search)->task, &md->student->cfg,
                                      *search, dropped, err)))
        return -1;
    if ((*train)->n < 2)
        return axf_err_set(err, "%s: fewer than 2 training examples outside the search split", a->train[0]);
    return 0;
}

/* The student on every --test file: before training into before[] (loss, metric per file); after
 * it printed beside those, and the int8 model (q8, when written) after them. */
static int eval_tests(const ds_args *a, const ds_models *md, double *before, int after, axf_model *q8,
                      const axf_plan *q8plan, axf_err *err)
{
    for (int i = 0; i < a->n_test; i++) {
        axf_encoded *et = load_encoded(a->test[i], a->task, md->student, md->v, a->c.max_len, err);
        double loss, metric;
        int erc = et ? axf_train_evaluate_plan(md->student, md->splan, et, 64, &loss, &metric, NULL, err) : -1;
        if (erc == 0 && !after) {
            before[2 * i] = loss;
            before[2 * i + 1] = metric;
        } else if (erc == 0) {
            print_eval("before", a->test[i], md->student, before[2 * i], before[2 * i + 1], et->n);
            print_eval("after ", a->test[i], md->student, loss, metric, et->n);
        }
        /* the int8 model through the training forward: weights as int8, inputs float32 (axf eval
         * runs the int8 products themselves) */
        if (erc == 0 && q8 && (erc = axf_train_evaluate_plan(q8, q8plan, et, 64, &loss, &metric, NULL, err)) == 0)
            print_eval("int8  ", a->test[i], q8, loss, metric, et->n);
        axf_encoded_free(et);
        if (erc)
            return -1;
    }
    return 0;
}

int axf_cmd_distill(int argc, char **argv)
{
    ds_models md;
    axf_dataset *search = NULL, *train = NULL;
    axf_encoded *etrain = NULL, *esearch = NULL;
    axf_model *q8 = NULL;
    axf_plan *q8plan = NULL;
    int dropped = 0;
    axf_err err;
    ds_args a;
    int rc;
    if (!parse(argc, argv, &a, &rc))
        return rc;
    double *before = axf_xcalloc((size_t)a.n_test + 1, 2 * sizeof(double));
    rc = 1;
    if (load_models(&a, &md, &err) || load_data(&a, &md, &search, &train, &dropped, &err))
        goto fail;
    axf_model *student = md.student, *teacher = md.teacher;
    int lower = student->cfg.do_lower_case;
    if (!(etrain = axf_encode_dataset(train, md.v, lower, a.c.max_len, &err)) ||
        !(esearch = axf_encode_dataset(search, md.v, lower, a.c.max_len, &err)))
        goto fail;
    fprintf(stderr, "distill: %s, %d training examples (%d of the search split left out), %d search; "
                    "student %d layers, %zu parameters; teacher %d layers, %zu parameters; alpha %g, T %g%s\n",
            train->task, etrain->n, dropped, esearch->n, student->cfg.n_layers, axf_model_params(student),
            teacher->cfg.n_layers, axf_model_params(teacher), (double)a.kd.alpha, (double)a.kd.temperature,
            a.kd.hid_weight > 0 ? ", hidden states matched" : "");
    if (eval_tests(&a, &md, before, 0, NULL, NULL, &err))
        goto fail;

    a.c.o.plan = md.splan;
    axf_train_result res;
    if (axf_distill_run(student, teacher, md.tplan, etrain, esearch, &a.kd, &a.c.o, a.out, md.v,
                        axf_cli_train_progress, &a.c.progress, &res, &err))
        goto fail;
    char best[200];
    snprintf(best, sizeof best, "best search-split %s %.4f at step %ld of %ld%s",
             student->cfg.task == AXF_TASK_REGRESS ? "-MSE" : "accuracy", res.best_metric, res.best_step, res.steps,
             res.stopped_early ? " (early stop)" : "");
    axf_cli_train_summary(&a.c, &res, best, a.out);
    if (a.int8_out) {
        if (!(q8 = write_int8(student, md.splan, md.v, a.int8_out, &q8plan, &err)))
            goto fail;
        printf("int8 model written to %s (%zu -> %zu bytes of weights)\n", a.int8_out, axf_model_bytes(student),
               axf_model_bytes(q8));
    }
    if (eval_tests(&a, &md, before, 1, q8, q8plan, &err))
        goto fail;
    rc = 0;
    goto done;
fail:
    rc = axf_cli_fail(err.msg);
done:
    free(before);
    axf_dataset_free(search);
    axf_dataset_free(train);
    axf_encoded_free(etrain);
    axf_encoded_free(esearch);
    free_models(&md);
    axf_model_free(q8);
    axf_plan_free(q8plan);
    return rc;
}
