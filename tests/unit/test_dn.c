/* Unit tests of common/dn_fast.c (our replacements of Darknet's hot functions) against
 * Darknet's own definitions on the same random data, of common/adam.c against the paper's
 * formula, and of common/dn_net.c (seeding, CNN codes checked against a forward pass
 * computed here by hand from the weights file).
 * Darknet's own functions are reached with dn_plain() (dlsym RTLD_NEXT); with
 * dn_fast_set(0) every replacement forwards to Darknet's, so a plain layer call is Darknet
 * through and through. Tolerance: 1e-4 relative for anything going through a GEMM (sums in
 * another order), exact equality elsewhere. */
#include "adam.h"
#include "check.h"
#include "dn_net.h"
#include "rng.h"

#include <darknet.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
              int ldb, float BETA, float *C, int ldc);
void im2col_cpu(float *data_im, int channels, int height, int width, int ksize, int stride,
                int pad, float *data_col);
void col2im_cpu(float *data_col, int channels, int height, int width, int ksize, int stride,
                int pad, float *data_im);
void activate_array(float *x, const int n, const ACTIVATION a);
void gradient_array(const float *x, const int n, const ACTIVATION a, float *delta);

static rng R;
static char dir[] = "/tmp/fp-test-dn-XXXXXX";

static float *randv(size_t n)
{
    float *v = xmalloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) v[i] = (float)(2 * rng_uniform(&R) - 1);
    return v;
}

static float *copyv(const float *a, size_t n)
{
    float *v = xmalloc(sizeof(float) * (n ? n : 1));
    memcpy(v, a, sizeof(float) * n);
    return v;
}

/* max |a-b| / max(1, max |b|): relative to the data's scale. */
static double rel_err(const float *a, const float *b, size_t n)
{
    double m = 0, s = 1;
    for (size_t i = 0; i < n; i++) s = fmax(s, fabs(b[i]));
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m / s;
}

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, sizeof(float) * n) == 0; }

static const char *put(const char *name, const char *text)
{
    static char p[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    FILE *f = fopen(p[k], "wb");
    fputs(text, f);
    fclose(f);
    return p[k];
}

/* ------------------------------------------------------------------ kernels */

static void test_gemm(void)
{
    typedef void (*gemm_fn)(int, int, int, int, int, float, float *, int, float *, int, float, float *, int);
    gemm_fn plain = (gemm_fn)dn_plain("gemm_cpu");
    int sizes[][3] = {{1, 1, 1}, {7, 5, 3}, {32, 3600, 27}, {64, 81, 576}, {32, 512, 2304}, {512, 2304, 32}, {3, 300, 700}};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
                int lda = ta ? M : K, ldb = tb ? K : N;
                float *A = randv((size_t)M * K), *B = randv((size_t)K * N), *C = randv((size_t)M * N);
                float *C2 = copyv(C, (size_t)M * N);
                gemm_cpu(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C, N);
                plain(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C2, N);
                double e = rel_err(C, C2, (size_t)M * N);
                if (e > 1e-4) fprintf(stderr, "gemm %dx%dx%d ta=%d tb=%d: rel err %g\n", M, N, K, ta, tb, e);
                CHECK(e <= 1e-4);
                free(A); free(B); free(C); free(C2);
            }
}

