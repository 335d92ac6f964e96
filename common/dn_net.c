/* dn_net.c - see dn_net.h. Darknet's own types stay inside this file and dn_fast.c. */
#define _GNU_SOURCE
#include "dn_net.h"
#include "err.h"

#include <darknet.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct dn_net {
    network *net;
    char **opt_keys;            /* other integer [net] keys Darknet does not know */
    int *opt_vals;
    int nopts;
};

/* ------------------------------------------------------------------ BLAS kernels */

char *openblas_get_corename(void);

void dn_blas_tune(char **argv)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (getenv("OPENBLAS_CORETYPE")) return;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
        return;
    const char *core = openblas_get_corename();
    if (!core || (strcasecmp(core, "Haswell") != 0 && strcasecmp(core, "Zen") != 0)) return;
    setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: go on with the kernels we have */
#else
    (void)argv;
#endif
}

/* ------------------------------------------------------------------ Darknet's output */

/* While Darknet parses, loads or saves, fds 1 and 2 point at a temporary file. If Darknet
 * exits (it calls exit(0) on a file it cannot open) or aborts (assert) meanwhile, the atexit
 * / SIGABRT handler restores stderr, shows what Darknet said and exits 1. */
static int verbose;
static volatile sig_atomic_t inside;
static int cap_fd = -1, saved_out = -1, saved_err = -1;

void dn_verbose(int on) { verbose = on; }

static void dump_capture(void)
{
    if (saved_out >= 0) dup2(saved_out, 1);
    if (saved_err >= 0) dup2(saved_err, 2);
    const char *p = err_prog();
    if (write(2, p, strlen(p)) < 0 || write(2, ": libdarknet stopped:\n", 22) < 0) return;
    if (cap_fd >= 0 && lseek(cap_fd, 0, SEEK_SET) == 0) {
        char buf[4096];
        ssize_t k;
        while ((k = read(cap_fd, buf, sizeof buf)) > 0)
            if (write(2, buf, (size_t)k) < 0) break;
    }
}

static void on_exit_inside(void)
{
    if (!inside) return;
    fflush(stdout);
    fflush(stderr);
    dump_capture();
    _exit(1);
}

