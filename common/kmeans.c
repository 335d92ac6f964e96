/* kmeans.c - k-means: greedy k-means++, Lloyd with Hamerly's bounds, restarts, canonical labels.
 *
 * Lloyd's algorithm alternates an assignment step (each row to its nearest centre) and an
 * update step (each centre to the mean of its rows); the inertia sum_i |x_i - c_{a(i)}|^2
 * never increases. Hamerly (2010) skips most distance computations of the assignment step
 * with two bounds per row, kept valid as the centres move:
 *     u_i >= |x_i - c_{a(i)}|                 (upper bound, distance to its own centre)
 *     l_i <= min_{j != a(i)} |x_i - c_j|       (lower bound, distance to any other centre)
 * If u_i <= max(l_i, s_{a(i)}), with s_j = half the distance from c_j to its nearest other
 * centre, no centre can be closer than c_{a(i)} (triangle inequality) and the row keeps its
 * label. Otherwise u_i is made exact and, if the test still fails, all k distances are
 * computed. When centre j moves by delta_j: u_i += delta_{a(i)}, l_i -= max_{j != a(i)}
 * delta_j. The labels are those of plain Lloyd (up to exact ties), only faster.
 *
 * Determinism: rows are processed in fixed chunks (sizes depend on n only); per-chunk partial
 * sums of the update step and of the inertia are added in chunk order. Restarts run in
 * parallel (one per thread) when there are at least as many restarts as threads, else each
 * restart parallelises its chunks; either way the numbers are the same. */
#include "kmeans.h"
#include "err.h"
#include "mat.h"
#include "threads.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kmeans_default_params(kmeans_params *p)
{
    *p = (kmeans_params){.k = 8, .n_init = 10, .max_iter = 300, .tol = 1e-4, .seed = 1,
                         .nthreads = 0};
}

/* Squared distance with four running sums (j mod 4), combined as (s0 + s1) + (s2 + s3): four
 * independent addition chains run four times faster than one, and the order is fixed, so the
 * result does not depend on anything but the two rows. */
#define SQ_STEP(j) do { double t_ = a[j] - b[j]; s[(j) & 3] += t_ * t_; } while (0)

static inline __attribute__((always_inline)) double sqdist(const double *a, const double *b, int64_t d)
{
    double s[4] = {0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        SQ_STEP(j); SQ_STEP(j + 1); SQ_STEP(j + 2); SQ_STEP(j + 3);
    }
    for (; j < d; j++) SQ_STEP(j);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* min(|a - b|^2, cap), giving up as soon as the partial sum reaches cap (checked every 8
 * terms): the common case once a few centres exist. A sum that runs to the end adds the
 * same terms into the same four sums as sqdist, so the result is the same bits as
 * min(sqdist, cap). */
static inline __attribute__((always_inline)) double
sqdist_capped(const double *a, const double *b, int64_t d, double cap)
{
    if (d < 16) { /* at most one check possible: not worth it */
        double r = sqdist(a, b, d);
        return r < cap ? r : cap;
    }
    double s[4] = {0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        SQ_STEP(j); SQ_STEP(j + 1); SQ_STEP(j + 2); SQ_STEP(j + 3);
        SQ_STEP(j + 4); SQ_STEP(j + 5); SQ_STEP(j + 6); SQ_STEP(j + 7);
        if ((s[0] + s[1]) + (s[2] + s[3]) >= cap) return cap;
    }
    for (; j + 4 <= d; j += 4) {
        SQ_STEP(j); SQ_STEP(j + 1); SQ_STEP(j + 2); SQ_STEP(j + 3);
    }
    for (; j < d; j++) SQ_STEP(j);
    double r = (s[0] + s[1]) + (s[2] + s[3]);
    return r < cap ? r : cap;
}

int kmeans_nearest(const double *centers, int k, int64_t d, const double *x, double *d2)
{
    int best = 0;
    double bd = sqdist(x, centers, d);
    for (int j = 1; j < k; j++) {
        double t = sqdist(x, centers + (int64_t)j * d, d);
        if (t < bd) {
            bd = t;
            best = j;
        }
    }
    if (d2) *d2 = bd;
    return best;
}

/* ---------------------------------------------------------------- k-means++ */

void kmeans_plusplus(const double *X, int64_t n, int64_t d, int k, rng *r, int64_t *chosen,
                     double *centers)
{
    int trials = 2 + (int)log((double)k); /* <= 16 for any int k */
    double *closest = xmalloc((size_t)n * sizeof *closest);
    double *cum = xmalloc((size_t)n * sizeof *cum);
    double *cand = xmalloc((size_t)(trials * n) * sizeof *cand);
    int64_t *cid = xmalloc((size_t)trials * sizeof *cid);

    int64_t first = (int64_t)rng_below(r, (uint64_t)n);
    chosen[0] = first;
    memcpy(centers, X + first * d, (size_t)d * sizeof *centers);
    double pot = 0.0;
    for (int64_t i = 0; i < n; i++) {
        closest[i] = sqdist(X + i * d, X + first * d, d);
        pot += closest[i];
    }
    for (int c = 1; c < k; c++) {
        /* draw candidates with probability closest[i] / pot: the first i whose cumulative sum
         * reaches u * pot (numpy searchsorted, side='left') */
        double s = 0.0;
        for (int64_t i = 0; i < n; i++) cum[i] = (s += closest[i]);
        for (int t = 0; t < trials; t++) {
            double v = rng_uniform(r) * pot;
            int64_t lo = 0, hi = n - 1;
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (cum[mid] < v) lo = mid + 1;
                else hi = mid;
            }
            cid[t] = lo;
        }
        /* keep the candidate that lowers the potential most; one pass over the rows for all
         * candidates (each potential is still summed in row order) */
        double tp[32] = {0};
        for (int64_t i = 0; i < n; i++) {
            const double *x = X + i * d;
            for (int t = 0; t < trials; t++) {
                double v = sqdist_capped(x, X + cid[t] * d, d, closest[i]);
                cand[(int64_t)t * n + i] = v;
                tp[t] += v;
            }
        }
        int best = 0;
        double best_pot = INFINITY;
        for (int t = 0; t < trials; t++)
            if (tp[t] < best_pot) {
                best_pot = tp[t];
                best = t;
            }
        memcpy(closest, cand + (int64_t)best * n, (size_t)n * sizeof *closest);
        pot = best_pot;
        chosen[c] = cid[best];
        memcpy(centers + (int64_t)c * d, X + cid[best] * d, (size_t)d * sizeof *centers);
    }
    free(closest);
    free(cum);
    free(cand);
    free(cid);
}

