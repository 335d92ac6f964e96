/* mat.c - the matrix stream (docs/format.md): NumPy .npy 1.0 files whose records carry an id
 * and a fixed-shape row of numbers. One reader, one writer, used by every stage. */
#include "mat.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_PREAMBLE 10          /* magic(6) + version(2) + header length(2) */
#define NPY_ALIGN 64
/* Headers always reserve room for a 19-digit row count, so a count patched in at the end
 * never changes the header's length: the same rows give the same bytes either way. */
#define ROWS_RESERVED 1000000000000000000LL
/* Refuse headers whose shape would need absurd row sizes (resource bombs). Readers convert
 * rows to doubles, so the number of values matters too: 2^26 values (512 MiB as doubles)
 * holds the largest row decode writes (--size 4096: 4096 x 4096 x 3 = 50M values). */
#define MAX_ROW_BYTES (1LL << 30)
#define MAX_ROW_COLS (1LL << 26)

static const char *type_descr[] = {"|u1", "<i4", "<f4", "<f8"};
static const char *type_names[] = {"u8", "i32", "f32", "f64"};
static const size_t type_sizes[] = {1, 4, 4, 8};

/* ------------------------------------------------------------------ header helpers */

int64_t mat_cols(const mat_header *h)
{
    int64_t c = 1;
    for (int i = 0; i < h->ndim; i++) c *= h->shape[i];
    return c;
}

size_t mat_type_size(mat_type t) { return type_sizes[t]; }
const char *mat_type_name(mat_type t) { return type_names[t]; }

int mat_type_parse(const char *s, mat_type *t)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, type_names[i]) == 0) { *t = (mat_type)i; return 0; }
    return -1;
}

mat_header mat_header_vec(mat_type t, int64_t rows, int64_t cols, int idw)
{
    mat_header h = {.type = t, .rows = rows, .ndim = 1, .shape = {cols, 0, 0}, .idw = idw};
    return h;
}

mat_header mat_header_img(int64_t rows, int hh, int w, int c, int idw)
{
    mat_header h = {.type = MAT_U8, .rows = rows, .ndim = 3, .shape = {hh, w, c}, .idw = idw};
    return h;
}

static void shape_string(const mat_header *h, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < h->ndim && k < n; i++)
        k += snprintf(buf + k, n - k, "%s%" PRId64, i ? "x" : "", h->shape[i]);
}

void mat_header_describe(const mat_header *h, char *buf, size_t n)
{
    char shp[96];
    shape_string(h, shp, sizeof shp);
    if (h->rows == MAT_ROWS_UNKNOWN)
        snprintf(buf, n, "? rows x %s %s (id width %d)", shp, type_names[h->type], h->idw);
    else
        snprintf(buf, n, "%" PRId64 " rows x %s %s (id width %d)", h->rows, shp,
                 type_names[h->type], h->idw);
}

static size_t row_bytes(const mat_header *h)
{
    return (size_t)h->idw + (size_t)mat_cols(h) * type_sizes[h->type];
}

/* The dict text NumPy expects, without padding. */
static int header_dict(const mat_header *h, int64_t rows, char *buf, size_t n)
{
    char shp[128];
    size_t k = 0;
    for (int i = 0; i < h->ndim; i++)
        k += snprintf(shp + k, sizeof shp - k, "%s%" PRId64, i ? ", " : "", h->shape[i]);
    if (h->ndim == 1) snprintf(shp + k, sizeof shp - k, ",");
    return snprintf(buf, n,
                    "{'descr': [('id', '|S%d'), ('x', '%s', (%s))], 'fortran_order': False, "
                    "'shape': (%" PRId64 ",), }",
                    h->idw, type_descr[h->type], shp, rows);
}

