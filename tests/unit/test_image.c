/* Unit tests of the image kernels (common/image.c) and the RNG (common/rng.c). */
#include "check.h"
#include "image.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>

/* Reference area resize in doubles: integrate the source over each output cell. */
static void ref_resize(const uint8_t *s, int sw, int sh, double *d, int dw, int dh)
{
    for (int oy = 0; oy < dh; oy++)
        for (int ox = 0; ox < dw; ox++) {
            double y0 = (double)oy * sh / dh, y1 = (double)(oy + 1) * sh / dh;
            double x0 = (double)ox * sw / dw, x1 = (double)(ox + 1) * sw / dw, acc = 0;
            for (int y = 0; y < sh; y++)
                for (int x = 0; x < sw; x++) {
                    double oyl = fmax(0, fmin(y + 1, y1) - fmax(y, y0));
                    double oxl = fmax(0, fmin(x + 1, x1) - fmax(x, x0));
                    acc += oyl * oxl * s[y * sw + x];
                }
            d[oy * dw + ox] = acc / ((y1 - y0) * (x1 - x0));
        }
}

static void test_resize(void)
{
    int sizes[][4] = {{7, 5, 3, 2}, {256, 256, 64, 64}, {10, 10, 10, 10}, {5, 5, 9, 9}, {13, 11, 4, 7}};
    rng r;
    rng_seed(&r, 3);
    for (int t = 0; t < 5; t++) {
        int sw = sizes[t][0], sh = sizes[t][1], dw = sizes[t][2], dh = sizes[t][3];
        uint8_t *s = malloc((size_t)sw * sh), *d = malloc((size_t)dw * dh);
        double *ref = malloc(sizeof(double) * (size_t)dw * dh);
        for (int i = 0; i < sw * sh; i++) s[i] = (uint8_t)rng_below(&r, 256);
        img_resize_area(s, sw, sh, d, dw, dh, 1);
        ref_resize(s, sw, sh, ref, dw, dh);
        double worst = 0;
        for (int i = 0; i < dw * dh; i++) worst = fmax(worst, fabs(d[i] - ref[i]));
        CHECK(worst <= 0.5 + 1e-9);     /* exact up to rounding */
        free(s);
        free(d);
        free(ref);
    }
}

static void test_rng(void)
{
    rng a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= rng_u64(&a) == rng_u64(&b);
    CHECK(same);
    /* Known first output of xoshiro256** seeded by splitmix64(0): a fixed value pins the
     * algorithm, so a change to it is caught (it would change every seeded result). */
    rng_seed(&a, 0);
    CHECK(rng_u64(&a) == 0x99ec5f36cb75f2b4ULL);
    /* uniform mean and normal moments over 1e5 draws */
    rng_seed(&a, 7);
    double s = 0, s2 = 0;
    for (int i = 0; i < 100000; i++) s += rng_uniform(&a);
    CHECK_NEAR(s / 1e5, 0.5, 0.005);
    s = 0;
    for (int i = 0; i < 100000; i++) { double z = rng_normal(&a); s += z; s2 += z * z; }
    CHECK_NEAR(s / 1e5, 0.0, 0.01);
    CHECK_NEAR(s2 / 1e5, 1.0, 0.02);
    /* rng_below is in range and hits every value */
    int seen[7] = {0}, ok = 1;
    for (int i = 0; i < 1000; i++) { uint64_t v = rng_below(&a, 7); ok &= v < 7; seen[v < 7 ? v : 0]++; }
    CHECK(ok);
    for (int i = 0; i < 7; i++) CHECK(seen[i] > 100);
    /* shuffle is a permutation */
    int64_t p[50];
    for (int i = 0; i < 50; i++) p[i] = i;
    rng_shuffle(&a, p, 50);
    int64_t sum = 0, moved = 0;
    for (int i = 0; i < 50; i++) { sum += p[i]; moved += p[i] != i; }
    CHECK(sum == 49 * 50 / 2 && moved > 30);
}

int main(void)
{
    err_init("test_image");
    test_resize();
    test_rng();
    return check_summary("test_image");
}
