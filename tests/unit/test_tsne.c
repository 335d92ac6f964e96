/* test_tsne.c - t-SNE and kNN kernels against direct computations:
 *   - kNN: vp-tree == brute force == a full sort, ties and duplicates included
 *   - perplexity calibration reaches the target entropy
 *   - joint probabilities are symmetric, sum to 1, and equal (p_j|i + p_i|j) / 2n
 *   - the Barnes-Hut gradient with theta = 0 equals the exact O(N^2) gradient, and its KL
 *     the exact KL; with theta = 0.5 it stays close
 *   - tsne_run: same seed gives the same bytes whatever the thread count; clear errors */
#include "check.h"
#include "knn.h"
#include "rng.h"
#include "tsne.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- kNN ---- */

typedef struct { double d2; int64_t j; } pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->d2 != y->d2) return x->d2 < y->d2 ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

static void test_knn(void)
{
    int64_t n = 400, d = 5;
    int k = 12;
    double *X = malloc(sizeof(double) * n * d);
    rng r;
    rng_seed(&r, 7);
    for (int64_t a = 0; a < n * d; a++) X[a] = rng_normal(&r);
    /* duplicates and points on a grid make exact ties */
    for (int64_t j = 0; j < d; j++) {
        X[10 * d + j] = X[20 * d + j];
        X[30 * d + j] = X[20 * d + j];
    }
    for (int64_t i = 100; i < 140; i++)
        for (int64_t j = 0; j < d; j++) X[i * d + j] = (double)((i + j) % 3);
    int64_t *ib = malloc(sizeof(int64_t) * n * k), *iv = malloc(sizeof(int64_t) * n * k);
    double *db = malloc(sizeof(double) * n * k), *dv = malloc(sizeof(double) * n * k);
    knn_all(X, n, d, k, KNN_BRUTE, 2, ib, db);
    knn_all(X, n, d, k, KNN_VPTREE, 2, iv, dv);
    CHECK(memcmp(ib, iv, sizeof(int64_t) * n * k) == 0);
    CHECK(memcmp(db, dv, sizeof(double) * n * k) == 0);
    /* against a full sort by (d2, index) */
    pair *all = malloc(sizeof(pair) * n);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t m = 0;
        for (int64_t j = 0; j < n; j++) {
            if (j == i) continue;
            /* the same four running sums as knn.c, so the values compare exactly */
            double s4[4] = {0, 0, 0, 0};
            for (int64_t c = 0; c < d; c++) s4[c & 3] += (X[i * d + c] - X[j * d + c]) * (X[i * d + c] - X[j * d + c]);
            all[m++] = (pair){(s4[0] + s4[1]) + (s4[2] + s4[3]), j};
        }
        qsort(all, (size_t)m, sizeof *all, cmp_pair);
        for (int a = 0; a < k; a++)
            if (all[a].j != iv[i * k + a] || all[a].d2 != dv[i * k + a]) bad++;
    }
    CHECK(bad == 0);
    /* the duplicates of row 20 are its two nearest, at distance 0, lower index first */
    CHECK(iv[20 * k] == 10 && iv[20 * k + 1] == 30 && dv[20 * k] == 0 && dv[20 * k + 1] == 0);
    /* one thread, same answer */
    knn_all(X, n, d, k, KNN_VPTREE, 1, ib, db);
    CHECK(memcmp(ib, iv, sizeof(int64_t) * n * k) == 0);
    EXPECT_DIE(knn_all(X, 5, d, 5, KNN_BRUTE, 1, ib, db), "1 <= k <= n-1");
    free(X); free(ib); free(iv); free(db); free(dv); free(all);
}

/* ---- perplexity calibration ---- */

static void test_calibration(void)
{
    int k = 90;
    double d2[90], p[90];
    rng r;
    rng_seed(&r, 3);
    for (int j = 0; j < k; j++) d2[j] = 50.0 + 40.0 * rng_uniform(&r); /* far: exp(-d2) underflows at beta 1 */
    double beta = tsne_calibrate_row(d2, k, 30.0, p);
    double sum = 0, h = 0;
    for (int j = 0; j < k; j++) {
        sum += p[j];
        if (p[j] > 0) h -= p[j] * log(p[j]);
    }
    CHECK_NEAR(sum, 1.0, 1e-12);
    CHECK_NEAR(h, log(30.0), 1e-5);
    CHECK_NEAR(exp(h), 30.0, 3e-4);
    CHECK(beta > 0);
    /* p decreases with distance */
    int mono = 1;
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++)
            if (d2[a] < d2[b] && p[a] < p[b]) mono = 0;
    CHECK(mono);
    /* a perplexity of 5 over 12 neighbours */
    double d12[12] = {0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8}, p12[12];
    tsne_calibrate_row(d12, 12, 5.0, p12);
    h = 0;
    for (int j = 0; j < 12; j++) if (p12[j] > 0) h -= p12[j] * log(p12[j]);
    CHECK_NEAR(exp(h), 5.0, 1e-4);
    /* all distances equal: uniform whatever the target */
    double e[4] = {2, 2, 2, 2}, pe[4];
    tsne_calibrate_row(e, 4, 2.0, pe);
    CHECK_NEAR(pe[0], 0.25, 1e-12);
    CHECK_NEAR(pe[3], 0.25, 1e-12);
}

