/* Unit tests of common/svm.c on generated data with more features than rows (so the span
 * projection is on by default): the projected model equals the unprojected one (the
 * projection and its inverse on the factor's rows), the primal solver's warm-started path
 * of C gives the same cross-validation on 1 or 2 threads and the same models as cold fits
 * at a tight tolerance, and the final fit started from the folds' solutions lands where a
 * cold one does. Two classes and three (one-vs-one pairs). */
#include "check.h"
#include "rng.h"
#include "split.h"
#include "svm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 60, D = 150 };

/* N standardised rows of D features: class c's rows are drawn around a mean of its own
 * (features 4c..4c+3 shifted by 3) with unit noise; y in 0..nclass-1 round-robin. */
static void make_data(int nclass, uint64_t seed, float *z, int *y, svm_model *scaler)
{
    rng r;
    rng_seed(&r, seed);
    float *x = malloc(sizeof(float) * N * D);
    for (int i = 0; i < N; i++) {
        y[i] = i % nclass;
        for (int j = 0; j < D; j++) x[i * D + j] = (float)rng_normal(&r);
        for (int j = 4 * y[i]; j < 4 * y[i] + 4; j++) x[i * D + j] += 3.0f;
    }
    memset(scaler, 0, sizeof *scaler);
    svm_fit_scaler(scaler, x, N, D);
    for (int i = 0; i < N; i++) svm_scale_row(scaler, x + i * D, z + i * D);
    free(x);
}

/* The largest |a_j - b_j| over the nw x (D + 1) weights, relative to the largest |b_j|. */
static double weight_diff(const svm_model *a, const svm_model *b)
{
    double diff = 0, big = 0;
    for (int64_t j = 0; j < (int64_t)a->nw * (D + 1); j++) {
        diff = fmax(diff, fabs(a->w[j] - b->w[j]));
        big = fmax(big, fabs(b->w[j]));
    }
    return diff / big;
}

static void fit_once(const float *z, const int *y, int nclass, svm_params p, double C, svm_model *m)
{
    svm_problem *pb = svm_problem_new(z, y, N, D, nclass, &p);
    svm_fit(pb, &p, C, m);
    svm_problem_free(pb);
}

/* The span projection changes nothing: the same model as LIBLINEAR on the D features
 * (primal solver, tight tolerance; the optimum is unique). */
static void test_projection(int nclass)
{
    float *z = malloc(sizeof(float) * N * D);
    int y[N];
    svm_model sc, on = {0}, off = {0};
    make_data(nclass, 7, z, y, &sc);
    svm_params p = {.solver = SVM_SOLVER_PRIMAL, .balanced = 1, .eps = 1e-9, .threads = 1,
                    .seed = 1, .project = SVM_PROJECT_ON};
    fit_once(z, y, nclass, p, 0.05, &on);
    p.project = SVM_PROJECT_OFF;
    fit_once(z, y, nclass, p, 0.05, &off);
    CHECK(on.nw == (nclass == 2 ? 1 : 3) && off.nw == on.nw);
    CHECK(weight_diff(&on, &off) < 1e-6);
    svm_model_free(&on);
    svm_model_free(&off);
    svm_model_free(&sc);
    free(z);
}

/* The path of C with warm starts: identical accuracies and final model on 1 and 2 threads;
 * at a tight tolerance the same accuracies as independent dual fits, and the final fit
 * (started from the folds' solutions) the model of a cold fit. */
static void test_path(int nclass)
{
    float *z = malloc(sizeof(float) * N * D);
    int y[N], fold[N];
    svm_model sc;
    make_data(nclass, 11, z, y, &sc);
    split_folds(y, N, nclass, 3, 1, fold);
    double C[4] = {0.3, 0.001, 0.02, 2};     /* unsorted: svm_cv walks them by size */
    double acc[2][4], sec[4], accd[4];
    svm_model m[2] = {{0}, {0}}, cold = {0};
    svm_params p = {.balanced = 1, .seed = 5};   /* auto: projected -> primal path */
    for (int t = 0; t < 2; t++) {
        p.threads = t + 1;
        svm_problem *pb = svm_problem_new(z, y, N, D, nclass, &p);
        CHECK(svm_problem_projected(pb));
        CHECK(strcmp(svm_problem_solver(pb), "L2R_L2LOSS_SVC") == 0);
        svm_cv(pb, &p, C, 4, fold, 3, acc[t], sec);
        svm_fit(pb, &p, C[2], &m[t]);
        svm_problem_free(pb);
    }
    CHECK(memcmp(acc[0], acc[1], sizeof acc[0]) == 0);
    CHECK(memcmp(m[0].w, m[1].w, sizeof(double) * (size_t)(m[0].nw * (D + 1))) == 0);
    for (int i = 0; i < 4; i++) CHECK(acc[0][i] >= 59.0 / N - 1e-12);   /* (59 or 60 of 60) */
    /* tight tolerance: the path's fits and the refit are the optima */
    svm_model_free(&m[0]);
    p.eps = 1e-9;
    p.threads = 2;
    svm_problem *pb = svm_problem_new(z, y, N, D, nclass, &p);
    svm_cv(pb, &p, C, 4, fold, 3, acc[0], sec);
    svm_fit(pb, &p, C[2], &m[0]);
    svm_problem_free(pb);
    svm_params pd = p;
    pd.solver = SVM_SOLVER_DUAL;
    pd.eps = 1e-6;
    pb = svm_problem_new(z, y, N, D, nclass, &pd);
    svm_cv(pb, &pd, C, 4, fold, 3, accd, sec);
    svm_problem_free(pb);
    CHECK(memcmp(acc[0], accd, sizeof accd) == 0);
    fit_once(z, y, nclass, p, C[2], &cold);
    CHECK(weight_diff(&m[0], &cold) < 1e-6);
    svm_model_free(&m[0]);
    svm_model_free(&m[1]);
    svm_model_free(&cold);
    svm_model_free(&sc);
    free(z);
}

int main(void)
{
    test_projection(2);
    test_projection(3);
    test_path(2);
    test_path(3);
    return check_summary("test_svm");
}