static void on_abort(int sig)
{
    if (inside) { dump_capture(); _exit(1); }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void enter(void)
{
    static int installed;
    if (!installed) {
        atexit(on_exit_inside);
        signal(SIGABRT, on_abort);
        installed = 1;
    }
    fflush(stdout);
    fflush(stderr);
    saved_out = dup(1);
    saved_err = dup(2);
    if (verbose) {
        dup2(2, 1);                 /* Darknet's chatter goes to stderr, never to our data */
    } else {
        char tmpl[] = "/tmp/fp-darknet-log-XXXXXX";
        cap_fd = mkstemp(tmpl);
        if (cap_fd < 0) die("cannot create a temporary file: %s", strerror(errno));
        unlink(tmpl);
        dup2(cap_fd, 1);
        dup2(cap_fd, 2);
    }
    inside = 1;
}

static void leave(void)
{
    fflush(stdout);
    fflush(stderr);
    inside = 0;
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    saved_out = saved_err = -1;
    if (cap_fd >= 0) close(cap_fd);
    cap_fd = -1;
}

static void need_file(const char *path, const char *what)
{
    struct stat st;
    if (stat(path, &st) != 0) die("cannot open %s %s: %s", what, path, strerror(errno));
    if (!S_ISREG(st.st_mode)) die("%s %s is not a regular file", what, path);
    if (access(path, R_OK) != 0) die("cannot read %s %s: %s", what, path, strerror(errno));
}

/* ------------------------------------------------------------------ cfg copies */

typedef struct {
    char **v;
    int n, cap;
} lines;

static void push_line(lines *l, const char *s)
{
    if (l->n == l->cap) l->v = xrealloc(l->v, sizeof(char *) * (size_t)(l->cap = l->cap ? 2 * l->cap : 64));
    l->v[l->n++] = xstrdup(s);
}

static lines read_lines(const char *path)
{
    need_file(path, "cfg");
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open cfg %s: %s", path, strerror(errno));
    lines l = {0};
    char *s = NULL;
    size_t cap = 0;
    ssize_t k;
    while ((k = getline(&s, &cap, f)) >= 0) {
        while (k > 0 && (s[k - 1] == '\n' || s[k - 1] == '\r')) s[--k] = 0;
        push_line(&l, s);
    }
    free(s);
    fclose(f);
    return l;
}

static void free_lines(lines *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

/* "[name]" -> name (lower case copy in buf), else NULL. */
static const char *section_of(const char *s, char *buf, size_t n)
{
    while (*s == ' ' || *s == '\t') s++;
    if (*s != '[') return NULL;
    s++;
    size_t i = 0;
    while (*s && *s != ']' && i + 1 < n) buf[i++] = (char)((*s >= 'A' && *s <= 'Z') ? *s + 32 : *s), s++;
    buf[i] = 0;
    return buf;
}

/* "key = value" -> key compared without spaces; value pointer through *val. */
static int key_is(const char *s, const char *key, const char **val)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t k = strlen(key);
    if (strncmp(s, key, k) != 0) return 0;
    s += k;
    while (*s == ' ' || *s == '\t') s++;
    if (*s != '=') return 0;
    if (val) *val = s + 1;
    return 1;
}

static int is_net_section(const char *sec) { return strcmp(sec, "net") == 0 || strcmp(sec, "network") == 0; }

/* Builds the substituted cfg text. */
static char *cfg_text(const char *tmpl, const dn_cfg_opts *o, size_t *len)
{
    lines in = read_lines(tmpl);
    char buf[64];
    /* The section whose size is the class count: the last [connected], or the last
     * [convolutional] when that comes later (a fully convolutional head). */
    int cls_sec = -1, net_sec = -1;
    for (int i = 0; i < in.n; i++) {
        const char *sec = section_of(in.v[i], buf, sizeof buf);
        if (!sec) continue;
        if (strcmp(sec, "connected") == 0 || strcmp(sec, "convolutional") == 0 || strcmp(sec, "conv") == 0)
            cls_sec = i;
        if (is_net_section(sec) && net_sec < 0) net_sec = i;
    }
    if (net_sec < 0) die("cfg %s has no [net] section", tmpl);
    int want_classes = o && o->classes > 0;
    if (want_classes && cls_sec < 0) die("cfg %s has no [connected] or [convolutional] layer to set the class count in", tmpl);
    const char *cls_key = NULL;
    if (want_classes) {
        section_of(in.v[cls_sec], buf, sizeof buf);
        cls_key = strcmp(buf, "connected") == 0 ? "output" : "filters";
    }
    /* val 0 keeps the cfg's line, > 0 writes val, < 0 writes 0. */
    struct { const char *key; int val; } net_keys[] = {
        {"batch", o ? o->batch : 0},   {"subdivisions", o && o->batch ? 1 : 0},
        {"height", o ? o->height : 0}, {"width", o ? o->width : 0},
        {"channels", o ? o->channels : 0}, {"flip", o ? o->flip : 0},
        {"translate", o ? o->translate : 0}, {"zoom", o ? o->zoom : 0},
        {"tta", o ? o->tta : 0}, {"plateau", o ? o->plateau : 0},
        {"patience", o ? o->patience : 0}, {"cosine", o ? o->cosine : 0},
        {"refit", o ? o->refit : 0}};
    const int nkeys = (int)(sizeof net_keys / sizeof *net_keys);

    char *text = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&text, &size);
    int cur = -1, in_net = 0;
    for (int i = 0; i < in.n; i++) {
        const char *sec = section_of(in.v[i], buf, sizeof buf);
        if (sec) {
            cur = i;
            in_net = (i == net_sec);
            fprintf(m, "%s\n", in.v[i]);
            /* Our values right after the header; the cfg's own lines for them are dropped. */
            if (in_net)
                for (int k = 0; k < nkeys; k++)
                    if (net_keys[k].val) fprintf(m, "%s=%d\n", net_keys[k].key, net_keys[k].val > 0 ? net_keys[k].val : 0);
            if (i == cls_sec && want_classes) fprintf(m, "%s=%d\n", cls_key, o->classes);
            continue;
        }
        int drop = 0;
        if (in_net)
            for (int k = 0; k < nkeys; k++)
                if (net_keys[k].val && key_is(in.v[i], net_keys[k].key, NULL)) drop = 1;
        if (cur == cls_sec && want_classes && key_is(in.v[i], cls_key, NULL)) drop = 1;
        if (!drop) fprintf(m, "%s\n", in.v[i]);
    }
    fclose(m);
    free_lines(&in);
    *len = size;
    return text;
}

