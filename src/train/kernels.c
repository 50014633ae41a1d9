/* Training kernels: each forward has a backward twin with the mirrored signature. Dense products
 * go to axf_matmul (fixed arithmetic: the same bits on every CPU); the element-wise ones are plain
 * loops the compiler can vectorise without reassociating (built with -ffp-contract=off). The
 * element-wise passes share the threads (axf/parallel.h) in pieces whose bounds depend on the sizes
 * only, and every element is computed as on one thread: the same bits at any thread count. */
#include "kernels.h"

#include "axf/engine.h"
#include "axf/matmul.h"
#include "axf/parallel.h"
#include "axf/plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Element-wise work is cut into pieces of this many floats (the last one shorter): a multiple of
 * every vector width, so each piece's tail is where the whole pass's was. */
#define PAR_GRAIN ((size_t)16384)

void tk_linear_fwd(float *y, int ldy, const float *x, int ldx, const float *w, const float *b, int T,
                   int IC, int OC)
{
    if (T <= 0)
        return;
    /* the product, then the bias: the engine's order, so the two agree to the bit */
    axf_matmul_bias(0, 1, T, OC, IC, x, ldx, w, IC, 0, b, y, ldy);
}

typedef struct {
    float *db;
    const float *dy;
    int T, lddy;
} colsum_job;

/* db[o] += the rows of dy in order, for the columns [o0, o1). */
AXF_VEC static void colsum_range(void *ctx, size_t o0, size_t o1)
{
    const colsum_job *j = ctx;
    for (int t = 0; t < j->T; t++) {
        const float *r = j->dy + (size_t)t * j->lddy;
        for (size_t o = o0; o < o1; o++)
            j->db[o] += r[o];
    }
}

AXF_VEC void tk_linear_bwd(float *dx, int lddx, int accumulate, float *dw, float *db, const float *dy, int lddy,
                   const float *x, int ldx, const float *w, int T, int IC, int OC)
{
    if (T <= 0) {
        if (dx && !accumulate)
            for (int t = 0; t < T; t++)
                memset(dx + (size_t)t * lddx, 0, (size_t)IC * sizeof(float));
        return;
    }
    if (dx)
        axf_matmul(0, 0, T, IC, OC, dy, lddy, w, IC, accumulate, dx, lddx);
    if (dw)
        axf_matmul(1, 0, OC, IC, T, dy, lddy, x, ldx, 1, dw, IC);
    if (db) { /* columns of 64 when there are rows enough to be worth a region */
        colsum_job j = {db, dy, T, lddy};
        axf_parallel_range(colsum_range, &j, (size_t)OC, (size_t)T * OC >= PAR_GRAIN ? 64 : (size_t)OC);
    }
}

/* Sums in LANES independent accumulators: vectorises without reassociating (bit-stable). */
#define LANES 16

static inline float lane_sum(const float *acc)
{
    float s = 0.0f;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    return s;
}

AXF_VEC static void ln_fwd_rows(float *out, float *xhat, float *rstd, const float *in, const float *g,
                                const float *b, int t0, int t1, int H, float eps)
{
    int Hv = H - H % LANES;
    for (int t = t0; t < t1; t++) {
        const float *x = in + (size_t)t * H;
        float *xh = xhat + (size_t)t * H, *o = out + (size_t)t * H;
        float acc[LANES] = {0};
        for (int i = 0; i < Hv; i += LANES)
            for (int j = 0; j < LANES; j++)
                acc[j] += x[i + j];
        float mean = lane_sum(acc);
        for (int i = Hv; i < H; i++)
            mean += x[i];
        mean /= (float)H;
        float acc2[LANES] = {0};
        for (int i = 0; i < Hv; i += LANES)
            for (int j = 0; j < LANES; j++) {
                float d = x[i + j] - mean;
                acc2[j] += d * d;
            }
        float var = lane_sum(acc2);
        for (int i = Hv; i < H; i++)
            var += (x[i] - mean) * (x[i] - mean);
        var /= (float)H;
        float rs = 1.0f / sqrtf(var + eps);
        for (int i = 0; i < H; i++) {
            xh[i] = (x[i] - mean) * rs;
            o[i] = xh[i] * g[i] + b[i];
        }
        rstd[t] = rs;
    }
}

typedef struct {
    float *out, *xhat, *rstd, *dx, *dg, *db;
    const float *in, *g, *b, *dout, *xh, *rs; /* xh, rs: the backward pass's xhat and rstd */
    int T, H, accumulate;
    float eps;
} ln_job;

