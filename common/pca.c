/* pca.c - PCA by exact eigendecomposition or randomized SVD (GSL, BLAS and LAPACK from
 * OpenBLAS).
 *
 * Centre the rows, Xc = X - mean. The principal components are the right singular vectors of
 * Xc, Xc = U S V^T, i.e. the eigenvectors of the covariance C = Xc^T Xc / (n - 1), and the
 * variance along component c is s_c^2 / (n - 1) (ddof = 1, as sklearn).
 *
 * Exact solver. If d <= n, eigendecompose the d x d covariance (gsl_eigen_symmv).
 * If n < d, the n x n Gram matrix G = Xc Xc^T = U S^2 U^T is smaller; then v_c = Xc^T u_c /
 * s_c. Either way every eigenvalue is known, which --variance needs.
 *
 * Randomized solver (Halko, Martinsson & Tropp 2011, algorithms 4.4 and 5.1). With a
 * Gaussian d x l test matrix Omega (l = k + oversample), Y = Xc Omega spans nearly the top-l
 * left singular subspace; q power iterations Y <- Xc (Xc^T Y), each product followed by a
 * re-orthonormalisation (so small singular values are not lost to rounding), sharpen it by
 * the factor (s_j / s_l)^(2q). With Q = orth(Y) (n x l), B = Q^T Xc is l x d and its SVD
 * B = W S V^T gives the top singular values and right vectors of Xc. Cost: about 2 (q + 1)
 * products of n x d x l, instead of d^3 for the covariance eigendecomposition.
 * Where the time goes, and so how it is spent here (5000 x 2048, l = 40, q = 7):
 *   - the 2q + 1 range-finder products (12 GFlop): sgemm on a float copy of Xc - half the
 *     memory traffic and twice the flop rate of dgemm; the range finder only has to find a
 *     subspace, and float rounding (1e-7) is far below the randomized error. They run on
 *     our threads over fixed row chunks, OpenBLAS on one thread inside each, so the bits do
 *     not depend on the number of threads;
 *   - everything small in double: the re-orthonormalisations (Cholesky QR, Householder
 *     when ill-conditioned), the final Q (Householder), B^T = Xc^T Q from the exact centred
 *     rows, and the SVD of B (LAPACK dgesdd), so the variances are the exact Rayleigh-Ritz
 *     values of the subspace found;
 *   - every buffer of megabytes on huge pages: on our virtual machines a first touch of a
 *     4 KiB page costs ~30 us, more than the arithmetic done on it.
 *
 * Projection: y_c = (x - mean) . v_c / scale_c, computed by explicit loops in a fixed order
 * (not BLAS), so fitting and applying a saved model give bit-identical rows. */
#include "pca.h"
#include "err.h"
#include "mat.h"
#include "rng.h"
#include "threads.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* From OpenBLAS's cblas.h, which cannot be included next to GSL's headers (both define the
 * CBLAS enums). The Makefile links OpenBLAS, which also carries LAPACK; the trailing size_t
 * arguments are the hidden lengths gfortran passes for CHARACTER arguments. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
extern void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau,
                    double *work, const int *lwork, int *info);
extern void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
                    const double *tau, double *work, const int *lwork, int *info);
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info,
                    size_t uplo_len);
extern void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda,
                    double *s, double *u, const int *ldu, double *vt, const int *ldvt,
                    double *work, const int *lwork, int *iwork, int *info, size_t jobz_len);

/* The rows a model is fitted on: n x d, row-major, floats or doubles (exactly one set).
 * Float rows are centred in place by the column statistics: f[i][j] becomes
 * (float)(x[i][j] - mean[j]), the value pca_transform_row_f32 computes from the same row, and
 * from then on they are the data (their rounding, 6e-8 relative, is below that of the float
 * input itself). Double rows stay as they are; a float copy of them, centred, feeds the
 * range finder. */
typedef struct {
    float *f;
    const double *x;
    int64_t n, d;
} pca_src;

/* Row i centred, and standardised when sd is given: xc[j] = (x[j] - mean[j]) / sd[j]. The
 * projection (sd == NULL) computes the very values that pca_transform_row(_f32) computes
 * from the same row, hence the same bits. */
static void centred_row(const pca_src *s, int64_t i, const double *mean, const double *sd,
                        double *xc)
{
    int64_t d = s->d;
    if (s->f) {
        const float *x = s->f + i * d;          /* centred in place */
        for (int64_t j = 0; j < d; j++) xc[j] = x[j];
    } else {
        const double *x = s->x + i * d;
        for (int64_t j = 0; j < d; j++) xc[j] = x[j] - mean[j];
    }
    if (sd)
        for (int64_t j = 0; j < d; j++) xc[j] /= sd[j];
}

void pca_default_params(pca_params *p)
{
    *p = (pca_params){.k = 0, .variance = 0.0, .whiten = 0, .method = PCA_AUTO,
                      .power_iter = -1, .oversample = 10, .seed = 1, .blas_threads = 0};
}

pca_method pca_auto_method(int64_t n, int64_t d, int k)
{
    (void)k;
    int64_t m = n < d ? n : d;
    return m <= PCA_EXACT_MAX_DIM ? PCA_EXACT : PCA_RANDOMIZED;
}

static void gsl_check(int status, const char *what)
{
    if (status) die("pca: %s failed: %s", what, gsl_strerror(status));
}

/* Smallest count whose cumulative explained-variance ratio exceeds frac (sklearn:
 * searchsorted(cumsum, frac, side='right') + 1), or 0 if none of the m does. */
static int count_for_variance(const double *var, int64_t m, double total, double frac)
{
    double cum = 0.0;
    for (int64_t c = 0; c < m; c++) {
        cum += var[c];
        if (cum / total > frac) return (int)(c + 1);
    }
    return 0;
}

/* ---- exact: every eigenpair of the covariance (or Gram) matrix ---- */

/* The symmetric matrix of the exact solver, by explicit loops rather than BLAS dsyrk: every
 * entry is one sum in a fixed order, computed by one thread, so the result does not depend
 * on FP_THREADS or OPENBLAS_NUM_THREADS (OpenBLAS's splits change the last bits). Cheap here:
 * the exact solver only runs for min(n, d) <= PCA_EXACT_MAX_DIM. */
#define COV_BLOCK 8

