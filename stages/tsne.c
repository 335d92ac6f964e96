/* tsne - Barnes-Hut t-SNE embedding of a matrix stream (docs/tsne.md).
 *
 *   ... | pca 30 | tsne [--perplexity 30] [--seed 1] > emb.npy
 * Output: the same ids in the same order, --dims (2) f64 columns. */
#include "err.h"
#include "mat.h"
#include "tsne.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("Usage: tsne [OPTIONS] [INPUT]\n"
           "Barnes-Hut t-SNE of a matrix stream (INPUT or stdin). Writes the same ids in the same\n"
           "order with --dims columns (f64 unless --type f32). Defaults as sklearn's TSNE.\n\n"
           "  -p, --perplexity P       effective number of neighbours (default 30); needs more\n"
           "                           than 3 P rows\n"
           "  -n, --iter N             iterations in all (default 1000)\n"
           "  -l, --learning-rate X    step size, or 'auto' = max(N / exaggeration / 4, 50)\n"
           "                           (default auto)\n"
           "      --exaggeration F     early exaggeration (default 12)\n"
           "      --exaggeration-iter N  iterations with it and momentum 0.5 (default 250)\n"
           "      --theta T            Barnes-Hut opening angle, 0 = exact (default 0.5)\n"
           "  -d, --dims N             output dimensions 1..3 (default 2)\n"
           "      --init I             pca (default; rescaled to std 1e-4) or random\n"
           "  -s, --seed S             seed (default 1); same input and seed, same bytes\n"
           "  -t, --type T             output type f64 (default) or f32\n"
           "  -q, --quiet              no progress on stderr (also when FP_QUIET is set)\n"
           "  -h, --help               show this help\n\n"
           "Progress: the KL divergence every 50 iterations, then 'tsne: final KL X'.\n"
           "Threads: FP_THREADS (default: all cores); the result does not depend on it.\n");
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    enum { O_EXAG = 256, O_EXAG_ITER, O_THETA, O_INIT };
    static const struct option opts[] = {
        {"perplexity", required_argument, 0, 'p'},
        {"iter", required_argument, 0, 'n'},
        {"n-iter", required_argument, 0, 'n'},
        {"learning-rate", required_argument, 0, 'l'},
        {"exaggeration", required_argument, 0, O_EXAG},
        {"exaggeration-iter", required_argument, 0, O_EXAG_ITER},
        {"theta", required_argument, 0, O_THETA},
        {"dims", required_argument, 0, 'd'},
        {"init", required_argument, 0, O_INIT},
        {"seed", required_argument, 0, 's'},
        {"type", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    tsne_params p;
    tsne_default_params(&p);
    p.verbose = getenv("FP_QUIET") == NULL;
    mat_type type = MAT_F64;
    int c;
    while ((c = getopt_long(argc, argv, "p:n:l:d:s:t:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'p': p.perplexity = parse_double(optarg, "--perplexity", 1.0 / 3.0, 1e6); break;
        case 'n': p.n_iter = (int)parse_long(optarg, "--iter", 0, 100000000); break;
        case 'l':
            p.learning_rate = strcmp(optarg, "auto") == 0
                                  ? 0.0 : parse_double(optarg, "--learning-rate", 1e-12, 1e12);
            break;
        case O_EXAG: p.exaggeration = parse_double(optarg, "--exaggeration", 1e-6, 1e6); break;
        case O_EXAG_ITER: p.exaggeration_iter = (int)parse_long(optarg, "--exaggeration-iter", 0, 100000000); break;
        case O_THETA: p.theta = parse_double(optarg, "--theta", 0, 10); break;
        case 'd': p.dims = (int)parse_long(optarg, "--dims", 1, TSNE_MAX_DIMS); break;
        case O_INIT:
            if (!strcmp(optarg, "pca")) p.init = TSNE_INIT_PCA;
            else if (!strcmp(optarg, "random")) p.init = TSNE_INIT_RANDOM;
            else die_usage("--init: expected pca or random, got '%s'", optarg);
            break;
        case 's': p.seed = parse_seed(optarg); break;
        case 't':
            if (mat_type_parse(optarg, &type) != 0 || (type != MAT_F32 && type != MAT_F64))
                die_usage("--type: expected f32 or f64, got '%s'", optarg);
            break;
        case 'q': p.verbose = 0; break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    const char *input = "-";
    if (optind < argc) input = argv[optind++];
    if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);
    const char *name = strcmp(input, "-") ? input : "stdin";

    mat_dense X = mat_load_dense(input);
    if (X.rows == 0) die("%s: empty input: no rows to embed", name);
    mat_dense_check_finite(&X, name);
    mat_dense Y = {.rows = X.rows, .cols = p.dims, .idw = X.idw, .ids = X.ids};
    Y.x = xmalloc((size_t)(X.rows * p.dims) * sizeof *Y.x);
    double kl = tsne_run(X.x, X.rows, X.cols, &p, Y.x);
    if (p.verbose) fprintf(stderr, "%s: final KL %.4f\n", err_prog(), kl);
    mat_save_dense("-", &Y, type);
    free(Y.x);
    mat_dense_free(&X);
    return 0;
}
