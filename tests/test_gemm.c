/* The engine's packed-weight product (src/engine/gemm.c) against a double-precision loop on odd
 * shapes: T = 1 and T not a multiple of the kernel's rows, N and K not multiples of the panel
 * width, sub-blocks of W starting anywhere (the runs of kept heads / neurons of a plan), beta 0,
 * 1 and other, leading dimensions wider than the block. Also: beta = 0 ignores NaN in y, values
 * outside the output block are untouched, and two threads give bit-identical results.
 * Then the engine with frozen weights (axf_engine_freeze_weights) against the engine on
 * cblas_sgemm: same logits to float rounding, dense and under plans whose kept heads / neurons
 * form runs that start inside a packed panel, at one and two threads, and after the weights
 * change and are frozen again. The product's epilogues: bias + activation in the tile stores
 * (the AVX-512 GELUs against libm), and the whole-row callback that fuses LayerNorm. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/engine/engine_internal.h"
#include "../src/engine/gemm.h"
#include "axf/plan.h"
#include "axf/engine.h"
#include "axf/model.h"
#include "check.h"

static unsigned long long rng = 88172645463325252ULL;

static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* One case: W[Nw, Kw] (ldw = Kw + wpad) packed, block [n0, n0+N) x [k0, k0+K), x[T, K] (ldx),
 * y[T, N] (ldy). Returns the number of wrong elements. */
static int one_case(axf_engine *e, int T, int Nw, int Kw, int n0, int N, int k0, int K, float beta, int xpad,
                    int ypad)
{
    int ldw = Kw + 3, ldx = K + xpad, ldy = N + ypad;
    float *w = malloc(sizeof(float) * (size_t)Nw * ldw);
    float *x = malloc(sizeof(float) * ((size_t)T * ldx + 1));
    float *y = malloc(sizeof(float) * (size_t)T * ldy);
    float *y0 = malloc(sizeof(float) * (size_t)T * ldy);
    for (size_t i = 0; i < (size_t)Nw * ldw; i++)
        w[i] = frand();
    for (size_t i = 0; i < (size_t)T * ldx; i++)
        x[i] = frand();
    for (size_t i = 0; i < (size_t)T * ldy; i++)
        y0[i] = y[i] = beta == 0.0f ? NAN : frand();
    axf_gemm_w *pw = axf__gemm_pack(w, Nw, Kw, ldw);
    CHECK(pw != NULL);
    if (!pw)
        return 1;
    /* every other case with a bias (the engine's fused Q, K, V biases) */
    float *bias = (n0 + k0 + T) % 2 ? malloc(sizeof(float) * (size_t)N) : NULL;
    for (int n = 0; bias && n < N; n++)
        bias[n] = frand();
    if (bias) {
        axf_gemm_epi epi = {.bias = bias};
        axf__gemm_nt_epi(e, pw, n0, k0, T, N, K, x, ldx, beta, &epi, y, ldy);
    } else {
        axf__gemm_nt(e, pw, n0, k0, T, N, K, x, ldx, beta, y, ldy);
    }
    int bad = 0;
    for (int t = 0; t < T; t++) {
        for (int n = 0; n < ldy; n++) {
            float got = y[(size_t)t * ldy + n];
            if (n >= N) {   /* padding: untouched (NaN compares unequal, so compare bits) */
                bad += memcmp(&got, &y0[(size_t)t * ldy + n], sizeof got) != 0;
                continue;
            }
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double p = (double)x[(size_t)t * ldx + k] * w[(size_t)(n0 + n) * ldw + k0 + k];
                s += p;
                mag += fabs(p);
            }
            if (beta != 0.0f) {
                s += (double)beta * y0[(size_t)t * ldy + n];
                mag += fabs((double)beta * y0[(size_t)t * ldy + n]);
            }
            if (bias) {
                s += bias[n];
                mag += fabs(bias[n]);
            }
            if (!(fabs(got - s) <= 1e-6 * (mag + 1) * sqrt((double)K + 1))) {
                if (bad < 3)
                    fprintf(stderr, "T=%d N=%d K=%d n0=%d k0=%d beta=%g: y[%d,%d] = %.9g, want %.9g\n", T, N, K,
                            n0, k0, beta, t, n, got, s);
                bad++;
            }
        }
    }
    axf__gemm_w_free(pw);
    free(bias);
    free(w);
    free(x);
    free(y);
    free(y0);
    return bad;
}

