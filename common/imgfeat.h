/* imgfeat.h - hand-crafted image features that need no trained weights.
 *
 * Made for telling faces (photos and cartoons) from nature/background images: colour
 * statistics, gradient structure at two scales and where skin tones are. There is no
 * thumbnail block on purpose: raw colour layout groups images by their background (a face
 * on a grey wall next to a grey sky) rather than by their content. The vector layout is fixed
 * and documented in docs/extract-features.md; FEAT_* give the offsets. */
#ifndef FP_IMGFEAT_H
#define FP_IMGFEAT_H

#include <stdint.h>

#define FEAT_SIDE 64                 /* images are area-resized to 64x64 first */
#define FEAT_HUE 0                   /* 12-bin hue histogram weighted by saturation */
#define FEAT_SAT 12                  /* 8-bin saturation histogram */
#define FEAT_VAL 20                  /* 8-bin value (brightness) histogram */
#define FEAT_STATS 28                /* mean R,G,B, std R,G,B (in [0,1]) */
#define FEAT_EDGE 34                 /* fraction of pixels with a strong gradient */
#define FEAT_SKIN 35                 /* fraction of skin-tone pixels, whole image */
#define FEAT_SKIN_CENTRE 36          /* the same inside the central ellipse (the face area) */
#define FEAT_WHITE 37                /* fraction of near-white pixels */
#define FEAT_BLACK 38                /* fraction of near-black pixels */
#define FEAT_COLOURFUL 39            /* Hasler-Suesstrunk colourfulness / 100 */
#define FEAT_HOG4 40                 /* HOG, 4x4 cells of 16 px x 9 orientations = 144 */
#define FEAT_HOG8 184                /* HOG, 8x8 cells of 8 px x 9 orientations = 576 */
#define FEAT_SKIN_GRID 760           /* skin fraction in each cell of an 8x8 grid = 64 */
#define FEAT_DIM 824

/* Computes the FEAT_DIM features of one RGB image (h x w x 3, u8) into out. */
void features_compute(const uint8_t *rgb, int h, int w, float *out);

/* True when an RGB pixel has a skin tone (YCbCr box of Chai & Ngan 1999). */
int is_skin(int r, int g, int b);

/* True when pixel (x, y) of a w x h image lies in the central ellipse where a face sits in
 * a face photo (5/8 of the width, 3/4 of the height). */
int in_face_area(int x, int y, int w, int h);

/* Fraction of skin-tone pixels inside the face area: the filter's face-evidence score. */
double face_skin_fraction(const uint8_t *rgb, int h, int w);

#endif