typedef struct {
    const double *Xc;
    int64_t n, d;
    double *A;        /* m x m, upper triangle written */
} gram_job;

/* Covariance rows a in [8c, 8c + 8): A[a][b] = sum_i Xc[i][a] Xc[i][b], b >= a, rows of Xc
 * in order (one pass over Xc per block of 8 rows). */
static void cov_block(void *ctx, int64_t c, int thread)
{
    (void)thread;
    gram_job *g = ctx;
    int64_t d = g->d, a0 = c * COV_BLOCK, a1 = a0 + COV_BLOCK < d ? a0 + COV_BLOCK : d;
    for (int64_t a = a0; a < a1; a++) memset(g->A + a * d + a, 0, (size_t)(d - a) * sizeof(double));
    for (int64_t i = 0; i < g->n; i++) {
        const double *x = g->Xc + i * d;
        for (int64_t a = a0; a < a1; a++) {
            double xa = x[a], *row = g->A + a * d;
            for (int64_t b = a; b < d; b++) row[b] += xa * x[b];
        }
    }
}

/* Gram row i: A[i][j] = x_i . x_j, j >= i, four partial sums over the columns. */
static void gram_row(void *ctx, int64_t i, int thread)
{
    (void)thread;
    gram_job *g = ctx;
    int64_t d = g->d;
    const double *xi = g->Xc + i * d;
    for (int64_t j = i; j < g->n; j++) {
        const double *xj = g->Xc + j * d;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t c = 0;
        for (; c + 4 <= d; c += 4) {
            s0 += xi[c] * xj[c];
            s1 += xi[c + 1] * xj[c + 1];
            s2 += xi[c + 2] * xj[c + 2];
            s3 += xi[c + 3] * xj[c + 3];
        }
        for (; c < d; c++) s0 += xi[c] * xj[c];
        g->A[i * g->n + j] = (s0 + s1) + (s2 + s3);
    }
}

/* Eigendecomposes, then keeps k components (k == 0: the count for the variance fraction
 * `frac` of `total`). Returns k; *var_out (k) and *comps_out (k x d) are allocated here.
 * The n < d (Gram) path cannot form a component with zero singular value; those rows are
 * left zero and completed later. */
static int exact_solve(const double *Xc, int64_t n, int64_t d, int k, double frac, double total,
                       double **var_out, double **comps_out)
{
    /* gsl_eigen_symmv calls BLAS (dsymv, dsyr2 ...) through OpenBLAS, whose thread splits
     * change the last bits; on one thread the whole exact path is independent of the thread
     * count (and the matrix is at most PCA_EXACT_MAX_DIM wide: threads gain little). */
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    int64_t m = n < d ? n : d;
    gsl_matrix *A = gsl_matrix_calloc((size_t)m, (size_t)m);
    gram_job g = {Xc, n, d, A->data};
    if (d <= n) {
        parallel_for((d + COV_BLOCK - 1) / COV_BLOCK, 0, cov_block, &g);
        for (int64_t a = 0; a < d * d; a++) A->data[a] /= (double)(n - 1);
    } else {
        parallel_for(n, 0, gram_row, &g);
    }
    for (int64_t i = 0; i < m; i++) /* mirror the upper triangle */
        for (int64_t j = 0; j < i; j++) gsl_matrix_set(A, (size_t)i, (size_t)j, gsl_matrix_get(A, (size_t)j, (size_t)i));
    gsl_vector *eval = gsl_vector_alloc((size_t)m);
    gsl_matrix *evec = gsl_matrix_alloc((size_t)m, (size_t)m);
    gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc((size_t)m);
    gsl_check(gsl_eigen_symmv(A, eval, evec, w), "eigendecomposition");
    gsl_check(gsl_eigen_symmv_sort(eval, evec, GSL_EIGEN_SORT_VAL_DESC), "eigenvalue sort");
    double top = gsl_vector_get(eval, 0);
    double *var = xmalloc((size_t)m * sizeof *var);
    for (int64_t c = 0; c < m; c++) {
        double e = gsl_vector_get(eval, (size_t)c);
        if (e < 0) e = 0; /* rounding below a zero eigenvalue */
        var[c] = d <= n ? e : e / (double)(n - 1);
    }
    if (k == 0) {
        k = total > 0 ? count_for_variance(var, m, total, frac) : 1;
        if (k == 0) k = (int)m;
    }
    double *comps = xmalloc((size_t)((int64_t)k * d) * sizeof *comps);
    for (int c = 0; c < k; c++) {
        double *v = comps + (int64_t)c * d;
        if (d <= n) {
            for (int64_t j = 0; j < d; j++) v[j] = gsl_matrix_get(evec, (size_t)j, (size_t)c);
            continue;
        }
        /* v = Xc^T u / s, s = sqrt(eigenvalue of G) */
        double e = gsl_vector_get(eval, (size_t)c);
        memset(v, 0, (size_t)d * sizeof *v);
        if (!(e > 1e-12 * top) || e <= 0) continue;
        for (int64_t i = 0; i < n; i++) {
            double ui = gsl_matrix_get(evec, (size_t)i, (size_t)c);
            for (int64_t j = 0; j < d; j++) v[j] += ui * Xc[i * d + j];
        }
        for (int64_t j = 0; j < d; j++) v[j] /= sqrt(e);
    }
    gsl_eigen_symmv_free(w);
    gsl_matrix_free(evec);
    gsl_vector_free(eval);
    gsl_matrix_free(A);
    openblas_set_num_threads(blas_threads);
    *var_out = var;
    *comps_out = comps;
    return k;
}

/* ---- randomized SVD ---- */

/* The big products split the rows of Xc into a fixed number of chunks (a function of n
 * only), each one single-threaded sgemm/dgemm run by one of our threads; a product over the
 * rows (Xc^T Y) adds the chunks' partial results in chunk order. So the result is the same
 * whatever the number of threads, and no OpenBLAS thread spins between calls. */
#define PROD_CHUNKS 8
#define B_BLOCK 64          /* rows converted to double at a time for B^T = Xc^T Q */