/* Full preamble + padded header for `rows`; returns total bytes written into buf. */
static size_t header_bytes(const mat_header *h, int64_t rows, char *buf, size_t n)
{
    char dict[512], reserve[512];
    int dl = header_dict(h, rows, dict, sizeof dict);
    int rl = header_dict(h, ROWS_RESERVED, reserve, sizeof reserve);
    size_t total = NPY_PREAMBLE + (size_t)rl + 1;
    total = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    size_t hlen = total - NPY_PREAMBLE;
    if (total > n || hlen > 65535) die("internal error: matrix header too long");
    memcpy(buf, NPY_MAGIC, 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + NPY_PREAMBLE, dict, (size_t)dl);
    memset(buf + NPY_PREAMBLE + dl, ' ', hlen - (size_t)dl - 1);
    buf[total - 1] = '\n';
    return total;
}

/* ------------------------------------------------------------------ header parsing */
/* A small scanner for the Python-literal dict NumPy writes. It accepts what NumPy and this
 * library write (any spacing, with or without the trailing comma). */

typedef struct {
    const char *s;
    const char *name;   /* stream name, for messages */
} scan;

static void skip_ws(scan *p) { while (*p->s && isspace((unsigned char)*p->s)) p->s++; }

static void bad_header(scan *p, const char *expected)
{
    char near[40];
    snprintf(near, sizeof near, "%.30s", p->s);
    for (char *c = near; *c; c++) if (!isprint((unsigned char)*c)) *c = '?';
    die("%s: bad matrix header: expected %s near \"%s\"", p->name, expected, near);
}

static int accept(scan *p, char c)
{
    skip_ws(p);
    if (*p->s == c) { p->s++; return 1; }
    return 0;
}

static void expect(scan *p, char c)
{
    char what[8];
    snprintf(what, sizeof what, "'%c'", c);
    if (!accept(p, c)) bad_header(p, what);
}

static void parse_str(scan *p, char *out, size_t n)
{
    skip_ws(p);
    char q = *p->s;
    if (q != '\'' && q != '"') bad_header(p, "a quoted string");
    p->s++;
    size_t k = 0;
    while (*p->s && *p->s != q) {
        if (k + 1 < n) out[k++] = *p->s;
        p->s++;
    }
    if (*p->s != q) bad_header(p, "the end of a string");
    p->s++;
    out[k] = 0;
}

static int64_t parse_int(scan *p)
{
    skip_ws(p);
    if (!isdigit((unsigned char)*p->s)) bad_header(p, "a non-negative integer");
    errno = 0;
    char *end;
    long long v = strtoll(p->s, &end, 10);
    if (errno || v > (1LL << 50)) bad_header(p, "an integer below 2^50");
    p->s = end;
    return v;
}

/* "(a, b, c)" -> dims; returns count. */
static int parse_tuple(scan *p, int64_t *dims, int maxd)
{
    int n = 0;
    expect(p, '(');
    while (!accept(p, ')')) {
        if (n == maxd) bad_header(p, "fewer dimensions");
        dims[n++] = parse_int(p);
        if (!accept(p, ',')) { expect(p, ')'); break; }
    }
    return n;
}

static void parse_descr_type(scan *p, const char *d, mat_type *t)
{
    const char *c = d;
    if (*c == '>' && strcmp(c + 1, "u1") != 0)
        die("%s: big-endian data ('%s') is not supported; expected little-endian", p->name, d);
    if (*c == '<' || *c == '|' || *c == '=') c++;
    if (strcmp(c, "u1") == 0 || strcmp(c, "B") == 0) *t = MAT_U8;
    else if (strcmp(c, "i4") == 0) *t = MAT_I32;
    else if (strcmp(c, "f4") == 0) *t = MAT_F32;
    else if (strcmp(c, "f8") == 0) *t = MAT_F64;
    else die("%s: element type '%s' is not supported; expected u1, i4, f4 or f8", p->name, d);
}

typedef struct {
    mat_header h;
    int plain;          /* a plain NumPy array without ids */
} parsed_header;

