/* evaluate - score predictions against the truth (docs/evaluate.md).
 *
 *   evaluate --task T --pred PRED.csv --truth TEST.csv [-o DIR]
 * PRED.csv has file_name and predicted columns (class index; other columns ignored),
 * TEST.csv is file_name,label as written by split. Every truth id needs a prediction.
 * Prints a text report; with -o also writes report.txt, metrics.csv, confusion.csv and
 * predictions.csv (the AMLS format: accuracy first, then file_name,predicted,true).
 * With --by COLUMN --labels CSV, also the accuracy within each value of another column (e.g.
 * photographs and cartoons apart: --by human), to groups.csv. */
#include "csv.h"
#include "err.h"
#include "idmap.h"
#include "metrics.h"
#include "split.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(void)
{
    printf("Usage: evaluate --task TASK --pred PRED.csv --truth TEST.csv [-o DIR]\n"
           "                [--by COLUMN --labels CSV]\n"
           "Accuracy, balanced accuracy, confusion matrix and per-class precision, recall and\n"
           "F1 of predictions against the true labels, joined by file_name.\n\n"
           "  -t, --task TASK    smiling, young, eyeglasses, human or hair_color (labels are\n"
           "                     reported as the CSV values: -1/1, or 0..5)\n"
           "  -p, --pred CSV     predictions: file_name and predicted (class index) columns;\n"
           "                     other columns (e.g. score) and extra rows are ignored\n"
           "  -r, --truth CSV    file_name,label (class index) as written by split; every id\n"
           "                     needs a prediction\n"
           "  -o, --output DIR   also write DIR/report.txt, metrics.csv, confusion.csv and\n"
           "                     predictions.csv (atomically; DIR created if missing)\n"
           "  -b, --by COLUMN    also the accuracy within each value of COLUMN of --labels\n"
           "                     (e.g. human: photographs and cartoons apart); with -o,\n"
           "                     DIR/groups.csv too\n"
           "  -l, --labels CSV   a CSV with file_name and COLUMN (e.g. filtered.csv) holding\n"
           "                     every test id\n"
           "  -h, --help         show this help\n");
}

/* Reads the header of CSV c: the indexes of file_name (*idc) and of `column` (*vc); returns
 * how many fields a row needs to hold both. Dies naming the file, and listing the header's
 * columns, when one of the two is missing. */
