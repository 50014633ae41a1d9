/* The training commands' shared options and progress line (cmd_train_util.h). */
#include "cmd_train_util.h"

#include "axf/fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char axf_cli_train_footer[] =
    "\n"
    "Same data, options, seed and thread count give the same model bit for bit.\n"
    "Exit status: 0 done, 1 bad input (message names the file), 2 usage.\n";

static const char *const acts[] = {"gelu", "gelu_tanh", "relu", NULL}; /* axf_act's order */

void axf_cli_train_init(axf_cli_train *c)
{
    memset(c, 0, sizeof *c);
    c->layers = 4;
    c->hidden = 256;
    c->heads = 4;
    c->ffn = 1024;
    c->max_len = 128;
    c->threads = 2;
    c->act = AXF_ACT_GELU;
    c->o = axf_train_opts_default();
    const axf_opt shape[] = {
        AXF_OPT_INT("--layers", &c->layers, 1, AXF_MAX_LAYERS, "N", "encoder layers ({})"),
        AXF_OPT_INT("--hidden", &c->hidden, 1, 100000000, "N", "hidden size ({})"),
        AXF_OPT_INT("--heads", &c->heads, 1, AXF_MAX_HEADS, "N", "attention heads ({})"),
        AXF_OPT_INT("--ffn", &c->ffn, 1, 100000000, "N", "FFN width ({})"),
        AXF_OPT_CHOICE("--act", &c->act, acts, "gelu|gelu_tanh|relu", "activation ({})"),
        AXF_OPT_FLAG("--cased", &c->cased, "keep case (default: lower-case input)"),
        AXF_OPT_END,
    };
    const axf_opt loop[] = {
        AXF_OPT_INT("--epochs", &c->o.epochs, 1, 100000000, "N", "passes over the training data ({})"),
        AXF_OPT_LONG("--steps", &c->o.max_steps, 1, 100000000, "N", "optimiser steps (overrides --epochs)"),
        AXF_OPT_INT("--batch", &c->o.batch_size, 1, 100000000, "N", "examples a step ({})"),
        AXF_OPT_FLOAT("--lr", &c->o.lr, 0, 1, "X", "peak learning rate ({})"),
        AXF_OPT_FLOAT("--warmup", &c->o.warmup, 0, 0.95, "FRAC", "share of the steps warming up ({})"),
        AXF_OPT_FLOAT("--weight-decay", &c->o.weight_decay, 0, 10, "X", "AdamW weight decay ({})"),
        AXF_OPT_FLOAT("--clip", &c->o.clip, 0, 1e6, "X", "gradient norm clip ({})"),
        AXF_OPT_FLOAT("--dropout", &c->o.hidden_dropout, 0, 0.95, "X", "hidden dropout ({})"),
        AXF_OPT_FLOAT("--attn-dropout", &c->o.attn_dropout, 0, 0.95, "X", "attention dropout ({})"),
        AXF_OPT_INT("--eval-every", &c->o.eval_every, 0, 100000000, "N",
                    "steps between dev evaluations (default: each epoch)"),
        AXF_OPT_U64("--seed", &c->o.seed, "N", "seed of initialisation, order and dropout ({})"),
        AXF_OPT_INT("--threads", &c->threads, 1, 256, "N", "threads ({})"),
        AXF_OPT_FLAG("--resume", &c->o.resume, "continue from DIR/last"),
        AXF_OPT_END,
    };
    memcpy(c->shape, shape, sizeof shape);
    memcpy(c->loop, loop, sizeof loop);
}

int axf_cli_train_ready(const char *cmd, const char *bad, axf_cli_train *c, const char *out_dir, const char *out2,
                        int out2_dir, int *status)
{
    if (bad) {
        *status = axf_cli_usage(cmd, bad);
        return 0;
    }
    axf_set_threads(c->threads);
    axf_err err;
    if (axf_io_check_dir_writable(out_dir, &err) ||
        (out2 && (out2_dir ? axf_io_check_dir_writable(out2, &err) : axf_io_check_writable(out2, &err)))) {
        *status = axf_cli_fail(err.msg);
        return 0;
    }
    axf_cli_progress_init(&c->progress, cmd, 0.2, 10.0);
    return 1;
}