static void test_im2col_col2im(void)
{
    typedef void (*cvt)(float *, int, int, int, int, int, int, float *);
    cvt p_im2col = (cvt)dn_plain("im2col_cpu"), p_col2im = (cvt)dn_plain("col2im_cpu");
    int cases[][6] = {/* c, h, w, ks, stride, pad */
                      {3, 8, 8, 3, 1, 1}, {2, 7, 5, 3, 1, 0}, {4, 9, 9, 3, 2, 1}, {1, 6, 6, 1, 1, 0},
                      {3, 10, 7, 5, 2, 2}, {2, 5, 5, 3, 3, 0}, {1, 4, 4, 5, 1, 2}, {5, 31, 31, 3, 1, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int c = cases[k][0], h = cases[k][1], w = cases[k][2], ks = cases[k][3], st = cases[k][4], pad = cases[k][5];
        int oh = (h + 2 * pad - ks) / st + 1, ow = (w + 2 * pad - ks) / st + 1;
        size_t ncol = (size_t)c * ks * ks * oh * ow, nim = (size_t)c * h * w;
        float *im = randv(nim), *col = randv(ncol), *col2 = copyv(col, ncol);
        im2col_cpu(im, c, h, w, ks, st, pad, col);
        p_im2col(im, c, h, w, ks, st, pad, col2);
        CHECK(same(col, col2, ncol));
        float *src = randv(ncol), *a = randv(nim), *b = copyv(a, nim);
        col2im_cpu(src, c, h, w, ks, st, pad, a);
        p_col2im(src, c, h, w, ks, st, pad, b);
        CHECK(same(a, b, nim));         /* same summation order per pixel: bit-identical */
        free(im); free(col); free(col2); free(src); free(a); free(b);
    }
}

static void test_activations(void)
{
    ACTIVATION acts[] = {RELU, LEAKY, LINEAR, LOGISTIC};
    for (size_t k = 0; k < sizeof acts / sizeof *acts; k++) {
        size_t n = 1000;
        float *x = randv(n), *y = copyv(x, n), *d = randv(n), *e = copyv(d, n);
        activate_array(x, (int)n, acts[k]);
        gradient_array(x, (int)n, acts[k], d);
        dn_fast_set(0);
        activate_array(y, (int)n, acts[k]);
        gradient_array(y, (int)n, acts[k], e);
        dn_fast_set(1);
        CHECK(same(x, y, n) && same(d, e, n));
        free(x); free(y); free(d); free(e);
    }
}

/* ------------------------------------------------------------------ layers */

/* A small network exercising every replaced layer; layer 0's input is net->input. */
static const char *layers_cfg =
    "[net]\nbatch=5\nheight=13\nwidth=11\nchannels=3\nlearning_rate=0.01\nmomentum=0.9\ndecay=0.0005\n"
    "[convolutional]\nfilters=6\nsize=3\nstride=1\npad=1\nactivation=relu\n"
    "[convolutional]\nfilters=5\nsize=3\nstride=2\npadding=0\nactivation=leaky\n"
    "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=relu\n"
    "[convolutional]\nfilters=4\nsize=1\nstride=1\npad=0\nactivation=linear\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=3\nsize=3\nstride=1\npad=1\nactivation=relu\n"
    "[maxpool]\nsize=2\nstride=2\npadding=0\n"
    "[connected]\noutput=3\nactivation=linear\n"
    "[softmax]\n";

typedef struct { float *rm, *rv; } bn_state;

/* Runs layer i forward and backward (input and output deltas random) in the current mode
 * and returns copies of output, delta-in, weight/bias updates. */
typedef struct { float *out, *din, *dw, *db; size_t no, ni, nw, nb; } layer_run;

static layer_run run_layer(network *net, int i, const float *in, const float *dout, int train)
{
    layer l = net->layers[i];
    layer_run r = {0};
    r.ni = (size_t)l.inputs * l.batch;
    r.no = (size_t)l.outputs * l.batch;
    float *input = copyv(in, r.ni), *delta_in = xcalloc(r.ni, sizeof(float));
    network n = *net;
    n.input = input;
    n.delta = delta_in;
    n.train = train;
    n.index = i;
    if (l.type == CONVOLUTIONAL || l.type == CONNECTED) {
        r.nw = l.type == CONVOLUTIONAL ? (size_t)l.nweights : (size_t)l.inputs * l.outputs;
        r.nb = (size_t)(l.type == CONVOLUTIONAL ? l.n : l.outputs);
        memset(l.weight_updates, 0, sizeof(float) * r.nw);
        memset(l.bias_updates, 0, sizeof(float) * r.nb);
    }
    memset(l.delta, 0, sizeof(float) * r.no);
    l.forward(l, n);
    r.out = copyv(l.output, r.no);
    memcpy(l.delta, dout, sizeof(float) * r.no);
    l.backward(l, n);
    r.din = copyv(delta_in, r.ni);
    if (r.nw) { r.dw = copyv(l.weight_updates, r.nw); r.db = copyv(l.bias_updates, r.nb); }
    free(input);
    free(delta_in);
    return r;
}

static void free_run(layer_run *r) { free(r->out); free(r->din); free(r->dw); free(r->db); }

/* Large enough for dn_fast.c's tiled path (K*N above TILE_FLOATS: one image per work item,
 * in tiles of output rows, whose col2im contributions overlap at the tile borders). */
static const char *big_cfg =
    "[net]\nbatch=3\nheight=40\nwidth=40\nchannels=8\nlearning_rate=0.01\nmomentum=0.9\n"
    "[convolutional]\nfilters=6\nsize=3\nstride=1\npad=1\nactivation=relu\n"
    "[convolutional]\nbatch_normalize=1\nfilters=5\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "[connected]\noutput=2\nactivation=linear\n[softmax]\n";

/* Shapes for the direct path's corners: 5x5 kernels with pad 1 (less than "same") and pad 4
 * (= size-1: the input gradient needs no padding), filter and channel counts that are not
 * multiples of the kernels' blocks of 8 and 4, 2x2 pooling of odd sizes. */
static const char *direct_cfg =
    "[net]\nbatch=4\nheight=19\nwidth=17\nchannels=3\nlearning_rate=0.01\nmomentum=0.9\n"
    "[convolutional]\nfilters=7\nsize=5\nstride=1\npadding=1\nactivation=relu\n"
    "[convolutional]\nfilters=9\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=2\npadding=0\n"
    "[convolutional]\nfilters=10\nsize=5\nstride=1\npadding=4\nactivation=relu\n"
    "[maxpool]\nsize=2\nstride=2\npadding=0\n"
    "[connected]\noutput=3\nactivation=linear\n[softmax]\n";

static void test_layers(const char *text, int batch)
{
    dn_net *d = dn_load(put("layers.cfg", text), NULL, batch, 7);
    network *net = dn_network(d);
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->type == SOFTMAX) continue;
        float *in = randv((size_t)l->inputs * l->batch), *dout = randv((size_t)l->outputs * l->batch);
        for (int train = 0; train < 2; train++) {
            /* batch norm keeps running statistics: give both runs the same starting ones */
            float *rm = NULL, *rv = NULL;
            if (l->batch_normalize) {
                for (int k = 0; k < l->out_c; k++) l->rolling_variance[k] = 1 + k;
                rm = copyv(l->rolling_mean, (size_t)l->out_c);
                rv = copyv(l->rolling_variance, (size_t)l->out_c);
            }
            layer_run ours = run_layer(net, i, in, dout, train);
            if (rm) { memcpy(l->rolling_mean, rm, sizeof(float) * l->out_c); memcpy(l->rolling_variance, rv, sizeof(float) * l->out_c); }
            dn_fast_set(0);
            layer_run ref = run_layer(net, i, in, dout, train);
            dn_fast_set(1);
            double eo = rel_err(ours.out, ref.out, ours.no), ei = rel_err(ours.din, ref.din, ours.ni);
            double ew = ours.nw ? rel_err(ours.dw, ref.dw, ours.nw) : 0, eb = ours.nb ? rel_err(ours.db, ref.db, ours.nb) : 0;
            if (eo > 1e-4 || ei > 1e-4 || ew > 1e-4 || eb > 1e-4)
                fprintf(stderr, "layer %d (type %d, train %d): output %g, input delta %g, dW %g, db %g\n", i, (int)l->type, train, eo, ei, ew, eb);
            CHECK(eo <= 1e-4);
            CHECK(ei <= 1e-4);
            CHECK(ew <= 1e-4);
            CHECK(eb <= 1e-4);
            if (l->type == MAXPOOL) CHECK(same(ours.out, ref.out, ours.no) && same(ours.din, ref.din, ours.ni));
            free_run(&ours);
            free_run(&ref);
            free(rm);
            free(rv);
        }
        free(in);
        free(dout);
    }
    dn_free(d);
}

