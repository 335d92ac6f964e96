/* train-svm - linear SVM on a feature stream through LIBLINEAR (docs/train-svm.md).
 *
 *   train-svm --train CSV [--task T] [--val CSV] [search options] [--save MODEL]
 *             [--predict [--ids CSV] [-o PRED]] [FEATURES]
 *   train-svm --load MODEL --predict [--ids CSV] [-o PRED] [FEATURES]
 * Training rows are the stream rows listed in CSV (file_name,label as written by split);
 * C is chosen by a random search scored by stratified k-fold cross-validation, then refitted
 * on every training row. Predictions are `file_name,predicted,score` CSV. */
#include "csv.h"
#include "err.h"
#include "idmap.h"
#include "mat.h"
#include "progress.h"
#include "rng.h"
#include "split.h"
#include "svm.h"
#include "threads.h"

#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
    printf("Usage: train-svm --train CSV [OPTIONS] [FEATURES]\n"
           "       train-svm --load MODEL --predict [--ids CSV] [-o FILE] [FEATURES]\n"
           "Linear SVM (LIBLINEAR, L2-regularised squared hinge loss) on a matrix stream of\n"
           "any numeric type ('-' or no FEATURES = stdin). Features are standardised with the\n"
           "training rows' mean and standard deviation (saved with the model).\n\n"
           "Training:\n"
           "      --train CSV      rows to train on: file_name,label (class index, from split);\n"
           "                       stream rows not listed are ignored\n"
           "  -t, --task T         record the task in the model and check the labels' range\n"
           "      --val CSV        report the final model's accuracy on these rows\n"
           "      --c C            use this C (no search)\n"
           "      --c-min C        random search: C log-uniform in [C-MIN, C-MAX]\n"
           "      --c-max C          (default 1e-5 .. 10)\n"
           "      --n-iter N       candidates to try (default 10)\n"
           "      --folds K        stratified cross-validation folds (default 3)\n"
           "  -s, --seed S         seed of folds, candidates and solver (default 1)\n"
           "      --balanced       class weights n / (k n_c) (scikit-learn's 'balanced')\n"
           "      --multi M        more than two classes: ovo (one-vs-one, default), ovr\n"
           "                       (one-vs-rest) or cs (Crammer-Singer)\n"
           "      --loss L         squared-hinge (default) or hinge (see the manual)\n"
           "      --solver S       auto (default), dual or primal (see the manual)\n"
           "      --eps E          LIBLINEAR stopping tolerance (default 0.001 primal,\n"
           "                       0.1 dual)\n"
           "      --project P      auto (default: when rows < features), on or off\n"
           "      --search-log CSV write c,cv_accuracy,cpu_seconds for every candidate\n"
           "      --fold-log CSV   write file_name,fold: the fold of every training row\n"
           "      --learning-curve CSV  refit the chosen C on growing stratified subsets of\n"
           "                       the training rows (1/N, 2/N, ..., all; seeded) and write\n"
           "                       n_train,train_accuracy,val_accuracy (needs --val)\n"
           "      --curve-points N points of the learning curve (default 10)\n"
           "      --save MODEL     write the model (text, atomically)\n"
           "  -j, --threads N      cross-validation threads (default: all cores)\n"
           "  -v, --verbose        show LIBLINEAR's own messages\n\n"
           "Prediction:\n"
           "      --load MODEL     use a saved model instead of training\n"
           "      --predict        write file_name,predicted,score for every stream row\n"
           "      --ids CSV        ... or only for the rows listed (file_name column)\n"
           "  -o, --output FILE    predictions to FILE atomically (default stdout)\n"
           "  -h, --help           show this help\n\n"
           "score is the decision value of class 1 for two classes (> 0 means class 1), else\n"
           "the decision value of the predicted class (ovr, cs) or its votes (ovo).\n");
}

typedef struct {
    const char *train, *val, *load, *save, *ids, *out, *features, *search_log, *fold_log;
    const char *curve;      /* --learning-curve CSV */
    const task_def *task;
    int predict, n_iter, folds, curve_points;
    double c, c_min, c_max;
    svm_params p;
} options;

/* ------------------------------------------------------------------ rows by id */