static parsed_header parse_header(const char *text, const char *name)
{
    scan p = {text, name};
    parsed_header out = {0};
    int have_descr = 0, have_order = 0, have_shape = 0;
    int64_t shape[MAT_MAX_DIMS + 1];
    int nshape = 0;
    expect(&p, '{');
    while (!accept(&p, '}')) {
        char key[32];
        parse_str(&p, key, sizeof key);
        expect(&p, ':');
        if (strcmp(key, "descr") == 0) {
            have_descr = 1;
            skip_ws(&p);
            if (*p.s == '[') {
                /* [('id', '|S8'), ('x', '<f4', (30,))] */
                p.s++;
                char f1[16], t1[16], f2[16], t2[16];
                expect(&p, '(');
                parse_str(&p, f1, sizeof f1);
                expect(&p, ',');
                parse_str(&p, t1, sizeof t1);
                expect(&p, ')');
                expect(&p, ',');
                expect(&p, '(');
                parse_str(&p, f2, sizeof f2);
                expect(&p, ',');
                parse_str(&p, t2, sizeof t2);
                if (strcmp(f1, "id") != 0 || strcmp(f2, "x") != 0)
                    die("%s: bad matrix header: expected fields ('id', 'x'), found ('%s', '%s')",
                        name, f1, f2);
                const char *s = t1[0] == '|' ? t1 + 1 : t1;
                if (s[0] != 'S' || !isdigit((unsigned char)s[1]))
                    die("%s: bad matrix header: id field must be a byte string |S<n>, found '%s'",
                        name, t1);
                long w = strtol(s + 1, NULL, 10);
                if (w < 1 || w > MAT_MAX_ID)
                    die("%s: id width %ld is out of range 1..%d", name, w, MAT_MAX_ID);
                out.h.idw = (int)w;
                parse_descr_type(&p, t2, &out.h.type);
                if (accept(&p, ',')) {
                    out.h.ndim = parse_tuple(&p, out.h.shape, MAT_MAX_DIMS);
                    if (out.h.ndim == 0) out.h.ndim = 1, out.h.shape[0] = 1;
                } else {
                    out.h.ndim = 1;
                    out.h.shape[0] = 1;
                }
                expect(&p, ')');
                accept(&p, ',');
                expect(&p, ']');
            } else {
                char d[16];
                parse_str(&p, d, sizeof d);
                parse_descr_type(&p, d, &out.h.type);
                out.plain = 1;
            }
        } else if (strcmp(key, "fortran_order") == 0) {
            have_order = 1;
            skip_ws(&p);
            if (strncmp(p.s, "False", 5) == 0) p.s += 5;
            else if (strncmp(p.s, "True", 4) == 0)
                die("%s: Fortran-ordered arrays are not supported; expected C (row-major) order",
                    name);
            else bad_header(&p, "True or False");
        } else if (strcmp(key, "shape") == 0) {
            have_shape = 1;
            nshape = parse_tuple(&p, shape, MAT_MAX_DIMS + 1);
        } else {
            die("%s: bad matrix header: unexpected key '%s'", name, key);
        }
        if (!accept(&p, ',')) { expect(&p, '}'); break; }
    }
    if (!have_descr || !have_order || !have_shape)
        die("%s: bad matrix header: expected keys 'descr', 'fortran_order' and 'shape'", name);
    if (out.plain) {
        /* Plain array (N, d1[, d2, d3]): ids are generated from row numbers. */
        if (nshape < 1) die("%s: a plain array needs at least one dimension", name);
        out.h.rows = shape[0];
        out.h.ndim = nshape - 1;
        for (int i = 1; i < nshape; i++) out.h.shape[i - 1] = shape[i];
        if (out.h.ndim == 0) out.h.ndim = 1, out.h.shape[0] = 1;
        out.h.idw = 20;
    } else {
        if (nshape != 1)
            die("%s: bad matrix header: a record array must be 1-D, found %d dimensions", name,
                nshape);
        out.h.rows = shape[0];
    }
    /* The product in double: three dimensions of up to 2^50 overflow int64 (mat_cols). */
    double cols = 1;
    for (int i = 0; i < out.h.ndim; i++) {
        if (out.h.shape[i] < 1) die("%s: row shape has a zero dimension", name);
        cols *= (double)out.h.shape[i];
    }
    double rb = cols * (double)type_sizes[out.h.type];
    if (rb > (double)MAX_ROW_BYTES)
        die("%s: rows of %.0f bytes are beyond the limit of %lld bytes", name, rb,
            (long long)MAX_ROW_BYTES);
    if (cols > (double)MAX_ROW_COLS)
        die("%s: rows of %.0f values are beyond the limit of %lld values", name, cols,
            (long long)MAX_ROW_COLS);
    return out;
}

