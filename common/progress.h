/* progress.h - progress reporting on stderr: a bar with rate and ETA when stderr is a
 * terminal, otherwise a single summary line per phase (logs stay readable). */
#ifndef FP_PROGRESS_H
#define FP_PROGRESS_H

#include <stdint.h>

typedef struct {
    const char *what;      /* e.g. "decode" */
    const char *unit;      /* e.g. "images" */
    int64_t total;         /* <= 0 when unknown */
    int64_t done;
    double t0, last_draw;
    int tty, quiet;
} progress;

double now_seconds(void);  /* monotonic clock */
double process_cpu_seconds(void);  /* CPU time of the whole process, every thread */
void progress_start(progress *p, const char *what, const char *unit, int64_t total);
void progress_update(progress *p, int64_t done);
/* Clears the bar (terminal only) so a regular line can follow; no summary. */
void progress_clear(const progress *p);
/* Clears the bar and prints "what: N unit in T s (R unit/s)" unless quiet. */
void progress_end(progress *p);

#endif
