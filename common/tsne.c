/* tsne.c - Barnes-Hut t-SNE.
 *
 * The maths (van der Maaten & Hinton 2008; van der Maaten 2014):
 *
 * Input similarities. For row i a Gaussian over its k = floor(3 perplexity) nearest
 * neighbours, p_j|i = exp(-beta_i |x_i - x_j|^2) / sum_l exp(-beta_i |x_i - x_l|^2), with
 * beta_i chosen so that the entropy H_i = -sum_j p_j|i log p_j|i equals log(perplexity).
 * Symmetrised: p_ij = (p_j|i + p_i|j) / sum, a sparse matrix with at most 2 k entries a row.
 *
 * Output similarities. A Student-t kernel w_ij = 1 / (1 + |y_i - y_j|^2) and q_ij = w_ij / Z
 * with Z = sum_{k != l} w_kl. The cost KL(P || Q) = sum p_ij log(p_ij / q_ij) has gradient
 *     dC/dy_i = 4 sum_j (p_ij - q_ij) w_ij (y_i - y_j)
 *             = 4 [ sum_j p_ij w_ij (y_i - y_j)  -  (1/Z) sum_j w_ij^2 (y_i - y_j) ]
 *                   attraction: sparse, exact        repulsion: all pairs, Barnes-Hut
 * Barnes-Hut: a 2^dims-tree over Y (cells split at their centre until they hold at most
 * BH_LEAF points); a cell of largest side r whose centre of mass c is at distance dist from
 * y_i, with r / dist < theta, stands for its `count` points:
 *     Z_i += count w,  F_i += count w^2 (y_i - c),  w = 1 / (1 + dist^2).
 * Otherwise its children are opened; a leaf that is not far enough is summed point by point.
 * (Same criterion as sklearn: r is the full side of the cell. bhtsne/Rtsne compare the half
 * side, so their theta 0.5 is our theta 1.0 and is less accurate. With theta above
 * 1/sqrt(dims) a cell holding y_i itself could pass; keep theta <= 0.57.)
 *
 * KL needs Z too: log(p_ij / q_ij) = log(p_ij (1 + |y_i - y_j|^2)) + log Z, so
 *     KL = sum_ij p_ij log(p_ij (1 + d_ij^2)) + log Z  (sum p_ij = 1).
 *
 * Optimiser (as sklearn's _gradient_descent): per-coordinate gains (delta-bar-delta: +0.2
 * while the gradient keeps the sign it had at the last step, i.e. update x grad < 0, x0.8
 * when it flips; floor min_gain),
 * momentum 0.5 with P multiplied by the early exaggeration for the first 250 iterations,
 * then 0.8 with the true P; update and gains restart at the phase change, as in sklearn.
 *
 * Threads and determinism: each point's attraction, repulsion and share of Z and KL are
 * written to per-point slots by parallel_for; the sums over points run afterwards on one
 * thread in index order. The tree is built on one thread. So the result does not depend on
 * the number of threads. */
#include "tsne.h"
#include "err.h"
#include "knn.h"
#include "pca.h"
#include "progress.h"
#include "rng.h"
#include "threads.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void tsne_default_params(tsne_params *p)
{
    *p = (tsne_params){
        .dims = 2,
        .perplexity = 30.0,
        .n_iter = 1000,
        .learning_rate = 0.0,
        .exaggeration = 12.0,
        .exaggeration_iter = 250,
        .momentum = 0.5,
        .final_momentum = 0.8,
        .min_gain = 0.01,
        .theta = 0.5,
        .init = TSNE_INIT_PCA,
        .seed = 1,
        .verbose = 0,
        .nthreads = 0,
    };
}

double tsne_max_perplexity(int64_t n) { return n < 1 ? 0.0 : (double)(n - 1) / 3.0; }

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---------------------------------------------------------------- input similarities */