static void ln_fwd_range(void *ctx, size_t t0, size_t t1)
{
    const ln_job *j = ctx;
    ln_fwd_rows(j->out, j->xhat, j->rstd, j->in, j->g, j->b, (int)t0, (int)t1, j->H, j->eps);
}

/* Rows a piece of row-wise work takes: about PAR_GRAIN floats. */
static size_t rows_grain(int H) { return H > 0 && PAR_GRAIN / (size_t)H > 0 ? PAR_GRAIN / (size_t)H : 1; }

void tk_layernorm_fwd(float *out, float *xhat, float *rstd, const float *in, const float *g, const float *b, int T,
                      int H, float eps)
{
    ln_job j = {.out = out, .xhat = xhat, .rstd = rstd, .in = in, .g = g, .b = b, .T = T, .H = H, .eps = eps};
    axf_parallel_range(ln_fwd_range, &j, (size_t)(T > 0 ? T : 0), rows_grain(H));
}

/* The input gradient of rows [t0, t1). */
AXF_VEC static void ln_bwd_rows(float *dx, int accumulate, const float *dout, const float *xhat, const float *rstd,
                                const float *g, int t0, int t1, int H)
{
    int Hv = H - H % LANES;
    for (int t = t0; t < t1; t++) {
        const float *dy = dout + (size_t)t * H, *xh = xhat + (size_t)t * H;
        float *d = dx + (size_t)t * H;
        float a1[LANES] = {0}, a2[LANES] = {0};
        for (int i = 0; i < Hv; i += LANES)
            for (int j = 0; j < LANES; j++) {
                float dxh = dy[i + j] * g[i + j];
                a1[j] += dxh;
                a2[j] += dxh * xh[i + j];
            }
        float m1 = lane_sum(a1), m2 = lane_sum(a2);
        for (int i = Hv; i < H; i++) {
            m1 += dy[i] * g[i];
            m2 += dy[i] * g[i] * xh[i];
        }
        m1 /= (float)H;
        m2 /= (float)H;
        float rs = rstd[t];
        if (accumulate)
            for (int i = 0; i < H; i++)
                d[i] += rs * (dy[i] * g[i] - m1 - xh[i] * m2);
        else
            for (int i = 0; i < H; i++)
                d[i] = rs * (dy[i] * g[i] - m1 - xh[i] * m2);
    }
}

/* The gain and bias gradients of columns [i0, i1): each column summed over the rows in order. */
AXF_VEC static void ln_bwd_cols(float *dg, float *db, const float *dout, const float *xhat, int T, int H, int i0,
                                int i1)
{
    for (int t = 0; t < T; t++) {
        const float *dy = dout + (size_t)t * H, *xh = xhat + (size_t)t * H;
        if (dg)
            for (int i = i0; i < i1; i++)
                dg[i] += dy[i] * xh[i];
        if (db)
            for (int i = i0; i < i1; i++)
                db[i] += dy[i];
    }
}

static void ln_bwd_range(void *ctx, size_t t0, size_t t1)
{
    const ln_job *j = ctx;
    ln_bwd_rows(j->dx, j->accumulate, j->dout, j->xh, j->rs, j->g, (int)t0, (int)t1, j->H);
}

static void ln_cols_range(void *ctx, size_t i0, size_t i1)
{
    const ln_job *j = ctx;
    ln_bwd_cols(j->dg, j->db, j->dout, j->xh, j->T, j->H, (int)i0, (int)i1);
}

void tk_layernorm_bwd(float *dx, int accumulate, float *dg, float *db, const float *dout, const float *xhat,
                      const float *rstd, const float *g, int T, int H)
{
    if (T < 1)
        return;
    ln_job j = {.dx = dx, .dg = dg, .db = db, .dout = dout, .xh = xhat, .rs = rstd, .g = g, .T = T, .H = H,
                .accumulate = accumulate};
    axf_parallel_range(ln_bwd_range, &j, (size_t)T, rows_grain(H));
    if (dg || db) /* columns of 64 when there are rows enough to be worth a region */
        axf_parallel_range(ln_cols_range, &j, (size_t)H, (size_t)T * H >= PAR_GRAIN ? 64 : (size_t)H);
}

#define INV_SQRT_2PI 0.39894228040143267794f
#define SQRT_2_PI 0.79788456080286535588f

