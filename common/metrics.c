/* metrics.c - see metrics.h. */
#include "metrics.h"
#include "err.h"

#include <stdlib.h>

confusion confusion_new(int k)
{
    confusion c = {k, xcalloc((size_t)k * (size_t)k, sizeof(int64_t))};
    return c;
}

void confusion_add(confusion *c, int truth, int pred) { c->cm[truth * c->k + pred]++; }

int64_t confusion_at(const confusion *c, int truth, int pred) { return c->cm[truth * c->k + pred]; }

int64_t confusion_total(const confusion *c)
{
    int64_t s = 0;
    for (int i = 0; i < c->k * c->k; i++) s += c->cm[i];
    return s;
}

void confusion_free(confusion *c)
{
    free(c->cm);
    c->cm = NULL;
}

static double ratio(int64_t a, int64_t b) { return b ? (double)a / (double)b : 0.0; }

static int64_t predicted_as(const confusion *c, int cls)
{
    int64_t s = 0;
    for (int t = 0; t < c->k; t++) s += confusion_at(c, t, cls);
    return s;
}

int64_t metric_support(const confusion *c, int cls)
{
    int64_t s = 0;
    for (int p = 0; p < c->k; p++) s += confusion_at(c, cls, p);
    return s;
}

double metric_accuracy(const confusion *c)
{
    int64_t ok = 0;
    for (int i = 0; i < c->k; i++) ok += confusion_at(c, i, i);
    return ratio(ok, confusion_total(c));
}

double metric_precision(const confusion *c, int cls)
{
    return ratio(confusion_at(c, cls, cls), predicted_as(c, cls));
}

double metric_recall(const confusion *c, int cls)
{
    return ratio(confusion_at(c, cls, cls), metric_support(c, cls));
}

double metric_f1(const confusion *c, int cls)
{
    /* 2PR/(P+R) = 2 tp / (2 tp + fp + fn): the count form avoids 0/0 when P = R = 0. */
    int64_t tp = confusion_at(c, cls, cls);
    int64_t fp = predicted_as(c, cls) - tp, fn = metric_support(c, cls) - tp;
    return ratio(2 * tp, 2 * tp + fp + fn);
}

double metric_balanced_accuracy(const confusion *c)
{
    double s = 0;
    int present = 0;
    for (int i = 0; i < c->k; i++) {
        if (metric_support(c, i) == 0) continue;
        s += metric_recall(c, i);
        present++;
    }
    return present ? s / present : 0.0;
}

static double macro(const confusion *c, double (*f)(const confusion *, int))
{
    double s = 0;
    int used = 0;
    for (int i = 0; i < c->k; i++) {
        if (metric_support(c, i) == 0 && predicted_as(c, i) == 0) continue;
        s += f(c, i);
        used++;
    }
    return used ? s / used : 0.0;
}

double metric_macro_precision(const confusion *c) { return macro(c, metric_precision); }
double metric_macro_recall(const confusion *c) { return macro(c, metric_recall); }
double metric_macro_f1(const confusion *c) { return macro(c, metric_f1); }