typedef struct {
    const float *A;         /* Xc in float, n x d row-major (= column-major d x n) */
    const pca_src *src;     /* the input rows, for the double B^T */
    const double *mean;
    int64_t n, d;
    int l, nchunks;
    const float *inf;       /* input of a float product */
    float *outf, *partf;    /* output; nchunks x d x l partials of Xc^T Y */
    const double *Q;        /* n x l, column-major */
    double *partd;          /* nchunks x d x l partials of Xc^T Q */
    double *blocks;         /* per thread: B_BLOCK x d doubles */
} prod_job;

static void chunk_rows(const prod_job *j, int64_t c, int64_t *i0, int64_t *i1)
{
    *i0 = j->n * c / j->nchunks;
    *i1 = j->n * (c + 1) / j->nchunks;
}

/* Y = Xc Omega for the chunk's rows (Y: n x l, Omega: d x l, both column-major). */
static void prod_xo(void *ctx, int64_t c, int thread)
{
    (void)thread;
    prod_job *j = ctx;
    int64_t i0, i1;
    chunk_rows(j, c, &i0, &i1);
    if (i1 > i0)
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)(i1 - i0), j->l, (int)j->d,
                    1.0f, j->A + i0 * j->d, (int)j->d, j->inf, (int)j->d, 0.0f, j->outf + i0,
                    (int)j->n);
}

/* The chunk's part of Z = Xc^T Y (d x l, column-major). */
static void prod_xty(void *ctx, int64_t c, int thread)
{
    (void)thread;
    prod_job *j = ctx;
    int64_t i0, i1;
    chunk_rows(j, c, &i0, &i1);
    float *part = j->partf + c * j->d * j->l;
    if (i1 > i0)
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)j->d, j->l, (int)(i1 - i0),
                    1.0f, j->A + i0 * j->d, (int)j->d, j->inf + i0, (int)j->n, 0.0f, part,
                    (int)j->d);
    else
        memset(part, 0, (size_t)(j->d * j->l) * sizeof *part);
}

/* The chunk's part of B^T = Xc^T Q in double, from the exact centred rows, B_BLOCK rows at
 * a time. */
static void prod_btq(void *ctx, int64_t c, int thread)
{
    prod_job *j = ctx;
    int64_t i0, i1, d = j->d;
    chunk_rows(j, c, &i0, &i1);
    double *part = j->partd + c * d * j->l, *blk = j->blocks + (int64_t)thread * B_BLOCK * d;
    memset(part, 0, (size_t)(d * j->l) * sizeof *part);
    for (int64_t b0 = i0; b0 < i1; b0 += B_BLOCK) {
        int rows = (int)(i1 - b0 < B_BLOCK ? i1 - b0 : B_BLOCK);
        for (int r = 0; r < rows; r++) centred_row(j->src, b0 + r, j->mean, NULL, blk + r * d);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)d, j->l, rows, 1.0, blk,
                    (int)d, j->Q + b0, (int)j->n, 1.0, part, (int)d);
    }
}

/* Replaces the columns of Y (m x l, column-major, m >= l) by an orthonormal basis of their
 * span: Householder QR (LAPACK dgeqrf), then the thin Q (dorgqr). */
static void householder_q(double *Y, int m, int l, double *tau, double *work, int lwork)
{
    int info;
    dgeqrf_(&m, &l, Y, &m, tau, work, &lwork, &info);
    if (info != 0) die("pca: QR decomposition failed (LAPACK info %d)", info);
    dorgqr_(&m, &l, &l, Y, &m, tau, work, &lwork, &info);
    if (info != 0) die("pca: forming Q failed (LAPACK info %d)", info);
}

/* Cholesky QR: G = Y^T Y = R^T R, Y <- Y R^-1, three level-3 calls on the l x l Gram matrix
 * instead of l Householder reflections. It squares the condition number, so it is used only
 * between power iterations (where a well-conditioned basis is enough) and refuses, returning
 * -1, when R's diagonal spans more than 1e4 (orthogonality would degrade beyond 1e-8):
 * a rank-deficient block then goes to Householder. */
static int cholesky_q(double *Y, int m, int l, double *G)
{
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, l, m, 1.0, Y, m, 0.0, G, l);
    int info;
    dpotrf_("U", &l, G, &l, &info, 1);
    if (info != 0) return -1;
    double lo = fabs(G[0]), hi = lo;
    for (int c = 1; c < l; c++) {
        double r = fabs(G[c + (int64_t)c * l]);
        lo = r < lo ? r : lo;
        hi = r > hi ? r : hi;
    }
    if (!(lo > 1e-4 * hi)) return -1;
    cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, m, l, 1.0, G,
                l, Y, m);
    return 0;
}

/* Re-orthonormalises a float block in double: F (m x l) -> double, orthonormal basis,
 * -> float again. */
static void orthonormalize_f(float *F, double *D, int m, int l, double *G, double *tau,
                             double *work, int lwork)
{
    int64_t cnt = (int64_t)m * l;
    for (int64_t a = 0; a < cnt; a++) D[a] = F[a];
    if (cholesky_q(D, m, l, G) != 0) {
        for (int64_t a = 0; a < cnt; a++) D[a] = F[a];
        householder_q(D, m, l, tau, work, lwork);
    }
    for (int64_t a = 0; a < cnt; a++) F[a] = (float)D[a];
}

/* Sum of the chunks' partials, in chunk order. */
static void sum_parts_f(const float *part, int nchunks, int64_t cnt, float *out)
{
    for (int64_t e = 0; e < cnt; e++) out[e] = part[e];
    for (int c = 1; c < nchunks; c++)
        for (int64_t e = 0; e < cnt; e++) out[e] += part[c * cnt + e];
}

/* out = diag(1 / sd) in for a d x l column-major block (out may be in): standardisation
 * applied to the small matrices, Xs = Xc D^-1, so Xs Z = Xc (D^-1 Z) and
 * Xs^T Y = D^-1 (Xc^T Y), and the big matrix stays merely centred. */
static void unscale_rows_f(const float *in, const double *sd, int64_t d, int l, float *out)
{
    for (int c = 0; c < l; c++)
        for (int64_t j = 0; j < d; j++) out[c * d + j] = (float)(in[c * d + j] / sd[j]);
}

/* Top-k right singular vectors (comps, k x d) and variances (var, k) of the centred rows,
 * standardised when sd is given: Xf holds them (unstandardised) in float for the range
 * finder, src/mean give them exactly for B. */