typedef struct {
    int64_t n, d;
    float *x;           /* n x d, in the order of the id list */
    int64_t *found;     /* stream row of each listed id, -1 until seen */
} row_set;

/* Rows kept for predicting after training (in stream order). */
typedef struct {
    int64_t n, cap, d;
    char **ids;
    float *x;
} row_buf;

static void buf_push(row_buf *b, const char *id, const float *x)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->ids = xrealloc(b->ids, sizeof(char *) * (size_t)b->cap);
        b->x = xrealloc(b->x, sizeof(float) * (size_t)(b->cap * b->d));
    }
    b->ids[b->n] = xstrdup(id);
    memcpy(b->x + b->n * b->d, x, sizeof(float) * (size_t)b->d);
    b->n++;
}

static void set_init(row_set *s, const labelled *l, idmap *m, int64_t d)
{
    *s = (row_set){l->n, d, xmalloc(sizeof(float) * (size_t)(l->n * d + 1)),
                   xmalloc(sizeof(int64_t) * (size_t)(l->n + 1))};
    idmap_init(m);
    for (int64_t i = 0; i < l->n; i++) {
        s->found[i] = -1;
        idmap_put(m, l->ids[i], i);
    }
}

/* Copies the row into the set when its id is listed; dies on a second copy of an id. */
static void set_take(row_set *s, const idmap *m, const char *id, const float *x, int64_t row,
                     const char *stream)
{
    int64_t k = idmap_get(m, id);
    if (k < 0) return;
    if (s->found[k] >= 0) die("%s: id '%s' appears twice (rows %" PRId64 " and %" PRId64 ")",
                              stream, id, s->found[k] + 1, row + 1);
    s->found[k] = row;
    memcpy(s->x + k * s->d, x, sizeof(float) * (size_t)s->d);
}

static void set_check(const row_set *s, const labelled *l, const char *csv, const char *stream)
{
    for (int64_t i = 0; i < s->n; i++)
        if (s->found[i] < 0)
            die("id '%s' of %s is not in the feature stream %s", l->ids[i], csv, stream);
}

/* The ids of a CSV's `file_name` (else first) column, in file order, each with a flag set
 * once the stream has shown it. */
typedef struct {
    idmap map;          /* id -> position in ids */
    char **ids;
    char *seen;
    int64_t n;
} id_list;

static void ids_read(id_list *l, const char *csv)
{
    csv_reader *c = csv_open(csv);
    char **f;
    int nf = csv_next(c, &f), col = 0;
    if (nf == 0) die("%s: empty file: expected a header row", csv);
    for (int i = 0; i < nf; i++)
        if (strcmp(f[i], "file_name") == 0) col = i;
    *l = (id_list){0};
    idmap_init(&l->map);
    int64_t cap = 0;
    while ((nf = csv_next(c, &f)) > 0) {
        if (col >= nf) die("%s:%ld: expected at least %d fields", csv, csv_line(c), col + 1);
        if (idmap_put(&l->map, f[col], l->n) >= 0) continue;
        if (l->n == cap) l->ids = xrealloc(l->ids, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 256));
        l->ids[l->n++] = xstrdup(f[col]);
    }
    csv_close(c);
    l->seen = xcalloc((size_t)(l->n + 1), 1);
}

/* 1 when the id is listed (and marks it seen), else 0. */
static int ids_take(id_list *l, const char *id)
{
    int64_t k = idmap_get(&l->map, id);
    if (k < 0) return 0;
    l->seen[k] = 1;
    return 1;
}

/* Dies naming the first listed id the stream did not show. */
static void ids_check(const id_list *l, const char *csv, const char *stream)
{
    for (int64_t i = 0; i < l->n; i++)
        if (!l->seen[i]) die("id '%s' of %s is not in the feature stream %s", l->ids[i], csv, stream);
}

static void ids_free(id_list *l)
{
    for (int64_t i = 0; i < l->n; i++) free(l->ids[i]);
    free(l->ids);
    free(l->seen);
    idmap_free(&l->map);
}

/* ------------------------------------------------------------------ prediction output */

static void put_prediction(FILE *f, const char *id, int pred, double score)
{
    csv_put(f, id);
    fprintf(f, ",%d,%.6g\n", pred, score);
}