/* Darknet's default [maxpool] padding (size-1) on odd sizes, and a window larger than the
 * stride: plain and ours must agree exactly, including which index wins a tie. */
static void test_maxpool_shapes(void)
{
    const char *cfgs[] = {
        "[net]\nbatch=3\nheight=7\nwidth=9\nchannels=2\n[maxpool]\nsize=2\nstride=2\n[softmax]\n",
        "[net]\nbatch=3\nheight=7\nwidth=9\nchannels=2\n[maxpool]\nsize=3\nstride=2\n[softmax]\n",
        "[net]\nbatch=3\nheight=8\nwidth=8\nchannels=2\n[maxpool]\nsize=3\nstride=1\npadding=2\n[softmax]\n"};
    for (size_t k = 0; k < sizeof cfgs / sizeof *cfgs; k++) {
        dn_net *d = dn_load(put("pool.cfg", cfgs[k]), NULL, 3, 1);
        network *net = dn_network(d);
        layer *l = &net->layers[0];
        float *in = randv((size_t)l->inputs * l->batch), *dout = randv((size_t)l->outputs * l->batch);
        for (size_t i = 0; i < (size_t)l->inputs * l->batch; i += 3) in[i] = 0.5f;   /* ties */
        layer_run ours = run_layer(net, 0, in, dout, 1);
        dn_fast_set(0);
        layer_run ref = run_layer(net, 0, in, dout, 1);
        dn_fast_set(1);
        CHECK(same(ours.out, ref.out, ours.no));
        CHECK(same(ours.din, ref.din, ours.ni));
        free_run(&ours); free_run(&ref); free(in); free(dout);
        dn_free(d);
    }
}

/* Dropout draws differ from Darknet's rand() by design; check what it must do instead. */
static void test_dropout(void)
{
    dn_net *d = dn_load(put("drop.cfg", "[net]\nbatch=4\nheight=1\nwidth=1\nchannels=5000\n"
                                        "[dropout]\nprobability=.3\n[softmax]\n"), NULL, 4, 3);
    network *net = dn_network(d);
    layer l = net->layers[0];
    size_t n = (size_t)l.inputs * l.batch;
    float *x = randv(n), *x0 = copyv(x, n), *dl = randv(n), *dl0 = copyv(dl, n);
    network nn = *net;
    nn.input = x;
    nn.delta = dl;
    nn.train = 1;
    l.forward(l, nn);
    size_t zero = 0, ok = 1;
    for (size_t i = 0; i < n; i++) {
        if (x[i] == 0) zero++;
        else ok &= fabsf(x[i] - x0[i] / 0.7f) < 1e-5f;
    }
    CHECK(ok);
    CHECK(fabs((double)zero / n - 0.3) < 0.01);
    l.backward(l, nn);
    ok = 1;
    for (size_t i = 0; i < n; i++) ok &= (x[i] == 0) ? dl[i] == 0 : fabsf(dl[i] - dl0[i] / 0.7f) < 1e-5f;
    CHECK(ok);
    /* inference: identity */
    memcpy(x, x0, sizeof(float) * n);
    nn.train = 0;
    l.forward(l, nn);
    CHECK(same(x, x0, n));
    free(x); free(x0); free(dl); free(dl0);
    dn_free(d);
}

