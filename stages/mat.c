/* mat - look at, convert and combine matrix streams (docs/format.md, docs/mat.md).
 *
 *   mat info [FILE...]               shape, type, row count, value range; checks integrity
 *   mat ids [FILE]                   the row ids, one per line
 *   mat head [-n N] [FILE]           the first N rows (default 10) as a stream
 *   mat cat FILE...                  rows of every file, in order (same type and shape)
 *   mat select --ids CSV [--column NAME] [--exclude] [--allow-missing] [FILE]
 *   mat to-csv [FILE]                id,x0,x1,... (header row first)
 *   mat from-csv [--type T] [--shape HxWxC] [FILE]
 *   mat to-npy [FILE]                plain NumPy array without ids
 *   mat convert --type T [FILE]      change the element type
 * FILE defaults to '-' (stdin); output goes to stdout, or atomically to -o FILE. */
#include "csv.h"
#include "err.h"
#include "idmap.h"
#include "mat.h"

#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *out_path = "-";

static void usage(void)
{
    printf("Usage: mat COMMAND [OPTIONS] [FILE...]\n"
           "Inspect, convert and combine matrix streams ('-' or no FILE = stdin).\n\n"
           "Commands:\n"
           "  info [FILE...]            rows, shape, type, id width and value range; reads the\n"
           "                            whole stream, so it also checks it is intact\n"
           "      --rows                print only the row count\n"
           "  ids [FILE]                the row ids, one per line\n"
           "  head [-n N] [FILE]        the first N rows (default 10)\n"
           "  cat FILE...               concatenate streams with the same type and row shape\n"
           "  select --ids CSV [FILE]   keep the rows whose id is listed in a CSV column\n"
           "      --column NAME         the column holding ids (default: file_name if the\n"
           "                            header has it, else the first column)\n"
           "      --exclude             drop the listed rows instead\n"
           "      --allow-missing       listed ids absent from the stream are not an error\n"
           "  to-csv [FILE]             CSV: header id,x0,x1,...; one line per row\n"
           "  from-csv [FILE]           the reverse; first column is the id\n"
           "      --type T              u8, i32, f32 (default) or f64\n"
           "      --shape HxWxC         row shape (default: one vector of all columns)\n"
           "  to-npy [FILE]             plain NumPy array (rows, shape...) without ids\n"
           "  convert --type T [FILE]   change the element type (u8 rounds and clamps)\n\n"
           "Options for every command:\n"
           "  -o, --output FILE         write to FILE atomically instead of stdout\n"
           "  -h, --help                show this help\n");
}

/* ------------------------------------------------------------------ info / ids */

static void info_one(const char *path, int rows_only)
{
    mat_reader *r = mat_open(path);
    const mat_header *h = mat_hdr(r);
    int64_t n = mat_cols(h);
    double *x = xmalloc(sizeof(double) * (size_t)n);
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    int64_t nonfinite = 0;
    char first[MAT_MAX_ID + 1] = "", last[MAT_MAX_ID + 1] = "", id[MAT_MAX_ID + 1];
    while (mat_read_row_f64(r, id, x)) {
        if (mat_row_index(r) == 1) strcpy(first, id);
        strcpy(last, id);
        for (int64_t j = 0; j < n; j++) {
            if (!isfinite(x[j])) { nonfinite++; continue; }
            if (x[j] < lo) lo = x[j];
            if (x[j] > hi) hi = x[j];
            sum += x[j];
        }
    }
    if (rows_only) {
        printf("%" PRId64 "\n", h->rows);
    } else {
        char d[160];
        mat_header_describe(h, d, sizeof d);
        printf("%s: %s", mat_name(r), d);
        if (h->rows > 0)
            printf(", ids %s..%s, values %g..%g mean %g", first, last, lo, hi,
                   sum / ((double)h->rows * (double)n - (double)nonfinite));
        if (nonfinite) printf(", %" PRId64 " non-finite", nonfinite);
        printf("\n");
    }
    free(x);
    mat_close(r);
}

static void cmd_ids(const char *path)
{
    mat_reader *r = mat_open(path);
    char id[MAT_MAX_ID + 1];
    while (mat_read_row(r, id, NULL)) puts(id);
    mat_close(r);
}

/* ------------------------------------------------------------------ head / cat */