double tsne_calibrate_row(const double *d2, int k, double perplexity, double *p)
{
    /* Shift by the smallest distance: exp(-beta (d - dmin)) cannot underflow to an all-zero
     * row and the normalised p is unchanged. With s_j = d2_j - dmin and W = sum exp(-beta s):
     *     H = -sum p_j log p_j = log W + beta sum p_j s_j.  */
    double dmin = d2[0];
    for (int j = 1; j < k; j++)
        if (d2[j] < dmin) dmin = d2[j];
    double mean = 0.0;
    for (int j = 0; j < k; j++) mean += d2[j] - dmin;
    mean /= k;
    double target = log(perplexity);
    double beta = mean > 0.0 ? 1.0 / mean : 1.0;
    double lo = 0.0, hi = INFINITY;
    for (int step = 0; step < 200; step++) {
        double w = 0.0, ws = 0.0;
        for (int j = 0; j < k; j++) {
            double s = d2[j] - dmin;
            p[j] = exp(-beta * s);
            w += p[j];
            ws += p[j] * s;
        }
        double h = log(w) + beta * ws / w;
        for (int j = 0; j < k; j++) p[j] /= w;
        double diff = h - target;
        if (fabs(diff) <= 1e-5) break;
        /* entropy falls as beta grows: too high an entropy means a too-wide Gaussian */
        if (diff > 0) {
            lo = beta;
            beta = isinf(hi) ? beta * 2.0 : 0.5 * (beta + hi);
        } else {
            hi = beta;
            beta = 0.5 * (beta + lo);
        }
    }
    return beta;
}

typedef struct {
    const double *d2;
    double *p;
    int k;
    double perplexity;
} calib_job;

static void calib_row(void *ctx, int64_t i, int thread)
{
    (void)thread;
    calib_job *job = ctx;
    tsne_calibrate_row(job->d2 + i * job->k, job->k, job->perplexity, job->p + i * job->k);
}

typedef struct { int64_t col; double val; } sp_entry;

static int cmp_entry(const void *a, const void *b)
{
    int64_t x = ((const sp_entry *)a)->col, y = ((const sp_entry *)b)->col;
    return (x > y) - (x < y);
}

tsne_sparse tsne_joint_probabilities(const double *X, int64_t n, int64_t d, double perplexity,
                                     int nthreads)
{
    int k = (int)floor(3.0 * perplexity);
    if (k > n - 1) k = (int)(n - 1);
    if (k < 1) die("t-SNE needs at least 2 rows and a perplexity of at least 1/3");
    int64_t *nn = xmalloc((size_t)(n * k) * sizeof *nn);
    double *d2 = xmalloc((size_t)(n * k) * sizeof *d2);
    knn_all(X, n, d, k, KNN_AUTO, nthreads, nn, d2);

    double *cond = xmalloc((size_t)(n * k) * sizeof *cond);
    calib_job cj = {d2, cond, k, perplexity};
    parallel_for(n, nthreads, calib_row, &cj);

    /* P + P^T: every conditional p_j|i lands at (i, j) and at (j, i). Bucket the entries by
     * row, sort each row by column and merge the (at most two) entries of a pair. */
    int64_t *cnt = xcalloc((size_t)n + 1, sizeof *cnt);
    for (int64_t i = 0; i < n; i++)
        for (int m = 0; m < k; m++) {
            cnt[i + 1]++;
            cnt[nn[i * k + m] + 1]++;
        }
    for (int64_t i = 0; i < n; i++) cnt[i + 1] += cnt[i];
    sp_entry *e = xmalloc((size_t)cnt[n] * sizeof *e);
    int64_t *fill = xmalloc((size_t)n * sizeof *fill);
    memcpy(fill, cnt, (size_t)n * sizeof *fill);
    for (int64_t i = 0; i < n; i++)
        for (int m = 0; m < k; m++) {
            int64_t j = nn[i * k + m];
            double v = cond[i * k + m];
            e[fill[i]++] = (sp_entry){j, v};
            e[fill[j]++] = (sp_entry){i, v};
        }
    tsne_sparse P = {n, xmalloc(((size_t)n + 1) * sizeof(int64_t)), NULL, NULL};
    P.col = xmalloc((size_t)cnt[n] * sizeof *P.col);
    P.val = xmalloc((size_t)cnt[n] * sizeof *P.val);
    int64_t nnz = 0;
    for (int64_t i = 0; i < n; i++) {
        P.row[i] = nnz;
        sp_entry *r = e + cnt[i];
        int64_t len = cnt[i + 1] - cnt[i];
        qsort(r, (size_t)len, sizeof *r, cmp_entry);
        for (int64_t a = 0; a < len; a++) {
            if (nnz > P.row[i] && P.col[nnz - 1] == r[a].col) {
                P.val[nnz - 1] += r[a].val; /* a + b: exact whatever the order */
            } else {
                P.col[nnz] = (int32_t)r[a].col;
                P.val[nnz] = r[a].val;
                nnz++;
            }
        }
    }
    P.row[n] = nnz;
    double sum = 0.0;
    for (int64_t a = 0; a < nnz; a++) sum += P.val[a];
    for (int64_t a = 0; a < nnz; a++) P.val[a] /= sum;
    free(nn);
    free(d2);
    free(cond);
    free(cnt);
    free(e);
    free(fill);
    return P;
}

