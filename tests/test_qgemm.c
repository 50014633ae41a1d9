/* The int8 product (src/engine/qgemm.c, arithmetic in axf/quant.h). For every kernel this CPU can
 * run (portable C, AVX2 vpmaddwd, AVX-512 VNNI vpdpbusd), on odd shapes (T = 1 and T not a
 * multiple of the kernel's rows, N not a multiple of the panel width, K not a multiple of the k
 * group, K = 1) and extreme values (inputs and weights at ±127 after quantization in whole rows,
 * so that every product is ±127² and VNNI's unsigned operand is 255 or 1; zero rows; rows below
 * the smallest scale; NaN and infinite inputs; K = 4,096 at the extremes, where the sums exceed
 * 2^24 and their conversion to float rounds):
 *  - the result equals a scalar reference written here from the contract (quantize with
 *    nearbyintf, sum in 64-bit integers, ((float)sum · s_x) · s_w), bit for bit;
 *  - the kernels agree with each other bit for bit, chosen as the engine chooses them, through
 *    axf_isa_force;
 *  - the epilogue (bias, GELU, whole-row callback) is the float path's, and two threads give the
 *    same bits as one;
 *  - axf_quant_row on hand-computed rows (ties round to even), zero and non-finite rows. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/engine/engine_internal.h"
#include "../src/engine/qgemm.h"
#include "axf/engine.h"
#include "axf/model.h"
#include "axf/quant.h"
#include "check.h"

static unsigned long long rng = 88172645463325252ULL;

static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* ---- the reference, from the contract in axf/quant.h ---- */

