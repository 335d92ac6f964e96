#!/usr/bin/env bats
# make report on a generated dataset: every section filled with the figures of the
# artifacts, the HTML self-contained and rendered by headless Chromium with every image
# decoded, "not run" for what has not run, rebuilt only when an artifact changes.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
    export DS="$BATS_FILE_TMPDIR/ds" FR="$BATS_FILE_TMPDIR/filter"
    synth -q -n 300 --seed 3 --size 64 "$DS"
    make -s -C "$ROOT" filter DATA="$DS" FILTER_ROOT="$FR" > "$BATS_FILE_TMPDIR/filter.log" 2>&1
    make -s -C "$ROOT" task=smiling svm transfer SVM_ITER=3 DATA="$DS" FILTER_ROOT="$FR" \
        > "$BATS_FILE_TMPDIR/tasks.log" 2>&1
    make -s -C "$ROOT" report DATA="$DS" FILTER_ROOT="$FR" > "$BATS_FILE_TMPDIR/report.out" 2> "$BATS_FILE_TMPDIR/report.err"
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    FO=$(echo "$FR"/*/size64-seed1/kauto)
    MD="$FO/report/report.md" HTML="$FO/report/report.html"
}

@test "report: both files written, their paths printed, every section present" {
    [ "$(cat "$BATS_FILE_TMPDIR/report.out")" = "$(printf '%s\n%s' "$MD" "$HTML")" ]
    [ -s "$MD" ]
    [ -s "$HTML" ]
    [ -z "$(find "$FO/report" -name '*tmp*')" ]
    for h in "# facepipe report" "## Filter" "### Clusters" "### Against the labels" "### Elbow" \
             "### t-SNE" "### Removed images" "### Contact sheets per cluster" \
             "## Results beside the original" "### Every task and method" "## Tasks"; do
        grep -qxF "$h" "$MD" || { echo "missing section: $h"; false; }
    done
    for t in smiling young eyeglasses human hair_color; do
        grep -qxF "### $t" "$MD"
        for m in svm transfer cnn; do grep -qxF "#### $t: $m" "$MD"; done
    done
    # one contact sheet per cluster
    k=$(tail -n +2 "$FO/clusters.csv" | wc -l)
    [ "$(grep -c '^#### Cluster ' "$MD")" -eq "$k" ]
    # each sheet's caption says whether its cluster was removed (clusters.csv column 4)
    [ "$(grep -c '^!\[cluster [0-9]*: .*, removed\](' "$MD")" -eq "$(awk -F, 'NR > 1 && $4 == 1' "$FO/clusters.csv" | wc -l)" ]
    [ "$(grep -c '^!\[cluster [0-9]*: .*, removed\](' "$MD")" -ge 1 ]
    [ "$(grep -c '^!\[cluster .*](../sheet-cluster-[0-9]*.png)$' "$MD")" -eq "$k" ]
}

@test "report: the filter's counts and its precision / recall against the labels" {
    # the generator marks 27 of its 300 images as noise; the filter removes exactly those
    grep -qxF '**300 images** decoded: **273 kept**, **27 removed** as noise.' "$MD"
    grep -qF '**precision 1.0000** (27 of the 27 removed images are noise), **recall 1.0000** (27 of the 27 noise images removed).' "$MD"
    grep -qxF -- '- faces removed: none' "$MD"
    # the clusters table is clusters.csv
    diff <(awk -F, 'NR > 1 { print "| " $1 " | " $2 " | " $3 " | " ($4 == 1 ? "**removed**" : "kept") " | " $5 " | " $6 " |" }' "$FO/clusters.csv") \
         <(sed -n '/^| cluster | images/,/^$/p' "$MD" | sed '1,2d;$d')
    grep -qxF '![the 27 images removed as noise](../sheet-removed.png)' "$MD"
}

@test "report: accuracy, confusion matrix and the original's figures of every method that ran" {
    for m in svm transfer; do
        d="$FO/tasks/smiling/$m"
        acc=$(sed -n 's/^accuracy,//p' "$d/metrics.csv")
        bal=$(sed -n 's/^balanced_accuracy,//p' "$d/metrics.csv")
        line=$(printf '| smiling | %s | %.4f | %.4f | 54 |' $m "$acc" "$bal")
        grep -qF "$line" "$MD" || { echo "no row '$line'"; false; }
        # the confusion matrix, row by row, under this method's heading
        sed -n "/^#### smiling: $m\$/,/^#### /p" "$MD" > sec.md
        tail -n +2 "$d/confusion.csv" | while IFS=, read -r t a b; do
            grep -qxF "| **$t** | $a | $b |" sec.md
        done
        grep -qF "**accuracy $(printf %.4f "$acc")**" sec.md
        # the accuracy by EVAL_BY (human), as groups.csv has it
        want=$(awk -F, 'NR > 1 { printf "%s%s %.4f (%d of %d)", sep, $2, $5, $4, $3; sep = ", " }' "$d/groups.csv")
        [ "$(wc -l < "$d/groups.csv")" -eq 3 ]
        grep -qxF -- "- accuracy by human: $want" sec.md
    done
    svm=$(printf '%.3f (%+.3f)' "$(sed -n 's/^accuracy,//p' "$FO/tasks/smiling/svm/metrics.csv")" \
          "$(awk -v a="$(sed -n 's/^accuracy,//p' "$FO/tasks/smiling/svm/metrics.csv")" 'BEGIN { print a - 0.687 }')")
    grep -qE "^\| smiling \| not run \| 0\.929 \| [01]\.[0-9]{3} \([-+][01]\.[0-9]{3}\) \| 0\.912 \| $(sed 's/[.()+]/\\&/g' <<< "$svm") \| 0\.687 \|$" "$MD"
    grep -qxF '| hair_color | not run | 0.891 | not run | 0.939 | not run | 0.277 |' "$MD"
    # what did not run says so, with the command that runs it
    grep -qxF "custom CNN: not run (\`make task=smiling cnn DATA=$DS\`)." "$MD"
    grep -qxF "Split: not run (\`make task=young svm DATA=$DS\`)." "$MD"
    grep -qxF '| young | svm | not run | | | | |' "$MD"
}

@test "report: the HTML is self-contained: every image of the Markdown embedded, nothing remote" {
    # images present on disk = images in the Markdown = <img> with a data: URI in the HTML
    k=$(tail -n +2 "$FO/clusters.csv" | wc -l)
    curves=$(ls "$FO"/tasks/smiling/*/curves.png 2> /dev/null | wc -l)
    n=$((3 + k + curves))
    [ "$(grep -c '^!\[' "$MD")" -eq "$n" ]
    [ "$(grep -o '<img ' "$HTML" | wc -l)" -eq "$n" ]
    [ "$(grep -o '<img alt="[^"]*" src="data:image/png;base64,[A-Za-z0-9+/=]*">' "$HTML" | wc -l)" -eq "$n" ]
    # the embedded elbow plot is the file, byte for byte
    grep -o 'src="data:image/png;base64,[^"]*"' "$HTML" | head -1 | sed 's/^src="data:image\/png;base64,//; s/"$//' | base64 -d > elbow.png
    cmp elbow.png "$FO/elbow.png"
    run ! grep -qiE '(src|href)="(https?:)?//|<script|<link ' "$HTML"
    # one anchor per heading, and the contents links point at existing anchors
    for a in filter results-beside-the-original every-task-and-method tasks; do
        grep -qF "<a href=\"#$a\">" "$HTML"
        grep -qF "id=\"$a\"" "$HTML"
    done
}

@test "report: headless Chromium renders the page with every image decoded" {
    command -v chromium > /dev/null || skip "chromium not installed (make deps installs it)"
    n=$(grep -c '^!\[' "$MD")
    h=$(grep -c '^#' "$MD")
    t=$(grep -cE '^\|(---|:?---:?)' "$MD")
    run "$ROOT/pipelines/report.sh" --check "$HTML"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "report-check: $n images, 0 not decoded, $h headings, $t tables" ]
}

