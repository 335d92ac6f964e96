/* extract-features - image stream (from decode) -> feature stream, row by row.
 *
 *   extract-features [--method hand] [FILE]       hand-crafted features (376 f32, no weights)
 *   extract-features --method raw [--size S] [--gray] [FILE]
 *                                                 raw pixels, flattened (u8)
 *   extract-features --cfg NET.cfg [--weights W] [--layer N] [--pool avg|max] [FILE]
 *                                                 CNN codes from any Darknet network
 * Rows are processed in batches on all cores and written in input order; memory holds one
 * batch whatever the number of rows. See docs/extract-features.md. */
#include "dn_net.h"
#include "err.h"
#include "image.h"
#include "imgfeat.h"
#include "mat.h"
#include "progress.h"
#include "threads.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 64

typedef enum { METHOD_HAND, METHOD_RAW, METHOD_CNN } method;

static void usage(void)
{
    printf("Usage: extract-features [OPTIONS] [FILE]\n"
           "Turn an image stream (from decode; '-' or no FILE = stdin) into a feature stream.\n\n"
           "  -m, --method M     hand (default): %d hand-crafted f32 features - colour layout,\n"
           "                     HSV histograms, HOG, skin/edge statistics (no weights needed)\n"
           "                     raw: the pixels flattened, u8\n"
           "                     cnn: activations of a Darknet network (needs --cfg)\n"
           "  -s, --size S       raw: area-resize to S x S first (default: keep)\n"
           "      --gray         raw: one grey channel instead of RGB\n"
           "      --cfg FILE     cnn: Darknet network description (implies --method cnn)\n"
           "      --weights FILE cnn: trained weights (default: the cfg's random init)\n"
           "      --layer N      cnn: layer whose output is the code (negative counts from\n"
           "                     the end; default -2, the layer before the classifier)\n"
           "      --pool avg|max cnn: pooling over space for convolutional layers (avg)\n"
           "  -o, --output FILE  write atomically to FILE instead of stdout\n"
           "  -j, --threads N    threads (default: all cores)\n"
           "  -h, --help         show this help\n", FEAT_DIM);
}

typedef struct {
    method m;
    int h, w;              /* input image shape */
    int size, gray;        /* raw */
    const uint8_t *in;     /* batch of input rows */
    void *out;             /* batch of output rows */
    size_t out_bytes;      /* per row */
} batch_ctx;

static void raw_row(const batch_ctx *c, const uint8_t *img, uint8_t *out)
{
    int s = c->size ? c->size : c->h;
    uint8_t *tmp = NULL;
    const uint8_t *src = img;
    if (s != c->h || s != c->w) {
        tmp = xmalloc((size_t)s * s * 3);
        img_resize_area(img, c->w, c->h, tmp, s, s, 3);
        src = tmp;
    }
    if (c->gray) {
        /* ITU-R BT.601 luma, rounded */
        for (int i = 0; i < s * s; i++)
            out[i] = (uint8_t)((299 * src[3 * i] + 587 * src[3 * i + 1] + 114 * src[3 * i + 2] + 500) / 1000);
    } else {
        memcpy(out, src, (size_t)s * s * 3);
    }
    free(tmp);
}

static void one_row(void *vctx, int64_t i, int thread)
{
    (void)thread;
    batch_ctx *c = vctx;
    const uint8_t *img = c->in + (size_t)i * c->h * c->w * 3;
    uint8_t *out = (uint8_t *)c->out + (size_t)i * c->out_bytes;
    if (c->m == METHOD_HAND) features_compute(img, c->h, c->w, (float *)out);
    else raw_row(c, img, out);
}

/* CNN codes: batches of images through a Darknet network (its own threads), the chosen
 * layer's activations pooled over space. Images are area-resized to the network's input. */