static void check_shape(const svm_model *m, const mat_header *h, const char *stream)
{
    if (mat_cols(h) != m->d) {
        char buf[160];
        mat_header_describe(h, buf, sizeof buf);
        die("%s: the model expects rows of %" PRId64 " features, found %s", stream, m->d, buf);
    }
}

/* --load MODEL --predict: one row at a time, memory independent of the stream length. */
static void predict_stream(const options *o)
{
    svm_model m = svm_load(o->load);
    mat_reader *r = mat_open(o->features);
    check_shape(&m, mat_hdr(r), mat_name(r));
    id_list want;
    if (o->ids) ids_read(&want, o->ids);
    float *x = xmalloc(sizeof(float) * (size_t)m.d);
    char id[MAT_MAX_ID + 1];
    outfile out = out_open(o->out);
    fprintf(out.fp, "file_name,predicted,score\n");
    while (mat_read_row_f32(r, id, x)) {
        if (o->ids && !ids_take(&want, id)) continue;
        double score;
        int pred = svm_predict(&m, x, &score);
        put_prediction(out.fp, id, pred, score);
    }
    if (o->ids) ids_check(&want, o->ids, mat_name(r));
    out_commit(&out);
    mat_close(r);
    free(x);
    if (o->ids) ids_free(&want);
    svm_model_free(&m);
}

/* ------------------------------------------------------------------ training */

typedef struct {
    labelled train, val;
    row_set tr, va;
    row_buf pred;
    mat_header h;
} train_input;

/* One pass over the stream: the training rows (in train.csv order), the validation rows,
 * and the rows to predict afterwards. */
static void read_input(const options *o, train_input *in)
{
    in->train = labelled_read(o->train, o->task ? o->task->nclass : 0);
    if (in->train.n == 0) die("%s: no training rows", o->train);
    if (o->val) in->val = labelled_read(o->val, in->train.nclass);
    mat_reader *r = mat_open(o->features);
    in->h = *mat_hdr(r);
    int64_t d = mat_cols(&in->h);
    idmap mt, mv;
    set_init(&in->tr, &in->train, &mt, d);
    set_init(&in->va, &in->val, &mv, d);
    id_list want;
    if (o->ids) ids_read(&want, o->ids);
    in->pred = (row_buf){.d = d};
    float *x = xmalloc(sizeof(float) * (size_t)d);
    char id[MAT_MAX_ID + 1];
    for (int64_t row = 0; mat_read_row_f32(r, id, x); row++) {
        set_take(&in->tr, &mt, id, x, row, mat_name(r));
        set_take(&in->va, &mv, id, x, row, mat_name(r));
        if (o->predict && (!o->ids || ids_take(&want, id))) buf_push(&in->pred, id, x);
    }
    set_check(&in->tr, &in->train, o->train, mat_name(r));
    set_check(&in->va, &in->val, o->val, mat_name(r));
    if (o->ids) {
        ids_check(&want, o->ids, mat_name(r));
        ids_free(&want);
    }
    free(x);
    idmap_free(&mt);
    idmap_free(&mv);
    mat_close(r);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --fold-log: file_name,fold of every training row. */
static void write_folds(const char *path, const labelled *train, const int *fold)
{
    outfile f = out_open(path);
    fprintf(f.fp, "file_name,fold\n");
    for (int64_t i = 0; i < train->n; i++) {
        csv_put(f.fp, train->ids[i]);
        fprintf(f.fp, ",%d\n", fold[i]);
    }
    out_commit(&f);
}

/* Random search over C, scored on stratified folds; returns the best (ties: the smaller C). */
static double search_c(const options *o, svm_problem *pb, const labelled *train)
{
    int n = o->n_iter;
    double *c = xmalloc(sizeof(double) * (size_t)n), *acc = xmalloc(sizeof(double) * (size_t)n),
           *sec = xmalloc(sizeof(double) * (size_t)n);
    svm_c_candidates(o->c_min, o->c_max, n, o->p.seed, c);
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    int *fold = xmalloc(sizeof(int) * (size_t)train->n);
    split_folds(train->y, train->n, train->nclass, o->folds, o->p.seed, fold);
    if (o->fold_log) write_folds(o->fold_log, train, fold);
    double t0 = now_seconds();
    svm_cv(pb, &o->p, c, n, fold, o->folds, acc, sec);
    free(fold);
    int best = 0;
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "train-svm: C=%-11.4e cv accuracy %.4f  (%d fits, cpu %.2f s)\n", c[i],
                acc[i], o->folds, sec[i]);
        if (acc[i] > acc[best]) best = i;
    }
    fprintf(stderr, "train-svm: search of %d C x %d folds in %.2f s; best C=%.4e (cv accuracy %.4f)\n",
            n, o->folds, now_seconds() - t0, c[best], acc[best]);
    if (o->search_log) {
        outfile f = out_open(o->search_log);
        fprintf(f.fp, "c,cv_accuracy,cpu_seconds\n");
        for (int i = 0; i < n; i++) fprintf(f.fp, "%.17g,%.6f,%.3f\n", c[i], acc[i], sec[i]);
        out_commit(&f);
    }
    double cbest = c[best];
    free(c);
    free(acc);
    free(sec);
    return cbest;
}

