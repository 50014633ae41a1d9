/* Metrics on hand-worked cases (values checked with numpy). */
#include "axf/metrics.h"
#include "check.h"

int main(void)
{
    int pred[] = {1, 1, 0, 0, 1}, gold[] = {1, 0, 0, 1, 1};
    CHECK_NEAR(axf_metric_accuracy(pred, gold, 5), 0.6, 1e-12);
    CHECK_NEAR(axf_metric_f1(pred, gold, 5), 4.0 / 6.0, 1e-12);          /* tp 2, fp 1, fn 1 */
    CHECK_NEAR(axf_metric_mcc(pred, gold, 5), 1.0 / 6.0, 1e-12);         /* (2*1-1*1)/sqrt(3*3*2*2) */
    int perfect[] = {0, 1, 1, 0};
    CHECK_NEAR(axf_metric_mcc(perfect, perfect, 4), 1.0, 1e-12);
    int inv[] = {1, 0, 0, 1};
    CHECK_NEAR(axf_metric_mcc(inv, perfect, 4), -1.0, 1e-12);
    int zeros[] = {0, 0, 0, 0};
    CHECK(axf_metric_mcc(zeros, perfect, 4) == 0 && axf_metric_f1(zeros, zeros, 4) == 0);
    CHECK(axf_metric_accuracy(pred, gold, 0) == 0);

    float x[] = {1, 2, 3, 4, 5}, y[] = {2, 4, 5, 4, 5};
    CHECK_NEAR(axf_metric_pearson(x, y, 5), 0.7745966692414834, 1e-9);
    float a[] = {1, 2, 2, 3}, b[] = {1, 3, 2, 4};
    CHECK_NEAR(axf_metric_spearman(a, b, 4), 0.9486832980505139, 1e-9); /* ranks 1 2.5 2.5 4 */
    float c[] = {0.5f, 3.2f, 1.1f, 4.8f, 2.2f, 2.2f, 0.1f}, d[] = {1, 3, 1, 5, 2.5f, 2, 0};
    CHECK_NEAR(axf_metric_spearman(c, d, 7), 0.9818181818181818, 1e-9);
    CHECK_NEAR(axf_metric_pearson(c, d, 7), 0.985838241610725, 1e-6);
    float k[] = {3, 3, 3};
    CHECK(axf_metric_pearson(k, x, 3) == 0 && axf_metric_spearman(k, x, 3) == 0);
    CHECK(axf_metric_pearson(x, y, 1) == 0);
    float r[] = {5, 4, 3, 2, 1};
    CHECK_NEAR(axf_metric_spearman(x, r, 5), -1.0, 1e-12);
    return CHECK_DONE();
}