static int cnn_codes(const char *in, const char *out, const char *cfg, const char *weights,
                     int layer, int pool_max)
{
    mat_reader *r = mat_open(in);
    mat_expect_image(r);
    const mat_header *ih = mat_hdr(r);
    if (ih->shape[2] != 3) die("%s: expected RGB rows (3 channels)", mat_name(r));
    dn_net *net = dn_load(cfg, weights, BATCH, 1);
    int nh = dn_height(net), nw = dn_width(net), h = (int)ih->shape[0], w = (int)ih->shape[1];
    int len = dn_code_len(net, layer);
    mat_header oh = mat_header_vec(MAT_F32, ih->rows, len, ih->idw);
    mat_writer *wr = mat_create(out, &oh);
    size_t in_bytes = (size_t)h * w * 3, net_bytes = (size_t)nh * nw * 3;
    uint8_t *inbuf = xmalloc(in_bytes * BATCH), *netbuf = xmalloc(net_bytes * BATCH);
    float *codes = xmalloc(sizeof(float) * (size_t)len * BATCH);
    char (*ids)[MAT_MAX_ID + 1] = xmalloc(sizeof(*ids) * BATCH);
    progress pr;
    progress_start(&pr, "extract-features", "images", ih->rows);
    int64_t done = 0;
    for (;;) {
        int n = 0;
        while (n < BATCH && mat_read_row(r, ids[n], inbuf + (size_t)n * in_bytes)) n++;
        if (n == 0) break;
        for (int i = 0; i < n; i++)
            img_resize_area(inbuf + (size_t)i * in_bytes, w, h, netbuf + (size_t)i * net_bytes, nw, nh, 3);
        dn_codes(net, netbuf, n, nh, nw, layer, pool_max, codes);
        for (int i = 0; i < n; i++) mat_write_row(wr, ids[i], codes + (size_t)i * len);
        done += n;
        progress_update(&pr, done);
    }
    mat_finish(wr);
    progress_end(&pr);
    dn_free(net);
    mat_close(r);
    free(inbuf);
    free(netbuf);
    free(codes);
    free(ids);
    return 0;
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    static const struct option opts[] = {
        {"method", required_argument, 0, 'm'}, {"size", required_argument, 0, 's'},
        {"gray", no_argument, 0, 'g'},         {"cfg", required_argument, 0, 'C'},
        {"weights", required_argument, 0, 'W'}, {"layer", required_argument, 0, 'L'},
        {"pool", required_argument, 0, 'P'},   {"output", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 'j'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    method m = METHOD_HAND;
    int size = 0, gray = 0, threads = 0;
    const char *out = "-", *cfg = NULL, *weights = NULL;
    int layer = -2, pool_max = 0;
    int c;
    while ((c = getopt_long(argc, argv, "m:s:o:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (strcmp(optarg, "hand") == 0) m = METHOD_HAND;
            else if (strcmp(optarg, "raw") == 0) m = METHOD_RAW;
            else if (strcmp(optarg, "cnn") == 0) m = METHOD_CNN;
            else die_usage("--method: expected hand, raw or cnn, got '%s'", optarg);
            break;
        case 's': size = (int)parse_long(optarg, "--size", 1, 4096); break;
        case 'g': gray = 1; break;
        case 'C': cfg = optarg; m = METHOD_CNN; break;
        case 'W': weights = optarg; break;
        case 'L': layer = (int)parse_long(optarg, "--layer", -1000, 1000); break;
        case 'P':
            if (strcmp(optarg, "avg") == 0) pool_max = 0;
            else if (strcmp(optarg, "max") == 0) pool_max = 1;
            else die_usage("--pool: expected avg or max, got '%s'", optarg);
            break;
        case 'o': out = optarg; break;
        case 'j': threads = (int)parse_long(optarg, "--threads", 1, 64); break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    if (argc - optind > 1) die_usage("expected at most one input stream");
    if (m == METHOD_CNN && !cfg) die_usage("--method cnn needs --cfg FILE");
    const char *in = optind < argc ? argv[optind] : "-";
    if (m == METHOD_CNN) {
        dn_blas_tune(argv);
        return cnn_codes(in, out, cfg, weights, layer, pool_max);
    }
    mat_reader *r = mat_open(in);
    mat_expect_image(r);
    const mat_header *ih = mat_hdr(r);
    if (ih->shape[2] != 3)
        die("%s: expected RGB rows (3 channels), found %lld", mat_name(r), (long long)ih->shape[2]);
    batch_ctx ctx = {.m = m, .h = (int)ih->shape[0], .w = (int)ih->shape[1], .size = size, .gray = gray};
    mat_header oh;
    if (m == METHOD_HAND) {
        oh = mat_header_vec(MAT_F32, ih->rows, FEAT_DIM, ih->idw);
    } else {
        int s = size ? size : ctx.h;
        if (!size && ctx.h != ctx.w) ctx.size = s;
        oh = mat_header_vec(MAT_U8, ih->rows, (int64_t)s * s * (gray ? 1 : 3), ih->idw);
    }
    ctx.out_bytes = (size_t)mat_cols(&oh) * mat_type_size(oh.type);
    size_t in_bytes = (size_t)ctx.h * ctx.w * 3;
    uint8_t *inbuf = xmalloc(in_bytes * BATCH);
    ctx.out = xmalloc(ctx.out_bytes * BATCH);
    char (*ids)[MAT_MAX_ID + 1] = xmalloc(sizeof(*ids) * BATCH);
    mat_writer *w = mat_create(out, &oh);
    progress pr;
    progress_start(&pr, "extract-features", "images", ih->rows);
    int64_t done = 0;
    for (;;) {
        int n = 0;
        while (n < BATCH && mat_read_row(r, ids[n], inbuf + (size_t)n * in_bytes)) n++;
        if (n == 0) break;
        ctx.in = inbuf;
        parallel_for(n, threads, one_row, &ctx);
        for (int i = 0; i < n; i++) mat_write_row(w, ids[i], (uint8_t *)ctx.out + (size_t)i * ctx.out_bytes);
        done += n;
        progress_update(&pr, done);
    }
    mat_finish(w);
    progress_end(&pr);
    mat_close(r);
    free(inbuf);
    free(ctx.out);
    free(ids);
    return 0;
}
