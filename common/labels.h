/* labels.h - attribute_list.csv-style label tables: a header row naming the columns, one
 * `file_name` column (the row id) and integer label columns. CRLF or LF. Every problem -
 * missing file_name column, duplicate id, non-integer label, wrong field count - stops with
 * the file name and line number. */
#ifndef FP_LABELS_H
#define FP_LABELS_H

#include <stdint.h>

typedef struct {
    int ncols;            /* label columns (file_name excluded) */
    char **colnames;      /* ncols names, in file order */
    int64_t nrows;
    char **ids;           /* file_name of each row */
    int *values;          /* nrows x ncols, row-major */
    long *lines;          /* source line of each row, for messages */
    char *path;
} labels;

labels labels_read(const char *path);
/* Index of a label column, or -1. */
int labels_col(const labels *l, const char *name);
/* Index of a label column; dies listing the available ones when absent. */
int labels_require(const labels *l, const char *name);
static inline int labels_get(const labels *l, int64_t row, int col)
{
    return l->values[row * l->ncols + col];
}
void labels_free(labels *l);

#endif
