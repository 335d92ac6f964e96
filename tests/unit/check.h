/* check.h - a minimal unit-test harness: CHECK(cond) counts, EXPECT_DIE(code, substring)
 * runs code that must die() with a message containing substring (through err_set_hook and
 * longjmp, so the test goes on). Each test program ends with check_summary(), which prints
 * "N passed, N failed" and returns the exit status. */
#ifndef FP_CHECK_H
#define FP_CHECK_H

#include "err.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

static int check_pass, check_fail;
static jmp_buf check_jb;
static int check_status;

__attribute__((unused)) static void check_hook(int status)
{
    check_status = status;
    longjmp(check_jb, 1);
}

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (cond) check_pass++;                                                         \
        else { check_fail++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                           \
    do {                                                                                \
        double _a = (a), _b = (b);                                                      \
        if (fabs(_a - _b) <= (tol)) check_pass++;                                       \
        else { check_fail++; fprintf(stderr, "FAIL %s:%d: %s = %.10g, expected %.10g\n", \
                                     __FILE__, __LINE__, #a, _a, _b); }                 \
    } while (0)

/* Runs `code`, which must die() with a message containing `substr`. */
#define EXPECT_DIE(code, substr)                                                        \
    do {                                                                                \
        err_set_hook(check_hook);                                                       \
        if (setjmp(check_jb) == 0) {                                                    \
            code;                                                                       \
            check_fail++;                                                               \
            fprintf(stderr, "FAIL %s:%d: expected an error containing '%s'\n", __FILE__, \
                    __LINE__, substr);                                                  \
        } else if (strstr(err_last_message(), substr)) {                                \
            check_pass++;                                                               \
        } else {                                                                        \
            check_fail++;                                                               \
            fprintf(stderr, "FAIL %s:%d: error '%s' lacks '%s'\n", __FILE__, __LINE__,   \
                    err_last_message(), substr);                                        \
        }                                                                               \
        err_set_hook(NULL);                                                             \
    } while (0)

static int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_pass, check_fail);
    return check_fail ? 1 : 0;
}

#endif
