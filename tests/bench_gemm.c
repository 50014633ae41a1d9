/* Microbenchmark (not a test): the engine's packed-weight product (src/engine/gemm.c) against
 * cblas_sgemm on the engine's own shapes y[T, N] = x[T, K] · W[N, K]ᵀ: BERT-base (N x K = 768 x 768
 * for Q, K, V and the attention output, 3072 x 768 and 768 x 3072 for the FFN) and the small
 * model (hidden 256, FFN 1024), at T = 1, 128 and 1024 tokens.
 *
 * usage: bench_gemm [--threads N] [--reps N] [--wall] [--shape T,N,K]...
 * One line per shape: T N K, GFLOP/s of ours and of cblas_sgemm (medians of --reps timings, each
 * of enough calls for ~10 ms), their ratio, then the best timing of each (GFLOP/s): on a shared
 * machine the best is the steadier estimate of what the code can do. Times are process CPU time unless --wall; with more
 * than one thread only wall time means anything (and on a shared machine it is noisy). Ours runs
 * on an engine's worker pool (threads = axf_set_threads), OpenBLAS on its own threads. --cold cycles
 * through >= 128 MB of copies of W, so that W comes from memory as in a forward pass (every layer
 * has its own weights); without it the same W is reused and stays in cache. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/engine/gemm.h"
#include "bench_time.h"
#include "axf/engine.h"
#include "axf/model.h"

static int wall, cold;

typedef struct {
    axf_engine *e;
    axf_gemm_w **pw;
    int T, N, K, ours, nw, next;
    const float *x;
    float **w;
    float *y;
} call;

/* One call, on the next of the nw copies of W (nw > 1: --cold, W comes from memory as in the
 * engine, where every layer has its own weights). */
static void run(void *arg)
{
    call *c = arg;
    int i = c->next;
    c->next = (c->next + 1) % c->nw;
    if (c->ours)
        axf__gemm_nt(c->e, c->pw[i], 0, 0, c->T, c->N, c->K, c->x, c->K, 0.0f, c->y, c->N);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->T, c->N, c->K, 1.0f, c->x, c->K, c->w[i], c->K,
                    0.0f, c->y, c->N);
}

int main(int argc, char **argv)
{
    int threads = 1, reps = 15, ns = 0;
    int shapes[64][3];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--wall"))
            wall = 1;
        else if (!strcmp(argv[i], "--cold"))
            cold = 1;
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc && ns < 64 &&
                 sscanf(argv[++i], "%d,%d,%d", &shapes[ns][0], &shapes[ns][1], &shapes[ns][2]) == 3)
            ns++;
        else {
            fprintf(stderr, "usage: bench_gemm [--threads N] [--reps N] [--wall] [--cold] [--shape T,N,K]...\n");
            return 2;
        }
    }
    if (threads < 1 || reps < 1)
        return 2;
    fprintf(stderr, "bench_gemm: %s kernel\n", axf_isa_name(axf_isa_level()));
    if (!ns) {
        static const int nk[][2] = {{768, 768}, {3072, 768}, {768, 3072}, {256, 256}, {1024, 256}, {256, 1024}};
        static const int ts[] = {1, 128, 1024};
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 6; b++) {
                shapes[ns][0] = ts[a];
                shapes[ns][1] = nk[b][0];
                shapes[ns][2] = nk[b][1];
                ns++;
            }
    }
    axf_set_threads(threads);
    axf_config cfg = axf_config_default(50, 32, 1, 2, 64, 2);
    axf_err err;
    axf_model *m = axf_model_new(&cfg, 0, &err);
    axf_engine *e = m ? axf_engine_new(m, 8, &err) : NULL;
    if (!e) {
        fprintf(stderr, "bench_gemm: %s\n", err.msg);
        return 1;
    }
    printf("# threads=%d clock=%s reps=%d weights=%s\n# %5s %5s %5s %10s %10s %6s %10s %10s\n", threads, wall ? "wall" : "cpu",
           reps, cold ? "cold" : "cached", "T", "N", "K", "ours", "cblas", "ratio", "ours_best", "cblas_best");
    for (int s = 0; s < ns; s++) {
        int T = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        int nw = cold ? (int)((128u << 20) / ((size_t)N * K * 4)) + 1 : 1;   /* >= 128 MB of W */
        float **w = malloc(sizeof(float *) * nw), *x = malloc(sizeof(float) * (size_t)T * K);
        axf_gemm_w **pw = malloc(sizeof(axf_gemm_w *) * nw);
        float *y = malloc(sizeof(float) * (size_t)T * N);
        for (int c = 0; c < nw; c++) {
            w[c] = malloc(sizeof(float) * (size_t)N * K);
            for (size_t i = 0; i < (size_t)N * K; i++)
                w[c][i] = (float)((i * 2654435761u + c) % 1000) * 1e-3f - 0.5f;
            pw[c] = axf__gemm_pack(w[c], N, K, K);
        }
        for (size_t i = 0; i < (size_t)T * K; i++)
            x[i] = (float)((i * 40503u) % 1000) * 1e-3f - 0.5f;
        call c = {e, pw, T, N, K, 1, nw, 0, x, w, y};
        double flop = 2.0 * T * N * K;
        double bo, bb;
        double to = bench_time_calls(run, &c, flop, reps, wall, &bo);
        c.ours = 0;
        double tb = bench_time_calls(run, &c, flop, reps, wall, &bb);
        printf("  %5d %5d %5d %10.1f %10.1f %6.2f %10.1f %10.1f\n", T, N, K, flop / to * 1e-9, flop / tb * 1e-9,
               tb / to, flop / bo * 1e-9, flop / bb * 1e-9);
        fflush(stdout);
        for (int i = 0; i < nw; i++) {
            axf__gemm_w_free(pw[i]);
            free(w[i]);
        }
        free(pw);
        free(w);
        free(x);
        free(y);
    }
    axf_engine_free(e);
    axf_model_free(m);
    return 0;
}
