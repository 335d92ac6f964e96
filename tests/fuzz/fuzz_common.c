/* fuzz_common.c - the die() hook, in-memory input files and resource tracking shared by the
 * harnesses (fuzz.h, fz_track.h). */
#define _GNU_SOURCE
#include "err.h"
#include "fuzz.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

jmp_buf fz_jb;

static void die_hook(int status)
{
    (void)status;
    longjmp(fz_jb, 1);
}

void fz_catch_die(void) { err_set_hook(die_hook); }

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: harness check failed: %s: ", file, line, cond);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void fz_note(const char *fmt, ...)
{
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("FZ_VERBOSE") != NULL;
    if (!verbose) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("  ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ------------------------------------------------------------------ in-memory files */

static int memfd = -1;
static char mempath[64];

const char *fz_memfile(const uint8_t *data, size_t size)
{
    if (memfd < 0) {
        memfd = memfd_create("fuzz-input", 0);
        if (memfd < 0) fz_fail(__FILE__, __LINE__, "memfd_create", "%s", strerror(errno));
        snprintf(mempath, sizeof mempath, "/proc/self/fd/%d", memfd);
    }
    if (ftruncate(memfd, 0) != 0)
        fz_fail(__FILE__, __LINE__, "ftruncate", "%s", strerror(errno));
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(memfd, data + done, size - done, (off_t)done);
        if (n <= 0) fz_fail(__FILE__, __LINE__, "pwrite", "%s", strerror(errno));
        done += (size_t)n;
    }
    /* fopen() of /proc/self/fd/N opens the file anew, at offset 0. */
    return mempath;
}

/* ------------------------------------------------------------------ tracked resources */
/* A reader holds a handful of buffers at a time, so a small table searched linearly is
 * enough. Running out of slots is a harness bug, reported as such. */

#define MAX_LIVE 1024
static void *live_mem[MAX_LIVE];
static int nmem;
static FILE *live_files[64];
static int nfiles;

static void check_size(size_t n)
{
    if (n > FZ_MAX_ALLOC)
        fz_fail(__FILE__, __LINE__, "allocation size",
                "resource bomb: the code under test asked for %zu bytes (limit %lu)", n,
                FZ_MAX_ALLOC);
}

static void *remember(void *p)
{
    if (nmem == MAX_LIVE) fz_fail(__FILE__, __LINE__, "nmem < MAX_LIVE", "too many live blocks");
    live_mem[nmem++] = p;
    return p;
}

static void forget(void *p)
{
    for (int i = nmem - 1; i >= 0; i--)
        if (live_mem[i] == p) { live_mem[i] = live_mem[--nmem]; return; }
    fz_fail(__FILE__, __LINE__, "tracked pointer", "free of a block the reader never allocated");
}

void *fz_xmalloc(size_t n) { check_size(n); return remember(xmalloc(n)); }

void *fz_malloc(size_t n)
{
    check_size(n);
    void *p = malloc(n);
    return p ? remember(p) : NULL;
}

void *fz_xcalloc(size_t n, size_t size)
{
    if (size && n > FZ_MAX_ALLOC / size)
        fz_fail(__FILE__, __LINE__, "allocation size",
                "resource bomb: the code under test asked for %zu x %zu bytes", n, size);
    return remember(xcalloc(n, size));
}

void *fz_xrealloc(void *p, size_t n)
{
    check_size(n);
    if (p) forget(p);
    return remember(xrealloc(p, n));
}

char *fz_xstrdup(const char *s) { return remember(xstrdup(s)); }

void fz_free(void *p)
{
    if (!p) return;
    forget(p);
    free(p);
}

static FILE *remember_file(FILE *f)
{
    if (!f) return NULL;
    if (nfiles == (int)(sizeof live_files / sizeof *live_files))
        fz_fail(__FILE__, __LINE__, "nfiles", "too many open files");
    live_files[nfiles++] = f;
    return f;
}

FILE *fz_fopen(const char *path, const char *mode) { return remember_file(fopen(path, mode)); }
FILE *fz_tmpfile(void) { return remember_file(tmpfile()); }

int fz_fclose(FILE *f)
{
    for (int i = nfiles - 1; i >= 0; i--)
        if (live_files[i] == f) { live_files[i] = live_files[--nfiles]; break; }
    return fclose(f);
}

int fz_release(void)
{
    int n = nmem + nfiles;
    while (nmem > 0) free(live_mem[--nmem]);
    while (nfiles > 0) fclose(live_files[--nfiles]);
    return n;
}