/* ---------------------------------------------------------------- one restart */

typedef struct {
    const double *X;   /* centred rows */
    int64_t n, d;
    int k;
    int max_iter;
    double tol;        /* absolute: on the sum of squared centre shifts */
    int64_t chunk, nchunks;
} km_problem;

typedef struct {
    const km_problem *pb;
    int nthreads;
    double *centers, *next;     /* k x d */
    int32_t *labels;
    double *upper, *lower;      /* Hamerly bounds (Euclidean, not squared) */
    double *half;               /* s_j: half distance to the nearest other centre */
    double *shift;              /* centre displacement of the last update */
    double *psum;               /* nchunks x k x d */
    int64_t *pcount;            /* nchunks x k */
    int64_t *pchanged;          /* nchunks */
    double *pinertia;           /* nchunks */
    double max_shift[2];        /* largest and second largest shift */
    int argmax_shift;
} km_state;

static void km_state_init(km_state *s, const km_problem *pb, int nthreads)
{
    int64_t n = pb->n, d = pb->d, k = pb->k;
    memset(s, 0, sizeof *s);
    s->pb = pb;
    s->nthreads = nthreads;
    s->centers = xmalloc((size_t)(k * d) * sizeof(double));
    s->next = xmalloc((size_t)(k * d) * sizeof(double));
    s->labels = xmalloc((size_t)n * sizeof(int32_t));
    s->upper = xmalloc((size_t)n * sizeof(double));
    s->lower = xmalloc((size_t)n * sizeof(double));
    s->half = xmalloc((size_t)k * sizeof(double));
    s->shift = xmalloc((size_t)k * sizeof(double));
    s->psum = xmalloc((size_t)(pb->nchunks * k * d) * sizeof(double));
    s->pcount = xmalloc((size_t)(pb->nchunks * k) * sizeof(int64_t));
    s->pchanged = xmalloc((size_t)pb->nchunks * sizeof(int64_t));
    s->pinertia = xmalloc((size_t)pb->nchunks * sizeof(double));
}

static void km_state_free(km_state *s)
{
    free(s->centers);
    free(s->next);
    free(s->labels);
    free(s->upper);
    free(s->lower);
    free(s->half);
    free(s->shift);
    free(s->psum);
    free(s->pcount);
    free(s->pchanged);
    free(s->pinertia);
}

