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
 *                     Darknet runs im2col + a small GEMM per image, one thread. On CPUs with
 *                     AVX-512, stride-1 convolutions skip the column matrix: two register-
 *                     blocked kernels of ours read the zero-padded image directly ("direct
 *                     convolution"), at close to the core's peak whatever OpenBLAS kernel set
 *                     OPENBLAS_CORETYPE picks. Otherwise work items on all threads: chunks of
 *                     images packed side by side so one OpenBLAS GEMM covers the chunk (small
 *                     layers), or one image in L2-sized tiles of output rows (large layers).
 *                     Bias, activation and their gradients are fused into the items.
 *   forward_/backward_maxpool_layer   one item per (image, channel) plane; branch-free 2x2/2,
 *                                     16 outputs per step on AVX-512
 *   forward_/backward_dropout_layer   a vectorized counter-based hash per element instead of
 *                                     a locked rand() per element
 *   activate_array, gradient_array    vectorised RELU / LEAKY / LINEAR, Darknet's bits
 *   forward_network, backward_network Darknet's loops, except that the leading run of
 *                     conv/maxpool/dropout layers (the "trunk") goes image by image, so an
 *                     image's activations stay in cache from layer to layer; no delta zeroing
 *                     when inferring; FP_DN_PROFILE=1 prints CPU seconds per layer
 *   update_convolutional_layer, update_connected_layer
 *                     Adam (common/adam.c) when the cfg says adam=1: Darknet's CPU build
 *                     ignores that key and always does SGD with momentum. (With dn_fast_set(0)
 *                     Darknet's SGD runs, as in the library as shipped.)
 *   rand_normal       Darknet's keeps a Box-Muller spare in a static variable, so weights
 *                     drawn after srand(seed) depend on what was drawn before in the process;
 *                     ours draws two rand() per call and keeps no state.
 * FP_DN_DIRECT=0 (or dn_fast_direct(0)) turns the direct convolutions and the other AVX-512
 * code off, FP_DN_TRUNK=0 (dn_fast_trunk(0)) the trunk: for benchmarks and comparisons.
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
#if defined(__x86_64__)
#include <immintrin.h>
#endif
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

#define MAX_THREADS 64
static double prof_tt[MAX_THREADS][PROF_LAYERS][2];   /* trunk: per thread, summed at exit */

static double clock_now(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_now(void) { return clock_now(CLOCK_PROCESS_CPUTIME_ID); }

static void prof_report(void)
{
    double tot = 0;
    for (int t = 0; t < MAX_THREADS; t++)
        for (int i = 0; i < PROF_LAYERS; i++)
            for (int ph = 0; ph < 2; ph++) prof_t[i][ph] += prof_tt[t][i][ph];
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

/* The trunk's timer: CPU time of the calling thread, per layer and phase. */
static double prof_thread_start(void) { return prof_on > 0 ? clock_now(CLOCK_THREAD_CPUTIME_ID) : 0; }

static void prof_thread_stop(double t0, int i, const layer *l, int phase, int thread)
{
    if (prof_on <= 0 || i >= PROF_LAYERS || thread >= MAX_THREADS) return;
    prof_tt[thread][i][phase] += clock_now(CLOCK_THREAD_CPUTIME_ID) - t0;
    prof_type[i] = (int)l->type;
}

/* Per-thread scratch, grown on the calling (main) thread before a parallel region. */
static float *scratch[MAX_THREADS];
static size_t scratch_cap[MAX_THREADS];

static void scratch_reserve(int nt, size_t floats)
{
    for (int t = 0; t < nt && t < MAX_THREADS; t++) {
        if (scratch_cap[t] >= floats) continue;
        free(scratch[t]);
        /* 64-byte aligned (a cache line, an AVX-512 vector), rounded to whole lines */
        scratch[t] = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
        if (!scratch[t]) die("out of memory (%zu floats of scratch)", floats);
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

/* ------------------------------------------------------------------ direct convolution */

/* Stride-1 convolutions without a column matrix. Put the input image in a zero-padded copy,
 * planes of Hp x Wp (Wp = W + 2 pad), and number the output pixels p = y*Wp + x, as if the
 * output were Wp wide: the last Wp - ow columns of each row are junk, dropped afterwards.
 * Then row (c, kh, kw) of the column matrix is the padded input read from offset
 * off[k] = c*Hp*Wp + kh*Wp + kw on: one contiguous run of memory. So
 *     out[m][p] = sum_k W[m][k] * xp[off[k] + p]               (forward)
 *     dW[m][k] += sum_p delta[m][p] * xp[off[k] + p]           (weights; delta 0 on junk)
 * and the input gradient is the forward sum again, on the delta zero-padded by q = ks-1-pad
 * (planes Hq x Wq, Hq = H+ks-1, Wq = W+ks-1) with each kernel flipped and c, m swapped:
 *     din[c][y*Wq + x] = sum_{m,kh,kw} W[m][c][ks-1-kh][ks-1-kw] * dq[m][(y+kh)*Wq + x+kw].
 * Two register-blocked kernels do all the arithmetic on 16-float vectors (GCC vector
 * extensions, compiled for AVX-512; CPUs without it keep the im2col + GEMM path above). This
 * skips im2col/col2im and the GEMM's packing copies, and gets AVX-512 whatever OpenBLAS
 * kernel set OPENBLAS_CORETYPE selects. The junk columns cost 3 % at 64x64 (2 of 64-66),
 * 14 % on 12-14 pixel rows. Sums run in the order of k (forward) or p (weights) in fixed
 * vector lanes: the bits do not depend on threads. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HAVE_DIRECT 1
#define AVX512 __attribute__((target("avx512f"), optimize("O3")))
#else
#define HAVE_DIRECT 0
#define AVX512
#endif

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));   /* unaligned access */

#define FW_MR 8          /* forward kernel block: 8 output channels x 48 pixels (24 registers) */
#define FW_NR 48
#define DW_MR 4          /* weight-gradient block: 4 output channels x 6 rows k (24 registers) */
#define DW_KR 6

static int round_up(int n, int m) { return (n + m - 1) / m * m; }

/* out[i][p], i < Mb*8 (rows P apart), p < P (a multiple of 48):
 *     sum_{k<K} wp[(i/8*K + k)*8 + i%8] * x[off[k] + p]
 * wp holds the weights packed by blocks of 8 rows, k-major, so the 8 weights of step k are
 * adjacent; the 3 vectors of x are loaded once per k and used by the 8 rows. */
AVX512 static void conv_fwd_kernel(const float *x, const int *off, int K, const float *wp, int Mb,
                                   float *out, int P)
{
    for (int n0 = 0; n0 < P; n0 += FW_NR)
        for (int mb = 0; mb < Mb; mb++) {
            const float *w = wp + (size_t)mb * K * FW_MR;
            v16 a0[FW_MR], a1[FW_MR], a2[FW_MR];
#pragma GCC unroll 8
            for (int i = 0; i < FW_MR; i++) a0[i] = a1[i] = a2[i] = (v16){0};
            for (int k = 0; k < K; k++, w += FW_MR) {
                const float *b = x + off[k] + n0;
                v16 b0 = *(const v16u *)b, b1 = *(const v16u *)(b + 16), b2 = *(const v16u *)(b + 32);
#pragma GCC unroll 8
                for (int i = 0; i < FW_MR; i++) {
                    a0[i] += w[i] * b0;
                    a1[i] += w[i] * b1;
                    a2[i] += w[i] * b2;
                }
            }
#pragma GCC unroll 8
            for (int i = 0; i < FW_MR; i++) {
                float *o = out + (size_t)(mb * FW_MR + i) * P + n0;
                *(v16u *)o = a0[i];
                *(v16u *)(o + 16) = a1[i];
                *(v16u *)(o + 32) = a2[i];
            }
        }
}

/* dw[m*K + k] += sum_{j<nimg} sum_{p<P} d[j*ds + m*P + p] * x[j*xs + off[k] + p] for m < M,
 * k < K: the weight gradient of nimg images at once. d has Mr rows per image (a multiple of
 * 4; rows past M are ignored), off has Kr entries (a multiple of 6), P is a multiple of 16.
 * Each block keeps 24 vector sums over all the images' pixels, reduced at the end (with few
 * pixels per image, per-image reductions would cost as much as the products). */
AVX512 static void conv_dw_kernel(const float *d, int P, size_t ds, const float *x, size_t xs,
                                  int nimg, const int *off, int Kr, int Mr, float *dw, int M, int K)
{
    for (int kb = 0; kb < Kr; kb += DW_KR)
        for (int mb = 0; mb < Mr; mb += DW_MR) {
            v16 a[DW_MR][DW_KR];
#pragma GCC unroll 4
            for (int i = 0; i < DW_MR; i++)
#pragma GCC unroll 6
                for (int j = 0; j < DW_KR; j++) a[i][j] = (v16){0};
            for (int img = 0; img < nimg; img++) {
                const float *xs_[DW_KR];
#pragma GCC unroll 6
                for (int j = 0; j < DW_KR; j++) xs_[j] = x + img * xs + off[kb + j];
                const float *dm = d + img * ds + (size_t)mb * P;
                for (int p = 0; p < P; p += 16) {
                    v16 xv[DW_KR];
#pragma GCC unroll 6
                    for (int j = 0; j < DW_KR; j++) xv[j] = *(const v16u *)(xs_[j] + p);
#pragma GCC unroll 4
                    for (int i = 0; i < DW_MR; i++) {
                        v16 dv = *(const v16u *)(dm + (size_t)i * P + p);
#pragma GCC unroll 6
                        for (int j = 0; j < DW_KR; j++) a[i][j] += dv * xv[j];
                    }
                }
            }
            for (int i = 0; i < DW_MR && mb + i < M; i++)
                for (int j = 0; j < DW_KR && kb + j < K; j++)
#if HAVE_DIRECT
                    dw[(size_t)(mb + i) * K + kb + j] += _mm512_reduce_add_ps((__m512)a[i][j]);
#else
                    for (int t = 0; t < 16; t++) dw[(size_t)(mb + i) * K + kb + j] += a[i][j][t];
#endif
        }
}

/* The shapes of one layer's direct convolution. */
typedef struct {
    layer *l;
    network *net;
    int C, H, W, M, ks, pad, oh, ow;
    int Hp, Wp, K, Kr, Mr, P;     /* padded input; K = C ks ks (Kr: to 6); Mr: M to 8; P pixels, to 48 */
    size_t xlen;                  /* padded input + the slack the last pixel block reads */
    int Hq, Wq, Kd, Cr, Q;        /* input gradient: padded delta planes, K of that sum, C to 8, pixels */
    size_t qlen;
    int *offx, *offq;             /* offsets of the column-matrix rows, input and padded delta */
    float *wp, *wf;               /* packed weights: forward, flipped (input gradient) */
    int per, items;               /* backward: images per item */
    int nd;                       /* backward: images per weight-gradient kernel call */
    float *dw, *db;               /* backward: per-item gradient slots */
} dconv;

static int direct_on = -1, cpu_avx512 = -1;   /* -1: not yet read from FP_DN_DIRECT */
void dn_fast_direct(int on) { direct_on = on; }

/* Whether our AVX-512 code may run: the CPU has it, and neither dn_fast_direct(0) nor
 * FP_DN_DIRECT=0 turned it off. */
static int avx512(void)
{
    if (direct_on < 0) {
        /* FP_DN_DIRECT=0: the im2col + OpenBLAS path everywhere (benchmarks, comparisons) */
        const char *e = getenv("FP_DN_DIRECT");
        direct_on = !(e && *e == '0');
    }
    if (!HAVE_DIRECT || !direct_on) return 0;
    if (cpu_avx512 < 0) {
#if HAVE_DIRECT
        __builtin_cpu_init();
        cpu_avx512 = __builtin_cpu_supports("avx512f");
#else
        cpu_avx512 = 0;
#endif
    }
    return cpu_avx512;
}

static int direct_ok(const layer *l) { return avx512() && l->stride == 1 && l->pad <= l->size - 1; }

static float *dc_buf;            /* offsets and packed weights of the layer-by-layer path */
static size_t dc_cap;

/* Shapes, offsets and packed weights (in *buf, grown to *cap floats as needed) of layer l;
 * with `backward`, also the flipped weights of the input gradient. */
static void dconv_plan(dconv *g, layer *l, network *net, int backward, float **buf, size_t *cap)
{
    g->l = l;
    g->net = net;
    g->C = l->c; g->H = l->h; g->W = l->w; g->M = l->n;
    g->ks = l->size; g->pad = l->pad; g->oh = l->out_h; g->ow = l->out_w;
    int ks = g->ks;
    g->Hp = g->H + 2 * g->pad;
    g->Wp = g->W + 2 * g->pad;
    g->K = g->C * ks * ks;
    g->Kr = round_up(g->K, DW_KR);
    g->Mr = round_up(g->M, FW_MR);
    g->P = round_up(g->oh * g->Wp, FW_NR);
    g->xlen = (size_t)round_up((g->C - 1) * g->Hp * g->Wp + (ks - 1) * (g->Wp + 1) + g->P, 16);
    g->Hq = g->H + ks - 1;
    g->Wq = g->W + ks - 1;
    g->Kd = g->M * ks * ks;
    g->Cr = round_up(g->C, FW_MR);
    g->Q = round_up(g->H * g->Wq, FW_NR);
    g->qlen = (size_t)round_up((g->M - 1) * g->Hq * g->Wq + (ks - 1) * (g->Wq + 1) + g->Q, 16);
    /* One buffer: offx[Kr], offq[Kd] (ints), wp[Mr*K], wf[Cr*Kd] (floats). */
    size_t need = (size_t)g->Kr + g->Kd + (size_t)g->Mr * g->K + (backward ? (size_t)g->Cr * g->Kd : 0);
    if (*cap < need) {
        free(*buf);
        *buf = xmalloc(need * sizeof(float));
        *cap = need;
    }
    g->offx = (int *)*buf;
    g->offq = g->offx + g->Kr;
    g->wp = *buf + g->Kr + g->Kd;
    g->wf = backward ? g->wp + (size_t)g->Mr * g->K : NULL;
    for (int k = 0; k < g->Kr; k++) {
        int c = k / (ks * ks), kh = k / ks % ks, kw = k % ks;
        g->offx[k] = k < g->K ? (c * g->Hp + kh) * g->Wp + kw : 0;   /* rows past K: any valid offset */
    }
    for (int k = 0; k < g->Kd; k++) {
        int m = k / (ks * ks), kh = k / ks % ks, kw = k % ks;
        g->offq[k] = (m * g->Hq + kh) * g->Wq + kw;
    }
    for (int mb = 0; mb < g->Mr / FW_MR; mb++)
        for (int k = 0; k < g->K; k++)
            for (int i = 0; i < FW_MR; i++) {
                int m = mb * FW_MR + i;
                g->wp[((size_t)mb * g->K + k) * FW_MR + i] = m < g->M ? l->weights[(size_t)m * g->K + k] : 0;
            }
    if (backward)
        for (int cb = 0; cb < g->Cr / FW_MR; cb++)
            for (int k = 0; k < g->Kd; k++)
                for (int i = 0; i < FW_MR; i++) {
                    int c = cb * FW_MR + i, m = k / (ks * ks), kh = k / ks % ks, kw = k % ks;
                    g->wf[((size_t)cb * g->Kd + k) * FW_MR + i] =
                        c < g->C ? l->weights[(size_t)m * g->K + (c * ks + ks - 1 - kh) * ks + ks - 1 - kw] : 0;
                }
    /* Backward items: a fixed number of images each (from the batch size alone). */
    g->per = (l->batch + 7) / 8;
    g->items = (l->batch + g->per - 1) / g->per;
    /* Small layers: several images per weight-gradient call, as long as their padded input
     * and delta stay within about half of a core's L2 cache. */
    size_t one = g->xlen + (size_t)g->Mr * g->P;
    g->nd = (int)(TILE_FLOATS / one);
    if (g->nd < 1) g->nd = 1;
    if (g->nd > g->per) g->nd = g->per;
}

/* Copies a row of w floats to d + left with `left` zeros before and `right` zeros after.
 * Rows are short (12-66 floats): inline loops, not memcpy/memset calls (GCC would turn the
 * loops back into calls without no-tree-loop-distribute-patterns). */
__attribute__((optimize("O3", "no-tree-loop-distribute-patterns"))) static void
pad_row(float *d, const float *s, int left, int w, int right)
{
    for (int x = 0; x < left; x++) d[x] = 0;
    for (int x = 0; x < w; x++) d[left + x] = s[x];
    for (int x = 0; x < right; x++) d[left + w + x] = 0;
}

/* n planes of h rows of w floats (rows sr apart, planes sp apart) -> zero-padded planes wp
 * wide, the image at (top, left), planes ps floats apart (zeros after the image's rows), then
 * zeros up to len floats. */
static void pad_planes(const float *src, int n, int h, int w, size_t sr, size_t sp, int wp, int top,
                       int left, size_t ps, float *dst, size_t len)
{
    for (int c = 0; c < n; c++) {
        float *d = dst + (size_t)c * ps;
        const float *s = src + (size_t)c * sp;
        memset(d, 0, sizeof(float) * (size_t)top * wp);
        for (int y = 0; y < h; y++) pad_row(d + (size_t)(top + y) * wp, s + (size_t)y * sr, left, w, wp - left - w);
        memset(d + (size_t)(top + h) * wp, 0, sizeof(float) * (ps - (size_t)(top + h) * wp));
    }
    size_t used = (size_t)n * ps;
    if (len > used) memset(dst + used, 0, sizeof(float) * (len - used));
}

/* dst[i] = f(src[i] + bias): Darknet's add_bias then activate_array (the same bits), on one
 * output row, in one pass. */
HOT static void bias_act_copy(float *dst, const float *src, int n, float bias, ACTIVATION a)
{
    if (a == RELU)
        for (int i = 0; i < n; i++) { float v = src[i] + bias; dst[i] = v > 0 ? v : 0.0f; }
    else if (a == LEAKY)
        for (int i = 0; i < n; i++) { float v = src[i] + bias; dst[i] = v > 0 ? v : (float)(.1 * v); }
    else
        for (int i = 0; i < n; i++) dst[i] = src[i] + bias;
}

/* One row of delta * f'(output) (Darknet's gradient_array), into d + 0..n, zeros to d + wp. */
HOT static void grad_row(float *d, const float *delta, const float *out, int n, int wp, ACTIVATION a)
{
    if (a == RELU) for (int i = 0; i < n; i++) d[i] = delta[i] * (float)(out[i] > 0);
    else if (a == LEAKY) for (int i = 0; i < n; i++) d[i] = delta[i] * (out[i] > 0 ? 1.0f : .1f);
    else for (int i = 0; i < n; i++) d[i] = delta[i];
    for (int i = n; i < wp; i++) d[i] = 0;
}

HOT static void add_rows(float *dst, const float *src, int n)
{
    for (int i = 0; i < n; i++) dst[i] += src[i];
}

static size_t dconv_scratch(const dconv *g, int backward)
{
    size_t one = g->xlen + (size_t)g->Mr * g->P;
    if (!backward) return one;
    return one * g->nd + g->qlen + (size_t)g->Cr * g->Q;
}

static void dconv_forward_image(void *vctx, int64_t b, int thread)
{
    dconv *g = vctx;
    layer *l = g->l;
    float *xp = scratch[thread], *tmp = xp + g->xlen;
    pad_planes(g->net->input + (size_t)b * l->inputs, g->C, g->H, g->W, g->W, (size_t)g->H * g->W,
               g->Wp, g->pad, g->pad, (size_t)g->Hp * g->Wp, xp, g->xlen);
    conv_fwd_kernel(xp, g->offx, g->K, g->wp, g->Mr / FW_MR, tmp, g->P);
    float *out = l->output + (size_t)b * l->outputs;
    for (int m = 0; m < g->M; m++)
        for (int y = 0; y < g->oh; y++) {
            const float *s = tmp + (size_t)m * g->P + (size_t)y * g->Wp;
            float *d = out + ((size_t)m * g->oh + y) * g->ow;
            if (l->batch_normalize) memcpy(d, s, sizeof(float) * g->ow);
            else bias_act_copy(d, s, g->ow, l->biases[m], l->activation);
        }
}

/* Input gradient of image b from its delta dp (pixels p = y*Wp + x, planes P apart): the
 * flipped-kernel forward sum, added into Darknet's net.delta (other layers may add there). */
static void dconv_input_grad(dconv *g, int b, const float *dp, float *dq, float *tmp)
{
    int q = g->ks - 1 - g->pad;
    pad_planes(dp, g->M, g->oh, g->ow, g->Wp, (size_t)g->P, g->Wq, q, q, (size_t)g->Hq * g->Wq, dq, g->qlen);
    conv_fwd_kernel(dq, g->offq, g->Kd, g->wf, g->Cr / FW_MR, tmp, g->Q);
    float *din = g->net->delta + (size_t)b * g->l->inputs;
    for (int c = 0; c < g->C; c++)
        for (int y = 0; y < g->H; y++)
            add_rows(din + ((size_t)c * g->H + y) * g->W, tmp + (size_t)c * g->Q + (size_t)y * g->Wq, g->W);
}

/* Backward of image b up to its weight gradient: its padded input into xp, delta * f'(output)
 * into dp (pixels p = y*Wp + x, planes P apart, 0 on the junk columns and rows), the bias
 * gradient (the sum of that over pixels) added into db, the input gradient into net.delta
 * (with dq, tmp as scratch). Darknet's l.delta itself is left as it was: nothing reads it
 * after this layer's backward. */
static void dconv_backward_image(dconv *g, int b, float *xp, float *dp, float *db, float *dq, float *tmp)
{
    layer *l = g->l;
    network *net = g->net;
    /* bias and activation gradients here, unless batch norm did them over the whole batch */
    ACTIVATION act = l->batch_normalize ? LINEAR : l->activation;
    pad_planes(net->input + (size_t)b * l->inputs, g->C, g->H, g->W, g->W, (size_t)g->H * g->W,
               g->Wp, g->pad, g->pad, (size_t)g->Hp * g->Wp, xp, g->xlen);
    const float *delta = l->delta + (size_t)b * l->outputs, *out = l->output + (size_t)b * l->outputs;
    for (int m = 0; m < g->Mr; m++) {
        float *d = dp + (size_t)m * g->P;
        if (m >= g->M) { memset(d, 0, sizeof(float) * g->P); continue; }
        for (int y = 0; y < g->oh; y++) {
            size_t o = ((size_t)m * g->oh + y) * g->ow;
            grad_row(d + (size_t)y * g->Wp, delta + o, out + o, g->ow, g->Wp, act);
        }
        memset(d + (size_t)g->oh * g->Wp, 0, sizeof(float) * (g->P - (size_t)g->oh * g->Wp));
        if (!l->batch_normalize) db[m] += sum16(d, g->P);
    }
    if (net->delta) dconv_input_grad(g, b, dp, dq, tmp);
}

static void dconv_backward_item(void *vctx, int64_t it, int thread)
{
    dconv *g = vctx;
    layer *l = g->l;
    int M = g->M;
    size_t xs = g->xlen + (size_t)g->Mr * g->P;       /* one image: padded input, then delta */
    float *grp = scratch[thread], *dq = grp + xs * g->nd, *tmp = dq + g->qlen;
    float *dw = g->dw + (size_t)it * M * g->K, *db = g->db + (size_t)it * M;
    int b0 = (int)it * g->per, nb = l->batch - b0 < g->per ? l->batch - b0 : g->per;
    memset(dw, 0, sizeof(float) * (size_t)M * g->K);
    memset(db, 0, sizeof(float) * M);
    for (int j0 = 0; j0 < nb; j0 += g->nd) {
        int n = nb - j0 < g->nd ? nb - j0 : g->nd;
        for (int j = 0; j < n; j++)
            dconv_backward_image(g, b0 + j0 + j, grp + xs * j, grp + xs * j + g->xlen, db, dq, tmp);
        conv_dw_kernel(grp + g->xlen, g->P, xs, grp, xs, n, g->offx, g->Kr, g->Mr, dw, M, g->K);
    }
}

static int conv_ours(const layer *l)
{
    return fast_on && l->groups <= 1 && !l->binary && !l->xnor && simple_activation(l->activation);
}

void forward_convolutional_layer(layer l, network net)
{
    if (!conv_ours(&l)) { plain.fwd_conv(l, net); return; }
    int nt = threads();
    if (direct_ok(&l)) {
        dconv g;
        dconv_plan(&g, &l, &net, 0, &dc_buf, &dc_cap);
        scratch_reserve(nt, dconv_scratch(&g, 0));
        parallel_for(l.batch, nt, dconv_forward_image, &g);
    } else {
        conv_ctx c;
        conv_plan(&c, &l, &net);
        scratch_reserve(nt, conv_scratch(&c));
        parallel_for(c.items, nt, conv_forward_item, &c);
    }
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
    int nt = threads(), M = l.n, K = l.size * l.size * l.c, items;
    size_t mk = (size_t)M * K;
    dconv g;
    conv_ctx c;
    if (direct_ok(&l)) {
        dconv_plan(&g, &l, &net, 1, &dc_buf, &dc_cap);
        items = g.items;
    } else {
        conv_plan(&c, &l, &net);
        items = c.items;
    }
    size_t need = (mk + M) * items;
    if (dw_cap < need) {
        free(dw_buf);
        dw_cap = need;
        dw_buf = xmalloc(dw_cap * sizeof(float));
    }
    float *dw = dw_buf, *db = dw_buf + mk * items;
    if (direct_ok(&l)) {
        g.dw = dw;
        g.db = db;
        scratch_reserve(nt, dconv_scratch(&g, 1));
        parallel_for(items, nt, dconv_backward_item, &g);
    } else {
        c.dw = dw;
        c.db = db;
        scratch_reserve(nt, conv_scratch(&c));
        parallel_for(items, nt, conv_backward_item, &c);
    }
    /* Sum the items' gradients in item order: the same bits for any thread count. */
    for (int i = 0; i < items; i++) {
        add_into(l.weight_updates, dw + (size_t)i * mk, mk);
        if (!l.batch_normalize) add_into(l.bias_updates, db + (size_t)i * M, (size_t)M);
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

/* The 2x2/2 window on AVX-512: 16 outputs per step. Each input row's 32 values are split
 * into even and odd columns (the window's left and right), then the four candidates are
 * compared in Darknet's order with strict ">", as above: the same values and indexes. */
#if HAVE_DIRECT
AVX512 static void maxpool2_plane(void *vctx, int64_t p, int thread)
{
    (void)thread;
    void **a = vctx;
    layer *l = a[0];
    network *net = a[1];
    int W = l->w, ow = l->out_w;
    int in_base = (int)p * l->h * W, out_base = (int)p * l->out_h * ow;
    const float *in = net->input;
    /* lane t: column 2t of the 32 loaded (the left of output t's window); also the index offset */
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int i = 0; i < l->out_h; i++) {
        int r0 = in_base + 2 * i * W, r1 = r0 + W;
        for (int j = 0; j < ow; j += 16) {
            int n = ow - j < 16 ? ow - j : 16;                 /* outputs in this step */
            __mmask16 mo = (__mmask16)((1u << n) - 1);
            int m = 2 * n;                                     /* inputs per row */
            __mmask16 ml = (__mmask16)(m >= 16 ? 0xffff : (1u << m) - 1);
            __mmask16 mh = (__mmask16)(m >= 32 ? 0xffff : m > 16 ? (1u << (m - 16)) - 1 : 0);
            const float *s0 = in + r0 + 2 * j, *s1 = in + r1 + 2 * j;
            __m512 a0 = _mm512_maskz_loadu_ps(ml, s0), a1 = _mm512_maskz_loadu_ps(mh, s0 + 16);
            __m512 c0 = _mm512_maskz_loadu_ps(ml, s1), c1 = _mm512_maskz_loadu_ps(mh, s1 + 16);
            __m512 v = _mm512_permutex2var_ps(a0, even, a1), b = _mm512_permutex2var_ps(a0, odd, a1);
            __m512 c = _mm512_permutex2var_ps(c0, even, c1), d = _mm512_permutex2var_ps(c0, odd, c1);
            __m512i id = _mm512_add_epi32(_mm512_set1_epi32(r0 + 2 * j), even);
            __mmask16 k = _mm512_cmp_ps_mask(b, v, _CMP_GT_OQ);
            id = _mm512_mask_add_epi32(id, k, id, _mm512_set1_epi32(1));
            v = _mm512_mask_blend_ps(k, v, b);
            k = _mm512_cmp_ps_mask(c, v, _CMP_GT_OQ);
            __m512i idc = _mm512_add_epi32(_mm512_set1_epi32(r1 + 2 * j), even);
            id = _mm512_mask_blend_epi32(k, id, idc);
            v = _mm512_mask_blend_ps(k, v, c);
            k = _mm512_cmp_ps_mask(d, v, _CMP_GT_OQ);
            id = _mm512_mask_blend_epi32(k, id, _mm512_add_epi32(idc, _mm512_set1_epi32(1)));
            v = _mm512_mask_blend_ps(k, v, d);
            _mm512_mask_storeu_ps(l->output + out_base + i * ow + j, mo, v);
            _mm512_mask_storeu_epi32(l->indexes + out_base + i * ow + j, mo, id);
        }
    }
}
#endif

typedef void (*plane_fn)(void *ctx, int64_t plane, int thread);

static plane_fn maxpool_fn(const layer *l)
{
#if HAVE_DIRECT
    if (avx512() && l->size == 2 && l->stride == 2 && l->pad / 2 == 0 && 2 * l->out_w <= l->w &&
        2 * l->out_h <= l->h)
        return maxpool2_plane;
#endif
    return maxpool_plane;
}

void forward_maxpool_layer(layer l, network net)
{
    if (!fast_on) { plain.fwd_maxpool(l, net); return; }
    void *a[2] = {&l, &net};
    parallel_for((int64_t)l.batch * l.c, threads(), maxpool_fn(&l), a);
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
 * rescaling). The draws are kept in l.rand for the backward pass. Ours are a counter-based
 * hash: element i of image b in dropout call c draws mix32(mix32(i ^ k0) ^ k1), with the
 * keys k0, k1 taken from the xoshiro256** stream (dn_fast_seed, c, b). Reproducible, no
 * lock, any thread can do any image, and the loop vectorizes (a draw per element from a
 * sequential generator cost as much as the layer's arithmetic). */

typedef struct { layer *l; network *net; uint64_t call; } drop_ctx;

/* A 32-bit integer hash with good avalanche (two multiply-xorshift rounds). */
static inline uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

HOT static void dropout_draw(float *x, float *u, int n, uint32_t k0, uint32_t k1, float p, float scale)
{
    for (int i = 0; i < n; i++) {
        uint32_t h = mix32(mix32((uint32_t)i ^ k0) ^ k1);
        u[i] = (float)(int32_t)(h >> 8) * (1.0f / 16777216.0f);     /* 24 bits in [0,1) */
        x[i] = u[i] < p ? 0 : x[i] * scale;
    }
}

static void dropout_image(void *vctx, int64_t b, int thread)
{
    (void)thread;
    drop_ctx *c = vctx;
    layer *l = c->l;
    rng r;
    rng_seed_stream(&r, drop_seed ^ (c->call * 0x9e3779b97f4a7c15ULL), (uint64_t)b);
    uint64_t key = rng_u64(&r);
    dropout_draw(c->net->input + (size_t)b * l->inputs, l->rand + (size_t)b * l->inputs, l->inputs,
                 (uint32_t)key, (uint32_t)(key >> 32), l->probability, l->scale);
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

/* ------------------------------------------------------------------ the trunk */

/* Layer by layer over the whole batch, every layer streams the batch's activations through
 * memory (16 MB for the 62x62x32 output of cnn-original's second convolution at 64x64, batch
 * 32): such passes were a third of the time once the convolutions ran on the direct path.
 * The leading run of layers that treat each image on its own - stride-1 convolutions
 * without batch norm on the direct path, max pooling, dropout - the "trunk", goes image by
 * image instead: a work item takes one image (forward) or a fixed chunk of images (backward)
 * through all the trunk's layers, so its activations are still in the core's caches from
 * one layer to the next, and the threads meet twice per step instead of twice per layer.
 * The layers' own per-image code is the one above. Weight and bias gradients go to per-item
 * slots, summed in item order after the pass: the same bits for any thread count. */
#define TRUNK_MAX 64

static struct {
    network *netp;                  /* the network and pass this plan is for */
    int T, train, items, per;
    network nets[TRUNK_MAX];        /* the network as layer i sees it (input, delta) */
    dconv g[TRUNK_MAX];             /* convolution plans */
    float *buf[TRUNK_MAX];          /* their packed weights */
    size_t cap[TRUNK_MAX];
    uint64_t call[TRUNK_MAX];       /* dropout call numbers */
    size_t slot_off[TRUNK_MAX], item_floats;
    float *slots;                   /* items x item_floats: dW then db of each convolution */
    size_t slots_cap;
} trunk;

/* Number of leading layers that can go image by image (0: none, or not worth it). */
static int trunk_on = -1;       /* -1: not yet read from FP_DN_TRUNK */
void dn_fast_trunk(int on) { trunk_on = on; }

static int trunk_len(const network *net)
{
    if (trunk_on < 0) {
        /* FP_DN_TRUNK=0: layer by layer everywhere (benchmarks, comparisons) */
        const char *e = getenv("FP_DN_TRUNK");
        trunk_on = !(e && *e == '0');
    }
    if (!fast_on || !trunk_on || !avx512()) return 0;
    int T = 0, convs = 0;
    for (; T < net->n && T < TRUNK_MAX; T++) {
        const layer *l = &net->layers[T];
        if (l->stopbackward) break;
        if (l->type == CONVOLUTIONAL) {
            if (!conv_ours(l) || !direct_ok(l) || l->batch_normalize) break;
            convs++;
        } else if (l->type != MAXPOOL && l->type != DROPOUT) break;
    }
    return convs ? T : 0;
}

/* Plans the trunk of *netp for this pass (on the calling thread, before any item runs). */
static void trunk_plan(network *netp, int T)
{
    network net = *netp;
    trunk.netp = netp;
    trunk.T = T;
    trunk.train = net.train;
    trunk.per = (net.batch + 7) / 8;
    trunk.items = (net.batch + trunk.per - 1) / trunk.per;
    size_t scratch_need = 0, off = 0;
    for (int i = 0; i < T; i++) {
        layer *l = &netp->layers[i];
        net.index = i;
        trunk.nets[i] = net;
        if (l->type == CONVOLUTIONAL) {
            dconv *g = &trunk.g[i];
            dconv_plan(g, l, &trunk.nets[i], net.train, &trunk.buf[i], &trunk.cap[i]);
            g->nd = 1;
            size_t need = g->xlen + (size_t)g->Mr * g->P + (net.train ? g->qlen + (size_t)g->Cr * g->Q : 0);
            if (need > scratch_need) scratch_need = need;
            trunk.slot_off[i] = off;
            off += (size_t)g->M * g->K + g->M;
        }
        if (l->type == DROPOUT && net.train) trunk.call[i] = ++drop_calls;
        net.input = l->output;
        net.delta = l->delta;
    }
    trunk.item_floats = off;
    scratch_reserve(threads(), scratch_need);
    size_t need = off * trunk.items;
    if (net.train && trunk.slots_cap < need) {
        free(trunk.slots);
        trunk.slots = xmalloc(need * sizeof(float));
        trunk.slots_cap = need;
    }
}

static void trunk_forward_image(void *vctx, int64_t b, int thread)
{
    (void)vctx;
    for (int i = 0; i < trunk.T; i++) {
        network *net = &trunk.nets[i];
        layer *l = &net->layers[i];
        double t0 = prof_thread_start();
        /* this image's slice of the delta the backward pass will add into */
        if (net->train && l->delta) memset(l->delta + (size_t)b * l->outputs, 0, sizeof(float) * l->outputs);
        if (l->type == CONVOLUTIONAL) {
            dconv_forward_image(&trunk.g[i], b, thread);
        } else if (l->type == MAXPOOL) {
            void *a[2] = {l, net};
            plane_fn fn = maxpool_fn(l);
            for (int c = 0; c < l->c; c++) fn(a, b * l->c + c, thread);
        } else if (l->type == DROPOUT && net->train) {
            drop_ctx c = {.l = l, .net = net, .call = trunk.call[i]};
            dropout_image(&c, b, thread);
        }
        prof_thread_stop(t0, i, l, 0, thread);
    }
}

static void trunk_backward_item(void *vctx, int64_t it, int thread)
{
    (void)vctx;
    float *slot = trunk.slots + (size_t)it * trunk.item_floats;
    memset(slot, 0, sizeof(float) * trunk.item_floats);
    int batch = trunk.nets[0].batch, b0 = (int)it * trunk.per;
    int b1 = b0 + trunk.per < batch ? b0 + trunk.per : batch;
    for (int b = b0; b < b1; b++)
        for (int i = trunk.T - 1; i >= 0; i--) {
            network *net = &trunk.nets[i];
            layer *l = &net->layers[i];
            double t0 = prof_thread_start();
            if (l->type == CONVOLUTIONAL) {
                dconv *g = &trunk.g[i];
                float *dw = slot + trunk.slot_off[i], *db = dw + (size_t)g->M * g->K;
                float *xp = scratch[thread], *dp = xp + g->xlen, *dq = dp + (size_t)g->Mr * g->P;
                dconv_backward_image(g, b, xp, dp, db, dq, dq + g->qlen);
                conv_dw_kernel(dp, g->P, 0, xp, 0, 1, g->offx, g->Kr, g->Mr, dw, g->M, g->K);
            } else if (l->type == MAXPOOL && net->delta) {
                void *a[2] = {l, net};
                for (int c = 0; c < l->c; c++) maxpool_back_plane(a, b * l->c + c, thread);
            } else if (l->type == DROPOUT && net->delta) {
                size_t o = (size_t)b * l->inputs;
                dropout_back(net->delta + o, l->rand + o, (size_t)l->inputs, l->probability, l->scale);
            }
            prof_thread_stop(t0, i, l, 1, thread);
        }
}

/* The trunk's backward pass, then its gradients summed in item order. */
static void trunk_backward(void)
{
    parallel_for(trunk.items, threads(), trunk_backward_item, NULL);
    for (int i = 0; i < trunk.T; i++) {
        layer *l = &trunk.netp->layers[i];
        if (l->type != CONVOLUTIONAL) continue;
        size_t mk = (size_t)l->n * l->size * l->size * l->c;
        for (int it = 0; it < trunk.items; it++) {
            const float *dw = trunk.slots + (size_t)it * trunk.item_floats + trunk.slot_off[i];
            add_into(l->weight_updates, dw, mk);
            add_into(l->bias_updates, dw + mk, (size_t)l->n);
        }
    }
}

/* ------------------------------------------------------------------ the network passes */

/* Darknet's forward_network / backward_network, step for step (a layer reads the previous
 * layer's output and adds into its delta; layer 0 reads net->input and, net->delta being
 * NULL, computes no input gradient), with the trunk (above) going image by image, the
 * per-layer timer of FP_DN_PROFILE, memset for zeroing the deltas, and no zeroing at all in
 * inference passes. */
void forward_network(network *netp)
{
    if (!fast_on) { plain.fwd_net(netp); return; }
    network net = *netp;
    int T = trunk_len(netp);
    trunk.netp = NULL;
    if (T) {
        prof_start();
        trunk_plan(netp, T);
        parallel_for(net.batch, threads(), trunk_forward_image, NULL);
        net.input = netp->layers[T - 1].output;
    }
    for (int i = T; i < net.n; i++) {
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
    /* the trunk, if this network's last forward pass (a training one) planned it */
    int T = trunk.netp == netp && trunk.train && trunk.T == trunk_len(netp) ? trunk.T : 0;
    for (int i = net.n - 1; i >= T; i--) {
        layer l = net.layers[i];
        if (l.stopbackward) return;
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
    if (T) trunk_backward();
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