static void randomized_solve(const float *Xf, const pca_src *src, const double *mean,
                             const double *sd, int k, int oversample, int q, uint64_t seed,
                             int nthreads, double *var, double *comps)
{
    int64_t n = src->n, d = src->d, m = n < d ? n : d;
    int l = (int)(k + oversample < m ? k + oversample : m);
    int nchunks = (int)(n < PROD_CHUNKS ? n : PROD_CHUNKS);
    if (nthreads <= 0) nthreads = fp_threads();
    int64_t big = n > d ? n : d;
    float *Yf = xmalloc_huge((size_t)(n * l) * sizeof *Yf), *Zf = xmalloc_huge((size_t)(d * l) * sizeof *Zf);
    float *partf = xmalloc_huge((size_t)(nchunks * d * l) * sizeof *partf);
    float *Zs = sd ? xmalloc_huge((size_t)(d * l) * sizeof *Zs) : Zf;    /* D^-1 Z */
    double *D = xmalloc_huge((size_t)(big * l) * sizeof *D), *G = xmalloc((size_t)l * l * sizeof *G);
    int lwork = 64 * l;
    double *tau = xmalloc((size_t)l * sizeof *tau), *work = xmalloc((size_t)lwork * sizeof *work);
    prod_job job = {.A = Xf, .src = src, .mean = mean, .n = n, .d = d, .l = l,
                    .nchunks = nchunks, .partf = partf};

    rng r;
    rng_seed(&r, seed);
    for (int64_t a = 0; a < d * l; a++) Zf[a] = (float)rng_normal(&r);  /* Omega */
    if (sd) unscale_rows_f(Zf, sd, d, l, Zs);
    job.inf = Zs, job.outf = Yf;
    parallel_for(nchunks, nthreads, prod_xo, &job);                    /* Y = Xs Omega */
    for (int it = 0; it < q; it++) {
        orthonormalize_f(Yf, D, (int)n, l, G, tau, work, lwork);
        job.inf = Yf;
        parallel_for(nchunks, nthreads, prod_xty, &job);               /* Z = Xs^T Y */
        sum_parts_f(partf, nchunks, d * l, Zf);
        if (sd) unscale_rows_f(Zf, sd, d, l, Zf);
        orthonormalize_f(Zf, D, (int)d, l, G, tau, work, lwork);
        if (sd) unscale_rows_f(Zf, sd, d, l, Zs);
        job.inf = Zs, job.outf = Yf;
        parallel_for(nchunks, nthreads, prod_xo, &job);                /* Y = Xs Z */
    }
    free(partf);
    if (sd) free(Zs);
    free(Zf);

    /* Q = orth(Y) by Householder (the one basis whose orthogonality the variances rely on),
     * then B^T = Xc^T Q (d x l) in double */
    double *Q = xmalloc_huge((size_t)(n * l) * sizeof *Q);
    for (int64_t a = 0; a < n * l; a++) Q[a] = Yf[a];
    free(Yf);
    householder_q(Q, (int)n, l, tau, work, lwork);
    double *partd = xmalloc_huge((size_t)(nchunks * d * l) * sizeof *partd);
    job.Q = Q, job.partd = partd;
    job.blocks = xmalloc_huge((size_t)nthreads * B_BLOCK * (size_t)d * sizeof(double));
    parallel_for(nchunks, nthreads, prod_btq, &job);
    free(job.blocks);
    free(Q);
    double *Bt = D;                                                    /* d x l */
    for (int64_t e = 0; e < d * l; e++) Bt[e] = partd[e];
    for (int c = 1; c < nchunks; c++)
        for (int64_t e = 0; e < d * l; e++) Bt[e] += partd[c * d * l + e];
    if (sd)                                                            /* D^-1 Xc^T Q */
        for (int c = 0; c < l; c++)
            for (int64_t j = 0; j < d; j++) Bt[c * d + j] /= sd[j];
    free(partd);

    /* B^T = U S W^T: the columns of U are the right singular vectors of B */
    int di = (int)d, info, lw = -1;
    double *S = xmalloc((size_t)l * sizeof *S), *U = xmalloc_huge((size_t)(d * l) * sizeof *U);
    double *VT = xmalloc((size_t)l * l * sizeof *VT), wq;
    int *iwork = xmalloc((size_t)8 * l * sizeof *iwork);
    dgesdd_("S", &di, &l, Bt, &di, S, U, &di, VT, &l, &wq, &lw, iwork, &info, 1);
    lw = (int)wq;
    double *w2 = xmalloc((size_t)(lw > 1 ? lw : 1) * sizeof *w2);
    dgesdd_("S", &di, &l, Bt, &di, S, U, &di, VT, &l, w2, &lw, iwork, &info, 1);
    if (info != 0) die("pca: SVD failed (LAPACK info %d)", info);
    for (int c = 0; c < k; c++) {
        var[c] = S[c] * S[c] / (double)(n - 1);
        memcpy(comps + (int64_t)c * d, U + (int64_t)c * d, (size_t)d * sizeof *comps);
    }
    free(w2);
    free(iwork);
    free(VT);
    free(U);
    free(S);
    free(work);
    free(tau);
    free(G);
    free(D);
}

/* ---- fit ---- */

/* Column statistics, one block of columns per item: every column's sums run over the rows
 * in order, so the bits do not depend on the threads. Two passes (mean, then squared
 * deviations: the one-pass sum of squares loses digits when the mean is large). The second
 * pass also centres float rows in place, or writes the float copy of centred double rows
 * for the randomized solver. */
#define STAT_COLS 512

typedef struct {
    const pca_src *s;
    double *mean, *sq;      /* sq: sum of squared deviations per column */
    double *sd;             /* standardisation divisors, or NULL */
    float *Xf;              /* double rows: NULL, or their centred float copy (n x d) */
} stats_job;

/* The loops of one row's block of columns, written for a trip count known at compile time
 * when the block is full (STAT_COLS), so that the compiler vectorises them: every column
 * keeps its own sum, so vectorising changes no rounding. */
static inline void sum_cols_f(double *restrict acc, const float *restrict x, int64_t w)
{
    for (int64_t j = 0; j < w; j++) acc[j] += x[j];
}

static inline void sum_cols_d(double *restrict acc, const double *restrict x, int64_t w)
{
    for (int64_t j = 0; j < w; j++) acc[j] += x[j];
}

