/* fuzz_csv.c - harness for the CSV reader (common/csv.c): every row of the input, then the
 * rows written back with csv_put() and read again.
 *
 * Checked: row line numbers only grow; no field is longer than CSV_MAX_FIELD; re-reading
 * what csv_put() wrote gives the same rows (the writer quotes whatever the reader needs
 * quoted), so writing them once more gives the same bytes; no single allocation beyond
 * FZ_MAX_ALLOC; nothing leaks or stays open after a refusal. */
#include "csv.h"
#include "err.h"
#include "fuzz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The rows of PATH, written back with csv_put() into *out (a memory stream). */
static void echo_rows(const char *path, FILE *out)
{
    csv_reader *c = csv_open(path);
    char **f;
    int n;
    long last = 0;
    while ((n = csv_next(c, &f)) > 0) {
        FZ_ASSERT(n <= CSV_MAX_FIELDS, "%d fields", n);
        FZ_ASSERT(csv_line(c) > last, "line %ld after line %ld", csv_line(c), last);
        last = csv_line(c);
        for (int i = 0; i < n; i++) {
            FZ_ASSERT(strlen(f[i]) <= CSV_MAX_FIELD, "field of %zu bytes", strlen(f[i]));
            if (i) fputc(',', out);
            csv_put(out, f[i]);
        }
        fputc('\n', out);
    }
    csv_close(c);
}

/* Memory streams of this run: static, so they can be closed after a longjmp. */
static FILE *out1, *out2;
static char *buf1, *buf2;
static size_t len1, len2;

static void close_streams(void)
{
    if (out1) fclose(out1);
    if (out2) fclose(out2);
    free(buf1);
    free(buf2);
    out1 = out2 = NULL;
    buf1 = buf2 = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_catch_die();
    out1 = open_memstream(&buf1, &len1);
    out2 = open_memstream(&buf2, &len2);
    if (!out1 || !out2) abort();
    if (setjmp(fz_jb) == 0) {
        echo_rows(fz_memfile(data, size), out1);
        fflush(out1);
        /* What the writer wrote, the reader must take back as the same rows. */
        if (setjmp(fz_jb) == 0) {
            echo_rows(fz_memfile((const uint8_t *)buf1, len1), out2);
            fflush(out2);
            FZ_ASSERT(len1 == len2 && memcmp(buf1, buf2, len1) == 0,
                      "rows written back read differently (%zu vs %zu bytes)", len1, len2);
            fz_note("read back %zu bytes of rows", len1);
        } else {
            FZ_ASSERT(0, "the reader refuses what csv_put wrote: %s", err_last_message());
        }
    } else {
        fz_note("refused: %s", err_last_message());
    }
    fz_release();
    close_streams();
    return 0;
}

/* The code under test, its allocations and files tracked (fz_track.h). */
#include "fz_track.h"
#include "../../common/csv.c"
