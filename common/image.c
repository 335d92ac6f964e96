/* image.c - PNG (libpng) and JPEG (libjpeg-turbo) decoding to 8-bit RGB, area resize,
 * PNG writing. The format is sniffed from the first bytes, never taken from the name. */
#include "image.h"
#include "err.h"

#include <errno.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void img_free(rgb_image *im)
{
    free(im->px);
    im->px = NULL;
    im->w = im->h = 0;
}

static int fail(char *err, size_t n, const char *msg)
{
    snprintf(err, n, "%s", msg);
    return -1;
}

static int dims_ok(long w, long h, char *err, size_t n)
{
    if (w < 1 || h < 1) return fail(err, n, "image has zero width or height");
    if (w > IMG_MAX_SIDE || h > IMG_MAX_SIDE || (long long)w * h > IMG_MAX_PIXELS) {
        snprintf(err, n, "image of %ldx%ld pixels is beyond the limit (%d per side, %lld pixels)",
                 w, h, IMG_MAX_SIDE, IMG_MAX_PIXELS);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ PNG */

typedef struct {
    const uint8_t *buf;
    size_t len, pos;
    char *err;
    size_t errlen;
} png_src;

static void png_read_mem(png_structp png, png_bytep out, size_t n)
{
    png_src *s = png_get_io_ptr(png);
    if (n > s->len - s->pos) png_error(png, "file ends early (truncated)");
    memcpy(out, s->buf + s->pos, n);
    s->pos += n;
}

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_src *s = png_get_error_ptr(png);
    if (s->err[0] == 0) snprintf(s->err, s->errlen, "corrupt PNG: %s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* benign warnings (e.g. unknown chunks, iCCP profiles) are ignored */
}

static int decode_png(const uint8_t *buf, size_t len, rgb_image *out, char *err, size_t errlen)
{
    png_src src = {buf, len, 0, err, errlen};
    err[0] = 0;
    /* Read the claimed size straight from IHDR (always the first chunk) and refuse absurd
     * images before libpng allocates anything for them. */
    if (len >= 24 && memcmp(buf + 12, "IHDR", 4) == 0) {
        long w = (long)buf[16] << 24 | buf[17] << 16 | buf[18] << 8 | buf[19];
        long h = (long)buf[20] << 24 | buf[21] << 16 | buf[22] << 8 | buf[23];
        if (dims_ok(w, h, err, errlen)) return -1;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error,
                                             png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return fail(err, errlen, "out of memory");
    }
    uint8_t *volatile px = NULL;       /* volatile: assigned after setjmp */
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(px);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, &src, png_read_mem);
    /* Check the claimed size before libpng allocates anything for it. */
    png_set_user_limits(png, IMG_MAX_SIDE, IMG_MAX_SIDE);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    if (dims_ok((long)w, (long)h, err, errlen)) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    /* Normalise every colour type and depth to 8-bit RGB (+ maybe alpha). */
    if (depth == 16) png_set_scale_16(png);
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    /* Alpha (and a tRNS chunk) is dropped: the stored colour is kept, as Pillow's
     * convert('RGB') does. See docs/decode.md for why we do not composite. */
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)w * 3) png_error(png, "unexpected row size after conversion");
    px = malloc((size_t)w * h * 3);
    rows = malloc(sizeof *rows * h);
    if (!px || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = px + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->w = (int)w;
    out->h = (int)h;
    out->px = px;
    return 0;
}

/* ------------------------------------------------------------------ JPEG */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char *err;
    size_t errlen;
} jpeg_err;

static void jpeg_on_error(j_common_ptr c)
{
    jpeg_err *e = (jpeg_err *)c->err;
    char msg[JMSG_LENGTH_MAX];
    c->err->format_message(c, msg);
    snprintf(e->err, e->errlen, "corrupt JPEG: %s", msg);
    longjmp(e->jb, 1);
}

/* libjpeg only warns about a truncated file ("Premature end of JPEG file") and fills the rest
 * with grey; a silently half-grey image is worse than an error, so every warning is fatal. */
static void jpeg_on_message(j_common_ptr c, int level)
{
    if (level < 0) jpeg_on_error(c);
}

/* A progressive JPEG is a sequence of scans, each one a pass over the whole image; a legal
 * scan script can have thousands (one per coefficient and bit), so a file of a few KB
 * claiming a large image could keep the decoder busy for minutes. Encoders write about ten;
 * libjpeg-turbo's own tools suggest a limit of this order (djpeg -maxscans). */
static void jpeg_on_progress(j_common_ptr c)
{
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->input_scan_number > IMG_MAX_JPEG_SCANS) {
        jpeg_err *e = (jpeg_err *)c->err;
        snprintf(e->err, e->errlen, "corrupt JPEG: more than %d scans", IMG_MAX_JPEG_SCANS);
        longjmp(e->jb, 1);
    }
}

static int decode_jpeg(const uint8_t *buf, size_t len, rgb_image *out, char *err, size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress = {.progress_monitor = jpeg_on_progress};
    jpeg_err je;
    uint8_t *volatile px = NULL;
    cinfo.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_on_error;
    je.pub.emit_message = jpeg_on_message;
    je.err = err;
    je.errlen = errlen;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&cinfo);
        free(px);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    if (dims_ok((long)cinfo.image_width, (long)cinfo.image_height, err, errlen)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return fail(err, errlen, "CMYK JPEG is not supported");
    }
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    px = malloc((size_t)w * h * 3);
    if (!px) {
        jpeg_destroy_decompress(&cinfo);
        return fail(err, errlen, "out of memory");
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = px + (size_t)cinfo.output_scanline * w * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    out->w = w;
    out->h = h;
    out->px = px;
    return 0;
}