int axf_cli_train_progress(const axf_train_status *st, void *ud)
{
    axf_cli_progress *p = ud;
    if (!axf_cli_progress_due(p, st->evaluated || st->step >= st->total_steps))
        return 0;
    char el[32], eta[32], dev[64] = "";
    axf_cli_duration(st->elapsed, el, sizeof el);
    axf_cli_duration(st->eta, eta, sizeof eta);
    if (!isnan(st->dev_metric)) {
        if (st->dev_metric <= 0)
            snprintf(dev, sizeof dev, "  dev loss %.4f", st->dev_loss);
        else
            snprintf(dev, sizeof dev, "  dev acc %.2f%% loss %.4f", 100 * st->dev_metric, st->dev_loss);
    }
    axf_cli_progress_print(p, st->evaluated, "%s  step %ld/%ld  epoch %d  loss %.4f  %.0f tok/s  %s elapsed  ETA %s%s",
                           st->evaluated ? "eval" : st->phase, st->step, st->total_steps, st->epoch, st->loss,
                           st->tokens_per_s, el, eta, dev);
    return 0;
}

void axf_cli_train_summary(axf_cli_train *c, const axf_train_result *res, const char *best, const char *out)
{
    axf_cli_progress_end(&c->progress);
    char dur[32];
    axf_cli_duration(res->seconds, dur, sizeof dur);
    if (res->resumed_from)
        printf("resumed from step %d\n", res->resumed_from);
    if (best)
        printf("%s\n", best);
    printf("training: %ld steps, %ld tokens, %.0f tokens/s, %s\n", res->steps, res->tokens, res->tokens_per_s, dur);
    printf("model written to %s\n", out);
}

/* An example's text as one string: a, a tab, whether it has b, b. */
static char *example_key(const axf_example *e)
{
    size_t na = strlen(e->a), nb = e->b ? strlen(e->b) : 0;
    char *k = axf_xmalloc(na + nb + 3);
    memcpy(k, e->a, na);
    k[na] = '\t';
    k[na + 1] = e->b ? '1' : '0';
    memcpy(k + na + 2, e->b ? e->b : "", nb + 1);
    return k;
}

static int key_cmp(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

axf_dataset *axf_cli_train_data(const char *const *files, int n, const char *task, const axf_config *cfg,
                                const axf_dataset *leave_out, int *dropped, axf_err *err)
{
    axf_dataset *all = NULL;
    int nk = leave_out ? leave_out->n : 0;
    char **keys = axf_xmalloc(sizeof *keys * (size_t)(nk + 1));
    for (int i = 0; i < nk; i++)
        keys[i] = example_key(&leave_out->ex[i]);
    qsort(keys, (size_t)nk, sizeof *keys, key_cmp);
    *dropped = 0;
    for (int f = 0; f < n; f++) {
        axf_dataset *d = axf_dataset_load_for(files[f], task, cfg, 0, err);
        if (!d)
            goto fail;
        if (!all) {
            all = axf_dataset_new(d->task, d->num_labels, d->kind);
        } else if (strcmp(all->task, d->task) != 0) {
            axf_err_set(err, "%s: task %s differs from the first training file's (%s)", files[f], d->task, all->task);
            axf_dataset_free(d);
            goto fail;
        }
        if (d->num_labels > all->num_labels)
            all->num_labels = d->num_labels;
        for (int i = 0; i < d->n; i++) {
            const axf_example *e = &d->ex[i];
            if (d->kind == AXF_TASK_CLASSIFY && e->label < 0) {
                axf_err_set(err, "%s: example %d has no label", files[f], i + 1);
                axf_dataset_free(d);
                goto fail;
            }
            int left_out = 0;
            if (nk > 0) {
                char *k = example_key(e);
                left_out = bsearch(&k, keys, (size_t)nk, sizeof *keys, key_cmp) != NULL;
                free(k);
            }
            if (left_out)
                (*dropped)++;
            else
                axf_dataset_add(all, e->a, e->b, e->label, e->target);
        }
        axf_dataset_free(d);
    }
    goto done;
fail:
    axf_dataset_free(all);
    all = NULL;
done:
    for (int i = 0; i < nk; i++)
        free(keys[i]);
    free(keys);
    return all;
}
