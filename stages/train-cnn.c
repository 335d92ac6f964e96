/* train-cnn - train a convolutional network (Darknet cfg) on decoded face images, with
 * validation after every epoch, early stopping, learning curves and test predictions.
 *
 *   train-cnn [OPTIONS] --split DIR -o MODEL.weights [IMAGES]
 *   train-cnn --predict --load MODEL.weights [--load MODEL2.weights ...] [--split DIR] [IMAGES]
 *
 * IMAGES is a decode stream (u8, S x S x 3; default stdin). DIR holds train.csv, val.csv and
 * optionally test.csv (`file_name,label`, label = class index) as written by `split`.
 * Training goes through libdarknet (common/dn_net.c) with our faster kernels and Adam
 * (common/dn_fast.c). See docs/train-cnn.md. */
#include "csv.h"
#include "dn_net.h"
#include "err.h"
#include "idmap.h"
#include "labels.h"
#include "mat.h"
#include "rng.h"
#include "threads.h"
#include "progress.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(void)
{
    printf("Usage: train-cnn [OPTIONS] --split DIR -o MODEL [IMAGES]\n"
           "       train-cnn --predict --load MODEL [--load MODEL2 ...] [--split DIR] [IMAGES]\n"
           "Train the network of a Darknet cfg on a decode stream (IMAGES, default stdin):\n"
           "Adam or SGD, validation after each epoch, early stopping on validation loss,\n"
           "then the best epoch's weights are saved and the test rows predicted.\n\n"
           "Data\n"
           "      --split DIR        DIR/train.csv, DIR/val.csv and DIR/test.csv if present\n"
           "                         (file_name,label; label = class index)\n"
           "      --train CSV, --val CSV, --test CSV   the same files one by one\n"
           "Network and training\n"
           "      --cfg FILE         network template (default pipelines/cnn.cfg, or when\n"
           "                         installed PREFIX/share/facepipe/cnn.cfg); its input\n"
           "                         size and class count are set from the data\n"
           "  -e, --epochs N         at most N epochs (default 50)\n"
           "  -p, --patience N       stop after N epochs without a lower validation loss\n"
           "                         (default: the cfg's patience=, else 5; 0 = never)\n"
           "  -b, --batch N          images per step (default 32)\n"
           "      --lr X             learning rate (default: the cfg's learning_rate)\n"
           "      --flip, --no-flip  random horizontal flips of training images (default:\n"
           "                         the cfg's [net] flip=)\n"
           "      --translate PCT    random shifts of training images by up to PCT %% of\n"
           "                         the side, whole pixels (default: the cfg's translate=, 0)\n"
           "      --zoom PCT         random zoom of training images by a factor in\n"
           "                         [1 - PCT/100, 1 + PCT/100] (default: the cfg's zoom=, 0)\n"
           "      --tta, --no-tta    predict (validation, test) with the mean softmax of each\n"
           "                         image and its mirror (default: the cfg's tta=, 0)\n"
           "      --plateau N        multiply the learning rate by --plateau-factor after N\n"
           "                         epochs without a lower validation loss (default: the\n"
           "                         cfg's plateau=, 0 = never)\n"
           "      --plateau-factor X the factor (default 0.2)\n"
           "      --cosine, --no-cosine\n"
           "                         the learning rate falls from --lr to 0 along half a\n"
           "                         cosine over all steps of --epochs (default: the cfg's\n"
           "                         cosine=, 0)\n"
           "      --refit, --no-refit\n"
           "                         after the validation run, train a fresh network on the\n"
           "                         training and validation rows together for its best\n"
           "                         epoch count, the rate decaying to 0 along half a\n"
           "                         cosine, and save that one\n"
           "                         (default: the cfg's refit=, 0)\n"
           "      --seed N           initial weights, shuffling, augmentation, dropout\n"
           "                         (default 1)\n"
           "      --max-train N      train on the first N training rows only (benchmarks)\n"
           "Output\n"
           "  -o, --model FILE       the best epoch's weights (Darknet format), or with\n"
           "                         --refit the refit network's; the cfg used -> FILE.cfg\n"
           "      --val-model FILE   also the weights chosen on the validation rows (the\n"
           "                         best epoch, before --refit; without it, the same\n"
           "                         network as -o) and FILE.cfg\n"
           "      --predictions FILE test predictions CSV file_name,predicted,score\n"
           "                         (default stdout; score = probability of class 1 for two\n"
           "                         classes, else of the predicted class)\n"
           "      --curves FILE      learning curves CSV epoch,train_loss,train_acc,val_loss,val_acc\n"
           "      --plot FILE        the curves as a PNG (gnuplot)\n"
           "Prediction only\n"
           "      --predict          no training: predict test rows (or every row without\n"
           "                         --split/--test) with the weights of --load\n"
           "      --load FILE        weights to start from (training) or to predict with;\n"
           "                         with --predict, its cfg is --cfg, else FILE.cfg. Given\n"
           "                         up to 16 times: an ensemble, the mean of the models'\n"
           "                         softmax (each model its own FILE.cfg and TTA)\n"
           "Other\n"
           "  -j, --threads N        threads (default: all cores)\n"
           "      --plain            Darknet's own kernels and SGD update path (benchmarks)\n"
           "  -v, --verbose          show Darknet's messages and the layer table\n"
           "  -h, --help             show this help\n");
}

/* ------------------------------------------------------------------ data */

typedef struct {
    const char *path;
    int64_t n;
    char **ids;
    int *label;
    const uint8_t **img;     /* into the image store, filled after reading the stream */
} split_set;

