/* mat.h - the matrix stream: the one format every stage reads and writes.
 *
 * A stream is a NumPy .npy file (format 1.0) holding a 1-D array of records
 *     dtype = [('id', '|S<W>'), ('x', '<T>', (d1[, d2[, d3]]))]
 * so each row carries its id (a file name, NUL padded to W bytes) and a fixed-shape block of
 * numbers. numpy.load() reads it directly: a['id'], a['x']. Byte-level details and the reasons
 * for this choice are in docs/format.md.
 *
 * Readers and writers stream row by row; memory does not depend on the number of rows.
 * Every error (wrong magic, bad header, truncated stream, trailing data, a type or shape the
 * caller cannot take) ends the program through die() with the file name and what was expected. */
#ifndef FP_MAT_H
#define FP_MAT_H

#include <stdint.h>
#include <stdio.h>

typedef enum { MAT_U8 = 0, MAT_I32, MAT_F32, MAT_F64 } mat_type;

#define MAT_MAX_DIMS 3
#define MAT_MAX_ID 255          /* longest id, bytes */
#define MAT_ROWS_UNKNOWN (-1)

typedef struct {
    mat_type type;
    int64_t rows;                  /* MAT_ROWS_UNKNOWN allowed for writers only */
    int ndim;                      /* 1 = vector rows, 3 = images (height, width, channels) */
    int64_t shape[MAT_MAX_DIMS];   /* row shape */
    int idw;                       /* width of the id field in bytes, 1..MAT_MAX_ID */
} mat_header;

/* Header helpers */
int64_t mat_cols(const mat_header *h);           /* product of shape */
size_t mat_type_size(mat_type t);                /* 1, 4, 4, 8 */
const char *mat_type_name(mat_type t);           /* "u8", "i32", "f32", "f64" */
int mat_type_parse(const char *s, mat_type *t);  /* accepts u8/i32/f32/f64; 0 on success */
mat_header mat_header_vec(mat_type t, int64_t rows, int64_t cols, int idw);
mat_header mat_header_img(int64_t rows, int h, int w, int c, int idw);
/* A human summary such as "2500 rows x 64x64x3 u8, ids 8 bytes". */
void mat_header_describe(const mat_header *h, char *buf, size_t n);

/* ---- reading ---- */
typedef struct mat_reader mat_reader;

/* Opens PATH ("-" = stdin) and parses the header. Also accepts a plain 2-D NumPy array
 * ('<f4', '<f8', '<i4', '|u1', C order) without ids: rows are then named by their index. */
mat_reader *mat_open(const char *path);
const mat_header *mat_hdr(const mat_reader *r);
const char *mat_name(const mat_reader *r);       /* path as given, "stdin" for "-" */
/* Reads the next row: id (NUL terminated; buffer of MAT_MAX_ID+1 bytes) and data (row of the
 * stream's own type). Returns 1 for a row, 0 at the verified end of the stream. Dies when the
 * stream ends early or holds more rows than its header says. Either pointer may be NULL. */
int mat_read_row(mat_reader *r, char *id, void *data);
/* Same, converting the row to double / float whatever the stream's type. */
int mat_read_row_f64(mat_reader *r, char *id, double *data);
int mat_read_row_f32(mat_reader *r, char *id, float *data);
int64_t mat_row_index(const mat_reader *r);      /* rows read so far */
void mat_close(mat_reader *r);

/* Die unless the stream's rows have the expected ndim (0 = any) / type; names the file. */
void mat_expect_image(const mat_reader *r);      /* ndim 3, u8 */

/* ---- writing ---- */
typedef struct mat_writer mat_writer;

/* Creates PATH ("-" = stdout). A file is written to a temporary and renamed by mat_finish().
 * When h->rows is MAT_ROWS_UNKNOWN the count is filled in at the end (patched in place for a
 * file, or spooled through a temporary file when writing to a pipe). */
mat_writer *mat_create(const char *path, const mat_header *h);
void mat_write_row(mat_writer *w, const char *id, const void *data);
void mat_write_row_f64(mat_writer *w, const char *id, const double *data);  /* converts */
/* Checks the count against the header, flushes, renames. Dies on mismatch or I/O error. */
void mat_finish(mat_writer *w);

/* ---- whole matrices in memory (for stages that need every row: pca, tsne, kmeans) ---- */
typedef struct {
    int64_t rows, cols;
    int idw;
    char *ids;        /* rows * (idw+1) bytes, NUL-terminated ids */
    double *x;        /* rows * cols, row-major */
} mat_dense;
mat_dense mat_load_dense(const char *path);            /* any type, converted to double */
/* The rows not yet read from an open reader (so a caller can look at mat_hdr() first and
 * choose the loader); closes the reader. */
mat_dense mat_read_dense(mat_reader *r);
const char *mat_dense_id(const mat_dense *m, int64_t i);
void mat_dense_free(mat_dense *m);
/* Dies naming the first NaN/Inf (row, id, column): statistics of such rows would be silently
 * meaningless. `name` is the stream's name for the message. */
void mat_dense_check_finite(const mat_dense *m, const char *name);
/* The same in single precision: half the memory and memory traffic, for stages whose
 * numerics are float32 anyway (pca's randomized solver). u8 and f32 streams load exactly;
 * f64 and i32 values are rounded to float. Large buffers sit on transparent huge pages. */
typedef struct {
    int64_t rows, cols;
    int idw;
    char *ids;        /* rows * (idw+1) bytes, NUL-terminated ids (mat_dense_id layout) */
    float *x;         /* rows * cols, row-major */
} mat_dense_f32;
mat_dense_f32 mat_load_dense_f32(const char *path);
mat_dense_f32 mat_read_dense_f32(mat_reader *r);        /* closes the reader */
void mat_dense_f32_free(mat_dense_f32 *m);
void mat_dense_f32_check_finite(const mat_dense_f32 *m, const char *name);   /* as above */
/* Writes a dense matrix of doubles as type T with the given ids. */
void mat_save_dense(const char *path, const mat_dense *m, mat_type t);

#endif
