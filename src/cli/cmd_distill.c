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
    "  --teacher DIR       the original model (its config's hard attention applies)\n"
    "  --student DIR       the exported model to recover (its vocab.txt is used)\n"
    "  --train FILE        training data; repeatable\n"
    "  --search FILE       the search split: left out of training, used for selection\n"
    "  --test FILE         evaluate the student before and after on FILE (repeatable; never used\n"
    "                      for selection)\n"
    "  --task NAME         task of the files (default: detected)\n"
    "  --max-len N         tokens per example (default 128, at most the models' positions)\n"
    "  --alpha X (0.5)  --temperature X (2.0)  --match-hidden W (0: off)\n"
    "  --int8-out DIR2     also write the distilled model with every block in int8 (axf/quant.h)\n"
    "                      to DIR2, and evaluate it on the --test files\n"
    "training (as `axf finetune`):\n"
    "  --epochs N (3)  --steps N  --batch N (32)  --lr X (5e-5)  --warmup FRAC (0.1)\n"
    "  --weight-decay X (0.01)  --clip X (1.0)  --dropout X (0.1)  --attn-dropout X (0.1)\n"
    "  --eval-every N (each epoch)  --patience N (never)  --seed N (42)  --threads N (2)  --resume\n"
    "\n"
    "Same data, options, seed and thread count give the same model bit for bit.\n"
    "Exit status: 0 done, 1 bad input (message names the file), 2 usage.\n";

#define MAX_FILES 16

typedef struct {
    const char *train[MAX_FILES], *test[MAX_FILES];
    int n_train, n_test;
    const char *teacher, *student, *search, *task, *out, *int8_out;
    axf_distill_opts kd;
    tu_common c;
} ds_args;

static int parse(int argc, char **argv, ds_args *a)
{
    memset(a, 0, sizeof *a);
    tu_common_defaults(&a->c);
    a->kd = axf_distill_opts_default();
    a->c.max_len = 0; /* default: 128, or fewer when the models have fewer positions */
    static const char *const shape[] = {"--layers", "--hidden", "--heads", "--ffn", "--act", "--cased", NULL};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        for (int s = 0; shape[s]; s++)
            if (!strcmp(k, shape[s]))
                return axf_cli_usage("distill", "the student's shape and casing come from --student");
        int shared = tu_common_opt("distill", argc, argv, &i, &a->c);
        if (shared < 0)
            return 2;
        if (shared)
            continue;
#define NEEDV() do { if (!v) return tu_bad("distill", k, "a value"); i++; } while (0)
        if (!strcmp(k, "--train") || !strcmp(k, "--test")) {
            NEEDV();
            int *n = k[2] == 't' && k[3] == 'r' ? &a->n_train : &a->n_test;
            if (*n == MAX_FILES)
                return axf_cli_usage("distill", "too many --train or --test files");
            (n == &a->n_train ? a->train : a->test)[(*n)++] = v;
        } else if (!strcmp(k, "--teacher")) {
            NEEDV();
            a->teacher = v;
        } else if (!strcmp(k, "--student")) {
            NEEDV();
            a->student = v;
        } else if (!strcmp(k, "--search")) {
            NEEDV();
            a->search = v;
        } else if (!strcmp(k, "--task")) {
            NEEDV();
            a->task = v;
        } else if (!strcmp(k, "--out")) {
            NEEDV();
            a->out = v;
        } else if (!strcmp(k, "--int8-out")) {
            NEEDV();
            a->int8_out = v;
        } else if (!strcmp(k, "--alpha")) {
            NEEDV();
            if (tu_float(v, 0.0, 1.0, &a->kd.alpha))
                return tu_bad("distill", k, "a number in 0..1");
        } else if (!strcmp(k, "--temperature")) {
            NEEDV();
            if (tu_float(v, 0.01, 100.0, &a->kd.temperature))
                return tu_bad("distill", k, "a number in 0.01..100");
        } else if (!strcmp(k, "--match-hidden")) {
            NEEDV();
            if (tu_float(v, 0.0, 1000.0, &a->kd.hid_weight))
                return tu_bad("distill", k, "a number in 0..1000");
        } else if (!strcmp(k, "--patience")) {
            NEEDV();
            long lv;
            if (tu_long(v, 0, 100000000L, &lv))
                return tu_bad("distill", k, "an integer in 0..100000000");
            a->c.o.patience = (int)lv;
        } else {
            char msg[256];
            snprintf(msg, sizeof msg, "unexpected argument '%.200s'", k);
            return axf_cli_usage("distill", msg);
        }
#undef NEEDV
    }
    if (!a->teacher || !a->student)
        return axf_cli_usage("distill", "--teacher MODEL_DIR and --student EXPORTED_DIR are required");
    if (!a->n_train || !a->search)
        return axf_cli_usage("distill", "--train FILE and --search FILE are required");
    if (!a->out)
        return axf_cli_usage("distill", "--out DIR is required");
    if (!(a->c.o.lr > 0))
        return axf_cli_usage("distill", "--lr must be positive");
    return 0;
}

