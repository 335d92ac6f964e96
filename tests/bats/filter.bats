#!/usr/bin/env bats
# make filter on a generated dataset: every noise image removed, no face removed; caching;
# moving the noise aside and back.

load helpers

setup_file() {
    export DS="$BATS_FILE_TMPDIR/ds" FR="$BATS_FILE_TMPDIR/filter"
    synth -q -n 400 --seed 3 "$DS"
    make -s -C "$ROOT" filter DATA="$DS" FILTER_ROOT="$FR" > "$BATS_FILE_TMPDIR/first.log" 2>&1
}

setup() { cd "$BATS_TEST_TMPDIR"; }

out_dir() { echo "$FR"/*/size64-seed1/kauto; }

@test "filter: removes exactly the noise images of the generated dataset (pixels only)" {
    d=$(out_dir)
    # truth from the generator: rows whose five labels are all -1
    awk -F, 'NR > 1 && $2 == -1 && $3 == -1 && $4 == -1 && $5 == -1 && $6 == -1 { print $1 }' "$DS/attribute_list.csv" | sort > truth.txt
    tail -n +2 "$d/noise.csv" | cut -d, -f1 | sort > removed.txt
    [ "$(wc -l < truth.txt)" -eq 36 ]
    diff truth.txt removed.txt
    # filtered.csv: header and every face row, unchanged
    [ "$(head -1 "$d/filtered.csv")" = "file_name,hair_color,eyeglasses,smiling,young,human" ]
    [ "$(wc -l < "$d/filtered.csv")" -eq $((400 - 36 + 1)) ]
    grep -q "precision 1.0000, recall 1.0000 (36 of 36 noise rows removed, 0 faces removed)" "$BATS_FILE_TMPDIR/first.log"
}

@test "filter: plots and one contact sheet per cluster are written" {
    d=$(out_dir)
    k=$(tail -n +2 "$d/clusters.csv" | wc -l)
    [ "$k" -ge 2 ]
    for f in elbow.png tsne.png sheet-removed.png; do
        [ "$(head -c 8 "$d/$f" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
    done
    [ "$(ls "$d"/sheet-cluster-*.png | wc -l)" -eq "$k" ]
}

@test "filter: a second run recomputes nothing; a changed K recomputes only the clustering" {
    run make -C "$ROOT" filter DATA="$DS" FILTER_ROOT="$FR"
    [ "$status" -eq 0 ]
    ! grep -q '^bin/' <<< "$output"
    run make -C "$ROOT" filter DATA="$DS" FILTER_ROOT="$FR" K=6
    [ "$status" -eq 0 ]
    grep -q '^bin/kmeans -q --seed 1 6 ' <<< "$output"
    ! grep -qE '^bin/(decode|extract-features|pca|tsne) ' <<< "$output"
}

@test "filter NOISE_REF: the cluster of a hand-picked image is removed instead" {
    ref=$(awk -F, 'NR > 1 && $2 == -1 && $3 == -1 && $4 == -1 && $5 == -1 && $6 == -1 { print $1; exit }' "$DS/attribute_list.csv")
    run make -s -C "$ROOT" filter DATA="$DS" FILTER_ROOT="$FR" NOISE_REF="$ref"
    [ "$status" -eq 0 ]
    grep -q "removed (holds --ref image)" <<< "$output"
    d=$(echo "$FR"/*/size64-seed1/kauto-ref$ref)
    grep -q "^$ref," "$d/noise.csv"
}

@test "filter-move then filter-restore: images moved aside and put back, none lost" {
    cp -r "$DS" ds2
    ls ds2/images | sort > before.txt
    make -s -C "$ROOT" filter-move DATA="$PWD/ds2" FILTER_ROOT="$FR" 2> move.log
    [ "$(ls ds2/removed | grep -c png)" -eq 36 ]
    [ "$(ls ds2/images | wc -l)" -eq 364 ]
    # moving again is a no-op, not an error
    make -s -C "$ROOT" filter-move DATA="$PWD/ds2" FILTER_ROOT="$FR" 2> move2.log
    make -s -C "$ROOT" filter-restore DATA="$PWD/ds2" FILTER_ROOT="$FR" 2> restore.log
    ls ds2/images | sort > after.txt
    diff before.txt after.txt
    [ ! -e ds2/removed ]
    cmp "$DS/images/1.png" ds2/images/1.png
}

@test "filter-restore never overwrites an image that reappeared" {
    cp -r "$DS" ds3
    make -s -C "$ROOT" filter-move DATA="$PWD/ds3" FILTER_ROOT="$FR" 2> /dev/null
    f=$(ls ds3/removed | grep png | head -1)
    echo "new" > "ds3/images/$f"
    run make -s -C "$ROOT" filter-restore DATA="$PWD/ds3" FILTER_ROOT="$FR"
    [ "$status" -ne 0 ]
    [[ "$output" == *"exists; not overwriting"* ]]
    [ "$(cat "ds3/images/$f")" = new ]
    [ -f "ds3/removed/$f" ]
}