/* ------------------------------------------------------------------ reader */

struct mat_reader {
    FILE *fp;
    char *name;
    mat_header h;
    int plain;
    size_t data_bytes;       /* bytes of numbers per row */
    int64_t done;            /* rows read */
    uint8_t *raw;            /* one row in the stream's type (for converting reads) */
};

static void read_exact_header(mat_reader *r, void *buf, size_t n, const char *what)
{
    size_t got = fread(buf, 1, n, r->fp);
    if (got == 0 && what[0] == 'm' && feof(r->fp))
        die("%s: empty input: expected a matrix stream", r->name);
    if (got != n)
        die("%s: truncated matrix header: expected %zu bytes of %s, got %zu", r->name, n, what,
            got);
}

mat_reader *mat_open(const char *path)
{
    mat_reader *r = xcalloc(1, sizeof *r);
    if (strcmp(path, "-") == 0) {
        r->fp = stdin;
        r->name = xstrdup("stdin");
    } else {
        r->fp = fopen(path, "rb");
        if (!r->fp) die("cannot open %s: %s", path, strerror(errno));
        r->name = xstrdup(path);
    }
    unsigned char pre[NPY_PREAMBLE];
    read_exact_header(r, pre, NPY_PREAMBLE, "magic");
    if (memcmp(pre, NPY_MAGIC, 6) != 0) {
        char got[32] = "";
        for (int i = 0; i < 6; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%02x", pre[i]);
        die("%s: not a matrix stream: expected the NumPy magic \\x93NUMPY, found bytes %s",
            r->name, got);
    }
    size_t hlen;
    if (pre[6] == 1) {
        hlen = pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        unsigned char more[2];
        read_exact_header(r, more, 2, "header length");
        hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)more[0] << 16 | (size_t)more[1] << 24;
        if (hlen > 1 << 20) die("%s: matrix header of %zu bytes is too long", r->name, hlen);
    } else {
        die("%s: unsupported .npy version %d.%d (expected 1.0, 2.0 or 3.0)", r->name, pre[6],
            pre[7]);
    }
    char *text = xmalloc(hlen + 1);
    read_exact_header(r, text, hlen, "header text");
    text[hlen] = 0;
    parsed_header ph = parse_header(text, r->name);
    free(text);
    r->h = ph.h;
    r->plain = ph.plain;
    r->data_bytes = (size_t)mat_cols(&r->h) * type_sizes[r->h.type];
    r->raw = xmalloc(r->data_bytes);
    return r;
}

const mat_header *mat_hdr(const mat_reader *r) { return &r->h; }
const char *mat_name(const mat_reader *r) { return r->name; }
int64_t mat_row_index(const mat_reader *r) { return r->done; }

static void check_end(mat_reader *r)
{
    int c = fgetc(r->fp);
    if (c != EOF)
        die("%s: more data after the %" PRId64 " rows the header declares (row count mismatch)",
            r->name, r->h.rows);
    if (ferror(r->fp)) die("%s: read error: %s", r->name, strerror(errno));
}

static void read_part(mat_reader *r, void *buf, size_t n, size_t row_offset)
{
    size_t got = fread(buf, 1, n, r->fp);
    if (got != n) {
        if (ferror(r->fp)) die("%s: read error: %s", r->name, strerror(errno));
        die("%s: truncated stream: header declares %" PRId64 " rows, input ended inside row %"
            PRId64 " (%zu of %zu bytes)", r->name, r->h.rows, r->done + 1, row_offset + got,
            row_bytes(&r->h) - (r->plain ? r->h.idw : 0));
    }
}

