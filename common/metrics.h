/* metrics.h - classification metrics from a confusion matrix.
 *
 * cm[t][p] counts the items of true class t predicted as p (rows true, columns predicted).
 * For class c:
 *   precision = cm[c][c] / sum_t cm[t][c]   (of the items called c, how many are c)
 *   recall    = cm[c][c] / sum_p cm[c][p]   (of the items that are c, how many were found)
 *   F1        = 2 P R / (P + R)             (harmonic mean)
 * A ratio with a zero denominator is 0 (as scikit-learn's zero_division=0 default).
 * Balanced accuracy is the mean recall over the classes that occur in the truth, so a
 * classifier that always answers the majority class scores 1/k instead of the majority share. */
#ifndef FP_METRICS_H
#define FP_METRICS_H

#include <stdint.h>

typedef struct {
    int k;              /* number of classes */
    int64_t *cm;        /* k x k, row-major: cm[t * k + p] */
} confusion;

confusion confusion_new(int k);
void confusion_add(confusion *c, int truth, int pred);
int64_t confusion_at(const confusion *c, int truth, int pred);
int64_t confusion_total(const confusion *c);
void confusion_free(confusion *c);

double metric_accuracy(const confusion *c);
double metric_balanced_accuracy(const confusion *c);
double metric_precision(const confusion *c, int cls);
double metric_recall(const confusion *c, int cls);
double metric_f1(const confusion *c, int cls);
int64_t metric_support(const confusion *c, int cls);      /* items of true class cls */
/* Unweighted means over the classes that occur in the truth or the predictions
 * (scikit-learn's "macro" average). */
double metric_macro_precision(const confusion *c);
double metric_macro_recall(const confusion *c);
double metric_macro_f1(const confusion *c);

#endif
