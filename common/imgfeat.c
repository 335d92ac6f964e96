/* imgfeat.c - see imgfeat.h. Each block is a classic, weight-free descriptor:
 *  - HSV histograms: faces have skin hues and cartoon backgrounds are white; the noise
 *    images of AMLS are mostly grey, black or desaturated;
 *  - HOG (Dalal & Triggs 2005) on 4x4 and 8x8 grids: the layout of edges (eyes, mouth,
 *    hairline vs horizon lines and smooth skies);
 *  - an 8x8 map of skin-tone fractions: a face is a skin blob in the middle;
 *  - a few global statistics (skin fraction, edge density, colourfulness).
 * The blocks have very different variances; the filter pipeline standardises columns
 * (pca --standardize) before PCA so that no block dominates. */
#include "imgfeat.h"
#include "image.h"

#include <math.h>
#include <string.h>

int is_skin(int r, int g, int b)
{
    double cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    double cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
    return cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173;
}

int in_face_area(int x, int y, int w, int h)
{
    double ex = (x + 0.5 - w / 2.0) / (w * 0.3125);
    double ey = (y + 0.5 - h / 2.0) / (h * 0.375);
    return ex * ex + ey * ey <= 1;
}

double face_skin_fraction(const uint8_t *rgb, int h, int w)
{
    long skin = 0, area = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!in_face_area(x, y, w, h)) continue;
            const uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            area++;
            skin += is_skin(p[0], p[1], p[2]);
        }
    return area ? (double)skin / area : 0;
}

/* Hue in [0, 1), saturation and value in [0, 1] (HSV cone). */
static void rgb_to_hsv(int r, int g, int b, double *h, double *s, double *v)
{
    int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
    double d = mx - mn;
    *v = mx / 255.0;
    *s = mx ? d / mx : 0;
    if (d == 0) { *h = 0; return; }
    double hh;
    if (mx == r) hh = (g - b) / d;
    else if (mx == g) hh = 2 + (b - r) / d;
    else hh = 4 + (r - g) / d;
    hh /= 6;
    if (hh < 0) hh += 1;
    *h = hh >= 1 ? 0 : hh;
}

static int bin_of(double x, int bins)
{
    int k = (int)(x * bins);
    return k < 0 ? 0 : k >= bins ? bins - 1 : k;
}

static void colour_stats(const uint8_t *px, float *out)
{
    int n = FEAT_SIDE * FEAT_SIDE;
    double hue[12] = {0}, sat[8] = {0}, val[8] = {0};
    double sum[3] = {0}, sq[3] = {0}, rg_s = 0, rg_q = 0, yb_s = 0, yb_q = 0;
    int skin = 0, skin_c = 0, centre = 0, white = 0, black = 0;
    int grid[64] = {0}, cell = FEAT_SIDE / 8;
    for (int y = 0; y < FEAT_SIDE; y++)
        for (int x = 0; x < FEAT_SIDE; x++) {
            const uint8_t *p = px + (y * FEAT_SIDE + x) * 3;
            int r = p[0], g = p[1], b = p[2];
            double h, s, v;
            rgb_to_hsv(r, g, b, &h, &s, &v);
            hue[bin_of(h, 12)] += s;
            sat[bin_of(s, 8)] += 1;
            val[bin_of(v, 8)] += 1;
            for (int c = 0; c < 3; c++) { sum[c] += p[c]; sq[c] += (double)p[c] * p[c]; }
            double rg = r - g, yb = 0.5 * (r + g) - b;
            rg_s += rg; rg_q += rg * rg; yb_s += yb; yb_q += yb * yb;
            int sk = is_skin(r, g, b);
            skin += sk;
            grid[(y / cell) * 8 + x / cell] += sk;
            if (in_face_area(x, y, FEAT_SIDE, FEAT_SIDE)) { centre++; skin_c += sk; }
            white += r > 230 && g > 230 && b > 230;
            black += r < 25 && g < 25 && b < 25;
        }
    for (int k = 0; k < 12; k++) out[FEAT_HUE + k] = (float)(hue[k] / n);
    for (int k = 0; k < 8; k++) out[FEAT_SAT + k] = (float)(sat[k] / n);
    for (int k = 0; k < 8; k++) out[FEAT_VAL + k] = (float)(val[k] / n);
    for (int c = 0; c < 3; c++) {
        double m = sum[c] / n, var = sq[c] / n - m * m;
        out[FEAT_STATS + c] = (float)(m / 255);
        out[FEAT_STATS + 3 + c] = (float)(sqrt(var > 0 ? var : 0) / 255);
    }
    for (int k = 0; k < 64; k++) out[FEAT_SKIN_GRID + k] = (float)grid[k] / (cell * cell);
    out[FEAT_SKIN] = (float)skin / n;
    out[FEAT_SKIN_CENTRE] = (float)skin_c / centre;
    out[FEAT_WHITE] = (float)white / n;
    out[FEAT_BLACK] = (float)black / n;
    /* Hasler & Suesstrunk 2003: sqrt(var_rg + var_yb) + 0.3 sqrt(mean_rg^2 + mean_yb^2) */
    double mrg = rg_s / n, myb = yb_s / n;
    double vrg = rg_q / n - mrg * mrg, vyb = yb_q / n - myb * myb;
    out[FEAT_COLOURFUL] = (float)((sqrt(fmax(vrg + vyb, 0)) + 0.3 * sqrt(mrg * mrg + myb * myb)) / 100);
}