/* CPU seconds of the whole process (every thread): on a loaded machine a fairer measure
 * than the wall clock. */
/* ------------------------------------------------------------------ learning curve */

/* --learning-curve: the chosen C refitted on growing stratified subsets of the training rows.
 * Each class's rows are shuffled once with the seed (RNG stream 0x4c43 + class, 'LC'), and
 * the subset of fraction f keeps the first round(f n_c) of them (at least one): the subsets
 * are nested, every class keeps its share, and the same seed gives the same subsets. Each
 * subset is a whole new training - standardisation fitted on its rows, its own bias value
 * and projection - so the curve shows what a model trained on fewer rows would do. */
typedef struct {
    const options *o;
    const train_input *in;
    const float *raw;           /* the training rows before standardisation, n x d */
    int64_t *rank;              /* each training row's place in its class's shuffle */
    int64_t count[TASK_MAX_CLASSES];
    double C;
    int64_t *n;                 /* per point: rows, correct on them, correct on --val */
    int64_t *ok_train, *ok_val;
} curve_ctx;

static int64_t curve_quota(int64_t count, int k, int points)
{
    if (count == 0) return 0;
    int64_t q = (int64_t)floor((double)count * k / points + 0.5);
    return q < 1 ? 1 : q > count ? count : q;
}

/* Correct predictions of model m on rows x (raw) with classes y. */
static int64_t count_correct(const svm_model *m, const float *x, const int *y, int64_t n, int64_t d)
{
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += svm_predict(m, x + i * d, NULL) == y[i];
    return ok;
}

/* Item i fits point k = points - 2 - i (the largest first, for balance across threads), on
 * one thread: the points themselves run in parallel. */
static void curve_point(void *vctx, int64_t item, int thread)
{
    (void)thread;
    curve_ctx *c = vctx;
    const labelled *tr = &c->in->train;
    int points = c->o->curve_points, k = points - 2 - (int)item;
    int64_t d = c->in->tr.d, m = 0, quota[TASK_MAX_CLASSES];
    for (int cl = 0; cl < tr->nclass; cl++) quota[cl] = curve_quota(c->count[cl], k + 1, points);
    float *x = xmalloc(sizeof(float) * (size_t)(tr->n * d + 1));
    int *y = xmalloc(sizeof(int) * (size_t)(tr->n + 1));
    for (int64_t i = 0; i < tr->n; i++)
        if (c->rank[i] < quota[tr->y[i]]) {     /* in training-file order, as the full fit */
            memcpy(x + m * d, c->raw + i * d, sizeof(float) * (size_t)d);
            y[m++] = tr->y[i];
        }
    svm_params p = c->o->p;
    p.threads = 1;
    svm_model md = {0};
    svm_fit_scaler(&md, x, m, d);
    float *z = xmalloc(sizeof(float) * (size_t)(m * d + 1));
    for (int64_t i = 0; i < m; i++) svm_scale_row(&md, x + i * d, z + i * d);
    svm_problem *pb = svm_problem_new(z, y, m, d, tr->nclass, &p);
    svm_fit(pb, &p, c->C, &md);
    svm_problem_free(pb);
    free(z);
    c->n[k] = m;
    c->ok_train[k] = count_correct(&md, x, y, m, d);
    c->ok_val[k] = count_correct(&md, c->in->va.x, c->in->val.y, c->in->val.n, d);
    svm_model_free(&md);
    free(x);
    free(y);
}

