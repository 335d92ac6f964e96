/* svm.c - see svm.h. LIBLINEAR does the solving; this file prepares its input once, runs
 * the cross-validation fits on every core, and turns its models into our model file. */
#include "svm.h"
#include "err.h"
#include "split.h"
#include "rng.h"
#include "threads.h"

#include <cblas.h>
#include <errno.h>
#include <linear.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* LAPACK's pivoted Cholesky factorisation of a positive semi-definite matrix, from
 * OpenBLAS. The trailing argument is the hidden length gfortran passes for CHARACTER UPLO. */
extern void dpstrf_(const char *uplo, const int *n, double *a, const int *lda, int *piv,
                    int *rank, const double *tol, double *work, int *info, size_t uplo_len);

/* ------------------------------------------------------------------ standardisation */

void svm_fit_scaler(svm_model *m, const float *x, int64_t n, int64_t d)
{
    m->d = d;
    m->mean = xcalloc((size_t)d, sizeof(double));
    m->scale = xcalloc((size_t)d, sizeof(double));
    /* Two passes (mean, then squared deviations) - the one-pass sum of squares loses every
     * digit on pixels near 255 with a small spread. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) m->mean[j] += x[i * d + j];
    for (int64_t j = 0; j < d; j++) m->mean[j] /= (double)(n ? n : 1);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double e = x[i * d + j] - m->mean[j];
            m->scale[j] += e * e;
        }
    for (int64_t j = 0; j < d; j++) {
        double sd = sqrt(m->scale[j] / (double)(n ? n : 1));
        m->scale[j] = sd > 1e-12 * (fabs(m->mean[j]) + 1) ? 1.0 / sd : 1.0;
    }
}

void svm_scale_row(const svm_model *m, const float *x, float *z)
{
    for (int64_t j = 0; j < m->d; j++) z[j] = (float)((x[j] - m->mean[j]) * m->scale[j]);
}

/* ------------------------------------------------------------------ LIBLINEAR set-up */

/* LIBLINEAR reports through a global print function; keep stdout clean for our data. */
static void print_stderr(const char *s) { fputs(s, stderr); }
static void print_none(const char *s) { (void)s; }

/* The LIBLINEAR solver for a problem of n rows and dim features (after any projection).
 * Crammer-Singer is its own (dual) solver. Otherwise the dual coordinate descent, unless
 * rows outnumber features tenfold: there the primal trust-region Newton method wins (60
 * features x 1374 rows: 20x less time, same accuracy), while with as many features as rows
 * the dual is faster, and on the span projection it is the only one whose iterates do not
 * depend on the basis (the primal's diagonal preconditioner does, and at large C it stopped
 * early, 0.69 cross-validated accuracy instead of 0.81). See docs/train-svm.md. */
static int solver_type(const svm_params *p, int nclass, int64_t n, int64_t dim, int projected)
{
    if (p->multi == SVM_MULTI_CS && nclass > 2) return MCSVM_CS;
    if (p->loss == SVM_LOSS_HINGE) return L2R_L1LOSS_SVC_DUAL;
    if (p->solver == SVM_SOLVER_PRIMAL) return L2R_L2LOSS_SVC;
    if (p->solver == SVM_SOLVER_DUAL) return L2R_L2LOSS_SVC_DUAL;
    return !projected && n >= 10 * dim ? L2R_L2LOSS_SVC : L2R_L2LOSS_SVC_DUAL;
}

static const char *solver_name(int type)
{
    switch (type) {
    case MCSVM_CS: return "MCSVM_CS";
    case L2R_L2LOSS_SVC: return "L2R_L2LOSS_SVC";
    case L2R_L1LOSS_SVC_DUAL: return "L2R_L1LOSS_SVC_DUAL";
    default: return "L2R_L2LOSS_SVC_DUAL";
    }
}

/* LIBLINEAR's own defaults (train.c): 0.01 for the primal Newton method, 0.1 for the dual
 * coordinate descent and Crammer-Singer. */
static double solver_eps(const svm_params *p, int type)
{
    if (p->eps > 0) return p->eps;
    return type == L2R_L2LOSS_SVC ? 0.01 : 0.1;
}

/* What one LIBLINEAR fit sees: its training rows and the held-out rows it is scored on, as
 * feature_node rows of `dim` features plus the bias feature. */
typedef struct {
    int64_t m, h, dim;
    double bias;                /* value of the constant feature (see bias_value) */
    struct feature_node **train, **test;
    int *ytrain, *ytest;
    struct feature_node *mem;   /* node storage, when the view owns it */
    double *l11;                /* span projection of every row: L's leading r x r block */
    int64_t *pivot;             /* ... and the training row of each pivot */
} view;

struct svm_problem {
    int64_t n, d;               /* rows, original features */
    int nclass;
    int solver;                 /* LIBLINEAR solver type */
    const int *y;
    const float *z;             /* standardised rows, n x d (borrowed) */
    double *K;                  /* Gram matrix Z Z^T (n x n) when projecting, else NULL */
    double bias;                /* value of the constant feature (bias_value) */
    view all;                   /* every row: the final fit; when projecting, factorised
                                 * only when first needed (all_ready), alongside the folds */
    int all_ready;
};

static void view_alloc(view *v, int64_t m, int64_t h)
{
    v->m = m;
    v->h = h;
    v->train = xmalloc(sizeof(*v->train) * (size_t)(m + 1));
    v->test = xmalloc(sizeof(*v->test) * (size_t)(h + 1));
    v->ytrain = xmalloc(sizeof(int) * (size_t)(m + 1));
    v->ytest = xmalloc(sizeof(int) * (size_t)(h + 1));
}

static void view_free(view *v)
{
    free(v->train);
    free(v->test);
    free(v->ytrain);
    free(v->ytest);
    free(v->mem);
    free(v->l11);
    free(v->pivot);
    memset(v, 0, sizeof *v);
}

/* One row as LIBLINEAR nodes: the non-zeros among x[j * stride], j < count (1-based
 * indices), the constant feature (index dim + 1), the terminator. Returns the next free
 * node. */
static struct feature_node *put_row(struct feature_node *f, const double *x, int64_t stride,
                                    int64_t count, int64_t dim, double bias)
{
    for (int64_t j = 0; j < count; j++)
        if (x[j * stride] != 0) *f++ = (struct feature_node){(int)j + 1, x[j * stride]};
    *f++ = (struct feature_node){(int)dim + 1, bias};
    *f++ = (struct feature_node){-1, 0};
    return f;
}

/* Every row of Z as it is (no projection). */
static void view_dense(view *v, const float *z, const int *y, int64_t n, int64_t d, double bias)
{
    view_alloc(v, n, 0);
    v->dim = d;
    v->bias = bias;
    v->mem = xmalloc_huge(sizeof(struct feature_node) * (size_t)(n * (d + 2)));
    double *row = xmalloc(sizeof(double) * (size_t)d);
    struct feature_node *f = v->mem;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < d; j++) row[j] = z[i * d + j];
        v->train[i] = f;
        v->ytrain[i] = y[i];
        f = put_row(f, row, 1, d, d, bias);
    }
    free(row);
}