/* exp(x) for the backward pass: x = n ln2 + r with |r| <= ln2/2, degree-6 Taylor polynomial
 * (relative error ~1e-7), 2^n added to the exponent bits. Branch-free so loops vectorise. */
static inline float tk_exp(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float t = x * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    int32_t ti;
    memcpy(&ti, &t, 4);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = 1.0f + r + r * r * p;
    uint32_t pi;
    memcpy(&pi, &p, 4);
    pi += (uint32_t)(ti - 0x4B400000) << 23;
    float res;
    memcpy(&res, &pi, 4);
    return res;
}

/* GELU'(x) = Phi(x) + x phi(x). erf by Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7),
 * whose exp(-z^2) with z = x / sqrt 2 is also the Gaussian density's exp(-x^2 / 2). */
static inline float gelu_grad(float x)
{
    float a = fabsf(x) * 0.70710678118654752f;
    float e = tk_exp(-0.5f * x * x);
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
    float erf_a = 1.0f - poly * e;
    float erf_x = x < 0.0f ? -erf_a : erf_a;
    return 0.5f * (1.0f + erf_x) + x * INV_SQRT_2PI * e;
}

static inline float gelu_tanh_grad(float x)
{
    float y = SQRT_2_PI * (x + 0.044715f * x * x * x);
    float th = 1.0f - 2.0f / (1.0f + tk_exp(2.0f * y));
    return 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * SQRT_2_PI * (1.0f + 3.0f * 0.044715f * x * x);
}

/* The forward activations are the engine's, so training and inference agree to the bit there. */
/* One element-wise pass over [i0, i1) of its arrays (ew_job.kind). */
typedef struct {
    int kind;
    float *out;
    const float *a, *b;
    const unsigned char *mask;
    float k;
    axf_act act;
} ew_job;

enum { EW_ACT_FWD, EW_ACT_BWD, EW_MASK, EW_ADD_MASKED, EW_ADD };

static void act_fwd_part(float *out, size_t n, axf_act act)
{
    switch (act) {
    case AXF_ACT_GELU:
        axf_gelu(out, n);
        break;
    case AXF_ACT_GELU_TANH:
        axf_gelu_tanh(out, n);
        break;
    case AXF_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            out[i] = out[i] > 0.0f ? out[i] : 0.0f;
        break;
    }
}

AXF_VEC static void act_bwd_part(float *du, const float *dout, const float *u, size_t n, axf_act act)
{
    switch (act) {
    case AXF_ACT_GELU:
        for (size_t i = 0; i < n; i++)
            du[i] = dout[i] * gelu_grad(u[i]);
        break;
    case AXF_ACT_GELU_TANH:
        for (size_t i = 0; i < n; i++)
            du[i] = dout[i] * gelu_tanh_grad(u[i]);
        break;
    case AXF_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            du[i] = u[i] > 0.0f ? dout[i] : 0.0f;
        break;
    }
}

AXF_VEC static void apply_mask(float *out, const float *x, const unsigned char *mask, size_t n, float keep)
{
    for (size_t i = 0; i < n; i++)
        out[i] = mask[i] ? x[i] * keep : 0.0f;
}

AXF_VEC static void add_masked(float *out, const float *a, const float *res, const unsigned char *mask, size_t n,
                              float keep)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (mask[i] ? a[i] * keep : 0.0f) + res[i];
}