@test "report --check: an image that does not decode fails the check, naming it" {
    command -v chromium > /dev/null || skip "chromium not installed (make deps installs it)"
    # the page with two figures only (Chromium's time grows with the bytes), the t-SNE
    # plot's data cut to a PNG signature with nothing after it
    awk '/^<figure>/ && !index($0, "<img alt=\"t-SNE") && !index($0, "<img alt=\"k-means") { next }
         { if (index($0, "<img alt=\"t-SNE")) sub(/base64,[A-Za-z0-9+\/=]*"/, "base64,iVBORw0KGgo=\""); print }' "$HTML" > broken.html
    [ "$(grep -c '<img ' broken.html)" -eq 2 ]
    run "$ROOT/pipelines/report.sh" --check broken.html
    [ "$status" -eq 1 ]
    [[ "$output" == *"report-check: 2 images, 1 not decoded, "*": t-SNE of the image features"* ]]
    [[ "$output" == *"expected 2 decoded images"* ]]
}

@test "report: nothing run yet -> every section says not run; same input -> same bytes" {
    mkdir empty
    "$ROOT/pipelines/report.sh" -o out empty 2> err.txt
    grep -qxF '## Filter' out/report.md
    grep -qF 'Not run: no `filtered.csv` in `empty` (`make filter`).' out/report.md
    [ "$(grep -c '^### .*' out/report.md)" -eq $((6 + 1 + 5)) ]
    grep -qxF '| smiling | svm | not run | | | | |' out/report.md
    run ! grep -q '<img' out/report.html
    # the same artifacts give byte-identical files (make's run and this one)
    "$ROOT/pipelines/report.sh" --labels "$DS/attribute_list.csv" --data "$DS" -o "$FO/again" "$FO" 2> /dev/null
    cmp "$MD" "$FO/again/report.md"
    cmp "$HTML" "$FO/again/report.html"
    rm -r "$FO/again"
}

