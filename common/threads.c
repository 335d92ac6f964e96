/* threads.c - parallel_for with dynamic item hand-out. */
#include "threads.h"
#include "err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

int fp_threads(void)
{
    const char *env = getenv("FP_THREADS");
    if (env && *env) {
        int n = atoi(env);
        if (n >= 1 && n <= 64) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > 64) n = 64;
    return (int)n;
}

typedef struct {
    int64_t n;
    atomic_llong next;
    void (*fn)(void *, int64_t, int);
    void *ctx;
} pf_job;

typedef struct { pf_job *job; int index; } pf_worker;

static void *pf_run(void *arg)
{
    pf_worker *w = arg;
    pf_job *job = w->job;
    for (;;) {
        int64_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->n) break;
        job->fn(job->ctx, i, w->index);
    }
    return NULL;
}

void parallel_for(int64_t n, int nthreads, void (*fn)(void *ctx, int64_t i, int thread), void *ctx)
{
    if (nthreads <= 0) nthreads = fp_threads();
    if (nthreads > n) nthreads = (int)(n > 0 ? n : 1);
    pf_job job = {.n = n, .fn = fn, .ctx = ctx};
    atomic_init(&job.next, 0);
    if (nthreads == 1) {
        pf_worker w = {&job, 0};
        pf_run(&w);
        return;
    }
    pthread_t tid[64];
    pf_worker ws[64];
    for (int t = 0; t < nthreads; t++) ws[t] = (pf_worker){&job, t};
    for (int t = 1; t < nthreads; t++)
        if (pthread_create(&tid[t], NULL, pf_run, &ws[t]) != 0) die("cannot start a thread");
    pf_run(&ws[0]);
    for (int t = 1; t < nthreads; t++) pthread_join(tid[t], NULL);
}
