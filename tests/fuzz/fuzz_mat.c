/* fuzz_mat.c - harness for the matrix stream reader (common/mat.c): the input as a .npy
 * stream, read row by row (mat_read_row_f64, as the streaming stages do) and whole
 * (mat_load_dense, as pca, kmeans and tsne do).
 *
 * Checked: a header the reader accepts describes rows it can hold (ndim, id width, row size
 * within the limits); both ways of reading agree on every id and value, or both refuse the
 * input; no single allocation beyond FZ_MAX_ALLOC (a header claiming absurd rows or columns
 * must be refused, not allocated); nothing leaks or stays open after a refusal. */
#include "err.h"
#include "fuzz.h"
#include "mat.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Dies (through the hook) on a bad stream; returns the rows read. Compares each row with the
 * dense copy when there is one. */
static int64_t read_stream(const char *path, const mat_dense *m)
{
    mat_reader *r = mat_open(path);
    const mat_header *h = mat_hdr(r);
    FZ_ASSERT(h->ndim >= 1 && h->ndim <= MAT_MAX_DIMS, "ndim %d", h->ndim);
    FZ_ASSERT(h->idw >= 1 && h->idw <= MAT_MAX_ID, "id width %d", h->idw);
    FZ_ASSERT(h->rows >= 0, "rows %" PRId64, h->rows);
    for (int i = 0; i < h->ndim; i++) FZ_ASSERT(h->shape[i] >= 1, "dimension %d", i);
    int64_t cols = mat_cols(h);
    FZ_ASSERT(cols >= 1 && (double)cols * (double)mat_type_size(h->type) <= (double)(1LL << 30),
              "cols %" PRId64 " of %s", cols, mat_type_name(h->type));
    double *x = fz_xmalloc((size_t)cols * sizeof *x);
    char id[MAT_MAX_ID + 1];
    int64_t n = 0;
    while (mat_read_row_f64(r, id, x)) {
        FZ_ASSERT(strlen(id) <= (size_t)h->idw, "id longer than its field");
        if (m) {
            FZ_ASSERT(n < m->rows, "more streamed rows than dense rows");
            FZ_ASSERT(strcmp(id, mat_dense_id(m, n)) == 0, "row %" PRId64 ": ids differ", n);
            FZ_ASSERT(memcmp(x, m->x + n * m->cols, (size_t)cols * sizeof *x) == 0,
                      "row %" PRId64 ": values differ", n);
        }
        n++;
    }
    FZ_ASSERT(n == h->rows, "read %" PRId64 " rows, header says %" PRId64, n, h->rows);
    FZ_ASSERT(!m || m->cols == cols, "dense cols %" PRId64 ", streamed %" PRId64, m->cols, cols);
    fz_free(x);
    mat_close(r);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_catch_die();
    const char *path = fz_memfile(data, size);
    /* Whole first: a dense load allocates before it has read the rows, the bomb to look for. */
    static mat_dense m;     /* static: it must survive a longjmp */
    static char why[1024];
    volatile int dense_ok = 0;
    why[0] = 0;
    if (setjmp(fz_jb) == 0) {
        m = mat_load_dense(path);
        dense_ok = 1;
    } else {
        snprintf(why, sizeof why, "%s", err_last_message());
    }
    /* Then streaming, compared row by row with the dense copy. */
    if (setjmp(fz_jb) == 0) {
        int64_t n = read_stream(path, dense_ok ? &m : NULL);
        FZ_ASSERT(dense_ok, "streaming read %" PRId64 " rows the dense load refused: %s", n,
                  why);
        FZ_ASSERT(n == m.rows, "dense rows %" PRId64 ", streamed %" PRId64, m.rows, n);
        fz_note("read %" PRId64 " rows", n);
    } else {
        FZ_ASSERT(!dense_ok, "the dense load took a stream the streaming read refuses: %s",
                  err_last_message());
        fz_note("refused: %s", err_last_message());
    }
    fz_release();   /* the dense copy included */
    m = (mat_dense){0};
    return 0;
}

/* The code under test, its allocations and files tracked (fz_track.h). */
#include "fz_track.h"
#include "../../common/mat.c"
