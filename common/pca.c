/* pca.c - PCA by exact eigendecomposition or randomized SVD (GSL, BLAS from OpenBLAS).
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
 * left singular subspace; q power iterations Y <- Xc (Xc^T Y), each followed by a QR
 * re-orthonormalisation (so small singular values are not lost to rounding), sharpen it by
 * the factor (s_j / s_l)^(2q). With Q = orth(Y) (n x l), B = Q^T Xc is l x d and its SVD
 * B = W S V^T gives the top singular values and right vectors of Xc. We take the SVD of the
 * tall B^T = V S W^T (d x l) with GSL's Golub-Reinsch. Cost: about 2 (q + 1) gemms of
 * n x d x l, instead of d^3 for the covariance eigendecomposition.
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
 * CBLAS enums). The Makefile links OpenBLAS. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

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

/* Eigendecomposes, then keeps k components (k == 0: the count for the variance fraction
 * `frac` of `total`). Returns k; *var_out (k) and *comps_out (k x d) are allocated here.
 * The n < d (Gram) path cannot form a component with zero singular value; those rows are
 * left zero and completed later. */
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
        if (!(e > 1e-12 * top) || e <= 0) {
            memset(v, 0, (size_t)d * sizeof *v);
            continue;
        }
        memset(v, 0, (size_t)d * sizeof *v);
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

/* Replaces the columns of A (M x N, M >= N) by an orthonormal basis of their span: the thin
 * Q of a Householder QR. gsl_linalg_QR_decomp_r leaves R in the upper triangle of A, the
 * Householder vectors V (unit lower trapezoidal, M x N) below it, and the N x N block
 * reflector T with Q = I - V T V^T (compact WY form). The first N columns of Q are then
 *     Q_thin = E - V (T V1^T),  E = [I_N; 0],  V1 = the top N x N block of V,
 * two small gemms instead of forming the M x M Q (GSL 2.7 only unpacks the full one). */
static void orthonormalize(gsl_matrix *A)
{
    size_t M = A->size1, N = A->size2;
    gsl_matrix *T = gsl_matrix_calloc(N, N), *V = gsl_matrix_calloc(M, N),
               *W = gsl_matrix_alloc(N, N);
    gsl_check(gsl_linalg_QR_decomp_r(A, T), "QR decomposition"); /* T: upper triangle only */
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N && j <= i; j++)
            gsl_matrix_set(V, i, j, i == j ? 1.0 : gsl_matrix_get(A, i, j));
    gsl_matrix_const_view V1 = gsl_matrix_const_submatrix(V, 0, 0, N, N);
    gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, T, &V1.matrix, 0.0, W);
    gsl_matrix_set_zero(A);
    for (size_t j = 0; j < N; j++) gsl_matrix_set(A, j, j, 1.0);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, -1.0, V, W, 1.0, A);
    gsl_matrix_free(T);
    gsl_matrix_free(V);
    gsl_matrix_free(W);
}

static void to_float(const gsl_matrix *a, gsl_matrix_float *b)
{
    for (size_t i = 0; i < a->size1 * a->size2; i++) b->data[i] = (float)a->data[i];
}

static void to_double(const gsl_matrix_float *a, gsl_matrix *b)
{
    for (size_t i = 0; i < a->size1 * a->size2; i++) b->data[i] = a->data[i];
}

/* Top-k right singular vectors (comps, k x d) and variances (var, k) of Xc.
 * The range finder's 2q + 1 products with the big n x d matrix run in single precision (a
 * float copy of Xc: half the memory traffic, twice the flop rate); it only has to find the
 * subspace, and its rounding (1e-7) is far below the randomized error. The QRs, the final
 * B = Q^T Xc and the SVD of B are in double, so the variances are the exact Rayleigh-Ritz
 * values of that subspace. */