@test "report.sh: --help, bad usage and a missing folder" {
    run "$ROOT/pipelines/report.sh" --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:* ]]
    run "$ROOT/pipelines/report.sh" --bogus x
    [ "$status" -eq 2 ]
    run "$ROOT/pipelines/report.sh"
    [ "$status" -eq 2 ]
    run "$ROOT/pipelines/report.sh" nowhere
    [ "$status" -eq 1 ]
    [[ "$output" == *"nowhere: no such folder"* ]]
}

@test "make report: rebuilt when an artifact changes, appears or goes; never reruns a stage" {
    before=$(stat -c %Y.%y "$MD")
    run make -C "$ROOT" report DATA="$DS" FILTER_ROOT="$FR"
    [ "$status" -eq 0 ]
    [[ "$output" != *report.sh* ]]
    [ "$(stat -c %Y.%y "$MD")" = "$before" ]
    # a run.csv with known times appears: the report shows them
    printf 'train_wall_s,1.5\ntrain_cpu_s,1.25\npredict_wall_s,0.25\npredict_cpu_s,0.2\nval_accuracy,0.75\nfeatures,raw pixels\n' \
        > "$FO/tasks/smiling/svm/run.csv"
    run make -s -C "$ROOT" report DATA="$DS" FILTER_ROOT="$FR"
    [ "$status" -eq 0 ]
    grep -qE '^\| smiling \| svm \| .* \| 1\.50 s \(CPU 1\.25 s\) \| 0\.25 s \(CPU 0\.20 s\) \|$' "$MD"
    grep -qxF -- '- validation accuracy 0.7500' "$MD"
    grep -qxF -- '- features: raw pixels' "$MD"
    # an out-of-date filter plot (its input newer) is left alone: the report runs no stage
    elbow=$(stat -c %y "$FO/elbow.png")
    touch "$FO/../elbow.csv"
    run make -C "$ROOT" report DATA="$DS" FILTER_ROOT="$FR"
    [ "$status" -eq 0 ]
    [ "$(stat -c %y "$FO/elbow.png")" = "$elbow" ]
    [ -z "$(grep -E '^bin/' <<< "$output")" ]
    [[ "$output" != *report.sh* ]]
    # a method's results removed: rebuilt, and it is "not run"
    rm "$FO/tasks/smiling/transfer/metrics.csv"
    run make -s -C "$ROOT" report DATA="$DS" FILTER_ROOT="$FR"
    [ "$status" -eq 0 ]
    grep -qxF "transfer (features + SVM): not run (\`make task=smiling transfer DATA=$DS\`)." "$MD"
}
