/* pca.h - principal component analysis: centring, exact or randomized SVD, whitening, and a
 * model file so a projection fitted on training rows can be applied to new rows.
 * See docs/pca.md.
 *
 *   pca_params p;
 *   pca_default_params(&p);
 *   p.k = 30;
 *   pca_model m = pca_fit(X, n, d, &p);      // X: n x d, row-major doubles (or floats:
 *                                            // pca_fit_transform_f32)
 *   pca_transform_row(&m, x, out);           // out: m.k values
 *   pca_save(&m, "model.npy");
 *
 * Two solvers, chosen by shape unless forced (PCA_AUTO):
 *   exact       eigendecomposition (gsl_eigen_symmv) of the smaller of the D x D covariance
 *               and the N x N Gram matrix; every component, exact to rounding
 *   randomized  Halko, Martinsson & Tropp (2011): a Gaussian test matrix of k + oversample
 *               columns, q power iterations with QR re-orthonormalisation, then the SVD of
 *               the small projected matrix; cost O(N D (k + oversample) q). The big products
 *               in float32, the small matrices and B = Q^T Xc in double (see pca.c)
 * Sign convention: each component's largest-|.| loading is positive (ties: the first one). */
#ifndef FP_PCA_H
#define FP_PCA_H

#include <stdint.h>

typedef enum { PCA_AUTO = 0, PCA_EXACT, PCA_RANDOMIZED } pca_method;

/* PCA_AUTO uses the exact solver when min(N, D) <= PCA_EXACT_MAX_DIM (the GSL
 * eigendecomposition costs ~0.1 s at 200 but 3 s at 512 and 4 minutes at 2048), and the
 * randomized one above. */
#define PCA_EXACT_MAX_DIM 200

typedef struct {
    int k;                  /* number of components; 0 = choose from `variance` */
    double variance;        /* with k == 0: smallest k explaining at least this fraction */
    int whiten;             /* divide each projected column by its standard deviation */
    int standardize;        /* scale every input column to unit variance before the fit
                               (as scikit-learn's StandardScaler, ddof = 0; constant columns
                               are left as they are). The model folds the scaling into its
                               stored components, so applying it needs no extra step. */
    pca_method method;      /* PCA_AUTO */
    int power_iter;         /* randomized: power iterations; < 0 = auto (sklearn: 7 if
                               k < 0.1 min(N, D), else 4) */
    int oversample;         /* randomized: extra test vectors (10) */
    uint64_t seed;          /* randomized: seed of the test matrix (1) */
    int blas_threads;       /* randomized: threads for the big products; 0 = fp_threads()
                               (FP_THREADS, else the cores). The products split the rows in
                               a fixed number of chunks, so the result is the same for any
                               thread count (as the exact solver's). */
} pca_params;

typedef struct {
    int64_t d;              /* input columns */
    int k;                  /* components */
    double *mean;           /* d: column means of the training rows */
    double *components;     /* k x d, orthonormal rows, by decreasing variance */
    double *variance;       /* k: variance along each component (ddof = 1, as sklearn) */
    double *scale;          /* k: divisor after projection (1, or sqrt(variance) if whitened) */
    double total_variance;  /* sum of the column variances (ddof = 1); 0 for a loaded model */
    pca_method method;      /* solver actually used (fit only) */
    int power_iter;         /* randomized: iterations used */
    double *packed;         /* internal: the components laid out for the projection */
} pca_model;

void pca_default_params(pca_params *p);

/* Fits on X (n x d). Dies on bad parameters (k > min(n, d), n < 2 ...). */
pca_model pca_fit(const double *X, int64_t n, int64_t d, const pca_params *p);

/* Fit and project in one go: *Y (allocated here, n x k, free()) gets the same bits as
 * pca_transform_row of each row. */
pca_model pca_fit_transform(const double *X, int64_t n, int64_t d, const pca_params *p,
                            double **Y);
/* The same for float rows (a u8 or f32 stream loaded as floats): X is centred in place,
 * X[i][j] = (float)(X[i][j] - mean[j]) - no second n x d buffer - and *Y gets the same bits
 * as pca_transform_row_f32 of the original rows. */
pca_model pca_fit_transform_f32(float *X, int64_t n, int64_t d, const pca_params *p,
                                double **Y);

/* out[c] = (x - mean) . component_c / scale_c, for c < k; each dot product is one sum in
 * column order (the same bits on every path: fit, transform, --load). */
void pca_transform_row(const pca_model *m, const double *x, double *out);
/* For float rows: the centred values are rounded to float first, (float)(x - mean), as the
 * float fit does, so fitting a float stream and applying the model to it agree to the bit. */
void pca_transform_row_f32(const pca_model *m, const float *x, double *out);
/* All rows: Y (n x k), on fp_threads() threads; the bits of pca_transform_row. */
void pca_transform(const pca_model *m, const double *X, int64_t n, double *Y);

/* Model file: a matrix stream of f64 rows of d columns with ids, in this order,
 *   "mean"    the column means
 *   "scale"   first k columns: the divisor of each component (rest 0)
 *   "var"     first k columns: the variance of each component (rest 0)
 *   "pc1" .. "pcK"  the components
 * so numpy.load() reads it as well (a['x'][a['id'] == b'mean']). */
void pca_save(const pca_model *m, const char *path);
pca_model pca_load(const char *path);      /* dies on a malformed model, naming the file */
void pca_free(pca_model *m);

/* Which solver PCA_AUTO picks for this shape (l = k + oversample test vectors). */
pca_method pca_auto_method(int64_t n, int64_t d, int k);

#endif
