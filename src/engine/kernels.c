/* Element-wise kernels of the forward pass: LayerNorm, GELU, softmax and the hard-attention row
 * operations. They are the whole non-GEMM cost of the engine, so they are written for the
 * vectoriser: no libm calls inside loops (exp and erf are the polynomials of vmath.h), no
 * branches, and sums in 16 independent lanes so that no reassociation is needed. */
#include <math.h>
#include <string.h>

#include "engine_internal.h"
#include "gemm.h"
#include "vmath.h"

/* The v16f helpers below pass vectors by value, which GCC warns changes the ABI between targets;
 * they are always inlined, so no call ever crosses one. */
#pragma GCC diagnostic ignored "-Wpsabi"

#define LANES 16

/* On AVX-512 the activations go to axf__act512 (the GEMM's epilogue form), on AVX2 to axf__act256;
 * elsewhere the loops below, for the vectoriser. */
AXF_VEC void axf_gelu(float *x, size_t n)
{
    if (axf__gemm_available() && n <= (size_t)1 << 30) {
        axf__act512(x, n, NULL, 1, (int)n, AXF_ACT_GELU);
        return;
    }
    if (axf__vec256_available() && n <= (size_t)1 << 30) {
        axf__act256(x, n, NULL, 1, (int)n, AXF_ACT_GELU);
        return;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = axf__gelu1(x[i]);
}

AXF_VEC void axf_gelu_tanh(float *x, size_t n)
{
    if (axf__gemm_available() && n <= (size_t)1 << 30) {
        axf__act512(x, n, NULL, 1, (int)n, AXF_ACT_GELU_TANH);
        return;
    }
    if (axf__vec256_available() && n <= (size_t)1 << 30) {
        axf__act256(x, n, NULL, 1, (int)n, AXF_ACT_GELU_TANH);
        return;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = axf__gelu_tanh1(x[i]);
}

AXF_VEC void axf__act_tile(float *x, int ld, const float *bias, int rows, int cols, axf_act act)
{
    if (axf__gemm_available()) {
        axf__act512(x, (size_t)ld, bias, rows, cols, act);
        return;
    }
    if (axf__vec256_available()) {
        axf__act256(x, (size_t)ld, bias, rows, cols, act);
        return;
    }
    for (int t = 0; t < rows; t++) {
        float *row = x + (size_t)t * ld;
        if (bias)
            for (int j = 0; j < cols; j++)
                row[j] += bias[j];
        if (act == AXF_ACT_GELU)
            for (int j = 0; j < cols; j++)
                row[j] = axf__gelu1(row[j]);
        else if (act == AXF_ACT_GELU_TANH)
            for (int j = 0; j < cols; j++)
                row[j] = axf__gelu_tanh1(row[j]);
        else
            for (int j = 0; j < cols; j++)
                row[j] = row[j] > 0.0f ? row[j] : 0.0f;
    }
}

AXF_VEC void axf__add_bias(float *x, int ld, const float *bias, int rows, int cols)
{
    for (int t = 0; t < rows; t++) {
        float *row = x + (size_t)t * ld;
        for (int j = 0; j < cols; j++)
            row[j] += bias[j];
    }
}

static inline __attribute__((always_inline)) v16f vload(const float *p)
{
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void vstore(float *p, v16f v)
{
    memcpy(p, &v, sizeof v);
}

typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* Sum of the 16 lanes as a tree of halves: 4 dependent additions instead of 15. */
static inline __attribute__((always_inline)) float vsum(v16f v)
{
    v8f a, b;
    memcpy(&a, &v, sizeof a);
    memcpy(&b, (const char *)&v + sizeof a, sizeof b);
    a += b;
    v4f c, d;
    memcpy(&c, &a, sizeof c);
    memcpy(&d, (const char *)&a + sizeof c, sizeof d);
    c += d;
    return (c[0] + c[2]) + (c[1] + c[3]);
}

/* Largest of the 16 lanes, the same way (NaN lanes lose, as in row_max). */
static inline __attribute__((always_inline)) float vmax(v16f v)
{
    v8f a, b;
    memcpy(&a, &v, sizeof a);
    memcpy(&b, (const char *)&v + sizeof a, sizeof b);
    v8i ga = b > a;
    a = (v8f)(((v8i)b & ga) | ((v8i)a & ~ga));
    v4f c, d;
    memcpy(&c, &a, sizeof c);
    memcpy(&d, (const char *)&a + sizeof c, sizeof d);
    v4i gc = d > c;
    c = (v4f)(((v4i)d & gc) | ((v4i)c & ~gc));
    float m0 = c[2] > c[0] ? c[2] : c[0], m1 = c[3] > c[1] ? c[3] : c[1];
    return m1 > m0 ? m1 : m0;
}

/* Sum of (v[j] - mean)^2 in four accumulators of 16 lanes: a row is a handful of vectors, and
 * with one accumulator the chain of dependent additions (not the loads) set the pace. */
static inline __attribute__((always_inline)) float row_var4(const float *v, float mean, int n)
{
    v16f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int j = 0;
    for (; j + 4 * LANES <= n; j += 4 * LANES) {
        v16f d0 = vload(v + j) - mean, d1 = vload(v + j + LANES) - mean;
        v16f d2 = vload(v + j + 2 * LANES) - mean, d3 = vload(v + j + 3 * LANES) - mean;
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; j + LANES <= n; j += LANES) {
        v16f d = vload(v + j) - mean;
        s0 += d * d;
    }
    float s = vsum((s0 + s1) + (s2 + s3));
    for (; j < n; j++) {
        float d = v[j] - mean;
        s += d * d;
    }
    return s;
}

/* LayerNorm of v into out given the sum of v: the variance as a second pass over the row, exact. */
static inline __attribute__((always_inline)) void ln_finish(float *out, const float *v, float sum, const float *g,
                                                           const float *b, int H, float eps)
{
    float mean = sum / (float)H;
    float rstd = 1.0f / sqrtf(row_var4(v, mean, H) / (float)H + eps);
    for (int j = 0; j < H; j++)
        out[j] = (v[j] - mean) * rstd * g[j] + b[j];
}

/* o = a + b + bias (b, bias may be NULL; o may be a or b) and the sum of o, in four accumulators
 * like row_var4: the LayerNorm's first pass rides on the additions (or on the copy). */
static inline __attribute__((always_inline)) float add_sum(float *o, const float *a, const float *b,
                                                          const float *bias, int H)
{
    v16f s[4] = {{0}, {0}, {0}, {0}};
    int j = 0;
    for (; j + 4 * LANES <= H; j += 4 * LANES)
        for (int u = 0; u < 4; u++) {
            v16f v = vload(a + j + u * LANES);
            if (b)
                v += vload(b + j + u * LANES);
            if (bias)
                v += vload(bias + j + u * LANES);
            vstore(o + j + u * LANES, v);
            s[u] += v;
        }
    for (; j + LANES <= H; j += LANES) {
        v16f v = vload(a + j);
        if (b)
            v += vload(b + j);
        if (bias)
            v += vload(bias + j);
        vstore(o + j, v);
        s[0] += v;
    }
    float sum = vsum((s[0] + s[1]) + (s[2] + s[3]));
    for (; j < H; j++) {
        float v = a[j];
        if (b)
            v += b[j];
        if (bias)
            v += bias[j];
        o[j] = v;
        sum += v;
    }
    return sum;
}

AXF_VEC void axf_layernorm(float *out, const float *in, const float *g, const float *b, int T, int H,
                           float eps)
{
    for (int t = 0; t < T; t++) {
        float *o = out + (size_t)t * H;
        ln_finish(o, o, add_sum(o, in + (size_t)t * H, NULL, NULL, H), g, b, H, eps);
    }
}

AXF_VEC void axf__add_ln(float *out, const float *a, const float *b, const float *bias, const float *g,
                         const float *beta, int T, int H, float eps)
{
    for (int t = 0; t < T; t++) {
        float *o = out + (size_t)t * H;
        const float *ar = a + (size_t)t * H, *br = b ? b + (size_t)t * H : NULL;
        float sum = br ? (bias ? add_sum(o, ar, br, bias, H) : add_sum(o, ar, br, NULL, H))
                       : (bias ? add_sum(o, ar, NULL, bias, H) : add_sum(o, ar, NULL, NULL, H));
        ln_finish(o, o, sum, g, beta, H, eps);
    }
}

/* GCC does not vectorise a max written as a comparison (NaN rules), so the 16 lanes are a
 * generic vector type (vmath.h) with an explicit select; it lowers to one register per 16 floats
 * on AVX-512 and to 2 or 4 on narrower targets. */

static inline __attribute__((always_inline)) float row_max(const float *x, int n)
{
    float m = x[0];
    int j = 0;
    if (n >= LANES) {
        v16f acc = vload(x);
        for (j = LANES; j + LANES <= n; j += LANES) {
            v16f v = vload(x + j);
            v16i gt = v > acc;
            acc = (v16f)(((v16i)v & gt) | ((v16i)acc & ~gt));
        }
        m = vmax(acc);
    }
    for (; j < n; j++)
        m = x[j] > m ? x[j] : m;
    return m;
}

/* exp(x - m) in place, then the sum of the results in 16 lanes. GCC 12 does not vectorise the
 * polynomial once its multiply-adds are written as fmaf (in a target_clones function it keeps
 * them scalar: "control flow in loop"), so on AVX-512 the exps are axf__exp_row512, on AVX2
 * axf__exp_row256 (the same operations), elsewhere the scalar form. */
static inline __attribute__((always_inline)) float exp_sum(float *x, float m, int n)
{
    if (axf__gemm_available())
        axf__exp_row512(x, m, n);
    else if (axf__vec256_available())
        axf__exp_row256(x, m, n);
    else
        for (int j = 0; j < n; j++)
            x[j] = axf__fexp(x[j] - m);
    float acc[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += x[j + l];
    v16f a;
    memcpy(&a, acc, sizeof a);
    float s = vsum(a);
    for (; j < n; j++)
        s += x[j];
    return s;
}

AXF_VEC void axf__softmax_row(float *x, int n)
{
    float m = row_max(x, n);
    float inv = 1.0f / exp_sum(x, m, n);
    for (int j = 0; j < n; j++)
        x[j] *= inv;
}

AXF_VEC void axf_softmax_rows(float *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        axf__softmax_row(x + (size_t)r * cols, cols);
}

AXF_VEC void axf__softmax_row_kept(float *x, const unsigned char *keep, int n)
{
    float m = -INFINITY;
    for (int j = 0; j < n; j++)
        m = keep[j] && x[j] > m ? x[j] : m;
    float s = 0;
    for (int j = 0; j < n; j++) {
        float e = axf__fexp(x[j] - m);
        e = keep[j] ? e : 0.0f;
        x[j] = e;
        s += e;
    }
    float inv = 1.0f / s;
    for (int j = 0; j < n; j++)
        x[j] *= inv;
}

/* Order-preserving map of floats to unsigned keys, so the k-th largest is found by bisection on
 * integers with exact tie handling. */
static inline uint32_t fkey(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline int count_ge(const uint32_t *k, int n, uint32_t t)
{
    int acc[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += k[j + l] >= t;
    int c = 0;
    for (int l = 0; l < LANES; l++)
        c += acc[l];
    for (; j < n; j++)
        c += k[j] >= t;
    return c;
}

/* Bisection on the key range for the largest t with count(key >= t) >= k; stops early when some
 * t has exactly k keys at or above it, which happens after a handful of steps on real rows. */
AXF_VEC void axf__topk_mark(unsigned char *keep, const float *x, int n, int k, uint32_t *key)
{
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int j = 0; j < n; j++) {
        uint32_t u = fkey(x[j]);
        key[j] = u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    int at_lo = n; /* count(key >= lo) */
    while (lo < hi) {
        uint32_t mid = lo + (uint32_t)(((uint64_t)hi - lo + 1) / 2);
        int c = count_ge(key, n, mid);
        if (c >= k) {
            lo = mid;
            at_lo = c;
            if (c == k)
                break;
        } else {
            hi = mid - 1;
        }
    }
    if (at_lo == k) { /* no tie across the boundary: the common case, vectorised */
        for (int j = 0; j < n; j++)
            keep[j] = key[j] >= lo;
        return;
    }
    int ties = k - (lo == UINT32_MAX ? 0 : count_ge(key, n, lo + 1));
    for (int j = 0; j < n; j++) {
        int eq = key[j] == lo && ties > 0;
        ties -= eq;
        keep[j] = (unsigned char)(key[j] > lo || eq);
    }
}

AXF_VEC int axf__threshold_row(float *x, int n, float thr)
{
    int kept = 0;
    for (int j = 0; j < n; j++) {
        int k = !(x[j] < thr);
        kept += k;
        x[j] = k ? x[j] : 0.0f;
    }
    return kept;
}

/* Index list of the nonzero weights, branch-free (a sparse row mispredicts every other branch),
 * then the weighted sum of those rows of v as the dense product does it (axf/matmul.h): one chain
 * of fused multiply-adds per output over the keys in ascending order, the zero weights skipped
 * (fma(0, v, s) is s), so this and the dense path give the same bits. The common head size 64
 * keeps the sums in registers. */
AXF_VEC void axf__gather_row(float *out, const float *p, int n, const float *v, int ldv, int hs, uint32_t *idx)
{
    int c = 0;
    for (int j = 0; j < n; j++) {
        idx[c] = (uint32_t)j;
        c += p[j] != 0.0f;
    }
    if (hs == 64) {
        float a[64] = {0};
        for (int t = 0; t < c; t++) {
            const float *vr = v + (size_t)idx[t] * ldv;
            float w = p[idx[t]];
            for (int d = 0; d < 64; d++)
                a[d] = fmaf(w, vr[d], a[d]);
        }
        memcpy(out, a, sizeof a);
        return;
    }
    for (int d = 0; d < hs; d++)
        out[d] = 0.0f;
    for (int t = 0; t < c; t++) {
        const float *vr = v + (size_t)idx[t] * ldv;
        float w = p[idx[t]];
        for (int d = 0; d < hs; d++)
            out[d] = fmaf(w, vr[d], out[d]);
    }
}

AXF_VEC void axf__apply_keep(float *x, const unsigned char *keep, int n)
{
    for (int j = 0; j < n; j++)
        x[j] = keep[j] ? x[j] : 0.0f;
}