static void copy_rows(mat_reader *r, mat_writer *w, int64_t limit)
{
    const mat_header *h = mat_hdr(r);
    void *row = xmalloc((size_t)mat_cols(h) * mat_type_size(h->type));
    char id[MAT_MAX_ID + 1];
    for (int64_t i = 0; i < limit && mat_read_row(r, id, row); i++) mat_write_row(w, id, row);
    free(row);
}

static void cmd_head(const char *path, int64_t n)
{
    mat_reader *r = mat_open(path);
    mat_header h = *mat_hdr(r);
    if (h.rows > n) h.rows = n;
    mat_writer *w = mat_create(out_path, &h);
    copy_rows(r, w, h.rows);
    mat_finish(w);
    mat_close(r);
}

static int same_rows(const mat_header *a, const mat_header *b)
{
    if (a->type != b->type || a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

static void cmd_cat(char **paths, int n)
{
    /* First pass over the headers: check they agree and add up the rows. */
    mat_header total = {0};
    for (int i = 0; i < n; i++) {
        mat_reader *r = mat_open(paths[i]);
        const mat_header *h = mat_hdr(r);
        if (i == 0) total = *h;
        else {
            if (!same_rows(&total, h)) {
                char a[160], b[160];
                mat_header_describe(&total, a, sizeof a);
                mat_header_describe(h, b, sizeof b);
                die("%s: rows differ from %s: expected %s, found %s", paths[i], paths[0], a, b);
            }
            total.rows += h->rows;
            if (h->idw > total.idw) total.idw = h->idw;
        }
        mat_close(r);
    }
    mat_writer *w = mat_create(out_path, &total);
    for (int i = 0; i < n; i++) {
        mat_reader *r = mat_open(paths[i]);
        copy_rows(r, w, INT64_MAX);
        if (mat_read_row(r, NULL, NULL)) die("internal error");
        mat_close(r);
    }
    mat_finish(w);
}

/* ------------------------------------------------------------------ select */

static void read_id_list(idmap *m, const char *csv, const char *column)
{
    csv_reader *c = csv_open(csv);
    char **f;
    int nf = csv_next(c, &f);
    if (nf == 0) die("%s: empty file: expected a header row", csv);
    int col = -1;
    for (int i = 0; i < nf; i++)
        if (strcmp(f[i], column ? column : "file_name") == 0) col = i;
    if (col < 0) {
        if (column) die("%s:%ld: no column '%s' in the header", csv, csv_line(c), column);
        col = 0;
    }
    while ((nf = csv_next(c, &f)) > 0) {
        if (col >= nf) die("%s:%ld: expected at least %d fields, found %d", csv, csv_line(c), col + 1, nf);
        idmap_put(m, f[col], 0);
    }
    csv_close(c);
}

static void cmd_select(const char *path, const char *ids, const char *column, int exclude,
                       int allow_missing)
{
    idmap want;
    idmap_init(&want);
    read_id_list(&want, ids, column);
    mat_reader *r = mat_open(path);
    mat_header h = *mat_hdr(r);
    int64_t in_rows = h.rows;
    h.rows = MAT_ROWS_UNKNOWN;
    mat_writer *w = mat_create(out_path, &h);
    void *row = xmalloc((size_t)mat_cols(&h) * mat_type_size(h.type));
    char id[MAT_MAX_ID + 1];
    int64_t kept = 0, matched = 0;
    while (mat_read_row(r, id, row)) {
        int64_t k = idmap_get(&want, id);
        if (k >= 0) {
            matched++;
        }
        if ((k >= 0) != exclude) { mat_write_row(w, id, row); kept++; }
    }
    if (matched < want.n && !allow_missing)
        die("%s: %" PRId64 " of the %" PRId64 " ids listed in %s are not in the stream "
            "(use --allow-missing to accept that)", mat_name(r), want.n - matched, want.n, ids);
    mat_finish(w);
    fprintf(stderr, "mat select: kept %" PRId64 " of %" PRId64 " rows\n", kept, in_rows);
    free(row);
    mat_close(r);
    idmap_free(&want);
}

/* ------------------------------------------------------------------ CSV */

static void print_number(FILE *f, mat_type t, double v)
{
    if (t == MAT_F32) fprintf(f, "%.9g", v);
    else if (t == MAT_F64) fprintf(f, "%.17g", v);
    else fprintf(f, "%.0f", v);
}

static void cmd_to_csv(const char *path)
{
    mat_reader *r = mat_open(path);
    const mat_header *h = mat_hdr(r);
    int64_t n = mat_cols(h);
    outfile o = out_open(out_path);
    fputs("id", o.fp);
    for (int64_t j = 0; j < n; j++) fprintf(o.fp, ",x%" PRId64, j);
    fputc('\n', o.fp);
    double *x = xmalloc(sizeof(double) * (size_t)n);
    char id[MAT_MAX_ID + 1];
    while (mat_read_row_f64(r, id, x)) {
        csv_put(o.fp, id);
        for (int64_t j = 0; j < n; j++) {
            fputc(',', o.fp);
            print_number(o.fp, h->type, x[j]);
        }
        fputc('\n', o.fp);
    }
    out_commit(&o);
    free(x);
    mat_close(r);
}

static int parse_shape(const char *s, int64_t *shape)
{
    int n = 0;
    while (*s && n < MAT_MAX_DIMS) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1) return -1;
        shape[n++] = v;
        s = end;
        if (*s == 'x') s++;
        else if (*s) return -1;
    }
    return *s ? -1 : n;
}

