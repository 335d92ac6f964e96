/* pca - project rows onto their principal components (docs/pca.md).
 *
 *   ... | pca 30 | ...                 fit on the stream and project it
 *   ... | pca --variance 0.95 | ...    as many components as explain 95% of the variance
 *   pca 30 --save model.npy < train.npy > train30.npy
 *   pca --load model.npy < test.npy > test30.npy      (row by row, any number of rows)
 * The maths and the solver choice live in common/pca.c. */
#include "err.h"
#include "mat.h"
#include "pca.h"
#include "progress.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("Usage: pca [OPTIONS] K [INPUT]\n"
           "       pca [OPTIONS] --variance F [INPUT]\n"
           "       pca [OPTIONS] --load MODEL [INPUT]\n"
           "Principal component analysis of a matrix stream (INPUT or stdin): writes the same ids\n"
           "with K columns, the coordinates along the components (f64 unless --type f32).\n"
           "Rows are always centred.\n\n"
           "  K                    number of components (1 .. min(rows, columns))\n"
           "  -v, --variance F     the smallest number of components explaining more than the\n"
           "                       fraction F (0 < F < 1) of the total variance\n"
           "  -w, --whiten         divide each component by its standard deviation\n"
           "  -z, --standardize    scale every input column to unit variance first (as\n"
           "                       StandardScaler), so no group of features dominates\n"
           "      --save MODEL     also write the fitted model (a matrix stream: rows mean, scale,\n"
           "                       var, pc1..pcK)\n"
           "      --load MODEL     apply a saved model instead of fitting (streams row by row)\n"
           "      --report FILE    write component,variance,ratio,cumulative CSV to FILE\n"
           "                       (stderr then gets only the summary)\n"
           "      --method M       auto (default), exact or randomized; auto is exact when\n"
           "                       min(rows, columns) <= %d, else randomized SVD\n"
           "      --power-iter N   randomized: power iterations (default 7 if K < min(N,D)/10,\n"
           "                       else 4)\n"
           "      --oversample N   randomized: extra test vectors (default 10)\n"
           "  -s, --seed S         seed of the randomized solver (default 1)\n"
           "  -t, --type T         output type f64 (default) or f32\n"
           "  -q, --quiet          no report on stderr (also when FP_QUIET is set)\n"
           "  -h, --help           show this help\n\n"
           "Signs: the largest-magnitude loading of each component is positive. Variances use\n"
           "N-1 (as sklearn). Same input and seed give byte-identical output.\n",
           PCA_EXACT_MAX_DIM);
}

static void report(const pca_model *m, int64_t n, const char *report_path, int quiet)
{
    const char *how = m->method == PCA_EXACT ? "exact eigendecomposition" : "randomized SVD";
    if (!quiet) {
        if (m->method == PCA_RANDOMIZED)
            fprintf(stderr, "%s: %lld rows x %lld columns -> %d components (%s, %d power iterations)\n",
                    err_prog(), (long long)n, (long long)m->d, m->k, how, m->power_iter);
        else
            fprintf(stderr, "%s: %lld rows x %lld columns -> %d components (%s)\n", err_prog(),
                    (long long)n, (long long)m->d, m->k, how);
    }
    outfile o = {0};
    if (report_path) {
        o = out_open(report_path);
        fprintf(o.fp, "component,variance,ratio,cumulative\n");
    }
    double cum = 0.0, tot = m->total_variance > 0 ? m->total_variance : 1.0;
    for (int c = 0; c < m->k; c++) {
        double r = m->variance[c] / tot;
        cum += r;
        if (report_path)
            fprintf(o.fp, "%d,%.10g,%.10g,%.10g\n", c + 1, m->variance[c], r, cum);
        else if (!quiet)
            fprintf(stderr, "%s: pc%-3d variance %-12.6g ratio %.6f  cumulative %.6f\n", err_prog(),
                    c + 1, m->variance[c], r, cum);
    }
    if (report_path) out_commit(&o);
    if (!quiet)
        fprintf(stderr, "%s: %d components explain %.2f%% of the variance (total %.6g)\n",
                err_prog(), m->k, 100.0 * cum, m->total_variance);
}