static void read_split(split_set *s, const char *path)
{
    s->path = path;
    labels l = labels_read(path);
    int col = labels_require(&l, "label");
    s->n = l.nrows;
    s->ids = xmalloc(sizeof(char *) * (size_t)(s->n ? s->n : 1));
    s->label = xmalloc(sizeof(int) * (size_t)(s->n ? s->n : 1));
    s->img = xcalloc((size_t)(s->n ? s->n : 1), sizeof(uint8_t *));
    for (int64_t i = 0; i < s->n; i++) {
        s->ids[i] = xstrdup(l.ids[i]);
        s->label[i] = labels_get(&l, i, col);
        if (s->label[i] < 0 || s->label[i] > 1000)
            die("%s:%ld: label %d is not a class index (0, 1, ...)", path, l.lines[i], s->label[i]);
    }
    labels_free(&l);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Reads the image stream, keeping the rows some set lists. Every listed id must appear. */
static uint8_t *read_images(const char *path, split_set **sets, int nsets, int all,
                            split_set *all_set, int *S)
{
    mat_reader *r = mat_open(path);
    mat_expect_image(r);
    const mat_header *h = mat_hdr(r);
    if (h->shape[2] != 3) die("%s: expected RGB images (3 channels), found %lld", mat_name(r), (long long)h->shape[2]);
    if (h->shape[0] != h->shape[1]) die("%s: expected square images, found %lldx%lld", mat_name(r), (long long)h->shape[1], (long long)h->shape[0]);
    *S = (int)h->shape[0];
    size_t isz = (size_t)mat_cols(h);
    idmap want;
    idmap_init(&want);
    int64_t nwant = 0;
    for (int k = 0; k < nsets; k++)
        for (int64_t i = 0; i < sets[k]->n; i++)
            if (idmap_put(&want, sets[k]->ids[i], nwant) < 0) nwant++;
    uint8_t *store = NULL;
    int64_t cap = 0, got = 0;
    int64_t *slot = NULL;                        /* want index -> store row */
    if (!all) { slot = xmalloc(sizeof(int64_t) * (size_t)(nwant ? nwant : 1)); for (int64_t i = 0; i < nwant; i++) slot[i] = -1; }
    char id[MAT_MAX_ID + 1];
    uint8_t *row = xmalloc(isz);
    while (mat_read_row(r, id, row)) {
        int64_t w = -1;
        if (!all) {
            w = idmap_get(&want, id);
            if (w < 0) continue;             /* not in the split: ignored */
            if (slot[w] >= 0) die("%s: image id '%s' appears twice", mat_name(r), id);
            slot[w] = got;
        } else {
            all_set->ids = xrealloc(all_set->ids, sizeof(char *) * (size_t)(got + 1));
            all_set->ids[got] = xstrdup(id);
        }
        if (got == cap) store = xrealloc(store, isz * (size_t)(cap = cap ? 2 * cap : 256));
        memcpy(store + (size_t)got * isz, row, isz);
        got++;
    }
    free(row);
    const char *name = strcmp(path, "-") == 0 ? "the image stream" : path;
    mat_close(r);
    if (all) {
        all_set->n = got;
        all_set->img = xmalloc(sizeof(uint8_t *) * (size_t)(got ? got : 1));
        for (int64_t i = 0; i < got; i++) all_set->img[i] = store + (size_t)i * isz;
    } else {
        for (int k = 0; k < nsets; k++)
            for (int64_t i = 0; i < sets[k]->n; i++) {
                int64_t w = idmap_get(&want, sets[k]->ids[i]);
                if (slot[w] < 0) die("image '%s' listed in %s is not in %s", sets[k]->ids[i], sets[k]->path, name);
                sets[k]->img[i] = store + (size_t)slot[w] * isz;
            }
        free(slot);
    }
    idmap_free(&want);
    return store;
}

/* ------------------------------------------------------------------ evaluation */

typedef struct { double loss, acc; } score;

/* Class probabilities of every image of a set (inference mode): the softmax, or with tta
 * the mean of the softmax of the image and of its mirror image (faces keep their
 * attributes when mirrored). */
static void predict_set(dn_net *net, const split_set *s, int tta, float *probs)
{
    dn_predict(net, s->img, s->n, probs);
    if (!tta) return;
    size_t n = (size_t)s->n * (size_t)dn_outputs(net);
    float *mirror = xmalloc(sizeof(float) * (n ? n : 1));
    dn_aug flip = {.flip = 1, .zoom = 1};
    dn_predict_aug(net, s->img, s->n, &flip, mirror);
    for (size_t i = 0; i < n; i++) probs[i] = 0.5f * (probs[i] + mirror[i]);
    free(mirror);
}

/* Mean cross-entropy and accuracy of class probabilities against a set's labels. */
static score score_probs(const split_set *s, const float *probs, int K)
{
    double loss = 0;
    int64_t ok = 0;
    for (int64_t i = 0; i < s->n; i++) {
        const float *p = probs + i * K;
        int best = 0;
        for (int k = 1; k < K; k++) if (p[k] > p[best]) best = k;
        ok += best == s->label[i];
        loss -= log(fmax(p[s->label[i]], DN_P_FLOOR));
    }
    score r = {s->n ? loss / s->n : 0, s->n ? (double)ok / s->n : 0};
    return r;
}

/* Mean cross-entropy and accuracy of the network (inference mode) on a set. */
static score evaluate(dn_net *net, const split_set *s, int tta, float *probs)
{
    predict_set(net, s, tta, probs);
    return score_probs(s, probs, dn_outputs(net));
}

static void write_predictions(const char *path, const split_set *s, const float *probs, int K)
{
    outfile o = out_open(path);
    fprintf(o.fp, "file_name,predicted,score\n");
    for (int64_t i = 0; i < s->n; i++) {
        const float *p = probs + i * K;
        int best = 0;
        for (int k = 1; k < K; k++) if (p[k] > p[best]) best = k;
        csv_put(o.fp, s->ids[i]);
        fprintf(o.fp, ",%d,%.6f\n", best, K == 2 ? p[1] : p[best]);
    }
    out_commit(&o);
}

/* gnuplot writes to a temporary beside png, renamed when it succeeded: a killed run never
 * leaves a half-written plot under the final name. A FIFO or device is written through. */
static void plot_curves(const char *csv, const char *final_png)
{
    char png[4096];
    int direct = out_in_place(final_png);   /* a FIFO, /dev/null: no temporary beside it */
    if (direct) snprintf(png, sizeof png, "%s", final_png);
    else snprintf(png, sizeof png, "%s.tmp.%ld", final_png, (long)getpid());
    FILE *g = popen("gnuplot 2>&1", "w");
    if (!g) { warn("cannot run gnuplot: %s", strerror(errno)); return; }
    fprintf(g,
            "set terminal pngcairo size 1000,420 font 'sans,10'\n"
            "set output '%s'\n"
            "set datafile separator ','\n"
            "set key autotitle columnhead\n"
            "set multiplot layout 1,2\n"
            "set xlabel 'epoch'; set grid\n"
            "set title 'loss (cross-entropy)'\n"
            "plot '%s' using 1:2 with linespoints title 'train', '' using 1:4 with linespoints title 'validation'\n"
            "set title 'accuracy'; set yrange [*:1]\n"
            "plot '%s' using 1:3 with linespoints title 'train', '' using 1:5 with linespoints title 'validation'\n"
            "unset multiplot\n",
            png, csv, csv);
    int st = pclose(g);
    if (direct) {
        if (st != 0) warn("gnuplot failed (status %d) writing %s", st, final_png);
    } else if (st != 0) {
        warn("gnuplot failed (status %d); no plot written to %s", st, final_png);
        unlink(png);
    } else if (rename(png, final_png) != 0) {
        warn("cannot rename %s to %s: %s", png, final_png, strerror(errno));
        unlink(png);
    }
}

/* ------------------------------------------------------------------ augmentation */

/* The random variant of one training image, drawn from r in a fixed order (flip, shift,
 * zoom; each only when enabled, so flips alone draw what they always drew): mirrored with
 * probability 1/2, shifted by whole pixels in [-max_shift, max_shift] each way, zoomed by
 * a factor uniform in [1 - zoom/100, 1 + zoom/100]. */
static dn_aug draw_aug(rng *r, int flip, int max_shift, int zoom)
{
    dn_aug a = {0, 0, 0, 1};
    if (flip) a.flip = (int)rng_below(r, 2);
    if (max_shift) {
        a.dx = (float)((int)rng_below(r, 2 * (uint64_t)max_shift + 1) - max_shift);
        a.dy = (float)((int)rng_below(r, 2 * (uint64_t)max_shift + 1) - max_shift);
    }
    if (zoom) a.zoom = (float)(1.0 + zoom / 100.0 * (2.0 * rng_uniform(r) - 1.0));
    return a;
}

/* Cosine annealing (Loshchilov & Hutter 2017, without restarts): step t of T takes
 *     lr_t = lr * (1 + cos(pi t / T)) / 2,
 * large steps early, then ever smaller ones that settle into a minimum instead of
 * bouncing around it at a constant rate; T = every step of --epochs epochs. */
static double cosine_lr(double lr, int64_t t, int64_t T)
{
    return lr * 0.5 * (1.0 + cos(M_PI * (double)t / (double)T));
}

/* ", lr X" for the epoch line when a schedule moves the learning rate. */
static const char *lr_note(double lr)
{
    static char buf[32];
    snprintf(buf, sizeof buf, ", lr %.3g", lr);
    return buf;
}

/* A key of the cfg's [net] section, which must be in 0..hi (as its option), or def when absent. */
static int cfg_option(const dn_net *net, const char *cfg, const char *key, int def, int hi)
{
    int v = dn_net_option(net, key, def);
    if (v < 0 || v > hi) die("%s: [net] %s=%d, expected 0..%d", cfg, key, v, hi);
    return v;
}

/* ------------------------------------------------------------------ prediction only */

/* MODEL.cfg: the cfg train-cnn saves beside the weights MODEL (malloc'd). */
static char *cfg_beside(const char *weights)
{
    size_t n = strlen(weights) + 5;
    char *c = xmalloc(n);
    snprintf(c, n, "%s.cfg", weights);
    return c;
}

/* ------------------------------------------------------------------ training */

/* -o MODEL and --val-model VAL write four files - MODEL, MODEL.cfg, VAL, VAL.cfg - and no
 * two of them may be one file, however they are spelt (-o m --val-model m.cfg too). */
static void refuse_overlap(const char *model, const char *val_model)
{
    char *model_cfg = cfg_beside(model), *val_cfg = cfg_beside(val_model);
    const char *mine[] = {model, model_cfg}, *theirs[] = {val_model, val_cfg};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            if (same_path(mine[i], theirs[j]))
                die_usage("--val-model %s and -o %s would write the same file %s", val_model, model,
                          theirs[j]);
    free(model_cfg);
    free(val_cfg);
}

/* How training rows reach the network: steps of `batch` images, each a random variant
 * (draw_aug), at the rate of the schedule. */
typedef struct {
    int batch, flip, max_shift, zoom;
    int cosine, epochs;  /* cosine decay over every step of `epochs` epochs */
    int show_lr;         /* a schedule moves the rate: the epoch lines show it */
    int quiet;
} feed;

typedef struct { double secs, cpu; int64_t images; } timing;

/* The order of the rows: a permutation of 0..n-1, reshuffled every epoch from stream 1 of the
 * seed (the validation run and the refit each start one afresh). */
typedef struct { rng r; int64_t *perm; } row_order;

static row_order order_start(int64_t n, uint64_t seed)
{
    row_order o;
    rng_seed_stream(&o.r, seed, 1);
    o.perm = xmalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) o.perm[i] = i;
    return o;
}