void dn_write_cfg(const char *tmpl, const char *out, const dn_cfg_opts *o)
{
    size_t len;
    char *text = cfg_text(tmpl, o, &len);
    outfile f = out_open(out);
    if (fwrite(text, 1, len, f.fp) != len) { out_abort(&f); die("cannot write %s", out); }
    out_commit(&f);
    free(text);
}

/* Our own [net] keys: integers Darknet does not read (flip=...). */
static void read_net_options(dn_net *d, const char *text)
{
    static const char *known[] = {"batch", "subdivisions", "height", "width", "channels",
                                  "momentum", "decay", "learning_rate", "max_batches", "policy",
                                  "adam", "B1", "B2", "eps", "burn_in", "power", "steps",
                                  "scales", "step", "gamma", "angle", "saturation", "exposure",
                                  "hue", "aspect", "max_crop", "min_crop", "inputs", "time_steps",
                                  "notruth", "random", "center", "clip", "min_ratio",
                                  "max_ratio", "scale", NULL};
    char *copy = xstrdup(text), *save = NULL, buf[64];
    int in_net = 0;
    for (char *s = strtok_r(copy, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
        const char *sec = section_of(s, buf, sizeof buf);
        if (sec) { in_net = is_net_section(sec); continue; }
        if (!in_net) continue;
        while (*s == ' ' || *s == '\t') s++;
        if (*s == '#' || *s == ';' || !*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) continue;
        *eq = 0;
        char *e = eq;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
        int skip = 0;
        for (int k = 0; known[k]; k++) if (strcmp(s, known[k]) == 0) skip = 1;
        if (skip) continue;
        d->opt_keys = xrealloc(d->opt_keys, sizeof(char *) * (size_t)(d->nopts + 1));
        d->opt_vals = xrealloc(d->opt_vals, sizeof(int) * (size_t)(d->nopts + 1));
        d->opt_keys[d->nopts] = xstrdup(s);
        d->opt_vals[d->nopts] = atoi(eq + 1);
        d->nopts++;
    }
    free(copy);
}

int dn_net_option(const dn_net *n, const char *key, int def)
{
    for (int i = 0; i < n->nopts; i++)
        if (strcmp(n->opt_keys[i], key) == 0) return n->opt_vals[i];
    return def;
}

/* ------------------------------------------------------------------ loading */

/* Adam needs m and v for every parameter array; Darknet allocates them only for some layer
 * types and some versions. Fill any gaps so dn_fast.c's update always has them. */
static float *zeros(int n) { return xcalloc((size_t)(n > 0 ? n : 1), sizeof(float)); }

static void adam_buffers(network *net)
{
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        int nw, nb;
        if (l->type == CONVOLUTIONAL) { nw = l->nweights; nb = l->n; }
        else if (l->type == CONNECTED) { nw = l->inputs * l->outputs; nb = l->outputs; }
        else continue;
        if (!l->m) l->m = zeros(nw);
        if (!l->v) l->v = zeros(nw);
        if (!l->bias_m) l->bias_m = zeros(nb);
        if (!l->bias_v) l->bias_v = zeros(nb);
        if (l->batch_normalize) {
            if (!l->scale_m) l->scale_m = zeros(nb);
            if (!l->scale_v) l->scale_v = zeros(nb);
        }
    }
}

dn_net *dn_load_opts(const char *cfg, const char *weights, const dn_cfg_opts *o, uint64_t seed)
{
    if (weights) need_file(weights, "weights");
    dn_fast_init();
    size_t len;
    char *text = cfg_text(cfg, o, &len);
    char tmp[] = "/tmp/fp-darknet-cfg-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) die("cannot create a temporary file: %s", strerror(errno));
    if (write(fd, text, len) != (ssize_t)len) { close(fd); unlink(tmp); die("cannot write %s", tmp); }
    close(fd);

    dn_net *d = xcalloc(1, sizeof *d);
    read_net_options(d, text);
    free(text);

    /* Darknet draws initial weights with rand() (and rand_normal, made stateless in
     * dn_fast.c): seeding right before parsing makes the weights a function of seed. */
    srand((unsigned)(seed ^ (seed >> 32)));
    dn_fast_seed(seed);
    enter();
    network *net = parse_network_cfg(tmp);
    if (weights) load_weights(net, (char *)weights);
    leave();
    unlink(tmp);
    if (net->n < 1) die("cfg %s defines no layers", cfg);
    /* Darknet starts batch norm's running variance at 0, so early inference passes divide by
     * a variance estimate far too small. Keras and PyTorch start it at 1 (running mean 0):
     * do the same for new networks. */
    if (!weights)
        for (int i = 0; i < net->n; i++) {
            layer *l = &net->layers[i];
            if (l->batch_normalize && l->rolling_variance)
                for (int k = 0; k < l->out_c; k++) l->rolling_variance[k] = 1;
        }
    if (net->adam) adam_buffers(net);
    net->train = 0;
    d->net = net;
    return d;
}

