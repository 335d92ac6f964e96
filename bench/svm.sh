#!/usr/bin/env bash
# bench/svm.sh - train-svm vs scikit-learn's SVC(kernel='linear') and LinearSVC, side by side.
#   bench/svm.sh [DATA_DIR] [SIZE] [SEED] [FEATURES.npy]   (default ../shared/data/amls-dev, 32, 1)
# For every task: the same rows (noise rows whose five labels are all -1 dropped), the same
# split (bin/split, 60/20/20), the same standardisation (training rows), the same C candidates
# (the 10 train-svm drew log-uniformly from [1e-5, 10]), the same 3 stratified folds (train-svm
# --fold-log), the best C refitted on all training rows, class weights 'balanced' on both
# sides. The features are the SIZE x SIZE raw pixels, or the rows of FEATURES.npy (e.g. the
# filter's hand-crafted features, build/filter/<data>/size64-seed1/features.npy: the transfer
# method). Prints test accuracy and training time (standardisation + search + refit), wall and
# CPU (all threads), per task and method; "1 thr" is train-svm on one thread, "hinge" is
# train-svm --loss hinge (the loss of SVC); the ratios are sklearn's time / train-svm's
# (default loss, 2 threads), wall and CPU. BENCH_SVM_MODELS=SVC skips LinearSVC (nan);
# BENCH_SVM_TASKS="smiling human" runs only those tasks.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/amls-dev}
SIZE=${2:-32}
SEED=${3:-1}
FEATURES=${4:-}
PY=/usr/bin/python3
[ -f "$DATA/attribute_list.csv" ] || { echo "bench/svm.sh: no $DATA/attribute_list.csv" >&2; exit 1; }
$PY -c 'import sklearn, numpy' 2>/dev/null ||
    { echo "bench/svm.sh: needs python3-sklearn (apt-get install -y python3-sklearn)" >&2; exit 1; }
make -s bin/decode bin/split bin/train-svm bin/evaluate
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export FP_QUIET=1

# Rows whose labels are all -1 are the noise images (the filter stage drops them).
awk -F, 'NR == 1 { print; next } { for (i = 2; i <= NF; i++) if ($i != -1) { print; next } }' \
    "$DATA/attribute_list.csv" > "$tmp/labels.csv"
if [ -n "$FEATURES" ]; then
    ln -s "$(realpath "$FEATURES")" "$tmp/x.npy"
    what="rows of $FEATURES"
else
    bin/decode --size "$SIZE" --labels "$tmp/labels.csv" "$DATA/images" > "$tmp/x.npy" 2> /dev/null
    what="images at ${SIZE}x${SIZE}x3"
fi
echo "bench/svm.sh: $(($(wc -l < "$tmp/labels.csv") - 1)) $what, seed $SEED, $(nproc) cores; load at start:$(uptime | sed 's/.*load average://')"

# Seconds of "training time" (wall) and its cpu reported by train-svm.
train_time() { sed -n 's/.*training time \([0-9.]*\) s.*/\1/p' "$1"; }
train_cpu() { sed -n 's/.*training time .*(cpu \([0-9.]*\) s).*/\1/p' "$1"; }

printf '%-10s %5s | %-33s | %-15s | %-22s | %-23s | %s\n' task train \
    "facepipe acc  time (1 thr)   cpu" "hinge acc  cpu" "SVC acc  time    cpu" "LinearSVC acc time cpu" \
    "ratio SVC, LinearSVC: wall (cpu)"
for task in ${BENCH_SVM_TASKS:-smiling young eyeglasses human hair_color}; do
    d="$tmp/$task"
    bin/split --labels "$tmp/labels.csv" --task "$task" --seed "$SEED" -o "$d" 2> /dev/null
    args=(--train "$d/train.csv" --task "$task" --balanced --seed "$SEED" --n-iter 10 --folds 3
          --c-min 1e-5 --c-max 10)
    bin/train-svm "${args[@]}" --search-log "$d/search.csv" --fold-log "$d/folds.csv" \
        --predict --ids "$d/test.csv" \
        -o "$d/pred.csv" "$tmp/x.npy" 2> "$d/train.log"
    bin/train-svm "${args[@]}" -j 1 "$tmp/x.npy" 2> "$d/train1.log"
    bin/train-svm "${args[@]}" --loss hinge --predict --ids "$d/test.csv" -o "$d/hinge.csv" \
        "$tmp/x.npy" 2> "$d/hinge.log"
    bin/evaluate --task "$task" --pred "$d/pred.csv" --truth "$d/test.csv" -o "$d/eval" > /dev/null
    bin/evaluate --task "$task" --pred "$d/hinge.csv" --truth "$d/test.csv" -o "$d/evalh" > /dev/null
    ours=$(sed -n 's/^accuracy,//p' "$d/eval/metrics.csv")
    hinge=$(sed -n 's/^accuracy,//p' "$d/evalh/metrics.csv"); ch=$(train_cpu "$d/hinge.log")
    t2=$(train_time "$d/train.log"); c2=$(train_cpu "$d/train.log"); t1=$(train_time "$d/train1.log")
    sk=$($PY bench/svm_sklearn.py "$tmp/x.npy" "$d" "$d/search.csv" "$SEED" "$d/folds.csv")
    read -r _ svc_acc svc_t svc_c _ <<< "$(grep '^SVC ' <<< "$sk")"
    read -r _ lin_acc lin_t lin_c _ <<< "$(grep '^LinearSVC ' <<< "$sk" || echo "- nan nan nan")"  # skipped
    ntrain=$(($(wc -l < "$d/train.csv") - 1))
    awk -v t="$task" -v n="$ntrain" -v a="$ours" -v t2="$t2" -v c2="$c2" -v t1="$t1" \
        -v h="$hinge" -v ch="$ch" -v sa="$svc_acc" -v st="$svc_t" -v sc="$svc_c" -v la="$lin_acc" \
        -v lt="$lin_t" -v lc="$lin_c" 'BEGIN {
        # accuracies are counts over the same test rows: equal within 1e-6 means equal
        ok = a + 1e-6 >= sa && st / t2 >= 10 && (la == "nan" || (a + 1e-6 >= la && lt / t2 >= 10))
        printf "%-10s %5d | %.4f %6.2f s (%6.2f s) %6.2f s | %.4f %6.2f s | %.4f %7.2f s %7.2f s | %.4f %7.2f s %7.2f s | %5.1fx (%4.1fx) %6.1fx (%5.1fx)%s\n",
               t, n, a, t2, t1, c2, h, ch, sa, st, sc, la, lt, lc, st / t2, sc / c2, lt / t2, lc / c2,
               ok ? "" : "  (below the bar)" }'
done
echo "bench/svm.sh: load at end:$(uptime | sed 's/.*load average://')"