static void cmd_from_csv(const char *path, mat_type t, const char *shape_arg)
{
    csv_reader *c = csv_open(path);
    char **f;
    int nf = csv_next(c, &f);
    if (nf == 0) die("%s: empty file: expected a header row id,x0,...", csv_name(c));
    if (nf < 2) die("%s:%ld: expected an id column and at least one value column", csv_name(c), csv_line(c));
    int ncols = nf - 1;
    mat_header h = mat_header_vec(t, MAT_ROWS_UNKNOWN, ncols, 8);
    if (shape_arg) {
        h.ndim = parse_shape(shape_arg, h.shape);
        if (h.ndim < 1) die_usage("--shape: expected dimensions like 64x64x3, got '%s'", shape_arg);
        if (mat_cols(&h) != ncols)
            die("--shape %s holds %" PRId64 " values but %s has %d value columns", shape_arg,
                mat_cols(&h), csv_name(c), ncols);
    }
    /* Ids are only known while reading; rows go to a temporary list of widths first. */
    h.idw = 64;
    mat_writer *w = mat_create(out_path, &h);
    double *x = xmalloc(sizeof(double) * (size_t)ncols);
    while ((nf = csv_next(c, &f)) > 0) {
        if (nf != ncols + 1)
            die("%s:%ld: expected %d fields like the header, found %d", csv_name(c), csv_line(c),
                ncols + 1, nf);
        if (strlen(f[0]) > 64) die("%s:%ld: id longer than 64 bytes", csv_name(c), csv_line(c));
        for (int j = 0; j < ncols; j++) {
            char *end;
            errno = 0;
            x[j] = strtod(f[j + 1], &end);
            if (end == f[j + 1] || *end || errno == ERANGE)
                die("%s:%ld: column %d: expected a number, found '%s'", csv_name(c), csv_line(c),
                    j + 2, f[j + 1]);
            if (t == MAT_U8 && (x[j] < 0 || x[j] > 255 || x[j] != floor(x[j])))
                die("%s:%ld: column %d: %s is not a u8 value (0..255)", csv_name(c), csv_line(c),
                    j + 2, f[j + 1]);
            if (t == MAT_I32 && (x[j] != floor(x[j]) || fabs(x[j]) > 2147483647.0))
                die("%s:%ld: column %d: %s is not an i32 value", csv_name(c), csv_line(c), j + 2,
                    f[j + 1]);
        }
        mat_write_row_f64(w, f[0], x);
    }
    mat_finish(w);
    free(x);
    csv_close(c);
}

/* ------------------------------------------------------------------ to-npy / convert */

static void cmd_to_npy(const char *path)
{
    mat_reader *r = mat_open(path);
    const mat_header *h = mat_hdr(r);
    static const char *descr[] = {"|u1", "<i4", "<f4", "<f8"};
    char shp[128];
    int k = snprintf(shp, sizeof shp, "%" PRId64, h->rows);
    for (int i = 0; i < h->ndim; i++) k += snprintf(shp + k, sizeof shp - k, ", %" PRId64, h->shape[i]);
    char dict[256];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                      descr[h->type], shp);
    size_t total = (10 + (size_t)dl + 1 + 63) / 64 * 64;
    size_t hlen = total - 10;
    outfile o = out_open(out_path);
    fwrite("\x93NUMPY\x01\x00", 1, 8, o.fp);
    fputc((int)(hlen & 0xff), o.fp);
    fputc((int)(hlen >> 8), o.fp);
    fwrite(dict, 1, (size_t)dl, o.fp);
    for (size_t i = (size_t)dl; i < hlen - 1; i++) fputc(' ', o.fp);
    fputc('\n', o.fp);
    size_t rb = (size_t)mat_cols(h) * mat_type_size(h->type);
    void *row = xmalloc(rb);
    while (mat_read_row(r, NULL, row)) fwrite(row, 1, rb, o.fp);
    out_commit(&o);
    free(row);
    mat_close(r);
}

