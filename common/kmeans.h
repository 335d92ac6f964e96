/* kmeans.h - k-means clustering: greedy k-means++ seeding, Lloyd iterations accelerated with
 * Hamerly's bounds, the best of several restarts, canonical labels. See docs/kmeans.md.
 *
 *   kmeans_params p;
 *   kmeans_default_params(&p);
 *   p.k = 5;
 *   kmeans_result r = kmeans_fit(X, n, d, &p);   // r.labels[n], r.centers[k x d], r.inertia
 *
 * Semantics follow sklearn's KMeans(algorithm='lloyd'): tolerance relative to the mean
 * column variance, stop when the labels no longer change or the squared centre shift falls
 * to the tolerance, one last assignment after a non-strict stop, empty clusters moved to the
 * points farthest from their centres. Restart r draws from rng_seed_stream(seed, r), so
 * `kmeans K` gives the same clustering as the K row of `kmeans --elbow`. */
#ifndef FP_KMEANS_H
#define FP_KMEANS_H

#include <stdint.h>

#include "rng.h"

typedef struct {
    int k;            /* clusters */
    int n_init;       /* restarts; the lowest inertia wins (ties: the earliest) (10) */
    int max_iter;     /* Lloyd iterations per restart (300) */
    double tol;       /* relative tolerance (1e-4) */
    uint64_t seed;    /* (1) */
    int nthreads;     /* <= 0: fp_threads() */
} kmeans_params;

typedef struct {
    int k;
    int64_t d;
    double *centers;   /* k x d, in canonical order */
    int32_t *labels;   /* n, canonical: clusters numbered by first appearance in row order */
    double inertia;    /* sum of squared distances of the rows to their centres */
    int n_iter;        /* Lloyd iterations of the winning restart */
    int best_run;      /* index of the winning restart */
} kmeans_result;

void kmeans_default_params(kmeans_params *p);

/* Clusters X (n x d). Dies if k < 1 or k > n. */
kmeans_result kmeans_fit(const double *X, int64_t n, int64_t d, const kmeans_params *p);
void kmeans_result_free(kmeans_result *r);

/* Best inertia for every k in [kmin, kmax] (inertia[k - kmin]), all restarts of all k run
 * in parallel. Same per-k results as kmeans_fit. */
void kmeans_elbow(const double *X, int64_t n, int64_t d, int kmin, int kmax,
                  const kmeans_params *p, double *inertia);

/* ---- kernels (public for tests) ---- */

/* Greedy k-means++ (Arthur & Vassilvitskii 2007; sklearn's variant): the first centre is a
 * uniform row, each next one the best of 2 + floor(ln k) candidates drawn with probability
 * proportional to the squared distance to the nearest chosen centre (best = lowest
 * potential). Writes the chosen row indices (k) and centres (k x d). */
void kmeans_plusplus(const double *X, int64_t n, int64_t d, int k, rng *r, int64_t *chosen,
                     double *centers);

/* Index of the centre nearest to x (ties: the lowest index); *d2 = its squared distance. */
int kmeans_nearest(const double *centers, int k, int64_t d, const double *x, double *d2);

/* Centroid file: a matrix stream of k f64 rows with ids "c0" .. "c<k-1>". */
void kmeans_save(const char *path, const double *centers, int k, int64_t d);
double *kmeans_load(const char *path, int *k, int64_t *d);

#endif
