/* find-noise - decide which clusters hold the noise (non-face) images and write the
 * filtered label table.
 *
 *   find-noise --images IMAGES --clusters CLUSTERS --labels CSV -o DIR [--features F] [--ref ID]
 *
 * The criterion (docs/find-noise.md): a face image has skin tones in its face area (the
 * central ellipse); a sky, a field or a black frame does not. Each cluster gets a face
 * score, the median over its images of the skin fraction in the face area. The dataset is
 * mostly faces, so the median over all images is a face-like level; a cluster whose score
 * is below a third of that level is noise. With --ref ID (the original's way) the cluster
 * holding image ID is noise instead. Then every image of a removed cluster gets a second,
 * per-image look (rescue.h): a linear SVM trained on thumbnails of the other folds to tell
 * kept clusters from removed ones; an image it places on the kept side is kept. With
 * --features, a third look scores every image the same way on the clustering's features and,
 * when the scores split cleanly in two, each image goes with its group. Labels are never used to decide; when they reveal the noise (rows whose every label is -1, as in
 * AMLS) precision and recall are reported. */
#include "err.h"
#include "idmap.h"
#include "imgfeat.h"
#include "labels.h"
#include "mat.h"
#include "rescue.h"

#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NOISE_FRACTION_OF_MEDIAN (1.0 / 3.0)

static void usage(void)
{
    printf("Usage: find-noise --images IMAGES --clusters CLUSTERS --labels CSV -o DIR [OPTIONS]\n"
           "Pick the noise cluster(s) and write DIR/filtered.csv (the label rows of the kept\n"
           "images), DIR/noise.csv (file_name,cluster of the removed ones) and\n"
           "DIR/clusters.csv (cluster,size,face_score,noise,rescued,flagged).\n\n"
           "  --images FILE     image stream from decode (the pixels the score is taken from)\n"
           "  --clusters FILE   kmeans output: the same ids with one i32 cluster column\n"
           "  --labels CSV      the dataset's attribute_list.csv\n"
           "  --ref ID          the cluster holding image ID is the noise (instead of the\n"
           "                    face-score criterion)\n"
           "  --features FILE   the features the clusters were computed from (extract-features\n"
           "                    output, same ids): enables the third look, which can also\n"
           "                    remove images of kept clusters\n"
           "  --no-rescue       remove whole clusters: no per-image second or third look\n"
           "  --seed S          folds and sample of the second and third looks (default 1)\n"
           "  -o, --output DIR  where to write (files are replaced atomically)\n"
           "  -h, --help        show this help\n");
}

typedef struct {
    int64_t size;
    double *scores;       /* per member, for the median */
    double face_score;
    int noise;
    int64_t rescued;      /* images of a noise cluster kept by the second or third look */
    int64_t flagged;      /* images of a kept cluster removed by the third look */
} cluster;