/* sq += (x - mean)^2 and x <- (float)(x - mean), in place. */
static inline void centre_cols_f(float *restrict x, const double *restrict mean,
                                 double *restrict sq, int64_t w)
{
    for (int64_t j = 0; j < w; j++) {
        double v = (double)x[j] - mean[j];
        sq[j] += v * v;
        x[j] = (float)v;
    }
}

/* sq += (x - mean)^2 and xf = (float)(x - mean). */
static inline void centre_cols_d(const double *restrict x, const double *restrict mean,
                                 double *restrict sq, float *restrict xf, int64_t w)
{
    for (int64_t j = 0; j < w; j++) {
        double v = x[j] - mean[j];
        sq[j] += v * v;
        xf[j] = (float)v;
    }
}

static inline void sumsq_cols_d(const double *restrict x, const double *restrict mean,
                                double *restrict sq, int64_t w)
{
    for (int64_t j = 0; j < w; j++) {
        double v = x[j] - mean[j];
        sq[j] += v * v;
    }
}

static void stats_block(void *ctx, int64_t b, int thread)
{
    (void)thread;
    stats_job *t = ctx;
    const pca_src *s = t->s;
    int64_t n = s->n, d = s->d, j0 = b * STAT_COLS, w = d - j0 < STAT_COLS ? d - j0 : STAT_COLS;
    int full = w == STAT_COLS;
    double *mean = t->mean + j0, *sq = t->sq + j0;
    for (int64_t j = 0; j < w; j++) mean[j] = sq[j] = 0;
    for (int64_t i = 0; i < n; i++) {
        if (s->f) {
            if (full) sum_cols_f(mean, s->f + i * d + j0, STAT_COLS);
            else sum_cols_f(mean, s->f + i * d + j0, w);
        } else {
            if (full) sum_cols_d(mean, s->x + i * d + j0, STAT_COLS);
            else sum_cols_d(mean, s->x + i * d + j0, w);
        }
    }
    for (int64_t j = 0; j < w; j++) mean[j] /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        if (s->f) {
            float *x = s->f + i * d + j0;
            if (full) centre_cols_f(x, mean, sq, STAT_COLS);
            else centre_cols_f(x, mean, sq, w);
        } else if (t->Xf) {
            const double *x = s->x + i * d + j0;
            float *xf = t->Xf + i * d + j0;
            if (full) centre_cols_d(x, mean, sq, xf, STAT_COLS);
            else centre_cols_d(x, mean, sq, xf, w);
        } else {
            if (full) sumsq_cols_d(s->x + i * d + j0, mean, sq, STAT_COLS);
            else sumsq_cols_d(s->x + i * d + j0, mean, sq, w);
        }
    }
    if (!t->sd) return;
    /* Standardisation: each centred column divided by its standard deviation (ddof = 0, as
     * StandardScaler; a constant column keeps divisor 1), so that features measured in
     * different units weigh the same. */
    for (int64_t j = 0; j < w; j++) {
        double v = sqrt(sq[j] / (double)n);
        int kept = v > 1e-12 * (1 + v);
        t->sd[j0 + j] = kept ? v : 1;
        sq[j] = kept ? (double)n : 0;   /* the standardised column's sum of squares */
    }
}

/* The exact solver's double copy of the centred (standardised) rows. */
typedef struct {
    const pca_src *s;
    const double *mean, *sd;
    double *Xc;
} copy_job;

static void copy_row(void *ctx, int64_t i, int thread)
{
    (void)thread;
    copy_job *t = ctx;
    centred_row(t->s, i, t->mean, t->sd, t->Xc + i * t->s->d);
}

/* Components that are not unit vectors orthogonal to the earlier ones (zero singular value
 * on the Gram path) are replaced by the first canonical basis vector e_j that survives
 * Gram-Schmidt against them: any unit vector of the null space is a valid component. */
static void complete_basis(double *comps, int k, int64_t d)
{
    for (int c = 0; c < k; c++) {
        double *v = comps + (int64_t)c * d;
        double nn = 0.0;
        for (int64_t j = 0; j < d; j++) nn += v[j] * v[j];
        int ok = fabs(nn - 1.0) < 1e-6;
        for (int e = 0; ok && e < c; e++) {
            double dot = 0.0;
            for (int64_t j = 0; j < d; j++) dot += v[j] * comps[(int64_t)e * d + j];
            if (fabs(dot) > 1e-6) ok = 0;
        }
        if (ok) continue;
        for (int64_t jj = 0; jj < d; jj++) {
            memset(v, 0, (size_t)d * sizeof *v);
            v[jj] = 1.0;
            for (int pass = 0; pass < 2; pass++) /* twice is enough (Kahan) */
                for (int e = 0; e < c; e++) {
                    const double *u = comps + (int64_t)e * d;
                    double dot = 0.0;
                    for (int64_t j = 0; j < d; j++) dot += v[j] * u[j];
                    for (int64_t j = 0; j < d; j++) v[j] -= dot * u[j];
                }
            nn = 0.0;
            for (int64_t j = 0; j < d; j++) nn += v[j] * v[j];
            if (nn > 1e-3) {
                for (int64_t j = 0; j < d; j++) v[j] /= sqrt(nn);
                break;
            }
        }
    }
}

/* svd_flip on the components: the largest-|.| loading of each is made positive. */
static void flip_signs(double *comps, int k, int64_t d)
{
    for (int c = 0; c < k; c++) {
        double *v = comps + (int64_t)c * d;
        int64_t big = 0;
        for (int64_t j = 1; j < d; j++)
            if (fabs(v[j]) > fabs(v[big])) big = j;
        if (v[big] < 0)
            for (int64_t j = 0; j < d; j++) v[j] = -v[j];
    }
}

static void pack_components(pca_model *m);

static void check_params(int64_t n, int64_t d, const pca_params *p)
{
    if (n < 2) die("PCA needs at least 2 rows (got %lld)", (long long)n);
    if (d < 1) die("PCA needs at least 1 column");
    int64_t m = n < d ? n : d;
    if (p->k < 0 || p->k > m)
        die("%d components requested but min(rows, columns) = %lld", p->k, (long long)m);
    if (p->k == 0 && !(p->variance > 0 && p->variance < 1))
        die("the variance fraction must be in (0, 1)");
}