/* The rows T (training) and H (held out) of a view that owns none (the unprojected CV). */
static void view_subset(view *v, const view *all, const int64_t *T, int64_t m, const int64_t *H,
                        int64_t h)
{
    view_alloc(v, m, h);
    v->dim = all->dim;
    v->bias = all->bias;
    for (int64_t i = 0; i < m; i++) v->train[i] = all->train[T[i]], v->ytrain[i] = all->ytrain[T[i]];
    for (int64_t i = 0; i < h; i++) v->test[i] = all->train[H[i]], v->ytest[i] = all->ytrain[H[i]];
}

/* The span projection. The dual of the SVM sees the training rows only through their inner
 * products K_TT = Z_T Z_T^T (m x m), so any rows P with P P^T = K_TT pose the same problem:
 * the same dual solution alpha, the same margins on every row, weights v = P^T (alpha o y)
 * in place of w = Z_T^T (alpha o y). We take P from the pivoted Cholesky factorisation
 * K_TT = Pi L L^T Pi^T (LAPACK dpstrf, r = numerical rank): training row Pi(k) gets row k
 * of L, which has only min(k + 1, r) non-zeros, so LIBLINEAR (which skips zeros) does about
 * half the work per pass it would do on an orthonormal basis of r features.
 * A held-out row x needs coordinates p with p . P_t = x . z_t for every training row t:
 * the triangular system L11 p = (K_{Pi(k), x})_{k<r} (its first r equations; the others
 * follow, up to the rank cut). Then v . p = w . x: the held-out decision values are exact.
 * To map a model back (keep): any a with P^T a = v gives w = Z_T^T a (two such a differ by
 * a vector of null(P^T) = null(Z_T^T)); svm_fit() solves L11^T b = v and puts b_k on row
 * Pi(k). Every cost is in m, not in the number of features d. */
