/* labels.c - see labels.h. */
#include "labels.h"
#include "csv.h"
#include "err.h"
#include "idmap.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int parse_label(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    while (*end == ' ') end++;
    if (errno || end == s || *end || v < INT_MIN || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

labels labels_read(const char *path)
{
    labels l = {0};
    l.path = xstrdup(path);
    csv_reader *c = csv_open(path);
    char **f;
    int nf = csv_next(c, &f);
    if (nf == 0) die("%s: empty file: expected a header row with a file_name column", path);
    int idcol = -1;
    for (int i = 0; i < nf; i++)
        if (strcmp(f[i], "file_name") == 0) idcol = i;
    if (idcol < 0)
        die("%s:%ld: header has no 'file_name' column (found: %s%s)", path, csv_line(c), f[0],
            nf > 1 ? ", ..." : "");
    int nhead = nf;
    l.ncols = nf - 1;
    l.colnames = xmalloc(sizeof(char *) * (size_t)(l.ncols ? l.ncols : 1));
    for (int i = 0, k = 0; i < nf; i++) {
        if (i == idcol) continue;
        if (f[i][0] == 0) die("%s:%ld: column %d has an empty name", path, csv_line(c), i + 1);
        for (int j = 0; j < k; j++)
            if (strcmp(l.colnames[j], f[i]) == 0)
                die("%s:%ld: column '%s' appears twice", path, csv_line(c), f[i]);
        l.colnames[k++] = xstrdup(f[i]);
    }
    idmap seen;
    idmap_init(&seen);
    int64_t cap = 0;
    while ((nf = csv_next(c, &f)) > 0) {
        long line = csv_line(c);
        if (nf != nhead)
            die("%s:%ld: expected %d fields like the header, found %d", path, line, nhead, nf);
        if (f[idcol][0] == 0) die("%s:%ld: empty file_name", path, line);
        if (l.nrows == cap) {
            cap = cap ? cap * 2 : 1024;
            l.ids = xrealloc(l.ids, sizeof(char *) * (size_t)cap);
            l.lines = xrealloc(l.lines, sizeof(long) * (size_t)cap);
            l.values = xrealloc(l.values, sizeof(int) * (size_t)cap * (size_t)(l.ncols ? l.ncols : 1));
        }
        int64_t prev = idmap_put(&seen, f[idcol], l.nrows);
        if (prev >= 0)
            die("%s:%ld: duplicate file_name '%s' (first on line %ld)", path, line, f[idcol],
                l.lines[prev]);
        for (int i = 0, k = 0; i < nf; i++) {
            if (i == idcol) continue;
            if (parse_label(f[i], &l.values[l.nrows * l.ncols + k]) != 0)
                die("%s:%ld: column '%s': expected an integer label, found '%s'", path, line,
                    l.colnames[k], f[i]);
            k++;
        }
        l.ids[l.nrows] = xstrdup(f[idcol]);
        l.lines[l.nrows] = line;
        l.nrows++;
    }
    idmap_free(&seen);
    csv_close(c);
    return l;
}

int labels_col(const labels *l, const char *name)
{
    for (int i = 0; i < l->ncols; i++)
        if (strcmp(l->colnames[i], name) == 0) return i;
    return -1;
}

int labels_require(const labels *l, const char *name)
{
    int k = labels_col(l, name);
    if (k >= 0) return k;
    char list[512] = "";
    for (int i = 0; i < l->ncols; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 l->colnames[i]);
    die("%s: no column '%s' (columns: %s)", l->path, name, list);
}

void labels_free(labels *l)
{
    for (int i = 0; i < l->ncols; i++) free(l->colnames[i]);
    for (int64_t i = 0; i < l->nrows; i++) free(l->ids[i]);
    free(l->colnames);
    free(l->ids);
    free(l->values);
    free(l->lines);
    free(l->path);
    memset(l, 0, sizeof *l);
}
