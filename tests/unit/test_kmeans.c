/* test_kmeans.c - k-means against known answers:
 *   - nearest centre with ties, k-means++ on trivial data
 *   - planted clusters recovered with canonical labels and the exact inertia
 *   - Lloyd's fixed point on unstructured data: every row at its nearest centre, every
 *     centre the mean of its rows (Hamerly's bounds must not change the answer)
 *   - elbow == fit for each k; results independent of the thread count
 *   - empty clusters, save/load, errors */
#include "check.h"
#include "kmeans.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_nearest(void)
{
    double c[6] = {0, 0, 2, 0, 0, 2};
    double x[2] = {1, 0}, d2;
    CHECK(kmeans_nearest(c, 3, 2, x, &d2) == 0); /* tie between 0 and 1: the lower */
    CHECK(d2 == 1.0);
    double y[2] = {0.1, 1.5};
    CHECK(kmeans_nearest(c, 3, 2, y, &d2) == 2);
    CHECK_NEAR(d2, 0.01 + 0.25, 1e-15);
}

static void test_plusplus(void)
{
    /* k = n distinct points: each chosen exactly once (a chosen point has weight 0) */
    double X[5] = {0, 1, 3, 7, 15};
    int64_t chosen[5];
    double centers[5];
    rng r;
    rng_seed(&r, 3);
    kmeans_plusplus(X, 5, 1, 5, &r, chosen, centers);
    int seen[5] = {0};
    for (int a = 0; a < 5; a++) seen[chosen[a]]++;
    CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1 && seen[3] == 1 && seen[4] == 1);
    for (int a = 0; a < 5; a++) CHECK(centers[a] == X[chosen[a]]);
    /* three tight, far groups: one seed in each */
    double G[12] = {0, 0.1, 0.2, 0.3, 100, 100.1, 100.2, 100.3, 1000, 1000.1, 1000.2, 1000.3};
    int64_t ch[3];
    double cc[3];
    for (uint64_t seed = 1; seed <= 20; seed++) {
        rng_seed(&r, seed);
        kmeans_plusplus(G, 12, 1, 3, &r, ch, cc);
        int groups[3] = {0};
        for (int a = 0; a < 3; a++) groups[ch[a] / 4]++;
        CHECK(groups[0] == 1 && groups[1] == 1 && groups[2] == 1);
    }
}

/* Blobs interleaved: row i in cluster i mod c, so canonical labels equal i mod c. */
static double *blobs(int64_t n, int64_t d, int c, double sep, uint64_t seed)
{
    double *X = malloc(sizeof(double) * n * d);
    rng r;
    rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            X[i * d + j] = rng_normal(&r) + (j == (i % c) % d ? sep * (double)(1 + (i % c) / d) : 0.0);
    return X;
}

static void test_planted(void)
{
    int64_t n = 600, d = 3;
    int k = 4;
    double *X = blobs(n, d, k, 20.0, 5);
    kmeans_params p;
    kmeans_default_params(&p);
    p.k = k;
    kmeans_result res = kmeans_fit(X, n, d, &p);
    int ok = 1;
    for (int64_t i = 0; i < n; i++)
        if (res.labels[i] != i % k) ok = 0;
    CHECK(ok);
    /* inertia = sum of squares around the true group means */
    double mean[4][3] = {{0}}, want = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[i % k][j] += X[i * d + j] / (double)(n / k);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) want += pow(X[i * d + j] - mean[i % k][j], 2);
    CHECK_NEAR(res.inertia, want, 1e-9 * want);
    for (int c = 0; c < k; c++)
        for (int64_t j = 0; j < d; j++) CHECK_NEAR(res.centers[c * d + j], mean[c][j], 1e-9);
    kmeans_result_free(&res);
    free(X);
}

