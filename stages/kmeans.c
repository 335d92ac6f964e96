/* kmeans - k-means clustering of a matrix stream (docs/kmeans.md).
 *
 *   ... | kmeans 5 > labels.npy            ids + one i32 column, the cluster
 *   ... | kmeans 5 --csv > labels.csv      id,cluster
 *   ... | kmeans --elbow 1..15 > elbow.csv k,inertia
 *   kmeans 5 --save c.npy < train.npy; kmeans --load c.npy < test.npy   (row by row)
 * Clusters are numbered 0..K-1 in order of first appearance in the input rows. */
#include "csv.h"
#include "err.h"
#include "kmeans.h"
#include "mat.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("Usage: kmeans [OPTIONS] K [INPUT]\n"
           "       kmeans [OPTIONS] --elbow A..B [INPUT]\n"
           "       kmeans [OPTIONS] --load CENTROIDS [INPUT]\n"
           "k-means of a matrix stream (INPUT or stdin): k-means++ seeding (greedy, 2+ln K\n"
           "trials), Lloyd iterations with Hamerly's bounds, best of --n-init restarts.\n"
           "Writes the input ids with one i32 column, the cluster 0..K-1, numbered in order of\n"
           "first appearance in the rows (or `id,cluster` CSV with --csv).\n\n"
           "  K                  number of clusters\n"
           "      --elbow A..B   instead: print `k,inertia` CSV for k = A..B (the elbow method)\n"
           "      --n-init N     restarts, the lowest inertia wins (default 10)\n"
           "      --max-iter N   Lloyd iterations per restart (default 300)\n"
           "      --tol T        stop when the squared centre shift is <= T x the mean column\n"
           "                     variance (default 1e-4, as sklearn)\n"
           "  -s, --seed S       seed (default 1); same input and seed, same output\n"
           "      --csv          write `id,cluster` CSV instead of a matrix stream\n"
           "      --save FILE    also write the centroids (matrix stream, ids c0..c<K-1>)\n"
           "      --load FILE    assign rows to saved centroids instead (streams row by row)\n"
           "  -q, --quiet        no report on stderr (also when FP_QUIET is set)\n"
           "  -h, --help         show this help\n\n"
           "stderr gets the inertia (sum of squared distances to the centres) and cluster sizes.\n");
}

/* Label output, either stream or CSV, one row at a time. */
typedef struct {
    mat_writer *w;
    outfile csv;
    int is_csv;
} label_out;

static label_out label_open(int is_csv, int64_t rows, int idw)
{
    label_out o = {.is_csv = is_csv};
    if (is_csv) {
        o.csv = out_open("-");
        fprintf(o.csv.fp, "id,cluster\n");
    } else {
        mat_header h = mat_header_vec(MAT_I32, rows, 1, idw);
        o.w = mat_create("-", &h);
    }
    return o;
}

static void label_put(label_out *o, const char *id, int32_t label)
{
    if (o->is_csv) {
        csv_put(o->csv.fp, id);
        fprintf(o->csv.fp, ",%d\n", label);
    } else {
        mat_write_row(o->w, id, &label);
    }
}

static void label_close(label_out *o)
{
    if (o->is_csv) out_commit(&o->csv);
    else mat_finish(o->w);
}

static void print_sizes(const int64_t *size, int k)
{
    fprintf(stderr, "%s: cluster sizes", err_prog());
    for (int j = 0; j < k && j < 50; j++) fprintf(stderr, " %lld", (long long)size[j]);
    if (k > 50) fprintf(stderr, " ...");
    fputc('\n', stderr);
}