/* Same product on the caller's thread and on the engine's workers: bit-identical. */
static void thread_case(axf_engine *e, int T, int N, int K)
{
    int ld = K;
    float *w = malloc(sizeof(float) * (size_t)N * ld), *x = malloc(sizeof(float) * (size_t)T * K);
    float *y1 = malloc(sizeof(float) * (size_t)T * N), *y2 = malloc(sizeof(float) * (size_t)T * N);
    for (size_t i = 0; i < (size_t)N * ld; i++)
        w[i] = frand();
    for (size_t i = 0; i < (size_t)T * K; i++)
        x[i] = frand();
    axf_gemm_w *pw = axf__gemm_pack(w, N, K, ld);
    axf__gemm_nt(NULL, pw, 0, 0, T, N, K, x, K, 0.0f, y1, N);
    axf__gemm_nt(e, pw, 0, 0, T, N, K, x, K, 0.0f, y2, N);
    CHECK_MSG(memcmp(y1, y2, sizeof(float) * (size_t)T * N) == 0, "T=%d N=%d K=%d", T, N, K);
    axf__gemm_w_free(pw);
    free(w);
    free(x);
    free(y1);
    free(y2);
}

/* The activation epilogue on AVX-512 (vmath.h's table erf) against libm in double: W is a column
 * of ones (K = 1), so y[t, n] = act(x[t] + bias[n]) runs through the epilogue for 2^20 values in
 * [-12, 12] and some special ones. */
static void act_accuracy(axf_act act)
{
    enum { T = 32768, N = 32 };
    float w[N], bias[N], *x = malloc(sizeof(float) * T), *y = malloc(sizeof(float) * (size_t)T * N);
    for (int n = 0; n < N; n++) {
        w[n] = 1.0f;
        bias[n] = (float)n * (24.0f / ((float)T * N));
    }
    for (int t = 0; t < T; t++)
        x[t] = -12.0f + 24.0f * (float)t / T;
    static const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 40.0f, -40.0f, 5.66f, -5.66f, 1e30f, -1e30f};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        x[i] = special[i];
    axf_gemm_w *pw = axf__gemm_pack(w, N, 1, 1);
    axf_gemm_epi epi = {.bias = bias, .act_on = 1, .act = act};
    axf__gemm_nt_epi(NULL, pw, 0, 0, T, N, 1, x, 1, 0.0f, &epi, y, N);
    double worst = 0;
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++) {
            float vf = x[t] + bias[n];
            double v = vf, want;
            if (act == AXF_ACT_GELU)
                want = 0.5 * v * (1 + erf(v / sqrt(2.0)));
            else if (act == AXF_ACT_GELU_TANH)
                want = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
            else
                want = v > 0 ? v : 0;
            if (fabs(v) > 1e20) {   /* far out: x, or 0 to within 1e-8 (tanh form: x / e^88) */
                float got = y[(size_t)t * N + n];
                CHECK_MSG(v < 0 ? fabsf(got) <= 1e-8f : got == vf, "act %d (%g) = %g", (int)act, v, got);
                continue;
            }
            double d = fabs(y[(size_t)t * N + n] - want) / fmax(1.0, fabs(want));
            worst = d > worst ? d : worst;
        }
    fprintf(stderr, "epilogue activation %d: max error %.3g\n", (int)act, worst);
    CHECK_MSG(worst < 4e-7, "act %d: max error %.3g", (int)act, worst);
    /* NaN stays NaN for the GELUs */
    float xn = NAN, yn[N];
    axf__gemm_nt_epi(NULL, pw, 0, 0, 1, N, 1, &xn, 1, 0.0f, &epi, yn, N);
    CHECK(act == AXF_ACT_RELU || isnan(yn[0]));
    axf__gemm_w_free(pw);
    free(x);
    free(y);
}

