/* The one product (src/engine/gemm.c: the packed-weight GEMM and axf_matmul) and its fixed
 * arithmetic (axf/matmul.h). For every kernel this CPU can run (portable C, AVX2, AVX-512, chosen
 * with axf_isa_force), on odd shapes (T = 1 and T not a multiple of the kernel's rows, N and K not
 * multiples of the panel width, K across blocks of KC, sub-blocks of W starting anywhere as the
 * runs of kept heads / neurons of a plan, acc 0 and 1, leading dimensions wider than the block):
 *  - the result is the scalar chain fmaf(x[k], w[k], s) over k in order, bit for bit (the
 *    arithmetic is fixed, so exact equality is the assertion);
 *  - and the chain is a correct product: within the bound of recursive summation with one
 *    rounding per step, |y - sum| <= gamma_K * sum |x w| with gamma_K = K u / (1 - K u),
 *    u = 2^-24, against a double-precision sum (the bound is a property of the operation, not of
 *    one CPU);
 *  - acc == 0 ignores NaN in y, values outside the output block are untouched, two threads give
 *    the same bits as one, and axf_matmul (all four transpositions) is the same chain.
 * The epilogues: bias + activation in the tile stores equal a pass of their own bit for bit, the
 * activations (vmath.h: the scalar forms on the portable path, the AVX-512 forms there) are the
 * same bits on every kernel and within 4e-7 of libm in double; the whole-row callback that fuses
 * LayerNorm. Then the engine: frozen (packed) and unfrozen weights, every kernel, one and two
 * threads, plans with runs: the same logits, bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/engine/engine_internal.h"
#include "../src/engine/gemm.h"
#include "axf/matmul.h"
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

/* The reference: the chain of fmaf over k from 0 (or from y when acc), then + bias. */
static float chain(const float *x, const float *w, int K, int acc, float y0)
{
    float s = acc ? y0 : 0.0f;
    for (int k = 0; k < K; k++)
        s = fmaf(x[k], w[k], s);
    return s;
}

/* gamma_K of recursive summation with one rounding per fused step, unit roundoff 2^-24 */
static double gamma_k(int K)
{
    double u = ldexp(1.0, -24), ku = (double)(K + 1) * u;
    return ku / (1.0 - ku);
}

/* One case: W[Nw, Kw] (ldw = Kw + 3) packed, block [n0, n0+N) x [k0, k0+K), x[T, K] (ldx),
 * y[T, N] (ldy). Returns the number of wrong elements. */
