#!/usr/bin/env bash
# report.sh - the filter's result and every task x method's figures as one Markdown file
# (report.md, images linked beside it) and one self-contained HTML page (report.html: the
# same text, images as data: URIs, a little inline CSS, no script). `make report` runs it;
# see docs/report.md.
#
# It reports what exists: a stage that has not run is written "not run" (with the command
# that runs it), so a partial run still gives a whole report. Nothing in it depends on the
# clock or the machine, so the same artifacts give byte-identical files.
#
# The HTML is converted from the Markdown by md_to_html below (headings, paragraphs, lists,
# tables, fenced code, figures, `code`, **bold**, [links](#anchor): the subset this script
# writes), so the two always say the same and no Markdown tool is needed.
set -euo pipefail
export LC_ALL=C

prog=report.sh
TASKS_DEFAULT="smiling young eyeglasses human hair_color"
METHODS_DEFAULT="svm transfer cnn"

usage() {
    cat <<EOF
Usage: $prog [--labels CSV] [--data DIR] [--tasks LIST] [--methods LIST] [-o DIR] FILTER_OUT
       $prog --check REPORT.html
Write DIR/report.md and DIR/report.html (DIR defaults to FILTER_OUT/report) from the
filter's output FILTER_OUT (filtered.csv, noise.csv, clusters.csv, plots, contact sheets)
and FILTER_OUT/tasks/<task>/<method>/ (metrics.csv, confusion.csv, run.csv, curves.png...).
Missing artifacts are reported as "not run"; both files are written atomically.

Options:
  --labels CSV    the dataset's attribute_list.csv: precision and recall of the filter
                  against the rows whose labels are all -1 (the way AMLS marks noise)
  --data DIR      the dataset's folder, named in the report and in its "make" hints
  --tasks LIST    tasks, in report order (default: $TASKS_DEFAULT)
  --methods LIST  methods, in report order (default: $METHODS_DEFAULT)
  -o DIR          output folder (default: FILTER_OUT/report)
  --check HTML    render HTML in headless Chromium and check that every <img> decoded;
                  prints "report-check: N images, M not decoded, H headings, T tables",
                  exits 1 when an image did not decode (or Chromium failed)
  -h, --help      show this help
EOF
}

die() { echo "$prog: $*" >&2; exit 1; }
die_usage() { echo "$prog: $*" >&2; echo "Try '$prog --help'." >&2; exit 2; }

# ------------------------------------------------------------------ small readers

# Data rows of a CSV with a header.
rows() { if [ -f "$1" ]; then echo $(( $(wc -l < "$1") - 1 )); else echo 0; fi; }

# Path of FILE relative to the output folder (Markdown image links).
rel() { realpath -m --relative-to="$out" "$1"; }

# The original solution's test accuracy of TASK with METHOD (custom CNN; ResNet50 codes +
# SVM, which our transfer method stands for; raw-pixel SVM).
original() {
    case "$1:$2" in
    smiling:cnn) echo 0.929 ;;    smiling:transfer) echo 0.912 ;;    smiling:svm) echo 0.687 ;;
    young:cnn) echo 0.888 ;;      young:transfer) echo 0.870 ;;      young:svm) echo 0.687 ;;
    eyeglasses:cnn) echo 0.999 ;; eyeglasses:transfer) echo 0.982 ;; eyeglasses:svm) echo 0.705 ;;
    human:cnn) echo 1.000 ;;      human:transfer) echo 1.000 ;;      human:svm) echo 0.795 ;;
    hair_color:cnn) echo 0.891 ;; hair_color:transfer) echo 0.939 ;; hair_color:svm) echo 0.277 ;;
    esac
}

method_name() {
    case $1 in
    svm) echo "raw-pixel SVM" ;;
    transfer) echo "transfer (features + SVM)" ;;
    cnn) echo "custom CNN" ;;
    *) echo "$1" ;;
    esac
}

original_name() {
    case $1 in
    svm) echo "raw-pixel SVM" ;;
    transfer) echo "ResNet50 codes + SVM" ;;
    cnn) echo "custom CNN" ;;
    *) echo "$1" ;;
    esac
}