void tsne_sparse_free(tsne_sparse *P)
{
    free(P->row);
    free(P->col);
    free(P->val);
    memset(P, 0, sizeof *P);
}

/* ---------------------------------------------------------------- Barnes-Hut tree */

#define BH_MAX_DEPTH 48   /* cells 2^-48 of the box: beyond this, points share a leaf */
/* Cells of up to 16 points are leaves: a near leaf is summed point by point (exact), a far
 * one summarised. Measured at N = 5000: 20% faster than one point a leaf, and the KL is no
 * worse (more of the near field is exact). */
#define BH_LEAF 16

typedef struct {
    double com[TSNE_MAX_DIMS];  /* centre of mass of the points below */
    double width2;              /* squared largest side of the cell */
    double count;               /* points below (a double: it multiplies forces) */
    int32_t child;              /* first child (children are contiguous), -1 for a leaf */
    int32_t k;                  /* internal: number of children; leaf: its points are
                                   perm[k .. k + count) (48 bytes a node) */
} bh_node;

typedef struct {
    int dims;
    const double *Y;
    bh_node *nodes;
    int64_t nnodes, cap;
    int64_t *perm;     /* points, grouped by cell */
    int64_t *tmp;
} bh_tree;

static int64_t bh_alloc(bh_tree *t, int64_t count)
{
    if (t->nnodes + count > t->cap) {
        while (t->nnodes + count > t->cap) t->cap *= 2;
        t->nodes = xrealloc(t->nodes, (size_t)t->cap * sizeof *t->nodes);
    }
    int64_t first = t->nnodes;
    t->nnodes += count;
    if (t->nnodes >= INT32_MAX) die("t-SNE: Barnes-Hut tree too large");
    return first;
}

/* Quadrant of y in a cell split at mid: bit b set when y_b >= mid_b. */
static inline int bh_code(const double *y, const double *mid, int dims)
{
    int code = 0;
    for (int b = 0; b < dims; b++) code |= (y[b] >= mid[b]) << b;
    return code;
}