/* --load: project row by row; memory does not depend on the number of rows. */
static void apply_model(const char *model_path, const char *input, mat_type type, int quiet)
{
    pca_model m = pca_load(model_path);
    mat_reader *r = mat_open(input);
    const mat_header *h = mat_hdr(r);
    if (mat_cols(h) != m.d)
        die("%s has %lld columns but the model %s was fitted on %lld", mat_name(r),
            (long long)mat_cols(h), model_path, (long long)m.d);
    mat_header oh = mat_header_vec(type, h->rows, m.k, h->idw);
    mat_writer *w = mat_create("-", &oh);
    /* u8 and f32 rows as floats, as the fit reads them, so that fitting a stream and
     * applying its model to it give the same bytes */
    int as_float = h->type == MAT_U8 || h->type == MAT_F32;
    double *x = xmalloc((size_t)m.d * sizeof *x), *y = xmalloc((size_t)m.k * sizeof *y);
    float *xf = xmalloc((size_t)m.d * sizeof *xf);
    char id[MAT_MAX_ID + 1];
    while (as_float ? mat_read_row_f32(r, id, xf) : mat_read_row_f64(r, id, x)) {
        for (int64_t j = 0; j < m.d; j++) {
            double v = as_float ? xf[j] : x[j];
            if (!isfinite(v))
                die("%s: row %lld (id '%s') column %lld is %s", mat_name(r),
                    (long long)mat_row_index(r), id, (long long)j, isnan(v) ? "NaN" : "infinite");
        }
        if (as_float) pca_transform_row_f32(&m, xf, y);
        else pca_transform_row(&m, x, y);
        mat_write_row_f64(w, id, y);
    }
    mat_finish(w);
    if (!quiet)
        fprintf(stderr, "%s: projected %lld rows with %s (%lld -> %d columns)\n", err_prog(),
                (long long)mat_row_index(r), model_path, (long long)m.d, m.k);
    mat_close(r);
    free(x);
    free(xf);
    free(y);
    pca_free(&m);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    static const struct option opts[] = {
        {"variance", required_argument, 0, 'v'}, {"whiten", no_argument, 0, 'w'},
        {"standardize", no_argument, 0, 'z'},
        {"save", required_argument, 0, 'S'},     {"load", required_argument, 0, 'L'},
        {"report", required_argument, 0, 'R'},   {"method", required_argument, 0, 'M'},
        {"power-iter", required_argument, 0, 'P'}, {"oversample", required_argument, 0, 'O'},
        {"seed", required_argument, 0, 's'},     {"type", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'},          {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    pca_params p;
    pca_default_params(&p);
    const char *save = NULL, *load = NULL, *report_path = NULL;
    mat_type type = MAT_F64;
    int quiet = getenv("FP_QUIET") != NULL;
    int c;
    while ((c = getopt_long(argc, argv, "v:wzs:t:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'v': p.variance = parse_double(optarg, "--variance", 1e-12, 1 - 1e-12); break;
        case 'w': p.whiten = 1; break;
        case 'z': p.standardize = 1; break;
        case 'S': save = optarg; break;
        case 'L': load = optarg; break;
        case 'R': report_path = optarg; break;
        case 'M':
            if (!strcmp(optarg, "auto")) p.method = PCA_AUTO;
            else if (!strcmp(optarg, "exact")) p.method = PCA_EXACT;
            else if (!strcmp(optarg, "randomized")) p.method = PCA_RANDOMIZED;
            else die_usage("--method: expected auto, exact or randomized, got '%s'", optarg);
            break;
        case 'P': p.power_iter = (int)parse_long(optarg, "--power-iter", 0, 100); break;
        case 'O': p.oversample = (int)parse_long(optarg, "--oversample", 0, 10000); break;
        case 's': p.seed = parse_seed(optarg); break;
        case 't':
            if (mat_type_parse(optarg, &type) != 0 || (type != MAT_F32 && type != MAT_F64))
                die_usage("--type: expected f32 or f64, got '%s'", optarg);
            break;
        case 'q': quiet = 1; break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    const char *input = "-";
    if (load) {
        if (save || p.variance > 0 || p.whiten || p.standardize || report_path)
            die_usage("--load applies a saved model: --save, --variance, --whiten and --report "
                      "do not apply");
        if (optind < argc) input = argv[optind++];
        if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);
        apply_model(load, input, type, quiet);
        return 0;
    }
    if (p.variance == 0) {
        if (optind >= argc) die_usage("missing K (number of components) or --variance F");
        p.k = (int)parse_long(argv[optind++], "K", 1, 1000000);
    }
    if (optind < argc) input = argv[optind++];
    if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);

    /* u8 and f32 rows load as floats (exactly, half the memory of doubles); i32 and f64 as
     * doubles. Either way every projection is computed from the rows as read. */
    mat_reader *r = mat_open(input);
    mat_type in_type = mat_hdr(r)->type;
    const char *name = strcmp(input, "-") ? input : "stdin";
    mat_dense X = {0};
    mat_dense_f32 Xf = {0};
    if (in_type == MAT_U8 || in_type == MAT_F32) {
        Xf = mat_read_dense_f32(r);
        X = (mat_dense){.rows = Xf.rows, .cols = Xf.cols, .idw = Xf.idw, .ids = Xf.ids};
        mat_dense_f32_check_finite(&Xf, name);
    } else {
        X = mat_read_dense(r);
        mat_dense_check_finite(&X, name);
    }
    if (X.rows == 0) die("empty input: no rows to fit");
    double t0 = now_seconds(), c0 = process_cpu_seconds();
    mat_dense Y = {.rows = X.rows, .idw = X.idw, .ids = X.ids};
    pca_model m = Xf.x ? pca_fit_transform_f32(Xf.x, X.rows, X.cols, &p, &Y.x)
                       : pca_fit_transform(X.x, X.rows, X.cols, &p, &Y.x);
    Y.cols = m.k;
    double t1 = now_seconds(), c1 = process_cpu_seconds();
    report(&m, X.rows, report_path, quiet);
    if (!quiet)
        fprintf(stderr, "%s: fit and projection in %.3f s (%.3f s CPU)\n", err_prog(), t1 - t0,
                c1 - c0);
    if (save) pca_save(&m, save);
    mat_save_dense("-", &Y, type);
    free(Y.x);
    pca_free(&m);
    if (Xf.x) mat_dense_f32_free(&Xf);
    else mat_dense_free(&X);
    return 0;
}