static double *random_matrix(int64_t n, int64_t d, uint64_t seed, double scale)
{
    double *X = malloc(sizeof(double) * n * d);
    rng r;
    rng_seed(&r, seed);
    for (int64_t a = 0; a < n * d; a++) X[a] = scale * rng_normal(&r);
    return X;
}

static double Pget(const tsne_sparse *P, int64_t i, int64_t j)
{
    for (int64_t a = P->row[i]; a < P->row[i + 1]; a++)
        if (P->col[a] == j) return P->val[a];
    return 0.0;
}

static void test_joint(void)
{
    int64_t n = 120, d = 4;
    double perp = 10;
    int k = 30;
    double *X = random_matrix(n, d, 5, 1.0);
    tsne_sparse P = tsne_joint_probabilities(X, n, d, perp, 2);
    double sum = 0;
    int sym = 1, sorted = 1;
    for (int64_t i = 0; i < n; i++)
        for (int64_t a = P.row[i]; a < P.row[i + 1]; a++) {
            sum += P.val[a];
            if (Pget(&P, P.col[a], i) != P.val[a]) sym = 0;
            if (a > P.row[i] && P.col[a] <= P.col[a - 1]) sorted = 0;
            if (P.col[a] == i) sym = 0;
        }
    CHECK_NEAR(sum, 1.0, 1e-12);
    CHECK(sym);
    CHECK(sorted);
    /* p_ij = (p_j|i + p_i|j) / (2n): conditionals recomputed here from kNN + calibration */
    int64_t *nn = malloc(sizeof(int64_t) * n * k);
    double *d2 = malloc(sizeof(double) * n * k), *cond = malloc(sizeof(double) * n * k);
    knn_all(X, n, d, k, KNN_BRUTE, 1, nn, d2);
    for (int64_t i = 0; i < n; i++) tsne_calibrate_row(d2 + i * k, k, perp, cond + i * k);
    double maxerr = 0;
    for (int64_t i = 0; i < n; i++)
        for (int m = 0; m < k; m++) {
            int64_t j = nn[i * k + m];
            double pji = cond[i * k + m], pij = 0;
            for (int q = 0; q < k; q++)
                if (nn[j * k + q] == i) pij = cond[j * k + q];
            double want = (pji + pij) / (2.0 * (double)n);
            double err = fabs(Pget(&P, i, j) - want) / want;
            if (err > maxerr) maxerr = err;
        }
    CHECK(maxerr < 1e-12);
    tsne_sparse_free(&P);
    free(nn); free(d2); free(cond); free(X);
}

/* Exact gradient and KL, O(N^2), straight from the formulas. */
static void exact_gradient(const tsne_sparse *P, const double *Y, int64_t n, int dims,
                           double exag, double *grad, double *kl)
{
    double Z = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            if (i == j) continue;
            double d2 = 0;
            for (int b = 0; b < dims; b++) d2 += (Y[i * dims + b] - Y[j * dims + b]) * (Y[i * dims + b] - Y[j * dims + b]);
            Z += 1.0 / (1.0 + d2);
        }
    *kl = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int b = 0; b < dims; b++) grad[i * dims + b] = 0;
        for (int64_t j = 0; j < n; j++) {
            if (i == j) continue;
            double d2 = 0;
            for (int b = 0; b < dims; b++) d2 += (Y[i * dims + b] - Y[j * dims + b]) * (Y[i * dims + b] - Y[j * dims + b]);
            double w = 1.0 / (1.0 + d2), q = w / Z, p = Pget(P, i, j);
            for (int b = 0; b < dims; b++)
                grad[i * dims + b] += 4.0 * (exag * p - q) * w * (Y[i * dims + b] - Y[j * dims + b]);
            if (p > 0) *kl += p * log(p / q);
        }
    }
}

