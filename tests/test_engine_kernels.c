/* Engine kernels against libm in double: GELU (erf and tanh forms; the AVX-512 forms and the
 * portable loops), softmax, LayerNorm, and the hard-attention row operations (top-k ties,
 * threshold, sparse aggregation). Sizes cover the vector body and the scalar tail of every loop. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/engine/engine_internal.h"
#include "../src/engine/gemm.h"
#include "check.h"

static void test_gelu(void)
{
    fprintf(stderr, "GELU, %s:\n",
            axf__gemm_available() ? "AVX-512 forms" : axf__vec256_available() ? "AVX2 forms" : "portable loops");
    enum { N = 200003 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++)
        x[i] = -12.0f + 24.0f * (float)i / (N - 1);
    x[0] = 0.0f;
    x[1] = -0.0f;
    x[2] = 1e-30f;
    x[3] = -40.0f;
    x[4] = 40.0f;
    memcpy(y, x, sizeof(float) * N);
    axf_gelu(y, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double t = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)));
        double d = fabs(y[i] - t) / fmax(1.0, fabs(t));
        worst = d > worst ? d : worst;
    }
    fprintf(stderr, "gelu (erf): max error %.3g\n", worst);
    CHECK(worst < 4e-7);
    memcpy(y, x, sizeof(float) * N);
    axf_gelu_tanh(y, N);
    worst = 0;
    for (int i = 0; i < N; i++) {
        double xi = x[i];
        double t = 0.5 * xi * (1 + tanh(sqrt(2 / M_PI) * (xi + 0.044715 * xi * xi * xi)));
        double d = fabs(y[i] - t) / fmax(1.0, fabs(t));
        worst = d > worst ? d : worst;
    }
    fprintf(stderr, "gelu (tanh): max error %.3g\n", worst);
    CHECK(worst < 4e-7);
    float z[3] = {NAN, INFINITY, -INFINITY};
    axf_gelu(z, 3);
    CHECK(isnan(z[0]));
    CHECK(z[1] == INFINITY);
    free(x);
    free(y);
}

static void test_softmax(void)
{
    axf_rng r;
    axf_rng_seed(&r, 4);
    for (int n = 1; n < 70; n += 3) {
        float x[3 * 70];
        double want[3 * 70];
        for (int i = 0; i < 3 * n; i++)
            x[i] = 20.0f * axf_rng_normal(&r);
        x[0] = -1e30f; /* underflows to exactly 0 */
        for (int row = 0; row < 3; row++) {
            double mx = -INFINITY, s = 0;
            for (int j = 0; j < n; j++)
                mx = fmax(mx, x[row * n + j]);
            for (int j = 0; j < n; j++)
                s += want[row * n + j] = exp(x[row * n + j] - mx);
            for (int j = 0; j < n; j++)
                want[row * n + j] /= s;
        }
        axf_softmax_rows(x, 3, n);
        for (int i = 0; i < 3 * n; i++)
            CHECK_NEAR(x[i], want[i], want[i] * (3e-7 + 1.2e-7 * fabs(log(want[i] + 1e-300))) + 1e-37);
    }
    float big[4] = {88.0f, 87.0f, -200.0f, 0.0f};
    axf_softmax_rows(big, 1, 4);
    CHECK_NEAR(big[0], 1 / (1 + exp(-1.0)), 1e-7);
    CHECK(big[2] == 0.0f);
}

static void test_layernorm(void)
{
    axf_rng r;
    axf_rng_seed(&r, 5);
    int H = 37, T = 5;
    float x[5 * 37], g[37], b[37], out[5 * 37], y[5 * 37], bias[37];
    for (int i = 0; i < T * H; i++)
        x[i] = 100.0f + axf_rng_normal(&r); /* a large mean tests the two-pass variance */
    for (int j = 0; j < H; j++) {
        g[j] = 1 + 0.1f * axf_rng_normal(&r);
        b[j] = 0.1f * axf_rng_normal(&r);
        bias[j] = axf_rng_normal(&r);
        y[j] = 0;
    }
    axf_layernorm(out, x, g, b, T, H, 1e-12f);
    for (int t = 0; t < T; t++) {
        double mu = 0, var = 0;
        for (int j = 0; j < H; j++)
            mu += x[t * H + j];
        mu /= H;
        for (int j = 0; j < H; j++)
            var += (x[t * H + j] - mu) * (x[t * H + j] - mu);
        var /= H;
        for (int j = 0; j < H; j++)
            CHECK_NEAR(out[t * H + j], (x[t * H + j] - mu) / sqrt(var + 1e-12) * g[j] + b[j], 2e-5);
    }
    /* fused residual + bias, in place over the second operand */
    for (int i = 0; i < T * H; i++)
        y[i] = axf_rng_normal(&r);
    float want[5 * 37], sum[5 * 37];
    for (int t = 0; t < T; t++)
        for (int j = 0; j < H; j++)
            sum[t * H + j] = x[t * H + j] + y[t * H + j] + bias[j];
    axf_layernorm(want, sum, g, b, T, H, 1e-12f);
    axf__add_ln(y, x, y, bias, g, b, T, H, 1e-12f);
    for (int i = 0; i < T * H; i++)
        CHECK_NEAR(y[i], want[i], 1e-6);
}

