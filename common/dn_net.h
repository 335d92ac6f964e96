/* dn_net.h - a small API over libdarknet (Debian package `darknet`, CPU): load a network
 * from a cfg (+ weights), train it on in-memory u8 images, predict, extract CNN codes.
 *
 * Only stages linked with libdarknet may use it (train-cnn, extract-features): the code lives
 * in common/dn_*.c, which the Makefile keeps out of libfp.a. What it takes care of:
 *   - Darknet prints layer tables and messages on stdout/stderr: while Darknet parses, loads
 *     or saves, its output is captured and shown only with dn_verbose(1) or when it fails.
 *     Darknet exits 0 on a missing file: we check files first, and an exit from inside
 *     Darknet is turned into "prog: libdarknet stopped: ..." and exit status 1.
 *   - Seeding: srand(seed) right before parsing, so the same seed draws the same initial
 *     weights (dn_fast.c makes rand_normal stateless), and dropout draws from seed too.
 *   - Input normalisation: pixel value / 255 as float, RGB planes (Darknet's C x H x W).
 *   - The cfg: batch, input size and class count come from the caller and are written into
 *     a temporary copy of the cfg (see dn_cfg_opts) before Darknet parses it.
 * Everything dies (err.h) with a message on failure. */
#ifndef FP_DN_NET_H
#define FP_DN_NET_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

typedef struct dn_net dn_net;

/* Values substituted into the cfg; 0 keeps the cfg's own value.
 *   batch, height, width, channels   -> [net] batch=, height=, width=, channels= (and
 *                                       subdivisions=1 whenever batch is set)
 *   classes                          -> output= of the LAST [connected] section, or filters=
 *                                       of the last [convolutional] if it comes later
 *   flip, translate, zoom, tta,      -> train-cnn's own [net] keys (docs/train-cnn.md), so
 *   plateau, patience, cosine, refit    the saved cfg records what training used; for these
 *                                       a negative value writes 0 */
typedef struct {
    int batch, height, width, channels, classes;
    int flip, translate, zoom, tta, plateau, patience, cosine, refit;
} dn_cfg_opts;

/* Writes the cfg TEMPLATE with the substitutions to OUT (atomically; "-" = stdout). */
void dn_write_cfg(const char *tmpl, const char *out, const dn_cfg_opts *o);

/* Loads cfg (+ weights unless NULL) for `batch` images at a time; seed draws the initial
 * weights (when weights is NULL) and the dropout masks. */
dn_net *dn_load(const char *cfg, const char *weights_or_NULL, int batch, uint64_t seed);
dn_net *dn_load_opts(const char *cfg, const char *weights_or_NULL, const dn_cfg_opts *o,
                     uint64_t seed);
void dn_free(dn_net *n);

int dn_batch(const dn_net *n);
int dn_height(const dn_net *n);
int dn_width(const dn_net *n);
int dn_channels(const dn_net *n);
int dn_outputs(const dn_net *n);       /* size of the last layer's output (classes) */
int dn_num_layers(const dn_net *n);
int dn_is_adam(const dn_net *n);       /* [net] adam=1 */
float dn_lr(const dn_net *n);          /* [net] learning_rate, or the last dn_set_lr */
void dn_set_lr(dn_net *n, float lr);
/* An integer key of the cfg's [net] section that Darknet does not know (train-cnn's flip=,
 * translate=, zoom=, tta=, plateau=, patience=, cosine=, refit=: see docs/train-cnn.md), or def when absent. */
int dn_net_option(const dn_net *n, const char *key, int def);
/* One line per layer ("conv 32 3x3/1 64x64x3 -> 62x62x32"), for --verbose and docs. */
void dn_describe(const dn_net *n, FILE *f);

/* Saves the weights in Darknet's format (atomically). */
void dn_save_weights(dn_net *n, const char *path);

/* A geometric variant of an input image (training augmentation, test-time mirroring):
 * mirrored left-right when flip, then zoomed by `zoom` about the centre (> 1 = closer) and
 * shifted by (dx, dy) pixels of the network's input. Pixels taken from outside the image
 * repeat its border; non-integer positions are interpolated bilinearly. {0, 0, 0, 1} (zoom 0
 * counts as 1; or a NULL dn_aug pointer) is the image itself, copied exactly. */
typedef struct {
    int flip;
    float dx, dy, zoom;
} dn_aug;

