/* sheet - a contact sheet: the images of a stream as a grid of thumbnails in one PNG, so a
 * person can see at a glance what a cluster or a split holds.
 *
 *   sheet [--cols C] [--thumb T] [--max N] [--ids CSV [--column NAME]] [FILE] -o OUT.png */
#include "csv.h"
#include "err.h"
#include "idmap.h"
#include "image.h"
#include "mat.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define GAP 2

static void usage(void)
{
    printf("Usage: sheet [OPTIONS] [FILE] -o OUT.png\n"
           "Tile the images of an image stream (from decode; '-' or no FILE = stdin) into one PNG.\n\n"
           "  -c, --cols C       thumbnails per row (default 10)\n"
           "  -t, --thumb T      thumbnail side in pixels (default 48)\n"
           "  -n, --max N        at most N images, the first ones (default 100)\n"
           "      --ids CSV      only the images listed in this CSV's file_name column (or\n"
           "                     --column NAME, or the first column)\n"
           "      --column NAME  the column of --ids holding the ids\n"
           "      --where COL=V  only the rows of --ids whose column COL equals V\n"
           "  -o, --output FILE  the PNG to write (required; written atomically)\n"
           "  -h, --help         show this help\n");
}

/* Ids from a CSV column, optionally only rows where another column has a given value. */
static void read_ids(idmap *m, const char *path, const char *column, const char *where)
{
    char wcol[256] = "", wval[256] = "";
    if (where) {
        const char *eq = strchr(where, '=');
        if (!eq || eq == where) die_usage("--where: expected COLUMN=VALUE, got '%s'", where);
        snprintf(wcol, sizeof wcol, "%.*s", (int)(eq - where), where);
        snprintf(wval, sizeof wval, "%s", eq + 1);
    }
    csv_reader *c = csv_open(path);
    char **f;
    int nf = csv_next(c, &f), col = -1, wc = -1;
    if (nf == 0) die("%s: empty file", path);
    for (int i = 0; i < nf; i++) {
        if (strcmp(f[i], column ? column : "file_name") == 0) col = i;
        if (where && strcmp(f[i], wcol) == 0) wc = i;
    }
    if (col < 0) {
        if (column) die("%s: no column '%s'", path, column);
        col = 0;
    }
    if (where && wc < 0) die("%s: no column '%s' (from --where)", path, wcol);
    while ((nf = csv_next(c, &f)) > 0) {
        if (col >= nf || (wc >= nf)) die("%s:%ld: too few fields", path, csv_line(c));
        if (where && strcmp(f[wc], wval) != 0) continue;
        idmap_put(m, f[col], 0);
    }
    csv_close(c);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    static const struct option opts[] = {
        {"cols", required_argument, 0, 'c'}, {"thumb", required_argument, 0, 't'},
        {"max", required_argument, 0, 'n'},  {"ids", required_argument, 0, 'I'},
        {"column", required_argument, 0, 'C'}, {"where", required_argument, 0, 'W'},
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int cols = 10, thumb = 48, max = 100;
    const char *ids = NULL, *column = NULL, *where = NULL, *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:t:n:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cols = (int)parse_long(optarg, "--cols", 1, 100); break;
        case 't': thumb = (int)parse_long(optarg, "--thumb", 4, 512); break;
        case 'n': max = (int)parse_long(optarg, "--max", 1, 10000); break;
        case 'I': ids = optarg; break;
        case 'C': column = optarg; break;
        case 'W': where = optarg; break;
        case 'o': out = optarg; break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    if (!out) die_usage("-o OUT.png is required");
    if (argc - optind > 1) die_usage("expected at most one input stream");
    idmap want;
    idmap_init(&want);
    if (ids) read_ids(&want, ids, column, where);
    mat_reader *r = mat_open(optind < argc ? argv[optind] : "-");
    mat_expect_image(r);
    const mat_header *h = mat_hdr(r);
    int ih = (int)h->shape[0], iw = (int)h->shape[1], ch = (int)h->shape[2];
    if (ch != 3) die("%s: expected RGB rows", mat_name(r));
    /* Collect the thumbnails first: the sheet's height depends on how many there are. */
    uint8_t *thumbs = xmalloc((size_t)max * thumb * thumb * 3), *px = xmalloc((size_t)mat_cols(h));
    char id[MAT_MAX_ID + 1];
    int n = 0;
    while (n < max && mat_read_row(r, id, px)) {
        if (ids && idmap_get(&want, id) < 0) continue;
        img_resize_area(px, iw, ih, thumbs + (size_t)n * thumb * thumb * 3, thumb, thumb, 3);
        n++;
    }
    mat_close(r);
    int rows = n ? (n + cols - 1) / cols : 1, ncols = n < cols ? (n ? n : 1) : cols;
    int W = ncols * (thumb + GAP) + GAP, H = rows * (thumb + GAP) + GAP;
    uint8_t *sheet = xmalloc((size_t)W * H * 3);
    memset(sheet, 255, (size_t)W * H * 3);
    for (int k = 0; k < n; k++) {
        int x0 = GAP + (k % cols) * (thumb + GAP), y0 = GAP + (k / cols) * (thumb + GAP);
        for (int y = 0; y < thumb; y++)
            memcpy(sheet + ((size_t)(y0 + y) * W + x0) * 3, thumbs + ((size_t)k * thumb * thumb + (size_t)y * thumb) * 3, (size_t)thumb * 3);
    }
    png_write_file(out, sheet, W, H, 3);
    fprintf(stderr, "sheet: %d images in a %dx%d grid -> %s\n", n, ncols, rows, out);
    free(thumbs);
    free(px);
    free(sheet);
    idmap_free(&want);
    return 0;
}
