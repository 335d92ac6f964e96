/* rescue.c - held-out linear SVM scores for the images of removed clusters (rescue.h).
 *
 * The model is LIBLINEAR's L2-regularised squared-hinge SVM (the dual solver, as
 * scikit-learn's LinearSVC) on standardised 32x32 RGB thumbnails, classes weighted
 * n / (2 n_c) so the small removed side counts as much as the faces. Faces in this kind of
 * dataset are centred crops, so a linear template of the pixels is a strong face/non-face
 * signal - exactly what the cluster-level score (skin in the face area) lacks for a dark face
 * on a grey background. */
#include "rescue.h"

#include "err.h"
#include "image.h"
#include "rng.h"

#include <linear.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

rescue_params rescue_defaults(void)
{
    return (rescue_params){.folds = 5, .C = 0.01, .max_kept = 5000, .seed = 1};
}

void rescue_thumbnail(const uint8_t *rgb, int h, int w, float *out)
{
    uint8_t small[RESCUE_DIM];
    img_resize_area(rgb, w, h, small, RESCUE_SIDE, RESCUE_SIDE, 3);
    for (int j = 0; j < RESCUE_DIM; j++) out[j] = small[j] / 255.0f;
}

static void print_none(const char *s) { (void)s; }

/* LIBLINEAR wants each row as (index, value) nodes ending with index -1; with a bias the
 * constant feature is the last node (index dim + 1). Rows are standardised on the way. */
static struct feature_node *dense_nodes(const float *x, int dim, const double *mean, const double *sd)
{
    struct feature_node *nd = xmalloc(sizeof *nd * ((size_t)dim + 2));
    for (int j = 0; j < dim; j++) {
        nd[j].index = j + 1;
        nd[j].value = (x[j] - mean[j]) / sd[j];
    }
    nd[dim] = (struct feature_node){dim + 1, 1.0};
    nd[dim + 1] = (struct feature_node){-1, 0.0};
    return nd;
}

/* Column mean and standard deviation over every row (constant columns get sd 1). */
static void column_stats(const float *x, int64_t n, int dim, double *mean, double *sd)
{
    for (int j = 0; j < dim; j++) mean[j] = sd[j] = 0;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < dim; j++) mean[j] += x[i * dim + j];
    for (int j = 0; j < dim; j++) mean[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < dim; j++) {
            double d = x[i * dim + j] - mean[j];
            sd[j] += d * d;
        }
    for (int j = 0; j < dim; j++) {
        sd[j] = sqrt(sd[j] / (double)n);
        if (sd[j] < 1e-12) sd[j] = 1;
    }
}

/* ---- copies among the removed images ----
 * Noise images repeat (in AMLS over half of them have an exact copy). Two copies in the same
 * held-out fold would each be judged by a model that never saw that picture, and a sky the
 * colour of skin then looks like a face. So copies go to different folds: the model that
 * judges one copy was trained on the other. Copies are found on 8x8 colour averages of the
 * thumbnails (RMS difference below 2% of the range); pairs are compared only among the
 * removed rows, and only while there are at most MAX_COPY_SCAN of them. */
#define COPY_SIDE 8
#define COPY_DIM (COPY_SIDE * COPY_SIDE * 3)
#define COPY_RMS 0.02
#define MAX_COPY_SCAN 20000

static void tiny_thumbnail(const float *x, float *out)
{
    int f = RESCUE_SIDE / COPY_SIDE;
    for (int j = 0; j < COPY_DIM; j++) out[j] = 0;
    for (int y = 0; y < RESCUE_SIDE; y++)
        for (int xx = 0; xx < RESCUE_SIDE; xx++)
            for (int c = 0; c < 3; c++)
                out[((y / f) * COPY_SIDE + xx / f) * 3 + c] += x[(y * RESCUE_SIDE + xx) * 3 + c] / (float)(f * f);
}

static int64_t find_root(int64_t *parent, int64_t i)
{
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}