dn_net *dn_load(const char *cfg, const char *weights, int batch, uint64_t seed)
{
    dn_cfg_opts o = {.batch = batch};
    return dn_load_opts(cfg, weights, &o, seed);
}

void dn_free(dn_net *n)
{
    if (!n) return;
    free_network(n->net);
    for (int i = 0; i < n->nopts; i++) free(n->opt_keys[i]);
    free(n->opt_keys);
    free(n->opt_vals);
    free(n);
}

struct network *dn_network(dn_net *n) { return n->net; }
int dn_batch(const dn_net *n) { return n->net->batch; }
int dn_height(const dn_net *n) { return n->net->h; }
int dn_width(const dn_net *n) { return n->net->w; }
int dn_channels(const dn_net *n) { return n->net->c; }
int dn_outputs(const dn_net *n) { return n->net->outputs; }
int dn_num_layers(const dn_net *n) { return n->net->n; }
int dn_is_adam(const dn_net *n) { return n->net->adam; }
float dn_lr(const dn_net *n) { return n->net->learning_rate; }
void dn_set_lr(dn_net *n, float lr) { n->net->learning_rate = lr; }

void dn_describe(const dn_net *d, FILE *f)
{
    network *net = d->net;
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        fprintf(f, "%3d ", i);
        switch (l->type) {
        case CONVOLUTIONAL:
            fprintf(f, "conv    %4d %dx%d/%d pad %d%s", l->n, l->size, l->size, l->stride, l->pad,
                    l->batch_normalize ? " bn" : "");
            break;
        case MAXPOOL: fprintf(f, "maxpool      %dx%d/%d pad %d", l->size, l->size, l->stride, l->pad); break;
        case AVGPOOL: fprintf(f, "avgpool (global)"); break;
        case DROPOUT: fprintf(f, "dropout      p=%.2f", l->probability); break;
        case CONNECTED: fprintf(f, "connected %5d%s", l->outputs, l->batch_normalize ? " bn" : ""); break;
        case SOFTMAX: fprintf(f, "softmax"); break;
        case COST: fprintf(f, "cost"); break;
        default: fprintf(f, "layer type %d", (int)l->type);
        }
        fprintf(f, "  %d x %d x %d -> %d x %d x %d\n", l->w, l->h, l->c, l->out_w, l->out_h, l->out_c);
    }
}

void dn_save_weights(dn_net *n, const char *path)
{
    size_t k = strlen(path) + 32;
    char *tmp = xmalloc(k);
    snprintf(tmp, k, "%s.tmp.%d", path, (int)getpid());
    FILE *probe = fopen(tmp, "wb");
    if (!probe) die("cannot write %s: %s", tmp, strerror(errno));
    fclose(probe);
    enter();
    save_weights(n->net, tmp);
    leave();
    if (rename(tmp, path) != 0) { unlink(tmp); die("cannot rename %s to %s: %s", tmp, path, strerror(errno)); }
    free(tmp);
}

/* ------------------------------------------------------------------ data in and out */