/* Assignment step on one chunk, plus the partial sums of the update step. */
static void assign_chunk(void *ctx, int64_t c, int thread)
{
    (void)thread;
    km_state *s = ctx;
    const km_problem *pb = s->pb;
    int64_t d = pb->d, k = pb->k;
    int64_t lo = c * pb->chunk, hi = lo + pb->chunk < pb->n ? lo + pb->chunk : pb->n;
    double *sum = s->psum + c * k * d;
    int64_t *count = s->pcount + c * k;
    memset(sum, 0, (size_t)(k * d) * sizeof *sum);
    memset(count, 0, (size_t)k * sizeof *count);
    int64_t changed = 0;
    for (int64_t i = lo; i < hi; i++) {
        const double *x = pb->X + i * d;
        int32_t a = s->labels[i];
        int scan = a < 0;
        if (!scan) {
            double m = s->half[a] > s->lower[i] ? s->half[a] : s->lower[i];
            if (s->upper[i] > m) {
                s->upper[i] = sqrt(sqdist(x, s->centers + a * d, d));
                scan = s->upper[i] > m;
            }
        }
        if (scan) {
            /* all k distances: nearest (ties: lowest index) and second nearest */
            double b1 = INFINITY, b2 = INFINITY;
            int32_t j1 = 0;
            for (int32_t j = 0; j < k; j++) {
                /* a centre at or beyond the second best matters to neither bound */
                double t = sqdist_capped(x, s->centers + j * d, d, b2);
                if (t < b1) {
                    b2 = b1;
                    b1 = t;
                    j1 = j;
                } else if (t < b2) {
                    b2 = t;
                }
            }
            if (j1 != a) changed++;
            s->labels[i] = j1;
            s->upper[i] = sqrt(b1);
            s->lower[i] = sqrt(b2);
        }
        a = s->labels[i];
        count[a]++;
        for (int64_t j = 0; j < d; j++) sum[a * d + j] += x[j];
    }
    s->pchanged[c] = changed;
}

/* Moves the bounds by the centre shifts. */
static void bounds_chunk(void *ctx, int64_t c, int thread)
{
    (void)thread;
    km_state *s = ctx;
    const km_problem *pb = s->pb;
    int64_t lo = c * pb->chunk, hi = lo + pb->chunk < pb->n ? lo + pb->chunk : pb->n;
    for (int64_t i = lo; i < hi; i++) {
        int32_t a = s->labels[i];
        s->upper[i] += s->shift[a];
        s->lower[i] -= a == s->argmax_shift ? s->max_shift[1] : s->max_shift[0];
    }
}

static void inertia_chunk(void *ctx, int64_t c, int thread)
{
    (void)thread;
    km_state *s = ctx;
    const km_problem *pb = s->pb;
    int64_t lo = c * pb->chunk, hi = lo + pb->chunk < pb->n ? lo + pb->chunk : pb->n;
    double sum = 0.0;
    for (int64_t i = lo; i < hi; i++)
        sum += sqdist(pb->X + i * pb->d, s->centers + s->labels[i] * pb->d, pb->d);
    s->pinertia[c] = sum;
}

static void update_half_distances(km_state *s)
{
    const km_problem *pb = s->pb;
    int64_t d = pb->d, k = pb->k;
    for (int64_t j = 0; j < k; j++) s->half[j] = INFINITY;
    for (int64_t j = 0; j < k; j++)
        for (int64_t l = j + 1; l < k; l++) {
            double t = 0.5 * sqrt(sqdist(s->centers + j * d, s->centers + l * d, d));
            if (t < s->half[j]) s->half[j] = t;
            if (t < s->half[l]) s->half[l] = t;
        }
}

/* Empty clusters take the rows farthest from their centres (sklearn's
 * _relocate_empty_clusters): `sum`/`count` are the per-cluster totals of the update step. */