static int one_case(axf_engine *e, int T, int Nw, int Kw, int n0, int N, int k0, int K, int acc, int xpad, int ypad)
{
    int ldw = Kw + 3, ldx = K + xpad, ldy = N + ypad;
    float *w = malloc(sizeof(float) * (size_t)Nw * ldw);
    float *x = malloc(sizeof(float) * ((size_t)T * ldx + 1));
    float *y = malloc(sizeof(float) * (size_t)T * ldy);
    float *y0 = malloc(sizeof(float) * (size_t)T * ldy);
    float *wr = malloc(sizeof(float) * (size_t)K);
    for (size_t i = 0; i < (size_t)Nw * ldw; i++)
        w[i] = frand();
    for (size_t i = 0; i < (size_t)T * ldx; i++)
        x[i] = frand();
    for (size_t i = 0; i < (size_t)T * ldy; i++)
        y0[i] = y[i] = acc ? frand() : NAN;
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
        axf__gemm_nt_epi(e, pw, n0, k0, T, N, K, x, ldx, acc, &epi, y, ldy);
    } else {
        axf__gemm_nt(e, pw, n0, k0, T, N, K, x, ldx, acc, y, ldy);
    }
    int bad = 0;
    for (int t = 0; t < T; t++) {
        for (int n = 0; n < ldy; n++) {
            float got = y[(size_t)t * ldy + n];
            if (n >= N) {   /* padding: untouched (NaN compares unequal, so compare bits) */
                bad += memcmp(&got, &y0[(size_t)t * ldy + n], sizeof got) != 0;
                continue;
            }
            const float *xr = x + (size_t)t * ldx;
            for (int k = 0; k < K; k++)
                wr[k] = w[(size_t)(n0 + n) * ldw + k0 + k];
            float want = chain(xr, wr, K, acc, y0[(size_t)t * ldy + n]);
            if (bias)
                want += bias[n];
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double p = (double)xr[k] * wr[k];
                s += p;
                mag += fabs(p);
            }
            if (acc) {
                s += y0[(size_t)t * ldy + n];
                mag += fabs(y0[(size_t)t * ldy + n]);
            }
            if (bias) {
                s += bias[n];
                mag += fabs(bias[n]);
            }
            int exact = memcmp(&got, &want, sizeof got) == 0;
            int bound = fabs(got - s) <= gamma_k(K + 2) * mag + 1e-30;
            if (!exact || !bound) {
                if (bad < 3)
                    fprintf(stderr, "%s T=%d N=%d K=%d n0=%d k0=%d acc=%d: y[%d,%d] = %.9g, chain %.9g, sum %.9g%s\n",
                            axf_isa_name(axf_isa_level()), T, N, K, n0, k0, acc, t, n, got, want, s,
                            bound ? "" : " (outside the error bound)");
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
    free(wr);
    return bad;
}

/* axf_matmul, every transposition, against the chain: C = op(A) op(B) (+ C). */
static int matmul_case(int ta, int tb, int M, int N, int K, int acc)
{
    int lda = (ta ? M : K) + 2, ldb = (tb ? K : N) + 1, ldc = N + 3;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb;
    float *A = malloc(sizeof(float) * (na + 1)), *B = malloc(sizeof(float) * (nb + 1));
    float *C = malloc(sizeof(float) * (size_t)M * ldc), *C0 = malloc(sizeof(float) * (size_t)M * ldc);
    float *ar = malloc(sizeof(float) * (size_t)(K + 1)), *br = malloc(sizeof(float) * (size_t)(K + 1));
    for (size_t i = 0; i < na; i++)
        A[i] = frand();
    for (size_t i = 0; i < nb; i++)
        B[i] = frand();
    for (size_t i = 0; i < (size_t)M * ldc; i++)
        C0[i] = C[i] = acc ? frand() : NAN;
    axf_matmul(ta, tb, M, N, K, A, lda, B, ldb, acc, C, ldc);
    int bad = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            float got = C[(size_t)i * ldc + j], want = C0[(size_t)i * ldc + j];
            if (j < N) {
                for (int k = 0; k < K; k++) {
                    ar[k] = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                    br[k] = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                }
                want = chain(ar, br, K, acc, want);
            }
            if (memcmp(&got, &want, sizeof got)) {
                if (bad < 3)
                    fprintf(stderr, "%s matmul ta=%d tb=%d M=%d N=%d K=%d acc=%d: C[%d,%d] = %.9g, chain %.9g\n",
                            axf_isa_name(axf_isa_level()), ta, tb, M, N, K, acc, i, j, got, want);
                bad++;
            }
        }
    free(A), free(B), free(C), free(C0), free(ar), free(br);
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
    axf__gemm_nt(NULL, pw, 0, 0, T, N, K, x, K, 0, y1, N);
    axf__gemm_nt(e, pw, 0, 0, T, N, K, x, K, 0, y2, N);
    CHECK_MSG(memcmp(y1, y2, sizeof(float) * (size_t)T * N) == 0, "T=%d N=%d K=%d", T, N, K);
    axf__gemm_w_free(pw);
    free(w);
    free(x);
    free(y1);
    free(y2);
}

/* The activation epilogue (vmath.h's table erf) against libm in double: W is a column of ones
 * (K = 1), so y[t, n] = act(x[t] + bias[n]) runs through the epilogue for 2^20 values in
 * [-12, 12] and some special ones. The results of the first kernel run are kept in *ref and the
 * later ones must equal them bit for bit. */
