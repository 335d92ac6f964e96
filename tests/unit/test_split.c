/* Unit tests of common/split.c: task label mapping, largest-remainder quotas, stratified
 * splits and folds (within one item of every class's share, deterministic in the seed),
 * and reading labels (hair_color -1 rows dropped, invalid values named by file:line). */
#include "check.h"
#include "rng.h"
#include "split.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/fp-test-split-XXXXXX";

static const char *put(const char *name, const char *text)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    FILE *f = fopen(p[k], "wb");
    fputs(text, f);
    fclose(f);
    return p[k];
}

static void test_tasks(void)
{
    const task_def *s = task_find("smiling"), *h = task_find("hair_color");
    CHECK(s && s->nclass == 2 && h && h->nclass == 6 && !task_find("hair"));
    CHECK(task_class(s, -1) == 0 && task_class(s, 1) == 1 && task_class(s, 0) == TASK_BAD);
    CHECK(task_value(s, 0) == -1 && task_value(s, 1) == 1);
    CHECK(task_class(h, -1) == TASK_DROP && task_class(h, 5) == 5 && task_class(h, 6) == TASK_BAD);
    CHECK(task_value(h, 3) == 3);
    EXPECT_DIE(task_require("glasses"), "unknown task 'glasses' (valid tasks: smiling, young, eyeglasses, human, hair_color)");
}

static void test_quota(void)
{
    const double f[3] = {0.6, 0.2, 0.2};
    int64_t q[3];
    /* n = 7: exact 4.2 / 1.4 / 1.4 -> 4 1 1 + the leftover to the first of the two .4s */
    split_quota(7, f, 3, q);
    CHECK(q[0] == 4 && q[1] == 2 && q[2] == 1);
    /* n = 3: 1.8 / .6 / .6 -> 1 0 0, leftovers to .8 then the first .6 */
    split_quota(3, f, 3, q);
    CHECK(q[0] == 2 && q[1] == 1 && q[2] == 0);
    /* n = 5: 0.6 * 5 is 2.9999999999999996 in doubles; still 3 1 1 */
    split_quota(5, f, 3, q);
    CHECK(q[0] == 3 && q[1] == 1 && q[2] == 1);
    split_quota(1, f, 3, q);
    CHECK(q[0] == 1 && q[1] == 0 && q[2] == 0);
    split_quota(0, f, 3, q);
    CHECK(q[0] == 0 && q[1] == 0 && q[2] == 0);
    /* every n up to 1000: sums to n, each part within one item of its share */
    int bad = 0;
    for (int64_t n = 0; n <= 1000; n++) {
        split_quota(n, f, 3, q);
        if (q[0] + q[1] + q[2] != n) bad++;
        for (int p = 0; p < 3; p++)
            if (fabs((double)q[p] - f[p] * (double)n) >= 1) bad++;
    }
    CHECK(bad == 0);
}

/* Labels of n rows in k classes with uneven sizes. */
static int *make_labels(int64_t n, int k, uint64_t seed)
{
    int *y = malloc(sizeof(int) * (size_t)n);
    rng r;
    rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        double u = rng_uniform(&r);
        y[i] = (int)(u * u * k);     /* class 0 most frequent */
    }
    return y;
}

