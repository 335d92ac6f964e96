#!/usr/bin/env bash
# bench/cnn.sh - seconds per training epoch of the original AMLS CNN (pipelines/cnn-original.cfg),
# same network, same images, one run: train-cnn as we run it (our kernels, 2 threads and 1),
# Darknet's own plain CPU code (train-cnn --plain), and PyTorch on the CPU (Debian
# python3-torch; bench/cnn_torch.py builds the same layers).
#   bench/cnn.sh [DATA_DIR] [N_IMAGES] [SIZES]    (default ../shared/data/amls-dev 1500 "64 128")
# Timing covers the training steps of an epoch only (no validation), Adam, batch 32. Each
# figure is the faster of two epochs (the first one pays for page faults). Darknet's plain
# code is timed on --max-train 320 images and scaled to N (it is linear in the images).
# Wall seconds depend on what else runs on the machine; CPU seconds much less so: the load
# average is printed before and after.
# OpenBLAS's kernels follow OPENBLAS_CORETYPE as set in the environment (see docs/train-cnn.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/amls-dev}
N=${2:-1500}
SIZES=${3:-64 128}
PY=/usr/bin/python3
[ -f "$DATA/attribute_list.csv" ] || { echo "bench/cnn.sh: no $DATA/attribute_list.csv" >&2; exit 1; }
$PY -c 'import torch, numpy' 2>/dev/null || { echo "bench/cnn.sh: needs python3-torch (apt-get install python3-torch)" >&2; exit 1; }
[ -n "${BENCH_NO_BUILD:-}" ] || make -s build
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
unset FP_QUIET

# The first N images (any labels: speed only) for training, 32 for the (untimed) validation.
mkdir -p "$tmp/split"
awk -F, -v n="$N" 'NR == 1 { print "file_name,label" > "'"$tmp"'/split/train.csv"; print "file_name,label" > "'"$tmp"'/split/val.csv"; next }
    NR - 1 <= n { print $1 "," ($4 == 1) > "'"$tmp"'/split/train.csv" }
    NR - 1 <= 32 { print $1 "," ($4 == 1) > "'"$tmp"'/split/val.csv" }' "$DATA/attribute_list.csv"
n=$(($(wc -l < "$tmp/split/train.csv") - 1))

# From the epoch lines "train W s (... cpu C s)": "W C" of the epoch with the smallest W.
best_train() { sed -n 's/.*| train \([0-9.]*\) s (.* cpu \([0-9.]*\) s).*/\1 \2/p' | sort -n | head -1; }
ours() { # size threads [extra args]
    local s=$1 j=$2; shift 2
    bin/train-cnn --cfg pipelines/cnn-original.cfg --split "$tmp/split" -o "$tmp/m.weights" --epochs 2 \
        --patience 0 -j "$j" "$@" "$tmp/img$s.npy" 2>&1 >/dev/null | best_train
}
torch() { # size threads -> "W C"
    $PY bench/cnn_torch.py "$tmp/img$1.npy" "$n" 2 "$2" | awk '{ print $4, $6 }' | sort -n | head -1
}
# "W C" -> "W s (R img/s), cpu C s", scaled by f (the plain run covers n*f images... f=1 else)
cell() { awk -v w="$1" -v c="$2" -v n="$n" -v f="${3:-1}" 'BEGIN { printf "%.1f s (%.0f img/s), cpu %.1f s", w * f, n / (w * f), c * f }'; }

echo "bench/cnn.sh: $n training images of $DATA, batch 32, Adam; $(nproc) CPUs; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OpenBLAS core: ${OPENBLAS_CORETYPE:-auto}; PyTorch $($PY -c 'import torch; print(torch.__version__)')"
echo
echo "Each cell: wall seconds per epoch (images/s), CPU seconds per epoch (all threads)."
echo
echo "| size | train-cnn, 2 threads | train-cnn, 1 thread | Darknet plain, 1 thread | PyTorch, 2 threads | PyTorch, 1 thread |"
echo "|---|---|---|---|---|---|"
for s in $SIZES; do
    bin/decode --size "$s" --labels "$tmp/split/train.csv" "$DATA/images" > "$tmp/img$s.npy" 2>/dev/null
    read -r o2w o2c < <(ours "$s" 2)
    read -r o1w o1c < <(ours "$s" 1)
    read -r pw pc < <(bin/train-cnn --plain -j 1 --cfg pipelines/cnn-original.cfg --split "$tmp/split" -o "$tmp/p.weights" \
        --epochs 1 --patience 0 --max-train 320 "$tmp/img$s.npy" 2>&1 >/dev/null | best_train)
    read -r t2w t2c < <(torch "$s" 2)
    read -r t1w t1c < <(torch "$s" 1)
    echo "| ${s}x${s} | $(cell "$o2w" "$o2c") | $(cell "$o1w" "$o1c") | $(cell "$pw" "$pc" "$(awk -v n="$n" 'BEGIN { print n / 320 }')") | $(cell "$t2w" "$t2c") | $(cell "$t1w" "$t1c") |"
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