/* One epoch over the rows of s: their order (kept from epoch to epoch) reshuffled, then taken
 * f->batch rows a step; the last step wraps around to the start of this epoch's order.
 * The learning rate is lr_base, or under cosine its decayed value at every step. Returns the
 * mean loss and the accuracy on the augmented images; *lr_first is the first step's rate. */
static score train_epoch(dn_net *net, const split_set *s, const feed *f, row_order *order,
                         int epoch, const char *what, double lr_base, double *lr_first, timing *t)
{
    rng *r = &order->r;
    const int64_t *perm = order->perm;
    double t0 = now_seconds(), c0 = process_cpu_seconds();
    int K = dn_outputs(net), B = f->batch;
    const uint8_t **bimg = xmalloc(sizeof(*bimg) * (size_t)B);
    int *blab = xmalloc(sizeof(int) * (size_t)B);
    dn_aug *baug = xmalloc(sizeof(dn_aug) * (size_t)B);
    float *bprob = xmalloc(sizeof(float) * (size_t)B * K);
    rng_shuffle(r, order->perm, s->n);
    int64_t steps = (s->n + B - 1) / B, T = (int64_t)f->epochs * steps, ok = 0;
    double loss = 0;
    progress bar;
    progress_start(&bar, what, "images", s->n);
    *lr_first = lr_base;
    for (int64_t st = 0; st < steps; st++) {
        if (f->cosine) {
            double lr = cosine_lr(lr_base, (epoch - 1) * steps + st, T);
            if (st == 0) *lr_first = lr;
            dn_set_lr(net, (float)lr);
        }
        for (int b = 0; b < B; b++) {
            int64_t i = perm[(st * B + b) % s->n];
            bimg[b] = s->img[i];
            blab[b] = s->label[i];
            baug[b] = draw_aug(r, f->flip, f->max_shift, f->zoom);
        }
        loss += dn_train_batch(net, bimg, blab, baug, bprob);
        for (int b = 0; b < B && st * B + b < s->n; b++) {
            const float *p = bprob + (size_t)b * K;
            int arg = 0;
            for (int k = 1; k < K; k++) if (p[k] > p[arg]) arg = k;
            ok += arg == blab[b];
        }
        if (!isfinite(loss)) die("training diverged at epoch %d (loss is not finite): try a lower --lr", epoch);
        if (!f->quiet) progress_update(&bar, (st + 1) * B < s->n ? (st + 1) * B : s->n);
    }
    if (!f->quiet) progress_clear(&bar);  /* the epoch's line follows */
    t->secs = now_seconds() - t0;
    t->cpu = process_cpu_seconds() - c0;
    t->images = steps * B;
    free(bimg);
    free(blab);
    free(baug);
    free(bprob);
    score sc = {loss / (double)(steps * B), (double)ok / (double)s->n};
    return sc;
}