/* Epilogue of whole rows: rows() sees every row exactly once, after the product has finished
 * it (its snapshot equals the final y), and the product with bias and activation is the one
 * without them, then bias and activation, bit for bit. */
typedef struct {
    const float *y;
    float *snap;
    int *seen, N;
} rows_probe;

static void probe_rows(void *ctx, int r0, int r1)
{
    rows_probe *p = ctx;
    for (int r = r0; r < r1; r++)
        p->seen[r]++;
    memcpy(p->snap + (size_t)r0 * p->N, p->y + (size_t)r0 * p->N, sizeof(float) * (size_t)(r1 - r0) * p->N);
}

static void epi_case(axf_engine *e, int T, int N, int K, int n0)
{
    int Nw = n0 + N;
    float *w = malloc(sizeof(float) * (size_t)Nw * K), *x = malloc(sizeof(float) * (size_t)T * K);
    float *bias = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * (size_t)T * N);
    float *y2 = malloc(sizeof(float) * (size_t)T * N), *snap = malloc(sizeof(float) * (size_t)T * N);
    int *seen = calloc((size_t)T, sizeof(int));
    for (size_t i = 0; i < (size_t)Nw * K; i++)
        w[i] = frand();
    for (size_t i = 0; i < (size_t)T * K; i++)
        x[i] = frand();
    for (int n = 0; n < N; n++)
        bias[n] = frand();
    axf_gemm_w *pw = axf__gemm_pack(w, Nw, K, K);
    rows_probe pr = {y, snap, seen, N};
    axf_gemm_epi epi = {.bias = bias, .act_on = 1, .act = AXF_ACT_GELU, .rows = probe_rows, .rows_ctx = &pr};
    axf__gemm_nt_epi(e, pw, n0, 0, T, N, K, x, K, 0.0f, &epi, y, N);
    int once = 1;
    for (int t = 0; t < T; t++)
        once &= seen[t] == 1;
    CHECK_MSG(once, "T=%d N=%d K=%d: rows() did not see every row once", T, N, K);
    CHECK_MSG(memcmp(snap, y, sizeof(float) * (size_t)T * N) == 0, "T=%d N=%d K=%d: rows() saw unfinished rows",
              T, N, K);
    /* bias and activation as a pass of their own over the plain product */
    axf__gemm_nt(e, pw, n0, 0, T, N, K, x, K, 0.0f, y2, N);
    axf__act_tile(y2, N, bias, T, N, AXF_ACT_GELU);
    double d = 0;
    for (size_t i = 0; i < (size_t)T * N; i++)
        d = fabs((double)y[i] - y2[i]) > d ? fabs((double)y[i] - y2[i]) : d;
    CHECK_MSG(d <= 2e-6, "T=%d N=%d K=%d: fused bias + GELU differs from the separate pass by %.3g", T, N, K, d);
    axf__gemm_w_free(pw);
    free(w), free(x), free(bias), free(y), free(y2), free(snap), free(seen);
}

/* max |a - b| over the logits of a forward pass with frozen and with cblas weights */
static double engine_diff(axf_model *m, const axf_plan *p, const axf_batch *b, int threads, float *mag)
{
    axf_err err;
    int C = m->cfg.num_labels;
    float la[64], lb[64], lc[64];
    axf_set_threads(threads);
    axf_engine *e = axf_engine_new(m, b->n_tok, &err);
    CHECK(axf_engine_forward(e, p, b, la, &err) == 0);
    axf_engine_freeze_weights(e, 1);
    CHECK(axf_engine_forward(e, p, b, lb, &err) == 0);
    CHECK(axf_engine_forward(e, p, b, lc, &err) == 0);
    CHECK(memcmp(lb, lc, sizeof(float) * b->n_seq * C) == 0);   /* packed once, reused */
    axf_engine_free(e);
    axf_set_threads(1);
    double d = 0;
    *mag = 0;
    for (int i = 0; i < b->n_seq * C; i++) {
        d = fabs((double)la[i] - lb[i]) > d ? fabs((double)la[i] - lb[i]) : d;
        *mag = fabsf(la[i]) > *mag ? fabsf(la[i]) : *mag;
    }
    return d;
}

