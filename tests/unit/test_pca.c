/* test_pca.c - PCA against known answers:
 *   - a planted low-rank matrix: the components and their variances are recovered, by the
 *     exact and by the randomized solver
 *   - a small random case agrees with gsl_eigen_symmv on a covariance computed here by
 *     explicit loops (covariance path, Gram path n < d, randomized with l = min(n, d))
 *   - --variance picks the right count; whitening gives unit variances; sign convention
 *   - save/load round trip; row and batch projections are bit-identical; errors
 *   - --standardize: the eigenpairs of the standardised columns, folded into the model
 *   - the float path (float rows centred in place) agrees with the double one, and its
 *     fitted rows have the bits of pca_transform_row_f32; the f32 loader it reads with
 *   - the randomized solver gives the same bits whatever the number of threads */
#include "check.h"
#include "mat.h"
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

/* Columns of very different scales and one constant column: standardised PCA must equal
 * the eigendecomposition of the standardised matrix (computed here by explicit loops), and
 * the stored components must be those eigenvectors divided by the column deviations. */
static void test_standardize(pca_method method, int64_t n, int64_t d, int k, double tol)
{
    rng g;
    rng_seed(&g, 21);
    double *X = malloc(sizeof(double) * n * d), *Z = malloc(sizeof(double) * n * d);
    for (int64_t i = 0; i < n; i++) {
        double common = rng_normal(&g);
        for (int64_t j = 0; j < d; j++)
            X[i * d + j] = j == 3 ? 7.0
                                  : pow(10.0, (double)(j % 5) - 2) * (common * (1 + 0.1 * (double)j) + rng_normal(&g)) + 50;
    }
    double *mean = calloc((size_t)d, sizeof(double)), *sd = calloc((size_t)d, sizeof(double));
    for (int64_t j = 0; j < d; j++) {
        for (int64_t i = 0; i < n; i++) mean[j] += X[i * d + j] / (double)n;
        for (int64_t i = 0; i < n; i++) sd[j] += (X[i * d + j] - mean[j]) * (X[i * d + j] - mean[j]) / (double)n;
        sd[j] = sqrt(sd[j]);
        if (j == 3) sd[j] = 1;                     /* the constant column is left alone */
        for (int64_t i = 0; i < n; i++) Z[i * d + j] = (X[i * d + j] - mean[j]) / sd[j];
    }
    double *eval = malloc(sizeof(double) * d), *evec = malloc(sizeof(double) * d * d);
    reference(Z, n, d, eval, evec);
    pca_params p;
    pca_default_params(&p);
    p.k = k;
    p.method = method;
    p.standardize = 1;
    double *Y;
    pca_model m = pca_fit_transform(X, n, d, &p, &Y);
    CHECK(m.method == method);
    CHECK_NEAR(m.total_variance, (double)(d - 1) * (double)n / (double)(n - 1), 1e-9);
    int vbad = 0, cbad = 0;
    double *v = malloc(sizeof(double) * d);
    for (int c = 0; c < k; c++) {
        if (fabs(m.variance[c] - eval[c]) > tol * eval[0]) vbad++;
        double nn = 0;                              /* unfold: v_j = stored_j * sd_j */
        for (int64_t j = 0; j < d; j++) v[j] = m.components[c * d + j] * sd[j], nn += v[j] * v[j];
        CHECK_NEAR(nn, 1.0, 1e-9);
        if (fabs(fabs(dot(v, evec + c * d, d)) - 1) > 10 * tol) cbad++;
    }
    CHECK(vbad == 0);
    CHECK(cbad == 0);
    /* the fitted rows have the bits of the row-by-row projection of the raw rows */
    double *row = malloc(sizeof(double) * k);
    int same = 1;
    for (int64_t i = 0; i < n; i++) {
        pca_transform_row(&m, X + i * d, row);
        if (memcmp(row, Y + i * k, sizeof(double) * k) != 0) same = 0;
    }
    CHECK(same);
    pca_free(&m);
    free(row);
    free(v);
    free(Y);
    free(X);
    free(Z);
    free(mean);
    free(sd);
    free(eval);
    free(evec);
}

/* The float path: float rows are centred in place; the model agrees with the double path's
 * on the same values (to float rounding), and the fitted rows are the bits of
 * pca_transform_row_f32 of the original rows (what --load computes on an f32 stream). */
