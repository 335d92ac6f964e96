/* fuzz.h - what the fuzz harnesses (tests/fuzz/fuzz_*.c) share. See docs/reliability.md.
 *
 * Each harness defines LLVMFuzzerTestOneInput(). Linked with clang's -fsanitize=fuzzer it
 * is a libFuzzer target (`make fuzz`); linked with replay.c it is a plain program that runs
 * the regression inputs of tests/fuzz/regress/ with any compiler (`make test`, check-asan).
 *
 * The library reports bad input through die(), which exits. A fuzzer must survive that, so
 * the harnesses install a die() hook that longjmps back into the harness, and everything
 * the code under test allocated or opened on the way is released afterwards (fz_track.h). */
#ifndef FP_FUZZ_H
#define FP_FUZZ_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where a die() inside the code under test lands: `if (setjmp(fz_jb) == 0) { ... }`.
 * fz_catch_die() installs the hook (once per process is enough). */
extern jmp_buf fz_jb;
void fz_catch_die(void);

/* A path naming an in-memory file (memfd) that holds exactly DATA: the readers under test
 * take paths, and this spares the disk. Valid until the next call. */
const char *fz_memfile(const uint8_t *data, size_t size);

/* A resource bomb is a bug like a crash: any single allocation above this many bytes made by
 * the code under test aborts the run with the size asked for. The limits of the readers
 * (IMG_MAX_PIXELS, MAX_ROW_BYTES, CSV_MAX_RECORD) keep every legitimate input below it. */
#define FZ_MAX_ALLOC (512UL << 20)

/* With FZ_VERBOSE set in the environment: what became of the input, on stderr. */
void fz_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Checks a property the harness expects; aborts (a crash for libFuzzer) when it fails. */
#define FZ_ASSERT(cond, ...)                                                         \
    do {                                                                             \
        if (!(cond)) fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                \
    } while (0)
void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* Tracked resources (fz_track.h routes the code under test here; a harness may call them
 * for its own buffers). fz_release() frees and closes everything still live and returns
 * how many resources that was. */
void *fz_xmalloc(size_t n);
void *fz_malloc(size_t n);      /* may return NULL, like malloc */
void *fz_xcalloc(size_t n, size_t size);
void *fz_xrealloc(void *p, size_t n);
char *fz_xstrdup(const char *s);
void fz_free(void *p);
FILE *fz_fopen(const char *path, const char *mode);
FILE *fz_tmpfile(void);
int fz_fclose(FILE *f);
int fz_release(void);

#endif