AXF_VEC static void add2(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

static void ew_range(void *ctx, size_t i0, size_t i1)
{
    const ew_job *j = ctx;
    size_t n = i1 - i0;
    float *o = j->out + i0;
    switch (j->kind) {
    case EW_ACT_FWD: act_fwd_part(o, n, j->act); break;
    case EW_ACT_BWD: act_bwd_part(o, j->a + i0, j->b + i0, n, j->act); break;
    case EW_MASK: apply_mask(o, j->a + i0, j->mask + i0, n, j->k); break;
    case EW_ADD_MASKED: add_masked(o, j->a + i0, j->b + i0, j->mask + i0, n, j->k); break;
    case EW_ADD: add2(o, j->a + i0, j->b + i0, n); break;
    }
}

static void ew_run(ew_job j, size_t n) { axf_parallel_range(ew_range, &j, n, PAR_GRAIN); }

void tk_act_fwd(float *out, const float *u, size_t n, axf_act act)
{
    if (out != u)
        memcpy(out, u, n * sizeof(float));
    ew_run((ew_job){.kind = EW_ACT_FWD, .out = out, .act = act}, n);
}

void tk_act_bwd(float *du, const float *dout, const float *u, size_t n, axf_act act)
{
    ew_run((ew_job){.kind = EW_ACT_BWD, .out = du, .a = dout, .b = u, .act = act}, n);
}

void tk_softmax_rows(float *x, int rows, int cols) { axf_softmax_rows(x, rows, cols); }

/* One row: log-sum-exp with the polynomial exp, sums in double lanes. */
AXF_VEC static double xent_row(float *d, const float *z, int label, int C, float scale)
{
    float mx = -INFINITY;
    for (int j = 0; j < C; j++)
        mx = z[j] > mx ? z[j] : mx;
    double acc[8] = {0};
    int Cv = C - C % 8;
    for (int j = 0; j < Cv; j += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += (double)tk_exp(z[j + k] - mx);
    double s = 0.0;
    for (int k = 0; k < 8; k++)
        s += acc[k];
    for (int j = Cv; j < C; j++)
        s += (double)tk_exp(z[j] - mx);
    double lse = (double)mx + log(s);
    double loss = lse - (double)z[label];
    if (d) {
        float flse = (float)lse;
        for (int j = 0; j < C; j++)
            d[j] = tk_exp(z[j] - flse) * scale;
        d[label] -= scale;
    }
    return loss;
}

typedef struct {
    float *dlogits;
    const float *logits;
    const int *labels;
    double *loss;
    int C;
    float scale;
} xent_job;

static void xent_range(void *ctx, size_t r0, size_t r1)
{
    const xent_job *j = ctx;
    for (size_t r = r0; r < r1; r++)
        j->loss[r] = xent_row(j->dlogits ? j->dlogits + r * j->C : NULL, j->logits + r * j->C, j->labels[r], j->C,
                              j->scale);
}

double tk_xent(float *dlogits, float *row_loss, const float *logits, const int *labels, int R, int C,
               float scale)
{
    if (R < 1)
        return 0.0;
    /* the rows in parallel, their losses summed in row order */
    xent_job j = {dlogits, logits, labels, axf_xmalloc((size_t)R * sizeof(double)), C, scale};
    axf_parallel_range(xent_range, &j, (size_t)R, rows_grain(C));
    double total = 0.0;
    for (int r = 0; r < R; r++) {
        total += j.loss[r];
        if (row_loss)
            row_loss[r] = (float)j.loss[r];
    }
    free(j.loss);
    return total;
}

/* log of the sum of exp over a row: the same polynomial exp and double lanes as xent_row. */
static double row_lse(const float *z, int C)
{
    float mx = -INFINITY;
    for (int j = 0; j < C; j++)
        mx = z[j] > mx ? z[j] : mx;
    double s = 0.0;
    for (int j = 0; j < C; j++)
        s += (double)tk_exp(z[j] - mx);
    return (double)mx + log(s);
}

double tk_kd(float *dlogits, float *row_loss, const float *logits, const int *labels, const float *soft, int R,
             int C, float alpha, float T, float scale)
{
    AXF_ASSERT(C <= AXF_MAX_LABELS && T > 0);
    double total = 0.0;
    float zs[AXF_MAX_LABELS], zt[AXF_MAX_LABELS];
    for (int r = 0; r < R; r++) {
        const float *z = logits + (size_t)r * C, *t = soft + (size_t)r * C;
        float *d = dlogits ? dlogits + (size_t)r * C : NULL;
        double ce = xent_row(d, z, labels[r], C, (1.0f - alpha) * scale);
        for (int j = 0; j < C; j++) {
            zs[j] = z[j] / T;
            zt[j] = t[j] / T;
        }
        double ls = row_lse(zs, C), lt = row_lse(zt, C), kl = 0.0;
        float fls = (float)ls, flt = (float)lt, ks = alpha * T * scale;
        for (int j = 0; j < C; j++) {
            float pt = tk_exp(zt[j] - flt);
            kl += (double)pt * (((double)zt[j] - lt) - ((double)zs[j] - ls));
            if (d)
                d[j] += ks * (tk_exp(zs[j] - fls) - pt);
        }
        double l = (1.0 - alpha) * ce + (double)alpha * T * T * kl;
        total += l;
        if (row_loss)
            row_loss[r] = (float)l;
    }
    return total;
}

/* The RNG step of common.c (xoroshiro128+), inlined: mask drawing is per element. */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t s0 = s[0], s1 = s[1], out = s0 + s1;
    s1 ^= s0;
    s[0] = ((s0 << 24) | (s0 >> 40)) ^ s1 ^ (s1 << 16);
    s[1] = (s1 << 37) | (s1 >> 27);
    return out;
}

/* One 64-bit draw gives four 16-bit uniforms: dropout needs no finer resolution. */
void tk_dropout_mask(unsigned char *keep, int combine, size_t n, float p, axf_rng *rng)
{
    uint32_t thr = (uint32_t)(p * 65536.0f + 0.5f);
    uint64_t st[2] = {rng->s[0], rng->s[1]}, bits = 0;
    for (size_t i = 0; i < n; i++) {
        if ((i & 3) == 0)
            bits = rng_next(st);
        unsigned char k = (uint32_t)(bits & 0xffff) >= thr;
        keep[i] = combine ? (unsigned char)(keep[i] & k) : k;
        bits >>= 16;
    }
    rng->s[0] = st[0];
    rng->s[1] = st[1];
}

void tk_dropout_fwd(float *x, unsigned char *mask, size_t n, float p, axf_rng *rng)
{
    tk_dropout_mask(mask, 0, n, p, rng);
    ew_run((ew_job){.kind = EW_MASK, .out = x, .a = x, .mask = mask, .k = 1.0f / (1.0f - p)}, n);
}

void tk_dropout_add(float *out, const float *a, const float *res, unsigned char *mask, size_t n, float p,
                    axf_rng *rng)
{
    if (p > 0) {
        tk_dropout_mask(mask, 0, n, p, rng);
        ew_run((ew_job){.kind = EW_ADD_MASKED, .out = out, .a = a, .b = res, .mask = mask, .k = 1.0f / (1.0f - p)}, n);
    } else {
        ew_run((ew_job){.kind = EW_ADD, .out = out, .a = a, .b = res}, n);
    }
}

void tk_dropout_bwd(float *dx, const unsigned char *mask, size_t n, float p)
{
    ew_run((ew_job){.kind = EW_MASK, .out = dx, .a = dx, .mask = mask, .k = 1.0f / (1.0f - p)}, n);
}

void tk_dropout_bwd_to(float *dx, const float *dy, const unsigned char *mask, size_t n, float p)
{
    ew_run((ew_job){.kind = EW_MASK, .out = dx, .a = dy, .mask = mask, .k = 1.0f / (1.0f - p)}, n);
}

/* Order of the k largest entries of a row: by value, ties by lower index. */
typedef struct {
    float v;
    int i;
} vi;

static int vi_cmp(const void *a, const void *b)
{
    const vi *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* keep[j] = 1 for the k largest of row (n entries). tmp has n slots. */
static void topk_row(unsigned char *keep, const float *row, int n, int k, vi *tmp)
{
    if (k >= n) {
        memset(keep, 1, (size_t)n);
        return;
    }
    memset(keep, 0, (size_t)n);
    if (k <= 0)
        return;
    for (int j = 0; j < n; j++)
        tmp[j] = (vi){row[j], j};
    qsort(tmp, (size_t)n, sizeof *tmp, vi_cmp);
    for (int j = 0; j < k; j++)
        keep[tmp[j].i] = 1;
}

void tk_hard_probs(float *P, unsigned char *keep, int n, int mode, int k, float thr)
{
    vi stackbuf[256];
    vi *tmp = n <= 256 ? stackbuf : axf_xmalloc((size_t)n * sizeof *tmp);
    for (int r = 0; r < n; r++) {
        float *p = P + (size_t)r * n;
        unsigned char *kp = keep + (size_t)r * n;
        if (mode == AXF_HARD_TOPK)
            topk_row(kp, p, n, k, tmp);
        else
            for (int j = 0; j < n; j++)
                kp[j] = p[j] >= thr;
        for (int j = 0; j < n; j++)
            if (!kp[j])
                p[j] = 0.0f;
    }
    if (tmp != stackbuf)
        free(tmp);
}

void tk_hard_scores(float *S, unsigned char *keep, int n, int k)
{
    vi stackbuf[256];
    vi *tmp = n <= 256 ? stackbuf : axf_xmalloc((size_t)n * sizeof *tmp);
    for (int r = 0; r < n; r++) {
        float *s = S + (size_t)r * n;
        unsigned char *kp = keep + (size_t)r * n;
        topk_row(kp, s, n, k, tmp);
        for (int j = 0; j < n; j++)
            if (!kp[j])
                s[j] = -INFINITY;
    }
    if (tmp != stackbuf)
        free(tmp);
}