/* Uniform noise: no structure, many iterations. Check Lloyd's fixed point directly. */
static void test_fixed_point(void)
{
    int64_t n = 3000, d = 2;
    int k = 7;
    double *X = malloc(sizeof(double) * n * d);
    rng r;
    rng_seed(&r, 11);
    for (int64_t a = 0; a < n * d; a++) X[a] = rng_uniform(&r);
    kmeans_params p;
    kmeans_default_params(&p);
    p.k = k;
    p.tol = 0; /* run to strict convergence */
    p.n_init = 3;
    kmeans_result res = kmeans_fit(X, n, d, &p);
    int nearest_ok = 1;
    double inertia = 0;
    for (int64_t i = 0; i < n; i++) {
        double d2;
        if (kmeans_nearest(res.centers, k, d, X + i * d, &d2) != res.labels[i]) nearest_ok = 0;
        inertia += d2;
    }
    CHECK(nearest_ok);
    CHECK_NEAR(res.inertia, inertia, 1e-9 * inertia);
    double sum[7][2] = {{0}};
    int64_t cnt[7] = {0};
    for (int64_t i = 0; i < n; i++) {
        cnt[res.labels[i]]++;
        for (int64_t j = 0; j < d; j++) sum[res.labels[i]][j] += X[i * d + j];
    }
    for (int c = 0; c < k; c++) {
        CHECK(cnt[c] > 0);
        for (int64_t j = 0; j < d; j++) CHECK_NEAR(res.centers[c * d + j], sum[c][j] / (double)cnt[c], 1e-12);
    }
    /* canonical: first appearances in order 0, 1, 2, ... */
    int next = 0, canon = 1;
    for (int64_t i = 0; i < n; i++) {
        if (res.labels[i] > next) canon = 0;
        if (res.labels[i] == next) next++;
    }
    CHECK(canon && next == k);
    kmeans_result_free(&res);
    free(X);
}

static void test_elbow_and_threads(void)
{
    int64_t n = 1000, d = 5;
    double *X = blobs(n, d, 5, 8.0, 2);
    kmeans_params p;
    kmeans_default_params(&p);
    double el[8];
    p.nthreads = 2;
    kmeans_elbow(X, n, d, 1, 8, &p, el);
    int mono = 1;
    for (int k = 1; k < 8; k++)
        if (el[k] > el[k - 1]) mono = 0;
    CHECK(mono);
    for (int k = 1; k <= 8; k += 3) {
        p.k = k;
        kmeans_result a = kmeans_fit(X, n, d, &p);
        CHECK(a.inertia == el[k - 1]);
        kmeans_result_free(&a);
    }
    /* k = 1: the inertia is the total sum of squares */
    double m[5] = {0}, tss = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) m[j] += X[i * d + j] / (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) tss += pow(X[i * d + j] - m[j], 2);
    CHECK_NEAR(el[0], tss, 1e-10 * tss);
    double el1[8];
    p.nthreads = 1;
    kmeans_elbow(X, n, d, 1, 8, &p, el1);
    CHECK(memcmp(el, el1, sizeof el) == 0);
    free(X);

    /* one restart on a big matrix: the chunks run in parallel inside the restart */
    n = 40000;
    d = 10;
    X = blobs(n, d, 10, 3.0, 4);
    p.k = 10;
    p.n_init = 1;
    p.nthreads = 1;
    kmeans_result a = kmeans_fit(X, n, d, &p);
    p.nthreads = 2;
    kmeans_result b = kmeans_fit(X, n, d, &p);
    CHECK(a.inertia == b.inertia && a.n_iter == b.n_iter);
    CHECK(memcmp(a.labels, b.labels, sizeof(int32_t) * n) == 0);
    CHECK(memcmp(a.centers, b.centers, sizeof(double) * 10 * d) == 0);
    kmeans_result_free(&a);
    kmeans_result_free(&b);
    free(X);
}

static void test_degenerate_and_files(void)
{
    /* two distinct points, five copies each, k = 3: one cluster must be empty or relocated;
     * no NaN, inertia 0 */
    double X[10];
    for (int i = 0; i < 10; i++) X[i] = i < 5 ? 1.0 : 4.0;
    kmeans_params p;
    kmeans_default_params(&p);
    p.k = 3;
    kmeans_result res = kmeans_fit(X, 10, 1, &p);
    CHECK(res.inertia == 0);
    int finite = 1;
    for (int c = 0; c < 3; c++) finite &= isfinite(res.centers[c]);
    CHECK(finite);
    CHECK(res.labels[0] == 0 && res.labels[9] == 1);
    /* save / load */
    char path[] = "/tmp/test_kmeans_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    kmeans_save(path, res.centers, 3, 1);
    int k;
    int64_t d;
    double *c = kmeans_load(path, &k, &d);
    CHECK(k == 3 && d == 1 && memcmp(c, res.centers, sizeof(double) * 3) == 0);
    free(c);
    unlink(path);
    kmeans_result_free(&res);
    p.k = 11;
    EXPECT_DIE(kmeans_fit(X, 10, 1, &p), "k = 11 needs at least 11 rows");
    double el[2];
    EXPECT_DIE(kmeans_elbow(X, 10, 1, 3, 2, &p, el), "bad k range");
}

int main(void)
{
    test_nearest();
    test_plusplus();
    test_planted();
    test_fixed_point();
    test_elbow_and_threads();
    test_degenerate_and_files();
    return check_summary("test_kmeans");
}
