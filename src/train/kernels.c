/* Training kernels: each forward has a backward twin with the mirrored signature. Dense products
 * go to cblas_sgemm; the element-wise ones are plain loops the compiler can vectorise. */
#include "kernels.h"

#include "axf/plan.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void tk_linear_fwd(float *y, int ldy, const float *x, int ldx, const float *w, const float *b, int T,
                   int IC, int OC)
{
    if (T <= 0)
        return;
    float beta = 0.0f;
    if (b) {
        for (int t = 0; t < T; t++)
            memcpy(y + (size_t)t * ldy, b, (size_t)OC * sizeof(float));
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, OC, IC, 1.0f, x, ldx, w, IC, beta, y, ldy);
}

void tk_linear_bwd(float *dx, int lddx, int accumulate, float *dw, float *db, const float *dy, int lddy,
                   const float *x, int ldx, const float *w, int T, int IC, int OC)
{
    if (T <= 0) {
        if (dx && !accumulate)
            for (int t = 0; t < T; t++)
                memset(dx + (size_t)t * lddx, 0, (size_t)IC * sizeof(float));
        return;
    }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, IC, OC, 1.0f, dy, lddy, w, IC,
                    accumulate ? 1.0f : 0.0f, dx, lddx);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, T, 1.0f, dy, lddy, x, ldx, 1.0f, dw, IC);
    if (db)
        for (int t = 0; t < T; t++) {
            const float *r = dy + (size_t)t * lddy;
            for (int o = 0; o < OC; o++)
                db[o] += r[o];
        }
}

void tk_layernorm_fwd(float *out, float *xhat, float *rstd, const float *in, const float *g,
                      const float *b, int T, int H, float eps)
{
    for (int t = 0; t < T; t++) {
        const float *x = in + (size_t)t * H;
        float *xh = xhat + (size_t)t * H, *o = out + (size_t)t * H;
        float mean = 0.0f;
        for (int i = 0; i < H; i++)
            mean += x[i];
        mean /= (float)H;
        float var = 0.0f;
        for (int i = 0; i < H; i++) {
            float d = x[i] - mean;
            var += d * d;
        }
        var /= (float)H;
        float rs = 1.0f / sqrtf(var + eps);
        for (int i = 0; i < H; i++) {
            xh[i] = (x[i] - mean) * rs;
            o[i] = xh[i] * g[i] + b[i];
        }
        rstd[t] = rs;
    }
}

void tk_layernorm_bwd(float *dx, int accumulate, float *dg, float *db, const float *dout, const float *xhat,
                      const float *rstd, const float *g, int T, int H)
{
    for (int t = 0; t < T; t++) {
        const float *dy = dout + (size_t)t * H, *xh = xhat + (size_t)t * H;
        float *d = dx + (size_t)t * H;
        float m1 = 0.0f, m2 = 0.0f;
        for (int i = 0; i < H; i++) {
            float dxh = dy[i] * g[i];
            m1 += dxh;
            m2 += dxh * xh[i];
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
        if (dg)
            for (int i = 0; i < H; i++)
                dg[i] += dy[i] * xh[i];
        if (db)
            for (int i = 0; i < H; i++)
                db[i] += dy[i];
    }
}

#define SQRT1_2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f
#define SQRT_2_PI 0.79788456080286535588f

void tk_act_fwd(float *out, const float *u, size_t n, axf_act act)
{
    switch (act) {
    case AXF_ACT_GELU:
        for (size_t i = 0; i < n; i++)
            out[i] = 0.5f * u[i] * (1.0f + erff(u[i] * SQRT1_2));
        break;
    case AXF_ACT_GELU_TANH:
        for (size_t i = 0; i < n; i++) {
            float x = u[i];
            out[i] = 0.5f * x * (1.0f + tanhf(SQRT_2_PI * (x + 0.044715f * x * x * x)));
        }
        break;
    case AXF_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            out[i] = u[i] > 0.0f ? u[i] : 0.0f;
        break;
    }
}

void tk_act_bwd(float *du, const float *dout, const float *u, size_t n, axf_act act)
{
    switch (act) {
    case AXF_ACT_GELU:
        for (size_t i = 0; i < n; i++) {
            float x = u[i];
            float d = 0.5f * (1.0f + erff(x * SQRT1_2)) + x * INV_SQRT_2PI * expf(-0.5f * x * x);
            du[i] = dout[i] * d;
        }
        break;
    case AXF_ACT_GELU_TANH:
        for (size_t i = 0; i < n; i++) {
            float x = u[i];
            float th = tanhf(SQRT_2_PI * (x + 0.044715f * x * x * x));
            float d = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * SQRT_2_PI * (1.0f + 3.0f * 0.044715f * x * x);
            du[i] = dout[i] * d;
        }
        break;
    case AXF_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            du[i] = u[i] > 0.0f ? dout[i] : 0.0f;
        break;
    }
}

void tk_softmax_rows(float *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * cols;
        float mx = -INFINITY;
        for (int j = 0; j < cols; j++)
            mx = p[j] > mx ? p[j] : mx;
        float s = 0.0f;
        for (int j = 0; j < cols; j++) {
            p[j] = expf(p[j] - mx);
            s += p[j];
        }
        float inv = 1.0f / s;
        for (int j = 0; j < cols; j++)
            p[j] *= inv;
    }
}

double tk_xent(float *dlogits, float *row_loss, const float *logits, const int *labels, int R, int C,
               float scale)
{
    double total = 0.0;
    for (int r = 0; r < R; r++) {
        const float *z = logits + (size_t)r * C;
        float mx = -INFINITY;
        for (int j = 0; j < C; j++)
            mx = z[j] > mx ? z[j] : mx;
        double s = 0.0;
        for (int j = 0; j < C; j++)
            s += exp((double)(z[j] - mx));
        double lse = (double)mx + log(s);
        double l = lse - (double)z[labels[r]];
        total += l;
        if (row_loss)
            row_loss[r] = (float)l;
        if (dlogits) {
            float *d = dlogits + (size_t)r * C;
            for (int j = 0; j < C; j++)
                d[j] = (float)exp((double)z[j] - lse) * scale;
            d[labels[r]] -= scale;
        }
    }
    return total;
}

void tk_dropout_fwd(float *x, unsigned char *mask, size_t n, float p, axf_rng *rng)
{
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = axf_rng_uniform(rng) >= p;
        x[i] = mask[i] ? x[i] * keep : 0.0f;
    }
}

void tk_dropout_bwd(float *dx, const unsigned char *mask, size_t n, float p)
{
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        dx[i] = mask[i] ? dx[i] * keep : 0.0f;
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