static void randomized_solve(const double *Xc, int64_t n, int64_t d, int k, int oversample,
                             int q, uint64_t seed, double *var, double *comps)
{
    int64_t m = n < d ? n : d;
    int64_t l = k + oversample < m ? k + oversample : m;
    gsl_matrix_float *Xf = gsl_matrix_float_alloc((size_t)n, (size_t)d);
    for (size_t a = 0; a < (size_t)(n * d); a++) Xf->data[a] = (float)Xc[a];
    gsl_matrix *Om = gsl_matrix_alloc((size_t)d, (size_t)l), *Y = gsl_matrix_alloc((size_t)n, (size_t)l);
    gsl_matrix_float *Omf = gsl_matrix_float_alloc((size_t)d, (size_t)l),
                     *Yf = gsl_matrix_float_alloc((size_t)n, (size_t)l);
    rng r;
    rng_seed(&r, seed);
    for (size_t a = 0; a < (size_t)(d * l); a++) Omf->data[a] = (float)rng_normal(&r);
    gsl_blas_sgemm(CblasNoTrans, CblasNoTrans, 1.0f, Xf, Omf, 0.0f, Yf); /* Y = Xc Omega */
    for (int it = 0; it < q; it++) {
        to_double(Yf, Y);
        orthonormalize(Y);
        to_float(Y, Yf);
        gsl_blas_sgemm(CblasTrans, CblasNoTrans, 1.0f, Xf, Yf, 0.0f, Omf); /* Z = Xc^T Y */
        to_double(Omf, Om);
        orthonormalize(Om);
        to_float(Om, Omf);
        gsl_blas_sgemm(CblasNoTrans, CblasNoTrans, 1.0f, Xf, Omf, 0.0f, Yf); /* Y = Xc Z */
    }
    to_double(Yf, Y);
    gsl_matrix_float_free(Xf);
    gsl_matrix_float_free(Omf);
    gsl_matrix_float_free(Yf);
    orthonormalize(Y);                                                /* Q */
    gsl_matrix_const_view xv = gsl_matrix_const_view_array(Xc, (size_t)n, (size_t)d);
    gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &xv.matrix, Y, 0.0, Om); /* B^T = Xc^T Q */
    gsl_matrix *V = gsl_matrix_alloc((size_t)l, (size_t)l);
    gsl_vector *S = gsl_vector_alloc((size_t)l), *work = gsl_vector_alloc((size_t)l);
    gsl_check(gsl_linalg_SV_decomp(Om, V, S, work), "SVD");          /* Om <- U (d x l) */
    for (int c = 0; c < k; c++) {
        double s = gsl_vector_get(S, (size_t)c);
        var[c] = s * s / (double)(n - 1);
        for (int64_t j = 0; j < d; j++) comps[(int64_t)c * d + j] = gsl_matrix_get(Om, (size_t)j, (size_t)c);
    }
    gsl_vector_free(S);
    gsl_vector_free(work);
    gsl_matrix_free(V);
    gsl_matrix_free(Y);
    gsl_matrix_free(Om);
}

/* ---- fit ---- */

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

static pca_model fit_centred(double *Xc, int64_t n, int64_t d, const pca_params *p,
                             pca_model mod);

/* Column means, then X - mean written to Xc (which may be X itself); returns the total
 * variance (ddof = 1). */
static double centre(const double *X, double *Xc, int64_t n, int64_t d, double *mean)
{
    memset(mean, 0, (size_t)d * sizeof *mean);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += X[i * d + j];
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
    double total = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double v = X[i * d + j] - mean[j];
            Xc[i * d + j] = v;
            total += v * v;
        }
    return total / (double)(n - 1);
}

/* Standardisation: divide every centred column by its standard deviation (ddof = 0, as
 * StandardScaler; constant columns keep scale 1), so that features measured in different
 * units weigh the same. Returns the column scales and the new total variance (ddof = 1). */
static double *standardize_columns(double *Xc, int64_t n, int64_t d, double *total)
{
    double *sd = xmalloc((size_t)d * sizeof *sd);
    for (int64_t j = 0; j < d; j++) sd[j] = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) sd[j] += Xc[i * d + j] * Xc[i * d + j];
    *total = 0;
    for (int64_t j = 0; j < d; j++) {
        sd[j] = sqrt(sd[j] / (double)n);
        if (!(sd[j] > 1e-12 * (1 + fabs(sd[j])))) sd[j] = 1;
        else *total += (double)n / (double)(n - 1);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) Xc[i * d + j] /= sd[j];
    return sd;
}

/* A component v of the standardised data projects x as sum_j (x_j - m_j) / s_j * v_j, so
 * the model stores v_j / s_j and applies exactly like an unstandardised one. */
static void fold_scales(pca_model *m, const double *sd)
{
    for (int c = 0; c < m->k; c++)
        for (int64_t j = 0; j < m->d; j++) m->components[(int64_t)c * m->d + j] /= sd[j];
}

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

pca_model pca_fit(const double *X, int64_t n, int64_t d, const pca_params *p)
{
    check_params(n, d, p);
    pca_model mod = {.d = d};
    mod.mean = xmalloc((size_t)d * sizeof *mod.mean);
    double *Xc = xmalloc((size_t)(n * d) * sizeof *Xc);
    mod.total_variance = centre(X, Xc, n, d, mod.mean);
    double *sd = p->standardize ? standardize_columns(Xc, n, d, &mod.total_variance) : NULL;
    mod = fit_centred(Xc, n, d, p, mod);
    if (sd) fold_scales(&mod, sd);
    free(sd);
    free(Xc);
    return mod;
}

/* Projection of an already centred row: the same operations in the same order as
 * pca_transform_row, whose (x[j] - mean[j]) are exactly the centred values. */
static void project_centred(const pca_model *m, const double *xc, double *out);

typedef struct {
    const pca_model *m;
    const double *Xc;
    double *Y;
} centred_job;