/* Builds node `id` over perm[begin, end) inside the box [lo, hi). */
static void bh_build(bh_tree *t, int64_t id, int64_t begin, int64_t end, const double *lo,
                     const double *hi, int depth)
{
    int dims = t->dims;
    bh_node nd = {.count = (double)(end - begin), .child = -1, .k = (int32_t)begin};
    for (int b = 0; b < dims; b++) {
        double w = hi[b] - lo[b];
        if (w * w > nd.width2) nd.width2 = w * w;
    }
    if (nd.count <= BH_LEAF || depth >= BH_MAX_DEPTH || nd.width2 == 0.0) {
        if (nd.count == 1) nd.width2 = 0.0; /* a point: its summary is exact at any distance */
        /* leaf: centre of mass directly */
        for (int b = 0; b < dims; b++) {
            double s = 0.0;
            for (int64_t a = begin; a < end; a++) s += t->Y[t->perm[a] * dims + b];
            nd.com[b] = s / nd.count;
        }
        t->nodes[id] = nd;
        return;
    }
    /* split at the centre of the box */
    double mid[TSNE_MAX_DIMS];
    for (int b = 0; b < dims; b++) mid[b] = 0.5 * (lo[b] + hi[b]);
    int nq = 1 << dims;
    int64_t qcount[1 << TSNE_MAX_DIMS] = {0};
    for (int64_t a = begin; a < end; a++) {
        qcount[bh_code(t->Y + t->perm[a] * dims, mid, dims)]++;
        t->tmp[a] = t->perm[a];
    }
    /* stable counting sort of perm[begin, end) by quadrant */
    int64_t qstart[(1 << TSNE_MAX_DIMS) + 1], pos[1 << TSNE_MAX_DIMS];
    qstart[0] = begin;
    for (int q = 0; q < nq; q++) qstart[q + 1] = qstart[q] + qcount[q];
    memcpy(pos, qstart, sizeof(int64_t) * (size_t)nq);
    for (int64_t a = begin; a < end; a++) {
        int64_t p = t->tmp[a];
        t->perm[pos[bh_code(t->Y + p * dims, mid, dims)]++] = p;
    }
    int nchild = 0;
    for (int q = 0; q < nq; q++) nchild += qcount[q] > 0;
    int64_t first = bh_alloc(t, nchild);
    nd.child = (int32_t)first;
    nd.k = nchild;
    t->nodes[id] = nd;
    int c = 0;
    for (int q = 0; q < nq; q++) {
        if (!qcount[q]) continue;
        double clo[TSNE_MAX_DIMS], chi[TSNE_MAX_DIMS];
        for (int b = 0; b < dims; b++) {
            if (q >> b & 1) { clo[b] = mid[b]; chi[b] = hi[b]; }
            else { clo[b] = lo[b]; chi[b] = mid[b]; }
        }
        bh_build(t, first + c, qstart[q], qstart[q + 1], clo, chi, depth + 1);
        c++;
    }
    /* centre of mass from the children (t->nodes may have moved: index again) */
    double com[TSNE_MAX_DIMS] = {0};
    for (int cc = 0; cc < nchild; cc++) {
        const bh_node *ch = &t->nodes[first + cc];
        for (int b = 0; b < dims; b++) com[b] += ch->count * ch->com[b];
    }
    for (int b = 0; b < dims; b++) t->nodes[id].com[b] = com[b] / nd.count;
}

static void bh_tree_build(bh_tree *t, const double *Y, int64_t n, int dims)
{
    t->dims = dims;
    t->Y = Y;
    t->nnodes = 0;
    double lo[TSNE_MAX_DIMS], hi[TSNE_MAX_DIMS];
    for (int b = 0; b < dims; b++) lo[b] = hi[b] = Y[b];
    for (int64_t i = 0; i < n; i++) {
        t->perm[i] = i;
        for (int b = 0; b < dims; b++) {
            double v = Y[i * dims + b];
            if (v < lo[b]) lo[b] = v;
            if (v > hi[b]) hi[b] = v;
        }
    }
    /* widen the top edge a little so the largest point falls strictly inside */
    for (int b = 0; b < dims; b++) hi[b] += 1e-9 * (hi[b] - lo[b]) + 1e-300;
    bh_alloc(t, 1);
    bh_build(t, 0, 0, n, lo, hi, 0);
}

/* Repulsion on point i: adds sum_j w_ij to *z and sum_j w_ij^2 (y_i - y_j) to f. Iterative
 * (explicit stack) and inlined per dimension, so for dims = 2 the compiler sees fixed-size
 * loops; this is where t-SNE spends most of its time. Children are visited in order. */
#define BH_STACK (BH_MAX_DEPTH * (1 << TSNE_MAX_DIMS) + 8)

static inline __attribute__((always_inline)) void
bh_repulse_d(const bh_tree *t, int64_t i, const double *yi, double theta2, double *f,
             double *z, const int dims)
{
    int32_t stack[BH_STACK];
    int sp = 0;
    stack[sp++] = 0;
    double fz = 0.0, ff[TSNE_MAX_DIMS] = {0};
    while (sp > 0) {
        const bh_node *nd = &t->nodes[stack[--sp]];
        double diff[TSNE_MAX_DIMS], d2 = 0.0;
        for (int b = 0; b < dims; b++) {
            diff[b] = yi[b] - nd->com[b];
            d2 += diff[b] * diff[b];
        }
        if (nd->width2 < theta2 * d2) {
            /* a far cell (or a single point, width 0): one interaction weighted by the
             * count. The point itself never passes: its own cell has d2 <= dims width2. */
            double w = 1.0 / (1.0 + d2);
            double cw = nd->count * w;
            fz += cw;
            for (int b = 0; b < dims; b++) ff[b] += cw * w * diff[b];
            continue;
        }
        if (nd->child >= 0) {
            for (int c = nd->k - 1; c >= 0; c--) stack[sp++] = nd->child + c;
            continue;
        }
        /* a near leaf: its points one by one, skipping i */
        for (int64_t a = nd->k; a < nd->k + (int64_t)nd->count; a++) {
            int64_t j = t->perm[a];
            if (j == i) continue;
            const double *yj = t->Y + j * dims;
            double e[TSNE_MAX_DIMS], e2 = 0.0;
            for (int b = 0; b < dims; b++) {
                e[b] = yi[b] - yj[b];
                e2 += e[b] * e[b];
            }
            double w = 1.0 / (1.0 + e2);
            fz += w;
            for (int b = 0; b < dims; b++) ff[b] += w * w * e[b];
        }
    }
    *z += fz;
    for (int b = 0; b < dims; b++) f[b] += ff[b];
}

