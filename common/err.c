/* err.c - diagnostics, exit codes, checked allocation, atomic output files. */
#include "err.h"

#include <sys/mman.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *prog = "facepipe";
static void (*exit_hook)(int) = NULL;
static char last_msg[1024];

void err_init(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    prog = slash ? slash + 1 : argv0;
}

const char *err_prog(void) { return prog; }
void err_set_hook(void (*hook)(int)) { exit_hook = hook; }
const char *err_last_message(void) { return last_msg; }

static void vreport(const char *fmt, va_list ap)
{
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    if (!exit_hook)
        fprintf(stderr, "%s: %s\n", prog, last_msg);
}

/* Temporaries of atomic outputs still open: removed when the program dies or is
 * interrupted, so a failed stage leaves nothing behind. */
#define MAX_PENDING 32
static char *pending[MAX_PENDING];

static void pending_add(char *tmp)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pending[i]) { pending[i] = tmp; return; }
}

static void pending_remove(const char *tmp)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i] == tmp) pending[i] = NULL;
}

static void pending_unlink(void)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i]) unlink(pending[i]);   /* async-signal-safe */
}

static void on_signal(int sig)
{
    pending_unlink();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void finish(int status)
{
    pending_unlink();
    if (exit_hook) exit_hook(status);
    exit(status);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    finish(1);
    abort(); /* unreachable: the hook must not return */
}

void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    if (!exit_hook) fprintf(stderr, "Try '%s --help' for more information.\n", prog);
    finish(EXIT_USAGE);
    abort();
}

void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory (asked for %zu bytes)", n);
    return p;
}

