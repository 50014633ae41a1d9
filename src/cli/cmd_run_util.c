/* Loading and batched inference shared by `axf predict` and `axf eval`. */
#include "cmd_run_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axf/compact.h"
#include "axf/dist.h"
#include "axf/engine.h"
#include "cli.h"

int axf_cli_run_parse(const char *cmd, const char *usage, const char *footer, int argc, char **argv,
                      axf_cli_run_opts *o, int *status)
{
    memset(o, 0, sizeof *o);
    o->max_len = 128;
    o->batch = 32;
    o->repeat = 1;
    const char *pos[2];
    axf_cmd_args a = {.cmd = cmd, .usage = usage, .footer = footer, .pos = pos, .max_pos = 2};
    axf_opt opts[] = {
        AXF_OPT_HEAD("options:"),
        AXF_OPT_STR("--task", &o->task, "T", "force the data format/task (sst2, cola, mrpc, rte, qnli, mnli, qqp,\n"
                                             "stsb, text, ...)"),
        /* [CLS] a [SEP] is the shortest sequence */
        AXF_OPT_INT("--max-len", &o->max_len, 3, 1 << 16, "N",
                    "truncate examples to N tokens (default {}, at most the model's positions)"),
        AXF_OPT_INT("--batch", &o->batch, 1, 1 << 16, "N", "sequences per packed batch (default {})"),
        AXF_OPT_INT("--threads", &o->threads, 1, 256, "N", "threads (default: OpenBLAS's own)"),
        AXF_OPT_INT("--repeat", &o->repeat, 1, 1000, "N",
                    "run the engine N times over the data (timing: `axf eval` prints the\nmedian times)"),
        AXF_OPT_END};
    if (!axf_opt_parse(&a, opts, argc, argv, status))
        return 0;
    if (a.n_pos != 2) {
        *status = axf_cli_usage(cmd, "needs MODEL_DIR and DATA");
        return 0;
    }
    o->model_dir = pos[0];
    o->data = pos[1];
    return 1;
}

static int fail(axf_err *err)
{
    return axf_cli_fail(err->msg);
}

