#!/usr/bin/env bats
# pca, tsne, kmeans: end to end through the matrix stream (test data from gen-blobs).

load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

# 5 well-separated Gaussian clusters x 60 points in 30-D; ids c<label>_<n>, interleaved.
blobs30() { "$TOOLS/gen-blobs" --clusters 5 --per 60 --dims 30 "$@"; }
# A rank-5 matrix plus noise, 400 x 50.
lowrank() { "$TOOLS/gen-blobs" --lowrank 5 --rows 400 --dims 50 --decay 0.5 --noise 0.01 "$@"; }

# ---------------------------------------------------------------- pca

@test "pca: K components, ids kept, f64 by default, f32 on request" {
    lowrank > x.npy
    pca 3 x.npy > y.npy
    run mat info y.npy
    [[ "$output" == "y.npy: 400 rows x 3 f64 (id width 12), ids r0..r399,"* ]]
    diff <(mat ids x.npy) <(mat ids y.npy)
    pca 3 --type f32 < x.npy | mat info | grep -q "400 rows x 3 f32"
}

@test "pca: fit with --save, then --load on the same rows gives identical bytes" {
    lowrank > a.npy
    pca 4 --save model.npy a.npy > fit.npy
    pca --load model.npy < a.npy > applied.npy
    cmp fit.npy applied.npy
    # the model is a matrix stream: mean, scale, var, pc1..pc4, 50 f64 columns
    [ "$(mat ids model.npy | tr '\n' ' ')" = "mean scale var pc1 pc2 pc3 pc4 " ]
    mat info model.npy | grep -q "7 rows x 50 f64"
    # whitened too, and through the randomized solver
    pca 4 --whiten --method randomized --save w.npy a.npy > wfit.npy
    pca --load w.npy a.npy > wapplied.npy
    cmp wfit.npy wapplied.npy
}

@test "pca: the planted rank-5 spectrum: --variance picks the count, --report has the ratios" {
    lowrank > x.npy
    # scales 10, 5, 2.5, 1.25, 0.625: variance ratios ~ .75 .19 .047 .012 .003
    pca --variance 0.9 x.npy | mat info | grep -q "400 rows x 2 f64"
    pca --variance 0.99 x.npy | mat info | grep -q "400 rows x 4 f64"
    pca 5 --report r.csv x.npy > /dev/null
    [ "$(head -1 r.csv)" = "component,variance,ratio,cumulative" ]
    [ "$(wc -l < r.csv)" -eq 6 ]
    # the five components explain all but the noise (50 x 0.01^2 of ~133)
    awk -F, 'NR == 6 && $4 > 0.9999 && $4 < 1 { ok = 1 } END { exit !ok }' r.csv
    awk -F, 'NR == 2 && $3 > 0.70 && $3 < 0.80 { ok = 1 } END { exit !ok }' r.csv
}

@test "pca: exact and randomized solvers agree on the planted components" {
    lowrank > x.npy
    pca 3 --method exact --report e.csv x.npy > e.npy
    pca 3 --method randomized --report r.csv x.npy > r.npy
    # variances to 8 significant digits, coordinates to 1e-6
    diff <(cut -d, -f2 e.csv | cut -c1-9) <(cut -d, -f2 r.csv | cut -c1-9)
    paste -d, <(mat to-csv e.npy) <(mat to-csv r.npy) | awk -F, 'NR > 1 {
        for (j = 2; j <= 4; j++) { d = $j - $(j + 4); if (d < 0) d = -d; if (d > 1e-6) bad++ } }
        END { exit bad > 0 }'
}

@test "pca: the exact solver gives the same bytes whatever the thread settings" {
    lowrank > x.npy
    FP_THREADS=1 OPENBLAS_NUM_THREADS=1 pca 4 x.npy > a.npy
    FP_THREADS=2 OPENBLAS_NUM_THREADS=2 pca 4 x.npy > b.npy
    cmp a.npy b.npy
}