static int header_columns(csv_reader *c, const char *column, int *idc, int *vc)
{
    char **f;
    int nf = csv_next(c, &f);
    if (nf == 0) die("%s: empty file: expected a header with file_name and %s", csv_name(c), column);
    *idc = *vc = -1;
    for (int i = 0; i < nf; i++) {
        if (strcmp(f[i], "file_name") == 0) *idc = i;
        if (strcmp(f[i], column) == 0) *vc = i;
    }
    if (*idc < 0 || *vc < 0) {
        char list[512] = "";
        for (int i = 0; i < nf; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", f[i]);
        die("%s:%ld: header needs file_name and %s columns (it has: %s)", csv_name(c), csv_line(c),
            column, list);
    }
    return (*idc > *vc ? *idc : *vc) + 1;
}

/* The predicted class of every id in PRED.csv. */
static int *read_predictions(const char *csv, const task_def *t, idmap *m)
{
    csv_reader *c = csv_open(csv);
    char **f;
    int nf, idc, pc, need = header_columns(c, "predicted", &idc, &pc);
    idmap_init(m);
    int *pred = NULL;
    int64_t n = 0, cap = 0;
    while ((nf = csv_next(c, &f)) > 0) {
        long line = csv_line(c);
        if (nf < need) die("%s:%ld: expected at least %d fields, found %d", csv, line, need, nf);
        char *end;
        errno = 0;
        long v = strtol(f[pc], &end, 10);
        if (errno || end == f[pc] || *end || v < 0 || v >= t->nclass)
            die("%s:%ld: predicted '%s' is not a class index of %s (0..%d)", csv, line, f[pc],
                t->name, t->nclass - 1);
        if (idmap_put(m, f[idc], n) >= 0) die("%s:%ld: second prediction for '%s'", csv, line, f[idc]);
        if (n == cap) pred = xrealloc(pred, sizeof(int) * (size_t)(cap = cap ? 2 * cap : 1024));
        pred[n++] = (int)v;
    }
    csv_close(c);
    return pred;
}

/* The test rows split by the value of another column: n rows, `correct` of them right. */
typedef struct {
    char *value;
    int64_t n, correct;
} group;

typedef struct {
    const char *column, *labels;  /* NULL column: no grouping */
    group *g;
    int count;
} groups;

/* Numbers in numeric order (-1 before 1 before 10), anything else after them, by bytes. */
static int group_order(const void *a, const void *b)
{
    const char *x = ((const group *)a)->value, *y = ((const group *)b)->value;
    char *ex, *ey;
    double dx = strtod(x, &ex), dy = strtod(y, &ey);
    int nx = *x && !*ex && isfinite(dx), ny = *y && !*ey && isfinite(dy);
    if (nx && ny && dx != dy) return dx < dy ? -1 : 1;
    if (nx != ny) return nx ? -1 : 1;
    return strcmp(x, y);
}

/* Tallies each truth row under its value of g->column in g->labels (joined by file_name). */
static void group_rows(groups *g, const labelled *truth, const int *pred_of)
{
    idmap rows;
    idmap_init(&rows);
    for (int64_t i = 0; i < truth->n; i++) idmap_put(&rows, truth->ids[i], i);
    char **value = xcalloc((size_t)truth->n, sizeof *value);
    csv_reader *c = csv_open(g->labels);
    char **f;
    int nf, idc, vc, need = header_columns(c, g->column, &idc, &vc);
    while ((nf = csv_next(c, &f)) > 0) {
        if (nf < need) die("%s:%ld: expected at least %d fields, found %d", g->labels, csv_line(c), need, nf);
        int64_t i = idmap_get(&rows, f[idc]);
        if (i < 0) continue;
        if (value[i]) die("%s:%ld: second row for '%s'", g->labels, csv_line(c), f[idc]);
        value[i] = xstrdup(f[vc]);
    }
    csv_close(c);
    idmap seen;  /* value -> its index in g->g */
    idmap_init(&seen);
    g->g = NULL;
    g->count = 0;
    int cap = 0;
    for (int64_t i = 0; i < truth->n; i++) {
        if (!value[i]) die("%s: no row for '%s' (a test row of the predictions)", g->labels, truth->ids[i]);
        int64_t k = idmap_put(&seen, value[i], g->count);
        if (k < 0) {
            k = g->count++;
            if (k == cap) g->g = xrealloc(g->g, sizeof *g->g * (size_t)(cap = cap ? 2 * cap : 16));
            g->g[k] = (group){value[i], 0, 0};
        } else {
            free(value[i]);
        }
        g->g[k].n++;
        g->g[k].correct += pred_of[i] == truth->y[i];
    }
    free(value);
    idmap_free(&seen);
    idmap_free(&rows);
    qsort(g->g, (size_t)g->count, sizeof *g->g, group_order);
}

static void print_groups(FILE *f, const groups *g)
{
    if (!g->column) return;
    fprintf(f, "\naccuracy by %s (%s)\n%12s %8s %8s %9s\n", g->column, g->labels, g->column, "rows",
            "correct", "accuracy");
    for (int k = 0; k < g->count; k++)
        fprintf(f, "%12s %8" PRId64 " %8" PRId64 " %9.4f\n", *g->g[k].value ? g->g[k].value : "(empty)",
                g->g[k].n, g->g[k].correct,
                (double)g->g[k].correct / (double)g->g[k].n);
}

static void print_report(FILE *f, const task_def *t, const confusion *cm, const char *pred,
                         const char *truth, const groups *g)
{
    fprintf(f, "evaluate: task %s, %" PRId64 " test rows (%s vs %s)\n", t->name,
            confusion_total(cm), pred, truth);
    fprintf(f, "accuracy           %.4f\n", metric_accuracy(cm));
    fprintf(f, "balanced accuracy  %.4f\n\n", metric_balanced_accuracy(cm));
    fprintf(f, "confusion matrix (rows: true label, columns: predicted label)\n%8s", "");
    for (int p = 0; p < t->nclass; p++) fprintf(f, " %7d", task_value(t, p));
    fputc('\n', f);
    for (int r = 0; r < t->nclass; r++) {
        fprintf(f, "%8d", task_value(t, r));
        for (int p = 0; p < t->nclass; p++) fprintf(f, " %7" PRId64, confusion_at(cm, r, p));
        fputc('\n', f);
    }
    fprintf(f, "\n%8s %9s %9s %9s %8s\n", "label", "precision", "recall", "f1", "support");
    for (int k = 0; k < t->nclass; k++)
        fprintf(f, "%8d %9.4f %9.4f %9.4f %8" PRId64 "\n", task_value(t, k),
                metric_precision(cm, k), metric_recall(cm, k), metric_f1(cm, k),
                metric_support(cm, k));
    fprintf(f, "%8s %9.4f %9.4f %9.4f %8" PRId64 "\n", "macro", metric_macro_precision(cm),
            metric_macro_recall(cm), metric_macro_f1(cm), confusion_total(cm));
    print_groups(f, g);
}

static void write_outputs(const char *dir, const task_def *t, const confusion *cm,
                          const labelled *truth, const int *pred_of, const char *pred,
                          const char *truth_path, const groups *g)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) die("cannot create %s: %s", dir, strerror(errno));
    /* report.txt is what make waits for: it is committed last, so a run killed half-way
     * never leaves a finished-looking report without its metrics and predictions. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    outfile o = out_open(path);
    fprintf(o.fp, "metric,value\naccuracy,%.6f\nbalanced_accuracy,%.6f\n", metric_accuracy(cm),
            metric_balanced_accuracy(cm));
    fprintf(o.fp, "macro_precision,%.6f\nmacro_recall,%.6f\nmacro_f1,%.6f\nn,%" PRId64 "\n",
            metric_macro_precision(cm), metric_macro_recall(cm), metric_macro_f1(cm),
            confusion_total(cm));
    for (int k = 0; k < t->nclass; k++) {
        int v = task_value(t, k);
        fprintf(o.fp, "precision_%d,%.6f\nrecall_%d,%.6f\nf1_%d,%.6f\nsupport_%d,%" PRId64 "\n", v,
                metric_precision(cm, k), v, metric_recall(cm, k), v, metric_f1(cm, k), v,
                metric_support(cm, k));
    }
    out_commit(&o);

    snprintf(path, sizeof path, "%s/confusion.csv", dir);
    o = out_open(path);
    fprintf(o.fp, "true");
    for (int p = 0; p < t->nclass; p++) fprintf(o.fp, ",%d", task_value(t, p));
    fputc('\n', o.fp);
    for (int r = 0; r < t->nclass; r++) {
        fprintf(o.fp, "%d", task_value(t, r));
        for (int p = 0; p < t->nclass; p++) fprintf(o.fp, ",%" PRId64, confusion_at(cm, r, p));
        fputc('\n', o.fp);
    }
    out_commit(&o);

    /* The original coursework's format: the accuracy, then one line per test image. */
    snprintf(path, sizeof path, "%s/predictions.csv", dir);
    o = out_open(path);
    fprintf(o.fp, "%.4f\n", metric_accuracy(cm));
    for (int64_t i = 0; i < truth->n; i++) {
        csv_put(o.fp, truth->ids[i]);
        fprintf(o.fp, ",%d,%d\n", task_value(t, pred_of[i]), task_value(t, truth->y[i]));
    }
    out_commit(&o);

    snprintf(path, sizeof path, "%s/groups.csv", dir);
    if (!g->column && unlink(path) != 0 && errno != ENOENT)  /* not an earlier run's */
        die("cannot remove %s: %s", path, strerror(errno));
    if (g->column) {
        o = out_open(path);
        fputs("column,value,n,correct,accuracy\n", o.fp);
        for (int k = 0; k < g->count; k++) {
            csv_put(o.fp, g->column);
            fputc(',', o.fp);
            csv_put(o.fp, g->g[k].value);
            fprintf(o.fp, ",%" PRId64 ",%" PRId64 ",%.6f\n", g->g[k].n, g->g[k].correct,
                    (double)g->g[k].correct / (double)g->g[k].n);
        }
        out_commit(&o);
    }

    snprintf(path, sizeof path, "%s/report.txt", dir);
    o = out_open(path);
    print_report(o.fp, t, cm, pred, truth_path, g);
    out_commit(&o);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    static const struct option opts[] = {
        {"task", required_argument, 0, 't'},  {"pred", required_argument, 0, 'p'},
        {"truth", required_argument, 0, 'r'}, {"output", required_argument, 0, 'o'},
        {"by", required_argument, 0, 'b'},    {"labels", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *task = NULL, *pred = NULL, *truth_path = NULL, *dir = NULL;
    groups g = {0};
    int c;
    while ((c = getopt_long(argc, argv, "t:p:r:o:b:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': task = optarg; break;
        case 'p': pred = optarg; break;
        case 'r': truth_path = optarg; break;
        case 'o': dir = optarg; break;
        case 'b': g.column = optarg; break;
        case 'l': g.labels = optarg; break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);
    if (!task || !pred || !truth_path) die_usage("--task, --pred and --truth are required");
    if (!g.column != !g.labels) die_usage("--by and --labels go together");
    if (g.column && !*g.column) die_usage("--by needs a column name");
    if (g.labels && !*g.labels) die_usage("--labels needs a file");
    if ((strcmp(pred, "-") == 0) + (strcmp(truth_path, "-") == 0) + (g.labels && strcmp(g.labels, "-") == 0) > 1)
        die_usage("only one of --pred, --truth and --labels can read stdin ('-')");
    const task_def *t = task_require(task);

    labelled truth = labelled_read(truth_path, t->nclass);
    if (truth.n == 0) die("%s: no rows to evaluate", truth_path);
    idmap m;
    int *pv = read_predictions(pred, t, &m);
    int *pred_of = xmalloc(sizeof(int) * (size_t)truth.n);
    confusion cm = confusion_new(t->nclass);
    for (int64_t i = 0; i < truth.n; i++) {
        int64_t k = idmap_get(&m, truth.ids[i]);
        if (k < 0) die("%s: no prediction for '%s' (listed in %s)", pred, truth.ids[i], truth_path);
        pred_of[i] = pv[k];
        confusion_add(&cm, truth.y[i], pv[k]);
    }
    if (g.column) group_rows(&g, &truth, pred_of);
    print_report(stdout, t, &cm, pred, truth_path, &g);
    if (dir) write_outputs(dir, t, &cm, &truth, pred_of, pred, truth_path, &g);
    for (int k = 0; k < g.count; k++) free(g.g[k].value);
    free(g.g);
    confusion_free(&cm);
    free(pv);
    free(pred_of);
    idmap_free(&m);
    labelled_free(&truth);
    return 0;
}
