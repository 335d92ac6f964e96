/* Unit tests of the CSV reader (common/csv.c) and the label table (common/labels.c). */
#include "check.h"
#include "csv.h"
#include "labels.h"

#include <math.h>
#include <stdlib.h>

static char dir[] = "/tmp/fp-test-csv-XXXXXX";

static const char *put(const char *name, const char *text)
{
    static char p[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    FILE *f = fopen(p[k], "wb");
    fputs(text, f);
    fclose(f);
    return p[k];
}

static void test_fields(void)
{
    csv_reader *c = csv_open(put("a.csv", "a,b,c\r\n1,\"x,y\",\"he said \"\"hi\"\"\"\r\n\r\n\"multi\nline\",,z\n"));
    char **f;
    CHECK(csv_next(c, &f) == 3 && strcmp(f[2], "c") == 0 && csv_line(c) == 1);
    CHECK(csv_next(c, &f) == 3);
    CHECK(strcmp(f[1], "x,y") == 0);
    CHECK(strcmp(f[2], "he said \"hi\"") == 0);
    CHECK(csv_next(c, &f) == 3);            /* blank line skipped */
    CHECK(csv_line(c) == 4);
    CHECK(strcmp(f[0], "multi\nline") == 0 && f[1][0] == 0 && strcmp(f[2], "z") == 0);
    CHECK(csv_next(c, &f) == 0);
    csv_close(c);
    /* last line without a newline */
    c = csv_open(put("b.csv", "x,y\n1,2"));
    CHECK(csv_next(c, &f) == 2 && csv_next(c, &f) == 2 && strcmp(f[1], "2") == 0);
    CHECK(csv_next(c, &f) == 0);
    csv_close(c);
}

static void test_csv_errors(void)
{
    char **f;
    csv_reader *c = csv_open(put("q.csv", "a,b\n1,\"open\n"));
    csv_next(c, &f);
    EXPECT_DIE(csv_next(c, &f), "q.csv:2: unterminated quoted field");
    csv_close(c);
    c = csv_open(put("q2.csv", "a,\"b\"x\n"));
    EXPECT_DIE(csv_next(c, &f), "q2.csv:1: unexpected character after a closing quote in field 2");
    csv_close(c);
    /* a field longer than the limit is refused, not allocated without bound */
    char *big = malloc(CSV_MAX_FIELD + 10);
    memset(big, 'x', CSV_MAX_FIELD + 8);
    big[CSV_MAX_FIELD + 8] = 0;
    c = csv_open(put("big.csv", big));
    EXPECT_DIE(csv_next(c, &f), "big.csv:1: field 1 is longer than 65536 bytes");
    csv_close(c);
    free(big);
}

static void test_labels(void)
{
    labels l = labels_read(put("l.csv", "file_name,hair_color,smiling\r\n2,4,1\r\n3,-1,-1\r\n"));
    CHECK(l.nrows == 2 && l.ncols == 2);
    CHECK(strcmp(l.ids[1], "3") == 0);
    CHECK(labels_get(&l, 0, labels_col(&l, "hair_color")) == 4);
    CHECK(labels_get(&l, 1, labels_col(&l, "smiling")) == -1);
    CHECK(labels_col(&l, "young") == -1);
    EXPECT_DIE(labels_require(&l, "young"), "no column 'young' (columns: hair_color, smiling)");
    labels_free(&l);
    /* file_name need not be first */
    l = labels_read(put("l2.csv", "smiling,file_name\n1,a.png\n"));
    CHECK(strcmp(l.ids[0], "a.png") == 0 && labels_get(&l, 0, 0) == 1);
    labels_free(&l);

    EXPECT_DIE(labels_read(put("d.csv", "file_name,x\n1,1\n2,1\n1,0\n")), "d.csv:4: duplicate file_name '1' (first on line 2)");
    EXPECT_DIE(labels_read(put("m.csv", "name,x\n1,1\n")), "m.csv:1: header has no 'file_name' column");
    EXPECT_DIE(labels_read(put("n.csv", "file_name,smiling\n1,yes\n")), "n.csv:2: column 'smiling': expected an integer label, found 'yes'");
    EXPECT_DIE(labels_read(put("f.csv", "file_name,a,b\n1,1\n")), "f.csv:2: expected 3 fields like the header, found 2");
    EXPECT_DIE(labels_read(put("e.csv", "")), "e.csv: empty file");
    EXPECT_DIE(labels_read(put("x.csv", "file_name,a\n1,2.5\n")), "expected an integer label, found '2.5'");
}

int main(void)
{
    err_init("test_csv");
    if (!mkdtemp(dir)) return 1;
    test_fields();
    test_csv_errors();
    test_labels();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary("test_csv");
}
