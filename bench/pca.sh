#!/usr/bin/env bash
# bench/pca.sh - pca vs sklearn PCA on a 5000 x 2048 float32 matrix -> 30 components.
# The matrix is a rank-100 signal with a decaying spectrum plus noise (like CNN features),
# made by tests/tools/gen-blobs. Needs Debian's python3-sklearn (/usr/bin/python3).
# Usage: bench/pca.sh [ROWS] [COLS] [K]        (from anywhere, after make build)
# Ours is timed as a whole process (read the stream, fit, project, write); sklearn as the
# fit_transform call alone on data already in memory.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/timeit.sh"
N=${1:-5000} D=${2:-2048} K=${3:-30}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$ROOT/build/tools/gen-blobs" --lowrank 100 --rows "$N" --dims "$D" --decay 0.95 --noise 0.5 \
    --type f32 -o "$TMP/x.npy"
echo "pca benchmark: $N x $D f32 -> $K components ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"

best_of 3 wall cpu -- "$ROOT/bin/pca" "$K" --report "$TMP/ours.csv" "$TMP/x.npy"
echo "ours_seconds=$wall"
echo "ours_cpu_seconds=$cpu"
"$ROOT/bin/pca" "$K" "$TMP/x.npy" 2>&1 >/dev/null | sed -n '1p;$p'

/usr/bin/python3 "$ROOT/bench/sk_pca.py" "$TMP/x.npy" "$K" "$TMP/ours.csv" | tee "$TMP/sk.txt"
sk=$(sed -n 's/^sklearn_seconds=//p' "$TMP/sk.txt")
skc=$(sed -n 's/^sklearn_cpu_seconds=//p' "$TMP/sk.txt")
printf 'wall ratio sklearn/ours = %.2f, CPU ratio sklearn/ours = %.2f\n' \
    "$(echo "$sk / $wall" | bc -l)" "$(echo "$skc / $cpu" | bc -l)"