# "make ..." command that produces the missing artifact (for the "not run" notes).
make_hint() {
    local d=""
    [ -n "$data" ] && d=" DATA=$data"
    echo "make $*$d"
}

# Reads a method folder's metrics.csv and run.csv (when present) in one awk run and sets
#   M_acc M_bal M_f1 M_val  accuracy, balanced accuracy, macro F1, validation accuracy
#   M_n                     test rows
#   M_beside                "0.884 (+0.197)": accuracy and its difference to ORIGINAL
#   M_train M_predict       "5.65 s (CPU 3.46 s)" from run.csv's *_wall_s and *_cpu_s
#   M_feats                 run.csv's features, else the first line of features.txt
# Each is empty when its figure is missing. (One process per folder, not one per figure:
# the machine this runs on is often loaded, and forks are what costs.)
method_vals() { # DIR ORIGINAL
    local d=$1 files=("$1/metrics.csv")
    [ -f "$d/run.csv" ] && files+=("$d/run.csv")
    IFS=$'\x1f' read -r M_acc M_bal M_f1 M_val M_n M_beside M_train M_predict M_feats < <(
        awk -F, -v orig="$2" '
        { val[$1] = substr($0, index($0, ",") + 1) }
        function f4(k) { return (k in val) ? sprintf("%.4f", val[k]) : "" }
        function secs(w, c) {
            if (!(w in val)) return ""
            return (c in val) ? sprintf("%.2f s (CPU %.2f s)", val[w], val[c]) : sprintf("%.2f s", val[w])
        }
        END {
            b = ""
            if ("accuracy" in val) b = (orig == "") ? sprintf("%.3f", val["accuracy"]) \
                                                    : sprintf("%.3f (%+.3f)", val["accuracy"], val["accuracy"] - orig)
            printf "%s\037%s\037%s\037%s\037%s\037%s\037%s\037%s\037%s\n", f4("accuracy"), f4("balanced_accuracy"),
                f4("macro_f1"), f4("val_accuracy"), val["n"], b, secs("train_wall_s", "train_cpu_s"),
                secs("predict_wall_s", "predict_cpu_s"), val["features"]
        }' "${files[@]}")
    if [ -z "$M_feats" ] && [ -f "$d/features.txt" ]; then M_feats=$(head -1 "$d/features.txt"); fi
    return 0
}

# ------------------------------------------------------------------ the filter

filter_section() {
    local kept removed total k clusters_csv log kmode
    echo "## Filter"
    echo
    if [ ! -f "$fo/filtered.csv" ]; then
        echo "Not run: no \`filtered.csv\` in \`$fo\` (\`$(make_hint filter)\`)."
        echo
        for s in "Clusters" "Against the labels" "Elbow" "t-SNE" "Removed images" "Contact sheets per cluster"; do
            printf '### %s\n\nNot run.\n\n' "$s"
        done
        return
    fi
    kept=$(rows "$fo/filtered.csv")
    removed=$(rows "$fo/noise.csv")
    total=$((kept + removed))
    clusters_csv="$fo/clusters.csv"
    k=$(rows "$clusters_csv")
    kmode="k = $k"
    case $(basename "$fo") in
    kauto*) kmode="$kmode, chosen by the elbow of the k-means inertia" ;;
    k[0-9]*) kmode="$kmode, fixed with K=$k" ;;
    esac
    case $(basename "$fo") in
    *-ref*) kmode="$kmode; the noise is the cluster of image ${fo##*-ref} (NOISE_REF)" ;;
    esac
    echo "**$total images** decoded: **$kept kept**, **$removed removed** as noise."
    echo "decode -> extract-features -> pca -> tsne -> kmeans ($kmode) -> find-noise."
    echo

    echo "### Clusters"
    echo
    if [ -f "$clusters_csv" ]; then
        echo "| cluster | images | face score | decision | kept by a per-image look | removed by the third look |"
        echo "|---:|---:|---:|---|---:|---:|"
        awk -F, 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, ($4 == 1 ? "**removed**" : "kept"), ($5 == "" ? 0 : $5), ($6 == "" ? 0 : $6) }' "$clusters_csv"
        echo
    else
        printf 'Not available: no `clusters.csv`.\n\n'
    fi
    log="$fo/find-noise.log"
    if [ -f "$log" ]; then
        echo "find-noise's account of its decision (\`find-noise.log\`):"
        echo
        echo '```'
        cat "$log"
        echo '```'
        echo
    fi

    echo "### Against the labels"
    echo
    against_labels
    echo

    echo "### Elbow"
    echo
    figure "$fo/elbow.png" "k-means inertia by k on the t-SNE embedding; the dashed line is the k used ($k)"
    echo "### t-SNE"
    echo
    figure "$fo/tsne.png" "t-SNE of the image features, coloured by cluster; x marks the removed images"
    echo "### Removed images"
    echo
    local shown=$removed
    [ "$removed" -gt 300 ] && shown="the first 300 of $removed"
    figure "$fo/sheet-removed.png" "the $shown images removed as noise"
    echo "### Contact sheets per cluster"
    echo
    if [ -f "$clusters_csv" ]; then
        local c size score noise
        while IFS=, read -r c size score noise _; do
            echo "#### Cluster $c"
            echo
            figure "$fo/sheet-cluster-$c.png" \
                "cluster $c: $size images ($([ "$size" -gt 100 ] && echo "first 100 shown, " )face score $score), $([ "$noise" = 1 ] && echo removed || echo kept)"
        done < <(tail -n +2 "$clusters_csv")
    else
        printf 'Not available: no `clusters.csv`.\n\n'
    fi
}