static double median(double *v, int64_t n)
{
    if (n == 0) return 0;
    sort_doubles(v, n);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Reads the cluster of every id: returns the count, fills ids (map id -> row) and cl. */
static int64_t read_clusters(const char *path, idmap *rows, int **cl, int *k)
{
    mat_reader *r = mat_open(path);
    const mat_header *h = mat_hdr(r);
    if (mat_cols(h) != 1 || h->type != MAT_I32)
        die("%s: expected one i32 column of cluster numbers (kmeans output)", path);
    *cl = xmalloc(sizeof(int) * (size_t)(h->rows ? h->rows : 1));
    char id[MAT_MAX_ID + 1];
    int32_t c;
    int64_t n = 0;
    *k = 0;
    while (mat_read_row(r, id, &c)) {
        if (c < 0) die("%s: row %lld (%s): negative cluster %d", path, (long long)n + 1, id, c);
        if (idmap_put(rows, id, n) >= 0) die("%s: duplicate id '%s'", path, id);
        (*cl)[n++] = c;
        if (c + 1 > *k) *k = c + 1;
    }
    mat_close(r);
    return n;
}

static void write_outputs(const char *dir, const labels *lab, const idmap *rows, const int *cl,
                          const int *drop, const cluster *cs, int k)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) die("cannot create %s: %s", dir, strerror(errno));
    char path[4096];
    snprintf(path, sizeof path, "%s/filtered.csv", dir);
    outfile f = out_open(path);
    snprintf(path, sizeof path, "%s/noise.csv", dir);
    outfile nz = out_open(path);
    fprintf(f.fp, "file_name");
    for (int j = 0; j < lab->ncols; j++) fprintf(f.fp, ",%s", lab->colnames[j]);
    fprintf(f.fp, "\n");
    fprintf(nz.fp, "file_name,cluster\n");
    for (int64_t i = 0; i < lab->nrows; i++) {
        int64_t r = idmap_get(rows, lab->ids[i]);
        if (r < 0) continue;            /* not decoded (unreadable): in neither list */
        if (drop[r]) {
            fprintf(nz.fp, "%s,%d\n", lab->ids[i], cl[r]);
            continue;
        }
        fprintf(f.fp, "%s", lab->ids[i]);
        for (int j = 0; j < lab->ncols; j++) fprintf(f.fp, ",%d", labels_get(lab, i, j));
        fprintf(f.fp, "\n");
    }
    out_commit(&nz);
    snprintf(path, sizeof path, "%s/clusters.csv", dir);
    outfile c = out_open(path);
    fprintf(c.fp, "cluster,size,face_score,noise,rescued,flagged\n");
    for (int j = 0; j < k; j++)
        fprintf(c.fp, "%d,%lld,%.4f,%d,%lld,%lld\n", j, (long long)cs[j].size, cs[j].face_score,
                cs[j].noise, (long long)cs[j].rescued, (long long)cs[j].flagged);
    out_commit(&c);
    out_commit(&f);                 /* filtered.csv, the file make waits for, last */
}

/* Precision/recall against rows whose every label is -1, when the table has such rows. */
static void report_against_labels(const labels *lab, const idmap *rows, const int *drop)
{
    int64_t tp = 0, fp = 0, fn = 0, revealed = 0;
    for (int64_t i = 0; i < lab->nrows; i++) {
        int64_t r = idmap_get(rows, lab->ids[i]);
        if (r < 0) continue;
        int all_neg = lab->ncols > 0;
        for (int j = 0; j < lab->ncols; j++) all_neg &= labels_get(lab, i, j) == -1;
        revealed += all_neg;
        int removed = drop[r];
        tp += removed && all_neg;
        fp += removed && !all_neg;
        fn += !removed && all_neg;
    }
    if (!revealed) return;
    fprintf(stderr, "find-noise: against the labels (rows with every label -1; a report only, "
                    "not used to decide): precision %.4f, recall %.4f (%lld of %lld noise rows "
                    "removed, %lld faces removed)\n",
            tp + fp ? (double)tp / (tp + fp) : 1.0, (double)tp / revealed, (long long)tp,
            (long long)revealed, (long long)fp);
}

/* The decisions so far in stream order (1 = removed), for a per-image look; NULL (and a line
 * saying why) when either side has too few images for the look's folds. */
static int *removed_in_stream_order(const int *drop, const int64_t *row_of, int64_t n, int folds,
                                    const char *look, int64_t *nrem)
{
    int *removed = xmalloc(sizeof(int) * (size_t)n);
    *nrem = 0;
    for (int64_t i = 0; i < n; i++) *nrem += removed[i] = drop[row_of[i]];
    if (*nrem >= 2 * folds && n - *nrem >= 2 * folds) return removed;
    fprintf(stderr, "find-noise: %s look skipped: %lld removed and %lld kept images are too few for %d folds\n",
            look, (long long)*nrem, (long long)(n - *nrem), folds);
    free(removed);
    return NULL;
}

