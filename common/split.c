/* split.c - see split.h. */
#include "split.h"
#include "err.h"
#include "labels.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const task_def tasks[] = {
    {"smiling", 2}, {"young", 2}, {"eyeglasses", 2}, {"human", 2}, {"hair_color", 6},
};
#define NTASKS ((int)(sizeof tasks / sizeof *tasks))

const task_def *task_find(const char *name)
{
    for (int i = 0; i < NTASKS; i++)
        if (strcmp(tasks[i].name, name) == 0) return &tasks[i];
    return NULL;
}

const char *task_names(void) { return "smiling, young, eyeglasses, human, hair_color"; }

const task_def *task_require(const char *name)
{
    const task_def *t = task_find(name);
    if (!t) die_usage("unknown task '%s' (valid tasks: %s)", name, task_names());
    return t;
}

int task_class(const task_def *t, int value)
{
    if (t->nclass == 2) return value == -1 ? 0 : value == 1 ? 1 : TASK_BAD;
    if (value == -1) return TASK_DROP;
    return value >= 0 && value < t->nclass ? value : TASK_BAD;
}

int task_value(const task_def *t, int cls) { return t->nclass == 2 ? (cls ? 1 : -1) : cls; }

static void labelled_push(labelled *l, int64_t *cap, const char *id, int y)
{
    if (l->n == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        l->ids = xrealloc(l->ids, sizeof(char *) * (size_t)*cap);
        l->y = xrealloc(l->y, sizeof(int) * (size_t)*cap);
    }
    l->ids[l->n] = xstrdup(id);
    l->y[l->n++] = y;
}

labelled labelled_from_attributes(const char *csv, const task_def *t)
{
    labels lab = labels_read(csv);
    int col = labels_require(&lab, t->name);
    labelled l = {.nclass = t->nclass};
    int64_t cap = 0;
    for (int64_t i = 0; i < lab.nrows; i++) {
        int v = labels_get(&lab, i, col);
        int c = task_class(t, v);
        if (c == TASK_BAD)
            die("%s:%ld: %s label %d is not valid (expected %s)", csv, lab.lines[i], t->name, v,
                t->nclass == 2 ? "-1 or 1" : "-1 (unknown) or 0..5");
        if (c == TASK_DROP) { l.dropped++; continue; }
        labelled_push(&l, &cap, lab.ids[i], c);
    }
    labels_free(&lab);
    return l;
}

labelled labelled_read(const char *csv, int nclass)
{
    labels lab = labels_read(csv);
    int col = labels_require(&lab, "label");
    labelled l = {.nclass = nclass};
    int64_t cap = 0;
    int maxy = -1;
    for (int64_t i = 0; i < lab.nrows; i++) {
        int v = labels_get(&lab, i, col);
        if (v < 0 || v >= (nclass > 0 ? nclass : TASK_MAX_CLASSES))
            die("%s:%ld: label %d is not a class index (expected 0..%d)", csv, lab.lines[i], v,
                (nclass > 0 ? nclass : TASK_MAX_CLASSES) - 1);
        if (v > maxy) maxy = v;
        labelled_push(&l, &cap, lab.ids[i], v);
    }
    if (nclass <= 0) l.nclass = maxy + 1 > 2 ? maxy + 1 : 2;
    labels_free(&lab);
    return l;
}

void labelled_free(labelled *l)
{
    for (int64_t i = 0; i < l->n; i++) free(l->ids[i]);
    free(l->ids);
    free(l->y);
    memset(l, 0, sizeof *l);
}

void split_quota(int64_t n, const double *f, int nparts, int64_t *q)
{
    double rem[8];
    int64_t left = n;
    for (int p = 0; p < nparts; p++) {
        /* The 1e-9 keeps 0.6 * 5 = 2.9999999999999996 from losing a whole item to floor(). */
        double exact = f[p] * (double)n;
        q[p] = (int64_t)floor(exact + 1e-9);
        if (q[p] < 0) q[p] = 0;
        rem[p] = exact - (double)q[p];
        left -= q[p];
    }
    /* Hand the leftover items (fewer than nparts) to the largest remainders, one each. */
    for (; left > 0; left--) {
        int best = 0;
        for (int p = 1; p < nparts; p++)
            if (rem[p] > rem[best] + 1e-9) best = p;
        q[best]++;
        rem[best] = -1;
    }
}

/* The rows of class c, in input order, then shuffled with RNG stream c of seed. */
static int64_t class_members(const int *y, int64_t n, int c, uint64_t seed, int64_t *out)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (y[i] == c) out[m++] = i;
    rng r;
    rng_seed_stream(&r, seed, (uint64_t)c);
    rng_shuffle(&r, out, m);
    return m;
}

void split_assign(const int *y, int64_t n, int nclass, double ftrain, double fval,
                  uint64_t seed, int *part)
{
    int64_t *idx = xmalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    double f[3] = {ftrain, fval, 1.0 - ftrain - fval};
    if (f[2] < 0) f[2] = 0;
    for (int c = 0; c < nclass; c++) {
        int64_t m = class_members(y, n, c, seed, idx), q[3];
        split_quota(m, f, 3, q);
        for (int64_t j = 0; j < m; j++)
            part[idx[j]] = j < q[0] ? SPLIT_TRAIN : j < q[0] + q[1] ? SPLIT_VAL : SPLIT_TEST;
    }
    free(idx);
}

void split_folds(const int *y, int64_t n, int nclass, int k, uint64_t seed, int *fold)
{
    int64_t *idx = xmalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int64_t next = 0;
    for (int c = 0; c < nclass; c++) {
        int64_t m = class_members(y, n, c, seed, idx);
        for (int64_t j = 0; j < m; j++) fold[idx[j]] = (int)((next + j) % k);
        next += m;
    }
    free(idx);
}