/* ---------------------------------------------------------------- gradient */

typedef struct {
    const tsne_sparse *P;
    const double *Y;
    int64_t n;
    int dims;
    const bh_tree *tree;
    double theta2;
    double *attr, *rep, *z, *kl; /* per point; kl may be NULL */
} grad_job;

#define TSNE_CHUNK 16

/* Attraction on point i over its sparse row of P, and its share of the KL sum. */
static inline __attribute__((always_inline)) void attract_d(grad_job *g, int64_t i, const int dims)
{
    const double *yi = g->Y + i * dims;
    /* attraction over the sparse row of P */
    double fa[TSNE_MAX_DIMS] = {0}, kl = 0.0;
    for (int64_t a = g->P->row[i]; a < g->P->row[i + 1]; a++) {
        const double *yj = g->Y + g->P->col[a] * dims;
        double diff[TSNE_MAX_DIMS], d2 = 0.0;
        for (int b = 0; b < dims; b++) {
            diff[b] = yi[b] - yj[b];
            d2 += diff[b] * diff[b];
        }
        double p = g->P->val[a];
        double pw = p / (1.0 + d2);
        for (int b = 0; b < dims; b++) fa[b] += pw * diff[b];
        if (g->kl && p > 0) kl += p * log(p * (1.0 + d2));   /* 0 log 0 = 0 */
    }
    for (int b = 0; b < dims; b++) g->attr[i * dims + b] = fa[b];
    if (g->kl) g->kl[i] = kl;
}

/* Repulsion on point i through the tree, and its share of Z. */
static inline __attribute__((always_inline)) void repulse_d(grad_job *g, int64_t i, const int dims)
{
    double fr[TSNE_MAX_DIMS] = {0}, z = 0.0;
    bh_repulse_d(g->tree, i, g->Y + i * dims, g->theta2, fr, &z, dims);
    for (int b = 0; b < dims; b++) g->rep[i * dims + b] = fr[b];
    g->z[i] = z;
}

/* Attraction runs over the points in index order (P's rows are then read sequentially),
 * repulsion in tree order (perm): the points of a chunk are then close together and walk
 * nearly the same cells, which stay in cache. Each point writes only its own slots. */
static void grad_chunk(void *ctx, int64_t c, int thread)
{
    (void)thread;
    grad_job *g = ctx;
    int64_t lo = c * TSNE_CHUNK, hi = lo + TSNE_CHUNK < g->n ? lo + TSNE_CHUNK : g->n;
    const int64_t *perm = g->tree->perm;
    switch (g->dims) {
    case 1:
        for (int64_t a = lo; a < hi; a++) attract_d(g, a, 1);
        for (int64_t a = lo; a < hi; a++) repulse_d(g, perm[a], 1);
        break;
    case 2:
        for (int64_t a = lo; a < hi; a++) attract_d(g, a, 2);
        for (int64_t a = lo; a < hi; a++) repulse_d(g, perm[a], 2);
        break;
    default:
        for (int64_t a = lo; a < hi; a++) attract_d(g, a, 3);
        for (int64_t a = lo; a < hi; a++) repulse_d(g, perm[a], 3);
        break;
    }
}

/* Workspace reused across iterations. */
typedef struct {
    bh_tree tree;
    double *attr, *rep, *z, *kl;
} grad_ws;

