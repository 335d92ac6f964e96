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
 * Crammer-Singer is its own (dual) solver, and so is the hinge loss. For the squared hinge,
 * auto picks the primal trust-region Newton method, which svm_cv() runs along the path of
 * C with warm starts, on the span projection (dimension = rows - 1; 32x32 pixels: the search
 * in 3-6x less CPU than the dual coordinate descent, whose passes multiply at large C where
 * the projected rows are separable) and when rows outnumber features tenfold (60 features x
 * 1374 rows: 20x less than the dual). Between the two - fewer features than rows, but not
 * tenfold, e.g. 824 hand-crafted features x 1374 rows - the dual is the faster (0.4 against
 * 0.6 CPU seconds). See docs/train-svm.md. */
static int solver_type(const svm_params *p, int nclass, int64_t n, int64_t dim, int projected)
{
    if (p->multi == SVM_MULTI_CS && nclass > 2) return MCSVM_CS;
    if (p->loss == SVM_LOSS_HINGE) return L2R_L1LOSS_SVC_DUAL;
    if (p->solver == SVM_SOLVER_PRIMAL) return L2R_L2LOSS_SVC;
    if (p->solver == SVM_SOLVER_DUAL) return L2R_L2LOSS_SVC_DUAL;
    return projected || n >= 10 * dim ? L2R_L2LOSS_SVC : L2R_L2LOSS_SVC_DUAL;
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

/* The stopping tolerance: LIBLINEAR's default (train.c) 0.1 for the dual coordinate
 * descent and Crammer-Singer; for the primal Newton method 0.001, a tenth of LIBLINEAR's.
 * Its rule is relative - gradient norm below eps x the norm at w = 0, which grows with C -
 * so along a warm-started path of C a loose eps stops at once on the previous solution:
 * with 0.01, every C above 0.02 kept the solution of C = 0.02 (primal objective 5-40x the
 * best known), while with 0.001 each fit's objective is within 0.05% (small C) to 3%
 * (C > 0.5, where no solver converges in 1000 passes) of the best of all solvers tried -
 * as close as the dual's at its tolerance 0.1, or closer. */
static double solver_eps(const svm_params *p, int type)
{
    if (p->eps > 0) return p->eps;
    return type == L2R_L2LOSS_SVC ? 0.001 : 0.1;
}

/* What one LIBLINEAR fit sees: its training rows and the held-out rows it is scored on, as
 * feature_node rows of `dim` features plus the bias feature. */
typedef struct {
    int64_t m, h, dim;
    double bias;                /* value of the constant feature (see bias_value) */
    struct feature_node **train, **test;
    int *ytrain, *ytest;
    struct feature_node *mem;   /* node storage, when the view owns it */
    double *hx;                 /* projected: the held-out rows' coordinates, h x dim (no
                                 * nodes: they are only ever multiplied by weights) */
    int64_t *pivot;             /* projected: the training row (0..m-1) holding row k of
                                 * the Cholesky factor L, k < dim */
    int64_t *orig;              /* projected on rows T: the problem's row number of each
                                 * training row (NULL: the same) */
} view;

struct svm_problem {
    int64_t n, d;               /* rows, original features */
    int nclass;
    int solver;                 /* LIBLINEAR solver type */
    const int *y;
    const float *z;             /* standardised rows, n x d (borrowed) */
    int projected;              /* the span projection is on */
    double *K;                  /* Gram matrix Z Z^T (n x n) when projecting, until the
                                 * factorisation of all rows consumes it (build_all) */
    double bias;                /* value of the constant feature (bias_value) */
    view all;                   /* every row: the final fit; when projecting, factorised
                                 * only when first needed (all_ready), alongside the folds */
    int all_ready;
    /* The primal solver's cross-validation solutions, kept to start the final fit from:
     * per candidate C and fold, each decision function's weights (pairs: on the problem's
     * rows, w = sum_i a_i z_i), then the bias weight (NaN: none). */
    int ncand, folds, nw;
    int64_t len;                /* weights per function: n (pairs: on the rows), else the
                                 * final view's dimension */
    double *cand_C, *cand_sol;  /* ncand; ncand x folds x nw x (len + 1) */
    int pairs;                  /* one-vs-one on the projection: a projection per pair */
    int shared;                 /* other primal fits on the projection: every fold on the
                                 * rows of the all-rows factor (see svm_cv) */
    int64_t pair_dim;           /* ... the largest in the final fit */
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
    free(v->hx);
    free(v->pivot);
    free(v->orig);
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
 * To map a model back: any a with P^T a = v gives w = Z_T^T a (two such a differ by a
 * vector of null(P^T) = null(Z_T^T)); view_unproject() solves L11^T b = v on the training
 * rows' nodes and puts b_k on row Pi(k). Every cost is in m, not in the number of features
 * d. The factor itself is not kept: its rows are the nodes. */
static void view_project(view *v, double *K, int64_t n, const int *y, const int64_t *T,
                         int64_t m, const int64_t *H, int64_t h, double bias)
{
    view_alloc(v, m, h);
    v->bias = bias;
    /* T = every row (T NULL): K itself is factorised, and freed - its last use. */
    double *A = T ? xmalloc_huge(sizeof(double) * (size_t)(m * m)) : K, dmax = 0;
    for (int64_t a = 0; a < m; a++) {
        if (T)
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
    /* Column-major L: L(k, j) = A[j * m + k]. */
    size_t need = 0;
    for (int64_t k = 0; k < m; k++) need += (size_t)((k < r ? k + 1 : r) + 2);
    struct feature_node *f = v->mem = xmalloc_huge(sizeof(struct feature_node) * need);
    v->pivot = xmalloc(sizeof(int64_t) * (size_t)r);
    if (T) {
        v->orig = xmalloc(sizeof(int64_t) * (size_t)m);
        for (int64_t i = 0; i < m; i++) v->orig[i] = T[i];
    }
    for (int64_t k = 0; k < m; k++) {
        int64_t i = piv[k] - 1;
        v->train[i] = f;
        v->ytrain[i] = y[T ? T[i] : i];
        if (k < r) v->pivot[k] = i;
        f = put_row(f, A + k, m, k < r ? k + 1 : r, r, bias);
    }
    if (h > 0) {
        double *B = v->hx = xmalloc_huge(sizeof(double) * (size_t)(r * h));  /* row j: H[j] */
        for (int64_t j = 0; j < h; j++) {
            v->test[j] = NULL;
            v->ytest[j] = y[H[j]];
            for (int64_t k = 0; k < r; k++) B[j * r + k] = K[T[piv[k] - 1] * n + H[j]];   /* (T set) */
        }
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)r,
                    (int)h, 1.0, A, (int)m, B, (int)r);
    }
    free(piv);
    free(A);
}

/* Weights a on the view's training rows with P^T a = v (see view_project): the triangular
 * system L11^T b = v solved from the last row up on the rows of L as they are stored (row
 * k's nodes are L(k, 0..k)), and b_k put on row Pi(k). a has m entries. */
static void view_unproject(const view *v, const double *w, double *a)
{
    int64_t r = v->dim;
    double *rem = xmalloc(sizeof(double) * (size_t)r);
    memcpy(rem, w, sizeof(double) * (size_t)r);
    for (int64_t i = 0; i < v->m; i++) a[i] = 0;
    for (int64_t k = r - 1; k >= 0; k--) {
        const struct feature_node *row = v->train[v->pivot[k]], *x = row;
        while (x->index != k + 1) x++;                  /* the diagonal, L(k, k) > 0 */
        double b = rem[k] / x->value;
        for (x = row; x->index <= k; x++) rem[x->index - 1] -= x->value * b;
        a[v->pivot[k]] = b;
    }
    free(rem);
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
        pb->projected = 1;
    } else {
        view_dense(&pb->all, z, y, n, d, pb->bias);
        pb->all_ready = 1;
    }
    pb->solver = solver_type(p, nclass, n, pb->projected ? n : d, pb->projected);
    pb->pairs = pb->projected && nclass > 2 && p->multi == SVM_MULTI_OVO && pb->solver == L2R_L2LOSS_SVC;
    pb->shared = pb->projected && !pb->pairs && pb->solver == L2R_L2LOSS_SVC;
    return pb;
}