static void test_assign(void)
{
    int64_t n = 997;
    int k = 6;
    int *y = make_labels(n, k, 5), *a = malloc(sizeof(int) * (size_t)n),
        *b = malloc(sizeof(int) * (size_t)n), *c = malloc(sizeof(int) * (size_t)n);
    split_assign(y, n, k, 0.6, 0.2, 42, a);
    split_assign(y, n, k, 0.6, 0.2, 42, b);
    split_assign(y, n, k, 0.6, 0.2, 43, c);
    int64_t cnt[6][3] = {{0}}, tot[6] = {0}, same = 0, differ = 0;
    for (int64_t i = 0; i < n; i++) {
        cnt[y[i]][a[i]]++;
        tot[y[i]]++;
        same += a[i] == b[i];
        differ += a[i] != c[i];
    }
    const double f[3] = {0.6, 0.2, 0.2};
    int bad = 0;
    for (int cl = 0; cl < k; cl++)
        for (int p = 0; p < 3; p++)
            if (fabs((double)cnt[cl][p] - f[p] * (double)tot[cl]) >= 1) bad++;
    CHECK(bad == 0);
    CHECK(same == n);          /* same seed, same split */
    CHECK(differ > n / 4);     /* another seed shuffles differently */
    /* folds: sizes within one, every class spread within one across folds */
    int *fold = malloc(sizeof(int) * (size_t)n), *fold2 = malloc(sizeof(int) * (size_t)n);
    split_folds(y, n, k, 3, 7, fold);
    split_folds(y, n, k, 3, 7, fold2);
    int64_t fs[3] = {0}, fc[6][3] = {{0}};
    int same_f = 1;
    for (int64_t i = 0; i < n; i++) {
        fs[fold[i]]++;
        fc[y[i]][fold[i]]++;
        same_f &= fold[i] == fold2[i];
    }
    CHECK(same_f);
    CHECK(labs((long)(fs[0] - fs[1])) <= 1 && labs((long)(fs[1] - fs[2])) <= 1 &&
          labs((long)(fs[0] - fs[2])) <= 1);
    bad = 0;
    for (int cl = 0; cl < k; cl++)
        for (int p = 0; p < 3; p++)
            if (fabs((double)fc[cl][p] - (double)tot[cl] / 3) >= 1) bad++;
    CHECK(bad == 0);
    free(y), free(a), free(b), free(c), free(fold), free(fold2);
}

static void test_read(void)
{
    const char *csv = put("attr.csv", "file_name,hair_color,smiling\n"
                                      "a,3,1\nb,-1,-1\nc,0,1\nd,-1,1\ne,5,-1\n");
    labelled l = labelled_from_attributes(csv, task_find("hair_color"));
    CHECK(l.n == 3 && l.dropped == 2 && l.nclass == 6);
    CHECK(strcmp(l.ids[0], "a") == 0 && l.y[0] == 3 && strcmp(l.ids[2], "e") == 0 && l.y[2] == 5);
    labelled_free(&l);
    l = labelled_from_attributes(csv, task_find("smiling"));
    CHECK(l.n == 5 && l.dropped == 0 && l.y[0] == 1 && l.y[1] == 0);
    labelled_free(&l);
    const char *bad = put("bad.csv", "file_name,smiling\nx,1\ny,0\n");
    EXPECT_DIE(labelled_from_attributes(bad, task_find("smiling")),
               "bad.csv:3: smiling label 0 is not valid (expected -1 or 1)");
    const char *hair = put("hair.csv", "file_name,hair_color\nx,6\n");
    EXPECT_DIE(labelled_from_attributes(hair, task_find("hair_color")), "hair.csv:2: hair_color label 6");
    EXPECT_DIE(labelled_from_attributes(bad, task_find("young")), "young");
    /* file_name,label files */
    const char *tr = put("train.csv", "file_name,label\np,1\nq,0\n");
    l = labelled_read(tr, 2);
    CHECK(l.n == 2 && l.y[0] == 1 && l.nclass == 2);
    labelled_free(&l);
    const char *tr3 = put("train3.csv", "file_name,label\np,4\nq,0\n");
    l = labelled_read(tr3, 0);
    CHECK(l.nclass == 5);
    labelled_free(&l);
    EXPECT_DIE(labelled_read(tr3, 2), "train3.csv:2: label 4 is not a class index (expected 0..1)");
}

int main(void)
{
    err_init("test_split");
    if (!mkdtemp(dir)) return 1;
    test_tasks();
    test_quota();
    test_assign();
    test_read();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return check_summary("test_split");
}