/* The per-image second look (rescue.h): images of removed clusters whose held-out SVM
 * decision falls on the kept side are kept. thumbs are in stream order; row_of maps a
 * stream position to its cluster row. Too few removed images for the folds: skipped. */
static void second_look(const rescue_params *rp, const float *thumbs, const int64_t *row_of,
                        int64_t n, const int *cl, int *drop, cluster *cs, char **ids)
{
    int64_t nrem;
    int *removed = removed_in_stream_order(drop, row_of, n, rp->folds, "second", &nrem);
    if (!removed) return;
    double *score = xmalloc(sizeof(double) * (size_t)n);
    rescue_scores(thumbs, n, removed, rp, score);
    int64_t kept = 0;
    double closest = -HUGE_VAL;          /* the highest decision among the images still removed */
    for (int64_t i = 0; i < n; i++) {
        if (removed[i] && score[i] <= 0 && score[i] > closest) closest = score[i];
        if (!removed[i] || score[i] <= 0) continue;
        int64_t r = row_of[i];
        drop[r] = 0;
        cs[cl[r]].rescued++;
        kept++;
        fprintf(stderr, "find-noise: image %s (cluster %d) kept by the second look: held-out SVM decision %+.3f (> 0 = like the kept clusters)\n",
                ids[i], cl[r], score[i]);
    }
    fprintf(stderr, "find-noise: second look (linear SVM on %dx%d thumbnails, %d folds, C %g): %lld of %lld removed images kept\n",
            RESCUE_SIDE, RESCUE_SIDE, rp->folds, rp->C, (long long)kept, (long long)nrem);
    if (closest > -HUGE_VAL)
        fprintf(stderr, "find-noise: second look: the highest decision among the images still removed is %+.3f\n", closest);
    free(score);
    free(removed);
}

/* The feature rows in stream order (row_of: stream position -> cluster row), as f32. */
static float *read_features(const char *path, const idmap *rows, const int64_t *row_of, int64_t n, int *dim)
{
    mat_reader *r = mat_open(path);
    const mat_header *h = mat_hdr(r);
    if (h->type != MAT_F32) die("%s: expected f32 features (extract-features output)", path);
    if (h->rows != n) die("%s has %lld rows but the clusters have %lld", path, (long long)h->rows, (long long)n);
    int64_t cols = mat_cols(h);
    if (cols < 1 || cols > 1 << 20) die("%s: %lld feature columns; expected 1 to %d", path, (long long)cols, 1 << 20);
    *dim = (int)cols;
    int64_t *pos = xmalloc(sizeof *pos * (size_t)n);           /* cluster row -> stream position */
    for (int64_t i = 0; i < n; i++) pos[row_of[i]] = i;
    float *x = xmalloc(sizeof *x * (size_t)cols * (size_t)n);
    char *seen = xcalloc((size_t)n, 1);
    char id[MAT_MAX_ID + 1];
    float *row = xmalloc(sizeof *row * (size_t)cols);
    for (int64_t t = 0; mat_read_row(r, id, row); t++) {
        int64_t cr = idmap_get(rows, id);
        if (cr < 0) die("%s: row %lld: image '%s' has no cluster", path, (long long)t + 1, id);
        if (seen[cr]++) die("%s: row %lld: duplicate id '%s'", path, (long long)t + 1, id);
        memcpy(x + pos[cr] * cols, row, sizeof *row * (size_t)cols);
    }
    mat_close(r);
    free(row); free(seen); free(pos);
    return x;
}

/* The third look (docs/find-noise.md): a held-out linear SVM on the clustering's own features,
 * trained on the decisions so far, scores EVERY image; when those scores fall into two clean
 * groups (Otsu's split with a gap of at least CLEAN_GAP_SD standard deviations, and at most
 * MAX_CHANGE_FRACTION of the removed count changing side) each image goes with its group -
 * a face of a removed cluster is kept, a noise image of a kept cluster is removed. Otherwise
 * the decisions stand. feats is in stream order, dim columns. */