/* A whole SGD step (no dropout: its draws differ) of a small net, ours vs plain Darknet. */
static void test_train_step(void)
{
    const char *cfg = put("step.cfg",
        "[net]\nbatch=6\nheight=16\nwidth=16\nchannels=3\nlearning_rate=0.05\nmomentum=0.9\ndecay=0.0005\n"
        "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=relu\n"
        "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npadding=0\nactivation=relu\n"
        "[maxpool]\nsize=2\nstride=2\npadding=0\n"
        "[connected]\noutput=16\nactivation=relu\n[connected]\noutput=3\nactivation=linear\n[softmax]\n");
    uint8_t *img = xmalloc(6 * 16 * 16 * 3);
    for (int i = 0; i < 6 * 16 * 16 * 3; i++) img[i] = (uint8_t)rng_below(&R, 256);
    const uint8_t *p[6];
    int lab[6];
    for (int i = 0; i < 6; i++) { p[i] = img + i * 16 * 16 * 3; lab[i] = i % 3; }
    float loss[2], *w[2];
    for (int mode = 0; mode < 2; mode++) {
        dn_fast_set(mode);
        dn_net *d = dn_load(cfg, NULL, 6, 11);
        for (int s = 0; s < 3; s++) loss[mode] = dn_train_batch(d, p, lab, NULL, NULL);
        w[mode] = copyv(dn_network(d)->layers[0].weights, 8 * 27);
        dn_free(d);
    }
    dn_fast_set(1);
    CHECK_NEAR(loss[1], loss[0], 1e-4 * fabs(loss[0]));
    CHECK(rel_err(w[1], w[0], 8 * 27) <= 1e-4);
    free(w[0]); free(w[1]); free(img);
}

/* The trunk: leading conv/maxpool/dropout layers go image by image (dn_fast.c). Three SGD
 * steps of a network whose first five layers form a trunk, against Darknet's plain code and
 * against our layer-by-layer passes; 1 and 2 threads must give the same bits. With dropout
 * (whose draws are ours, not Darknet's), the trunk's forward pass must give exactly the
 * layer-by-layer one: the first step's loss is the same float. */
typedef struct { float loss[3]; float *w[4]; } steps_run;

static steps_run run_steps(const char *cfg, const uint8_t *const *p, const int *lab, int mode)
{
    /* mode 0: Darknet plain; 1: ours layer by layer; 2, 3: ours with the trunk, 1 and 2 threads */
    dn_fast_set(mode != 0);
    dn_fast_trunk(mode >= 2);
    dn_fast_threads(mode == 3 ? 2 : 1);
    dn_net *d = dn_load(cfg, NULL, 6, 11);
    steps_run r;
    for (int s = 0; s < 3; s++) r.loss[s] = dn_train_batch(d, p, lab, NULL, NULL);
    network *net = dn_network(d);
    for (int k = 0, i = 0; i < net->n && k < 4; i++) {
        layer *l = &net->layers[i];
        if (l->type == CONVOLUTIONAL) r.w[k++] = copyv(l->weights, (size_t)l->nweights);
        else if (l->type == CONNECTED) r.w[k++] = copyv(l->weights, (size_t)l->inputs * l->outputs);
    }
    dn_free(d);
    dn_fast_set(1);
    dn_fast_trunk(1);
    dn_fast_threads(0);
    return r;
}

