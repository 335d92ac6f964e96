/* dn_fast.c - faster replacements for Darknet's hot CPU functions, by symbol interposition.
 *
 * Debian's libdarknet calls its own functions through the PLT (direct calls) and the GOT
 * (the layer->forward/backward/update pointers that make_*_layer stores). An executable
 * linked with -rdynamic exports its own definitions of the same names, and the dynamic
 * linker binds those references to the executable first. So defining `gemm_cpu` here makes
 * every Darknet convolution use ours, while Darknet keeps its cfg parser, weights format,
 * layer bookkeeping and training loop. Each function below keeps Darknet's exact signature
 * and meaning; with dn_fast_set(0) each one forwards to Darknet's own definition (found with
 * dlsym(RTLD_NEXT, name)), which is the "plain Darknet" baseline of bench/cnn.sh and the
 * reference of tests/unit/test_dn.c.
 *
 * What is replaced, and why (perf of Darknet's own code: im2col/col2im ~58 % of the time,
 * then the GEMM; one thread):
 *   gemm_cpu          plain triple loop -> OpenBLAS cblas_sgemm (single-threaded BLAS; we
 *                     cut large products into 8 fixed column blocks over our own threads)
 *   im2col_cpu,       pixel-at-a-time with bounds checks per element -> row copies, zero
 *   col2im_cpu        padding written once per row segment (bit-identical results)
 *   forward_/backward_convolutional_layer
 *                     Darknet runs im2col + a small GEMM per image, one thread. Ours runs
 *                     work items on all threads: chunks of images packed side by side so one
 *                     GEMM covers the chunk (small layers), or one image in L2-sized tiles
 *                     of output rows (large layers); bias, activation, and the activation
 *                     and bias gradients are fused into the items (see "convolution").
 *   forward_/backward_maxpool_layer   one item per (image, channel) plane; branch-free 2x2/2
 *   forward_/backward_dropout_layer   xoshiro256** per image instead of a locked rand() per
 *                                     element
 *   activate_array, gradient_array    vectorised RELU / LEAKY / LINEAR, Darknet's bits
 *   forward_network, backward_network Darknet's loops; no delta zeroing when inferring;
 *                                     FP_DN_PROFILE=1 prints CPU seconds per layer
 *   update_convolutional_layer, update_connected_layer
 *                     Adam (common/adam.c) when the cfg says adam=1: Darknet's CPU build
 *                     ignores that key and always does SGD with momentum. (With dn_fast_set(0)
 *                     Darknet's SGD runs, as in the library as shipped.)
 *   rand_normal       Darknet's keeps a Box-Muller spare in a static variable, so weights
 *                     drawn after srand(seed) depend on what was drawn before in the process;
 *                     ours draws two rand() per call and keeps no state.
 * Nothing here depends on the thread count: items write per-item slots that are summed in
 * item order, so the same seed gives the same bits with 1 or 64 threads.
 * Shapes and layouts are Darknet's: images planar C x H x W per batch item, conv weights
 * [n][c][kh][kw], column matrix rows indexed (c, kh, kw) and columns (y, x). */
#define _GNU_SOURCE
#include "adam.h"
#include "dn_net.h"
#include "err.h"
#include "rng.h"
#include "threads.h"

#include <cblas.h>
#include <darknet.h>
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int num_threads);

/* The element loops below (activations, bias sums, col2im adds, pooling) are memory-light
 * arithmetic that GCC vectorizes only at -O3, and only for SSE2 unless told the target.
 * HOT builds such a function at -O3 for AVX-512, AVX2 and baseline x86-64, and the dynamic
 * loader picks the best one for the CPU at start-up (GCC function multiversioning). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((optimize("O3"), target_clones("avx512f", "avx2", "default")))
#else
#define HOT
#endif

/* Darknet functions not declared in darknet.h; these are the prototypes of its sources. */
void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
              int ldb, float BETA, float *C, int ldc);
void im2col_cpu(float *data_im, int channels, int height, int width, int ksize, int stride,
                int pad, float *data_col);
void col2im_cpu(float *data_col, int channels, int height, int width, int ksize, int stride,
                int pad, float *data_im);
void forward_convolutional_layer(layer l, network net);
void backward_convolutional_layer(layer l, network net);
void update_convolutional_layer(layer l, update_args a);
void update_connected_layer(layer l, update_args a);
void forward_maxpool_layer(layer l, network net);
void backward_maxpool_layer(layer l, network net);
void forward_dropout_layer(layer l, network net);
void backward_dropout_layer(layer l, network net);
void forward_batchnorm_layer(layer l, network net);
void backward_batchnorm_layer(layer l, network net);
void activate_array(float *x, const int n, const ACTIVATION a);
void gradient_array(const float *x, const int n, const ACTIVATION a, float *delta);
void calc_network_cost(network *net);