/* One image, u8 H x W x C (decode's layout, RGB interleaved) -> float C x H x W in [0, 1]. */
static void put_plain(float *dst, const uint8_t *src, int H, int W, int C, int mirror)
{
    size_t plane = (size_t)H * W;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const uint8_t *px = src + ((size_t)y * W + (mirror ? W - 1 - x : x)) * C;
            for (int c = 0; c < C; c++) dst[c * plane + (size_t)y * W + x] = px[c] / 255.0f;
        }
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The variant `a` of one image: output pixel (x, y) reads the source at
 *     u = cx + (x' - cx) / zoom - dx,  v = cy + (y - cy) / zoom - dy
 * (x' = W-1-x when mirrored, c = the centre), bilinearly, with coordinates clamped to the
 * image (its border repeats). Integer shifts without zoom give exact pixel copies. */
static void put_aug(float *dst, const uint8_t *src, int H, int W, int C, const dn_aug *a)
{
    size_t plane = (size_t)H * W;
    float cx = 0.5f * (float)(W - 1), cy = 0.5f * (float)(H - 1), iz = 1.0f / a->zoom;
    for (int y = 0; y < H; y++) {
        float v = cy + ((float)y - cy) * iz - a->dy;
        float fv = floorf(v), ty = v - fv;
        int y0 = clampi((int)fv, 0, H - 1), y1 = clampi((int)fv + 1, 0, H - 1);
        for (int x = 0; x < W; x++) {
            float xs = (float)(a->flip ? W - 1 - x : x);
            float u = cx + (xs - cx) * iz - a->dx;
            float fu = floorf(u), tx = u - fu;
            int x0 = clampi((int)fu, 0, W - 1), x1 = clampi((int)fu + 1, 0, W - 1);
            const uint8_t *p00 = src + ((size_t)y0 * W + x0) * C, *p01 = src + ((size_t)y0 * W + x1) * C;
            const uint8_t *p10 = src + ((size_t)y1 * W + x0) * C, *p11 = src + ((size_t)y1 * W + x1) * C;
            for (int c = 0; c < C; c++) {
                float top = p00[c] + tx * (float)(p01[c] - p00[c]);
                float bot = p10[c] + tx * (float)(p11[c] - p10[c]);
                dst[c * plane + (size_t)y * W + x] = (top + ty * (bot - top)) / 255.0f;
            }
        }
    }
}

/* Fills the network's input with count images (their variants aug[b], or `all` for every
 * one; both may be NULL) and zeros for the rest of the batch. */
static void set_input(dn_net *d, const uint8_t *const *imgs, const dn_aug *aug, const dn_aug *all,
                      int count)
{
    network *net = d->net;
    int H = net->h, W = net->w, C = net->c;
    size_t plane = (size_t)H * W;
    for (int b = 0; b < net->batch; b++) {
        float *dst = net->input + (size_t)b * plane * C;
        if (b >= count) { memset(dst, 0, sizeof(float) * plane * C); continue; }
        const dn_aug *a = aug ? &aug[b] : all;
        if (!a || (a->dx == 0 && a->dy == 0 && (a->zoom == 1 || a->zoom == 0)))
            put_plain(dst, imgs[b], H, W, C, a && a->flip);
        else {
            dn_aug z = *a;
            if (z.zoom <= 0) z.zoom = 1;
            put_aug(dst, imgs[b], H, W, C, &z);
        }
    }
}

float dn_train_batch(dn_net *d, const uint8_t *const *imgs, const int *labels, const dn_aug *aug,
                     float *probs)
{
    network *net = d->net;
    int B = net->batch, K = net->outputs;
    set_input(d, imgs, aug, NULL, B);
    memset(net->truth, 0, sizeof(float) * (size_t)B * net->truths);
    for (int b = 0; b < B; b++) {
        if (labels[b] < 0 || labels[b] >= K) die("label %d outside the network's %d classes", labels[b], K);
        net->truth[(size_t)b * net->truths + labels[b]] = 1;
    }
    /* Darknet's step: forward (train mode), backward, update. Its own cost (sum of
     * -log p[label]) is infinite when a probability underflows to 0: the loss is ours. */
    train_network_datum(net);
    double cost = 0;
    for (int b = 0; b < B; b++) cost -= log(fmax(net->output[(size_t)b * K + labels[b]], DN_P_FLOOR));
    if (probs) memcpy(probs, net->output, sizeof(float) * (size_t)B * K);
    net->train = 0;
    return (float)cost;
}

static void forward_infer(dn_net *d, const uint8_t *const *imgs, const dn_aug *all, int count)
{
    network *net = d->net;
    set_input(d, imgs, NULL, all, count);
    memset(net->truth, 0, sizeof(float) * (size_t)net->batch * net->truths);
    net->train = 0;
    forward_network(net);
}

void dn_predict_aug(dn_net *d, const uint8_t *const *imgs, int64_t count, const dn_aug *aug,
                    float *probs)
{
    network *net = d->net;
    int B = net->batch, K = net->outputs;
    for (int64_t s = 0; s < count; s += B) {
        int nb = count - s < B ? (int)(count - s) : B;
        forward_infer(d, imgs + s, aug, nb);
        memcpy(probs + s * K, net->output, sizeof(float) * (size_t)nb * K);
    }
}

void dn_predict(dn_net *d, const uint8_t *const *imgs, int64_t count, float *probs)
{
    dn_predict_aug(d, imgs, count, NULL, probs);
}

static layer *code_layer(dn_net *d, int index)
{
    int n = d->net->n, i = index < 0 ? n + index : index;
    if (i < 0 || i >= n) die("layer %d does not exist: the network has %d layers (0..%d, or -1..-%d)", index, n, n - 1, n);
    return &d->net->layers[i];
}

static int spatial(const layer *l)
{
    return l->out_h * l->out_w > 1 && l->out_c * l->out_h * l->out_w == l->outputs;
}

int dn_code_len(dn_net *d, int index)
{
    layer *l = code_layer(d, index);
    return spatial(l) ? l->out_c : l->outputs;
}

int dn_codes(dn_net *d, const uint8_t *imgs, int count, int h, int w, int index, int pool_max,
             float *out)
{
    network *net = d->net;
    if (h != net->h || w != net->w)
        die("images are %dx%d but the network takes %dx%d", w, h, net->w, net->h);
    if (net->c != 3) die("the network takes %d channels, images have 3", net->c);
    layer *l = code_layer(d, index);
    int len = dn_code_len(d, index), B = net->batch;
    size_t isz = (size_t)h * w * 3;
    const uint8_t **ptr = xmalloc(sizeof(*ptr) * (size_t)B);
    for (int s = 0; s < count; s += B) {
        int nb = count - s < B ? count - s : B;
        for (int b = 0; b < nb; b++) ptr[b] = imgs + (size_t)(s + b) * isz;
        forward_infer(d, ptr, NULL, nb);
        for (int b = 0; b < nb; b++) {
            const float *o = l->output + (size_t)b * l->outputs;
            float *dst = out + (size_t)(s + b) * len;
            if (!spatial(l)) { memcpy(dst, o, sizeof(float) * (size_t)len); continue; }
            int hw = l->out_h * l->out_w;
            for (int c = 0; c < l->out_c; c++) {
                const float *p = o + (size_t)c * hw;
                if (pool_max) {
                    float m = -FLT_MAX;
                    for (int i = 0; i < hw; i++) if (p[i] > m) m = p[i];
                    dst[c] = m;
                } else {
                    double sum = 0;
                    for (int i = 0; i < hw; i++) sum += p[i];
                    dst[c] = (float)(sum / hw);
                }
            }
        }
    }
    free(ptr);
    return len;
}

/* ------------------------------------------------------------------ snapshots */

struct dn_snapshot {
    float *data;
    size_t n;
};

/* Calls fn on every array that defines the trained network (what save_weights writes). */
static size_t each_param(network *net, float *buf, int restore)
{
    size_t off = 0;
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        float *arr[5] = {0};
        size_t len[5] = {0};
        int nb;
        if (l->type == CONVOLUTIONAL) { arr[0] = l->weights; len[0] = (size_t)l->nweights; nb = l->n; }
        else if (l->type == CONNECTED) { arr[0] = l->weights; len[0] = (size_t)l->inputs * l->outputs; nb = l->outputs; }
        else continue;
        arr[1] = l->biases; len[1] = (size_t)nb;
        if (l->batch_normalize) {
            arr[2] = l->scales; arr[3] = l->rolling_mean; arr[4] = l->rolling_variance;
            len[2] = len[3] = len[4] = (size_t)nb;
        }
        for (int k = 0; k < 5; k++) {
            if (!arr[k]) continue;
            if (buf) {
                if (restore) memcpy(arr[k], buf + off, sizeof(float) * len[k]);
                else memcpy(buf + off, arr[k], sizeof(float) * len[k]);
            }
            off += len[k];
        }
    }
    return off;
}

dn_snapshot *dn_snapshot_take(dn_net *d, dn_snapshot *s)
{
    if (!s) {
        s = xcalloc(1, sizeof *s);
        s->n = each_param(d->net, NULL, 0);
        s->data = xmalloc(sizeof(float) * (s->n ? s->n : 1));
    }
    each_param(d->net, s->data, 0);
    return s;
}

void dn_snapshot_restore(dn_net *d, const dn_snapshot *s)
{
    each_param(d->net, s->data, 1);
}

void dn_snapshot_free(dn_snapshot *s)
{
    if (!s) return;
    free(s->data);
    free(s);
}