static void test_trunk(void)
{
    const char *head = "[net]\nbatch=6\nheight=19\nwidth=17\nchannels=3\nlearning_rate=0.05\nmomentum=0.9\ndecay=0.0005\n"
        "[convolutional]\nfilters=7\nsize=5\nstride=1\npadding=1\nactivation=relu\n"
        "[convolutional]\nfilters=9\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
        "[maxpool]\nsize=2\nstride=2\npadding=0\n";
    const char *tail = "[convolutional]\nfilters=10\nsize=3\nstride=1\npadding=2\nactivation=relu\n"
        "[maxpool]\nsize=2\nstride=2\npadding=0\n"
        "[connected]\noutput=3\nactivation=linear\n[softmax]\n";
    char text[2][1024];
    snprintf(text[0], sizeof text[0], "%s%s", head, tail);
    snprintf(text[1], sizeof text[1], "%s[dropout]\nprobability=.3\n%s", head, tail);
    size_t nw[4] = {7 * 75, 9 * 63, 10 * 81, 3 * 200};
    enum { B = 6, S = 19 * 17 * 3 };
    uint8_t *img = xmalloc(B * S);
    for (int i = 0; i < B * S; i++) img[i] = (uint8_t)rng_below(&R, 256);
    const uint8_t *p[B];
    int lab[B];
    for (int i = 0; i < B; i++) { p[i] = img + i * S; lab[i] = i % 3; }
    for (int drop = 0; drop < 2; drop++) {
        const char *cfg = put(drop ? "trunk-drop.cfg" : "trunk.cfg", text[drop]);
        steps_run r[4];
        for (int mode = drop ? 1 : 0; mode < 4; mode++) r[mode] = run_steps(cfg, p, lab, mode);
        int same_bits = 1;
        for (int s = 0; s < 3; s++) same_bits &= r[2].loss[s] == r[3].loss[s];
        for (int k = 0; k < 4; k++) same_bits &= same(r[2].w[k], r[3].w[k], nw[k]);
        CHECK(same_bits);                                  /* any thread count, same bits */
        CHECK(r[2].loss[0] == r[1].loss[0]);               /* same forward pass */
        for (int ref = drop ? 1 : 0; ref < 2; ref++) {
            double e = 0;
            for (int s = 0; s < 3; s++) e = fmax(e, fabs(r[2].loss[s] - r[ref].loss[s]) / fabs(r[ref].loss[s]));
            for (int k = 0; k < 4; k++) e = fmax(e, rel_err(r[2].w[k], r[ref].w[k], nw[k]));
            if (e > 1e-4) fprintf(stderr, "trunk (dropout %d) vs %s: rel err %g\n", drop, ref ? "layer by layer" : "plain", e);
            CHECK(e <= 1e-4);
        }
        for (int mode = drop ? 1 : 0; mode < 4; mode++)
            for (int k = 0; k < 4; k++) free(r[mode].w[k]);
    }
    free(img);
}

/* The loss Darknet trains on: [softmax] alone gives the cross-entropy's exact gradient (a
 * [cost] layer after it would add truth - p a second time). Darknet keeps MINUS the
 * gradient of the batch's summed loss in weight_updates; compare it with central finite
 * differences of that loss, through conv (pad 1), maxpool (padding 0), connected, softmax. */
static void test_gradient_check(void)
{
    const char *cfg = put("grad.cfg",
        "[net]\nbatch=3\nheight=6\nwidth=6\nchannels=2\n"
        "[convolutional]\nfilters=3\nsize=3\nstride=1\npad=1\nactivation=linear\n"
        "[maxpool]\nsize=2\nstride=2\npadding=0\n"
        "[connected]\noutput=4\nactivation=linear\n[softmax]\n");
    dn_net *d = dn_load(cfg, NULL, 3, 21);
    network *net = dn_network(d);
    for (int i = 0; i < net->inputs * 3; i++) net->input[i] = (float)rng_uniform(&R);
    memset(net->truth, 0, sizeof(float) * 12);
    for (int b = 0; b < 3; b++) net->truth[b * 4 + b] = 1;
    net->train = 1;
    forward_network(net);
    backward_network(net);
    layer *conv = &net->layers[0], *fc = &net->layers[2];
    float *gc = copyv(conv->weight_updates, (size_t)conv->nweights);
    float *gf = copyv(fc->weight_updates, (size_t)fc->inputs * fc->outputs);
    /* Linear convolution: a finite difference across a ReLU/leaky kink would be off (the
     * activations' gradients are checked against Darknet's above). A maxpool winner may still
     * change within +-h: require 95 % of the checked weights within 2 %. */
    int checked = 0, good = 0;
    for (int which = 0; which < 2; which++) {
        float *w = which ? fc->weights : conv->weights, *g = which ? gf : gc;
        int n = which ? fc->inputs * fc->outputs : conv->nweights;
        for (int i = 0; i < n; i += 3) {
            float keep = w[i], h = 2e-3f;
            w[i] = keep + h;
            forward_network(net);
            double lp = *net->cost;
            w[i] = keep - h;
            forward_network(net);
            double lm = *net->cost;
            w[i] = keep;
            double fd = (lp - lm) / (2 * h), an = -g[i];
            checked++;
            good += fabs(fd - an) <= 0.02 * fmax(fabs(an), 0.05);
        }
    }
    if (good < 0.95 * checked) fprintf(stderr, "gradient check: %d of %d weights within 2 %%\n", good, checked);
    CHECK(good >= 0.95 * checked);
    free(gc);
    free(gf);
    dn_free(d);
}

/* ------------------------------------------------------------------ Adam */

