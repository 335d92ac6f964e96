/* gen-blobs - seeded test matrices for the numeric stages (pca, tsne, kmeans).
 *
 *   gen-blobs [--clusters 5] [--per 60] [--dims 30] [--std 1] [--box 10] [--seed 1] [--type f32]
 *       Gaussian blobs (sklearn make_blobs style): centres uniform in [-box, box]^dims, rows
 *       N(centre, std^2 I). Row i belongs to cluster i mod C and has id c<cluster>_<i div C>,
 *       so clusters first appear in the order 0, 1, 2, ... and a canonical clustering of
 *       well-separated blobs numbers them exactly like the ids.
 *   gen-blobs --lowrank R --rows N --dims D [--decay 0.9] [--noise 0.1]
 *       x = m + sum_r z_r s_r v_r + noise: a random mean m, orthonormal v_r, z ~ N(0,1),
 *       s_r = 10 decay^r; a spectrum like that of image features. Ids r<i>.
 * Writes a matrix stream to stdout (or -o FILE). */
#include "err.h"
#include "mat.h"
#include "rng.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("Usage: gen-blobs [--clusters C] [--per N] [--dims D] [--std S] [--box B]\n"
           "                 [--seed S] [--type f32|f64] [-o FILE]\n"
           "       gen-blobs --lowrank R --rows N --dims D [--decay F] [--noise S] ...\n"
           "Seeded Gaussian blobs (ids c<cluster>_<n>, clusters interleaved) or a low-rank\n"
           "matrix plus noise (ids r<i>), as a matrix stream.\n");
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    enum { O_CL = 256, O_PER, O_DIMS, O_STD, O_BOX, O_LR, O_ROWS, O_DECAY, O_NOISE };
    static const struct option opts[] = {
        {"clusters", required_argument, 0, O_CL}, {"per", required_argument, 0, O_PER},
        {"dims", required_argument, 0, O_DIMS},   {"std", required_argument, 0, O_STD},
        {"box", required_argument, 0, O_BOX},     {"lowrank", required_argument, 0, O_LR},
        {"rows", required_argument, 0, O_ROWS},   {"decay", required_argument, 0, O_DECAY},
        {"noise", required_argument, 0, O_NOISE}, {"seed", required_argument, 0, 's'},
        {"type", required_argument, 0, 't'},      {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    long clusters = 5, per = 60, dims = 30, lowrank = 0, rows = 1000;
    double sd = 1.0, box = 10.0, decay = 0.9, noise = 0.1;
    uint64_t seed = 1;
    mat_type type = MAT_F32;
    const char *out = "-";
    int c;
    while ((c = getopt_long(argc, argv, "s:t:o:h", opts, NULL)) != -1) {
        switch (c) {
        case O_CL: clusters = parse_long(optarg, "--clusters", 1, 1000000); break;
        case O_PER: per = parse_long(optarg, "--per", 1, 100000000); break;
        case O_DIMS: dims = parse_long(optarg, "--dims", 1, 1000000); break;
        case O_STD: sd = parse_double(optarg, "--std", 0, 1e12); break;
        case O_BOX: box = parse_double(optarg, "--box", 0, 1e12); break;
        case O_LR: lowrank = parse_long(optarg, "--lowrank", 1, 100000); break;
        case O_ROWS: rows = parse_long(optarg, "--rows", 1, 100000000); break;
        case O_DECAY: decay = parse_double(optarg, "--decay", 0, 1); break;
        case O_NOISE: noise = parse_double(optarg, "--noise", 0, 1e12); break;
        case 's': seed = parse_seed(optarg); break;
        case 't':
            if (mat_type_parse(optarg, &type) != 0 || (type != MAT_F32 && type != MAT_F64))
                die_usage("--type: expected f32 or f64");
            break;
        case 'o': out = optarg; break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);
    rng r;
    rng_seed(&r, seed);
    double *x = xmalloc((size_t)dims * sizeof *x);
    char id[64];

    if (lowrank) {
        if (lowrank > dims) die_usage("--lowrank %ld exceeds --dims %ld", lowrank, dims);
        double *mean = xmalloc((size_t)dims * sizeof *mean);
        double *V = xmalloc((size_t)(lowrank * dims) * sizeof *V);
        for (long j = 0; j < dims; j++) mean[j] = 5.0 * rng_normal(&r);
        /* orthonormal v_r: Gram-Schmidt (twice) of Gaussian vectors */
        for (long a = 0; a < lowrank; a++) {
            double *v = V + a * dims;
            for (long j = 0; j < dims; j++) v[j] = rng_normal(&r);
            for (int pass = 0; pass < 2; pass++)
                for (long b = 0; b < a; b++) {
                    double dot = 0;
                    for (long j = 0; j < dims; j++) dot += v[j] * V[b * dims + j];
                    for (long j = 0; j < dims; j++) v[j] -= dot * V[b * dims + j];
                }
            double nn = 0;
            for (long j = 0; j < dims; j++) nn += v[j] * v[j];
            for (long j = 0; j < dims; j++) v[j] /= sqrt(nn);
        }
        mat_header h = mat_header_vec(type, rows, dims, 12);
        mat_writer *w = mat_create(out, &h);
        for (long i = 0; i < rows; i++) {
            for (long j = 0; j < dims; j++) x[j] = mean[j] + noise * rng_normal(&r);
            double s = 10.0;
            for (long a = 0; a < lowrank; a++, s *= decay) {
                double z = s * rng_normal(&r);
                for (long j = 0; j < dims; j++) x[j] += z * V[a * dims + j];
            }
            snprintf(id, sizeof id, "r%ld", i);
            mat_write_row_f64(w, id, x);
        }
        mat_finish(w);
        free(mean);
        free(V);
        free(x);
        return 0;
    }

    double *centres = xmalloc((size_t)(clusters * dims) * sizeof *centres);
    for (long a = 0; a < clusters * dims; a++) centres[a] = box * (2.0 * rng_uniform(&r) - 1.0);
    mat_header h = mat_header_vec(type, clusters * per, dims, 24);
    mat_writer *w = mat_create(out, &h);
    for (long i = 0; i < clusters * per; i++) {
        long cl = i % clusters;
        for (long j = 0; j < dims; j++) x[j] = centres[cl * dims + j] + sd * rng_normal(&r);
        snprintf(id, sizeof id, "c%ld_%ld", cl, i / clusters);
        mat_write_row_f64(w, id, x);
    }
    mat_finish(w);
    free(centres);
    free(x);
    return 0;
}