/* ------------------------------------------------------------------ switches and state */

static int fast_on = 1;
static int n_threads;                   /* 0 = fp_threads() */
static uint64_t drop_seed = 1, drop_calls;

void dn_fast_set(int on) { fast_on = on; }
int dn_fast_get(void) { return fast_on; }
void dn_fast_threads(int n) { n_threads = n; }
static int threads(void) { return n_threads > 0 ? n_threads : fp_threads(); }
void dn_fast_seed(uint64_t seed) { drop_seed = seed; drop_calls = 0; }

void *dn_plain(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p) die("libdarknet has no function %s", name);
    return p;
}

/* Darknet's own definitions, resolved once by dn_fast_init() (before any thread runs). */
static struct {
    __typeof__(&gemm_cpu) gemm_cpu;
    __typeof__(&im2col_cpu) im2col_cpu;
    __typeof__(&col2im_cpu) col2im_cpu;
    __typeof__(&forward_convolutional_layer) fwd_conv;
    __typeof__(&backward_convolutional_layer) bwd_conv;
    __typeof__(&update_convolutional_layer) upd_conv;
    __typeof__(&update_connected_layer) upd_conn;
    __typeof__(&forward_maxpool_layer) fwd_maxpool;
    __typeof__(&backward_maxpool_layer) bwd_maxpool;
    __typeof__(&forward_dropout_layer) fwd_dropout;
    __typeof__(&backward_dropout_layer) bwd_dropout;
    __typeof__(&activate_array) activate_array;
    __typeof__(&gradient_array) gradient_array;
    __typeof__(&forward_network) fwd_net;
    __typeof__(&backward_network) bwd_net;
} plain;

void dn_fast_init(void)
{
    if (plain.gemm_cpu) return;
    plain.gemm_cpu = dn_plain("gemm_cpu");
    plain.im2col_cpu = dn_plain("im2col_cpu");
    plain.col2im_cpu = dn_plain("col2im_cpu");
    plain.fwd_conv = dn_plain("forward_convolutional_layer");
    plain.bwd_conv = dn_plain("backward_convolutional_layer");
    plain.upd_conv = dn_plain("update_convolutional_layer");
    plain.upd_conn = dn_plain("update_connected_layer");
    plain.fwd_maxpool = dn_plain("forward_maxpool_layer");
    plain.bwd_maxpool = dn_plain("backward_maxpool_layer");
    plain.fwd_dropout = dn_plain("forward_dropout_layer");
    plain.bwd_dropout = dn_plain("backward_dropout_layer");
    plain.activate_array = dn_plain("activate_array");
    plain.gradient_array = dn_plain("gradient_array");
    plain.fwd_net = dn_plain("forward_network");
    plain.bwd_net = dn_plain("backward_network");
    /* We thread over images and column blocks ourselves; OpenBLAS threads on top of ours
     * would only contend for the same cores. */
    openblas_set_num_threads(1);
}

/* FP_DN_PROFILE=1: CPU seconds (all threads) per (layer index, phase), printed to stderr at
 * exit. CPU time rather than wall time: it stays meaningful when other jobs share the CPUs. */
#define PROF_LAYERS 64
static int prof_on = -1;
static double prof_t[PROF_LAYERS][2];
static int prof_type[PROF_LAYERS];

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void prof_report(void)
{
    double tot = 0;
    for (int i = 0; i < PROF_LAYERS; i++) tot += prof_t[i][0] + prof_t[i][1];
    fprintf(stderr, "dn_fast profile (CPU s): layer type forward backward\n");
    for (int i = 0; i < PROF_LAYERS; i++)
        if (prof_t[i][0] + prof_t[i][1] > 0)
            fprintf(stderr, "  %2d %2d %8.3f %8.3f\n", i, prof_type[i], prof_t[i][0], prof_t[i][1]);
    fprintf(stderr, "  total %.3f\n", tot);
}

static double prof_start(void)
{
    if (prof_on < 0) {
        const char *e = getenv("FP_DN_PROFILE");
        prof_on = e && *e && *e != '0';
        if (prof_on) atexit(prof_report);
    }
    return prof_on ? cpu_now() : 0;
}

static void prof_stop(double t0, int i, const layer *l, int phase)
{
    if (!prof_on || i < 0 || i >= PROF_LAYERS) return;
    prof_t[i][phase] += cpu_now() - t0;
    prof_type[i] = (int)l->type;
}

/* Per-thread scratch, grown on the calling (main) thread before a parallel region. */
#define MAX_THREADS 64
static float *scratch[MAX_THREADS];
static size_t scratch_cap[MAX_THREADS];