int mat_read_row(mat_reader *r, char *id, void *data)
{
    if (r->done >= r->h.rows) {
        if (r->done == r->h.rows) { check_end(r); r->done++; }
        return 0;
    }
    char idbuf[MAT_MAX_ID + 1];
    if (r->plain) {
        snprintf(idbuf, sizeof idbuf, "%" PRId64, r->done);
    } else {
        read_part(r, idbuf, (size_t)r->h.idw, 0);
        idbuf[r->h.idw] = 0;
        /* An id ends at its first NUL (NumPy strips trailing NULs of |S fields). */
    }
    read_part(r, data ? data : r->raw, r->data_bytes, r->plain ? 0 : (size_t)r->h.idw);
    if (id) strcpy(id, idbuf);
    r->done++;
    return 1;
}

/* Little-endian hosts only (checked at compile time below): numbers are copied as they are. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "facepipe's matrix stream code assumes a little-endian host"
#endif

static void convert_to_f64(mat_type t, const void *src, double *dst, int64_t n)
{
    /* src may be unaligned (in a dense read, numbers follow an id of any width): elements
     * are loaded through memcpy, which compiles to a plain load. */
    const uint8_t *s = src;
    switch (t) {
    case MAT_U8: for (int64_t i = 0; i < n; i++) dst[i] = s[i]; break;
    case MAT_I32:
        for (int64_t i = 0; i < n; i++) { int32_t v; memcpy(&v, s + 4 * i, 4); dst[i] = v; }
        break;
    case MAT_F32:
        for (int64_t i = 0; i < n; i++) { float v; memcpy(&v, s + 4 * i, 4); dst[i] = v; }
        break;
    case MAT_F64: memcpy(dst, src, (size_t)n * sizeof(double)); break;
    }
}

int mat_read_row_f64(mat_reader *r, char *id, double *data)
{
    if (!mat_read_row(r, id, r->raw)) return 0;
    convert_to_f64(r->h.type, r->raw, data, mat_cols(&r->h));
    return 1;
}

static void convert_to_f32(mat_type t, const void *src, float *dst, int64_t n);

int mat_read_row_f32(mat_reader *r, char *id, float *data)
{
    if (!mat_read_row(r, id, r->raw)) return 0;
    convert_to_f32(r->h.type, r->raw, data, mat_cols(&r->h));
    return 1;
}

void mat_close(mat_reader *r)
{
    if (!r) return;
    if (r->fp && r->fp != stdin) fclose(r->fp);
    free(r->raw);
    free(r->name);
    free(r);
}

void mat_expect_image(const mat_reader *r)
{
    if (r->h.ndim != 3 || r->h.type != MAT_U8) {
        char d[128];
        mat_header_describe(&r->h, d, sizeof d);
        die("%s: expected image rows (height x width x channels, u8) as written by decode, "
            "found %s", r->name, d);
    }
}

/* ------------------------------------------------------------------ writer */

struct mat_writer {
    outfile out;
    FILE *fp;           /* where rows go: out.fp, or a spool file */
    int spool;          /* rows go to a temporary file, copied to stdout at the end */
    mat_header h;
    int64_t done;
    int header_written;
    uint8_t *rowbuf;
};

static void write_header_once(mat_writer *w, int64_t rows)
{
    if (w->header_written || w->spool) return;
    char buf[1024];
    size_t len = header_bytes(&w->h, rows, buf, sizeof buf);
    if (fwrite(buf, 1, len, w->fp) != len) die("write error: %s", strerror(errno));
    w->header_written = 1;
}