/* The components of the solvers (k x d, for the possibly standardised rows): completed,
 * sign-fixed, standardisation folded in, packed for the projection. */
static void finish_model(pca_model *mod, int k, double *var, double *comps, const double *sd,
                         const pca_params *p)
{
    int64_t d = mod->d;
    complete_basis(comps, k, d);
    flip_signs(comps, k, d);
    /* A component v of the standardised data projects x as sum_j (x_j - m_j) / s_j * v_j,
     * so the model stores v_j / s_j and applies exactly like an unstandardised one. */
    if (sd)
        for (int c = 0; c < k; c++)
            for (int64_t j = 0; j < d; j++) comps[(int64_t)c * d + j] /= sd[j];
    mod->k = k;
    mod->components = xrealloc(comps, (size_t)((int64_t)k * d) * sizeof *comps);
    mod->variance = xrealloc(var, (size_t)k * sizeof *var);
    mod->scale = xmalloc((size_t)k * sizeof *mod->scale);
    for (int c = 0; c < k; c++)
        mod->scale[c] = p->whiten && mod->variance[c] > 0 ? sqrt(mod->variance[c]) : 1.0;
    pack_components(mod);
}

static pca_model fit_source(const pca_src *s, const pca_params *p)
{
    int64_t n = s->n, d = s->d, m = n < d ? n : d;
    check_params(n, d, p);
    pca_model mod = {.d = d};
    pca_method method = p->method == PCA_AUTO ? pca_auto_method(n, d, p->k) : p->method;
    mod.method = method;
    mod.mean = xmalloc((size_t)d * sizeof *mod.mean);
    double *sq = xmalloc((size_t)d * sizeof *sq), *sd = NULL;
    if (p->standardize) sd = xmalloc((size_t)d * sizeof *sd);
    float *Xf = NULL;                       /* the range finder's float rows */
    if (method == PCA_RANDOMIZED) Xf = s->f ? s->f : xmalloc_huge((size_t)(n * d) * sizeof *Xf);
    stats_job st = {s, mod.mean, sq, sd, s->f ? NULL : Xf};
    parallel_for((d + STAT_COLS - 1) / STAT_COLS, 0, stats_block, &st);
    double total = 0.0;
    for (int64_t j = 0; j < d; j++) total += sq[j] / (double)(n - 1);  /* ddof = 1 */
    mod.total_variance = total;
    free(sq);

    /* GSL failures come back as status codes (gsl_check names them) instead of abort() */
    gsl_error_handler_t *old_handler = gsl_set_error_handler_off();
    int k = p->k;
    double *var = NULL, *comps = NULL;
    if (method == PCA_EXACT) {
        double *Xc = xmalloc_huge((size_t)(n * d) * sizeof *Xc);
        copy_job cj = {s, mod.mean, sd, Xc};
        parallel_for(n, 0, copy_row, &cj);
        k = exact_solve(Xc, n, d, k, p->variance, total, &var, &comps);
        free(Xc);
    } else {
        /* our threads run the products; OpenBLAS stays on one inside each */
        int blas_threads = openblas_get_num_threads();
        openblas_set_num_threads(1);
        int oversample = p->oversample < 0 ? 0 : p->oversample;
        if (k > 0) {
            int q = p->power_iter >= 0 ? p->power_iter : (k < 0.1 * (double)m ? 7 : 4);
            mod.power_iter = q;
            var = xmalloc((size_t)k * sizeof *var);
            comps = xmalloc((size_t)((int64_t)k * d) * sizeof *comps);
            randomized_solve(Xf, s, mod.mean, sd, k, oversample, q, p->seed, p->blas_threads,
                             var, comps);
        } else {
            /* --variance without the whole spectrum: the total variance is known (trace), so
             * fit 32, 64, 128 ... components until their cumulative share passes the target
             * before the last one, or every component is in. */
            for (int64_t kt = 32;; kt *= 2) {
                if (kt > m) kt = m;
                int q = p->power_iter >= 0 ? p->power_iter : (kt < 0.1 * (double)m ? 7 : 4);
                mod.power_iter = q;
                free(var);
                free(comps);
                var = xmalloc((size_t)kt * sizeof *var);
                comps = xmalloc((size_t)(kt * d) * sizeof *comps);
                randomized_solve(Xf, s, mod.mean, sd, (int)kt, oversample, q, p->seed,
                                 p->blas_threads, var, comps);
                int c = total > 0 ? count_for_variance(var, kt, total, p->variance) : 1;
                if ((c > 0 && c < kt) || kt == m) {
                    k = c > 0 ? c : (int)kt;
                    break;
                }
            }
        }
        openblas_set_num_threads(blas_threads);
    }
    gsl_set_error_handler(old_handler);
    if (Xf != s->f) free(Xf);
    finish_model(&mod, k, var, comps, sd, p);
    free(sd);
    return mod;
}

pca_model pca_fit(const double *X, int64_t n, int64_t d, const pca_params *p)
{
    pca_src s = {.x = X, .n = n, .d = d};
    return fit_source(&s, p);
}

/* Projection of the fitted rows, each as pca_transform_row would do it. */
typedef struct {
    const pca_model *m;
    const pca_src *s;
    double *Y;
    int width;              /* rows per kernel call */
    double *bufs;           /* per thread: width x d centred rows */
} fitted_job;

static void project_centred(const pca_model *m, const double *xc, int rows, double *out);
static int project_width(void);

#define FIT_BLOCK 64        /* rows per item of the projection */

static void fitted_block(void *ctx, int64_t b, int thread)
{
    fitted_job *t = ctx;
    int64_t d = t->m->d;
    double *xc = t->bufs + (int64_t)thread * t->width * d;
    int64_t i1 = (b + 1) * FIT_BLOCK < t->s->n ? (b + 1) * FIT_BLOCK : t->s->n;
    for (int64_t i = b * FIT_BLOCK; i < i1;) {
        int rows = i + t->width <= i1 ? t->width : 1;
        for (int r = 0; r < rows; r++) centred_row(t->s, i + r, t->m->mean, NULL, xc + r * d);
        project_centred(t->m, xc, rows, t->Y + i * t->m->k);
        i += rows;
    }
}