/* The projection of every row (for the final fit): one pivoted Cholesky of all of K, in
 * place - K's last use (svm_cv() builds the folds' views first). Fresh memory costs: on
 * the project's virtual machines first-touch page faults took a sixth of the CPU time. */
static void build_all(svm_problem *pb)
{
    if (pb->all_ready) return;
    view_project(&pb->all, pb->K, pb->n, pb->y, NULL, pb->n, NULL, 0, pb->bias);
    pb->K = NULL;       /* freed by view_project */
    pb->all_ready = 1;
}

int64_t svm_problem_dim(svm_problem *pb)
{
    if (pb->pairs) return pb->pair_dim;
    build_all(pb);
    return pb->all.dim;
}
int svm_problem_projected(const svm_problem *pb) { return pb->projected; }
const char *svm_problem_solver(const svm_problem *pb) { return solver_name(pb->solver); }

void svm_problem_free(svm_problem *pb)
{
    if (!pb) return;
    view_free(&pb->all);
    free(pb->K);
    free(pb->cand_C);
    free(pb->cand_sol);
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

/* Class weights from the training rows per class: 1, or with balanced C_c = C n / (k n_c),
 * n the rows, k the classes present (scikit-learn's 'balanced'), so every class carries the
 * same total weight n / k. One-vs-one uses the same weights in every pair, as LIBSVM under
 * scikit-learn does. Returns k. */
static int class_weights(const int64_t *count, int nclass, int balanced, double *weight)
{
    int64_t n = 0;
    int present = 0;
    for (int c = 0; c < nclass; c++) n += count[c], present += count[c] > 0;
    for (int c = 0; c < nclass; c++)
        weight[c] = balanced && count[c] ? (double)n / ((double)present * (double)count[c]) : 1.0;
    return present;
}

/* One LIBLINEAR training on the rows x[0..m-1] with classes y (as doubles), the classes
 * present being labels[0..np-1] with their weights. init (may be NULL): the starting point
 * of the primal solver, LIBLINEAR's w of an earlier fit on the same rows (param.init_sol,
 * which LIBLINEAR 2.3 takes for L2R_L2LOSS_SVC and L2R_LR only). */
static struct model *ll_train(struct feature_node **x, double *y, int64_t m, int64_t dim,
                              const svm_params *p, int type, double C, int *labels,
                              double *weights, int np, unsigned seed, const double *init)
{
    /* bias >= 0 only tells LIBLINEAR that the last feature is the constant one; its
     * value B is in the rows. */
    struct problem prob = {.l = (int)m, .n = (int)dim + 1, .y = y, .x = x, .bias = 1};
    struct parameter par = {.solver_type = type, .eps = solver_eps(p, type), .C = C,
                            .nr_weight = np, .weight_label = labels, .weight = weights,
                            .p = 0.1,
                            .init_sol = type == L2R_L2LOSS_SVC ? (double *)init : NULL};
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

/* Warm starts along a path of C (the primal solver only): LIBLINEAR's weights of the last
 * fit on the same rows, per LIBLINEAR problem - one per one-vs-one pair, else one (its w
 * holds every class's function). */
#define PATH_STEP 4.0

typedef struct {
    double *w;                      /* SVM_MAX_FUNCTIONS x (dim + 1) x (classes or 1) */
    int64_t stride;                 /* doubles per problem */
    char have[SVM_MAX_FUNCTIONS];   /* problem k has a solution to start from */
    double last_c;                  /* the C of that solution (0: none yet) */
} warm_start;

static warm_start *warm_new(int64_t dim, int nclass)
{
    warm_start *ws = xcalloc(1, sizeof *ws);
    ws->stride = (dim + 1) * nclass;
    ws->w = xcalloc((size_t)(SVM_MAX_FUNCTIONS * ws->stride), sizeof(double));
    return ws;
}

static void warm_free(warm_start *ws)
{
    if (ws) free(ws->w);
    free(ws);
}

/* LIBLINEAR problem k: the start it may use (NULL: none), and keeping its solution. */
static const double *warm_get(const warm_start *ws, int k)
{
    return ws && ws->have[k] ? ws->w + k * ws->stride : NULL;
}

static void warm_put(warm_start *ws, int k, const struct model *md)
{
    if (!ws || md->param.solver_type != L2R_L2LOSS_SVC) return;
    int nr_w = md->nr_class == 2 ? 1 : md->nr_class;
    int64_t w_size = md->nr_feature + (md->bias >= 0);
    memcpy(ws->w + k * ws->stride, md->w, sizeof(double) * (size_t)(nr_w * w_size));
    ws->have[k] = 1;
}

typedef struct {
    const view *v;
    const svm_params *p;
    warm_start *warm;
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
                                c->seed + 7919u * (unsigned)k, warm_get(c->warm, (int)k));
    warm_put(c->warm, (int)k, md);
    /* LIBLINEAR's function is positive for label[0], the class it met first. */
    double sign = md->label[0] == a ? 1 : -1;
    for (int64_t j = 0; j <= v->dim; j++) out[j] = sign * md->w[j];
    free_and_destroy_model(&md);
    free(x);
    free(y);
}

/* Trains on a view's training rows: nw functions in the view's space (svm_functions()).
 * threads > 1 runs one-vs-one pairs in parallel (the final fit; cross-validation already
 * runs its fits in parallel). warm (may be NULL): start from, and update, the solutions of
 * the previous fit on these rows. */
static double *fit_view(const view *v, const svm_params *p, int nclass, int type, double C,
                        unsigned seed, int threads, warm_start *warm)
{
    int nw = svm_functions(p->multi, nclass);
    int64_t dim1 = v->dim + 1, count[TASK_MAX_CLASSES] = {0};
    double *out = xcalloc((size_t)(nw * dim1), sizeof(double));
    for (int64_t i = 0; i < v->m; i++) count[v->ytrain[i]]++;
    double weight[TASK_MAX_CLASSES], wl[TASK_MAX_CLASSES];
    int present = class_weights(count, nclass, p->balanced, weight), labels[TASK_MAX_CLASSES], only = 0;
    for (int c = 0, k = 0; c < nclass; c++)
        if (count[c]) labels[k] = c, wl[k++] = weight[c], only = c;
    if (nw > 1 && p->multi == SVM_MULTI_OVO) {
        fit_ctx ctx = {v, p, warm, type, nclass, C, seed, weight, count, out};
        parallel_for(nw, threads, fit_pair, &ctx);
    } else if (present < 2) {
        /* One class only: it always wins. */
        for (int c = 0; c < nw; c++)
            out[c * dim1 + v->dim] = nw == 1 ? (only ? 1 : -1) : (c == only ? 0 : -INFINITY);
    } else {
        double *y = xmalloc(sizeof(double) * (size_t)v->m);
        for (int64_t i = 0; i < v->m; i++) y[i] = v->ytrain[i];
        struct model *md = ll_train(v->train, y, v->m, v->dim, p, type, C, labels, wl, present,
                                    seed, warm_get(warm, 0));
        warm_put(warm, 0, md);
        take_functions(md, v->dim, nw, out);
        /* One-vs-rest / Crammer-Singer: a class the rows lack can never win. */
        for (int c = 0; nw > 1 && c < nclass; c++)
            if (!count[c]) out[c * dim1 + v->dim] = -INFINITY;
        free_and_destroy_model(&md);
        free(y);
    }
    return out;
}

/* The functions' values on held-out row i of a view: over its nodes, v_c[index - 1] *
 * value (the constant feature included), or over its projected coordinates. */
static void eval_test(const view *v, const double *fn, int nw, int64_t i, double *f)
{
    for (int c = 0; c < nw; c++) {
        const double *vc = fn + c * (v->dim + 1);
        double s = 0;
        if (v->hx) {
            const double *p = v->hx + i * v->dim;
            for (int64_t k = 0; k < v->dim; k++) s += vc[k] * p[k];
            s += vc[v->dim] * v->bias;
        } else {
            for (const struct feature_node *x = v->test[i]; x->index != -1; x++)
                s += vc[x->index - 1] * x->value;
        }
        f[c] = s;
    }
}

/* ---- one-vs-one on the projection: a projection per pair ----
 * One-vs-one trains a problem per pair of classes (a, b) on their rows only. On the
 * projection of all the training rows those rows keep up to r non-zeros each, r the rank
 * of all the rows; projected on their own span (view_project of just the pair's rows,
 * from K) they have at most m_ab: a pass costs m_ab^2/2 instead of about m_ab r/2, and
 * the held-out rows get their coordinates in each pair's basis (hair_color, 32x32 pixels:
 * six classes, pairs of 100-400 of 781 rows). Each pair's solution leaves as row weights -
 * a_i on the problem's rows with w = sum a_i z_i, and the bias weight - the form the final
 * model and the final fit's start need. */

/* The rows of `rows` (problem row numbers) whose class is a or b. */
static int64_t pair_rows(const svm_problem *pb, const int64_t *rows, int64_t m, int a, int b,
                         int64_t *out)
{
    int64_t k = 0;
    for (int64_t i = 0; i < m; i++)
        if (pb->y[rows[i]] == a || pb->y[rows[i]] == b) out[k++] = rows[i];
    return k;
}

/* Fits pair (a, b) on its view pv with class weights wa, wb, from start (LIBLINEAR's
 * orientation, may be NULL); g gets our function (positive for a, pv->dim + 1 values) and
 * warm (may be NULL) LIBLINEAR's solution. */
static void pair_fit(const view *pv, const svm_params *p, int a, int b, double wa, double wb,
                     double C, unsigned seed, const double *start, double *warm, double *g)
{
    double *y = xmalloc(sizeof(double) * (size_t)pv->m);
    for (int64_t i = 0; i < pv->m; i++) y[i] = pv->ytrain[i];
    int labels[2] = {a, b};
    double weights[2] = {wa, wb};
    struct model *md = ll_train(pv->train, y, pv->m, pv->dim, p, L2R_L2LOSS_SVC, C, labels,
                                weights, 2, seed, start);
    double sign = md->label[0] == a ? 1 : -1;
    for (int64_t j = 0; j <= pv->dim; j++) g[j] = sign * md->w[j];
    if (warm) memcpy(warm, md->w, sizeof(double) * (size_t)(pv->dim + 1));
    free_and_destroy_model(&md);
    free(y);
}

/* Row weights of a pair's function g (in pv's basis) into out (n + 1: a weight per row of
 * the problem, zero off the pair, then the bias). n, not pb->len: svm_cv sets len, and a
 * fit at a given C (--c) never runs it - the bias then landed on row 0's weight. */
static void pair_row_weights(const svm_problem *pb, const view *pv, const double *g, double *out)
{
    double *a = xmalloc(sizeof(double) * (size_t)(pv->m + 1));
    view_unproject(pv, g, a);
    for (int64_t t = 0; t < pv->m; t++) out[pv->orig[t]] = a[t];
    out[pb->n] = g[pv->dim];
    free(a);
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
    int n, folds, items;
    view *views;            /* one per fold: train on the other folds, test on this one */
    const int *fold;
    int *order;             /* candidates by increasing C */
    int64_t *correct;       /* per candidate x fold */
    double *seconds;        /* per candidate x fold */
} cv_ctx;

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fold f's view: its training rows (the other folds) and held-out rows (fold f). On the
 * projection, either a factorisation of its own (view_project: rows of at most m
 * non-zeros, held-out coordinates by a triangular solve) or, for the primal path
 * (pb->shared), the rows of the all-rows factor: they are an exact projection of the fold
 * too (P_T P_T^T = K_TT, and a held-out row's row of P gives its exact inner products), so
 * no factorisation per fold, no held-out solve, little fresh memory, and the folds'
 * solutions are already in the final fit's basis - at about 1.5x the non-zeros per row.
 * Measured with the primal path (32x32 pixels, 2 threads, CPU of the whole training, two
 * runs): human 0.57 -> 0.40 s, eyeglasses 1.14 -> 1.02 s, smiling 0.87 -> 1.05 s, young
 * 1.26 -> 1.49 s: the same in total, and the cheapest task - the one whose ratio to
 * scikit-learn's SVC was the smallest - gains the most. */
static void cv_view(cv_ctx *c, int f)
{
    svm_problem *pb = c->pb;
    int64_t *T = xmalloc(sizeof(int64_t) * (size_t)pb->n), *H = xmalloc(sizeof(int64_t) * (size_t)pb->n);
    int64_t m = 0, h = 0;
    for (int64_t i = 0; i < pb->n; i++) {
        if (c->fold[i] == f) H[h++] = i;
        else T[m++] = i;
    }
    if (pb->K) view_project(&c->views[f], pb->K, pb->n, pb->y, T, m, H, h, pb->bias);
    else view_subset(&c->views[f], &pb->all, T, m, H, h);
    free(T);
    free(H);
}

/* Candidate i's kept solution on fold f, function k: len + 1 doubles (see svm_problem). */
static double *kept_sol(const svm_problem *pb, int i, int f, int k)
{
    return pb->cand_sol + (((int64_t)i * pb->folds + f) * pb->nw + k) * (pb->len + 1);
}

/* The candidate of the last svm_cv() whose C is exactly C, or -1 (none kept). */
static int kept_candidate(const svm_problem *pb, double C)
{
    for (int i = 0; pb->cand_sol && i < pb->ncand; i++)
        if (pb->cand_C[i] == C) return i;
    return -1;
}

/* Keeps candidate i's solution on fold f for the final fit's start (final_start): each
 * function's weights and bias weight, in the basis the final fit uses too (the features,
 * or the all-rows factor's). */
static void keep_solution(cv_ctx *c, int i, int f, const double *fn)
{
    svm_problem *pb = c->pb;
    const view *v = &c->views[f];
    for (int k = 0; k < pb->nw; k++) {
        const double *g = fn + k * (v->dim + 1);
        double *out = kept_sol(pb, i, f, k);
        memcpy(out, g, sizeof(double) * (size_t)(v->dim + 1));
        if (!isfinite(g[v->dim])) out[pb->len] = NAN;   /* a class the fold lacks: none */
    }
}

/* Candidate i on fold f: train on the other folds, count hits on fold f. */
static void cv_fit(cv_ctx *c, int i, int f, warm_start *warm)
{
    const view *v = &c->views[f];
    int nclass = c->pb->nclass, nw = svm_functions(c->p->multi, nclass);
    int64_t item = (int64_t)i * c->folds + f;
    double t0 = cpu_seconds(), val[SVM_MAX_FUNCTIONS];
    unsigned seed = (unsigned)(c->p->seed * 1000003u + (uint64_t)item * 101u);
    /* Stepping stones: from a solution at a C far below this one the Newton method needs
     * many steps (young, split seed 4: C 0.0048 -> 0.31 took 1.8 s of a 3.4 s search), so
     * the path walks up by factors of at most PATH_STEP, as LIBLINEAR's own search of C
     * does by doubling; the fits in between are only starting points. */
    if (warm && warm->last_c > 0)
        for (double s = warm->last_c * PATH_STEP; s < c->C[i]; s *= PATH_STEP)
            free(fit_view(v, c->p, nclass, c->pb->solver, s, seed, 1, warm));
    double *fn = fit_view(v, c->p, nclass, c->pb->solver, c->C[i], seed, 1, warm);
    if (warm) {
        warm->last_c = c->C[i];
        keep_solution(c, i, f, fn);
    }
    int64_t ok = 0;
    for (int64_t k = 0; k < v->h; k++) {
        eval_test(v, fn, nw, k, val);
        ok += svm_decide(c->p->multi, nclass, val, NULL) == v->ytest[k];
    }
    free(fn);
    c->correct[item] = ok;
    c->seconds[item] = cpu_seconds() - t0;
}

static void cv_view_item(void *vctx, int64_t f, int thread)
{
    (void)thread;
    cv_view(vctx, (int)f);
}

/* Dual solver: item = candidate i * folds + fold f, every fit on its own. Items are handed
 * out from the last: the large C take longest, so starting with them leaves the short ones
 * to even out the threads' ends. (Each item's seed and slot depend on its number only.)
 * One more item, when there is one, factorises all the rows for the final fit: on two
 * cores that serial factorisation runs beside the fits instead of after them. */
static void cv_item(void *vctx, int64_t order, int thread)
{
    (void)thread;
    cv_ctx *c = vctx;
    if (order == c->items) {
        build_all(c->pb);
        return;
    }
    int64_t item = c->items - 1 - order;
    cv_fit(c, c->order[item / c->folds], (int)(item % c->folds), NULL);
}

/* Primal solver: item f < folds is fold f's path - every candidate from the smallest C to
 * the largest, each fit starting from the previous one's solution (what LIBLINEAR's own
 * search of C does): the solution moves little from one C to the next, and the
 * trust-region Newton method converges in a few steps from a close start. A fold's path is
 * one item, so its fits run in a fixed order on any number of threads. No item factorises
 * all the rows (unlike cv_item): on the projection the folds are views of that factor, so
 * svm_cv() builds it first (pb->shared), or one-vs-one pairs never need it. */
static void cv_pair_path(cv_ctx *c, int f);

static void cv_path(void *vctx, int64_t f, int thread)
{
    (void)thread;
    cv_ctx *c = vctx;
    if (c->pb->pairs) {
        cv_pair_path(c, (int)f);
        return;
    }
    warm_start *warm = warm_new(c->views[f].dim, c->pb->nclass);
    for (int k = 0; k < c->n; k++) cv_fit(c, c->order[k], (int)f, warm);
    warm_free(warm);
    view_free(&c->views[f]);    /* done: its memory can serve the next fold */
}

/* One-vs-one on the projection, fold f: pair by pair, its view (training rows of the pair,
 * every held-out row) and its path of C with warm starts; each candidate's decision values
 * on the held-out rows are kept, and the votes counted once every pair has run. One pair's
 * view is alive at a time. No stepping stones (cv_fit's PATH_STEP): the pairs' problems
 * (100-400 rows) are cheap from any start, and stones cost more than they saved (hair_color,
 * 32x32 pixels, one thread: split seed 4 0.87 -> 0.95 s CPU, seed 5 0.84 -> 1.32 s). */
static void cv_pair_path(cv_ctx *c, int f)
{
    svm_problem *pb = c->pb;
    const svm_params *p = c->p;
    int nclass = pb->nclass, nw = pb->nw;
    int64_t *T = xmalloc(sizeof(int64_t) * (size_t)pb->n), *H = xmalloc(sizeof(int64_t) * (size_t)pb->n),
            *Tab = xmalloc(sizeof(int64_t) * (size_t)pb->n), m = 0, h = 0, count[TASK_MAX_CLASSES] = {0};
    for (int64_t i = 0; i < pb->n; i++) {
        if (c->fold[i] == f) H[h++] = i;
        else T[m++] = i, count[pb->y[i]]++;
    }
    double weight[TASK_MAX_CLASSES];            /* of the fold's training rows, as fit_view() */
    class_weights(count, nclass, p->balanced, weight);
    double *dec = xmalloc(sizeof(double) * (size_t)((int64_t)c->n * nw * h + 1));  /* [cand][pair][row] */
    double *sec = xcalloc((size_t)c->n, sizeof(double)), t0;
    for (int k = 0, a = 0, b = 1; k < nw; k++) {
        int64_t mab = pair_rows(pb, T, m, a, b, Tab);
        if (!count[a] || !count[b]) {
            /* A class the rows lack can never win its pairs; no start for the final fit. */
            for (int ci = 0; ci < c->n; ci++) {
                for (int64_t j = 0; j < h; j++)
                    dec[((int64_t)ci * nw + k) * h + j] = count[a] ? INFINITY : count[b] ? -INFINITY : 0;
                kept_sol(pb, c->order[ci], f, k)[pb->len] = NAN;
            }
        } else {
            t0 = cpu_seconds();
            view pv = {0};
            view_project(&pv, pb->K, pb->n, pb->y, Tab, mab, H, h, pb->bias);
            double *g = xmalloc(sizeof(double) * (size_t)(pv.dim + 1)),
                   *warm = xmalloc(sizeof(double) * (size_t)(pv.dim + 1)), val;
            sec[0] += cpu_seconds() - t0;       /* the view: counted with the first C */
            for (int ci = 0; ci < c->n; ci++) {
                t0 = cpu_seconds();
                int i = c->order[ci];
                int64_t item = (int64_t)i * c->folds + f;
                pair_fit(&pv, p, a, b, weight[a], weight[b], c->C[i],
                         (unsigned)(p->seed * 1000003u + (uint64_t)item * 101u) + 7919u * (unsigned)k,
                         ci ? warm : NULL, warm, g);
                for (int64_t j = 0; j < h; j++) {
                    eval_test(&pv, g, 1, j, &val);
                    dec[((int64_t)ci * nw + k) * h + j] = val;
                }
                pair_row_weights(pb, &pv, g, kept_sol(pb, i, f, k));
                sec[ci] += cpu_seconds() - t0;
            }
            free(g);
            free(warm);
            view_free(&pv);
        }
        if (++b == nclass) b = ++a + 1;
    }
    double fv[SVM_MAX_FUNCTIONS];
    for (int ci = 0; ci < c->n; ci++) {
        int64_t ok = 0, item = (int64_t)c->order[ci] * c->folds + f;
        for (int64_t j = 0; j < h; j++) {
            for (int k = 0; k < nw; k++) fv[k] = dec[((int64_t)ci * nw + k) * h + j];
            ok += svm_decide(SVM_MULTI_OVO, nclass, fv, NULL) == pb->y[H[j]];
        }
        c->correct[item] = ok;
        c->seconds[item] = sec[ci];
    }
    free(dec);
    free(sec);
    free(T);
    free(H);
    free(Tab);
}

void svm_cv(svm_problem *pb, const svm_params *p, const double *C, int n, const int *fold,
            int folds, double *acc, double *seconds)
{
    int64_t items = (int64_t)n * folds;
    cv_ctx ctx = {pb, p, C, n, folds, (int)items, xcalloc((size_t)folds, sizeof(view)), fold,
                  xmalloc(sizeof(int) * (size_t)n), xcalloc((size_t)items, sizeof(int64_t)),
                  xcalloc((size_t)items, sizeof(double))};
    for (int i = 0; i < n; i++) {      /* insertion sort by C, ties in candidate order */
        int k = i;
        for (; k > 0 && C[ctx.order[k - 1]] > C[i]; k--) ctx.order[k] = ctx.order[k - 1];
        ctx.order[k] = i;
    }
    if (pb->solver == L2R_L2LOSS_SVC) {
        free(pb->cand_C);
        free(pb->cand_sol);
        pb->ncand = n;
        pb->folds = folds;
        pb->nw = svm_functions(p->multi, pb->nclass);
        if (pb->shared) build_all(pb);
        pb->len = pb->pairs ? pb->n : pb->all.dim;
        pb->cand_C = xmalloc(sizeof(double) * (size_t)n);
        memcpy(pb->cand_C, C, sizeof(double) * (size_t)n);
        pb->cand_sol = xcalloc((size_t)((int64_t)n * folds * pb->nw * (pb->len + 1)), sizeof(double));
    }
    if (pb->projected && !pb->K && !pb->shared)
        die("svm_cv: the Gram matrix is gone (svm_cv after svm_fit)");
    if (!pb->pairs) parallel_for(folds, p->threads, cv_view_item, &ctx);
    if (pb->solver == L2R_L2LOSS_SVC)
        parallel_for(folds, p->threads, cv_path, &ctx);
    else parallel_for(items + !pb->all_ready, p->threads, cv_item, &ctx);
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
    free(ctx.order);
    free(ctx.correct);
    free(ctx.seconds);
}

/* ------------------------------------------------------------------ the final model */

/* The final fit's start (primal solver, after svm_cv() tried this C): the folds' solutions
 * at C averaged (they are in the final view's basis) and turned to LIBLINEAR's
 * orientation, which follows the order in which classes first appear in the rows. The
 * fold models are close to the final one, so the Newton method starts near its end; the
 * start depends only on the cross-validation, not on threads. NULL: start at 0. (One-vs-
 * one on the projection has its own, pair_final.) */
static warm_start *final_start(const svm_problem *pb, const svm_params *p, double C)
{
    int i = kept_candidate(pb, C);
    if (pb->solver != L2R_L2LOSS_SVC || i < 0) return NULL;
    const view *all = &pb->all;
    int nw = pb->nw, nclass = pb->nclass, ok[SVM_MAX_FUNCTIONS];
    int64_t dim1 = all->dim + 1;
    double *g = xcalloc((size_t)(nw * dim1), sizeof(double));
    for (int k = 0; k < nw; k++) {
        double *gk = g + k * dim1;
        ok[k] = 1;
        for (int f = 0; f < pb->folds; f++) {
            const double *src = kept_sol(pb, i, f, k);
            if (isnan(src[pb->len])) ok[k] = 0;
            if (!ok[k]) break;
            for (int64_t j = 0; j <= all->dim; j++) gk[j] += src[j];
        }
        for (int64_t j = 0; j < dim1; j++) gk[j] /= pb->folds;
    }
    /* LIBLINEAR's label order: classes by first appearance in the rows. */
    int first[TASK_MAX_CLASSES], np = 0;
    char seen[TASK_MAX_CLASSES] = {0};
    for (int64_t t = 0; t < all->m; t++)
        if (!seen[all->ytrain[t]]) seen[all->ytrain[t]] = 1, first[np++] = all->ytrain[t];
    warm_start *ws = warm_new(all->dim, nclass);
    if (p->multi == SVM_MULTI_OVO && nw > 1) {
        /* Pair k = (a, b): LIBLINEAR's function is positive for the first of a, b met. */
        for (int k = 0, a = 0, b = 1; k < nw; k++) {
            int l0 = -1;
            for (int64_t t = 0; t < all->m && l0 < 0; t++)
                if (all->ytrain[t] == a || all->ytrain[t] == b) l0 = all->ytrain[t];
            if (ok[k] && l0 >= 0) {
                double sign = l0 == a ? 1 : -1;
                for (int64_t j = 0; j < dim1; j++) ws->w[k * ws->stride + j] = sign * g[k * dim1 + j];
                ws->have[k] = 1;
            }
            if (++b == nclass) b = ++a + 1;
        }
    } else if (np == 2) {
        /* One function, positive for first[0]: ours is class 1's score (two classes) or
         * class first[0]'s (one-vs-rest). */
        int src = nw == 1 ? 0 : first[0];
        double sign = nw == 1 && first[0] != 1 ? -1 : 1;
        if (ok[src]) {
            for (int64_t j = 0; j < dim1; j++) ws->w[j] = sign * g[src * dim1 + j];
            ws->have[0] = 1;
        }
    } else if (np > 2) {
        /* One-vs-rest: LIBLINEAR's w holds w[j * np + c] for its c-th label. */
        int all_ok = 1;
        for (int c = 0; c < np; c++) all_ok &= ok[first[c]];
        for (int c = 0; c < np && all_ok; c++)
            for (int64_t j = 0; j < dim1; j++) ws->w[j * np + c] = g[first[c] * dim1 + j];
        ws->have[0] = (char)all_ok;
    }
    free(g);
    return ws;
}

/* The final fit of one-vs-one on the projection: pair k on the projection of its rows,
 * started from the folds' solutions at C (averaged, mapped to the pair's basis as in
 * final_start), into row weights. */
typedef struct {
    svm_problem *pb;
    const svm_params *p;
    double C;
    int cand;               /* the candidate of C in the search, or -1 */
    const int64_t *count;   /* rows per class */
    const double *weight;   /* class weights */
    double *rw;             /* nw x (len + 1) row weights */
    int64_t *dim;           /* per pair */
} pair_final_ctx;

static void pair_final(void *vctx, int64_t k, int thread)
{
    (void)thread;
    pair_final_ctx *c = vctx;
    svm_problem *pb = c->pb;
    int a = 0, b = 1;
    for (int64_t i = 0; i < k; i++)
        if (++b == pb->nclass) b = ++a + 1;
    int64_t len1 = pb->n + 1;
    double *out = c->rw + k * len1;
    if (!c->count[a] || !c->count[b]) {
        out[pb->n] = c->count[a] ? INFINITY : c->count[b] ? -INFINITY : 0;
        return;
    }
    int64_t *all = xmalloc(sizeof(int64_t) * (size_t)pb->n), *rows = xmalloc(sizeof(int64_t) * (size_t)pb->n);
    for (int64_t i = 0; i < pb->n; i++) all[i] = i;
    int64_t mab = pair_rows(pb, all, pb->n, a, b, rows);
    view pv = {0};
    view_project(&pv, pb->K, pb->n, pb->y, rows, mab, NULL, 0, pb->bias);
    c->dim[k] = pv.dim;
    double *start = NULL, *g = xmalloc(sizeof(double) * (size_t)(pv.dim + 1));
    if (c->cand >= 0) {
        /* the folds' row weights averaged, as coordinates on this view's rows */
        int ok = 1;
        double *avg = xcalloc((size_t)len1, sizeof(double));
        for (int f = 0; f < pb->folds && ok; f++) {
            const double *src = kept_sol(pb, c->cand, f, k);
            if (isnan(src[pb->n])) ok = 0;
            for (int64_t i = 0; i < len1 && ok; i++) avg[i] += src[i] / pb->folds;
        }
        if (ok) {
            start = xcalloc((size_t)(pv.dim + 1), sizeof(double));
            for (int64_t t = 0; t < pv.m; t++)
                if (avg[rows[t]] != 0)
                    for (const struct feature_node *x = pv.train[t]; x->index <= pv.dim; x++)
                        start[x->index - 1] += avg[rows[t]] * x->value;
            start[pv.dim] = avg[pb->n];
            /* LIBLINEAR's orientation: positive for the class of the pair's first row */
            if (pv.ytrain[0] != a)
                for (int64_t j = 0; j <= pv.dim; j++) start[j] = -start[j];
        }
        free(avg);
    }
    pair_fit(&pv, c->p, a, b, c->weight[a], c->weight[b], c->C,
             (unsigned)(c->p->seed * 1000003u + 999983u) + 7919u * (unsigned)k, start, NULL, g);
    pair_row_weights(pb, &pv, g, out);
    free(start);
    free(g);
    free(all);
    free(rows);
    view_free(&pv);
}

/* svm_fit for one-vs-one on the projection: the pairs in parallel; w = sum_i a_i z_i. */
static void fit_pairs(svm_problem *pb, const svm_params *p, double C, svm_model *m)
{
    int nclass = pb->nclass, nw = svm_functions(SVM_MULTI_OVO, nclass);
    int64_t n = pb->n, d = pb->d, count[TASK_MAX_CLASSES] = {0};
    for (int64_t i = 0; i < n; i++) count[pb->y[i]]++;
    double weight[TASK_MAX_CLASSES];
    class_weights(count, nclass, p->balanced, weight);
    int cand = kept_candidate(pb, C);
    pair_final_ctx ctx = {pb, p, C, cand, count, weight, xcalloc((size_t)(nw * (n + 1)), sizeof(double)),
                          xcalloc((size_t)nw, sizeof(int64_t))};
    parallel_for(nw, p->threads, pair_final, &ctx);
    m->w = xcalloc((size_t)(nw * (d + 1)), sizeof(double));
    for (int k = 0; k < nw; k++) {
        const double *a = ctx.rw + k * (n + 1);
        double *wk = m->w + k * (d + 1);
        for (int64_t i = 0; i < n; i++)
            if (a[i] != 0)
                for (int64_t j = 0; j < d; j++) wk[j] += pb->z[i * d + j] * a[i];
        wk[d] = isfinite(a[n]) ? a[n] * pb->bias : a[n];
        if (ctx.dim[k] > pb->pair_dim) pb->pair_dim = ctx.dim[k];
    }
    free(ctx.rw);
    free(ctx.dim);
}

void svm_fit(svm_problem *pb, const svm_params *p, double C, svm_model *m)
{
    if (pb->pairs) {
        fit_pairs(pb, p, C, m);
        m->nclass = pb->nclass;
        m->nw = svm_functions(SVM_MULTI_OVO, pb->nclass);
        m->C = C;
        m->multi = SVM_MULTI_OVO;
        m->balanced = p->balanced;
        snprintf(m->solver, sizeof m->solver, "%s", solver_name(pb->solver));
        return;
    }
    build_all(pb);
    const view *all = &pb->all;
    int nclass = pb->nclass, nw = svm_functions(p->multi, nclass);
    int64_t d = pb->d, dim1 = all->dim + 1;
    warm_start *start = final_start(pb, p, C);
    double *v = fit_view(all, p, nclass, pb->solver, C, (unsigned)(p->seed * 1000003u + 999983u),
                         p->threads, start);
    warm_free(start);
    m->nclass = nclass;
    m->nw = nw;
    m->C = C;
    m->multi = nclass > 2 ? p->multi : SVM_MULTI_OVR;
    m->balanced = p->balanced;
    snprintf(m->solver, sizeof m->solver, "%s", solver_name(pb->solver));
    m->w = xcalloc((size_t)(nw * (d + 1)), sizeof(double));
    for (int c = 0; c < nw; c++) {
        double *wc = m->w + c * (d + 1), *vc = v + c * dim1;
        if (pb->projected && isfinite(vc[all->dim])) {
            /* Undo the projection: w = sum_i a_i z_i with P^T a = v. */
            double *a = xmalloc(sizeof(double) * (size_t)all->m);
            view_unproject(all, vc, a);
            for (int64_t i = 0; i < all->m; i++) {
                const float *zi = pb->z + i * d;
                if (a[i] != 0)
                    for (int64_t j = 0; j < d; j++) wc[j] += zi[j] * a[i];
            }
            free(a);
        } else if (!pb->projected) {
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
