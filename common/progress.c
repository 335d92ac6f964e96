/* progress.c - see progress.h. Redraws at most ten times a second. */
#include "progress.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double process_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_start(progress *p, const char *what, const char *unit, int64_t total)
{
    p->what = what;
    p->unit = unit;
    p->total = total;
    p->done = 0;
    p->t0 = now_seconds();
    p->last_draw = 0;
    p->tty = stderr_is_tty();
    p->quiet = getenv("FP_QUIET") != NULL;
}

void progress_update(progress *p, int64_t done)
{
    p->done = done;
    if (!p->tty || p->quiet) return;
    double t = now_seconds();
    if (t - p->last_draw < 0.1 && done != p->total) return;
    p->last_draw = t;
    double el = t - p->t0, rate = el > 0 ? done / el : 0;
    if (p->total > 0) {
        int width = 30, fill = (int)(width * done / p->total);
        double eta = rate > 0 ? (p->total - done) / rate : 0;
        fprintf(stderr, "\r%s [%.*s%*s] %lld/%lld %.0f %s/s ETA %.0fs ", p->what, fill,
                "##############################", width - fill, "", (long long)done,
                (long long)p->total, rate, p->unit, eta);
    } else {
        fprintf(stderr, "\r%s %lld %s %.0f %s/s ", p->what, (long long)done, p->unit, rate, p->unit);
    }
}

void progress_clear(const progress *p)
{
    if (p->tty && !p->quiet) fprintf(stderr, "\r\033[K");
}

void progress_end(progress *p)
{
    if (p->quiet) return;
    double el = now_seconds() - p->t0;
    if (p->tty) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "%s: %lld %s in %.2f s (%.0f %s/s)\n", p->what, (long long)p->done, p->unit,
            el, el > 0 ? p->done / el : 0.0, p->unit);
}
