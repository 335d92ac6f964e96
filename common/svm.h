/* svm.h - linear support vector machines through LIBLINEAR (Fan et al., JMLR 2008):
 * per-feature standardisation, class weights, a random search of C by stratified k-fold
 * cross-validation run on every core, prediction, and a plain-text model file.
 *
 * The problem solved, for two classes encoded as y_i = +-1:
 *     min_w,b  1/2 (|w|^2 + (b/B)^2) + sum_i C_{y_i} max(0, 1 - y_i (w . z_i + b))^p
 * p = 2 (squared hinge, default) or 1 (hinge, svm_loss); z_i the standardised features; b is
 * learned as the weight of a constant feature of value B = 0.32 x the root-mean-square row
 * norm, which leaves it practically unregularised (LIBLINEAR's usual B = 1 costs a lot of
 * accuracy on thousands of standardised features); C_c = C, or C n / (k n_c) with balanced
 * class weights. For k > 2 classes see svm_multi.
 *
 * When the rows are fewer than the features (1400 images of 64x64x3 = 12288 pixels) the
 * rows are replaced by the rows of a pivoted Cholesky factor of their Gram matrix
 * (svm_params.project): the SVM sees the rows only through their inner products, so the
 * problem and every prediction are unchanged, but a LIBLINEAR pass costs n^2/2 instead of
 * n d (one-vs-one: each pair's rows on their own span). See docs/train-svm.md for the
 * maths. The primal solver runs the search of C as a path with warm starts (svm_cv). */
#ifndef FP_SVM_H
#define FP_SVM_H

#include <stdint.h>

typedef enum { SVM_SOLVER_AUTO = 0, SVM_SOLVER_DUAL, SVM_SOLVER_PRIMAL } svm_solver;
typedef enum { SVM_PROJECT_AUTO = 0, SVM_PROJECT_ON, SVM_PROJECT_OFF } svm_project;
/* The loss: squared hinge max(0, 1 - y f)^2 (LIBLINEAR's L2-loss) or hinge max(0, 1 - y f)
 * (L1-loss, the loss of LIBSVM and so of scikit-learn's SVC; dual solver only). */
typedef enum { SVM_LOSS_SQUARED_HINGE = 0, SVM_LOSS_HINGE } svm_loss;
/* Multi-class schemes (k > 2 classes): one-vs-rest (k LIBLINEAR binary problems, inside
 * LIBLINEAR), Crammer-Singer (one joint problem), one-vs-one (k(k-1)/2 binary problems on
 * the rows of each pair of classes, then a vote - LIBSVM's scheme). */
typedef enum { SVM_MULTI_OVR = 0, SVM_MULTI_CS, SVM_MULTI_OVO } svm_multi;
extern const char *const svm_multi_names[3];      /* "ovr", "cs", "ovo" */
#define SVM_MAX_FUNCTIONS 15                       /* one-vs-one on 6 classes */

typedef struct {
    svm_solver solver;      /* L2-loss dual coordinate descent or primal trust-region Newton;
                             * auto: primal on the span projection or when rows >= 10 x
                             * features, else dual */
    svm_loss loss;
    svm_multi multi;        /* scheme for k > 2 classes */
    int balanced;           /* class weights n / (k n_c), computed on each fit's rows */
    double eps;             /* stopping tolerance; 0 = 0.001 primal, 0.1 dual */
    svm_project project;    /* span projection: auto = when rows < features */
    int threads;            /* CV threads; 0 = fp_threads() */
    uint64_t seed;          /* folds, C candidates and LIBLINEAR's coordinate order */
    int verbose;            /* LIBLINEAR's own messages to stderr (else silenced) */
} svm_params;

