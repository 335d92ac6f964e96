/* knn.h - exact k nearest neighbours (Euclidean) of every row of a dense matrix among the
 * other rows. Used by t-SNE for its sparse input similarities.
 *
 * Two searches give the same answer; they differ only in speed:
 *   brute force   every pair, O(N^2 D), with partial-distance early exit; the faster one
 *                 from about 10 dimensions up
 *   vp-tree       a vantage-point tree (Yianilos 1993) searched with the triangle inequality,
 *                 as in van der Maaten's bhtsne; faster in few dimensions
 * The answer is canonical: the k smallest (squared distance, index) pairs in lexicographic
 * order, so ties are broken by the lower row index and both searches agree bit for bit.
 * A row's own index is never among its neighbours; exact duplicates of it are (distance 0). */
#ifndef FP_KNN_H
#define FP_KNN_H

#include <stdint.h>

typedef enum { KNN_AUTO = 0, KNN_BRUTE, KNN_VPTREE } knn_method;

/* X is n x d row-major; 1 <= k <= n-1. Writes idx[n*k] (neighbours of row i at i*k, nearest
 * first) and d2[n*k] (their squared distances). Runs on nthreads (<= 0: fp_threads()). */
void knn_all(const double *X, int64_t n, int64_t d, int k, knn_method method, int nthreads,
             int64_t *idx, double *d2);

/* The method KNN_AUTO picks for this shape. */
knn_method knn_auto_method(int64_t n, int64_t d);

#endif