static void cmd_convert(const char *path, mat_type t)
{
    mat_reader *r = mat_open(path);
    mat_header h = *mat_hdr(r);
    h.type = t;
    mat_writer *w = mat_create(out_path, &h);
    double *x = xmalloc(sizeof(double) * (size_t)mat_cols(&h));
    char id[MAT_MAX_ID + 1];
    while (mat_read_row_f64(r, id, x)) mat_write_row_f64(w, id, x);
    mat_finish(w);
    free(x);
    mat_close(r);
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    err_init(argv[0]);
    if (argc < 2) die_usage("expected a command (info, ids, head, cat, select, to-csv, from-csv, to-npy, convert)");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) { usage(); return 0; }
    const char *cmd = argv[1];
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'},
        {"rows", no_argument, 0, 'R'},         {"ids", required_argument, 0, 'I'},
        {"column", required_argument, 0, 'C'}, {"exclude", no_argument, 0, 'X'},
        {"allow-missing", no_argument, 0, 'M'}, {"type", required_argument, 0, 'T'},
        {"shape", required_argument, 0, 'S'},  {0, 0, 0, 0}};
    int64_t n = 10;
    int rows_only = 0, exclude = 0, allow_missing = 0, have_type = 0;
    const char *ids = NULL, *column = NULL, *shape = NULL;
    mat_type t = MAT_F32;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "o:hn:", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out_path = optarg; break;
        case 'h': usage(); return 0;
        case 'n': n = parse_long(optarg, "-n", 0, INT64_MAX > LONG_MAX ? LONG_MAX : INT64_MAX); break;
        case 'R': rows_only = 1; break;
        case 'I': ids = optarg; break;
        case 'C': column = optarg; break;
        case 'X': exclude = 1; break;
        case 'M': allow_missing = 1; break;
        case 'T':
            if (mat_type_parse(optarg, &t)) die_usage("--type: expected u8, i32, f32 or f64, got '%s'", optarg);
            have_type = 1;
            break;
        case 'S': shape = optarg; break;
        default: die_usage("bad option for 'mat %s'", cmd);
        }
    }
    int nfiles = argc - optind;
    char **files = argv + optind;
    const char *one = nfiles ? files[0] : "-";
    if (strcmp(cmd, "cat") != 0 && strcmp(cmd, "info") != 0 && nfiles > 1)
        die_usage("'mat %s' takes one input, got %d", cmd, nfiles);

    if (strcmp(cmd, "info") == 0) {
        if (nfiles == 0) info_one("-", rows_only);
        for (int i = 0; i < nfiles; i++) info_one(files[i], rows_only);
    } else if (strcmp(cmd, "ids") == 0) cmd_ids(one);
    else if (strcmp(cmd, "head") == 0) cmd_head(one, n);
    else if (strcmp(cmd, "cat") == 0) {
        if (nfiles == 0) die_usage("'mat cat' needs at least one FILE");
        cmd_cat(files, nfiles);
    } else if (strcmp(cmd, "select") == 0) {
        if (!ids) die_usage("'mat select' needs --ids CSV");
        cmd_select(one, ids, column, exclude, allow_missing);
    } else if (strcmp(cmd, "to-csv") == 0) cmd_to_csv(one);
    else if (strcmp(cmd, "from-csv") == 0) cmd_from_csv(one, t, shape);
    else if (strcmp(cmd, "to-npy") == 0) cmd_to_npy(one);
    else if (strcmp(cmd, "convert") == 0) {
        if (!have_type) die_usage("'mat convert' needs --type");
        cmd_convert(one, t);
    } else die_usage("unknown command '%s' (info, ids, head, cat, select, to-csv, from-csv, to-npy, convert)", cmd);
    fflush(stdout);
    if (ferror(stdout)) die("write error on stdout");
    return 0;
}