/* --load: nearest saved centroid for each row; memory independent of the number of rows. */
static void assign_stream(const char *cpath, const char *input, int is_csv, int quiet)
{
    int k;
    int64_t d;
    double *centers = kmeans_load(cpath, &k, &d);
    mat_reader *r = mat_open(input);
    const mat_header *h = mat_hdr(r);
    if (mat_cols(h) != d)
        die("%s has %lld columns but the centroids in %s have %lld", mat_name(r),
            (long long)mat_cols(h), cpath, (long long)d);
    label_out o = label_open(is_csv, h->rows, h->idw);
    double *x = xmalloc((size_t)d * sizeof *x), inertia = 0.0;
    int64_t *size = xcalloc((size_t)k, sizeof *size);
    char id[MAT_MAX_ID + 1];
    while (mat_read_row_f64(r, id, x)) {
        for (int64_t j = 0; j < d; j++)
            if (!isfinite(x[j]))
                die("%s: row %lld (id '%s') column %lld is %s", mat_name(r),
                    (long long)mat_row_index(r), id, (long long)j, isnan(x[j]) ? "NaN" : "infinite");
        double d2;
        int a = kmeans_nearest(centers, k, d, x, &d2);
        inertia += d2;
        size[a]++;
        label_put(&o, id, a);
    }
    label_close(&o);
    if (!quiet) {
        fprintf(stderr, "%s: assigned %lld rows to the %d centroids of %s, inertia %.10g\n",
                err_prog(), (long long)mat_row_index(r), k, cpath, inertia);
        print_sizes(size, k);
    }
    mat_close(r);
    free(size);
    free(x);
    free(centers);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    enum { O_ELBOW = 256, O_NINIT, O_MAXIT, O_TOL, O_CSV, O_SAVE, O_LOAD };
    static const struct option opts[] = {
        {"elbow", required_argument, 0, O_ELBOW}, {"n-init", required_argument, 0, O_NINIT},
        {"max-iter", required_argument, 0, O_MAXIT}, {"tol", required_argument, 0, O_TOL},
        {"seed", required_argument, 0, 's'},      {"csv", no_argument, 0, O_CSV},
        {"save", required_argument, 0, O_SAVE},   {"load", required_argument, 0, O_LOAD},
        {"quiet", no_argument, 0, 'q'},           {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    kmeans_params p;
    kmeans_default_params(&p);
    const char *save = NULL, *load = NULL, *elbow = NULL;
    int is_csv = 0, quiet = getenv("FP_QUIET") != NULL;
    int c;
    while ((c = getopt_long(argc, argv, "s:qh", opts, NULL)) != -1) {
        switch (c) {
        case O_ELBOW: elbow = optarg; break;
        case O_NINIT: p.n_init = (int)parse_long(optarg, "--n-init", 1, 100000); break;
        case O_MAXIT: p.max_iter = (int)parse_long(optarg, "--max-iter", 1, 100000000); break;
        case O_TOL: p.tol = parse_double(optarg, "--tol", 0, 1e12); break;
        case 's': p.seed = parse_seed(optarg); break;
        case O_CSV: is_csv = 1; break;
        case O_SAVE: save = optarg; break;
        case O_LOAD: load = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(); return 0;
        default: die_usage("unknown option");
        }
    }
    const char *input = "-";
    if (load) {
        if (save || elbow) die_usage("--load assigns to saved centroids: no --save or --elbow");
        if (optind < argc) input = argv[optind++];
        if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);
        assign_stream(load, input, is_csv, quiet);
        return 0;
    }
    int kmin = 0, kmax = 0;
    if (elbow) {
        char tail;
        if (sscanf(elbow, "%d..%d%c", &kmin, &kmax, &tail) != 2 || kmin < 1 || kmax < kmin)
            die_usage("--elbow: expected A..B with 1 <= A <= B, got '%s'", elbow);
        if (save || is_csv) die_usage("--elbow prints k,inertia: no --save or --csv");
    } else {
        if (optind >= argc) die_usage("missing K (number of clusters)");
        p.k = (int)parse_long(argv[optind++], "K", 1, 1000000);
    }
    if (optind < argc) input = argv[optind++];
    if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);
    const char *name = strcmp(input, "-") ? input : "stdin";

    mat_dense X = mat_load_dense(input);
    if (X.rows == 0) die("%s: empty input: no rows to cluster", name);
    mat_dense_check_finite(&X, name);

    if (elbow) {
        if (kmax > X.rows) die("%s: k = %d needs at least %d rows, got %lld", name, kmax, kmax, (long long)X.rows);
        double *inertia = xmalloc((size_t)(kmax - kmin + 1) * sizeof *inertia);
        kmeans_elbow(X.x, X.rows, X.cols, kmin, kmax, &p, inertia);
        outfile o = out_open("-");
        fprintf(o.fp, "k,inertia\n");
        for (int k = kmin; k <= kmax; k++) fprintf(o.fp, "%d,%.10g\n", k, inertia[k - kmin]);
        out_commit(&o);
        free(inertia);
        mat_dense_free(&X);
        return 0;
    }

    if (p.k > X.rows) die("%s: k = %d needs at least %d rows, got %lld", name, p.k, p.k, (long long)X.rows);
    kmeans_result res = kmeans_fit(X.x, X.rows, X.cols, &p);
    if (!quiet) {
        fprintf(stderr, "%s: k=%d inertia %.10g (best of %d restarts: #%d, %d iterations)\n",
                err_prog(), p.k, res.inertia, p.n_init, res.best_run + 1, res.n_iter);
        int64_t *size = xcalloc((size_t)p.k, sizeof *size);
        for (int64_t i = 0; i < X.rows; i++) size[res.labels[i]]++;
        print_sizes(size, p.k);
        free(size);
    }
    if (save) kmeans_save(save, res.centers, res.k, res.d);
    label_out o = label_open(is_csv, X.rows, X.idw);
    for (int64_t i = 0; i < X.rows; i++) label_put(&o, mat_dense_id(&X, i), res.labels[i]);
    label_close(&o);
    kmeans_result_free(&res);
    mat_dense_free(&X);
    return 0;
}