# An image as its own paragraph, or a note that it is missing.
figure() {
    if [ -f "$1" ]; then
        printf '![%s](%s)\n\n' "$2" "$(rel "$1")"
    else
        printf 'Not run: no `%s`.\n\n' "$(basename "$1")"
    fi
}

# Precision and recall of the removal against the rows whose labels are all -1, from the
# labels CSV when given (else find-noise's own line). Lists the ids it got wrong.
against_labels() {
    if [ -z "$labels" ]; then
        local line
        line=$(grep 'against the labels' "$fo/find-noise.log" 2>/dev/null | sed 's/^find-noise: //' || true)
        if [ -n "$line" ]; then echo "From find-noise's log: $line"
        else echo "No labels given (\`--labels\`): precision and recall not computed."; fi
        return
    fi
    awk -F, -v lab="$labels" -v rem="$fo/noise.csv" -v kept="$fo/filtered.csv" '
        function ids(list, n,   i, s) {
            s = ""
            for (i = 1; i <= n && i <= 30; i++) s = s (i > 1 ? ", " : "") list[i]
            return n > 30 ? s ", ... (" n " in all)" : s
        }
        FNR == 1 { next }
        FILENAME == lab { all = 1; for (i = 2; i <= NF; i++) if ($i != -1) all = 0; if (all) noisy[$1] = 1; next }
        FILENAME == rem { nrem++; if ($1 in noisy) tp++; else fp[++nfp] = $1; next }
        FILENAME == kept { if ($1 in noisy) fn[++nfn] = $1 }
        END {
            if (tp + nfn == 0) {
                print "The labels mark no decoded image as noise (no row with every label -1):"
                print "precision and recall cannot be measured."
                exit
            }
            printf "Noise = the rows of `%s` whose labels are all -1 (%d of the decoded images).\n", lab, tp + nfn
            printf "**precision %.4f** (%d of the %d removed images are noise), ", nrem ? tp / nrem : 0, tp, nrem
            printf "**recall %.4f** (%d of the %d noise images removed).\n", tp / (tp + nfn), tp, tp + nfn
            print ""
            printf "- faces removed: %s\n", nfp ? ids(fp, nfp) : "none"
            printf "- noise kept: %s\n", nfn ? ids(fn, nfn) : "none"
        }' "$labels" "$fo/noise.csv" "$fo/filtered.csv"
}

# ------------------------------------------------------------------ tasks x methods

