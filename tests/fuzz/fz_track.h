/* fz_track.h - resource tracking for a library source compiled into a harness.
 *
 * A harness first includes every header the library file needs and defines its own code;
 * then, at its end, this file and the library's .c file (a "unity" include). The macros
 * reroute that file's allocations and fopen/fclose through a table of live resources, so
 * that after die() longjmps out of the middle of a reader, fz_release() frees what the
 * reader had allocated and closes what it had opened: without this every rejected input
 * would leak a FILE and a few buffers, and a fuzzer doing millions of runs would run out of
 * descriptors and memory. Only the included file is
 * affected; the harness and the rest of the program use the real functions. */
#ifndef FP_FZ_TRACK_H
#define FP_FZ_TRACK_H

#include "fuzz.h"

/* Function-like, so `(free)(p)` still reaches the real function where that is meant. */
#define xmalloc(n) fz_xmalloc(n)
#define xmalloc_huge(n) fz_xmalloc(n)   /* huge pages do not matter to a harness */
#define xcalloc(n, size) fz_xcalloc(n, size)
#define xrealloc(p, n) fz_xrealloc(p, n)
#define xstrdup(s) fz_xstrdup(s)
#define malloc(n) fz_malloc(n)
#define free(p) fz_free(p)
#define fopen(path, mode) fz_fopen(path, mode)
#define tmpfile() fz_tmpfile()
#define fclose(f) fz_fclose(f)

#endif
