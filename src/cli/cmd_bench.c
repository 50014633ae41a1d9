/* `axf bench`: engine speed on random weights against the sgemm floor, i.e. the very GEMM calls
 * of a forward pass (projections, FFN, per-head attention products, pooler, classifier) timed
 * alone on the same shapes. What the engine adds to the floor is its non-GEMM work.
 *
 * Output, one `key=value` per line on stdout (for scripts; times are medians in seconds):
 *   layers hidden heads ffn batch seq threads reps topk    the configuration
 *   engine_s engine_tokens_per_s engine_gflops             full forward pass
 *   gemm_floor_s gemm_floor_tokens_per_s                   the engine's own sgemm calls alone
 *                                                          (axf_engine_gemm_floor)
 *   non_gemm_s non_gemm_share                              engine_s - gemm_floor_s, and / engine_s
 *   blas_floor_s                                           the same shapes as plain OpenBLAS calls on
 *                                                          all threads (attention products included)
 *   flops_per_forward                                      model FLOPs counted as axf_model_flops_per_token
 *                                                          (last layer in full: the engine runs it for the
 *                                                          [CLS] rows only, so engine_gflops is effective)
 *   load_avg                                               1-minute load average at the end (other work
 *                                                          on the machine distorts every figure)
 *   weights                                                packed (axf_engine_freeze_weights, the default)
 *                                                          or cblas (--cblas) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axf/engine.h"
#include "axf/plan.h"
#include "cli.h"

static const char *usage =
    "usage: axf bench [--layers N] [--hidden N] [--heads N] [--ffn N] [--batch N] [--seq N]\n"
    "                 [--threads N] [--reps N] [--topk K] [--vocab N] [--cpu-time] [--cblas]\n"
    "Times the engine on a random BERT of the given shape (default BERT-base) on batch x seq tokens,\n"
    "against the same GEMMs timed alone. Prints key=value lines: medians of --reps runs after 2\n"
    "warm-up runs.\n";

static int cpu_clock, use_cblas;

static double now(void)
{
    return cpu_clock ? axf_cpu_now(0) : axf_now();
}

static void gemm_nt(int M, int N, int K, const float *a, int lda, const float *b, int ldb, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

/* The forward pass's GEMMs on scratch of the same sizes (values are irrelevant to the timing). The
 * last layer, as in the engine, queries with the B [CLS] rows only (R rows after K and V). */
static void gemm_floor(const axf_config *c, int B, int n, float *x, float *q, float *k, float *v, float *ctx,
                       float *inter, float *y, float *s, const axf_model *m)
{
    int T = B * n, H = c->hidden, HS = c->head_dim, NH = c->n_heads, F = c->ffn;
    float sc = 1.0f;
    for (int l = 0; l < c->n_layers; l++) {
        const axf_layer *L = &m->layers[l];
        int cls = l == c->n_layers - 1, R = cls ? B : T, rq = cls ? 1 : n;
        gemm_nt(R, H, H, x, H, L->wq, H, q, H);
        gemm_nt(T, H, H, x, H, L->wk, H, k, H);
        gemm_nt(T, H, H, x, H, L->wv, H, v, H);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++) {
                size_t o = (size_t)b * n * H + (size_t)h * HS, oq = cls ? (size_t)b * H + (size_t)h * HS : o;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rq, n, HS, sc, q + oq, H, k + o, H, 0.0f, s, n);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rq, HS, n, 1.0f, s, n, v + o, H, 0.0f,
                            ctx + oq, H);
            }
        gemm_nt(R, H, H, ctx, H, L->wo, H, y, H);
        gemm_nt(R, F, H, x, H, L->w1, H, inter, F);
        gemm_nt(R, H, F, inter, F, L->w2, F, y, H);
    }
    gemm_nt(B, H, H, x, H, m->pool_w, H, y, H);
    gemm_nt(B, c->num_labels, H, y, H, m->cls_w, H, q, c->num_labels);
}

/* The engine's pass, its own GEMMs alone (axf_engine_gemm_floor) and the same shapes as plain
 * OpenBLAS calls, interleaved reps + 2 times (the first 2 untimed): med[] their medians. */
