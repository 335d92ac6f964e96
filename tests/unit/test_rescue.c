/* Unit tests of common/rescue.c: Otsu's split of known values (worked out by hand), and the
 * held-out scores of a toy problem whose answer is obvious - including an image put on the
 * wrong side, which a model that never saw it must place on the right one. */
#include "check.h"
#include "err.h"
#include "rescue.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>

static void test_otsu_two_groups(void)
{
    /* {0,1,2} and {10,11,12}: the cut between 2 and 10, at 6; mean 6, variance
     * (36+25+16+16+25+36)/6 = 154/6 */
    const double v[6] = {11, 0, 12, 2, 10, 1};
    split1d s = otsu_split(v, 6);
    CHECK_NEAR(s.threshold, 6.0, 1e-12);
    CHECK_NEAR(s.gap, 8.0, 1e-12);
    CHECK(s.below == 3);
    CHECK_NEAR(s.sd, sqrt(154.0 / 6), 1e-12);
}

static void test_otsu_unbalanced_and_ties(void)
{
    /* eight equal values and one far away: the only cut with two non-empty groups of
     * distinct values is between 0 and 10 */
    const double v[9] = {0, 0, 0, 10, 0, 0, 0, 0, 0};
    split1d s = otsu_split(v, 9);
    CHECK_NEAR(s.threshold, 5.0, 1e-12);
    CHECK_NEAR(s.gap, 10.0, 1e-12);
    CHECK(s.below == 8);
    /* {0, 4, 5}: cuts 0|4,5 (between-class 2/9 * 4.5^2 = 4.5) beat 0,4|5 (2/9 * 3^2 = 2) */
    const double w[3] = {5, 0, 4};
    s = otsu_split(w, 3);
    CHECK_NEAR(s.threshold, 2.0, 1e-12);
    CHECK(s.below == 1);
    /* nothing to split */
    const double c[3] = {7, 7, 7};
    s = otsu_split(c, 3);
    CHECK(s.below == 0 && s.gap == 0);
    s = otsu_split(c, 1);
    CHECK(s.below == 0);
}

static void test_heldout_scores_toy(void)
{
    /* 60 rows of 4 features: "kept" rows near +1 in feature 0, "removed" rows near -1, the
     * other features noise. Row 5 sits with the kept rows but is labelled removed: its
     * held-out score (from models that never saw it) must still be > 0. */
    enum { N = 60, D = 4 };
    float *x = xcalloc(N * D, sizeof *x), *thumbs = xcalloc((size_t)N * RESCUE_DIM, sizeof *thumbs);
    int removed[N];
    double score[N];
    rng r;
    rng_seed(&r, 7);
    for (int i = 0; i < N; i++) {
        int kept_like = i % 3 != 0 || i == 5;
        removed[i] = i % 3 == 0 || i == 5;
        x[i * D] = (kept_like ? 1.0f : -1.0f) + 0.3f * (float)(rng_uniform(&r) - 0.5);
        for (int j = 1; j < D; j++) x[i * D + j] = (float)rng_uniform(&r);
        for (int j = 0; j < RESCUE_DIM; j++) thumbs[(size_t)i * RESCUE_DIM + j] = (float)i / N;  /* no copies */
        score[i] = 99;
    }
    rescue_params p = rescue_defaults();
    p.C = 1;
    heldout_scores(thumbs, x, N, D, removed, &p, 1, score);
    int wrong = 0;
    for (int i = 0; i < N; i++) wrong += (score[i] > 0) != (i % 3 != 0 || i == 5);
    CHECK(wrong == 0);
    CHECK(score[5] > 0);
    /* score_all = 0 leaves the kept rows alone */
    for (int i = 0; i < N; i++) score[i] = 99;
    heldout_scores(thumbs, x, N, D, removed, &p, 0, score);
    CHECK(score[1] == 99 && score[0] < 0 && score[5] > 0);
    free(x);
    free(thumbs);
}

int main(void)
{
    err_init("test_rescue");
    test_otsu_two_groups();
    test_otsu_unbalanced_and_ties();
    test_heldout_scores_toy();
    return check_summary("test_rescue");
}
