/* csv.c - streaming CSV reader; see csv.h. */
#include "csv.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct csv_reader {
    FILE *fp;
    char *name;
    long line;          /* physical line of the last character read */
    long row_line;      /* line where the returned row started */
    char *buf;          /* field bytes, NUL separated */
    size_t cap, len;
    char **fields;
    size_t *starts;     /* offsets of the fields in buf */
    int nfields, fcap;
};

csv_reader *csv_open(const char *path)
{
    csv_reader *c = xcalloc(1, sizeof *c);
    if (strcmp(path, "-") == 0) {
        c->fp = stdin;
        c->name = xstrdup("stdin");
    } else {
        c->fp = fopen(path, "rb");
        if (!c->fp) die("cannot open %s: %s", path, strerror(errno));
        c->name = xstrdup(path);
    }
    c->line = 1;
    return c;
}

long csv_line(const csv_reader *c) { return c->row_line; }
const char *csv_name(const csv_reader *c) { return c->name; }

static void push_byte(csv_reader *c, char ch, size_t field_start)
{
    if (c->len - field_start >= CSV_MAX_FIELD)
        die("%s:%ld: field %d is longer than %d bytes", c->name, c->row_line, c->nfields + 1,
            CSV_MAX_FIELD);
    if (c->len >= CSV_MAX_RECORD)
        die("%s:%ld: row is longer than %d bytes (at field %d)", c->name, c->row_line,
            CSV_MAX_RECORD, c->nfields + 1);
    if (c->len + 1 >= c->cap) {
        /* Doubling, but never past the largest row: a maximal row costs CSV_MAX_RECORD bytes. */
        c->cap = c->cap ? c->cap * 2 : 256;
        if (c->cap > (size_t)CSV_MAX_RECORD + 1) c->cap = (size_t)CSV_MAX_RECORD + 1;
        c->buf = xrealloc(c->buf, c->cap);
    }
    c->buf[c->len++] = ch;
}

static void push_field(csv_reader *c, size_t start)
{
    if (c->nfields == CSV_MAX_FIELDS)
        die("%s:%ld: more than %d fields", c->name, c->row_line, CSV_MAX_FIELDS);
    if (c->nfields == c->fcap) {
        c->fcap = c->fcap ? 2 * c->fcap : 64;
        c->starts = xrealloc(c->starts, sizeof(size_t) * (size_t)c->fcap);
        c->fields = xrealloc(c->fields, sizeof(char *) * (size_t)c->fcap);
    }
    c->starts[c->nfields++] = start;
}

/* Reads one record into buf as NUL-separated fields. Returns 0 at EOF before any byte. */
static int read_record(csv_reader *c)
{
    c->len = 0;
    c->nfields = 0;
    c->row_line = c->line;
    size_t field_start = 0;
    int ch = getc(c->fp);
    if (ch == EOF) return 0;
    int quoted = 0, was_quoted = 0;
    for (;; ch = getc(c->fp)) {
        if (quoted) {
            if (ch == EOF) die("%s:%ld: unterminated quoted field", c->name, c->row_line);
            if (ch == '"') {
                int next = getc(c->fp);
                if (next == '"') { push_byte(c, '"', field_start); continue; }
                quoted = 0;
                ungetc(next, c->fp);
                continue;
            }
            if (ch == '\n') c->line++;
            push_byte(c, (char)ch, field_start);
            continue;
        }
        if (ch == '"' && c->len == field_start && !was_quoted) { quoted = was_quoted = 1; continue; }
        if (ch == ',' || ch == '\n' || ch == EOF || ch == '\r') {
            if (ch == '\r') {
                int next = getc(c->fp);
                if (next != '\n') {
                    if (next != EOF) die("%s:%ld: stray carriage return", c->name, c->line);
                }
                ch = '\n';
            }
            push_byte(c, 0, field_start);
            push_field(c, field_start);
            field_start = c->len;
            was_quoted = 0;
            if (ch == '\n') c->line++;
            if (ch != ',') return 1;
            continue;
        }
        if (was_quoted)
            die("%s:%ld: unexpected character after a closing quote in field %d", c->name,
                c->row_line, c->nfields + 1);
        push_byte(c, (char)ch, field_start);
    }
}

int csv_next(csv_reader *c, char ***fields)
{
    for (;;) {
        if (!read_record(c)) {
            if (ferror(c->fp)) die("%s: read error: %s", c->name, strerror(errno));
            return 0;
        }
        if (c->nfields == 1 && c->buf[0] == 0) continue;   /* blank line */
        for (int i = 0; i < c->nfields; i++) c->fields[i] = c->buf + c->starts[i];
        *fields = c->fields;
        return c->nfields;
    }
}

void csv_close(csv_reader *c)
{
    if (!c) return;
    if (c->fp != stdin) fclose(c->fp);
    free(c->buf);
    free(c->fields);
    free(c->starts);
    free(c->name);
    free(c);
}

void csv_put(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