results_section() {
    local t m d
    echo "## Results beside the original"
    echo
    echo "Test accuracy, ours (difference to the original in brackets) beside the original"
    echo "solution's figures. Our transfer method stands where the original used ResNet50 codes"
    echo "and an SVM (what features it used is under each task)."
    echo
    echo "| task | custom CNN | original | transfer | original ResNet50 + SVM | raw-pixel SVM | original |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for t in $tasks; do
        printf '| %s ' "$t"
        for m in cnn transfer svm; do
            M_beside="not run"
            [ -f "$fo/tasks/$t/$m/metrics.csv" ] && method_vals "$fo/tasks/$t/$m" "$(original "$t" $m)"
            printf '| %s | %s ' "$M_beside" "$(original "$t" $m)"
        done
        echo "|"
    done
    echo

    echo "### Every task and method"
    echo
    echo "| task | method | accuracy | balanced accuracy | test rows | training (wall, CPU) | prediction (wall, CPU) |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    for t in $tasks; do
        for m in $methods; do
            d="$fo/tasks/$t/$m"
            if [ ! -f "$d/metrics.csv" ]; then
                echo "| $t | $m | not run | | | | |"
                continue
            fi
            method_vals "$d" ""
            printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$m" "$M_acc" "$M_bal" "$M_n" \
                "${M_train:-not recorded}" "${M_predict:-not recorded}"
        done
    done
    echo
}

tasks_section() {
    local t m
    echo "## Tasks"
    echo
    for t in $tasks; do
        echo "### $t"
        echo
        split_table "$t"
        for m in $methods; do
            method_section "$t" "$m"
        done
    done
}

# The task's split (split.txt) as a table.
split_table() {
    local f="$fo/tasks/$1/split/split.txt"
    if [ ! -f "$f" ]; then
        printf 'Split: not run (`%s`).\n\n' "$(make_hint "task=$1 svm")"
        return
    fi
    echo "Split (\`split\`, the same rows for every method):"
    echo
    echo "| class | label | train | val | test | total |"
    echo "|---:|---:|---:|---:|---:|---:|"
    awk 'NR > 2 && NF == 6 { printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }
         NR > 2 && $1 == "total" { printf "| **total** | | %s | %s | %s | %s |\n", $2, $3, $4, $5 }' "$f"
    echo
}

method_section() {
    local t=$1 m=$2 d="$fo/tasks/$1/$2" orig
    echo "#### $t: $m"
    echo
    if [ ! -f "$d/metrics.csv" ]; then
        printf '%s: not run (`%s`).\n\n' "$(method_name "$m")" "$(make_hint "task=$t $m")"
        return
    fi
    orig=$(original "$t" "$m")
    method_vals "$d" "$orig"
    echo "$(method_name "$m"):"
    echo
    echo "- **accuracy $M_acc**, balanced accuracy $M_bal, macro F1 $M_f1 on $M_n test rows"
    if [ -n "$orig" ]; then echo "- original ($(original_name "$m")): $orig; ours $M_beside"; fi
    if [ -n "$M_val" ]; then echo "- validation accuracy $M_val"; fi
    echo "- training: ${M_train:-not recorded (no \`run.csv\`)}"
    echo "- prediction: ${M_predict:-not recorded (no \`run.csv\`)}"
    if [ -n "$M_feats" ]; then echo "- features: $M_feats"; fi
    if [ -f "$d/groups.csv" ]; then groups_line "$d/groups.csv"; fi
    echo
    if [ -f "$d/confusion.csv" ]; then
        echo "Confusion matrix (rows: true label, columns: predicted label):"
        echo
        awk -F, 'NR == 1 { printf "| true \\ predicted"; for (i = 2; i <= NF; i++) printf " | %s", $i; print " |"
                           printf "|---:"; for (i = 2; i <= NF; i++) printf "|---:"; print "|"; next }
                 { printf "| **%s**", $1; for (i = 2; i <= NF; i++) printf " | %s", $i; print " |" }' "$d/confusion.csv"
        echo
    else
        printf 'Confusion matrix: not available (no `confusion.csv`).\n\n'
    fi
    per_class_table "$d/metrics.csv"
    if [ -f "$d/curves.png" ]; then
        figure "$d/curves.png" "$t, $m: learning curves"
    elif [ -f "$d/curves.csv" ]; then
        printf 'Learning curves: `curves.csv` (%s rows) but no plot.\n\n' "$(rows "$d/curves.csv")"
    else
        printf 'Learning curves: not recorded (no `curves.png`).\n\n'
    fi
}