static void test_adam(void)
{
    /* Against the paper's algorithm in double precision, 5 steps, batch 4, with decay. */
    int n = 50, batch = 4;
    float *w = randv((size_t)n), *m = xcalloc((size_t)n, 4), *v = xcalloc((size_t)n, 4), *u = xmalloc(sizeof(float) * n);
    double *W = xmalloc(sizeof(double) * n), *M = xcalloc((size_t)n, 8), *V = xcalloc((size_t)n, 8);
    for (int i = 0; i < n; i++) W[i] = w[i];
    double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-7, decay = 0.001;
    for (int t = 1; t <= 5; t++) {
        for (int i = 0; i < n; i++) u[i] = (float)(2 * rng_uniform(&R) - 1);
        for (int i = 0; i < n; i++) {
            double g = -(double)u[i] / batch + decay * W[i];
            M[i] = b1 * M[i] + (1 - b1) * g;
            V[i] = b2 * V[i] + (1 - b2) * g * g;
            double mh = M[i] / (1 - pow(b1, t)), vh = V[i] / (1 - pow(b2, t));
            W[i] -= lr * mh / (sqrt(vh) + eps);
        }
        adam_args a = {(float)lr, (float)b1, (float)b2, (float)eps, (float)decay, t};
        adam_step(w, u, m, v, n, batch, &a);
        int zeroed = 1;
        for (int i = 0; i < n; i++) zeroed &= u[i] == 0;
        CHECK(zeroed);
    }
    double e = 0;
    for (int i = 0; i < n; i++) e = fmax(e, fabs(w[i] - W[i]));
    CHECK(e < 1e-5);
    free(w); free(m); free(v); free(u); free(W); free(M); free(V);
}

/* The cfg's adam=1 reaches our update: one step moves each weight by about lr (Adam's
 * first step is lr * sign(g)), whatever the gradient's scale. */
static void test_adam_in_network(void)
{
    const char *cfg = put("adam.cfg",
        "[net]\nbatch=2\nheight=4\nwidth=4\nchannels=3\nadam=1\nlearning_rate=0.001\nB1=0.9\nB2=0.999\neps=1e-7\ndecay=0\n"
        "[convolutional]\nfilters=2\nsize=3\nstride=1\npad=1\nactivation=linear\n"
        "[connected]\noutput=2\nactivation=linear\n[softmax]\n");
    dn_net *d = dn_load(cfg, NULL, 2, 5);
    CHECK(dn_is_adam(d));
    network *net = dn_network(d);
    float *w0 = copyv(net->layers[0].weights, 54);
    uint8_t img[2 * 4 * 4 * 3];
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 37);
    const uint8_t *p[2] = {img, img + 48};
    int lab[2] = {0, 1};
    dn_train_batch(d, p, lab, NULL, NULL);
    int ok = 1;
    for (int i = 0; i < 54; i++) {
        double step = fabs(net->layers[0].weights[i] - w0[i]);
        ok &= step < 1.001e-3 && (step > 0.9e-3 || step == 0);
    }
    CHECK(ok);
    free(w0);
    dn_free(d);
}

/* ------------------------------------------------------------------ dn_net */

static const char *tiny_cfg =
    "[net]\nbatch=4\nheight=6\nwidth=5\nchannels=3\n"
    "[convolutional]\nfilters=2\nsize=3\nstride=1\npad=1\nactivation=relu\n"
    "[connected]\noutput=3\nactivation=linear\n"
    "[softmax]\n";

static void test_seed(void)
{
    const char *cfg = put("tiny.cfg", tiny_cfg);
    dn_net *a = dn_load(cfg, NULL, 4, 42), *b = dn_load(cfg, NULL, 4, 42), *c = dn_load(cfg, NULL, 4, 43);
    network *na = dn_network(a), *nb = dn_network(b), *nc = dn_network(c);
    CHECK(same(na->layers[0].weights, nb->layers[0].weights, 54));
    CHECK(same(na->layers[1].weights, nb->layers[1].weights, 3 * 60));
    CHECK(!same(na->layers[0].weights, nc->layers[0].weights, 54));
    dn_free(a); dn_free(b); dn_free(c);
}

/* Codes from dn_codes() vs a forward pass written out here from the weights FILE: Darknet's
 * format is int32 major, minor, revision, then `seen` (size_t from version 0.2), then per
 * layer: conv biases[n], weights[n][c][3][3]; connected biases[out], weights[out][in]. */
