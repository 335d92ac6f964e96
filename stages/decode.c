/* decode - images (PNG or JPEG, sniffed by content) -> matrix stream of S x S x 3 u8 rows.
 *
 * Which images, in which order:
 *   decode [opts] --labels CSV DIR   one row per CSV row (its file_name is the row id)
 *   decode [opts] --all DIR          every file in DIR, in natural name order
 *   decode [opts] [DIR] < LIST       one path or id per line (relative ones resolved in DIR)
 * A row id is the CSV's file_name, or else the file's base name without its extension.
 * Images are decoded on all cores in batches and written in input order; memory holds one
 * batch, whatever the number of images. See docs/decode.md. */
#include "csv.h"
#include "err.h"
#include "idmap.h"
#include "image.h"
#include "labels.h"
#include "mat.h"
#include "progress.h"
#include "threads.h"

#include <ctype.h>
#include <dirent.h>
#include <getopt.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH_PER_THREAD 16

static void usage(void)
{
    printf("Usage: decode [OPTIONS] --labels CSV DIR\n"
           "       decode [OPTIONS] --all DIR\n"
           "       decode [OPTIONS] [DIR] < LIST\n"
           "Decode PNG/JPEG images (format sniffed from content) into a matrix stream of\n"
           "SIZE x SIZE x 3 u8 rows, one per image, each carrying its id.\n\n"
           "  -s, --size S       output side in pixels, area-averaged (default 64; the\n"
           "                     image's own size means no resampling)\n"
           "  -l, --labels CSV   take ids from the CSV's file_name column, in CSV order\n"
           "  -a, --all          every file in DIR, in natural name order\n"
           "      --list FILE    read ids/paths from FILE ('-' = stdin, the default)\n"
           "      --skip-bad     skip unreadable images (each listed on stderr) instead of\n"
           "                     stopping at the first\n"
           "  -o, --output FILE  write to FILE atomically instead of stdout\n"
           "  -j, --threads N    decoding threads (default: all cores)\n"
           "  -h, --help         show this help\n\n"
           "Ids resolve to DIR/ID, else DIR/ID.png, .jpg, .jpeg. Alpha is dropped, grey is\n"
           "replicated to RGB, 16-bit samples are scaled to 8 bits.\n");
}

typedef struct {
    char *id;
    char *path;
} item;

typedef struct {
    item *v;
    int64_t n, cap;
} item_list;

static void push_item(item_list *l, char *id, char *path)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->v = xrealloc(l->v, sizeof(item) * (size_t)l->cap);
    }
    l->v[l->n++] = (item){id, path};
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static char *join(const char *dir, const char *name)
{
    if (!dir || name[0] == '/') return xstrdup(name);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* DIR/ID, else DIR/ID.png/.jpg/.jpeg. Returns the first candidate when none exists, so
 * the decoding step reports "cannot open" with a real name. */
static char *resolve(const char *dir, const char *id)
{
    static const char *ext[] = {"", ".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG"};
    char *first = NULL;
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t n = strlen(id) + strlen(ext[i]) + 1;
        char *name = xmalloc(n);
        snprintf(name, n, "%s%s", id, ext[i]);
        char *p = join(dir, name);
        free(name);
        if (is_file(p)) { free(first); return p; }
        if (i == 1 && !first) first = p; else free(p);
    }
    return first;
}

/* Base name without extension. */
static char *id_from_path(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *id = xstrdup(b);
    char *dot = strrchr(id, '.');
    if (dot && dot != id) *dot = 0;
    return id;
}

/* Natural order: runs of digits compare as numbers, so 2.png < 10.png. */
static int natural_cmp(const void *pa, const void *pb)
{
    const char *a = *(char *const *)pa, *b = *(char *const *)pb;
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0') a++;
            while (*b == '0') b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la])) la++;
            while (isdigit((unsigned char)b[lb])) lb++;
            if (la != lb) return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c) return c;
            a += la;
            b += lb;
        } else {
            if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

static void list_from_labels(item_list *l, const char *csv, const char *dir)
{
    labels lab = labels_read(csv);
    for (int64_t i = 0; i < lab.nrows; i++)
        push_item(l, xstrdup(lab.ids[i]), resolve(dir, lab.ids[i]));
    labels_free(&lab);
}

static void list_from_dir(item_list *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) die("cannot open directory %s", dir);
    char **names = NULL;
    int64_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = join(dir, e->d_name);
        int ok = is_file(p);
        free(p);
        if (!ok) continue;
        if (n == cap) names = xrealloc(names, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 1024));
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, natural_cmp);
    for (int64_t i = 0; i < n; i++) {
        push_item(l, id_from_path(names[i]), join(dir, names[i]));
        free(names[i]);
    }
    free(names);
}

static void list_from_lines(item_list *l, const char *listfile, const char *dir)
{
    FILE *f = strcmp(listfile, "-") == 0 ? stdin : fopen(listfile, "r");
    if (!f) die("cannot open list %s", listfile);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        char *id = id_from_path(line);
        char *path = (dir && !strchr(line, '/')) ? resolve(dir, line) : join(dir, line);
        push_item(l, id, path);
    }
    free(line);
    if (f != stdin) fclose(f);
}

