#!/usr/bin/env bash
# bench/cnn.sh - seconds per training epoch of the original AMLS CNN (pipelines/cnn-original.cfg),
# same network, same images, one run: train-cnn as we run it (2 threads and 1), train-cnn with
# its convolutions on im2col + OpenBLAS (FP_DN_DIRECT=0, the path for CPUs without AVX-512),
# Darknet's own plain CPU code (train-cnn --plain), and PyTorch on the CPU (Debian
# python3-torch, 2 threads and 1; bench/cnn_torch.py builds the same layers).
#   bench/cnn.sh [DATA_DIR] [N_IMAGES] [SIZES] [CORES]
#       defaults: ../shared/data/amls-dev 640 "64 128" "$OPENBLAS_CORETYPE (or auto)"
# CORES: OpenBLAS kernel sets to run every contender under, one table row each (e.g.
# "Haswell SKYLAKEX"); OPENBLAS_CORETYPE is set alike for train-cnn and PyTorch (whose Linear
# layers go through the same OpenBLAS; its convolutions are oneDNN's, which picks AVX-512 by
# itself). "auto" leaves the variable unset: train-cnn then picks SkylakeX on AVX-512 CPUs
# (dn_blas_tune), PyTorch whatever OpenBLAS detects.
# Timing covers the training steps of an epoch only (no validation), Adam, batch 32. Each
# figure is the faster of two epochs (the first one pays for page faults). Darknet's plain
# code is timed on --max-train 320 images and scaled to N (it is linear in the images), once
# per size (it does not use OpenBLAS). Everything runs one after the other, nice'd; wall
# seconds depend on what else runs on the machine, CPU seconds much less so: the load average
# is printed before and after each size.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/amls-dev}
N=${2:-640}
SIZES=${3:-64 128}
CORES=${4:-${OPENBLAS_CORETYPE:-auto}}
PY=/usr/bin/python3
[ -f "$DATA/attribute_list.csv" ] || { echo "bench/cnn.sh: no $DATA/attribute_list.csv" >&2; exit 1; }
$PY -c 'import torch, numpy' 2>/dev/null || { echo "bench/cnn.sh: needs python3-torch (make bench-deps)" >&2; exit 1; }
[ -n "${BENCH_NO_BUILD:-}" ] || make -s build
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
unset FP_QUIET FP_DN_DIRECT

# The first N images (any labels: speed only) for training, 32 for the (untimed) validation.
mkdir -p "$tmp/split"
awk -F, -v n="$N" -v d="$tmp/split" 'NR == 1 { print "file_name,label" > d "/train.csv"; print "file_name,label" > d "/val.csv"; next }
    NR - 1 <= n { print $1 "," ($4 == 1) > d "/train.csv" }
    NR - 1 <= 32 { print $1 "," ($4 == 1) > d "/val.csv" }' "$DATA/attribute_list.csv"
n=$(($(wc -l < "$tmp/split/train.csv") - 1))

# OPENBLAS_CORETYPE for one contender: "auto" = unset.
with_core() { # core cmd...
    local c=$1; shift
    if [ "$c" = auto ]; then env -u OPENBLAS_CORETYPE nice "$@"; else OPENBLAS_CORETYPE=$c nice "$@"; fi
}
# From the epoch lines "train W s (... cpu C s)": "W C" of the epoch with the smallest W.
best_train() { sed -n 's/.*| train \([0-9.]*\) s (.* cpu \([0-9.]*\) s).*/\1 \2/p' | sort -n | head -1; }
ours() { # core size threads [extra args] -> "W C"
    local c=$1 s=$2 j=$3; shift 3
    with_core "$c" bin/train-cnn --cfg pipelines/cnn-original.cfg --split "$tmp/split" -o "$tmp/m.weights" \
        --epochs 2 --patience 0 -j "$j" "$@" "$tmp/img$s.npy" 2>&1 >/dev/null | best_train
}
torch() { # core size threads -> "W C"
    with_core "$1" $PY bench/cnn_torch.py "$tmp/img$2.npy" "$n" 2 "$3" | awk '{ print $4, $6 }' | sort -n | head -1
}
# "W C" -> "W s (R img/s), cpu C s", scaled by f (the plain run covers n/f images)
cell() { awk -v w="$1" -v c="$2" -v n="$n" -v f="${3:-1}" 'BEGIN { printf "%.1f s (%.0f img/s), cpu %.1f s", w * f, n / (w * f), c * f }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "bench/cnn.sh: $n training images of $DATA, batch 32, Adam; $(nproc) CPUs; OpenBLAS cores: $CORES; PyTorch $($PY -c 'import torch; print(torch.__version__)')"
echo
echo "Each cell: wall seconds per epoch (images/s), CPU seconds per epoch (all threads)."
echo
echo "| size | OpenBLAS core | train-cnn, 2 threads | train-cnn, 1 thread | train-cnn im2col + OpenBLAS, 1 thread | Darknet plain, 1 thread | PyTorch, 2 threads | PyTorch, 1 thread | load average |"
echo "|---|---|---|---|---|---|---|---|---|"
for s in $SIZES; do
    nice bin/decode --size "$s" --labels "$tmp/split/train.csv" "$DATA/images" > "$tmp/img$s.npy" 2>/dev/null
    plain=
    for c in $CORES; do
        l0=$(load)
        read -r o2w o2c < <(ours "$c" "$s" 2)
        read -r o1w o1c < <(ours "$c" "$s" 1)
        read -r gw gc < <(FP_DN_DIRECT=0 ours "$c" "$s" 1)
        if [ -z "$plain" ]; then
            read -r pw pc < <(with_core "$c" bin/train-cnn --plain -j 1 --cfg pipelines/cnn-original.cfg --split "$tmp/split" \
                -o "$tmp/p.weights" --epochs 1 --patience 0 --max-train 320 "$tmp/img$s.npy" 2>&1 >/dev/null | best_train)
            plain=$(cell "$pw" "$pc" "$(awk -v n="$n" 'BEGIN { print n / 320 }')")
        fi
        read -r t2w t2c < <(torch "$c" "$s" 2)
        read -r t1w t1c < <(torch "$c" "$s" 1)
        echo "| ${s}x${s} | $c | $(cell "$o2w" "$o2c") | $(cell "$o1w" "$o1c") | $(cell "$gw" "$gc") | $plain | $(cell "$t2w" "$t2c") | $(cell "$t1w" "$t1c") | $l0 -> $(load) |"
    done
done
