/* Task metrics. */
#ifndef AXF_METRICS_H
#define AXF_METRICS_H

double axf_metric_accuracy(const int *pred, const int *gold, int n);
double axf_metric_f1(const int *pred, const int *gold, int n);       /* positive class 1 */
double axf_metric_mcc(const int *pred, const int *gold, int n);      /* Matthews, binary */
double axf_metric_pearson(const float *x, const float *y, int n);
double axf_metric_spearman(const float *x, const float *y, int n);   /* average ranks for ties */

#endif
