/* image.h - decoding PNG/JPEG files to 8-bit RGB, area resizing, and writing PNGs.
 *
 * Formats are sniffed from content, never from the file name. Alpha is dropped (the stored
 * colour of each pixel is kept, as Pillow's convert('RGB') does); grey is replicated to RGB;
 * 16-bit samples are scaled to 8 bits with rounding; palettes are expanded. */
#ifndef FP_IMAGE_H
#define FP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Largest accepted image: per side and in total pixels. Checked from the header before any
 * pixel buffer is allocated. */
#define IMG_MAX_SIDE 16384
#define IMG_MAX_PIXELS (64LL * 1024 * 1024)
#define IMG_MAX_FILE (256LL * 1024 * 1024)
/* Most scans accepted in a progressive JPEG (a CPU bomb otherwise; see image.c). */
#define IMG_MAX_JPEG_SCANS 500

typedef struct {
    int w, h;          /* pixels */
    uint8_t *px;       /* w*h*3 bytes, RGB, row-major */
} rgb_image;

/* Decodes PATH. On failure returns -1 and writes a one-line reason into err (no file name). */
int img_load(const char *path, rgb_image *out, char *err, size_t errlen);
/* Same from memory (used by the fuzzers). */
int img_decode_mem(const uint8_t *buf, size_t len, rgb_image *out, char *err, size_t errlen);
void img_free(rgb_image *im);

/* Area-averaging resize of src (sw x sh x c, 8-bit) to dst (dw x dh x c): every output pixel is
 * the mean of the source area it covers, fractional coverage weighted, rounded to nearest. */
void img_resize_area(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh, int c);

/* Writes an 8-bit PNG (c = 1 grey, 3 RGB, 4 RGBA) atomically (temp + rename). Dies on error. */
void png_write_file(const char *path, const uint8_t *px, int w, int h, int c);

#endif
