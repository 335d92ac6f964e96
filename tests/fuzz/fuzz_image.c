/* fuzz_image.c - harness for the image decoder (common/image.c): img_decode_mem() on the
 * input, then img_resize_area() of what it decoded, as decode does.
 *
 * Built twice by `make fuzz`: image_png (-DFZ_ONLY_PNG) and image_jpeg (-DFZ_ONLY_JPEG) take
 * only inputs with that format's signature, so each run spends its time on one decoder; the
 * replay build takes both. Checked: a failure always says why and leaves no pixels; a success
 * has dimensions within IMG_MAX_SIDE / IMG_MAX_PIXELS; no allocation beyond FZ_MAX_ALLOC. */
#include "err.h"
#include "fuzz.h"
#include "image.h"

#include <errno.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int wanted(const uint8_t *data, size_t size)
{
#if defined(FZ_ONLY_PNG)
    return size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0;
#elif defined(FZ_ONLY_JPEG)
    return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
#else
    (void)data;
    (void)size;
    return 1;
#endif
}

static void check_image(const uint8_t *data, size_t size)
{
    rgb_image im;
    char err[256] = "";
    if (img_decode_mem(data, size, &im, err, sizeof err) != 0) {
        FZ_ASSERT(err[0] != 0, "a failed decode must give a reason");
        FZ_ASSERT(im.px == NULL, "a failed decode must return no pixels");
        fz_note("refused: %s", err);
        return;
    }
    FZ_ASSERT(im.px != NULL, "decoded without pixels");
    FZ_ASSERT(im.w >= 1 && im.h >= 1 && im.w <= IMG_MAX_SIDE && im.h <= IMG_MAX_SIDE &&
              (long long)im.w * im.h <= IMG_MAX_PIXELS, "decoded %dx%d", im.w, im.h);
    /* Down to a thumbnail as decode does, and up to a size derived from the input. */
    uint8_t small[8 * 8 * 3], big[32 * 32 * 3];
    img_resize_area(im.px, im.w, im.h, small, 8, 8, 3);
    int bw = 1 + size % 32, bh = 1 + im.w % 32;
    if ((long long)im.w * im.h <= 1 << 20) img_resize_area(im.px, im.w, im.h, big, bw, bh, 3);
    /* A uniform image stays uniform (the weights of each output pixel sum to one). */
    int uniform = 1;
    for (long long i = 3; i < (long long)im.w * im.h * 3 && uniform; i++)
        uniform = im.px[i] == im.px[i % 3];
    if (uniform)
        for (int i = 0; i < 8 * 8 * 3; i++)
            FZ_ASSERT(small[i] == im.px[i % 3], "uniform image resized to uneven pixel %d", i);
    fz_note("decoded %dx%d", im.w, im.h);
    img_free(&im);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_catch_die();
    if (!wanted(data, size)) return 0;
    if (setjmp(fz_jb) == 0) check_image(data, size);
    fz_release();
    return 0;
}

/* The code under test, its allocations tracked (fz_track.h). */
#include "fz_track.h"
#include "../../common/image.c"