static void grad_ws_init(grad_ws *w, int64_t n, int dims)
{
    memset(w, 0, sizeof *w);
    w->tree.cap = 2 * n + 16;
    w->tree.nodes = xmalloc((size_t)w->tree.cap * sizeof *w->tree.nodes);
    w->tree.perm = xmalloc((size_t)n * sizeof *w->tree.perm);
    w->tree.tmp = xmalloc((size_t)n * sizeof *w->tree.tmp);
    w->attr = xmalloc((size_t)(n * dims) * sizeof *w->attr);
    w->rep = xmalloc((size_t)(n * dims) * sizeof *w->rep);
    w->z = xmalloc((size_t)n * sizeof *w->z);
    w->kl = xmalloc((size_t)n * sizeof *w->kl);
}

static void grad_ws_free(grad_ws *w)
{
    free(w->tree.nodes);
    free(w->tree.perm);
    free(w->tree.tmp);
    free(w->attr);
    free(w->rep);
    free(w->z);
    free(w->kl);
}

static void gradient_ws(grad_ws *w, const tsne_sparse *P, const double *Y, int64_t n, int dims,
                        double theta, double exaggeration, int nthreads, double *grad, double *kl)
{
    bh_tree_build(&w->tree, Y, n, dims);
    grad_job g = {P, Y, n, dims, &w->tree, theta * theta, w->attr, w->rep, w->z, kl ? w->kl : NULL};
    parallel_for((n + TSNE_CHUNK - 1) / TSNE_CHUNK, nthreads, grad_chunk, &g);
    double Z = 0.0;
    for (int64_t i = 0; i < n; i++) Z += w->z[i];
    for (int64_t a = 0; a < n * dims; a++)
        grad[a] = 4.0 * (exaggeration * w->attr[a] - w->rep[a] / Z);
    if (kl) {
        double s = 0.0, psum = 0.0;
        for (int64_t i = 0; i < n; i++) s += w->kl[i];
        for (int64_t a = 0; a < P->row[n]; a++) psum += P->val[a];
        *kl = s + psum * log(Z);
    }
}

void tsne_gradient(const tsne_sparse *P, const double *Y, int64_t n, int dims, double theta,
                   double exaggeration, int nthreads, double *grad, double *kl)
{
    if (dims < 1 || dims > TSNE_MAX_DIMS) die("t-SNE: dims must be 1..%d", TSNE_MAX_DIMS);
    grad_ws w;
    grad_ws_init(&w, n, dims);
    gradient_ws(&w, P, Y, n, dims, theta, exaggeration, nthreads, grad, kl);
    grad_ws_free(&w);
}

/* ---------------------------------------------------------------- driver */

static void init_embedding(const double *X, int64_t n, int64_t d, const tsne_params *p, double *Y)
{
    int dims = p->dims;
    if (p->init == TSNE_INIT_RANDOM) {
        /* sklearn: 1e-4 * standard normal */
        rng r;
        rng_seed(&r, p->seed);
        for (int64_t a = 0; a < n * dims; a++) Y[a] = 1e-4 * rng_normal(&r);
        return;
    }
    if (d < dims)
        die("--init pca needs at least %d input columns (got %lld); use --init random", dims,
            (long long)d);
    /* sklearn: PCA projection rescaled so the first coordinate has standard deviation 1e-4 */
    pca_params pp;
    pca_default_params(&pp);
    pp.k = dims;
    pp.seed = p->seed;
    pp.blas_threads = 1; /* the same bits whatever the thread settings (cheap for k = dims) */
    pca_model m = pca_fit(X, n, d, &pp);
    pca_transform(&m, X, n, Y);
    pca_free(&m);
    double mean = 0.0, var = 0.0;
    for (int64_t i = 0; i < n; i++) mean += Y[i * dims];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) var += (Y[i * dims] - mean) * (Y[i * dims] - mean);
    double sd = sqrt(var / (double)n);
    double s = sd > 0.0 ? 1e-4 / sd : 1.0;
    for (int64_t a = 0; a < n * dims; a++) Y[a] *= s;
}