static void view_project(view *v, const double *K, int64_t n, const int *y, const int64_t *T,
                         int64_t m, const int64_t *H, int64_t h, double bias, int keep)
{
    view_alloc(v, m, h);
    v->bias = bias;
    double *A = xmalloc_huge(sizeof(double) * (size_t)(m * m)), dmax = 0;
    for (int64_t a = 0; a < m; a++) {
        for (int64_t b = 0; b < m; b++) A[b * m + a] = K[T[a] * n + T[b]];
        if (A[a * m + a] > dmax) dmax = A[a * m + a];
    }
    /* Pivots below 1e-10 of the largest squared row norm are round-off: rows that are
     * combinations of earlier ones (centring alone removes one dimension). */
    int mm = (int)m, rank = 0, info = 0, *piv = xmalloc(sizeof(int) * (size_t)m);
    double tol = 1e-10 * dmax, *work = xmalloc(sizeof(double) * (size_t)(2 * m));
    dpstrf_("L", &mm, A, &mm, piv, &rank, &tol, work, &info, 1);
    free(work);
    if (info < 0) die("pivoted Cholesky of the %lld x %lld Gram matrix failed (LAPACK info %d)",
                      (long long)m, (long long)m, info);
    int64_t r = rank > 0 ? rank : 1;
    v->dim = r;
    /* Column-major L: L(k, j) = A[j * m + k]. Training nodes, then held-out nodes. */
    size_t need = (size_t)(h * (r + 2));
    for (int64_t k = 0; k < m; k++) need += (size_t)((k < r ? k + 1 : r) + 2);
    struct feature_node *f = v->mem = xmalloc_huge(sizeof(struct feature_node) * need);
    for (int64_t k = 0; k < m; k++) {
        int64_t i = piv[k] - 1;
        v->train[i] = f;
        v->ytrain[i] = y[T[i]];
        f = put_row(f, A + k, m, k < r ? k + 1 : r, r, bias);
    }
    if (h > 0) {
        double *B = xmalloc_huge(sizeof(double) * (size_t)(r * h));   /* column j = row H[j] */
        for (int64_t j = 0; j < h; j++)
            for (int64_t k = 0; k < r; k++) B[j * r + k] = K[T[piv[k] - 1] * n + H[j]];
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)r,
                    (int)h, 1.0, A, (int)m, B, (int)r);
        for (int64_t j = 0; j < h; j++) {
            v->test[j] = f;
            v->ytest[j] = y[H[j]];
            f = put_row(f, B + j * r, 1, r, r, bias);
        }
        free(B);
    }
    if (keep) {
        v->l11 = xmalloc(sizeof(double) * (size_t)(r * r));
        v->pivot = xmalloc(sizeof(int64_t) * (size_t)r);
        for (int64_t j = 0; j < r; j++) {
            v->pivot[j] = T[piv[j] - 1];
            for (int64_t k = 0; k < r; k++) v->l11[j * r + k] = k >= j ? A[j * m + k] : 0;
        }
    }
    free(piv);
    free(A);
}

typedef struct {
    const float *z;         /* n x d */
    double *buf;            /* n x w: columns [j0, j0 + w) of z in double */
    double *K;              /* n x n */
    int64_t n, d, j0, w, block;
} gram_ctx;

static void gram_convert(void *vctx, int64_t b, int thread)
{
    (void)thread;
    gram_ctx *c = vctx;
    int64_t i1 = (b + 1) * c->block < c->n ? (b + 1) * c->block : c->n;
    for (int64_t i = b * c->block; i < i1; i++)
        for (int64_t j = 0; j < c->w; j++) c->buf[i * c->w + j] = c->z[i * c->d + c->j0 + j];
}

/* Rows [i0, i1) of the lower triangle of K += B B^T (and a corner of the upper one). */
static void gram_block(void *vctx, int64_t b, int thread)
{
    (void)thread;
    gram_ctx *c = vctx;
    int64_t i0 = b * c->block, i1 = i0 + c->block < c->n ? i0 + c->block : c->n;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(i1 - i0), (int)i1, (int)c->w, 1.0,
                c->buf + i0 * c->w, (int)c->w, c->buf, (int)c->w, c->j0 ? 1.0 : 0.0,
                c->K + i0 * c->n, (int)c->n);
}

/* K = Z Z^T in double, mirrored to be exactly symmetric. Z is taken 512 columns at a time,
 * converted to double in one reused buffer (a full double copy would cost more in page
 * faults than the products), and each block of 64 rows adds its products with one BLAS
 * call. OpenBLAS runs single-threaded from here on, on our threads: its own threads would
 * split the sums differently from run to run and change the model in its last digits;
 * fixed blocks in a fixed order give the same bits on any number of threads. */
static double *gram(const float *z, int64_t n, int64_t d, int threads)
{
    gram_ctx c = {z, NULL, xmalloc_huge(sizeof(double) * (size_t)(n * n)), n, d, 0, 0, 64};
    int64_t bw = 512, nb = (n + c.block - 1) / c.block;
    c.buf = xmalloc_huge(sizeof(double) * (size_t)(n * (d < bw ? d : bw)));
    openblas_set_num_threads(1);
    for (c.j0 = 0; c.j0 < d; c.j0 += bw) {
        c.w = d - c.j0 < bw ? d - c.j0 : bw;
        parallel_for(nb, threads, gram_convert, &c);
        parallel_for(nb, threads, gram_block, &c);
    }
    free(c.buf);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++) c.K[j * n + i] = c.K[i * n + j];
    return c.K;
}