static void relocate_empty(km_state *s, double *sum, int64_t *count)
{
    const km_problem *pb = s->pb;
    int64_t n = pb->n, d = pb->d, k = pb->k;
    int nempty = 0;
    for (int64_t j = 0; j < k; j++) nempty += count[j] == 0;
    if (!nempty) return;
    int64_t *far = xmalloc((size_t)nempty * sizeof *far);
    double *fd = xmalloc((size_t)nempty * sizeof *fd);
    int nf = 0;
    /* the nempty largest distances, descending (ties: lower row first) - insertion into a
     * short sorted list */
    for (int64_t i = 0; i < n; i++) {
        double t = sqdist(pb->X + i * d, s->centers + s->labels[i] * d, d);
        if (nf == nempty && !(t > fd[nf - 1])) continue;
        int pos = nf < nempty ? nf++ : nempty - 1;
        while (pos > 0 && t > fd[pos - 1]) {
            far[pos] = far[pos - 1];
            fd[pos] = fd[pos - 1];
            pos--;
        }
        far[pos] = i;
        fd[pos] = t;
    }
    int e = 0;
    for (int64_t j = 0; j < k && e < nf; j++) {
        if (count[j] != 0) continue;
        int64_t i = far[e++];
        int32_t old = s->labels[i];
        for (int64_t c = 0; c < d; c++) {
            sum[old * d + c] -= pb->X[i * d + c];
            sum[j * d + c] = pb->X[i * d + c];
        }
        count[old]--;
        count[j] = 1;
    }
    free(far);
    free(fd);
}

/* Lloyd from the given initial centres. Returns the inertia; s->labels/centers hold the
 * result, *n_iter the iterations done. */
static double km_lloyd(km_state *s, int *n_iter)
{
    const km_problem *pb = s->pb;
    int64_t n = pb->n, d = pb->d, k = pb->k, nch = pb->nchunks;
    for (int64_t i = 0; i < n; i++) {
        s->labels[i] = -1;
        s->upper[i] = INFINITY;
        s->lower[i] = 0.0;
    }
    int strict = 0, it;
    for (it = 0; it < pb->max_iter; it++) {
        update_half_distances(s);
        parallel_for(nch, s->nthreads, assign_chunk, s);
        int64_t changed = 0;
        for (int64_t c = 0; c < nch; c++) changed += s->pchanged[c];
        /* reduce the chunk sums in chunk order into next (sums) and pcount[0..k) */
        double *sum = s->next;
        int64_t *count = s->pcount; /* chunk 0's counts become the totals */
        memcpy(sum, s->psum, (size_t)(k * d) * sizeof *sum);
        for (int64_t c = 1; c < nch; c++) {
            for (int64_t a = 0; a < k * d; a++) sum[a] += s->psum[c * k * d + a];
            for (int64_t j = 0; j < k; j++) count[j] += s->pcount[c * k + j];
        }
        relocate_empty(s, sum, count);
        double shift_tot = 0.0;
        s->max_shift[0] = s->max_shift[1] = 0.0;
        s->argmax_shift = -1;
        for (int64_t j = 0; j < k; j++) {
            double *cn = sum + j * d;
            if (count[j] > 0)
                for (int64_t c = 0; c < d; c++) cn[c] /= (double)count[j];
            else /* emptied by a relocation: stays where it was */
                memcpy(cn, s->centers + j * d, (size_t)d * sizeof *cn);
            double sh2 = sqdist(cn, s->centers + j * d, d);
            shift_tot += sh2;
            s->shift[j] = sqrt(sh2);
            if (s->shift[j] > s->max_shift[0]) {
                s->max_shift[1] = s->max_shift[0];
                s->max_shift[0] = s->shift[j];
                s->argmax_shift = (int)j;
            } else if (s->shift[j] > s->max_shift[1]) {
                s->max_shift[1] = s->shift[j];
            }
        }
        double *t = s->centers;
        s->centers = s->next;
        s->next = t;
        parallel_for(nch, s->nthreads, bounds_chunk, s);
        if (changed == 0) {
            strict = 1;
            it++;
            break;
        }
        if (shift_tot <= pb->tol) {
            it++;
            break;
        }
    }
    if (!strict) {
        /* the centres moved after the last assignment: assign once more (sklearn does too) */
        update_half_distances(s);
        parallel_for(nch, s->nthreads, assign_chunk, s);
    }
    parallel_for(nch, s->nthreads, inertia_chunk, s);
    double inertia = 0.0;
    for (int64_t c = 0; c < nch; c++) inertia += s->pinertia[c];
    *n_iter = it;
    return inertia;
}

/* ---------------------------------------------------------------- restarts */

typedef struct {
    km_problem pb;       /* one per k */
    uint64_t seed;
    int inner_threads;
} km_setup;

typedef struct {
    double inertia;
    int n_iter;
    double *centers;     /* k x d (centred coordinates); NULL when not kept */
    int32_t *labels;     /* n; NULL when not kept */
} km_outcome;