static pca_model fit_transform_source(const pca_src *s, const pca_params *p, double **Y)
{
    pca_model mod = fit_source(s, p);
    *Y = xmalloc_huge((size_t)(s->n * mod.k) * sizeof **Y);
    int nthreads = fp_threads();
    fitted_job t = {&mod, s, *Y, project_width(), NULL};
    t.bufs = xmalloc((size_t)(nthreads * t.width * s->d) * sizeof *t.bufs);
    parallel_for((s->n + FIT_BLOCK - 1) / FIT_BLOCK, nthreads, fitted_block, &t);
    free(t.bufs);
    return mod;
}

pca_model pca_fit_transform(const double *X, int64_t n, int64_t d, const pca_params *p,
                            double **Y)
{
    pca_src s = {.x = X, .n = n, .d = d};
    return fit_transform_source(&s, p, Y);
}

pca_model pca_fit_transform_f32(float *X, int64_t n, int64_t d, const pca_params *p,
                                double **Y)
{
    pca_src s = {.f = X, .n = n, .d = d};
    return fit_transform_source(&s, p, Y);
}

/* ---- projection ---- */

/* The kernel computes PACK components at a time: for each column j, PACK sums advance by
 * xc[j] * v_c[j] (one sum per component, in column order, so the same bits on every path
 * and whatever the vector width the compiler picks). m->packed holds the components column-interleaved for it:
 * packed[(g d + j) PACK + t] = v_{g PACK + t}[j], zero past k. */
#define PACK 8

static void pack_components(pca_model *m)
{
    int64_t d = m->d, groups = (m->k + PACK - 1) / PACK;
    free(m->packed);
    m->packed = xmalloc_huge((size_t)(groups * d * PACK) * sizeof *m->packed);
    for (int64_t g = 0; g < groups; g++)
        for (int64_t j = 0; j < d; j++)
            for (int t = 0; t < PACK; t++) {
                int64_t c = g * PACK + t;
                m->packed[(g * d + j) * PACK + t] = c < m->k ? m->components[c * d + j] : 0.0;
            }
}

/* The kernels below are compiled twice (target_clones): plain x86-64 (SSE2) and with FMA
 * (AVX), picked at load time by the CPU. Each sum gets the same operations in the same
 * order in every kernel of one clone, so a row projects to the same bits alone (--load) or
 * with others (the fit); the FMA clone rounds once per step instead of twice, so its bits
 * differ from the plain clone's in the last place - as OpenBLAS's do from one CPU to the
 * next. */
#define KERNEL __attribute__((target_clones("fma", "default")))

