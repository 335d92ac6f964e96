/* Unit tests of the matrix stream (common/mat.c): byte layout, round trips, row count
 * patching, and every reader error. */
#include "check.h"
#include "mat.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/fp-test-stream-XXXXXX";

static char *path(const char *name)
{
    static char buf[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_file(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static size_t read_file(const char *p, char *buf, size_t cap)
{
    FILE *f = fopen(p, "rb");
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void test_layout(void)
{
    /* 2 rows of 3 f32 with ids "a" and "bb", id width 4. */
    mat_header h = mat_header_vec(MAT_F32, 2, 3, 4);
    mat_writer *w = mat_create(path("a.npy"), &h);
    float r0[3] = {1, 2, 3}, r1[3] = {-1, 0.5f, 1e10f};
    mat_write_row(w, "a", r0);
    mat_write_row(w, "bb", r1);
    mat_finish(w);
    char buf[4096];
    size_t n = read_file(path("a.npy"), buf, sizeof buf);
    /* preamble: magic, version 1.0, little-endian header length; total multiple of 64 */
    CHECK(memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0);
    size_t hlen = (unsigned char)buf[8] | (unsigned char)buf[9] << 8;
    CHECK((10 + hlen) % 64 == 0);
    CHECK(buf[10 + hlen - 1] == '\n');
    CHECK(strncmp(buf + 10, "{'descr': [('id', '|S4'), ('x', '<f4', (3,))], 'fortran_order': False, 'shape': (2,), }", 86) == 0);
    /* rows: 4 id bytes (NUL padded) + 12 data bytes each */
    CHECK(n == 10 + hlen + 2 * 16);
    const char *row = buf + 10 + hlen;
    CHECK(memcmp(row, "a\0\0\0", 4) == 0);
    float f;
    memcpy(&f, row + 4 + 8, 4);
    CHECK(f == 3.0f);
    CHECK(memcmp(row + 16, "bb\0\0", 4) == 0);
    memcpy(&f, row + 16 + 4 + 8, 4);
    CHECK(f == 1e10f);
}

static void test_roundtrip_types(void)
{
    mat_type types[] = {MAT_U8, MAT_I32, MAT_F32, MAT_F64};
    for (int t = 0; t < 4; t++) {
        mat_header h = mat_header_vec(types[t], 5, 7, 8);
        mat_writer *w = mat_create(path("t.npy"), &h);
        for (int i = 0; i < 5; i++) {
            double x[7];
            for (int j = 0; j < 7; j++) x[j] = i * 10 + j;
            char id[16];
            snprintf(id, sizeof id, "r%d", i);
            mat_write_row_f64(w, id, x);
        }
        mat_finish(w);
        mat_reader *r = mat_open(path("t.npy"));
        CHECK(mat_hdr(r)->type == types[t]);
        CHECK(mat_hdr(r)->rows == 5);
        CHECK(mat_cols(mat_hdr(r)) == 7);
        double x[7];
        char id[MAT_MAX_ID + 1];
        int rows = 0, ok = 1;
        while (mat_read_row_f64(r, id, x)) {
            char want[16];
            snprintf(want, sizeof want, "r%d", rows);
            ok &= strcmp(id, want) == 0;
            for (int j = 0; j < 7; j++) ok &= x[j] == rows * 10 + j;
            rows++;
        }
        CHECK(rows == 5 && ok);
        mat_close(r);
    }
}

static void test_unknown_rows(void)
{
    /* Count unknown at creation: patched into the file, and identical to a known count. */
    mat_header h = mat_header_img(MAT_ROWS_UNKNOWN, 2, 2, 3, 8);
    mat_header k = mat_header_img(3, 2, 2, 3, 8);
    mat_writer *a = mat_create(path("u.npy"), &h), *b = mat_create(path("k.npy"), &k);
    uint8_t px[12];
    for (int i = 0; i < 3; i++) {
        memset(px, i * 40, sizeof px);
        mat_write_row(a, "img", px);
        mat_write_row(b, "img", px);
    }
    mat_finish(a);
    mat_finish(b);
    char ba[4096], bb[4096];
    size_t na = read_file(path("u.npy"), ba, sizeof ba), nb = read_file(path("k.npy"), bb, sizeof bb);
    CHECK(na == nb && memcmp(ba, bb, na) == 0);
    mat_reader *r = mat_open(path("u.npy"));
    CHECK(mat_hdr(r)->rows == 3);
    CHECK(mat_hdr(r)->ndim == 3 && mat_hdr(r)->shape[2] == 3);
    mat_close(r);
}

static void test_numpy_headers(void)
{
    /* Headers as NumPy itself writes them (no '|' on S, different spacing), and plain arrays. */
    const char *hdrs[] = {
        "{'descr': [('id', 'S3'), ('x', '<f8', (2,))], 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'shape': (4,), 'fortran_order': False, 'descr': '|u1'}",
    };
    int64_t want_rows[] = {1, 2, 4}, want_cols[] = {2, 3, 1};
    for (int i = 0; i < 3; i++) {
        char buf[256] = "\x93NUMPY\x01\x00";
        size_t dl = strlen(hdrs[i]), total = (10 + dl + 1 + 63) / 64 * 64, hl = total - 10;
        buf[8] = (char)hl;
        buf[9] = 0;
        memcpy(buf + 10, hdrs[i], dl);
        memset(buf + 10 + dl, ' ', hl - dl - 1);
        buf[total - 1] = '\n';
        size_t data = (size_t)(want_rows[i] * want_cols[i]) * (i == 0 ? 8 : i == 1 ? 4 : 1) + (i == 0 ? 3 : 0);
        memset(buf + total, 0, data);
        write_file(path("np.npy"), buf, total + data);
        mat_reader *r = mat_open(path("np.npy"));
        CHECK(mat_hdr(r)->rows == want_rows[i]);
        CHECK(mat_cols(mat_hdr(r)) == want_cols[i]);
        char id[MAT_MAX_ID + 1];
        double x[3];
        int n = 0;
        while (mat_read_row_f64(r, id, x)) n++;
        CHECK(n == want_rows[i]);
        if (i == 1) CHECK(strcmp(id, "1") == 0);   /* plain arrays: ids are row numbers */
        mat_close(r);
    }
}

static void test_errors(void)
{
    mat_header h = mat_header_vec(MAT_F64, 2, 2, 8);
    mat_writer *w = mat_create(path("e.npy"), &h);
    double x[2] = {1, 2};
    mat_write_row(w, "a", x);
    mat_write_row(w, "b", x);
    mat_finish(w);
    char buf[4096];
    size_t n = read_file(path("e.npy"), buf, sizeof buf);

    write_file(path("trunc.npy"), buf, n - 3);
    mat_reader *r = mat_open(path("trunc.npy"));
    EXPECT_DIE(while (mat_read_row_f64(r, NULL, x)) {}, "truncated stream: header declares 2 rows, input ended inside row 2 (21 of 24 bytes)");
    mat_close(r);

    char big[4200];
    memcpy(big, buf, n);
    big[n] = 'x';
    write_file(path("long.npy"), big, n + 1);
    r = mat_open(path("long.npy"));
    EXPECT_DIE(while (mat_read_row_f64(r, NULL, x)) {}, "more data after the 2 rows");
    mat_close(r);

    write_file(path("magic.npy"), "GIF89a-------", 13);
    EXPECT_DIE(mat_open(path("magic.npy")), "not a matrix stream");
    write_file(path("short.npy"), buf, 5);
    EXPECT_DIE(mat_open(path("short.npy")), "truncated matrix header");
    write_file(path("empty.npy"), buf, 0);
    EXPECT_DIE(mat_open(path("empty.npy")), "empty input");

    memcpy(big, buf, n);
    char *p = strstr(big + 10, "'fortran_order': False");
    memcpy(p, "'fortran_order': True, ", 23);
    write_file(path("fortran.npy"), big, n);
    EXPECT_DIE(mat_open(path("fortran.npy")), "Fortran-ordered arrays are not supported");

    memcpy(big, buf, n);
    p = strstr(big + 10, "('x'");
    memcpy(p, "('y'", 4);
    write_file(path("fields.npy"), big, n);
    EXPECT_DIE(mat_open(path("fields.npy")), "expected fields ('id', 'x'), found ('id', 'y')");

    memcpy(big, buf, n);
    p = strstr(big + 10, "<f8");
    memcpy(p, ">f8", 3);
    write_file(path("be.npy"), big, n);
    EXPECT_DIE(mat_open(path("be.npy")), "big-endian data ('>f8') is not supported");

    EXPECT_DIE(mat_open(path("does-not-exist.npy")), "cannot open");

    /* Writers refuse ids that do not fit and more rows than declared. */
    mat_header h1 = mat_header_vec(MAT_F64, 1, 2, 2);
    w = mat_create(path("w.npy"), &h1);
    EXPECT_DIE(mat_write_row(w, "abc", x), "id 'abc' is longer than the stream's id width of 2 bytes");
    mat_write_row(w, "ab", x);
    EXPECT_DIE(mat_write_row(w, "cd", x), "more rows written than the 1 declared");
}

static void test_dense(void)
{
    mat_dense m = {.rows = 3, .cols = 2, .idw = 8};
    m.ids = calloc(3, 9);
    m.x = malloc(sizeof(double) * 6);
    for (int i = 0; i < 3; i++) {
        snprintf(m.ids + i * 9, 9, "id%d", i);
        m.x[2 * i] = i;
        m.x[2 * i + 1] = -i * 0.5;
    }
    mat_save_dense(path("d.npy"), &m, MAT_F64);
    mat_dense back = mat_load_dense(path("d.npy"));
    CHECK(back.rows == 3 && back.cols == 2);
    CHECK(strcmp(mat_dense_id(&back, 2), "id2") == 0);
    CHECK(back.x[5] == -1.0);
    mat_dense_free(&back);
    mat_dense_free(&m);
}

int main(void)
{
    err_init("test_stream");
    if (!mkdtemp(dir)) return 1;
    test_layout();
    test_roundtrip_types();
    test_unknown_rows();
    test_numpy_headers();
    test_errors();
    test_dense();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary("test_stream");
}