/* Writes n_train,train_accuracy,val_accuracy for fractions 1/P, 2/P, ..., 1 of the training
 * rows. The last point is the final model itself, not a refit (the primal's final fit starts
 * from the cross-validation's solutions, a refit from zero would differ within the solver's
 * tolerance), so its val_accuracy is the one train-svm reports. */
static void learning_curve(const options *o, const train_input *in, const float *raw, double C,
                           const svm_model *final)
{
    const labelled *tr = &in->train;
    int points = o->curve_points;
    double t0 = now_seconds(), cpu0 = process_cpu_seconds();
    curve_ctx c = {o, in, raw, xmalloc(sizeof(int64_t) * (size_t)tr->n), {0}, C,
                   xcalloc((size_t)points, sizeof(int64_t)), xcalloc((size_t)points, sizeof(int64_t)),
                   xcalloc((size_t)points, sizeof(int64_t))};
    int64_t *idx = xmalloc(sizeof(int64_t) * (size_t)tr->n);
    for (int cl = 0; cl < tr->nclass; cl++) {
        int64_t nc = 0;
        for (int64_t i = 0; i < tr->n; i++)
            if (tr->y[i] == cl) idx[nc++] = i;
        rng r;
        rng_seed_stream(&r, o->p.seed, 0x4c43 + (uint64_t)cl);
        rng_shuffle(&r, idx, nc);
        for (int64_t k = 0; k < nc; k++) c.rank[idx[k]] = k;
        c.count[cl] = nc;
    }
    free(idx);
    parallel_for(points - 1, o->p.threads, curve_point, &c);
    c.n[points - 1] = tr->n;
    c.ok_train[points - 1] = count_correct(final, raw, tr->y, tr->n, in->tr.d);
    c.ok_val[points - 1] = count_correct(final, in->va.x, in->val.y, in->val.n, in->tr.d);
    outfile f = out_open(o->curve);
    fprintf(f.fp, "n_train,train_accuracy,val_accuracy\n");
    for (int k = 0; k < points; k++) {
        double at = (double)c.ok_train[k] / (double)c.n[k],
               av = in->val.n ? (double)c.ok_val[k] / (double)in->val.n : 0.0;
        fprintf(f.fp, "%" PRId64 ",%.6f,%.6f\n", c.n[k], at, av);
        fprintf(stderr, "train-svm: learning curve %5" PRId64 " rows: train accuracy %.4f, "
                "validation %.4f\n", c.n[k], at, av);
    }
    out_commit(&f);
    fprintf(stderr, "train-svm: learning curve of %d points in %.2f s (cpu %.2f s)\n", points,
            now_seconds() - t0, process_cpu_seconds() - cpu0);
    free(c.rank);
    free(c.n);
    free(c.ok_train);
    free(c.ok_val);
}