/* The value B of the constant feature that carries the bias b = B w_B. LIBLINEAR (2.3)
 * regularises w_B like any weight, so the bias costs b^2 / (2 B^2): with B = 1 and
 * thousands of standardised features that penalty pins b near 0 and costs accuracy (smiling,
 * 64x64 pixels: 0.82 cross-validated instead of 0.91 for an SVM with a free bias, as
 * scikit-learn's SVC). A large B frees the bias but slows the dual solver: the constant
 * feature adds B^2 to every entry of the dual's matrix (the inner products), a rank-one
 * coupling of all the coordinates, and with B^2 = mean |z|^2 it doubles every diagonal
 * entry. B^2 = a tenth of the mean squared row norm (B = 0.32 RMS, sqrt(d / 10) for
 * standardised rows) keeps the bias practically free - the same cross-validated accuracy
 * to a row or two on the five tasks (32x32 pixels) - at 35-45% less CPU than B = RMS. */
static double bias_value(const float *z, int64_t n, int64_t d)
{
    double s = 0;
    for (int64_t i = 0; i < n * d; i++) s += (double)z[i] * z[i];
    double b = sqrt(0.1 * s / (double)(n ? n : 1));
    return b > 0 ? b : 1;
}

svm_problem *svm_problem_new(const float *z, const int *y, int64_t n, int64_t d, int nclass,
                             const svm_params *p)
{
    svm_problem *pb = xcalloc(1, sizeof *pb);
    *pb = (svm_problem){.n = n, .d = d, .nclass = nclass, .y = y, .z = z};
    if (n > INT32_MAX / 2 || d > INT32_MAX / 2 || n * d > INT64_MAX / 64)
        die("problem too large for LIBLINEAR (%lld x %lld)", (long long)n, (long long)d);
    set_print_string_function(p->verbose ? print_stderr : print_none);
    pb->bias = bias_value(z, n, d);
    if (p->project == SVM_PROJECT_ON || (p->project == SVM_PROJECT_AUTO && d > n)) {
        pb->K = gram(z, n, d, p->threads);
    } else {
        view_dense(&pb->all, z, y, n, d, pb->bias);
        pb->all_ready = 1;
    }
    /* (the projected problem always gets the dual solver: its dimension does not matter) */
    pb->solver = solver_type(p, nclass, n, pb->K ? n : d, pb->K != NULL);
    return pb;
}

/* The projection of every row (for the final fit): one pivoted Cholesky of all of K. */
static void build_all(svm_problem *pb)
{
    if (pb->all_ready) return;
    int64_t *all = xmalloc(sizeof(int64_t) * (size_t)pb->n);
    for (int64_t i = 0; i < pb->n; i++) all[i] = i;
    view_project(&pb->all, pb->K, pb->n, pb->y, all, pb->n, NULL, 0, pb->bias, 1);
    free(all);
    pb->all_ready = 1;
}

int64_t svm_problem_dim(svm_problem *pb)
{
    build_all(pb);
    return pb->all.dim;
}
int svm_problem_projected(const svm_problem *pb) { return pb->K != NULL; }
const char *svm_problem_solver(const svm_problem *pb) { return solver_name(pb->solver); }

void svm_problem_free(svm_problem *pb)
{
    if (!pb) return;
    view_free(&pb->all);
    free(pb->K);
    free(pb);
}

/* ------------------------------------------------------------------ one fit */

/* Per-thread random numbers for LIBLINEAR. Its dual coordinate-descent and Crammer-Singer
 * solvers shuffle the coordinates with the C library's rand(), one global sequence: two
 * folds trained at once would interleave their draws, and the models would depend on
 * thread timing. We define rand()/srand() here (the executable's definition takes
 * precedence over the C library's for LIBLINEAR's calls) on a thread-local xoshiro state
 * that each fit seeds itself, so every fit sees the same sequence on any number of
 * threads. RAND_MAX is 2^31 - 1. */
static _Thread_local uint64_t rand_state[4] = {1, 2, 3, 4};

void srand(unsigned int seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        rand_state[i] = z ^ (z >> 31);
    }
}

int rand(void)
{
    uint64_t *s = rand_state, t = s[1] << 17;
    uint64_t r = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3] << 45 | s[3] >> 19;
    return (int)(r >> 33);
}

/* ---- decision functions ----
 * Every fit ends as nw linear functions f_c (svm_functions()): for two classes the score
 * of class 1; for one-vs-rest and Crammer-Singer one score per class; for one-vs-one one
 * function per pair of classes (a, b), a < b, in the order (0,1), (0,2), ..., positive for
 * a. In a view they have dim + 1 weights, the last one for the constant feature. */

int svm_functions(svm_multi multi, int nclass)
{
    if (nclass == 2) return 1;
    return multi == SVM_MULTI_OVO ? nclass * (nclass - 1) / 2 : nclass;
}

int svm_decide(svm_multi multi, int nclass, const double *f, double *score)
{
    int best = 0;
    if (nclass == 2) {
        best = f[0] > 0;
        if (score) *score = f[0];
    } else if (multi == SVM_MULTI_OVO) {
        /* One vote per pair; the most votes win, ties to the smaller class (as LIBSVM). */
        int votes[TASK_MAX_CLASSES] = {0}, k = 0;
        for (int a = 0; a < nclass; a++)
            for (int b = a + 1; b < nclass; b++, k++) votes[f[k] > 0 ? a : b]++;
        for (int c = 1; c < nclass; c++)
            if (votes[c] > votes[best]) best = c;
        if (score) *score = votes[best];
    } else {
        for (int c = 1; c < nclass; c++)
            if (f[c] > f[best]) best = c;
        if (score) *score = f[best];
    }
    return best;
}

