/* Unit tests of common/metrics.c: a known confusion matrix gives known precision, recall,
 * F1, accuracy and balanced accuracy (values worked out by hand in the comments). */
#include "check.h"
#include "metrics.h"

#include <math.h>

static confusion from_table(int k, const int64_t *t)
{
    confusion c = confusion_new(k);
    for (int r = 0; r < k; r++)
        for (int p = 0; p < k; p++)
            for (int64_t n = 0; n < t[r * k + p]; n++) confusion_add(&c, r, p);
    return c;
}

static void test_three_classes(void)
{
    /* rows true, columns predicted:   support  predicted-as
     *   5 1 0                           6        7
     *   2 3 1                           6        4
     *   0 0 4                           4        5        */
    const int64_t t[9] = {5, 1, 0, 2, 3, 1, 0, 0, 4};
    confusion c = from_table(3, t);
    CHECK(confusion_total(&c) == 16 && confusion_at(&c, 1, 0) == 2);
    CHECK_NEAR(metric_accuracy(&c), 12.0 / 16, 1e-12);
    CHECK_NEAR(metric_precision(&c, 0), 5.0 / 7, 1e-12);
    CHECK_NEAR(metric_precision(&c, 1), 3.0 / 4, 1e-12);
    CHECK_NEAR(metric_precision(&c, 2), 4.0 / 5, 1e-12);
    CHECK_NEAR(metric_recall(&c, 0), 5.0 / 6, 1e-12);
    CHECK_NEAR(metric_recall(&c, 1), 0.5, 1e-12);
    CHECK_NEAR(metric_recall(&c, 2), 1.0, 1e-12);
    /* F1 = 2 tp / (2 tp + fp + fn) */
    CHECK_NEAR(metric_f1(&c, 0), 10.0 / 13, 1e-12);
    CHECK_NEAR(metric_f1(&c, 1), 0.6, 1e-12);
    CHECK_NEAR(metric_f1(&c, 2), 8.0 / 9, 1e-12);
    CHECK(metric_support(&c, 0) == 6 && metric_support(&c, 2) == 4);
    /* balanced accuracy = mean recall = (5/6 + 1/2 + 1) / 3 = 7/9 */
    CHECK_NEAR(metric_balanced_accuracy(&c), 7.0 / 9, 1e-12);
    CHECK_NEAR(metric_macro_precision(&c), (5.0 / 7 + 0.75 + 0.8) / 3, 1e-12);
    CHECK_NEAR(metric_macro_recall(&c), 7.0 / 9, 1e-12);
    CHECK_NEAR(metric_macro_f1(&c), (10.0 / 13 + 0.6 + 8.0 / 9) / 3, 1e-12);
    confusion_free(&c);
}

static void test_majority_classifier(void)
{
    /* 90 negatives and 10 positives, everything called negative: accuracy 0.9 but balanced
     * accuracy 0.5; the positive class has precision 0 (nothing predicted: 0/0 -> 0). */
    const int64_t t[4] = {90, 0, 10, 0};
    confusion c = from_table(2, t);
    CHECK_NEAR(metric_accuracy(&c), 0.9, 1e-12);
    CHECK_NEAR(metric_balanced_accuracy(&c), 0.5, 1e-12);
    CHECK_NEAR(metric_precision(&c, 1), 0.0, 0);
    CHECK_NEAR(metric_recall(&c, 1), 0.0, 0);
    CHECK_NEAR(metric_f1(&c, 1), 0.0, 0);
    CHECK_NEAR(metric_precision(&c, 0), 0.9, 1e-12);
    CHECK_NEAR(metric_f1(&c, 0), 180.0 / 190, 1e-12);
    confusion_free(&c);
}

static void test_absent_class(void)
{
    /* Class 2 of 3 neither occurs nor is predicted: balanced accuracy and macro averages
     * leave it out (as scikit-learn does with the labels it sees). */
    const int64_t t[9] = {3, 1, 0, 0, 4, 0, 0, 0, 0};
    confusion c = from_table(3, t);
    CHECK_NEAR(metric_balanced_accuracy(&c), (0.75 + 1.0) / 2, 1e-12);
    CHECK_NEAR(metric_macro_recall(&c), (0.75 + 1.0) / 2, 1e-12);
    CHECK_NEAR(metric_macro_precision(&c), (1.0 + 0.8) / 2, 1e-12);
    CHECK(metric_support(&c, 2) == 0);
    confusion_free(&c);
    confusion e = confusion_new(2);
    CHECK_NEAR(metric_accuracy(&e), 0.0, 0);            /* empty: no division by zero */
    CHECK_NEAR(metric_balanced_accuracy(&e), 0.0, 0);
    confusion_free(&e);
}

int main(void)
{
    err_init("test_metrics");
    test_three_classes();
    test_majority_classifier();
    test_absent_class();
    return check_summary("test_metrics");
}