/* A trained model: standardisation + the linear decision functions of its scheme. */
typedef struct {
    int64_t d;              /* features per row */
    int nclass;             /* classes (internal index 0..nclass-1) */
    int nw;                 /* decision functions, svm_functions(multi, nclass) */
    double *mean, *scale;   /* z_j = (x_j - mean_j) * scale_j */
    double *w;              /* nw x (d + 1): weights on z, then the bias (+-inf: a class the
                             * training rows lacked) */
    double C;
    char task[32];          /* "" when unknown */
    char solver[32];        /* LIBLINEAR solver name */
    svm_multi multi;
    int balanced;
    int ndim;               /* the feature stream's row shape, checked when predicting */
    int64_t shape[3];
} svm_model;

/* Standardisation fitted on the rows x (n x d): mean and 1/sd per feature (sd with 1/n, as
 * scikit-learn's StandardScaler; a constant feature gets scale 1). */
void svm_fit_scaler(svm_model *m, const float *x, int64_t n, int64_t d);
/* z = standardised x, for one row of d features (z may be x). */
void svm_scale_row(const svm_model *m, const float *x, float *z);

/* The training rows, converted once to LIBLINEAR's form (and projected when worthwhile). */
typedef struct svm_problem svm_problem;
/* z: n x d standardised rows (kept by reference until svm_problem_free), y: classes. */
svm_problem *svm_problem_new(const float *z, const int *y, int64_t n, int64_t d, int nclass,
                             const svm_params *p);
/* Features LIBLINEAR sees for the final fit (r when projected, which factorises all the rows
 * if svm_cv() or svm_fit() has not yet). */
int64_t svm_problem_dim(svm_problem *pb);
int svm_problem_projected(const svm_problem *pb);
const char *svm_problem_solver(const svm_problem *pb);  /* LIBLINEAR's name for it */
void svm_problem_free(svm_problem *pb);

/* Random search: C candidates drawn log-uniformly from [c_min, c_max] with `seed`. */
void svm_c_candidates(double c_min, double c_max, int n, uint64_t seed, double *c);
/* Cross-validated accuracy of each of the n candidates C[i], row i being held out in fold
 * fold[i] (0..folds-1; split_folds() makes them stratified), pooled over the folds:
 * correct / rows. Dual solvers: all candidate x fold fits run in parallel. Primal: each
 * fold is one item, its candidates fitted from the smallest C up, each starting from the
 * previous solution; the solutions are kept for svm_fit()'s start. The results do not
 * depend on the number of threads. seconds[i] (may be NULL) gets each candidate's CPU
 * time. When projecting, the factorisation of all the rows (for svm_fit(), and for the
 * folds of the primal path) consumes the Gram matrix: call svm_cv() before svm_fit(). */
void svm_cv(svm_problem *pb, const svm_params *p, const double *C, int n, const int *fold,
            int folds, double *acc, double *seconds);
/* Trains on every row with the given C (primal: starting from svm_cv()'s fold solutions
 * at C when it tried C); the model's weights apply to standardised features of the
 * original space (projection undone). The caller fills mean/scale and metadata. */
void svm_fit(svm_problem *pb, const svm_params *p, double C, svm_model *m);

/* Decision functions of a scheme: 1 for two classes (the score of class 1, > 0 = class 1);
 * k for one-vs-rest and Crammer-Singer (the largest wins); k(k-1)/2 for one-vs-one, pairs
 * (0,1), (0,2), ..., (k-2,k-1), f_ab > 0 a vote for a, else for b (most votes win, ties to
 * the smaller class). */
int svm_functions(svm_multi multi, int nclass);
/* The class the function values f choose; *score (may be NULL) gets class 1's score for two
 * classes, the winner's score (one-vs-rest, Crammer-Singer) or votes (one-vs-one). */
int svm_decide(svm_multi multi, int nclass, const double *f, double *score);
/* Predicted class of one raw (unstandardised) row, and its score as svm_decide(). */
int svm_predict(const svm_model *m, const float *x, double *score);

/* Text model file (docs/train-svm.md), written atomically; doubles round-trip exactly. */
void svm_save(const svm_model *m, const char *path);
svm_model svm_load(const char *path);
void svm_model_free(svm_model *m);

#endif