static void test_gradient(int dims)
{
    int64_t n = 150, d = 6;
    double *X = random_matrix(n, d, 11, 1.0);
    tsne_sparse P = tsne_joint_probabilities(X, n, d, 12.0, 2);
    double *Y = random_matrix(n, dims, 12 + dims, 3.0);
    /* a duplicated point must not break the tree */
    for (int b = 0; b < dims; b++) Y[7 * dims + b] = Y[8 * dims + b];
    double *ge = malloc(sizeof(double) * n * dims), *gb = malloc(sizeof(double) * n * dims);
    double kle, klb;
    exact_gradient(&P, Y, n, dims, 4.0, ge, &kle);
    tsne_gradient(&P, Y, n, dims, 0.0, 4.0, 2, gb, &klb);
    double maxrel = 0, norm = 0;
    for (int64_t a = 0; a < n * dims; a++) norm = fmax(norm, fabs(ge[a]));
    for (int64_t a = 0; a < n * dims; a++) maxrel = fmax(maxrel, fabs(ge[a] - gb[a]) / norm);
    CHECK(maxrel < 1e-12);
    CHECK_NEAR(klb, kle, 1e-12 * fabs(kle));
    /* Barnes-Hut at theta 0.5: a few percent at most */
    tsne_gradient(&P, Y, n, dims, 0.5, 4.0, 2, gb, &klb);
    double err = 0, tot = 0;
    for (int64_t a = 0; a < n * dims; a++) {
        err += (ge[a] - gb[a]) * (ge[a] - gb[a]);
        tot += ge[a] * ge[a];
    }
    CHECK(sqrt(err / tot) < 0.05);
    CHECK_NEAR(klb, kle, 0.02 * fabs(kle));
    /* thread count does not change a bit */
    double *g1 = malloc(sizeof(double) * n * dims), kl1;
    tsne_gradient(&P, Y, n, dims, 0.5, 4.0, 1, g1, &kl1);
    CHECK(memcmp(g1, gb, sizeof(double) * n * dims) == 0 && kl1 == klb);
    free(g1); free(ge); free(gb); free(Y); free(X);
    tsne_sparse_free(&P);
}

/* Two Gaussian clusters in 10-D, far apart. */
static double *two_clusters(int64_t n, int64_t d)
{
    double *X = random_matrix(n, d, 21, 1.0);
    for (int64_t i = 0; i < n; i += 2) X[i * d] += 30.0;
    return X;
}

static void test_run(void)
{
    int64_t n = 100, d = 10;
    double *X = two_clusters(n, d);
    tsne_params p;
    tsne_default_params(&p);
    p.perplexity = 10;
    p.n_iter = 300;
    double *Y1 = malloc(sizeof(double) * n * 2), *Y2 = malloc(sizeof(double) * n * 2);
    p.nthreads = 1;
    double kl1 = tsne_run(X, n, d, &p, Y1);
    p.nthreads = 2;
    double kl2 = tsne_run(X, n, d, &p, Y2);
    CHECK(memcmp(Y1, Y2, sizeof(double) * n * 2) == 0);
    CHECK(kl1 == kl2);
    CHECK(kl1 > 0 && kl1 < 1.5);
    /* the clusters stay apart: every point is nearer its own cluster's centroid */
    double c[2][2] = {{0}};
    for (int64_t i = 0; i < n; i++)
        for (int b = 0; b < 2; b++) c[i % 2][b] += Y1[i * 2 + b] / (n / 2);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        double dd[2];
        for (int q = 0; q < 2; q++)
            dd[q] = hypot(Y1[i * 2] - c[q][0], Y1[i * 2 + 1] - c[q][1]);
        if (dd[i % 2] >= dd[1 - i % 2]) ok = 0;
    }
    CHECK(ok);
    /* random init, 3 dims, another seed: runs, different bytes */
    p.init = TSNE_INIT_RANDOM;
    p.dims = 3;
    p.seed = 5;
    double *Y3 = malloc(sizeof(double) * n * 3);
    double kl3 = tsne_run(X, n, d, &p, Y3);
    CHECK(kl3 > 0 && isfinite(kl3));
    /* errors */
    tsne_default_params(&p);
    EXPECT_DIE(tsne_run(X, 50, d, &p, Y1), "maximum perplexity for 50 rows is 16.33");
    EXPECT_DIE(tsne_run(X, 90, d, &p, Y1), "needs more than 90 rows");
    EXPECT_DIE(tsne_run(X, 0, d, &p, Y1), "empty input");
    p.perplexity = 5;
    p.dims = 3;
    EXPECT_DIE(tsne_run(X, 50, 2, &p, Y1), "--init random");
    free(X); free(Y1); free(Y2); free(Y3);
}

int main(void)
{
    test_knn();
    test_calibration();
    test_joint();
    test_gradient(2);
    test_gradient(3);
    test_gradient(1);
    test_run();
    return check_summary("test_tsne");
}