static void act_accuracy(axf_act act, float **ref)
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
    axf__gemm_nt_epi(NULL, pw, 0, 0, T, N, 1, x, 1, 0, &epi, y, N);
    if (!*ref) {
        *ref = malloc(sizeof(float) * (size_t)T * N);
        memcpy(*ref, y, sizeof(float) * (size_t)T * N);
    } else {
        CHECK_MSG(memcmp(*ref, y, sizeof(float) * (size_t)T * N) == 0, "act %d on %s: other bits than the first kernel",
                  (int)act, axf_isa_name(axf_isa_level()));
    }
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
    fprintf(stderr, "epilogue activation %d on %s: max error %.3g\n", (int)act, axf_isa_name(axf_isa_level()), worst);
    CHECK_MSG(worst < 4e-7, "act %d: max error %.3g", (int)act, worst);
    /* NaN stays NaN for the GELUs */
    float xn = NAN, yn[N];
    axf__gemm_nt_epi(NULL, pw, 0, 0, 1, N, 1, &xn, 1, 0, &epi, yn, N);
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
    axf__gemm_nt_epi(e, pw, n0, 0, T, N, K, x, K, 0, &epi, y, N);
    int once = 1;
    for (int t = 0; t < T; t++)
        once &= seen[t] == 1;
    CHECK_MSG(once, "T=%d N=%d K=%d: rows() did not see every row once", T, N, K);
    CHECK_MSG(memcmp(snap, y, sizeof(float) * (size_t)T * N) == 0, "T=%d N=%d K=%d: rows() saw unfinished rows",
              T, N, K);
    /* bias and activation as a pass of their own over the plain product */
    axf__gemm_nt(e, pw, n0, 0, T, N, K, x, K, 0, y2, N);
    axf__act_tile(y2, N, bias, T, N, AXF_ACT_GELU);
    CHECK_MSG(memcmp(y, y2, sizeof(float) * (size_t)T * N) == 0,
              "T=%d N=%d K=%d: fused bias + GELU is not the separate pass, bit for bit", T, N, K);
    axf__gemm_w_free(pw);
    free(w), free(x), free(bias), free(y), free(y2), free(snap), free(seen);
}

/* Logits of a forward pass with unfrozen (axf_matmul per call) and frozen (packed) weights at
 * `threads` threads: the two must be the same bits; returns the frozen ones in out. */
static void engine_logits(axf_model *m, const axf_plan *p, const axf_batch *b, int threads, float *out)
{
    axf_err err;
    int C = m->cfg.num_labels;
    float la[64], lc[64];
    axf_set_threads(threads);
    axf_engine *e = axf_engine_new(m, b->n_tok, &err);
    CHECK(axf_engine_forward(e, p, b, la, &err) == 0);
    axf_engine_freeze_weights(e, 1);
    CHECK(axf_engine_forward(e, p, b, out, &err) == 0);
    CHECK(axf_engine_forward(e, p, b, lc, &err) == 0);
    CHECK(memcmp(out, lc, sizeof(float) * b->n_seq * C) == 0);   /* packed once, reused */
    CHECK_MSG(memcmp(la, out, sizeof(float) * b->n_seq * C) == 0, "%s, %d threads: frozen and unfrozen differ",
              axf_isa_name(axf_isa_level()), threads);
    axf_engine_free(e);
    axf_set_threads(1);
}

/* The engine on every kernel, at one and two threads, dense and under a plan with runs: one set
 * of logits, bit for bit. */
