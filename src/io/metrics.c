/* Task metrics, in double precision; degenerate inputs (no samples, constant predictions) give 0
 * rather than NaN, as scikit-learn does for MCC and F1. */
#include "axf/metrics.h"
#include "axf/common.h"

#include <math.h>
#include <stdlib.h>

double axf_metric_accuracy(const int *pred, const int *gold, int n)
{
    if (n <= 0)
        return 0;
    int ok = 0;
    for (int i = 0; i < n; i++)
        ok += pred[i] == gold[i];
    return (double)ok / n;
}

static void confusion(const int *pred, const int *gold, int n, double *tp, double *fp, double *fn,
                      double *tn)
{
    *tp = *fp = *fn = *tn = 0;
    for (int i = 0; i < n; i++) {
        int p = pred[i] == 1, g = gold[i] == 1;
        *tp += p && g;
        *fp += p && !g;
        *fn += !p && g;
        *tn += !p && !g;
    }
}

double axf_metric_f1(const int *pred, const int *gold, int n)
{
    double tp, fp, fn, tn;
    confusion(pred, gold, n, &tp, &fp, &fn, &tn);
    double den = 2 * tp + fp + fn;
    return den > 0 ? 2 * tp / den : 0;
}

double axf_metric_mcc(const int *pred, const int *gold, int n)
{
    double tp, fp, fn, tn;
    confusion(pred, gold, n, &tp, &fp, &fn, &tn);
    double den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn);
    return den > 0 ? (tp * tn - fp * fn) / sqrt(den) : 0;
}

static double pearson_d(const double *x, const double *y, int n)
{
    if (n < 2)
        return 0;
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0;
}

double axf_metric_pearson(const float *x, const float *y, int n)
{
    if (n < 2)
        return 0;
    double *a = axf_xmalloc((size_t)n * sizeof *a), *b = axf_xmalloc((size_t)n * sizeof *b);
    for (int i = 0; i < n; i++) {
        a[i] = x[i];
        b[i] = y[i];
    }
    double r = pearson_d(a, b, n);
    free(a);
    free(b);
    return r;
}

typedef struct {
    float v;
    int i;
} vi;

static int cmp_vi(const void *a, const void *b)
{
    const vi *x = a, *y = b;
    int nx = isnan(x->v), ny = isnan(y->v); /* NaN sorts last, keeping the order consistent */
    if (nx != ny)
        return nx - ny;
    if (!nx && x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->i - y->i;
}

/* 1-based ranks, ties share their average rank. */
static void ranks(const float *x, int n, double *r)
{
    vi *t = axf_xmalloc((size_t)n * sizeof *t);
    for (int i = 0; i < n; i++)
        t[i] = (vi){x[i], i};
    qsort(t, (size_t)n, sizeof *t, cmp_vi);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && (t[j + 1].v == t[i].v || (isnan(t[j + 1].v) && isnan(t[i].v))))
            j++;
        double avg = (i + j) / 2.0 + 1;
        for (int k = i; k <= j; k++)
            r[t[k].i] = avg;
        i = j + 1;
    }
    free(t);
}

double axf_metric_spearman(const float *x, const float *y, int n)
{
    if (n < 2)
        return 0;
    double *a = axf_xmalloc((size_t)n * sizeof *a), *b = axf_xmalloc((size_t)n * sizeof *b);
    ranks(x, n, a);
    ranks(y, n, b);
    double r = pearson_d(a, b, n);
    free(a);
    free(b);
    return r;
}