static int time_passes(axf_engine *e, const axf_plan *plan, const axf_batch *bt, const axf_model *m, int reps,
                       double med[3])
{
    const axf_config *cfg = &m->cfg;
    int batch = bt->n_seq, seq = bt->n_tok / bt->n_seq, T = bt->n_tok;
    axf_err err;
    float *logits = axf_xmalloc(sizeof(float) * batch * 2);
    size_t H = cfg->hidden;
    float *x = axf_xcalloc((size_t)T * H, 4), *q = axf_xcalloc((size_t)T * H, 4), *k = axf_xcalloc((size_t)T * H, 4);
    float *v = axf_xcalloc((size_t)T * H, 4), *ctx = axf_xcalloc((size_t)T * H, 4), *y = axf_xcalloc((size_t)T * H, 4);
    float *inter = axf_xcalloc((size_t)T * cfg->ffn, 4), *s = axf_xcalloc((size_t)seq * seq, 4);
    double *te = axf_xmalloc(sizeof(double) * reps), *tg = axf_xmalloc(sizeof(double) * reps);
    double *tb = axf_xmalloc(sizeof(double) * reps);
    int rc = 0;
    /* interleaved, so that a change of load on the machine hits all three alike */
    for (int i = 0; i < reps + 2; i++) {
        double t0 = now();
        if (axf_engine_forward(e, plan, bt, logits, &err)) {
            rc = axf_cli_fail(err.msg);
            break;
        }
        double t1 = now();
        axf_engine_gemm_floor(e, plan, bt, logits, &err);
        double t2 = now();
        gemm_floor(cfg, batch, seq, x, q, k, v, ctx, inter, y, s, m);
        double t3 = now();
        /* OpenBLAS's worker spins in sched_yield for about 2^28 cycles after a multi-threaded
         * call; let it go to sleep before the next engine pass is timed (the engine's own passes
         * keep OpenBLAS single-threaded and never wake it), then warm the engine's threads up
         * again with an untimed pass, as back-to-back batches in eval or a search find them. */
        struct timespec settle = {0, 300000000};
        nanosleep(&settle, NULL);
        if (axf_engine_forward(e, plan, bt, logits, &err)) {
            rc = axf_cli_fail(err.msg);
            break;
        }
        if (i >= 2) {
            te[i - 2] = t1 - t0;
            tg[i - 2] = t2 - t1;
            tb[i - 2] = t3 - t2;
        }
    }
    if (!rc) {
        med[0] = axf_median(te, reps);
        med[1] = axf_median(tg, reps);
        med[2] = axf_median(tb, reps);
    }
    free(te), free(tg), free(tb), free(x), free(q), free(k), free(v), free(ctx), free(y), free(inter), free(s);
    free(logits);
    return rc;
}

/* The key=value lines (usage above) from the medians med[] of time_passes. */
static void print_results(const axf_model *m, const axf_batch *bt, int seq, int threads, int reps, int topk,
                          const double med[3])
{
    const axf_config *c = &m->cfg;
    int T = bt->n_tok;
    double me = med[0], mg = med[1], mb = med[2];
    double load = 0;
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf", &load) != 1)
            load = 0;
        fclose(lf);
    }
    double fl = axf_model_flops_per_token(m, seq) * T;
    printf("layers=%d\nhidden=%d\nheads=%d\nffn=%d\nbatch=%d\nseq=%d\nthreads=%d\nreps=%d\ntopk=%d\n", c->n_layers,
           c->hidden, c->n_heads, c->ffn, bt->n_seq, seq, threads, reps, topk);
    printf("engine_s=%.6f\nengine_tokens_per_s=%.1f\nengine_gflops=%.2f\n", me, T / me, fl / me / 1e9);
    printf("gemm_floor_s=%.6f\ngemm_floor_tokens_per_s=%.1f\n", mg, T / mg);
    printf("non_gemm_s=%.6f\nnon_gemm_share=%.4f\nblas_floor_s=%.6f\nflops_per_forward=%.4g\n", me - mg,
           (me - mg) / me, mb, fl);
    printf("load_avg=%.2f\nclock=%s\nweights=%s\n", load, cpu_clock ? "cpu" : "wall", use_cblas ? "cblas" : "packed");
}

