/* test_pca.c - PCA against known answers:
 *   - a planted low-rank matrix: the components and their variances are recovered, by the
 *     exact and by the randomized solver
 *   - a small random case agrees with gsl_eigen_symmv on a covariance computed here by
 *     explicit loops (covariance path, Gram path n < d, randomized with l = min(n, d))
 *   - --variance picks the right count; whitening gives unit variances; sign convention
 *   - save/load round trip; row and batch projections are bit-identical; errors */
#include "check.h"
#include "pca.h"
#include "rng.h"

#include <gsl/gsl_eigen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* OpenBLAS's (its cblas.h clashes with GSL's headers) */
void openblas_set_num_threads(int num_threads);

static double dot(const double *a, const double *b, int64_t d)
{
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += a[j] * b[j];
    return s;
}

/* X = mean + sum_r z_r s_r v_r + noise, with orthonormal v (r x d). */
static double *planted(int64_t n, int64_t d, int r, const double *s, double noise, uint64_t seed,
                       double *V)
{
    rng g;
    rng_seed(&g, seed);
    for (int a = 0; a < r; a++) {
        double *v = V + a * d;
        for (int64_t j = 0; j < d; j++) v[j] = rng_normal(&g);
        for (int pass = 0; pass < 2; pass++)
            for (int b = 0; b < a; b++) {
                double t = dot(v, V + b * d, d);
                for (int64_t j = 0; j < d; j++) v[j] -= t * V[b * d + j];
            }
        double nn = sqrt(dot(v, v, d));
        for (int64_t j = 0; j < d; j++) v[j] /= nn;
    }
    /* scores z (n x r): centred and orthogonalised columns scaled to norm s_a sqrt(n-1), so
     * the sample covariance within the planted subspace is exactly diag(s^2) */
    double *Z = malloc(sizeof(double) * n * r);
    for (int64_t i = 0; i < n * r; i++) Z[i] = rng_normal(&g);
    for (int a = 0; a < r; a++) {
        double m = 0;
        for (int64_t i = 0; i < n; i++) m += Z[i * r + a] / (double)n;
        for (int64_t i = 0; i < n; i++) Z[i * r + a] -= m;
        for (int pass = 0; pass < 2; pass++)
            for (int b = 0; b < a; b++) {
                double t = 0, bb = 0;
                for (int64_t i = 0; i < n; i++) t += Z[i * r + a] * Z[i * r + b], bb += Z[i * r + b] * Z[i * r + b];
                for (int64_t i = 0; i < n; i++) Z[i * r + a] -= t / bb * Z[i * r + b];
            }
        double nn = 0;
        for (int64_t i = 0; i < n; i++) nn += Z[i * r + a] * Z[i * r + a];
        for (int64_t i = 0; i < n; i++) Z[i * r + a] *= s[a] * sqrt((double)(n - 1) / nn);
    }
    double *X = malloc(sizeof(double) * n * d);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < d; j++) X[i * d + j] = 3.0 + 0.1 * (double)j + noise * rng_normal(&g);
        for (int a = 0; a < r; a++)
            for (int64_t j = 0; j < d; j++) X[i * d + j] += Z[i * r + a] * V[a * d + j];
    }
    free(Z);
    return X;
}

static void test_planted(pca_method method, int64_t n, int64_t d)
{
    int r = 3;
    double s[3] = {10, 5, 2}, *V = malloc(sizeof(double) * r * d);
    double *X = planted(n, d, r, s, 1e-3, 42, V);
    pca_params p;
    pca_default_params(&p);
    p.k = r;
    p.method = method;
    pca_model m = pca_fit(X, n, d, &p);
    CHECK(m.k == r && m.method == method);
    for (int c = 0; c < r; c++) {
        /* the component is +-v_c; its variance the sample variance of the data along it */
        CHECK(fabs(dot(m.components + c * d, V + c * d, d)) > 1 - 1e-4);
        CHECK_NEAR(dot(m.components + c * d, m.components + c * d, d), 1.0, 1e-12);
        double mean = 0, var = 0;
        for (int64_t i = 0; i < n; i++) mean += dot(X + i * d, m.components + c * d, d) / (double)n;
        for (int64_t i = 0; i < n; i++) {
            double t = dot(X + i * d, m.components + c * d, d) - mean;
            var += t * t / (double)(n - 1);
        }
        CHECK_NEAR(m.variance[c], var, 1e-9 * var);
        CHECK(fabs(m.variance[c] / (s[c] * s[c]) - 1) < 1e-3);
        /* sign convention: the largest |loading| is positive */
        int64_t big = 0;
        for (int64_t j = 1; j < d; j++)
            if (fabs(m.components[c * d + j]) > fabs(m.components[c * d + big])) big = j;
        CHECK(m.components[c * d + big] > 0);
    }
    CHECK(m.components[0] == m.components[0]);
    /* three planted directions carry nearly all the variance */
    double cum = (m.variance[0] + m.variance[1] + m.variance[2]) / m.total_variance;
    CHECK(cum > 0.999);
    pca_free(&m);
    free(X);
    free(V);
}

