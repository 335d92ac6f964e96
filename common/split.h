/* split.h - the classification tasks, their label mapping, and stratified splits.
 *
 * Tasks (columns of attribute_list.csv):
 *   smiling, young, eyeglasses, human   binary, CSV values -1/1 -> internal class 0/1
 *   hair_color                          6 classes, CSV value c -> class c; -1 (unknown) dropped
 * Every file the pipeline writes after `split` (train.csv, val.csv, test.csv, predictions)
 * holds the internal class index; `evaluate` maps it back to the CSV value for reports.
 *
 * Stratification: within each class the rows are shuffled with a seeded RNG and cut by a
 * largest-remainder rule, so every class's count in every part is within one item of its
 * exact share. The same labels + task + seed always give the same split, whatever the method
 * that consumes it. */
#ifndef FP_SPLIT_H
#define FP_SPLIT_H

#include <stdint.h>

#define TASK_MAX_CLASSES 6
#define TASK_DROP (-1)      /* task_class(): the row has no label for this task */
#define TASK_BAD (-2)       /* task_class(): the value is not valid for this task */

typedef struct {
    const char *name;       /* the CSV column */
    int nclass;             /* 2 for binary tasks */
} task_def;

/* The task called NAME, or NULL. */
const task_def *task_find(const char *name);
/* "smiling, young, eyeglasses, human, hair_color" (for messages). */
const char *task_names(void);
/* Like task_find(), but an unknown name is a usage error (exit 2) listing the valid ones. */
const task_def *task_require(const char *name);
/* CSV value -> internal class (0..nclass-1), TASK_DROP or TASK_BAD. */
int task_class(const task_def *t, int value);
/* Internal class -> CSV value (the inverse of task_class). */
int task_value(const task_def *t, int cls);

/* A labelled id list: one task's labels, or a `file_name,label` file. */
typedef struct {
    int64_t n;
    char **ids;
    int *y;                 /* internal class of each row */
    int nclass;
    int64_t dropped;        /* rows without a label (hair_color -1) */
} labelled;

/* Reads column t->name of an attribute_list-style CSV, mapping values to classes. A value
 * that is not valid for the task stops with file:line. Rows keep the CSV order. */
labelled labelled_from_attributes(const char *csv, const task_def *t);
/* Reads a `file_name,label` CSV (as written by split) whose labels must lie in 0..nclass-1;
 * nclass <= 0 means "whatever the file holds" (max label + 1). Stops with file:line. */
labelled labelled_read(const char *csv, int nclass);
void labelled_free(labelled *l);

/* Splits n items into parts with fractions f[0..nparts-1] (summing to 1) by largest
 * remainders: q[p] = floor(f[p] n) plus one for the parts with the largest fractional
 * remainders (ties to the earlier part), so |q[p] - f[p] n| < 1 and sum q = n. */
void split_quota(int64_t n, const double *f, int nparts, int64_t *q);

enum { SPLIT_TRAIN = 0, SPLIT_VAL = 1, SPLIT_TEST = 2 };

/* Stratified three-way split: part[i] in {SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST} for each of
 * the n rows of class y[i]. Class c's rows are shuffled with RNG stream c of `seed` and the
 * first quota go to train, the next to val, the rest to test. */
void split_assign(const int *y, int64_t n, int nclass, double ftrain, double fval,
                  uint64_t seed, int *part);

/* Stratified k-fold assignment: fold[i] in 0..k-1. Each class's rows, shuffled with RNG
 * stream c of `seed`, are dealt round-robin to the folds, continuing where the previous
 * class stopped, so fold sizes differ by at most one and every class is spread evenly. */
void split_folds(const int *y, int64_t n, int nclass, int k, uint64_t seed, int *fold);

#endif