static void test_codes(void)
{
    const char *cfg = put("tiny.cfg", tiny_cfg);
    char wpath[300];
    snprintf(wpath, sizeof wpath, "%s/tiny.weights", dir);
    dn_net *d0 = dn_load(cfg, NULL, 4, 9);
    dn_save_weights(d0, wpath);
    dn_free(d0);

    FILE *f = fopen(wpath, "rb");
    int32_t ver[3];
    CHECK(fread(ver, 4, 3, f) == 3);
    if (ver[0] * 10 + ver[1] >= 2) { uint64_t seen; CHECK(fread(&seen, 8, 1, f) == 1); }
    else { int32_t seen; CHECK(fread(&seen, 4, 1, f) == 1); }
    float cb[2], cw[2][3][3][3], fb[3], fw[3][60];
    CHECK(fread(cb, 4, 2, f) == 2);
    CHECK(fread(cw, 4, 54, f) == 54);
    CHECK(fread(fb, 4, 3, f) == 3);
    CHECK(fread(fw, 4, 180, f) == 180);
    CHECK(fgetc(f) == EOF);
    fclose(f);

    enum { H = 6, W = 5, NIMG = 7 };
    uint8_t img[NIMG][H][W][3];
    for (int n = 0; n < NIMG; n++) for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) for (int c = 0; c < 3; c++)
        img[n][y][x][c] = (uint8_t)rng_below(&R, 256);

    dn_net *d = dn_load(cfg, wpath, 4, 1234);   /* another seed: the weights come from the file */
    CHECK(dn_code_len(d, 0) == 2);
    CHECK(dn_code_len(d, 1) == 3 && dn_code_len(d, -2) == 3);
    CHECK(dn_code_len(d, -1) == 3);
    float avg[NIMG][2], mx[NIMG][2], fc[NIMG][3], sm[NIMG][3];
    CHECK(dn_codes(d, &img[0][0][0][0], NIMG, H, W, 0, 0, &avg[0][0]) == 2);
    CHECK(dn_codes(d, &img[0][0][0][0], NIMG, H, W, 0, 1, &mx[0][0]) == 2);
    CHECK(dn_codes(d, &img[0][0][0][0], NIMG, H, W, -2, 0, &fc[0][0]) == 3);
    CHECK(dn_codes(d, &img[0][0][0][0], NIMG, H, W, -1, 0, &sm[0][0]) == 3);
    EXPECT_DIE(dn_codes(d, &img[0][0][0][0], 1, W, H, 0, 0, &avg[0][0]), "images are 6x5 but the network takes 5x6");
    EXPECT_DIE(dn_code_len(d, 5), "layer 5 does not exist");

    double worst = 0;
    for (int n = 0; n < NIMG; n++) {
        double conv[2][H][W];
        for (int k = 0; k < 2; k++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double s = cb[k];
                    for (int c = 0; c < 3; c++)
                        for (int dy = -1; dy <= 1; dy++)
                            for (int dx = -1; dx <= 1; dx++) {
                                int yy = y + dy, xx = x + dx;
                                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                                s += cw[k][c][dy + 1][dx + 1] * (img[n][yy][xx][c] / 255.0);
                            }
                    conv[k][y][x] = s > 0 ? s : 0;
                }
        for (int k = 0; k < 2; k++) {
            double sum = 0, m = -1e30;
            for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) { sum += conv[k][y][x]; m = fmax(m, conv[k][y][x]); }
            worst = fmax(worst, fabs(avg[n][k] - sum / (H * W)));
            worst = fmax(worst, fabs(mx[n][k] - m));
        }
        double z[3], zmax = -1e30, zs = 0;
        for (int o = 0; o < 3; o++) {
            double s = fb[o];
            for (int i = 0; i < 60; i++) s += fw[o][i] * conv[i / 30][(i % 30) / W][i % W];   /* C x H x W */
            z[o] = s;
            zmax = fmax(zmax, s);
            worst = fmax(worst, fabs(fc[n][o] - s));
        }
        for (int o = 0; o < 3; o++) zs += exp(z[o] - zmax);
        for (int o = 0; o < 3; o++) worst = fmax(worst, fabs(sm[n][o] - exp(z[o] - zmax) / zs));
    }
    if (worst > 1e-5) fprintf(stderr, "codes: worst difference %g\n", worst);
    CHECK(worst < 1e-5);
    dn_free(d);
}

/* dn_aug: the variant of an image the network sees (its input after dn_predict_aug), on a
 * 6x6 image whose pixel (x, y) has value 10y + x (+ 100 per channel). */
static void test_augment(void)
{
    const char *cfg = put("aug.cfg", "[net]\nbatch=1\nheight=6\nwidth=6\nchannels=3\n"
                                      "[connected]\noutput=2\nactivation=linear\n[softmax]\n");
    dn_net *d = dn_load(cfg, NULL, 1, 1);
    uint8_t img[6 * 6 * 3];
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 6; x++)
            for (int c = 0; c < 3; c++) img[(y * 6 + x) * 3 + c] = (uint8_t)(10 * y + x + 100 * c);
    const uint8_t *p[1] = {img};
    float prob[2], *in = dn_network(d)->input;
    /* value seen at (x, y) of channel c, x 255 */
    #define SEEN(c, x, y) (in[(c) * 36 + (y) * 6 + (x)] * 255.0f)
    dn_aug none = {0, 0, 0, 1}, flip = {1, 0, 0, 1}, shift = {0, 2, -1, 1}, zoom = {0, 0, 0, 2};
    dn_predict_aug(d, p, 1, &none, prob);
    int ok = 1;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++) ok &= SEEN(c, x, y) == img[(y * 6 + x) * 3 + c] && in[c * 36 + y * 6 + x] == img[(y * 6 + x) * 3 + c] / 255.0f;
    CHECK(ok);
    dn_predict_aug(d, p, 1, &flip, prob);
    CHECK(fabsf(SEEN(0, 0, 0) - 5) < 1e-4f && fabsf(SEEN(1, 5, 2) - 120) < 1e-4f);
    /* shifted right by 2 and up by 1: (x, y) shows (x - 2, y + 1); the border repeats */
    dn_predict_aug(d, p, 1, &shift, prob);
    CHECK(fabsf(SEEN(0, 2, 0) - 10) < 1e-4f && fabsf(SEEN(0, 5, 3) - 43) < 1e-4f);
    CHECK(fabsf(SEEN(0, 0, 0) - 10) < 1e-4f && fabsf(SEEN(2, 1, 5) - 250) < 1e-4f);
    /* zoom 2 about the centre (2.5, 2.5): (0, 0) reads (1.25, 1.25) -> 13.75, bilinear */
    dn_predict_aug(d, p, 1, &zoom, prob);
    CHECK(fabsf(SEEN(0, 0, 0) - 13.75f) < 1e-3f && fabsf(SEEN(0, 5, 5) - 41.25f) < 1e-3f);
    #undef SEEN
    dn_free(d);
}