#define THIRD_LOOK_C 0.001
#define CLEAN_GAP_SD 0.5
#define MAX_CHANGE_FRACTION 0.5

static void third_look(const rescue_params *rp0, const float *thumbs, const float *feats, int dim,
                       const int64_t *row_of, int64_t n, const int *cl, int *drop, cluster *cs,
                       char **ids)
{
    rescue_params rp = *rp0;
    rp.C = THIRD_LOOK_C;
    int64_t nrem;
    int *removed = removed_in_stream_order(drop, row_of, n, rp.folds, "third", &nrem);
    if (!removed) return;
    double *score = xmalloc(sizeof(double) * (size_t)n);
    heldout_scores(thumbs, feats, n, dim, removed, &rp, 1, score);
    split1d s = otsu_split(score, n);
    int64_t change = 0;
    for (int64_t i = 0; i < n; i++) change += removed[i] != (score[i] < s.threshold);
    int clean = s.gap >= CLEAN_GAP_SD * s.sd && (double)change <= MAX_CHANGE_FRACTION * (double)nrem;
    fprintf(stderr, "find-noise: third look (linear SVM on the %d clustering features, every image held out, C %g): "
                    "split at %+.3f, gap %.3f = %.2f sd, %lld below, %lld would change side -> %s\n",
            dim, rp.C, s.threshold, s.gap, s.sd > 0 ? s.gap / s.sd : 0.0, (long long)s.below,
            (long long)change, clean ? "applied" : "not clean, decisions stand");
    for (int64_t i = 0; clean && i < n; i++) {
        int now = score[i] < s.threshold;
        if (now == removed[i]) continue;
        int64_t r = row_of[i];
        drop[r] = now;
        if (cs[cl[r]].noise) cs[cl[r]].rescued += now ? -1 : 1;
        else cs[cl[r]].flagged += now ? 1 : -1;
        fprintf(stderr, "find-noise: image %s (cluster %d) %s by the third look: held-out decision %+.3f\n",
                ids[i], cl[r], now ? "removed" : "kept", score[i]);
    }
    free(score);
    free(removed);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    static const struct option opts[] = {
        {"images", required_argument, 0, 'I'}, {"clusters", required_argument, 0, 'C'},
        {"labels", required_argument, 0, 'L'}, {"ref", required_argument, 0, 'R'},
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'},
        {"no-rescue", no_argument, 0, 'N'}, {"seed", required_argument, 0, 'S'},
        {"features", required_argument, 0, 'F'},
        {0, 0, 0, 0}};
    const char *images = NULL, *clusters = NULL, *labels_path = NULL, *ref = NULL, *dir = NULL;
    const char *features = NULL;
    int c, rescue = 1;
    rescue_params rp = rescue_defaults();
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'I': images = optarg; break;
        case 'C': clusters = optarg; break;
        case 'L': labels_path = optarg; break;
        case 'R': ref = optarg; break;
        case 'o': dir = optarg; break;
        case 'N': rescue = 0; break;
        case 'F': features = optarg; break;
        case 'S': rp.seed = parse_seed(optarg); break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    if (!images || !clusters || !labels_path || !dir)
        die_usage("--images, --clusters, --labels and -o are all required");
    if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);

    idmap rows;
    idmap_init(&rows);
    int *cl, k;
    int64_t n = read_clusters(clusters, &rows, &cl, &k);
    if (n == 0) die("%s: no rows", clusters);
    cluster *cs = xcalloc((size_t)k, sizeof *cs);
    for (int64_t i = 0; i < n; i++) cs[cl[i]].size++;
    for (int j = 0; j < k; j++) cs[j].scores = xmalloc(sizeof(double) * (size_t)(cs[j].size + 1));

    /* Face score of every image, straight from its pixels. */
    mat_reader *r = mat_open(images);
    mat_expect_image(r);
    const mat_header *h = mat_hdr(r);
    if (h->rows != n) die("%s has %lld rows but %s has %lld", images, (long long)h->rows, clusters, (long long)n);
    uint8_t *px = xmalloc((size_t)mat_cols(h));
    float *thumbs = rescue ? xmalloc(sizeof(float) * RESCUE_DIM * (size_t)n) : NULL;
    int64_t *row_of = xmalloc(sizeof(int64_t) * (size_t)n);   /* stream order -> cluster row */
    char **ids = xcalloc((size_t)n, sizeof *ids);                /* stream order -> id */
    char id[MAT_MAX_ID + 1];
    double *all = xmalloc(sizeof(double) * (size_t)n);
    int64_t *fill = xcalloc((size_t)k, sizeof *fill);
    for (int64_t i = 0; mat_read_row(r, id, px); i++) {
        int64_t row = idmap_get(&rows, id);
        if (row < 0) die("%s: image '%s' has no cluster in %s", images, id, clusters);
        double s = face_skin_fraction(px, (int)h->shape[0], (int)h->shape[1]);
        all[i] = s;
        cs[cl[row]].scores[fill[cl[row]]++] = s;
        row_of[i] = row;
        ids[i] = xstrdup(id);
        if (thumbs) rescue_thumbnail(px, (int)h->shape[0], (int)h->shape[1], thumbs + i * RESCUE_DIM);
    }
    mat_close(r);
    double level = median(all, n);
    for (int j = 0; j < k; j++) cs[j].face_score = median(cs[j].scores, cs[j].size);

    int64_t ref_row = -1;
    if (ref) {
        ref_row = idmap_get(&rows, ref);
        if (ref_row < 0) die("--ref %s: no image with that id in %s", ref, clusters);
        cs[cl[ref_row]].noise = 1;
    } else {
        for (int j = 0; j < k; j++) cs[j].noise = cs[j].face_score < NOISE_FRACTION_OF_MEDIAN * level;
    }
    int nnoise = 0;
    for (int j = 0; j < k; j++) nnoise += cs[j].noise;
    if (nnoise == k) die("every cluster looks like noise (face scores all below %.3f): is this a face dataset?", NOISE_FRACTION_OF_MEDIAN * level);

    fprintf(stderr, "find-noise: face score = median skin fraction in the face area; dataset level %.3f, noise below %.3f%s\n",
            level, NOISE_FRACTION_OF_MEDIAN * level, ref ? " (ignored: --ref given)" : "");
    for (int j = 0; j < k; j++)
        fprintf(stderr, "find-noise: cluster %d: %lld images, face score %.3f -> %s\n", j,
                (long long)cs[j].size, cs[j].face_score,
                cs[j].noise ? (ref ? "removed (holds --ref image)" : "removed (no faces)") : "kept");
    if (nnoise == 0) fprintf(stderr, "find-noise: no noise cluster found; nothing removed\n");

    int *drop = xmalloc(sizeof(int) * (size_t)n);
    for (int64_t r = 0; r < n; r++) drop[r] = cs[cl[r]].noise;
    if (rescue && nnoise > 0) second_look(&rp, thumbs, row_of, n, cl, drop, cs, ids);
    if (rescue && nnoise > 0 && features) {
        int dim;
        float *feats = read_features(features, &rows, row_of, n, &dim);
        third_look(&rp, thumbs, feats, dim, row_of, n, cl, drop, cs, ids);
        free(feats);
    }

    labels lab = labels_read(labels_path);
    write_outputs(dir, &lab, &rows, cl, drop, cs, k);
    report_against_labels(&lab, &rows, drop);
    labels_free(&lab);
    for (int j = 0; j < k; j++) free(cs[j].scores);
    free(cs);
    free(cl);
    free(all);
    free(fill);
    free(px);
    free(thumbs);
    free(row_of);
    for (int64_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    free(drop);
    idmap_free(&rows);
    return 0;
}