/* One row: eight sums in registers, advanced column by column. */
KERNEL static void project_one(const double *restrict xc, const double *restrict w, int64_t d,
                               double *acc)
{
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (int64_t j = 0; j < d; j++) {
        const double x = xc[j], *v = w + j * PACK;
        a0 += x * v[0], a1 += x * v[1], a2 += x * v[2], a3 += x * v[3];
        a4 += x * v[4], a5 += x * v[5], a6 += x * v[6], a7 += x * v[7];
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
    acc[4] = a4, acc[5] = a5, acc[6] = a6, acc[7] = a7;
}

/* Two rows at once (plain clone): each packed column is loaded once for both, and sixteen
 * independent sums keep the adders busy (one row's eight would wait on their latency). */
KERNEL static void project_two(const double *restrict xa, const double *restrict xb,
                               const double *restrict w, int64_t d, double *acc)
{
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, b7 = 0;
    for (int64_t j = 0; j < d; j++) {
        const double x = xa[j], y = xb[j], *v = w + j * PACK;
        a0 += x * v[0], a1 += x * v[1], a2 += x * v[2], a3 += x * v[3];
        a4 += x * v[4], a5 += x * v[5], a6 += x * v[6], a7 += x * v[7];
        b0 += y * v[0], b1 += y * v[1], b2 += y * v[2], b3 += y * v[3];
        b4 += y * v[4], b5 += y * v[5], b6 += y * v[6], b7 += y * v[7];
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
    acc[4] = a4, acc[5] = a5, acc[6] = a6, acc[7] = a7;
    acc[8] = b0, acc[9] = b1, acc[10] = b2, acc[11] = b3;
    acc[12] = b4, acc[13] = b5, acc[14] = b6, acc[15] = b7;
}

/* Four rows at once (FMA clone: 4-wide registers, so 32 sums fill eight of them - enough
 * independent chains to cover the FMA latency). */
KERNEL static void project_four(const double *restrict xa, const double *restrict xb,
                                const double *restrict xc, const double *restrict xd,
                                const double *restrict w, int64_t d, double *acc)
{
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, b7 = 0;
    double c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
    double d0 = 0, d1 = 0, d2 = 0, d3 = 0, d4 = 0, d5 = 0, d6 = 0, d7 = 0;
    for (int64_t j = 0; j < d; j++) {
        const double x = xa[j], y = xb[j], z = xc[j], u = xd[j], *v = w + j * PACK;
        a0 += x * v[0], a1 += x * v[1], a2 += x * v[2], a3 += x * v[3];
        a4 += x * v[4], a5 += x * v[5], a6 += x * v[6], a7 += x * v[7];
        b0 += y * v[0], b1 += y * v[1], b2 += y * v[2], b3 += y * v[3];
        b4 += y * v[4], b5 += y * v[5], b6 += y * v[6], b7 += y * v[7];
        c0 += z * v[0], c1 += z * v[1], c2 += z * v[2], c3 += z * v[3];
        c4 += z * v[4], c5 += z * v[5], c6 += z * v[6], c7 += z * v[7];
        d0 += u * v[0], d1 += u * v[1], d2 += u * v[2], d3 += u * v[3];
        d4 += u * v[4], d5 += u * v[5], d6 += u * v[6], d7 += u * v[7];
    }
    double *o = acc;
    o[0] = a0, o[1] = a1, o[2] = a2, o[3] = a3, o[4] = a4, o[5] = a5, o[6] = a6, o[7] = a7;
    o += PACK;
    o[0] = b0, o[1] = b1, o[2] = b2, o[3] = b3, o[4] = b4, o[5] = b5, o[6] = b6, o[7] = b7;
    o += PACK;
    o[0] = c0, o[1] = c1, o[2] = c2, o[3] = c3, o[4] = c4, o[5] = c5, o[6] = c6, o[7] = c7;
    o += PACK;
    o[0] = d0, o[1] = d1, o[2] = d2, o[3] = d3, o[4] = d4, o[5] = d5, o[6] = d6, o[7] = d7;
}

/* How many rows the fit projects at a time: 4 on the FMA clone, else 2. */
static int project_width(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("fma") ? 4 : 2;
}

/* rows (1, 2 or 4) centred rows xc (rows x d) -> out (rows x k). */
static void project_centred(const pca_model *m, const double *xc, int rows, double *out)
{
    int64_t d = m->d;
    int k = m->k;
    double acc[4 * PACK];
    for (int g = 0; g * PACK < k; g++) {
        const double *w = m->packed + (int64_t)g * d * PACK;
        if (rows == 4) project_four(xc, xc + d, xc + 2 * d, xc + 3 * d, w, d, acc);
        else if (rows == 2) project_two(xc, xc + d, w, d, acc);
        else project_one(xc, w, d, acc);
        for (int r = 0; r < rows; r++)
            for (int t = 0; t < PACK && g * PACK + t < k; t++)
                out[r * k + g * PACK + t] = acc[r * PACK + t] / m->scale[g * PACK + t];
    }
}

/* A per-thread scratch row of d doubles, grown on demand (the row transforms are called
 * once per streamed row, so no allocation per call). */
static double *scratch_row(int64_t d)
{
    static __thread double *xc;
    static __thread int64_t cap;
    if (cap < d) {
        free(xc);
        xc = xmalloc((size_t)d * sizeof *xc);
        cap = d;
    }
    return xc;
}

void pca_transform_row(const pca_model *m, const double *x, double *out)
{
    double *xc = scratch_row(m->d);
    for (int64_t j = 0; j < m->d; j++) xc[j] = x[j] - m->mean[j];
    project_centred(m, xc, 1, out);
}

void pca_transform_row_f32(const pca_model *m, const float *x, double *out)
{
    double *xc = scratch_row(m->d);
    for (int64_t j = 0; j < m->d; j++) xc[j] = (float)((double)x[j] - m->mean[j]);
    project_centred(m, xc, 1, out);
}

typedef struct {
    const pca_model *m;
    const double *X;
    double *Y;
    double *bufs;           /* per thread: d centred values */
} transform_job;

static void transform_one(void *ctx, int64_t i, int thread)
{
    transform_job *t = ctx;
    const pca_model *m = t->m;
    double *xc = t->bufs + (int64_t)thread * m->d;
    const double *x = t->X + i * m->d;
    for (int64_t j = 0; j < m->d; j++) xc[j] = x[j] - m->mean[j];
    project_centred(m, xc, 1, t->Y + i * m->k);
}

void pca_transform(const pca_model *m, const double *X, int64_t n, double *Y)
{
    int nthreads = fp_threads();
    transform_job t = {m, X, Y, xmalloc((size_t)(nthreads * m->d) * sizeof(double))};
    parallel_for(n, nthreads, transform_one, &t);
    free(t.bufs);
}

/* ---- model file ---- */

void pca_save(const pca_model *m, const char *path)
{
    mat_header h = mat_header_vec(MAT_F64, 3 + m->k, m->d, 16);
    mat_writer *w = mat_create(path, &h);
    double *row = xcalloc((size_t)m->d, sizeof *row);
    mat_write_row_f64(w, "mean", m->mean);
    for (int c = 0; c < m->k; c++) row[c] = m->scale[c];
    mat_write_row_f64(w, "scale", row);
    for (int c = 0; c < m->k; c++) row[c] = m->variance[c];
    mat_write_row_f64(w, "var", row);
    for (int c = 0; c < m->k; c++) {
        char id[32];
        snprintf(id, sizeof id, "pc%d", c + 1);
        mat_write_row_f64(w, id, m->components + (int64_t)c * m->d);
    }
    mat_finish(w);
    free(row);
}

pca_model pca_load(const char *path)
{
    mat_reader *r = mat_open(path);
    const mat_header *h = mat_hdr(r);
    int64_t d = mat_cols(h), rows = h->rows;
    if (rows < 4 || rows - 3 > d)
        die("%s: not a pca model: expected rows mean, scale, var, pc1..pcK with K <= %lld "
            "columns, got %lld rows", path, (long long)d, (long long)rows);
    pca_model m = {.d = d, .k = (int)(rows - 3)};
    m.mean = xmalloc((size_t)d * sizeof *m.mean);
    m.scale = xmalloc((size_t)d * sizeof *m.scale);
    m.variance = xmalloc((size_t)d * sizeof *m.variance);
    m.components = xmalloc((size_t)(m.k * d) * sizeof *m.components);
    char id[MAT_MAX_ID + 1];
    const char *want[3] = {"mean", "scale", "var"};
    double *dst[3] = {m.mean, m.scale, m.variance};
    for (int a = 0; a < 3; a++) {
        if (!mat_read_row_f64(r, id, dst[a]) || strcmp(id, want[a]) != 0)
            die("%s: not a pca model: row %d should be '%s', got '%s'", path, a + 1, want[a], id);
    }
    for (int c = 0; c < m.k; c++) {
        char expect[32];
        snprintf(expect, sizeof expect, "pc%d", c + 1);
        if (!mat_read_row_f64(r, id, m.components + (int64_t)c * d) || strcmp(id, expect) != 0)
            die("%s: not a pca model: row %d should be '%s', got '%s'", path, c + 4, expect, id);
    }
    if (mat_read_row(r, NULL, NULL)) die("%s: not a pca model: trailing rows", path);
    mat_close(r);
    for (int c = 0; c < m.k; c++)
        if (!(m.scale[c] > 0) || !isfinite(m.scale[c]))
            die("%s: bad pca model: scale of pc%d is %g", path, c + 1, m.scale[c]);
    m.scale = xrealloc(m.scale, (size_t)m.k * sizeof *m.scale);
    m.variance = xrealloc(m.variance, (size_t)m.k * sizeof *m.variance);
    pack_components(&m);
    return m;
}

void pca_free(pca_model *m)
{
    free(m->mean);
    free(m->components);
    free(m->variance);
    free(m->scale);
    free(m->packed);
    memset(m, 0, sizeof *m);
}