@test "pca: whitened output has unit variance per column" {
    lowrank > x.npy
    pca 3 --whiten x.npy | pca 3 --report r.csv > /dev/null
    awk -F, 'NR > 1 { d = $2 - 1; if (d < 0) d = -d; if (d > 1e-9) bad++ } END { exit bad > 0 }' r.csv
}

@test "pca: stderr reports each component; FP_QUIET silences it" {
    lowrank > x.npy
    env -u FP_QUIET pca 2 x.npy 2> err.txt > /dev/null
    grep -q "^pca: 400 rows x 50 columns -> 2 components (exact eigendecomposition)$" err.txt
    grep -q "^pca: pc1 " err.txt
    grep -q "^pca: 2 components explain" err.txt
    pca 2 x.npy 2> quiet.txt > /dev/null
    [ ! -s quiet.txt ]
}

@test "pca: errors name the problem" {
    lowrank > x.npy
    run pca 51 x.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"51 components requested but min(rows, columns) = 50"* ]]
    printf 'id,a,b\nx,1,2\ny,nan,3\nz,4,5\n' | mat from-csv > nan.npy
    run pca 1 nan.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"nan.npy: row 2 (id 'y') column 0 is NaN"* ]]
    pca 2 --save m.npy x.npy > /dev/null
    run pca --load m.npy nan.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"nan.npy has 2 columns but the model m.npy was fitted on 50"* ]]
    run pca
    [ "$status" -eq 2 ]
    run pca --load m.npy --whiten x.npy
    [ "$status" -eq 2 ]
    run pca --help
    [ "$status" -eq 0 ]
    [[ "$output" == "Usage: pca"* ]]
}

# ---------------------------------------------------------------- tsne

@test "tsne: 5 Gaussian clusters in 30-D stay apart (k-means on the embedding finds them)" {
    blobs30 > x.npy
    tsne x.npy > emb.npy
    mat info emb.npy | grep -q "300 rows x 2 f64"
    diff <(mat ids x.npy) <(mat ids emb.npy)
    kmeans 5 --csv emb.npy > k.csv
    # canonical labels number clusters by first appearance and the ids are interleaved
    # (c0_0, c1_0, ... c4_0, c0_1, ...), so every row's cluster must equal its label
    [ "$(wc -l < k.csv)" -eq 301 ]
    awk -F, 'NR > 1 { split($1, a, "_"); if (a[1] != "c" $2) bad++ } END { exit bad > 0 }' k.csv
}

@test "tsne: same seed, same bytes, whatever the thread count; another seed differs" {
    blobs30 > x.npy
    FP_THREADS=1 OPENBLAS_NUM_THREADS=1 tsne --iter 300 x.npy > a.npy
    FP_THREADS=2 OPENBLAS_NUM_THREADS=2 tsne --iter 300 x.npy > b.npy
    cmp a.npy b.npy
    tsne --iter 300 --init random --seed 2 x.npy > c.npy
    ! cmp -s a.npy c.npy || false
}

@test "tsne: KL every 50 iterations and the final KL on stderr" {
    blobs30 > x.npy
    env -u FP_QUIET tsne --iter 300 x.npy 2> err.txt > /dev/null
    [ "$(grep -c '^tsne: iteration [0-9]*: KL ' err.txt)" -eq 6 ]
    grep -q "^tsne: iteration 300: KL " err.txt
    # well-separated clusters embed with a low KL
    awk '/^tsne: final KL / { if ($4 > 0.2 && $4 < 0.8) ok = 1 } END { exit !ok }' err.txt
}

@test "tsne: too few rows for the perplexity names the maximum" {
    "$TOOLS/gen-blobs" --clusters 2 --per 25 --dims 3 > small.npy
    run tsne small.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"perplexity 30 needs more than 90 rows"*"got 50; the maximum perplexity for 50 rows is 16.33"* ]]
    tsne --perplexity 16 --iter 100 small.npy | mat info | grep -q "50 rows x 2 f64"
}

@test "tsne: NaN input names the row id and column; empty input is an error" {
    printf 'id,a,b\nx,1,2\ny,3,inf\n' | mat from-csv > bad.npy
    run tsne bad.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"bad.npy: row 2 (id 'y') column 1 is infinite"* ]]
    printf 'id,a,b\n' | mat from-csv > empty.npy
    run tsne empty.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"empty input"* ]]
    run tsne --init bogus
    [ "$status" -eq 2 ]
}

