/* knn.c - exact k nearest neighbours by brute force or by a vantage-point tree.
 *
 * Vantage-point tree (Yianilos 1993). Each node holds one point v (the vantage point) and the
 * median distance mu from v to the other points of its subtree: points closer than mu go
 * left ("inside" the ball), the rest go right. Searching for the k nearest of q with the
 * current k-th best distance tau, the triangle inequality gives for any x in the subtree
 *     d(q, x) >= d(q, v) - d(v, x) >= d(q, v) - mu      (x inside, d(v, x) <= mu)
 *     d(q, x) >= d(v, x) - d(q, v) >= mu - d(q, v)      (x outside, d(v, x) >= mu)
 * so the inside child can only help when d(q, v) - tau <= mu and the outside one when
 * d(q, v) + tau >= mu. Equality is kept (not pruned) so that a point at exactly distance tau
 * with a lower index is still found: the result is the k smallest (d2, index) pairs, the same
 * as brute force. A relative slack of 1e-9 on tau covers rounding in the square roots.
 *
 * Candidates are kept in a max-heap of size k keyed by (squared distance, index). */
#include "knn.h"
#include "err.h"
#include "rng.h"
#include "threads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Squared Euclidean distance with four running sums (j mod 4) combined as
 * (s0 + s1) + (s2 + s3): independent addition chains are four times faster than one. Both
 * searches compute distances only through this (or the same steps in brute force's partial
 * version), so they see bit-identical values ((a-b)^2 == (b-a)^2 exactly in IEEE). */
#define SQ_STEP(j) do { double t_ = a[j] - b[j]; s[(j) & 3] += t_ * t_; } while (0)

static inline double sqdist(const double *a, const double *b, int64_t d)
{
    double s[4] = {0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        SQ_STEP(j); SQ_STEP(j + 1); SQ_STEP(j + 2); SQ_STEP(j + 3);
    }
    for (; j < d; j++) SQ_STEP(j);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* sqdist, or INFINITY as soon as the partial sum exceeds cap (checked every 8 terms). A sum
 * that runs to the end is the same bits as sqdist. */
static inline double sqdist_capped(const double *a, const double *b, int64_t d, double cap)
{
    double s[4] = {0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        SQ_STEP(j); SQ_STEP(j + 1); SQ_STEP(j + 2); SQ_STEP(j + 3);
        SQ_STEP(j + 4); SQ_STEP(j + 5); SQ_STEP(j + 6); SQ_STEP(j + 7);
        if ((s[0] + s[1]) + (s[2] + s[3]) > cap) return INFINITY;
    }
    for (; j + 4 <= d; j += 4) {
        SQ_STEP(j); SQ_STEP(j + 1); SQ_STEP(j + 2); SQ_STEP(j + 3);
    }
    for (; j < d; j++) SQ_STEP(j);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* ---- bounded max-heap of (d2, index) ---- */

typedef struct {
    int k, size;
    double *d2;
    int64_t *idx;
} knn_heap;

/* (d2a, ia) > (d2b, ib) in lexicographic order */
static inline int pair_gt(double d2a, int64_t ia, double d2b, int64_t ib)
{
    return d2a > d2b || (d2a == d2b && ia > ib);
}

static void heap_push(knn_heap *h, double d2, int64_t idx)
{
    if (h->size == h->k) {
        if (!pair_gt(h->d2[0], h->idx[0], d2, idx)) return; /* not better than the worst */
        /* replace the root and sift down */
        int i = 0;
        for (;;) {
            int l = 2 * i + 1, r = l + 1, m = i;
            double md2 = d2;
            int64_t midx = idx;
            if (l < h->size && pair_gt(h->d2[l], h->idx[l], md2, midx)) { m = l; md2 = h->d2[l]; midx = h->idx[l]; }
            if (r < h->size && pair_gt(h->d2[r], h->idx[r], md2, midx)) { m = r; }
            if (m == i) break;
            h->d2[i] = h->d2[m];
            h->idx[i] = h->idx[m];
            i = m;
        }
        h->d2[i] = d2;
        h->idx[i] = idx;
        return;
    }
    /* append and sift up */
    int i = h->size++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!pair_gt(d2, idx, h->d2[p], h->idx[p])) break;
        h->d2[i] = h->d2[p];
        h->idx[i] = h->idx[p];
        i = p;
    }
    h->d2[i] = d2;
    h->idx[i] = idx;
}

