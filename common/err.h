/* err.h - diagnostics, exit codes and checked allocation shared by every stage.
 *
 * Conventions (see docs/format.md, "Unix manners"):
 *   exit 0  success
 *   exit 1  failure (bad input, I/O error) - die()
 *   exit 2  bad usage (unknown option, missing argument) - die_usage()
 * Every message goes to stderr, prefixed with the program name. */
#ifndef FP_ERR_H
#define FP_ERR_H

#include <stddef.h>
#include <stdio.h>

#define EXIT_USAGE 2

/* Set once from main(): the name printed before every message. */
void err_init(const char *argv0);
const char *err_prog(void);

/* Print "prog: message" and exit 1. Message is printf-style, no trailing newline needed. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Print "prog: message" plus "Try 'prog --help'." and exit 2. */
void die_usage(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Print "prog: message" and go on. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Tests only: called instead of exit() by die()/die_usage(); it must not return
 * (typically it longjmps). The last message is kept in err_last_message(). */
void err_set_hook(void (*hook)(int status));
const char *err_last_message(void);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
/* Buffers from 256 KiB up on transparent huge pages when the kernel offers them (first touch of
 * a 4 KiB page costs ~30 us on our VMs; huge pages cut the faults 512-fold). free() them. */
void *xmalloc_huge(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Atomic output files: write to "PATH.tmp.<pid>", rename to PATH on commit, so a killed or
 * failing stage never leaves a partial PATH behind. "-" means stdout (no rename). Written in
 * place instead: a path under /dev/ or /proc/ (/dev/null, /dev/stdout, /proc/self/fd/1) and
 * an existing PATH that is not a regular file (a FIFO) - renaming over them would replace
 * the device, link or pipe with a plain file. A symbolic link to a file: the file it names
 * is replaced atomically, the link stays. */
typedef struct {
    FILE *fp;
    char *path;    /* final name (a link's target), NULL for stdout */
    char *tmp;     /* temporary name, NULL for stdout and direct */
    int direct;    /* path is written in place (not a regular file) */
} outfile;
outfile out_open(const char *path);          /* dies on failure */
int out_in_place(const char *path);          /* written through, never renamed over (above) */
void out_commit(outfile *o);                 /* flush, fsync-free close, rename; dies on I/O error */
void out_abort(outfile *o);                  /* close and remove the temporary */
/* True when two output paths name the same file: "m.w", "./m.w", "d/../m.w" and a symbolic
 * link to it do, whether or not the file exists yet (its directory must). */
int same_path(const char *a, const char *b);

/* Parse helpers that die_usage() with the option name on bad values. */
long parse_long(const char *s, const char *what, long lo, long hi);
double parse_double(const char *s, const char *what, double lo, double hi);
unsigned long long parse_seed(const char *s);

/* True when stderr is a terminal (progress bars only then). */
int stderr_is_tty(void);

#endif