/* One LIBLINEAR training on the rows x[0..m-1] with classes y (as doubles), the classes
 * present being labels[0..np-1] with their weights. */
static struct model *ll_train(struct feature_node **x, double *y, int64_t m, int64_t dim,
                              const svm_params *p, int type, double C, int *labels,
                              double *weights, int np, unsigned seed)
{
    /* bias >= 0 only tells LIBLINEAR that the last feature is the constant one; its
     * value B is in the rows. */
    struct problem prob = {.l = (int)m, .n = (int)dim + 1, .y = y, .x = x, .bias = 1};
    struct parameter par = {.solver_type = type, .eps = solver_eps(p, type), .C = C,
                            .nr_weight = np, .weight_label = labels, .weight = weights,
                            .p = 0.1};
    const char *err = check_parameter(&prob, &par);
    if (err) die("LIBLINEAR: %s", err);
    srand(seed);
    return train(&prob, &par);
}

/* LIBLINEAR's weights as our functions (dim + 1 values each). Its binary models have one
 * function, positive for label[0]; its multi-class ones one per label. With nw = 1 we keep
 * class 1's score; otherwise class c's score goes to function c. */
static void take_functions(const struct model *md, int64_t dim, int nw, double *v)
{
    int64_t dim1 = dim + 1;
    int two = md->nr_class == 2 && md->param.solver_type != MCSVM_CS;
    int nr_w = two ? 1 : md->nr_class;
    for (int k = 0; k < md->nr_class; k++) {
        int cls = md->label[k];
        if (nw == 1 && cls != 1) continue;
        double sign = two && k == 1 ? -1 : 1, *out = v + (nw == 1 ? 0 : cls) * dim1;
        for (int64_t j = 0; j < dim1; j++) out[j] = sign * md->w[j * nr_w + (two ? 0 : k)];
    }
}

typedef struct {
    const view *v;
    const svm_params *p;
    int type, nclass;
    double C;
    unsigned seed;
    const double *weight;   /* per class (1 when not balanced) */
    const int64_t *count;   /* training rows per class */
    double *out;            /* nw x (dim + 1) */
} fit_ctx;

/* One-vs-one, pair number k = (a, b): class a (+) against class b (-) on their rows. */
static void fit_pair(void *vctx, int64_t k, int thread)
{
    (void)thread;
    fit_ctx *c = vctx;
    int a = 0, b = 1;
    for (int64_t i = 0; i < k; i++)
        if (++b == c->nclass) b = ++a + 1;
    double *out = c->out + k * (c->v->dim + 1);
    if (!c->count[a] || !c->count[b]) {
        /* A class the rows lack can never win its pairs. */
        out[c->v->dim] = c->count[a] ? INFINITY : c->count[b] ? -INFINITY : 0;
        return;
    }
    const view *v = c->v;
    int64_t m = c->count[a] + c->count[b], n = 0;
    struct feature_node **x = xmalloc(sizeof(*x) * (size_t)m);
    double *y = xmalloc(sizeof(double) * (size_t)m);
    for (int64_t i = 0; i < v->m; i++)
        if (v->ytrain[i] == a || v->ytrain[i] == b) x[n] = v->train[i], y[n++] = v->ytrain[i];
    int labels[2] = {a, b};
    double weights[2] = {c->weight[a], c->weight[b]};
    struct model *md = ll_train(x, y, m, v->dim, c->p, c->type, c->C, labels, weights, 2,
                                c->seed + 7919u * (unsigned)k);
    /* LIBLINEAR's function is positive for label[0], the class it met first. */
    double sign = md->label[0] == a ? 1 : -1;
    for (int64_t j = 0; j <= v->dim; j++) out[j] = sign * md->w[j];
    free_and_destroy_model(&md);
    free(x);
    free(y);
}

/* Trains on a view's training rows: nw functions in the view's space (svm_functions()).
 * threads > 1 runs one-vs-one pairs in parallel (the final fit; cross-validation already
 * runs its fits in parallel). */