static void engine_cases(void)
{
    /* head size 40: head runs start inside a 32-wide panel; 200 neurons */
    axf_config cfg = axf_config_default(100, 120, 3, 3, 200, 3);
    cfg.max_pos = 64;
    axf_err err;
    axf_model *m = axf_model_new(&cfg, 0, &err);
    CHECK(m != NULL);
    if (!m)
        return;
    axf_model_init_random(m, 7);
    for (size_t i = 0; i < m->n_floats; i++)   /* peaked attention: every layer matters */
        m->arena[i] *= 6.0f;
    static const int off[] = {0, 17, 20, 50, 51, 63};
    int ids[63], types[63];
    for (int t = 0; t < 63; t++) {
        ids[t] = (t * 37 + 11) % 100;
        types[t] = t % 2;
    }
    axf_batch b = {.n_seq = 5, .n_tok = 63, .ids = ids, .types = types, .seq_off = off};
    axf_plan *p = axf_plan_new(m);
    float mag;
    double d = engine_diff(m, NULL, &b, 1, &mag);
    CHECK_MSG(d <= 1e-5 * (1 + mag) && mag > 1e-2, "dense: max |frozen - cblas| %.3g, logits up to %.3g", d, mag);
    fprintf(stderr, "engine, dense: max |frozen - cblas| logit difference %.2e (logits up to %.3f)\n", d, mag);
    /* runs of heads (0 and 2 of layer 0) and of neurons (3 runs, not panel-aligned) */
    int old_min = axf__pack_min_run;
    axf__pack_min_run = 1;
    p->layers[0].head_on[1] = 0;
    for (int j = 50; j < 61; j++)
        p->layers[1].neuron_on[j] = 0;
    for (int j = 130; j < 133; j++)
        p->layers[1].neuron_on[j] = 0;
    p->layers[2].head_on[0] = 0;
    p->layers[2].neuron_on[0] = 0;
    d = engine_diff(m, p, &b, 1, &mag);
    CHECK_MSG(d <= 1e-5 * (1 + mag), "runs: max |frozen - cblas| %.3g", d);
    fprintf(stderr, "engine, head and neuron runs: max |frozen - cblas| logit difference %.2e\n", d);
    d = engine_diff(m, p, &b, 2, &mag);
    CHECK_MSG(d <= 1e-5 * (1 + mag), "runs, 2 threads: max |frozen - cblas| %.3g", d);
    axf__pack_min_run = old_min;
    /* frozen at 1 and 2 threads: bit-identical */
    float l1[15], l2[15];
    axf_engine *e = axf_engine_new(m, 63, &err);
    axf_engine_freeze_weights(e, 1);
    CHECK(axf_engine_forward(e, p, &b, l1, &err) == 0);
    axf_set_threads(2);
    CHECK(axf_engine_forward(e, p, &b, l2, &err) == 0);
    axf_set_threads(1);
    CHECK(memcmp(l1, l2, sizeof l1) == 0);
    /* weights change: freezing again repacks; unfreezing goes back to cblas */
    for (size_t i = 0; i < m->n_floats; i++)
        m->arena[i] *= -1.0f;
    axf_engine_freeze_weights(e, 1);
    CHECK(axf_engine_forward(e, p, &b, l2, &err) == 0);
    axf_engine_freeze_weights(e, 0);
    CHECK(axf_engine_forward(e, p, &b, l1, &err) == 0);
    d = 0;
    for (int i = 0; i < 15; i++)
        d = fabs((double)l1[i] - l2[i]) > d ? fabs((double)l1[i] - l2[i]) : d;
    CHECK_MSG(d <= 1e-5 * (1 + mag), "refrozen: max |frozen - cblas| %.3g", d);
    axf_engine_free(e);
    axf_plan_free(p);
    axf_model_free(m);
}

