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

/* Model, vocabulary, hard-attention plan and data of o, tokenized into r->enc. */
static int load_inputs(const axf_cli_run_opts *o, axf_cli_run *r, axf_err *err)
{
    if (!(r->m = axf_model_load(o->model_dir, err)) || !(r->v = axf_vocab_load_dir(o->model_dir, &r->m->cfg, err)) ||
        !(r->plan = axf_plan_load_hard(o->model_dir, r->m, err)) ||
        !(r->d = axf_dataset_load_for(o->data, o->task, &r->m->cfg, o->no_labels ? AXF_DATA_NO_LABELS : 0, err)))
        return -1;
    if (r->d->n == 0)
        return axf_err_set(err, "%s: no examples", o->data);
    int max_len = o->max_len < axf_config_max_len(&r->m->cfg) ? o->max_len : axf_config_max_len(&r->m->cfg);
    double t0 = axf_now();
    if (!(r->enc = axf_encode_dataset(r->d, r->v, r->m->cfg.do_lower_case, max_len, err)))
        return -1;
    r->tokenize_s = axf_now() - t0;
    return 0;
}

/* An engine whose scratch is sized for the largest batch actually present, its weights packed
 * when the passes are long enough to pay for it. */
static axf_engine *make_engine(const axf_cli_run *r, int batch, int passes, axf_err *err)
{
    const axf_encoded *e = r->enc;
    long most = 0;
    for (int s = 0; s < e->n; s += batch) {
        int nb = e->n - s < batch ? e->n - s : batch;
        long t = e->off[s + nb] - e->off[s];
        most = t > most ? t : most;
    }
    axf_engine *eng = axf_engine_new(r->m, (int)most, err);
    /* Packing the weights for the engine's own GEMM costs about 0.7 of a 128-token BERT-base
     * pass and saves ~10% of every pass after it: worth it from a few thousand tokens on. */
    if (eng && (long)passes * (e->off[e->n] - e->off[0]) >= 4096)
        axf_engine_freeze_weights(eng, 1);
    return eng;
}

/* One pass's shared state: this rank's examples [ex_lo, ex_hi) in batches of batch. */
typedef struct run_pass {
    const axf_cli_run_opts *o;
    axf_engine *eng;
    int C, batch, passes, ex_lo, ex_hi;
    int bar, stream;         /* a progress bar; rows go out as batches finish (one process) */
    axf_cli_progress pr;
} run_pass;

/* Pass p over this rank's batches into out, then the gather. 0, or -1 with err when any rank
 * failed. */
static int run_one_pass(run_pass *q, axf_cli_run *r, int p, float *out, axf_err *err)
{
    const axf_encoded *e = r->enc;
    int bad = 0, C = q->C, batch = q->batch;
    if (axf_dist_size() > 1)
        axf_dist_agree(axf_dist_hash_str(AXF_DIST_HASH0, "run the model over the data"),
                       "running the model over the data");
    for (int s = q->ex_lo; s < q->ex_hi && !bad; s += batch) {
        int nb = e->n - s < batch ? e->n - s : batch;
        axf_batch b = axf_encoded_batch(e, s, nb);
        if (axf_engine_forward(q->eng, r->plan, &b, out + (size_t)s * C, err)) {
            axf_err_prefix(err, "%s: examples %d..%d", q->o->data, s + 1, s + nb);
            bad = 1;
            break;
        }
        if (p == 0 && q->o->on_batch && q->stream)
            q->o->on_batch(r, s, nb, q->o->batch_ud);
        if (q->bar) /* this rank's share */
            axf_cli_progress_cb((double)p * (q->ex_hi - q->ex_lo) + s + nb - q->ex_lo,
                                (double)q->passes * (q->ex_hi - q->ex_lo), &q->pr);
    }
    if (axf_dist_max(bad))
        return bad ? -1 : axf_err_set(err, "%s: another MPI rank failed (see its message)", q->o->data);
    axf_dist_allgather_rows(out, sizeof(float) * (size_t)C, e->n, q->ex_lo, q->ex_hi - q->ex_lo);
    if (p == 0 && q->o->on_batch && !q->stream)
        q->o->on_batch(r, 0, e->n, q->o->batch_ud);
    return 0;
}

int axf_cli_run_all(const axf_cli_run_opts *o, axf_cli_run *r)
{
    memset(r, 0, sizeof *r);
    axf_err err;
    if (o->threads)
        axf_set_threads(o->threads);
    if (load_inputs(o, r, &err))
        return fail(&err);
    const axf_encoded *e = r->enc;
    run_pass q = {.o = o, .C = r->m->cfg.num_labels, .batch = o->batch < e->n ? o->batch : e->n};
    q.passes = o->repeat > 0 ? o->repeat : 1;
    if (!(q.eng = make_engine(r, q.batch, q.passes, &err)))
        return fail(&err);
    r->logits = axf_xmalloc(sizeof(float) * (size_t)e->n * q.C);
    /* Later passes write to a scratch copy: the same engine, plan and batches, so the same
     * logits; they only time the engine again (medians resist other jobs on the machine). */
    float *scratch = q.passes > 1 ? axf_xmalloc(sizeof(float) * (size_t)e->n * q.C) : NULL;
    double *wall = axf_xmalloc(sizeof(double) * (size_t)q.passes);
    double *cpu = axf_xmalloc(sizeof(double) * (size_t)q.passes);
    /* Over MPI (dist.h) each rank runs its contiguous range of the batches, then the logits are
     * gathered in example order: every rank holds what one process computes. */
    int n_batches = (e->n + q.batch - 1) / q.batch, blo, bhi;
    axf_dist_range(n_batches, &blo, &bhi);
    q.ex_lo = blo * q.batch < e->n ? blo * q.batch : e->n;
    q.ex_hi = bhi * q.batch < e->n ? bhi * q.batch : e->n;
    /* 200,000 examples take minutes: a bar, on a terminal only (scripts read stderr too); rows go
     * out as batches finish, or after the gather when the ranks share the work */
    q.bar = o->progress && isatty(2) && axf_dist_rank() == 0;
    q.stream = axf_dist_size() == 1;
    if (q.bar)
        axf_cli_progress_init(&q.pr, o->progress, 0.1, 5.0);
    int rc = 0;
    for (int p = 0; p < q.passes && !rc; p++) {
        double t0 = axf_now(), c0 = axf_cpu_now(0);
        rc = run_one_pass(&q, r, p, p == 0 ? r->logits : scratch, &err);
        wall[p] = axf_now() - t0;
        cpu[p] = axf_cpu_now(0) - c0;
    }
    if (q.bar)
        axf_cli_progress_end(&q.pr);
    if (!rc) {
        r->engine_s = axf_median(wall, q.passes);
        r->engine_cpu_s = axf_median(cpu, q.passes);
        r->tokens = e->off[e->n] - e->off[0];
    }
    free(scratch), free(wall), free(cpu);
    axf_engine_free(q.eng);
    return rc ? fail(&err) : 0;
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