static void engine_cases(const int *levels, int nlev)
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
    /* runs of heads (0 and 2 of layer 0) and of neurons (3 runs, not panel-aligned) */
    p->layers[0].head_on[1] = 0;
    for (int j = 50; j < 61; j++)
        p->layers[1].neuron_on[j] = 0;
    for (int j = 130; j < 133; j++)
        p->layers[1].neuron_on[j] = 0;
    p->layers[2].head_on[0] = 0;
    p->layers[2].neuron_on[0] = 0;
    float dense_ref[15], runs_ref[15], runs_gather[15], got[15];
    int old_min = axf__pack_min_run;
    for (int l = 0; l < nlev; l++) {
        axf_isa_force(levels[l]);
        for (int threads = 1; threads <= 2; threads++) {
            engine_logits(m, NULL, &b, threads, got);
            if (l == 0 && threads == 1)
                memcpy(dense_ref, got, sizeof got);
            CHECK_MSG(!memcmp(dense_ref, got, sizeof got), "dense, %s, %d threads: other logits than %s at 1",
                      axf_isa_name(levels[l]), threads, axf_isa_name(levels[0]));
            engine_logits(m, p, &b, threads, got);
            if (l == 0 && threads == 1)
                memcpy(runs_ref, got, sizeof got);
            CHECK_MSG(!memcmp(runs_ref, got, sizeof got), "runs, %s, %d threads: other logits than %s at 1",
                      axf_isa_name(levels[l]), threads, axf_isa_name(levels[0]));
            /* fragmented neurons gathered into packed weights: the same chains */
            axf__pack_min_run = 1 << 20;
            engine_logits(m, p, &b, threads, runs_gather);
            axf__pack_min_run = old_min;
            CHECK_MSG(!memcmp(runs_ref, runs_gather, sizeof got), "runs gathered, %s, %d threads: other logits",
                      axf_isa_name(levels[l]), threads);
        }
    }
    axf_isa_force(-1);
    float mag = 0;
    for (int i = 0; i < 15; i++)
        mag = fabsf(dense_ref[i]) > mag ? fabsf(dense_ref[i]) : mag;
    CHECK_MSG(mag > 1e-2, "logits up to %.3g: the model does nothing", mag);
    fprintf(stderr, "engine: the same logits on %d kernel(s) x 1, 2 threads, frozen and not, dense and runs\n", nlev);
    /* weights change: freezing again repacks */
    axf_engine *e = axf_engine_new(m, 63, &err);
    axf_engine_freeze_weights(e, 1);
    CHECK(axf_engine_forward(e, p, &b, got, &err) == 0);
    for (size_t i = 0; i < m->n_floats; i++)
        m->arena[i] *= 0.5f;
    float l1[15], l2[15];
    axf_engine_freeze_weights(e, 1);
    CHECK(axf_engine_forward(e, p, &b, l2, &err) == 0);
    axf_engine_freeze_weights(e, 0);
    CHECK(axf_engine_forward(e, p, &b, l1, &err) == 0);
    CHECK_MSG(!memcmp(l1, l2, sizeof l1) && memcmp(l1, got, sizeof l1), "refrozen: not repacked");
    axf_engine_free(e);
    axf_plan_free(p);
    axf_model_free(m);
}

/* Largest product checked element by element (the reference loops run at -O0 in the sanitised
 * build, which repeats this test: smaller there, the kernels' code paths are the same). */
#if defined(__SANITIZE_ADDRESS__)
#define MAX_MACS 500000L
#else
#define MAX_MACS 4000000L
#endif