mat_writer *mat_create(const char *path, const mat_header *h)
{
    if (h->idw < 1 || h->idw > MAT_MAX_ID) die("internal error: id width %d", h->idw);
    if (h->ndim < 1 || h->ndim > MAT_MAX_DIMS) die("internal error: ndim %d", h->ndim);
    mat_writer *w = xcalloc(1, sizeof *w);
    w->h = *h;
    w->out = out_open(path);
    w->fp = w->out.fp;
    w->rowbuf = xmalloc(row_bytes(h));
    if (h->rows == MAT_ROWS_UNKNOWN && (!w->out.path || w->out.direct)) {
        /* A pipe cannot be rewound: keep the rows aside until the count is known. */
        w->spool = 1;
        w->fp = tmpfile();
        if (!w->fp) die("cannot create a temporary file: %s", strerror(errno));
    }
    /* The header itself is written with the first row (or at the end): a stage that fails
     * before producing anything leaves its output empty, not a header promising rows. */
    return w;
}

void mat_write_row(mat_writer *w, const char *id, const void *data)
{
    if (w->h.rows != MAT_ROWS_UNKNOWN && w->done >= w->h.rows)
        die("internal error: more rows written than the %" PRId64 " declared", w->h.rows);
    size_t n = strlen(id);
    if (n == 0) die("row %" PRId64 ": empty id", w->done + 1);
    if (n > (size_t)w->h.idw)
        die("id '%s' is longer than the stream's id width of %d bytes", id, w->h.idw);
    write_header_once(w, w->h.rows == MAT_ROWS_UNKNOWN ? 0 : w->h.rows);
    memset(w->rowbuf, 0, (size_t)w->h.idw);
    memcpy(w->rowbuf, id, n);
    size_t db = row_bytes(&w->h) - (size_t)w->h.idw;
    memcpy(w->rowbuf + w->h.idw, data, db);
    if (fwrite(w->rowbuf, 1, row_bytes(&w->h), w->fp) != row_bytes(&w->h))
        die("write error: %s", strerror(errno));
    w->done++;
}

void mat_write_row_f64(mat_writer *w, const char *id, const double *x)
{
    int64_t n = mat_cols(&w->h);
    static __thread void *tmp;
    static __thread size_t tmpn;
    size_t need = (size_t)n * 8;
    if (tmpn < need) { free(tmp); tmp = xmalloc(need); tmpn = need; }
    switch (w->h.type) {
    case MAT_U8:
        for (int64_t i = 0; i < n; i++) {
            double v = x[i] < 0 ? 0 : x[i] > 255 ? 255 : x[i] + 0.5;
            ((uint8_t *)tmp)[i] = (uint8_t)v;
        }
        break;
    case MAT_I32: for (int64_t i = 0; i < n; i++) ((int32_t *)tmp)[i] = (int32_t)x[i]; break;
    case MAT_F32: for (int64_t i = 0; i < n; i++) ((float *)tmp)[i] = (float)x[i]; break;
    case MAT_F64: memcpy(tmp, x, need); break;
    }
    mat_write_row(w, id, tmp);
}

static void copy_spool(mat_writer *w, FILE *to)
{
    rewind(w->fp);
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, w->fp)) > 0)
        if (fwrite(buf, 1, n, to) != n) die("write error: %s", strerror(errno));
    if (ferror(w->fp)) die("read error on the spool file: %s", strerror(errno));
    fclose(w->fp);
}

void mat_finish(mat_writer *w)
{
    if (w->h.rows != MAT_ROWS_UNKNOWN && w->done != w->h.rows)
        die("internal error: %" PRId64 " rows written, %" PRId64 " declared", w->done, w->h.rows);
    char buf[1024];
    size_t len = header_bytes(&w->h, w->done, buf, sizeof buf);
    if (!w->header_written && !w->spool) {
        fwrite(buf, 1, len, w->fp);      /* no rows at all: just the header */
    } else if (w->spool) {
        fwrite(buf, 1, len, w->out.fp);
        copy_spool(w, w->out.fp);
    } else if (w->h.rows == MAT_ROWS_UNKNOWN) {
        /* Patch the real count into the reserved header (same length by construction). */
        if (fseek(w->fp, 0, SEEK_SET) != 0) die("cannot rewind output: %s", strerror(errno));
        fwrite(buf, 1, len, w->fp);
    }
    out_commit(&w->out);
    free(w->rowbuf);
    free(w);
}

