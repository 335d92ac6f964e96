#!/usr/bin/env bats
# Determinism: the same DATA and SEED give byte-identical artifacts - the filter (images,
# features, PCA, t-SNE, elbow, clusters, filtered/noise lists, plots and contact sheets) and
# one task's split, raw-pixel SVM and CNN (models, predictions, curves, reports) - on a
# second run with another thread count, and on a `make -j2` run.

load helpers

# Compared: every file of the build dir except those that hold timings (wall or CPU
# seconds, img/s): the stages' logs, the tasks' time files, run.csv, train-svm's search log.
TIMED='[^/]*\.log|[^/]*\.time|run\.csv|search\.csv'
ARGS=(filter svm cnn task=human CNN_SIZE=32 CNN_EPOCHS=2 SVM_ITER=4)

setup_file() {
    export DS="$BATS_FILE_TMPDIR/ds" B="$BATS_FILE_TMPDIR"
    synth -q -n 400 --seed 3 "$DS"
    # Every run builds under the same FILTER_ROOT path (reports name their inputs), then the
    # tree is moved aside: a = 2 threads per stage, b = 1 thread, c = make -j2.
    build a FP_THREADS=2
    build b FP_THREADS=1
    build c FP_THREADS=2 -j2
}

build() { # NAME ENV MAKE_OPTS...
    local name=$1 env=$2; shift 2
    env "$env" make -s -C "$ROOT" "$@" DATA="$DS" FILTER_ROOT="$B/fr" "${ARGS[@]}" > "$B/$name.log" 2>&1 ||
        { cat "$B/$name.log" >&3; return 1; }
    mv "$B/fr" "$B/$name"
}

compared_files() { # DIR
    (cd "$1" && find . -type f | grep -Ev "/($TIMED)\$" | sort)
}

setup() { cd "$BATS_TEST_TMPDIR"; }

# same A B: the same list of files, every one byte-identical; prints how many.
same() {
    diff <(compared_files "$B/$1") <(compared_files "$B/$2")
    local f n=0
    while read -r f; do cmp "$B/$1/$f" "$B/$2/$f"; n=$((n + 1)); done < <(compared_files "$B/$1")
    echo "$1 = $2: $n files byte-identical"
    N=$n
}

@test "determinism: the artifacts being compared" {
    compared_files "$B/a" | sed 's|^\./[^/]*/||' | tee list.txt
    k=$(tail -n +2 "$B"/a/*/size64-seed1/kauto/clusters.csv | wc -l)
    for f in images.npy features.npy pca.npy pca-variance.csv tsne.npy elbow.csv k-auto.txt \
             clusters-kauto.npy raw32.npy images32.npy kauto/filtered.csv kauto/noise.csv \
             kauto/clusters.csv kauto/elbow.png kauto/tsne.png kauto/tsne.csv kauto/sheet-removed.png \
             kauto/sheet-cluster-$((k - 1)).png kauto/tasks/human/split/train.csv \
             kauto/tasks/human/svm/model.txt kauto/tasks/human/svm/pred.csv \
             kauto/tasks/human/svm/report.txt kauto/tasks/human/svm/metrics.csv \
             kauto/tasks/human/cnn/model.weights kauto/tasks/human/cnn/curves.csv \
             kauto/tasks/human/cnn/curves.png kauto/tasks/human/cnn/pred.csv \
             kauto/tasks/human/cnn/metrics.csv; do
        grep -qxF "size64-seed1/$f" list.txt
    done
    [ "$(wc -l < list.txt)" -ge 40 ]
}

@test "determinism: a second run (1 thread per stage instead of 2) is byte-identical" {
    same a b
    [ "$N" -ge 40 ]
}

@test "determinism: a make -j2 run is byte-identical" {
    same a c
    [ "$N" -ge 40 ]
}

# The chunk types of a PNG, one a line (walks length + type + data + CRC from byte 8).
png_chunks() {
    od -An -v -tu1 "$1" | awk '{ for (i = 1; i <= NF; i++) b[n++] = $i }
        END { p = 8
              while (p + 8 <= n) {
                  len = ((b[p] * 256 + b[p + 1]) * 256 + b[p + 2]) * 256 + b[p + 3]
                  printf "%c%c%c%c\n", b[p + 4], b[p + 5], b[p + 6], b[p + 7]
                  p += 12 + len
              } }'
}

@test "determinism: the plots embed nothing time-dependent (no tIME or text chunk)" {
    # gnuplot's pngcairo and sheet write no date or comment; one would make runs differ
    n=0
    for f in "$B"/a/*/size64-seed1/kauto/*.png "$B"/a/*/size64-seed1/kauto/tasks/human/*/curves.png; do
        png_chunks "$f" > chunks.txt
        [ "$(head -1 chunks.txt)" = IHDR ]
        [ "$(tail -1 chunks.txt)" = IEND ]
        ! grep -qE '^(tIME|tEXt|iTXt|zTXt)$' chunks.txt || false
        n=$((n + 1))
    done
    echo "$n PNG files checked"
    [ "$n" -ge 7 ]
}

@test "determinism: the comparison can fail - another seed gives another embedding" {
    d=$(echo "$B"/a/*/size64-seed1)
    # the pipeline's PCA initialisation does not draw from the seed, so the seed's effect is
    # shown with random initialisation
    tsne -q --init random --seed 1 --perplexity 30 "$d/pca.npy" > one.npy
    tsne -q --init random --seed 2 --perplexity 30 "$d/pca.npy" > other.npy
    [ "$(stat -c %s other.npy)" -eq "$(stat -c %s one.npy)" ]
    ! cmp -s other.npy one.npy || false
    tsne -q --seed 1 --perplexity 30 "$d/pca.npy" > same.npy
    cmp same.npy "$d/tsne.npy"
}
