/* Task metrics (GLUE conventions). Degenerate cases return 0 instead of NaN: n < 1 (n < 2 for
 * the correlations), F1 with no positive prediction or gold label, MCC or a correlation with a
 * constant side. Spearman = Pearson of 1-based ranks, ties sharing their average rank. */
#ifndef AXF_METRICS_H
#define AXF_METRICS_H

double axf_metric_accuracy(const int *pred, const int *gold, int n);
double axf_metric_f1(const int *pred, const int *gold, int n);       /* positive class 1 */
double axf_metric_mcc(const int *pred, const int *gold, int n);      /* Matthews, binary */
double axf_metric_pearson(const float *x, const float *y, int n);
double axf_metric_spearman(const float *x, const float *y, int n);   /* average ranks for ties */

#endif
