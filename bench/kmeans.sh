#!/usr/bin/env bash
# bench/kmeans.sh - kmeans --elbow 1..15 (n_init 10) vs sklearn KMeans, on 5000 x 2 and
# 5000 x 30 (10 overlapping Gaussian clusters from tests/tools/gen-blobs).
# Ours: the whole process (read, 150 restarts, print). sklearn: the loop of 15 fits.
# Needs Debian's python3-sklearn. Usage: bench/kmeans.sh [KMAX] [N_INIT]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/timeit.sh"
KMAX=${1:-15} NINIT=${2:-10}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for D in 2 30; do
    STD=$([ "$D" = 2 ] && echo 1.5 || echo 3)
    "$ROOT/build/tools/gen-blobs" --clusters 10 --per 500 --dims "$D" --std "$STD" -o "$TMP/x$D.npy"
    echo "kmeans benchmark: 5000 x $D, elbow 1..$KMAX, n_init $NINIT ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
    best_of 3 wall cpu -- "$ROOT/bin/kmeans" --elbow "1..$KMAX" --n-init "$NINIT" "$TMP/x$D.npy"
    "$ROOT/bin/kmeans" --elbow "1..$KMAX" --n-init "$NINIT" "$TMP/x$D.npy" > "$TMP/e$D.csv"
    echo "ours_seconds=$wall"
    echo "ours_cpu_seconds=$cpu"
    /usr/bin/python3 "$ROOT/bench/sk_kmeans.py" "$TMP/x$D.npy" 1 "$KMAX" "$NINIT" "$TMP/e$D.csv" | tee "$TMP/sk$D.txt"
    # sklearn again on one OpenMP thread: its threads spin-wait, which hurts on a busy machine
    echo "sklearn, OMP_NUM_THREADS=1:"
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$ROOT/bench/sk_kmeans.py" \
        "$TMP/x$D.npy" 1 "$KMAX" "$NINIT" "$TMP/e$D.csv" | grep -E 'seconds|ratio' | tee "$TMP/sk1$D.txt"
    sk=$(sed -n 's/^sklearn_seconds=//p' "$TMP/sk$D.txt")
    skc=$(sed -n 's/^sklearn_cpu_seconds=//p' "$TMP/sk$D.txt")
    sk1=$(sed -n 's/^sklearn_seconds=//p' "$TMP/sk1$D.txt")
    printf 'D=%s: wall ratio sklearn/ours = %.1f (sklearn on 1 thread: %.1f), CPU ratio = %.1f\n\n' \
        "$D" "$(echo "$sk / $wall" | bc -l)" "$(echo "$sk1 / $wall" | bc -l)" "$(echo "$skc / $cpu" | bc -l)"
done
