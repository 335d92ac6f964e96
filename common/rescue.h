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

#endif