/* ------------------------------------------------------------------ dense matrices */

/* Reads the next `count` rows as stored (id then numbers; numbers alone for a plain array)
 * into buf with one fread: a dense load then costs a few dozen reads instead of two or three
 * per row. A short stream dies with the same message as mat_read_row. */
static void read_rows_raw(mat_reader *r, int64_t count, uint8_t *buf)
{
    size_t rb = r->data_bytes + (r->plain ? 0 : (size_t)r->h.idw);
    size_t got = fread(buf, 1, rb * (size_t)count, r->fp);
    if (got != rb * (size_t)count) {
        if (ferror(r->fp)) die("%s: read error: %s", r->name, strerror(errno));
        die("%s: truncated stream: header declares %" PRId64 " rows, input ended inside row %"
            PRId64 " (%zu of %zu bytes)", r->name, r->h.rows, r->done + (int64_t)(got / rb) + 1,
            got % rb, rb);
    }
    r->done += count;
}

static void convert_to_f32(mat_type t, const void *src, float *dst, int64_t n)
{
    const uint8_t *s = src;   /* may be unaligned, as in convert_to_f64 */
    switch (t) {
    case MAT_U8: for (int64_t i = 0; i < n; i++) dst[i] = s[i]; break;
    case MAT_I32:
        for (int64_t i = 0; i < n; i++) { int32_t v; memcpy(&v, s + 4 * i, 4); dst[i] = (float)v; }
        break;
    case MAT_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case MAT_F64:
        for (int64_t i = 0; i < n; i++) { double v; memcpy(&v, s + 8 * i, 8); dst[i] = (float)v; }
        break;
    }
}

/* The remaining rows of r (from row r->done on), read in chunks of 256 KiB, into *ids
 * (rows x (idw + 1)) and *x (rows x cols values of elem bytes: doubles, or floats when
 * elem == 4), both allocated here; then checks the end of the stream and closes r. A
 * header's row count is only a claim (a 200-byte file can declare 10^9 rows), so the two
 * buffers start at no more than 64 MiB together and double as rows actually arrive: a short
 * stream, file or pipe, ends in "truncated stream", not in an allocation of the declared
 * size. */
#define DENSE_FIRST_BYTES (64u << 20)

static void read_dense_rows(mat_reader *r, char **ids, void **x, size_t elem)
{
    int64_t cols = mat_cols(&r->h), rows = r->h.rows - r->done, first = r->done;
    size_t idw = r->plain ? 0 : (size_t)r->h.idw, rb = idw + r->data_bytes;
    size_t idstride = (size_t)r->h.idw + 1, rowsize = (size_t)cols * elem;
    int64_t cap = (int64_t)(DENSE_FIRST_BYTES / (rowsize + idstride));   /* ids count too */
    cap = cap < 1 ? 1 : cap > rows ? rows : cap;
    *ids = xmalloc((size_t)cap * idstride);
    *x = xmalloc_huge((size_t)cap * rowsize);
    int64_t per = (int64_t)((256u << 10) / rb);   /* small enough to stay in cache */
    if (per < 1) per = 1;
    uint8_t *chunk = xmalloc(rb * (size_t)(per < rows ? per : rows > 0 ? rows : 1));
    for (int64_t i0 = 0; i0 < rows; i0 += per) {
        int64_t cnt = rows - i0 < per ? rows - i0 : per;
        read_rows_raw(r, cnt, chunk);
        if (i0 + cnt > cap) {                      /* the rows are real: grow */
            int64_t ncap = 2 * cap > i0 + cnt ? 2 * cap : i0 + cnt;
            if (ncap > rows) ncap = rows;
            void *nx = xmalloc_huge((size_t)ncap * rowsize);
            memcpy(nx, *x, (size_t)i0 * rowsize);
            free(*x);
            *x = nx;
            *ids = xrealloc(*ids, (size_t)ncap * idstride);
            cap = ncap;
        }
        for (int64_t a = 0; a < cnt; a++) {
            const uint8_t *rec = chunk + (size_t)a * rb;
            int64_t i = i0 + a;                      /* index in the buffers */
            char *id = *ids + (size_t)i * idstride;
            memset(id, 0, idstride);
            if (r->plain) snprintf(id, idstride, "%" PRId64, first + i);
            else memcpy(id, rec, idw);   /* an id ends at its first NUL, as in mat_read_row */
            if (elem == 4) convert_to_f32(r->h.type, rec + idw, (float *)*x + i * cols, cols);
            else convert_to_f64(r->h.type, rec + idw, (double *)*x + i * cols, cols);
        }
    }
    free(chunk);
    if (mat_read_row(r, NULL, NULL)) die("internal error");   /* checks for trailing data */
    mat_close(r);
}