/* What the validation run chose. */
typedef struct {
    int best_epoch, ran;   /* the epoch of lowest validation loss; epochs run */
    score best_val;
    dn_snapshot *best;     /* its weights */
    double secs;           /* training time, validation passes not counted */
} selection;

/* The validation run: epochs on the training rows, each followed by a pass over the
 * validation rows (one curves line when cf); stops after `patience` epochs without a lower
 * validation loss (0 = never), and under `plateau` multiplies the rate by plateau_factor
 * after that many flat epochs. probs holds val->n x classes. */
static selection select_epoch(dn_net *net, const split_set *train, const split_set *val, const feed *f,
                              int patience, int plateau, double plateau_factor, int tta, uint64_t seed,
                              FILE *cf, float *probs)
{
    selection sel = {0};
    row_order order = order_start(train->n, seed);
    double best_loss = INFINITY;
    int since = 0, since_lr = 0, epoch;
    double lr_base = dn_lr(net);  /* the plateau rule scales it; cosine decays from it */
    for (epoch = 1; epoch <= f->epochs; epoch++) {
        char what[64];
        snprintf(what, sizeof what, "train-cnn: epoch %d", epoch);
        double lr_first, t0 = now_seconds();
        timing t;
        score tr = train_epoch(net, train, f, &order, epoch, what, lr_base, &lr_first, &t);
        sel.secs += t.secs;
        score va = evaluate(net, val, tta, probs);
        double t_epoch = now_seconds() - t0;
        if (cf) fprintf(cf, "%d,%.6f,%.6f,%.6f,%.6f\n", epoch, tr.loss, tr.acc, va.loss, va.acc);
        int improved = va.loss < best_loss;
        if (!f->quiet)
            fprintf(stderr, "%s: epoch %d/%d train loss %.4f acc %.4f | val loss %.4f acc %.4f | train %.2f s (%.0f img/s, cpu %.2f s), epoch %.2f s%s%s\n",
                    err_prog(), epoch, f->epochs, tr.loss, tr.acc, va.loss, va.acc, t.secs,
                    (double)t.images / t.secs, t.cpu, t_epoch,
                    f->show_lr ? lr_note(lr_first) : "", improved ? " *" : "");
        if (improved) {
            best_loss = va.loss;
            sel.best_val = va;
            sel.best_epoch = epoch;
            since = since_lr = 0;
            sel.best = dn_snapshot_take(net, sel.best);
        } else if (patience && ++since >= patience) {
            epoch++;
            break;
        } else if (plateau && ++since_lr >= plateau) {
            /* As Keras's ReduceLROnPlateau: a smaller step once the validation loss is flat;
             * the early-stopping count goes on. */
            lr_base *= plateau_factor;
            dn_set_lr(net, (float)lr_base);
            since_lr = 0;
            if (!f->quiet) fprintf(stderr, "%s: learning rate now %g%s\n", err_prog(), lr_base, f->cosine ? " (before the cosine factor)" : "");
        }
    }
    sel.ran = epoch - 1;
    free(order.perm);
    if (!sel.best) die("the validation loss was never a number: the network diverged (try a lower --lr)");
    return sel;
}