int main(void)
{
    /* every kernel this CPU runs: portable C always, AVX2 and AVX-512 where present */
    int levels[3], nlev = 0;
    for (int l = AXF_ISA_GENERIC; l <= (int)axf_isa_level(); l++)
        levels[nlev++] = l;
    static const int Ts[] = {1, 2, 5, 11, 12, 13, 24, 25, 131, 200, 397};
    static const int Ns[] = {1, 7, 16, 31, 32, 33, 64, 100, 129};
    static const int Ks[] = {1, 3, 17, 64, 255, 256, 257, 600, 1600};
    float *act_ref[3] = {NULL, NULL, NULL};
    for (int l = 0; l < nlev; l++) {
        axf_isa_force(levels[l]);
        int cases = 0, bad = 0;
        for (size_t a = 0; a < sizeof Ts / sizeof *Ts; a++)
            for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
                for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                    int T = Ts[a], N = Ns[b], K = Ks[c];
                    if ((long)T * N * K > MAX_MACS)
                        continue;
                    int acc = (int)((a + b + c) % 2);
                    /* whole matrix, tight leading dimensions */
                    bad += one_case(NULL, T, N, K, 0, N, 0, K, acc, 0, 0);
                    /* a sub-block starting mid-panel and mid-K, with padded x and y */
                    int n0 = (int)(b * 5 % 37), k0 = (int)(c * 7 % 13);
                    bad += one_case(NULL, T, n0 + N + 9, k0 + K + 4, n0, N, k0, K, !acc, 5, 3);
                    cases += 2;
                }
        /* sub-blocks like those of a plan: head runs (rows of wq, columns of wo) and neuron runs */
        if (MAX_MACS >= 4000000L) {   /* BERT-base blocks: 25-75 M multiply-adds each */
            bad += one_case(NULL, 128, 768, 768, 128, 256, 0, 768, 0, 0, 0);
            bad += one_case(NULL, 128, 768, 768, 0, 768, 192, 320, 1, 448, 0);
        }
        bad += one_case(NULL, 37, 300, 96, 61, 203, 0, 96, 0, 0, 97);
        bad += one_case(NULL, 37, 96, 300, 0, 96, 61, 203, 1, 97, 0);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                bad += matmul_case(ta, tb, 1, 1, 1, 0);
                bad += matmul_case(ta, tb, 13, 33, 70, 1);
                bad += matmul_case(ta, tb, 64, 64, 64, 0);
                bad += matmul_case(ta, tb, 100, 7, 900, 1);
                bad += matmul_case(ta, tb, 3, 129, 5, 0);
                bad += matmul_case(ta, tb, 5, 6, 0, 1);
                bad += matmul_case(ta, tb, 5, 6, 0, 0);
            }
        /* large enough to be split over threads of its own */
        axf_set_threads(2);
        bad += matmul_case(0, 1, 200, 200, 256, 1);
        bad += matmul_case(1, 0, 256, 160, 250, 0);
        /* one row block, op(B) packed panel by panel in each thread's tasks (AVX2), K past a block */
        bad += matmul_case(0, 1, 100, 1000, 90, 0);
        bad += matmul_case(0, 0, 60, 97, 1700, 1);
        axf_set_threads(1);
        CHECK_MSG(bad == 0, "%s: %d wrong elements over %d cases", axf_isa_name(levels[l]), bad, cases);
        fprintf(stderr, "%s kernel: %d products, every element the fixed chain and within its error bound\n",
                axf_isa_name(levels[l]), cases + 36);

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
            CHECK(one_case(e, 301, 130, 77, 3, 120, 5, 70, 1, 2, 1) == 0);
            /* epilogues: few rows (rows() once at the end), whole-row blocks, partial panels */
            epi_case(e, 5, 64, 40, 0);
            epi_case(e, 47, 70, 33, 3);
            epi_case(e, 1024, 256, 256, 0);
            epi_case(e, 301, 100, 900, 17);
            axf_set_threads(1);
            epi_case(NULL, 301, 100, 900, 17);
            epi_case(e, 1024, 256, 256, 0);
        }
        act_accuracy(AXF_ACT_GELU, &act_ref[0]);
        act_accuracy(AXF_ACT_GELU_TANH, &act_ref[1]);
        act_accuracy(AXF_ACT_RELU, &act_ref[2]);
        axf_engine_free(e);
        axf_model_free(m);
    }
    axf_isa_force(-1);
    for (int i = 0; i < 3; i++)
        free(act_ref[i]);
    engine_cases(levels, nlev);
    return CHECK_DONE();
}