static void scratch_reserve(int nt, size_t floats)
{
    for (int t = 0; t < nt && t < MAX_THREADS; t++) {
        if (scratch_cap[t] >= floats) continue;
        free(scratch[t]);
        scratch[t] = xmalloc(floats * sizeof(float));
        scratch_cap[t] = floats;
    }
}

/* ------------------------------------------------------------------ GEMM */

/* Plain row-major sgemm: C = ALPHA op(A) op(B) + BETA C. */
static void sgemm(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, TA ? CblasTrans : CblasNoTrans, TB ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

typedef struct {
    int TA, TB, M, N, K, lda, ldb, ldc, pieces;
    float alpha, beta;
    float *A, *B, *C;
} gemm_ctx;

/* Column block p of C: columns [n0, n1) need columns n0.. of op(B). */
static void gemm_piece(void *vctx, int64_t p, int thread)
{
    (void)thread;
    gemm_ctx *g = vctx;
    int n0 = (int)((int64_t)g->N * p / g->pieces), n1 = (int)((int64_t)g->N * (p + 1) / g->pieces);
    if (n1 <= n0) return;
    const float *B = g->TB ? g->B + (size_t)n0 * g->ldb : g->B + n0;
    sgemm(g->TA, g->TB, g->M, n1 - n0, g->K, g->alpha, g->A, g->lda, B, g->ldb, g->beta,
          g->C + n0, g->ldc);
}

/* Darknet's gemm_cpu scales C by BETA, then adds ALPHA op(A) op(B): that is sgemm. Large
 * products (the connected layers) are cut into a FIXED number of column blocks, whatever
 * the thread count, so the bits of C never depend on FP_THREADS. */
void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
              int ldb, float BETA, float *C, int ldc)
{
    if (!fast_on) { plain.gemm_cpu(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc); return; }
    if ((double)M * N * K < 4e6 || N < 256) {
        sgemm(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
        return;
    }
    /* Always the same 8 blocks, also on one thread: block shapes can change OpenBLAS's
     * rounding, so they must not depend on the thread count. */
    gemm_ctx g = {TA, TB, M, N, K, lda, ldb, ldc, 8, ALPHA, BETA, A, B, C};
    parallel_for(g.pieces, threads(), gemm_piece, &g);
}

/* ------------------------------------------------------------------ im2col / col2im */

static int out_size(int in, int ks, int stride, int pad) { return (in + 2 * pad - ks) / stride + 1; }

/* Output columns x whose input column x*stride + kw - pad falls inside [0, W): [*x0, *x1). */
static void valid_range(int W, int ow, int kw, int stride, int pad, int *x0, int *x1)
{
    int lo = pad - kw > 0 ? (pad - kw + stride - 1) / stride : 0;
    int num = W + pad - kw;                  /* x*stride < num */
    int hi = num > 0 ? (num + stride - 1) / stride : 0;
    if (hi > ow) hi = ow;
    if (lo > hi) lo = hi;
    *x0 = lo;
    *x1 = hi;
}

/* Output rows [y0, y1) of one image's column matrix: row r = (c*ks + kh)*ks + kw, column
 * (y - y0)*ow + x holds im[c][y*stride + kh - pad][x*stride + kw - pad] (0 outside the
 * image). Rows are `ld` floats apart, so a tile, or several images side by side, can form
 * one matrix. */
HOT static void im2col_rows(const float *im, int C, int H, int W, int ks, int stride, int pad,
                            int y0, int y1, float *col, int ld)
{
    int ow = out_size(W, ks, stride, pad);
    for (int c = 0; c < C; c++)
        for (int kh = 0; kh < ks; kh++)
            for (int kw = 0; kw < ks; kw++) {
                float *dst = col + (size_t)((c * ks + kh) * ks + kw) * ld;
                int x0, x1;
                valid_range(W, ow, kw, stride, pad, &x0, &x1);
                for (int y = y0; y < y1; y++) {
                    float *d = dst + (size_t)(y - y0) * ow;
                    int iy = y * stride + kh - pad;
                    if (iy < 0 || iy >= H) { memset(d, 0, sizeof(float) * ow); continue; }
                    const float *s = im + ((size_t)c * H + iy) * W + kw - pad;
                    for (int x = 0; x < x0; x++) d[x] = 0;
                    if (stride == 1) for (int x = x0; x < x1; x++) d[x] = s[x];   /* short rows: */
                    else for (int x = x0; x < x1; x++) d[x] = s[x * stride];        /* no memcpy call */
                    for (int x = x1; x < ow; x++) d[x] = 0;
                }
            }
}

/* The adjoint of im2col_rows: adds every column entry back onto its image pixel. For each
 * pixel the contributions arrive in row order (c, kh, kw), as in Darknet's col2im_cpu, so a
 * whole image gives bit-identical sums to Darknet's. */
HOT static void col2im_rows(const float *col, int ld, int C, int H, int W, int ks, int stride,
                            int pad, int y0, int y1, float *im)
{
    int ow = out_size(W, ks, stride, pad);
    for (int c = 0; c < C; c++)
        for (int kh = 0; kh < ks; kh++)
            for (int kw = 0; kw < ks; kw++) {
                const float *src = col + (size_t)((c * ks + kh) * ks + kw) * ld;
                int x0, x1;
                valid_range(W, ow, kw, stride, pad, &x0, &x1);
                for (int y = y0; y < y1; y++) {
                    int iy = y * stride + kh - pad;
                    if (iy < 0 || iy >= H) continue;
                    const float *s = src + (size_t)(y - y0) * ow;
                    float *d = im + ((size_t)c * H + iy) * W + kw - pad;
                    if (stride == 1) for (int x = x0; x < x1; x++) d[x] += s[x];
                    else for (int x = x0; x < x1; x++) d[x * stride] += s[x];
                }
            }
}

void im2col_cpu(float *data_im, int channels, int height, int width, int ksize, int stride,
                int pad, float *data_col)
{
    if (!fast_on) { plain.im2col_cpu(data_im, channels, height, width, ksize, stride, pad, data_col); return; }
    int oh = out_size(height, ksize, stride, pad), n = oh * out_size(width, ksize, stride, pad);
    im2col_rows(data_im, channels, height, width, ksize, stride, pad, 0, oh, data_col, n);
}

void col2im_cpu(float *data_col, int channels, int height, int width, int ksize, int stride,
                int pad, float *data_im)
{
    if (!fast_on) { plain.col2im_cpu(data_col, channels, height, width, ksize, stride, pad, data_im); return; }
    int oh = out_size(height, ksize, stride, pad), n = oh * out_size(width, ksize, stride, pad);
    col2im_rows(data_col, n, channels, height, width, ksize, stride, pad, 0, oh, data_im);
}

/* ------------------------------------------------------------------ element loops */

/* Same results as Darknet's activations.h, bit for bit (relu gives +0 for x <= 0, as the
 * compiled x*(x>0) in libdarknet does; leaky multiplies by .1 in double); only the
 * per-element switch is gone. */
HOT static void activate(float *x, size_t n, ACTIVATION a)
{
    if (a == RELU) for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0.0f;
    else if (a == LEAKY) for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : (float)(.1 * x[i]);
}

HOT static void gradient(const float *x, size_t n, ACTIVATION a, float *delta)
{
    if (a == RELU) for (size_t i = 0; i < n; i++) delta[i] *= (float)(x[i] > 0);
    else if (a == LEAKY) for (size_t i = 0; i < n; i++) delta[i] *= x[i] > 0 ? 1.0f : .1f;
}

static int simple_activation(ACTIVATION a) { return a == RELU || a == LEAKY || a == LINEAR; }

void activate_array(float *x, const int n, const ACTIVATION a)
{
    if (!fast_on || !simple_activation(a)) { plain.activate_array(x, n, a); return; }
    activate(x, (size_t)n, a);
}

void gradient_array(const float *x, const int n, const ACTIVATION a, float *delta)
{
    if (!fast_on || !simple_activation(a)) { plain.gradient_array(x, n, a, delta); return; }
    gradient(x, (size_t)n, a, delta);
}

HOT static void bias_act(float *d, int n, float bias, ACTIVATION a)
{
    for (int i = 0; i < n; i++) d[i] += bias;
    activate(d, (size_t)n, a);
}

/* sum of d[0..n): 16 running partial sums (a fixed order, so vectorizable and reproducible). */
HOT static float sum16(const float *d, int n)
{
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += d[i + k];
    float s = 0;
    for (; i < n; i++) s += d[i];
    for (int k = 0; k < 16; k++) s += acc[k];
    return s;
}

HOT static void add_into(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

/* ------------------------------------------------------------------ convolution */

/* With K = c*ks*ks (one patch) and N = out_h*out_w (output pixels), a convolution is
 *     out[M x N] = W[M x K] * cols[K x N]                   (forward, per image)
 *     dW[M x K] += delta[M x N] * cols^T                    (weight gradient)
 *     dcols[K x N] = W^T * delta, then col2im               (input gradient)
 * Darknet runs im2col + one GEMM per image on one thread. Our work items are of two kinds,
 * chosen from the layer's shape alone:
 *   - small layers (K*N below TILE_FLOATS): a chunk of `per` images whose column matrices sit
 *     side by side ([K x nb*N]) so that one GEMM covers the chunk instead of nb tiny ones;
 *   - large layers: one image per item, done in tiles of `rows` output rows, so the tile's
 *     column matrix stays in the core's L2 cache between im2col and the GEMM; the GEMM
 *     reads and writes the tile in place in Darknet's output/delta (leading dimension N).
 * Items run on all threads. Each item writes its weight and bias gradients to its own slots,
 * summed in item order afterwards: the result is the same whatever the thread count. */
#define TILE_FLOATS (96 * 1024)  /* target column-matrix size of one GEMM: 384 KB */
#define MIN_ITEMS 4

typedef struct {
    layer *l;
    network *net;
    int M, K, N, ow, oh;
    int per;                     /* images per item (1 when tiling) */
    int rows;                    /* output rows per tile (oh when not tiling) */
    int items;
    float *dw;                   /* backward: items x M*K weight-gradient slots */
    float *db;                   /* backward: items x M bias-gradient slots (no batch norm) */
} conv_ctx;

static void conv_plan(conv_ctx *c, layer *l, network *net)
{
    c->l = l;
    c->net = net;
    c->M = l->n;
    c->K = l->size * l->size * l->c;
    c->oh = l->out_h;
    c->ow = l->out_w;
    c->N = c->oh * c->ow;
    size_t per_image = (size_t)c->K * c->N;
    if (per_image > TILE_FLOATS) {
        c->per = 1;
        c->rows = (int)(TILE_FLOATS / ((size_t)c->K * c->ow));
        if (c->rows < 1) c->rows = 1;
        if (c->rows > c->oh) c->rows = c->oh;
    } else {
        int per = (int)(TILE_FLOATS / per_image);
        int cap = (l->batch + MIN_ITEMS - 1) / MIN_ITEMS;
        c->per = per > cap ? cap : per < 1 ? 1 : per;
        c->rows = c->oh;
    }
    c->items = (l->batch + c->per - 1) / c->per;
}

/* Scratch floats one item needs: its column matrix and (batched chunks) a [M x nb*N] block. */
static size_t conv_scratch(const conv_ctx *c)
{
    size_t cols = (size_t)c->K * c->per * c->rows * c->ow;
    return cols + (c->per > 1 ? (size_t)c->M * c->per * c->N : 0);
}

static void conv_forward_item(void *vctx, int64_t it, int thread)
{
    conv_ctx *c = vctx;
    layer *l = c->l;
    int M = c->M, K = c->K, N = c->N, ow = c->ow;
    int fuse = !l->batch_normalize;          /* bias + activation here, else after batch norm */
    float *cols = scratch[thread];
    if (c->per == 1) {
        int b = (int)it;
        const float *im = c->net->input + (size_t)b * l->inputs;
        float *out = l->output + (size_t)b * l->outputs;
        for (int y0 = 0; y0 < c->oh; y0 += c->rows) {
            int y1 = y0 + c->rows < c->oh ? y0 + c->rows : c->oh, T = (y1 - y0) * ow;
            im2col_rows(im, l->c, l->h, l->w, l->size, l->stride, l->pad, y0, y1, cols, T);
            sgemm(0, 0, M, T, K, 1.0f, l->weights, K, cols, T, 0.0f, out + (size_t)y0 * ow, N);
            if (fuse)
                for (int m = 0; m < M; m++)
                    bias_act(out + (size_t)m * N + (size_t)y0 * ow, T, l->biases[m], l->activation);
        }
        return;
    }
    int b0 = (int)it * c->per, nb = l->batch - b0 < c->per ? l->batch - b0 : c->per, ld = nb * N;
    float *tmp = cols + (size_t)K * c->per * N;
    for (int j = 0; j < nb; j++)
        im2col_rows(c->net->input + (size_t)(b0 + j) * l->inputs, l->c, l->h, l->w, l->size,
                    l->stride, l->pad, 0, c->oh, cols + (size_t)j * N, ld);
    sgemm(0, 0, M, ld, K, 1.0f, l->weights, K, cols, ld, 0.0f, tmp, ld);
    /* Scatter [M x nb*N] back to Darknet's [nb][M][N]. */
    for (int j = 0; j < nb; j++)
        for (int m = 0; m < M; m++) {
            float *d = l->output + (size_t)(b0 + j) * l->outputs + (size_t)m * N;
            memcpy(d, tmp + (size_t)m * ld + (size_t)j * N, sizeof(float) * N);
            if (fuse) bias_act(d, N, l->biases[m], l->activation);
        }
}

static int conv_ours(const layer *l)
{
    return fast_on && l->groups <= 1 && !l->binary && !l->xnor && simple_activation(l->activation);
}

void forward_convolutional_layer(layer l, network net)
{
    if (!conv_ours(&l)) { plain.fwd_conv(l, net); return; }
    conv_ctx c;
    conv_plan(&c, &l, &net);
    int nt = threads();
    scratch_reserve(nt, conv_scratch(&c));
    parallel_for(c.items, nt, conv_forward_item, &c);
    if (l.batch_normalize) {
        forward_batchnorm_layer(l, net);   /* Darknet's: batch statistics, scales, biases */
        activate(l.output, (size_t)l.outputs * l.batch, l.activation);
    }
}

static void conv_backward_item(void *vctx, int64_t it, int thread)
{
    conv_ctx *c = vctx;
    layer *l = c->l;
    network *net = c->net;
    int M = c->M, K = c->K, N = c->N, ow = c->ow;
    float *cols = scratch[thread], *dw = c->dw + (size_t)it * M * K;
    int b0 = (int)it * c->per, nb = l->batch - b0 < c->per ? l->batch - b0 : c->per;
    if (!l->batch_normalize) {
        /* delta *= f'(output), then the bias gradient: the sum of delta over positions. */
        float *db = c->db + (size_t)it * M;
        memset(db, 0, sizeof(float) * M);
        for (int j = 0; j < nb; j++) {
            size_t off = (size_t)(b0 + j) * l->outputs;
            gradient(l->output + off, (size_t)l->outputs, l->activation, l->delta + off);
            for (int m = 0; m < M; m++) db[m] += sum16(l->delta + off + (size_t)m * N, N);
        }
    }
    if (c->per == 1) {
        const float *im = net->input + (size_t)b0 * l->inputs;
        const float *delta = l->delta + (size_t)b0 * l->outputs;
        float *din = net->delta ? net->delta + (size_t)b0 * l->inputs : NULL;
        for (int y0 = 0; y0 < c->oh; y0 += c->rows) {
            int y1 = y0 + c->rows < c->oh ? y0 + c->rows : c->oh, T = (y1 - y0) * ow;
            const float *dt = delta + (size_t)y0 * ow;       /* [M x T], leading dim N */
            im2col_rows(im, l->c, l->h, l->w, l->size, l->stride, l->pad, y0, y1, cols, T);
            sgemm(0, 1, M, K, T, 1.0f, dt, N, cols, T, y0 ? 1.0f : 0.0f, dw, K);
            if (din) {
                sgemm(1, 0, K, T, M, 1.0f, l->weights, K, dt, N, 0.0f, cols, T);
                col2im_rows(cols, T, l->c, l->h, l->w, l->size, l->stride, l->pad, y0, y1, din);
            }
        }
        return;
    }
    int ld = nb * N;
    float *delta = cols + (size_t)K * c->per * N;
    for (int j = 0; j < nb; j++) {
        im2col_rows(net->input + (size_t)(b0 + j) * l->inputs, l->c, l->h, l->w, l->size,
                    l->stride, l->pad, 0, c->oh, cols + (size_t)j * N, ld);
        for (int m = 0; m < M; m++)
            memcpy(delta + (size_t)m * ld + (size_t)j * N,
                   l->delta + (size_t)(b0 + j) * l->outputs + (size_t)m * N, sizeof(float) * N);
    }
    /* dW_item = delta * cols^T: the sum over the chunk's images and output pixels. */
    sgemm(0, 1, M, K, ld, 1.0f, delta, ld, cols, ld, 0.0f, dw, K);
    if (net->delta) {
        /* Column gradients reuse the column buffer (its contents are no longer needed). */
        sgemm(1, 0, K, ld, M, 1.0f, l->weights, K, delta, ld, 0.0f, cols, ld);
        for (int j = 0; j < nb; j++)
            col2im_rows(cols + (size_t)j * N, ld, l->c, l->h, l->w, l->size, l->stride, l->pad,
                        0, c->oh, net->delta + (size_t)(b0 + j) * l->inputs);
    }
}

static float *dw_buf;
static size_t dw_cap;

void backward_convolutional_layer(layer l, network net)
{
    if (!conv_ours(&l)) { plain.bwd_conv(l, net); return; }
    if (l.batch_normalize) {
        /* Batch norm couples the images: the activation gradient and Darknet's batch-norm
         * backward (scales, biases, mean and variance terms) run over the whole batch. */
        gradient(l.output, (size_t)l.outputs * l.batch, l.activation, l.delta);
        backward_batchnorm_layer(l, net);
    }
    conv_ctx c;
    conv_plan(&c, &l, &net);
    size_t mk = (size_t)c.M * c.K, need = (mk + c.M) * c.items;
    if (dw_cap < need) {
        free(dw_buf);
        dw_cap = need;
        dw_buf = xmalloc(dw_cap * sizeof(float));
    }
    c.dw = dw_buf;
    c.db = dw_buf + mk * c.items;
    int nt = threads();
    scratch_reserve(nt, conv_scratch(&c));
    parallel_for(c.items, nt, conv_backward_item, &c);
    /* Sum the items' gradients in item order: the same bits for any thread count. */
    for (int i = 0; i < c.items; i++) {
        add_into(l.weight_updates, c.dw + (size_t)i * mk, mk);
        if (!l.batch_normalize) add_into(l.bias_updates, c.db + (size_t)i * c.M, (size_t)c.M);
    }
}

/* ------------------------------------------------------------------ max pooling */

/* Same window, padding (offset -pad/2) and tie rule (first maximum wins) as Darknet. The
 * common 2x2 window with stride 2 whose windows all lie inside the image has its own loop. */
HOT static void maxpool_plane(void *vctx, int64_t p, int thread)
{
    (void)thread;
    void **a = vctx;
    layer *l = a[0];
    network *net = a[1];
    int off = -l->pad / 2;
    int in_base = (int)p * l->h * l->w, out_base = (int)p * l->out_h * l->out_w;
    const float *in = net->input;
    float *out = l->output + out_base;
    int *ind = l->indexes + out_base;
    if (l->size == 2 && l->stride == 2 && off == 0 && 2 * l->out_w <= l->w && 2 * l->out_h <= l->h) {
        for (int i = 0; i < l->out_h; i++) {
            int r0 = in_base + 2 * i * l->w, r1 = r0 + l->w;
            float *o = out + i * l->out_w;
            int *x = ind + i * l->out_w;
            for (int j = 0; j < l->out_w; j++) {   /* selects, not branches: ties are random */
                int k = 2 * j;
                float v = in[r0 + k], b = in[r0 + k + 1], c = in[r1 + k], d = in[r1 + k + 1];
                int id = r0 + k;
                id = b > v ? r0 + k + 1 : id;
                v = b > v ? b : v;
                id = c > v ? r1 + k : id;
                v = c > v ? c : v;
                id = d > v ? r1 + k + 1 : id;
                v = d > v ? d : v;
                o[j] = v;
                x[j] = id;
            }
        }
        return;
    }
    for (int i = 0; i < l->out_h; i++)
        for (int j = 0; j < l->out_w; j++) {
            float max = -FLT_MAX;
            int max_i = -1;
            for (int n = 0; n < l->size; n++) {
                int y = off + i * l->stride + n;
                if (y < 0 || y >= l->h) continue;
                for (int m = 0; m < l->size; m++) {
                    int x = off + j * l->stride + m;
                    if (x < 0 || x >= l->w) continue;
                    int idx = in_base + y * l->w + x;
                    if (in[idx] > max) { max = in[idx]; max_i = idx; }
                }
            }
            out[i * l->out_w + j] = max;
            ind[i * l->out_w + j] = max_i;
        }
}

void forward_maxpool_layer(layer l, network net)
{
    if (!fast_on) { plain.fwd_maxpool(l, net); return; }
    void *a[2] = {&l, &net};
    parallel_for((int64_t)l.batch * l.c, threads(), maxpool_plane, a);
}

HOT static void maxpool_back_plane(void *vctx, int64_t p, int thread)
{
    (void)thread;
    void **a = vctx;
    layer *l = a[0];
    network *net = a[1];
    int n = l->out_h * l->out_w;
    for (int i = (int)p * n; i < (int)(p + 1) * n; i++) {
        int idx = l->indexes[i];
        if (idx >= 0) net->delta[idx] += l->delta[i];
    }
}

void backward_maxpool_layer(layer l, network net)
{
    if (!fast_on) { plain.bwd_maxpool(l, net); return; }
    if (!net.delta) return;
    void *a[2] = {&l, &net};
    parallel_for((int64_t)l.batch * l.c, threads(), maxpool_back_plane, a);
}

/* ------------------------------------------------------------------ dropout */

/* Darknet's dropout works in place on the previous layer's output: each element is zeroed
 * with probability p, else scaled by 1/(1-p) ("inverted dropout", so inference needs no
 * rescaling). The draws are kept in l.rand for the backward pass. Ours draw them from
 * xoshiro256** streams derived from (dn_fast_seed, call number, image): reproducible, no
 * lock, and the images of a batch on all threads. */

typedef struct { layer *l; network *net; uint64_t call; } drop_ctx;

/* Image b of the batch draws from its own stream (seed, call number, b): the masks do not
 * depend on which thread runs which image. */
static void dropout_image(void *vctx, int64_t b, int thread)
{
    (void)thread;
    drop_ctx *c = vctx;
    layer *l = c->l;
    rng r;
    rng_seed_stream(&r, drop_seed ^ (c->call * 0x9e3779b97f4a7c15ULL), (uint64_t)b);
    float *x = c->net->input + (size_t)b * l->inputs, *u = l->rand + (size_t)b * l->inputs;
    for (int i = 0; i < l->inputs; i++) {
        u[i] = (float)(rng_u64(&r) >> 40) * (1.0f / 16777216.0f);   /* 24 bits in [0,1) */
        x[i] = u[i] < l->probability ? 0 : x[i] * l->scale;
    }
}

void forward_dropout_layer(layer l, network net)
{
    if (!fast_on) { plain.fwd_dropout(l, net); return; }
    if (!net.train) return;
    drop_ctx c = {.l = &l, .net = &net, .call = ++drop_calls};
    parallel_for(l.batch, threads(), dropout_image, &c);
}

HOT static void dropout_back(float *d, const float *u, size_t n, float p, float scale)
{
    for (size_t i = 0; i < n; i++) d[i] = u[i] < p ? 0 : d[i] * scale;
}

void backward_dropout_layer(layer l, network net)
{
    if (!fast_on) { plain.bwd_dropout(l, net); return; }
    if (!net.delta) return;
    dropout_back(net.delta, l.rand, (size_t)l.batch * l.inputs, l.probability, l.scale);
}

/* ------------------------------------------------------------------ updates (Adam) */

/* With `adam=1` in the cfg's [net], Darknet fills update_args.adam/B1/B2/eps/t and allocates
 * l.m, l.v (and bias_m/v, scale_m/v) - then its CPU update ignores them. We use them. The
 * learning rate already includes Darknet's policy (get_current_rate) and the layer's
 * learning_rate_scale; weight decay applies to weights only, as in Darknet's SGD. */
static void adam_layer(layer *l, update_args a, int nweights, int nbias)
{
    adam_args w = {a.learning_rate * l->learning_rate_scale, a.B1, a.B2, a.eps, a.decay, a.t};
    adam_args b = w;
    b.decay = 0;
    adam_step(l->weights, l->weight_updates, l->m, l->v, nweights, a.batch, &w);
    adam_step(l->biases, l->bias_updates, l->bias_m, l->bias_v, nbias, a.batch, &b);
    if (l->scales && l->scale_updates && l->scale_m)
        adam_step(l->scales, l->scale_updates, l->scale_m, l->scale_v, nbias, a.batch, &b);
}

void update_convolutional_layer(layer l, update_args a)
{
    if (!fast_on || !a.adam || !l.m || !l.bias_m) { plain.upd_conv(l, a); return; }
    adam_layer(&l, a, l.nweights, l.n);
}

void update_connected_layer(layer l, update_args a)
{
    if (!fast_on || !a.adam || !l.m || !l.bias_m) { plain.upd_conn(l, a); return; }
    adam_layer(&l, a, l.inputs * l.outputs, l.outputs);
}

/* ------------------------------------------------------------------ the network passes */

/* Darknet's forward_network / backward_network, step for step (a layer reads the previous
 * layer's output and adds into its delta; layer 0 reads net->input and, net->delta being
 * NULL, computes no input gradient), with the per-layer timer of FP_DN_PROFILE, memset for
 * zeroing the deltas, and no zeroing at all in inference passes. */
void forward_network(network *netp)
{
    if (!fast_on) { plain.fwd_net(netp); return; }
    network net = *netp;
    for (int i = 0; i < net.n; i++) {
        net.index = i;
        layer l = net.layers[i];
        /* Deltas accumulate during backward: zero them before a training pass (an inference
         * pass leaves them alone; the next training pass zeroes them). */
        if (l.delta && net.train) memset(l.delta, 0, sizeof(float) * (size_t)l.outputs * l.batch);
        double t = prof_start();
        l.forward(l, net);
        prof_stop(t, i, &l, 0);
        net.input = l.output;
        if (l.truth) net.truth = l.output;
    }
    calc_network_cost(netp);
}

void backward_network(network *netp)
{
    if (!fast_on) { plain.bwd_net(netp); return; }
    network net = *netp, orig = *netp;
    for (int i = net.n - 1; i >= 0; i--) {
        layer l = net.layers[i];
        if (l.stopbackward) break;
        if (i == 0) net = orig;
        else {
            net.input = net.layers[i - 1].output;
            net.delta = net.layers[i - 1].delta;
        }
        net.index = i;
        double t = prof_start();
        l.backward(l, net);
        prof_stop(t, i, &l, 1);
    }
}

/* ------------------------------------------------------------------ initial weights */

/* A standard normal from two rand() draws (Box-Muller, cosine branch), with no saved spare:
 * srand(seed) then parse_network_cfg() always draws the same weights. */
float rand_normal(void)
{
    double u1 = (rand() + 1.0) / ((double)RAND_MAX + 2.0);
    double u2 = rand() / ((double)RAND_MAX + 1.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}
