/* threads.h - the project's only threading primitive: a parallel for over [0, n).
 * Items are handed out dynamically (an atomic counter), so uneven items balance. The calling
 * thread works too. Results must not depend on which thread ran an item: write per-item slots. */
#ifndef FP_THREADS_H
#define FP_THREADS_H

#include <stdint.h>

/* Number of worker threads to use: $FP_THREADS if set, else the online CPU count (max 64). */
int fp_threads(void);

/* Calls fn(ctx, i, thread_index) for every i in [0, n), on up to nthreads threads
 * (nthreads <= 0 means fp_threads()). Returns when all items are done. */
void parallel_for(int64_t n, int nthreads, void (*fn)(void *ctx, int64_t i, int thread), void *ctx);

#endif
