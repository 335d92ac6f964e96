#!/usr/bin/env bash
# bench/tsne.sh - tsne vs sklearn TSNE (barnes_hut) vs Rtsne on 5000 x 30, side by side.
# Data: 10 Gaussian clusters x 500 points in 30-D (std 3 in a [-10, 10] box: they touch),
# from tests/tools/gen-blobs. Same perplexity (30) and iterations (1000) for everyone; each
# tool otherwise at its defaults. Rtsne's default is one thread; it is also run on two.
# Figures: wall and CPU seconds, each tool's own final KL, and the exact KL of every
# embedding under one common P (bench/tsne_kl.py).
# Needs python3-sklearn and r-cran-rtsne (Debian). Usage: bench/tsne.sh [N] [PERPLEXITY] [ITER]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-5000} PERP=${2:-30} ITER=${3:-1000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$ROOT/build/tools/gen-blobs" --clusters 10 --per $((N / 10)) --dims 30 --std 3 -o "$TMP/x.npy"
"$ROOT/bin/mat" to-csv "$TMP/x.npy" > "$TMP/x.csv"
echo "tsne benchmark: $N x 30, perplexity $PERP, $ITER iterations ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"

/usr/bin/time -o "$TMP/t" -f '%e %U %S' env -u FP_QUIET "$ROOT/bin/tsne" --perplexity "$PERP" \
    --iter "$ITER" "$TMP/x.npy" > "$TMP/ours.npy" 2> "$TMP/ours.err"
read -r w u s < "$TMP/t"
ours=$w
echo "ours_seconds=$w"
echo "ours_cpu_seconds=$(echo "$u + $s" | bc)"
echo "ours_kl=$(sed -n 's/^tsne: final KL //p' "$TMP/ours.err")"

/usr/bin/python3 "$ROOT/bench/sk_tsne.py" "$TMP/x.npy" "$TMP/sk.npy" "$PERP" "$ITER" | tee "$TMP/sk.txt"
Rscript "$ROOT/bench/rtsne.R" "$TMP/x.csv" "$TMP/r1.csv" 1 "$PERP" "$ITER" | tee "$TMP/r1.txt"
Rscript "$ROOT/bench/rtsne.R" "$TMP/x.csv" "$TMP/r2.csv" 2 "$PERP" "$ITER" | tee "$TMP/r2.txt"
/usr/bin/python3 "$ROOT/bench/tsne_kl.py" "$TMP/x.npy" "$PERP" ours="$TMP/ours.npy" \
    sklearn="$TMP/sk.npy" rtsne1="$TMP/r1.csv" rtsne2="$TMP/r2.csv"

sk=$(sed -n 's/^sklearn_seconds=//p' "$TMP/sk.txt")
r1=$(sed -n 's/^rtsne1_seconds=//p' "$TMP/r1.txt")
r2=$(sed -n 's/^rtsne2_seconds=//p' "$TMP/r2.txt")
printf 'speedup: sklearn/ours = %.2f, rtsne(1 thread)/ours = %.2f, rtsne(2 threads)/ours = %.2f\n' \
    "$(echo "$sk / $ours" | bc -l)" "$(echo "$r1 / $ours" | bc -l)" "$(echo "$r2 / $ours" | bc -l)"