int axf_cli_run_all(const axf_cli_run_opts *o, axf_cli_run *r)
{
    memset(r, 0, sizeof *r);
    axf_err err;
    if (o->threads)
        axf_set_threads(o->threads);
    if (!(r->m = axf_model_load(o->model_dir, &err)))
        return fail(&err);
    if (!(r->v = axf_vocab_load_dir(o->model_dir, &r->m->cfg, &err)))
        return fail(&err);
    if (!(r->plan = axf_plan_load_hard(o->model_dir, r->m, &err)))
        return fail(&err);
    if (!(r->d = axf_dataset_load_for(o->data, o->task, &r->m->cfg, o->no_labels ? AXF_DATA_NO_LABELS : 0, &err)))
        return fail(&err);
    if (r->d->n == 0) {
        axf_err_set(&err, "%s: no examples", o->data);
        return fail(&err);
    }
    int max_len = o->max_len < axf_config_max_len(&r->m->cfg) ? o->max_len : axf_config_max_len(&r->m->cfg);
    double t0 = axf_now();
    if (!(r->enc = axf_encode_dataset(r->d, r->v, r->m->cfg.do_lower_case, max_len, &err)))
        return fail(&err);
    r->tokenize_s = axf_now() - t0;
    const axf_encoded *e = r->enc;
    int C = r->m->cfg.num_labels, batch = o->batch < e->n ? o->batch : e->n;
    /* the engine's scratch is sized for the largest batch actually present */
    long most = 0;
    for (int s = 0; s < e->n; s += batch) {
        int nb = e->n - s < batch ? e->n - s : batch;
        long t = e->off[s + nb] - e->off[s];
        most = t > most ? t : most;
    }
    axf_engine *eng = axf_engine_new(r->m, (int)most, &err);
    if (!eng)
        return fail(&err);
    /* Packing the weights for the engine's own GEMM costs about 0.7 of a 128-token BERT-base
     * pass and saves ~10% of every pass after it: worth it from a few thousand tokens on. */
    if ((long)(o->repeat > 0 ? o->repeat : 1) * (e->off[e->n] - e->off[0]) >= 4096)
        axf_engine_freeze_weights(eng, 1);
    r->logits = axf_xmalloc(sizeof(float) * (size_t)e->n * C);
    /* Later passes write to a scratch copy: the same engine, plan and batches, so the same
     * logits; they only time the engine again (medians resist other jobs on the machine). */
    int passes = o->repeat > 0 ? o->repeat : 1;
    float *scratch = passes > 1 ? axf_xmalloc(sizeof(float) * (size_t)e->n * C) : NULL;
    double *wall = axf_xmalloc(sizeof(double) * (size_t)passes), *cpu = axf_xmalloc(sizeof(double) * (size_t)passes);
    /* Over MPI (dist.h) each rank runs its contiguous range of the batches, then the logits are
     * gathered in example order: every rank holds what one process computes. */
    int n_batches = (e->n + batch - 1) / batch, blo, bhi;
    axf_dist_range(n_batches, &blo, &bhi);
    int ex_lo = blo * batch < e->n ? blo * batch : e->n, ex_hi = bhi * batch < e->n ? bhi * batch : e->n;
    /* 200,000 examples take minutes: a bar, on a terminal only (scripts read stderr too); rows go
     * out as batches finish, or after the gather when the ranks share the work */
    axf_cli_progress pr;
    int bar = o->progress && isatty(2) && axf_dist_rank() == 0, stream = axf_dist_size() == 1;
    if (bar)
        axf_cli_progress_init(&pr, o->progress, 0.1, 5.0);
    for (int p = 0; p < passes; p++) {
        float *out = p == 0 ? r->logits : scratch;
        if (axf_dist_size() > 1)
            axf_dist_agree(axf_dist_hash_str(AXF_DIST_HASH0, "run the model over the data"),
                           "running the model over the data");
        t0 = axf_now();
        double c0 = axf_cpu_now(0);
        int bad = 0;
        for (int s = ex_lo; s < ex_hi && !bad; s += batch) {
            int nb = e->n - s < batch ? e->n - s : batch;
            axf_batch b = axf_encoded_batch(e, s, nb);
            if (axf_engine_forward(eng, r->plan, &b, out + (size_t)s * C, &err)) {
                axf_err_prefix(&err, "%s: examples %d..%d", o->data, s + 1, s + nb);
                bad = 1;
                break;
            }
            if (p == 0 && o->on_batch && stream)
                o->on_batch(r, s, nb, o->batch_ud);
            if (bar) /* this rank's share */
                axf_cli_progress_cb((double)p * (ex_hi - ex_lo) + s + nb - ex_lo, (double)passes * (ex_hi - ex_lo),
                                    &pr);
        }
        if (axf_dist_max(bad)) {
            axf_engine_free(eng);
            free(scratch), free(wall), free(cpu);
            if (bar)
                axf_cli_progress_end(&pr);
            if (!bad)
                axf_err_set(&err, "%s: another MPI rank failed (see its message)", o->data);
            return fail(&err);
        }
        axf_dist_allgather_rows(out, sizeof(float) * (size_t)C, e->n, ex_lo, ex_hi - ex_lo);
        if (p == 0 && o->on_batch && !stream)
            o->on_batch(r, 0, e->n, o->batch_ud);
        wall[p] = axf_now() - t0;
        cpu[p] = axf_cpu_now(0) - c0;
    }
    if (bar)
        axf_cli_progress_end(&pr);
    r->engine_s = axf_median(wall, passes);
    r->engine_cpu_s = axf_median(cpu, passes);
    free(scratch), free(wall), free(cpu);
    r->tokens = e->off[e->n] - e->off[0];
    axf_engine_free(eng);
    return 0;
}

void axf_cli_run_free(axf_cli_run *r)
{
    free(r->logits);
    axf_encoded_free(r->enc);
    axf_dataset_free(r->d);
    axf_plan_free(r->plan);
    axf_vocab_free(r->v);
    axf_model_free(r->m);
    memset(r, 0, sizeof *r);
}