static void centred_one(void *ctx, int64_t i, int thread)
{
    (void)thread;
    centred_job *t = ctx;
    project_centred(t->m, t->Xc + i * t->m->d, t->Y + i * t->m->k);
}

pca_model pca_fit_transform(double *X, int64_t n, int64_t d, const pca_params *p, double **Y)
{
    check_params(n, d, p);
    pca_model mod = {.d = d};
    mod.mean = xmalloc((size_t)d * sizeof *mod.mean);
    mod.total_variance = centre(X, X, n, d, mod.mean);
    double *sd = p->standardize ? standardize_columns(X, n, d, &mod.total_variance) : NULL;
    mod = fit_centred(X, n, d, p, mod);
    *Y = xmalloc((size_t)(n * mod.k) * sizeof **Y);
    centred_job t = {&mod, X, *Y};
    parallel_for(n, 0, centred_one, &t);   /* standardised rows x the unfolded components */
    if (sd) fold_scales(&mod, sd);
    free(sd);
    return mod;
}

static pca_model fit_centred(double *Xc, int64_t n, int64_t d, const pca_params *p,
                             pca_model mod)
{
    int64_t m = n < d ? n : d;
    double total = mod.total_variance;
    /* GSL failures come back as status codes (gsl_check names them) instead of abort() */
    gsl_error_handler_t *old_handler = gsl_set_error_handler_off();
    pca_method method = p->method == PCA_AUTO ? pca_auto_method(n, d, p->k) : p->method;
    mod.method = method;
    int k = p->k;
    double *var = NULL, *comps = NULL;
    if (method == PCA_EXACT) {
        k = exact_solve(Xc, n, d, k, p->variance, total, &var, &comps);
    } else {
        int blas_threads = openblas_get_num_threads();
        if (p->blas_threads > 0) openblas_set_num_threads(p->blas_threads);
        int oversample = p->oversample < 0 ? 0 : p->oversample;
        if (k > 0) {
            int q = p->power_iter >= 0 ? p->power_iter : (k < 0.1 * (double)m ? 7 : 4);
            mod.power_iter = q;
            var = xmalloc((size_t)k * sizeof *var);
            comps = xmalloc((size_t)((int64_t)k * d) * sizeof *comps);
            randomized_solve(Xc, n, d, k, oversample, q, p->seed, var, comps);
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
                randomized_solve(Xc, n, d, (int)kt, oversample, q, p->seed, var, comps);
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
    complete_basis(comps, k, d);
    flip_signs(comps, k, d);
    mod.k = k;
    mod.components = xrealloc(comps, (size_t)((int64_t)k * d) * sizeof *comps);
    mod.variance = xrealloc(var, (size_t)k * sizeof *var);
    mod.scale = xmalloc((size_t)k * sizeof *mod.scale);
    for (int c = 0; c < k; c++)
        mod.scale[c] = p->whiten && mod.variance[c] > 0 ? sqrt(mod.variance[c]) : 1.0;
    return mod;
}

/* ---- projection ---- */

/* y_c = xc . v_c / scale_c with four partial sums in a fixed order (vectorisable, and the
 * same bits on every path). */
static void project_centred(const pca_model *m, const double *xc, double *out)
{
    int64_t d = m->d;
    for (int c = 0; c < m->k; c++) {
        const double *v = m->components + (int64_t)c * d;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t j = 0;
        for (; j + 4 <= d; j += 4) {
            s0 += xc[j] * v[j];
            s1 += xc[j + 1] * v[j + 1];
            s2 += xc[j + 2] * v[j + 2];
            s3 += xc[j + 3] * v[j + 3];
        }
        for (; j < d; j++) s0 += xc[j] * v[j];
        out[c] = ((s0 + s1) + (s2 + s3)) / m->scale[c];
    }
}

void pca_transform_row(const pca_model *m, const double *x, double *out)
{
    static __thread double *xc;
    static __thread int64_t cap;
    if (cap < m->d) {
        free(xc);
        xc = xmalloc((size_t)m->d * sizeof *xc);
        cap = m->d;
    }
    for (int64_t j = 0; j < m->d; j++) xc[j] = x[j] - m->mean[j];
    project_centred(m, xc, out);
}

typedef struct {
    const pca_model *m;
    const double *X;
    double *Y;
} transform_job;

static void transform_one(void *ctx, int64_t i, int thread)
{
    (void)thread;
    transform_job *t = ctx;
    pca_transform_row(t->m, t->X + i * t->m->d, t->Y + i * t->m->k);
}

void pca_transform(const pca_model *m, const double *X, int64_t n, double *Y)
{
    transform_job t = {m, X, Y};
    parallel_for(n, 0, transform_one, &t);
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
    return m;
}

void pca_free(pca_model *m)
{
    free(m->mean);
    free(m->components);
    free(m->variance);
    free(m->scale);
    memset(m, 0, sizeof *m);
}
