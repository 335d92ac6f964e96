/* mkimages - writes the test images for tests/bats/decode.bats: every PNG colour type and
 * depth with known pixels, a JPEG named .png, and broken files. Also writes expected.csv:
 * the RGB rows decode must produce for each lossless image at its native size (W x H = 8 x 8),
 * in the `mat to-csv` layout.
 *
 * Usage: mkimages DIR */
#include "err.h"

#include <jpeglib.h>
#include <zlib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#define W 8
#define H 8

/* The true colour of pixel (x, y). */
static void truth(int x, int y, int rgb[3])
{
    rgb[0] = x * 30 + 5;
    rgb[1] = y * 30 + 3;
    rgb[2] = (x * 7 + y * 13) * 2 % 256;
}

static int grey_of(int x, int y) { return x * 29 + y * 3; }

typedef struct {
    const char *name;
    int ctype, depth, interlace;
} png_kind;

static void write_png(const char *dir, const png_kind *k, FILE *expected)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.png", dir, k->name);
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot create %s", path);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) die("libpng failed on %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, W, H, k->depth, k->ctype, k->interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (k->ctype == PNG_COLOR_TYPE_PALETTE) {
        /* Palette entry i = colour of pixel (i % W, i / W); the first 4 are transparent. */
        png_color pal[W * H];
        png_byte trans[4] = {0, 64, 128, 200};
        for (int i = 0; i < W * H; i++) {
            int c[3];
            truth(i % W, i / W, c);
            pal[i] = (png_color){(png_byte)c[0], (png_byte)c[1], (png_byte)c[2]};
        }
        png_set_PLTE(png, info, pal, W * H);
        png_set_tRNS(png, info, trans, 4, NULL);
    }
    png_write_info(png, info);
    int bpp = k->depth == 16 ? 2 : 1;
    int ch = k->ctype == PNG_COLOR_TYPE_RGB ? 3 : k->ctype == PNG_COLOR_TYPE_RGBA ? 4
           : k->ctype == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    png_bytep rows[H];
    png_byte buf[H][W * 4 * 2];
    memset(buf, 0, sizeof buf);
    fprintf(expected, "%s", k->name);
    for (int y = 0; y < H; y++) {
        rows[y] = buf[y];
        for (int x = 0; x < W; x++) {
            int c[3];
            truth(x, y, c);
            int g = grey_of(x, y);
            if (k->ctype == PNG_COLOR_TYPE_PALETTE) {
                buf[y][x] = (png_byte)(y * W + x);
            } else if (k->ctype == PNG_COLOR_TYPE_GRAY && k->depth < 8) {
                /* Low depths: value v of depth d scales to v * 255 / (2^d - 1). */
                int maxv = (1 << k->depth) - 1, v = (x + y) % (maxv + 1);
                int per = 8 / k->depth, shift = 8 - k->depth * (x % per + 1);
                buf[y][x / per] |= (png_byte)(v << shift);
                g = v * 255 / maxv;
            } else {
                int vals[4];
                int n = 0;
                if (ch >= 3) { vals[n++] = c[0]; vals[n++] = c[1]; vals[n++] = c[2]; }
                else vals[n++] = g;
                if (ch == 2 || ch == 4) vals[n++] = (x * 37) & 255;   /* arbitrary alpha */
                for (int i = 0; i < n; i++) {
                    if (bpp == 2) {
                        /* 16-bit sample v*257 + 100 scales back to v (rounded). */
                        int v16 = vals[i] * 257 + 100;
                        buf[y][(x * ch + i) * 2] = (png_byte)(v16 >> 8);
                        buf[y][(x * ch + i) * 2 + 1] = (png_byte)(v16 & 255);
                    } else {
                        buf[y][x * ch + i] = (png_byte)vals[i];
                    }
                }
            }
            if (ch >= 3 || k->ctype == PNG_COLOR_TYPE_PALETTE) fprintf(expected, ",%d,%d,%d", c[0], c[1], c[2]);
            else fprintf(expected, ",%d,%d,%d", g, g, g);
        }
    }
    fputc('\n', expected);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

/* A uniform JPEG (colour 200,120,40) saved under a .png name. */
static void write_jpeg(const char *path, int w, int h)
{
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot create %s", path);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)w * 3);
    for (int x = 0; x < w; x++) { row[3 * x] = 200; row[3 * x + 1] = 120; row[3 * x + 2] = 40; }
    while (c.next_scanline < c.image_height) jpeg_write_scanlines(&c, &row, 1);
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    fclose(f);
}

static void truncate_copy(const char *src, const char *dst, double keep)
{
    FILE *f = fopen(src, "rb");
    if (!f) die("cannot open %s", src);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) die("read %s", src);
    fclose(f);
    f = fopen(dst, "wb");
    fwrite(b, 1, (size_t)(n * keep), f);
    fclose(f);
    free(b);
}

/* A valid PNG signature and IHDR claiming 100000 x 100000 pixels, and nothing else. */
static void write_huge_header(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[25] = {0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0,
                              8, 2, 0, 0, 0};
    unsigned long crc = crc32(0, ihdr + 4, 17);
    ihdr[21] = (unsigned char)(crc >> 24);
    ihdr[22] = (unsigned char)(crc >> 16);
    ihdr[23] = (unsigned char)(crc >> 8);
    ihdr[24] = (unsigned char)crc;
    FILE *f = fopen(path, "wb");
    fwrite(sig, 1, 8, f);
    fwrite(ihdr, 1, 25, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    if (argc != 2) die_usage("usage: mkimages DIR");
    const char *dir = argv[1];
    char path[512], path2[512];
    png_kind kinds[] = {
        {"rgb8", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE},
        {"rgba8", PNG_COLOR_TYPE_RGBA, 8, PNG_INTERLACE_NONE},
        {"grey8", PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE},
        {"grey1", PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE},
        {"grey2", PNG_COLOR_TYPE_GRAY, 2, PNG_INTERLACE_NONE},
        {"grey4", PNG_COLOR_TYPE_GRAY, 4, PNG_INTERLACE_NONE},
        {"greyalpha8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE},
        {"palette_trns", PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE},
        {"rgb16", PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE},
        {"rgba16", PNG_COLOR_TYPE_RGBA, 16, PNG_INTERLACE_NONE},
        {"grey16", PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE},
        {"rgb8_interlaced", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7},
    };
    snprintf(path, sizeof path, "%s/expected.csv", dir);
    FILE *expected = fopen(path, "w");
    if (!expected) die("cannot create %s", path);
    fprintf(expected, "id");
    for (int j = 0; j < W * H * 3; j++) fprintf(expected, ",x%d", j);
    fputc('\n', expected);
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) write_png(dir, &kinds[i], expected);
    fclose(expected);
    snprintf(path, sizeof path, "%s/jpeg_named.png", dir);
    write_jpeg(path, W, H);
    snprintf(path, sizeof path, "%s/rgb8.png", dir);
    snprintf(path2, sizeof path2, "%s/truncated.png", dir);
    truncate_copy(path, path2, 0.6);
    snprintf(path, sizeof path, "%s/jpeg_named.png", dir);
    snprintf(path2, sizeof path2, "%s/truncated_jpeg.png", dir);
    truncate_copy(path, path2, 0.5);
    snprintf(path, sizeof path, "%s/empty.png", dir);
    fclose(fopen(path, "wb"));
    snprintf(path, sizeof path, "%s/text.png", dir);
    FILE *t = fopen(path, "w");
    fputs("this is not an image\n", t);
    fclose(t);
    snprintf(path, sizeof path, "%s/huge.png", dir);
    write_huge_header(path);
    return 0;
}