int axf_cmd_bench(int argc, char **argv)
{
    int layers = 12, hidden = 768, heads = 12, ffn = 3072, batch = 8, seq = 128, threads = 2, reps = 10;
    int topk = 0, vocab = 30522;
    int rc;
    axf_opt opts[] = {
        AXF_OPT_INT("--layers", &layers, 1, AXF_MAX_LAYERS, "N", "encoder layers ({})"),
        AXF_OPT_INT("--hidden", &hidden, 1, 8192, "N", "hidden size ({})"),
        AXF_OPT_INT("--heads", &heads, 1, AXF_MAX_HEADS, "N", "attention heads ({})"),
        AXF_OPT_INT("--ffn", &ffn, 1, 65536, "N", "FFN width ({})"),
        AXF_OPT_INT("--batch", &batch, 1, 4096, "N", "sequences a pass ({})"),
        AXF_OPT_INT("--seq", &seq, 1, 4096, "N", "tokens a sequence ({})"),
        AXF_OPT_INT("--threads", &threads, 1, 256, "N", "threads ({})"),
        AXF_OPT_INT("--reps", &reps, 1, 100000, "N", "timed runs ({})"),
        AXF_OPT_INT("--topk", &topk, 0, 1 << 20, "K", "every layer with hard top-k attention (0: off)"),
        AXF_OPT_INT("--vocab", &vocab, 1, 1 << 22, "N", "vocabulary size ({})"),
        AXF_OPT_FLAG("--cpu-time", &cpu_clock,
                     "time with the process's CPU clock instead of the wall clock: steadier\n"
                     "on a busy machine, but only meaningful with --threads 1 (with more\n"
                     "threads it counts OpenBLAS's spin-waiting)"),
        AXF_OPT_FLAG("--cblas", &use_cblas,
                     "every product on cblas_sgemm (default: the engine's weights frozen and\n"
                     "packed for its own GEMM, as in eval and predict)"),
        AXF_OPT_END};
    if (!axf_opt_parse(&(axf_cmd_args){.cmd = "bench", .usage = usage}, opts, argc, argv, &rc))
        return rc;
    if (hidden % heads)
        return axf_cli_usage("bench", "--hidden must be a multiple of --heads");
    axf_set_threads(threads);
    axf_config cfg = axf_config_default(vocab, hidden, layers, heads, ffn, 2);
    cfg.max_pos = seq > 512 ? seq : 512;
    axf_err err;
    axf_model *m = axf_model_new(&cfg, 0, &err);
    if (!m)
        return axf_cli_fail(err.msg);
    axf_model_init_random(m, 1);
    int T = batch * seq;
    axf_engine *e = axf_engine_new(m, T, &err);
    if (!e) {
        axf_model_free(m);
        return axf_cli_fail(err.msg);
    }
    if (!use_cblas)
        axf_engine_freeze_weights(e, 1);
    int *ids = axf_xmalloc(sizeof(int) * T), *types = axf_xcalloc(T, sizeof(int));
    int *off = axf_xmalloc(sizeof(int) * (batch + 1));
    axf_rng r;
    axf_rng_seed(&r, 2);
    for (int t = 0; t < T; t++)
        ids[t] = axf_rng_below(&r, vocab);
    for (int b = 0; b <= batch; b++)
        off[b] = b * seq;
    axf_batch bt = {batch, T, ids, types, off};
    axf_plan *plan = NULL;
    if (topk > 0) {
        plan = axf_plan_new(m);
        for (int l = 0; l < layers; l++) {
            plan->layers[l].hard = AXF_HARD_TOPK;
            plan->layers[l].k = topk;
        }
    }
    double med[3];
    rc = time_passes(e, plan, &bt, m, reps, med);
    if (!rc)
        print_results(m, &bt, seq, threads, reps, topk, med);
    free(ids), free(types), free(off);
    axf_plan_free(plan);
    axf_engine_free(e);
    axf_model_free(m);
    return rc;
}