/* group[t] for the m rows listed: the smallest position of a copy of row t (union-find). */
static void copy_groups(const float *x, const int64_t *rows, int64_t m, int64_t *group)
{
    for (int64_t t = 0; t < m; t++) group[t] = t;
    if (m > MAX_COPY_SCAN) return;
    float *tiny = xmalloc(sizeof *tiny * COPY_DIM * (size_t)(m ? m : 1));
    for (int64_t t = 0; t < m; t++) tiny_thumbnail(x + rows[t] * RESCUE_DIM, tiny + t * COPY_DIM);
    double limit = COPY_RMS * COPY_RMS * COPY_DIM;
    for (int64_t a = 0; a < m; a++)
        for (int64_t b = a + 1; b < m; b++) {
            double d = 0;
            for (int j = 0; j < COPY_DIM && d < limit; j++) {
                double e = tiny[a * COPY_DIM + j] - tiny[b * COPY_DIM + j];
                d += e * e;
            }
            if (d >= limit) continue;
            int64_t ra = find_root(group, a), rb = find_root(group, b);
            if (ra != rb) group[ra > rb ? ra : rb] = ra < rb ? ra : rb;
        }
    for (int64_t t = 0; t < m; t++) group[t] = find_root(group, t);
    free(tiny);
}

/* Reorders rows[0..m) so the members of each copy group sit next to each other, groups in
 * the order of their first member (a stable counting pass over the group roots). */
static void gather_copies(const float *x, int64_t *rows, int64_t m)
{
    int64_t *group = xmalloc(sizeof *group * (size_t)(m ? m : 1));
    int64_t *out = xmalloc(sizeof *out * (size_t)(m ? m : 1));
    copy_groups(x, rows, m, group);
    int64_t k = 0;
    for (int64_t t = 0; t < m; t++) {
        if (group[t] != t) continue;                 /* t is the first member of its group */
        for (int64_t u = t; u < m; u++)
            if (group[u] == t) out[k++] = rows[u];
    }
    memcpy(rows, out, sizeof *rows * (size_t)m);
    free(group);
    free(out);
}

/* The rows taking part (every removed row, a seeded sample of at most max_kept kept rows),
 * each with a fold number: shuffled within its side, then dealt out round-robin so every
 * fold holds its share of both sides (and copies of one removed picture land in different
 * folds). Returns the count; rows/fold are filled. */
static int64_t choose_rows(const float *x, const int *removed, int64_t n, const rescue_params *p,
                           int64_t *rows, int *fold)
{
    rng r;
    rng_seed(&r, p->seed);
    int64_t m = 0;
    for (int side = 1; side >= 0; side--) {
        int64_t start = m;
        for (int64_t i = 0; i < n; i++)
            if (!!removed[i] == side) rows[m++] = i;
        rng_shuffle(&r, rows + start, m - start);
        if (side == 1) gather_copies(x, rows + start, m - start);
        if (side == 0 && m - start > p->max_kept) m = start + p->max_kept;
        for (int64_t t = start; t < m; t++) fold[t] = (int)((t - start) % p->folds);
    }
    return m;
}

/* Trains fold f's model: every chosen row outside fold f, "kept" = +1, classes weighted
 * n / (2 n_c) so the small removed side counts as much as the faces. The returned model's
 * decision is signed so that > 0 means "kept" (*sign). */
static struct model *train_fold(struct feature_node **nodes, const int64_t *rows, const int *fold,
                                int64_t m, const int *removed, int dim, int f, const rescue_params *p,
                                double *sign)
{
    struct feature_node **tx = xmalloc(sizeof *tx * (size_t)m);
    double *ty = xmalloc(sizeof *ty * (size_t)m);
    int64_t l = 0, nrem = 0;
    for (int64_t t = 0; t < m; t++) {
        if (fold[t] == f) continue;
        tx[l] = nodes[t];
        ty[l] = removed[rows[t]] ? -1 : +1;
        nrem += removed[rows[t]] != 0;
        l++;
    }
    if (nrem == 0 || nrem == l) die("rescue: fold %d has only one class (too few removed images for %d folds)", f + 1, p->folds);
    int labels[2] = {+1, -1};
    double weights[2] = {(double)l / (2.0 * (double)(l - nrem)), (double)l / (2.0 * (double)nrem)};
    struct problem prob = {.l = (int)l, .n = dim + 1, .y = ty, .x = tx, .bias = 1.0};
    struct parameter param = {.solver_type = L2R_L2LOSS_SVC_DUAL, .eps = 0.1, .C = p->C,
                              .nr_weight = 2, .weight_label = labels, .weight = weights};
    const char *bad = check_parameter(&prob, &param);
    if (bad) die("rescue: LIBLINEAR: %s", bad);
    set_print_string_function(print_none);
    srand((unsigned)(p->seed * 31 + (uint64_t)f));   /* the dual solver's coordinate order */
    struct model *mdl = train(&prob, &param);
    *sign = get_nr_class(mdl) == 2 && mdl->label[0] == +1 ? 1.0 : -1.0;
    free(tx);
    free(ty);
    return mdl;
}