# evaluate --by's groups.csv as one bullet: "- accuracy by human: -1 0.9924 (262 of 264), ...".
# The numbers are the last three fields; the value is what lies between them and the column
# (a CSV field: it may be quoted and hold commas).
groups_line() {
    awk -F, 'function unquote(v) { if (v ~ /^".*"$/) { v = substr(v, 2, length(v) - 2); gsub(/""/, "\"", v) }
                                   return v == "" ? "(empty)" : v }
             NR > 1 { col = unquote($1); tail = "," $(NF - 2) "," $(NF - 1) "," $NF
                      v = unquote(substr($0, length($1) + 2, length($0) - length($1) - 1 - length(tail)))
                      line = line sep sprintf("%s %.4f (%d of %d)", v, $NF, $(NF - 1), $(NF - 2)); sep = ", " }
             END { if (line != "") print "- accuracy by " col ": " line }' "$1"
}

# Precision, recall, F1 and support of every class, from metrics.csv's *_LABEL lines.
per_class_table() {
    echo "Per class:"
    echo
    echo "| label | precision | recall | F1 | support |"
    echo "|---:|---:|---:|---:|---:|"
    awk -F, '$1 ~ /^precision_/ { l = substr($1, 11); order[++n] = l; p[l] = $2 }
             $1 ~ /^recall_/ { r[substr($1, 8)] = $2 }
             $1 ~ /^f1_/ { f[substr($1, 4)] = $2 }
             $1 ~ /^support_/ { s[substr($1, 9)] = $2 }
             END { for (i = 1; i <= n; i++) { l = order[i]
                   printf "| %s | %.4f | %.4f | %.4f | %s |\n", l, p[l], r[l], f[l], s[l] } }' "$1"
    echo
}

# ------------------------------------------------------------------ the whole Markdown

write_markdown() {
    echo "# facepipe report"
    echo
    [ -n "$data" ] && echo "Data: \`$data\`."
    echo "Filter output: \`$fo\`."
    echo
    echo "Contents: [Filter](#filter) · [Results beside the original](#results-beside-the-original)"
    echo "· [Every task and method](#every-task-and-method) · [Tasks](#tasks)"
    echo
    filter_section
    results_section
    tasks_section
}

# ------------------------------------------------------------------ Markdown -> HTML