/* ------------------------------------------------------------------ batch decoding */

typedef struct {
    item *items;
    int size;
    uint8_t *rows;       /* batch x size*size*3 */
    char (*err)[256];    /* per item: empty = ok */
} batch_ctx;

static void decode_one(void *vctx, int64_t i, int thread)
{
    (void)thread;
    batch_ctx *c = vctx;
    rgb_image im;
    c->err[i][0] = 0;
    if (img_load(c->items[i].path, &im, c->err[i], sizeof c->err[i]) != 0) return;
    img_resize_area(im.px, im.w, im.h, c->rows + (size_t)i * c->size * c->size * 3, c->size,
                    c->size, 3);
    img_free(&im);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    /* Each image needs a few 100-200 KB buffers; keep them on the heap instead of fresh
     * mmap()s, whose page faults cost a third of the decode time. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    static const struct option opts[] = {
        {"size", required_argument, 0, 's'},   {"labels", required_argument, 0, 'l'},
        {"all", no_argument, 0, 'a'},          {"list", required_argument, 0, 'L'},
        {"skip-bad", no_argument, 0, 'B'},     {"output", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 'j'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int size = 64, all = 0, skip_bad = 0, threads = 0;
    const char *labels_path = NULL, *list_path = NULL, *out = "-";
    int c;
    while ((c = getopt_long(argc, argv, "s:l:ao:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': size = (int)parse_long(optarg, "--size", 1, 4096); break;
        case 'l': labels_path = optarg; break;
        case 'a': all = 1; break;
        case 'L': list_path = optarg; break;
        case 'B': skip_bad = 1; break;
        case 'o': out = optarg; break;
        case 'j': threads = (int)parse_long(optarg, "--threads", 1, 64); break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    if (argc - optind > 1) die_usage("expected at most one image directory, got %d arguments", argc - optind);
    const char *dir = optind < argc ? argv[optind] : NULL;
    if ((labels_path != NULL) + all + (list_path != NULL) > 1)
        die_usage("choose one of --labels, --all and --list");
    if ((labels_path || all) && !dir) die_usage("--labels and --all need an image directory");

    item_list items = {0};
    if (labels_path) list_from_labels(&items, labels_path, dir);
    else if (all) list_from_dir(&items, dir);
    else {
        if (!list_path && isatty(0))
            die_usage("expected a list of images on stdin (or use --labels CSV DIR, --all DIR)");
        list_from_lines(&items, list_path ? list_path : "-", dir);
    }
    if (items.n == 0) die("no images to decode");

    /* Ids must be unique (they are the join key downstream) and fit the id field. */
    int idw = 8;
    idmap seen;
    idmap_init(&seen);
    for (int64_t i = 0; i < items.n; i++) {
        if (idmap_put(&seen, items.v[i].id, i) >= 0)
            die("duplicate image id '%s' (%s)", items.v[i].id, items.v[i].path);
        int len = (int)strlen(items.v[i].id);
        if (len > MAT_MAX_ID) die("id '%s' is longer than %d bytes", items.v[i].id, MAT_MAX_ID);
        if (len > idw) idw = len;
    }
    idmap_free(&seen);
    idw = (idw + 7) / 8 * 8;
    if (idw > MAT_MAX_ID) idw = MAT_MAX_ID;

    mat_header h = mat_header_img(skip_bad ? MAT_ROWS_UNKNOWN : items.n, size, size, 3, idw);
    mat_writer *w = mat_create(out, &h);
    if (threads <= 0) threads = fp_threads();
    int bsize = threads * BATCH_PER_THREAD;
    size_t rowb = (size_t)size * size * 3;
    batch_ctx ctx = {.size = size, .rows = xmalloc(rowb * (size_t)bsize),
                     .err = xmalloc(sizeof(*ctx.err) * (size_t)bsize)};
    progress pr;
    progress_start(&pr, "decode", "images", items.n);
    int64_t skipped = 0;
    for (int64_t start = 0; start < items.n; start += bsize) {
        int64_t nb = items.n - start < bsize ? items.n - start : bsize;
        ctx.items = items.v + start;
        parallel_for(nb, threads, decode_one, &ctx);
        for (int64_t i = 0; i < nb; i++) {
            if (ctx.err[i][0]) {
                if (!skip_bad) die("%s: %s", ctx.items[i].path, ctx.err[i]);
                warn("skipping %s: %s", ctx.items[i].path, ctx.err[i]);
                skipped++;
                continue;
            }
            mat_write_row(w, ctx.items[i].id, ctx.rows + (size_t)i * rowb);
        }
        progress_update(&pr, start + nb);
    }
    if (skipped == items.n) die("every one of the %lld images was bad", (long long)items.n);
    mat_finish(w);
    progress_end(&pr);
    if (skipped) warn("skipped %lld bad image(s) of %lld", (long long)skipped, (long long)items.n);
    for (int64_t i = 0; i < items.n; i++) { free(items.v[i].id); free(items.v[i].path); }
    free(items.v);
    free(ctx.rows);
    free(ctx.err);
    return 0;
}