/* The reported loss is -log(max(p, DN_P_FLOOR)): with logits far apart, Darknet's own cost
 * is infinite (p underflows to 0 in float) while training itself is sound. */
static void test_loss_floor(void)
{
    const char *cfg = put("floor.cfg", "[net]\nbatch=2\nheight=2\nwidth=2\nchannels=3\nadam=1\nlearning_rate=0.001\n"
                                        "[connected]\noutput=2\nactivation=linear\n[softmax]\n");
    dn_net *d = dn_load(cfg, NULL, 2, 3);
    layer *fc = &dn_network(d)->layers[0];
    /* class 0's logit = 100 * (sum of the 12 inputs), class 1's = -100 * that sum */
    for (int i = 0; i < 12; i++) { fc->weights[i] = 100; fc->weights[12 + i] = -100; }
    fc->biases[0] = fc->biases[1] = 0;
    uint8_t img[2 * 12];
    memset(img, 255, sizeof img);
    const uint8_t *p[2] = {img, img + 12};
    int lab[2] = {1, 0};                    /* image 0 mislabelled beyond float's range */
    float prob[4];
    float loss = dn_train_batch(d, p, lab, NULL, prob);
    CHECK(prob[1] == 0.0f);
    CHECK(isfinite(loss) && fabs(loss + log(DN_P_FLOOR)) < 1e-3);
    int finite = 1;
    for (int i = 0; i < 24; i++) finite &= isfinite(fc->weights[i]);
    CHECK(finite);
    dn_free(d);
}

static void test_cfg_and_errors(void)
{
    const char *cfg = put("t.cfg", "# comment\n[net]\nbatch=64\nheight=128\nwidth=128\nflip=1\n"
                                    "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=relu\n"
                                    "[connected]\noutput=2\nactivation=linear\n[connected]\noutput=7\n\nactivation=linear\n[softmax]\n");
    dn_cfg_opts o = {.batch = 3, .height = 9, .width = 8, .channels = 3, .classes = 6};
    dn_net *d = dn_load_opts(cfg, NULL, &o, 1);
    CHECK(dn_batch(d) == 3 && dn_height(d) == 9 && dn_width(d) == 8 && dn_outputs(d) == 6);
    CHECK(dn_net_option(d, "flip", 0) == 1 && dn_net_option(d, "nosuchkey", 7) == 7);
    CHECK(dn_network(d)->layers[1].outputs == 2);      /* only the LAST connected changes */
    dn_free(d);
    /* train-cnn's own keys: > 0 writes the value, < 0 writes 0, 0 keeps the cfg's line */
    dn_cfg_opts k = {.flip = -1, .translate = 6, .tta = 1};
    char out[300];
    snprintf(out, sizeof out, "%s/written.cfg", dir);
    dn_write_cfg(cfg, out, &k);
    d = dn_load_opts(out, NULL, &o, 1);
    CHECK(dn_net_option(d, "flip", 9) == 0 && dn_net_option(d, "translate", 9) == 6);
    CHECK(dn_net_option(d, "tta", 9) == 1 && dn_net_option(d, "zoom", 9) == 9);
    dn_free(d);
    EXPECT_DIE(dn_load(put("nonet.cfg", "[convolutional]\nfilters=2\n"), NULL, 1, 1), "has no [net] section");
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.cfg", dir);
    EXPECT_DIE(dn_load(missing, NULL, 1, 1), "cannot open cfg");
    EXPECT_DIE(dn_load(cfg, missing, 1, 1), "cannot open weights");
}

int main(void)
{
    err_init("test_dn");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    rng_seed(&R, 2024);
    dn_fast_init();
    test_gemm();
    test_im2col_col2im();
    test_activations();
    /* our direct convolutions (on AVX-512 CPUs), then im2col + GEMM, against Darknet's */
    for (int direct = 1; direct >= 0; direct--) {
        dn_fast_direct(direct);
        test_layers(layers_cfg, 5);
        test_layers(big_cfg, 3);
        test_layers(direct_cfg, 4);
    }
    dn_fast_direct(1);
    test_trunk();
    test_maxpool_shapes();
    test_dropout();
    test_train_step();
    test_gradient_check();
    test_adam();
    test_adam_in_network();
    test_seed();
    test_codes();
    test_augment();
    test_loss_floor();
    test_cfg_and_errors();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary("test_dn");
}