double tsne_run(const double *X, int64_t n, int64_t d, const tsne_params *p, double *Y)
{
    if (n == 0) die("empty input: t-SNE needs rows");
    if (n >= INT32_MAX) die("t-SNE of %lld rows: at most %d supported", (long long)n, INT32_MAX - 1);
    if (p->dims < 1 || p->dims > TSNE_MAX_DIMS) die("--dims must be 1..%d", TSNE_MAX_DIMS);
    if (!(p->perplexity > 0)) die("perplexity must be positive");
    if ((double)n <= 3.0 * p->perplexity)
        die("perplexity %g needs more than %g rows (3 x perplexity neighbours each), got %lld; "
            "the maximum perplexity for %lld rows is %.4g",
            p->perplexity, floor(3.0 * p->perplexity), (long long)n, (long long)n,
            floor(tsne_max_perplexity(n) * 1e4) / 1e4);
    if ((int64_t)floor(3.0 * p->perplexity) < 1) die("perplexity must be at least 1/3");
    int dims = p->dims;
    int nthreads = p->nthreads > 0 ? p->nthreads : fp_threads();
    double lr = p->learning_rate > 0 ? p->learning_rate
                                     : fmax((double)n / p->exaggeration / 4.0, 50.0);
    int k = (int)floor(3.0 * p->perplexity);
    if (p->verbose)
        fprintf(stderr, "%s: %lld rows x %lld columns -> %d dims: perplexity %g (%d neighbours, %s), "
                "learning rate %.4g, theta %g, %d threads\n", err_prog(), (long long)n,
                (long long)d, dims, p->perplexity, k,
                knn_auto_method(n, d) == KNN_BRUTE ? "brute force" : "vp-tree", lr, p->theta,
                nthreads);

    double t0 = now_s();
    tsne_sparse P = tsne_joint_probabilities(X, n, d, p->perplexity, nthreads);
    if (p->verbose)
        fprintf(stderr, "%s: input similarities: %lld non-zeros in %.2f s\n", err_prog(),
                (long long)P.row[n], now_s() - t0);
    init_embedding(X, n, d, p, Y);

    double t1 = now_s();
    progress bar;
    progress_start(&bar, err_prog(), "iterations", p->n_iter);
    int64_t nc = n * dims;
    double *grad = xmalloc((size_t)nc * sizeof *grad);
    double *update = xcalloc((size_t)nc, sizeof *update);
    double *gains = xmalloc((size_t)nc * sizeof *gains);
    for (int64_t a = 0; a < nc; a++) gains[a] = 1.0;
    grad_ws ws;
    grad_ws_init(&ws, n, dims);
    for (int it = 0; it < p->n_iter; it++) {
        int early = it < p->exaggeration_iter;
        if (it == p->exaggeration_iter) {
            /* sklearn starts a fresh optimiser for the second phase */
            for (int64_t a = 0; a < nc; a++) {
                update[a] = 0.0;
                gains[a] = 1.0;
            }
        }
        double exag = early ? p->exaggeration : 1.0;
        double mom = early ? p->momentum : p->final_momentum;
        int report = p->verbose && (it + 1) % 50 == 0;
        if (p->verbose) progress_update(&bar, it + 1);
        double kl = 0.0;
        gradient_ws(&ws, &P, Y, n, dims, p->theta, exag, nthreads, grad, report ? &kl : NULL);
        for (int64_t a = 0; a < nc; a++) {
            /* delta-bar-delta: grow the gain while the gradient keeps pointing against the last
             * step (we are going downhill the same way), shrink it when the sign flips */
            if (update[a] * grad[a] < 0.0) gains[a] += 0.2;
            else gains[a] *= 0.8;
            if (gains[a] < p->min_gain) gains[a] = p->min_gain;
            update[a] = mom * update[a] - lr * gains[a] * grad[a];
            Y[a] += update[a];
        }
        if (report) {
            double gn = 0.0;
            for (int64_t a = 0; a < nc; a++) gn += grad[a] * grad[a];
            progress_clear(&bar);                 /* the line goes above the bar */
            fprintf(stderr, "%s: iteration %d: KL %.4f, gradient norm %.3g%s (%.1f s)\n",
                    err_prog(), it + 1, kl, sqrt(gn), early ? ", exaggerated" : "", now_s() - t1);
        }
    }
    /* final KL at the final positions */
    double kl = 0.0;
    gradient_ws(&ws, &P, Y, n, dims, p->theta, 1.0, nthreads, grad, &kl);
    if (p->verbose) progress_end(&bar);         /* "tsne: N iterations in T s (R iterations/s)" */
    grad_ws_free(&ws);
    free(grad);
    free(update);
    free(gains);
    tsne_sparse_free(&P);
    return kl;
}