/* --refit: the validation run chose the number of epochs E; now a fresh network (net: the
 * same cfg, starting weights, rate and seed) learns from the training and validation rows
 * together for E epochs - a third more rows, what this model lacks most (docs/train-cnn.md,
 * "Refit on the validation rows too"). Nothing is left to validate on, so nothing can be
 * chosen here: whatever the last step leaves is the model. At a constant rate that is a
 * random point of the band the validation loss wanders in from epoch to epoch (hair colour:
 * 0.30 to 0.38), while the validation run's best epoch is the lucky low one. So the refit
 * always decays its rate to 0 along half a cosine over its E epochs, and ends settled. */
static void refit_epochs(dn_net *net, const split_set *train, const split_set *val, const feed *f,
                         int E, uint64_t seed, double *secs)
{
    feed g = *f;
    g.cosine = 1;
    g.epochs = E;
    g.show_lr = 1;
    double lr_base = dn_lr(net);
    split_set both = {.path = "train + val", .n = train->n + val->n};
    both.label = xmalloc(sizeof(int) * (size_t)both.n);
    both.img = xmalloc(sizeof(uint8_t *) * (size_t)both.n);
    for (int64_t i = 0; i < both.n; i++) {
        const split_set *from = i < train->n ? train : val;
        int64_t j = i < train->n ? i : i - train->n;
        both.label[i] = from->label[j];
        both.img[i] = from->img[j];
    }
    row_order order = order_start(both.n, seed);
    *secs = 0;
    for (int epoch = 1; epoch <= E; epoch++) {
        char what[64];
        snprintf(what, sizeof what, "train-cnn: refit epoch %d", epoch);
        double lr_first;
        timing t;
        score tr = train_epoch(net, &both, &g, &order, epoch, what, lr_base, &lr_first, &t);
        *secs += t.secs;
        if (!g.quiet)
            fprintf(stderr, "%s: refit epoch %d/%d train loss %.4f acc %.4f | train %.2f s (%.0f img/s, cpu %.2f s)%s\n",
                    err_prog(), epoch, E, tr.loss, tr.acc, t.secs, (double)t.images / t.secs, t.cpu,
                    lr_note(lr_first));
    }
    free(order.perm);
    free(both.label);
    free(both.img);
}

/* The network to train: cfg with the data's sizes (o), starting from weights (or seeded
 * random ones when NULL), at the rate --lr when given (lr > 0) - for the validation run and
 * for the refit alike. */
static dn_net *load_for_training(const char *cfg, const char *weights, const dn_cfg_opts *o, uint64_t seed,
                                 double lr)
{
    dn_net *net = dn_load_opts(cfg, weights, o, seed);
    if (lr > 0) dn_set_lr(net, (float)lr);
    return net;
}

/* The weights and, beside them, the cfg actually used (weights last: what make waits for). */
static void save_model(dn_net *net, const char *cfg, const char *weights, const dn_cfg_opts *o)
{
    char *cfg_out = cfg_beside(weights);
    dn_write_cfg(cfg, cfg_out, o);
    dn_save_weights(net, weights);
    free(cfg_out);
}

enum { MAX_MODELS = 16 };  /* members of an ensemble (--load given several times) */

/* Class probabilities of set s from the saved models loads[0..n-1]: one model's softmax, or
 * for an ensemble the mean of its members' (each with its own cfg, WEIGHTS.cfg, and its own
 * test-time mirroring). Averaging probabilities rather than votes keeps a confident member's
 * say and gives two members no ties. Writes the predictions CSV; with labels (a test list),
 * reports accuracy and loss of the mean. */