static float ref_qx(const float *x, int K, int8_t *q)
{
    float amax = 0;
    int bad = 0;
    for (int k = 0; k < K; k++) {
        if (!isfinite(x[k]))
            bad = 1;
        else if (fabsf(x[k]) > amax)
            amax = fabsf(x[k]);
    }
    if (bad || amax < 0x1p-100f) {
        memset(q, 0, (size_t)K);
        return bad ? NAN : 0.0f;
    }
    float inv = 127.0f / amax;
    for (int k = 0; k < K; k++) {
        float v = nearbyintf(x[k] * inv);
        q[k] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    return amax / 127.0f;
}

static void ref_product(const float *x, int T, int K, const int8_t *qw, const float *sw, int N, float *y)
{
    int8_t *qx = malloc((size_t)K + 1);
    for (int t = 0; t < T; t++) {
        float sx = ref_qx(x + (size_t)t * K, K, qx);
        for (int n = 0; n < N; n++) {
            long long s = 0;
            for (int k = 0; k < K; k++)
                s += (long long)qx[k] * qw[(size_t)n * K + k];
            y[(size_t)t * N + n] = ((float)s * sx) * sw[n];
        }
    }
    free(qx);
}

static int same_bits(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* ---- axf_quant_row ---- */

static void test_quant_row(void)
{
    /* s = 1 / 127 exactly as float division gives it; 63.5 ties to 64 (even), 31.75 -> 32 */
    const float w[4] = {0.5f, -1.0f, 0.25f, 0.0f};
    int8_t q[4];
    float s;
    axf_quant_row(q, &s, w, 4);
    CHECK(s == 1.0f / 127.0f);
    CHECK(q[1] == -127 && q[3] == 0);
    CHECK(q[0] == (int8_t)nearbyintf(0.5f / s) && q[2] == (int8_t)nearbyintf(0.25f / s));
    /* a tie exactly: amax 127 -> s = 1, 2.5 -> 2 and -3.5 -> -4 (to even) */
    const float t[3] = {127.0f, 2.5f, -3.5f};
    axf_quant_row(q, &s, t, 3);
    CHECK(s == 1.0f && q[0] == 127 && q[1] == 2 && q[2] == -4);
    const float z[3] = {0, -0.0f, 0};
    axf_quant_row(q, &s, z, 3);
    CHECK(s == 0 && q[0] == 0 && q[1] == 0 && q[2] == 0);
    const float n[3] = {1, NAN, 2};
    axf_quant_row(q, &s, n, 3);
    CHECK(isnan(s) && q[0] == 0 && q[2] == 0);
    /* every row of random weights: |q| <= 127, the largest at ±127, W ~ q s within s / 2 */
    for (int r = 0; r < 50; r++) {
        float v[37];
        int8_t qq[37];
        for (int k = 0; k < 37; k++)
            v[k] = frand() * (float)(r + 1);
        axf_quant_row(qq, &s, v, 37);
        int top = 0;
        for (int k = 0; k < 37; k++) {
            CHECK(qq[k] >= -127 && qq[k] <= 127);
            top |= qq[k] == 127 || qq[k] == -127;
            CHECK(fabsf(v[k] - qq[k] * s) <= 0.5001f * s);
        }
        CHECK(top);
    }
}

/* ---- the kernels ---- */

enum { X_RANDOM, X_MAX, X_MIXED };

/* Inputs of case `kind`: random, or rows at the extremes (all +amax, all -amax, zero, tiny,
 * one huge value, NaN, infinity) cycled over the rows. */
static void fill_x(float *x, int T, int K, int mode)
{
    for (int t = 0; t < T; t++) {
        float *r = x + (size_t)t * K;
        int c = mode == X_RANDOM ? -1 : mode == X_MAX ? t % 2 : t % 8;
        for (int k = 0; k < K; k++) {
            switch (c) {
            case 0: r[k] = 3.0f; break;                          /* all +127 */
            case 1: r[k] = -0.75f; break;                        /* all -127 (u8 1 on VNNI) */
            case 2: r[k] = 0.0f; break;                          /* zero row */
            case 3: r[k] = frand() * 0x1p-102f; break;          /* below the smallest scale */
            case 4: r[k] = k == K / 2 ? 1e30f : frand(); break;  /* one value swamps the rest */
            case 5: r[k] = k == K - 1 ? NAN : frand(); break;
            case 6: r[k] = k == 0 ? -INFINITY : frand(); break;
            default: r[k] = frand() * 4.0f; break;
            }
        }
    }
}

/* Weights: random rows, rows all at ±127 (constant rows), zero rows, rows with one non-zero. */
static void fill_w(int8_t *q, float *s, int N, int K, int mode)
{
    float *row = malloc(sizeof(float) * (size_t)K);
    for (int n = 0; n < N; n++) {
        int c = mode == X_RANDOM ? -1 : mode == X_MAX ? n % 2 : n % 5;
        for (int k = 0; k < K; k++)
            row[k] = c == 0 ? 0.02f : c == 1 ? -0.5f : c == 2 ? 0.0f : c == 3 ? (k == n % K ? 1.0f : 0.0f)
                                                                         : frand() * 0.1f;
        axf_quant_row(q + (size_t)n * K, &s[n], row, K);
    }
    free(row);
}

static const axf_qkern kinds[] = {AXF_QK_PORTABLE, AXF_QK_AVX2, AXF_QK_VNNI};

static int kind_runs(axf_qkern k)
{
    if (k == AXF_QK_PORTABLE)
        return 1;
    axf_isa_force(k == AXF_QK_AVX2 ? AXF_ISA_AVX2 : AXF_ISA_AVX512);
    int ok = axf__qgemm_kind() == k;
    axf_isa_force(-1);
    return ok;
}

/* The product of one case on kernel `kind` (the one axf_isa_force selects), y[T, N]. */
static void run_kind(axf_engine *e, axf_qkern kind, const float *x, int T, int K, const int8_t *qw,
                     const float *sw, int N, const axf_gemm_epi *epi, float *y, int ldy)
{
    axf_isa_force(kind == AXF_QK_PORTABLE ? AXF_ISA_GENERIC : kind == AXF_QK_AVX2 ? AXF_ISA_AVX2 : AXF_ISA_AVX512);
    axf_qkern k = axf__qgemm_kind();
    CHECK(k == kind);
    axf_qgemm_w *w = axf__qgemm_pack(qw, sw, N, K, K, k);
    void *buf = malloc(axf__qact_bytes(T, K));
    float *sx = malloc(sizeof(float) * (size_t)T);
    axf_qact a;
    axf__qact_quantize(e, &a, buf, sx, x, K, T, K, k);
    axf__qgemm(e, w, &a, epi, y, ldy);
    axf__qgemm_w_free(w);
    free(buf);
    free(sx);
    axf_isa_force(-1);
}

/* One shape and fill: every kernel against the reference and each other. Returns wrong elements. */
static int one_case(axf_engine *e, int T, int N, int K, int mode)
{
    float *x = malloc(sizeof(float) * (size_t)T * K);
    int8_t *qw = malloc((size_t)N * K);
    float *sw = malloc(sizeof(float) * (size_t)N);
    float *ref = malloc(sizeof(float) * (size_t)T * N);
    float *y = malloc(sizeof(float) * (size_t)T * (N + 3));
    fill_x(x, T, K, mode);
    fill_w(qw, sw, N, K, mode);
    ref_product(x, T, K, qw, sw, N, ref);
    int bad = 0;
    for (int ki = 0; ki < 3; ki++) {
        if (!kind_runs(kinds[ki]))
            continue;
        for (size_t i = 0; i < (size_t)T * (N + 3); i++)
            y[i] = -7.0f;
        run_kind(e, kinds[ki], x, T, K, qw, sw, N, NULL, y, N + 3);
        int wrong = 0;
        for (int t = 0; t < T; t++) {
            for (int n = 0; n < N; n++)
                if (!same_bits(y[(size_t)t * (N + 3) + n], ref[(size_t)t * N + n])) {
                    if (wrong++ < 3)
                        fprintf(stderr, "%s T=%d N=%d K=%d mode %d: y[%d][%d] = %.9g, reference %.9g\n",
                                axf__qgemm_kind_name(kinds[ki]), T, N, K, mode, t, n,
                                y[(size_t)t * (N + 3) + n], ref[(size_t)t * N + n]);
                }
            for (int n = N; n < N + 3; n++)
                wrong += y[(size_t)t * (N + 3) + n] != -7.0f;   /* nothing written past N */
        }
        CHECK_MSG(wrong == 0, "%s T=%d N=%d K=%d mode %d: %d wrong", axf__qgemm_kind_name(kinds[ki]), T, N,
                  K, mode, wrong);
        bad += wrong;
    }
    free(x);
    free(qw);
    free(sw);
    free(ref);
    free(y);
    return bad;
}

/* The epilogue: bias + GELU in the stores, and LayerNorm over whole rows, equal to passes of
 * their own over the plain product; at two threads the same bits as at one. */
typedef struct {
    float *y, *out;
    const float *g, *b;
    int H;
} ln_ctx;

static void ln_rows(void *ctx, int r0, int r1)
{
    ln_ctx *c = ctx;
    axf__add_ln(c->out + (size_t)r0 * c->H, c->y + (size_t)r0 * c->H, NULL, NULL, c->g, c->b, r1 - r0, c->H, 1e-12f);
}

static void test_epilogue(axf_engine *e1, axf_engine *e2)
{
    const int T = 77, N = 70, K = 45;
    float *x = malloc(sizeof(float) * T * K), *sw = malloc(sizeof(float) * N), *bias = malloc(sizeof(float) * N);
    int8_t *qw = malloc((size_t)N * K);
    float *plain = malloc(sizeof(float) * T * N), *fused = malloc(sizeof(float) * T * N);
    float *out1 = malloc(sizeof(float) * T * N), *out2 = malloc(sizeof(float) * T * N);
    float g[70], b[70];
    fill_x(x, T, K, X_RANDOM);
    fill_w(qw, sw, N, K, X_RANDOM);
    for (int n = 0; n < N; n++) {
        bias[n] = frand();
        g[n] = 1 + 0.1f * frand();
        b[n] = 0.1f * frand();
    }
    for (int ki = 0; ki < 3; ki++) {
        if (!kind_runs(kinds[ki]))
            continue;
        run_kind(e1, kinds[ki], x, T, K, qw, sw, N, NULL, plain, N);
        axf__act_tile(plain, N, bias, T, N, AXF_ACT_GELU);
        axf_gemm_epi epi = {.bias = bias, .act_on = 1, .act = AXF_ACT_GELU};
        for (int th = 0; th < 2; th++) {
            run_kind(th ? e2 : e1, kinds[ki], x, T, K, qw, sw, N, &epi, fused, N);
            CHECK_MSG(!memcmp(plain, fused, sizeof(float) * T * N), "%s: bias + GELU in the stores, %d threads",
                      axf__qgemm_kind_name(kinds[ki]), th + 1);
        }
        ln_ctx c1 = {fused, out1, g, b, N}, c2 = {fused, out2, g, b, N};
        run_kind(e1, kinds[ki], x, T, K, qw, sw, N, NULL, plain, N);
        axf__add_ln(out1, plain, NULL, NULL, g, b, T, N, 1e-12f);
        axf_gemm_epi el = {.rows = ln_rows, .rows_ctx = &c2};
        run_kind(e2, kinds[ki], x, T, K, qw, sw, N, &el, fused, N);
        CHECK_MSG(!memcmp(out1, out2, sizeof(float) * T * N), "%s: LayerNorm rows", axf__qgemm_kind_name(kinds[ki]));
        (void)c1;
    }
    free(x);
    free(sw);
    free(bias);
    free(qw);
    free(plain);
    free(fused);
    free(out1);
    free(out2);
}

int main(void)
{
    test_quant_row();
    axf_config cfg = axf_config_default(50, 32, 1, 2, 64, 2);
    axf_err err;
    axf_model *m = axf_model_new(&cfg, 0, &err);
    axf_engine *e1 = m ? axf_engine_new(m, 8, &err) : NULL, *e2 = m ? axf_engine_new(m, 8, &err) : NULL;
    if (!e1 || !e2) {
        fprintf(stderr, "test_qgemm: %s\n", err.msg);
        return 1;
    }
    for (int ki = 0; ki < 3; ki++)
        fprintf(stderr, "kernel %s: %s\n", axf__qgemm_kind_name(kinds[ki]), kind_runs(kinds[ki]) ? "tested" : "not on this CPU");
    /* the kind follows the level in force */
    axf_isa_force(AXF_ISA_GENERIC);
    CHECK(axf__qgemm_kind() == AXF_QK_PORTABLE);
    axf_isa_force(-1);

    static const int shapes[][3] = {
        {1, 1, 1},    {1, 32, 4},  {3, 33, 5},   {13, 17, 3},  {12, 64, 768}, {25, 100, 257},
        {7, 31, 2},   {97, 47, 66}, {130, 96, 30}, {5, 16, 1},  {200, 33, 129}};
    int bad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int mode = 0; mode < 3; mode++)
            bad += one_case(e1, shapes[s][0], shapes[s][1], shapes[s][2], mode);
    /* the extremes over a long K: sums of 4,096 products of ±127², past 2^24 */
    bad += one_case(e1, 14, 40, 4096, X_MAX);
    bad += one_case(e1, 9, 35, 4093, X_MIXED);
    /* two threads: the same bits */
    axf_set_threads(2);
    bad += one_case(e2, 250, 200, 96, X_MIXED);
    bad += one_case(e2, 3, 500, 64, X_RANDOM);
    test_epilogue(e1, e2);
    axf_set_threads(1);
    CHECK(bad == 0);
    axf_engine_free(e1);
    axf_engine_free(e2);
    axf_model_free(m);
    return CHECK_DONE();
}