static void test_float_path(int64_t n, int64_t d, int k, int standardize)
{
    int r = 4;
    double s[4] = {20, 10, 5, 3}, *V = malloc(sizeof(double) * r * d);
    double *X = planted(n, d, r, s, 0.5, 77, V);
    float *F = malloc(sizeof(float) * n * d), *F0 = malloc(sizeof(float) * n * d);
    for (int64_t a = 0; a < n * d; a++) F[a] = F0[a] = (float)X[a];
    for (int64_t a = 0; a < n * d; a++) X[a] = F0[a];   /* the same values as doubles */
    pca_params p;
    pca_default_params(&p);
    p.k = k;
    p.standardize = standardize;
    p.whiten = standardize;
    double *Yf, *Yd;
    pca_model mf = pca_fit_transform_f32(F, n, d, &p, &Yf);
    pca_model md = pca_fit_transform(X, n, d, &p, &Yd);
    CHECK(mf.method == md.method && mf.k == k);
    CHECK(F[5] == (float)((double)F0[5] - mf.mean[5]));        /* centred in place */
    CHECK(F[n * d - 1] == (float)((double)F0[n * d - 1] - mf.mean[d - 1]));
    int vbad = 0, same = 1;
    for (int c = 0; c < k; c++) {
        if (fabs(mf.variance[c] / md.variance[c] - 1) > 1e-5) vbad++;
        double cs = dot(mf.components + c * d, md.components + c * d, d);
        double ns = dot(md.components + c * d, md.components + c * d, d);
        if (c < r && fabs(cs / ns - 1) > 1e-4) vbad++;           /* the planted ones */
    }
    CHECK(vbad == 0);
    CHECK_NEAR(mf.total_variance, md.total_variance, 1e-9 * md.total_variance);
    double *row = malloc(sizeof(double) * k);
    for (int64_t i = 0; i < n; i++) {
        pca_transform_row_f32(&mf, F0 + i * d, row);
        if (memcmp(row, Yf + i * k, sizeof(double) * k) != 0) same = 0;
    }
    CHECK(same);
    pca_free(&mf);
    pca_free(&md);
    free(row);
    free(Yf);
    free(Yd);
    free(F);
    free(F0);
    free(X);
    free(V);
}

/* The randomized products run on fixed row chunks: the same bits for 1, 2 or 3 threads, and
 * whatever OpenBLAS's own thread count. */
static void test_thread_independence(void)
{
    int64_t n = 700, d = 260;
    rng g;
    rng_seed(&g, 4);
    double *X = malloc(sizeof(double) * n * d);
    for (int64_t a = 0; a < n * d; a++) X[a] = rng_normal(&g) * (1 + (double)(a % d) / 50.0);
    pca_params p;
    pca_default_params(&p);
    p.k = 12;
    pca_model ref = {0};
    int same = 1;
    for (int t = 1; t <= 3; t++) {
        p.blas_threads = t;
        openblas_set_num_threads(t);
        pca_model m = pca_fit(X, n, d, &p);
        CHECK(m.method == PCA_RANDOMIZED);
        if (t == 1) {
            ref = m;
            continue;
        }
        if (memcmp(m.components, ref.components, sizeof(double) * p.k * d) != 0 ||
            memcmp(m.variance, ref.variance, sizeof(double) * p.k) != 0)
            same = 0;
        pca_free(&m);
    }
    CHECK(same);
    openblas_set_num_threads(1);
    pca_free(&ref);
    free(X);
}

/* The float loader pca reads with: ids and values of an f32 and a u8 stream read in several
 * chunks, and a stream cut short named with its row. */
static void test_dense_f32_loader(void)
{
    char path[] = "/tmp/test_pca_f32_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    int64_t n = 150, d = 1000;              /* 4 KB rows: 256 KiB chunks hold 65 */
    mat_header h = mat_header_vec(MAT_F32, n, d, 6);
    mat_writer *w = mat_create(path, &h);
    float *x = malloc(sizeof(float) * d);
    for (int64_t i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%lld", (long long)i);
        for (int64_t j = 0; j < d; j++) x[j] = (float)(i * 1000 + j) + 0.25f;
        mat_write_row(w, id, x);
    }
    mat_finish(w);
    mat_dense_f32 m = mat_load_dense_f32(path);
    CHECK(m.rows == n && m.cols == d && m.idw == 6);
    CHECK(strcmp(m.ids + 0 * 7, "r0") == 0 && strcmp(m.ids + 149 * 7, "r149") == 0);
    int ok = 1;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            if (m.x[i * d + j] != (float)(i * 1000 + j) + 0.25f) ok = 0;
    CHECK(ok);
    mat_dense_f32_free(&m);
    /* cut inside row 70: 69 whole rows and 10 bytes of the 70th */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    long rb = 6 + 4 * d, header = size - n * rb;
    CHECK(truncate(path, header + 69 * rb + 10) == 0);
    EXPECT_DIE(mat_load_dense_f32(path),
               "truncated stream: header declares 150 rows, input ended inside row 70 (10 of 4006 bytes)");
    /* u8 rows load exactly */
    mat_header hu = mat_header_vec(MAT_U8, 3, 5, 2);
    w = mat_create(path, &hu);
    unsigned char u[5] = {0, 1, 128, 254, 255};
    mat_write_row(w, "a", u);
    mat_write_row(w, "b", u);
    mat_write_row(w, "c", u);
    mat_finish(w);
    m = mat_load_dense_f32(path);
    CHECK(m.rows == 3 && m.x[2] == 128.0f && m.x[14] == 255.0f && strcmp(m.ids + 2 * 3, "c") == 0);
    mat_dense_f32_free(&m);
    unlink(path);
    free(x);
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
    test_standardize(PCA_EXACT, 400, 12, 5, 1e-10);
    test_standardize(PCA_RANDOMIZED, 400, 12, 2, 1e-10);  /* l = min(n, d): exact too */
    test_standardize(PCA_RANDOMIZED, 500, 300, 4, 1e-6);  /* planted common factor */
    test_float_path(600, 300, 6, 0);                      /* randomized */
    test_float_path(600, 300, 6, 1);                      /* randomized, standardised, whitened */
    test_float_path(300, 40, 6, 0);                       /* exact */
    test_thread_independence();
    test_dense_f32_loader();
    return check_summary("test_pca");
}