static double *fit_view(const view *v, const svm_params *p, int nclass, int type, double C,
                        unsigned seed, int threads)
{
    int nw = svm_functions(p->multi, nclass);
    int64_t dim1 = v->dim + 1, count[TASK_MAX_CLASSES] = {0};
    double *out = xcalloc((size_t)(nw * dim1), sizeof(double));
    for (int64_t i = 0; i < v->m; i++) count[v->ytrain[i]]++;
    int present = 0, labels[TASK_MAX_CLASSES], only = 0;
    for (int c = 0; c < nclass; c++)
        if (count[c]) labels[present++] = c, only = c;
    /* Balanced: C_c = C n / (k n_c), k = classes present (scikit-learn's 'balanced'), so
     * every class carries the same total weight n / k. One-vs-one uses the same weights in
     * every pair, as LIBSVM under scikit-learn does. */
    double weight[TASK_MAX_CLASSES], wl[TASK_MAX_CLASSES];
    for (int c = 0; c < nclass; c++)
        weight[c] = p->balanced && count[c] ? (double)v->m / ((double)present * (double)count[c]) : 1.0;
    for (int k = 0; k < present; k++) wl[k] = weight[labels[k]];
    if (nw > 1 && p->multi == SVM_MULTI_OVO) {
        fit_ctx ctx = {v, p, type, nclass, C, seed, weight, count, out};
        parallel_for(nw, threads, fit_pair, &ctx);
    } else if (present < 2) {
        /* One class only: it always wins. */
        for (int c = 0; c < nw; c++)
            out[c * dim1 + v->dim] = nw == 1 ? (only ? 1 : -1) : (c == only ? 0 : -INFINITY);
    } else {
        double *y = xmalloc(sizeof(double) * (size_t)v->m);
        for (int64_t i = 0; i < v->m; i++) y[i] = v->ytrain[i];
        struct model *md = ll_train(v->train, y, v->m, v->dim, p, type, C, labels, wl, present,
                                    seed);
        take_functions(md, v->dim, nw, out);
        /* One-vs-rest / Crammer-Singer: a class the rows lack can never win. */
        for (int c = 0; nw > 1 && c < nclass; c++)
            if (!count[c]) out[c * dim1 + v->dim] = -INFINITY;
        free_and_destroy_model(&md);
        free(y);
    }
    return out;
}

/* f_c = sum over the row's nodes of v_c[index - 1] * value (the constant feature included). */
static void eval_row(const double *v, int nw, int64_t dim, const struct feature_node *row,
                     double *f)
{
    for (int c = 0; c < nw; c++) {
        const double *vc = v + c * (dim + 1);
        double s = 0;
        for (const struct feature_node *x = row; x->index != -1; x++) s += vc[x->index - 1] * x->value;
        f[c] = s;
    }
}

/* ------------------------------------------------------------------ cross-validation */

void svm_c_candidates(double c_min, double c_max, int n, uint64_t seed, double *c)
{
    rng r;
    rng_seed_stream(&r, seed, 0x43);    /* 'C': independent of the folds' streams */
    double a = log(c_min), b = log(c_max);
    for (int i = 0; i < n; i++) c[i] = exp(a + (b - a) * rng_uniform(&r));
}

typedef struct {
    svm_problem *pb;
    const svm_params *p;
    const double *C;
    int folds, items;
    view *views;            /* one per fold: train on the other folds, test on this one */
    const int *fold;
    int64_t *correct;       /* per item (candidate x fold) */
    double *seconds;        /* per item */
} cv_ctx;

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fold f's view: its training rows (the other folds) and held-out rows (fold f). Item
 * f = folds, when there is one, factorises all the rows for the final fit: on two cores
 * that serial factorisation runs beside the folds' instead of before them. */
static void cv_view(void *vctx, int64_t f, int thread)
{
    (void)thread;
    cv_ctx *c = vctx;
    svm_problem *pb = c->pb;
    if (f == c->folds) {
        build_all(pb);
        return;
    }
    int64_t *T = xmalloc(sizeof(int64_t) * (size_t)pb->n), *H = xmalloc(sizeof(int64_t) * (size_t)pb->n);
    int64_t m = 0, h = 0;
    for (int64_t i = 0; i < pb->n; i++) {
        if (c->fold[i] == f) H[h++] = i;
        else T[m++] = i;
    }
    if (pb->K) view_project(&c->views[f], pb->K, pb->n, pb->y, T, m, H, h, pb->bias, 0);
    else view_subset(&c->views[f], &pb->all, T, m, H, h);
    free(T);
    free(H);
}

/* Item = candidate i * folds + fold f: train on the other folds, count hits on fold f.
 * Items are handed out from the last: the candidates are sorted by C and the large ones
 * take longest, so starting with them leaves the short ones to even out the threads'
 * ends. (Each item's seed and slot depend on its number only, not on the order.) */
static void cv_item(void *vctx, int64_t order, int thread)
{
    (void)thread;
    cv_ctx *c = vctx;
    int64_t item = c->items - 1 - order;
    const view *v = &c->views[item % c->folds];
    int nclass = c->pb->nclass, nw = svm_functions(c->p->multi, nclass);
    double t0 = cpu_seconds(), f[SVM_MAX_FUNCTIONS];
    double *fn = fit_view(v, c->p, nclass, c->pb->solver, c->C[item / c->folds],
                          (unsigned)(c->p->seed * 1000003u + (uint64_t)item * 101u), 1);
    int64_t ok = 0;
    for (int64_t i = 0; i < v->h; i++) {
        eval_row(fn, nw, v->dim, v->test[i], f);
        ok += svm_decide(c->p->multi, nclass, f, NULL) == v->ytest[i];
    }
    free(fn);
    c->correct[item] = ok;
    c->seconds[item] = cpu_seconds() - t0;
}

