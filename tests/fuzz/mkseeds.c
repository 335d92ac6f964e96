/* mkseeds - writes the JPEG part of the fuzz seed corpus: one small image encoded every way
 * libjpeg-turbo can (baseline 4:2:0 / 4:4:4, greyscale, progressive, arithmetic coding,
 * restart markers, optimised Huffman tables, CMYK), so the fuzzer starts from every decoder
 * path instead of having to discover them. The PNG, stream and CSV seeds come from the
 * project's own tools (tests/fuzz/seeds.sh).
 *
 * Usage: mkseeds DIR */
#include "err.h"

#include <jpeglib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 16
#define H 12

typedef struct {
    const char *name;
    int comps;              /* 1 grey, 3 RGB, 4 CMYK */
    int h_samp;             /* luma sampling factor: 2 = 4:2:0, 1 = 4:4:4 */
    int progressive, arith, restart, optimize, quality;
    int many_scans;         /* a legal scan script of 568 scans (beyond IMG_MAX_JPEG_SCANS) */
} jpeg_kind;

/* One DC scan, then for every component and AC coefficient three successive-approximation
 * scans (bits 2, 1, 0): 1 + 3 x 63 x 3 = 568 scans, every one of them legal. */
static jpeg_scan_info many[1 + 3 * 63 * 3];

static void many_scans(struct jpeg_compress_struct *c)
{
    int n = 0;
    many[n++] = (jpeg_scan_info){3, {0, 1, 2, 0}, 0, 0, 0, 0};
    static const int bits[3][2] = {{0, 2}, {2, 1}, {1, 0}};   /* (Ah, Al) */
    for (int b = 0; b < 3; b++)
        for (int comp = 0; comp < 3; comp++)
            for (int k = 1; k < 64; k++)
                many[n++] = (jpeg_scan_info){1, {comp, 0, 0, 0}, k, k, bits[b][0], bits[b][1]};
    c->scan_info = many;
    c->num_scans = n;
}

static void write_jpeg(const char *dir, const jpeg_kind *k)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.jpg", dir, k->name);
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot create %s", path);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = W;
    c.image_height = H;
    c.input_components = k->comps;
    c.in_color_space = k->comps == 1 ? JCS_GRAYSCALE : k->comps == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, k->quality, TRUE);
    if (k->comps == 3) {
        c.comp_info[0].h_samp_factor = k->h_samp;
        c.comp_info[0].v_samp_factor = k->h_samp;
    }
    if (k->progressive) jpeg_simple_progression(&c);
    if (k->many_scans) many_scans(&c);
    c.arith_code = k->arith ? TRUE : FALSE;
    c.optimize_coding = k->optimize ? TRUE : FALSE;
    c.restart_interval = (unsigned)k->restart;
    jpeg_start_compress(&c, TRUE);
    unsigned char row[W * 4];
    while (c.next_scanline < H) {
        int y = (int)c.next_scanline;
        /* A gradient with an edge: enough detail for non-trivial coefficients. */
        for (int x = 0; x < W; x++)
            for (int ch = 0; ch < k->comps; ch++)
                row[x * k->comps + ch] = (unsigned char)((x * 16 + y * 9 + ch * 70 + (x > 7) * 90) & 255);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    if (fclose(f) != 0) die("cannot write %s", path);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("Usage: mkseeds DIR\nWrites small JPEG seeds for the fuzzers into DIR.\n");
        return 0;
    }
    if (argc != 2) die_usage("usage: mkseeds DIR");
    static const jpeg_kind kinds[] = {
        {"baseline420", 3, 2, 0, 0, 0, 0, 85, 0},
        {"baseline444", 3, 1, 0, 0, 0, 0, 95, 0},
        {"grey", 1, 1, 0, 0, 0, 0, 75, 0},
        {"progressive", 3, 2, 1, 0, 0, 0, 80, 0},
        {"progressive_grey", 1, 1, 1, 0, 0, 0, 80, 0},
        {"arith", 3, 2, 0, 1, 0, 0, 80, 0},
        {"arith_progressive", 3, 1, 1, 1, 0, 0, 80, 0},
        {"restart", 3, 2, 0, 0, 1, 0, 80, 0},
        {"optimized", 3, 2, 0, 0, 0, 1, 50, 0},
        {"cmyk", 4, 1, 0, 0, 0, 0, 80, 0},
        {"scans568", 3, 1, 1, 0, 0, 0, 80, 1},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) write_jpeg(argv[1], &kinds[i]);
    return 0;
}