static void predict_only(const char **loads, int n, const char *cfg, int batch, int tta_opt,
                         uint64_t seed, int verbose, int quiet, const split_set *s,
                         const char *labelled, int S, const char *pred_path)
{
    float *probs = NULL, *member = NULL;
    int K = 0;
    double t0 = now_seconds();
    for (int m = 0; m < n; m++) {
        char *own = cfg ? xstrdup(cfg) : cfg_beside(loads[m]);
        if (!file_exists(own)) {
            if (cfg) die("%s: no such cfg", own);
            die("%s: no such cfg (the one train-cnn saved beside %s)", own, loads[m]);
        }
        dn_cfg_opts o = {.batch = batch};
        dn_net *net = dn_load_opts(own, loads[m], &o, seed);
        if (dn_width(net) != S || dn_height(net) != S)
            die("images are %dx%d but the network in %s takes %dx%d", S, S, own, dn_width(net), dn_height(net));
        if (m == 0) {
            K = dn_outputs(net);
            probs = xcalloc((size_t)(s->n ? s->n : 1) * K, sizeof(float));
            member = xmalloc(sizeof(float) * (size_t)(s->n ? s->n : 1) * K);
            if (labelled)
                for (int64_t i = 0; i < s->n; i++)
                    if (s->label[i] >= K)
                        die("%s: %s has label %d but the network has %d classes", labelled, s->ids[i], s->label[i], K);
        } else if (dn_outputs(net) != K) {
            die("%s: %d outputs, but %s has %d: an ensemble needs networks of one task", loads[m],
                dn_outputs(net), loads[0], K);
        }
        if (verbose) dn_describe(net, stderr);
        int tta = tta_opt >= 0 ? tta_opt : dn_net_option(net, "tta", 0) != 0;
        predict_set(net, s, tta, member);
        size_t len = (size_t)s->n * K;
        for (size_t i = 0; i < len; i++) probs[i] += member[i] / n;
        dn_free(net);
        free(own);
    }
    if (!quiet) {
        if (labelled) {
            score r = score_probs(s, probs, K);
            fprintf(stderr, "%s: %lld test images, accuracy %.4f, loss %.4f (%d model%s, %.1f s)\n", err_prog(),
                    (long long)s->n, r.acc, r.loss, n, n > 1 ? "s" : "", now_seconds() - t0);
        } else {
            fprintf(stderr, "%s: %lld images predicted (%d model%s, %.1f s)\n", err_prog(), (long long)s->n, n,
                    n > 1 ? "s" : "", now_seconds() - t0);
        }
    }
    write_predictions(pred_path, s, probs, K);
    free(member);
    free(probs);
}

/* ------------------------------------------------------------------ main */