mat_dense mat_read_dense(mat_reader *r)
{
    mat_dense m = {.rows = r->h.rows - r->done, .cols = mat_cols(&r->h), .idw = r->h.idw};
    void *x;
    read_dense_rows(r, &m.ids, &x, sizeof(double));
    m.x = x;
    return m;
}

mat_dense mat_load_dense(const char *path) { return mat_read_dense(mat_open(path)); }

mat_dense_f32 mat_read_dense_f32(mat_reader *r)
{
    mat_dense_f32 m = {.rows = r->h.rows - r->done, .cols = mat_cols(&r->h), .idw = r->h.idw};
    void *x;
    read_dense_rows(r, &m.ids, &x, sizeof(float));
    m.x = x;
    return m;
}

mat_dense_f32 mat_load_dense_f32(const char *path) { return mat_read_dense_f32(mat_open(path)); }

void mat_dense_f32_free(mat_dense_f32 *m)
{
    free(m->ids);
    free(m->x);
    m->ids = NULL;
    m->x = NULL;
}

const char *mat_dense_id(const mat_dense *m, int64_t i) { return m->ids + i * (m->idw + 1); }

void mat_dense_check_finite(const mat_dense *m, const char *name)
{
    for (int64_t i = 0; i < m->rows; i++)
        for (int64_t j = 0; j < m->cols; j++) {
            double v = m->x[i * m->cols + j];
            if (!isfinite(v))
                die("%s: row %lld (id '%s') column %lld is %s", name, (long long)i + 1,
                    mat_dense_id(m, i), (long long)j, isnan(v) ? "NaN" : "infinite");
        }
}

/* The scan tests the exponent bits, with no branch per value; the search for the column runs
 * only in a row that has a NaN or infinity. */
void mat_dense_f32_check_finite(const mat_dense_f32 *m, const char *name)
{
    for (int64_t i = 0; i < m->rows; i++) {
        const float *x = m->x + i * m->cols;
        uint32_t bad = 0;
        for (int64_t j = 0; j < m->cols; j++) {
            uint32_t u;
            memcpy(&u, x + j, sizeof u);
            bad |= (u & 0x7f800000u) == 0x7f800000u;
        }
        if (!bad) continue;
        for (int64_t j = 0; j < m->cols; j++)
            if (!isfinite(x[j]))
                die("%s: row %lld (id '%s') column %lld is %s", name, (long long)i + 1,
                    m->ids + i * (m->idw + 1), (long long)j, isnan(x[j]) ? "NaN" : "infinite");
    }
}

void mat_dense_free(mat_dense *m)
{
    free(m->ids);
    free(m->x);
    m->ids = NULL;
    m->x = NULL;
}

void mat_save_dense(const char *path, const mat_dense *m, mat_type t)
{
    mat_header h = mat_header_vec(t, m->rows, m->cols, m->idw);
    mat_writer *w = mat_create(path, &h);
    for (int64_t i = 0; i < m->rows; i++) mat_write_row_f64(w, mat_dense_id(m, i), m->x + i * m->cols);
    mat_finish(w);
}