/* Pops the heap into ascending order in place (heap sort). */
static void heap_sort(knn_heap *h)
{
    int n = h->size;
    while (h->size > 1) {
        double d2 = h->d2[h->size - 1];
        int64_t idx = h->idx[h->size - 1];
        h->d2[h->size - 1] = h->d2[0];
        h->idx[h->size - 1] = h->idx[0];
        h->size--;
        /* sift the old last element down from the root */
        int i = 0;
        for (;;) {
            int l = 2 * i + 1, r = l + 1, m = i;
            double md2 = d2;
            int64_t midx = idx;
            if (l < h->size && pair_gt(h->d2[l], h->idx[l], md2, midx)) { m = l; md2 = h->d2[l]; midx = h->idx[l]; }
            if (r < h->size && pair_gt(h->d2[r], h->idx[r], md2, midx)) { m = r; }
            if (m == i) break;
            h->d2[i] = h->d2[m];
            h->idx[i] = h->idx[m];
            i = m;
        }
        h->d2[i] = d2;
        h->idx[i] = idx;
    }
    h->size = n;
}

/* ---- brute force ---- */

typedef struct {
    const double *X;
    int64_t n, d;
    int k;
    int64_t *idx;
    double *d2;
} knn_job;

#define KNN_CHUNK 32

static void brute_chunk(void *ctx, int64_t c, int thread)
{
    (void)thread;
    knn_job *job = ctx;
    int64_t lo = c * KNN_CHUNK, hi = lo + KNN_CHUNK < job->n ? lo + KNN_CHUNK : job->n;
    for (int64_t i = lo; i < hi; i++) {
        knn_heap h = {job->k, 0, job->d2 + i * job->k, job->idx + i * job->k};
        const double *xi = job->X + i * job->d;
        for (int64_t j = 0; j < job->n; j++) {
            if (j == i) continue;
            /* partial distance search: once the heap is full, stop summing as soon as the
             * partial sum exceeds the k-th best (the full sum could only be larger) */
            double top = h.size == h.k ? h.d2[0] : INFINITY;
            double s = sqdist_capped(xi, job->X + j * job->d, job->d, top);
            if (s <= top) heap_push(&h, s, j);
        }
        heap_sort(&h);
    }
}

/* ---- vantage-point tree ---- */

typedef struct {
    int64_t point;      /* the vantage point (row index) */
    double mu;          /* median distance from it to the rest of the subtree */
    int64_t inside;     /* child node indices, -1 if none */
    int64_t outside;
} vp_node;

typedef struct {
    const double *X;
    int64_t d;
    vp_node *nodes;
    int64_t nnodes;
    int64_t *items;     /* permutation of rows, reordered during the build */
    double *dist;       /* scratch: distance of items[i] to the current vantage point */
    rng r;
} vp_tree;

static void swap_items(vp_tree *t, int64_t a, int64_t b)
{
    int64_t ti = t->items[a]; t->items[a] = t->items[b]; t->items[b] = ti;
    double td = t->dist[a]; t->dist[a] = t->dist[b]; t->dist[b] = td;
}

/* Quickselect on dist[lo, hi): afterwards dist[m] is the one that would be there if sorted,
 * with smaller-or-equal values before it and greater-or-equal after. */
static void select_nth(vp_tree *t, int64_t lo, int64_t hi, int64_t m)
{
    while (hi - lo > 1) {
        /* median of three as pivot, moved to hi-1 */
        int64_t mid = lo + (hi - lo) / 2;
        if (t->dist[mid] < t->dist[lo]) swap_items(t, mid, lo);
        if (t->dist[hi - 1] < t->dist[lo]) swap_items(t, hi - 1, lo);
        if (t->dist[mid] < t->dist[hi - 1]) swap_items(t, mid, hi - 1);
        double pivot = t->dist[hi - 1];
        /* Lomuto partition: [lo, s) < pivot, then the pivot */
        int64_t s = lo;
        for (int64_t i = lo; i < hi - 1; i++)
            if (t->dist[i] < pivot) swap_items(t, i, s++);
        swap_items(t, s, hi - 1);
        if (m == s) return;
        if (m < s) {
            hi = s;
        } else {
            /* skip a run of values equal to the pivot, so many ties cannot make this O(n^2) */
            int64_t e = s + 1;
            for (int64_t i = s + 1; i < hi; i++)
                if (t->dist[i] == pivot) swap_items(t, i, e++);
            if (m < e) return;
            lo = e;
        }
    }
}