/* An example's text as one string, the key under which the search split is left out. */
static char *ex_key(const axf_example *e)
{
    size_t na = strlen(e->a), nb = e->b ? strlen(e->b) : 0;
    char *k = malloc(na + nb + 3);
    memcpy(k, e->a, na);
    k[na] = '\t';
    k[na + 1] = e->b ? '1' : '0';
    memcpy(k + na + 2, e->b ? e->b : "", nb + 1);
    return k;
}

static int key_cmp(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* Appends the examples of path (read for the student's classes) that are not in the sorted keys. */
static int add_train(axf_dataset **train, const char *path, const char *task, const axf_config *cfg,
                     char **keys, int nk, int *dropped, axf_err *err)
{
    axf_dataset *d = axf_dataset_load_for(path, task, cfg, 0, err);
    if (!d)
        return -1;
    if (!*train)
        *train = axf_dataset_new(d->task, d->num_labels, d->kind);
    for (int i = 0; i < d->n; i++) {
        const axf_example *e = &d->ex[i];
        if (d->kind == AXF_TASK_CLASSIFY && e->label < 0) {
            axf_err_set(err, "%s: example %d has no label", path, i + 1);
            axf_dataset_free(d);
            return -1;
        }
        char *k = ex_key(e);
        int in_search = nk > 0 && bsearch(&k, keys, (size_t)nk, sizeof *keys, key_cmp) != NULL;
        free(k);
        if (in_search)
            (*dropped)++;
        else
            axf_dataset_add(*train, e->a, e->b, e->label, e->target);
    }
    axf_dataset_free(d);
    return 0;
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

/* The student with every block in int8 (its hard attention kept), written to dir. */
static axf_model *write_int8(const axf_model *m, const axf_plan *plan, const axf_vocab *v, const char *dir,
                             axf_plan **hard, axf_err *err)
{
    axf_plan *p = axf_plan_clone(plan);
    for (int l = 0; l < p->n_layers; l++) {
        p->layers[l].int8_attn = p->layers[l].attn_on;
        p->layers[l].int8_ffn = p->layers[l].ffn_on;
    }
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

int axf_cmd_distill(int argc, char **argv)
{
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    ds_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    axf_set_threads(a.c.threads);
    axf_err err;
    if (axf_io_check_dir_writable(a.out, &err) || (a.int8_out && axf_io_check_dir_writable(a.int8_out, &err)))
        return axf_cli_fail(err.msg);
    axf_model *teacher = NULL, *student = NULL;
    axf_plan *tplan = NULL, *splan = NULL;
    axf_vocab *v = NULL;
    axf_dataset *search = NULL, *train = NULL;
    axf_encoded *etrain = NULL, *esearch = NULL;
    char **keys = NULL;
    double *before = NULL;
    axf_model *q8 = NULL;
    axf_plan *q8plan = NULL;
    rc = 1;

    if (!(teacher = axf_model_load(a.teacher, &err)) || !(tplan = axf_plan_load_hard(a.teacher, teacher, &err)) ||
        !(student = axf_model_load(a.student, &err)) || !(splan = axf_plan_load_hard(a.student, student, &err)))
        goto fail;
    if (!(v = axf_vocab_load_dir(a.student, &student->cfg, &err)))
        goto fail;
    if (axf_vocab_size(v) != student->cfg.vocab_size) {
        axf_err_set(&err, "%s: the tokenizer has %d tokens, the model %d", a.student, axf_vocab_size(v),
                    student->cfg.vocab_size);
        goto fail;
    }
    int smax = axf_config_max_len(&student->cfg), tmax = axf_config_max_len(&teacher->cfg);
    if (!a.c.max_len)
        a.c.max_len = 128 < smax ? (128 < tmax ? 128 : tmax) : (smax < tmax ? smax : tmax);
    if (a.c.max_len > smax || a.c.max_len > tmax) {
        axf_err_set(&err, "--max-len %d exceeds the models' positions (%d, %d)", a.c.max_len, smax, tmax);
        goto fail;
    }

    /* data: training minus the search split */
    if (!(search = axf_dataset_load_for(a.search, a.task, &student->cfg, 0, &err)))
        goto fail;
    keys = malloc(sizeof *keys * (size_t)(search->n + 1));
    for (int i = 0; i < search->n; i++)
        keys[i] = ex_key(&search->ex[i]);
    qsort(keys, (size_t)search->n, sizeof *keys, key_cmp);
    int dropped = 0;
    for (int i = 0; i < a.n_train; i++)
        if (add_train(&train, a.train[i], a.task ? a.task : search->task, &student->cfg, keys, search->n,
                      &dropped, &err))
            goto fail;
    if (train->n < 2) {
        axf_err_set(&err, "%s: fewer than 2 training examples outside the search split", a.train[0]);
        goto fail;
    }
    int lower = student->cfg.do_lower_case;
    if (!(etrain = axf_encode_dataset(train, v, lower, a.c.max_len, &err)) ||
        !(esearch = axf_encode_dataset(search, v, lower, a.c.max_len, &err)))
        goto fail;
    fprintf(stderr, "distill: %s, %d training examples (%d of the search split left out), %d search; "
                    "student %d layers, %zu parameters; teacher %d layers, %zu parameters; alpha %g, T %g%s\n",
            train->task, etrain->n, dropped, esearch->n, student->cfg.n_layers, axf_model_params(student),
            teacher->cfg.n_layers, axf_model_params(teacher), (double)a.kd.alpha, (double)a.kd.temperature,
            a.kd.hid_weight > 0 ? ", hidden states matched" : "");

    /* the test files before */
    before = calloc((size_t)a.n_test + 1, 2 * sizeof(double));
    for (int i = 0; i < a.n_test; i++) {
        axf_encoded *et = load_encoded(a.test[i], a.task, student, v, a.c.max_len, &err);
        int erc = et ? axf_train_evaluate_plan(student, splan, et, 64, &before[2 * i], &before[2 * i + 1], NULL, &err)
                     : -1;
        axf_encoded_free(et);
        if (erc)
            goto fail;
    }

    a.c.o.plan = splan;
    tu_progress p;
    tu_progress_init(&p);
    axf_train_result res;
    int trc = axf_distill_run(student, teacher, tplan, etrain, esearch, &a.kd, &a.c.o, a.out, v, tu_progress_cb, &p,
                              &res, &err);
    tu_progress_end(&p);
    if (trc)
        goto fail;
    if (res.resumed_from)
        printf("resumed from step %d\n", res.resumed_from);
    char dur[32];
    tu_duration(res.seconds, dur, sizeof dur);
    printf("best search-split %s %.4f at step %ld of %ld%s\n", student->cfg.task == AXF_TASK_REGRESS ? "-MSE" : "accuracy",
           res.best_metric, res.best_step, res.steps, res.stopped_early ? " (early stop)" : "");
    printf("training: %ld steps, %ld tokens, %.0f tokens/s, %s\n", res.steps, res.tokens, res.tokens_per_s, dur);
    printf("model written to %s\n", a.out);
    if (a.int8_out) {
        if (!(q8 = write_int8(student, splan, v, a.int8_out, &q8plan, &err)))
            goto fail;
        printf("int8 model written to %s (%zu -> %zu bytes of weights)\n", a.int8_out, axf_model_bytes(student),
               axf_model_bytes(q8));
    }
    for (int i = 0; i < a.n_test; i++) {
        axf_encoded *et = load_encoded(a.test[i], a.task, student, v, a.c.max_len, &err);
        double loss, metric;
        int erc = et ? axf_train_evaluate_plan(student, splan, et, 64, &loss, &metric, NULL, &err) : -1;
        if (erc == 0) {
            print_eval("before", a.test[i], student, before[2 * i], before[2 * i + 1], et->n);
            print_eval("after ", a.test[i], student, loss, metric, et->n);
        }
        /* the int8 model through the training forward: weights as int8, inputs float32 (axf eval
         * runs the int8 products themselves) */
        if (erc == 0 && q8 && (erc = axf_train_evaluate_plan(q8, q8plan, et, 64, &loss, &metric, NULL, &err)) == 0)
            print_eval("int8  ", a.test[i], q8, loss, metric, et->n);
        axf_encoded_free(et);
        if (erc)
            goto fail;
    }
    rc = 0;
    goto done;
fail:
    rc = axf_cli_fail(err.msg);
done:
    for (int i = 0; keys && search && i < search->n; i++)
        free(keys[i]);
    free(keys);
    free(before);
    axf_dataset_free(search);
    axf_dataset_free(train);
    axf_encoded_free(etrain);
    axf_encoded_free(esearch);
    axf_vocab_free(v);
    axf_plan_free(tplan);
    axf_plan_free(splan);
    axf_model_free(teacher);
    axf_model_free(student);
    axf_model_free(q8);
    axf_plan_free(q8plan);
    return rc;
}