# Converts the Markdown subset written above; images become data: URIs (base64 of the file,
# written straight to stdout by base64 so awk never holds a large image in a string).
md_to_html() { # MARKDOWN BASE_DIR
    awk -v base="$2" '
    function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); gsub(/"/, "\\&quot;", s); return s }
    function shq(s) { gsub(/\047/, "\047\\\047\047", s); return "\047" s "\047" }
    function slug(s) { s = tolower(s); gsub(/[^a-z0-9 _-]/, "", s); gsub(/ /, "-", s); return s }
    # **bold** and [text](href) in text that is already escaped
    function rich(s,   out, t, p) {
        out = ""
        while (match(s, /\*\*[^*]+\*\*/)) {
            out = out substr(s, 1, RSTART - 1) "<strong>" substr(s, RSTART + 2, RLENGTH - 4) "</strong>"
            s = substr(s, RSTART + RLENGTH)
        }
        s = out s; out = ""
        while (match(s, /\[[^]]*\]\([^)]*\)/)) {
            t = substr(s, RSTART, RLENGTH); p = index(t, "](")
            out = out substr(s, 1, RSTART - 1) "<a href=\"" substr(t, p + 2, length(t) - p - 2) "\">" substr(t, 2, p - 2) "</a>"
            s = substr(s, RSTART + RLENGTH)
        }
        return out s
    }
    # inline markup: `code` spans are taken literally, the rest gets bold and links
    function inl(s,   n, part, i, out) {
        n = split(s, part, "`"); out = ""
        for (i = 1; i <= n; i++) out = out (i % 2 == 0 ? "<code>" esc(part[i]) "</code>" : rich(esc(part[i])))
        return out
    }
    function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
    function close_blocks() {
        if (para != "") { print "<p>" para "</p>"; para = "" }
        if (inlist) { print "</ul>"; inlist = 0 }
        if (intable) { print "</tbody></table>"; intable = 0 }
    }
    function table_row(line,   n, c, i, v, tag, cls) {
        n = split(line, c, "|")
        tag = (trow == 1) ? "th" : "td"
        printf "<tr>"
        for (i = 2; i < n; i++) {
            v = trim(c[i]); cls = ""
            if (tag == "td" && v ~ /^[-+]?[.0-9]/) cls = " class=\"n\""
            if (tag == "td" && v ~ /^not (run|recorded)/) cls = " class=\"na\""
            printf "<%s%s>%s</%s>", tag, cls, inl(v), tag
        }
        print "</tr>"
    }
    function figure(line,   p, alt, path, file, mime) {
        p = index(line, "](")
        alt = substr(line, 3, p - 3)
        path = substr(line, p + 2); sub(/\)[ \t]*$/, "", path)
        file = (path ~ /^\//) ? path : base "/" path
        mime = "image/png"
        if (tolower(path) ~ /\.jpe?g$/) mime = "image/jpeg"
        if (tolower(path) ~ /\.svg$/) mime = "image/svg+xml"
        printf "<figure><img alt=\"%s\" src=\"data:%s;base64,", esc(alt), mime
        fflush()
        if (system("base64 -w0 < " shq(file)) != 0) { print "report.sh: cannot read " file > "/dev/stderr"; failed = 1; exit 1 }
        printf "\"><figcaption>%s</figcaption></figure>\n", inl(alt)
    }
    BEGIN {
        print "<!DOCTYPE html>"
        print "<html lang=\"en\"><head><meta charset=\"utf-8\">"
        print "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    }
    NR == 1 && /^# / {
        printf "<title>%s</title>\n", esc(substr($0, 3))
        print "<style>"
        print "body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        print "h2{border-bottom:2px solid #ddd;margin-top:2em}h4{margin-bottom:.4em}"
        print "table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.2em .6em}"
        print "th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}td.na{color:#999;font-style:italic}"
        print "img{max-width:100%;height:auto;border:1px solid #ddd}figure{margin:.8em 0}figcaption{color:#555;font-size:90%}"
        print "code,pre{background:#f6f6f6;font-size:90%}pre{padding:.6em;white-space:pre-wrap}"
        print "</style></head><body>"
    }
    infence { if ($0 ~ /^```/) { print "</pre>"; infence = 0 } else print esc($0); next }
    /^```/ { close_blocks(); printf "<pre>"; infence = 1; next }
    /^#+ / {
        close_blocks(); match($0, /^#+/); lvl = RLENGTH; text = substr($0, lvl + 2)
        printf "<h%d id=\"%s\">%s</h%d>\n", lvl, slug(text), inl(text), lvl
        next
    }
    /^!\[[^]]*\]\([^)]+\)[ \t]*$/ { close_blocks(); figure($0); next }
    /^\|/ {
        if (!intable) { close_blocks(); intable = 1; trow = 0; print "<table>" }
        trow++
        if (trow == 2 && $0 ~ /^[|: -]+$/) { print "<tbody>"; next }
        if (trow == 1) printf "<thead>"
        table_row($0)
        if (trow == 1) print "</thead>"
        next
    }
    /^- / {
        if (!inlist) { close_blocks(); print "<ul>"; inlist = 1 }
        print "<li>" inl(substr($0, 3)) "</li>"
        next
    }
    /^[ \t]*$/ { close_blocks(); next }
    { if (inlist || intable) close_blocks(); para = (para == "" ? "" : para "\n") inl($0) }
    END {
        if (failed) exit 1
        close_blocks()
        print "</body>"
        print "</html>"
    }' "$1"
}

# ------------------------------------------------------------------ --check