static void train_mode(const options *o)
{
    train_input in = {0};
    read_input(o, &in);
    int64_t n = in.train.n, d = in.tr.d;
    char shape[160];
    mat_header_describe(&in.h, shape, sizeof shape);
    /* The learning curve standardises each subset anew: it needs the rows as read. */
    float *raw = NULL;
    if (o->curve) {
        raw = xmalloc(sizeof(float) * (size_t)(n * d));
        memcpy(raw, in.tr.x, sizeof(float) * (size_t)(n * d));
    }
    double t0 = now_seconds(), cpu0 = process_cpu_seconds();
    svm_model m = {0};
    svm_fit_scaler(&m, in.tr.x, n, d);
    for (int64_t i = 0; i < n; i++) svm_scale_row(&m, in.tr.x + i * d, in.tr.x + i * d);
    svm_problem *pb = svm_problem_new(in.tr.x, in.train.y, n, d, in.train.nclass, &o->p);
    /* The projected dimension is known once all rows are factorised, which the search does
     * beside the folds: it is reported with the refit. */
    if (svm_problem_projected(pb))
        fprintf(stderr, "train-svm: %" PRId64 " training rows of %s, %d classes; LIBLINEAR %s on "
                "the span of the rows (span projection; Gram matrix in %.2f s)\n", n, shape,
                in.train.nclass, svm_problem_solver(pb), now_seconds() - t0);
    else
        fprintf(stderr, "train-svm: %" PRId64 " training rows of %s, %d classes; LIBLINEAR %s on %"
                PRId64 " features (prepared in %.2f s)\n", n, shape, in.train.nclass,
                svm_problem_solver(pb), svm_problem_dim(pb), now_seconds() - t0);
    double C = o->c > 0 ? o->c : search_c(o, pb, &in.train);
    double t1 = now_seconds();
    svm_fit(pb, &o->p, C, &m);
    double t2 = now_seconds();
    fprintf(stderr, "train-svm: refit C=%.4e on %" PRId64 " rows (%" PRId64 " features) in %.2f s; "
            "training time %.2f s (cpu %.2f s)\n", C, n, svm_problem_dim(pb), t2 - t1, t2 - t0,
            process_cpu_seconds() - cpu0);
    svm_problem_free(pb);
    snprintf(m.task, sizeof m.task, "%s", o->task ? o->task->name : "");
    m.ndim = in.h.ndim;
    memcpy(m.shape, in.h.shape, sizeof m.shape);

    if (o->val) {
        int64_t ok = 0;
        for (int64_t i = 0; i < in.val.n; i++) ok += svm_predict(&m, in.va.x + i * d, NULL) == in.val.y[i];
        fprintf(stderr, "train-svm: validation accuracy %.6f (%" PRId64 "/%" PRId64 " rows)\n",
                in.val.n ? (double)ok / (double)in.val.n : 0.0, ok, in.val.n);
    }
    if (o->curve) {
        learning_curve(o, &in, raw, C, &m);
        free(raw);
    }
    if (o->save) svm_save(&m, o->save);
    if (o->predict) {
        outfile out = out_open(o->out);
        fprintf(out.fp, "file_name,predicted,score\n");
        for (int64_t i = 0; i < in.pred.n; i++) {
            double score;
            int pred = svm_predict(&m, in.pred.x + i * d, &score);
            put_prediction(out.fp, in.pred.ids[i], pred, score);
        }
        out_commit(&out);
    }
    svm_model_free(&m);
}

/* ------------------------------------------------------------------ options */