int main(void)
{
    if (!axf__gemm_available()) {
        fprintf(stderr, "no AVX-512F: the engine keeps cblas_sgemm, nothing to test\n");
        CHECK(axf__gemm_pack((const float[]){1}, 1, 1, 1) == NULL);
        return CHECK_DONE();
    }
    static const int Ts[] = {1, 2, 5, 11, 12, 13, 24, 25, 131, 200, 397};
    static const int Ns[] = {1, 7, 16, 31, 32, 33, 64, 100, 129};
    static const int Ks[] = {1, 3, 17, 64, 255, 256, 257, 600};
    static const float betas[] = {0.0f, 1.0f, 0.5f};
    int cases = 0, bad = 0;
    for (size_t a = 0; a < sizeof Ts / sizeof *Ts; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                int T = Ts[a], N = Ns[b], K = Ks[c];
                if ((long)T * N * K > 4000000L)
                    continue;
                float beta = betas[(a + b + c) % 3];
                /* whole matrix, tight leading dimensions */
                bad += one_case(NULL, T, N, K, 0, N, 0, K, beta, 0, 0);
                /* a sub-block starting mid-panel and mid-K, with padded x and y */
                int n0 = (int)(b * 5 % 37), k0 = (int)(c * 7 % 13);
                bad += one_case(NULL, T, n0 + N + 9, k0 + K + 4, n0, N, k0, K, beta, 5, 3);
                cases += 2;
            }
    CHECK_MSG(bad == 0, "%d wrong elements over %d cases", bad, cases);
    /* sub-blocks like those of a plan: head runs (rows of wq, columns of wo) and neuron runs */
    CHECK(one_case(NULL, 128, 768, 768, 128, 256, 0, 768, 0.0f, 0, 0) == 0);
    CHECK(one_case(NULL, 128, 768, 768, 0, 768, 192, 320, 1.0f, 448, 0) == 0);
    CHECK(one_case(NULL, 37, 300, 96, 61, 203, 0, 96, 0.0f, 0, 97) == 0);
    CHECK(one_case(NULL, 37, 96, 300, 0, 96, 61, 203, 1.0f, 97, 0) == 0);

    /* the engine's workers: two threads, bit-identical to one */
    axf_config cfg = axf_config_default(50, 32, 1, 2, 64, 2);
    axf_err err;
    axf_model *m = axf_model_new(&cfg, 0, &err);
    CHECK(m != NULL);
    axf_engine *e = m ? axf_engine_new(m, 8, &err) : NULL;
    CHECK(e != NULL);
    if (e) {
        axf_set_threads(2);
        thread_case(e, 1, 768, 768);
        thread_case(e, 130, 768, 300);
        thread_case(e, 777, 200, 64);
        CHECK(one_case(e, 301, 130, 77, 3, 120, 5, 70, 0.5f, 2, 1) == 0);
        /* epilogues: few rows (rows() once at the end), whole-row blocks, partial panels */
        epi_case(e, 5, 64, 40, 0);
        epi_case(e, 47, 70, 33, 3);
        epi_case(e, 1024, 256, 256, 0);
        epi_case(e, 301, 100, 900, 17);
        axf_set_threads(1);
        epi_case(NULL, 301, 100, 900, 17);
        epi_case(e, 1024, 256, 256, 0);
    }
    act_accuracy(AXF_ACT_GELU);
    act_accuracy(AXF_ACT_GELU_TANH);
    act_accuracy(AXF_ACT_RELU);
    axf_engine_free(e);
    axf_model_free(m);
    engine_cases();
    return CHECK_DONE();
}
