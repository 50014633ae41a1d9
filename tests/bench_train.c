/* Training speed: tokens per second of a full masked-LM training step (forward, backward, AdamW)
 * on a packed batch, against the sgemm-only floor (the same dense products timed alone).
 * Not a test: `bench_train [threads] [layers hidden heads ffn vocab] [batch] [steps]`.
 * Batches: `batch` sentences with lengths drawn like SST-2 + rt-polarity lines (3..66 tokens,
 * mean about 15), 15% of tokens predicted. Prints wall and process-CPU figures: on a shared
 * machine the CPU figure divided by the thread count is the steadier one. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axf/train.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int L = argc > 5 ? atoi(argv[2]) : 4, H = argc > 5 ? atoi(argv[3]) : 256, NH = argc > 5 ? atoi(argv[4]) : 4;
    int F = argc > 5 ? atoi(argv[5]) : 1024, V = argc > 6 ? atoi(argv[6]) : 8202;
    int B = argc > 7 ? atoi(argv[7]) : 64, steps = argc > 8 ? atoi(argv[8]) : 30;
    axf_set_threads(threads);
    axf_err err;
    axf_config cfg = axf_config_default(V, H, L, NH, F, 2);
    axf_model *m = axf_model_new(&cfg, 1, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int l = 0; l < L; l++) {
        m->layers[l].nh = NH;
        m->layers[l].f = F;
    }
    axf_model_init_random(m, 1);
    axf_rng r;
    axf_rng_seed(&r, 2);
    int maxT = B * 70;
    int *ids = malloc(sizeof(int) * (size_t)maxT), *types = calloc((size_t)maxT, sizeof(int));
    int *off = malloc(sizeof(int) * (size_t)(B + 1)), *mpos = malloc(sizeof(int) * (size_t)maxT);
    int *mids = malloc(sizeof(int) * (size_t)maxT);
    axf_train_ctx *c = axf_train_ctx_new(m, &err);
    axf_adamw *o = axf_adamw_new(m, 0.01f);
    axf_train_ctx_set_dropout(c, 0.1f, 0.1f, &r);
    double wall = 0, cpu = 0;
    long tokens = 0, ntok_sg = 0, nm_sg = 0;
    for (int s = 0; s < steps + 3; s++) {
        int T = 0, M = 0;
        off[0] = 0;
        for (int b = 0; b < B; b++) {
            /* SST phrases are short and skewed: a geometric-ish length with a long tail */
            int len = 3 + (int)(12.0f * -logf(1.0f - axf_rng_uniform(&r) * 0.995f));
            len = len > 66 ? 66 : len;
            for (int k = 0; k < len; k++) {
                ids[T + k] = 5 + axf_rng_below(&r, V - 5);
                if (k > 0 && k < len - 1 && axf_rng_uniform(&r) < 0.15f) {
                    mpos[M] = T + k;
                    mids[M++] = ids[T + k];
                }
            }
            T += len;
            off[b + 1] = T;
        }
        axf_train_batch tb = {.b = {.n_seq = B, .n_tok = T, .ids = ids, .types = types, .seq_off = off},
                              .mlm_pos = mpos, .mlm_ids = mids, .n_mlm = M};
        double w0 = axf_now(), c0 = cpu_now(), loss;
        axf_train_zero_grad(c);
        if (axf_train_forward(c, NULL, &tb, AXF_LOSS_MEAN, &loss, NULL, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        axf_train_backward(c, 1, NULL);
        double gn = axf_grad_norm(axf_train_grads(c));
        o->grad_scale = gn > 1.0 ? (float)(1.0 / gn) : 1.0f;
        axf_adamw_step(o, m, axf_train_grads(c), 1e-4f);
        if (s >= 3) { /* the first steps grow the buffers */
            wall += axf_now() - w0;
            cpu += cpu_now() - c0;
            tokens += T;
            ntok_sg += T;
            nm_sg += M;
        }
    }
    /* sgemm floor: every dense product of the same steps (Q, K, V, O, FFN up / down forward, two
     * backward products each; MLM transform and tied decoder on the predicted tokens), on
     * average-sized batches, no attention and nothing element-wise */
    int T = (int)(ntok_sg / steps), M = (int)(nm_sg / steps);
    float *x = calloc((size_t)T * (F > H ? F : H), sizeof(float)), *y = calloc((size_t)T * (F > H ? F : H), sizeof(float));
    float *w = calloc((size_t)(V > F ? V : F) * H, sizeof(float)), *dw = calloc((size_t)(V > F ? V : F) * H, sizeof(float));
    float *lg = calloc((size_t)M * V, sizeof(float));
    double fw0 = axf_now(), fc0 = cpu_now();
    for (int s = 0; s < steps; s++) {
        for (int l = 0; l < L; l++) {
            int shapes[6][2] = {{H, H}, {H, H}, {H, H}, {H, H}, {H, F}, {F, H}}; /* in, out */
            for (int k = 0; k < 6; k++) {
                int IC = shapes[k][0], OC = shapes[k][1];
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, OC, IC, 1, x, IC, w, IC, 0, y, OC);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, IC, OC, 1, y, OC, w, IC, 0, x, IC);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, T, 1, y, OC, x, IC, 1, dw, IC);
            }
        }
        int shapes[2][2] = {{H, H}, {H, V}};
        for (int k = 0; k < 2; k++) {
            int IC = shapes[k][0], OC = shapes[k][1];
            float *out = k ? lg : y;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, OC, IC, 1, x, IC, w, IC, 0, out, OC);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, IC, OC, 1, out, OC, w, IC, 0, x, IC);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, M, 1, out, OC, x, IC, 1, dw, IC);
        }
    }
    double fwall = axf_now() - fw0, fcpu = cpu_now() - fc0;
    printf("config: %d layers x %d, %d heads, FFN %d, vocab %d; %d sentences a batch (%.0f tokens, %d predicted), "
           "%d threads\n", L, H, NH, F, V, B, (double)ntok_sg / steps, M, threads);
    printf("training step (fwd+bwd+AdamW, dropout 0.1): %.0f tokens/s wall, %.0f tokens per CPU-second / thread\n",
           tokens / wall, tokens / (cpu / threads));
    printf("sgemm-only floor:                          %.0f tokens/s wall, %.0f tokens per CPU-second / thread\n",
           ntok_sg / fwall, ntok_sg / (fcpu / threads));
    printf("share of the sgemm floor reached: %.0f%% (wall), %.0f%% (CPU)\n", 100 * (ntok_sg / fwall > 0 ? (tokens / wall) / (ntok_sg / fwall) : 0),
           100 * (tokens / cpu) / (ntok_sg / fcpu));
    return 0;
}
