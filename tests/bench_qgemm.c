/* Microbenchmark (not a test): the int8 product (src/engine/qgemm.c) against the float32 packed
 * GEMM (src/engine/gemm.c) on the engine's shapes y[T, N] = x[T, K] · W[N, K]ᵀ, the same weights:
 * BERT-base (768 x 768 for Q, K, V and the attention output, 3072 x 768 and 768 x 3072 for the
 * FFN) and the small model (hidden 256, FFN 1024), at T = 1, 128 and 1024 tokens.
 *
 * usage: bench_qgemm [--threads N] [--reps N] [--wall] [--shape T,N,K]...
 * One line per shape: T N K, float32 GFLOP/s, int8 GOP/s (2 T N K operations per product, the
 * quantization of x included), their ratio, and the int8 GOP/s of the product alone (x quantized
 * beforehand). Medians of --reps timings of ~10 ms each. Process CPU time unless --wall (with
 * more than one thread only wall time means anything). The int8 kernel is the one axf_isa_level()
 * and the CPU select (AXF_ISA=avx2 for the AVX2 one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/engine/gemm.h"
#include "../src/engine/qgemm.h"
#include "bench_time.h"
#include "axf/engine.h"
#include "axf/model.h"
#include "axf/quant.h"

static int wall;

typedef struct {
    axf_engine *e;
    int T, N, K, what;   /* 0 float, 1 int8 with quantization, 2 int8 product alone */
    const float *x;
    const axf_gemm_w *pw;
    const axf_qgemm_w *qw;
    axf_qact *a;
    void *buf;
    float *sx, *y;
} call;

static void run(void *arg)
{
    call *c = arg;
    if (c->what == 0) {
        axf__gemm_nt(c->e, c->pw, 0, 0, c->T, c->N, c->K, c->x, c->K, 0, c->y, c->N);
        return;
    }
    if (c->what == 1)
        axf__qact_quantize(c->e, c->a, c->buf, c->sx, c->x, c->K, c->T, c->K, c->qw->kind);
    axf__qgemm(c->e, c->qw, c->a, NULL, c->y, c->N);
}

int main(int argc, char **argv)
{
    int threads = 1, reps = 11, ns = 0;
    int shapes[64][3];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--wall"))
            wall = 1;
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc && ns < 64 &&
                 sscanf(argv[++i], "%d,%d,%d", &shapes[ns][0], &shapes[ns][1], &shapes[ns][2]) == 3)
            ns++;
        else {
            fprintf(stderr, "usage: bench_qgemm [--threads N] [--reps N] [--wall] [--shape T,N,K]...\n");
            return 2;
        }
    }
    if (threads < 1 || reps < 1)
        return 2;
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
        fprintf(stderr, "bench_qgemm: %s\n", err.msg);
        return 1;
    }
    axf_qkern kind = axf__qgemm_kind();
    printf("# threads=%d clock=%s reps=%d int8 kernel=%s float kernel=%s\n", threads, wall ? "wall" : "cpu", reps,
           axf__qgemm_kind_name(kind), axf_isa_name(axf_isa_level()));
    printf("# %5s %5s %5s %12s %10s %6s %12s\n", "T", "N", "K", "f32_GFLOP/s", "i8_GOP/s", "ratio", "i8_product");
    for (int s = 0; s < ns; s++) {
        int T = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *w = malloc(sizeof(float) * (size_t)N * K), *x = malloc(sizeof(float) * (size_t)T * K);
        float *y = malloc(sizeof(float) * (size_t)T * N), *sw = malloc(sizeof(float) * (size_t)N);
        float *sx = malloc(sizeof(float) * (size_t)T);
        int8_t *q = malloc((size_t)N * K);
        for (size_t i = 0; i < (size_t)N * K; i++)
            w[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
        for (size_t i = 0; i < (size_t)T * K; i++)
            x[i] = (float)((i * 40503u) % 1000) * 1e-3f - 0.5f;
        for (int n = 0; n < N; n++)
            axf_quant_row(q + (size_t)n * K, &sw[n], w + (size_t)n * K, K);
        axf_gemm_w *pw = axf__gemm_pack(w, N, K, K);
        axf_qgemm_w *qw = axf__qgemm_pack(q, sw, N, K, K, kind);
        void *buf = malloc(axf__qact_bytes(T, K));
        axf_qact a;
        axf__qact_quantize(e, &a, buf, sx, x, K, T, K, kind);
        call c = {e, T, N, K, 0, x, pw, qw, &a, buf, sx, y};
        double flop = 2.0 * T * N * K;
        double tf = bench_time_calls(run, &c, flop, reps, wall, NULL);
        c.what = 1;
        double tq = bench_time_calls(run, &c, flop, reps, wall, NULL);
        c.what = 2;
        double tp = bench_time_calls(run, &c, flop, reps, wall, NULL);
        printf("  %5d %5d %5d %12.1f %10.1f %6.2f %12.1f\n", T, N, K, flop / tf * 1e-9, flop / tq * 1e-9, tf / tq,
               flop / tp * 1e-9);
        fflush(stdout);
        axf__gemm_w_free(pw);
        axf__qgemm_w_free(qw);
        free(buf);
        free(w);
        free(x);
        free(y);
        free(sw);
        free(sx);
        free(q);
    }
    axf_engine_free(e);
    axf_model_free(m);
    return 0;
}
