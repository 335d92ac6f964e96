/* tsne.h - Barnes-Hut t-SNE (van der Maaten 2014, "Accelerating t-SNE using tree-based
 * algorithms", JMLR 15), with sklearn's defaults and optimiser. See docs/tsne.md.
 *
 *   tsne_params p;
 *   tsne_default_params(&p);
 *   double kl = tsne_run(X, n, d, &p, Y);      // Y: n x p.dims, row-major
 *
 * The kernels are public for the unit tests. */
#ifndef FP_TSNE_H
#define FP_TSNE_H

#include <stdint.h>

#define TSNE_MAX_DIMS 3

typedef enum { TSNE_INIT_PCA = 0, TSNE_INIT_RANDOM } tsne_init;

typedef struct {
    int dims;               /* output dimensions, 1..TSNE_MAX_DIMS (2) */
    double perplexity;      /* 30; uses k = floor(3 * perplexity) neighbours */
    int n_iter;             /* total iterations, including the exaggerated ones (1000) */
    double learning_rate;   /* <= 0 means 'auto': max(N / exaggeration / 4, 50) */
    double exaggeration;    /* early exaggeration factor (12) */
    int exaggeration_iter;  /* iterations with exaggeration and the first momentum (250) */
    double momentum;        /* 0.5 during the exaggeration, then final_momentum (0.8) */
    double final_momentum;
    double min_gain;        /* 0.01 */
    double theta;           /* Barnes-Hut opening angle (0.5); 0 = exact repulsion */
    tsne_init init;         /* TSNE_INIT_PCA */
    uint64_t seed;          /* 1 */
    int verbose;            /* 1: KL every 50 iterations and timings on stderr */
    int nthreads;           /* <= 0: fp_threads() */
} tsne_params;

void tsne_default_params(tsne_params *p);

/* Largest perplexity accepted for n rows: (n - 1) / 3 (every row needs 3*perplexity
 * neighbours). */
double tsne_max_perplexity(int64_t n);

/* Embeds X (n x d) into Y (n x p->dims). Dies with a clear message on empty input, too
 * small an n for the perplexity, or bad parameters. Returns the final KL divergence
 * (Barnes-Hut estimate at the final positions). The caller checks X for NaN/Inf first. */
double tsne_run(const double *X, int64_t n, int64_t d, const tsne_params *p, double *Y);

/* ---- kernels (public for tests) ---- */

/* Sparse symmetric joint probabilities P in CSR form: row i holds columns col[row[i] ..
 * row[i+1]) (sorted ascending) with values val[...]; the values sum to 1 over the matrix. */
typedef struct {
    int64_t n;
    int64_t *row;   /* n + 1 */
    int32_t *col;   /* nnz (row indices: n < 2^31) */
    double *val;    /* nnz */
} tsne_sparse;

/* Gaussian conditional probabilities of one row from the squared distances d2[0..k) to its
 * neighbours: p[j] = exp(-beta d2[j]) / sum, with beta found by bisection so that the
 * entropy (natural log) equals log(perplexity) within 1e-5. Returns beta. */
double tsne_calibrate_row(const double *d2, int k, double perplexity, double *p);

/* kNN (k = floor(3 perplexity)), calibration of every row, symmetrisation
 * p_ij = (p_j|i + p_i|j) / sum. */
tsne_sparse tsne_joint_probabilities(const double *X, int64_t n, int64_t d, double perplexity,
                                     int nthreads);
void tsne_sparse_free(tsne_sparse *P);

/* Gradient of KL(P || Q) at Y (n x dims), P multiplied by `exaggeration` in the attractive
 * term, repulsion by Barnes-Hut with opening angle theta (theta = 0 visits every point):
 *     dC/dy_i = 4 [ exaggeration sum_j p_ij w_ij (y_i - y_j) - sum_j w_ij^2 (y_i - y_j) / Z ]
 * with w_ij = 1 / (1 + |y_i - y_j|^2) and Z = sum_{k != l} w_kl. Writes grad (n x dims).
 * When kl is not NULL also stores KL(P || Q) (with the un-exaggerated P). */
void tsne_gradient(const tsne_sparse *P, const double *Y, int64_t n, int dims, double theta,
                   double exaggeration, int nthreads, double *grad, double *kl);

#endif