static void km_restart(const km_setup *st, int run, int keep, km_outcome *out)
{
    const km_problem *pb = &st->pb;
    km_state s;
    km_state_init(&s, pb, st->inner_threads);
    rng r;
    rng_seed_stream(&r, st->seed, (uint64_t)run);
    int64_t *chosen = xmalloc((size_t)pb->k * sizeof *chosen);
    kmeans_plusplus(pb->X, pb->n, pb->d, pb->k, &r, chosen, s.centers);
    free(chosen);
    out->inertia = km_lloyd(&s, &out->n_iter);
    out->centers = NULL;
    out->labels = NULL;
    if (keep) {
        out->centers = s.centers;
        out->labels = s.labels;
        s.centers = NULL;
        s.labels = NULL;
    }
    km_state_free(&s);
}

/* Work list of (k, restart) pairs for parallel_for. */
typedef struct {
    const km_setup *setups;  /* per k */
    int nk;
    int n_init;
    int keep;
    km_outcome *out;         /* [(nk - 1 - kidx) * n_init + run] */
} km_batch;

static void km_batch_item(void *ctx, int64_t item, int thread)
{
    (void)thread;
    km_batch *b = ctx;
    /* the largest k first: long items early balance the threads better */
    int kidx = b->nk - 1 - (int)(item / b->n_init), run = (int)(item % b->n_init);
    km_restart(&b->setups[kidx], run, b->keep, &b->out[item]);
}

/* Centred copy of X, the absolute tolerance, and the chunking. */
static double *km_prepare(const double *X, int64_t n, int64_t d, double tol, double **mean_out,
                          double *tol_abs, int64_t *chunk, int64_t *nchunks)
{
    double *mean = xcalloc((size_t)d, sizeof *mean);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += X[i * d + j];
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
    double *Xc = xmalloc((size_t)(n * d) * sizeof *Xc);
    double var = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double v = X[i * d + j] - mean[j];
            Xc[i * d + j] = v;
            var += v * v;
        }
    /* sklearn: tol * mean over columns of the (ddof 0) column variances */
    *tol_abs = tol * var / (double)n / (double)d;
    *chunk = (n + 63) / 64 > 512 ? (n + 63) / 64 : 512;
    *nchunks = (n + *chunk - 1) / *chunk;
    *mean_out = mean;
    return Xc;
}

/* Threads inside one restart only pay off when a pass over the data is long. */
static int inner_threads_for(int64_t n, int64_t d, int k, int nthreads)
{
    return (double)n * (double)d * (double)k >= 2e6 ? nthreads : 1;
}

kmeans_result kmeans_fit(const double *X, int64_t n, int64_t d, const kmeans_params *p)
{
    if (n < 1) die("k-means needs rows (empty input)");
    if (p->k < 1 || p->k > n) die("k = %d needs at least %d rows (got %lld)", p->k, p->k, (long long)n);
    if (p->n_init < 1) die("--n-init must be at least 1");
    int nthreads = p->nthreads > 0 ? p->nthreads : fp_threads();
    double *mean, tol_abs;
    int64_t chunk, nchunks;
    double *Xc = km_prepare(X, n, d, p->tol, &mean, &tol_abs, &chunk, &nchunks);
    km_setup st = {{Xc, n, d, p->k, p->max_iter, tol_abs, chunk, nchunks}, p->seed, 1};
    km_outcome *out = xcalloc((size_t)p->n_init, sizeof *out);
    km_batch b = {&st, 1, p->n_init, 1, out};
    if (p->n_init >= nthreads) {
        parallel_for(p->n_init, nthreads, km_batch_item, &b);
    } else {
        st.inner_threads = inner_threads_for(n, d, p->k, nthreads);
        for (int r = 0; r < p->n_init; r++) km_batch_item(&b, r, 0);
    }
    int best = 0;
    for (int r = 1; r < p->n_init; r++)
        if (out[r].inertia < out[best].inertia) best = r;

    /* canonical labels: clusters numbered in order of first appearance in the rows; clusters
     * that ended empty (possible only after the last assignment) come last */
    kmeans_result res = {.k = p->k, .d = d, .inertia = out[best].inertia,
                         .n_iter = out[best].n_iter, .best_run = best};
    int32_t *map = xmalloc((size_t)p->k * sizeof *map);
    for (int j = 0; j < p->k; j++) map[j] = -1;
    int32_t next = 0;
    for (int64_t i = 0; i < n; i++)
        if (map[out[best].labels[i]] < 0) map[out[best].labels[i]] = next++;
    for (int j = 0; j < p->k; j++)
        if (map[j] < 0) map[j] = next++;
    res.labels = out[best].labels;
    for (int64_t i = 0; i < n; i++) res.labels[i] = map[res.labels[i]];
    res.centers = xmalloc((size_t)(p->k * d) * sizeof *res.centers);
    for (int j = 0; j < p->k; j++)
        for (int64_t c = 0; c < d; c++)
            res.centers[(int64_t)map[j] * d + c] = out[best].centers[(int64_t)j * d + c] + mean[c];
    for (int r = 0; r < p->n_init; r++) {
        free(out[r].centers);
        if (r != best) free(out[r].labels);
    }
    free(out);
    free(map);
    free(Xc);
    free(mean);
    return res;
}