void svm_cv(svm_problem *pb, const svm_params *p, const double *C, int n, const int *fold,
            int folds, double *acc, double *seconds)
{
    int64_t items = (int64_t)n * folds;
    cv_ctx ctx = {pb, p, C, folds, (int)items, xcalloc((size_t)folds, sizeof(view)), fold,
                  xcalloc((size_t)items, sizeof(int64_t)), xcalloc((size_t)items, sizeof(double))};
    parallel_for(folds + !pb->all_ready, p->threads, cv_view, &ctx);
    parallel_for(items, p->threads, cv_item, &ctx);
    for (int i = 0; i < n; i++) {
        int64_t ok = 0;
        double t = 0;
        for (int f = 0; f < folds; f++) {
            ok += ctx.correct[i * folds + f];
            t += ctx.seconds[i * folds + f];
        }
        acc[i] = (double)ok / (double)pb->n;
        if (seconds) seconds[i] = t;
    }
    for (int f = 0; f < folds; f++) view_free(&ctx.views[f]);
    free(ctx.views);
    free(ctx.correct);
    free(ctx.seconds);
}

/* ------------------------------------------------------------------ the final model */

void svm_fit(svm_problem *pb, const svm_params *p, double C, svm_model *m)
{
    build_all(pb);
    const view *all = &pb->all;
    int nclass = pb->nclass, nw = svm_functions(p->multi, nclass);
    int64_t d = pb->d, dim1 = all->dim + 1;
    double *v = fit_view(all, p, nclass, pb->solver, C, (unsigned)(p->seed * 1000003u + 999983u),
                         p->threads);
    m->nclass = nclass;
    m->nw = nw;
    m->C = C;
    m->multi = nclass > 2 ? p->multi : SVM_MULTI_OVR;
    m->balanced = p->balanced;
    snprintf(m->solver, sizeof m->solver, "%s", solver_name(pb->solver));
    m->w = xcalloc((size_t)(nw * (d + 1)), sizeof(double));
    for (int c = 0; c < nw; c++) {
        double *wc = m->w + c * (d + 1), *vc = v + c * dim1;
        if (all->l11 && isfinite(vc[all->dim])) {
            /* Undo the projection (see view_project): L11^T b = v, w = sum_k b_k z_Pi(k). */
            int r = (int)all->dim;
            double *b = xmalloc(sizeof(double) * (size_t)r);
            memcpy(b, vc, sizeof(double) * (size_t)r);
            cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, r, all->l11, r, b, 1);
            for (int64_t k = 0; k < r; k++) {
                const float *zk = pb->z + all->pivot[k] * d;
                for (int64_t j = 0; j < d; j++) wc[j] += zk[j] * b[k];
            }
            free(b);
        } else if (!all->l11) {
            for (int64_t j = 0; j < d; j++) wc[j] = vc[j];
        }
        wc[d] = vc[all->dim] * all->bias;
    }
    free(v);
}

/* ------------------------------------------------------------------ prediction */

int svm_predict(const svm_model *m, const float *x, double *score)
{
    double f[SVM_MAX_FUNCTIONS];
    int64_t d = m->d;
    for (int c = 0; c < m->nw; c++) f[c] = m->w[c * (d + 1) + d];
    for (int64_t j = 0; j < d; j++) {
        /* the same float rounding as svm_scale_row() gave the training rows */
        float z = (float)((x[j] - m->mean[j]) * m->scale[j]);
        for (int c = 0; c < m->nw; c++) f[c] += m->w[c * (d + 1) + j] * z;
    }
    return svm_decide(m->multi, m->nclass, f, score);
}

/* ------------------------------------------------------------------ model file */

const char *const svm_multi_names[3] = {"ovr", "cs", "ovo"};

#define MODEL_MAGIC "facepipe-svm 1"

void svm_save(const svm_model *m, const char *path)
{
    outfile o = out_open(path);
    FILE *f = o.fp;
    fprintf(f, "%s\n", MODEL_MAGIC);
    fprintf(f, "task %s\n", m->task[0] ? m->task : "-");
    fprintf(f, "classes %d\nfunctions %d\nfeatures %lld\nshape", m->nclass, m->nw, (long long)m->d);
    for (int i = 0; i < m->ndim; i++) fprintf(f, " %lld", (long long)m->shape[i]);
    fprintf(f, "\nsolver %s\nmulti %s\nbalanced %d\nC %.17g\n", m->solver,
            svm_multi_names[m->multi], m->balanced, m->C);
    /* One line per feature: mean, scale, then its weight in each decision function. */
    fprintf(f, "weights\n");
    for (int64_t j = 0; j < m->d; j++) {
        fprintf(f, "%.17g %.17g", m->mean[j], m->scale[j]);
        for (int c = 0; c < m->nw; c++) fprintf(f, " %.17g", m->w[c * (m->d + 1) + j]);
        fputc('\n', f);
    }
    fprintf(f, "bias");
    for (int c = 0; c < m->nw; c++) fprintf(f, " %.17g", m->w[c * (m->d + 1) + m->d]);
    fprintf(f, "\nend\n");
    out_commit(&o);
}