/* Builds the subtree over items[lo, hi) and returns its node index (-1 if empty). */
static int64_t vp_build(vp_tree *t, int64_t lo, int64_t hi)
{
    if (lo >= hi) return -1;
    int64_t id = t->nnodes++;
    /* a random vantage point keeps the tree balanced on ordered inputs */
    swap_items(t, lo, lo + (int64_t)rng_below(&t->r, (uint64_t)(hi - lo)));
    int64_t v = t->items[lo];
    t->nodes[id] = (vp_node){v, 0.0, -1, -1};
    if (hi - lo == 1) return id;
    const double *xv = t->X + v * t->d;
    for (int64_t i = lo + 1; i < hi; i++) t->dist[i] = sqrt(sqdist(xv, t->X + t->items[i] * t->d, t->d));
    int64_t m = (lo + 1 + hi) / 2;
    select_nth(t, lo + 1, hi, m);
    t->nodes[id].mu = t->dist[m];
    int64_t in = vp_build(t, lo + 1, m);
    int64_t out = vp_build(t, m, hi);
    t->nodes[id].inside = in;
    t->nodes[id].outside = out;
    return id;
}

typedef struct {
    const vp_tree *t;
    const double *q;
    int64_t self;
    knn_heap h;
} vp_query;

static inline double vp_tau(const vp_query *s)
{
    if (s->h.size < s->h.k) return INFINITY;
    return sqrt(s->h.d2[0]) * (1.0 + 1e-9) + 1e-300;
}

static void vp_search(vp_query *s, int64_t node)
{
    if (node < 0) return;
    const vp_node *nd = &s->t->nodes[node];
    double d2 = sqdist(s->q, s->t->X + nd->point * s->t->d, s->t->d);
    if (nd->point != s->self) heap_push(&s->h, d2, nd->point);
    if (nd->inside < 0 && nd->outside < 0) return;
    double dist = sqrt(d2);
    if (dist < nd->mu) {
        if (dist - vp_tau(s) <= nd->mu) vp_search(s, nd->inside);
        if (dist + vp_tau(s) >= nd->mu) vp_search(s, nd->outside);
    } else {
        if (dist + vp_tau(s) >= nd->mu) vp_search(s, nd->outside);
        if (dist - vp_tau(s) <= nd->mu) vp_search(s, nd->inside);
    }
}

typedef struct {
    knn_job job;
    const vp_tree *tree;
} vp_job;

static void vp_chunk(void *ctx, int64_t c, int thread)
{
    (void)thread;
    vp_job *vj = ctx;
    knn_job *job = &vj->job;
    int64_t lo = c * KNN_CHUNK, hi = lo + KNN_CHUNK < job->n ? lo + KNN_CHUNK : job->n;
    for (int64_t i = lo; i < hi; i++) {
        vp_query s = {vj->tree, job->X + i * job->d, i, {job->k, 0, job->d2 + i * job->k, job->idx + i * job->k}};
        vp_search(&s, 0);
        heap_sort(&s.h);
    }
}

knn_method knn_auto_method(int64_t n, int64_t d)
{
    /* Measured (one thread, 10 overlapping Gaussian clusters, k = 90; docs/tsne.md): the tree
     * wins only in few dimensions (N = 5000: 0.10 s vs 0.31 s at D = 2, 0.28 vs 0.38 at
     * D = 8) and loses beyond, where the triangle inequality prunes little (0.93 vs 0.54 s at
     * D = 30, 14.3 vs 4.9 s at N = 20000, D = 30): brute force with partial distances. */
    return d <= 8 && n > 1000 ? KNN_VPTREE : KNN_BRUTE;
}

void knn_all(const double *X, int64_t n, int64_t d, int k, knn_method method, int nthreads,
             int64_t *idx, double *d2)
{
    if (k < 1 || k > n - 1) die("knn: need 1 <= k <= n-1 (k=%d, n=%lld)", k, (long long)n);
    if (method == KNN_AUTO) method = knn_auto_method(n, d);
    knn_job job = {X, n, d, k, idx, d2};
    int64_t nchunks = (n + KNN_CHUNK - 1) / KNN_CHUNK;
    if (method == KNN_BRUTE) {
        parallel_for(nchunks, nthreads, brute_chunk, &job);
        return;
    }
    vp_tree t = {.X = X, .d = d};
    t.nodes = xmalloc((size_t)n * sizeof *t.nodes);
    t.items = xmalloc((size_t)n * sizeof *t.items);
    t.dist = xmalloc((size_t)n * sizeof *t.dist);
    for (int64_t i = 0; i < n; i++) t.items[i] = i;
    rng_seed(&t.r, 42); /* the tree shape only affects speed, never the answer */
    vp_build(&t, 0, n);
    vp_job vj = {job, &t};
    parallel_for(nchunks, nthreads, vp_chunk, &vj);
    free(t.nodes);
    free(t.items);
    free(t.dist);
}