void *xmalloc_huge(size_t bytes)
{
    const size_t huge = 2u << 20;
    if (bytes < (256u << 10)) return xmalloc(bytes ? bytes : 1);   /* glibc would mmap afresh */
    void *p = NULL;
    size_t len = (bytes + huge - 1) / huge * huge;   /* 2 MiB pages, rounded up */
    if (posix_memalign(&p, huge, len) != 0) die("out of memory (asked for %zu bytes)", len);
    madvise(p, len, MADV_HUGEPAGE);     /* advice only: failure just means small pages */
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die("out of memory (asked for %zu x %zu bytes)", n, size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) die("out of memory (asked for %zu bytes)", n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* /dev/stdout, /dev/fd/N, /proc/self/fd/N, devices, FIFOs: names of streams, never files to
 * replace. (stat follows /dev/stdout to the file a shell redirected it to, a regular file:
 * a rename would then replace the link in /dev itself - hence the prefixes.) */
int out_in_place(const char *path)
{
    struct stat st;
    if (strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0) return 1;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

/* PATH's canonical name: realpath() of the file when it exists (links followed); for a link
 * to a file not yet made, the canonical name of what it points at (as out_open will write
 * there); else realpath() of its directory plus its base name. NULL when nothing resolves. */
static char *canonical_path_depth(const char *path, int depth)
{
    char *real = realpath(path, NULL);
    if (real) return real;
    const char *slash = strrchr(path, '/');
    struct stat st;
    char target[PATH_MAX];
    ssize_t len;
    if (depth < 40 && lstat(path, &st) == 0 && S_ISLNK(st.st_mode) &&
        (len = readlink(path, target, sizeof target - 1)) > 0) {
        target[len] = '\0';
        /* a relative target is relative to the link's directory */
        size_t dir_len = target[0] == '/' || !slash ? 0 : (size_t)(slash - path) + 1;
        char *joined = xmalloc(dir_len + (size_t)len + 1);
        memcpy(joined, path, dir_len);
        memcpy(joined + dir_len, target, (size_t)len + 1);
        char *c = canonical_path_depth(joined, depth + 1);
        free(joined);
        return c;
    }
    const char *base = slash ? slash + 1 : path;
    char *dir = slash ? xstrdup(path) : xstrdup(".");
    if (slash) dir[slash == path ? 1 : slash - path] = '\0';
    char *real_dir = realpath(dir, NULL);
    free(dir);
    if (!real_dir) return NULL;
    size_t n = strlen(real_dir) + strlen(base) + 2;
    char *full = xmalloc(n);
    snprintf(full, n, "%s/%s", real_dir, base);
    free(real_dir);
    return full;
}

int same_path(const char *a, const char *b)
{
    if (strcmp(a, b) == 0) return 1;
    char *ca = canonical_path_depth(a, 0), *cb = canonical_path_depth(b, 0);
    int same = ca && cb && strcmp(ca, cb) == 0;
    free(ca);
    free(cb);
    return same;
}

outfile out_open(const char *path)
{
    outfile o = {0};
    if (!path || strcmp(path, "-") == 0) {
        o.fp = stdout;
        return o;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) die("cannot write %s: it is a directory", path);
    if (out_in_place(path)) {
        o.path = xstrdup(path);
        o.direct = 1;
        o.fp = fopen(path, "wb");
        if (!o.fp) die("cannot open %s: %s", path, strerror(errno));
        return o;
    }
    /* A symbolic link to a file: the file it names is replaced, the link stays a link. */
    struct stat lst;
    char *target = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) ? realpath(path, NULL) : NULL;
    o.path = target ? target : xstrdup(path);
    size_t n = strlen(o.path) + 32;
    o.tmp = xmalloc(n);
    snprintf(o.tmp, n, "%s.tmp.%ld", o.path, (long)getpid());
    o.fp = fopen(o.tmp, "wb");
    if (!o.fp) die("cannot create %s: %s", o.tmp, strerror(errno));
    static int handlers;
    if (!handlers) {
        handlers = 1;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
        signal(SIGPIPE, on_signal);
    }
    pending_add(o.tmp);
    return o;
}

void out_commit(outfile *o)
{
    if (!o->fp) return;
    int bad = ferror(o->fp);
    if (o->direct) {
        if (fclose(o->fp) != 0) bad = 1;
        o->fp = NULL;
        if (bad) die("write error on %s: %s", o->path, strerror(errno));
        free(o->path);
        o->path = NULL;
    } else if (o->path) {
        pending_remove(o->tmp);
        if (fclose(o->fp) != 0) bad = 1;
        o->fp = NULL;
        if (bad) {
            int e = errno;
            unlink(o->tmp);
            die("write error on %s: %s", o->path, strerror(e));
        }
        if (rename(o->tmp, o->path) != 0) {
            int e = errno;
            unlink(o->tmp);
            die("cannot rename %s to %s: %s", o->tmp, o->path, strerror(e));
        }
        free(o->path);
        free(o->tmp);
        o->path = o->tmp = NULL;
    } else {
        if (fflush(o->fp) != 0 || bad) die("write error on stdout: %s", strerror(errno));
        o->fp = NULL;
    }
}

void out_abort(outfile *o)
{
    if (!o->fp) return;
    if (o->direct) {
        fclose(o->fp);
        free(o->path);
        o->path = NULL;
    } else if (o->path) {
        pending_remove(o->tmp);
        fclose(o->fp);
        unlink(o->tmp);
        free(o->path);
        free(o->tmp);
        o->path = o->tmp = NULL;
    }
    o->fp = NULL;
}

long parse_long(const char *s, const char *what, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        die_usage("%s: expected an integer, got '%s'", what, s);
    if (v < lo || v > hi)
        die_usage("%s: %ld is out of range [%ld, %ld]", what, v, lo, hi);
    return v;
}

double parse_double(const char *s, const char *what, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        die_usage("%s: expected a number, got '%s'", what, s);
    if (v < lo || v > hi)
        die_usage("%s: %g is out of range [%g, %g]", what, v, lo, hi);
    return v;
}

unsigned long long parse_seed(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        die_usage("seed: expected a non-negative integer, got '%s'", s);
    return v;
}

int stderr_is_tty(void) { return isatty(2); }