/* ------------------------------------------------------------------ entry points */

int img_decode_mem(const uint8_t *buf, size_t len, rgb_image *out, char *err, size_t errlen)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    out->px = NULL;
    out->w = out->h = 0;
    if (len == 0) return fail(err, errlen, "empty file");
    if (len >= 8 && memcmp(buf, png_sig, 8) == 0) return decode_png(buf, len, out, err, errlen);
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return decode_jpeg(buf, len, out, err, errlen);
    char hex[40] = "";
    for (size_t i = 0; i < len && i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", buf[i]);
    snprintf(err, errlen, "not a PNG or JPEG image (first bytes %s)", hex);
    return -1;
}

int img_load(const char *path, rgb_image *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fail(err, errlen, "not a regular file");
    }
    if (st.st_size > IMG_MAX_FILE) {
        fclose(f);
        snprintf(err, errlen, "file of %lld bytes is beyond the limit of %lld bytes",
                 (long long)st.st_size, (long long)IMG_MAX_FILE);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) { fclose(f); return fail(err, errlen, "out of memory"); }
    size_t got = fread(buf, 1, len, f);
    fclose(f);
    if (got != len) { free(buf); return fail(err, errlen, "read error"); }
    int rc = img_decode_mem(buf, len, out, err, errlen);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ area resize */

/* For one axis: output pixel o covers source interval [o*s/d, (o+1)*s/d). Each source pixel
 * i gets weight = overlap length. Weights are kept in units of 1/d source pixels so they
 * are exact integers: the interval is [o*s, (o+1)*s) in those units and pixel i spans
 * [i*d, (i+1)*d). */
typedef struct { int first, count; int *w; } span;

static span *make_spans(int s, int d)
{
    span *sp = xcalloc((size_t)d, sizeof *sp);
    for (int o = 0; o < d; o++) {
        long lo = (long)o * s, hi = (long)(o + 1) * s;
        int first = (int)(lo / d), last = (int)((hi - 1) / d);
        sp[o].first = first;
        sp[o].count = last - first + 1;
        sp[o].w = xmalloc(sizeof(int) * (size_t)sp[o].count);
        for (int i = first; i <= last; i++) {
            long a = (long)i * d > lo ? (long)i * d : lo;
            long b = (long)(i + 1) * d < hi ? (long)(i + 1) * d : hi;
            sp[o].w[i - first] = (int)(b - a);
        }
    }
    return sp;
}

static void free_spans(span *sp, int d)
{
    for (int o = 0; o < d; o++) free(sp[o].w);
    free(sp);
}

void img_resize_area(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh, int c)
{
    if (sw == dw && sh == dh) {
        memcpy(dst, src, (size_t)sw * sh * c);
        return;
    }
    span *xs = make_spans(sw, dw), *ys = make_spans(sh, dh);
    /* Horizontal pass into 32-bit sums (weights sum to sw per output pixel), then vertical. */
    uint32_t *tmp = xmalloc(sizeof(uint32_t) * (size_t)sh * dw * c);
    for (int y = 0; y < sh; y++) {
        const uint8_t *row = src + (size_t)y * sw * c;
        uint32_t *t = tmp + (size_t)y * dw * c;
        for (int o = 0; o < dw; o++)
            for (int ch = 0; ch < c; ch++) {
                uint32_t acc = 0;
                for (int k = 0; k < xs[o].count; k++)
                    acc += (uint32_t)xs[o].w[k] * row[(size_t)(xs[o].first + k) * c + ch];
                t[(size_t)o * c + ch] = acc;
            }
    }
    uint64_t denom = (uint64_t)sw * sh;
    for (int o = 0; o < dh; o++)
        for (int x = 0; x < dw * c; x++) {
            uint64_t acc = 0;
            for (int k = 0; k < ys[o].count; k++)
                acc += (uint64_t)ys[o].w[k] * tmp[(size_t)(ys[o].first + k) * dw * c + x];
            dst[(size_t)o * dw * c + x] = (uint8_t)((acc + denom / 2) / denom);
        }
    free(tmp);
    free_spans(xs, dw);
    free_spans(ys, dh);
}

/* ------------------------------------------------------------------ PNG writing */

void png_write_file(const char *path, const uint8_t *px, int w, int h, int c)
{
    int ctype = c == 1 ? PNG_COLOR_TYPE_GRAY : c == 3 ? PNG_COLOR_TYPE_RGB
              : c == 4 ? PNG_COLOR_TYPE_RGBA : -1;
    if (ctype < 0) die("png_write_file: %d channels is not 1, 3 or 4", c);
    outfile o = out_open(path);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) die("%s: out of memory", path);
    if (setjmp(png_jmpbuf(png))) {
        out_abort(&o);
        die("%s: cannot write PNG", path);
    }
    png_init_io(png, o.fp);
    /* Level 3 with the 'up' filter: files ~10% larger than level 9, written 4x faster. */
    png_set_compression_level(png, 3);
    png_set_filter(png, 0, PNG_FILTER_UP);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, ctype, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(px + (size_t)y * w * c));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    out_commit(&o);
}
