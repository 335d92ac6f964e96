/* csv.h - a strict, streaming CSV reader (RFC 4180: commas, optional double quotes, LF or
 * CRLF line ends). Rows come one at a time with their line number, so every error can name
 * the file and line. A field longer than CSV_MAX_FIELD bytes, a row of more than
 * CSV_MAX_FIELDS fields or CSV_MAX_RECORD bytes is refused: a reader never holds more than
 * CSV_MAX_RECORD bytes plus 4 MiB of field pointers, whatever the input. */
#ifndef FP_CSV_H
#define FP_CSV_H

#include <stdio.h>

#define CSV_MAX_FIELD (1 << 16)
#define CSV_MAX_FIELDS (1 << 18)   /* a 256x256x3 image row fits */
/* Bytes of one row: without it, CSV_MAX_FIELDS fields of CSV_MAX_FIELD bytes would be 16 GiB.
 * A 256x256x3 row of 17-digit doubles (`mat to-csv`) is under 5 MiB. */
#define CSV_MAX_RECORD (1 << 26)

typedef struct csv_reader csv_reader;

csv_reader *csv_open(const char *path);            /* "-" = stdin; dies if it cannot open */
/* Next row: returns the number of fields (>= 1) and points *fields at them (valid until the
 * next call), or 0 at end of file. Blank lines are skipped. Dies with file:line on errors. */
int csv_next(csv_reader *c, char ***fields);
long csv_line(const csv_reader *c);                 /* line number of the last row returned */
const char *csv_name(const csv_reader *c);
void csv_close(csv_reader *c);

/* Writes one field, quoting it only when it needs quotes. */
void csv_put(FILE *f, const char *field);

#endif