/* Gradients of the grey image by central differences: magnitude and unsigned orientation
 * bin (9 bins over [0, pi)). Returns the number of strong-gradient pixels. */
static int gradients(const uint8_t *px, float *mag, uint8_t *bin)
{
    float grey[FEAT_SIDE * FEAT_SIDE];
    for (int i = 0; i < FEAT_SIDE * FEAT_SIDE; i++)
        grey[i] = 0.299f * px[3 * i] + 0.587f * px[3 * i + 1] + 0.114f * px[3 * i + 2];
    int strong = 0;
    for (int y = 0; y < FEAT_SIDE; y++)
        for (int x = 0; x < FEAT_SIDE; x++) {
            int xl = x > 0 ? x - 1 : x, xr = x < FEAT_SIDE - 1 ? x + 1 : x;
            int yu = y > 0 ? y - 1 : y, yd = y < FEAT_SIDE - 1 ? y + 1 : y;
            double gx = grey[y * FEAT_SIDE + xr] - grey[y * FEAT_SIDE + xl];
            double gy = grey[yd * FEAT_SIDE + x] - grey[yu * FEAT_SIDE + x];
            double m = sqrt(gx * gx + gy * gy), ang = atan2(gy, gx);
            if (ang < 0) ang += M_PI;
            mag[y * FEAT_SIDE + x] = (float)m;
            bin[y * FEAT_SIDE + x] = (uint8_t)bin_of(ang / M_PI, 9);
            strong += m > 40;     /* a step of ~20 grey levels per pixel */
        }
    return strong;
}

/* HOG (Dalal & Triggs 2005) on a cells x cells grid: magnitude-weighted orientation
 * histograms, each cell normalised by its L2 norm plus a constant, so that flat cells stay
 * near zero instead of amplifying noise. */
static void hog(const float *mag, const uint8_t *bin, int cells, float *out)
{
    int cell = FEAT_SIDE / cells;
    double hist[8 * 8 * 9] = {0};
    for (int y = 0; y < FEAT_SIDE; y++)
        for (int x = 0; x < FEAT_SIDE; x++)
            hist[((y / cell) * cells + x / cell) * 9 + bin[y * FEAT_SIDE + x]] += mag[y * FEAT_SIDE + x];
    for (int c = 0; c < cells * cells; c++) {
        double n2 = 0;
        for (int b = 0; b < 9; b++) n2 += hist[c * 9 + b] * hist[c * 9 + b];
        double norm = sqrt(n2) + 255.0;
        for (int b = 0; b < 9; b++) out[c * 9 + b] = (float)(hist[c * 9 + b] / norm);
    }
}

void features_compute(const uint8_t *rgb, int h, int w, float *out)
{
    uint8_t px[FEAT_SIDE * FEAT_SIDE * 3];
    img_resize_area(rgb, w, h, px, FEAT_SIDE, FEAT_SIDE, 3);
    memset(out, 0, sizeof(float) * FEAT_DIM);
    colour_stats(px, out);
    float mag[FEAT_SIDE * FEAT_SIDE];
    uint8_t bin[FEAT_SIDE * FEAT_SIDE];
    out[FEAT_EDGE] = (float)gradients(px, mag, bin) / (FEAT_SIDE * FEAT_SIDE);
    hog(mag, bin, 4, out + FEAT_HOG4);
    hog(mag, bin, 8, out + FEAT_HOG8);
}