static char *default_cfg(const char *argv0)
{
    /* pipelines/cnn.cfg beside the bin/ directory holding this program (the source tree),
     * else share/facepipe/cnn.cfg beside it (make install PREFIX=...). */
    char exe[4096];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0) { (void)argv0; return xstrdup("pipelines/cnn.cfg"); }
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    char *tree = join(exe, "../pipelines/cnn.cfg");
    if (access(tree, R_OK) == 0) return tree;
    free(tree);
    return join(exe, "../share/facepipe/cnn.cfg");
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    dn_blas_tune(argv);
    enum { O_SPLIT = 256, O_TRAIN, O_VAL, O_TEST, O_CFG, O_LR, O_FLIP, O_NOFLIP, O_SEED,
           O_MAXTRAIN, O_PRED, O_CURVES, O_PLOT, O_PREDICT, O_LOAD, O_PLAIN, O_TRANSLATE,
           O_ZOOM, O_TTA, O_NOTTA, O_PLATEAU, O_PFACTOR, O_COSINE, O_NOCOSINE, O_REFIT, O_NOREFIT,
           O_VALMODEL };
    static const struct option opts[] = {
        {"split", required_argument, 0, O_SPLIT},   {"train", required_argument, 0, O_TRAIN},
        {"val", required_argument, 0, O_VAL},       {"test", required_argument, 0, O_TEST},
        {"cfg", required_argument, 0, O_CFG},       {"epochs", required_argument, 0, 'e'},
        {"patience", required_argument, 0, 'p'},    {"batch", required_argument, 0, 'b'},
        {"lr", required_argument, 0, O_LR},         {"flip", no_argument, 0, O_FLIP},
        {"no-flip", no_argument, 0, O_NOFLIP},      {"seed", required_argument, 0, O_SEED},
        {"max-train", required_argument, 0, O_MAXTRAIN},
        {"translate", required_argument, 0, O_TRANSLATE}, {"zoom", required_argument, 0, O_ZOOM},
        {"tta", no_argument, 0, O_TTA},             {"no-tta", no_argument, 0, O_NOTTA},
        {"plateau", required_argument, 0, O_PLATEAU},
        {"plateau-factor", required_argument, 0, O_PFACTOR},
        {"cosine", no_argument, 0, O_COSINE},       {"no-cosine", no_argument, 0, O_NOCOSINE},
        {"refit", no_argument, 0, O_REFIT},         {"no-refit", no_argument, 0, O_NOREFIT},
        {"val-model", required_argument, 0, O_VALMODEL},
        {"model", required_argument, 0, 'o'},       {"predictions", required_argument, 0, O_PRED},
        {"curves", required_argument, 0, O_CURVES}, {"plot", required_argument, 0, O_PLOT},
        {"predict", no_argument, 0, O_PREDICT},     {"load", required_argument, 0, O_LOAD},
        {"threads", required_argument, 0, 'j'},     {"plain", no_argument, 0, O_PLAIN},
        {"verbose", no_argument, 0, 'v'},           {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *split_dir = NULL, *train_csv = NULL, *val_csv = NULL, *test_csv = NULL;
    const char *model = NULL, *val_model = NULL, *pred_path = "-", *curves = NULL, *plot = NULL;
    const char *loads[MAX_MODELS];
    int nload = 0;
    char *cfg = NULL;
    int epochs = 50, patience = -1, batch = 32, flip = -1, predict = 0, plain = 0, verbose = 0;
    int threads = 0, translate = -1, zoom = -1, tta = -1, plateau = -1, cosine = -1, refit = -1;
    double lr = -1, plateau_factor = 0.2;
    int64_t max_train = 0;
    uint64_t seed = 1;
    int c;
    while ((c = getopt_long(argc, argv, "e:p:b:o:j:vh", opts, NULL)) != -1) {
        switch (c) {
        case O_SPLIT: split_dir = optarg; break;
        case O_TRAIN: train_csv = optarg; break;
        case O_VAL: val_csv = optarg; break;
        case O_TEST: test_csv = optarg; break;
        case O_CFG: cfg = xstrdup(optarg); break;
        case 'e': epochs = (int)parse_long(optarg, "--epochs", 1, 100000); break;
        case 'p': patience = (int)parse_long(optarg, "--patience", 0, 100000); break;
        case 'b': batch = (int)parse_long(optarg, "--batch", 1, 4096); break;
        case O_LR: lr = parse_double(optarg, "--lr", 1e-9, 10); break;
        case O_FLIP: flip = 1; break;
        case O_NOFLIP: flip = 0; break;
        case O_SEED: seed = parse_seed(optarg); break;
        case O_TRANSLATE: translate = (int)parse_long(optarg, "--translate", 0, 50); break;
        case O_ZOOM: zoom = (int)parse_long(optarg, "--zoom", 0, 50); break;
        case O_TTA: tta = 1; break;
        case O_NOTTA: tta = 0; break;
        case O_PLATEAU: plateau = (int)parse_long(optarg, "--plateau", 0, 100000); break;
        case O_COSINE: cosine = 1; break;
        case O_NOCOSINE: cosine = 0; break;
        case O_REFIT: refit = 1; break;
        case O_NOREFIT: refit = 0; break;
        case O_VALMODEL: val_model = optarg; break;
        case O_PFACTOR: plateau_factor = parse_double(optarg, "--plateau-factor", 1e-6, 1); break;
        case O_MAXTRAIN: max_train = parse_long(optarg, "--max-train", 1, 1L << 40); break;
        case 'o': model = optarg; break;
        case O_PRED: pred_path = optarg; break;
        case O_CURVES: curves = optarg; break;
        case O_PLOT: plot = optarg; break;
        case O_PREDICT: predict = 1; break;
        case O_LOAD:
            if (nload == MAX_MODELS) die_usage("at most %d --load", MAX_MODELS);
            loads[nload++] = optarg;
            break;
        case 'j': threads = (int)parse_long(optarg, "--threads", 1, 64); break;
        case O_PLAIN: plain = 1; break;
        case 'v': verbose = 1; break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    if (argc - optind > 1) die_usage("expected at most one image stream, got %d arguments", argc - optind);
    const char *images = optind < argc ? argv[optind] : "-";
    if (strcmp(images, "-") == 0 && isatty(0)) die_usage("expected an image stream on stdin (from decode) or as an argument");
    char *owned[3] = {0};
    if (split_dir) {
        if (!train_csv && !predict) train_csv = owned[0] = join(split_dir, "train.csv");
        if (!val_csv && !predict) val_csv = owned[1] = join(split_dir, "val.csv");
        if (!test_csv) {
            owned[2] = join(split_dir, "test.csv");
            if (file_exists(owned[2]) || predict) test_csv = owned[2];
        }
    }
    if (predict) {
        if (!nload) die_usage("--predict needs --load WEIGHTS");
        if (nload > 1 && cfg) die_usage("an ensemble (several --load) takes each model's cfg from WEIGHTS.cfg: drop --cfg");
        if (val_model || refit >= 0) die_usage("--val-model and --refit are for training, not --predict");
    } else {
        if (!train_csv || !val_csv) die_usage("training needs --split DIR (or --train and --val)");
        if (!model) die_usage("training needs -o/--model FILE for the weights");
        if (out_in_place(model)) die_usage("-o %s: the weights need a file (MODEL.cfg is saved beside them)", model);
        if (val_model && out_in_place(val_model))
            die_usage("--val-model %s: the weights need a file (its cfg is saved beside them)", val_model);
        if (val_model) refuse_overlap(model, val_model);
        if (nload > 1) die_usage("training starts from at most one --load");
    }
    if (!cfg && !predict) cfg = default_cfg(argv[0]);
    int quiet = getenv("FP_QUIET") != NULL && !verbose;
    dn_verbose(verbose);
    dn_fast_threads(threads);
    dn_fast_set(!plain);

    /* ---- data ---- */
    split_set train = {0}, val = {0}, test = {0}, all = {0};
    split_set *sets[3];
    int nsets = 0;
    if (train_csv) { read_split(&train, train_csv); sets[nsets++] = &train; }
    if (val_csv) { read_split(&val, val_csv); sets[nsets++] = &val; }
    if (test_csv) { read_split(&test, test_csv); sets[nsets++] = &test; }
    int S;
    double t_read = now_seconds();
    uint8_t *store = read_images(images, sets, nsets, predict && !test_csv, &all, &S);
    t_read = now_seconds() - t_read;
    if (max_train && train.n > max_train) train.n = max_train;

    int classes = 0;
    for (int k = 0; k < nsets; k++)
        for (int64_t i = 0; i < sets[k]->n; i++)
            if (sets[k]->label[i] + 1 > classes) classes = sets[k]->label[i] + 1;
    if (classes < 2 && !predict) classes = 2;

    if (predict) {
        predict_only(loads, nload, cfg, batch, tta, seed, verbose, quiet, test_csv ? &test : &all,
                     test_csv, S, pred_path);
        free(store);
        free(cfg);
        for (int k = 0; k < 3; k++) free(owned[k]);
        return 0;
    }

    if (train.n < 1) die("%s lists no images", train_csv);
    if (val.n < 1) die("%s lists no images: early stopping needs a validation set", val_csv);

    /* ---- network ---- */
    dn_cfg_opts o = {.batch = batch, .height = S, .width = S, .channels = 3, .classes = classes};
    dn_net *net = load_for_training(cfg, nload ? loads[0] : NULL, &o, seed, lr);
    if (dn_outputs(net) != classes)
        die("the network in %s ends with %d outputs, not the %d classes (is its last layer [softmax]?)", cfg, dn_outputs(net), classes);
    if (flip < 0) flip = dn_net_option(net, "flip", 0) != 0;
    if (translate < 0) translate = cfg_option(net, cfg, "translate", 0, 50);
    if (zoom < 0) zoom = cfg_option(net, cfg, "zoom", 0, 50);
    if (tta < 0) tta = dn_net_option(net, "tta", 0) != 0;
    if (plateau < 0) plateau = cfg_option(net, cfg, "plateau", 0, 100000);
    if (cosine < 0) cosine = dn_net_option(net, "cosine", 0) != 0;
    if (refit < 0) refit = dn_net_option(net, "refit", 0) != 0;
    if (patience < 0) patience = cfg_option(net, cfg, "patience", 5, 100000);
    /* Largest shift in whole pixels: PCT % of the side, rounded. */
    int max_shift = (int)((double)translate * S / 100.0 + 0.5);
    /* The saved cfg records the augmentation, TTA and schedule actually used (--predict
     * with it then averages the mirror images too when training did). */
    o.flip = flip ? 1 : -1;
    o.translate = translate ? translate : -1;
    o.zoom = zoom ? zoom : -1;
    o.tta = tta ? 1 : -1;
    o.plateau = plateau ? plateau : -1;
    o.cosine = cosine ? 1 : -1;
    o.patience = patience ? patience : -1;
    if (verbose) dn_describe(net, stderr);
    if (plain && dn_is_adam(net)) warn("--plain: Darknet's CPU update ignores adam=1, so this trains with SGD + momentum");
    if (!quiet) {
        fprintf(stderr, "%s: %lld train / %lld val / %lld test images %dx%d, %d classes, %s lr %g, batch %d%s",
                err_prog(), (long long)train.n, (long long)val.n, (long long)test.n, S, S, classes,
                dn_is_adam(net) && !plain ? "Adam" : "SGD+momentum", dn_lr(net), batch, flip ? ", flips" : "");
        if (max_shift) fprintf(stderr, ", shifts +-%d px", max_shift);
        if (zoom) fprintf(stderr, ", zoom +-%d %%", zoom);
        if (tta) fprintf(stderr, ", mirror TTA");
        if (cosine) fprintf(stderr, ", cosine decay to 0 over %d epochs", epochs);
        if (plateau) fprintf(stderr, ", lr x%g after %d flat epochs", plateau_factor, plateau);
        fprintf(stderr, ", patience %d", patience);
        if (refit) fprintf(stderr, ", then refit on train + val (cosine decay)");
        fprintf(stderr, ", %d thread(s)%s\n", threads ? threads : fp_threads(), plain ? ", plain Darknet kernels" : "");
    }

    FILE *cf = NULL;
    outfile cout = {0};
    if (curves) {
        cout = out_open(curves);
        cf = cout.fp;
        fprintf(cf, "epoch,train_loss,train_acc,val_loss,val_acc\n");
    }
    feed f = {.batch = batch, .flip = flip, .max_shift = max_shift, .zoom = zoom, .cosine = cosine,
              .epochs = epochs, .show_lr = cosine || plateau, .quiet = quiet};
    int64_t nprob = val.n > test.n ? val.n : test.n;
    float *probs = xmalloc(sizeof(float) * (size_t)(nprob ? nprob : 1) * classes);
    double t_all = now_seconds(), refit_secs = 0;
    selection sel = select_epoch(net, &train, &val, &f, patience, plateau, plateau_factor, tta, seed, cf, probs);
    dn_snapshot_restore(net, sel.best);
    if (cf) out_commit(&cout);
    if (curves && plot && out_in_place(curves))
        warn("--plot reads the curves back from --curves, and %s is not a file: no plot written", curves);
    else if (curves && plot) plot_curves(curves, plot);
    else if (plot) warn("--plot needs --curves: no plot written");

    /* ---- save: the network chosen on the validation rows; with --refit, then the one trained
     * on the training and validation rows for as many epochs ---- */
    o.refit = -1;
    if (val_model) save_model(net, cfg, val_model, &o);
    if (refit) {
        dn_free(net);
        net = load_for_training(cfg, nload ? loads[0] : NULL, &o, seed, lr);
        refit_epochs(net, &train, &val, &f, sel.best_epoch, seed, &refit_secs);
        o.refit = 1;
    }
    save_model(net, cfg, model, &o);

    double total = now_seconds() - t_all;
    if (!quiet) {
        fprintf(stderr, "%s: best epoch %d of %d (val loss %.4f acc %.4f)", err_prog(), sel.best_epoch, sel.ran,
                sel.best_val.loss, sel.best_val.acc);
        if (refit) fprintf(stderr, ", refit on %lld train + val images", (long long)(train.n + val.n));
        fprintf(stderr, "; %.1f s training (%.2f s/epoch)", sel.secs, sel.secs / sel.ran);
        if (refit) fprintf(stderr, ", %.1f s refit", refit_secs);
        fprintf(stderr, ", %.1f s in all; saved %s", total + t_read, model);
        if (val_model) fprintf(stderr, ", %s and their cfgs\n", val_model);
        else fprintf(stderr, " and its cfg\n");
    }
    if (test.n) {
        score te = evaluate(net, &test, tta, probs);
        if (!quiet) fprintf(stderr, "%s: test accuracy %.4f (%lld images), loss %.4f\n", err_prog(), te.acc, (long long)test.n, te.loss);
        write_predictions(pred_path, &test, probs, classes);
    }
    dn_snapshot_free(sel.best);
    dn_free(net);
    free(probs);
    free(store);
    free(cfg);
    for (int k = 0; k < 3; k++) free(owned[k]);
    return 0;
}