typedef struct {
    FILE *f;
    const char *path;
    long line;
    char *buf;
    size_t cap;
} model_reader;

/* The next line, without its newline; dies at end of file. */
static char *model_line(model_reader *r)
{
    ssize_t n = getline(&r->buf, &r->cap, r->f);
    r->line++;
    if (n < 0) die("%s:%ld: model file ends early", r->path, r->line);
    while (n > 0 && (r->buf[n - 1] == '\n' || r->buf[n - 1] == '\r')) r->buf[--n] = 0;
    return r->buf;
}

/* "KEY VALUE" -> VALUE, or dies naming the expected key. */
static char *model_field(model_reader *r, const char *key)
{
    char *s = model_line(r);
    size_t k = strlen(key);
    if (strncmp(s, key, k) != 0 || (s[k] != ' ' && s[k] != 0))
        die("%s:%ld: expected '%s ...', found '%.40s'", r->path, r->line, key, s);
    return s[k] ? s + k + 1 : s + k;
}

static long long model_int(model_reader *r, const char *key, long long lo, long long hi)
{
    char *s = model_field(r, key), *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        die("%s:%ld: %s: expected an integer in %lld..%lld, found '%s'", r->path, r->line, key, lo,
            hi, s);
    return v;
}

/* n numbers from s, space separated. */
static void model_numbers(model_reader *r, char *s, double *out, int n)
{
    for (int i = 0; i < n; i++) {
        char *end;
        out[i] = strtod(s, &end);
        if (end == s) die("%s:%ld: expected %d numbers", r->path, r->line, n);
        s = end;
    }
    while (*s == ' ') s++;
    if (*s) die("%s:%ld: expected %d numbers, found more", r->path, r->line, n);
}

svm_model svm_load(const char *path)
{
    model_reader r = {fopen(path, "r"), path, 0, NULL, 0};
    if (!r.f) die("cannot open model %s: %s", path, strerror(errno));
    svm_model m = {0};
    if (strcmp(model_line(&r), MODEL_MAGIC) != 0)
        die("%s: not a facepipe SVM model (first line should be '%s')", path, MODEL_MAGIC);
    char *t = model_field(&r, "task");
    snprintf(m.task, sizeof m.task, "%s", strcmp(t, "-") ? t : "");
    m.nclass = (int)model_int(&r, "classes", 2, TASK_MAX_CLASSES);
    m.nw = (int)model_int(&r, "functions", 1, SVM_MAX_FUNCTIONS);
    m.d = model_int(&r, "features", 1, INT32_MAX / 2);
    char *s = model_field(&r, "shape");
    for (char *tok = strtok(s, " "); tok && m.ndim < 3; tok = strtok(NULL, " "))
        m.shape[m.ndim++] = atoll(tok);
    snprintf(m.solver, sizeof m.solver, "%s", model_field(&r, "solver"));
    char *mu = model_field(&r, "multi");
    int known = 0;
    for (int k = 0; k < 3; k++)
        if (strcmp(mu, svm_multi_names[k]) == 0) m.multi = (svm_multi)k, known = 1;
    if (!known) die("%s:%ld: multi: expected ovr, cs or ovo, found '%s'", path, r.line, mu);
    if (m.nw != svm_functions(m.multi, m.nclass))
        die("%s:%ld: %d functions do not fit %d classes (%s)", path, r.line, m.nw, m.nclass, mu);
    m.balanced = (int)model_int(&r, "balanced", 0, 1);
    double c;
    model_numbers(&r, model_field(&r, "C"), &c, 1);
    m.C = c;
    model_field(&r, "weights");
    m.mean = xmalloc(sizeof(double) * (size_t)m.d);
    m.scale = xmalloc(sizeof(double) * (size_t)m.d);
    m.w = xmalloc(sizeof(double) * (size_t)(m.nw * (m.d + 1)));
    double v[2 + SVM_MAX_FUNCTIONS];
    for (int64_t j = 0; j < m.d; j++) {
        model_numbers(&r, model_line(&r), v, 2 + m.nw);
        m.mean[j] = v[0];
        m.scale[j] = v[1];
        for (int k = 0; k < m.nw; k++) m.w[k * (m.d + 1) + j] = v[2 + k];
    }
    model_numbers(&r, model_field(&r, "bias"), v, m.nw);
    for (int k = 0; k < m.nw; k++) m.w[k * (m.d + 1) + m.d] = v[k];
    if (strcmp(model_line(&r), "end") != 0) die("%s:%ld: expected 'end'", path, r.line);
    free(r.buf);
    fclose(r.f);
    return m;
}

void svm_model_free(svm_model *m)
{
    free(m->mean);
    free(m->scale);
    free(m->w);
    m->mean = m->scale = m->w = NULL;
}