void kmeans_result_free(kmeans_result *r)
{
    free(r->centers);
    free(r->labels);
    memset(r, 0, sizeof *r);
}

void kmeans_elbow(const double *X, int64_t n, int64_t d, int kmin, int kmax,
                  const kmeans_params *p, double *inertia)
{
    if (n < 1) die("k-means needs rows (empty input)");
    if (kmin < 1 || kmax < kmin) die("bad k range %d..%d", kmin, kmax);
    if (kmax > n) die("k = %d needs at least %d rows (got %lld)", kmax, kmax, (long long)n);
    int nthreads = p->nthreads > 0 ? p->nthreads : fp_threads();
    double *mean, tol_abs;
    int64_t chunk, nchunks;
    double *Xc = km_prepare(X, n, d, p->tol, &mean, &tol_abs, &chunk, &nchunks);
    int nk = kmax - kmin + 1;
    km_setup *st = xmalloc((size_t)nk * sizeof *st);
    for (int a = 0; a < nk; a++)
        st[a] = (km_setup){{Xc, n, d, kmin + a, p->max_iter, tol_abs, chunk, nchunks}, p->seed, 1};
    int64_t items = (int64_t)nk * p->n_init;
    km_outcome *out = xcalloc((size_t)items, sizeof *out);
    km_batch b = {st, nk, p->n_init, 0, out};
    if (items >= nthreads) {
        parallel_for(items, nthreads, km_batch_item, &b);
    } else {
        for (int a = 0; a < nk; a++) st[a].inner_threads = inner_threads_for(n, d, kmin + a, nthreads);
        for (int64_t it = 0; it < items; it++) km_batch_item(&b, it, 0);
    }
    for (int a = 0; a < nk; a++) {
        const km_outcome *o = out + (int64_t)(nk - 1 - a) * p->n_init;
        double best = o[0].inertia;
        for (int r = 1; r < p->n_init; r++)
            if (o[r].inertia < best) best = o[r].inertia;
        inertia[a] = best;
    }
    free(out);
    free(st);
    free(Xc);
    free(mean);
}

/* ---------------------------------------------------------------- centroid files */

void kmeans_save(const char *path, const double *centers, int k, int64_t d)
{
    mat_header h = mat_header_vec(MAT_F64, k, d, 16);
    mat_writer *w = mat_create(path, &h);
    for (int j = 0; j < k; j++) {
        char id[32];
        snprintf(id, sizeof id, "c%d", j);
        mat_write_row_f64(w, id, centers + (int64_t)j * d);
    }
    mat_finish(w);
}

double *kmeans_load(const char *path, int *k, int64_t *d)
{
    mat_reader *r = mat_open(path);
    const mat_header *h = mat_hdr(r);
    if (h->rows < 1) die("%s: no centroids", path);
    if (h->rows > 1000000) die("%s: %lld centroids is not a centroid file", path, (long long)h->rows);
    *k = (int)h->rows;
    *d = mat_cols(h);
    double *c = xmalloc((size_t)(*k * *d) * sizeof *c);
    for (int j = 0; j < *k; j++)
        if (!mat_read_row_f64(r, NULL, c + (int64_t)j * *d)) die("%s: truncated", path);
    if (mat_read_row(r, NULL, NULL)) die("%s: more rows than its header says", path);
    mat_close(r);
    for (int64_t a = 0; a < *k * *d; a++)
        if (!isfinite(c[a])) die("%s: centroid %lld has a non-finite value", path, (long long)(a / *d));
    return c;
}