# ---------------------------------------------------------------- kmeans

@test "kmeans: recovers planted clusters with canonical labels; i32 stream output" {
    "$TOOLS/gen-blobs" --clusters 4 --per 100 --dims 2 --box 20 > x.npy
    kmeans 4 x.npy > k.npy
    mat info k.npy | grep -q "400 rows x 1 i32"
    mat to-csv k.npy | awk -F, 'NR > 1 { split($1, a, "_"); if (a[1] != "c" $2) bad++ } END { exit bad > 0 }'
    kmeans 4 --csv x.npy > k.csv
    [ "$(head -1 k.csv)" = "id,cluster" ]
    [ "$(sed -n 2p k.csv)" = "c0_0,0" ]
    [ "$(sed -n 5p k.csv)" = "c3_0,3" ]
}

@test "kmeans: elbow is non-increasing and each k matches a plain run" {
    blobs30 > x.npy
    kmeans --elbow 1..8 x.npy > elbow.csv
    [ "$(head -1 elbow.csv)" = "k,inertia" ]
    [ "$(wc -l < elbow.csv)" -eq 9 ]
    awk -F, 'NR > 2 && $2 > prev { bad++ } NR > 1 { prev = $2 } END { exit bad > 0 }' elbow.csv
    # the five true clusters: a sharp elbow at k=5 (within-cluster variance ~ 300 x 30 x 1)
    awk -F, '$1 == 5 { ok = ($2 > 8000 && $2 < 10000) } $1 == 4 { big = ($2 > 30000) } END { exit !(ok && big) }' elbow.csv
    env -u FP_QUIET kmeans 5 x.npy 2> err.txt > /dev/null
    want=$(awk -F, '$1 == 5 { print $2 }' elbow.csv)
    grep -q "^kmeans: k=5 inertia $want " err.txt
    grep -q "^kmeans: cluster sizes 60 60 60 60 60$" err.txt
}

@test "kmeans: --save then --load assigns the same labels, row by row" {
    blobs30 > x.npy
    kmeans 5 --save c.npy x.npy > fit.npy
    kmeans --load c.npy x.npy > loaded.npy
    cmp fit.npy loaded.npy
    [ "$(mat ids c.npy | tr '\n' ' ')" = "c0 c1 c2 c3 c4 " ]
    kmeans --load c.npy --csv x.npy | sed -n 2p | grep -qx "c0_0,0"
}

@test "kmeans: deterministic across thread counts and runs" {
    "$TOOLS/gen-blobs" --clusters 8 --per 300 --dims 2 --std 3 > x.npy
    FP_THREADS=1 kmeans 6 x.npy > a.npy
    FP_THREADS=2 kmeans 6 x.npy > b.npy
    cmp a.npy b.npy
    FP_THREADS=1 kmeans --elbow 2..6 x.npy > e1.csv
    FP_THREADS=2 kmeans --elbow 2..6 x.npy > e2.csv
    cmp e1.csv e2.csv
}

@test "kmeans: errors" {
    "$TOOLS/gen-blobs" --clusters 2 --per 3 --dims 2 > x.npy
    run kmeans 7 x.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"k = 7 needs at least 7 rows, got 6"* ]]
    run kmeans --elbow 5..2 x.npy
    [ "$status" -eq 2 ]
    run kmeans --elbow 1-3 x.npy
    [ "$status" -eq 2 ]
    run kmeans
    [ "$status" -eq 2 ]
    run kmeans --load nope.npy x.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"nope.npy"* ]]
    run kmeans --help
    [ "$status" -eq 0 ]
}

@test "numeric stages chain: pca 10 | tsne | kmeans 5" {
    blobs30 | pca 10 | tsne --iter 500 | kmeans 5 --csv > k.csv
    awk -F, 'NR > 1 { split($1, a, "_"); if (a[1] != "c" $2) bad++ } END { exit bad > 0 }' k.csv
}