static void test_hard_rows(void)
{
    uint32_t key[40];
    unsigned char keep[40];
    float row[6] = {0.1f, 0.3f, 0.3f, 0.3f, 0.2f, -0.5f};
    axf__topk_mark(keep, row, 6, 2, key);
    CHECK(keep[1] && keep[2] && !keep[3] && !keep[0] && !keep[4] && !keep[5]);
    axf__topk_mark(keep, row, 6, 4, key);
    CHECK(keep[1] && keep[2] && keep[3] && keep[4] && !keep[0]);
    axf__topk_mark(keep, row, 6, 5, key);
    CHECK(keep[0] && !keep[5]);
    float neg[5] = {-3.0f, -1.0f, -2.0f, -1.0f, -7.0f};
    axf__topk_mark(keep, neg, 5, 2, key);
    CHECK(!keep[0] && keep[1] && !keep[2] && keep[3] && !keep[4]);
    float same[7] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    axf__topk_mark(keep, same, 7, 3, key);
    CHECK(keep[0] && keep[1] && keep[2] && !keep[3]);
    /* random rows against a sort */
    axf_rng r;
    axf_rng_seed(&r, 6);
    for (int trial = 0; trial < 300; trial++) {
        int n = 2 + axf_rng_below(&r, 38), k = 1 + axf_rng_below(&r, n - 1);
        float x[40];
        for (int j = 0; j < n; j++)
            x[j] = (float)axf_rng_below(&r, 8) / 8.0f; /* many ties */
        axf__topk_mark(keep, x, n, k, key);
        int cnt = 0, ok = 1;
        for (int j = 0; j < n; j++) {
            cnt += keep[j];
            /* j kept iff fewer than k elements beat it (larger, or equal with a lower index) */
            int beat = 0;
            for (int i = 0; i < n; i++)
                beat += x[i] > x[j] || (x[i] == x[j] && i < j);
            ok &= (beat < k) == (keep[j] != 0);
        }
        CHECK(cnt == k);
        CHECK(ok);
    }
    float t[5] = {0.1f, 0.05f, 0.5f, 0.049f, 0.301f};
    CHECK(axf__threshold_row(t, 5, 0.05f) == 4);
    CHECK(t[3] == 0.0f && t[1] == 0.05f);
    /* sparse aggregation */
    float p[4] = {0.5f, 0.0f, 0.25f, 0.0f}, v[4 * 6], out[3];
    for (int i = 0; i < 24; i++)
        v[i] = (float)i;
    uint32_t idx[4];
    axf__gather_row(out, p, 4, v, 6, 3, idx);
    CHECK(out[0] == 0.5f * 0 + 0.25f * 12 && out[1] == 0.5f * 1 + 0.25f * 13 && out[2] == 0.5f * 2 + 0.25f * 14);
    /* head size 64 (the register path) against a plain sum */
    float pw[9] = {0, 0.5f, 0, 0, 0.125f, 0, 0, 0, 0.375f}, vv[9 * 70], o64[64];
    uint32_t idx9[9];
    for (int i = 0; i < 9 * 70; i++)
        vv[i] = (float)(i % 17) - 8.0f;
    axf__gather_row(o64, pw, 9, vv, 70, 64, idx9);
    for (int d = 0; d < 64; d++)
        CHECK(o64[d] == 0.5f * vv[70 + d] + 0.125f * vv[4 * 70 + d] + 0.375f * vv[8 * 70 + d]);
}


/* Every instruction-set level this CPU runs (portable, AVX2, AVX-512) gives the activations, the
 * epilogue with bias and the softmax the same bits: the vector forms are the scalar ones lane by
 * lane (vmath.h). Values cover every erf piece, its ends, exp's clamps and the special floats. */
static void test_levels_same_bits(void)
{
    enum { N = 4099, C = 37 };
    static float x[N], ref[3][N], sref[N], got[N];
    axf_rng r;
    axf_rng_seed(&r, 11);
    for (int i = 0; i < N; i++)
        x[i] = i < N / 2 ? 6.0f * axf_rng_normal(&r) : -12.0f + 24.0f * (float)i / N;
    static const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 4.0f, -4.0f, 3.9999998f, 0.25f, 5.656854f,
                                    -86.0f, -86.00001f, 88.0f, 88.1f, -40.0f, 40.0f, NAN, INFINITY, -INFINITY,
                                    1e30f, -1e30f};
    memcpy(x, special, sizeof special);
    float bias[C];
    for (int j = 0; j < C; j++)
        bias[j] = 0.5f * axf_rng_normal(&r);
    int top = (int)axf_isa_level();
    for (int l = AXF_ISA_GENERIC; l <= top; l++) {
        axf_isa_force(l);
        for (int a = 0; a < 3; a++) {
            axf_act act = a == 0 ? AXF_ACT_GELU : a == 1 ? AXF_ACT_GELU_TANH : AXF_ACT_RELU;
            memcpy(got, x, sizeof x);
            axf__act_tile(got, C, bias, N / C, C, act);          /* rows of 37: vector body and tail */
            if (l == AXF_ISA_GENERIC)
                memcpy(ref[a], got, sizeof got);
            else
                CHECK_MSG(!memcmp(got, ref[a], sizeof got), "activation %d with bias: %s differs from portable", a,
                          axf_isa_name((axf_isa)l));
        }
        memcpy(got, x + 20, (N - 20) * sizeof(float));   /* finite values only */
        axf_softmax_rows(got, (N - 20) / 41, 41);
        if (l == AXF_ISA_GENERIC)
            memcpy(sref, got, (N - 20) / 41 * 41 * sizeof(float));
        else
            CHECK_MSG(!memcmp(got, sref, (N - 20) / 41 * 41 * sizeof(float)), "softmax: %s differs",
                      axf_isa_name((axf_isa)l));
    }
    axf_isa_force(-1);
}

int main(void)
{
    test_gelu();
    if (axf__gemm_available()) {   /* and the portable loops that machines without AVX-512 run */
        axf__avx512 = 0;
        test_gelu();
        axf__avx512 = -1;
    }
    test_softmax();
    test_levels_same_bits();
    test_layernorm();
    test_hard_rows();
    return CHECK_DONE();
}