/* The loss reported for a probability p of the true class is -log(max(p, DN_P_FLOOR)), as
 * Keras clips it (1e-7): an untrained network can put float-zero probability on a class
 * (e.g. after Adam's first step moved the 12544 x 512 weights of the 128 px dense layer by lr
 * each), and log(0) would stop training although the softmax gradient truth - p is finite. */
#define DN_P_FLOOR 1e-7

/* One training step on exactly dn_batch() images: imgs[i] points at an H x W x C u8 image
 * (as decode writes it), labels[i] in [0, outputs), aug[i] the variant of image i to train
 * on (aug may be NULL: the images as they are). Runs forward, backward and the update (Adam
 * if the cfg says adam=1, else Darknet's SGD with momentum). Returns the summed cross-entropy
 * of the batch (with DN_P_FLOOR); when probs is not NULL it receives the batch's
 * training-mode softmax outputs (batch x outputs). */
float dn_train_batch(dn_net *n, const uint8_t *const *imgs, const int *labels, const dn_aug *aug,
                     float *probs);
/* Inference (no dropout, batch norm with running statistics) on count images, any count:
 * probs receives count x dn_outputs() floats. dn_predict_aug applies the same variant
 * (NULL = none) to every image, e.g. {.flip = 1, .zoom = 1} for test-time mirroring. */
void dn_predict(dn_net *n, const uint8_t *const *imgs, int64_t count, float *probs);
void dn_predict_aug(dn_net *n, const uint8_t *const *imgs, int64_t count, const dn_aug *aug,
                    float *probs);

/* CNN codes for transfer learning. layer >= 0 counts from the first layer, < 0 from the end
 * (-1 = last layer, -2 = the one before). A layer whose output is spatial (out_h*out_w > 1)
 * gives one value per channel, the global average (pool_max = 0) or maximum (pool_max = 1)
 * over positions; otherwise its whole output vector. dn_code_len() is that length;
 * dn_codes() fills out with count x len floats for count contiguous h x w x 3 u8 images and
 * returns len. h and w must equal the network's input size. */
int dn_code_len(dn_net *n, int layer);
int dn_codes(dn_net *n, const uint8_t *imgs, int count, int h, int w, int layer, int pool_max,
             float *out);

/* Copies of every trainable parameter and batch-norm statistic (early stopping). */
typedef struct dn_snapshot dn_snapshot;
dn_snapshot *dn_snapshot_take(dn_net *n, dn_snapshot *reuse_or_NULL);
void dn_snapshot_restore(dn_net *n, const dn_snapshot *s);
void dn_snapshot_free(dn_snapshot *s);

/* The underlying Darknet network (struct network of darknet.h), for tests and for code
 * that needs a layer's fields; NULL-safe only in the sense of returning n's network. */
struct network *dn_network(dn_net *n);

/* Call first thing in main(), before reading any input. OpenBLAS 0.3.21 (Debian 12) does
 * not know AMD Zen 4/5 and runs its Haswell (AVX2) kernels there; its SkylakeX (AVX-512)
 * kernels do the same sums about 1.6x faster on such CPUs. The kernel set is chosen when the
 * library loads, from OPENBLAS_CORETYPE: so when that is unset, the CPU has AVX-512 (F, BW,
 * DQ, VL) and OpenBLAS chose a non-AVX-512 core, this sets OPENBLAS_CORETYPE=SKYLAKEX and
 * re-executes the program with the same arguments (stdin untouched). A user's own
 * OPENBLAS_CORETYPE is always respected. */
void dn_blas_tune(char **argv);

/* Show Darknet's own messages on stderr (default: captured, shown on failure only). */
void dn_verbose(int on);

/* ---- dn_fast.c: our replacements of Darknet's hot functions (see that file) ---- */
void dn_fast_init(void);               /* resolves Darknet's originals; dn_load calls it */
void dn_fast_set(int on);              /* 1 (default) = ours, 0 = Darknet's plain code */
int dn_fast_get(void);
void dn_fast_threads(int n);           /* threads for our kernels; 0 = fp_threads() */
void dn_fast_seed(uint64_t seed);      /* dropout stream; dn_load calls it with its seed */
void dn_fast_direct(int on);           /* 1 (default): direct stride-1 convolutions on AVX-512
                                        * CPUs; 0: im2col + OpenBLAS GEMM everywhere */
void dn_fast_trunk(int on);            /* 1 (default): leading conv/pool/dropout layers image by
                                        * image (needs the direct path); 0: layer by layer */
void *dn_plain(const char *name);      /* Darknet's own definition of a function */

#endif