/* Covariance by explicit loops and its eigendecomposition by GSL: the reference. */
static void reference(const double *X, int64_t n, int64_t d, double *eval, double *evec)
{
    double *mean = calloc((size_t)d, sizeof(double));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += X[i * d + j] / (double)n;
    gsl_matrix *C = gsl_matrix_calloc((size_t)d, (size_t)d);
    for (int64_t a = 0; a < d; a++)
        for (int64_t b = 0; b < d; b++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += (X[i * d + a] - mean[a]) * (X[i * d + b] - mean[b]);
            gsl_matrix_set(C, (size_t)a, (size_t)b, s / (double)(n - 1));
        }
    gsl_vector *e = gsl_vector_alloc((size_t)d);
    gsl_matrix *v = gsl_matrix_alloc((size_t)d, (size_t)d);
    gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc((size_t)d);
    gsl_eigen_symmv(C, e, v, w);
    gsl_eigen_symmv_sort(e, v, GSL_EIGEN_SORT_VAL_DESC);
    for (int64_t c = 0; c < d; c++) {
        eval[c] = gsl_vector_get(e, (size_t)c);
        for (int64_t j = 0; j < d; j++) evec[c * d + j] = gsl_matrix_get(v, (size_t)j, (size_t)c);
    }
    gsl_eigen_symmv_free(w);
    gsl_matrix_free(v);
    gsl_vector_free(e);
    gsl_matrix_free(C);
    free(mean);
}

static void test_against_eigen(int64_t n, int64_t d, pca_method method, int k, double tol)
{
    rng g;
    rng_seed(&g, 9);
    double *X = malloc(sizeof(double) * n * d);
    /* columns of different scales so the eigenvalues are well separated */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) X[i * d + j] = (1.0 + (double)j) * rng_normal(&g) + (double)j;
    double *eval = malloc(sizeof(double) * d), *evec = malloc(sizeof(double) * d * d);
    reference(X, n, d, eval, evec);
    pca_params p;
    pca_default_params(&p);
    p.k = k;
    p.method = method;
    pca_model m = pca_fit(X, n, d, &p);
    double tot = 0;
    for (int64_t c = 0; c < d; c++) tot += eval[c];
    CHECK_NEAR(m.total_variance, tot, 1e-10 * tot);
    int vbad = 0, cbad = 0;
    for (int c = 0; c < k; c++) {
        if (fabs(m.variance[c] - eval[c]) > tol * eval[0]) {
            vbad++;
            fprintf(stderr, "variance %d: %.12g vs %.12g\n", c, m.variance[c], eval[c]);
        }
        double cosine = fabs(dot(m.components + c * d, evec + c * d, d));
        if (eval[c] > 1e-9 * eval[0] && fabs(cosine - 1) > 10 * tol) {
            cbad++;
            fprintf(stderr, "component %d: |cos| %.12g\n", c, cosine);
        }
    }
    CHECK(vbad == 0);
    CHECK(cbad == 0);
    /* orthonormal rows, whatever the rank */
    int obad = 0;
    for (int a = 0; a < k; a++)
        for (int b = 0; b <= a; b++)
            if (fabs(dot(m.components + a * d, m.components + b * d, d) - (a == b)) > 1e-9) obad++;
    CHECK(obad == 0);
    pca_free(&m);
    free(X);
    free(eval);
    free(evec);
}