static int parse_choice(const char *s, const char *what, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    die_usage("%s: expected %s or %s, got '%s'", what, names[0], names[n - 1], s);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    /* The cross-validation allocates and frees node arrays of megabytes; keep them on the
     * heap instead of fresh mmap()s, whose first-touch page faults cost 8% of the time. */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    enum { O_TRAIN = 256, O_VAL, O_C, O_CMIN, O_CMAX, O_NITER, O_FOLDS, O_BAL, O_MULTI,
           O_SOLVER, O_EPS, O_PROJECT, O_LOG, O_FOLDLOG, O_SAVE, O_LOAD, O_PREDICT, O_IDS,
           O_CURVE, O_CURVE_POINTS, O_LOSS };
    static const struct option opts[] = {
        {"train", required_argument, 0, O_TRAIN},   {"task", required_argument, 0, 't'},
        {"val", required_argument, 0, O_VAL},       {"c", required_argument, 0, O_C},
        {"c-min", required_argument, 0, O_CMIN},    {"c-max", required_argument, 0, O_CMAX},
        {"n-iter", required_argument, 0, O_NITER},  {"folds", required_argument, 0, O_FOLDS},
        {"seed", required_argument, 0, 's'},        {"balanced", no_argument, 0, O_BAL},
        {"multi", required_argument, 0, O_MULTI},   {"solver", required_argument, 0, O_SOLVER},
        {"eps", required_argument, 0, O_EPS},       {"project", required_argument, 0, O_PROJECT},
        {"search-log", required_argument, 0, O_LOG}, {"save", required_argument, 0, O_SAVE},
        {"fold-log", required_argument, 0, O_FOLDLOG},
        {"learning-curve", required_argument, 0, O_CURVE},
        {"curve-points", required_argument, 0, O_CURVE_POINTS},
        {"loss", required_argument, 0, O_LOSS},
        {"load", required_argument, 0, O_LOAD},     {"predict", no_argument, 0, O_PREDICT},
        {"ids", required_argument, 0, O_IDS},       {"output", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 'j'},     {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    static const char *const multi[] = {"ovr", "cs", "ovo"}, *const solver[] = {"auto", "dual", "primal"},
                             *const project[] = {"auto", "on", "off"},
                             *const loss[] = {"squared-hinge", "hinge"};
    options o = {.out = "-", .features = "-", .n_iter = 10, .folds = 3, .curve_points = 10, .c_min = 1e-5,
                 .c_max = 10, .p = {.seed = 1, .multi = SVM_MULTI_OVO}};
    int c;
    while ((c = getopt_long(argc, argv, "t:s:o:j:vh", opts, NULL)) != -1) {
        switch (c) {
        case O_TRAIN: o.train = optarg; break;
        case 't': o.task = task_require(optarg); break;
        case O_VAL: o.val = optarg; break;
        case O_C: o.c = parse_double(optarg, "--c", 1e-12, 1e12); break;
        case O_CMIN: o.c_min = parse_double(optarg, "--c-min", 1e-12, 1e12); break;
        case O_CMAX: o.c_max = parse_double(optarg, "--c-max", 1e-12, 1e12); break;
        case O_NITER: o.n_iter = (int)parse_long(optarg, "--n-iter", 1, 10000); break;
        case O_FOLDS: o.folds = (int)parse_long(optarg, "--folds", 2, 100); break;
        case 's': o.p.seed = parse_seed(optarg); break;
        case O_BAL: o.p.balanced = 1; break;
        case O_MULTI: o.p.multi = (svm_multi)parse_choice(optarg, "--multi", multi, 3); break;
        case O_LOSS: o.p.loss = (svm_loss)parse_choice(optarg, "--loss", loss, 2); break;
        case O_SOLVER: o.p.solver = (svm_solver)parse_choice(optarg, "--solver", solver, 3); break;
        case O_EPS: o.p.eps = parse_double(optarg, "--eps", 1e-12, 1e3); break;
        case O_PROJECT: o.p.project = (svm_project)parse_choice(optarg, "--project", project, 3); break;
        case O_LOG: o.search_log = optarg; break;
        case O_FOLDLOG: o.fold_log = optarg; break;
        case O_CURVE: o.curve = optarg; break;
        case O_CURVE_POINTS: o.curve_points = (int)parse_long(optarg, "--curve-points", 1, 1000); break;
        case O_SAVE: o.save = optarg; break;
        case O_LOAD: o.load = optarg; break;
        case O_PREDICT: o.predict = 1; break;
        case O_IDS: o.ids = optarg; break;
        case 'o': o.out = optarg; break;
        case 'j': o.p.threads = (int)parse_long(optarg, "--threads", 1, 64); break;
        case 'v': o.p.verbose = 1; break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    if (argc - optind > 1) die_usage("expected at most one feature stream, got %d", argc - optind);
    if (optind < argc) o.features = argv[optind];
    if (!o.train == !o.load) die_usage("give either --train CSV (training) or --load MODEL");
    if (o.load && !o.predict) die_usage("--load needs --predict");
    if (o.c_min > o.c_max) die_usage("--c-min %g is above --c-max %g", o.c_min, o.c_max);
    if (o.ids && !o.predict) die_usage("--ids needs --predict");
    if (o.p.loss == SVM_LOSS_HINGE && o.p.solver == SVM_SOLVER_PRIMAL)
        die_usage("--loss hinge has no primal solver in LIBLINEAR (use --solver dual or auto)");
    if (o.curve && (!o.train || !o.val)) die_usage("--learning-curve needs --train and --val");
    if (strcmp(o.features, "-") == 0 && isatty(0))
        die_usage("expected a feature stream on stdin (or give FEATURES)");
    if (o.load) predict_stream(&o);
    else train_mode(&o);
    return 0;
}
