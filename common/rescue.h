/* rescue.h - a second, per-image look at the images of the clusters find-noise removes.
 *
 * Clustering decides for whole clusters, so one face that t-SNE placed among the noise (a
 * dark face in a grey car, say) goes with it. The clusters themselves are a training set:
 * a linear SVM learns "kept cluster" vs "removed cluster" from small thumbnails, and every
 * removed image gets the decision value of a model trained on the other folds - a model
 * that never saw it. An image whose held-out decision says "kept" looks, pixel for pixel,
 * more like the faces than like the noise it was clustered with. No labels are used. */
#ifndef FP_RESCUE_H
#define FP_RESCUE_H

#include <stdint.h>

#define RESCUE_SIDE 32                       /* thumbnails are 32 x 32 x 3 */
#define RESCUE_DIM (RESCUE_SIDE * RESCUE_SIDE * 3)

typedef struct {
    int folds;            /* k of the k-fold (default 5) */
    double C;             /* SVM regularisation (default 0.01) */
    int64_t max_kept;     /* kept rows to train on at most (a seeded sample; default 5000) */
    uint64_t seed;
} rescue_params;

rescue_params rescue_defaults(void);

/* The thumbnail of an h x w x 3 u8 image: area-resized to RESCUE_SIDE, values in [0, 1]. */
void rescue_thumbnail(const uint8_t *rgb, int h, int w, float *out);

/* x: n thumbnails (n x RESCUE_DIM); removed[i] = 1 for rows of removed clusters. Writes the
 * held-out decision value of every removed row to score[i] (> 0: looks like a kept image);
 * score of kept rows is left untouched. Standardisation uses every row's mean and standard
 * deviation (unsupervised, no fold leakage of labels because there are none). */
void rescue_scores(const float *x, int64_t n, const int *removed, const rescue_params *p,
                   double *score);

/* The same held-out decisions on any features: x is n x dim (standardised inside); thumbs
 * (n x RESCUE_DIM) only decide which removed images are copies of one another (dealt to
 * different folds). score_all = 0: only removed rows are scored; 1: every row (rows outside
 * the kept sample are judged by the model of fold i % folds, which never saw them). */
void heldout_scores(const float *thumbs, const float *x, int64_t n, int dim, const int *removed,
                    const rescue_params *p, int score_all, double *score);

/* Otsu's two-class split of n values: the threshold maximising the between-class variance,
 * half-way between the two neighbouring values it separates; gap = their distance; below =
 * how many values lie under it; sd = the standard deviation of all the values. A split is
 * clean when its gap is a large part of sd: the values form two groups with nothing between. */
typedef struct {
    double threshold, gap, sd;
    int64_t below;
} split1d;

split1d otsu_split(const double *v, int64_t n);

/* Sorts n doubles ascending in place (find-noise's medians use it too). */
void sort_doubles(double *v, int64_t n);

#endif