static void test_variance_and_whiten(void)
{
    int64_t n = 300, d = 12;
    int r = 3;
    double s[3] = {10, 5, 2}, V[3 * 12];
    double *X = planted(n, d, r, s, 0.05, 5, V);
    pca_params p;
    pca_default_params(&p);
    /* ratios of the planted spectrum are about 0.79, 0.20, 0.03: 0.9 needs 2, 0.99 needs 3 */
    p.variance = 0.9;
    pca_model m = pca_fit(X, n, d, &p);
    CHECK(m.k == 2);
    pca_free(&m);
    p.variance = 0.99;
    m = pca_fit(X, n, d, &p);
    CHECK(m.k == 3);
    pca_free(&m);
    p.method = PCA_RANDOMIZED; /* the doubling search gives the same count */
    m = pca_fit(X, n, d, &p);
    CHECK(m.k == 3);
    pca_free(&m);

    pca_default_params(&p);
    p.k = 3;
    p.whiten = 1;
    m = pca_fit(X, n, d, &p);
    double *Y = malloc(sizeof(double) * n * 3);
    pca_transform(&m, X, n, Y);
    for (int c = 0; c < 3; c++) {
        double mean = 0, var = 0;
        for (int64_t i = 0; i < n; i++) mean += Y[i * 3 + c] / (double)n;
        for (int64_t i = 0; i < n; i++) var += (Y[i * 3 + c] - mean) * (Y[i * 3 + c] - mean) / (double)(n - 1);
        CHECK_NEAR(mean, 0.0, 1e-10);
        CHECK_NEAR(var, 1.0, 1e-10);
    }
    /* batch and row projections are the same bits */
    double row[3];
    int same = 1;
    for (int64_t i = 0; i < n; i++) {
        pca_transform_row(&m, X + i * d, row);
        if (memcmp(row, Y + i * 3, sizeof row) != 0) same = 0;
    }
    CHECK(same);

    /* save / load round trip through a file */
    char path[] = "/tmp/test_pca_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    pca_save(&m, path);
    pca_model l = pca_load(path);
    CHECK(l.k == 3 && l.d == d);
    CHECK(memcmp(l.mean, m.mean, sizeof(double) * d) == 0);
    CHECK(memcmp(l.components, m.components, sizeof(double) * d * 3) == 0);
    CHECK(memcmp(l.scale, m.scale, sizeof(double) * 3) == 0);
    CHECK(memcmp(l.variance, m.variance, sizeof(double) * 3) == 0);
    same = 1;
    for (int64_t i = 0; i < n; i++) {
        pca_transform_row(&l, X + i * d, row);
        if (memcmp(row, Y + i * 3, sizeof row) != 0) same = 0;
    }
    CHECK(same);
    pca_free(&l);
    unlink(path);
    pca_free(&m);
    free(Y);
    free(X);
}

static void test_determinism_and_errors(void)
{
    int64_t n = 400, d = 300; /* min(n, d) > PCA_EXACT_MAX_DIM: auto picks randomized */
    rng g;
    rng_seed(&g, 1);
    double *X = malloc(sizeof(double) * n * d);
    for (int64_t a = 0; a < n * d; a++) X[a] = rng_normal(&g);
    CHECK(pca_auto_method(n, d, 5) == PCA_RANDOMIZED);
    CHECK(pca_auto_method(1000, 200, 5) == PCA_EXACT);
    CHECK(pca_auto_method(150, 5000, 5) == PCA_EXACT);
    pca_params p;
    pca_default_params(&p);
    p.k = 5;
    pca_model a = pca_fit(X, n, d, &p), b = pca_fit(X, n, d, &p);
    CHECK(a.method == PCA_RANDOMIZED && a.power_iter == 7);
    CHECK(memcmp(a.components, b.components, sizeof(double) * 5 * d) == 0);
    CHECK(memcmp(a.variance, b.variance, sizeof(double) * 5) == 0);
    pca_free(&b);
    p.seed = 2;
    b = pca_fit(X, n, d, &p);
    CHECK(memcmp(a.variance, b.variance, sizeof(double) * 5) != 0);
    pca_free(&a);
    pca_free(&b);
    /* the exact solver, and the randomized one with blas_threads = 1, give the same bits
     * whatever OpenBLAS's own thread count */
    p.seed = 1;
    p.blas_threads = 1;
    openblas_set_num_threads(2);
    a = pca_fit(X, n, d, &p);
    pca_params pe = p;
    pe.method = PCA_EXACT;
    pca_model e2 = pca_fit(X, n, 40, &pe);
    openblas_set_num_threads(1);
    b = pca_fit(X, n, d, &p);
    pca_model e1 = pca_fit(X, n, 40, &pe);
    CHECK(memcmp(a.components, b.components, sizeof(double) * 5 * d) == 0);
    CHECK(memcmp(e1.components, e2.components, sizeof(double) * 5 * 40) == 0);
    CHECK(memcmp(e1.variance, e2.variance, sizeof(double) * 5) == 0);
    pca_free(&a);
    pca_free(&b);
    pca_free(&e1);
    pca_free(&e2);
    p.k = 3;
    EXPECT_DIE(pca_fit(X, 1, d, &p), "at least 2 rows");
    p.k = 11;
    EXPECT_DIE(pca_fit(X, 10, d, &p), "min(rows, columns) = 10");
    EXPECT_DIE(pca_load("/nonexistent/model.npy"), "model.npy");
    free(X);
}

int main(void)
{
    test_planted(PCA_EXACT, 500, 20);          /* covariance path */
    test_planted(PCA_EXACT, 40, 60);           /* Gram path (n < d) */
    test_planted(PCA_RANDOMIZED, 500, 400);
    test_against_eigen(50, 8, PCA_EXACT, 8, 1e-10);
    test_against_eigen(6, 10, PCA_EXACT, 6, 1e-10); /* Gram path: rank 5, the 6th completed */
    test_against_eigen(50, 8, PCA_RANDOMIZED, 8, 1e-10); /* l = min(n, d): exact too */
    test_against_eigen(60, 30, PCA_RANDOMIZED, 4, 1e-5); /* l = 14 < 30: approximate */
    test_variance_and_whiten();
    test_determinism_and_errors();
    return check_summary("test_pca");
}
