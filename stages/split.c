/* split - stratified train/validation/test split of one task's labels (docs/split.md).
 *
 *   split --labels CSV --task T [--seed S] [--train 0.6] [--val 0.2] -o DIR
 * writes DIR/train.csv, DIR/val.csv, DIR/test.csv (`file_name,label`, label = internal class
 * index, rows in CSV order) and DIR/split.txt (counts per class and part). */
#include "csv.h"
#include "err.h"
#include "split.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(void)
{
    printf("Usage: split --labels CSV --task TASK [OPTIONS] -o DIR\n"
           "Stratified split of one task's labelled rows into train, validation and test.\n\n"
           "  -l, --labels CSV   attribute table with a file_name column and the task column\n"
           "  -t, --task TASK    smiling, young, eyeglasses, human (-1/1 -> class 0/1) or\n"
           "                     hair_color (0..5; rows with -1 are dropped)\n"
           "  -s, --seed S       shuffling seed (default 1); same labels+task+seed, same split\n"
           "      --train F      training fraction (default 0.6)\n"
           "      --val F        validation fraction (default 0.2); test gets the rest\n"
           "  -o, --output DIR   directory for train.csv, val.csv, test.csv and split.txt\n"
           "                     (created if missing; files are replaced atomically)\n"
           "  -h, --help         show this help\n\n"
           "Each class is shuffled on its own and cut by largest remainders, so its count in\n"
           "every part is within one item of its exact share. Output rows keep the CSV order;\n"
           "labels are the internal class index.\n");
}

static const char *part_name[3] = {"train", "val", "test"};

static void write_part(const char *dir, int p, const labelled *l, const int *part)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.csv", dir, part_name[p]);
    outfile o = out_open(path);
    fprintf(o.fp, "file_name,label\n");
    for (int64_t i = 0; i < l->n; i++) {
        if (part[i] != p) continue;
        csv_put(o.fp, l->ids[i]);
        fprintf(o.fp, ",%d\n", l->y[i]);
    }
    out_commit(&o);
}

/* The counts table of split.txt (also printed on stderr). */
static void summary(FILE *f, const char *csv, const task_def *t, uint64_t seed, const double fr[3],
                    const labelled *l, int64_t count[][3])
{
    fprintf(f, "split of %s, task %s, seed %" PRIu64 ", fractions %g/%g/%g\n", csv, t->name,
            seed, fr[0], fr[1], fr[2]);
    if (l->dropped) fprintf(f, "%" PRId64 " rows without a label dropped\n", l->dropped);
    fprintf(f, "%6s %6s %8s %8s %8s %8s\n", "class", "label", "train", "val", "test", "total");
    int64_t tot[3] = {0};
    for (int c = 0; c < t->nclass; c++) {
        int64_t s = count[c][0] + count[c][1] + count[c][2];
        fprintf(f, "%6d %6d %8" PRId64 " %8" PRId64 " %8" PRId64 " %8" PRId64 "\n", c,
                task_value(t, c), count[c][0], count[c][1], count[c][2], s);
        for (int p = 0; p < 3; p++) tot[p] += count[c][p];
    }
    fprintf(f, "%6s %6s %8" PRId64 " %8" PRId64 " %8" PRId64 " %8" PRId64 "\n", "total", "",
            tot[0], tot[1], tot[2], l->n);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    static const struct option opts[] = {
        {"labels", required_argument, 0, 'l'}, {"task", required_argument, 0, 't'},
        {"seed", required_argument, 0, 's'},   {"train", required_argument, 0, 'T'},
        {"val", required_argument, 0, 'V'},    {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *csv = NULL, *task = NULL, *dir = NULL;
    uint64_t seed = 1;
    double ftrain = 0.6, fval = 0.2;
    int c;
    while ((c = getopt_long(argc, argv, "l:t:s:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': csv = optarg; break;
        case 't': task = optarg; break;
        case 's': seed = parse_seed(optarg); break;
        case 'T': ftrain = parse_double(optarg, "--train", 0, 1); break;
        case 'V': fval = parse_double(optarg, "--val", 0, 1); break;
        case 'o': dir = optarg; break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);
    if (!csv || !task || !dir) die_usage("--labels, --task and -o DIR are required");
    const task_def *t = task_require(task);
    if (ftrain + fval > 1 + 1e-9) die_usage("--train %g + --val %g exceed 1", ftrain, fval);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) die("cannot create %s: %s", dir, strerror(errno));

    labelled l = labelled_from_attributes(csv, t);
    if (l.n == 0) die("%s: no labelled rows for task %s", csv, t->name);
    int *part = xmalloc(sizeof(int) * (size_t)l.n);
    split_assign(l.y, l.n, t->nclass, ftrain, fval, seed, part);

    int64_t count[TASK_MAX_CLASSES][3] = {{0}};
    for (int64_t i = 0; i < l.n; i++) count[l.y[i]][part[i]]++;
    for (int p = 0; p < 3; p++) write_part(dir, p, &l, part);
    double f[3] = {ftrain, fval, 1 - ftrain - fval < 0 ? 0 : 1 - ftrain - fval};
    char path[4096];
    snprintf(path, sizeof path, "%s/split.txt", dir);
    outfile o = out_open(path);
    summary(o.fp, csv, t, seed, f, &l, count);
    out_commit(&o);
    summary(stderr, csv, t, seed, f, &l, count);
    free(part);
    labelled_free(&l);
    return 0;
}