# Render a copy of the page in headless Chromium with a check script that writes, once
# every image has loaded or failed, how many decoded (naturalWidth > 0) into the DOM; then
# read the verdict back from the dumped DOM.
check_html() {
    local html=$1 verdict want
    [ -f "$html" ] || die "$html: no such file"
    command -v chromium > /dev/null || die "chromium not found (make deps installs it)"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/report-check.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    awk '$0 == "</body>" { print "<script>window.addEventListener(\"load\", function () {" \
        " var im = document.images, bad = [];" \
        " for (var i = 0; i < im.length; i++) if (!im[i].complete || im[i].naturalWidth === 0) bad.push(im[i].alt || (\"#\" + i));" \
        " var p = document.createElement(\"pre\"); p.id = \"report-check\";" \
        " p.textContent = \"report-\" + \"check: \" + im.length + \" images, \" + bad.length + \" not decoded, \" +" \
        "  document.querySelectorAll(\"h1,h2,h3,h4\").length + \" headings, \" + document.querySelectorAll(\"table\").length + \" tables\" +" \
        "  (bad.length ? \": \" + bad.join(\"; \") : \"\");" \
        " document.body.appendChild(p); });</script>" } { print }' "$html" > "$tmp/page.html"
    # --virtual-time-budget: Chromium returns once the page is idle (load fired) or the budget
    # of virtual time is spent; the profile folder keeps parallel runs apart.
    if ! timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
            --no-first-run --disable-extensions --disable-background-networking \
            --disable-component-update --disable-sync --user-data-dir="$tmp/profile" \
            --virtual-time-budget=10000 --dump-dom "file://$tmp/page.html" \
            > "$tmp/dom.html" 2> "$tmp/chromium.log"; then
        tail -5 "$tmp/chromium.log" >&2
        die "chromium failed on $html"
    fi
    verdict=$(grep -o 'report-check: [^<]*' "$tmp/dom.html" || true)
    [ -n "$verdict" ] || die "$html: the check script left no verdict (page did not load?)"
    echo "$verdict"
    want=$(grep -o '<img ' "$html" | wc -l)
    case $verdict in
    "report-check: $want images, 0 not decoded,"*) return 0 ;;
    *) echo "$prog: $html: expected $want decoded images" >&2; return 1 ;;
    esac
}

# ------------------------------------------------------------------ main

labels="" data="" out="" tasks=$TASKS_DEFAULT methods=$METHODS_DEFAULT check=""
while [ $# -gt 0 ]; do
    case $1 in
    -h|--help) usage; exit 0 ;;
    --labels) [ $# -ge 2 ] || die_usage "--labels needs a file"; labels=$2; shift 2 ;;
    --data) [ $# -ge 2 ] || die_usage "--data needs a folder"; data=$2; shift 2 ;;
    --tasks) [ $# -ge 2 ] || die_usage "--tasks needs a list"; tasks=$2; shift 2 ;;
    --methods) [ $# -ge 2 ] || die_usage "--methods needs a list"; methods=$2; shift 2 ;;
    -o) [ $# -ge 2 ] || die_usage "-o needs a folder"; out=$2; shift 2 ;;
    --check) [ $# -ge 2 ] || die_usage "--check needs an HTML file"; check=$2; shift 2 ;;
    -*) die_usage "unknown option '$1'" ;;
    *) break ;;
    esac
done

if [ -n "$check" ]; then
    [ $# -eq 0 ] || die_usage "--check takes no other argument"
    check_html "$check"
    exit
fi
[ $# -eq 1 ] || die_usage "expected one FILTER_OUT folder"
fo=${1%/}
[ -d "$fo" ] || die "$fo: no such folder (run make filter first)"
[ -z "$labels" ] || [ -f "$labels" ] || die "$labels: no such file"
out=${out:-$fo/report}
mkdir -p "$out"

md="$out/report.md" html="$out/report.html"
tmp_md="$md.tmp.$$" tmp_html="$html.tmp.$$"
trap 'rm -f "$tmp_md" "$tmp_html"' EXIT
write_markdown > "$tmp_md"
md_to_html "$tmp_md" "$out" > "$tmp_html"
mv "$tmp_md" "$md"
mv "$tmp_html" "$html"
echo "report: $md, $html ($(grep -c '^!\[' "$md") images, $(wc -c < "$html") bytes)" >&2