void heldout_scores(const float *thumbs, const float *x, int64_t n, int dim, const int *removed,
                    const rescue_params *p, int score_all, double *score)
{
    double *mean = xmalloc(sizeof *mean * (size_t)dim), *sd = xmalloc(sizeof *sd * (size_t)dim);
    column_stats(x, n, dim, mean, sd);
    int64_t *rows = xmalloc(sizeof *rows * (size_t)n);
    int *fold = xmalloc(sizeof *fold * (size_t)n);
    int64_t m = choose_rows(thumbs, removed, n, p, rows, fold);
    struct feature_node **nodes = xmalloc(sizeof *nodes * (size_t)m);
    for (int64_t t = 0; t < m; t++) nodes[t] = dense_nodes(x + rows[t] * dim, dim, mean, sd);
    /* rows left out of the sample were trained on by no model: fold i % folds judges row i */
    int *sampled = xcalloc((size_t)n, sizeof *sampled);
    for (int64_t t = 0; t < m; t++) sampled[rows[t]] = 1;

    for (int f = 0; f < p->folds; f++) {
        double sign, dec;
        struct model *mdl = train_fold(nodes, rows, fold, m, removed, dim, f, p, &sign);
        for (int64_t t = 0; t < m; t++) {
            if (fold[t] != f || (!score_all && !removed[rows[t]])) continue;
            predict_values(mdl, nodes[t], &dec);
            score[rows[t]] = sign * dec;
        }
        for (int64_t i = f; score_all && i < n; i += p->folds) {
            if (sampled[i]) continue;
            struct feature_node *nd = dense_nodes(x + i * dim, dim, mean, sd);
            predict_values(mdl, nd, &dec);
            score[i] = sign * dec;
            free(nd);
        }
        free_and_destroy_model(&mdl);
    }
    for (int64_t t = 0; t < m; t++) free(nodes[t]);
    free(nodes); free(rows); free(fold); free(sampled); free(mean); free(sd);
}

void rescue_scores(const float *x, int64_t n, const int *removed, const rescue_params *p, double *score)
{
    heldout_scores(x, x, n, RESCUE_DIM, removed, p, 0, score);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void sort_doubles(double *v, int64_t n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
}

/* Otsu's threshold: the cut of the sorted values that maximises the between-class variance
 * w0 w1 (m0 - m1)^2, placed half-way between the two values it separates. */

split1d otsu_split(const double *v, int64_t n)
{
    split1d s = {0, 0, 0, 0};
    if (n < 2) return s;
    double *u = xmalloc(sizeof *u * (size_t)n);
    memcpy(u, v, sizeof *u * (size_t)n);
    sort_doubles(u, n);
    double total = 0, total2 = 0;
    for (int64_t i = 0; i < n; i++) total += u[i], total2 += u[i] * u[i];
    double mean = total / (double)n, best = -1, below = 0;
    s.sd = sqrt(fmax(total2 / (double)n - mean * mean, 0));
    for (int64_t i = 1; i < n; i++) {
        below += u[i - 1];
        if (u[i] == u[i - 1]) continue;               /* a cut must fall between two values */
        double w0 = (double)i / (double)n, m0 = below / (double)i, m1 = (total - below) / (double)(n - i);
        double between = w0 * (1 - w0) * (m0 - m1) * (m0 - m1);
        if (between > best) {
            best = between;
            s.threshold = 0.5 * (u[i - 1] + u[i]);
            s.gap = u[i] - u[i - 1];
            s.below = i;
        }
    }
    free(u);
    return s;
}
